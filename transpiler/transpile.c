/* The pass manager: the passes of each optimisation level chosen once for a target
 * (qh_pass_manager_create), then run on any number of circuits from any number of threads
 * (qh_pass_manager_run), each run with its own buffers. Also the public accessors of
 * qh_transpiled and the report. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "transpiler/target_internal.h"
#include "transpiler/transpiled.h"

/* Rounds of the optimisation loop at most (each must improve to go on). */
#define S_MAX_ROUNDS 20

struct qh_pass_manager {
    const qh_target *target;
    int level;
    qh__pass_ctx ctx;
    qh__layout_opts layout;
};

qh_status qh_pass_manager_create(const qh_target *t, const qh_transpile_options *opts,
                                 qh_pass_manager **out)
{
    qh_transpile_options o = {0};
    if (opts)
        o = *opts;
    if (!t || !out)
        return QH_ERROR(QH_EINVAL, "qh_pass_manager_create: NULL argument");
    if (o.optimization_level < 0 || o.optimization_level > 3)
        return QH_ERROR(QH_EINVAL, "optimisation level %d: expected 0, 1, 2 or 3",
                        o.optimization_level);
    qh_pass_manager *pm = calloc(1, sizeof *pm);
    if (!pm)
        return QH_ERROR(QH_ENOMEM, "no memory for a pass manager");
    pm->target = t;
    pm->level = o.optimization_level;
    pm->ctx.target = t;
    pm->ctx.tol = 1e-10;
    qh__layout_opts *lo = &pm->layout;
    lo->seed = o.seed;
    lo->num_threads = o.num_threads > 0 ? o.num_threads : 0;
    static const struct {
        int method;
        uint64_t vf2;
        int layout_trials, routing_trials;
    } by_level[4] = {{0, 0, 1, 1}, {1, 50000, 5, 5}, {2, 5000000, 20, 20}, {2, 30000000, 32, 32}};
    lo->method = by_level[o.optimization_level].method;
    lo->vf2_calls = by_level[o.optimization_level].vf2;
    lo->layout_trials = by_level[o.optimization_level].layout_trials;
    lo->routing_trials = by_level[o.optimization_level].routing_trials;
    *out = pm;
    return QH_OK;
}

void qh_pass_manager_destroy(qh_pass_manager **pm)
{
    if (!pm || !*pm)
        return;
    free(*pm);
    *pm = NULL;
}

void qh_transpile_report_free(qh_transpile_report *r)
{
    if (!r)
        return;
    free(r->initial_layout);
    free(r->final_layout);
    memset(r, 0, sizeof *r);
}

void qh_transpiled_destroy(qh_transpiled **t)
{
    if (!t || !*t)
        return;
    qh__tc_free(&(*t)->c);
    for (int i = 0; i < (*t)->num_cregs; i++)
        free((*t)->cregs[i].name);
    free((*t)->cregs);
    free((*t)->initial_layout);
    free((*t)->final_layout);
    free(*t);
    *t = NULL;
}

/* Runs pass f from *cur into *tmp and makes the result current. */
#define S_RUN(call)                                                                                \
    do {                                                                                           \
        qh__tc_free(tmp);                                                                          \
        QH_TRY(call);                                                                              \
        qh__tc_swap(cur, tmp);                                                                     \
    } while (0)

/* The optimisation loop of the level, until the two-qubit count and the size stop falling. */
static qh_status s_optimise(const qh_pass_manager *pm, qh__tcirc *cur, qh__tcirc *tmp)
{
    qh_status st = QH_OK;
    const qh__pass_ctx *ctx = &pm->ctx;
    int n2 = 0, d = 0, d2 = 0, size = qh__tc_size(cur);
    qh__tc_stats(cur, &n2, &d, &d2);
    for (int round = 0; round < S_MAX_ROUNDS; round++) {
        if (pm->level >= 2) {
            S_RUN(qh__pass_consolidate(ctx, cur, tmp));
            S_RUN(qh__pass_basis_2q(ctx, cur, tmp));
        }
        S_RUN(qh__pass_1q(ctx, 1, cur, tmp));
        if (pm->level >= 2)
            S_RUN(qh__pass_commute(ctx, cur, tmp));
        S_RUN(qh__pass_inverse(ctx, cur, tmp));
        S_RUN(qh__pass_1q(ctx, 1, cur, tmp));
        int nn2, nd, nd2, nsize = qh__tc_size(cur);
        qh__tc_stats(cur, &nn2, &nd, &nd2);
        int better = nn2 < n2 || (nn2 == n2 && nsize < size);
        n2 = nn2, size = nsize;
        if (!better)
            break;
    }
fail:
    return st;
}

