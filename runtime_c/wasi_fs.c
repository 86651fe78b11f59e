/* wasi_fs.c — WASI preview1 fd_* and path_* calls.
 *
 * SANDBOX-CRITICAL.  A guest names files only as (directory fd, relative path), and the result must
 * stay beneath that directory.  Two resolvers, same contract (escape -> EXDEV -> WASI PERM, which is
 * what wasmtime reports):
 *  - openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): the kernel refuses absolute paths, `..` above
 *    the start and symlinks leading out, atomically (no check-then-use race).
 *  - where openat2 is missing (ENOSYS: kernel < 5.6 or a seccomp filter), wasi_walk: one component at
 *    a time from the directory fd, each step opened with O_NOFOLLOW, symlinks expanded by hand
 *    (absolute targets refused), `..` popping a stack of directory fds that never pops past the
 *    root.  A concurrent swap of a component for a symlink makes O_NOFOLLOW fail; it cannot escape.
 * Operations on a final name (mkdir, unlink, rename, link, symlink, readlink, lstat-like) resolve
 * the *parent* this way and then use the host's *at call on the last component, which never
 * follows a final symlink.  A final `..` is allowed only if the whole path stays beneath.  When a
 * call must follow the final symlink (path_filestat_get with SYMLINK_FOLLOW, utimes), the whole
 * path is opened beneath with O_PATH and the operation applied to that fd.
 *
 * Otherwise behaviour follows wasmtime: stdio are streams (SPIPE on seek), directory fds refuse
 * fd-level file operations with BADF, fd_allocate and fd_fdstat_set_rights are NOTSUP, readdir
 * lists "." and ".." first, readlink and symlink refuse absolute targets.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_internal.h"

#define WASI_MAX_SYMLINKS 40

/* ---------------------------------------------------------------------------------------------
 * Resolution beneath a directory fd
 * ------------------------------------------------------------------------------------------- */
static int wasi_openat2(int dirfd, const char *path, int flags, mode_t mode) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned)flags;
    how.mode = (flags & O_CREAT) ? mode : 0; /* openat2 rejects a mode it would not use */
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (int tries = 0;; tries++) {
        long r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (r >= 0) return (int)r;
        /* EAGAIN: a concurrent rename raced a `..` step; the kernel asks us to retry. */
        if ((errno != EAGAIN && errno != EINTR) || tries >= 32) return -1;
    }
}

/* The component-by-component fallback; returns an fd or -1 with errno (EXDEV for escapes). */
static int wasi_walk(int root, const char *path, int flags, mode_t mode, int follow_last) {
    char *rest = strdup(path), *pos = rest;
    int *stack = NULL;
    size_t depth = 0, cap = 0;
    int links = 0, result = -1, err = 0;
    if (!rest) return errno = ENOMEM, -1;
    if (*path == '\0') {
        err = ENOENT;
        goto out;
    }
    for (;;) {
        while (*pos == '/') pos++;
        char *comp = pos;
        while (*pos && *pos != '/') pos++;
        size_t clen = (size_t)(pos - comp);
        char *after = pos;
        while (*after == '/') after++;
        int trailing = *pos == '/', last = *after == '\0';
        int cur = depth ? stack[depth - 1] : root;
        char name[NAME_MAX + 1];
        if (clen > NAME_MAX) {
            err = ENAMETOOLONG;
            goto out;
        }
        memcpy(name, comp, clen);
        name[clen] = '\0';
        if (clen == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            if (strcmp(name, "..") == 0) {
                if (depth == 0) { /* would climb above the grant */
                    err = EXDEV;
                    goto out;
                }
                close(stack[--depth]);
                cur = depth ? stack[depth - 1] : root;
            }
            if (last) {
                result = openat(cur, ".", flags, mode);
                err = errno;
                goto out;
            }
            pos = after;
            continue;
        }
        if (!last || follow_last || trailing) {
            struct stat st;
            if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                if (++links > WASI_MAX_SYMLINKS) {
                    err = ELOOP;
                    goto out;
                }
                ssize_t n = readlinkat(cur, name, target, sizeof target - 1);
                if (n <= 0) {
                    err = n < 0 ? errno : ENOENT;
                    goto out;
                }
                target[n] = '\0';
                if (target[0] == '/') { /* absolute targets always leave the grant */
                    err = EXDEV;
                    goto out;
                }
                size_t alen = strlen(after);
                char *nr = malloc((size_t)n + alen + 2);
                if (!nr) {
                    err = ENOMEM;
                    goto out;
                }
                memcpy(nr, target, (size_t)n);
                size_t k = (size_t)n;
                if (trailing || !last) nr[k++] = '/';
                memcpy(nr + k, after, alen + 1);
                free(rest);
                rest = pos = nr;
                continue;
            }
        }
        if (last) {
            /* A trailing slash means "must be a directory"; ask for that with O_DIRECTORY rather
             * than passing the slash on, which would make the kernel follow a swapped-in link. */
            if (trailing && (flags & O_CREAT)) {
                err = EISDIR;
                goto out;
            }
            result = openat(cur, name, flags | O_NOFOLLOW | (trailing ? O_DIRECTORY : 0), mode);
            err = errno;
            goto out;
        }
        int nfd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0) {
            err = errno;
            goto out;
        }
        if (depth == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            int *ns = realloc(stack, ncap * sizeof *ns);
            if (!ns) {
                close(nfd);
                err = ENOMEM;
                goto out;
            }
            stack = ns, cap = ncap;
        }
        stack[depth++] = nfd;
        pos = after;
    }
