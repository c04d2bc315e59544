/* test_store.c — the version store: join order, counts, binary keys, growth, iteration
 * and reference counting. Run under ASan to catch leaked or doubly freed versions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "causalkv/store.h"

/* A version of a NUL-terminated key and value; the test owns the returned reference. */
static ckv_version *mkver(const char *key, const char *value, uint64_t lamport, uint16_t origin,
                          uint64_t seq)
{
    ckv_version *v = ckv_version_new(key, strlen(key), value, value ? strlen(value) : 0,
                                     value == NULL, origin, seq, lamport, NULL);
    assert_non_null(v);
    return v;
}

/* Joins v and drops the test's reference, returning the join's result. */
static int join_owned(ckv_store *s, ckv_version *v)
{
    int rc = ckv_store_join(s, v);
    ckv_version_unref(v);
    return rc;
}

static void assert_value(const ckv_store *s, const char *key, const char *value)
{
    const ckv_version *v = ckv_store_get(s, key, strlen(key));
    assert_non_null(v);
    assert_int_equal(v->tombstone, 0);
    assert_int_equal(v->value_len, strlen(value));
    assert_memory_equal(ckv_version_value(v), value, strlen(value));
}

static void assert_counts(const ckv_store *s, size_t live, size_t tombstones)
{
    assert_int_equal(ckv_store_live_count(s), live);
    assert_int_equal(ckv_store_tombstone_count(s), tombstones);
}

static void test_version_layout(void **state)
{
    (void)state;
    ckv_version *v = ckv_version_new("key", 3, "value", 5, false, 2, 7, 9, NULL);
    assert_non_null(v);
    assert_int_equal(v->refs, 1);
    assert_int_equal(v->key_len, 3);
    assert_int_equal(v->value_len, 5);
    assert_int_equal(v->origin, 2);
    assert_int_equal(v->seq, 7);
    assert_int_equal(v->lamport, 9);
    assert_int_equal(v->tombstone, 0);
    assert_null(v->deps);
    assert_memory_equal(ckv_version_key(v), "key", 3);
    assert_memory_equal(ckv_version_value(v), "value", 5);
    ckv_version_unref(v);

    /* A tombstone carries no value, and value may be NULL then. */
    v = ckv_version_new("k", 1, NULL, 0, true, 0, 1, 1, NULL);
    assert_non_null(v);
    assert_int_equal(v->tombstone, 1);
    assert_int_equal(v->value_len, 0);
    ckv_version_unref(v);
}

static void test_version_new_refuses_oversize(void **state)
{
    (void)state;
    static const char byte = 'x';
    /* The sizes are refused before any byte is read, so one byte stands in for them. */
    assert_null(ckv_version_new(&byte, (size_t)UINT8_MAX + 1, NULL, 0, false, 0, 1, 1, NULL));
    assert_null(ckv_version_new("k", 1, &byte, (size_t)UINT32_MAX + 1, false, 0, 1, 1, NULL));
    assert_null(ckv_version_new("k", 1, &byte, SIZE_MAX, false, 0, 1, 1, NULL));
}

static void test_create_update_delete_recreate(void **state)
{
    (void)state;
    ckv_store *s = ckv_store_new();
    assert_non_null(s);
    assert_null(ckv_store_get(s, "a", 1));
    assert_counts(s, 0, 0);

    assert_int_equal(join_owned(s, mkver("a", "1", 1, 0, 1)), CKV_OK);
    assert_value(s, "a", "1");
    assert_counts(s, 1, 0);

    assert_int_equal(join_owned(s, mkver("a", "2", 2, 0, 2)), CKV_OK);
    assert_value(s, "a", "2");
    assert_counts(s, 1, 0);

    assert_int_equal(join_owned(s, mkver("a", NULL, 3, 0, 3)), CKV_OK);
    const ckv_version *v = ckv_store_get(s, "a", 1);
    assert_non_null(v);
    assert_int_equal(v->tombstone, 1);
    assert_counts(s, 0, 1);

    /* Deleting a deleted key keeps one tombstone. */
    assert_int_equal(join_owned(s, mkver("a", NULL, 4, 0, 4)), CKV_OK);
    assert_counts(s, 0, 1);

    assert_int_equal(join_owned(s, mkver("a", "3", 5, 0, 5)), CKV_OK);
    assert_value(s, "a", "3");
    assert_counts(s, 1, 0);

    /* A key first seen as a tombstone (a replicated delete) counts as one. */
    assert_int_equal(join_owned(s, mkver("b", NULL, 1, 1, 1)), CKV_OK);
    assert_counts(s, 1, 1);

    /* A declined join changes no count. */
    assert_int_equal(join_owned(s, mkver("a", NULL, 1, 0, 9)), CKV_DECLINED);
    assert_int_equal(join_owned(s, mkver("b", "x", 0, 0, 9)), CKV_DECLINED);
    assert_counts(s, 1, 1);
    assert_value(s, "a", "3");
    ckv_store_free(s);
}

