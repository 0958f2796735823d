/* Compiling a circuit into a plan of kernel calls, and running it.
 *
 * Each gate's target matrix is inspected once: an exactly diagonal matrix becomes a
 * diagonal step over controls and targets together (a cz or a controlled phase is just a
 * diagonal on two qubits), an exact X becomes a multi-controlled X, an exact SWAP a
 * (controlled) swap, anything else a dense step with a control mask. Measurements whose
 * qubit is never touched again, in a circuit without resets or classical conditions after
 * them, are deferred: the caller samples them from the final state in one go. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/plan/cost.h"
#include "mpi_sim/plan/diagrun.h"
#include "mpi_sim/plan/fusion.h"
#include "mpi_sim/plan/plan_internal.h"
#include "mpi_sim/plan/qft_detect.h"
#include "mpi_sim/state/fft.h"
#include "mpi_sim/state/sim_clock.h"
#include "mpi_sim/state/state_internal.h"

/* Largest fused gate: beyond 3 qubits a dense double-precision matrix costs more compute
 * than the memory pass it saves on 2 cores (measured: 3 qubits 1.5 passes, 4 qubits 2.8,
 * 5 qubits 9 with AVX-512). Without SIMD, 2. */
#define S_FUSE_SIMD   3
#define S_FUSE_SCALAR 2

/* Cache block: 2^18 amplitudes = 4 MiB per thread. Gate programs sweep a block many times
 * per pass, and since they stopped opening a thread team per call their cost no longer
 * depends on whether the block sits in L2 or L3, so fewer, larger passes win. Measured on
 * 2026-11-23 (2 threads; 2^17 / 2^18 / 2^19): layered n = 26 2.16-2.44 / 2.03-2.20 /
 * 1.91-2.22 s; layered n = 28 10.8 / 9.1 / 9.8 s; QFT gate by gate n = 28 11.1 / 10.0 /
 * 10.1 s (15, 8 and 5 passes); QASMBench swap_test_n25 0.22-0.23 / 0.21 / 0.28 s, whose
 * controlled swaps run as kernels of their own that do want the block in L2. 2^20 and
 * beyond lose at n = 24. */
#define S_BLOCK_BITS 18

/* Smallest textbook QFT worth replacing by an FFT: below it, fused gates cost as little. */
#define S_QFT_DETECT_MIN 4

/* Whether the plan will be cache-blocked. */
static int s_blocks(const qh_plan *p, const qh_plan_options *o)
{
    unsigned b = o->block_qubits ? o->block_qubits : S_BLOCK_BITS;
    return !o->no_blocking && p->num_qubits > b && b >= 4;
}

/* Groups the steps into cache-blocked passes (mpi_sim/plan/blocking.c) unless asked not to. */
static qh_status s_block(qh_plan *p, const qh_plan_options *o)
{
    if (!s_blocks(p, o))
        return QH_OK;
    return qh__plan_blocking(p, o->block_qubits ? o->block_qubits : S_BLOCK_BITS);
}

static int s_is_diagonal(const double complex *m, unsigned dim)
{
    for (unsigned r = 0; r < dim; r++)
        for (unsigned c = 0; c < dim; c++)
            if (r != c && m[r * dim + c] != 0)
                return 0;
    return 1;
}

static int s_is_x(const double complex *m)
{
    return m[0] == 0 && m[1] == 1 && m[2] == 1 && m[3] == 0;
}

static int s_is_swap(const double complex *m)
{
    for (unsigned r = 0; r < 4; r++)
        for (unsigned c = 0; c < 4; c++) {
            unsigned want = (r == 0 || r == 3) ? (c == r) : (c == 3 - r);
            if (m[r * 4 + c] != (double)want)
                return 0;
        }
    return 1;
}

/* Builds the step for a unitary on `targets` with the controls in `controls`. */
/* How a step's kind is chosen: from the matrix's values, or - for a gate whose parameters
 * are not bound yet - from what the gate is for every value (diagonal or dense). */
typedef enum { S_BY_VALUE, S_ALWAYS_DIAG, S_ALWAYS_DENSE } s_kind_rule;

static qh_status s_unitary_step_rule(unsigned nc, const unsigned *controls, unsigned k,
                                     const unsigned *targets, const double complex *m,
                                     s_kind_rule rule, qh__step *st)
{
    unsigned dim = 1u << k;
    uint64_t ctrl = 0;
    for (unsigned i = 0; i < nc; i++)
        ctrl |= (uint64_t)1 << controls[i];
    memset(st, 0, sizeof *st);
    st->ctrl = ctrl;
    int diag = rule == S_ALWAYS_DIAG || (rule == S_BY_VALUE && s_is_diagonal(m, dim));
    if (diag && nc + k <= QH_KERNEL_MAX_TARGETS) {
        /* controls join the targets: entry 1 wherever a control is 0 */
        unsigned kk = nc + k, ddim = 1u << kk;
        st->kind = QH__STEP_DIAG;
        st->k = kk;
        st->ctrl = 0;
        memcpy(st->targets, targets, k * sizeof *targets);
        memcpy(st->targets + k, controls, nc * sizeof *controls);
        st->matrix = malloc(ddim * sizeof *st->matrix);
        if (!st->matrix)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
        unsigned cmask = ((1u << nc) - 1) << k;
        for (unsigned i = 0; i < ddim; i++) {
            unsigned t = i & (dim - 1);
            st->matrix[i] = (i & cmask) == cmask ? m[t * dim + t] : 1;
        }
        return QH_OK;
    }
    if (rule == S_BY_VALUE && k == 1 && s_is_x(m)) {
        st->kind = QH__STEP_MCX;
        st->k = 1;
        st->targets[0] = targets[0];
        return QH_OK;
    }
    if (rule == S_BY_VALUE && k == 2 && s_is_swap(m)) {
        st->kind = QH__STEP_SWAP;
        st->k = 2;
        st->targets[0] = targets[0];
        st->targets[1] = targets[1];
        return QH_OK;
    }
    if (k > QH_KERNEL_MAX_TARGETS)
        return QH_ERROR(QH_EINVAL, "a gate on %u targets is more than the engine's %d", k,
                        QH_KERNEL_MAX_TARGETS);
    st->kind = QH__STEP_DENSE;
    st->k = k;
    memcpy(st->targets, targets, k * sizeof *targets);
    st->matrix = malloc((size_t)dim * dim * sizeof *st->matrix);
    if (!st->matrix)
        return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    memcpy(st->matrix, m, (size_t)dim * dim * sizeof *m);
    return QH_OK;
}

