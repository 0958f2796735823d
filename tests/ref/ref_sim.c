/* The dense reference simulator: for every basis index whose controls are set, gather the
 * 2^k amplitudes that differ in the targets, multiply by the matrix, scatter back. No
 * vectorisation, no cleverness: a second opinion for the engine's kernels. Gate matrices
 * come from the reference's own table (ref_gates.c), never from the engine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/ref/ref_gates.h"
#include "tests/ref/ref_sim.h"

void ref_apply_matrix(double complex *psi, unsigned n, unsigned k, const unsigned *targets,
                      unsigned nc, const unsigned *controls, const double complex *m)
{
    size_t len = (size_t)1 << n, dim = (size_t)1 << k;
    size_t tmask = 0, cmask = 0;
    for (unsigned j = 0; j < k; j++)
        tmask |= (size_t)1 << targets[j];
    for (unsigned j = 0; j < nc; j++)
        cmask |= (size_t)1 << controls[j];
    double complex *in = malloc(dim * sizeof *in);
    size_t *idx = malloc(dim * sizeof *idx);
    for (size_t base = 0; base < len; base++) {
        if (base & tmask)
            continue; /* visit each group once, from its member with zero targets */
        if ((base & cmask) != cmask)
            continue;
        for (size_t r = 0; r < dim; r++) {
            size_t i = base;
            for (unsigned j = 0; j < k; j++)
                if (r >> j & 1)
                    i |= (size_t)1 << targets[j];
            idx[r] = i;
            in[r] = psi[i];
        }
        for (size_t r = 0; r < dim; r++) {
            double complex acc = 0;
            for (size_t c = 0; c < dim; c++)
                acc += m[r * dim + c] * in[c];
            psi[idx[r]] = acc;
        }
    }
    free(in);
    free(idx);
}

int ref_apply_op(double complex *psi, unsigned n, const qh_op *op)
{
    unsigned nc = op->num_controls, k = op->num_qubits - nc;
    if (op->kind == QH_OP_BARRIER)
        return 0;
    if (op->kind == QH_OP_QFT) { /* straight from the definition, as a dense matrix */
        const unsigned *q = op->wide_qubits;
        unsigned r = op->num_qubits;
        size_t dim = (size_t)1 << r;
        double complex *m = malloc(dim * dim * sizeof *m);
        double sign = op->inverse ? -1 : 1;
        for (size_t row = 0; row < dim; row++)
            for (size_t x = 0; x < dim; x++)
                m[row * dim + x] =
                    cexp(sign * 2 * M_PI * I * (double)((row * x) % dim) / (double)dim) /
                    sqrt((double)dim);
        ref_apply_matrix(psi, n, r, q, 0, NULL, m);
        free(m);
        return 0;
    }
    if (op->kind == QH_OP_MATRIX) {
        ref_apply_matrix(psi, n, k, op->qubits + nc, nc, op->qubits, op->matrix);
        return 0;
    }
    if (op->kind != QH_OP_GATE)
        return -1;
    double complex m[16];
    if (ref_gate_matrix(op->gate, op->params, m) != 0)
        return -1;
    ref_apply_matrix(psi, n, k, op->qubits + nc, nc, op->qubits, m);
    return 0;
}

int ref_apply_circuit(double complex *psi, unsigned n, const qh_circuit *c)
{
    for (size_t i = 0; i < qh_circuit_num_ops(c); i++)
        if (ref_apply_op(psi, n, qh_circuit_op(c, i)) != 0)
            return -1;
    return 0;
}

double complex *ref_state_after(const qh_circuit *c)
{
    const unsigned n = qh_circuit_num_qubits(c);
    double complex *psi = calloc((size_t)1 << n, sizeof *psi);
    if (!psi)
        return NULL;
    psi[0] = 1;
    if (ref_apply_circuit(psi, n, c) != 0) {
        free(psi);
        return NULL;
    }
    return psi;
}

double complex *ref_unitary(const qh_circuit *c)
{
    unsigned n = qh_circuit_num_qubits(c);
    size_t dim = (size_t)1 << n;
    double complex *u = calloc(dim * dim, sizeof *u);
    double complex *col = malloc(dim * sizeof *col);
    for (size_t j = 0; j < dim; j++) {
        memset(col, 0, dim * sizeof *col);
        col[j] = 1;
        ref_apply_circuit(col, n, c);
        for (size_t i = 0; i < dim; i++)
            u[i * dim + j] = col[i];
    }
    free(col);
    return u;
}

