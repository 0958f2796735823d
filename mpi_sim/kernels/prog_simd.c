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

/* One pair of registers of a rotation of kind REAL_T, REAL_U, IMAG_T or IMAG_U on high
 * qubits: x[i] the |0> side, x[i1] the |1> side; flip: the real forms with their
 * off-diagonal signs flipped. */
S_INL void s_pair(qv *x, unsigned i, unsigned i1, unsigned kind, qv k0, int flip)
{
    const qv v0 = x[i], v1 = x[i1];
    switch (kind) {
    case QH__OP_REAL_T:
        x[i] = flip ? qv_fma(k0, v1, v0) : qv_fnma(k0, v1, v0);
        x[i1] = flip ? qv_fnma(k0, v0, v1) : qv_fma(k0, v0, v1);
        break;
    case QH__OP_REAL_U:
        x[i] = flip ? qv_fma(k0, v0, v1) : qv_fms(k0, v0, v1);
        x[i1] = flip ? qv_fms(k0, v1, v0) : qv_fma(k0, v1, v0);
        break;
    case QH__OP_IMAG_T:
        x[i] = qv_fma(k0, qv_swapri(v1), v0);
        x[i1] = qv_fma(k0, qv_swapri(v0), v1);
        break;
    case QH__OP_IMAG_U:
        x[i] = qv_fma(k0, qv_swapri(v0), v1);
        x[i1] = qv_fma(k0, qv_swapri(v1), v0);
        break;
    default:
        break;
    }
}

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
        if (kind == QH__OP_PHASE)
            x[i1] = qv_fma(k0, x[i1], qv_mul(k1, qv_swapri(x[i1])));
        else
            s_pair(x, i, i1, kind, k0, 0);
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

/* The two-qubit forms of the rotations (IMAG_T2 ... REAL_US) on high program qubits A and
 * B. */
