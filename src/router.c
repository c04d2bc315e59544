/* router.c — every request enters here (ckv_http_gencb) and is routed by one table:
 * method, path, endpoint (for metrics) and who may call it, like a command table. A
 * request that waits runs through dispatch again when it is woken. CORS is decided here
 * too, once per request: a preflight of an allowed origin is answered at once, and the
 * replies to an allowed origin say so. */
#include "router.h"

#include <stdio.h>
#include <string.h>

#include "backup_api.h"
#include "batch_api.h"
#include "dashboard_api.h"
#include "internal_api.h"
#include "kv_api.h"
#include "membership.h"
#include "status_api.h"
#include "vc_coordinator.h"
#include "vc_participant.h"

#include "causalkv/ctx_header.h"
#include "causalkv/request_id.h"

#define KEYS_PREFIX "/kv-store/keys"
#define SHARDS_PREFIX "/kv-store/shards/"

enum route_access {
    ROUTE_CLIENT,  /* anyone */
    ROUTE_NODES,   /* any node with the cluster secret, member of the view or not */
    ROUTE_MEMBERS, /* a member of the view (or of a change in progress), with the secret */
};

typedef void (*route_fn)(ckv_node *n, ckv_req *req, const char *rest, size_t rest_len);

typedef struct route {
    const char *path;
    bool prefix;      /* path is a prefix; the rest goes to the handler */
    unsigned methods; /* EVHTTP_REQ_* allowed */
    const char *allow;
    enum ckv_endpoint endpoint;
    enum route_access access;
    route_fn run;
} route;

static void run_key(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    ckv_kv_key(n, req, rest, len);
}

static void run_key_count(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_kv_key_count(n, req);
}

static void run_shards(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_kv_shards(n, req);
}

static void run_shard(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    ckv_kv_shard(n, req, rest, len);
}

static void run_view_change(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_vc_coordinator_serve(n, req);
}

static void run_replicate(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_internal_replicate(n, req);
}

static void run_sync(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    if (ckv_internal_caller_allowed(n, req, true))
        ckv_internal_sync(n, req);
    else
        ckv_internal_foreign_sync(n, req);
}

static void dispatch(ckv_req *req, void *arg);
static const route *route_of_path(const char *uri, size_t *len, size_t *rest);

/* An item of a batch of forwarded requests: routed like any request, but only a key
 * request may be batched (the batch's caller check covers nothing else). */
static void dispatch_batch_item(ckv_req *req, void *arg)
{
    const char *uri = ckv_req_uri(req);
    size_t len, rest = 0;
    const route *rt = route_of_path(uri, &len, &rest);
    if (rt == NULL || rt->endpoint != CKV_EP_KEYS) {
        req->endpoint = CKV_EP_INTERNAL;
        ckv_node_reply_error(arg, req, 400, "Only key requests can be batched");
        return;
    }
    dispatch(req, arg);
}

static void run_batch(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_batch_serve(n, req, dispatch_batch_item);
}

static void run_view_question(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_membership_serve(n, req);
}

static void run_view_op(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    char op[16];
    snprintf(op, sizeof(op), "%.*s", (int)(len < sizeof(op) ? len : sizeof(op) - 1), rest);
    ckv_vc_participant_serve(n, req, op);
}

static void run_backup(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_backup_serve(n, req);
}

static void run_metrics(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_metrics_serve(n, req);
}

static void run_health(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_health_serve(n, req);
}

static void run_live(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_live_serve(n, req);
}

static void run_status(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_status_serve(n, req);
}

static void run_dashboard(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    ckv_dashboard_serve(n, req, rest, len);
}

static void run_not_found(ckv_node *n, ckv_req *req, const char *rest, size_t len)
{
    (void)rest, (void)len;
    ckv_kv_not_found(n, req);
}

#define KEY_METHODS (EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE)
#define INTERNAL(p) CKV_INTERNAL_PREFIX p

