/* files: create, write, read, append, truncate, exclusive create, and the usual errors. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

int main(void) {
    char buf[128];
    TRY(chdir("/sandbox"));
    int fd = TRY(open("new.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644));
    TRY(write(fd, "hello, world\n", 13));
    TRY(write(fd, "second line\n", 12));
    TRY(close(fd));
    show_file("new.txt");
    fd = TRY(open("new.txt", O_WRONLY | O_APPEND));
    TRY(write(fd, "appended\n", 9));
    TRY(lseek(fd, 0, SEEK_CUR));
    TRY(close(fd));
    show_file("new.txt");
    TRY(open("new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644));
    TRY(open("missing.txt", O_RDONLY));
    TRY(open("missing/deeper.txt", O_RDONLY | O_CREAT, 0644));
    TRY(open("data", O_WRONLY));
    TRY(open("hello.txt/x", O_RDONLY));
    TRY(open("hello.txt", O_RDONLY | O_DIRECTORY));
    fd = TRY(open("hello.txt", O_RDONLY));
    ssize_t n = TRY(read(fd, buf, sizeof buf));
    printf("read [%.*s]\n", (int)(n > 0 ? n : 0), buf);
    TRY(read(fd, buf, sizeof buf));
    TRY(write(fd, "x", 1));
    TRY(close(fd));
    TRY(close(fd));
    fd = TRY(open("new.txt", O_RDWR));
    TRY(ftruncate(fd, 5));
    struct stat st;
    TRY(fstat(fd, &st));
    printf("size after ftruncate: %lld\n", (long long)st.st_size);
    TRY(ftruncate(fd, 20));
    TRY(pread(fd, buf, sizeof buf, 0));
    for (int i = 0; i < 20; i++) printf("%02x", (unsigned char)buf[i]);
    printf("\n");
    TRY(close(fd));
    fd = TRY(open("trunc.txt", O_RDWR | O_CREAT | O_TRUNC, 0600));
    TRY(pwrite(fd, "abcdef", 6, 100));
    TRY(fstat(fd, &st));
    printf("size after pwrite at 100: %lld\n", (long long)st.st_size);
    TRY(close(fd));
    TRY(put_file("hello.txt", "replaced\n"));
    show_file("hello.txt");
    TRY(unlink("trunc.txt"));
    TRY(unlink("trunc.txt"));
    TRY(unlink("data"));
    TRY(access("new.txt", F_OK));
    TRY(access("gone.txt", F_OK));
    /* stdio streams, many small writes through FILE buffering */
    FILE *f = TRYP(fopen("lines.txt", "w+"));
    for (int i = 0; i < 1000; i++) fprintf(f, "line %d\n", i);
    TRY(fseek(f, 0, SEEK_SET));
    int lines = 0;
    while (fgets(buf, sizeof buf, f)) lines++;
    printf("lines=%d last=%s", lines, buf);
    TRY(fclose(f));
    return 0;
}
