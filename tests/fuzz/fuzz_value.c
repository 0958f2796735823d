/* libFuzzer entry point for the MessagePack decoder of qh_value (values arrive from the
 * network): any input must decode or fail with QH_EPARSE, never crash or allocate by a
 * hostile length; whatever decodes must encode again and decode to an equal value. */
#include <stdint.h>
#include <stdlib.h>

#include "qhybrid/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qh_value *v = NULL;
    if (qh_value_from_msgpack(data, size, &v) != QH_OK) {
        if (v)
            abort(); /* a failure leaves nothing behind */
        return 0;
    }
    void *again = NULL;
    size_t len = 0;
    if (qh_value_to_msgpack(v, &again, &len) != QH_OK)
        abort();
    qh_value *back = NULL;
    if (qh_value_from_msgpack(again, len, &back) != QH_OK || !qh_value_equal(v, back))
        abort();
    qh_value_destroy(&back);
    free(again);
    qh_value_destroy(&v);
    return 0;
}
