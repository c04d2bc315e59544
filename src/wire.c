/* wire.c — node-to-node messages ↔ structs. The JSON pieces (versions, clocks, views, the
 * store-chunk streamer) are json_codec's, so there is one writer and one reader of each. */
#include "causalkv/wire.h"
#include "json_read.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/json_codec.h"
#include "causalkv/json_scan.h"

/* ---- versions ----------------------------------------------------------------------- */

int ckv_version_list_push(ckv_version_list *l, ckv_version *v)
{
    if (l->n == l->cap) {
        size_t cap = l->cap > 0 ? l->cap * 2 : 16;
        ckv_version **bigger = realloc(l->v, cap * sizeof(*bigger));
        if (bigger == NULL) {
            ckv_version_unref(v);
            return CKV_NOMEM;
        }
        l->v = bigger;
        l->cap = cap;
    }
    l->v[l->n++] = v;
    return CKV_OK;
}

void ckv_version_list_free(ckv_version_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        ckv_version_unref(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* "versions": an array whose every element is a valid version of a view of n. */
static int decode_versions(const json_t *arr, uint32_t n, ckv_version_list *out)
{
    if (!json_is_array(arr))
        return CKV_ERROR;
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        ckv_version *v = ckv_json_version_decode(item, n);
        if (v == NULL || ckv_version_list_push(out, v) != CKV_OK) {
            ckv_version_list_free(out);
            return CKV_ERROR;
        }
    }
    return CKV_OK;
}

static void add_list(ckv_sbuf *b, const ckv_version_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            ckv_sbuf_addc(b, ',');
        ckv_json_add_version(b, l->v[i]);
    }
}

/* Array elements of a chunked message: chunk's store streamed, or m's list (chunk NULL).
 * Returns the cursor a store stream stopped at, or fallback for a list. */
static size_t add_chunk_or_list(ckv_sbuf *b, const ckv_wire_chunk *chunk,
                                const ckv_version_list *list, size_t fallback)
{
    if (chunk == NULL) {
        add_list(b, list);
        return fallback;
    }
    if (chunk->store == NULL)
        return 0;
    return ckv_json_add_store_chunk(b, chunk->store, chunk->cursor, chunk->base, chunk->keep,
                                    chunk->arg);
}

/* ---- decoding helpers --------------------------------------------------------------- */

/* What a decoder was told about the view its clocks and versions belong to. */
typedef struct view_of {
    uint64_t epoch; /* replication messages of another epoch are read only as far as "epoch" */
    uint32_t n;
} view_of;

typedef int (*read_fields)(const json_t *msg, const view_of *view, void *out);

/* Every decoder: *out zeroed, the body parsed as one object, its fields read; on failure
 * list (the versions read so far, or NULL) released and *out zeroed again. */
static int decode(const char *body, size_t len, const view_of *view, read_fields fields, void *out,
                  size_t size, ckv_version_list *list)
{
    memset(out, 0, size);
    json_t *msg = ckv_json_parse_message(body, len);
    int rc = msg != NULL ? fields(msg, view, out) : CKV_ERROR;
    json_decref(msg);
    if (rc != CKV_OK) {
        if (list != NULL)
            ckv_version_list_free(list);
        memset(out, 0, size);
    }
    return rc;
}

static int get_u64(const json_t *msg, const char *field, uint64_t *out)
{
    return ckv_json_get_u64(msg, field, out);
}

/* An optional counter: absent or unreadable leaves *out (the default) as it is. */
static void get_u64_opt(const json_t *msg, const char *field, uint64_t *out)
{
    (void)ckv_json_get_u64(msg, field, out);
}

static int get_id(const json_t *msg, uint64_t *id)
{
    return get_u64(msg, "id", id) == CKV_OK && *id != 0 ? CKV_OK : CKV_ERROR;
}

static int get_clock(const json_t *msg, uint32_t n, ckv_vclock *out)
{
    return ckv_json_clock_array_decode(json_object_get(msg, "clock"), n, out);
}

