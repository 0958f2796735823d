/* The reference's gate table: every standard gate of QH_GATE_MAP written out as a literal
 * matrix, entry by entry, from the definitions in OpenQASM 2's qelib1.inc (Qiskit's, with
 * sx, csx, cu, rxx, rzz, c3x, c3sqrtx, c4x) and OpenQASM 3's stdgates.inc. Nothing here
 * calls the engine, and no gate borrows another gate's entries, so a slip in one of the
 * engine's matrices cannot be copied into the reference (test_gates compares the two, and
 * test_ref_gates checks this table against the definitions themselves).
 *
 * Conventions, those of include/qhybrid/circuit.h:
 * - the matrix is the target part of the gate only: controls come first among the gate's
 *   qubits and select it; row and column bit j is the j-th target (qubit 0 = least
 *   significant bit), so for swap, rxx, ryy, rzz and cswap's targets index = b0 + 2 b1;
 * - u3(θ,φ,λ) = u(θ,φ,λ) = [[c, -e^{iλ} s], [e^{iφ} s, e^{i(φ+λ)} c]] with c = cos(θ/2),
 *   s = sin(θ/2), and u2(φ,λ) = u3(π/2,φ,λ) (Qiskit's; stdgates.inc gives its u2 and u3 an
 *   extra global phase e^{-i(φ+λ)/2}, which the OpenQASM 3 reader applies, and its built-in
 *   U has e^{iθ/2} times this matrix);
 * - rz(λ) = diag(e^{-iλ/2}, e^{iλ/2}) as stdgates.inc fixes it (qelib1.inc's rz is u1,
 *   which differs by a global phase), p(λ) = u1(λ) = diag(1, e^{iλ});
 * - where stdgates.inc defines a gate, its global phase is stdgates.inc's (e.g. sx is the
 *   principal square root of x, not qelib1's rx(π/2)); gates that only qelib1.inc defines
 *   carry the phase that makes their controlled forms right (the relative phase of a
 *   target part is fixed by the decomposition); rxx, ryy, rzz are exp(-iθ/2 P⊗P);
 * - ryy, ccz, mcx and mcp are in neither file: ryy = exp(-iθ/2 Y⊗Y), ccz = ctrl @ ctrl @ z,
 *   mcx = ctrl^k @ x and mcp(λ) = ctrl^k @ p(λ), whose target parts are x and p. */
#include <math.h>
#include <string.h>

#include "tests/ref/ref_gates.h"

/* m = [[a, b], [c, d]] */
static void s_m2(double complex *m, double complex a, double complex b, double complex c,
                 double complex d)
{
    m[0] = a;
    m[1] = b;
    m[2] = c;
    m[3] = d;
}

/* m = the 4x4 matrix given row by row */
static void s_m4(double complex *m, const double complex rows[16])
{
    memcpy(m, rows, 16 * sizeof *m);
}

unsigned ref_gate_targets(qh_gate g)
{
    switch (g) {
    case QH_GATE_SWAP:
    case QH_GATE_RXX:
    case QH_GATE_RYY:
    case QH_GATE_RZZ:
    case QH_GATE_CSWAP:
        return 2;
    case QH_GATE_COUNT:
        return 0;
    default:
        return (unsigned)g < QH_GATE_COUNT ? 1 : 0;
    }
}