static qh_status s_unitary_step(unsigned nc, const unsigned *controls, unsigned k,
                                const unsigned *targets, const double complex *m, qh__step *st)
{
    return s_unitary_step_rule(nc, controls, k, targets, m, S_BY_VALUE, st);
}

/* Gates that are diagonal whatever their parameters. */
static int s_always_diagonal(qh_gate g)
{
    switch (g) {
    case QH_GATE_RZ:
    case QH_GATE_P:
    case QH_GATE_U1:
    case QH_GATE_CP:
    case QH_GATE_CU1:
    case QH_GATE_CRZ:
    case QH_GATE_RZZ:
    case QH_GATE_MCP:
        return 1;
    default:
        return 0;
    }
}

static int s_op_parametric(const qh_op *op)
{
    for (int j = 0; j < 4; j++)
        if (op->param_expr[j])
            return 1;
    return 0;
}

/* The step of gate instruction op with its parameters evaluated at values (NULL: the
 * placeholder 0.5 for every parameter, used to compile before binding). */
static qh_status s_gate_step(const qh_op *op, const double *values, unsigned nvalues, qh__step *st)
{
    double params[4];
    int parametric = s_op_parametric(op);
    for (unsigned j = 0; j < op->num_params; j++) {
        params[j] = op->params[j];
        if (!op->param_expr[j])
            continue;
        if (values) {
            QH_CALL(qh_expr_eval(op->param_expr[j], op->param_expr_len[j], values, nvalues,
                                 &params[j]));
        } else {
            double ph[64];
            for (unsigned i = 0; i < 64; i++)
                ph[i] = 0.5;
            if (qh_expr_eval(op->param_expr[j], op->param_expr_len[j], ph, 64, &params[j]))
                params[j] = 0.5; /* any value will do until the plan is bound */
        }
    }
    double complex m[16];
    QH_CALL(qh_gate_matrix(op->gate, params, op->num_params, m));
    unsigned nc = op->num_controls;
    s_kind_rule rule =
        !parametric ? S_BY_VALUE : (s_always_diagonal(op->gate) ? S_ALWAYS_DIAG : S_ALWAYS_DENSE);
    return s_unitary_step_rule(nc, op->qubits, op->num_qubits - nc, op->qubits + nc, m, rule, st);
}

/* All qubits of an instruction (a QFT may have more than fit in op->qubits). */
static const unsigned *s_op_qubits(const qh_op *op)
{
    return op->wide_qubits ? op->wide_qubits : op->qubits;
}

/* A QFT as its textbook gates: for j from the top, h on q[j] then controlled phases
 * pi/2^(j-k) from every lower q[k]; then the swaps that reverse the register. The inverse
 * runs the same sequence backwards with the phases negated. */
static qh_status s_push_qft(qh_plan *p, size_t *cap, const qh_op *op)
{
    const unsigned n = op->num_qubits, *q = s_op_qubits(op);
    size_t count = (size_t)n * (n + 1) / 2 + n / 2, done = 0;
    qh__step *seq = calloc(count, sizeof *seq);
    qh_status st = QH_OK;
    if (!seq)
        return QH_ERROR(QH_ENOMEM, "out of memory compiling a QFT");
    double complex h[4], sw[16];
    qh_gate_matrix(QH_GATE_H, NULL, 0, h);
    qh_gate_matrix(QH_GATE_SWAP, NULL, 0, sw);
    const double sign = op->inverse ? -1 : 1;
    for (int j = (int)n - 1; j >= 0 && !st; j--) {
        st = s_unitary_step(0, NULL, 1, &q[j], h, &seq[done++]);
        for (int k = j - 1; k >= 0 && !st; k--) {
            double complex cp[4] = {1, 0, 0, cexp(I * sign * M_PI / (double)(1u << (j - k)))};
            st = s_unitary_step(1, &q[k], 1, &q[j], cp, &seq[done++]);
        }
    }
    for (unsigned i = 0; i < n / 2 && !st; i++) {
        unsigned t[2] = {q[i], q[n - 1 - i]};
        st = s_unitary_step(0, NULL, 2, t, sw, &seq[done++]);
    }
    for (size_t i = 0; i < done && !st; i++) {
        qh__step *one = &seq[op->inverse ? done - 1 - i : i];
        one->gates = 1;
        one->fence = p->circuit != NULL; /* not rebuildable from a recipe: keep apart */
        if (op->has_condition) {
            one->has_condition = 1;
            one->cond_first = op->cond_first;
            one->cond_width = op->cond_width;
            one->cond_value = op->cond_value;
        }
        st = qh__steps_push(&p->steps, &p->num_steps, cap, one);
        if (st == QH_OK)
            one->matrix = NULL; /* now owned by the plan */
    }
    for (size_t i = 0; i < done; i++)
        free(seq[i].matrix);
    free(seq);
    return st;
}

