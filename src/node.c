/* node.c — node lifecycle: composition, the housekeeping tasks, shutdown. */
#include "node.h"
#include "router.h"
#include "backup_api.h"
#include "membership.h"
#include "proxy.h"
#include "replication.h"
#include "sd_notify.h"
#include "vc_coordinator.h"
#include "vc_participant.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "causalkv/log.h"

#define SHUTDOWN_GRACE_MS 300 /* in-flight replies get this long to flush after SIGTERM */
#define ACCEPT_PAUSE_MS 100   /* out of descriptors: stop accepting this long, then retry */
#define FREE_MEMORY_TRIM_BYTES (1u << 20) /* free heap above this goes back to the system */
#define CRON_TICK_MS 50 /* the housekeeping timer; every task runs at its own period */

/* What only this file touches: the HTTP server and its listener, the housekeeping
 * timer, the signals and the shutdown timer. */
struct ckv_node_loop {
    struct evhttp *http;
    struct evhttp_bound_socket *listener;
    struct event *cron;       /* the one housekeeping timer; each task has its own period */
    uint64_t cron_last_ms[8]; /* when each task last ran (cron_tasks below) */
    struct event *sigterm_ev, *sigint_ev, *exit_ev;
    struct event *accept_resume_ev; /* re-enables accepting after running out of fds */
    uint64_t last_accept_warn_ms;
};

/* The listener's error callback gets the evhttp as its argument, not the node; there is
 * one node per process, so it is found here. */
static ckv_node *listening_node;

static void expire_waiting(ckv_req *req, void *arg)
{
    ckv_node *n = arg;
    n->metrics.causal_timeouts++;
    ckv_node_reply_error(n, req, 503, "Unable to satisfy request");
}

/* Give freed memory back to the system when a lot of it sits in the heap (after a burst
 * of connections, a big view change): glibc keeps it otherwise, and RSS stays at the
 * high-water mark. mallinfo2 is cheap; the trim itself runs only when it pays. */
static void return_free_memory(ckv_node *n)
{
    if (n->r.writes_paused)
        return; /* not in the middle of a view change's churn */
    struct mallinfo2 mi = mallinfo2();
    if (mi.fordblks > FREE_MEMORY_TRIM_BYTES)
        malloc_trim(0);
}

static void sweep_connections(ckv_node *n)
{
    ckv_conns_sweep(n->conns);
}

static void journal_tick(ckv_node *n)
{
    ckv_persist_cron(n->persist);
}

/* The housekeeping tasks, each with its own period (0: GOSSIP_INTERVAL_MS). */
typedef struct cron_task {
    const char *name;
    uint32_t period_ms;
    void (*run)(ckv_node *n);
} cron_task;

static const cron_task cron_tasks[] = {
    {"membership", 0, ckv_membership_tick},
    {"replication", 0, ckv_repl_tick},
    {"view-change timeout", 250, ckv_vc_participant_tick},
    {"connection sweep", 500, sweep_connections},
    {"heap trim", 2000, return_free_memory},
    {"journal", 1000, journal_tick},
};
#define CRON_TASKS (sizeof(cron_tasks) / sizeof(cron_tasks[0]))

static void on_cron(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ckv_node *n = arg;
    uint64_t now = ckv_now_ms();
    ckv_membership_check_stall(n, now);
    for (size_t i = 0; i < CRON_TASKS; i++) {
        uint32_t period =
            cron_tasks[i].period_ms ? cron_tasks[i].period_ms : n->cfg.gossip_interval_ms;
        if (now - n->loop->cron_last_ms[i] >= period) {
            n->loop->cron_last_ms[i] = now;
            cron_tasks[i].run(n);
        }
    }
}

static void on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ckv_node *n = arg;
    event_base_loopbreak(n->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    ckv_node *n = arg;
    if (n->shutting_down)
        return;
    n->shutting_down = true;
    log_info("signal %d: shutting down", (int)sig);
    ckv_sd_notify("STOPPING=1");
    /* stop accepting: the listener goes; open connections finish what they have */
    if (n->loop->listener != NULL)
        evhttp_del_accept_socket(n->loop->http, n->loop->listener);
    n->loop->listener = NULL;
    ckv_park_expire_all(n->park);
    struct timeval tv = {0, SHUTDOWN_GRACE_MS * 1000};
    evtimer_add(n->loop->exit_ev, &tv);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ckv_node *n = arg;
    if (n->loop->listener != NULL)
        evconnlistener_enable(evhttp_bound_socket_get_listener(n->loop->listener));
}

