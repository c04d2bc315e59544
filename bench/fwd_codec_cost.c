/* clang-format off */
/* fwd_codec_cost.c — what a forwarding batch costs in instructions: the binary codec of
 * fwd_batch.h against the same items as a jansson JSON array of objects.
 *
 * Not part of the test suite. Build and measure by hand, from the repository root (one
 * line each; clang-format is off for this comment so that they stay so):
 *
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -g -Iinclude bench/fwd_codec_cost.c src/fwd_batch.c src/sbuf.c $(pkg-config --cflags --libs jansson) -o /tmp/fwd_codec_cost
 *   for m in bin-encode bin-decode json-encode json-decode; do valgrind --tool=callgrind --toggle-collect=run --callgrind-out-file=/tmp/cg.$m /tmp/fwd_codec_cost $m 1000 2>&1 | grep Collected; done
 *
 * Each mode is one process, so callgrind counts it alone; --toggle-collect=run counts only
 * the measured loop (inputs are built and checked outside it). A batch is 32 PUTs, each
 * with uri "/kv-store/keys/key000123" (24 bytes; the number varies), a 16-byte request id
 * and a body {"value":"<100 bytes>","causal-context":{"epoch":12,"clock":{}}} of 153
 * bytes. One round: encode = build the message into a fresh buffer and free it; decode =
 * parse the message and have every item's method, deadline, uri, id and body (as pointer
 * and length) in a ckv_fwd_item, then free what the parse allocated.
 *
 * Instructions per batch of 32 items (callgrind Ir / 1000 rounds; gcc 12.2 -O2, glibc
 * 2.36, jansson 2.14, x86-64; the message is 6697 bytes binary, 8577 bytes JSON):
 *
 *                     encode      decode
 *   binary            13,649       3,960   (encode: 67% is ckv_sbuf_add, 20% realloc)
 *   JSON           1,089,349   1,450,312   (json_pack + json_dumps; json_loads + gets)
 *   JSON / binary        80x        366x
 *
 * The JSON counts move by about 0.01% from run to run (jansson seeds its hash tables
 * per process); the binary ones do not move.
 *
 * Timings on this machine are too noisy to compare; instruction counts are not. */
/* clang-format on */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/common.h"
#include "causalkv/fwd_batch.h"

#define ITEMS 32

static char uris[ITEMS][32];
static char ids[ITEMS][17];
static char bodies[ITEMS][160];
static ckv_fwd_item items[ITEMS];
static ckv_fwd_item decoded[ITEMS];

static const char *bin_msg;
static size_t bin_len;
static const char *json_msg;

static volatile size_t sink;

static void make_items(void)
{
    for (uint32_t i = 0; i < ITEMS; i++) {
        int ul = snprintf(uris[i], sizeof(uris[i]), "/kv-store/keys/key%06u", 123 + i);
        snprintf(ids[i], sizeof(ids[i]), "%08x%08x", 0x5eed0000u + i, 0xc0ffee00u ^ i);
        char value[101];
        for (int k = 0; k < 100; k++)
            value[k] = (char)('a' + (i + (uint32_t)k) % 26);
        value[100] = '\0';
        int bl =
            snprintf(bodies[i], sizeof(bodies[i]),
                     "{\"value\":\"%s\",\"causal-context\":{\"epoch\":12,\"clock\":{}}}", value);
        items[i] = (ckv_fwd_item){.method = CKV_FWD_PUT,
                                  .deadline_ms = 1764670000000ull + i,
                                  .uri = uris[i],
                                  .uri_len = (uint32_t)ul,
                                  .id = ids[i],
                                  .id_len = 16,
                                  .body = bodies[i],
                                  .body_len = (uint32_t)bl};
    }
}

/* ---- the binary codec --------------------------------------------------------------- */

static void bin_encode(void)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    if (ckv_fwd_encode_request(&b, items, ITEMS) != CKV_OK)
        abort();
    sink += b.len;
    ckv_sbuf_free(&b);
}

static void bin_decode(void)
{
    uint32_t n;
    if (ckv_fwd_decode_request(bin_msg, bin_len, decoded, ITEMS, &n) != CKV_OK || n != ITEMS)
        abort();
    sink += decoded[ITEMS - 1].body_len;
}

/* ---- the same as JSON --------------------------------------------------------------- */

