/* Internal to measure.c: the loops over the amplitudes of a state, written once and included
 * twice, with S_AMP the amplitude type (double complex or float complex) and S_FN(name) the
 * name of each function for that type. Every sum is taken in double whatever S_AMP is, in
 * the same order, so single and double precision differ only by the amplitudes' rounding. */

static inline double S_FN(s_abs2)(S_AMP z)
{
    const double re = creal(z), im = cimag(z);
    return re * re + im * im;
}

static double S_FN(s_norm2)(const S_AMP *a, uint64_t len)
{
    double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t i = 0; i < len; i++)
        sum += S_FN(s_abs2)(a[i]);
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

/* sum_j sign(j) conj(a_{j^x}) a_j into *re, *im (see qh_state_expectation) */
static void S_FN(s_pauli_sum)(const S_AMP *a, uint64_t len, uint64_t xm, uint64_t zm,
                              double *re_out, double *im_out)
{
    double re = 0, im = 0;
    /* Summed in blocks, then the blocks: rounding grows with the block length, not with
     * 2^n, so the value agrees with the sharded engine's to ~1e-15 even at 30 qubits. */
    const uint64_t blk = len < QH__SUM_BLOCK ? len : QH__SUM_BLOCK;
    /* The sign of index j is that of its bits inside the block (a table) times that of its
     * block: no popcount per amplitude (a dozen instructions without a popcnt instruction).
     * The sums are the same, bit for bit. Measured at n = 28: about 10% less CPU time in this
     * loop, which runs near memory bandwidth either way. */
    double sgn[QH__SUM_BLOCK];
    for (uint64_t l = 0; l < blk; l++)
        sgn[l] = (__builtin_popcountll(l & zm) & 1) ? -1.0 : 1.0;
#pragma omp parallel for schedule(static) reduction(+ : re, im) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t b = 0; b < len; b += blk) {
        const double bs = (__builtin_popcountll(b & zm) & 1) ? -1.0 : 1.0;
        const S_AMP *x = a + (b ^ (xm & ~(blk - 1))), *y = a + b;
        const uint64_t xl = xm & (blk - 1);
        double bre = 0, bim = 0;
        for (uint64_t l = 0; l < blk; l++) {
            /* conj(x) y on real and imaginary parts, in double */
            const double xr = creal(x[l ^ xl]), xi = cimag(x[l ^ xl]);
            const double yr = creal(y[l]), yi = cimag(y[l]);
            bre += sgn[l] * (xr * yr + xi * yi);
            bim += sgn[l] * (xr * yi - xi * yr);
        }
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
    /* each sum is taken in one fixed sequential order: no dependence on threads */
#pragma omp parallel for schedule(static) if (len >= QH__PAR_MIN_LEN)
    for (uint64_t b = 0; b < nblocks; b++) {
        double sum = 0;
        for (uint64_t i = b * block; i < (b + 1) * block; i++)
            sum += S_FN(s_abs2)(amp[i]);
        bsum[b] = sum;
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
