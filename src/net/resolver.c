/* resolver.c — asynchronous lookups of member names with evdns, and their cache. */
#include "resolver.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "causalkv/clock.h"
#include "causalkv/log.h"

#define RESOLVED_ADDRS_MAX 8 /* addresses kept per name: enough to recognise a caller */
#define IP_TEXT_MAX 46       /* INET6_ADDRSTRLEN */

struct ckv_resolved {
    struct ckv_resolved *next;
    ckv_resolver *r;
    char host[CKV_HOST_MAX];
    bool is_name;
    char ips[RESOLVED_ADDRS_MAX][IP_TEXT_MAX];
    uint32_t n_ips;
    uint32_t gen;
    struct evdns_getaddrinfo_request *pending; /* NULL when no lookup is in flight */
    bool in_lookup;                            /* a lookup was started and has not answered */
    bool cancelled; /* pending was cancelled: evdns forbids cancelling it twice */
    bool warned;    /* "does not resolve" was logged */
    uint64_t last_lookup_ms;
    struct event *retry; /* looks an unresolved name up again */
};

struct hosts_stamp {
    bool present;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct ckv_resolver {
    struct event_base *base;
    struct evdns_base *dns; /* made at the first name */
    char hosts_file[256];
    struct hosts_stamp stamp; /* of hosts_file when it was last loaded */
    ckv_resolved *entries;
    void (*listener)(void *arg); /* told when a lookup ends */
    void *listener_arg;
    bool closing;
};

static void lookup(ckv_resolved *e);

ckv_resolver *ckv_resolver_new(struct event_base *base, const char *hosts_file)
{
    ckv_resolver *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->base = base;
    snprintf(r->hosts_file, sizeof(r->hosts_file), "%s", hosts_file ? hosts_file : "");
    return r;
}

static void cancel(ckv_resolved *e)
{
    if (e->pending != NULL && !e->cancelled) {
        e->cancelled = true;
        evdns_getaddrinfo_cancel(e->pending);
    }
}

/* A cancelled lookup still owns memory until evdns delivers EVUTIL_EAI_CANCEL, from the
 * loop's next turn. So lookups in flight are cancelled and delivered (one turn of the
 * loop, without blocking) before the evdns_base goes; on_answer then sees closing. */
void ckv_resolver_free(ckv_resolver *r)
{
    if (r == NULL)
        return;
    r->closing = true;
    bool in_flight = false;
    for (ckv_resolved *e = r->entries; e != NULL; e = e->next) {
        cancel(e);
        in_flight = in_flight || e->pending != NULL;
    }
    if (in_flight)
        event_base_loop(r->base, EVLOOP_NONBLOCK);
    if (r->dns != NULL)
        evdns_base_free(r->dns, 0);
    for (ckv_resolved *e = r->entries, *next; e != NULL; e = next) {
        next = e->next;
        if (e->retry != NULL)
            event_free(e->retry);
        free(e);
    }
    free(r);
}

static struct hosts_stamp stamp_of(const char *path)
{
    struct hosts_stamp s = {0};
    struct stat st;
    if (stat(path, &st) == 0) {
        s.present = true;
        s.ino = st.st_ino;
        s.size = st.st_size;
        s.mtime = st.st_mtim;
    }
    return s;
}

static bool stamp_equal(const struct hosts_stamp *a, const struct hosts_stamp *b)
{
    return a->present == b->present && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* (Re-)loads the hosts file when it changed since it was last loaded. A missing or
 * unreadable file is not fatal: the names it should hold stay unresolved until it
 * appears (a mounted file may come later). The read is of a small local file. */
static void load_hosts_if_changed(ckv_resolver *r, bool first)
{
    struct hosts_stamp now = stamp_of(r->hosts_file);
    if (!first && stamp_equal(&now, &r->stamp))
        return;
    r->stamp = now;
    evdns_base_clear_host_addresses(r->dns);
    if (evdns_base_load_hosts(r->dns, r->hosts_file) != 0)
        log_warn("HOSTS_FILE %s cannot be read; its names stay unresolved until it can",
                 r->hosts_file);
    else if (!first)
        log_info("HOSTS_FILE %s changed: re-read it", r->hosts_file);
}

/* With HOSTS_FILE, no DNS server is configured: the file alone answers. */
static int make_dns(ckv_resolver *r)
{
    if (r->dns != NULL)
        return CKV_OK;
    bool hosts_only = r->hosts_file[0] != '\0';
    int flags =
        EVDNS_BASE_DISABLE_WHEN_INACTIVE | (hosts_only ? 0 : EVDNS_BASE_INITIALIZE_NAMESERVERS);
    r->dns = evdns_base_new(r->base, flags);
    if (r->dns == NULL) {
        log_error("cannot make the DNS resolver");
        return CKV_ERROR;
    }
    if (hosts_only)
        load_hosts_if_changed(r, true);
    return CKV_OK;
}

static ckv_resolved *find(const ckv_resolver *r, const char *host)
{
    for (ckv_resolved *e = r->entries; e != NULL; e = e->next)
        if (strcmp(e->host, host) == 0)
            return e;
    return NULL;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lookup(arg);
}

static ckv_resolved *entry_new(ckv_resolver *r, const char *host, int kind)
{
    ckv_resolved *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->r = r;
    snprintf(e->host, sizeof(e->host), "%s", host);
    e->is_name = kind == CKV_HOST_NAME;
    if (e->is_name) {
        e->retry = evtimer_new(r->base, on_retry, e);
        if (e->retry == NULL) {
            free(e);
            return NULL;
        }
    } else {
        snprintf(e->ips[0], sizeof(e->ips[0]), "%s", host);
        e->n_ips = 1;
    }
    e->next = r->entries;
    r->entries = e;
    return e;
}

ckv_resolved *ckv_resolver_get(ckv_resolver *r, const char *host)
{
    if (r == NULL || host == NULL)
        return NULL;
    ckv_resolved *e = find(r, host);
    if (e != NULL)
        return e;
    int kind = ckv_host_kind(host);
    if (kind == CKV_HOST_INVALID)
        return NULL;
    if (kind == CKV_HOST_NAME && make_dns(r) != CKV_OK)
        return NULL;
    e = entry_new(r, host, kind);
    if (e != NULL && e->is_name)
        lookup(e);
    return e;
}

const char *ckv_resolved_ip(const ckv_resolved *e)
{
    return e != NULL && e->n_ips > 0 ? e->ips[0] : NULL;
}

uint32_t ckv_resolved_gen(const ckv_resolved *e)
{
    return e != NULL ? e->gen : 0;
}

bool ckv_resolved_looking_up(const ckv_resolved *e)
{
    return e != NULL && e->in_lookup;
}

void ckv_resolver_set_listener(ckv_resolver *r, void (*fn)(void *arg), void *arg)
{
    if (r == NULL)
        return;
    r->listener = fn;
    r->listener_arg = fn != NULL ? arg : NULL;
}

/* The answer as numeric texts, IPv4 first (outbound connections may be bound to an
 * IPv4 loopback source); returns how many. */
static uint32_t collect(struct evutil_addrinfo *ai, char out[][IP_TEXT_MAX])
{
    uint32_t n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (struct evutil_addrinfo *a = ai; a != NULL && n < RESOLVED_ADDRS_MAX; a = a->ai_next) {
            const void *src = NULL;
            if (pass == 0 && a->ai_family == AF_INET)
                src = &((const struct sockaddr_in *)(const void *)a->ai_addr)->sin_addr;
            else if (pass == 1 && a->ai_family == AF_INET6)
                src = &((const struct sockaddr_in6 *)(const void *)a->ai_addr)->sin6_addr;
            if (src != NULL && inet_ntop(a->ai_family, src, out[n], IP_TEXT_MAX) != NULL)
                n++;
        }
    return n;
}

static void take_answer(ckv_resolved *e, char ips[][IP_TEXT_MAX], uint32_t n)
{
    bool same = n == e->n_ips;
    for (uint32_t i = 0; same && i < n; i++)
        same = strcmp(ips[i], e->ips[i]) == 0;
    if (same)
        return;
    if (e->n_ips == 0)
        log_info("%s resolves to %s", e->host, ips[0]);
    else
        log_info("%s now resolves to %s (was %s)", e->host, ips[0], e->ips[0]);
    memcpy(e->ips, ips, sizeof(e->ips[0]) * n);
    e->n_ips = n;
    e->gen++;
    e->warned = false;
}

static void on_answer(int err, struct evutil_addrinfo *ai, void *arg)
{
    ckv_resolved *e = arg;
    e->pending = NULL;
    e->in_lookup = false;
    e->cancelled = false;
    char ips[RESOLVED_ADDRS_MAX][IP_TEXT_MAX];
    uint32_t n = err == 0 ? collect(ai, ips) : 0;
    if (ai != NULL)
        evutil_freeaddrinfo(ai);
    if (e->r->closing)
        return;
    if (e->r->listener != NULL)
        e->r->listener(e->r->listener_arg);
    if (n > 0) {
        take_answer(e, ips, n);
        return;
    }
    /* not resolved: keep what was cached, say so once, and ask again later */
    if (!e->warned)
        log_warn("%s does not resolve (%s)%s; retrying every %d ms", e->host,
                 err == 0                   ? "no IPv4 or IPv6 address"
                 : err == EVUTIL_EAI_CANCEL ? "not in HOSTS_FILE"
                                            : evutil_gai_strerror(err),
                 e->n_ips > 0 ? ", keeping its last address" : "", CKV_RESOLVE_RETRY_MS);
    e->warned = true;
    if (e->n_ips == 0) {
        struct timeval tv = {CKV_RESOLVE_RETRY_MS / 1000, (CKV_RESOLVE_RETRY_MS % 1000) * 1000};
        evtimer_add(e->retry, &tv);
    }
}

static void lookup(ckv_resolved *e)
{
    ckv_resolver *r = e->r;
    if (!e->is_name || e->in_lookup || r->closing)
        return;
    if (r->hosts_file[0] != '\0')
        load_hosts_if_changed(r, false);
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    e->in_lookup = true;
    e->last_lookup_ms = ckv_now_ms();
    /* answered at once (on_answer has run) when the name is in the hosts entries */
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(r->dns, e->host, NULL, &hints, on_answer, e);
    if (!e->in_lookup || req == NULL)
        return;
    e->pending = req;
    /* hosts-only: nothing else can answer, and evdns would queue the question forever
     * for want of a server; cancelling reports it unresolved (EVUTIL_EAI_CANCEL) */
    if (r->hosts_file[0] != '\0')
        cancel(e);
}

void ckv_resolver_refresh(ckv_resolver *r, ckv_resolved *e)
{
    (void)r;
    if (e == NULL || !e->is_name || e->in_lookup)
        return;
    if (ckv_now_ms() - e->last_lookup_ms < CKV_RESOLVE_REFRESH_MS)
        return;
    lookup(e);
}

/* The host of a normalised member address is a name when it is not bracketed and has a
 * character other than digits and dots (view.c reads all-numeric hosts as IPv4). */
static bool member_is_name(const char *addr, size_t *host_len)
{
    if (addr[0] == '[')
        return false;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL)
        return false;
    *host_len = (size_t)(colon - addr);
    for (const char *p = addr; p < colon; p++)
        if ((*p < '0' || *p > '9') && *p != '.')
            return true;
    return false;
}

static bool entry_has_ip(const ckv_resolved *e, const char *ip)
{
    for (uint32_t i = 0; i < e->n_ips; i++)
        if (strcmp(e->ips[i], ip) == 0)
            return true;
    return false;
}

bool ckv_resolver_view_has_ip(ckv_resolver *r, const ckv_view *v, const char *ip)
{
    if (ckv_view_has_ip(v, ip))
        return true; /* a literal member: no lookup involved */
    ckv_resolved *named[CKV_VIEW_MAX];
    uint32_t n_named = 0;
    char host[CKV_HOST_MAX];
    for (uint32_t i = 0; i < v->n && i < CKV_VIEW_MAX; i++) {
        size_t len;
        if (!member_is_name(v->addrs[i], &len) || len >= sizeof(host))
            continue;
        memcpy(host, v->addrs[i], len);
        host[len] = '\0';
        ckv_resolved *e = ckv_resolver_get(r, host);
        if (e == NULL)
            continue;
        if (entry_has_ip(e, ip))
            return true;
        named[n_named++] = e;
    }
    /* an unknown caller and named members: one of them may have moved */
    for (uint32_t i = 0; i < n_named; i++)
        ckv_resolver_refresh(r, named[i]);
    return false;
}
