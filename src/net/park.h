/* park.h — requests waiting for progress: causal dependencies, a view change, the view in
 * force. Each keeps its own deadline (in its ckv_req) and its own handler.
 *
 * A parked request belongs to the park until it is woken or expires. Wake runs every
 * request parked before it again from the start, with req->handler (in one later loop
 * turn, so that the caller's state settles first); those that must still wait park
 * again. At the deadline, expire(req) answers it. */
#ifndef CAUSALKV_NET_PARK_H
#define CAUSALKV_NET_PARK_H

#include <event2/event.h>
#include <stdint.h>

#include "http_reply.h"

typedef struct ckv_park ckv_park;
typedef void (*ckv_park_expire_fn)(ckv_req *req, void *arg);

ckv_park *ckv_park_new(struct event_base *base, ckv_park_expire_fn expire, void *arg);
/* Answers nothing: call ckv_park_expire_all first. NULL-safe. */
void ckv_park_free(ckv_park *p);

/* Parks req until a wake or req->wait_deadline_ms (wall clock). CKV_OK when parked;
 * otherwise the caller still owns req and answers it. */
int ckv_park_add(ckv_park *p, ckv_req *req);
void ckv_park_wake(ckv_park *p);
uint32_t ckv_park_count(const ckv_park *p);
/* Expires every waiting request now (shutdown). */
void ckv_park_expire_all(ckv_park *p);

#endif
