/* Unit tests for journal_codec: the exact bytes of a VERSION frame, encode → decode of
 * every record type at its edges (tombstones, CKV_ORIGIN_BASE, empty and 255-byte keys,
 * 64-entry deps and maps, UINT64_MAX counters), torn tails (every prefix is SHORT),
 * corruption (no single bit flip decodes), hand-made bodies with a valid CRC that break
 * one rule each, frames back to back, and the encoder refusing what the decoder would
 * refuse. Decoding always reads from a heap copy of exactly the given size, so that
 * AddressSanitizer reports any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/crc32c.h"
#include "causalkv/journal_codec.h"

/* ---- helpers ------------------------------------------------------------------------ */

static ckv_shard_map make_map(uint32_t n, long rf, uint64_t epoch)
{
    ckv_view v = {0};
    ckv_shard_map m;
    char err[128];
    for (uint32_t i = 0; i < n; i++) {
        char addr[32];
        int len = snprintf(addr, sizeof(addr), "10.0.%u.%u:%u", i / 200, i % 200 + 1, 13800 + i);
        assert_int_equal(ckv_view_add(&v, addr, (size_t)len, err, sizeof(err)), CKV_OK);
    }
    assert_int_equal(ckv_shard_map_init(&m, &v, rf, epoch, err, sizeof(err)), CKV_OK);
    return m;
}

/* A version with deps c[0..n) (none when n == 0). */
static ckv_version *version(const char *key, size_t key_len, const char *value, size_t value_len,
                            bool tombstone, uint16_t origin, uint64_t seq, uint64_t lamport,
                            uint32_t n, const uint64_t *c)
{
    ckv_vclock clock;
    ckv_vclock_init(&clock, n);
    for (uint32_t i = 0; i < n; i++)
        clock.c[i] = c[i];
    ckv_deps *d = ckv_deps_new(&clock);
    ckv_version *v =
        ckv_version_new(key, key_len, value, value_len, tombstone, origin, seq, lamport, d);
    ckv_deps_unref(d);
    assert_non_null(v);
    return v;
}

static void assert_deps_equal(const ckv_deps *a, const ckv_deps *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
        return;
    }
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->c, b->c, a->n * sizeof(a->c[0]));
}

static void assert_versions_equal(const ckv_version *a, const ckv_version *b)
{
    assert_int_equal(a->key_len, b->key_len);
    assert_int_equal(a->value_len, b->value_len);
    assert_int_equal(a->tombstone, b->tombstone);
    assert_int_equal(a->origin, b->origin);
    assert_true(a->seq == b->seq);
    assert_true(a->lamport == b->lamport);
    assert_deps_equal(a->deps, b->deps);
    if (a->key_len + a->value_len > 0)
        assert_memory_equal(a->data, b->data, (size_t)a->key_len + a->value_len);
}

static void assert_maps_equal(const ckv_shard_map *a, const ckv_shard_map *b)
{
    assert_true(a->epoch == b->epoch);
    assert_int_equal(a->rf, b->rf);
    assert_int_equal(a->shards, b->shards);
    assert_true(ckv_view_equal(&a->view, &b->view));
}

/* Decodes a heap copy of exactly len bytes. */
static ckv_jrec_status decode(const void *p, size_t len, ckv_jrec *out, size_t *used)
{
    char *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, p, len);
    ckv_jrec_status st = ckv_jrec_decode(copy, len, out, used);
    free(copy);
    return st;
}

/* A refused frame leaves nothing behind. */
static void assert_refused(ckv_jrec_status st, ckv_jrec_status want, const ckv_jrec *r, size_t used)
{
    assert_int_equal(st, want);
    assert_int_equal(used, 0);
    assert_null(r->version);
}

/* Decodes p[0..len) expecting a refusal with status want. */
static void assert_decode_refused(const void *p, size_t len, ckv_jrec_status want)
{
    ckv_jrec r;
    size_t used = 99;
    ckv_jrec_status st = decode(p, len, &r, &used);
    assert_refused(st, want, &r, used);
}

/* Encodes r alone; the bytes are the caller's (free). */
static char *encode(const ckv_jrec *r, size_t *len)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    assert_int_equal(ckv_jrec_put(&b, r), CKV_OK);
    char *s = ckv_sbuf_steal(&b, len);
    assert_non_null(s);
    return s;
}

