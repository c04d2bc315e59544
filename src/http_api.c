/* http_api.c — client endpoints: route, validate, run against the store, reply. */
#include "causalkv/node.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"

#define KEYS_PREFIX "/kv-store/keys"
#define SHARDS_PREFIX "/kv-store/shards/"
/* the request line is bounded by MAX_HEADER_BYTES, so a decoded key is too */
#define KEY_DECODE_MAX (64u << 10)

enum key_op { OP_GET, OP_PUT, OP_DELETE };

const char *ckv_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "UNKNOWN";
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    }
    return "Unknown";
}

static enum ckv_endpoint endpoint_of(const char *uri)
{
    if (strncmp(uri, CKV_INTERNAL_PREFIX, strlen(CKV_INTERNAL_PREFIX)) == 0)
        return CKV_EP_INTERNAL;
    if (strncmp(uri, KEYS_PREFIX, strlen(KEYS_PREFIX)) == 0)
        return CKV_EP_KEYS;
    if (strncmp(uri, "/kv-store/key-count", 19) == 0)
        return CKV_EP_KEY_COUNT;
    if (strncmp(uri, SHARDS_PREFIX, strlen(SHARDS_PREFIX)) == 0)
        return CKV_EP_SHARD;
    if (strncmp(uri, "/kv-store/shards", 16) == 0)
        return CKV_EP_SHARDS;
    if (strncmp(uri, "/kv-store/view-change", 21) == 0)
        return CKV_EP_VIEW_CHANGE;
    return CKV_EP_OTHER;
}

static void free_stolen(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

void ckv_reply(ckv_node *n, struct evhttp_request *req, int status, ckv_sbuf *body)
{
    if (ckv_sbuf_failed(body)) {
        ckv_sbuf_free(body);
        ckv_sbuf_init(body);
        ckv_sbuf_adds(body,
                      "{\"message\":\"Error\",\"error\":\"Out of memory\",\"causal-context\":{}}");
        status = 500;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    size_t len;
    char *data = ckv_sbuf_steal(body, &len);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    if (data != NULL && evbuffer_add_reference(out, data, len, free_stolen, NULL) != 0)
        free(data);
    double elapsed = (double)ckv_now_ms() / 1000.0 - n->cur_start;
    ckv_metrics_observe(&n->metrics, endpoint_of(evhttp_request_get_uri(req)), status, elapsed);
    ckv_conn_replied(n, req);
    evhttp_send_reply(req, status, reason_phrase(status), NULL);
}

void ckv_reply_error(ckv_node *n, struct evhttp_request *req, int status, const char *error,
                     const ckv_context *ctx)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"message\":\"Error in ");
    ckv_sbuf_adds(&b, ckv_method_name(evhttp_request_get_command(req)));
    ckv_sbuf_adds(&b, "\",\"error\":");
    ckv_sbuf_add_json_str(&b, error, strlen(error));
    if (status == 404 && strcmp(error, "Key does not exist") == 0)
        ckv_sbuf_adds(&b, ",\"doesExist\":false");
    ckv_json_add_context(&b, true, &n->map, ctx);
    ckv_sbuf_addc(&b, '}');
    ckv_reply(n, req, status, &b);
}

const char *ckv_request_body(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);
    return *len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
}

static void context_normalise(const ckv_node *n, ckv_context *ctx)
{
    /* causality is guaranteed within an epoch: an older context counts as empty */
    if (ctx->epoch < n->map.epoch) {
        ctx->epoch = n->map.epoch;
        ckv_vclock_init(&ctx->clock, n->map.view.n);
    }
}

void ckv_request_context(ckv_node *n, struct evhttp_request *req, ckv_context *ctx)
{
    size_t len;
    const char *body = ckv_request_body(req, &len);
    ckv_client_body b;
    if (ckv_client_body_parse(body, len, &n->map, &b) != CKV_OK || b.ctx.epoch > n->map.epoch) {
        ctx->epoch = n->map.epoch;
        ckv_vclock_init(&ctx->clock, n->map.view.n);
    } else {
        *ctx = b.ctx;
        context_normalise(n, ctx);
    }
    ckv_client_body_free(&b);
}

static void reply_not_allowed(ckv_node *n, struct evhttp_request *req, const char *allow)
{
    ckv_context ctx;
    ckv_request_context(n, req, &ctx);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    ckv_reply_error(n, req, 405, "Method not allowed", &ctx);
}

