/* internal_api.c — node-to-node endpoints: who may call them, push and sync receivers. */
#include "causalkv/node.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"

static void reply_internal_error(ckv_node *n, struct evhttp_request *req, int status,
                                 const char *error)
{
    ckv_context ctx = {.epoch = n->map.epoch};
    ckv_vclock_init(&ctx.clock, n->map.view.n);
    ckv_reply_error(n, req, status, error, &ctx);
}

/* Compares without an early exit, so timing does not reveal a prefix of the secret. */
static bool secret_matches(const char *want, const char *got)
{
    size_t wl = strlen(want), gl = got != NULL ? strlen(got) : 0;
    unsigned char diff = (unsigned char)(wl != gl);
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? got[i] : 0));
    return diff == 0;
}

static bool secret_ok(const ckv_node *n, struct evhttp_request *req)
{
    if (n->cfg.cluster_secret[0] == '\0')
        return true;
    const char *got = evhttp_find_header(evhttp_request_get_input_headers(req), CKV_HDR_SECRET);
    return secret_matches(n->cfg.cluster_secret, got);
}

static bool caller_is_member(ckv_node *n, struct evhttp_request *req)
{
    char *host = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
    if (host == NULL)
        return false;
    return ckv_view_has_ip(&n->map.view, host) || ckv_view_change_knows_ip(n, host);
}

/* A sync from an older epoch: its sender was a member before a view change it missed. */
static bool is_stale_sync(const ckv_node *n, struct evhttp_request *req, const char *path)
{
    uint64_t epoch;
    size_t len;
    if (strncmp(path, "sync", 4) != 0 || (path[4] != '\0' && path[4] != '?'))
        return false;
    const char *body = ckv_request_body(req, &len);
    json_t *msg = ckv_json_parse_message(body, len);
    bool stale =
        msg != NULL && ckv_json_get_u64(msg, "epoch", &epoch) == CKV_OK && epoch < n->map.epoch;
    json_decref(msg);
    return stale;
}

/* The asker missed a view change (it was down, and restarted with its old VIEW): tell it
 * the view in force so that it can join it (replication.c adopts it). */
static void reply_stale_epoch(ckv_node *n, struct evhttp_request *req)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"message\":\"Error in POST\",\"error\":\"Stale epoch\",\"epoch\":");
    ckv_sbuf_add_u64(&b, n->map.epoch);
    ckv_sbuf_adds(&b, ",\"repl-factor\":");
    ckv_sbuf_add_u64(&b, n->map.rf);
    ckv_sbuf_adds(&b, ",\"view\":");
    ckv_json_add_view(&b, &n->map.view);
    ckv_sbuf_adds(&b, ",\"causal-context\":{}}");
    ckv_reply(n, req, 409, &b);
}

/* Parses a message of this epoch from a replica of this node's shard. */
static json_t *shard_message(ckv_node *n, struct evhttp_request *req, uint32_t *from)
{
    size_t len;
    const char *body = ckv_request_body(req, &len);
    json_t *msg = ckv_json_parse_message(body, len);
    uint64_t epoch, f;
    if (msg == NULL || ckv_json_get_u64(msg, "epoch", &epoch) != CKV_OK ||
        ckv_json_get_u64(msg, "from", &f) != CKV_OK) {
        json_decref(msg);
        reply_internal_error(n, req, 400, "Failed to parse request body");
        return NULL;
    }
    if (epoch < n->map.epoch) {
        json_decref(msg);
        reply_stale_epoch(n, req);
        return NULL;
    }
    if (epoch != n->map.epoch || n->self < 0 || f >= n->map.view.n ||
        ckv_shard_map_shard_of_member(&n->map, (uint32_t)f) != n->my_shard ||
        f == (uint64_t)n->self) {
        json_decref(msg);
        reply_internal_error(n, req, 409, "Not a replica of this shard in this epoch");
        return NULL;
    }
    *from = (uint32_t)f;
    return msg;
}

static void reply_clock(ckv_node *n, struct evhttp_request *req)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"epoch\":");
    ckv_sbuf_add_u64(&b, n->map.epoch);
    ckv_sbuf_adds(&b, ",\"clock\":");
    ckv_json_add_clock_array(&b, &n->clock);
    ckv_sbuf_addc(&b, '}');
    ckv_reply(n, req, 200, &b);
}

/* A push carries the sender's own writes in seq order; each is applied only when it is
 * the next one, so the clock stays exact and retries are harmless. */
static void handle_replicate(ckv_node *n, struct evhttp_request *req)
{
    uint32_t from;
    json_t *msg = shard_message(n, req, &from);
    if (msg == NULL)
        return;
    json_t *versions = json_object_get(msg, "versions");
    bool advanced = false;
    size_t i;
    json_t *item;
    json_array_foreach(versions, i, item)
    {
        ckv_version *v = ckv_json_version_decode(item, n->map.view.n);
        bool next = v != NULL && v->origin == from && v->seq == n->clock.c[from] + 1;
        bool duplicate = v != NULL && v->origin == from && v->seq <= n->clock.c[from];
        if (next) {
            ckv_repl_apply(n, v);
            n->clock.c[from] = v->seq;
            advanced = true;
        }
        ckv_version_unref(v);
        if (!next && !duplicate)
            break; /* malformed, or a gap that anti-entropy will fill */
    }
    json_decref(msg);
    if (advanced)
        ckv_node_wake(n);
    reply_clock(n, req);
}

