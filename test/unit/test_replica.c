/* test_replica.c — the causal rules of replica.c: dots, Lamport times, readiness, the
 * epoch rule, push and anti-entropy, epochs, restarts, and convergence under every
 * arrival order of small histories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "causalkv/replica.h"

/* 4 nodes, 2 replicas per shard: shard 1 = {A, B}, shard 2 = {C, D}. */
#define A "10.0.0.1:1"
#define B "10.0.0.2:1"
#define C "10.0.0.3:1"
#define D "10.0.0.4:1"

static ckv_shard_map map_of(const char *csv, long rf, uint64_t epoch)
{
    ckv_view v;
    char err[128];
    assert_int_equal(ckv_view_parse_csv(csv, &v, err, sizeof(err)), CKV_OK);
    ckv_shard_map m;
    assert_int_equal(ckv_shard_map_init(&m, &v, rf, epoch, err, sizeof(err)), CKV_OK);
    return m;
}

static const char *const VIEW4 = A "," B "," C "," D;

/* A replica of VIEW4 that serves: view confirmed, caught up with its peers. */
static void open_replica(ckv_replica *r, const char *self)
{
    ckv_shard_map m = map_of(VIEW4, 2, 0);
    assert_int_equal(ckv_replica_init(r, &m, self, 64), CKV_OK);
    r->view_confirmed = true;
    r->bootstrapping = false;
    r->counter_pending = false;
}

static ckv_context empty_ctx(const ckv_replica *r)
{
    ckv_context c = {.epoch = r->map.epoch};
    ckv_vclock_init(&c.clock, r->map.view.n);
    return c;
}

static void put(ckv_replica *r, const char *key, const char *value, ckv_context *ctx,
                const ckv_version **out)
{
    assert_int_equal(
        ckv_replica_write(r, key, strlen(key), value, strlen(value), false, ctx, out, NULL),
        CKV_OK);
}

static const char *value_of(const ckv_replica *r, const char *key)
{
    static char buf[64];
    const ckv_version *v = ckv_store_get(r->store, key, strlen(key));
    if (v == NULL || v->tombstone)
        return NULL;
    snprintf(buf, sizeof(buf), "%.*s", (int)v->value_len, ckv_version_value(v));
    return buf;
}

/* A local write takes the next own dot and a Lamport time above the node's and the
 * key's; the reply context gains the dot; the context becomes the dependencies. */
static void test_local_write_dot_lamport_deps(void **state)
{
    (void)state;
    ckv_replica a;
    open_replica(&a, A);
    ckv_context ctx = empty_ctx(&a);
    ctx.clock.c[2] = 7; /* the client has seen C's 7th write (another shard) */
    const ckv_version *v1, *v2;
    put(&a, "x", "1", &ctx, &v1);
    assert_int_equal(v1->origin, 0);
    assert_int_equal(v1->seq, 1);
    assert_int_equal(v1->lamport, 1);
    assert_non_null(v1->deps);
    assert_int_equal(v1->deps->c[2], 7);
    assert_int_equal(ctx.clock.c[0], 1);
    put(&a, "y", "2", &ctx, &v2);
    assert_int_equal(v2->seq, 2);
    assert_int_equal(v2->lamport, 2);
    assert_int_equal(v2->deps->c[0], 1); /* monotonic writes: y depends on x */
    assert_int_equal(a.clock.c[0], 2);
    assert_int_equal(ckv_wlog_last_seq(a.wlog), 2);

    /* a version from a peer with a higher Lamport time: the next write goes above it */
    ckv_version *high = ckv_version_new("x", 1, "9", 1, false, 1, 1, 50, NULL);
    assert_true(ckv_replica_apply(&a, high));
    ckv_version_unref(high);
    const ckv_version *v3;
    put(&a, "x", "3", &ctx, &v3);
    assert_int_equal(v3->lamport, 51);
    assert_string_equal(value_of(&a, "x"), "3");
    ckv_replica_free(&a);
}

/* A read returns merge(ctx, dot, dependencies); a base version has no dot. */
static void test_read_merges_dot_and_deps(void **state)
{
    (void)state;
    ckv_replica a;
    open_replica(&a, A);
    ckv_context w = empty_ctx(&a);
    w.clock.c[3] = 4;
    put(&a, "k", "v", &w, NULL);
    ckv_context r = empty_ctx(&a);
    const ckv_version *got = ckv_replica_read(&a, "k", 1, &r);
    assert_non_null(got);
    assert_int_equal(r.clock.c[0], 1); /* the dot */
    assert_int_equal(r.clock.c[3], 4); /* what the writer had seen */
    /* a never-written key leaves the context alone */
    ckv_context before = r;
    assert_null(ckv_replica_read(&a, "nope", 4, &r));
    assert_memory_equal(&before, &r, sizeof(r));
    /* base state of an epoch carries no dot */
    ckv_version *base = ckv_version_new("b", 1, "0", 1, false, CKV_ORIGIN_BASE, 0, 3, NULL);
    assert_true(ckv_replica_apply(&a, base));
    ckv_version_unref(base);
    ckv_context r2 = empty_ctx(&a);
    ckv_replica_read(&a, "b", 1, &r2);
    assert_true(ckv_vclock_is_zero(&r2.clock));
    ckv_replica_free(&a);
}

