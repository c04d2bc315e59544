/* Unit tests for json_codec: client bodies (every malformed case of the error table),
 * contexts, view-change bodies, and node-to-node versions and clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/json_codec.h"
#include "../../src/json_read.h"
#include "four_node_map.h"

static int parse(const char *body, ckv_client_body *b)
{
    ckv_shard_map m = test_map();
    return ckv_client_body_parse(body, strlen(body), &m, b);
}

static void expect_invalid(const char *body)
{
    ckv_client_body b;
    int rc = parse(body, &b);
    ckv_client_body_free(&b);
    if (rc != CKV_ERROR)
        fail_msg("accepted a malformed body: %s", body);
}

static void test_malformed_bodies(void **state)
{
    (void)state;
    const char *bad[] = {
        "not json",
        "[1,2,3]",
        "\"a string\"",
        "42",
        "null",
        "{\"value\":",
        "{\"value\":1}",
        "{\"value\":{\"x\":1}}",
        "{\"value\":[\"a\"]}",
        "{\"value\":true}",
        "{\"value\":\"a\",\"value\":\"b\"}",
        "{\"causal-context\":5}",
        "{\"causal-context\":[]}",
        "{\"causal-context\":{\"epoch\":-1}}",
        "{\"causal-context\":{\"epoch\":\"3\"}}",
        "{\"causal-context\":{\"clock\":[]}}",
        "{\"causal-context\":{\"clock\":{\"10.0.0.1:80\":-5}}}",
        "{\"causal-context\":{\"clock\":{\"10.0.0.1:80\":1.5}}}",
        "{\"causal-context\":{\"clock\":{\"10.0.0.1:80\":99999999999999999999999}}}",
        "{\"value\":\"\xff\xfe\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_invalid(bad[i]);
}

static void test_valid_bodies(void **state)
{
    (void)state;
    ckv_client_body b;
    assert_int_equal(parse("", &b), CKV_OK);
    assert_false(b.has_value);
    assert_int_equal(b.ctx.epoch, 3);
    ckv_client_body_free(&b);

    assert_int_equal(parse("{\"value\":\"a\\u0000b \\\"q\\\" \\n\"}", &b), CKV_OK);
    assert_true(b.has_value);
    assert_int_equal(b.value_len, 9);
    assert_memory_equal(b.value, "a\0b \"q\" \n", 9);
    ckv_client_body_free(&b);

    const char *empties[] = {"{\"value\":null}", "{\"causal-context\":null}",
                             "{\"causal-context\":\"\"}", "{\"causal-context\":{}}"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(parse(empties[i], &b), CKV_OK);
        assert_false(b.has_value);
        assert_true(ckv_vclock_is_zero(&b.ctx.clock));
        ckv_client_body_free(&b);
    }
}

static void test_context_maps_addresses_and_drops_unknown(void **state)
{
    (void)state;
    ckv_client_body b;
    assert_int_equal(parse("{\"causal-context\":{\"epoch\":2,\"clock\":{\"10.0.0.2:80\":7,"
                           "\"10.0.0.4:80\":1,\"9.9.9.9:1\":100}}}",
                           &b),
                     CKV_OK);
    assert_int_equal(b.ctx.epoch, 2);
    assert_int_equal(b.ctx.clock.n, 4);
    assert_int_equal(b.ctx.clock.c[0], 0);
    assert_int_equal(b.ctx.clock.c[1], 7);
    assert_int_equal(b.ctx.clock.c[3], 1);
    ckv_client_body_free(&b);
}

static void test_context_round_trip(void **state)
{
    (void)state;
    ckv_shard_map m = test_map();
    ckv_context ctx = {.epoch = 3};
    ckv_vclock_init(&ctx.clock, 4);
    ctx.clock.c[0] = 5;
    ctx.clock.c[2] = 9;
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_sbuf_addc(&sb, '{');
    ckv_json_add_context(&sb, false, &m, &ctx);
    ckv_sbuf_addc(&sb, '}');
    ckv_client_body b;
    assert_int_equal(ckv_client_body_parse(sb.data, sb.len, &m, &b), CKV_OK);
    assert_int_equal(b.ctx.epoch, 3);
    assert_memory_equal(b.ctx.clock.c, ctx.clock.c, 4 * sizeof(uint64_t));
    assert_non_null(strstr(sb.data, "\"clock\":{\"10.0.0.1:80\":5,\"10.0.0.3:80\":9}"));
    ckv_client_body_free(&b);
    ckv_sbuf_free(&sb);
}

/* "lamport" is optional (older nodes' contexts lack it) and, when present, a counter. */
static void test_context_lamport(void **state)
{
    (void)state;
    ckv_client_body b;
    assert_int_equal(parse("{\"causal-context\":{\"epoch\":3,\"clock\":{},\"lamport\":42}}", &b),
                     CKV_OK);
    assert_true(b.ctx.has_lamport);
    assert_int_equal(b.ctx.lamport, 42);
    ckv_client_body_free(&b);
    assert_int_equal(parse("{\"causal-context\":{\"epoch\":3,\"clock\":{}}}", &b), CKV_OK);
    assert_false(b.ctx.has_lamport);
    ckv_client_body_free(&b);
    expect_invalid("{\"causal-context\":{\"lamport\":-1}}");
    expect_invalid("{\"causal-context\":{\"lamport\":\"7\"}}");
    expect_invalid("{\"causal-context\":{\"lamport\":1.5}}");
    ckv_shard_map m = test_map();
    ckv_context ctx = {.epoch = 3, .lamport = 9, .has_lamport = true};
    ckv_vclock_init(&ctx.clock, 4);
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_json_add_context(&sb, false, &m, &ctx);
    ckv_sbuf_addc(&sb, '\0');
    assert_string_equal(sb.data, "\"causal-context\":{\"epoch\":3,\"clock\":{},\"lamport\":9}");
    ckv_sbuf_free(&sb);
    ctx.has_lamport = false; /* an untracked history stays untracked */
    ckv_sbuf_init(&sb);
    ckv_json_add_context(&sb, false, &m, &ctx);
    ckv_sbuf_addc(&sb, '\0');
    assert_null(strstr(sb.data, "lamport"));
    ckv_sbuf_free(&sb);
}

