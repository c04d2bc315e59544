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
 * history the read needs; when that fails it comes back to wait here (a fallback). */
#include "proxy.h"

#include <stdlib.h>
#include <string.h>

#include "causalkv/log.h"

typedef struct proxy_op {
    ckv_node *n;
    ckv_req *req;
    enum evhttp_cmd_type method;
    char *uri;
    char *body;
    size_t body_len;
    uint32_t order[CKV_VIEW_MAX]; /* replicas to try, live ones first */
    uint32_t count, tried;
    bool is_write; /* must not be sent twice: see the top of this file */
    uint64_t deadline_ms;
    ckv_proxy_fallback fallback; /* set: the request goes back here instead of a 503 */
    char addr[CKV_ADDR_MAX];     /* replica currently asked */
} proxy_op;

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
    uint32_t rf = n->r.map.rf, start = n->rr++;
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
        if (ckv_peer_forward(n->pool, op->addr, op->method, op->uri, op->body, op->body_len, ms,
                             now + ms, ckv_req_id(op->req), on_proxy_reply, op) == CKV_OK)
            return;
    }
    proxy_give_up(op);
}

/* The request copied for sending; NULL when out of memory. */
static proxy_op *proxy_op_new(ckv_node *n, ckv_req *req)
{
    proxy_op *op = calloc(1, sizeof(*op));
    size_t len;
    const char *body = ckv_req_body(req, &len);
    if (op != NULL) {
        op->uri = strdup(ckv_req_uri(req));
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
