/* Unit tests for wire: for every node-to-node message, the exact bytes today's nodes send
 * decode and re-encode to the same bytes, encode → decode gives an equal struct, every
 * malformed body is refused (leaving the struct empty), empty version lists decode, and
 * chunked messages streamed from a large store are cut at CKV_BATCH_SOFT_BYTES and carry
 * every version exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/wire.h"

/* ---- helpers ------------------------------------------------------------------------ */

static ckv_shard_map make_map(uint32_t n, long rf, uint64_t epoch)
{
    ckv_view v = {0};
    ckv_shard_map m;
    char err[128];
    for (uint32_t i = 0; i < n; i++) {
        char addr[32];
        int len = snprintf(addr, sizeof(addr), "10.0.0.%u:13800", i + 1);
        assert_int_equal(ckv_view_add(&v, addr, (size_t)len, err, sizeof(err)), CKV_OK);
    }
    assert_int_equal(ckv_shard_map_init(&m, &v, rf, epoch, err, sizeof(err)), CKV_OK);
    return m;
}

static ckv_vclock clock_of(uint32_t n, const uint64_t *c)
{
    ckv_vclock v;
    ckv_vclock_init(&v, n);
    for (uint32_t i = 0; i < n; i++)
        v.c[i] = c[i];
    return v;
}

static ckv_version *version(const char *key, const char *value, uint16_t origin, uint64_t seq,
                            uint64_t lamport, const ckv_vclock *deps)
{
    ckv_deps *d = deps != NULL ? ckv_deps_new(deps) : NULL;
    ckv_version *v = ckv_version_new(key, strlen(key), value, value != NULL ? strlen(value) : 0,
                                     value == NULL, origin, seq, lamport, d);
    ckv_deps_unref(d);
    assert_non_null(v);
    return v;
}

static bool deps_equal(const ckv_deps *a, const ckv_deps *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return a->n == b->n && memcmp(a->c, b->c, a->n * sizeof(a->c[0])) == 0;
}

static bool versions_equal(const ckv_version *a, const ckv_version *b)
{
    return a->key_len == b->key_len && a->value_len == b->value_len &&
           a->tombstone == b->tombstone && a->origin == b->origin && a->seq == b->seq &&
           a->lamport == b->lamport && deps_equal(a->deps, b->deps) &&
           memcmp(a->data, b->data, (size_t)a->key_len + a->value_len) == 0;
}

static void assert_lists_equal(const ckv_version_list *a, const ckv_version_list *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_true(versions_equal(a->v[i], b->v[i]));
}

static void assert_clocks_equal(const ckv_vclock *a, const ckv_vclock *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->c, b->c, a->n * sizeof(a->c[0]));
}

static void assert_maps_equal(const ckv_shard_map *a, const ckv_shard_map *b)
{
    assert_int_equal(a->epoch, b->epoch);
    assert_int_equal(a->rf, b->rf);
    assert_int_equal(a->shards, b->shards);
    assert_true(ckv_view_equal(&a->view, &b->view));
}

/* The buffer as a NUL-terminated string (owned by the caller); frees b. */
static char *take(ckv_sbuf *b)
{
    assert_false(ckv_sbuf_failed(b));
    ckv_sbuf_addc(b, '\0');
    size_t len;
    char *s = ckv_sbuf_steal(b, &len);
    assert_non_null(s);
    return s;
}

static void assert_all_zero(const void *p, size_t size)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < size; i++)
        if (c[i] != 0)
            fail_msg("byte %zu of a refused message's struct is not zero", i);
}

#define N4 4

/* ---- one decoder per kind, for the tables of malformed bodies ------------------------ */

enum kind {
    PUSH,
    PUSH_REPLY,
    SYNC,
    SYNC_REPLY,
    STALE,
    ERROR_REPLY,
    VIEW,
    PREPARE,
    PREPARE_REPLY,
    COLLECT,
    COLLECT_REPLY,
    INSTALL,
    INSTALL_REPLY,
    COMMIT,
    COMMIT_REPLY,
    ABORT,
    ABORT_REPLY,
    KINDS
};

static const char *const kind_names[KINDS] = {
    "push",          "push_reply", "sync",          "sync_reply", "stale_epoch",   "error",
    "view",          "prepare",    "prepare_reply", "collect",    "collect_reply", "install",
    "install_reply", "commit",     "commit_reply",  "abort",      "abort_reply",
};

/* Decodes body as kind with epoch 3 and n = 4; checks a refusal leaves the struct zeroed;
 * frees what a success holds. */
static int decode_kind(enum kind k, const char *body, size_t len)
{
    union {
        ckv_wire_push push;
        ckv_wire_push_reply push_reply;
        ckv_wire_sync sync;
        ckv_wire_sync_reply sync_reply;
        ckv_wire_stale_epoch stale;
        ckv_wire_error error;
        ckv_wire_view view;
        ckv_wire_prepare prepare;
        ckv_wire_prepare_reply prepare_reply;
        ckv_wire_collect collect;
        ckv_wire_collect_reply collect_reply;
        ckv_wire_install install;
        ckv_wire_install_reply install_reply;
        ckv_wire_commit commit;
        ckv_wire_commit_reply commit_reply;
        ckv_wire_abort abort;
        ckv_wire_abort_reply abort_reply;
    } u;
    char err[256];
    size_t size = 0;
    ckv_version_list *list = NULL;
    int rc = CKV_ERROR;
    switch (k) {
    case PUSH:
        rc = ckv_wire_push_decode(body, len, 3, N4, &u.push);
        size = sizeof(u.push), list = &u.push.versions;
        break;
    case PUSH_REPLY:
        rc = ckv_wire_push_reply_decode(body, len, 3, N4, &u.push_reply);
        size = sizeof(u.push_reply);
        break;
    case SYNC:
        rc = ckv_wire_sync_decode(body, len, 3, N4, &u.sync);
        size = sizeof(u.sync);
        break;
    case SYNC_REPLY:
        rc = ckv_wire_sync_reply_decode(body, len, 3, N4, &u.sync_reply);
        size = sizeof(u.sync_reply), list = &u.sync_reply.versions;
        break;
    case STALE:
        rc = ckv_wire_stale_epoch_decode(body, len, &u.stale);
        size = sizeof(u.stale);
        break;
    case ERROR_REPLY:
        rc = ckv_wire_error_decode(body, len, &u.error);
        size = sizeof(u.error);
        break;
    case VIEW:
        rc = ckv_wire_view_decode(body, len, &u.view);
        size = sizeof(u.view);
        break;
    case PREPARE:
        err[0] = 'x';
        rc = ckv_wire_prepare_decode(body, len, &u.prepare, err, sizeof(err));
        size = sizeof(u.prepare);
        if (rc != CKV_OK && strlen(err) == 0)
            fail_msg("prepare refused without saying why: %s", body);
        break;
    case PREPARE_REPLY:
        rc = ckv_wire_prepare_reply_decode(body, len, &u.prepare_reply);
        size = sizeof(u.prepare_reply);
        break;
    case COLLECT:
        rc = ckv_wire_collect_decode(body, len, &u.collect);
        size = sizeof(u.collect);
        break;
    case COLLECT_REPLY:
        rc = ckv_wire_collect_reply_decode(body, len, N4, &u.collect_reply);
        size = sizeof(u.collect_reply), list = &u.collect_reply.versions;
        break;
    case INSTALL:
        rc = ckv_wire_install_decode(body, len, N4, &u.install);
        size = sizeof(u.install), list = &u.install.versions;
        break;
    case INSTALL_REPLY:
        rc = ckv_wire_install_reply_decode(body, len, &u.install_reply);
        size = sizeof(u.install_reply);
        break;
    case COMMIT:
        rc = ckv_wire_commit_decode(body, len, &u.commit);
        size = sizeof(u.commit);
        break;
    case COMMIT_REPLY:
        rc = ckv_wire_commit_reply_decode(body, len, &u.commit_reply);
        size = sizeof(u.commit_reply);
        break;
    case ABORT:
        rc = ckv_wire_abort_decode(body, len, &u.abort);
        size = sizeof(u.abort);
        break;
    case ABORT_REPLY:
        rc = ckv_wire_abort_reply_decode(body, len, &u.abort_reply);
        size = sizeof(u.abort_reply);
        break;
    case KINDS:
        break;
    }
    assert_true(rc == CKV_OK || rc == CKV_ERROR);
    if (rc != CKV_OK)
        assert_all_zero(&u, size);
    if (list != NULL)
        ckv_version_list_free(list);
    return rc;
}

