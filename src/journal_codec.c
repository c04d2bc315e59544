/* journal_codec.c — the durability log's and snapshots' records to bytes and back.
 *
 * Encoding is on the write path of every request the node takes, so a VERSION frame is
 * built with plain pointer writes into stack buffers (everything but the value is
 * bounded: at most 293 bytes before it and 645 after it) and appended in three copies;
 * len and crc are patched into the header once the body sits in the buffer.
 *
 * Decoding reads files that a crash may have torn and a disk may have corrupted, so it
 * trusts nothing: every read is bounded by the frame's len, every count by its hard
 * limit, and a record whose CRC matches but whose fields do not add up is refused
 * rather than repaired. The encoder refuses what the decoder would refuse, so the node
 * never writes a record that a restart could not read back. */
#include "causalkv/journal_codec.h"

#include <string.h>

#include "causalkv/crc32c.h"

#define VARINT_MAX 10 /* bytes of a 64-bit LEB128 value */
#define VARINT32_MAX 5

#define FLAG_TOMBSTONE 0x01u
#define FLAG_ADVANCES 0x02u
#define FLAGS_KNOWN (FLAG_TOMBSTONE | FLAG_ADVANCES)

/* A VERSION frame up to its value: header, type, flags, origin, seq, lamport, key length
 * and key, value length (a u32). */
#define VERSION_HEAD_MAX                                                                           \
    (CKV_JREC_HEADER + 1 + 1 + 2 + 2 * VARINT_MAX + 1 + UINT8_MAX + VARINT32_MAX)
/* A count and the entries of a clock. */
#define CLOCK_MAX (VARINT32_MAX + CKV_VIEW_MAX * VARINT_MAX)
/* The largest frame of any type but VERSION: an EPOCH of CKV_VIEW_MAX members. */
#define RECORD_MAX                                                                                 \
    (CKV_JREC_HEADER + 1 + 2 * VARINT_MAX + VARINT32_MAX +                                         \
     CKV_VIEW_MAX * (VARINT32_MAX + CKV_ADDR_MAX) + VARINT_MAX + 1)

_Static_assert(CKV_JREC_HEADER + 1 + CLOCK_MAX <= RECORD_MAX, "a CLOCK frame fits RECORD_MAX");

/* ---- encoding ---------------------------------------------------------------------- */

static inline unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static inline void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static unsigned char *put_clock(unsigned char *p, uint32_t n, const uint64_t *c)
{
    p = put_varint(p, n);
    for (uint32_t i = 0; i < n; i++)
        p = put_varint(p, c[i]);
    return p;
}

/* Drops a partial frame (a failed realloc leaves the old block intact) and leaves b
 * marked failed, as any failed sbuf append does: a builder that checks ckv_sbuf_failed
 * once at the end, ignoring return codes, must not lose a record without noticing. */
static int refuse(ckv_sbuf *b, size_t start, int rc)
{
    b->len = start;
    if (b->data != NULL)
        b->data[start] = '\0';
    b->failed = true;
    return rc;
}

/* Appends head (whose first CKV_JREC_HEADER bytes are room for the header), mid and tail
 * as one frame, then fills in its len and crc. */
static int append_frame(ckv_sbuf *b, unsigned char *head, size_t head_len, const void *mid,
                        size_t mid_len, const unsigned char *tail, size_t tail_len)
{
    if (ckv_sbuf_failed(b))
        return CKV_NOMEM;
    size_t start = b->len;
    if (mid_len > CKV_JREC_MAX_BODY)
        return refuse(b, start, CKV_ERROR); /* alone first: the sum below must not wrap */
    size_t body_len = head_len - CKV_JREC_HEADER + mid_len + tail_len;
    if (body_len > CKV_JREC_MAX_BODY)
        return refuse(b, start, CKV_ERROR); /* the decoder would call it corrupt */
    ckv_sbuf_add(b, head, head_len);
    ckv_sbuf_add(b, mid, mid_len);
    ckv_sbuf_add(b, tail, tail_len);
    if (ckv_sbuf_failed(b))
        return refuse(b, start, CKV_NOMEM);
    unsigned char *frame = (unsigned char *)b->data + start;
    put_le32(frame, (uint32_t)body_len);
    put_le32(frame + 4, ckv_crc32c(0, frame + CKV_JREC_HEADER, body_len));
    return CKV_OK;
}

