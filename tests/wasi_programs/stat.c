/* stat: stat/lstat/fstat/fstatat on files, directories and links; link counts; set times. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"

static void show(const char *path, int follow) {
    struct stat st;
    int r = follow ? stat(path, &st) : lstat(path, &st);
    if (r != 0) {
        printf("%s %s: %s\n", follow ? "stat" : "lstat", path, strerror(errno));
        errno = 0;
        return;
    }
    const char *t = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir"
                    : S_ISLNK(st.st_mode) ? "link" : "other";
    printf("%s %s: %s nlink=%llu size=%lld\n", follow ? "stat" : "lstat", path, t,
           (unsigned long long)st.st_nlink, S_ISDIR(st.st_mode) ? -1LL : (long long)st.st_size);
}

int main(void) {
    TRY(chdir("/sandbox"));
    show("hello.txt", 1);
    show("sub", 1);
    show("sub/", 1);
    show("hello.txt/", 1);
    show("link-to-hello", 0);
    show("link-to-hello", 1);
    show("dangling", 0);
    show("dangling", 1);
    show("nothing", 1);
    TRY(link("hello.txt", "hard"));
    show("hello.txt", 1);
    show("hard", 1);
    TRY(link("hello.txt", "hard"));
    TRY(link("sub", "hard-dir"));
    TRY(unlink("hard"));
    show("hello.txt", 1);
    /* times: set exact values and read them back */
    struct timespec ts[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
    TRY(utimensat(AT_FDCWD, "hello.txt", ts, 0));
    struct stat st;
    TRY(stat("hello.txt", &st));
    printf("atime=%lld.%09ld mtime=%lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec only_m[2] = {{0, UTIME_OMIT}, {1600000000, 5}};
    TRY(utimensat(AT_FDCWD, "hello.txt", only_m, 0));
    TRY(stat("hello.txt", &st));
    printf("atime=%lld mtime=%lld.%09ld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec,
           st.st_mtim.tv_nsec);
    int fd = TRY(open("sub/inner/leaf.txt", O_RDWR));
    struct timespec fts[2] = {{1234567890, 0}, {1234567891, 0}};
    TRY(futimens(fd, fts));
    TRY(fstat(fd, &st));
    printf("fstat: size=%lld mtime=%lld\n", (long long)st.st_size, (long long)st.st_mtim.tv_sec);
    TRY(close(fd));
    struct timeval tv[2] = {{1300000000, 0}, {1300000001, 500000}};
    TRY(utimes("sub", tv));
    TRY(stat("sub", &st));
    printf("sub mtime=%lld.%09ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    TRY(utimensat(AT_FDCWD, "link-to-hello", ts, AT_SYMLINK_NOFOLLOW));
    TRY(lstat("link-to-hello", &st));
    printf("link mtime=%lld\n", (long long)st.st_mtim.tv_sec);
    TRY(utimensat(AT_FDCWD, "nothing", ts, 0));
    int dfd = TRY(open("sub", O_RDONLY | O_DIRECTORY));
    TRY(fstatat(dfd, "inner/leaf.txt", &st, 0));
    printf("fstatat size=%lld\n", (long long)st.st_size);
    TRY(fstatat(dfd, "../hello.txt", &st, 0));
    TRY(close(dfd));
    return 0;
}
