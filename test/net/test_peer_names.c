/* test_peer_names.c — the peer pool and the resolver with DNS, against an evdns server
 * and an HTTP server in this process, on loopback, on ports the kernel picks.
 *
 * The resolver is compiled for this test with evdns_base_new renamed to
 * ckv_test_evdns_base_new (test/CMakeLists.txt), so that its "DNS servers of
 * resolv.conf" are the fake server below and no query leaves the machine. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "causalkv/clock.h"
#include "peer_pool.h"
#include "resolver.h"

#define HTTP_IP "127.0.0.1" /* where the peer listens */
#define DEAD_IP "127.0.0.9" /* where nothing listens */
#define ANSWER_DELAY_MS 300
#define CALL_TIMEOUT_MS 2000

static struct event_base *base;
static int answers_pending; /* delayed answers not sent yet: sent before the server goes */
static uint16_t dns_port, http_port;
static const char *answer_ip = HTTP_IP; /* what slow.test resolves to */

struct evdns_base *ckv_test_evdns_base_new(struct event_base *b, int flags);

/* The resolver's evdns_base: flags as asked, but the fake server as its only server. */
struct evdns_base *ckv_test_evdns_base_new(struct event_base *b, int flags)
{
    struct evdns_base *d = evdns_base_new(b, flags & ~EVDNS_BASE_INITIALIZE_NAMESERVERS);
    char ns[32];
    snprintf(ns, sizeof(ns), "127.0.0.1:%u", (unsigned)dns_port);
    if (d != NULL && evdns_base_nameserver_ip_add(d, ns) != 0) {
        evdns_base_free(d, 0);
        return NULL;
    }
    return d;
}

typedef struct delayed {
    struct evdns_server_request *req;
    struct event *ev;
} delayed;

static void answer_now(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    delayed *d = arg;
    evdns_server_request_respond(d->req, 0);
    event_free(d->ev);
    free(d);
    answers_pending--;
}

/* slow.test: an A record (answer_ip) after ANSWER_DELAY_MS, no AAAA; anything else
 * NXDOMAIN at once. evdns randomises the case of the names it asks for. */
static void on_dns(struct evdns_server_request *req, void *arg)
{
    (void)arg;
    bool known = req->nquestions == 1 && strcasecmp(req->questions[0]->name, "slow.test") == 0;
    if (!known) {
        evdns_server_request_respond(req, DNS_ERR_NOTEXIST);
        return;
    }
    if (req->questions[0]->type == EVDNS_TYPE_A) {
        struct in_addr a;
        inet_pton(AF_INET, answer_ip, &a);
        evdns_server_request_add_a_reply(req, req->questions[0]->name, 1, &a, 1);
    }
    delayed *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    d->req = req;
    d->ev = evtimer_new(base, answer_now, d);
    answers_pending++;
    struct timeval tv = {0, ANSWER_DELAY_MS * 1000};
    evtimer_add(d->ev, &tv);
}

static void on_http(struct evhttp_request *req, void *arg)
{
    (void)arg;
    evhttp_send_reply(req, 200, "OK", NULL);
}

