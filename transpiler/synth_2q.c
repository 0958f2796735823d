/* Two-qubit synthesis: the KAK (Cartan) decomposition of a U(4) and its re-emission with at
 * most three basis gates (cz, cx or ecr).
 *
 * Any u in U(4) is e^{ig} (k1 x k2) exp(i(a XX + b YY + c ZZ)) (k3 x k4) with one-qubit kj.
 * In the magic basis (a Bell basis with phases) local gates are real orthogonal matrices and
 * XX, YY, ZZ are diagonal, so with u' = B^dagger (u / det(u)^{1/4}) B the symmetric unitary
 * m = u'^T u' is diagonalised by a real orthogonal p: m = p d p^T. Its real and imaginary
 * parts commute and share p, which is found by a Jacobi eigen-solver on a fixed generic real
 * combination of the two (this stays well defined when eigenvalues are degenerate, as for
 * the identity; a combination that happens to merge distinct eigenvalues is detected and the
 * next one tried). Then u' = k (sqrt d) p^T with k = u' p (sqrt d)^{-1} real orthogonal, and
 * a, b, c follow from the phases of sqrt d.
 *
 * Each of a, b, c is reduced modulo pi/2 to [-pi/4, pi/4], the multiples of pi/2 being local
 * Pauli gates (exp(i pi/2 XX) = i XX). The residuals decide the count: all zero -> 0 basis
 * gates; two zero and one +-pi/4 -> 1 (the class of cx); one zero -> 2; otherwise 3. With
 * e = exp(i pi/4 XX) the circuits are, up to phase and with W = (X+Y)/sqrt2,
 * V = (Y+Z)/sqrt2, H = (X+Z)/sqrt2 (each maps one Pauli axis onto another):
 *   exp(i(a XX + b YY))        = (W x 1) e (e^{iaZ} x e^{ibZ}) e (XW x X)
 *   exp(i(a XX + b YY + c ZZ)) = (W x 1) e (e^{iaZ}VW x e^{ibZ}V) e (e^{-i pi/4 Z} x e^{-icZ})
 *                                e (XWVW x XV)
 * (the second writes exp(icZZ) exp(i(aXX+bYY)) with exp(-icZZ) e^dagger = exp(i(-pi/4 XX
 * - c ZZ)) expanded by the first after V x V swaps the YY and ZZ axes). Each e is then the
 * basis gate between fixed one-qubit gates: cz = (SH x SH) e (H x H), cx = cz conjugated by
 * H on the target, ecr = (XH x 1) e (HZ x X), up to phase (S the s gate).
 *
 * Adjacent one-qubit factors are multiplied together; a factor that the next basis gate maps
 * to a local gate is moved past it when that saves gates (so cx comes out as cx alone, not z
 * cx z); the rest are emitted as u(theta, phi, lambda), identities dropped. The global phase is
 * measured from the product of the emitted gates, which also checks the whole construction. */
#include "transpiler/synth.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

typedef double complex s_m2[4];

/* One layer of one-qubit gates: a on qubit 0, b on qubit 1. */
typedef struct s_layer {
    s_m2 a, b;
} s_layer;

/* The result of the decomposition: u = e^{ig} left (exp(i(e0 XX + e1 YY + e2 ZZ))) right. */
typedef struct s_kak {
    s_layer left, right;
    double e[3];  /* residual interaction coefficients, each in [-pi/4, pi/4] */
    int count;    /* basis gates needed */
    int zero_at;  /* for count 2: a coefficient that is zero; for count 1: the one not zero */
    int negative; /* for count 1: that coefficient is -pi/4 */
} s_kak;

#define S_R2  M_SQRT1_2
#define S_IR2 (M_SQRT1_2 * I)

/* The magic basis, by columns: (|00>+|11>)/r2, i(|01>+|10>)/r2, (|01>-|10>)/r2,
 * i(|00>-|11>)/r2 (qubit 0 the low bit). In it, exp(i(a XX + b YY + c ZZ)) is diagonal with
 * phases a-b+c, a+b-c, -a-b-c, -a+b+c. */