uint64_t ref_rng_next(ref_rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double ref_rng_uniform(ref_rng *r)
{
    return (double)(ref_rng_next(r) >> 11) * 0x1.0p-53;
}

static double s_gauss(ref_rng *r)
{
    double u1 = ref_rng_uniform(r), u2 = ref_rng_uniform(r);
    return sqrt(-2 * log(u1 + 1e-300)) * cos(2 * M_PI * u2);
}

void ref_random_state(double complex *psi, unsigned n, ref_rng *r)
{
    size_t len = (size_t)1 << n;
    double norm = 0;
    for (size_t i = 0; i < len; i++) {
        psi[i] = s_gauss(r) + I * s_gauss(r);
        norm += creal(psi[i] * conj(psi[i]));
    }
    norm = sqrt(norm);
    for (size_t i = 0; i < len; i++)
        psi[i] /= norm;
}

void ref_random_unitary(double complex *m, unsigned dim, ref_rng *r)
{
    /* Gram-Schmidt on the columns of a Gaussian matrix. */
    for (unsigned i = 0; i < dim * dim; i++)
        m[i] = s_gauss(r) + I * s_gauss(r);
    for (unsigned c = 0; c < dim; c++) {
        for (unsigned p = 0; p < c; p++) {
            double complex dot = 0;
            for (unsigned i = 0; i < dim; i++)
                dot += conj(m[i * dim + p]) * m[i * dim + c];
            for (unsigned i = 0; i < dim; i++)
                m[i * dim + c] -= dot * m[i * dim + p];
        }
        double norm = 0;
        for (unsigned i = 0; i < dim; i++)
            norm += creal(m[i * dim + c] * conj(m[i * dim + c]));
        norm = sqrt(norm);
        for (unsigned i = 0; i < dim; i++)
            m[i * dim + c] /= norm;
    }
}

double ref_max_diff(const double complex *a, const double complex *b, size_t len)
{
    double d = 0;
    for (size_t i = 0; i < len; i++) {
        double e = cabs(a[i] - b[i]);
        if (e > d || isnan(e))
            d = isnan(e) ? INFINITY : e;
    }
    return d;
}

double ref_norm2(const double complex *a, size_t len)
{
    double s = 0;
    for (size_t i = 0; i < len; i++)
        s += creal(a[i]) * creal(a[i]) + cimag(a[i]) * cimag(a[i]);
    return s;
}

static void s_pick_qubits(unsigned n, unsigned count, unsigned *q, ref_rng *r)
{
    for (unsigned i = 0; i < count; i++) {
        for (;;) {
            unsigned c = (unsigned)(ref_rng_next(r) % n);
            unsigned j = 0;
            while (j < i && q[j] != c)
                j++;
            if (j == i) {
                q[i] = c;
                break;
            }
        }
    }
}

qh_circuit *ref_random_circuit(unsigned n, unsigned depth, int with_matrices, ref_rng *r)
{
    qh_circuit *c = NULL;
    if (qh_circuit_create(n, 0, &c) != QH_OK)
        return NULL;
    for (unsigned d = 0; d < depth; d++) {
        unsigned q[QH_MAX_GATE_QUBITS];
        unsigned choice = (unsigned)(ref_rng_next(r) % (QH_GATE_COUNT + (with_matrices ? 3 : 0)));
        if (choice >= QH_GATE_COUNT) {
            unsigned k = 1 + (unsigned)(ref_rng_next(r) % 3);
            unsigned nc = (unsigned)(ref_rng_next(r) % 3);
            if (k > n)
                k = n;
            if (k + nc > n)
                nc = n - k;
            double complex m[64];
            ref_random_unitary(m, 1u << k, r);
            s_pick_qubits(n, k + nc, q, r);
            qh_circuit_matrix(c, q, nc, k, m);
            continue;
        }
        qh_gate g = (qh_gate)choice;
        const qh_gate_info *info = qh_gate_get_info(g);
        unsigned nq = info->num_qubits;
        if (nq == 0)
            nq = 2 + (unsigned)(ref_rng_next(r) % 4);
        if (nq > n)
            continue;
        double p[4];
        for (unsigned i = 0; i < info->num_params; i++)
            p[i] = (ref_rng_uniform(r) * 2 - 1) * 2 * M_PI;
        s_pick_qubits(n, nq, q, r);
        qh_circuit_gate(c, g, q, nq, p, info->num_params);
    }
    return c;
}

int ref_qft_gates(qh_circuit *c, unsigned n, int swaps)
{
    for (unsigned j = n; j-- > 0;) {
        if (qh_circuit_gate(c, QH_GATE_H, &j, 1, NULL, 0) != QH_OK)
            return -1;
        for (unsigned k = j; k-- > 0;) {
            const unsigned q[2] = {k, j};
            const double th = M_PI / (double)(1u << (j - k));
            if (qh_circuit_gate(c, QH_GATE_CP, q, 2, &th, 1) != QH_OK)
                return -1;
        }
    }
    for (unsigned j = 0; swaps && j < n / 2; j++) {
        const unsigned q[2] = {j, n - 1 - j};
        if (qh_circuit_gate(c, QH_GATE_SWAP, q, 2, NULL, 0) != QH_OK)
            return -1;
    }
    return 0;
}
