/* replication.c — pushing own writes to the shard's replicas, and anti-entropy (sync).
 *
 * Push: each replica is sent this node's log entries after the last seq it acknowledged,
 * one message in flight per peer, batching whatever accumulated. Sync: on the one
 * housekeeping timer (and at once when a request waits), each replica is sent this
 * node's clock; it answers with every version whose dot that clock does not cover, in
 * chunks, and its clock, which this node then adopts (pointwise max). */
#include "replication.h"

#include "causalkv/wire.h"

#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"

/* What this node knows about one replica of its own shard. */
typedef struct repl_peer {
    uint64_t acked; /* highest own seq the peer is known to hold */
    bool push_inflight;
    bool sync_inflight;
    bool synced_once;       /* answered (or failed) one full sync since start/epoch */
    ckv_vclock sync_target; /* responder's clock at the first chunk of a sync */
    uint64_t sync_cursor;
    uint64_t sync_gen;
    ckv_vclock known; /* the peer's clock as it last told it (valid when known_valid) */
    bool known_valid;
} repl_peer;

struct ckv_replication {
    repl_peer peers[CKV_VIEW_MAX]; /* by view index in the replica's map of map_gen */
    uint64_t map_gen;
    const ckv_version **push_batch; /* REPL_BATCH entries, reused by every push */
    struct event *push_ev;          /* pushes new writes once per loop iteration */
    uint64_t bootstrap_deadline_ms; /* reads stop waiting for a replica (given the base) */
};

static void on_push_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ckv_repl_push_all(arg);
}

ckv_replication *ckv_repl_new(ckv_node *n)
{
    ckv_replication *rs = calloc(1, sizeof(*rs));
    if (rs == NULL)
        return NULL;
    rs->push_batch = calloc(n->cfg.repl_batch, sizeof(*rs->push_batch));
    rs->push_ev = event_new(n->base, -1, 0, on_push_event, n);
    if (rs->push_batch == NULL || rs->push_ev == NULL) {
        ckv_repl_free(rs);
        return NULL;
    }
    return rs;
}

void ckv_repl_free(ckv_replication *rs)
{
    if (rs == NULL)
        return;
    if (rs->push_ev != NULL)
        event_free(rs->push_ev);
    free(rs->push_batch);
    free(rs);
}

typedef struct repl_call {
    ckv_node *n;
    uint32_t peer;
    uint64_t map_gen; /* peer indexes into the map of that generation */
    size_t versions;  /* in the push this call carries */
} repl_call;

static repl_call *repl_call_new(ckv_node *n, uint32_t peer)
{
    repl_call *c = malloc(sizeof(*c));
    if (c != NULL) {
        c->n = n;
        c->peer = peer;
        c->map_gen = n->r.map_gen;
        c->versions = 0;
    }
    return c;
}

/* True when the reply belongs to the node's current map and the node keeps going. */
static bool repl_call_current(const repl_call *c)
{
    return !c->n->shutting_down && c->map_gen == c->n->r.map_gen && c->n->r.self >= 0;
}

/* Resets the peer table when the replica has installed another map since. */
static void sync_map(ckv_node *n)
{
    if (n->repl->map_gen != n->r.map_gen) {
        memset(n->repl->peers, 0, sizeof(n->repl->peers));
        n->repl->map_gen = n->r.map_gen;
    }
}

void ckv_repl_on_local_write(ckv_node *n)
{
    if (ckv_replica_has_peers(&n->r))
        event_active(n->repl->push_ev, EV_TIMEOUT,
                     0); /* once per loop iteration, batching writes */
}

static void push_peer(ckv_node *n, uint32_t peer);

static void on_push_reply(int status, const char *body, size_t len, void *arg)
{
    repl_call *c = arg;
    ckv_node *n = c->n;
    bool current = repl_call_current(c);
    if (current)
        n->repl->peers[c->peer].push_inflight = false;
    ckv_wire_push_reply reply;
    if (current && status == 200 &&
        ckv_wire_push_reply_decode(body, len, n->r.map.epoch, n->r.map.view.n, &reply) == CKV_OK &&
        reply.epoch == n->r.map.epoch) {
        ckv_repl_peer_told(n, c->peer, &reply.clock);
        n->metrics.pushes++;
        n->metrics.pushed_versions += c->versions;
        if (n->repl->peers[c->peer].acked < ckv_wlog_last_seq(n->r.wlog))
            push_peer(n, c->peer);
    }
    free(c);
}

