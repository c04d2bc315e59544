/* conn_track.c — every inbound connection, for MAX_CONNECTIONS and for slow clients.
 *
 * evhttp (2.1) can neither cap connections, nor say when one closes, nor cut off a
 * client that trickles a request a byte at a time (its timeout restarts with every
 * byte). So the node creates each connection's bufferevent itself (evhttp_set_bevcb)
 * and keeps a reference to it. A bufferevent that evhttp has released has no callbacks
 * left; the housekeeping sweep then drops it, which closes the socket. evhttp has shut
 * down its sending side already, so the client sees the end at once; the descriptor
 * itself lingers until the next sweep (at most GOSSIP_INTERVAL_MS).
 *
 * Cap: a connection over MAX_CONNECTIONS is answered 503 at its first request and
 * closed. Slow clients: a connection with no request in progress and none completed for
 * HTTP_TIMEOUT_MS is shut down (an idle keep-alive one is closed by evhttp at that
 * point anyway, so only tricklers are caught).
 *
 * Framing: every byte read is also fed to a framing checker (http_framing.h) before
 * evhttp parses it. On a framing error the connection is answered 400 and closed at once,
 * and what it sent is dropped unparsed, so evhttp never acts on a request whose length
 * it would have taken from the wrong header. */
#include "conn_track.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "causalkv/clock.h"
#include "causalkv/common.h"
#include "causalkv/http_framing.h"
#include "causalkv/log.h"

#define SWEEP_MIN_INTERVAL_MS 50 /* at the cap, look for released ones at most this often */

/* The framing check of one connection; its own allocation, since the input buffer's
 * callback holds it while the table moves. */
typedef struct conn_guard {
    ckv_framing framing;
    ckv_conns *table;
    struct bufferevent *bev;
    struct evbuffer_cb_entry *entry;
} conn_guard;

struct ckv_conns {
    struct ckv_conn *v;
    size_t len, cap;
    uint32_t *at_fd; /* fd -> index + 1 into v (0: unknown); checked on use */
    size_t fd_cap;
    uint64_t last_sweep_ms;
    ckv_conns_options opt;
    ckv_metrics *metrics;
};

struct ckv_conn {
    struct bufferevent *bev; /* our reference */
    conn_guard *guard;       /* NULL when out of memory: the connection goes unchecked */
    uint64_t since_ms;       /* created, or the last request began or was answered */
    bool busy;               /* a request is being answered */
    bool refused;            /* over the cap when it was opened */
    int fd;                  /* its socket once conn_of has seen it, else -1 */
};

/* Answers 400 and closes. The reply goes straight to the socket when nothing else is
 * waiting to be sent (it is small); otherwise evhttp is mid-reply and the connection is
 * only closed. Input already read is dropped so that evhttp parses none of it. */
