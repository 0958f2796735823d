/* qhybrid — declaring tasks: C functions that run asynchronously on a worker with room for
 * their target (the C form of Qiskit Serverless's @distribute_task(target={...})).
 *
 * A task is a function
 *
 *     static qh_status transpile(qh_task_ctx *ctx, const qh_value *args, qh_value **result)
 *     {
 *         const qh_value *circuit = qh_value_at(args, 0);
 *         if (!circuit)
 *             return qh_task_fail(ctx, "expected a circuit, got %zu arguments",
 *                                 qh_value_len(args));
 *         *result = ...;             // the task's value, owned by the runtime from here
 *         return QH_OK;
 *     }
 *     QH_TASK(transpile, .cpu = 1, .mem = 512ull << 20, .max_retries = 2)
 *
 * QH_TASK registers the function under its own name when the program (or the shared
 * object holding it: see qh_task_load) is loaded, through a constructor; there is no
 * central list. Target fields not given take their defaults: cpu 1, gpu 0, mem 0,
 * max_retries 3, priority 0. `args` is always a list (the arguments given to qh_submit,
 * with refs already replaced by the values they stand for); it is borrowed for the call.
 *
 * A task fails by returning a non-OK status; its message is the one given to qh_task_fail,
 * else the thread's qh_last_error(), else the status's generic text. Whoever gets the
 * result sees that status, the message and the task's name. See qhybrid/pool.h for
 * submitting tasks and getting their values.
 */
#ifndef QHYBRID_TASK_H
#define QHYBRID_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "qhybrid/export.h"
#include "qhybrid/status.h"
#include "qhybrid/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a task needs from the worker that runs it. */
typedef struct qh_target {
    double cpu;      /* cores, may be fractional (0.5 = half a core); > 0 */
    unsigned gpu;    /* whole GPUs */
    uint64_t mem;    /* bytes held back for the task while it runs */
    int max_retries; /* re-runs on another worker when the worker dies; then "worker lost" */
    int priority;    /* higher runs first; first come, first served within a priority */
} qh_target;

/* The context of one running task (opaque, valid during the call only). */
typedef struct qh_task_ctx qh_task_ctx;

typedef qh_status (*qh_task_fn)(qh_task_ctx *ctx, const qh_value *args, qh_value **result);

/* A registered task (what QH_TASK defines). */
typedef struct qh_task_def {
    const char *name; /* the function's name; at most 127 bytes */
    qh_task_fn fn;    /* the body */
    qh_target target; /* its needs */
} qh_task_def;

/* Registers a task; `def` must live as long as the program (QH_TASK makes it static).
 * Fails with QH_EEXIST when another task has the name, QH_EINVAL for a bad name or target.
 * Thread-safe. Called by QH_TASK at load time, where a failure is recorded and printed to
 * stderr (a duplicate name is a programming error). */
QH_EXPORT qh_status qh_task_register(const qh_task_def *def);

/* The registered task with this name, NULL when there is none. Thread-safe. */
QH_EXPORT const qh_task_def *qh_task_find(const char *name);

/* Loads a shared object whose QH_TASK declarations register its tasks (dlopen, kept open
 * for the life of the process). Fails with QH_ENOTFOUND / QH_EIO with dlerror()'s text. */
QH_EXPORT qh_status qh_task_load(const char *path);

/* Inside a task: records the failure message and returns QH_ETASK, for
 * `return qh_task_fail(ctx, "...", ...);`. */
QH_EXPORT qh_status qh_task_fail(qh_task_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Inside a task: its name, its id and the target it was given. */
QH_EXPORT const char *qh_task_name(const qh_task_ctx *ctx);
QH_EXPORT uint64_t qh_task_id(const qh_task_ctx *ctx);
QH_EXPORT qh_target qh_task_target(const qh_task_ctx *ctx);

/* Inside a task: true once the task has been canceled (cooperative: a long task may poll
 * it and return QH_ECANCELED). */
QH_EXPORT bool qh_task_canceled(const qh_task_ctx *ctx);

/* Declares `fn` as a task, with target fields as designated initialisers (.cpu = 0.5, ...).
 * The pragmas let the user's fields override the defaults without -Woverride-init. The
 * registration has a constructor priority, so that a hybrid job run before main (see
 * qhybrid/job.h) finds every task of its program. */
/* clang-format off */
#define QH_TASK(fn, ...)                                                                           \
    _Pragma("GCC diagnostic push")                                                                 \
    _Pragma("GCC diagnostic ignored \"-Woverride-init\"")                                          \
    static const qh_task_def qh__task_def_##fn = {                                                 \
        #fn, fn, {.cpu = 1.0, .max_retries = 3, __VA_ARGS__}};                                     \
    _Pragma("GCC diagnostic pop")                                                                  \
    __attribute__((constructor(200))) static void qh__task_reg_##fn(void)                          \
    {                                                                                              \
        qh__task_register_at_load(&qh__task_def_##fn);                                             \
    }
/* clang-format on */

/* Used by QH_TASK: registers and reports a failure on stderr (constructors cannot return
 * one). */
QH_EXPORT void qh__task_register_at_load(const qh_task_def *def);

#ifdef __cplusplus
}
#endif

#endif
