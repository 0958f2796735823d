/* How a job's values are stored: results, arguments and hyperparameters as JSON, and
 * checkpoints as JSON or HDF5. */
#ifndef QH_LAUNCHER_JOB_VALUE_H
#define QH_LAUNCHER_JOB_VALUE_H

#include "qhybrid/status.h"
#include "qhybrid/value.h"

/* QH_OK when v can be stored as a job's result or checkpoint without loss: no task
 * reference and no NaN or infinity anywhere. EINVAL names what and where (`what` is e.g.
 * "the result"). */
qh_status qh__job_value_check(const qh_value *v, const char *what);

/* The hyperparameters (JSON map of strings) of the arguments `args` (a map or NULL): a
 * string stays itself, anything else becomes its JSON. EINVAL when args is not a map or
 * a string form exceeds QH_JOB_HYPERPARAMETER_MAX characters. */
qh_status qh__job_hyperparameters(const qh_value *args, char **json);

/* Writes v (a map) to an HDF5 file atomically: maps are groups, arrays of doubles and of
 * complex doubles and bytes are datasets of their own type, every other value is a string
 * dataset holding its JSON. */
qh_status qh__job_value_write_h5(const qh_value *v, const char *path);

/* Reads such a file back into a map. */
qh_status qh__job_value_read_h5(const char *path, qh_value **out);

#endif
