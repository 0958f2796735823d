/* The product start (mpi_sim/plan/start.c): circuits whose opening gates keep a basis state a
 * sum of product states, run from basis states and from general states under every
 * compilation variant against the dense reference; reversible circuits that never leave a
 * basis state; the QFT of a basis state; GHZ, W, swap-test and Bell-pair states (sums of a
 * known number of products); an input that would need too many products; parameters bound
 * twice; amplitudes written by the caller after qh_state_set_basis; mid-circuit
 * measurements after a start. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qhybrid/plan.h"
#include "qhybrid/qasm.h"
#include "qhybrid/rng.h"
#include "qhybrid/sim.h"
#include "qhybrid/state.h"
#include "tests/ref/ref_sim.h"

static const qh_plan_options s_variants[] = {
    {0},
    {.block_qubits = 4},
    {.block_qubits = 6},
    {.block_qubits = 5, .no_programs = 1},
    {.no_blocking = 1},
    {.no_fusion = 1, .no_blocking = 1},
};
#define S_NVARIANTS (sizeof s_variants / sizeof *s_variants)

static unsigned s_pick(ref_rng *r, unsigned n)
{
    return (unsigned)(ref_rng_next(r) % n);
}

/* k distinct qubits of n into q. */
static void s_qubits(ref_rng *r, unsigned n, unsigned k, unsigned *q)
{
    for (unsigned i = 0; i < k; i++) {
        int again;
        do {
            q[i] = s_pick(r, n);
            again = 0;
            for (unsigned j = 0; j < i; j++)
                again |= q[j] == q[i];
        } while (again);
    }
}

/* A random gate of the kinds a start can hold when their qubits allow (one-qubit gates,
 * X-type permutations, controlled one-qubit gates, diagonal gates) and of some it cannot
 * (rxx, controlled rotations on a superposed control). */
static void s_add_gate(qh_circuit *c, unsigned n, ref_rng *r)
{
    static const qh_gate g1[] = {QH_GATE_H,  QH_GATE_RX, QH_GATE_RY, QH_GATE_RZ,
                                 QH_GATE_U3, QH_GATE_X,  QH_GATE_S,  QH_GATE_T,
                                 QH_GATE_SX, QH_GATE_P,  QH_GATE_Y,  QH_GATE_Z};
    static const qh_gate gm[] = {QH_GATE_CX,  QH_GATE_CCX, QH_GATE_SWAP, QH_GATE_CSWAP,
                                 QH_GATE_CZ,  QH_GATE_CP,  QH_GATE_CRY,  QH_GATE_C3X,
                                 QH_GATE_RZZ, QH_GATE_RXX, QH_GATE_CCZ,  QH_GATE_CU3};
    qh_gate g = s_pick(r, 2) ? g1[s_pick(r, sizeof g1 / sizeof *g1)]
                             : gm[s_pick(r, sizeof gm / sizeof *gm)];
    const qh_gate_info *info = qh_gate_get_info(g);
    if (info->num_qubits > n)
        g = QH_GATE_H, info = qh_gate_get_info(g);
    unsigned q[4];
    s_qubits(r, n, info->num_qubits, q);
    double th[4];
    for (unsigned i = 0; i < 4; i++)
        th[i] = 6.3 * ref_rng_uniform(r) - 3.1;
    assert_int_equal(qh_circuit_gate(c, g, q, info->num_qubits, th, info->num_params), QH_OK);
}

/* Runs c on the state holding amplitudes psi (or the basis state |basis> when psi is NULL)
 * with plan options o; compares with the reference; returns the plan's start length. */
