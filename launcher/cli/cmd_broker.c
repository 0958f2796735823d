/* `qhybrid broker`: runs a standing broker that clients (QH_BROKER=...) and workers
 * (`qhybrid worker --connect ...`) connect to, until SIGINT or SIGTERM. Prints the address
 * to connect to as one JSON object on stdout once it is listening. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cli/commands.h"
#include "qhybrid/pool.h"

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid broker [--bind ENDPOINT] [--keys DIR] [--insecure] [--stop-workers]\n"
          "                      [--unfit-grace SECONDS]\n"
          "\n"
          "Runs a task broker until interrupted (SIGINT/SIGTERM). Workers connect with\n"
          "`qhybrid worker --connect ENDPOINT`, programs with QH_BROKER=ENDPOINT.\n"
          "\n"
          "  --bind ENDPOINT   where to listen (default tcp://0.0.0.0:5555; a port of 0\n"
          "                    picks a free one; ipc:///path for one machine)\n"
          "  --keys DIR        key directory: broker.key, and the public keys allowed in\n"
          "                    DIR/clients/ and DIR/workers/ (`qhybrid keygen`; default\n"
          "                    $QH_KEYS, else $QH_HOME/keys, else ~/.qhybrid/keys)\n"
          "  --insecure        allow tcp without keys: anyone reaching the port can run\n"
          "                    tasks and read their data (a warning is printed)\n"
          "  --stop-workers    tell connected workers to exit when the broker stops\n"
          "  --unfit-grace S   fail a task no connected worker can run once that has lasted\n"
          "                    S seconds (default 10; covers workers still starting)\n"
          "  --help\n"
          "\n"
          "Prints {\"broker\": \"tcp://host:port\"} on stdout once listening.\n",
          f);
}

int qh__cmd_broker(int argc, char **argv)
{
    const char *bind = "tcp://0.0.0.0:5555";
    bool stop_workers = false;
    qh_broker_opts bo = {0};
    double grace_s = 10;
    static const struct option opts[] = {{"bind", required_argument, NULL, 'b'},
                                         {"stop-workers", no_argument, NULL, 's'},
                                         {"keys", required_argument, NULL, 'k'},
                                         {"insecure", no_argument, NULL, 'i'},
                                         {"unfit-grace", required_argument, NULL, 'g'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            bind = optarg;
            break;
        case 's':
            stop_workers = true;
            break;
        case 'k':
            bo.keys = optarg;
            break;
        case 'i':
            bo.insecure = true;
            break;
        case 'g': {
            char *end = NULL;
            grace_s = strtod(optarg, &end);
            if (!(grace_s >= 0 && grace_s < 1e6) || *end) {
                fprintf(stderr, "qhybrid broker: --unfit-grace wants seconds (>= 0)\n");
                return 2;
            }
            break;
        }
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        s_usage(stderr);
        return 2;
    }
    /* Block the signals before the broker's thread exists, then wait for one here. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    qh_broker *b = NULL;
    if (qh_broker_create_opts(bind, &bo, &b) != QH_OK) {
        fprintf(stderr, "qhybrid broker: %s\n", qh_last_error());
        return 1;
    }
    qh_broker_set_unfit_grace(b, (int)(grace_s * 1000));
    printf("{\"broker\": \"%s\"}\n", qh_broker_endpoint(b));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "qhybrid broker: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    qh_broker_destroy(&b, stop_workers);
    return 0;
}