/* Parses the client body; on failure answers (400/413) and returns CKV_ERROR. */
static int parse_client_body(ckv_node *n, struct evhttp_request *req, ckv_client_body *b)
{
    size_t len;
    const char *body = ckv_request_body(req, &len);
    ckv_context empty = {.epoch = n->map.epoch};
    ckv_vclock_init(&empty.clock, n->map.view.n);
    if (len > n->cfg.max_body_bytes) {
        memset(b, 0, sizeof(*b));
        ckv_reply_error(n, req, 413, "Request body is too large", &empty);
        return CKV_ERROR;
    }
    if (ckv_client_body_parse(body, len, &n->map, b) != CKV_OK) {
        ckv_client_body_free(b);
        ckv_reply_error(n, req, 400, "Failed to parse request body", &empty);
        return CKV_ERROR;
    }
    return CKV_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes a path segment ('+' stays '+'); malformed escapes are kept literally. */
static size_t percent_decode(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi = in[i] == '%' && i + 2 < len ? hex_value(in[i + 1]) : -1;
        int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
        if (lo >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    return o;
}

static void merge_version_into(ckv_vclock *c, const ckv_version *v)
{
    if (v == NULL)
        return;
    if (v->origin != CKV_ORIGIN_BASE && v->origin < c->n && c->c[v->origin] < v->seq)
        c->c[v->origin] = v->seq;
    ckv_vclock_merge_deps(c, v->deps);
}

static void reply_key_result(ckv_node *n, struct evhttp_request *req, int status, const char *head,
                             const ckv_version *value, const ckv_context *ctx)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, head);
    if (value != NULL) {
        ckv_sbuf_adds(&b, ",\"value\":");
        ckv_sbuf_add_json_str(&b, ckv_version_value(value), value->value_len);
    }
    ckv_json_add_context(&b, true, &n->map, ctx);
    ckv_sbuf_addc(&b, '}');
    ckv_reply(n, req, status, &b);
}

static void key_get(ckv_node *n, struct evhttp_request *req, const char *key, size_t klen,
                    ckv_context *ctx)
{
    const ckv_version *v = ckv_store_get(n->store, key, klen);
    merge_version_into(&ctx->clock, v);
    if (v != NULL && !v->tombstone)
        reply_key_result(n, req, 200, "{\"message\":\"Retrieved successfully\",\"doesExist\":true",
                         v, ctx);
    else
        ckv_reply_error(n, req, 404, "Key does not exist", ctx);
}

/* A new local write (value or tombstone): next own dot, Lamport above the key's. */
static int local_write(ckv_node *n, const char *key, size_t klen, const char *value, size_t vlen,
                       bool tombstone, const ckv_version *cur, ckv_context *ctx)
{
    uint32_t self = (uint32_t)n->self;
    uint64_t seq = n->clock.c[self] + 1;
    uint64_t lamport = (cur != NULL && cur->lamport > n->lamport ? cur->lamport : n->lamport) + 1;
    ckv_deps *deps = ckv_deps_new(&ctx->clock);
    if (deps == NULL && !ckv_vclock_is_zero(&ctx->clock))
        return CKV_NOMEM;
    ckv_version *v =
        ckv_version_new(key, klen, value, vlen, tombstone, (uint16_t)self, seq, lamport, deps);
    ckv_deps_unref(deps);
    if (v == NULL)
        return CKV_NOMEM;
    int rc = ckv_store_join(n->store, v);
    if (rc == CKV_OK) {
        n->clock.c[self] = seq;
        n->lamport = lamport;
        ckv_repl_on_local_write(n, v);
        if (ctx->clock.c[self] < seq)
            ctx->clock.c[self] = seq;
    }
    ckv_version_unref(v);
    return rc == CKV_OK ? CKV_OK : CKV_NOMEM;
}

static void key_put(ckv_node *n, struct evhttp_request *req, const char *key, size_t klen,
                    const ckv_client_body *b, ckv_context *ctx)
{
    const ckv_version *cur = ckv_store_get(n->store, key, klen);
    bool created = cur == NULL || cur->tombstone;
    if (local_write(n, key, klen, b->value, b->value_len, false, cur, ctx) != CKV_OK) {
        ckv_reply_error(n, req, 500, "Out of memory", ctx);
        return;
    }
    if (created)
        reply_key_result(n, req, 201, "{\"message\":\"Added successfully\",\"replaced\":false",
                         NULL, ctx);
    else
        reply_key_result(n, req, 200, "{\"message\":\"Updated successfully\",\"replaced\":true",
                         NULL, ctx);
}

