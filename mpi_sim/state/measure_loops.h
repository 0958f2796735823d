/* Internal to measure.c: the loops over the amplitudes of a state, written once and included
 * twice, with S_AMP the amplitude type (double complex or float complex), S_REAL its real
 * type and S_FN(name) the name of each function for that type (measure.c also gives S_PAR,
 * whether a Pauli sum opens a thread team, and S_CLONES). Every sum is taken in double
 * whatever S_AMP is, in the same order, so single and double precision differ only by the
 * amplitudes' rounding. */

static inline double S_FN(s_abs2)(S_AMP z)
{
    const double re = creal(z), im = cimag(z);
    return re * re + im * im;
}

/* sum of |a[i]|^2 over i < cnt in eight partial sums (every eighth amplitude), added
 * pairwise at the end: one running sum waits on each addition, eight keep the adders busy */
static inline double S_FN(s_abs2_run)(const S_AMP *restrict a, uint64_t cnt)
{
    double acc[8] = {0};
    uint64_t i = 0;
    for (; i + 8 <= cnt; i += 8)
        for (unsigned k = 0; k < 8; k++)
            acc[k] += S_FN(s_abs2)(a[i + k]);
    for (unsigned k = 0; i < cnt; i++, k++)
        acc[k] += S_FN(s_abs2)(a[i]);
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static double S_FN(s_norm2)(const S_AMP *a, uint64_t len)
{
    double sum = 0;
    const uint64_t blk = len < QH__SUM_BLOCK ? len : QH__SUM_BLOCK;
#pragma omp parallel for schedule(static) reduction(+ : sum) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t b = 0; b < len; b += blk)
        sum += S_FN(s_abs2_run)(a + b, blk);
    return sum;
}

static void S_FN(s_probs)(const S_AMP *a, uint64_t len, double *probs)
{
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < len; i++)
        probs[i] = S_FN(s_abs2)(a[i]);
}

static double S_FN(s_prob_one)(const S_AMP *a, uint64_t len, uint64_t bit)
{
    double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < len; i++)
        if (i & bit)
            sum += S_FN(s_abs2)(a[i]);
    return sum;
}

/* One block of s_pauli_sum: sum over l < blk of sgn[l] conj(x[l ^ xl]) y[l]. Eight partial
 * sums, each over every eighth amplitude, added pairwise at the end: a single running sum
 * waits for each addition to finish (the loop ran at a third of memory speed), eight keep
 * the adders busy. The order is fixed, so the result does not depend on the instruction set
 * or the thread count. */
static inline void S_FN(s_pauli_block)(const S_AMP *restrict x, const S_AMP *restrict y,
                                       uint64_t blk, uint64_t xl, const double *restrict sgn,
                                       double *re_out, double *im_out)
{
    double re[8] = {0}, im[8] = {0};
    uint64_t l = 0;
    for (; l + 8 <= blk; l += 8) {
        for (unsigned k = 0; k < 8; k++) {
            const double xr = creal(x[(l + k) ^ xl]), xi = cimag(x[(l + k) ^ xl]);
            const double yr = creal(y[l + k]), yi = cimag(y[l + k]);
            re[k] += sgn[l + k] * (xr * yr + xi * yi);
            im[k] += sgn[l + k] * (xr * yi - xi * yr);
        }
    }
    for (unsigned k = 0; l < blk; l++, k++) {
        const double xr = creal(x[l ^ xl]), xi = cimag(x[l ^ xl]);
        const double yr = creal(y[l]), yi = cimag(y[l]);
        re[k] += sgn[l] * (xr * yr + xi * yi);
        im[k] += sgn[l] * (xr * yi - xi * yr);
    }
    *re_out = ((re[0] + re[1]) + (re[2] + re[3])) + ((re[4] + re[5]) + (re[6] + re[7]));
    *im_out = ((im[0] + im[1]) + (im[2] + im[3])) + ((im[4] + im[5]) + (im[6] + im[7]));
}

/* One block of s_pauli_sum for a string of Z and I only, on a state with itself: the sum over
 * l < blk of sgn[l] |y[l]|^2, taken over the 2 blk real and imaginary parts as one row of
 * reals with sgn2[j] = sgn[j / 2]: sixteen partial sums (part j into sum j mod 16), added
 * pairwise at the end. No two parts are combined before they are summed, so the loop runs
 * in vector registers whatever the instruction set (the general loop's complex products do
 * not vectorise: in single precision, converting each part to double, it ran at a fraction
 * of memory speed). Compiled for each instruction set the CPU may have and chosen when the
 * program is loaded (S_CLONES): a cache-blocked pass takes Z strings from blocks in cache,
 * where the baseline's two doubles at a time were the limit; every clone does the same
 * operations in the same order (no contraction into FMAs in ISO C), so the sums are equal. */
S_CLONES static double S_FN(s_zsum_block)(const S_AMP *restrict y, uint64_t blk,
                                          const double *restrict sgn2)
{
    const S_REAL *f = (const S_REAL *)y;
    const uint64_t len = 2 * blk;
    double acc[16] = {0};
    uint64_t j = 0;
    for (; j + 16 <= len; j += 16)
        for (unsigned k = 0; k < 16; k++) {
            const double v = f[j + k];
            acc[k] += sgn2[j + k] * (v * v);
        }
    for (unsigned k = 0; j < len; j++, k++) {
        const double v = f[j];
        acc[k] += sgn2[j] * (v * v);
    }
    for (unsigned w = 8; w >= 1; w /= 2)
        for (unsigned k = 0; k < w; k++)
            acc[k] += acc[k + w];
    return acc[0];
}

