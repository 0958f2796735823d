/* The reference's gate table (ref_gates.c) against the definitions it was written from, so
 * that the table the engine is checked against is itself checked:
 * - every gate of OpenQASM 3's stdgates.inc exactly, global phase included, from the
 *   built-in U, gphase and the ctrl / inv / pow modifiers as the OpenQASM 3 specification
 *   defines them (u2, u3 and u with the documented difference of circuit.h's convention);
 * - every gate of qelib1.inc against its decomposition there into u1, u2, u3, cx and the
 *   gates before it, up to the global phase that OpenQASM 2 leaves open;
 * - ryy, ccz, mcx and mcp, in neither file, from their formulas.
 * Every standard gate must be covered by one of these checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qhybrid/circuit.h"
#include "tests/ref/ref_gates.h"
#include "tests/ref/ref_sim.h"

/* Parameter values every parametrised check runs at (θ, φ, λ, γ in that order). */
static const double s_params[][4] = {
    {0, 0, 0, 0},
    {0.3, -1.2, 2.5, 0.8},
    {M_PI / 2, M_PI, -M_PI / 2, M_PI / 4},
    {-2.9, 4.1, -0.05, -3.3},
    {7.0, -6.5, 12.0, 1.0},
};
#define S_NPARAMS (sizeof s_params / sizeof s_params[0])

/* Gates some check has covered. */
static int s_covered[QH_GATE_COUNT];

static void s_ref(qh_gate g, const double *p, double complex *m)
{
    assert_int_equal(ref_gate_matrix(g, p, m), 0);
    s_covered[g] = 1;
}

static void s_assert_equal(const double complex *a, const double complex *b, unsigned len,
                           const char *what, const double *p)
{
    for (unsigned i = 0; i < len; i++)
        if (!(cabs(a[i] - b[i]) <= 1e-12))
            fail_msg("%s at (%g, %g, %g, %g): entry %u is (%.15g, %.15g), the definition gives "
                     "(%.15g, %.15g)",
                     what, p[0], p[1], p[2], p[3], i, creal(a[i]), cimag(a[i]), creal(b[i]),
                     cimag(b[i]));
}

/* ---- OpenQASM 3: stdgates.inc from U, gphase, ctrl, inv and pow ----------------------- */

/* The built-in U of the OpenQASM 3 specification:
 * U(θ,φ,λ) = 1/2 [[1 + e^{iθ}, -i e^{iλ} (1 - e^{iθ})], [i e^{iφ} (1 - e^{iθ}),
 * e^{i(φ+λ)} (1 + e^{iθ})]]. */
static void s_spec_u(double th, double ph, double la, double complex *m)
{
    const double complex e = cexp(I * th);
    m[0] = (1 + e) / 2;
    m[1] = -I * cexp(I * la) * (1 - e) / 2;
    m[2] = I * cexp(I * ph) * (1 - e) / 2;
    m[3] = cexp(I * (ph + la)) * (1 + e) / 2;
}

/* m *= e^{i phase} (gphase(phase) next to a gate; p(phase) on the control of a ctrl @). */
static void s_gphase(double phase, double complex *m, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        m[i] *= cexp(I * phase);
}

/* out = a^dagger (inv @ on a unitary) */
static void s_inv(const double complex *a, double complex *out)
{
    out[0] = conj(a[0]);
    out[1] = conj(a[2]);
    out[2] = conj(a[1]);
    out[3] = conj(a[3]);
}

/* out = pow(0.5) @ a for a 2x2 unitary with two distinct eigenvalues: a = Σ e^{iα} P_α with
 * α in (-π, π] (the specification's principal branch), out = Σ e^{iα/2} P_α. */
