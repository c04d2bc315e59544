/* fuzz_journal.c — libFuzzer target: journal and snapshot frames (journal_codec).
 *
 * The input is the frames of a log segment or snapshot (without the file's magic),
 * decoded one after the other as the replay on restart does, until a frame is refused.
 * It is then also taken as one body and framed with its correct CRC, so that mutations
 * reach the field parsers without having to solve the CRC first.
 *
 * Invariants (abort on violation):
 *  - a refused frame leaves used == 0 and no version; SHORT only when the input ends
 *    inside the header or before header + len, BAD_CRC only for a complete frame whose
 *    stored CRC differs from the body's, and neither for a len over CKV_JREC_MAX_BODY;
 *  - an accepted frame uses 8 + len bytes, all of them inside the input;
 *  - the encoder takes back every record the decoder accepted (it refuses only what the
 *    decoder would refuse), the new frame decodes to an equal record, and encoding that
 *    one again gives the same bytes; for a VERSION, ckv_jrec_put_version and ckv_jrec_put
 *    write the same bytes;
 *  - no leak: every decoded version is unreferenced (LeakSanitizer). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "causalkv/crc32c.h"
#include "causalkv/journal_codec.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool deps_equal(const ckv_deps *a, const ckv_deps *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return a->n == b->n && memcmp(a->c, b->c, a->n * sizeof(a->c[0])) == 0;
}

static bool versions_equal(const ckv_version *a, const ckv_version *b)
{
    return a->key_len == b->key_len && a->value_len == b->value_len &&
           a->tombstone == b->tombstone && a->origin == b->origin && a->seq == b->seq &&
           a->lamport == b->lamport && deps_equal(a->deps, b->deps) &&
           memcmp(a->data, b->data, (size_t)a->key_len + a->value_len) == 0;
}

static bool records_equal(const ckv_jrec *a, const ckv_jrec *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case CKV_JREC_VERSION:
        return a->advances == b->advances && versions_equal(a->version, b->version);
    case CKV_JREC_CLOCK:
        return a->clock.n == b->clock.n && memcmp(a->clock.c, b->clock.c, sizeof(a->clock.c)) == 0;
    case CKV_JREC_EPOCH:
        return a->map.epoch == b->map.epoch && a->map.rf == b->map.rf &&
               a->map.shards == b->map.shards && ckv_view_equal(&a->map.view, &b->map.view) &&
               a->base_lamport == b->base_lamport && a->has_base == b->has_base;
    case CKV_JREC_BASE_HELD:
        return true;
    case CKV_JREC_SNAPSHOT:
        return a->next_segment == b->next_segment && a->lamport == b->lamport;
    case CKV_JREC_END:
        return a->count == b->count;
    }
    return false;
}

/* What a refusal of the frame at p[0..avail) is allowed to be. */
static void check_refusal(const uint8_t *p, size_t avail, ckv_jrec_status st, const ckv_jrec *r,
                          size_t used)
{
    CHECK(used == 0 && r->version == NULL);
    CHECK(st != CKV_JREC_OK);
    if (avail < 4) {
        CHECK(st == CKV_JREC_SHORT);
        return;
    }
    uint32_t len = le32(p);
    if (len == 0 || len > CKV_JREC_MAX_BODY) {
        CHECK(st == CKV_JREC_BAD);
        return;
    }
    bool whole = avail >= CKV_JREC_HEADER && avail - CKV_JREC_HEADER >= len;
    CHECK((st == CKV_JREC_SHORT) == !whole);
    if (whole)
        CHECK((st == CKV_JREC_BAD_CRC) == (ckv_crc32c(0, p + CKV_JREC_HEADER, len) != le32(p + 4)));
}

/* Encodes r into a fresh buffer; the caller frees it. */
static ckv_sbuf encode(const ckv_jrec *r)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    CHECK(ckv_jrec_put(&b, r) == CKV_OK);
    return b;
}

/* Re-encodes an accepted record and checks the round trip. */
static void check_round_trip(const ckv_jrec *r)
{
    ckv_sbuf first = encode(r);
    if (r->type == CKV_JREC_VERSION) {
        ckv_sbuf direct;
        ckv_sbuf_init(&direct);
        CHECK(ckv_jrec_put_version(&direct, r->version, r->advances) == CKV_OK);
        CHECK(direct.len == first.len && memcmp(direct.data, first.data, first.len) == 0);
        ckv_sbuf_free(&direct);
    }
    ckv_jrec again;
    size_t used;
    CHECK(ckv_jrec_decode(first.data, first.len, &again, &used) == CKV_JREC_OK);
    CHECK(used == first.len);
    CHECK(records_equal(r, &again));
    ckv_sbuf second = encode(&again);
    CHECK(second.len == first.len && memcmp(second.data, first.data, first.len) == 0);
    ckv_version_unref(again.version);
    ckv_sbuf_free(&first);
    ckv_sbuf_free(&second);
}

/* Decodes frames from data until one is refused; checks each. */
static void decode_frames(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        const uint8_t *p = data + off;
        size_t avail = size - off;
        ckv_jrec r;
        size_t used = 12345;
        ckv_jrec_status st = ckv_jrec_decode((const char *)p, avail, &r, &used);
        if (st == CKV_JREC_NOMEM)
            break; /* not an invariant: the allocator said no */
        if (st != CKV_JREC_OK) {
            check_refusal(p, avail, st, &r, used);
            break;
        }
        CHECK(used > CKV_JREC_HEADER && used <= avail);
        CHECK(used == CKV_JREC_HEADER + (size_t)le32(p));
        CHECK((r.type == CKV_JREC_VERSION) == (r.version != NULL));
        check_round_trip(&r);
        ckv_version_unref(r.version);
        off += used;
    }
}

static void decode_as_body(const uint8_t *data, size_t size)
{
    if (size == 0 || size > CKV_JREC_MAX_BODY)
        return;
    uint8_t *frame = malloc(CKV_JREC_HEADER + size); /* exact size: overreads are reported */
    if (frame == NULL)
        return;
    uint32_t len = (uint32_t)size, crc = ckv_crc32c(0, data, size);
    for (int i = 0; i < 4; i++) {
        frame[i] = (uint8_t)(len >> (8 * i));
        frame[4 + i] = (uint8_t)(crc >> (8 * i));
    }
    memcpy(frame + CKV_JREC_HEADER, data, size);
    ckv_jrec r;
    size_t used;
    ckv_jrec_status st = ckv_jrec_decode((const char *)frame, CKV_JREC_HEADER + size, &r, &used);
    CHECK(st == CKV_JREC_OK || st == CKV_JREC_BAD || st == CKV_JREC_NOMEM);
    if (st == CKV_JREC_OK) {
        CHECK(used == CKV_JREC_HEADER + size);
        check_round_trip(&r);
        ckv_version_unref(r.version);
    } else {
        CHECK(used == 0 && r.version == NULL);
    }
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_frames(data, size);
    decode_as_body(data, size);
    return 0;
}