static const double complex s_magic[16] = {
    S_R2, 0, 0, S_IR2, 0, S_IR2, S_R2, 0, 0, S_IR2, -S_R2, 0, S_R2, 0, 0, -S_IR2,
};

static const s_m2 s_id = {1, 0, 0, 1};
static const s_m2 s_px = {0, 1, 1, 0};
static const s_m2 s_py = {0, -I, I, 0};
static const s_m2 s_pz = {1, 0, 0, -1};
static const s_m2 s_w = {0, (1 - I) * S_R2, (1 + I) * S_R2, 0}; /* (X+Y)/r2 */
static const s_m2 s_v = {S_R2, -S_IR2, S_IR2, -S_R2};           /* (Y+Z)/r2 */
static const s_m2 s_h = {S_R2, S_R2, S_R2, -S_R2};              /* (X+Z)/r2 */

/* |x|^2 without the overflow care of cabs (entries of unitaries are at most 1) */
static double s_n2(double complex x)
{
    return creal(x) * creal(x) + cimag(x) * cimag(x);
}

static void s_mul2(const double complex *x, const double complex *y, double complex *r)
{
    double complex t[4] = {x[0] * y[0] + x[1] * y[2], x[0] * y[1] + x[1] * y[3],
                           x[2] * y[0] + x[3] * y[2], x[2] * y[1] + x[3] * y[3]};
    memcpy(r, t, sizeof t);
}

static void s_dag2(const double complex *x, double complex *r)
{
    double complex t[4] = {conj(x[0]), conj(x[2]), conj(x[1]), conj(x[3])};
    memcpy(r, t, sizeof t);
}

/* exp(i t Z) */
static void s_ez(double t, double complex *r)
{
    r[0] = cexp(I * t), r[1] = 0, r[2] = 0, r[3] = cexp(-I * t);
}

static void s_mul4(const double complex *x, const double complex *y, double complex *r)
{
    double complex t[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double complex s = 0;
            for (int k = 0; k < 4; k++)
                s += x[i * 4 + k] * y[k * 4 + j];
            t[i * 4 + j] = s;
        }
    memcpy(r, t, sizeof t);
}

/* x^dagger y */
static void s_dagmul4(const double complex *x, const double complex *y, double complex *r)
{
    double complex t[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double complex s = 0;
            for (int k = 0; k < 4; k++)
                s += conj(x[k * 4 + i]) * y[k * 4 + j];
            t[i * 4 + j] = s;
        }
    memcpy(r, t, sizeof t);
}

static double complex s_det4(const double complex *m)
{
    double complex a[16], det = 1;
    memcpy(a, m, sizeof a);
    for (int c = 0; c < 4; c++) {
        int p = c;
        for (int r = c + 1; r < 4; r++)
            if (s_n2(a[r * 4 + c]) > s_n2(a[p * 4 + c]))
                p = r;
        if (a[p * 4 + c] == 0)
            return 0;
        if (p != c) {
            for (int k = 0; k < 4; k++) {
                double complex t = a[c * 4 + k];
                a[c * 4 + k] = a[p * 4 + k], a[p * 4 + k] = t;
            }
            det = -det;
        }
        det *= a[c * 4 + c];
        for (int r = c + 1; r < 4; r++) {
            double complex f = a[r * 4 + c] / a[c * 4 + c];
            for (int k = c; k < 4; k++)
                a[r * 4 + k] -= f * a[c * 4 + k];
        }
    }
    return det;
}

/* Eigenvectors of the real symmetric 4x4 s (destroyed) by cyclic Jacobi rotations: the
 * columns of v. */
