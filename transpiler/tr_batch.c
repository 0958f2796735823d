/* Dynamic distribution of circuits across MPI ranks, the one mpi.h user of transpiler/: a
 * counter in an MPI window on rank 0 that every rank (rank 0 included) advances with
 * MPI_Fetch_and_op to claim its next index, then one gather of the records. */
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/tr_batch.h"

static int s_started; /* MPI_Init was called here */

static int s_launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

static int s_active(void)
{
    int inited = 0, fin = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    return inited && !fin;
}

qh_status qh__tbatch_init(int *rank, int *size)
{
    *rank = 0, *size = 1;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && s_launched()) {
        int provided;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return QH_ERROR(QH_EMPI, "MPI could not start");
        s_started = 1;
    }
    if (s_active()) {
        MPI_Comm_rank(MPI_COMM_WORLD, rank);
        MPI_Comm_size(MPI_COMM_WORLD, size);
    }
    return QH_OK;
}

void qh__tbatch_finalize(void)
{
    if (s_started && s_active())
        MPI_Finalize();
    s_started = 0;
}

int qh__tbatch_all(int ok)
{
    if (!s_active())
        return ok;
    int in = ok != 0, all = 0;
    MPI_Allreduce(&in, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return all;
}

void qh__tbatch_bcast(uint64_t *v)
{
    if (s_active())
        MPI_Bcast(v, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
}

/* Appends one record (index, status, length, bytes) to a growing buffer. */
static int s_pack(char **buf, size_t *len, size_t *cap, int64_t idx, int32_t st, const char *rec)
{
    int32_t rl = rec ? (int32_t)strlen(rec) : -1;
    size_t need = *len + 16 + (rl > 0 ? (size_t)rl : 0);
    if (need > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < need)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb, *cap = nc;
    }
    memcpy(*buf + *len, &idx, 8);
    memcpy(*buf + *len + 8, &st, 4);
    memcpy(*buf + *len + 12, &rl, 4);
    if (rl > 0)
        memcpy(*buf + *len + 16, rec, (size_t)rl);
    *len = need;
    return 0;
}

qh_status qh__tbatch_run(size_t n, qh__tbatch_fn fn, void *arg, char ***records,
                         qh_status **statuses)
{
    qh_status st = QH_OK;
    *records = NULL;
    *statuses = NULL;
    int rank = 0, size = 1, mpi = s_active();
    if (mpi) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
    char **rec = NULL;
    qh_status *sts = NULL;
    if (rank == 0) {
        rec = calloc(n + 1, sizeof *rec);
        sts = calloc(n + 1, sizeof *sts);
        if (!rec || !sts) {
            free(rec);
            free(sts);
            return QH_ERROR(QH_ENOMEM, "no memory for %zu records", n);
        }
    }
    if (!mpi || size == 1) {
        for (size_t i = 0; i < n; i++)
            sts[i] = fn(i, arg, &rec[i]);
        *records = rec;
        *statuses = sts;
        return QH_OK;
    }

    /* the shared counter */
    int64_t *counter = NULL;
    MPI_Win win;
    if (MPI_Win_allocate(rank == 0 ? (MPI_Aint)sizeof(int64_t) : 0, sizeof(int64_t), MPI_INFO_NULL,
                         MPI_COMM_WORLD, &counter, &win) != MPI_SUCCESS)
        QH_FAIL(QH_EMPI, "MPI could not create the work counter");
    if (rank == 0) {
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win);
        *counter = 0;
        MPI_Win_unlock(0, win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int oom = 0;
    for (;;) {
        int64_t one = 1, idx = 0;
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win);
        MPI_Fetch_and_op(&one, &idx, MPI_INT64_T, 0, 0, MPI_SUM, win);
        MPI_Win_unlock(0, win);
        if (idx < 0 || (size_t)idx >= n)
            break;
        char *r = NULL;
        qh_status s = fn((size_t)idx, arg, &r);
        oom |= s_pack(&buf, &len, &cap, idx, (int32_t)s, r);
        free(r);
    }
    MPI_Win_free(&win);

    /* gather every rank's records on rank 0 */
    int mylen = (int)len, *lens = NULL, *displs = NULL;
    char *all = NULL;
    if (rank == 0) {
        lens = calloc((size_t)size, sizeof *lens);
        displs = calloc((size_t)size, sizeof *displs);
    }
    MPI_Gather(&mylen, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    size_t total = 0;
    if (rank == 0) {
        for (int r = 0; r < size; r++)
            displs[r] = (int)total, total += (size_t)lens[r];
        all = malloc(total + 1);
    }
    MPI_Gatherv(buf, mylen, MPI_CHAR, all, lens, displs, MPI_CHAR, 0, MPI_COMM_WORLD);
    free(buf);
    if (rank == 0) {
        for (size_t p = 0; p + 16 <= total;) {
            int64_t idx;
            int32_t s, rl;
            memcpy(&idx, all + p, 8);
            memcpy(&s, all + p + 8, 4);
            memcpy(&rl, all + p + 12, 4);
            p += 16;
            if (idx >= 0 && (size_t)idx < n) {
                sts[idx] = (qh_status)s;
                if (rl >= 0) {
                    rec[idx] = malloc((size_t)rl + 1);
                    if (rec[idx]) {
                        memcpy(rec[idx], all + p, (size_t)rl);
                        rec[idx][rl] = '\0';
                    }
                }
            }
            p += rl > 0 ? (size_t)rl : 0;
        }
        free(all);
        free(lens);
        free(displs);
    }
    if (!qh__tbatch_all(!oom))
        QH_FAIL(QH_ENOMEM, "a rank ran out of memory collecting its records");
    *records = rec;
    *statuses = sts;
    return QH_OK;
fail:
    if (rec)
        for (size_t i = 0; i < n; i++)
            free(rec[i]);
    free(rec);
    free(sts);
    return st;
}
