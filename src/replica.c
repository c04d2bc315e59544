/* replica.c — the causal rules (see replica.h). */
#include "causalkv/replica.h"

#include <stdio.h>
#include <string.h>

static void set_map(ckv_replica *r, const ckv_shard_map *map)
{
    r->map = *map;
    r->map_gen++;
    r->self = ckv_view_index_of(&map->view, r->self_addr);
    r->shard = r->self >= 0 ? ckv_shard_map_shard_of_member(map, (uint32_t)r->self) : 0;
    ckv_vclock_init(&r->clock, map->view.n);
    ckv_wlog_reset(r->wlog, 0);
}

/* A node that did not take part in its epoch's start learns its counters (and, unless
 * it holds it, the base state) from the shard's other replicas before serving. */
static void wait_for_peers(ckv_replica *r)
{
    bool peers = ckv_replica_has_peers(r);
    r->bootstrapping = peers;
    r->counter_pending = peers;
}

int ckv_replica_init(ckv_replica *r, const ckv_shard_map *map, const char *self_addr,
                     size_t log_entries)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->self_addr, sizeof(r->self_addr), "%s", self_addr);
    r->store = ckv_store_new();
    r->wlog = ckv_wlog_new(log_entries);
    if (r->store == NULL || r->wlog == NULL)
        return CKV_NOMEM;
    set_map(r, map);
    r->has_base = true; /* epoch 0 starts empty */
    wait_for_peers(r);
    return CKV_OK;
}

void ckv_replica_free(ckv_replica *r)
{
    ckv_store_free(r->store);
    ckv_wlog_free(r->wlog);
    r->store = NULL;
    r->wlog = NULL;
}

bool ckv_replica_has_peers(const ckv_replica *r)
{
    return r->self >= 0 && r->map.rf > 1;
}

uint32_t ckv_replica_owner(const ckv_replica *r, const char *key, size_t len)
{
    return ckv_shard_map_owner(&r->map, key, len);
}

void ckv_replica_normalise(const ckv_replica *r, ckv_context *ctx)
{
    if (ctx->epoch < r->map.epoch) {
        ctx->epoch = r->map.epoch;
        ckv_vclock_init(&ctx->clock, r->map.view.n);
    }
}

/* The context holds no history to be placed after, or says how late its history is. */
static bool tracks_lamport(const ckv_context *ctx)
{
    return ctx->has_lamport || ckv_vclock_is_zero(&ctx->clock);
}

bool ckv_replica_serving(const ckv_replica *r, ckv_op op)
{
    if (r->self < 0 || !r->view_confirmed || !r->has_base || r->bootstrapping)
        return false;
    return op == CKV_OP_GET || !(r->writes_paused || r->counter_pending);
}

bool ckv_replica_ready(const ckv_replica *r, const ckv_context *ctx, ckv_op op)
{
    if (!ckv_replica_serving(r, op))
        return false;
    if (ctx->epoch != r->map.epoch)
        return false; /* newer: a view change not committed here yet */
    if (op != CKV_OP_GET && tracks_lamport(ctx))
        return true; /* its Lamport time will be above everything it depends on */
    return ckv_replica_has_history(r, ctx);
}

bool ckv_replica_has_history(const ckv_replica *r, const ckv_context *ctx)
{
    if (r->self < 0 || ctx->epoch != r->map.epoch)
        return false;
    uint32_t first = ckv_shard_map_first_replica(&r->map, r->shard);
    return ckv_vclock_covers(&r->clock, &ctx->clock, first, r->map.rf);
}

/* The reader (or writer) is bound to the version's write and all it depended on; a
 * version's Lamport time is above that of everything it depended on, so the context's
 * Lamport time stays above its whole history. */
static void merge_version(ckv_context *ctx, const ckv_version *v)
{
    if (v == NULL)
        return;
    ckv_vclock *c = &ctx->clock;
    if (v->origin != CKV_ORIGIN_BASE && v->origin < c->n && c->c[v->origin] < v->seq)
        c->c[v->origin] = v->seq;
    ckv_vclock_merge_deps(c, v->deps);
    if (ctx->lamport < v->lamport)
        ctx->lamport = v->lamport;
}