int ckv_jrec_put_version(ckv_sbuf *b, const ckv_version *v, bool advances)
{
    const ckv_deps *d = v->deps;
    uint32_t dn = d != NULL ? d->n : 0;
    if (dn > CKV_VIEW_MAX)
        return refuse(b, b->len, CKV_ERROR);
    unsigned char head[VERSION_HEAD_MAX];
    unsigned char *p = head + CKV_JREC_HEADER;
    *p++ = CKV_JREC_VERSION;
    *p++ = (unsigned char)((v->tombstone ? FLAG_TOMBSTONE : 0) | (advances ? FLAG_ADVANCES : 0));
    *p++ = (unsigned char)v->origin;
    *p++ = (unsigned char)(v->origin >> 8);
    p = put_varint(p, v->seq);
    p = put_varint(p, v->lamport);
    *p++ = v->key_len;
    memcpy(p, ckv_version_key(v), v->key_len);
    p += v->key_len;
    p = put_varint(p, v->value_len);

    unsigned char tail[CLOCK_MAX];
    unsigned char *t = put_clock(tail, dn, d != NULL ? d->c : NULL);
    return append_frame(b, head, (size_t)(p - head), ckv_version_value(v), v->value_len, tail,
                        (size_t)(t - tail));
}

/* True when the decoder will accept m: members that parse, no duplicate, rf dividing n. */
static bool map_decodable(const ckv_shard_map *m)
{
    if (m->view.n == 0 || m->view.n > CKV_VIEW_MAX)
        return false;
    ckv_view scratch = {0};
    for (uint32_t i = 0; i < m->view.n; i++) {
        const char *a = m->view.addrs[i];
        if (ckv_view_add(&scratch, a, strnlen(a, CKV_ADDR_MAX), NULL, 0) != CKV_OK)
            return false;
    }
    return ckv_view_check_rf(&m->view, (long)m->rf, NULL, 0) == CKV_OK;
}

static unsigned char *put_epoch(unsigned char *p, const ckv_jrec *r)
{
    const ckv_view *v = &r->map.view;
    p = put_varint(p, r->map.epoch);
    p = put_varint(p, r->map.rf);
    p = put_varint(p, v->n);
    for (uint32_t i = 0; i < v->n; i++) {
        size_t len = strnlen(v->addrs[i], CKV_ADDR_MAX); /* < CKV_ADDR_MAX: it parsed */
        p = put_varint(p, len);
        memcpy(p, v->addrs[i], len);
        p += len;
    }
    p = put_varint(p, r->base_lamport);
    *p++ = r->has_base ? 1 : 0;
    return p;
}

int ckv_jrec_put(ckv_sbuf *b, const ckv_jrec *r)
{
    if (r->type == CKV_JREC_VERSION && r->version != NULL)
        return ckv_jrec_put_version(b, r->version, r->advances);
    unsigned char frame[RECORD_MAX];
    unsigned char *p = frame + CKV_JREC_HEADER;
    *p++ = (unsigned char)r->type;
    switch (r->type) {
    case CKV_JREC_CLOCK:
        if (r->clock.n > CKV_VIEW_MAX)
            return refuse(b, b->len, CKV_ERROR);
        p = put_clock(p, r->clock.n, r->clock.c);
        break;
    case CKV_JREC_EPOCH:
        if (!map_decodable(&r->map))
            return refuse(b, b->len, CKV_ERROR);
        p = put_epoch(p, r);
        break;
    case CKV_JREC_BASE_HELD:
        break;
    case CKV_JREC_SNAPSHOT:
        p = put_varint(p, r->next_segment);
        p = put_varint(p, r->lamport);
        break;
    case CKV_JREC_END:
        p = put_varint(p, r->count);
        break;
    default: /* an unknown type, or a VERSION without its version */
        return refuse(b, b->len, CKV_ERROR);
    }
    return append_frame(b, frame, (size_t)(p - frame), NULL, 0, NULL, 0);
}

