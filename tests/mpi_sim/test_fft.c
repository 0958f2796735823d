/* The QFT as an FFT on one process: QFT instructions on registers at low, middle, high and
 * scattered qubits, forward and inverse, against the dense reference's DFT and against the
 * gate-by-gate expansion (plan option no_fft); and the recognition of textbook QFT gate
 * sequences (QASMBench's qft_n4 / qft_n18 and generated variants: with and without final
 * swaps, inverse, cu1 written as u1/cx, permuted registers), which must give the state of
 * the gates to 1e-10 - and must leave a sequence with one wrong angle alone. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "qhybrid/qasm.h"
#include "qhybrid/sim.h"
#include "tests/ref/ref_sim.h"

static qh_sim_result *s_run(const qh_circuit *c, qh_plan_options plan)
{
    qh_sim_options o = {.statevector = 1, .plan = plan};
    qh_sim_result *r = NULL;
    if (qh_sim_run(c, &o, &r) != QH_OK)
        fail_msg("%s", qh_last_error());
    return r;
}

/* A random generic state on n qubits made by gates, then the QFT on q[0..k). */
static qh_circuit *s_qft_circuit(unsigned n, const unsigned *q, unsigned k, int inverse, ref_rng *r)
{
    qh_circuit *c = ref_random_circuit(n, 40, 0, r);
    assert_int_equal(qh_circuit_qft(c, q, k, inverse), QH_OK);
    return c;
}

/* Runs c with the FFT, with the gates and by the reference; all three must agree. */
static void s_check(const qh_circuit *c, unsigned n, const char *what)
{
    size_t len = (size_t)1 << n;
    double complex *want = ref_state_after(c);
    assert_non_null(want);
    const qh_plan_options variants[] = {{0}, {.no_fusion = 1, .no_blocking = 1}, {.no_fft = 1}};
    for (unsigned v = 0; v < 3; v++) {
        qh_sim_result *r = s_run(c, variants[v]);
        double d = ref_max_diff(r->statevector, want, len);
        if (d > 1e-10)
            fail_msg("%s, variant %u: max diff %g", what, v, d);
        if (r->plan_stats.num_qft != (v < 2 ? 1u : 0u))
            fail_msg("%s, variant %u: %zu FFT steps", what, v, r->plan_stats.num_qft);
        qh_sim_result_destroy(&r);
    }
    free(want);
}

