/* fwd_batch.c — a forwarding batch and its replies to bytes and back (fwd_batch.h).
 *
 * The encoders check every item before they append anything, so a refused batch leaves
 * the buffer as it was; an allocation failure drops the partial batch and leaves the
 * buffer marked failed. The encoders refuse exactly what the decoders would refuse, so a
 * node never sends a batch that its peer cannot read.
 *
 * The decoders read bytes from another node and trust none of them: every length is
 * checked against its limit and against the bytes that are left before it is used (as a
 * difference of pointers, never a sum that could wrap), the count against the caller's
 * room and CKV_FWD_BATCH_MAX before any item is read, and the message must end exactly
 * where its last item does. */
#include "causalkv/fwd_batch.h"

#include <stdbool.h>
#include <string.h>

#include "causalkv/common.h"

#define MAGIC_LEN 5
static const char REQUEST_MAGIC[MAGIC_LEN] = {'C', 'K', 'V', 'B', '1'};
static const char REPLY_MAGIC[MAGIC_LEN] = {'C', 'K', 'V', 'R', '1'};

#define ITEM_HEAD 11  /* u8 method, u64 deadline_ms, u16 uri_len */
#define ANSWER_HEAD 6 /* u16 status, u32 body_len */

_Static_assert(CKV_FWD_URI_MAX <= UINT16_MAX, "uri_len fits its u16");
_Static_assert(CKV_FWD_ID_MAX <= UINT8_MAX, "id_len fits its u8");
_Static_assert(CKV_FWD_BODY_MAX <= UINT32_MAX, "body_len fits its u32");

/* ---- encoding ---------------------------------------------------------------------- */

static inline unsigned char *put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    return p + 2;
}

static inline unsigned char *put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
    return p + 4;
}

static inline unsigned char *put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 8;
}

/* A pointer may be NULL only for zero bytes. */
static inline bool bytes_ok(const char *p, uint32_t len, uint32_t max)
{
    return len <= max && (p != NULL || len == 0);
}

static bool item_ok(const ckv_fwd_item *it)
{
    return it->method >= CKV_FWD_GET && it->method <= CKV_FWD_DELETE &&
           bytes_ok(it->uri, it->uri_len, CKV_FWD_URI_MAX) &&
           bytes_ok(it->id, it->id_len, CKV_FWD_ID_MAX) &&
           bytes_ok(it->body, it->body_len, CKV_FWD_BODY_MAX);
}

static inline bool status_ok(uint16_t status)
{
    return status == 0 || (status >= 100 && status <= 599);
}

static bool answer_ok(const ckv_fwd_answer *a)
{
    return status_ok(a->status) && bytes_ok(a->body, a->body_len, CKV_FWD_BODY_MAX);
}

/* The magic and the count. */
static void add_head(ckv_sbuf *out, const char *magic, uint32_t count)
{
    unsigned char head[MAGIC_LEN + 4];
    memcpy(head, magic, MAGIC_LEN);
    put_le32(head + MAGIC_LEN, count);
    ckv_sbuf_add(out, head, sizeof(head));
}

/* After the appends: CKV_OK, or the partial batch dropped and CKV_NOMEM. */
static int finish(ckv_sbuf *out, size_t start)
{
    if (!ckv_sbuf_failed(out))
        return CKV_OK;
    out->len = start;
    if (out->data != NULL)
        out->data[start] = '\0';
    return CKV_NOMEM;
}

int ckv_fwd_encode_request(ckv_sbuf *out, const ckv_fwd_item *items, uint32_t count)
{
    if (count == 0 || count > CKV_FWD_BATCH_MAX || items == NULL)
        return CKV_ERROR;
    for (uint32_t i = 0; i < count; i++)
        if (!item_ok(&items[i]))
            return CKV_ERROR;
    if (ckv_sbuf_failed(out))
        return CKV_NOMEM;
    size_t start = out->len;
    add_head(out, REQUEST_MAGIC, count);
    for (uint32_t i = 0; i < count; i++) {
        const ckv_fwd_item *it = &items[i];
        unsigned char head[ITEM_HEAD];
        unsigned char *p = head;
        *p++ = it->method;
        p = put_le64(p, it->deadline_ms);
        put_le16(p, (uint16_t)it->uri_len);
        ckv_sbuf_add(out, head, sizeof(head));
        ckv_sbuf_add(out, it->uri, it->uri_len);
        unsigned char mid[1 + CKV_FWD_ID_MAX + 4]; /* id_len, id, body_len */
        mid[0] = (unsigned char)it->id_len;
        if (it->id_len > 0)
            memcpy(mid + 1, it->id, it->id_len);
        put_le32(mid + 1 + it->id_len, it->body_len);
        ckv_sbuf_add(out, mid, 1 + (size_t)it->id_len + 4);
        ckv_sbuf_add(out, it->body, it->body_len);
    }
    return finish(out, start);
}

