/* `qhybrid function upload|list|show|delete` (programs stored under a title, in versions)
 * and `qhybrid run` (a run of one: a job with arguments). JSON on stdout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/sysinfo.h"
#include "launcher/cli/commands.h"
#include "launcher/cli/slurm_opts.h"
#include "qhybrid/files.h"
#include "qhybrid/function.h"

#define S_MAX_LIST 256 /* --dependency / --env / --arg entries */

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid function upload --title T --entrypoint PROGRAM --working-dir DIR\n"
          "                               [--dependency LIB.so ...] [--env KEY=VALUE ...]\n"
          "                               [--cpus N] [--mem BYTES]\n"
          "       qhybrid function list [--json]\n"
          "       qhybrid function show T\n"
          "       qhybrid function delete T [--with-files]\n"
          "\n"
          "upload packs DIR into the store ($QH_HOME) as a new version of T (runs keep the\n"
          "version they started with); PROGRAM is its executable, relative to DIR. --cpus\n"
          "and --mem set the default budget of a run (default: the machine's). delete\n"
          "forgets every version (started runs keep theirs); --with-files also removes\n"
          "the files stored for the function in the data store.\n",
          f);
}

static int s_print_value(const qh_value *v)
{
    char *text = NULL;
    if (qh_value_to_json(v, false, &text) != QH_OK)
        return 1;
    printf("%s\n", text);
    free(text);
    return 0;
}

