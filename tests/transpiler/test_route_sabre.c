/* SABRE routing: on random circuits over line, ring, grid and heavy-hex targets every
 * two-qubit operation ends up on an edge, every operation appears once in an order that
 * respects the input's dependencies, and the swaps lead from the initial to the final layout;
 * the result is the same at every thread count and on every run; bad input is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "graphs.h"
#include "transpiler/sabre.h"

static void s_route_check(const qh__coupling *c, const t_circ *t, uint64_t seed, int trials)
{
    int nv = t->rc.num_virtual;
    int *layout = malloc(sizeof *layout * (size_t)(nv + 1));
    t_random_layout(layout, nv, c->num_qubits, seed * 7 + 1);
    qh__route_options opt = {.seed = seed, .trials = trials, .num_threads = 0};
    qh__routed r;
    assert_int_equal(qh__route_sabre(c, &t->rc, layout, &opt, &r), QH_OK);
    t_check_routed(c, &t->rc, &r);
    for (int v = 0; v < nv; v++)
        assert_int_equal(r.initial_layout[v], layout[v]);
    qh__routed_free(&r);
    free(layout);
}

static void s_random_on(const qh__coupling *c, int nv, int num_ops, int rounds)
{
    for (int s = 0; s < rounds; s++) {
        t_circ t;
        t_random_circuit(&t, nv, num_ops, 1000 + (uint64_t)s);
        s_route_check(c, &t, (uint64_t)s, 1 + s % 4);
        t_circ_free(&t);
    }
}

static void test_line(void **state)
{
    (void)state;
    qh__coupling c;
    t_line(&c, 12);
    s_random_on(&c, 12, 300, 6);
    s_random_on(&c, 7, 200, 4);
    qh__coupling_free(&c);
}

static void test_ring(void **state)
{
    (void)state;
    qh__coupling c;
    t_ring(&c, 16);
    s_random_on(&c, 16, 400, 6);
    s_random_on(&c, 5, 100, 4);
    qh__coupling_free(&c);
}

static void test_grid(void **state)
{
    (void)state;
    qh__coupling c;
    t_grid(&c, 5, 6);
    s_random_on(&c, 30, 600, 5);
    s_random_on(&c, 20, 300, 5);
    qh__coupling_free(&c);
}

static void test_heavy_hex(void **state)
{
    (void)state;
    qh__coupling c;
    assert_int_equal(t_heavy_hex(&c, 5), 57);
    s_random_on(&c, 57, 1500, 3);
    s_random_on(&c, 24, 800, 4);
    qh__coupling_free(&c);
}

/* An all-to-all circuit (every pair, as a QFT's controlled phases) needs swaps. */
static void test_all_pairs(void **state)
{
    (void)state;
    qh__coupling c;
    t_heavy_hex(&c, 3);
    t_circ t = {0};
    t.rc.num_virtual = 12;
    for (int a = 0; a < 12; a++) {
        t_op(&t, 1, &a);
        for (int b = a + 1; b < 12; b++)
            t_op2(&t, a, b);
    }
    int layout[12];
    for (int v = 0; v < 12; v++)
        layout[v] = v;
    qh__route_options opt = {.seed = 5, .trials = 4};
    qh__routed r;
    assert_int_equal(qh__route_sabre(&c, &t.rc, layout, &opt, &r), QH_OK);
    t_check_routed(&c, &t.rc, &r);
    assert_true(r.num_swaps > 0);
    qh__routed_free(&r);
    t_circ_free(&t);
    qh__coupling_free(&c);
}

/* Operations already on edges need no swap; an empty circuit routes to nothing. */
static void test_no_swaps_needed(void **state)
{
    (void)state;
    qh__coupling c;
    t_line(&c, 6);
    t_circ t = {0};
    t.rc.num_virtual = 6;
    for (int rep = 0; rep < 3; rep++)
        for (int a = 0; a + 1 < 6; a++)
            t_op2(&t, a, a + 1);
    int layout[6] = {0, 1, 2, 3, 4, 5};
    qh__routed r;
    assert_int_equal(qh__route_sabre(&c, &t.rc, layout, NULL, &r), QH_OK);
    assert_int_equal(r.num_swaps, 0);
    t_check_routed(&c, &t.rc, &r);
    qh__routed_free(&r);
    t_circ_free(&t);

    qh__rcircuit empty = {.num_virtual = 3, .num_ops = 0, .op_start = NULL, .op_qubits = NULL};
    assert_int_equal(qh__route_sabre(&c, &empty, layout, NULL, &r), QH_OK);
    assert_int_equal(r.num_items, 0);
    assert_int_equal(r.num_swaps, 0);
    qh__routed_free(&r);
    qh__coupling_free(&c);
}

static void s_same(const qh__routed *a, const qh__routed *b)
{
    assert_int_equal(a->num_items, b->num_items);
    assert_int_equal(a->num_swaps, b->num_swaps);
    assert_memory_equal(a->items, b->items, sizeof(int) * (size_t)a->num_items);
    if (a->num_swaps)
        assert_memory_equal(a->swaps, b->swaps, sizeof(int[2]) * (size_t)a->num_swaps);
    assert_memory_equal(a->final_layout, b->final_layout, sizeof(int) * (size_t)a->num_virtual);
}

