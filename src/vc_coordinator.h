/* vc_coordinator.h — PUT /kv-store/view-change: this node coordinates the change. */
#ifndef CAUSALKV_VC_COORDINATOR_H
#define CAUSALKV_VC_COORDINATOR_H

#include "node_state.h"

void ckv_vc_coordinator_serve(ckv_node *n, ckv_req *req);
/* Shutdown: a change in progress is answered as failed. */
void ckv_vc_coordinator_free(ckv_node *n);

#endif