/* Readiness: ctx[r] <= clock[r] for the replicas of this shard only. */
static void test_readiness_own_shard_only(void **state)
{
    (void)state;
    ckv_replica a;
    open_replica(&a, A);
    ckv_context ctx = empty_ctx(&a);
    assert_true(ckv_replica_ready(&a, &ctx, CKV_OP_GET));
    ctx.clock.c[2] = 100; /* another shard: not this replica's business */
    assert_true(ckv_replica_ready(&a, &ctx, CKV_OP_PUT));
    ctx.clock.c[1] = 1; /* B's first write, not here yet */
    assert_false(ckv_replica_ready(&a, &ctx, CKV_OP_GET));
    assert_false(ckv_replica_ready(&a, &ctx, CKV_OP_PUT)); /* writes follow reads */
    ckv_version *bw = ckv_version_new("k", 1, "b", 1, false, 1, 1, 1, NULL);
    assert_int_equal(ckv_replica_apply_push(&a, 1, bw), CKV_PUSH_APPLIED);
    ckv_version_unref(bw);
    assert_true(ckv_replica_ready(&a, &ctx, CKV_OP_GET));
    ckv_replica_free(&a);
}

/* The epoch rule: an older context is empty here; a newer one is not ready. */
static void test_epoch_rule(void **state)
{
    (void)state;
    ckv_replica a;
    ckv_shard_map m = map_of(VIEW4, 2, 3);
    assert_int_equal(ckv_replica_init(&a, &m, A, 8), CKV_OK);
    a.view_confirmed = true;
    a.bootstrapping = a.counter_pending = false;
    ckv_context old = {.epoch = 2};
    ckv_vclock_init(&old.clock, 4);
    old.clock.c[0] = 99;
    ckv_replica_normalise(&a, &old);
    assert_int_equal(old.epoch, 3);
    assert_true(ckv_vclock_is_zero(&old.clock));
    assert_true(ckv_replica_ready(&a, &old, CKV_OP_PUT));
    ckv_context newer = {.epoch = 4};
    ckv_vclock_init(&newer.clock, 4);
    ckv_replica_normalise(&a, &newer);
    assert_int_equal(newer.epoch, 4);
    assert_false(ckv_replica_ready(&a, &newer, CKV_OP_GET));
    ckv_replica_free(&a);
}

/* The serving gates hold whatever the context says. */
static void test_serving_gates(void **state)
{
    (void)state;
    ckv_replica a;
    ckv_shard_map m = map_of(VIEW4, 2, 0);
    assert_int_equal(ckv_replica_init(&a, &m, A, 8), CKV_OK);
    ckv_context ctx = empty_ctx(&a);
    /* a fresh start: view unconfirmed, peers not heard from */
    assert_false(a.view_confirmed);
    assert_true(a.bootstrapping && a.counter_pending && a.has_base);
    assert_false(ckv_replica_ready(&a, &ctx, CKV_OP_GET));
    ckv_replica_confirm_view(&a, true);
    assert_false(ckv_replica_ready(&a, &ctx, CKV_OP_GET)); /* no replica answered yet */
    ckv_replica_reads_caught_up(&a);
    assert_true(ckv_replica_ready(&a, &ctx, CKV_OP_GET));
    assert_false(ckv_replica_ready(&a, &ctx, CKV_OP_PUT)); /* own counter not known */
    assert_false(ckv_replica_ready(&a, &ctx, CKV_OP_DELETE));
    ckv_replica_counter_known(&a);
    assert_true(ckv_replica_ready(&a, &ctx, CKV_OP_PUT));
    ckv_replica_pause_writes(&a, true); /* a view change prepares */
    assert_true(ckv_replica_ready(&a, &ctx, CKV_OP_GET));
    assert_false(ckv_replica_ready(&a, &ctx, CKV_OP_PUT));
    assert_true(ckv_replica_serving(&a, CKV_OP_GET));
    assert_false(ckv_replica_serving(&a, CKV_OP_PUT));
    ckv_replica_pause_writes(&a, false);
    assert_true(ckv_replica_serving(&a, CKV_OP_PUT));
    ckv_replica_confirm_view(&a, false); /* a doubt: the members are asked again */
    assert_false(ckv_replica_serving(&a, CKV_OP_GET));
    assert_false(ckv_replica_ready(&a, &ctx, CKV_OP_GET));
    ckv_replica_confirm_view(&a, true);
    /* the gates alone: a context this replica lacks the history of is not ready, but
     * the replica serves (a read may go to a replica that holds that history) */
    ckv_context ahead = empty_ctx(&a);
    ahead.clock.c[1] = 3;
    assert_false(ckv_replica_ready(&a, &ahead, CKV_OP_GET));
    assert_true(ckv_replica_serving(&a, CKV_OP_GET));
    a.has_base = false; /* joined an epoch late */
    assert_false(ckv_replica_ready(&a, &ctx, CKV_OP_GET));
    assert_false(ckv_replica_serving(&a, CKV_OP_GET));
    ckv_replica_free(&a);

    /* a single replica per shard has nobody to wait for */
    ckv_replica solo;
    ckv_shard_map m1 = map_of(A "," B, 1, 0);
    assert_int_equal(ckv_replica_init(&solo, &m1, B, 8), CKV_OK);
    assert_false(solo.bootstrapping || solo.counter_pending);
    assert_false(ckv_replica_has_peers(&solo));
    ckv_replica_free(&solo);

    /* a standby (not in the view) serves nothing itself */
    ckv_replica standby;
    assert_int_equal(ckv_replica_init(&standby, &m, "10.0.0.9:1", 8), CKV_OK);
    ckv_replica_confirm_view(&standby, true);
    assert_int_equal(standby.self, -1);
    assert_false(ckv_replica_ready(&standby, &ctx, CKV_OP_GET));
    assert_int_equal(ckv_replica_write(&standby, "k", 1, "v", 1, false, &ctx, NULL, NULL),
                     CKV_ERROR);
    ckv_replica_free(&standby);
}