/* From the unrolled circuit in (kept) to the optimised physical circuit *res: optional
 * block consolidation, layout and routing, translation, the level's optimisation loop. */
static qh_status s_after_layout(const qh_pass_manager *pm, const qh__tcirc *in, int consolidate,
                                qh__tcirc *res, int *initial_layout, int *final_layout)
{
    qh_status st = QH_OK;
    const qh__pass_ctx *ctx = &pm->ctx;
    qh__tcirc a, b, *cur = &a, *tmp = &b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    const qh__tcirc *src = in;
    if (consolidate) {
        QH_TRY(qh__pass_consolidate(ctx, in, cur));
        src = cur;
    }
    QH_TRY(qh__pass_layout(ctx, &pm->layout, src, tmp, initial_layout, final_layout));
    qh__tc_swap(cur, tmp);
    S_RUN(qh__pass_basis_2q(ctx, cur, tmp));
    S_RUN(qh__pass_1q(ctx, pm->level >= 1, cur, tmp));
    if (pm->level >= 1)
        QH_TRY(s_optimise(pm, cur, tmp));
    *res = *cur;
    memset(cur, 0, sizeof *cur);
fail:
    qh__tc_free(&a);
    qh__tc_free(&b);
    return st;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static qh_status s_cregs(const qh_circuit *c, qh_transpiled *t)
{
    unsigned n = qh_circuit_num_cregs(c);
    unsigned nbits = qh_circuit_num_clbits(c);
    int synth = n == 0 && nbits > 0;
    t->cregs = calloc(synth ? 1 : n + 1, sizeof *t->cregs);
    if (!t->cregs)
        return QH_ERROR(QH_ENOMEM, "no memory");
    if (synth) {
        t->cregs[0].name = strdup("c");
        t->cregs[0].first = 0;
        t->cregs[0].size = (int)nbits;
        t->num_cregs = 1;
        return t->cregs[0].name ? QH_OK : QH_ERROR(QH_ENOMEM, "no memory");
    }
    for (unsigned i = 0; i < n; i++) {
        qh_register r = qh_circuit_creg(c, i);
        t->cregs[i].name = strdup(r.name);
        t->cregs[i].first = (int)r.first;
        t->cregs[i].size = (int)r.size;
        t->num_cregs = (int)i + 1;
        if (!t->cregs[i].name)
            return QH_ERROR(QH_ENOMEM, "no memory");
    }
    return QH_OK;
}

qh_status qh_pass_manager_run(const qh_pass_manager *pm, const qh_circuit *c, qh_transpiled **out,
                              qh_transpile_report *report)
{
    qh_status st = QH_OK;
    double t0 = s_now();
    qh__tcirc a, b, alt, *cur = &a, *tmp = &b;
    qh_transpiled *t = NULL;
    int *alt_init = NULL, *alt_final = NULL;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&alt, 0, sizeof alt);
    if (out)
        *out = NULL;
    if (report)
        memset(report, 0, sizeof *report);
    if (!pm || !c)
        return QH_ERROR(QH_EINVAL, "qh_pass_manager_run: NULL argument");
    const qh__pass_ctx *ctx = &pm->ctx;
    int nv = (int)qh_circuit_num_qubits(c), np = pm->target->coupling.num_qubits;
    if (nv > np)
        return QH_ERROR(QH_EINVAL, "the circuit has %d qubits, more than the %d of target '%s'", nv,
                        np, pm->target->name);
    t = calloc(1, sizeof *t);
    if (!t)
        QH_FAIL(QH_ENOMEM, "no memory");
    t->num_virtual = nv;
    t->initial_layout = malloc(sizeof *t->initial_layout * (size_t)(nv + 1));
    t->final_layout = malloc(sizeof *t->final_layout * (size_t)(nv + 1));
    alt_init = malloc(sizeof *alt_init * (size_t)(nv + 1));
    alt_final = malloc(sizeof *alt_final * (size_t)(nv + 1));
    if (!t->initial_layout || !t->final_layout || !alt_init || !alt_final)
        QH_FAIL(QH_ENOMEM, "no memory");
    QH_TRY(s_cregs(c, t));

    QH_TRY(qh__tc_from_circuit(c, cur));
    S_RUN(qh__pass_unroll(ctx, cur, tmp));
    if (pm->level >= 3) {
        /* level 3 also tries the circuit with its blocks consolidated before layout, which
         * helps circuits of small blocks and hurts long chains of controlled phases: the
         * one with fewer two-qubit gates (then the shallower) is kept */
        QH_TRY(s_after_layout(pm, cur, 1, &alt, alt_init, alt_final));
    }
    {
        qh__tcirc unrolled = *cur;
        memset(cur, 0, sizeof *cur);
        st = s_after_layout(pm, &unrolled, 0, cur, t->initial_layout, t->final_layout);
        qh__tc_free(&unrolled);
        QH_TRY(st);
    }
    if (pm->level >= 3) {
        int n2a, da, d2a, n2b, db, d2b;
        qh__tc_stats(&alt, &n2a, &da, &d2a);
        qh__tc_stats(cur, &n2b, &db, &d2b);
        if (n2a < n2b || (n2a == n2b && d2a < d2b)) {
            qh__tc_swap(cur, &alt);
            memcpy(t->initial_layout, alt_init, sizeof *alt_init * (size_t)nv);
            memcpy(t->final_layout, alt_final, sizeof *alt_final * (size_t)nv);
        }
    }

    /* keep only live operations */
    qh__tc_init(&t->c, cur->num_qubits, cur->num_clbits);
    for (int i = 0; i < cur->n; i++)
        if (!cur->ops[i].dead)
            QH_TRY(qh__tc_copy(&t->c, cur, &cur->ops[i], NULL));

    if (report) {
        int n2, d, d2;
        qh__tc_stats(&t->c, &n2, &d, &d2);
        report->num_qubits = (unsigned)nv;
        report->num_physical = (unsigned)np;
        report->initial_layout = malloc(sizeof(unsigned) * (size_t)(nv + 1));
        report->final_layout = malloc(sizeof(unsigned) * (size_t)(nv + 1));
        if (!report->initial_layout || !report->final_layout)
            QH_FAIL(QH_ENOMEM, "no memory");
        for (int v = 0; v < nv; v++) {
            report->initial_layout[v] = (unsigned)t->initial_layout[v];
            report->final_layout[v] = (unsigned)t->final_layout[v];
        }
        report->two_qubit_gates = (size_t)n2;
        report->depth = (size_t)d;
        report->depth_2q = (size_t)d2;
        int size = 0;
        for (int i = 0; i < t->c.n; i++)
            size += t->c.ops[i].kind != QH__T_BARRIER;
        report->size = (size_t)size;
        report->seconds = s_now() - t0;
    }
    qh__tc_free(&a);
    qh__tc_free(&b);
    qh__tc_free(&alt);
    free(alt_init);
    free(alt_final);
    if (out)
        *out = t;
    else
        qh_transpiled_destroy(&t);
    return QH_OK;
fail:
    qh__tc_free(&a);
    qh__tc_free(&b);
    qh__tc_free(&alt);
    free(alt_init);
    free(alt_final);
    qh_transpiled_destroy(&t);
    if (report)
        qh_transpile_report_free(report);
    return st;
}