static json_t *json_batch(void)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < ITEMS; i++) {
        const ckv_fwd_item *it = &items[i];
        json_t *o =
            json_pack("{s:i,s:I,s:s#,s:s#,s:s#}", "method", it->method, "deadline",
                      (json_int_t)it->deadline_ms, "uri", it->uri, (size_t)it->uri_len, "id",
                      it->id, (size_t)it->id_len, "body", it->body, (size_t)it->body_len);
        if (o == NULL || json_array_append_new(arr, o) != 0)
            abort();
    }
    return arr;
}

static void json_encode(void)
{
    json_t *arr = json_batch();
    char *s = json_dumps(arr, JSON_COMPACT);
    if (s == NULL)
        abort();
    sink += strlen(s);
    free(s);
    json_decref(arr);
}

static const char *string_of(const json_t *o, const char *name, uint32_t *len)
{
    const json_t *s = json_object_get(o, name);
    if (!json_is_string(s))
        abort();
    *len = (uint32_t)json_string_length(s);
    return json_string_value(s);
}

static void json_decode(void)
{
    json_error_t err;
    json_t *root = json_loads(json_msg, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_array(root) || json_array_size(root) != ITEMS)
        abort();
    for (uint32_t i = 0; i < ITEMS; i++) {
        const json_t *o = json_array_get(root, i);
        ckv_fwd_item *it = &decoded[i];
        const json_t *m = json_object_get(o, "method");
        const json_t *d = json_object_get(o, "deadline");
        if (!json_is_integer(m) || !json_is_integer(d))
            abort();
        it->method = (uint8_t)json_integer_value(m);
        it->deadline_ms = (uint64_t)json_integer_value(d);
        it->uri = string_of(o, "uri", &it->uri_len);
        it->id = string_of(o, "id", &it->id_len);
        it->body = string_of(o, "body", &it->body_len);
    }
    sink += decoded[ITEMS - 1].body_len;
    json_decref(root);
}

/* ---- the measured loop -------------------------------------------------------------- */

/* What callgrind counts (--toggle-collect=run). */
__attribute__((noinline)) void run(void (*round)(void), long n);
__attribute__((noinline)) void run(void (*round)(void), long n)
{
    for (long i = 0; i < n; i++)
        round();
}

static void check_decoded(void)
{
    for (uint32_t i = 0; i < ITEMS; i++) {
        const ckv_fwd_item *a = &items[i], *b = &decoded[i];
        if (a->method != b->method || a->deadline_ms != b->deadline_ms ||
            a->uri_len != b->uri_len || memcmp(a->uri, b->uri, a->uri_len) != 0 ||
            a->id_len != b->id_len || memcmp(a->id, b->id, a->id_len) != 0 ||
            a->body_len != b->body_len || memcmp(a->body, b->body, a->body_len) != 0) {
            fprintf(stderr, "item %u decoded wrong\n", i);
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s bin-encode|bin-decode|json-encode|json-decode [ROUNDS]\n",
                argv[0]);
        return 2;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    make_items();

    ckv_sbuf b;
    ckv_sbuf_init(&b);
    if (ckv_fwd_encode_request(&b, items, ITEMS) != CKV_OK)
        return 1;
    bin_msg = b.data;
    bin_len = b.len;
    json_t *arr = json_batch();
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    json_msg = text;

    void (*round)(void);
    if (strcmp(argv[1], "bin-encode") == 0)
        round = bin_encode;
    else if (strcmp(argv[1], "bin-decode") == 0)
        round = bin_decode;
    else if (strcmp(argv[1], "json-encode") == 0)
        round = json_encode;
    else if (strcmp(argv[1], "json-decode") == 0)
        round = json_decode;
    else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    run(round, n);

    /* The decoders read what was encoded (json_decode's strings die with its tree: check
     * the binary one, and the JSON one once more here with the tree kept). */
    bin_decode();
    check_decoded();
    json_error_t err;
    json_t *root = json_loads(json_msg, 0, &err);
    for (uint32_t i = 0; root != NULL && i < ITEMS; i++) {
        const json_t *o = json_array_get(root, i);
        decoded[i].uri = string_of(o, "uri", &decoded[i].uri_len);
        decoded[i].id = string_of(o, "id", &decoded[i].id_len);
        decoded[i].body = string_of(o, "body", &decoded[i].body_len);
    }
    if (root == NULL)
        return 1;
    check_decoded();
    json_decref(root);
    printf("%s: %ld rounds; message: binary %zu bytes, JSON %zu bytes\n", argv[1], n, bin_len,
           strlen(json_msg));
    free(text);
    ckv_sbuf_free(&b);
    return 0;
}
