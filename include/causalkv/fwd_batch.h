/* fwd_batch.h — the codec of a forwarding batch: many client key requests that one node
 * forwards to another in one node-to-node message, and their replies.
 *
 * A length-prefixed binary form, not JSON: a batch is built and parsed once per message
 * for every proxied request, and its items are mostly a short URI and a small JSON body
 * that would otherwise be escaped into a JSON string and unescaped again. All integers
 * are little-endian.
 *
 *   request  = "CKVB1" u32:count item*      item  = u8:method u64:deadline_ms
 *              u16:uri_len uri u8:id_len id u32:body_len body
 *   reply    = "CKVR1" u32:count answer*    answer = u16:status u32:body_len body
 *
 * Decoding never copies: the decoded items point into the caller's buffer, which must
 * outlive them. A decoder accepts exactly one well-formed message (no trailing bytes)
 * within the limits below and refuses anything else with CKV_ERROR. Plain module: no I/O. */
#ifndef CAUSALKV_FWD_BATCH_H
#define CAUSALKV_FWD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "causalkv/sbuf.h"

#define CKV_FWD_BATCH_MAX 128        /* items in one batch */
#define CKV_FWD_URI_MAX 8192         /* bytes of one item's URI */
#define CKV_FWD_ID_MAX 128           /* bytes of one item's request id */
#define CKV_FWD_BODY_MAX (16u << 20) /* bytes of one item's body or answer */

enum ckv_fwd_method { CKV_FWD_GET = 1, CKV_FWD_PUT = 2, CKV_FWD_DELETE = 3 };

typedef struct ckv_fwd_item {
    uint8_t method;       /* enum ckv_fwd_method */
    uint64_t deadline_ms; /* wall clock: the forwarder has given up after it (0: none) */
    const char *uri;      /* not NUL-terminated */
    uint32_t uri_len;
    const char *id; /* X-Request-Id to log and echo; id_len 0: none */
    uint32_t id_len;
    const char *body;
    uint32_t body_len;
} ckv_fwd_item;

typedef struct ckv_fwd_answer {
    uint16_t status; /* an HTTP status; 0: the item was not run */
    const char *body;
    uint32_t body_len;
} ckv_fwd_answer;

/* Appends a request batch of count items (1..CKV_FWD_BATCH_MAX, each within the limits)
 * to out. CKV_ERROR (out unchanged) when an item or the count is out of bounds (a method
 * outside 1..3, a length over its limit, a NULL pointer with a nonzero length); an
 * allocation failure marks out failed (sbuf.h), drops the partial batch and returns
 * CKV_NOMEM, as does an out that was already failed. */
int ckv_fwd_encode_request(ckv_sbuf *out, const ckv_fwd_item *items, uint32_t count);
/* Decodes a request batch into items[0..*count) (max entries available: a batch of more
 * items than max is refused). On CKV_ERROR *count is 0 and items[0..max) may have been
 * partly written. */
int ckv_fwd_decode_request(const char *buf, size_t len, ckv_fwd_item *items, uint32_t max,
                           uint32_t *count);

/* The same for the replies: answers[i] answers the request's item i. A status is 0 or
 * 100..599; the encoder refuses, and the decoder rejects, any other. */
int ckv_fwd_encode_reply(ckv_sbuf *out, const ckv_fwd_answer *answers, uint32_t count);
int ckv_fwd_decode_reply(const char *buf, size_t len, ckv_fwd_answer *answers, uint32_t max,
                         uint32_t *count);

#endif
