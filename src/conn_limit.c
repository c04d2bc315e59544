/* conn_limit.c — MAX_CONNECTIONS for the client listener.
 *
 * evhttp (2.1) can neither cap connections nor say when one closes, so a connection is
 * counted at its first request: its fd is remembered with its socket's inode, and an fd
 * whose inode changed (or that is gone) has been closed by evhttp. Reconciling costs one
 * fstat per open connection, on the housekeeping timer and, rate-limited, when the cap
 * is hit. A new connection over the cap gets 503 and is closed; counted ones go on.
 * Connections that never send a request are not counted: HTTP_TIMEOUT_MS ends them. */
#include "causalkv/node.h"

#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "causalkv/log.h"

#define RECONCILE_MIN_INTERVAL_MS 50 /* when at the cap, look for closed ones at most this often */

static ino_t socket_inode(evutil_socket_t fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? st.st_ino : 0;
}

void ckv_conn_reconcile(ckv_node *n)
{
    ckv_conn_table *t = &n->conns;
    uint32_t open = 0;
    for (size_t fd = 0; fd < t->cap; fd++) {
        if (t->ino[fd] == 0)
            continue;
        if (socket_inode((evutil_socket_t)fd) != t->ino[fd])
            t->ino[fd] = 0; /* evhttp closed it (the number may have been reused) */
        else
            open++;
    }
    t->open = open;
    t->last_reconcile_ms = ckv_now_ms();
}

static int track(ckv_conn_table *t, evutil_socket_t fd)
{
    if ((size_t)fd >= t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap <= (size_t)fd)
            cap *= 2;
        ino_t *ino = realloc(t->ino, cap * sizeof(*ino));
        if (ino == NULL)
            return CKV_NOMEM;
        memset(ino + t->cap, 0, (cap - t->cap) * sizeof(*ino));
        t->ino = ino;
        t->cap = cap;
    }
    if (t->ino[fd] == 0)
        t->open++;
    t->ino[fd] = socket_inode(fd);
    return CKV_OK;
}

bool ckv_conn_admit(ckv_node *n, struct evhttp_request *req)
{
    ckv_conn_table *t = &n->conns;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    if (fd < 0 || ((size_t)fd < t->cap && t->ino[fd] != 0))
        return true; /* a connection already counted */
    if (t->open >= n->cfg.max_connections &&
        ckv_now_ms() - t->last_reconcile_ms >= RECONCILE_MIN_INTERVAL_MS)
        ckv_conn_reconcile(n);
    if (t->open < n->cfg.max_connections && track(t, fd) == CKV_OK)
        return true;
    n->metrics.connections_refused++;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    return false;
}

void ckv_conn_free(ckv_node *n)
{
    free(n->conns.ino);
    memset(&n->conns, 0, sizeof(n->conns));
}
