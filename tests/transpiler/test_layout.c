/* Layout: the trivial layout; VF2 places a circuit with no swap when its interaction graph
 * fits the coupling graph (lines on grids, pieces of a heavy-hex lattice), says so when it
 * cannot (a triangle on a bipartite grid) or when the call limit runs out, and prefers
 * low-error qubits; SABRE layout gives valid, thread-count-independent layouts that need
 * fewer swaps than the trivial one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "graphs.h"

/* Every interaction of rc on an edge under layout, and layout injective into c. */
static void s_check_embedding(const qh__coupling *c, const qh__rcircuit *rc, const int *layout)
{
    char *used = calloc((size_t)c->num_qubits, 1);
    for (int v = 0; v < rc->num_virtual; v++) {
        assert_true(layout[v] >= 0 && layout[v] < c->num_qubits);
        assert_int_equal(used[layout[v]], 0);
        used[layout[v]] = 1;
    }
    for (int i = 0; i < rc->num_ops; i++) {
        int k = rc->op_start[i];
        if (rc->op_start[i + 1] - k == 2)
            assert_true(
                qh__coupling_adjacent(c, layout[rc->op_qubits[k]], layout[rc->op_qubits[k + 1]]));
    }
    free(used);
}

static void test_trivial(void **state)
{
    (void)state;
    qh__coupling c;
    t_line(&c, 4);
    t_circ t = {0};
    t.rc.num_virtual = 3;
    t_op2(&t, 0, 2);
    int layout[5];
    assert_int_equal(qh__layout_trivial(&c, &t.rc, layout), QH_OK);
    for (int v = 0; v < 3; v++)
        assert_int_equal(layout[v], v);
    t.rc.num_virtual = 5;
    assert_int_equal(qh__layout_trivial(&c, &t.rc, layout), QH_EINVAL);
    t_circ_free(&t);
    qh__coupling_free(&c);
}

/* A chain 0-1-...-(n-1) visited in a shuffled order of its links, each twice. */
static void s_line_circuit(t_circ *t, int n, uint64_t seed)
{
    qh_rng r;
    qh_rng_seed(&r, seed);
    memset(t, 0, sizeof *t);
    t->rc.num_virtual = n;
    int *perm = malloc(sizeof *perm * (size_t)n);
    t_random_layout(perm, n, n, seed); /* relabels the chain */
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i + 1 < n; i++) {
            int k = t_rand(&r, n - 1);
            t_op2(t, perm[k], perm[k + 1]);
            t_op(t, 1, &perm[k]);
        }
    for (int i = 0; i + 1 < n; i++)
        t_op2(t, perm[i + 1], perm[i]);
    free(perm);
}

static void test_vf2_line_on_grid(void **state)
{
    (void)state;
    qh__coupling c;
    t_grid(&c, 4, 4);
    int sizes[] = {5, 12, 16};
    for (int i = 0; i < 3; i++) {
        t_circ t;
        s_line_circuit(&t, sizes[i], 10 + (uint64_t)i);
        int layout[16], found = -1;
        assert_int_equal(qh__layout_vf2(&c, &t.rc, 1000000, layout, &found), QH_OK);
        assert_int_equal(found, 1);
        s_check_embedding(&c, &t.rc, layout);
        t_circ_free(&t);
    }
    qh__coupling_free(&c);
}

/* A connected piece of a heavy-hex lattice (breadth-first from a random qubit, with every
 * coupling edge inside it), relabelled at random, plus two idle qubits, fits with no swap. */
