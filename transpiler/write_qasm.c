/* The OpenQASM writer of transpiled circuits: OpenQASM 2.0 with qelib1.inc (plus a `gate
 * ecr` definition, which qelib1.inc lacks) or OpenQASM 3 with stdgates.inc. One register
 * q holds every physical qubit; the classical registers are the input's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/transpiled.h"

/* ECR(a,b) = X_a exp(-i pi/4 Z_a X_b), written with qelib1/stdgates gates. */
static const char s_ecr_def[] = "gate ecr a, b { h b; cx a, b; rz(pi/2) b; cx a, b; h b; x a; }\n";

/* The register holding clbit b and b's index in it; -1 when none does. */
static int s_creg_of(const qh_transpiled *t, int b, int *idx)
{
    for (int i = 0; i < t->num_cregs; i++)
        if (b >= t->cregs[i].first && b < t->cregs[i].first + t->cregs[i].size) {
            *idx = b - t->cregs[i].first;
            return i;
        }
    return -1;
}

static qh_status s_op(FILE *f, const qh_transpiled *t, const qh__top *o, int v3)
{
    const qh__tcirc *c = &t->c;
    const int *q = qh__tc_q(c, o);
    if (o->has_cond) {
        int r = -1;
        for (int i = 0; i < t->num_cregs && r < 0; i++)
            if (t->cregs[i].first == o->cond_first && t->cregs[i].size == o->cond_width)
                r = i;
        if (r < 0)
            return QH_ERROR(QH_EUNSUPPORTED,
                            "a condition on classical bits %d..%d, which are not one whole "
                            "register, cannot be written in OpenQASM",
                            o->cond_first, o->cond_first + o->cond_width - 1);
        fprintf(f, v3 ? "if (%s == %" PRIu64 ") " : "if(%s==%" PRIu64 ") ", t->cregs[r].name,
                o->cond_value);
    }
    switch (o->kind) {
    case QH__T_MEASURE: {
        int idx = 0, r = s_creg_of(t, o->clbit, &idx);
        if (r < 0)
            return QH_ERROR(QH_EINTERNAL, "classical bit %d is in no register", o->clbit);
        if (v3)
            fprintf(f, "%s[%d] = measure q[%d];\n", t->cregs[r].name, idx, q[0]);
        else
            fprintf(f, "measure q[%d] -> %s[%d];\n", q[0], t->cregs[r].name, idx);
        return QH_OK;
    }
    case QH__T_RESET:
        fprintf(f, "reset q[%d];\n", q[0]);
        return QH_OK;
    case QH__T_BARRIER:
        fputs("barrier ", f);
        for (int k = 0; k < o->nq; k++)
            fprintf(f, "%sq[%d]", k ? ", " : "", q[k]);
        fputs(";\n", f);
        return QH_OK;
    case QH__T_UNITARY:
        return QH_ERROR(QH_EINTERNAL, "an explicit matrix was left in the output");
    default:
        break;
    }
    if (o->gate == QH__GATE_ECR) {
        fprintf(f, "ecr q[%d], q[%d];\n", q[0], q[1]);
        return QH_OK;
    }
    const qh_gate_info *gi = qh_gate_get_info((qh_gate)o->gate);
    fputs(gi->name, f);
    if (gi->num_params) {
        fputc('(', f);
        for (unsigned k = 0; k < gi->num_params; k++)
            fprintf(f, "%s%.17g", k ? ", " : "", o->p[k]);
        fputc(')', f);
    }
    for (int k = 0; k < o->nq; k++)
        fprintf(f, "%sq[%d]", k ? ", " : " ", q[k]);
    fputs(";\n", f);
    return QH_OK;
}

qh_status qh_transpiled_write_qasm(const qh_transpiled *t, FILE *f, int version)
{
    if (version != 2 && version != 3)
        return QH_ERROR(QH_EINVAL, "OpenQASM version %d: only 2 and 3 are written", version);
    int v3 = version == 3, ecr = 0;
    for (int i = 0; i < t->c.n && !ecr; i++)
        ecr = t->c.ops[i].kind == QH__T_GATE && t->c.ops[i].gate == QH__GATE_ECR;
    fputs(v3 ? "OPENQASM 3.0;\ninclude \"stdgates.inc\";\n"
             : "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n",
          f);
    if (ecr)
        fputs(s_ecr_def, f);
    fprintf(f, v3 ? "qubit[%d] q;\n" : "qreg q[%d];\n", t->c.num_qubits);
    for (int i = 0; i < t->num_cregs; i++)
        if (v3)
            fprintf(f, "bit[%d] %s;\n", t->cregs[i].size, t->cregs[i].name);
        else
            fprintf(f, "creg %s[%d];\n", t->cregs[i].name, t->cregs[i].size);
    for (int i = 0; i < t->c.n; i++) {
        if (t->c.ops[i].dead)
            continue;
        QH_CALL(s_op(f, t, &t->c.ops[i], v3));
    }
    if (fflush(f) != 0 || ferror(f))
        return QH_ERROR(QH_EIO, "cannot write the OpenQASM output");
    return QH_OK;
}

qh_status qh_transpiled_qasm(const qh_transpiled *t, int version, char **text)
{
    size_t len = 0;
    *text = NULL;
    FILE *f = open_memstream(text, &len);
    if (!f)
        return QH_ERROR(QH_ENOMEM, "no memory for the OpenQASM text");
    qh_status st = qh_transpiled_write_qasm(t, f, version);
    fclose(f);
    if (st != QH_OK) {
        free(*text);
        *text = NULL;
    }
    return st;
}
