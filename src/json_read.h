/* json_read.h — the jansson-level readers shared by json_codec.c and wire.c (and the
 * fuzzers, which must decode exactly as the node does). Private to the core: no module
 * header exposes json_t. Decoded versions are new references owned by the caller. */
#ifndef CAUSALKV_JSON_READ_H
#define CAUSALKV_JSON_READ_H

#include <jansson.h>

#include "causalkv/client_body.h"
#include "causalkv/shard_map.h"
#include "causalkv/store.h"
#include "causalkv/vclock.h"
#include "causalkv/view.h"

/* The parsed JSON of a ckv_client_body (NULL when the body was empty or was read by
 * ckv_scan_client_body). */
#define ckv_client_body_json(b) ((json_t *)(b)->json)

/* ckv_client_body_parse by jansson alone, keeping the tree in out->json: what the body
 * scanner falls back to, and the reference it is tested against. */
int ckv_client_body_parse_json(const char *buf, size_t len, const ckv_shard_map *map,
                               ckv_client_body *out);

/* The view-change body: "view" as an array of strings or one comma-separated string,
 * "repl-factor" as a positive integer (a numeric string is accepted too). On CKV_ERROR err
 * names the problem (empty view, bad member, duplicates, rf < 1, n % rf != 0, too many). */
int ckv_view_change_body_parse(const json_t *root, ckv_view *view, long *rf, char *err,
                               size_t errlen);

/* A "causal-context" value (j NULL when absent) against map, by the rules of
 * ckv_client_body_parse: null and "" are empty, a missing epoch is the map's. */
int ckv_json_context_decode(const json_t *j, const ckv_shard_map *map, ckv_context *ctx);

/* Clock as a JSON array of n counters; decode checks the length equals n. */
void ckv_json_add_clock_array(ckv_sbuf *b, const ckv_vclock *c);
int ckv_json_clock_array_decode(const json_t *arr, uint32_t n, ckv_vclock *out);

/* Decodes and validates one version of a view of n members (origin < n or
 * CKV_ORIGIN_BASE, key 1..CKV_KEY_MAX bytes, deps length n). NULL when invalid. */
ckv_version *ckv_json_version_decode(const json_t *obj, uint32_t n);

/* Parses a node-to-node message body: a JSON object or NULL. */
json_t *ckv_json_parse_message(const char *buf, size_t len);

/* Reads a non-negative integer field; CKV_ERROR when absent or of another type. */
int ckv_json_get_u64(const json_t *obj, const char *field, uint64_t *out);

#endif
