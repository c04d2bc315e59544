/* test_config.c — environment → ckv_config, with a fake environment table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/config.h"
#include "causalkv/log.h"

/* The fake environment: name/value pairs, reset before every test. */
#define ENV_MAX 32
static struct {
    const char *name;
    const char *value;
} env[ENV_MAX];
static size_t env_count;

/* Same type as getenv(3); the loader never writes through the returned pointer. */
static char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < env_count; i++)
        if (strcmp(env[i].name, name) == 0)
            return (char *)env[i].value;
    return NULL;
}

static void env_set(const char *name, const char *value)
{
    for (size_t i = 0; i < env_count; i++)
        if (strcmp(env[i].name, name) == 0) {
            env[i].value = value;
            return;
        }
    assert_true(env_count < ENV_MAX);
    env[env_count].name = name;
    env[env_count].value = value;
    env_count++;
}

static int reset_env(void **state)
{
    (void)state;
    env_count = 0;
    return 0;
}

static char err[256];

static int load(ckv_config *cfg)
{
    memset(err, 0, sizeof(err));
    return ckv_config_load(cfg, fake_getenv, err, sizeof(err));
}

/* Loading fails, err is one line starting with "VAR" and containing want. */
static void expect_error(const char *var, const char *want)
{
    ckv_config cfg;
    if (load(&cfg) != CKV_ERROR)
        fail_msg("expected an error naming %s, got success", var);
    if (strncmp(err, var, strlen(var)) != 0)
        fail_msg("error '%s' does not start with %s", err, var);
    if (want != NULL && strstr(err, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err, want);
    assert_null(strchr(err, '\n'));
}

static void load_ok(ckv_config *cfg)
{
    if (load(cfg) != CKV_OK)
        fail_msg("unexpected error: %s", err);
}

static void test_defaults_one_node_cluster(void **state)
{
    (void)state;
    ckv_config cfg;
    load_ok(&cfg);
    assert_string_equal(cfg.address, CKV_DEFAULT_ADDRESS);
    assert_int_equal(cfg.view.n, 1);
    assert_string_equal(cfg.view.addrs[0], CKV_DEFAULT_ADDRESS);
    assert_int_equal(cfg.repl_factor, CKV_DEFAULT_REPL_FACTOR);
    assert_int_equal(cfg.port, 13800);
    assert_string_equal(cfg.bind, "127.0.0.1");
    assert_int_equal(cfg.gossip_interval_ms, CKV_DEFAULT_GOSSIP_INTERVAL_MS);
    assert_int_equal(cfg.proxy_timeout_ms, CKV_DEFAULT_PROXY_TIMEOUT_MS);
    assert_int_equal(cfg.causal_timeout_ms, CKV_DEFAULT_CAUSAL_TIMEOUT_MS);
    assert_int_equal(cfg.http_timeout_ms, CKV_DEFAULT_HTTP_TIMEOUT_MS);
    assert_int_equal(cfg.view_change_timeout_ms, CKV_DEFAULT_VIEW_CHANGE_TIMEOUT_MS);
    assert_int_equal(cfg.max_body_bytes, CKV_DEFAULT_MAX_BODY_BYTES);
    assert_int_equal(cfg.max_header_bytes, CKV_DEFAULT_MAX_HEADER_BYTES);
    assert_int_equal(cfg.max_value_bytes, CKV_DEFAULT_MAX_VALUE_BYTES);
    assert_int_equal(cfg.internal_max_body_bytes, CKV_DEFAULT_INTERNAL_MAX_BODY_BYTES);
    assert_int_equal(cfg.max_connections, CKV_DEFAULT_MAX_CONNECTIONS);
    assert_int_equal(cfg.peer_pool_size, CKV_DEFAULT_PEER_POOL_SIZE);
    assert_int_equal(cfg.repl_log_entries, CKV_DEFAULT_REPL_LOG_ENTRIES);
    assert_int_equal(cfg.repl_batch, CKV_DEFAULT_REPL_BATCH);
    assert_int_equal(cfg.log_level, CKV_LOG_INFO);
    assert_string_equal(cfg.cluster_secret, "");
}

static void test_empty_variables_mean_default(void **state)
{
    (void)state;
    static const char *const names[] = {"ADDRESS",   "PORT",           "BIND",
                                        "VIEW",      "REPL_FACTOR",    "GOSSIP_INTERVAL_MS",
                                        "LOG_LEVEL", "MAX_BODY_BYTES", "CLUSTER_SECRET"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        env_set(names[i], "");
    ckv_config cfg;
    load_ok(&cfg);
    assert_string_equal(cfg.address, CKV_DEFAULT_ADDRESS);
    assert_int_equal(cfg.view.n, 1);
    assert_int_equal(cfg.port, 13800);
    assert_int_equal(cfg.gossip_interval_ms, CKV_DEFAULT_GOSSIP_INTERVAL_MS);
    assert_string_equal(cfg.cluster_secret, "");
}

static void test_full_cluster(void **state)
{
    (void)state;
    env_set("ADDRESS", "10.10.0.3:13800");
    env_set("VIEW", " 10.10.0.2:13800 ,10.10.0.3:13800,\t10.10.0.4:13800 , 10.10.0.5:13800");
    env_set("REPL_FACTOR", "2");
    ckv_config cfg;
    load_ok(&cfg);
    assert_int_equal(cfg.view.n, 4);
    assert_string_equal(cfg.view.addrs[0], "10.10.0.2:13800");
    assert_string_equal(cfg.view.addrs[3], "10.10.0.5:13800");
    assert_int_equal(cfg.repl_factor, 2);
    assert_int_equal(cfg.port, 13800);
    assert_string_equal(cfg.bind, "0.0.0.0"); /* not loopback */
}

static void test_address_normalised_and_compared(void **state)
{
    (void)state;
    env_set("ADDRESS", " 127.0.0.02:13801 ");
    env_set("VIEW", "127.0.0.1:13800,127.0.0.2:13801");
    ckv_config cfg;
    load_ok(&cfg);
    assert_string_equal(cfg.address, "127.0.0.2:13801");
    assert_int_equal(cfg.port, 13801);
    assert_string_equal(cfg.bind, "127.0.0.2"); /* loopback: own IP, so ports can repeat */
}

/* A node whose ADDRESS is not in VIEW starts as a standby: valid, not an error. */
static void test_address_not_in_view(void **state)
{
    (void)state;
    ckv_config cfg;
    env_set("ADDRESS", "1.2.3.4:5");
    env_set("VIEW", "1.2.3.4:6,1.2.3.5:5");
    load_ok(&cfg);
    assert_string_equal(cfg.address, "1.2.3.4:5");
    assert_int_equal(cfg.view.n, 2);
    assert_int_equal(ckv_view_index_of(&cfg.view, cfg.address), -1);
    /* the other rules still hold for a standby's VIEW */
    env_set("REPL_FACTOR", "3");
    expect_error("REPL_FACTOR", "larger than the 2 members of VIEW");
}

static void test_unparsable_address(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "foo",      "1.2.3.4",         "1.2.3.4:0", "1.2.3.4:70000", "256.1.1.1:80",
        "host_:80", "1.2.3.4:80 junk", "[::1]",     "::1:80",        "a..b:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env_set("ADDRESS", bad[i]);
        expect_error("ADDRESS", "unparsable address");
    }
    env_set("ADDRESS", "nope");
    expect_error("ADDRESS", "'nope'");
}

static void test_unparsable_view_member(void **state)
{
    (void)state;
    env_set("ADDRESS", "10.0.0.1:1");
    env_set("VIEW", "10.0.0.1:1,10.0.0.2");
    expect_error("VIEW", "unparsable member '10.0.0.2'");
    env_set("VIEW", "10.0.0.1:1,,10.0.0.2:2");
    expect_error("VIEW", "empty member");
    env_set("VIEW", "10.0.0.1:1,");
    expect_error("VIEW", "empty member");
    env_set("VIEW", "   ");
    expect_error("VIEW", "empty view");
}

static void test_duplicate_members(void **state)
{
    (void)state;
    env_set("ADDRESS", "10.0.0.1:1");
    env_set("VIEW", "10.0.0.1:1,10.0.0.2:2,10.0.0.1:1,10.0.0.3:3");
    expect_error("VIEW", "duplicate member 10.0.0.1:1");
    env_set("VIEW", "10.0.0.1:1, 10.0.0.2:2,10.0.0.02:02");
    expect_error("VIEW", "duplicate member 10.0.0.2:2");
}

static void test_repl_factor_invalid(void **state)
{
    (void)state;
    env_set("ADDRESS", "10.0.0.1:1");
    env_set("VIEW", "10.0.0.1:1,10.0.0.2:2");
    static const char *const bad[] = {
        "0", "x", "2x", "-1", "+2", "1.5", "0x2", " ", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env_set("REPL_FACTOR", bad[i]);
        expect_error("REPL_FACTOR", "must be an integer >= 1");
    }
    env_set("REPL_FACTOR", "x");
    expect_error("REPL_FACTOR", "REPL_FACTOR: must be an integer >= 1 (got 'x')");
    env_set("REPL_FACTOR", "3");
    expect_error("REPL_FACTOR", "larger than the 2 members");
}

static void test_view_length_not_multiple(void **state)
{
    (void)state;
    env_set("ADDRESS", "10.0.0.1:1");
    env_set("VIEW", "10.0.0.1:1,10.0.0.2:2,10.0.0.3:3");
    env_set("REPL_FACTOR", "2");
    expect_error("VIEW", "3 members is not a multiple of REPL_FACTOR 2");
    env_set("REPL_FACTOR", "3");
    ckv_config cfg;
    load_ok(&cfg);
    assert_int_equal(cfg.repl_factor, 3);
    env_set("REPL_FACTOR", " 1 "); /* surrounding whitespace is tolerated */
    load_ok(&cfg);
    assert_int_equal(cfg.repl_factor, 1);
}

static void test_port(void **state)
{
    (void)state;
    env_set("ADDRESS", "10.0.0.1:4000");
    env_set("PORT", "8080");
    ckv_config cfg;
    load_ok(&cfg);
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.address, "10.0.0.1:4000"); /* identity is unchanged */
    static const char *const bad[] = {"0", "65536", "-1", "80a", "http"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env_set("PORT", bad[i]);
        expect_error("PORT", "must be an integer in 1..65535");
    }
    env_set("PORT", "65535");
    load_ok(&cfg);
    assert_int_equal(cfg.port, 65535);
}

