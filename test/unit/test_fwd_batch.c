/* Unit tests for fwd_batch: the exact bytes of a small request and reply, round trips
 * from one item to CKV_FWD_BATCH_MAX with every length at its limit, every truncation and
 * a trailing byte refused, each field out of bounds refused by the decoder (on messages
 * built by hand, independently of the encoder) and by the encoder, which then leaves its
 * buffer as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/common.h"
#include "causalkv/fwd_batch.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* The small request whose bytes are known: one GET of "/kv", id "ab", body "{}". */
static const unsigned char KNOWN_REQUEST[] = {
    'C', 'K', 'V', 'B', '1', 1,   0, 0, 0, /* magic, count 1 */
    1,                                     /* GET */
    8,   7,   6,   5,   4,   3,   2, 1,    /* deadline 0x0102030405060708 */
    3,   0,   '/', 'k', 'v',               /* uri */
    2,   'a', 'b',                         /* id */
    2,   0,   0,   0,   '{', '}',          /* body */
};
#define KNOWN_METHOD_AT 9
#define KNOWN_URI_LEN_AT 18
#define KNOWN_ID_LEN_AT 23
#define KNOWN_BODY_LEN_AT 26

/* The small reply whose bytes are known: 200 "{}", then an item that was not run. */
static const unsigned char KNOWN_REPLY[] = {
    'C', 'K', 'V', 'R', '1', 2, 0,   0,   0, /* magic, count 2 */
    200, 0,   2,   0,   0,   0, '{', '}',    /* 200, "{}" */
    0,   0,   0,   0,   0,   0,              /* 0, empty */
};
#define KNOWN_STATUS_AT 9

static ckv_fwd_item item(uint8_t method, uint64_t deadline, const char *uri, const char *id,
                         const char *body)
{
    return (ckv_fwd_item){.method = method,
                          .deadline_ms = deadline,
                          .uri = uri,
                          .uri_len = (uint32_t)strlen(uri),
                          .id = id,
                          .id_len = (uint32_t)strlen(id),
                          .body = body,
                          .body_len = (uint32_t)strlen(body)};
}

/* A copy of exactly len bytes, so that AddressSanitizer sees a read past the end. */
static char *exact_copy(const void *p, size_t len)
{
    char *c = malloc(len > 0 ? len : 1);
    assert_non_null(c);
    if (len > 0)
        memcpy(c, p, len);
    return c;
}

static int decode_request_copy(const void *p, size_t len, ckv_fwd_item *items, uint32_t max,
                               uint32_t *count)
{
    char *c = exact_copy(p, len);
    int rc = ckv_fwd_decode_request(c, len, items, max, count);
    free(c);
    return rc;
}

static int decode_reply_copy(const void *p, size_t len, ckv_fwd_answer *answers, uint32_t max,
                             uint32_t *count)
{
    char *c = exact_copy(p, len);
    int rc = ckv_fwd_decode_reply(c, len, answers, max, count);
    free(c);
    return rc;
}

static void assert_bytes(const char *p, uint32_t len, const char *q, uint32_t qlen)
{
    assert_int_equal(len, qlen);
    if (len > 0)
        assert_memory_equal(p, q, len);
}

static void assert_items_equal(const ckv_fwd_item *a, const ckv_fwd_item *b)
{
    assert_int_equal(a->method, b->method);
    assert_true(a->deadline_ms == b->deadline_ms);
    assert_bytes(a->uri, a->uri_len, b->uri, b->uri_len);
    assert_bytes(a->id, a->id_len, b->id, b->id_len);
    assert_bytes(a->body, a->body_len, b->body, b->body_len);
}

/* Encodes items, decodes them back into equal items that point into the buffer, and
 * checks that the encoding is the same the second time. */