/* Encodes r, decodes it back (OK, the whole frame used) into *out. */
static void round_trip(const ckv_jrec *r, ckv_jrec *out)
{
    size_t len, used;
    char *frame = encode(r, &len);
    assert_int_equal(decode(frame, len, out, &used), CKV_JREC_OK);
    assert_int_equal(used, len);
    assert_int_equal(out->type, r->type);
    free(frame);
}

/* A body built by hand, framed with a correct CRC: for records the encoder would never
 * write. */
typedef struct body {
    unsigned char b[4096];
    size_t n;
} body;

static void add_u8(body *b, unsigned v)
{
    b->b[b->n++] = (unsigned char)v;
}

static void add_varint(body *b, uint64_t v)
{
    while (v >= 0x80) {
        add_u8(b, (unsigned)(v & 0x7f) | 0x80);
        v >>= 7;
    }
    add_u8(b, (unsigned)v);
}

static void add_raw(body *b, const void *p, size_t len)
{
    memcpy(b->b + b->n, p, len);
    b->n += len;
}

static void add_str(body *b, const char *s)
{
    add_varint(b, strlen(s));
    add_raw(b, s, strlen(s));
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* out holds b->n + CKV_JREC_HEADER bytes; returns that size. */
static size_t frame_of(const body *b, unsigned char *out)
{
    put_le32(out, (uint32_t)b->n);
    put_le32(out + 4, ckv_crc32c(0, b->b, b->n));
    memcpy(out + CKV_JREC_HEADER, b->b, b->n);
    return b->n + CKV_JREC_HEADER;
}

static ckv_jrec_status decode_body(const body *b, ckv_jrec *out, size_t *used)
{
    unsigned char frame[sizeof(b->b) + CKV_JREC_HEADER];
    return decode(frame, frame_of(b, frame), out, used);
}

static void assert_body_bad(const body *b, const char *what)
{
    ckv_jrec r;
    size_t used;
    ckv_jrec_status st = decode_body(b, &r, &used);
    if (st != CKV_JREC_BAD)
        fail_msg("%s: status %d, want CKV_JREC_BAD", what, (int)st);
    assert_refused(st, CKV_JREC_BAD, &r, used);
}

/* A valid VERSION body up to (not including) its deps. */
static void version_head(body *b, unsigned flags)
{
    b->n = 0;
    add_u8(b, CKV_JREC_VERSION);
    add_u8(b, flags);
    add_u8(b, 1); /* origin 1, little endian */
    add_u8(b, 0);
    add_varint(b, 5); /* seq */
    add_varint(b, 9); /* lamport */
    add_u8(b, 1);
    add_raw(b, "k", 1);
    add_varint(b, 2);
    add_raw(b, "vv", 2);
}

/* A valid EPOCH body up to (not including) base_lamport, with the members given. */
static void epoch_head(body *b, uint64_t rf, uint32_t n, const char *const *members)
{
    b->n = 0;
    add_u8(b, CKV_JREC_EPOCH);
    add_varint(b, 3); /* epoch */
    add_varint(b, rf);
    add_varint(b, n);
    for (uint32_t i = 0; i < n; i++)
        add_str(b, members[i]);
}

/* ---- the bytes ---------------------------------------------------------------------- */

static void test_magic(void **state)
{
    (void)state;
    assert_int_equal(sizeof(CKV_JOURNAL_MAGIC) - 1, CKV_JOURNAL_MAGIC_LEN);
}

static void test_version_frame_bytes(void **state)
{
    (void)state;
    uint64_t deps[] = {7};
    ckv_version *v = version("k", 1, "v", 1, false, 0x0102, 300, 1, 1, deps);
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    assert_int_equal(ckv_jrec_put_version(&b, v, true), CKV_OK);
    static const unsigned char want_body[] = {
        CKV_JREC_VERSION,
        0x02, /* flags: advances */
        0x02,
        0x01, /* origin 0x0102 */
        0xAC,
        0x02, /* seq 300 */
        0x01, /* lamport */
        0x01,
        'k',
        0x01,
        'v',
        0x01, /* key, value, one dep */
        0x07,
    };
    assert_int_equal(b.len, CKV_JREC_HEADER + sizeof(want_body));
    unsigned char header[CKV_JREC_HEADER];
    put_le32(header, sizeof(want_body));
    put_le32(header + 4, ckv_crc32c(0, want_body, sizeof(want_body)));
    assert_memory_equal(b.data, header, sizeof(header));
    assert_memory_equal(b.data + CKV_JREC_HEADER, want_body, sizeof(want_body));
    ckv_sbuf_free(&b);
    ckv_version_unref(v);
}

/* ---- round trips -------------------------------------------------------------------- */

/* put_version and put agree byte for byte, and the frame decodes to an equal version. */
static void check_version_round_trip(ckv_version *v, bool advances)
{
    ckv_sbuf a, b;
    ckv_sbuf_init(&a);
    ckv_sbuf_init(&b);
    ckv_sbuf_add(&a, "prefix", 6); /* appends: what is already there stays */
    assert_int_equal(ckv_jrec_put_version(&a, v, advances), CKV_OK);
    ckv_jrec r = {.type = CKV_JREC_VERSION, .version = v, .advances = advances};
    assert_int_equal(ckv_jrec_put(&b, &r), CKV_OK);
    assert_int_equal(a.len, b.len + 6);
    assert_memory_equal(a.data, "prefix", 6);
    assert_memory_equal(a.data + 6, b.data, b.len);

    ckv_jrec out;
    size_t used;
    assert_int_equal(decode(b.data, b.len, &out, &used), CKV_JREC_OK);
    assert_int_equal(used, b.len);
    assert_int_equal(out.type, CKV_JREC_VERSION);
    assert_int_equal(out.advances, advances);
    assert_versions_equal(out.version, v);
    assert_int_equal(out.version->refs, 1); /* the caller's one reference */
    ckv_version_unref(out.version);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
}

static void test_version_round_trips(void **state)
{
    (void)state;
    uint64_t c64[CKV_VIEW_MAX];
    for (int i = 0; i < CKV_VIEW_MAX; i++)
        c64[i] = i % 3 == 0 ? UINT64_MAX : (uint64_t)i << (i % 57);
    uint64_t one[] = {UINT64_MAX};
    uint64_t sparse[] = {0, 0, 4, 0}; /* trailing zero entries stay */
    char key255[255];
    memset(key255, 'K', sizeof(key255));
    key255[254] = '\0'; /* binary bytes too */
    size_t big_len = 100000;
    char *big = malloc(big_len);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)(i * 31);

    ckv_version *cases[] = {
        version("key", 3, "value", 5, false, 0, 1, 1, 0, NULL),
        version("gone", 4, NULL, 0, true, 3, 2, 7, 1, one),
        version("base", 4, "b", 1, false, CKV_ORIGIN_BASE, 0, 0, 0, NULL),
        version("empty", 5, "", 0, false, 1, 1, 1, 0, NULL),
        version("", 0, "no key", 6, false, 1, 1, 1, 0, NULL),
        version(key255, sizeof(key255), "v", 1, false, 63, 1, 1, 0, NULL),
        version("big", 3, "x", 1, false, 0xfffe, UINT64_MAX, UINT64_MAX, CKV_VIEW_MAX, c64),
        version("sparse", 6, "s", 1, false, 2, 127, 128, 4, sparse),
        version("value", 5, big, big_len, false, 5, 1u << 20, 1u << 30, 1, one),
        version("tomb+value", 10, "kept", 4, true, 0, 1, 1, 0, NULL),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_version_round_trip(cases[i], false);
        check_version_round_trip(cases[i], true);
        ckv_version_unref(cases[i]);
    }
    free(big);
}

