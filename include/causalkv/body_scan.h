/* body_scan.h — reads the usual client body in one pass, without allocating.
 *
 * Nearly every body a client sends is {"value":"...","causal-context":{"epoch":E,
 * "clock":{"addr":N,...},"lamport":L}} in some subset and order. Parsing that with jansson
 * builds a tree of allocated objects only to read five fields from it. This scanner reads
 * such a body directly and declines everything else, so that the caller falls back to the
 * full JSON reader: a string with an escape or a byte outside printable ASCII, a field it
 * does not know or sees twice, a clock address outside the view or named twice, a number
 * that is not a plain integer of at most 18 digits, anything that is not JSON. It never
 * refuses a body, so what is accepted and refused is still decided by one reader, and
 * what it accepts it reads exactly as ckv_client_body_parse documents.
 *
 * Ownership: on success out->value points into buf (out->json stays NULL), so it lives
 * as long as buf. Plain C, no I/O. */
#ifndef CAUSALKV_BODY_SCAN_H
#define CAUSALKV_BODY_SCAN_H

#include <stddef.h>

#include "causalkv/client_body.h"
#include "causalkv/shard_map.h"

/* CKV_OK with out filled (as ckv_client_body_parse would fill it), or CKV_DECLINED with
 * out left as it was. */
int ckv_body_scan(const char *buf, size_t len, const ckv_shard_map *map, ckv_client_body *out);

#endif
