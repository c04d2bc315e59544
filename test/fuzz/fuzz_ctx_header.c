/* fuzz_ctx_header.c — libFuzzer target: the X-Causal-Context header a browser sends.
 *
 * The input is the header value. It is parsed as the node parses it, against a map of 4
 * members (10.0.0.1:13800 ...), and folded into a fixed client body as a forwarding node
 * does.
 *
 * Invariants (abort on violation):
 *  - accepted exactly when the documented rules for a "causal-context" value say so (a
 *    blank header is the empty context), and then read as that value says;
 *  - folding succeeds exactly when parsing does, and the folded body parses back (by the
 *    body's own parser) to a context >= the header's (the join never loses a counter);
 *  - the context as a reply header, found again in a reply body, is byte for byte what
 *    was formatted. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "causalkv/ctx_header.h"
#include "causalkv/json_codec.h"
#include "causalkv/sbuf.h"

static const char BODY[] = "{\"value\":\"v\",\"causal-context\":{\"epoch\":7,\"clock\":"
                           "{\"10.0.0.2:13800\":3}}}";

static const ckv_shard_map *the_map(void)
{
    static ckv_shard_map m;
    static int ready;
    if (!ready) {
        make_map(&m, 4, 2, 7);
        ready = 1;
    }
    return &m;
}

static int blank(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != ' ' && d[i] != '\t')
            return 0;
    return 1;
}

static void check_fold(const char *h, size_t n, const ckv_context *ctx, int parsed)
{
    ckv_sbuf out;
    ckv_sbuf_init(&out);
    int rc = ckv_ctx_header_fold(BODY, sizeof(BODY) - 1, h, n, the_map()->epoch, &out);
    CHECK(rc == (parsed ? CKV_OK : CKV_ERROR) || rc == CKV_NOMEM);
    if (rc == CKV_OK) {
        ckv_client_body b;
        CHECK(ckv_client_body_parse(out.data, out.len, the_map(), &b) == CKV_OK);
        CHECK(b.has_value && b.value_len == 1);
        CHECK(b.ctx.epoch >= ctx->epoch);
        if (b.ctx.epoch == ctx->epoch)
            CHECK(ckv_vclock_leq(&ctx->clock, &b.ctx.clock));
        ckv_client_body_free(&b);
    }
    ckv_sbuf_free(&out);
}

static void check_reply_round_trip(const ckv_context *ctx)
{
    ckv_sbuf v, reply;
    ckv_sbuf_init(&v);
    ckv_sbuf_init(&reply);
    ckv_ctx_header_format(&v, the_map(), ctx);
    ckv_sbuf_adds(&reply, "{\"message\":\"m\"");
    ckv_json_add_context(&reply, true, the_map(), ctx);
    ckv_sbuf_adds(&reply, ",\"address\":\"10.0.0.1:13800\"}");
    CHECK(!ckv_sbuf_failed(&v) && !ckv_sbuf_failed(&reply));
    size_t at, len;
    CHECK(ckv_ctx_header_find_in_reply(reply.data, reply.len, &at, &len));
    CHECK(len == v.len && memcmp(reply.data + at, v.data, len) == 0);
    ckv_sbuf_free(&v);
    ckv_sbuf_free(&reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *h = malloc(size + 1); /* exactly sized (+ a NUL the parser must not need) */
    CHECK(h != NULL);
    if (size > 0)
        memcpy(h, data, size);
    h[size] = '\0';

    json_error_t jerr;
    json_t *ref = blank(data, size) ? json_null()
                                    : json_loadb(h, size, DECODE_FLAGS | JSON_DECODE_ANY, &jerr);
    int want_ok = ref != NULL && context_valid(ref);

    ckv_context ctx;
    int rc = ckv_ctx_header_parse(h, size, the_map(), &ctx);
    CHECK(rc == CKV_OK || rc == CKV_ERROR);
    CHECK((rc == CKV_OK) == (want_ok != 0));
    CHECK(ctx.clock.n == the_map()->view.n);
    if (rc == CKV_OK) {
        check_context_in_view(ref, the_map(), &ctx);
        check_reply_round_trip(&ctx);
    }
    check_fold(h, size, &ctx, rc == CKV_OK);
    json_decref(ref);
    free(h);
    return 0;
}