/* "epoch" + "view" + "repl-factor" as a shard map. */
static int get_map(const json_t *msg, ckv_shard_map *map)
{
    uint64_t epoch;
    ckv_view view;
    long rf;
    char err[256];
    return get_u64(msg, "epoch", &epoch) == CKV_OK &&
                   ckv_view_change_body_parse(msg, &view, &rf, err, sizeof(err)) == CKV_OK &&
                   ckv_shard_map_init(map, &view, rf, epoch, err, sizeof(err)) == CKV_OK
               ? CKV_OK
               : CKV_ERROR;
}

/* ---- push --------------------------------------------------------------------------- */

size_t ckv_wire_push_encode(ckv_sbuf *b, const ckv_wire_push *m, const ckv_version *const *items,
                            size_t count)
{
    ckv_sbuf_adds(b, "{\"epoch\":");
    ckv_sbuf_add_u64(b, m->epoch);
    ckv_sbuf_adds(b, ",\"from\":");
    ckv_sbuf_add_u64(b, m->from);
    ckv_sbuf_adds(b, ",\"versions\":[");
    size_t written = 0;
    if (items == NULL) {
        add_list(b, &m->versions);
        written = m->versions.n;
    } else {
        for (; written < count && b->len < CKV_BATCH_SOFT_BYTES; written++) {
            if (written > 0)
                ckv_sbuf_addc(b, ',');
            ckv_json_add_version(b, items[written]);
        }
    }
    ckv_sbuf_adds(b, "]}");
    return written;
}

static int read_push(const json_t *msg, const view_of *view, void *o)
{
    ckv_wire_push *out = o;
    if (get_u64(msg, "epoch", &out->epoch) != CKV_OK || get_u64(msg, "from", &out->from) != CKV_OK)
        return CKV_ERROR;
    if (out->epoch != view->epoch)
        return CKV_OK;
    return decode_versions(json_object_get(msg, "versions"), view->n, &out->versions);
}

static int add_to_list(void *list, ckv_version *v)
{
    return ckv_version_list_push(list, v);
}

int ckv_wire_push_decode(const char *body, size_t len, uint64_t epoch, uint32_t n,
                         ckv_wire_push *out)
{
    memset(out, 0, sizeof(*out));
    if (ckv_scan_push(body, len, epoch, n, &out->from, add_to_list, &out->versions) == CKV_OK) {
        out->epoch = epoch;
        return CKV_OK;
    }
    ckv_version_list_free(&out->versions);
    return ckv_wire_push_decode_json(body, len, epoch, n, out);
}

int ckv_wire_push_decode_json(const char *body, size_t len, uint64_t epoch, uint32_t n,
                              ckv_wire_push *out)
{
    view_of view = {epoch, n};
    return decode(body, len, &view, read_push, out, sizeof(*out), &out->versions);
}

void ckv_wire_push_reply_encode(ckv_sbuf *b, const ckv_wire_push_reply *m)
{
    ckv_sbuf_adds(b, "{\"epoch\":");
    ckv_sbuf_add_u64(b, m->epoch);
    ckv_sbuf_adds(b, ",\"clock\":");
    ckv_json_add_clock_array(b, &m->clock);
    ckv_sbuf_addc(b, '}');
}

static int read_push_reply(const json_t *msg, const view_of *view, void *o)
{
    ckv_wire_push_reply *out = o;
    if (get_u64(msg, "epoch", &out->epoch) != CKV_OK)
        return CKV_ERROR;
    return out->epoch != view->epoch ? CKV_OK : get_clock(msg, view->n, &out->clock);
}

int ckv_wire_push_reply_decode(const char *body, size_t len, uint64_t epoch, uint32_t n,
                               ckv_wire_push_reply *out)
{
    view_of view = {epoch, n};
    return decode(body, len, &view, read_push_reply, out, sizeof(*out), NULL);
}

/* ---- sync --------------------------------------------------------------------------- */

void ckv_wire_sync_encode(ckv_sbuf *b, const ckv_wire_sync *m)
{
    ckv_sbuf_adds(b, "{\"epoch\":");
    ckv_sbuf_add_u64(b, m->epoch);
    ckv_sbuf_adds(b, ",\"from\":");
    ckv_sbuf_add_u64(b, m->from);
    ckv_sbuf_adds(b, ",\"cursor\":");
    ckv_sbuf_add_u64(b, m->cursor);
    ckv_sbuf_adds(b, ",\"gen\":");
    ckv_sbuf_add_u64(b, m->gen);
    ckv_sbuf_adds(b, ",\"clock\":");
    ckv_json_add_clock_array(b, &m->clock);
    if (m->want_base)
        ckv_sbuf_adds(b, ",\"want-base\":1");
    ckv_sbuf_addc(b, '}');
}

