/* bench_transpile: the transpiler on QASMBench's medium and large circuits (tests/data),
 * each on heavy-hex:D (D the smallest odd distance with enough qubits) and on ibm_torino,
 * at one optimisation level (default 2), one thread: per circuit the two-qubit gate count,
 * two-qubit depth and seconds (the best of `reps` runs, transpilation only, parsing
 * excluded; wall clock and the thread's CPU time), then the batch throughput of one pass
 * manager over all circuits. JSON lines.
 *
 *   bench_transpile [LEVEL [REPS]]        (QH_QASMBENCH_DIR: the circuits' directory)
 *   bench_transpile tasks LEVEL COPIES [CPUS]
 *
 * The second form measures throughput through tasks: COPIES times every circuit, each a
 * cpu = 1 task (as the transpile_remote example submits them: parse the file, compile a
 * pass manager for ibm_torino, transpile with one thread) on the default pool — a local pool
 * offering CPUS cores (default: what the process may use), or under mpirun the MPI pool
 * (rank 0 drives, the other ranks work); the seconds count from the first submit to the
 * last result. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_common.h"
#include "qhybrid/pool.h"
#include "qhybrid/qasm.h"
#include "qhybrid/target.h"
#include "qhybrid/transpile.h"

#ifndef QH_QASMBENCH_DIR
#define QH_QASMBENCH_DIR "tests/data/qasmbench"
#endif

typedef struct {
    char path[512];
    char name[128];
    qh_circuit *c;
} s_item;

static int s_cmp(const void *a, const void *b)
{
    return strcmp(((const s_item *)a)->name, ((const s_item *)b)->name);
}

static size_t s_load(const char *dir, s_item *items, size_t n, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return n;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".qasm") != 0)
            continue;
        snprintf(items[n].path, sizeof items[n].path, "%s/%s", dir, e->d_name);
        snprintf(items[n].name, sizeof items[n].name, "%.*s", (int)(len - 5), e->d_name);
        if (qh_qasm_parse_file(items[n].path, &items[n].c) != QH_OK) {
            fprintf(stderr, "bench_transpile: %s: %s\n", items[n].path, qh_last_error());
            continue;
        }
        n++;
    }
    closedir(d);
    return n;
}

/* CPU time of the calling thread: on a shared machine, closer to what the run costs than
 * the wall clock. */
static double s_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void s_run(const char *spec, const s_item *it, int level, int reps)
{
    qh_target *t = NULL;
    if (qh_target_create(spec, &t) != QH_OK) {
        fprintf(stderr, "bench_transpile: %s\n", qh_last_error());
        return;
    }
    qh_transpile_options o = {.optimization_level = level, .seed = 1, .num_threads = 1};
    qh_pass_manager *pm = NULL;
    if (qh_pass_manager_create(t, &o, &pm) != QH_OK) {
        qh_target_destroy(&t);
        return;
    }
    double best = INFINITY, best_cpu = INFINITY;
    qh_transpile_report rep = {0};
    for (int r = 0; r < reps; r++) {
        qh_transpile_report_free(&rep);
        double c0 = s_cpu_now(), t0 = bench_now();
        if (qh_pass_manager_run(pm, it->c, NULL, &rep) != QH_OK) {
            fprintf(stderr, "bench_transpile: %s on %s: %s\n", it->name, spec, qh_last_error());
            goto done;
        }
        double s = bench_now() - t0, cs = s_cpu_now() - c0;
        best = s < best ? s : best;
        best_cpu = cs < best_cpu ? cs : best_cpu;
    }
    bench_json_begin("transpile", "two_qubit_gates", (double)rep.two_qubit_gates, "gates");
    bench_json_str("circuit", it->name);
    bench_json_str("target", spec);
    bench_json_int("level", (uint64_t)level);
    bench_json_int("num_qubits", rep.num_qubits);
    bench_json_int("depth_2q", rep.depth_2q);
    bench_json_int("depth", rep.depth);
    bench_json_num("seconds", best);
    bench_json_num("cpu_seconds", best_cpu);
    bench_json_end();
done:
    qh_transpile_report_free(&rep);
    qh_pass_manager_destroy(&pm);
    qh_target_destroy(&t);
}

/* The task: [path, level, target] -> the transpiled circuit's two-qubit gate count. */
static qh_status transpile_file(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    const char *path = qh_value_str(qh_value_at(args, 0), NULL);
    int level = (int)qh_value_int_or(qh_value_at(args, 1), 2);
    const char *spec = qh_value_str(qh_value_at(args, 2), NULL);
    qh_circuit *c = NULL;
    qh_target *t = NULL;
    qh_transpile_report rep = {0};
    qh_transpile_options o = {.optimization_level = level, .seed = 1, .num_threads = 1};
    qh_status st = path && spec ? qh_qasm_parse_file(path, &c) : QH_EINVAL;
    if (st == QH_OK)
        st = qh_target_create(spec, &t);
    if (st == QH_OK)
        st = qh_transpile(c, t, &o, NULL, &rep);
    if (st == QH_OK)
        *out = qh_value_int((int64_t)rep.two_qubit_gates);
    else
        st = qh_task_fail(ctx, "%s", qh_last_error());
    qh_transpile_report_free(&rep);
    qh_target_destroy(&t);
    qh_circuit_destroy(&c);
    return st;
}
QH_TASK(transpile_file, .cpu = 1)

