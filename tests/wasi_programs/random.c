/* random: getentropy fills buffers with bytes that differ between calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#include "check.h"

int main(void) {
    unsigned char a[256], b[256];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    TRY(getentropy(a, sizeof a));
    TRY(getentropy(b, sizeof b));
    TRY(getentropy(a, 257)); /* POSIX: at most 256 bytes */
    int zeros = 0;
    for (size_t i = 0; i < sizeof a; i++) zeros += a[i] == 0;
    printf("differ: %d, mostly non-zero: %d\n", memcmp(a, b, sizeof a) != 0, zeros < 32);
    static unsigned char big[1 << 20];
    printf("random_get 1 MiB: %d\n", __wasi_random_get(big, sizeof big));
    printf("random_get 0 bytes: %d\n", __wasi_random_get(big, 0));
    unsigned seen = 0;
    for (int i = 0; i < 64; i++) seen |= 1u << (arc4random_uniform(32));
    printf("arc4random_uniform covers many values: %d\n", __builtin_popcount(seen) > 20);
    return 0;
}
