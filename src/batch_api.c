/* batch_api.c — runs the items of a batch of forwarded requests (see batch_api.h).
 *
 * An item is a request of its own (an inner ckv_req): it is routed, may wait for its
 * causal dependencies, and is answered once, like the plain forwarded request (the
 * router's item runner refuses what is not a key request). The batch record lives until the last
 * item answers; an item that waits holds the reply of the others, as a plain forwarded request
 * would hold only its own. */
#include "batch_api.h"

#include <stdlib.h>
#include <string.h>

#include "causalkv/fwd_batch.h"

typedef struct batch batch;

typedef struct batch_slot {
    batch *b;
    uint16_t status;
    char *body;
    size_t len;
} batch_slot;

struct batch {
    ckv_node *n;
    ckv_req *outer;
    uint32_t count;
    uint32_t pending; /* items not answered, plus one while they are being started */
    batch_slot slots[];
};

static void batch_free(batch *b)
{
    for (uint32_t i = 0; i < b->count; i++)
        free(b->slots[i].body);
    free(b);
}

static void batch_answer(batch *b)
{
    ckv_fwd_answer answers[CKV_FWD_BATCH_MAX];
    for (uint32_t i = 0; i < b->count; i++)
        answers[i] = (ckv_fwd_answer){.status = b->slots[i].status,
                                      .body = b->slots[i].body,
                                      .body_len = (uint32_t)b->slots[i].len};
    ckv_sbuf out;
    ckv_sbuf_init(&out);
    if (ckv_fwd_encode_reply(&out, answers, b->count) != CKV_OK || ckv_sbuf_failed(&out)) {
        ckv_sbuf_free(&out);
        ckv_node_reply_error(b->n, b->outer, 500, "Could not encode the batch's answers");
    } else {
        b->n->metrics.batches_served++;
        ckv_reply_typed(b->outer, 200, "application/octet-stream", &out);
    }
    batch_free(b);
}

static void batch_item_done(batch *b)
{
    if (--b->pending == 0)
        batch_answer(b);
}

static void on_item_answer(void *arg, int status, ckv_sbuf *body)
{
    batch_slot *s = arg;
    s->status = (uint16_t)status;
    if (body->len > CKV_FWD_BODY_MAX) { /* it ran, but its answer cannot be carried back */
        ckv_sbuf_free(body);
        s->status = 500;
        ckv_sbuf_adds(body, "{\"message\":\"Error\",\"error\":\"Reply too large for a batch\"}");
    }
    s->body = ckv_sbuf_steal(body, &s->len);
    batch_item_done(s->b);
}

static enum evhttp_cmd_type item_method(uint8_t m)
{
    return m == CKV_FWD_PUT      ? EVHTTP_REQ_PUT
           : m == CKV_FWD_DELETE ? EVHTTP_REQ_DELETE
                                 : EVHTTP_REQ_GET;
}

static void start_item(batch *b, uint32_t i, const ckv_fwd_item *it, ckv_handler run)
{
    ckv_node *n = b->n;
    batch_slot *s = &b->slots[i];
    ckv_req *req =
        ckv_req_new_inner(&n->server, item_method(it->method), it->uri, it->uri_len, it->body,
                          it->body_len, it->id, it->id_len, it->deadline_ms, on_item_answer, s);
    if (req == NULL) {
        s->status = 0; /* not run: the forwarder may send it again */
        batch_item_done(b);
        return;
    }
    req->handler = run;
    req->handler_arg = n;
    run(req, n);
}

void ckv_batch_serve(ckv_node *n, ckv_req *req, ckv_handler run)
{
    size_t len;
    const char *body = ckv_req_body(req, &len);
    ckv_fwd_item items[CKV_FWD_BATCH_MAX];
    uint32_t count = 0;
    if (ckv_fwd_decode_request(body, len, items, CKV_FWD_BATCH_MAX, &count) != CKV_OK) {
        ckv_node_reply_error(n, req, 400, "Malformed batch");
        return;
    }
    batch *b = calloc(1, sizeof(*b) + count * sizeof(b->slots[0]));
    if (b == NULL) {
        ckv_node_reply_error(n, req, 500, "Out of memory");
        return;
    }
    b->n = n;
    b->outer = req;
    b->count = count;
    b->pending = count + 1;
    for (uint32_t i = 0; i < count; i++)
        b->slots[i].b = b;
    /* the items point into the outer body, which stays as it is until the reply: each
     * inner request copies its own */
    for (uint32_t i = 0; i < count; i++)
        start_item(b, i, &items[i], run);
    batch_item_done(b);
}
