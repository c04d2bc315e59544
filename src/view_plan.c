/* view_plan.c — view-change decisions without I/O. */
#include "causalkv/view_plan.h"

#include <stdio.h>
#include <string.h>

static void add_participant(ckv_view_plan *p, const char *addr, bool old_member, bool new_member)
{
    int idx = ckv_view_index_of(&p->nodes, addr);
    if (idx < 0) {
        idx = (int)p->nodes.n++;
        snprintf(p->nodes.addrs[idx], CKV_ADDR_MAX, "%s", addr);
    }
    p->in_old[idx] |= old_member;
    p->in_new[idx] |= new_member;
}

int ckv_view_plan_init(ckv_view_plan *p, const ckv_shard_map *old_map, const char *coordinator,
                       const ckv_view *new_view, long rf, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (ckv_view_index_of(&old_map->view, coordinator) < 0) {
        snprintf(err, errlen, "this node (%s) is not a member of the current view", coordinator);
        return CKV_ERROR;
    }
    if (ckv_shard_map_init(&p->new_map, new_view, rf, old_map->epoch + 1, err, errlen) != CKV_OK)
        return CKV_ERROR;
    p->old_map = *old_map;
    for (uint32_t i = 0; i < old_map->view.n; i++)
        add_participant(p, old_map->view.addrs[i], true, false);
    for (uint32_t i = 0; i < new_view->n; i++) {
        if (p->nodes.n == CKV_VIEW_MAX && ckv_view_index_of(&p->nodes, new_view->addrs[i]) < 0) {
            snprintf(err, errlen, "old and new views together exceed %d nodes", CKV_VIEW_MAX);
            return CKV_ERROR;
        }
        add_participant(p, new_view->addrs[i], false, true);
    }
    return CKV_OK;
}

static bool old_shard_reachable(const ckv_view_plan *p, const bool *ok, uint32_t shard)
{
    uint32_t first = ckv_shard_map_first_replica(&p->old_map, shard);
    for (uint32_t r = first; r < first + p->old_map.rf; r++) {
        int idx = ckv_view_index_of(&p->nodes, p->old_map.view.addrs[r]);
        if (idx >= 0 && ok[idx])
            return true;
    }
    return false;
}

int ckv_view_plan_check_reachable(const ckv_view_plan *p, const bool *ok, bool need_old_shards,
                                  ckv_plan_gap *gap)
{
    gap->node = -1;
    gap->shard = 0;
    for (uint32_t i = 0; i < p->nodes.n; i++) {
        if (p->in_new[i] && !ok[i]) {
            gap->node = (int)i;
            return CKV_ERROR;
        }
    }
    for (uint32_t s = 1; need_old_shards && s <= p->old_map.shards; s++) {
        if (!old_shard_reachable(p, ok, s)) {
            gap->shard = s;
            return CKV_ERROR;
        }
    }
    return CKV_OK;
}

bool ckv_view_plan_may_prepare(uint64_t epoch, uint64_t held_id, uint64_t id, uint64_t new_epoch,
                               uint64_t now_ms, uint64_t deadline_ms)
{
    /* one change at a time; a retry of the held one is fine; never go back in epochs; a
     * prepare that waited past its deadline (this node was paused, or the message was
     * stuck) belongs to a change that has already gone on without this node */
    return (held_id == 0 || held_id == id) && epoch < new_epoch && now_ms <= deadline_ms;
}

bool ckv_view_plan_key_moves(const ckv_view_plan *p, const char *key, size_t len)
{
    return ckv_shard_map_owner(&p->old_map, key, len) != ckv_shard_map_owner(&p->new_map, key, len);
}
