/* qh_sim_run: from a circuit to results. Checks the whole memory budget first, compiles
 * the plan, then either simulates once and samples the terminal measurements, or runs one
 * trajectory per shot from a saved copy of the state before the first mid-circuit
 * measurement. Counts are keyed the way Qiskit prints them. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/kernels.h"
#include "mpi_sim/plan_internal.h"
#include "mpi_sim/state_internal.h"
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

/* Runs the steps [from, to) reporting progress every few steps. */
static qh_status s_execute(const qh_plan *p, qh_state *s, size_t from, size_t to, qh_rng *rng,
                           unsigned char *clbits, const qh_sim_options *o)
{
    const size_t chunk = 16;
    for (size_t i = from; i < to; i += chunk) {
        size_t end = i + chunk < to ? i + chunk : to;
        QH_CALL(qh__plan_execute_range(p, s, i, end, rng, clbits));
        if (o->progress && to > from)
            s_progress(o, (double)(end - from) / (double)(to - from));
    }
    return QH_OK;
}

static qh_status s_state_results(qh_state *s, const qh_sim_options *o, qh_sim_result *res)
{
    uint64_t len = (uint64_t)1 << s->num_qubits;
    if (o->num_expectations) {
        res->expectations = calloc(o->num_expectations, sizeof *res->expectations);
        if (!res->expectations)
            return QH_ERROR(QH_ENOMEM, "out of memory");
        res->expectation_names = calloc(o->num_expectations, sizeof *res->expectation_names);
        if (!res->expectation_names)
            return QH_ERROR(QH_ENOMEM, "out of memory");
        res->num_expectations = o->num_expectations;
        for (size_t i = 0; i < o->num_expectations; i++) {
            res->expectation_names[i] = strdup(o->expectations[i]);
            if (!res->expectation_names[i])
                return QH_ERROR(QH_ENOMEM, "out of memory");
            QH_CALL(qh_state_expectation(s, o->expectations[i], &res->expectations[i]));
        }
    }
    if (o->probabilities) {
        res->probabilities = malloc(len * sizeof *res->probabilities);
        if (!res->probabilities)
            return QH_ERROR(QH_ENOMEM, "out of memory for the probabilities");
        QH_CALL(qh_state_probabilities(s, res->probabilities));
    }
    return QH_OK;
}

static qh_status s_budget(const qh_circuit *c, const qh_sim_options *o, int trajectories)
{
    unsigned n = qh_circuit_num_qubits(c);
    if (n >= 59)
        return QH_ERROR(QH_ENOMEM,
                        "a state of %u qubits needs 2^%u bytes, more than any "
                        "machine has",
                        n, n + 4);
    uint64_t len = (uint64_t)1 << n;
    uint64_t need = 16 * len;
    if (o->probabilities)
        need += 8 * len;
    need += o->shots * 24; /* sampled indices, random numbers, keys' pointers */
    char what[160];
    snprintf(what, sizeof what, "simulating %u qubits%s%s", n,
             o->probabilities ? " with probabilities" : "",
             trajectories && o->shots > 1 ? " shot by shot" : "");
    return qh_memory_check(need, o->max_memory, what);
}