static void test_bind(void **state)
{
    (void)state;
    ckv_config cfg;
    env_set("ADDRESS", "127.5.6.7:1");
    load_ok(&cfg);
    assert_string_equal(cfg.bind, "127.5.6.7");
    env_set("ADDRESS", "128.0.0.1:1");
    load_ok(&cfg);
    assert_string_equal(cfg.bind, "0.0.0.0");
    env_set("ADDRESS", "12.7.0.1:1");
    load_ok(&cfg);
    assert_string_equal(cfg.bind, "0.0.0.0");
    env_set("BIND", " 10.1.2.3 ");
    load_ok(&cfg);
    assert_string_equal(cfg.bind, "10.1.2.3");
    /* IPv6, with or without brackets, normalised */
    env_set("BIND", "0:0::1");
    load_ok(&cfg);
    assert_string_equal(cfg.bind, "::1");
    env_set("BIND", "[::]");
    load_ok(&cfg);
    assert_string_equal(cfg.bind, "::");
    /* a name is never looked up for BIND */
    static const char *const bad[] = {"localhost", "10.1.2.3:80", "10.1.2",   "300.1.1.1", ":::",
                                      "1.2.3.4.5", "1.2.3.4 x",   "[::1]:80", "[::1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env_set("BIND", bad[i]);
        expect_error("BIND", "must be an IP address");
    }
}