qh_status qh_transpile(const qh_circuit *c, const qh_target *t, const qh_transpile_options *opts,
                       qh_transpiled **out, qh_transpile_report *report)
{
    qh_pass_manager *pm = NULL;
    QH_CALL(qh_pass_manager_create(t, opts, &pm));
    qh_status st = qh_pass_manager_run(pm, c, out, report);
    qh_pass_manager_destroy(&pm);
    return st;
}

size_t qh_transpiled_num_ops(const qh_transpiled *t)
{
    return (size_t)t->c.n;
}

qh_transpiled_op qh_transpiled_get_op(const qh_transpiled *t, size_t i)
{
    const qh__top *o = &t->c.ops[i];
    qh_transpiled_op r = {0};
    r.num_qubits = o->nq;
    r.qubits = qh__tc_q(&t->c, o);
    r.clbit = o->kind == QH__T_MEASURE ? o->clbit : -1;
    r.has_condition = o->has_cond;
    r.cond_first = (unsigned)o->cond_first;
    r.cond_width = (unsigned)o->cond_width;
    r.cond_value = o->cond_value;
    switch (o->kind) {
    case QH__T_MEASURE:
        r.name = "measure";
        break;
    case QH__T_RESET:
        r.name = "reset";
        break;
    case QH__T_BARRIER:
        r.name = "barrier";
        break;
    case QH__T_UNITARY:
        r.name = "unitary";
        break;
    default:
        r.name = o->gate == QH__GATE_ECR ? "ecr" : qh_gate_get_info((qh_gate)o->gate)->name;
        r.param = o->p[0];
    }
    return r;
}

