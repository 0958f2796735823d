/* Internal: a tiny vector abstraction over interleaved complex amplitudes, one definition per
 * instruction set and precision, selected by the QH_ISA_* macro (and QH_SINGLE) that
 * kernels_simd.c is compiled with.
 *
 * A qv holds QV_LANES = 2^QV_LB complex amplitudes as (re, im) pairs. Complex products are
 * formed as combine(Mre*v, Mim*swapri(v)): even (real) slots subtract, odd (imaginary)
 * slots add, which is exactly fmaddsub on x86.
 *
 * Single precision (QH_SINGLE: qamp is float complex) keeps the lane count of the double
 * build of the same instruction set, in half-width registers (AVX-512: 4 complex floats in a
 * __m256, AVX2: 2 in a __m128), so that a plan's lane layout and gate programs serve both
 * precisions unchanged; the state's memory traffic, which bounds the kernels, halves.
 * Coefficients arrive as doubles (qv_from) and are rounded to float on loading, except a
 * gate program's, which are rounded when it is built and loaded as floats (qv_fromf).
 *
 * The gate-program kernel (prog_simd.c, compiled with QH_PROG_FULL) is the exception: its
 * single-precision vectors are full-width registers of QV_PROG_LB lane bits (AVX2: 4 complex
 * floats in a __m256, AVX-512: 8 in a __m512), and the plan builds single-precision programs
 * for those lanes. Without QH_SINGLE, QV_PROG_LB is QV_LB. */
#ifndef QH_MPI_SIM_KERNELS_SIMD_H
#define QH_MPI_SIM_KERNELS_SIMD_H

#include <complex.h>

#if defined(QH_SINGLE)
typedef float complex qamp; /* one amplitude */
typedef float qreal;        /* one real coefficient, as broadcast by qv_set1 */
#define QV_PREC(name) name##_single
#else
typedef double complex qamp;
typedef double qreal;
#define QV_PREC(name) name
#endif

/* Lane bits of the gate-program kernel's vectors (those of QH_PROG_FULL). */
#if defined(QH_ISA_avx512) && defined(QH_SINGLE)
#define QV_PROG_LB 3
#elif defined(QH_ISA_avx512) || (defined(QH_ISA_avx2) && defined(QH_SINGLE))
#define QV_PROG_LB 2
#elif defined(QH_ISA_avx2)
#define QV_PROG_LB 1
#else
#define QV_PROG_LB 0
#endif

#if defined(QH_PROG_FULL) && defined(QH_ISA_avx512) && defined(QH_SINGLE)
#include <immintrin.h>
typedef __m512 qv;
#define QV_LB        3
#define QV_SFX(name) QV_PREC(name##_avx512)
static inline qv qv_load(const qamp *p)
{
    return _mm512_loadu_ps((const float *)p);
}
static inline void qv_store(qamp *p, qv v)
{
    _mm512_storeu_ps((float *)p, v);
}
static inline qv qv_zero(void)
{
    return _mm512_setzero_ps();
}
static inline qv qv_fma(qv a, qv b, qv c)
{
    return _mm512_fmadd_ps(a, b, c);
}
static inline qv qv_mul(qv a, qv b)
{
    return _mm512_mul_ps(a, b);
}
static inline qv qv_swapri(qv v)
{
    return _mm512_permute_ps(v, 0xB1);
}
static inline qv qv_combine(qv a, qv b)
{
    return _mm512_fmaddsub_ps(_mm512_set1_ps(1.0f), a, b);
}
/* lane l of the result = lane l ^ p of v (a lane, one complex float, is 64 bits): within
 * 128 bits for p = 1, whole 128-bit blocks for even p, one 64-bit permutation otherwise */
static inline qv qv_xor_lanes(qv v, unsigned p)
{
    switch (p) {
    case 1:
        return _mm512_permute_ps(v, 0x4E);
    case 2:
        return _mm512_shuffle_f32x4(v, v, 0xB1);
    case 4:
        return _mm512_shuffle_f32x4(v, v, 0x4E);
    case 6:
        return _mm512_shuffle_f32x4(v, v, 0x1B);
    case 3:
    case 5:
    case 7: {
        const __m512i idx = _mm512_set_epi64(7 ^ p, 6 ^ p, 5 ^ p, 4 ^ p, 3 ^ p, 2 ^ p, 1 ^ p, p);
        return _mm512_castpd_ps(_mm512_permutexvar_pd(idx, _mm512_castps_pd(v)));
    }
    default:
        return v;
    }
}
static inline qv qv_from(const double *x) /* x holds 2*QV_LANES doubles */
{
    const __m256 lo = _mm512_cvtpd_ps(_mm512_loadu_pd(x)),
                 hi = _mm512_cvtpd_ps(_mm512_loadu_pd(x + 8));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}
