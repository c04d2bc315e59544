/* peer_pool.c — keep-alive evhttp connections per peer, one deadline timer per request. */
#include "peer_pool.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "causalkv/clock.h"
#include "causalkv/log.h"
#include "causalkv/request_id.h"
#include "causalkv/view.h"
#include "resolver.h"

#define PEER_DOWN_BACKOFF_MS 1000 /* a failed peer is tried last for this long */

struct ckv_call;

typedef struct ckv_peer {
    char addr[CKV_ADDR_MAX];
    uint16_t port;
    ckv_resolved *res;                /* the host's addresses (owned by the resolver) */
    struct evhttp_connection **conns; /* conns_per_peer, created lazily */
    uint32_t *conn_gen;               /* res's generation when each connection was made */
    uint32_t *inflight;               /* requests queued per connection */
    uint64_t *last_used_ms;           /* when each connection last finished a request */
    uint64_t down_until_ms;
    uint64_t next_seq; /* order of requests, to tell which one a connection is sending */
    bool failing;      /* the last request that finished got no reply */
    bool swallowed;    /* a request was sent and got no reply, and none has had one since */
    struct ckv_peer *next;
} ckv_peer;

typedef struct ckv_call {
    struct ckv_call *prev, *next;
    ckv_peer_pool *pool;
    ckv_peer *peer;
    uint32_t conn;
    uint64_t seq;
    struct evhttp_request *req; /* NULL once libevent has finished with it */
    struct event *timer;        /* the deadline, or the deferred failure */
    bool failed_early;          /* failed inside a libevent call: cb runs from the timer */
    int early_status;           /* what that failure reports */
    ckv_peer_cb cb;
    void *arg;
    /* Held while the peer's name is being looked up for the first time, with copies of
     * what to send once it resolves (the caller's buffers do not outlive the call). */
    bool held;
    enum evhttp_cmd_type method;
    char *uri, *body;
    size_t len;
    uint64_t forward_deadline_ms;
    char *request_id; /* NULL for none */
} ckv_call;

struct ckv_peer_pool {
    struct event_base *base;
    ckv_peer_pool_options opt;
    char self_addr[CKV_ADDR_MAX];
    char local_ip[CKV_HOST_MAX];
    char secret[128];
    ckv_peer *peers;
    ckv_call *calls;         /* in flight, so that freeing the pool frees them */
    struct event *resume_ev; /* sends held calls after a lookup ended */
    /* > 0 while the pool is inside a libevent call that may complete requests at once
     * (a connect that fails synchronously ends every request queued on that connection):
     * those completions are deferred, so no caller is re-entered and no call is freed
     * under the code that is still setting it up */
    int in_libevent;
    bool closing;
};

static void on_resume(evutil_socket_t fd, short what, void *arg);

/* The resolver calls this when a lookup ends, possibly from inside a pool call: the
 * held calls are sent from the loop instead. */
static void on_lookup_ended(void *arg)
{
    ckv_peer_pool *p = arg;
    struct timeval now = {0, 0};
    evtimer_add(p->resume_ev, &now);
}

ckv_peer_pool *ckv_peer_pool_new(struct event_base *base, const ckv_peer_pool_options *opt)
{
    ckv_peer_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->base = base;
    p->opt = *opt;
    if (p->opt.conns_per_peer == 0)
        p->opt.conns_per_peer = 1;
    snprintf(p->self_addr, sizeof(p->self_addr), "%s", opt->self_addr ? opt->self_addr : "");
    snprintf(p->local_ip, sizeof(p->local_ip), "%s", opt->local_ip ? opt->local_ip : "");
    snprintf(p->secret, sizeof(p->secret), "%s", opt->secret ? opt->secret : "");
    p->resume_ev = evtimer_new(base, on_resume, p);
    if (p->resume_ev == NULL) {
        free(p);
        return NULL;
    }
    ckv_resolver_set_listener(p->opt.resolver, on_lookup_ended, p);
    return p;
}

static void call_unlink(ckv_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->pool->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->peer->inflight[c->conn] > 0)
        c->peer->inflight[c->conn]--;
    c->peer->last_used_ms[c->conn] = ckv_now_ms();
    event_free(c->timer);
}

static void call_free(ckv_call *c)
{
    free(c->request_id);
    free(c->uri);
    free(c->body);
    free(c);
}