static void expect_refused(enum kind k, const char *body)
{
    if (decode_kind(k, body, strlen(body)) != CKV_ERROR)
        fail_msg("%s accepted a malformed body: %s", kind_names[k], body);
}

static void expect_accepted(enum kind k, const char *body)
{
    if (decode_kind(k, body, strlen(body)) != CKV_OK)
        fail_msg("%s refused a valid body: %s", kind_names[k], body);
}

/* ---- what every decoder refuses -------------------------------------------------------- */

/* A valid body of each kind (as today's nodes send it), epoch 3 and n = 4 where it matters. */
static const char *const valid_body[KINDS] = {
    [PUSH] = "{\"epoch\":3,\"from\":1,\"versions\":[{\"k\":\"a\",\"v\":\"1\",\"o\":1,\"s\":1,"
             "\"l\":5,\"d\":[0,1,0,0]}]}",
    [PUSH_REPLY] = "{\"epoch\":3,\"clock\":[5,0,0,2]}",
    [SYNC] = "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":[0,3,0,0]}",
    [SYNC_REPLY] = "{\"versions\":[],\"epoch\":3,\"cursor\":0,\"gen\":1,\"restart\":0,\"clock\":"
                   "[0,0,0,0]}",
    [STALE] =
        "{\"message\":\"Error in POST\",\"error\":\"Stale epoch\",\"epoch\":3,\"repl-factor\":"
        "1,\"view\":[\"10.0.0.1:13800\"],\"causal-context\":{}}",
    [ERROR_REPLY] = "{\"message\":\"Error in POST\",\"error\":\"Forbidden\",\"causal-context\":{}}",
    [VIEW] = "{\"epoch\":3,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"confirmed\":true}",
    [PREPARE] =
        "{\"id\":7,\"epoch\":3,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":"
        "[\"10.0.0.1:13800\"],\"deadline\":99}",
    [PREPARE_REPLY] = "{\"epoch\":3}",
    [COLLECT] = "{\"id\":7,\"cursor\":0,\"gen\":0}",
    [COLLECT_REPLY] = "{\"versions\":[],\"cursor\":0,\"gen\":1}",
    [INSTALL] = "{\"id\":7,\"versions\":[],\"last\":true}",
    [INSTALL_REPLY] = "{\"staged\":0}",
    [COMMIT] = "{\"id\":7}",
    [COMMIT_REPLY] = "{\"key-count\":0,\"epoch\":3}",
    [ABORT] = "{\"id\":7}",
    [ABORT_REPLY] = "{\"aborted\":true}",
};

/* Not one JSON object, for every kind. */
static void test_every_decoder_refuses_non_objects(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        " ",
        "null",
        "[]",
        "[{\"epoch\":3}]",
        "\"{}\"",
        "42",
        "true",
        "{",
        "{\"epoch\":",
        "not json",
        "{}x",
        "{} {}",
        "{\"epoch\":3}}",
        "\xff",
        "{\"epoch\":3,}",
    };
    for (int k = 0; k < KINDS; k++) {
        expect_accepted((enum kind)k, valid_body[k]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            expect_refused((enum kind)k, bad[i]);
        /* the valid body with trailing garbage, or cut short */
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s x", valid_body[k]);
        expect_refused((enum kind)k, buf);
        snprintf(buf, sizeof(buf), "%s%s", valid_body[k], valid_body[k]);
        expect_refused((enum kind)k, buf);
        size_t len = strlen(valid_body[k]);
        for (size_t cut = 0; cut < len; cut++)
            if (decode_kind((enum kind)k, valid_body[k], cut) != CKV_ERROR)
                fail_msg("%s accepted %zu bytes of %s", kind_names[k], cut, valid_body[k]);
        /* the empty object: every kind has a required field */
        expect_refused((enum kind)k, "{}");
    }
}

/* Each valid body with one field doubled (same value): refused, whatever the field. */
static void test_every_decoder_refuses_duplicate_fields(void **state)
{
    (void)state;
    for (int k = 0; k < KINDS; k++) {
        const char *body = valid_body[k];
        /* the first field, whatever it is, doubled right after the opening brace */
        const char *colon = strchr(body, ':');
        const char *end = colon;
        int depth = 0;
        for (end = colon + 1; *end != '\0'; end++) {
            if (*end == '[' || *end == '{')
                depth++;
            else if (*end == ']' || *end == '}') {
                if (depth-- == 0)
                    break;
            } else if (*end == ',' && depth == 0)
                break;
        }
        char buf[1024];
        snprintf(buf, sizeof(buf), "{%.*s,%s", (int)(end - body - 1), body + 1, body + 1);
        expect_refused((enum kind)k, buf);
    }
    /* and a duplicate inside a version */
    expect_refused(PUSH, "{\"epoch\":3,\"from\":1,\"versions\":[{\"k\":\"a\",\"k\":\"b\",\"v\":"
                         "\"1\",\"o\":1,\"s\":1,\"l\":5}]}");
}

/* ---- push ----------------------------------------------------------------------------- */

/* What replication.c's push_peer sends. */
static const char push_today[] =
    "{\"epoch\":3,\"from\":1,\"versions\":[{\"k\":\"a\",\"v\":\"1\",\"o\":1,\"s\":1,\"l\":5,"
    "\"d\":[0,1,0,0]},{\"k\":\"b\",\"v\":null,\"o\":1,\"s\":2,\"l\":6},{\"k\":\"n\\u0000ul\","
    "\"v\":\"q\\\"\\\\\\n\\u001f\xc3\xa9\",\"o\":65535,\"s\":0,\"l\":7}]}";

static void test_push(void **state)
{
    (void)state;
    ckv_wire_push m;
    assert_int_equal(ckv_wire_push_decode(push_today, strlen(push_today), 3, N4, &m), CKV_OK);
    assert_int_equal(m.epoch, 3);
    assert_int_equal(m.from, 1);
    assert_int_equal(m.versions.n, 3);
    const ckv_version *a = m.versions.v[0], *b = m.versions.v[1], *c = m.versions.v[2];
    assert_int_equal(a->key_len, 1);
    assert_memory_equal(ckv_version_key(a), "a", 1);
    assert_int_equal(a->value_len, 1);
    assert_int_equal(a->origin, 1);
    assert_int_equal(a->seq, 1);
    assert_int_equal(a->lamport, 5);
    assert_non_null(a->deps);
    assert_int_equal(a->deps->n, 4);
    assert_int_equal(a->deps->c[1], 1);
    assert_true(b->tombstone);
    assert_null(b->deps);
    assert_int_equal(c->key_len, 4);
    assert_memory_equal(ckv_version_key(c), "n\0ul", 4);
    assert_memory_equal(ckv_version_value(c), "q\"\\\n\x1f\xc3\xa9", 7);
    assert_int_equal(c->origin, CKV_ORIGIN_BASE);

    /* re-encoded: the same bytes, from the list and from a borrowed array alike */
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_push_encode(&sb, &m, NULL, 0), 3);
    char *again = take(&sb);
    assert_string_equal(again, push_today);
    free(again);
    ckv_sbuf_init(&sb);
    ckv_wire_push hdr = {.epoch = 3, .from = 1};
    assert_int_equal(ckv_wire_push_encode(&sb, &hdr, ckv_version_list_items(&m.versions), 3), 3);
    again = take(&sb);
    assert_string_equal(again, push_today);

    ckv_wire_push m2;
    assert_int_equal(ckv_wire_push_decode(again, strlen(again), 3, N4, &m2), CKV_OK);
    assert_int_equal(m2.epoch, m.epoch);
    assert_int_equal(m2.from, m.from);
    assert_lists_equal(&m.versions, &m2.versions);
    free(again);
    ckv_version_list_free(&m2.versions);
    ckv_version_list_free(&m.versions);
    ckv_version_list_free(&m.versions); /* idempotent */

    /* all-zero dependencies are no dependencies; an empty push is a push */
    const char *zero = "{\"epoch\":3,\"from\":0,\"versions\":[{\"k\":\"k\",\"v\":\"v\",\"o\":0,"
                       "\"s\":1,\"l\":1,\"d\":[0,0,0,0]}]}";
    assert_int_equal(ckv_wire_push_decode(zero, strlen(zero), 3, N4, &m), CKV_OK);
    assert_null(m.versions.v[0]->deps);
    ckv_version_list_free(&m.versions);
    expect_accepted(PUSH, "{\"epoch\":3,\"from\":1,\"versions\":[]}");
}

