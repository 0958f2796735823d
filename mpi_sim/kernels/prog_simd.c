/* The gate-program kernel (kernels.h, qh__prog): the group's 2^nh vectors are loaded into
 * registers, every operation of the program is applied to them, and they are stored back.
 * Compiled once per instruction set and precision, as kernels_simd.c is, but with the
 * vectors of QH_PROG_FULL (simd.h): in single precision full-width float registers (AVX2:
 * 4 complex floats in a __m256, AVX-512: 8 in a __m512), twice the lanes of the other single
 * kernels, so that a program costs the instructions of double on half the vectors. The plan
 * builds the programs of a single plan for those lanes (the table's prog_lane_bits); in
 * double and in generic C the lanes are the other kernels'. */
#define QH_PROG_FULL 1

#include <assert.h>
#include <stdint.h>

#include "mpi_sim/kernels/kernels.h"
#include "mpi_sim/kernels/simd.h"
#include "mpi_sim/kernels/walk.h"

/* A program's coefficients: rounded to float when it was built for single precision. */
#if defined(QH_SINGLE)
typedef float s_coef;
#define S_COEF(pr) ((pr)->coef_single)
#define S_FROM(c)  qv_fromf(c)
#else
typedef double s_coef;
#define S_COEF(pr) ((pr)->coef)
#define S_FROM(c)  qv_from(c)
#endif

/* Whether program qubit q is a lane qubit (written so that it compiles without warnings
 * when registers hold a single amplitude). */
#define S_LOW(q) ((int)(q) < (int)QV_LB)

/* Each operation is written once as an always-inlined function of compile-time qubit
 * numbers: with the group's vectors in a local array indexed only by constants, the
 * compiler keeps them in registers for the whole program. Program qubit q < QV_LB is a
 * lane qubit (bit q of the lane index), q >= QV_LB is high qubit q - QV_LB (bit of the
 * vector index within the group). */
#define S_INL static inline __attribute__((always_inline))

/* Full unrolling of the register loops below. GCC honours the request only when optimising
 * and, with AddressSanitizer's instrumentation, sometimes not even then; a request it
 * ignores is a warning no option silences, so the request is made only where it counts. */
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
#define S_UNROLL16 _Pragma("GCC unroll 16")
#else
#define S_UNROLL16
#endif

S_INL void s_op_1q(qv *x, unsigned NH, unsigned Q, unsigned kind, const s_coef *c)
{
    const qv k0 = S_FROM(c), k1 = S_FROM(c + 2 * QV_LANES);
    const unsigned nv = 1u << NH;
    if (S_LOW(Q)) {
        const unsigned p = 1u << Q;
        S_UNROLL16
        for (unsigned i = 0; i < nv; i++) {
            qv v = x[i], y = qv_xor_lanes(v, p);
            switch (kind) {
            case QH__OP_REAL_T:
                x[i] = qv_fma(k0, y, v);
                break;
            case QH__OP_REAL_U:
                x[i] = qv_fma(k0, v, qv_mul(k1, y));
                break;
            case QH__OP_IMAG_T:
                x[i] = qv_fma(k0, qv_swapri(y), v);
                break;
            case QH__OP_IMAG_U:
                x[i] = qv_fma(k0, qv_swapri(v), y);
                break;
            default:
                break;
            }
        }
        return;
    }
    const unsigned J = Q - QV_LB;
    if (J >= NH)
        return;
    S_UNROLL16
    for (unsigned i = 0; i < nv; i++) {
        if (i >> J & 1)
            continue;
        const unsigned i1 = i | 1u << J;
        qv v0 = x[i], v1 = x[i1];
        switch (kind) {
        case QH__OP_REAL_T:
            x[i] = qv_fnma(k0, v1, v0);
            x[i1] = qv_fma(k0, v0, v1);
            break;
        case QH__OP_REAL_U:
            x[i] = qv_fms(k0, v0, v1);
            x[i1] = qv_fma(k0, v1, v0);
            break;
        case QH__OP_IMAG_T:
            x[i] = qv_fma(k0, qv_swapri(v1), v0);
            x[i1] = qv_fma(k0, qv_swapri(v0), v1);
            break;
        case QH__OP_IMAG_U:
            x[i] = qv_fma(k0, qv_swapri(v0), v1);
            x[i1] = qv_fma(k0, qv_swapri(v1), v0);
            break;
        case QH__OP_PHASE:
            x[i1] = qv_fma(k0, v1, qv_mul(k1, qv_swapri(v1)));
            break;
        default:
            break;
        }
    }
}