/* Push: only the next write of its origin applies; the clock stays exact. */
static void test_push_next_only(void **state)
{
    (void)state;
    ckv_replica b;
    open_replica(&b, B);
    ckv_version *w1 = ckv_version_new("k", 1, "1", 1, false, 0, 1, 1, NULL);
    ckv_version *w2 = ckv_version_new("k", 1, "2", 1, false, 0, 2, 2, NULL);
    ckv_version *w3 = ckv_version_new("j", 1, "3", 1, false, 0, 3, 3, NULL);
    assert_int_equal(ckv_replica_apply_push(&b, 0, w2), CKV_PUSH_REFUSED); /* gap */
    assert_int_equal(b.clock.c[0], 0);
    assert_int_equal(ckv_replica_apply_push(&b, 0, w1), CKV_PUSH_APPLIED);
    assert_int_equal(ckv_replica_apply_push(&b, 0, w1), CKV_PUSH_DUPLICATE);
    assert_int_equal(ckv_replica_apply_push(&b, 2, w2), CKV_PUSH_REFUSED); /* not C's write */
    assert_int_equal(ckv_replica_apply_push(&b, 0, w2), CKV_PUSH_APPLIED);
    assert_int_equal(ckv_replica_apply_push(&b, 0, w3), CKV_PUSH_APPLIED);
    assert_int_equal(b.clock.c[0], 3);
    assert_int_equal(b.lamport, 3);
    assert_string_equal(value_of(&b, "k"), "2");
    ckv_version_unref(w1);
    ckv_version_unref(w2);
    ckv_version_unref(w3);
    ckv_replica_free(&b);
}

/* A restarted node learns its counter from a replica and never reuses a dot. */
static void test_restart_learns_counter(void **state)
{
    (void)state;
    ckv_replica b;
    open_replica(&b, B);
    ckv_context ctx = empty_ctx(&b);
    for (int i = 0; i < 5; i++)
        put(&b, "k", "before", &ctx, NULL);
    ckv_vclock held = b.clock; /* what A holds of B after B's pushes */
    ckv_replica_free(&b);

    ckv_replica fresh;
    ckv_shard_map m = map_of(VIEW4, 2, 0);
    assert_int_equal(ckv_replica_init(&fresh, &m, B, 64), CKV_OK);
    fresh.view_confirmed = true;
    ckv_context c2 = empty_ctx(&fresh);
    assert_false(ckv_replica_ready(&fresh, &c2, CKV_OP_PUT)); /* counter unknown: wait */
    assert_true(ckv_replica_merge_clock(&fresh, &held));
    fresh.bootstrapping = fresh.counter_pending = false;
    const ckv_version *v;
    put(&fresh, "k", "after", &c2, &v);
    assert_int_equal(v->seq, 6);
    assert_int_equal(ckv_wlog_last_seq(fresh.wlog), 6);   /* the log continues from 5 */
    assert_false(ckv_replica_merge_clock(&fresh, &held)); /* nothing new */
    ckv_replica_free(&fresh);
}

/* A causally later write wins over the earlier one on every replica. */
static void test_causally_later_write_wins(void **state)
{
    (void)state;
    ckv_replica a, c;
    open_replica(&a, A);
    open_replica(&c, B);
    /* A writes x many times (high Lamport); B learns it, then overwrites */
    ckv_context ca = empty_ctx(&a);
    const ckv_version *ax = NULL;
    for (int i = 0; i < 10; i++)
        put(&a, "x", "a", &ca, &ax);
    ckv_version *copy = ckv_version_ref((ckv_version *)ax);
    assert_true(ckv_replica_apply(&c, copy));
    ckv_context cb = empty_ctx(&c);
    ckv_replica_read(&c, "x", 1, &cb);
    const ckv_version *bx;
    put(&c, "x", "b", &cb, &bx);
    assert_true(bx->lamport > ax->lamport);
    ckv_version *back = ckv_version_ref((ckv_version *)bx);
    assert_true(ckv_replica_apply(&a, back));
    assert_string_equal(value_of(&a, "x"), "b");
    assert_string_equal(value_of(&c, "x"), "b");
    ckv_version_unref(copy);
    ckv_version_unref(back);
    ckv_replica_free(&a);
    ckv_replica_free(&c);
}

