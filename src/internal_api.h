/* internal_api.h — node-to-node endpoints: who may call them, push and sync receivers. */
#ifndef CAUSALKV_INTERNAL_API_H
#define CAUSALKV_INTERNAL_API_H

#include "node_state.h"

void ckv_internal_replicate(ckv_node *n, ckv_req *req);
void ckv_internal_sync(ckv_node *n, ckv_req *req);
/* A sync from outside the view: the view in force if it comes from an older epoch. */
void ckv_internal_foreign_sync(ckv_node *n, ckv_req *req);
bool ckv_internal_caller_allowed(ckv_node *n, ckv_req *req, bool members_only);

#endif