static void test_push_of_another_epoch_is_read_as_far_as_its_epoch(void **state)
{
    (void)state;
    /* a node of epoch 0 with a view of 2 pushes to a node at epoch 3 with a view of 4 */
    const char *old = "{\"epoch\":0,\"from\":1,\"versions\":[{\"k\":\"a\",\"v\":\"1\",\"o\":1,"
                      "\"s\":1,\"l\":5,\"d\":[0,1]}]}";
    ckv_wire_push m;
    assert_int_equal(ckv_wire_push_decode(old, strlen(old), 3, N4, &m), CKV_OK);
    assert_int_equal(m.epoch, 0);
    assert_int_equal(m.from, 1);
    assert_int_equal(m.versions.n, 0);
    /* read in its own view it decodes whole */
    assert_int_equal(ckv_wire_push_decode(old, strlen(old), 0, 2, &m), CKV_OK);
    assert_int_equal(m.versions.n, 1);
    ckv_version_list_free(&m.versions);
    /* "from" is still needed */
    assert_int_equal(ckv_wire_push_decode("{\"epoch\":0}", 11, 3, N4, &m), CKV_ERROR);
}

static void test_push_refuses(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"from\":1,\"versions\":[]}",
        "{\"epoch\":3,\"versions\":[]}",
        "{\"epoch\":3,\"from\":1}",
        "{\"epoch\":\"3\",\"from\":1,\"versions\":[]}",
        "{\"epoch\":-3,\"from\":1,\"versions\":[]}",
        "{\"epoch\":3.0,\"from\":1,\"versions\":[]}",
        "{\"epoch\":3,\"from\":-1,\"versions\":[]}",
        "{\"epoch\":3,\"from\":null,\"versions\":[]}",
        "{\"epoch\":99999999999999999999,\"from\":1,\"versions\":[]}",
        "{\"epoch\":3,\"from\":1,\"versions\":{}}",
        "{\"epoch\":3,\"from\":1,\"versions\":null}",
        "{\"epoch\":3,\"from\":1,\"versions\":[1]}",
        "{\"epoch\":3,\"from\":1,\"versions\":[[]]}",
        /* one bad version refuses the push, even after a good one */
        "{\"epoch\":3,\"from\":1,\"versions\":[{\"k\":\"a\",\"v\":\"1\",\"o\":1,\"s\":1,\"l\":5},"
        "{\"k\":\"\",\"v\":\"1\",\"o\":1,\"s\":2,\"l\":5}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(PUSH, bad[i]);
}

/* One version of each wrong shape, inside every message that carries versions. */
static void test_bad_versions_refuse_every_carrier(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"k\":\"\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1}",
        "{\"k\":\"123456789012345678901234567890123456789012345678901\",\"v\":\"x\",\"o\":0,"
        "\"s\":1,\"l\":1}",
        "{\"k\":5,\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1}",
        "{\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1}",
        "{\"k\":\"a\",\"o\":0,\"s\":1,\"l\":1}",
        "{\"k\":\"a\",\"v\":5,\"o\":0,\"s\":1,\"l\":1}",
        "{\"k\":\"a\",\"v\":[],\"o\":0,\"s\":1,\"l\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":4,\"s\":1,\"l\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":65534,\"s\":1,\"l\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":-1,\"s\":1,\"l\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":-1,\"l\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1.5}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":\"1\",\"l\":1}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1,\"d\":[1,2]}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1,\"d\":[1,2,3,4,5]}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1,\"d\":[0,0,0,-1]}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1,\"d\":null}",
        "{\"k\":\"a\",\"v\":\"x\",\"o\":0,\"s\":1,\"l\":1,\"d\":\"no\"}",
        "\"a version\"",
        "null",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[512];
        snprintf(buf, sizeof(buf), "{\"epoch\":3,\"from\":1,\"versions\":[%s]}", bad[i]);
        expect_refused(PUSH, buf);
        snprintf(buf, sizeof(buf),
                 "{\"versions\":[%s],\"epoch\":3,\"cursor\":0,\"gen\":1,\"restart\":0,\"clock\":"
                 "[0,0,0,0]}",
                 bad[i]);
        expect_refused(SYNC_REPLY, buf);
        snprintf(buf, sizeof(buf), "{\"versions\":[%s],\"cursor\":0,\"gen\":1}", bad[i]);
        expect_refused(COLLECT_REPLY, buf);
        snprintf(buf, sizeof(buf), "{\"id\":7,\"versions\":[%s],\"last\":true}", bad[i]);
        expect_refused(INSTALL, buf);
    }
}

static ckv_version *big_version(const char *key, size_t value_len, uint64_t seq)
{
    char *value = malloc(value_len + 1);
    assert_non_null(value);
    memset(value, 'v', value_len);
    value[value_len] = '\0';
    ckv_version *v = version(key, value, 0, seq, seq, NULL);
    free(value);
    return v;
}

/* A push is cut once it passes CKV_BATCH_SOFT_BYTES, as push_peer does; the first always
 * goes in. */
static void test_push_cut_at_soft_bytes(void **state)
{
    (void)state;
    const ckv_version *batch[4];
    ckv_version *own[4];
    for (int i = 0; i < 4; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        own[i] = big_version(key, CKV_BATCH_SOFT_BYTES * 6 / 10, (uint64_t)i + 1);
        batch[i] = own[i];
    }
    ckv_wire_push hdr = {.epoch = 3, .from = 0};
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_push_encode(&sb, &hdr, batch, 4), 2);
    ckv_wire_push m;
    assert_int_equal(ckv_wire_push_decode(sb.data, sb.len, 3, N4, &m), CKV_OK);
    assert_int_equal(m.versions.n, 2);
    assert_true(versions_equal(m.versions.v[1], own[1]));
    ckv_version_list_free(&m.versions);
    ckv_sbuf_free(&sb);

    ckv_sbuf_init(&sb);
    ckv_version *huge = big_version("h", CKV_BATCH_SOFT_BYTES + 10, 9);
    batch[0] = huge;
    assert_int_equal(ckv_wire_push_encode(&sb, &hdr, batch, 4), 1);
    assert_true(sb.len > CKV_BATCH_SOFT_BYTES);
    ckv_sbuf_free(&sb);
    ckv_version_unref(huge);
    for (int i = 0; i < 4; i++)
        ckv_version_unref(own[i]);
}

