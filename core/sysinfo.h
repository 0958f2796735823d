/* Internal: what this machine (or this process's cgroup) offers: usable cores and memory.
 * Used to size thread pools and to refuse allocations that would be OOM-killed. */
#ifndef QH_CORE_SYSINFO_H
#define QH_CORE_SYSINFO_H

#include <stdint.h>

#include "qhybrid/export.h"

/* Bytes of memory this process can still allocate without swapping or an OOM kill: the
 * smallest of MemAvailable (/proc/meminfo), the cgroup's limit minus its usage and, in a
 * Slurm job, this task's share of the allocation (qh__slurm_mem_limit). Returns 0 when
 * unknown. */
QH_INTERNAL uint64_t qh__mem_available(void);

/* This task's share of a Slurm allocation's memory, from the environment srun and sbatch
 * set: SLURM_MEM_PER_CPU times SLURM_CPUS_PER_TASK, or SLURM_MEM_PER_NODE divided by the
 * step's tasks on this node (SLURM_STEP_TASKS_PER_NODE at SLURM_NODEID, else
 * SLURM_NTASKS_PER_NODE). 0 outside Slurm or when the job set no memory. */
QH_INTERNAL uint64_t qh__slurm_mem_limit(void);

/* Cores this process may run on (its CPU affinity mask), at least 1. */
QH_INTERNAL unsigned qh__cpu_count(void);

/* Parses a byte size such as "1024", "512M", "8G", "1.5GiB", "2T" (powers of 1024).
 * Returns 0 and sets *out on success, -1 on malformed input. */
QH_INTERNAL int qh__parse_bytes(const char *s, uint64_t *out);

/* Formats a byte count for people ("4.00 GiB") into buf. */
QH_INTERNAL const char *qh__format_bytes(uint64_t bytes, char *buf, unsigned size);

#endif