out:
    while (depth) close(stack[--depth]);
    free(stack);
    free(rest);
    if (result < 0) errno = err;
    return result;
}

/* Open `path` beneath directory `root`; *out = host fd.  Returns a WASI errno. */
static int32_t wasi_resolve(wasmc_wasi *w, int root, const char *path, int flags, mode_t mode,
                            int follow_last, int *out) {
    if (path[0] == '/') return WASI_EPERM;
    flags |= O_CLOEXEC | (follow_last ? 0 : O_NOFOLLOW);
    int fd = -1;
    if (w->use_openat2) {
        fd = wasi_openat2(root, path, flags, mode);
        if (fd < 0 && errno == ENOSYS) w->use_openat2 = 0;
    }
    if (!w->use_openat2) fd = wasi_walk(root, path, flags, mode, follow_last);
    if (fd < 0) return errno == EXDEV ? WASI_EPERM : wasmc_wasi_errno(errno);
    *out = fd;
    return WASI_ESUCCESS;
}

/* A guest path as a NUL-terminated host string (caller frees). */
static int32_t wasi_path(wasmc_instance *inst, int32_t ptr, int32_t len, char **out) {
    const uint8_t *p = wasmc_wasi_span(inst, ptr, (uint32_t)len);
    if (!p) return WASI_EFAULT;
    if (memchr(p, 0, (uint32_t)len)) return WASI_EILSEQ; /* a NUL would silently cut the path */
    char *s = malloc((size_t)(uint32_t)len + 1);
    if (!s) return WASI_ENOMEM;
    memcpy(s, p, (uint32_t)len);
    s[(uint32_t)len] = '\0';
    *out = s;
    return WASI_ESUCCESS;
}

/* A directory fd that path_* calls may start from. */
static int32_t wasi_dirfd(wasmc_instance *inst, int32_t fd, wasmc_wasi_fd **out) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e) return WASI_EBADF;
    if (e->kind != WASI_KIND_DIR) return WASI_ENOTDIR;
    *out = e;
    return WASI_ESUCCESS;
}

/* A parent directory (beneath the grant) and the final component of a path. */
typedef struct wasi_parent {
    int root;    /* the guest directory's host fd (not owned) */
    int dirfd;   /* host O_PATH fd, or -1 */
    char *path;  /* the whole path (owned) */
    char *leaf;  /* into `path`: final component, trailing slashes kept */
    char name[NAME_MAX + 1]; /* final component without trailing slashes */
    int slash;   /* the path ended in '/' */
} wasi_parent;

static void wasi_parent_free(wasi_parent *p) {
    if (p->dirfd >= 0) close(p->dirfd);
    free(p->path);
}

static int32_t wasi_parent_get(wasmc_instance *inst, int32_t fd, int32_t ptr, int32_t len,
                               wasi_parent *p) {
    wasmc_wasi *w = WASMC_WASI_STATE(inst);
    wasmc_wasi_fd *d;
    memset(p, 0, sizeof *p);
    p->dirfd = -1;
    int32_t rc = wasi_dirfd(inst, fd, &d);
    if (rc || (rc = wasi_path(inst, ptr, len, &p->path))) return rc;
    p->root = d->host;
    char *s = p->path;
    if (s[0] == '/') return WASI_EPERM;
    size_t end = strlen(s);
    while (end > 0 && s[end - 1] == '/') end--;
    if (end == 0) return WASI_ENOENT;
    size_t start = end;
    while (start > 0 && s[start - 1] != '/') start--;
    if (end - start > NAME_MAX) return WASI_ENAMETOOLONG;
    memcpy(p->name, s + start, end - start);
    p->name[end - start] = '\0';
    p->slash = s[end] == '/';
    p->leaf = s + start;
    if (strcmp(p->name, "..") == 0) { /* the target is the parent's parent: must stay beneath */
        int t;
        if ((rc = wasi_resolve(w, d->host, s, O_PATH | O_DIRECTORY, 0, 1, &t))) return rc;
        close(t);
    }
    char saved = s[start];
    s[start] = '\0';
    rc = wasi_resolve(w, d->host, start ? s : ".", O_PATH | O_DIRECTORY, 0, 1, &p->dirfd);
    s[start] = saved;
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Struct writers
 * ------------------------------------------------------------------------------------------- */
static uint64_t wasi_ns(struct timespec ts) {
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* filestat: dev@0 ino@8 filetype@16 nlink@24 size@32 atim@40 mtim@48 ctim@56 (64 bytes) */
static void wasi_put_filestat(uint8_t *p, const struct stat *st) {
    memset(p, 0, 64);
    wasmc_wasi_put_u64(p, (uint64_t)st->st_dev);
    wasmc_wasi_put_u64(p + 8, (uint64_t)st->st_ino);
    p[16] = wasmc_wasi_filetype(st->st_mode);
    wasmc_wasi_put_u64(p + 24, (uint64_t)st->st_nlink);
    wasmc_wasi_put_u64(p + 32, (uint64_t)st->st_size);
    wasmc_wasi_put_u64(p + 40, wasi_ns(st->st_atim));
    wasmc_wasi_put_u64(p + 48, wasi_ns(st->st_mtim));
    wasmc_wasi_put_u64(p + 56, wasi_ns(st->st_ctim));
}

static int32_t wasi_times(const char *func, int64_t atim, int64_t mtim, int32_t fst,
                          struct timespec ts[2]) {
    uint32_t f = (uint32_t)fst;
    if (f & ~15u) wasmc_wasi_guest_error(func, "invalid flags value Fstflags");
    if ((f & WASI_FSTFLAGS_ATIM) && (f & WASI_FSTFLAGS_ATIM_NOW)) return WASI_EINVAL;
    if ((f & WASI_FSTFLAGS_MTIM) && (f & WASI_FSTFLAGS_MTIM_NOW)) return WASI_EINVAL;
    int64_t v[2] = {atim, mtim};
    uint32_t set[2] = {WASI_FSTFLAGS_ATIM, WASI_FSTFLAGS_MTIM};
    uint32_t now[2] = {WASI_FSTFLAGS_ATIM_NOW, WASI_FSTFLAGS_MTIM_NOW};
    for (int i = 0; i < 2; i++) {
        ts[i].tv_sec = 0;
        if (f & now[i]) {
            ts[i].tv_nsec = UTIME_NOW;
        } else if (f & set[i]) {
            uint64_t ns = (uint64_t)v[i];
            ts[i].tv_sec = (time_t)(ns / 1000000000ull);
            ts[i].tv_nsec = (long)(ns % 1000000000ull);
        } else {
            ts[i].tv_nsec = UTIME_OMIT;
        }
    }
    return WASI_ESUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * fd_*: descriptor classes
 * ------------------------------------------------------------------------------------------- */
/* A descriptor that is a file (not a directory, not stdio): wasmtime's "get_file". */
static int32_t wasi_file(wasmc_instance *inst, int32_t fd, wasmc_wasi_fd **out) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e || e->kind != WASI_KIND_FILE) return WASI_EBADF;
    *out = e;
    return WASI_ESUCCESS;
}

static int32_t wasi_fd_close(wasmc_instance *inst, int32_t fd) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e) return WASI_EBADF;
    wasmc_wasi_fd_release(e);
    e->reusable = 1;
    return WASI_ESUCCESS;
}

