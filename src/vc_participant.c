/* vc_participant.c — this node's part in a view change (decisions in view_plan.c): it
 * pauses writes on prepare, hands out its versions on collect, stages the base state
 * of its new shard on install, and on commit enters the new epoch with it. It aborts
 * by itself when the coordinator goes silent for VIEW_CHANGE_TIMEOUT_MS. */
#include "vc_participant.h"

#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"
#include "causalkv/view_plan.h"

struct ckv_view_change {
    uint64_t id; /* the change this node is prepared for, 0 none */
    ckv_shard_map new_map;
    ckv_view old_view;
    uint64_t deadline_ms;
    ckv_store *staged;
    uint64_t staged_lamport;
    uint64_t committed_id; /* last change committed here (commit retries are idempotent) */
};

static ckv_view_change *vc_get(ckv_node *n)
{
    if (n->vc == NULL)
        n->vc = calloc(1, sizeof(*n->vc));
    return n->vc;
}

/* Adds one base-state version to what this node will hold after the commit (the staged
 * store exists from prepare until commit or abort). */
static int stage_version(ckv_view_change *vc, ckv_version *v)
{
    if (v->lamport > vc->staged_lamport)
        vc->staged_lamport = v->lamport;
    return ckv_store_join(vc->staged, v) == CKV_NOMEM ? CKV_NOMEM : CKV_OK;
}

static void reply_refused(ckv_node *n, ckv_req *req, int status, const char *why)
{
    ckv_context ctx = {.epoch = n->r.map.epoch};
    ckv_vclock_init(&ctx.clock, n->r.map.view.n);
    ckv_reply_error(req, status, why, &n->r.map, &ctx);
}

static void participant_reset(ckv_node *n)
{
    ckv_view_change *vc = n->vc;
    ckv_store_free(vc->staged);
    vc->staged = NULL;
    vc->staged_lamport = 0;
    vc->id = 0;
    n->r.writes_paused = false;
    ckv_node_wake(n); /* paused writes go on (or re-route after a commit) */
}

static int parse_prepare(json_t *msg, ckv_view_change *vc, char *err, size_t errlen)
{
    uint64_t epoch;
    ckv_view view, old_view;
    long rf, ignored;
    if (ckv_json_get_u64(msg, "epoch", &epoch) != CKV_OK ||
        ckv_view_change_body_parse(msg, &view, &rf, err, errlen) != CKV_OK) {
        snprintf(err, errlen, "bad prepare message");
        return CKV_ERROR;
    }
    /* the old view has no replication factor of its own here: any valid list will do */
    json_t *wrap =
        json_pack("{s:O,s:i}", "view", json_object_get(msg, "old-view"), "repl-factor", 1);
    int rc = wrap != NULL ? ckv_view_change_body_parse(wrap, &old_view, &ignored, err, errlen)
                          : CKV_ERROR;
    json_decref(wrap);
    if (rc != CKV_OK || ckv_shard_map_init(&vc->new_map, &view, rf, epoch, err, errlen) != CKV_OK)
        return CKV_ERROR;
    vc->old_view = old_view;
    return CKV_OK;
}

