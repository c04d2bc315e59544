/* ctx_header.c — the X-Causal-Context header: parse, join, format, find in a reply, fold
 * into a forwarded body (see ctx_header.h). */
#include "causalkv/ctx_header.h"
#include "json_read.h"

#include <stdlib.h>
#include <string.h>

#include "causalkv/json_codec.h"

/* The body's flags, so a header and a body that say the same are judged the same. */
#define DECODE_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* A header value as JSON; an empty (or blank) header is null, the empty context. */
static json_t *load_header(const char *value, size_t len)
{
    if (blank(value, len))
        return json_null();
    json_error_t jerr;
    return json_loadb(value, len, DECODE_FLAGS, &jerr);
}

int ckv_ctx_header_parse(const char *value, size_t len, const ckv_shard_map *map, ckv_context *out)
{
    out->epoch = map->epoch;
    ckv_vclock_init(&out->clock, map->view.n);
    json_t *j = load_header(value, len);
    if (j == NULL)
        return CKV_ERROR;
    int rc = ckv_json_context_decode(j, map, out);
    json_decref(j);
    if (rc != CKV_OK) { /* leave no half-parsed context behind */
        out->epoch = map->epoch;
        ckv_vclock_init(&out->clock, map->view.n);
        out->lamport = 0;
        out->has_lamport = false;
    }
    return rc;
}

/* Empty, or saying how late its history is (replica.c's rule for writes). */
static bool tracks_lamport(const ckv_context *c)
{
    return c->has_lamport || ckv_vclock_is_zero(&c->clock);
}

void ckv_context_join(ckv_context *dst, const ckv_context *src)
{
    if (src->epoch > dst->epoch) {
        *dst = *src;
    } else if (src->epoch == dst->epoch) {
        bool tracked = tracks_lamport(dst) && tracks_lamport(src);
        ckv_vclock_merge(&dst->clock, &src->clock);
        if (src->lamport > dst->lamport)
            dst->lamport = src->lamport;
        dst->has_lamport = tracked;
    }
}

void ckv_ctx_header_format(ckv_sbuf *b, const ckv_shard_map *map, const ckv_context *ctx)
{
    ckv_json_add_context_value(b, map, ctx);
}

/* The last occurrence of needle in the final window of hay. Inside a JSON string every
 * quote is escaped, so the key with its closing quote and colon cannot occur in a value. */
static const char *last_occurrence(const char *hay, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    size_t from = len > CKV_CTX_TAIL_BYTES ? len - CKV_CTX_TAIL_BYTES : 0;
    for (size_t i = len >= nl ? len - nl + 1 : 0; i-- > from;)
        if (memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

/* Length of the object starting at s[0] == '{' (strings skipped), 0 when unbalanced. */
static size_t object_length(const char *s, size_t len)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0; /* never a header value: no control bytes */
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{') {
            depth++;
        } else if (c == '}' && --depth == 0) {
            return i + 1;
        }
    }
    return 0;
}

bool ckv_ctx_header_find_in_reply(const char *body, size_t len, size_t *start, size_t *clen)
{
    static const char key[] = "\"causal-context\":";
    const char *k = last_occurrence(body, len, key);
    if (k == NULL)
        return false;
    size_t at = (size_t)(k - body) + sizeof(key) - 1;
    if (at >= len || body[at] != '{')
        return false;
    size_t n = object_length(body + at, len - at);
    if (n == 0)
        return false;
    *start = at;
    *clen = n;
    return true;
}

static bool is_counter(const json_t *j)
{
    return json_is_integer(j) && json_integer_value(j) >= 0;
}

/* A context value checked by the body's rules without a map: its epoch (default when
 * absent), its clock object (borrowed; NULL when it has none) and its Lamport time. */
typedef struct json_ctx {
    uint64_t epoch;
    json_t *clock;
    json_int_t lamport;
    bool has_lamport;
    bool tracked; /* it has a Lamport time, or no history at all */
} json_ctx;

static bool clock_is_empty(const json_t *clock)
{
    const char *addr;
    json_t *n;
    json_object_foreach((json_t *)clock, addr, n)
    {
        if (json_integer_value(n) != 0)
            return false;
    }
    return true;
}