static void s_pow_half(const double complex *a, double complex *out)
{
    const double complex tr = a[0] + a[3], det = a[0] * a[3] - a[1] * a[2];
    const double complex d = csqrt(tr * tr - 4 * det);
    const double complex ev[2] = {(tr + d) / 2, (tr - d) / 2};
    double complex root[2];
    for (int k = 0; k < 2; k++) {
        double arg = carg(ev[k]);
        if (arg <= -M_PI + 1e-12) /* -1 is e^{iπ}, not e^{-iπ} */
            arg = M_PI;
        root[k] = cexp(I * arg / 2);
    }
    /* P_0 = (a - ev1 I) / (ev0 - ev1), P_1 = I - P_0 */
    for (int i = 0; i < 4; i++) {
        const double complex id = (i == 0 || i == 3) ? 1 : 0;
        const double complex p0 = (a[i] - ev[1] * id) / (ev[0] - ev[1]);
        out[i] = root[0] * p0 + root[1] * (id - p0);
    }
}

/* The 4x4 matrix of cx with control = target bit `ctl` and target = the other bit. */
static void s_cx4(unsigned ctl, double complex *m)
{
    memset(m, 0, 16 * sizeof *m);
    for (unsigned col = 0; col < 4; col++) {
        unsigned row = (col >> ctl & 1) ? col ^ (1u << (1 - ctl)) : col;
        m[row * 4 + col] = 1;
    }
}

static void s_mul4(const double complex *a, const double complex *b, double complex *out)
{
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            double complex acc = 0;
            for (int k = 0; k < 4; k++)
                acc += a[r * 4 + k] * b[k * 4 + c];
            out[r * 4 + c] = acc;
        }
}

