/* qh_sim_run: from a circuit to results. Checks the whole memory budget first, compiles
 * the plan, then either simulates once and samples the terminal measurements, or runs one
 * trajectory per shot from a saved copy of the state before the first mid-circuit
 * measurement. Counts are keyed the way Qiskit prints them. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "mpi_sim/h5/h5io.h"
#include "mpi_sim/kernels/kernels.h"
#include "mpi_sim/plan/plan_internal.h"
#include "mpi_sim/run/estimate.h"
#include "mpi_sim/run/run_internal.h"
#include "mpi_sim/shard/shard.h"
#include "mpi_sim/state/sim_clock.h"
#include "mpi_sim/state/state_internal.h"
#include "qhybrid/rng.h"
#include "qhybrid/sim.h"

/* How classical bits are printed: a list of registers, printed last first. */
typedef struct {
    unsigned nregs;        /* registers */
    const unsigned *first; /* first bit of each */
    const unsigned *size;  /* size of each */
    size_t width;          /* characters of one key, with the separating spaces */
} s_keyfmt;

static void s_format_key(const s_keyfmt *f, const unsigned char *bits, char *out)
{
    char *p = out;
    for (unsigned r = f->nregs; r-- > 0;) {
        for (unsigned b = f->size[r]; b-- > 0;)
            *p++ = bits[f->first[r] + b] ? '1' : '0';
        if (r)
            *p++ = ' ';
    }
    *p = '\0';
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts keys (an array of shots pointers into one buffer) and turns them into counts. */
static qh_status s_make_counts(char **keys, uint64_t nkeys, qh_sim_result *res)
{
    qsort(keys, nkeys, sizeof *keys, s_cmp_str);
    size_t distinct = 0;
    for (uint64_t i = 0; i < nkeys; i++)
        if (i == 0 || strcmp(keys[i], keys[i - 1]) != 0)
            distinct++;
    res->counts = calloc(distinct ? distinct : 1, sizeof *res->counts);
    if (!res->counts)
        return QH_ERROR(QH_ENOMEM, "out of memory counting shots");
    size_t c = 0;
    for (uint64_t i = 0; i < nkeys; i++) {
        if (i == 0 || strcmp(keys[i], keys[i - 1]) != 0) {
            res->counts[c].bits = strdup(keys[i]);
            if (!res->counts[c].bits)
                return QH_ERROR(QH_ENOMEM, "out of memory counting shots");
            c++;
            res->num_counts = c;
        }
        res->counts[c - 1].count++;
    }
    return QH_OK;
}

/* Fills the clbits of a sampled basis index through the deferred measurements. */
static void s_apply_deferred(const qh_plan *p, uint64_t index, unsigned char *clbits,
                             int measure_all)
{
    if (measure_all) {
        for (unsigned q = 0; q < p->num_qubits; q++)
            clbits[q] = (unsigned char)(index >> q & 1);
        return;
    }
    for (size_t i = 0; i < p->num_deferred; i++)
        clbits[p->deferred_clbits[i]] = (unsigned char)(index >> p->deferred_qubits[i] & 1);
}

static void s_progress(const qh_sim_options *o, double f)
{
    if (o->progress)
        o->progress(o->progress_ctx, f);
}

/* The state being simulated: one local state vector, or a shard of a distributed one.
 * Results that need the whole state (probabilities, amplitudes, shots) end up on rank 0. */
typedef struct {
    qh_state *s;    /* local engine */
    qh__shard *sh;  /* sharded engine */
    qh__comm *comm; /* the ranks (NULL: one process) */
    qh__ztap *tap;  /* Z strings the local engine's last pass takes (NULL: none) */
} s_engine;

static int s_root(const s_engine *e)
{
    return qh__comm_rank(e->comm) == 0;
}

static qh_status s_eng_exec(s_engine *e, const qh_plan *p, size_t from, size_t to, qh_rng *rng,
                            unsigned char *clbits)
{
    if (e->sh)
        return qh__shard_execute(e->sh, p, from, to, rng, clbits);
    return qh__plan_execute_tap(p, e->s, from, to, rng, clbits, e->tap);
}

/* The requested expectations of Z strings (Z and I only), for the last pass of a run on one
 * process to take while it has each block in cache: the tap, its masks and sums, and for
 * each requested string its index in the tap (SIZE_MAX: computed afterwards). */
typedef struct {
    qh__ztap tap;
    uint64_t *zmask;
    size_t *which;
} s_ztaps;

/* Fills z for the expectations of o on n qubits; 0 when none is a Z string (or without
 * memory: they are then all computed after the run). */
static int s_ztaps_init(s_ztaps *z, const qh_sim_options *o, unsigned n)
{
    memset(z, 0, sizeof *z);
    const size_t ne = o->num_expectations;
    if (!ne)
        return 0;
    z->zmask = malloc(ne * sizeof *z->zmask);
    z->which = malloc(ne * sizeof *z->which);
    z->tap.sum = malloc(ne * sizeof *z->tap.sum);
    if (!z->zmask || !z->which || !z->tap.sum)
        return 0;
    for (size_t i = 0; i < ne; i++) {
        uint64_t xm, zm;
        unsigned ny;
        z->which[i] = SIZE_MAX;
        if (qh__parse_pauli(o->expectations[i], n, &xm, &zm, &ny) != QH_OK) {
            qh_clear_error(); /* reported when it is computed */
            continue;
        }
        if (xm == 0 && ny == 0) {
            z->which[i] = z->tap.n;
            z->zmask[z->tap.n++] = zm;
        }
    }
    z->tap.zmask = z->zmask;
    return z->tap.n > 0;
}

static void s_ztaps_free(s_ztaps *z)
{
    free(z->zmask);
    free(z->which);
    free(z->tap.sum);
}

/* Runs the steps [from, to) reporting progress every few steps. */
static qh_status s_execute(s_engine *e, const qh_plan *p, size_t from, size_t to, qh_rng *rng,
                           unsigned char *clbits, const qh_sim_options *o)
{
    /* a sharded state plans its exchanges over the whole range at once */
    const size_t chunk = e->sh ? to - from : 16;
    for (size_t i = from, end; i < to; i = end) {
        end = i + chunk < to ? i + chunk : to;
        if (i == 0 && p->start_end > end && p->start_end <= to)
            end = p->start_end; /* the product start runs whole or not at all */
        /* a cache-blocked pass runs whole, or its steps would run one by one */
        const qh__step *last = &p->steps[end - 1];
        if (last->inner && p->passes[last->pass].end > end && p->passes[last->pass].end <= to)
            end = p->passes[last->pass].end;
        QH_CALL(s_eng_exec(e, p, i, end, rng, clbits));
        if (o->progress && to > from)
            s_progress(o, (double)(end - from) / (double)(to - from));
    }
    return QH_OK;
}

/* The local amplitudes in the identity layout, and how many qubits they cover. */
static double complex *s_eng_local(s_engine *e, unsigned n, unsigned *local_qubits)
{
    if (e->sh) {
        qh__shard_restore_layout(e->sh);
        *local_qubits = n - qh__shard_rank_qubits(e->sh);
        return qh__shard_local(e->sh);
    }
    *local_qubits = n;
    return qh_state_amplitudes(e->s);
}

/* A state held whole on every rank is written and read by rank 0's file alone... */
static qh_status s_checkpoint(s_engine *e, const qh_plan *p, const char *path, size_t step,
                              uint64_t instructions)
{
    unsigned lq;
    double complex *a = s_eng_local(e, p->num_qubits, &lq);
    qh__checkpoint_info info = {qh__plan_hash(p), step, instructions, p->num_qubits};
    if (e->sh)
        return qh__h5_checkpoint_write(path, e->comm, a, lq, &info);
    qh_status st = QH_OK;
    if (qh__comm_rank(e->comm) == 0)
        st = qh__h5_checkpoint_write(path, NULL, a, lq, &info);
    return qh__comm_agree(e->comm, st);
}

/* ...and read by every rank. */
static qh_status s_resume(s_engine *e, const qh_plan *p, const char *path, size_t *step,
                          uint64_t *instructions)
{
    unsigned lq = p->num_qubits;
    /* the checkpoint's slab overwrites every amplitude, so a fresh state is not zeroed
     * first (a run that fails to read it fails as a whole) */
    double complex *a =
        e->sh ? s_eng_local(e, p->num_qubits, &lq) : qh__state_amplitudes_overwrite(e->s);
    qh__checkpoint_info want = {qh__plan_hash(p), 0, 0, p->num_qubits}, got;
    QH_CALL(qh__h5_checkpoint_read(path, e->sh ? e->comm : NULL, a, lq, &want, &got));
    if (got.step > p->num_steps)
        return QH_ERROR(QH_EINVAL, "'%s' is past the end of the circuit", path);
    *step = got.step;
    *instructions = got.instructions;
    return QH_OK;
}

/* Runs the unitary steps [from, to) with checkpoints after every o->checkpoint_every
 * instructions. */
static qh_status s_run_unitary(s_engine *e, const qh_plan *p, size_t from, size_t to,
                               uint64_t instructions, const qh_sim_options *o,
                               unsigned char *clbits)
{
    if (!o->checkpoint_path || !o->checkpoint_every)
        return s_execute(e, p, from, to, NULL, clbits, o);
    for (size_t i = from; i < to;) {
        /* the steps up to the next checkpoint: one at a time on one process, as one range
         * on a sharded state (whose exchanges are planned over the range) */
        size_t end = i;
        uint64_t before = instructions;
        do
            instructions += p->steps[end++].gates;
        while (e->sh && end < to &&
               before / o->checkpoint_every == instructions / o->checkpoint_every);
        QH_CALL(s_eng_exec(e, p, i, end, NULL, clbits));
        if (before / o->checkpoint_every != instructions / o->checkpoint_every || end == to)
            QH_CALL(s_checkpoint(e, p, o->checkpoint_path, end, instructions));
        if (o->progress)
            s_progress(o, (double)(end - from) / (double)(to - from));
        i = end;
    }
    return QH_OK;
}

static qh_status s_eng_sample(s_engine *e, uint64_t shots, uint64_t seed, uint64_t *out)
{
    if (e->sh) {
        qh__shard_restore_layout(e->sh);
        return qh__shard_sample(e->sh, shots, seed, out);
    }
    return qh_state_sample(e->s, shots, seed, out);
}

/* (z: the Z strings the run's last pass took, or NULL) */
static qh_status s_state_results(s_engine *e, const qh_sim_options *o, const s_ztaps *z,
                                 qh_sim_result *res)
{
    uint64_t len = (uint64_t)1 << res->num_qubits;
    if (o->num_expectations) {
        res->expectations = calloc(o->num_expectations, sizeof *res->expectations);
        res->expectation_names = calloc(o->num_expectations, sizeof *res->expectation_names);
        if (!res->expectations || !res->expectation_names)
            return QH_ERROR(QH_ENOMEM, "out of memory");
        res->num_expectations = o->num_expectations;
        for (size_t i = 0; i < o->num_expectations; i++) {
            res->expectation_names[i] = strdup(o->expectations[i]);
            if (!res->expectation_names[i])
                return QH_ERROR(QH_ENOMEM, "out of memory");
            if (e->sh)
                QH_CALL(qh__shard_expectation(e->sh, o->expectations[i], &res->expectations[i]));
            else if (z && z->tap.done && z->which[i] != SIZE_MAX)
                res->expectations[i] = z->tap.sum[z->which[i]];
            else
                QH_CALL(qh_state_expectation(e->s, o->expectations[i], &res->expectations[i]));
        }
    }
    if (o->probabilities) {
        if (s_root(e)) {
            res->probabilities = malloc(len * sizeof *res->probabilities);
            if (!res->probabilities)
                return QH_ERROR(QH_ENOMEM, "out of memory for the probabilities");
        }
        if (e->sh) {
            qh__shard_restore_layout(e->sh);
            qh__shard_gather_probabilities(e->sh, res->probabilities);
        } else if (res->probabilities) {
            QH_CALL(qh_state_probabilities(e->s, res->probabilities));
        }
    }
    return QH_OK;
}

/* Expectations estimated from shots (see estimate.h), each with a seed of its own. */
static qh_status s_estimates(s_engine *e, const qh_sim_options *o, qh_sim_result *res, qh_rng *rng)
{
    size_t n = o->num_expectations;
    res->expectation_estimates = calloc(n, sizeof *res->expectation_estimates);
    res->expectation_errors = calloc(n, sizeof *res->expectation_errors);
    qh_status st = QH_OK;
    if (!res->expectation_estimates || !res->expectation_errors)
        st = QH_ERROR(QH_ENOMEM, "out of memory");
    QH_CALL(qh__comm_agree(e->comm, st));
    for (size_t i = 0; i < n; i++)
        QH_CALL(qh__estimate_pauli(e->s, e->sh, e->comm, res->num_qubits, o->expectations[i],
                                   o->shots, qh_rng_next(rng), o->max_memory,
                                   &res->expectation_estimates[i], &res->expectation_errors[i]));
    return QH_OK;
}

/* The final amplitudes: the local buffer is handed over; a sharded state is gathered. A
 * single-precision state is widened to double (the result's type). */
static qh_status s_statevector(s_engine *e, qh_sim_result *res)
{
    if (!e->sh && qh_state_precision(e->s) == QH_PRECISION_SINGLE) {
        if (s_root(e)) {
            res->statevector = malloc(((size_t)1 << res->num_qubits) * sizeof *res->statevector);
            if (!res->statevector)
                return QH_ERROR(QH_ENOMEM, "out of memory for the state vector");
            QH_CALL(qh_state_get_amplitudes(e->s, res->statevector));
        }
        return QH_OK;
    }
    if (!e->sh) {
        if (s_root(e)) {
            res->statevector = qh_state_amplitudes(e->s);
            e->s->amp = NULL;
        }
        return QH_OK;
    }
    qh__shard_restore_layout(e->sh);
    if (s_root(e)) {
        res->statevector = malloc(((size_t)1 << res->num_qubits) * sizeof *res->statevector);
        if (!res->statevector)
            return QH_ERROR(QH_ENOMEM, "out of memory for the state vector");
    }
    qh__shard_gather_amplitudes(e->sh, res->statevector);
    return QH_OK;
}

/* Memory beyond the state vector, per rank: result arrays on rank 0, shot buffers. */
static uint64_t s_extra_bytes(const qh_sim_options *o, unsigned n, int root)
{
    uint64_t len = (uint64_t)1 << n, extra = o->shots * 24;
    if (root && o->probabilities)
        extra += 8 * len;
    return extra;
}

static qh_status s_create_engine(const qh_circuit *c, const qh_sim_options *o, qh_precision prec,
                                 qh__comm *comm, s_engine *e)
{
    unsigned n = qh_circuit_num_qubits(c);
    int size = qh__comm_size(comm), root = qh__comm_rank(comm) == 0;
    e->comm = comm;
    if (size > 1 && qh__shard_fits(n, size)) {
        uint64_t extra = s_extra_bytes(o, n, root);
        if (root && o->statevector)
            extra += 16 * ((uint64_t)1 << n);
        return qh__shard_create_precision(n, comm, o->max_memory, extra, prec, &e->sh);
    }
    /* one process, or a problem too small to share: every rank simulates it whole */
    qh_status st = QH_OK;
    const unsigned ebits = prec == QH_PRECISION_SINGLE ? 3 : 4; /* log2 bytes per amplitude */
    if (n >= 63 - ebits)
        st = QH_ERROR(QH_ENOMEM,
                      "a state of %u qubits needs 2^%u bytes, more than any "
                      "machine has",
                      n, n + ebits);
    if (st == QH_OK) {
        char what[160];
        snprintf(what, sizeof what, "simulating %u qubits%s%s", n,
                 prec == QH_PRECISION_SINGLE ? " in single precision" : "",
                 o->probabilities ? " with probabilities" : "");
        uint64_t extra = s_extra_bytes(o, n, 1);
        if (prec == QH_PRECISION_SINGLE && o->statevector)
            extra += 16 * ((uint64_t)1 << n); /* widened to double for the result */
        st = qh_memory_check(((uint64_t)1 << n << ebits) + extra, o->max_memory, what);
    }
    /* unwritten: the first touch of the 2^n amplitudes is the product start's write, or the
     * zeroing that comes with the first access, not both */
    if (st == QH_OK)
        st = qh__state_create_unwritten_precision(n, o->max_memory, 0, prec, &e->s);
    return qh__comm_agree(comm, st);
}

static void s_engine_free(s_engine *e)
{
    qh_state_destroy(&e->s);
    qh__shard_destroy(&e->sh);
}

static qh_status s_engine_save(s_engine *e, const qh_sim_options *o, s_engine *saved)
{
    saved->comm = e->comm;
    qh_status st;
    if (e->sh)
        st = qh__shard_clone(e->sh, o->max_memory, &saved->sh);
    else
        st = qh__comm_agree(e->comm, qh_state_clone(e->s, o->max_memory, &saved->s));
    return st;
}

static void s_engine_restore(s_engine *e, const s_engine *saved)
{
    if (e->sh)
        qh__shard_copy(e->sh, saved->sh);
    else
        qh_state_copy(e->s, saved->s);
}

static void s_engine_zero(s_engine *e)
{
    if (e->sh)
        qh__shard_reset_zero(e->sh);
    else
        qh_state_set_basis(e->s, 0);
}

qh_status qh__sim_run_comm(const qh_circuit *c, const qh_sim_options *opts, qh__comm *comm,
                           qh_sim_result **out)
{
    qh_sim_options defaults = {0};
    const qh_sim_options *o = opts ? opts : &defaults;
    qh_plan *plan = NULL;
    *out = NULL;
    qh_status st = qh__comm_agree(comm, qh_plan_create(c, &o->plan, &plan));
    if (st == QH_OK && (qh_plan_num_parameters(plan) > 0 || o->num_param_values > 0))
        st = qh__comm_agree(comm, qh_plan_bind(plan, o->param_values, o->num_param_values));
    if (st == QH_OK)
        st = qh__sim_run_plan(c, plan, o, comm, out);
    qh_plan_destroy(&plan);
    return st;
}

qh_status qh__sim_run_plan(const qh_circuit *c, const qh_plan *plan, const qh_sim_options *opts,
                           qh__comm *comm, qh_sim_result **out)
{
    qh_status st = QH_OK;
    qh_sim_options defaults = {0};
    const qh_sim_options *o = opts ? opts : &defaults;
    s_engine e = {0}, saved = {0};
    qh_sim_result *res = NULL;
    uint64_t clock0 = qh__sim_clock_start();
    unsigned char *clbits = NULL;
    char *keybuf = NULL;
    char **keys = NULL;
    uint64_t *idx = NULL;
    unsigned *first = NULL, *size = NULL;
    const int root = qh__comm_rank(comm) == 0;
    *out = NULL;

    if (o->threads) {
        omp_set_num_threads((int)o->threads);
    } else if (!getenv("OMP_NUM_THREADS") && getenv("SLURM_CPUS_PER_TASK")) {
        /* A rank of a Slurm step has the cores it was given, not the node's: as many
         * threads as --cpus-per-task (the allocation's CPUs are not bound here). */
        long cpt = strtol(getenv("SLURM_CPUS_PER_TASK"), NULL, 10);
        if (cpt >= 1 && cpt <= 4096)
            omp_set_num_threads((int)cpt);
    }
    double t0 = omp_get_wtime();
    QH_TRY(qh__comm_agree(comm, qh__plan_check_bound(plan)));
    /* a checkpoint that could not be written should fail the run before it starts */
    if (o->checkpoint_path && o->checkpoint_every)
        QH_TRY(qh__comm_agree(comm, qh__check_output_path(o->checkpoint_path, "the checkpoint")));
    const int traj = plan->first_nonunitary < plan->num_steps;
    res = calloc(1, sizeof *res);
    if (!res)
        st = QH_ERROR(QH_ENOMEM, "out of memory");
    QH_TRY(qh__comm_agree(comm, st));
    res->num_qubits = qh_circuit_num_qubits(c);
    res->num_clbits = qh_circuit_num_clbits(c);
    res->isa = qh__kernels()->isa;
    res->plan_stats = qh_plan_get_stats(plan);
    res->trajectory = traj && (o->shots > 0 || plan->num_clbits > 0);
    res->ranks = (unsigned)qh__comm_size(comm);
    if (plan->precision == QH_PRECISION_SINGLE &&
        ((o->checkpoint_path && o->checkpoint_every) || o->resume_path))
        QH_FAIL(QH_EINVAL,
                "checkpoints hold double-precision states: %s is not available in "
                "single precision (use --precision double)",
                o->resume_path ? "resuming from a checkpoint" : "writing checkpoints");
    QH_TRY(s_create_engine(c, o, plan->precision, comm, &e));
    res->sharded = e.sh != NULL;

    /* Classical bit layout of the keys. A circuit without measurements gets all its qubits
     * measured (as Amazon Braket does), printed as one register. */
    int has_measure = plan->num_deferred > 0 || res->plan_stats.num_measure > 0;
    int measure_all = o->shots > 0 && !has_measure;
    unsigned nbits = measure_all ? res->num_qubits : res->num_clbits;
    s_keyfmt fmt = {0};
    unsigned ncregs = qh_circuit_num_cregs(c);
    unsigned nregs = (measure_all || ncregs == 0) ? 1 : ncregs;
    first = calloc(nregs, sizeof *first);
    size = calloc(nregs, sizeof *size);
    clbits = calloc(nbits > res->num_clbits ? nbits + 1 : res->num_clbits + 1, 1);
    if (!first || !size || !clbits)
        st = QH_ERROR(QH_ENOMEM, "out of memory");
    else if (o->shots > 0 && nbits == 0)
        st = QH_ERROR(QH_EINVAL, "shots were asked for, but the circuit has no classical bits");
    QH_TRY(qh__comm_agree(comm, st));
    if (measure_all || ncregs == 0) {
        size[0] = nbits;
    } else {
        for (unsigned r = 0; r < ncregs; r++) {
            qh_register reg = qh_circuit_creg(c, r);
            first[r] = reg.first;
            size[r] = reg.size;
        }
    }
    fmt.nregs = nregs;
    fmt.first = first;
    fmt.size = size;
    fmt.width = nbits + (nregs - 1) + 1;

    qh_rng rng;
    qh_rng_seed(&rng, o->seed);
    if (o->shots > 0) {
        keybuf = malloc(o->shots * fmt.width);
        keys = malloc(o->shots * sizeof *keys);
        idx = malloc(o->shots * sizeof *idx);
        if (!keybuf || !keys || !idx)
            st = QH_ERROR(QH_ENOMEM, "out of memory for %llu shots", (unsigned long long)o->shots);
        QH_TRY(qh__comm_agree(comm, st));
        for (uint64_t k = 0; k < o->shots; k++)
            keys[k] = keybuf + k * fmt.width;
    }

    size_t start = 0;
    uint64_t done_instr = 0;
    if (o->resume_path)
        QH_TRY(qh__comm_agree(comm, s_resume(&e, plan, o->resume_path, &start, &done_instr)));
    if (start > plan->first_nonunitary)
        QH_FAIL(QH_EINVAL, "a checkpoint can only resume the part before the first "
                           "mid-circuit measurement");
    if (!traj) {
        s_ztaps z = {0};
        if (!e.sh && s_ztaps_init(&z, o, res->num_qubits))
            e.tap = &z.tap;
        st = s_run_unitary(&e, plan, start, plan->num_steps, done_instr, o, clbits);
        e.tap = NULL;
        if (st == QH_OK)
            st = qh__comm_agree(comm, s_state_results(&e, o, &z, res));
        s_ztaps_free(&z);
        QH_TRY(st);
        if (o->shots > 0) {
            QH_TRY(qh__comm_agree(comm, s_eng_sample(&e, o->shots, qh_rng_next(&rng), idx)));
            for (uint64_t k = 0; root && k < o->shots; k++) {
                if (k == 0 || idx[k] != idx[k - 1]) {
                    memset(clbits, 0, nbits);
                    s_apply_deferred(plan, idx[k], clbits, measure_all);
                    s_format_key(&fmt, clbits, keys[k]);
                } else {
                    memcpy(keys[k], keys[k - 1], fmt.width);
                }
            }
        }
        if (o->shots > 0 && o->estimate_expectations && o->num_expectations)
            QH_TRY(s_estimates(&e, o, res, &rng));
    } else {
        /* Trajectories: the unitary prefix once, then each shot from a copy of it. */
        QH_TRY(s_run_unitary(&e, plan, start, plan->first_nonunitary, done_instr, o, clbits));
        uint64_t nshots = o->shots ? o->shots : 1;
        if (nshots > 1 && s_engine_save(&e, o, &saved) != QH_OK) {
            qh_clear_error(); /* no room for a copy: recompute the prefix for each shot */
            s_engine_free(&saved);
        }
        for (uint64_t k = 0; k < nshots; k++) {
            if (k > 0) {
                if (saved.s || saved.sh) {
                    s_engine_restore(&e, &saved);
                } else {
                    s_engine_zero(&e);
                    QH_TRY(s_eng_exec(&e, plan, 0, plan->first_nonunitary, NULL, clbits));
                }
            }
            memset(clbits, 0, res->num_clbits + 1);
            QH_TRY(s_eng_exec(&e, plan, plan->first_nonunitary, plan->num_steps, &rng, clbits));
            if (k == 0)
                QH_TRY(qh__comm_agree(comm, s_state_results(&e, o, NULL, res)));
            if (o->shots > 0) {
                if (plan->num_deferred > 0 || measure_all) {
                    uint64_t one = 0;
                    QH_TRY(qh__comm_agree(comm, s_eng_sample(&e, 1, qh_rng_next(&rng), &one)));
                    s_apply_deferred(plan, one, clbits, measure_all);
                }
                if (root)
                    s_format_key(&fmt, clbits, keys[k]);
            }
            if (o->progress && (k & 63) == 0)
                s_progress(o, (double)(k + 1) / (double)nshots);
        }
    }
    if (o->statevector)
        QH_TRY(qh__comm_agree(comm, s_statevector(&e, res)));
    if (o->shots > 0) {
        if (root)
            st = s_make_counts(keys, o->shots, res);
        QH_TRY(qh__comm_agree(comm, st));
        res->shots = o->shots;
        res->measured_all = measure_all;
    }
    if (e.sh)
        qh__shard_traffic(e.sh, &res->exchanges, &res->bytes_exchanged, &res->exchange_seconds);
    res->seconds = omp_get_wtime() - t0;
    s_progress(o, 1.0);
    *out = res;
    res = NULL;
fail:
    qh__sim_clock_stop(clock0);
    qh_sim_result_destroy(&res);
    s_engine_free(&e);
    s_engine_free(&saved);
    free(clbits);
    free(keybuf);
    free(keys);
    free(idx);
    free(first);
    free(size);
    return st;
}

qh_status qh_sim_run(const qh_circuit *c, const qh_sim_options *opts, qh_sim_result **out)
{
    return qh__sim_run_comm(c, opts, NULL, out);
}

void qh_sim_result_destroy(qh_sim_result **pr)
{
    if (!pr || !*pr)
        return;
    qh_sim_result *r = *pr;
    free(r->probabilities);
    free(r->statevector);
    free(r->expectations);
    free(r->expectation_estimates);
    free(r->expectation_errors);
    for (size_t i = 0; i < r->num_expectations && r->expectation_names; i++)
        free(r->expectation_names[i]);
    free(r->expectation_names);
    for (size_t i = 0; i < r->num_counts; i++)
        free(r->counts[i].bits);
    free(r->counts);
    free(r);
    *pr = NULL;
}