static int32_t wasi_fd_renumber(wasmc_instance *inst, int32_t from, int32_t to) {
    wasmc_wasi *w = WASMC_WASI_STATE(inst);
    /* Both must be open (as in wasmtime): renumber replaces, it does not allocate. */
    if (!wasmc_wasi_fd_get(w, from) || !wasmc_wasi_fd_get(w, to)) return WASI_EBADF;
    if (from == to) return WASI_ESUCCESS;
    wasmc_wasi_fd_release(&w->fds[to]);
    w->fds[to] = w->fds[from];
    memset(&w->fds[from], 0, sizeof w->fds[from]);
    return WASI_ESUCCESS;
}

/* read/write/pread/pwrite share one shape: gather iovecs, one host call, store the count. */
static int32_t wasi_rw(wasmc_instance *inst, int32_t fd, int32_t iovs, int32_t n, int64_t off,
                       int32_t count_ptr, int write, int positioned) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e || e->kind == WASI_KIND_DIR) return WASI_EBADF;
    if (!(e->rights & (write ? WASI_RIGHT_FD_WRITE : WASI_RIGHT_FD_READ))) return WASI_EBADF;
    if (positioned && e->kind == WASI_KIND_STDIO) return WASI_ESPIPE;
    if (positioned && off < 0) return WASI_EINVAL;
    struct iovec iov[WASMC_WASI_IOV_MAX];
    int cnt = 0;
    uint8_t *cp = wasmc_wasi_span(inst, count_ptr, 4);
    if (!cp) return WASI_EFAULT;
    int32_t rc = wasmc_wasi_iovecs(inst, iovs, n, iov, &cnt);
    if (rc) return rc;
    ssize_t r;
    do {
        if (positioned)
            r = write ? pwritev(e->host, iov, cnt, off) : preadv(e->host, iov, cnt, off);
        else
            r = write ? writev(e->host, iov, cnt) : readv(e->host, iov, cnt);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return wasmc_wasi_errno(errno);
    wasmc_wasi_put_u32(cp, (uint32_t)r);
    return WASI_ESUCCESS;
}

static int32_t wasi_fd_read(wasmc_instance *inst, int32_t fd, int32_t iovs, int32_t n, int32_t nr) {
    return wasi_rw(inst, fd, iovs, n, 0, nr, 0, 0);
}
static int32_t wasi_fd_write(wasmc_instance *inst, int32_t fd, int32_t iovs, int32_t n, int32_t nw) {
    return wasi_rw(inst, fd, iovs, n, 0, nw, 1, 0);
}
static int32_t wasi_fd_pread(wasmc_instance *inst, int32_t fd, int32_t iovs, int32_t n, int64_t off,
                             int32_t nr) {
    return wasi_rw(inst, fd, iovs, n, off, nr, 0, 1);
}
static int32_t wasi_fd_pwrite(wasmc_instance *inst, int32_t fd, int32_t iovs, int32_t n, int64_t off,
                              int32_t nw) {
    return wasi_rw(inst, fd, iovs, n, off, nw, 1, 1);
}

static int32_t wasi_seek(wasmc_instance *inst, int32_t fd, int64_t off, int32_t whence, int32_t out) {
    static const int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    if (whence < 0 || whence > 2) wasmc_wasi_guest_error("fd_seek", "invalid enum value Whence");
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e || e->kind == WASI_KIND_DIR) return WASI_EBADF;
    if (e->kind == WASI_KIND_STDIO) return WASI_ESPIPE;
    uint8_t *p = wasmc_wasi_span(inst, out, 8);
    if (!p) return WASI_EFAULT;
    off_t r = lseek(e->host, (off_t)off, whences[whence]);
    if (r < 0) return wasmc_wasi_errno(errno);
    wasmc_wasi_put_u64(p, (uint64_t)r);
    return WASI_ESUCCESS;
}
static int32_t wasi_fd_seek(wasmc_instance *inst, int32_t fd, int64_t off, int32_t whence,
                            int32_t out) {
    return wasi_seek(inst, fd, off, whence, out);
}
static int32_t wasi_fd_tell(wasmc_instance *inst, int32_t fd, int32_t out) {
    return wasi_seek(inst, fd, 0, 1, out);
}

