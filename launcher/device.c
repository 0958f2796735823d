/* Devices: opening one by name (or the job's own), the priority rule read from the job
 * store, and qh_device_run, which runs a task at once or leaves it QUEUED behind the job
 * holding the device. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "launcher/device_internal.h"
#include "qhybrid/job.h"

/* Whether name is one of the local devices: "sv" or "sv:mpi=N" with 1 <= N <= 4096. */
static bool s_known(const char *name)
{
    if (strcmp(name, "sv") == 0)
        return true;
    if (strncmp(name, "sv:mpi=", 7) != 0)
        return false;
    char *end = NULL;
    long n = strtol(name + 7, &end, 10);
    return end != name + 7 && !*end && n >= 1 && n <= 4096;
}

qh_status qh_device_open(const char *name, qh_device **out)
{
    *out = NULL;
    if (!name) {
        name = qh_job_device();
        if (!name || !*name)
            name = "sv";
    }
    if (!s_known(name))
        return QH_ERROR(QH_ENOTFOUND,
                        "no device '%s': the devices are \"sv\" (the local state-vector "
                        "simulator) and \"sv:mpi=N\"",
                        name);
    qh_device *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name))) {
        free(d);
        return QH_ERROR(QH_ENOMEM, "out of memory opening device '%s'", name);
    }
    *out = d;
    return QH_OK;
}

void qh_device_close(qh_device **dev)
{
    if (!dev || !*dev)
        return;
    qh__store_close(&(*dev)->store);
    free((*dev)->name);
    free(*dev);
    *dev = NULL;
}

const char *qh_device_name(const qh_device *dev)
{
    return dev->name;
}

qh_status qh__device_held(qh__store **store, const char *name, bool *held)
{
    *held = false;
    if (!*store) {
        /* No store, no jobs: a program that never used jobs is not held up, and gets no
         * ~/.qhybrid created behind its back. */
        char *home = qh__store_default_home(), *db = NULL;
        if (!home || asprintf(&db, "%s/jobs.db", home) < 0)
            db = NULL;
        int exists = db && access(db, F_OK) == 0;
        free(db);
        qh_status st = exists ? qh__store_open(home, store) : QH_OK;
        free(home);
        if (st != QH_OK || !exists)
            return st;
    }
    /* The job this process runs in, if any: its own hold does not count. */
    const char *mine = qh_job_active() ? getenv("QH_JOB_ID") : NULL;
    int64_t my_id = mine ? strtoll(mine, NULL, 10) : -1;
    qh__job_rec **recs = NULL;
    size_t n = 0;
    QH_CALL(qh__store_list(*store, QH__LIST_LIVE, &recs, &n));
    for (size_t i = 0; i < n; i++)
        if ((recs[i]->state == QH_JOB_INITIALIZING || recs[i]->state == QH_JOB_RUNNING) &&
            strcmp(recs[i]->device, name) == 0 && recs[i]->id != my_id)
            *held = true;
    qh__job_recs_free(recs, n);
    return QH_OK;
}

qh_status qh_device_run(qh_device *dev, const qh_circuit *c, const qh_run_options *opts,
                        qh_device_task **task)
{
    qh_status st = QH_OK;
    qh_device_task *t = NULL;
    bool held = false;
    *task = NULL;
    QH_TRY(qh__device_task_create(dev, c, opts, &t));
    QH_TRY(qh__device_held(&dev->store, dev->name, &held));
    if (!held)
        QH_TRY(qh__device_task_execute(t));
    *task = t;
    return QH_OK;
fail:
    qh_device_task_destroy(&t);
    return st;
}
