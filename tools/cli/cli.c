/* cli.c — causalkv-cli, the command-line client.
 *
 * One HTTP request per call, through libevent's evhttp client on one event_base with a
 * deadline timer, to the first of its endpoints that answers (endpoint.h: a connect
 * probe first tells "never sent" from "sent, no reply", which decides whether a write
 * may move on). The causal context is kept in a file between calls (one per cluster
 * named with --endpoints): it is read before the request, sent as "causal-context", and
 * replaced (temp file + rename) by the reply's context after every accepted reply, so
 * successive shell commands are causally ordered even when they go to different nodes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <getopt.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "causalkv/common.h"
#include "causalkv/journal_codec.h"
#include "causalkv/sbuf.h"
#include "endpoint.h"

enum cli_exit {
    EXIT_OK = 0,
    EXIT_NO_KEY = 1,        /* 404 on get/delete */
    EXIT_USAGE = 2,         /* bad command line */
    EXIT_REFUSED = 3,       /* other 4xx */
    EXIT_UNAVAILABLE = 4,   /* 5xx, connection failure, timeout, unusable reply */
    EXIT_STALE_CONTEXT = 5, /* the saved context belongs to another cluster or epoch */
};

#define PROG "causalkv-cli"
#define DEFAULT_NODE "127.0.0.1:13800"
#define DEFAULT_PORT 13800
#define DEFAULT_TIMEOUT_MS 5000
#define MAX_TIMEOUT_MS 86400000L
#define KV_PREFIX "/kv-store/keys/"

typedef struct cli_opts {
    const char *node;         /* --node, NULL when not given */
    const char *endpoints;    /* --endpoints, NULL when not given */
    const char *context_path; /* NULL: the default path */
    bool no_context;
    bool forget_context; /* delete the saved context first */
    bool json;
    bool cluster_named; /* endpoints from --endpoints/CAUSALKV_ENDPOINTS: a context file
                           of the cluster's own */
    cli_endpoint eps[CLI_ENDPOINTS_MAX];
    size_t neps;
    long timeout_ms;
    char **args; /* the command and its arguments */
    int nargs;
} cli_opts;

/* The request to send, built by a command. */
typedef struct cli_call {
    enum evhttp_cmd_type method;
    ckv_sbuf path;
    json_t *body;     /* a JSON object; the context is added to it */
    bool key_op;      /* a 404 means "no such key" (exit 1) */
    bool send_secret; /* CLUSTER_SECRET from the environment goes in X-Ckv-Secret */
} cli_call;

/* What came back. */
typedef struct cli_reply {
    struct event_base *base;
    bool done;
    bool timed_out;
    bool have_error;
    enum evhttp_request_error error;
    int status; /* 0: no HTTP reply */
    ckv_sbuf body;
    json_t *js; /* the parsed body, when it is JSON */
} cli_reply;

typedef int (*build_fn)(cli_call *call, char **args);
typedef int (*print_fn)(const json_t *js, int status);
/* Commands whose successful reply is not JSON: they handle the bytes themselves. */
typedef int (*save_fn)(const char *path, const ckv_sbuf *body);

typedef struct cli_command {
    const char *name;
    int nargs;
    build_fn build;
    print_fn print;
    save_fn save;   /* non-NULL: a binary reply, and no causal context */
    bool stateless; /* sends and keeps no causal context (health) */
} cli_command;

/* ------------------------------------------------------------------ messages */

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [options] COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  get KEY              print the value of KEY\n"
            "  put KEY VALUE        set KEY (VALUE '-' reads it from stdin, verbatim);\n"
            "                       prints added or updated\n"
            "  delete KEY           delete KEY; prints deleted\n"
            "  count                number of live keys held by the node\n"
            "  shards               shard ids, one per line\n"
            "  shard ID             one line: ID KEY-COUNT REPLICA,REPLICA,...\n"
            "  view-change VIEW R   install VIEW (comma-separated ip:port list) with\n"
            "                       REPL_FACTOR R; prints one line per new shard as above\n"
            "  health               the node's GET /healthz: prints ok and exits 0 when it\n"
            "                       serves reads and writes, else prints why and exits 4\n"
            "                       (a container health check; no causal context)\n"
            "  backup FILE          write the node's data (its shard), consistent at one\n"
            "                       instant, to FILE: a snapshot a DATA_DIR can start from\n"
            "                       (sends CLUSTER_SECRET from the environment when set)\n"
            "\n"
            "options (anywhere; '--' ends them, e.g. for a value starting with '-'):\n"
            "  --node ADDR          node to ask (env CAUSALKV_NODE, default " DEFAULT_NODE ")\n"
            "  --endpoints A,B,...  nodes of one cluster, tried in order: the next one when\n"
            "                       one refuses or times out (a write only when it could not\n"
            "                       connect, as a sent write may have been applied); not on\n"
            "                       an HTTP error (env CAUSALKV_ENDPOINTS). The cluster gets\n"
            "                       a context file of its own, named by the sorted list.\n"
            "                       ADDR: ip:port, name:port or [ipv6]:port (port default %d)\n"
            "  --context FILE       causal context file (default\n"
            "                       $XDG_STATE_HOME/causalkv/context.json or\n"
            "                       ~/.local/state/causalkv/context.json; with --endpoints\n"
            "                       context-<hash of the endpoints>.json there)\n"
            "  --no-context         neither send nor store a causal context\n"
            "  --forget-context     delete the saved causal context first (alone: just that)\n"
            "  --json               print the raw reply body instead\n"
            "  --timeout MS         give up on an endpoint after MS milliseconds (default %d)\n"
            "  --help, --version\n"
            "\n"
            "exit status: 0 success, 1 key does not exist, 2 usage error, 3 request refused\n"
            "by the server (4xx), 4 server unavailable or unreachable (5xx, connection\n"
            "failure, timeout), 5 the saved causal context belongs to another cluster or a\n"
            "newer view epoch than the cluster's (reset it with --forget-context).\n",
            DEFAULT_PORT, DEFAULT_TIMEOUT_MS);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '" PROG " --help'.\n");
    va_end(ap);
    return EXIT_USAGE;
}