/* accept() failing (out of descriptors, most likely) would fire again at once, forever:
 * pause accepting instead, and say so at most once a second. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)arg;
    ckv_node *n = listening_node;
    int err = EVUTIL_SOCKET_ERROR();
    evconnlistener_disable(l);
    if (n == NULL)
        return;
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    evtimer_add(n->loop->accept_resume_ev, &tv);
    uint64_t now = ckv_now_ms();
    if (now - n->loop->last_accept_warn_ms >= 1000) {
        n->loop->last_accept_warn_ms = now;
        log_warn("accept failed (%s); pausing new connections for %d ms",
                 evutil_socket_error_to_string(err), ACCEPT_PAUSE_MS);
    }
}

static int listen_http(ckv_node *n)
{
    ckv_node_loop *l = n->loop;
    l->http = evhttp_new(n->base);
    if (l->http == NULL)
        return CKV_ERROR;
    evhttp_set_max_headers_size(l->http, n->cfg.max_header_bytes);
    /* node-to-node batches are cut at CKV_BATCH_SOFT_BYTES plus one version, and a version
     * is never larger than the client body that created it: a little framing suffices */
    evhttp_set_max_body_size(l->http, (ev_ssize_t)n->cfg.max_body_bytes + CKV_FRAMING_BYTES);
    struct timeval tv = {n->cfg.http_timeout_ms / 1000, (n->cfg.http_timeout_ms % 1000) * 1000};
    evhttp_set_timeout_tv(l->http, &tv);
    evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(l->http, ckv_http_gencb, n);
    ckv_conns_options copt = {.max_connections = n->cfg.max_connections,
                              .http_timeout_ms = n->cfg.http_timeout_ms};
    n->conns = ckv_conns_new(l->http, &copt, &n->metrics);
    if (n->conns == NULL)
        return CKV_ERROR;
    n->server.conns = n->conns;
    l->listener = evhttp_bind_socket_with_handle(l->http, n->cfg.bind, n->cfg.port);
    if (l->listener == NULL) {
        log_error("cannot listen on %s:%u: %s", n->cfg.bind, (unsigned)n->cfg.port,
                  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return CKV_ERROR;
    }
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(l->listener), on_accept_error);
    listening_node = n;
    return CKV_OK;
}

