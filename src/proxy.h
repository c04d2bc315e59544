/* proxy.h — forwarding a client request to a replica of the owning shard, failing over
 * within one PROXY_TIMEOUT_MS. */
#ifndef CAUSALKV_PROXY_H
#define CAUSALKV_PROXY_H

#include "node_state.h"

void ckv_proxy_forward(ckv_node *n, ckv_req *req, uint32_t shard);

#endif
