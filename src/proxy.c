/* proxy.c — forwards a client request to a replica of the owning shard, failing over to
 * the next replica within one bounded proxy timeout.
 *
 * A read fails over whenever a replica does not answer. A write fails over only when it
 * never left this node: one that was sent and got no reply may have been applied, and
 * sending it to another replica would apply it twice, as two versions (the second can
 * overwrite a later write that depended on the first). Such a write is answered 503.
 *
 * A read also fails over when a replica answers 503 (it could not serve it in its share
 * of the time: it lacks the history the read needs); the last replica's 503 is the answer.
 * A read can also go to another replica of this node's own shard, one that holds the
 * history the read needs; when that fails it comes back to wait here (a fallback).
 *
 * Batching: an attempt is not sent at once but queued, and once per loop iteration (after
 * every request that arrived in it has run) the queue goes out: the attempts for the same
 * replica, reads and writes apart, as one internal batch message (fwd_batch.h), a lone
 * attempt as the plain request it always was. Each item keeps its own deadline, which the
 * owner enforces, and its own answer, which is handled exactly as the plain request's. A
 * batch of writes may wait for its slowest item's deadline (a write cannot fail over
 * once sent, so it is given all its time); a batch of reads for its earliest (a read
 * timed out early fails over, which is safe). A batch the owner refused as a whole (an
 * older node without the endpoint, a body over its limit) ran nothing: its items are
 * sent again one by one. */
#include "proxy.h"

#include <stdlib.h>
#include <string.h>

#include "causalkv/fwd_batch.h"
#include "causalkv/log.h"

#define BATCH_URI CKV_INTERNAL_PREFIX "batch"
/* Attempts queued in one loop iteration; more go out as soon as the queue is full. */
#define QUEUE_MAX 1024
/* The largest body a read's answer can have (a value escaped as JSON, and the rest),
 * which bounds how many reads one batch may carry within the peer pool's reply limit. */
#define READ_ANSWER_MAX(max_value) (6ull * (max_value) + 65536)

typedef struct proxy_op {
    ckv_node *n;
    ckv_req *req;
    enum evhttp_cmd_type method;
    char *uri;
    size_t uri_len;
    char *body;
    size_t body_len;
    uint32_t order[CKV_VIEW_MAX]; /* replicas to try, live ones first */
    uint32_t count, tried;
    bool is_write; /* must not be sent twice: see the top of this file */
    uint64_t deadline_ms;
    ckv_proxy_fallback fallback; /* set: the request goes back here instead of a 503 */
    char addr[CKV_ADDR_MAX];     /* replica currently asked */
    uint32_t attempt_ms;         /* the current attempt's time */
    uint64_t attempt_deadline_ms;
} proxy_op;

struct ckv_proxy_queue {
    ckv_node *n;
    struct event *flush_ev;
    uint32_t rotation; /* where the next choice of replicas starts, to spread load */
    uint32_t count;
    proxy_op *ops[QUEUE_MAX];
};

/* One batch in flight: its items, in the order of the message. */
typedef struct batch_call {
    uint32_t count;
    proxy_op *ops[CKV_FWD_BATCH_MAX];
} batch_call;

static void proxy_op_free(proxy_op *op)
{
    free(op->uri);
    free(op->body);
    free(op);
}

/* Replicas of shard, rotating the starting point to spread load, known-down ones last.
 * A write also puts last the replicas whose last request got no reply, after their
 * back-off too: reads probe those again, and a write sent there cannot fail over. */
static void order_replicas(ckv_node *n, uint32_t shard, proxy_op *op)
{
    uint32_t first = ckv_shard_map_first_replica(&n->r.map, shard);
    uint32_t rf = n->r.map.rf, start = n->proxy_queue->rotation++;
    op->count = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < rf; i++) {
            uint32_t idx = first + (start + i) % rf;
            const char *addr = n->r.map.view.addrs[idx];
            bool down = ckv_peer_is_down(n->pool, addr) ||
                        (op->is_write && ckv_peer_is_suspect(n->pool, addr));
            if (down == (pass == 1))
                op->order[op->count++] = idx;
        }
    }
}

