/* Metrics plots with cairo: the only file that includes cairo's headers, and the one that
 * loads cairo (when the first plot is drawn).
 *
 * One panel per series, stacked under a title band. Each panel maps its data range onto a
 * plot area with "nice" ticks (1, 2 or 5 times a power of ten), draws the grid and tick
 * labels, then the series as one stroked line and one filled path of markers. The image is
 * drawn on cairo's image surface (PNG) or SVG surface, both writing through a callback into
 * a temporary file that is renamed over the target once complete. */
#include <cairo-svg.h>
#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/dynload.h"
#include "core/error.h"
#include "launcher/plot.h"

/* cairo is loaded the first time a plot is drawn, not when the program starts: it brings
 * some twenty libraries (X11, fontconfig, freetype) that cost every qhybrid process about
 * 4 ms to load. The functions below are looked up once, in s_cairo, and their names stand
 * for those from here on (a cairo name missing from both lists fails the link, as the
 * library is not linked). */
/* clang-format off */
#define S_CAIRO_FUNCS(X)                    \
    X(cairo_arc)                            \
    X(cairo_create)                         \
    X(cairo_destroy)                        \
    X(cairo_fill)                           \
    X(cairo_image_surface_create)           \
    X(cairo_line_to)                        \
    X(cairo_move_to)                        \
    X(cairo_new_path)                       \
    X(cairo_new_sub_path)                   \
    X(cairo_rectangle)                      \
    X(cairo_select_font_face)               \
    X(cairo_set_font_size)                  \
    X(cairo_set_line_join)                  \
    X(cairo_set_line_width)                 \
    X(cairo_set_source_rgb)                 \
    X(cairo_show_text)                      \
    X(cairo_status)                         \
    X(cairo_status_to_string)               \
    X(cairo_stroke)                         \
    X(cairo_surface_destroy)                \
    X(cairo_surface_finish)                 \
    X(cairo_surface_status)                 \
    X(cairo_surface_write_to_png_stream)    \
    X(cairo_svg_surface_create_for_stream)  \
    X(cairo_text_extents)
/* clang-format on */
#if CAIRO_VERSION >= CAIRO_VERSION_ENCODE(1, 16, 0)
#define S_CAIRO_1_16(X) X(cairo_svg_surface_set_document_unit)
#else
#define S_CAIRO_1_16(X)
#endif

static struct {
#define S_FN(f) __typeof__(&f) f;
    S_CAIRO_FUNCS(S_FN) S_CAIRO_1_16(S_FN)
#undef S_FN
} s_cairo;
static qh__dynlib s_cairo_lib = QH__DYNLIB_INIT;

/* Loads cairo the first time ($QH_CAIRO_LIBRARY, a path or a soname, else the one qhybrid
 * was built against): NULL when it is loaded, else why not. */
static const char *s_cairo_load(void)
{
    static const qh__dynsym syms[] = {
#define S_SYM(f) {#f, (void **)&s_cairo.f},
        S_CAIRO_FUNCS(S_SYM) S_CAIRO_1_16(S_SYM)
#undef S_SYM
    };
    return qh__dynlib_load(&s_cairo_lib, "QH_CAIRO_LIBRARY", QH_CAIRO_LIBRARY, syms,
                           sizeof syms / sizeof syms[0]);
}

