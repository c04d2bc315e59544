/* replication.h — both sides of push and anti-entropy (the senders live in
 * replication.c, the receivers in internal_api.c), the catch-up after a start or a new
 * view, and joining a view learnt from a peer. What this node knows of each replica is
 * replication.c's alone; the rest of the node asks through the calls below. */
#ifndef CAUSALKV_REPLICATION_H
#define CAUSALKV_REPLICATION_H

#include "node_state.h"

/* The peer table, push buffer and push event, owned by the node (n->repl). */
ckv_replication *ckv_repl_new(ckv_node *n);
void ckv_repl_free(ckv_replication *rs); /* NULL-safe */

void ckv_repl_on_local_write(ckv_node *n);
void ckv_repl_tick(ckv_node *n);     /* from the housekeeping timer */
void ckv_repl_pull_now(ckv_node *n); /* a request waits: ask the replicas at once */
void ckv_repl_push_all(ckv_node *n);
/* After a start or a new view: reads and writes wait until the replicas have told this
 * node its own counter (and the epoch's base state when it lacks it). */
void ckv_repl_begin_catch_up(ckv_node *n);
/* A replica of this shard told its clock (a push reply, or its sync request from the
 * start): what it holds at least, until it says otherwise, and so which of this node's
 * own writes it still needs. */
void ckv_repl_peer_told(ckv_node *n, uint32_t peer, const ckv_vclock *clock);
/* Own writes the peer at view index peer has not acknowledged (0 when the table describes
 * another map: replication starts again at a view change). */
uint64_t ckv_repl_unacked(const ckv_node *n, uint32_t peer);
/* The other replicas of this shard whose last told clock covers ctx (normalised) and
 * that are not known to be down, into out (view indexes); how many. */
uint32_t ckv_repl_peers_with_history(ckv_node *n, const ckv_context *ctx, uint32_t *out);
/* Joins a view learnt from a member (a change this node missed, or the view in force
 * when its own was never confirmed): drops the store, which belongs to a view no longer
 * in force, and catches up from the new shard's replicas. The view is confirmed. */
void ckv_repl_adopt_view(ckv_node *n, const ckv_shard_map *map);

#endif