/* sum over k < cnt of sign(base + k) conj(x[k ^ xl]) y[k] into *re, *im, where sign(j) is
 * -1 to the number of bits j shares with zm (see qh__pauli_partial) */
static void S_FN(s_pauli_sum)(const S_AMP *x, const S_AMP *y, uint64_t base, uint64_t cnt,
                              uint64_t xl, uint64_t zm, double *re_out, double *im_out)
{
    double re = 0, im = 0;
    /* Summed in blocks, then the blocks: rounding grows with the block length, not with
     * 2^n, so the value agrees with the sharded engine's to ~1e-15 even at 30 qubits. */
    const uint64_t blk = cnt < QH__SUM_BLOCK ? cnt : QH__SUM_BLOCK;
    /* The sign of index j is that of its bits inside the block (a table) times that of its
     * block: no popcount per amplitude (a dozen instructions without a popcnt instruction).
     * base is a multiple of blk (a power of two), so the two never share a bit. */
    double sgn[QH__SUM_BLOCK];
    for (uint64_t l = 0; l < blk; l++)
        sgn[l] = (__builtin_popcountll(l & zm) & 1) ? -1.0 : 1.0;
    const uint64_t xb = xl & ~(blk - 1), xw = xl & (blk - 1);
    if (xl == 0 && x == y) { /* Z and I only: real, one read of the state */
        double sgn2[2 * QH__SUM_BLOCK];
        for (uint64_t j = 0; j < 2 * blk; j++)
            sgn2[j] = sgn[j / 2];
#pragma omp parallel for schedule(static) reduction(+ : re) if (S_PAR(cnt))
        for (uint64_t b = 0; b < cnt; b += blk) {
            const double bs = (__builtin_popcountll((base + b) & zm) & 1) ? -1.0 : 1.0;
            re += bs * S_FN(s_zsum_block)(y + b, blk, sgn2);
        }
        *re_out = re;
        *im_out = 0;
        return;
    }
#pragma omp parallel for schedule(static) reduction(+ : re, im) if (S_PAR(cnt))
    for (uint64_t b = 0; b < cnt; b += blk) {
        const double bs = (__builtin_popcountll((base + b) & zm) & 1) ? -1.0 : 1.0;
        double bre, bim;
        if (xw == 0) /* a Z string or an X on high bits only: contiguous, vectorised */
            S_FN(s_pauli_block)(x + (b ^ xb), y + b, blk, 0, sgn, &bre, &bim);
        else
            S_FN(s_pauli_block)(x + (b ^ xb), y + b, blk, xw, sgn, &bre, &bim);
        re += bs * bre;
        im += bs * bim;
    }
    *re_out = re;
    *im_out = im;
}

/* Keeps the amplitudes whose bit `bit` reads `one`, times scale; zeroes the others. */
static void S_FN(s_collapse)(S_AMP *a, uint64_t len, uint64_t bit, int one, double scale)
{
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < len; i++)
        a[i] = ((i & bit) != 0) == one ? (S_AMP)(a[i] * scale) : 0;
}

/* Moves the amplitudes with bit `bit` set onto those with it clear. */
static void S_FN(s_flip_down)(S_AMP *a, uint64_t len, uint64_t bit)
{
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < len; i++) {
        if (!(i & bit)) {
            a[i] = a[i | bit];
            a[i | bit] = 0;
        }
    }
}

static void S_FN(s_block_sums)(const S_AMP *amp, uint64_t len, unsigned block_bits, double *bsum)
{
    const uint64_t block = (uint64_t)1 << block_bits, nblocks = len >> block_bits;
    /* each sum is taken in one fixed order: no dependence on threads */
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t b = 0; b < nblocks; b++) {
        bsum[b] = S_FN(s_abs2_run)(amp + b * block, block);
    }
}

static void S_FN(s_walk)(const S_AMP *amp, uint64_t first_block, uint64_t my_blocks,
                         unsigned block_bits, const double *bsum, uint64_t nblocks, const double *u,
                         uint64_t shots, uint64_t *out)
{
    /* One monotone walk over the sorted targets: whole blocks are skipped through their
     * sums (in the same order on every rank), and inside a block the position only moves
     * forward. Blocks of other ranks give out[k] = UINT64_MAX. */
    const uint64_t block = (uint64_t)1 << block_bits;
    uint64_t b = 0, i = 0;
    double before_block = 0, acc = 0;
    int in_block = 0;
    for (uint64_t k = 0; k < shots; k++) {
        double target = u[k];
        while (b + 1 < nblocks && before_block + bsum[b] <= target) {
            before_block += bsum[b];
            b++;
            in_block = 0;
        }
        if (b < first_block || b >= first_block + my_blocks) {
            out[k] = UINT64_MAX;
            continue;
        }
        const uint64_t start = (b - first_block) * block, end = start + block;
        if (!in_block) {
            i = start;
            acc = before_block;
            in_block = 1;
        }
        while (i < end) {
            double p = S_FN(s_abs2)(amp[i]);
            if (p > 0 && acc + p > target)
                break;
            acc += p;
            i++;
        }
        uint64_t hit = i;
        if (i == end) {
            /* Past the end only through rounding (the running sum and the block sum add
             * in different orders): the shot belongs to the last index with weight. */
            hit = start;
            for (uint64_t j = end; j-- > start;)
                if (S_FN(s_abs2)(amp[j]) > 0) {
                    hit = j;
                    break;
                }
        }
        out[k] = first_block * block + hit;
    }
}