static void peer_free_arrays(ckv_peer *peer)
{
    free(peer->conns);
    free(peer->conn_gen);
    free(peer->inflight);
    free(peer->last_used_ms);
}

void ckv_peer_pool_free(ckv_peer_pool *p)
{
    if (p == NULL)
        return;
    p->closing = true;
    ckv_resolver_set_listener(p->opt.resolver, NULL, NULL);
    event_free(p->resume_ev);
    while (p->calls != NULL) {
        ckv_call *c = p->calls;
        ckv_peer_cb cb = c->cb;
        void *arg = c->arg;
        call_unlink(c);
        call_free(c);
        cb(CKV_PEER_NO_REPLY, NULL, 0, arg); /* the request goes with its connection below */
    }
    for (ckv_peer *peer = p->peers, *next; peer != NULL; peer = next) {
        next = peer->next;
        for (uint32_t i = 0; i < p->opt.conns_per_peer; i++)
            if (peer->conns[i] != NULL)
                evhttp_connection_free(peer->conns[i]);
        peer_free_arrays(peer);
        free(peer);
    }
    free(p);
}

static ckv_peer *peer_find(const ckv_peer_pool *p, const char *addr)
{
    for (ckv_peer *peer = p->peers; peer != NULL; peer = peer->next)
        if (strcmp(peer->addr, addr) == 0)
            return peer;
    return NULL;
}

static ckv_peer *peer_get(ckv_peer_pool *p, const char *addr)
{
    ckv_peer *peer = peer_find(p, addr);
    if (peer != NULL)
        return peer;
    peer = calloc(1, sizeof(*peer));
    if (peer == NULL)
        return NULL;
    uint32_t n = p->opt.conns_per_peer;
    peer->conns = calloc(n, sizeof(*peer->conns));
    peer->conn_gen = calloc(n, sizeof(*peer->conn_gen));
    peer->inflight = calloc(n, sizeof(*peer->inflight));
    peer->last_used_ms = calloc(n, sizeof(*peer->last_used_ms));
    char host[CKV_HOST_MAX];
    if (peer->conns == NULL || peer->conn_gen == NULL || peer->inflight == NULL ||
        peer->last_used_ms == NULL || ckv_addr_split(addr, host, &peer->port) != CKV_OK ||
        (peer->res = ckv_resolver_get(p->opt.resolver, host)) == NULL) {
        peer_free_arrays(peer);
        free(peer);
        return NULL;
    }
    snprintf(peer->addr, sizeof(peer->addr), "%s", addr);
    peer->next = p->peers;
    p->peers = peer;
    return peer;
}

/* A connection to the peer's current address. It is given the resolver's cached
 * numeric address, so evhttp never resolves (a name is looked up once, not per
 * connection, and a lookup that never answers cannot hold a connection). */
static struct evhttp_connection *conn_new(ckv_peer_pool *p, ckv_peer *peer, const char *ip)
{
    struct evhttp_connection *c = evhttp_connection_base_new(p->base, NULL, ip, peer->port);
    if (c == NULL)
        return NULL;
    evhttp_connection_set_retries(c, 0);
    evhttp_connection_set_max_body_size(c, p->opt.max_body_bytes);
    evhttp_connection_set_max_headers_size(c, 64 * 1024);
    /* a push or a batch goes out in one turn of the loop (these fail only for a size
     * out of range, which a constant is not) */
    struct bufferevent *bev = evhttp_connection_get_bufferevent(c);
    (void)bufferevent_set_max_single_write(bev, CKV_SOCKET_IO_MAX);
    (void)bufferevent_set_max_single_read(bev, CKV_SOCKET_IO_MAX);
    /* the loopback source is IPv4: an IPv6 peer is reached from the kernel's choice */
    if (p->local_ip[0] != '\0' && strchr(ip, ':') == NULL)
        evhttp_connection_set_local_address(c, p->local_ip);
    return c;
}

/* The least busy connection of the peer, created on first use. CKV_AGAIN while the
 * peer's name has not resolved yet. */