static size_t s_check(const qh_circuit *c, const qh_plan_options *o, uint64_t basis,
                      const double complex *psi, const char *what)
{
    const unsigned n = qh_circuit_num_qubits(c);
    const size_t len = (size_t)1 << n;
    double complex *want = calloc(len, sizeof *want);
    assert_non_null(want);
    if (psi)
        memcpy(want, psi, len * sizeof *want);
    else
        want[basis] = 1;
    assert_int_equal(ref_apply_circuit(want, n, c), 0);

    qh_plan *p = NULL;
    qh_state *s = NULL;
    assert_int_equal(qh_plan_create(c, o, &p), QH_OK);
    assert_int_equal(qh_state_create(n, 0, &s), QH_OK);
    if (psi)
        assert_int_equal(qh_state_set_amplitudes(s, psi), QH_OK);
    else
        assert_int_equal(qh_state_set_basis(s, basis), QH_OK);
    assert_int_equal(qh_plan_execute(p, s, NULL, NULL), QH_OK);
    double d = ref_max_diff(qh_state_amplitudes_const(s), want, len);
    if (!(d <= 1e-10))
        fail_msg("%s: n=%u basis %llu: max diff %g", what, n, (unsigned long long)basis, d);
    size_t start = qh_plan_get_stats(p).num_start;
    qh_state_destroy(&s);
    qh_plan_destroy(&p);
    free(want);
    return start;
}

static qh_circuit *s_parse(const char *src)
{
    qh_circuit *c = NULL;
    if (qh_qasm_parse_string(src, strlen(src), "t.qasm", &c) != QH_OK)
        fail_msg("%s", qh_last_error());
    return c;
}

static size_t s_terms(const qh_circuit *c, const qh_plan_options *o)
{
    qh_plan *p = NULL;
    assert_int_equal(qh_plan_create(c, o, &p), QH_OK);
    size_t t = qh_plan_get_stats(p).num_start_terms;
    qh_plan_destroy(&p);
    return t;
}

static void test_random_openings(void **state)
{
    (void)state;
    ref_rng r = {7};
    size_t runs = 0, started = 0, multi = 0, dropped = 0;
    for (unsigned n = 5; n <= 11; n++) {
        for (int trial = 0; trial < 8; trial++) {
            qh_circuit *c = NULL;
            assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
            /* an opening layer on most qubits, then a random mix */
            for (unsigned q = 0; q < n; q++)
                if (s_pick(&r, 4))
                    assert_int_equal(
                        qh_circuit_gate(c, s_pick(&r, 2) ? QH_GATE_H : QH_GATE_X, &q, 1, NULL, 0),
                        QH_OK);
            for (unsigned g = 0; g < 6 * n; g++)
                s_add_gate(c, n, &r);
            const size_t len = (size_t)1 << n;
            double complex *psi = malloc(len * sizeof *psi);
            assert_non_null(psi);
            ref_random_state(psi, n, &r);
            for (unsigned v = 0; v < S_NVARIANTS; v++) {
                uint64_t basis = ref_rng_next(&r) & (len - 1);
                started += s_check(c, &s_variants[v], basis, NULL, "basis state") > 0;
                runs++;
                s_check(c, &s_variants[v], 0, psi, "general state");
            }
            multi += s_terms(c, NULL) > 1;
            /* a start the fused plan does not keep leaves it as if there were none */
            const qh_plan_options fused = {.no_blocking = 1},
                                  plain = {.no_blocking = 1, .no_product_start = 1};
            qh_plan *pf = NULL, *pp = NULL;
            assert_int_equal(qh_plan_create(c, &fused, &pf), QH_OK);
            assert_int_equal(qh_plan_create(c, &plain, &pp), QH_OK);
            if (qh_plan_get_stats(pf).num_start == 0) {
                assert_int_equal(qh_plan_get_stats(pf).num_steps, qh_plan_get_stats(pp).num_steps);
                dropped++;
            }
            qh_plan_destroy(&pf);
            qh_plan_destroy(&pp);
            free(psi);
            qh_circuit_destroy(&c);
        }
    }
    /* the checks above must have gone through the start, not around it, and some through
     * sums of several products */
    if (started * 2 < runs)
        fail_msg("only %zu of %zu runs had a product start", started, runs);
    if (multi < 8)
        fail_msg("only %zu circuits had a start of several products", multi);
    if (dropped == 0)
        fail_msg("no fused plan dropped its start");
}

