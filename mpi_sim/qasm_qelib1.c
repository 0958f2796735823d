/* The built-in "qelib1.inc": the standard gate library that Qiskit ships under that name,
 * never read from disk. Almost every gate in it is one of our native gates (same name,
 * same parameters, same qubit order, controls first). The two relative-phase Toffolis are
 * not: they equal ccx / c3x only up to phases on some basis states, so they are defined
 * here by their standard decompositions and parsed like any gate definition. */
#include <stddef.h>

#include "mpi_sim/qasm_internal.h"

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
