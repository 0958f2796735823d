/* Metrics plots: a PNG has the PNG signature and an IHDR of the expected size, an SVG is a
 * whole SVG document with one data line per series (as many segments as finite points),
 * zero series or empty series still give an image, other extensions are refused and
 * nothing half written is ever left behind. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "launcher/plot.h"
#include "tests/launcher/launcher_test.h"

#define s_root     qh_test_home
#define s_setup    qh_test_home_setup
#define s_path     qh_test_path
#define s_teardown qh_test_home_teardown

static char *s_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* Only the named files in the scratch directory: no temporaries left. */
static int s_count_files(void)
{
    DIR *d = opendir(s_root);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

static uint32_t s_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks a PNG file's signature and IHDR. */
static void s_check_png(const char *path, uint32_t w, uint32_t h)
{
    size_t n;
    unsigned char *b = (unsigned char *)s_read_file(path, &n);
    assert_non_null(b);
    assert_true(n > 33);
    assert_memory_equal(b, "\x89PNG\r\n\x1a\n", 8);
    assert_int_equal(s_be32(b + 8), 13);
    assert_memory_equal(b + 12, "IHDR", 4);
    assert_int_equal(s_be32(b + 16), w);
    assert_int_equal(s_be32(b + 20), h);
    assert_memory_equal(b + n - 8, "IEND", 4);
    free(b);
}

/* The data lines of an SVG: stroked paths of width 2 (grid, frame and ticks are 1 wide).
 * Fills segs[i] with the number of line segments of the i-th; returns how many. */
static int s_svg_lines(const char *svg, int *segs, int max)
{
    int n = 0;
    for (const char *p = svg; (p = strstr(p, "<path")); p++) {
        const char *end = strstr(p, "/>");
        const char *w = strstr(p, "stroke-width:2;");
        if (!end || !w || w > end)
            continue;
        const char *d = strstr(p, " d=\"");
        assert_non_null(d);
        int k = 0;
        for (const char *q = d; q < end; q++)
            k += *q == 'L';
        if (n < max)
            segs[n] = k;
        n++;
    }
    return n;
}

static void test_png_svg(void **state)
{
    (void)state;
    double x0[50], y0[50], y1[20], y2[7];
    for (int i = 0; i < 50; i++) {
        x0[i] = i * 2;
        y0[i] = exp(-i / 10.0) - 0.5;
    }
    for (int i = 0; i < 20; i++)
        y1[i] = i % 5 == 3 ? NAN : 1e6 + i * i;
    y1[7] = INFINITY;
    for (int i = 0; i < 7; i++)
        y2[i] = 3.25; /* constant */
    qh__plot_series s[] = {
        {"energy", x0, y0, 50},
        {"loss", NULL, y1, 20},
        {"constant", NULL, y2, 7},
    };
    const char *png = s_path("m.png"), *svg = s_path("m.svg");
    assert_int_equal(qh__plot_write(png, "job 42", s, 3), QH_OK);
    s_check_png(png, 800, 44 + 3 * 240);
    assert_int_equal(qh__plot_write(svg, "job 42", s, 3), QH_OK);
    size_t n;
    char *doc = s_read_file(svg, &n);
    assert_non_null(doc);
    assert_int_equal(strncmp(doc, "<?xml", 5), 0);
    assert_non_null(strstr(doc, "<svg"));
    while (n > 0 && (doc[n - 1] == '\n' || doc[n - 1] == ' '))
        doc[--n] = '\0';
    assert_true(n > 6);
    assert_string_equal(doc + n - 6, "</svg>");
    int segs[8];
    assert_int_equal(s_svg_lines(doc, segs, 8), 3);
    assert_int_equal(segs[0], 49);
    assert_int_equal(segs[1], 20 - 4 - 1 - 1); /* 4 NaN and one Inf skipped */
    assert_true(segs[2] >= 1);                 /* cairo merges collinear segments */
    free(doc);
    assert_int_equal(s_count_files(), 2);

    /* the extension in any case */
    assert_int_equal(qh__plot_write(s_path("M.PNG"), NULL, s, 1), QH_OK);
    s_check_png(s_path("M.PNG"), 800, 44 + 240);
}

static void test_empty(void **state)
{
    (void)state;
    assert_int_equal(qh__plot_write(s_path("none.png"), "nothing yet", NULL, 0), QH_OK);
    s_check_png(s_path("none.png"), 800, 44 + 240);
    assert_int_equal(qh__plot_write(s_path("none.svg"), "nothing yet", NULL, 0), QH_OK);
    size_t n;
    char *doc = s_read_file(s_path("none.svg"), &n);
    int segs[2];
    assert_non_null(strstr(doc, "</svg>"));
    assert_int_equal(s_svg_lines(doc, segs, 2), 0);
    free(doc);

    double nan[3] = {NAN, NAN, NAN}, one[1] = {2};
    qh__plot_series s[] = {{"empty", NULL, NULL, 0}, {"nan", NULL, nan, 3}, {"one", NULL, one, 1}};
    assert_int_equal(qh__plot_write(s_path("empty.png"), "t", s, 3), QH_OK);
    s_check_png(s_path("empty.png"), 800, 44 + 3 * 240);
    assert_int_equal(qh__plot_write(s_path("empty.svg"), "t", s, 3), QH_OK);
    doc = s_read_file(s_path("empty.svg"), &n);
    assert_int_equal(s_svg_lines(doc, segs, 2), 0); /* a single point has only its marker */
    free(doc);
}

static void test_refused(void **state)
{
    (void)state;
    double y[2] = {1, 2};
    qh__plot_series s[] = {{"a", NULL, y, 2}};
    int before = s_count_files();
    assert_int_equal(qh__plot_write(s_path("m.jpg"), "t", s, 1), QH_EINVAL);
    assert_non_null(strstr(qh_last_error(), ".png or .svg"));
    assert_int_equal(qh__plot_write(s_path("png"), "t", s, 1), QH_EINVAL);
    assert_int_equal(qh__plot_write(s_path(".svg.txt"), "t", s, 1), QH_EINVAL);
    assert_int_equal(s_count_files(), before);
    assert_int_equal(qh__plot_write(s_path("no/such/dir/m.png"), "t", s, 1), QH_EIO);
    qh__plot_series nodata[] = {{"a", NULL, NULL, 2}};
    assert_int_equal(qh__plot_write(s_path("m2.png"), "t", nodata, 1), QH_EINVAL);
    assert_int_equal(s_count_files(), before);

    /* many series: panels get shorter, the image stays within cairo's limits */
    enum { MANY = 200 };
    qh__plot_series *many = calloc(MANY, sizeof *many);
    for (int i = 0; i < MANY; i++)
        many[i] = (qh__plot_series){"m", NULL, y, 2};
    assert_int_equal(qh__plot_write(s_path("many.png"), "t", many, MANY), QH_OK);
    assert_int_equal(qh__plot_write(s_path("many.png"), "t", many, 300), QH_EINVAL);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_svg),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
