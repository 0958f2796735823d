/* The MPI boundary of mpi_sim. Large transfers are split into QH__COMM_CHUNK messages
 * (MPI counts are ints, and on these machines 1-4 MiB messages move at 17-18 GB/s where
 * 64 MiB ones drop to 7-11 GB/s); exchanges keep two chunks in flight. MPI errors abort
 * the job by default, which is the right answer for a broken interconnect: a rank that
 * cannot talk cannot agree on anything either. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/comm/comm.h"

struct qh__comm {
    MPI_Comm comm; /* the communicator */
    int owned;     /* 1 if comm was created here (and is freed with the wrapper) */
    int rank;      /* this process */
    int size;      /* processes */
};

struct qh__counter {
    MPI_Win win;    /* one uint64 at rank 0 */
    uint64_t *cell; /* its memory (rank 0) */
    MPI_Comm comm;  /* the ranks sharing it */
    uint64_t local; /* the count when there is no MPI */
    int mpi;        /* 0 on one process */
};

static int s_we_initialised;

int qh__comm_launched(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "MV2_COMM_WORLD_SIZE",
                          "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

static qh_status s_make(MPI_Comm comm, qh__comm **out)
{
    qh__comm *c = calloc(1, sizeof *c);
    if (!c)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    c->comm = comm;
    MPI_Comm_rank(comm, &c->rank);
    MPI_Comm_size(comm, &c->size);
    *out = c;
    return QH_OK;
}

qh_status qh__comm_init_world(int *argc, char ***argv, qh__comm **out)
{
    *out = NULL;
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (finalized)
        return QH_ERROR(QH_ESTATE, "MPI was finalized already and cannot start again");
    if (!inited) {
        if (!qh__comm_launched())
            return QH_OK;
        int provided;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return QH_ERROR(QH_EMPI, "MPI could not start");
        s_we_initialised = 1;
    }
    return s_make(MPI_COMM_WORLD, out);
}

qh_status qh__comm_wrap(const void *mpi_comm, qh__comm **out)
{
    return s_make(*(const MPI_Comm *)mpi_comm, out);
}

void qh__comm_free(qh__comm **c)
{
    if (!c || !*c)
        return;
    if ((*c)->owned)
        MPI_Comm_free(&(*c)->comm);
    free(*c);
    *c = NULL;
}

void qh__comm_finalize(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (s_we_initialised && !fin)
        MPI_Finalize();
    s_we_initialised = 0;
}

int qh__comm_rank(const qh__comm *c)
{
    return c ? c->rank : 0;
}

const void *qh__comm_mpi(const qh__comm *c)
{
    return c ? &c->comm : NULL;
}

int qh__comm_size(const qh__comm *c)
{
    return c ? c->size : 1;
}

int qh__comm_all_ok(const qh__comm *c, int ok)
{
    if (!c)
        return ok;
    int all = ok ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, c->comm);
    return all;
}

qh_status qh__comm_agree(const qh__comm *c, qh_status st)
{
    if (!c || c->size == 1)
        return st;
    int first = st != QH_OK ? c->rank : c->size;
    MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, c->comm);
    if (first == c->size)
        return QH_OK;
    struct {
        int status;
        char message[1024];
    } m = {(int)st, ""};
    if (c->rank == first)
        snprintf(m.message, sizeof m.message, "%s", qh_last_error());
    MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, c->comm);
    if (c->rank != first)
        QH_ERROR((qh_status)m.status, "rank %d: %s", first, m.message);
    return (qh_status)m.status;
}

void qh__comm_sum(const qh__comm *c, double *v, size_t n)
{
    if (!c || c->size == 1)
        return;
    for (size_t off = 0; off < n; off += QH__COMM_CHUNK / sizeof *v) {
        size_t cnt = n - off < QH__COMM_CHUNK / sizeof *v ? n - off : QH__COMM_CHUNK / sizeof *v;
        MPI_Allreduce(MPI_IN_PLACE, v + off, (int)cnt, MPI_DOUBLE, MPI_SUM, c->comm);
    }
}

void qh__comm_max_u64(const qh__comm *c, uint64_t *v, size_t n)
{
    if (!c || c->size == 1)
        return;
    const size_t per = QH__COMM_CHUNK / sizeof *v;
    for (size_t off = 0; off < n; off += per) {
        size_t cnt = n - off < per ? n - off : per;
        MPI_Allreduce(MPI_IN_PLACE, v + off, (int)cnt, MPI_UINT64_T, MPI_MAX, c->comm);
    }
}

void qh__comm_allgather(const qh__comm *c, const double *mine, size_t n, double *out)
{
    if (!c || c->size == 1) {
        memcpy(out, mine, n * sizeof *mine);
        return;
    }
    /* per-rank pieces can be large (block sums of a big shard): go through bcasts of
     * bounded chunks, each rank in turn */
    memcpy(out + (size_t)c->rank * n, mine, n * sizeof *mine);
    for (int r = 0; r < c->size; r++)
        qh__comm_bcast(c, out + (size_t)r * n, n * sizeof *out, r);
}

void qh__comm_bcast(const qh__comm *c, void *buf, size_t bytes, int root)
{
    if (!c || c->size == 1)
        return;
    char *p = buf;
    for (size_t off = 0; off < bytes; off += QH__COMM_CHUNK) {
        size_t cnt = bytes - off < QH__COMM_CHUNK ? bytes - off : QH__COMM_CHUNK;
        MPI_Bcast(p + off, (int)cnt, MPI_BYTE, root, c->comm);
    }
}

