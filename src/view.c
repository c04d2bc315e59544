/* view.c — node addresses ("host:port") and views (ordered lists of them).
 *
 * Every node must agree byte for byte on the normalised text, because the view's order
 * and spelling define shards and clocks. IPv4 is parsed by hand rather than with
 * inet_pton/inet_aton: inet_aton accepts octal, hex and short forms ("127.1"). IPv6 has
 * no such ambiguity, so inet_pton + inet_ntop give its canonical (RFC 5952) text. Names
 * are lower-cased. inet_pton/inet_ntop are pure text conversions: no I/O here. */
#include "causalkv/view.h"
#include "causalkv/errmsg.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define OCTET_DIGITS_MAX 3 /* "255" */
#define PORT_DIGITS_MAX 5  /* "65535" */
#define DNS_LABEL_MAX 63   /* RFC 1035 section 2.3.4 */
#define ECHO_MAX 64        /* bytes of a bad item quoted back in an error message */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Narrows [*s, *s + *len) to exclude surrounding whitespace. */
static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1]))
        (*len)--;
}

/* Reads 1..max_digits decimal digits at s[*pos] into *out; advances *pos. */
static int parse_decimal(const char *s, size_t len, size_t *pos, int max_digits, uint32_t *out)
{
    uint32_t value = 0;
    int digits = 0;
    while (*pos < len && is_digit(s[*pos])) {
        if (digits == max_digits)
            return CKV_ERROR;
        value = value * 10 + (uint32_t)(s[*pos] - '0');
        digits++;
        (*pos)++;
    }
    if (digits == 0)
        return CKV_ERROR;
    *out = value;
    return CKV_OK;
}

/* host is all digits and dots: it must then be an IPv4 literal, never a name, so that
 * "127.1" or "1.2.3.4.5" cannot slip through as a DNS name. */
static bool looks_numeric(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]) && s[i] != '.')
            return false;
    return true;
}

/* Dotted IPv4, by hand (see the top of this file): "%u.%u.%u.%u" into out. */
static int parse_ipv4(const char *s, size_t len, char *out, size_t outlen)
{
    uint32_t octet[4];
    size_t pos = 0;
    for (int i = 0; i < 4; i++) {
        if (parse_decimal(s, len, &pos, OCTET_DIGITS_MAX, &octet[i]) != CKV_OK || octet[i] > 255)
            return CKV_ERROR;
        if (i < 3) {
            if (pos >= len || s[pos] != '.')
                return CKV_ERROR;
            pos++;
        }
    }
    if (pos != len)
        return CKV_ERROR;
    snprintf(out, outlen, "%u.%u.%u.%u", octet[0], octet[1], octet[2], octet[3]);
    return CKV_OK;
}

/* An IPv6 literal (without brackets) in its RFC 5952 text, as inet_ntop writes it. */
static int parse_ipv6(const char *s, size_t len, char *out, size_t outlen)
{
    char text[INET6_ADDRSTRLEN];
    struct in6_addr a;
    if (len == 0 || len >= sizeof(text))
        return CKV_ERROR;
    memcpy(text, s, len);
    text[len] = '\0';
    if (inet_pton(AF_INET6, text, &a) != 1 ||
        inet_ntop(AF_INET6, &a, out, (socklen_t)outlen) == NULL)
        return CKV_ERROR;
    return CKV_OK;
}

static bool is_label_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* The last label of a name must not read as a number: all digits, or "0x" and hex
 * digits. Every spelling inet_aton takes for an IPv4 address ("0x7f.1", "127.1",
 * "0x7f000001") ends so; RFC 1123 section 2.1 wants the top label alphabetic anyway. */
static bool last_label_is_numeric(const char *s, size_t len)
{
    size_t start = len;
    while (start > 0 && s[start - 1] != '.')
        start--;
    const char *l = s + start;
    size_t n = len - start;
    bool hex = n > 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X');
    for (size_t i = hex ? 2 : 0; i < n; i++)
        if (hex ? ckv_hex_digit(l[i]) < 0 : !is_digit(l[i]))
            return false;
    return true;
}

/* A DNS name of RFC 1123 labels (1..63 of letters, digits, hyphens; no hyphen at either
 * end), lower-cased so that every node spells it the same. No trailing dot: "a.b." and
 * "a.b" would be two identities for one node. */