S_INL void s_op_2q(qv *x, unsigned NH, unsigned A, unsigned B, unsigned kind, const s_coef *c)
{
    if (S_LOW(A) || S_LOW(B) || A == B || A - QV_LB >= NH || B - QV_LB >= NH)
        return;
    const qv k0 = S_FROM(c);
    const unsigned ja = 1u << (A - QV_LB), jb = 1u << (B - QV_LB), nv = 1u << NH;
    /* pairs that differ in both qubits, or in A with the sign following B; the kind of
     * rotation applied to each pair */
    const int both = kind == QH__OP_IMAG_T2 || kind == QH__OP_IMAG_U2 || kind == QH__OP_REAL_T2 ||
                     kind == QH__OP_REAL_U2;
    const unsigned base = kind == QH__OP_IMAG_T2                             ? QH__OP_IMAG_T
                          : kind == QH__OP_IMAG_U2                           ? QH__OP_IMAG_U
                          : kind == QH__OP_REAL_T2 || kind == QH__OP_REAL_TS ? QH__OP_REAL_T
                                                                             : QH__OP_REAL_U;
    S_UNROLL16
    for (unsigned i = 0; i < nv; i++)
        if (!(i & ja))
            s_pair(x, i, both ? i ^ ja ^ jb : i | ja, base, k0, !both && (i & jb));
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

/* Each operation is dispatched with one jump, threaded: a program's operations are first
 * decoded into the addresses of their code (one label per kind and program qubits), and each
 * operation's code ends with its own jump to the next one's. A jump per operation site
 * predicts the next operation far better than one shared switch (a program is the same
 * sequence for every group), and the decoding (kind and qubits to a case) is done once per
 * call instead of once per group. Program qubits run from 0 to QV_LB + QH_PROG_MAX_HIGH - 1
 * (at most 6, with AVX-512 single's 8 lanes); a CX without control has control code 7.
 * Labels as values are a GNU C extension (GCC and Clang). */
#define S_CODE(K, A, B) (((unsigned)(K) << 6) | ((unsigned)(A) << 3) | (unsigned)(B))
/* an operation on a program qubit without a case would be skipped unapplied */
_Static_assert(QV_LB + QH_PROG_MAX_HIGH <= QH_PROG_MAX_QUBITS,
               "program qubits beyond the dispatch cases");
/* (program qubit 6 only where there is one) */
#if QV_LB + QH_PROG_MAX_HIGH > 6
#define S_Q6(F, ...) F(6, __VA_ARGS__)
#define S_CX6(T, F)  S_CXC(T, 6, F)
#else
#define S_Q6(F, ...)
#define S_CX6(T, F)
#endif
#define S_FOR_Q(F, ...)                                                                            \
    F(0, __VA_ARGS__)                                                                              \
    F(1, __VA_ARGS__)                                                                              \
    F(2, __VA_ARGS__) F(3, __VA_ARGS__) F(4, __VA_ARGS__) F(5, __VA_ARGS__) S_Q6(F, __VA_ARGS__)
/* every (kind, qubits) with code, as F(label suffix, code, statement); the statement uses
 * x, NH_, coef and op (an MCX keeps its control mask in op->c, not a coefficient index) */
#define S_1Q(Q, K, F)  F(K##_##Q, S_CODE(K, Q, 0), s_op_1q(x, (NH_), (Q), (K), coef + op->c))
#define S_CXC(T, C, F) F(CX_##T##_##C, S_CODE(QH__OP_CX, T, C), s_op_cx(x, (NH_), (T), (C)))
#define S_CXT(T, F)                                                                                \
    F(CX_##T##_n, S_CODE(QH__OP_CX, T, 7), s_op_cx(x, (NH_), (T), 255))                            \
    S_CXC(T, 0, F)                                                                                 \
    S_CXC(T, 1, F) S_CXC(T, 2, F) S_CXC(T, 3, F) S_CXC(T, 4, F) S_CXC(T, 5, F) S_CX6(T, F)
#define S_MCX(T, F) F(MCX_##T, S_CODE(QH__OP_MCX, T, 0), s_op_mcx(x, (NH_), (T), op->c))
/* the two-qubit forms: kind K on high qubits a and b (0 to 3: program qubits QV_LB + a and
 * QV_LB + b), every ordered pair, and no case for the lane qubits, where they do not occur
 * (fewer labels: each is a target of every operation's jump, which the compiler pays for) */
#define S_2QAB(A, B, K, F)                                                                         \
    F(K##_h##A##_##B, S_CODE(K, QV_LB + (A), QV_LB + (B)),                                         \
      s_op_2q(x, (NH_), QV_LB + (A), QV_LB + (B), (K), coef + op->c))
_Static_assert(QH_PROG_MAX_HIGH == 4, "the two-qubit forms have cases for 4 high qubits");
#define S_2Q(K, F)                                                                                 \
    S_2QAB(0, 1, K, F)                                                                             \
    S_2QAB(0, 2, K, F)                                                                             \
    S_2QAB(0, 3, K, F)                                                                             \
    S_2QAB(1, 0, K, F)                                                                             \
    S_2QAB(1, 2, K, F)                                                                             \
    S_2QAB(1, 3, K, F)                                                                             \
    S_2QAB(2, 0, K, F)                                                                             \
    S_2QAB(2, 1, K, F)                                                                             \
    S_2QAB(2, 3, K, F) S_2QAB(3, 0, K, F) S_2QAB(3, 1, K, F) S_2QAB(3, 2, K, F)
#define S_ALL(F)                                                                                   \
    S_FOR_Q(S_1Q, QH__OP_REAL_T, F)                                                                \
    S_FOR_Q(S_1Q, QH__OP_REAL_U, F)                                                                \
    S_FOR_Q(S_1Q, QH__OP_IMAG_T, F)                                                                \
    S_FOR_Q(S_1Q, QH__OP_IMAG_U, F)                                                                \
    S_FOR_Q(S_1Q, QH__OP_PHASE, F)                                                                 \
    F(DIAG, S_CODE(QH__OP_DIAG, 0, 0), s_op_diag(x, (NH_), coef + op->c))                          \
    S_FOR_Q(S_CXT, F)                                                                              \
    S_FOR_Q(S_MCX, F)                                                                              \
    S_2Q(QH__OP_IMAG_T2, F)                                                                        \
    S_2Q(QH__OP_IMAG_U2, F)                                                                        \
    S_2Q(QH__OP_REAL_T2, F)                                                                        \
    S_2Q(QH__OP_REAL_U2, F) S_2Q(QH__OP_REAL_TS, F) S_2Q(QH__OP_REAL_US, F)
/* decoding: the case of one (kind, qubits) */
#define S_DECODE(L, code, ...)                                                                     \
    case code:                                                                                     \
        lab[o] = __extension__ && s_l_##L;                                                         \
        break;
/* Most operations decoded at a time: a longer program runs as consecutive pieces, each over
 * every group (the groups are independent, so the result is the same). */
#define S_MAX_DECODED 255
/* running: the code of one (kind, qubits), then the jump to the next operation's */
#define S_RUN(L, code, ...)                                                                        \
    s_l_##L : __VA_ARGS__;                                                                         \
    op++;                                                                                          \
    ip++;                                                                                          \
    goto **ip;

/* The groups [beg, end) of the walk w through program pr with NH high qubits and at most
 * S_MAX_DECODED operations; register i is loaded from byte offset in[i] of the group and
 * stored to out[i]. */
#define S_PROG_FN(NH)                                                                              \
    static void s_prog_h##NH(qamp *restrict a, const qh__prog *pr, const qv_walk *w,               \
                             const uint64_t *in, const uint64_t *out, uint64_t beg, uint64_t end)  \
    {                                                                                              \
        const void *lab[S_MAX_DECODED + 1];                                                        \
        const qh__prog_op *ops = pr->ops;                                                          \
        const unsigned nops = pr->nops;                                                            \
        const s_coef *coef = S_COEF(pr);                                                           \
        for (unsigned o = 0; o < nops; o++) {                                                      \
            switch (S_CODE(ops[o].kind, ops[o].a, ops[o].b & 7)) {                                 \
                S_ALL(S_DECODE)                                                                    \
            default: /* (the planner makes none: kinds and qubits without a case) */               \
                assert(!"a program operation without a case");                                     \
                lab[o] = __extension__ && s_l_skip;                                                \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
        lab[nops] = __extension__ && s_l_end;                                                      \
        QV_GROUP_RANGE(w, beg, end, base, {                                                        \
            char *g = (char *)(a + base);                                                          \
            qv x[1u << (NH)];                                                                      \
            for (unsigned i = 0; i < (1u << (NH)); i++)                                            \
                x[i] = qv_load((qamp *)(g + in[i]));                                               \
            const qh__prog_op *op = ops;                                                           \
            const void *const *ip = lab;                                                           \
            goto **ip;                                                                             \
            S_ALL(S_RUN)                                                                           \
        s_l_skip:                                                                                  \
            op++;                                                                                  \
            ip++;                                                                                  \
            goto **ip;                                                                             \
        s_l_end:                                                                                   \
            for (unsigned i = 0; i < (1u << (NH)); i++)                                            \
                qv_store((qamp *)(g + out[i]), x[i]);                                              \
        });                                                                                        \
    }

/* (computed gotos: the GNU C extension above) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
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
#pragma GCC diagnostic pop

/* Runs program p on the groups [beg, end) of walk w, at most S_MAX_DECODED operations at a
 * time: the first piece loads with p's load order (byte offsets in[]), the last stores with
 * its store order (out[]), and the pieces between keep register i at group vector i
 * (off[]). */
static void s_prog_range(qamp *a, const qh__prog *p, const qv_walk *w, const uint64_t *off,
                         const uint64_t *in, const uint64_t *out, uint64_t beg, uint64_t end)
{
    unsigned o = 0;
    do {
        qh__prog piece = *p;
        piece.ops = p->ops + o;
        piece.nops = p->nops - o < S_MAX_DECODED ? p->nops - o : S_MAX_DECODED;
        const uint64_t *pin = o == 0 ? in : off;
        o += piece.nops;
        const uint64_t *pout = o == p->nops ? out : off;
        switch (p->nh) {
        case 0:
            s_prog_h0(a, &piece, w, pin, pout, beg, end);
            break;
        case 1:
            s_prog_h1(a, &piece, w, pin, pout, beg, end);
            break;
        case 2:
            s_prog_h2(a, &piece, w, pin, pout, beg, end);
            break;
        case 3:
            s_prog_h3(a, &piece, w, pin, pout, beg, end);
            break;
        default:
            s_prog_h4(a, &piece, w, pin, pout, beg, end);
            break;
        }
    } while (o < p->nops);
}

void QV_SFX(qh__prog_run)(void *amp, unsigned n, const qh__prog *p)
{
    qamp *a = amp;
    assert(p->nh <= QH_PROG_MAX_HIGH);
    if ((p->nops == 0 && !p->permuted) || p->nh > QH_PROG_MAX_HIGH || n < QV_LB + p->nh)
        return;
    uint64_t special = 0, off[1u << QH_PROG_MAX_HIGH];
    uint64_t in[1u << QH_PROG_MAX_HIGH], out[1u << QH_PROG_MAX_HIGH];
    for (unsigned j = 0; j < p->nh; j++)
        special |= (uint64_t)1 << p->high[j];
    for (unsigned i = 0; i < (1u << p->nh); i++) {
        off[i] = 0;
        for (unsigned j = 0; j < p->nh; j++)
            off[i] |= (uint64_t)(i >> j & 1) << p->high[j];
        off[i] *= sizeof(qamp); /* bytes: one addressing mode per load and store */
    }
    for (unsigned i = 0; i < (1u << p->nh); i++) {
        in[i] = p->permuted ? off[p->load[i]] : off[i];
        out[i] = p->permuted ? off[p->store[i]] : off[i];
    }
    qv_walk w;
    qv_walk_init(&w, n, special, 0);
    if (QV_PAR(n)) {
#pragma omp parallel
        {
            uint64_t beg, end;
            qv_walk_share(&w, &beg, &end);
            s_prog_range(a, p, &w, off, in, out, beg, end);
        }
    } else {
        s_prog_range(a, p, &w, off, in, out, 0, w.ngroups);
    }
}
