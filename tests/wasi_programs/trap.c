/* trap: output written before a trap survives; each kind of trap ends the program (status 134). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int zero = 0;
typedef int (*fn_i)(int);
typedef int (*fn_ii)(int, int);
static int one(int a) { return a + 1; }

static int recurse(int n) {
    volatile char pad[256];
    pad[n & 255] = (char)n;
    return recurse(n + 1) + pad[(n + 1) & 255];
}

int main(int argc, char **argv) {
    const char *kind = argc > 1 ? argv[1] : "unreachable";
    printf("before %s\n", kind);
    fprintf(stderr, "stderr before %s\n", kind);
    fflush(stdout);
    if (strcmp(kind, "unreachable") == 0) __builtin_trap();
    if (strcmp(kind, "divzero") == 0) printf("%d\n", 7 / zero);
    if (strcmp(kind, "oob") == 0) printf("%d\n", *(volatile int *)(0x7ffffff0 + zero * 4));
    if (strcmp(kind, "stack") == 0) printf("%d\n", recurse(zero));
    if (strcmp(kind, "indirect") == 0) {
        volatile fn_i f = one;
        printf("%d\n", ((fn_ii)f)(1, 2));
    }
    if (strcmp(kind, "exit200") == 0) exit(200); /* wasmtime: exit status outside [0..126) traps */
    printf("not reached\n");
    return 0;
}
