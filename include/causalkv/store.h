/* store.h — key → current version (value or tombstone), with the causal+ join.
 *
 * Ownership: a ckv_version is immutable and reference counted. ckv_version_new returns
 * one reference owned by the caller. The store takes its own reference when it
 * installs a version and drops it when the version is replaced or the store is freed;
 * pointers returned by ckv_store_get are borrowed and valid until the next change of
 * that key (take a ref to keep one longer). Deleted keys stay as tombstones so that a
 * delete takes part in the same ordering as writes. */
#ifndef CAUSALKV_STORE_H
#define CAUSALKV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/vclock.h"

/* Origin index meaning "base state installed by a view change": its dot is covered by
 * every clock of the new epoch. */
#define CKV_ORIGIN_BASE UINT16_MAX

typedef struct ckv_version {
    /* Field order keeps the header at 36 bytes: with a 16-byte key and 100-byte value
     * the allocation lands in a 160-byte malloc chunk instead of 176 (bench scenario 7). */
    uint32_t refs;
    uint32_t value_len;
    uint64_t seq;      /* the write's dot is (origin, seq) */
    uint64_t lamport;  /* total order of writes to one key: (lamport, origin) */
    ckv_deps *deps;    /* writer's context, all shards; owned reference or NULL */
    uint16_t origin;   /* view index of the replica that accepted the write */
    uint8_t key_len;   /* keys are at most CKV_KEY_MAX bytes */
    uint8_t tombstone; /* 1: a delete */
    char data[];       /* key bytes, then value bytes (not NUL-terminated) */
} ckv_version;

/* One allocation holding key and value; keys longer than 255 bytes are refused. Takes a new
 * reference to deps (it does not consume the caller's). value may be NULL when value_len is 0. NULL
 * on failure. */
ckv_version *ckv_version_new(const char *key, size_t key_len, const char *value, size_t value_len,
                             bool tombstone, uint16_t origin, uint64_t seq, uint64_t lamport,
                             ckv_deps *deps);
ckv_version *ckv_version_ref(ckv_version *v);
void ckv_version_unref(ckv_version *v); /* NULL-safe */

static inline const char *ckv_version_key(const ckv_version *v)
{
    return v->data;
}
static inline const char *ckv_version_value(const ckv_version *v)
{
    return v->data + v->key_len;
}

/* > 0 when a wins over b, < 0 when b wins, 0 when they are the same write.
 * Order: higher lamport, then higher origin index. */
int ckv_version_cmp(const ckv_version *a, const ckv_version *b);

typedef struct ckv_store ckv_store;

ckv_store *ckv_store_new(void);
void ckv_store_free(ckv_store *s); /* NULL-safe */

/* Current version of key (may be a tombstone), or NULL when never written. Borrowed. */
const ckv_version *ckv_store_get(const ckv_store *s, const char *key, size_t key_len);

/* The join: installs v (taking its own reference) when there is no version of its key
 * or v wins over the current one. CKV_OK when installed, CKV_DECLINED when the current
 * version wins or is the same write, CKV_NOMEM when growing the table failed. */
int ckv_store_join(ckv_store *s, ckv_version *v);

size_t ckv_store_live_count(const ckv_store *s); /* keys whose version is not a tombstone */
size_t ckv_store_tombstone_count(const ckv_store *s);

/* Iteration: start with *cursor = 0; returns the next version and advances the cursor,
 * or NULL at the end. Valid while the store is not changed; ckv_store_generation tells a
 * resumable iteration whether the table was rebuilt since (then restart from 0). */
const ckv_version *ckv_store_next(const ckv_store *s, size_t *cursor);
uint64_t ckv_store_generation(const ckv_store *s);

/* Which versions an iteration keeps (chunked messages, see wire.h): true to keep v. */
typedef bool (*ckv_version_filter)(const ckv_version *v, const void *arg);

/* Drops every version. */
void ckv_store_clear(ckv_store *s);

#endif
