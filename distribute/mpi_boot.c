/* SPMD start-up of the task runtime under mpirun (the one distribute/ file that includes
 * mpi.h). Rank 0 starts a broker, sends its address to every rank with MPI_Bcast, connects
 * a client pool to it and waits until every other rank's worker has said hello; the other
 * ranks run a worker offering the cores their binding allows and their share of the node's
 * memory, and leave the process when rank 0 destroys its pool (see pool.h). Ranks on one
 * node talk over ipc://; across nodes over tcp:// to rank 0's host name. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/sysinfo.h"
#include "distribute/pool_impl.h"

typedef struct s_mpi {
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
        pthread_mutex_lock(&pool->mu);
        uint32_t have = qh__client_shape(pool->client)->workers;
        pthread_mutex_unlock(&pool->mu);
        if (have >= want)
            return QH_OK;
        if (qh__now_ms() > deadline)
            return QH_ERROR(QH_EMPI, "only %u of %u worker ranks joined within %d ms", have, want,
                            timeout_ms);
        usleep(5000);
    }
}

qh_status qh__mpi_pool_create(const qh_pool_opts *opts, qh_pool **out, bool *handled)
{
    *handled = false;
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
        return QH_OK; /* one rank: the caller runs locally */
    }
    *handled = true;

    /* All on one host? Then a socket file beats TCP. */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    uint64_t mine = s_hash(host), lo = 0, hi = 0;
    MPI_Allreduce(&mine, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    bool one_node = lo == hi;

    char endpoint[256] = "";
    s_mpi *m = NULL;
    qh_status st = QH_OK;
    if (rank == 0) {
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
            st = qh_broker_create(bind, &m->broker);
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
    if (!endpoint[0]) {
        if (m)
            free(m);
        if (rank != 0)
            st = QH_ERROR(QH_EMPI, "rank 0 could not start the broker");
        return st;
    }

    if (rank != 0) {
        qh_worker_opts wo = {.broker = endpoint};
        if (opts) {
            wo.cpus = opts->cpus;
            wo.gpus = opts->gpus;
            wo.mem = opts->mem;
        }
        if (!wo.mem) {
            const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
            int nlocal = local && atoi(local) > 0 ? atoi(local) : 1;
            wo.mem = qh__mem_available() / (uint64_t)nlocal;
        }
        st = qh_worker_run(&wo);
        if (st != QH_OK)
            fprintf(stderr, "qhybrid: worker rank %d: %s\n", rank, qh_last_error());
        MPI_Barrier(MPI_COMM_WORLD);
        if (!inited)
            MPI_Finalize();
        exit(st == QH_OK ? 0 : 1); /* a worker rank never returns to user code (pool.h) */
    }

    m->finalize = !inited;
    qh_pool *pool = NULL;
    st = qh__pool_create_remote(endpoint, 30000, &pool);
    if (st == QH_OK)
        st = s_wait_workers(pool, (uint32_t)size - 1, 120000);
    if (st != QH_OK) {
        qh_pool_destroy(&pool);
        qh__mpi_pool_finish(m);
        return st;
    }
    pool->kind = QH_POOL_MPI;
    pool->mpi = m;
    *out = pool;
    return QH_OK;
}

void qh__mpi_pool_finish(void *state)
{
    s_mpi *m = state;
    qh_broker_destroy(&m->broker, true); /* workers get SHUTDOWN and leave their loop */
    if (m->ipc_path[0])
        unlink(m->ipc_path);
    MPI_Barrier(MPI_COMM_WORLD);
    if (m->finalize)
        MPI_Finalize();
    free(m);
}