static void journal_version(const ckv_replica *r, const ckv_version *v, bool advances)
{
    if (r->journal != NULL)
        r->journal->version(r->journal->arg, v, advances);
}

int ckv_replica_write(ckv_replica *r, const char *key, size_t klen, const char *value, size_t vlen,
                      bool tombstone, ckv_context *ctx, const ckv_version **out,
                      ckv_write_info *info)
{
    if (out != NULL)
        *out = NULL;
    if (r->self < 0)
        return CKV_ERROR;
    const ckv_version *cur = ckv_store_get(r->store, key, klen);
    bool live = cur != NULL && !cur->tombstone;
    bool partial = !ckv_replica_has_history(r, ctx);
    if (info != NULL)
        *info = (ckv_write_info){.replaced = live, .partial = partial};
    bool tracked = tracks_lamport(ctx);
    /* Without the whole history the key may be live in the writer's view: the tombstone
     * is written anyway, so that it orders after the write this replica has not seen. */
    if (tombstone && !live && !partial) {
        merge_version(ctx, cur);
        ctx->has_lamport = tracked;
        return CKV_DECLINED;
    }
    uint32_t self = (uint32_t)r->self;
    uint64_t seq = r->clock.c[self] + 1;
    uint64_t above = cur != NULL && cur->lamport > r->lamport ? cur->lamport : r->lamport;
    if (tracked && ctx->lamport > above)
        above = ctx->lamport; /* after every write the writer has seen, here or not */
    ckv_deps *deps = ckv_deps_new(&ctx->clock);
    if (deps == NULL && !ckv_vclock_is_zero(&ctx->clock))
        return CKV_NOMEM;
    ckv_version *v =
        ckv_version_new(key, klen, value, vlen, tombstone, (uint16_t)self, seq, above + 1, deps);
    ckv_deps_unref(deps);
    if (v == NULL)
        return CKV_NOMEM;
    /* above the key's current version, it always wins the join */
    int rc = ckv_store_join(r->store, v);
    if (rc == CKV_OK) {
        r->clock.c[self] = seq;
        r->lamport = above + 1;
        if (ckv_replica_has_peers(r))
            ckv_wlog_append(r->wlog, v);
        journal_version(r, v, true);
        if (ctx->clock.c[self] < seq)
            ctx->clock.c[self] = seq;
        if (ctx->lamport < above + 1)
            ctx->lamport = above + 1;
        ctx->has_lamport = tracked;
        if (out != NULL)
            *out = v; /* the store holds it */
    }
    ckv_version_unref(v);
    return rc == CKV_OK ? CKV_OK : CKV_NOMEM;
}

const ckv_version *ckv_replica_read(const ckv_replica *r, const char *key, size_t klen,
                                    ckv_context *ctx)
{
    const ckv_version *v = ckv_store_get(r->store, key, klen);
    bool tracked = tracks_lamport(ctx);
    merge_version(ctx, v);
    ctx->has_lamport = tracked;
    return v;
}

static bool join(ckv_replica *r, ckv_version *v)
{
    if (v->lamport > r->lamport)
        r->lamport = v->lamport;
    return ckv_store_join(r->store, v) == CKV_OK;
}

bool ckv_replica_apply(ckv_replica *r, ckv_version *v)
{
    bool installed = join(r, v);
    if (installed)
        journal_version(r, v, false);
    return installed;
}

ckv_push_result ckv_replica_apply_push(ckv_replica *r, uint32_t from, ckv_version *v)
{
    if (from >= r->clock.n || v->origin != from)
        return CKV_PUSH_REFUSED;
    if (v->seq <= r->clock.c[from])
        return CKV_PUSH_DUPLICATE;
    if (v->seq != r->clock.c[from] + 1)
        return CKV_PUSH_REFUSED;
    join(r, v);
    r->clock.c[from] = v->seq;
    journal_version(r, v, true); /* even when the join kept a later version: the clock moved */
    return CKV_PUSH_APPLIED;
}