/* First match wins. */
static const route routes[] = {
    {KEYS_PREFIX "/", true, KEY_METHODS, "GET, PUT, DELETE", CKV_EP_KEYS, ROUTE_CLIENT, run_key},
    {KEYS_PREFIX "/", false, KEY_METHODS, "GET, PUT, DELETE", CKV_EP_KEYS, ROUTE_CLIENT, run_key},
    {KEYS_PREFIX, false, KEY_METHODS, "GET, PUT, DELETE", CKV_EP_KEYS, ROUTE_CLIENT, run_key},
    {"/kv-store/key-count", false, EVHTTP_REQ_GET, "GET", CKV_EP_KEY_COUNT, ROUTE_CLIENT,
     run_key_count},
    {"/kv-store/shards", false, EVHTTP_REQ_GET, "GET", CKV_EP_SHARDS, ROUTE_CLIENT, run_shards},
    {SHARDS_PREFIX, true, EVHTTP_REQ_GET, "GET", CKV_EP_SHARD, ROUTE_CLIENT, run_shard},
    {"/kv-store/view-change", false, EVHTTP_REQ_PUT, "PUT", CKV_EP_VIEW_CHANGE, ROUTE_CLIENT,
     run_view_change},
    {INTERNAL("replicate"), false, EVHTTP_REQ_POST, "POST", CKV_EP_INTERNAL, ROUTE_MEMBERS,
     run_replicate},
    {INTERNAL("sync"), false, EVHTTP_REQ_POST, "POST", CKV_EP_INTERNAL, ROUTE_NODES, run_sync},
    /* which view this node holds: asked by nodes that are not members (yet) too */
    {INTERNAL("view"), false, EVHTTP_REQ_POST, "POST", CKV_EP_INTERNAL, ROUTE_NODES,
     run_view_question},
    /* forwarded client requests, many in one: from any node holding the secret, like the
     * plain forwarded requests they stand for */
    {INTERNAL("batch"), false, EVHTTP_REQ_POST, "POST", CKV_EP_INTERNAL, ROUTE_NODES, run_batch},
    {INTERNAL("view/"), true, EVHTTP_REQ_POST, "POST", CKV_EP_INTERNAL, ROUTE_MEMBERS, run_view_op},
    {CKV_INTERNAL_PREFIX, true, ~0u, NULL, CKV_EP_INTERNAL, ROUTE_MEMBERS, run_not_found},
    /* the whole shard's data: with CLUSTER_SECRET set, only for those who hold it */
    {"/kv-store/backup", false, EVHTTP_REQ_GET, "GET", CKV_EP_OTHER, ROUTE_NODES, run_backup},
    {"/metrics", false, EVHTTP_REQ_GET, "GET", CKV_EP_OTHER, ROUTE_CLIENT, run_metrics},
    {"/healthz", false, ~0u, NULL, CKV_EP_OTHER, ROUTE_CLIENT, run_health},
    {"/livez", false, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "GET, HEAD", CKV_EP_OTHER, ROUTE_CLIENT,
     run_live},
    {"/kv-store/status", false, EVHTTP_REQ_GET, "GET", CKV_EP_OTHER, ROUTE_CLIENT, run_status},
    {"/dashboard", false, EVHTTP_REQ_GET, "GET", CKV_EP_OTHER, ROUTE_CLIENT, run_dashboard},
    {"/dashboard/", true, EVHTTP_REQ_GET, "GET", CKV_EP_OTHER, ROUTE_CLIENT, run_dashboard},
};

static const route *route_of(const char *uri, size_t len, size_t *rest)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const route *rt = &routes[i];
        size_t pl = strlen(rt->path);
        bool hit = rt->prefix ? len > pl && memcmp(uri, rt->path, pl) == 0
                              : len == pl && memcmp(uri, rt->path, pl) == 0;
        if (hit) {
            *rest = pl;
            return rt;
        }
    }
    return NULL;
}

/* The route of uri's path (len: the path's length, without the query). */
static const route *route_of_path(const char *uri, size_t *len, size_t *rest)
{
    const char *q = strchr(uri, '?');
    *len = q != NULL ? (size_t)(q - uri) : strlen(uri);
    return route_of(uri, *len, rest);
}

/* Routes a request from the start (also when it runs again after a wait). */
static void dispatch(ckv_req *req, void *arg)
{
    ckv_node *n = arg;
    const char *uri = ckv_req_uri(req);
    size_t len, rest = 0;
    const route *rt = route_of_path(uri, &len, &rest);
    if (rt == NULL) {
        ckv_kv_not_found(n, req);
        return;
    }
    req->endpoint = rt->endpoint;
    if (rt->access != ROUTE_CLIENT &&
        !ckv_internal_caller_allowed(n, req, rt->access == ROUTE_MEMBERS)) {
        ckv_node_reply_error(n, req, 403, "Forbidden");
        return;
    }
    if ((rt->methods & (unsigned)ckv_req_method(req)) == 0) {
        ckv_req_add_header(req, "Allow", rt->allow);
        ckv_node_reply_error(n, req, 405, "Method not allowed");
        return;
    }
    rt->run(n, req, uri + rest, len - rest);
}

