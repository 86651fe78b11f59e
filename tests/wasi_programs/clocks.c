/* clocks: realtime is plausible, monotonic never goes back, sleeps last at least as asked. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec a, b, res;
    TRY(clock_getres(CLOCK_REALTIME, &res));
    printf("realtime res positive: %d\n", ns(res) > 0 && ns(res) <= 1000000);
    TRY(clock_getres(CLOCK_MONOTONIC, &res));
    printf("monotonic res positive: %d\n", ns(res) > 0 && ns(res) <= 1000000);
    TRY(clock_gettime(CLOCK_REALTIME, &a));
    printf("realtime after 2020: %d\n", a.tv_sec > 1577836800);
    time_t t = time(NULL);
    printf("time() close to realtime: %d\n", t - a.tv_sec >= 0 && t - a.tv_sec < 5);
    struct timeval tv;
    TRY(gettimeofday(&tv, NULL));
    printf("gettimeofday close: %d\n", tv.tv_sec - a.tv_sec >= 0 && tv.tv_sec - a.tv_sec < 5);
    TRY(clock_gettime(CLOCK_MONOTONIC, &a));
    int monotone = 1;
    for (int i = 0; i < 1000; i++) {
        TRY(clock_gettime(CLOCK_MONOTONIC, &b)) >= 0 ? (void)0 : (void)0;
        if (ns(b) < ns(a)) monotone = 0;
        a = b;
    }
    printf("monotonic never decreases: %d\n", monotone);
    TRY(clock_gettime(CLOCK_MONOTONIC, &a));
    struct timespec req = {0, 30 * 1000000};
    TRY(nanosleep(&req, NULL));
    TRY(clock_gettime(CLOCK_MONOTONIC, &b));
    printf("nanosleep(30ms) slept >= 30ms: %d, < 2s: %d\n", ns(b) - ns(a) >= 30000000,
           ns(b) - ns(a) < 2000000000);
    TRY(clock_gettime(CLOCK_MONOTONIC, &a));
    TRY(usleep(20000));
    TRY(clock_gettime(CLOCK_MONOTONIC, &b));
    printf("usleep(20ms) slept >= 20ms: %d\n", ns(b) - ns(a) >= 20000000);
    struct tm tm;
    time_t fixed = 1700000000;
    gmtime_r(&fixed, &tm);
    char s[64];
    strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S %a", &tm);
    printf("gmtime: %s\n", s);
    return 0;
}
