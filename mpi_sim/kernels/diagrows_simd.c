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

/* The kernel twice from diagrows_loop.h: amplitudes and the L1 buffer in double, then in
 * float (the phase is still formed in double and rounded as it is stored). */
#define S_REAL double
#define S_FN   S_NAME
#include "mpi_sim/kernels/diagrows_loop.h"
#undef S_REAL
#undef S_FN
#define S_REAL float
#define S_FN   S_NAME_SINGLE
#include "mpi_sim/kernels/diagrows_loop.h"
#undef S_REAL
#undef S_FN

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
