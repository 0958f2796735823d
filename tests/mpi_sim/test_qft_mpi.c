/* The QFT as an FFT on a sharded state, under mpirun (registered at 1, 2 and 4 ranks): QFT
 * instructions on registers inside a shard, on rank qubits, larger than a shard (FFTW-MPI)
 * and the whole state, forward and inverse, scattered and bit-reversed, and QASMBench's
 * qft_n18 recognised as one QFT, each equal to the one-process engine (FFT and gates) on
 * rank 0 to 1e-10. */
#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "qhybrid/qasm.h"
#include "qhybrid/sim_mpi.h"
#include "tests/ref/ref_sim.h"

static int s_rank, s_size;

/* Runs c sharded (with the FFT and, as a second opinion, with the gates) and on rank 0
 * alone; every state must agree to 1e-10. Every rank fails if rank 0 does (failing alone
 * would leave the others waiting in the next collective call). */
static void s_compare(const qh_circuit *c, const char *what, size_t want_qft)
{
    const qh_plan_options variants[] = {{0}, {.no_fft = 1}};
    qh_sim_result *one = NULL;
    unsigned n = qh_circuit_num_qubits(c);
    char msg[512] = "";
    if (s_rank == 0) {
        /* without the product start, which takes a textbook QFT of |0...0> as gates */
        qh_sim_options o = {.statevector = 1, .plan = {.no_product_start = 1}};
        if (qh_sim_run(c, &o, &one) != QH_OK)
            snprintf(msg, sizeof msg, "%s (one process): %s", what, qh_last_error());
        else if (one->plan_stats.num_qft != want_qft)
            snprintf(msg, sizeof msg, "%s: %zu QFTs found, %zu expected", what,
                     one->plan_stats.num_qft, want_qft);
    }
    for (unsigned v = 0; v < 2; v++) {
        qh_sim_options o = {.statevector = 1, .plan = variants[v]};
        qh_sim_result *dist = NULL;
        if (qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &dist) != QH_OK)
            fail_msg("%s: %s", what, qh_last_error()); /* every rank gets the same status */
        if (s_rank == 0 && !msg[0]) {
            double d = ref_max_diff(dist->statevector, one->statevector, (size_t)1 << n);
            if (d > 1e-10)
                snprintf(msg, sizeof msg, "%s (%s): differs from one process by %g at %d ranks",
                         what, v ? "gates" : "FFT", d, s_size);
        }
        qh_sim_result_destroy(&dist);
    }
    qh_sim_result_destroy(&one);
    int bad = msg[0] != 0, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any)
        fail_msg("%s", bad ? msg : "another rank failed");
}

static void test_registers(void **state)
{
    (void)state;
    ref_rng r = {21};
    const unsigned n = 13; /* 11 local qubits at 4 ranks */
    struct {
        const char *name;
        unsigned k;
        unsigned q[13];
    } regs[] = {
        {"low (local)", 6, {0, 1, 2, 3, 4, 5}},
        {"top (rank qubits inside a shard-sized register)", 7, {6, 7, 8, 9, 10, 11, 12}},
        {"larger than a shard", 12, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
        {"whole state", 13, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
        {"whole state reversed", 13, {12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
        {"scattered with rank qubits", 5, {12, 0, 7, 11, 3}},
        {"scattered larger than a shard", 12, {5, 12, 0, 9, 2, 11, 7, 1, 10, 3, 8, 6}},
    };
    for (size_t i = 0; i < sizeof regs / sizeof *regs; i++)
        for (int inverse = 0; inverse < 2; inverse++) {
            qh_circuit *c = ref_random_circuit(n, 40, 0, &r); /* same on every rank */
            assert_int_equal(qh_circuit_qft(c, regs[i].q, regs[i].k, inverse), QH_OK);
            /* gates after it run on the layout the transform left */
            qh_circuit_gate(c, QH_GATE_H, (unsigned[]){12}, 1, NULL, 0);
            qh_circuit_gate(c, QH_GATE_CX, (unsigned[]){0, 11}, 2, NULL, 0);
            char what[128];
            snprintf(what, sizeof what, "%s, %s", regs[i].name, inverse ? "inverse" : "forward");
            s_compare(c, what, 1);
            qh_circuit_destroy(&c);
        }
}

/* Textbook QFTs recognised in QASM: QASMBench's (no swaps, so a bit-reversed output). */
static void test_qasmbench(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/medium/qft_n18.qasm", QH_QASMBENCH_DIR);
    qh_circuit *c = NULL;
    if (qh_qasm_parse_file(path, &c) != QH_OK)
        fail_msg("%s", qh_last_error());
    s_compare(c, "qft_n18", 1);
    qh_circuit_destroy(&c);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s_size);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers),
        cmocka_unit_test(test_qasmbench),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    int any = failed; /* every rank reports the same verdict */
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
