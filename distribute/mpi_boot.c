/* The SPMD runtime: the task runtime under mpirun (the one distribute/ file that includes
 * mpi.h). Rank 0 starts a broker, sends its address to every rank with MPI_Bcast, connects
 * a client pool to it and waits until every other rank's worker has said hello; the other
 * ranks run a worker offering the cores their binding allows and their share of the node's
 * memory, and leave the process when rank 0 destroys its pool (see pool.h). Ranks on one
 * node talk over ipc://; across nodes over tcp:// to rank 0's host name, with CURVE keys
 * rank 0 makes for the run and sends with the address (the broker's public key, the
 * workers' and the client's key pairs: a key file is not needed, and a process outside the
 * job cannot join).
 *
 * Once started, rank 0's pool is a remote pool (client.c), whose operations this runtime's
 * table shares: it differs in how it starts and in how it stops (the broker, the worker
 * ranks and MPI with it). With a single rank the pool is a local one. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/sysinfo.h"
#include "distribute/keys.h"
#include "distribute/pool_impl.h"

typedef struct s_mpi {
    qh__remote remote;  /* the client side (first: the remote operations see it) */
    qh_broker *broker;  /* rank 0's broker */
    bool finalize;      /* we called MPI_Init, so we call MPI_Finalize */
    char ipc_path[256]; /* socket file to remove, when ipc */
} s_mpi;

bool qh__mpi_detected(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 1)
            return true;
    }
    return false;
}

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* Rank 0: waits until `want` workers have registered (or the deadline passes). */
static qh_status s_wait_workers(qh_pool *pool, uint32_t want, int timeout_ms)
{
    int64_t deadline = qh__now_ms() + timeout_ms;
    for (;;) {
        qh__shape shape;
        pthread_mutex_lock(&pool->mu);
        qh__remote_shape(pool, &shape);
        pthread_mutex_unlock(&pool->mu);
        uint32_t have = shape.workers;
        if (have >= want)
            return QH_OK;
        if (qh__now_ms() > deadline)
            return QH_ERROR(QH_EMPI, "only %u of %u worker ranks joined within %d ms", have, want,
                            timeout_ms);
        usleep(5000);
    }
}

/* Stops the broker (its workers get SHUTDOWN and leave their loop), waits for the worker
 * ranks, ends MPI when we started it, frees m. */
static void s_finish(s_mpi *m)
{
    qh_broker_destroy(&m->broker, true);
    if (m->ipc_path[0])
        unlink(m->ipc_path);
    MPI_Barrier(MPI_COMM_WORLD);
    if (m->finalize)
        MPI_Finalize();
    free(m);
}