/* A name or an IPv6 literal as ADDRESS; BIND's default for each (see README, BIND). */
static void test_named_and_ipv6_address(void **state)
{
    (void)state;
    ckv_config cfg;
    env_set("ADDRESS", "N1.Ckv.Test:13800");
    env_set("VIEW", "n1.ckv.test:13800, [::1]:13801");
    env_set("REPL_FACTOR", "2");
    load_ok(&cfg);
    assert_string_equal(cfg.address, "n1.ckv.test:13800");
    assert_string_equal(cfg.view.addrs[1], "[::1]:13801");
    assert_int_equal(cfg.port, 13800);
    assert_string_equal(cfg.bind, "0.0.0.0"); /* a name is not looked up at start */
    env_set("ADDRESS", "[0::1]:13801");
    load_ok(&cfg);
    assert_string_equal(cfg.address, "[::1]:13801");
    assert_int_equal(cfg.port, 13801);
    assert_string_equal(cfg.bind, "::1");
    env_set("ADDRESS", "[2001:db8::1]:13801");
    load_ok(&cfg);
    assert_string_equal(cfg.bind, "0.0.0.0");
    env_set("HOSTS_FILE", "/tmp/ckv-hosts");
    load_ok(&cfg);
    assert_string_equal(cfg.hosts_file, "/tmp/ckv-hosts");
}