static void push_peer(ckv_node *n, uint32_t peer)
{
    repl_peer *rp = &n->repl->peers[peer];
    if (rp->push_inflight || rp->acked >= ckv_wlog_last_seq(n->r.wlog))
        return;
    const ckv_version **batch = n->repl->push_batch;
    size_t count = ckv_wlog_after(n->r.wlog, rp->acked, batch, n->cfg.repl_batch);
    if (count == (size_t)-1 || count == 0)
        return; /* the peer is behind the log: anti-entropy repairs it */
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_push head = {.epoch = n->r.map.epoch, .from = (uint64_t)n->r.self};
    ckv_wire_push_encode(&b, &head, batch, count);
    repl_call *c = repl_call_new(n, peer);
    if (c != NULL)
        c->versions = count;
    if (c != NULL && !ckv_sbuf_failed(&b) &&
        ckv_peer_send(n->pool, n->r.map.view.addrs[peer], EVHTTP_REQ_POST,
                      CKV_INTERNAL_PREFIX "replicate", b.data, b.len, n->cfg.proxy_timeout_ms, 0,
                      on_push_reply, c) == CKV_OK)
        rp->push_inflight = true;
    else
        free(c);
    ckv_sbuf_free(&b);
}

/* Calls fn for every other replica of this node's shard. */
#define FOR_EACH_SHARD_PEER(n, peer)                                                               \
    for (uint32_t peer = ckv_shard_map_first_replica(&(n)->r.map, (n)->r.shard),                   \
                  peer##_end = peer + (n)->r.map.rf;                                               \
         (n)->r.self >= 0 && peer < peer##_end; peer++)                                            \
        if (peer != (uint32_t)(n)->r.self)

static void remember_clock(repl_peer *rp, const ckv_vclock *clock)
{
    rp->known = *clock;
    rp->known_valid = true;
}

void ckv_repl_peer_told(ckv_node *n, uint32_t peer, const ckv_vclock *clock)
{
    sync_map(n);
    if (peer >= CKV_VIEW_MAX || clock->n != n->r.map.view.n || n->r.self < 0)
        return;
    /* the peer's word is the truth now, even when lower (it restarted empty) */
    n->repl->peers[peer].acked = clock->c[n->r.self];
    remember_clock(&n->repl->peers[peer], clock);
}

uint64_t ckv_repl_unacked(const ckv_node *n, uint32_t peer)
{
    uint64_t last = ckv_wlog_last_seq(n->r.wlog);
    uint64_t acked =
        n->repl->map_gen == n->r.map_gen && peer < CKV_VIEW_MAX ? n->repl->peers[peer].acked : 0;
    return last > acked ? last - acked : 0;
}

uint32_t ckv_repl_peers_with_history(ckv_node *n, const ckv_context *ctx, uint32_t *out)
{
    uint32_t count = 0;
    sync_map(n);
    if (ctx->epoch != n->r.map.epoch)
        return 0;
    uint32_t first = ckv_shard_map_first_replica(&n->r.map, n->r.shard);
    FOR_EACH_SHARD_PEER(n, peer)
    {
        const repl_peer *rp = &n->repl->peers[peer];
        if (rp->known_valid && ckv_vclock_covers(&rp->known, &ctx->clock, first, n->r.map.rf) &&
            !ckv_peer_is_down(n->pool, n->r.map.view.addrs[peer]))
            out[count++] = peer;
    }
    return count;
}

void ckv_repl_push_all(ckv_node *n)
{
    if (n->shutting_down)
        return;
    sync_map(n);
    FOR_EACH_SHARD_PEER(n, peer)
    push_peer(n, peer);
}

/* Reads wait for the first replica's full answer (or the causal timeout, when the node
 * holds the epoch's base state); writes wait until every replica has answered, since
 * the one that did not may hold writes of this node that the others lack, and a write
 * that reused one of their dots would be taken for it and lost. */
static void bootstrap_check(ckv_node *n)
{
    if (!n->r.bootstrapping && !n->r.counter_pending)
        return;
    bool all = true, any = false;
    FOR_EACH_SHARD_PEER(n, peer)
    {
        all = all && n->repl->peers[peer].synced_once;
        any = any || n->repl->peers[peer].synced_once;
    }
    if (n->r.bootstrapping &&
        (any || (n->r.has_base && ckv_now_ms() >= n->repl->bootstrap_deadline_ms))) {
        ckv_replica_reads_caught_up(&n->r);
        log_info("serving reads: %s", any ? "caught up with a replica"
                                          : "no replica answered within the causal timeout");
        ckv_node_wake(n);
    }
    if (n->r.counter_pending && all) {
        ckv_replica_counter_known(&n->r);
        log_info("serving writes: every replica answered; own counter at %llu",
                 (unsigned long long)n->r.clock.c[n->r.self]);
        ckv_node_wake(n);
    }
}

void ckv_repl_begin_catch_up(ckv_node *n)
{
    sync_map(n);
    n->repl->bootstrap_deadline_ms = ckv_now_ms() + n->cfg.causal_timeout_ms;
    if (ckv_replica_has_peers(&n->r))
        ckv_repl_pull_now(n);
}

static void sync_peer(ckv_node *n, uint32_t peer);

/* Adopts the responder's clock once every chunk of its state has been merged. */
static void sync_complete(ckv_node *n, repl_peer *rp)
{
    remember_clock(rp, &rp->sync_target);
    bool advanced = ckv_replica_merge_clock(&n->r, &rp->sync_target);
    if (!rp->synced_once && !n->r.has_base) {
        ckv_replica_hold_base(&n->r); /* that first full answer carried the base state too */
        log_info("received the base state of epoch %llu", (unsigned long long)n->r.map.epoch);
    }
    rp->synced_once = true;
    if (advanced)
        ckv_node_wake(n);
    bootstrap_check(n);
}

static int sync_merge_reply(ckv_node *n, repl_peer *rp, const char *body, size_t len)
{
    ckv_wire_sync_reply m;
    if (ckv_wire_sync_reply_decode(body, len, n->r.map.epoch, n->r.map.view.n, &m) != CKV_OK ||
        m.epoch != n->r.map.epoch) {
        ckv_version_list_free(&m.versions);
        return CKV_ERROR;
    }
    if (rp->sync_cursor == 0 || m.restart)
        rp->sync_target = m.clock;
    for (size_t i = 0; i < m.versions.n; i++)
        ckv_replica_apply(&n->r, m.versions.v[i]);
    n->metrics.sync_versions += m.versions.n;
    ckv_version_list_free(&m.versions);
    rp->sync_cursor = m.cursor;
    rp->sync_gen = m.gen;
    return CKV_OK;
}

void ckv_repl_adopt_view(ckv_node *n, const ckv_shard_map *map)
{
    ckv_replica_adopt_view(&n->r, map);
    log_info("now at epoch %llu: %s", (unsigned long long)map->epoch,
             n->r.self >= 0 ? "member, catching up from its replicas" : "standby (not a member)");
    ckv_repl_begin_catch_up(n);
    ckv_node_wake(n);
}

/* A replica answered that a view change happened while this node was away (it restarted
 * with the VIEW it was started with): join the view in force. */
static bool learn_newer_view(ckv_node *n, const char *body, size_t len)
{
    ckv_wire_stale_epoch m;
    if (ckv_wire_stale_epoch_decode(body, len, &m) != CKV_OK || m.map.epoch <= n->r.map.epoch ||
        n->r.writes_paused)
        return false;
    log_warn("a view change to epoch %llu happened while this node was away; joining it",
             (unsigned long long)m.map.epoch);
    ckv_repl_adopt_view(n, &m.map);
    return true;
}

static void on_sync_reply(int status, const char *body, size_t len, void *arg)
{
    repl_call *c = arg;
    ckv_node *n = c->n;
    if (!repl_call_current(c)) {
        free(c);
        return;
    }
    repl_peer *rp = &n->repl->peers[c->peer];
    rp->sync_inflight = false;
    if (status == 409 && learn_newer_view(n, body, len)) {
        free(c);
        return;
    }
    if (status != 200 || sync_merge_reply(n, rp, body, len) != CKV_OK) {
        if (status == 200)
            log_warn("sync: bad reply from %s", n->r.map.view.addrs[c->peer]);
        rp->sync_cursor = 0;
        bootstrap_check(n); /* an unreachable replica holds up writes, not reads */
    } else if (rp->sync_cursor == 0) {
        n->metrics.anti_entropy_rounds++;
        sync_complete(n, rp);
    } else {
        sync_peer(n, c->peer); /* next chunk at once */
    }
    free(c);
}

static void sync_peer(ckv_node *n, uint32_t peer)
{
    repl_peer *rp = &n->repl->peers[peer];
    if (rp->sync_inflight || n->shutting_down)
        return;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_sync m = {.epoch = n->r.map.epoch,
                       .from = (uint64_t)n->r.self,
                       .cursor = rp->sync_cursor,
                       .gen = rp->sync_gen,
                       .clock = n->r.clock,
                       .want_base = !n->r.has_base};
    ckv_wire_sync_encode(&b, &m);
    repl_call *c = repl_call_new(n, peer);
    if (c != NULL && !ckv_sbuf_failed(&b) &&
        ckv_peer_send(n->pool, n->r.map.view.addrs[peer], EVHTTP_REQ_POST,
                      CKV_INTERNAL_PREFIX "sync", b.data, b.len, n->cfg.proxy_timeout_ms, 0,
                      on_sync_reply, c) == CKV_OK)
        rp->sync_inflight = true;
    else
        free(c);
    ckv_sbuf_free(&b);
}

void ckv_repl_pull_now(ckv_node *n)
{
    if (!ckv_replica_has_peers(&n->r))
        return;
    sync_map(n);
    FOR_EACH_SHARD_PEER(n, peer)
    sync_peer(n, peer);
}

void ckv_repl_tick(ckv_node *n)
{
    if (n->r.self < 0)
        return;
    bootstrap_check(n);
    ckv_repl_pull_now(n);
    ckv_repl_push_all(n);
}
