/* view.c — node addresses ("a.b.c.d:port") and views (ordered lists of them).
 *
 * Addresses are parsed by hand rather than with inet_pton/inet_aton: inet_aton accepts
 * octal, hex and short forms ("127.1"), and every node must agree byte for byte on the
 * normalised text, because the view's order and spelling define shards and clocks. */
#include "causalkv/view.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define OCTET_DIGITS_MAX 3 /* "255" */
#define PORT_DIGITS_MAX 5  /* "65535" */
#define ECHO_MAX 64        /* bytes of a bad item quoted back in an error message */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

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

int ckv_addr_parse(const char *s, size_t len, char *out)
{
    if (s == NULL || out == NULL)
        return CKV_ERROR;
    trim(&s, &len);

    uint32_t octet[4];
    size_t pos = 0;
    for (int i = 0; i < 4; i++) {
        if (parse_decimal(s, len, &pos, OCTET_DIGITS_MAX, &octet[i]) != CKV_OK || octet[i] > 255)
            return CKV_ERROR;
        char sep = i < 3 ? '.' : ':';
        if (pos >= len || s[pos] != sep)
            return CKV_ERROR;
        pos++;
    }

    uint32_t port;
    if (parse_decimal(s, len, &pos, PORT_DIGITS_MAX, &port) != CKV_OK || port == 0 || port > 65535)
        return CKV_ERROR;
    if (pos != len)
        return CKV_ERROR; /* trailing garbage */

    snprintf(out, CKV_ADDR_MAX, "%u.%u.%u.%u:%u", octet[0], octet[1], octet[2], octet[3], port);
    return CKV_OK;
}

int ckv_addr_split(const char *addr, char *out_ip, uint16_t *out_port)
{
    if (addr == NULL)
        return CKV_ERROR;
    /* Re-parse so that callers may pass any acceptable spelling, not only normalised. */
    char norm[CKV_ADDR_MAX];
    if (ckv_addr_parse(addr, strlen(addr), norm) != CKV_OK)
        return CKV_ERROR;

    char *colon = strchr(norm, ':');
    size_t ip_len = (size_t)(colon - norm); /* at most 15: "255.255.255.255" */
    if (out_ip != NULL) {
        memcpy(out_ip, norm, ip_len);
        out_ip[ip_len] = '\0';
    }
    if (out_port != NULL) {
        unsigned long port = 0;
        for (const char *p = colon + 1; *p; p++)
            port = port * 10 + (unsigned long)(*p - '0');
        *out_port = (uint16_t)port;
    }
    return CKV_OK;
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
        set_err(err, errlen, "unparsable member '%.*s'%s (want a.b.c.d:port)", shown, s ? s : "",
                len > ECHO_MAX ? "..." : "");
        return CKV_ERROR;
    }
    if (ckv_view_index_of(v, addr) >= 0) {
        set_err(err, errlen, "duplicate member %s", addr);
        return CKV_ERROR;
    }
    if (v->n >= CKV_VIEW_MAX) {
        set_err(err, errlen, "too many members (at most %d)", CKV_VIEW_MAX);
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
        set_err(err, errlen, "empty view");
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
            set_err(err, errlen, "empty member at position %u", pos);
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
        set_err(err, errlen, "empty view");
        return CKV_ERROR;
    }
    if (v->n > CKV_VIEW_MAX) {
        set_err(err, errlen, "too many members (at most %d)", CKV_VIEW_MAX);
        return CKV_ERROR;
    }
    if (rf < 1) {
        set_err(err, errlen, "repl-factor must be >= 1 (got %ld)", rf);
        return CKV_ERROR;
    }
    if (v->n % (unsigned long)rf != 0) {
        set_err(err, errlen, "%u members is not a multiple of repl-factor %ld", v->n, rf);
        return CKV_ERROR;
    }
    return CKV_OK;
}

int ckv_view_index_of(const ckv_view *v, const char *addr)
{
    if (v == NULL || addr == NULL)
        return -1;
    for (uint32_t i = 0; i < v->n && i < CKV_VIEW_MAX; i++)
        if (strcmp(v->addrs[i], addr) == 0)
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
    size_t len = strlen(ip);
    for (uint32_t i = 0; i < v->n; i++)
        if (strncmp(v->addrs[i], ip, len) == 0 && v->addrs[i][len] == ':')
            return true;
    return false;
}
