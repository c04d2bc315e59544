/* Unit tests for clock: the HTTP date of a reply's Date header, and the two clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "causalkv/clock.h"

static void expect_date(int64_t t, const char *want)
{
    char out[CKV_HTTP_DATE_SIZE];
    memset(out, 'x', sizeof(out));
    ckv_http_date(t, out);
    assert_string_equal(out, want);
    assert_int_equal(strlen(out), CKV_HTTP_DATE_SIZE - 1);
}

static void test_http_date(void **state)
{
    (void)state;
    expect_date(0, "Thu, 01 Jan 1970 00:00:00 GMT");
    expect_date(784111777, "Sun, 06 Nov 1994 08:49:37 GMT"); /* RFC 9110's example */
    expect_date(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
    expect_date(1798761599, "Thu, 31 Dec 2026 23:59:59 GMT");
    expect_date(253402300799, "Fri, 31 Dec 9999 23:59:59 GMT");
    /* a time no four-digit year can say gets the epoch, never a longer string */
    expect_date(253402300800, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static void test_clocks_move_forward(void **state)
{
    (void)state;
    uint64_t m0 = ckv_mono_us(), w0 = ckv_now_ms();
    uint64_t m1 = ckv_mono_us(), w1 = ckv_now_ms();
    assert_true(m1 >= m0);
    assert_true(w0 > UINT64_C(1700000000000)); /* after 2023: a wall clock in ms */
    assert_true(w1 + 1000 >= w0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_date),
        cmocka_unit_test(test_clocks_move_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