S_INL void s_op_diag(qv *x, unsigned NH, const s_coef *c)
{
    S_UNROLL16
    for (unsigned i = 0; i < (1u << NH); i++) {
        const qv dr = S_FROM(c + 4 * QV_LANES * i),
                 di = S_FROM(c + 4 * QV_LANES * i + 2 * QV_LANES);
        x[i] = qv_fma(dr, x[i], qv_mul(di, qv_swapri(x[i])));
    }
}

/* Lanes (bit l) in which every low program qubit of mask m is one. */
S_INL unsigned s_lanes_all(unsigned m)
{
    const unsigned lm = m & ((1u << QV_LB) - 1);
    unsigned r = 0;
    for (unsigned l = 0; l < QV_LANES; l++)
        if ((l & lm) == lm)
            r |= 1u << l;
    return r;
}

/* X on program qubit T where every program qubit of mask M is one (Toffoli and beyond;
 * Fredkin gates are built from it and two CX). */
S_INL void s_op_mcx(qv *x, unsigned NH, unsigned T, unsigned M)
{
    const unsigned nv = 1u << NH, hm = M >> QV_LB;
    const unsigned lanes = s_lanes_all(M), all = (1u << QV_LANES) - 1;
    if (S_LOW(T)) {
        const unsigned p = 1u << T;
        S_UNROLL16
        for (unsigned i = 0; i < nv; i++) {
            if ((i & hm) != hm)
                continue;
            qv y = qv_xor_lanes(x[i], p);
            x[i] = lanes == all ? y : qv_blend(x[i], y, lanes);
        }
        return;
    }
    const unsigned J = T - QV_LB;
    if (J >= NH)
        return;
    S_UNROLL16
    for (unsigned i = 0; i < nv; i++) {
        if ((i >> J & 1) || (i & hm) != hm)
            continue;
        const unsigned i1 = i | 1u << J;
        qv v0 = x[i], v1 = x[i1];
        x[i] = lanes == all ? v1 : qv_blend(v0, v1, lanes);
        x[i1] = lanes == all ? v0 : qv_blend(v1, v0, lanes);
    }
}

/* X on program qubit T where program qubit C is one (C = 255: no control). */
S_INL void s_op_cx(qv *x, unsigned NH, unsigned T, unsigned C)
{
    s_op_mcx(x, NH, T, C == 255 ? 0 : 1u << C);
}

/* Each operation is dispatched with one jump: its kind and program qubits packed into one
 * code, one case per (kind, qubits). Program qubits run from 0 to QV_LB + QH_PROG_MAX_HIGH
 * - 1 (at most 6, with AVX-512 single's 8 lanes); a CX without control has control code 7. */
#define S_CODE(K, A, B) (((unsigned)(K) << 6) | ((unsigned)(A) << 3) | (unsigned)(B))
/* an operation on a program qubit without a case would fall through the switch unapplied */
_Static_assert(QV_LB + QH_PROG_MAX_HIGH <= QH_PROG_MAX_QUBITS,
               "program qubits beyond the dispatch cases");
#define S_CASE(code, ...)                                                                          \
    case code:                                                                                     \
        __VA_ARGS__;                                                                               \
        break;
/* (program qubit 6 only where there is one: the other builds keep their switch) */
#if QV_LB + QH_PROG_MAX_HIGH > 6
#define S_Q6(F, ...) F(6, __VA_ARGS__)
#define S_CX6(T)     S_CX(T, 6)
#else
#define S_Q6(F, ...)
#define S_CX6(T)
#endif
#define S_FOR_Q(F, ...)                                                                            \
    F(0, __VA_ARGS__)                                                                              \
    F(1, __VA_ARGS__)                                                                              \
    F(2, __VA_ARGS__) F(3, __VA_ARGS__) F(4, __VA_ARGS__) F(5, __VA_ARGS__) S_Q6(F, __VA_ARGS__)
