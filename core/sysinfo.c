/* Machine facts read from Linux: available memory (meminfo, cgroup v1/v2 limits and, inside
 * a Slurm job, the allocation's memory) and the CPU affinity mask. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sysinfo.h"

static uint64_t s_read_u64_file(const char *path, int *ok)
{
    FILE *f = fopen(path, "r");
    *ok = 0;
    if (!f)
        return 0;
    char buf[64];
    uint64_t v = 0;
    if (fgets(buf, sizeof buf, f) && isdigit((unsigned char)buf[0])) {
        v = strtoull(buf, NULL, 10);
        *ok = 1;
    }
    fclose(f);
    return v;
}

static uint64_t s_meminfo_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb * 1024u;
}

/* The number at position `node` of a Slurm task-count list such as "2(x3),1" (two tasks on
 * each of nodes 0-2, one on node 3); 0 when the list is malformed or too short. */
static unsigned long s_slurm_count_at(const char *list, unsigned long node)
{
    const char *p = list;
    while (*p) {
        char *end = NULL;
        unsigned long count = strtoul(p, &end, 10), times = 1;
        if (end == p)
            return 0;
        p = end;
        if (*p == '(') {
            if (p[1] != 'x')
                return 0;
            times = strtoul(p + 2, &end, 10);
            if (end == p + 2 || *end != ')')
                return 0;
            p = end + 1;
        }
        if (node < times)
            return count;
        node -= times;
        if (*p == ',')
            p++;
        else if (*p)
            return 0;
    }
    return 0;
}

static unsigned long s_env_ul(const char *name)
{
    const char *v = getenv(name);
    char *end = NULL;
    unsigned long x = v ? strtoul(v, &end, 10) : 0;
    return v && end != v && *end == '\0' ? x : 0;
}

uint64_t qh__slurm_mem_limit(void)
{
    const uint64_t mib = UINT64_C(1) << 20;
    unsigned long per_cpu = s_env_ul("SLURM_MEM_PER_CPU");
    if (per_cpu) {
        unsigned long cpus = s_env_ul("SLURM_CPUS_PER_TASK");
        return (uint64_t)per_cpu * (cpus ? cpus : 1) * mib;
    }
    unsigned long per_node = s_env_ul("SLURM_MEM_PER_NODE");
    if (!per_node)
        return 0;
    /* shared by this step's tasks on this node */
    const char *list = getenv("SLURM_STEP_TASKS_PER_NODE");
    unsigned long tasks = list ? s_slurm_count_at(list, s_env_ul("SLURM_NODEID")) : 0;
    if (!tasks)
        tasks = s_env_ul("SLURM_NTASKS_PER_NODE");
    return (uint64_t)per_node * mib / (tasks ? tasks : 1);
}

uint64_t qh__mem_available(void)
{
    uint64_t avail = s_meminfo_available();
    int ok_limit, ok_usage;
    /* cgroup v2, then v1: a container's limit is what the OOM killer enforces. */
    uint64_t limit = s_read_u64_file("/sys/fs/cgroup/memory.max", &ok_limit);
    uint64_t usage = s_read_u64_file("/sys/fs/cgroup/memory.current", &ok_usage);
    if (!ok_limit) {
        limit = s_read_u64_file("/sys/fs/cgroup/memory/memory.limit_in_bytes", &ok_limit);
        usage = s_read_u64_file("/sys/fs/cgroup/memory/memory.usage_in_bytes", &ok_usage);
    }
    if (ok_limit && limit < (UINT64_C(1) << 60)) {
        uint64_t room = (ok_usage && usage < limit) ? limit - usage : 0;
        if (avail == 0 || room < avail)
            avail = room;
    }
    /* Slurm stops a step that exceeds its allocation even where no cgroup shows the limit. */
    uint64_t slurm = qh__slurm_mem_limit();
    if (slurm && (avail == 0 || slurm < avail))
        avail = slurm;
    return avail;
}

unsigned qh__cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

int qh__parse_bytes(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0) || !isfinite(v))
        return -1;
    while (*end == ' ')
        end++;
    double mul = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K':
        mul = 1024.0;
        break;
    case 'M':
        mul = 1024.0 * 1024;
        break;
    case 'G':
        mul = 1024.0 * 1024 * 1024;
        break;
    case 'T':
        mul = 1024.0 * 1024 * 1024 * 1024;
        break;
    case 'B':
    case '\0':
        break;
    default:
        return -1;
    }
    if (*end && toupper((unsigned char)*end) != 'B') {
        end++;
        if (*end == 'i' || *end == 'I')
            end++;
        if (*end == 'B' || *end == 'b')
            end++;
    } else if (*end) {
        end++;
    }
    if (*end)
        return -1;
    double bytes = v * mul;
    if (bytes >= 18446744073709551615.0)
        return -1;
    *out = (uint64_t)bytes;
    return 0;
}

const char *qh__format_bytes(uint64_t bytes, char *buf, unsigned size)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%lu B", (unsigned long)bytes);
    else
        snprintf(buf, size, "%.2f %s", v, units[u]);
    return buf;
}
