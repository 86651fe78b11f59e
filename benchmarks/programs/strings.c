/* String processing: format records with snprintf, join them with memcpy/strlen into a text
 * buffer, then split it back into lines and fields (strchr), search it (strstr), parse numbers
 * (strtol) and reverse words in place.
 * bench: test=2000 interp=1500
 */
#define BENCH_NAME "strings"
#define BENCH_DEFAULT_N 1200000
#include "bench.h"

static const char *const WORDS[] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
};

static void reverse(char *s, size_t len) {
    for (size_t i = 0, j = len ? len - 1 : 0; i < j; i++, j--) {
        char t = s[i]; s[i] = s[j]; s[j] = t;
    }
}

static uint64_t bench_run(int n) {
    size_t cap = (size_t)n * 64 + 1;
    char *text = malloc(cap);
    size_t used = 0;
    char line[128];
    for (int i = 0; i < n; i++) {
        uint64_t r = bench_rand();
        int len = snprintf(line, sizeof line, "%d,%s-%s,%x,%05u;\n", i, WORDS[r & 15],
                           WORDS[(r >> 4) & 15], (unsigned)(r >> 8) & 0xfffff,
                           (unsigned)(r >> 32) % 100000u);
        if (used + (size_t)len + 1 > cap)
            break;
        memcpy(text + used, line, (size_t)len);
        used += (size_t)len;
    }
    text[used] = 0;
    uint64_t h = bench_mix(0, strlen(text));

    /* Split into lines and comma-separated fields; parse the numeric ones. */
    uint64_t sum = 0, fields = 0;
    char *p = text;
    while (*p) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        memcpy(line, p, len);
        line[len] = 0;
        char *f = line;
        for (;;) {
            char *comma = strchr(f, ',');
            if (comma)
                *comma = 0;
            fields++;
            if (f[0] >= '0' && f[0] <= '9')
                sum += (uint64_t)strtol(f, NULL, 16);
            else
                reverse(f, strlen(f));
            sum += (uint8_t)f[0];
            if (!comma)
                break;
            f = comma + 1;
        }
        p = nl ? nl + 1 : p + len;
    }
    h = bench_mix(h, sum);
    h = bench_mix(h, fields);

    /* Count occurrences of a few words through the whole text. */
    for (int w = 0; w < 16; w += 3) {
        uint64_t count = 0;
        for (char *q = text; (q = strstr(q, WORDS[w])) != NULL; q += 1)
            count++;
        h = bench_mix(h, count);
    }
    free(text);
    return h;
}
