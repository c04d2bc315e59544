/* shard_map.h — view + replication factor + epoch → shards, key → shard, replicas.
 *
 * Shard ids are 1-based: shard k is members (k-1)*rf .. k*rf-1 of the view.
 * Key → shard is jump consistent hashing over FNV-1a 64 of the full key bytes, so
 * growing from s to s+1 shards moves about 1/(s+1) of the keys and every node (and
 * every restart) computes the same answer. A ckv_shard_map is a plain value. */
#ifndef CAUSALKV_SHARD_MAP_H
#define CAUSALKV_SHARD_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "causalkv/view.h"

typedef struct ckv_shard_map {
    ckv_view view;
    uint32_t rf;
    uint32_t shards; /* view.n / rf */
    uint64_t epoch;  /* view-change generation; 0 for the view given at start */
} ckv_shard_map;

/* Fills m; CKV_ERROR with err set when ckv_view_check_rf refuses. */
int ckv_shard_map_init(ckv_shard_map *m, const ckv_view *v, long rf, uint64_t epoch, char *err,
                       size_t errlen);

uint64_t ckv_fnv1a64(const void *data, size_t len);

/* Lamping & Veach jump consistent hash: bucket in [0, buckets). buckets >= 1. */
uint32_t ckv_jump_hash(uint64_t key, uint32_t buckets);

/* 1-based shard id owning the key. */
uint32_t ckv_shard_map_owner(const ckv_shard_map *m, const void *key, size_t len);

/* View index of the first replica of shard (1-based); replicas are first..first+rf-1. */
uint32_t ckv_shard_map_first_replica(const ckv_shard_map *m, uint32_t shard);

/* 1-based shard of the member at view index idx. */
uint32_t ckv_shard_map_shard_of_member(const ckv_shard_map *m, uint32_t idx);

/* True when shard is in 1..shards. */
int ckv_shard_map_has_shard(const ckv_shard_map *m, uint64_t shard);

#endif
