/* node.h — one causalkv node: the event loop glue around the plain modules.
 *
 * Single-threaded: every function here runs on the node's event_base. The node owns
 * everything it points to. Files: node.c (lifecycle, the housekeeping timer, parked
 * requests), http_api.c (client endpoints), proxy.c (forwarding to other shards),
 * replication.c (push and anti-entropy), internal_api.c (node-to-node endpoints),
 * view_change.c (the view-change protocol), membership.c (which view is in force),
 * metrics.c (/metrics, /healthz). */
#ifndef CAUSALKV_NODE_H
#define CAUSALKV_NODE_H

#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <sys/types.h>

#include "causalkv/clock.h"
#include "causalkv/config.h"
#include "causalkv/json_codec.h"
#include "causalkv/metrics.h"
#include "causalkv/peer_pool.h"
#include "causalkv/shard_map.h"
#include "causalkv/store.h"
#include "causalkv/vclock.h"
#include "causalkv/wlog.h"

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

/* Every inbound connection (conn_track.c). */
typedef struct ckv_conn_table {
    struct ckv_conn *v;
    size_t len, cap;
    uint32_t *at_fd; /* fd -> index + 1 into v (0: unknown); checked on use */
    size_t fd_cap;
    uint64_t last_sweep_ms;
} ckv_conn_table;

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

typedef struct ckv_parked ckv_parked;
typedef struct ckv_view_change ckv_view_change;

typedef struct ckv_node {
    ckv_config cfg;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *listener;
    double cur_start;      /* when the request being answered arrived (for latency) */
    struct event *cron;    /* the one housekeeping timer */
    struct event *wake_ev; /* re-dispatches parked requests after progress */
    struct event *push_ev; /* pushes new writes once per loop iteration */
    struct event *sigterm_ev, *sigint_ev, *exit_ev;
    struct event *accept_resume_ev; /* re-enables accepting after running out of fds */
    uint64_t last_accept_warn_ms;
    uint64_t last_trim_ms; /* free heap last returned to the system */
    ckv_peer_pool *pool;

    ckv_shard_map map; /* the view in force */
    uint64_t map_gen;  /* counts maps installed, so late replies to an older one are known */
    int self;          /* index of cfg.address in map.view, -1 when removed */
    uint32_t my_shard; /* 0 when removed */
    ckv_store *store;
    ckv_vclock clock; /* writes of each own-shard replica reflected here (this epoch) */
    uint64_t lamport;
    ckv_wlog *wlog;
    ckv_repl_peer repl[CKV_VIEW_MAX];
    /* What this node may serve. A restarted or newly joined node has lost its own write
     * counter and perhaps the epoch's base state; it learns both from its replicas. */
    bool view_confirmed;  /* the view in force: installed by a change, or agreed by peers */
    bool has_base;        /* holds the state this epoch started from (every replica does) */
    bool bootstrapping;   /* reads wait: no replica has answered a full sync yet */
    bool counter_pending; /* writes wait: not every replica has told us our own counter */
    uint64_t bootstrap_deadline_ms;
    ckv_membership membership;

    ckv_parked *parked; /* requests waiting for causal dependencies or a view change */
    uint32_t parked_count;
    uint32_t rr; /* round-robin start for choosing replicas */

    ckv_view_change *vc; /* view-change state (view_change.c) */
    bool frozen;         /* a view change is preparing: writes wait */

    ckv_metrics metrics;
    ckv_conn_table conns;
    bool shutting_down;
} ckv_node;

ckv_node *ckv_node_new(const ckv_config *cfg);
int ckv_node_run(ckv_node *n);
void ckv_node_free(ckv_node *n);

/* Installs a shard map (start, or a committed view change): recomputes self/shard,
 * resets clocks, log and replication state. */
void ckv_node_set_map(ckv_node *n, const ckv_shard_map *map);
/* Joins a view learnt from a member (a change this node missed, or the view in force
 * when its own was never confirmed): drops the store, which belongs to a view no longer
 * in force, and catches up from the new shard's replicas. The view is confirmed. */
