/* cat_stdin: a filter — stdin to stdout with lines numbered, a copy into a file, counts on stderr. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    FILE *copy = argc > 1 ? fopen(argv[1], "w") : NULL;
    if (argc > 1 && !copy) {
        perror(argv[1]);
        return 2;
    }
    char line[1024];
    int n = 0;
    size_t bytes = 0;
    while (fgets(line, sizeof line, stdin)) {
        n++;
        bytes += strlen(line);
        for (char *c = line; *c; c++) *c = (char)toupper((unsigned char)*c);
        printf("%4d %s", n, line);
        if (copy) fputs(line, copy);
    }
    if (copy) fclose(copy);
    fprintf(stderr, "%d lines, %zu bytes, eof=%d\n", n, bytes, feof(stdin));
    return n == 0 ? 1 : 0;
}
