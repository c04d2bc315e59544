/* view.h — a list of node addresses ("ip:port") and its validation.
 *
 * Plain values, no allocation: a ckv_view is a fixed-size array, copy it freely.
 * Addresses are normalised to dotted IPv4 + ":" + port (no leading zeros, no spaces). */
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

/* Parses "a.b.c.d:port" (surrounding whitespace allowed) into its normalised form.
 * out must hold CKV_ADDR_MAX bytes. Returns CKV_OK or CKV_ERROR (port 0 or > 65535,
 * not an IPv4 literal, trailing garbage, empty). */
int ckv_addr_parse(const char *s, size_t len, char *out);

/* Splits an address into its IPv4 part (out_ip, 16 bytes) and port. CKV_OK / CKV_ERROR. */
int ckv_addr_split(const char *addr, char *out_ip, uint16_t *out_port);

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

bool ckv_view_equal(const ckv_view *a, const ckv_view *b);

/* True when some member of v has the IPv4 address ip (any port). */
bool ckv_view_has_ip(const ckv_view *v, const char *ip);

#endif
