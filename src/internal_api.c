/* internal_api.c — node-to-node endpoints: who may call them, push and sync receivers.
 *
 * Internal calls come from view members (current view, or one being changed to) and,
 * when CLUSTER_SECRET is set, carry it. The secret is the real authentication; the
 * address check keeps clients from feeding replication by accident. Two exceptions:
 * any node may ask which view this one holds, and a node removed by a change it missed
 * is told the view in force when it asks for a sync, nothing more. */
#include "internal_api.h"
#include "replication.h"
#include "vc_participant.h"

#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"

static void reply_internal_error(ckv_node *n, ckv_req *req, int status, const char *error)
{
    ckv_context ctx = {.epoch = n->r.map.epoch};
    ckv_vclock_init(&ctx.clock, n->r.map.view.n);
    ckv_reply_error(req, status, error, &n->r.map, &ctx);
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

static bool secret_ok(const ckv_node *n, ckv_req *req)
{
    if (n->cfg.cluster_secret[0] == '\0')
        return true;
    const char *got = ckv_req_header(req, CKV_HDR_SECRET);
    return secret_matches(n->cfg.cluster_secret, got);
}

static bool caller_is_member(ckv_node *n, ckv_req *req)
{
    char *host = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req->ev), &host, &port);
    if (host == NULL)
        return false;
    return ckv_view_has_ip(&n->r.map.view, host) || ckv_vc_participant_knows_ip(n, host);
}

/* A sync from an older epoch: its sender was a member before a view change it missed. */
static bool is_stale_sync(const ckv_node *n, ckv_req *req)
{
    uint64_t epoch;
    size_t len;
    const char *body = ckv_req_body(req, &len);
    json_t *msg = ckv_json_parse_message(body, len);
    bool stale =
        msg != NULL && ckv_json_get_u64(msg, "epoch", &epoch) == CKV_OK && epoch < n->r.map.epoch;
    json_decref(msg);
    return stale;
}

/* The asker missed a view change (it was down, and restarted with its old VIEW): tell it
 * the view in force so that it can join it (replication.c adopts it). */
static void reply_stale_epoch(ckv_node *n, ckv_req *req)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"message\":\"Error in POST\",\"error\":\"Stale epoch\",\"epoch\":");
    ckv_sbuf_add_u64(&b, n->r.map.epoch);
    ckv_sbuf_adds(&b, ",\"repl-factor\":");
    ckv_sbuf_add_u64(&b, n->r.map.rf);
    ckv_sbuf_adds(&b, ",\"view\":");
    ckv_json_add_view(&b, &n->r.map.view);
    ckv_sbuf_adds(&b, ",\"causal-context\":{}}");
    ckv_reply(req, 409, &b);
}

/* Parses a message of this epoch from a replica of this node's shard. */
static json_t *shard_message(ckv_node *n, ckv_req *req, uint32_t *from)
{
    size_t len;
    const char *body = ckv_req_body(req, &len);
    json_t *msg = ckv_json_parse_message(body, len);
    uint64_t epoch, f;
    if (msg == NULL || ckv_json_get_u64(msg, "epoch", &epoch) != CKV_OK ||
        ckv_json_get_u64(msg, "from", &f) != CKV_OK) {
        json_decref(msg);
        reply_internal_error(n, req, 400, "Failed to parse request body");
        return NULL;
    }
    if (epoch < n->r.map.epoch) {
        json_decref(msg);
        reply_stale_epoch(n, req);
        return NULL;
    }
    if (epoch != n->r.map.epoch || n->r.self < 0 || f >= n->r.map.view.n ||
        ckv_shard_map_shard_of_member(&n->r.map, (uint32_t)f) != n->r.shard ||
        f == (uint64_t)n->r.self) {
        json_decref(msg);
        reply_internal_error(n, req, 409, "Not a replica of this shard in this epoch");
        return NULL;
    }
    *from = (uint32_t)f;
    return msg;
}