static void test_version_cmp(void **state)
{
    (void)state;
    ckv_version *low = mkver("k", "a", 1, 5, 1);
    ckv_version *high = mkver("k", "b", 2, 0, 1);
    ckv_version *high_origin = mkver("k", "c", 2, 3, 1);
    ckv_version *base = mkver("k", "d", 2, CKV_ORIGIN_BASE, 1);
    ckv_version *same = mkver("k", "other bytes", 2, 3, 1);

    assert_true(ckv_version_cmp(high, low) > 0);
    assert_true(ckv_version_cmp(low, high) < 0);
    assert_true(ckv_version_cmp(high_origin, high) > 0);
    assert_true(ckv_version_cmp(high, high_origin) < 0);
    assert_true(ckv_version_cmp(base, high_origin) > 0);
    assert_int_equal(ckv_version_cmp(high_origin, same), 0);
    assert_int_equal(ckv_version_cmp(low, low), 0);

    ckv_version_unref(low);
    ckv_version_unref(high);
    ckv_version_unref(high_origin);
    ckv_version_unref(base);
    ckv_version_unref(same);
}

static void test_join_order(void **state)
{
    (void)state;
    ckv_store *s = ckv_store_new();
    assert_non_null(s);
    assert_int_equal(join_owned(s, mkver("k", "l5o1", 5, 1, 1)), CKV_OK);

    /* Lower Lamport time loses, whatever the origin. */
    assert_int_equal(join_owned(s, mkver("k", "l4o9", 4, 9, 1)), CKV_DECLINED);
    assert_value(s, "k", "l5o1");
    /* Same Lamport time: the higher origin wins. */
    assert_int_equal(join_owned(s, mkver("k", "l5o0", 5, 0, 1)), CKV_DECLINED);
    assert_int_equal(join_owned(s, mkver("k", "l5o2", 5, 2, 1)), CKV_OK);
    assert_value(s, "k", "l5o2");
    /* The same write again (a retried delivery) is declined. */
    assert_int_equal(join_owned(s, mkver("k", "l5o2", 5, 2, 1)), CKV_DECLINED);
    /* Higher Lamport time wins even from a lower origin, and a delete is ordered too. */
    assert_int_equal(join_owned(s, mkver("k", NULL, 6, 0, 2)), CKV_OK);
    assert_int_equal(ckv_store_get(s, "k", 1)->tombstone, 1);
    assert_int_equal(join_owned(s, mkver("k", "late", 5, 9, 3)), CKV_DECLINED);
    assert_int_equal(ckv_store_get(s, "k", 1)->tombstone, 1);
    assert_counts(s, 0, 1);
    ckv_store_free(s);
}

/* Every one of the 24 delivery orders of four concurrent writes (two of them deletes)
 * must leave the same winner and the same counts. */
static void test_concurrent_writes_converge(void **state)
{
    (void)state;
    ckv_version *writes[4] = {
        mkver("k", "a", 3, 0, 1),
        mkver("k", NULL, 3, 2, 1), /* the winner: highest Lamport time, then origin */
        mkver("k", "c", 2, 7, 4),
        mkver("k", NULL, 1, 9, 2),
    };
    int permutations = 0;
    /* Each n in [0, 256) spells four base-4 digits; the ones using every digit once are
     * the permutations. */
    for (unsigned n = 0; n < 256; n++) {
        unsigned order[4], used = 0;
        for (unsigned i = 0; i < 4; i++) {
            order[i] = (n >> (2 * i)) & 3;
            used |= 1u << order[i];
        }
        if (used != 0xf)
            continue;
        permutations++;
        ckv_store *s = ckv_store_new();
        assert_non_null(s);
        for (unsigned i = 0; i < 4; i++)
            ckv_store_join(s, writes[order[i]]);
        assert_ptr_equal(ckv_store_get(s, "k", 1), writes[1]);
        assert_counts(s, 0, 1);
        /* Delivering everything again changes nothing (idempotence). */
        for (unsigned i = 0; i < 4; i++)
            assert_int_equal(ckv_store_join(s, writes[order[i]]), CKV_DECLINED);
        assert_ptr_equal(ckv_store_get(s, "k", 1), writes[1]);
        ckv_store_free(s);
    }
    assert_int_equal(permutations, 24);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(writes[i]->refs, 1); /* every store dropped its references */
        ckv_version_unref(writes[i]);
    }
}

