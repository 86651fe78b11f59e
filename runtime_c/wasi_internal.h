/* wasi_internal.h — private to the WASI implementation (wasi.c, wasi_fs.c); not part of the ABI.
 *
 * Strategy.  The WASI state is a table of guest fds, each naming one host fd.  Guest-visible numbers,
 * struct layouts and errno values are those of wasi_snapshot_preview1 (witx); behaviour follows
 * `wasmtime run` wherever the spec leaves a choice, so programs print the same under both.
 *
 * SANDBOX-CRITICAL: every guest pointer goes through wasmc_wasi_span (64-bit bounds arithmetic), and
 * every guest path through wasi_fs.c's beneath-resolution.  Nothing else may touch guest memory or
 * host paths.
 */
#ifndef WASMC_WASI_INTERNAL_H
#define WASMC_WASI_INTERNAL_H

#include <string.h>
#include <sys/stat.h>

#include "wasmc_rt.h"

/* errno (witx $errno), the ones we produce. */
enum {
    WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EADDRINUSE = 3, WASI_EADDRNOTAVAIL = 4,
    WASI_EAFNOSUPPORT = 5, WASI_EAGAIN = 6, WASI_EALREADY = 7, WASI_EBADF = 8, WASI_EBADMSG = 9,
    WASI_EBUSY = 10, WASI_ECANCELED = 11, WASI_ECHILD = 12, WASI_ECONNABORTED = 13,
    WASI_ECONNREFUSED = 14, WASI_ECONNRESET = 15, WASI_EDEADLK = 16, WASI_EDESTADDRREQ = 17,
    WASI_EDOM = 18, WASI_EDQUOT = 19, WASI_EEXIST = 20, WASI_EFAULT = 21, WASI_EFBIG = 22,
    WASI_EHOSTUNREACH = 23, WASI_EIDRM = 24, WASI_EILSEQ = 25, WASI_EINPROGRESS = 26,
    WASI_EINTR = 27, WASI_EINVAL = 28, WASI_EIO = 29, WASI_EISCONN = 30, WASI_EISDIR = 31,
    WASI_ELOOP = 32, WASI_EMFILE = 33, WASI_EMLINK = 34, WASI_EMSGSIZE = 35, WASI_EMULTIHOP = 36,
    WASI_ENAMETOOLONG = 37, WASI_ENETDOWN = 38, WASI_ENETRESET = 39, WASI_ENETUNREACH = 40,
    WASI_ENFILE = 41, WASI_ENOBUFS = 42, WASI_ENODEV = 43, WASI_ENOENT = 44, WASI_ENOEXEC = 45,
    WASI_ENOLCK = 46, WASI_ENOLINK = 47, WASI_ENOMEM = 48, WASI_ENOMSG = 49, WASI_ENOPROTOOPT = 50,
    WASI_ENOSPC = 51, WASI_ENOSYS = 52, WASI_ENOTCONN = 53, WASI_ENOTDIR = 54, WASI_ENOTEMPTY = 55,
    WASI_ENOTRECOVERABLE = 56, WASI_ENOTSOCK = 57, WASI_ENOTSUP = 58, WASI_ENOTTY = 59,
    WASI_ENXIO = 60, WASI_EOVERFLOW = 61, WASI_EOWNERDEAD = 62, WASI_EPERM = 63, WASI_EPIPE = 64,
    WASI_EPROTO = 65, WASI_EPROTONOSUPPORT = 66, WASI_EPROTOTYPE = 67, WASI_ERANGE = 68,
    WASI_EROFS = 69, WASI_ESPIPE = 70, WASI_ESRCH = 71, WASI_ESTALE = 72, WASI_ETIMEDOUT = 73,
    WASI_ETXTBSY = 74, WASI_EXDEV = 75, WASI_ENOTCAPABLE = 76,
};