static void s_jacobi(double s[16], double v[16])
{
    for (int k = 0; k < 16; k++)
        v[k] = (k % 5) == 0;
    for (int sweep = 0; sweep < 30; sweep++) {
        double off = 0, diag = 0;
        for (int i = 0; i < 4; i++) {
            diag += s[i * 5] * s[i * 5];
            for (int j = i + 1; j < 4; j++)
                off += s[i * 4 + j] * s[i * 4 + j];
        }
        if (off <= 1e-34 * diag || off == 0)
            return;
        for (int p = 0; p < 3; p++)
            for (int q = p + 1; q < 4; q++) {
                double apq = s[p * 4 + q];
                if (apq == 0)
                    continue;
                double theta = (s[q * 5] - s[p * 5]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), sn = t * c;
                for (int k = 0; k < 4; k++) { /* columns p, q */
                    double akp = s[k * 4 + p], akq = s[k * 4 + q];
                    s[k * 4 + p] = c * akp - sn * akq;
                    s[k * 4 + q] = sn * akp + c * akq;
                }
                for (int k = 0; k < 4; k++) { /* rows p, q */
                    double apk = s[p * 4 + k], aqk = s[q * 4 + k];
                    s[p * 4 + k] = c * apk - sn * aqk;
                    s[q * 4 + k] = sn * apk + c * aqk;
                }
                for (int k = 0; k < 4; k++) {
                    double vkp = v[k * 4 + p], vkq = v[k * 4 + q];
                    v[k * 4 + p] = c * vkp - sn * vkq;
                    v[k * 4 + q] = sn * vkp + c * vkq;
                }
            }
    }
}

static double s_det4r(const double *m)
{
    double complex c[16];
    for (int k = 0; k < 16; k++)
        c[k] = m[k];
    return creal(s_det4(c));
}

/* m (4x4, a product a x b of one-qubit unitaries up to round-off) as its factors: a on
 * qubit 0 (the low bit), b on qubit 1. */
static void s_factor(const double complex *m, s_layer *out)
{
    /* m[2i+k][2j+l] = b[i][j] a[k][l]: the block (i, j) of largest norm is a multiple of a */
    int bi = 0, bj = 0;
    double best = -1;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double n = 0;
            for (int k = 0; k < 2; k++)
                for (int l = 0; l < 2; l++) {
                    double complex x = m[(2 * i + k) * 4 + 2 * j + l];
                    n += creal(x) * creal(x) + cimag(x) * cimag(x);
                }
            if (n > best)
                best = n, bi = i, bj = j;
        }
    double complex *a = out->a, *b = out->b;
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 2; l++)
            a[k * 2 + l] = m[(2 * bi + k) * 4 + 2 * bj + l];
    double complex d = csqrt(a[0] * a[3] - a[1] * a[2]);
    for (int k = 0; k < 4; k++)
        a[k] /= d;
    /* b[i][j] = tr(a^dagger block(i, j)) / 2 */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double complex s = 0;
            for (int k = 0; k < 2; k++)
                for (int l = 0; l < 2; l++)
                    s += conj(a[k * 2 + l]) * m[(2 * i + k) * 4 + 2 * j + l];
            b[i * 2 + j] = s / 2;
        }
}

/* A few generic coefficient pairs for combining the real and imaginary parts. */
static const double s_mix[][2] = {
    {0.8366784328, 0.5476765823},  {0.2919512417, -0.9564340813}, {0.6123458912, 0.7905943221},
    {-0.4463891020, 0.8948350961}, {0.9781264307, 0.2080007412},  {0.1337231113, 0.9910185549},
};