static int view_change(const char *body, ckv_view *v, long *rf, char *err)
{
    json_error_t jerr;
    json_t *root = json_loads(body, 0, &jerr);
    int rc = ckv_view_change_body_parse(root, v, rf, err, 200);
    json_decref(root);
    return rc;
}

static void test_view_change_bodies(void **state)
{
    (void)state;
    ckv_view v;
    long rf;
    char err[200];
    assert_int_equal(
        view_change("{\"view\":[\"1.1.1.1:1\",\"1.1.1.2:1\"],\"repl-factor\":2}", &v, &rf, err),
        CKV_OK);
    assert_int_equal(v.n, 2);
    assert_int_equal(rf, 2);
    assert_int_equal(
        view_change("{\"view\":\"1.1.1.1:1, 1.1.1.2:1\",\"repl-factor\":\"1\"}", &v, &rf, err),
        CKV_OK);
    assert_int_equal(v.n, 2);
    struct {
        const char *body, *says;
    } bad[] = {
        {"{\"view\":[],\"repl-factor\":1}", "empty"},
        {"{\"view\":\"\",\"repl-factor\":1}", ""},
        {"{\"repl-factor\":1}", "view"},
        {"{\"view\":[\"1.1.1.1:1\"]}", "repl-factor"},
        {"{\"view\":[\"1.1.1.1:1\"],\"repl-factor\":0}", "repl-factor"},
        {"{\"view\":[\"1.1.1.1:1\"],\"repl-factor\":\"x\"}", "repl-factor"},
        {"{\"view\":[\"1.1.1.1:1\",\"1.1.1.2:1\",\"1.1.1.3:1\"],\"repl-factor\":2}", ""},
        {"{\"view\":[\"1.1.1.1:1\",\"1.1.1.1:1\"],\"repl-factor\":1}", "duplicate"},
        {"{\"view\":[\"nonsense\"],\"repl-factor\":1}", ""},
        {"{\"view\":[5],\"repl-factor\":1}", "string"},
        {"{\"view\":5,\"repl-factor\":1}", "view"},
        {"[]", ""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (view_change(bad[i].body, &v, &rf, err) != CKV_ERROR)
            fail_msg("accepted %s", bad[i].body);
        assert_true(strlen(err) > 0);
        assert_non_null(strstr(err, bad[i].says));
    }
}

/* The client's view-change request from its bytes: a client body, then a view change. */
static void test_client_view_change_parse(void **state)
{
    (void)state;
    ckv_shard_map m = test_map();
    ckv_view v;
    long rf = 0;
    char err[200];
    const char *ok = "{\"view\":[\"1.1.1.1:1\",\"1.1.1.2:1\"],\"repl-factor\":2,"
                     "\"causal-context\":{\"epoch\":3,\"clock\":{\"10.0.0.1:80\":4}}}";
    assert_int_equal(ckv_client_view_change_parse(ok, strlen(ok), &m, &v, &rf, err, sizeof(err)),
                     CKV_OK);
    assert_int_equal(v.n, 2);
    assert_int_equal(rf, 2);
    const char *csv = "{\"view\":\"1.1.1.1:1, 1.1.1.2:1\",\"repl-factor\":\"1\"}";
    assert_int_equal(ckv_client_view_change_parse(csv, strlen(csv), &m, &v, &rf, err, sizeof(err)),
                     CKV_OK);
    assert_int_equal(rf, 1);
    struct {
        const char *body, *says;
    } bad[] = {
        /* not a client body */
        {"not json", "Failed to parse request body"},
        {"[]", "Failed to parse request body"},
        {"{\"view\":[\"1.1.1.1:1\"],\"view\":[\"1.1.1.1:1\"],\"repl-factor\":1}",
         "Failed to parse request body"},
        {"{\"view\":[\"1.1.1.1:1\"],\"repl-factor\":1,\"causal-context\":5}",
         "Failed to parse request body"},
        {"{\"view\":[\"1.1.1.1:1\"],\"repl-factor\":1,\"value\":1}",
         "Failed to parse request body"},
        /* a client body, but not a view change */
        {"", "body must be an object"},
        {"{}", "view is missing"},
        {"{\"view\":[],\"repl-factor\":1}", "empty"},
        {"{\"view\":[\"1.1.1.1:1\"]}", "repl-factor"},
        {"{\"view\":[\"1.1.1.1:1\",\"1.1.1.2:1\",\"1.1.1.3:1\"],\"repl-factor\":2}", ""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (ckv_client_view_change_parse(bad[i].body, strlen(bad[i].body), &m, &v, &rf, err,
                                         sizeof(err)) != CKV_ERROR)
            fail_msg("accepted %s", bad[i].body);
        assert_true(strlen(err) > 0);
        if (strstr(err, bad[i].says) == NULL)
            fail_msg("refused %s saying \"%s\", not \"%s\"", bad[i].body, err, bad[i].says);
    }
}

static ckv_version *round_trip(const ckv_version *v, bool base, uint32_t n)
{
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    if (base)
        ckv_json_add_version_base(&sb, v);
    else
        ckv_json_add_version(&sb, v);
    json_t *msg = ckv_json_parse_message(sb.data, sb.len);
    assert_non_null(msg);
    ckv_version *out = ckv_json_version_decode(msg, n);
    json_decref(msg);
    ckv_sbuf_free(&sb);
    return out;
}

static void test_version_round_trip(void **state)
{
    (void)state;
    ckv_vclock c;
    ckv_vclock_init(&c, 4);
    c.c[1] = 3;
    ckv_deps *d = ckv_deps_new(&c);
    ckv_version *v = ckv_version_new("k\0ey", 4, "va\"l\n", 6, false, 2, 17, 40, d);
    ckv_deps_unref(d);
    ckv_version *w = round_trip(v, false, 4);
    assert_non_null(w);
    assert_int_equal(w->key_len, 4);
    assert_memory_equal(ckv_version_key(w), "k\0ey", 4);
    assert_memory_equal(ckv_version_value(w), "va\"l\n", 6);
    assert_int_equal(w->origin, 2);
    assert_int_equal(w->seq, 17);
    assert_int_equal(w->lamport, 40);
    assert_non_null(w->deps);
    assert_int_equal(w->deps->c[1], 3);
    assert_int_equal(ckv_version_cmp(v, w), 0);
    ckv_version_unref(w);

    w = round_trip(v, true, 6); /* base form: decodes in a view of another size */
    assert_non_null(w);
    assert_int_equal(w->origin, CKV_ORIGIN_BASE);
    assert_int_equal(w->seq, 0);
    assert_int_equal(w->lamport, 40);
    assert_null(w->deps);
    ckv_version_unref(w);

    assert_null(round_trip(v, false, 2)); /* origin 2 is not in a view of 2 */
    ckv_version_unref(v);

    ckv_version *t = ckv_version_new("gone", 4, NULL, 0, true, 0, 1, 1, NULL);
    w = round_trip(t, false, 4);
    assert_true(w->tombstone);
    ckv_version_unref(w);
    ckv_version_unref(t);
}

static void test_bad_versions_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"k\":\"\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1}",
        "{\"k\":\"123456789012345678901234567890123456789012345678901\",\"v\":\"x\",\"o\":0,\"s\":"
        "1,"
        "\"l\":1}",
        "{\"k\":\"a\",\"v\":5,\"o\":0,\"s\":1,\"l\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":9,\"s\":1,\"l\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":-1,\"l\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1,\"d\":[1,2]}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1,\"d\":\"no\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *msg = ckv_json_parse_message(bad[i], strlen(bad[i]));
        assert_non_null(msg);
        ckv_version *v = ckv_json_version_decode(msg, 4);
        if (v != NULL)
            fail_msg("accepted %s", bad[i]);
        json_decref(msg);
    }
    assert_null(ckv_json_parse_message("[1]", 3));
    assert_null(ckv_json_parse_message("{", 1));
}