/* fdstat: filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16 (24 bytes) */
static int32_t wasi_fd_fdstat_get(wasmc_instance *inst, int32_t fd, int32_t out) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e) return WASI_EBADF;
    uint8_t *p = wasmc_wasi_span(inst, out, 24);
    if (!p) return WASI_EFAULT;
    uint16_t flags = 0;
    if (e->kind == WASI_KIND_FILE) {
        int fl = fcntl(e->host, F_GETFL);
        if (fl < 0) return wasmc_wasi_errno(errno);
        if (fl & O_APPEND) flags |= WASI_FDFLAGS_APPEND;
        if (fl & O_NONBLOCK) flags |= WASI_FDFLAGS_NONBLOCK;
        if ((fl & O_SYNC) == O_SYNC) flags |= WASI_FDFLAGS_SYNC;
        else if (fl & O_DSYNC) flags |= WASI_FDFLAGS_DSYNC;
    }
    memset(p, 0, 24);
    p[0] = e->filetype;
    wasmc_wasi_put_u16(p + 2, flags);
    wasmc_wasi_put_u64(p + 8, e->rights);
    wasmc_wasi_put_u64(p + 16, e->preopen_name ? WASI_RIGHTS_PREOPEN_INHERITING : e->rights);
    return WASI_ESUCCESS;
}

static int32_t wasi_fd_fdstat_set_flags(wasmc_instance *inst, int32_t fd, int32_t flags) {
    if ((uint32_t)flags & ~31u) wasmc_wasi_guest_error("fd_fdstat_set_flags", "invalid flags value Fdflags");
    wasmc_wasi_fd *e;
    int32_t rc = wasi_file(inst, fd, &e);
    if (rc) return rc;
    /* Like wasmtime, only APPEND and NONBLOCK can change after open. */
    if ((uint32_t)flags & (WASI_FDFLAGS_DSYNC | WASI_FDFLAGS_RSYNC | WASI_FDFLAGS_SYNC))
        return WASI_EINVAL;
    int fl = fcntl(e->host, F_GETFL);
    if (fl < 0) return wasmc_wasi_errno(errno);
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (flags & WASI_FDFLAGS_APPEND) fl |= O_APPEND;
    if (flags & WASI_FDFLAGS_NONBLOCK) fl |= O_NONBLOCK;
    return fcntl(e->host, F_SETFL, fl) == 0 ? WASI_ESUCCESS : wasmc_wasi_errno(errno);
}

static int32_t wasi_fd_fdstat_set_rights(wasmc_instance *inst, int32_t fd, int64_t base, int64_t inh) {
    (void)base, (void)inh;
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e || e->kind == WASI_KIND_STDIO) return WASI_EBADF;
    return WASI_ENOTSUP; /* rights are gone from later WASI; wasmtime refuses the same way */
}

static int32_t wasi_fd_prestat_get(wasmc_instance *inst, int32_t fd, int32_t out) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e || !e->preopen_name) return WASI_EBADF;
    uint8_t *p = wasmc_wasi_span(inst, out, 8);
    if (!p) return WASI_EFAULT;
    memset(p, 0, 8); /* tag 0 = dir */
    wasmc_wasi_put_u32(p + 4, (uint32_t)strlen(e->preopen_name));
    return WASI_ESUCCESS;
}

static int32_t wasi_fd_prestat_dir_name(wasmc_instance *inst, int32_t fd, int32_t buf, int32_t len) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e || !e->preopen_name) return WASI_EBADF;
    uint8_t *p = wasmc_wasi_span(inst, buf, (uint32_t)len);
    if (!p) return WASI_EFAULT;
    size_t n = strlen(e->preopen_name);
    if ((uint32_t)len < n) return WASI_ENAMETOOLONG;
    memcpy(p, e->preopen_name, n);
    return WASI_ESUCCESS;
}

static int32_t wasi_fd_filestat_get(wasmc_instance *inst, int32_t fd, int32_t out) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e) return WASI_EBADF;
    uint8_t *p = wasmc_wasi_span(inst, out, 64);
    if (!p) return WASI_EFAULT;
    if (e->kind == WASI_KIND_STDIO) { /* streams have no metadata, as in wasmtime */
        memset(p, 0, 64);
        p[16] = e->filetype;
        return WASI_ESUCCESS;
    }
    struct stat st;
    if (fstat(e->host, &st) != 0) return wasmc_wasi_errno(errno);
    wasi_put_filestat(p, &st);
    return WASI_ESUCCESS;
}

static int32_t wasi_fd_filestat_set_size(wasmc_instance *inst, int32_t fd, int64_t size) {
    wasmc_wasi_fd *e;
    int32_t rc = wasi_file(inst, fd, &e);
    if (rc) return rc;
    return ftruncate(e->host, (off_t)size) == 0 ? WASI_ESUCCESS : wasmc_wasi_errno(errno);
}