/* Concurrent writes (and a delete) applied in every order give one state. */
/* Calls visit with every order of the 4 versions (Heap's algorithm); returns how many. */
static int each_order(ckv_version *const vs[4], void (*visit)(ckv_version *const order[4], void *),
                      void *arg)
{
    int perm[4] = {0, 1, 2, 3}, cnt[4] = {0}, orders = 0;
    for (int i = 0;;) {
        ckv_version *order[4] = {vs[perm[0]], vs[perm[1]], vs[perm[2]], vs[perm[3]]};
        visit(order, arg);
        orders++;
        while (i < 4 && cnt[i] >= i) {
            cnt[i] = 0;
            i++;
        }
        if (i >= 4)
            return orders;
        int swap = i % 2 == 0 ? 0 : cnt[i];
        int t = perm[swap];
        perm[swap] = perm[i];
        perm[i] = t;
        cnt[i]++;
        i = 1;
    }
}

/* A fresh replica that received the versions in this order, twice (idempotence). */
static void receive(ckv_replica *r, ckv_version *const order[4])
{
    open_replica(r, D);
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < 4; k++)
            ckv_replica_apply(r, order[k]);
}

typedef struct first_seen {
    char k[8], j[8];
    int orders;
} first_seen;

static void same_as_first(ckv_version *const order[4], void *arg)
{
    first_seen *f = arg;
    ckv_replica r;
    receive(&r, order);
    const char *k = value_of(&r, "k");
    assert_non_null(k);
    if (f->orders == 0)
        snprintf(f->k, sizeof(f->k), "%s", k);
    assert_string_equal(k, f->k);
    const char *j = value_of(&r, "j");
    if (f->orders == 0)
        snprintf(f->j, sizeof(f->j), "%s", j);
    assert_string_equal(j, f->j);
    assert_int_equal(r.lamport, 5);
    ckv_replica_free(&r);
    f->orders++;
}

static void test_every_arrival_order_converges(void **state)
{
    (void)state;
    ckv_version *vs[4] = {
        ckv_version_new("k", 1, "a", 1, false, 0, 1, 5, NULL),
        ckv_version_new("k", 1, "b", 1, false, 1, 1, 5, NULL), /* same Lamport, higher origin */
        ckv_version_new("k", 1, NULL, 0, true, 2, 1, 4, NULL), /* an older delete */
        ckv_version_new("j", 1, "c", 1, false, 3, 1, 1, NULL),
    };
    first_seen f = {.orders = 0};
    assert_int_equal(each_order(vs, same_as_first, &f), 24);
    assert_string_equal(f.k, "b"); /* (5, origin 1) beats (5, origin 0) and (4, ...) */
    for (int i = 0; i < 4; i++)
        ckv_version_unref(vs[i]);
}

/* A delete is a versioned write: a reader of the delete is bound to it, and an older
 * value that arrives late does not bring the key back. */
static void test_delete_is_a_write(void **state)
{
    (void)state;
    ckv_replica a, b;
    open_replica(&a, A);
    open_replica(&b, B);
    ckv_context ctx = empty_ctx(&a);
    const ckv_version *put_v, *del_v;
    put(&a, "k", "v", &ctx, &put_v);
    ckv_version *pv = ckv_version_ref((ckv_version *)put_v);
    ckv_write_info found = {.replaced = false};
    assert_int_equal(ckv_replica_write(&a, "k", 1, NULL, 0, true, &ctx, &del_v, &found), CKV_OK);
    assert_true(found.replaced);
    assert_false(found.partial);
    assert_true(del_v->tombstone);
    assert_int_equal(del_v->seq, 2);
    /* deleting it again writes nothing, and binds the context to the delete it saw */
    ckv_context again = empty_ctx(&a);
    assert_int_equal(ckv_replica_write(&a, "k", 1, NULL, 0, true, &again, NULL, &found),
                     CKV_DECLINED);
    assert_false(found.replaced);
    assert_int_equal(again.clock.c[0], 2);
    assert_int_equal(a.clock.c[0], 2);
    ckv_version *dv = ckv_version_ref((ckv_version *)del_v);
    assert_true(ckv_replica_apply(&b, dv));
    assert_false(ckv_replica_apply(&b, pv)); /* late, older: declined */
    assert_null(value_of(&b, "k"));
    ckv_context r = empty_ctx(&b);
    const ckv_version *got = ckv_replica_read(&b, "k", 1, &r);
    assert_true(got != NULL && got->tombstone);
    assert_int_equal(r.clock.c[0], 2);
    ckv_version_unref(pv);
    ckv_version_unref(dv);
    ckv_replica_free(&a);
    ckv_replica_free(&b);
}