static void test_clock_round_trips(void **state)
{
    (void)state;
    for (uint32_t n = 0; n <= CKV_VIEW_MAX; n += n < 3 ? 1 : 61) {
        ckv_jrec r = {.type = CKV_JREC_CLOCK};
        ckv_vclock_init(&r.clock, n);
        for (uint32_t i = 0; i < n; i++)
            r.clock.c[i] = i == n - 1 ? UINT64_MAX : i * 1000003u;
        ckv_jrec out;
        memset(&out, 0xa5, sizeof(out)); /* entries beyond n must come out zero */
        round_trip(&r, &out);
        assert_null(out.version);
        assert_int_equal(out.clock.n, n);
        assert_memory_equal(out.clock.c, r.clock.c, sizeof(r.clock.c));
    }
}

static void test_epoch_round_trips(void **state)
{
    (void)state;
    struct {
        uint32_t n;
        long rf;
        uint64_t epoch, base_lamport;
        bool has_base;
    } cases[] = {
        {1, 1, 0, 0, false},
        {6, 2, 7, 12345, true},
        {CKV_VIEW_MAX, 4, UINT64_MAX, UINT64_MAX, true},
        {CKV_VIEW_MAX, CKV_VIEW_MAX, 1, 0, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ckv_jrec r = {.type = CKV_JREC_EPOCH,
                      .map = make_map(cases[i].n, cases[i].rf, cases[i].epoch),
                      .base_lamport = cases[i].base_lamport,
                      .has_base = cases[i].has_base};
        ckv_jrec out;
        round_trip(&r, &out);
        assert_maps_equal(&out.map, &r.map);
        assert_true(out.base_lamport == r.base_lamport);
        assert_int_equal(out.has_base, r.has_base);
    }
}

/* The largest EPOCH: CKV_VIEW_MAX members whose names are as long as an address may be
 * (CKV_ADDR_MAX - 1 bytes), and IPv6 members: RECORD_MAX holds them. */
static void test_epoch_of_longest_names_round_trips(void **state)
{
    (void)state;
    ckv_view v = {0};
    char err[128];
    for (uint32_t i = 0; i < CKV_VIEW_MAX; i++) {
        char addr[CKV_ADDR_MAX];
        if (i % 8 == 7) {
            snprintf(addr, sizeof(addr), "[2001:db8::%x]:%u", i, 10000 + i);
        } else {
            memset(addr, 'n', CKV_HOST_LEN_MAX);
            snprintf(addr, 8, "n%02u", i); /* distinct first label */
            addr[3] = '.';
            addr[60] = '.'; /* labels of at most 63 bytes */
            snprintf(addr + CKV_HOST_LEN_MAX, sizeof(addr) - CKV_HOST_LEN_MAX, ":%u", 10000 + i);
            assert_int_equal(strlen(addr), CKV_ADDR_MAX - 1);
        }
        assert_int_equal(ckv_view_add(&v, addr, strlen(addr), err, sizeof(err)), CKV_OK);
    }
    ckv_jrec r = {.type = CKV_JREC_EPOCH, .base_lamport = 9, .has_base = true};
    assert_int_equal(ckv_shard_map_init(&r.map, &v, 2, 3, err, sizeof(err)), CKV_OK);
    ckv_jrec out;
    round_trip(&r, &out);
    assert_maps_equal(&out.map, &r.map);
}

static void test_small_record_round_trips(void **state)
{
    (void)state;
    ckv_jrec out;
    ckv_jrec held = {.type = CKV_JREC_BASE_HELD};
    round_trip(&held, &out);

    uint64_t values[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        ckv_jrec snap = {
            .type = CKV_JREC_SNAPSHOT, .next_segment = values[i], .lamport = values[(i + 3) % 9]};
        round_trip(&snap, &out);
        assert_true(out.next_segment == snap.next_segment);
        assert_true(out.lamport == snap.lamport);

        ckv_jrec end = {.type = CKV_JREC_END, .count = values[i]};
        round_trip(&end, &out);
        assert_true(out.count == end.count);
    }
}

/* ---- torn and corrupt frames -------------------------------------------------------- */

/* A version with deps, then an epoch: the frames the checks below mutilate. */
static char *sample_frames(size_t *len1, size_t *len)
{
    uint64_t deps[] = {3, 0, 9};
    ckv_version *v = version("user:1", 6, "hello", 5, false, 2, 40, 41, 3, deps);
    ckv_jrec epoch = {.type = CKV_JREC_EPOCH, .map = make_map(4, 2, 5), .has_base = true};
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    assert_int_equal(ckv_jrec_put_version(&b, v, true), CKV_OK);
    *len1 = b.len;
    assert_int_equal(ckv_jrec_put(&b, &epoch), CKV_OK);
    ckv_version_unref(v);
    return ckv_sbuf_steal(&b, len);
}

static void test_every_prefix_is_short(void **state)
{
    (void)state;
    size_t len1, len;
    char *frames = sample_frames(&len1, &len);
    const char *starts[] = {frames, frames + len1};
    size_t sizes[] = {len1, len - len1};
    for (int f = 0; f < 2; f++) {
        for (size_t cut = 0; cut < sizes[f]; cut++)
            assert_decode_refused(starts[f], cut, CKV_JREC_SHORT);
    }
    free(frames);
}

static void test_no_single_bit_flip_decodes(void **state)
{
    (void)state;
    size_t len1, len;
    char *frames = sample_frames(&len1, &len);
    const size_t starts[] = {0, len1};
    const size_t sizes[] = {len1, len - len1};
    for (int f = 0; f < 2; f++) {
        char *frame = frames + starts[f];
        for (size_t bit = 0; bit < sizes[f] * 8; bit++) {
            frame[bit / 8] ^= (char)(1u << (bit % 8));
            ckv_jrec r;
            size_t used;
            ckv_jrec_status st = decode(frame, sizes[f], &r, &used);
            if (st == CKV_JREC_OK)
                fail_msg("frame %d with bit %zu flipped decodes", f, bit);
            assert_refused(st, st, &r, used);
            if (bit >= CKV_JREC_HEADER * 8) /* len intact: only the CRC can tell */
                assert_int_equal(st, CKV_JREC_BAD_CRC);
            frame[bit / 8] ^= (char)(1u << (bit % 8));
        }
    }
    free(frames);
}

static void test_len_field_limits(void **state)
{
    (void)state;
    unsigned char h[CKV_JREC_HEADER] = {0};
    put_le32(h, CKV_JREC_MAX_BODY + 1); /* BAD before SHORT: corruption, not a torn tail */
    assert_decode_refused(h, sizeof(h), CKV_JREC_BAD);
    assert_decode_refused(h, 4, CKV_JREC_BAD);
    assert_decode_refused(h, 3, CKV_JREC_SHORT);
    put_le32(h, UINT32_MAX);
    assert_decode_refused(h, sizeof(h), CKV_JREC_BAD);
    put_le32(h, 0);
    assert_decode_refused(h, sizeof(h), CKV_JREC_BAD);
    put_le32(h, CKV_JREC_MAX_BODY); /* the largest len is merely a long frame */
    assert_decode_refused(h, sizeof(h), CKV_JREC_SHORT);
}

static void test_crc_mismatch(void **state)
{
    (void)state;
    body b = {.n = 0};
    add_u8(&b, CKV_JREC_BASE_HELD);
    unsigned char frame[CKV_JREC_HEADER + 1];
    size_t len = frame_of(&b, frame);
    ckv_jrec r;
    size_t used;
    assert_int_equal(decode(frame, len, &r, &used), CKV_JREC_OK);
    assert_int_equal(r.type, CKV_JREC_BASE_HELD);
    frame[4] ^= 1;
    assert_decode_refused(frame, len, CKV_JREC_BAD_CRC);
}

/* ---- bodies with a valid CRC that break one rule ------------------------------------ */

static void test_unknown_types_are_bad(void **state)
{
    (void)state;
    unsigned types[] = {0, 7, 8, 0x81, 255};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        body b = {.n = 0};
        add_u8(&b, types[i]);
        assert_body_bad(&b, "unknown type");
        add_varint(&b, 1);
        assert_body_bad(&b, "unknown type with a field");
    }
}