static int parse_name(const char *s, size_t len, char *out)
{
    if (len > 0 && last_label_is_numeric(s, len))
        return CKV_ERROR;
    if (len == 0 || len > CKV_HOST_LEN_MAX)
        return CKV_ERROR;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return CKV_ERROR;
            label = 0;
        } else if (!is_label_char(c) || (c == '-' && label == 0) || ++label > DNS_LABEL_MAX) {
            return CKV_ERROR;
        }
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (label == 0 || s[len - 1] == '-')
        return CKV_ERROR;
    out[len] = '\0';
    return CKV_OK;
}

/* The normalised host of [s, s + len) into out (CKV_HOST_MAX bytes); *v6 when it was a
 * bracketed IPv6 literal (out is then without the brackets). */
static int parse_host(const char *s, size_t len, char *out, bool *v6)
{
    *v6 = false;
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        *v6 = true;
        return parse_ipv6(s + 1, len - 2, out, CKV_HOST_MAX);
    }
    if (looks_numeric(s, len))
        return parse_ipv4(s, len, out, CKV_HOST_MAX);
    return parse_name(s, len, out);
}

int ckv_addr_parse(const char *s, size_t len, char *out)
{
    if (s == NULL || out == NULL)
        return CKV_ERROR;
    trim(&s, &len);

    /* the port follows the last colon: an IPv6 literal's own colons are inside brackets */
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    if (colon == NULL)
        return CKV_ERROR;
    size_t host_len = (size_t)(colon - s);
    if (host_len > 0 && s[0] == '[' && s[host_len - 1] != ']')
        return CKV_ERROR;

    uint32_t port;
    size_t pos = host_len + 1;
    if (parse_decimal(s, len, &pos, PORT_DIGITS_MAX, &port) != CKV_OK || port == 0 || port > 65535)
        return CKV_ERROR;
    if (pos != len)
        return CKV_ERROR; /* trailing garbage */

    char host[CKV_HOST_MAX];
    bool v6;
    if (parse_host(s, host_len, host, &v6) != CKV_OK)
        return CKV_ERROR;
    int n = snprintf(out, CKV_ADDR_MAX, v6 ? "[%s]:%u" : "%s:%u", host, port);
    return n > 0 && n < CKV_ADDR_MAX ? CKV_OK : CKV_ERROR;
}

int ckv_addr_split(const char *addr, char *out_host, uint16_t *out_port)
{
    if (addr == NULL)
        return CKV_ERROR;
    /* Re-parse so that callers may pass any acceptable spelling, not only normalised. */
    char norm[CKV_ADDR_MAX];
    if (ckv_addr_parse(addr, strlen(addr), norm) != CKV_OK)
        return CKV_ERROR;

    char *colon = strrchr(norm, ':');
    const char *host = norm;
    size_t host_len = (size_t)(colon - norm); /* < CKV_HOST_MAX: it parsed */
    if (norm[0] == '[') {
        host++;
        host_len -= 2;
    }
    if (out_host != NULL) {
        memcpy(out_host, host, host_len);
        out_host[host_len] = '\0';
    }
    if (out_port != NULL) {
        unsigned long port = 0;
        for (const char *p = colon + 1; *p; p++)
            port = port * 10 + (unsigned long)(*p - '0');
        *out_port = (uint16_t)port;
    }
    return CKV_OK;
}

int ckv_host_kind(const char *host)
{
    if (host == NULL)
        return CKV_HOST_INVALID;
    size_t len = strlen(host);
    char out[CKV_HOST_MAX];
    if (looks_numeric(host, len))
        return parse_ipv4(host, len, out, sizeof(out)) == CKV_OK ? CKV_HOST_IPV4 : CKV_HOST_INVALID;
    if (memchr(host, ':', len) != NULL)
        return parse_ipv6(host, len, out, sizeof(out)) == CKV_OK ? CKV_HOST_IPV6 : CKV_HOST_INVALID;
    return parse_name(host, len, out) == CKV_OK ? CKV_HOST_NAME : CKV_HOST_INVALID;
}

