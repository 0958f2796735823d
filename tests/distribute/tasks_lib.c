/* A task library as users write them for standing pools: built as a shared object and
 * loaded by `qhybrid worker --load`; its QH_TASK declarations register at load time. */
#include <unistd.h>

#include "qhybrid/task.h"

static qh_status lib_square(qh_task_ctx *ctx, const qh_value *args, qh_value **out)
{
    int64_t x;
    if (qh_value_get_int(qh_value_at(args, 0), &x) != QH_OK)
        return qh_task_fail(ctx, "lib_square wants an int");
    *out = qh_value_list_of(2, qh_value_int(x * x), qh_value_int(getpid()));
    return QH_OK;
}
QH_TASK(lib_square, .cpu = 1)