/* The client API's replies carry a causal context: they repeat it in the header form. */
static bool carries_context(enum ckv_endpoint ep)
{
    return ep == CKV_EP_KEYS || ep == CKV_EP_KEY_COUNT || ep == CKV_EP_SHARDS ||
           ep == CKV_EP_SHARD || ep == CKV_EP_VIEW_CHANGE;
}

#define CORS_ALLOW_HEADERS "Content-Type, " CKV_CTX_HEADER ", " CKV_REQUEST_ID_HEADER
#define CORS_EXPOSE_HEADERS CKV_CTX_HEADER ", " CKV_REQUEST_ID_HEADER
#define CORS_MAX_AGE "600"

static bool is_preflight(const ckv_req *req)
{
    return ckv_req_method(req) == EVHTTP_REQ_OPTIONS &&
           ckv_req_header(req, "Access-Control-Request-Method") != NULL;
}

/* CORS for the client routes. A browser's preflight (OPTIONS with an Origin and
 * Access-Control-Request-Method) is answered here: 204 with what the route allows for an
 * allowed origin, 403 for another. Other requests of an allowed origin get the headers
 * that let the page read the reply and its X-Causal-Context. True when answered. */
static bool cors(ckv_node *n, ckv_req *req, const route *rt)
{
    const char *origin = ckv_req_origin(req);
    if (origin == NULL || rt == NULL || rt->access != ROUTE_CLIENT)
        return false;
    bool allowed =
        ckv_cors_allows(&n->cfg.cors, &n->r.map.view, n->cfg.address, origin, strlen(origin));
    if (allowed) {
        ckv_req_add_header(req, "Access-Control-Allow-Origin", origin);
        ckv_req_add_header(req, "Vary", "Origin");
    }
    if (!is_preflight(req)) {
        if (allowed)
            ckv_req_add_header(req, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
        return false;
    }
    if (!allowed) {
        ckv_node_reply_error(n, req, 403, "Origin not allowed");
        return true;
    }
    ckv_req_add_header(req, "Access-Control-Allow-Methods", rt->allow != NULL ? rt->allow : "GET");
    ckv_req_add_header(req, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
    ckv_req_add_header(req, "Access-Control-Max-Age", CORS_MAX_AGE);
    ckv_reply_empty(req, 204);
    return true;
}

/* A malformed X-Causal-Context is refused like a malformed body, on every endpoint that
 * takes a context (the view change too, whose handler reads only the body). */
static bool bad_context_header(ckv_node *n, ckv_req *req)
{
    ckv_context ignored;
    if (ckv_req_header_context(req, &n->r.map, &ignored) != CKV_ERROR)
        return false;
    ckv_node_reply_error(n, req, 400, "Failed to parse request body");
    return true;
}

/* What is decided once per request, before the first dispatch: whether it is a CORS
 * preflight (then answered), whether its reply repeats the context in a header, and
 * whether that header is valid. The reply header goes to clients that use the header
 * form or are browsers (an Origin): each extra reply header costs evhttp a formatted
 * write, about a tenth of a small request, which body-only clients need not pay. True
 * when the request was answered. */
static bool prepare(ckv_node *n, ckv_req *req)
{
    const char *uri = ckv_req_uri(req);
    size_t len, rest = 0;
    const route *rt = route_of_path(uri, &len, &rest);
    bool takes_context = rt != NULL && carries_context(rt->endpoint);
    bool header_form = takes_context && ckv_req_context_header(req) != NULL;
    if (rt != NULL) {
        req->endpoint = rt->endpoint;
        req->context_header = takes_context && (header_form || ckv_req_origin(req) != NULL);
    }
    if (cors(n, req, rt))
        return true;
    return header_form && bad_context_header(n, req);
}

void ckv_http_gencb(struct evhttp_request *ev, void *arg)
{
    ckv_node *n = arg;
    ckv_membership_check_stall(n, ckv_now_ms());
    ckv_req *req = ckv_req_new(&n->server, ev);
    if (req == NULL) {
        evhttp_send_error(ev, 500, "Out of memory");
        return;
    }
    req->handler = dispatch;
    req->handler_arg = n;
    if (!ckv_conns_admit(n->conns, ev)) {
        ckv_context ctx = {.epoch = n->r.map.epoch};
        ckv_vclock_init(&ctx.clock, n->r.map.view.n);
        ckv_reply_error(req, 503, "Too many connections", &n->r.map, &ctx);
        return;
    }
    if (!prepare(n, req))
        dispatch(req, n);
}
