/* test_wlog.c — the ring of own recent writes: append, eviction, ranges after a seq,
 * gap detection and reset. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "causalkv/wlog.h"

#define GAP ((size_t)-1)

static ckv_version *mkver(uint64_t seq)
{
    ckv_version *v = ckv_version_new("k", 1, "v", 1, false, 0, seq, seq, NULL);
    assert_non_null(v);
    return v;
}

/* Appends seq and drops the test's reference, returning the append's result. */
static int append_seq(ckv_wlog *l, uint64_t seq)
{
    ckv_version *v = mkver(seq);
    int rc = ckv_wlog_append(l, v);
    ckv_version_unref(v);
    return rc;
}

static void append_range(ckv_wlog *l, uint64_t first, uint64_t last)
{
    for (uint64_t s = first; s <= last; s++)
        assert_int_equal(append_seq(l, s), CKV_OK);
}

/* ckv_wlog_after must return exactly the seqs after+1 .. after+expect. */
static void assert_after(const ckv_wlog *l, uint64_t after, size_t max, size_t expect)
{
    const ckv_version *out[64];
    assert_true(max <= 64);
    size_t n = ckv_wlog_after(l, after, out, max);
    assert_int_equal(n, expect);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i]->seq, after + 1 + i);
}

static void test_empty(void **state)
{
    (void)state;
    assert_null(ckv_wlog_new(0));
    ckv_wlog *l = ckv_wlog_new(4);
    assert_non_null(l);
    assert_int_equal(ckv_wlog_last_seq(l), 0);
    assert_int_equal(ckv_wlog_first_seq(l), 1);
    assert_after(l, 0, 8, 0);
    assert_after(l, 5, 8, 0);
    ckv_wlog_free(l);
    ckv_wlog_free(NULL);
}

static void test_append_and_after(void **state)
{
    (void)state;
    ckv_wlog *l = ckv_wlog_new(8);
    assert_non_null(l);
    append_range(l, 1, 5);
    assert_int_equal(ckv_wlog_last_seq(l), 5);
    assert_int_equal(ckv_wlog_first_seq(l), 1);

    assert_after(l, 0, 64, 5);
    assert_after(l, 2, 64, 3);
    assert_after(l, 4, 64, 1);
    assert_after(l, 5, 64, 0);  /* up to date */
    assert_after(l, 99, 64, 0); /* claims more than exists */
    assert_after(l, 0, 2, 2);   /* bounded by max */
    assert_after(l, 1, 0, 0);
    ckv_wlog_free(l);
}

static void test_wrong_seq_refused(void **state)
{
    (void)state;
    ckv_wlog *l = ckv_wlog_new(4);
    assert_non_null(l);
    assert_int_equal(append_seq(l, 0), CKV_ERROR);
    assert_int_equal(append_seq(l, 2), CKV_ERROR);
    assert_int_equal(append_seq(l, 1), CKV_OK);
    assert_int_equal(append_seq(l, 1), CKV_ERROR); /* a duplicate */
    assert_int_equal(append_seq(l, 3), CKV_ERROR); /* a gap */
    assert_int_equal(append_seq(l, 2), CKV_OK);
    assert_int_equal(ckv_wlog_last_seq(l), 2);
    assert_after(l, 0, 64, 2);

    /* A refused version is not referenced. */
    ckv_version *v = mkver(7);
    assert_int_equal(ckv_wlog_append(l, v), CKV_ERROR);
    assert_int_equal(v->refs, 1);
    ckv_version_unref(v);
    ckv_wlog_free(l);
}

static void test_eviction_and_gap(void **state)
{
    (void)state;
    ckv_wlog *l = ckv_wlog_new(4);
    assert_non_null(l);
    append_range(l, 1, 10); /* keeps 7..10 */
    assert_int_equal(ckv_wlog_first_seq(l), 7);
    assert_int_equal(ckv_wlog_last_seq(l), 10);

    assert_after(l, 6, 64, 4); /* after + 1 = 7 is still held */
    assert_after(l, 8, 64, 2);
    assert_after(l, 10, 64, 0);
    assert_int_equal(ckv_wlog_after(l, 5, NULL, 64), GAP); /* 6 was evicted */
    assert_int_equal(ckv_wlog_after(l, 0, NULL, 64), GAP);
    /* The gap is reported even when the caller asks for nothing. */
    assert_int_equal(ckv_wlog_after(l, 0, NULL, 0), GAP);
    ckv_wlog_free(l);
}

static void test_capacity_one(void **state)
{
    (void)state;
    ckv_wlog *l = ckv_wlog_new(1);
    assert_non_null(l);
    append_range(l, 1, 3);
    assert_int_equal(ckv_wlog_first_seq(l), 3);
    assert_after(l, 2, 64, 1);
    assert_int_equal(ckv_wlog_after(l, 1, NULL, 64), GAP);
    ckv_wlog_free(l);
}

static void test_wraparound_order(void **state)
{
    (void)state;
    ckv_wlog *l = ckv_wlog_new(5);
    assert_non_null(l);
    /* Every head position, every range. */
    for (uint64_t last = 1; last <= 23; last++) {
        append_range(l, last, last);
        uint64_t first = last > 5 ? last - 4 : 1;
        assert_int_equal(ckv_wlog_first_seq(l), first);
        for (uint64_t after = first - 1; after <= last; after++)
            assert_after(l, after, 64, (size_t)(last - after));
        if (first > 1)
            assert_int_equal(ckv_wlog_after(l, first - 2, NULL, 64), GAP);
    }
    ckv_wlog_free(l);
}

static void test_reset_with_base(void **state)
{
    (void)state;
    ckv_wlog *l = ckv_wlog_new(4);
    assert_non_null(l);
    ckv_version *held = mkver(1);
    assert_int_equal(ckv_wlog_append(l, held), CKV_OK);
    assert_int_equal(held->refs, 2);
    append_range(l, 2, 3);

    ckv_wlog_reset(l, 100);
    assert_int_equal(held->refs, 1); /* the log dropped its reference */
    ckv_version_unref(held);
    assert_int_equal(ckv_wlog_last_seq(l), 100);
    assert_int_equal(ckv_wlog_first_seq(l), 101);
    assert_after(l, 100, 64, 0);
    /* Anything before the base is not in this log. */
    assert_int_equal(ckv_wlog_after(l, 3, NULL, 64), GAP);

    assert_int_equal(append_seq(l, 4), CKV_ERROR);
    assert_int_equal(append_seq(l, 101), CKV_OK);
    assert_int_equal(append_seq(l, 102), CKV_OK);
    assert_int_equal(ckv_wlog_first_seq(l), 101);
    assert_after(l, 100, 64, 2);

    /* A new epoch starts again from zero. */
    ckv_wlog_reset(l, 0);
    assert_int_equal(ckv_wlog_first_seq(l), 1);
    append_range(l, 1, 6);
    assert_after(l, 2, 64, 4);
    ckv_wlog_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_and_after),
        cmocka_unit_test(test_wrong_seq_refused),
        cmocka_unit_test(test_eviction_and_gap),
        cmocka_unit_test(test_capacity_one),
        cmocka_unit_test(test_wraparound_order),
        cmocka_unit_test(test_reset_with_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