/* From here on, each cairo name is the one looked up. */
#define cairo_arc                           (*s_cairo.cairo_arc)
#define cairo_create                        (*s_cairo.cairo_create)
#define cairo_destroy                       (*s_cairo.cairo_destroy)
#define cairo_fill                          (*s_cairo.cairo_fill)
#define cairo_image_surface_create          (*s_cairo.cairo_image_surface_create)
#define cairo_line_to                       (*s_cairo.cairo_line_to)
#define cairo_move_to                       (*s_cairo.cairo_move_to)
#define cairo_new_path                      (*s_cairo.cairo_new_path)
#define cairo_new_sub_path                  (*s_cairo.cairo_new_sub_path)
#define cairo_rectangle                     (*s_cairo.cairo_rectangle)
#define cairo_select_font_face              (*s_cairo.cairo_select_font_face)
#define cairo_set_font_size                 (*s_cairo.cairo_set_font_size)
#define cairo_set_line_join                 (*s_cairo.cairo_set_line_join)
#define cairo_set_line_width                (*s_cairo.cairo_set_line_width)
#define cairo_set_source_rgb                (*s_cairo.cairo_set_source_rgb)
#define cairo_show_text                     (*s_cairo.cairo_show_text)
#define cairo_status                        (*s_cairo.cairo_status)
#define cairo_status_to_string              (*s_cairo.cairo_status_to_string)
#define cairo_stroke                        (*s_cairo.cairo_stroke)
#define cairo_surface_destroy               (*s_cairo.cairo_surface_destroy)
#define cairo_surface_finish                (*s_cairo.cairo_surface_finish)
#define cairo_surface_status                (*s_cairo.cairo_surface_status)
#define cairo_surface_write_to_png_stream   (*s_cairo.cairo_surface_write_to_png_stream)
#define cairo_svg_surface_create_for_stream (*s_cairo.cairo_svg_surface_create_for_stream)
#define cairo_text_extents                  (*s_cairo.cairo_text_extents)
#if CAIRO_VERSION >= CAIRO_VERSION_ENCODE(1, 16, 0)
#define cairo_svg_surface_set_document_unit (*s_cairo.cairo_svg_surface_set_document_unit)
#endif

enum {
    S_WIDTH = 800,      /* image width */
    S_TITLE_H = 44,     /* title band */
    S_PANEL_H = 240,    /* panel height, when they fit */
    S_MAX_H = 32000,    /* cairo's image surfaces stop at 32767 pixels */
    S_MAX_SERIES = 256, /* panels at least (S_MAX_H - S_TITLE_H) / 256 = 124 high */
    S_LEFT = 80,        /* room for y tick labels */
    S_RIGHT = 24,       /* right margin */
    S_TOP = 30,         /* room for the panel title */
    S_BOTTOM = 36,      /* room for x tick labels */
    S_MAX_TICKS = 12,   /* per axis */
    S_LABEL_LEN = 32,   /* tick label buffer */
};

