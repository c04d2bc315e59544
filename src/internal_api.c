/* internal_api.c — node-to-node endpoints: who may call them, push and sync receivers.
 *
 * Internal calls come from view members (current view, or one being changed to) and,
 * when CLUSTER_SECRET is set, carry it. The secret is the real authentication; the
 * address check keeps clients from feeding replication by accident. Two exceptions:
 * any node may ask which view this one holds, and a node removed by a change it missed
 * is told the view in force when it asks for a sync, nothing more. */
#include "internal_api.h"

#include "causalkv/wire.h"
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
    if (req->ev == NULL)
        return false; /* an inner request never reaches an internal route */
    evhttp_connection_get_peer(evhttp_request_get_connection(req->ev), &host, &port);
    if (host == NULL)
        return false;
    return ckv_resolver_view_has_ip(n->resolver, &n->r.map.view, host) ||
           ckv_vc_participant_knows_ip(n, host);
}

/* A sync from an older epoch: its sender was a member before a view change it missed. */
static bool is_stale_sync(const ckv_node *n, ckv_req *req)
{
    size_t len;
    const char *body = ckv_req_body(req, &len);
    ckv_wire_sync m;
    return ckv_wire_sync_decode(body, len, n->r.map.epoch, n->r.map.view.n, &m) == CKV_OK &&
           m.epoch < n->r.map.epoch;
}

/* The asker missed a view change (it was down, and restarted with its old VIEW): tell it
 * the view in force so that it can join it (replication.c adopts it). */
static void reply_stale_epoch(ckv_node *n, ckv_req *req)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_stale_epoch m = {.map = n->r.map};
    ckv_wire_stale_epoch_encode(&b, &m);
    ckv_reply(req, 409, &b);
}

/* A replication message must come from another replica of this shard, in this epoch;
 * otherwise it is answered here (the view in force, or 409) and false returned. */
static bool from_shard_peer(ckv_node *n, ckv_req *req, uint64_t epoch, uint64_t from)
{
    if (epoch < n->r.map.epoch) {
        reply_stale_epoch(n, req);
        return false;
    }
    if (epoch != n->r.map.epoch || n->r.self < 0 || from >= n->r.map.view.n ||
        ckv_shard_map_shard_of_member(&n->r.map, (uint32_t)from) != n->r.shard ||
        from == (uint64_t)n->r.self) {
        reply_internal_error(n, req, 409, "Not a replica of this shard in this epoch");
        return false;
    }
    return true;
}

static void reply_clock(ckv_node *n, ckv_req *req)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_push_reply m = {.epoch = n->r.map.epoch, .clock = n->r.clock};
    ckv_wire_push_reply_encode(&b, &m);
    ckv_reply(req, 200, &b);
}

/* A push carries the sender's own writes in seq order; each is applied only when it is
 * the next one, so the clock stays exact and retries are harmless. */
void ckv_internal_replicate(ckv_node *n, ckv_req *req)
{
    size_t len;
    const char *body = ckv_req_body(req, &len);
    ckv_wire_push m;
    if (ckv_wire_push_decode(body, len, n->r.map.epoch, n->r.map.view.n, &m) != CKV_OK) {
        reply_internal_error(n, req, 400, "Failed to parse request body");
        return;
    }
    if (!from_shard_peer(n, req, m.epoch, m.from)) {
        ckv_version_list_free(&m.versions);
        return;
    }
    if (!ckv_persist_accepting(n->persist)) { /* the sender keeps them and tries again */
        ckv_version_list_free(&m.versions);
        reply_internal_error(n, req, 503, "Unable to satisfy request");
        return;
    }
    bool advanced = false;
    for (size_t i = 0; i < m.versions.n; i++) {
        ckv_push_result res = ckv_replica_apply_push(&n->r, (uint32_t)m.from, m.versions.v[i]);
        advanced = advanced || res == CKV_PUSH_APPLIED;
        if (res == CKV_PUSH_REFUSED)
            break; /* a gap that anti-entropy will fill */
    }
    ckv_version_list_free(&m.versions);
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
    bool restart = false;
    if (cursor != 0 && gen != ckv_store_generation(n->r.store))
        cursor = 0, restart = true; /* the table was rebuilt: slots moved, start over */
    uint32_t first = ckv_shard_map_first_replica(&n->r.map, n->r.shard);
    bool behind =
        asker->wants_base || !ckv_vclock_covers(&asker->clock, &n->r.clock, first, n->r.map.rf);
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_sync_reply m = {.epoch = n->r.map.epoch,
                             .gen = ckv_store_generation(n->r.store),
                             .restart = restart,
                             .clock = n->r.clock};
    ckv_wire_chunk chunk = {
        .store = n->r.store, .cursor = (size_t)cursor, .keep = version_not_covered, .arg = asker};
    if (behind)
        ckv_wire_sync_reply_encode(&b, &m, &chunk);
    else
        ckv_wire_sync_reply_encode(&b, &m, NULL);
    ckv_reply(req, 200, &b);
}

void ckv_internal_sync(ckv_node *n, ckv_req *req)
{
    size_t len;
    const char *body = ckv_req_body(req, &len);
    ckv_wire_sync m;
    if (ckv_wire_sync_decode(body, len, n->r.map.epoch, n->r.map.view.n, &m) != CKV_OK) {
        reply_internal_error(n, req, 400, "Failed to parse request body");
        return;
    }
    if (!from_shard_peer(n, req, m.epoch, m.from))
        return;
    uint32_t from = (uint32_t)m.from;
    uint64_t cursor = m.cursor, gen = m.gen;
    sync_asker asker = {.clock = m.clock, .wants_base = m.want_base};
    if (cursor == 0) /* the asker's own word on what it holds */
        ckv_repl_peer_told(n, from, &asker.clock);
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