/* The decomposition of u; the local factors only when with_locals (counting needs none). */
static qh_status s_kak_decompose(const double complex u[16], double tol, int with_locals, s_kak *k)
{
    if (!qh__is_unitary(u, 4, 1e-6))
        return QH_ERROR(QH_EINVAL, "two-qubit synthesis: the 4x4 matrix is not unitary");
    double complex det = s_det4(u);
    double complex norm = cexp(-I * carg(det) / 4) / pow(cabs(det), 0.25);
    double complex us[16], t[16], up[16], m[16];
    for (int i = 0; i < 16; i++)
        us[i] = u[i] * norm;
    s_mul4(us, s_magic, t);
    s_dagmul4(s_magic, t, up); /* up = B^dagger us B */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double complex s = 0;
            for (int q = 0; q < 4; q++)
                s += up[q * 4 + i] * up[q * 4 + j];
            m[i * 4 + j] = s; /* up^T up */
        }
    double p[16], dth[4];
    int found = 0;
    for (size_t tr = 0; tr < sizeof s_mix / sizeof s_mix[0] && !found; tr++) {
        double s[16];
        for (int i = 0; i < 16; i++)
            s[i] = s_mix[tr][0] * creal(m[i]) + s_mix[tr][1] * cimag(m[i]);
        s_jacobi(s, p);
        /* p must diagonalise m itself, not just the combination: d = p^T (m p) */
        double complex mp[16];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                double complex x = 0;
                for (int q = 0; q < 4; q++)
                    x += m[a * 4 + q] * p[q * 4 + b];
                mp[a * 4 + b] = x;
            }
        found = 1;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                double complex x = 0;
                for (int q = 0; q < 4; q++)
                    x += p[q * 4 + a] * mp[q * 4 + b];
                if (a == b)
                    dth[a] = carg(x) / 2;
                else if (s_n2(x) > 1e-14)
                    found = 0;
            }
    }
    if (!found)
        return QH_ERROR(QH_EINTERNAL, "two-qubit synthesis: no eigenbasis found");
    if (s_det4r(p) < 0)
        for (int i = 0; i < 4; i++)
            p[i * 4] = -p[i * 4];
    /* sum of the half-phases must be 0 mod 2 pi for k = up p d^{-1/2} to have det +1 */
    double sum = dth[0] + dth[1] + dth[2] + dth[3];
    if (((long)lround(sum / M_PI)) % 2 != 0)
        dth[0] += M_PI, sum += M_PI;
    if (with_locals) {
        double ko[16]; /* k = Re(up p conj(dhalf)) */
        double complex dinv[4];
        for (int j = 0; j < 4; j++)
            dinv[j] = cexp(-I * dth[j]);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                double complex s = 0;
                for (int q = 0; q < 4; q++)
                    s += up[i * 4 + q] * p[q * 4 + j];
                ko[i * 4 + j] = creal(s * dinv[j]);
            }
        /* left = B k B^dagger, right = B p^T B^dagger */
        double complex kc[16], pc[16], l4[16], r4[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                kc[i * 4 + j] = ko[i * 4 + j], pc[i * 4 + j] = p[j * 4 + i];
        double complex bd[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                bd[i * 4 + j] = conj(s_magic[j * 4 + i]);
        s_mul4(s_magic, kc, t);
        s_mul4(t, bd, l4);
        s_mul4(s_magic, pc, t);
        s_mul4(t, bd, r4);
        s_factor(l4, &k->left);
        s_factor(r4, &k->right);
    }
    double mean = sum / 4;
    double th[4] = {dth[0] - mean, dth[1] - mean, dth[2] - mean, dth[3] - mean};
    double abc[3] = {(th[0] + th[1]) / 2, (th[1] + th[3]) / 2, (th[0] + th[3]) / 2};
    /* exp(i x PP) = exp(i e PP) (i PP)^r with x = e + r pi/2: the Pauli parts go right */
    static const double complex *paulis[3] = {s_px, s_py, s_pz};
    int zeros = 0, quarters = 0;
    k->zero_at = -1;
    k->negative = 0;
    for (int j = 0; j < 3; j++) {
        double r = nearbyint(abc[j] / (M_PI / 2));
        k->e[j] = abc[j] - r * (M_PI / 2);
        if (with_locals && ((long)r) % 2 != 0) {
            s_mul2(paulis[j], k->right.a, k->right.a);
            s_mul2(paulis[j], k->right.b, k->right.b);
        }
        if (fabs(k->e[j]) < tol)
            zeros++, k->zero_at = j;
        else if (fabs(fabs(k->e[j]) - M_PI / 4) < tol)
            quarters++;
    }
    if (zeros == 3)
        k->count = 0;
    else if (zeros == 2 && quarters == 1) {
        k->count = 1;
        for (int j = 0; j < 3; j++)
            if (fabs(k->e[j]) >= tol)
                k->zero_at = j, k->negative = k->e[j] < 0;
    } else if (zeros >= 1)
        k->count = 2;
    else
        k->count = 3;
    return QH_OK;
}

int qh__synth_2q_count(const double complex u[16], double tol)
{
    s_kak k;
    if (s_kak_decompose(u, tol, 0, &k) != QH_OK)
        return -1;
    return k.count;
}