/* Line colours (one per series, cycled). */
static const double s_colors[][3] = {
    {0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
    {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
    {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81},
};

/* A data range [lo, lo + 2 * half] (half is kept rather than the width, which may not be
 * representable for data spanning most of the doubles). */
typedef struct {
    double lo, hi, half;
} s_range;

/* Where cairo's output goes. */
typedef struct {
    int fd;  /* the temporary file */
    int err; /* errno of the first failed write, 0 if none */
} s_sink;

static cairo_status_t s_write(void *closure, const unsigned char *data, unsigned int len)
{
    s_sink *s = closure;
    while (len > 0) {
        ssize_t w = write(s->fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            s->err = errno;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        data += w;
        len -= (unsigned)w;
    }
    return CAIRO_STATUS_SUCCESS;
}

/* Widens a range with no extent (or none that can be drawn) around its value. */
static void s_range_fix(s_range *r)
{
    r->half = r->hi / 2 - r->lo / 2;
    if (r->half > 0)
        return;
    double v = r->lo, d = fabs(v) * 0.1;
    r->lo = v - d;
    r->hi = v + d;
    r->half = r->hi / 2 - r->lo / 2;
    if (r->half > 0)
        return;
    r->lo = v - 1;
    r->hi = v + 1;
    r->half = r->hi / 2 - r->lo / 2;
}

/* Position of v in the range, 0 at lo and 1 at hi (never overflows). */
static double s_frac(const s_range *r, double v)
{
    return (v / 2 - r->lo / 2) / r->half;
}

/* A tick step of 1, 2 or 5 times a power of ten, near a fifth of the range. */
static double s_tick_step(const s_range *r)
{
    double raw = r->half * 0.4;
    double p = pow(10, floor(log10(raw)));
    double f = raw / p;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

static void s_text(cairo_t *cr, double x, double y, double size, int bold, double align,
                   const char *s)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, s, &ext);
    cairo_move_to(cr, x - align * ext.x_advance, y);
    cairo_show_text(cr, s);
}

static double s_x(const qh__plot_series *s, size_t i)
{
    return s->x ? s->x[i] : (double)i;
}

/* Draws one panel at vertical offset top, of height h. */
static void s_panel(cairo_t *cr, const qh__plot_series *s, size_t index, double top, double h)
{
    const double px = S_LEFT, py = top + S_TOP, pw = S_WIDTH - S_LEFT - S_RIGHT,
                 ph = h - S_TOP - S_BOTTOM;
    const char *name = s && s->name && s->name[0] ? s->name : "(unnamed)";
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    s_text(cr, px, top + S_TOP - 10, 14, 1, 0, s ? name : "");

    s_range xr = {INFINITY, -INFINITY, 0}, yr = {INFINITY, -INFINITY, 0};
    size_t finite = 0;
    for (size_t i = 0; s && i < s->n; i++) {
        double x = s_x(s, i), y = s->y[i];
        if (!isfinite(x) || !isfinite(y))
            continue;
        finite++;
        xr.lo = fmin(xr.lo, x);
        xr.hi = fmax(xr.hi, x);
        yr.lo = fmin(yr.lo, y);
        yr.hi = fmax(yr.hi, y);
    }

    /* plot area frame */
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_rectangle(cr, px + 0.5, py + 0.5, pw, ph);
    cairo_stroke(cr);
    if (finite == 0) {
        cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
        s_text(cr, px + pw / 2, py + ph / 2, 14, 0, 0.5, "no metrics");
        return;
    }
    s_range_fix(&xr);
    s_range_fix(&yr);
    /* a margin above and below the data, where it can be had */
    double lo = yr.lo - yr.half * 0.1, hi = yr.hi + yr.half * 0.1;
    if (isfinite(lo) && isfinite(hi)) {
        yr.lo = lo;
        yr.hi = hi;
        yr.half = hi / 2 - lo / 2;
    }

    /* grid and tick labels */
    char label[S_LABEL_LEN];
    for (int axis = 0; axis < 2; axis++) {
        const s_range *r = axis ? &yr : &xr;
        double step = s_tick_step(r);
        double k = ceil(r->lo / step);
        for (int t = 0; t < S_MAX_TICKS; t++, k++) {
            double v = k * step;
            if (v > r->hi || k + 1 == k)
                break;
            if (fabs(v) < step * 1e-9)
                v = 0; /* no "-0" or "1e-17" for zero */
            snprintf(label, sizeof label, "%.10g", v);
            double f = s_frac(r, v);
            cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
            if (axis == 0) {
                double gx = floor(px + f * pw) + 0.5;
                cairo_move_to(cr, gx, py + 1);
                cairo_line_to(cr, gx, py + ph);
                cairo_stroke(cr);
                cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
                s_text(cr, gx, py + ph + 16, 11, 0, 0.5, label);
            } else {
                double gy = floor(py + ph - f * ph) + 0.5;
                cairo_move_to(cr, px + 1, gy);
                cairo_line_to(cr, px + pw, gy);
                cairo_stroke(cr);
                cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
                s_text(cr, px - 6, gy + 4, 11, 0, 1, label);
            }
        }
    }
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    s_text(cr, px + pw, py + ph + 31, 11, 0, 1, "iteration");

    /* the data: one stroked line, then every marker in one filled path */
    const double *c = s_colors[index % (sizeof s_colors / sizeof s_colors[0])];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_new_path(cr); /* show_text left a current point behind */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < s->n; i++) {
            double x = s_x(s, i), y = s->y[i];
            if (!isfinite(x) || !isfinite(y))
                continue;
            double gx = px + s_frac(&xr, x) * pw, gy = py + ph - s_frac(&yr, y) * ph;
            if (pass == 0) {
                cairo_line_to(cr, gx, gy); /* the first one moves, there being no point */
            } else {
                cairo_new_sub_path(cr);
                cairo_arc(cr, gx, gy, finite > 200 ? 1.5 : 3, 0, 2 * M_PI);
            }
        }
        if (pass == 0 && finite < 2)
            cairo_new_path(cr); /* a single point is its marker */
        else if (pass == 0)
            cairo_stroke(cr);
        else
            cairo_fill(cr);
    }
}