typedef struct sync_asker {
    ckv_vclock clock;
    bool wants_base; /* it joined this epoch late and lacks the state the epoch began with */
} sync_asker;

/* What the asker lacks: versions whose dot its clock does not cover, and the base
 * versions when it asked for them. */
static bool version_not_covered(const ckv_version *v, const void *arg)
{
    const sync_asker *a = arg;
    if (v->origin == CKV_ORIGIN_BASE)
        return a->wants_base;
    return !(v->origin < a->clock.n && v->seq <= a->clock.c[v->origin]);
}

/* Answers with the versions the asker's clock does not cover, from cursor on, cut at
 * CKV_BATCH_SOFT_BYTES; cursor 0 in the reply means done. */
static void sync_answer(ckv_node *n, struct evhttp_request *req, const sync_asker *asker,
                        uint64_t cursor, uint64_t gen)
{
    uint64_t restart = 0;
    if (cursor != 0 && gen != ckv_store_generation(n->store))
        cursor = 0, restart = 1; /* the table was rebuilt: slots moved, start over */
    uint32_t first = ckv_shard_map_first_replica(&n->map, n->my_shard);
    bool behind =
        asker->wants_base || !ckv_vclock_covers(&asker->clock, &n->clock, first, n->map.rf);
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"versions\":[");
    size_t next = behind ? ckv_json_add_store_chunk(&b, n->store, (size_t)cursor, false,
                                                    version_not_covered, asker)
                         : 0;
    ckv_sbuf_adds(&b, "],\"epoch\":");
    ckv_sbuf_add_u64(&b, n->map.epoch);
    ckv_sbuf_adds(&b, ",\"cursor\":");
    ckv_sbuf_add_u64(&b, next);
    ckv_sbuf_adds(&b, ",\"gen\":");
    ckv_sbuf_add_u64(&b, ckv_store_generation(n->store));
    ckv_sbuf_adds(&b, ",\"restart\":");
    ckv_sbuf_add_u64(&b, restart);
    ckv_sbuf_adds(&b, ",\"clock\":");
    ckv_json_add_clock_array(&b, &n->clock);
    ckv_sbuf_addc(&b, '}');
    ckv_reply(n, req, 200, &b);
}

static void handle_sync(ckv_node *n, struct evhttp_request *req)
{
    uint32_t from;
    json_t *msg = shard_message(n, req, &from);
    if (msg == NULL)
        return;
    sync_asker asker;
    uint64_t cursor, gen, wants_base = 0;
    ckv_json_get_u64(msg, "want-base", &wants_base); /* absent: it has the base */
    asker.wants_base = wants_base != 0;
    if (ckv_json_clock_array_decode(json_object_get(msg, "clock"), n->map.view.n, &asker.clock) !=
            CKV_OK ||
        ckv_json_get_u64(msg, "cursor", &cursor) != CKV_OK ||
        ckv_json_get_u64(msg, "gen", &gen) != CKV_OK) {
        json_decref(msg);
        reply_internal_error(n, req, 400, "Failed to parse request body");
        return;
    }
    json_decref(msg);
    if (cursor == 0) /* the asker's own word on what it holds of this node's writes */
        n->repl[from].acked = asker.clock.c[n->self];
    sync_answer(n, req, &asker, cursor, gen);
    ckv_repl_push_all(n);
}

void ckv_internal_dispatch(ckv_node *n, struct evhttp_request *req, const char *path)
{
    /* Internal calls come from view members (current view, or one being changed to) and,
     * when CLUSTER_SECRET is set, carry it. The secret is the real authentication; the
     * address check keeps clients from feeding replication by accident. One exception:
     * a node removed by a change it missed is told the view in force, nothing more. */
    if (!secret_ok(n, req)) {
        reply_internal_error(n, req, 403, "Forbidden");
        return;
    }
    const char *q = strchr(path, '?');
    size_t len = q != NULL ? (size_t)(q - path) : strlen(path);
    /* which view this node holds: asked by nodes that are not members (yet) too */
    bool view_question = len == 4 && memcmp(path, "view", 4) == 0;
    if (!view_question && !caller_is_member(n, req)) {
        if (is_stale_sync(n, req, path))
            reply_stale_epoch(n, req);
        else
            reply_internal_error(n, req, 403, "Forbidden");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        reply_internal_error(n, req, 405, "Method not allowed");
        return;
    }
    if (view_question)
        ckv_membership_serve(n, req);
    else if (len == 9 && memcmp(path, "replicate", 9) == 0)
        handle_replicate(n, req);
    else if (len == 4 && memcmp(path, "sync", 4) == 0)
        handle_sync(n, req);
    else if (len > 5 && memcmp(path, "view/", 5) == 0)
        ckv_view_change_internal(n, req, path + 5);
    else
        reply_internal_error(n, req, 404, "Not found");
}
