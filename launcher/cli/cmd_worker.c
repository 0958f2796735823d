/* `qhybrid worker`: joins a standing pool — loads the task libraries given with --load
 * (shared objects whose QH_TASK declarations register their tasks), connects to the
 * broker and runs the tasks it sends within the cores, GPUs and memory offered, until
 * the broker tells it to stop or it gets SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sysinfo.h"
#include "launcher/cli/commands.h"
#include "qhybrid/pool.h"

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid worker [--connect ENDPOINT] [--cpus N] [--gpus N] [--mem SIZE]\n"
          "                      [--peer ENDPOINT] [--keys DIR] [--key FILE]\n"
          "                      [--broker-key KEY] [--insecure] [--load LIB.so]...\n"
          "\n"
          "Runs tasks for a broker until it says stop or SIGINT/SIGTERM arrives.\n"
          "\n"
          "  --connect ENDPOINT  the broker (default $QH_BROKER)\n"
          "  --cpus N            cores offered, may be fractional (default: this process's)\n"
          "  --gpus N            GPUs offered (default 0)\n"
          "  --mem SIZE          memory offered, e.g. 8G (default: available memory)\n"
          "  --peer ENDPOINT     where other workers fetch the large values this one keeps\n"
          "                      (default: this host's address towards the broker, any port)\n"
          "  --keys DIR          key directory with worker.key and broker.pub (default\n"
          "                      $QH_KEYS, else $QH_HOME/keys, else ~/.qhybrid/keys)\n"
          "  --key FILE          this worker's secret key (default $QH_KEY, DIR/worker.key)\n"
          "  --broker-key KEY    the broker's public key, Z85 or a file (default\n"
          "                      $QH_BROKER_KEY, DIR/broker.pub)\n"
          "  --insecure          connect over tcp without keys when none are found\n"
          "  --load LIB.so       load a task library (repeatable)\n"
          "  --help\n",
          f);
}

int qh__cmd_worker(int argc, char **argv)
{
    qh_worker_opts o = {.broker = getenv("QH_BROKER"), .stop = &s_stop};
    static const struct option opts[] = {{"connect", required_argument, NULL, 'c'},
                                         {"cpus", required_argument, NULL, 'n'},
                                         {"gpus", required_argument, NULL, 'g'},
                                         {"mem", required_argument, NULL, 'm'},
                                         {"load", required_argument, NULL, 'l'},
                                         {"peer", required_argument, NULL, 'p'},
                                         {"keys", required_argument, NULL, 'K'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"broker-key", required_argument, NULL, 'B'},
                                         {"insecure", no_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'c':
            o.broker = optarg;
            break;
        case 'n':
            o.cpus = strtod(optarg, &end);
            if (!(o.cpus > 0) || *end) {
                fprintf(stderr, "qhybrid worker: --cpus wants a positive number\n");
                return 2;
            }
            break;
        case 'g':
            o.gpus = (unsigned)strtoul(optarg, &end, 10);
            if (*end) {
                fprintf(stderr, "qhybrid worker: --gpus wants a count\n");
                return 2;
            }
            break;
        case 'm':
            if (qh__parse_bytes(optarg, &o.mem) != 0 || o.mem == 0) {
                fprintf(stderr, "qhybrid worker: --mem wants a size such as 8G\n");
                return 2;
            }
            break;
        case 'p':
            o.peer = optarg;
            break;
        case 'K':
            o.keys = optarg;
            break;
        case 'k':
            o.key = optarg;
            break;
        case 'B':
            o.broker_key = optarg;
            break;
        case 'i':
            o.insecure = true;
            break;
        case 'l':
            if (qh_task_load(optarg) != QH_OK) {
                fprintf(stderr, "qhybrid worker: %s\n", qh_last_error());
                return 1;
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
    if (optind != argc || !o.broker || !o.broker[0]) {
        if (optind == argc)
            fprintf(stderr, "qhybrid worker: no broker (--connect or QH_BROKER)\n");
        s_usage(stderr);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (qh_worker_run(&o) != QH_OK) {
        fprintf(stderr, "qhybrid worker: %s\n", qh_last_error());
        return 1;
    }
    return 0;
}
