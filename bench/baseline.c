/* baseline.c — the ceiling of causalkv's stack, for scripts/bench.sh.
 *
 * A bare libevent evhttp server on one event_base, the same HTTP layer the node uses,
 * that answers every request (any method, any path, any body) with one fixed ~60-byte
 * JSON body, Content-Type application/json, HTTP/1.1 keep-alive. Whatever causalkv does
 * beyond this (routing, JSON parsing, the store, causal contexts) is what the benchmark
 * ratios measure.
 *
 * Usage: ckv-baseline [BIND [PORT]]
 *   BIND and PORT fall back to the environment variables of the same name, then to
 *   127.0.0.1 and 18000. SIGINT or SIGTERM stops it cleanly (exit 0). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define BASELINE_DEFAULT_BIND "127.0.0.1"
#define BASELINE_DEFAULT_PORT 18000

/* 65 bytes: the size of a small causalkv reply. */
static const char reply_body[] = "{\"message\":\"Retrieved successfully\",\"value\":\"v\","
                                 "\"doesExist\":true}";

static void handle_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);

    /* The request body (if any) is already read by evhttp; drop it unparsed. */
    evhttp_add_header(headers, "Content-Type", "application/json");
    evbuffer_add_reference(out, reply_body, sizeof reply_body - 1, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void handle_signal(evutil_socket_t sig, short events, void *arg)
{
    (void)events;
    struct event_base *base = arg;
    fprintf(stderr, "ckv-baseline: signal %d, exiting\n", (int)sig);
    event_base_loopexit(base, NULL);
}

static int parse_port(const char *s, unsigned *port)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535)
        return -1;
    *port = (unsigned)v;
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ckv-baseline [BIND [PORT]]\n"
            "  A bare evhttp server answering every request with a fixed JSON body.\n"
            "  BIND  listen address (env BIND, default %s)\n"
            "  PORT  listen port    (env PORT, default %d)\n",
            BASELINE_DEFAULT_BIND, BASELINE_DEFAULT_PORT);
}

int main(int argc, char **argv)
{
    const char *bind_addr = getenv("BIND");
    const char *port_str = getenv("PORT");
    unsigned port = BASELINE_DEFAULT_PORT;

    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc > 3) {
        usage(stderr);
        return 2;
    }
    if (argc > 1)
        bind_addr = argv[1];
    if (argc > 2)
        port_str = argv[2];
    if (bind_addr == NULL || *bind_addr == '\0')
        bind_addr = BASELINE_DEFAULT_BIND;
    if (port_str != NULL && *port_str != '\0' && parse_port(port_str, &port) != 0) {
        fprintf(stderr, "ckv-baseline: PORT: not a port number (1-65535): '%s'\n", port_str);
        return 2;
    }

    /* A client closing mid-reply must not kill the server. */
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    /* The same event-base setup as causalkv (src/node.c), so the ceiling is comparable. */
    struct event_config *ec = event_config_new();
    if (ec != NULL)
        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = ec != NULL ? event_base_new_with_config(ec) : NULL;
    if (ec != NULL)
        event_config_free(ec);
    struct evhttp *http = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    if (base == NULL) {
        fprintf(stderr, "ckv-baseline: event_base_new failed\n");
        goto out;
    }
    http = evhttp_new(base);
    if (http == NULL) {
        fprintf(stderr, "ckv-baseline: evhttp_new failed\n");
        goto out;
    }
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_timeout(http, 10);
    evhttp_set_gencb(http, handle_request, NULL);
    if (evhttp_bind_socket_with_handle(http, bind_addr, (ev_uint16_t)port) == NULL) {
        fprintf(stderr, "ckv-baseline: cannot listen on %s:%u: %s\n", bind_addr, port,
                strerror(errno));
        goto out;
    }

    sigint = evsignal_new(base, SIGINT, handle_signal, base);
    sigterm = evsignal_new(base, SIGTERM, handle_signal, base);
    if (sigint == NULL || sigterm == NULL || event_add(sigint, NULL) != 0 ||
        event_add(sigterm, NULL) != 0) {
        fprintf(stderr, "ckv-baseline: cannot install signal handlers\n");
        goto out;
    }

    fprintf(stderr, "ckv-baseline: listening on %s:%u\n", bind_addr, port);
    if (event_base_dispatch(base) < 0) {
        fprintf(stderr, "ckv-baseline: event loop failed\n");
        goto out;
    }
    rc = 0;

out:
    if (sigint != NULL)
        event_free(sigint);
    if (sigterm != NULL)
        event_free(sigterm);
    if (http != NULL)
        evhttp_free(http);
    if (base != NULL)
        event_base_free(base);
    return rc;
}
