/* wire.h — every node-to-node message as a C struct, with its encoder and decoder.
 *
 * The JSON is byte for byte what the nodes have always sent (field names, order and
 * shapes), so nodes built before and after this module talk to each other. Encoders append
 * to a ckv_sbuf (check ckv_sbuf_failed once at the end); decoders take the body as
 * received and return CKV_OK or CKV_ERROR.
 *
 * Ownership, for every function here:
 *  - encoders borrow what they are given (structs, stores, versions) and keep nothing;
 *  - a decoder overwrites *out entirely; on CKV_OK a ckv_version_list in it owns one
 *    reference to each of its versions, which ckv_version_list_free(&out->versions)
 *    releases; on CKV_ERROR *out holds nothing (lists empty, every field zero), so
 *    freeing its list is safe either way. Structs without versions own nothing.
 *
 * Decoding rules shared by every message:
 *  - the body is exactly one JSON object (trailing bytes refused); a duplicate field, at
 *    any depth, refuses the message; strings may hold NUL bytes;
 *  - a counter is a non-negative JSON integer (at most INT64_MAX: a larger encoded value
 *    does not decode); a missing field, another type, a float or a negative number
 *    refuses the message, unless the field is documented as optional with a default;
 *  - a clock is an array of exactly n counters, n the view size the caller passes;
 *  - a version is {"k","v","o","s","l","d"?}: key 1..CKV_KEY_MAX bytes, value a string or
 *    null (a tombstone), origin < n or CKV_ORIGIN_BASE, "d" a clock of n (all zero: no
 *    dependencies); one invalid version refuses the whole message;
 *  - a view is an array of "ip:port" strings or one comma-separated string, with a
 *    repl-factor (integer, or numeric string) dividing its size (ckv_view_change_body_parse
 *    rules), decoded into a ckv_shard_map with the message's epoch.
 *
 * Replication messages (push, sync and their replies) belong to an epoch, and their
 * clocks and versions to that epoch's view. Their decoders take the epoch and view size
 * the caller holds: a message of that epoch is decoded whole; one of another epoch only as
 * far as "epoch" (and "from"), the rest left zero, so that the caller can answer it by its
 * epoch (a stale epoch, a newer view) instead of refusing it for a clock of another size. */
#ifndef CAUSALKV_WIRE_H
#define CAUSALKV_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/sbuf.h"
#include "causalkv/shard_map.h"
#include "causalkv/store.h"
#include "causalkv/vclock.h"
#include "causalkv/view.h"

/* ---- versions ----------------------------------------------------------------------- */

/* Decoded versions, in message order: one owned reference each. Zero-initialised = empty. */
typedef struct ckv_version_list {
    ckv_version **v;
    size_t n;
    size_t cap;
} ckv_version_list;

/* Appends v, taking over the caller's reference (dropped on CKV_NOMEM). */
int ckv_version_list_push(ckv_version_list *l, ckv_version *v);
/* Drops every reference and the array; leaves l empty. */
void ckv_version_list_free(ckv_version_list *l);
/* The list as borrowed, read-only versions (for ckv_wire_push_encode). */
static inline const ckv_version *const *ckv_version_list_items(const ckv_version_list *l)
{
    return (const ckv_version *const *)l->v;
}

/* Where a chunked message (sync reply, collect reply, install) takes its versions: the
 * versions of store that keep accepts (NULL: all), from cursor on, in base form when base
 * (origin CKV_ORIGIN_BASE, seq 0, no dependencies), streamed into the buffer until it
 * passes CKV_BATCH_SOFT_BYTES (no intermediate copy). store NULL: no versions. */
typedef struct ckv_wire_chunk {
    const ckv_store *store;
    size_t cursor;
    bool base;
    ckv_version_filter keep;
    const void *arg;
} ckv_wire_chunk;

/* The chunked encoders write the versions of chunk and the cursor it stopped at (0: the
 * store is exhausted; install writes "last" for 0), and return that cursor. With chunk
 * NULL they re-encode m as it is: m->versions whole (never cut), m->cursor / m->last as
 * given, and return m->cursor (install: 0 when m->last, else 1). */

/* ---- replication: push (POST /internal/replicate) ------------------------------------ */

/* {"epoch":E,"from":F,"versions":[...]} — the sender's own writes, in seq order. */
typedef struct ckv_wire_push {
    uint64_t epoch;
    uint64_t from; /* the sender's view index */
    ckv_version_list versions;
} ckv_wire_push;

/* Writes the versions items[0..count) after m's epoch and from, stopping once the buffer
 * passes CKV_BATCH_SOFT_BYTES (the first always goes in); items NULL: m->versions whole.
 * Returns how many versions were written. */