/* Each record type, complete and valid, then with one byte more. */
static void test_trailing_bytes_are_bad(void **state)
{
    (void)state;
    const char *members[] = {"1.2.3.4:5", "1.2.3.4:6"};
    body bodies[6];
    version_head(&bodies[0], 0);
    add_varint(&bodies[0], 1); /* one dep */
    add_varint(&bodies[0], 3);
    bodies[1].n = 0;
    add_u8(&bodies[1], CKV_JREC_CLOCK);
    add_varint(&bodies[1], 2);
    add_varint(&bodies[1], 1);
    add_varint(&bodies[1], 2);
    epoch_head(&bodies[2], 2, 2, members);
    add_varint(&bodies[2], 0);
    add_u8(&bodies[2], 1);
    bodies[3].n = 0;
    add_u8(&bodies[3], CKV_JREC_BASE_HELD);
    bodies[4].n = 0;
    add_u8(&bodies[4], CKV_JREC_SNAPSHOT);
    add_varint(&bodies[4], 4);
    add_varint(&bodies[4], 5);
    bodies[5].n = 0;
    add_u8(&bodies[5], CKV_JREC_END);
    add_varint(&bodies[5], 6);
    for (int i = 0; i < 6; i++) {
        ckv_jrec r;
        size_t used;
        assert_int_equal(decode_body(&bodies[i], &r, &used), CKV_JREC_OK);
        assert_int_equal(r.type, bodies[i].b[0]);
        ckv_version_unref(r.version);
        add_u8(&bodies[i], 0);
        assert_body_bad(&bodies[i], "trailing byte");
    }
}