static void test_vf2_heavy_hex(void **state)
{
    (void)state;
    qh__coupling c;
    int n = t_heavy_hex(&c, 5);
    for (int round = 0; round < 4; round++) {
        qh_rng r;
        qh_rng_seed(&r, 500 + (uint64_t)round);
        int take = 20 + 4 * round;
        int *queue = malloc(sizeof *queue * (size_t)n), *label = malloc(sizeof *label * (size_t)n);
        int *relabel = malloc(sizeof *relabel * (size_t)(take + 2));
        for (int p = 0; p < n; p++)
            label[p] = -1;
        int head = 0, tail = 0;
        queue[tail++] = t_rand(&r, n);
        label[queue[0]] = 0;
        while (head < tail && tail < take) {
            int p = queue[head++];
            for (int k = c.nbr_start[p]; k < c.nbr_start[p + 1] && tail < take; k++)
                if (label[c.nbr[k]] < 0) {
                    label[c.nbr[k]] = tail;
                    queue[tail++] = c.nbr[k];
                }
        }
        take = tail;
        t_random_layout(relabel, take + 2, take + 2, 900 + (uint64_t)round);
        t_circ t = {0};
        t.rc.num_virtual = take + 2;
        for (int e = 0; e < c.num_edges; e++) {
            int a = label[c.edges[e][0]], b = label[c.edges[e][1]];
            if (a >= 0 && b >= 0)
                t_op2(&t, relabel[a], relabel[b]);
        }
        t_op(&t, 1, &relabel[take + 1]);
        int *layout = malloc(sizeof *layout * (size_t)(take + 2)), found = -1;
        assert_int_equal(qh__layout_vf2(&c, &t.rc, 10000000, layout, &found), QH_OK);
        assert_int_equal(found, 1);
        s_check_embedding(&c, &t.rc, layout);
        free(layout);
        free(queue);
        free(label);
        free(relabel);
        t_circ_free(&t);
    }
    qh__coupling_free(&c);
}

static void test_vf2_not_found(void **state)
{
    (void)state;
    qh__coupling c;
    t_grid(&c, 4, 4);
    t_circ t = {0};
    t.rc.num_virtual = 3;
    t_op2(&t, 0, 1);
    t_op2(&t, 1, 2);
    t_op2(&t, 2, 0);
    int layout[4], found = -1;
    assert_int_equal(qh__layout_vf2(&c, &t.rc, 1000000, layout, &found), QH_OK);
    assert_int_equal(found, 0); /* a grid has no odd cycle */
    /* a square fits */
    t.rc.num_virtual = 4;
    t_op2(&t, 2, 3);
    t.rc.num_ops = 0;
    t_op2(&t, 0, 1);
    t_op2(&t, 1, 2);
    t_op2(&t, 2, 3);
    t_op2(&t, 3, 0);
    assert_int_equal(qh__layout_vf2(&c, &t.rc, 1000000, layout, &found), QH_OK);
    assert_int_equal(found, 1);
    s_check_embedding(&c, &t.rc, layout);
    /* a qubit with five partners fits nowhere: grid qubits have at most four */
    t_circ star = {0};
    star.rc.num_virtual = 6;
    for (int v = 1; v < 6; v++)
        t_op2(&star, 0, v);
    assert_int_equal(qh__layout_vf2(&c, &star.rc, 1000000, layout, &found), QH_OK);
    assert_int_equal(found, 0);
    t_circ_free(&star);
    /* too many qubits */
    t.rc.num_virtual = 17;
    assert_int_equal(qh__layout_vf2(&c, &t.rc, 1000000, layout, &found), QH_EINVAL);
    t_circ_free(&t);
    qh__coupling_free(&c);
}

static void test_vf2_call_limit(void **state)
{
    (void)state;
    qh__coupling c;
    t_grid(&c, 4, 4);
    t_circ t;
    s_line_circuit(&t, 16, 3);
    int layout[16], found = -1;
    /* placing 16 qubits takes at least 16 tries */
    assert_int_equal(qh__layout_vf2(&c, &t.rc, 15, layout, &found), QH_OK);
    assert_int_equal(found, 0);
    assert_int_equal(qh__layout_vf2(&c, &t.rc, 100000000, layout, &found), QH_OK);
    assert_int_equal(found, 1);
    s_check_embedding(&c, &t.rc, layout);
    t_circ_free(&t);
    qh__coupling_free(&c);
}

/* The score VF2 minimises, computed directly. */
static double s_error(const qh__coupling *c, const qh__rcircuit *rc, const int *layout)
{
    double total = 0.0;
    int *n1q = calloc((size_t)rc->num_virtual, sizeof *n1q);
    int *active = calloc((size_t)rc->num_virtual, sizeof *active);
    for (int i = 0; i < rc->num_ops; i++) {
        int k = rc->op_start[i], nq = rc->op_start[i + 1] - k;
        if (nq == 1)
            n1q[rc->op_qubits[k]]++;
        if (nq != 2)
            continue;
        int a = layout[rc->op_qubits[k]], b = layout[rc->op_qubits[k + 1]];
        int e = qh__coupling_edge(c, a, b);
        if (e < 0)
            e = qh__coupling_edge(c, b, a);
        assert_true(e >= 0);
        total += c->edge_error[e];
        active[rc->op_qubits[k]] = active[rc->op_qubits[k + 1]] = 1;
    }
    for (int v = 0; v < rc->num_virtual; v++)
        if (active[v])
            total += (1.0 + n1q[v]) * c->qubit_error[layout[v]];
    free(n1q);
    free(active);
    return total;
}