static void test_stdgates(void **state)
{
    (void)state;
    double complex m[16], d[16], x[4], z[4], s[4], t[4];
    const double zero[4] = {0};
    /* gates without parameters */
    s_spec_u(0, 0, 0, d);
    s_ref(QH_GATE_ID, NULL, m);
    s_assert_equal(m, d, 4, "id = U(0,0,0)", zero);
    s_spec_u(M_PI, 0, M_PI, x);
    s_gphase(-M_PI / 2, x, 4);
    s_ref(QH_GATE_X, NULL, m);
    s_assert_equal(m, x, 4, "x = U(π,0,π) gphase(-π/2)", zero);
    s_spec_u(M_PI, M_PI / 2, M_PI / 2, d);
    s_gphase(-M_PI / 2, d, 4);
    s_ref(QH_GATE_Y, NULL, m);
    s_assert_equal(m, d, 4, "y = U(π,π/2,π/2) gphase(-π/2)", zero);
    s_spec_u(M_PI / 2, 0, M_PI, d);
    s_gphase(-M_PI / 4, d, 4);
    s_ref(QH_GATE_H, NULL, m);
    s_assert_equal(m, d, 4, "h = U(π/2,0,π) gphase(-π/4)", zero);
    s_ref(QH_GATE_CH, NULL, m);
    s_assert_equal(m, d, 4, "ch = ctrl @ h", zero);
    /* p(λ) = ctrl @ gphase(λ): e^{iλ} on |1> */
    z[0] = 1, z[1] = 0, z[2] = 0, z[3] = cexp(I * M_PI);
    s_ref(QH_GATE_Z, NULL, m);
    s_assert_equal(m, z, 4, "z = p(π)", zero);
    s_ref(QH_GATE_CZ, NULL, m);
    s_assert_equal(m, z, 4, "cz = ctrl @ z", zero);
    s_ref(QH_GATE_CCZ, NULL, m);
    s_assert_equal(m, z, 4, "ccz = ctrl @ ctrl @ z", zero);
    s_pow_half(z, s);
    s_ref(QH_GATE_S, NULL, m);
    s_assert_equal(m, s, 4, "s = pow(0.5) @ z", zero);
    s_inv(s, d);
    s_ref(QH_GATE_SDG, NULL, m);
    s_assert_equal(m, d, 4, "sdg = inv @ pow(0.5) @ z", zero);
    s_pow_half(s, t);
    s_ref(QH_GATE_T, NULL, m);
    s_assert_equal(m, t, 4, "t = pow(0.5) @ s", zero);
    s_inv(t, d);
    s_ref(QH_GATE_TDG, NULL, m);
    s_assert_equal(m, d, 4, "tdg = inv @ pow(0.5) @ s", zero);
    s_pow_half(x, d);
    s_ref(QH_GATE_SX, NULL, m);
    s_assert_equal(m, d, 4, "sx = pow(0.5) @ x", zero);
    s_ref(QH_GATE_CSX, NULL, m);
    s_assert_equal(m, d, 4, "csx = ctrl @ sx", zero);
    s_inv(d, t);
    s_ref(QH_GATE_SXDG, NULL, m);
    s_assert_equal(m, t, 4, "sxdg = inv @ sx", zero);
    const qh_gate xs[] = {QH_GATE_CX, QH_GATE_CCX, QH_GATE_C3X, QH_GATE_C4X, QH_GATE_MCX};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        s_ref(xs[i], NULL, m);
        s_assert_equal(m, x, 4, qh_gate_get_info(xs[i])->name, zero);
    }
    s_spec_u(M_PI, M_PI / 2, M_PI / 2, d);
    s_gphase(-M_PI / 2, d, 4);
    s_ref(QH_GATE_CY, NULL, m);
    s_assert_equal(m, d, 4, "cy = ctrl @ y", zero);
    /* swap = cx a,b; cx b,a; cx a,b (a = target bit 0); cswap = ctrl @ swap */
    double complex ab[16], ba[16], tmp[16], sw[16];
    s_cx4(0, ab);
    s_cx4(1, ba);
    s_mul4(ba, ab, tmp);
    s_mul4(ab, tmp, sw);
    s_ref(QH_GATE_SWAP, NULL, m);
    s_assert_equal(m, sw, 16, "swap = cx a,b; cx b,a; cx a,b", zero);
    s_ref(QH_GATE_CSWAP, NULL, m);
    s_assert_equal(m, sw, 16, "cswap = ctrl @ swap", zero);

    for (size_t k = 0; k < S_NPARAMS; k++) {
        const double *p = s_params[k];
        const double th = p[0], ph = p[1], la = p[2], ga = p[3];
        /* rotations, each also under ctrl @ */
        s_spec_u(th, -M_PI / 2, M_PI / 2, d);
        s_gphase(-th / 2, d, 4);
        s_ref(QH_GATE_RX, p, m);
        s_assert_equal(m, d, 4, "rx(θ) = U(θ,-π/2,π/2) gphase(-θ/2)", p);
        s_ref(QH_GATE_CRX, p, m);
        s_assert_equal(m, d, 4, "crx = ctrl @ rx", p);
        s_spec_u(th, 0, 0, d);
        s_gphase(-th / 2, d, 4);
        s_ref(QH_GATE_RY, p, m);
        s_assert_equal(m, d, 4, "ry(θ) = U(θ,0,0) gphase(-θ/2)", p);
        s_ref(QH_GATE_CRY, p, m);
        s_assert_equal(m, d, 4, "cry = ctrl @ ry", p);
        s_spec_u(0, 0, th, d);
        s_gphase(-th / 2, d, 4);
        s_ref(QH_GATE_RZ, p, m);
        s_assert_equal(m, d, 4, "rz(λ) = gphase(-λ/2) U(0,0,λ)", p);
        s_ref(QH_GATE_CRZ, p, m);
        s_assert_equal(m, d, 4, "crz = ctrl @ rz", p);
        /* phases: p = ctrl @ gphase, u1 = U(0,0,λ) */
        const double complex pd[4] = {1, 0, 0, cexp(I * th)};
        const qh_gate ps[] = {QH_GATE_P, QH_GATE_CP, QH_GATE_MCP};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
            s_ref(ps[i], p, m);
            s_assert_equal(m, pd, 4, qh_gate_get_info(ps[i])->name, p);
        }
        s_spec_u(0, 0, th, d);
        s_ref(QH_GATE_U1, p, m);
        s_assert_equal(m, d, 4, "u1(λ) = U(0,0,λ)", p);
        s_ref(QH_GATE_CU1, p, m);
        s_assert_equal(m, d, 4, "cu1 = ctrl @ u1", p);
        /* cu(θ,φ,λ,γ) = p(γ-θ/2) on the control; ctrl @ U(θ,φ,λ) */
        s_spec_u(th, ph, la, d);
        s_gphase(ga - th / 2, d, 4);
        s_ref(QH_GATE_CU, p, m);
        s_assert_equal(m, d, 4, "cu(θ,φ,λ,γ) = p(γ-θ/2) a; ctrl @ U(θ,φ,λ) a,b", p);
        /* u3 (and cu3's target part): stdgates' u3 = gphase(-(φ+λ+θ)/2) U(θ,φ,λ); the
         * engine's (Qiskit's) u3 is e^{i(φ+λ)/2} times that. */
        s_spec_u(th, ph, la, d);
        s_gphase(-(ph + la + th) / 2 + (ph + la) / 2, d, 4);
        s_ref(QH_GATE_U3, p, m);
        s_assert_equal(m, d, 4, "u3(θ,φ,λ) = e^{i(φ+λ)/2} stdgates' u3", p);
        s_ref(QH_GATE_CU3, p, m);
        s_assert_equal(m, d, 4, "cu3 = ctrl @ u3", p);
        s_ref(QH_GATE_U, p, m);
        s_assert_equal(m, d, 4, "u(θ,φ,λ) = e^{-iθ/2} U(θ,φ,λ)", p);
        /* u2: stdgates' u2 = gphase(-(φ+λ+π/2)/2) U(π/2,φ,λ); likewise e^{i(φ+λ)/2} apart */
        s_spec_u(M_PI / 2, p[0], p[1], d);
        s_gphase(-(p[0] + p[1] + M_PI / 2) / 2 + (p[0] + p[1]) / 2, d, 4);
        s_ref(QH_GATE_U2, p, m);
        s_assert_equal(m, d, 4, "u2(φ,λ) = e^{i(φ+λ)/2} stdgates' u2", p);
    }
}

