/* check.h — tiny helpers shared by the WASI test programs.
 *
 * Every program prints one line per operation: the call as written and either its result or the
 * errno text, so a run under wasmc and one under wasmtime can be compared line by line.  Nothing
 * printed may depend on the host (inode numbers, times, addresses).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Print `expr` and its value, or errno's text if it returned < 0. */
#define TRY(expr) try_report(#expr, (long long)(expr))
static inline long long try_report(const char *what, long long r) {
    if (r < 0)
        printf("%s = -1 (%s)\n", what, strerror(errno));
    else
        printf("%s = %lld\n", what, r);
    errno = 0;
    return r;
}

/* Print a pointer-returning call as ok / errno text. */
#define TRYP(expr) tryp_report(#expr, (void *)(expr))
static inline void *tryp_report(const char *what, void *p) {
    if (!p)
        printf("%s = NULL (%s)\n", what, strerror(errno));
    else
        printf("%s = ok\n", what);
    errno = 0;
    return p;
}

/* Write a whole string to a new file (truncating); prints nothing. */
static inline int put_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* Print a file's contents (or the error) on one line. */
static inline void show_file(const char *path) {
    char buf[256];
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("%s: %s\n", path, strerror(errno));
        errno = 0;
        return;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    printf("%s: [%s]\n", path, buf);
}
