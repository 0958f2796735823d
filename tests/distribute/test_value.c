/* Values: construction, containers, equality, MessagePack and JSON round trips, and the
 * MessagePack decoder fed random and mutated bytes (it must answer QH_EPARSE, never crash,
 * never allocate by a hostile length). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qhybrid/value.h"

/* A value with one of everything, nested. */
static qh_value *s_sample(void)
{
    double d[5] = {0.5, -1.25, 1e300, 0.0, 3.0};
    double complex c[3] = {1.0 + 2.0 * I, -0.5 * I, 0.25};
    uint8_t raw[6] = {0, 1, 2, 0xff, 0x80, 0x7f};
    qh_value *m = qh_value_map();
    qh_value *items[] = {
        qh_value_null(),          qh_value_bool(true),
        qh_value_int(-42),        qh_value_int(INT64_MIN),
        qh_value_int(INT64_MAX),  qh_value_double(3.141592653589793),
        qh_value_string("héllo"), qh_value_bytes(raw, sizeof raw),
        qh_value_doubles(d, 5),   qh_value_complexes(c, 3),
        qh_value_ref_id(77),      qh_value_list_of(2, qh_value_int(1), qh_value_list()),
    };
    const char *keys[] = {"null", "bool", "neg", "min", "max", "pi",
                          "str",  "raw",  "d",   "c",   "ref", "nested"};
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        assert_int_equal(qh_value_set(m, keys[i], &items[i]), QH_OK);
    return m;
}

static void test_build_and_read(void **state)
{
    (void)state;
    qh_value *m = s_sample();
    assert_int_equal(qh_value_type_of(m), QH_VALUE_MAP);
    assert_int_equal(qh_value_len(m), 12);
    int64_t i = 0;
    assert_int_equal(qh_value_get_int(qh_value_get(m, "neg"), &i), QH_OK);
    assert_int_equal(i, -42);
    assert_int_equal(qh_value_get_int(qh_value_get(m, "pi"), &i), QH_EINVAL);
    double d = 0;
    assert_int_equal(qh_value_get_double(qh_value_get(m, "neg"), &d), QH_OK);
    assert_true(d == -42.0);
    size_t n = 0;
    assert_string_equal(qh_value_str(qh_value_get(m, "str"), &n), "héllo");
    assert_int_equal(n, strlen("héllo"));
    double complex *c = qh_value_complexes_data(qh_value_get(m, "c"), &n);
    assert_int_equal(n, 3);
    assert_true(cimag(c[0]) == 2.0);
    assert_int_equal(qh_value_ref_of(qh_value_get(m, "ref")), 77);
    assert_null(qh_value_get(m, "absent"));
    assert_string_equal(qh_value_key_at(m, 2), "neg");

    /* Replacing a key keeps one entry. */
    qh_value *x = qh_value_int(5);
    assert_int_equal(qh_value_set(m, "neg", &x), QH_OK);
    assert_null(x);
    assert_int_equal(qh_value_len(m), 12);
    assert_int_equal(qh_value_int_or(qh_value_get(m, "neg"), 0), 5);

    qh_value *copy = qh_value_clone(m);
    assert_true(qh_value_equal(copy, m));
    qh_value *y = qh_value_int(6);
    assert_int_equal(qh_value_set(copy, "neg", &y), QH_OK);
    assert_false(qh_value_equal(copy, m));
    qh_value_destroy(&copy);
    qh_value_destroy(&m);
    qh_value_destroy(&m); /* twice is fine */
    assert_null(m);

    /* map_of: pairs, last repeated key wins, a NULL value spoils it. */
    qh_value *hp = qh_value_map_of(3, "shots", qh_value_int(1024), "name", qh_value_string("x"),
                                   "shots", qh_value_int(2048));
    assert_int_equal(qh_value_len(hp), 2);
    assert_int_equal(qh_value_int_or(qh_value_get(hp, "shots"), 0), 2048);
    qh_value_destroy(&hp);
    assert_null(qh_value_map_of(2, "a", qh_value_int(1), "b", NULL));

    /* list_of with a failed item frees the others and gives NULL. */
    assert_null(qh_value_list_of(3, qh_value_int(1), NULL, qh_value_string("x")));
    qh_value *l = qh_value_list_of(3, qh_value_int(1), qh_value_int(2), qh_value_int(3));
    qh_value *second = qh_value_take_at(l, 1);
    assert_int_equal(qh_value_int_or(second, 0), 2);
    assert_int_equal(qh_value_int_or(qh_value_at(l, 1), 0), 3);
    qh_value_destroy(&second);
    qh_value_destroy(&l);
}

