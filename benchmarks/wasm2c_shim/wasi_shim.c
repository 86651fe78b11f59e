/* A minimal WASI preview1 host for modules translated by wasm2c (wabt 1.0.32 naming), enough
 * for the benchmark programs: args, environ (empty), clocks, random, stdout/stderr writes, fd
 * queries on the standard streams, and proc_exit.  Every guest pointer is checked against the
 * memory before use.  Build:
 *
 *   wasm2c -n bench prog.wasm -o prog.c
 *   clang-16 -O2 -I/usr/share/wabt/wasm2c prog.c wasi_shim.c \
 *       /usr/share/wabt/wasm2c/wasm-rt-impl.c -lm -o prog
 *
 * The module must be named `bench` (wasm2c -n bench) and export its memory as "memory".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"
#include "wasm-rt-impl.h"

/* WASI errno values (preview1). */
enum { WASI_OK = 0, WASI_EBADF = 8, WASI_EFAULT = 21, WASI_EINVAL = 28, WASI_EIO = 29,
       WASI_ESPIPE = 70, WASI_ENOSYS = 52 };

struct Z_wasi_snapshot_preview1_instance_t {
    wasm_rt_memory_t *mem;
    int argc;
    char **argv;
};

typedef struct Z_wasi_snapshot_preview1_instance_t wasi_t;

static int in_bounds(const wasi_t *w, uint64_t ptr, uint64_t len) {
    return ptr + len <= w->mem->size;
}

static void store32(wasi_t *w, uint32_t ptr, uint32_t v) { memcpy(w->mem->data + ptr, &v, 4); }
static void store64(wasi_t *w, uint32_t ptr, uint64_t v) { memcpy(w->mem->data + ptr, &v, 8); }
static uint32_t load32(const wasi_t *w, uint32_t ptr) {
    uint32_t v;
    memcpy(&v, w->mem->data + ptr, 4);
    return v;
}

static uint32_t host_errno(int e) {
    switch (e) {
    case EBADF: return WASI_EBADF;
    case EFAULT: return WASI_EFAULT;
    case EINVAL: return WASI_EINVAL;
    case ESPIPE: return WASI_ESPIPE;
    default: return WASI_EIO;
    }
}