static uint16_t port_of(evutil_socket_t fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

typedef struct world {
    evutil_socket_t dns_fd;
    struct evdns_server_port *dns;
    struct evhttp *http;
    ckv_resolver *r;
    ckv_peer_pool *pool;
} world;

static void world_start(world *w)
{
    base = event_base_new();
    assert_non_null(base);
    w->dns_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(bind(w->dns_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    evutil_make_socket_nonblocking(w->dns_fd);
    dns_port = port_of(w->dns_fd);
    w->dns = evdns_add_server_port_with_base(base, w->dns_fd, 0, on_dns, NULL);
    w->http = evhttp_new(base);
    evhttp_set_gencb(w->http, on_http, NULL);
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(w->http, HTTP_IP, 0);
    assert_non_null(s);
    http_port = port_of(evhttp_bound_socket_get_fd(s));
    w->r = ckv_resolver_new(base, ""); /* DNS, as without HOSTS_FILE */
    ckv_peer_pool_options opt = {.self_addr = "self.test:1",
                                 .conns_per_peer = 2,
                                 .max_body_bytes = 1 << 20,
                                 .resolver = w->r};
    w->pool = ckv_peer_pool_new(base, &opt);
    assert_non_null(w->pool);
}

static void world_stop(world *w)
{
    ckv_peer_pool_free(w->pool);
    ckv_resolver_free(w->r);
    while (answers_pending > 0)
        event_base_loop(base, EVLOOP_ONCE);
    evhttp_free(w->http);
    evdns_close_server_port(w->dns);
    evutil_closesocket(w->dns_fd);
    event_base_free(base);
    base = NULL;
}

static uint64_t mono_ms(void)
{
    return ckv_mono_us() / 1000;
}

typedef struct outcome {
    int status; /* 1: not finished yet */
    uint64_t at_ms;
} outcome;

static void on_done(int status, const char *body, size_t len, void *arg)
{
    (void)body;
    (void)len;
    outcome *o = arg;
    o->status = status;
    o->at_ms = mono_ms();
}

static void send_to(world *w, const char *host, outcome *o)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "%s:%u", host, (unsigned)http_port);
    o->status = 1;
    assert_int_equal(ckv_peer_send(w->pool, addr, EVHTTP_REQ_POST, "/x", "{}", 2, CALL_TIMEOUT_MS,
                                   0, on_done, o),
                     CKV_OK);
}

/* Runs the loop until every outcome is in (bounded by twice the calls' timeout). */
static void run_until_done(outcome *o, size_t n)
{
    uint64_t deadline = mono_ms() + 2 * CALL_TIMEOUT_MS;
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < n; i++)
            all = all && o[i].status != 1;
        if (all || mono_ms() > deadline)
            break;
        event_base_loop(base, EVLOOP_ONCE);
    }
}

/* Calls made before the answer (as a node's first questions at start) wait for it. */
static void test_calls_wait_for_a_lookup_in_flight(void **state)
{
    (void)state;
    world w;
    world_start(&w);
    uint64_t start = mono_ms();
    outcome o[3];
    send_to(&w, "slow.test", &o[0]);
    send_to(&w, "slow.test", &o[1]);
    send_to(&w, "missing.test", &o[2]);
    run_until_done(o, 3);
    assert_int_equal(o[0].status, 200);
    assert_int_equal(o[1].status, 200);
    assert_true(o[0].at_ms - start >= ANSWER_DELAY_MS - 50);
    /* NXDOMAIN: unsent as soon as the answer came, not at the deadline */
    assert_int_equal(o[2].status, CKV_PEER_UNSENT);
    assert_true(o[2].at_ms - start < CALL_TIMEOUT_MS / 2);
    world_stop(&w);
}

/* The name first points where nothing listens; after failed calls the pool asks again
 * and reaches the new address, without a new pool or resolver. */
static void test_moved_name_is_reached_again(void **state)
{
    (void)state;
    world w;
    answer_ip = DEAD_IP;
    world_start(&w);
    outcome o;
    send_to(&w, "slow.test", &o);
    run_until_done(&o, 1);
    assert_int_equal(o.status, CKV_PEER_UNSENT); /* refused at DEAD_IP */
    answer_ip = HTTP_IP;
    uint64_t deadline = mono_ms() + 4 * CKV_RESOLVE_REFRESH_MS + 2 * ANSWER_DELAY_MS + 1000;
    do {
        send_to(&w, "slow.test", &o);
        run_until_done(&o, 1);
    } while (o.status != 200 && mono_ms() < deadline);
    assert_int_equal(o.status, 200);
    world_stop(&w);
}

/* Freed while lookups and held calls are in flight: every call ends once, and nothing
 * leaks (the sanitizer build checks). */
static void test_free_with_lookup_in_flight(void **state)
{
    (void)state;
    world w;
    world_start(&w);
    outcome o;
    send_to(&w, "slow.test", &o);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(o.status, 1); /* still held */
    ckv_peer_pool_free(w.pool);
    assert_int_equal(o.status, CKV_PEER_NO_REPLY);
    w.pool = NULL;
    world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_wait_for_a_lookup_in_flight),
        cmocka_unit_test(test_moved_name_is_reached_again),
        cmocka_unit_test(test_free_with_lookup_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
