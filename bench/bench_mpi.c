/* Scaling over MPI ranks, run under `mpirun -np P bench_mpi ...`:
 *   --strong N   the layered random circuit and the gate-by-gate QFT on N qubits
 *   --weak B     the same on B + log2(P) qubits (constant work per rank)
 *   --batch K    K random 12-qubit circuits as one batch, at --group-size G
 *   --qasm FILE  an OpenQASM file (repeatable), with <Z0> as its result
 * One JSON line per measurement on rank 0: wall time, time per gate, the exchanges and
 * bytes each rank moved per gate (from qh_sim_result), and the wall time of the exchanges
 * (the slowest rank's) apart from the rest, the compute. Human messages on stderr. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "qhybrid/qasm.h"
#include "qhybrid/sim_mpi.h"

static int s_rank, s_size;

/* 20 layers: a random rx/ry/rz on every qubit, then CNOTs on (0,1),(2,3),... or
 * (1,2),(3,4),... alternately (the circuit of the fusion benchmark). */
static qh_circuit *s_layered(unsigned n, unsigned layers, unsigned seed)
{
    qh_circuit *c = NULL;
    qh_circuit_create(n, 0, &c);
    for (unsigned l = 0; l < layers; l++) {
        for (unsigned q = 0; q < n; q++) {
            seed = seed * 1103515245u + 12345u;
            const qh_gate g[] = {QH_GATE_RX, QH_GATE_RY, QH_GATE_RZ};
            double th = (seed >> 8) % 6283 / 1000.0;
            qh_circuit_gate(c, g[(seed >> 16) % 3], &q, 1, &th, 1);
        }
        for (unsigned q = l % 2; q + 1 < n; q += 2)
            qh_circuit_gate(c, QH_GATE_CX, (unsigned[]){q, q + 1}, 2, NULL, 0);
    }
    return c;
}

static qh_circuit *s_qft(unsigned n)
{
    qh_circuit *c = NULL;
    qh_circuit_create(n, 0, &c);
    for (unsigned q = 0; q < n; q++) /* a state that is not |0>, so nothing is trivial */
        qh_circuit_gate(c, QH_GATE_H, &q, 1, NULL, 0);
    for (int j = (int)n - 1; j >= 0; j--) {
        unsigned t = (unsigned)j;
        qh_circuit_gate(c, QH_GATE_H, &t, 1, NULL, 0);
        for (int k = j - 1; k >= 0; k--) {
            double a = M_PI / (double)(1u << (j - k));
            qh_circuit_gate(c, QH_GATE_CP, (unsigned[]){(unsigned)k, t}, 2, &a, 1);
        }
    }
    for (unsigned q = 0; q < n / 2; q++)
        qh_circuit_gate(c, QH_GATE_SWAP, (unsigned[]){q, n - 1 - q}, 2, NULL, 0);
    return c;
}