static int peer_pick_conn(ckv_peer_pool *p, ckv_peer *peer, uint32_t *out)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < p->opt.conns_per_peer; i++)
        if (peer->inflight[i] < peer->inflight[best])
            best = i;
    /* The peer closes keep-alive connections idle for its HTTP_TIMEOUT_MS; a request
     * sent just as it does fails with no reply. Retire idle ones well before that, and
     * idle ones made to an address that is no longer the peer's. */
    uint32_t gen = ckv_resolved_gen(peer->res);
    if (peer->conns[best] != NULL && peer->inflight[best] == 0 &&
        (peer->conn_gen[best] != gen ||
         (p->opt.idle_retire_ms > 0 &&
          ckv_now_ms() - peer->last_used_ms[best] >= p->opt.idle_retire_ms))) {
        evhttp_connection_free(peer->conns[best]);
        peer->conns[best] = NULL;
    }
    if (peer->conns[best] == NULL) {
        const char *ip = ckv_resolved_ip(peer->res);
        if (ip == NULL)
            return CKV_AGAIN;
        peer->conns[best] = conn_new(p, peer, ip);
        if (peer->conns[best] == NULL)
            return CKV_ERROR;
        peer->conn_gen[best] = gen;
    }
    *out = best;
    return CKV_OK;
}

/* One line when a peer stops answering and one when it answers again, not one per call.
 * A failure also asks for the peer's name again: it may have moved to another address. */
static void peer_note_outcome(ckv_peer_pool *p, ckv_peer *peer, int status)
{
    if (status <= 0) {
        ckv_resolver_refresh(p->opt.resolver, peer->res);
        peer->down_until_ms = ckv_now_ms() + PEER_DOWN_BACKOFF_MS;
        if (!peer->failing)
            log_warn("peer %s: no reply (%s); trying it last for now", peer->addr,
                     status == CKV_PEER_UNSENT ? "could not connect" : "timed out or dropped");
        peer->failing = true;
        peer->swallowed = peer->swallowed || status == CKV_PEER_NO_REPLY;
        return;
    }
    peer->down_until_ms = 0;
    if (peer->failing)
        log_info("peer %s answers again", peer->addr);
    peer->failing = false;
    peer->swallowed = false;
}

static void call_finish(ckv_call *c, int status, const char *body, size_t len)
{
    if (!c->pool->closing)
        peer_note_outcome(c->pool, c->peer, status);
    call_unlink(c);
    ckv_peer_cb cb = c->cb;
    void *arg = c->arg;
    call_free(c);
    cb(status, body, len, arg);
}

static void on_reply(struct evhttp_request *req, void *arg)
{
    ckv_call *c = arg;
    /* libevent ends a request with req == NULL once its connection was up (the request
     * may have been written), and with a response code of 0 when the connect failed */
    int status = req != NULL ? evhttp_request_get_response_code(req) : 0;
    if (status == 0 && req != NULL)
        status = CKV_PEER_UNSENT;
    if (status <= 0 && c->pool->in_libevent > 0) {
        /* libevent frees req when this returns; report the failure from the loop */
        c->req = NULL;
        c->failed_early = true;
        c->early_status = status;
        struct timeval now = {0, 0};
        evtimer_add(c->timer, &now);
        return;
    }
    if (status <= 0) {
        call_finish(c, status, NULL, 0);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    call_finish(c, status, body, len);
}

/* evhttp sends one request at a time per connection, oldest first: a call with an older
 * one still pending on its connection has not been written. */
static bool call_is_sending(const ckv_call *c)
{
    for (const ckv_call *o = c->pool->calls; o != NULL; o = o->next)
        if (o != c && o->peer == c->peer && o->conn == c->conn && o->seq < c->seq &&
            !o->failed_early && !o->held)
            return false;
    return true;
}

/* A request being sent on a connection whose connect has not finished is still unsent. */
static bool conn_is_connected(struct evhttp_connection *conn)
{
    struct bufferevent *bev = conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    return fd >= 0 && getpeername(fd, (struct sockaddr *)&sa, &len) == 0;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ckv_call *c = arg;
    int status = c->early_status;
    if (c->held) {
        status = CKV_PEER_UNSENT; /* the name did not resolve in time */
        log_debug("request to %s timed out waiting for its name", c->peer->addr);
    } else if (!c->failed_early) {
        status = call_is_sending(c) && conn_is_connected(c->peer->conns[c->conn])
                     ? CKV_PEER_NO_REPLY
                     : CKV_PEER_UNSENT;
        /* libevent frees the request and will not call on_reply; it may start the next
         * queued request, whose connect can fail at once */
        c->pool->in_libevent++;
        evhttp_cancel_request(c->req);
        c->pool->in_libevent--;
        log_debug("request to %s timed out (%s)", c->peer->addr,
                  status == CKV_PEER_UNSENT ? "not sent" : "sent");
    }
    call_finish(c, status, NULL, 0);
}

static int add_headers(ckv_peer_pool *p, ckv_peer *peer, struct evhttp_request *req,
                       uint64_t forward_deadline_ms, const char *request_id)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    int rc = evhttp_add_header(h, "Host", peer->addr);
    rc |= evhttp_add_header(h, "Content-Type", "application/json");
    if (p->secret[0] != '\0')
        rc |= evhttp_add_header(h, CKV_HDR_SECRET, p->secret);
    if (forward_deadline_ms != 0) {
        char deadline[24];
        snprintf(deadline, sizeof(deadline), "%llu", (unsigned long long)forward_deadline_ms);
        rc |= evhttp_add_header(h, CKV_HDR_FORWARDED, p->self_addr);
        rc |= evhttp_add_header(h, CKV_HDR_DEADLINE, deadline);
    }
    if (request_id != NULL && request_id[0] != '\0')
        rc |= evhttp_add_header(h, CKV_REQUEST_ID_HEADER, request_id);
    return rc == 0 ? CKV_OK : CKV_ERROR;
}