/* A QFT on qubits[0..k) as one step, run as an FFT (fft.c; flags QH__QFT_*), standing
 * for `gates` instructions; cond (may be NULL) carries a classical condition. */
static qh_status s_push_qft_step(qh_plan *p, size_t *cap, unsigned k, const unsigned *qubits,
                                 unsigned flags, unsigned gates, const qh_op *cond)
{
    qh__step one = {.kind = QH__STEP_QFT, .k = k, .qft_flags = flags, .gates = gates, .fence = 1};
    if (k > QH_KERNEL_MAX_TARGETS) {
        one.wide = malloc(k * sizeof *one.wide);
        if (!one.wide)
            return QH_ERROR(QH_ENOMEM, "out of memory compiling a QFT");
        memcpy(one.wide, qubits, k * sizeof *qubits);
    } else {
        memcpy(one.targets, qubits, k * sizeof *qubits);
    }
    if (cond && cond->has_condition) {
        one.has_condition = 1;
        one.cond_first = cond->cond_first;
        one.cond_width = cond->cond_width;
        one.cond_value = cond->cond_value;
    }
    qh_status st = p->fft ? QH_OK : qh__fft_cache_create(&p->fft);
    if (st == QH_OK)
        st = qh__steps_push(&p->steps, &p->num_steps, cap, &one);
    if (st)
        free(one.wide);
    return st;
}

/* Marks terminal measurements: no later instruction acts on the qubit, and no reset or
 * conditional instruction comes after the measurement (those need real outcomes). */
static qh_status s_find_deferred(const qh_circuit *c, int keep, unsigned char **out)
{
    size_t nops = qh_circuit_num_ops(c);
    unsigned n = qh_circuit_num_qubits(c);
    unsigned char *deferred = calloc(nops ? nops : 1, 1);
    unsigned char *touched = calloc(n ? n : 1, 1);
    unsigned nb = qh_circuit_num_clbits(c);
    unsigned char *written = calloc(nb ? nb : 1, 1); /* clbit set by a later measurement */
    if (!deferred || !touched || !written) {
        free(deferred);
        free(touched);
        free(written);
        return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    }
    int classical_after = 0;
    for (size_t i = nops; i-- > 0;) {
        const qh_op *op = qh_circuit_op(c, i);
        if (op->kind == QH_OP_MEASURE && !keep) {
            unsigned q = op->qubits[0];
            /* A measurement whose bit is overwritten later and whose qubit is left alone
             * changes nothing anyone can see: drop it (2). */
            if (!touched[q] && !classical_after && !op->has_condition)
                deferred[i] = written[op->clbit] ? 2 : 1;
            written[op->clbit] = 1;
        }
        if (op->kind == QH_OP_RESET || op->has_condition)
            classical_after = 1;
        if (op->kind != QH_OP_BARRIER)
            for (unsigned j = 0; j < op->num_qubits; j++)
                touched[s_op_qubits(op)[j]] = 1;
    }
    free(touched);
    free(written);
    *out = deferred;
    return QH_OK;
}

/* Fuses the steps of p, which has a product start. The start's marks keep its steps out of
 * blocks with the others, so the same circuit fused without it may take fewer steps than
 * the start saves: the start is kept only if writing its state and running the steps left
 * costs less (in passes, one per fused step) than the circuit fused without it. */
static qh_status s_fuse_with_start(qh_plan *p, unsigned kmax)
{
    qh__step *plain = malloc((p->num_steps ? p->num_steps : 1) * sizeof *plain);
    if (!plain)
        return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    size_t nplain = 0;
    qh_status st = QH_OK;
    while (nplain < p->num_steps &&
           (st = qh__step_copy(&p->steps[nplain], &plain[nplain])) == QH_OK)
        plain[nplain++].in_start = 0;
    if (st != QH_OK) {
        qh__steps_free(plain, nplain);
        return st;
    }
    st = qh__fuse_steps(&plain, &nplain, kmax);
    if (st == QH_OK)
        st = qh__fuse_steps(&p->steps, &p->num_steps, kmax);
    if (st != QH_OK) {
        qh__steps_free(plain, nplain);
        return st;
    }
    size_t rest = 0;
    for (size_t i = 0; i < p->num_steps; i++)
        rest += !p->steps[i].in_start;
    if (p->start_cost + (double)rest < (double)nplain) {
        qh__steps_free(plain, nplain);
    } else {
        qh__start_free(p);
        qh__steps_free(p->steps, p->num_steps);
        p->steps = plain;
        p->num_steps = nplain;
    }
    return QH_OK;
}

/* What step st costs by model m, in passes over the state: inside a block (in cache), or on
 * the whole state (a trip through memory at least). */
static double s_step_cost(const qh__cost_model *m, const qh__step *st, int inner)
{
    double c;
    switch (st->kind) {
    case QH__STEP_DENSE:
        c = qh__cost_dense(m, st->k);
        break;
    case QH__STEP_DIAG:
        c = m->step_diag;
        break;
    case QH__STEP_MCX:
    case QH__STEP_SWAP:
        c = m->step_perm;
        break;
    case QH__STEP_QFT:
        return m->fft_per_qubit * st->k;
    default:
        c = 1;
        break;
    }
    return inner || c > 1 ? c : 1;
}

