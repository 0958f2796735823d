/* Every kernel of every instruction set this CPU runs, against the dense reference on
 * random states: all target positions (inside and outside a vector register), with and
 * without controls, for state sizes from smaller than a register to multi-threaded; the
 * row sums of the product start against the sums written out. */
#include <complex.h>
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpi_sim/kernels/kernels.h"
#include "tests/ref/ref_sim.h"

static const char *s_isas[] = {"generic", "avx2", "avx512"};
static const unsigned s_sizes[] = {1, 2, 3, 5, 8, 15};

static void s_pick(unsigned n, unsigned count, unsigned *q, ref_rng *r)
{
    for (unsigned i = 0; i < count; i++) {
        for (;;) {
            unsigned c = (unsigned)(ref_rng_next(r) % n), j = 0;
            while (j < i && q[j] != c)
                j++;
            if (j == i) {
                q[i] = c;
                break;
            }
        }
    }
}

typedef enum { S_DENSE, S_DIAG, S_MCX, S_SWAP } s_kind;

static void s_check_kind(s_kind kind)
{
    ref_rng r = {42 + kind};
    int ran_any = 0;
    for (unsigned ii = 0; ii < 3; ii++) {
        const qh__kernel_table *kt = qh__kernels_for(s_isas[ii]);
        if (!kt)
            continue;
        ran_any = 1;
        for (unsigned si = 0; si < sizeof s_sizes / sizeof *s_sizes; si++) {
            unsigned n = s_sizes[si];
            size_t len = (size_t)1 << n;
            double complex *a = malloc(len * sizeof *a), *b = malloc(len * sizeof *b);
            unsigned trials = n >= 15 ? 12 : 60;
            for (unsigned trial = 0; trial < trials; trial++) {
                unsigned maxk = kind == S_SWAP ? 2 : (n < QH_KERNEL_MAX_TARGETS ? n : 4);
                if (kind == S_MCX)
                    maxk = 1;
                if (maxk > n)
                    continue;
                unsigned k = kind == S_SWAP ? 2 : 1 + (unsigned)(ref_rng_next(&r) % maxk);
                if (kind == S_DENSE && n >= 6 && trial % 10 == 0)
                    k = n < 8 ? 5 : 6; /* the largest fused size too */
                unsigned nc = kind == S_DIAG ? 0 : (unsigned)(ref_rng_next(&r) % (n - k + 1));
                if (nc > 4)
                    nc = 4;
                unsigned q[QH_MAX_GATE_QUBITS];
                s_pick(n, k + nc, q, &r);
                const unsigned *ctl = q, *tg = q + nc;
                uint64_t cmask = 0;
                for (unsigned j = 0; j < nc; j++)
                    cmask |= (uint64_t)1 << ctl[j];
                double complex m[64 * 64];
                size_t dim = (size_t)1 << k;
                ref_random_state(a, n, &r);
                memcpy(b, a, len * sizeof *a);
                switch (kind) {
                case S_DENSE:
                    ref_random_unitary(m, (unsigned)dim, &r);
                    kt->dense(a, n, k, tg, cmask, m);
                    break;
                case S_DIAG: {
                    double complex d[64];
                    for (size_t i = 0; i < dim; i++) {
                        d[i] = cexp(I * 6.28 * ref_rng_uniform(&r));
                        if (i % 3 == 0)
                            d[i] = 1; /* identity entries take the skipping path */
                    }
                    memset(m, 0, dim * dim * sizeof *m);
                    for (size_t i = 0; i < dim; i++)
                        m[i * dim + i] = d[i];
                    kt->diag(a, n, k, tg, d);
                    break;
                }
                case S_MCX:
                    m[0] = 0, m[1] = 1, m[2] = 1, m[3] = 0;
                    kt->mcx(a, n, tg[0], cmask);
                    break;
                case S_SWAP:
                    memset(m, 0, 16 * sizeof *m);
                    m[0] = m[6] = m[9] = m[15] = 1;
                    kt->swap(a, n, tg[0], tg[1], cmask);
                    break;
                }
                ref_apply_matrix(b, n, k, tg, nc, ctl, m);
                double diff = ref_max_diff(a, b, len);
                if (diff > 1e-12) {
                    free(a);
                    free(b);
                    fail_msg("%s kind %d n=%u k=%u nc=%u t0=%u: max diff %g", kt->isa, kind, n, k,
                             nc, tg[0], diff);
                }
            }
            free(a);
            free(b);
        }
    }
    assert_true(ran_any);
}