void qh__comm_exchange(const qh__comm *c, int partner, const void *send, void *recv, size_t bytes)
{
    if (!c)
        return;
    const char *s = send;
    char *r = recv;
    /* two chunks in flight each way */
    MPI_Request req[4];
    size_t nchunks = (bytes + QH__COMM_CHUNK - 1) / QH__COMM_CHUNK;
    for (size_t k = 0; k < nchunks; k += 2) {
        int nreq = 0;
        for (size_t j = k; j < k + 2 && j < nchunks; j++) {
            size_t off = j * QH__COMM_CHUNK;
            size_t cnt = bytes - off < QH__COMM_CHUNK ? bytes - off : QH__COMM_CHUNK;
            MPI_Irecv(r + off, (int)cnt, MPI_BYTE, partner, (int)(j & 0x7fff), c->comm,
                      &req[nreq++]);
            MPI_Isend(s + off, (int)cnt, MPI_BYTE, partner, (int)(j & 0x7fff), c->comm,
                      &req[nreq++]);
        }
        MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE);
    }
}

struct qh__xfer {
    size_t nreq;       /* requests in flight */
    MPI_Request req[]; /* a receive and a send per chunk */
};

qh_status qh__comm_exchange_begin(const qh__comm *c, int partner, const void *send, void *recv,
                                  size_t bytes, int tag, qh__xfer **out)
{
    *out = NULL;
    if (!c)
        return QH_OK;
    const size_t nchunks = (bytes + QH__COMM_CHUNK - 1) / QH__COMM_CHUNK;
    qh__xfer *x = malloc(sizeof *x + 2 * nchunks * sizeof *x->req);
    if (!x)
        return QH_ERROR(QH_ENOMEM, "out of memory for an exchange");
    x->nreq = 0;
    const char *s = send;
    char *r = recv;
    for (size_t j = 0; j < nchunks; j++) {
        size_t off = j * QH__COMM_CHUNK;
        size_t cnt = bytes - off < QH__COMM_CHUNK ? bytes - off : QH__COMM_CHUNK;
        int t = (int)((((size_t)tag & 0x7) << 12) | (j & 0xfff)); /* below 32768 */
        MPI_Irecv(r + off, (int)cnt, MPI_BYTE, partner, t, c->comm, &x->req[x->nreq++]);
        MPI_Isend(s + off, (int)cnt, MPI_BYTE, partner, t, c->comm, &x->req[x->nreq++]);
    }
    *out = x;
    return QH_OK;
}

void qh__comm_exchange_end(qh__xfer **px)
{
    if (!px || !*px)
        return;
    MPI_Waitall((int)(*px)->nreq, (*px)->req, MPI_STATUSES_IGNORE);
    free(*px);
    *px = NULL;
}

void qh__comm_send(const qh__comm *c, int to, const void *buf, size_t bytes)
{
    const char *p = buf;
    for (size_t off = 0; off < bytes; off += QH__COMM_CHUNK) {
        size_t cnt = bytes - off < QH__COMM_CHUNK ? bytes - off : QH__COMM_CHUNK;
        MPI_Send(p + off, (int)cnt, MPI_BYTE, to, 1, c->comm);
    }
}

void qh__comm_recv(const qh__comm *c, int from, void *buf, size_t bytes)
{
    char *p = buf;
    for (size_t off = 0; off < bytes; off += QH__COMM_CHUNK) {
        size_t cnt = bytes - off < QH__COMM_CHUNK ? bytes - off : QH__COMM_CHUNK;
        MPI_Recv(p + off, (int)cnt, MPI_BYTE, from, 1, c->comm, MPI_STATUS_IGNORE);
    }
}

qh_status qh__comm_split(const qh__comm *c, int color, qh__comm **out)
{
    *out = NULL;
    if (!c)
        return QH_OK;
    MPI_Comm sub;
    if (MPI_Comm_split(c->comm, color, c->rank, &sub) != MPI_SUCCESS)
        return QH_ERROR(QH_EMPI, "MPI could not split the ranks into groups");
    qh_status st = s_make(sub, out);
    if (st == QH_OK)
        (*out)->owned = 1;
    else
        MPI_Comm_free(&sub);
    return st;
}

qh_status qh__counter_create(const qh__comm *c, qh__counter **out)
{
    qh__counter *k = calloc(1, sizeof *k);
    if (!k)
        return QH_ERROR(QH_ENOMEM, "out of memory");
    if (c && c->size > 1) {
        k->mpi = 1;
        k->comm = c->comm;
        MPI_Aint bytes = c->rank == 0 ? (MPI_Aint)sizeof(uint64_t) : 0;
        MPI_Win_allocate(bytes, sizeof(uint64_t), MPI_INFO_NULL, c->comm, &k->cell, &k->win);
        if (c->rank == 0) {
            MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, k->win);
            *k->cell = 0;
            MPI_Win_unlock(0, k->win);
        }
        MPI_Barrier(c->comm);
    }
    *out = k;
    return QH_OK;
}

uint64_t qh__counter_next(qh__counter *k)
{
    if (!k->mpi)
        return k->local++;
    uint64_t one = 1, old = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, k->win);
    MPI_Fetch_and_op(&one, &old, MPI_UINT64_T, 0, 0, MPI_SUM, k->win);
    MPI_Win_unlock(0, k->win);
    return old;
}

void qh__counter_free(qh__counter **pk)
{
    if (!pk || !*pk)
        return;
    if ((*pk)->mpi) {
        MPI_Barrier((*pk)->comm);
        MPI_Win_free(&(*pk)->win);
    }
    free(*pk);
    *pk = NULL;
}

void qh__comm_barrier(const qh__comm *c)
{
    if (c)
        MPI_Barrier(c->comm);
}