static void test_vf2_prefers_low_error(void **state)
{
    (void)state;
    qh__coupling c;
    t_ring(&c, 10);
    double eerr[10], qerr[10];
    /* edge e joins e and e+1; 3-4 is the best edge but its neighbours are poor, so the
     * first placement tried (around 3) is not the best one (around 6) */
    for (int e = 0; e < 10; e++)
        eerr[e] = e == 3 ? 0.0001 : (e == 5 || e == 6) ? 0.001 : 0.05;
    for (int p = 0; p < 10; p++)
        qerr[p] = 0.01 + 0.0001 * p;
    assert_int_equal(qh__coupling_set_errors(&c, eerr, qerr), QH_OK);
    /* a chain 0-1-2, heavier on 1-2, with one-qubit ops on 1, and an idle qubit 3 */
    t_circ t = {0};
    t.rc.num_virtual = 4;
    t_op2(&t, 0, 1);
    for (int i = 0; i < 3; i++)
        t_op2(&t, 1, 2);
    int one = 1;
    t_op(&t, 1, &one);
    int layout[4], found = -1;
    assert_int_equal(qh__layout_vf2(&c, &t.rc, 1000000, layout, &found), QH_OK);
    assert_int_equal(found, 1);
    s_check_embedding(&c, &t.rc, layout);
    /* brute force over every placement of the chain */
    double best = 1e9;
    for (int a = 0; a < 10; a++)
        for (int b = 0; b < 10; b++)
            for (int d = 0; d < 10; d++) {
                int l[4] = {a, b, d, -1};
                if (a == b || b == d || a == d || !qh__coupling_adjacent(&c, a, b) ||
                    !qh__coupling_adjacent(&c, b, d))
                    continue;
                double x = s_error(&c, &t.rc, l);
                if (x < best)
                    best = x;
            }
    assert_true(s_error(&c, &t.rc, layout) <= best + 1e-12);
    assert_int_equal(layout[1], 6);
    /* the idle qubit takes the free qubit with the lowest error */
    for (int p = 0; p < 10; p++)
        if (p != layout[0] && p != layout[1] && p != layout[2])
            assert_true(qerr[layout[3]] <= qerr[p]);
    t_circ_free(&t);
    qh__coupling_free(&c);
}

static void test_sabre_layout_valid_and_deterministic(void **state)
{
    (void)state;
    qh__coupling c;
    t_heavy_hex(&c, 5);
    t_circ t;
    t_random_circuit(&t, 30, 600, 42);
    int ref[30], layout[30];
    qh__route_options opt = {.seed = 9, .trials = 6, .num_threads = 1};
    assert_int_equal(qh__layout_sabre(&c, &t.rc, &opt, ref), QH_OK);
    char used[57] = {0};
    for (int v = 0; v < 30; v++) {
        assert_true(ref[v] >= 0 && ref[v] < 57);
        assert_int_equal(used[ref[v]], 0);
        used[ref[v]] = 1;
    }
    int threads[] = {2, 4, 1};
    for (int i = 0; i < 3; i++) {
        opt.num_threads = threads[i];
        assert_int_equal(qh__layout_sabre(&c, &t.rc, &opt, layout), QH_OK);
        assert_memory_equal(ref, layout, sizeof ref);
    }
    qh__routed r;
    assert_int_equal(qh__route_sabre(&c, &t.rc, layout, &opt, &r), QH_OK);
    t_check_routed(&c, &t.rc, &r);
    qh__routed_free(&r);
    t_circ_free(&t);
    qh__coupling_free(&c);
}

