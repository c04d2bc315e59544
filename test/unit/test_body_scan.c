/* Unit tests for body_scan: what it reads itself, what it leaves to jansson, and that
 * whatever it reads it reads as jansson does (every body below, and every one-byte
 * change, deletion and cut of them, through both readers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/body_scan.h"
#include "causalkv/json_codec.h"
#include "../../src/json_read.h"

static ckv_shard_map test_map(void)
{
    ckv_view v;
    ckv_shard_map m;
    char err[128];
    assert_int_equal(
        ckv_view_parse_csv("10.0.0.1:80,10.0.0.2:80,10.0.0.3:80,10.0.0.4:80", &v, err, sizeof(err)),
        CKV_OK);
    assert_int_equal(ckv_shard_map_init(&m, &v, 2, 3, err, sizeof(err)), CKV_OK);
    return m;
}

static int scan(const char *body, ckv_client_body *b)
{
    ckv_shard_map m = test_map();
    return ckv_body_scan(body, strlen(body), &m, b);
}

static void expect_declined(const char *body)
{
    ckv_client_body b = {.value = "untouched"};
    if (scan(body, &b) != CKV_DECLINED)
        fail_msg("scanned a body it should leave to jansson: %s", body);
    assert_string_equal(b.value, "untouched");
}

/* The bodies clients send, with and without white space; each is read by the scanner. */
static const char *const usual[] = {
    "{}",
    " { } ",
    "{\"value\":\"v\"}",
    "{\"value\":\"\"}",
    "{\"value\":null}",
    "{\"causal-context\":{}}",
    "{\"causal-context\":null}",
    "{\"causal-context\":\"\"}",
    "{\"value\":\"hello world\",\"causal-context\":{\"epoch\":3,\"clock\":{\"10.0.0.1:80\":5,"
    "\"10.0.0.3:80\":0},\"lamport\":9}}",
    "{\"causal-context\":{\"lamport\":0,\"clock\":{},\"epoch\":0},\"value\":\"x\"}",
    "\r\n{ \"value\" : \"a b\" ,\t\"causal-context\" : { \"clock\" : { \"10.0.0.4:80\" : "
    "123456789012345678 } } }\n",
    "{\"causal-context\":{\"epoch\":2,\"clock\":{\"10.0.0.1:80\":1,\"10.0.0.2:80\":2,"
    "\"10.0.0.3:80\":3,\"10.0.0.4:80\":4}}}",
};

/* Valid JSON the scanner leaves to jansson, and bodies only jansson may refuse. */
static const char *const declined[] = {
    "",
    "[]",
    "{\"value\":\"tab\\tescape\"}",
    "{\"value\":\"caf\xc3\xa9\"}",
    "{\"value\":\"del\x7f\"}",
    "{\"value\":\"raw\nnewline\"}",
    "{\"valu\\u0065\":\"x\"}",
    "{\"other\":1}",
    "{\"value\":\"a\",\"value\":\"b\"}",
    "{\"causal-context\":{},\"causal-context\":{}}",
    "{\"causal-context\":{\"epoch\":1,\"epoch\":1}}",
    "{\"causal-context\":{\"clock\":{},\"clock\":{}}}",
    "{\"causal-context\":{\"lamport\":1,\"lamport\":1}}",
    "{\"causal-context\":{\"clock\":{\"10.0.0.1:80\":1,\"10.0.0.1:80\":2}}}",
    "{\"causal-context\":{\"clock\":{\"10.9.9.9:80\":1}}}",
    "{\"causal-context\":{\"clock\":{\"10.0.0.1:8\":1}}}",
    "{\"causal-context\":{\"clock\":{\"10.0.0.1:800\":1}}}",
    "{\"causal-context\":{\"other\":1}}",
    "{\"causal-context\":{\"epoch\":1234567890123456789}}",
    "{\"causal-context\":{\"epoch\":-1}}",
    "{\"causal-context\":{\"epoch\":01}}",
    "{\"causal-context\":{\"epoch\":1.0}}",
    "{\"causal-context\":{\"epoch\":1e2}}",
    "{\"causal-context\":{\"epoch\":null}}",
    "{\"causal-context\":{\"epoch\":\"1\"}}",
    "{\"causal-context\":\"x\"}",
    "{\"causal-context\":[]}",
    "{\"causal-context\":nullx}",
    "{\"value\":nul}",
    "{\"value\":5}",
    "{\"value\":true}",
    "{\"value\":\"a\"",
    "{\"value\":\"a\"}}",
    "{\"value\":\"a\"} x",
    "{\"value\":\"a\",}",
    "{,}",
    "{\"value\"\"a\"}",
    "\xef\xbb\xbf{}",
};

static void test_usual_bodies_are_read(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++) {
        ckv_client_body b;
        if (scan(usual[i], &b) != CKV_OK)
            fail_msg("declined a usual body: %s", usual[i]);
        assert_null(b.json);
    }
}