/* ---- OpenQASM 2: qelib1.inc's decompositions ---------------------------------------- */

static void s_g(qh_circuit *c, qh_gate g, const unsigned *q, const double *p)
{
    const qh_gate_info *in = qh_gate_get_info(g);
    assert_int_equal(qh_circuit_gate(c, g, q, in->num_qubits, p, in->num_params), QH_OK);
}

#define S_G(c, gate, ...) s_g(c, QH_GATE_##gate, (const unsigned[]){__VA_ARGS__}, NULL)
#define S_GP(c, gate, params, ...)                                                                 \
    s_g(c, QH_GATE_##gate, (const unsigned[]){__VA_ARGS__}, (const double[])params)
#define S_ARGS(...)                                                                                \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

/* h t; cu1(angle) c,t; h t: a controlled e^{i angle} on |-> */
static void s_hcu1h(qh_circuit *c, unsigned ctl, unsigned tgt, double angle)
{
    S_G(c, H, tgt);
    S_GP(c, CU1, S_ARGS(angle), ctl, tgt);
    S_G(c, H, tgt);
}

/* qelib1.inc's c3sqrtx: controlled phases ±π/8 on |-> of d, over the parities of a, b, c
 * in Gray code order, beginning with a positive one. */
static void s_c3sqrtx(qh_circuit *c, unsigned a, unsigned b, unsigned cc, unsigned d)
{
    const double q = M_PI / 8;
    s_hcu1h(c, a, d, q);
    S_G(c, CX, a, b);
    s_hcu1h(c, b, d, -q);
    S_G(c, CX, a, b);
    s_hcu1h(c, b, d, q);
    S_G(c, CX, b, cc);
    s_hcu1h(c, cc, d, -q);
    S_G(c, CX, a, cc);
    s_hcu1h(c, cc, d, q);
    S_G(c, CX, b, cc);
    s_hcu1h(c, cc, d, -q);
    S_G(c, CX, a, cc);
    s_hcu1h(c, cc, d, q);
}

/* qelib1.inc's c3x: h d, phases ±π/8 on the parities of a, b, c, d, h d. */
static void s_c3x(qh_circuit *c)
{
    const double q = M_PI / 8;
    const unsigned a = 0, b = 1, cc = 2, d = 3;
    S_G(c, H, d);
    S_GP(c, P, S_ARGS(q), a), S_GP(c, P, S_ARGS(q), b), S_GP(c, P, S_ARGS(q), cc);
    S_GP(c, P, S_ARGS(q), d);
    S_G(c, CX, a, b), S_GP(c, P, S_ARGS(-q), b);
    S_G(c, CX, a, b);
    S_G(c, CX, b, cc), S_GP(c, P, S_ARGS(-q), cc);
    S_G(c, CX, a, cc), S_GP(c, P, S_ARGS(q), cc);
    S_G(c, CX, b, cc), S_GP(c, P, S_ARGS(-q), cc);
    S_G(c, CX, a, cc);
    S_G(c, CX, cc, d), S_GP(c, P, S_ARGS(-q), d);
    S_G(c, CX, b, d), S_GP(c, P, S_ARGS(q), d);
    S_G(c, CX, cc, d), S_GP(c, P, S_ARGS(-q), d);
    S_G(c, CX, a, d), S_GP(c, P, S_ARGS(q), d);
    S_G(c, CX, cc, d), S_GP(c, P, S_ARGS(-q), d);
    S_G(c, CX, b, d), S_GP(c, P, S_ARGS(q), d);
    S_G(c, CX, cc, d), S_GP(c, P, S_ARGS(-q), d);
    S_G(c, CX, a, d);
    S_G(c, H, d);
}

/* Appends qelib1.inc's body of gate g (qubits 0, 1, ... in the gate's order) for parameters
 * p. Returns 0 when qelib1.inc has no body for g. */
static int s_qelib1_body(qh_circuit *c, qh_gate g, const double *p)
{
    const double th = p[0], ph = p[1], la = p[2];
    switch (g) {
    case QH_GATE_SX:
        S_G(c, SDG, 0), S_G(c, H, 0), S_G(c, SDG, 0);
        return 1;
    case QH_GATE_SXDG:
        S_G(c, S, 0), S_G(c, H, 0), S_G(c, S, 0);
        return 1;
    case QH_GATE_X:
        S_GP(c, U3, S_ARGS(M_PI, 0, M_PI), 0);
        return 1;
    case QH_GATE_Y:
        S_GP(c, U3, S_ARGS(M_PI, M_PI / 2, M_PI / 2), 0);
        return 1;
    case QH_GATE_H:
        S_GP(c, U2, S_ARGS(0, M_PI), 0);
        return 1;
    case QH_GATE_RZ:
        S_GP(c, U1, S_ARGS(th), 0);
        return 1;
    case QH_GATE_U0:
        S_GP(c, U3, S_ARGS(0, 0, 0), 0);
        return 1;
    case QH_GATE_CZ:
        S_G(c, H, 1), S_G(c, CX, 0, 1), S_G(c, H, 1);
        return 1;
    case QH_GATE_CY:
        S_G(c, SDG, 1), S_G(c, CX, 0, 1), S_G(c, S, 1);
        return 1;
    case QH_GATE_SWAP:
        S_G(c, CX, 0, 1), S_G(c, CX, 1, 0), S_G(c, CX, 0, 1);
        return 1;
    case QH_GATE_CH:
        S_G(c, H, 1), S_G(c, SDG, 1), S_G(c, CX, 0, 1), S_G(c, H, 1), S_G(c, T, 1);
        S_G(c, CX, 0, 1), S_G(c, T, 1), S_G(c, H, 1), S_G(c, S, 1), S_G(c, X, 1);
        S_G(c, S, 0);
        return 1;
    case QH_GATE_CCX:
        S_G(c, H, 2), S_G(c, CX, 1, 2), S_G(c, TDG, 2), S_G(c, CX, 0, 2), S_G(c, T, 2);
        S_G(c, CX, 1, 2), S_G(c, TDG, 2), S_G(c, CX, 0, 2), S_G(c, T, 1), S_G(c, T, 2);
        S_G(c, H, 2), S_G(c, CX, 0, 1), S_G(c, T, 0), S_G(c, TDG, 1), S_G(c, CX, 0, 1);
        return 1;
    case QH_GATE_CSWAP:
        S_G(c, CX, 2, 1), S_G(c, CCX, 0, 1, 2), S_G(c, CX, 2, 1);
        return 1;
    case QH_GATE_CRX:
        S_GP(c, U1, S_ARGS(M_PI / 2), 1);
        S_G(c, CX, 0, 1);
        S_GP(c, U3, S_ARGS(-th / 2, 0, 0), 1);
        S_G(c, CX, 0, 1);
        S_GP(c, U3, S_ARGS(th / 2, -M_PI / 2, 0), 1);
        return 1;
    case QH_GATE_CRY:
        S_GP(c, RY, S_ARGS(th / 2), 1);
        S_G(c, CX, 0, 1);
        S_GP(c, RY, S_ARGS(-th / 2), 1);
        S_G(c, CX, 0, 1);
        return 1;
    case QH_GATE_CRZ:
        S_GP(c, RZ, S_ARGS(th / 2), 1);
        S_G(c, CX, 0, 1);
        S_GP(c, RZ, S_ARGS(-th / 2), 1);
        S_G(c, CX, 0, 1);
        return 1;
    case QH_GATE_CU1:
    case QH_GATE_CP:
        S_GP(c, U1, S_ARGS(th / 2), 0);
        S_G(c, CX, 0, 1);
        S_GP(c, U1, S_ARGS(-th / 2), 1);
        S_G(c, CX, 0, 1);
        S_GP(c, U1, S_ARGS(th / 2), 1);
        return 1;
    case QH_GATE_CU3:
        S_GP(c, U1, S_ARGS((la + ph) / 2), 0);
        S_GP(c, U1, S_ARGS((la - ph) / 2), 1);
        S_G(c, CX, 0, 1);
        S_GP(c, U3, S_ARGS(-th / 2, 0, -(ph + la) / 2), 1);
        S_G(c, CX, 0, 1);
        S_GP(c, U3, S_ARGS(th / 2, ph, 0), 1);
        return 1;
    case QH_GATE_CU:
        S_GP(c, P, S_ARGS(p[3]), 0);
        S_GP(c, P, S_ARGS((la + ph) / 2), 0);
        S_GP(c, P, S_ARGS((la - ph) / 2), 1);
        S_G(c, CX, 0, 1);
        S_GP(c, U, S_ARGS(-th / 2, 0, -(ph + la) / 2), 1);
        S_G(c, CX, 0, 1);
        S_GP(c, U, S_ARGS(th / 2, ph, 0), 1);
        return 1;
    case QH_GATE_CSX:
        S_G(c, H, 1);
        S_GP(c, CU1, S_ARGS(M_PI / 2), 0, 1);
        S_G(c, H, 1);
        return 1;
    case QH_GATE_RXX:
        S_GP(c, U3, S_ARGS(M_PI / 2, th, 0), 0);
        S_G(c, H, 1);
        S_G(c, CX, 0, 1);
        S_GP(c, U1, S_ARGS(-th), 1);
        S_G(c, CX, 0, 1);
        S_G(c, H, 1);
        S_GP(c, U2, S_ARGS(-M_PI, M_PI - th), 0);
        return 1;
    case QH_GATE_RZZ:
        S_G(c, CX, 0, 1);
        S_GP(c, U1, S_ARGS(th), 1);
        S_G(c, CX, 0, 1);
        return 1;
    case QH_GATE_C3X:
        s_c3x(c);
        return 1;
    case QH_GATE_C3SQRTX:
        s_c3sqrtx(c, 0, 1, 2, 3);
        return 1;
    case QH_GATE_C4X:
        s_hcu1h(c, 3, 4, M_PI / 2);
        S_G(c, C3X, 0, 1, 2, 3);
        s_hcu1h(c, 3, 4, -M_PI / 2);
        S_G(c, C3X, 0, 1, 2, 3);
        S_G(c, C3SQRTX, 0, 1, 2, 4);
        return 1;
    default:
        return 0;
    }
}

/* 1 if a = z b for some |z| = 1 (to 1e-12). */
static int s_equal_up_to_phase(const double complex *a, const double complex *b, size_t len)
{
    size_t k = 0;
    for (size_t i = 1; i < len; i++)
        if (cabs(b[i]) > cabs(b[k]))
            k = i;
    const double complex z = a[k] / b[k];
    if (fabs(cabs(z) - 1) > 1e-12)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!(cabs(a[i] - z * b[i]) <= 1e-12))
            return 0;
    return 1;
}

