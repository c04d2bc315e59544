/* config.c — environment variables → a validated ckv_config.
 *
 * One table row per variable (name, default, bounds, help, where it goes and how it
 * is parsed) drives loading, --help and the startup description, so the three can
 * never disagree. Rows are processed in table order: ADDRESS comes first because the
 * defaults of VIEW, PORT and BIND derive from it. An unset or empty variable means
 * its default. Cross-variable rules are checked after every row has been read. */
#include "causalkv/config.h"
#include "causalkv/errmsg.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "causalkv/journal_codec.h"
#include "causalkv/log.h"

#define NO_MAX UINT32_MAX /* an integer row bounded only by its minimum */
#define ECHO_MAX 64       /* bytes of a bad value quoted back in an error message */
#define MS_MAX 600000u    /* ten minutes: longer timeouts only hide dead peers */
#define MiB (1u << 20)

struct cfg_var;
typedef int (*cfg_parse_fn)(const struct cfg_var *var, const char *value, ckv_config *cfg,
                            char *err, size_t errlen);

struct cfg_var {
    const char *name;
    const char *help;
    const char *def_text;   /* default as shown by --help for non-integer rows */
    uint32_t def, min, max; /* integer rows (PORT and REPL_FACTOR use min/max only) */
    size_t offset;          /* integer rows: offsetof the uint32_t field */
    cfg_parse_fn parse;     /* value is NULL when the variable is unset or empty */
};

