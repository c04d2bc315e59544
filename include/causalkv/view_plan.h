/* view_plan.h — the decisions of a view change, with no I/O: who takes part, whether
 * the change may go ahead given which nodes answered, and which keys move.
 *
 * The protocol itself (view_change.c): the coordinator prepares every node of old ∪ new
 * (writes pause there), collects every version from every live replica of each old
 * shard, installs each new shard's keys on its replicas, then commits the new view and
 * epoch everywhere. Any failure before commit aborts and leaves the old view in force. */
#ifndef CAUSALKV_VIEW_PLAN_H
#define CAUSALKV_VIEW_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "causalkv/shard_map.h"

typedef struct ckv_view_plan {
    ckv_shard_map old_map;
    ckv_shard_map new_map; /* epoch = old epoch + 1 */
    ckv_view nodes;        /* old ∪ new, old members first */
    bool in_old[CKV_VIEW_MAX];
    bool in_new[CKV_VIEW_MAX];
} ckv_view_plan;

/* Validates a requested change made at the node coordinator (its address) under
 * old_map: the coordinator must be a member of the old view, and the new view and rf
 * must be valid (ckv_view_check_rf). CKV_ERROR with err naming the problem. */
int ckv_view_plan_init(ckv_view_plan *p, const ckv_shard_map *old_map, const char *coordinator,
                       const ckv_view *new_view, long rf, char *err, size_t errlen);

/* What stops a change from going on: a node of the new view that did not finish the
 * phase (node >= 0, an index into p->nodes), or an old shard none of whose replicas
 * answered (shard >= 1). */
typedef struct ckv_plan_gap {
    int node;
    uint32_t shard;
} ckv_plan_gap;

/* Given which of p->nodes answered (ok[i]), decides whether the change can go on: every
 * node of the new view must have answered, and when need_old_shards, every old shard
 * must have at least one replica that answered. CKV_ERROR with gap saying what is
 * missing (the first new member, else the first shard). */
int ckv_view_plan_check_reachable(const ckv_view_plan *p, const bool *ok, bool need_old_shards,
                                  ckv_plan_gap *gap);

/* Whether a participant at node epoch `epoch`, holding a prepared change `held_id` (0 for
 * none), may prepare change `id` moving to new_epoch, at wall-clock now_ms, when the
 * coordinator gave up waiting for this prepare at deadline_ms. */
bool ckv_view_plan_may_prepare(uint64_t epoch, uint64_t held_id, uint64_t id, uint64_t new_epoch,
                               uint64_t now_ms, uint64_t deadline_ms);

/* True when the key's shard id differs between the old and new map. */
bool ckv_view_plan_key_moves(const ckv_view_plan *p, const char *key, size_t len);

#endif
