/* Internal: facts that tell a process apart from a later one given the same pid, read from
 * Linux's /proc. A process is the same one when its start time matches in the same boot:
 * the launcher records both for the process supervising a job, and a job whose supervisor
 * no longer matches has lost it (the machine restarted, or the process was killed). */
#ifndef QH_CORE_PROC_H
#define QH_CORE_PROC_H

#include <stdint.h>

#include "qhybrid/export.h"

/* The start time of process pid, in clock ticks since boot (field 22 of
 * /proc/<pid>/stat); 0 when no such process exists or it is a zombie. */
QH_INTERNAL int64_t qh__proc_start_time(int64_t pid);

/* This boot's id (/proc/sys/kernel/random/boot_id), or "unknown" when it cannot be read.
 * Borrowed: read once (by the first caller; the others wait for it), the same string for the
 * life of the process. Thread-safe. */
QH_INTERNAL const char *qh__boot_id(void);

#endif
