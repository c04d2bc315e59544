/* vclock.c — vector clocks indexed by view position, and refcounted dependency sets.
 *
 * Entries beyond a clock's n count as zero everywhere, so clocks of different lengths
 * (e.g. a client context from a smaller view) compare without special cases. */
#include "causalkv/vclock.h"

#include <stdlib.h>
#include <string.h>

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static uint64_t entry(const ckv_vclock *v, uint32_t i)
{
    return i < v->n ? v->c[i] : 0;
}

void ckv_vclock_init(ckv_vclock *v, uint32_t n)
{
    if (n > CKV_VIEW_MAX)
        n = CKV_VIEW_MAX;
    memset(v, 0, sizeof(*v));
    v->n = n;
}

void ckv_vclock_merge(ckv_vclock *dst, const ckv_vclock *src)
{
    uint32_t n = min_u32(dst->n, src->n);
    for (uint32_t i = 0; i < n; i++)
        if (src->c[i] > dst->c[i])
            dst->c[i] = src->c[i];
}

bool ckv_vclock_leq(const ckv_vclock *a, const ckv_vclock *b)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (a->c[i] > entry(b, i))
            return false;
    return true;
}

bool ckv_vclock_covers(const ckv_vclock *local, const ckv_vclock *ctx, uint32_t first,
                       uint32_t count)
{
    /* Only the replicas of the key's shard matter: a write accepted elsewhere reaches
     * this node through the version's own dependencies, not through this clock. */
    for (uint64_t r = first; r < (uint64_t)first + count && r < CKV_VIEW_MAX; r++)
        if (entry(ctx, (uint32_t)r) > entry(local, (uint32_t)r))
            return false;
    return true;
}

bool ckv_vclock_is_zero(const ckv_vclock *v)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (v->c[i] != 0)
            return false;
    return true;
}

ckv_deps *ckv_deps_new(const ckv_vclock *v)
{
    if (ckv_vclock_is_zero(v))
        return NULL;
    ckv_deps *d = malloc(sizeof(*d) + (size_t)v->n * sizeof(d->c[0]));
    if (d == NULL)
        return NULL;
    d->refs = 1;
    d->n = v->n;
    memcpy(d->c, v->c, (size_t)v->n * sizeof(d->c[0]));
    return d;
}

ckv_deps *ckv_deps_ref(ckv_deps *d)
{
    if (d != NULL)
        d->refs++;
    return d;
}

void ckv_deps_unref(ckv_deps *d)
{
    if (d != NULL && --d->refs == 0)
        free(d);
}

void ckv_vclock_merge_deps(ckv_vclock *dst, const ckv_deps *d)
{
    if (d == NULL)
        return;
    uint32_t n = min_u32(dst->n, d->n);
    for (uint32_t i = 0; i < n; i++)
        if (d->c[i] > dst->c[i])
            dst->c[i] = d->c[i];
}