static void test_dense(void **state)
{
    (void)state;
    s_check_kind(S_DENSE);
}

static void test_diag(void **state)
{
    (void)state;
    s_check_kind(S_DIAG);
}

static void test_mcx(void **state)
{
    (void)state;
    s_check_kind(S_MCX);
}

static void test_swap(void **state)
{
    (void)state;
    s_check_kind(S_SWAP);
}

/* sum_rows: 1 to 11 rows (more than one sweep's worth of terms), lengths with and without a
 * tail shorter than a register, against the sums written out. */
static void test_sum_rows(void **state)
{
    (void)state;
    ref_rng r = {77};
    enum { S_LEN = 67, S_MAXT = 11 };
    double complex rows[S_MAXT][S_LEN], f[S_MAXT], x[S_LEN];
    const double complex *src[S_MAXT];
    for (unsigned i = 0; i < S_MAXT; i++) {
        src[i] = rows[i];
        f[i] = CMPLX(ref_rng_uniform(&r) - 0.5, ref_rng_uniform(&r) - 0.5);
        for (unsigned l = 0; l < S_LEN; l++)
            rows[i][l] = CMPLX(ref_rng_uniform(&r) - 0.5, ref_rng_uniform(&r) - 0.5);
    }
    static const size_t lens[] = {1, 2, 3, 4, 8, 64, 67};
    for (unsigned ii = 0; ii < 3; ii++) {
        const qh__kernel_table *kt = qh__kernels_for(s_isas[ii]);
        if (!kt)
            continue;
        for (unsigned nt = 1; nt <= S_MAXT; nt++) {
            for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
                const size_t len = lens[li];
                for (unsigned l = 0; l < S_LEN; l++)
                    x[l] = NAN; /* every entry up to len must be written */
                kt->sum_rows(x, len, nt, f, (const void *const *)src);
                for (size_t l = 0; l < S_LEN; l++) {
                    double complex want = 0;
                    for (unsigned i = 0; i < nt; i++)
                        want += f[i] * rows[i][l];
                    if (l >= len ? !isnan(creal(x[l])) : !(cabs(x[l] - want) <= 1e-14))
                        fail_msg("%s: %u rows of %zu: entry %zu is %g%+gi, %g%+gi expected",
                                 kt->isa, nt, len, l, creal(x[l]), cimag(x[l]), creal(want),
                                 cimag(want));
                }
            }
        }
    }
}

/* A gate program leaves the same amplitudes on one thread as on two: outside a parallel
 * region the kernel splits the groups between the threads of a team of its own (every kind
 * of operation, lane and high qubits, registers loaded and stored in permuted orders, at
 * every instruction set in double). */