static void key_delete(ckv_node *n, struct evhttp_request *req, const char *key, size_t klen,
                       ckv_context *ctx)
{
    const ckv_version *cur = ckv_store_get(n->store, key, klen);
    if (cur == NULL || cur->tombstone) {
        merge_version_into(&ctx->clock, cur);
        ckv_reply_error(n, req, 404, "Key does not exist", ctx);
        return;
    }
    if (local_write(n, key, klen, NULL, 0, true, cur, ctx) != CKV_OK) {
        ckv_reply_error(n, req, 500, "Out of memory", ctx);
        return;
    }
    reply_key_result(n, req, 200, "{\"message\":\"Deleted successfully\",\"doesExist\":true", NULL,
                     ctx);
}

/* Readiness (SPEC 5): every replica's counter of the context is reflected here. */
static bool key_op_ready(const ckv_node *n, const ckv_context *ctx, enum key_op op)
{
    if (!n->view_confirmed || !n->has_base || n->bootstrapping || ctx->epoch > n->map.epoch)
        return false;
    if ((n->frozen || n->counter_pending) && op != OP_GET)
        return false;
    uint32_t first = ckv_shard_map_first_replica(&n->map, n->my_shard);
    return ckv_vclock_covers(&n->clock, &ctx->clock, first, n->map.rf);
}

/* The proxy's deadline of a forwarded request (0 when not forwarded or not given). */
static uint64_t forwarded_deadline(struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), CKV_HDR_DEADLINE);
    uint64_t v = 0;
    for (; h != NULL && *h >= '0' && *h <= '9' && v < UINT64_MAX / 10; h++)
        v = v * 10 + (uint64_t)(*h - '0');
    return v;
}

static void wait_or_give_up(ckv_node *n, struct evhttp_request *req, uint64_t deadline,
                            const ckv_context *ctx)
{
    uint64_t now = ckv_now_ms();
    if (deadline == 0)
        deadline = now + n->cfg.causal_timeout_ms;
    uint64_t proxy_gives_up = forwarded_deadline(req);
    if (proxy_gives_up != 0 && proxy_gives_up < deadline)
        deadline = proxy_gives_up; /* nobody waits for the answer after that */
    if (now >= deadline) {
        n->metrics.causal_timeouts++;
        ckv_reply_error(n, req, 503, "Unable to satisfy request", ctx);
        return;
    }
    ckv_node_park(n, req, deadline);
    ckv_repl_pull_now(n);
}

static int validate_key(ckv_node *n, struct evhttp_request *req, const char *key, size_t klen)
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
    ckv_request_context(n, req, &ctx);
    ckv_reply_error(n, req, 400, error, &ctx);
    return CKV_ERROR;
}

static void key_local(ckv_node *n, struct evhttp_request *req, enum key_op op, const char *key,
                      size_t klen, uint64_t deadline)
{
    ckv_client_body b;
    uint64_t proxy_gives_up = forwarded_deadline(req);
    if (proxy_gives_up != 0 && ckv_now_ms() >= proxy_gives_up) {
        /* the proxy has moved on (perhaps to another replica): running it now could
         * apply a write the client already saw fail, after its later writes */
        ckv_context ctx;
        ckv_request_context(n, req, &ctx);
        ckv_reply_error(n, req, 503, "Unable to satisfy request", &ctx);
        return;
    }
    if (validate_key(n, req, key, klen) != CKV_OK || parse_client_body(n, req, &b) != CKV_OK)
        return;
    ckv_context ctx = b.ctx;
    context_normalise(n, &ctx);
    if (op == OP_PUT && (!b.has_value || b.value_len == 0)) {
        ckv_reply_error(n, req, 400, "Value is missing", &ctx);
    } else if (op == OP_PUT && b.value_len > n->cfg.max_value_bytes) {
        ckv_reply_error(n, req, 413, "Value is too large", &ctx);
    } else if (!key_op_ready(n, &ctx, op)) {
        if (ctx.epoch > n->map.epoch) /* a view change not committed here yet */
            ckv_request_context(n, req, &ctx);
        wait_or_give_up(n, req, deadline, &ctx);
    } else if (op == OP_GET) {
        key_get(n, req, key, klen, &ctx);
    } else if (op == OP_PUT) {
        key_put(n, req, key, klen, &b, &ctx);
    } else {
        key_delete(n, req, key, klen, &ctx);
    }
    ckv_client_body_free(&b);
}