/* What running p on a basis state costs, in passes over the state, with the product
 * start (started) or without, by the cost model of the kernels in use (cost.c): a
 * cache-blocked pass is one trip through memory plus what its gate programs, diagonal runs
 * and kernels cost on blocks in cache, any other step its own trip; the start what writing
 * its state costs (mpi_sim/plan/start.c). */
static double s_cost(const qh_plan *p, int started)
{
    const qh__kernel_table *kt = qh__plan_kernels(p);
    const qh__cost_model *m = qh__cost_model_for(kt->isa, kt->single);
    double cost = started ? p->start_cost : 0;
    for (size_t i = 0; i < p->num_steps; i++) {
        const qh__step *st = &p->steps[i];
        if (!st->inner) {
            if (!(started && st->in_start))
                cost += s_step_cost(m, st, 0);
            continue;
        }
        const qh__pass *ps = &p->passes[st->pass];
        i = ps->end - 1;
        if (started && ps->only_start)
            continue;
        const int rest = started && ps->has_start;
        const qh__unit *units = rest ? ps->rest : ps->units;
        const size_t nu = rest ? ps->num_rest : ps->num_units;
        cost += m->pass;
        for (size_t u = 0; u < nu; u++) {
            if (units[u].is_prog)
                cost += m->prog + m->prog_op * units[u].prog.nops;
            else if (units[u].diag)
                cost += m->diagrun;
            else
                cost += s_step_cost(m, &p->steps[units[u].step], 1);
        }
        for (size_t k = ps->first; !ps->units && k < ps->end; k++)
            if (!(started && p->steps[k].in_start))
                cost += s_step_cost(m, &p->steps[k], 1);
    }
    return cost;
}

/* Compiles c, running the textbook QFTs qm[0..nqm-1] (found in c) as FFTs. If cover is not
 * NULL (a QFT of c left as gates), *covered tells whether the product start took every one
 * of its gates. */