static void s_measure(const char *kind, const char *scaling, qh_circuit *c, unsigned repeat)
{
    qh_sim_options o = {0};
    const char *z0 = "Z0";
    o.expectations = &z0; /* a result that needs no gathering */
    o.num_expectations = 1;
    o.plan.no_qft_detect = 1; /* the QFT is measured as gates here (bench_qft has the FFT) */
    double best = INFINITY;
    qh_sim_result *keep = NULL;
    for (unsigned r = 0; r < repeat; r++) {
        qh_sim_result *res = NULL;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = bench_now();
        if (qh_sim_run_mpi(c, &o, MPI_COMM_WORLD, &res) != QH_OK) {
            if (s_rank == 0)
                fprintf(stderr, "bench_mpi: %s\n", qh_last_error());
            return;
        }
        double t = bench_now() - t0;
        MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (t < best) {
            best = t;
            qh_sim_result_destroy(&keep);
            keep = res;
        } else {
            qh_sim_result_destroy(&res);
        }
    }
    double gates = (double)qh_circuit_num_ops(c);
    double xs = keep ? keep->exchange_seconds : 0;
    MPI_Allreduce(MPI_IN_PLACE, &xs, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (s_rank == 0) {
        char metric[96];
        snprintf(metric, sizeof metric, "%s_%s_n%u_P%d", kind, scaling, qh_circuit_num_qubits(c),
                 s_size);
        bench_json_begin("mpi_scaling", metric, best, "s");
        bench_json_int("ranks", (uint64_t)s_size);
        bench_json_int("qubits", qh_circuit_num_qubits(c));
        bench_json_int("gates", (uint64_t)gates);
        bench_json_int("steps", keep->plan_stats.num_steps);
        bench_json_num("time_per_gate", best / gates);
        bench_json_num("exchanges_per_gate", (double)keep->exchanges / gates);
        bench_json_num("bytes_per_gate", (double)keep->bytes_exchanged / gates);
        bench_json_int("exchanges", keep->exchanges);
        bench_json_num("exchange_seconds", xs);
        bench_json_num("compute_seconds", best - xs);
        bench_json_int("sharded", (uint64_t)keep->sharded);
        bench_json_end();
    }
    qh_sim_result_destroy(&keep);
}

static void s_batch(unsigned count, unsigned group)
{
    qh_circuit **cs = calloc(count, sizeof *cs);
    qh_batch_item *items = calloc(count, sizeof *items);
    for (unsigned i = 0; i < count; i++) {
        cs[i] = s_layered(12, 10, 1000 + i);
        qh_circuit_add_creg(cs[i], "c", 12, NULL);
        for (unsigned q = 0; q < 12; q++)
            qh_circuit_measure(cs[i], q, q);
        items[i] = (qh_batch_item){cs[i], "random12", NULL, 0};
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/qh_bench_batch_%d.h5", (int)getpid());
    MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
    qh_sim_options o = {.shots = 1000, .seed = 1};
    qh_batch_options b = {.group_size = group, .h5_path = path};
    qh_batch_summary sum;
    qh_status st = qh_batch_run_mpi(items, count, &o, &b, MPI_COMM_WORLD, &sum);
    if (s_rank == 0) {
        if (st != QH_OK) {
            fprintf(stderr, "bench_mpi: %s\n", qh_last_error());
        } else {
            char metric[64];
            snprintf(metric, sizeof metric, "batch%u_q12_P%d_G%u", count, s_size, group);
            bench_json_begin("mpi_batch", metric, (double)count / sum.seconds, "circuits/s");
            bench_json_num("seconds", sum.seconds);
            bench_json_int("groups", sum.groups);
            bench_json_int("failed", sum.failed);
            bench_json_end();
        }
        unlink(path);
    }
    for (unsigned i = 0; i < count; i++)
        qh_circuit_destroy(&cs[i]);
    free(cs);
    free(items);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s_size);
    unsigned long strong = 0, weak = 0, batch = 0, group = 1, repeat = 2;
    int bad = 0, nqasm = 0;
    const char *qasm[16];
    for (int i = 1; i < argc && !bad; i++) {
        unsigned long *dst = NULL;
        if (strcmp(argv[i], "--qasm") == 0 && i + 1 < argc && nqasm < 16) {
            qasm[nqasm++] = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--strong") == 0)
            dst = &strong;
        else if (strcmp(argv[i], "--weak") == 0)
            dst = &weak;
        else if (strcmp(argv[i], "--batch") == 0)
            dst = &batch;
        else if (strcmp(argv[i], "--group-size") == 0)
            dst = &group;
        else if (strcmp(argv[i], "--repeat") == 0)
            dst = &repeat;
        bad = !dst || i + 1 >= argc || bench_parse_ulong(argv[++i], 1, 1u << 20, dst) != 0;
    }
    if (bad || (!strong && !weak && !batch && !nqasm)) {
        if (s_rank == 0)
            fprintf(stderr, "usage: mpirun -np P bench_mpi [--strong N] [--weak B] "
                            "[--batch K --group-size G] [--qasm FILE]... [--repeat R]\n");
        MPI_Finalize();
        return 2;
    }
    unsigned lg = 0;
    while ((1 << lg) < s_size)
        lg++;
    if (strong) {
        qh_circuit *c = s_layered((unsigned)strong, 20, 7);
        s_measure("layered", "strong", c, (unsigned)repeat);
        qh_circuit_destroy(&c);
        c = s_qft((unsigned)strong);
        s_measure("qft", "strong", c, (unsigned)repeat);
        qh_circuit_destroy(&c);
    }
    if (weak) {
        qh_circuit *c = s_layered((unsigned)weak + lg, 20, 7);
        s_measure("layered", "weak", c, (unsigned)repeat);
        qh_circuit_destroy(&c);
        c = s_qft((unsigned)weak + lg);
        s_measure("qft", "weak", c, (unsigned)repeat);
        qh_circuit_destroy(&c);
    }
    for (int i = 0; i < nqasm; i++) {
        qh_circuit *c = NULL;
        if (qh_qasm_parse_file(qasm[i], &c) != QH_OK) {
            if (s_rank == 0)
                fprintf(stderr, "bench_mpi: %s\n", qh_last_error());
            continue;
        }
        const char *base = strrchr(qasm[i], '/') ? strrchr(qasm[i], '/') + 1 : qasm[i];
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
        s_measure(name, "file", c, (unsigned)repeat);
        qh_circuit_destroy(&c);
    }
    if (batch)
        s_batch((unsigned)batch, (unsigned)group);
    MPI_Finalize();
    return 0;
}
