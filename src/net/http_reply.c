/* http_reply.c — per-request records and replies (see http_reply.h). */
#include "http_reply.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/clock.h"
#include "causalkv/ctx_header.h"
#include "causalkv/json_codec.h"
#include "causalkv/log.h"
#include "conn_track.h"
#include "peer_pool.h"

struct ckv_req_inner {
    enum evhttp_cmd_type method;
    char *uri;
    ckv_sbuf body;
    char deadline[24];               /* the forwarder's deadline in decimal; "": none */
    char id[CKV_REQUEST_ID_MAX + 1]; /* "": none */
    ckv_req_sink sink;
    void *sink_arg;
};

static void free_inner(ckv_req *r);

ckv_req *ckv_req_new(ckv_http_server *server, struct evhttp_request *ev)
{
    /* malloc, not calloc: glibc's calloc bypasses its per-thread cache, and this runs for
     * every request */
    ckv_req *r = malloc(sizeof(*r));
    if (r == NULL)
        return NULL;
    *r = (ckv_req){.ev = ev, .server = server, .start_us = ckv_mono_us(), .endpoint = CKV_EP_OTHER};
    return r;
}

ckv_req *ckv_req_new_inner(ckv_http_server *server, enum evhttp_cmd_type method, const char *uri,
                           size_t uri_len, const char *body, size_t body_len, const char *id,
                           size_t id_len, uint64_t deadline_ms, ckv_req_sink sink, void *sink_arg)
{
    ckv_req *r = ckv_req_new(server, NULL);
    ckv_req_inner *in = r != NULL ? calloc(1, sizeof(*in)) : NULL;
    char *u = in != NULL ? malloc(uri_len + 1) : NULL;
    if (u == NULL || id_len > CKV_REQUEST_ID_MAX) {
        free(in);
        free(r);
        return NULL;
    }
    memcpy(u, uri, uri_len);
    u[uri_len] = '\0';
    in->uri = u;
    in->method = method;
    ckv_sbuf_init(&in->body);
    ckv_sbuf_add(&in->body, body, body_len);
    memcpy(in->id, id, id_len);
    in->id[id_len] = '\0';
    if (deadline_ms != 0)
        snprintf(in->deadline, sizeof(in->deadline), "%llu", (unsigned long long)deadline_ms);
    in->sink = sink;
    in->sink_arg = sink_arg;
    r->inner = in;
    if (ckv_sbuf_failed(&in->body)) {
        free_inner(r);
        return NULL;
    }
    return r;
}

const char *ckv_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "UNKNOWN";
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    }
    return "Unknown";
}

enum evhttp_cmd_type ckv_req_method(const ckv_req *r)
{
    return r->inner != NULL ? r->inner->method : evhttp_request_get_command(r->ev);
}

const char *ckv_req_uri(const ckv_req *r)
{
    return r->inner != NULL ? r->inner->uri : evhttp_request_get_uri(r->ev);
}

/* The headers an inner request has: those of a forwarded request. */
static const char *inner_header(const ckv_req_inner *in, const char *name)
{
    if (evutil_ascii_strcasecmp(name, CKV_HDR_FORWARDED) == 0)
        return "batch";
    if (evutil_ascii_strcasecmp(name, CKV_HDR_DEADLINE) == 0 && in->deadline[0] != '\0')
        return in->deadline;
    if (evutil_ascii_strcasecmp(name, CKV_REQUEST_ID_HEADER) == 0 && in->id[0] != '\0')
        return in->id;
    return NULL;
}

