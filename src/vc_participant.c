/* vc_participant.c — this node's part in a view change (decisions in view_plan.c): it
 * pauses writes on prepare, hands out its versions on collect, stages the base state
 * of its new shard on install, and on commit enters the new epoch with it. It aborts
 * by itself when the coordinator goes silent for VIEW_CHANGE_TIMEOUT_MS. */
#include "vc_participant.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"
#include "causalkv/view_plan.h"
#include "causalkv/wire.h"

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
    ckv_replica_pause_writes(&n->r, false);
    ckv_node_wake(n); /* paused writes go on (or re-route after a commit) */
}

static void handle_prepare(ckv_node *n, ckv_req *req, const ckv_wire_prepare *m)
{
    ckv_view_change *vc = n->vc;
    uint64_t id = m->id, epoch = m->map.epoch, deadline = m->deadline, now = ckv_now_ms();
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
        /* a change to a later epoch went on without this node: its view may no longer be
         * in force, and a write it took in that view would be lost */
        if (now > deadline && epoch > n->r.map.epoch && n->doubt_view != NULL)
            n->doubt_view(n, "a view change went on without this node");
        return;
    }
    if (vc->id != id) {
        /* the base state this node will hold after the commit; empty until installs */
        ckv_store_free(vc->staged);
        vc->staged = ckv_store_new();
        if (vc->staged == NULL) {
            reply_refused(n, req, 500, "Out of memory");
            return;
        }
        vc->new_map = m->map;
        vc->old_view = m->old_view;
        vc->id = id;
        ckv_replica_pause_writes(&n->r, true);
        log_info("view change %llu prepared: epoch %llu, writes paused", (unsigned long long)id,
                 (unsigned long long)epoch);
    }
    vc->deadline_ms = ckv_now_ms() + n->cfg.view_change_timeout_ms;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_prepare_reply reply = {.epoch = n->r.map.epoch};
    ckv_wire_prepare_reply_encode(&b, &reply);
    ckv_reply(req, 200, &b);
}

/* Every version this node holds (tombstones too: they win joins), in chunks. */
static void handle_collect(ckv_node *n, ckv_req *req, const ckv_wire_collect *m)
{
    if (m->cursor != 0 && m->gen != ckv_store_generation(n->r.store)) {
        reply_refused(n, req, 409, "store changed during collection");
        return;
    }
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_collect_reply reply = {.gen = ckv_store_generation(n->r.store)};
    ckv_wire_chunk chunk = {.store = n->r.store, .cursor = (size_t)m->cursor};
    ckv_wire_collect_reply_encode(&b, &reply, &chunk);
    ckv_reply(req, 200, &b);
}

static void handle_install(ckv_node *n, ckv_req *req, const ckv_wire_install *m)
{
    ckv_view_change *vc = n->vc;
    for (size_t i = 0; i < m->versions.n; i++) {
        if (stage_version(vc, m->versions.v[i]) != CKV_OK) {
            reply_refused(n, req, 500, "Out of memory");
            return;
        }
    }
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_install_reply reply = {.staged = ckv_store_live_count(vc->staged)};
    ckv_wire_install_reply_encode(&b, &reply);
    ckv_reply(req, 200, &b);
}

static void reply_commit(ckv_node *n, ckv_req *req)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_commit_reply reply = {
        .key_count = n->r.self >= 0 ? (int64_t)ckv_store_live_count(n->r.store) : 0,
        .epoch = n->r.map.epoch};
    ckv_wire_commit_reply_encode(&b, &reply);
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

static void handle_abort(ckv_node *n, ckv_req *req)
{
    log_info("view change %llu aborted by its coordinator", (unsigned long long)n->vc->id);
    participant_reset(n);
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_wire_abort_reply reply = {.aborted = true};
    ckv_wire_abort_reply_encode(&b, &reply);
    ckv_reply(req, 200, &b);
}