static void test_push_reply(void **state)
{
    (void)state;
    const char *today = "{\"epoch\":3,\"clock\":[5,0,0,2]}"; /* internal_api.c's reply_clock */
    ckv_wire_push_reply m;
    assert_int_equal(ckv_wire_push_reply_decode(today, strlen(today), 3, N4, &m), CKV_OK);
    assert_int_equal(m.epoch, 3);
    uint64_t want[] = {5, 0, 0, 2};
    ckv_vclock c = clock_of(4, want);
    assert_clocks_equal(&m.clock, &c);
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_wire_push_reply_encode(&sb, &m);
    char *again = take(&sb);
    assert_string_equal(again, today);
    free(again);
    /* another epoch: the clock is not read (it may be of another size) */
    const char *other = "{\"epoch\":2,\"clock\":[1]}";
    assert_int_equal(ckv_wire_push_reply_decode(other, strlen(other), 3, N4, &m), CKV_OK);
    assert_int_equal(m.epoch, 2);
    assert_int_equal(m.clock.n, 0);
    const char *bad[] = {
        "{\"clock\":[5,0,0,2]}",
        "{\"epoch\":3}",
        "{\"epoch\":3,\"clock\":[5,0,0]}",
        "{\"epoch\":3,\"clock\":[5,0,0,2,0]}",
        "{\"epoch\":3,\"clock\":[5,0,0,-2]}",
        "{\"epoch\":3,\"clock\":[5,0,0,\"2\"]}",
        "{\"epoch\":3,\"clock\":[5,0,0,2.5]}",
        "{\"epoch\":3,\"clock\":[5,0,0,null]}",
        "{\"epoch\":3,\"clock\":{\"10.0.0.1:13800\":5}}",
        "{\"epoch\":3,\"clock\":[]}",
        "{\"epoch\":3,\"clock\":[5,0,0,2],\"clock\":[5,0,0,2]}",
        "{\"epoch\":true,\"clock\":[5,0,0,2]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(PUSH_REPLY, bad[i]);
}

/* ---- sync ----------------------------------------------------------------------------- */

static void test_sync(void **state)
{
    (void)state;
    /* what replication.c's sync_peer sends, with and without want-base */
    const char *today = "{\"epoch\":3,\"from\":1,\"cursor\":17,\"gen\":2,\"clock\":[0,3,0,0]}";
    const char *base =
        "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":[0,0,0,0],\"want-base\":1}";
    ckv_wire_sync m;
    assert_int_equal(ckv_wire_sync_decode(today, strlen(today), 3, N4, &m), CKV_OK);
    assert_int_equal(m.epoch, 3);
    assert_int_equal(m.from, 1);
    assert_int_equal(m.cursor, 17);
    assert_int_equal(m.gen, 2);
    assert_int_equal(m.clock.n, 4);
    assert_int_equal(m.clock.c[1], 3);
    assert_false(m.want_base);
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_wire_sync_encode(&sb, &m);
    char *again = take(&sb);
    assert_string_equal(again, today);
    free(again);

    assert_int_equal(ckv_wire_sync_decode(base, strlen(base), 3, N4, &m), CKV_OK);
    assert_true(m.want_base);
    ckv_sbuf_init(&sb);
    ckv_wire_sync_encode(&sb, &m);
    again = take(&sb);
    assert_string_equal(again, base);
    free(again);

    /* want-base: absent, 0 or unreadable is false (as handle_sync reads it); else true */
    struct {
        const char *value;
        bool want;
    } wb[] = {{"0", false},    {"-1", false},  {"\"1\"", false}, {"true", false},
              {"null", false}, {"1.0", false}, {"1", true},      {"7", true}};
    for (size_t i = 0; i < sizeof(wb) / sizeof(wb[0]); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":[0,0,0,0],"
                 "\"want-base\":%s}",
                 wb[i].value);
        assert_int_equal(ckv_wire_sync_decode(buf, strlen(buf), 3, N4, &m), CKV_OK);
        assert_int_equal(m.want_base, wb[i].want);
    }

    /* a stale sync (epoch 0, a view of 2) decodes, so that it can get the stale-epoch 409 */
    const char *stale = "{\"epoch\":0,\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":[0,3]}";
    assert_int_equal(ckv_wire_sync_decode(stale, strlen(stale), 3, N4, &m), CKV_OK);
    assert_int_equal(m.epoch, 0);
    assert_int_equal(m.from, 1);
    assert_int_equal(m.clock.n, 0);

    const char *bad[] = {
        "{\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":[0,0,0,0]}",
        "{\"epoch\":3,\"cursor\":0,\"gen\":0,\"clock\":[0,0,0,0]}",
        "{\"epoch\":3,\"from\":1,\"gen\":0,\"clock\":[0,0,0,0]}",
        "{\"epoch\":3,\"from\":1,\"cursor\":0,\"clock\":[0,0,0,0]}",
        "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":0}",
        "{\"epoch\":3,\"from\":1,\"cursor\":-1,\"gen\":0,\"clock\":[0,0,0,0]}",
        "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":\"0\",\"clock\":[0,0,0,0]}",
        "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":[0,0,0]}",
        "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":[0,3]}",
        "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":[0,0,0,-1]}",
        "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":\"0,0,0,0\"}",
        "{\"epoch\":3,\"from\":1.5,\"cursor\":0,\"gen\":0,\"clock\":[0,0,0,0]}",
        "{\"epoch\":3,\"from\":1,\"cursor\":0,\"gen\":0,\"clock\":[0,0,0,0],\"want-base\":1,"
        "\"want-base\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(SYNC, bad[i]);
}

static void test_sync_reply(void **state)
{
    (void)state;
    /* internal_api.c's sync_answer, in a view of 2 */
    const char *today =
        "{\"versions\":[{\"k\":\"x\",\"v\":\"y\",\"o\":0,\"s\":3,\"l\":9,\"d\":[3,0]}"
        ",{\"k\":\"z\",\"v\":\"\",\"o\":1,\"s\":1,\"l\":2}],\"epoch\":0,\"cursor\":"
        "17,\"gen\":2,\"restart\":0,\"clock\":[3,1]}";
    ckv_wire_sync_reply m;
    assert_int_equal(ckv_wire_sync_reply_decode(today, strlen(today), 0, 2, &m), CKV_OK);
    assert_int_equal(m.versions.n, 2);
    assert_int_equal(m.versions.v[1]->value_len, 0);
    assert_false(m.versions.v[1]->tombstone);
    assert_int_equal(m.epoch, 0);
    assert_int_equal(m.cursor, 17);
    assert_int_equal(m.gen, 2);
    assert_false(m.restart);
    assert_int_equal(m.clock.n, 2);
    assert_int_equal(m.clock.c[0], 3);
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_sync_reply_encode(&sb, &m, NULL), 17);
    char *again = take(&sb);
    assert_string_equal(again, today);
    ckv_wire_sync_reply m2;
    assert_int_equal(ckv_wire_sync_reply_decode(again, strlen(again), 0, 2, &m2), CKV_OK);
    assert_lists_equal(&m.versions, &m2.versions);
    assert_clocks_equal(&m.clock, &m2.clock);
    free(again);
    ckv_version_list_free(&m2.versions);
    ckv_version_list_free(&m.versions);

    /* nothing to send: store NULL, cursor 0 */
    ckv_wire_sync_reply hdr = {.epoch = 3, .gen = 5, .restart = true};
    uint64_t c4[] = {1, 2, 3, 4};
    hdr.clock = clock_of(4, c4);
    ckv_wire_chunk none = {0};
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_sync_reply_encode(&sb, &hdr, &none), 0);
    again = take(&sb);
    assert_string_equal(again, "{\"versions\":[],\"epoch\":3,\"cursor\":0,\"gen\":5,\"restart\":1,"
                               "\"clock\":[1,2,3,4]}");
    free(again);

    /* restart: absent or unreadable is false, nonzero true (as sync_merge_reply reads it) */
    const char *no_restart = "{\"versions\":[],\"epoch\":3,\"cursor\":0,\"gen\":1,\"clock\":"
                             "[0,0,0,0]}";
    assert_int_equal(ckv_wire_sync_reply_decode(no_restart, strlen(no_restart), 3, N4, &m), CKV_OK);
    assert_false(m.restart);
    const char *restart = "{\"versions\":[],\"epoch\":3,\"cursor\":0,\"gen\":1,\"restart\":2,"
                          "\"clock\":[0,0,0,0]}";
    assert_int_equal(ckv_wire_sync_reply_decode(restart, strlen(restart), 3, N4, &m), CKV_OK);
    assert_true(m.restart);

    /* another epoch: only the epoch is read */
    assert_int_equal(ckv_wire_sync_reply_decode(today, strlen(today), 3, N4, &m), CKV_OK);
    assert_int_equal(m.epoch, 0);
    assert_int_equal(m.versions.n, 0);

    const char *bad[] = {
        "{\"epoch\":3,\"cursor\":0,\"gen\":1,\"restart\":0,\"clock\":[0,0,0,0]}",
        "{\"versions\":[],\"cursor\":0,\"gen\":1,\"restart\":0,\"clock\":[0,0,0,0]}",
        "{\"versions\":[],\"epoch\":3,\"gen\":1,\"restart\":0,\"clock\":[0,0,0,0]}",
        "{\"versions\":[],\"epoch\":3,\"cursor\":0,\"restart\":0,\"clock\":[0,0,0,0]}",
        "{\"versions\":[],\"epoch\":3,\"cursor\":0,\"gen\":1,\"restart\":0}",
        "{\"versions\":{},\"epoch\":3,\"cursor\":0,\"gen\":1,\"restart\":0,\"clock\":[0,0,0,0]}",
        "{\"versions\":[],\"epoch\":3,\"cursor\":-5,\"gen\":1,\"restart\":0,\"clock\":[0,0,0,0]}",
        "{\"versions\":[],\"epoch\":3,\"cursor\":0,\"gen\":1,\"restart\":0,\"clock\":[0,0]}",
        "{\"versions\":[],\"epoch\":3,\"cursor\":0,\"gen\":1,\"restart\":0,\"clock\":[0,0,0,0],"
        "\"gen\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(SYNC_REPLY, bad[i]);
}