/* ------------------------------------------------------------------ arguments */

static bool parse_long(const char *s, long min, long max, long *out)
{
    if (*s == '\0' || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

enum {
    OPT_NODE = 256,
    OPT_ENDPOINTS,
    OPT_CONTEXT,
    OPT_NO_CONTEXT,
    OPT_FORGET,
    OPT_JSON,
    OPT_TIMEOUT,
    OPT_VERSION
};

static const struct option long_options[] = {
    {"node", required_argument, NULL, OPT_NODE},
    {"endpoints", required_argument, NULL, OPT_ENDPOINTS},
    {"context", required_argument, NULL, OPT_CONTEXT},
    {"no-context", no_argument, NULL, OPT_NO_CONTEXT},
    {"forget-context", no_argument, NULL, OPT_FORGET},
    {"json", no_argument, NULL, OPT_JSON},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* One option; -1 for --help/--version (already printed), else an exit code. */
static int take_option(cli_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'h':
        print_usage(stdout);
        return -1;
    case OPT_VERSION:
        printf(PROG " %s\n", CKV_VERSION);
        return -1;
    case OPT_NODE:
        o->node = arg;
        break;
    case OPT_ENDPOINTS:
        o->endpoints = arg;
        break;
    case OPT_CONTEXT:
        o->context_path = arg;
        break;
    case OPT_NO_CONTEXT:
        o->no_context = true;
        break;
    case OPT_FORGET:
        o->forget_context = true;
        break;
    case OPT_JSON:
        o->json = true;
        break;
    case OPT_TIMEOUT:
        if (!parse_long(arg, 1, MAX_TIMEOUT_MS, &o->timeout_ms))
            return usage_error("--timeout wants a positive number of milliseconds, not '%s'", arg);
        break;
    }
    return EXIT_OK;
}

/* --node, --endpoints, else CAUSALKV_ENDPOINTS, else CAUSALKV_NODE, else the default. */
static int choose_endpoints(cli_opts *o)
{
    if (o->node != NULL && o->endpoints != NULL)
        return usage_error("%s", "give --node or --endpoints, not both");
    const char *env_eps = getenv("CAUSALKV_ENDPOINTS");
    const char *env_node = getenv("CAUSALKV_NODE");
    const char *list = o->endpoints;
    if (list == NULL && o->node == NULL && env_eps != NULL && env_eps[0] != '\0')
        list = env_eps;
    o->cluster_named = list != NULL;
    if (list == NULL)
        list = o->node != NULL                           ? o->node
               : env_node != NULL && env_node[0] != '\0' ? env_node
                                                         : DEFAULT_NODE;
    char why[256];
    if (!cli_endpoints_parse(list, DEFAULT_PORT, o->eps, &o->neps, why, sizeof(why)))
        return usage_error("%s wants ip:port, name:port or [ipv6]:port: %s",
                           o->cluster_named ? "--endpoints" : "--node", why);
    if (!o->cluster_named && o->neps != 1)
        return usage_error("--node takes one address (use --endpoints for several): '%s'", list);
    return EXIT_OK;
}

/* getopt_long, permuting: options may come anywhere; '--' ends them (for a value that
 * starts with '-'). The command and its arguments end up in o->args. */
static int parse_args(cli_opts *o, int argc, char **argv)
{
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        if (c == '?' || c == ':') {
            const char *arg = argv[optind - 1];
            char short_opt[3] = {'-', (char)optopt, '\0'};
            bool is_long = arg[0] == '-' && arg[1] == '-';
            return usage_error("%s %s", c == ':' ? "missing value for option" : "unknown option",
                               is_long ? arg : short_opt);
        }
        int rc = take_option(o, c, optarg);
        if (rc != EXIT_OK)
            return rc;
    }
    o->args = argv + optind;
    o->nargs = argc - optind;
    return choose_endpoints(o);
}

/* ------------------------------------------------------------------ commands */

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static void add_percent_encoded(ckv_sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (is_unreserved(*p)) {
            ckv_sbuf_addc(b, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            ckv_sbuf_add(b, esc, sizeof(esc));
        }
    }
}

static int key_call(cli_call *call, enum evhttp_cmd_type method, const char *key)
{
    call->method = method;
    call->key_op = true;
    ckv_sbuf_adds(&call->path, KV_PREFIX);
    add_percent_encoded(&call->path, key);
    return EXIT_OK;
}

static int build_get(cli_call *call, char **args)
{
    return key_call(call, EVHTTP_REQ_GET, args[0]);
}

static int build_delete(cli_call *call, char **args)
{
    return key_call(call, EVHTTP_REQ_DELETE, args[0]);
}

static int read_stdin(ckv_sbuf *b)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        ckv_sbuf_add(b, chunk, n);
    if (ferror(stdin)) {
        fprintf(stderr, PROG ": reading the value from stdin: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int set_value(cli_call *call, const char *value, size_t len)
{
    json_t *v = json_stringn(value, len);
    if (v == NULL) {
        fprintf(stderr, PROG ": the value is not valid UTF-8 text\n");
        return EXIT_USAGE;
    }
    json_object_set_new(call->body, "value", v);
    return EXIT_OK;
}

static int build_put(cli_call *call, char **args)
{
    key_call(call, EVHTTP_REQ_PUT, args[0]);
    if (strcmp(args[1], "-") != 0)
        return set_value(call, args[1], strlen(args[1]));
    ckv_sbuf in;
    ckv_sbuf_init(&in);
    int rc = read_stdin(&in);
    if (rc == EXIT_OK)
        rc = set_value(call, in.data != NULL ? in.data : "", in.len);
    ckv_sbuf_free(&in);
    return rc;
}

static int build_count(cli_call *call, char **args)
{
    (void)args;
    call->method = EVHTTP_REQ_GET;
    ckv_sbuf_adds(&call->path, "/kv-store/key-count");
    return EXIT_OK;
}

static int build_shards(cli_call *call, char **args)
{
    (void)args;
    call->method = EVHTTP_REQ_GET;
    ckv_sbuf_adds(&call->path, "/kv-store/shards");
    return EXIT_OK;
}

static int build_shard(cli_call *call, char **args)
{
    long id;
    if (!parse_long(args[0], 0, LONG_MAX, &id))
        return usage_error("shard ID must be a number, not '%s'", args[0]);
    call->method = EVHTTP_REQ_GET;
    ckv_sbuf_adds(&call->path, "/kv-store/shards/");
    ckv_sbuf_adds(&call->path, args[0]);
    return EXIT_OK;
}

static int build_health(cli_call *call, char **args)
{
    (void)args;
    call->method = EVHTTP_REQ_GET;
    ckv_sbuf_adds(&call->path, "/healthz");
    return EXIT_OK;
}

/* "a:p, b:p" -> ["a:p","b:p"] (items trimmed; empty items kept for the node to refuse). */
static json_t *view_array(const char *view)
{
    json_t *arr = json_array();
    const char *p = view;
    while (arr != NULL && *view != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len > 0 && (*s == ' ' || *s == '\t'))
            s++, len--;
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        json_t *item = json_stringn(s, len);
        if (item == NULL || json_array_append_new(arr, item) != 0) {
            json_decref(arr);
            return NULL;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return arr;
}

static int build_view_change(cli_call *call, char **args)
{
    long rf;
    if (!parse_long(args[1], 0, INT_MAX, &rf))
        return usage_error("view-change R must be a number, not '%s'", args[1]);
    json_t *view = view_array(args[0]);
    if (view == NULL)
        return usage_error("the view '%s' is not valid text", args[0]);
    call->method = EVHTTP_REQ_PUT;
    ckv_sbuf_adds(&call->path, "/kv-store/view-change");
    json_object_set_new(call->body, "view", view);
    json_object_set_new(call->body, "repl-factor", json_integer(rf));
    return EXIT_OK;
}

/* ------------------------------------------------------------------ human output */

static const char *reply_string(const json_t *js, const char *field)
{
    return json_string_value(json_object_get(js, field));
}

static int bad_reply(const char *what)
{
    fprintf(stderr, PROG ": the server's reply has no %s\n", what);
    return EXIT_UNAVAILABLE;
}

static int print_get(const json_t *js, int status)
{
    (void)status;
    const json_t *v = json_object_get(js, "value");
    if (!json_is_string(v))
        return bad_reply("value");
    fwrite(json_string_value(v), 1, json_string_length(v), stdout);
    putchar('\n');
    return EXIT_OK;
}

static int print_put(const json_t *js, int status)
{
    const json_t *replaced = json_object_get(js, "replaced");
    bool updated = json_is_boolean(replaced) ? json_is_true(replaced) : status == 200;
    puts(updated ? "updated" : "added");
    return EXIT_OK;
}

static int print_delete(const json_t *js, int status)
{
    (void)js;
    (void)status;
    puts("deleted");
    return EXIT_OK;
}

static int print_count(const json_t *js, int status)
{
    (void)status;
    const json_t *n = json_object_get(js, "key-count");
    if (!json_is_integer(n))
        return bad_reply("key-count");
    printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(n));
    return EXIT_OK;
}

static int print_health(const json_t *js, int status)
{
    (void)status;
    const char *st = reply_string(js, "status");
    if (st == NULL)
        return bad_reply("status");
    printf("%s\n", st);
    return EXIT_OK;
}

static int print_shards(const json_t *js, int status)
{
    (void)status;
    const json_t *ids = json_object_get(js, "shards");
    if (!json_is_array(ids))
        return bad_reply("shards");
    size_t i;
    const json_t *id;
    json_array_foreach(ids, i, id)
    {
        printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(id));
    }
    return EXIT_OK;
}

/* "ID KEY-COUNT REPLICA,REPLICA,..." */
static int print_shard_line(const json_t *shard)
{
    const json_t *id = json_object_get(shard, "shard-id");
    const json_t *count = json_object_get(shard, "key-count");
    const json_t *replicas = json_object_get(shard, "replicas");
    if (!json_is_integer(id) || !json_is_integer(count) || !json_is_array(replicas))
        return bad_reply("shard-id, key-count or replicas");
    printf("%" JSON_INTEGER_FORMAT " %" JSON_INTEGER_FORMAT " ", json_integer_value(id),
           json_integer_value(count));
    size_t i;
    const json_t *r;
    json_array_foreach(replicas, i, r)
    {
        printf("%s%s", i > 0 ? "," : "", json_string_value(r) ? json_string_value(r) : "?");
    }
    putchar('\n');
    return EXIT_OK;
}

static int print_shard(const json_t *js, int status)
{
    (void)status;
    return print_shard_line(js);
}

static int print_view_change(const json_t *js, int status)
{
    (void)status;
    const json_t *shards = json_object_get(js, "shards");
    if (!json_is_array(shards))
        return bad_reply("shards");
    size_t i;
    const json_t *s;
    json_array_foreach(shards, i, s)
    {
        int rc = print_shard_line(s);
        if (rc != EXIT_OK)
            return rc;
    }
    return EXIT_OK;
}

static int build_backup(cli_call *call, char **args)
{
    (void)args;
    call->method = EVHTTP_REQ_GET;
    call->send_secret = true;
    ckv_sbuf_adds(&call->path, "/kv-store/backup");
    return EXIT_OK;
}

/* A backup is whole when every frame decodes, it starts with SNAPSHOT and ends with END
 * counting its versions: the node answered 200, but a cut connection must not leave a
 * file that looks like a backup. */
static bool backup_is_whole(const ckv_sbuf *b, uint64_t *versions, uint64_t *epoch)
{
    if (b->len < CKV_JOURNAL_MAGIC_LEN ||
        memcmp(b->data, CKV_JOURNAL_MAGIC, CKV_JOURNAL_MAGIC_LEN) != 0)
        return false;
    size_t off = CKV_JOURNAL_MAGIC_LEN;
    bool first = true, ended = false;
    *versions = 0;
    while (off < b->len && !ended) {
        ckv_jrec rec;
        size_t used;
        if (ckv_jrec_decode(b->data + off, b->len - off, &rec, &used) != CKV_JREC_OK)
            return false;
        if (first != (rec.type == CKV_JREC_SNAPSHOT))
            return false;
        if (rec.type == CKV_JREC_VERSION) {
            ckv_version_unref(rec.version);
            (*versions)++;
        }
        if (rec.type == CKV_JREC_EPOCH)
            *epoch = rec.map.epoch;
        ended = rec.type == CKV_JREC_END && rec.count == *versions;
        first = false;
        off += used;
    }
    return ended && off == b->len;
}

/* Written beside FILE, synced, then renamed: FILE is either the old one or the whole backup. */
static int save_backup(const char *path, const ckv_sbuf *body)
{
    uint64_t versions = 0, epoch = 0;
    if (!backup_is_whole(body, &versions, &epoch)) {
        fprintf(stderr, PROG ": the backup that came back is not whole; nothing written\n");
        return EXIT_UNAVAILABLE;
    }
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (tmp == NULL)
        return EXIT_UNAVAILABLE;
    snprintf(tmp, n, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, body->data, body->len) == (ssize_t)body->len && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    if (ok)
        printf("backup of %llu versions (epoch %llu, %zu bytes) written to %s\n",
               (unsigned long long)versions, (unsigned long long)epoch, body->len, path);
    return ok ? EXIT_OK : EXIT_UNAVAILABLE;
}

static const cli_command commands[] = {
    {"get", 1, build_get, print_get, NULL, false},
    {"put", 2, build_put, print_put, NULL, false},
    {"delete", 1, build_delete, print_delete, NULL, false},
    {"count", 0, build_count, print_count, NULL, false},
    {"shards", 0, build_shards, print_shards, NULL, false},
    {"shard", 1, build_shard, print_shard, NULL, false},
    {"view-change", 2, build_view_change, print_view_change, NULL, false},
    {"backup", 1, build_backup, NULL, save_backup, false},
    {"health", 0, build_health, print_health, NULL, true},
};

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* ------------------------------------------------------------------ the context file */

/* The default path, in a buffer the caller frees; NULL when there is no home. */
static char *default_context_path(const cli_opts *o)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    const char *suffix = "/.local/state";
    if (state != NULL && state[0] == '/') {
        home = state;
        suffix = "";
    } else if (home == NULL || home[0] == '\0') {
        struct passwd *pw = getpwuid(getuid());
        home = pw != NULL ? pw->pw_dir : NULL;
    }
    if (home == NULL)
        return NULL;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, home);
    ckv_sbuf_adds(&b, suffix);
    if (o->cluster_named) { /* one file per cluster, named by its endpoints */
        char name[64];
        snprintf(name, sizeof(name), "/causalkv/context-%016llx.json",
                 (unsigned long long)cli_endpoints_key(o->eps, o->neps));
        ckv_sbuf_adds(&b, name);
    } else {
        ckv_sbuf_adds(&b, "/causalkv/context.json");
    }
    ckv_sbuf_addc(&b, '\0');
    return ckv_sbuf_steal(&b, NULL);
}