static qh_status s_create(const qh_circuit *c, const qh_plan_options *opts, const qh__qft_match *qm,
                          size_t nqm, const qh__qft_match *cover, int *covered, qh_plan **out)
{
    qh_status st = QH_OK;
    unsigned char *deferred = NULL;
    size_t cap = 0, mi = 0;
    size_t cover_first = SIZE_MAX, cover_end = SIZE_MAX; /* its steps, before fusion */
    *out = NULL;
    qh_plan *p = calloc(1, sizeof *p);
    if (!p)
        return QH_ERROR(QH_ENOMEM, "out of memory compiling the circuit");
    p->num_qubits = qh_circuit_num_qubits(c);
    p->num_clbits = qh_circuit_num_clbits(c);
    p->precision = opts->precision; /* (gate programs and diagonal runs depend on it) */
    size_t nops = qh_circuit_num_ops(c);
    p->stats.num_instructions = nops;
    QH_TRY(s_find_deferred(c, opts->keep_measurements, &deferred));
    p->deferred_qubits = malloc((nops ? nops : 1) * sizeof *p->deferred_qubits);
    p->deferred_clbits = malloc((nops ? nops : 1) * sizeof *p->deferred_clbits);
    if (!p->deferred_qubits || !p->deferred_clbits)
        QH_FAIL(QH_ENOMEM, "out of memory compiling the circuit");
    p->first_nonunitary = (size_t)-1;
    p->bound = qh_circuit_num_parameters(c) == 0;
    if (!p->bound)
        QH_TRY(qh_circuit_clone(c, &p->circuit));
    if (nops > UINT32_MAX)
        QH_FAIL(QH_EINVAL, "a circuit of %zu instructions is too long", nops);

    for (size_t i = 0; i < nops; i++) {
        if (cover && i == cover->first)
            cover_first = p->num_steps;
        if (cover && i == cover->end)
            cover_end = p->num_steps;
        if (mi < nqm && qm[mi].first == i) { /* a textbook QFT: one FFT */
            QH_TRY(s_push_qft_step(p, &cap, qm[mi].k, qm[mi].qubits, qm[mi].flags, qm[mi].gates,
                                   NULL));
            p->stats.num_qft_detected++;
            i = qm[mi++].end - 1;
            continue;
        }
        const qh_op *op = qh_circuit_op(c, i);
        qh__step step = {0};
        unsigned nc = op->num_controls, k = op->num_qubits - nc;
        switch (op->kind) {
        case QH_OP_BARRIER:
            continue;
        case QH_OP_MEASURE:
            if (deferred[i] == 2)
                continue;
            if (deferred[i]) {
                p->deferred_qubits[p->num_deferred] = op->qubits[0];
                p->deferred_clbits[p->num_deferred++] = op->clbit;
                continue;
            }
            step.kind = QH__STEP_MEASURE;
            step.targets[0] = op->qubits[0];
            step.clbit = op->clbit;
            break;
        case QH_OP_RESET:
            step.kind = QH__STEP_RESET;
            step.targets[0] = op->qubits[0];
            break;
        case QH_OP_QFT:
            if (opts->no_fft)
                QH_TRY(s_push_qft(p, &cap, op));
            else
                QH_TRY(s_push_qft_step(p, &cap, op->num_qubits, s_op_qubits(op),
                                       op->inverse ? QH__QFT_INVERSE : 0, 1, op));
            continue;
        case QH_OP_GATE:
            if (op->gate == QH_GATE_ID || op->gate == QH_GATE_U0)
                continue; /* identities cost a pass and do nothing */
            QH_TRY(s_gate_step(op, NULL, 0, &step));
            step.parametric = s_op_parametric(op);
            break;
        case QH_OP_MATRIX:
            QH_TRY(s_unitary_step(nc, op->qubits, k, op->qubits + nc, op->matrix, &step));
            break;
        }
        step.gates = 1;
        if (p->circuit && (op->kind == QH_OP_GATE || op->kind == QH_OP_MATRIX)) {
            /* in a parametric plan every gate remembers where it came from, so that a
             * fused step holding it can be rebuilt when parameters are bound */
            step.recipe = malloc(sizeof *step.recipe);
            if (!step.recipe) {
                free(step.matrix);
                QH_FAIL(QH_ENOMEM, "out of memory compiling the circuit");
            }
            step.recipe[0] = (uint32_t)i;
            step.recipe_len = 1;
        }
        if (op->has_condition) {
            step.has_condition = 1;
            step.cond_first = op->cond_first;
            step.cond_width = op->cond_width;
            step.cond_value = op->cond_value;
        }
        st = qh__steps_push(&p->steps, &p->num_steps, &cap, &step);
        if (st) {
            free(step.matrix);
            free(step.recipe);
            goto fail;
        }
    }
    if (cover && cover_end == SIZE_MAX)
        cover_end = p->num_steps;
    /* Diagonal windows are merged before the start looks at the steps (which then sees a ZZ
     * rotation as the diagonal it is), except where the QFT's cover is to be read from the
     * steps' numbers, which merging changes. */
    if (!opts->no_fusion && !cover)
        QH_TRY(qh__diag_merge(p->steps, &p->num_steps));
    if (!opts->no_product_start)
        QH_TRY(qh__start_find(p));
    if (cover) {
        *covered = cover_first < cover_end;
        for (size_t i = cover_first; *covered && i < cover_end; i++)
            *covered = p->steps[i].in_start;
    }
    if (!opts->no_fusion && cover)
        QH_TRY(qh__diag_merge(p->steps, &p->num_steps));
    const qh__kernel_table *kt = qh__kernels();
    unsigned kmax = opts->max_fused_qubits ? opts->max_fused_qubits
                                           : (kt->lane_bits > 0 ? S_FUSE_SIMD : S_FUSE_SCALAR);
    /* Inside cache-blocked passes, gate programs do the work of fusion at a fraction of the
     * arithmetic (a dense k-qubit matrix costs 2^k complex products per amplitude whatever
     * it holds; a program about one FMA per vector per gate), and they need the gates
     * unfused to see their structure. */
    const int programs =
        !opts->no_programs && !opts->no_fusion && s_blocks(p, opts) && kt->prog != NULL;
    if (!opts->no_fusion && kmax >= 2 && !programs) {
        if (p->num_start)
            QH_TRY(s_fuse_with_start(p, kmax));
        else
            QH_TRY(qh__fuse_steps(&p->steps, &p->num_steps, kmax));
        p->stats.max_fused_qubits = kmax;
    }
    QH_TRY(s_block(p, opts));
    qh__start_place(p);
    /* (programs are built for the precision's program kernel: wider lanes in single) */
    if (programs && p->num_passes) {
        QH_TRY(qh__plan_programs(p, qh__plan_kernels(p)));
        p->programs = 1;
    }
    if (p->num_start && s_cost(p, 1) >= s_cost(p, 0)) {
        qh__start_free(p); /* it would write the state and save no more than that */
        if (p->programs)
            QH_TRY(qh__plan_programs(p, qh__plan_kernels(p)));
    }

    qh_plan_stats *s = &p->stats;
    s->num_steps = p->num_steps;
    s->num_deferred = p->num_deferred;
    for (size_t i = 0; i < p->num_steps; i++) {
        const qh__step *q = &p->steps[i];
        s->num_dense += q->kind == QH__STEP_DENSE;
        s->num_diagonal += q->kind == QH__STEP_DIAG;
        s->num_permutation += q->kind == QH__STEP_MCX || q->kind == QH__STEP_SWAP;
        s->num_measure += q->kind == QH__STEP_MEASURE;
        s->num_reset += q->kind == QH__STEP_RESET;
        s->num_qft += q->kind == QH__STEP_QFT;
        s->num_conditional += q->has_condition != 0;
        if (q->gates > 1) {
            s->num_fused++;
            s->num_fused_gates += q->gates;
        }
        /* a cache-blocked pass is one trip through memory for all its steps */
        if (!q->inner || p->passes[q->pass].first == i)
            s->num_passes++;
        if (p->first_nonunitary == (size_t)-1 &&
            (q->kind == QH__STEP_MEASURE || q->kind == QH__STEP_RESET || q->has_condition))
            p->first_nonunitary = i;
    }
    if (p->first_nonunitary == (size_t)-1)
        p->first_nonunitary = p->num_steps;
    s->block_qubits = p->block_bits;
    for (size_t i = 0; i < p->num_passes; i++)
        for (size_t u = 0; u < p->passes[i].num_units; u++) {
            s->num_programs += p->passes[i].units[u].is_prog != 0;
            s->num_diag_runs += p->passes[i].units[u].diag != NULL;
            s->num_relabelled += p->passes[i].units[u].relabelled;
        }
    s->needs_trajectories = p->first_nonunitary < p->num_steps;
    free(deferred);
    *out = p;
    return QH_OK;
fail:
    free(deferred);
    qh_plan_destroy(&p);
    return st;
}

/* What running p costs on a basis state, in passes (with its product start, if it has one). */
static double s_basis_cost(const qh_plan *p)
{
    return s_cost(p, p->num_start > 0);
}

