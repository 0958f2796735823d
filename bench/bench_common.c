/* Helpers shared by the benchmarks: clock, reference pass, argument parsing, JSON lines.
 * See bench_common.h. */
#include "bench/bench_common.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The loop of one thread, compiled for each instruction set and chosen when the program is
 * loaded: the library's kernels use AVX-512 or AVX2, and a reference limited to the baseline
 * SSE2 would be slower than what it is meant to bound. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
s_scale(double *restrict x, size_t len, double s)
{
    for (size_t i = 0; i < len; i++)
        x[i] *= s;
}

double bench_pass(double complex *a, uint64_t len, double s)
{
    /* A complex double has the layout of two doubles (C17 6.2.5p13). */
    double *x = (double *)a;
    const uint64_t total = 2 * len;
    double t0 = bench_now();
#pragma omp parallel
    {
        /* One contiguous range per thread, cut at 64-byte boundaries, as the kernels cut. */
        uint64_t nt = (uint64_t)omp_get_num_threads(), t = (uint64_t)omp_get_thread_num();
        uint64_t lines = (total + 7) / 8;
        uint64_t beg = lines * t / nt * 8, end = lines * (t + 1) / nt * 8;
        if (end > total)
            end = total;
        if (beg < end)
            s_scale(x + beg, (size_t)(end - beg), s);
    }
    return bench_now() - t0;
}

double bench_pass_factor(void)
{
    static volatile double factor = -1.0;
    return factor;
}

int bench_parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* JSON has no NaN or infinity: those print as null. */
static void s_number(double v)
{
    if (isfinite(v))
        printf("%.9g", v);
    else
        fputs("null", stdout);
}

void bench_json_begin(const char *bench, const char *metric, double value, const char *unit)
{
    printf("{\"bench\": \"%s\", \"metric\": \"%s\", \"value\": ", bench, metric);
    s_number(value);
    printf(", \"unit\": \"%s\"", unit);
}

void bench_json_num(const char *key, double value)
{
    printf(", \"%s\": ", key);
    s_number(value);
}

void bench_json_int(const char *key, uint64_t value)
{
    printf(", \"%s\": %llu", key, (unsigned long long)value);
}

void bench_json_str(const char *key, const char *value)
{
    printf(", \"%s\": \"%s\"", key, value);
}

void bench_json_end(void)
{
    fputs("}\n", stdout);
    fflush(stdout);
}