/* Entering an epoch: new map, zero clock and log, base installed, Lamport kept. */
static void test_enter_epoch(void **state)
{
    (void)state;
    ckv_replica a;
    open_replica(&a, A);
    ckv_context ctx = empty_ctx(&a);
    put(&a, "gone", "v", &ctx, NULL);
    ckv_store *base = ckv_store_new();
    ckv_version *bv = ckv_version_new("k", 1, "base", 4, false, CKV_ORIGIN_BASE, 0, 40, NULL);
    assert_int_equal(ckv_store_join(base, bv), CKV_OK);
    ckv_version_unref(bv);
    ckv_shard_map next = map_of(C "," A, 1, 1); /* A is now shard 2 of 2 */
    a.writes_paused = true;
    ckv_replica_enter_epoch(&a, &next, base, 40);
    assert_int_equal(a.map.epoch, 1);
    assert_int_equal(a.self, 1);
    assert_int_equal(a.shard, 2);
    assert_true(ckv_vclock_is_zero(&a.clock));
    assert_int_equal(a.clock.n, 2);
    assert_int_equal(ckv_wlog_last_seq(a.wlog), 0);
    assert_null(value_of(&a, "gone"));
    assert_string_equal(value_of(&a, "k"), "base");
    assert_true(a.view_confirmed && a.has_base);
    assert_false(a.bootstrapping || a.counter_pending);
    a.writes_paused = false;
    ckv_context c1 = empty_ctx(&a);
    const ckv_version *w;
    put(&a, "k", "new", &c1, &w);
    assert_int_equal(w->seq, 1);
    assert_int_equal(w->lamport, 41); /* above the base: the new write wins everywhere */
    ckv_replica_free(&a);
}

/* Adopting a view learnt from a member: store dropped, base to fetch, peers to ask. */
static void test_adopt_view(void **state)
{
    (void)state;
    ckv_replica d;
    open_replica(&d, D);
    ckv_context ctx = empty_ctx(&d);
    put(&d, "old", "v", &ctx, NULL);
    uint64_t gen = d.map_gen;
    ckv_shard_map later = map_of(VIEW4, 2, 2);
    ckv_replica_adopt_view(&d, &later);
    assert_true(d.map_gen > gen);
    assert_int_equal(ckv_store_live_count(d.store), 0);
    assert_true(d.view_confirmed);
    assert_false(d.has_base); /* the other replica holds epoch 2's base state */
    assert_true(d.bootstrapping && d.counter_pending);
    /* adopting a view that does not include it: a standby, nothing to fetch */
    ckv_shard_map without = map_of(A "," B, 2, 3);
    ckv_replica_adopt_view(&d, &without);
    assert_int_equal(d.self, -1);
    assert_true(d.has_base);
    assert_false(d.bootstrapping || d.counter_pending);
    ckv_replica_free(&d);
}

/* ---- the journal: what a restart replays ---------------------------------------------- */

#define REC_MAX 64

/* Keeps every record the replica announces, as persistence would write them. */
typedef struct recorder {
    ckv_jrec recs[REC_MAX];
    size_t n;
} recorder;

static ckv_jrec *next_rec(recorder *rc, ckv_jrec_type type)
{
    assert_true(rc->n < REC_MAX);
    ckv_jrec *r = &rc->recs[rc->n++];
    memset(r, 0, sizeof(*r));
    r->type = type;
    return r;
}

static void rec_version(void *arg, const ckv_version *v, bool advances)
{
    ckv_jrec *r = next_rec(arg, CKV_JREC_VERSION);
    r->version = ckv_version_ref((ckv_version *)v);
    r->advances = advances;
}

static void rec_clock(void *arg, const ckv_vclock *clock)
{
    next_rec(arg, CKV_JREC_CLOCK)->clock = *clock;
}

/* What a journal writes on an epoch: the map, then the store the epoch starts from. */
static void rec_epoch(void *arg, const ckv_replica *r)
{
    ckv_jrec *e = next_rec(arg, CKV_JREC_EPOCH);
    e->map = r->map;
    e->base_lamport = r->lamport;
    e->has_base = r->has_base;
    size_t cursor = 0;
    for (const ckv_version *v; (v = ckv_store_next(r->store, &cursor)) != NULL;)
        rec_version(arg, v, false);
}

static void rec_base_held(void *arg)
{
    next_rec(arg, CKV_JREC_BASE_HELD);
}

static const ckv_replica_journal recorder_journal = {rec_version, rec_clock, rec_epoch,
                                                     rec_base_held, NULL};

static void recorder_free(recorder *rc)
{
    for (size_t i = 0; i < rc->n; i++)
        if (rc->recs[i].type == CKV_JREC_VERSION)
            ckv_version_unref(rc->recs[i].version);
}

