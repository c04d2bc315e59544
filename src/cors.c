/* cors.c — CORS_ORIGINS and the origin check (see cors.h). */
#include "causalkv/cors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '[' || c == ']' || c == ':';
}

/* scheme://host[:port], nothing after: what a browser sends in Origin. */
static bool origin_valid(const char *s, size_t len)
{
    size_t skip = len >= 7 && strncasecmp(s, "http://", 7) == 0    ? 7
                  : len >= 8 && strncasecmp(s, "https://", 8) == 0 ? 8
                                                                   : 0;
    if (skip == 0 || skip == len)
        return false;
    for (size_t i = skip; i < len; i++)
        if (!host_char(s[i]))
            return false;
    return s[len - 1] != ':';
}

static int add_origin(ckv_cors *out, const char *s, size_t len, char *err, size_t errlen)
{
    if (len == 1 && s[0] == '*') {
        out->any = true;
        return CKV_OK;
    }
    if (len >= CKV_ORIGIN_MAX || !origin_valid(s, len)) {
        snprintf(err, errlen, "'%.*s' is not an origin like http://host:port (or *)",
                 (int)(len > 64 ? 64 : len), s);
        return CKV_ERROR;
    }
    if (out->n == CKV_CORS_MAX) {
        snprintf(err, errlen, "more than %d origins", CKV_CORS_MAX);
        return CKV_ERROR;
    }
    memcpy(out->origins[out->n], s, len);
    out->origins[out->n++][len] = '\0';
    return CKV_OK;
}

int ckv_cors_parse(const char *csv, ckv_cors *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    for (const char *p = csv; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        const char *end = comma != NULL ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (a == b) {
            snprintf(err, errlen, "empty item");
            return CKV_ERROR;
        }
        if (add_origin(out, a, (size_t)(b - a), err, errlen) != CKV_OK)
            return CKV_ERROR;
        p = comma != NULL ? comma + 1 : end;
    }
    if (out->any && out->n > 0) {
        snprintf(err, errlen, "* allows every origin: list no others with it");
        return CKV_ERROR;
    }
    return CKV_OK;
}

static bool same_origin(const char *a, size_t alen, const char *origin, size_t len)
{
    return alen == len && strncasecmp(a, origin, len) == 0;
}

/* http://<addr>, the origin of a page that node addr served. */
static bool is_node_origin(const char *addr, const char *origin, size_t len)
{
    size_t alen = strlen(addr);
    return len == 7 + alen && strncasecmp(origin, "http://", 7) == 0 &&
           memcmp(origin + 7, addr, alen) == 0;
}

bool ckv_cors_allows(const ckv_cors *c, const ckv_view *members, const char *self,
                     const char *origin, size_t len)
{
    if (origin == NULL || len == 0)
        return false;
    if (c->any)
        return true;
    for (uint32_t i = 0; i < c->n; i++)
        if (same_origin(c->origins[i], strlen(c->origins[i]), origin, len))
            return true;
    if (self != NULL && is_node_origin(self, origin, len))
        return true;
    for (uint32_t i = 0; members != NULL && i < members->n; i++)
        if (is_node_origin(members->addrs[i], origin, len))
            return true;
    return false;
}