static void round_trip_request(const ckv_fwd_item *items, uint32_t count)
{
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_fwd_encode_request(&sb, items, count), CKV_OK);
    static ckv_fwd_item got[CKV_FWD_BATCH_MAX];
    uint32_t n = 0;
    assert_int_equal(ckv_fwd_decode_request(sb.data, sb.len, got, CKV_FWD_BATCH_MAX, &n), CKV_OK);
    assert_int_equal(n, count);
    for (uint32_t i = 0; i < n; i++) {
        assert_items_equal(&items[i], &got[i]);
        assert_true(got[i].uri >= sb.data && got[i].uri + got[i].uri_len <= sb.data + sb.len);
        assert_true(got[i].body >= sb.data && got[i].body + got[i].body_len <= sb.data + sb.len);
    }
    /* Exactly count entries of room is enough. */
    assert_int_equal(ckv_fwd_decode_request(sb.data, sb.len, got, count, &n), CKV_OK);
    ckv_sbuf again;
    ckv_sbuf_init(&again);
    assert_int_equal(ckv_fwd_encode_request(&again, got, n), CKV_OK);
    assert_int_equal(again.len, sb.len);
    assert_memory_equal(again.data, sb.data, sb.len);
    ckv_sbuf_free(&again);
    ckv_sbuf_free(&sb);
}

static void round_trip_reply(const ckv_fwd_answer *answers, uint32_t count)
{
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_fwd_encode_reply(&sb, answers, count), CKV_OK);
    static ckv_fwd_answer got[CKV_FWD_BATCH_MAX];
    uint32_t n = 0;
    assert_int_equal(ckv_fwd_decode_reply(sb.data, sb.len, got, CKV_FWD_BATCH_MAX, &n), CKV_OK);
    assert_int_equal(n, count);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(got[i].status, answers[i].status);
        assert_bytes(got[i].body, got[i].body_len, answers[i].body, answers[i].body_len);
    }
    ckv_sbuf_free(&sb);
}

/* Raw wire fields, written without the encoder, so that over-limit values can be sent. */
static void raw_head(ckv_sbuf *b, const char *magic, uint32_t count)
{
    ckv_sbuf_add(b, magic, 5);
    unsigned char c[4] = {(unsigned char)count, (unsigned char)(count >> 8),
                          (unsigned char)(count >> 16), (unsigned char)(count >> 24)};
    ckv_sbuf_add(b, c, 4);
}

static void raw_le(ckv_sbuf *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        ckv_sbuf_addc(b, (char)(v >> (8 * i)));
}

/* An item with the given lengths, its bytes filled with 'x'. */
static void raw_item(ckv_sbuf *b, uint8_t method, uint16_t uri_len, uint8_t id_len,
                     uint32_t body_len)
{
    raw_le(b, method, 1);
    raw_le(b, 42, 8);
    raw_le(b, uri_len, 2);
    for (uint32_t i = 0; i < uri_len; i++)
        ckv_sbuf_addc(b, 'x');
    raw_le(b, id_len, 1);
    for (uint32_t i = 0; i < id_len; i++)
        ckv_sbuf_addc(b, 'x');
    raw_le(b, body_len, 4);
    char *body = malloc(body_len > 0 ? body_len : 1);
    assert_non_null(body);
    memset(body, 'x', body_len);
    ckv_sbuf_add(b, body, body_len);
    free(body);
}

static int decode_raw_request(const ckv_sbuf *b)
{
    static ckv_fwd_item got[CKV_FWD_BATCH_MAX];
    uint32_t n = 99;
    assert_false(ckv_sbuf_failed(b));
    int rc = decode_request_copy(b->data, b->len, got, CKV_FWD_BATCH_MAX, &n);
    if (rc != CKV_OK)
        assert_int_equal(n, 0);
    return rc;
}

/* A one-item request with these lengths. */
static int decode_one_raw(uint8_t method, uint16_t uri_len, uint8_t id_len, uint32_t body_len)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    raw_head(&b, "CKVB1", 1);
    raw_item(&b, method, uri_len, id_len, body_len);
    int rc = decode_raw_request(&b);
    ckv_sbuf_free(&b);
    return rc;
}

/* ---- exact bytes -------------------------------------------------------------------- */

