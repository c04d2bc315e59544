/* kv_api.c — the client endpoints: keys, key count, shards. Validate, run against the
 * replica (or forward to the owning shard), reply. */
#include "kv_api.h"
#include "proxy.h"
#include "replication.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/ctx_header.h"
#include "causalkv/log.h"

/* the request line is bounded by MAX_HEADER_BYTES, so a decoded key is too */
#define KEY_DECODE_MAX (64u << 10)

/* Parses the client body; on failure answers (400/413) and returns CKV_ERROR. */
static int parse_client_body(ckv_node *n, ckv_req *req, ckv_client_body *b)
{
    size_t len;
    const char *body = ckv_req_body(req, &len);
    ckv_context empty = {.epoch = n->r.map.epoch};
    ckv_vclock_init(&empty.clock, n->r.map.view.n);
    if (len > n->cfg.max_body_bytes) {
        memset(b, 0, sizeof(*b));
        ckv_reply_error(req, 413, "Request body is too large", &n->r.map, &empty);
        return CKV_ERROR;
    }
    ckv_context header;
    int hrc = ckv_req_header_context(req, &n->r.map, &header);
    /* a bad header is refused exactly like a bad body: it is the same context */
    if (ckv_client_body_parse(body, len, &n->r.map, b) != CKV_OK || hrc == CKV_ERROR) {
        ckv_client_body_free(b);
        ckv_reply_error(req, 400, "Failed to parse request body", &n->r.map, &empty);
        return CKV_ERROR;
    }
    if (hrc == CKV_OK)
        ckv_context_join(&b->ctx, &header);
    return CKV_OK;
}

/* Percent-decodes a path segment ('+' stays '+'); malformed escapes are kept literally. */
static size_t percent_decode(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi = in[i] == '%' && i + 2 < len ? ckv_hex_digit(in[i + 1]) : -1;
        int lo = hi >= 0 ? ckv_hex_digit(in[i + 2]) : -1;
        if (lo >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    return o;
}

static void reply_key_result(ckv_node *n, ckv_req *req, int status, const char *head,
                             const ckv_version *value, const ckv_context *ctx, bool wrote)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, head);
    if (value != NULL) {
        ckv_sbuf_adds(&b, ",\"value\":");
        ckv_sbuf_add_json_str(&b, ckv_version_value(value), value->value_len);
    }
    ckv_json_add_context(&b, true, &n->r.map, ctx);
    ckv_sbuf_addc(&b, '}');
    if (wrote && n->persist != NULL)
        ckv_persist_reply(n->persist, req, status, &b); /* once the journal has it */
    else
        ckv_reply(req, status, &b);
}

static void key_get(ckv_node *n, ckv_req *req, const char *key, size_t klen, ckv_context *ctx)
{
    const ckv_version *v = ckv_replica_read(&n->r, key, klen, ctx);
    if (v != NULL && !v->tombstone)
        reply_key_result(n, req, 200, "{\"message\":\"Retrieved successfully\",\"doesExist\":true",
                         v, ctx, false);
    else
        ckv_reply_error(req, 404, "Key does not exist", &n->r.map, ctx);
}

/* What a write found, as the reply's first fields: index by write_found(). */
static const char *const write_heads[] = {
    "{\"message\":\"Added successfully\",\"replaced\":false",
    "{\"message\":\"Updated successfully\",\"replaced\":true",
    "{\"message\":\"Deleted successfully\",\"doesExist\":true",
    /* only without the history: the tombstone is written although the key held nothing
     * here, since it may be live in the client's view */
    "{\"message\":\"Deleted successfully\",\"doesExist\":false",
};

static size_t write_found(bool del, const ckv_write_info *found)
{
    return del ? (found->replaced ? 2 : 3) : (found->replaced ? 1 : 0);
}

static void key_write(ckv_node *n, ckv_req *req, const char *key, size_t klen,
                      const ckv_client_body *b, ckv_op op, ckv_context *ctx)
{
    bool del = op == CKV_OP_DELETE;
    if (!ckv_persist_accepting(n->persist)) {
        ckv_reply_error(req, 503, "Unable to satisfy request", &n->r.map, ctx);
        return;
    }
    ckv_write_info found;
    int rc = ckv_replica_write(&n->r, key, klen, del ? NULL : b->value, del ? 0 : b->value_len, del,
                               ctx, NULL, &found);
    if (rc == CKV_DECLINED) {
        ckv_reply_error(req, 404, "Key does not exist", &n->r.map, ctx);
        return;
    }
    if (rc != CKV_OK) {
        ckv_reply_error(req, 500, "Out of memory", &n->r.map, ctx);
        return;
    }
    ckv_repl_on_local_write(n);
    if (found.partial)
        n->metrics.writes_without_history++;
    const char *head = write_heads[write_found(del, &found)];
    char flagged[128];
    if (found.partial) { /* what it found is this replica's word, not the client's view */
        snprintf(flagged, sizeof(flagged), "%s,\"partial-history\":true", head);
        head = flagged;
    }
    reply_key_result(n, req, del || found.replaced ? 200 : 201, head, NULL, ctx, true);
}

