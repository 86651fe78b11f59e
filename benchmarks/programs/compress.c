/* Compression: an LZ77 compressor with a hash-chain match finder (window 64 KiB, matches
 * 4..258 bytes, byte-oriented tokens), and the decompressor; n KiB of generated text-like data
 * is compressed, decompressed and compared.
 * bench: test=64 interp=32
 */
#define BENCH_NAME "compress"
#define BENCH_DEFAULT_N 10240
#include "bench.h"

#define WINDOW (1 << 16)
#define HASH_BITS 15
#define MIN_MATCH 4
#define MAX_MATCH 258
#define MAX_CHAIN 32

static inline uint32_t hash4(const uint8_t *p) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

/* Token format: 0 lll_llll literal run of 1..128 bytes follows; 1 mmm_mmmm match of length
 * 4 + m (m < 127) or 4 + 127 + next byte, then a 16-bit little-endian distance. */
static size_t compress(const uint8_t *in, size_t n, uint8_t *out) {
    int32_t *head = malloc(sizeof(int32_t) << HASH_BITS);
    int32_t *prev = malloc(sizeof(int32_t) * WINDOW);
    for (int i = 0; i < 1 << HASH_BITS; i++)
        head[i] = -1;
    size_t o = 0, lit_start = 0, i = 0;
    while (i < n) {
        size_t best_len = 0, best_dist = 0;
        if (i + MIN_MATCH <= n) {
            uint32_t hv = hash4(in + i);
            int32_t cand = head[hv];
            int chain = MAX_CHAIN;
            size_t limit = n - i < MAX_MATCH ? n - i : MAX_MATCH;
            while (cand >= 0 && i - (size_t)cand < WINDOW && chain-- > 0) {
                const uint8_t *a = in + cand, *b = in + i;
                size_t len = 0;
                while (len < limit && a[len] == b[len])
                    len++;
                if (len > best_len) {
                    best_len = len;
                    best_dist = i - (size_t)cand;
                    if (len == limit)
                        break;
                }
                cand = prev[cand & (WINDOW - 1)];
            }
            prev[i & (WINDOW - 1)] = head[hv];
            head[hv] = (int32_t)i;
        }
        if (best_len >= MIN_MATCH) {
            while (lit_start < i) {                      /* flush pending literals */
                size_t run = i - lit_start < 128 ? i - lit_start : 128;
                out[o++] = (uint8_t)(run - 1);
                memcpy(out + o, in + lit_start, run);
                o += run;
                lit_start += run;
            }
            size_t m = best_len - MIN_MATCH;
            if (m < 127) {
                out[o++] = (uint8_t)(0x80 | m);
            } else {
                out[o++] = 0xff;
                out[o++] = (uint8_t)(m - 127);
            }
            out[o++] = (uint8_t)best_dist;
            out[o++] = (uint8_t)(best_dist >> 8);
            /* Insert the skipped positions into the hash chains. */
            for (size_t k = i + 1; k < i + best_len && k + MIN_MATCH <= n; k++) {
                uint32_t hv = hash4(in + k);
                prev[k & (WINDOW - 1)] = head[hv];
                head[hv] = (int32_t)k;
            }
            i += best_len;
            lit_start = i;
        } else {
            i++;
        }
    }
    while (lit_start < n) {
        size_t run = n - lit_start < 128 ? n - lit_start : 128;
        out[o++] = (uint8_t)(run - 1);
        memcpy(out + o, in + lit_start, run);
        o += run;
        lit_start += run;
    }
    free(head);
    free(prev);
    return o;
}

static size_t decompress(const uint8_t *in, size_t n, uint8_t *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t t = in[i++];
        if (t < 0x80) {
            memcpy(out + o, in + i, (size_t)t + 1);
            o += (size_t)t + 1;
            i += (size_t)t + 1;
        } else {
            size_t len = t == 0xff ? 4 + 127 + in[i++] : 4 + (size_t)(t & 0x7f);
            size_t dist = (size_t)in[i] | (size_t)in[i + 1] << 8;
            i += 2;
            for (size_t k = 0; k < len; k++, o++)   /* overlapping copies: byte by byte */
                out[o] = out[o - dist];
        }
    }
    return o;
}

static uint64_t bench_run(int n) {
    static const char *const words[] = {
        "the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "and ",
        "compiler ", "module ", "function ", "memory ", "table ", "stack ", "value ",
    };
    size_t size = (size_t)n * 1024;
    uint8_t *data = malloc(size);
    size_t pos = 0;
    while (pos < size) {
        uint64_t r = bench_rand();
        if ((r & 63) == 0) {                             /* occasional noise */
            data[pos++] = (uint8_t)(r >> 8);
            continue;
        }
        const char *w = words[(r >> 8) % 16];
        for (size_t k = 0; w[k] && pos < size; k++)
            data[pos++] = (uint8_t)w[k];
    }
    uint8_t *packed = malloc(size + size / 64 + 16);
    uint8_t *unpacked = malloc(size);
    size_t csize = compress(data, size, packed);
    size_t dsize = decompress(packed, csize, unpacked);
    if (dsize != size || memcmp(data, unpacked, size) != 0) {
        fprintf(stderr, "compress: round trip failed (%zu -> %zu -> %zu)\n", size, csize, dsize);
        exit(1);
    }
    uint64_t h = bench_mix(0, csize);
    for (size_t k = 0; k < csize; k += 61)
        h = bench_mix(h, packed[k]);
    free(data);
    free(packed);
    free(unpacked);
    return h;
}
