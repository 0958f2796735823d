/* `qhybrid keygen`: writes the CURVE key pairs a standing pool authenticates with. Without
 * --role it makes the set one machine needs to try a pool out (broker, client and worker);
 * with --role it adds one pair, e.g. a key for another user or another worker host, and
 * allows its public key on a broker using the same directory. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cli/commands.h"
#include "launcher/cli/json_out.h"
#include "qhybrid/pool.h"

static void s_usage(FILE *f)
{
    fputs("usage: qhybrid keygen [--dir DIR] [--role broker|client|worker] [--name NAME]\n"
          "\n"
          "Writes CURVE key pairs for a standing pool: NAME.key (secret, mode 0600) and\n"
          "NAME.pub in DIR; a client's or worker's public key also goes to DIR/clients/ or\n"
          "DIR/workers/, the keys a broker started with --keys DIR allows in that role.\n"
          "Existing secret keys are never overwritten.\n"
          "\n"
          "  --dir DIR     key directory (default $QH_KEYS, else $QH_HOME/keys, else\n"
          "                ~/.qhybrid/keys)\n"
          "  --role ROLE   one pair for this role (default: broker, client and worker)\n"
          "  --name NAME   file name of that pair (default: the role)\n"
          "  --help\n"
          "\n"
          "The broker needs broker.key, clients/ and workers/; a client needs client.key and\n"
          "broker.pub (or QH_BROKER_KEY); a worker worker.key and broker.pub.\n"
          "Prints {\"dir\": DIR, \"keys\": [NAME.pub, ...]} on stdout.\n",
          f);
}

int qh__cmd_keygen(int argc, char **argv)
{
    const char *dir = getenv("QH_KEYS"), *role = NULL, *name = NULL;
    char def[1024];
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (name && !role)) {
        if (name && !role)
            fprintf(stderr, "qhybrid keygen: --name needs --role\n");
        s_usage(stderr);
        return 2;
    }
    if (!dir || !*dir) {
        const char *home = getenv("QH_HOME"), *h = getenv("HOME");
        if (home && *home)
            snprintf(def, sizeof def, "%s/keys", home);
        else if (h && *h)
            snprintf(def, sizeof def, "%s/.qhybrid/keys", h);
        else
            snprintf(def, sizeof def, "qhybrid-keys");
        dir = def;
    }
    const char *roles[] = {"broker", "client", "worker"};
    const char *one[] = {role};
    const char *const *list = role ? one : roles;
    size_t n = role ? 1 : 3;
    for (size_t i = 0; i < n; i++) {
        if (qh_keygen(dir, role ? name : NULL, list[i]) != QH_OK) {
            fprintf(stderr, "qhybrid keygen: %s\n", qh_last_error());
            return 1;
        }
    }
    qh__json j;
    qh__json_init(&j, stdout);
    qh__json_object_begin(&j);
    qh__json_key(&j, "dir");
    qh__json_string(&j, dir);
    qh__json_key(&j, "keys");
    qh__json_array_begin(&j);
    char file[300];
    for (size_t i = 0; i < n; i++) {
        snprintf(file, sizeof file, "%s.pub", role && name ? name : list[i]);
        qh__json_string(&j, file);
    }
    qh__json_array_end(&j);
    qh__json_object_end(&j);
    return 0;
}