static inline qv qv_fromf(const float *x) /* x holds 2*QV_LANES floats */
{
    return _mm512_loadu_ps(x);
}
static inline qv qv_set1(qreal x)
{
    return _mm512_set1_ps(x);
}
static inline qv qv_fms(qv a, qv b, qv c) /* a b - c */
{
    return _mm512_fmsub_ps(a, b, c);
}
static inline qv qv_fnma(qv a, qv b, qv c) /* c - a b */
{
    return _mm512_fnmadd_ps(a, b, c);
}
/* lane l of the result = lane l of b if bit l of `lanes` is set, else of a */
static inline qv qv_blend(qv a, qv b, unsigned lanes)
{
    __mmask16 k = 0;
    for (unsigned l = 0; l < 8; l++)
        if (lanes >> l & 1)
            k |= (__mmask16)(3u << (2 * l));
    return _mm512_mask_blend_ps(k, a, b);
}

#elif (defined(QH_ISA_avx512) || (defined(QH_PROG_FULL) && defined(QH_ISA_avx2))) &&               \
    defined(QH_SINGLE)
/* (AVX-512 single, and the gate programs of AVX2 single) */
#include <immintrin.h>
typedef __m256 qv;
#define QV_LB 2
#if defined(QH_ISA_avx512)
#define QV_SFX(name) QV_PREC(name##_avx512)
#else
#define QV_SFX(name) QV_PREC(name##_avx2)
#endif
static inline qv qv_load(const qamp *p)
{
    return _mm256_loadu_ps((const float *)p);
}
static inline void qv_store(qamp *p, qv v)
{
    _mm256_storeu_ps((float *)p, v);
}
static inline qv qv_zero(void)
{
    return _mm256_setzero_ps();
}
static inline qv qv_fma(qv a, qv b, qv c)
{
    return _mm256_fmadd_ps(a, b, c);
}
static inline qv qv_mul(qv a, qv b)
{
    return _mm256_mul_ps(a, b);
}
static inline qv qv_swapri(qv v)
{
    return _mm256_permute_ps(v, 0xB1);
}
static inline qv qv_combine(qv a, qv b)
{
    return _mm256_fmaddsub_ps(_mm256_set1_ps(1.0f), a, b);
}
/* lane l of the result = lane l ^ p of v (a lane, one complex float, is 64 bits) */
static inline qv qv_xor_lanes(qv v, unsigned p)
{
    switch (p) {
    case 1:
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xB1));
    case 2:
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0x4E));
    case 3:
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0x1B));
    default:
        return v;
    }
}
static inline qv qv_from(const double *x) /* x holds 2*QV_LANES doubles */
{
#if defined(QH_ISA_avx512)
    return _mm512_cvtpd_ps(_mm512_loadu_pd(x));
#else
    const __m128 lo = _mm256_cvtpd_ps(_mm256_loadu_pd(x)),
                 hi = _mm256_cvtpd_ps(_mm256_loadu_pd(x + 4));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
#endif
}
static inline qv qv_fromf(const float *x)
{
    return _mm256_loadu_ps(x);
}
static inline qv qv_set1(qreal x)
{
    return _mm256_set1_ps(x);
}
static inline qv qv_fms(qv a, qv b, qv c) /* a b - c */
{
    return _mm256_fmsub_ps(a, b, c);
}
static inline qv qv_fnma(qv a, qv b, qv c) /* c - a b */
{
    return _mm256_fnmadd_ps(a, b, c);
}
/* lane l of the result = lane l of b if bit l of `lanes` is set, else of a */
static inline qv qv_blend(qv a, qv b, unsigned lanes)
{
    int m[8];
    for (unsigned l = 0; l < 4; l++)
        m[2 * l] = m[2 * l + 1] = (lanes >> l & 1) ? -1 : 0;
    return _mm256_blendv_ps(
        a, b,
        _mm256_castsi256_ps(_mm256_setr_epi32(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7])));
}