static void test_numeric_limits(void **state)
{
    (void)state;
    ckv_config cfg;
    env_set("PROXY_TIMEOUT_MS", "1");
    env_set("CAUSAL_TIMEOUT_MS", "600000");
    env_set("MAX_CONNECTIONS", "007");
    load_ok(&cfg);
    assert_int_equal(cfg.proxy_timeout_ms, 1);
    assert_int_equal(cfg.causal_timeout_ms, 600000);
    assert_int_equal(cfg.max_connections, 7);

    static const struct {
        const char *name, *value;
    } bad[] = {
        {"GOSSIP_INTERVAL_MS", "0"},
        {"GOSSIP_INTERVAL_MS", "abc"},
        {"PROXY_TIMEOUT_MS", "0"},
        {"PROXY_TIMEOUT_MS", "600001"},
        {"CAUSAL_TIMEOUT_MS", "-5"},
        {"CAUSAL_TIMEOUT_MS", "2s"},
        {"HTTP_TIMEOUT_MS", "4294967296"},
        {"HTTP_TIMEOUT_MS", "18446744073709551617"},
        {"VIEW_CHANGE_TIMEOUT_MS", "1e3"},
        {"MAX_BODY_BYTES", "0"},
        {"MAX_HEADER_BYTES", "+8192"},
        {"MAX_VALUE_BYTES", "0"},
        {"INTERNAL_MAX_BODY_BYTES", "0x100000"},
        {"MAX_CONNECTIONS", "0"},
        {"PEER_POOL_SIZE", "0"},
        {"PEER_POOL_SIZE", "100000"},
        {"REPL_LOG_ENTRIES", "0"},
        {"REPL_BATCH", "0"},
        {"REPL_BATCH", "1 2"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env_count = 0;
        env_set(bad[i].name, bad[i].value);
        expect_error(bad[i].name, "must be an integer in");
    }
}

static void test_value_and_body_limits(void **state)
{
    (void)state;
    ckv_config cfg;
    env_set("MAX_BODY_BYTES", "4096");
    env_set("MAX_VALUE_BYTES", "4096");
    load_ok(&cfg);
    assert_int_equal(cfg.max_value_bytes, 4096);
    env_set("MAX_VALUE_BYTES", "4097");
    expect_error("MAX_VALUE_BYTES", "larger than MAX_BODY_BYTES 4096");
    env_count = 0;
    env_set("MAX_VALUE_BYTES", "5000000"); /* default body limit is 2 MiB */
    expect_error("MAX_VALUE_BYTES", "MAX_BODY_BYTES");
    env_count = 0;
    env_set("INTERNAL_MAX_BODY_BYTES", "1048576"); /* below the 2 MiB client limit */
    expect_error("INTERNAL_MAX_BODY_BYTES", "smaller than MAX_BODY_BYTES");
}

static void test_log_level(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int level;
    } ok[] = {{"error", CKV_LOG_ERROR},
              {"warn", CKV_LOG_WARN},
              {"info", CKV_LOG_INFO},
              {"debug", CKV_LOG_DEBUG},
              {"DEBUG", CKV_LOG_DEBUG}};
    ckv_config cfg;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        env_set("LOG_LEVEL", ok[i].text);
        load_ok(&cfg);
        assert_int_equal(cfg.log_level, ok[i].level);
    }
    env_set("LOG_LEVEL", "verbose");
    expect_error("LOG_LEVEL", "(got 'verbose')");
    assert_int_equal(ckv_log_level_parse("trace"), -1);
    assert_int_equal(ckv_log_level_parse(NULL), -1);
    assert_int_equal(ckv_log_level_parse("warning"), -1);
}

