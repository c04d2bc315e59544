/* test_view.c — address parsing/normalisation and view validation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "causalkv/view.h"

static int parse(const char *s, char *out)
{
    return ckv_addr_parse(s, strlen(s), out);
}

static void test_addr_parse_valid(void **state)
{
    (void)state;
    char out[CKV_ADDR_MAX];
    assert_int_equal(parse("10.0.0.1:8080", out), CKV_OK);
    assert_string_equal(out, "10.0.0.1:8080");
    assert_int_equal(parse("  127.0.0.1:13800\t\n", out), CKV_OK);
    assert_string_equal(out, "127.0.0.1:13800");
    assert_int_equal(parse("255.255.255.255:65535", out), CKV_OK);
    assert_string_equal(out, "255.255.255.255:65535");
    assert_int_equal(parse("0.0.0.0:1", out), CKV_OK);
    assert_string_equal(out, "0.0.0.0:1");
    /* Leading zeros are read as decimal (never octal) and normalised away. */
    assert_int_equal(parse("010.001.000.009:00080", out), CKV_OK);
    assert_string_equal(out, "10.1.0.9:80");
}

static void test_addr_parse_uses_len_not_nul(void **state)
{
    (void)state;
    char out[CKV_ADDR_MAX];
    const char *s = "1.2.3.4:5,6.7.8.9:10";
    assert_int_equal(ckv_addr_parse(s, 9, out), CKV_OK);
    assert_string_equal(out, "1.2.3.4:5");
    assert_int_equal(ckv_addr_parse(s, 10, out), CKV_ERROR);
}

static void test_addr_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "foo",
        "localhost:80",
        "1.2.3.4",
        "1.2.3.4:",
        "1.2.3:80",
        "1.2.3.4.5:80",
        "256.0.0.1:80",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "1.2.3.4:100000",
        "1.2.3.4:80x",
        "1.2.3.4:80 x",
        "1.2.3.4 :80",
        "1.2.3.4: 80",
        "1.2.3.4:-80",
        "1.2.3.4:+80",
        "-1.2.3.4:80",
        "1..3.4:80",
        "1.2.3.4::80",
        "0x1.2.3.4:80",
        "1.2.3.4:0x50",
        "0001.2.3.4:80",
        "1.2.3.4:000080",
        "[::1]:80",
    };
    char out[CKV_ADDR_MAX];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], out) != CKV_ERROR)
            fail_msg("accepted '%s'", bad[i]);
    }
    assert_int_equal(ckv_addr_parse(NULL, 0, out), CKV_ERROR);
}

static void test_addr_split(void **state)
{
    (void)state;
    char ip[16];
    uint16_t port = 0;
    assert_int_equal(ckv_addr_split("192.168.1.20:13800", ip, &port), CKV_OK);
    assert_string_equal(ip, "192.168.1.20");
    assert_int_equal(port, 13800);
    assert_int_equal(ckv_addr_split("255.255.255.255:65535", ip, &port), CKV_OK);
    assert_string_equal(ip, "255.255.255.255");
    assert_int_equal(port, 65535);
    assert_int_equal(ckv_addr_split("1.2.3.4", ip, &port), CKV_ERROR);
    assert_int_equal(ckv_addr_split("nope:1", ip, &port), CKV_ERROR);
}

static void test_view_parse_csv_trims(void **state)
{
    (void)state;
    ckv_view v;
    char err[128] = "";
    assert_int_equal(
        ckv_view_parse_csv(" 10.0.0.1:1 ,10.0.0.2:2,\t10.0.0.3:3  ", &v, err, sizeof(err)), CKV_OK);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.addrs[0], "10.0.0.1:1");
    assert_string_equal(v.addrs[1], "10.0.0.2:2");
    assert_string_equal(v.addrs[2], "10.0.0.3:3");
    assert_int_equal(ckv_view_index_of(&v, "10.0.0.3:3"), 2);
    assert_int_equal(ckv_view_index_of(&v, "10.0.0.4:4"), -1);

    assert_int_equal(ckv_view_parse_csv("1.1.1.1:1", &v, err, sizeof(err)), CKV_OK);
    assert_int_equal(v.n, 1);
}

static void expect_csv_error(const char *csv, const char *want)
{
    ckv_view v;
    v.n = 7; /* sentinel: untouched on error */
    char err[128] = "";
    assert_int_equal(ckv_view_parse_csv(csv, &v, err, sizeof(err)), CKV_ERROR);
    assert_int_equal(v.n, 7);
    if (strstr(err, want) == NULL)
        fail_msg("csv '%s': error '%s' does not contain '%s'", csv, err, want);
}

static void test_view_parse_csv_errors(void **state)
{
    (void)state;
    expect_csv_error("", "empty view");
    expect_csv_error("   ", "empty view");
    expect_csv_error("1.1.1.1:1,,2.2.2.2:2", "empty member");
    expect_csv_error("1.1.1.1:1,", "empty member");
    expect_csv_error(",1.1.1.1:1", "empty member");
    expect_csv_error("1.1.1.1:1, ,2.2.2.2:2", "empty member");
    expect_csv_error("1.1.1.1:1,foo", "unparsable member 'foo'");
    expect_csv_error("1.1.1.1:1, 2.2.2.2:99999 ", "unparsable member '2.2.2.2:99999'");
    expect_csv_error("1.1.1.1:1,2.2.2.2:2,1.1.1.1:1", "duplicate member 1.1.1.1:1");
    /* Duplicates are found after normalisation. */
    expect_csv_error("1.1.1.1:1, 001.1.1.1:01", "duplicate member 1.1.1.1:1");
    ckv_view v;
    assert_int_equal(ckv_view_parse_csv(NULL, &v, NULL, 0), CKV_ERROR);
}

