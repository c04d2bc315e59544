/* vc_coordinator.c — running a view change from the node that received the client's
 * PUT (decisions live in view_plan.c). It drives every participant, itself included,
 * only through the participant's messages and API (vc_participant.h): prepare (old ∪ new pause
 * writes) → collect (every version from every live replica of every old shard, joined) → install
 * (each new shard's keys, as base state, staged on its replicas) → commit (new view + epoch
 * everywhere) → reply. A failure before commit aborts everywhere and the old view stays in force.
 * Participants abort on their own when the coordinator goes silent for VIEW_CHANGE_TIMEOUT_MS. */
#include "vc_coordinator.h"

#include "vc_participant.h"
#include "causalkv/wire.h"

#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"
#include "causalkv/view_plan.h"

#define VC_PREFIX CKV_INTERNAL_PREFIX "view/"
#define VC_PROGRESS_EVERY 100000 /* keys between progress lines in the log */
#define VC_DETAIL_MAX 112        /* one node's failure, as told in the error reply */

enum vc_phase { VC_PREPARE, VC_COLLECT, VC_INSTALL, VC_COMMIT, VC_ABORT };

typedef struct ckv_vc_coord {
    ckv_node *n;
    ckv_req *req;
    uint64_t id;
    ckv_view_plan plan;
    enum vc_phase phase;
    uint32_t pending;
    bool prepared[CKV_VIEW_MAX];
    bool ok[CKV_VIEW_MAX]; /* of the current phase */
    uint64_t cursor[CKV_VIEW_MAX], gen[CKV_VIEW_MAX];
    int64_t confirmed[CKV_VIEW_MAX]; /* key count each node reported at commit, -1 none */
    ckv_store *staging;
    size_t moved;
    bool contended; /* a node answered that another change holds it */
    size_t logged_progress;
    uint64_t started_ms;
    uint64_t prepare_deadline_ms; /* wall clock: participants refuse the prepare after it */
    char detail[CKV_VIEW_MAX][VC_DETAIL_MAX]; /* what each node answered, when it failed */
    char why[512];
} vc_coord;

typedef struct vc_call {
    vc_coord *c;
    uint32_t idx;
} vc_call;

/* Prepare pauses writes everywhere, so one unresponsive node may hold it for
 * PROXY_TIMEOUT_MS at most; collect and install move whole stores and get longer. */
static uint32_t vc_message_timeout(const ckv_node *n, enum vc_phase phase)
{
    return phase == VC_PREPARE ? n->cfg.proxy_timeout_ms : n->cfg.proxy_timeout_ms * 5;
}

static void coord_phase_done(vc_coord *c);
static void coord_send_next(vc_coord *c, uint32_t idx);

static void coord_free(vc_coord *c)
{
    ckv_store_free(c->staging);
    if (c->n->vc_coord == c)
        c->n->vc_coord = NULL;
    free(c);
}

static void build_prepare(vc_coord *c, ckv_sbuf *b)
{
    ckv_wire_prepare m = {.id = c->id,
                          .map = c->plan.new_map,
                          .old_view = c->plan.old_map.view,
                          .deadline = c->prepare_deadline_ms};
    ckv_wire_prepare_encode(b, &m);
}

static void build_collect(vc_coord *c, uint32_t idx, ckv_sbuf *b)
{
    ckv_wire_collect m = {.id = c->id, .cursor = c->cursor[idx], .gen = c->gen[idx]};
    ckv_wire_collect_encode(b, &m);
}

struct owned_by {
    const ckv_shard_map *map;
    uint32_t shard;
};

/* A live key of the given shard (tombstones do not cross a view change). */
static bool live_in_shard(const ckv_version *v, const void *arg)
{
    const struct owned_by *o = arg;
    return !v->tombstone && ckv_shard_map_owner(o->map, ckv_version_key(v), v->key_len) == o->shard;
}

/* Next chunk of the keys node idx owns in the new view, as base state; cursor 0 = last. */
static void build_install(vc_coord *c, uint32_t idx, ckv_sbuf *b)
{
    uint32_t shard = ckv_shard_map_shard_of_member(
        &c->plan.new_map,
        (uint32_t)ckv_view_index_of(&c->plan.new_map.view, c->plan.nodes.addrs[idx]));
    struct owned_by owned = {&c->plan.new_map, shard};
    ckv_wire_install m = {.id = c->id};
    ckv_wire_chunk chunk = {.store = c->staging,
                            .cursor = (size_t)c->cursor[idx],
                            .base = true,
                            .keep = live_in_shard,
                            .arg = &owned};
    c->cursor[idx] = ckv_wire_install_encode(b, &m, &chunk);
}