qh_status qh_plan_create(const qh_circuit *c, const qh_plan_options *opts, qh_plan **out)
{
    qh_plan_options defaults = {0};
    qh__qft_match *qm = NULL; /* textbook QFTs found in c */
    size_t nqm = 0;
    qh_plan *p = NULL, *gates = NULL;
    if (!opts)
        opts = &defaults;
    *out = NULL;
    qh_plan_options single;
    if (opts->precision == QH_PRECISION_SINGLE) {
        /* The FFT is double precision only: in single a QFT runs as its gates. */
        single = *opts;
        single.no_fft = 1;
        opts = &single;
    } else if (opts->precision != QH_PRECISION_DOUBLE) {
        return QH_ERROR(QH_EINVAL, "unknown precision %d", (int)opts->precision);
    }
    if (!opts->no_fft && !opts->no_qft_detect)
        QH_CALL(qh__qft_detect(c, S_QFT_DETECT_MIN, &qm, &nqm));
    qh_status st = s_create(c, opts, qm, nqm, NULL, NULL, &p);
    /* On a basis state the textbook QFT gate by gate is one product state: the start writes
     * the state once, where the FFT costs tens of passes. The first QFT (the only one a start
     * can reach) is left as gates if the start then takes all of them and the plan costs
     * less that way. A state that is not a basis state then runs the gates (correct, but
     * slower than the FFT): the plan is chosen for the runs that start from |0...0>. */
    int covered = 0;
    const qh__qft_match *use = qm; /* the QFTs the chosen plan runs as FFTs */
    size_t nuse = nqm;
    if (st == QH_OK && nqm > 0 && !opts->no_product_start)
        st = s_create(c, opts, qm + 1, nqm - 1, &qm[0], &covered, &gates);
    if (st == QH_OK && covered && s_basis_cost(gates) < s_basis_cost(p)) {
        qh_plan_destroy(&p);
        p = gates;
        gates = NULL;
        use = qm + 1;
        nuse = nqm - 1;
    }
    qh_plan_destroy(&gates);
    /* The start's steps run in passes of their own (blocking.c), which suits runs that
     * begin with it; the plan without a start may still cost less. */
    if (st == QH_OK && p->num_start) {
        qh_plan_options nostart = *opts;
        nostart.no_product_start = 1;
        st = s_create(c, &nostart, nuse ? use : NULL, nuse, NULL, NULL, &gates);
        if (st == QH_OK && s_basis_cost(gates) < s_basis_cost(p)) {
            qh_plan_destroy(&p);
            p = gates;
            gates = NULL;
        }
        qh_plan_destroy(&gates);
    }
    /* The cost model (cost.c) weighs gate programs against fused dense matrices (qsim's
     * way), plan by plan. */
    if (st == QH_OK && p->programs) {
        qh_plan_options fused = *opts;
        fused.no_programs = 1;
        st = s_create(c, &fused, nuse ? use : NULL, nuse, NULL, NULL, &gates);
        if (st == QH_OK && s_basis_cost(gates) < s_basis_cost(p)) {
            qh_plan_destroy(&p);
            p = gates;
            gates = NULL;
        }
        qh_plan_destroy(&gates);
    }
    qh__qft_matches_free(qm, nqm);
    if (st != QH_OK) {
        qh_plan_destroy(&p);
        return st;
    }
    p->precision = opts->precision;
    p->stats.precision = opts->precision;
    *out = p;
    return QH_OK;
}

void qh_plan_destroy(qh_plan **pp)
{
    if (!pp || !*pp)
        return;
    qh_plan *p = *pp;
    qh__start_free(p);
    qh__steps_free(p->steps, p->num_steps);
    qh__plan_programs_free(p);
    free(p->passes);
    qh__fft_cache_destroy(&p->fft);
    qh_circuit_destroy(&p->circuit);
    free(p->deferred_qubits);
    free(p->deferred_clbits);
    free(p);
    *pp = NULL;
}

qh_precision qh_plan_precision(const qh_plan *p)
{
    return p->precision;
}

const qh__kernel_table *qh__plan_kernels(const qh_plan *p)
{
    return p->precision == QH_PRECISION_SINGLE ? qh__kernels_single() : qh__kernels();
}

unsigned qh_plan_num_qubits(const qh_plan *p)
{
    return p->num_qubits;
}

unsigned qh_plan_num_clbits(const qh_plan *p)
{
    return p->num_clbits;
}

qh_plan_stats qh_plan_get_stats(const qh_plan *p)
{
    return p->stats;
}

size_t qh_plan_deferred_measurements(const qh_plan *p, const unsigned **qubits,
                                     const unsigned **clbits)
{
    if (qubits)
        *qubits = p->deferred_qubits;
    if (clbits)
        *clbits = p->deferred_clbits;
    return p->num_deferred;
}

qh_status qh__plan_execute_range(const qh_plan *p, qh_state *s, size_t from, size_t to, qh_rng *rng,
                                 unsigned char *clbits)
{
    return qh__plan_execute_tap(p, s, from, to, rng, clbits, NULL);
}

