/* preopens: the granted directories by fd, fd numbering across open/close, fd flags, stdio. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#include "check.h"

int main(void) {
    for (__wasi_fd_t fd = 3; fd < 10; fd++) {
        __wasi_prestat_t ps;
        __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
        if (e) {
            printf("fd %u: prestat errno %u\n", fd, e);
            continue;
        }
        char name[256] = {0};
        e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len);
        printf("fd %u: preopen [%s] len %u errno %u\n", fd, name, (unsigned)ps.u.dir.pr_name_len, e);
        __wasi_fdstat_t st;
        e = __wasi_fd_fdstat_get(fd, &st);
        printf("  fdstat errno %u filetype %u\n", e, st.fs_filetype);
    }
    for (int fd = 0; fd < 3; fd++) {
        __wasi_fdstat_t st;
        __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
        printf("stdio %d: errno %u rights has read %d write %d\n", fd, e,
               (st.fs_rights_base & __WASI_RIGHTS_FD_READ) != 0,
               (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0);
    }
    int a = TRY(open("/a/one.txt", O_RDONLY));
    int b = TRY(open("/b", O_RDONLY | O_DIRECTORY));
    int c = TRY(open("/a/new.txt", O_WRONLY | O_CREAT | O_APPEND, 0644));
    TRY(fcntl(c, F_GETFL) & O_APPEND ? 1 : 0);
    TRY(fcntl(c, F_SETFL, 0));
    TRY(fcntl(c, F_GETFL) & O_APPEND ? 1 : 0);
    TRY(fcntl(a, F_GETFL) & O_ACCMODE);
    TRY(close(b));
    int d = TRY(open("/a/one.txt", O_RDONLY));
    printf("reused lowest fd: %d\n", d == b);
    TRY(close(a));
    TRY(close(d));
    TRY(write(c, "x\n", 2));
    TRY(close(c));
    TRY(close(99));
    TRY(read(99, NULL, 0));
    /* moving files between two grants */
    TRY(rename("/a/one.txt", "/b/one-moved.txt"));
    TRY(link("/b/one-moved.txt", "/a/one-again.txt"));
    TRY(symlink("one-again.txt", "/a/l"));
    show_file("/a/l");
    TRY(open("/c/nothing", O_RDONLY));
    struct stat st;
    TRY(stat("/a", &st));
    TRY(stat("/", &st));
    return 0;
}
