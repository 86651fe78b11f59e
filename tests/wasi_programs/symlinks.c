/* symlinks: create, read, follow, lstat, dangling targets, loops, links to directories. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static void rl(const char *path) {
    char buf[256];
    ssize_t n = readlink(path, buf, sizeof buf);
    if (n < 0)
        printf("readlink %s: %s\n", path, strerror(errno));
    else
        printf("readlink %s = [%.*s]\n", path, (int)n, buf);
    errno = 0;
}

int main(void) {
    TRY(chdir("/sandbox"));
    rl("link-to-hello");
    rl("dangling");
    rl("hello.txt");
    rl("nothing");
    show_file("link-to-hello");
    show_file("dangling");
    TRY(symlink("hello.txt", "l1"));
    TRY(symlink("hello.txt", "l1"));
    TRY(symlink("l1", "l2"));
    show_file("l2");
    TRY(symlink("sub/inner", "dirlink"));
    show_file("dirlink/leaf.txt");
    TRY(put_file("dirlink/via-link.txt", "written through a link\n"));
    show_file("sub/inner/via-link.txt");
    TRY(symlink("loop-b", "loop-a"));
    TRY(symlink("loop-a", "loop-b"));
    show_file("loop-a");
    TRY(open("loop-a", O_RDONLY | O_NOFOLLOW));
    TRY(open("l1", O_RDONLY | O_NOFOLLOW));
    TRY(symlink("../hello.txt", "sub/up"));
    show_file("sub/up");
    rl("sub/up");
    TRY(symlink("", "empty-target"));
    TRY(symlink("x", "nothing/x"));
    char buf[4];
    TRY(readlink("link-to-hello", buf, sizeof buf)); /* truncated */
    printf("short readlink [%.4s]\n", buf);
    TRY(unlink("l1"));
    show_file("l2");
    show_file("hello.txt");
    TRY(unlink("dirlink"));
    TRY(rmdir("dirlink"));
    struct stat st;
    TRY(lstat("loop-a", &st));
    TRY(stat("loop-a", &st));
    TRY(mkdir("dangling", 0755));
    TRY(open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644));
    TRY(open("dangling", O_WRONLY | O_CREAT, 0644)); /* creates the target, like Linux */
    show_file("missing-target");
    return 0;
}