static bool is_forwarded(struct evhttp_request *req)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req), CKV_HDR_FORWARDED) != NULL;
}

/* Forwards to another shard, except a request that was already forwarded once: views
 * disagree (a change in progress), and a second hop could loop. */
static void forward_or_refuse(ckv_node *n, struct evhttp_request *req, uint32_t shard)
{
    if (!is_forwarded(req)) {
        ckv_proxy_forward(n, req, shard);
        return;
    }
    ckv_context ctx;
    ckv_request_context(n, req, &ctx);
    ckv_reply_error(n, req, 503, "Unable to satisfy request", &ctx);
}

static void handle_key(ckv_node *n, struct evhttp_request *req, const char *raw, size_t raw_len,
                       uint64_t deadline)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    enum key_op op;
    if (m == EVHTTP_REQ_GET)
        op = OP_GET;
    else if (m == EVHTTP_REQ_PUT)
        op = OP_PUT;
    else if (m == EVHTTP_REQ_DELETE)
        op = OP_DELETE;
    else {
        reply_not_allowed(n, req, "GET, PUT, DELETE");
        return;
    }

    char small[256];
    char *key = raw_len < sizeof(small) ? small : malloc(raw_len + 1);
    if (key == NULL || raw_len > KEY_DECODE_MAX) {
        ckv_context ctx;
        ckv_request_context(n, req, &ctx);
        ckv_reply_error(n, req, 400, "Key is too long", &ctx);
    } else {
        size_t klen = percent_decode(raw, raw_len, key);
        uint32_t shard = ckv_shard_map_owner(&n->map, key, klen);
        if (n->self < 0 || shard != n->my_shard)
            forward_or_refuse(n, req, shard);
        else
            key_local(n, req, op, key, klen, deadline);
    }
    if (key != small)
        free(key);
}

/* Shard answers come from this node's view, which must be the one in force: until it is
 * confirmed (membership.c) the request waits; re-dispatched, it runs again from the
 * start. True when it was parked (or answered 503). */
static bool wait_for_view(ckv_node *n, struct evhttp_request *req, uint64_t deadline)
{
    if (n->view_confirmed)
        return false;
    ckv_context ctx;
    ckv_request_context(n, req, &ctx);
    wait_or_give_up(n, req, deadline, &ctx);
    return true;
}

static void reply_simple(ckv_node *n, struct evhttp_request *req, const char *head,
                         ckv_sbuf *fields)
{
    ckv_client_body b;
    if (parse_client_body(n, req, &b) != CKV_OK)
        return;
    ckv_context ctx = b.ctx;
    ckv_client_body_free(&b);
    context_normalise(n, &ctx); /* a newer epoch's context goes back as it came */
    ckv_sbuf out;
    ckv_sbuf_init(&out);
    ckv_sbuf_adds(&out, head);
    ckv_sbuf_add(&out, fields->data, fields->len);
    ckv_json_add_context(&out, true, &n->map, &ctx);
    ckv_sbuf_addc(&out, '}');
    ckv_reply(n, req, 200, &out);
}

static void handle_key_count(ckv_node *n, struct evhttp_request *req, uint64_t deadline)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        reply_not_allowed(n, req, "GET");
        return;
    }
    if (wait_for_view(n, req, deadline))
        return;
    ckv_sbuf f;
    ckv_sbuf_init(&f);
    ckv_sbuf_adds(&f, ",\"key-count\":");
    ckv_sbuf_add_u64(&f, n->self >= 0 ? ckv_store_live_count(n->store) : 0);
    ckv_sbuf_adds(&f, ",\"shard-id\":");
    ckv_sbuf_add_u64(&f, n->my_shard);
    reply_simple(n, req, "{\"message\":\"Key count retrieved successfully\"", &f);
    ckv_sbuf_free(&f);
}

