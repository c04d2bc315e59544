/* json_scan.h — one-pass readers of the two messages every request carries: a client's
 * body and a replication push. Each reads only the usual shape and declines the rest, for
 * jansson to read, so one reader still decides what is valid and this one only skips its
 * allocations.
 *
 * The client body.
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
#ifndef CAUSALKV_JSON_SCAN_H
#define CAUSALKV_JSON_SCAN_H

#include <stddef.h>

#include "causalkv/client_body.h"
#include "causalkv/shard_map.h"
#include "causalkv/store.h"

/* CKV_OK with out filled (as ckv_client_body_parse would fill it), or CKV_DECLINED with
 * out left as it was. */
int ckv_scan_client_body(const char *buf, size_t len, const ckv_shard_map *map,
                         ckv_client_body *out);

/* Takes over the reference to v; CKV_OK or an error, which ends the scan. */
typedef int (*ckv_scan_version_fn)(void *arg, ckv_version *v);

/* The push exactly as ckv_wire_push_encode writes it: {"epoch":E,"from":F,"versions":[
 * {"k":..,"v":..|null,"o":O,"s":S,"l":L[,"d":[n counters]]},...]} in that order, of the
 * given epoch, every version valid for a view of n (as ckv_json_version_decode checks).
 * CKV_OK: *from set and every version handed to add in order. CKV_DECLINED: anything else
 * (another epoch, escapes or non-ASCII bytes in a string, other fields or order, an
 * invalid version, add failing); versions already handed to add stay the caller's. */
int ckv_scan_push(const char *buf, size_t len, uint64_t epoch, uint32_t n, uint64_t *from,
                  ckv_scan_version_fn add, void *arg);

#endif
