/* Unit tests for ctx_header: the X-Causal-Context header parsed by the body's rules, the
 * join of two contexts, finding the context in a reply, and folding the header into a
 * body that is forwarded to another shard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/ctx_header.h"
#include "causalkv/json_codec.h"
#include "four_node_map.h"

#define A "10.0.0.1:80"
#define B "10.0.0.2:80"

static int parse(const char *h, ckv_context *ctx)
{
    ckv_shard_map m = test_map();
    return ckv_ctx_header_parse(h, strlen(h), &m, ctx);
}

static void test_valid_headers(void **state)
{
    (void)state;
    ckv_context c;
    const char *empty[] = {"", "  ", "{}", "null", "\"\"", "{\"epoch\":3}", " {} "};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        assert_int_equal(parse(empty[i], &c), CKV_OK);
        assert_int_equal(c.epoch, 3);
        assert_int_equal(c.clock.n, 4);
        assert_true(ckv_vclock_is_zero(&c.clock));
    }
    assert_int_equal(parse("{\"epoch\":3,\"clock\":{\"" A "\":7,\"10.0.0.4:80\":2}}", &c), CKV_OK);
    assert_int_equal(c.clock.c[0], 7);
    assert_int_equal(c.clock.c[3], 2);
    /* an address outside the view is dropped, as in a body */
    assert_int_equal(parse("{\"clock\":{\"9.9.9.9:1\":5,\"" B "\":1}}", &c), CKV_OK);
    assert_int_equal(c.epoch, 3);
    assert_int_equal(c.clock.c[1], 1);
    assert_int_equal(parse("{\"epoch\":9,\"clock\":{}}", &c), CKV_OK);
    assert_int_equal(c.epoch, 9);
}

/* Exactly what a body's "causal-context" refuses, plus what only a header can get wrong. */
static void test_bad_headers(void **state)
{
    (void)state;
    const char *bad[] = {
        "not json",
        "{",
        "[]",
        "5",
        "\"x\"",
        "true",
        "{\"epoch\":-1}",
        "{\"epoch\":\"3\"}",
        "{\"epoch\":1.5}",
        "{\"clock\":[]}",
        "{\"clock\":{\"" A "\":-1}}",
        "{\"clock\":{\"" A "\":\"7\"}}",
        "{\"clock\":{\"" A "\":1,\"" A "\":2}}",
        "{\"epoch\":1,\"epoch\":2}",
        "{} {}",
        "{}x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ckv_context c;
        if (parse(bad[i], &c) != CKV_ERROR)
            fail_msg("accepted a malformed header: %s", bad[i]);
        assert_int_equal(c.epoch, 3); /* left empty, never half-parsed */
        assert_true(ckv_vclock_is_zero(&c.clock));
    }
}

/* The header and the body read the same context from the same JSON. */
static void test_same_as_body(void **state)
{
    (void)state;
    ckv_shard_map m = test_map();
    const char *ctx = "{\"epoch\":3,\"clock\":{\"" A "\":4,\"" B "\":9}}";
    char body[256];
    snprintf(body, sizeof(body), "{\"causal-context\":%s}", ctx);
    ckv_client_body b;
    ckv_context h;
    assert_int_equal(ckv_client_body_parse(body, strlen(body), &m, &b), CKV_OK);
    assert_int_equal(ckv_ctx_header_parse(ctx, strlen(ctx), &m, &h), CKV_OK);
    assert_int_equal(b.ctx.epoch, h.epoch);
    assert_memory_equal(b.ctx.clock.c, h.clock.c, sizeof(h.clock.c));
    ckv_client_body_free(&b);
}

