/* Internal: pictures of a job's metrics, one panel per metric, as PNG or SVG.
 * launcher/plot.c is the only file that includes cairo's headers. */
#ifndef QH_LAUNCHER_PLOT_H
#define QH_LAUNCHER_PLOT_H

#include <stddef.h>

#include "qhybrid/status.h"

/* One metric: n points (x[i], y[i]). */
typedef struct qh__plot_series {
    const char *name; /* the panel's title */
    const double *x;  /* n values (the iteration), or NULL for 0, 1, ..., n-1 */
    const double *y;  /* n values */
    size_t n;         /* number of points */
} qh__plot_series;

/* Draws each series in its own panel, stacked vertically under the title, y against x,
 * with axes, grid, tick labels, the series' name as the panel's title and a line with a
 * marker at every point (each series in its own colour). Points where x or y is not finite
 * are skipped (the line joins their neighbours). A series with no finite point gets a panel
 * with a "no metrics" note, and so does an image of zero series. The format follows the
 * extension of path, in any case: ".png" (800 pixels wide) or ".svg"; the file is written
 * to a temporary sibling and renamed over path, so it is never seen half written.
 * QH_EINVAL with a sentence for any other extension or for more than 256 series (panels
 * get shorter past 133 series, to fit in one image), QH_EIO when the file cannot be written
 * (path is left as it was), QH_ENOMEM. */
qh_status qh__plot_write(const char *path, const char *title, const qh__plot_series *series,
                         size_t num_series);

#endif