/* Draws the whole image on cr, of height h with panels of height panel_h. */
static void s_draw(cairo_t *cr, const char *title, const qh__plot_series *series, size_t n,
                   double h, double panel_h)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, 0, 0, S_WIDTH, h);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    s_text(cr, S_WIDTH / 2.0, 28, 18, 1, 0.5, title && title[0] ? title : "metrics");
    if (n == 0) {
        s_panel(cr, NULL, 0, S_TITLE_H, panel_h);
        return;
    }
    for (size_t i = 0; i < n; i++)
        s_panel(cr, &series[i], i, S_TITLE_H + (double)i * panel_h, panel_h);
}

static int s_ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls > lx && strcasecmp(s + ls - lx, suffix) == 0;
}

qh_status qh__plot_write(const char *path, const char *title, const qh__plot_series *series,
                         size_t num_series)
{
    int png = s_ends_with(path, ".png");
    if (!png && !s_ends_with(path, ".svg"))
        return QH_ERROR(QH_EINVAL, "cannot plot to '%s': the file name must end in .png or .svg",
                        path);
    if (num_series > S_MAX_SERIES)
        return QH_ERROR(QH_EINVAL, "cannot plot %zu metrics in one image (at most %d)", num_series,
                        S_MAX_SERIES);
    for (size_t i = 0; i < num_series; i++)
        if (series[i].n > 0 && !series[i].y)
            return QH_ERROR(QH_EINVAL, "metric '%s' has %zu points but no values",
                            series[i].name ? series[i].name : "", series[i].n);
    size_t panels = num_series ? num_series : 1;
    int panel_h = S_PANEL_H;
    if (S_TITLE_H + panels * S_PANEL_H > S_MAX_H)
        panel_h = (int)((S_MAX_H - S_TITLE_H) / panels);
    int h = S_TITLE_H + (int)panels * panel_h;
    const char *why = s_cairo_load();
    if (why)
        return QH_ERROR(QH_EIO, "cannot plot to '%s': cannot load the cairo library: %s", path,
                        why);

    qh__atomic_file out;
    QH_CALL(qh__atomic_open(path, &out));
    qh_status st = QH_OK;
    s_sink sink = {out.fd, 0};
    cairo_surface_t *surf =
        png ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, S_WIDTH, h)
            : cairo_svg_surface_create_for_stream(s_write, &sink, S_WIDTH, (double)h);
#if CAIRO_VERSION >= CAIRO_VERSION_ENCODE(1, 16, 0)
    if (!png) /* sizes in pixels, as the PNG's, rather than points */
        cairo_svg_surface_set_document_unit(surf, CAIRO_SVG_UNIT_PX);
#endif
    cairo_t *cr = cairo_create(surf);
    s_draw(cr, title, series, num_series, h, panel_h);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    if (cs == CAIRO_STATUS_SUCCESS && png)
        cs = cairo_surface_write_to_png_stream(surf, s_write, &sink);
    cairo_surface_finish(surf); /* the SVG surface writes its document here */
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    if (sink.err)
        QH_FAIL(QH_EIO, "cannot write '%s': %s", path, strerror(sink.err));
    if (cs == CAIRO_STATUS_NO_MEMORY)
        QH_FAIL(QH_ENOMEM, "out of memory drawing '%s'", path);
    if (cs != CAIRO_STATUS_SUCCESS)
        QH_FAIL(QH_EIO, "cannot draw '%s': %s", path, cairo_status_to_string(cs));
    return qh__atomic_commit(&out);
fail:
    qh__atomic_abort(&out);
    return st;
}
