/* How a job's values are stored: results, arguments and hyperparameters as JSON, and
 * checkpoints as JSON or HDF5. */
#ifndef QH_LAUNCHER_JOB_VALUE_H
#define QH_LAUNCHER_JOB_VALUE_H

#include <stdbool.h>

#include "qhybrid/status.h"
#include "qhybrid/value.h"

/* QH_OK when v can be stored as a job's result or checkpoint without loss: no task
 * reference and no NaN or infinity anywhere. EINVAL names what and where (`what` is e.g.
 * "the result"). */
qh_status qh__job_value_check(const qh_value *v, const char *what);

/* The hyperparameters (JSON map of strings) of the arguments `args` (a map or NULL): a
 * string stays itself, anything else becomes its JSON. The store keeps them whole (the
 * program's hyperparameters.json); with `shorten` (the form shown), a string form over
 * QH_JOB_HYPERPARAMETER_MAX characters is shown as its start,
 * "..." and its last 20 characters; without, every one is whole. EINVAL when args is not a
 * map or holds what JSON cannot carry. */
qh_status qh__job_hyperparameters(const qh_value *args, bool shorten, char **json);

/* The form shown of a job's hyperparameters (the JSON map of strings its record keeps,
 * whole): *out is the map with the long ones shortened as above, or NULL when none is
 * too long. */
qh_status qh__job_hyperparameters_shown(const char *json, char **out);

/* Writes v (a map) to an HDF5 file atomically: maps are groups, arrays of doubles and of
 * complex doubles and bytes are datasets of their own type, every other value is a string
 * dataset holding its JSON. */
qh_status qh__job_value_write_h5(const qh_value *v, const char *path);

/* Reads such a file back into a map. */
qh_status qh__job_value_read_h5(const char *path, qh_value **out);

#endif
