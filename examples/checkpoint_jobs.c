/* Checkpoints between jobs, as in Amazon Braket's example: a first job saves the checkpoint
 * {"a": 1}; a second job, started with copy_checkpoints_from_job naming the first, finds it
 * in its own checkpoint directory and loads it, and returns it as its result.
 *
 *   checkpoint_jobs [--prefix NAME]
 *
 * Prints one JSON object per job and exits 0 when the second job's result is {"a": 1}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qhybrid/job.h"

QH_HYBRID_JOB(save_job, .device = "sv", .wait_until_complete = true)
{
    (void)args;
    qh_value *ckpt = qh_value_map_of(1, "a", qh_value_int(1));
    qh_status st = qh_job_save_checkpoint(ckpt, "json");
    qh_value_destroy(&ckpt);
    *result = qh_value_string(qh_job_name());
    return st;
}

QH_HYBRID_JOB(load_job, .device = "sv", .wait_until_complete = true)
{
    const char *from = qh_value_str(qh_value_get(args, "from"), NULL);
    return qh_job_load_checkpoint(from, result);
}

static int s_report(qh_job *job, qh_value **result)
{
    qh_status st = qh_job_result(job, -1, result);
    char *json = NULL;
    if (st == QH_OK)
        qh_value_to_json(*result, false, &json);
    printf("{\"job\": \"%s\", \"result\": %s}\n", qh_job_get_name(job), json ? json : "null");
    if (st != QH_OK)
        fprintf(stderr, "checkpoint_jobs: %s\n", qh_last_error());
    free(json);
    return st == QH_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *prefix = argc == 3 && strcmp(argv[1], "--prefix") == 0 ? argv[2] : NULL;
    char first_name[64] = "", second_name[64] = "";
    qh_job_def first = save_job_job, second = load_job_job;
    if (prefix) {
        snprintf(first_name, sizeof first_name, "%s-save", prefix);
        snprintf(second_name, sizeof second_name, "%s-load", prefix);
        first.job_name = first_name;
        second.job_name = second_name;
    }
    qh_job *a = NULL, *b = NULL;
    qh_value *ra = NULL, *rb = NULL, *args = NULL;
    int rc = 1;
    if (qh_job_call(&first, NULL, &a) != QH_OK || s_report(a, &ra) != 0)
        goto done;
    second.copy_checkpoints_from_job = qh_job_get_name(a);
    args = qh_value_map_of(1, "from", qh_value_string(qh_job_get_name(a)));
    if (qh_job_call(&second, &args, &b) != QH_OK || s_report(b, &rb) != 0)
        goto done;
    qh_value *want = qh_value_map_of(1, "a", qh_value_int(1));
    rc = qh_value_equal(rb, want) ? 0 : 1;
    qh_value_destroy(&want);
done:
    if (rc && qh_last_error()[0])
        fprintf(stderr, "checkpoint_jobs: %s\n", qh_last_error());
    qh_value_destroy(&ra);
    qh_value_destroy(&rb);
    qh_value_destroy(&args);
    qh_job_destroy(&a);
    qh_job_destroy(&b);
    return rc;
}
