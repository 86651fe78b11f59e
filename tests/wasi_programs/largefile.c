/* largefile: offsets beyond 4 GiB through lseek, pwrite and ftruncate on a sparse file. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

int main(void) {
    char buf[16] = {0};
    const off_t big = 5LL * 1024 * 1024 * 1024 + 7; /* 5 GiB + 7 */
    TRY(chdir("/sandbox"));
    int fd = TRY(open("big.bin", O_RDWR | O_CREAT | O_TRUNC, 0644));
    TRY(lseek(fd, big, SEEK_SET));
    TRY(write(fd, "far", 3));
    struct stat st;
    TRY(fstat(fd, &st));
    printf("size=%lld\n", (long long)st.st_size);
    TRY(pwrite(fd, "beyond4g", 8, (off_t)UINT32_MAX + 10));
    TRY(pread(fd, buf, 8, (off_t)UINT32_MAX + 10));
    printf("pread [%.8s]\n", buf);
    TRY(pread(fd, buf, 3, big));
    printf("pread [%.3s]\n", buf);
    TRY(pread(fd, buf, 4, 4096));
    printf("hole %d%d%d%d\n", buf[0], buf[1], buf[2], buf[3]);
    TRY(lseek(fd, -3, SEEK_END));
    TRY(read(fd, buf, 3));
    printf("read [%.3s]\n", buf);
    TRY(lseek(fd, 0, SEEK_CUR));
    TRY(ftruncate(fd, (off_t)UINT32_MAX + 14));
    TRY(fstat(fd, &st));
    printf("size=%lld\n", (long long)st.st_size);
    TRY(pread(fd, buf, 16, (off_t)UINT32_MAX + 10));
    printf("tail [%.4s]\n", buf);
    FILE *f = fopen("big.bin", "r");
    TRY(fseeko(f, (off_t)UINT32_MAX + 12, SEEK_SET));
    printf("ftello=%lld c=%c\n", (long long)ftello(f), fgetc(f));
    fclose(f);
    /* leave a small file behind so the trees compare cheaply */
    TRY(ftruncate(fd, 16));
    TRY(close(fd));
    TRY(stat("big.bin", &st));
    printf("final size=%lld\n", (long long)st.st_size);
    return 0;
}
