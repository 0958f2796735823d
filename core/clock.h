/* Internal: the two clocks the project reads. The monotonic one measures intervals
 * (heartbeats, deadlines, time-outs) and never jumps; the wall clock dates things that
 * are stored or shown (job records, metrics, log lines). */
#ifndef QH_CORE_CLOCK_H
#define QH_CORE_CLOCK_H

#include <stdint.h>

#include "qhybrid/export.h"

/* Milliseconds of the monotonic clock (CLOCK_MONOTONIC): only differences mean anything. */
QH_INTERNAL int64_t qh__now_ms(void);

/* The wall clock (CLOCK_REALTIME): seconds since 1970, with nanosecond resolution. */
QH_INTERNAL double qh__now(void);

#endif