/* NULL when there is none yet; an unreadable or malformed file is reported and ignored. */
static json_t *context_load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno != ENOENT)
            fprintf(stderr, PROG ": warning: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    json_error_t err;
    json_t *ctx = json_loadf(f, 0, &err);
    fclose(f);
    if (json_is_object(ctx))
        return ctx;
    fprintf(stderr, PROG ": warning: ignoring %s: %s\n", path,
            ctx == NULL ? err.text : "not a JSON object");
    json_decref(ctx);
    return NULL;
}

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path)
{
    char *dir = strdup(path);
    if (dir == NULL)
        return -1;
    int rc = 0;
    for (char *p = dir + 1; rc == 0 && (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
    }
    free(dir);
    return rc;
}

static int write_file(int fd, const json_t *ctx)
{
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    int rc = json_dumpf(ctx, f, JSON_COMPACT);
    if (fputc('\n', f) == EOF)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* Atomically replaces the file: a reader sees the old or the new context, never a part. */
static int context_save(const char *path, const json_t *ctx)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 8);
    if (tmp == NULL)
        return -1;
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".XXXXXX", 8);
    int rc = -1;
    int fd = make_parent_dirs(path) == 0 ? mkstemp(tmp) : -1;
    if (fd >= 0) {
        rc = write_file(fd, ctx);
        if (rc == 0)
            rc = rename(tmp, path);
        if (rc != 0)
            unlink(tmp);
    }
    if (rc != 0)
        fprintf(stderr, PROG ": warning: cannot write the causal context to %s: %s\n", path,
                strerror(errno));
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------------ HTTP */