void ckv_node_adopt_view(ckv_node *n, const ckv_shard_map *map);

/* Parks req until progress (clock advance, epoch change, unfreeze) or the causal
 * timeout; then it is dispatched again from the start (or answered 503). */
void ckv_node_park(ckv_node *n, struct evhttp_request *req, uint64_t deadline_ms);
/* Schedules a re-dispatch of every parked request. */
void ckv_node_wake(ckv_node *n);

/* http_api.c */
void ckv_http_dispatch(ckv_node *n, struct evhttp_request *req, uint64_t deadline_ms);
void ckv_http_gencb(struct evhttp_request *req, void *arg);
void ckv_reply(ckv_node *n, struct evhttp_request *req, int status, ckv_sbuf *body);
void ckv_reply_error(ckv_node *n, struct evhttp_request *req, int status, const char *error,
                     const ckv_context *ctx);
const char *ckv_method_name(enum evhttp_cmd_type m);
/* The body of req as one contiguous buffer (not drained; "" when empty). */
const char *ckv_request_body(struct evhttp_request *req, size_t *len);
/* The context of the request's body, or an empty one (for error replies). */
void ckv_request_context(ckv_node *n, struct evhttp_request *req, ckv_context *ctx);

/* proxy.c: forwards req to a replica of shard; replies to the client in every case. */
void ckv_proxy_forward(ckv_node *n, struct evhttp_request *req, uint32_t shard);

/* replication.c */
void ckv_repl_on_local_write(ckv_node *n, ckv_version *v);
void ckv_repl_tick(ckv_node *n);     /* from the housekeeping timer */
void ckv_repl_pull_now(ckv_node *n); /* a request waits: ask the replicas at once */
void ckv_repl_push_all(ckv_node *n);
/* After a start or a new view: reads and writes wait until the replicas have told this
 * node its own counter (and the epoch's base state when it lacks it). */
void ckv_repl_begin_catch_up(ckv_node *n);
/* Applies a version received from a peer (join + Lamport); true when installed. */
bool ckv_repl_apply(ckv_node *n, ckv_version *v);

/* internal_api.c: handles CKV_INTERNAL_PREFIX requests. */
void ckv_internal_dispatch(ckv_node *n, struct evhttp_request *req, const char *path);

/* conn_track.c: MAX_CONNECTIONS and slow clients. attach hooks the evhttp server;
 * admit is false for a connection over the cap (the caller answers 503 and the reply
 * closes it); replied marks the end of a request; sweep runs on the housekeeping timer. */
void ckv_conn_attach(ckv_node *n);
bool ckv_conn_admit(ckv_node *n, struct evhttp_request *req);
void ckv_conn_replied(ckv_node *n, struct evhttp_request *req);
void ckv_conn_sweep(ckv_node *n);
uint32_t ckv_conn_open(const ckv_node *n);
void ckv_conn_free(ckv_node *n);

/* membership.c */
void ckv_membership_tick(ckv_node *n); /* from the housekeeping timer */
void ckv_membership_unconfirm(ckv_node *n, const char *why);
/* Unconfirms the view when the loop has not run for a while (SIGSTOP, starvation). */
void ckv_membership_check_stall(ckv_node *n, uint64_t now_ms);
void ckv_membership_serve(ckv_node *n, struct evhttp_request *req); /* /internal/view */

/* metrics.c */
void ckv_metrics_serve(ckv_node *n, struct evhttp_request *req);
void ckv_health_serve(ckv_node *n, struct evhttp_request *req);

/* view_change.c */
void ckv_view_change_client(ckv_node *n, struct evhttp_request *req);
void ckv_view_change_internal(ckv_node *n, struct evhttp_request *req, const char *op);
void ckv_view_change_tick(ckv_node *n);
void ckv_view_change_free(ckv_node *n);
/* True when ip belongs to a node of a view change in progress (internal-call check). */
bool ckv_view_change_knows_ip(const ckv_node *n, const char *ip);

#endif