/* Each record type cut short inside its fields: the frame is whole, the body is not. */
static void test_truncated_bodies_are_bad(void **state)
{
    (void)state;
    body full;
    version_head(&full, 1);
    add_varint(&full, 2);
    add_varint(&full, 300);
    add_varint(&full, 4);
    for (size_t n = 1; n < full.n; n++) {
        body cut = full;
        cut.n = n;
        assert_body_bad(&cut, "truncated version");
    }
    const char *members[] = {"10.0.0.1:13800"};
    epoch_head(&full, 1, 1, members);
    add_varint(&full, 500);
    add_u8(&full, 0);
    for (size_t n = 1; n < full.n; n++) {
        body cut = full;
        cut.n = n;
        assert_body_bad(&cut, "truncated epoch");
    }
    unsigned types[] = {CKV_JREC_CLOCK, CKV_JREC_SNAPSHOT, CKV_JREC_END};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        body b = {.n = 0};
        add_u8(&b, types[i]);
        assert_body_bad(&b, "no fields");
    }
}

static void test_version_rules(void **state)
{
    (void)state;
    body b;
    for (unsigned flag = 0x04; flag <= 0x80; flag <<= 1) {
        version_head(&b, flag);
        add_varint(&b, 0);
        assert_body_bad(&b, "unknown flag");
    }
    version_head(&b, 0);
    add_varint(&b, CKV_VIEW_MAX + 1);
    for (int i = 0; i <= CKV_VIEW_MAX; i++)
        add_varint(&b, 1);
    assert_body_bad(&b, "65 deps");

    /* lengths that point past the body */
    b.n = 0;
    add_u8(&b, CKV_JREC_VERSION);
    add_raw(&b, "\0\0\0\0\0", 5); /* flags, origin, seq, lamport */
    add_u8(&b, 200);              /* key length */
    add_raw(&b, "short", 5);
    assert_body_bad(&b, "key past the body");
    b.n = 6;
    add_u8(&b, 1);
    add_raw(&b, "k", 1);
    add_varint(&b, UINT64_MAX); /* value length */
    add_raw(&b, "v", 1);
    add_varint(&b, 0);
    assert_body_bad(&b, "value past the body");
}

