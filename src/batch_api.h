/* batch_api.h — the owner's side of a batch of forwarded requests (fwd_batch.h): each
 * item runs through the router as the forwarded request it stands for, and when every
 * item has answered, the answers go back in one reply, in the items' order. */
#ifndef CAUSALKV_BATCH_API_H
#define CAUSALKV_BATCH_API_H

#include "node_state.h"

/* Answers req (POST /kv-store/internal/batch): 400 when the body is not a batch, else 200
 * with the answers. run routes one item, and runs it again after a wait (the router's
 * entry for a batch item, which takes key requests only). */
void ckv_batch_serve(ckv_node *n, ckv_req *req, ckv_handler run);

#endif