static int parse_address(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_view(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_repl_factor(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_port(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_bind(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_u32(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_log_level(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_log_format(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_secret(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_data_dir(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_hosts_file(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_fsync(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_yes_no(const struct cfg_var *, const char *, ckv_config *, char *, size_t);
static int parse_cors(const struct cfg_var *, const char *, ckv_config *, char *, size_t);

#define TEXT_VAR(name, def_text, parse, help)                                                      \
    {                                                                                              \
        name, help, def_text, 0, 0, 0, 0, parse                                                    \
    }
#define U32_VAR(name, field, def, min, max, help)                                                  \
    {                                                                                              \
        name, help, NULL, def, min, max, offsetof(ckv_config, field), parse_u32                    \
    }

static const struct cfg_var vars[] = {
    TEXT_VAR("ADDRESS", CKV_DEFAULT_ADDRESS, parse_address,
             "this node's identity, host:port (a DNS name, IPv4 or [IPv6]); must appear in VIEW"),
    TEXT_VAR("VIEW", "ADDRESS alone (a one-node cluster)", parse_view,
             "comma-separated host:port of every node, in order"),
    {"REPL_FACTOR", "replicas per shard; the VIEW length must be a multiple of it", "1",
     CKV_DEFAULT_REPL_FACTOR, 1, NO_MAX, 0, parse_repl_factor},
    {"PORT", "TCP port to listen on", "the port of ADDRESS", 0, 1, 65535, 0, parse_port},
    TEXT_VAR("BIND", "the IP of ADDRESS when in 127.0.0.0/8 or ::1, else 0.0.0.0", parse_bind,
             "IP address to listen on (a literal, never a name)"),
    U32_VAR("GOSSIP_INTERVAL_MS", gossip_interval_ms, CKV_DEFAULT_GOSSIP_INTERVAL_MS, 10, MS_MAX,
            "anti-entropy period between replicas of a shard"),
    U32_VAR("PROXY_TIMEOUT_MS", proxy_timeout_ms, CKV_DEFAULT_PROXY_TIMEOUT_MS, 1, MS_MAX,
            "bound on forwarding a request to another shard, all replicas included"),
    U32_VAR("CAUSAL_TIMEOUT_MS", causal_timeout_ms, CKV_DEFAULT_CAUSAL_TIMEOUT_MS, 1, MS_MAX,
            "wait for missing causal dependencies before answering 503"),
    U32_VAR("HTTP_TIMEOUT_MS", http_timeout_ms, CKV_DEFAULT_HTTP_TIMEOUT_MS, 1, MS_MAX,
            "read/write timeout of a client connection"),
    U32_VAR("VIEW_CHANGE_TIMEOUT_MS", view_change_timeout_ms, CKV_DEFAULT_VIEW_CHANGE_TIMEOUT_MS, 1,
            MS_MAX, "a prepared view change aborts after this"),
    U32_VAR("MAX_BODY_BYTES", max_body_bytes, CKV_DEFAULT_MAX_BODY_BYTES, 1024, 1024 * MiB,
            "largest client request body (413 above)"),
    U32_VAR("MAX_HEADER_BYTES", max_header_bytes, CKV_DEFAULT_MAX_HEADER_BYTES, 1024, MiB,
            "largest request header block (431 above)"),
    U32_VAR("MAX_VALUE_BYTES", max_value_bytes, CKV_DEFAULT_MAX_VALUE_BYTES, 1, 1024 * MiB,
            "largest value (413 above); at most MAX_BODY_BYTES"),
    U32_VAR("INTERNAL_MAX_BODY_BYTES", internal_max_body_bytes, CKV_DEFAULT_INTERNAL_MAX_BODY_BYTES,
            64 * 1024, 2048 * MiB,
            "largest node-to-node body (replication, view change); at least MAX_BODY_BYTES"),
    U32_VAR("MAX_CONNECTIONS", max_connections, CKV_DEFAULT_MAX_CONNECTIONS, 1, 1000000,
            "inbound connections; more are answered 503 and closed"),
    U32_VAR("PEER_POOL_SIZE", peer_pool_size, CKV_DEFAULT_PEER_POOL_SIZE, 1, 256,
            "keep-alive connections per peer"),
    U32_VAR("REPL_LOG_ENTRIES", repl_log_entries, CKV_DEFAULT_REPL_LOG_ENTRIES, 1, 16 * MiB,
            "own recent writes kept for pushing to replicas; older ones go by sync"),
    U32_VAR("REPL_BATCH", repl_batch, CKV_DEFAULT_REPL_BATCH, 1, 65536,
            "versions per replication push or sync message"),
    TEXT_VAR("LOG_LEVEL", "info", parse_log_level, "error, warn, info or debug"),
    TEXT_VAR("LOG_FORMAT", "text", parse_log_format,
             "text (time level message) or json (one object per line)"),
    TEXT_VAR("CLUSTER_SECRET", "empty (no check)", parse_secret,
             "shared secret required on internal endpoints when set"),
    TEXT_VAR(
        "HOSTS_FILE", "unset (/etc/hosts, then the DNS servers of /etc/resolv.conf)",
        parse_hosts_file,
        "hosts(5) file that alone resolves the names in ADDRESS and VIEW; re-read when changed"),
    TEXT_VAR("DATA_DIR", "unset (in memory only)", parse_data_dir,
             "directory for the journal and snapshots; created when missing"),
    TEXT_VAR("FSYNC", "everysec", parse_fsync,
             "always (acknowledge once on disk), everysec or no; with DATA_DIR"),
    TEXT_VAR("DATA_LOAD_TRUNCATED", "no", parse_yes_no,
             "yes: start from a damaged journal, dropping the damaged record and all after it"),
    U32_VAR("SNAPSHOT_MIN_BYTES", snapshot_min_bytes, 64 * MiB, 4096, NO_MAX,
            "journal bytes after which a snapshot folds it (also once it outgrows the snapshot)"),
    TEXT_VAR("CORS_ORIGINS", "none (only the nodes' own dashboards)", parse_cors,
             "comma-separated web origins (http://host:port) whose pages may call the API, or *"),
};
#define VAR_COUNT (sizeof(vars) / sizeof(vars[0]))

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* "'value'" for error messages, cut at ECHO_MAX bytes so err stays one short line. */
#define ECHO_FMT "'%.*s'%s"
#define ECHO_ARGS(v) (int)ECHO_MAX, (v), (strlen(v) > ECHO_MAX ? "..." : "")

/* Decimal digits only, surrounding whitespace allowed: no sign, no 0x, no overflow. */
static bool parse_decimal_u32(const char *s, uint32_t *out)
{
    while (is_space(*s))
        s++;
    uint64_t value = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        value = value * 10 + (uint64_t)(*s - '0');
        if (value > UINT32_MAX)
            return false;
    }
    while (is_space(*s))
        s++;
    if (digits == 0 || *s != '\0')
        return false;
    *out = (uint32_t)value;
    return true;
}

static int parse_bounded(const struct cfg_var *var, const char *value, uint32_t *out, char *err,
                         size_t errlen)
{
    uint32_t n;
    if (!parse_decimal_u32(value, &n) || n < var->min || n > var->max) {
        if (var->max == NO_MAX)
            ckv_set_err(err, errlen, "%s: must be an integer >= %u (got " ECHO_FMT ")", var->name,
                        var->min, ECHO_ARGS(value));
        else
            ckv_set_err(err, errlen, "%s: must be an integer in %u..%u (got " ECHO_FMT ")",
                        var->name, var->min, var->max, ECHO_ARGS(value));
        return CKV_ERROR;
    }
    *out = n;
    return CKV_OK;
}

static int parse_u32(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                     size_t errlen)
{
    uint32_t *field = (uint32_t *)(void *)((char *)cfg + var->offset);
    if (value == NULL) {
        *field = var->def;
        return CKV_OK;
    }
    return parse_bounded(var, value, field, err, errlen);
}

static int parse_repl_factor(const struct cfg_var *var, const char *value, ckv_config *cfg,
                             char *err, size_t errlen)
{
    if (value == NULL) {
        cfg->repl_factor = var->def;
        return CKV_OK;
    }
    return parse_bounded(var, value, &cfg->repl_factor, err, errlen);
}

static int parse_address(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                         size_t errlen)
{
    const char *text = value ? value : var->def_text;
    if (ckv_addr_parse(text, strlen(text), cfg->address) != CKV_OK) {
        ckv_set_err(err, errlen, "%s: unparsable address " ECHO_FMT " (want host:port)", var->name,
                    ECHO_ARGS(text));
        return CKV_ERROR;
    }
    return CKV_OK;
}

static int parse_view(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                      size_t errlen)
{
    if (value == NULL) {
        cfg->view.n = 1;
        memcpy(cfg->view.addrs[0], cfg->address, CKV_ADDR_MAX);
        return CKV_OK;
    }
    char why[128];
    if (ckv_view_parse_csv(value, &cfg->view, why, sizeof(why)) != CKV_OK) {
        ckv_set_err(err, errlen, "%s: %s", var->name, why);
        return CKV_ERROR;
    }
    return CKV_OK;
}

static int parse_port(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                      size_t errlen)
{
    if (value == NULL)
        return ckv_addr_split(cfg->address, NULL, &cfg->port);
    uint32_t port;
    if (parse_bounded(var, value, &port, err, errlen) != CKV_OK)
        return CKV_ERROR;
    cfg->port = (uint16_t)port;
    return CKV_OK;
}

/* view.h only parses "host:port", so an IP alone is checked by giving it a dummy port;
 * this also normalises it the same way as addresses. BIND must be a literal: the
 * listener is made before the event loop runs, and the node never resolves names
 * synchronously. An IPv6 literal may come with or without brackets. */
static int parse_bind_ip(const char *s, char out[CKV_HOST_MAX])
{
    size_t len = strlen(s);
    while (len > 0 && is_space(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_space(s[len - 1]))
        len--;
    if (len == 0 || len > CKV_HOST_LEN_MAX)
        return CKV_ERROR;
    bool v6 = memchr(s, ':', len) != NULL && s[0] != '[';
    char with_port[CKV_ADDR_MAX + 2];
    int n = snprintf(with_port, sizeof(with_port), v6 ? "[%.*s]:1" : "%.*s:1", (int)len, s);
    char addr[CKV_ADDR_MAX];
    if (ckv_addr_parse(with_port, (size_t)n, addr) != CKV_OK ||
        ckv_addr_split(addr, out, NULL) != CKV_OK)
        return CKV_ERROR;
    return ckv_host_kind(out) == CKV_HOST_NAME ? CKV_ERROR : CKV_OK;
}

static bool is_loopback(const char *ip)
{
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

static int parse_bind(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                      size_t errlen)
{
    if (value == NULL) {
        /* Several local nodes may share a port when each binds its own 127.x address.
         * A name is not looked up here (see parse_bind_ip): it listens on every IPv4
         * address, and nodes that share a machine set BIND. */
        char host[CKV_HOST_MAX];
        if (ckv_addr_split(cfg->address, host, NULL) != CKV_OK)
            return CKV_ERROR;
        snprintf(cfg->bind, sizeof(cfg->bind), "%s", is_loopback(host) ? host : "0.0.0.0");
        return CKV_OK;
    }
    if (parse_bind_ip(value, cfg->bind) != CKV_OK) {
        ckv_set_err(err, errlen,
                    "%s: must be an IP address like 0.0.0.0, 127.0.0.2 or ::1 (got " ECHO_FMT ")",
                    var->name, ECHO_ARGS(value));
        return CKV_ERROR;
    }
    return CKV_OK;
}

static int parse_log_level(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                           size_t errlen)
{
    const char *text = value ? value : var->def_text;
    int level = ckv_log_level_parse(text);
    if (level < 0) {
        ckv_set_err(err, errlen, "%s: must be one of error, warn, info, debug (got " ECHO_FMT ")",
                    var->name, ECHO_ARGS(text));
        return CKV_ERROR;
    }
    cfg->log_level = level;
    return CKV_OK;
}

static int parse_log_format(const struct cfg_var *var, const char *value, ckv_config *cfg,
                            char *err, size_t errlen)
{
    const char *text = value ? value : var->def_text;
    int format = ckv_log_format_parse(text);
    if (format < 0) {
        ckv_set_err(err, errlen, "%s: must be text or json (got " ECHO_FMT ")", var->name,
                    ECHO_ARGS(text));
        return CKV_ERROR;
    }
    cfg->log_format = format;
    return CKV_OK;
}

static int parse_secret(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                        size_t errlen)
{
    /* Taken verbatim (no trimming): the secret is compared byte for byte. */
    const char *text = value ? value : "";
    if (strlen(text) >= sizeof(cfg->cluster_secret)) {
        ckv_set_err(err, errlen, "%s: longer than %zu bytes", var->name,
                    sizeof(cfg->cluster_secret) - 1);
        return CKV_ERROR;
    }
    memcpy(cfg->cluster_secret, text, strlen(text) + 1);
    return CKV_OK;
}

static int parse_data_dir(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                          size_t errlen)
{
    const char *text = value ? value : "";
    if (strlen(text) >= sizeof(cfg->data_dir)) {
        ckv_set_err(err, errlen, "%s: longer than %zu bytes", var->name, sizeof(cfg->data_dir) - 1);
        return CKV_ERROR;
    }
    memcpy(cfg->data_dir, text, strlen(text) + 1);
    return CKV_OK;
}

static int parse_hosts_file(const struct cfg_var *var, const char *value, ckv_config *cfg,
                            char *err, size_t errlen)
{
    const char *text = value ? value : "";
    if (strlen(text) >= sizeof(cfg->hosts_file)) {
        ckv_set_err(err, errlen, "%s: longer than %zu bytes", var->name,
                    sizeof(cfg->hosts_file) - 1);
        return CKV_ERROR;
    }
    memcpy(cfg->hosts_file, text, strlen(text) + 1);
    return CKV_OK;
}

static const char *const fsync_names[] = {"everysec", "always", "no"};

const char *ckv_fsync_mode_name(int mode)
{
    return mode >= 0 && mode < 3 ? fsync_names[mode] : "?";
}

static int parse_fsync(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                       size_t errlen)
{
    const char *text = value ? value : var->def_text;
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, fsync_names[i]) == 0) {
            cfg->fsync_mode = i;
            return CKV_OK;
        }
    }
    ckv_set_err(err, errlen, "%s: must be one of always, everysec, no (got " ECHO_FMT ")",
                var->name, ECHO_ARGS(text));
    return CKV_ERROR;
}

static int parse_yes_no(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                        size_t errlen)
{
    const char *text = value ? value : var->def_text;
    if (strcmp(text, "yes") != 0 && strcmp(text, "no") != 0) {
        ckv_set_err(err, errlen, "%s: must be yes or no (got " ECHO_FMT ")", var->name,
                    ECHO_ARGS(text));
        return CKV_ERROR;
    }
    cfg->load_truncated = text[0] == 'y';
    return CKV_OK;
}

static int parse_cors(const struct cfg_var *var, const char *value, ckv_config *cfg, char *err,
                      size_t errlen)
{
    char why[160];
    if (ckv_cors_parse(value, &cfg->cors, why, sizeof(why)) != CKV_OK) {
        ckv_set_err(err, errlen, "%s: %s", var->name, why);
        return CKV_ERROR;
    }
    return CKV_OK;
}

/* Rules that involve more than one variable; run once every row is read. */
static int check_cross(const ckv_config *cfg, char *err, size_t errlen)
{
    /* an ADDRESS outside VIEW is not an error: the node starts as a standby that a view
     * change can add */
    if (cfg->repl_factor > cfg->view.n) {
        ckv_set_err(err, errlen, "REPL_FACTOR: %u is larger than the %u members of VIEW",
                    cfg->repl_factor, cfg->view.n);
        return CKV_ERROR;
    }
    if (cfg->view.n % cfg->repl_factor != 0) {
        ckv_set_err(err, errlen, "VIEW: %u members is not a multiple of REPL_FACTOR %u",
                    cfg->view.n, cfg->repl_factor);
        return CKV_ERROR;
    }
    if (cfg->max_value_bytes > cfg->max_body_bytes) {
        ckv_set_err(err, errlen, "MAX_VALUE_BYTES: %u is larger than MAX_BODY_BYTES %u",
                    cfg->max_value_bytes, cfg->max_body_bytes);
        return CKV_ERROR;
    }
    /* Replication carries client values node to node; a smaller internal limit would
     * accept a write that can never reach the other replicas. */
    if (cfg->internal_max_body_bytes < cfg->max_body_bytes) {
        ckv_set_err(err, errlen, "INTERNAL_MAX_BODY_BYTES: %u is smaller than MAX_BODY_BYTES %u",
                    cfg->internal_max_body_bytes, cfg->max_body_bytes);
        return CKV_ERROR;
    }
    /* a value the journal cannot frame would be accepted and then lost at a restart */
    if (cfg->data_dir[0] != '\0' && cfg->max_value_bytes > CKV_JOURNAL_MAX_VALUE) {
        ckv_set_err(err, errlen,
                    "MAX_VALUE_BYTES: %u is larger than %u, the most a journal record "
                    "holds (DATA_DIR is set)",
                    cfg->max_value_bytes, CKV_JOURNAL_MAX_VALUE);
        return CKV_ERROR;
    }
    return CKV_OK;
}

int ckv_config_load(ckv_config *cfg, ckv_getenv_fn getenv_fn, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < VAR_COUNT; i++) {
        const char *value = getenv_fn(vars[i].name);
        if (value != NULL && value[0] == '\0')
            value = NULL; /* empty means default, as for an unset variable */
        if (vars[i].parse(&vars[i], value, cfg, err, errlen) != CKV_OK)
            return CKV_ERROR;
    }
    return check_cross(cfg, err, errlen);
}

void ckv_config_print_help(FILE *out)
{
    fprintf(out, "Usage: causalkv [--config FILE] | --help | --version\n"
                 "\n"
                 "causalkv " CKV_VERSION " is configured through environment variables;\n"
                 "--config FILE reads VARIABLE=value lines too (the environment wins).\n"
                 "Unset or empty variables take their default. Bad configuration exits with\n"
                 "status 2 and one line on stderr naming the variable.\n"
                 "\n");
    for (size_t i = 0; i < VAR_COUNT; i++) {
        const struct cfg_var *v = &vars[i];
        fprintf(out, "  %-24s %s\n", v->name, v->help);
        if (v->def_text != NULL)
            fprintf(out, "  %-24s default: %s\n", "", v->def_text);
        else
            fprintf(out, "  %-24s default: %u (allowed %u..%u)\n", "", v->def, v->min, v->max);
    }
}

/* Appends to buf at *pos, never past len; a truncated description is still a string. */
static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    if (*pos >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        *pos = (*pos + (size_t)n < len) ? *pos + (size_t)n : len;
}

static const char *log_level_name(int level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    return (level >= 0 && level <= CKV_LOG_DEBUG) ? names[level] : "?";
}

void ckv_config_describe(const ckv_config *cfg, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return;
    buf[0] = '\0';
    size_t pos = 0;
    append(buf, len, &pos, "ADDRESS=%s BIND=%s PORT=%u VIEW=", cfg->address, cfg->bind, cfg->port);
    for (uint32_t i = 0; i < cfg->view.n && i < CKV_VIEW_MAX; i++)
        append(buf, len, &pos, "%s%s", i ? "," : "", cfg->view.addrs[i]);
    append(buf, len, &pos, " REPL_FACTOR=%u", cfg->repl_factor);
    for (size_t i = 0; i < VAR_COUNT; i++)
        if (vars[i].parse == parse_u32)
            append(buf, len, &pos, " %s=%u", vars[i].name,
                   *(const uint32_t *)(const void *)((const char *)cfg + vars[i].offset));
    append(buf, len, &pos, " LOG_LEVEL=%s LOG_FORMAT=%s CLUSTER_SECRET=%s",
           log_level_name(cfg->log_level), cfg->log_format == CKV_LOG_JSON ? "json" : "text",
           cfg->cluster_secret[0] ? "set" : "unset");
    append(buf, len, &pos, " HOSTS_FILE=%s", cfg->hosts_file[0] ? cfg->hosts_file : "unset");
    if (cfg->data_dir[0] != '\0')
        append(buf, len, &pos, " DATA_DIR=%s FSYNC=%s DATA_LOAD_TRUNCATED=%s", cfg->data_dir,
               ckv_fsync_mode_name(cfg->fsync_mode), cfg->load_truncated ? "yes" : "no");
    else
        append(buf, len, &pos, " DATA_DIR=unset (in memory)");
    append(buf, len, &pos, " CORS_ORIGINS=%s", cfg->cors.any ? "*" : cfg->cors.n ? "" : "none");
    for (uint32_t i = 0; i < cfg->cors.n; i++)
        append(buf, len, &pos, "%s%s", i ? "," : "", cfg->cors.origins[i]);
}

bool ckv_config_is_variable(const char *name)
{
    for (size_t i = 0; i < VAR_COUNT; i++)
        if (strcmp(vars[i].name, name) == 0)
            return true;
    return false;
}