static void test_varint_limits(void **state)
{
    (void)state;
    /* END's count as the only field: 10 bytes ending in 0x01 is UINT64_MAX */
    static const unsigned char max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    body b = {.n = 0};
    add_u8(&b, CKV_JREC_END);
    add_raw(&b, max, sizeof(max));
    ckv_jrec r;
    size_t used;
    assert_int_equal(decode_body(&b, &r, &used), CKV_JREC_OK);
    assert_true(r.count == UINT64_MAX);

    b.b[b.n - 1] = 0x02; /* bit 64 */
    assert_body_bad(&b, "varint over 64 bits");
    b.b[b.n - 1] = 0x7f;
    assert_body_bad(&b, "varint over 64 bits");
    b.b[b.n - 1] = 0x81; /* an eleventh byte follows */
    add_u8(&b, 0x00);
    assert_body_bad(&b, "11-byte varint");
    b.n = 1;
    add_u8(&b, 0x80); /* continuation, then the end of the body */
    assert_body_bad(&b, "unterminated varint");

    /* a longer than needed spelling is still the value */
    b.n = 1;
    add_u8(&b, 0x85);
    add_u8(&b, 0x00);
    assert_int_equal(decode_body(&b, &r, &used), CKV_JREC_OK);
    assert_true(r.count == 5);
}

static void test_clock_rules(void **state)
{
    (void)state;
    body b = {.n = 0};
    add_u8(&b, CKV_JREC_CLOCK);
    add_varint(&b, CKV_VIEW_MAX + 1);
    for (int i = 0; i <= CKV_VIEW_MAX; i++)
        add_varint(&b, 1);
    assert_body_bad(&b, "clock of 65");
    b.n = 1;
    add_varint(&b, UINT64_MAX);
    assert_body_bad(&b, "clock of 2^64-1");
    b.n = 1;
    add_varint(&b, 3);
    add_varint(&b, 1);
    add_varint(&b, 2);
    assert_body_bad(&b, "clock with fewer entries than n");
}