static void test_known_request_bytes(void **state)
{
    (void)state;
    ckv_fwd_item it = item(CKV_FWD_GET, 0x0102030405060708ull, "/kv", "ab", "{}");
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_fwd_encode_request(&sb, &it, 1), CKV_OK);
    assert_int_equal(sb.len, sizeof(KNOWN_REQUEST));
    assert_memory_equal(sb.data, KNOWN_REQUEST, sizeof(KNOWN_REQUEST));
    ckv_sbuf_free(&sb);

    ckv_fwd_item got[2];
    uint32_t n = 0;
    assert_int_equal(decode_request_copy(KNOWN_REQUEST, sizeof(KNOWN_REQUEST), got, 2, &n), CKV_OK);
    assert_int_equal(n, 1);
    assert_items_equal(&got[0], &it);
}

static void test_known_reply_bytes(void **state)
{
    (void)state;
    ckv_fwd_answer a[2] = {{.status = 200, .body = "{}", .body_len = 2},
                           {.status = 0, .body = NULL, .body_len = 0}};
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_fwd_encode_reply(&sb, a, 2), CKV_OK);
    assert_int_equal(sb.len, sizeof(KNOWN_REPLY));
    assert_memory_equal(sb.data, KNOWN_REPLY, sizeof(KNOWN_REPLY));
    ckv_sbuf_free(&sb);

    ckv_fwd_answer got[2];
    uint32_t n = 0;
    assert_int_equal(decode_reply_copy(KNOWN_REPLY, sizeof(KNOWN_REPLY), got, 2, &n), CKV_OK);
    assert_int_equal(n, 2);
    assert_int_equal(got[0].status, 200);
    assert_bytes(got[0].body, got[0].body_len, "{}", 2);
    assert_int_equal(got[1].status, 0);
    assert_int_equal(got[1].body_len, 0);
}

/* The batch is appended: what out held before is kept. */
static void test_encode_appends(void **state)
{
    (void)state;
    ckv_fwd_item it = item(CKV_FWD_GET, 0x0102030405060708ull, "/kv", "ab", "{}");
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_sbuf_adds(&sb, "prefix");
    assert_int_equal(ckv_fwd_encode_request(&sb, &it, 1), CKV_OK);
    assert_int_equal(sb.len, 6 + sizeof(KNOWN_REQUEST));
    assert_memory_equal(sb.data, "prefix", 6);
    assert_memory_equal(sb.data + 6, KNOWN_REQUEST, sizeof(KNOWN_REQUEST));
    ckv_sbuf_free(&sb);
}

/* ---- round trips -------------------------------------------------------------------- */

static void test_round_trip_one_item(void **state)
{
    (void)state;
    ckv_fwd_item it = item(CKV_FWD_PUT, 1764000000000ull, "/kv-store/keys/key000123",
                           "0123456789abcdef", "{\"value\":\"v\",\"causal-context\":{}}");
    round_trip_request(&it, 1);
    ckv_fwd_answer a = {.status = 201, .body = "{\"result\":\"created\"}", .body_len = 20};
    round_trip_reply(&a, 1);
}

static void test_round_trip_empty_fields(void **state)
{
    (void)state;
    ckv_fwd_item items[3] = {
        item(CKV_FWD_GET, 0, "/kv-store/keys/a", "", ""),               /* empty id and body */
        item(CKV_FWD_DELETE, UINT64_MAX, "", "id", "{}"),               /* empty uri */
        {.method = CKV_FWD_PUT, .uri = NULL, .id = NULL, .body = NULL}, /* NULL and empty */
    };
    round_trip_request(items, 3);
    ckv_fwd_answer a[3] = {
        {.status = 0}, {.status = 100}, {.status = 599, .body = "", .body_len = 0}};
    round_trip_reply(a, 3);
}