size_t ckv_wire_push_encode(ckv_sbuf *b, const ckv_wire_push *m, const ckv_version *const *items,
                            size_t count);
int ckv_wire_push_decode(const char *body, size_t len, uint64_t epoch, uint32_t n,
                         ckv_wire_push *out);
/* The same by jansson alone. ckv_wire_push_decode reads the pushes nodes write with
 * json_scan.h's one-pass reader and falls back to this for any other shape; tests compare
 * the two. */
int ckv_wire_push_decode_json(const char *body, size_t len, uint64_t epoch, uint32_t n,
                              ckv_wire_push *out);

/* {"epoch":E,"clock":[...]} — the receiver's clock after the push. */
typedef struct ckv_wire_push_reply {
    uint64_t epoch;
    ckv_vclock clock;
} ckv_wire_push_reply;

void ckv_wire_push_reply_encode(ckv_sbuf *b, const ckv_wire_push_reply *m);
int ckv_wire_push_reply_decode(const char *body, size_t len, uint64_t epoch, uint32_t n,
                               ckv_wire_push_reply *out);

/* ---- replication: anti-entropy (POST /internal/sync) --------------------------------- */

/* {"epoch":E,"from":F,"cursor":C,"gen":G,"clock":[...]} plus ,"want-base":1 when
 * want_base. Decoding: "want-base" absent, not a non-negative integer, or 0 is false;
 * any other value true. */
typedef struct ckv_wire_sync {
    uint64_t epoch;
    uint64_t from;
    uint64_t cursor; /* where the answer resumes; 0: from the start */
    uint64_t gen;    /* store generation the cursor belongs to */
    ckv_vclock clock;
    bool want_base; /* the asker lacks the state its epoch began with */
} ckv_wire_sync;

void ckv_wire_sync_encode(ckv_sbuf *b, const ckv_wire_sync *m);
int ckv_wire_sync_decode(const char *body, size_t len, uint64_t epoch, uint32_t n,
                         ckv_wire_sync *out);

/* {"versions":[...],"epoch":E,"cursor":C,"gen":G,"restart":0|1,"clock":[...]}.
 * Decoding: "restart" absent (or not a non-negative integer) is false, nonzero true. */
typedef struct ckv_wire_sync_reply {
    ckv_version_list versions;
    uint64_t epoch;
    uint64_t cursor; /* 0: the last chunk */
    uint64_t gen;
    bool restart; /* the store was rebuilt: the asker's cursor was dropped */
    ckv_vclock clock;
} ckv_wire_sync_reply;

size_t ckv_wire_sync_reply_encode(ckv_sbuf *b, const ckv_wire_sync_reply *m,
                                  const ckv_wire_chunk *chunk);
int ckv_wire_sync_reply_decode(const char *body, size_t len, uint64_t epoch, uint32_t n,
                               ckv_wire_sync_reply *out);

/* {"message":"Error in POST","error":"Stale epoch","epoch":E,"repl-factor":R,
 *  "view":[...],"causal-context":{}} — the 409 answer to a push or sync of an older epoch:
 * the view in force. Decoding reads epoch, view and repl-factor only. */
typedef struct ckv_wire_stale_epoch {
    ckv_shard_map map;
} ckv_wire_stale_epoch;

void ckv_wire_stale_epoch_encode(ckv_sbuf *b, const ckv_wire_stale_epoch *m);
int ckv_wire_stale_epoch_decode(const char *body, size_t len, ckv_wire_stale_epoch *out);

/* The "error" string of an error reply ({"message":...,"error":"...",...}); decode only
 * (http_api's ckv_reply_error writes them). Cut to fit, NUL-terminated; CKV_ERROR when the
 * body is not an object with a string "error". */
#define CKV_WIRE_ERROR_MAX 256
typedef struct ckv_wire_error {
    char error[CKV_WIRE_ERROR_MAX];
} ckv_wire_error;

int ckv_wire_error_decode(const char *body, size_t len, ckv_wire_error *out);

/* ---- membership (POST /internal/view): question and answer have one shape ------------ */

/* {"epoch":E,"repl-factor":R,"view":[...],"confirmed":true|false}. Decoding: "confirmed"
 * is true only when it is JSON true (absent or another type: false). */
typedef struct ckv_wire_view {
    ckv_shard_map map;
    bool confirmed;
} ckv_wire_view;

void ckv_wire_view_encode(ckv_sbuf *b, const ckv_wire_view *m);
int ckv_wire_view_decode(const char *body, size_t len, ckv_wire_view *out);

/* ---- view change (POST /internal/view/<op>) ------------------------------------------ */

/* Every view-change message carries the change's "id"; 0 means none and is refused. */

