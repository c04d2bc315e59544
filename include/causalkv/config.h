/* config.h — environment → validated node configuration.
 *
 * Every setting is one row of a table in config.c: environment variable, default,
 * bounds and a line of help. ckv_config_load never exits; it returns CKV_ERROR with one
 * line in err naming the variable and the problem, and main exits 2 with it. */
#ifndef CAUSALKV_CONFIG_H
#define CAUSALKV_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "causalkv/common.h"
#include "causalkv/cors.h"
#include "causalkv/view.h"

typedef struct ckv_config {
    char address[CKV_ADDR_MAX]; /* ADDRESS: this node's identity, a member of view */
    char bind[CKV_HOST_MAX]; /* BIND: listen IP (default: ADDRESS's IP if loopback, else 0.0.0.0) */
    uint16_t port;           /* PORT: default the port of ADDRESS */
    ckv_view view;           /* VIEW: default ADDRESS alone */
    uint32_t repl_factor;    /* REPL_FACTOR */
    uint32_t gossip_interval_ms;
    uint32_t proxy_timeout_ms;
    uint32_t causal_timeout_ms;
    uint32_t http_timeout_ms;
    uint32_t view_change_timeout_ms;
    uint32_t max_body_bytes;
    uint32_t max_header_bytes;
    uint32_t max_value_bytes;
    uint32_t internal_max_body_bytes;
    uint32_t max_connections;
    uint32_t peer_pool_size;
    uint32_t repl_log_entries;
    uint32_t repl_batch;
    int log_level;               /* LOG_LEVEL: error|warn|info|debug (CKV_LOG_*) */
    int log_format;              /* LOG_FORMAT: text|json (CKV_LOG_TEXT, CKV_LOG_JSON) */
    char cluster_secret[128];    /* CLUSTER_SECRET: "" = no secret check */
    char data_dir[256];          /* DATA_DIR: "" = in memory only */
    char hosts_file[256];        /* HOSTS_FILE: "" = /etc/hosts and DNS */
    int fsync_mode;              /* FSYNC: CKV_FSYNC_* */
    uint32_t load_truncated;     /* DATA_LOAD_TRUNCATED: 1 = drop a damaged journal's rest */
    uint32_t snapshot_min_bytes; /* SNAPSHOT_MIN_BYTES */
    ckv_cors cors;               /* CORS_ORIGINS: web origins that may read replies */
} ckv_config;

enum { CKV_FSYNC_EVERYSEC = 0, CKV_FSYNC_ALWAYS = 1, CKV_FSYNC_NO = 2 };
const char *ckv_fsync_mode_name(int mode);

/* getenv_fn lets tests supply an environment; pass getenv in production. */
typedef char *(*ckv_getenv_fn)(const char *name); /* the type of getenv(3) */

int ckv_config_load(ckv_config *cfg, ckv_getenv_fn getenv_fn, char *err, size_t errlen);

/* Prints every variable with its default and meaning (for --help). */
void ckv_config_print_help(FILE *out);

/* One line describing the effective configuration (for the startup log line). */
void ckv_config_describe(const ckv_config *cfg, char *buf, size_t len);

/* Whether name is one of the variables above (for --config files). */
bool ckv_config_is_variable(const char *name);

#endif