/* A JSON object reply gains "address"; anything else becomes a JSON error. */
static void reply_proxied(proxy_op *op, int status, const char *body, size_t len)
{
    ckv_node *n = op->n;
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == ' ' || body[len - 1] == '\r'))
        len--;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    if (len >= 2 && body[0] == '{' && body[len - 1] == '}') {
        ckv_sbuf_add(&b, body, len - 1);
        if (len > 2)
            ckv_sbuf_addc(&b, ',');
    } else {
        ckv_context ctx;
        ckv_req_context(op->req, &n->r.map, &ctx);
        ckv_sbuf_adds(&b, "{\"message\":\"Error in ");
        ckv_sbuf_adds(&b, ckv_method_name(op->method));
        ckv_sbuf_adds(&b, "\",\"error\":\"Unexpected reply from the owning shard\"");
        ckv_json_add_context(&b, true, &n->r.map, &ctx);
        ckv_sbuf_addc(&b, ',');
    }
    ckv_sbuf_adds(&b, "\"address\":");
    ckv_sbuf_add_json_str(&b, op->addr, strlen(op->addr));
    ckv_sbuf_addc(&b, '}');
    ckv_reply(op->req, status, &b);
}

static void proxy_try_next(proxy_op *op);
static void enqueue(ckv_proxy_queue *q, proxy_op *op);
static void send_single(proxy_op *op);

static void proxy_give_up(proxy_op *op)
{
    ckv_node *n = op->n;
    if (op->fallback != NULL) {
        ckv_proxy_fallback fallback = op->fallback;
        ckv_req *req = op->req;
        proxy_op_free(op);
        fallback(n, req);
        return;
    }
    ckv_context ctx;
    ckv_req_context(op->req, &n->r.map, &ctx);
    n->metrics.proxy_unavailable++;
    ckv_reply_error(op->req, 503, "Unable to satisfy request", &n->r.map, &ctx);
    proxy_op_free(op);
}

/* A read is safe to ask again, and a 503 says this replica could not serve it now (it
 * lacks the history the read needs, cut off from the replica that has it): another
 * replica of the shard, or this node itself for a fallback, may. */
static bool ask_elsewhere(const proxy_op *op, int status)
{
    return status == 503 && !op->is_write && (op->tried < op->count || op->fallback != NULL);
}

static void on_proxy_reply(int status, const char *body, size_t len, void *arg)
{
    proxy_op *op = arg;
    if (status > 0 && !ask_elsewhere(op, status)) {
        reply_proxied(op, status, body, len);
        proxy_op_free(op);
        return;
    }
    if (op->is_write && status != CKV_PEER_UNSENT) {
        op->n->metrics.proxy_write_unknown++;
        CKV_LOG_REQ(CKV_LOG_DEBUG, ckv_req_id(op->req),
                    "proxy: write sent to %s got no reply; not sending it again", op->addr);
        proxy_give_up(op);
        return;
    }
    op->n->metrics.proxy_failovers++;
    CKV_LOG_REQ(CKV_LOG_DEBUG, ckv_req_id(op->req), "proxy: %s %s, trying the next replica",
                op->addr, status > 0 ? "could not serve the read" : "did not answer");
    proxy_try_next(op);
}

static void proxy_try_next(proxy_op *op)
{
    ckv_node *n = op->n;
    while (op->tried < op->count && !n->shutting_down) {
        uint64_t now = ckv_now_ms();
        if (now >= op->deadline_ms)
            break;
        /* a read shares what is left among the replicas not tried yet, so a replica that
         * hangs (paused, overloaded) cannot use up the whole budget before failover; a
         * write, which cannot fail over once sent, gives its replica all of it */
        uint32_t share = op->is_write ? 1 : op->count - op->tried;
        uint32_t attempt_ms = (uint32_t)((op->deadline_ms - now) / share);
        uint32_t idx = op->order[op->tried++];
        snprintf(op->addr, sizeof(op->addr), "%s", n->r.map.view.addrs[idx]);
        uint32_t ms = attempt_ms > 0 ? attempt_ms : 1;
        CKV_LOG_REQ(CKV_LOG_DEBUG, ckv_req_id(op->req), "proxy: forwarding %s %s to %s",
                    ckv_method_name(op->method), op->uri, op->addr);
        op->attempt_ms = ms;
        op->attempt_deadline_ms = now + ms;
        enqueue(n->proxy_queue, op);
        return;
    }
    proxy_give_up(op);
}

/* Sends one attempt as a plain forwarded request; on failure, the next replica. */
static void send_single(proxy_op *op)
{
    ckv_node *n = op->n;
    if (ckv_peer_forward(n->pool, op->addr, op->method, op->uri, op->body, op->body_len,
                         op->attempt_ms, op->attempt_deadline_ms, ckv_req_id(op->req),
                         on_proxy_reply, op) != CKV_OK)
        proxy_try_next(op);
}