static void on_reply(struct evhttp_request *req, void *arg)
{
    cli_reply *r = arg;
    r->done = true;
    if (req != NULL && evhttp_request_get_response_code(req) != 0) {
        r->status = evhttp_request_get_response_code(req);
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        if (n > 0)
            ckv_sbuf_add(&r->body, evbuffer_pullup(in, -1), n);
    }
    event_base_loopbreak(r->base);
}

static void on_error(enum evhttp_request_error error, void *arg)
{
    cli_reply *r = arg;
    r->have_error = true;
    r->error = error;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cli_reply *r = arg;
    r->timed_out = true;
    event_base_loopbreak(r->base);
}

static struct evhttp_request *new_request(cli_reply *r, const char *host, const cli_call *call)
{
    const json_t *body = call->body;
    struct evhttp_request *req = evhttp_request_new(on_reply, r);
    if (req == NULL)
        return NULL;
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", host);
    evhttp_add_header(h, "Accept", "application/json");
    evhttp_add_header(h, "User-Agent", PROG "/" CKV_VERSION);
    const char *secret = getenv("CLUSTER_SECRET");
    if (call->send_secret && secret != NULL && secret[0] != '\0')
        evhttp_add_header(h, "X-Ckv-Secret", secret);
    char *text = json_object_size(body) > 0 ? json_dumps(body, JSON_COMPACT) : NULL;
    if (text != NULL) {
        char len[32];
        snprintf(len, sizeof(len), "%zu", strlen(text));
        evhttp_add_header(h, "Content-Type", "application/json");
        evhttp_add_header(h, "Content-Length", len);
        evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
        free(text);
    }
    return req;
}