const char *ckv_req_header(const ckv_req *r, const char *name)
{
    if (r->inner != NULL)
        return inner_header(r->inner, name);
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

static void scan_browser_headers(ckv_req *r)
{
    if (r->browser_headers_scanned)
        return;
    r->browser_headers_scanned = true;
    if (r->inner != NULL) {
        r->client_id = inner_header(r->inner, CKV_REQUEST_ID_HEADER);
        return;
    }
    const struct evkeyvalq *q = evhttp_request_get_input_headers(r->ev);
    for (const struct evkeyval *h = q->tqh_first; h != NULL; h = h->next.tqe_next) {
        char c = h->key[0] | 0x20;
        if (c == 'o' && evutil_ascii_strcasecmp(h->key, "Origin") == 0 && r->origin == NULL)
            r->origin = h->value;
        else if (c == 'x' && evutil_ascii_strcasecmp(h->key, CKV_CTX_HEADER) == 0 &&
                 r->context == NULL)
            r->context = h->value;
        else if (c == 'x' && evutil_ascii_strcasecmp(h->key, CKV_REQUEST_ID_HEADER) == 0 &&
                 r->client_id == NULL)
            r->client_id = h->value;
    }
}

const char *ckv_req_id(ckv_req *r)
{
    if (r->id != NULL)
        return r->id;
    r->id = malloc(CKV_REQUEST_ID_MAX + 1);
    if (r->id == NULL)
        return "";
    r->id[0] = '\0';
    scan_browser_headers(r);
    size_t len = r->client_id != NULL ? strlen(r->client_id) : 0;
    if (ckv_request_id_valid(r->client_id, len))
        memcpy(r->id, r->client_id, len + 1);
    else if (r->server->ids != NULL)
        ckv_request_id_next(r->server->ids, r->id);
    return r->id;
}

const char *ckv_req_origin(ckv_req *r)
{
    scan_browser_headers(r);
    return r->origin;
}

const char *ckv_req_context_header(ckv_req *r)
{
    scan_browser_headers(r);
    return r->context;
}

void ckv_req_add_header(ckv_req *r, const char *name, const char *value)
{
    if (r->inner != NULL)
        return;
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

const char *ckv_req_body(const ckv_req *r, size_t *len)
{
    if (r->inner != NULL) {
        *len = r->inner->body.len;
        return *len > 0 ? r->inner->body.data : "";
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    *len = evbuffer_get_length(in);
    return *len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
}

int ckv_req_header_context(ckv_req *r, const ckv_shard_map *map, ckv_context *ctx)
{
    const char *h = ckv_req_context_header(r);
    if (h == NULL) {
        ctx->epoch = map->epoch;
        ckv_vclock_init(&ctx->clock, map->view.n);
        ctx->lamport = 0;
        ctx->has_lamport = false;
        return CKV_DECLINED;
    }
    return ckv_ctx_header_parse(h, strlen(h), map, ctx);
}

void ckv_req_context(ckv_req *r, const ckv_shard_map *map, ckv_context *ctx)
{
    size_t len;
    const char *body = ckv_req_body(r, &len);
    ckv_client_body b;
    ckv_context h;
    bool ok = ckv_client_body_parse(body, len, map, &b) == CKV_OK;
    int hrc = ckv_req_header_context(r, map, &h);
    if (ok && hrc == CKV_OK)
        ckv_context_join(&b.ctx, &h);
    if (ok && hrc != CKV_ERROR && b.ctx.epoch == map->epoch) {
        *ctx = b.ctx;
    } else {
        /* older: causality holds within an epoch; newer: not this node's to echo */
        ctx->epoch = map->epoch;
        ckv_vclock_init(&ctx->clock, map->view.n);
        ctx->lamport = 0;
        ctx->has_lamport = false;
    }
    ckv_client_body_free(&b);
}

int ckv_req_set_body(ckv_req *r, ckv_sbuf *body)
{
    if (r->inner != NULL) {
        ckv_sbuf_free(&r->inner->body);
        r->inner->body = *body;
        ckv_sbuf_init(body);
        return ckv_sbuf_failed(&r->inner->body) ? CKV_ERROR : CKV_OK;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
    evbuffer_drain(in, evbuffer_get_length(in));
    int rc =
        ckv_sbuf_failed(body) || evbuffer_add(in, body->data, body->len) != 0 ? CKV_ERROR : CKV_OK;
    ckv_sbuf_free(body);
    return rc;
}

static void free_stolen(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

/* Copies the body's context into the header (a malformed one is left out: the body,
 * which the client also has, says the same). */
static void add_context_header(ckv_req *r, const ckv_sbuf *body)
{
    size_t at, len;
    if (body->data == NULL || !ckv_ctx_header_find_in_reply(body->data, body->len, &at, &len))
        return;
    char small[512];
    char *v = len < sizeof(small) ? small : malloc(len + 1);
    if (v == NULL)
        return;
    memcpy(v, body->data + at, len);
    v[len] = '\0';
    ckv_req_add_header(r, CKV_CTX_HEADER, v);
    if (v != small)
        free(v);
}

/* The reply's X-Request-Id (see ckv_req_id), and the request's debug line. */
static void add_request_id(ckv_req *r, int status, double elapsed)
{
    scan_browser_headers(r);
    bool debug = ckv_log_level >= CKV_LOG_DEBUG;
    if (r->id == NULL && r->client_id == NULL && !debug)
        return; /* the common case: nobody asked, nobody sent one */
    const char *id = ckv_req_id(r);
    if (id[0] != '\0')
        ckv_req_add_header(r, CKV_REQUEST_ID_HEADER, id);
    if (debug)
        ckv_log_write_req(CKV_LOG_DEBUG, id, "%s %s -> %d in %.3f ms",
                          ckv_method_name(ckv_req_method(r)), ckv_req_uri(r), status,
                          elapsed * 1e3);
}

static void free_inner(ckv_req *r)
{
    free(r->inner->uri);
    ckv_sbuf_free(&r->inner->body);
    free(r->inner);
    free(r->id);
    free(r);
}

/* What every answer records: its latency, and its request id and debug line. */
static void record_answer(ckv_req *r, int status)
{
    double elapsed = (double)(ckv_mono_us() - r->start_us) / 1e6;
    add_request_id(r, status, elapsed);
    ckv_metrics_observe(r->server->metrics, r->endpoint, status, elapsed);
}

/* An inner request's answer goes to its batch (body consumed, may be NULL: empty). */
static void finish_inner(ckv_req *r, int status, ckv_sbuf *body)
{
    record_answer(r, status);
    ckv_sbuf empty;
    ckv_sbuf_init(&empty);
    ckv_req_sink sink = r->inner->sink;
    void *arg = r->inner->sink_arg;
    free_inner(r);
    sink(arg, status, body != NULL ? body : &empty);
}

/* The Date header of replies sent this second. evhttp would format one per reply
 * (gmtime and snprintf: about 3,000 instructions, 7% of a PUT); it adds none when one is
 * there. The loop is single-threaded, so one cache serves every reply. */
static const char *date_now(void)
{
    static int64_t cached = -1;
    static char text[CKV_HTTP_DATE_SIZE];
    int64_t now = (int64_t)(ckv_now_ms() / 1000u);
    if (now != cached) {
        ckv_http_date(now, text);
        cached = now;
    }
    return text;
}

static void finish(ckv_req *r, int status)
{
    record_answer(r, status);
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Date", date_now());
    if (r->server->conns != NULL)
        ckv_conns_replied(r->server->conns, r->ev);
    struct evhttp_request *ev = r->ev;
    free(r->id);
    free(r);
    evhttp_send_reply(ev, status, reason_phrase(status), NULL);
}

void ckv_reply_empty(ckv_req *r, int status)
{
    if (r->inner != NULL) {
        finish_inner(r, status, NULL);
        return;
    }
    finish(r, status);
}

void ckv_reply_typed(ckv_req *r, int status, const char *content_type, ckv_sbuf *body)
{
    if (ckv_sbuf_failed(body)) {
        ckv_sbuf_free(body);
        ckv_sbuf_init(body);
        ckv_sbuf_adds(body,
                      "{\"message\":\"Error\",\"error\":\"Out of memory\",\"causal-context\":{}}");
        status = 500;
        content_type = "application/json";
    }
    if (r->inner != NULL) {
        finish_inner(r, status, body);
        return;
    }
    ckv_req_add_header(r, "Content-Type", content_type);
    if (r->context_header)
        add_context_header(r, body);
    size_t len;
    char *data = ckv_sbuf_steal(body, &len);
    struct evbuffer *out = evhttp_request_get_output_buffer(r->ev);
    if (data != NULL && evbuffer_add_reference(out, data, len, free_stolen, NULL) != 0)
        free(data);
    finish(r, status);
}

void ckv_reply(ckv_req *r, int status, ckv_sbuf *body)
{
    ckv_reply_typed(r, status, "application/json", body);
}

void ckv_reply_error(ckv_req *r, int status, const char *error, const ckv_shard_map *map,
                     const ckv_context *ctx)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"message\":\"Error in ");
    ckv_sbuf_adds(&b, ckv_method_name(ckv_req_method(r)));
    ckv_sbuf_adds(&b, "\",\"error\":");
    ckv_sbuf_add_json_str(&b, error, strlen(error));
    if (status == 404 && strcmp(error, "Key does not exist") == 0)
        ckv_sbuf_adds(&b, ",\"doesExist\":false");
    ckv_json_add_context(&b, true, map, ctx);
    ckv_sbuf_addc(&b, '}');
    ckv_reply(r, status, &b);
}

void ckv_reply_error_here(ckv_req *r, int status, const char *error, const ckv_shard_map *map)
{
    ckv_context ctx;
    ckv_req_context(r, map, &ctx);
    ckv_reply_error(r, status, error, map, &ctx);
}
