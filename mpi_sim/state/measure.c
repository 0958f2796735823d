/* Reading a state: norms, probabilities, Pauli expectation values, sampling of shots, and
 * the projective measurement and reset of single qubits. Every reduction is a parallel
 * pass over the amplitudes; sampling is arranged so that its result depends only on the
 * seed, never on the number of threads. The loops themselves are in measure_loops.h, once
 * for double and once for single-precision amplitudes; every sum is taken in double. */
#include <ctype.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mpi_sim/state/state_internal.h"
#include "qhybrid/rng.h"

/* Whether a sum over cnt amplitudes opens a thread team: a long one, outside any parallel
 * region (a cache-blocked pass summing its blocks already owns the threads; a nested team
 * would split the sum differently and oversubscribe the cores where nesting is allowed). */
#define S_PAR(cnt) ((cnt) >= QH__PAR_MIN_LEN && omp_get_level() == 0)

/* Functions compiled once per x86-64 instruction set and chosen at load time (GCC and Clang
 * on x86-64; elsewhere one version). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define S_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define S_CLONES
#endif

#define S_AMP      double complex
#define S_REAL     double
#define S_FN(name) name##_d
#include "mpi_sim/state/measure_loops.h"
#undef S_AMP
#undef S_REAL
#undef S_FN
#define S_AMP      float complex
#define S_REAL     float
#define S_FN(name) name##_f
#include "mpi_sim/state/measure_loops.h"
#undef S_AMP
#undef S_REAL
#undef S_FN

/* Calls loop F of measure_loops.h for s's precision, s's amplitudes first. */
#define S_DISPATCH(s, F, ...)                                                                      \
    ((s)->precision == QH_PRECISION_SINGLE ? F##_f((s)->amp, __VA_ARGS__)                          \
                                           : F##_d((s)->amp, __VA_ARGS__))

double qh_state_norm2(const qh_state *s)
{
    qh__state_write((qh_state *)s); /* see qh_state_amplitudes_const */
    return S_DISPATCH(s, s_norm2, s->len);
}

qh_status qh_state_probabilities(const qh_state *s, double *probs)
{
    qh__state_write((qh_state *)s); /* see qh_state_amplitudes_const */
    S_DISPATCH(s, s_probs, s->len, probs);
    return QH_OK;
}

double qh_state_prob_one(const qh_state *s, unsigned q)
{
    qh__state_write((qh_state *)s); /* see qh_state_amplitudes_const */
    return S_DISPATCH(s, s_prob_one, s->len, (uint64_t)1 << q);
}

void qh__pauli_partial(qh_precision precision, const void *x, const void *y, uint64_t base,
                       uint64_t cnt, uint64_t xl, uint64_t zm, double *re, double *im)
{
    if (precision == QH_PRECISION_SINGLE)
        s_pauli_sum_f(x, y, base, cnt, xl, zm, re, im);
    else
        s_pauli_sum_d(x, y, base, cnt, xl, zm, re, im);
}

/* Parses a Pauli string into x (X or Y), z (Z or Y) and y masks. */
qh_status qh__parse_pauli(const char *str, unsigned n, uint64_t *xm, uint64_t *zm, unsigned *ny)
{
    uint64_t x = 0, z = 0;
    unsigned y = 0;
    size_t len = strlen(str);
    int has_digit = 0, all_letters = len > 0;
    for (size_t i = 0; i < len; i++) {
        has_digit |= isdigit((unsigned char)str[i]) != 0;
        all_letters &= strchr("IXYZ", str[i]) != NULL && str[i] != '\0';
    }
    if (all_letters && !has_digit && (len > 1 || n == 1)) {
        /* Qiskit label: rightmost letter is qubit 0 */
        if (len != n)
            return QH_ERROR(QH_EINVAL,
                            "Pauli label \"%s\" has %zu letters but the circuit has %u qubits", str,
                            len, n);
        for (size_t i = 0; i < len; i++) {
            unsigned q = (unsigned)(len - 1 - i);
            char c = str[i];
            if (c == 'X' || c == 'Y')
                x |= (uint64_t)1 << q;
            if (c == 'Z' || c == 'Y')
                z |= (uint64_t)1 << q;
            y += c == 'Y';
        }
    } else {
        const char *p = str;
        for (;;) {
            while (*p == ' ' || *p == '*' || *p == '\t')
                p++;
            if (!*p)
                break;
            char c = (char)toupper((unsigned char)*p);
            if (!strchr("IXYZ", c))
                return QH_ERROR(QH_EINVAL,
                                "in Pauli string \"%s\": expected I, X, Y or Z at '%c' "
                                "(write terms like \"Z0 X3\")",
                                str, *p);
            p++;
            if (c == 'I' && !isdigit((unsigned char)*p))
                continue;
            if (!isdigit((unsigned char)*p))
                return QH_ERROR(QH_EINVAL,
                                "in Pauli string \"%s\": '%c' must be followed by a qubit "
                                "index (e.g. %c0)",
                                str, c, c);
            unsigned long q = 0;
            while (isdigit((unsigned char)*p)) {
                q = q * 10 + (unsigned long)(*p - '0');
                if (q > 1000000)
                    break;
                p++;
            }
            if (q >= n)
                return QH_ERROR(QH_EINVAL,
                                "in Pauli string \"%s\": qubit %lu is out of range (the circuit "
                                "has %u qubits)",
                                str, q, n);
            uint64_t b = (uint64_t)1 << q;
            if ((x | z) & b)
                return QH_ERROR(QH_EINVAL, "in Pauli string \"%s\": qubit %lu appears twice", str,
                                q);
            if (c == 'X' || c == 'Y')
                x |= b;
            if (c == 'Z' || c == 'Y')
                z |= b;
            y += c == 'Y';
        }
    }
    *xm = x;
    *zm = z;
    *ny = y;
    return QH_OK;
}

qh_status qh_state_expectation(const qh_state *s, const char *pauli, double *out)
{
    qh__state_write((qh_state *)s); /* see qh_state_amplitudes_const */
    uint64_t xm = 0, zm = 0;
    unsigned ny = 0;
    QH_CALL(qh__parse_pauli(pauli, s->num_qubits, &xm, &zm, &ny));
    /* <psi|P|psi> = i^ny sum_j conj(a_{j^x}) a_j (-1)^{popcount(j & z)}, with P|j> =
     * i^ny (-1)^{popcount(j & z)} |j ^ x> (z holds the Z and Y positions). */
    double re, im;
    qh__pauli_partial(s->precision, s->amp, s->amp, 0, s->len, xm, zm, &re, &im);
    double complex sum = re + I * im;
    static const double complex ipow[4] = {1, I, -1, -I};
    *out = creal(ipow[ny & 3] * sum);
    return QH_OK;
}

qh_status qh_state_measure(qh_state *s, unsigned q, double r, int *outcome)
{
    qh__state_write(s);
    if (q >= s->num_qubits)
        return QH_ERROR(QH_EINVAL, "qubit %u is out of range", q);
    double p1 = qh_state_prob_one(s, q);
    int one = r < p1;
    double p = one ? p1 : 1 - p1;
    double scale = p > 0 ? 1 / sqrt(p) : 0;
    const uint64_t bit = (uint64_t)1 << q;
    s->basis_known = 0;
    S_DISPATCH(s, s_collapse, s->len, bit, one, scale);
    *outcome = one;
    return QH_OK;
}

qh_status qh_state_reset(qh_state *s, unsigned q, double r)
{
    qh__state_write(s);
    int outcome;
    QH_CALL(qh_state_measure(s, q, r, &outcome));
    if (outcome) {
        S_DISPATCH(s, s_flip_down, s->len, (uint64_t)1 << q);
    }
    return QH_OK;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

unsigned qh__sample_block_bits(unsigned n)
{
    /* 2^12 amplitudes per block when the state is large; smaller states keep at least
     * 2^6 blocks so that a state sharded over up to 64 ranks has whole blocks per rank. */
    return n >= 18 ? 12 : (n > 6 ? n - 6 : 0);
}

void qh__sample_block_sums(const qh_state *s, unsigned block_bits, double *bsum)
{
    qh__state_write((qh_state *)s); /* see qh_state_amplitudes_const */
    S_DISPATCH(s, s_block_sums, s->len, block_bits, bsum);
}

qh_status qh__sample_targets(uint64_t shots, uint64_t seed, const double *bsum, uint64_t nblocks,
                             double **targets, double *total_out)
{
    double total = 0;
    for (uint64_t b = 0; b < nblocks; b++)
        total += bsum[b];
    double *u = malloc((shots ? shots : 1) * sizeof *u);
    if (!u)
        return QH_ERROR(QH_ENOMEM, "out of memory sampling %llu shots", (unsigned long long)shots);
    qh_rng rng;
    qh_rng_seed(&rng, seed);
    for (uint64_t i = 0; i < shots; i++)
        u[i] = qh_rng_uniform(&rng) * total;
    qsort(u, shots, sizeof *u, s_cmp_double);
    *targets = u;
    *total_out = total;
    return QH_OK;
}

void qh__sample_walk(const qh_state *s, uint64_t first_block, uint64_t my_blocks,
                     unsigned block_bits, const double *bsum, uint64_t nblocks, const double *u,
                     uint64_t shots, uint64_t *out)
{
    qh__state_write((qh_state *)s); /* see qh_state_amplitudes_const */
    S_DISPATCH(s, s_walk, first_block, my_blocks, block_bits, bsum, nblocks, u, shots, out);
}

qh_status qh_state_sample(const qh_state *s, uint64_t shots, uint64_t seed, uint64_t *out)
{
    qh__state_write((qh_state *)s); /* see qh_state_amplitudes_const */
    if (shots == 0)
        return QH_OK;
    const unsigned bb = qh__sample_block_bits(s->num_qubits);
    const uint64_t nblocks = s->len >> bb;
    double *bsum = malloc(nblocks * sizeof *bsum), *u = NULL, total;
    if (!bsum)
        return QH_ERROR(QH_ENOMEM, "out of memory sampling");
    qh__sample_block_sums(s, bb, bsum);
    qh_status st = qh__sample_targets(shots, seed, bsum, nblocks, &u, &total);
    if (st == QH_OK)
        qh__sample_walk(s, 0, nblocks, bb, bsum, nblocks, u, shots, out);
    free(bsum);
    free(u);
    return st;
}