static void test_prog_threads(void **state)
{
    (void)state;
    ref_rng r = {17};
    enum { S_N = 16, S_NOPS = 40 };
    const size_t len = (size_t)1 << S_N;
    double complex *a0 = malloc(len * sizeof *a0), *a1 = malloc(len * sizeof *a1),
                   *a2 = malloc(len * sizeof *a2);
    assert_true(a0 && a1 && a2);
    for (unsigned ii = 0; ii < 3; ii++) {
        const qh__kernel_table *kt = qh__kernels_for(s_isas[ii]);
        if (!kt)
            continue;
        const unsigned lb = kt->prog_lane_bits, nh = 4, per = (4u << lb) << nh;
        qh__prog p = {.nh = nh, .high = {lb + 1, 7, 11, 15}, .nops = S_NOPS};
        p.ncoef = (size_t)per * S_NOPS;
        p.ops = calloc(S_NOPS, sizeof *p.ops);
        p.coef = malloc(p.ncoef * sizeof *p.coef);
        assert_non_null(p.ops);
        assert_non_null(p.coef);
        for (size_t i = 0; i < p.ncoef; i++)
            p.coef[i] = ref_rng_uniform(&r) - 0.5;
        static const unsigned kinds[] = {
            QH__OP_REAL_T,  QH__OP_REAL_U,  QH__OP_IMAG_T,  QH__OP_IMAG_U,  QH__OP_PHASE,
            QH__OP_DIAG,    QH__OP_CX,      QH__OP_MCX,     QH__OP_IMAG_T2, QH__OP_IMAG_U2,
            QH__OP_REAL_T2, QH__OP_REAL_U2, QH__OP_REAL_TS, QH__OP_REAL_US};
        const unsigned nk = sizeof kinds / sizeof *kinds;
        for (unsigned o = 0; o < S_NOPS; o++) {
            qh__prog_op *op = &p.ops[o];
            const unsigned k = kinds[o % nk], q = (unsigned)(ref_rng_next(&r) % (lb + nh));
            op->kind = (unsigned char)k;
            op->c = per * o;
            if (k == QH__OP_DIAG)
                continue;
            if (k >= QH__OP_IMAG_T2) { /* two high qubits */
                op->a = (unsigned char)(lb + q % nh);
                op->b = (unsigned char)(lb + (q + 1) % nh);
                continue;
            }
            op->a = (unsigned char)(k == QH__OP_PHASE ? lb + q % nh : q); /* a phase: high */
            if (k == QH__OP_CX) /* controlled by another program qubit */
                op->b = (unsigned char)((q + 1) % (lb + nh));
            if (k == QH__OP_MCX) { /* two controls besides the target */
                op->c = 0;
                for (unsigned m = 1; m < lb + nh && __builtin_popcount(op->c) < 2; m++)
                    op->c |= 1u << ((q + m) % (lb + nh));
            }
        }
        p.permuted = 1; /* loaded and stored in other orders (a rotation of the registers) */
        for (unsigned j = 0; j < (1u << nh); j++) {
            p.load[j] = (unsigned char)((j + 3) % (1u << nh));
            p.store[j] = (unsigned char)((j + 5) % (1u << nh));
        }
        for (size_t i = 0; i < len; i++)
            a0[i] = a1[i] = a2[i] = CMPLX(ref_rng_uniform(&r) - 0.5, ref_rng_uniform(&r) - 0.5);
        omp_set_num_threads(1);
        kt->prog(a1, S_N, &p);
        omp_set_num_threads(2);
        kt->prog(a2, S_N, &p);
        if (memcmp(a1, a2, len * sizeof *a1) != 0)
            fail_msg("%s: a program on two threads differs from one thread", kt->isa);
        size_t moved = 0; /* (and it changed the state) */
        for (size_t i = 0; i < len; i++)
            moved += a1[i] != a0[i];
        assert_true(moved > len / 2);
        free(p.ops);
        free(p.coef);
    }
    free(a0);
    free(a1);
    free(a2);
}

/* Each two-qubit form of a rotation (kernels.h, IMAG_T2 ... REAL_US) is the rotation with a
 * CNOT on each side, bit for bit (the CNOTs only move vectors): at every instruction set,
 * in double and single, for every ordered pair of high qubits. */