static void test_fields(void **state)
{
    (void)state;
    ckv_client_body b;
    const char *body = "{\"value\":\"hello world\",\"causal-context\":{\"epoch\":5,\"clock\":"
                       "{\"10.0.0.1:80\":5,\"10.0.0.3:80\":7},\"lamport\":9}}";
    assert_int_equal(scan(body, &b), CKV_OK);
    assert_true(b.has_value);
    assert_int_equal(b.value_len, 11);
    assert_memory_equal(b.value, "hello world", 11);
    assert_true(b.value > body && b.value < body + strlen(body)); /* into the buffer */
    assert_int_equal(b.ctx.epoch, 5);
    assert_int_equal(b.ctx.clock.n, 4);
    assert_int_equal(b.ctx.clock.c[0], 5);
    assert_int_equal(b.ctx.clock.c[1], 0);
    assert_int_equal(b.ctx.clock.c[2], 7);
    assert_int_equal(b.ctx.clock.c[3], 0);
    assert_true(b.ctx.has_lamport);
    assert_int_equal(b.ctx.lamport, 9);

    /* absent fields: no value, the map's epoch, a zero clock, no Lamport time */
    assert_int_equal(scan("{\"value\":null}", &b), CKV_OK);
    assert_false(b.has_value);
    assert_null(b.value);
    assert_int_equal(b.ctx.epoch, 3); /* the map's */
    assert_int_equal(b.ctx.clock.n, 4);
    assert_int_equal(b.ctx.clock.c[0], 0);
    assert_false(b.ctx.has_lamport);

    assert_int_equal(scan("{\"value\":\"\"}", &b), CKV_OK);
    assert_true(b.has_value);
    assert_int_equal(b.value_len, 0);
}

static void test_the_rest_is_declined(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
        expect_declined(declined[i]);
}

/* A NUL is neither white space nor the end of the body. */
static void test_nul_byte_is_declined(void **state)
{
    (void)state;
    ckv_shard_map m = test_map();
    ckv_client_body b;
    static const char body[] = "{\"value\":\"a\"}\0";
    assert_int_equal(ckv_body_scan(body, sizeof(body) - 1, &m, &b), CKV_DECLINED);
    static const char inside[] = "{\"value\":\"a\0b\"}";
    assert_int_equal(ckv_body_scan(inside, sizeof(inside) - 1, &m, &b), CKV_DECLINED);
}

/* When the scanner reads a body, jansson reads the same fields from it. */
static void check_same_as_jansson(const ckv_shard_map *m, const char *body, size_t len,
                                  size_t *scanned)
{
    ckv_client_body fast, full;
    if (ckv_body_scan(body, len, m, &fast) != CKV_OK)
        return;
    (*scanned)++;
    int rc = ckv_client_body_parse_json(body, len, m, &full);
    if (rc != CKV_OK)
        fail_msg("scanned a body jansson refuses: %.*s", (int)len, body);
    assert_int_equal(fast.has_value, full.has_value);
    assert_int_equal(fast.value_len, full.value_len);
    if (fast.has_value)
        assert_memory_equal(fast.value, full.value, fast.value_len);
    assert_int_equal(fast.ctx.epoch, full.ctx.epoch);
    assert_int_equal(fast.ctx.clock.n, full.ctx.clock.n);
    assert_memory_equal(fast.ctx.clock.c, full.ctx.clock.c,
                        fast.ctx.clock.n * sizeof(fast.ctx.clock.c[0]));
    assert_int_equal(fast.ctx.has_lamport, full.ctx.has_lamport);
    assert_int_equal(fast.ctx.lamport, full.ctx.lamport);
    ckv_client_body_free(&full);
}

static void sweep(const ckv_shard_map *m, const char *body, size_t *scanned)
{
    static const char bytes[] = " \"{}:,0123456789-.eEnul\\\x01\x80"
                                "a";
    size_t len = strlen(body);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    check_same_as_jansson(m, body, len, scanned);
    for (size_t at = 0; at < len; at++) {
        check_same_as_jansson(m, body, at, scanned); /* cut */
        memcpy(buf, body, at);                       /* one byte deleted */
        memcpy(buf + at, body + at + 1, len - at - 1);
        check_same_as_jansson(m, buf, len - 1, scanned);
        memcpy(buf, body, len); /* one byte changed */
        for (size_t k = 0; k < sizeof(bytes) - 1; k++) {
            buf[at] = bytes[k];
            check_same_as_jansson(m, buf, len, scanned);
        }
    }
    free(buf);
}

static void test_reads_as_jansson_does(void **state)
{
    (void)state;
    ckv_shard_map m = test_map();
    size_t scanned = 0;
    for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++)
        sweep(&m, usual[i], &scanned);
    for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
        sweep(&m, declined[i], &scanned);
    assert_true(scanned > 1000); /* the sweep did reach the comparison */
}

/* Through ckv_client_body_parse, a declined body still gets jansson's answer. */
static void test_parse_falls_back(void **state)
{
    (void)state;
    ckv_shard_map m = test_map();
    ckv_client_body b;
    const char *escaped = "{\"value\":\"a\\nb\"}";
    assert_int_equal(ckv_client_body_parse(escaped, strlen(escaped), &m, &b), CKV_OK);
    assert_non_null(b.json);
    assert_int_equal(b.value_len, 3);
    assert_memory_equal(b.value, "a\nb", 3);
    ckv_client_body_free(&b);
    const char *dup = "{\"value\":\"a\",\"value\":\"b\"}";
    assert_int_equal(ckv_client_body_parse(dup, strlen(dup), &m, &b), CKV_ERROR);
    ckv_client_body_free(&b);
    const char *plain = "{\"value\":\"a\"}";
    assert_int_equal(ckv_client_body_parse(plain, strlen(plain), &m, &b), CKV_OK);
    assert_null(b.json);
    ckv_client_body_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usual_bodies_are_read), cmocka_unit_test(test_fields),
        cmocka_unit_test(test_the_rest_is_declined),  cmocka_unit_test(test_nul_byte_is_declined),
        cmocka_unit_test(test_reads_as_jansson_does), cmocka_unit_test(test_parse_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
