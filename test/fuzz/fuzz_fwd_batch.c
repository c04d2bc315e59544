/* fuzz_fwd_batch.c — libFuzzer target: a forwarding batch and its reply (fwd_batch).
 *
 * The input is one message, given to both decoders (its magic says which one may take
 * it, so at most one does).
 *
 * Invariants (abort on violation):
 *  - a refusal leaves *count == 0; at most one of the two decoders accepts;
 *  - an accepted message has 1..CKV_FWD_BATCH_MAX items, every field within its limit,
 *    every pointer inside the input;
 *  - the encoder takes back every batch the decoder accepted and writes exactly the
 *    input's bytes again (one encoding per batch: nothing in the format is optional);
 *  - with room for one item fewer than the batch has, the decoder refuses it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "causalkv/fwd_batch.h"

static ckv_fwd_item items[CKV_FWD_BATCH_MAX];
static ckv_fwd_answer answers[CKV_FWD_BATCH_MAX];

static int inside(const char *p, uint32_t len, const uint8_t *data, size_t size)
{
    return (const uint8_t *)p >= data && (size_t)((const uint8_t *)p - data) <= size &&
           len <= size - (size_t)((const uint8_t *)p - data);
}

static void check_same_bytes(const ckv_sbuf *b, const uint8_t *data, size_t size)
{
    CHECK(!ckv_sbuf_failed(b));
    CHECK(b->len == size);
    CHECK(memcmp(b->data, data, size) == 0);
}

static int request(const uint8_t *data, size_t size)
{
    uint32_t n = 12345;
    if (ckv_fwd_decode_request((const char *)data, size, items, CKV_FWD_BATCH_MAX, &n) != CKV_OK) {
        CHECK(n == 0);
        return 0;
    }
    CHECK(n >= 1 && n <= CKV_FWD_BATCH_MAX);
    for (uint32_t i = 0; i < n; i++) {
        const ckv_fwd_item *it = &items[i];
        CHECK(it->method >= CKV_FWD_GET && it->method <= CKV_FWD_DELETE);
        CHECK(it->uri_len <= CKV_FWD_URI_MAX && inside(it->uri, it->uri_len, data, size));
        CHECK(it->id_len <= CKV_FWD_ID_MAX && inside(it->id, it->id_len, data, size));
        CHECK(it->body_len <= CKV_FWD_BODY_MAX && inside(it->body, it->body_len, data, size));
    }
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    CHECK(ckv_fwd_encode_request(&b, items, n) == CKV_OK);
    check_same_bytes(&b, data, size);
    ckv_sbuf_free(&b);
    uint32_t m = 12345;
    CHECK(ckv_fwd_decode_request((const char *)data, size, items, n - 1, &m) == CKV_ERROR);
    CHECK(m == 0);
    return 1;
}

static int reply(const uint8_t *data, size_t size)
{
    uint32_t n = 12345;
    if (ckv_fwd_decode_reply((const char *)data, size, answers, CKV_FWD_BATCH_MAX, &n) != CKV_OK) {
        CHECK(n == 0);
        return 0;
    }
    CHECK(n >= 1 && n <= CKV_FWD_BATCH_MAX);
    for (uint32_t i = 0; i < n; i++) {
        const ckv_fwd_answer *a = &answers[i];
        CHECK(a->status == 0 || (a->status >= 100 && a->status <= 599));
        CHECK(a->body_len <= CKV_FWD_BODY_MAX && inside(a->body, a->body_len, data, size));
    }
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    CHECK(ckv_fwd_encode_reply(&b, answers, n) == CKV_OK);
    check_same_bytes(&b, data, size);
    ckv_sbuf_free(&b);
    uint32_t m = 12345;
    CHECK(ckv_fwd_decode_reply((const char *)data, size, answers, n - 1, &m) == CKV_ERROR);
    CHECK(m == 0);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int took = request(data, size);
    took += reply(data, size);
    CHECK(took <= 1);
    return 0;
}
