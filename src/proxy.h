/* proxy.h — forwarding a client request to a replica of the owning shard, failing over
 * within one PROXY_TIMEOUT_MS. */
#ifndef CAUSALKV_PROXY_H
#define CAUSALKV_PROXY_H

#include "node_state.h"

/* The attempts queued in this loop iteration (see proxy.c's batching), owned by the node. */
ckv_proxy_queue *ckv_proxy_queue_new(ckv_node *n);
/* Sends what is queued (the pool, freed later, ends it), then frees q. NULL-safe. */
void ckv_proxy_queue_free(ckv_proxy_queue *q);

void ckv_proxy_forward(ckv_node *n, ckv_req *req, uint32_t shard);

/* Runs a request again when forwarding did not get it served. */
typedef void (*ckv_proxy_fallback)(ckv_node *n, ckv_req *req);

/* Forwards a read this node cannot serve yet to other replicas of its own shard that
 * hold what it needs (members: view indexes, tried in order), until deadline_ms. When
 * none of them answers, or each answers 503 (it lacks the history too), fallback gets
 * the request back unanswered. */
void ckv_proxy_forward_read(ckv_node *n, ckv_req *req, const uint32_t *members, uint32_t count,
                            uint64_t deadline_ms, ckv_proxy_fallback fallback);

#endif