static void test_round_trip_max_items_and_lengths(void **state)
{
    (void)state;
    static char uri[CKV_FWD_URI_MAX], id[CKV_FWD_ID_MAX];
    memset(uri, 'u', sizeof(uri));
    memset(id, 'i', sizeof(id));
    static ckv_fwd_item items[CKV_FWD_BATCH_MAX];
    static ckv_fwd_answer answers[CKV_FWD_BATCH_MAX];
    static char bodies[CKV_FWD_BATCH_MAX][8];
    for (uint32_t i = 0; i < CKV_FWD_BATCH_MAX; i++) {
        int len = snprintf(bodies[i], sizeof(bodies[i]), "b%u", i);
        items[i] = (ckv_fwd_item){.method = (uint8_t)(1 + i % 3),
                                  .deadline_ms = (uint64_t)i << 40 | i,
                                  .uri = uri,
                                  .uri_len = CKV_FWD_URI_MAX - i % 2,
                                  .id = id,
                                  .id_len = CKV_FWD_ID_MAX - i % 2,
                                  .body = bodies[i],
                                  .body_len = (uint32_t)len};
        answers[i] = (ckv_fwd_answer){
            .status = (uint16_t)(100 + i * 3), .body = bodies[i], .body_len = (uint32_t)len};
    }
    round_trip_request(items, CKV_FWD_BATCH_MAX);
    round_trip_reply(answers, CKV_FWD_BATCH_MAX);
}

/* One body of exactly CKV_FWD_BODY_MAX bytes, in a request and in a reply. */
static void test_round_trip_max_body(void **state)
{
    (void)state;
    char *body = malloc(CKV_FWD_BODY_MAX);
    assert_non_null(body);
    for (uint32_t i = 0; i < CKV_FWD_BODY_MAX; i++)
        body[i] = (char)(i * 7);
    ckv_fwd_item it = item(CKV_FWD_PUT, 1, "/k", "r", "");
    it.body = body;
    it.body_len = CKV_FWD_BODY_MAX;
    round_trip_request(&it, 1);
    ckv_fwd_answer a = {.status = 200, .body = body, .body_len = CKV_FWD_BODY_MAX};
    round_trip_reply(&a, 1);
    free(body);
}

/* ---- refusals of the decoders ------------------------------------------------------- */

static void test_every_truncation_refused(void **state)
{
    (void)state;
    ckv_fwd_item items[2];
    ckv_fwd_answer answers[2];
    uint32_t n;
    for (size_t len = 0; len < sizeof(KNOWN_REQUEST); len++) {
        n = 99;
        assert_int_equal(decode_request_copy(KNOWN_REQUEST, len, items, 2, &n), CKV_ERROR);
        assert_int_equal(n, 0);
    }
    for (size_t len = 0; len < sizeof(KNOWN_REPLY); len++) {
        n = 99;
        assert_int_equal(decode_reply_copy(KNOWN_REPLY, len, answers, 2, &n), CKV_ERROR);
        assert_int_equal(n, 0);
    }
    /* The same for a batch of several items with every field nonempty. */
    ckv_fwd_item many[4] = {item(1, 5, "/kv-store/keys/a", "id-1", "{}"),
                            item(2, 6, "/kv-store/keys/b", "id-2", "{\"value\":\"x\"}"),
                            item(3, 7, "/kv-store/keys/c", "", "{}"), item(1, 8, "/", "z", "")};
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_fwd_encode_request(&sb, many, 4), CKV_OK);
    for (size_t len = 0; len < sb.len; len++)
        assert_int_equal(decode_request_copy(sb.data, len, many, 4, &n), CKV_ERROR);
    ckv_sbuf_free(&sb);
}

static void test_trailing_byte_refused(void **state)
{
    (void)state;
    unsigned char buf[sizeof(KNOWN_REQUEST) + 1];
    memcpy(buf, KNOWN_REQUEST, sizeof(KNOWN_REQUEST));
    buf[sizeof(KNOWN_REQUEST)] = 0;
    ckv_fwd_item items[2];
    uint32_t n = 99;
    assert_int_equal(decode_request_copy(buf, sizeof(buf), items, 2, &n), CKV_ERROR);
    assert_int_equal(n, 0);

    unsigned char rbuf[sizeof(KNOWN_REPLY) + 1];
    memcpy(rbuf, KNOWN_REPLY, sizeof(KNOWN_REPLY));
    rbuf[sizeof(KNOWN_REPLY)] = 0;
    ckv_fwd_answer answers[2];
    assert_int_equal(decode_reply_copy(rbuf, sizeof(rbuf), answers, 2, &n), CKV_ERROR);
    /* Two messages back to back are not one. */
    unsigned char two[2 * sizeof(KNOWN_REPLY)];
    memcpy(two, KNOWN_REPLY, sizeof(KNOWN_REPLY));
    memcpy(two + sizeof(KNOWN_REPLY), KNOWN_REPLY, sizeof(KNOWN_REPLY));
    assert_int_equal(decode_reply_copy(two, sizeof(two), answers, 2, &n), CKV_ERROR);
}