/* X, CX, Toffoli, SWAP, Fredkin and c3x gates map a basis state to a basis state: the whole
 * circuit is the start, and the result is exact. */
static void test_reversible(void **state)
{
    (void)state;
    ref_rng r = {11};
    const unsigned n = 12;
    const size_t len = (size_t)1 << n;
    for (int trial = 0; trial < 10; trial++) {
        qh_circuit *c = NULL;
        assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
        uint64_t in = ref_rng_next(&r) & (len - 1), out = in;
        for (unsigned g = 0; g < 60; g++) {
            static const qh_gate gs[] = {QH_GATE_X,    QH_GATE_CX,    QH_GATE_CCX,
                                         QH_GATE_SWAP, QH_GATE_CSWAP, QH_GATE_C3X};
            qh_gate gate = gs[s_pick(&r, sizeof gs / sizeof *gs)];
            unsigned k = qh_gate_get_info(gate)->num_qubits, q[4];
            s_qubits(&r, n, k, q);
            assert_int_equal(qh_circuit_gate(c, gate, q, k, NULL, 0), QH_OK);
            /* the same gate on the classical bits */
            unsigned nc = qh_gate_get_info(gate)->num_controls;
            int on = 1;
            for (unsigned j = 0; j < nc; j++)
                on &= (int)(out >> q[j] & 1);
            if (!on)
                continue;
            if (gate == QH_GATE_SWAP || gate == QH_GATE_CSWAP) {
                uint64_t a = out >> q[nc] & 1, b = out >> q[nc + 1] & 1;
                out = (out & ~(((uint64_t)1 << q[nc]) | ((uint64_t)1 << q[nc + 1]))) |
                      (a << q[nc + 1]) | (b << q[nc]);
            } else {
                out ^= (uint64_t)1 << q[nc];
            }
        }
        for (unsigned v = 0; v < S_NVARIANTS; v++) {
            qh_plan *p = NULL;
            qh_state *s = NULL;
            assert_int_equal(qh_plan_create(c, &s_variants[v], &p), QH_OK);
            const qh_plan_stats st = qh_plan_get_stats(p);
            /* every gate, but for windows whose product is the identity (cx cx, x x,
             * swap swap), which are merged into one diagonal and dropped (plan/diagrun.c) */
            assert_true(st.num_start > 40 && st.num_start <= 60);
            assert_true(st.start_sparse);
            assert_int_equal(qh_state_create(n, 0, &s), QH_OK);
            assert_int_equal(qh_state_set_basis(s, in), QH_OK);
            assert_int_equal(qh_plan_execute(p, s, NULL, NULL), QH_OK);
            const double complex *a = qh_state_amplitudes_const(s);
            for (size_t i = 0; i < len; i++)
                if (a[i] != (i == out ? 1 : 0))
                    fail_msg("trial %d variant %u: amplitude %zu is %g%+gi, |%llu> expected", trial,
                             v, i, creal(a[i]), cimag(a[i]), (unsigned long long)out);
            /* the result is known to be a basis state: a second run starts from it too */
            double complex *want = calloc(len, sizeof *want);
            assert_non_null(want);
            want[out] = 1;
            assert_int_equal(ref_apply_circuit(want, n, c), 0);
            assert_int_equal(qh_plan_execute(p, s, NULL, NULL), QH_OK);
            assert_true(ref_max_diff(qh_state_amplitudes_const(s), want, len) == 0);
            free(want);
            qh_state_destroy(&s);
            qh_plan_destroy(&p);
        }
        qh_circuit_destroy(&c);
    }
}

/* The QFT of a basis state is a product state: gate by gate, every step is the start. */
static void test_qft_of_basis_state(void **state)
{
    (void)state;
    const unsigned n = 10;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    assert_int_equal(ref_qft_gates(c, n, 1), 0);
    for (unsigned v = 0; v < S_NVARIANTS; v++) {
        qh_plan_options o = s_variants[v];
        o.no_qft_detect = 1;
        size_t start = s_check(c, &o, 0x2D5, NULL, "QFT");
        assert_int_equal(start, (size_t)(n + n * (n - 1) / 2 + n / 2));
    }
    qh_circuit_destroy(&c);
}

