/* `qhybrid files`: the data store from the command line (upload, list, download, delete,
 * show), a thin layer over qhybrid/files.h. Results are JSON on stdout (list prints a
 * table unless --json); refusals and failures are a sentence on stderr with exit status 1,
 * usage errors exit 2. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "launcher/cli/commands.h"
#include "launcher/cli/json_out.h"
#include "qhybrid/files.h"
#include "qhybrid/value.h"

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid files upload FILE [--function T] [--name NAME]\n"
          "       qhybrid files list [--function T] [--json]\n"
          "       qhybrid files download NAME [--function T] [--dest DIR]\n"
          "       qhybrid files delete NAME [--function T]\n"
          "       qhybrid files show NAME [--function T]\n"
          "\n"
          "The data store: flat named files, shared by every program, or kept for one\n"
          "function with --function (inside a run of a function, its own files are the\n"
          "default). Any regular file may be stored; a file named .tar, .tar.gz/.tgz or\n"
          ".h5/.hdf5 must really be one. `show` lists a tar's members or an HDF5 file's\n"
          "datasets. Files are kept under $QH_HOME/files; QH_FILES_QUOTA (e.g. 10G) sets the\n"
          "quota of each area that has none of its own.\n",
          f);
}

/* The options every subcommand may get; which are allowed depends on the subcommand. */
typedef struct {
    const char *function; /* --function */
    const char *name;     /* --name */
    const char *dest;     /* --dest */
    bool json;            /* --json */
    const char *operand;  /* FILE or NAME */
} s_args;

enum { S_OPT_FUNCTION = 256, S_OPT_NAME, S_OPT_DEST, S_OPT_JSON };

/* The bit of an S_OPT_* code in s_parse's `allowed`. */
#define S_ALLOW(opt) (1u << ((opt)-S_OPT_FUNCTION))

/* Parses argv (argv[0] is the subcommand) accepting the options whose S_ALLOW bits are in
 * `allowed` and, when operand is set, exactly one operand. Returns 0, -1 after printing
 * help, or 2 on a usage error (after printing why and the usage). */
static int s_parse(int argc, char **argv, unsigned allowed, bool operand, s_args *a)
{
    static const struct option opts[] = {{"function", required_argument, NULL, S_OPT_FUNCTION},
                                         {"name", required_argument, NULL, S_OPT_NAME},
                                         {"dest", required_argument, NULL, S_OPT_DEST},
                                         {"json", no_argument, NULL, S_OPT_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof *a);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            s_usage(stdout);
            return -1;
        }
        if (c == '?')
            goto usage;
        if (c < S_OPT_FUNCTION || !(allowed & S_ALLOW(c))) {
            fprintf(stderr, "qhybrid files %s: option not taken by this command\n\n", argv[0]);
            goto usage;
        }
        switch (c) {
        case S_OPT_FUNCTION:
            a->function = optarg;
            break;
        case S_OPT_NAME:
            a->name = optarg;
            break;
        case S_OPT_DEST:
            a->dest = optarg;
            break;
        case S_OPT_JSON:
            a->json = true;
            break;
        }
    }
    if (argc - optind != (operand ? 1 : 0)) {
        fprintf(stderr, "qhybrid files %s: %s\n\n", argv[0],
                operand ? "give exactly one file" : "takes no operand");
        goto usage;
    }
    if (operand)
        a->operand = argv[optind];
    return 0;
usage:
    s_usage(stderr);
    return 2;
}

static int s_fail(const char *sub)
{
    fprintf(stderr, "qhybrid files %s: %s\n", sub, qh_last_error());
    return 1;
}

/* Prints a value as indented JSON on stdout. */
static int s_print(const char *sub, const qh_value *v)
{
    char *text = NULL;
    if (qh_value_to_json(v, true, &text) != QH_OK)
        return s_fail(sub);
    printf("%s\n", text);
    free(text);
    return 0;
}

/* The function the call is about, for the output: --function, else QH_FUNCTION. */
static const char *s_function(const s_args *a)
{
    if (a->function)
        return a->function;
    const char *env = getenv("QH_FUNCTION");
    return env && *env ? env : NULL;
}

