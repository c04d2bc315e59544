/* json_codec.c — JSON ↔ C values for client bodies, contexts and peer messages. */
#include "causalkv/json_codec.h"
#include "causalkv/json_scan.h"
#include "json_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Duplicate fields are refused: "last one wins" would let two readers of one body
 * disagree about what it said. NUL is allowed inside strings: values are byte strings. */
#define CKV_JSON_DECODE_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

int ckv_json_get_u64(const json_t *obj, const char *field, uint64_t *out)
{
    json_t *v = json_object_get(obj, field);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return CKV_ERROR;
    *out = (uint64_t)json_integer_value(v);
    return CKV_OK;
}

static int parse_context_clock(const json_t *clock, const ckv_shard_map *map, ckv_vclock *out)
{
    const char *addr;
    json_t *counter;

    if (!json_is_object(clock))
        return CKV_ERROR;
    json_object_foreach((json_t *)clock, addr, counter)
    {
        if (!json_is_integer(counter) || json_integer_value(counter) < 0)
            return CKV_ERROR;
        int idx = ckv_view_index_of(&map->view, addr);
        if (idx >= 0) /* addresses outside the view are dropped, never stored */
            out->c[idx] = (uint64_t)json_integer_value(counter);
    }
    return CKV_OK;
}

int ckv_json_context_decode(const json_t *j, const ckv_shard_map *map, ckv_context *ctx)
{
    ctx->epoch = map->epoch;
    ckv_vclock_init(&ctx->clock, map->view.n);
    ctx->lamport = 0;
    ctx->has_lamport = false;
    /* null and "" are what older clients send before they have a context */
    if (j == NULL || json_is_null(j) || (json_is_string(j) && json_string_length(j) == 0))
        return CKV_OK;
    if (!json_is_object(j))
        return CKV_ERROR;
    json_t *epoch = json_object_get(j, "epoch");
    if (epoch != NULL && ckv_json_get_u64(j, "epoch", &ctx->epoch) != CKV_OK)
        return CKV_ERROR;
    json_t *clock = json_object_get(j, "clock");
    if (clock != NULL && parse_context_clock(clock, map, &ctx->clock) != CKV_OK)
        return CKV_ERROR;
    /* absent in contexts of older nodes: their writes wait for their dependencies */
    if (json_object_get(j, "lamport") != NULL) {
        if (ckv_json_get_u64(j, "lamport", &ctx->lamport) != CKV_OK)
            return CKV_ERROR;
        ctx->has_lamport = true;
    }
    return CKV_OK;
}

int ckv_client_body_parse(const char *buf, size_t len, const ckv_shard_map *map,
                          ckv_client_body *out)
{
    if (len > 0 && ckv_scan_client_body(buf, len, map, out) == CKV_OK)
        return CKV_OK;
    return ckv_client_body_parse_json(buf, len, map, out);
}

int ckv_client_body_parse_json(const char *buf, size_t len, const ckv_shard_map *map,
                               ckv_client_body *out)
{
    memset(out, 0, sizeof(*out));
    out->ctx.epoch = map->epoch;
    ckv_vclock_init(&out->ctx.clock, map->view.n);
    if (len == 0)
        return CKV_OK;

    json_error_t jerr;
    json_t *root = json_loadb(buf, len, CKV_JSON_DECODE_FLAGS, &jerr);
    out->json = root;
    if (!json_is_object(root))
        return CKV_ERROR;

    json_t *value = json_object_get(root, "value");
    if (json_is_string(value)) {
        out->has_value = true;
        out->value = json_string_value(value);
        out->value_len = json_string_length(value);
    } else if (value != NULL && !json_is_null(value)) {
        return CKV_ERROR;
    }
    return ckv_json_context_decode(json_object_get(root, "causal-context"), map, &out->ctx);
}

void ckv_client_body_free(ckv_client_body *b)
{
    json_decref(ckv_client_body_json(b));
    b->json = NULL;
    b->value = NULL;
}

static int parse_view_field(const json_t *view, ckv_view *out, char *err, size_t errlen)
{
    out->n = 0;
    if (json_is_string(view)) {
        /* the list parser reads a C string: a NUL would silently cut the view short */
        if (strlen(json_string_value(view)) != json_string_length(view)) {
            snprintf(err, errlen, "view contains a NUL byte");
            return CKV_ERROR;
        }
        return ckv_view_parse_csv(json_string_value(view), out, err, errlen);
    }
    if (!json_is_array(view)) {
        snprintf(err, errlen, "view must be a list of addresses or a comma-separated string");
        return CKV_ERROR;
    }
    size_t i;
    json_t *item;
    json_array_foreach(view, i, item)
    {
        if (!json_is_string(item)) {
            snprintf(err, errlen, "view member %zu is not a string", i);
            return CKV_ERROR;
        }
        if (ckv_view_add(out, json_string_value(item), json_string_length(item), err, errlen) !=
            CKV_OK)
            return CKV_ERROR;
    }
    return CKV_OK;
}