static void build_commit_or_abort(vc_coord *c, ckv_sbuf *b)
{
    if (c->phase == VC_COMMIT) {
        ckv_wire_commit m = {.id = c->id};
        ckv_wire_commit_encode(b, &m);
    } else {
        ckv_wire_abort m = {.id = c->id};
        ckv_wire_abort_encode(b, &m);
    }
}

static const char *phase_op(enum vc_phase p)
{
    static const char *const ops[] = {"prepare", "collect", "install", "commit", "abort"};
    return ops[p];
}

static int merge_collect_reply(vc_coord *c, uint32_t idx, const char *body, size_t len)
{
    ckv_wire_collect_reply m;
    if (ckv_wire_collect_reply_decode(body, len, c->plan.old_map.view.n, &m) != CKV_OK)
        return CKV_ERROR;
    for (size_t i = 0; i < m.versions.n; i++)
        ckv_store_join(c->staging, m.versions.v[i]);
    ckv_version_list_free(&m.versions);
    uint64_t cursor = m.cursor, gen = m.gen;
    c->cursor[idx] = cursor;
    c->gen[idx] = gen;
    size_t held = ckv_store_live_count(c->staging) + ckv_store_tombstone_count(c->staging);
    if (held / VC_PROGRESS_EVERY != c->logged_progress) { /* large stores: say how it goes */
        c->logged_progress = held / VC_PROGRESS_EVERY;
        log_info("view change %llu: collected %zu keys so far", (unsigned long long)c->id, held);
    }
    return CKV_OK;
}

/* Says in c->detail[idx] what node idx answered instead of success. */
static void note_failure(vc_coord *c, uint32_t idx, int status, const char *body, size_t len)
{
    char *d = c->detail[idx];
    if (status == 0) {
        snprintf(d, VC_DETAIL_MAX, "no answer (refused, unreachable or timed out)");
        return;
    }
    ckv_wire_error e;
    if (ckv_wire_error_decode(body, len, &e) == CKV_OK)
        snprintf(d, VC_DETAIL_MAX, "%d %.*s", status, VC_DETAIL_MAX - 8, e.error);
    else
        snprintf(d, VC_DETAIL_MAX, status == 200 ? "a reply it could not read" : "status %d",
                 status);
}

/* Reads a node's reply to the current phase; true when that node is finished with it. */
static bool coord_take_reply(vc_coord *c, uint32_t idx, int status, const char *body, size_t len)
{
    bool ok = status == 200;
    if (ok && c->phase == VC_PREPARE) {
        ckv_wire_prepare_reply m;
        ok = ckv_wire_prepare_reply_decode(body, len, &m) == CKV_OK;
    } else if (ok && c->phase == VC_COLLECT) {
        ok = merge_collect_reply(c, idx, body, len) == CKV_OK;
        if (ok && c->cursor[idx] != 0)
            return false; /* more chunks */
    } else if (ok && c->phase == VC_INSTALL) {
        ckv_wire_install_reply m;
        ok = ckv_wire_install_reply_decode(body, len, &m) == CKV_OK;
        if (ok && c->cursor[idx] != 0)
            return false;
    } else if (ok && c->phase == VC_COMMIT) {
        ckv_wire_commit_reply m;
        ok = ckv_wire_commit_reply_decode(body, len, &m) == CKV_OK;
        c->confirmed[idx] = ok ? m.key_count : -1;
    } else if (ok) {
        ckv_wire_abort_reply m;
        ok = ckv_wire_abort_reply_decode(body, len, &m) == CKV_OK;
    }
    if (!ok) {
        note_failure(c, idx, status, body, len);
        if (c->phase == VC_PREPARE && strstr(c->detail[idx], "another view change") != NULL)
            c->contended = true;
        log_warn("view change %llu: %s on %s failed: %s", (unsigned long long)c->id,
                 phase_op(c->phase), c->plan.nodes.addrs[idx], c->detail[idx]);
    }
    c->ok[idx] = ok;
    return true;
}

static void on_coord_reply(int status, const char *body, size_t len, void *arg)
{
    vc_call *call = arg;
    vc_coord *c = call->c;
    uint32_t idx = call->idx;
    free(call);
    if (!coord_take_reply(c, idx, status, body, len)) {
        coord_send_next(c, idx);
        return;
    }
    if (--c->pending == 0)
        coord_phase_done(c);
}

/* Sends node idx its next message of the current phase; on a failure to send, the node
 * is finished with the phase (not ok). */