static void test_registers(void **state)
{
    (void)state;
    ref_rng r = {31};
    const unsigned n = 11;
    struct {
        const char *name;
        unsigned k;
        unsigned q[11];
    } regs[] = {
        {"low", 5, {0, 1, 2, 3, 4}},
        {"middle", 6, {3, 4, 5, 6, 7, 8}},
        {"high", 7, {4, 5, 6, 7, 8, 9, 10}},
        {"whole", 11, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
        {"reversed", 8, {9, 8, 7, 6, 5, 4, 3, 2}},
        {"scattered", 6, {7, 0, 10, 3, 5, 1}},
        {"scattered wide", 9, {2, 9, 0, 6, 4, 10, 1, 8, 5}},
        {"one", 1, {6}},
        {"two", 2, {10, 0}},
    };
    for (size_t i = 0; i < sizeof regs / sizeof *regs; i++)
        for (int inverse = 0; inverse < 2; inverse++) {
            qh_circuit *c = s_qft_circuit(n, regs[i].q, regs[i].k, inverse, &r);
            char what[96];
            snprintf(what, sizeof what, "%s register, %s", regs[i].name,
                     inverse ? "inverse" : "forward");
            s_check(c, n, what);
            qh_circuit_destroy(&c);
        }
}

/* QFT then inverse QFT on overlapping registers, and a conditional QFT. */
static void test_compose(void **state)
{
    (void)state;
    ref_rng r = {8};
    const unsigned n = 10;
    qh_circuit *c = ref_random_circuit(n, 30, 0, &r);
    unsigned q1[] = {1, 2, 3, 4, 5, 6, 7}, q2[] = {9, 2, 5};
    qh_circuit_qft(c, q1, 7, 0);
    qh_circuit_qft(c, q2, 3, 1);
    qh_circuit_qft(c, q1, 7, 1);
    qh_sim_result *a = s_run(c, (qh_plan_options){0});
    qh_sim_result *b = s_run(c, (qh_plan_options){.no_fft = 1});
    assert_int_equal(a->plan_stats.num_qft, 3);
    assert_true(ref_max_diff(a->statevector, b->statevector, (size_t)1 << n) < 1e-10);
    qh_sim_result_destroy(&a);
    qh_sim_result_destroy(&b);
    qh_circuit_destroy(&c);
    /* U then U-dagger is the identity */
    c = ref_random_circuit(n, 30, 0, &r);
    qh_sim_result *before = s_run(c, (qh_plan_options){0});
    qh_circuit_qft(c, q1, 7, 0);
    qh_circuit_qft(c, q1, 7, 1);
    qh_sim_result *after = s_run(c, (qh_plan_options){0});
    assert_true(ref_max_diff(before->statevector, after->statevector, (size_t)1 << n) < 1e-12);
    qh_sim_result_destroy(&before);
    qh_sim_result_destroy(&after);
    qh_circuit_destroy(&c);
}

/* How a generated textbook QFT is written. */
typedef struct {
    int inverse;    /* the inverse transform (the forward sequence reversed, angles negated) */
    int swaps;      /* with the final swaps */
    int qasmbench;  /* QASMBench's order: h interleaved with the phases of the next qubit */
    int decomposed; /* cu1 as u1 / cx / u1 / cx / u1 */
    int use_cp;     /* cp rather than cu1 */
    int wrong;      /* one angle off (a near miss): -1 none, else which phase */
} s_style;

typedef struct {
    qh_gate g;
    unsigned q[2];
    unsigned nq;
    double param;
} s_gate_rec;

static void s_emit_cp(s_gate_rec *seq, size_t *len, const s_style *st, unsigned a, unsigned b,
                      double angle)
{
    if (st->decomposed) {
        seq[(*len)++] = (s_gate_rec){QH_GATE_U1, {a, 0}, 1, angle / 2};
        seq[(*len)++] = (s_gate_rec){QH_GATE_CX, {a, b}, 2, 0};
        seq[(*len)++] = (s_gate_rec){QH_GATE_U1, {b, 0}, 1, -angle / 2};
        seq[(*len)++] = (s_gate_rec){QH_GATE_CX, {a, b}, 2, 0};
        seq[(*len)++] = (s_gate_rec){QH_GATE_U1, {b, 0}, 1, angle / 2};
    } else {
        seq[(*len)++] = (s_gate_rec){st->use_cp ? QH_GATE_CP : QH_GATE_CU1, {a, b}, 2, angle};
    }
}

/* Appends the textbook QFT on register r[0..k) (r[0] least significant) in style st. */
static void s_append_textbook(qh_circuit *c, const unsigned *r, unsigned k, const s_style *st)
{
    s_gate_rec *seq = calloc((size_t)5 * k * k + 8 * k, sizeof *seq);
    size_t len = 0;
    int phase = 0;
    if (st->qasmbench) {
        /* top qubit first; the phases of each qubit with those above it, then its h */
        for (unsigned j = k; j-- > 0;) {
            for (unsigned m = k - 1; m > j; m--) {
                double ang = M_PI / ldexp(1, (int)(m - j));
                if (phase++ == st->wrong)
                    ang *= 0.5;
                s_emit_cp(seq, &len, st, r[j], r[m], ang);
            }
            seq[len++] = (s_gate_rec){QH_GATE_H, {r[j], 0}, 1, 0};
        }
    } else {
        for (unsigned j = k; j-- > 0;) {
            seq[len++] = (s_gate_rec){QH_GATE_H, {r[j], 0}, 1, 0};
            for (unsigned m = j; m-- > 0;) {
                double ang = M_PI / ldexp(1, (int)(j - m));
                if (phase++ == st->wrong)
                    ang *= 0.5;
                s_emit_cp(seq, &len, st, r[m], r[j], ang);
            }
        }
    }
    if (st->swaps)
        for (unsigned i = 0; i < k / 2; i++)
            seq[len++] = (s_gate_rec){QH_GATE_SWAP, {r[i], r[k - 1 - i]}, 2, 0};
    for (size_t i = 0; i < len; i++) {
        const s_gate_rec *g = &seq[st->inverse ? len - 1 - i : i];
        double p = st->inverse ? -g->param : g->param;
        assert_int_equal(
            qh_circuit_gate(c, g->g, g->q, g->nq, &p, qh_gate_get_info(g->g)->num_params), QH_OK);
    }
    free(seq);
}

/* Runs c with and without recognition; both must equal the reference. Returns the number
 * of QFTs recognised. */
static size_t s_detect_check(const qh_circuit *c, const char *what)
{
    unsigned n = qh_circuit_num_qubits(c);
    size_t len = (size_t)1 << n;
    double complex *want = ref_state_after(c);
    assert_non_null(want);
    /* without the product start, which would take a QFT of |0...0> as gates (one write) */
    qh_sim_result *a = s_run(c, (qh_plan_options){.no_product_start = 1});
    qh_sim_result *b = s_run(c, (qh_plan_options){.no_qft_detect = 1});
    double da = ref_max_diff(a->statevector, want, len);
    double db = ref_max_diff(b->statevector, want, len);
    if (da > 1e-10 || db > 1e-10)
        fail_msg("%s: max diff %g (recognised) / %g (gates)", what, da, db);
    assert_int_equal(b->plan_stats.num_qft_detected, 0);
    size_t found = a->plan_stats.num_qft_detected;
    qh_sim_result_destroy(&a);
    qh_sim_result_destroy(&b);
    free(want);
    return found;
}

static void test_detect_variants(void **state)
{
    (void)state;
    ref_rng r = {77};
    const unsigned n = 10;
    const unsigned regs[][8] = {
        {0, 1, 2, 3, 4, 5, 6, 7}, {9, 8, 7, 6, 5, 4, 3, 2}, {3, 9, 0, 5, 1, 7, 2, 8}};
    const unsigned ks[] = {8, 6, 5};
    for (unsigned v = 0; v < 64; v++) {
        s_style st = {.inverse = v & 1,
                      .swaps = (v >> 1) & 1,
                      .qasmbench = (v >> 2) & 1,
                      .decomposed = (v >> 3) & 1,
                      .use_cp = (v >> 4) & 1,
                      .wrong = -1};
        unsigned ri = (v >> 5) + (v & 2 ? 1 : 0); /* 0..2 */
        qh_circuit *c = ref_random_circuit(n, 30, 0, &r);
        qh_circuit_gate(c, QH_GATE_X, (unsigned[]){regs[ri][0]}, 1, NULL, 0);
        s_append_textbook(c, regs[ri], ks[ri], &st);
        qh_circuit_gate(c, QH_GATE_RY, (unsigned[]){regs[ri][1]}, 1, (double[]){0.3}, 1);
        char what[128];
        snprintf(what, sizeof what,
                 "variant %u (inverse %d swaps %d qasmbench %d decomposed %d cp %d, k=%u)", v,
                 st.inverse, st.swaps, st.qasmbench, st.decomposed, st.use_cp, ks[ri]);
        if (s_detect_check(c, what) != 1)
            fail_msg("%s: not recognised", what);
        qh_circuit_destroy(&c);
    }
}

/* One wrong angle: the whole sequence is left to the gates. (A part of it that is a QFT by
 * itself - the textbook QFT on the lowest m qubits is its own last gates; in QASMBench's
 * order the one on the top m qubits is its own first gates - may still be recognised; the
 * state must be right either way.) */
static void test_near_miss(void **state)
{
    (void)state;
    ref_rng r = {5};
    const unsigned n = 9, reg[] = {0, 1, 2, 3, 4, 5, 6};
    const unsigned k = 7, nphases = k * (k - 1) / 2;
    for (unsigned w = 0; w < nphases; w++) {
        for (int style = 0; style < 2; style++) {
            s_style st = {.qasmbench = style, .decomposed = style, .wrong = (int)w};
            qh_circuit *c = ref_random_circuit(n, 20, 0, &r);
            s_append_textbook(c, reg, k, &st);
            char what[64];
            snprintf(what, sizeof what, "near miss at phase %u, style %d", w, style);
            size_t found = s_detect_check(c, what);
            /* phases among the 4 lowest (textbook order: the last 6) or the 4 top qubits
             * (QASMBench order: the first 6) are inside every part that is a QFT */
            int inside_all = style ? w < 6 : w >= nphases - 6;
            if (found > 1 || (inside_all && found != 0))
                fail_msg("%s: %zu QFTs recognised", what, found);
            qh_circuit_destroy(&c);
        }
    }
    /* a phase missing: the h of its second qubit finds one too few */
    qh_circuit *c = NULL;
    qh_circuit_create(6, 0, &c);
    for (unsigned j = 6; j-- > 0;) {
        qh_circuit_gate(c, QH_GATE_H, &j, 1, NULL, 0);
        for (unsigned m = j; m-- > 0;)
            if (!(j == 3 && m == 1))
                qh_circuit_gate(c, QH_GATE_CP, (unsigned[]){m, j}, 2,
                                (double[]){M_PI / ldexp(1, (int)(j - m))}, 1);
    }
    assert_int_equal(s_detect_check(c, "a phase missing"), 0);
    qh_circuit_destroy(&c);
}

static void test_detect_qasmbench(void **state)
{
    (void)state;
    const char *files[] = {"small/qft_n4", "medium/qft_n18"};
    for (size_t f = 0; f < 2; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.qasm", QH_QASMBENCH_DIR, files[f]);
        qh_circuit *c = NULL;
        if (qh_qasm_parse_file(path, &c) != QH_OK)
            fail_msg("%s", qh_last_error());
        unsigned n = qh_circuit_num_qubits(c);
        qh_sim_result *a = s_run(c, (qh_plan_options){.no_product_start = 1});
        qh_sim_result *b = s_run(c, (qh_plan_options){.no_qft_detect = 1});
        assert_int_equal(a->plan_stats.num_qft_detected, 1);
        assert_int_equal(b->plan_stats.num_qft_detected, 0);
        double d = ref_max_diff(a->statevector, b->statevector, (size_t)1 << n);
        if (d > 1e-10)
            fail_msg("%s: recognised QFT differs from the gates by %g", files[f], d);
        qh_sim_result_destroy(&a);
        qh_sim_result_destroy(&b);
        qh_circuit_destroy(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers),        cmocka_unit_test(test_compose),
        cmocka_unit_test(test_detect_variants),  cmocka_unit_test(test_near_miss),
        cmocka_unit_test(test_detect_qasmbench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