/* A fresh node of VIEW4 that replays recs[0..n). */
static void replay_into(ckv_replica *r, const char *self, const recorder *rc, size_t n)
{
    ckv_shard_map m = map_of(VIEW4, 2, 0);
    assert_int_equal(ckv_replica_init(r, &m, self, 64), CKV_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ckv_replica_replay(r, &rc->recs[i]), CKV_OK);
    ckv_replica_recovered(r);
}

static void assert_same_state(const ckv_replica *a, const ckv_replica *b)
{
    assert_int_equal(a->map.epoch, b->map.epoch);
    assert_int_equal(a->map.view.n, b->map.view.n);
    assert_int_equal(a->self, b->self);
    assert_int_equal(a->lamport, b->lamport);
    assert_int_equal(a->has_base, b->has_base);
    assert_memory_equal(&a->clock, &b->clock, sizeof(a->clock));
    assert_int_equal(ckv_store_live_count(a->store), ckv_store_live_count(b->store));
    assert_int_equal(ckv_store_tombstone_count(a->store), ckv_store_tombstone_count(b->store));
    size_t cursor = 0;
    for (const ckv_version *v; (v = ckv_store_next(a->store, &cursor)) != NULL;) {
        const ckv_version *w = ckv_store_get(b->store, ckv_version_key(v), v->key_len);
        assert_non_null(w);
        assert_int_equal(ckv_version_cmp(v, w), 0);
        assert_int_equal(v->tombstone, w->tombstone);
    }
}

/* Every change a restart needs is announced, and replaying the announcements gives the
 * same state: writes, deletes, pushes (clock moved even when the join kept a later
 * version), anti-entropy versions, a clock merge that moves the own counter, an epoch
 * with its base, and a view adopted without its base until the base arrives. */
static void test_journal_replay_gives_the_same_state(void **state)
{
    (void)state;
    recorder rc = {.n = 0};
    ckv_replica_journal j = recorder_journal;
    j.arg = &rc;
    ckv_replica a;
    open_replica(&a, A);
    a.journal = &j;
    ckv_context ctx = empty_ctx(&a);
    put(&a, "x", "1", &ctx, NULL);
    put(&a, "y", "2", &ctx, NULL);
    assert_int_equal(ckv_replica_write(&a, "x", 1, NULL, 0, true, &ctx, NULL, NULL), CKV_OK);
    ckv_version *late = ckv_version_new("y", 1, "old", 3, false, 1, 1, 1, NULL); /* B's 1st */
    assert_int_equal(ckv_replica_apply_push(&a, 1, late), CKV_PUSH_APPLIED);     /* y keeps "2" */
    ckv_version *ae = ckv_version_new("z", 1, "3", 1, false, 1, 2, 9, NULL);
    assert_true(ckv_replica_apply(&a, ae));
    ckv_vclock theirs = a.clock;
    theirs.c[0] = 7; /* A's counter was further on a replica (a restart before) */
    theirs.c[1] = 2;
    assert_true(ckv_replica_merge_clock(&a, &theirs));
    size_t before_epoch = rc.n;
    ckv_replica copy;
    replay_into(&copy, A, &rc, rc.n);
    assert_same_state(&a, &copy);
    assert_int_equal(ckv_wlog_last_seq(copy.wlog), 7); /* own writes go on from 8 */
    assert_false(copy.view_confirmed);
    assert_true(copy.bootstrapping && copy.counter_pending);
    ckv_replica_free(&copy);

    ckv_store *base = ckv_store_new();
    ckv_version *bv = ckv_version_new("k", 1, "b", 1, false, CKV_ORIGIN_BASE, 0, 40, NULL);
    assert_int_equal(ckv_store_join(base, bv), CKV_OK);
    ckv_shard_map next = map_of(VIEW4, 2, 1);
    ckv_replica_enter_epoch(&a, &next, base, 40);
    ckv_context c1 = empty_ctx(&a);
    put(&a, "k", "after", &c1, NULL);
    replay_into(&copy, A, &rc, rc.n);
    assert_same_state(&a, &copy);
    ckv_replica_free(&copy);
    assert_true(rc.n > before_epoch);

    ckv_shard_map later = map_of(VIEW4, 2, 2);
    ckv_replica_adopt_view(&a, &later);
    replay_into(&copy, A, &rc, rc.n);
    assert_same_state(&a, &copy);
    assert_false(copy.has_base);
    ckv_replica_free(&copy);
    assert_true(ckv_replica_apply(&a, bv));
    ckv_replica_hold_base(&a);
    replay_into(&copy, A, &rc, rc.n);
    assert_same_state(&a, &copy);
    assert_true(copy.has_base);
    ckv_replica_free(&copy);

    ckv_version_unref(late);
    ckv_version_unref(ae);
    ckv_version_unref(bv);
    recorder_free(&rc);
    ckv_replica_free(&a);
}

