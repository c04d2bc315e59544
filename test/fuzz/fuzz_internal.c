/* fuzz_internal.c — libFuzzer target: node-to-node message bodies (/internal/replicate,
 * /internal/sync and its reply, /internal/view-change/{prepare,collect,install,commit}).
 *
 * Decoded as the node does: ckv_json_parse_message, the u64 fields (epoch, from, cursor,
 * gen, restart, id, key-count), "clock" with ckv_json_clock_array_decode, every element
 * of "versions" with ckv_json_version_decode, and the prepare message's view fields.
 * The view size n is the length of "clock" when that is an array of 1..CKV_VIEW_MAX
 * elements (the sender's view), else 4.
 *
 * Invariants (abort on violation):
 *  - each decoder accepts exactly what json_codec.h documents (read independently);
 *  - a decoded version holds what the JSON says, and encoding it (ckv_json_add_version,
 *    ckv_json_add_version_base) then decoding gives an equal version;
 *  - a decoded clock round-trips through ckv_json_add_clock_array;
 *  - joining the decoded versions into a store keeps, for each key, a version that wins
 *    over (or is) every version joined for that key. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "causalkv/json_codec.h"
#include "causalkv/sbuf.h"
#include "causalkv/shard_map.h"
#include "causalkv/store.h"
#include "causalkv/vclock.h"
#include "causalkv/view.h"

#define DEFAULT_N 4
#define MAX_VERSIONS 256 /* decoded per message; the rest is only parsed */

/* ---- clocks ------------------------------------------------------------------------- */

static int clock_valid(const json_t *arr, uint32_t n)
{
    if (!json_is_array(arr) || json_array_size(arr) != n || n > CKV_VIEW_MAX)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!is_u64(json_array_get(arr, i)))
            return 0;
    return 1;
}

static void check_clock(const json_t *arr, uint32_t n)
{
    ckv_vclock c;
    int rc = ckv_json_clock_array_decode(arr, n, &c);
    CHECK(rc == CKV_OK || rc == CKV_ERROR);
    CHECK((rc == CKV_OK) == clock_valid(arr, n));
    if (rc != CKV_OK)
        return;
    CHECK(c.n == n);
    for (uint32_t i = 0; i < n; i++)
        CHECK(c.c[i] == (uint64_t)json_integer_value(json_array_get(arr, i)));

    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_json_add_clock_array(&b, &c);
    CHECK(!ckv_sbuf_failed(&b));
    json_error_t jerr;
    json_t *again = json_loadb(b.data, b.len, DECODE_FLAGS, &jerr);
    ckv_vclock c2;
    CHECK(again != NULL && ckv_json_clock_array_decode(again, n, &c2) == CKV_OK);
    CHECK(c2.n == c.n && memcmp(c2.c, c.c, n * sizeof(c.c[0])) == 0);
    json_decref(again);
    ckv_sbuf_free(&b);
}

/* ---- versions ----------------------------------------------------------------------- */

static int version_valid(const json_t *obj, uint32_t n)
{
    const json_t *k = json_object_get(obj, "k");
    const json_t *v = json_object_get(obj, "v");
    if (!json_is_string(k) || json_string_length(k) < 1 || json_string_length(k) > CKV_KEY_MAX)
        return 0;
    if (!json_is_string(v) && !json_is_null(v))
        return 0;
    const json_t *o = json_object_get(obj, "o");
    if (!is_u64(o) || !is_u64(json_object_get(obj, "s")) || !is_u64(json_object_get(obj, "l")))
        return 0;
    uint64_t origin = (uint64_t)json_integer_value(o);
    if (origin >= n && origin != CKV_ORIGIN_BASE)
        return 0;
    const json_t *d = json_object_get(obj, "d");
    return d == NULL || clock_valid(d, n);
}

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