static void reply_clock(ckv_node *n, ckv_req *req)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"epoch\":");
    ckv_sbuf_add_u64(&b, n->r.map.epoch);
    ckv_sbuf_adds(&b, ",\"clock\":");
    ckv_json_add_clock_array(&b, &n->r.clock);
    ckv_sbuf_addc(&b, '}');
    ckv_reply(req, 200, &b);
}

/* A push carries the sender's own writes in seq order; each is applied only when it is
 * the next one, so the clock stays exact and retries are harmless. */
void ckv_internal_replicate(ckv_node *n, ckv_req *req)
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
        ckv_version *v = ckv_json_version_decode(item, n->r.map.view.n);
        ckv_push_result res = v != NULL ? ckv_replica_apply_push(&n->r, from, v) : CKV_PUSH_REFUSED;
        ckv_version_unref(v);
        advanced = advanced || res == CKV_PUSH_APPLIED;
        if (res == CKV_PUSH_REFUSED)
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
static void sync_answer(ckv_node *n, ckv_req *req, const sync_asker *asker, uint64_t cursor,
                        uint64_t gen)
{
    uint64_t restart = 0;
    if (cursor != 0 && gen != ckv_store_generation(n->r.store))
        cursor = 0, restart = 1; /* the table was rebuilt: slots moved, start over */
    uint32_t first = ckv_shard_map_first_replica(&n->r.map, n->r.shard);
    bool behind =
        asker->wants_base || !ckv_vclock_covers(&asker->clock, &n->r.clock, first, n->r.map.rf);
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"versions\":[");
    size_t next = behind ? ckv_json_add_store_chunk(&b, n->r.store, (size_t)cursor, false,
                                                    version_not_covered, asker)
                         : 0;
    ckv_sbuf_adds(&b, "],\"epoch\":");
    ckv_sbuf_add_u64(&b, n->r.map.epoch);
    ckv_sbuf_adds(&b, ",\"cursor\":");
    ckv_sbuf_add_u64(&b, next);
    ckv_sbuf_adds(&b, ",\"gen\":");
    ckv_sbuf_add_u64(&b, ckv_store_generation(n->r.store));
    ckv_sbuf_adds(&b, ",\"restart\":");
    ckv_sbuf_add_u64(&b, restart);
    ckv_sbuf_adds(&b, ",\"clock\":");
    ckv_json_add_clock_array(&b, &n->r.clock);
    ckv_sbuf_addc(&b, '}');
    ckv_reply(req, 200, &b);
}

void ckv_internal_sync(ckv_node *n, ckv_req *req)
{
    uint32_t from;
    json_t *msg = shard_message(n, req, &from);
    if (msg == NULL)
        return;
    sync_asker asker;
    uint64_t cursor, gen, wants_base = 0;
    ckv_json_get_u64(msg, "want-base", &wants_base); /* absent: it has the base */
    asker.wants_base = wants_base != 0;
    if (ckv_json_clock_array_decode(json_object_get(msg, "clock"), n->r.map.view.n, &asker.clock) !=
            CKV_OK ||
        ckv_json_get_u64(msg, "cursor", &cursor) != CKV_OK ||
        ckv_json_get_u64(msg, "gen", &gen) != CKV_OK) {
        json_decref(msg);
        reply_internal_error(n, req, 400, "Failed to parse request body");
        return;
    }
    json_decref(msg);
    ckv_repl_sync_map(n);
    if (cursor == 0) /* the asker's own word on what it holds of this node's writes */
        n->repl[from].acked = asker.clock.c[n->r.self];
    sync_answer(n, req, &asker, cursor, gen);
    ckv_repl_push_all(n);
}

bool ckv_internal_caller_allowed(ckv_node *n, ckv_req *req, bool members_only)
{
    return secret_ok(n, req) && (!members_only || caller_is_member(n, req));
}

void ckv_internal_foreign_sync(ckv_node *n, ckv_req *req)
{
    if (is_stale_sync(n, req))
        reply_stale_epoch(n, req);
    else
        reply_internal_error(n, req, 403, "Forbidden");
}