static void refuse_framing(conn_guard *g, struct evbuffer *input)
{
    evutil_socket_t fd = bufferevent_getfd(g->bev);
    g->table->metrics->bad_framing++;
    log_debug("connection fd %d: bad request framing (%s); answering 400 and closing", (int)fd,
              g->framing.error);
    evbuffer_drain(input, evbuffer_get_length(input));
    if (fd < 0)
        return;
    if (evbuffer_get_length(bufferevent_get_output(g->bev)) == 0) {
        char body[160], reply[320];
        int blen = snprintf(body, sizeof(body),
                            "{\"message\":\"Error in request\",\"error\":\"Bad request "
                            "framing: %s\",\"causal-context\":{}}",
                            g->framing.error);
        int rlen = snprintf(reply, sizeof(reply),
                            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                            "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                            blen, body);
        if (rlen > 0 && (size_t)rlen < sizeof(reply) &&
            send(fd, reply, (size_t)rlen, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            log_debug("connection fd %d: could not send the framing error", (int)fd);
    }
    shutdown(fd, SHUT_RDWR); /* evhttp sees the end and frees the connection */
}

static void on_input(struct evbuffer *input, const struct evbuffer_cb_info *info, void *arg)
{
    conn_guard *g = arg;
    if (info->n_added == 0 || g->framing.error != NULL)
        return;
    /* reads append: the new bytes are the last n_added of the buffer */
    struct evbuffer_ptr at;
    if (evbuffer_ptr_set(input, &at, evbuffer_get_length(input) - info->n_added,
                         EVBUFFER_PTR_SET) != 0)
        return;
    struct evbuffer_iovec vec[8];
    size_t left = info->n_added;
    while (left > 0) {
        int n = evbuffer_peek(input, (ev_ssize_t)left, &at, vec, 8);
        if (n <= 0)
            return;
        for (int i = 0; i < n && i < 8 && left > 0; i++) {
            size_t len = vec[i].iov_len < left ? vec[i].iov_len : left;
            if (ckv_framing_feed(&g->framing, vec[i].iov_base, len) != CKV_OK) {
                refuse_framing(g, input);
                return;
            }
            left -= len;
            if (evbuffer_ptr_set(input, &at, len, EVBUFFER_PTR_ADD) != 0)
                return;
        }
    }
}

static conn_guard *guard_new(ckv_conns *t, struct bufferevent *bev)
{
    conn_guard *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    ckv_framing_init(&g->framing);
    g->table = t;
    g->bev = bev;
    g->entry = evbuffer_add_cb(bufferevent_get_input(bev), on_input, g);
    if (g->entry == NULL) {
        free(g);
        return NULL;
    }
    return g;
}

static void guard_free(conn_guard *g)
{
    if (g == NULL)
        return;
    evbuffer_remove_cb_entry(bufferevent_get_input(g->bev), g->entry);
    free(g);
}

static struct bufferevent *new_conn(struct event_base *base, void *arg)
{
    ckv_conns *t = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        return NULL; /* evhttp makes its own; that connection goes untracked */
    /* a large reply (a sync chunk, a batch's answers) goes out in one turn of the loop
     * (these fail only for a size out of range, which a constant is not) */
    (void)bufferevent_set_max_single_write(bev, CKV_SOCKET_IO_MAX);
    (void)bufferevent_set_max_single_read(bev, CKV_SOCKET_IO_MAX);
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct ckv_conn *v = realloc(t->v, cap * sizeof(*v));
        if (v == NULL)
            return bev;
        t->v = v;
        t->cap = cap;
    }
    bufferevent_incref(bev);
    bool over_cap = t->len >= t->opt.max_connections;
    t->v[t->len] = (struct ckv_conn){.bev = bev,
                                     .guard = guard_new(t, bev),
                                     .since_ms = ckv_now_ms(),
                                     .refused = over_cap,
                                     .fd = -1};
    t->len++;
    return bev;
}

ckv_conns *ckv_conns_new(struct evhttp *http, const ckv_conns_options *opt, ckv_metrics *metrics)
{
    ckv_conns *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->opt = *opt;
    t->metrics = metrics;
    evhttp_set_bevcb(http, new_conn, t);
    return t;
}

static bool released(struct bufferevent *bev)
{
    bufferevent_data_cb readcb = NULL;
    bufferevent_getcb(bev, &readcb, NULL, NULL, NULL);
    return readcb == NULL;
}

void ckv_conns_sweep(ckv_conns *t)
{
    uint64_t now = ckv_now_ms();
    for (size_t i = 0; i < t->len;) {
        struct ckv_conn *c = &t->v[i];
        if (released(c->bev)) {
            guard_free(c->guard);
            bufferevent_decref(c->bev);
            *c = t->v[--t->len];
            if (c->fd >= 0 && (size_t)c->fd < t->fd_cap)
                t->at_fd[c->fd] = (uint32_t)i + 1; /* it moved into slot i */
            continue;
        }
        if (!c->busy && now - c->since_ms > t->opt.http_timeout_ms) {
            evutil_socket_t fd = bufferevent_getfd(c->bev);
            log_debug("closing connection fd %d: no complete request for %u ms", (int)fd,
                      (unsigned)(now - c->since_ms));
            if (fd >= 0)
                shutdown(fd, SHUT_RDWR); /* evhttp sees the end and frees it */
            c->since_ms = now;
        }
        i++;
    }
    t->last_sweep_ms = now;
}

static int index_fd(ckv_conns *t, evutil_socket_t fd)
{
    if ((size_t)fd < t->fd_cap)
        return CKV_OK;
    size_t cap = t->fd_cap ? t->fd_cap : 1024;
    while (cap <= (size_t)fd)
        cap *= 2;
    uint32_t *at = realloc(t->at_fd, cap * sizeof(*at));
    if (at == NULL)
        return CKV_NOMEM;
    memset(at + t->fd_cap, 0, (cap - t->fd_cap) * sizeof(*at));
    t->at_fd = at;
    t->fd_cap = cap;
    return CKV_OK;
}

static struct ckv_conn *conn_of(ckv_conns *t, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    if (fd < 0)
        return NULL;
    /* every request looks its connection up: by fd first, checked against the bufferevent
     * (fds are reused); a miss (first request, or a moved slot) scans once */
    if ((size_t)fd < t->fd_cap && t->at_fd[fd] != 0 && t->at_fd[fd] <= t->len &&
        t->v[t->at_fd[fd] - 1].bev == bev)
        return &t->v[t->at_fd[fd] - 1];
    for (size_t i = t->len; i-- > 0;) {
        if (t->v[i].bev != bev)
            continue;
        if (index_fd(t, fd) == CKV_OK) {
            t->at_fd[fd] = (uint32_t)i + 1;
            t->v[i].fd = fd;
        }
        return &t->v[i];
    }
    return NULL;
}

bool ckv_conns_admit(ckv_conns *t, struct evhttp_request *req)
{
    struct ckv_conn *c = conn_of(t, req);
    if (c == NULL)
        return true;
    if (c->refused && ckv_now_ms() - t->last_sweep_ms >= SWEEP_MIN_INTERVAL_MS) {
        ckv_conns_sweep(t); /* released connections may have made room */
        c = conn_of(t, req);
        if (c == NULL)
            return true;
        c->refused = t->len > t->opt.max_connections;
    }
    if (c->refused) {
        t->metrics->connections_refused++;
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        return false;
    }
    c->busy = true;
    c->since_ms = ckv_now_ms();
    return true;
}

void ckv_conns_replied(ckv_conns *t, struct evhttp_request *req)
{
    struct ckv_conn *c = conn_of(t, req);
    if (c != NULL) {
        c->busy = false;
        c->since_ms = ckv_now_ms();
    }
}

uint32_t ckv_conns_open(const ckv_conns *t)
{
    return (uint32_t)t->len;
}

void ckv_conns_free(ckv_conns *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->len; i++) {
        guard_free(t->v[i].guard);
        bufferevent_decref(t->v[i].bev);
    }
    free(t->v);
    free(t->at_fd);
    free(t);
}