/* (coef + op->c only where op->c indexes coefficients: an MCX keeps its control mask there) */
#define S_1Q(Q, K)    S_CASE(S_CODE(K, Q, 0), s_op_1q(x, (NH_), (Q), (K), coef + op->c))
#define S_CX(T, C)    S_CASE(S_CODE(QH__OP_CX, T, C), s_op_cx(x, (NH_), (T), (C)))
#define S_MCX(T, ...) S_CASE(S_CODE(QH__OP_MCX, T, 0), s_op_mcx(x, (NH_), (T), op->c))
/* (a macro does not expand inside itself: the controls are spelled out) */
#define S_CXT(T, ...)                                                                              \
    S_CASE(S_CODE(QH__OP_CX, T, 7), s_op_cx(x, (NH_), (T), 255))                                   \
    S_CX(T, 0) S_CX(T, 1) S_CX(T, 2) S_CX(T, 3) S_CX(T, 4) S_CX(T, 5) S_CX6(T)

#define S_PROG_FN(NH)                                                                              \
    static void s_prog_h##NH(qamp *restrict a, unsigned n, const qh__prog *pr, const qv_walk *w,   \
                             const uint64_t *off)                                                  \
    {                                                                                              \
        const qh__prog_op *ops = pr->ops;                                                          \
        const unsigned nops = pr->nops;                                                            \
        const s_coef *coef = S_COEF(pr);                                                           \
        QV_FOR_GROUPS(w, n, base, {                                                                \
            qv x[1u << (NH)];                                                                      \
            for (unsigned i = 0; i < (1u << (NH)); i++)                                            \
                x[i] = qv_load(a + base + off[i]);                                                 \
            for (unsigned o = 0; o < nops; o++) {                                                  \
                const qh__prog_op *op = &ops[o];                                                   \
                switch (S_CODE(op->kind, op->a, op->b & 7)) {                                      \
                    S_FOR_Q(S_1Q, QH__OP_REAL_T)                                                   \
                    S_FOR_Q(S_1Q, QH__OP_REAL_U)                                                   \
                    S_FOR_Q(S_1Q, QH__OP_IMAG_T)                                                   \
                    S_FOR_Q(S_1Q, QH__OP_IMAG_U)                                                   \
                    S_FOR_Q(S_1Q, QH__OP_PHASE)                                                    \
                    S_CASE(S_CODE(QH__OP_DIAG, 0, 0), s_op_diag(x, (NH), coef + op->c))            \
                    S_FOR_Q(S_CXT, 0)                                                              \
                    S_FOR_Q(S_MCX, 0)                                                              \
                default:                                                                           \
                    break;                                                                         \
                }                                                                                  \
            }                                                                                      \
            for (unsigned i = 0; i < (1u << (NH)); i++)                                            \
                qv_store(a + base + off[i], x[i]);                                                 \
        });                                                                                        \
    }

#define NH_ 0
S_PROG_FN(0)
#undef NH_
#define NH_ 1
S_PROG_FN(1)
#undef NH_
#define NH_ 2
S_PROG_FN(2)
#undef NH_
#define NH_ 3
S_PROG_FN(3)
#undef NH_
#define NH_ 4
S_PROG_FN(4)
#undef NH_

void QV_SFX(qh__prog_run)(void *amp, unsigned n, const qh__prog *p)
{
    qamp *a = amp;
    assert(p->nh <= QH_PROG_MAX_HIGH);
    if (p->nops == 0 || p->nh > QH_PROG_MAX_HIGH || n < QV_LB + p->nh)
        return;
    uint64_t special = 0, off[1u << QH_PROG_MAX_HIGH];
    for (unsigned j = 0; j < p->nh; j++)
        special |= (uint64_t)1 << p->high[j];
    for (unsigned i = 0; i < (1u << p->nh); i++) {
        off[i] = 0;
        for (unsigned j = 0; j < p->nh; j++)
            off[i] |= (uint64_t)(i >> j & 1) << p->high[j];
    }
    qv_walk w;
    qv_walk_init(&w, n, special, 0);
    switch (p->nh) {
    case 0:
        s_prog_h0(a, n, p, &w, off);
        break;
    case 1:
        s_prog_h1(a, n, p, &w, off);
        break;
    case 2:
        s_prog_h2(a, n, p, &w, off);
        break;
    case 3:
        s_prog_h3(a, n, p, &w, off);
        break;
    default:
        s_prog_h4(a, n, p, &w, off);
        break;
    }
}