/* The decoded version is what obj says. */
static void check_fields(const json_t *obj, uint32_t n, const ckv_version *v)
{
    const json_t *k = json_object_get(obj, "k");
    const json_t *val = json_object_get(obj, "v");
    CHECK(v->refs == 1);
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
    CHECK(v->origin == (uint64_t)json_integer_value(json_object_get(obj, "o")));
    CHECK(v->seq == (uint64_t)json_integer_value(json_object_get(obj, "s")));
    CHECK(v->lamport == (uint64_t)json_integer_value(json_object_get(obj, "l")));
    const json_t *d = json_object_get(obj, "d");
    if (v->deps != NULL) {
        CHECK(d != NULL && v->deps->n == n && v->deps->refs >= 1);
        ckv_vclock c;
        ckv_vclock_init(&c, n);
        memcpy(c.c, v->deps->c, n * sizeof(c.c[0]));
        CHECK(!ckv_vclock_is_zero(&c)); /* all-zero dependencies are stored as none */
        for (uint32_t i = 0; i < n; i++)
            CHECK(v->deps->c[i] == (uint64_t)json_integer_value(json_array_get(d, i)));
    } else if (d != NULL) {
        for (uint32_t i = 0; i < n; i++)
            CHECK(json_integer_value(json_array_get(d, i)) == 0);
    }
}

/* Encodes v with enc, decodes it again (as a member of a message) and returns it. */
static ckv_version *re_decode(void (*enc)(ckv_sbuf *, const ckv_version *), const ckv_version *v,
                              uint32_t n)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"versions\":[");
    enc(&b, v);
    ckv_sbuf_adds(&b, "]}");
    CHECK(!ckv_sbuf_failed(&b));
    json_t *msg = ckv_json_parse_message(b.data, b.len);
    CHECK(msg != NULL);
    json_t *arr = json_object_get(msg, "versions");
    CHECK(json_is_array(arr) && json_array_size(arr) == 1);
    CHECK(version_valid(json_array_get(arr, 0), n));
    ckv_version *again = ckv_json_version_decode(json_array_get(arr, 0), n);
    CHECK(again != NULL);
    check_fields(json_array_get(arr, 0), n, again);
    json_decref(msg);
    ckv_sbuf_free(&b);
    return again;
}

static void check_round_trips(const ckv_version *v, uint32_t n)
{
    ckv_version *again = re_decode(ckv_json_add_version, v, n);
    CHECK(versions_equal(v, again));
    CHECK(ckv_version_cmp(v, again) == 0);
    ckv_version_unref(again);

    ckv_version *base = re_decode(ckv_json_add_version_base, v, n);
    CHECK(base->origin == CKV_ORIGIN_BASE && base->seq == 0 && base->deps == NULL);
    CHECK(base->lamport == v->lamport && base->tombstone == v->tombstone);
    CHECK(base->key_len == v->key_len && base->value_len == v->value_len);
    CHECK(memcmp(base->data, v->data, (size_t)v->key_len + v->value_len) == 0);
    ckv_version_unref(base);
}

/* ---- other fields ------------------------------------------------------------------- */

static void check_u64_fields(const json_t *msg)
{
    static const char *const fields[] = {"epoch", "from",      "cursor", "gen",        "restart",
                                         "id",    "key-count", "staged", "repl-factor"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        uint64_t out = 0xDEADBEEF;
        int rc = ckv_json_get_u64(msg, fields[i], &out);
        const json_t *f = json_object_get(msg, fields[i]);
        CHECK(rc == CKV_OK || rc == CKV_ERROR);
        CHECK((rc == CKV_OK) == is_u64(f));
        if (rc == CKV_OK)
            CHECK(out == (uint64_t)json_integer_value(f));
        else
            CHECK(out == 0xDEADBEEF); /* untouched on error */
    }
}

static void check_view_result(const json_t *root, int rc, const ckv_view *view, long rf,
                              const char *err)
{
    CHECK(rc == CKV_OK || rc == CKV_ERROR);
    if (rc != CKV_OK) {
        CHECK(err[0] != '\0');
        return;
    }
    check_strings_whole(root);
    CHECK(view->n >= 1 && view->n <= CKV_VIEW_MAX);
    CHECK(rf >= 1 && view->n % (unsigned long)rf == 0);
    for (uint32_t i = 0; i < view->n; i++) {
        char norm[CKV_ADDR_MAX];
        CHECK(ckv_addr_parse(view->addrs[i], strlen(view->addrs[i]), norm) == CKV_OK);
        CHECK(strcmp(norm, view->addrs[i]) == 0);
        CHECK(ckv_view_index_of(view, view->addrs[i]) == (int)i);
    }
}

