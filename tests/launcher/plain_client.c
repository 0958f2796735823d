/* A plain client of the jobs and functions API, as a user would write one: main calls no
 * qh_job_dispatch. It appends a line to a file each time main starts (argv[1]), runs the
 * function titled argv[2] (job_prog in mode "args") and its own hybrid job add_one, waits
 * for both and prints their results, one JSON value a line. A supervisor or a job process
 * that re-ran this program's main would add lines to the file (and repeat the runs).
 *
 * With "late" as argv[2] it is the other kind of program: it registers a job at run time,
 * so it calls qh_job_dispatch in main (before counting: the job's process runs main up to
 * there), then calls that job and prints its result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qhybrid/function.h"
#include "qhybrid/job.h"

/* {"y": x + 1}. */
QH_HYBRID_JOB(add_one, .device = "plain-client")
{
    int64_t x = qh_value_int_or(qh_value_get(args, "x"), 0);
    *result = qh_value_map_of(1, "y", qh_value_int(x + 1));
    return *result ? QH_OK : QH_ENOMEM;
}

/* Waits for the job and prints its result; 0 on success. */
static int s_print_result(qh_job *job)
{
    qh_value *res = NULL;
    char *json = NULL;
    if (qh_job_result(job, 120000, &res) != QH_OK || qh_value_to_json(res, false, &json) != QH_OK) {
        fprintf(stderr, "plain_client: %s\n", qh_last_error());
        qh_value_destroy(&res);
        return 1;
    }
    printf("%s\n", json);
    free(json);
    qh_value_destroy(&res);
    return 0;
}

/* {"z": x * 2}, registered at run time. */
static qh_status s_double(const qh_value *args, qh_value **result)
{
    int64_t x = qh_value_int_or(qh_value_get(args, "x"), 0);
    *result = qh_value_map_of(1, "z", qh_value_int(2 * x));
    return *result ? QH_OK : QH_ENOMEM;
}

static int s_late(int argc, char **argv)
{
    static const qh_job_def def = {.function = "double_late", .fn = s_double};
    int rc;
    if (qh_job_register(&def) != QH_OK)
        return 2;
    if (qh_job_dispatch(argc, argv, &rc))
        return rc;
    FILE *count = fopen(argv[1], "a");
    if (!count)
        return 2;
    fprintf(count, "main\n");
    fclose(count);
    qh_value *args = qh_value_map_of(1, "x", qh_value_int(21));
    qh_job *job = NULL;
    rc = 1;
    if (qh_job_call(&def, &args, &job) != QH_OK)
        fprintf(stderr, "plain_client: %s\n", qh_last_error());
    else
        rc = s_print_result(job);
    qh_job_destroy(&job);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: plain_client COUNT_FILE FUNCTION_TITLE|late\n");
        return 2;
    }
    if (strcmp(argv[2], "late") == 0)
        return s_late(argc, argv);
    FILE *count = fopen(argv[1], "a");
    if (!count)
        return 2;
    fprintf(count, "main\n");
    fclose(count);
    int rc = 1;
    qh_function *f = NULL;
    qh_job *run = NULL, *job = NULL;
    qh_value *fargs = qh_value_map_of(2, "mode", qh_value_string("args"), "x", qh_value_int(7));
    qh_value *jargs = qh_value_map_of(1, "x", qh_value_int(41));
    if (qh_function_get(argv[2], 0, &f) != QH_OK ||
        qh_function_run(f, &fargs, NULL, &run) != QH_OK ||
        qh_job_call(&add_one_job, &jargs, &job) != QH_OK) {
        fprintf(stderr, "plain_client: %s\n", qh_last_error());
        goto done;
    }
    rc = s_print_result(run) | s_print_result(job);
done:
    qh_value_destroy(&fargs);
    qh_value_destroy(&jargs);
    qh_job_destroy(&run);
    qh_job_destroy(&job);
    qh_function_destroy(&f);
    return rc;
}