static int read_sync(const json_t *msg, const view_of *view, void *o)
{
    ckv_wire_sync *out = o;
    if (get_u64(msg, "epoch", &out->epoch) != CKV_OK || get_u64(msg, "from", &out->from) != CKV_OK)
        return CKV_ERROR;
    if (out->epoch != view->epoch)
        return CKV_OK;
    uint64_t want_base = 0; /* absent: the asker has the base */
    get_u64_opt(msg, "want-base", &want_base);
    out->want_base = want_base != 0;
    if (get_clock(msg, view->n, &out->clock) != CKV_OK ||
        get_u64(msg, "cursor", &out->cursor) != CKV_OK || get_u64(msg, "gen", &out->gen) != CKV_OK)
        return CKV_ERROR;
    return CKV_OK;
}

int ckv_wire_sync_decode(const char *body, size_t len, uint64_t epoch, uint32_t n,
                         ckv_wire_sync *out)
{
    view_of view = {epoch, n};
    return decode(body, len, &view, read_sync, out, sizeof(*out), NULL);
}

size_t ckv_wire_sync_reply_encode(ckv_sbuf *b, const ckv_wire_sync_reply *m,
                                  const ckv_wire_chunk *chunk)
{
    ckv_sbuf_adds(b, "{\"versions\":[");
    size_t next = add_chunk_or_list(b, chunk, &m->versions, (size_t)m->cursor);
    ckv_sbuf_adds(b, "],\"epoch\":");
    ckv_sbuf_add_u64(b, m->epoch);
    ckv_sbuf_adds(b, ",\"cursor\":");
    ckv_sbuf_add_u64(b, next);
    ckv_sbuf_adds(b, ",\"gen\":");
    ckv_sbuf_add_u64(b, m->gen);
    ckv_sbuf_adds(b, ",\"restart\":");
    ckv_sbuf_add_u64(b, m->restart ? 1 : 0);
    ckv_sbuf_adds(b, ",\"clock\":");
    ckv_json_add_clock_array(b, &m->clock);
    ckv_sbuf_addc(b, '}');
    return next;
}

static int read_sync_reply(const json_t *msg, const view_of *view, void *o)
{
    ckv_wire_sync_reply *out = o;
    if (get_u64(msg, "epoch", &out->epoch) != CKV_OK)
        return CKV_ERROR;
    if (out->epoch != view->epoch)
        return CKV_OK;
    uint64_t restart = 0; /* absent: no restart */
    get_u64_opt(msg, "restart", &restart);
    out->restart = restart != 0;
    if (get_u64(msg, "cursor", &out->cursor) != CKV_OK ||
        get_u64(msg, "gen", &out->gen) != CKV_OK || get_clock(msg, view->n, &out->clock) != CKV_OK)
        return CKV_ERROR;
    return decode_versions(json_object_get(msg, "versions"), view->n, &out->versions);
}

int ckv_wire_sync_reply_decode(const char *body, size_t len, uint64_t epoch, uint32_t n,
                               ckv_wire_sync_reply *out)
{
    view_of view = {epoch, n};
    return decode(body, len, &view, read_sync_reply, out, sizeof(*out), &out->versions);
}

/* ---- stale epoch, errors ------------------------------------------------------------ */

/* E,"repl-factor":R,"view":[...] (after an "epoch": the caller wrote). */
static void add_map(ckv_sbuf *b, const ckv_shard_map *map)
{
    ckv_sbuf_add_u64(b, map->epoch);
    ckv_sbuf_adds(b, ",\"repl-factor\":");
    ckv_sbuf_add_u64(b, map->rf);
    ckv_sbuf_adds(b, ",\"view\":");
    ckv_json_add_view(b, &map->view);
}