static void test_log_format(void **state)
{
    (void)state;
    ckv_config cfg;
    load_ok(&cfg);
    assert_int_equal(cfg.log_format, CKV_LOG_TEXT);
    env_set("LOG_FORMAT", "json");
    load_ok(&cfg);
    assert_int_equal(cfg.log_format, CKV_LOG_JSON);
    env_set("LOG_FORMAT", "JSON");
    load_ok(&cfg);
    assert_int_equal(cfg.log_format, CKV_LOG_JSON);
    env_set("LOG_FORMAT", "text");
    load_ok(&cfg);
    assert_int_equal(cfg.log_format, CKV_LOG_TEXT);
    env_set("LOG_FORMAT", "logfmt");
    expect_error("LOG_FORMAT", "(got 'logfmt')");
}

static void test_cluster_secret(void **state)
{
    (void)state;
    ckv_config cfg;
    env_set("CLUSTER_SECRET", " s3cret ");
    load_ok(&cfg);
    assert_string_equal(cfg.cluster_secret, " s3cret "); /* verbatim */
    char longest[128];
    memset(longest, 'k', 127);
    longest[127] = '\0';
    env_set("CLUSTER_SECRET", longest);
    load_ok(&cfg);
    assert_string_equal(cfg.cluster_secret, longest);
    char too_long[129];
    memset(too_long, 'k', 128);
    too_long[128] = '\0';
    env_set("CLUSTER_SECRET", too_long);
    expect_error("CLUSTER_SECRET", "longer than 127 bytes");
    assert_null(strstr(err, "kkkk")); /* the secret is never echoed */
}

static void test_cors_origins(void **state)
{
    (void)state;
    ckv_config cfg;
    load_ok(&cfg);
    assert_false(cfg.cors.any);
    assert_int_equal(cfg.cors.n, 0); /* default: no foreign origin */
    env_set("CORS_ORIGINS", "http://ops.example:8080, https://b.example");
    load_ok(&cfg);
    assert_int_equal(cfg.cors.n, 2);
    assert_string_equal(cfg.cors.origins[1], "https://b.example");
    char line[4096];
    ckv_config_describe(&cfg, line, sizeof(line));
    assert_non_null(strstr(line, "CORS_ORIGINS=http://ops.example:8080,https://b.example"));
    env_set("CORS_ORIGINS", "*");
    load_ok(&cfg);
    assert_true(cfg.cors.any);
    env_set("CORS_ORIGINS", "ops.example");
    expect_error("CORS_ORIGINS", "not an origin");
    env_set("CORS_ORIGINS", "*,http://a");
    expect_error("CORS_ORIGINS", "*");
}