static int s_tasks(const s_item *items, size_t n, int level, unsigned long copies, double cpus)
{
    qh_pool_opts po = {.kind = QH_POOL_AUTO, .cpus = cpus};
    qh_pool *pool = NULL;
    size_t total = n * copies;
    qh_ref **refs = calloc(total + 1, sizeof *refs);
    qh_value *got = NULL;
    int rc = 1;
    if (!refs || qh_pool_create(&po, &pool) != QH_OK)
        goto done;
    double offered = 0;
    size_t workers = 0;
    qh_pool_capacity(pool, &offered, NULL, NULL, &workers);
    double t0 = bench_now();
    for (size_t i = 0; i < total; i++) {
        qh_value *a = qh_value_list_of(3, qh_value_string(items[i % n].path), qh_value_int(level),
                                       qh_value_string("ibm_torino"));
        if (qh_submit(pool, "transpile_file", &a, &refs[i]) != QH_OK)
            goto done;
    }
    if (qh_get_all(refs, total, &got) != QH_OK)
        goto done;
    double s = bench_now() - t0;
    bench_json_begin("transpile", "task_throughput", (double)total / s, "circuits/s");
    bench_json_str("target", "ibm_torino");
    bench_json_str("pool", qh_pool_kind_of(pool) == QH_POOL_MPI ? "mpi" : "local");
    bench_json_int("level", (uint64_t)level);
    bench_json_int("circuits", total);
    bench_json_num("cpus", offered);
    bench_json_int("workers", workers);
    bench_json_num("seconds", s);
    bench_json_end();
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "bench_transpile: %s\n", qh_last_error());
    qh_value_destroy(&got);
    if (refs)
        qh_ref_destroy_all(refs, total);
    free(refs);
    qh_pool_destroy(&pool);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned long level = 2, reps = 3, copies = 4, cpus = 0;
    int tasks = argc > 1 && strcmp(argv[1], "tasks") == 0;
    if (tasks) {
        argv++, argc--;
        if (argc < 3 || bench_parse_ulong(argv[1], 0, 3, &level) ||
            bench_parse_ulong(argv[2], 1, 1000, &copies) ||
            (argc > 3 && bench_parse_ulong(argv[3], 1, 1024, &cpus))) {
            fputs("usage: bench_transpile tasks LEVEL COPIES [CPUS]\n", stderr);
            return 2;
        }
    } else if ((argc > 1 && bench_parse_ulong(argv[1], 0, 3, &level)) ||
               (argc > 2 && bench_parse_ulong(argv[2], 1, 1000, &reps))) {
        fputs("usage: bench_transpile [LEVEL [REPS]]\n", stderr);
        return 2;
    }
    const char *root = getenv("QH_QASMBENCH_DIR") ? getenv("QH_QASMBENCH_DIR") : QH_QASMBENCH_DIR;
    static s_item items[256];
    char dir[600];
    size_t n = 0;
    snprintf(dir, sizeof dir, "%s/medium", root);
    n = s_load(dir, items, n, 256);
    snprintf(dir, sizeof dir, "%s/large", root);
    n = s_load(dir, items, n, 256);
    qsort(items, n, sizeof *items, s_cmp);
    if (tasks) {
        int rc = s_tasks(items, n, (int)level, copies, (double)cpus);
        for (size_t i = 0; i < n; i++)
            qh_circuit_destroy(&items[i].c);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned q = qh_circuit_num_qubits(items[i].c), d = 3;
        while ((5 * d * d - 2 * d - 1) / 2 < q)
            d += 2;
        char spec[32];
        snprintf(spec, sizeof spec, "heavy-hex:%u", d);
        s_run(spec, &items[i], (int)level, (int)reps);
        s_run("ibm_torino", &items[i], (int)level, (int)reps);
    }

    /* batch throughput: one pass manager, every circuit once, on ibm_torino */
    qh_target *t = NULL;
    qh_pass_manager *pm = NULL;
    qh_transpile_options o = {.optimization_level = (int)level, .seed = 1, .num_threads = 1};
    if (qh_target_create("ibm_torino", &t) == QH_OK &&
        qh_pass_manager_create(t, &o, &pm) == QH_OK) {
        double t0 = bench_now();
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += qh_pass_manager_run(pm, items[i].c, NULL, NULL) == QH_OK;
        double s = bench_now() - t0;
        bench_json_begin("transpile", "batch_throughput", (double)ok / s, "circuits/s");
        bench_json_str("target", "ibm_torino");
        bench_json_int("level", level);
        bench_json_int("circuits", ok);
        bench_json_int("threads", 1);
        bench_json_end();
    }
    qh_pass_manager_destroy(&pm);
    qh_target_destroy(&t);
    for (size_t i = 0; i < n; i++)
        qh_circuit_destroy(&items[i].c);
    return 0;
}
