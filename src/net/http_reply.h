/* http_reply.h — the per-request record, and every way a node answers an HTTP request.
 *
 * Each request evhttp hands over becomes a ckv_req (ckv_req_new) that carries its own
 * state: when it arrived (monotonic), which endpoint it is, how long it may wait, and
 * the handler that runs it again after a wait. Whoever holds a ckv_req answers it
 * exactly once, with ckv_reply or ckv_reply_error, which records the latency, frees the
 * record and hands the request back to evhttp. evhttp keeps the request alive until then
 * even when the client has gone.
 *
 * A request can also come from inside a batch of forwarded requests (ckv_req_new_inner):
 * it has no evhttp request of its own; its method, URI, body, request id and forwarding
 * deadline are its own copies, the headers it is asked for are those a forwarded request
 * carries, headers added to its reply are dropped (the forwarding node builds the
 * client's reply), and its answer goes to the batch's sink instead of a socket. */
#ifndef CAUSALKV_NET_HTTP_REPLY_H
#define CAUSALKV_NET_HTTP_REPLY_H

#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/metrics.h"
#include "causalkv/request_id.h"
#include "causalkv/sbuf.h"
#include "causalkv/shard_map.h"
#include "causalkv/vclock.h"

typedef struct ckv_conns ckv_conns;
typedef struct ckv_req ckv_req;
typedef void (*ckv_handler)(ckv_req *req, void *arg);
/* Takes an inner request's answer: status and body (consumed by the sink). */
typedef void (*ckv_req_sink)(void *arg, int status, ckv_sbuf *body);
typedef struct ckv_req_inner ckv_req_inner;

/* What every reply of one server updates: its metrics and its connection table. */
typedef struct ckv_http_server {
    ckv_metrics *metrics;
    ckv_conns *conns;     /* may be NULL */
    ckv_request_ids *ids; /* the node's own request ids; NULL: none are made */
} ckv_http_server;

struct ckv_req {
    struct evhttp_request *ev; /* NULL for an inner request */
    ckv_req_inner *inner;      /* NULL for a request evhttp handed over */
    ckv_http_server *server;
    uint64_t start_us;         /* arrival, monotonic */
    uint64_t wait_deadline_ms; /* wall clock; set by the first wait, kept across retries */
    enum ckv_endpoint endpoint;
    ckv_handler handler; /* runs the request (again, after a wait) */
    void *handler_arg;
    bool context_header;      /* the reply repeats the body's causal context in X-Causal-Context */
    bool tried_other_replica; /* sent once to a replica that holds its history */
    /* Origin, X-Causal-Context and X-Request-Id, found in one pass over the headers on
     * first use */
    bool browser_headers_scanned;
    const char *origin, *context, *client_id;
    /* the request id in use, CKV_REQUEST_ID_MAX + 1 bytes, allocated by the first
     * ckv_req_id (NULL until something needs one: most requests never do, and every
     * byte here is paid by every request's allocation) */
    char *id;
};

/* NULL when out of memory (the caller answers with evhttp_send_error). */
ckv_req *ckv_req_new(ckv_http_server *server, struct evhttp_request *ev);

/* An inner request: copies of method, uri, body and id (id_len 0: none), the forwarder's
 * deadline (wall-clock ms, 0: none), and where its answer goes. NULL when out of memory. */
ckv_req *ckv_req_new_inner(ckv_http_server *server, enum evhttp_cmd_type method, const char *uri,
                           size_t uri_len, const char *body, size_t body_len, const char *id,
                           size_t id_len, uint64_t deadline_ms, ckv_req_sink sink, void *sink_arg);

const char *ckv_method_name(enum evhttp_cmd_type m);
enum evhttp_cmd_type ckv_req_method(const ckv_req *r);
const char *ckv_req_uri(const ckv_req *r);
const char *ckv_req_header(const ckv_req *r, const char *name);
/* The request's Origin and X-Causal-Context headers (NULL when absent): asked several
 * times per client request, so the headers are walked once. */
const char *ckv_req_origin(ckv_req *r);
const char *ckv_req_context_header(ckv_req *r);
void ckv_req_add_header(ckv_req *r, const char *name, const char *value);
/* The request's id: the client's X-Request-Id when it is valid (request_id.h), else one
 * of the node's, made now (lazily: a request nothing asks the id of gets none). Once a
 * request has an id its reply carries it in X-Request-Id. So a reply carries one when
 * the client sent one (its own, or the replacement of an invalid one), when the request
 * was forwarded to another node (which logs and echoes the same id), or when
 * per-request debug logging is on. "" when there is no id generator and no valid id. */
const char *ckv_req_id(ckv_req *r);
/* The body as one contiguous buffer (not drained; "" when empty). */
const char *ckv_req_body(const ckv_req *r, size_t *len);
/* The context of the X-Causal-Context header (ctx_header.h): CKV_OK, CKV_DECLINED when
 * there is no such header (ctx empty), CKV_ERROR when it is malformed (ctx empty). */
int ckv_req_header_context(ckv_req *r, const ckv_shard_map *map, ckv_context *ctx);
/* The request's causal context for an error reply: the join of the body's and the
 * header's, when they parse and it belongs to map's epoch; otherwise the empty context
 * of map's epoch. */
void ckv_req_context(ckv_req *r, const ckv_shard_map *map, ckv_context *ctx);
/* Replaces the request body (body consumed), e.g. to carry the header's context to
 * another node. CKV_ERROR when out of memory (the old body is then gone too). */
int ckv_req_set_body(ckv_req *r, ckv_sbuf *body);

/* Sends status with no body (204 to a CORS preflight), and frees r. */
void ckv_reply_empty(ckv_req *r, int status);
/* Sends body (consumed) with status as JSON, and frees r. When r->context_header, the
 * body's "causal-context" object goes into the X-Causal-Context header as well. */
void ckv_reply(ckv_req *r, int status, ckv_sbuf *body);
/* Sends body (consumed) with its own content type, and frees r. */
void ckv_reply_typed(ckv_req *r, int status, const char *content_type, ckv_sbuf *body);
/* {"message":"Error in <METHOD>","error":error[,"doesExist":false],"causal-context":ctx}. */
void ckv_reply_error(ckv_req *r, int status, const char *error, const ckv_shard_map *map,
                     const ckv_context *ctx);
/* The same, with the context of ckv_req_context. */
void ckv_reply_error_here(ckv_req *r, int status, const char *error, const ckv_shard_map *map);

#endif
