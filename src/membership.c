/* membership.c — which view is in force: confirming this node's view with the other
 * members before serving from it, and learning a newer view from them.
 *
 * A node starts from the VIEW it was given, unconfirmed: it may have been started early
 * with a view that is not in force yet, or have missed view changes while it was down.
 * Until its view is confirmed it serves nothing from its own store (such requests wait,
 * then answer 503); requests for other shards are still forwarded, and the owner judges
 * them by its own view. Every housekeeping tick it asks each other member of its view
 * which view that member holds:
 *  - a confirmed member at a later epoch, or at the same epoch with another view: this
 *    node adopts that view (as a member, or as a standby if it is not in it);
 *  - a confirmed member with the same view: confirmed;
 *  - a round in which some member agreed and none disagreed: confirmed (the members of a
 *    fresh cluster all start unconfirmed);
 *  - a round in which no member answered at all: the VIEW as given is all there is to go
 *    by (the first node of a cluster to start, or the only one left), so it is trusted.
 * A view installed by a view change is confirmed. A confirmed node keeps asking one member
 * per tick, so that a node that missed a change (down, paused or cut off) learns the view
 * in force; and a stall of its event loop (the process was stopped) unconfirms its view,
 * since the cluster may have changed meanwhile. */
#include "membership.h"

#include "causalkv/wire.h"
#include "replication.h"

#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"

#define STALL_MS 2000 /* the loop did not run for this long: the view may be stale */

struct ckv_membership {
    uint64_t round;        /* answers of older rounds are ignored */
    uint64_t map_gen;      /* the replica's map this round asks about */
    uint32_t pending;      /* questions of this round not answered yet */
    bool agreed, disputed; /* a member of this round holds the same view / another one */
    bool answered;         /* some member of this round answered at all */
    bool warned_split;     /* said once that another cluster shares members */
    uint32_t next;         /* the member to ask next while confirmed */
    uint64_t last_tick_ms; /* the housekeeping timer last ran (stall detection) */
};

ckv_membership *ckv_membership_new(void)
{
    return calloc(1, sizeof(ckv_membership));
}

void ckv_membership_free(ckv_membership *m)
{
    free(m);
}

typedef struct probe_call {
    ckv_node *n;
    uint64_t round;
    uint64_t map_gen; /* the map the question was about */
    uint32_t member;
} probe_call;

static void confirm(ckv_node *n, const char *how)
{
    if (n->r.view_confirmed)
        return;
    ckv_replica_confirm_view(&n->r, true);
    log_info("view of epoch %llu confirmed (%s)%s", (unsigned long long)n->r.map.epoch, how,
             n->r.self < 0 ? "; this node is a standby, not a member" : "");
    ckv_node_wake(n);
}

void ckv_membership_unconfirm(ckv_node *n, const char *why)
{
    if (!n->r.view_confirmed)
        return;
    ckv_replica_confirm_view(&n->r, false);
    n->membership->round++; /* answers to an older round no longer count */
    n->membership->pending = 0;
    log_warn("%s: checking the view in force with the other members before serving", why);
}

static bool same_map(const ckv_shard_map *a, const ckv_shard_map *b)
{
    return a->epoch == b->epoch && a->rf == b->rf && ckv_view_equal(&a->view, &b->view);
}

static void take_answer(ckv_node *n, const char *member, const ckv_shard_map *theirs,
                        bool their_confirmed)
{
    ckv_membership *m = n->membership;
    if (same_map(theirs, &n->r.map)) {
        m->agreed = true;
        if (their_confirmed)
            confirm(n, member);
        return;
    }
    bool newer = theirs->epoch > n->r.map.epoch;
    if (their_confirmed && (newer || (theirs->epoch == n->r.map.epoch && !n->r.view_confirmed))) {
        if (n->r.writes_paused)
            return; /* a prepared view change decides first (commit, abort or timeout) */
        log_warn("%s holds the view in force (epoch %llu, %u members, repl-factor %u); "
                 "adopting it",
                 member, (unsigned long long)theirs->epoch, (unsigned)theirs->view.n,
                 (unsigned)theirs->rf);
        ckv_repl_adopt_view(n, theirs);
        return;
    }
    if (theirs->epoch == n->r.map.epoch) {
        m->disputed = true;
        if (their_confirmed && n->r.view_confirmed && !m->warned_split) {
            m->warned_split = true;
            log_error("%s holds another view at the same epoch %llu: two clusters share "
                      "members; fix their VIEW settings",
                      member, (unsigned long long)n->r.map.epoch);
        }
    }
}

