/* router.h — every request enters here and is routed by one table (method, path,
 * endpoint, who may call it) to its handler. */
#ifndef CAUSALKV_ROUTER_H
#define CAUSALKV_ROUTER_H

#include "node_state.h"

void ckv_http_gencb(struct evhttp_request *req, void *arg);

#endif