/* Sends the call and runs the loop until the reply, a failure or the deadline. */
static void http_run(long timeout_ms, const char *ip, unsigned short port, const char *host,
                     const cli_call *call, cli_reply *r)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    r->base = event_base_new();
    struct evhttp_connection *conn =
        r->base != NULL ? evhttp_connection_base_new(r->base, NULL, ip, port) : NULL;
    struct event *deadline = r->base != NULL ? evtimer_new(r->base, on_deadline, r) : NULL;
    struct evhttp_request *req = conn != NULL ? new_request(r, host, call) : NULL;
    if (req != NULL && deadline != NULL) {
        evhttp_connection_set_timeout_tv(conn, &tv);
        evtimer_add(deadline, &tv);
        if (evhttp_make_request(conn, req, call->method, call->path.data) == 0)
            event_base_dispatch(r->base);
        else
            r->done = true; /* libevent freed req */
    } else if (req != NULL) {
        evhttp_request_free(req);
    }
    if (deadline != NULL)
        event_free(deadline);
    if (conn != NULL)
        evhttp_connection_free(conn); /* frees a request still pending after a timeout */
    if (r->base != NULL)
        event_base_free(r->base);
}

static const char *transport_error(const cli_reply *r)
{
    if (r->timed_out || (r->have_error && r->error == EVREQ_HTTP_TIMEOUT))
        return "timed out";
    if (r->have_error && r->error == EVREQ_HTTP_INVALID_HEADER)
        return "invalid HTTP reply";
    if (r->have_error && r->error == EVREQ_HTTP_DATA_TOO_LONG)
        return "reply too large";
    if (!r->done)
        return "could not send the request";
    return "connection failed (is a node listening there?)";
}

