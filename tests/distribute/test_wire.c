/* Message framing without sockets: every message type written then read back, batches,
 * truncated and corrupted frames rejected with QH_EPARSE, and the pool-shape checks that
 * refuse impossible targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "distribute/wire.h"

static void test_submit_batch(void **state)
{
    (void)state;
    qh__buf b = {0};
    qh__wire_begin(&b, QH__MSG_SUBMIT);
    qh_target t = {.cpu = 0.5, .gpu = 1, .mem = 1 << 20, .max_retries = 2, .priority = -3};
    uint64_t deps[2] = {7, 9};
    qh_value *args = qh_value_list_of(2, qh_value_int(5), qh_value_ref_id(7));
    for (uint64_t id = 1; id <= 100; id++)
        assert_int_equal(qh__wire_put_submit_value(&b, id, "square", &t, deps, id % 3, args),
                         QH_OK);
    assert_int_equal(qh__wire_end(&b, 100), QH_OK);

    qh__msg_type type;
    uint32_t count;
    qh__rd rd;
    assert_int_equal(qh__wire_open(b.p, b.n, &type, &count, &rd), QH_OK);
    assert_int_equal(type, QH__MSG_SUBMIT);
    assert_int_equal(count, 100);
    for (uint64_t id = 1; id <= 100; id++) {
        qh__submit s;
        assert_int_equal(qh__wire_get_submit(&rd, &s), QH_OK);
        assert_int_equal(s.id, id);
        assert_string_equal(s.name, "square");
        assert_true(s.target.cpu == 0.5);
        assert_int_equal(s.target.gpu, 1);
        assert_int_equal(s.target.priority, -3);
        assert_int_equal(s.ndeps, id % 3);
        if (s.ndeps)
            assert_int_equal(qh__wire_dep(&s, 0), 7);
        qh_value *back = NULL;
        assert_int_equal(qh_value_from_msgpack(s.args, s.args_len, &back), QH_OK);
        assert_true(qh_value_equal(args, back));
        qh_value_destroy(&back);
    }
    assert_int_equal(rd.left, 0);

    /* Every truncation fails somewhere, never reads past the end. */
    for (size_t cut = 0; cut < b.n; cut += 7) {
        if (qh__wire_open(b.p, cut, &type, &count, &rd) != QH_OK)
            continue;
        qh_status st = QH_OK;
        for (uint32_t i = 0; i < count && st == QH_OK; i++) {
            qh__submit s;
            st = qh__wire_get_submit(&rd, &s);
        }
        assert_int_equal(st, QH_EPARSE);
    }
    qh_value_destroy(&args);
    qh__buf_free(&b);
}

static void test_run_with_deps(void **state)
{
    (void)state;
    qh__buf b = {0};
    qh__wire_begin(&b, QH__MSG_RUN);
    qh_target t = {.cpu = 2, .mem = 10, .max_retries = 1};
    qh__wire_put_run(&b, 42, "add", &t, "\x92\x01\xd4\x03\x00", 5, 2);
    const uint8_t tok[QH__TOKEN_LEN] = "0123456789abcdef";
    qh__wire_put_dep(&b, 3, "\x05", 1, NULL, 1, NULL);
    qh__wire_put_dep(&b, 4, NULL, 0, "tcp://10.0.0.2:4000", 1 << 20, tok);
    qh__wire_put_run(&b, 43, "noop", &t, "\x90", 1, 0);
    assert_int_equal(qh__wire_end(&b, 2), QH_OK);

    qh__msg_type type;
    uint32_t count;
    qh__rd rd;
    assert_int_equal(qh__wire_open(b.p, b.n, &type, &count, &rd), QH_OK);
    assert_int_equal(count, 2);
    qh__run r;
    assert_int_equal(qh__wire_get_run(&rd, &r), QH_OK);
    assert_int_equal(r.id, 42);
    assert_int_equal(r.ndeps, 2);
    qh__dep d;
    assert_int_equal(qh__wire_next_dep(&r, &d), QH_OK);
    assert_int_equal(d.id, 3);
    assert_int_equal(d.len, 1);
    assert_int_equal(d.value[0], 5);
    assert_int_equal(d.holder_len, 0);
    assert_null(d.token);
    assert_int_equal(qh__wire_next_dep(&r, &d), QH_OK);
    assert_int_equal(d.id, 4);
    assert_int_equal(d.len, 0);
    assert_memory_equal(d.holder, "tcp://10.0.0.2:4000", d.holder_len);
    assert_int_equal(d.size, 1 << 20);
    assert_memory_equal(d.token, tok, QH__TOKEN_LEN);
    assert_int_equal(qh__wire_get_run(&rd, &r), QH_OK);
    assert_int_equal(r.id, 43);
    assert_string_equal(r.name, "noop");
    assert_int_equal(rd.left, 0);
    qh__buf_free(&b);
}

