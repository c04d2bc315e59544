/* cors.h — which web origins may read this node's replies (CORS), from CORS_ORIGINS.
 *
 * CORS_ORIGINS is a comma-separated list of origins ("http://ops.example:8080", scheme
 * and host, no path), or "*" for any. Unset: no foreign origin. Besides the list, the
 * origin of every member's own address (http://<ip:port>) is always allowed: those
 * origins serve nothing but the dashboard (GET /dashboard), which polls every node of
 * the view and so must read their replies. Origins compare case-insensitively. */
#ifndef CAUSALKV_CORS_H
#define CAUSALKV_CORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/view.h"

#define CKV_CORS_MAX 16    /* origins in CORS_ORIGINS */
#define CKV_ORIGIN_MAX 128 /* bytes of one origin, NUL included */

typedef struct ckv_cors {
    bool any; /* "*" */
    uint32_t n;
    char origins[CKV_CORS_MAX][CKV_ORIGIN_MAX];
} ckv_cors;

/* Parses CORS_ORIGINS (NULL or "" is the empty list). On CKV_ERROR err names the bad
 * item: not http(s)://host[:port], a path, too long, too many, or "*" mixed with others. */
int ckv_cors_parse(const char *csv, ckv_cors *out, char *err, size_t errlen);

/* True when a page of origin[0..len) may read the replies: listed, "*", or the origin of
 * self or of a member of members. */
bool ckv_cors_allows(const ckv_cors *c, const ckv_view *members, const char *self,
                     const char *origin, size_t len);

#endif