static qh_status s_create(const qh_pool_opts *opts, qh_pool **out)
{
    int inited = 0, size = 1, rank = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        int provided;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return QH_ERROR(QH_EMPI, "MPI_Init failed");
    }
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (size < 2) {
        if (!inited)
            MPI_Finalize();
        return qh__local_runtime.create(opts, out); /* one rank: run locally */
    }

    /* All on one host? Then a socket file beats TCP. */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    uint64_t mine = s_hash(host), lo = 0, hi = 0;
    MPI_Allreduce(&mine, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    /* QH_MPI_TCP=1 takes the across-nodes path (tcp with the run's keys) on one node too. */
    const char *force_tcp = getenv("QH_MPI_TCP");
    bool one_node = lo == hi && !(force_tcp && strcmp(force_tcp, "1") == 0);

    char endpoint[256] = "";
    /* tcp: the broker's public key, the workers' and the client's secret keys. */
    char keys[3][QH__KEY_Z85];
    memset(keys, 0, sizeof keys);
    qh__curve server = {0}, worker = {0}, client = {0};
    s_mpi *m = NULL;
    qh_status st = QH_OK;
    if (rank == 0 && !one_node) {
        st = qh__curve_keypair(server.pub, server.sec);
        if (st == QH_OK)
            st = qh__curve_keypair(worker.pub, worker.sec);
        if (st == QH_OK)
            st = qh__curve_keypair(client.pub, client.sec);
        memcpy(keys[0], server.pub, QH__KEY_Z85);
        memcpy(keys[1], worker.sec, QH__KEY_Z85);
        memcpy(keys[2], client.sec, QH__KEY_Z85);
    }
    if (rank == 0 && st == QH_OK) {
        m = calloc(1, sizeof *m);
        if (!m) {
            st = QH_ERROR(QH_ENOMEM, "out of memory");
        } else {
            char bind[300];
            if (one_node) {
                snprintf(m->ipc_path, sizeof m->ipc_path, "/tmp/qh-mpi-%d-%lx.sock", (int)getpid(),
                         (unsigned long)qh__now_ms());
                snprintf(bind, sizeof bind, "ipc://%s", m->ipc_path);
            } else {
                snprintf(bind, sizeof bind, "tcp://0.0.0.0:0");
            }
            if (one_node) {
                st = qh_broker_create(bind, &m->broker);
            } else {
                const char *cpub = client.pub, *wpub = worker.pub;
                st = qh__broker_create_keyed(bind, &server, &cpub, 1, &wpub, 1, &m->broker);
            }
            if (st == QH_OK) {
                const char *ep = qh_broker_endpoint(m->broker);
                const char *port = strrchr(ep, ':');
                if (one_node || !port)
                    snprintf(endpoint, sizeof endpoint, "%s", ep);
                else
                    snprintf(endpoint, sizeof endpoint, "tcp://%.200s%s", host, port);
            }
        }
    }
    /* An empty endpoint tells the workers rank 0 failed: everyone gives up together. */
    MPI_Bcast(endpoint, sizeof endpoint, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Bcast(keys, sizeof keys, MPI_CHAR, 0, MPI_COMM_WORLD);
    memset(&server, 0, sizeof server);
    if (keys[0][0]) { /* each rank's pairs: the public halves from the secret ones */
        memcpy(worker.server, keys[0], QH__KEY_Z85);
        memcpy(worker.sec, keys[1], QH__KEY_Z85);
        memcpy(client.server, keys[0], QH__KEY_Z85);
        memcpy(client.sec, keys[2], QH__KEY_Z85);
        if (qh__curve_public(worker.sec, worker.pub) != QH_OK ||
            qh__curve_public(client.sec, client.pub) != QH_OK)
            keys[0][0] = 0;
    }
    memset(keys, 0, sizeof keys);
    if (!endpoint[0]) {
        if (m)
            free(m);
        if (rank != 0)
            st = QH_ERROR(QH_EMPI, "rank 0 could not start the broker");
        return st;
    }

    if (rank != 0) {
        qh_worker_opts wo = {
            .broker = endpoint, .cpus = opts->cpus, .gpus = opts->gpus, .mem = opts->mem};
        if (!wo.mem) {
            const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
            int nlocal = local && atoi(local) > 0 ? atoi(local) : 1;
            wo.mem = qh__mem_available() / (uint64_t)nlocal;
        }
        st = qh__worker_run_keyed(&wo, &worker, &client);
        memset(&worker, 0, sizeof worker);
        memset(&client, 0, sizeof client);
        if (st != QH_OK)
            fprintf(stderr, "qhybrid: worker rank %d: %s\n", rank, qh_last_error());
        MPI_Barrier(MPI_COMM_WORLD);
        if (!inited)
            MPI_Finalize();
        exit(st == QH_OK ? 0 : 1); /* a worker rank never returns to user code (pool.h) */
    }

    m->finalize = !inited;
    qh_pool *pool = NULL;
    st = qh__remote_open(&m->remote, &qh__spmd_runtime, endpoint, &client, 30000, &pool);
    memset(&client, 0, sizeof client);
    if (st != QH_OK) {
        s_finish(m);
        return st;
    }
    st = s_wait_workers(pool, (uint32_t)size - 1, 120000);
    if (st != QH_OK) {
        qh__pool_close(&pool); /* finishes m too */
        return st;
    }
    *out = pool;
    return QH_OK;
}

static void s_shutdown(qh_pool *pool)
{
    s_mpi *m = pool->rt;
    qh__remote_close(&m->remote);
    s_finish(m);
}

const qh__runtime qh__spmd_runtime = {
    .kind = QH_POOL_MPI,
    .create = s_create,
    .shape = qh__remote_shape,
    .accept = qh__remote_accept,
    .submit = qh__remote_submit,
    .kick = qh__remote_kick,
    .ready = NULL,
    .cancel = qh__remote_cancel,
    .release = qh__remote_release,
    .watch = NULL,
    .value = qh__remote_value,
    .shutdown = s_shutdown,
};
