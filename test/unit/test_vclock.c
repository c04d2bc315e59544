/* test_vclock.c — vector clock order, merge, readiness and dependency sets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "causalkv/vclock.h"

/* Clock of n entries with the given values (the rest zero). */
static ckv_vclock clock_of(uint32_t n, const uint64_t *values, uint32_t count)
{
    ckv_vclock v;
    ckv_vclock_init(&v, n);
    for (uint32_t i = 0; i < count && i < n; i++)
        v.c[i] = values[i];
    return v;
}

#define CLOCK(n, ...)                                                                              \
    clock_of((n), (const uint64_t[]){__VA_ARGS__},                                                 \
             (uint32_t)(sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)))

static void test_init(void **state)
{
    (void)state;
    ckv_vclock v;
    v.c[0] = 99;
    ckv_vclock_init(&v, 3);
    assert_int_equal(v.n, 3);
    for (uint32_t i = 0; i < CKV_VIEW_MAX; i++)
        assert_true(v.c[i] == 0);
    assert_true(ckv_vclock_is_zero(&v));
    ckv_vclock_init(&v, 0);
    assert_true(ckv_vclock_is_zero(&v));
    ckv_vclock_init(&v, CKV_VIEW_MAX);
    assert_int_equal(v.n, CKV_VIEW_MAX);
}

static void test_leq_orders(void **state)
{
    (void)state;
    ckv_vclock a = CLOCK(3, 1, 2, 3);
    ckv_vclock b = CLOCK(3, 1, 2, 4);
    ckv_vclock c = CLOCK(3, 2, 0, 3); /* concurrent with a */
    assert_true(ckv_vclock_leq(&a, &a));
    assert_true(ckv_vclock_leq(&a, &b));
    assert_false(ckv_vclock_leq(&b, &a));
    assert_false(ckv_vclock_leq(&a, &c));
    assert_false(ckv_vclock_leq(&c, &a));
    ckv_vclock zero = CLOCK(3, 0);
    assert_true(ckv_vclock_leq(&zero, &a));
    assert_false(ckv_vclock_leq(&a, &zero));
}

static void test_leq_different_lengths(void **state)
{
    (void)state;
    ckv_vclock short_clock = CLOCK(2, 1, 1);
    ckv_vclock long_clock = CLOCK(4, 1, 1, 0, 5);
    assert_true(ckv_vclock_leq(&short_clock, &long_clock));
    /* long[3] = 5 > the missing (zero) entry of short. */
    assert_false(ckv_vclock_leq(&long_clock, &short_clock));
    ckv_vclock long_zero_tail = CLOCK(4, 1, 1, 0, 0);
    assert_true(ckv_vclock_leq(&long_zero_tail, &short_clock));
    ckv_vclock empty = CLOCK(0, 0);
    assert_true(ckv_vclock_leq(&empty, &short_clock));
    assert_false(ckv_vclock_leq(&short_clock, &empty));
}

static void test_merge(void **state)
{
    (void)state;
    ckv_vclock a = CLOCK(3, 1, 5, 0);
    ckv_vclock b = CLOCK(3, 4, 2, 7);
    ckv_vclock_merge(&a, &b);
    assert_true(a.c[0] == 4 && a.c[1] == 5 && a.c[2] == 7);
    assert_true(ckv_vclock_leq(&b, &a));
    ckv_vclock_merge(&a, &a); /* idempotent */
    assert_true(a.c[0] == 4 && a.c[1] == 5 && a.c[2] == 7);
}

static void test_merge_different_lengths(void **state)
{
    (void)state;
    ckv_vclock dst = CLOCK(2, 1, 1);
    ckv_vclock src = CLOCK(4, 3, 0, 9, 9);
    ckv_vclock_merge(&dst, &src);
    assert_int_equal(dst.n, 2);
    assert_true(dst.c[0] == 3 && dst.c[1] == 1);
    assert_true(dst.c[2] == 0 && dst.c[3] == 0); /* never grows past its own n */

    ckv_vclock big = CLOCK(4, 0, 2, 0, 1);
    ckv_vclock small = CLOCK(2, 5, 0);
    ckv_vclock_merge(&big, &small);
    assert_int_equal(big.n, 4);
    assert_true(big.c[0] == 5 && big.c[1] == 2 && big.c[2] == 0 && big.c[3] == 1);
}

static void test_covers_range(void **state)
{
    (void)state;
    /* 6 nodes, rf 2: shard 2 is members 2 and 3. */
    ckv_vclock local = CLOCK(6, 0, 0, 5, 5, 0, 0);
    ckv_vclock ctx = CLOCK(6, 9, 9, 5, 4, 9, 9);
    assert_true(ckv_vclock_covers(&local, &ctx, 2, 2)); /* other shards do not matter */
    assert_false(ckv_vclock_covers(&local, &ctx, 0, 2));
    assert_false(ckv_vclock_covers(&local, &ctx, 4, 2));
    assert_false(ckv_vclock_covers(&local, &ctx, 0, 6));
    ctx.c[3] = 6; /* ahead on one replica of the shard: not ready */
    assert_false(ckv_vclock_covers(&local, &ctx, 2, 2));
    assert_true(ckv_vclock_covers(&local, &ctx, 2, 1));
    assert_true(ckv_vclock_covers(&local, &ctx, 2, 0)); /* empty range */
}

