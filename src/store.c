/* store.c — key → current version, an open-addressing table of version pointers.
 *
 * Memory is the constraint that shapes this file: at a million keys the overhead beyond
 * key and value bytes must stay under ~100 bytes per key. So each key costs exactly one
 * malloc (the version, which carries the key bytes) plus one pointer slot in the table;
 * there are no per-key nodes, no separate key copies and no cached hashes. Keys are at
 * most a few dozen bytes, so rehashing them on growth is cheaper than storing hashes.
 *
 * Keys are never removed one by one (a delete installs a tombstone), so linear probing
 * needs no deletion markers: a NULL slot always ends a probe. */
#include "causalkv/store.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STORE_INITIAL_CAPACITY 16 /* power of two */

/* Grow before the load passes 7/10: linear probing degrades quickly beyond that. */
#define STORE_LOAD_NUM 7
#define STORE_LOAD_DEN 10

struct ckv_store {
    ckv_version **slots;
    size_t capacity; /* power of two */
    size_t keys;     /* non-NULL slots: keys written since the last clear, tombstones too */
    size_t tombstones;
    uint64_t generation;
    uint64_t seed; /* of the slot hash, see key_hash */
};

/* ---- versions ---------------------------------------------------------------------- */

ckv_version *ckv_version_new(const char *key, size_t key_len, const char *value, size_t value_len,
                             bool tombstone, uint16_t origin, uint64_t seq, uint64_t lamport,
                             ckv_deps *deps)
{
    if (key_len > UINT8_MAX || value_len > UINT32_MAX)
        return NULL;
    if (key_len > SIZE_MAX - offsetof(ckv_version, data) - value_len)
        return NULL;

    /* offsetof, not sizeof: the struct's tail padding would cost 4 bytes per key */
    ckv_version *v = malloc(offsetof(ckv_version, data) + key_len + value_len);
    if (v == NULL)
        return NULL;
    v->refs = 1;
    v->key_len = (uint8_t)key_len;
    v->origin = origin;
    v->value_len = (uint32_t)value_len;
    v->tombstone = tombstone ? 1 : 0;
    v->seq = seq;
    v->lamport = lamport;
    v->deps = ckv_deps_ref(deps);
    /* memcpy with a NULL source is undefined even for 0 bytes. */
    if (key_len > 0)
        memcpy(v->data, key, key_len);
    if (value_len > 0)
        memcpy(v->data + key_len, value, value_len);
    return v;
}

ckv_version *ckv_version_ref(ckv_version *v)
{
    if (v != NULL)
        v->refs++;
    return v;
}

void ckv_version_unref(ckv_version *v)
{
    if (v == NULL || --v->refs > 0)
        return;
    ckv_deps_unref(v->deps);
    free(v);
}

int ckv_version_cmp(const ckv_version *a, const ckv_version *b)
{
    if (a->lamport != b->lamport)
        return a->lamport > b->lamport ? 1 : -1;
    if (a->origin != b->origin)
        return a->origin > b->origin ? 1 : -1;
    /* One origin never gives two writes of a key the same Lamport time; should it happen
     * anyway, seq still orders them the same way on every replica, keeping the join a
     * total order (and convergent). */
    if (a->seq != b->seq)
        return a->seq > b->seq ? 1 : -1;
    return 0;
}

/* ---- hashing and probing ----------------------------------------------------------- */

/* Finaliser of MurmurHash3: every input bit affects the low bits that pick the slot. */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* FNV-1a 64 under a per-table seed. Kept local (shard_map.c has a public one) so that
 * the table layout never changes because shard placement does. The seed matters: a
 * table is often filled in another table's slot order (sync, view-change collect and
 * install); with one hash for all, keys would arrive sorted by their home slot and
 * linear probing would go quadratic (1M keys: seconds instead of milliseconds). */
static uint64_t key_hash(uint64_t seed, const char *key, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return mix64(h ^ seed);
}

/* Different for every table, also across processes (tables exchange their orders). */
static uint64_t new_seed(const void *table)
{
    static uint64_t tables_made;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return mix64(++tables_made ^ (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)table ^
                 (uint64_t)ts.tv_nsec);
}

static bool key_equals(const ckv_version *v, const char *key, size_t len)
{
    return v->key_len == len && (len == 0 || memcmp(v->data, key, len) == 0);
}

/* Slot holding key, or the empty slot where it would go. The table is never full. */
static size_t find_slot(ckv_version *const *slots, size_t capacity, uint64_t seed, const char *key,
                        size_t len)
{
    size_t mask = capacity - 1;
    size_t i = (size_t)key_hash(seed, key, len) & mask;
    while (slots[i] != NULL && !key_equals(slots[i], key, len))
        i = (i + 1) & mask;
    return i;
}