/* ---- decoding ---------------------------------------------------------------------- */

/* The unread rest of one body. A getter that would step past end fails instead; after a
 * failure the reader is not used again. */
typedef struct reader {
    const unsigned char *p;
    const unsigned char *end;
} reader;

static inline uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline bool get_u8(reader *r, uint8_t *out)
{
    if (r->p == r->end)
        return false;
    *out = *r->p++;
    return true;
}

static inline bool get_u16le(reader *r, uint16_t *out)
{
    if (r->end - r->p < 2)
        return false;
    *out = (uint16_t)(r->p[0] | r->p[1] << 8);
    r->p += 2;
    return true;
}

/* The tenth byte holds bit 63 only: anything more overflows, or the varint goes on. */
static inline bool get_varint(reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < VARINT_MAX && r->p < r->end; i++) {
        unsigned char c = *r->p++;
        if (i == VARINT_MAX - 1 && c > 1)
            return false;
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if ((c & 0x80) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

static inline bool get_bytes(reader *r, uint64_t n, const unsigned char **out)
{
    if ((uint64_t)(r->end - r->p) < n)
        return false;
    *out = r->p;
    r->p += n;
    return true;
}

static inline bool at_end(const reader *r)
{
    return r->p == r->end;
}

/* Sets c->n and c->c[0..n); the entries beyond are left as they were. */
static bool get_clock(reader *r, ckv_vclock *c)
{
    uint64_t n;
    if (!get_varint(r, &n) || n > CKV_VIEW_MAX)
        return false;
    c->n = (uint32_t)n;
    for (uint32_t i = 0; i < c->n; i++)
        if (!get_varint(r, &c->c[i]))
            return false;
    return true;
}

/* The fields of a VERSION body, pointing into the frame. */
typedef struct version_fields {
    uint8_t flags;
    uint8_t key_len;
    uint16_t origin;
    uint64_t seq;
    uint64_t lamport;
    uint64_t value_len;
    const unsigned char *key;
    const unsigned char *value;
    ckv_vclock deps; /* entries beyond n are never read */
} version_fields;

static bool get_version_fields(reader *r, version_fields *f)
{
    return get_u8(r, &f->flags) && (f->flags & ~FLAGS_KNOWN) == 0 && get_u16le(r, &f->origin) &&
           get_varint(r, &f->seq) && get_varint(r, &f->lamport) && get_u8(r, &f->key_len) &&
           get_bytes(r, f->key_len, &f->key) && get_varint(r, &f->value_len) &&
           get_bytes(r, f->value_len, &f->value) && get_clock(r, &f->deps) && at_end(r);
}

static ckv_jrec_status decode_version(reader *r, ckv_jrec *out)
{
    version_fields f;
    if (!get_version_fields(r, &f))
        return CKV_JREC_BAD;
    /* ckv_deps_new also answers NULL for an all-zero clock: that is "no dependencies". */
    ckv_deps *deps = ckv_deps_new(&f.deps);
    if (deps == NULL && !ckv_vclock_is_zero(&f.deps))
        return CKV_JREC_NOMEM;
    ckv_version *v =
        ckv_version_new((const char *)f.key, f.key_len, (const char *)f.value, (size_t)f.value_len,
                        (f.flags & FLAG_TOMBSTONE) != 0, f.origin, f.seq, f.lamport, deps);
    ckv_deps_unref(deps);
    if (v == NULL)
        return CKV_JREC_NOMEM; /* its other refusals (key over 255 bytes) cannot happen */
    out->version = v;
    out->advances = (f.flags & FLAG_ADVANCES) != 0;
    return CKV_JREC_OK;
}

/* Members go through ckv_view_add, the same rules as every other reader of a view:
 * an address that does not parse or a duplicate is a corrupt record. */
static bool get_view(reader *r, ckv_view *view)
{
    uint64_t n;
    if (!get_varint(r, &n) || n == 0 || n > CKV_VIEW_MAX)
        return false;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len;
        const unsigned char *s;
        if (!get_varint(r, &len) || !get_bytes(r, len, &s) ||
            ckv_view_add(view, (const char *)s, (size_t)len, NULL, 0) != CKV_OK)
            return false;
    }
    return true;
}

static ckv_jrec_status decode_epoch(reader *r, ckv_jrec *out)
{
    uint64_t epoch, rf, base_lamport;
    uint8_t has_base;
    ckv_view view = {0};
    if (!get_varint(r, &epoch) || !get_varint(r, &rf) || !get_view(r, &view) ||
        !get_varint(r, &base_lamport) || !get_u8(r, &has_base) || has_base > 1 || !at_end(r))
        return CKV_JREC_BAD;
    /* rf must divide n <= CKV_VIEW_MAX; bounding it first keeps the cast to long exact. */
    if (rf > CKV_VIEW_MAX ||
        ckv_shard_map_init(&out->map, &view, (long)rf, epoch, NULL, 0) != CKV_OK)
        return CKV_JREC_BAD;
    out->base_lamport = base_lamport;
    out->has_base = has_base != 0;
    return CKV_JREC_OK;
}

static ckv_jrec_status decode_body(uint8_t type, reader *r, ckv_jrec *out)
{
    bool ok;
    switch (type) {
    case CKV_JREC_VERSION:
        return decode_version(r, out);
    case CKV_JREC_CLOCK:
        ckv_vclock_init(&out->clock, 0); /* entries beyond n read as zero */
        ok = get_clock(r, &out->clock) && at_end(r);
        break;
    case CKV_JREC_EPOCH:
        return decode_epoch(r, out);
    case CKV_JREC_BASE_HELD:
        ok = at_end(r);
        break;
    case CKV_JREC_SNAPSHOT:
        ok = get_varint(r, &out->next_segment) && get_varint(r, &out->lamport) && at_end(r);
        break;
    case CKV_JREC_END:
        ok = get_varint(r, &out->count) && at_end(r);
        break;
    default:
        ok = false; /* a type this build does not know: replaying around it would be wrong */
        break;
    }
    return ok ? CKV_JREC_OK : CKV_JREC_BAD;
}

/* A refused frame leaves behind no reference and no stale record of an earlier call. */
static void reset(ckv_jrec *out)
{
    out->type = (ckv_jrec_type)0;
    out->version = NULL;
    out->advances = false;
    out->clock.n = 0;
    out->map.view.n = 0;
    out->base_lamport = 0;
    out->has_base = false;
    out->next_segment = 0;
    out->lamport = 0;
    out->count = 0;
}

ckv_jrec_status ckv_jrec_decode(const char *buf, size_t len, ckv_jrec *out, size_t *used)
{
    const unsigned char *p = (const unsigned char *)buf;
    *used = 0;
    reset(out);
    if (len < 4)
        return CKV_JREC_SHORT;
    /* len is judged as soon as it is readable: a huge one is corruption, not a torn tail. */
    uint32_t body_len = get_le32(p);
    if (body_len == 0 || body_len > CKV_JREC_MAX_BODY)
        return CKV_JREC_BAD;
    if (len < CKV_JREC_HEADER || len - CKV_JREC_HEADER < body_len)
        return CKV_JREC_SHORT;
    const unsigned char *body = p + CKV_JREC_HEADER;
    if (ckv_crc32c(0, body, body_len) != get_le32(p + 4))
        return CKV_JREC_BAD_CRC;
    reader r = {body + 1, body + body_len};
    ckv_jrec_status st = decode_body(body[0], &r, out);
    if (st != CKV_JREC_OK) {
        reset(out); /* a CLOCK or SNAPSHOT may have been half read into it */
        return st;
    }
    out->type = (ckv_jrec_type)body[0];
    *used = CKV_JREC_HEADER + body_len;
    return CKV_JREC_OK;
}
