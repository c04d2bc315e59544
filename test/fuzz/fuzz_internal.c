/* fuzz_internal.c — libFuzzer target: node-to-node message bodies, through the wire
 * decoders the node calls (wire.h): every input is decoded as every message type — push
 * and its reply, sync and its reply, the stale-epoch 409, an error reply, the view
 * question/answer, and the view-change prepare, collect, install, commit and abort
 * messages with their replies.
 *
 * The view size n is the length of "clock" when that is an array of 1..CKV_VIEW_MAX
 * elements (the sender's view), else 4; the replication decoders are given the message's
 * own epoch (decoded whole) and another one (read only as far as the epoch).
 *
 * Invariants (abort on violation):
 *  - each decoder accepts exactly what wire.h documents, read independently here with
 *    jansson (the view syntax by ckv_view_change_body_parse, fuzzed by fuzz_view_change);
 *    a refusal leaves the struct all zero;
 *  - what a decoder yields is what the JSON says (counters, clocks, every version field,
 *    the documented defaults of optional fields);
 *  - a decoded struct re-encodes to bytes that decode to an equal struct, and re-encoding
 *    that gives the same bytes again (the encoding is canonical);
 *  - every decoder that carries "versions" yields the same list;
 *  - joining the decoded versions into a store keeps, for each key, a version that wins
 *    over (or is) every version joined for that key; the store streamed into a collect
 *    reply, a sync reply (filtered) and an install (base form) decodes to exactly the
 *    versions the store holds, in its order. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "causalkv/json_codec.h"
#include "../../src/json_read.h"
#include "causalkv/sbuf.h"
#include "causalkv/shard_map.h"
#include "causalkv/store.h"
#include "causalkv/vclock.h"
#include "causalkv/view.h"
#include "causalkv/wire.h"

#define DEFAULT_N 4

/* ---- the documented rules, read independently ----------------------------------------- */

static int u64_field(const json_t *msg, const char *field)
{
    return is_u64(json_object_get(msg, field));
}

static uint64_t u64_of(const json_t *msg, const char *field)
{
    return (uint64_t)json_integer_value(json_object_get(msg, field));
}

static int id_valid(const json_t *msg)
{
    return u64_field(msg, "id") && u64_of(msg, "id") != 0;
}

static int clock_valid(const json_t *arr, uint32_t n)
{
    if (!json_is_array(arr) || json_array_size(arr) != n || n > CKV_VIEW_MAX)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!is_u64(json_array_get(arr, i)))
            return 0;
    return 1;
}

static int version_valid(const json_t *obj, uint32_t n)
{
    const json_t *k = json_object_get(obj, "k");
    const json_t *v = json_object_get(obj, "v");
    if (!json_is_string(k) || json_string_length(k) < 1 || json_string_length(k) > CKV_KEY_MAX)
        return 0;
    if (!json_is_string(v) && !json_is_null(v))
        return 0;
    if (!u64_field(obj, "o") || !u64_field(obj, "s") || !u64_field(obj, "l"))
        return 0;
    uint64_t origin = u64_of(obj, "o");
    if (origin >= n && origin != CKV_ORIGIN_BASE)
        return 0;
    const json_t *d = json_object_get(obj, "d");
    return d == NULL || clock_valid(d, n);
}

static int versions_valid(const json_t *arr, uint32_t n)
{
    if (!json_is_array(arr))
        return 0;
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (!version_valid(json_array_get(arr, i), n))
            return 0;
    return 1;
}

/* "view" + "repl-factor" by the view-change body rules. */
static int view_valid(const json_t *obj)
{
    ckv_view v;
    long rf;
    char err[256];
    return ckv_view_change_body_parse(obj, &v, &rf, err, sizeof(err)) == CKV_OK;
}

static int old_view_valid(const json_t *msg)
{
    json_t *ov = json_object_get(msg, "old-view");
    if (ov == NULL)
        return 0;
    json_t *wrap = json_pack("{s:O,s:i}", "view", ov, "repl-factor", 1);
    CHECK(wrap != NULL);
    int ok = view_valid(wrap);
    json_decref(wrap);
    return ok;
}

/* ---- what was decoded is what the JSON says -------------------------------------------- */

static int deps_equal(const ckv_deps *a, const ckv_deps *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return a->n == b->n && memcmp(a->c, b->c, a->n * sizeof(a->c[0])) == 0;
}

