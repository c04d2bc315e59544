/* json_scan.c — the one-pass readers of client bodies and pushes (see json_scan.h). Every
 * helper returns false to decline; nothing here decides that a message is invalid. */
#include "causalkv/json_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "causalkv/common.h"

#define SCAN_DIGITS_MAX 18 /* below 10^18: no overflow, and jansson reads it as an integer */

typedef struct scan {
    const char *p, *end;
} scan;

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* The next character after white space, or 0 at the end. */
static char peek(scan *s)
{
    skip_ws(s);
    return s->p < s->end ? *s->p : 0;
}

static bool take(scan *s, char c)
{
    if (peek(s) != c)
        return false;
    s->p++;
    return true;
}

/* A token must end where JSON lets one end: "nullx" or "12e3" is not for this scanner. */
static bool at_token_end(const scan *s)
{
    if (s->p == s->end)
        return true;
    char c = *s->p;
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '}' || c == ']';
}

/* A string of printable ASCII without escapes. */
static bool take_string(scan *s, const char **str, size_t *len)
{
    if (!take(s, '"'))
        return false;
    const char *start = s->p;
    for (; s->p < s->end; s->p++) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            *str = start;
            *len = (size_t)(s->p - start);
            s->p++;
            return true;
        }
        if (c == '\\' || c < 0x20 || c >= 0x7f)
            return false;
    }
    return false;
}

static bool take_null(scan *s)
{
    if (peek(s) != 'n' || (size_t)(s->end - s->p) < 4 || memcmp(s->p, "null", 4) != 0)
        return false;
    s->p += 4;
    return at_token_end(s);
}

/* A non-negative integer as JSON writes it: no sign, no leading zero, no fraction. */
static bool take_u64(scan *s, uint64_t *out)
{
    skip_ws(s);
    const char *start = s->p;
    uint64_t v = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && s->p - start < SCAN_DIGITS_MAX + 1)
        v = v * 10 + (uint64_t)(*s->p++ - '0');
    size_t digits = (size_t)(s->p - start);
    if (digits == 0 || digits > SCAN_DIGITS_MAX || (digits > 1 && *start == '0'))
        return false;
    *out = v;
    return at_token_end(s);
}

static bool is_field(const char *str, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(str, name, len) == 0;
}

/* Reads one member's value, its name already read; false declines. */
typedef bool (*member_fn)(scan *s, const char *name, size_t len, void *arg);

/* {"name":value,...}: each member through member, which also refuses repeats. */
static bool take_object(scan *s, member_fn member, void *arg)
{
    if (!take(s, '{'))
        return false;
    if (take(s, '}'))
        return true;
    do {
        const char *name;
        size_t len;
        if (!take_string(s, &name, &len) || !take(s, ':') || !member(s, name, len, arg))
            return false;
    } while (take(s, ','));
    return take(s, '}');
}

typedef struct clock_read {
    const ckv_view *view;
    ckv_vclock *clock;
    uint64_t seen; /* CKV_VIEW_MAX bits */
} clock_read;

/* "addr":N with addr in the view, once. */
static bool clock_member(scan *s, const char *addr, size_t len, void *arg)
{
    clock_read *r = arg;
    uint64_t counter;
    int i = ckv_view_index_of_len(r->view, addr, len);
    if (i < 0 || (r->seen >> i & 1) != 0 || !take_u64(s, &counter))
        return false;
    r->seen |= UINT64_C(1) << i;
    r->clock->c[i] = counter;
    return true;
}

typedef struct context_read {
    const ckv_view *view;
    ckv_context *ctx; /* already the empty context of the map */
    bool has_epoch, has_clock;
} context_read;

static bool context_member(scan *s, const char *name, size_t len, void *arg)
{
    context_read *r = arg;
    if (is_field(name, len, "epoch") && !r->has_epoch)
        return r->has_epoch = take_u64(s, &r->ctx->epoch);
    if (is_field(name, len, "clock") && !r->has_clock) {
        clock_read clock = {r->view, &r->ctx->clock, 0};
        return r->has_clock = take_object(s, clock_member, &clock);
    }
    if (is_field(name, len, "lamport") && !r->ctx->has_lamport)
        return r->ctx->has_lamport = take_u64(s, &r->ctx->lamport);
    return false;
}

/* null, "" (what older clients send before they have a context) or an object. */
static bool take_context(scan *s, const ckv_view *view, ckv_context *ctx)
{
    const char *str;
    size_t len;
    context_read r = {view, ctx, false, false};
    switch (peek(s)) {
    case 'n':
        return take_null(s);
    case '"':
        return take_string(s, &str, &len) && len == 0;
    default:
        return take_object(s, context_member, &r);
    }
}

typedef struct body_read {
    const ckv_view *view;
    ckv_client_body *b;
    bool has_value, has_context;
} body_read;