#elif defined(QH_ISA_avx2) && defined(QH_SINGLE)
#include <immintrin.h>
typedef __m128 qv;
#define QV_LB        1
#define QV_SFX(name) QV_PREC(name##_avx2)
static inline qv qv_load(const qamp *p)
{
    return _mm_loadu_ps((const float *)p);
}
static inline void qv_store(qamp *p, qv v)
{
    _mm_storeu_ps((float *)p, v);
}
static inline qv qv_zero(void)
{
    return _mm_setzero_ps();
}
static inline qv qv_fma(qv a, qv b, qv c)
{
    return _mm_fmadd_ps(a, b, c);
}
static inline qv qv_mul(qv a, qv b)
{
    return _mm_mul_ps(a, b);
}
static inline qv qv_swapri(qv v)
{
    return _mm_permute_ps(v, 0xB1);
}
static inline qv qv_combine(qv a, qv b)
{
    return _mm_fmaddsub_ps(_mm_set1_ps(1.0f), a, b);
}
static inline qv qv_xor_lanes(qv v, unsigned p)
{
    return p ? _mm_permute_ps(v, 0x4E) : v;
}
static inline qv qv_from(const double *x)
{
    return _mm256_cvtpd_ps(_mm256_loadu_pd(x));
}
static inline qv qv_set1(qreal x)
{
    return _mm_set1_ps(x);
}
static inline qv qv_fms(qv a, qv b, qv c)
{
    return _mm_fmsub_ps(a, b, c);
}
static inline qv qv_fnma(qv a, qv b, qv c)
{
    return _mm_fnmadd_ps(a, b, c);
}
static inline qv qv_blend(qv a, qv b, unsigned lanes)
{
    int l0 = (lanes & 1) ? -1 : 0, l1 = (lanes & 2) ? -1 : 0;
    return _mm_blendv_ps(a, b, _mm_castsi128_ps(_mm_setr_epi32(l0, l0, l1, l1)));
}

#elif defined(QH_ISA_generic) && defined(QH_SINGLE)
typedef struct {
    float re, im;
} qv;
#define QV_LB        0
#define QV_SFX(name) QV_PREC(name##_generic)
static inline qv qv_load(const qamp *p)
{
    const float *d = (const float *)p;
    return (qv){d[0], d[1]};
}
static inline void qv_store(qamp *p, qv v)
{
    float *d = (float *)p;
    d[0] = v.re;
    d[1] = v.im;
}
static inline qv qv_zero(void)
{
    return (qv){0, 0};
}
static inline qv qv_fma(qv a, qv b, qv c)
{
    return (qv){a.re * b.re + c.re, a.im * b.im + c.im};
}
static inline qv qv_mul(qv a, qv b)
{
    return (qv){a.re * b.re, a.im * b.im};
}
static inline qv qv_swapri(qv v)
{
    return (qv){v.im, v.re};
}
static inline qv qv_combine(qv a, qv b)
{
    return (qv){a.re - b.re, a.im + b.im};
}
static inline qv qv_xor_lanes(qv v, unsigned p)
{
    (void)p;
    return v;
}
static inline qv qv_from(const double *x)
{
    return (qv){(float)x[0], (float)x[1]};
}
static inline qv qv_fromf(const float *x)
{
    return (qv){x[0], x[1]};
}
static inline qv qv_set1(qreal x)
{
    return (qv){x, x};
}
static inline qv qv_fms(qv a, qv b, qv c)
{
    return (qv){a.re * b.re - c.re, a.im * b.im - c.im};
}
static inline qv qv_fnma(qv a, qv b, qv c)
{
    return (qv){c.re - a.re * b.re, c.im - a.im * b.im};
}
static inline qv qv_blend(qv a, qv b, unsigned lanes)
{
    return (lanes & 1) ? b : a;
}

#elif defined(QH_ISA_avx512)
#include <immintrin.h>
typedef __m512d qv;
#define QV_LB        2
#define QV_SFX(name) QV_PREC(name##_avx512)
static inline qv qv_load(const qamp *p)
{
    return _mm512_loadu_pd((const double *)p);
}
static inline void qv_store(qamp *p, qv v)
{
    _mm512_storeu_pd((double *)p, v);
}
static inline qv qv_zero(void)
{
    return _mm512_setzero_pd();
}
static inline qv qv_fma(qv a, qv b, qv c)
{
    return _mm512_fmadd_pd(a, b, c);
}
static inline qv qv_mul(qv a, qv b)
{
    return _mm512_mul_pd(a, b);
}
static inline qv qv_swapri(qv v)
{
    return _mm512_permute_pd(v, 0x55);
}
static inline qv qv_combine(qv a, qv b)
{
    return _mm512_fmaddsub_pd(_mm512_set1_pd(1.0), a, b);
}
/* lane l of the result = lane l ^ p of v (lanes are complex numbers) */
static inline qv qv_xor_lanes(qv v, unsigned p)
{
    switch (p) {
    case 1:
        return _mm512_shuffle_f64x2(v, v, 0xB1);
    case 2:
        return _mm512_shuffle_f64x2(v, v, 0x4E);
    case 3:
        return _mm512_shuffle_f64x2(v, v, 0x1B);
    default:
        return v;
    }
}
static inline qv qv_from(const double *x) /* x holds 2*QV_LANES doubles */
{
    return _mm512_loadu_pd(x);
}
static inline qv qv_set1(qreal x)
{
    return _mm512_set1_pd(x);
}
static inline qv qv_fms(qv a, qv b, qv c) /* a b - c */
{
    return _mm512_fmsub_pd(a, b, c);
}
static inline qv qv_fnma(qv a, qv b, qv c) /* c - a b */
{
    return _mm512_fnmadd_pd(a, b, c);
}
/* lane l of the result = lane l of b if bit l of `lanes` is set, else of a */
static inline qv qv_blend(qv a, qv b, unsigned lanes)
{
    __mmask8 k = 0;
    for (unsigned l = 0; l < 4; l++)
        if (lanes >> l & 1)
            k |= (__mmask8)(3u << (2 * l));
    return _mm512_mask_blend_pd(k, a, b);
}

