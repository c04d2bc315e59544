/* endpoint.c — parsing, naming and probing the CLI's endpoints (see endpoint.h). */
#include "endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool parse_port(const char *s, size_t len, unsigned short *port)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return false;
    *port = (unsigned short)v;
    return true;
}

/* Letters, digits, '-' and '.': a DNS name; only digits and dots must be an IPv4 address
 * (getaddrinfo would take "1.2.3" for 1.2.0.3). */
static bool valid_host(const char *h)
{
    bool digits_only = true;
    for (const char *p = h; *p != '\0'; p++) {
        bool alnum =
            (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (!alnum && *p != '-' && *p != '.')
            return false;
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            digits_only = false;
    }
    struct in_addr in;
    return h[0] != '\0' && (!digits_only || inet_pton(AF_INET, h, &in) == 1);
}

/* Splits s into host (brackets removed) and port text. */
static bool split(const char *s, size_t len, cli_endpoint *ep, const char **port, size_t *plen,
                  char *why, size_t why_len)
{
    const char *host = s, *end;
    size_t hlen;
    if (len > 0 && s[0] == '[') {
        end = memchr(s, ']', len);
        if (end == NULL) {
            snprintf(why, why_len, "no ']' after the IPv6 address");
            return false;
        }
        host = s + 1;
        hlen = (size_t)(end - host);
        end++;
    } else {
        end = memchr(s, ':', len);
        if (end != NULL && memchr(end + 1, ':', len - (size_t)(end + 1 - s)) != NULL) {
            snprintf(why, why_len, "write an IPv6 address in brackets, as [::1]:13800");
            return false;
        }
        hlen = end != NULL ? (size_t)(end - s) : len;
        end = s + hlen;
    }
    if (hlen == 0 || hlen > CLI_HOST_MAX) {
        snprintf(why, why_len, "%s", hlen == 0 ? "no host" : "host name too long");
        return false;
    }
    memcpy(ep->host, host, hlen);
    ep->host[hlen] = '\0';
    size_t rest = len - (size_t)(end - s);
    if (rest > 0 && *end != ':') {
        snprintf(why, why_len, "unexpected text after the host");
        return false;
    }
    *port = rest > 0 ? end + 1 : NULL;
    *plen = rest > 0 ? rest - 1 : 0;
    return true;
}

bool cli_endpoint_parse(const char *s, size_t len, unsigned short default_port, cli_endpoint *ep,
                        char *why, size_t why_len)
{
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    const char *port;
    size_t plen;
    if (len >= sizeof(ep->text)) {
        snprintf(why, why_len, "too long");
        return false;
    }
    if (!split(s, len, ep, &port, &plen, why, why_len))
        return false;
    bool v6 = s[0] == '[';
    struct in6_addr in6;
    if (v6 ? inet_pton(AF_INET6, ep->host, &in6) != 1 : !valid_host(ep->host)) {
        snprintf(why, why_len, "'%s' is not an %s", ep->host,
                 v6 ? "IPv6 address" : "IPv4 address or a host name");
        return false;
    }
    ep->port = default_port;
    if (port != NULL && !parse_port(port, plen, &ep->port)) {
        snprintf(why, why_len, "the port must be a number in 1..65535");
        return false;
    }
    memcpy(ep->text, s, len);
    ep->text[len] = '\0';
    return true;
}

bool cli_endpoints_parse(const char *list, unsigned short default_port, cli_endpoint *eps,
                         size_t *n, char *why, size_t why_len)
{
    *n = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (*n == CLI_ENDPOINTS_MAX) {
            snprintf(why, why_len, "more than %d endpoints", CLI_ENDPOINTS_MAX);
            return false;
        }
        char item_why[128];
        if (!cli_endpoint_parse(p, len, default_port, &eps[*n], item_why, sizeof(item_why))) {
            snprintf(why, why_len, "'%.*s': %s", (int)len, p, item_why);
            return false;
        }
        (*n)++;
        if (comma == NULL)
            return true;
        p = comma + 1;
    }
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

uint64_t cli_endpoints_key(const cli_endpoint *eps, size_t n)
{
    const char *sorted[CLI_ENDPOINTS_MAX];
    for (size_t i = 0; i < n; i++)
        sorted[i] = eps[i].text;
    qsort(sorted, n, sizeof(sorted[0]), compare_text);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
            continue;
        for (const char *p = sorted[i]; *p != '\0'; p++)
            h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
        h = (h ^ ',') * 0x100000001b3ULL;
    }
    return h;
}

/* A non-blocking connect, waited for at most timeout_ms: 0 or an errno. */
static int connect_within(const struct addrinfo *ai, long timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int err = 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            int rc = poll(&pfd, 1, (int)timeout_ms);
            socklen_t len = sizeof(err);
            if (rc == 0)
                err = ETIMEDOUT;
            else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
    }
    close(fd);
    return err;
}

bool cli_endpoint_probe(const cli_endpoint *ep, long timeout_ms, char *numeric, size_t numeric_len,
                        char *why, size_t why_len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)ep->port);
    int gai = getaddrinfo(ep->host, port, &hints, &res);
    if (gai != 0) {
        snprintf(why, why_len, "cannot resolve %s: %s", ep->host, gai_strerror(gai));
        return false;
    }
    int err = ENOENT;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        err = connect_within(ai, timeout_ms);
        if (err == 0) {
            getnameinfo(ai->ai_addr, ai->ai_addrlen, numeric, (socklen_t)numeric_len, NULL, 0,
                        NI_NUMERICHOST);
            break;
        }
    }
    freeaddrinfo(res);
    if (err != 0)
        snprintf(why, why_len, "%s",
                 err == ETIMEDOUT      ? "timed out connecting"
                 : err == ECONNREFUSED ? "connection refused (is a node listening there?)"
                                       : strerror(err));
    return err == 0;
}
