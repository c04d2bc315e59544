/* fuzz_config.c — libFuzzer target: configuration strings (environment variables).
 *
 * The input is split on NUL and newline bytes; the pieces, in order, are the values of
 * ADDRESS, VIEW, REPL_FACTOR, PORT, BIND, MAX_BODY_BYTES, MAX_VALUE_BYTES,
 * INTERNAL_MAX_BODY_BYTES, GOSSIP_INTERVAL_MS, PEER_POOL_SIZE, LOG_LEVEL, CLUSTER_SECRET.
 * Missing pieces are unset variables; an empty piece is an empty variable (the default).
 * ckv_config_load reads them through a fake getenv.
 *
 * Invariants (abort on violation):
 *  - on success the configuration is valid: ADDRESS normalised (in VIEW or not), VIEW of
 *    1..CKV_VIEW_MAX distinct normalised members, REPL_FACTOR dividing it, every number
 *    within its bounds, MAX_VALUE_BYTES <= MAX_BODY_BYTES <= INTERNAL_MAX_BODY_BYTES,
 *    defaults derived from ADDRESS when unset, the secret verbatim;
 *  - on failure err is one non-empty line within errlen (also with a tiny errlen);
 *  - loading is deterministic, and ckv_config_describe stays within its buffer. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "causalkv/config.h"
#include "causalkv/view.h"

enum {
    V_ADDRESS,
    V_VIEW,
    V_REPL_FACTOR,
    V_PORT,
    V_BIND,
    V_MAX_BODY,
    V_MAX_VALUE,
    V_INTERNAL_MAX_BODY,
    V_GOSSIP,
    V_PEER_POOL,
    V_LOG_LEVEL,
    V_SECRET,
    V_COUNT
};

static const char *const names[V_COUNT] = {
    "ADDRESS",
    "VIEW",
    "REPL_FACTOR",
    "PORT",
    "BIND",
    "MAX_BODY_BYTES",
    "MAX_VALUE_BYTES",
    "INTERNAL_MAX_BODY_BYTES",
    "GOSSIP_INTERVAL_MS",
    "PEER_POOL_SIZE",
    "LOG_LEVEL",
    "CLUSTER_SECRET",
};

static char *values[V_COUNT]; /* into the current input's copy; NULL = unset */
static unsigned lookups[V_COUNT];

static char *fake_getenv(const char *name)
{
    for (int i = 0; i < V_COUNT; i++)
        if (strcmp(names[i], name) == 0) {
            lookups[i]++;
            return values[i];
        }
    return NULL; /* every other variable is unset */
}

/* The value the loader sees: NULL when unset or empty. */
static const char *given(int i)
{
    return values[i] != NULL && values[i][0] != '\0' ? values[i] : NULL;
}

static void check_err(const char *err, size_t errlen)
{
    CHECK(memchr(err, '\0', errlen) != NULL);
    CHECK(err[0] != '\0' || errlen == 1);
    CHECK(strchr(err, '\n') == NULL); /* one line */
}

static void check_u32(uint32_t got, int var, uint32_t def, uint32_t min, uint32_t max)
{
    CHECK(got >= min && got <= max);
    if (given(var) == NULL)
        CHECK(got == def);
}

