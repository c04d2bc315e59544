/* Unit tests for json_scan, the client body: what it reads itself, what it leaves to jansson, and
 * that whatever it reads it reads as jansson does (every body below, and every one-byte change,
 * deletion and cut of them, through both readers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/json_scan.h"
#include "causalkv/json_codec.h"
#include "causalkv/wire.h"
#include "../../src/json_read.h"
#include "four_node_map.h"

static int scan(const char *body, ckv_client_body *b)
{
    ckv_shard_map m = test_map();
    return ckv_scan_client_body(body, strlen(body), &m, b);
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
    assert_int_equal(ckv_scan_client_body(body, sizeof(body) - 1, &m, &b), CKV_DECLINED);
    static const char inside[] = "{\"value\":\"a\0b\"}";
    assert_int_equal(ckv_scan_client_body(inside, sizeof(inside) - 1, &m, &b), CKV_DECLINED);
}

/* When the scanner reads a body, jansson reads the same fields from it. */
static void check_same_as_jansson(const ckv_shard_map *m, const char *body, size_t len,
                                  size_t *scanned)
{
    ckv_client_body fast, full;
    if (ckv_scan_client_body(body, len, m, &fast) != CKV_OK)
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

static const char sweep_bytes[] = " \"{}:,0123456789-.eEnul\\\x01\x80"
                                  "a";

typedef void (*compare_fn)(const ckv_shard_map *m, const char *body, size_t len, size_t *scanned);

/* body, every cut of it, and every one-byte deletion and change, through compare. */
static void sweep_with(compare_fn compare, const ckv_shard_map *m, const char *body,
                       size_t *scanned)
{
    size_t len = strlen(body);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    compare(m, body, len, scanned);
    for (size_t at = 0; at < len; at++) {
        compare(m, body, at, scanned); /* cut */
        memcpy(buf, body, at);         /* one byte deleted */
        memcpy(buf + at, body + at + 1, len - at - 1);
        compare(m, buf, len - 1, scanned);
        memcpy(buf, body, len); /* one byte changed */
        for (size_t k = 0; k < sizeof(sweep_bytes) - 1; k++) {
            buf[at] = sweep_bytes[k];
            compare(m, buf, len, scanned);
        }
    }
    free(buf);
}

static void sweep(const ckv_shard_map *m, const char *body, size_t *scanned)
{
    sweep_with(check_same_as_jansson, m, body, scanned);
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

/* ---- push --------------------------------------------------------------------------- */

/* A push as the sender writes it: a write with dependencies, a delete, a base version. */
static char *encoded_push(uint64_t epoch, uint32_t n)
{
    ckv_vclock c;
    ckv_vclock_init(&c, n);
    c.c[0] = 4;
    c.c[n - 1] = 2;
    ckv_deps *d = ckv_deps_new(&c);
    ckv_version *v[3] = {
        ckv_version_new("alpha", 5, "one value", 9, false, 1, 7, 12, d),
        ckv_version_new("beta", 4, NULL, 0, true, 0, 8, 13, NULL),
        ckv_version_new("gamma", 5, "", 0, false, CKV_ORIGIN_BASE, 0, 3, NULL),
    };
    ckv_deps_unref(d);
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_push m = {.epoch = epoch, .from = 1};
    assert_int_equal(ckv_wire_push_encode(&b, &m, (const ckv_version *const *)v, 3), 3);
    for (int i = 0; i < 3; i++)
        ckv_version_unref(v[i]);
    assert_false(ckv_sbuf_failed(&b));
    char *text = strndup(b.data, b.len);
    ckv_sbuf_free(&b);
    return text;
}

static int count_and_drop(void *arg, ckv_version *v)
{
    (*(size_t *)arg)++;
    ckv_version_unref(v);
    return CKV_OK;
}

static void test_push_as_written_is_scanned(void **state)
{
    (void)state;
    char *text = encoded_push(3, 4);
    uint64_t from = 0;
    size_t count = 0;
    assert_int_equal(ckv_scan_push(text, strlen(text), 3, 4, &from, count_and_drop, &count),
                     CKV_OK);
    assert_int_equal(from, 1);
    assert_int_equal(count, 3);
    /* another epoch, or a view the counters do not fit, is jansson's to read */
    count = 0;
    assert_int_equal(ckv_scan_push(text, strlen(text), 4, 4, &from, count_and_drop, &count),
                     CKV_DECLINED);
    assert_int_equal(ckv_scan_push(text, strlen(text), 3, 5, &from, count_and_drop, &count),
                     CKV_DECLINED);
    free(text);
    const char *empty = "{\"epoch\":3,\"from\":0,\"versions\":[]}";
    assert_int_equal(ckv_scan_push(empty, strlen(empty), 3, 4, &from, count_and_drop, &count),
                     CKV_OK);
    const char *reordered = "{\"from\":0,\"epoch\":3,\"versions\":[]}";
    assert_int_equal(
        ckv_scan_push(reordered, strlen(reordered), 3, 4, &from, count_and_drop, &count),
        CKV_DECLINED);
}

static int keep_in(void *list, ckv_version *v)
{
    return ckv_version_list_push(list, v);
}

static void assert_same_version(const ckv_version *a, const ckv_version *b)
{
    assert_int_equal(a->key_len, b->key_len);
    assert_memory_equal(ckv_version_key(a), ckv_version_key(b), a->key_len);
    assert_int_equal(a->tombstone, b->tombstone);
    assert_int_equal(a->value_len, b->value_len);
    if (a->value_len > 0)
        assert_memory_equal(ckv_version_value(a), ckv_version_value(b), a->value_len);
    assert_int_equal(a->origin, b->origin);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->lamport, b->lamport);
    assert_int_equal(a->deps == NULL, b->deps == NULL);
    if (a->deps != NULL) {
        assert_int_equal(a->deps->n, b->deps->n);
        assert_memory_equal(a->deps->c, b->deps->c, a->deps->n * sizeof(a->deps->c[0]));
    }
}

/* Whatever the scanner reads, jansson reads the same way. */
static void check_push_same_as_jansson(const ckv_shard_map *m, const char *body, size_t len,
                                       size_t *scanned)
{
    ckv_wire_push fast, full;
    uint64_t from;
    ckv_version_list seen = {0};
    int rc = ckv_scan_push(body, len, m->epoch, m->view.n, &from, keep_in, &seen);
    ckv_version_list_free(&seen);
    if (rc != CKV_OK)
        return;
    (*scanned)++;
    assert_int_equal(ckv_wire_push_decode(body, len, m->epoch, m->view.n, &fast), CKV_OK);
    if (ckv_wire_push_decode_json(body, len, m->epoch, m->view.n, &full) != CKV_OK)
        fail_msg("scanned a push jansson refuses: %.*s", (int)len, body);
    assert_int_equal(fast.epoch, full.epoch);
    assert_int_equal(fast.from, full.from);
    assert_int_equal(fast.versions.n, full.versions.n);
    for (size_t i = 0; i < fast.versions.n; i++)
        assert_same_version(fast.versions.v[i], full.versions.v[i]);
    ckv_version_list_free(&fast.versions);
    ckv_version_list_free(&full.versions);
}

static void test_push_reads_as_jansson_does(void **state)
{
    (void)state;
    ckv_shard_map m = test_map(); /* epoch 3, 4 members */
    size_t scanned = 0;
    char *text = encoded_push(3, 4);
    sweep_with(check_push_same_as_jansson, &m, text, &scanned);
    free(text);
    sweep_with(check_push_same_as_jansson, &m,
               "{ \"epoch\" : 3 , \"from\" : 2 , \"versions\" : [ { \"k\" : \"x\" , \"v\" : null , "
               "\"o\" : 2 , \"s\" : 1 , \"l\" : 1 , \"d\" : [ 0 , 0 , 0 , 0 ] } ] }",
               &scanned);
    assert_true(scanned > 500);
}

/* A declined push still gets jansson's answer through ckv_wire_push_decode. */
static void test_push_decode_falls_back(void **state)
{
    (void)state;
    ckv_wire_push p;
    const char *escaped = "{\"epoch\":3,\"from\":1,\"versions\":[{\"k\":\"a\\nb\",\"v\":null,"
                          "\"o\":1,\"s\":1,\"l\":1}]}";
    assert_int_equal(ckv_wire_push_decode(escaped, strlen(escaped), 3, 4, &p), CKV_OK);
    assert_int_equal(p.versions.n, 1);
    assert_int_equal(p.versions.v[0]->key_len, 3);
    ckv_version_list_free(&p.versions);
    const char *bad_origin = "{\"epoch\":3,\"from\":1,\"versions\":[{\"k\":\"a\",\"v\":null,"
                             "\"o\":9,\"s\":1,\"l\":1}]}";
    assert_int_equal(ckv_wire_push_decode(bad_origin, strlen(bad_origin), 3, 4, &p), CKV_ERROR);
    assert_int_equal(p.versions.n, 0);
    const char *other_epoch = "{\"epoch\":2,\"from\":1,\"versions\":[]}";
    assert_int_equal(ckv_wire_push_decode(other_epoch, strlen(other_epoch), 3, 4, &p), CKV_OK);
    assert_int_equal(p.epoch, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usual_bodies_are_read),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_the_rest_is_declined),
        cmocka_unit_test(test_nul_byte_is_declined),
        cmocka_unit_test(test_reads_as_jansson_does),
        cmocka_unit_test(test_parse_falls_back),
        cmocka_unit_test(test_push_as_written_is_scanned),
        cmocka_unit_test(test_push_reads_as_jansson_does),
        cmocka_unit_test(test_push_decode_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