/* QFT detection against the product start, by cost: the textbook QFT of a basis state |x>
 * (X gates, then the QFT's gates) is left to the start, one write, rather than run as an FFT;
 * after a general state (rotations and CNOTs on every qubit) it is still one FFT. Both give
 * the reference's amplitudes, from the basis state and from a general input state. */
static void test_qft_detect_by_cost(void **state)
{
    (void)state;
    const unsigned n = 10;
    const size_t len = (size_t)1 << n, qft_gates = n + n * (n - 1) / 2 + n / 2;
    ref_rng r = {5};
    double complex *psi = malloc(len * sizeof *psi);
    assert_non_null(psi);
    ref_random_state(psi, n, &r);
    for (int general = 0; general < 2; general++) {
        qh_circuit *c = NULL;
        assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
        const unsigned q3[] = {3}, q7[] = {7};
        assert_int_equal(qh_circuit_gate(c, QH_GATE_X, q3, 1, NULL, 0), QH_OK);
        assert_int_equal(qh_circuit_gate(c, QH_GATE_X, q7, 1, NULL, 0), QH_OK);
        for (unsigned q = 0; general && q < n; q++) {
            const double th = 0.3 + 0.2 * q;
            assert_int_equal(qh_circuit_gate(c, QH_GATE_RY, &q, 1, &th, 1), QH_OK);
        }
        for (unsigned q = 0; general && q + 1 < n; q++) {
            const unsigned cx[] = {q, q + 1};
            assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, cx, 2, NULL, 0), QH_OK);
        }
        assert_int_equal(ref_qft_gates(c, n, 1), 0);
        for (unsigned v = 0; v < S_NVARIANTS; v++) {
            qh_plan *p = NULL;
            assert_int_equal(qh_plan_create(c, &s_variants[v], &p), QH_OK);
            const qh_plan_stats st = qh_plan_get_stats(p);
            qh_plan_destroy(&p);
            if (general) {
                if (st.num_qft != 1 || st.num_qft_detected != 1)
                    fail_msg("variant %u: a QFT after a general state is not an FFT", v);
            } else if (st.num_qft != 0 || st.num_start != 2 + qft_gates) {
                fail_msg("variant %u: the QFT of |x> is %zu FFTs, %zu start steps", v, st.num_qft,
                         st.num_start);
            }
            s_check(c, &s_variants[v], 0, NULL, general ? "general, QFT" : "QFT of |x>");
            s_check(c, &s_variants[v], 0, psi, general ? "general, QFT" : "QFT of |x>");
        }
        qh_circuit_destroy(&c);
    }
    free(psi);
}

/* States that are sums of a few products, the whole circuit in the start: each must come
 * out as the reference has it, from |0...0> and from another basis state, and be tracked
 * as the number of products it is made of. */