/* ------------------------------------------------------------------ main flow */

/* The context is replaced only after a reply that the node computed from it: a success,
 * or a "does not exist" 404. Other errors (400 for an unparsable body, 503 after a causal
 * timeout) may carry an empty context, and replacing would lose the causal history. */
static bool reply_carries_context(const cli_reply *r)
{
    return (r->status >= 200 && r->status < 300) || r->status == 404;
}

static void print_error_reply(const cli_reply *r)
{
    const char *msg = reply_string(r->js, "error");
    if (msg == NULL)
        msg = reply_string(r->js, "message");
    if (msg == NULL)
        msg = reply_string(r->js, "status"); /* /healthz: standby, unavailable */
    if (msg != NULL)
        fprintf(stderr, PROG ": %s (HTTP %d)\n", msg, r->status);
    else
        fprintf(stderr, PROG ": the server answered HTTP %d\n", r->status);
}

static int exit_code(const cli_call *call, int status)
{
    if (status >= 200 && status < 300)
        return EXIT_OK;
    if (status == 404 && call->key_op)
        return EXIT_NO_KEY;
    if (status >= 400 && status < 500)
        return EXIT_REFUSED;
    return EXIT_UNAVAILABLE;
}

static void print_json_body(const cli_reply *r)
{
    if (r->body.len == 0)
        return;
    fwrite(r->body.data, 1, r->body.len, stdout);
    if (r->body.data[r->body.len - 1] != '\n')
        putchar('\n');
}

static int report(const cli_opts *o, const cli_command *cmd, const cli_call *call,
                  const cli_reply *r)
{
    int rc = exit_code(call, r->status);
    if (cmd->save != NULL && rc == EXIT_OK)
        return cmd->save(o->args[1], &r->body);
    if (o->json && cmd->save == NULL)
        print_json_body(r);
    if (rc == EXIT_NO_KEY)
        fprintf(stderr, PROG ": key does not exist: %s\n", o->args[1]);
    else if (rc != EXIT_OK)
        print_error_reply(r);
    else if (!o->json && !json_is_object(r->js))
        rc = bad_reply("JSON object");
    else if (!o->json)
        rc = cmd->print(r->js, r->status);
    return rc;
}

static void update_context(const char *path, const cli_reply *r)
{
    const json_t *ctx = json_object_get(r->js, "causal-context");
    if (path != NULL && json_is_object(ctx) && reply_carries_context(r))
        context_save(path, ctx);
}

