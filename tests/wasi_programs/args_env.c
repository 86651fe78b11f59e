/* args_env: argv and the environment exactly as granted; exit status from argv[1] if numeric. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=[%s]\n", i, argv[i]);
    int n = 0;
    for (char **e = environ; *e; e++) printf("env[%d]=[%s]\n", n++, *e);
    const char *home = getenv("HOME"), *path = getenv("PATH");
    printf("HOME=%s PATH=%s\n", home ? home : "(unset)", path ? path : "(unset)");
    fprintf(stderr, "to stderr: %d args\n", argc);
    return argc > 1 && argv[1][0] >= '0' && argv[1][0] <= '9' ? atoi(argv[1]) : 0;
}
