/* vclock.h — vector clocks over the members of one view (indexed by view position).
 *
 * A ckv_vclock is a plain value of fixed capacity (CKV_VIEW_MAX); only the first n
 * entries are meaningful. ckv_deps is the compact, immutable, reference-counted copy
 * that a stored version keeps of its writer's context: NULL means "no dependencies". */
#ifndef CAUSALKV_VCLOCK_H
#define CAUSALKV_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "causalkv/common.h"

typedef struct ckv_vclock {
    uint32_t n;
    uint64_t c[CKV_VIEW_MAX];
} ckv_vclock;

/* n entries, all zero. n <= CKV_VIEW_MAX. */
void ckv_vclock_init(ckv_vclock *v, uint32_t n);

/* dst[i] = max(dst[i], src[i]) for i < min(dst->n, src->n). */
void ckv_vclock_merge(ckv_vclock *dst, const ckv_vclock *src);

/* a[i] <= b[i] for every i < a->n (missing entries of b count as 0). */
bool ckv_vclock_leq(const ckv_vclock *a, const ckv_vclock *b);

/* Readiness: ctx[r] <= local[r] for every r in [first, first + count). */
bool ckv_vclock_covers(const ckv_vclock *local, const ckv_vclock *ctx, uint32_t first,
                       uint32_t count);

bool ckv_vclock_is_zero(const ckv_vclock *v);

/* A client's causal context: what it has seen, in one epoch. */
typedef struct ckv_context {
    uint64_t epoch;   /* epoch the clock belongs to */
    ckv_vclock clock; /* n = the view size of the map it was parsed against */
    /* The highest Lamport time of any write the client's history holds, when tracked
     * (has_lamport): a write takes a time above it, which orders it after all of that
     * history whatever the accepting replica holds. Requests still wait for their
     * dependencies (a write's answer reports what the key held); contexts without it
     * come from older nodes. */
    uint64_t lamport;
    bool has_lamport;
} ckv_context;

typedef struct ckv_deps {
    uint32_t refs;
    uint32_t n;
    uint64_t c[];
} ckv_deps;

/* New reference to a compact copy of v, or NULL when v is all zero (no allocation).
 * Also returns NULL on allocation failure; callers treat that as "no dependencies"
 * only for zero clocks, so check ckv_vclock_is_zero first when it matters. */
ckv_deps *ckv_deps_new(const ckv_vclock *v);
ckv_deps *ckv_deps_ref(ckv_deps *d); /* NULL-safe; returns d */
void ckv_deps_unref(ckv_deps *d);    /* NULL-safe; frees at zero */

/* dst[i] = max(dst[i], d[i]). NULL-safe. */
void ckv_vclock_merge_deps(ckv_vclock *dst, const ckv_deps *d);

#endif