int ref_gate_matrix(qh_gate g, const double *p, double complex *m)
{
    const double r = M_SQRT1_2;
    const double complex w = cexp(I * M_PI / 4); /* e^{iπ/4} */
    double c = 0, s = 0;
    if (ref_gate_targets(g) == 0)
        return -1;
    switch (g) {
    /* --- one qubit, no parameter ------------------------------------------------------ */
    case QH_GATE_ID: /* qelib1 and stdgates: U(0,0,0) */
        s_m2(m, 1, 0, 0, 1);
        break;
    case QH_GATE_X: /* stdgates: U(π,0,π) with gphase(-π/2) */
        s_m2(m, 0, 1, 1, 0);
        break;
    case QH_GATE_Y: /* stdgates: U(π,π/2,π/2) with gphase(-π/2) */
        s_m2(m, 0, -I, I, 0);
        break;
    case QH_GATE_Z: /* stdgates: p(π) */
        s_m2(m, 1, 0, 0, -1);
        break;
    case QH_GATE_H: /* stdgates: U(π/2,0,π) with gphase(-π/4) */
        s_m2(m, r, r, r, -r);
        break;
    case QH_GATE_S: /* stdgates: pow(0.5) @ z */
        s_m2(m, 1, 0, 0, I);
        break;
    case QH_GATE_SDG: /* stdgates: inv @ pow(0.5) @ z */
        s_m2(m, 1, 0, 0, -I);
        break;
    case QH_GATE_T: /* stdgates: pow(0.5) @ s */
        s_m2(m, 1, 0, 0, w);
        break;
    case QH_GATE_TDG: /* stdgates: inv @ pow(0.5) @ s */
        s_m2(m, 1, 0, 0, conj(w));
        break;
    case QH_GATE_SX: /* stdgates: pow(0.5) @ x, the principal square root of x */
        s_m2(m, (1 + I) / 2, (1 - I) / 2, (1 - I) / 2, (1 + I) / 2);
        break;
    case QH_GATE_SXDG: /* qelib1: s; h; s — the inverse of sx */
        s_m2(m, (1 - I) / 2, (1 + I) / 2, (1 + I) / 2, (1 - I) / 2);
        break;

    /* --- one qubit, with parameters --------------------------------------------------- */
    case QH_GATE_RX: /* stdgates: U(θ,-π/2,π/2) with gphase(-θ/2) */
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        s_m2(m, c, -I * s, -I * s, c);
        break;
    case QH_GATE_RY: /* stdgates: U(θ,0,0) with gphase(-θ/2) */
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        s_m2(m, c, -s, s, c);
        break;
    case QH_GATE_RZ: /* stdgates: gphase(-λ/2); U(0,0,λ) */
        s_m2(m, cexp(-I * p[0] / 2), 0, 0, cexp(I * p[0] / 2));
        break;
    case QH_GATE_P: /* stdgates: ctrl @ gphase(λ) */
        s_m2(m, 1, 0, 0, cexp(I * p[0]));
        break;
    case QH_GATE_U1: /* qelib1 and stdgates: U(0,0,λ) */
        s_m2(m, 1, 0, 0, cexp(I * p[0]));
        break;
    case QH_GATE_U2: /* qelib1: U(π/2,φ,λ), as Qiskit's u2 */
        s_m2(m, r, -cexp(I * p[1]) * r, cexp(I * p[0]) * r, cexp(I * (p[0] + p[1])) * r);
        break;
    case QH_GATE_U3: /* qelib1: U(θ,φ,λ), as Qiskit's u3 */
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        s_m2(m, c, -cexp(I * p[2]) * s, cexp(I * p[1]) * s, cexp(I * (p[1] + p[2])) * c);
        break;
    case QH_GATE_U: /* qelib1: U(θ,φ,λ), as Qiskit's u */
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        s_m2(m, c, -cexp(I * p[2]) * s, cexp(I * p[1]) * s, cexp(I * (p[1] + p[2])) * c);
        break;
    case QH_GATE_U0: /* qelib1: U(0,0,0) (γ is an idle length) */
        s_m2(m, 1, 0, 0, 1);
        break;

    /* --- controlled: the matrix applied when every control is 1 ----------------------- */
    case QH_GATE_CX: /* stdgates: ctrl @ x */
        s_m2(m, 0, 1, 1, 0);
        break;
    case QH_GATE_CY: /* stdgates: ctrl @ y */
        s_m2(m, 0, -I, I, 0);
        break;
    case QH_GATE_CZ: /* stdgates: ctrl @ z */
        s_m2(m, 1, 0, 0, -1);
        break;
    case QH_GATE_CH: /* stdgates: ctrl @ h */
        s_m2(m, r, r, r, -r);
        break;
    case QH_GATE_CSX: /* qelib1: h; cu1(π/2); h */
        s_m2(m, (1 + I) / 2, (1 - I) / 2, (1 - I) / 2, (1 + I) / 2);
        break;
    case QH_GATE_CRX: /* stdgates: ctrl @ rx(θ) */
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        s_m2(m, c, -I * s, -I * s, c);
        break;
    case QH_GATE_CRY: /* stdgates: ctrl @ ry(θ) */
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        s_m2(m, c, -s, s, c);
        break;
    case QH_GATE_CRZ: /* stdgates: ctrl @ rz(θ) */
        s_m2(m, cexp(-I * p[0] / 2), 0, 0, cexp(I * p[0] / 2));
        break;
    case QH_GATE_CP: /* stdgates: ctrl @ p(λ) */
        s_m2(m, 1, 0, 0, cexp(I * p[0]));
        break;
    case QH_GATE_CU1: /* qelib1: controlled phase rotation */
        s_m2(m, 1, 0, 0, cexp(I * p[0]));
        break;
    case QH_GATE_CU3: /* qelib1: controlled-U(θ,φ,λ) */
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        s_m2(m, c, -cexp(I * p[2]) * s, cexp(I * p[1]) * s, cexp(I * (p[1] + p[2])) * c);
        break;
    case QH_GATE_CU: { /* stdgates: p(γ-θ/2) on the control; ctrl @ U(θ,φ,λ) */
        const double complex e = cexp(I * p[3]);
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        s_m2(m, e * c, -e * cexp(I * p[2]) * s, e * cexp(I * p[1]) * s,
             e * cexp(I * (p[1] + p[2])) * c);
        break;
    }
    case QH_GATE_CCX: /* stdgates: ctrl @ ctrl @ x */
        s_m2(m, 0, 1, 1, 0);
        break;
    case QH_GATE_CCZ: /* ctrl @ ctrl @ z */
        s_m2(m, 1, 0, 0, -1);
        break;
    case QH_GATE_C3X: /* qelib1: 3-controlled x */
        s_m2(m, 0, 1, 1, 0);
        break;
    case QH_GATE_C3SQRTX: /* qelib1: 3-controlled sqrt(x), i.e. sx */
        s_m2(m, (1 + I) / 2, (1 - I) / 2, (1 - I) / 2, (1 + I) / 2);
        break;
    case QH_GATE_C4X: /* qelib1: 4-controlled x */
        s_m2(m, 0, 1, 1, 0);
        break;
    case QH_GATE_MCX: /* ctrl^k @ x */
        s_m2(m, 0, 1, 1, 0);
        break;
    case QH_GATE_MCP: /* ctrl^k @ p(λ) */
        s_m2(m, 1, 0, 0, cexp(I * p[0]));
        break;

    /* --- two targets (index = b0 + 2 b1) ------------------------------------------------ */
    case QH_GATE_SWAP: /* stdgates: cx a,b; cx b,a; cx a,b */
        s_m4(m, (const double complex[16]){
                    1,
                    0,
                    0,
                    0, /* */
                    0,
                    0,
                    1,
                    0, /* */
                    0,
                    1,
                    0,
                    0, /* */
                    0,
                    0,
                    0,
                    1,
                });
        break;
    case QH_GATE_CSWAP: /* stdgates: ctrl @ swap */
        s_m4(m, (const double complex[16]){
                    1,
                    0,
                    0,
                    0, /* */
                    0,
                    0,
                    1,
                    0, /* */
                    0,
                    1,
                    0,
                    0, /* */
                    0,
                    0,
                    0,
                    1,
                });
        break;
    case QH_GATE_RXX: { /* exp(-iθ/2 X⊗X): X⊗X swaps 00 <-> 11 and 01 <-> 10 */
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        const double complex a = -I * s;
        s_m4(m, (const double complex[16]){
                    c,
                    0,
                    0,
                    a, /* */
                    0,
                    c,
                    a,
                    0, /* */
                    0,
                    a,
                    c,
                    0, /* */
                    a,
                    0,
                    0,
                    c,
                });
        break;
    }
    case QH_GATE_RYY: { /* exp(-iθ/2 Y⊗Y): Y⊗Y maps 00 -> -11, 11 -> -00, 01 <-> 10 */
        c = cos(p[0] / 2), s = sin(p[0] / 2);
        const double complex a = -I * s;
        s_m4(m, (const double complex[16]){
                    c,
                    0,
                    0,
                    -a, /* */
                    0,
                    c,
                    a,
                    0, /* */
                    0,
                    a,
                    c,
                    0, /* */
                    -a,
                    0,
                    0,
                    c,
                });
        break;
    }
    case QH_GATE_RZZ: { /* exp(-iθ/2 Z⊗Z): e^{-iθ/2} where the bits agree, e^{iθ/2} else */
        const double complex a = cexp(-I * p[0] / 2), b = cexp(I * p[0] / 2);
        s_m4(m, (const double complex[16]){
                    a,
                    0,
                    0,
                    0, /* */
                    0,
                    b,
                    0,
                    0, /* */
                    0,
                    0,
                    b,
                    0, /* */
                    0,
                    0,
                    0,
                    a,
                });
        break;
    }
    case QH_GATE_COUNT:
        return -1;
    }
    return 0;
}
