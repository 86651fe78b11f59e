/* wasi.c — WASI preview1 (wasi_snapshot_preview1): state, fd table, args/environ, clocks, random,
 * proc, poll_oneoff, sockets and the name -> host function lookup.  Filesystem calls: wasi_fs.c.
 *
 * Strategy.  Each host function is a plain C function `int32_t fn(wasmc_instance *inst, args...)`
 * bound with WASMC_FUNCREF_BIND_CALLER, so `inst` is the caller and its memory 0 holds the guest
 * buffers.  Calls map one-to-one onto Linux syscalls on host fds; host errno values are translated
 * with one table.  Where the spec leaves a choice we do what `wasmtime run` does (stdio are streams
 * without seek, proc_exit >= 126 fails, proc_raise is NOTSUP), because the goal is identical
 * behaviour.  Nothing pretends to succeed: what Linux cannot do returns the matching errno.
 *
 * SANDBOX-CRITICAL: every guest pointer is checked with wasmc_wasi_span before use.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wasi_internal.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers shared with wasi_fs.c
 * ------------------------------------------------------------------------------------------- */
int32_t wasmc_wasi_errno(int e) {
    switch (e) {
    case 0: return WASI_ESUCCESS;
    case E2BIG: return WASI_E2BIG;
    case EACCES: return WASI_EACCES;
    case EADDRINUSE: return WASI_EADDRINUSE;
    case EADDRNOTAVAIL: return WASI_EADDRNOTAVAIL;
    case EAFNOSUPPORT: return WASI_EAFNOSUPPORT;
    case EAGAIN: return WASI_EAGAIN;
    case EALREADY: return WASI_EALREADY;
    case EBADF: return WASI_EBADF;
    case EBADMSG: return WASI_EBADMSG;
    case EBUSY: return WASI_EBUSY;
    case ECANCELED: return WASI_ECANCELED;
    case ECHILD: return WASI_ECHILD;
    case ECONNABORTED: return WASI_ECONNABORTED;
    case ECONNREFUSED: return WASI_ECONNREFUSED;
    case ECONNRESET: return WASI_ECONNRESET;
    case EDEADLK: return WASI_EDEADLK;
    case EDESTADDRREQ: return WASI_EDESTADDRREQ;
    case EDOM: return WASI_EDOM;
    case EDQUOT: return WASI_EDQUOT;
    case EEXIST: return WASI_EEXIST;
    case EFAULT: return WASI_EFAULT;
    case EFBIG: return WASI_EFBIG;
    case EHOSTUNREACH: return WASI_EHOSTUNREACH;
    case EIDRM: return WASI_EIDRM;
    case EILSEQ: return WASI_EILSEQ;
    case EINPROGRESS: return WASI_EINPROGRESS;
    case EINTR: return WASI_EINTR;
    case EINVAL: return WASI_EINVAL;
    case EIO: return WASI_EIO;
    case EISCONN: return WASI_EISCONN;
    case EISDIR: return WASI_EISDIR;
    case ELOOP: return WASI_ELOOP;
    case EMFILE: return WASI_EMFILE;
    case EMLINK: return WASI_EMLINK;
    case EMSGSIZE: return WASI_EMSGSIZE;
    case EMULTIHOP: return WASI_EMULTIHOP;
    case ENAMETOOLONG: return WASI_ENAMETOOLONG;
    case ENETDOWN: return WASI_ENETDOWN;
    case ENETRESET: return WASI_ENETRESET;
    case ENETUNREACH: return WASI_ENETUNREACH;
    case ENFILE: return WASI_ENFILE;
    case ENOBUFS: return WASI_ENOBUFS;
    case ENODEV: return WASI_ENODEV;
    case ENOENT: return WASI_ENOENT;
    case ENOEXEC: return WASI_ENOEXEC;
    case ENOLCK: return WASI_ENOLCK;
    case ENOLINK: return WASI_ENOLINK;
    case ENOMEM: return WASI_ENOMEM;
    case ENOMSG: return WASI_ENOMSG;
    case ENOPROTOOPT: return WASI_ENOPROTOOPT;
    case ENOSPC: return WASI_ENOSPC;
    case ENOSYS: return WASI_ENOSYS;
    case ENOTCONN: return WASI_ENOTCONN;
    case ENOTDIR: return WASI_ENOTDIR;
    case ENOTEMPTY: return WASI_ENOTEMPTY;
    case ENOTRECOVERABLE: return WASI_ENOTRECOVERABLE;
    case ENOTSOCK: return WASI_ENOTSOCK;
    case ENOTSUP: return WASI_ENOTSUP; /* == EOPNOTSUPP on Linux */
    case ENOTTY: return WASI_ENOTTY;
    case ENXIO: return WASI_ENXIO;
    case EOVERFLOW: return WASI_EOVERFLOW;
    case EOWNERDEAD: return WASI_EOWNERDEAD;
    case EPERM: return WASI_EPERM;
    case EPIPE: return WASI_EPIPE;
    case EPROTO: return WASI_EPROTO;
    case EPROTONOSUPPORT: return WASI_EPROTONOSUPPORT;
    case EPROTOTYPE: return WASI_EPROTOTYPE;
    case ERANGE: return WASI_ERANGE;
    case EROFS: return WASI_EROFS;
    case ESPIPE: return WASI_ESPIPE;
    case ESRCH: return WASI_ESRCH;
    case ESTALE: return WASI_ESTALE;
    case ETIMEDOUT: return WASI_ETIMEDOUT;
    case ETXTBSY: return WASI_ETXTBSY;
    case EXDEV: return WASI_EXDEV;
    default: return WASI_EIO;
    }
}

