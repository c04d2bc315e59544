/* status_api.h — /metrics (Prometheus text), /healthz (ready to serve), /livez (the
 * event loop runs), and /kv-store/status (this node's view of itself as compact JSON:
 * state, view, epoch, shard, key count, replication lag per peer, client request
 * counters and latency buckets). */
#ifndef CAUSALKV_STATUS_API_H
#define CAUSALKV_STATUS_API_H

#include "node_state.h"

void ckv_metrics_serve(ckv_node *n, ckv_req *req);
void ckv_health_serve(ckv_node *n, ckv_req *req);
void ckv_live_serve(ckv_node *n, ckv_req *req);
void ckv_status_serve(ckv_node *n, ckv_req *req);

#endif