/* Same seed: same result on 1, 2 and 4 threads and on every run; another seed may differ. */
static void test_deterministic(void **state)
{
    (void)state;
    qh__coupling c;
    t_heavy_hex(&c, 5);
    t_circ t;
    t_random_circuit(&t, 40, 1200, 77);
    int layout[40];
    t_random_layout(layout, 40, c.num_qubits, 3);
    qh__routed ref, r;
    qh__route_options opt = {.seed = 1234, .trials = 8, .num_threads = 1};
    assert_int_equal(qh__route_sabre(&c, &t.rc, layout, &opt, &ref), QH_OK);
    t_check_routed(&c, &t.rc, &ref);
    int threads[] = {1, 2, 4, 2};
    for (int i = 0; i < 4; i++) {
        opt.num_threads = threads[i];
        assert_int_equal(qh__route_sabre(&c, &t.rc, layout, &opt, &r), QH_OK);
        s_same(&ref, &r);
        qh__routed_free(&r);
    }
    /* more trials can only find as few swaps or fewer: the first 8 are the same trials */
    opt.trials = 16;
    assert_int_equal(qh__route_sabre(&c, &t.rc, layout, &opt, &r), QH_OK);
    assert_true(r.num_swaps <= ref.num_swaps);
    qh__routed_free(&r);
    qh__routed_free(&ref);
    t_circ_free(&t);
    qh__coupling_free(&c);
}

/* The release valve alone (it opens at once, or after 3 swaps without progress) still routes
 * every operation onto an edge. */
static void test_release_valve(void **state)
{
    (void)state;
    qh__coupling c;
    t_heavy_hex(&c, 5);
    long valves[] = {0, 3, -1};
    long swaps[3];
    for (int i = 0; i < 3; i++) {
        t_circ t;
        t_random_circuit(&t, 30, 700, 21);
        qh__sabre_dag d;
        assert_int_equal(qh__sabre_dag_init(&d, &t.rc, 0), QH_OK);
        qh__sabre_ws *w = qh__sabre_ws_new(&c, t.rc.num_ops, 30);
        assert_non_null(w);
        qh__sabre_ws_set_valve(w, valves[i]);
        int initial[30], final[30];
        t_random_layout(initial, 30, c.num_qubits, 4);
        memcpy(final, initial, sizeof final);
        qh_rng rng;
        qh_rng_seed(&rng, 8);
        swaps[i] = qh__sabre_pass(w, &c, &d, final, &rng);
        assert_true(swaps[i] > 0);
        qh__routed r = {.num_virtual = 30, .initial_layout = initial, .final_layout = final};
        const int(*sw)[2] = qh__sabre_ws_swaps(w, &r.num_swaps);
        r.items = (int *)qh__sabre_ws_items(w, &r.num_items);
        r.swaps = (int(*)[2])sw;
        assert_int_equal(r.num_swaps, swaps[i]);
        t_check_routed(&c, &t.rc, &r);
        qh__sabre_ws_free(w);
        qh__sabre_dag_free(&d);
        t_circ_free(&t);
    }
    /* routing each op along a shortest path on its own costs more than SABRE */
    assert_true(swaps[0] > swaps[2]);
    qh__coupling_free(&c);
}

static void test_bad_input(void **state)
{
    (void)state;
    qh__coupling c;
    /* two lines of 3, not joined */
    const int edges[4][2] = {{0, 1}, {1, 2}, {3, 4}, {4, 5}};
    assert_int_equal(qh__coupling_init(&c, 6, 4, edges, 0), QH_OK);
    t_circ t = {0};
    t.rc.num_virtual = 4;
    t_op2(&t, 0, 1);
    t_op2(&t, 2, 3);
    t_op2(&t, 1, 2);
    qh__routed r;
    int split[4] = {0, 1, 3, 4}; /* 1 and 2 end on different parts */
    assert_int_equal(qh__route_sabre(&c, &t.rc, split, NULL, &r), QH_EINVAL);
    assert_int_equal(r.num_items, 0);
    int dup[4] = {0, 1, 1, 2};
    assert_int_equal(qh__route_sabre(&c, &t.rc, dup, NULL, &r), QH_EINVAL);
    int out_of_range[4] = {0, 1, 2, 6};
    assert_int_equal(qh__route_sabre(&c, &t.rc, out_of_range, NULL, &r), QH_EINVAL);
    int fine[4] = {3, 4, 5, 2};
    t.rc.num_virtual = 4;
    /* 2 sits on qubit 5 and 3 on qubit 2: op (2, 3) crosses the parts */
    assert_int_equal(qh__route_sabre(&c, &t.rc, fine, NULL, &r), QH_EINVAL);
    t_circ_free(&t);

    /* more virtual qubits than the target has */
    t_circ big = {0};
    big.rc.num_virtual = 7;
    t_op2(&big, 0, 6);
    int seven[7] = {0, 1, 2, 3, 4, 5, 0};
    assert_int_equal(qh__route_sabre(&c, &big.rc, seven, NULL, &r), QH_EINVAL);
    t_circ_free(&big);

    /* operations naming a qubit twice or out of range */
    t_circ bad = {0};
    bad.rc.num_virtual = 3;
    t_op2(&bad, 1, 1);
    int l3[3] = {0, 1, 2};
    assert_int_equal(qh__route_sabre(&c, &bad.rc, l3, NULL, &r), QH_EINVAL);
    t_circ_free(&bad);
    bad.rc.num_virtual = 3;
    t_op2(&bad, 0, 3);
    assert_int_equal(qh__route_sabre(&c, &bad.rc, l3, NULL, &r), QH_EINVAL);
    t_circ_free(&bad);
    qh__coupling_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line),          cmocka_unit_test(test_ring),
        cmocka_unit_test(test_grid),          cmocka_unit_test(test_heavy_hex),
        cmocka_unit_test(test_all_pairs),     cmocka_unit_test(test_no_swaps_needed),
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_release_valve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