/* The proxy's deadline of a forwarded request (0 when not forwarded or not given). */
static uint64_t forwarded_deadline(const ckv_req *req)
{
    const char *h = ckv_req_header(req, CKV_HDR_DEADLINE);
    uint64_t v = 0;
    for (; h != NULL && *h >= '0' && *h <= '9' && v < UINT64_MAX / 10; h++)
        v = v * 10 + (uint64_t)(*h - '0');
    return v;
}

/* Waits for progress (clock advance, epoch change, unfreeze, confirmed view) until the
 * request's deadline (the causal timeout from its first wait, or the proxy's deadline
 * when that is sooner), then runs it again; 503 at the deadline. */
static void wait_for_progress(ckv_node *n, ckv_req *req, const ckv_context *ctx)
{
    uint64_t now = ckv_now_ms();
    if (req->wait_deadline_ms == 0)
        req->wait_deadline_ms = now + n->cfg.causal_timeout_ms;
    uint64_t proxy_gives_up = forwarded_deadline(req);
    if (proxy_gives_up != 0 && proxy_gives_up < req->wait_deadline_ms)
        req->wait_deadline_ms = proxy_gives_up; /* nobody waits for the answer after that */
    if (now >= req->wait_deadline_ms || n->shutting_down || ckv_park_add(n->park, req) != CKV_OK) {
        n->metrics.causal_timeouts++;
        ckv_reply_error(req, 503, "Unable to satisfy request", &n->r.map, ctx);
        return;
    }
    n->metrics.causal_waits++;
    ckv_repl_pull_now(n);
}

static bool is_forwarded(const ckv_req *req);
static int fold_header_context(ckv_node *n, ckv_req *req);

/* A read forwarded for its history came back unserved: it waits here instead. */
static void wait_here(ckv_node *n, ckv_req *req)
{
    ckv_context ctx;
    ckv_req_context(req, &n->r.map, &ctx);
    wait_for_progress(n, req, &ctx);
}

/* A read this replica cannot serve only because it lacks part of the history goes to a
 * replica of the shard that holds it (by the clocks the replicas last told), once, within
 * the request's causal wait; the pull still runs, so this node catches up meanwhile.
 * True when it was sent there. */
static bool forward_for_history(ckv_node *n, ckv_req *req, ckv_op op, const ckv_context *ctx)
{
    uint32_t peers[CKV_VIEW_MAX];
    if (op != CKV_OP_GET || req->tried_other_replica || is_forwarded(req) ||
        !ckv_replica_serving(&n->r, op))
        return false;
    uint32_t count = ckv_repl_peers_with_history(n, ctx, peers);
    if (count == 0)
        return false;
    uint64_t now = ckv_now_ms();
    if (req->wait_deadline_ms == 0)
        req->wait_deadline_ms = now + n->cfg.causal_timeout_ms;
    if (now >= req->wait_deadline_ms)
        return false; /* the wait answers it */
    if (fold_header_context(n, req) != CKV_OK)
        return true; /* answered: a bad header */
    req->tried_other_replica = true;
    n->metrics.reads_forwarded_for_history++;
    ckv_repl_pull_now(n);
    /* half the wait at most: a replica that hangs leaves time to be served here */
    uint64_t until = now + (req->wait_deadline_ms - now + 1) / 2;
    ckv_proxy_forward_read(n, req, peers, count, until, wait_here);
    return true;
}

static int validate_key(ckv_node *n, ckv_req *req, const char *key, size_t klen)
{
    ckv_context ctx;
    const char *error = NULL;
    if (klen == 0)
        error = "Key is missing";
    else if (klen > CKV_KEY_MAX)
        error = "Key is too long";
    else if (!ckv_utf8_valid(key, klen))
        error = "Key is not valid UTF-8";
    if (error == NULL)
        return CKV_OK;
    ckv_req_context(req, &n->r.map, &ctx);
    ckv_reply_error(req, 400, error, &n->r.map, &ctx);
    return CKV_ERROR;
}

