/* Whole runs on QASMBench's medium circuits, too wide for the sanitizer build: every circuit
 * of tests/data/qasmbench/medium/ of up to S_MAX_IN qubits, transpiled for heavy-hex:D (D the
 * smallest odd distance with enough qubits) at -O1, -O2 and -O3 and for ibm_torino and
 * ibm_sherbrooke at -O1 and -O3, comes out in the target's basis, on its edges and
 * directions, with its measured bits, and equivalent to its input (tr_check.h: the unitary
 * part, from random input states placed by the initial layout and read through the final
 * layout, on the active physical qubits, up to a global phase) whenever its active physical
 * qubits number at most S_MAX_ACTIVE. Registered with label `large`: the optimised build runs
 * it (scripts/test.sh). */
#include <dirent.h>
#include <stdio.h>

#include "qhybrid/qasm.h"
#include "tests/transpiler/tr_check.h"

/* Widest input simulated, and most active physical qubits of an output simulated. */
#define S_MAX_IN     22
#define S_MAX_ACTIVE 22
/* Random input states per output. */
#define S_TRIALS 2

typedef struct {
    char name[64];
    qh_circuit *c;
} s_item;

static int s_cmp(const void *a, const void *b)
{
    return strcmp(((const s_item *)a)->name, ((const s_item *)b)->name);
}

/* The medium circuits of up to S_MAX_IN qubits, sorted by name; returns their number. */
static size_t s_load(s_item *items, size_t cap)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/medium", QH_QASMBENCH_DIR);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".qasm") != 0)
            continue;
        if (len > 60)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        qh_circuit *c = NULL;
        if (qh_qasm_parse_file(path, &c) != QH_OK)
            fail_msg("%s: %s", path, qh_last_error());
        if (qh_circuit_num_qubits(c) > S_MAX_IN) {
            qh_circuit_destroy(&c);
            continue;
        }
        snprintf(items[n].name, sizeof items[n].name, "%.*s", (int)(len - 5), e->d_name);
        items[n++].c = c;
    }
    closedir(d);
    qsort(items, n, sizeof *items, s_cmp);
    return n;
}

/* Transpiles every circuit for spec (NULL: heavy-hex of the circuit's size) at each level of
 * levels; returns the number of outputs checked by simulation. */
static int s_run(const char *spec, const int *levels, int nlevels)
{
    static s_item items[64];
    size_t n = s_load(items, 64);
    assert_true(n >= 8);
    ref_rng rng = {2026};
    int checked = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        char hh[32];
        const char *sp = spec;
        if (!sp) {
            unsigned q = qh_circuit_num_qubits(items[i].c), d = 3;
            while ((5 * d * d - 2 * d - 1) / 2 < q)
                d += 2;
            snprintf(hh, sizeof hh, "heavy-hex:%u", d);
            sp = hh;
        }
        qh_target *tg = NULL;
        if (qh_target_create(sp, &tg) != QH_OK)
            fail_msg("%s: %s", sp, qh_last_error());
        for (int l = 0; l < nlevels; l++) {
            char what[512];
            snprintf(what, sizeof what, "%.60s on %.40s at -O%d", items[i].name, sp, levels[l]);
            qh_transpile_options o = {.optimization_level = levels[l], .seed = 11};
            qh_transpiled *t = NULL;
            qh_transpile_report rep;
            if (qh_transpile(items[i].c, tg, &o, &t, &rep) != QH_OK)
                fail_msg("%s: %s", what, qh_last_error());
            tr_check_form(t, tg, items[i].c, what);
            assert_int_equal(rep.num_qubits, qh_circuit_num_qubits(items[i].c));
            int ok = tr_check_equivalent_upto(t, &rep, items[i].c, S_TRIALS, &rng, what, S_MAX_IN,
                                              S_MAX_ACTIVE);
            checked += ok;
            skipped += !ok;
            if (!ok)
                printf("# %s: not simulated (more than %d active qubits)\n", what, S_MAX_ACTIVE);
            qh_transpile_report_free(&rep);
            qh_transpiled_destroy(&t);
        }
        qh_target_destroy(&tg);
    }
    printf("# %s: %d outputs checked by simulation, %d too wide\n", spec ? spec : "heavy-hex:D",
           checked, skipped);
    for (size_t i = 0; i < n; i++)
        qh_circuit_destroy(&items[i].c);
    return checked;
}

static void test_heavy_hex(void **state)
{
    (void)state;
    static const int levels[] = {1, 2, 3};
    /* every circuit of up to 19 qubits fits heavy-hex:3 with no room to spread out */
    assert_true(s_run(NULL, levels, 3) >= 3 * 8);
}

static void test_ibm_torino(void **state)
{
    (void)state;
    static const int levels[] = {1, 3};
    assert_true(s_run("ibm_torino", levels, 2) >= 2 * 6);
}

static void test_ibm_sherbrooke(void **state)
{
    (void)state;
    static const int levels[] = {1, 3};
    assert_true(s_run("ibm_sherbrooke", levels, 2) >= 2 * 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heavy_hex),
        cmocka_unit_test(test_ibm_torino),
        cmocka_unit_test(test_ibm_sherbrooke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