qh_status qh__plan_execute_tap(const qh_plan *p, qh_state *s, size_t from, size_t to, qh_rng *rng,
                               unsigned char *clbits, qh__ztap *tap)
{
    const qh__kernel_table *kt = qh__plan_kernels(p);
    uint64_t basis;
    int started = 0, known = 0, touched = 0;
    if (qh_state_precision(s) != p->precision)
        return QH_ERROR(QH_EINVAL, "the plan is compiled for %s precision but the state is %s",
                        qh_precision_name(p->precision), qh_precision_name(qh_state_precision(s)));
    if (from == 0 && p->num_start && to >= p->start_end && qh__state_known_basis(s, &basis)) {
        QH_CALL(qh__start_run(p, s, basis, &started));
        known = qh__state_known_basis(s, &basis); /* kept unless a step below runs */
    }
    void *a = qh__state_data(s);
    unsigned n = qh_state_num_qubits(s);
    for (size_t i = from; i < to && i < p->num_steps; i++) {
        const qh__step *st = &p->steps[i];
        if (st->inner && p->passes[st->pass].first == i && p->passes[st->pass].end <= to) {
            const qh__pass *ps = &p->passes[st->pass];
            if (!(started && ps->only_start)) {
                /* (the tap only where nothing runs after the pass) */
                qh__pass_run(p, ps, a, n, started, ps->end == p->num_steps ? tap : NULL);
                touched = 1;
            }
            i = ps->end - 1;
            continue;
        }
        if (started && st->in_start)
            continue;
        if (st->has_condition) {
            if (!clbits)
                return QH_ERROR(QH_EINVAL, "a conditional step needs classical bits");
            if (!qh__step_condition_holds(st, clbits))
                continue;
        }
        touched = 1;
        switch (st->kind) {
        case QH__STEP_DENSE:
        case QH__STEP_DIAG:
        case QH__STEP_MCX:
        case QH__STEP_SWAP:
            qh__step_kernel(kt, st, a, n, st->targets, st->ctrl);
            break;
        case QH__STEP_QFT:
            QH_CALL(qh__fft_qft(p->fft, st->k, qh__step_qubits(st), st->qft_flags, a, n));
            break;
        case QH__STEP_MEASURE:
        case QH__STEP_RESET: {
            if (!rng)
                return QH_ERROR(QH_EINVAL, "a measurement step needs a random generator");
            double r = qh_rng_uniform(rng);
            if (st->kind == QH__STEP_RESET) {
                QH_CALL(qh_state_reset(s, st->targets[0], r));
            } else {
                int outcome;
                QH_CALL(qh_state_measure(s, st->targets[0], r, &outcome));
                if (clbits)
                    clbits[st->clbit] = (unsigned char)outcome;
            }
            break;
        }
        }
    }
    if (known && !touched)
        qh__state_set_known_basis(s, basis);
    return QH_OK;
}

uint64_t qh__plan_hash(const qh_plan *p)
{
    /* FNV-1a over what the steps do, matrices included (so bound values count) */
    uint64_t h = 0xcbf29ce484222325ull;
#define S_MIX(ptr, len)                                                                            \
    do {                                                                                           \
        const unsigned char *b_ = (const unsigned char *)(ptr);                                    \
        for (size_t j_ = 0; j_ < (size_t)(len); j_++)                                              \
            h = (h ^ b_[j_]) * 0x100000001b3ull;                                                   \
    } while (0)
    S_MIX(&p->num_qubits, sizeof p->num_qubits);
    if (p->precision != QH_PRECISION_DOUBLE) /* (double plans keep their earlier hashes) */
        S_MIX(&p->precision, sizeof p->precision);
    for (size_t i = 0; i < p->num_steps; i++) {
        const qh__step *st = &p->steps[i];
        S_MIX(&st->kind, sizeof st->kind);
        S_MIX(&st->k, sizeof st->k);
        S_MIX(qh__step_qubits(st), st->k * sizeof(unsigned));
        S_MIX(&st->ctrl, sizeof st->ctrl);
        S_MIX(&st->gates, sizeof st->gates);
        if (st->matrix && st->kind == QH__STEP_DENSE)
            S_MIX(st->matrix, ((size_t)1 << (2 * st->k)) * sizeof *st->matrix);
        else if (st->matrix && st->kind == QH__STEP_DIAG)
            S_MIX(st->matrix, ((size_t)1 << st->k) * sizeof *st->matrix);
    }
#undef S_MIX
    return h;
}

unsigned qh_plan_num_parameters(const qh_plan *p)
{
    return p->circuit ? qh_circuit_num_parameters(p->circuit) : 0;
}

const char *qh_plan_parameter_name(const qh_plan *p, unsigned i)
{
    return p->circuit ? qh_circuit_parameter_name(p->circuit, i) : "";
}

qh_status qh__plan_check_bound(const qh_plan *p)
{
    if (!p->bound)
        return QH_ERROR(QH_ESTATE,
                        "the circuit's parameters have no values (first is '%s'): bind them",
                        qh_plan_parameter_name(p, 0));
    return QH_OK;
}

/* Entries of step st's matrix: 2^k for a diagonal, 4^k for a dense one. */
static size_t s_matrix_len(const qh__step *st)
{
    return st->kind == QH__STEP_DIAG ? (size_t)1 << st->k : (size_t)1 << (2 * st->k);
}

/* Computes into m (s_matrix_len(stp) entries) the matrix of parametric step stp rebuilt from
 * its recipe with the given values; stp itself is left alone. *parts (of *cap entries) is
 * scratch space kept between calls. */