static void test_join(void **state)
{
    (void)state;
    ckv_context a = {.epoch = 2}, b = {.epoch = 2};
    ckv_vclock_init(&a.clock, 3);
    ckv_vclock_init(&b.clock, 3);
    a.clock.c[0] = 5, a.clock.c[1] = 1;
    b.clock.c[1] = 4, b.clock.c[2] = 2;
    ckv_context j = a;
    ckv_context_join(&j, &b);
    assert_int_equal(j.epoch, 2);
    assert_int_equal(j.clock.c[0], 5);
    assert_int_equal(j.clock.c[1], 4);
    assert_int_equal(j.clock.c[2], 2);
    /* a newer epoch dominates whole; an older one changes nothing */
    ckv_context newer = {.epoch = 3};
    ckv_vclock_init(&newer.clock, 3);
    newer.clock.c[2] = 1;
    j = a;
    ckv_context_join(&j, &newer);
    assert_int_equal(j.epoch, 3);
    assert_int_equal(j.clock.c[0], 0);
    assert_int_equal(j.clock.c[2], 1);
    ckv_context_join(&j, &a);
    assert_int_equal(j.epoch, 3);
    assert_int_equal(j.clock.c[0], 0);
    /* Lamport times: the larger, tracked only when both sides are (or are empty) */
    ckv_context ta = a, tb = b, empty = {.epoch = 2};
    ckv_vclock_init(&empty.clock, 3);
    ta.lamport = 7, ta.has_lamport = true;
    tb.lamport = 9, tb.has_lamport = true;
    j = ta;
    ckv_context_join(&j, &tb);
    assert_true(j.has_lamport);
    assert_int_equal(j.lamport, 9);
    j = ta;
    ckv_context_join(&j, &empty);
    assert_true(j.has_lamport);
    assert_int_equal(j.lamport, 7);
    j = ta;
    ckv_context_join(&j, &b); /* b has history and no Lamport time */
    assert_false(j.has_lamport);
}

static void test_format_round_trip(void **state)
{
    (void)state;
    ckv_shard_map m = test_map();
    ckv_context c = {.epoch = 3};
    ckv_vclock_init(&c.clock, 4);
    c.clock.c[1] = 12;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_ctx_header_format(&b, &m, &c);
    ckv_sbuf_addc(&b, '\0');
    assert_string_equal(b.data, "{\"epoch\":3,\"clock\":{\"" B "\":12}}");
    ckv_context back;
    assert_int_equal(ckv_ctx_header_parse(b.data, b.len - 1, &m, &back), CKV_OK);
    assert_int_equal(back.clock.c[1], 12);
    ckv_sbuf_free(&b);
}

static void expect_found(const char *body, const char *want)
{
    size_t at, len;
    assert_true(ckv_ctx_header_find_in_reply(body, strlen(body), &at, &len));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(body + at, want, len);
}