/* {"id":I,"epoch":E,"repl-factor":R,"view":[...],"old-view":[...],"deadline":D}.
 * "deadline" (wall-clock ms after which the prepare is refused) is optional: absent (or
 * not a non-negative integer) is UINT64_MAX, and UINT64_MAX is encoded by leaving it out.
 * "old-view" is any valid list of members (it has no repl-factor of its own). On
 * CKV_ERROR err says why ("bad prepare message", or what is wrong with the old view). */
typedef struct ckv_wire_prepare {
    uint64_t id;
    ckv_shard_map map; /* the new view, its repl-factor and epoch */
    ckv_view old_view;
    uint64_t deadline;
} ckv_wire_prepare;

void ckv_wire_prepare_encode(ckv_sbuf *b, const ckv_wire_prepare *m);
int ckv_wire_prepare_decode(const char *body, size_t len, ckv_wire_prepare *out, char *err,
                            size_t errlen);

/* {"epoch":E} — the participant's epoch, it is prepared. */
typedef struct ckv_wire_prepare_reply {
    uint64_t epoch;
} ckv_wire_prepare_reply;

void ckv_wire_prepare_reply_encode(ckv_sbuf *b, const ckv_wire_prepare_reply *m);
int ckv_wire_prepare_reply_decode(const char *body, size_t len, ckv_wire_prepare_reply *out);

/* {"id":I,"cursor":C,"gen":G} — the next chunk of everything the participant holds. */
typedef struct ckv_wire_collect {
    uint64_t id;
    uint64_t cursor;
    uint64_t gen;
} ckv_wire_collect;

void ckv_wire_collect_encode(ckv_sbuf *b, const ckv_wire_collect *m);
int ckv_wire_collect_decode(const char *body, size_t len, ckv_wire_collect *out);

/* {"versions":[...],"cursor":C,"gen":G} — versions of a view of n members (the old one). */
typedef struct ckv_wire_collect_reply {
    ckv_version_list versions;
    uint64_t cursor; /* 0: the last chunk */
    uint64_t gen;
} ckv_wire_collect_reply;

size_t ckv_wire_collect_reply_encode(ckv_sbuf *b, const ckv_wire_collect_reply *m,
                                     const ckv_wire_chunk *chunk);
int ckv_wire_collect_reply_decode(const char *body, size_t len, uint32_t n,
                                  ckv_wire_collect_reply *out);

/* {"id":I,"versions":[...],"last":true|false} — base state for the new view (n members);
 * "versions" may be empty (a shard without keys). */
typedef struct ckv_wire_install {
    uint64_t id;
    ckv_version_list versions;
    bool last;
} ckv_wire_install;

size_t ckv_wire_install_encode(ckv_sbuf *b, const ckv_wire_install *m, const ckv_wire_chunk *chunk);
int ckv_wire_install_decode(const char *body, size_t len, uint32_t n, ckv_wire_install *out);

/* {"staged":N} — live keys staged so far. */
typedef struct ckv_wire_install_reply {
    uint64_t staged;
} ckv_wire_install_reply;

void ckv_wire_install_reply_encode(ckv_sbuf *b, const ckv_wire_install_reply *m);
int ckv_wire_install_reply_decode(const char *body, size_t len, ckv_wire_install_reply *out);

/* {"id":I} */
typedef struct ckv_wire_commit {
    uint64_t id;
} ckv_wire_commit;

void ckv_wire_commit_encode(ckv_sbuf *b, const ckv_wire_commit *m);
int ckv_wire_commit_decode(const char *body, size_t len, ckv_wire_commit *out);

/* {"key-count":K,"epoch":E}. "key-count" is optional: absent (or not a non-negative
 * integer) decodes as -1, and a negative key_count is encoded by leaving it out. */
typedef struct ckv_wire_commit_reply {
    int64_t key_count; /* live keys after the commit (0 on a node removed from the view) */
    uint64_t epoch;
} ckv_wire_commit_reply;

void ckv_wire_commit_reply_encode(ckv_sbuf *b, const ckv_wire_commit_reply *m);
int ckv_wire_commit_reply_decode(const char *body, size_t len, ckv_wire_commit_reply *out);

/* {"id":I} */
typedef struct ckv_wire_abort {
    uint64_t id;
} ckv_wire_abort;

void ckv_wire_abort_encode(ckv_sbuf *b, const ckv_wire_abort *m);
int ckv_wire_abort_decode(const char *body, size_t len, ckv_wire_abort *out);

/* {"aborted":true} ("aborted" must be a boolean). */
typedef struct ckv_wire_abort_reply {
    bool aborted;
} ckv_wire_abort_reply;

void ckv_wire_abort_reply_encode(ckv_sbuf *b, const ckv_wire_abort_reply *m);
int ckv_wire_abort_reply_decode(const char *body, size_t len, ckv_wire_abort_reply *out);

#endif
