/* park.c — waiting requests (see park.h). */
#include "park.h"

#include <stdbool.h>
#include <stdlib.h>

#include "causalkv/clock.h"
#include "causalkv/common.h"

typedef struct parked {
    struct parked *prev, *next;
    ckv_park *park;
    ckv_req *req;
    struct event *deadline;
    bool wake_pending; /* to run again in the current wake round */
} parked;

struct ckv_park {
    struct event_base *base;
    struct event *wake_ev;
    parked *head;
    uint32_t count;
    ckv_park_expire_fn expire;
    void *arg;
};

static void unlink_entry(ckv_park *p, parked *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        p->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    p->count--;
    event_free(e->deadline);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    parked *e = arg;
    ckv_park *p = e->park;
    ckv_req *req = e->req;
    unlink_entry(p, e);
    free(e);
    p->expire(req, p->arg);
}

/* Runs every request parked before this round; the ones still waiting park again (new
 * entries, at the head), so the round ends. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ckv_park *p = arg;
    for (parked *e = p->head; e != NULL; e = e->next)
        e->wake_pending = true;
    parked *e = p->head;
    while (e != NULL) {
        if (!e->wake_pending) {
            e = e->next;
            continue;
        }
        parked *next = e->next;
        ckv_req *req = e->req;
        unlink_entry(p, e);
        free(e);
        req->handler(req, req->handler_arg);
        /* the handler may have parked new entries at the head and freed nothing else */
        e = next;
    }
}

ckv_park *ckv_park_new(struct event_base *base, ckv_park_expire_fn expire, void *arg)
{
    ckv_park *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->base = base;
    p->expire = expire;
    p->arg = arg;
    p->wake_ev = event_new(base, -1, 0, on_wake, p);
    if (p->wake_ev == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

void ckv_park_free(ckv_park *p)
{
    if (p == NULL)
        return;
    while (p->head != NULL) {
        parked *e = p->head;
        unlink_entry(p, e);
        free(e);
    }
    event_free(p->wake_ev);
    free(p);
}

int ckv_park_add(ckv_park *p, ckv_req *req)
{
    parked *e = calloc(1, sizeof(*e));
    if (e != NULL)
        e->deadline = evtimer_new(p->base, on_deadline, e);
    if (e == NULL || e->deadline == NULL) {
        free(e);
        return CKV_NOMEM;
    }
    e->park = p;
    e->req = req;
    uint64_t now = ckv_now_ms();
    uint64_t wait = req->wait_deadline_ms > now ? req->wait_deadline_ms - now : 0;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
    evtimer_add(e->deadline, &tv);
    e->next = p->head;
    if (p->head)
        p->head->prev = e;
    p->head = e;
    p->count++;
    return CKV_OK;
}

void ckv_park_wake(ckv_park *p)
{
    if (p->head != NULL)
        event_active(p->wake_ev, EV_TIMEOUT, 0);
}

uint32_t ckv_park_count(const ckv_park *p)
{
    return p->count;
}

void ckv_park_expire_all(ckv_park *p)
{
    while (p->head != NULL) {
        parked *e = p->head;
        ckv_req *req = e->req;
        unlink_entry(p, e);
        free(e);
        p->expire(req, p->arg);
    }
}