/* KNOWN_REQUEST with byte at set to v. */
static int decode_patched_request(size_t at, unsigned char v, uint32_t max)
{
    unsigned char buf[sizeof(KNOWN_REQUEST)];
    memcpy(buf, KNOWN_REQUEST, sizeof(buf));
    buf[at] = v;
    ckv_fwd_item items[2];
    uint32_t n = 99;
    int rc = decode_request_copy(buf, sizeof(buf), items, max, &n);
    if (rc != CKV_OK)
        assert_int_equal(n, 0);
    return rc;
}

static int decode_patched_reply(size_t at, unsigned char v)
{
    unsigned char buf[sizeof(KNOWN_REPLY)];
    memcpy(buf, KNOWN_REPLY, sizeof(buf));
    buf[at] = v;
    ckv_fwd_answer answers[2];
    uint32_t n = 99;
    int rc = decode_reply_copy(buf, sizeof(buf), answers, 2, &n);
    if (rc != CKV_OK)
        assert_int_equal(n, 0);
    return rc;
}

static void test_bad_fields_refused(void **state)
{
    (void)state;
    /* Magic: every byte matters, and a reply is not a request nor the other way round. */
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(decode_patched_request(i, KNOWN_REQUEST[i] ^ 0x20, 2), CKV_ERROR);
        assert_int_equal(decode_patched_reply(i, KNOWN_REPLY[i] ^ 0x20), CKV_ERROR);
    }
    assert_int_equal(decode_patched_request(3, 'R', 2), CKV_ERROR);
    assert_int_equal(decode_patched_reply(3, 'B'), CKV_ERROR);
    /* Count: 0, more than the caller's room, or a count that does not match the items. */
    assert_int_equal(decode_patched_request(5, 0, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(5, 1, 0), CKV_ERROR);
    assert_int_equal(decode_patched_request(5, 2, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(8, 0x80, 2), CKV_ERROR); /* 2^31 + 1 */
    assert_int_equal(decode_patched_reply(5, 0), CKV_ERROR);
    assert_int_equal(decode_patched_reply(5, 1), CKV_ERROR);
    assert_int_equal(decode_patched_reply(5, 3), CKV_ERROR);
    ckv_fwd_answer answers[2];
    uint32_t n;
    assert_int_equal(decode_reply_copy(KNOWN_REPLY, sizeof(KNOWN_REPLY), answers, 1, &n),
                     CKV_ERROR);
    /* Method: 1..3 only. */
    assert_int_equal(decode_patched_request(KNOWN_METHOD_AT, 0, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_METHOD_AT, 4, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_METHOD_AT, 0xff, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_METHOD_AT, 2, 2), CKV_OK);
    assert_int_equal(decode_patched_request(KNOWN_METHOD_AT, 3, 2), CKV_OK);
    /* Lengths that step past the end, or short so that the rest does not parse. */
    assert_int_equal(decode_patched_request(KNOWN_URI_LEN_AT, 4, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_URI_LEN_AT, 2, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_URI_LEN_AT + 1, 0xff, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_ID_LEN_AT, 3, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_ID_LEN_AT, 0xff, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_BODY_LEN_AT, 3, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_BODY_LEN_AT, 1, 2), CKV_ERROR);
    assert_int_equal(decode_patched_request(KNOWN_BODY_LEN_AT + 3, 0xff, 2), CKV_ERROR);
    assert_int_equal(decode_patched_reply(KNOWN_STATUS_AT + 2, 3), CKV_ERROR);
    assert_int_equal(decode_patched_reply(KNOWN_STATUS_AT + 5, 0xff), CKV_ERROR);
    /* Status: 0 or 100..599. */
    assert_int_equal(decode_patched_reply(KNOWN_STATUS_AT, 1), CKV_ERROR);
    assert_int_equal(decode_patched_reply(KNOWN_STATUS_AT, 99), CKV_ERROR);
    assert_int_equal(decode_patched_reply(KNOWN_STATUS_AT, 100), CKV_OK);
    assert_int_equal(decode_patched_reply(KNOWN_STATUS_AT + 1, 1), CKV_OK);    /* 456 */
    assert_int_equal(decode_patched_reply(KNOWN_STATUS_AT + 1, 2), CKV_ERROR); /* 712 */
    assert_int_equal(decode_patched_reply(KNOWN_STATUS_AT + 1, 0xff), CKV_ERROR);
    assert_int_equal(decode_patched_reply(sizeof(KNOWN_REPLY) - 6, 1), CKV_ERROR);
    /* No message at all. */
    ckv_fwd_item items[1];
    assert_int_equal(ckv_fwd_decode_request(NULL, 0, items, 1, &n), CKV_ERROR);
    assert_int_equal(ckv_fwd_decode_reply(NULL, 0, answers, 1, &n), CKV_ERROR);
}

/* Statuses 0 and 100..599 decode, every other one is refused. */
static void test_status_range(void **state)
{
    (void)state;
    for (uint32_t s = 0; s <= UINT16_MAX; s++) {
        unsigned char buf[sizeof(KNOWN_REPLY)];
        memcpy(buf, KNOWN_REPLY, sizeof(buf));
        buf[KNOWN_STATUS_AT] = (unsigned char)s;
        buf[KNOWN_STATUS_AT + 1] = (unsigned char)(s >> 8);
        ckv_fwd_answer answers[2];
        uint32_t n;
        int want = s == 0 || (s >= 100 && s <= 599) ? CKV_OK : CKV_ERROR;
        assert_int_equal(ckv_fwd_decode_reply((const char *)buf, sizeof(buf), answers, 2, &n),
                         want);
        ckv_fwd_answer a = {.status = (uint16_t)s};
        ckv_sbuf sb;
        ckv_sbuf_init(&sb);
        assert_int_equal(ckv_fwd_encode_reply(&sb, &a, 1), want);
        ckv_sbuf_free(&sb);
    }
}

/* Lengths at their limits decode, one more is refused even with all its bytes there. */
static void test_decode_limits(void **state)
{
    (void)state;
    assert_int_equal(decode_one_raw(1, CKV_FWD_URI_MAX, 0, 0), CKV_OK);
    assert_int_equal(decode_one_raw(1, CKV_FWD_URI_MAX + 1, 0, 0), CKV_ERROR);
    assert_int_equal(decode_one_raw(1, 0, CKV_FWD_ID_MAX, 0), CKV_OK);
    assert_int_equal(decode_one_raw(1, 0, CKV_FWD_ID_MAX + 1, 0), CKV_ERROR);
    assert_int_equal(decode_one_raw(1, 0, UINT8_MAX, 0), CKV_ERROR);
    assert_int_equal(decode_one_raw(2, 0, 0, CKV_FWD_BODY_MAX), CKV_OK);
    assert_int_equal(decode_one_raw(2, 0, 0, CKV_FWD_BODY_MAX + 1), CKV_ERROR);

    /* An answer's body likewise. */
    ckv_sbuf b;
    for (uint32_t len = CKV_FWD_BODY_MAX; len <= CKV_FWD_BODY_MAX + 1; len++) {
        ckv_sbuf_init(&b);
        raw_head(&b, "CKVR1", 1);
        raw_le(&b, 200, 2);
        raw_le(&b, len, 4);
        char *body = calloc(1, len);
        assert_non_null(body);
        ckv_sbuf_add(&b, body, len);
        free(body);
        ckv_fwd_answer a;
        uint32_t n;
        assert_int_equal(decode_reply_copy(b.data, b.len, &a, 1, &n),
                         len == CKV_FWD_BODY_MAX ? CKV_OK : CKV_ERROR);
        ckv_sbuf_free(&b);
    }

    /* CKV_FWD_BATCH_MAX items decode; one more is refused even with room for it. */
    for (uint32_t count = CKV_FWD_BATCH_MAX; count <= CKV_FWD_BATCH_MAX + 1; count++) {
        ckv_sbuf_init(&b);
        raw_head(&b, "CKVB1", count);
        for (uint32_t i = 0; i < count; i++)
            raw_item(&b, 1, 1, 1, 1);
        static ckv_fwd_item items[CKV_FWD_BATCH_MAX + 1];
        uint32_t n;
        assert_int_equal(decode_request_copy(b.data, b.len, items, CKV_FWD_BATCH_MAX + 1, &n),
                         count == CKV_FWD_BATCH_MAX ? CKV_OK : CKV_ERROR);
        ckv_sbuf_free(&b);
    }
    /* A huge count is refused without reading a single item. */
    ckv_sbuf_init(&b);
    raw_head(&b, "CKVB1", UINT32_MAX);
    raw_item(&b, 1, 1, 1, 1);
    assert_int_equal(decode_raw_request(&b), CKV_ERROR);
    ckv_sbuf_free(&b);
}

/* ---- refusals of the encoders ------------------------------------------------------- */

/* out holds "keep" before and after a refused encode, and is not failed. */
static void assert_request_refused(const ckv_fwd_item *items, uint32_t count)
{
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_sbuf_adds(&sb, "keep");
    assert_int_equal(ckv_fwd_encode_request(&sb, items, count), CKV_ERROR);
    assert_int_equal(sb.len, 4);
    assert_memory_equal(sb.data, "keep", 5);
    assert_false(ckv_sbuf_failed(&sb));
    ckv_sbuf_free(&sb);
    /* An empty buffer stays empty (nothing allocated). */
    ckv_sbuf_init(&sb);
    assert_int_equal(ckv_fwd_encode_request(&sb, items, count), CKV_ERROR);
    assert_int_equal(sb.len, 0);
    assert_null(sb.data);
    assert_false(ckv_sbuf_failed(&sb));
}

static void assert_reply_refused(const ckv_fwd_answer *answers, uint32_t count)
{
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    ckv_sbuf_adds(&sb, "keep");
    assert_int_equal(ckv_fwd_encode_reply(&sb, answers, count), CKV_ERROR);
    assert_int_equal(sb.len, 4);
    assert_memory_equal(sb.data, "keep", 5);
    assert_false(ckv_sbuf_failed(&sb));
    ckv_sbuf_free(&sb);
}

static void test_encode_refuses_bad_input(void **state)
{
    (void)state;
    static char big[CKV_FWD_URI_MAX + 1];
    static ckv_fwd_item items[CKV_FWD_BATCH_MAX + 1];
    for (uint32_t i = 0; i < CKV_FWD_BATCH_MAX + 1; i++)
        items[i] = item(CKV_FWD_GET, 0, "/k", "id", "{}");
    /* Counts. */
    assert_request_refused(items, 0);
    assert_request_refused(items, CKV_FWD_BATCH_MAX + 1);
    assert_request_refused(NULL, 1);
    /* A bad field in the last item: nothing of the earlier ones is appended either. */
    ckv_fwd_item *last = &items[CKV_FWD_BATCH_MAX - 1];
    const ckv_fwd_item good = *last;
    uint8_t bad_methods[] = {0, 4, 0xff};
    for (size_t i = 0; i < sizeof(bad_methods); i++) {
        last->method = bad_methods[i];
        assert_request_refused(items, CKV_FWD_BATCH_MAX);
    }
    *last = good;
    last->uri = big;
    last->uri_len = CKV_FWD_URI_MAX + 1;
    assert_request_refused(items, CKV_FWD_BATCH_MAX);
    last->uri_len = UINT32_MAX;
    assert_request_refused(items, CKV_FWD_BATCH_MAX);
    *last = good;
    last->id = big;
    last->id_len = CKV_FWD_ID_MAX + 1;
    assert_request_refused(items, CKV_FWD_BATCH_MAX);
    last->id_len = 256; /* would wrap to 0 in its u8 */
    assert_request_refused(items, CKV_FWD_BATCH_MAX);
    *last = good;
    last->body_len = CKV_FWD_BODY_MAX + 1; /* refused before any byte of body is read */
    assert_request_refused(items, CKV_FWD_BATCH_MAX);
    *last = good;
    last->body = NULL; /* NULL with a nonzero length */
    assert_request_refused(items, CKV_FWD_BATCH_MAX);
    *last = good;
    last->uri = NULL;
    assert_request_refused(items, CKV_FWD_BATCH_MAX);
    *last = good;
    last->id = NULL;
    assert_request_refused(items, CKV_FWD_BATCH_MAX);
    *last = good;

    /* At the limits the same items are taken. */
    last->uri = big;
    last->uri_len = CKV_FWD_URI_MAX;
    last->id = big;
    last->id_len = CKV_FWD_ID_MAX;
    round_trip_request(items, CKV_FWD_BATCH_MAX);

    static ckv_fwd_answer answers[CKV_FWD_BATCH_MAX + 1];
    for (uint32_t i = 0; i < CKV_FWD_BATCH_MAX + 1; i++)
        answers[i] = (ckv_fwd_answer){.status = 200, .body = "{}", .body_len = 2};
    assert_reply_refused(answers, 0);
    assert_reply_refused(answers, CKV_FWD_BATCH_MAX + 1);
    assert_reply_refused(NULL, 1);
    ckv_fwd_answer *alast = &answers[CKV_FWD_BATCH_MAX - 1];
    uint16_t bad_statuses[] = {1, 99, 600, 999, UINT16_MAX};
    for (size_t i = 0; i < sizeof(bad_statuses) / sizeof(bad_statuses[0]); i++) {
        alast->status = bad_statuses[i];
        assert_reply_refused(answers, CKV_FWD_BATCH_MAX);
    }
    alast->status = 200;
    alast->body_len = CKV_FWD_BODY_MAX + 1;
    assert_reply_refused(answers, CKV_FWD_BATCH_MAX);
    alast->body_len = 2;
    alast->body = NULL;
    assert_reply_refused(answers, CKV_FWD_BATCH_MAX);
}

/* A buffer that failed before stays failed and gets nothing; bad input is still CKV_ERROR. */
static void test_encode_into_failed_buffer(void **state)
{
    (void)state;
    ckv_fwd_item it = item(CKV_FWD_GET, 0, "/k", "", "");
    ckv_fwd_answer a = {.status = 200};
    ckv_sbuf sb;
    ckv_sbuf_init(&sb);
    sb.failed = true;
    assert_int_equal(ckv_fwd_encode_request(&sb, &it, 1), CKV_NOMEM);
    assert_int_equal(ckv_fwd_encode_reply(&sb, &a, 1), CKV_NOMEM);
    assert_int_equal(sb.len, 0);
    assert_true(ckv_sbuf_failed(&sb));
    it.method = 0;
    assert_int_equal(ckv_fwd_encode_request(&sb, &it, 1), CKV_ERROR);
    ckv_sbuf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_request_bytes),
        cmocka_unit_test(test_known_reply_bytes),
        cmocka_unit_test(test_encode_appends),
        cmocka_unit_test(test_round_trip_one_item),
        cmocka_unit_test(test_round_trip_empty_fields),
        cmocka_unit_test(test_round_trip_max_items_and_lengths),
        cmocka_unit_test(test_round_trip_max_body),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_trailing_byte_refused),
        cmocka_unit_test(test_bad_fields_refused),
        cmocka_unit_test(test_status_range),
        cmocka_unit_test(test_decode_limits),
        cmocka_unit_test(test_encode_refuses_bad_input),
        cmocka_unit_test(test_encode_into_failed_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
