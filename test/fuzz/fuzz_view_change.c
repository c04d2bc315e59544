/* fuzz_view_change.c — libFuzzer target: the view-change body ({"view": [...] or "a:p,b:p",
 * "repl-factor": n}) and the comma-separated view syntax shared with the VIEW variable.
 *
 * The input is tried three ways: as a JSON body (ckv_view_change_body_parse), as a raw
 * comma-separated list (ckv_view_parse_csv) and, when it is valid UTF-8 without NUL, as
 * the string form of "view" in a body — which must agree with the raw list.
 *
 * Invariants (abort on violation):
 *  - an accepted view has 1..CKV_VIEW_MAX normalised, distinct members and an rf >= 1
 *    dividing n, and a shard map can be built from it;
 *  - the list parser leaves its output untouched on error and says why in err;
 *  - every accepted member is the normalisation of the corresponding list item, and
 *    normalising is idempotent (also through ckv_addr_split). */
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
#include "causalkv/view.h"

static void check_addr(const char *addr)
{
    CHECK(memchr(addr, '\0', CKV_ADDR_MAX) != NULL);
    char norm[CKV_ADDR_MAX];
    CHECK(ckv_addr_parse(addr, strlen(addr), norm) == CKV_OK);
    CHECK(strcmp(norm, addr) == 0);
    char host[CKV_HOST_MAX], back[CKV_ADDR_MAX + 8];
    uint16_t port = 0;
    CHECK(ckv_addr_split(addr, host, &port) == CKV_OK);
    CHECK(port >= 1);
    snprintf(back, sizeof(back), addr[0] == '[' ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
    CHECK(strcmp(back, addr) == 0);
}

static void check_view(const ckv_view *v)
{
    CHECK(v->n >= 1 && v->n <= CKV_VIEW_MAX);
    for (uint32_t i = 0; i < v->n; i++) {
        check_addr(v->addrs[i]);
        CHECK(ckv_view_index_of(v, v->addrs[i]) == (int)i); /* no duplicates */
    }
    CHECK(ckv_view_equal(v, v));
}

static void check_rf(const ckv_view *v)
{
    static const long rfs[] = {-1, 0, 1, 2, 3, 4, 64, 1000000};
    for (size_t i = 0; i < sizeof(rfs) / sizeof(rfs[0]); i++) {
        char err[128] = "";
        int rc = ckv_view_check_rf(v, rfs[i], err, sizeof(err));
        int want = v->n >= 1 && rfs[i] >= 1 && v->n % (unsigned long)rfs[i] == 0;
        CHECK((rc == CKV_OK) == want);
        CHECK(rc == CKV_OK || err[0] != '\0');
    }
}

/* The JSON body path. Returns the rc; view/rf filled on CKV_OK. */
static int body_parse(const json_t *root, ckv_view *view, long *rf)
{
    char err[256];
    err[0] = '\0';
    int rc = ckv_view_change_body_parse(root, view, rf, err, sizeof(err));
    CHECK(rc == CKV_OK || rc == CKV_ERROR);
    if (rc != CKV_OK) {
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return rc;
    }
    CHECK(json_is_object(root));
    check_strings_whole(root);
    check_view(view);
    CHECK(*rf >= 1 && view->n % (unsigned long)*rf == 0);
    ckv_shard_map m;
    CHECK(ckv_shard_map_init(&m, view, *rf, 3, err, sizeof(err)) == CKV_OK);
    CHECK(m.shards * m.rf == view->n);
    return rc;
}

/* Items of the list, each trimmed and normalised, must be the members in order. */
static void check_items(const char *csv, const ckv_view *v)
{
    const char *p = csv;
    uint32_t i = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char norm[CKV_ADDR_MAX];
        CHECK(i < v->n);
        CHECK(ckv_addr_parse(p, len, norm) == CKV_OK);
        CHECK(strcmp(norm, v->addrs[i]) == 0);
        i++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    CHECK(i == v->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. As a JSON view-change body (any JSON value: non-objects must be refused). */
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, DECODE_FLAGS | JSON_DECODE_ANY, &jerr);
    ckv_view jv;
    long jrf = 0;
    if (body_parse(root, &jv, &jrf) == CKV_OK)
        check_rf(&jv);
    json_decref(root);

    /* 2. As a raw comma-separated list (the VIEW variable; "view" as one string). */
    char *csv = malloc(size + 1);
    CHECK(csv != NULL);
    if (size > 0)
        memcpy(csv, data, size);
    csv[size] = '\0';

    static ckv_view sentinel;
    static int sentinel_ready;
    if (!sentinel_ready) {
        memset(&sentinel, 0xA5, sizeof(sentinel));
        sentinel_ready = 1;
    }
    ckv_view cv = sentinel;
    char err[256];
    err[0] = '\0';
    int rc = ckv_view_parse_csv(csv, &cv, err, sizeof(err));
    CHECK(rc == CKV_OK || rc == CKV_ERROR);
    if (rc == CKV_OK) {
        check_view(&cv);
        check_items(csv, &cv);
        check_rf(&cv);
    } else {
        CHECK(memcmp(&cv, &sentinel, sizeof(cv)) == 0); /* untouched on error */
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    }

    /* 3. The same list as the string form of "view" agrees with the raw parse. */
    if (memchr(data, '\0', size) == NULL && ckv_utf8_valid((const char *)data, size)) {
        json_t *body = json_pack("{s:s%,s:i}", "view", (const char *)data, size, "repl-factor", 1);
        CHECK(body != NULL);
        ckv_view sv;
        long srf = 0;
        int src = body_parse(body, &sv, &srf);
        CHECK(src == rc);
        if (src == CKV_OK)
            CHECK(srf == 1 && ckv_view_equal(&sv, &cv));
        json_decref(body);
    }

    /* 4. One address alone. */
    char norm[CKV_ADDR_MAX];
    if (ckv_addr_parse((const char *)data, size, norm) == CKV_OK) {
        check_addr(norm);
        ckv_view one = {0};
        CHECK(ckv_view_add(&one, (const char *)data, size, err, sizeof(err)) == CKV_OK);
        CHECK(one.n == 1 && strcmp(one.addrs[0], norm) == 0);
        CHECK(ckv_view_add(&one, norm, strlen(norm), err, sizeof(err)) == CKV_ERROR);
    }
    free(csv);
    return 0;
}