static void check_config(const ckv_config *cfg)
{
    char norm[CKV_ADDR_MAX];
    /* ADDRESS: normalised, the given one (or the default), a member of VIEW */
    CHECK(memchr(cfg->address, '\0', sizeof(cfg->address)) != NULL);
    CHECK(ckv_addr_parse(cfg->address, strlen(cfg->address), norm) == CKV_OK);
    CHECK(strcmp(norm, cfg->address) == 0);
    const char *a = given(V_ADDRESS) ? given(V_ADDRESS) : CKV_DEFAULT_ADDRESS;
    CHECK(ckv_addr_parse(a, strlen(a), norm) == CKV_OK && strcmp(norm, cfg->address) == 0);

    /* VIEW */
    CHECK(cfg->view.n >= 1 && cfg->view.n <= CKV_VIEW_MAX);
    for (uint32_t i = 0; i < cfg->view.n; i++) {
        const char *m = cfg->view.addrs[i];
        CHECK(memchr(m, '\0', CKV_ADDR_MAX) != NULL);
        CHECK(ckv_addr_parse(m, strlen(m), norm) == CKV_OK && strcmp(norm, m) == 0);
        CHECK(ckv_view_index_of(&cfg->view, m) == (int)i);
    }
    if (given(V_VIEW) != NULL) {
        ckv_view v;
        char err[128];
        CHECK(ckv_view_parse_csv(given(V_VIEW), &v, err, sizeof(err)) == CKV_OK);
        CHECK(ckv_view_equal(&v, &cfg->view));
    } else {
        CHECK(cfg->view.n == 1 && strcmp(cfg->view.addrs[0], cfg->address) == 0);
    }

    /* REPL_FACTOR */
    CHECK(cfg->repl_factor >= 1 && cfg->repl_factor <= cfg->view.n);
    CHECK(cfg->view.n % cfg->repl_factor == 0);
    if (given(V_REPL_FACTOR) == NULL)
        CHECK(cfg->repl_factor == CKV_DEFAULT_REPL_FACTOR);

    /* PORT and BIND default from ADDRESS */
    char ip[CKV_HOST_MAX];
    uint16_t port;
    CHECK(ckv_addr_split(cfg->address, ip, &port) == CKV_OK);
    CHECK(cfg->port >= 1);
    if (given(V_PORT) == NULL)
        CHECK(cfg->port == port);
    CHECK(memchr(cfg->bind, '\0', sizeof(cfg->bind)) != NULL);
    char with_port[CKV_ADDR_MAX + 4];
    int len = snprintf(with_port, sizeof(with_port), strchr(cfg->bind, ':') ? "[%s]:1" : "%s:1",
                       cfg->bind);
    CHECK(ckv_addr_parse(with_port, (size_t)len, norm) == CKV_OK && strcmp(norm, with_port) == 0);
    CHECK(ckv_host_kind(cfg->bind) != CKV_HOST_NAME);
    bool loopback = strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
    if (given(V_BIND) == NULL)
        CHECK(strcmp(cfg->bind, loopback ? ip : "0.0.0.0") == 0);

    /* numbers */
    check_u32(cfg->max_body_bytes, V_MAX_BODY, CKV_DEFAULT_MAX_BODY_BYTES, 1024, 1024u << 20);
    check_u32(cfg->max_value_bytes, V_MAX_VALUE, CKV_DEFAULT_MAX_VALUE_BYTES, 1, 1024u << 20);
    check_u32(cfg->internal_max_body_bytes, V_INTERNAL_MAX_BODY,
              CKV_DEFAULT_INTERNAL_MAX_BODY_BYTES, 64u << 10, 2048u << 20);
    check_u32(cfg->gossip_interval_ms, V_GOSSIP, CKV_DEFAULT_GOSSIP_INTERVAL_MS, 10, 600000);
    check_u32(cfg->peer_pool_size, V_PEER_POOL, CKV_DEFAULT_PEER_POOL_SIZE, 1, 256);
    CHECK(cfg->max_value_bytes <= cfg->max_body_bytes);
    CHECK(cfg->max_body_bytes <= cfg->internal_max_body_bytes);
    /* variables this target never sets keep their defaults */
    CHECK(cfg->proxy_timeout_ms == CKV_DEFAULT_PROXY_TIMEOUT_MS);
    CHECK(cfg->causal_timeout_ms == CKV_DEFAULT_CAUSAL_TIMEOUT_MS);
    CHECK(cfg->http_timeout_ms == CKV_DEFAULT_HTTP_TIMEOUT_MS);
    CHECK(cfg->view_change_timeout_ms == CKV_DEFAULT_VIEW_CHANGE_TIMEOUT_MS);
    CHECK(cfg->max_header_bytes == CKV_DEFAULT_MAX_HEADER_BYTES);
    CHECK(cfg->max_connections == CKV_DEFAULT_MAX_CONNECTIONS);
    CHECK(cfg->repl_log_entries == CKV_DEFAULT_REPL_LOG_ENTRIES);
    CHECK(cfg->repl_batch == CKV_DEFAULT_REPL_BATCH);

    /* LOG_LEVEL, CLUSTER_SECRET */
    CHECK(cfg->log_level >= 0 && cfg->log_level <= 3);
    CHECK(memchr(cfg->cluster_secret, '\0', sizeof(cfg->cluster_secret)) != NULL);
    CHECK(strcmp(cfg->cluster_secret, given(V_SECRET) ? given(V_SECRET) : "") == 0);

    /* describe never writes past its buffer and always terminates it */
    static const size_t lens[] = {1, 7, 64, 4096};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char *buf = malloc(lens[i]);
        CHECK(buf != NULL);
        ckv_config_describe(cfg, buf, lens[i]);
        CHECK(memchr(buf, '\0', lens[i]) != NULL);
        if (lens[i] == 4096)
            CHECK(strncmp(buf, "ADDRESS=", 8) == 0 && strstr(buf, cfg->address) != NULL);
        free(buf);
    }
}