static void test_small_messages(void **state)
{
    (void)state;
    qh__buf b = {0};
    qh__msg_type type;
    uint32_t count;
    qh__rd rd;

    qh__hello h = {.role = QH__ROLE_WORKER, .name = "node1:77", .cap = {4, 1, 8ull << 30}};
    qh__wire_begin(&b, QH__MSG_HELLO);
    qh__wire_put_hello(&b, &h);
    assert_int_equal(qh__wire_end(&b, 1), QH_OK);
    qh__hello h2;
    assert_int_equal(qh__wire_open(b.p, b.n, &type, &count, &rd), QH_OK);
    assert_int_equal(qh__wire_get_hello(&rd, &h2), QH_OK);
    assert_string_equal(h2.name, "node1:77");
    assert_true(h2.cap.cpu == 4 && h2.cap.gpu == 1 && h2.cap.mem == 8ull << 30);

    qh__welcome w = {.peer_no = 5, .heartbeat_ms = 100};
    qh__shape_add(&w.shape, &h.cap);
    qh__wire_begin(&b, QH__MSG_WELCOME);
    qh__wire_put_welcome(&b, &w);
    assert_int_equal(qh__wire_end(&b, 1), QH_OK);
    qh__welcome w2;
    assert_int_equal(qh__wire_open(b.p, b.n, &type, &count, &rd), QH_OK);
    assert_int_equal(qh__wire_get_welcome(&rd, &w2), QH_OK);
    assert_int_equal(w2.peer_no, 5);
    assert_int_equal(w2.shape.workers, 1);

    qh_value *val = qh_value_doubles((double[]){1, 2}, 2);
    qh__wire_begin(&b, QH__MSG_RESULT);
    assert_int_equal(qh__wire_put_result_value(&b, 9, QH_OK, "", val), QH_OK);
    assert_int_equal(qh__wire_put_result_value(&b, 10, QH_ETASK, "it broke", NULL), QH_OK);
    const uint8_t tok[QH__TOKEN_LEN] = "fedcba9876543210";
    qh__wire_put_result_held(&b, 11, "ipc:///tmp/w.sock", 123456, tok);
    assert_int_equal(qh__wire_end(&b, 3), QH_OK);
    assert_int_equal(qh__wire_open(b.p, b.n, &type, &count, &rd), QH_OK);
    qh__result r;
    assert_int_equal(qh__wire_get_result(&rd, &r), QH_OK);
    qh_value *back = NULL;
    assert_int_equal(qh_value_from_msgpack(r.value, r.value_len, &back), QH_OK);
    assert_true(qh_value_equal(val, back));
    assert_int_equal(r.size, r.value_len);
    assert_int_equal(r.holder_len, 0);
    assert_int_equal(qh__wire_get_result(&rd, &r), QH_OK);
    assert_int_equal(r.status, QH_ETASK);
    assert_int_equal(r.message_len, 8);
    assert_memory_equal(r.message, "it broke", 8);
    assert_int_equal(qh__wire_get_result(&rd, &r), QH_OK);
    assert_int_equal(r.id, 11);
    assert_int_equal(r.status, QH_OK);
    assert_int_equal(r.value_len, 0);
    assert_memory_equal(r.holder, "ipc:///tmp/w.sock", r.holder_len);
    assert_int_equal(r.size, 123456);
    assert_memory_equal(r.token, tok, QH__TOKEN_LEN);

    /* FETCH: an id and a token of exactly QH__TOKEN_LEN bytes. */
    qh__wire_begin(&b, QH__MSG_FETCH);
    qh__wire_put_fetch(&b, 11, tok);
    assert_int_equal(qh__wire_end(&b, 1), QH_OK);
    assert_int_equal(qh__wire_open(b.p, b.n, &type, &count, &rd), QH_OK);
    uint64_t fid = 0;
    const uint8_t *ftok = NULL;
    assert_int_equal(qh__wire_get_fetch(&rd, &fid, &ftok), QH_OK);
    assert_int_equal(fid, 11);
    assert_memory_equal(ftok, tok, QH__TOKEN_LEN);
    qh__wire_begin(&b, QH__MSG_FETCH);
    qh__wire_put_id(&b, 11); /* no token */
    assert_int_equal(qh__wire_end(&b, 1), QH_OK);
    assert_int_equal(qh__wire_open(b.p, b.n, &type, &count, &rd), QH_OK);
    assert_int_equal(qh__wire_get_fetch(&rd, &fid, &ftok), QH_EPARSE);
    qh_value_destroy(&back);
    qh_value_destroy(&val);
    qh__buf_free(&b);
}