int ckv_fwd_encode_reply(ckv_sbuf *out, const ckv_fwd_answer *answers, uint32_t count)
{
    if (count == 0 || count > CKV_FWD_BATCH_MAX || answers == NULL)
        return CKV_ERROR;
    for (uint32_t i = 0; i < count; i++)
        if (!answer_ok(&answers[i]))
            return CKV_ERROR;
    if (ckv_sbuf_failed(out))
        return CKV_NOMEM;
    size_t start = out->len;
    add_head(out, REPLY_MAGIC, count);
    for (uint32_t i = 0; i < count; i++) {
        unsigned char head[ANSWER_HEAD];
        put_le32(put_le16(head, answers[i].status), answers[i].body_len);
        ckv_sbuf_add(out, head, sizeof(head));
        ckv_sbuf_add(out, answers[i].body, answers[i].body_len);
    }
    return finish(out, start);
}

/* ---- decoding ---------------------------------------------------------------------- */

/* The unread rest of the message. A getter that would step past end fails and leaves the
 * reader where it was; after a failure the reader is not used again. */
typedef struct reader {
    const unsigned char *p;
    const unsigned char *end;
} reader;

static inline bool get_u8(reader *r, uint8_t *out)
{
    if (r->p == r->end)
        return false;
    *out = *r->p++;
    return true;
}

static inline bool get_le16(reader *r, uint16_t *out)
{
    if (r->end - r->p < 2)
        return false;
    *out = (uint16_t)(r->p[0] | r->p[1] << 8);
    r->p += 2;
    return true;
}

static inline bool get_le32(reader *r, uint32_t *out)
{
    if (r->end - r->p < 4)
        return false;
    const unsigned char *p = r->p;
    *out = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    r->p += 4;
    return true;
}

static inline bool get_le64(reader *r, uint64_t *out)
{
    if (r->end - r->p < 8)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    *out = v;
    r->p += 8;
    return true;
}

/* n bytes (n within its limit, checked by the caller first), pointing into the message. */
static inline bool get_bytes(reader *r, uint32_t n, const char **out)
{
    if ((size_t)(r->end - r->p) < n)
        return false;
    *out = (const char *)r->p;
    r->p += n;
    return true;
}

/* The magic, then a count of 1..min(max, CKV_FWD_BATCH_MAX). */
static bool get_head(reader *r, const char *magic, uint32_t max, uint32_t *count)
{
    if (r->end - r->p < MAGIC_LEN || memcmp(r->p, magic, MAGIC_LEN) != 0)
        return false;
    r->p += MAGIC_LEN;
    return get_le32(r, count) && *count >= 1 && *count <= CKV_FWD_BATCH_MAX && *count <= max;
}

static bool get_item(reader *r, ckv_fwd_item *it)
{
    uint16_t uri_len;
    uint8_t id_len;
    if (!get_u8(r, &it->method) || it->method < CKV_FWD_GET || it->method > CKV_FWD_DELETE ||
        !get_le64(r, &it->deadline_ms) || !get_le16(r, &uri_len) || uri_len > CKV_FWD_URI_MAX ||
        !get_bytes(r, uri_len, &it->uri) || !get_u8(r, &id_len) || id_len > CKV_FWD_ID_MAX ||
        !get_bytes(r, id_len, &it->id) || !get_le32(r, &it->body_len) ||
        it->body_len > CKV_FWD_BODY_MAX || !get_bytes(r, it->body_len, &it->body))
        return false;
    it->uri_len = uri_len;
    it->id_len = id_len;
    return true;
}

static bool get_answer(reader *r, ckv_fwd_answer *a)
{
    return get_le16(r, &a->status) && status_ok(a->status) && get_le32(r, &a->body_len) &&
           a->body_len <= CKV_FWD_BODY_MAX && get_bytes(r, a->body_len, &a->body);
}

int ckv_fwd_decode_request(const char *buf, size_t len, ckv_fwd_item *items, uint32_t max,
                           uint32_t *count)
{
    *count = 0;
    if (buf == NULL)
        return CKV_ERROR;
    reader r = {(const unsigned char *)buf, (const unsigned char *)buf + len};
    uint32_t n;
    if (!get_head(&r, REQUEST_MAGIC, max, &n))
        return CKV_ERROR;
    for (uint32_t i = 0; i < n; i++)
        if (!get_item(&r, &items[i]))
            return CKV_ERROR;
    if (r.p != r.end)
        return CKV_ERROR; /* trailing bytes */
    *count = n;
    return CKV_OK;
}

int ckv_fwd_decode_reply(const char *buf, size_t len, ckv_fwd_answer *answers, uint32_t max,
                         uint32_t *count)
{
    *count = 0;
    if (buf == NULL)
        return CKV_ERROR;
    reader r = {(const unsigned char *)buf, (const unsigned char *)buf + len};
    uint32_t n;
    if (!get_head(&r, REPLY_MAGIC, max, &n))
        return CKV_ERROR;
    for (uint32_t i = 0; i < n; i++)
        if (!get_answer(&r, &answers[i]))
            return CKV_ERROR;
    if (r.p != r.end)
        return CKV_ERROR; /* trailing bytes */
    *count = n;
    return CKV_OK;
}