static void on_probe_reply(int status, const char *body, size_t len, void *arg)
{
    probe_call *pc = arg;
    ckv_node *n = pc->n;
    ckv_membership *m = n->membership;
    bool current = pc->round == m->round && pc->map_gen == n->r.map_gen && !n->shutting_down;
    ckv_wire_view answer;
    if (current && status == 200 && ckv_wire_view_decode(body, len, &answer) == CKV_OK) {
        m->answered = true;
        char member[CKV_ADDR_MAX];
        snprintf(member, sizeof(member), "%s", n->r.map.view.addrs[pc->member]);
        take_answer(n, member, &answer.map, answer.confirmed);
    }
    /* take_answer may have adopted a view, which ends the round */
    if (current && pc->map_gen == n->r.map_gen && m->pending > 0 && --m->pending == 0) {
        if (m->agreed && !m->disputed)
            confirm(n, "the members that answered agree");
        else if (!m->answered)
            confirm(n, "no other member answered; going by VIEW as given");
    }
    free(pc);
}

static void build_question(const ckv_node *n, ckv_sbuf *b)
{
    ckv_wire_view m = {.map = n->r.map, .confirmed = n->r.view_confirmed};
    ckv_wire_view_encode(b, &m);
}

static void ask(ckv_node *n, uint32_t member, const ckv_sbuf *question)
{
    probe_call *pc = malloc(sizeof(*pc));
    if (pc == NULL)
        return;
    *pc = (probe_call){
        .n = n, .round = n->membership->round, .map_gen = n->r.map_gen, .member = member};
    if (ckv_peer_send(n->pool, n->r.map.view.addrs[member], EVHTTP_REQ_POST,
                      CKV_INTERNAL_PREFIX "view", question->data, question->len,
                      n->cfg.proxy_timeout_ms, 0, on_probe_reply, pc) == CKV_OK)
        n->membership->pending++;
    else
        free(pc);
}

/* Unconfirmed: asks every other member at once (a new round when the last one is over). */
static void ask_all(ckv_node *n, const ckv_sbuf *question)
{
    ckv_membership *m = n->membership;
    if (m->pending > 0 && m->map_gen == n->r.map_gen)
        return; /* the round goes on (a new map ends it: its answers no longer count) */
    m->map_gen = n->r.map_gen;
    m->pending = 0;
    m->round++;
    m->agreed = m->disputed = m->answered = false;
    uint32_t others = 0;
    for (uint32_t i = 0; i < n->r.map.view.n; i++) {
        if ((int)i == n->r.self)
            continue;
        others++;
        ask(n, i, question);
    }
    if (others == 0)
        confirm(n, "this node is the whole view");
}

/* Confirmed: one member per tick, in turn, to hear of a newer view. */
static void ask_one(ckv_node *n, const ckv_sbuf *question)
{
    ckv_membership *m = n->membership;
    if ((m->pending > 0 && m->map_gen == n->r.map_gen) || n->r.map.view.n == 0)
        return;
    m->map_gen = n->r.map_gen;
    m->pending = 0;
    uint32_t member = m->next++ % n->r.map.view.n;
    if ((int)member == n->r.self)
        member = m->next++ % n->r.map.view.n;
    if ((int)member == n->r.self)
        return;
    m->round++;
    m->agreed = m->disputed = m->answered = false;
    ask(n, member, question);
}

void ckv_membership_tick(ckv_node *n)
{
    if (n->shutting_down)
        return;
    ckv_sbuf q;
    ckv_sbuf_init(&q);
    build_question(n, &q);
    if (!ckv_sbuf_failed(&q)) {
        if (n->r.view_confirmed)
            ask_one(n, &q);
        else
            ask_all(n, &q);
    }
    ckv_sbuf_free(&q);
}

void ckv_membership_check_stall(ckv_node *n, uint64_t now_ms)
{
    uint64_t last = n->membership->last_tick_ms;
    n->membership->last_tick_ms = now_ms;
    if (!n->r.view_confirmed || last == 0 || now_ms < last || now_ms - last < STALL_MS)
        return;
    char why[96];
    snprintf(why, sizeof(why), "the event loop did not run for %llu ms (stopped or starved)",
             (unsigned long long)(now_ms - last));
    ckv_membership_unconfirm(n, why);
    ckv_membership_tick(n);
}

void ckv_membership_serve(ckv_node *n, ckv_req *req)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    build_question(n, &b);
    ckv_reply(req, 200, &b);
}
