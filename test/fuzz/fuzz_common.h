/* fuzz_common.h — what the libFuzzer targets in test/fuzz share: the CHECK macro, the
 * jansson flags of the independent reference reading, the documented rules for a
 * "causal-context" value read independently, the whole-string check of a view-change
 * body, and building a fixed shard map. */
#ifndef CKV_FUZZ_COMMON_H
#define CKV_FUZZ_COMMON_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/json_codec.h"
#include "causalkv/shard_map.h"
#include "causalkv/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define DECODE_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

static inline int is_u64(const json_t *j)
{
    return json_is_integer(j) && json_integer_value(j) >= 0;
}

/* The documented rules for the "causal-context" field, read independently. */
static inline int context_valid(const json_t *c)
{
    if (c == NULL || json_is_null(c) || (json_is_string(c) && json_string_length(c) == 0))
        return 1;
    if (!json_is_object(c))
        return 0;
    const json_t *e = json_object_get(c, "epoch");
    if (e != NULL && !is_u64(e))
        return 0;
    const json_t *lamport = json_object_get(c, "lamport");
    if (lamport != NULL && !is_u64(lamport))
        return 0;
    json_t *clock = json_object_get(c, "clock");
    if (clock == NULL)
        return 1;
    if (!json_is_object(clock))
        return 0;
    const char *k;
    json_t *counter;
    json_object_foreach(clock, k, counter)
    {
        if (!is_u64(counter))
            return 0;
    }
    return 1;
}

/* The context of a successful parse is what the JSON says (within the view). */
static inline void check_context_in_view(const json_t *c, const ckv_shard_map *map,
                                         const ckv_context *ctx)
{
    CHECK(ctx->clock.n == map->view.n);
    const json_t *e = json_is_object(c) ? json_object_get(c, "epoch") : NULL;
    CHECK(ctx->epoch == (e != NULL ? (uint64_t)json_integer_value(e) : map->epoch));
    const json_t *lamport = json_is_object(c) ? json_object_get(c, "lamport") : NULL;
    CHECK(ctx->has_lamport == (lamport != NULL));
    CHECK(ctx->lamport == (lamport != NULL ? (uint64_t)json_integer_value(lamport) : 0));
    const json_t *clock = json_is_object(c) ? json_object_get(c, "clock") : NULL;
    for (uint32_t i = 0; i < map->view.n; i++) {
        const json_t *n = clock != NULL ? json_object_get(clock, map->view.addrs[i]) : NULL;
        CHECK(ctx->clock.c[i] == (n != NULL ? (uint64_t)json_integer_value(n) : 0));
    }
}

/* Strings are read whole: a NUL inside "view" or "repl-factor" must not cut the text
 * short ("1\u0000junk" is not the number 1), or two readers of one body disagree. */
static inline void check_strings_whole(const json_t *root)
{
    const json_t *v = json_object_get(root, "view");
    const json_t *r = json_object_get(root, "repl-factor");
    if (json_is_string(v))
        CHECK(strlen(json_string_value(v)) == json_string_length(v));
    if (json_is_string(r))
        CHECK(strlen(json_string_value(r)) == json_string_length(r));
}

/* A shard map over n members 10.0.0.1:13800, 10.0.0.2:13800, ... */
static inline void make_map(ckv_shard_map *m, uint32_t n, long rf, uint64_t epoch)
{
    ckv_view v = {0};
    char err[128];
    for (uint32_t i = 0; i < n; i++) {
        char addr[32];
        int len = snprintf(addr, sizeof(addr), "10.0.0.%u:13800", i + 1);
        CHECK(ckv_view_add(&v, addr, (size_t)len, err, sizeof(err)) == CKV_OK);
    }
    CHECK(ckv_shard_map_init(m, &v, rf, epoch, err, sizeof(err)) == CKV_OK);
}

#endif
