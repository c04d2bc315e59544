/* shard_map.c — shards of a view, and which shard owns a key.
 *
 * Ownership must be identical on every node and across restarts, and a view change
 * should move as few keys as possible: FNV-1a 64 over the full key bytes, then jump
 * consistent hashing (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash
 * Algorithm", 2014) onto the shard count. */
#include "causalkv/shard_map.h"

#define FNV64_OFFSET_BASIS 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

/* The paper's 64-bit linear congruential generator multiplier. */
#define JUMP_LCG_MULT 2862933555777941757ULL

int ckv_shard_map_init(ckv_shard_map *m, const ckv_view *v, long rf, uint64_t epoch, char *err,
                       size_t errlen)
{
    if (ckv_view_check_rf(v, rf, err, errlen) != CKV_OK)
        return CKV_ERROR;
    m->view = *v;
    m->rf = (uint32_t)rf;
    m->shards = v->n / (uint32_t)rf;
    m->epoch = epoch;
    return CKV_OK;
}

uint64_t ckv_fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = FNV64_OFFSET_BASIS;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV64_PRIME;
    }
    return h;
}

/* Walks the sequence of buckets the key would "jump" to as the bucket count grows; the
 * last jump below `buckets` is the answer. A key only ever moves to the newly added
 * bucket when buckets grows by one, which is what makes view changes cheap. */
uint32_t ckv_jump_hash(uint64_t key, uint32_t buckets)
{
    /* j stays a double: (b + 1) * 2^31 can exceed int64 range, and comparing the
     * untruncated value with the integer bucket count gives the same answer. */
    uint64_t b = 0;
    double j = 0;
    if (buckets == 0)
        return 0; /* undefined in the paper; keep callers safe */
    while (j < (double)buckets) {
        b = (uint64_t)j;
        key = key * JUMP_LCG_MULT + 1;
        j = (double)(b + 1) * ((double)(1ULL << 31) / (double)((key >> 33) + 1));
    }
    return (uint32_t)b;
}

uint32_t ckv_shard_map_owner(const ckv_shard_map *m, const void *key, size_t len)
{
    return ckv_jump_hash(ckv_fnv1a64(key, len), m->shards) + 1;
}

uint32_t ckv_shard_map_first_replica(const ckv_shard_map *m, uint32_t shard)
{
    return (shard - 1) * m->rf;
}

uint32_t ckv_shard_map_shard_of_member(const ckv_shard_map *m, uint32_t idx)
{
    return idx / m->rf + 1;
}

int ckv_shard_map_has_shard(const ckv_shard_map *m, uint64_t shard)
{
    return shard >= 1 && shard <= m->shards;
}
