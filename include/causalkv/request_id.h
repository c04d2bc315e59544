/* request_id.h — X-Request-Id: which ids a client may send, and cheap ids of our own.
 *
 * A client's id is accepted when it is 1..CKV_REQUEST_ID_MAX bytes of letters, digits and
 * "-_.:/+=" (UUIDs, hex and base64 trace ids fit); anything else is replaced by an id of
 * the node's, never echoed (it would go into reply headers and logs). A node's own ids
 * are "<prefix>-<counter>": the prefix (8 hex digits) is drawn once at start from the
 * caller's seed, the counter counts up, so making one costs no system call. */
#ifndef CAUSALKV_REQUEST_ID_H
#define CAUSALKV_REQUEST_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CKV_REQUEST_ID_HEADER "X-Request-Id"
#define CKV_REQUEST_ID_MAX 64 /* bytes of an accepted id */
#define CKV_REQUEST_ID_PREFIX_LEN 8

typedef struct ckv_request_ids {
    char prefix[CKV_REQUEST_ID_PREFIX_LEN + 1];
    uint64_t next;
} ckv_request_ids;

/* True when s[0..len) may be used as a request id. */
bool ckv_request_id_valid(const char *s, size_t len);

/* A prefix from seed (e.g. the address, start time and pid mixed), counter at 1. */
void ckv_request_ids_init(ckv_request_ids *g, uint64_t seed);

/* Writes the next id with its NUL to out; returns its length (< CKV_REQUEST_ID_MAX). */
size_t ckv_request_id_next(ckv_request_ids *g, char out[CKV_REQUEST_ID_MAX + 1]);

#endif
