/* Internal: what the device (device.c) and its tasks (device_task.c) share. */
#ifndef QH_LAUNCHER_DEVICE_INTERNAL_H
#define QH_LAUNCHER_DEVICE_INTERNAL_H

#include <stdbool.h>

#include "launcher/store.h"
#include "qhybrid/device.h"

struct qh_device {
    char *name;       /* "sv" or "sv:mpi=N" */
    qh__store *store; /* the job store, opened when first needed (NULL: none yet) */
    uint64_t tasks;   /* tasks run so far, mixed into fresh seeds */
};

/* Whether a job other than the one this process runs in holds device `name` (is
 * INITIALIZING or RUNNING on it). *store is the caller's connection, opened here when
 * first needed; with no job store under $QH_HOME nothing is held and none is created. */
qh_status qh__device_held(qh__store **store, const char *name, bool *held);

/* A task of dev for c and o, its inputs bound by name (QH_EINVAL naming a missing, unknown
 * or non-numeric one), QUEUED; the caller owns *out. */
qh_status qh__device_task_create(qh_device *dev, const qh_circuit *c, const qh_run_options *o,
                                 qh_device_task **out);

/* Runs a QUEUED task now: it becomes COMPLETED, or FAILED with the run's error (returned). */
qh_status qh__device_task_execute(qh_device_task *t);

#endif