static bool body_member(scan *s, const char *name, size_t len, void *arg)
{
    body_read *r = arg;
    if (is_field(name, len, "value") && !r->has_value) {
        r->has_value = true;
        if (peek(s) == 'n')
            return take_null(s);
        return r->b->has_value = take_string(s, &r->b->value, &r->b->value_len);
    }
    if (is_field(name, len, "causal-context") && !r->has_context)
        return r->has_context = take_context(s, r->view, &r->b->ctx);
    return false;
}

int ckv_scan_client_body(const char *buf, size_t len, const ckv_shard_map *map,
                         ckv_client_body *out)
{
    ckv_client_body b;
    b.json = NULL;
    b.value = NULL;
    b.value_len = 0;
    b.has_value = false;
    b.ctx.epoch = map->epoch;
    ckv_vclock_init(&b.ctx.clock, map->view.n);
    b.ctx.lamport = 0;
    b.ctx.has_lamport = false;
    scan s = {buf, buf + len};
    body_read r = {&map->view, &b, false, false};
    if (buf == NULL || !take_object(&s, body_member, &r))
        return CKV_DECLINED;
    skip_ws(&s);
    if (s.p != s.end)
        return CKV_DECLINED;
    *out = b;
    return CKV_OK;
}

/* ---- push --------------------------------------------------------------------------- */

/* "name": — the next field must be this one. */
static bool take_name(scan *s, const char *name)
{
    const char *str;
    size_t len;
    return take_string(s, &str, &len) && is_field(str, len, name) && take(s, ':');
}

static bool take_named_u64(scan *s, const char *name, uint64_t *out)
{
    return take_name(s, name) && take_u64(s, out);
}

/* [c0,...,c(n-1)]: exactly n counters. */
static bool take_clock_array(scan *s, uint32_t n, ckv_vclock *clock)
{
    if (n > CKV_VIEW_MAX || !take(s, '['))
        return false;
    ckv_vclock_init(clock, n);
    for (uint32_t i = 0; i < n; i++)
        if ((i > 0 && !take(s, ',')) || !take_u64(s, &clock->c[i]))
            return false;
    return take(s, ']');
}

/* One version, checked as ckv_json_version_decode checks it; NULL to decline. */
static ckv_version *take_version(scan *s, uint32_t n)
{
    const char *key, *value = NULL;
    size_t klen, vlen = 0;
    uint64_t origin, seq, lamport;
    if (!take(s, '{') || !take_name(s, "k") || !take_string(s, &key, &klen) || klen == 0 ||
        klen > CKV_KEY_MAX || !take(s, ',') || !take_name(s, "v"))
        return NULL;
    bool tomb = peek(s) == 'n';
    if (tomb ? !take_null(s) : !take_string(s, &value, &vlen))
        return NULL;
    if (!take(s, ',') || !take_named_u64(s, "o", &origin) || !take(s, ',') ||
        !take_named_u64(s, "s", &seq) || !take(s, ',') || !take_named_u64(s, "l", &lamport))
        return NULL;
    if (origin >= n && origin != CKV_ORIGIN_BASE)
        return NULL;
    ckv_vclock deps;
    deps.n = 0; /* absent: no dependencies */
    if (take(s, ',') && (!take_name(s, "d") || !take_clock_array(s, n, &deps)))
        return NULL;
    if (!take(s, '}'))
        return NULL;
    ckv_deps *d = NULL;
    if (!ckv_vclock_is_zero(&deps) && (d = ckv_deps_new(&deps)) == NULL)
        return NULL;
    ckv_version *v =
        ckv_version_new(key, klen, value, vlen, tomb, (uint16_t)origin, seq, lamport, d);
    ckv_deps_unref(d);
    return v;
}

int ckv_scan_push(const char *buf, size_t len, uint64_t epoch, uint32_t n, uint64_t *from,
                  ckv_scan_version_fn add, void *arg)
{
    scan s = {buf, buf + len};
    uint64_t e, f;
    if (buf == NULL || !take(&s, '{') || !take_named_u64(&s, "epoch", &e) || e != epoch ||
        !take(&s, ',') || !take_named_u64(&s, "from", &f) || !take(&s, ',') ||
        !take_name(&s, "versions") || !take(&s, '['))
        return CKV_DECLINED;
    if (!take(&s, ']')) {
        do {
            ckv_version *v = take_version(&s, n);
            if (v == NULL || add(arg, v) != CKV_OK)
                return CKV_DECLINED;
        } while (take(&s, ','));
        if (!take(&s, ']'))
            return CKV_DECLINED;
    }
    if (!take(&s, '}'))
        return CKV_DECLINED;
    skip_ws(&s);
    if (s.p != s.end)
        return CKV_DECLINED;
    *from = f;
    return CKV_OK;
}
