/* Internal: a fast 64-bit checksum of byte ranges, for detecting damaged files (state
 * checkpoints store one per fixed-size chunk of amplitudes). Not cryptographic: it catches
 * random corruption (flipped bits, overwritten or zeroed bytes, shifted data), not a
 * deliberate forgery. */
#ifndef QH_CORE_CHECKSUM_H
#define QH_CORE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* The checksum of the `bytes` bytes at data, started from seed (different seeds give
 * unrelated checksums). The bytes are read as little-endian 64-bit words, so the value is
 * the same on every machine for the same bytes. data may be NULL when bytes is 0. Local,
 * thread-safe. */
uint64_t qh__checksum64(const void *data, size_t bytes, uint64_t seed);

#endif
