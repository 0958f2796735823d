/* Internal: what this machine (or this process's cgroup) offers: usable cores and memory.
 * Used to size thread pools and to refuse allocations that would be OOM-killed. */
#ifndef QH_CORE_SYSINFO_H
#define QH_CORE_SYSINFO_H

#include <stdint.h>

#include "qhybrid/export.h"

/* Bytes of memory this process can still allocate without swapping or an OOM kill: the
 * smaller of MemAvailable (/proc/meminfo) and the cgroup's limit minus its usage.
 * Returns 0 when unknown. */
QH_INTERNAL uint64_t qh__mem_available(void);

/* Cores this process may run on (its CPU affinity mask), at least 1. */
QH_INTERNAL unsigned qh__cpu_count(void);

/* Parses a byte size such as "1024", "512M", "8G", "1.5GiB", "2T" (powers of 1024).
 * Returns 0 and sets *out on success, -1 on malformed input. */
QH_INTERNAL int qh__parse_bytes(const char *s, uint64_t *out);

/* Formats a byte count for people ("4.00 GiB") into buf. */
QH_INTERNAL const char *qh__format_bytes(uint64_t bytes, char *buf, unsigned size);

#endif