_Noreturn void wasmc_wasi_guest_error(const char *func, const char *what) {
    fprintf(stderr, "wasmc: error: in wasi_snapshot_preview1::%s: %s\n", func, what);
    wasmc_rt_trap(WASMC_TRAP_HOST);
}

uint8_t wasmc_wasi_filetype(mode_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return WASI_FILETYPE_REGULAR_FILE;
    case S_IFDIR: return WASI_FILETYPE_DIRECTORY;
    case S_IFLNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case S_IFCHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case S_IFBLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case S_IFSOCK: return WASI_FILETYPE_SOCKET_STREAM;
    default: return WASI_FILETYPE_UNKNOWN;
    }
}

wasmc_wasi_fd *wasmc_wasi_fd_get(wasmc_wasi *w, int32_t fd) {
    if (!w || fd < 0 || (uint32_t)fd >= w->nfds || w->fds[fd].kind == WASI_KIND_FREE) return NULL;
    return &w->fds[fd];
}

/* Make slot `fd` exist (the table grows; fd_renumber may name any slot, as in wasmtime). */
static int wasi_fd_reserve(wasmc_wasi *w, uint32_t fd) {
    if (fd < w->nfds) return 0;
    if (fd >= (1u << 20)) return -1; /* far beyond any process's fd limit */
    uint32_t n = w->nfds ? w->nfds : 8;
    while (n <= fd) n *= 2;
    wasmc_wasi_fd *f = realloc(w->fds, n * sizeof *f);
    if (!f) return -1;
    memset(f + w->nfds, 0, (n - w->nfds) * sizeof *f);
    w->fds = f;
    w->nfds = n;
    return 0;
}

int32_t wasmc_wasi_fd_add(wasmc_wasi *w, int kind, int host, uint8_t filetype, uint64_t rights) {
    /* wasmtime's numbering, so programs that print fds agree: the lowest number freed by fd_close,
     * else one past the highest open fd (a slot vacated by fd_renumber is not reused). */
    uint32_t fd = 0, top = 0;
    while (fd < w->nfds && !(w->fds[fd].kind == WASI_KIND_FREE && w->fds[fd].reusable)) fd++;
    if (fd == w->nfds) {
        for (uint32_t i = 0; i < w->nfds; i++)
            if (w->fds[i].kind != WASI_KIND_FREE) top = i + 1;
        fd = top;
    }
    if (wasi_fd_reserve(w, fd) != 0) {
        close(host);
        return -1;
    }
    wasmc_wasi_fd *e = &w->fds[fd];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->host = host;
    e->filetype = filetype;
    e->rights = rights;
    return (int32_t)fd;
}

