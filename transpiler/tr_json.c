/* JSON for the transpiler, the one cJSON user of transpiler/: reading IBM backend
 * configuration and calibration files into targets, and writing transpilation reports. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transpiler/target_internal.h"
#include "transpiler/tr_internal.h"

/* Reads an integer field into *v; QH_EPARSE naming the field when it is not one. */
static qh_status s_int(const cJSON *item, const char *what, const char *field, long lo, long hi,
                       long *v)
{
    if (!cJSON_IsNumber(item) || item->valuedouble != (double)(long)item->valuedouble ||
        item->valuedouble < (double)lo || item->valuedouble > (double)hi)
        return QH_ERROR(QH_EPARSE, "%s: field '%s' must be an integer from %ld to %ld", what, field,
                        lo, hi);
    *v = (long)item->valuedouble;
    return QH_OK;
}

/* Calibration: per edge error and duration of the two-qubit gate, per qubit sx error. */
static qh_status s_props(const cJSON *root, const char *what, const char *gate2q, qh_target *t)
{
    qh_status st = QH_OK;
    const qh__coupling *c = &t->coupling;
    double *eerr = NULL, *qerr = NULL;
    const cJSON *gates = cJSON_GetObjectItemCaseSensitive(root, "gates");
    if (!cJSON_IsArray(gates))
        return QH_ERROR(QH_EPARSE, "%s: field 'gates' must be an array", what);
    eerr = malloc(sizeof *eerr * (size_t)(c->num_edges + 1));
    qerr = malloc(sizeof *qerr * (size_t)c->num_qubits);
    t->duration_2q = malloc(sizeof *t->duration_2q * (size_t)(c->num_edges + 1));
    if (!eerr || !qerr || !t->duration_2q)
        QH_FAIL(QH_ENOMEM, "no memory for calibration data");
    for (int i = 0; i < c->num_edges; i++)
        eerr[i] = -1, t->duration_2q[i] = -1;
    for (int i = 0; i < c->num_qubits; i++)
        qerr[i] = -1;
    int idx = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, gates)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(g, "gate");
        const cJSON *qs = cJSON_GetObjectItemCaseSensitive(g, "qubits");
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(g, "parameters");
        if (!cJSON_IsString(name) || !cJSON_IsArray(qs) || !cJSON_IsArray(params))
            QH_FAIL(QH_EPARSE,
                    "%s: gates[%d] needs 'gate' (a string), 'qubits' and 'parameters' (arrays)",
                    what, idx);
        int nq = cJSON_GetArraySize(qs);
        long q[2] = {0, 0};
        if (nq < 1 || nq > 2)
            goto next;
        for (int k = 0; k < nq; k++) {
            char field[64];
            snprintf(field, sizeof field, "gates[%d].qubits[%d]", idx, k);
            QH_TRY(s_int(cJSON_GetArrayItem(qs, k), what, field, 0, c->num_qubits - 1, &q[k]));
        }
        double err = -1, len = -1;
        const cJSON *p;
        cJSON_ArrayForEach(p, params)
        {
            const cJSON *pn = cJSON_GetObjectItemCaseSensitive(p, "name");
            const cJSON *pv = cJSON_GetObjectItemCaseSensitive(p, "value");
            if (!cJSON_IsString(pn) || !cJSON_IsNumber(pv))
                continue;
            if (strcmp(pn->valuestring, "gate_error") == 0)
                err = pv->valuedouble;
            else if (strcmp(pn->valuestring, "gate_length") == 0)
                len = pv->valuedouble * 1e-9;
        }
        if (nq == 1 && strcmp(name->valuestring, "sx") == 0) {
            qerr[q[0]] = err;
        } else if (nq == 2 && strcmp(name->valuestring, gate2q) == 0) {
            int e = qh__coupling_edge(c, (int)q[0], (int)q[1]);
            if (e < 0 && !c->directed)
                e = qh__coupling_edge(c, (int)q[1], (int)q[0]);
            if (e >= 0) {
                eerr[e] = err;
                t->duration_2q[e] = len;
            }
        }
    next:
        idx++;
    }
    /* unknown entries get the worst known one, so that they are avoided but usable */
    double worst = 0;
    for (int i = 0; i < c->num_edges; i++)
        worst = eerr[i] > worst ? eerr[i] : worst;
    for (int i = 0; i < c->num_edges; i++)
        eerr[i] = eerr[i] < 0 ? worst : eerr[i];
    worst = 0;
    for (int i = 0; i < c->num_qubits; i++)
        worst = qerr[i] > worst ? qerr[i] : worst;
    for (int i = 0; i < c->num_qubits; i++)
        qerr[i] = qerr[i] < 0 ? worst : qerr[i];
    QH_TRY(qh__coupling_set_errors(&t->coupling, eerr, qerr));