static void handle_shards(ckv_node *n, struct evhttp_request *req, uint64_t deadline)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        reply_not_allowed(n, req, "GET");
        return;
    }
    if (wait_for_view(n, req, deadline))
        return;
    ckv_sbuf f;
    ckv_sbuf_init(&f);
    ckv_sbuf_adds(&f, ",\"shards\":[");
    for (uint32_t s = 1; s <= n->map.shards; s++) {
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

static void handle_shard(ckv_node *n, struct evhttp_request *req, const char *id, size_t len,
                         uint64_t deadline)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        reply_not_allowed(n, req, "GET");
        return;
    }
    if (wait_for_view(n, req, deadline))
        return;
    uint64_t shard = parse_shard_id(id, len);
    if (!ckv_shard_map_has_shard(&n->map, shard)) {
        ckv_context ctx;
        ckv_request_context(n, req, &ctx);
        ckv_reply_error(n, req, 404, "Shard does not exist", &ctx);
        return;
    }
    if (shard != n->my_shard) {
        forward_or_refuse(n, req, (uint32_t)shard);
        return;
    }
    ckv_sbuf f;
    ckv_sbuf_init(&f);
    ckv_sbuf_adds(&f, ",\"shard-id\":");
    ckv_sbuf_add_u64(&f, shard);
    ckv_sbuf_adds(&f, ",\"key-count\":");
    ckv_sbuf_add_u64(&f, ckv_store_live_count(n->store));
    ckv_sbuf_adds(&f, ",\"replicas\":[");
    uint32_t first = ckv_shard_map_first_replica(&n->map, (uint32_t)shard);
    for (uint32_t i = 0; i < n->map.rf; i++) {
        if (i > 0)
            ckv_sbuf_addc(&f, ',');
        const char *a = n->map.view.addrs[first + i];
        ckv_sbuf_add_json_str(&f, a, strlen(a));
    }
    ckv_sbuf_addc(&f, ']');
    reply_simple(n, req, "{\"message\":\"Shard information retrieved successfully\"", &f);
    ckv_sbuf_free(&f);
}

static void handle_not_found(ckv_node *n, struct evhttp_request *req)
{
    ckv_context ctx;
    ckv_request_context(n, req, &ctx);
    ckv_reply_error(n, req, 404, "Not found", &ctx);
}

static bool path_is(const char *path, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(path, want, len) == 0;
}

void ckv_http_dispatch(ckv_node *n, struct evhttp_request *req, uint64_t deadline_ms)
{
    const char *uri = evhttp_request_get_uri(req);
    const char *q = strchr(uri, '?');
    size_t len = q != NULL ? (size_t)(q - uri) : strlen(uri);
    size_t kp = strlen(KEYS_PREFIX);

    if (len >= kp && memcmp(uri, KEYS_PREFIX, kp) == 0 && (len == kp || uri[kp] == '/'))
        handle_key(n, req, uri + kp + (len > kp), len - kp - (len > kp), deadline_ms);
    else if (path_is(uri, len, "/kv-store/key-count"))
        handle_key_count(n, req, deadline_ms);
    else if (path_is(uri, len, "/kv-store/shards"))
        handle_shards(n, req, deadline_ms);
    else if (len > strlen(SHARDS_PREFIX) && memcmp(uri, SHARDS_PREFIX, strlen(SHARDS_PREFIX)) == 0)
        handle_shard(n, req, uri + strlen(SHARDS_PREFIX), len - strlen(SHARDS_PREFIX), deadline_ms);
    else if (path_is(uri, len, "/kv-store/view-change"))
        evhttp_request_get_command(req) == EVHTTP_REQ_PUT ? ckv_view_change_client(n, req)
                                                          : reply_not_allowed(n, req, "PUT");
    else if (len > strlen(CKV_INTERNAL_PREFIX) &&
             memcmp(uri, CKV_INTERNAL_PREFIX, strlen(CKV_INTERNAL_PREFIX)) == 0)
        ckv_internal_dispatch(n, req, uri + strlen(CKV_INTERNAL_PREFIX));
    else if (path_is(uri, len, "/metrics"))
        ckv_metrics_serve(n, req);
    else if (path_is(uri, len, "/healthz"))
        ckv_health_serve(n, req);
    else
        handle_not_found(n, req);
}

void ckv_http_gencb(struct evhttp_request *req, void *arg)
{
    ckv_node *n = arg;
    uint64_t now = ckv_now_ms();
    n->cur_start = (double)now / 1000.0;
    ckv_membership_check_stall(n, now);
    if (!ckv_conn_admit(n, req)) {
        ckv_context ctx = {.epoch = n->map.epoch};
        ckv_vclock_init(&ctx.clock, n->map.view.n);
        ckv_reply_error(n, req, 503, "Too many connections", &ctx);
        return;
    }
    ckv_http_dispatch(n, req, 0);
}