static void test_long_bad_value_is_cut(void **state)
{
    (void)state;
    char junk[1000];
    memset(junk, 'z', sizeof(junk) - 1);
    junk[sizeof(junk) - 1] = '\0';
    env_set("GOSSIP_INTERVAL_MS", junk);
    expect_error("GOSSIP_INTERVAL_MS", "...");
    assert_true(strlen(err) < 200);
}

static void test_small_error_buffer(void **state)
{
    (void)state;
    env_set("REPL_FACTOR", "x");
    ckv_config cfg;
    char tiny[8];
    assert_int_equal(ckv_config_load(&cfg, fake_getenv, tiny, sizeof(tiny)), CKV_ERROR);
    assert_string_equal(tiny, "REPL_FA");
    assert_int_equal(ckv_config_load(&cfg, fake_getenv, NULL, 0), CKV_ERROR);
}

static char *capture_help(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    ckv_config_print_help(out);
    fclose(out);
    return text;
}

/* Persistence: off unless DATA_DIR is set; FSYNC and DATA_LOAD_TRUNCATED take only
 * their words; SNAPSHOT_MIN_BYTES has a floor. */
static void test_durability_settings(void **state)
{
    (void)state;
    ckv_config cfg;
    load_ok(&cfg);
    assert_string_equal(cfg.data_dir, "");
    assert_int_equal(cfg.fsync_mode, CKV_FSYNC_EVERYSEC);
    assert_int_equal(cfg.load_truncated, 0);
    assert_int_equal(cfg.snapshot_min_bytes, 64u << 20);
    env_set("DATA_DIR", "/var/lib/causalkv");
    env_set("FSYNC", "always");
    env_set("DATA_LOAD_TRUNCATED", "yes");
    env_set("SNAPSHOT_MIN_BYTES", "4096");
    load_ok(&cfg);
    assert_string_equal(cfg.data_dir, "/var/lib/causalkv");
    assert_int_equal(cfg.fsync_mode, CKV_FSYNC_ALWAYS);
    assert_int_equal(cfg.load_truncated, 1);
    assert_int_equal(cfg.snapshot_min_bytes, 4096);
    env_set("FSYNC", "no");
    load_ok(&cfg);
    assert_int_equal(cfg.fsync_mode, CKV_FSYNC_NO);
    env_set("FSYNC", "sometimes");
    expect_error("FSYNC", "always, everysec, no");
    env_set("FSYNC", "");
    env_set("DATA_LOAD_TRUNCATED", "1");
    expect_error("DATA_LOAD_TRUNCATED", "yes or no");
    env_set("DATA_LOAD_TRUNCATED", "");
    env_set("SNAPSHOT_MIN_BYTES", "4095");
    expect_error("SNAPSHOT_MIN_BYTES", NULL);
    env_set("SNAPSHOT_MIN_BYTES", "");
    env_set("MAX_BODY_BYTES", "1073741824");
    env_set("INTERNAL_MAX_BODY_BYTES", "1073741824");
    env_set("MAX_VALUE_BYTES", "1073741824");
    expect_error("MAX_VALUE_BYTES", "journal record");
    env_set("DATA_DIR", "");
    load_ok(&cfg); /* in memory, values that large are allowed */
    env_set("MAX_BODY_BYTES", "");
    env_set("INTERNAL_MAX_BODY_BYTES", "");
    env_set("MAX_VALUE_BYTES", "");
    static char long_dir[300];
    memset(long_dir, 'd', sizeof(long_dir) - 1);
    env_set("DATA_DIR", long_dir);
    expect_error("DATA_DIR", "longer than");
}