static void test_binary_keys_and_values(void **state)
{
    (void)state;
    static const char k1[] = {'a', '\0', 'b'};
    static const char k2[] = {'a', '\0', 'c'};
    static const char k3[] = {'a'};
    static const char k4[] = {'\0'};
    static const char value[] = {'\0', '\xff', '"', '\n', '\0'};
    const char *keys[] = {k1, k2, k3, k4, ""};
    size_t lens[] = {sizeof(k1), sizeof(k2), sizeof(k3), sizeof(k4), 0};

    ckv_store *s = ckv_store_new();
    assert_non_null(s);
    for (size_t i = 0; i < 5; i++) {
        ckv_version *v = ckv_version_new(keys[i], lens[i], value, sizeof(value) - i % 2, false, 0,
                                         i + 1, 1, NULL);
        assert_non_null(v);
        assert_int_equal(join_owned(s, v), CKV_OK);
    }
    assert_counts(s, 5, 0);
    for (size_t i = 0; i < 5; i++) {
        const ckv_version *v = ckv_store_get(s, keys[i], lens[i]);
        assert_non_null(v);
        assert_int_equal(v->key_len, lens[i]);
        if (lens[i] > 0)
            assert_memory_equal(ckv_version_key(v), keys[i], lens[i]);
        assert_int_equal(v->value_len, sizeof(value) - i % 2);
        assert_memory_equal(ckv_version_value(v), value, v->value_len);
    }
    static const char absent[] = {'a', '\0'};
    assert_null(ckv_store_get(s, absent, sizeof(absent)));
    assert_null(ckv_store_get(s, "ab", 2));
    ckv_store_free(s);
}

#define MANY_KEYS 100000

static size_t key_of(char *buf, size_t size, unsigned i)
{
    return (size_t)snprintf(buf, size, "key-%u", i);
}

static ckv_store *store_with_many_keys(void)
{
    ckv_store *s = ckv_store_new();
    assert_non_null(s);
    char key[32], value[32];
    for (unsigned i = 0; i < MANY_KEYS; i++) {
        size_t klen = key_of(key, sizeof(key), i);
        size_t vlen = (size_t)snprintf(value, sizeof(value), "value-%u", i * 7);
        ckv_version *v =
            ckv_version_new(key, klen, value, vlen, i % 10 == 0, 1, i + 1, i + 1, NULL);
        assert_non_null(v);
        assert_int_equal(join_owned(s, v), CKV_OK);
    }
    return s;
}

static void test_growth_keeps_every_key(void **state)
{
    (void)state;
    ckv_store *s = ckv_store_new();
    assert_non_null(s);
    uint64_t gen0 = ckv_store_generation(s);
    ckv_store_free(s);

    s = store_with_many_keys();
    assert_true(ckv_store_generation(s) > gen0);
    assert_counts(s, MANY_KEYS - MANY_KEYS / 10, MANY_KEYS / 10);
    char key[32], value[32];
    for (unsigned i = 0; i < MANY_KEYS; i++) {
        size_t klen = key_of(key, sizeof(key), i);
        const ckv_version *v = ckv_store_get(s, key, klen);
        assert_non_null(v);
        assert_int_equal(v->seq, i + 1);
        assert_int_equal(v->tombstone, i % 10 == 0);
        size_t vlen = (size_t)snprintf(value, sizeof(value), "value-%u", i * 7);
        if (!v->tombstone) {
            assert_int_equal(v->value_len, vlen);
            assert_memory_equal(ckv_version_value(v), value, vlen);
        }
    }
    assert_null(ckv_store_get(s, "key-100000", 10));
    ckv_store_free(s);
}

static void test_iteration_visits_each_key_once(void **state)
{
    (void)state;
    ckv_store *s = store_with_many_keys();
    static unsigned char seen[MANY_KEYS];
    memset(seen, 0, sizeof(seen));
    uint64_t gen = ckv_store_generation(s);

    size_t cursor = 0, visited = 0;
    const ckv_version *v;
    while ((v = ckv_store_next(s, &cursor)) != NULL) {
        /* seq was set to key number + 1 */
        assert_true(v->seq >= 1 && v->seq <= MANY_KEYS);
        assert_int_equal(seen[v->seq - 1], 0);
        seen[v->seq - 1] = 1;
        visited++;
    }
    assert_int_equal(visited, MANY_KEYS);
    /* The end stays the end. */
    assert_null(ckv_store_next(s, &cursor));
    assert_int_equal(ckv_store_generation(s), gen);

    /* Updates in place do not rebuild the table. */
    assert_int_equal(join_owned(s, mkver("key-5", "new", 1000000, 1, 1000000)), CKV_OK);
    assert_int_equal(ckv_store_generation(s), gen);
    ckv_store_free(s);

    /* An empty store yields nothing. */
    s = ckv_store_new();
    assert_non_null(s);
    cursor = 0;
    assert_null(ckv_store_next(s, &cursor));
    ckv_store_free(s);
}

