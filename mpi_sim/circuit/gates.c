/* The standard gate set: names, arities and the unitary of each gate's target part, with
 * Qiskit's matrix conventions. The circuit, the QASM reader, the planner and the test
 * reference all take their gate facts from here. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "qhybrid/circuit.h"

static const qh_gate_info s_info[QH_GATE_COUNT] = {
#define S_INFO(id, name, nq, nc, np) [QH_GATE_##id] = {name, nq, nc, np},
    QH_GATE_MAP(S_INFO)
#undef S_INFO
};

const qh_gate_info *qh_gate_get_info(qh_gate g)
{
    if ((unsigned)g >= QH_GATE_COUNT)
        return NULL;
    return &s_info[g];
}

qh_gate qh_gate_lookup(const char *name)
{
    for (unsigned g = 0; g < QH_GATE_COUNT; g++)
        if (strcmp(s_info[g].name, name) == 0)
            return (qh_gate)g;
    return QH_GATE_COUNT;
}

static void s_u3(double th, double ph, double la, double complex *m)
{
    double c = cos(th / 2), s = sin(th / 2);
    m[0] = c;
    m[1] = -cexp(I * la) * s;
    m[2] = cexp(I * ph) * s;
    m[3] = cexp(I * (ph + la)) * c;
}

static void s_diag(unsigned dim, const double complex *d, double complex *m)
{
    for (unsigned r = 0; r < dim; r++)
        for (unsigned c = 0; c < dim; c++)
            m[r * dim + c] = r == c ? d[r] : 0;
}

qh_status qh_gate_matrix(qh_gate g, const double *p, unsigned num_params, double complex *m)
{
    const qh_gate_info *info = qh_gate_get_info(g);
    if (!info)
        return QH_ERROR(QH_EINVAL, "unknown gate %d", (int)g);
    if (num_params != info->num_params)
        return QH_ERROR(QH_EINVAL, "gate %s takes %u parameters, %u given", info->name,
                        info->num_params, num_params);
    const double r2 = M_SQRT1_2;
    switch (g) {
    case QH_GATE_ID:
    case QH_GATE_U0:
        s_diag(2, (const double complex[]){1, 1}, m);
        break;
    case QH_GATE_X:
    case QH_GATE_CX:
    case QH_GATE_CCX:
    case QH_GATE_C3X:
    case QH_GATE_C4X:
    case QH_GATE_MCX:
        m[0] = 0, m[1] = 1, m[2] = 1, m[3] = 0;
        break;
    case QH_GATE_Y:
    case QH_GATE_CY:
        m[0] = 0, m[1] = -I, m[2] = I, m[3] = 0;
        break;
    case QH_GATE_Z:
    case QH_GATE_CZ:
    case QH_GATE_CCZ:
        s_diag(2, (const double complex[]){1, -1}, m);
        break;
    case QH_GATE_H:
    case QH_GATE_CH:
        m[0] = r2, m[1] = r2, m[2] = r2, m[3] = -r2;
        break;
    case QH_GATE_S:
        s_diag(2, (const double complex[]){1, I}, m);
        break;
    case QH_GATE_SDG:
        s_diag(2, (const double complex[]){1, -I}, m);
        break;
    case QH_GATE_T:
        s_diag(2, (const double complex[]){1, cexp(I * M_PI / 4)}, m);
        break;
    case QH_GATE_TDG:
        s_diag(2, (const double complex[]){1, cexp(-I * M_PI / 4)}, m);
        break;
    case QH_GATE_SX:
    case QH_GATE_CSX:
    case QH_GATE_C3SQRTX:
        m[0] = (1 + I) / 2, m[1] = (1 - I) / 2, m[2] = (1 - I) / 2, m[3] = (1 + I) / 2;
        break;
    case QH_GATE_SXDG:
        m[0] = (1 - I) / 2, m[1] = (1 + I) / 2, m[2] = (1 + I) / 2, m[3] = (1 - I) / 2;
        break;
    case QH_GATE_RX:
    case QH_GATE_CRX: {
        double c = cos(p[0] / 2), s = sin(p[0] / 2);
        m[0] = c, m[1] = -I * s, m[2] = -I * s, m[3] = c;
        break;
    }
    case QH_GATE_RY:
    case QH_GATE_CRY: {
        double c = cos(p[0] / 2), s = sin(p[0] / 2);
        m[0] = c, m[1] = -s, m[2] = s, m[3] = c;
        break;
    }
    case QH_GATE_RZ:
    case QH_GATE_CRZ:
        s_diag(2, (const double complex[]){cexp(-I * p[0] / 2), cexp(I * p[0] / 2)}, m);
        break;
    case QH_GATE_P:
    case QH_GATE_U1:
    case QH_GATE_CP:
    case QH_GATE_CU1:
    case QH_GATE_MCP:
        s_diag(2, (const double complex[]){1, cexp(I * p[0])}, m);
        break;
    case QH_GATE_U2:
        m[0] = r2, m[1] = -cexp(I * p[1]) * r2;
        m[2] = cexp(I * p[0]) * r2, m[3] = cexp(I * (p[0] + p[1])) * r2;
        break;
    case QH_GATE_U3:
    case QH_GATE_U:
    case QH_GATE_CU3:
        s_u3(p[0], p[1], p[2], m);
        break;
    case QH_GATE_CU: {
        s_u3(p[0], p[1], p[2], m);
        double complex ph = cexp(I * p[3]);
        for (int i = 0; i < 4; i++)
            m[i] *= ph;
        break;
    }
    case QH_GATE_SWAP:
    case QH_GATE_CSWAP:
        memset(m, 0, 16 * sizeof *m);
        m[0 * 4 + 0] = 1, m[1 * 4 + 2] = 1, m[2 * 4 + 1] = 1, m[3 * 4 + 3] = 1;
        break;
    case QH_GATE_RXX:
    case QH_GATE_RYY: {
        double c = cos(p[0] / 2), s = sin(p[0] / 2);
        double complex far = g == QH_GATE_RXX ? -I * s : I * s; /* |00> <-> |11> */
        memset(m, 0, 16 * sizeof *m);
        m[0] = m[5] = m[10] = m[15] = c;
        m[0 * 4 + 3] = m[3 * 4 + 0] = far;
        m[1 * 4 + 2] = m[2 * 4 + 1] = -I * s;
        break;
    }
    case QH_GATE_RZZ: {
        double complex a = cexp(-I * p[0] / 2), b = cexp(I * p[0] / 2);
        s_diag(4, (const double complex[]){a, b, b, a}, m);
        break;
    }
    case QH_GATE_COUNT:
        return QH_ERROR(QH_EINVAL, "unknown gate");
    }
    return QH_OK;
}
