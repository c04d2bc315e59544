/* replication.h — both sides of push and anti-entropy (the senders live in
 * replication.c, the receivers in internal_api.c), the catch-up after a start or a new
 * view, and joining a view learnt from a peer. */
#ifndef CAUSALKV_REPLICATION_H
#define CAUSALKV_REPLICATION_H

#include "node_state.h"

void ckv_repl_on_local_write(ckv_node *n);
void ckv_repl_tick(ckv_node *n);     /* from the housekeeping timer */
void ckv_repl_pull_now(ckv_node *n); /* a request waits: ask the replicas at once */
void ckv_repl_push_all(ckv_node *n);
/* After a start or a new view: reads and writes wait until the replicas have told this
 * node its own counter (and the epoch's base state when it lacks it). */
void ckv_repl_begin_catch_up(ckv_node *n);
/* Resets the peer table when the replica has installed another map since. */
void ckv_repl_sync_map(ckv_node *n);
/* Joins a view learnt from a member (a change this node missed, or the view in force
 * when its own was never confirmed): drops the store, which belongs to a view no longer
 * in force, and catches up from the new shard's replicas. The view is confirmed. */
void ckv_repl_adopt_view(ckv_node *n, const ckv_shard_map *map);

#endif