/* ---- stale epoch, errors, membership ---------------------------------------------------- */

static void test_stale_epoch(void **state)
{
    (void)state;
    const char *today = "{\"message\":\"Error in POST\",\"error\":\"Stale epoch\",\"epoch\":2,"
                        "\"repl-factor\":2,\"view\":[\"10.0.0.1:13800\",\"10.0.0.2:13800\"],"
                        "\"causal-context\":{}}";
    ckv_wire_stale_epoch m;
    assert_int_equal(ckv_wire_stale_epoch_decode(today, strlen(today), &m), CKV_OK);
    ckv_shard_map want = make_map(2, 2, 2);
    assert_maps_equal(&m.map, &want);
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_wire_stale_epoch_encode(&sb, &m);
    char *again = take(&sb);
    assert_string_equal(again, today);
    free(again);
    ckv_wire_error e;
    assert_int_equal(ckv_wire_error_decode(today, strlen(today), &e), CKV_OK);
    assert_string_equal(e.error, "Stale epoch");

    /* the view may come as one comma-separated string, the repl-factor as a string */
    const char *csv = "{\"epoch\":2,\"repl-factor\":\"2\",\"view\":\"10.0.0.1:13800, "
                      "10.0.0.2:13800\"}";
    assert_int_equal(ckv_wire_stale_epoch_decode(csv, strlen(csv), &m), CKV_OK);
    assert_maps_equal(&m.map, &want);

    const char *bad[] = {
        "{\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"]}",
        "{\"epoch\":-1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"]}",
        "{\"epoch\":2,\"view\":[\"10.0.0.1:13800\"]}",
        "{\"epoch\":2,\"repl-factor\":1}",
        "{\"epoch\":2,\"repl-factor\":1,\"view\":[]}",
        "{\"epoch\":2,\"repl-factor\":0,\"view\":[\"10.0.0.1:13800\"]}",
        "{\"epoch\":2,\"repl-factor\":2,\"view\":[\"10.0.0.1:13800\"]}",
        "{\"epoch\":2,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\",\"10.0.0.1:13800\"]}",
        "{\"epoch\":2,\"repl-factor\":1,\"view\":[\"nonsense\"]}",
        "{\"epoch\":2,\"repl-factor\":1,\"view\":[5]}",
        "{\"epoch\":2,\"repl-factor\":1,\"view\":\"10.0.0.1:13800\\u0000,junk\"}",
        "{\"epoch\":2,\"repl-factor\":\"1\\u0000x\",\"view\":[\"10.0.0.1:13800\"]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_refused(STALE, bad[i]);
        /* the view answer follows the same rules */
        expect_refused(VIEW, bad[i]);
    }

    expect_refused(ERROR_REPLY, "{\"error\":5}");
    expect_refused(ERROR_REPLY, "{\"message\":\"Error\"}");
    char longer[600];
    snprintf(longer, sizeof(longer), "{\"error\":\"%0500d\"}", 0);
    assert_int_equal(ckv_wire_error_decode(longer, strlen(longer), &e), CKV_OK);
    assert_int_equal(strlen(e.error), CKV_WIRE_ERROR_MAX - 1);
}

static void test_view_question_and_answer(void **state)
{
    (void)state;
    /* membership.c's build_question, which is also its answer */
    const char *today = "{\"epoch\":0,\"repl-factor\":1,\"view\":[\"127.0.0.2:13800\","
                        "\"127.0.0.3:13800\"],\"confirmed\":true}";
    ckv_wire_view m;
    assert_int_equal(ckv_wire_view_decode(today, strlen(today), &m), CKV_OK);
    assert_int_equal(m.map.epoch, 0);
    assert_int_equal(m.map.rf, 1);
    assert_int_equal(m.map.shards, 2);
    assert_int_equal(m.map.view.n, 2);
    assert_string_equal(m.map.view.addrs[1], "127.0.0.3:13800");
    assert_true(m.confirmed);
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_wire_view_encode(&sb, &m);
    char *again = take(&sb);
    assert_string_equal(again, today);
    free(again);
    m.confirmed = false;
    ckv_sbuf_init(&sb);
    ckv_wire_view_encode(&sb, &m);
    again = take(&sb);
    assert_non_null(strstr(again, ",\"confirmed\":false}"));
    ckv_wire_view m2;
    assert_int_equal(ckv_wire_view_decode(again, strlen(again), &m2), CKV_OK);
    assert_maps_equal(&m.map, &m2.map);
    assert_false(m2.confirmed);
    free(again);

    /* confirmed: true only when JSON true (as parse_answer reads it) */
    const char *values[] = {"false", "1", "\"true\"", "null", "{}"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "{\"epoch\":0,\"repl-factor\":1,\"view\":[\"127.0.0.2:13800\"],\"confirmed\":%s}",
                 values[i]);
        assert_int_equal(ckv_wire_view_decode(buf, strlen(buf), &m), CKV_OK);
        assert_false(m.confirmed);
    }
    expect_accepted(VIEW, "{\"epoch\":0,\"repl-factor\":1,\"view\":[\"127.0.0.2:13800\"]}");
}

/* ---- view change ---------------------------------------------------------------------- */