void wasmc_wasi_fd_release(wasmc_wasi_fd *e) {
    if (e->dir) closedir((DIR *)e->dir);
    /* The host's own stdio stays open: the runtime still reports traps on stderr. */
    if (e->kind != WASI_KIND_STDIO) close(e->host);
    free(e->preopen_name);
    memset(e, 0, sizeof *e);
}

int32_t wasmc_wasi_iovecs(wasmc_instance *inst, int32_t iovs, int32_t n, struct iovec *out, int *count) {
    const uint8_t *g = wasmc_wasi_span(inst, iovs, (uint64_t)(uint32_t)n * 8);
    if (!g) return WASI_EFAULT;
    uint32_t m = (uint32_t)n < WASMC_WASI_IOV_MAX ? (uint32_t)n : WASMC_WASI_IOV_MAX;
    for (uint32_t i = 0; i < m; i++) {
        uint32_t buf = wasmc_wasi_get_u32(g + 8 * i), len = wasmc_wasi_get_u32(g + 8 * i + 4);
        uint8_t *p = wasmc_wasi_span(inst, (int32_t)buf, len);
        if (!p) return WASI_EFAULT;
        out[i].iov_base = p;
        out[i].iov_len = len;
    }
    *count = (int)m;
    return WASI_ESUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------------------------------- */
static char **wasi_strdup_list(int n, const char *const *src) {
    char **dst = calloc((size_t)n + 1, sizeof *dst);
    if (!dst) return NULL;
    for (int i = 0; i < n; i++)
        if (!(dst[i] = strdup(src[i]))) return NULL;
    return dst;
}

static uint8_t wasi_stdio_filetype(int host) {
    /* wasmtime reports a terminal as a character device and anything else as unknown. */
    return isatty(host) ? WASI_FILETYPE_CHARACTER_DEVICE : WASI_FILETYPE_UNKNOWN;
}

void *wasmc_wasi_new(const wasmc_wasi_config *cfg) {
    wasmc_wasi *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->argc = cfg->argc;
    w->envc = cfg->envc;
    w->argv = wasi_strdup_list(cfg->argc, cfg->argv);
    w->envp = wasi_strdup_list(cfg->envc, cfg->envp);
    if (!w->argv || !w->envp) return NULL;
    const char *no2 = getenv("WASMC_WASI_NO_OPENAT2"); /* test hook: exercise the fallback walk */
    w->use_openat2 = !(no2 && *no2);
    wasmc_wasi_fd_add(w, WASI_KIND_STDIO, 0, wasi_stdio_filetype(0), WASI_RIGHT_FD_READ);
    wasmc_wasi_fd_add(w, WASI_KIND_STDIO, 1, wasi_stdio_filetype(1), WASI_RIGHT_FD_WRITE);
    wasmc_wasi_fd_add(w, WASI_KIND_STDIO, 2, wasi_stdio_filetype(2), WASI_RIGHT_FD_WRITE);
    for (int i = 0; i < cfg->ndirs; i++) {
        int h = open(cfg->dir_host[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h < 0) return NULL; /* errno tells the embedder why */
        int32_t fd = wasmc_wasi_fd_add(w, WASI_KIND_DIR, h, WASI_FILETYPE_DIRECTORY,
                                       WASI_RIGHTS_PREOPEN_BASE);
        if (fd < 0 || !(w->fds[fd].preopen_name = strdup(cfg->dir_guest[i]))) return NULL;
    }
    return w;
}

/* ---------------------------------------------------------------------------------------------
 * args / environ: a pointer array into one buffer of NUL-terminated strings.
 * ------------------------------------------------------------------------------------------- */
static int32_t wasi_strings_get(wasmc_instance *inst, int n, char **strs, int32_t ptrs, int32_t buf) {
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += strlen(strs[i]) + 1;
    uint8_t *p = wasmc_wasi_span(inst, ptrs, (uint64_t)n * 4);
    uint8_t *b = wasmc_wasi_span(inst, buf, total);
    if (!p || !b) return WASI_EFAULT;
    uint32_t off = (uint32_t)buf;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(strs[i]) + 1;
        wasmc_wasi_put_u32(p + 4 * i, off);
        memcpy(b, strs[i], len);
        b += len;
        off += (uint32_t)len;
    }
    return WASI_ESUCCESS;
}

static int32_t wasi_sizes_get(wasmc_instance *inst, int n, char **strs, int32_t count_ptr,
                              int32_t size_ptr) {
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += strlen(strs[i]) + 1;
    uint8_t *c = wasmc_wasi_span(inst, count_ptr, 4), *s = wasmc_wasi_span(inst, size_ptr, 4);
    if (!c || !s) return WASI_EFAULT;
    wasmc_wasi_put_u32(c, (uint32_t)n);
    wasmc_wasi_put_u32(s, (uint32_t)total);
    return WASI_ESUCCESS;
}

static int32_t wasi_args_get(wasmc_instance *inst, int32_t argv, int32_t buf) {
    wasmc_wasi *w = WASMC_WASI_STATE(inst);
    return wasi_strings_get(inst, w->argc, w->argv, argv, buf);
}
static int32_t wasi_args_sizes_get(wasmc_instance *inst, int32_t argc, int32_t size) {
    wasmc_wasi *w = WASMC_WASI_STATE(inst);
    return wasi_sizes_get(inst, w->argc, w->argv, argc, size);
}
static int32_t wasi_environ_get(wasmc_instance *inst, int32_t envp, int32_t buf) {
    wasmc_wasi *w = WASMC_WASI_STATE(inst);
    return wasi_strings_get(inst, w->envc, w->envp, envp, buf);
}
static int32_t wasi_environ_sizes_get(wasmc_instance *inst, int32_t envc, int32_t size) {
    wasmc_wasi *w = WASMC_WASI_STATE(inst);
    return wasi_sizes_get(inst, w->envc, w->envp, envc, size);
}

/* ---------------------------------------------------------------------------------------------
 * Clocks, random, scheduling, process
 * ------------------------------------------------------------------------------------------- */
static int wasi_clockid(int32_t id, clockid_t *out) {
    static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                    CLOCK_THREAD_CPUTIME_ID};
    if (id < 0 || id > 3) return 0;
    *out = ids[id];
    return 1;
}