static void key_local(ckv_node *n, ckv_req *req, ckv_op op, const char *key, size_t klen)
{
    ckv_client_body b;
    uint64_t proxy_gives_up = forwarded_deadline(req);
    if (proxy_gives_up != 0 && ckv_now_ms() >= proxy_gives_up) {
        /* the proxy has moved on (perhaps to another replica): running it now could
         * apply a write the client already saw fail, after its later writes */
        ckv_context ctx;
        ckv_req_context(req, &n->r.map, &ctx);
        ckv_reply_error(req, 503, "Unable to satisfy request", &n->r.map, &ctx);
        return;
    }
    if (validate_key(n, req, key, klen) != CKV_OK || parse_client_body(n, req, &b) != CKV_OK)
        return;
    ckv_context ctx = b.ctx;
    ckv_replica_normalise(&n->r, &ctx);
    if (op == CKV_OP_PUT && (!b.has_value || b.value_len == 0)) {
        ckv_reply_error(req, 400, "Value is missing", &n->r.map, &ctx);
    } else if (op == CKV_OP_PUT && b.value_len > n->cfg.max_value_bytes) {
        ckv_reply_error(req, 413, "Value is too large", &n->r.map, &ctx);
    } else if (!ckv_replica_ready(&n->r, &ctx, op)) {
        if (ctx.epoch > n->r.map.epoch) /* a view change not committed here yet */
            ckv_req_context(req, &n->r.map, &ctx);
        if (!forward_for_history(n, req, op, &ctx))
            wait_for_progress(n, req, &ctx);
    } else if (op == CKV_OP_GET) {
        key_get(n, req, key, klen, &ctx);
    } else {
        key_write(n, req, key, klen, &b, op, &ctx);
    }
    ckv_client_body_free(&b);
}

static bool is_forwarded(const ckv_req *req)
{
    return ckv_req_header(req, CKV_HDR_FORWARDED) != NULL;
}

/* The proxy forwards the body, not the headers: a context sent in X-Causal-Context
 * moves into the body first, or the owner would serve the request without it. CKV_ERROR
 * when it has answered (a bad header: 400, as the owner would say of a bad body). */
static int fold_header_context(ckv_node *n, ckv_req *req)
{
    const char *h = ckv_req_context_header(req);
    if (h == NULL)
        return CKV_OK;
    size_t len;
    const char *body = ckv_req_body(req, &len);
    ckv_sbuf folded;
    ckv_sbuf_init(&folded);
    int rc = ckv_ctx_header_fold(body, len, h, strlen(h), n->r.map.epoch, &folded);
    if (rc == CKV_OK)
        rc = ckv_req_set_body(req, &folded) == CKV_OK ? CKV_OK : CKV_NOMEM;
    else
        ckv_sbuf_free(&folded);
    if (rc == CKV_OK || rc == CKV_DECLINED) /* declined: the owner refuses the body itself */
        return CKV_OK;
    if (rc == CKV_ERROR)
        ckv_node_reply_error(n, req, 400, "Failed to parse request body");
    else
        ckv_node_reply_error(n, req, 500, "Out of memory");
    return CKV_ERROR;
}

/* Forwards to another shard, except a request that was already forwarded once: views
 * disagree (a change in progress), and a second hop could loop. */
static void forward_or_refuse(ckv_node *n, ckv_req *req, uint32_t shard)
{
    if (!is_forwarded(req)) {
        if (fold_header_context(n, req) == CKV_OK)
            ckv_proxy_forward(n, req, shard);
        return;
    }
    ckv_context ctx;
    ckv_req_context(req, &n->r.map, &ctx);
    ckv_reply_error(req, 503, "Unable to satisfy request", &n->r.map, &ctx);
}

void ckv_kv_key(ckv_node *n, ckv_req *req, const char *raw, size_t raw_len)
{
    enum evhttp_cmd_type m = ckv_req_method(req);
    ckv_op op = m == EVHTTP_REQ_GET ? CKV_OP_GET : m == EVHTTP_REQ_PUT ? CKV_OP_PUT : CKV_OP_DELETE;
    char small[256];
    char *key = raw_len < sizeof(small) ? small : malloc(raw_len + 1);
    if (key == NULL || raw_len > KEY_DECODE_MAX) {
        ckv_context ctx;
        ckv_req_context(req, &n->r.map, &ctx);
        ckv_reply_error(req, 400, "Key is too long", &n->r.map, &ctx);
    } else {
        size_t klen = percent_decode(raw, raw_len, key);
        uint32_t shard = ckv_shard_map_owner(&n->r.map, key, klen);
        if (n->r.self < 0 || shard != n->r.shard)
            forward_or_refuse(n, req, shard);
        else
            key_local(n, req, op, key, klen);
    }
    if (key != small)
        free(key);
}

