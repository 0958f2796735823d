/* Amazon Braket's metric lines, which plain programs print to stdout to have metrics
 * recorded: "Metrics - timestamp=1700084056.91; Cost=-4.03; iteration_number=0;". Pure
 * parsing, tested without processes. */
#ifndef QH_LAUNCHER_METRIC_LINE_H
#define QH_LAUNCHER_METRIC_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QH__METRIC_NAME_MAX 128 /* bytes of a metric name, with the NUL */

/* One metric of a line. */
typedef struct qh__metric {
    char name[QH__METRIC_NAME_MAX]; /* as printed */
    double value;                   /* finite */
} qh__metric;

/* Parses a line. Returns the number of metrics found (up to max; 0 when the line is not a
 * metrics line or holds none); *timestamp is the line's timestamp (0 when absent) and
 * *iteration its iteration_number (-1 when absent). Pairs that do not parse are skipped. */
size_t qh__metric_line_parse(const char *line, qh__metric *out, size_t max, double *timestamp,
                             int64_t *iteration);

#endif