/* The prepare message: "view" + "repl-factor" of the new view, "old-view" wrapped the way
 * view_change.c does it. */
static void check_prepare(json_t *msg)
{
    ckv_view view;
    long rf = 0;
    char err[256] = "";
    int rc = ckv_view_change_body_parse(msg, &view, &rf, err, sizeof(err));
    check_view_result(msg, rc, &view, rf, err);

    json_t *ov = json_object_get(msg, "old-view");
    if (ov == NULL)
        return;
    json_t *wrap = json_pack("{s:O,s:i}", "view", ov, "repl-factor", 1);
    CHECK(wrap != NULL);
    ckv_view old;
    long orf = 0;
    err[0] = '\0';
    rc = ckv_view_change_body_parse(wrap, &old, &orf, err, sizeof(err));
    check_view_result(wrap, rc, &old, orf, err);
    if (rc == CKV_OK)
        CHECK(orf == 1);
    json_decref(wrap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *msg = ckv_json_parse_message((const char *)data, size);

    /* A message is exactly a JSON object (parsed with the same rules). */
    json_error_t jerr;
    json_t *ref = json_loadb((const char *)data, size, DECODE_FLAGS | JSON_DECODE_ANY, &jerr);
    CHECK((msg != NULL) == (json_is_object(ref) != 0));
    if (msg != NULL)
        CHECK(json_is_object(msg) && json_equal(msg, ref));
    json_decref(ref);
    if (msg == NULL)
        return 0;

    check_u64_fields(msg);

    const json_t *clock = json_object_get(msg, "clock");
    uint32_t n = DEFAULT_N;
    if (json_is_array(clock) && json_array_size(clock) >= 1 &&
        json_array_size(clock) <= CKV_VIEW_MAX)
        n = (uint32_t)json_array_size(clock);
    check_clock(clock, n);
    if (n != DEFAULT_N)
        check_clock(clock, DEFAULT_N);

    ckv_store *store = ckv_store_new();
    CHECK(store != NULL);
    ckv_version *kept[MAX_VERSIONS];
    size_t nkept = 0;
    const json_t *versions = json_object_get(msg, "versions");
    size_t i;
    json_t *item;
    json_array_foreach(versions, i, item)
    {
        if (i >= MAX_VERSIONS)
            break;
        ckv_version *v = ckv_json_version_decode(item, n);
        CHECK((v != NULL) == version_valid(item, n));
        if (v == NULL)
            continue;
        check_fields(item, n, v);
        check_round_trips(v, n);
        int rc = ckv_store_join(store, v);
        CHECK(rc == CKV_OK || rc == CKV_DECLINED);
        kept[nkept++] = v;
    }
    size_t keys = 0;
    for (size_t j = 0; j < nkept; j++) {
        const ckv_version *cur = ckv_store_get(store, ckv_version_key(kept[j]), kept[j]->key_len);
        CHECK(cur != NULL);
        CHECK(ckv_version_cmp(cur, kept[j]) >= 0);
        CHECK(cur->key_len == kept[j]->key_len &&
              memcmp(ckv_version_key(cur), ckv_version_key(kept[j]), cur->key_len) == 0);
    }
    size_t cursor = 0;
    while (ckv_store_next(store, &cursor) != NULL)
        keys++;
    CHECK(keys == ckv_store_live_count(store) + ckv_store_tombstone_count(store));
    CHECK(keys <= nkept);
    ckv_store_free(store);
    for (size_t j = 0; j < nkept; j++)
        ckv_version_unref(kept[j]);

    check_prepare(msg);
    json_decref(msg);
    return 0;
}