/* $filetype */
enum {
    WASI_FILETYPE_UNKNOWN = 0, WASI_FILETYPE_BLOCK_DEVICE = 1, WASI_FILETYPE_CHARACTER_DEVICE = 2,
    WASI_FILETYPE_DIRECTORY = 3, WASI_FILETYPE_REGULAR_FILE = 4, WASI_FILETYPE_SOCKET_DGRAM = 5,
    WASI_FILETYPE_SOCKET_STREAM = 6, WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

/* $fdflags, $oflags, $lookupflags, $fstflags */
#define WASI_FDFLAGS_APPEND 1u
#define WASI_FDFLAGS_DSYNC 2u
#define WASI_FDFLAGS_NONBLOCK 4u
#define WASI_FDFLAGS_RSYNC 8u
#define WASI_FDFLAGS_SYNC 16u
#define WASI_OFLAGS_CREAT 1u
#define WASI_OFLAGS_DIRECTORY 2u
#define WASI_OFLAGS_EXCL 4u
#define WASI_OFLAGS_TRUNC 8u
#define WASI_LOOKUP_SYMLINK_FOLLOW 1u
#define WASI_FSTFLAGS_ATIM 1u
#define WASI_FSTFLAGS_ATIM_NOW 2u
#define WASI_FSTFLAGS_MTIM 4u
#define WASI_FSTFLAGS_MTIM_NOW 8u

/* $rights bits */
#define WASI_RIGHT_FD_DATASYNC (1ull << 0)
#define WASI_RIGHT_FD_READ (1ull << 1)
#define WASI_RIGHT_FD_SEEK (1ull << 2)
#define WASI_RIGHT_FD_WRITE (1ull << 6)
#define WASI_RIGHT_FD_READDIR (1ull << 14)
#define WASI_RIGHT_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE (1ull << 22)
#define WASI_RIGHTS_ALL ((1ull << 30) - 1)
/* What wasmtime reports for a preopened directory (many userlands test these bits). */
#define WASI_RIGHTS_PREOPEN_BASE 0x07b7fe00ull
#define WASI_RIGHTS_PREOPEN_INHERITING 0x0ff7ffffull

/* How a guest fd behaves: stdio are streams (no seek, fixed rights), like wasmtime's. */
enum { WASI_KIND_FREE = 0, WASI_KIND_STDIO, WASI_KIND_FILE, WASI_KIND_DIR };

typedef struct wasmc_wasi_fd {
    int kind;
    int reusable;        /* free slot that fd_close released: allocated again before new numbers */
    int host;            /* host fd */
    uint8_t filetype;    /* WASI filetype at open */
    uint64_t rights;     /* reported base (= inheriting) rights */
    char *preopen_name;  /* guest name of a grant, else NULL */
    void *dir;           /* DIR* for fd_readdir, opened lazily on a private fd */
    uint64_t dir_cookie; /* cookie of the next entry `dir` would return */
} wasmc_wasi_fd;

typedef struct wasmc_wasi {
    int argc;
    char **argv;
    int envc;
    char **envp;
    uint32_t nfds;
    wasmc_wasi_fd *fds;
    int use_openat2; /* 1 yes, 0 no (kernel too old or WASMC_WASI_NO_OPENAT2 set) */
} wasmc_wasi;

/* SANDBOX-CRITICAL: the host address of guest range [ptr, ptr+len) of memory 0, or NULL if any of
 * it lies outside the memory's current size.  64-bit arithmetic: ptr and len are both < 2^32. */
static inline uint8_t *wasmc_wasi_span(wasmc_instance *inst, int32_t ptr, uint64_t len) {
    if (!inst->memories || !inst->memories[0]) return NULL;
    wasmc_memory *m = inst->memories[0];
    if ((uint64_t)(uint32_t)ptr + len > m->bytes) return NULL;
    return m->base + (uint32_t)ptr;
}

static inline void wasmc_wasi_put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void wasmc_wasi_put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wasmc_wasi_put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t wasmc_wasi_get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t wasmc_wasi_get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

#define WASMC_WASI_STATE(inst) ((wasmc_wasi *)(inst)->host_data)

int32_t wasmc_wasi_errno(int host_errno);
/* An argument no witx type admits (an enum value out of range, undefined flag bits): wasmtime
 * refuses to decode it and fails the call with a host error rather than an errno, so we do too —
 * message on stderr, then WASMC_TRAP_HOST, which main.c turns into exit status 1 (as `wasmtime
 * run` exits for host errors, unlike traps' 134). */
_Noreturn void wasmc_wasi_guest_error(const char *func, const char *what);
/* The open fd entry for guest fd `fd`, or NULL (-> EBADF). */
wasmc_wasi_fd *wasmc_wasi_fd_get(wasmc_wasi *w, int32_t fd);
/* Install host fd in the lowest free guest slot; returns the guest fd or -1 (host fd then closed). */
int32_t wasmc_wasi_fd_add(wasmc_wasi *w, int kind, int host, uint8_t filetype, uint64_t rights);
void wasmc_wasi_fd_release(wasmc_wasi_fd *e); /* close host resources and mark free */
uint8_t wasmc_wasi_filetype(mode_t mode);

/* Gather guest iovecs (iovec/ciovec: {u32 buf, u32 len}) into host iovecs; EFAULT if any is out of
 * range.  *n is in: guest count, out: host count (capped at IOV_MAX; short I/O is allowed). */
struct iovec;
int32_t wasmc_wasi_iovecs(wasmc_instance *inst, int32_t iovs, int32_t n, struct iovec *out, int *count);
#define WASMC_WASI_IOV_MAX 1024

/* The host function table; wasi_fs.c supplies the filesystem part. */
typedef struct wasmc_wasi_export {
    const char *name;
    const char *sig;
    void *fn;
} wasmc_wasi_export;
extern const wasmc_wasi_export wasmc_wasi_fs_exports[];

#endif /* WASMC_WASI_INTERNAL_H */