#elif defined(QH_ISA_avx2)
#include <immintrin.h>
typedef __m256d qv;
#define QV_LB        1
#define QV_SFX(name) QV_PREC(name##_avx2)
static inline qv qv_load(const qamp *p)
{
    return _mm256_loadu_pd((const double *)p);
}
static inline void qv_store(qamp *p, qv v)
{
    _mm256_storeu_pd((double *)p, v);
}
static inline qv qv_zero(void)
{
    return _mm256_setzero_pd();
}
static inline qv qv_fma(qv a, qv b, qv c)
{
    return _mm256_fmadd_pd(a, b, c);
}
static inline qv qv_mul(qv a, qv b)
{
    return _mm256_mul_pd(a, b);
}
static inline qv qv_swapri(qv v)
{
    return _mm256_permute_pd(v, 0x5);
}
static inline qv qv_combine(qv a, qv b)
{
    return _mm256_fmaddsub_pd(_mm256_set1_pd(1.0), a, b);
}
static inline qv qv_xor_lanes(qv v, unsigned p)
{
    return p ? _mm256_permute2f128_pd(v, v, 0x01) : v;
}
static inline qv qv_from(const double *x)
{
    return _mm256_loadu_pd(x);
}
static inline qv qv_set1(qreal x)
{
    return _mm256_set1_pd(x);
}
static inline qv qv_fms(qv a, qv b, qv c)
{
    return _mm256_fmsub_pd(a, b, c);
}
static inline qv qv_fnma(qv a, qv b, qv c)
{
    return _mm256_fnmadd_pd(a, b, c);
}
static inline qv qv_blend(qv a, qv b, unsigned lanes)
{
    long long l0 = (lanes & 1) ? -1 : 0, l1 = (lanes & 2) ? -1 : 0;
    return _mm256_blendv_pd(a, b, _mm256_castsi256_pd(_mm256_set_epi64x(l1, l1, l0, l0)));
}

#elif defined(QH_ISA_generic)
typedef struct {
    double re, im;
} qv;
#define QV_LB        0
#define QV_SFX(name) QV_PREC(name##_generic)
static inline qv qv_load(const qamp *p)
{
    const double *d = (const double *)p;
    return (qv){d[0], d[1]};
}
static inline void qv_store(qamp *p, qv v)
{
    double *d = (double *)p;
    d[0] = v.re;
    d[1] = v.im;
}
static inline qv qv_zero(void)
{
    return (qv){0, 0};
}
static inline qv qv_fma(qv a, qv b, qv c)
{
    return (qv){a.re * b.re + c.re, a.im * b.im + c.im};
}
static inline qv qv_mul(qv a, qv b)
{
    return (qv){a.re * b.re, a.im * b.im};
}
static inline qv qv_swapri(qv v)
{
    return (qv){v.im, v.re};
}
static inline qv qv_combine(qv a, qv b)
{
    return (qv){a.re - b.re, a.im + b.im};
}
static inline qv qv_xor_lanes(qv v, unsigned p)
{
    (void)p;
    return v;
}
static inline qv qv_from(const double *x)
{
    return (qv){x[0], x[1]};
}
static inline qv qv_set1(qreal x)
{
    return (qv){x, x};
}
static inline qv qv_fms(qv a, qv b, qv c)
{
    return (qv){a.re * b.re - c.re, a.im * b.im - c.im};
}
static inline qv qv_fnma(qv a, qv b, qv c)
{
    return (qv){c.re - a.re * b.re, c.im - a.im * b.im};
}
static inline qv qv_blend(qv a, qv b, unsigned lanes)
{
    return (lanes & 1) ? b : a;
}
#else
#error "kernels_simd.c and prog_simd.c must be compiled with one QH_ISA_* macro defined"
#endif

#define QV_LANES (1u << QV_LB)

#endif
