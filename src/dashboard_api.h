/* dashboard_api.h — GET /dashboard (the page) and GET /dashboard/<file> (its script and
 * style), served from the copies compiled into the binary. */
#ifndef CAUSALKV_DASHBOARD_API_H
#define CAUSALKV_DASHBOARD_API_H

#include "node_state.h"

/* name: the path after "/dashboard/" ("" for the page itself). */
void ckv_dashboard_serve(ckv_node *n, ckv_req *req, const char *name, size_t len);

#endif
