/* conn_limit.c — MAX_CONNECTIONS for the client listener.
 *
 * evhttp (2.1) can neither cap connections nor say when one closes, so a connection is
 * counted at its first request: its fd is remembered with the connection object and the
 * socket's inode. A later request on the same connection is recognised without a system
 * call; a different connection on a remembered fd means the old one was closed and the
 * number reused. Reconciling (one fstat per counted connection, on the housekeeping
 * timer and, rate-limited, when the cap is hit) drops fds whose socket changed or is
 * gone. A new connection over the cap gets 503 and is closed; counted ones go on.
 * Connections that never send a request are not counted: HTTP_TIMEOUT_MS ends them. */
#include "causalkv/node.h"

#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RECONCILE_MIN_INTERVAL_MS 50 /* when at the cap, look for closed ones at most this often */

struct ckv_conn_slot {
    ino_t ino;         /* 0: free */
    const void *evcon; /* the connection counted on this fd */
};

static ino_t socket_inode(evutil_socket_t fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? st.st_ino : 0;
}

static void slot_clear(ckv_conn_table *t, size_t fd)
{
    t->slots[fd].ino = 0;
    t->slots[fd].evcon = NULL;
    t->open--;
}

void ckv_conn_reconcile(ckv_node *n)
{
    ckv_conn_table *t = &n->conns;
    for (size_t fd = 0; fd < t->cap; fd++)
        if (t->slots[fd].ino != 0 && socket_inode((evutil_socket_t)fd) != t->slots[fd].ino)
            slot_clear(t, fd); /* evhttp closed it */
    t->last_reconcile_ms = ckv_now_ms();
}

static int slots_fit(ckv_conn_table *t, size_t fd)
{
    if (fd < t->cap)
        return CKV_OK;
    size_t cap = t->cap ? t->cap : 1024;
    while (cap <= fd)
        cap *= 2;
    struct ckv_conn_slot *s = realloc(t->slots, cap * sizeof(*s));
    if (s == NULL)
        return CKV_NOMEM;
    memset(s + t->cap, 0, (cap - t->cap) * sizeof(*s));
    t->slots = s;
    t->cap = cap;
    return CKV_OK;
}

bool ckv_conn_admit(ckv_node *n, struct evhttp_request *req)
{
    ckv_conn_table *t = &n->conns;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    if (fd < 0 || slots_fit(t, (size_t)fd) != CKV_OK)
        return true; /* cannot track it: serving beats refusing on our own failure */
    struct ckv_conn_slot *slot = &t->slots[fd];
    if (slot->ino != 0 && slot->evcon == evcon)
        return true; /* counted already */
    ino_t ino = socket_inode(fd);
    if (slot->ino != 0 && slot->ino != ino)
        slot_clear(t, (size_t)fd); /* the fd's previous connection is gone */
    if (slot->ino == 0) {
        if (t->open >= n->cfg.max_connections &&
            ckv_now_ms() - t->last_reconcile_ms >= RECONCILE_MIN_INTERVAL_MS)
            ckv_conn_reconcile(n);
        if (t->open >= n->cfg.max_connections) {
            n->metrics.connections_refused++;
            evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
            return false;
        }
        t->open++;
    }
    slot->ino = ino;
    slot->evcon = evcon;
    return true;
}

void ckv_conn_free(ckv_node *n)
{
    free(n->conns.slots);
    memset(&n->conns, 0, sizeof(n->conns));
}
