/* ctx_header.h — the causal context outside the body: the X-Causal-Context header.
 *
 * A browser cannot send a body with GET (fetch refuses), so every client endpoint also
 * takes the context in a request header and returns it in a reply header. The header
 * carries exactly the JSON of the body's "causal-context" ({"epoch":E,"clock":{...}}), by
 * the same rules: {}, null, "" and an empty header are the empty context, a missing epoch
 * is the map's, addresses outside the view are dropped. When a request has both, the
 * node uses their join (ckv_context_join), so a client may send either or both.
 *
 * Plain code: no I/O, no libevent. The header bytes are untrusted; every function
 * refuses malformed input with CKV_ERROR and never reads past len. */
#ifndef CAUSALKV_CTX_HEADER_H
#define CAUSALKV_CTX_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/sbuf.h"
#include "causalkv/shard_map.h"
#include "causalkv/vclock.h"

#define CKV_CTX_HEADER "X-Causal-Context"

/* Parses a header value against map. CKV_ERROR when it is not a valid context value
 * (not JSON, trailing bytes, duplicate fields, counters or epoch that are not
 * non-negative integers). out is always initialised (empty context of map's epoch). */
int ckv_ctx_header_parse(const char *value, size_t len, const ckv_shard_map *map, ckv_context *out);

/* dst = the join of dst and src: a newer epoch dominates an older one whole (the older
 * one's counters mean nothing in it), the same epoch merges pointwise. */
void ckv_context_join(ckv_context *dst, const ckv_context *src);

/* The header value of a reply: the context object as the body carries it. */
void ckv_ctx_header_format(ckv_sbuf *b, const ckv_shard_map *map, const ckv_context *ctx);

/* The "causal-context" object of a reply body this node (or a peer, through the proxy)
 * built: its replies put it last, before at most an "address" field, so only the tail is
 * scanned (CKV_CTX_TAIL_BYTES) and a large value costs nothing. True with the object's
 * offset and length; false when there is none or it is not a plain one-line object. */
#define CKV_CTX_TAIL_BYTES (16u << 10)
bool ckv_ctx_header_find_in_reply(const char *body, size_t len, size_t *start, size_t *clen);

/* Folds the header's context into a client body that is forwarded to another shard's
 * replica (the proxy carries the body, not the header). Works on the JSON, not on a map,
 * so addresses the forwarding node does not know (during a view change) are kept for the
 * owner to judge; a context without an epoch counts as default_epoch's. out gets the
 * body with "causal-context" set to the join. CKV_OK; CKV_ERROR when the header is not a
 * valid context (answer 400); CKV_DECLINED when the body is not a valid client body
 * (forward it unchanged: the owner refuses it as it would without the header);
 * CKV_NOMEM when out of memory. */
int ckv_ctx_header_fold(const char *body, size_t blen, const char *hdr, size_t hlen,
                        uint64_t default_epoch, ckv_sbuf *out);

#endif