/* Replay refuses what cannot belong to the state so far: a damaged journal. */
static void test_replay_refuses_what_does_not_fit(void **state)
{
    (void)state;
    ckv_replica r;
    open_replica(&r, A);
    ckv_version *v = ckv_version_new("k", 1, "v", 1, false, 9, 1, 1, NULL); /* origin 9 of 4 */
    ckv_jrec rec = {.type = CKV_JREC_VERSION, .version = v, .advances = true};
    assert_int_equal(ckv_replica_replay(&r, &rec), CKV_ERROR);
    ckv_jrec clock = {.type = CKV_JREC_CLOCK};
    ckv_vclock_init(&clock.clock, 2); /* the map has 4 members */
    assert_int_equal(ckv_replica_replay(&r, &clock), CKV_ERROR);
    ckv_jrec bad = {.type = (ckv_jrec_type)99};
    assert_int_equal(ckv_replica_replay(&r, &bad), CKV_ERROR);
    ckv_version_unref(v);
    ckv_replica_free(&r);
}

/* ---- writes that do not wait for their dependencies -------------------------------- */

/* A context that says how late its history is lets a write run at a replica that lacks
 * part of that history (a partition): its Lamport time goes above the history's, so on
 * every replica, whatever the arrival order, it wins over the earlier write it followed.
 * The write says it ran without the history; reads still wait. */
static void test_write_runs_without_its_history(void **state)
{
    (void)state;
    ckv_replica a, b;
    open_replica(&a, A);
    open_replica(&b, B);
    ckv_context ctx = empty_ctx(&a);
    assert_true(ckv_replica_ready(&a, &ctx, CKV_OP_PUT)); /* a fresh client */
    const ckv_version *w1;
    put(&a, "k", "first", &ctx, &w1);
    ckv_version *first = ckv_version_ref((ckv_version *)w1);
    assert_true(ctx.has_lamport);
    assert_int_equal(ctx.lamport, first->lamport);
    /* b never got "first": the client moves there */
    assert_false(ckv_replica_has_history(&b, &ctx));
    assert_false(ckv_replica_ready(&b, &ctx, CKV_OP_GET));
    assert_true(ckv_replica_ready(&b, &ctx, CKV_OP_PUT));
    assert_true(ckv_replica_ready(&b, &ctx, CKV_OP_DELETE));
    const ckv_version *w2;
    ckv_write_info found;
    assert_int_equal(ckv_replica_write(&b, "k", 1, "second", 6, false, &ctx, &w2, &found), CKV_OK);
    assert_true(found.partial);
    assert_false(found.replaced); /* what b held, not what the client saw */
    ckv_version *second = ckv_version_ref((ckv_version *)w2);
    assert_true(second->lamport > first->lamport);
    assert_int_equal(ctx.lamport, second->lamport);
    assert_int_equal(second->deps->c[0], 1); /* it depends on "first" */
    /* both arrival orders: b receives "first" after its own write; a receives "second" */
    assert_int_equal(ckv_replica_apply_push(&b, 0, first), CKV_PUSH_APPLIED);
    assert_int_equal(ckv_replica_apply_push(&a, 1, second), CKV_PUSH_APPLIED);
    assert_string_equal(value_of(&a, "k"), "second");
    assert_string_equal(value_of(&b, "k"), "second");
    /* with the history in, the same context is whole here again */
    assert_true(ckv_replica_has_history(&b, &ctx));
    ckv_context c2 = ctx;
    assert_int_equal(ckv_replica_write(&a, "k", 1, "third", 5, false, &c2, NULL, &found), CKV_OK);
    assert_false(found.partial);
    assert_true(found.replaced);
    assert_true(c2.lamport > second->lamport);
    ckv_version_unref(first);
    ckv_version_unref(second);
    ckv_replica_free(&a);
    ckv_replica_free(&b);
}

/* A delete at a replica that lacks the write it follows: the key holds nothing there,
 * but it may be live in the writer's view, so the tombstone is written (a delete with
 * the whole history writes nothing then); when the put arrives, the delete still wins. */
static void test_delete_without_history_is_written(void **state)
{
    (void)state;
    ckv_replica a, b;
    open_replica(&a, A);
    open_replica(&b, B);
    ckv_context ctx = empty_ctx(&a);
    const ckv_version *w1, *d;
    put(&a, "k", "v", &ctx, &w1);
    ckv_version *pv = ckv_version_ref((ckv_version *)w1);
    ckv_write_info found;
    assert_int_equal(ckv_replica_write(&b, "k", 1, NULL, 0, true, &ctx, &d, &found), CKV_OK);
    assert_true(found.partial);
    assert_false(found.replaced);
    assert_true(d != NULL && d->tombstone);
    ckv_version *dv = ckv_version_ref((ckv_version *)d);
    assert_int_equal(ckv_replica_apply_push(&b, 0, pv), CKV_PUSH_APPLIED);
    assert_null(value_of(&b, "k"));
    assert_int_equal(ckv_replica_apply_push(&a, 1, dv), CKV_PUSH_APPLIED);
    assert_null(value_of(&a, "k"));
    /* with the history here, deleting a key that holds nothing writes nothing */
    ckv_context fresh = empty_ctx(&b);
    assert_int_equal(ckv_replica_write(&b, "none", 4, NULL, 0, true, &fresh, NULL, &found),
                     CKV_DECLINED);
    assert_false(found.partial);
    ckv_version_unref(pv);
    ckv_version_unref(dv);
    ckv_replica_free(&a);
    ckv_replica_free(&b);
}