/* Shard answers come from this node's view, which must be the one in force: until it is
 * confirmed (membership.c) the request waits; re-dispatched, it runs again from the
 * start. True when it was parked (or answered 503). */
static bool wait_for_view(ckv_node *n, ckv_req *req)
{
    if (n->r.view_confirmed)
        return false;
    ckv_context ctx;
    ckv_req_context(req, &n->r.map, &ctx);
    wait_for_progress(n, req, &ctx);
    return true;
}

static void reply_simple(ckv_node *n, ckv_req *req, const char *head, ckv_sbuf *fields)
{
    ckv_client_body b;
    if (parse_client_body(n, req, &b) != CKV_OK)
        return;
    ckv_context ctx = b.ctx;
    ckv_client_body_free(&b);
    ckv_replica_normalise(&n->r, &ctx); /* a newer epoch's context goes back as it came */
    ckv_sbuf out;
    ckv_sbuf_init(&out);
    ckv_sbuf_adds(&out, head);
    ckv_sbuf_add(&out, fields->data, fields->len);
    ckv_json_add_context(&out, true, &n->r.map, &ctx);
    ckv_sbuf_addc(&out, '}');
    ckv_reply(req, 200, &out);
}

void ckv_kv_key_count(ckv_node *n, ckv_req *req)
{
    if (wait_for_view(n, req))
        return;
    ckv_sbuf f;
    ckv_sbuf_init(&f);
    ckv_sbuf_adds(&f, ",\"key-count\":");
    ckv_sbuf_add_u64(&f, n->r.self >= 0 ? ckv_store_live_count(n->r.store) : 0);
    ckv_sbuf_adds(&f, ",\"shard-id\":");
    ckv_sbuf_add_u64(&f, n->r.shard);
    reply_simple(n, req, "{\"message\":\"Key count retrieved successfully\"", &f);
    ckv_sbuf_free(&f);
}

void ckv_kv_shards(ckv_node *n, ckv_req *req)
{
    if (wait_for_view(n, req))
        return;
    ckv_sbuf f;
    ckv_sbuf_init(&f);
    ckv_sbuf_adds(&f, ",\"shards\":[");
    for (uint32_t s = 1; s <= n->r.map.shards; s++) {
        if (s > 1)
            ckv_sbuf_addc(&f, ',');
        ckv_sbuf_add_u64(&f, s);
    }
    ckv_sbuf_addc(&f, ']');
    reply_simple(n, req, "{\"message\":\"Shard membership retrieved successfully\"", &f);
    ckv_sbuf_free(&f);
}

/* Shard ids are decimal numbers ("01" is 1); anything else names no shard. */
static uint64_t parse_shard_id(const char *s, size_t len)
{
    uint64_t v = 0;
    if (len == 0 || len > 18)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v;
}

void ckv_kv_shard(ckv_node *n, ckv_req *req, const char *id, size_t len)
{
    if (wait_for_view(n, req))
        return;
    uint64_t shard = parse_shard_id(id, len);
    if (!ckv_shard_map_has_shard(&n->r.map, shard)) {
        ckv_context ctx;
        ckv_req_context(req, &n->r.map, &ctx);
        ckv_reply_error(req, 404, "Shard does not exist", &n->r.map, &ctx);
        return;
    }
    if (shard != n->r.shard) {
        forward_or_refuse(n, req, (uint32_t)shard);
        return;
    }
    ckv_sbuf f;
    ckv_sbuf_init(&f);
    ckv_sbuf_adds(&f, ",\"shard-id\":");
    ckv_sbuf_add_u64(&f, shard);
    ckv_sbuf_adds(&f, ",\"key-count\":");
    ckv_sbuf_add_u64(&f, ckv_store_live_count(n->r.store));
    ckv_sbuf_adds(&f, ",\"replicas\":[");
    uint32_t first = ckv_shard_map_first_replica(&n->r.map, (uint32_t)shard);
    for (uint32_t i = 0; i < n->r.map.rf; i++) {
        if (i > 0)
            ckv_sbuf_addc(&f, ',');
        const char *a = n->r.map.view.addrs[first + i];
        ckv_sbuf_add_json_str(&f, a, strlen(a));
    }
    ckv_sbuf_addc(&f, ']');
    reply_simple(n, req, "{\"message\":\"Shard information retrieved successfully\"", &f);
    ckv_sbuf_free(&f);
}

void ckv_kv_not_found(ckv_node *n, ckv_req *req)
{
    ckv_context ctx;
    ckv_req_context(req, &n->r.map, &ctx);
    ckv_reply_error(req, 404, "Not found", &n->r.map, &ctx);
}