/* Summed over random circuits, SABRE layout needs fewer swaps than the trivial layout. */
static void test_sabre_layout_fewer_swaps(void **state)
{
    (void)state;
    qh__coupling graphs[2];
    t_heavy_hex(&graphs[0], 5);
    t_grid(&graphs[1], 5, 5);
    for (int g = 0; g < 2; g++) {
        qh__coupling *c = &graphs[g];
        long trivial = 0, sabre = 0;
        for (int s = 0; s < 6; s++) {
            t_circ t;
            t_random_circuit(&t, 20, 250, 300 + (uint64_t)s);
            int l0[20], l1[20];
            qh__route_options opt = {.seed = (uint64_t)s, .trials = 4};
            assert_int_equal(qh__layout_trivial(c, &t.rc, l0), QH_OK);
            assert_int_equal(qh__layout_sabre(c, &t.rc, &opt, l1), QH_OK);
            qh__routed r0, r1;
            assert_int_equal(qh__route_sabre(c, &t.rc, l0, &opt, &r0), QH_OK);
            assert_int_equal(qh__route_sabre(c, &t.rc, l1, &opt, &r1), QH_OK);
            t_check_routed(c, &t.rc, &r1);
            trivial += r0.num_swaps;
            sabre += r1.num_swaps;
            qh__routed_free(&r0);
            qh__routed_free(&r1);
            t_circ_free(&t);
        }
        print_message("graph %d: swaps after trivial layout %ld, after SABRE layout %ld\n", g,
                      trivial, sabre);
        assert_true(sabre < trivial);
        qh__coupling_free(c);
    }
}

/* On a target in two parts the layout stays in the larger one, and refuses a circuit larger
 * than it. */
static void test_sabre_layout_disconnected(void **state)
{
    (void)state;
    qh__coupling c;
    const int edges[10][2] = {{0, 1}, {1, 2}, {2, 3}, {4, 5},  {5, 6},
                              {6, 7}, {7, 8}, {8, 9}, {9, 10}, {10, 11}};
    assert_int_equal(qh__coupling_init(&c, 12, 10, edges, 0), QH_OK);
    t_circ t;
    t_random_circuit(&t, 6, 80, 8);
    int layout[9];
    qh__route_options opt = {.seed = 1};
    assert_int_equal(qh__layout_sabre(&c, &t.rc, &opt, layout), QH_OK);
    for (int v = 0; v < 6; v++)
        assert_true(layout[v] >= 4);
    qh__routed r;
    assert_int_equal(qh__route_sabre(&c, &t.rc, layout, &opt, &r), QH_OK);
    t_check_routed(&c, &t.rc, &r);
    qh__routed_free(&r);
    t_circ_free(&t);
    t_random_circuit(&t, 9, 40, 8);
    assert_int_equal(qh__layout_sabre(&c, &t.rc, &opt, layout), QH_EINVAL);
    t_circ_free(&t);
    qh__coupling_free(&c);
}

/* Operations naming qubits outside the circuit, or one qubit twice, are refused. */
static void test_bad_circuits(void **state)
{
    (void)state;
    qh__coupling c;
    t_grid(&c, 3, 3);
    int layout[9], found;
    qh__route_options opt = {.seed = 1};
    for (int k = 0; k < 3; k++) {
        t_circ t = {0};
        t.rc.num_virtual = 4;
        t_op2(&t, 0, 1);
        int q = k == 0 ? 4 : -1;
        if (k < 2)
            t_op(&t, 1, &q); /* a one-qubit op out of range */
        else
            t_op2(&t, 2, 2); /* a qubit named twice */
        assert_int_equal(qh__layout_sabre(&c, &t.rc, &opt, layout), QH_EINVAL);
        int l4[4] = {0, 1, 2, 3};
        qh__routed r;
        assert_int_equal(qh__route_sabre(&c, &t.rc, l4, &opt, &r), QH_EINVAL);
        assert_int_equal(qh__layout_vf2(&c, &t.rc, 1000, layout, &found), QH_EINVAL);
        t_circ_free(&t);
    }
    qh__coupling_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trivial),
        cmocka_unit_test(test_vf2_line_on_grid),
        cmocka_unit_test(test_vf2_heavy_hex),
        cmocka_unit_test(test_vf2_not_found),
        cmocka_unit_test(test_vf2_call_limit),
        cmocka_unit_test(test_vf2_prefers_low_error),
        cmocka_unit_test(test_sabre_layout_valid_and_deterministic),
        cmocka_unit_test(test_sabre_layout_fewer_swaps),
        cmocka_unit_test(test_sabre_layout_disconnected),
        cmocka_unit_test(test_bad_circuits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