/* A context from a node that does not track Lamport times (non-empty, no lamport) waits
 * for its dependencies, as before, and its replies stay that way. */
static void test_untracked_context_waits(void **state)
{
    (void)state;
    ckv_replica b;
    open_replica(&b, B);
    ckv_context old = empty_ctx(&b);
    old.clock.c[0] = 1; /* A's first write, unknown here */
    assert_false(ckv_replica_ready(&b, &old, CKV_OP_PUT));
    b.clock.c[0] = 1; /* it arrived */
    assert_true(ckv_replica_ready(&b, &old, CKV_OP_PUT));
    put(&b, "k", "v", &old, NULL);
    assert_false(old.has_lamport);
    ckv_replica_free(&b);
}

/* Reading binds the reader to the version's Lamport time too; deleting nothing binds it
 * like a read. */
static void test_reads_carry_the_lamport_time(void **state)
{
    (void)state;
    ckv_replica a;
    open_replica(&a, A);
    ckv_version *v = ckv_version_new("k", 1, "v", 1, false, 1, 1, 77, NULL);
    assert_true(ckv_replica_apply(&a, v));
    ckv_context ctx = empty_ctx(&a);
    ckv_replica_read(&a, "k", 1, &ctx);
    assert_true(ctx.has_lamport);
    assert_int_equal(ctx.lamport, 77);
    ckv_context del = empty_ctx(&a);
    ckv_version *t = ckv_version_new("gone", 4, NULL, 0, true, 1, 2, 90, NULL);
    assert_true(ckv_replica_apply(&a, t));
    assert_int_equal(ckv_replica_write(&a, "gone", 4, NULL, 0, true, &del, NULL, NULL),
                     CKV_DECLINED);
    assert_int_equal(del.lamport, 90);
    assert_true(del.has_lamport);
    ckv_version_unref(v);
    ckv_version_unref(t);
    ckv_replica_free(&a);
}

/* Every arrival order of a history with writes that ran before their dependencies:
 * s1 writes "1" at A, then "2" at B (which lacks "1"), then "3" at B; s2, who saw only
 * "1", writes "x" at A. Each of the 24 orders gives the same state, and s1's last write,
 * causally after everything but "x" (concurrent, lower Lamport time), is the value. */
static void causally_last_wins(ckv_version *const order[4], void *arg)
{
    (void)arg;
    ckv_replica r;
    receive(&r, order);
    assert_string_equal(value_of(&r, "k"), "3");
    ckv_replica_free(&r);
}

static void test_arrival_orders_with_writes_ahead_of_dependencies(void **state)
{
    (void)state;
    ckv_replica a, b;
    open_replica(&a, A);
    open_replica(&b, B);
    const ckv_version *w[4];
    ckv_context s1 = empty_ctx(&a), s2;
    put(&a, "k", "1", &s1, &w[0]);
    s2 = empty_ctx(&a);
    ckv_replica_read(&a, "k", 1, &s2);
    put(&b, "k", "2", &s1, &w[1]);
    put(&b, "k", "3", &s1, &w[2]);
    put(&a, "k", "x", &s2, &w[3]);
    ckv_version *vs[4];
    for (int i = 0; i < 4; i++)
        vs[i] = ckv_version_ref((ckv_version *)w[i]);
    assert_int_equal(each_order(vs, causally_last_wins, NULL), 24);
    for (int i = 0; i < 4; i++)
        ckv_version_unref(vs[i]);
    ckv_replica_free(&a);
    ckv_replica_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_write_dot_lamport_deps),
        cmocka_unit_test(test_read_merges_dot_and_deps),
        cmocka_unit_test(test_readiness_own_shard_only),
        cmocka_unit_test(test_epoch_rule),
        cmocka_unit_test(test_serving_gates),
        cmocka_unit_test(test_push_next_only),
        cmocka_unit_test(test_restart_learns_counter),
        cmocka_unit_test(test_causally_later_write_wins),
        cmocka_unit_test(test_every_arrival_order_converges),
        cmocka_unit_test(test_delete_is_a_write),
        cmocka_unit_test(test_enter_epoch),
        cmocka_unit_test(test_adopt_view),
        cmocka_unit_test(test_journal_replay_gives_the_same_state),
        cmocka_unit_test(test_replay_refuses_what_does_not_fit),
        cmocka_unit_test(test_write_runs_without_its_history),
        cmocka_unit_test(test_delete_without_history_is_written),
        cmocka_unit_test(test_untracked_context_waits),
        cmocka_unit_test(test_reads_carry_the_lamport_time),
        cmocka_unit_test(test_arrival_orders_with_writes_ahead_of_dependencies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