static int32_t wasi_fd_filestat_set_times(wasmc_instance *inst, int32_t fd, int64_t atim, int64_t mtim,
                                          int32_t fst) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e || e->kind == WASI_KIND_STDIO) return WASI_EBADF;
    struct timespec ts[2];
    int32_t rc = wasi_times("fd_filestat_set_times", atim, mtim, fst, ts);
    if (rc) return rc;
    return futimens(e->host, ts) == 0 ? WASI_ESUCCESS : wasmc_wasi_errno(errno);
}

static int32_t wasi_fd_sync(wasmc_instance *inst, int32_t fd) {
    wasmc_wasi_fd *e;
    int32_t rc = wasi_file(inst, fd, &e);
    if (rc) return rc;
    return fsync(e->host) == 0 ? WASI_ESUCCESS : wasmc_wasi_errno(errno);
}

static int32_t wasi_fd_datasync(wasmc_instance *inst, int32_t fd) {
    wasmc_wasi_fd *e;
    int32_t rc = wasi_file(inst, fd, &e);
    if (rc) return rc;
    return fdatasync(e->host) == 0 ? WASI_ESUCCESS : wasmc_wasi_errno(errno);
}

static int32_t wasi_fd_advise(wasmc_instance *inst, int32_t fd, int64_t off, int64_t len, int32_t adv) {
    static const int advice[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                 POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
    if (adv < 0 || adv > 5) wasmc_wasi_guest_error("fd_advise", "invalid enum value Advice");
    wasmc_wasi_fd *e;
    int32_t rc = wasi_file(inst, fd, &e);
    if (rc) return rc;
    return wasmc_wasi_errno(posix_fadvise(e->host, (off_t)off, (off_t)len, advice[adv]));
}

static int32_t wasi_fd_allocate(wasmc_instance *inst, int32_t fd, int64_t off, int64_t len) {
    (void)off, (void)len;
    wasmc_wasi_fd *e;
    int32_t rc = wasi_file(inst, fd, &e);
    /* wasmtime dropped fd_allocate (preview2 has no equivalent); programs see the same NOTSUP. */
    return rc ? rc : WASI_ENOTSUP;
}

/* ---------------------------------------------------------------------------------------------
 * fd_readdir.  Cookie k names entry k: 0 ".", 1 "..", then the host's entries in host order.  The
 * DIR stream lives on a private fd and remembers which cookie it is at, so sequential calls are
 * O(n); a truncated last entry is re-read next time with seekdir.
 * dirent: d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20; name follows (24 + len).
 * ------------------------------------------------------------------------------------------- */
static uint8_t wasi_dtype(int dirfd, const struct dirent *d) {
    switch (d->d_type) {
    case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
    case DT_DIR: return WASI_FILETYPE_DIRECTORY;
    case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
    case DT_UNKNOWN: {
        struct stat st;
        if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISFIFO(st.st_mode)) return WASI_FILETYPE_UNKNOWN;
            return wasmc_wasi_filetype(st.st_mode);
        }
        return WASI_FILETYPE_UNKNOWN;
    }
    default: return WASI_FILETYPE_UNKNOWN;
    }
}

/* Copy one entry, truncated to the room left: 1 if room remains, 0 if the entry exactly filled
 * the buffer, -1 if it was cut (the guest will ask for it again by its cookie). */
static int wasi_dirent_put(uint8_t *buf, uint32_t len, uint32_t *used, uint64_t next, uint64_t ino,
                           uint8_t type, const char *name) {
    uint8_t hdr[24];
    uint32_t nlen = (uint32_t)strlen(name);
    memset(hdr, 0, sizeof hdr);
    wasmc_wasi_put_u64(hdr, next);
    wasmc_wasi_put_u64(hdr + 8, ino);
    wasmc_wasi_put_u32(hdr + 16, nlen);
    hdr[20] = type;
    uint32_t room = len - *used, n = room < 24 ? room : 24;
    memcpy(buf + *used, hdr, n);
    *used += n;
    if (n < 24) return -1;
    room = len - *used;
    n = room < nlen ? room : nlen;
    memcpy(buf + *used, name, n);
    *used += n;
    if (*used < len) return 1;
    return n == nlen && room >= nlen ? 0 : -1;
}

static int32_t wasi_fd_readdir(wasmc_instance *inst, int32_t fd, int32_t buf, int32_t len,
                               int64_t cookie, int32_t used_ptr) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    if (!e || e->kind != WASI_KIND_DIR) return WASI_EBADF;
    uint8_t *p = wasmc_wasi_span(inst, buf, (uint32_t)len);
    uint8_t *up = wasmc_wasi_span(inst, used_ptr, 4);
    if (!p || !up) return WASI_EFAULT;
    uint64_t k = (uint64_t)cookie;
    uint32_t used = 0;
    struct stat self;
    if (fstat(e->host, &self) != 0) return wasmc_wasi_errno(errno);
    if (!e->dir) {
        int h = openat(e->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h < 0) return wasmc_wasi_errno(errno);
        if (!(e->dir = fdopendir(h))) {
            close(h);
            return wasmc_wasi_errno(errno);
        }
        e->dir_cookie = 2;
    }
    DIR *dir = e->dir;
    /* ".." reports the directory's own inode: the real parent may be outside the grant. */
    static const char *const dots[] = {".", ".."};
    for (; k < 2; k++)
        if (wasi_dirent_put(p, (uint32_t)len, &used, k + 1, (uint64_t)self.st_ino,
                            WASI_FILETYPE_DIRECTORY, dots[k]) <= 0)
            goto done;
    if (e->dir_cookie != k) {
        rewinddir(dir);
        e->dir_cookie = 2;
    }
    for (;;) {
        long at = telldir(dir);
        errno = 0;
        struct dirent *d = readdir(dir);
        if (!d) {
            if (errno) return wasmc_wasi_errno(errno);
            break;
        }
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) continue;
        if (e->dir_cookie < k) { /* skipping towards the requested cookie */
            e->dir_cookie++;
            continue;
        }
        e->dir_cookie = ++k;
        int put = wasi_dirent_put(p, (uint32_t)len, &used, k, (uint64_t)d->d_ino,
                                  wasi_dtype(dirfd(dir), d), d->d_name);
        if (put < 0) { /* cut: step back so the next call, asking for it again, reads it */
            seekdir(dir, at);
            e->dir_cookie = k - 1;
        }
        if (put <= 0) break;
    }