void qh_transpiled_active_qubits(const qh_transpiled *t, unsigned *phys, unsigned *num)
{
    int np = t->c.num_qubits;
    char *used = calloc((size_t)np + 1, 1);
    unsigned n = 0;
    if (used) {
        for (int v = 0; v < t->num_virtual; v++)
            used[t->initial_layout[v]] = 1;
        for (int i = 0; i < t->c.n; i++) {
            const qh__top *o = &t->c.ops[i];
            if (o->kind == QH__T_BARRIER)
                continue;
            for (int k = 0; k < o->nq; k++)
                used[qh__tc_q(&t->c, o)[k]] = 1;
        }
        for (int p = 0; p < np; p++)
            if (used[p])
                phys[n++] = (unsigned)p;
    }
    free(used);
    *num = n;
}

qh_status qh_transpiled_to_circuit(const qh_transpiled *t, qh_circuit **out)
{
    qh_status st = QH_OK;
    int np = t->c.num_qubits;
    unsigned *phys = malloc(sizeof *phys * (size_t)(np + 1)), n = 0;
    int *local = malloc(sizeof *local * (size_t)(np + 1));
    qh_circuit *c = NULL;
    *out = NULL;
    if (!phys || !local)
        QH_FAIL(QH_ENOMEM, "no memory");
    qh_transpiled_active_qubits(t, phys, &n);
    if (n > QH_MAX_QUBITS)
        QH_FAIL(QH_EINVAL, "%u active qubits: more than a circuit holds (%d)", n, QH_MAX_QUBITS);
    for (int p = 0; p < np; p++)
        local[p] = -1;
    for (unsigned i = 0; i < n; i++)
        local[phys[i]] = (int)i;
    QH_TRY(qh_circuit_create(0, 0, &c));
    if (n)
        QH_TRY(qh_circuit_add_qreg(c, "q", n, NULL));
    for (int i = 0; i < t->num_cregs; i++)
        QH_TRY(qh_circuit_add_creg(c, t->cregs[i].name, (unsigned)t->cregs[i].size, NULL));
    for (int i = 0; i < t->c.n; i++) {
        const qh__top *o = &t->c.ops[i];
        const int *pq = qh__tc_q(&t->c, o);
        unsigned q[QH_MAX_GATE_QUBITS];
        unsigned nq = 0;
        for (int k = 0; k < o->nq; k++)
            if (local[pq[k]] >= 0 && nq < QH_MAX_GATE_QUBITS)
                q[nq++] = (unsigned)local[pq[k]];
        if (o->has_cond)
            QH_TRY(qh_circuit_begin_condition(c, (unsigned)o->cond_first, (unsigned)o->cond_width,
                                              o->cond_value));
        switch (o->kind) {
        case QH__T_MEASURE:
            st = qh_circuit_measure(c, q[0], (unsigned)o->clbit);
            break;
        case QH__T_RESET:
            st = qh_circuit_reset(c, q[0]);
            break;
        case QH__T_BARRIER:
            st = nq ? qh_circuit_barrier(c, q, nq) : QH_OK;
            break;
        case QH__T_UNITARY:
            st = qh_circuit_matrix(c, q, o->nc, o->nq - o->nc, qh__tc_m(&t->c, o));
            break;
        default:
            if (o->gate == QH__GATE_ECR) {
                double complex m[16];
                qh__ecr_matrix(m);
                st = qh_circuit_matrix(c, q, 0, 2, m);
            } else {
                const qh_gate_info *gi = qh_gate_get_info((qh_gate)o->gate);
                st = qh_circuit_gate(c, (qh_gate)o->gate, q, nq, o->p, gi->num_params);
            }
        }
        if (o->has_cond)
            qh_circuit_end_condition(c);
        QH_TRY(st);
    }
    *out = c;
    c = NULL;
fail:
    qh_circuit_destroy(&c);
    free(phys);
    free(local);
    return st;
}