static void call_link(ckv_peer_pool *p, ckv_call *c)
{
    c->peer->inflight[c->conn]++;
    c->seq = c->peer->next_seq++;
    c->next = p->calls;
    if (p->calls)
        p->calls->prev = c;
    p->calls = c;
}

/* Ends c with status from the loop, not inside the current call. */
static void defer_failure(ckv_call *c, int status)
{
    c->held = false;
    c->failed_early = true;
    c->early_status = status;
    struct timeval now = {0, 0};
    evtimer_add(c->timer, &now);
}

static int add_body(struct evhttp_request *req, const char *body, size_t len)
{
    if (body == NULL || len == 0)
        return CKV_OK;
    /* libevent adds Content-Length for POST and PUT only; a proxied GET or DELETE with a
     * causal context needs it too, or the peer never reads the body */
    char clen[24];
    snprintf(clen, sizeof(clen), "%zu", len);
    if (evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", clen) != 0 ||
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len) != 0)
        return CKV_ERROR;
    return CKV_OK;
}

static int hold_copy(ckv_call *c, enum evhttp_cmd_type method, const char *uri, const char *body,
                     size_t len, uint64_t forward_deadline_ms, const char *request_id)
{
    c->method = method;
    c->uri = strdup(uri);
    c->len = body != NULL ? len : 0;
    c->body = c->len > 0 ? malloc(c->len) : NULL;
    c->request_id = request_id != NULL && request_id[0] != '\0' ? strdup(request_id) : NULL;
    if (c->uri == NULL || (c->len > 0 && c->body == NULL) ||
        (request_id != NULL && request_id[0] != '\0' && c->request_id == NULL))
        return CKV_ERROR;
    if (c->len > 0)
        memcpy(c->body, body, c->len);
    c->forward_deadline_ms = forward_deadline_ms;
    return CKV_OK;
}

/* A peer whose name has not resolved. While its first lookup is in flight (a node that
 * just started asks its peers at once) the call waits for it, within its deadline;
 * otherwise nothing can be sent, and the caller hears so from the loop
 * (CKV_PEER_UNSENT), never inside this call, as for a failed connect. */
static int hold_unresolved(ckv_peer_pool *p, ckv_call *c, enum evhttp_cmd_type method,
                           const char *uri, const char *body, size_t len, uint32_t timeout_ms,
                           uint64_t forward_deadline_ms, const char *request_id)
{
    c->timer = evtimer_new(p->base, on_deadline, c);
    if (c->timer == NULL) {
        call_free(c);
        return CKV_ERROR;
    }
    c->conn = 0;
    call_link(p, c);
    if (ckv_resolved_looking_up(c->peer->res) &&
        hold_copy(c, method, uri, body, len, forward_deadline_ms, request_id) == CKV_OK) {
        c->held = true;
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(c->timer, &tv);
    } else {
        defer_failure(c, CKV_PEER_UNSENT);
    }
    return CKV_OK;
}

/* Sends a held call now that its peer's lookup ended, keeping its deadline. Failures
 * end it from the loop (defer_failure), so no call is freed under on_resume. */
