/* Unit tests for cors: parsing CORS_ORIGINS and deciding which origins may read replies
 * (listed ones, "*", and the nodes' own origins, which serve the dashboard). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "causalkv/cors.h"

static bool allows(const ckv_cors *c, const ckv_view *v, const char *origin)
{
    return ckv_cors_allows(c, v, "10.0.0.9:13800", origin, strlen(origin));
}

static ckv_view members(void)
{
    ckv_view v;
    char err[128];
    assert_int_equal(ckv_view_parse_csv("10.0.0.1:13800,10.0.0.2:13800", &v, err, sizeof(err)),
                     CKV_OK);
    return v;
}

static void test_default_allows_only_nodes(void **state)
{
    (void)state;
    ckv_cors c;
    char err[160];
    assert_int_equal(ckv_cors_parse(NULL, &c, err, sizeof(err)), CKV_OK);
    ckv_view v = members();
    assert_true(allows(&c, &v, "http://10.0.0.1:13800"));
    assert_true(allows(&c, &v, "HTTP://10.0.0.2:13800"));
    assert_true(allows(&c, &v, "http://10.0.0.9:13800")); /* self, a standby */
    assert_false(allows(&c, &v, "http://10.0.0.1:13801"));
    assert_false(allows(&c, &v, "https://10.0.0.1:13800"));
    assert_false(allows(&c, &v, "http://10.0.0.1:1380"));
    assert_false(allows(&c, &v, "http://evil.example"));
    assert_false(allows(&c, &v, "null"));
    assert_false(allows(&c, &v, ""));
}

static void test_list(void **state)
{
    (void)state;
    ckv_cors c;
    char err[160];
    assert_int_equal(
        ckv_cors_parse(" http://ops.example:8080 ,https://Admin.Example", &c, err, sizeof(err)),
        CKV_OK);
    assert_int_equal(c.n, 2);
    assert_false(c.any);
    assert_true(allows(&c, NULL, "http://ops.example:8080"));
    assert_true(allows(&c, NULL, "https://admin.example"));
    assert_false(allows(&c, NULL, "http://ops.example"));
    assert_false(allows(&c, NULL, "http://ops.example:8080/"));
    assert_false(allows(&c, NULL, "https://admin.example.evil"));
}

static void test_any(void **state)
{
    (void)state;
    ckv_cors c;
    char err[160];
    assert_int_equal(ckv_cors_parse("*", &c, err, sizeof(err)), CKV_OK);
    assert_true(c.any);
    assert_true(allows(&c, NULL, "http://anything.example"));
    assert_false(allows(&c, NULL, "")); /* no Origin: not a CORS request at all */
}

static void test_bad_lists(void **state)
{
    (void)state;
    const char *bad[] = {"ops.example",        "http://",           "http://a/b", "ftp://a",
                         "http://a,,http://b", "*,http://a",        "http://a b", ",",
                         "http://a:",          "https://a.example/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ckv_cors c;
        char err[160] = "";
        if (ckv_cors_parse(bad[i], &c, err, sizeof(err)) != CKV_ERROR)
            fail_msg("accepted CORS_ORIGINS=%s", bad[i]);
        assert_true(strlen(err) > 0);
    }
    char many[2048] = "";
    for (int i = 0; i <= CKV_CORS_MAX; i++)
        strcat(many, i ? ",http://a" : "http://a");
    ckv_cors c;
    char err[160];
    assert_int_equal(ckv_cors_parse(many, &c, err, sizeof(err)), CKV_ERROR);
    assert_non_null(strstr(err, "more than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_allows_only_nodes),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_any),
        cmocka_unit_test(test_bad_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