static void test_epoch_rules(void **state)
{
    (void)state;
    const char *good[] = {"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1"};
    const char *dup[] = {"10.0.0.1:1", "10.0.0.1:1"};
    const char *bad_addr[] = {"10.0.0.1:1", "10.0.0.256:1"};
    const char *no_port[] = {"10.0.0.1"};
    const char *port0[] = {"10.0.0.1:0"};
    const char *empty[] = {""};
    const char *nul[] = {"10.0.0.1:1\0"};
    struct {
        const char *what;
        uint64_t rf;
        uint32_t n;
        const char *const *members;
        unsigned has_base;
    } cases[] = {
        {"rf 0", 0, 4, good, 0},
        {"rf not dividing n", 3, 4, good, 0},
        {"rf over n", 8, 4, good, 0},
        {"rf 2^32 + 2", (1ull << 32) + 2, 4, good, 0},
        {"rf 2^64-1", UINT64_MAX, 4, good, 0},
        {"no members", 1, 0, good, 0},
        {"duplicate member", 1, 2, dup, 0},
        {"unparsable member", 1, 2, bad_addr, 0},
        {"member without port", 1, 1, no_port, 0},
        {"port 0", 1, 1, port0, 0},
        {"empty member", 1, 1, empty, 0},
        {"has_base 2", 2, 4, good, 2},
        {"has_base 255", 2, 4, good, 255},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        body b;
        epoch_head(&b, cases[i].rf, cases[i].n, cases[i].members);
        add_varint(&b, 0);
        add_u8(&b, cases[i].has_base);
        assert_body_bad(&b, cases[i].what);
    }

    body b;
    epoch_head(&b, 1, 0, good); /* n = 0 rewritten below: too many members */
    b.n = 3;
    add_varint(&b, CKV_VIEW_MAX + 1);
    for (int i = 0; i <= CKV_VIEW_MAX; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "10.0.0.%d:1", i + 1);
        add_str(&b, addr);
    }
    add_varint(&b, 0);
    add_u8(&b, 0);
    assert_body_bad(&b, "65 members");

    /* a NUL inside the member's bytes is not the end of it */
    epoch_head(&b, 1, 0, good);
    b.n = 3;
    add_varint(&b, 1);
    add_varint(&b, 11);
    add_raw(&b, nul[0], 11);
    add_varint(&b, 0);
    add_u8(&b, 0);
    assert_body_bad(&b, "member with a NUL");
}

/* ---- sequences, state of the output, the encoder's refusals ------------------------- */

static void test_frames_back_to_back(void **state)
{
    (void)state;
    size_t len1, len;
    char *frames = sample_frames(&len1, &len);
    ckv_jrec r;
    size_t used;
    assert_int_equal(decode(frames, len, &r, &used), CKV_JREC_OK);
    assert_int_equal(used, len1);
    assert_int_equal(r.type, CKV_JREC_VERSION);
    assert_memory_equal(ckv_version_key(r.version), "user:1", 6);
    ckv_version_unref(r.version);
    assert_int_equal(decode(frames + len1, len - len1, &r, &used), CKV_JREC_OK);
    assert_int_equal(used, len - len1);
    assert_int_equal(r.type, CKV_JREC_EPOCH);
    assert_int_equal(r.map.view.n, 4);
    assert_int_equal(r.map.shards, 2);
    assert_true(r.has_base);
    assert_decode_refused(frames + len, 0, CKV_JREC_SHORT);
    free(frames);
}

static void test_refusal_clears_the_output(void **state)
{
    (void)state;
    ckv_jrec r = {.type = CKV_JREC_SNAPSHOT, .next_segment = 9, .lamport = 8};
    ckv_jrec out;
    round_trip(&r, &out);
    body b = {.n = 0};
    add_u8(&b, CKV_JREC_SNAPSHOT);
    add_varint(&b, 5);
    add_varint(&b, 6);
    add_u8(&b, 0); /* read into out, then refused for the trailing byte */
    size_t used;
    assert_int_equal(decode_body(&b, &out, &used), CKV_JREC_BAD);
    assert_int_equal(out.type, 0);
    assert_true(out.next_segment == 0 && out.lamport == 0);
    assert_null(out.version);
}

/* b keeps its bytes and is marked failed, so that a caller checking only
 * ckv_sbuf_failed sees the refusal; then clears the mark for the next check. */
static void assert_put_refused(ckv_sbuf *b, int rc, int want)
{
    assert_int_equal(rc, want);
    assert_true(ckv_sbuf_failed(b));
    assert_int_equal(b->len, 3);
    assert_memory_equal(b->data, "abc", 4);
    b->failed = false;
}