static void test_sums_of_products(void **state)
{
    (void)state;
    char src[4096];
    struct {
        const char *what;
        unsigned n;
        size_t terms;
    } cases[] = {
        {"ghz", 9, 2},          {"w", 9, 9}, {"swap test", 9, 2}, {"bell pairs", 10, 32},
        {"bell pairs", 14, 64},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const unsigned n = cases[i].n;
        int len =
            snprintf(src, sizeof src, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[%u];\n", n);
        if (i == 0) { /* (|0..0> + |1..1>) / sqrt 2 */
            len += snprintf(src + len, sizeof src - len, "h q[0];\n");
            for (unsigned q = 0; q + 1 < n; q++)
                len += snprintf(src + len, sizeof src - len, "cx q[%u],q[%u];\n", q, q + 1);
        } else if (i == 1) { /* QASMBench's W state: a chain of cz between rotations */
            len += snprintf(src + len, sizeof src - len, "x q[%u];\n", n - 1);
            for (unsigned q = n - 1; q-- > 0;) {
                const double th = acos(sqrt(1.0 / (q + 2)));
                len += snprintf(src + len, sizeof src - len,
                                "ry(%.17g) q[%u];\ncz q[%u],q[%u];\nry(%.17g) q[%u];\n", -th, q,
                                q + 1, q, th, q);
            }
            for (unsigned q = n - 1; q-- > 0;)
                len += snprintf(src + len, sizeof src - len, "cx q[%u],q[%u];\n", q, q + 1);
        } else if (i == 2) { /* a Fredkin gate per pair on a control in superposition */
            for (unsigned q = 1; q < n; q++)
                len += snprintf(src + len, sizeof src - len, "ry(%.3f) q[%u];\n", 0.3 * q, q);
            len += snprintf(src + len, sizeof src - len, "h q[0];\n");
            for (unsigned q = 1; q <= n / 2; q++)
                len += snprintf(src + len, sizeof src - len, "cswap q[0],q[%u],q[%u];\n", q,
                                q + n / 2);
            len += snprintf(src + len, sizeof src - len, "h q[0];\n");
        } else { /* (|00> + |11>) on every pair: 2^(n/2) products, no more than 64 kept */
            for (unsigned q = 0; q + 1 < n; q += 2)
                len += snprintf(src + len, sizeof src - len, "h q[%u];\ncx q[%u],q[%u];\n", q, q,
                                q + 1);
        }
        assert_true(len > 0 && (size_t)len < sizeof src);
        qh_circuit *c = s_parse(src);
        for (unsigned v = 0; v < S_NVARIANTS; v++) {
            assert_int_equal(s_terms(c, &s_variants[v]), cases[i].terms);
            char what[64];
            snprintf(what, sizeof what, "%s, variant %u", cases[i].what, v);
            s_check(c, &s_variants[v], 0, NULL, what);
            s_check(c, &s_variants[v], 0x5A & (((uint64_t)1 << n) - 1), NULL, what);
        }
        qh_circuit_destroy(&c);
    }
}

/* On |0...0> the controlled Hadamards below do nothing, and the start holds one product;
 * from an input with qubit 0 set, the controlled-Z gates would split it into 2^7: that run
 * must do without the start and still be right. */
static void test_too_many_products(void **state)
{
    (void)state;
    const char *src = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[10];\n"
                      "h q[8]; h q[9];\n"
                      "ch q[0],q[1]; ch q[0],q[2]; ch q[0],q[3]; ch q[0],q[4]; ch q[0],q[5];\n"
                      "ch q[0],q[6]; ch q[0],q[7];\n"
                      "cz q[1],q[8]; cz q[2],q[9]; cz q[3],q[8]; cz q[4],q[9]; cz q[5],q[8];\n"
                      "cz q[6],q[9]; cz q[7],q[8];\n";
    qh_circuit *c = s_parse(src);
    for (unsigned v = 0; v < S_NVARIANTS; v++) {
        assert_int_equal(s_terms(c, &s_variants[v]), 1);
        assert_int_equal(s_check(c, &s_variants[v], 0, NULL, "on |0>"), 16);
        s_check(c, &s_variants[v], 1, NULL, "on |1>");
        s_check(c, &s_variants[v], 0x2A3, NULL, "on another input");
    }
    qh_circuit_destroy(&c);
}

/* A parametric opening layer, bound to two sets of values in turn. */
static void test_parameters(void **state)
{
    (void)state;
    const unsigned n = 9;
    qh_circuit *c = NULL;
    unsigned ia = 0, ib = 0;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    assert_int_equal(qh_circuit_add_parameter(c, "a", &ia), QH_OK);
    assert_int_equal(qh_circuit_add_parameter(c, "b", &ib), QH_OK);
    const qh_expr_instr ea[] = {{.op = QH_EXPR_PARAM, .param = 0}};
    const qh_expr_instr eb[] = {
        {.op = QH_EXPR_PARAM, .param = 1}, {.op = QH_EXPR_CONST, .value = 2}, {.op = QH_EXPR_MUL}};
    const qh_expr_instr *pa[] = {ea}, *pb[] = {eb};
    const unsigned la = 1, lb = 3;
    for (unsigned q = 0; q < n; q++)
        assert_int_equal(qh_circuit_gate_expr(c, q % 2 ? QH_GATE_RY : QH_GATE_RX, &q, 1,
                                              q % 3 ? pa : pb, q % 3 ? &la : &lb, 1),
                         QH_OK);
    for (unsigned q = 0; q + 1 < n; q++) {
        unsigned qs[2] = {q, q + 1};
        assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, qs, 2, NULL, 0), QH_OK);
    }
    unsigned q1 = 1;
    assert_int_equal(qh_circuit_gate_expr(c, QH_GATE_RZ, &q1, 1, pb, &lb, 1), QH_OK);
    unsigned started = 0; /* plans (of two per variant) that kept the start */

    for (unsigned v = 0; v < S_NVARIANTS; v++) {
        qh_plan *p = NULL;
        assert_int_equal(qh_plan_create(c, &s_variants[v], &p), QH_OK);
        for (int round = 0; round < 2; round++) {
            double vals[2] = {round ? -1.1 : 0.4, round ? 2.5 : 0.9};
            assert_int_equal(qh_plan_bind(p, vals, 2), QH_OK);
            started += qh_plan_get_stats(p).num_start >= n;
            /* the reference: the same circuit with the values written in */
            qh_circuit *bound = NULL;
            assert_int_equal(qh_circuit_create(n, 0, &bound), QH_OK);
            for (unsigned q = 0; q < n; q++) {
                double th = q % 3 ? vals[0] : 2 * vals[1];
                assert_int_equal(
                    qh_circuit_gate(bound, q % 2 ? QH_GATE_RY : QH_GATE_RX, &q, 1, &th, 1), QH_OK);
            }
            for (unsigned q = 0; q + 1 < n; q++) {
                unsigned qs[2] = {q, q + 1};
                assert_int_equal(qh_circuit_gate(bound, QH_GATE_CX, qs, 2, NULL, 0), QH_OK);
            }
            double th = 2 * vals[1];
            assert_int_equal(qh_circuit_gate(bound, QH_GATE_RZ, &q1, 1, &th, 1), QH_OK);
            const size_t len = (size_t)1 << n;
            double complex *want = calloc(len, sizeof *want);
            assert_non_null(want);
            want[3] = 1;
            assert_int_equal(ref_apply_circuit(want, n, bound), 0);
            qh_state *s = NULL;
            assert_int_equal(qh_state_create(n, 0, &s), QH_OK);
            assert_int_equal(qh_state_set_basis(s, 3), QH_OK);
            assert_int_equal(qh_plan_execute(p, s, NULL, NULL), QH_OK);
            double d = ref_max_diff(qh_state_amplitudes_const(s), want, len);
            if (!(d <= 1e-10))
                fail_msg("variant %u round %d: max diff %g", v, round, d);
            qh_state_destroy(&s);
            free(want);
            qh_circuit_destroy(&bound);
        }
        qh_plan_destroy(&p);
    }
    /* a plan may do without the start where it saves nothing; most keep it */
    assert_true(started >= S_NVARIANTS);
    qh_circuit_destroy(&c);
}

