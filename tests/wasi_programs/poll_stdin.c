/* poll_stdin: poll on stdin and a file, clock-only polls, then read all of stdin. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

int main(void) {
    struct pollfd p = {.fd = 0, .events = POLLIN};
    int r = TRY(poll(&p, 1, 5000));
    printf("stdin readable: %d\n", r == 1 && (p.revents & POLLIN) != 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    TRY(poll(NULL, 0, 25)); /* a pure timeout */
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long el = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("poll timeout waited >= 25ms: %d\n", el >= 25000000);
    int fd = TRY(open("/sandbox/hello.txt", O_RDONLY));
    /* one at a time: wasmtime reads files on a worker thread, so which of several ready
     * descriptors it reports first is a race */
    struct pollfd q = {.fd = fd, .events = POLLIN};
    r = TRY(poll(&q, 1, 1000));
    printf("file readable: %d\n", (q.revents & POLLIN) != 0);
    q = (struct pollfd){.fd = 1, .events = POLLOUT};
    r = TRY(poll(&q, 1, 1000));
    printf("stdout writable: %d\n", (q.revents & POLLOUT) != 0);
    TRY(close(fd));
    char buf[4096];
    long total = 0, lines = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
        total += n;
    }
    printf("stdin: %ld bytes, %ld lines, last read %zd\n", total, lines, n);
    return 0;
}
