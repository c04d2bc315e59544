/* test_shard_map.c — hashing, key ownership and shard/replica arithmetic. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "causalkv/shard_map.h"

#define KEYS 10000

/* A view of n members 10.0.0.1:1000.. and its shard map. */
static void make_map(ckv_shard_map *m, uint32_t n, long rf)
{
    ckv_view v = {0};
    for (uint32_t i = 0; i < n; i++) {
        char addr[CKV_ADDR_MAX];
        snprintf(addr, sizeof(addr), "10.0.0.%u:%u", i + 1, 1000 + i);
        assert_int_equal(ckv_view_add(&v, addr, strlen(addr), NULL, 0), CKV_OK);
    }
    char err[128] = "";
    assert_int_equal(ckv_shard_map_init(m, &v, rf, 0, err, sizeof(err)), CKV_OK);
}

static size_t key_name(uint32_t i, char *buf, size_t len)
{
    return (size_t)snprintf(buf, len, "key%u", i);
}

static void test_fnv1a64_vectors(void **state)
{
    (void)state;
    /* Reference values from the FNV specification's test suite. */
    assert_true(ckv_fnv1a64("", 0) == 0xcbf29ce484222325ULL);
    assert_true(ckv_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(ckv_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);
    /* The full key bytes count, including embedded NULs and everything after a '/'. */
    assert_true(ckv_fnv1a64("a\0b", 3) != ckv_fnv1a64("a", 1));
    assert_true(ckv_fnv1a64("x/y", 3) != ckv_fnv1a64("x/z", 3));
}

static void test_jump_hash_vectors(void **state)
{
    (void)state;
    /* Published vectors of the reference implementation. */
    assert_int_equal(ckv_jump_hash(1, 1), 0);
    assert_int_equal(ckv_jump_hash(42, 57), 43);
    assert_int_equal(ckv_jump_hash(0xDEAD10CCULL, 1), 0);
    assert_int_equal(ckv_jump_hash(0xDEAD10CCULL, 666), 361);
    assert_int_equal(ckv_jump_hash(256, 1024), 520);
    assert_int_equal(ckv_jump_hash(12345, 0), 0);
    for (uint64_t k = 0; k < 1000; k++)
        assert_true(ckv_jump_hash(k * 0x9E3779B97F4A7C15ULL, 7) < 7);
    /* Large bucket counts stay in range (no overflow in the intermediate). */
    for (uint64_t k = 0; k < 1000; k++)
        assert_true(ckv_jump_hash(k, UINT32_MAX) < UINT32_MAX);
}

static void test_distribution_balanced(void **state)
{
    (void)state;
    for (uint32_t shards = 2; shards <= 8; shards++) {
        ckv_shard_map m;
        make_map(&m, shards, 1);
        uint32_t count[9] = {0};
        for (uint32_t i = 0; i < KEYS; i++) {
            char key[32];
            size_t len = key_name(i, key, sizeof(key));
            uint32_t s = ckv_shard_map_owner(&m, key, len);
            assert_in_range(s, 1, shards);
            count[s]++;
        }
        double mean = (double)KEYS / shards;
        for (uint32_t s = 1; s <= shards; s++)
            if (count[s] < 0.75 * mean || count[s] > 1.25 * mean)
                fail_msg("%u shards: shard %u has %u keys (mean %.0f)", shards, s, count[s], mean);
    }
}

static void test_growth_moves_few_keys(void **state)
{
    (void)state;
    for (uint32_t s = 1; s <= 8; s++) {
        ckv_shard_map before, after;
        make_map(&before, s, 1);
        make_map(&after, s + 1, 1);
        uint32_t moved = 0;
        for (uint32_t i = 0; i < KEYS; i++) {
            char key[32];
            size_t len = key_name(i, key, sizeof(key));
            uint32_t a = ckv_shard_map_owner(&before, key, len);
            uint32_t b = ckv_shard_map_owner(&after, key, len);
            if (a != b) {
                assert_int_equal(b, s + 1); /* only ever into the new shard */
                moved++;
            }
        }
        double fraction = (double)moved / KEYS;
        double expected = 1.0 / (s + 1);
        if (fraction < expected - 0.1 || fraction > expected + 0.1)
            fail_msg("%u -> %u shards moved %.3f of keys, expected about %.3f", s, s + 1, fraction,
                     expected);
        /* Much tighter than the bound above in practice. */
        assert_true(fraction > expected * 0.9 && fraction < expected * 1.1);
    }
}

static void test_owner_deterministic_and_rf_independent(void **state)
{
    (void)state;
    ckv_shard_map a, b, c;
    make_map(&a, 6, 2); /* 3 shards of 2 */
    make_map(&b, 6, 2);
    make_map(&c, 3, 1); /* 3 shards of 1: same shard count, same owners */
    assert_int_equal(a.shards, 3);
    for (uint32_t i = 0; i < 2000; i++) {
        char key[32];
        size_t len = key_name(i, key, sizeof(key));
        uint32_t s = ckv_shard_map_owner(&a, key, len);
        assert_int_equal(s, ckv_shard_map_owner(&a, key, len));
        assert_int_equal(s, ckv_shard_map_owner(&b, key, len));
        assert_int_equal(s, ckv_shard_map_owner(&c, key, len));
        assert_int_equal(s, ckv_jump_hash(ckv_fnv1a64(key, len), 3) + 1);
    }
    /* Pinned values: a change here would silently reshuffle every stored key. */
    ckv_shard_map four;
    make_map(&four, 4, 1);
    assert_int_equal(ckv_shard_map_owner(&four, "a", 1),
                     ckv_jump_hash(0xaf63dc4c8601ec8cULL, 4) + 1);
    ckv_shard_map one;
    make_map(&one, 3, 3);
    assert_int_equal(ckv_shard_map_owner(&one, "anything", 8), 1);
}

static void test_replica_arithmetic(void **state)
{
    (void)state;
    ckv_shard_map m;
    make_map(&m, 6, 2);
    assert_int_equal(m.rf, 2);
    assert_int_equal(m.shards, 3);
    assert_int_equal(m.epoch, 0);
    assert_int_equal(ckv_shard_map_first_replica(&m, 1), 0);
    assert_int_equal(ckv_shard_map_first_replica(&m, 2), 2);
    assert_int_equal(ckv_shard_map_first_replica(&m, 3), 4);
    static const uint32_t shard_of[6] = {1, 1, 2, 2, 3, 3};
    for (uint32_t i = 0; i < 6; i++)
        assert_int_equal(ckv_shard_map_shard_of_member(&m, i), shard_of[i]);
    assert_false(ckv_shard_map_has_shard(&m, 0));
    assert_true(ckv_shard_map_has_shard(&m, 1));
    assert_true(ckv_shard_map_has_shard(&m, 3));
    assert_false(ckv_shard_map_has_shard(&m, 4));
    assert_false(ckv_shard_map_has_shard(&m, UINT64_MAX));
    assert_false(ckv_shard_map_has_shard(&m, (1ULL << 32) + 1)); /* no truncation */
}

static void test_init_errors(void **state)
{
    (void)state;
    ckv_view v = {0};
    assert_int_equal(ckv_view_parse_csv("1.1.1.1:1,2.2.2.2:2,3.3.3.3:3", &v, NULL, 0), CKV_OK);
    ckv_shard_map m;
    char err[128] = "";
    assert_int_equal(ckv_shard_map_init(&m, &v, 2, 0, err, sizeof(err)), CKV_ERROR);
    assert_non_null(strstr(err, "not a multiple"));
    assert_int_equal(ckv_shard_map_init(&m, &v, 0, 0, err, sizeof(err)), CKV_ERROR);
    assert_int_equal(ckv_shard_map_init(&m, &v, -1, 0, err, sizeof(err)), CKV_ERROR);
    assert_int_equal(ckv_shard_map_init(&m, &v, 4, 0, err, sizeof(err)), CKV_ERROR);
    v.n = 0;
    assert_int_equal(ckv_shard_map_init(&m, &v, 1, 0, err, sizeof(err)), CKV_ERROR);
    assert_non_null(strstr(err, "empty"));

    assert_int_equal(ckv_view_parse_csv("1.1.1.1:1,2.2.2.2:2,3.3.3.3:3", &v, NULL, 0), CKV_OK);
    assert_int_equal(ckv_shard_map_init(&m, &v, 3, 42, err, sizeof(err)), CKV_OK);
    assert_int_equal(m.shards, 1);
    assert_int_equal(m.epoch, 42);
    assert_true(ckv_view_equal(&m.view, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a64_vectors),
        cmocka_unit_test(test_jump_hash_vectors),
        cmocka_unit_test(test_distribution_balanced),
        cmocka_unit_test(test_growth_moves_few_keys),
        cmocka_unit_test(test_owner_deterministic_and_rf_independent),
        cmocka_unit_test(test_replica_arithmetic),
        cmocka_unit_test(test_init_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
