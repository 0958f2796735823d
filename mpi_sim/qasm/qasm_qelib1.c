/* The built-in gate libraries, never read from disk.
 *
 * OpenQASM 2.0 — "qelib1.inc": the standard gate library that Qiskit ships under that name. Almost
 * every gate in it is one of our native gates (same name, same parameters, same qubit order,
 * controls first). The two relative-phase Toffolis are not: they equal ccx / c3x only up to phases
 * on some basis states, so they are defined here by their standard decompositions and parsed like
 * any gate definition. */
#include <stddef.h>

#include "mpi_sim/qasm/qasm_internal.h"

/* OpenQASM 3 — the gates of "stdgates.inc" (available in an OpenQASM 3 program with or
 * without the include, since Amazon Braket's programs never include it) and the gate names
 * of Amazon Braket. Each maps to a native gate with exactly the same matrix, except for the
 * ones in qh__qasm_v3_text. Notes on the conventions:
 * - stdgates' rz(λ) = gphase(-λ/2) U(0,0,λ) = diag(e^{-iλ/2}, e^{iλ/2}), as Qiskit's rz.
 * - cu(θ,φ,λ,γ) = p(γ) on the control, then controlled U(θ,φ,λ): Qiskit's cu.
 * - Braket: cnot = cx, ccnot = ccx, phaseshift = p, cphaseshift = cp, i = id, si = sdg,
 *   ti = tdg, v = sx, vi = sx†, xx/yy/zz(θ) = exp(-iθ/2 P⊗P) = rxx/ryy/rzz. */
const qh__qasm_alias qh__qasm_v3_native[] = {
    {"p", QH_GATE_P},
    {"x", QH_GATE_X},
    {"y", QH_GATE_Y},
    {"z", QH_GATE_Z},
    {"h", QH_GATE_H},
    {"s", QH_GATE_S},
    {"sdg", QH_GATE_SDG},
    {"t", QH_GATE_T},
    {"tdg", QH_GATE_TDG},
    {"sx", QH_GATE_SX},
    {"rx", QH_GATE_RX},
    {"ry", QH_GATE_RY},
    {"rz", QH_GATE_RZ},
    {"cx", QH_GATE_CX},
    {"cy", QH_GATE_CY},
    {"cz", QH_GATE_CZ},
    {"cp", QH_GATE_CP},
    {"crx", QH_GATE_CRX},
    {"cry", QH_GATE_CRY},
    {"crz", QH_GATE_CRZ},
    {"ch", QH_GATE_CH},
    {"swap", QH_GATE_SWAP},
    {"ccx", QH_GATE_CCX},
    {"cswap", QH_GATE_CSWAP},
    {"cu", QH_GATE_CU},
    {"phase", QH_GATE_P},
    {"cphase", QH_GATE_CP},
    {"id", QH_GATE_ID},
    {"u1", QH_GATE_U1},
    /* Amazon Braket */
    {"cnot", QH_GATE_CX},
    {"ccnot", QH_GATE_CCX},
    {"phaseshift", QH_GATE_P},
    {"cphaseshift", QH_GATE_CP},
    {"i", QH_GATE_ID},
    {"si", QH_GATE_SDG},
    {"ti", QH_GATE_TDG},
    {"v", QH_GATE_SX},
    {"vi", QH_GATE_SXDG},
    {"xx", QH_GATE_RXX},
    {"yy", QH_GATE_RYY},
    {"zz", QH_GATE_RZZ},
    {NULL, QH_GATE_COUNT},
};

/* The OpenQASM 3 gates without a native equivalent, defined by exact decompositions:
 * - u2 and u3 of stdgates.inc differ from U (= Qiskit's u3) by the global phase
 *   e^{-i(φ+λ)/2}: u3(θ,φ,λ) = rz(φ) ry(θ) rz(λ) exactly (and u2(φ,λ) = u3(π/2,φ,λ)).
 * - Braket's cphaseshift00/01/10(φ) put e^{iφ} on |00>, |01>, |10> of (control, target),
 *   written big-endian as Braket does (|01>: control 0, target 1).
 * - Braket's xy(θ) = exp(iθ/4 (XX+YY)) = rxx(-θ/2) ryy(-θ/2) (XX and YY commute);
 *   iswap = xy(π); pswap(φ) = swap, then e^{iφ} on |01> and |10>. */
const char qh__qasm_v3_text[] =
    "gate u3(theta, phi, lambda) q { rz(lambda) q; ry(theta) q; "
    "rz(phi) q; }\n"
    "gate u2(phi, lambda) q { rz(lambda) q; ry(pi / 2) q; rz(phi) q; }\n"
    "gate cphaseshift00(phi) a, b { x a; x b; cp(phi) a, b; x a; x b; }\n"
    "gate cphaseshift01(phi) a, b { x a; cp(phi) a, b; x a; }\n"
    "gate cphaseshift10(phi) a, b { x b; cp(phi) a, b; x b; }\n"
    "gate xy(theta) a, b { xx(-theta / 2) a, b; yy(-theta / 2) a, b; }\n"
    "gate iswap a, b { xx(-pi / 2) a, b; yy(-pi / 2) a, b; }\n"
    "gate pswap(phi) a, b { swap a, b; p(phi) a; p(phi) b; "
    "cp(-2 * phi) a, b; }\n";

const char *const qh__qasm_qelib1_native[] = {
    "u3",  "u2",   "u1",  "cx",  "id",    "u0",      "u",   "p",   "x",   "y",    "z",
    "h",   "s",    "sdg", "t",   "tdg",   "rx",      "ry",  "rz",  "sx",  "sxdg", "cz",
    "cy",  "swap", "ch",  "ccx", "cswap", "crx",     "cry", "crz", "cu1", "cp",   "cu3",
    "csx", "cu",   "rxx", "rzz", "c3x",   "c3sqrtx", "c4x", NULL,
};

/* rccx: a Toffoli up to a relative phase (Margolus), three cx instead of six.
 * rc3x: the 3-controlled analogue (simplified Toffoli of Maslov 2016). Both use only
 * u1, u2 and cx on the target, conjugated by Hadamards (u2(0,pi)). */
const char qh__qasm_qelib1_text[] = "gate rccx a, b, c\n"
                                    "{\n"
                                    "    u2(0, pi) c;\n"
                                    "    u1(pi / 4) c;\n"
                                    "    cx b, c;\n"
                                    "    u1(-pi / 4) c;\n"
                                    "    cx a, c;\n"
                                    "    u1(pi / 4) c;\n"
                                    "    cx b, c;\n"
                                    "    u1(-pi / 4) c;\n"
                                    "    u2(0, pi) c;\n"
                                    "}\n"
                                    "gate rc3x a, b, c, d\n"
                                    "{\n"
                                    "    u2(0, pi) d;\n"
                                    "    u1(pi / 4) d;\n"
                                    "    cx c, d;\n"
                                    "    u1(-pi / 4) d;\n"
                                    "    u2(0, pi) d;\n"
                                    "    cx a, d;\n"
                                    "    u1(pi / 4) d;\n"
                                    "    cx b, d;\n"
                                    "    u1(-pi / 4) d;\n"
                                    "    cx a, d;\n"
                                    "    u1(pi / 4) d;\n"
                                    "    cx b, d;\n"
                                    "    u1(-pi / 4) d;\n"
                                    "    u2(0, pi) d;\n"
                                    "    u1(pi / 4) d;\n"
                                    "    cx c, d;\n"
                                    "    u1(-pi / 4) d;\n"
                                    "    u2(0, pi) d;\n"
                                    "}\n";
