/* conn_track.h — every inbound connection: MAX_CONNECTIONS, slow clients and request
 * framing (see conn_track.c for why evhttp needs help with each).
 *
 * ckv_conns_new hooks an evhttp server; from then on every connection it accepts is in
 * the table. admit is false for a connection over the cap (the caller answers 503 with
 * Connection: close); replied marks the end of a request; sweep (periodic) drops the
 * connections evhttp has released and shuts down the ones that trickle. */
#ifndef CAUSALKV_NET_CONN_TRACK_H
#define CAUSALKV_NET_CONN_TRACK_H

#include <event2/http.h>
#include <stdbool.h>
#include <stdint.h>

#include "causalkv/metrics.h"

typedef struct ckv_conns ckv_conns;

typedef struct ckv_conns_options {
    uint32_t max_connections;
    uint32_t http_timeout_ms; /* a connection with no complete request for this long is cut */
} ckv_conns_options;

ckv_conns *ckv_conns_new(struct evhttp *http, const ckv_conns_options *opt, ckv_metrics *metrics);
void ckv_conns_free(ckv_conns *t); /* NULL-safe; before evhttp_free's connections go */
bool ckv_conns_admit(ckv_conns *t, struct evhttp_request *req);
void ckv_conns_replied(ckv_conns *t, struct evhttp_request *req);
void ckv_conns_sweep(ckv_conns *t);
uint32_t ckv_conns_open(const ckv_conns *t);

#endif