void ckv_wire_stale_epoch_encode(ckv_sbuf *b, const ckv_wire_stale_epoch *m)
{
    ckv_sbuf_adds(b, "{\"message\":\"Error in POST\",\"error\":\"Stale epoch\",\"epoch\":");
    add_map(b, &m->map);
    ckv_sbuf_adds(b, ",\"causal-context\":{}}");
}

static int read_stale_epoch(const json_t *msg, const view_of *view, void *o)
{
    (void)view;
    ckv_wire_stale_epoch *out = o;
    return get_map(msg, &out->map);
}

int ckv_wire_stale_epoch_decode(const char *body, size_t len, ckv_wire_stale_epoch *out)
{
    return decode(body, len, NULL, read_stale_epoch, out, sizeof(*out), NULL);
}

static int read_error(const json_t *msg, const view_of *view, void *o)
{
    (void)view;
    ckv_wire_error *out = o;
    const char *error = json_string_value(json_object_get(msg, "error"));
    if (error == NULL)
        return CKV_ERROR;
    snprintf(out->error, sizeof(out->error), "%s", error);
    return CKV_OK;
}

int ckv_wire_error_decode(const char *body, size_t len, ckv_wire_error *out)
{
    return decode(body, len, NULL, read_error, out, sizeof(*out), NULL);
}

/* ---- membership --------------------------------------------------------------------- */

void ckv_wire_view_encode(ckv_sbuf *b, const ckv_wire_view *m)
{
    ckv_sbuf_adds(b, "{\"epoch\":");
    add_map(b, &m->map);
    ckv_sbuf_adds(b, ",\"confirmed\":");
    ckv_sbuf_adds(b, m->confirmed ? "true}" : "false}");
}

static int read_view(const json_t *msg, const view_of *view, void *o)
{
    (void)view;
    ckv_wire_view *out = o;
    out->confirmed = json_is_true(json_object_get(msg, "confirmed"));
    return get_map(msg, &out->map);
}

int ckv_wire_view_decode(const char *body, size_t len, ckv_wire_view *out)
{
    return decode(body, len, NULL, read_view, out, sizeof(*out), NULL);
}

/* ---- view change -------------------------------------------------------------------- */

/* {"id":I then the next field's name (or the closing brace). */
static void add_id(ckv_sbuf *b, uint64_t id, const char *next)
{
    ckv_sbuf_adds(b, "{\"id\":");
    ckv_sbuf_add_u64(b, id);
    ckv_sbuf_adds(b, next);
}

void ckv_wire_prepare_encode(ckv_sbuf *b, const ckv_wire_prepare *m)
{
    add_id(b, m->id, ",\"epoch\":");
    add_map(b, &m->map);
    ckv_sbuf_adds(b, ",\"old-view\":");
    ckv_json_add_view(b, &m->old_view);
    if (m->deadline != UINT64_MAX) {
        ckv_sbuf_adds(b, ",\"deadline\":");
        ckv_sbuf_add_u64(b, m->deadline);
    }
    ckv_sbuf_addc(b, '}');
}

static int read_prepare(const json_t *msg, ckv_wire_prepare *out, char *err, size_t errlen)
{
    if (get_id(msg, &out->id) != CKV_OK) {
        snprintf(err, errlen, "Failed to parse request body");
        return CKV_ERROR;
    }
    uint64_t epoch;
    ckv_view view;
    long rf;
    if (get_u64(msg, "epoch", &epoch) != CKV_OK ||
        ckv_view_change_body_parse(msg, &view, &rf, err, errlen) != CKV_OK) {
        snprintf(err, errlen, "bad prepare message");
        return CKV_ERROR;
    }
    /* the old view has no replication factor of its own here: any valid list will do */
    const json_t *old = json_object_get(msg, "old-view");
    if (old == NULL) {
        snprintf(err, errlen, "old-view is missing");
        return CKV_ERROR;
    }
    json_t *wrap = json_pack("{s:O,s:i}", "view", old, "repl-factor", 1);
    if (wrap == NULL) {
        snprintf(err, errlen, "Out of memory");
        return CKV_ERROR;
    }
    long ignored;
    int rc = ckv_view_change_body_parse(wrap, &out->old_view, &ignored, err, errlen);
    json_decref(wrap);
    if (rc != CKV_OK || ckv_shard_map_init(&out->map, &view, rf, epoch, err, errlen) != CKV_OK)
        return CKV_ERROR;
    out->deadline = UINT64_MAX; /* absent: a coordinator that sets none */
    get_u64_opt(msg, "deadline", &out->deadline);
    return CKV_OK;
}