done:
    wasmc_wasi_put_u32(up, used);
    return WASI_ESUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * path_*
 * ------------------------------------------------------------------------------------------- */
static int32_t wasi_path_open(wasmc_instance *inst, int32_t fd, int32_t dirflags, int32_t path,
                              int32_t path_len, int32_t oflags, int64_t rights_base,
                              int64_t rights_inh, int32_t fdflags, int32_t fd_ptr) {
    (void)rights_inh;
    if ((uint32_t)dirflags & ~WASI_LOOKUP_SYMLINK_FOLLOW)
        wasmc_wasi_guest_error("path_open", "invalid flags value Lookupflags");
    if ((uint32_t)oflags & ~15u) wasmc_wasi_guest_error("path_open", "invalid flags value Oflags");
    if ((uint32_t)fdflags & ~31u) wasmc_wasi_guest_error("path_open", "invalid flags value Fdflags");
    wasmc_wasi *w = WASMC_WASI_STATE(inst);
    wasmc_wasi_fd *d;
    char *s = NULL;
    int32_t rc = wasi_dirfd(inst, fd, &d);
    if (rc) return rc;
    uint8_t *out = wasmc_wasi_span(inst, fd_ptr, 4);
    if (!out) return WASI_EFAULT;
    uint32_t of = (uint32_t)oflags, ff = (uint32_t)fdflags;
    if ((of & WASI_OFLAGS_DIRECTORY) &&
        (of & (WASI_OFLAGS_CREAT | WASI_OFLAGS_EXCL | WASI_OFLAGS_TRUNC)))
        return WASI_EINVAL;
    if ((rc = wasi_path(inst, path, path_len, &s))) return rc;
    /* Access mode from the rights, as wasmtime does: write if FD_WRITE, read unless write-only. */
    uint64_t rb = (uint64_t)rights_base;
    int wr = (rb & WASI_RIGHT_FD_WRITE) != 0, rd = (rb & WASI_RIGHT_FD_READ) != 0 || !wr;
    int flags = O_NOCTTY | (wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY);
    if (of & WASI_OFLAGS_CREAT) flags |= O_CREAT;
    if (of & WASI_OFLAGS_DIRECTORY) flags |= O_DIRECTORY;
    if (of & WASI_OFLAGS_EXCL) flags |= O_EXCL;
    if (of & WASI_OFLAGS_TRUNC) flags |= O_TRUNC;
    if (ff & WASI_FDFLAGS_APPEND) flags |= O_APPEND;
    if (ff & WASI_FDFLAGS_NONBLOCK) flags |= O_NONBLOCK;
    if (ff & WASI_FDFLAGS_DSYNC) flags |= O_DSYNC;
    if (ff & (WASI_FDFLAGS_SYNC | WASI_FDFLAGS_RSYNC)) flags |= O_SYNC;
    int h;
    rc = wasi_resolve(w, d->host, s, flags, 0666, (uint32_t)dirflags & WASI_LOOKUP_SYMLINK_FOLLOW, &h);
    free(s);
    if (rc) return rc;
    struct stat st;
    if (fstat(h, &st) != 0) {
        rc = wasmc_wasi_errno(errno);
        close(h);
        return rc;
    }
    uint64_t rights = WASI_RIGHTS_ALL;
    if (!rd) rights &= ~(WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR);
    if (!wr) rights &= ~WASI_RIGHT_FD_WRITE;
    int kind = WASI_KIND_FILE;
    uint8_t ft = wasmc_wasi_filetype(st.st_mode);
    if (S_ISDIR(st.st_mode)) {
        kind = WASI_KIND_DIR;
        rights &= ~(WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_FILESTAT_SET_SIZE |
                    WASI_RIGHT_PATH_FILESTAT_SET_SIZE);
    }
    if (S_ISFIFO(st.st_mode)) ft = WASI_FILETYPE_UNKNOWN;
    int32_t nfd = wasmc_wasi_fd_add(w, kind, h, ft, rights);
    if (nfd < 0) return WASI_EMFILE;
    wasmc_wasi_put_u32(out, (uint32_t)nfd);
    return WASI_ESUCCESS;
}

static int32_t wasi_path_filestat_get(wasmc_instance *inst, int32_t fd, int32_t flags, int32_t path,
                                      int32_t path_len, int32_t out) {
    wasmc_wasi_fd *d;
    char *s = NULL;
    int32_t rc = wasi_dirfd(inst, fd, &d);
    if (rc) return rc;
    uint8_t *p = wasmc_wasi_span(inst, out, 64);
    if (!p) return WASI_EFAULT;
    if ((rc = wasi_path(inst, path, path_len, &s))) return rc;
    /* O_PATH|O_NOFOLLOW opens a final symlink itself, so one beneath-open serves lstat and stat. */
    int h;
    rc = wasi_resolve(WASMC_WASI_STATE(inst), d->host, s, O_PATH, 0,
                      (uint32_t)flags & WASI_LOOKUP_SYMLINK_FOLLOW, &h);
    free(s);
    if (rc) return rc;
    struct stat st;
    rc = fstat(h, &st) == 0 ? WASI_ESUCCESS : wasmc_wasi_errno(errno);
    close(h);
    if (!rc) wasi_put_filestat(p, &st);
    return rc;
}