fail:
    free(eerr);
    free(qerr);
    return st;
}

qh_status qh__target_from_json(const char *conf, const char *what, const char *props,
                               const char *props_what, qh_target **out)
{
    qh_status st = QH_OK;
    cJSON *root = NULL, *proot = NULL;
    int(*edges)[2] = NULL;
    *out = NULL;
    root = cJSON_Parse(conf);
    if (!root || !cJSON_IsObject(root))
        QH_FAIL(QH_EPARSE, "%s: not a JSON object (an IBM backend configuration is expected)",
                what);
    long n = 0;
    QH_TRY(
        s_int(cJSON_GetObjectItemCaseSensitive(root, "n_qubits"), what, "n_qubits", 1, 4096, &n));

    const cJSON *basis = cJSON_GetObjectItemCaseSensitive(root, "basis_gates");
    if (!cJSON_IsArray(basis))
        QH_FAIL(QH_EPARSE, "%s: field 'basis_gates' must be an array of gate names", what);
    int has_rz = 0, has_sx = 0, has_x = 0, n2q = 0;
    qh__basis2q g2 = QH__BASIS_CZ;
    const char *g2name = NULL;
    const cJSON *b;
    cJSON_ArrayForEach(b, basis)
    {
        if (!cJSON_IsString(b))
            QH_FAIL(QH_EPARSE, "%s: field 'basis_gates' must hold only strings", what);
        const char *s = b->valuestring;
        has_rz |= strcmp(s, "rz") == 0;
        has_sx |= strcmp(s, "sx") == 0;
        has_x |= strcmp(s, "x") == 0;
        if (strcmp(s, "cz") == 0 || strcmp(s, "cx") == 0 || strcmp(s, "ecr") == 0) {
            if (n2q++ == 0) {
                g2name = s;
                g2 = s[0] == 'e' ? QH__BASIS_ECR : s[1] == 'z' ? QH__BASIS_CZ : QH__BASIS_CX;
            }
        }
    }
    if (!has_rz || !has_sx || n2q == 0)
        QH_FAIL(QH_EPARSE, "%s: field 'basis_gates' must include rz, sx and one of cz, cx, ecr",
                what);

    const cJSON *cmap = cJSON_GetObjectItemCaseSensitive(root, "coupling_map");
    if (!cJSON_IsArray(cmap))
        QH_FAIL(QH_EPARSE, "%s: field 'coupling_map' must be an array of [control, target] pairs",
                what);
    int ne = cJSON_GetArraySize(cmap);
    edges = malloc(sizeof *edges * (size_t)(ne + 1));
    if (!edges)
        QH_FAIL(QH_ENOMEM, "no memory for a coupling map");
    for (int i = 0; i < ne; i++) {
        const cJSON *pair = cJSON_GetArrayItem(cmap, i);
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
            QH_FAIL(QH_EPARSE, "%s: field 'coupling_map[%d]' must be a pair of qubits", what, i);
        for (int k = 0; k < 2; k++) {
            char field[64];
            long v = 0;
            snprintf(field, sizeof field, "coupling_map[%d][%d]", i, k);
            QH_TRY(s_int(cJSON_GetArrayItem(pair, k), what, field, 0, n - 1, &v));
            edges[i][k] = (int)v;
        }
        if (edges[i][0] == edges[i][1])
            QH_FAIL(QH_EPARSE, "%s: field 'coupling_map[%d]' joins qubit %d to itself", what, i,
                    edges[i][0]);
    }
    /* directed unless every pair is listed both ways; cz is symmetric whatever the map says.
     * An undirected map keeps one entry per pair. */
    int directed = 0;
    if (g2 != QH__BASIS_CZ)
        for (int i = 0; i < ne && !directed; i++) {
            int back = 0;
            for (int j = 0; j < ne && !back; j++)
                back = edges[j][0] == edges[i][1] && edges[j][1] == edges[i][0];
            directed = !back;
        }
    int kept = ne;
    if (!directed) {
        kept = 0;
        for (int i = 0; i < ne; i++) {
            int a = edges[i][0] < edges[i][1] ? edges[i][0] : edges[i][1];
            int bb = edges[i][0] ^ edges[i][1] ^ a, dup = 0;
            for (int j = 0; j < kept && !dup; j++)
                dup = edges[j][0] == a && edges[j][1] == bb;
            if (!dup)
                edges[kept][0] = a, edges[kept++][1] = bb;
        }
    }
    const cJSON *bn = cJSON_GetObjectItemCaseSensitive(root, "backend_name");
    QH_TRY(qh__target_from_edges(cJSON_IsString(bn) ? bn->valuestring : what, (int)n, kept,
                                 (const int(*)[2])edges, directed, g2, has_x, out));
    if (props) {
        proot = cJSON_Parse(props);
        if (!proot || !cJSON_IsObject(proot))
            QH_FAIL(QH_EPARSE, "%s: not a JSON object (IBM backend calibration expected)",
                    props_what);
        QH_TRY(s_props(proot, props_what, g2name, *out));
    }
    cJSON_Delete(root);
    cJSON_Delete(proot);
    free(edges);
    return QH_OK;
fail:
    qh_target_destroy(out);
    cJSON_Delete(root);
    cJSON_Delete(proot);
    free(edges);
    return st;
}

