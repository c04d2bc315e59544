/* Unit tests for view_plan: participants, reachability rules, prepare rule, movement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "causalkv/view_plan.h"

static ckv_shard_map map_of(const char *csv, long rf, uint64_t epoch)
{
    ckv_view v;
    char err[128];
    ckv_shard_map m;
    assert_int_equal(ckv_view_parse_csv(csv, &v, err, sizeof(err)), CKV_OK);
    assert_int_equal(ckv_shard_map_init(&m, &v, rf, epoch, err, sizeof(err)), CKV_OK);
    return m;
}

static ckv_view view_of(const char *csv)
{
    ckv_view v;
    char err[128];
    assert_int_equal(ckv_view_parse_csv(csv, &v, err, sizeof(err)), CKV_OK);
    return v;
}

static void test_participants_are_union(void **state)
{
    (void)state;
    ckv_shard_map old = map_of("10.0.0.1:1,10.0.0.2:1,10.0.0.3:1,10.0.0.4:1", 2, 4);
    ckv_view nv = view_of("10.0.0.3:1,10.0.0.4:1,10.0.0.5:1,10.0.0.6:1");
    ckv_view_plan p;
    char err[128];
    assert_int_equal(ckv_view_plan_init(&p, &old, "10.0.0.1:1", &nv, 2, err, sizeof(err)), CKV_OK);
    assert_int_equal(p.nodes.n, 6);
    assert_int_equal(p.new_map.epoch, 5);
    assert_true(p.in_old[0] && !p.in_new[0]);
    assert_true(p.in_old[2] && p.in_new[2]);
    assert_true(!p.in_old[5] && p.in_new[5]);
}

static void test_invalid_requests(void **state)
{
    (void)state;
    ckv_shard_map old = map_of("10.0.0.1:1,10.0.0.2:1", 1, 0);
    ckv_view_plan p;
    char err[128];
    ckv_view nv = view_of("10.0.0.1:1,10.0.0.2:1,10.0.0.3:1");
    assert_int_equal(ckv_view_plan_init(&p, &old, "10.0.0.9:1", &nv, 1, err, sizeof(err)),
                     CKV_ERROR);
    assert_non_null(strstr(err, "not a member"));
    assert_int_equal(ckv_view_plan_init(&p, &old, "10.0.0.1:1", &nv, 2, err, sizeof(err)),
                     CKV_ERROR);
    assert_int_equal(ckv_view_plan_init(&p, &old, "10.0.0.1:1", &nv, 0, err, sizeof(err)),
                     CKV_ERROR);
    ckv_view empty = {0};
    assert_int_equal(ckv_view_plan_init(&p, &old, "10.0.0.1:1", &empty, 1, err, sizeof(err)),
                     CKV_ERROR);
}

static void test_reachability(void **state)
{
    (void)state;
    ckv_shard_map old = map_of("10.0.0.1:1,10.0.0.2:1,10.0.0.3:1,10.0.0.4:1", 2, 0);
    ckv_view nv = view_of("10.0.0.1:1,10.0.0.2:1,10.0.0.5:1,10.0.0.6:1");
    ckv_view_plan p;
    char err[128];
    ckv_plan_gap gap;
    assert_int_equal(ckv_view_plan_init(&p, &old, "10.0.0.1:1", &nv, 2, err, sizeof(err)), CKV_OK);
    /* nodes: .1 .2 .3 .4 (old) .5 .6 (new) */
    bool all[6] = {true, true, true, true, true, true};
    assert_int_equal(ckv_view_plan_check_reachable(&p, all, true, &gap), CKV_OK);
    bool one_old_replica_down[6] = {true, true, false, true, true, true};
    assert_int_equal(ckv_view_plan_check_reachable(&p, one_old_replica_down, true, &gap), CKV_OK);
    bool old_shard_down[6] = {true, true, false, false, true, true};
    assert_int_equal(ckv_view_plan_check_reachable(&p, old_shard_down, true, &gap), CKV_ERROR);
    assert_int_equal(gap.node, -1);
    assert_int_equal(gap.shard, 2);
    assert_int_equal(ckv_view_plan_check_reachable(&p, old_shard_down, false, &gap), CKV_OK);
    bool new_down[6] = {true, true, true, true, true, false};
    assert_int_equal(ckv_view_plan_check_reachable(&p, new_down, false, &gap), CKV_ERROR);
    assert_int_equal(gap.node, 5);
    assert_string_equal(p.nodes.addrs[gap.node], "10.0.0.6:1");
    /* an old member that is also new (.1) and stopped answering is named, not a shard */
    bool old_and_new_down[6] = {false, true, true, true, true, true};
    assert_int_equal(ckv_view_plan_check_reachable(&p, old_and_new_down, true, &gap), CKV_ERROR);
    assert_int_equal(gap.node, 0);
}

static void test_may_prepare(void **state)
{
    (void)state;
    assert_true(ckv_view_plan_may_prepare(3, 0, 77, 4, 1000, 2000));
    assert_true(ckv_view_plan_may_prepare(3, 77, 77, 4, 1000, 2000));
    /* another change holds the node */
    assert_false(ckv_view_plan_may_prepare(3, 76, 77, 4, 1000, 2000));
    /* not newer than what is in force */
    assert_false(ckv_view_plan_may_prepare(4, 0, 77, 4, 1000, 2000));
    /* a new node starts at epoch 0 */
    assert_true(ckv_view_plan_may_prepare(0, 0, 9, 4, 1000, 2000));
    /* the coordinator stopped waiting for this prepare: the change went on without us */
    assert_true(ckv_view_plan_may_prepare(3, 0, 77, 4, 2000, 2000));
    assert_false(ckv_view_plan_may_prepare(3, 0, 77, 4, 2001, 2000));
    assert_false(ckv_view_plan_may_prepare(3, 77, 77, 4, 2001, 2000));
}

static void test_growth_moves_about_a_third(void **state)
{
    (void)state;
    ckv_shard_map old = map_of("10.0.0.1:1,10.0.0.2:1,10.0.0.3:1,10.0.0.4:1", 2, 0);
    ckv_view nv = view_of("10.0.0.1:1,10.0.0.2:1,10.0.0.3:1,10.0.0.4:1,10.0.0.5:1,10.0.0.6:1");
    ckv_view_plan p;
    char err[128];
    assert_int_equal(ckv_view_plan_init(&p, &old, "10.0.0.1:1", &nv, 2, err, sizeof(err)), CKV_OK);
    int moved = 0;
    for (int i = 0; i < 3000; i++) {
        char key[32];
        int len = snprintf(key, sizeof(key), "key-%d", i);
        moved += ckv_view_plan_key_moves(&p, key, (size_t)len);
    }
    assert_in_range(moved, 850, 1150);

    ckv_view_plan same;
    assert_int_equal(ckv_view_plan_init(&same, &old, "10.0.0.1:1", &old.view, 2, err, sizeof(err)),
                     CKV_OK);
    assert_false(ckv_view_plan_key_moves(&same, "anything", 8));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_participants_are_union),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_reachability),
        cmocka_unit_test(test_may_prepare),
        cmocka_unit_test(test_growth_moves_about_a_third),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