static void coord_send_next(vc_coord *c, uint32_t idx)
{
    ckv_node *n = c->n;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    if (c->phase == VC_PREPARE)
        build_prepare(c, &b);
    else if (c->phase == VC_COLLECT)
        build_collect(c, idx, &b);
    else if (c->phase == VC_INSTALL)
        build_install(c, idx, &b);
    else
        build_commit_or_abort(c, &b);
    char uri[64];
    snprintf(uri, sizeof(uri), VC_PREFIX "%s", phase_op(c->phase));
    vc_call *call = malloc(sizeof(*call));
    int rc = CKV_ERROR;
    if (call != NULL && !ckv_sbuf_failed(&b)) {
        call->c = c;
        call->idx = idx;
        rc = ckv_peer_send(n->pool, c->plan.nodes.addrs[idx], EVHTTP_REQ_POST, uri, b.data, b.len,
                           vc_message_timeout(n, c->phase), 0, on_coord_reply, call);
    }
    ckv_sbuf_free(&b);
    if (rc != CKV_OK) {
        free(call);
        snprintf(c->detail[idx], VC_DETAIL_MAX,
                 "could not be sent (out of memory or shutting down)");
        c->ok[idx] = false;
        if (--c->pending == 0)
            coord_phase_done(c);
    }
}

static bool phase_includes(const vc_coord *c, uint32_t i)
{
    switch (c->phase) {
    case VC_PREPARE:
        return true;
    case VC_COLLECT:
        return c->plan.in_old[i] && c->prepared[i];
    case VC_INSTALL:
        return c->plan.in_new[i];
    case VC_COMMIT:
    case VC_ABORT:
        return c->prepared[i];
    }
    return false;
}

/* The coordinator's own collect and install skip HTTP and JSON: the versions are shared
 * (they are immutable), which saves a third of the work of a large change. */
static bool install_locally(vc_coord *c, uint32_t shard)
{
    struct owned_by owned = {&c->plan.new_map, shard};
    size_t pos = 0;
    const ckv_version *v;
    while ((v = ckv_store_next(c->staging, &pos)) != NULL) {
        if (!live_in_shard(v, &owned))
            continue;
        ckv_version *base =
            ckv_version_new(ckv_version_key(v), v->key_len, ckv_version_value(v), v->value_len,
                            false, CKV_ORIGIN_BASE, 0, v->lamport, NULL);
        int rc = base != NULL ? ckv_vc_participant_stage(c->n, base) : CKV_NOMEM;
        ckv_version_unref(base);
        if (rc != CKV_OK)
            return false;
    }
    return true;
}

/* Runs node idx's part of the current phase here when idx is this node and the phase
 * moves data; true when done (c->ok[idx] says how it went). */
static bool coord_do_locally(vc_coord *c, uint32_t idx)
{
    ckv_node *n = c->n;
    if (strcmp(c->plan.nodes.addrs[idx], n->cfg.address) != 0 ||
        !ckv_vc_participant_prepared(n, c->id))
        return false;
    if (c->phase == VC_COLLECT) {
        ckv_vc_participant_collect_into(n, c->staging);
        c->ok[idx] = true;
        return true;
    }
    if (c->phase == VC_INSTALL) {
        int self = ckv_view_index_of(&c->plan.new_map.view, n->cfg.address);
        c->ok[idx] =
            install_locally(c, ckv_shard_map_shard_of_member(&c->plan.new_map, (uint32_t)self));
        return true;
    }
    return false;
}

static void coord_start_phase(vc_coord *c, enum vc_phase phase)
{
    c->phase = phase;
    ckv_vc_participant_keepalive(c->n, c->id); /* this node's part is alive while we are */
    log_info("view change %llu: %s", (unsigned long long)c->id, phase_op(phase));
    uint32_t targets[CKV_VIEW_MAX], count = 0;
    if (phase == VC_PREPARE)
        c->prepare_deadline_ms = ckv_now_ms() + vc_message_timeout(c->n, VC_PREPARE);
    for (uint32_t i = 0; i < c->plan.nodes.n; i++) {
        c->ok[i] = false;
        c->detail[i][0] = '\0';
        c->cursor[i] = c->gen[i] = 0;
        if (phase_includes(c, i))
            targets[count++] = i;
    }
    /* +1 holds the phase open until every message is out, so a synchronous failure
     * cannot finish the phase in the middle of the loop */
    c->pending = count + 1;
    for (uint32_t k = 0; k < count; k++) {
        if (coord_do_locally(c, targets[k]))
            c->pending--;
        else
            coord_send_next(c, targets[k]);
    }
    if (--c->pending == 0)
        coord_phase_done(c);
}