static ckv_version **slots_alloc(size_t capacity)
{
    if (capacity > SIZE_MAX / sizeof(ckv_version *))
        return NULL;
    return calloc(capacity, sizeof(ckv_version *));
}

static bool needs_growth(const ckv_store *s)
{
    return (s->keys + 1) * STORE_LOAD_DEN > s->capacity * STORE_LOAD_NUM;
}

/* Doubles the table and reinserts every version; CKV_NOMEM leaves the store unchanged. */
static int grow(ckv_store *s)
{
    if (s->capacity > SIZE_MAX / 2)
        return CKV_NOMEM;
    size_t capacity = s->capacity * 2;
    ckv_version **slots = slots_alloc(capacity);
    if (slots == NULL)
        return CKV_NOMEM;

    for (size_t i = 0; i < s->capacity; i++) {
        ckv_version *v = s->slots[i];
        if (v != NULL)
            slots[find_slot(slots, capacity, s->seed, v->data, v->key_len)] = v;
    }
    free(s->slots);
    s->slots = slots;
    s->capacity = capacity;
    s->generation++;
    return CKV_OK;
}

/* ---- the store --------------------------------------------------------------------- */

ckv_store *ckv_store_new(void)
{
    ckv_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->slots = slots_alloc(STORE_INITIAL_CAPACITY);
    if (s->slots == NULL) {
        free(s);
        return NULL;
    }
    s->capacity = STORE_INITIAL_CAPACITY;
    s->seed = new_seed(s);
    return s;
}

static void unref_all(ckv_store *s)
{
    for (size_t i = 0; i < s->capacity; i++) {
        ckv_version_unref(s->slots[i]);
        s->slots[i] = NULL;
    }
    s->keys = 0;
    s->tombstones = 0;
}

void ckv_store_free(ckv_store *s)
{
    if (s == NULL)
        return;
    unref_all(s);
    free(s->slots);
    free(s);
}

const ckv_version *ckv_store_get(const ckv_store *s, const char *key, size_t key_len)
{
    return s->slots[find_slot(s->slots, s->capacity, s->seed, key, key_len)];
}

static int insert_new_key(ckv_store *s, ckv_version *v)
{
    if (needs_growth(s)) {
        int rc = grow(s);
        if (rc != CKV_OK)
            return rc;
    }
    size_t i = find_slot(s->slots, s->capacity, s->seed, v->data, v->key_len);
    s->slots[i] = ckv_version_ref(v);
    s->keys++;
    if (v->tombstone)
        s->tombstones++;
    return CKV_OK;
}

int ckv_store_join(ckv_store *s, ckv_version *v)
{
    size_t i = find_slot(s->slots, s->capacity, s->seed, v->data, v->key_len);
    ckv_version *cur = s->slots[i];
    if (cur == NULL)
        return insert_new_key(s, v);
    if (ckv_version_cmp(v, cur) <= 0)
        return CKV_DECLINED;

    if (cur->tombstone && !v->tombstone)
        s->tombstones--;
    else if (!cur->tombstone && v->tombstone)
        s->tombstones++;
    s->slots[i] = ckv_version_ref(v);
    ckv_version_unref(cur);
    return CKV_OK;
}

size_t ckv_store_live_count(const ckv_store *s)
{
    return s->keys - s->tombstones;
}

size_t ckv_store_tombstone_count(const ckv_store *s)
{
    return s->tombstones;
}

const ckv_version *ckv_store_next(const ckv_store *s, size_t *cursor)
{
    for (size_t i = *cursor; i < s->capacity; i++) {
        if (s->slots[i] != NULL) {
            *cursor = i + 1;
            return s->slots[i];
        }
    }
    *cursor = s->capacity;
    return NULL;
}

uint64_t ckv_store_generation(const ckv_store *s)
{
    return s->generation;
}

void ckv_store_clear(ckv_store *s)
{
    unref_all(s);
    /* Give the memory of a large table back (a view change may have moved most keys
     * away); if even the small table cannot be had, the emptied large one still works. */
    if (s->capacity > STORE_INITIAL_CAPACITY) {
        ckv_version **slots = slots_alloc(STORE_INITIAL_CAPACITY);
        if (slots != NULL) {
            free(s->slots);
            s->slots = slots;
            s->capacity = STORE_INITIAL_CAPACITY;
        }
    }
    s->generation++;
}
