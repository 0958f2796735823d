/* Process identity from /proc (see proc.h). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proc.h"

int64_t qh__proc_start_time(int64_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%" PRId64 "/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Field 22 (starttime) comes after the command name in parentheses, which may itself
     * hold spaces and parentheses: count from the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p++;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    if (!p)
        return 0;
    /* p points at the space before field 22; a zombie (state Z) counts as gone. */
    char *state = strrchr(buf, ')') + 2;
    if (*state == 'Z' || *state == 'X')
        return 0;
    return strtoll(p + 1, NULL, 10);
}

static char s_boot_id[64];
static pthread_once_t s_boot_once = PTHREAD_ONCE_INIT;

/* Fills s_boot_id, once: until it is complete no thread may read it (a thread that saw the
 * first bytes would return the id with its newline, or "unk"). */
static void s_read_boot_id(void)
{
    char id[sizeof s_boot_id] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f || !fgets(id, sizeof id, f))
        snprintf(id, sizeof id, "unknown");
    if (f)
        fclose(f);
    id[strcspn(id, "\n")] = '\0';
    memcpy(s_boot_id, id, sizeof id);
}

const char *qh__boot_id(void)
{
    pthread_once(&s_boot_once, s_read_boot_id);
    return s_boot_id;
}
