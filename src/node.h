/* node.h — one causalkv node: the event loop glue around the plain modules.
 *
 * Single-threaded: every function here runs on the node's event_base. The node owns
 * everything it points to; its causal state is the replica (replica.h), which only
 * replica.c changes, and each request carries its own state (net/http_reply.h).
 * Files: node.c (lifecycle, the housekeeping tasks), http_api.c (routing and the client
 * endpoints), proxy.c (forwarding to other shards),
 * replication.c (push and anti-entropy), internal_api.c (node-to-node endpoints),
 * view_change.c (the view-change protocol), membership.c (which view is in force),
 * metrics.c (/metrics, /healthz). */
#ifndef CAUSALKV_NODE_H
#define CAUSALKV_NODE_H

#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <sys/types.h>

#include "net/conn_track.h"
#include "net/http_reply.h"
#include "net/park.h"
#include "net/peer_pool.h"
#include "causalkv/clock.h"
#include "causalkv/config.h"
#include "causalkv/json_codec.h"
#include "causalkv/metrics.h"
#include "causalkv/replica.h"

#define CKV_INTERNAL_PREFIX "/kv-store/internal/"

/* What this node knows about one replica of its own shard. */
typedef struct ckv_repl_peer {
    uint64_t acked; /* highest own seq the peer is known to hold */
    bool push_inflight;
    bool sync_inflight;
    bool synced_once;       /* answered (or failed) one full sync since start/epoch */
    ckv_vclock sync_target; /* responder's clock at the first chunk of a sync */
    uint64_t sync_cursor;
    uint64_t sync_gen;
} ckv_repl_peer;

/* Confirming the view in force with the other members (membership.c). */
typedef struct ckv_membership {
    uint64_t round;        /* answers of older rounds are ignored */
    uint32_t pending;      /* questions of this round not answered yet */
    bool agreed, disputed; /* a member of this round holds the same view / another one */
    bool answered;         /* some member of this round answered at all */
    bool warned_split;     /* said once that another cluster shares members */
    uint32_t next;         /* the member to ask next while confirmed */
    uint64_t last_tick_ms; /* the housekeeping timer last ran (stall detection) */
} ckv_membership;

typedef struct ckv_view_change ckv_view_change;

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
    ckv_conns *conns;
    ckv_http_server server; /* what every reply updates: metrics, connection table */
    ckv_park *park;         /* requests waiting for progress */

    ckv_replica r; /* the causal state: view, store, clock, log, serving gates */
    ckv_repl_peer repl[CKV_VIEW_MAX];
    uint64_t repl_map_gen;          /* the replica's map that repl[] describes */
    const ckv_version **push_batch; /* REPL_BATCH entries, reused by every push */
    uint64_t bootstrap_deadline_ms;
    ckv_membership membership;
    uint32_t rr; /* round-robin start for choosing replicas */

    ckv_view_change *vc; /* view-change state (view_change.c) */

    ckv_metrics metrics;
    bool shutting_down;
} ckv_node;

ckv_node *ckv_node_new(const ckv_config *cfg);
int ckv_node_run(ckv_node *n);
void ckv_node_free(ckv_node *n);

/* Joins a view learnt from a member (a change this node missed, or the view in force
 * when its own was never confirmed): drops the store, which belongs to a view no longer
 * in force, and catches up from the new shard's replicas. The view is confirmed. */
void ckv_node_adopt_view(ckv_node *n, const ckv_shard_map *map);

/* Waits for progress (clock advance, epoch change, unfreeze, confirmed view) until
 * deadline (the causal timeout when req has none yet, or the proxy's deadline when that
 * is sooner), then runs req->handler again; 503 at the deadline. */
void ckv_node_wait(ckv_node *n, ckv_req *req, const ckv_context *ctx);
/* Schedules a re-run of every waiting request. */
void ckv_node_wake(ckv_node *n);

/* http_api.c: every request enters by ckv_http_gencb and is routed by one table. */
void ckv_http_gencb(struct evhttp_request *req, void *arg);
/* An error reply with the request's own context (see ckv_req_context). */
void ckv_reply_error_ctx(ckv_node *n, ckv_req *req, int status, const char *error);

/* proxy.c: forwards req to a replica of shard; replies to the client in every case. */
void ckv_proxy_forward(ckv_node *n, ckv_req *req, uint32_t shard);

/* replication.c */
void ckv_repl_on_local_write(ckv_node *n);
void ckv_repl_tick(ckv_node *n);     /* from the housekeeping timer */
void ckv_repl_pull_now(ckv_node *n); /* a request waits: ask the replicas at once */
void ckv_repl_push_all(ckv_node *n);
/* After a start or a new view: reads and writes wait until the replicas have told this
 * node its own counter (and the epoch's base state when it lacks it). */
void ckv_repl_begin_catch_up(ckv_node *n);
/* Resets the peer table when the replica has installed another map since. */
void ckv_repl_sync_map(ckv_node *n);

/* internal_api.c: node-to-node endpoints (the router checked who calls). */
void ckv_internal_replicate(ckv_node *n, ckv_req *req);
void ckv_internal_sync(ckv_node *n, ckv_req *req);
/* A sync from outside the view: the view in force if it comes from an older epoch. */
void ckv_internal_foreign_sync(ckv_node *n, ckv_req *req);
bool ckv_internal_caller_allowed(ckv_node *n, ckv_req *req, bool members_only);

/* membership.c */
void ckv_membership_tick(ckv_node *n); /* from the housekeeping timer */
void ckv_membership_unconfirm(ckv_node *n, const char *why);
/* Unconfirms the view when the loop has not run for a while (SIGSTOP, starvation). */
void ckv_membership_check_stall(ckv_node *n, uint64_t now_ms);
void ckv_membership_serve(ckv_node *n, ckv_req *req); /* /internal/view */

/* metrics.c */
void ckv_metrics_serve(ckv_node *n, ckv_req *req);
void ckv_health_serve(ckv_node *n, ckv_req *req);

/* view_change.c */
void ckv_view_change_client(ckv_node *n, ckv_req *req);
/* POST /kv-store/internal/view/<op>: prepare, collect, install, commit, abort. */
void ckv_view_change_internal(ckv_node *n, ckv_req *req, const char *op);
void ckv_view_change_tick(ckv_node *n);
void ckv_view_change_free(ckv_node *n);
/* True when ip belongs to a node of a view change in progress (internal-call check). */
bool ckv_view_change_knows_ip(const ckv_node *n, const char *ip);

#endif
