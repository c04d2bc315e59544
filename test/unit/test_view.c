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
    };
    char out[CKV_ADDR_MAX];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], out) != CKV_ERROR)
            fail_msg("accepted '%s'", bad[i]);
    }
    assert_int_equal(ckv_addr_parse(NULL, 0, out), CKV_ERROR);
}

/* Names: RFC 1123 labels, lower-cased so that every node spells a member the same. */
static void test_addr_parse_names(void **state)
{
    (void)state;
    static const char *const good[][2] = {
        {"causalkv-0.causalkv.default.svc:13800", "causalkv-0.causalkv.default.svc:13800"},
        {"localhost:80", "localhost:80"},
        {"  Node-A.Example.COM:13800 ", "node-a.example.com:13800"},
        {"a:1", "a:1"},
        {"1a.2b:80", "1a.2b:80"},       /* labels may start with a digit (RFC 1123) */
        {"1.2.3.x:80", "1.2.3.x:80"},   /* not all digits: a name */
        {"0x1g:80", "0x1g:80"},         /* not a hex number */
        {"a-b--c.d:80", "a-b--c.d:80"}, /* inner hyphens, even two */
        {"n1.ckv.test:00080", "n1.ckv.test:80"},
    };
    char out[CKV_ADDR_MAX];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (parse(good[i][0], out) != CKV_OK)
            fail_msg("refused '%s'", good[i][0]);
        assert_string_equal(out, good[i][1]);
    }
    /* a label of 63 bytes is the most; a host of CKV_HOST_LEN_MAX bytes fits with any port */
    char name[CKV_ADDR_MAX + 64];
    memset(name, 'a', 63);
    snprintf(name + 63, sizeof(name) - 63, ".b:65535");
    assert_int_equal(parse(name, out), CKV_OK);
    memset(name, 'a', 64);
    snprintf(name + 64, sizeof(name) - 64, ".b:1");
    assert_int_equal(parse(name, out), CKV_ERROR);
    size_t n = 0;
    while (n + 2 <= CKV_HOST_LEN_MAX) { /* "a." repeated, then one more label */
        name[n++] = 'a';
        name[n++] = '.';
    }
    while (n < CKV_HOST_LEN_MAX)
        name[n++] = 'b';
    snprintf(name + n, sizeof(name) - n, ":65535");
    assert_int_equal(parse(name, out), CKV_OK);
    assert_int_equal(strlen(out), CKV_ADDR_MAX - 1);
    snprintf(name + n, sizeof(name) - n, "b:1"); /* one byte longer */
    assert_int_equal(parse(name, out), CKV_ERROR);
}

static void test_addr_parse_bad_names(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "-a.b:80",        /* hyphen first */
        "a-.b:80",        /* hyphen last in a label */
        "a.b-:80",        /* hyphen last */
        "a..b:80",        /* empty label */
        ".a.b:80",        /* empty first label */
        "a.b.:80",        /* trailing dot: a second spelling of a.b */
        "a_b.c:80",       /* underscore */
        "a b:80",         /* space */
        "a%b:80",         /* anything else */
        "caf\xc3\xa9:80", /* not ASCII */
        ":80",            /* no host */
        "a.b",            /* no port */
        "a.b:0",          /* port 0 */
        "a.b:65536",
        "a.b:80:80",
        "127.1:80", /* all digits and dots: IPv4 only, and short forms are refused */
        "1.2.3.4.5:80",
        "1.2.3:80",
        "x.1.2.3:80",   /* a numeric top label (RFC 1123 2.1): would read as a number */
        "0x1.2.3.4:80", /* inet_aton reads it as 1.2.3.4 */
        "0x7f000001:80",
        "a.0X7F:80",
    };
    char out[CKV_ADDR_MAX];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], out) != CKV_ERROR)
            fail_msg("accepted '%s'", bad[i]);
    }
}