static void test_prog_forms(void **state)
{
    (void)state;
    ref_rng r = {23};
    enum { S_N = 12 };
    const size_t len = (size_t)1 << S_N;
    static const struct {
        unsigned form, plain; /* the form on qubits a, b; the rotation (on a) it stands for */
        int a_controls;       /* the CNOT's control is a (else b) */
    } cases[] = {
        {QH__OP_IMAG_T2, QH__OP_IMAG_T, 1}, {QH__OP_IMAG_U2, QH__OP_IMAG_U, 1},
        {QH__OP_REAL_T2, QH__OP_REAL_T, 1}, {QH__OP_REAL_U2, QH__OP_REAL_U, 1},
        {QH__OP_REAL_TS, QH__OP_REAL_T, 0}, {QH__OP_REAL_US, QH__OP_REAL_U, 0},
    };
    double complex *a1 = malloc(len * sizeof *a1), *a2 = malloc(len * sizeof *a2);
    assert_true(a1 && a2);
    for (unsigned ii = 0; ii < 3; ii++) {
        for (int single = 0; single < 2; single++) {
            const qh__kernel_table *kt =
                single ? qh__kernels_single_for(s_isas[ii]) : qh__kernels_for(s_isas[ii]);
            if (!kt)
                continue;
            const unsigned lb = kt->prog_lane_bits;
            const unsigned per = 4u << lb; /* coefficients of one rotation */
            double coef[4 << QH_PROG_MAX_QUBITS];
            float coefs[4 << QH_PROG_MAX_QUBITS];
            for (unsigned i = 0; i < per; i++) {
                coef[i] = ref_rng_uniform(&r) - 0.5;
                coefs[i] = (float)coef[i];
            }
            for (unsigned c = 0; c < sizeof cases / sizeof *cases; c++) {
                for (unsigned a = 0; a < QH_PROG_MAX_HIGH; a++) {
                    for (unsigned b = 0; b < QH_PROG_MAX_HIGH; b++) {
                        if (a == b)
                            continue;
                        const unsigned qa = lb + a, qb = lb + b;
                        const unsigned ctl = cases[c].a_controls ? qa : qb,
                                       tgt = cases[c].a_controls ? qb : qa;
                        qh__prog_op form = {.kind = (unsigned char)cases[c].form,
                                            .a = (unsigned char)qa,
                                            .b = (unsigned char)qb};
                        qh__prog_op plain[3] = {
                            {.kind = QH__OP_CX, .a = (unsigned char)tgt, .b = (unsigned char)ctl},
                            {.kind = (unsigned char)cases[c].plain, .a = (unsigned char)qa},
                            {.kind = QH__OP_CX, .a = (unsigned char)tgt, .b = (unsigned char)ctl},
                        };
                        qh__prog p1 = {
                            .nh = 4, .high = {lb + 1, 7, 10, 11}, .nops = 1, .ops = &form};
                        qh__prog p2 = {
                            .nh = 4, .high = {lb + 1, 7, 10, 11}, .nops = 3, .ops = plain};
                        p1.ncoef = p2.ncoef = per;
                        if (single)
                            p1.coef_single = p2.coef_single = coefs;
                        else
                            p1.coef = p2.coef = coef;
                        /* random amplitudes in the precision of the kernel (reading a
                         * double's bytes as floats would make NaNs, whose bits may differ) */
                        float *f1 = (float *)a1, *f2 = (float *)a2;
                        for (size_t i = 0; i < (single ? 4 : 2) * len; i++) {
                            const double v = ref_rng_uniform(&r) - 0.5;
                            if (single)
                                f1[i] = f2[i] = (float)v;
                            else
                                ((double *)a1)[i] = ((double *)a2)[i] = v;
                        }
                        kt->prog(a1, single ? S_N + 1 : S_N, &p1);
                        kt->prog(a2, single ? S_N + 1 : S_N, &p2);
                        if (memcmp(a1, a2, len * sizeof *a1) != 0)
                            fail_msg("%s %s: form %u on qubits %u, %u differs from its CNOTs",
                                     kt->isa, single ? "single" : "double", cases[c].form, qa, qb);
                    }
                }
            }
        }
    }
    free(a1);
    free(a2);
}

/* The run-time choice picks a table that exists, and QH_ISA=generic is honoured by
 * qh__kernels_for. */
static void test_dispatch(void **state)
{
    (void)state;
    const qh__kernel_table *k = qh__kernels();
    assert_non_null(k);
    assert_non_null(qh__kernels_for("generic"));
    assert_null(qh__kernels_for("no-such-isa"));
    assert_int_equal(strcmp(qh__kernels_for("generic")->isa, "generic"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense),        cmocka_unit_test(test_diag),
        cmocka_unit_test(test_mcx),          cmocka_unit_test(test_swap),
        cmocka_unit_test(test_dispatch),     cmocka_unit_test(test_sum_rows),
        cmocka_unit_test(test_prog_threads), cmocka_unit_test(test_prog_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