int ckv_view_add(ckv_view *v, const char *s, size_t len, char *err, size_t errlen)
{
    char addr[CKV_ADDR_MAX];
    if (ckv_addr_parse(s, len, addr) != CKV_OK) {
        if (s == NULL)
            len = 0;
        else
            trim(&s, &len);
        int shown = (int)(len < ECHO_MAX ? len : ECHO_MAX);
        ckv_set_err(err, errlen, "unparsable member '%.*s'%s (want host:port)", shown, s ? s : "",
                    len > ECHO_MAX ? "..." : "");
        return CKV_ERROR;
    }
    if (ckv_view_index_of(v, addr) >= 0) {
        ckv_set_err(err, errlen, "duplicate member %s", addr);
        return CKV_ERROR;
    }
    if (v->n >= CKV_VIEW_MAX) {
        ckv_set_err(err, errlen, "too many members (at most %d)", CKV_VIEW_MAX);
        return CKV_ERROR;
    }
    memcpy(v->addrs[v->n], addr, CKV_ADDR_MAX);
    v->n++;
    return CKV_OK;
}

int ckv_view_parse_csv(const char *csv, ckv_view *out, char *err, size_t errlen)
{
    /* Build into a scratch view so that out is untouched on error. */
    ckv_view v;
    v.n = 0;

    const char *all = csv ? csv : "";
    size_t all_len = strlen(all);
    trim(&all, &all_len);
    if (all_len == 0) {
        ckv_set_err(err, errlen, "empty view");
        return CKV_ERROR;
    }

    const char *end = all + all_len;
    const char *item = all;
    for (uint32_t pos = 1;; pos++) {
        const char *comma = memchr(item, ',', (size_t)(end - item));
        const char *item_end = comma ? comma : end;
        const char *s = item;
        size_t len = (size_t)(item_end - item);
        trim(&s, &len);
        if (len == 0) {
            ckv_set_err(err, errlen, "empty member at position %u", pos);
            return CKV_ERROR;
        }
        if (ckv_view_add(&v, s, len, err, errlen) != CKV_OK)
            return CKV_ERROR;
        if (comma == NULL)
            break;
        item = comma + 1;
    }

    *out = v;
    return CKV_OK;
}

int ckv_view_check_rf(const ckv_view *v, long rf, char *err, size_t errlen)
{
    if (v->n == 0) {
        ckv_set_err(err, errlen, "empty view");
        return CKV_ERROR;
    }
    if (v->n > CKV_VIEW_MAX) {
        ckv_set_err(err, errlen, "too many members (at most %d)", CKV_VIEW_MAX);
        return CKV_ERROR;
    }
    if (rf < 1) {
        ckv_set_err(err, errlen, "repl-factor must be >= 1 (got %ld)", rf);
        return CKV_ERROR;
    }
    if (v->n % (unsigned long)rf != 0) {
        ckv_set_err(err, errlen, "%u members is not a multiple of repl-factor %ld", v->n, rf);
        return CKV_ERROR;
    }
    return CKV_OK;
}

int ckv_view_index_of(const ckv_view *v, const char *addr)
{
    return addr == NULL ? -1 : ckv_view_index_of_len(v, addr, strlen(addr));
}

int ckv_view_index_of_len(const ckv_view *v, const char *addr, size_t len)
{
    if (v == NULL || addr == NULL || len >= CKV_ADDR_MAX)
        return -1;
    for (uint32_t i = 0; i < v->n && i < CKV_VIEW_MAX; i++)
        if (memcmp(v->addrs[i], addr, len) == 0 && v->addrs[i][len] == '\0')
            return (int)i;
    return -1;
}

bool ckv_view_equal(const ckv_view *a, const ckv_view *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n && i < CKV_VIEW_MAX; i++)
        if (strcmp(a->addrs[i], b->addrs[i]) != 0)
            return false;
    return true;
}

bool ckv_view_has_ip(const ckv_view *v, const char *ip)
{
    /* members are normalised: the host is "ip:" or "[ip]:" at the start, no re-parsing */
    size_t len = strlen(ip);
    for (uint32_t i = 0; i < v->n && i < CKV_VIEW_MAX; i++) {
        const char *a = v->addrs[i];
        if (a[0] == '[' && strncmp(a + 1, ip, len) == 0 && a[1 + len] == ']' && a[2 + len] == ':')
            return true;
        if (strncmp(a, ip, len) == 0 && a[len] == ':')
            return true;
    }
    return false;
}