static uint8_t fwd_method(enum evhttp_cmd_type m)
{
    return m == EVHTTP_REQ_PUT      ? CKV_FWD_PUT
           : m == EVHTTP_REQ_DELETE ? CKV_FWD_DELETE
                                    : CKV_FWD_GET;
}

/* A batch answered with one of these never ran: it was refused before its items were
 * looked at (an older node without the endpoint, a body over the owner's limit, a bad
 * secret). Any other failure may come after items ran (the owner out of memory while
 * encoding the answers), so it counts as no reply for each of them. */
static bool refused_whole(int status)
{
    return status == 400 || status == 403 || status == 404 || status == 405 || status == 413 ||
           status == 431;
}

static void on_batch_reply(int status, const char *body, size_t len, void *arg)
{
    batch_call *c = arg;
    ckv_fwd_answer answers[CKV_FWD_BATCH_MAX];
    uint32_t got = 0;
    if (refused_whole(status)) { /* none of it ran */
        c->ops[0]->n->metrics.proxy_batches_refused++;
        for (uint32_t i = 0; i < c->count; i++)
            send_single(c->ops[i]);
        free(c);
        return;
    }
    bool ok = status == 200 &&
              ckv_fwd_decode_reply(body, len, answers, CKV_FWD_BATCH_MAX, &got) == CKV_OK &&
              got == c->count;
    for (uint32_t i = 0; i < c->count; i++) {
        if (!ok)
            on_proxy_reply(status == CKV_PEER_UNSENT ? status : CKV_PEER_NO_REPLY, NULL, 0,
                           c->ops[i]);
        else if (answers[i].status == 0)
            on_proxy_reply(CKV_PEER_UNSENT, NULL, 0, c->ops[i]);
        else
            on_proxy_reply(answers[i].status, answers[i].body, answers[i].body_len, c->ops[i]);
    }
    free(c);
}

/* Sends the attempts of group (count >= 2, all to one replica) as one batch; on
 * failure, each as before. */
static void send_batch(ckv_node *n, proxy_op *const *group, uint32_t count)
{
    batch_call *c = malloc(sizeof(*c));
    if (c == NULL) {
        for (uint32_t i = 0; i < count; i++)
            send_single(group[i]);
        return;
    }
    c->count = count;
    memcpy(c->ops, group, count * sizeof(*group));
    ckv_fwd_item items[CKV_FWD_BATCH_MAX];
    uint32_t timeout_ms = c->ops[0]->attempt_ms;
    for (uint32_t i = 0; i < c->count; i++) {
        proxy_op *op = c->ops[i];
        const char *id = ckv_req_id(op->req);
        items[i] = (ckv_fwd_item){.method = fwd_method(op->method),
                                  .deadline_ms = op->attempt_deadline_ms,
                                  .uri = op->uri,
                                  .uri_len = (uint32_t)op->uri_len,
                                  .id = id,
                                  .id_len = (uint32_t)strlen(id),
                                  .body = op->body,
                                  .body_len = (uint32_t)op->body_len};
        bool longer = op->attempt_ms > timeout_ms;
        if (op->is_write ? longer : !longer)
            timeout_ms = op->attempt_ms;
    }
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    int rc = ckv_fwd_encode_request(&b, items, c->count);
    if (rc == CKV_OK && !ckv_sbuf_failed(&b) &&
        ckv_peer_send(n->pool, c->ops[0]->addr, EVHTTP_REQ_POST, BATCH_URI, b.data, b.len,
                      timeout_ms, 0, on_batch_reply, c) == CKV_OK) {
        n->metrics.proxy_batches++;
        n->metrics.proxy_batched_requests += c->count;
        ckv_sbuf_free(&b);
        return;
    }
    ckv_sbuf_free(&b);
    for (uint32_t i = 0; i < c->count; i++)
        send_single(c->ops[i]);
    free(c);
}

/* What an item adds to a batch's message, about (its fixed fields are fewer bytes). */
static size_t item_bytes(const proxy_op *op)
{
    return op->uri_len + op->body_len + CKV_FWD_ID_MAX + 16;
}

/* Whether op may join a batch to the same replica that holds these (first: its first):
 * within the owner's body limit, and, for a read, with room in the peer pool's reply
 * limit and in one answer for the largest value it may return. */
static bool joins(const proxy_op *first, const proxy_op *op, uint32_t count, size_t bytes,
                  const ckv_config *cfg)
{
    if (op->is_write != first->is_write || strcmp(op->addr, first->addr) != 0)
        return false;
    if (count >= CKV_FWD_BATCH_MAX || bytes + item_bytes(op) > cfg->max_body_bytes)
        return false;
    uint64_t answer_max = READ_ANSWER_MAX(cfg->max_value_bytes);
    return op->is_write || (answer_max <= CKV_FWD_BODY_MAX &&
                            (count + 1) * answer_max <= cfg->internal_max_body_bytes);
}

