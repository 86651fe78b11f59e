/* sandbox: every way out of the grant — `..`, absolute paths, symlinks out (pre-existing and
 * created), renames, hard links — fails, exactly as under wasmtime; nothing outside changes. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

int main(void) {
    struct stat st;
    char buf[256];
    TRY(chdir("/sandbox"));
    TRY(open("../outside/secret.txt", O_RDONLY));
    TRY(open("/sandbox/../outside/secret.txt", O_RDONLY));
    TRY(open("sub/../../outside/secret.txt", O_RDONLY));
    TRY(open("sub/inner/../../../outside/secret.txt", O_RDONLY));
    TRY(open("/etc/passwd", O_RDONLY));
    TRY(open("..", O_RDONLY | O_DIRECTORY));
    TRY(open("/", O_RDONLY | O_DIRECTORY));
    TRY(open("escape/secret.txt", O_RDONLY));
    TRY(open("escape", O_RDONLY | O_DIRECTORY));
    TRY(open("escape-abs/secret.txt", O_RDONLY));
    TRY(open("escape/new.txt", O_WRONLY | O_CREAT, 0644));
    TRY(open("escape/secret.txt", O_WRONLY | O_TRUNC));
    TRY(stat("escape/secret.txt", &st));
    TRY(stat("escape", &st));
    TRY(lstat("escape", &st));
    TRY(stat("../outside", &st));
    TRY(mkdir("escape/newdir", 0755));
    TRY(mkdir("../outside/newdir", 0755));
    TRY(rmdir("../outside"));
    TRY(unlink("escape/secret.txt"));
    TRY(unlink("../outside/secret.txt"));
    TRY(rename("hello.txt", "escape/stolen.txt"));
    TRY(rename("hello.txt", "../outside/stolen.txt"));
    TRY(rename("escape/secret.txt", "got.txt"));
    TRY(rename("../outside/secret.txt", "got.txt"));
    TRY(rename("sub", "../outside/sub"));
    TRY(link("escape/secret.txt", "hard.txt"));
    TRY(link("../outside/secret.txt", "hard.txt"));
    TRY(link("hello.txt", "escape/hard.txt"));
    TRY(link("hello.txt", "../outside/hard.txt"));
    TRY(symlink("/etc/passwd", "abs-link"));
    TRY(symlink("../outside/secret.txt", "rel-out"));
    TRY(open("rel-out", O_RDONLY));
    TRY(readlink("rel-out", buf, sizeof buf));
    TRY(readlink("escape-abs", buf, sizeof buf));
    TRY(readlink("../outside/link", buf, sizeof buf));
    TRY(symlink("../outside/created.txt", "creator"));
    TRY(open("creator", O_WRONLY | O_CREAT, 0644));
    TRY(symlink("x", "../outside/planted"));
    TRY(truncate("escape/secret.txt", 0));
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    TRY(utimensat(AT_FDCWD, "escape/secret.txt", ts, 0));
    TRY(utimensat(AT_FDCWD, "escape", ts, 0));
    TRY(utimensat(AT_FDCWD, "../outside/secret.txt", ts, 0));
    DIR *d = TRYP(opendir("escape"));
    if (d) closedir(d);
    d = TRYP(opendir(".."));
    if (d) closedir(d);
    TRY(chdir(".."));
    TRY(chdir("escape"));
    TRY(chdir("/"));
    TRY(open("outside/secret.txt", O_RDONLY));
    TRY(open("sandbox/hello.txt", O_RDONLY));
    /* a directory fd opened inside is its own root too */
    int sub = TRY(open("/sandbox/sub", O_RDONLY | O_DIRECTORY));
    TRY(openat(sub, "../hello.txt", O_RDONLY));
    TRY(openat(sub, "inner/../../hello.txt", O_RDONLY));
    TRY(openat(sub, "inner/leaf.txt", O_RDONLY));
    TRY(openat(sub, "/sandbox/hello.txt", O_RDONLY));
    show_file("/sandbox/hello.txt");
    return 0;
}