static void test_encoder_refuses_what_decoding_would(void **state)
{
    (void)state;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_add(&b, "abc", 3);

    ckv_jrec r = {.type = (ckv_jrec_type)7};
    assert_put_refused(&b, ckv_jrec_put(&b, &r), CKV_ERROR);
    r.type = (ckv_jrec_type)0;
    assert_put_refused(&b, ckv_jrec_put(&b, &r), CKV_ERROR);
    r.type = CKV_JREC_VERSION; /* without a version */
    assert_put_refused(&b, ckv_jrec_put(&b, &r), CKV_ERROR);
    r.type = CKV_JREC_CLOCK;
    r.clock.n = CKV_VIEW_MAX + 1;
    assert_put_refused(&b, ckv_jrec_put(&b, &r), CKV_ERROR);

    r.type = CKV_JREC_EPOCH;
    r.map = make_map(4, 2, 1);
    r.map.rf = 3;
    assert_put_refused(&b, ckv_jrec_put(&b, &r), CKV_ERROR);
    r.map = make_map(4, 2, 1);
    memcpy(r.map.view.addrs[3], r.map.view.addrs[0], CKV_ADDR_MAX);
    assert_put_refused(&b, ckv_jrec_put(&b, &r), CKV_ERROR);
    r.map = make_map(4, 2, 1);
    strcpy(r.map.view.addrs[1], "not an address");
    assert_put_refused(&b, ckv_jrec_put(&b, &r), CKV_ERROR);
    r.map.view.n = 0;
    assert_put_refused(&b, ckv_jrec_put(&b, &r), CKV_ERROR);

    /* a value too large for one frame: MAX_VALUE_BYTES may be set above it */
    size_t huge = CKV_JREC_MAX_BODY;
    char *value = calloc(1, huge);
    assert_non_null(value);
    ckv_version *v = version("k", 1, value, huge, false, 0, 1, 1, 0, NULL);
    free(value);
    assert_put_refused(&b, ckv_jrec_put_version(&b, v, false), CKV_ERROR);
    ckv_version_unref(v);
    ckv_sbuf_free(&b);
}

static void test_failed_buffer_is_nomem(void **state)
{
    (void)state;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    b.failed = true; /* an earlier append of the caller's ran out of memory */
    ckv_version *v = version("k", 1, "v", 1, false, 0, 1, 1, 0, NULL);
    assert_int_equal(ckv_jrec_put_version(&b, v, false), CKV_NOMEM);
    ckv_jrec end = {.type = CKV_JREC_END, .count = 1};
    assert_int_equal(ckv_jrec_put(&b, &end), CKV_NOMEM);
    assert_int_equal(b.len, 0);
    assert_true(ckv_sbuf_failed(&b));
    ckv_version_unref(v);
    ckv_sbuf_free(&b);
}

/* An all-zero deps clock is "no dependencies", as ckv_deps_new has it. */
static void test_zero_deps_decode_as_none(void **state)
{
    (void)state;
    body b;
    version_head(&b, 0);
    add_varint(&b, 3);
    for (int i = 0; i < 3; i++)
        add_varint(&b, 0);
    ckv_jrec r;
    size_t used;
    assert_int_equal(decode_body(&b, &r, &used), CKV_JREC_OK);
    assert_null(r.version->deps);
    assert_int_equal(r.version->origin, 1);
    assert_true(r.version->seq == 5 && r.version->lamport == 9);
    assert_memory_equal(ckv_version_value(r.version), "vv", 2);
    ckv_version_unref(r.version);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_magic),
        cmocka_unit_test(test_version_frame_bytes),
        cmocka_unit_test(test_version_round_trips),
        cmocka_unit_test(test_clock_round_trips),
        cmocka_unit_test(test_epoch_round_trips),
        cmocka_unit_test(test_epoch_of_longest_names_round_trips),
        cmocka_unit_test(test_small_record_round_trips),
        cmocka_unit_test(test_every_prefix_is_short),
        cmocka_unit_test(test_no_single_bit_flip_decodes),
        cmocka_unit_test(test_len_field_limits),
        cmocka_unit_test(test_crc_mismatch),
        cmocka_unit_test(test_unknown_types_are_bad),
        cmocka_unit_test(test_trailing_bytes_are_bad),
        cmocka_unit_test(test_truncated_bodies_are_bad),
        cmocka_unit_test(test_version_rules),
        cmocka_unit_test(test_varint_limits),
        cmocka_unit_test(test_clock_rules),
        cmocka_unit_test(test_epoch_rules),
        cmocka_unit_test(test_frames_back_to_back),
        cmocka_unit_test(test_refusal_clears_the_output),
        cmocka_unit_test(test_encoder_refuses_what_decoding_would),
        cmocka_unit_test(test_failed_buffer_is_nomem),
        cmocka_unit_test(test_zero_deps_decode_as_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