int ckv_wire_prepare_decode(const char *body, size_t len, ckv_wire_prepare *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_t *msg = ckv_json_parse_message(body, len);
    int rc = CKV_ERROR;
    if (msg == NULL)
        snprintf(err, errlen, "Failed to parse request body");
    else
        rc = read_prepare(msg, out, err, errlen);
    json_decref(msg);
    if (rc != CKV_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

void ckv_wire_prepare_reply_encode(ckv_sbuf *b, const ckv_wire_prepare_reply *m)
{
    ckv_sbuf_adds(b, "{\"epoch\":");
    ckv_sbuf_add_u64(b, m->epoch);
    ckv_sbuf_addc(b, '}');
}

static int read_prepare_reply(const json_t *msg, const view_of *view, void *o)
{
    (void)view;
    ckv_wire_prepare_reply *out = o;
    return get_u64(msg, "epoch", &out->epoch);
}

int ckv_wire_prepare_reply_decode(const char *body, size_t len, ckv_wire_prepare_reply *out)
{
    return decode(body, len, NULL, read_prepare_reply, out, sizeof(*out), NULL);
}

void ckv_wire_collect_encode(ckv_sbuf *b, const ckv_wire_collect *m)
{
    add_id(b, m->id, ",\"cursor\":");
    ckv_sbuf_add_u64(b, m->cursor);
    ckv_sbuf_adds(b, ",\"gen\":");
    ckv_sbuf_add_u64(b, m->gen);
    ckv_sbuf_addc(b, '}');
}

static int read_collect(const json_t *msg, const view_of *view, void *o)
{
    (void)view;
    ckv_wire_collect *out = o;
    if (get_id(msg, &out->id) != CKV_OK || get_u64(msg, "cursor", &out->cursor) != CKV_OK ||
        get_u64(msg, "gen", &out->gen) != CKV_OK)
        return CKV_ERROR;
    return CKV_OK;
}

int ckv_wire_collect_decode(const char *body, size_t len, ckv_wire_collect *out)
{
    return decode(body, len, NULL, read_collect, out, sizeof(*out), NULL);
}

size_t ckv_wire_collect_reply_encode(ckv_sbuf *b, const ckv_wire_collect_reply *m,
                                     const ckv_wire_chunk *chunk)
{
    ckv_sbuf_adds(b, "{\"versions\":[");
    size_t next = add_chunk_or_list(b, chunk, &m->versions, (size_t)m->cursor);
    ckv_sbuf_adds(b, "],\"cursor\":");
    ckv_sbuf_add_u64(b, next);
    ckv_sbuf_adds(b, ",\"gen\":");
    ckv_sbuf_add_u64(b, m->gen);
    ckv_sbuf_addc(b, '}');
    return next;
}

static int read_collect_reply(const json_t *msg, const view_of *view, void *o)
{
    ckv_wire_collect_reply *out = o;
    if (get_u64(msg, "cursor", &out->cursor) != CKV_OK || get_u64(msg, "gen", &out->gen) != CKV_OK)
        return CKV_ERROR;
    return decode_versions(json_object_get(msg, "versions"), view->n, &out->versions);
}

int ckv_wire_collect_reply_decode(const char *body, size_t len, uint32_t n,
                                  ckv_wire_collect_reply *out)
{
    view_of view = {0, n};
    return decode(body, len, &view, read_collect_reply, out, sizeof(*out), &out->versions);
}

size_t ckv_wire_install_encode(ckv_sbuf *b, const ckv_wire_install *m, const ckv_wire_chunk *chunk)
{
    add_id(b, m->id, ",\"versions\":[");
    size_t next = add_chunk_or_list(b, chunk, &m->versions, m->last ? 0 : 1);
    ckv_sbuf_adds(b, "],\"last\":");
    ckv_sbuf_adds(b, next == 0 ? "true}" : "false}");
    return next;
}

static int read_install(const json_t *msg, const view_of *view, void *o)
{
    ckv_wire_install *out = o;
    const json_t *last = json_object_get(msg, "last");
    if (get_id(msg, &out->id) != CKV_OK || !json_is_boolean(last))
        return CKV_ERROR;
    out->last = json_is_true(last);
    return decode_versions(json_object_get(msg, "versions"), view->n, &out->versions);
}

int ckv_wire_install_decode(const char *body, size_t len, uint32_t n, ckv_wire_install *out)
{
    view_of view = {0, n};
    return decode(body, len, &view, read_install, out, sizeof(*out), &out->versions);
}

void ckv_wire_install_reply_encode(ckv_sbuf *b, const ckv_wire_install_reply *m)
{
    ckv_sbuf_adds(b, "{\"staged\":");
    ckv_sbuf_add_u64(b, m->staged);
    ckv_sbuf_addc(b, '}');
}

static int read_install_reply(const json_t *msg, const view_of *view, void *o)
{
    (void)view;
    ckv_wire_install_reply *out = o;
    return get_u64(msg, "staged", &out->staged);
}

int ckv_wire_install_reply_decode(const char *body, size_t len, ckv_wire_install_reply *out)
{
    return decode(body, len, NULL, read_install_reply, out, sizeof(*out), NULL);
}

/* commit and abort: {"id":I} */
static int read_id_only(const json_t *msg, const view_of *view, void *o)
{
    (void)view;
    return get_id(msg, (uint64_t *)o);
}

void ckv_wire_commit_encode(ckv_sbuf *b, const ckv_wire_commit *m)
{
    add_id(b, m->id, "}");
}

int ckv_wire_commit_decode(const char *body, size_t len, ckv_wire_commit *out)
{
    return decode(body, len, NULL, read_id_only, &out->id, sizeof(out->id), NULL);
}

void ckv_wire_commit_reply_encode(ckv_sbuf *b, const ckv_wire_commit_reply *m)
{
    ckv_sbuf_addc(b, '{');
    if (m->key_count >= 0) {
        ckv_sbuf_adds(b, "\"key-count\":");
        ckv_sbuf_add_u64(b, (uint64_t)m->key_count);
        ckv_sbuf_addc(b, ',');
    }
    ckv_sbuf_adds(b, "\"epoch\":");
    ckv_sbuf_add_u64(b, m->epoch);
    ckv_sbuf_addc(b, '}');
}

static int read_commit_reply(const json_t *msg, const view_of *view, void *o)
{
    (void)view;
    ckv_wire_commit_reply *out = o;
    uint64_t count;
    out->key_count = get_u64(msg, "key-count", &count) == CKV_OK ? (int64_t)count : -1;
    return get_u64(msg, "epoch", &out->epoch);
}

int ckv_wire_commit_reply_decode(const char *body, size_t len, ckv_wire_commit_reply *out)
{
    return decode(body, len, NULL, read_commit_reply, out, sizeof(*out), NULL);
}

void ckv_wire_abort_encode(ckv_sbuf *b, const ckv_wire_abort *m)
{
    add_id(b, m->id, "}");
}

int ckv_wire_abort_decode(const char *body, size_t len, ckv_wire_abort *out)
{
    return decode(body, len, NULL, read_id_only, &out->id, sizeof(out->id), NULL);
}

void ckv_wire_abort_reply_encode(ckv_sbuf *b, const ckv_wire_abort_reply *m)
{
    ckv_sbuf_adds(b, m->aborted ? "{\"aborted\":true}" : "{\"aborted\":false}");
}

static int read_abort_reply(const json_t *msg, const view_of *view, void *o)
{
    (void)view;
    ckv_wire_abort_reply *out = o;
    const json_t *aborted = json_object_get(msg, "aborted");
    if (!json_is_boolean(aborted))
        return CKV_ERROR;
    out->aborted = json_is_true(aborted);
    return CKV_OK;
}

int ckv_wire_abort_reply_decode(const char *body, size_t len, ckv_wire_abort_reply *out)
{
    return decode(body, len, NULL, read_abort_reply, out, sizeof(*out), NULL);
}
