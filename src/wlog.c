/* wlog.c — a fixed ring of version references, one per seq, oldest evicted first.
 *
 * Seqs are dense (append refuses gaps), so the entry for seq s sits at a fixed offset
 * from the oldest one and lookups need no search. */
#include "causalkv/wlog.h"

#include <stdlib.h>

struct ckv_wlog {
    ckv_version **ring;
    size_t capacity;
    size_t head;  /* index of the oldest entry */
    size_t count; /* entries held, <= capacity */
    uint64_t last_seq;
};

ckv_wlog *ckv_wlog_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    ckv_wlog *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->ring = calloc(capacity, sizeof(*l->ring));
    if (l->ring == NULL) {
        free(l);
        return NULL;
    }
    l->capacity = capacity;
    return l;
}

static size_t ring_index(const ckv_wlog *l, size_t offset)
{
    /* head < capacity and offset <= capacity, so one subtraction wraps it. */
    size_t i = l->head + offset;
    return i >= l->capacity ? i - l->capacity : i;
}

static void drop_all(ckv_wlog *l)
{
    for (size_t k = 0; k < l->count; k++) {
        size_t i = ring_index(l, k);
        ckv_version_unref(l->ring[i]);
        l->ring[i] = NULL;
    }
    l->head = 0;
    l->count = 0;
}

void ckv_wlog_free(ckv_wlog *l)
{
    if (l == NULL)
        return;
    drop_all(l);
    free(l->ring);
    free(l);
}

static void evict_oldest(ckv_wlog *l)
{
    ckv_version_unref(l->ring[l->head]);
    l->ring[l->head] = NULL;
    l->head = ring_index(l, 1);
    l->count--;
}

int ckv_wlog_append(ckv_wlog *l, ckv_version *v)
{
    /* seq 0 would mean last_seq wrapped around: refuse rather than reorder the log. */
    if (v->seq != l->last_seq + 1 || v->seq == 0)
        return CKV_ERROR;
    if (l->count == l->capacity)
        evict_oldest(l);
    l->ring[ring_index(l, l->count)] = ckv_version_ref(v);
    l->count++;
    l->last_seq = v->seq;
    return CKV_OK;
}

uint64_t ckv_wlog_last_seq(const ckv_wlog *l)
{
    return l->last_seq;
}

uint64_t ckv_wlog_first_seq(const ckv_wlog *l)
{
    return l->last_seq + 1 - l->count;
}

size_t ckv_wlog_after(const ckv_wlog *l, uint64_t after, const ckv_version **out, size_t max)
{
    if (after >= l->last_seq)
        return 0; /* the peer has everything (or claims more than exists) */
    uint64_t first = ckv_wlog_first_seq(l);
    if (after + 1 < first)
        return (size_t)-1;

    size_t offset = (size_t)(after + 1 - first);
    size_t n = l->count - offset;
    if (n > max)
        n = max;
    for (size_t k = 0; k < n; k++)
        out[k] = l->ring[ring_index(l, offset + k)];
    return n;
}

void ckv_wlog_reset(ckv_wlog *l, uint64_t base_seq)
{
    drop_all(l);
    l->last_seq = base_seq;
}