static void test_generation_changes_on_growth_and_clear(void **state)
{
    (void)state;
    ckv_store *s = ckv_store_new();
    assert_non_null(s);
    uint64_t gen = ckv_store_generation(s);
    char key[32];
    unsigned i = 0;
    while (ckv_store_generation(s) == gen) {
        size_t klen = key_of(key, sizeof(key), i);
        ckv_version *v = ckv_version_new(key, klen, "v", 1, false, 0, i + 1, 1, NULL);
        assert_non_null(v);
        assert_int_equal(join_owned(s, v), CKV_OK);
        i++;
        assert_true(i < 1000);
    }
    gen = ckv_store_generation(s);

    ckv_store_clear(s);
    assert_true(ckv_store_generation(s) != gen);
    assert_counts(s, 0, 0);
    size_t cursor = 0;
    assert_null(ckv_store_next(s, &cursor));
    assert_null(ckv_store_get(s, "key-0", 5));

    /* Usable again after a clear. */
    assert_int_equal(join_owned(s, mkver("key-0", "again", 1, 0, 1)), CKV_OK);
    assert_value(s, "key-0", "again");
    assert_counts(s, 1, 0);
    ckv_store_free(s);
}

static void test_refcounts(void **state)
{
    (void)state;
    ckv_store *s = ckv_store_new();
    assert_non_null(s);
    ckv_version *old = mkver("k", "old", 1, 0, 1);
    assert_int_equal(ckv_store_join(s, old), CKV_OK);
    assert_int_equal(old->refs, 2); /* the test's and the store's */

    /* A reader keeps the old version alive past its replacement. */
    ckv_version *kept = ckv_version_ref(old);
    ckv_version_unref(old);
    assert_int_equal(kept->refs, 2);
    ckv_version *newer = mkver("k", "new", 2, 0, 2);
    assert_int_equal(ckv_store_join(s, newer), CKV_OK);
    assert_int_equal(kept->refs, 1);
    assert_memory_equal(ckv_version_value(kept), "old", 3);
    assert_int_equal(newer->refs, 2);

    /* A declined version gains no reference. */
    ckv_version *older = mkver("k", "older", 0, 0, 3);
    assert_int_equal(ckv_store_join(s, older), CKV_DECLINED);
    assert_int_equal(older->refs, 1);
    ckv_version_unref(older);

    ckv_version_unref(kept);
    ckv_store_clear(s);
    assert_int_equal(newer->refs, 1);
    ckv_version_unref(newer);
    ckv_version_unref(NULL);
    ckv_store_free(s);
    ckv_store_free(NULL);
}

static void test_version_holds_deps(void **state)
{
    (void)state;
    ckv_vclock clock;
    ckv_vclock_init(&clock, 3);
    clock.c[1] = 4;
    ckv_deps *deps = ckv_deps_new(&clock);
    assert_non_null(deps);
    assert_int_equal(deps->refs, 1);

    ckv_version *a = ckv_version_new("k", 1, "v", 1, false, 0, 1, 1, deps);
    ckv_version *b = ckv_version_new("j", 1, "v", 1, false, 0, 2, 2, deps);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_equal(a->deps, deps);
    assert_int_equal(deps->refs, 3); /* shared, not copied; the caller's ref is kept */
    ckv_version_unref(a);
    assert_int_equal(deps->refs, 2);
    ckv_version_unref(b);
    assert_int_equal(deps->refs, 1);
    ckv_deps_unref(deps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_layout),
        cmocka_unit_test(test_version_new_refuses_oversize),
        cmocka_unit_test(test_create_update_delete_recreate),
        cmocka_unit_test(test_version_cmp),
        cmocka_unit_test(test_join_order),
        cmocka_unit_test(test_concurrent_writes_converge),
        cmocka_unit_test(test_binary_keys_and_values),
        cmocka_unit_test(test_growth_keeps_every_key),
        cmocka_unit_test(test_iteration_visits_each_key_once),
        cmocka_unit_test(test_generation_changes_on_growth_and_clear),
        cmocka_unit_test(test_refcounts),
        cmocka_unit_test(test_version_holds_deps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