static void test_prepare(void **state)
{
    (void)state;
    /* view_change.c's build_prepare */
    const char *today = "{\"id\":12,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\","
                        "\"10.0.0.2:13800\"],\"old-view\":[\"10.0.0.1:13800\"],\"deadline\":"
                        "1764600000000}";
    ckv_wire_prepare m;
    char err[256];
    assert_int_equal(ckv_wire_prepare_decode(today, strlen(today), &m, err, sizeof(err)), CKV_OK);
    assert_int_equal(m.id, 12);
    ckv_shard_map want = make_map(2, 1, 1);
    assert_maps_equal(&m.map, &want);
    assert_int_equal(m.old_view.n, 1);
    assert_string_equal(m.old_view.addrs[0], "10.0.0.1:13800");
    assert_int_equal(m.deadline, 1764600000000ull);
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_wire_prepare_encode(&sb, &m);
    char *again = take(&sb);
    assert_string_equal(again, today);
    free(again);

    /* deadline: absent (or unreadable) is UINT64_MAX, which is encoded by leaving it out */
    const char *csv = "{\"id\":12,\"epoch\":1,\"view\":\"10.0.0.1:13800,10.0.0.2:13800\","
                      "\"repl-factor\":\"2\",\"old-view\":\"10.0.0.1:13800\"}";
    assert_int_equal(ckv_wire_prepare_decode(csv, strlen(csv), &m, err, sizeof(err)), CKV_OK);
    assert_int_equal(m.deadline, UINT64_MAX);
    assert_int_equal(m.map.rf, 2);
    assert_int_equal(m.old_view.n, 1);
    ckv_sbuf_init(&sb);
    ckv_wire_prepare_encode(&sb, &m);
    again = take(&sb);
    assert_string_equal(again, "{\"id\":12,\"epoch\":1,\"repl-factor\":2,\"view\":[\"10.0.0.1:13800"
                               "\",\"10.0.0.2:13800\"],\"old-view\":[\"10.0.0.1:13800\"]}");
    ckv_wire_prepare m2;
    assert_int_equal(ckv_wire_prepare_decode(again, strlen(again), &m2, err, sizeof(err)), CKV_OK);
    assert_maps_equal(&m.map, &m2.map);
    assert_true(ckv_view_equal(&m.old_view, &m2.old_view));
    assert_int_equal(m2.deadline, UINT64_MAX);
    free(again);
    const char *neg = "{\"id\":12,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],"
                      "\"old-view\":[\"10.0.0.1:13800\"],\"deadline\":-5}";
    assert_int_equal(ckv_wire_prepare_decode(neg, strlen(neg), &m, err, sizeof(err)), CKV_OK);
    assert_int_equal(m.deadline, UINT64_MAX);

    struct {
        const char *body, *says;
    } bad[] = {
        {"{\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":["
         "\"10.0.0.1:13800\"]}",
         "Failed to parse"},
        {"{\"id\":0,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":["
         "\"10.0.0.1:13800\"]}",
         "Failed to parse"},
        {"{\"id\":-12,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":["
         "\"10.0.0.1:13800\"]}",
         "Failed to parse"},
        {"{\"id\":12,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":["
         "\"10.0.0.1:13800\"]}",
         "bad prepare message"},
        {"{\"id\":12,\"epoch\":\"1\",\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":"
         "[\"10.0.0.1:13800\"]}",
         "bad prepare message"},
        {"{\"id\":12,\"epoch\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":[\"10.0.0.1:13800\"]}",
         "bad prepare message"},
        {"{\"id\":12,\"epoch\":1,\"repl-factor\":2,\"view\":[\"10.0.0.1:13800\"],\"old-view\":["
         "\"10.0.0.1:13800\"]}",
         "bad prepare message"},
        {"{\"id\":12,\"epoch\":1,\"repl-factor\":1,\"old-view\":[\"10.0.0.1:13800\"]}",
         "bad prepare message"},
        {"{\"id\":12,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"]}", "old-view"},
        {"{\"id\":12,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":[]}",
         "empty"},
        {"{\"id\":12,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":5}",
         "view"},
        {"{\"id\":12,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":"
         "\"10.0.0.1:13800\\u0000,junk\"}",
         "NUL"},
        {"{\"id\":12,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],\"old-view\":["
         "\"10.0.0.1:13800\",\"10.0.0.1:13800\"]}",
         "duplicate"},
        {"{\"id\":12,\"id\":12,\"epoch\":1,\"repl-factor\":1,\"view\":[\"10.0.0.1:13800\"],"
         "\"old-view\":[\"10.0.0.1:13800\"]}",
         "Failed to parse"},
        {"[]", "Failed to parse"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (ckv_wire_prepare_decode(bad[i].body, strlen(bad[i].body), &m, err, sizeof(err)) !=
            CKV_ERROR)
            fail_msg("accepted %s", bad[i].body);
        assert_all_zero(&m, sizeof(m));
        if (strstr(err, bad[i].says) == NULL)
            fail_msg("refused %s saying \"%s\", not \"%s\"", bad[i].body, err, bad[i].says);
    }
}

static void test_small_view_change_messages(void **state)
{
    (void)state;
    ckv_sbuf sb;
    char *again;
#define SAME_BYTES(encode, m, text)                                                                \
    do {                                                                                           \
        ckv_sbuf_init(&sb);                                                                        \
        encode(&sb, &(m));                                                                         \
        again = take(&sb);                                                                         \
        assert_string_equal(again, text);                                                          \
        free(again);                                                                               \
    } while (0)

    ckv_wire_prepare_reply pr;
    assert_int_equal(ckv_wire_prepare_reply_decode("{\"epoch\":4}", 11, &pr), CKV_OK);
    assert_int_equal(pr.epoch, 4);
    SAME_BYTES(ckv_wire_prepare_reply_encode, pr, "{\"epoch\":4}");

    ckv_wire_collect co;
    const char *collect = "{\"id\":12,\"cursor\":33,\"gen\":2}";
    assert_int_equal(ckv_wire_collect_decode(collect, strlen(collect), &co), CKV_OK);
    assert_int_equal(co.id, 12);
    assert_int_equal(co.cursor, 33);
    assert_int_equal(co.gen, 2);
    SAME_BYTES(ckv_wire_collect_encode, co, collect);

    ckv_wire_install_reply ir;
    assert_int_equal(ckv_wire_install_reply_decode("{\"staged\":9}", 12, &ir), CKV_OK);
    assert_int_equal(ir.staged, 9);
    SAME_BYTES(ckv_wire_install_reply_encode, ir, "{\"staged\":9}");

    ckv_wire_commit cm;
    assert_int_equal(ckv_wire_commit_decode("{\"id\":12}", 9, &cm), CKV_OK);
    assert_int_equal(cm.id, 12);
    SAME_BYTES(ckv_wire_commit_encode, cm, "{\"id\":12}");

    ckv_wire_commit_reply cr;
    const char *commit_reply = "{\"key-count\":3,\"epoch\":1}";
    assert_int_equal(ckv_wire_commit_reply_decode(commit_reply, strlen(commit_reply), &cr), CKV_OK);
    assert_int_equal(cr.key_count, 3);
    assert_int_equal(cr.epoch, 1);
    SAME_BYTES(ckv_wire_commit_reply_encode, cr, commit_reply);
    /* key-count: absent or unreadable is -1 (as coord_take_reply reads it) */
    const char *counts[] = {"{\"epoch\":1}", "{\"key-count\":-3,\"epoch\":1}",
                            "{\"key-count\":\"3\",\"epoch\":1}"};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        assert_int_equal(ckv_wire_commit_reply_decode(counts[i], strlen(counts[i]), &cr), CKV_OK);
        assert_int_equal(cr.key_count, -1);
    }
    SAME_BYTES(ckv_wire_commit_reply_encode, cr, "{\"epoch\":1}");

    ckv_wire_abort ab;
    assert_int_equal(ckv_wire_abort_decode("{\"id\":12}", 9, &ab), CKV_OK);
    assert_int_equal(ab.id, 12);
    SAME_BYTES(ckv_wire_abort_encode, ab, "{\"id\":12}");

    ckv_wire_abort_reply ar;
    assert_int_equal(ckv_wire_abort_reply_decode("{\"aborted\":true}", 16, &ar), CKV_OK);
    assert_true(ar.aborted);
    SAME_BYTES(ckv_wire_abort_reply_encode, ar, "{\"aborted\":true}");
    assert_int_equal(ckv_wire_abort_reply_decode("{\"aborted\":false}", 17, &ar), CKV_OK);
    assert_false(ar.aborted);
    SAME_BYTES(ckv_wire_abort_reply_encode, ar, "{\"aborted\":false}");
#undef SAME_BYTES

    struct {
        enum kind k;
        const char *body;
    } bad[] = {
        {PREPARE_REPLY, "{\"epoch\":-4}"},
        {PREPARE_REPLY, "{\"epoch\":\"4\"}"},
        {PREPARE_REPLY, "{\"epoch\":4.5}"},
        {COLLECT, "{\"cursor\":0,\"gen\":0}"},
        {COLLECT, "{\"id\":0,\"cursor\":0,\"gen\":0}"},
        {COLLECT, "{\"id\":12,\"gen\":0}"},
        {COLLECT, "{\"id\":12,\"cursor\":0}"},
        {COLLECT, "{\"id\":12,\"cursor\":-1,\"gen\":0}"},
        {COLLECT, "{\"id\":12,\"cursor\":0,\"gen\":[]}"},
        {INSTALL_REPLY, "{\"staged\":-1}"},
        {INSTALL_REPLY, "{\"staged\":null}"},
        {COMMIT, "{\"id\":0}"},
        {COMMIT, "{\"id\":-1}"},
        {COMMIT, "{\"id\":\"12\"}"},
        {COMMIT, "{\"id\":12.0}"},
        {COMMIT_REPLY, "{\"key-count\":3}"},
        {COMMIT_REPLY, "{\"key-count\":3,\"epoch\":-1}"},
        {ABORT, "{\"id\":0}"},
        {ABORT, "{\"id\":true}"},
        {ABORT_REPLY, "{\"aborted\":1}"},
        {ABORT_REPLY, "{\"aborted\":\"true\"}"},
        {ABORT_REPLY, "{\"aborted\":null}"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(bad[i].k, bad[i].body);
}

static void test_collect_reply(void **state)
{
    (void)state;
    /* view_change.c's handle_collect: every version, tombstones and base versions too */
    const char *today = "{\"versions\":[{\"k\":\"x\",\"v\":\"y\",\"o\":65535,\"s\":0,\"l\":9},"
                        "{\"k\":\"g\",\"v\":null,\"o\":3,\"s\":2,\"l\":10,\"d\":[0,0,0,2]}],"
                        "\"cursor\":0,\"gen\":1}";
    ckv_wire_collect_reply m;
    assert_int_equal(ckv_wire_collect_reply_decode(today, strlen(today), N4, &m), CKV_OK);
    assert_int_equal(m.versions.n, 2);
    assert_int_equal(m.versions.v[0]->origin, CKV_ORIGIN_BASE);
    assert_true(m.versions.v[1]->tombstone);
    assert_int_equal(m.cursor, 0);
    assert_int_equal(m.gen, 1);
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_collect_reply_encode(&sb, &m, NULL), 0);
    char *again = take(&sb);
    assert_string_equal(again, today);
    free(again);
    ckv_version_list_free(&m.versions);
    /* origin 3 is not in a view of 3 */
    assert_int_equal(ckv_wire_collect_reply_decode(today, strlen(today), 3, &m), CKV_ERROR);
    assert_all_zero(&m, sizeof(m));

    const char *bad[] = {
        "{\"cursor\":0,\"gen\":1}",
        "{\"versions\":[],\"gen\":1}",
        "{\"versions\":[],\"cursor\":0}",
        "{\"versions\":\"[]\",\"cursor\":0,\"gen\":1}",
        "{\"versions\":[],\"cursor\":-1,\"gen\":1}",
        "{\"versions\":[],\"cursor\":0,\"gen\":1.5}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(COLLECT_REPLY, bad[i]);
}

/* An install with no keys decodes to an empty list (a crash once came from that path). */
static void test_empty_install(void **state)
{
    (void)state;
    const char *today = "{\"id\":7,\"versions\":[],\"last\":true}";
    ckv_wire_install m;
    memset(&m, 0xA5, sizeof(m)); /* the decoder must not read what was there */
    assert_int_equal(ckv_wire_install_decode(today, strlen(today), N4, &m), CKV_OK);
    assert_int_equal(m.id, 7);
    assert_int_equal(m.versions.n, 0);
    assert_null(m.versions.v);
    assert_true(m.last);
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_install_encode(&sb, &m, NULL), 0);
    char *again = take(&sb);
    assert_string_equal(again, today);
    free(again);
    ckv_version_list_free(&m.versions);

    /* from an empty store, and from a store whose keys all belong elsewhere */
    ckv_store *s = ckv_store_new();
    ckv_wire_install hdr = {.id = 7};
    ckv_wire_chunk chunk = {.store = s, .base = true};
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_install_encode(&sb, &hdr, &chunk), 0);
    again = take(&sb);
    assert_string_equal(again, today);
    free(again);
    ckv_version *v = version("k", "v", 0, 1, 1, NULL);
    assert_int_equal(ckv_store_join(s, v), CKV_OK);
    ckv_version_unref(v);
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_install_encode(&sb, &hdr, &chunk), 0);
    again = take(&sb);
    assert_non_null(strstr(again, "\"o\":65535,\"s\":0,\"l\":1}"));
    free(again);
    ckv_store_free(s);

    /* and with a view of 1 (any n: an empty list has nothing to check) */
    assert_int_equal(ckv_wire_install_decode(today, strlen(today), 1, &m), CKV_OK);
    ckv_version_list_free(&m.versions);

    const char *bad[] = {
        "{\"id\":7,\"last\":true}",
        "{\"versions\":[],\"last\":true}",
        "{\"id\":0,\"versions\":[],\"last\":true}",
        "{\"id\":7,\"versions\":[]}",
        "{\"id\":7,\"versions\":[],\"last\":1}",
        "{\"id\":7,\"versions\":[],\"last\":\"true\"}",
        "{\"id\":7,\"versions\":null,\"last\":true}",
        "{\"id\":7,\"versions\":{},\"last\":true}",
        "{\"id\":7,\"versions\":[],\"last\":true,\"last\":false}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(INSTALL, bad[i]);
}

/* ---- chunked messages from a large store --------------------------------------------- */

enum { BIG_KEYS = 20000, BIG_VALUE = 300 };

static ckv_store *big_store(void)
{
    static char value[BIG_VALUE + 1];
    memset(value, 'x', BIG_VALUE);
    ckv_store *s = ckv_store_new();
    assert_non_null(s);
    uint64_t d[N4] = {0, 0, 1, 0};
    ckv_vclock deps = clock_of(N4, d);
    for (int i = 1; i <= BIG_KEYS; i++) {
        char key[16];
        snprintf(key, sizeof(key), "key%d", i);
        ckv_version *v = version(key, i % 7 == 0 ? NULL : value, (uint16_t)(i % N4), (uint64_t)i,
                                 (uint64_t)i + 100, i % 3 == 0 ? &deps : NULL);
        assert_int_equal(ckv_store_join(s, v), CKV_OK);
        ckv_version_unref(v);
    }
    return s;
}

static bool odd_seq(const ckv_version *v, const void *arg)
{
    (void)arg;
    return v->seq % 2 == 1;
}

/* Each chunk passes CKV_BATCH_SOFT_BYTES by less than one version; every kept version
 * arrives exactly once and equal (in base form for install). */
static void check_chunks(enum kind k)
{
    ckv_store *s = big_store();
    ckv_store *got = ckv_store_new();
    bool base = k == INSTALL;
    ckv_wire_chunk chunk = {.store = s, .base = base, .keep = odd_seq};
    size_t chunks = 0, seen = 0;
    uint64_t z[N4] = {0};
    do {
        ckv_sbuf sb;
        ckv_sbuf_init(&sb);
        size_t next;
        ckv_version_list list = {0};
        if (k == SYNC_REPLY) {
            ckv_wire_sync_reply hdr = {.epoch = 3, .gen = ckv_store_generation(s)};
            hdr.clock = clock_of(N4, z);
            next = ckv_wire_sync_reply_encode(&sb, &hdr, &chunk);
            ckv_wire_sync_reply m;
            assert_int_equal(ckv_wire_sync_reply_decode(sb.data, sb.len, 3, N4, &m), CKV_OK);
            assert_int_equal(m.cursor, next);
            list = m.versions;
        } else if (k == COLLECT_REPLY) {
            ckv_wire_collect_reply hdr = {.gen = ckv_store_generation(s)};
            next = ckv_wire_collect_reply_encode(&sb, &hdr, &chunk);
            ckv_wire_collect_reply m;
            assert_int_equal(ckv_wire_collect_reply_decode(sb.data, sb.len, N4, &m), CKV_OK);
            assert_int_equal(m.cursor, next);
            list = m.versions;
        } else {
            ckv_wire_install hdr = {.id = 9};
            next = ckv_wire_install_encode(&sb, &hdr, &chunk);
            ckv_wire_install m;
            assert_int_equal(ckv_wire_install_decode(sb.data, sb.len, N4, &m), CKV_OK);
            assert_int_equal(m.last, next == 0);
            list = m.versions;
        }
        assert_false(ckv_sbuf_failed(&sb));
        /* cut after the version that passed the soft limit: less than one more */
        assert_true(sb.len < CKV_BATCH_SOFT_BYTES + 1024);
        if (next != 0)
            assert_true(sb.len >= CKV_BATCH_SOFT_BYTES);
        for (size_t i = 0; i < list.n; i++) {
            const ckv_version *v = list.v[i];
            const ckv_version *orig = ckv_store_get(s, ckv_version_key(v), v->key_len);
            assert_non_null(orig);
            assert_int_equal(orig->seq % 2, 1);
            assert_null(ckv_store_get(got, ckv_version_key(v), v->key_len)); /* once */
            if (base) {
                assert_int_equal(v->origin, CKV_ORIGIN_BASE);
                assert_int_equal(v->seq, 0);
                assert_null(v->deps);
                assert_int_equal(v->lamport, orig->lamport);
                assert_int_equal(v->tombstone, orig->tombstone);
                assert_int_equal(v->value_len, orig->value_len);
            } else {
                assert_true(versions_equal(v, orig));
            }
            assert_int_equal(ckv_store_join(got, list.v[i]), CKV_OK);
            seen++;
        }
        ckv_version_list_free(&list);
        ckv_sbuf_free(&sb);
        chunk.cursor = next;
        chunks++;
    } while (chunk.cursor != 0);
    assert_int_equal(seen, BIG_KEYS / 2);
    assert_true(chunks >= 3);
    ckv_store_free(got);
    ckv_store_free(s);
}

static void test_sync_reply_chunks(void **state)
{
    (void)state;
    check_chunks(SYNC_REPLY);
}

static void test_collect_reply_chunks(void **state)
{
    (void)state;
    check_chunks(COLLECT_REPLY);
}

static void test_install_chunks(void **state)
{
    (void)state;
    check_chunks(INSTALL);
}

/* ---- the version list ---------------------------------------------------------------- */

static void test_version_list(void **state)
{
    (void)state;
    ckv_version_list l = {0};
    ckv_version_list_free(&l); /* empty: nothing to do */
    ckv_version *keep = version("k0", "v", 0, 1, 1, NULL);
    assert_int_equal(ckv_version_list_push(&l, ckv_version_ref(keep)), CKV_OK);
    for (int i = 1; i < 100; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(ckv_version_list_push(&l, version(key, "v", 0, (uint64_t)i, 1, NULL)),
                         CKV_OK);
    }
    assert_int_equal(l.n, 100);
    assert_true(l.cap >= 100);
    assert_ptr_equal(ckv_version_list_items(&l)[0], keep);
    assert_int_equal(keep->refs, 2);
    ckv_version_list_free(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
    assert_int_equal(keep->refs, 1); /* the list dropped its reference, and only that */
    ckv_version_unref(keep);
}

/* ---- round trips of built structs ------------------------------------------------------ */

static void test_round_trips_of_built_messages(void **state)
{
    (void)state;
    uint64_t c[N4] = {1, 0, (uint64_t)INT64_MAX, 7};
    ckv_vclock clk = clock_of(N4, c);
    ckv_version_list vs = {0};
    assert_int_equal(ckv_version_list_push(&vs, version("a", "1", 0, 1, 2, &clk)), CKV_OK);
    assert_int_equal(ckv_version_list_push(&vs, version("a", NULL, 3, 9, 2, NULL)), CKV_OK);
    assert_int_equal(ckv_version_list_push(&vs, version("b", "", CKV_ORIGIN_BASE, 0, 0, NULL)),
                     CKV_OK);
    ckv_sbuf sb;

    ckv_wire_push p = {.epoch = INT64_MAX, .from = 3, .versions = vs}, p2;
    ckv_sbuf_init(&sb);
    ckv_wire_push_encode(&sb, &p, NULL, 0);
    assert_int_equal(ckv_wire_push_decode(sb.data, sb.len, INT64_MAX, N4, &p2), CKV_OK);
    assert_int_equal(p2.epoch, p.epoch);
    assert_int_equal(p2.from, 3);
    assert_lists_equal(&p.versions, &p2.versions);
    ckv_version_list_free(&p2.versions);
    ckv_sbuf_free(&sb);

    ckv_wire_sync s = {.epoch = 2, .from = 0, .cursor = 5, .gen = 6, .clock = clk}, s2;
    for (int wb = 0; wb < 2; wb++) {
        s.want_base = wb != 0;
        ckv_sbuf_init(&sb);
        ckv_wire_sync_encode(&sb, &s);
        assert_int_equal(ckv_wire_sync_decode(sb.data, sb.len, 2, N4, &s2), CKV_OK);
        assert_memory_equal(&s, &s2, offsetof(ckv_wire_sync, clock));
        assert_clocks_equal(&s.clock, &s2.clock);
        assert_int_equal(s.want_base, s2.want_base);
        ckv_sbuf_free(&sb);
    }

    ckv_wire_sync_reply r = {.versions = vs,
                             .epoch = 2,
                             .cursor = 99,
                             .gen = 4,
                             .restart = true,
                             .clock = clk},
                        r2;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_sync_reply_encode(&sb, &r, NULL), 99);
    assert_int_equal(ckv_wire_sync_reply_decode(sb.data, sb.len, 2, N4, &r2), CKV_OK);
    assert_lists_equal(&r.versions, &r2.versions);
    assert_int_equal(r2.cursor, 99);
    assert_int_equal(r2.gen, 4);
    assert_true(r2.restart);
    assert_clocks_equal(&r.clock, &r2.clock);
    ckv_version_list_free(&r2.versions);
    ckv_sbuf_free(&sb);

    ckv_wire_collect_reply cr = {.versions = vs, .cursor = 12, .gen = 1}, cr2;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_wire_collect_reply_encode(&sb, &cr, NULL), 12);
    assert_int_equal(ckv_wire_collect_reply_decode(sb.data, sb.len, N4, &cr2), CKV_OK);
    assert_lists_equal(&cr.versions, &cr2.versions);
    assert_int_equal(cr2.cursor, 12);
    assert_int_equal(cr2.gen, 1);
    ckv_version_list_free(&cr2.versions);
    ckv_sbuf_free(&sb);

    for (int last = 0; last < 2; last++) {
        ckv_wire_install in = {.id = 5, .versions = vs, .last = last != 0}, in2;
        ckv_sbuf_init(&sb);
        assert_int_equal(ckv_wire_install_encode(&sb, &in, NULL), last ? 0 : 1);
        assert_int_equal(ckv_wire_install_decode(sb.data, sb.len, N4, &in2), CKV_OK);
        assert_int_equal(in2.id, 5);
        assert_int_equal(in2.last, in.last);
        assert_lists_equal(&in.versions, &in2.versions);
        ckv_version_list_free(&in2.versions);
        ckv_sbuf_free(&sb);
    }
    ckv_version_list_free(&vs);

    ckv_wire_view v = {.map = make_map(6, 3, 9), .confirmed = true}, v2;
    ckv_sbuf_init(&sb);
    ckv_wire_view_encode(&sb, &v);
    assert_int_equal(ckv_wire_view_decode(sb.data, sb.len, &v2), CKV_OK);
    assert_maps_equal(&v.map, &v2.map);
    assert_true(v2.confirmed);
    ckv_sbuf_free(&sb);

    ckv_wire_stale_epoch st = {.map = make_map(64, 64, 1)}, st2;
    ckv_sbuf_init(&sb);
    ckv_wire_stale_epoch_encode(&sb, &st);
    assert_int_equal(ckv_wire_stale_epoch_decode(sb.data, sb.len, &st2), CKV_OK);
    assert_maps_equal(&st.map, &st2.map);
    ckv_sbuf_free(&sb);

    ckv_wire_prepare pp = {.id = UINT32_MAX, .map = make_map(4, 2, 5), .deadline = 0}, pp2;
    pp.old_view = make_map(3, 1, 0).view;
    char err[128];
    ckv_sbuf_init(&sb);
    ckv_wire_prepare_encode(&sb, &pp);
    assert_int_equal(ckv_wire_prepare_decode(sb.data, sb.len, &pp2, err, sizeof(err)), CKV_OK);
    assert_int_equal(pp2.id, pp.id);
    assert_maps_equal(&pp.map, &pp2.map);
    assert_true(ckv_view_equal(&pp.old_view, &pp2.old_view));
    assert_int_equal(pp2.deadline, 0);
    ckv_sbuf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_decoder_refuses_non_objects),
        cmocka_unit_test(test_every_decoder_refuses_duplicate_fields),
        cmocka_unit_test(test_push),
        cmocka_unit_test(test_push_of_another_epoch_is_read_as_far_as_its_epoch),
        cmocka_unit_test(test_push_refuses),
        cmocka_unit_test(test_bad_versions_refuse_every_carrier),
        cmocka_unit_test(test_push_cut_at_soft_bytes),
        cmocka_unit_test(test_push_reply),
        cmocka_unit_test(test_sync),
        cmocka_unit_test(test_sync_reply),
        cmocka_unit_test(test_stale_epoch),
        cmocka_unit_test(test_view_question_and_answer),
        cmocka_unit_test(test_prepare),
        cmocka_unit_test(test_small_view_change_messages),
        cmocka_unit_test(test_collect_reply),
        cmocka_unit_test(test_empty_install),
        cmocka_unit_test(test_sync_reply_chunks),
        cmocka_unit_test(test_collect_reply_chunks),
        cmocka_unit_test(test_install_chunks),
        cmocka_unit_test(test_version_list),
        cmocka_unit_test(test_round_trips_of_built_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