static int context_shape(const json_t *c, uint64_t def, json_ctx *out)
{
    *out = (json_ctx){.epoch = def, .tracked = true};
    if (c == NULL || json_is_null(c) || (json_is_string(c) && json_string_length(c) == 0))
        return CKV_OK;
    if (!json_is_object(c))
        return CKV_ERROR;
    json_t *e = json_object_get(c, "epoch");
    if (e != NULL && !is_counter(e))
        return CKV_ERROR;
    if (e != NULL)
        out->epoch = (uint64_t)json_integer_value(e);
    json_t *l = json_object_get(c, "lamport");
    if (l != NULL && !is_counter(l))
        return CKV_ERROR;
    if (l != NULL)
        out->lamport = json_integer_value(l);
    out->has_lamport = l != NULL;
    json_t *clk = json_object_get(c, "clock");
    if (clk == NULL)
        return CKV_OK;
    if (!json_is_object(clk))
        return CKV_ERROR;
    const char *addr;
    json_t *n;
    json_object_foreach(clk, addr, n)
    {
        if (!is_counter(n))
            return CKV_ERROR;
    }
    out->clock = clk;
    out->tracked = l != NULL || clock_is_empty(clk);
    return CKV_OK;
}

/* into[addr] = max(into[addr], from[addr]) for every address of from. */
static int merge_clock_json(json_t *into, const json_t *from)
{
    const char *addr;
    json_t *n;
    json_object_foreach((json_t *)from, addr, n)
    {
        json_t *have = json_object_get(into, addr);
        if (have != NULL && json_integer_value(have) >= json_integer_value(n))
            continue;
        if (json_object_set(into, addr, n) != 0)
            return CKV_ERROR;
    }
    return CKV_OK;
}

/* {"epoch":E,"clock":{...}[,"lamport":L]}: the join of two checked contexts (it tracks
 * a Lamport time only when both do, as ckv_context_join); NULL when out of memory. */
static json_t *join_json(const json_ctx *a, const json_ctx *b)
{
    uint64_t e = a->epoch > b->epoch ? a->epoch : b->epoch;
    json_t *clock = json_object();
    if (clock == NULL)
        return NULL;
    if ((a->clock != NULL && a->epoch == e && merge_clock_json(clock, a->clock) != CKV_OK) ||
        (b->clock != NULL && b->epoch == e && merge_clock_json(clock, b->clock) != CKV_OK)) {
        json_decref(clock);
        return NULL;
    }
    /* "o" hands clock to the new object, also when packing fails */
    json_t *ctx = json_pack("{s:I,s:o}", "epoch", (json_int_t)e, "clock", clock);
    json_int_t l = a->lamport > b->lamport ? a->lamport : b->lamport;
    if (ctx != NULL && a->tracked && b->tracked && (a->has_lamport || b->has_lamport) &&
        json_object_set_new(ctx, "lamport", json_integer(l)) != 0) {
        json_decref(ctx);
        return NULL;
    }
    return ctx;
}

static int dump_into(const json_t *root, ckv_sbuf *out)
{
    char *text = json_dumps(root, JSON_COMPACT);
    if (text == NULL)
        return CKV_ERROR;
    ckv_sbuf_adds(out, text);
    free(text);
    return ckv_sbuf_failed(out) ? CKV_ERROR : CKV_OK;
}

int ckv_ctx_header_fold(const char *body, size_t blen, const char *hdr, size_t hlen,
                        uint64_t default_epoch, ckv_sbuf *out)
{
    json_ctx ch, cb;
    json_t *h = load_header(hdr, hlen);
    if (h == NULL || context_shape(h, default_epoch, &ch) != CKV_OK) {
        json_decref(h);
        return CKV_ERROR;
    }
    json_error_t jerr;
    json_t *root = blen == 0 ? json_object() : json_loadb(body, blen, DECODE_FLAGS, &jerr);
    json_t *value = json_is_object(root) ? json_object_get(root, "value") : NULL;
    int rc = CKV_DECLINED;
    if (json_is_object(root) && (value == NULL || json_is_string(value) || json_is_null(value)) &&
        context_shape(json_object_get(root, "causal-context"), default_epoch, &cb) == CKV_OK) {
        json_t *joined = join_json(&cb, &ch);
        rc = joined != NULL && json_object_set_new(root, "causal-context", joined) == 0
                 ? dump_into(root, out)
                 : CKV_NOMEM;
    }
    json_decref(root);
    json_decref(h);
    return rc;
}
