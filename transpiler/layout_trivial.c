/* The trivial layout (virtual qubit v on physical qubit v), and freeing a routed circuit. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/route.h"

void qh__routed_free(qh__routed *r)
{
    if (!r)
        return;
    free(r->items);
    free(r->swaps);
    free(r->initial_layout);
    free(r->final_layout);
    memset(r, 0, sizeof *r);
}

qh_status qh__layout_trivial(const qh__coupling *c, const qh__rcircuit *rc, int *layout)
{
    if (!c || !rc || rc->num_virtual < 0)
        return QH_ERROR(QH_EINVAL, "a layout needs a coupling graph and a circuit");
    if (rc->num_virtual > c->num_qubits)
        return QH_ERROR(QH_EINVAL, "the circuit has %d qubits but the target only %d",
                        rc->num_virtual, c->num_qubits);
    for (int v = 0; v < rc->num_virtual; v++)
        layout[v] = v;
    return QH_OK;
}