static void handle_prepare(ckv_node *n, ckv_req *req, json_t *msg, uint64_t id)
{
    ckv_view_change *vc = n->vc;
    uint64_t epoch;
    char err[256];
    if (ckv_json_get_u64(msg, "epoch", &epoch) != CKV_OK) {
        reply_refused(n, req, 400, "bad prepare message");
        return;
    }
    uint64_t deadline = UINT64_MAX, now = ckv_now_ms();
    ckv_json_get_u64(msg, "deadline", &deadline); /* absent: a coordinator that sets none */
    if (!ckv_view_plan_may_prepare(n->r.map.epoch, vc->id, id, epoch, now, deadline)) {
        if (vc->id != 0 && vc->id != id)
            reply_refused(n, req, 409, "another view change is in progress");
        else if (epoch <= n->r.map.epoch)
            reply_refused(n, req, 409, "this node is already at that epoch or later");
        else
            reply_refused(n, req, 409, "prepare arrived after its deadline");
        if (now > deadline)
            log_warn("view change %llu: refused its prepare, %llu ms past its deadline (this "
                     "node was paused or cut off)",
                     (unsigned long long)id, (unsigned long long)(now - deadline));
        return;
    }
    if (vc->id != id) {
        if (parse_prepare(msg, vc, err, sizeof(err)) != CKV_OK) {
            reply_refused(n, req, 400, err);
            return;
        }
        /* the base state this node will hold after the commit; empty until installs */
        ckv_store_free(vc->staged);
        vc->staged = ckv_store_new();
        if (vc->staged == NULL) {
            reply_refused(n, req, 500, "Out of memory");
            return;
        }
        vc->id = id;
        n->r.writes_paused = true;
        log_info("view change %llu prepared: epoch %llu, writes paused", (unsigned long long)id,
                 (unsigned long long)epoch);
    }
    vc->deadline_ms = ckv_now_ms() + n->cfg.view_change_timeout_ms;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"epoch\":");
    ckv_sbuf_add_u64(&b, n->r.map.epoch);
    ckv_sbuf_addc(&b, '}');
    ckv_reply(req, 200, &b);
}

/* Every version this node holds (tombstones too: they win joins), in chunks. */
static void handle_collect(ckv_node *n, ckv_req *req, json_t *msg)
{
    uint64_t cursor, gen;
    if (ckv_json_get_u64(msg, "cursor", &cursor) != CKV_OK ||
        ckv_json_get_u64(msg, "gen", &gen) != CKV_OK) {
        reply_refused(n, req, 400, "bad collect message");
        return;
    }
    if (cursor != 0 && gen != ckv_store_generation(n->r.store)) {
        reply_refused(n, req, 409, "store changed during collection");
        return;
    }
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"versions\":[");
    size_t next = ckv_json_add_store_chunk(&b, n->r.store, (size_t)cursor, false, NULL, NULL);
    ckv_sbuf_adds(&b, "],\"cursor\":");
    ckv_sbuf_add_u64(&b, next);
    ckv_sbuf_adds(&b, ",\"gen\":");
    ckv_sbuf_add_u64(&b, ckv_store_generation(n->r.store));
    ckv_sbuf_addc(&b, '}');
    ckv_reply(req, 200, &b);
}

static void handle_install(ckv_node *n, ckv_req *req, json_t *msg)
{
    ckv_view_change *vc = n->vc;
    json_t *versions = json_object_get(msg, "versions");
    if (!json_is_array(versions)) {
        reply_refused(n, req, 400, "bad install message");
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(versions, i, item)
    {
        ckv_version *v = ckv_json_version_decode(item, vc->new_map.view.n);
        if (v == NULL) {
            reply_refused(n, req, 400, "bad version in install message");
            return;
        }
        int rc = stage_version(vc, v);
        ckv_version_unref(v);
        if (rc != CKV_OK) {
            reply_refused(n, req, 500, "Out of memory");
            return;
        }
    }
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"staged\":");
    ckv_sbuf_add_u64(&b, ckv_store_live_count(vc->staged));
    ckv_sbuf_addc(&b, '}');
    ckv_reply(req, 200, &b);
}

static void reply_commit(ckv_node *n, ckv_req *req)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"key-count\":");
    ckv_sbuf_add_u64(&b, n->r.self >= 0 ? ckv_store_live_count(n->r.store) : 0);
    ckv_sbuf_adds(&b, ",\"epoch\":");
    ckv_sbuf_add_u64(&b, n->r.map.epoch);
    ckv_sbuf_addc(&b, '}');
    ckv_reply(req, 200, &b);
}

static void handle_commit(ckv_node *n, ckv_req *req)
{
    ckv_view_change *vc = n->vc;
    ckv_store *fresh = vc->staged != NULL ? vc->staged : ckv_store_new();
    if (fresh == NULL) {
        reply_refused(n, req, 500, "Out of memory");
        return;
    }
    vc->staged = NULL;
    ckv_replica_enter_epoch(&n->r, &vc->new_map, fresh, vc->staged_lamport);
    vc->committed_id = vc->id;
    log_info("view change %llu committed here: epoch %llu, %s shard %u, %zu keys",
             (unsigned long long)vc->id, (unsigned long long)n->r.map.epoch,
             n->r.self >= 0 ? "member of" : "removed; was", (unsigned)n->r.shard,
             ckv_store_live_count(n->r.store));
    participant_reset(n);
    reply_commit(n, req);
}