static void test_clock_arrays(void **state)
{
    (void)state;
    ckv_vclock c, d;
    ckv_vclock_init(&c, 3);
    c.c[0] = 1;
    c.c[2] = UINT32_MAX;
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_json_add_clock_array(&sb, &c);
    json_error_t jerr;
    json_t *arr = json_loadb(sb.data, sb.len, 0, &jerr);
    assert_int_equal(ckv_json_clock_array_decode(arr, 3, &d), CKV_OK);
    assert_memory_equal(c.c, d.c, 3 * sizeof(uint64_t));
    assert_int_equal(ckv_json_clock_array_decode(arr, 4, &d), CKV_ERROR);
    json_decref(arr);
    ckv_sbuf_free(&sb);
    arr = json_loads("[1,-2,3]", 0, &jerr);
    assert_int_equal(ckv_json_clock_array_decode(arr, 3, &d), CKV_ERROR);
    json_decref(arr);
}

static bool even_seq(const ckv_version *v, const void *arg)
{
    (void)arg;
    return v->seq % 2 == 0;
}

static void test_store_chunks_cover_the_store_once(void **state)
{
    (void)state;
    enum { KEYS = 3000 };
    static char value[2000];
    memset(value, 'x', sizeof(value));
    ckv_store *s = ckv_store_new();
    for (int i = 1; i <= KEYS; i++) {
        char key[16];
        int len = snprintf(key, sizeof(key), "k%d", i);
        ckv_version *v =
            ckv_version_new(key, (size_t)len, value, sizeof(value), false, 0, (uint64_t)i, 1, NULL);
        assert_int_equal(ckv_store_join(s, v), CKV_OK);
        ckv_version_unref(v);
    }
    /* ~6 MB of versions: several chunks; every even one exactly once */
    size_t cursor = 0, seen = 0, chunks = 0;
    do {
        ckv_sbuf b;
        ckv_sbuf_init(&b);
        ckv_sbuf_addc(&b, '[');
        cursor = ckv_json_add_store_chunk(&b, s, cursor, false, even_seq, NULL);
        ckv_sbuf_addc(&b, ']');
        json_error_t jerr;
        json_t *arr = json_loadb(b.data, b.len, 0, &jerr);
        assert_true(json_is_array(arr));
        size_t i;
        json_t *item;
        json_array_foreach(arr, i, item)
        {
            assert_int_equal(json_integer_value(json_object_get(item, "s")) % 2, 0);
            seen++;
        }
        json_decref(arr);
        ckv_sbuf_free(&b);
        chunks++;
    } while (cursor != 0);
    assert_int_equal(seen, KEYS / 2);
    assert_true(chunks > 2);
    ckv_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_valid_bodies),
        cmocka_unit_test(test_context_maps_addresses_and_drops_unknown),
        cmocka_unit_test(test_context_round_trip),
        cmocka_unit_test(test_context_lamport),
        cmocka_unit_test(test_view_change_bodies),
        cmocka_unit_test(test_client_view_change_parse),
        cmocka_unit_test(test_version_round_trip),
        cmocka_unit_test(test_bad_versions_refused),
        cmocka_unit_test(test_clock_arrays),
        cmocka_unit_test(test_store_chunks_cover_the_store_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
