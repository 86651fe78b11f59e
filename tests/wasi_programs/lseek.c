/* lseek: every whence, holes, reads at and past EOF, append mode, and streams refusing seeks. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"

int main(void) {
    char buf[64];
    TRY(chdir("/sandbox"));
    int fd = TRY(open("seek.bin", O_RDWR | O_CREAT | O_TRUNC, 0644));
    TRY(write(fd, "0123456789", 10));
    TRY(lseek(fd, 0, SEEK_CUR));
    TRY(lseek(fd, 2, SEEK_SET));
    TRY(read(fd, buf, 3));
    printf("[%.3s]\n", buf);
    TRY(lseek(fd, -2, SEEK_CUR));
    TRY(read(fd, buf, 4));
    printf("[%.4s]\n", buf);
    TRY(lseek(fd, -1, SEEK_END));
    TRY(read(fd, buf, 10));
    TRY(read(fd, buf, 10));
    TRY(lseek(fd, 20, SEEK_END));
    TRY(write(fd, "Z", 1));
    TRY(lseek(fd, 0, SEEK_END));
    TRY(lseek(fd, 8, SEEK_SET));
    ssize_t n = TRY(read(fd, buf, sizeof buf));
    for (ssize_t i = 0; i < n; i++) printf("%02x", (unsigned char)buf[i]);
    printf("\n");
    TRY(lseek(fd, -100, SEEK_SET));
    TRY(lseek(fd, -100, SEEK_END));
    TRY(lseek(fd, 0, 7));
    TRY(close(fd));
    TRY(lseek(fd, 0, SEEK_SET));
    fd = TRY(open("seek.bin", O_WRONLY | O_APPEND));
    TRY(lseek(fd, 0, SEEK_SET));
    TRY(write(fd, "END", 3));
    TRY(lseek(fd, 0, SEEK_CUR));
    TRY(close(fd));
    fd = TRY(open("seek.bin", O_RDONLY));
    TRY(pread(fd, buf, 5, 29));
    printf("[%.5s]\n", buf);
    TRY(pread(fd, buf, 5, 1000));
    TRY(lseek(fd, 0, SEEK_CUR));
    TRY(close(fd));
    FILE *f = fopen("seek.bin", "r");
    TRY(fseek(f, 3, SEEK_SET));
    printf("fgetc=%c ftell=%ld\n", fgetc(f), ftell(f));
    TRY(fseek(f, -3, SEEK_END));
    printf("fgetc=%c\n", fgetc(f));
    fclose(f);
    TRY(lseek(0, 0, SEEK_CUR));
    TRY(lseek(1, 0, SEEK_SET));
    TRY(lseek(3, 0, SEEK_SET)); /* the preopened directory */
    return 0;
}