/* The unitary of gate g alone on qubits 0, 1, ... of its own register, from the table. */
static double complex *s_gate_unitary(qh_gate g, const double *p, unsigned *nq)
{
    const qh_gate_info *in = qh_gate_get_info(g);
    unsigned q[QH_MAX_GATE_QUBITS];
    qh_circuit *c = NULL;
    *nq = in->num_qubits;
    for (unsigned i = 0; i < *nq; i++)
        q[i] = i;
    assert_int_equal(qh_circuit_create(*nq, 0, &c), QH_OK);
    assert_int_equal(qh_circuit_gate(c, g, q, *nq, p, in->num_params), QH_OK);
    double complex *u = ref_unitary(c);
    qh_circuit_destroy(&c);
    s_covered[g] = 1;
    return u;
}

static void test_qelib1(void **state)
{
    (void)state;
    unsigned checked = 0;
    for (int g = 0; g < QH_GATE_COUNT; g++) {
        const qh_gate_info *in = qh_gate_get_info((qh_gate)g);
        for (size_t k = 0; k < (in->num_params ? S_NPARAMS : 1); k++) {
            unsigned nq = 0;
            if (in->num_qubits == 0)
                break; /* mcx, mcp: no qelib1 body */
            qh_circuit *c = NULL;
            assert_int_equal(qh_circuit_create(in->num_qubits, 0, &c), QH_OK);
            if (!s_qelib1_body(c, (qh_gate)g, s_params[k])) {
                qh_circuit_destroy(&c);
                break;
            }
            double complex *body = ref_unitary(c), *u = s_gate_unitary(g, s_params[k], &nq);
            if (!s_equal_up_to_phase(u, body, (size_t)1 << (2 * nq)))
                fail_msg("%s at (%g, %g, %g, %g) differs from qelib1.inc's body by more than "
                         "a global phase",
                         in->name, s_params[k][0], s_params[k][1], s_params[k][2], s_params[k][3]);
            checked++;
            free(body);
            free(u);
            qh_circuit_destroy(&c);
        }
    }
    assert_true(checked > 20);
}