/* l = (x a) x (y b) on the right-hand side: l.a = l.a x, l.b = l.b y */
static void s_right(s_layer *l, const double complex *x, const double complex *y)
{
    s_mul2(l->a, x, l->a);
    s_mul2(l->b, y, l->b);
}

static void s_left(s_layer *l, const double complex *x, const double complex *y)
{
    s_mul2(x, l->a, l->a);
    s_mul2(y, l->b, l->b);
}

static void s_set(s_layer *l, const double complex *x, const double complex *y)
{
    memcpy(l->a, x, sizeof l->a);
    memcpy(l->b, y, sizeof l->b);
}

/* exp(i(a XX + b YY)) as layers L[0] e L[1] e L[2] */
static void s_two(double a, double b, s_layer L[3])
{
    s_m2 ea, eb, xw;
    s_ez(a, ea);
    s_ez(b, eb);
    s_mul2(s_px, s_w, xw);
    s_set(&L[0], s_w, s_id);
    s_set(&L[1], ea, eb);
    s_set(&L[2], xw, s_px);
}

/* exp(i(a XX + b YY + c ZZ)) as layers L[0] e L[1] e L[2] e L[3] */
static void s_three(double a, double b, double c, s_layer L[4])
{
    s_m2 ea, eb, m;
    s_ez(a, ea);
    s_ez(b, eb);
    s_set(&L[0], s_w, s_id);
    s_mul2(ea, s_v, m);
    s_mul2(m, s_w, m);
    s_set(&L[1], m, eb);
    s_right(&L[1], s_id, s_v);
    s_ez(-M_PI / 4, ea);
    s_ez(-c, eb);
    s_set(&L[2], ea, eb);
    s_mul2(s_px, s_w, m); /* XW V W x X V */
    s_mul2(m, s_v, m);
    s_mul2(m, s_w, m);
    s_set(&L[3], m, s_px);
    s_right(&L[3], s_id, s_v);
}

/* The basis gate g = (gl) e (gr) up to phase, and its 4x4 matrix. */
static void s_basis(qh__basis2q basis, s_layer *gl, s_layer *gr, double complex g[16])
{
    s_m2 sh, hsh;
    s_ez(-M_PI / 4, sh);
    s_mul2(sh, s_h, sh); /* rz(pi/2) H up to phase */
    memset(g, 0, 16 * sizeof *g);
    switch (basis) {
    case QH__BASIS_CZ:
        s_set(gl, sh, sh);
        s_set(gr, s_h, s_h);
        g[0] = g[5] = g[10] = 1, g[15] = -1;
        break;
    case QH__BASIS_CX: /* control qubit 0 (the low bit), target qubit 1 */
        s_mul2(s_h, sh, hsh);
        s_set(gl, sh, hsh);
        s_set(gr, s_h, s_id);
        g[0] = g[7] = g[10] = g[13] = 1;
        break;
    default: { /* QH__BASIS_ECR: x0 exp(-i pi/4 Z0 X1): qubit 0 is the Z (control) side */
        s_m2 xh, hz;
        s_mul2(s_px, s_h, xh);
        s_mul2(s_h, s_pz, hz);
        s_set(gl, xh, s_id);
        s_set(gr, hz, s_px);
        qh__ecr_matrix(g);
        break;
    }
    }
}

/* m = (x on qubit q) m */
static void s_apply1(const double complex *x, int q, double complex *m)
{
    int bit = q ? 2 : 1;
    for (int r = 0; r < 4; r++) {
        if (r & bit)
            continue;
        for (int c = 0; c < 4; c++) {
            double complex v0 = m[r * 4 + c], v1 = m[(r | bit) * 4 + c];
            m[r * 4 + c] = x[0] * v0 + x[1] * v1;
            m[(r | bit) * 4 + c] = x[2] * v0 + x[3] * v1;
        }
    }
}

/* Whether x is the identity up to a phase. */
static int s_is_id(const double complex *x)
{
    return s_n2(x[1]) + s_n2(x[2]) < 1e-24 && s_n2(x[0] - x[3]) < 1e-24;
}

/* x in a form that a basis gate can map to a local gate (diagonal, anti-diagonal, or a
 * rotation about X): a cheap filter before the exact test. */