/* Amplitudes written through qh_state_amplitudes after qh_state_set_basis: the state is no
 * longer taken for a basis state. */
static void test_written_after_basis(void **state)
{
    (void)state;
    const unsigned n = 8;
    qh_circuit *c = NULL;
    assert_int_equal(qh_circuit_create(n, 0, &c), QH_OK);
    for (unsigned q = 0; q < n; q++)
        assert_int_equal(qh_circuit_gate(c, QH_GATE_H, &q, 1, NULL, 0), QH_OK);
    unsigned qs[2] = {0, 5};
    assert_int_equal(qh_circuit_gate(c, QH_GATE_CX, qs, 2, NULL, 0), QH_OK);
    qh_plan *p = NULL;
    assert_int_equal(qh_plan_create(c, NULL, &p), QH_OK);
    assert_true(qh_plan_get_stats(p).num_start >= n);
    qh_state *s = NULL;
    assert_int_equal(qh_state_create(n, 0, &s), QH_OK);
    assert_int_equal(qh_state_set_basis(s, 3), QH_OK);
    double complex *a = qh_state_amplitudes(s);
    a[3] = 0;
    a[5] = 0.6;
    a[6] = 0.8 * I;
    assert_int_equal(qh_plan_execute(p, s, NULL, NULL), QH_OK);
    const size_t len = (size_t)1 << n;
    double complex *want = calloc(len, sizeof *want);
    assert_non_null(want);
    want[5] = 0.6;
    want[6] = 0.8 * I;
    assert_int_equal(ref_apply_circuit(want, n, c), 0);
    assert_true(ref_max_diff(qh_state_amplitudes_const(s), want, len) <= 1e-12);
    free(want);
    qh_state_destroy(&s);
    qh_plan_destroy(&p);
    qh_circuit_destroy(&c);
}