static void send_held(ckv_peer_pool *p, ckv_call *c)
{
    uint32_t conn;
    if (peer_pick_conn(p, c->peer, &conn) != CKV_OK) {
        defer_failure(c, CKV_PEER_UNSENT);
        return;
    }
    c->held = false;
    c->peer->inflight[c->conn]--;
    c->conn = conn;
    c->peer->inflight[conn]++;
    c->seq = c->peer->next_seq++; /* queued behind what the connection already has */
    c->req = evhttp_request_new(on_reply, c);
    if (c->req == NULL ||
        add_headers(p, c->peer, c->req, c->forward_deadline_ms, c->request_id) != CKV_OK ||
        add_body(c->req, c->body, c->len) != CKV_OK) {
        if (c->req != NULL)
            evhttp_request_free(c->req);
        c->req = NULL;
        defer_failure(c, CKV_PEER_UNSENT);
        return;
    }
    p->in_libevent++;
    int rc = evhttp_make_request(c->peer->conns[conn], c->req, c->method, c->uri);
    p->in_libevent--;
    if (rc != 0 && !c->failed_early) {
        c->req = NULL; /* libevent may or may not have freed it: left to it */
        defer_failure(c, CKV_PEER_UNSENT);
    }
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ckv_peer_pool *p = arg;
    for (ckv_call *c = p->calls; c != NULL; c = c->next)
        if (c->held && !ckv_resolved_looking_up(c->peer->res))
            send_held(p, c);
}

int ckv_peer_send(ckv_peer_pool *p, const char *addr, enum evhttp_cmd_type method, const char *uri,
                  const char *body, size_t len, uint32_t timeout_ms, uint64_t forward_deadline_ms,
                  ckv_peer_cb cb, void *arg)
{
    return ckv_peer_forward(p, addr, method, uri, body, len, timeout_ms, forward_deadline_ms, NULL,
                            cb, arg);
}

int ckv_peer_forward(ckv_peer_pool *p, const char *addr, enum evhttp_cmd_type method,
                     const char *uri, const char *body, size_t len, uint32_t timeout_ms,
                     uint64_t forward_deadline_ms, const char *request_id, ckv_peer_cb cb,
                     void *arg)
{
    if (p->closing)
        return CKV_ERROR;
    ckv_peer *peer = peer_get(p, addr);
    ckv_call *c = malloc(sizeof(*c)); /* not calloc: see ckv_req_new */
    if (peer == NULL || c == NULL)
        goto fail;
    *c = (ckv_call){.pool = p, .peer = peer, .cb = cb, .arg = arg};
    int picked = peer_pick_conn(p, peer, &c->conn);
    if (picked == CKV_AGAIN)
        return hold_unresolved(p, c, method, uri, body, len, timeout_ms, forward_deadline_ms,
                               request_id);
    if (picked != CKV_OK)
        goto fail;
    c->req = evhttp_request_new(on_reply, c);
    c->timer = evtimer_new(p->base, on_deadline, c);
    if (c->req == NULL || c->timer == NULL ||
        add_headers(p, peer, c->req, forward_deadline_ms, request_id) != CKV_OK ||
        add_body(c->req, body, len) != CKV_OK)
        goto fail_req;
    /* linked and timed before it is sent: the send itself may end it (see in_libevent) */
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
    call_link(p, c);
    p->in_libevent++;
    int rc = evhttp_make_request(peer->conns[c->conn], c->req, method, uri);
    p->in_libevent--;
    if (rc != 0 && !c->failed_early) {
        /* not queued (no socket could be made): the caller hears CKV_ERROR, not cb; the
         * request may or may not have been freed by libevent, so it is left to it */
        call_unlink(c);
        free(c);
        return CKV_ERROR;
    }
    return CKV_OK;
fail_req:
    if (c->req != NULL)
        evhttp_request_free(c->req);
    if (c->timer != NULL)
        event_free(c->timer);
fail:
    free(c);
    return CKV_ERROR;
}

bool ckv_peer_is_down(const ckv_peer_pool *p, const char *addr)
{
    const ckv_peer *peer = peer_find(p, addr);
    return peer != NULL && peer->down_until_ms > ckv_now_ms();
}

bool ckv_peer_is_suspect(const ckv_peer_pool *p, const char *addr)
{
    const ckv_peer *peer = peer_find(p, addr);
    return peer != NULL && peer->swallowed;
}
