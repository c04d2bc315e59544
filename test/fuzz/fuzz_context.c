/* fuzz_context.c — libFuzzer target: the causal context a client sends back.
 *
 * The input is the context value itself; it is parsed the way the node sees it, inside
 * a body {"causal-context": <input>}, against three maps (1, 4 and 64 members
 * 10.0.0.1:13800, 10.0.0.2:13800, ...; different epochs), since the context's meaning
 * depends on the view.
 *
 * Invariants (abort on violation):
 *  - accepted exactly when the documented rules say so (null, "" or an object whose
 *    "epoch", "lamport" and "clock" counters are non-negative integers);
 *  - the clock has the view's size; addresses of the view get their counter, others are
 *    dropped; a missing epoch is the map's epoch;
 *  - the context as the node encodes it in replies parses back to the same context. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "causalkv/json_codec.h"
#include "causalkv/sbuf.h"
#include "causalkv/shard_map.h"
#include "causalkv/view.h"

#define MAP_COUNT 3

static const char PREFIX[] = "{\"causal-context\":";

static const ckv_shard_map *maps(void)
{
    static ckv_shard_map m[MAP_COUNT];
    static int ready;
    if (!ready) {
        make_map(&m[0], 1, 1, 0);
        make_map(&m[1], 4, 2, 7);
        make_map(&m[2], CKV_VIEW_MAX, 4, (uint64_t)1 << 40);
        ready = 1;
    }
    return m;
}

static void check_context(const json_t *c, const ckv_shard_map *map, const ckv_context *ctx)
{
    check_context_in_view(c, map, ctx);
    for (uint32_t i = map->view.n; i < CKV_VIEW_MAX; i++)
        CHECK(ctx->clock.c[i] == 0); /* nothing stored outside the view */
}

static void check_round_trip(const ckv_shard_map *map, const ckv_context *ctx)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"value\":\"x\"");
    ckv_json_add_context(&b, true, map, ctx);
    ckv_sbuf_addc(&b, '}');
    CHECK(!ckv_sbuf_failed(&b));
    ckv_client_body again;
    CHECK(ckv_client_body_parse(b.data, b.len, map, &again) == CKV_OK);
    CHECK(again.has_value && again.value_len == 1 && again.value[0] == 'x');
    CHECK(again.ctx.epoch == ctx->epoch && again.ctx.clock.n == ctx->clock.n);
    for (uint32_t i = 0; i < ctx->clock.n; i++)
        CHECK(again.ctx.clock.c[i] == ctx->clock.c[i]);
    CHECK(again.ctx.has_lamport == ctx->has_lamport && again.ctx.lamport == ctx->lamport);
    ckv_client_body_free(&again);
    ckv_sbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t plen = sizeof(PREFIX) - 1;
    if (size > SIZE_MAX - plen - 1)
        return 0;
    /* Exactly sized, so that ASan sees any read past the end. */
    size_t len = plen + size + 1;
    char *buf = malloc(len);
    CHECK(buf != NULL);
    memcpy(buf, PREFIX, plen);
    if (size > 0)
        memcpy(buf + plen, data, size);
    buf[len - 1] = '}';

    json_error_t jerr;
    json_t *ref = json_loadb(buf, len, DECODE_FLAGS, &jerr);
    int is_obj = json_is_object(ref);
    json_t *value = is_obj ? json_object_get(ref, "value") : NULL;
    json_t *cj = is_obj ? json_object_get(ref, "causal-context") : NULL;
    int want_ok = is_obj && (value == NULL || json_is_string(value) || json_is_null(value)) &&
                  context_valid(cj);

    const ckv_shard_map *m = maps();
    for (int i = 0; i < MAP_COUNT; i++) {
        ckv_client_body body;
        int rc = ckv_client_body_parse(buf, len, &m[i], &body);
        CHECK(rc == CKV_OK || rc == CKV_ERROR);
        CHECK((rc == CKV_OK) == (want_ok != 0));
        CHECK(body.ctx.clock.n == m[i].view.n);
        if (rc == CKV_OK) {
            check_context(cj, &m[i], &body.ctx);
            check_round_trip(&m[i], &body.ctx);
        }
        ckv_client_body_free(&body);
    }
    json_decref(ref);
    free(buf);
    return 0;
}