/* Sends every queued attempt: those for one replica together. */
static void flush_queue(ckv_proxy_queue *q)
{
    ckv_node *n = q->n;
    uint32_t count = q->count;
    proxy_op *ops[QUEUE_MAX];
    memcpy(ops, q->ops, count * sizeof(*ops));
    q->count = 0; /* a failed send queues its next attempt anew */
    for (uint32_t i = 0; i < count; i++) {
        if (ops[i] == NULL)
            continue;
        proxy_op *group[CKV_FWD_BATCH_MAX] = {ops[i]};
        uint32_t grouped = 1;
        size_t bytes = item_bytes(ops[i]);
        for (uint32_t j = i + 1; j < count; j++) {
            if (ops[j] != NULL && joins(group[0], ops[j], grouped, bytes, &n->cfg)) {
                bytes += item_bytes(ops[j]);
                group[grouped++] = ops[j];
                ops[j] = NULL;
            }
        }
        if (grouped == 1)
            send_single(group[0]);
        else
            send_batch(n, group, grouped);
    }
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    flush_queue(arg);
}

/* The queue lives as long as the pool, and nothing is forwarded once the node shuts
 * down (proxy_try_next stops), so there is always one here. */
static void enqueue(ckv_proxy_queue *q, proxy_op *op)
{
    if (q->count == QUEUE_MAX)
        flush_queue(q);
    q->ops[q->count++] = op;
    if (q->count == 1)
        event_active(q->flush_ev, EV_TIMEOUT, 0);
}

ckv_proxy_queue *ckv_proxy_queue_new(ckv_node *n)
{
    ckv_proxy_queue *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->n = n;
    q->flush_ev = event_new(n->base, -1, 0, on_flush, q);
    if (q->flush_ev == NULL) {
        free(q);
        return NULL;
    }
    return q;
}

void ckv_proxy_queue_free(ckv_proxy_queue *q)
{
    if (q == NULL)
        return;
    flush_queue(q); /* the pool, freed after, ends what was sent */
    event_free(q->flush_ev);
    free(q);
}

/* The request copied for sending; NULL when out of memory. */
static proxy_op *proxy_op_new(ckv_node *n, ckv_req *req)
{
    proxy_op *op = malloc(sizeof(*op)); /* not calloc: see ckv_req_new */
    size_t len;
    const char *body = ckv_req_body(req, &len);
    if (op != NULL) {
        *op = (proxy_op){0};
        op->uri = strdup(ckv_req_uri(req));
        op->uri_len = op->uri != NULL ? strlen(op->uri) : 0;
        op->body = len > 0 ? malloc(len) : NULL;
    }
    if (op == NULL || op->uri == NULL || (len > 0 && op->body == NULL)) {
        if (op != NULL)
            proxy_op_free(op);
        return NULL;
    }
    if (len > 0)
        memcpy(op->body, body, len);
    op->body_len = len;
    op->n = n;
    op->req = req;
    op->method = ckv_req_method(req);
    op->is_write = op->method != EVHTTP_REQ_GET && op->method != EVHTTP_REQ_HEAD;
    return op;
}

void ckv_proxy_forward(ckv_node *n, ckv_req *req, uint32_t shard)
{
    proxy_op *op = proxy_op_new(n, req);
    if (op == NULL) {
        ckv_context ctx;
        ckv_req_context(req, &n->r.map, &ctx);
        ckv_reply_error(req, 500, "Out of memory", &n->r.map, &ctx);
        return;
    }
    op->deadline_ms = ckv_now_ms() + n->cfg.proxy_timeout_ms;
    order_replicas(n, shard, op);
    proxy_try_next(op);
}

void ckv_proxy_forward_read(ckv_node *n, ckv_req *req, const uint32_t *members, uint32_t count,
                            uint64_t deadline_ms, ckv_proxy_fallback fallback)
{
    proxy_op *op = proxy_op_new(n, req);
    if (op == NULL || op->is_write || count > CKV_VIEW_MAX) {
        if (op != NULL)
            proxy_op_free(op);
        fallback(n, req);
        return;
    }
    memcpy(op->order, members, count * sizeof(*members));
    op->count = count;
    op->deadline_ms = deadline_ms;
    op->fallback = fallback;
    proxy_try_next(op);
}