static int versions_equal(const ckv_version *a, const ckv_version *b)
{
    return a->key_len == b->key_len && a->value_len == b->value_len &&
           a->tombstone == b->tombstone && a->origin == b->origin && a->seq == b->seq &&
           a->lamport == b->lamport && deps_equal(a->deps, b->deps) &&
           memcmp(a->data, b->data, (size_t)a->key_len + a->value_len) == 0;
}

static int lists_equal(const ckv_version_list *a, const ckv_version_list *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!versions_equal(a->v[i], b->v[i]))
            return 0;
    return 1;
}

static int clocks_equal(const ckv_vclock *a, const ckv_vclock *b)
{
    return a->n == b->n && memcmp(a->c, b->c, a->n * sizeof(a->c[0])) == 0;
}

static int maps_equal(const ckv_shard_map *a, const ckv_shard_map *b)
{
    return a->epoch == b->epoch && a->rf == b->rf && a->shards == b->shards &&
           ckv_view_equal(&a->view, &b->view);
}

static void check_all_zero(const void *p, size_t size)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < size; i++)
        CHECK(c[i] == 0);
}

static void check_clock_is(const json_t *arr, uint32_t n, const ckv_vclock *c)
{
    CHECK(c->n == n);
    for (uint32_t i = 0; i < n; i++)
        CHECK(c->c[i] == (uint64_t)json_integer_value(json_array_get(arr, i)));
}

/* The decoded version is what obj says. */
static void check_version_is(const json_t *obj, uint32_t n, const ckv_version *v)
{
    const json_t *k = json_object_get(obj, "k");
    const json_t *val = json_object_get(obj, "v");
    CHECK(v->refs >= 1);
    CHECK(v->key_len >= 1 && v->key_len <= CKV_KEY_MAX);
    CHECK(v->key_len == json_string_length(k));
    CHECK(memcmp(ckv_version_key(v), json_string_value(k), v->key_len) == 0);
    CHECK(v->tombstone == (json_is_null(val) ? 1 : 0));
    if (v->tombstone) {
        CHECK(v->value_len == 0);
    } else {
        CHECK(v->value_len == json_string_length(val));
        CHECK(v->value_len == 0 ||
              memcmp(ckv_version_value(v), json_string_value(val), v->value_len) == 0);
    }
    CHECK(v->origin < n || v->origin == CKV_ORIGIN_BASE);
    CHECK(v->origin == u64_of(obj, "o"));
    CHECK(v->seq == u64_of(obj, "s"));
    CHECK(v->lamport == u64_of(obj, "l"));
    const json_t *d = json_object_get(obj, "d");
    if (v->deps != NULL) {
        CHECK(d != NULL && v->deps->n == n && v->deps->refs >= 1);
        ckv_vclock c;
        ckv_vclock_init(&c, n);
        memcpy(c.c, v->deps->c, n * sizeof(c.c[0]));
        CHECK(!ckv_vclock_is_zero(&c)); /* all-zero dependencies are stored as none */
        check_clock_is(d, n, &c);
    } else if (d != NULL) {
        for (uint32_t i = 0; i < n; i++)
            CHECK(json_integer_value(json_array_get(d, i)) == 0);
    }
}

static void check_list_is(const json_t *arr, uint32_t n, const ckv_version_list *l)
{
    CHECK(l->n == json_array_size(arr));
    CHECK(l->n > 0 || l->v == NULL);
    for (size_t i = 0; i < l->n; i++) {
        CHECK(l->v[i]->refs == 1); /* the list holds the only reference */
        check_version_is(json_array_get(arr, i), n, l->v[i]);
    }
}

/* The map decoded is the view-change body parse of msg, at msg's epoch. */
static void check_map_is(const json_t *msg, const ckv_shard_map *map)
{
    ckv_view v;
    long rf;
    char err[256];
    CHECK(ckv_view_change_body_parse(msg, &v, &rf, err, sizeof(err)) == CKV_OK);
    CHECK(ckv_view_equal(&v, &map->view));
    CHECK(map->rf == (uint32_t)rf && map->shards * map->rf == map->view.n);
    CHECK(map->epoch == u64_of(msg, "epoch"));
}

/* ---- re-encoding ----------------------------------------------------------------------- */

/* Encodes with enc into a fresh buffer; the caller frees it. */
#define ENCODE(b, call)                                                                            \
    do {                                                                                           \
        ckv_sbuf_init(&(b));                                                                       \
        call;                                                                                      \
        CHECK(!ckv_sbuf_failed(&(b)));                                                             \
    } while (0)

