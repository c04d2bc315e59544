/* http_api.h — every request enters here and is routed by one table (method, path,
 * endpoint, who may call it) to its handler; the client endpoints (keys, key count,
 * shards) live in http_api.c too. */
#ifndef CAUSALKV_HTTP_API_H
#define CAUSALKV_HTTP_API_H

#include "node_state.h"

void ckv_http_gencb(struct evhttp_request *req, void *arg);

#endif