static void test_msgpack_round_trip(void **state)
{
    (void)state;
    qh_value *m = s_sample();
    void *buf = NULL;
    size_t len = 0;
    assert_int_equal(qh_value_to_msgpack(m, &buf, &len), QH_OK);
    qh_value *back = NULL;
    assert_int_equal(qh_value_from_msgpack(buf, len, &back), QH_OK);
    assert_true(qh_value_equal(m, back));
    /* Every strict prefix is truncated input. */
    for (size_t cut = 0; cut < len; cut++) {
        qh_value *bad = NULL;
        assert_int_equal(qh_value_from_msgpack(buf, cut, &bad), QH_EPARSE);
        assert_null(bad);
    }
    free(buf);
    qh_value_destroy(&back);
    qh_value_destroy(&m);

    /* A large state vector is one blob: about 16 bytes per amplitude. */
    qh_value *sv = qh_value_complexes(NULL, 1 << 16);
    qh_value_complexes_data(sv, NULL)[12345] = 0.5 - 0.25 * I;
    assert_int_equal(qh_value_to_msgpack(sv, &buf, &len), QH_OK);
    assert_true(len < 16 * (1 << 16) + 16);
    assert_int_equal(qh_value_from_msgpack(buf, len, &back), QH_OK);
    assert_true(qh_value_equal(sv, back));
    free(buf);
    qh_value_destroy(&back);
    qh_value_destroy(&sv);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    qh_value *m = s_sample();
    char *text = NULL;
    assert_int_equal(qh_value_to_json(m, false, &text), QH_OK);
    assert_non_null(strstr(text, "\"c\":[[1.0,2.0],[-0.0,-0.5],[0.25,0.0]]"));
    assert_non_null(strstr(text, "\"d\":[0.5,-1.25,1e+300,0.0,3.0]"));
    assert_non_null(strstr(text, "\"min\":-9223372036854775808"));
    assert_non_null(strstr(text, "\"ref\":{\"$ref\":77}"));
    qh_value *back = NULL;
    assert_int_equal(qh_value_from_json(text, &back), QH_OK);
    /* An array of doubles comes back as one; complex arrays as lists of [re, im] pairs; the
     * rest is unchanged, ints exact over all of int64. */
    assert_int_equal(qh_value_type_of(qh_value_get(back, "c")), QH_VALUE_LIST);
    assert_int_equal(qh_value_len(qh_value_get(back, "c")), 3);
    const char *same[] = {"null", "bool", "neg", "min", "max",   "pi",
                          "str",  "raw",  "ref", "d",   "nested"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        assert_true(qh_value_equal(qh_value_get(m, same[i]), qh_value_get(back, same[i])));
    free(text);
    qh_value_destroy(&back);

    assert_int_equal(qh_value_from_json("{\"a\": [1, 2.5, \"x\"", &back), QH_EPARSE);
    assert_null(back);
    assert_int_equal(qh_value_from_json("{\"$bytes\": \"!!\"}", &back), QH_EPARSE);
    qh_value_destroy(&m);
}

/* Doubles stay doubles through JSON, even when whole (2.0) or negative zero; ints stay ints;
 * NaN and infinities are refused rather than written as something else. */
static void test_json_number_types(void **state)
{
    (void)state;
    double whole[3] = {1.0, 2.0, -3.0};
    qh_value *m = qh_value_map();
    qh_value *items[] = {qh_value_double(2.0),
                         qh_value_double(-0.0),
                         qh_value_int(2),
                         qh_value_double(0.1),
                         qh_value_double(1e-300),
                         qh_value_doubles(whole, 3),
                         qh_value_list_of(2, qh_value_int(1), qh_value_double(1.0)),
                         qh_value_int(9007199254740993)};
    const char *keys[] = {"two", "negzero", "int", "tenth", "tiny", "whole", "mixed", "big"};
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        assert_int_equal(qh_value_set(m, keys[i], &items[i]), QH_OK);
    char *text = NULL;
    assert_int_equal(qh_value_to_json(m, false, &text), QH_OK);
    assert_string_equal(text, "{\"two\":2.0,\"negzero\":-0.0,\"int\":2,\"tenth\":0.1,"
                              "\"tiny\":1e-300,\"whole\":[1.0,2.0,-3.0],\"mixed\":[1,1.0],"
                              "\"big\":9007199254740993}");
    qh_value *back = NULL;
    assert_int_equal(qh_value_from_json(text, &back), QH_OK);
    assert_true(qh_value_equal(m, back));
    assert_int_equal(qh_value_type_of(qh_value_get(back, "two")), QH_VALUE_DOUBLE);
    double d = 1;
    assert_int_equal(qh_value_get_double(qh_value_get(back, "negzero"), &d), QH_OK);
    assert_true(d == 0.0 && signbit(d));
    assert_int_equal(qh_value_type_of(qh_value_get(back, "whole")), QH_VALUE_DOUBLES);
    int64_t i = 0;
    assert_int_equal(qh_value_get_int(qh_value_get(back, "big"), &i), QH_OK);
    assert_true(i == 9007199254740993);
    free(text);
    qh_value_destroy(&back);

    /* Text written by others: the form of the number decides, and strings are skipped. */
    assert_int_equal(qh_value_from_json("{\"a-1.5\": [2E3, -7, \"3.5\\\"1\"], \"b\": 1e2}", &back),
                     QH_OK);
    const qh_value *a = qh_value_get(back, "a-1.5");
    assert_int_equal(qh_value_type_of(qh_value_at(a, 0)), QH_VALUE_DOUBLE);
    assert_int_equal(qh_value_type_of(qh_value_at(a, 1)), QH_VALUE_INT);
    assert_int_equal(qh_value_type_of(qh_value_get(back, "b")), QH_VALUE_DOUBLE);
    qh_value_destroy(&back);

    qh_value *nan = qh_value_list_of(1, qh_value_double(NAN));
    assert_int_equal(qh_value_to_json(nan, false, &text), QH_EINVAL);
    assert_null(text);
    qh_value_destroy(&nan);
    double inf[2] = {1.0, INFINITY};
    qh_value *arr = qh_value_doubles(inf, 2);
    assert_int_equal(qh_value_to_json(arr, false, &text), QH_EINVAL);
    assert_null(text);
    qh_value_destroy(&arr);
    qh_value_destroy(&m);
}

static void test_depth_limit(void **state)
{
    (void)state;
    qh_value *v = qh_value_int(1);
    for (int i = 0; i < 40; i++)
        v = qh_value_list_of(1, v);
    void *buf = NULL;
    size_t len = 0;
    assert_int_not_equal(qh_value_to_msgpack(v, &buf, &len), QH_OK);
    qh_value_destroy(&v);
    /* Hand-made: 40 nested one-element arrays. */
    uint8_t deep[41];
    memset(deep, 0x91, 40);
    deep[40] = 0x01;
    assert_int_equal(qh_value_from_msgpack(deep, sizeof deep, &v), QH_EPARSE);
}

static void test_hostile_lengths(void **state)
{
    (void)state;
    qh_value *v = NULL;
    const uint8_t array32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    const uint8_t ext32[] = {0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01};
    const uint8_t bad_ext[] = {0xd4, 0x01, 0x00}; /* doubles ext of 1 byte */
    const uint8_t big_uint[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t int_key[] = {0x81, 0x01, 0x02};
    const uint8_t trailing[] = {0x01, 0x02};
    const uint8_t never[] = {0xc1};
    struct {
        const uint8_t *p;
        size_t n;
    } cases[] = {
        {array32, sizeof array32}, {map32, sizeof map32},       {str32, sizeof str32},
        {ext32, sizeof ext32},     {bad_ext, sizeof bad_ext},   {big_uint, sizeof big_uint},
        {int_key, sizeof int_key}, {trailing, sizeof trailing}, {never, sizeof never}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(qh_value_from_msgpack(cases[i].p, cases[i].n, &v), QH_EPARSE);
        assert_null(v);
    }
}

/* xorshift64*: reproducible bytes. */
static uint64_t s_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void test_random_bytes(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    uint8_t buf[256];
    size_t ok = 0;
    for (int round = 0; round < 100000; round++) {
        size_t n = 1 + s_rand(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)s_rand(&seed);
        qh_value *v = NULL;
        if (qh_value_from_msgpack(buf, n, &v) == QH_OK) {
            ok++;
            /* Whatever decodes re-encodes. */
            void *again = NULL;
            size_t len = 0;
            assert_int_equal(qh_value_to_msgpack(v, &again, &len), QH_OK);
            free(again);
        } else {
            assert_null(v);
        }
        qh_value_destroy(&v);
    }
    /* Mutations of a valid encoding reach deeper into the decoder. */
    qh_value *m = s_sample();
    void *enc = NULL;
    size_t len = 0;
    assert_int_equal(qh_value_to_msgpack(m, &enc, &len), QH_OK);
    uint8_t *mut = malloc(len);
    for (int round = 0; round < 20000; round++) {
        memcpy(mut, enc, len);
        int flips = 1 + (int)(s_rand(&seed) % 4);
        for (int f = 0; f < flips; f++)
            mut[s_rand(&seed) % len] = (uint8_t)s_rand(&seed);
        qh_value *v = NULL;
        (void)qh_value_from_msgpack(mut, len - s_rand(&seed) % 3, &v);
        qh_value_destroy(&v);
    }
    free(mut);
    free(enc);
    qh_value_destroy(&m);
    (void)ok;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_read),  cmocka_unit_test(test_msgpack_round_trip),
        cmocka_unit_test(test_json_round_trip), cmocka_unit_test(test_json_number_types),
        cmocka_unit_test(test_depth_limit),     cmocka_unit_test(test_hostile_lengths),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
