/* Parser of Braket-style metric lines (see metric_line.h): after the "Metrics - " prefix,
 * `key=value;` pairs; timestamp and iteration_number are the line's, every other key with a
 * finite numeric value is a metric. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/metric_line.h"

static const char *s_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

size_t qh__metric_line_parse(const char *line, qh__metric *out, size_t max, double *timestamp,
                             int64_t *iteration)
{
    static const char prefix[] = "Metrics -";
    *timestamp = 0;
    *iteration = -1;
    const char *p = s_skip_space(line);
    if (strncmp(p, prefix, sizeof prefix - 1) != 0)
        return 0;
    p += sizeof prefix - 1;
    size_t n = 0;
    while (*p && *p != '\n' && *p != '\r') {
        p = s_skip_space(p);
        const char *key = p;
        while (*p && *p != '=' && *p != ';' && *p != '\n')
            p++;
        if (*p != '=') {
            if (*p == ';')
                p++;
            else if (*p)
                break;
            continue;
        }
        const char *key_end = p;
        while (key_end > key && (key_end[-1] == ' ' || key_end[-1] == '\t'))
            key_end--;
        p = s_skip_space(p + 1);
        char *end = NULL;
        double v = strtod(p, &end);
        const char *after = end ? s_skip_space(end) : p;
        bool ok = end && end != p &&
                  (*after == ';' || *after == '\0' || *after == '\n' || *after == '\r');
        size_t klen = (size_t)(key_end - key);
        if (ok && klen > 0) {
            if (klen == 9 && strncmp(key, "timestamp", 9) == 0)
                *timestamp = isfinite(v) ? v : 0;
            else if (klen == 16 && strncmp(key, "iteration_number", 16) == 0)
                *iteration = isfinite(v) ? (int64_t)v : -1;
            else if (isfinite(v) && n < max && klen < QH__METRIC_NAME_MAX) {
                memcpy(out[n].name, key, klen);
                out[n].name[klen] = '\0';
                out[n].value = v;
                n++;
            }
        }
        while (*p && *p != ';' && *p != '\n')
            p++;
        if (*p == ';')
            p++;
    }
    return n;
}
