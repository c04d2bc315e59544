/* status_api.h — /metrics (Prometheus text) and /healthz. */
#ifndef CAUSALKV_STATUS_API_H
#define CAUSALKV_STATUS_API_H

#include "node_state.h"

void ckv_metrics_serve(ckv_node *n, ckv_req *req);
void ckv_health_serve(ckv_node *n, ckv_req *req);

#endif
