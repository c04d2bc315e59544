/* view.h — a list of node addresses ("host:port") and its validation.
 *
 * Plain values, no allocation: a ckv_view is a fixed-size array, copy it freely.
 * An address is its normalised text, and that text is the node's identity (contexts,
 * "replicas", "address"), so every node must spell it the same:
 *   - a DNS name of RFC 1123 labels (letters, digits, hyphens, 1..63 each, no hyphen at
 *     either end, no trailing dot), lower-cased: "causalkv-0.causalkv.default.svc:13800";
 *   - an IPv4 literal, dotted decimal without leading zeros: "127.0.0.1:13800" (a host
 *     of only digits and dots is always read as IPv4, so "127.1" is refused);
 *   - an IPv6 literal in brackets, in its RFC 5952 text: "[::1]:13800".
 * A host is at most CKV_HOST_LEN_MAX bytes; the port is 1..65535 without a sign. */
#ifndef CAUSALKV_VIEW_H
#define CAUSALKV_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/common.h"

typedef struct ckv_view {
    uint32_t n;
    char addrs[CKV_VIEW_MAX][CKV_ADDR_MAX];
} ckv_view;

/* Parses "host:port" (surrounding whitespace allowed) into its normalised form.
 * out must hold CKV_ADDR_MAX bytes. Returns CKV_OK or CKV_ERROR (port 0 or > 65535,
 * a host that is none of the three forms above, trailing garbage, empty). */
int ckv_addr_parse(const char *s, size_t len, char *out);

/* Splits an address into its normalised host (out_host, CKV_HOST_MAX bytes; an IPv6
 * literal without its brackets, as inet_pton and connect want it) and port. Either out
 * may be NULL. CKV_OK / CKV_ERROR. */
int ckv_addr_split(const char *addr, char *out_host, uint16_t *out_port);

/* What a host (as ckv_addr_split writes it) is: a name needs resolving, a literal not. */
enum { CKV_HOST_INVALID = 0, CKV_HOST_IPV4 = 1, CKV_HOST_IPV6 = 2, CKV_HOST_NAME = 3 };
int ckv_host_kind(const char *host);

/* Appends one member; CKV_ERROR with a message in err when unparsable, a duplicate,
 * or the view is full (CKV_VIEW_MAX). */
int ckv_view_add(ckv_view *v, const char *s, size_t len, char *err, size_t errlen);

/* Parses a comma-separated list ("a:p, b:p"); items are trimmed. Empty items are
 * errors. On CKV_ERROR err names the problem, e.g. "duplicate member 1.2.3.4:5". */
int ckv_view_parse_csv(const char *csv, ckv_view *out, char *err, size_t errlen);

/* Checks a view against a replication factor: n >= 1, rf >= 1, n % rf == 0.
 * (duplicates and syntax are already refused by ckv_view_add). */
int ckv_view_check_rf(const ckv_view *v, long rf, char *err, size_t errlen);

/* Index of addr in v, or -1. */
int ckv_view_index_of(const ckv_view *v, const char *addr);
/* The same for the len bytes at addr (not NUL-terminated). */
int ckv_view_index_of_len(const ckv_view *v, const char *addr, size_t len);

bool ckv_view_equal(const ckv_view *a, const ckv_view *b);

/* True when some member of v has the host ip (any port), as ckv_addr_split writes it:
 * a literal member matches its own address; a named member matches nothing here (the
 * node's resolver knows what its name resolves to). */
bool ckv_view_has_ip(const ckv_view *v, const char *ip);

#endif