enum vc_op { OP_PREPARE, OP_COLLECT, OP_INSTALL, OP_COMMIT, OP_ABORT, OP_UNKNOWN };

static enum vc_op op_of(const char *op)
{
    static const char *const names[] = {"prepare", "collect", "install", "commit", "abort"};
    size_t len = strcspn(op, "?");
    for (int i = 0; i < OP_UNKNOWN; i++)
        if (strlen(names[i]) == len && memcmp(op, names[i], len) == 0)
            return (enum vc_op)i;
    return OP_UNKNOWN;
}

/* One message of any op: its id, and what the op carries. */
typedef struct vc_message {
    uint64_t id;
    ckv_wire_prepare prepare;
    ckv_wire_collect collect;
    ckv_wire_install install;
} vc_message;

static int decode(ckv_node *n, enum vc_op op, const char *body, size_t len, vc_message *m,
                  char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    snprintf(err, errlen, "Failed to parse request body");
    int rc = CKV_ERROR;
    ckv_wire_commit commit;
    ckv_wire_abort abort_msg;
    switch (op) {
    case OP_PREPARE:
        rc = ckv_wire_prepare_decode(body, len, &m->prepare, err, errlen);
        m->id = m->prepare.id;
        break;
    case OP_COLLECT:
        rc = ckv_wire_collect_decode(body, len, &m->collect);
        m->id = m->collect.id;
        break;
    case OP_INSTALL: /* versions belong to the new view this node was prepared for */
        rc = ckv_wire_install_decode(body, len, n->vc->new_map.view.n, &m->install);
        m->id = m->install.id;
        break;
    case OP_COMMIT:
        rc = ckv_wire_commit_decode(body, len, &commit);
        m->id = commit.id;
        break;
    case OP_ABORT:
        rc = ckv_wire_abort_decode(body, len, &abort_msg);
        m->id = abort_msg.id;
        break;
    case OP_UNKNOWN:
        break;
    }
    return rc == CKV_OK && m->id != 0 ? CKV_OK : CKV_ERROR;
}

void ckv_vc_participant_serve(ckv_node *n, ckv_req *req, const char *op_name)
{
    enum vc_op op = op_of(op_name);
    if (op == OP_UNKNOWN) {
        reply_refused(n, req, 404, "Not found");
        return;
    }
    if (vc_get(n) == NULL) {
        reply_refused(n, req, 500, "Out of memory");
        return;
    }
    ckv_view_change *vc = n->vc;
    if (op == OP_INSTALL && vc->id == 0) { /* no new view to read its versions against */
        reply_refused(n, req, 409, "not prepared for this view change");
        return;
    }
    size_t len;
    const char *body = ckv_req_body(req, &len);
    vc_message m;
    char err[256];
    if (decode(n, op, body, len, &m, err, sizeof(err)) != CKV_OK) {
        ckv_version_list_free(&m.install.versions);
        reply_refused(n, req, 400, err);
        return;
    }
    if (op == OP_PREPARE) {
        handle_prepare(n, req, &m.prepare);
    } else if (op == OP_COMMIT && vc->committed_id == m.id) {
        reply_commit(n, req); /* a retry of a commit that already happened */
    } else if (vc->id != m.id) {
        reply_refused(n, req, 409, "not prepared for this view change");
    } else {
        vc->deadline_ms = ckv_now_ms() + n->cfg.view_change_timeout_ms; /* the coordinator lives */
        if (op == OP_COLLECT)
            handle_collect(n, req, &m.collect);
        else if (op == OP_INSTALL)
            handle_install(n, req, &m.install);
        else if (op == OP_COMMIT)
            handle_commit(n, req);
        else
            handle_abort(n, req);
    }
    ckv_version_list_free(&m.install.versions);
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
    return ckv_resolver_view_has_ip(n->resolver, &vc->old_view, ip) ||
           ckv_resolver_view_has_ip(n->resolver, &vc->new_map.view, ip);
}