qh_status qh__report_entry_json(const char *name, const qh_transpile_report *r, const char *error,
                                char **out)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return QH_ERROR(QH_ENOMEM, "no memory for a report");
    cJSON_AddStringToObject(o, "name", name);
    if (!r) {
        cJSON_AddStringToObject(o, "error", error ? error : "failed");
    } else {
        cJSON_AddNumberToObject(o, "num_qubits", r->num_qubits);
        cJSON *il = cJSON_AddArrayToObject(o, "initial_layout");
        cJSON *fl = cJSON_AddArrayToObject(o, "final_layout");
        for (unsigned v = 0; il && fl && v < r->num_qubits; v++) {
            cJSON_AddItemToArray(il, cJSON_CreateNumber(r->initial_layout[v]));
            cJSON_AddItemToArray(fl, cJSON_CreateNumber(r->final_layout[v]));
        }
        cJSON_AddNumberToObject(o, "two_qubit_gates", (double)r->two_qubit_gates);
        cJSON_AddNumberToObject(o, "size", (double)r->size);
        cJSON_AddNumberToObject(o, "depth", (double)r->depth);
        cJSON_AddNumberToObject(o, "depth_2q", (double)r->depth_2q);
        cJSON_AddNumberToObject(o, "seconds", r->seconds);
    }
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *out ? QH_OK : QH_ERROR(QH_ENOMEM, "no memory for a report");
}

qh_status qh__report_write(FILE *f, const char *const *entries, size_t n, const char *target,
                           int level, uint64_t seed, int ranks)
{
    qh_status st = QH_OK;
    char *text = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *list = root ? cJSON_AddArrayToObject(root, "circuits") : NULL;
    if (!list)
        QH_FAIL(QH_ENOMEM, "no memory for a report");
    for (size_t i = 0; i < n; i++) {
        cJSON *e = entries[i] ? cJSON_Parse(entries[i]) : NULL;
        if (!e)
            QH_FAIL(QH_EPARSE, "report entry %zu is not JSON", i);
        cJSON_AddItemToArray(list, e);
    }
    cJSON_AddStringToObject(root, "target", target);
    cJSON_AddNumberToObject(root, "optimization_level", level);
    char seedtext[32];
    snprintf(seedtext, sizeof seedtext, "%llu", (unsigned long long)seed);
    /* a number when it is exact as a double, else the decimal string */
    if (seed <= (1ull << 53))
        cJSON_AddNumberToObject(root, "seed", (double)seed);
    else
        cJSON_AddStringToObject(root, "seed", seedtext);
    cJSON_AddNumberToObject(root, "ranks", ranks);
    text = cJSON_Print(root);
    if (!text)
        QH_FAIL(QH_ENOMEM, "no memory for a report");
    if (fputs(text, f) < 0 || fputc('\n', f) < 0 || fflush(f) != 0)
        QH_FAIL(QH_EIO, "cannot write the report");
fail:
    free(text);
    cJSON_Delete(root);
    return st;
}