static void test_view_max_members(void **state)
{
    (void)state;
    char csv[CKV_VIEW_MAX * 24 + 32] = "";
    size_t pos = 0;
    for (int i = 0; i < CKV_VIEW_MAX; i++)
        pos +=
            (size_t)snprintf(csv + pos, sizeof(csv) - pos, "%s10.0.0.1:%d", i ? "," : "", 1000 + i);
    ckv_view v;
    char err[128] = "";
    assert_int_equal(ckv_view_parse_csv(csv, &v, err, sizeof(err)), CKV_OK);
    assert_int_equal(v.n, CKV_VIEW_MAX);

    snprintf(csv + pos, sizeof(csv) - pos, ",10.0.0.2:1");
    assert_int_equal(ckv_view_parse_csv(csv, &v, err, sizeof(err)), CKV_ERROR);
    assert_non_null(strstr(err, "too many members"));
}

static void test_view_add(void **state)
{
    (void)state;
    ckv_view v = {0};
    char err[128] = "";
    assert_int_equal(ckv_view_add(&v, " 1.2.3.4:5 ", 11, err, sizeof(err)), CKV_OK);
    assert_int_equal(ckv_view_add(&v, "1.2.3.4:5", 9, err, sizeof(err)), CKV_ERROR);
    assert_string_equal(err, "duplicate member 1.2.3.4:5");
    assert_int_equal(ckv_view_add(&v, "bad", 3, err, sizeof(err)), CKV_ERROR);
    assert_non_null(strstr(err, "unparsable member 'bad'"));
    /* A tiny or absent error buffer is never overrun. */
    assert_int_equal(ckv_view_add(&v, "bad", 3, err, 4), CKV_ERROR);
    assert_int_equal(strlen(err), 3);
    assert_int_equal(ckv_view_add(&v, "bad", 3, NULL, 0), CKV_ERROR);
    assert_int_equal(v.n, 1);
}

static void test_view_check_rf(void **state)
{
    (void)state;
    ckv_view v;
    char err[128] = "";
    assert_int_equal(
        ckv_view_parse_csv("1.1.1.1:1,2.2.2.2:2,3.3.3.3:3,4.4.4.4:4", &v, err, sizeof(err)),
        CKV_OK);
    assert_int_equal(ckv_view_check_rf(&v, 1, err, sizeof(err)), CKV_OK);
    assert_int_equal(ckv_view_check_rf(&v, 2, err, sizeof(err)), CKV_OK);
    assert_int_equal(ckv_view_check_rf(&v, 4, err, sizeof(err)), CKV_OK);
    assert_int_equal(ckv_view_check_rf(&v, 3, err, sizeof(err)), CKV_ERROR);
    assert_non_null(strstr(err, "not a multiple"));
    assert_int_equal(ckv_view_check_rf(&v, 8, err, sizeof(err)), CKV_ERROR);
    assert_int_equal(ckv_view_check_rf(&v, 0, err, sizeof(err)), CKV_ERROR);
    assert_non_null(strstr(err, ">= 1"));
    assert_int_equal(ckv_view_check_rf(&v, -2, err, sizeof(err)), CKV_ERROR);
    v.n = 0;
    assert_int_equal(ckv_view_check_rf(&v, 1, err, sizeof(err)), CKV_ERROR);
    assert_non_null(strstr(err, "empty"));
}

static void test_view_equal(void **state)
{
    (void)state;
    ckv_view a, b, c;
    assert_int_equal(ckv_view_parse_csv("1.1.1.1:1,2.2.2.2:2", &a, NULL, 0), CKV_OK);
    assert_int_equal(ckv_view_parse_csv(" 1.1.1.1:1 , 2.2.2.2:2", &b, NULL, 0), CKV_OK);
    assert_int_equal(ckv_view_parse_csv("2.2.2.2:2,1.1.1.1:1", &c, NULL, 0), CKV_OK);
    assert_true(ckv_view_equal(&a, &b));
    assert_false(ckv_view_equal(&a, &c)); /* order defines shards: it matters */
    c.n = 1;
    assert_false(ckv_view_equal(&a, &c));
}

static void test_view_has_ip(void **state)
{
    (void)state;
    ckv_view v;
    char err[128];
    assert_int_equal(ckv_view_parse_csv("10.0.0.1:80,10.0.0.12:81", &v, err, sizeof(err)), CKV_OK);
    assert_true(ckv_view_has_ip(&v, "10.0.0.1"));
    assert_true(ckv_view_has_ip(&v, "10.0.0.12"));
    assert_false(ckv_view_has_ip(&v, "10.0.0.2"));
    assert_false(ckv_view_has_ip(&v, "10.0.0.")); /* a prefix of a member is not one */
    assert_false(ckv_view_has_ip(&v, "0.0.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse_valid),
        cmocka_unit_test(test_addr_parse_uses_len_not_nul),
        cmocka_unit_test(test_addr_parse_invalid),
        cmocka_unit_test(test_addr_split),
        cmocka_unit_test(test_view_parse_csv_trims),
        cmocka_unit_test(test_view_parse_csv_errors),
        cmocka_unit_test(test_view_max_members),
        cmocka_unit_test(test_view_add),
        cmocka_unit_test(test_view_check_rf),
        cmocka_unit_test(test_view_equal),
        cmocka_unit_test(test_view_has_ip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