static void coord_reply_failure(vc_coord *c)
{
    ckv_node *n = c->n;
    char msg[600];
    snprintf(msg, sizeof(msg), "View change failed: %s", c->why);
    log_warn("view change %llu failed: %s", (unsigned long long)c->id, c->why);
    ckv_context ctx;
    ckv_req_context(c->req, &n->r.map, &ctx);
    ckv_reply_error(c->req, 503, msg, &n->r.map, &ctx);
    coord_free(c);
}

static void add_shard_results(vc_coord *c, ckv_sbuf *b)
{
    const ckv_shard_map *m = &c->plan.new_map;
    ckv_sbuf_adds(b, ",\"shards\":[");
    for (uint32_t s = 1; s <= m->shards; s++) {
        uint32_t first = ckv_shard_map_first_replica(m, s);
        int64_t count = -1;
        ckv_sbuf_adds(b, s > 1 ? ",{\"shard-id\":" : "{\"shard-id\":");
        ckv_sbuf_add_u64(b, s);
        ckv_sbuf_adds(b, ",\"replicas\":[");
        for (uint32_t r = first; r < first + m->rf; r++) {
            int idx = ckv_view_index_of(&c->plan.nodes, m->view.addrs[r]);
            if (count < 0 && idx >= 0)
                count = c->confirmed[idx];
            if (r > first)
                ckv_sbuf_addc(b, ',');
            ckv_sbuf_add_json_str(b, m->view.addrs[r], strlen(m->view.addrs[r]));
        }
        ckv_sbuf_adds(b, "],\"key-count\":");
        ckv_sbuf_add_u64(b, count < 0 ? 0 : (uint64_t)count);
        ckv_sbuf_addc(b, '}');
    }
    ckv_sbuf_addc(b, ']');
}

static void coord_reply_success(vc_coord *c)
{
    uint64_t ms = ckv_now_ms() - c->started_ms;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"message\":\"View change successful\"");
    add_shard_results(c, &b);
    ckv_sbuf_adds(&b, ",\"moved-keys\":");
    ckv_sbuf_add_u64(&b, c->moved);
    ckv_sbuf_adds(&b, ",\"duration-ms\":");
    ckv_sbuf_add_u64(&b, ms);
    ckv_context ctx = {.epoch = c->plan.new_map.epoch};
    ckv_vclock_init(&ctx.clock, c->plan.new_map.view.n);
    ckv_json_add_context(&b, true, &c->plan.new_map, &ctx);
    ckv_sbuf_addc(&b, '}');
    log_info("view change %llu committed: epoch %llu, %u shards, %zu keys moved in %llu ms",
             (unsigned long long)c->id, (unsigned long long)c->plan.new_map.epoch,
             (unsigned)c->plan.new_map.shards, c->moved, (unsigned long long)ms);
    ckv_reply(c->req, 200, &b);
    coord_free(c);
}

static size_t count_moved(vc_coord *c)
{
    size_t pos = 0, moved = 0;
    const ckv_version *v = NULL;
    while ((v = ckv_store_next(c->staging, &pos)) != NULL)
        if (!v->tombstone && ckv_view_plan_key_moves(&c->plan, ckv_version_key(v), v->key_len))
            moved++;
    return moved;
}

static void coord_abort(vc_coord *c)
{
    coord_start_phase(c, VC_ABORT);
}

/* Explains, for the client and the log, why the change cannot go on after `phase`. */
static void explain_gap(vc_coord *c, const ckv_plan_gap *gap)
{
    const char *step = phase_op(c->phase);
    if (c->phase == VC_PREPARE && c->contended) {
        snprintf(c->why, sizeof(c->why), "another view change is in progress");
    } else if (gap->node >= 0) {
        uint32_t i = (uint32_t)gap->node;
        snprintf(c->why, sizeof(c->why), "%s on %s (%s member) failed: %s", step,
                 c->plan.nodes.addrs[i], c->plan.in_old[i] ? "old and new" : "new",
                 c->detail[i][0] != '\0' ? c->detail[i] : "not prepared");
    } else {
        char replicas[400] = "";
        size_t len = 0;
        uint32_t first = ckv_shard_map_first_replica(&c->plan.old_map, gap->shard);
        for (uint32_t r = first; r < first + c->plan.old_map.rf && len < sizeof(replicas); r++) {
            const char *addr = c->plan.old_map.view.addrs[r];
            int idx = ckv_view_index_of(&c->plan.nodes, addr);
            const char *d = idx >= 0 && c->detail[idx][0] != '\0' ? c->detail[idx] : "not prepared";
            len += (size_t)snprintf(replicas + len, sizeof(replicas) - len, "%s%s: %s",
                                    r == first ? "" : "; ", addr, d);
        }
        snprintf(c->why, sizeof(c->why), "%s failed: no replica of shard %u answered (%s)", step,
                 (unsigned)gap->shard, replicas);
    }
}