static int s_upload(int argc, char **argv)
{
    s_args a;
    int rc = s_parse(argc, argv, S_ALLOW(S_OPT_FUNCTION) | S_ALLOW(S_OPT_NAME), true, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (qh_files_upload(a.operand, a.function, a.name) != QH_OK)
        return s_fail(argv[0]);
    const char *name = a.name;
    if (!name) {
        const char *slash = strrchr(a.operand, '/');
        name = slash ? slash + 1 : a.operand;
    }
    char *dir = NULL, *path = NULL;
    struct stat sb;
    if (qh_files_dir(a.function, &dir) != QH_OK || asprintf(&path, "%s/%s", dir, name) < 0 ||
        stat(path, &sb) != 0)
        sb.st_size = -1;
    free(dir);
    free(path);
    qh__json j;
    qh__json_init(&j, stdout);
    qh__json_object_begin(&j);
    qh__json_key(&j, "name");
    qh__json_string(&j, name);
    qh__json_key(&j, "size");
    qh__json_int(&j, (int64_t)sb.st_size);
    qh__json_key(&j, "function");
    if (s_function(&a))
        qh__json_string(&j, s_function(&a));
    else
        qh__json_raw(&j, "null");
    qh__json_object_end(&j);
    fputc('\n', stdout);
    return 0;
}

static int s_list(int argc, char **argv)
{
    s_args a;
    int rc = s_parse(argc, argv, S_ALLOW(S_OPT_FUNCTION) | S_ALLOW(S_OPT_JSON), false, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    qh_value *list = NULL;
    if (qh_files_list(a.function, &list) != QH_OK)
        return s_fail(argv[0]);
    if (a.json) {
        rc = s_print(argv[0], list);
        qh_value_destroy(&list);
        return rc;
    }
    printf("%-40s %14s  %s\n", "NAME", "SIZE", "MODIFIED");
    for (size_t i = 0; i < qh_value_len(list); i++) {
        const qh_value *e = qh_value_at(list, i);
        time_t t = (time_t)qh_value_int_or(qh_value_get(e, "modified"), 0);
        struct tm tm;
        char when[32];
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("%-40s %14" PRId64 "  %s\n", qh_value_str(qh_value_get(e, "name"), NULL),
               qh_value_int_or(qh_value_get(e, "size"), 0), when);
    }
    qh_value_destroy(&list);
    return 0;
}

static int s_download(int argc, char **argv)
{
    s_args a;
    int rc = s_parse(argc, argv, S_ALLOW(S_OPT_FUNCTION) | S_ALLOW(S_OPT_DEST), true, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    char *path = NULL;
    if (qh_files_download(a.operand, a.function, a.dest, &path) != QH_OK)
        return s_fail(argv[0]);
    qh__json j;
    qh__json_init(&j, stdout);
    qh__json_object_begin(&j);
    qh__json_key(&j, "path");
    qh__json_string(&j, path);
    qh__json_object_end(&j);
    fputc('\n', stdout);
    free(path);
    return 0;
}

static int s_delete(int argc, char **argv)
{
    s_args a;
    int rc = s_parse(argc, argv, S_ALLOW(S_OPT_FUNCTION), true, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (qh_files_delete(a.operand, a.function) != QH_OK)
        return s_fail(argv[0]);
    return 0;
}

static int s_show(int argc, char **argv)
{
    s_args a;
    int rc = s_parse(argc, argv, S_ALLOW(S_OPT_FUNCTION), true, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    qh_value *v = NULL;
    if (qh_files_show(a.operand, a.function, &v) != QH_OK)
        return s_fail(argv[0]);
    rc = s_print(argv[0], v);
    qh_value_destroy(&v);
    return rc;
}

int qh__cmd_files(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } subs[] = {{"upload", s_upload},
                {"list", s_list},
                {"download", s_download},
                {"delete", s_delete},
                {"show", s_show}};
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "qhybrid files: unknown command '%s'\n\n", argv[1]);
    s_usage(stderr);
    return 2;
}
