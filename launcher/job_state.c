/* The job state machine and the rules for names, sub-statuses and hyperparameters: pure
 * functions, shared by the store (which enforces them in transactions), the in-job calls
 * and the command line. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "qhybrid/job.h"

static const char *const s_state_names[] = {
#define S_NAME(name, text) text,
    QH_JOB_STATE_MAP(S_NAME)
#undef S_NAME
};

static const char *const s_sub_statuses[] = {
#define S_SUB(name) #name,
    QH_JOB_SUB_STATUS_MAP(S_SUB)
#undef S_SUB
};

#define S_NUM_SUB (sizeof s_sub_statuses / sizeof s_sub_statuses[0])

/* Qiskit Serverless's names, by index of s_sub_statuses. */
static const char *const s_qiskit_subs[] = {QH_JOB_SUB_MAPPING, QH_JOB_SUB_OPTIMIZING_HARDWARE,
                                            QH_JOB_SUB_WAITING_QPU, QH_JOB_SUB_EXECUTING_QPU,
                                            QH_JOB_SUB_POST_PROCESSING};

_Static_assert(sizeof s_qiskit_subs / sizeof s_qiskit_subs[0] == S_NUM_SUB,
               "a Qiskit name for every sub-status");

/* The index of sub in either spelling, or -1. */
static int s_sub_index(const char *sub)
{
    for (size_t i = 0; sub && i < S_NUM_SUB; i++)
        if (strcmp(sub, s_sub_statuses[i]) == 0 || strcmp(sub, s_qiskit_subs[i]) == 0)
            return (int)i;
    return -1;
}

const char *qh_job_sub_status_canonical(const char *sub)
{
    int i = s_sub_index(sub);
    return i < 0 ? NULL : s_sub_statuses[i];
}

const char *qh_job_sub_status_qiskit_name(const char *sub)
{
    int i = s_sub_index(sub);
    return i < 0 ? NULL : s_qiskit_subs[i];
}

const char *qh_job_status_braket_name(qh_job_state s)
{
    switch (s) {
    case QH_JOB_QUEUED:
        return "QUEUED";
    case QH_JOB_INITIALIZING:
    case QH_JOB_RUNNING:
        return "RUNNING";
    case QH_JOB_DONE:
        return "COMPLETED";
    case QH_JOB_ERROR:
        return "FAILED";
    case QH_JOB_CANCELLING:
        return "CANCELLING";
    case QH_JOB_CANCELED:
        return "CANCELLED";
    default:
        return "UNKNOWN";
    }
}

const char *qh_job_state_name(qh_job_state s)
{
    return (unsigned)s < QH_JOB_NUM_STATES ? s_state_names[s] : "UNKNOWN";
}

qh_status qh_job_state_parse(const char *text, qh_job_state *out)
{
    for (unsigned i = 0; text && i < QH_JOB_NUM_STATES; i++)
        if (strcmp(text, s_state_names[i]) == 0) {
            *out = (qh_job_state)i;
            return QH_OK;
        }
    return QH_ERROR(QH_EINVAL,
                    "'%s' is not a job state (QUEUED, INITIALIZING, RUNNING, CANCELLING, DONE, "
                    "ERROR or CANCELED)",
                    text ? text : "");
}

bool qh_job_state_terminal(qh_job_state s)
{
    return s == QH_JOB_DONE || s == QH_JOB_ERROR || s == QH_JOB_CANCELED;
}

bool qh_job_transition_allowed(qh_job_state from, qh_job_state to)
{
    if ((unsigned)from >= QH_JOB_NUM_STATES || (unsigned)to >= QH_JOB_NUM_STATES)
        return false;
    if (qh_job_state_terminal(from))
        return false;
    /* A cancel once asked for is what the job ends as, whatever else happens meanwhile. */
    if (from == QH_JOB_CANCELLING)
        return to == QH_JOB_CANCELED;
    if (to == QH_JOB_ERROR || to == QH_JOB_CANCELED)
        return true;
    if (to == QH_JOB_CANCELLING) /* a queued job has no process to wait for */
        return from == QH_JOB_INITIALIZING || from == QH_JOB_RUNNING;
    switch (from) {
    case QH_JOB_QUEUED:
        return to == QH_JOB_INITIALIZING;
    case QH_JOB_INITIALIZING:
        return to == QH_JOB_RUNNING;
    case QH_JOB_RUNNING:
        return to == QH_JOB_RUNNING || to == QH_JOB_DONE;
    default:
        return false;
    }
}

qh_status qh_job_sub_status_check(const char *sub)
{
    if (s_sub_index(sub) >= 0)
        return QH_OK;
    char list[384] = "";
    for (size_t i = 0; i < S_NUM_SUB; i++) {
        strncat(list, s_sub_statuses[i], sizeof list - strlen(list) - 1);
        if (strcmp(s_sub_statuses[i], s_qiskit_subs[i]) != 0) {
            strncat(list, " or ", sizeof list - strlen(list) - 1);
            strncat(list, s_qiskit_subs[i], sizeof list - strlen(list) - 1);
        }
        if (i + 1 < S_NUM_SUB)
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return QH_ERROR(QH_EINVAL, "'%s' is not a RUNNING sub-status (one of %s)", sub ? sub : "",
                    list);
}

qh_status qh_job_name_check(const char *name)
{
    if (!name || !*name)
        return QH_ERROR(QH_EINVAL, "a job name cannot be empty");
    size_t n = strlen(name);
    if (n > 50)
        return QH_ERROR(QH_EINVAL,
                        "job name '%.60s%s' is %zu characters long; at most 50 are allowed", name,
                        n > 60 ? "..." : "", n);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok)
            return QH_ERROR(QH_EINVAL,
                            "job name '%s' has '%c' at position %zu; only letters, digits and '-' "
                            "are allowed",
                            name, (c >= 32 && c < 127) ? c : '?', i + 1);
    }
    if (name[0] == '-' || name[n - 1] == '-')
        return QH_ERROR(QH_EINVAL, "job name '%s' cannot start or end with '-'", name);
    return QH_OK;
}