static int parse_repl_factor(const json_t *j, long *rf, char *err, size_t errlen)
{
    if (json_is_integer(j)) {
        *rf = json_integer_value(j) > 1000000 ? 1000000 : (long)json_integer_value(j);
    } else if (json_is_string(j) && json_string_length(j) > 0 && json_string_length(j) < 8 &&
               strlen(json_string_value(j)) == json_string_length(j)) {
        char *end;
        errno = 0;
        *rf = strtol(json_string_value(j), &end, 10);
        if (*end != '\0' || errno != 0)
            goto bad;
    } else {
        goto bad;
    }
    if (*rf >= 1)
        return CKV_OK;
bad:
    snprintf(err, errlen, "repl-factor must be an integer >= 1");
    return CKV_ERROR;
}

int ckv_view_change_body_parse(const json_t *root, ckv_view *view, long *rf, char *err,
                               size_t errlen)
{
    if (!json_is_object(root)) {
        snprintf(err, errlen, "body must be an object with view and repl-factor");
        return CKV_ERROR;
    }
    json_t *v = json_object_get(root, "view");
    if (v == NULL) {
        snprintf(err, errlen, "view is missing");
        return CKV_ERROR;
    }
    if (parse_view_field(v, view, err, errlen) != CKV_OK)
        return CKV_ERROR;
    if (view->n == 0) {
        snprintf(err, errlen, "view is empty");
        return CKV_ERROR;
    }
    json_t *r = json_object_get(root, "repl-factor");
    if (r == NULL) {
        snprintf(err, errlen, "repl-factor is missing");
        return CKV_ERROR;
    }
    if (parse_repl_factor(r, rf, err, errlen) != CKV_OK)
        return CKV_ERROR;
    return ckv_view_check_rf(view, *rf, err, errlen);
}

int ckv_client_view_change_parse(const char *buf, size_t len, const ckv_shard_map *map,
                                 ckv_view *view, long *rf, char *err, size_t errlen)
{
    ckv_client_body b;
    int rc = ckv_client_body_parse_json(buf, len, map, &b); /* the view needs the tree */
    if (rc != CKV_OK)
        snprintf(err, errlen, "Failed to parse request body");
    else
        rc = ckv_view_change_body_parse(ckv_client_body_json(&b), view, rf, err, errlen);
    ckv_client_body_free(&b);
    return rc;
}

void ckv_json_add_context(ckv_sbuf *b, bool lead_comma, const ckv_shard_map *map,
                          const ckv_context *ctx)
{
    ckv_sbuf_adds(b, lead_comma ? ",\"causal-context\":" : "\"causal-context\":");
    ckv_json_add_context_value(b, map, ctx);
}

void ckv_json_add_context_value(ckv_sbuf *b, const ckv_shard_map *map, const ckv_context *ctx)
{
    ckv_sbuf_adds(b, "{\"epoch\":");
    ckv_sbuf_add_u64(b, ctx->epoch);
    ckv_sbuf_adds(b, ",\"clock\":{");
    bool first = true;
    for (uint32_t i = 0; i < ctx->clock.n && i < map->view.n; i++) {
        if (ctx->clock.c[i] == 0)
            continue;
        if (!first)
            ckv_sbuf_addc(b, ',');
        first = false;
        ckv_sbuf_add_json_str(b, map->view.addrs[i], strlen(map->view.addrs[i]));
        ckv_sbuf_addc(b, ':');
        ckv_sbuf_add_u64(b, ctx->clock.c[i]);
    }
    ckv_sbuf_addc(b, '}');
    if (ctx->has_lamport) {
        ckv_sbuf_adds(b, ",\"lamport\":");
        ckv_sbuf_add_u64(b, ctx->lamport);
    }
    ckv_sbuf_addc(b, '}');
}

void ckv_json_add_view(ckv_sbuf *b, const ckv_view *v)
{
    ckv_sbuf_addc(b, '[');
    for (uint32_t i = 0; i < v->n; i++) {
        if (i > 0)
            ckv_sbuf_addc(b, ',');
        ckv_sbuf_add_json_str(b, v->addrs[i], strlen(v->addrs[i]));
    }
    ckv_sbuf_addc(b, ']');
}

void ckv_json_add_clock_array(ckv_sbuf *b, const ckv_vclock *c)
{
    ckv_sbuf_addc(b, '[');
    for (uint32_t i = 0; i < c->n; i++) {
        if (i > 0)
            ckv_sbuf_addc(b, ',');
        ckv_sbuf_add_u64(b, c->c[i]);
    }
    ckv_sbuf_addc(b, ']');
}