static qh_status s_rebind(const qh_plan *p, const qh__step *stp, const double *values,
                          unsigned num_values, qh__step **parts, size_t *cap, double complex *m)
{
    if (stp->recipe_len > *cap) {
        qh__step *np2 = realloc(*parts, stp->recipe_len * sizeof *np2);
        if (!np2)
            return QH_ERROR(QH_ENOMEM, "out of memory binding parameters");
        *parts = np2;
        *cap = stp->recipe_len;
    }
    qh__step *pt = *parts;
    qh_status st = QH_OK;
    unsigned made = 0; /* parts made, whose matrices are freed below (a failed one has none) */
    for (; made < stp->recipe_len; made++) {
        const qh_op *op = qh_circuit_op(p->circuit, stp->recipe[made]);
        if (op->kind == QH_OP_MATRIX)
            st = s_unitary_step(op->num_controls, op->qubits, op->num_qubits - op->num_controls,
                                op->qubits + op->num_controls, op->matrix, &pt[made]);
        else
            st = s_gate_step(op, values, num_values, &pt[made]);
        if (st) {
            qh__error_prefix("parameter binding, instruction %u", stp->recipe[made]);
            break;
        }
    }
    if (st == QH_OK) {
        if (stp->gates == 1 && stp->recipe_len == 1 && pt[0].kind == stp->kind &&
            pt[0].k == stp->k) {
            memcpy(m, pt[0].matrix, s_matrix_len(stp) * sizeof *m);
        } else {
            qh__step into = *stp; /* the same step, writing its matrix into m */
            into.matrix = m;
            st = qh__fuse_rebuild(&into, pt, stp->recipe_len);
        }
    }
    for (unsigned j = 0; j < made; j++)
        free(pt[j].matrix);
    return st;
}

/* Exchanges the matrices of steps[0..n) with those in m[0..n). */
static void s_swap_matrices(qh__step **steps, double complex **m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double complex *t = steps[i]->matrix;
        steps[i]->matrix = m[i];
        m[i] = t;
    }
}

/* Rebuilds the gate programs of p from its steps' matrices; if that fails, p keeps the
 * programs it had (they are taken out first and put back). */
static qh_status s_rebuild_programs(qh_plan *p)
{
    qh__pass *old = malloc((p->num_passes ? p->num_passes : 1) * sizeof *old);
    if (!old)
        return QH_ERROR(QH_ENOMEM, "out of memory binding parameters");
    for (size_t i = 0; i < p->num_passes; i++) {
        qh__pass *ps = &p->passes[i];
        old[i] = *ps;
        ps->units = ps->rest = NULL;
        ps->num_units = ps->num_rest = 0;
    }
    qh_status st = qh__plan_programs(p, qh__plan_kernels(p));
    for (size_t i = 0; i < p->num_passes; i++) {
        qh__pass *ps = &p->passes[i];
        if (st != QH_OK) { /* qh__plan_programs left none: the old ones go back */
            ps->units = old[i].units;
            ps->num_units = old[i].num_units;
            ps->rest = old[i].rest;
            ps->num_rest = old[i].num_rest;
        } else {
            qh__pass_units_free(&old[i]);
        }
    }
    free(old);
    return st;
}

/* Binding computes every new matrix aside and changes the plan only once all of them, and
 * the gate programs made from them, exist: a failure part-way (an expression with no finite
 * value for one step after others were done, memory) leaves the plan exactly as it was,
 * with its previous values, or unbound. */
qh_status qh_plan_bind(qh_plan *p, const double *values, unsigned num_values)
{
    unsigned np = qh_plan_num_parameters(p);
    if (num_values != np)
        return QH_ERROR(QH_EINVAL, "the circuit has %u parameters, %u values given", np,
                        num_values);
    if (np == 0)
        return QH_OK;
    size_t n = 0; /* parametric steps, the start's own copies included */
    for (size_t i = 0; i < p->num_steps; i++)
        n += p->steps[i].parametric != 0;
    for (size_t i = 0; i < p->num_start; i++)
        n += p->start[i].parametric != 0;
    qh__step **which = malloc((n ? n : 1) * sizeof *which);
    double complex **fresh = calloc(n ? n : 1, sizeof *fresh);
    qh__step *parts = NULL;
    size_t cap = 0, k = 0;
    qh_status st = which && fresh ? QH_OK : QH_ERROR(QH_ENOMEM, "out of memory binding parameters");
    for (size_t i = 0; i < p->num_steps && st == QH_OK; i++)
        if (p->steps[i].parametric)
            which[k++] = &p->steps[i];
    for (size_t i = 0; i < p->num_start && st == QH_OK; i++)
        if (p->start[i].parametric)
            which[k++] = &p->start[i];
    for (size_t i = 0; i < n && st == QH_OK; i++) {
        fresh[i] = malloc(s_matrix_len(which[i]) * sizeof *fresh[i]);
        st = fresh[i] ? s_rebind(p, which[i], values, num_values, &parts, &cap, fresh[i])
                      : QH_ERROR(QH_ENOMEM, "out of memory binding parameters");
    }
    free(parts);
    if (st == QH_OK) {
        s_swap_matrices(which, fresh, n); /* fresh[] now holds the old matrices */
        if (p->programs)                  /* programs hold matrix values */
            st = s_rebuild_programs(p);
        if (st != QH_OK)
            s_swap_matrices(which, fresh, n);
    }
    for (size_t i = 0; fresh && i < n; i++)
        free(fresh[i]);
    free(fresh);
    free(which);
    if (st == QH_OK)
        p->bound = 1;
    return st;
}

qh_status qh_plan_execute(const qh_plan *p, qh_state *s, qh_rng *rng, unsigned char *clbits)
{
    QH_CALL(qh__plan_check_bound(p));
    if (qh_state_num_qubits(s) != p->num_qubits)
        return QH_ERROR(QH_EINVAL, "the plan is for %u qubits but the state has %u", p->num_qubits,
                        qh_state_num_qubits(s));
    uint64_t t0 = qh__sim_clock_start();
    qh_status st = qh__plan_execute_range(p, s, 0, p->num_steps, rng, clbits);
    qh__sim_clock_stop(t0);
    return st;
}
