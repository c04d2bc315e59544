/* peer_pool.h — keep-alive HTTP connections to other nodes, a few per peer, with one
 * deadline per request.
 *
 * ckv_peer_send always ends in exactly one call of cb: with the peer's status and body,
 * or with a status <= 0 when no reply came: CKV_PEER_UNSENT when the request never left
 * this node (connect refused or unfinished, or still queued behind another request), so
 * the peer cannot have acted on it; CKV_PEER_NO_REPLY when it may have been delivered
 * (the peer may have acted on it, or may yet). The body pointer is valid only during the
 * call. Freeing the pool ends every pending request with CKV_PEER_NO_REPLY (callbacks run
 * once more); ckv_peer_send refuses new requests from then on. */
#ifndef CAUSALKV_NET_PEER_POOL_H
#define CAUSALKV_NET_PEER_POOL_H

#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CKV_HDR_SECRET "X-Ckv-Secret"
#define CKV_HDR_FORWARDED "X-Ckv-Forwarded" /* set on proxied requests: never forward again */
/* Wall-clock ms after which the proxy has given up: a request that arrives (or would
 * run) later is dropped, so a write delayed in a paused peer's socket cannot come back
 * after the client moved on. */
#define CKV_HDR_DEADLINE "X-Ckv-Deadline"

#define CKV_PEER_NO_REPLY 0
#define CKV_PEER_UNSENT (-1)

typedef void (*ckv_peer_cb)(int status, const char *body, size_t len, void *arg);

typedef struct ckv_peer_pool ckv_peer_pool;
typedef struct ckv_resolver ckv_resolver;

typedef struct ckv_peer_pool_options {
    const char *self_addr;   /* sent in CKV_HDR_FORWARDED */
    const char *local_ip;    /* bind outbound IPv4 connections to it (NULL: kernel's choice) */
    ckv_resolver *resolver;  /* peers' addresses; not owned, must outlive the pool */
    const char *secret;      /* "" or NULL: no secret header */
    uint32_t conns_per_peer; /* >= 1 */
    uint32_t max_body_bytes; /* largest reply accepted from a peer */
    uint32_t idle_retire_ms; /* replace a connection idle this long (0: never) */
} ckv_peer_pool_options;

ckv_peer_pool *ckv_peer_pool_new(struct event_base *base, const ckv_peer_pool_options *opt);
void ckv_peer_pool_free(ckv_peer_pool *p); /* NULL-safe */

/* Sends method uri with body (may be NULL) to addr ("host:port"). A named peer is
 * reached at the resolver's cached address. Until its name has resolved, a call waits
 * (within timeout_ms, with copies of uri and body) while a lookup is in flight, and
 * otherwise cb reports CKV_PEER_UNSENT (from the loop). A failed call asks the resolver
 * for the name again, and idle connections to an address the name no longer has are
 * replaced. A non-zero forward_deadline_ms marks a proxied client request: the hop and
 * deadline headers. CKV_OK when queued (cb will be called), CKV_ERROR when it could not
 * be queued (cb will not be called). */
int ckv_peer_send(ckv_peer_pool *p, const char *addr, enum evhttp_cmd_type method, const char *uri,
                  const char *body, size_t len, uint32_t timeout_ms, uint64_t forward_deadline_ms,
                  ckv_peer_cb cb, void *arg);

/* The same for a proxied client request (forward_deadline_ms non-zero), which also
 * carries the request's X-Request-Id (request_id: NULL or "" for none), so that the
 * node that serves it logs and echoes the same id. */
int ckv_peer_forward(ckv_peer_pool *p, const char *addr, enum evhttp_cmd_type method,
                     const char *uri, const char *body, size_t len, uint32_t timeout_ms,
                     uint64_t forward_deadline_ms, const char *request_id, ckv_peer_cb cb,
                     void *arg);

/* True after a recent failure to reach addr (cleared by the next success or after a
 * back-off); callers try such peers last. */
bool ckv_peer_is_down(const ckv_peer_pool *p, const char *addr);

/* True once a request sent to addr got no reply (CKV_PEER_NO_REPLY), until a reply
 * comes. A request that must not be sent twice tries such peers last even after the
 * back-off, since it cannot fail over once it has been sent. */
bool ckv_peer_is_suspect(const ckv_peer_pool *p, const char *addr);

#endif
