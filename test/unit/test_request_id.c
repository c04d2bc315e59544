/* test_request_id.c — which client ids are accepted, and the node's own ids. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "causalkv/request_id.h"

static bool valid(const char *s)
{
    return ckv_request_id_valid(s, strlen(s));
}

static void test_accepted(void **state)
{
    (void)state;
    assert_true(valid("a"));
    assert_true(valid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    assert_true(valid("trace:abc/def+g=="));
    assert_true(valid("A_b.C-9"));
    char max[CKV_REQUEST_ID_MAX + 1];
    memset(max, 'x', CKV_REQUEST_ID_MAX);
    max[CKV_REQUEST_ID_MAX] = '\0';
    assert_true(valid(max));
}

static void test_refused(void **state)
{
    (void)state;
    assert_false(valid(""));
    assert_false(ckv_request_id_valid(NULL, 0));
    assert_false(valid("has space"));
    assert_false(valid("quote\""));
    assert_false(valid("semi;colon"));
    assert_false(valid("new\nline"));
    assert_false(valid("tab\t"));
    assert_false(valid("caf\xc3\xa9"));
    assert_false(valid("<script>"));
    assert_false(ckv_request_id_valid("ab\0cd", 5));
    char over[CKV_REQUEST_ID_MAX + 2];
    memset(over, 'x', CKV_REQUEST_ID_MAX + 1);
    over[CKV_REQUEST_ID_MAX + 1] = '\0';
    assert_false(valid(over));
}

static void test_generated(void **state)
{
    (void)state;
    ckv_request_ids g;
    ckv_request_ids_init(&g, 42);
    char a[CKV_REQUEST_ID_MAX + 1], b[CKV_REQUEST_ID_MAX + 1];
    size_t la = ckv_request_id_next(&g, a);
    size_t lb = ckv_request_id_next(&g, b);
    assert_int_equal(la, strlen(a));
    assert_int_equal(la, CKV_REQUEST_ID_PREFIX_LEN + 2);
    assert_int_equal(lb, strlen(b));
    assert_memory_equal(a, b, CKV_REQUEST_ID_PREFIX_LEN + 1);
    assert_string_equal(a + CKV_REQUEST_ID_PREFIX_LEN, "-1");
    assert_string_equal(b + CKV_REQUEST_ID_PREFIX_LEN, "-2");
    assert_true(ckv_request_id_valid(a, la)); /* our own ids pass our own rule */
    g.next = UINT64_MAX;
    la = ckv_request_id_next(&g, a);
    assert_string_equal(a + CKV_REQUEST_ID_PREFIX_LEN, "-18446744073709551615");
    assert_true(la <= CKV_REQUEST_ID_MAX);
}

static void test_prefix_depends_on_seed(void **state)
{
    (void)state;
    ckv_request_ids g1, g2, g3;
    ckv_request_ids_init(&g1, 1);
    ckv_request_ids_init(&g2, 2);
    ckv_request_ids_init(&g3, 1);
    assert_string_not_equal(g1.prefix, g2.prefix);
    assert_string_equal(g1.prefix, g3.prefix);
    assert_int_equal(strlen(g1.prefix), CKV_REQUEST_ID_PREFIX_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_prefix_depends_on_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