/* Aborts when the nodes that finished the phase are not enough to go on; true if so. */
static bool abort_unless_reachable(vc_coord *c, bool need_old_shards)
{
    ckv_plan_gap gap;
    if (ckv_view_plan_check_reachable(&c->plan, c->ok, need_old_shards, &gap) == CKV_OK)
        return false;
    explain_gap(c, &gap);
    coord_abort(c);
    return true;
}

static void coord_phase_done(vc_coord *c)
{
    switch (c->phase) {
    case VC_PREPARE:
        memcpy(c->prepared, c->ok, sizeof(c->prepared));
        if (!abort_unless_reachable(c, true))
            coord_start_phase(c, VC_COLLECT);
        return;
    case VC_COLLECT:
        for (uint32_t i = 0; i < c->plan.nodes.n; i++)
            if (!c->plan.in_old[i])
                c->ok[i] = c->prepared[i];
        if (abort_unless_reachable(c, true))
            return;
        c->moved = count_moved(c);
        log_info("view change %llu: collected %zu live keys, %zu change shard",
                 (unsigned long long)c->id, ckv_store_live_count(c->staging), c->moved);
        coord_start_phase(c, VC_INSTALL);
        return;
    case VC_INSTALL:
        if (!abort_unless_reachable(c, false))
            coord_start_phase(c, VC_COMMIT);
        return;
    case VC_COMMIT:
        coord_reply_success(c);
        return;
    case VC_ABORT:
        coord_reply_failure(c);
        return;
    }
}

static void reply_bad_change(ckv_node *n, ckv_req *req, const char *why)
{
    ckv_context ctx;
    ckv_req_context(req, &n->r.map, &ctx);
    ckv_reply_error(req, 400, why, &n->r.map, &ctx);
}

void ckv_vc_coordinator_serve(ckv_node *n, ckv_req *req)
{
    size_t len;
    const char *body = ckv_req_body(req, &len);
    char err[256];
    ckv_view view;
    long rf;
    if (len > n->cfg.max_body_bytes) {
        reply_bad_change(n, req, "Failed to parse request body");
        return;
    }
    if (ckv_client_view_change_parse(body, len, &n->r.map, &view, &rf, err, sizeof(err)) !=
        CKV_OK) {
        reply_bad_change(n, req, err);
        return;
    }
    vc_coord *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        free(c);
        reply_bad_change(n, req, "Out of memory");
        return;
    }
    if (ckv_view_plan_init(&c->plan, &n->r.map, n->cfg.address, &view, rf, err, sizeof(err)) !=
        CKV_OK) {
        free(c);
        reply_bad_change(n, req, err);
        return;
    }
    if (!n->r.view_confirmed) {
        free(c);
        ckv_context ctx;
        ckv_req_context(req, &n->r.map, &ctx);
        ckv_reply_error(req, 503,
                        "View change failed: this node has not yet confirmed the view in force "
                        "with the other members",
                        &n->r.map, &ctx);
        return;
    }
    if (n->vc_coord != NULL || ckv_vc_participant_busy(n)) {
        free(c);
        ckv_context ctx;
        ckv_req_context(req, &n->r.map, &ctx);
        {
            ckv_reply_error(req, 503, "View change failed: another view change is in progress",
                            &n->r.map, &ctx);
            return;
        }
    }
    c->n = n;
    c->req = req;
    /* unique across nodes (the address) and across changes here (time and a counter) */
    static uint64_t changes;
    uint64_t who = ckv_fnv1a64(n->cfg.address, strlen(n->cfg.address));
    c->id = ((ckv_now_ms() << 16) ^ (who & 0xffff) ^ ++changes) | 1;
    c->started_ms = ckv_now_ms();
    c->staging = ckv_store_new();
    for (uint32_t i = 0; i < CKV_VIEW_MAX; i++)
        c->confirmed[i] = -1;
    n->vc_coord = c;
    if (c->staging == NULL) {
        snprintf(c->why, sizeof(c->why), "out of memory");
        coord_reply_failure(c);
        return;
    }
    coord_start_phase(c, VC_PREPARE);
}

void ckv_vc_coordinator_free(ckv_node *n)
{
    if (n->vc_coord != NULL) {
        snprintf(n->vc_coord->why, sizeof(n->vc_coord->why), "node shutting down");
        coord_reply_failure(n->vc_coord);
    }
}