static int32_t wasi_path_filestat_set_times(wasmc_instance *inst, int32_t fd, int32_t flags,
                                            int32_t path, int32_t path_len, int64_t atim,
                                            int64_t mtim, int32_t fst) {
    struct timespec ts[2];
    int32_t rc = wasi_times("path_filestat_set_times", atim, mtim, fst, ts);
    if (rc) return rc;
    wasi_parent pp;
    if ((rc = wasi_parent_get(inst, fd, path, path_len, &pp))) goto out;
    if (!((uint32_t)flags & WASI_LOOKUP_SYMLINK_FOLLOW)) {
        /* "x/" would make the kernel follow x; wasmtime answers EINVAL, and so do we. */
        rc = pp.slash ? WASI_EINVAL
             : utimensat(pp.dirfd, pp.name, ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : wasmc_wasi_errno(errno);
        goto out;
    }
    /* Following: open the target beneath the grant, then set times through /proc's magic link
     * (utimensat cannot act on an O_PATH fd directly). */
    int h;
    if ((rc = wasi_resolve(WASMC_WASI_STATE(inst), pp.root, pp.path, O_PATH, 0, 1, &h))) goto out;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", h);
    rc = utimensat(AT_FDCWD, proc, ts, 0) == 0 ? 0 : wasmc_wasi_errno(errno);
    close(h);
out:
    wasi_parent_free(&pp);
    return rc;
}

static int32_t wasi_path_create_directory(wasmc_instance *inst, int32_t fd, int32_t path,
                                          int32_t len) {
    wasi_parent pp;
    int32_t rc = wasi_parent_get(inst, fd, path, len, &pp);
    if (!rc) rc = mkdirat(pp.dirfd, pp.leaf, 0777) == 0 ? 0 : wasmc_wasi_errno(errno);
    wasi_parent_free(&pp);
    return rc;
}

static int32_t wasi_path_remove_directory(wasmc_instance *inst, int32_t fd, int32_t path,
                                          int32_t len) {
    wasi_parent pp;
    int32_t rc = wasi_parent_get(inst, fd, path, len, &pp);
    /* wasmtime (cap-std) refuses "x/", "." and ".." with EINVAL rather than the host's answers. */
    if (!rc && (pp.slash || strcmp(pp.name, ".") == 0 || strcmp(pp.name, "..") == 0)) rc = WASI_EINVAL;
    if (!rc) rc = unlinkat(pp.dirfd, pp.leaf, AT_REMOVEDIR) == 0 ? 0 : wasmc_wasi_errno(errno);
    wasi_parent_free(&pp);
    return rc;
}

static int32_t wasi_path_unlink_file(wasmc_instance *inst, int32_t fd, int32_t path, int32_t len) {
    wasi_parent pp;
    int32_t rc = wasi_parent_get(inst, fd, path, len, &pp);
    if (!rc) rc = unlinkat(pp.dirfd, pp.leaf, 0) == 0 ? 0 : wasmc_wasi_errno(errno);
    wasi_parent_free(&pp);
    return rc;
}

static int32_t wasi_path_rename(wasmc_instance *inst, int32_t fd, int32_t old_path, int32_t old_len,
                                int32_t new_fd, int32_t new_path, int32_t new_len) {
    wasi_parent a, b;
    memset(&b, 0, sizeof b);
    b.dirfd = -1;
    int32_t rc = wasi_parent_get(inst, fd, old_path, old_len, &a);
    if (!rc) rc = wasi_parent_get(inst, new_fd, new_path, new_len, &b);
    if (!rc) rc = renameat(a.dirfd, a.leaf, b.dirfd, b.leaf) == 0 ? 0 : wasmc_wasi_errno(errno);
    wasi_parent_free(&a);
    wasi_parent_free(&b);
    return rc;
}

static int32_t wasi_path_link(wasmc_instance *inst, int32_t old_fd, int32_t old_flags,
                              int32_t old_path, int32_t old_len, int32_t new_fd, int32_t new_path,
                              int32_t new_len) {
    wasi_parent a, b;
    memset(&b, 0, sizeof b);
    b.dirfd = -1;
    int32_t rc = wasi_parent_get(inst, old_fd, old_path, old_len, &a);
    if (!rc) rc = wasi_parent_get(inst, new_fd, new_path, new_len, &b);
    if (rc) goto out;
    /* Following the source is not supported by wasmtime either (cap-std cannot do it safely). */
    if ((uint32_t)old_flags & WASI_LOOKUP_SYMLINK_FOLLOW) {
        rc = WASI_EINVAL;
        goto out;
    }
    if (a.slash) { /* "x/" would make linkat follow x: resolve it beneath ourselves instead */
        int h;
        struct stat st;
        if ((rc = wasi_resolve(WASMC_WASI_STATE(inst), a.root, a.path, O_PATH, 0, 1, &h))) goto out;
        rc = fstat(h, &st) != 0 ? wasmc_wasi_errno(errno) : S_ISDIR(st.st_mode) ? WASI_EPERM : WASI_ENOTDIR;
        close(h);
        goto out;
    }
    rc = linkat(a.dirfd, a.leaf, b.dirfd, b.leaf, 0) == 0 ? 0 : wasmc_wasi_errno(errno);
out:
    wasi_parent_free(&a);
    wasi_parent_free(&b);
    return rc;
}

static int32_t wasi_path_symlink(wasmc_instance *inst, int32_t old_path, int32_t old_len, int32_t fd,
                                 int32_t new_path, int32_t new_len) {
    char *target = NULL;
    wasi_parent pp;
    memset(&pp, 0, sizeof pp);
    pp.dirfd = -1;
    int32_t rc = wasi_path(inst, old_path, old_len, &target);
    if (!rc) rc = wasi_parent_get(inst, fd, new_path, new_len, &pp);
    /* An absolute target could only ever point outside the grant; wasmtime refuses it too. */
    if (!rc && target[0] == '/') rc = WASI_EPERM;
    if (!rc) rc = symlinkat(target, pp.dirfd, pp.leaf) == 0 ? 0 : wasmc_wasi_errno(errno);
    free(target);
    wasi_parent_free(&pp);
    return rc;
}

static int32_t wasi_path_readlink(wasmc_instance *inst, int32_t fd, int32_t path, int32_t path_len,
                                  int32_t buf, int32_t buf_len, int32_t used_ptr) {
    wasi_parent pp;
    int32_t rc = wasi_parent_get(inst, fd, path, path_len, &pp);
    uint8_t *p = wasmc_wasi_span(inst, buf, (uint32_t)buf_len);
    uint8_t *up = wasmc_wasi_span(inst, used_ptr, 4);
    if (!rc && (!p || !up)) rc = WASI_EFAULT;
    if (rc) goto out;
    if (pp.slash) { /* "x/" names x's target, which is never a symlink: resolve safely, then EINVAL */
        int h;
        if (!(rc = wasi_resolve(WASMC_WASI_STATE(inst), pp.root, pp.path, O_PATH, 0, 1, &h))) {
            close(h);
            rc = WASI_EINVAL;
        }
        goto out;
    }
    char target[PATH_MAX];
    ssize_t n = readlinkat(pp.dirfd, pp.name, target, sizeof target);
    if (n < 0) {
        rc = wasmc_wasi_errno(errno);
        goto out;
    }
    if (n > 0 && target[0] == '/') { /* as wasmtime: a link out of the sandbox is not shown */
        rc = WASI_EPERM;
        goto out;
    }
    uint32_t m = (uint64_t)n < (uint32_t)buf_len ? (uint32_t)n : (uint32_t)buf_len;
    memcpy(p, target, m);
    wasmc_wasi_put_u32(up, m);
out:
    wasi_parent_free(&pp);
    return rc;
}

const wasmc_wasi_export wasmc_wasi_fs_exports[] = {
    {"fd_advise", "illi:i", (void *)wasi_fd_advise},
    {"fd_allocate", "ill:i", (void *)wasi_fd_allocate},
    {"fd_close", "i:i", (void *)wasi_fd_close},
    {"fd_datasync", "i:i", (void *)wasi_fd_datasync},
    {"fd_fdstat_get", "ii:i", (void *)wasi_fd_fdstat_get},
    {"fd_fdstat_set_flags", "ii:i", (void *)wasi_fd_fdstat_set_flags},
    {"fd_fdstat_set_rights", "ill:i", (void *)wasi_fd_fdstat_set_rights},
    {"fd_filestat_get", "ii:i", (void *)wasi_fd_filestat_get},
    {"fd_filestat_set_size", "il:i", (void *)wasi_fd_filestat_set_size},
    {"fd_filestat_set_times", "illi:i", (void *)wasi_fd_filestat_set_times},
    {"fd_pread", "iiili:i", (void *)wasi_fd_pread},
    {"fd_prestat_get", "ii:i", (void *)wasi_fd_prestat_get},
    {"fd_prestat_dir_name", "iii:i", (void *)wasi_fd_prestat_dir_name},
    {"fd_pwrite", "iiili:i", (void *)wasi_fd_pwrite},
    {"fd_read", "iiii:i", (void *)wasi_fd_read},
    {"fd_readdir", "iiili:i", (void *)wasi_fd_readdir},
    {"fd_renumber", "ii:i", (void *)wasi_fd_renumber},
    {"fd_seek", "ilii:i", (void *)wasi_fd_seek},
    {"fd_sync", "i:i", (void *)wasi_fd_sync},
    {"fd_tell", "ii:i", (void *)wasi_fd_tell},
    {"fd_write", "iiii:i", (void *)wasi_fd_write},
    {"path_create_directory", "iii:i", (void *)wasi_path_create_directory},
    {"path_filestat_get", "iiiii:i", (void *)wasi_path_filestat_get},
    {"path_filestat_set_times", "iiiilli:i", (void *)wasi_path_filestat_set_times},
    {"path_link", "iiiiiii:i", (void *)wasi_path_link},
    {"path_open", "iiiiillii:i", (void *)wasi_path_open},
    {"path_readlink", "iiiiii:i", (void *)wasi_path_readlink},
    {"path_remove_directory", "iii:i", (void *)wasi_path_remove_directory},
    {"path_rename", "iiiiii:i", (void *)wasi_path_rename},
    {"path_symlink", "iiiii:i", (void *)wasi_path_symlink},
    {"path_unlink_file", "iii:i", (void *)wasi_path_unlink_file},
    {NULL, NULL, NULL},
};
