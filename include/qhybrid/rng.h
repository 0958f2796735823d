/* qhybrid — the random number generator behind shots and measurements: xoshiro256**,
 * seeded through splitmix64, so that a seed gives the same stream on every machine. */
#ifndef QHYBRID_RNG_H
#define QHYBRID_RNG_H

#include <stdint.h>

#include "qhybrid/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qh_rng {
    uint64_t s[4]; /* generator state; never all zero */
} qh_rng;

/* Seeds r from a 64-bit seed. */
QH_EXPORT void qh_rng_seed(qh_rng *r, uint64_t seed);

/* The next 64 random bits. */
QH_EXPORT uint64_t qh_rng_next(qh_rng *r);

/* A uniform double in [0, 1) with 53 random bits. */
QH_EXPORT double qh_rng_uniform(qh_rng *r);

#ifdef __cplusplus
}
#endif

#endif
