/* Tar archives: a packed tree lists and extracts back byte for byte (files, nested and
 * empty directories, an empty file, a symbolic link), packing twice gives the same bytes,
 * extraction refuses crafted archives (.., absolute paths, escaping links, devices, fifos,
 * writing through a link) and writes nothing outside the destination, and the check tells
 * tar archives from other files by their content. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "launcher/archive.h"
#include "mpi_sim/h5/h5tree.h"
#include "tests/launcher/launcher_test.h"

#define s_root     qh_test_home
#define s_setup    qh_test_home_setup
#define s_path     qh_test_path
#define s_teardown qh_test_home_teardown

static void s_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Reads a whole file; *n gets its size. */
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
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static void s_assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *da = s_read_file(a, &na), *db = s_read_file(b, &nb);
    assert_non_null(da);
    assert_non_null(db);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, na);
    free(da);
    free(db);
}

/* Number of entries in a directory (not counting . and ..), -1 if it does not exist. */
static int s_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

/* ---- members seen by qh__archive_list ---- */

typedef struct {
    char names[32][160];
    char types[32];
    uint64_t sizes[32];
    int n;
    int stop_after; /* return QH_ECANCELED after this many (0: never) */
} s_listing;

static qh_status s_collect(const qh__archive_member *m, void *ud)
{
    s_listing *l = ud;
    assert_true(l->n < 32);
    snprintf(l->names[l->n], sizeof l->names[0], "%s", m->name);
    l->types[l->n] = m->type;
    l->sizes[l->n] = m->size;
    l->n++;
    if (l->stop_after && l->n == l->stop_after)
        return QH_ECANCELED;
    return QH_OK;
}

/* Makes the tree the round-trip tests pack. */
static void s_make_tree(const char *src, unsigned char *big, size_t nbig)
{
    char p[512];
    assert_int_equal(mkdir(src, 0755), 0);
    snprintf(p, sizeof p, "%s/a.txt", src);
    s_write_file(p, "hello, archive\n", 15);
    snprintf(p, sizeof p, "%s/empty", src);
    s_write_file(p, "", 0);
    snprintf(p, sizeof p, "%s/dir", src);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/dir/sub", src);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/dir/sub/deep.bin", src);
    s_write_file(p, big, nbig);
    snprintf(p, sizeof p, "%s/dir/x", src);
    s_write_file(p, "x", 1);
    snprintf(p, sizeof p, "%s/emptydir", src);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/link", src);
    assert_int_equal(symlink("dir/x", p), 0);
    /* a name past ustar's 100 characters, which needs a pax header */
    snprintf(p, sizeof p, "%s/dir/%0120d", src, 7);
    s_write_file(p, "long", 4);
}