/* IPv6 in brackets, normalised to the RFC 5952 text (inet_ntop's). */
static void test_addr_parse_ipv6(void **state)
{
    (void)state;
    static const char *const good[][2] = {
        {"[::1]:13800", "[::1]:13800"},
        {"[0:0:0:0:0:0:0:1]:13800", "[::1]:13800"},
        {"[0000:0000::0001]:80", "[::1]:80"},
        {"[2001:DB8::A]:80", "[2001:db8::a]:80"},
        {"[2001:db8:0:0:1:0:0:1]:80", "[2001:db8::1:0:0:1]:80"}, /* the first longest run */
        {"[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:80"},
        {" [fe80::1]:1 ", "[fe80::1]:1"},
    };
    char out[CKV_ADDR_MAX];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (parse(good[i][0], out) != CKV_OK)
            fail_msg("refused '%s'", good[i][0]);
        assert_string_equal(out, good[i][1]);
    }
    static const char *const bad[] = {
        "::1:80", /* no brackets */
        "[::1]",  /* no port */
        "[::1]:", /* empty port */
        "[::1]:0",
        "[::1]80",
        "[::1:80",
        "::1]:80",
        "[]:80",
        "[:::1]:80",
        "[1.2.3.4]:80",      /* IPv4 in brackets */
        "[fe80::1%eth0]:80", /* a zone is local to one machine: not an identity */
        "[::1] :80",
        "[[::1]]:80",
        "[localhost]:80",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], out) != CKV_ERROR)
            fail_msg("accepted '%s'", bad[i]);
    }
}

static void test_host_kind(void **state)
{
    (void)state;
    assert_int_equal(ckv_host_kind("127.0.0.1"), CKV_HOST_IPV4);
    assert_int_equal(ckv_host_kind("::1"), CKV_HOST_IPV6);
    assert_int_equal(ckv_host_kind("a.b"), CKV_HOST_NAME);
    assert_int_equal(ckv_host_kind("127.1"), CKV_HOST_INVALID);
    assert_int_equal(ckv_host_kind("a..b"), CKV_HOST_INVALID);
    assert_int_equal(ckv_host_kind(""), CKV_HOST_INVALID);
    assert_int_equal(ckv_host_kind(NULL), CKV_HOST_INVALID);
}

static void test_addr_split(void **state)
{
    (void)state;
    char ip[CKV_HOST_MAX];
    uint16_t port = 0;
    assert_int_equal(ckv_addr_split("192.168.1.20:13800", ip, &port), CKV_OK);
    assert_string_equal(ip, "192.168.1.20");
    assert_int_equal(port, 13800);
    assert_int_equal(ckv_addr_split("255.255.255.255:65535", ip, &port), CKV_OK);
    assert_string_equal(ip, "255.255.255.255");
    assert_int_equal(port, 65535);
    assert_int_equal(ckv_addr_split("1.2.3.4", ip, &port), CKV_ERROR);
    assert_int_equal(ckv_addr_split("nope_:1", ip, &port), CKV_ERROR);
    /* a name as written (lower-cased); IPv6 without its brackets, as connect wants it */
    assert_int_equal(ckv_addr_split("N1.ckv.test:13800", ip, &port), CKV_OK);
    assert_string_equal(ip, "n1.ckv.test");
    assert_int_equal(port, 13800);
    assert_int_equal(ckv_addr_split("[0::1]:13801", ip, &port), CKV_OK);
    assert_string_equal(ip, "::1");
    assert_int_equal(port, 13801);
    assert_int_equal(ckv_addr_split("a.b:2", NULL, &port), CKV_OK);
    assert_int_equal(port, 2);
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

    /* an IPv6 member is matched inside its brackets; a named member by no IP here */
    assert_int_equal(ckv_view_parse_csv("[::1]:5,n1.ckv.test:6", &v, NULL, 0), CKV_OK);
    assert_true(ckv_view_has_ip(&v, "::1"));
    assert_false(ckv_view_has_ip(&v, "::"));
    assert_false(ckv_view_has_ip(&v, "n1"));
    assert_false(ckv_view_has_ip(&v, "127.0.0.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse_valid),
        cmocka_unit_test(test_addr_parse_uses_len_not_nul),
        cmocka_unit_test(test_addr_parse_invalid),
        cmocka_unit_test(test_addr_parse_names),
        cmocka_unit_test(test_addr_parse_bad_names),
        cmocka_unit_test(test_addr_parse_ipv6),
        cmocka_unit_test(test_host_kind),
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
