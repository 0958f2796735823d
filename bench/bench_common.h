/* What the benchmarks in bench/ share: a monotonic clock, the reference "pass" over a state
 * vector that every kernel and circuit time is divided by, strict parsing of numeric
 * command-line arguments and the start of a JSON result line.
 *
 * The pass is the cheapest thing a gate can possibly do to a state: read every amplitude
 * once and write it back (an in-place scale). A kernel at ratio 1.0 to it is at the memory
 * floor. It is compiled for the widest vector unit the CPU has (function multi-versioning),
 * so that it is not the scalar code that limits it, and splits the buffer into one
 * contiguous range per OpenMP thread as the kernels do. Not part of the library. */
#ifndef QH_BENCH_COMMON_H
#define QH_BENCH_COMMON_H

#include <complex.h>
#include <stdint.h>
#include <stdio.h>

/* Seconds on a monotonic clock. */
double bench_now(void);

/* Multiplies the `len` amplitudes at a by the real factor s, in place, with all OpenMP
 * threads in use; returns the wall time it took. */
double bench_pass(double complex *a, uint64_t len, double s);

/* The factor passes multiply by: -1, read from a volatile so that the compiler cannot
 * drop the multiplication, and exact, so that repeated passes leave the state as it was. */
double bench_pass_factor(void);

/* Parses a whole decimal string into [lo, hi]; returns 0 on success, -1 otherwise. */
int bench_parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out);

/* Prints the common start of a result line to stdout:
 * {"bench": "<bench>", "metric": "<metric>", "value": <value>, "unit": "<unit>"
 * (no closing brace: the caller adds its own fields and then bench_json_end()). */
void bench_json_begin(const char *bench, const char *metric, double value, const char *unit);

/* Adds `, "key": value` to the current line (null when value is not finite). */
void bench_json_num(const char *key, double value);

/* Adds `, "key": value` for an integer. */
void bench_json_int(const char *key, uint64_t value);

/* Adds `, "key": "value"`; the value must need no escaping (the callers pass names made of
 * letters, digits and punctuation they chose). */
void bench_json_str(const char *key, const char *value);

/* Ends the line begun by bench_json_begin and flushes it. */
void bench_json_end(void);

#endif
