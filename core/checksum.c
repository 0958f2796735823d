/* qh__checksum64: four independent multiply-rotate lanes over 32-byte blocks (so the
 * multiplications of one block overlap instead of waiting on each other: a few GB/s per
 * core, well above what a file system delivers), then the lanes, the tail and the length
 * are folded together and the result is mixed until every input bit affects every output
 * bit. */
#include <string.h>

#include "core/checksum.h"

/* Odd multipliers with well-spread bits: the golden ratio and two arbitrary primes. */
#define S_K1 0x9e3779b97f4a7c15ULL
#define S_K2 0xd6e8feb86659fd93ULL
#define S_K3 0xa0761d6478bd642fULL

static inline uint64_t s_rotl(uint64_t x, unsigned r)
{
    return x << r | x >> (64 - r);
}

/* A little-endian 64-bit word at p (any alignment). */
static inline uint64_t s_word(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
#else
    uint64_t w = 0;
    for (unsigned i = 8; i-- > 0;)
        w = w << 8 | p[i];
    return w;
#endif
}

static inline uint64_t s_lane(uint64_t acc, uint64_t w)
{
    return s_rotl(acc + w * S_K2, 29) * S_K1;
}

/* Spreads every bit of x over the whole word. */
static inline uint64_t s_mix(uint64_t x)
{
    x ^= x >> 31;
    x *= S_K3;
    x ^= x >> 29;
    x *= S_K2;
    x ^= x >> 32;
    return x;
}

uint64_t qh__checksum64(const void *data, size_t bytes, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t v[4] = {seed + S_K1, seed ^ S_K2, seed - S_K3, ~seed};
    size_t i = 0;
    for (; i + 32 <= bytes; i += 32) {
        v[0] = s_lane(v[0], s_word(p + i));
        v[1] = s_lane(v[1], s_word(p + i + 8));
        v[2] = s_lane(v[2], s_word(p + i + 16));
        v[3] = s_lane(v[3], s_word(p + i + 24));
    }
    uint64_t h = s_rotl(v[0], 1) + s_rotl(v[1], 7) + s_rotl(v[2], 13) + s_rotl(v[3], 19);
    for (; i + 8 <= bytes; i += 8)
        h = s_lane(h ^ s_word(p + i), S_K3);
    if (i < bytes) {
        unsigned char tail[8] = {0};
        memcpy(tail, p + i, bytes - i);
        h = s_lane(h ^ s_word(tail), S_K1);
    }
    return s_mix(h ^ (uint64_t)bytes * S_K3);
}
