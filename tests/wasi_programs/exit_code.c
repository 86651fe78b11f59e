/* exit_code: buffered output is flushed, then exit(argv[1]) / return / _Exit / abort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "return";
    int code = argc > 2 ? atoi(argv[2]) : 0;
    printf("buffered stdout before %s %d", how, code); /* no newline: exit must flush */
    fprintf(stderr, "stderr before %s\n", how);
    if (strcmp(how, "exit") == 0) exit(code);
    if (strcmp(how, "_exit") == 0) {
        fflush(stdout);
        _exit(code);
    }
    if (strcmp(how, "abort") == 0) abort();
    return code;
}
