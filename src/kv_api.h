/* kv_api.h — the client endpoints (the router has checked the method). */
#ifndef CAUSALKV_KV_API_H
#define CAUSALKV_KV_API_H

#include "node_state.h"

/* /kv-store/keys/<raw>: raw is the percent-encoded key (may be empty). */
void ckv_kv_key(ckv_node *n, ckv_req *req, const char *raw, size_t raw_len);
void ckv_kv_key_count(ckv_node *n, ckv_req *req);
void ckv_kv_shards(ckv_node *n, ckv_req *req);
/* /kv-store/shards/<id> */
void ckv_kv_shard(ckv_node *n, ckv_req *req, const char *id, size_t len);
void ckv_kv_not_found(ckv_node *n, ckv_req *req);

#endif