/* Field by field: the unused tail of each address array is not specified. */
static int configs_equal(const ckv_config *a, const ckv_config *b)
{
    return strcmp(a->address, b->address) == 0 && strcmp(a->bind, b->bind) == 0 &&
           a->port == b->port && ckv_view_equal(&a->view, &b->view) &&
           a->repl_factor == b->repl_factor && a->gossip_interval_ms == b->gossip_interval_ms &&
           a->proxy_timeout_ms == b->proxy_timeout_ms &&
           a->causal_timeout_ms == b->causal_timeout_ms &&
           a->http_timeout_ms == b->http_timeout_ms &&
           a->view_change_timeout_ms == b->view_change_timeout_ms &&
           a->max_body_bytes == b->max_body_bytes && a->max_header_bytes == b->max_header_bytes &&
           a->max_value_bytes == b->max_value_bytes &&
           a->internal_max_body_bytes == b->internal_max_body_bytes &&
           a->max_connections == b->max_connections && a->peer_pool_size == b->peer_pool_size &&
           a->repl_log_entries == b->repl_log_entries && a->repl_batch == b->repl_batch &&
           a->log_level == b->log_level && strcmp(a->cluster_secret, b->cluster_secret) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    CHECK(copy != NULL);
    if (size > 0)
        memcpy(copy, data, size);
    copy[size] = '\0';

    /* Pieces separated by NUL or newline; a trailing separator does not start a piece. */
    for (int i = 0; i < V_COUNT; i++)
        values[i] = NULL;
    size_t pos = 0;
    for (int i = 0; i < V_COUNT && pos < size; i++) {
        values[i] = copy + pos;
        while (pos < size && copy[pos] != '\0' && copy[pos] != '\n')
            pos++;
        copy[pos] = '\0'; /* pos == size writes the terminator already there */
        pos++;
    }

    ckv_config cfg;
    char err[256];
    memset(lookups, 0, sizeof(lookups));
    memset(err, 0, sizeof(err));
    int rc = ckv_config_load(&cfg, fake_getenv, err, sizeof(err));
    CHECK(rc == CKV_OK || rc == CKV_ERROR);
    for (int i = 0; i < V_COUNT; i++)
        CHECK(lookups[i] <= 1); /* read once each */
    if (rc == CKV_OK) {
        for (int i = 0; i < V_COUNT; i++)
            CHECK(lookups[i] == 1); /* success means every variable was read */
        check_config(&cfg);
    } else {
        check_err(err, sizeof(err));
    }

    /* Same environment, tiny error buffer: same answer, err still terminated. */
    ckv_config cfg2;
    char small[8];
    memset(small, 'X', sizeof(small));
    int rc2 = ckv_config_load(&cfg2, fake_getenv, small, sizeof(small));
    CHECK(rc2 == rc);
    if (rc2 == CKV_OK)
        CHECK(configs_equal(&cfg, &cfg2));
    else
        check_err(small, sizeof(small));

    /* No error buffer at all must be tolerated. */
    CHECK(ckv_config_load(&cfg2, fake_getenv, NULL, 0) == rc);

    free(copy);
    return 0;
}
