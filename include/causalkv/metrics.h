/* metrics.h — counters the node keeps and how /metrics and /healthz render them. */
#ifndef CAUSALKV_METRICS_H
#define CAUSALKV_METRICS_H

#include <stdint.h>

enum ckv_endpoint {
    CKV_EP_KEYS,
    CKV_EP_KEY_COUNT,
    CKV_EP_SHARDS,
    CKV_EP_SHARD,
    CKV_EP_VIEW_CHANGE,
    CKV_EP_INTERNAL,
    CKV_EP_OTHER,
    CKV_EP_COUNT
};

#define CKV_LATENCY_BUCKETS 12 /* 0.1 ms .. ~200 ms, then +Inf */

typedef struct ckv_metrics {
    uint64_t requests[CKV_EP_COUNT][6]; /* by status class: 1xx..5xx, index 0 unused */
    uint64_t latency_bucket[CKV_EP_COUNT][CKV_LATENCY_BUCKETS + 1];
    double latency_sum[CKV_EP_COUNT];
    uint64_t anti_entropy_rounds;
    uint64_t pushes;
    uint64_t pushed_versions; /* versions in acknowledged pushes */
    uint64_t sync_versions;   /* versions received in anti-entropy answers */
    uint64_t proxy_failovers;
    uint64_t causal_waits;
    uint64_t causal_timeouts;
    uint64_t writes_without_history; /* accepted here without every write their context covers */
    uint64_t reads_forwarded_for_history; /* sent to a replica that holds what they need */
    uint64_t proxy_unavailable;
    uint64_t proxy_batches;          /* batch messages sent (two or more forwarded requests) */
    uint64_t proxy_batched_requests; /* forwarded requests that went in them */
    uint64_t proxy_batches_refused;  /* batches a peer refused whole: sent again one by one */
    uint64_t batches_served;         /* batch messages this node answered */
    uint64_t proxy_write_unknown;    /* writes sent that got no reply: answered 503, not retried */
    uint64_t connections_refused;
    uint64_t bad_framing; /* requests refused for their framing (and closed) */
} ckv_metrics;

void ckv_metrics_observe(ckv_metrics *m, enum ckv_endpoint ep, int status, double seconds);
extern const double ckv_latency_bounds[CKV_LATENCY_BUCKETS];

#endif
