/* node_state.h — the state of one causalkv node, shared by the glue modules.
 *
 * Single-threaded: everything here runs on the node's event_base. node.c owns the node
 * and everything it points to. The causal state is the replica (replica.h), which only
 * replica.c changes; each request carries its own state (net/http_reply.h); the other
 * fields belong to the module named beside them, which is the only one to write them.
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

/* What this node knows about one replica of its own shard (replication.c). */
typedef struct ckv_repl_peer {
    uint64_t acked; /* highest own seq the peer is known to hold */
    bool push_inflight;
    bool sync_inflight;
    bool synced_once;       /* answered (or failed) one full sync since start/epoch */
    ckv_vclock sync_target; /* responder's clock at the first chunk of a sync */
    uint64_t sync_cursor;
    uint64_t sync_gen;
    ckv_vclock known; /* the peer's clock as it last told it (valid when known_valid) */
    bool known_valid;
} ckv_repl_peer;

/* Confirming the view in force with the other members (membership.c). */
typedef struct ckv_membership {
    uint64_t round;        /* answers of older rounds are ignored */
    uint64_t map_gen;      /* the replica's map this round asks about */
    uint32_t pending;      /* questions of this round not answered yet */
    bool agreed, disputed; /* a member of this round holds the same view / another one */
    bool answered;         /* some member of this round answered at all */
    bool warned_split;     /* said once that another cluster shares members */
    uint32_t next;         /* the member to ask next while confirmed */
    uint64_t last_tick_ms; /* the housekeeping timer last ran (stall detection) */
} ckv_membership;

typedef struct ckv_view_change ckv_view_change;
typedef struct ckv_backup ckv_backup;
typedef struct ckv_vc_coord ckv_vc_coord;
typedef struct ckv_proxy_queue ckv_proxy_queue;

typedef struct ckv_node {
    ckv_config cfg;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *listener;
    struct event *cron;       /* the one housekeeping timer; each task has its own period */
    uint64_t cron_last_ms[8]; /* when each task last ran (node.c's table) */
    struct event *push_ev;    /* pushes new writes once per loop iteration */
    struct event *sigterm_ev, *sigint_ev, *exit_ev;
    struct event *accept_resume_ev; /* re-enables accepting after running out of fds */
    uint64_t last_accept_warn_ms;
    ckv_peer_pool *pool;
    ckv_proxy_queue *proxy_queue; /* forwarded requests waiting for the loop's batch (proxy.c) */
    ckv_resolver *resolver;       /* members' names → addresses, for the pool and caller checks */
    ckv_conns *conns;
    ckv_http_server server;      /* what every reply updates: metrics, connection table */
    ckv_request_ids request_ids; /* this node's own X-Request-Id values */
    ckv_park *park;              /* requests waiting for progress */

    ckv_replica r; /* the causal state: view, store, clock, log, serving gates */
    ckv_repl_peer repl[CKV_VIEW_MAX];
    uint64_t repl_map_gen;          /* the replica's map that repl[] describes */
    const ckv_version **push_batch; /* REPL_BATCH entries, reused by every push */
    uint64_t bootstrap_deadline_ms;
    ckv_membership membership;
    uint32_t rr; /* round-robin start for choosing replicas */

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
