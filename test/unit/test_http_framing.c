/* test_http_framing.c — request framing checks (RFC 9112 section 6), whole and split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "causalkv/common.h"
#include "causalkv/http_framing.h"

/* Feeds text in one piece and byte by byte; both must give the same verdict. Returns the
 * error (NULL when the framing is sound). */
static const char *verdict(const char *text)
{
    ckv_framing whole, split;
    ckv_framing_init(&whole);
    ckv_framing_init(&split);
    int rc = ckv_framing_feed(&whole, text, strlen(text));
    int rc_split = CKV_OK;
    for (size_t i = 0; text[i] != '\0' && rc_split == CKV_OK; i++)
        rc_split = ckv_framing_feed(&split, text + i, 1);
    assert_int_equal(rc, rc_split);
    if (rc != CKV_OK) {
        assert_non_null(whole.error);
        assert_string_equal(whole.error, split.error);
        /* the error is final */
        assert_int_equal(ckv_framing_feed(&whole, "GET / HTTP/1.1\r\n\r\n", 18), CKV_ERROR);
    } else {
        assert_null(whole.error);
    }
    return whole.error;
}

static void expect_error(const char *text, const char *want)
{
    const char *got = verdict(text);
    if (got == NULL)
        fail_msg("no error for %s", text);
    assert_string_equal(got, want);
}

static void test_sound_requests(void **state)
{
    (void)state;
    assert_null(verdict("GET /kv-store/keys/x HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert_null(verdict("PUT /kv-store/keys/x HTTP/1.1\r\nContent-Length: 11\r\n\r\n"
                        "{\"value\":1}"));
    /* LF alone ends lines too, as evhttp reads them */
    assert_null(verdict("PUT /k HTTP/1.1\nContent-Length: 2\n\n{}"));
    /* the same length twice is allowed */
    assert_null(verdict("PUT /k HTTP/1.1\r\nContent-Length: 2\r\ncontent-length:2\r\n\r\n{}"));
    assert_null(verdict("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "2\r\n{}\r\n0\r\n\r\n"));
    assert_null(verdict("PUT /k HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                        "a;ext=1\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n"));
    /* HEAD and TRACE carry no body, whatever the headers say */
    assert_null(verdict("HEAD /k HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
    /* empty lines before a request line are ignored */
    assert_null(verdict("\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
}

/* A body that looks like headers is skipped by its length, not read as headers. */
static void test_pipelined_bodies_are_skipped(void **state)
{
    (void)state;
    assert_null(verdict("PUT /a HTTP/1.1\r\nContent-Length: 24\r\n\r\n"
                        "Content-Length: 1\r\n\r\nabc"
                        "PUT /b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
                        "GET /c HTTP/1.1\r\n\r\n"));
    expect_error("PUT /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
                 "PUT /b HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
                 "conflicting Content-Length headers");
}

static void test_content_length_errors(void **state)
{
    (void)state;
    expect_error("PUT /k HTTP/1.1\r\nContent-Length: 15\r\nContent-Length: 2\r\n\r\n{}",
                 "conflicting Content-Length headers");
    expect_error("PUT /k HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "invalid Content-Length");
    expect_error("PUT /k HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length");
    expect_error("PUT /k HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", "invalid Content-Length");
    expect_error("PUT /k HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n", "invalid Content-Length");
    expect_error("PUT /k HTTP/1.1\r\nContent-Length:\r\n\r\n", "invalid Content-Length");
    expect_error("PUT /k HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n",
                 "invalid Content-Length");
}

static void test_transfer_encoding_errors(void **state)
{
    (void)state;
    expect_error("PUT /k HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
                 "both Content-Length and Transfer-Encoding");
    expect_error("PUT /k HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                 "unsupported Transfer-Encoding");
    expect_error("PUT /k HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                 "unsupported Transfer-Encoding");
    expect_error("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
                 "\r\n",
                 "unsupported Transfer-Encoding");
    expect_error("PUT /k HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                 "Transfer-Encoding in an HTTP/1.0 request");
    expect_error("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                 "invalid chunk size");
    expect_error("PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2 x\r\n",
                 "invalid chunk size");
}

static void test_header_syntax_errors(void **state)
{
    (void)state;
    expect_error("PUT /k HTTP/1.1\r\nContent-Length: 2\r\n 3\r\n\r\n", "obsolete line folding");
    expect_error("PUT /k HTTP/1.1\r\nContent-Length : 2\r\n\r\n",
                 "whitespace before a header's colon");
}

/* Lines longer than the kept prefix: other headers pass, framing ones must fit; a long
 * request line's version is still seen. */
static void test_long_lines(void **state)
{
    (void)state;
    char text[4096];
    char pad[1200];
    memset(pad, 'a', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    snprintf(text, sizeof(text), "GET /%s HTTP/1.1\r\nX-Long: %s\r\n\r\n", pad, pad);
    assert_null(verdict(text));
    snprintf(text, sizeof(text), "PUT /%s HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", pad);
    expect_error(text, "Transfer-Encoding in an HTTP/1.0 request");
    snprintf(text, sizeof(text), "PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked%s\r\n\r\n", pad);
    expect_error(text, "unsupported Transfer-Encoding");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sound_requests),
        cmocka_unit_test(test_pipelined_bodies_are_skipped),
        cmocka_unit_test(test_content_length_errors),
        cmocka_unit_test(test_transfer_encoding_errors),
        cmocka_unit_test(test_header_syntax_errors),
        cmocka_unit_test(test_long_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
