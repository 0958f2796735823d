/* Qiskit Serverless's transpile_remote pattern as a qhybrid function: the program reads
 * `circuit_list` (OpenQASM sources), `optimization_level` (0..3, default 1) and `backend`
 * (a target: ibm_torino, ibm_fez, ibm_sherbrooke, heavy-hex:D, grid:RxC, ...; default
 * ibm_torino) from its arguments, sets RUNNING: OPTIMIZING_FOR_HARDWARE, fans the circuits
 * out as tasks with cpu = 1 (each task transpiles its circuit for the backend, as
 * generate_preset_pass_manager(optimization_level, backend).run(circuit) does), gathers them
 * with get, and saves
 *
 *     {"circuits": ["OPENQASM 2.0; ...", ...],
 *      "metadata": {"resource_usage": {"RUNNING: OPTIMIZING_FOR_HARDWARE":
 *                                       {"CPU_TIME": s, "QPU_TIME": s}}}}
 *
 * With the argument `data_file` (the name of a .tar or .tar.gz in the data store), it also
 * downloads that archive, extracts it, and returns the text of its member `data_member`
 * (default "data.txt") as "data": the data store round trip.
 *
 * Upload and run it with the command line:
 *
 *   mkdir wd && cp transpile_remote wd/
 *   qhybrid function upload --title transpile-remote --entrypoint transpile_remote \
 *       --working-dir wd
 *   qhybrid run transpile-remote --arg circuit_list='["OPENQASM 2.0; ..."]' \
 *       --arg optimization_level=1 --arg backend=ibm_torino
 *   qhybrid status <job>      # ... RUNNING: OPTIMIZING_FOR_HARDWARE ... DONE
 *   qhybrid result <job>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qhybrid/archive.h"
#include "qhybrid/files.h"
#include "qhybrid/job.h"
#include "qhybrid/pool.h"
#include "qhybrid/qasm.h"
#include "qhybrid/target.h"
#include "qhybrid/transpile.h"

/* The task: [qasm, optimization_level, backend] -> the transpiled OpenQASM 2.0 text. */
static qh_status transpile_circuit(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    size_t len = 0;
    const char *qasm = qh_value_str(qh_value_at(args, 0), &len);
    int64_t level = qh_value_int_or(qh_value_at(args, 1), 1);
    const char *backend = qh_value_str(qh_value_at(args, 2), NULL);
    if (!qasm)
        return qh_task_fail(ctx, "expected an OpenQASM source, got a %s",
                            qh_value_type_name(qh_value_type_of(qh_value_at(args, 0))));
    if (level < 0 || level > 3)
        return qh_task_fail(ctx, "optimization_level must be 0, 1, 2 or 3, not %lld",
                            (long long)level);
    qh_circuit *c = NULL;
    qh_target *target = NULL;
    qh_transpiled *t = NULL;
    char *text = NULL;
    qh_transpile_options o = {.optimization_level = (int)level, .num_threads = 1};
    qh_status st = qh_qasm_parse_string(qasm, len, "circuit", &c);
    if (st == QH_OK)
        st = qh_target_create(backend ? backend : "ibm_torino", &target);
    if (st == QH_OK)
        st = qh_transpile(c, target, &o, &t, NULL);
    if (st == QH_OK)
        st = qh_transpiled_qasm(t, 2, &text);
    if (st == QH_OK) {
        *out = qh_value_string(text);
        if (!*out)
            st = QH_ENOMEM;
    }
    if (st != QH_OK && st != QH_ENOMEM)
        st = qh_task_fail(ctx, "%s", qh_last_error());
    free(text);
    qh_transpiled_destroy(&t);
    qh_target_destroy(&target);
    qh_circuit_destroy(&c);
    return st;
}
QH_TASK(transpile_circuit, .cpu = 1)

/* The data round trip: the archive from the store, extracted here, one member's text. */
static qh_status s_data(const char *name, const char *member, qh_value **out)
{
    char *path = NULL, *text = NULL;
    qh_status st = qh_files_download(name, NULL, ".", &path);
    if (st == QH_OK)
        st = qh_archive_extract(path, "extracted");
    char file[1024];
    snprintf(file, sizeof file, "extracted/%s", member);
    FILE *f = st == QH_OK ? fopen(file, "r") : NULL;
    if (st == QH_OK && !f) {
        fprintf(stderr, "transpile_remote: no member %s in %s\n", member, name);
        st = QH_ENOTFOUND;
    }
    if (f) {
        text = calloc(1, 65536);
        size_t n = text ? fread(text, 1, 65535, f) : 0;
        (void)n;
        fclose(f);
        *out = text ? qh_value_string(text) : NULL;
    }
    free(text);
    free(path);
    return st;
}

static double s_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
    qh_value *args = qh_job_arguments();
    const qh_value *circuits = qh_value_get(args, "circuit_list");
    int64_t level = qh_value_int_or(qh_value_get(args, "optimization_level"), 1);
    const char *backend = qh_value_str(qh_value_get(args, "backend"), NULL);
    const char *data_file = qh_value_str(qh_value_get(args, "data_file"), NULL);
    const char *member = qh_value_str(qh_value_get(args, "data_member"), NULL);
    size_t n = qh_value_len(circuits);
    qh_pool *pool = NULL;
    qh_ref **refs = calloc(n ? n : 1, sizeof *refs);
    qh_value *got = NULL, *data = NULL, *result = NULL;
    int rc = 1;
    double cpu0 = s_cpu_seconds();
    if (circuits && qh_value_type_of(circuits) != QH_VALUE_LIST) {
        fprintf(stderr, "transpile_remote: circuit_list must be a list of OpenQASM sources\n");
        goto done;
    }
    if (qh_job_update_status("OPTIMIZING_FOR_HARDWARE") != QH_OK ||
        qh_pool_create(NULL, &pool) != QH_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        qh_value *a =
            qh_value_list_of(3, qh_value_clone(qh_value_at(circuits, i)), qh_value_int(level),
                             qh_value_string(backend ? backend : "ibm_torino"));
        if (qh_submit(pool, "transpile_circuit", &a, &refs[i]) != QH_OK)
            goto fail;
    }
    if (n > 0 && qh_get_all(refs, n, &got) != QH_OK)
        goto fail;
    if (!got)
        got = qh_value_list();
    printf("transpiled %zu circuits for %s at optimization level %lld\n", n,
           backend ? backend : "ibm_torino", (long long)level);
    if (data_file && s_data(data_file, member ? member : "data.txt", &data) != QH_OK)
        goto fail;
    if (qh_job_update_status("POST_PROCESSING") != QH_OK)
        goto fail;
    double cpu = s_cpu_seconds() - cpu0;
    result = qh_value_map_of(
        2, "circuits", got, "metadata",
        qh_value_map_of(1, "resource_usage",
                        qh_value_map_of(1, "RUNNING: OPTIMIZING_FOR_HARDWARE",
                                        qh_value_map_of(2, "CPU_TIME", qh_value_double(cpu),
                                                        "QPU_TIME", qh_value_double(0.0)))));
    got = NULL;
    if (data && qh_value_set(result, "data", &data) != QH_OK)
        goto fail;
    if (qh_job_save_result(result) != QH_OK)
        goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "transpile_remote: %s\n", qh_last_error());
done:
    qh_ref_destroy_all(refs, n);
    free(refs);
    qh_pool_destroy(&pool);
    qh_value_destroy(&got);
    qh_value_destroy(&data);
    qh_value_destroy(&result);
    qh_value_destroy(&args);
    return rc;
}
