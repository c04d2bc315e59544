/* wlog.h — the bounded log of this node's own recent writes, in seq order.
 *
 * Replication pushes a peer the entries after the last seq it acknowledged; a peer that
 * fell behind the start of the log is repaired by anti-entropy instead. The log holds a
 * reference to each version it keeps and drops it on eviction, reset or free. */
#ifndef CAUSALKV_WLOG_H
#define CAUSALKV_WLOG_H

#include <stddef.h>
#include <stdint.h>

#include "causalkv/store.h"

typedef struct ckv_wlog ckv_wlog;

/* capacity >= 1 entries. Starts empty with last_seq == base_seq == 0. */
ckv_wlog *ckv_wlog_new(size_t capacity);
void ckv_wlog_free(ckv_wlog *l); /* NULL-safe */

/* Appends v (taking a reference). v->seq must be ckv_wlog_last_seq(l) + 1, else
 * CKV_ERROR. Evicts the oldest entry when full. */
int ckv_wlog_append(ckv_wlog *l, ckv_version *v);

uint64_t ckv_wlog_last_seq(const ckv_wlog *l);
/* Lowest seq still held (last_seq + 1 when empty). */
uint64_t ckv_wlog_first_seq(const ckv_wlog *l);

/* Fills out (borrowed pointers) with up to max entries with seq > after, in order.
 * Returns the count; CKV_AGAIN-free: returns (size_t)-1 when after + 1 was evicted
 * (the caller must fall back to anti-entropy). */
size_t ckv_wlog_after(const ckv_wlog *l, uint64_t after, const ckv_version **out, size_t max);

/* Drops every entry; the next append must have seq base_seq + 1. */
void ckv_wlog_reset(ckv_wlog *l, uint64_t base_seq);

#endif
