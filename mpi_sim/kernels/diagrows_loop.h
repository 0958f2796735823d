/* Internal to diagrows_simd.c: the diagonal-run kernel's loop, written once and included
 * once per precision, with S_REAL the amplitudes' real type (double or float) and S_FN the
 * function's name. a[(h << c) + l] *= z[h] * rows[h][l]: each piece of a row is scaled by
 * its factor in double into a buffer of S_REAL that stays in L1, then multiplied into the
 * amplitudes in S_REAL. */

void S_FN(S_REAL complex *a, unsigned c, size_t nh, const double complex *z,
          const double complex *const *rows)
{
    const size_t len = (size_t)1 << c;
    S_REAL t[2 * S_ROW] __attribute__((aligned(64)));
    for (size_t h = 0; h < nh; h++) {
        const double zr = __real__ z[h], zi = __imag__ z[h];
        const double *restrict r = (const double *)rows[h];
        S_REAL *restrict x = (S_REAL *)(a + (h << c));
        for (size_t l0 = 0; l0 < len; l0 += S_ROW) {
            const size_t m = len - l0 < S_ROW ? len - l0 : S_ROW;
            const double *restrict rr = r + 2 * l0;
            S_REAL *restrict xx = x + 2 * l0;
#pragma omp simd
            for (size_t l = 0; l < m; l++) {
                t[2 * l] = (S_REAL)(zr * rr[2 * l] - zi * rr[2 * l + 1]);
                t[2 * l + 1] = (S_REAL)(zr * rr[2 * l + 1] + zi * rr[2 * l]);
            }
#pragma omp simd
            for (size_t l = 0; l < m; l++) {
                const S_REAL ar = xx[2 * l], ai = xx[2 * l + 1];
                xx[2 * l] = ar * t[2 * l] - ai * t[2 * l + 1];
                xx[2 * l + 1] = ar * t[2 * l + 1] + ai * t[2 * l];
            }
        }
    }
}