static qh_sim_result *s_sim(const qh_circuit *c, int no_start)
{
    qh_sim_options o = {.shots = 4000, .seed = 5, .probabilities = 1};
    o.plan.no_product_start = no_start;
    qh_sim_result *r = NULL;
    if (qh_sim_run(c, &o, &r) != QH_OK)
        fail_msg("qh_sim_run: %s", qh_last_error());
    return r;
}

/* A start, then a mid-circuit measurement, a condition and a reset: shot by shot, the
 * same counts with the start as without it; terminal measurements likewise. */
static void test_with_measurements(void **state)
{
    (void)state;
    static const char *src[] = {
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[7];\ncreg c[7];\n"
        "h q[0]; ry(0.7) q[1]; x q[2]; rx(1.9) q[3]; h q[4]; h q[5]; t q[5]; u3(0.3,0.2,0.1) "
        "q[6];\n"
        "cx q[2],q[3]; ccx q[2],q[3],q[6]; cz q[0],q[2];\n"
        "cx q[0],q[1];\nmeasure q[1] -> c[1];\nif(c==2) x q[4];\nreset q[0];\nh q[0];\n"
        "cswap q[0],q[5],q[6];\nmeasure q -> c;\n",
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[9];\ncreg c[9];\n"
        "x q[0]; x q[2]; x q[8]; h q[4]; cx q[0],q[1]; ccx q[0],q[1],q[3]; cx q[4],q[5];\n"
        "swap q[2],q[6]; cp(0.5) q[8],q[6]; crx(0.9) q[4],q[7]; ry(0.4) q[3]; cx q[3],q[2];\n"
        "measure q -> c;\n",
    };
    for (size_t i = 0; i < sizeof src / sizeof *src; i++) {
        qh_circuit *c = NULL;
        assert_int_equal(qh_qasm_parse_string(src[i], strlen(src[i]), "t.qasm", &c), QH_OK);
        qh_sim_result *a = s_sim(c, 0), *b = s_sim(c, 1);
        assert_true(a->plan_stats.num_start > 0);
        assert_int_equal(b->plan_stats.num_start, 0);
        assert_int_equal(a->num_counts, b->num_counts);
        for (size_t k = 0; k < a->num_counts; k++) {
            assert_string_equal(a->counts[k].bits, b->counts[k].bits);
            assert_int_equal(a->counts[k].count, b->counts[k].count);
        }
        const size_t len = (size_t)1 << qh_circuit_num_qubits(c);
        for (size_t k = 0; k < len; k++)
            assert_true(fabs(a->probabilities[k] - b->probabilities[k]) <= 1e-12);
        qh_sim_result_destroy(&a);
        qh_sim_result_destroy(&b);
        qh_circuit_destroy(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_openings),    cmocka_unit_test(test_reversible),
        cmocka_unit_test(test_qft_of_basis_state), cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_qft_detect_by_cost), cmocka_unit_test(test_written_after_basis),
        cmocka_unit_test(test_with_measurements),  cmocka_unit_test(test_sums_of_products),
        cmocka_unit_test(test_too_many_products),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