u32 Z_wasi_snapshot_preview1Z_args_sizes_get(wasi_t *w, u32 argc_ptr, u32 size_ptr) {
    if (!in_bounds(w, argc_ptr, 4) || !in_bounds(w, size_ptr, 4))
        return WASI_EFAULT;
    uint32_t size = 0;
    for (int i = 0; i < w->argc; i++)
        size += (uint32_t)strlen(w->argv[i]) + 1;
    store32(w, argc_ptr, (uint32_t)w->argc);
    store32(w, size_ptr, size);
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_args_get(wasi_t *w, u32 argv_ptr, u32 buf_ptr) {
    if (!in_bounds(w, argv_ptr, 4ull * (uint64_t)w->argc))
        return WASI_EFAULT;
    for (int i = 0; i < w->argc; i++) {
        size_t len = strlen(w->argv[i]) + 1;
        if (!in_bounds(w, buf_ptr, len))
            return WASI_EFAULT;
        memcpy(w->mem->data + buf_ptr, w->argv[i], len);
        store32(w, argv_ptr + 4u * (uint32_t)i, buf_ptr);
        buf_ptr += (uint32_t)len;
    }
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_environ_sizes_get(wasi_t *w, u32 count_ptr, u32 size_ptr) {
    if (!in_bounds(w, count_ptr, 4) || !in_bounds(w, size_ptr, 4))
        return WASI_EFAULT;
    store32(w, count_ptr, 0);
    store32(w, size_ptr, 0);
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_environ_get(wasi_t *w, u32 environ_ptr, u32 buf_ptr) {
    (void)w, (void)environ_ptr, (void)buf_ptr;
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_clock_time_get(wasi_t *w, u32 id, u64 precision, u32 out_ptr) {
    (void)precision;
    static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                    CLOCK_THREAD_CPUTIME_ID};
    if (id >= 4)
        return WASI_EINVAL;
    if (!in_bounds(w, out_ptr, 8))
        return WASI_EFAULT;
    struct timespec ts;
    clock_gettime(ids[id], &ts);
    store64(w, out_ptr, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_random_get(wasi_t *w, u32 buf, u32 len) {
    if (!in_bounds(w, buf, len))
        return WASI_EFAULT;
    for (uint32_t done = 0; done < len;) {
        ssize_t got = getrandom(w->mem->data + buf + done, len - done, 0);
        if (got < 0)
            return host_errno(errno);
        done += (uint32_t)got;
    }
    return WASI_OK;
}

/* Only the standard streams exist; fds 0..2 map to the host's. */
static int valid_fd(u32 fd) { return fd <= 2; }

u32 Z_wasi_snapshot_preview1Z_fd_write(wasi_t *w, u32 fd, u32 iovs, u32 iovs_len, u32 nwritten_ptr) {
    if (!valid_fd(fd))
        return WASI_EBADF;
    if (!in_bounds(w, iovs, 8ull * iovs_len) || !in_bounds(w, nwritten_ptr, 4))
        return WASI_EFAULT;
    uint32_t total = 0;
    for (uint32_t i = 0; i < iovs_len; i++) {
        uint32_t ptr = load32(w, iovs + 8 * i), len = load32(w, iovs + 8 * i + 4);
        if (!in_bounds(w, ptr, len))
            return WASI_EFAULT;
        for (uint32_t off = 0; off < len;) {
            ssize_t n = write((int)fd, w->mem->data + ptr + off, len - off);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return host_errno(errno);
            }
            off += (uint32_t)n;
        }
        total += len;
    }
    store32(w, nwritten_ptr, total);
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_fd_read(wasi_t *w, u32 fd, u32 iovs, u32 iovs_len, u32 nread_ptr) {
    if (!valid_fd(fd))
        return WASI_EBADF;
    if (!in_bounds(w, iovs, 8ull * iovs_len) || !in_bounds(w, nread_ptr, 4))
        return WASI_EFAULT;
    uint32_t total = 0;
    for (uint32_t i = 0; i < iovs_len; i++) {
        uint32_t ptr = load32(w, iovs + 8 * i), len = load32(w, iovs + 8 * i + 4);
        if (!in_bounds(w, ptr, len))
            return WASI_EFAULT;
        ssize_t n = read((int)fd, w->mem->data + ptr, len);
        if (n < 0)
            return host_errno(errno);
        total += (uint32_t)n;
        if ((uint32_t)n < len)
            break;
    }
    store32(w, nread_ptr, total);
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_fd_fdstat_get(wasi_t *w, u32 fd, u32 out_ptr) {
    if (!valid_fd(fd))
        return WASI_EBADF;
    if (!in_bounds(w, out_ptr, 24))
        return WASI_EFAULT;
    struct stat st;
    if (fstat((int)fd, &st) != 0)
        return host_errno(errno);
    /* filetype: 2 character device, 4 regular file, 6 socket stream, 0 unknown (pipes) */
    uint8_t filetype = S_ISCHR(st.st_mode) ? 2 : S_ISREG(st.st_mode) ? 4
                     : S_ISSOCK(st.st_mode) ? 6 : 0;
    uint8_t *p = w->mem->data + out_ptr;
    memset(p, 0, 24);
    p[0] = filetype;
    /* A terminal has no seek/tell rights, which is how wasi-libc decides it is a tty. */
    uint64_t rights = filetype == 2 ? ~(uint64_t)0 & ~(uint64_t)((1 << 2) | (1 << 5))
                                    : ~(uint64_t)0;
    store64(w, out_ptr + 8, rights);
    store64(w, out_ptr + 16, rights);
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_fd_seek(wasi_t *w, u32 fd, u64 offset, u32 whence, u32 out_ptr) {
    if (!valid_fd(fd))
        return WASI_EBADF;
    if (!in_bounds(w, out_ptr, 8))
        return WASI_EFAULT;
    static const int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    if (whence > 2)
        return WASI_EINVAL;
    off_t pos = lseek((int)fd, (off_t)offset, whences[whence]);
    if (pos < 0)
        return host_errno(errno);
    store64(w, out_ptr, (uint64_t)pos);
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_fd_close(wasi_t *w, u32 fd) {
    (void)w;
    return valid_fd(fd) ? WASI_OK : WASI_EBADF;
}

u32 Z_wasi_snapshot_preview1Z_fd_prestat_get(wasi_t *w, u32 fd, u32 out_ptr) {
    (void)w, (void)fd, (void)out_ptr;
    return WASI_EBADF;   /* no preopened directories */
}

u32 Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(wasi_t *w, u32 fd, u32 path, u32 len) {
    (void)w, (void)fd, (void)path, (void)len;
    return WASI_EBADF;
}

u32 Z_wasi_snapshot_preview1Z_sched_yield(wasi_t *w) {
    (void)w;
    return WASI_OK;
}

void Z_wasi_snapshot_preview1Z_proc_exit(wasi_t *w, u32 code) {
    (void)w;
    exit((int)code);
}

int main(int argc, char **argv) {
    static Z_bench_instance_t instance;
    wasi_t wasi = {NULL, argc, argv};
    wasm_rt_init();
    Z_bench_init_module();
    Z_bench_instantiate(&instance, &wasi);
    wasi.mem = Z_benchZ_memory(&instance);
    wasm_rt_trap_t trap = wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        fprintf(stderr, "wasm trap: %s\n", wasm_rt_strerror(trap));
        return 134;
    }
    Z_benchZ__start(&instance);
    Z_bench_free(&instance);
    wasm_rt_free();
    return 0;
}