static long mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Writes: PUT, DELETE and the view change. */
static bool is_write(const cli_call *call)
{
    return call->method != EVHTTP_REQ_GET;
}

/* One endpoint: a connect probe, then the request. True when the next endpoint should be
 * tried: nothing answered here, and trying again elsewhere is safe: always for a read;
 * for a write only when it never left (the probe failed), since a write that was sent
 * and timed out may have been applied, and sending it again would apply it twice. */
static bool try_endpoint(const cli_opts *o, const cli_endpoint *ep, const cli_call *call,
                         cli_reply *r)
{
    char ip[CLI_NUMERIC_MAX], why[256];
    long start = mono_ms();
    if (!cli_endpoint_probe(ep, o->timeout_ms, ip, sizeof(ip), why, sizeof(why))) {
        fprintf(stderr, PROG ": %s: %s\n", ep->text, why);
        return true;
    }
    long left = o->timeout_ms - (mono_ms() - start); /* --timeout covers both */
    http_run(left > 0 ? left : 1, ip, ep->port, ep->text, call, r);
    if (r->status != 0)
        return false;
    fprintf(stderr, PROG ": %s: %s\n", ep->text, transport_error(r));
    return !is_write(call);
}

/* The first endpoint that answers, in order; NULL when none did (r->status 0). */
static const cli_endpoint *send_call(const cli_opts *o, const cli_call *call, cli_reply *r)
{
    for (size_t i = 0; i < o->neps; i++) {
        ckv_sbuf_free(&r->body);
        *r = (cli_reply){0};
        ckv_sbuf_init(&r->body);
        bool next = try_endpoint(o, &o->eps[i], call, r);
        if (r->status != 0)
            return &o->eps[i];
        if (!next) {
            if (i + 1 < o->neps)
                fprintf(stderr, PROG ": the write may have been applied there: not sending it "
                                     "to another endpoint\n");
            break;
        }
    }
    return NULL;
}

/* The node's /kv-store/status, parsed; NULL when it does not give one. */
static json_t *fetch_status(const cli_opts *o, const cli_endpoint *ep)
{
    cli_call call = {.method = EVHTTP_REQ_GET, .body = json_object()};
    ckv_sbuf_init(&call.path);
    ckv_sbuf_adds(&call.path, "/kv-store/status");
    ckv_sbuf_addc(&call.path, '\0');
    cli_reply r = {0};
    ckv_sbuf_init(&r.body);
    json_t *js = NULL;
    if (call.body != NULL && !ckv_sbuf_failed(&call.path)) {
        http_run(o->timeout_ms, ep->host, ep->port, ep->text, &call, &r);
        if (r.status == 200)
            js = json_loadb(r.body.data, r.body.len, 0, NULL);
    }
    json_decref(call.body);
    ckv_sbuf_free(&call.path);
    ckv_sbuf_free(&r.body);
    if (js != NULL && !json_is_integer(json_object_get(js, "epoch"))) {
        json_decref(js);
        js = NULL;
    }
    return js;
}

/* A node of ctx's clock that is not in view (a JSON array of addresses), or NULL. */
static const char *foreign_member(const json_t *ctx, const json_t *view)
{
    const char *addr;
    json_t *ignored;
    json_object_foreach((json_t *)json_object_get(ctx, "clock"), addr, ignored)
    {
        bool found = false;
        size_t i;
        const json_t *m;
        json_array_foreach(view, i, m)
        {
            found = found || (json_is_string(m) && strcmp(json_string_value(m), addr) == 0);
        }
        if (!found)
            return addr;
    }
    return NULL;
}

/* Why ctx cannot be served by the cluster whose status is st, in why; false when
 * nothing says so. */
static bool stale_reason(const json_t *ctx, const json_t *st, char *why, size_t len)
{
    json_int_t node_epoch = json_integer_value(json_object_get(st, "epoch"));
    json_int_t ctx_epoch = json_integer_value(json_object_get(ctx, "epoch"));
    const json_t *view = json_object_get(st, "view");
    const char *foreign = json_is_array(view) ? foreign_member(ctx, view) : NULL;
    if (ctx_epoch > node_epoch)
        snprintf(why, len,
                 "is from view epoch %" JSON_INTEGER_FORMAT
                 ", but the cluster is at epoch %" JSON_INTEGER_FORMAT,
                 ctx_epoch, node_epoch);
    else if (ctx_epoch == node_epoch && foreign != NULL)
        snprintf(why, len, "counts writes of %s, which is not in the cluster's view", foreign);
    else
        return false;
    return true;
}