static void test_find_in_reply(void **state)
{
    (void)state;
    const char *ctx = "{\"epoch\":1,\"clock\":{\"" A "\":3}}";
    char body[512];
    snprintf(body, sizeof(body), "{\"message\":\"ok\",\"value\":\"v\",\"causal-context\":%s}", ctx);
    expect_found(body, ctx);
    /* proxied: the owner's reply gains "address" after the context */
    snprintf(body, sizeof(body), "{\"message\":\"ok\",\"causal-context\":%s,\"address\":\"" B "\"}",
             ctx);
    expect_found(body, ctx);
    /* a value that mentions the key (its quotes escaped) is not taken for it */
    snprintf(body, sizeof(body),
             "{\"value\":\"\\\"causal-context\\\":{\\\"x\\\":1}\",\"causal-context\":%s}", ctx);
    expect_found(body, ctx);
    expect_found("{\"causal-context\":{\"epoch\":0,\"clock\":{}}}", "{\"epoch\":0,\"clock\":{}}");
    size_t at, len;
    const char *none[] = {"",
                          "{}",
                          "{\"causal-context\":5}",
                          "{\"causal-context\":{\"epoch\":1",
                          "{\"causal-context\":{\"a\":\"\n\"}}",
                          "not json at all"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        assert_false(ckv_ctx_header_find_in_reply(none[i], strlen(none[i]), &at, &len));
}

/* A large value before the context costs only the tail scan, and is not misread. */
static void test_find_after_large_value(void **state)
{
    (void)state;
    size_t vlen = 3 * CKV_CTX_TAIL_BYTES;
    const char *ctx = "{\"epoch\":1,\"clock\":{}}";
    char *body = malloc(vlen + 128);
    assert_non_null(body);
    int n = snprintf(body, 32, "{\"value\":\"");
    memset(body + n, 'x', vlen);
    snprintf(body + n + vlen, 96, "\",\"causal-context\":%s}", ctx);
    expect_found(body, ctx);
    free(body);
}

static char *fold(const char *body, const char *hdr, uint64_t epoch, int *rc)
{
    ckv_sbuf out;
    ckv_sbuf_init(&out);
    *rc = ckv_ctx_header_fold(body, strlen(body), hdr, strlen(hdr), epoch, &out);
    ckv_sbuf_addc(&out, '\0');
    char *s = ckv_sbuf_steal(&out, NULL);
    return s;
}

static void expect_fold(const char *body, const char *hdr, const char *want)
{
    int rc;
    char *got = fold(body, hdr, 3, &rc);
    assert_int_equal(rc, CKV_OK);
    assert_string_equal(got, want);
    free(got);
}

static void test_fold(void **state)
{
    (void)state;
    expect_fold("", "{\"epoch\":3,\"clock\":{\"" A "\":2}}",
                "{\"causal-context\":{\"epoch\":3,\"clock\":{\"" A "\":2}}}");
    /* same epoch: pointwise max; addresses the forwarding node may not know are kept */
    expect_fold("{\"value\":\"v\",\"causal-context\":{\"epoch\":3,\"clock\":{\"" A
                "\":5,\"9.9.9.9:1\":1}}}",
                "{\"clock\":{\"" A "\":2,\"" B "\":4}}",
                "{\"value\":\"v\",\"causal-context\":{\"epoch\":3,\"clock\":{\"" A
                "\":5,\"9.9.9.9:1\":1,\"" B "\":4}}}");
    /* a newer epoch wins whole, whichever side it is on */
    expect_fold("{\"causal-context\":{\"epoch\":2,\"clock\":{\"" A "\":5}}}",
                "{\"epoch\":4,\"clock\":{\"" B "\":1}}",
                "{\"causal-context\":{\"epoch\":4,\"clock\":{\"" B "\":1}}}");
    expect_fold("{\"causal-context\":{\"epoch\":4,\"clock\":{\"" B "\":1}}}",
                "{\"epoch\":2,\"clock\":{\"" A "\":5}}",
                "{\"causal-context\":{\"epoch\":4,\"clock\":{\"" B "\":1}}}");
    expect_fold("{\"causal-context\":null}", "", "{\"causal-context\":{\"epoch\":3,\"clock\":{}}}");
    /* Lamport times: the larger one when both histories carry one (or are empty); none
     * when one side's history has none, so that the join waits for its dependencies */
    expect_fold("{\"causal-context\":{\"epoch\":3,\"clock\":{\"" A "\":2},\"lamport\":7}}",
                "{\"clock\":{\"" B "\":1},\"lamport\":9}",
                "{\"causal-context\":{\"epoch\":3,\"clock\":{\"" A "\":2,\"" B
                "\":1},\"lamport\":9}}");
    expect_fold("{\"causal-context\":{\"epoch\":3,\"clock\":{\"" A "\":2},\"lamport\":7}}", "",
                "{\"causal-context\":{\"epoch\":3,\"clock\":{\"" A "\":2},\"lamport\":7}}");
    expect_fold("{\"causal-context\":{\"epoch\":3,\"clock\":{\"" A "\":2},\"lamport\":7}}",
                "{\"clock\":{\"" B "\":1}}",
                "{\"causal-context\":{\"epoch\":3,\"clock\":{\"" A "\":2,\"" B "\":1}}}");
}

static void test_fold_refusals(void **state)
{
    (void)state;
    int rc;
    /* a bad header: the forwarding node answers 400 */
    free(fold("{}", "{\"epoch\":-1}", 3, &rc));
    assert_int_equal(rc, CKV_ERROR);
    free(fold("{}", "garbage", 3, &rc));
    assert_int_equal(rc, CKV_ERROR);
    free(fold("{}", "{\"lamport\":-1}", 3, &rc));
    assert_int_equal(rc, CKV_ERROR);
    /* a bad body: forwarded unchanged, for the owner to refuse */
    const char *bodies[] = {"[", "[1]", "{\"value\":1}", "{\"causal-context\":5}",
                            "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char *out = fold(bodies[i], "{}", 3, &rc);
        assert_int_equal(rc, CKV_DECLINED);
        assert_string_equal(out, ""); /* nothing written */
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_headers),          cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_same_as_body),           cmocka_unit_test(test_join),
        cmocka_unit_test(test_format_round_trip),      cmocka_unit_test(test_find_in_reply),
        cmocka_unit_test(test_find_after_large_value), cmocka_unit_test(test_fold),
        cmocka_unit_test(test_fold_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