static uint64_t wasi_ts_ns(const struct timespec *ts) {
    return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

static int32_t wasi_clock_res_get(wasmc_instance *inst, int32_t id, int32_t res_ptr) {
    clockid_t c;
    struct timespec ts;
    if (!wasi_clockid(id, &c)) wasmc_wasi_guest_error("clock_res_get", "invalid enum value Clockid");
    uint8_t *p = wasmc_wasi_span(inst, res_ptr, 8);
    if (!p) return WASI_EFAULT;
    if (clock_getres(c, &ts) != 0) return wasmc_wasi_errno(errno);
    wasmc_wasi_put_u64(p, wasi_ts_ns(&ts));
    return WASI_ESUCCESS;
}

static int32_t wasi_clock_time_get(wasmc_instance *inst, int32_t id, int64_t precision,
                                   int32_t time_ptr) {
    (void)precision; /* a hint; the host clock is always at least as precise */
    clockid_t c;
    struct timespec ts;
    if (!wasi_clockid(id, &c)) wasmc_wasi_guest_error("clock_time_get", "invalid enum value Clockid");
    uint8_t *p = wasmc_wasi_span(inst, time_ptr, 8);
    if (!p) return WASI_EFAULT;
    if (clock_gettime(c, &ts) != 0) return wasmc_wasi_errno(errno);
    wasmc_wasi_put_u64(p, wasi_ts_ns(&ts));
    return WASI_ESUCCESS;
}

static int32_t wasi_random_get(wasmc_instance *inst, int32_t buf, int32_t len) {
    uint8_t *p = wasmc_wasi_span(inst, buf, (uint32_t)len);
    if (!p) return WASI_EFAULT;
    size_t done = 0, n = (uint32_t)len;
    while (done < n) {
        ssize_t r = getrandom(p + done, n - done, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return wasmc_wasi_errno(errno);
        }
        done += (size_t)r;
    }
    return WASI_ESUCCESS;
}

static int32_t wasi_sched_yield(wasmc_instance *inst) {
    (void)inst;
    sched_yield();
    return WASI_ESUCCESS;
}

static int32_t wasi_proc_exit(wasmc_instance *inst, int32_t code) {
    (void)inst;
    /* wasmtime accepts only [0, 126) and traps otherwise, so a shell never mistakes the status
     * for "killed by a signal". */
    if ((uint32_t)code < 126) wasmc_rt_exit(code);
    wasmc_wasi_guest_error("proc_exit", "exit with invalid exit status outside of [0..126)");
}

static int32_t wasi_proc_raise(wasmc_instance *inst, int32_t sig) {
    (void)inst;
    /* Like wasmtime: a guest may not deliver signals to the host process. */
    if (sig < 0 || sig > 30) wasmc_wasi_guest_error("proc_raise", "invalid enum value Signal");
    return WASI_ENOTSUP;
}

/* ---------------------------------------------------------------------------------------------
 * poll_oneoff: clock subscriptions become the ppoll timeout, fd subscriptions its pollfds.
 * Regular files and directories are always ready, as in POSIX poll.
 * subscription: {u64 userdata @0, u8 tag @8, clock{u32 id @16, u64 timeout @24, u64 precision @32,
 * u16 flags @40} | fd_readwrite{u32 fd @16}} = 48 bytes; event: {u64 userdata @0, u16 error @8,
 * u8 type @10, u64 nbytes @16, u16 flags @24} = 32 bytes.
 * ------------------------------------------------------------------------------------------- */
#define WASI_EVENTTYPE_CLOCK 0
#define WASI_EVENTTYPE_FD_READ 1
#define WASI_EVENTTYPE_FD_WRITE 2
#define WASI_SUBCLOCK_ABSTIME 1u
#define WASI_EVENT_FD_HANGUP 1u

static void wasi_event(uint8_t *ev, uint64_t userdata, uint16_t err, uint8_t type, uint64_t nbytes,
                       uint16_t flags) {
    memset(ev, 0, 32);
    wasmc_wasi_put_u64(ev, userdata);
    wasmc_wasi_put_u16(ev + 8, err);
    ev[10] = type;
    wasmc_wasi_put_u64(ev + 16, nbytes);
    wasmc_wasi_put_u16(ev + 24, flags);
}

static int32_t wasi_poll_oneoff(wasmc_instance *inst, int32_t in, int32_t out, int32_t nsubs,
                                int32_t nevents_ptr) {
    wasmc_wasi *w = WASMC_WASI_STATE(inst);
    uint32_t n = (uint32_t)nsubs;
    if (n == 0) return WASI_EINVAL;
    const uint8_t *subs = wasmc_wasi_span(inst, in, (uint64_t)n * 48);
    uint8_t *evs = wasmc_wasi_span(inst, out, (uint64_t)n * 32);
    uint8_t *nev = wasmc_wasi_span(inst, nevents_ptr, 4);
    if (!subs || !evs || !nev) return WASI_EFAULT;

    /* Per subscription: deadline on CLOCK_MONOTONIC (clocks), pollfd index (fds), or an immediate
     * result (errors, always-ready files). */
    uint64_t *deadline = calloc(n, sizeof *deadline);
    int *pidx = calloc(n, sizeof *pidx);
    struct pollfd *pfds = calloc(n, sizeof *pfds);
    if (!deadline || !pidx || !pfds) {
        free(deadline), free(pidx), free(pfds);
        return WASI_ENOMEM;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t mono_now = wasi_ts_ns(&now);
    int npfds = 0;
    uint32_t count = 0;
    int have_clock = 0;
    uint64_t first_deadline = UINT64_MAX;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = subs + 48 * i;
        uint64_t ud = wasmc_wasi_get_u64(s);
        uint8_t tag = s[8];
        pidx[i] = -1;
        if (tag == WASI_EVENTTYPE_CLOCK) {
            clockid_t c;
            int32_t id = (int32_t)wasmc_wasi_get_u32(s + 16);
            uint64_t timeout = wasmc_wasi_get_u64(s + 24);
            uint16_t flags;
            memcpy(&flags, s + 40, 2);
            if (!wasi_clockid(id, &c)) {
                free(deadline), free(pidx), free(pfds);
                wasmc_wasi_guest_error("poll_oneoff", "invalid enum value Clockid");
            }
            uint64_t rel = timeout;
            if (flags & WASI_SUBCLOCK_ABSTIME) {
                struct timespec t;
                clock_gettime(c, &t);
                uint64_t cur = wasi_ts_ns(&t);
                rel = timeout > cur ? timeout - cur : 0;
            }
            deadline[i] = rel > UINT64_MAX - mono_now ? UINT64_MAX : mono_now + rel;
            if (deadline[i] < first_deadline) first_deadline = deadline[i];
            have_clock = 1;
        } else if (tag == WASI_EVENTTYPE_FD_READ || tag == WASI_EVENTTYPE_FD_WRITE) {
            wasmc_wasi_fd *e = wasmc_wasi_fd_get(w, (int32_t)wasmc_wasi_get_u32(s + 16));
            pidx[i] = -2;
            if (!e) {
                wasi_event(evs + 32 * count++, ud, WASI_EBADF, tag, 0, 0);
            } else if (e->filetype == WASI_FILETYPE_REGULAR_FILE ||
                       e->filetype == WASI_FILETYPE_DIRECTORY) {
                uint64_t nbytes = 0;
                struct stat st;
                if (tag == WASI_EVENTTYPE_FD_READ && e->filetype == WASI_FILETYPE_REGULAR_FILE &&
                    fstat(e->host, &st) == 0) {
                    off_t pos = lseek(e->host, 0, SEEK_CUR);
                    if (pos >= 0 && st.st_size > pos) nbytes = (uint64_t)(st.st_size - pos);
                }
                wasi_event(evs + 32 * count++, ud, 0, tag, nbytes, 0);
            } else {
                pidx[i] = npfds;
                pfds[npfds].fd = e->host;
                pfds[npfds].events = tag == WASI_EVENTTYPE_FD_READ ? POLLIN : POLLOUT;
                npfds++;
            }
        } else {
            free(deadline), free(pidx), free(pfds);
            wasmc_wasi_guest_error("poll_oneoff", "invalid enum value Eventtype");
        }
    }

    int32_t rc = WASI_ESUCCESS;
    for (;;) {
        struct timespec ts, *tsp = NULL;
        if (count > 0) {
            ts.tv_sec = 0, ts.tv_nsec = 0, tsp = &ts; /* only collect what is ready now */
        } else if (have_clock) {
            uint64_t left = first_deadline > mono_now ? first_deadline - mono_now : 0;
            ts.tv_sec = (time_t)(left / 1000000000ull), ts.tv_nsec = (long)(left % 1000000000ull);
            tsp = &ts;
        }
        int r = ppoll(pfds, (nfds_t)npfds, tsp, NULL);
        if (r < 0 && errno != EINTR) {
            rc = wasmc_wasi_errno(errno);
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        mono_now = wasi_ts_ns(&now);
        for (uint32_t i = 0; i < n && r > 0; i++) {
            if (pidx[i] < 0) continue;
            struct pollfd *p = &pfds[pidx[i]];
            if (!p->revents) continue;
            const uint8_t *s = subs + 48 * i;
            uint16_t err = 0, flags = 0;
            uint64_t nbytes = 0;
            if (p->revents & POLLNVAL) err = WASI_EBADF;
            if (p->revents & POLLHUP) flags = WASI_EVENT_FD_HANGUP;
            if (s[8] == WASI_EVENTTYPE_FD_READ && !err) {
                int avail = 0;
                if (ioctl(p->fd, FIONREAD, &avail) == 0 && avail > 0) nbytes = (uint64_t)avail;
            }
            wasi_event(evs + 32 * count++, wasmc_wasi_get_u64(s), err, s[8], nbytes, flags);
        }
        for (uint32_t i = 0; i < n; i++) {
            if (pidx[i] != -1 || deadline[i] > mono_now) continue;
            wasi_event(evs + 32 * count++, wasmc_wasi_get_u64(subs + 48 * i), 0,
                       WASI_EVENTTYPE_CLOCK, 0, 0);
            pidx[i] = -2; /* reported */
        }
        if (count > 0) break;
    }
    free(deadline), free(pidx), free(pfds);
    if (rc == WASI_ESUCCESS) wasmc_wasi_put_u32(nev, count);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Sockets: only sockets handed in (stdio or accepted from them); preview1 cannot create any.
 * ------------------------------------------------------------------------------------------- */
#define WASI_RIFLAGS_RECV_PEEK 1u
#define WASI_RIFLAGS_RECV_WAITALL 2u
#define WASI_ROFLAGS_RECV_DATA_TRUNCATED 1u

static int32_t wasi_sock_fd(wasmc_instance *inst, int32_t fd, wasmc_wasi_fd **out) {
    wasmc_wasi_fd *e = wasmc_wasi_fd_get(WASMC_WASI_STATE(inst), fd);
    struct stat st;
    if (!e) return WASI_EBADF;
    if (fstat(e->host, &st) != 0 || !S_ISSOCK(st.st_mode)) return WASI_ENOTSOCK;
    *out = e;
    return WASI_ESUCCESS;
}

static int32_t wasi_sock_accept(wasmc_instance *inst, int32_t fd, int32_t flags, int32_t fd_ptr) {
    wasmc_wasi_fd *e;
    int32_t rc = wasi_sock_fd(inst, fd, &e);
    if (rc) return rc;
    if ((uint32_t)flags & ~WASI_FDFLAGS_NONBLOCK) return WASI_EINVAL;
    uint8_t *p = wasmc_wasi_span(inst, fd_ptr, 4);
    if (!p) return WASI_EFAULT;
    int h = accept4(e->host, NULL, NULL, SOCK_CLOEXEC | (flags ? SOCK_NONBLOCK : 0));
    if (h < 0) return wasmc_wasi_errno(errno);
    int32_t nfd = wasmc_wasi_fd_add(WASMC_WASI_STATE(inst), WASI_KIND_FILE, h,
                                    WASI_FILETYPE_SOCKET_STREAM, WASI_RIGHTS_ALL);
    if (nfd < 0) return WASI_EMFILE;
    wasmc_wasi_put_u32(p, (uint32_t)nfd);
    return WASI_ESUCCESS;
}

static int32_t wasi_sock_recv(wasmc_instance *inst, int32_t fd, int32_t iovs, int32_t niovs,
                              int32_t riflags, int32_t len_ptr, int32_t oflags_ptr) {
    wasmc_wasi_fd *e;
    int32_t rc = wasi_sock_fd(inst, fd, &e);
    if (rc) return rc;
    struct iovec iov[WASMC_WASI_IOV_MAX];
    int cnt = 0;
    uint8_t *lp = wasmc_wasi_span(inst, len_ptr, 4), *fp = wasmc_wasi_span(inst, oflags_ptr, 2);
    if (!lp || !fp) return WASI_EFAULT;
    if ((rc = wasmc_wasi_iovecs(inst, iovs, niovs, iov, &cnt))) return rc;
    if ((uint32_t)riflags & ~(WASI_RIFLAGS_RECV_PEEK | WASI_RIFLAGS_RECV_WAITALL)) return WASI_EINVAL;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
    int hf = (riflags & WASI_RIFLAGS_RECV_PEEK ? MSG_PEEK : 0) |
             (riflags & WASI_RIFLAGS_RECV_WAITALL ? MSG_WAITALL : 0);
    ssize_t r;
    do r = recvmsg(e->host, &msg, hf);
    while (r < 0 && errno == EINTR);
    if (r < 0) return wasmc_wasi_errno(errno);
    wasmc_wasi_put_u32(lp, (uint32_t)r);
    wasmc_wasi_put_u16(fp, msg.msg_flags & MSG_TRUNC ? WASI_ROFLAGS_RECV_DATA_TRUNCATED : 0);
    return WASI_ESUCCESS;
}

static int32_t wasi_sock_send(wasmc_instance *inst, int32_t fd, int32_t iovs, int32_t niovs,
                              int32_t siflags, int32_t len_ptr) {
    wasmc_wasi_fd *e;
    int32_t rc = wasi_sock_fd(inst, fd, &e);
    if (rc) return rc;
    struct iovec iov[WASMC_WASI_IOV_MAX];
    int cnt = 0;
    uint8_t *lp = wasmc_wasi_span(inst, len_ptr, 4);
    if (!lp) return WASI_EFAULT;
    if ((rc = wasmc_wasi_iovecs(inst, iovs, niovs, iov, &cnt))) return rc;
    if (siflags != 0) return WASI_EINVAL; /* preview1 defines no send flags */
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
    ssize_t r;
    do r = sendmsg(e->host, &msg, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r < 0) return wasmc_wasi_errno(errno);
    wasmc_wasi_put_u32(lp, (uint32_t)r);
    return WASI_ESUCCESS;
}

static int32_t wasi_sock_shutdown(wasmc_instance *inst, int32_t fd, int32_t how) {
    wasmc_wasi_fd *e;
    int32_t rc = wasi_sock_fd(inst, fd, &e);
    if (rc) return rc;
    static const int hows[] = {-1, SHUT_RD, SHUT_WR, SHUT_RDWR};
    if (how < 1 || how > 3) return WASI_EINVAL;
    return shutdown(e->host, hows[how]) == 0 ? WASI_ESUCCESS : wasmc_wasi_errno(errno);
}

/* ---------------------------------------------------------------------------------------------
 * Lookup
 * ------------------------------------------------------------------------------------------- */
static const wasmc_wasi_export wasi_core_exports[] = {
    {"args_get", "ii:i", (void *)wasi_args_get},
    {"args_sizes_get", "ii:i", (void *)wasi_args_sizes_get},
    {"environ_get", "ii:i", (void *)wasi_environ_get},
    {"environ_sizes_get", "ii:i", (void *)wasi_environ_sizes_get},
    {"clock_res_get", "ii:i", (void *)wasi_clock_res_get},
    {"clock_time_get", "ili:i", (void *)wasi_clock_time_get},
    {"random_get", "ii:i", (void *)wasi_random_get},
    {"sched_yield", ":i", (void *)wasi_sched_yield},
    {"proc_exit", "i:", (void *)wasi_proc_exit},
    {"proc_raise", "i:i", (void *)wasi_proc_raise},
    {"poll_oneoff", "iiii:i", (void *)wasi_poll_oneoff},
    {"sock_accept", "iii:i", (void *)wasi_sock_accept},
    {"sock_recv", "iiiiii:i", (void *)wasi_sock_recv},
    {"sock_send", "iiiii:i", (void *)wasi_sock_send},
    {"sock_shutdown", "ii:i", (void *)wasi_sock_shutdown},
    {NULL, NULL, NULL},
};

void *wasmc_wasi_lookup(const char *name, const char **sig) {
    const wasmc_wasi_export *tables[] = {wasi_core_exports, wasmc_wasi_fs_exports};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const wasmc_wasi_export *e = tables[t]; e->name; e++)
            if (strcmp(e->name, name) == 0) {
                if (sig) *sig = e->sig;
                return e->fn;
            }
    return NULL;
}
