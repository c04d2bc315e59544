/* json_codec.h — client request bodies ↔ C values, and the JSON pieces of replies and
 * messages (ckv_sbuf). No JSON library type crosses this header: node-to-node messages are
 * wire.h's; the jansson-level readers that json_codec.c and wire.c share are in the
 * private src/json_read.h.
 *
 * The causal context's wire shape is {"epoch": E, "clock": {"ip:port": n, ...}}:
 * addresses absent from the clock count as 0, addresses outside the view are dropped
 * (never stored), and {} (or null, or "") is the empty context.
 *
 * Ownership: a ckv_client_body (client_body.h) owns its parsed JSON, if any. Decoded versions are
 * new references owned by the caller. */
#ifndef CAUSALKV_JSON_CODEC_H
#define CAUSALKV_JSON_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "causalkv/client_body.h"
#include "causalkv/sbuf.h"
#include "causalkv/shard_map.h"
#include "causalkv/store.h"
#include "causalkv/vclock.h"

/* Parses an optional client body against map (for the context's addresses). An empty
 * body is the empty object. CKV_ERROR when the body is not a JSON object, has duplicate
 * fields, or a field has the wrong type ("value" not a string or null, a context that is
 * not an object, counters or epoch that are not non-negative integers). A context with no
 * "epoch" belongs to the map's epoch. out is always safe to free. */
int ckv_client_body_parse(const char *buf, size_t len, const ckv_shard_map *map,
                          ckv_client_body *out);
void ckv_client_body_free(ckv_client_body *b);

/* The client's view-change request (PUT /kvs/view-change): a client body (the
 * ckv_client_body_parse rules, against map) whose "view" and "repl-factor" follow
 * ckv_view_change_body_parse. On CKV_ERROR err says why: "Failed to parse request body"
 * when it is not a valid client body, else the view-change problem. */
int ckv_client_view_change_parse(const char *buf, size_t len, const ckv_shard_map *map,
                                 ckv_view *view, long *rf, char *err, size_t errlen);

/* ,"causal-context":{...}  (leading comma included when lead_comma). */
void ckv_json_add_context(ckv_sbuf *b, bool lead_comma, const ckv_shard_map *map,
                          const ckv_context *ctx);

/* The context object alone, {"epoch":E,"clock":{...}} (zero counters left out). */
void ckv_json_add_context_value(ckv_sbuf *b, const ckv_shard_map *map, const ckv_context *ctx);

/* A view as a JSON array of "ip:port" strings. */
void ckv_json_add_view(ckv_sbuf *b, const ckv_view *v);

/* One version as {"k":key,"v":value|null,"o":origin,"s":seq,"l":lamport,"d":[...]}
 * ("d" omitted without dependencies). */
void ckv_json_add_version(ckv_sbuf *b, const ckv_version *v);

/* The same write as base state of a new epoch: origin CKV_ORIGIN_BASE, seq 0, no
 * dependencies, Lamport time kept (so later writes still win). */
void ckv_json_add_version_base(ckv_sbuf *b, const ckv_version *v);

/* Appends the versions of s that keep accepts (NULL: all), from cursor on, as
 * comma-separated array elements (in base form when base), until the buffer passes
 * CKV_BATCH_SOFT_BYTES. Returns the cursor to resume from, or 0 when s is exhausted
 * (a resumed cursor is never 0). Sync, view-change collect and install all use it. */
size_t ckv_json_add_store_chunk(ckv_sbuf *b, const ckv_store *s, size_t cursor, bool base,
                                ckv_version_filter keep, const void *arg);

#endif
