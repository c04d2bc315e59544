/* view_change.h — the view-change protocol: a coordinator (the client's PUT) and a
 * participant on every node (the internal prepare, collect, install, commit, abort). */
#ifndef CAUSALKV_VIEW_CHANGE_H
#define CAUSALKV_VIEW_CHANGE_H

#include "node_state.h"

void ckv_view_change_client(ckv_node *n, ckv_req *req);
/* POST /kv-store/internal/view/<op>: prepare, collect, install, commit, abort. */
void ckv_view_change_internal(ckv_node *n, ckv_req *req, const char *op);
void ckv_view_change_tick(ckv_node *n);
void ckv_view_change_free(ckv_node *n);
/* True when ip belongs to a node of a view change in progress (internal-call check). */
bool ckv_view_change_knows_ip(const ckv_node *n, const char *ip);

#endif