int ckv_json_clock_array_decode(const json_t *arr, uint32_t n, ckv_vclock *out)
{
    if (!json_is_array(arr) || json_array_size(arr) != n || n > CKV_VIEW_MAX)
        return CKV_ERROR;
    ckv_vclock_init(out, n);
    for (uint32_t i = 0; i < n; i++) {
        json_t *c = json_array_get(arr, i);
        if (!json_is_integer(c) || json_integer_value(c) < 0)
            return CKV_ERROR;
        out->c[i] = (uint64_t)json_integer_value(c);
    }
    return CKV_OK;
}

/* One writer for both forms, so the wire format cannot drift between them. */
static void add_version(ckv_sbuf *b, const ckv_version *v, uint64_t origin, uint64_t seq,
                        const ckv_deps *deps)
{
    ckv_sbuf_adds(b, "{\"k\":");
    ckv_sbuf_add_json_str(b, ckv_version_key(v), v->key_len);
    ckv_sbuf_adds(b, ",\"v\":");
    if (v->tombstone)
        ckv_sbuf_adds(b, "null");
    else
        ckv_sbuf_add_json_str(b, ckv_version_value(v), v->value_len);
    ckv_sbuf_adds(b, ",\"o\":");
    ckv_sbuf_add_u64(b, origin);
    ckv_sbuf_adds(b, ",\"s\":");
    ckv_sbuf_add_u64(b, seq);
    ckv_sbuf_adds(b, ",\"l\":");
    ckv_sbuf_add_u64(b, v->lamport);
    if (deps != NULL) {
        ckv_sbuf_adds(b, ",\"d\":[");
        for (uint32_t i = 0; i < deps->n; i++) {
            if (i > 0)
                ckv_sbuf_addc(b, ',');
            ckv_sbuf_add_u64(b, deps->c[i]);
        }
        ckv_sbuf_addc(b, ']');
    }
    ckv_sbuf_addc(b, '}');
}

void ckv_json_add_version(ckv_sbuf *b, const ckv_version *v)
{
    add_version(b, v, v->origin, v->seq, v->deps);
}

void ckv_json_add_version_base(ckv_sbuf *b, const ckv_version *v)
{
    add_version(b, v, CKV_ORIGIN_BASE, 0, NULL);
}

size_t ckv_json_add_store_chunk(ckv_sbuf *b, const ckv_store *s, size_t cursor, bool base,
                                ckv_version_filter keep, const void *arg)
{
    size_t count = 0;
    const ckv_version *v;
    while (b->len < CKV_BATCH_SOFT_BYTES) {
        if ((v = ckv_store_next(s, &cursor)) == NULL)
            return 0;
        if (keep != NULL && !keep(v, arg))
            continue;
        if (count++ > 0)
            ckv_sbuf_addc(b, ',');
        if (base)
            ckv_json_add_version_base(b, v);
        else
            ckv_json_add_version(b, v);
    }
    return cursor;
}

static int decode_deps(const json_t *d, uint32_t n, ckv_deps **out)
{
    *out = NULL;
    if (d == NULL)
        return CKV_OK;
    ckv_vclock c;
    if (ckv_json_clock_array_decode(d, n, &c) != CKV_OK)
        return CKV_ERROR;
    if (ckv_vclock_is_zero(&c))
        return CKV_OK;
    *out = ckv_deps_new(&c);
    return *out != NULL ? CKV_OK : CKV_ERROR;
}

ckv_version *ckv_json_version_decode(const json_t *obj, uint32_t n)
{
    json_t *k = json_object_get(obj, "k");
    json_t *v = json_object_get(obj, "v");
    uint64_t origin, seq, lamport;
    if (!json_is_string(k) || json_string_length(k) == 0 || json_string_length(k) > CKV_KEY_MAX)
        return NULL;
    if (!(json_is_string(v) || json_is_null(v)))
        return NULL;
    if (ckv_json_get_u64(obj, "o", &origin) != CKV_OK ||
        ckv_json_get_u64(obj, "s", &seq) != CKV_OK ||
        ckv_json_get_u64(obj, "l", &lamport) != CKV_OK)
        return NULL;
    if (origin >= n && origin != CKV_ORIGIN_BASE)
        return NULL;
    ckv_deps *deps;
    if (decode_deps(json_object_get(obj, "d"), n, &deps) != CKV_OK)
        return NULL;
    bool tomb = json_is_null(v);
    ckv_version *ver = ckv_version_new(
        json_string_value(k), json_string_length(k), tomb ? NULL : json_string_value(v),
        tomb ? 0 : json_string_length(v), tomb, (uint16_t)origin, seq, lamport, deps);
    ckv_deps_unref(deps);
    return ver;
}

json_t *ckv_json_parse_message(const char *buf, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, CKV_JSON_DECODE_FLAGS, &jerr);
    if (root != NULL && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}