void ckv_vc_participant_serve(ckv_node *n, ckv_req *req, const char *op)
{
    size_t len;
    const char *body = ckv_req_body(req, &len);
    json_t *msg = ckv_json_parse_message(body, len);
    uint64_t id;
    if (msg == NULL || ckv_json_get_u64(msg, "id", &id) != CKV_OK || id == 0 || vc_get(n) == NULL) {
        json_decref(msg);
        reply_refused(n, req, 400, "Failed to parse request body");
        return;
    }
    ckv_view_change *vc = n->vc;
    size_t oplen = strcspn(op, "?");
#define OP_IS(name) (oplen == sizeof(name) - 1 && memcmp(op, name, oplen) == 0)
    if (OP_IS("prepare")) {
        handle_prepare(n, req, msg, id);
    } else if (OP_IS("commit") && vc->committed_id == id) {
        reply_commit(n, req); /* a retry of a commit that already happened */
    } else if (vc->id != id) {
        reply_refused(n, req, 409, "not prepared for this view change");
    } else {
        vc->deadline_ms = ckv_now_ms() + n->cfg.view_change_timeout_ms; /* the coordinator lives */
        if (OP_IS("collect"))
            handle_collect(n, req, msg);
        else if (OP_IS("install"))
            handle_install(n, req, msg);
        else if (OP_IS("commit"))
            handle_commit(n, req);
        else if (OP_IS("abort")) {
            log_info("view change %llu aborted by its coordinator", (unsigned long long)id);
            participant_reset(n);
            ckv_sbuf b;
            ckv_sbuf_init(&b);
            ckv_sbuf_adds(&b, "{\"aborted\":true}");
            ckv_reply(req, 200, &b);
        } else
            reply_refused(n, req, 404, "Not found");
    }
#undef OP_IS
    json_decref(msg);
}

void ckv_vc_participant_tick(ckv_node *n)
{
    ckv_view_change *vc = n->vc;
    if (vc == NULL || vc->id == 0 || ckv_now_ms() < vc->deadline_ms)
        return;
    log_warn("view change %llu: coordinator silent, aborting here", (unsigned long long)vc->id);
    participant_reset(n);
}

void ckv_vc_participant_free(ckv_node *n)
{
    if (n->vc == NULL)
        return;
    ckv_store_free(n->vc->staged);
    free(n->vc);
    n->vc = NULL;
}

bool ckv_vc_participant_busy(ckv_node *n)
{
    return n->vc != NULL && n->vc->id != 0;
}

bool ckv_vc_participant_prepared(ckv_node *n, uint64_t id)
{
    return n->vc != NULL && n->vc->id == id;
}

void ckv_vc_participant_keepalive(ckv_node *n, uint64_t id)
{
    if (ckv_vc_participant_prepared(n, id))
        n->vc->deadline_ms = ckv_now_ms() + n->cfg.view_change_timeout_ms;
}

void ckv_vc_participant_collect_into(ckv_node *n, ckv_store *dst)
{
    size_t pos = 0;
    const ckv_version *v;
    while ((v = ckv_store_next(n->r.store, &pos)) != NULL)
        ckv_store_join(dst, (ckv_version *)v);
}

int ckv_vc_participant_stage(ckv_node *n, ckv_version *v)
{
    return n->vc != NULL && n->vc->staged != NULL ? stage_version(n->vc, v) : CKV_ERROR;
}

bool ckv_vc_participant_knows_ip(const ckv_node *n, const char *ip)
{
    const ckv_view_change *vc = n->vc;
    if (vc == NULL || vc->id == 0)
        return false;
    return ckv_view_has_ip(&vc->old_view, ip) || ckv_view_has_ip(&vc->new_map.view, ip);
}