/* After a causal 503 to a request that carried the saved context: asks the node which
 * epoch and view it holds, and when the context cannot be theirs says so and how to
 * reset it (EXIT_STALE_CONTEXT). Otherwise EXIT_OK, with *hint when the context may
 * still be the cause (a cluster rebuilt at the same addresses looks like this). */
static int stale_context(const cli_opts *o, const cli_endpoint *ep, const json_t *ctx,
                         const char *path, const cli_reply *r, bool *hint)
{
    const char *err = reply_string(r->js, "error");
    *hint = false;
    if (ctx == NULL || r->status != 503 || err == NULL ||
        strcmp(err, "Unable to satisfy request") != 0)
        return EXIT_OK;
    json_t *st = fetch_status(o, ep);
    char why[512];
    bool stale = st != NULL && stale_reason(ctx, st, why, sizeof(why));
    json_decref(st);
    if (!stale) {
        *hint = true;
        return EXIT_OK;
    }
    fprintf(stderr,
            PROG ": the saved causal context (%s) %s: it comes from another cluster, or from\n"
                 "one rebuilt at these addresses, so the node waited for writes it will never\n"
                 "see and answered 503.\n" PROG
                 ": start afresh with --forget-context, or delete that file.\n",
            path, why);
    return EXIT_STALE_CONTEXT;
}

static int execute(const cli_opts *o, const cli_command *cmd, cli_call *call, const char *ctx_path)
{
    json_t *ctx = ctx_path != NULL ? context_load(ctx_path) : NULL;
    if (ctx != NULL)
        json_object_set_new(call->body, "causal-context", json_incref(ctx));
    cli_reply r = {0};
    ckv_sbuf_init(&r.body);
    const cli_endpoint *ep = send_call(o, call, &r);
    int rc;
    if (ep == NULL) {
        rc = EXIT_UNAVAILABLE;
    } else {
        r.js = r.body.len > 0 ? json_loadb(r.body.data, r.body.len, 0, NULL) : NULL;
        update_context(ctx_path, &r);
        bool hint;
        rc = stale_context(o, ep, ctx, ctx_path, &r, &hint);
        if (rc == EXIT_OK)
            rc = report(o, cmd, call, &r);
        if (hint)
            fprintf(stderr,
                    PROG ": hint: the node could not catch up with the saved causal context\n"
                         "(%s) in time. If it comes from another cluster (one rebuilt at these\n"
                         "addresses), start afresh with --forget-context.\n",
                    ctx_path);
        json_decref(r.js);
    }
    json_decref(ctx);
    ckv_sbuf_free(&r.body);
    return rc;
}

static char *context_path(const cli_opts *o)
{
    char *path = o->context_path != NULL ? strdup(o->context_path) : default_context_path(o);
    if (path == NULL)
        fprintf(stderr, PROG ": warning: no home directory; causal context not kept\n");
    return path;
}

/* --forget-context: the saved context goes before anything is sent. */
static int forget_context(const cli_opts *o)
{
    char *path = context_path(o);
    int rc = EXIT_OK;
    if (path != NULL && unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, PROG ": cannot delete %s: %s\n", path, strerror(errno));
        rc = EXIT_UNAVAILABLE;
    } else if (path != NULL) {
        fprintf(stderr, PROG ": forgot the causal context (%s)\n", path);
    }
    free(path);
    return rc;
}

static int run(const cli_opts *o)
{
    if (o->forget_context) {
        int rc = forget_context(o);
        if (rc != EXIT_OK || o->nargs == 0)
            return rc;
    }
    if (o->nargs == 0)
        return usage_error("%s", "no command given");
    const cli_command *cmd = find_command(o->args[0]);
    if (cmd == NULL)
        return usage_error("unknown command '%s'", o->args[0]);
    if (o->nargs - 1 != cmd->nargs)
        return usage_error("wrong number of arguments for '%s'", cmd->name);
    cli_call call = {.body = json_object()};
    ckv_sbuf_init(&call.path);
    int rc = call.body != NULL ? cmd->build(&call, o->args + 1) : EXIT_UNAVAILABLE;
    char *ctx_path = NULL;
    if (rc == EXIT_OK && !o->no_context && cmd->save == NULL && !cmd->stateless)
        ctx_path = context_path(o);
    ckv_sbuf_addc(&call.path, '\0');
    if (rc == EXIT_OK)
        rc = ckv_sbuf_failed(&call.path) ? EXIT_UNAVAILABLE : execute(o, cmd, &call, ctx_path);
    free(ctx_path);
    json_decref(call.body);
    ckv_sbuf_free(&call.path);
    return rc;
}

int main(int argc, char **argv)
{
    cli_opts o = {0};
    int rc = parse_args(&o, argc, argv);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    rc = run(&o);
    if (fflush(stdout) != 0)
        rc = rc == EXIT_OK ? EXIT_UNAVAILABLE : rc;
    return rc;
}