static void test_bad_frames(void **state)
{
    (void)state;
    qh__msg_type type;
    uint32_t count;
    qh__rd rd;
    const uint8_t not_ours[] = "GET / HTTP/1.1";
    assert_int_equal(qh__wire_open(not_ours, sizeof not_ours, &type, &count, &rd), QH_EPARSE);
    const uint8_t version[] = {'Q', 'H', 99, 1, 0, 0, 0, 0};
    assert_int_equal(qh__wire_open(version, sizeof version, &type, &count, &rd), QH_EPARSE);
    const uint8_t huge[] = {'Q', 'H', 1, QH__MSG_RESULT, 0xff, 0xff, 0xff, 0xff, 1};
    assert_int_equal(qh__wire_open(huge, sizeof huge, &type, &count, &rd), QH_EPARSE);
    /* A name with a NUL in it, a negative cpu: rejected. */
    qh__buf b = {0};
    qh__wire_begin(&b, QH__MSG_SUBMIT);
    qh_target t = {.cpu = -1};
    qh__wire_put_submit(&b, 1, "x", &t, NULL, 0, "\x90", 1);
    assert_int_equal(qh__wire_end(&b, 1), QH_OK);
    assert_int_equal(qh__wire_open(b.p, b.n, &type, &count, &rd), QH_OK);
    qh__submit s;
    assert_int_equal(qh__wire_get_submit(&rd, &s), QH_EPARSE);
    /* Random bytes after a valid header never crash a reader. */
    uint64_t seed = 88172645463325252ull;
    for (int round = 0; round < 20000; round++) {
        uint8_t buf[96] = {'Q', 'H', 1, 0, 0, 0, 0, 0};
        for (size_t i = 4; i < sizeof buf; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            buf[i] = (uint8_t)seed;
        }
        buf[3] = (uint8_t)(1 + round % 13);
        buf[4] = (uint8_t)(round % 5), buf[5] = buf[6] = buf[7] = 0;
        if (qh__wire_open(buf, sizeof buf, &type, &count, &rd) != QH_OK)
            continue;
        for (uint32_t i = 0; i < count; i++) {
            qh__submit su;
            qh__run ru;
            qh__result re;
            qh__hello he;
            qh__welcome we;
            uint64_t id;
            qh__rd copy = rd;
            (void)qh__wire_get_submit(&copy, &su);
            copy = rd;
            if (qh__wire_get_run(&copy, &ru) == QH_OK)
                for (uint32_t d = 0; d < ru.ndeps; d++) {
                    qh__dep dep;
                    (void)qh__wire_next_dep(&ru, &dep);
                }
            copy = rd;
            (void)qh__wire_get_result(&copy, &re);
            copy = rd;
            (void)qh__wire_get_hello(&copy, &he);
            copy = rd;
            (void)qh__wire_get_welcome(&copy, &we);
            (void)qh__wire_get_id(&rd, &id);
        }
    }
    qh__buf_free(&b);
}

static void test_shape(void **state)
{
    (void)state;
    qh__shape s = {0};
    qh__res a = {1, 0, 16ull << 30}, b = {8, 0, 1ull << 30};
    qh__shape_add(&s, &a);
    qh__shape_add(&s, &b);
    assert_int_equal(s.workers, 2);
    assert_true(s.total.cpu == 9);
    /* The maxima (8 cpus, 16 GiB) sit on different workers: 8 cpus + 16 GiB fits nowhere. */
    qh__res need = {8, 0, 16ull << 30};
    assert_false(qh__shape_fits(&s, &need));
    need = (qh__res){8, 0, 1ull << 30};
    assert_true(qh__shape_fits(&s, &need));
    need = (qh__res){1, 1, 0};
    assert_false(qh__shape_fits(&s, &need));
    /* Ten tenths of a core fit one core despite rounding. */
    qh__res tenth_sum = {0, 0, 0};
    for (int i = 0; i < 10; i++)
        tenth_sum.cpu += 0.1;
    qh__res one = {1, 0, 0};
    assert_true(qh__res_covers(&one, &tenth_sum));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_batch),   cmocka_unit_test(test_run_with_deps),
        cmocka_unit_test(test_small_messages), cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
