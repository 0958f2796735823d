/* The diagonal-run kernels (diagrows.h), written on real and imaginary parts so that the
 * compiler vectorises them for the instruction set this copy is compiled for (one of the
 * QH_ISA_* macros; CMakeLists.txt compiles the file once per instruction set). A row is first
 * scaled by its factor into a small buffer that stays in L1, then multiplied into the
 * amplitudes: two complex products per amplitude, all in registers.
 *
 * The single-precision form (float complex amplitudes) forms the phase the same way in
 * double, from the double tables, and rounds it to float as it writes the buffer: one
 * rounding of the phase (relative 6e-8, below what a float amplitude holds anyway), and the
 * multiply into the amplitudes is then all float, twice the amplitudes per vector and no
 * conversion in the loop that touches the block. */
#include <stddef.h>

#include "mpi_sim/kernels/diagrows.h"

#if defined(QH_ISA_avx512)
#define S_NAME        qh__diagrows_avx512
#define S_NAME_SINGLE qh__diagrows_avx512_single
#elif defined(QH_ISA_avx2)
#define S_NAME        qh__diagrows_avx2
#define S_NAME_SINGLE qh__diagrows_avx2_single
#else
#define S_NAME        qh__diagrows_generic
#define S_NAME_SINGLE qh__diagrows_generic_single
#endif

/* Longest row handled in one piece (2^10 complex numbers, 16 KiB). */
#define S_ROW 1024u

void S_NAME(double complex *a, unsigned c, size_t nh, const double complex *z,
            const double complex *const *rows)
{
    const size_t len = (size_t)1 << c;
    double t[2 * S_ROW] __attribute__((aligned(64)));
    for (size_t h = 0; h < nh; h++) {
        const double zr = __real__ z[h], zi = __imag__ z[h];
        const double *restrict r = (const double *)rows[h];
        double *restrict x = (double *)(a + (h << c));
        for (size_t l0 = 0; l0 < len; l0 += S_ROW) {
            const size_t m = len - l0 < S_ROW ? len - l0 : S_ROW;
            const double *restrict rr = r + 2 * l0;
            double *restrict xx = x + 2 * l0;
#pragma omp simd
            for (size_t l = 0; l < m; l++) {
                t[2 * l] = zr * rr[2 * l] - zi * rr[2 * l + 1];
                t[2 * l + 1] = zr * rr[2 * l + 1] + zi * rr[2 * l];
            }
#pragma omp simd
            for (size_t l = 0; l < m; l++) {
                const double ar = xx[2 * l], ai = xx[2 * l + 1];
                xx[2 * l] = ar * t[2 * l] - ai * t[2 * l + 1];
                xx[2 * l + 1] = ar * t[2 * l + 1] + ai * t[2 * l];
            }
        }
    }
}

void S_NAME_SINGLE(float complex *a, unsigned c, size_t nh, const double complex *z,
                   const double complex *const *rows)
{
    const size_t len = (size_t)1 << c;
    float t[2 * S_ROW] __attribute__((aligned(64)));
    for (size_t h = 0; h < nh; h++) {
        const double zr = __real__ z[h], zi = __imag__ z[h];
        const double *restrict r = (const double *)rows[h];
        float *restrict x = (float *)(a + (h << c));
        for (size_t l0 = 0; l0 < len; l0 += S_ROW) {
            const size_t m = len - l0 < S_ROW ? len - l0 : S_ROW;
            const double *restrict rr = r + 2 * l0;
            float *restrict xx = x + 2 * l0;
#pragma omp simd
            for (size_t l = 0; l < m; l++) {
                t[2 * l] = (float)(zr * rr[2 * l] - zi * rr[2 * l + 1]);
                t[2 * l + 1] = (float)(zr * rr[2 * l + 1] + zi * rr[2 * l]);
            }
#pragma omp simd
            for (size_t l = 0; l < m; l++) {
                const float ar = xx[2 * l], ai = xx[2 * l + 1];
                xx[2 * l] = ar * t[2 * l] - ai * t[2 * l + 1];
                xx[2 * l + 1] = ar * t[2 * l + 1] + ai * t[2 * l];
            }
        }
    }
}

#if defined(QH_ISA_generic)
#include <string.h>

qh__diagrows_fn qh__diagrows_for(const char *isa)
{
#if QH_HAVE_AVX512
    if (strcmp(isa, "avx512") == 0)
        return qh__diagrows_avx512;
#endif
#if QH_HAVE_AVX2
    if (strcmp(isa, "avx2") == 0)
        return qh__diagrows_avx2;
#endif
    (void)isa;
    return qh__diagrows_generic;
}

qh__diagrows_single_fn qh__diagrows_single_for(const char *isa)
{
#if QH_HAVE_AVX512
    if (strcmp(isa, "avx512") == 0)
        return qh__diagrows_avx512_single;
#endif
#if QH_HAVE_AVX2
    if (strcmp(isa, "avx2") == 0)
        return qh__diagrows_avx2_single;
#endif
    (void)isa;
    return qh__diagrows_generic_single;
}
#endif