static void test_round_trip(void **state)
{
    (void)state;
    enum { NBIG = 300000 };
    unsigned char *big = malloc(NBIG);
    uint64_t r = 12345;
    for (size_t i = 0; i < NBIG; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        big[i] = (unsigned char)(r >> 56);
    }
    const char *src = s_path("src");
    s_make_tree(src, big, NBIG);
    char out[512], out2[512];
    snprintf(out, sizeof out, "%s", s_path("tree.tar.gz"));
    snprintf(out2, sizeof out2, "%s", s_path("tree2.tar.gz"));
    assert_int_equal(qh__archive_pack_dir(src, out), QH_OK);
    assert_int_equal(qh__archive_check(out, true), QH_OK);
    assert_int_equal(qh__archive_check(out, false), QH_EPARSE);
    assert_non_null(strstr(qh_last_error(), "gzip"));

    s_listing l = {0};
    assert_int_equal(qh__archive_list(out, s_collect, &l), QH_OK);
    char longname[160];
    snprintf(longname, sizeof longname, "dir/%0120d", 7);
    const char *names[] = {"a.txt",
                           "dir/",
                           "dir/" /* long name */,
                           "dir/sub/",
                           "dir/sub/deep.bin",
                           "dir/x",
                           "empty",
                           "emptydir/",
                           "link"};
    const char types[] = {'f', 'd', 'f', 'd', 'f', 'f', 'f', 'd', 'l'};
    const uint64_t sizes[] = {15, 0, 4, 0, NBIG, 1, 0, 0, 0};
    assert_int_equal(l.n, 9);
    for (int i = 0; i < 9; i++) {
        assert_string_equal(l.names[i], i == 2 ? longname : names[i]);
        assert_int_equal(l.types[i], types[i]);
        assert_int_equal(l.sizes[i], sizes[i]);
    }

    /* the same tree gives the same bytes, whenever it is packed: no time in the gzip
     * header */
    assert_int_equal(qh__archive_pack_dir(src, out2), QH_OK);
    s_assert_same_file(out, out2);
    size_t nz;
    unsigned char *z = (unsigned char *)s_read_file(out, &nz);
    assert_memory_equal(z, "\x1f\x8b\x08", 3);
    assert_memory_equal(z + 4, "\0\0\0\0", 4);
    free(z);

    const char *dest = s_path("out/nested/dest");
    assert_int_equal(qh__archive_extract(out, dest), QH_OK);
    const char *files[] = {"a.txt", "empty", "dir/sub/deep.bin", "dir/x", longname};
    for (int i = 0; i < 5; i++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/%s", src, files[i]);
        snprintf(b, sizeof b, "%s/%s", dest, files[i]);
        s_assert_same_file(a, b);
    }
    char p[512], target[64] = {0};
    snprintf(p, sizeof p, "%s/link", dest);
    assert_int_equal(readlink(p, target, sizeof target - 1), 5);
    assert_string_equal(target, "dir/x");
    struct stat sb;
    snprintf(p, sizeof p, "%s/emptydir", dest);
    assert_int_equal(lstat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(s_count_entries(p), 0);
    snprintf(p, sizeof p, "%s/dir/sub", dest);
    assert_int_equal(lstat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);

    /* extracting again over the first extraction replaces the files */
    assert_int_equal(qh__archive_extract(out, dest), QH_OK);
    snprintf(p, sizeof p, "%s/dir/x", dest);
    s_assert_same_file(p, s_path("src/dir/x"));

    /* the callback stops the listing */
    s_listing l2 = {.stop_after = 2};
    assert_int_equal(qh__archive_list(out, s_collect, &l2), QH_ECANCELED);
    assert_int_equal(l2.n, 2);
    free(big);
}

static void test_empty_and_missing(void **state)
{
    (void)state;
    const char *empty = s_path("emptysrc"), *out = s_path("empty.tar.gz");
    assert_int_equal(mkdir(empty, 0755), 0);
    assert_int_equal(qh__archive_pack_dir(empty, out), QH_OK);
    assert_int_equal(qh__archive_check(out, true), QH_OK);
    s_listing l = {0};
    assert_int_equal(qh__archive_list(out, s_collect, &l), QH_OK);
    assert_int_equal(l.n, 0);

    const char *missing = s_path("no/such/dir"), *out2 = s_path("missing.tar.gz");
    assert_int_equal(qh__archive_pack_dir(missing, out2), QH_OK);
    assert_int_equal(qh__archive_check(out2, true), QH_OK);
    s_assert_same_file(out, out2);
    const char *dest = s_path("emptydest");
    assert_int_equal(qh__archive_extract(out2, dest), QH_OK);
    assert_int_equal(s_count_entries(dest), 0);

    /* not a directory */
    assert_int_equal(qh__archive_pack_dir(out, s_path("x.tar.gz")), QH_EINVAL);
    assert_int_equal(access(s_path("x.tar.gz"), F_OK), -1);

    /* an archive written into the tree it packs leaves itself out */
    char self[512];
    snprintf(self, sizeof self, "%s/self.tar.gz", empty);
    s_write_file(s_path("emptysrc/f"), "f", 1);
    assert_int_equal(qh__archive_pack_dir(empty, self), QH_OK);
    assert_int_equal(qh__archive_pack_dir(empty, self), QH_OK);
    s_listing l2 = {0};
    assert_int_equal(qh__archive_list(self, s_collect, &l2), QH_OK);
    assert_int_equal(l2.n, 1);
    assert_string_equal(l2.names[0], "f");
    assert_int_equal(s_count_entries(empty), 2); /* f and self.tar.gz, no temporary */

    /* an output in a directory that does not exist: refused, nothing left */
    assert_int_equal(qh__archive_pack_dir(empty, s_path("nodir/x.tar.gz")), QH_EIO);
}

/* ---- crafted archives ---- */

typedef struct {
    const char *name;
    unsigned type;    /* AE_IF... */
    const char *link; /* symlink target, or hard link target when hard */
    int hard;         /* a hard link */
    const char *data; /* file content */
} s_member;

/* Writes a plain tar of the members at path with libarchive's writer. */
static void s_craft(const char *path, const s_member *m, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    for (size_t i = 0; i < n; i++) {
        archive_entry_clear(e);
        archive_entry_copy_pathname(e, m[i].name);
        archive_entry_set_filetype(e, m[i].type);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, 1700000000, 0);
        size_t len = m[i].data ? strlen(m[i].data) : 0;
        archive_entry_set_size(e, (la_int64_t)len);
        if (m[i].hard)
            archive_entry_copy_hardlink(e, m[i].link);
        else if (m[i].type == AE_IFLNK)
            archive_entry_copy_symlink(e, m[i].link);
        if (m[i].type == AE_IFCHR)
            archive_entry_set_rdev(e, 0x0101);
        assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
        if (len)
            assert_int_equal(archive_write_data(a, m[i].data, len), (la_ssize_t)len);
    }
    archive_entry_free(e);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

/* Crafts the archive, extracts it into a fresh box/dest and checks it is refused with a
 * message naming bad_member; returns the number of entries left in dest (-1: none made).
 * The box holds only dest afterwards: nothing was written beside it. */
static int s_refused(const char *label, const s_member *m, size_t n, const char *bad_member)
{
    char box[512], dest[640], tar[512];
    snprintf(box, sizeof box, "%s/box_%s", s_root, label);
    snprintf(dest, sizeof dest, "%s/inner/dest", box);
    snprintf(tar, sizeof tar, "%s/%s.tar", s_root, label);
    assert_int_equal(mkdir(box, 0755), 0);
    s_craft(tar, m, n);
    qh_clear_error();
    qh_status st = qh__archive_extract(tar, dest);
    assert_int_equal(st, QH_EPARSE);
    char quoted[256];
    snprintf(quoted, sizeof quoted, "'%s'", bad_member);
    if (!strstr(qh_last_error(), quoted))
        fail_msg("%s: message does not name %s: %s", label, quoted, qh_last_error());
    /* nothing beside dest: box holds only inner, and inner only dest, if they were made */
    char inner[640];
    snprintf(inner, sizeof inner, "%s/inner", box);
    if (s_count_entries(dest) < 0) {
        assert_int_equal(s_count_entries(box), 0);
    } else {
        assert_int_equal(s_count_entries(box), 1);
        assert_int_equal(s_count_entries(inner), 1);
    }
    return s_count_entries(dest);
}

static void test_refuses(void **state)
{
    (void)state;
    char abs_name[512];
    snprintf(abs_name, sizeof abs_name, "%s/abs_evil", s_root);

    const s_member dotdot[] = {{"ok", AE_IFREG, NULL, 0, "ok"},
                               {"../evil", AE_IFREG, NULL, 0, "evil"}};
    assert_int_equal(s_refused("dotdot", dotdot, 2, "../evil"), -1);
    const s_member dotdot2[] = {{"a/b/../../../evil", AE_IFREG, NULL, 0, "evil"}};
    assert_int_equal(s_refused("dotdot2", dotdot2, 1, "a/b/../../../evil"), -1);
    const s_member absolute[] = {{abs_name, AE_IFREG, NULL, 0, "evil"}};
    assert_int_equal(s_refused("absolute", absolute, 1, abs_name), -1);
    assert_int_equal(access(abs_name, F_OK), -1);

    const s_member link_up[] = {{"l", AE_IFLNK, "../outside", 0, NULL},
                                {"l/evil", AE_IFREG, NULL, 0, "evil"}};
    assert_int_equal(s_refused("link_up", link_up, 2, "l"), -1);
    const s_member link_abs[] = {{"l", AE_IFLNK, "/etc", 0, NULL}};
    assert_int_equal(s_refused("link_abs", link_abs, 1, "l"), -1);
    const s_member link_deep[] = {{"d/l", AE_IFLNK, "../..", 0, NULL}};
    assert_int_equal(s_refused("link_deep", link_deep, 1, "d/l"), -1);
    /* ".." after a name: x may itself be a link to ".", and x/.. then leaves dest */
    const s_member link_mid[] = {{"x", AE_IFLNK, ".", 0, NULL}, {"y", AE_IFLNK, "x/..", 0, NULL}};
    assert_int_equal(s_refused("link_mid", link_mid, 2, "y"), -1);

    const s_member fifo[] = {{"p", AE_IFIFO, NULL, 0, NULL}};
    assert_int_equal(s_refused("fifo", fifo, 1, "p"), -1);
    const s_member dev[] = {{"dev", AE_IFCHR, NULL, 0, NULL}};
    assert_int_equal(s_refused("dev", dev, 1, "dev"), -1);
    const s_member hard_up[] = {{"h", AE_IFREG, "../x", 1, NULL}};
    assert_int_equal(s_refused("hard_up", hard_up, 1, "h"), -1);

    /* checked at extraction time: a file through a link that stays inside (refused, the
     * link itself was written), and a hard link to a link */
    const s_member through[] = {{"sub/", AE_IFDIR, NULL, 0, NULL},
                                {"s", AE_IFLNK, "sub", 0, NULL},
                                {"s/f", AE_IFREG, NULL, 0, "f"}};
    assert_int_equal(s_refused("through", through, 3, "s/f"), 2);
    char p[512];
    snprintf(p, sizeof p, "%s/box_through/inner/dest/sub", s_root);
    assert_int_equal(s_count_entries(p), 0);
    const s_member hard_link[] = {{"d/l", AE_IFLNK, "../x", 0, NULL},
                                  {"h", AE_IFREG, "d/l", 1, NULL}};
    assert_int_equal(s_refused("hard_link", hard_link, 2, "h"), 1);

    /* what is accepted: a link one level up from a subdirectory, a hard link to a file,
     * "./" prefixes */
    const s_member fine[] = {{"./", AE_IFDIR, NULL, 0, NULL},
                             {"./a", AE_IFREG, NULL, 0, "aaa"},
                             {"d/l", AE_IFLNK, "../a", 0, NULL},
                             {"d/h", AE_IFREG, "a", 1, NULL}};
    const char *tar = s_path("fine.tar"), *dest = s_path("fine");
    s_craft(tar, fine, 4);
    assert_int_equal(qh__archive_extract(tar, dest), QH_OK);
    size_t n;
    char *d = s_read_file(s_path("fine/d/l"), &n);
    assert_non_null(d);
    assert_int_equal(n, 3);
    free(d);
    struct stat a, h;
    assert_int_equal(stat(s_path("fine/a"), &a), 0);
    assert_int_equal(stat(s_path("fine/d/h"), &h), 0);
    assert_int_equal(a.st_ino, h.st_ino);

    /* an existing link in dest at a member's name is replaced, not followed */
    s_write_file(s_path("canary"), "canary", 6);
    assert_int_equal(unlink(s_path("fine/a")), 0);
    assert_int_equal(symlink(s_path("canary"), s_path("fine/a")), 0);
    assert_int_equal(qh__archive_extract(tar, dest), QH_OK);
    d = s_read_file(s_path("canary"), &n);
    assert_int_equal(n, 6);
    assert_memory_equal(d, "canary", 6);
    free(d);
    struct stat sb;
    assert_int_equal(lstat(s_path("fine/a"), &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
}

static void test_check(void **state)
{
    (void)state;
    const char *text = s_path("text.tar");
    char line[4096];
    memset(line, 'x', sizeof line);
    s_write_file(text, line, sizeof line);
    assert_int_equal(qh__archive_check(text, false), QH_EPARSE);
    char want[600];
    snprintf(want, sizeof want, "'%s' is not a tar archive", text);
    assert_string_equal(qh_last_error(), want);
    assert_int_equal(qh__archive_check(text, true), QH_EPARSE);
    s_listing l = {0};
    assert_int_equal(qh__archive_list(text, s_collect, &l), QH_EPARSE);
    assert_int_equal(qh__archive_extract(text, s_path("text_dest")), QH_EPARSE);
    assert_int_equal(access(s_path("text_dest"), F_OK), -1);

    /* gzip of data that is not a tar */
    const char *gz = s_path("data.tar.gz");
    struct archive *a = archive_write_new();
    archive_write_set_format_raw(a);
    archive_write_add_filter_gzip(a);
    assert_int_equal(archive_write_open_filename(a, gz), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_copy_pathname(e, "data");
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, line, sizeof line), (la_ssize_t)sizeof line);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    assert_int_equal(qh__archive_check(gz, true), QH_EPARSE);
    snprintf(want, sizeof want, "'%s' is not a gzip-compressed tar archive", gz);
    assert_string_equal(qh_last_error(), want);
    assert_int_equal(qh__archive_check(gz, false), QH_EPARSE);

    /* an HDF5 file */
    const char *h5 = s_path("file.tar");
    qh__h5w *w = NULL;
    assert_int_equal(qh__h5w_open(h5, &w), QH_OK);
    double v[4] = {1, 2, 3, 4};
    assert_int_equal(qh__h5w_doubles(w, "/v", v, 4), QH_OK);
    assert_int_equal(qh__h5w_commit(&w), QH_OK);
    assert_int_equal(qh__archive_check(h5, false), QH_EPARSE);
    assert_int_equal(qh__archive_check(h5, true), QH_EPARSE);

    /* a plain tar is a tar, not a tar.gz */
    const s_member one[] = {{"a", AE_IFREG, NULL, 0, "a"}};
    const char *plain = s_path("plain.tar");
    s_craft(plain, one, 1);
    assert_int_equal(qh__archive_check(plain, false), QH_OK);
    assert_int_equal(qh__archive_check(plain, true), QH_EPARSE);
    assert_non_null(strstr(qh_last_error(), "uncompressed"));

    /* empty, missing, truncated */
    const char *empty = s_path("empty.tar");
    s_write_file(empty, "", 0);
    assert_int_equal(qh__archive_check(empty, false), QH_EPARSE);
    assert_int_equal(qh__archive_check(s_path("nothing.tar"), false), QH_ENOTFOUND);
    assert_int_equal(qh__archive_list(s_path("nothing.tar"), s_collect, &l), QH_ENOTFOUND);

    const char *src = s_path("trunc_src"), *full = s_path("full.tar.gz");
    assert_int_equal(mkdir(src, 0755), 0);
    for (int i = 0; i < 20; i++) {
        char p[512], data[2000];
        snprintf(p, sizeof p, "%s/f%02d", src, i);
        for (size_t k = 0; k < sizeof data; k++)
            data[k] = (char)(k * 7 + (size_t)i * 13 + k / 100);
        s_write_file(p, data, sizeof data);
    }
    assert_int_equal(qh__archive_pack_dir(src, full), QH_OK);
    size_t n;
    char *bytes = s_read_file(full, &n);
    const char *cut = s_path("cut.tar.gz");
    s_write_file(cut, bytes, n / 2);
    free(bytes);
    assert_int_equal(qh__archive_check(full, true), QH_OK);
    assert_int_equal(qh__archive_check(cut, true), QH_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_and_missing),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