/* ---- gates in neither file ------------------------------------------------------------ */

/* out = c I - i s (a ⊗ a), a 2x2, index = b0 + 2 b1: exp(-iθ/2 a⊗a) for a Pauli a. */
static void s_pauli_rotation(const double complex *a, double th, double complex *out)
{
    const double c = cos(th / 2), s = sin(th / 2);
    for (unsigned r = 0; r < 4; r++)
        for (unsigned col = 0; col < 4; col++) {
            double complex kron = a[(r & 1) * 2 + (col & 1)] * a[(r >> 1) * 2 + (col >> 1)];
            out[r * 4 + col] = (r == col ? c : 0) - I * s * kron;
        }
}

static void test_pauli_rotations(void **state)
{
    (void)state;
    double complex m[16], d[16], pauli[4];
    const qh_gate rot[3] = {QH_GATE_RXX, QH_GATE_RYY, QH_GATE_RZZ};
    const qh_gate axis[3] = {QH_GATE_X, QH_GATE_Y, QH_GATE_Z};
    for (int i = 0; i < 3; i++) {
        s_ref(axis[i], NULL, pauli);
        for (size_t k = 0; k < S_NPARAMS; k++) {
            s_pauli_rotation(pauli, s_params[k][0], d);
            s_ref(rot[i], s_params[k], m);
            s_assert_equal(m, d, 16, qh_gate_get_info(rot[i])->name, s_params[k]);
        }
    }
}

/* Runs last: every gate of QH_GATE_MAP went through at least one check above. */
static void test_every_gate_covered(void **state)
{
    (void)state;
    for (int g = 0; g < QH_GATE_COUNT; g++)
        if (!s_covered[g])
            fail_msg("gate %s is not checked against a definition",
                     qh_gate_get_info((qh_gate)g)->name);
    double complex m[16];
    assert_int_equal(ref_gate_matrix(QH_GATE_COUNT, NULL, m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdgates),
        cmocka_unit_test(test_qelib1),
        cmocka_unit_test(test_pauli_rotations),
        cmocka_unit_test(test_every_gate_covered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
