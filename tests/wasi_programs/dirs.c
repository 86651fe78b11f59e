/* dirs: mkdir, nested trees, readdir (sorted), rmdir errors, chdir and relative paths. */
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
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        char buf[300];
        const char *t = e->d_type == DT_DIR ? "dir" : e->d_type == DT_REG ? "file"
                        : e->d_type == DT_LNK ? "link" : "other";
        snprintf(buf, sizeof buf, "%s(%s)", e->d_name, t);
        names[n++] = strdup(buf);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    printf("%s:", path);
    for (int i = 0; i < n; i++) printf(" %s", names[i]), free(names[i]);
    printf("\n");
}

int main(void) {
    TRY(chdir("/sandbox"));
    list(".");
    TRY(mkdir("a", 0755));
    TRY(mkdir("a", 0755));
    TRY(mkdir("a/b", 0755));
    TRY(mkdir("a/b/c", 0755));
    TRY(mkdir("x/y", 0755));
    TRY(mkdir("hello.txt/y", 0755));
    TRY(put_file("a/b/c/file.txt", "deep\n"));
    list("a/b/c");
    TRY(chdir("a/b"));
    show_file("c/file.txt");
    show_file("../../hello.txt");
    TRY(mkdir("../sibling", 0700));
    TRY(chdir("/sandbox"));
    list("a");
    TRY(rmdir("a/b"));
    TRY(rmdir("hello.txt"));
    TRY(rmdir("nothing"));
    TRY(unlink("a/b"));
    TRY(unlink("a/b/c/file.txt"));
    TRY(rmdir("a/b/c"));
    list("a/b");
    /* many entries: readdir must return each exactly once across several fd_readdir calls */
    TRY(mkdir("many", 0755));
    for (int i = 0; i < 300; i++) {
        char p[64];
        snprintf(p, sizeof p, "many/entry-with-a-longish-name-%03d", i);
        if (put_file(p, "") != 0) printf("create %s failed\n", p);
    }
    DIR *d = opendir("many");
    int count = 0, sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        count++;
        sum += atoi(e->d_name + strlen("entry-with-a-longish-name-"));
    }
    printf("many: %d entries, index sum %d\n", count, sum);
    rewinddir(d);
    count = 0;
    while ((e = readdir(d))) count++;
    printf("after rewind: %d entries (with . and ..)\n", count);
    closedir(d);
    list("sub");
    list("sub/inner");
    list("nothing");
    list("hello.txt");
    return 0;
}
