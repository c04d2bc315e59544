/* fuzz_client_body.c — libFuzzer target: a client request body (/kvs/<key> PUT, GET,
 * DELETE), parsed against a fixed 4-node map, then the same root as a view-change body.
 *
 * Invariants (abort on violation):
 *  - ckv_client_body_parse accepts exactly what json_codec.h documents (checked against
 *    an independent reading of the same JSON), whether the body scanner or jansson read it;
 *  - the parsed value and context are what the JSON says, and both survive a round trip
 *    through the reply encoders (ckv_sbuf_add_json_str, ckv_json_add_context);
 *  - ckv_view_change_body_parse only accepts a valid view: normalised members, no
 *    duplicates, 1..CKV_VIEW_MAX members, rf >= 1 dividing n; on error err says why. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "causalkv/json_codec.h"
#include "../../src/json_read.h"
#include "causalkv/sbuf.h"
#include "causalkv/shard_map.h"
#include "causalkv/view.h"

static const ckv_shard_map *fixed_map(void)
{
    static ckv_shard_map map;
    static int ready;
    if (!ready) {
        make_map(&map, 4, 2, 7); /* 10.0.0.1:13800 .. 10.0.0.4:13800 */
        ready = 1;
    }
    return &map;
}

/* {"causal-context":{...}} as the node would send it parses back to the same context. */
static void check_context_round_trip(const ckv_shard_map *map, const ckv_context *ctx)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_addc(&b, '{');
    ckv_json_add_context(&b, false, map, ctx);
    ckv_sbuf_addc(&b, '}');
    CHECK(!ckv_sbuf_failed(&b));
    ckv_client_body again;
    CHECK(ckv_client_body_parse(b.data, b.len, map, &again) == CKV_OK);
    CHECK(!again.has_value);
    CHECK(again.ctx.epoch == ctx->epoch);
    CHECK(again.ctx.clock.n == ctx->clock.n);
    for (uint32_t i = 0; i < ctx->clock.n; i++)
        CHECK(again.ctx.clock.c[i] == ctx->clock.c[i]);
    CHECK(again.ctx.has_lamport == ctx->has_lamport && again.ctx.lamport == ctx->lamport);
    ckv_client_body_free(&again);
    ckv_sbuf_free(&b);
}

/* A value echoed in a reply ({"value": ...}) reads back byte for byte. */
static void check_value_round_trip(const char *value, size_t len, const ckv_shard_map *map)
{
    CHECK(ckv_utf8_valid(value, len)); /* jansson validated it; the encoder relies on it */
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"value\":");
    ckv_sbuf_add_json_str(&b, value, len);
    ckv_sbuf_addc(&b, '}');
    CHECK(!ckv_sbuf_failed(&b));
    ckv_client_body again;
    CHECK(ckv_client_body_parse(b.data, b.len, map, &again) == CKV_OK);
    CHECK(again.has_value && again.value_len == len);
    CHECK(len == 0 || memcmp(again.value, value, len) == 0);
    ckv_client_body_free(&again);
    ckv_sbuf_free(&b);
}

static void check_view(const ckv_view *v)
{
    CHECK(v->n >= 1 && v->n <= CKV_VIEW_MAX);
    for (uint32_t i = 0; i < v->n; i++) {
        char norm[CKV_ADDR_MAX];
        CHECK(memchr(v->addrs[i], '\0', CKV_ADDR_MAX) != NULL);
        CHECK(ckv_addr_parse(v->addrs[i], strlen(v->addrs[i]), norm) == CKV_OK);
        CHECK(strcmp(norm, v->addrs[i]) == 0);
        CHECK(ckv_view_index_of(v, v->addrs[i]) == (int)i); /* no duplicates */
    }
}

static void check_view_change(const json_t *root)
{
    ckv_view view;
    long rf = -12345;
    char err[256];
    err[0] = '\0';
    int rc = ckv_view_change_body_parse(root, &view, &rf, err, sizeof(err));
    CHECK(rc == CKV_OK || rc == CKV_ERROR);
    if (rc != CKV_OK) {
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return;
    }
    CHECK(json_is_object(root));
    check_strings_whole(root);
    check_view(&view);
    CHECK(rf >= 1 && view.n % (unsigned long)rf == 0);
    ckv_shard_map m;
    CHECK(ckv_shard_map_init(&m, &view, rf, 1, err, sizeof(err)) == CKV_OK);
    CHECK(m.shards == view.n / (uint32_t)rf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ckv_shard_map *map = fixed_map();
    ckv_client_body body;
    int rc = ckv_client_body_parse((const char *)data, size, map, &body);
    CHECK(rc == CKV_OK || rc == CKV_ERROR);
    CHECK(body.ctx.clock.n == map->view.n);

    json_t *ref = NULL; /* an independent reading of the same JSON */
    if (size == 0) {
        CHECK(rc == CKV_OK && ckv_client_body_json(&body) == NULL && !body.has_value &&
              body.value == NULL);
        CHECK(body.ctx.epoch == map->epoch && ckv_vclock_is_zero(&body.ctx.clock));
    } else {
        /* What the documented rules say about this body. */
        json_error_t jerr;
        ref = json_loadb((const char *)data, size, DECODE_FLAGS, &jerr);
        int want_ok = json_is_object(ref);
        json_t *value = want_ok ? json_object_get(ref, "value") : NULL;
        json_t *ctxj = want_ok ? json_object_get(ref, "causal-context") : NULL;
        if (want_ok && value != NULL && !json_is_string(value) && !json_is_null(value))
            want_ok = 0;
        if (want_ok && !context_valid(ctxj))
            want_ok = 0;
        CHECK((rc == CKV_OK) == (want_ok != 0));
        if (rc == CKV_OK) {
            /* the tree is kept only when jansson read the body, not the scanner */
            CHECK(ckv_client_body_json(&body) == NULL ||
                  json_is_object(ckv_client_body_json(&body)));
            CHECK(body.has_value == (json_is_string(value) != 0));
            if (body.has_value) {
                CHECK(body.value != NULL && body.value_len == json_string_length(value));
                CHECK(body.value_len == 0 ||
                      memcmp(body.value, json_string_value(value), body.value_len) == 0);
                check_value_round_trip(body.value, body.value_len, map);
            } else {
                CHECK(body.value == NULL);
            }
            check_context_in_view(ctxj, map, &body.ctx);
            check_context_round_trip(map, &body.ctx);
        }
    }

    /* The same root as a view-change body (PUT /kvs/view-change carries one object). */
    check_view_change(ref);
    json_decref(ref);
    ckv_client_body_free(&body);
    CHECK(ckv_client_body_json(&body) == NULL && body.value == NULL);
    ckv_client_body_free(&body); /* freeing twice is harmless */
    return 0;
}