static void test_covers_different_lengths(void **state)
{
    (void)state;
    ckv_vclock local = CLOCK(4, 1, 1, 1, 1);
    ckv_vclock short_ctx = CLOCK(2, 1, 1);
    assert_true(ckv_vclock_covers(&local, &short_ctx, 0, 4));
    assert_true(ckv_vclock_covers(&local, &short_ctx, 2, 2)); /* missing ctx entries = 0 */
    ckv_vclock long_ctx = CLOCK(6, 1, 1, 1, 1, 0, 2);
    assert_true(ckv_vclock_covers(&local, &long_ctx, 0, 4));
    assert_true(ckv_vclock_covers(&local, &long_ctx, 4, 1));
    assert_false(ckv_vclock_covers(&local, &long_ctx, 4, 2)); /* local[5] counts as 0 */
    ckv_vclock empty_ctx = CLOCK(0, 0);
    assert_true(ckv_vclock_covers(&local, &empty_ctx, 0, 4));
    /* A range running past CKV_VIEW_MAX is clamped, not read out of bounds. */
    assert_true(ckv_vclock_covers(&local, &empty_ctx, CKV_VIEW_MAX - 1, UINT32_MAX));
}

static void test_is_zero(void **state)
{
    (void)state;
    ckv_vclock v = CLOCK(3, 0, 0, 1);
    assert_false(ckv_vclock_is_zero(&v));
    v.n = 2; /* entries past n are not part of the clock */
    assert_true(ckv_vclock_is_zero(&v));
}

static void test_deps_zero_is_null(void **state)
{
    (void)state;
    ckv_vclock zero = CLOCK(5, 0);
    assert_null(ckv_deps_new(&zero));
    ckv_vclock empty = CLOCK(0, 0);
    assert_null(ckv_deps_new(&empty));
    assert_null(ckv_deps_ref(NULL));
    ckv_deps_unref(NULL);
    ckv_vclock dst = CLOCK(2, 1, 2);
    ckv_vclock_merge_deps(&dst, NULL);
    assert_true(dst.c[0] == 1 && dst.c[1] == 2);
}

static void test_deps_copy_and_refcount(void **state)
{
    (void)state;
    ckv_vclock v = CLOCK(3, 0, 7, 2);
    ckv_deps *d = ckv_deps_new(&v);
    assert_non_null(d);
    assert_int_equal(d->refs, 1);
    assert_int_equal(d->n, 3);
    assert_true(d->c[0] == 0 && d->c[1] == 7 && d->c[2] == 2);
    v.c[1] = 100; /* a copy: later changes to v do not leak in */
    assert_true(d->c[1] == 7);

    assert_ptr_equal(ckv_deps_ref(d), d);
    assert_int_equal(d->refs, 2);
    ckv_deps_unref(d);
    assert_int_equal(d->refs, 1);
    ckv_deps_unref(d); /* freed; the sanitizer build reports a leak or double free */
}

static void test_merge_deps(void **state)
{
    (void)state;
    ckv_vclock v = CLOCK(4, 3, 0, 1, 8);
    ckv_deps *d = ckv_deps_new(&v);
    assert_non_null(d);

    ckv_vclock dst = CLOCK(4, 1, 5, 1, 9);
    ckv_vclock_merge_deps(&dst, d);
    assert_true(dst.c[0] == 3 && dst.c[1] == 5 && dst.c[2] == 1 && dst.c[3] == 9);

    ckv_vclock shorter = CLOCK(2, 0, 0);
    ckv_vclock_merge_deps(&shorter, d);
    assert_int_equal(shorter.n, 2);
    assert_true(shorter.c[0] == 3 && shorter.c[1] == 0 && shorter.c[2] == 0);

    ckv_vclock longer = CLOCK(6, 0, 0, 0, 0, 4, 4);
    ckv_vclock_merge_deps(&longer, d);
    assert_true(longer.c[0] == 3 && longer.c[3] == 8 && longer.c[4] == 4 && longer.c[5] == 4);
    ckv_deps_unref(d);
}

static void test_deps_full_width(void **state)
{
    (void)state;
    ckv_vclock v;
    ckv_vclock_init(&v, CKV_VIEW_MAX);
    v.c[CKV_VIEW_MAX - 1] = UINT64_MAX;
    ckv_deps *d = ckv_deps_new(&v);
    assert_non_null(d);
    assert_int_equal(d->n, CKV_VIEW_MAX);
    ckv_vclock dst;
    ckv_vclock_init(&dst, CKV_VIEW_MAX);
    ckv_vclock_merge_deps(&dst, d);
    assert_true(dst.c[CKV_VIEW_MAX - 1] == UINT64_MAX);
    assert_true(ckv_vclock_leq(&v, &dst) && ckv_vclock_leq(&dst, &v));
    ckv_deps_unref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_leq_orders),
        cmocka_unit_test(test_leq_different_lengths),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_different_lengths),
        cmocka_unit_test(test_covers_range),
        cmocka_unit_test(test_covers_different_lengths),
        cmocka_unit_test(test_is_zero),
        cmocka_unit_test(test_deps_zero_is_null),
        cmocka_unit_test(test_deps_copy_and_refcount),
        cmocka_unit_test(test_merge_deps),
        cmocka_unit_test(test_deps_full_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