/* The second encoding equals the first (canonical bytes). */
static void check_same_bytes(const ckv_sbuf *a, const ckv_sbuf *b)
{
    CHECK(a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

/* ---- one function per message ---------------------------------------------------------- */

typedef struct input {
    const char *body;
    size_t len;
    const json_t *msg; /* the independent reading (an object), or NULL */
    uint32_t n;
    uint64_t epoch; /* the epoch the replication decoders are given */
} input;

static int is_whole(const input *in)
{
    return in->msg != NULL && u64_field(in->msg, "epoch") && u64_of(in->msg, "epoch") == in->epoch;
}

/* Returns the decoded push (versions owned by the caller) when it decoded whole. */
static int check_push(const input *in, ckv_wire_push *out)
{
    const json_t *m = in->msg;
    int want = m != NULL && u64_field(m, "epoch") && u64_field(m, "from") &&
               (!is_whole(in) || versions_valid(json_object_get(m, "versions"), in->n));
    int rc = ckv_wire_push_decode(in->body, in->len, in->epoch, in->n, out);
    CHECK((rc == CKV_OK) == want);
    if (rc != CKV_OK) {
        check_all_zero(out, sizeof(*out));
        return 0;
    }
    CHECK(out->epoch == u64_of(m, "epoch") && out->from == u64_of(m, "from"));
    if (is_whole(in))
        check_list_is(json_object_get(m, "versions"), in->n, &out->versions);
    else
        CHECK(out->versions.n == 0);

    ckv_sbuf a, b;
    ckv_wire_push again;
    ENCODE(a, CHECK(ckv_wire_push_encode(&a, out, NULL, 0) == out->versions.n));
    CHECK(ckv_wire_push_decode(a.data, a.len, in->epoch, in->n, &again) == CKV_OK);
    CHECK(again.epoch == out->epoch && again.from == out->from);
    CHECK(lists_equal(&again.versions, &out->versions));
    ENCODE(b, ckv_wire_push_encode(&b, &again, ckv_version_list_items(&again.versions),
                                   again.versions.n));
    if (a.len < CKV_BATCH_SOFT_BYTES) /* a borrowed array is cut there, the list is not */
        check_same_bytes(&a, &b);     /* from the list or a borrowed array: the same bytes */
    ckv_version_list_free(&again.versions);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
    return is_whole(in);
}

static void check_push_reply(const input *in)
{
    const json_t *m = in->msg;
    int want = m != NULL && u64_field(m, "epoch") &&
               (!is_whole(in) || clock_valid(json_object_get(m, "clock"), in->n));
    ckv_wire_push_reply out, again;
    int rc = ckv_wire_push_reply_decode(in->body, in->len, in->epoch, in->n, &out);
    CHECK((rc == CKV_OK) == want);
    if (rc != CKV_OK) {
        check_all_zero(&out, sizeof(out));
        return;
    }
    CHECK(out.epoch == u64_of(m, "epoch"));
    if (is_whole(in))
        check_clock_is(json_object_get(m, "clock"), in->n, &out.clock);
    else
        CHECK(out.clock.n == 0);
    ckv_sbuf a, b;
    ENCODE(a, ckv_wire_push_reply_encode(&a, &out));
    CHECK(ckv_wire_push_reply_decode(a.data, a.len, in->epoch, in->n, &again) == CKV_OK);
    CHECK(again.epoch == out.epoch && clocks_equal(&again.clock, &out.clock));
    ENCODE(b, ckv_wire_push_reply_encode(&b, &again));
    check_same_bytes(&a, &b);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
}

static void check_sync(const input *in)
{
    const json_t *m = in->msg;
    int want = m != NULL && u64_field(m, "epoch") && u64_field(m, "from") &&
               (!is_whole(in) || (clock_valid(json_object_get(m, "clock"), in->n) &&
                                  u64_field(m, "cursor") && u64_field(m, "gen")));
    ckv_wire_sync out, again;
    int rc = ckv_wire_sync_decode(in->body, in->len, in->epoch, in->n, &out);
    CHECK((rc == CKV_OK) == want);
    if (rc != CKV_OK) {
        check_all_zero(&out, sizeof(out));
        return;
    }
    CHECK(out.epoch == u64_of(m, "epoch") && out.from == u64_of(m, "from"));
    if (is_whole(in)) {
        check_clock_is(json_object_get(m, "clock"), in->n, &out.clock);
        CHECK(out.cursor == u64_of(m, "cursor") && out.gen == u64_of(m, "gen"));
        CHECK(out.want_base == (u64_field(m, "want-base") && u64_of(m, "want-base") != 0));
    } else {
        CHECK(out.clock.n == 0 && out.cursor == 0 && out.gen == 0 && !out.want_base);
    }
    ckv_sbuf a, b;
    ENCODE(a, ckv_wire_sync_encode(&a, &out));
    CHECK(ckv_wire_sync_decode(a.data, a.len, in->epoch, in->n, &again) == CKV_OK);
    CHECK(again.epoch == out.epoch && again.from == out.from && again.cursor == out.cursor &&
          again.gen == out.gen && again.want_base == out.want_base &&
          clocks_equal(&again.clock, &out.clock));
    ENCODE(b, ckv_wire_sync_encode(&b, &again));
    check_same_bytes(&a, &b);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
}

static int check_sync_reply(const input *in, ckv_wire_sync_reply *out)
{
    const json_t *m = in->msg;
    int want = m != NULL && u64_field(m, "epoch") &&
               (!is_whole(in) || (u64_field(m, "cursor") && u64_field(m, "gen") &&
                                  clock_valid(json_object_get(m, "clock"), in->n) &&
                                  versions_valid(json_object_get(m, "versions"), in->n)));
    int rc = ckv_wire_sync_reply_decode(in->body, in->len, in->epoch, in->n, out);
    CHECK((rc == CKV_OK) == want);
    if (rc != CKV_OK) {
        check_all_zero(out, sizeof(*out));
        return 0;
    }
    CHECK(out->epoch == u64_of(m, "epoch"));
    if (is_whole(in)) {
        CHECK(out->cursor == u64_of(m, "cursor") && out->gen == u64_of(m, "gen"));
        CHECK(out->restart == (u64_field(m, "restart") && u64_of(m, "restart") != 0));
        check_clock_is(json_object_get(m, "clock"), in->n, &out->clock);
        check_list_is(json_object_get(m, "versions"), in->n, &out->versions);
    } else {
        CHECK(out->versions.n == 0 && out->cursor == 0 && out->clock.n == 0 && !out->restart);
    }
    ckv_sbuf a, b;
    ckv_wire_sync_reply again;
    ENCODE(a, CHECK(ckv_wire_sync_reply_encode(&a, out, NULL) == out->cursor));
    CHECK(ckv_wire_sync_reply_decode(a.data, a.len, in->epoch, in->n, &again) == CKV_OK);
    CHECK(again.epoch == out->epoch && again.cursor == out->cursor && again.gen == out->gen &&
          again.restart == out->restart && clocks_equal(&again.clock, &out->clock) &&
          lists_equal(&again.versions, &out->versions));
    ENCODE(b, ckv_wire_sync_reply_encode(&b, &again, NULL));
    check_same_bytes(&a, &b);
    ckv_version_list_free(&again.versions);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
    return is_whole(in);
}

static void check_stale_epoch(const input *in)
{
    const json_t *m = in->msg;
    int want = m != NULL && u64_field(m, "epoch") && view_valid(m);
    ckv_wire_stale_epoch out, again;
    int rc = ckv_wire_stale_epoch_decode(in->body, in->len, &out);
    CHECK((rc == CKV_OK) == want);
    if (rc != CKV_OK) {
        check_all_zero(&out, sizeof(out));
        return;
    }
    check_map_is(m, &out.map);
    ckv_sbuf a, b;
    ENCODE(a, ckv_wire_stale_epoch_encode(&a, &out));
    CHECK(ckv_wire_stale_epoch_decode(a.data, a.len, &again) == CKV_OK);
    CHECK(maps_equal(&again.map, &out.map));
    ckv_wire_error e;
    CHECK(ckv_wire_error_decode(a.data, a.len, &e) == CKV_OK);
    CHECK(strcmp(e.error, "Stale epoch") == 0);
    ENCODE(b, ckv_wire_stale_epoch_encode(&b, &again));
    check_same_bytes(&a, &b);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
}

static void check_error(const input *in)
{
    const json_t *m = in->msg;
    const json_t *e = m != NULL ? json_object_get(m, "error") : NULL;
    ckv_wire_error out;
    int rc = ckv_wire_error_decode(in->body, in->len, &out);
    CHECK((rc == CKV_OK) == json_is_string(e));
    if (rc != CKV_OK) {
        check_all_zero(&out, sizeof(out));
        return;
    }
    CHECK(memchr(out.error, '\0', sizeof(out.error)) != NULL);
    /* the string up to its first NUL, cut to fit */
    size_t want = strlen(json_string_value(e));
    if (want > sizeof(out.error) - 1)
        want = sizeof(out.error) - 1;
    CHECK(strlen(out.error) == want && memcmp(out.error, json_string_value(e), want) == 0);
}

static void check_view(const input *in)
{
    const json_t *m = in->msg;
    int want = m != NULL && u64_field(m, "epoch") && view_valid(m);
    ckv_wire_view out, again;
    int rc = ckv_wire_view_decode(in->body, in->len, &out);
    CHECK((rc == CKV_OK) == want);
    if (rc != CKV_OK) {
        check_all_zero(&out, sizeof(out));
        return;
    }
    check_map_is(m, &out.map);
    CHECK(out.confirmed == json_is_true(json_object_get(m, "confirmed")));
    ckv_sbuf a, b;
    ENCODE(a, ckv_wire_view_encode(&a, &out));
    CHECK(ckv_wire_view_decode(a.data, a.len, &again) == CKV_OK);
    CHECK(maps_equal(&again.map, &out.map) && again.confirmed == out.confirmed);
    ENCODE(b, ckv_wire_view_encode(&b, &again));
    check_same_bytes(&a, &b);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
}

static void check_prepare(const input *in)
{
    const json_t *m = in->msg;
    int want =
        m != NULL && id_valid(m) && u64_field(m, "epoch") && view_valid(m) && old_view_valid(m);
    ckv_wire_prepare out, again;
    char err[256];
    int rc = ckv_wire_prepare_decode(in->body, in->len, &out, err, sizeof(err));
    CHECK((rc == CKV_OK) == want);
    if (rc != CKV_OK) {
        check_all_zero(&out, sizeof(out));
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return;
    }
    CHECK(out.id == u64_of(m, "id"));
    check_map_is(m, &out.map);
    CHECK(out.old_view.n >= 1);
    CHECK(out.deadline == (u64_field(m, "deadline") ? u64_of(m, "deadline") : UINT64_MAX));
    ckv_sbuf a, b;
    ENCODE(a, ckv_wire_prepare_encode(&a, &out));
    CHECK(ckv_wire_prepare_decode(a.data, a.len, &again, err, sizeof(err)) == CKV_OK);
    CHECK(again.id == out.id && maps_equal(&again.map, &out.map) &&
          ckv_view_equal(&again.old_view, &out.old_view) && again.deadline == out.deadline);
    ENCODE(b, ckv_wire_prepare_encode(&b, &again));
    check_same_bytes(&a, &b);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
}

static void check_prepare_reply(const input *in)
{
    const json_t *m = in->msg;
    ckv_wire_prepare_reply out, again;
    int rc = ckv_wire_prepare_reply_decode(in->body, in->len, &out);
    CHECK((rc == CKV_OK) == (m != NULL && u64_field(m, "epoch")));
    if (rc != CKV_OK) {
        check_all_zero(&out, sizeof(out));
        return;
    }
    CHECK(out.epoch == u64_of(m, "epoch"));
    ckv_sbuf a;
    ENCODE(a, ckv_wire_prepare_reply_encode(&a, &out));
    CHECK(ckv_wire_prepare_reply_decode(a.data, a.len, &again) == CKV_OK);
    CHECK(again.epoch == out.epoch);
    ckv_sbuf_free(&a);
}

static void check_collect(const input *in)
{
    const json_t *m = in->msg;
    ckv_wire_collect out, again;
    int rc = ckv_wire_collect_decode(in->body, in->len, &out);
    CHECK((rc == CKV_OK) ==
          (m != NULL && id_valid(m) && u64_field(m, "cursor") && u64_field(m, "gen")));
    if (rc != CKV_OK) {
        check_all_zero(&out, sizeof(out));
        return;
    }
    CHECK(out.id == u64_of(m, "id") && out.cursor == u64_of(m, "cursor") &&
          out.gen == u64_of(m, "gen"));
    ckv_sbuf a;
    ENCODE(a, ckv_wire_collect_encode(&a, &out));
    CHECK(ckv_wire_collect_decode(a.data, a.len, &again) == CKV_OK);
    CHECK(again.id == out.id && again.cursor == out.cursor && again.gen == out.gen);
    ckv_sbuf_free(&a);
}

static int check_collect_reply(const input *in, ckv_wire_collect_reply *out)
{
    const json_t *m = in->msg;
    int want = m != NULL && u64_field(m, "cursor") && u64_field(m, "gen") &&
               versions_valid(json_object_get(m, "versions"), in->n);
    int rc = ckv_wire_collect_reply_decode(in->body, in->len, in->n, out);
    CHECK((rc == CKV_OK) == want);
    if (rc != CKV_OK) {
        check_all_zero(out, sizeof(*out));
        return 0;
    }
    CHECK(out->cursor == u64_of(m, "cursor") && out->gen == u64_of(m, "gen"));
    check_list_is(json_object_get(m, "versions"), in->n, &out->versions);
    ckv_sbuf a, b;
    ckv_wire_collect_reply again;
    ENCODE(a, CHECK(ckv_wire_collect_reply_encode(&a, out, NULL) == out->cursor));
    CHECK(ckv_wire_collect_reply_decode(a.data, a.len, in->n, &again) == CKV_OK);
    CHECK(again.cursor == out->cursor && again.gen == out->gen &&
          lists_equal(&again.versions, &out->versions));
    ENCODE(b, ckv_wire_collect_reply_encode(&b, &again, NULL));
    check_same_bytes(&a, &b);
    ckv_version_list_free(&again.versions);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
    return 1;
}

static int check_install(const input *in, ckv_wire_install *out)
{
    const json_t *m = in->msg;
    int want = m != NULL && id_valid(m) && json_is_boolean(json_object_get(m, "last")) &&
               versions_valid(json_object_get(m, "versions"), in->n);
    int rc = ckv_wire_install_decode(in->body, in->len, in->n, out);
    CHECK((rc == CKV_OK) == want);
    if (rc != CKV_OK) {
        check_all_zero(out, sizeof(*out));
        return 0;
    }
    CHECK(out->id == u64_of(m, "id"));
    CHECK(out->last == json_is_true(json_object_get(m, "last")));
    check_list_is(json_object_get(m, "versions"), in->n, &out->versions);
    ckv_sbuf a, b;
    ckv_wire_install again;
    ENCODE(a, CHECK(ckv_wire_install_encode(&a, out, NULL) == (out->last ? 0u : 1u)));
    CHECK(ckv_wire_install_decode(a.data, a.len, in->n, &again) == CKV_OK);
    CHECK(again.id == out->id && again.last == out->last &&
          lists_equal(&again.versions, &out->versions));
    ENCODE(b, ckv_wire_install_encode(&b, &again, NULL));
    check_same_bytes(&a, &b);
    ckv_version_list_free(&again.versions);
    ckv_sbuf_free(&a);
    ckv_sbuf_free(&b);
    return 1;
}

static void check_small_replies(const input *in)
{
    const json_t *m = in->msg;
    ckv_sbuf a;

    ckv_wire_install_reply ir, ir2;
    int rc = ckv_wire_install_reply_decode(in->body, in->len, &ir);
    CHECK((rc == CKV_OK) == (m != NULL && u64_field(m, "staged")));
    if (rc == CKV_OK) {
        CHECK(ir.staged == u64_of(m, "staged"));
        ENCODE(a, ckv_wire_install_reply_encode(&a, &ir));
        CHECK(ckv_wire_install_reply_decode(a.data, a.len, &ir2) == CKV_OK);
        CHECK(ir2.staged == ir.staged);
        ckv_sbuf_free(&a);
    } else {
        check_all_zero(&ir, sizeof(ir));
    }

    ckv_wire_commit cm, cm2;
    rc = ckv_wire_commit_decode(in->body, in->len, &cm);
    CHECK((rc == CKV_OK) == (m != NULL && id_valid(m)));
    if (rc == CKV_OK) {
        CHECK(cm.id == u64_of(m, "id"));
        ENCODE(a, ckv_wire_commit_encode(&a, &cm));
        CHECK(ckv_wire_commit_decode(a.data, a.len, &cm2) == CKV_OK && cm2.id == cm.id);
        ckv_sbuf_free(&a);
    } else {
        check_all_zero(&cm, sizeof(cm));
    }

    ckv_wire_commit_reply cr, cr2;
    rc = ckv_wire_commit_reply_decode(in->body, in->len, &cr);
    CHECK((rc == CKV_OK) == (m != NULL && u64_field(m, "epoch")));
    if (rc == CKV_OK) {
        CHECK(cr.epoch == u64_of(m, "epoch"));
        CHECK(cr.key_count ==
              (u64_field(m, "key-count") ? (int64_t)u64_of(m, "key-count") : (int64_t)-1));
        ENCODE(a, ckv_wire_commit_reply_encode(&a, &cr));
        CHECK(ckv_wire_commit_reply_decode(a.data, a.len, &cr2) == CKV_OK);
        CHECK(cr2.epoch == cr.epoch && cr2.key_count == cr.key_count);
        ckv_sbuf_free(&a);
    } else {
        check_all_zero(&cr, sizeof(cr));
    }

    ckv_wire_abort ab, ab2;
    rc = ckv_wire_abort_decode(in->body, in->len, &ab);
    CHECK((rc == CKV_OK) == (m != NULL && id_valid(m)));
    if (rc == CKV_OK) {
        CHECK(ab.id == u64_of(m, "id"));
        ENCODE(a, ckv_wire_abort_encode(&a, &ab));
        CHECK(ckv_wire_abort_decode(a.data, a.len, &ab2) == CKV_OK && ab2.id == ab.id);
        ckv_sbuf_free(&a);
    } else {
        check_all_zero(&ab, sizeof(ab));
    }

    ckv_wire_abort_reply ar, ar2;
    rc = ckv_wire_abort_reply_decode(in->body, in->len, &ar);
    const json_t *aborted = m != NULL ? json_object_get(m, "aborted") : NULL;
    CHECK((rc == CKV_OK) == json_is_boolean(aborted));
    if (rc == CKV_OK) {
        CHECK(ar.aborted == json_is_true(aborted));
        ENCODE(a, ckv_wire_abort_reply_encode(&a, &ar));
        CHECK(ckv_wire_abort_reply_decode(a.data, a.len, &ar2) == CKV_OK);
        CHECK(ar2.aborted == ar.aborted);
        ckv_sbuf_free(&a);
    } else {
        check_all_zero(&ar, sizeof(ar));
    }
}

/* ---- versions into a store, and the store streamed back -------------------------------- */

static bool odd_seq(const ckv_version *v, const void *arg)
{
    (void)arg;
    return v->seq % 2 == 1;
}

static void check_join(const ckv_version_list *l, uint32_t n)
{
    ckv_store *store = ckv_store_new();
    CHECK(store != NULL);
    for (size_t i = 0; i < l->n; i++) {
        int rc = ckv_store_join(store, l->v[i]);
        CHECK(rc == CKV_OK || rc == CKV_DECLINED);
    }
    for (size_t i = 0; i < l->n; i++) {
        const ckv_version *cur = ckv_store_get(store, ckv_version_key(l->v[i]), l->v[i]->key_len);
        CHECK(cur != NULL);
        CHECK(ckv_version_cmp(cur, l->v[i]) >= 0);
        CHECK(cur->key_len == l->v[i]->key_len &&
              memcmp(ckv_version_key(cur), ckv_version_key(l->v[i]), cur->key_len) == 0);
    }
    size_t keys = 0, cursor = 0;
    while (ckv_store_next(store, &cursor) != NULL)
        keys++;
    CHECK(keys == ckv_store_live_count(store) + ckv_store_tombstone_count(store));
    CHECK(keys <= l->n);

    /* collect reply (all), sync reply (odd seqs), install (base form) from the store */
    for (int kind = 0; kind < 3; kind++) {
        ckv_wire_chunk chunk = {
            .store = store, .base = kind == 2, .keep = kind == 1 ? odd_seq : NULL};
        ckv_sbuf b;
        ckv_version_list got = {0};
        size_t next;
        ckv_sbuf_init(&b);
        if (kind == 0) {
            ckv_wire_collect_reply hdr = {.gen = ckv_store_generation(store)}, m;
            next = ckv_wire_collect_reply_encode(&b, &hdr, &chunk);
            CHECK(ckv_wire_collect_reply_decode(b.data, b.len, n, &m) == CKV_OK);
            CHECK(m.cursor == next && m.gen == hdr.gen);
            got = m.versions;
        } else if (kind == 1) {
            ckv_wire_sync_reply hdr = {.epoch = 1, .gen = 2}, m;
            ckv_vclock_init(&hdr.clock, n);
            next = ckv_wire_sync_reply_encode(&b, &hdr, &chunk);
            CHECK(ckv_wire_sync_reply_decode(b.data, b.len, 1, n, &m) == CKV_OK);
            CHECK(m.cursor == next);
            got = m.versions;
        } else {
            ckv_wire_install hdr = {.id = 1}, m;
            next = ckv_wire_install_encode(&b, &hdr, &chunk);
            CHECK(ckv_wire_install_decode(b.data, b.len, n, &m) == CKV_OK);
            CHECK(m.last == (next == 0));
            got = m.versions;
        }
        CHECK(!ckv_sbuf_failed(&b));
        CHECK(next == 0 || b.len >= CKV_BATCH_SOFT_BYTES);
        size_t pos = 0, i = 0;
        const ckv_version *v;
        while (i < got.n && (v = ckv_store_next(store, &pos)) != NULL) {
            if (chunk.keep != NULL && !chunk.keep(v, NULL))
                continue;
            const ckv_version *g = got.v[i++];
            if (chunk.base) {
                CHECK(g->origin == CKV_ORIGIN_BASE && g->seq == 0 && g->deps == NULL);
                CHECK(g->lamport == v->lamport && g->tombstone == v->tombstone);
                CHECK(g->key_len == v->key_len && g->value_len == v->value_len);
                CHECK(memcmp(g->data, v->data, (size_t)v->key_len + v->value_len) == 0);
            } else {
                CHECK(versions_equal(g, v));
            }
        }
        CHECK(i == got.n);
        if (next == 0) /* the whole store went in: nothing kept was left out */
            while ((v = ckv_store_next(store, &pos)) != NULL)
                CHECK(chunk.keep != NULL && !chunk.keep(v, NULL));
        ckv_version_list_free(&got);
        ckv_sbuf_free(&b);
    }
    ckv_store_free(store);
}

/* ---- the target ------------------------------------------------------------------------ */

static void run_all(const input *in)
{
    ckv_wire_push push;
    ckv_wire_sync_reply sync_reply;
    ckv_wire_collect_reply collect_reply;
    ckv_wire_install install;
    const ckv_version_list *lists[4];
    size_t nlists = 0;

    if (check_push(in, &push))
        lists[nlists++] = &push.versions;
    check_push_reply(in);
    check_sync(in);
    if (check_sync_reply(in, &sync_reply))
        lists[nlists++] = &sync_reply.versions;
    if (check_collect_reply(in, &collect_reply))
        lists[nlists++] = &collect_reply.versions;
    if (check_install(in, &install))
        lists[nlists++] = &install.versions;

    /* one "versions" array, one reading of it, whichever message carries it */
    for (size_t i = 1; i < nlists; i++)
        CHECK(lists_equal(lists[0], lists[i]));
    if (nlists > 0)
        check_join(lists[0], in->n);

    ckv_version_list_free(&push.versions);
    ckv_version_list_free(&sync_reply.versions);
    ckv_version_list_free(&collect_reply.versions);
    ckv_version_list_free(&install.versions);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the independent reading: one JSON object, same flags */
    json_error_t jerr;
    json_t *ref = json_loadb((const char *)data, size, DECODE_FLAGS | JSON_DECODE_ANY, &jerr);
    const json_t *msg = json_is_object(ref) ? ref : NULL;

    const json_t *clock = msg != NULL ? json_object_get(msg, "clock") : NULL;
    uint32_t n = DEFAULT_N;
    if (json_is_array(clock) && json_array_size(clock) >= 1 &&
        json_array_size(clock) <= CKV_VIEW_MAX)
        n = (uint32_t)json_array_size(clock);
    uint64_t epoch = msg != NULL && u64_field(msg, "epoch") ? u64_of(msg, "epoch") : 0;

    input in = {(const char *)data, size, msg, n, epoch};
    run_all(&in);
    /* a node of another epoch reads it only as far as the epoch */
    in.epoch = epoch + 1;
    ckv_wire_push other_push;
    ckv_wire_sync_reply other_reply;
    CHECK(!check_push(&in, &other_push) && other_push.versions.n == 0);
    check_push_reply(&in);
    check_sync(&in);
    CHECK(!check_sync_reply(&in, &other_reply) && other_reply.versions.n == 0);
    ckv_version_list_free(&other_push.versions);
    ckv_version_list_free(&other_reply.versions);
    /* the same message read in a view of the default size */
    if (n != DEFAULT_N) {
        in.epoch = epoch;
        in.n = DEFAULT_N;
        run_all(&in);
    }

    check_stale_epoch(&in);
    check_error(&in);
    check_view(&in);
    check_prepare(&in);
    check_prepare_reply(&in);
    check_collect(&in);
    check_small_replies(&in);
    json_decref(ref);
    return 0;
}