bool ckv_replica_merge_clock(ckv_replica *r, const ckv_vclock *theirs)
{
    ckv_vclock before = r->clock;
    ckv_vclock_merge(&r->clock, theirs);
    if (r->self >= 0 && r->clock.c[r->self] != before.c[r->self])
        ckv_wlog_reset(r->wlog, r->clock.c[r->self]); /* learnt after a restart */
    bool advanced = !ckv_vclock_leq(&r->clock, &before);
    if (advanced && r->journal != NULL)
        r->journal->clock(r->journal->arg, &r->clock);
    return advanced;
}

void ckv_replica_enter_epoch(ckv_replica *r, const ckv_shard_map *map, ckv_store *base,
                             uint64_t base_lamport)
{
    if (base != NULL) {
        ckv_store_free(r->store);
        r->store = base;
    } else {
        ckv_store_clear(r->store);
    }
    set_map(r, map);
    if (base_lamport > r->lamport)
        r->lamport = base_lamport;
    /* every replica of a new shard starts from the same base, counters at zero */
    r->has_base = true;
    r->bootstrapping = false;
    r->counter_pending = false;
    r->view_confirmed = true;
    if (r->journal != NULL)
        r->journal->epoch(r->journal->arg, r);
}

void ckv_replica_confirm_view(ckv_replica *r, bool confirmed)
{
    r->view_confirmed = confirmed;
}

void ckv_replica_reads_caught_up(ckv_replica *r)
{
    r->bootstrapping = false;
}

void ckv_replica_counter_known(ckv_replica *r)
{
    r->counter_pending = false;
}

void ckv_replica_pause_writes(ckv_replica *r, bool paused)
{
    r->writes_paused = paused;
}

void ckv_replica_adopt_view(ckv_replica *r, const ckv_shard_map *map)
{
    ckv_store_clear(r->store);
    set_map(r, map);
    r->view_confirmed = true;
    /* with a single replica there is nobody to fetch the base from */
    r->has_base = map->epoch == 0 || !ckv_replica_has_peers(r);
    wait_for_peers(r);
    if (r->journal != NULL)
        r->journal->epoch(r->journal->arg, r);
}

void ckv_replica_hold_base(ckv_replica *r)
{
    if (r->has_base)
        return;
    r->has_base = true;
    if (r->journal != NULL)
        r->journal->base_held(r->journal->arg);
}

static int replay_version(ckv_replica *r, const ckv_jrec *rec)
{
    ckv_version *v = rec->version;
    if (v->origin != CKV_ORIGIN_BASE && v->origin >= r->clock.n)
        return CKV_ERROR;
    join(r, v);
    if (rec->advances && v->origin != CKV_ORIGIN_BASE && r->clock.c[v->origin] < v->seq)
        r->clock.c[v->origin] = v->seq;
    return CKV_OK;
}

int ckv_replica_replay(ckv_replica *r, const ckv_jrec *rec)
{
    switch (rec->type) {
    case CKV_JREC_VERSION:
        return replay_version(r, rec);
    case CKV_JREC_CLOCK:
        if (rec->clock.n != r->clock.n)
            return CKV_ERROR;
        ckv_vclock_merge(&r->clock, &rec->clock);
        return CKV_OK;
    case CKV_JREC_EPOCH:
        ckv_store_clear(r->store);
        set_map(r, &rec->map);
        if (rec->base_lamport > r->lamport)
            r->lamport = rec->base_lamport;
        r->has_base = rec->has_base;
        return CKV_OK;
    case CKV_JREC_BASE_HELD:
        r->has_base = true;
        return CKV_OK;
    case CKV_JREC_SNAPSHOT:
        if (rec->lamport > r->lamport)
            r->lamport = rec->lamport;
        return CKV_OK;
    case CKV_JREC_END:
        return CKV_OK;
    }
    return CKV_ERROR;
}

void ckv_replica_recovered(ckv_replica *r)
{
    ckv_wlog_reset(r->wlog, r->self >= 0 ? r->clock.c[r->self] : 0);
    r->view_confirmed = false;
    wait_for_peers(r);
}
