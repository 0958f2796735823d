/* The data store, through the C API and the qhybrid command: every refused name, title
 * and kind (and that a refusal leaves nothing behind), round trips byte for byte in the
 * shared area and a function's area (which are separate), show of tars and HDF5 files,
 * atomic replacement under a concurrent reader, quotas (also under concurrent uploads),
 * the QH_FUNCTION default scope, and the public archive calls. Each test has its own
 * QH_HOME. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "launcher/files_internal.h"
#include "core/file.h"
#include "launcher/fsutil.h"
#include "mpi_sim/h5/h5tree.h"
#include "qhybrid/archive.h"
#include "qhybrid/files.h"
#include "qhybrid/value.h"
#include "tests/launcher/launcher_test.h"

#define s_home     qh_test_home /* this test's QH_HOME, which also holds its scratch files */
#define s_sh       qh_test_sh
#define s_setup    qh_test_home_setup
#define s_path     qh_test_path
#define s_teardown qh_test_home_teardown

#define CLI QH_CLI_PATH

static void s_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A file of n pseudo-random bytes (NULs included) from seed; returns its bytes (caller
 * frees). */
static unsigned char *s_write_random(const char *path, size_t n, unsigned seed)
{
    unsigned char *b = malloc(n ? n : 1);
    assert_non_null(b);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char)x;
    }
    s_write(path, b, n);
    return b;
}

static void s_assert_file_is(const char *path, const void *data, size_t len)
{
    char *got = NULL;
    size_t n = 0;
    assert_int_equal(qh__read_file(path, &got, &n), QH_OK);
    assert_int_equal(n, len);
    assert_memory_equal(got, data, len);
    free(got);
}

/* The names listed in a scope, joined with ',' (caller frees). */
static char *s_names(const char *function)
{
    qh_value *l = NULL;
    assert_int_equal(qh_files_list(function, &l), QH_OK);
    char *s = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&s, &cap);
    for (size_t i = 0; i < qh_value_len(l); i++)
        fprintf(f, "%s%s", i ? "," : "",
                qh_value_str(qh_value_get(qh_value_at(l, i), "name"), NULL));
    fclose(f);
    qh_value_destroy(&l);
    return s;
}

static void s_assert_names(const char *function, const char *want)
{
    char *got = s_names(function);
    assert_string_equal(got, want);
    free(got);
}

/* Every entry of the scope's directory, hidden ones included, joined with ',' in sorted
 * order: shows what a refused upload may have left behind. */
static char *s_dir_entries(const char *function)
{
    char *dir = NULL;
    assert_int_equal(qh_files_dir(function, &dir), QH_OK);
    char *out = NULL;
    s_sh(&out, "LC_ALL=C ls -A '%s' | tr '\\n' ','", dir);
    free(dir);
    return out;
}

static void s_assert_dir_is(const char *function, const char *want)
{
    char *got = s_dir_entries(function);
    assert_string_equal(got, want);
    free(got);
}

/* The last error message contains every given fragment. */
static void s_assert_msg(const char *frag1, const char *frag2)
{
    const char *m = qh_last_error();
    if (!strstr(m, frag1) || (frag2 && !strstr(m, frag2)))
        fail_msg("message '%s' lacks '%s' or '%s'", m, frag1, frag2 ? frag2 : "");
}

/* ---- names and titles ------------------------------------------------------------------ */