static int s_may_commute(const double complex *x)
{
    return (s_n2(x[1]) + s_n2(x[2]) < 1e-24) || (s_n2(x[0]) + s_n2(x[3]) < 1e-24) ||
           (s_n2(x[0] - x[3]) + s_n2(x[1] - x[2]) < 1e-24);
}

/* The KAK factors are unique only up to locals that commute with the interaction, so a
 * layer can hold a gate that would pass through the next basis gate and cancel (cx with z on
 * its control before and after). Each one-qubit factor of the layer before a basis gate g
 * that g maps to a local gate is moved after g when that leaves fewer one-qubit gates. */
static void s_push_through(s_layer *L, int n, const double complex g[16])
{
    for (int j = n; j >= 1; j--) { /* L[j], then g, then L[j-1] */
        for (int side = 0; side < 2; side++) {
            double complex *x = side ? L[j].b : L[j].a;
            if (s_is_id(x) || !s_may_commute(x))
                continue;
            /* c = g (x on side) g^dagger */
            double complex gx[16], c[16];
            for (int r = 0; r < 4; r++)
                for (int col = 0; col < 4; col++) {
                    int bit = side ? 2 : 1, c0 = col & ~bit, c1 = col | bit, i = (col & bit) != 0;
                    gx[r * 4 + col] = g[r * 4 + c0] * x[0 * 2 + i] + g[r * 4 + c1] * x[1 * 2 + i];
                }
            for (int r = 0; r < 4; r++)
                for (int col = 0; col < 4; col++) {
                    double complex v = 0;
                    for (int k = 0; k < 4; k++)
                        v += gx[r * 4 + k] * conj(g[col * 4 + k]);
                    c[r * 4 + col] = v;
                }
            s_layer f;
            s_factor(c, &f);
            double err = 0;
            for (int r = 0; r < 4; r++)
                for (int col = 0; col < 4; col++)
                    err += s_n2(c[r * 4 + col] -
                                f.b[(r >> 1) * 2 + (col >> 1)] * f.a[(r & 1) * 2 + (col & 1)]);
            if (err > 1e-24)
                continue;
            s_m2 na, nb;
            s_mul2(L[j - 1].a, f.a, na);
            s_mul2(L[j - 1].b, f.b, nb);
            int before = 1 + !s_is_id(L[j - 1].a) + !s_is_id(L[j - 1].b);
            if (!s_is_id(na) + !s_is_id(nb) < before) {
                memcpy(L[j - 1].a, na, sizeof na);
                memcpy(L[j - 1].b, nb, sizeof nb);
                memcpy(x, s_id, sizeof s_id);
            }
        }
    }
}

/* Emits x as u(theta, phi, lambda) on qubit q unless it is the identity up to phase, and
 * multiplies the emitted gate's matrix into m. The matrix of u is built from the unit complex
 * numbers the angles come from, so only the angles themselves cost inverse trigonometry. */
static qh_status s_emit1(const double complex *x, int q, double tol, qh__sseq *out,
                         double complex *m)
{
    /* x = e^{ig} [[e^{-i s} c, -e^{-i d} sn], [e^{i d} sn, e^{i s} c]], s = (phi + lambda)/2,
     * d = (phi - lambda)/2; u(theta, phi, lambda) = [[c, -e^{i lambda} sn],
     * [e^{i phi} sn, e^{i (phi + lambda)} c]] */
    double complex det = x[0] * x[3] - x[1] * x[2];
    double complex rot = conj(csqrt(det / cabs(det))); /* e^{-ig}, either sign */
    double complex v10 = x[2] * rot, v11 = x[3] * rot;
    double c = cabs(x[0]), sn = cabs(x[2]), nr = 1 / sqrt(c * c + sn * sn);
    c *= nr, sn *= nr;
    double a11 = cabs(v11), a10 = cabs(v10);
    double complex es = a11 > 0 ? v11 / a11 : 1, ed = a10 > 0 ? v10 / a10 : 1;
    double th = 2 * atan2(sn, c);
    double complex eph = es * ed, ela = es * conj(ed);
    double sum = carg(es * es); /* phi + lambda, wrapped */
    if (th < tol && fabs(sum) < tol)
        return QH_OK;
    double p[3];
    if (th < tol) { /* a pure phase gate: one angle suffices */
        p[0] = th, p[1] = sum, p[2] = 0;
        eph = es * es, ela = 1;
    } else {
        p[0] = th, p[1] = carg(eph), p[2] = carg(ela);
    }
    double complex g[4] = {c, -ela * sn, eph * sn, eph * ela * c};
    s_apply1(g, q, m);
    return qh__sseq_push(out, QH_GATE_U, q, 0, p[0], p[1], p[2]);
}

