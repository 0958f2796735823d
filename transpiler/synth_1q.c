/* One-qubit synthesis: any U(2) as rz(a) sx rz(b) sx rz(c) (the ZSX Euler basis), with the
 * cheaper forms picked when the unitary allows them, plus the gate sequences both synthesis
 * files build on.
 *
 * With u = e^{ig} rz(phi) ry(theta) rz(lambda), theta in [0, pi]:
 *   theta = 0      rz(phi + lambda)                                  (no sx)
 *   theta = pi     x, then rz(phi - lambda - pi)                     (x instead of two sx)
 *   theta = pi/2   rz(lambda - pi/2), sx, rz(phi + pi/2)             (one sx)
 *   otherwise      rz(lambda - pi), sx, rz(pi - theta), sx, rz(phi)  (two sx)
 * in time order. The last line holds because sx rz(b) sx is, up to a phase, ry(-b) x, and
 * x rz(c) is rz(-c) x; the pi/2 line because ry(pi/2) = rz(pi/2) rx(pi/2) rz(-pi/2) and sx is
 * rx(pi/2) up to a phase. The global phase is not
 * derived from these identities but measured from the gates actually emitted, so it is exact
 * whatever branch of an angle was taken. */
#include "transpiler/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void qh__sseq_free(qh__sseq *s)
{
    if (!s)
        return;
    free(s->g);
    memset(s, 0, sizeof *s);
}

void qh__ecr_matrix(double complex m[16])
{
    /* (IX - XY)/sqrt2 with qubit 0 the low bit: x on qubit 0 after exp(-i pi/4 Z0 X1) */
    static const double complex e[16] = {0, 1, 0, I, 1, 0, -I, 0, 0, I, 0, 1, -I, 0, 1, 0};
    for (int k = 0; k < 16; k++)
        m[k] = e[k] * M_SQRT1_2;
}

qh_status qh__sseq_push(qh__sseq *s, qh_gate gate, int q0, int q1, double p0, double p1, double p2)
{
    if (s->len == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        qh__sgate *g = realloc(s->g, (size_t)cap * sizeof *g);
        if (!g)
            return QH_ERROR(QH_ENOMEM, "no memory for a synthesised gate sequence of %d gates",
                            cap);
        s->g = g;
        s->cap = cap;
    }
    s->g[s->len++] = (qh__sgate){gate, {q0, q1}, {p0, p1, p2}};
    return QH_OK;
}

void qh__zyz_angles(const double complex u[4], double *theta, double *phi, double *lambda)
{
    /* v = u / sqrt(det u) is in SU(2): v = [[e^{-i s} c, -e^{-i d} s'], [e^{i d} s', e^{i s} c]]
     * with s = (phi + lambda)/2, d = (phi - lambda)/2, c = cos(theta/2) >= 0, s' = sin >= 0. */
    double complex det = u[0] * u[3] - u[1] * u[2];
    double g = carg(det) / 2;
    double complex v10 = u[2] * cexp(-I * g), v11 = u[3] * cexp(-I * g);
    *theta = 2 * atan2(cabs(u[2]), cabs(u[0]));
    double sum = cabs(v11) > 0 ? carg(v11) : 0, diff = cabs(v10) > 0 ? carg(v10) : 0;
    *phi = sum + diff;
    *lambda = sum - diff;
}

double qh__phase_between(const double complex *u, const double complex *m, int n)
{
    double complex t = 0;
    for (int k = 0; k < n * n; k++)
        t += conj(m[k]) * u[k];
    return carg(t);
}

int qh__is_unitary(const double complex *u, int n, double tol)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double complex t = 0;
            for (int k = 0; k < n; k++)
                t += conj(u[k * n + i]) * u[k * n + j];
            t -= (i == j);
            if (!(creal(t) * creal(t) + cimag(t) * cimag(t) <= tol * tol)) /* NaN fails too */
                return 0;
        }
    return 1;
}

/* a in (-pi, pi]. */
static double s_wrap(double a)
{
    a = remainder(a, 2 * M_PI);
    return a <= -M_PI ? a + 2 * M_PI : a;
}

static qh_status s_rz(qh__sseq *out, int q, double a, double tol)
{
    a = s_wrap(a);
    if (fabs(a) < tol)
        return QH_OK;
    return qh__sseq_push(out, QH_GATE_RZ, q, 0, a, 0, 0);
}

/* m = g m for the 2x2 matrix of one-qubit gate g. */
static void s_apply(const qh__sgate *g, double complex m[4])
{
    double complex a[4], r[4];
    const qh_gate_info *in = qh_gate_get_info(g->gate);
    qh_gate_matrix(g->gate, g->params, in->num_params, a);
    r[0] = a[0] * m[0] + a[1] * m[2];
    r[1] = a[0] * m[1] + a[1] * m[3];
    r[2] = a[2] * m[0] + a[3] * m[2];
    r[3] = a[2] * m[1] + a[3] * m[3];
    memcpy(m, r, sizeof r);
}

qh_status qh__synth_1q_zsx(const double complex u[4], int q, double tol, qh__sseq *out)
{
    qh_status st = QH_OK;
    if (!qh__is_unitary(u, 2, 1e-6))
        return QH_ERROR(QH_EINVAL, "one-qubit synthesis: the 2x2 matrix is not unitary");
    int mark = out->len;
    double th, ph, la;
    qh__zyz_angles(u, &th, &ph, &la);
    if (th < tol) {
        /* diagonal: the angle from the ratio of the diagonal entries alone */
        QH_TRY(s_rz(out, q, carg(u[3]) - carg(u[0]), tol));
    } else if (M_PI - th < tol) {
        /* anti-diagonal: u ~ rz(phi - lambda) ry(pi) ~ rz(phi - lambda - pi) x */
        QH_TRY(qh__sseq_push(out, QH_GATE_X, q, 0, 0, 0, 0));
        QH_TRY(s_rz(out, q, carg(u[2]) - carg(-u[1]) - M_PI, tol));
    } else if (fabs(th - M_PI / 2) < tol) {
        QH_TRY(s_rz(out, q, la - M_PI / 2, tol));
        QH_TRY(qh__sseq_push(out, QH_GATE_SX, q, 0, 0, 0, 0));
        QH_TRY(s_rz(out, q, ph + M_PI / 2, tol));
    } else {
        QH_TRY(s_rz(out, q, la - M_PI, tol));
        QH_TRY(qh__sseq_push(out, QH_GATE_SX, q, 0, 0, 0, 0));
        QH_TRY(s_rz(out, q, M_PI - th, tol));
        QH_TRY(qh__sseq_push(out, QH_GATE_SX, q, 0, 0, 0, 0));
        QH_TRY(s_rz(out, q, ph, tol));
    }
    double complex m[4] = {1, 0, 0, 1};
    for (int k = mark; k < out->len; k++)
        s_apply(&out->g[k], m);
    out->phase = s_wrap(out->phase + qh__phase_between(u, m, 2));
    return QH_OK;
fail:
    out->len = mark;
    return st;
}
