/* root_grant: a directory granted as the guest's "/" — absolute paths work, nothing climbs out. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("opendir %s: %s\n", path, strerror(errno));
        errno = 0;
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    printf("%s:", path);
    for (int i = 0; i < n; i++) printf(" %s", names[i]), free(names[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    char cwd[256];
    printf("getcwd=%s\n", getcwd(cwd, sizeof cwd));
    list("/");
    list(".");
    show_file("/hello.txt");
    show_file("hello.txt");
    show_file("/sub/inner/leaf.txt");
    show_file("/../hello.txt");
    show_file("/sub/../../hello.txt");
    show_file("../outside/secret.txt");
    show_file("/escape/secret.txt");
    TRY(mkdir("/made", 0755));
    TRY(put_file("/made/f.txt", "made at the root\n"));
    TRY(chdir("/made"));
    printf("getcwd=%s\n", getcwd(cwd, sizeof cwd));
    show_file("f.txt");
    show_file("../hello.txt");
    TRY(rename("/made/f.txt", "/sub/f.txt"));
    TRY(symlink("/hello.txt", "/abs-inside"));
    show_file("/link-to-hello");
    TRY(chdir(".."));
    TRY(chdir(".."));
    printf("getcwd=%s\n", getcwd(cwd, sizeof cwd));
    for (int i = 1; i < argc; i++) show_file(argv[i]);
    return 0;
}