qh_status qh__synth_2q(const double complex u[16], qh__basis2q basis, double tol, qh__sseq *out)
{
    qh_status st = QH_OK;
    s_kak k;
    if (basis != QH__BASIS_CZ && basis != QH__BASIS_CX && basis != QH__BASIS_ECR)
        return QH_ERROR(QH_EINVAL, "two-qubit synthesis: unknown basis gate %d", (int)basis);
    QH_CALL(s_kak_decompose(u, tol, 1, &k));
    int mark = out->len;
    s_layer L[4];
    int n = k.count;
    switch (n) {
    case 0:
        s_set(&L[0], s_id, s_id);
        break;
    case 1: { /* exp(+-i pi/4 PP) = (v x v) e (v x v) [(P x P)], v mapping X onto P */
        const double complex *v = k.zero_at == 0 ? s_id : k.zero_at == 1 ? s_w : s_h;
        const double complex *pp = k.zero_at == 0 ? s_px : k.zero_at == 1 ? s_py : s_pz;
        s_set(&L[0], v, v);
        s_set(&L[1], v, v);
        if (k.negative)
            s_right(&L[1], pp, pp);
        break;
    }
    case 2:
        if (k.zero_at == 2)
            s_two(k.e[0], k.e[1], L);
        else if (k.zero_at == 1) { /* V x V swaps the YY and ZZ axes */
            s_two(k.e[0], k.e[2], L);
            s_left(&L[0], s_v, s_v);
            s_right(&L[2], s_v, s_v);
        } else { /* H x H swaps the XX and ZZ axes */
            s_two(k.e[2], k.e[1], L);
            s_left(&L[0], s_h, s_h);
            s_right(&L[2], s_h, s_h);
        }
        break;
    default:
        s_three(k.e[0], k.e[1], k.e[2], L);
        break;
    }
    s_left(&L[0], k.left.a, k.left.b);
    s_right(&L[n], k.right.a, k.right.b);
    s_layer gl, gr;
    double complex g[16];
    s_basis(basis, &gl, &gr, g);
    s_m2 gla, glb, gra, grb;
    s_dag2(gl.a, gla), s_dag2(gl.b, glb), s_dag2(gr.a, gra), s_dag2(gr.b, grb);
    for (int j = 0; j < n; j++) { /* e = gl^dagger g gr^dagger */
        s_right(&L[j], gla, glb);
        s_left(&L[j + 1], gra, grb);
    }
    s_push_through(L, n, g);
    /* time order: L[n], g, L[n-1], ..., g, L[0] */
    double complex m[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    qh_gate g2 = basis == QH__BASIS_CZ   ? QH_GATE_CZ
                 : basis == QH__BASIS_CX ? QH_GATE_CX
                                         : QH_GATE_COUNT;
    for (int j = n; j >= 0; j--) {
        QH_TRY(s_emit1(L[j].a, 0, tol, out, m));
        QH_TRY(s_emit1(L[j].b, 1, tol, out, m));
        if (j > 0) {
            QH_TRY(qh__sseq_push(out, g2, 0, 1, 0, 0, 0));
            s_mul4(g, m, m);
        }
    }
    double complex tr = 0;
    for (int i = 0; i < 16; i++)
        tr += conj(m[i]) * u[i];
    if (!(cabs(tr) > 4 * (1 - 1e-6)))
        QH_FAIL(QH_EINTERNAL, "two-qubit synthesis lost accuracy (overlap %g of 4)", cabs(tr));
    out->phase = remainder(out->phase + carg(tr), 2 * M_PI);
    return QH_OK;
fail:
    out->len = mark;
    return st;
}