static void test_refused_names(void **state)
{
    (void)state;
    const char *src = s_path("src.txt");
    s_write(src, "data\n", 5);
    char long_name[300];
    memset(long_name, 'n', 256);
    long_name[256] = '\0';
    static const struct {
        const char *name;
        const char *why; /* a fragment of the message */
    } bad[] = {
        {"", "empty"},
        {".", "flat"},
        {"..", "flat"},
        {"a/b", "'/'"},
        {"../x", "'/'"},
        {"/abs", "'/'"},
        {"dir/", "'/'"},
        {"a\nb", "control character 0x0a"},
        {"tab\there", "control character 0x09"},
        {"\x01start", "control character 0x01"},
        {"del\x7f", "control character 0x7f"},
        {".hidden", "starts with '.'"},
        {".lock", "starts with '.'"},
        {"..x", "starts with '.'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qh_clear_error();
        if (qh_files_upload(src, NULL, bad[i].name) != QH_EINVAL)
            fail_msg("name '%s' was not refused", bad[i].name);
        s_assert_msg(bad[i].why, "the shared area");
        assert_int_equal(qh_files_upload(src, "fn", bad[i].name), QH_EINVAL);
        s_assert_msg(bad[i].why, "function 'fn'");
        /* the other calls refuse it too, before looking for the file */
        char *path = NULL;
        assert_int_equal(qh_files_download(bad[i].name, NULL, s_path("dl"), &path), QH_EINVAL);
        assert_null(path);
        assert_int_equal(qh_files_delete(bad[i].name, NULL), QH_EINVAL);
        qh_value *v = NULL;
        assert_int_equal(qh_files_show(bad[i].name, NULL, &v), QH_EINVAL);
        assert_null(v);
    }
    assert_int_equal(qh_files_upload(src, NULL, long_name), QH_EINVAL);
    s_assert_msg("256 bytes long", "at most 255");
    /* a source path whose base name is no name */
    assert_int_equal(qh_files_upload(s_path("sub/"), NULL, NULL), QH_EINVAL);
    assert_int_equal(qh_files_upload(s_path(".src"), NULL, NULL), QH_EINVAL);
    /* nothing was stored, nothing left behind */
    s_assert_names(NULL, "");
    s_assert_dir_is(NULL, "");

    /* the limits themselves are accepted: 255 bytes, '..' inside a name, odd bytes */
    long_name[255] = '\0';
    assert_int_equal(qh_files_upload(src, NULL, long_name), QH_OK);
    assert_int_equal(qh_files_upload(src, NULL, "v1..v2 (final) é.txt"), QH_OK);
    assert_int_equal(qh_files_upload(src, NULL, "x"), QH_OK);
    char *want = NULL;
    assert_true(asprintf(&want, "%s,v1..v2 (final) é.txt,x", long_name) > 0);
    s_assert_names(NULL, want);
    free(want);

    /* through the command line: exit 1 with the sentence on stderr */
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s files upload %s --name a/b", CLI, src), 1);
    assert_non_null(strstr(out, "qhybrid files upload: file name 'a/b' holds '/'"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files upload %s --name .. --function fn", CLI, src), 1);
    assert_non_null(strstr(out, "function 'fn'"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files upload %s --name \"$(printf 'a\\tb')\"", CLI, src), 1);
    assert_non_null(strstr(out, "control character"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files upload %s --name %0256d", CLI, src, 0), 1);
    assert_non_null(strstr(out, "at most 255"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files download ../x --dest %s", CLI, s_path("dl")), 1);
    assert_non_null(strstr(out, "holds '/'"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files show .hidden", CLI), 1);
    assert_non_null(strstr(out, "starts with '.'"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files delete ..", CLI), 1);
    free(out);
    assert_false(qh__exists(s_path("x")));
    assert_false(qh__exists(s_path("dl")));
}

static void test_function_titles(void **state)
{
    (void)state;
    char t64[65], t65[66];
    memset(t64, 'f', 64);
    t64[64] = '\0';
    memset(t65, 'f', 65);
    t65[65] = '\0';
    const char *good[] = {"f", "a-b_c.d", "F9", t64, "x.."};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (qh__function_title_check(good[i]) != QH_OK)
            fail_msg("title '%s' refused: %s", good[i], qh_last_error());
    const char *bad[] = {"", ".f", "..", "a/b", "a b", "é", "a\nb", t65, "a:b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (qh__function_title_check(bad[i]) != QH_EINVAL)
            fail_msg("title '%s' accepted", bad[i]);
    assert_int_equal(qh__function_title_check(NULL), QH_EINVAL);
    /* every call checks the title, and stores nothing */
    const char *src = s_path("src.txt");
    s_write(src, "data\n", 5);
    qh_value *v = NULL;
    char *dir = NULL;
    assert_int_equal(qh_files_upload(src, "../escape", "x"), QH_EINVAL);
    assert_int_equal(qh_files_list("a/b", &v), QH_EINVAL);
    assert_null(v);
    assert_int_equal(qh_files_dir(".hidden", &dir), QH_EINVAL);
    assert_null(dir);
    assert_int_equal(qh_files_set_quota(t65, 1), QH_EINVAL);
    assert_false(qh__exists(s_path("files")));
    assert_false(qh__exists(s_path("escape")));
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s files list --function ../x", CLI), 1);
    assert_non_null(strstr(out, "function title"));
    free(out);
}

/* ---- kinds ----------------------------------------------------------------------------- */

static void test_refused_kinds(void **state)
{
    (void)state;
    const char *text = s_path("text.txt");
    s_write(text, "just some text, no archive\n", 27);
    /* a real tar, a gzip'd tar, a gzip of something else, an HDF5 file */
    assert_int_equal(qh__mkdirs(s_path("tree/sub"), 0755), QH_OK);
    s_write(s_path("tree/sub/a.txt"), "aaa", 3);
    assert_int_equal(s_sh(NULL, "tar -cf %s -C %s sub", s_path("plain.tar"), s_path("tree")), 0);
    assert_int_equal(qh_archive_pack(s_path("tree"), s_path("packed.tar.gz")), QH_OK);
    assert_int_equal(s_sh(NULL, "gzip -c %s > %s", text, s_path("text.gz")), 0);
    qh__h5w *w = NULL;
    assert_int_equal(qh__h5w_open(s_path("data.h5"), &w), QH_OK);
    double d[3] = {1, 2, 3};
    assert_int_equal(qh__h5w_doubles(w, "/d", d, 3), QH_OK);
    assert_int_equal(qh__h5w_commit(&w), QH_OK);

    static const struct {
        const char *file; /* under s_home */
        const char *name; /* stored as */
        const char *why;  /* a fragment of the message */
    } bad[] = {
        {"text.txt", "x.tar", "must be a tar archive"},
        {"text.txt", "x.TAR", "must be a tar archive"},
        {"text.gz", "x.tar.gz", "must be a gzip-compressed tar archive"},
        {"text.gz", "x.tgz", "must be a gzip-compressed tar archive"},
        {"plain.tar", "x.tar.gz", "uncompressed tar"},
        {"packed.tar.gz", "x.tar", "compressed with gzip"},
        {"plain.tar", "x.h5", "must be an HDF5 file"},
        {"text.txt", "x.hdf5", "must be an HDF5 file"},
        {"data.h5", "x.tar", "must be a tar archive"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qh_clear_error();
        if (qh_files_upload(s_path(bad[i].file), NULL, bad[i].name) != QH_EINVAL)
            fail_msg("%s stored as %s", bad[i].file, bad[i].name);
        s_assert_msg(bad[i].why, bad[i].name);
        s_assert_msg("the shared area", s_path(bad[i].file));
        /* the message names the user's file, not the store's temporary */
        assert_null(strstr(qh_last_error(), ".upload-"));
    }
    /* not regular files */
    assert_int_equal(qh_files_upload(s_path("tree"), NULL, "tree.bin"), QH_EINVAL);
    s_assert_msg("is a directory", "tree.bin");
    assert_int_equal(mkfifo(s_path("fifo"), 0600), 0);
    assert_int_equal(qh_files_upload(s_path("fifo"), NULL, NULL), QH_EINVAL);
    s_assert_msg("is a fifo", "only regular files");
    assert_int_equal(qh_files_upload("/dev/null", "fn", NULL), QH_EINVAL);
    s_assert_msg("is a device", "function 'fn'");
    assert_int_equal(qh_files_upload(s_path("missing"), NULL, NULL), QH_ENOTFOUND);
    s_assert_msg("missing", "the shared area");
    /* nothing stored, no temporary left */
    s_assert_names(NULL, "");
    s_assert_dir_is(NULL, "");
    s_assert_names("fn", "");

    /* what the names promise is accepted, and so is anything under another name */
    assert_int_equal(qh_files_upload(s_path("plain.tar"), NULL, NULL), QH_OK);
    assert_int_equal(qh_files_upload(s_path("packed.tar.gz"), NULL, NULL), QH_OK);
    assert_int_equal(qh_files_upload(s_path("packed.tar.gz"), NULL, "p.tgz"), QH_OK);
    assert_int_equal(qh_files_upload(s_path("data.h5"), NULL, NULL), QH_OK);
    assert_int_equal(qh_files_upload(s_path("data.h5"), NULL, "d.hdf5"), QH_OK);
    assert_int_equal(qh_files_upload(text, NULL, "x.gz"), QH_OK);
    assert_int_equal(qh_files_upload(s_path("plain.tar"), NULL, "tar-as.bin"), QH_OK);
    s_assert_names(NULL, "d.hdf5,data.h5,p.tgz,packed.tar.gz,plain.tar,tar-as.bin,x.gz");

    /* through the command line */
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s files upload %s --name t.tar", CLI, text), 1);
    assert_non_null(strstr(out, "qhybrid files upload: cannot store 't.tar' in the shared area"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files upload %s --function fn", CLI, s_path("tree")), 1);
    assert_non_null(strstr(out, "is a directory"));
    free(out);
    s_assert_names("fn", "");
}

/* ---- round trips ----------------------------------------------------------------------- */

static void test_round_trip_api(void **state)
{
    (void)state;
    size_t n1 = 300000, n2 = 4097;
    unsigned char *b1 = s_write_random(s_path("one.bin"), n1, 1);
    unsigned char *b2 = s_write_random(s_path("two.bin"), n2, 2);
    unsigned char *b3 = s_write_random(s_path("three.bin"), 0, 3);
    /* stored out of order, listed by name */
    assert_int_equal(qh_files_upload(s_path("two.bin"), NULL, "b.bin"), QH_OK);
    assert_int_equal(qh_files_upload(s_path("one.bin"), NULL, "a.bin"), QH_OK);
    assert_int_equal(qh_files_upload(s_path("three.bin"), NULL, NULL), QH_OK);
    qh_value *l = NULL;
    assert_int_equal(qh_files_list(NULL, &l), QH_OK);
    assert_int_equal(qh_value_len(l), 3);
    const char *names[] = {"a.bin", "b.bin", "three.bin"};
    int64_t sizes[] = {(int64_t)n1, (int64_t)n2, 0};
    for (size_t i = 0; i < 3; i++) {
        const qh_value *e = qh_value_at(l, i);
        assert_string_equal(qh_value_str(qh_value_get(e, "name"), NULL), names[i]);
        assert_int_equal(qh_value_int_or(qh_value_get(e, "size"), -1), sizes[i]);
        int64_t mod = qh_value_int_or(qh_value_get(e, "modified"), -1);
        assert_true(mod > 1000000000);
    }
    qh_value_destroy(&l);

    /* scopes are separate: the function's area is empty, then holds its own a.bin */
    s_assert_names("fn", "");
    assert_int_equal(qh_files_upload(s_path("two.bin"), "fn", "a.bin"), QH_OK);
    s_assert_names("fn", "a.bin");
    s_assert_names("other", "");

    char *path = NULL;
    assert_int_equal(qh_files_download("a.bin", NULL, s_path("dl/shared"), &path), QH_OK);
    assert_string_equal(path, s_path("dl/shared/a.bin"));
    s_assert_file_is(path, b1, n1);
    free(path);
    assert_int_equal(qh_files_download("a.bin", "fn", s_path("dl/fn"), &path), QH_OK);
    s_assert_file_is(path, b2, n2);
    free(path);
    assert_int_equal(qh_files_download("three.bin", NULL, s_path("dl/shared"), NULL), QH_OK);
    s_assert_file_is(s_path("dl/shared/three.bin"), b3, 0);
    /* a download replaces what is at the destination */
    assert_int_equal(qh_files_download("a.bin", "fn", s_path("dl/shared"), NULL), QH_OK);
    s_assert_file_is(s_path("dl/shared/a.bin"), b2, n2);
    /* no temporary left at the destination */
    char *out = NULL;
    s_sh(&out, "LC_ALL=C ls -A %s | tr '\\n' ,", s_path("dl/shared"));
    assert_string_equal(out, "a.bin,three.bin,");
    free(out);
    /* NULL destination: the working directory */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(s_path("dl/fn")), 0);
    assert_int_equal(qh_files_download("b.bin", NULL, NULL, &path), QH_OK);
    assert_int_equal(chdir(cwd), 0);
    s_assert_file_is(s_path("dl/fn/b.bin"), b2, n2);
    free(path);

    /* missing names */
    assert_int_equal(qh_files_download("nope", NULL, s_path("dl"), &path), QH_ENOTFOUND);
    s_assert_msg("no file 'nope' in the shared area", NULL);
    assert_int_equal(qh_files_download("b.bin", "fn", s_path("dl"), &path), QH_ENOTFOUND);
    s_assert_msg("no file 'b.bin' in function 'fn'", NULL);
    assert_false(qh__exists(s_path("dl/b.bin")));
    /* the temporaries of dead uploads are swept by the next upload, live ones are not */
    char *dir = NULL;
    assert_int_equal(qh_files_dir(NULL, &dir), QH_OK);
    char *dead = qh__path_join(dir, ".upload-dead01"), *live = qh__path_join(dir, ".upload-live01");
    s_write(dead, "partial", 7);
    s_write(live, "partial", 7);
    struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    assert_int_equal(utimensat(AT_FDCWD, dead, old, 0), 0);
    assert_int_equal(utimensat(AT_FDCWD, live, old, 0), 0);
    int live_fd = open(live, O_RDONLY);
    assert_true(live_fd >= 0);
    assert_int_equal(flock(live_fd, LOCK_SH), 0);
    assert_int_equal(qh_files_upload(s_path("one.bin"), NULL, "c.bin"), QH_OK);
    assert_false(qh__exists(dead));
    assert_true(qh__exists(live));
    close(live_fd);
    s_assert_names(NULL, "a.bin,b.bin,c.bin,three.bin");
    assert_int_equal(qh_files_delete("c.bin", NULL), QH_OK);
    unlink(live);
    free(dead);
    free(live);
    free(dir);
    /* a destination that cannot be a directory */
    s_write(s_path("plain"), "p", 1);
    assert_int_equal(qh_files_download("b.bin", NULL, s_path("plain"), &path), QH_EIO);
    s_assert_msg("cannot download 'b.bin' from the shared area", "not a directory");
    assert_null(path);

    /* delete in one scope leaves the other */
    assert_int_equal(qh_files_delete("a.bin", NULL), QH_OK);
    s_assert_names(NULL, "b.bin,three.bin");
    s_assert_names("fn", "a.bin");
    assert_int_equal(qh_files_delete("a.bin", NULL), QH_ENOTFOUND);
    s_assert_msg("no file 'a.bin' in the shared area", NULL);
    assert_int_equal(qh_files_delete("a.bin", "fn"), QH_OK);
    s_assert_names("fn", "");
    free(b1);
    free(b2);
    free(b3);
}

static void test_round_trip_cli(void **state)
{
    (void)state;
    size_t n = 200001;
    unsigned char *b = s_write_random(s_path("in.bin"), n, 7);
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s files upload %s --name stored.bin", CLI, s_path("in.bin")), 0);
    qh_value *v = NULL;
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    assert_string_equal(qh_value_str(qh_value_get(v, "name"), NULL), "stored.bin");
    assert_int_equal(qh_value_int_or(qh_value_get(v, "size"), -1), (int64_t)n);
    qh_value_destroy(&v);
    free(out);
    assert_int_equal(s_sh(&out, "%s files upload %s --function fn", CLI, s_path("in.bin")), 0);
    free(out);

    /* list: a table, or JSON equal to the C API's */
    assert_int_equal(s_sh(&out, "%s files list", CLI), 0);
    assert_non_null(strstr(out, "NAME"));
    assert_non_null(strstr(out, "stored.bin"));
    assert_null(strstr(out, "in.bin"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files list --json --function fn", CLI), 0);
    qh_value *api = NULL;
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    assert_int_equal(qh_files_list("fn", &api), QH_OK);
    assert_true(qh_value_equal(v, api));
    assert_int_equal(qh_value_len(v), 1);
    qh_value_destroy(&v);
    qh_value_destroy(&api);
    free(out);

    /* download byte for byte, into a directory that is created */
    assert_int_equal(s_sh(&out, "%s files download stored.bin --dest %s", CLI, s_path("d/e")), 0);
    assert_non_null(strstr(out, s_path("d/e/stored.bin")));
    free(out);
    s_assert_file_is(s_path("d/e/stored.bin"), b, n);
    assert_int_equal(
        s_sh(&out, "cd %s && %s files download in.bin --function fn", s_path("d"), CLI), 0);
    free(out);
    s_assert_file_is(s_path("d/in.bin"), b, n);
    assert_int_equal(s_sh(&out, "%s files download in.bin --dest %s", CLI, s_path("d")), 1);
    assert_non_null(strstr(out, "no file 'in.bin' in the shared area"));
    free(out);

    /* show of a plain file */
    assert_int_equal(s_sh(&out, "%s files show stored.bin", CLI), 0);
    assert_int_equal(qh_value_from_json(out, &v), QH_OK);
    assert_string_equal(qh_value_str(qh_value_get(v, "kind"), NULL), "file");
    assert_int_equal(qh_value_int_or(qh_value_get(v, "size"), -1), (int64_t)n);
    assert_null(qh_value_get(v, "members"));
    qh_value_destroy(&v);
    free(out);

    /* delete */
    assert_int_equal(s_sh(&out, "%s files delete stored.bin", CLI), 0);
    free(out);
    s_assert_names(NULL, "");
    s_assert_names("fn", "in.bin");
    assert_int_equal(s_sh(&out, "%s files delete stored.bin", CLI), 1);
    assert_non_null(strstr(out, "no file 'stored.bin' in the shared area"));
    free(out);

    /* usage errors exit 2 */
    const char *usage[] = {"files",
                           "files bogus",
                           "files upload",
                           "files upload a b",
                           "files list extra",
                           "files list --dest x",
                           "files delete x --name y",
                           "files show",
                           "files download x --nope"};
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++)
        if (s_sh(NULL, "%s %s", CLI, usage[i]) != 2)
            fail_msg("'%s' is not a usage error", usage[i]);
    assert_int_equal(s_sh(NULL, "%s files --help", CLI), 0);
    assert_int_equal(s_sh(NULL, "%s files list --help", CLI), 0);
    free(b);
}

/* ---- show ------------------------------------------------------------------------------ */

static void test_show(void **state)
{
    (void)state;
    assert_int_equal(qh__mkdirs(s_path("tree/sub"), 0755), QH_OK);
    s_write(s_path("tree/a.txt"), "hello", 5);
    s_write(s_path("tree/sub/b.bin"), "0123456789", 10);
    assert_int_equal(symlink("a.txt", s_path("tree/link")), 0);
    assert_int_equal(qh_archive_pack(s_path("tree"), s_path("t.tar.gz")), QH_OK);
    assert_int_equal(s_sh(NULL, "tar -cf %s -C %s a.txt", s_path("p.tar"), s_path("tree")), 0);
    assert_int_equal(qh_files_upload(s_path("t.tar.gz"), "fn", NULL), QH_OK);
    assert_int_equal(qh_files_upload(s_path("p.tar"), "fn", NULL), QH_OK);

    qh_value *v = NULL;
    assert_int_equal(qh_files_show("t.tar.gz", "fn", &v), QH_OK);
    assert_string_equal(qh_value_str(qh_value_get(v, "name"), NULL), "t.tar.gz");
    assert_string_equal(qh_value_str(qh_value_get(v, "kind"), NULL), "tar.gz");
    const qh_value *m = qh_value_get(v, "members");
    assert_int_equal(qh_value_len(m), 4);
    /* the packer sorts members: a.txt, link, sub/, sub/b.bin */
    const char *names[] = {"a.txt", "link", "sub/", "sub/b.bin"};
    const char *types[] = {"file", "symlink", "dir", "file"};
    int64_t sizes[] = {5, 0, 0, 10};
    for (size_t i = 0; i < 4; i++) {
        const qh_value *e = qh_value_at(m, i);
        assert_string_equal(qh_value_str(qh_value_get(e, "name"), NULL), names[i]);
        assert_string_equal(qh_value_str(qh_value_get(e, "type"), NULL), types[i]);
        assert_int_equal(qh_value_int_or(qh_value_get(e, "size"), -1), sizes[i]);
    }
    /* the command prints the same */
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s files show t.tar.gz --function fn", CLI), 0);
    qh_value *cli = NULL;
    assert_int_equal(qh_value_from_json(out, &cli), QH_OK);
    assert_true(qh_value_equal(v, cli));
    qh_value_destroy(&cli);
    qh_value_destroy(&v);
    free(out);

    assert_int_equal(qh_files_show("p.tar", "fn", &v), QH_OK);
    assert_string_equal(qh_value_str(qh_value_get(v, "kind"), NULL), "tar");
    m = qh_value_get(v, "members");
    assert_int_equal(qh_value_len(m), 1);
    assert_string_equal(qh_value_str(qh_value_get(qh_value_at(m, 0), "name"), NULL), "a.txt");
    qh_value_destroy(&v);

    /* HDF5: the datasets (groups left out) with their types */
    qh__h5w *w = NULL;
    assert_int_equal(qh__h5w_open(s_path("data.h5"), &w), QH_OK);
    double d[4] = {1, 2, 3, 4};
    int64_t iv[2] = {7, 8};
    assert_int_equal(qh__h5w_doubles(w, "/g/x", d, 4), QH_OK);
    assert_int_equal(qh__h5w_int64s(w, "/n", iv, 2), QH_OK);
    assert_int_equal(qh__h5w_string(w, "/g/s", "label"), QH_OK);
    assert_int_equal(qh__h5w_commit(&w), QH_OK);
    assert_int_equal(qh_files_upload(s_path("data.h5"), NULL, NULL), QH_OK);
    assert_int_equal(qh_files_show("data.h5", NULL, &v), QH_OK);
    assert_string_equal(qh_value_str(qh_value_get(v, "kind"), NULL), "hdf5");
    assert_null(qh_value_get(v, "members"));
    const qh_value *ds = qh_value_get(v, "datasets");
    assert_int_equal(qh_value_len(ds), 3);
    const char *dn[] = {"/g/s", "/g/x", "/n"};
    const char *dt[] = {"string", "float64", "int64"};
    for (size_t i = 0; i < 3; i++) {
        const qh_value *e = qh_value_at(ds, i);
        assert_string_equal(qh_value_str(qh_value_get(e, "name"), NULL), dn[i]);
        const char *t = qh_value_str(qh_value_get(e, "type"), NULL);
        if (!t || strncmp(t, dt[i], strlen(dt[i])) != 0)
            fail_msg("dataset %s has type '%s', not %s...", dn[i], t ? t : "?", dt[i]);
    }
    assert_non_null(strstr(qh_value_str(qh_value_get(qh_value_at(ds, 1), "type"), NULL), "[4]"));
    qh_value_destroy(&v);
    assert_int_equal(s_sh(&out, "%s files show data.h5", CLI), 0);
    assert_non_null(strstr(out, "\"/g/x\""));
    free(out);

    assert_int_equal(qh_files_show("data.h5", "fn", &v), QH_ENOTFOUND);
    s_assert_msg("no file 'data.h5' in function 'fn'", NULL);
    assert_null(v);
}

/* ---- atomic replace -------------------------------------------------------------------- */

#define S_BIG    (8u << 20)
#define S_ROUNDS 50

/* The reader: reads the stored file (directly, and through list and download) until
 * `stop` exists, counting reads that saw anything but one whole content. Exits 0 when all
 * were whole and at least one read was made, 1 otherwise; never returns. */
static void s_reader(const char *stored, const char *stop, const char *dl, int ready_fd)
{
    unsigned char *buf = malloc(S_BIG + 1);
    long reads = 0, bad = 0;
    if (write(ready_fd, "r", 1) != 1)
        _exit(3);
    close(ready_fd);
    while (buf && (access(stop, F_OK) != 0 || reads < 3)) {
        int fd = open(stored, O_RDONLY);
        if (fd < 0) {
            bad++; /* the name must never be missing */
            reads++;
            continue;
        }
        size_t n = 0;
        ssize_t r;
        while (n < S_BIG + 1 && (r = read(fd, buf + n, S_BIG + 1 - n)) > 0)
            n += (size_t)r;
        close(fd);
        bool whole = n == S_BIG;
        for (size_t i = 1; whole && i < n; i++)
            whole = buf[i] == buf[0];
        if (!whole || (buf[0] != 'A' && buf[0] != 'B'))
            bad++;
        if (reads % 4 == 0) {
            /* the listing shows exactly the one whole file, never a temporary */
            qh_value *l = NULL;
            if (qh_files_list(NULL, &l) != QH_OK || qh_value_len(l) != 1 ||
                qh_value_int_or(qh_value_get(qh_value_at(l, 0), "size"), 0) != S_BIG)
                bad++;
            qh_value_destroy(&l);
            /* and a download is one whole content too */
            char *p = NULL;
            if (qh_files_download("big.bin", NULL, dl, &p) != QH_OK)
                bad++;
            free(p);
        }
        reads++;
    }
    if (bad)
        fprintf(stderr, "reader: %ld of %ld reads saw a partial file\n", bad, reads);
    free(buf);
    _exit(bad == 0 && reads > 0 ? 0 : 1);
}

static void test_atomic_replace(void **state)
{
    (void)state;
    unsigned char *a = malloc(S_BIG), *b = malloc(S_BIG);
    assert_non_null(a);
    assert_non_null(b);
    memset(a, 'A', S_BIG);
    memset(b, 'B', S_BIG);
    s_write(s_path("a.bin"), a, S_BIG);
    s_write(s_path("b.bin"), b, S_BIG);
    assert_int_equal(qh_files_upload(s_path("a.bin"), NULL, "big.bin"), QH_OK);
    char *stored = NULL;
    assert_int_equal(qh_files_dir(NULL, &stored), QH_OK);
    char *path = qh__path_join(stored, "big.bin");
    free(stored);
    assert_int_equal(qh__mkdirs(s_path("dl"), 0755), QH_OK);

    int ready[2];
    assert_int_equal(pipe(ready), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        s_reader(path, s_path("stop"), s_path("dl"), ready[1]);
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    for (int i = 0; i < S_ROUNDS; i++)
        assert_int_equal(qh_files_upload(s_path(i % 2 ? "a.bin" : "b.bin"), NULL, "big.bin"),
                         QH_OK);
    s_write(s_path("stop"), "", 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the last upload (round 49: a.bin) is what is stored; no temporary remains */
    s_assert_file_is(path, a, S_BIG);
    s_assert_dir_is(NULL, ".lock,big.bin,");
    free(path);
    free(a);
    free(b);
}

/* ---- quotas ---------------------------------------------------------------------------- */

#define S_KIB 1024u

static void test_quota(void **state)
{
    (void)state;
    uint64_t q = 0;
    assert_int_equal(qh_files_quota(NULL, &q), QH_OK);
    assert_int_equal(q, 10ull << 30);
    unsigned char *b600 = s_write_random(s_path("600k"), 600 * S_KIB, 1);
    unsigned char *b700 = s_write_random(s_path("700k"), 700 * S_KIB, 2);

    /* the shared area, through the C API */
    assert_int_equal(qh_files_set_quota(NULL, 1u << 20), QH_OK);
    assert_int_equal(qh_files_quota(NULL, &q), QH_OK);
    assert_int_equal(q, 1u << 20);
    assert_int_equal(qh_files_upload(s_path("600k"), NULL, "first.bin"), QH_OK);
    assert_int_equal(qh_files_upload(s_path("600k"), NULL, "second.bin"), QH_ERANGE);
    s_assert_msg("cannot store 'second.bin' (614400 bytes) in the shared area", "1048576");
    s_assert_msg("1228800", NULL);
    s_assert_names(NULL, "first.bin");
    s_assert_dir_is(NULL, ".lock,.quota,first.bin,");
    /* a replacement counts the replaced file as freed */
    assert_int_equal(qh_files_upload(s_path("700k"), NULL, "first.bin"), QH_OK);
    assert_int_equal(qh_files_download("first.bin", NULL, s_path("dl"), NULL), QH_OK);
    s_assert_file_is(s_path("dl/first.bin"), b700, 700 * S_KIB);
    /* what a delete frees can be used again */
    assert_int_equal(qh_files_upload(s_path("600k"), NULL, "second.bin"), QH_ERANGE);
    assert_int_equal(qh_files_delete("first.bin", NULL), QH_OK);
    assert_int_equal(qh_files_upload(s_path("600k"), NULL, "second.bin"), QH_OK);

    /* a function's quota is its own, and lasts: through the command line */
    assert_int_equal(qh_files_set_quota("fq", 1u << 20), QH_OK);
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s files upload %s --function fq --name a", CLI, s_path("600k")),
                     0);
    free(out);
    assert_int_equal(s_sh(&out, "%s files upload %s --function fq --name b", CLI, s_path("600k")),
                     1);
    assert_non_null(strstr(out, "cannot store 'b' (614400 bytes) in function 'fq'"));
    assert_non_null(strstr(out, "quota of 1048576 bytes"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files upload %s --function fq --name a", CLI, s_path("700k")),
                     0);
    free(out);
    s_assert_names("fq", "a");
    s_assert_dir_is("fq", ".lock,.quota,a,");
    /* other functions keep the default */
    assert_int_equal(qh_files_upload(s_path("600k"), "other", "a"), QH_OK);
    assert_int_equal(qh_files_upload(s_path("600k"), "other", "b"), QH_OK);

    /* QH_FILES_QUOTA sets the quota of scopes without their own */
    setenv("QH_FILES_QUOTA", "1.5M", 1);
    assert_int_equal(qh_files_quota("env", &q), QH_OK);
    assert_int_equal(q, 1536 * S_KIB);
    assert_int_equal(qh_files_quota("fq", &q), QH_OK);
    assert_int_equal(q, 1u << 20);
    assert_int_equal(qh_files_upload(s_path("600k"), "env", "a"), QH_OK);
    assert_int_equal(qh_files_upload(s_path("600k"), "env", "b"), QH_OK);
    assert_int_equal(qh_files_upload(s_path("600k"), "env", "c"), QH_ERANGE);
    s_assert_msg("quota of 1572864 bytes", "function 'env'");
    assert_int_equal(s_sh(&out, "QH_FILES_QUOTA=1G %s files upload %s --function env --name c", CLI,
                          s_path("600k")),
                     0);
    free(out);
    setenv("QH_FILES_QUOTA", "lots", 1);
    assert_int_equal(qh_files_upload(s_path("600k"), "env2", "a"), QH_EINVAL);
    s_assert_msg("QH_FILES_QUOTA='lots'", NULL);
    unsetenv("QH_FILES_QUOTA");
    /* 0 drops a scope's own quota */
    assert_int_equal(qh_files_set_quota("fq", 0), QH_OK);
    assert_int_equal(qh_files_quota("fq", &q), QH_OK);
    assert_int_equal(q, 10ull << 30);
    assert_int_equal(qh_files_upload(s_path("600k"), "fq", "b"), QH_OK);
    free(b600);
    free(b700);
}

/* Set in the uploading processes of test_quota_concurrent: rename() then waits first. */
static volatile int s_slow_rename;

/* The store's rename, seen from this test: the library is linked statically, so this
 * definition is the one it calls. Slowed on demand, it widens the moment between an
 * upload's quota check and its rename, where a missing lock would let two uploads both
 * see room for themselves. */
int rename(const char *from, const char *to)
{
    if (s_slow_rename)
        usleep(300000);
    return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

/* Concurrent uploads cannot together exceed the quota: of four processes each storing 600
 * KiB under its own name in 1 MiB, exactly one succeeds, whatever the timing. */
static void test_quota_concurrent(void **state)
{
    (void)state;
    free(s_write_random(s_path("600k"), 600 * S_KIB, 1));
    assert_int_equal(qh_files_set_quota("fc", 1u << 20), QH_OK);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pids[4];
    fflush(NULL);
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            char c;
            /* all start together, when the parent closes the pipe */
            if (read(go[0], &c, 1) != 0)
                _exit(3);
            char name[16];
            snprintf(name, sizeof name, "n%d", i);
            s_slow_rename = 1;
            qh_status st = qh_files_upload(s_path("600k"), "fc", name);
            _exit(st == QH_OK ? 0 : st == QH_ERANGE ? 1 : 2);
        }
    }
    close(go[0]);
    close(go[1]);
    int ok = 0, refused = 0;
    for (int i = 0; i < 4; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 0)
            ok++;
        else if (WEXITSTATUS(status) == 1)
            refused++;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(refused, 3);
    qh_value *l = NULL;
    assert_int_equal(qh_files_list("fc", &l), QH_OK);
    assert_int_equal(qh_value_len(l), 1);
    qh_value_destroy(&l);
    /* no temporary of the refused ones remains */
    char *entries = s_dir_entries("fc");
    assert_null(strstr(entries, ".upload-"));
    free(entries);
}

/* ---- the scope of a run ---------------------------------------------------------------- */

static void test_function_env(void **state)
{
    (void)state;
    s_write(s_path("x.txt"), "in a run\n", 9);
    char *dir = NULL, *fdir = NULL;
    setenv("QH_FUNCTION", "fenv", 1);
    assert_int_equal(qh_files_upload(s_path("x.txt"), NULL, NULL), QH_OK);
    assert_int_equal(qh_files_dir(NULL, &dir), QH_OK);
    assert_int_equal(qh_files_dir("fenv", &fdir), QH_OK);
    assert_string_equal(dir, fdir);
    assert_string_equal(dir, s_path("files/functions/fenv"));
    free(dir);
    free(fdir);
    s_assert_names(NULL, "x.txt");
    s_assert_names("fenv", "x.txt");
    /* an explicit title still reaches another scope */
    s_assert_names("other", "");
    /* the command line follows the variable too */
    char *out = NULL;
    assert_int_equal(s_sh(&out, "%s files list --json", CLI), 0);
    assert_non_null(strstr(out, "x.txt"));
    free(out);
    assert_int_equal(s_sh(&out, "%s files download x.txt --dest %s", CLI, s_path("dl")), 0);
    free(out);
    s_assert_file_is(s_path("dl/x.txt"), "in a run\n", 9);
    unsetenv("QH_FUNCTION");
    s_assert_names(NULL, "");
    assert_int_equal(qh_files_dir(NULL, &dir), QH_OK);
    assert_string_equal(dir, s_path("files/shared"));
    free(dir);
    /* an empty variable is no function; a bad one is refused */
    setenv("QH_FUNCTION", "", 1);
    s_assert_names(NULL, "");
    setenv("QH_FUNCTION", "../x", 1);
    qh_value *l = NULL;
    assert_int_equal(qh_files_list(NULL, &l), QH_EINVAL);
    assert_null(l);
    assert_int_equal(qh_files_upload(s_path("x.txt"), NULL, NULL), QH_EINVAL);
    unsetenv("QH_FUNCTION");
    /* removing a function's files (for the functions code) */
    assert_int_equal(qh_files_remove_function("fenv"), QH_OK);
    assert_false(qh__exists(s_path("files/functions/fenv")));
    assert_int_equal(qh_files_remove_function("fenv"), QH_OK);
    assert_int_equal(qh_files_remove_function("../x"), QH_EINVAL);
}

/* ---- the public archive calls ---------------------------------------------------------- */

static void test_archive_api(void **state)
{
    (void)state;
    assert_int_equal(qh__mkdirs(s_path("src/deep/er"), 0755), QH_OK);
    size_t n = 70000;
    unsigned char *b = s_write_random(s_path("src/deep/er/data.bin"), n, 9);
    s_write(s_path("src/top.txt"), "top\n", 4);
    assert_int_equal(qh_archive_pack(s_path("src"), s_path("pack.tar.gz")), QH_OK);
    qh_value *l = NULL;
    assert_int_equal(qh_archive_list(s_path("pack.tar.gz"), &l), QH_OK);
    assert_int_equal(qh_value_len(l), 4);
    const char *names[] = {"deep/", "deep/er/", "deep/er/data.bin", "top.txt"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(qh_value_str(qh_value_get(qh_value_at(l, i), "name"), NULL), names[i]);
    assert_int_equal(qh_value_int_or(qh_value_get(qh_value_at(l, 2), "size"), -1), (int64_t)n);
    assert_string_equal(qh_value_str(qh_value_get(qh_value_at(l, 2), "type"), NULL), "file");
    assert_string_equal(qh_value_str(qh_value_get(qh_value_at(l, 0), "type"), NULL), "dir");
    qh_value_destroy(&l);

    /* the data round trip of a job: pack, upload, download, extract */
    assert_int_equal(qh_files_upload(s_path("pack.tar.gz"), "fa", "inputs.tar.gz"), QH_OK);
    char *path = NULL;
    assert_int_equal(qh_files_download("inputs.tar.gz", "fa", s_path("dl"), &path), QH_OK);
    assert_int_equal(qh_archive_extract(path, s_path("out")), QH_OK);
    free(path);
    s_assert_file_is(s_path("out/deep/er/data.bin"), b, n);
    s_assert_file_is(s_path("out/top.txt"), "top\n", 4);

    /* failures */
    s_write(s_path("not.tar"), "plain text, long enough to not be mistaken for anything\n", 56);
    assert_int_equal(qh_archive_list(s_path("not.tar"), &l), QH_EPARSE);
    assert_null(l);
    assert_int_equal(qh_archive_extract(s_path("not.tar"), s_path("out2")), QH_EPARSE);
    assert_int_equal(qh_archive_extract(s_path("missing.tar"), s_path("out2")), QH_ENOTFOUND);
    assert_int_equal(qh_archive_list(s_path("missing.tar"), &l), QH_ENOTFOUND);
    assert_int_equal(qh_archive_pack(s_path("top.txt-nope"), s_path("x.tar.gz")), QH_OK);
    s_write(s_path("file"), "f", 1);
    assert_int_equal(qh_archive_pack(s_path("file"), s_path("y.tar.gz")), QH_EINVAL);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_names, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_function_titles, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refused_kinds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_api, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_cli, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_show, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_atomic_replace, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_quota, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_quota_concurrent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_function_env, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_archive_api, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