static int s_upload(int argc, char **argv)
{
    static const struct option opts[] = {{"title", required_argument, NULL, 't'},
                                         {"entrypoint", required_argument, NULL, 'e'},
                                         {"working-dir", required_argument, NULL, 'w'},
                                         {"dependency", required_argument, NULL, 'D'},
                                         {"env", required_argument, NULL, 'E'},
                                         {"cpus", required_argument, NULL, 'c'},
                                         {"mem", required_argument, NULL, 'm'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    qh_function_opts o = {0};
    const char *deps[S_MAX_LIST + 1], *env[S_MAX_LIST + 1];
    size_t nd = 0, ne = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            o.title = optarg;
            break;
        case 'e':
            o.entrypoint = optarg;
            break;
        case 'w':
            o.working_dir = optarg;
            break;
        case 'D':
            if (nd < S_MAX_LIST)
                deps[nd++] = optarg;
            break;
        case 'E':
            if (ne < S_MAX_LIST)
                env[ne++] = optarg;
            break;
        case 'c':
            o.cpus = atof(optarg);
            if (o.cpus <= 0) {
                fprintf(stderr, "qhybrid function upload: --cpus wants a positive number\n");
                return 2;
            }
            break;
        case 'm':
            if (qh__parse_bytes(optarg, &o.mem) != 0) {
                fprintf(stderr, "qhybrid function upload: --mem wants a size like 8G, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (!o.title || !o.entrypoint || !o.working_dir || optind != argc) {
        fprintf(stderr, "qhybrid function upload: --title, --entrypoint and --working-dir are "
                        "needed\n\n");
        s_usage(stderr);
        return 2;
    }
    deps[nd] = NULL;
    env[ne] = NULL;
    o.dependencies = deps;
    o.env = env;
    int version = 0;
    if (qh_function_upload(&o, &version) != QH_OK) {
        fprintf(stderr, "qhybrid function upload: %s\n", qh_last_error());
        return 1;
    }
    printf("{\"title\": \"%s\", \"version\": %d}\n", o.title, version);
    return 0;
}

int qh__cmd_function(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "upload") == 0)
        return s_upload(argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    qh_value *v = NULL;
    int rc = 1;
    if (strcmp(sub, "list") == 0 && (argc == 2 || (argc == 3 && !strcmp(argv[2], "--json")))) {
        if (qh_function_list(NULL, &v) != QH_OK)
            goto fail;
        if (argc == 3) {
            rc = s_print_value(v);
        } else {
            printf("%-40s %-8s %s\n", "TITLE", "VERSION", "ENTRYPOINT");
            for (size_t i = 0; i < qh_value_len(v); i++) {
                const qh_value *e = qh_value_at(v, i);
                printf("%-40s %-8lld %s\n", qh_value_str(qh_value_get(e, "title"), NULL),
                       (long long)qh_value_int_or(qh_value_get(e, "version"), 0),
                       qh_value_str(qh_value_get(e, "entrypoint"), NULL));
            }
            rc = 0;
        }
    } else if (strcmp(sub, "show") == 0 && argc == 3) {
        if (qh_function_list(argv[2], &v) != QH_OK)
            goto fail;
        rc = s_print_value(v);
    } else if (strcmp(sub, "delete") == 0 &&
               (argc == 3 || (argc == 4 && strcmp(argv[3], "--with-files") == 0))) {
        if (qh_function_delete(argv[2]) != QH_OK)
            goto fail;
        if (argc == 4 && qh_files_remove_function(argv[2]) != QH_OK)
            goto fail;
        printf("{\"deleted\": \"%s\"}\n", argv[2]);
        rc = 0;
    } else {
        s_usage(stderr);
        return 2;
    }
    qh_value_destroy(&v);
    return rc;
fail:
    fprintf(stderr, "qhybrid function %s: %s\n", sub, qh_last_error());
    qh_value_destroy(&v);
    return 1;
}

/* ---- run ------------------------------------------------------------------------------ */

static void s_usage_run(FILE *f)
{
    fputs("usage: qhybrid run TITLE [--arg KEY=VALUE ...] [--arg-file ARGS.json]\n"
          "                   [--version N] [--name JOB] [--device DEV] [--cpus N]\n"
          "                   [--mem BYTES] [--log-limit SIZE] [--wait]\n"
          "\n"
          "Starts a run of the function TITLE (its latest version unless --version): a job\n"
          "whose program gets the arguments from qh_job_arguments(). A VALUE is read as\n"
          "JSON when it is JSON (numbers, lists, maps, \"strings\"), else as text;\n"
          "VALUE @FILE is the content of FILE (e.g. an OpenQASM circuit). --arg-file gives\n"
          "a JSON map of arguments (--arg entries override it). --cpus / --mem set the\n"
          "run's budget (what it asks Slurm for, when Slurm runs it); --log-limit the\n"
          "bytes of output its log keeps (default 64M or log_limit in $QH_HOME/config).\n"
          "Prints {\"id\", \"name\", \"status\"}; with --wait, returns when the run has\n"
          "ended (exit 0 only if DONE).\n"
          "\n" QH__CLI_SLURM_USAGE,
          f);
}

/* KEY=VALUE into the map, VALUE as JSON when it parses, @FILE as the file's text. */
static int s_add_arg(qh_value *args, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        fprintf(stderr, "qhybrid run: --arg wants KEY=VALUE, got '%s'\n", kv);
        return 2;
    }
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    const char *val = eq + 1;
    qh_value *v = NULL;
    if (val[0] == '@') {
        char *text = NULL;
        if (qh__read_file(val + 1, &text, NULL) != QH_OK) {
            fprintf(stderr, "qhybrid run: --arg %s: %s\n", key, qh_last_error());
            return 1;
        }
        v = qh_value_string(text);
        free(text);
    } else if (qh_value_from_json(val, &v) != QH_OK) {
        qh_clear_error();
        v = qh_value_string(val);
    }
    if (!v || qh_value_set(args, key, &v) != QH_OK) {
        qh_value_destroy(&v);
        return 1;
    }
    return 0;
}

int qh__cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"arg", required_argument, NULL, 'a'},
                                         {"arg-file", required_argument, NULL, 'f'},
                                         {"version", required_argument, NULL, 'v'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"device", required_argument, NULL, 'd'},
                                         {"cpus", required_argument, NULL, 'c'},
                                         {"mem", required_argument, NULL, 'm'},
                                         {"log-limit", required_argument, NULL, 'L'},
                                         {"wait", no_argument, NULL, 'w'},
                                         {"help", no_argument, NULL, 'h'},
                                         QH__CLI_SLURM_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    const char *arg_list[S_MAX_LIST], *arg_file = NULL;
    qh_job_slurm slurm = {0};
    size_t na = 0;
    int version = 0, c, rc = 1;
    qh_run_opts ro = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (na < S_MAX_LIST)
                arg_list[na++] = optarg;
            break;
        case 'f':
            arg_file = optarg;
            break;
        case 'v':
            version = atoi(optarg);
            break;
        case 'n':
            ro.job_name = optarg;
            break;
        case 'd':
            ro.device = optarg;
            break;
        case 'c':
            ro.cpus = atof(optarg);
            if (ro.cpus <= 0) {
                fprintf(stderr, "qhybrid run: --cpus wants a positive number\n");
                return 2;
            }
            break;
        case 'm':
            if (qh__parse_bytes(optarg, &ro.mem) != 0) {
                fprintf(stderr, "qhybrid run: --mem wants a size like 8G, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'L':
            if (qh__parse_bytes(optarg, &ro.log_limit) != 0 || ro.log_limit == 0) {
                fprintf(stderr, "qhybrid run: --log-limit wants a size like 64M, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'w':
            ro.wait_until_complete = true;
            break;
        case 'h':
            s_usage_run(stdout);
            return 0;
        default: {
            int r = qh__cli_slurm_opt("run", c, optarg, &ro.scheduler, &slurm);
            if (r == 1)
                break;
            if (r == 0)
                s_usage_run(stderr);
            return 2;
        }
        }
    }
    if (optind + 1 != argc) {
        s_usage_run(stderr);
        return 2;
    }
    ro.slurm = &slurm;
    qh_value *args = NULL;
    qh_function *fn = NULL;
    qh_job *job = NULL;
    if (arg_file) {
        char *text = NULL;
        qh_status st = qh__read_file(arg_file, &text, NULL);
        if (st == QH_OK)
            st = qh_value_from_json(text, &args);
        free(text);
        if (st != QH_OK) {
            fprintf(stderr, "qhybrid run: --arg-file %s: %s\n", arg_file, qh_last_error());
            goto done;
        }
        if (qh_value_type_of(args) != QH_VALUE_MAP) {
            fprintf(stderr, "qhybrid run: --arg-file %s must hold a JSON object\n", arg_file);
            goto done;
        }
    } else {
        args = qh_value_map();
    }
    for (size_t i = 0; i < na; i++)
        if ((rc = s_add_arg(args, arg_list[i])) != 0)
            goto done;
    rc = 1;
    if (qh_function_get(argv[optind], version, &fn) != QH_OK ||
        qh_function_run(fn, &args, &ro, &job) != QH_OK) {
        fprintf(stderr, "qhybrid run: %s\n", qh_last_error());
        goto done;
    }
    char *status = qh_job_status(job);
    printf("{\"id\": %lld, \"name\": \"%s\", \"status\": \"%s\"}\n", (long long)qh_job_get_id(job),
           qh_job_get_name(job), status ? status : "?");
    rc = ro.wait_until_complete && (!status || strcmp(status, "DONE") != 0) ? 1 : 0;
    free(status);
done:
    qh_value_destroy(&args);
    qh_function_destroy(&fn);
    qh_job_destroy(&job);
    return rc;
}