static void test_help_lists_every_variable(void **state)
{
    (void)state;
    char *help = capture_help();
    static const char *const names[] = {"ADDRESS",
                                        "PORT",
                                        "BIND",
                                        "VIEW",
                                        "REPL_FACTOR",
                                        "GOSSIP_INTERVAL_MS",
                                        "PROXY_TIMEOUT_MS",
                                        "CAUSAL_TIMEOUT_MS",
                                        "HTTP_TIMEOUT_MS",
                                        "VIEW_CHANGE_TIMEOUT_MS",
                                        "MAX_BODY_BYTES",
                                        "MAX_HEADER_BYTES",
                                        "MAX_VALUE_BYTES",
                                        "INTERNAL_MAX_BODY_BYTES",
                                        "MAX_CONNECTIONS",
                                        "PEER_POOL_SIZE",
                                        "REPL_LOG_ENTRIES",
                                        "REPL_BATCH",
                                        "LOG_LEVEL",
                                        "CLUSTER_SECRET",
                                        "CORS_ORIGINS"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "  %s ", names[i]);
        if (strstr(help, needle) == NULL)
            fail_msg("--help does not list %s", names[i]);
    }
    assert_non_null(strstr(help, "default: 127.0.0.1:13800"));
    assert_non_null(strstr(help, "default: 500 "));
    assert_non_null(strstr(help, "Usage:"));
    free(help);
}

static void test_describe(void **state)
{
    (void)state;
    env_set("ADDRESS", "10.0.0.2:2");
    env_set("VIEW", "10.0.0.1:1,10.0.0.2:2");
    env_set("REPL_FACTOR", "2");
    env_set("LOG_LEVEL", "debug");
    ckv_config cfg;
    load_ok(&cfg);
    char line[4096];
    ckv_config_describe(&cfg, line, sizeof(line));
    assert_null(strchr(line, '\n'));
    assert_non_null(strstr(line, "ADDRESS=10.0.0.2:2"));
    assert_non_null(strstr(line, "VIEW=10.0.0.1:1,10.0.0.2:2"));
    assert_non_null(strstr(line, "REPL_FACTOR=2"));
    assert_non_null(strstr(line, "PORT=2"));
    assert_non_null(strstr(line, "BIND=0.0.0.0"));
    assert_non_null(strstr(line, "GOSSIP_INTERVAL_MS=500"));
    assert_non_null(strstr(line, "REPL_BATCH=512"));
    assert_non_null(strstr(line, "LOG_LEVEL=debug"));
    assert_non_null(strstr(line, "CLUSTER_SECRET=unset"));

    env_set("CLUSTER_SECRET", "hunter2");
    load_ok(&cfg);
    ckv_config_describe(&cfg, line, sizeof(line));
    assert_non_null(strstr(line, "CLUSTER_SECRET=set"));
    assert_null(strstr(line, "hunter2"));

    char small[16];
    ckv_config_describe(&cfg, small, sizeof(small)); /* truncates, stays a string */
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

#define T(f) cmocka_unit_test_setup(f, reset_env)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults_one_node_cluster),
        T(test_cors_origins),
        T(test_empty_variables_mean_default),
        T(test_full_cluster),
        T(test_address_normalised_and_compared),
        T(test_address_not_in_view),
        T(test_unparsable_address),
        T(test_unparsable_view_member),
        T(test_duplicate_members),
        T(test_repl_factor_invalid),
        T(test_view_length_not_multiple),
        T(test_port),
        T(test_bind),
        T(test_named_and_ipv6_address),
        T(test_numeric_limits),
        T(test_value_and_body_limits),
        T(test_log_level),
        T(test_log_format),
        T(test_cluster_secret),
        T(test_long_bad_value_is_cut),
        T(test_small_error_buffer),
        T(test_durability_settings),
        T(test_help_lists_every_variable),
        T(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