qh_status qh_sim_run(const qh_circuit *c, const qh_sim_options *opts, qh_sim_result **out)
{
    qh_status st = QH_OK;
    qh_sim_options defaults = {0};
    const qh_sim_options *o = opts ? opts : &defaults;
    qh_plan *plan = NULL;
    qh_state *s = NULL, *saved = NULL;
    qh_sim_result *res = NULL;
    unsigned char *clbits = NULL;
    char *keybuf = NULL;
    char **keys = NULL;
    uint64_t *idx = NULL;
    unsigned *first = NULL, *size = NULL;
    *out = NULL;

    if (o->threads)
        omp_set_num_threads((int)o->threads);
    double t0 = omp_get_wtime();
    QH_TRY(qh_plan_create(c, &o->plan, &plan));
    const int traj = plan->first_nonunitary < plan->num_steps;
    QH_TRY(s_budget(c, o, traj));
    res = calloc(1, sizeof *res);
    if (!res)
        QH_FAIL(QH_ENOMEM, "out of memory");
    res->num_qubits = qh_circuit_num_qubits(c);
    res->num_clbits = qh_circuit_num_clbits(c);
    res->isa = qh__kernels()->isa;
    res->plan_stats = qh_plan_get_stats(plan);
    res->trajectory = traj && (o->shots > 0 || plan->num_clbits > 0);
    QH_TRY(qh_state_create(res->num_qubits, o->max_memory, &s));

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
        QH_FAIL(QH_ENOMEM, "out of memory");
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
    if (o->shots > 0 && nbits == 0)
        QH_FAIL(QH_EINVAL, "shots were asked for, but the circuit has no classical bits");
    if (o->shots > 0) {
        keybuf = malloc(o->shots * fmt.width);
        keys = malloc(o->shots * sizeof *keys);
        if (!keybuf || !keys)
            QH_FAIL(QH_ENOMEM, "out of memory for %llu shots", (unsigned long long)o->shots);
        for (uint64_t k = 0; k < o->shots; k++)
            keys[k] = keybuf + k * fmt.width;
    }

    if (!traj) {
        QH_TRY(s_execute(plan, s, 0, plan->num_steps, NULL, clbits, o));
        QH_TRY(s_state_results(s, o, res));
        if (o->shots > 0) {
            idx = malloc(o->shots * sizeof *idx);
            if (!idx)
                QH_FAIL(QH_ENOMEM, "out of memory for %llu shots", (unsigned long long)o->shots);
            QH_TRY(qh_state_sample(s, o->shots, qh_rng_next(&rng), idx));
            for (uint64_t k = 0; k < o->shots; k++) {
                if (k == 0 || idx[k] != idx[k - 1]) {
                    memset(clbits, 0, nbits);
                    s_apply_deferred(plan, idx[k], clbits, measure_all);
                    s_format_key(&fmt, clbits, keys[k]);
                } else {
                    memcpy(keys[k], keys[k - 1], fmt.width);
                }
            }
        }
    } else {
        /* Trajectories: the unitary prefix once, then each shot from a copy of it. */
        QH_TRY(s_execute(plan, s, 0, plan->first_nonunitary, NULL, clbits, o));
        uint64_t nshots = o->shots ? o->shots : 1;
        if (nshots > 1 && qh_state_clone(s, o->max_memory, &saved) != QH_OK) {
            qh_clear_error(); /* no room for a copy: recompute the prefix for each shot */
            saved = NULL;
        }
        for (uint64_t k = 0; k < nshots; k++) {
            if (k > 0) {
                if (saved) {
                    QH_TRY(qh_state_copy(s, saved));
                } else {
                    QH_TRY(qh_state_set_basis(s, 0));
                    QH_TRY(
                        qh__plan_execute_range(plan, s, 0, plan->first_nonunitary, NULL, clbits));
                }
            }
            memset(clbits, 0, res->num_clbits + 1);
            QH_TRY(qh__plan_execute_range(plan, s, plan->first_nonunitary, plan->num_steps, &rng,
                                          clbits));
            if (k == 0)
                QH_TRY(s_state_results(s, o, res));
            if (o->shots > 0) {
                if (plan->num_deferred > 0 || measure_all) {
                    uint64_t one;
                    QH_TRY(qh_state_sample(s, 1, qh_rng_next(&rng), &one));
                    s_apply_deferred(plan, one, clbits, measure_all);
                }
                s_format_key(&fmt, clbits, keys[k]);
            }
            if (o->progress && (k & 63) == 0)
                s_progress(o, (double)(k + 1) / (double)nshots);
        }
    }
    if (o->shots > 0) {
        QH_TRY(s_make_counts(keys, o->shots, res));
        res->shots = o->shots;
        res->measured_all = measure_all;
    }
    if (o->statevector) {
        res->statevector = s->amp; /* hand the buffer over instead of copying it */
        s->amp = NULL;
    }
    res->seconds = omp_get_wtime() - t0;
    s_progress(o, 1.0);
    *out = res;
    res = NULL;
fail:
    qh_sim_result_destroy(&res);
    qh_state_destroy(&s);
    qh_state_destroy(&saved);
    qh_plan_destroy(&plan);
    free(clbits);
    free(keybuf);
    free(keys);
    free(idx);
    free(first);
    free(size);
    return st;
}

void qh_sim_result_destroy(qh_sim_result **pr)
{
    if (!pr || !*pr)
        return;
    qh_sim_result *r = *pr;
    free(r->probabilities);
    free(r->statevector);
    free(r->expectations);
    for (size_t i = 0; i < r->num_expectations && r->expectation_names; i++)
        free(r->expectation_names[i]);
    free(r->expectation_names);
    for (size_t i = 0; i < r->num_counts; i++)
        free(r->counts[i].bits);
    free(r->counts);
    free(r);
    *pr = NULL;
}