static bool is_loopback_ip(const char *ip)
{
    struct in_addr a;
    return inet_pton(AF_INET, ip, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* Starts resolving every member's name now, so one that does not resolve is logged at
 * start; names of later views are looked up when first used. */
static int make_resolver(ckv_node *n)
{
    n->resolver = ckv_resolver_new(n->base, n->cfg.hosts_file);
    if (n->resolver == NULL)
        return CKV_ERROR;
    char host[CKV_HOST_MAX];
    for (uint32_t i = 0; i < n->cfg.view.n; i++)
        if (ckv_addr_split(n->cfg.view.addrs[i], host, NULL) != CKV_OK ||
            ckv_resolver_get(n->resolver, host) == NULL)
            return CKV_ERROR;
    return CKV_OK;
}

static int make_pool(ckv_node *n)
{
    char host[CKV_HOST_MAX];
    if (ckv_addr_split(n->cfg.address, host, NULL) != CKV_OK)
        return CKV_ERROR;
    /* peers check that internal calls come from a view member: on loopback every node
     * has its own 127.x address, so outbound connections must leave from it (for a
     * name, BIND is the address it resolves to on loopback: see README, BIND) */
    bool bind_source = is_loopback_ip(n->cfg.bind) &&
                       (strcmp(n->cfg.bind, host) == 0 || ckv_host_kind(host) == CKV_HOST_NAME);
    ckv_peer_pool_options opt = {
        .self_addr = n->cfg.address,
        .local_ip = bind_source ? n->cfg.bind : NULL,
        .resolver = n->resolver,
        .secret = n->cfg.cluster_secret,
        .conns_per_peer = n->cfg.peer_pool_size,
        .max_body_bytes = n->cfg.internal_max_body_bytes,
        /* peers run with the same HTTP_TIMEOUT_MS: retire ours at half of it */
        .idle_retire_ms = n->cfg.http_timeout_ms / 2,
    };
    n->pool = ckv_peer_pool_new(n->base, &opt);
    n->proxy_queue = n->pool != NULL ? ckv_proxy_queue_new(n) : NULL;
    return n->proxy_queue != NULL ? CKV_OK : CKV_ERROR;
}

static int make_events(ckv_node *n)
{
    ckv_node_loop *l = n->loop;
    l->cron = event_new(n->base, -1, EV_PERSIST, on_cron, n);
    l->sigterm_ev = evsignal_new(n->base, SIGTERM, on_signal, n);
    l->sigint_ev = evsignal_new(n->base, SIGINT, on_signal, n);
    l->exit_ev = evtimer_new(n->base, on_exit_timer, n);
    l->accept_resume_ev = evtimer_new(n->base, on_accept_resume, n);
    if (!l->cron || !l->sigterm_ev || !l->sigint_ev || !l->exit_ev || !l->accept_resume_ev)
        return CKV_ERROR;
    struct timeval tv = {0, CRON_TICK_MS * 1000};
    event_add(l->cron, &tv);
    event_add(l->sigterm_ev, NULL);
    event_add(l->sigint_ev, NULL);
    return CKV_OK;
}

/* epoll with a change list: evhttp enables and disables reading and writing several
 * times per request; the change list folds those into one epoll_ctl per loop turn. */
static struct event_base *new_event_base(void)
{
    struct event_config *ec = event_config_new();
    if (ec == NULL)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base;
}

/* The timers and signals (the HTTP server is freed before the connection table). */
static void free_loop(ckv_node_loop *l)
{
    if (l == NULL)
        return;
    struct event *evs[] = {l->cron, l->sigterm_ev, l->sigint_ev, l->exit_ev, l->accept_resume_ev};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    free(l);
}

/* Distinct per node and per start: the address, the start time and the pid, hashed
 * (FNV-1a), once, so that ids from two nodes or two runs of one node do not collide. */
static uint64_t request_id_seed(const char *address)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = address; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    h ^= ckv_now_ms() * 0x9e3779b97f4a7c15ULL;
    return h ^ ((uint64_t)getpid() << 32) ^ ckv_mono_us();
}

ckv_node *ckv_node_new(const ckv_config *cfg)
{
    ckv_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->cfg = *cfg;
    n->server.metrics = &n->metrics;
    n->server.ids = &n->request_ids;
    ckv_request_ids_init(&n->request_ids, request_id_seed(cfg->address));
    char err[256];
    ckv_shard_map map;
    if (ckv_shard_map_init(&map, &cfg->view, cfg->repl_factor, 0, err, sizeof(err)) != CKV_OK) {
        log_error("%s", err);
        free(n);
        return NULL;
    }
    n->loop = calloc(1, sizeof(*n->loop));
    n->base = new_event_base();
    n->membership = ckv_membership_new();
    n->repl = n->base != NULL ? ckv_repl_new(n) : NULL;
    if (n->loop == NULL || n->repl == NULL || n->membership == NULL ||
        ckv_replica_init(&n->r, &map, cfg->address, cfg->repl_log_entries) != CKV_OK)
        goto fail;
    if (cfg->data_dir[0] != '\0') {
        n->persist = ckv_persist_open(n->base, cfg, &n->r, err, sizeof(err));
        if (n->persist == NULL) {
            log_error("%s", err);
            goto fail;
        }
    }
    n->park = ckv_park_new(n->base, expire_waiting, n);
    if (n->park == NULL || make_resolver(n) != CKV_OK || make_pool(n) != CKV_OK ||
        make_events(n) != CKV_OK || listen_http(n) != CKV_OK)
        goto fail;
    if (n->r.self < 0)
        log_info("%s is not in VIEW: starting as a standby (requests are forwarded to the "
                 "members; a view change can add this node)",
                 cfg->address);
    n->doubt_view = ckv_membership_unconfirm;
    ckv_membership_tick(n); /* which view is in force: ask the other members at once */
    ckv_repl_begin_catch_up(n);
    return n;
fail:
    ckv_node_free(n);
    return NULL;
}

int ckv_node_run(ckv_node *n)
{
    return event_base_dispatch(n->base) < 0 ? CKV_ERROR : CKV_OK;
}

void ckv_node_free(ckv_node *n)
{
    if (n == NULL)
        return;
    /* order matters: answer waiting clients while their connections still exist */
    n->shutting_down = true;
    if (n->park != NULL)
        ckv_park_expire_all(n->park);
    ckv_proxy_queue_free(n->proxy_queue); /* sends what is queued, for the pool to end */
    n->proxy_queue = NULL;
    ckv_peer_pool_free(n->pool); /* pending calls end with status 0: proxies answer 503 */
    ckv_vc_coordinator_free(n);  /* answers its client */
    ckv_vc_participant_free(n);
    ckv_backup_abort(n);
    ckv_persist_close(n->persist); /* writes what is buffered, answers held writes */
    n->persist = NULL;
    if (n->loop != NULL && n->loop->http != NULL)
        evhttp_free(n->loop->http);
    ckv_conns_free(n->conns); /* drops our references to what evhttp released */
    free_loop(n->loop);
    ckv_repl_free(n->repl);
    ckv_membership_free(n->membership);
    ckv_park_free(n->park);
    ckv_replica_free(&n->r);
    ckv_resolver_free(n->resolver); /* last: it may run the loop once (see resolver.h) */
    if (n->base)
        event_base_free(n->base);
    free(n);
}
