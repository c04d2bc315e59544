/* node_state.h — what the glue modules of one causalkv node share.
 *
 * Single-threaded: everything here runs on the node's event_base. node.c owns the node
 * and everything it points to. Shared here are the services every module calls through
 * their own headers (configuration, loop, peer pool, resolver, connection table, waiting
 * requests, metrics) and the causal state, the replica (replica.h), which only replica.c
 * changes. Each module's own state is an opaque pointer below, its struct private to
 * the .c named beside it; each request carries its own state (net/http_reply.h).
 * Modules and their order (each includes only those after it): node.c (composition,
 * housekeeping) → router.c (the route table) → kv_api.c, vc_coordinator.c, internal_api.c,
 * status_api.c, membership.c → proxy.c, vc_participant.c, replication.c → net/ → core. */
#ifndef CAUSALKV_NODE_STATE_H
#define CAUSALKV_NODE_STATE_H

#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <sys/types.h>

#include "net/conn_track.h"
#include "net/http_reply.h"
#include "net/park.h"
#include "net/peer_pool.h"
#include "net/resolver.h"
#include "causalkv/clock.h"
#include "causalkv/config.h"
#include "causalkv/json_codec.h"
#include "causalkv/metrics.h"
#include "causalkv/replica.h"
#include "persist.h"

#define CKV_INTERNAL_PREFIX "/kv-store/internal/"

typedef struct ckv_node_loop ckv_node_loop;
typedef struct ckv_replication ckv_replication;
typedef struct ckv_membership ckv_membership;
typedef struct ckv_view_change ckv_view_change;
typedef struct ckv_backup ckv_backup;
typedef struct ckv_vc_coord ckv_vc_coord;
typedef struct ckv_proxy_queue ckv_proxy_queue;

typedef struct ckv_node {
    ckv_config cfg;
    struct event_base *base;
    ckv_node_loop *loop; /* the listener, timers and signals (node.c's own) */
    ckv_peer_pool *pool;
    ckv_proxy_queue *proxy_queue; /* forwarded requests waiting for the loop's batch (proxy.c) */
    ckv_resolver *resolver;       /* members' names → addresses, for the pool and caller checks */
    ckv_conns *conns;
    ckv_http_server server;      /* what every reply updates: metrics, connection table */
    ckv_request_ids request_ids; /* this node's own X-Request-Id values */
    ckv_park *park;              /* requests waiting for progress */

    ckv_replica r;              /* the causal state: view, store, clock, log, serving gates */
    ckv_replication *repl;      /* what it knows of its shard's replicas (replication.c) */
    ckv_membership *membership; /* confirming the view in force (membership.c) */

    ckv_view_change *vc;    /* this node's part in a view change (vc_participant.c) */
    ckv_persist *persist;   /* the journal in DATA_DIR; NULL: in memory only (persist.c) */
    ckv_backup *backup;     /* the backup being written, if any (backup_api.c) */
    ckv_vc_coord *vc_coord; /* the change this node coordinates (vc_coordinator.c) */
    /* Stops serving until the members confirm the view (membership.c's, installed by
     * node.c, so that lower modules can report a doubt without including it). */
    void (*doubt_view)(struct ckv_node *n, const char *why);

    ckv_metrics metrics;
    bool shutting_down;
} ckv_node;

/* Schedules a re-run of every waiting request (progress was made). */
static inline void ckv_node_wake(ckv_node *n)
{
    ckv_park_wake(n->park);
}

/* An error reply with the request's own context (see ckv_req_context). */
static inline void ckv_node_reply_error(ckv_node *n, ckv_req *req, int status, const char *error)
{
    ckv_reply_error_here(req, status, error, &n->r.map);
}

#endif
