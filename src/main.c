/* main.c — configuration from the environment (and --config FILE), then one node until
 * SIGTERM/SIGINT. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include "causalkv/config.h"
#include "causalkv/config_file.h"
#include "causalkv/log.h"
#include "node.h"
#include "sd_notify.h"

#define EXIT_BAD_CONFIG 2

static void print_usage(FILE *out)
{
    fprintf(out, "causalkv %s — a sharded, replicated, causally consistent key-value store\n\n",
            CKV_VERSION);
    ckv_config_print_help(out);
}

/* MAX_CONNECTIONS clients plus peer pools need descriptors; the default soft limit
 * (often 1024) would make accept fail long before the cap is reached. */
static void raise_fd_limit(uint32_t max_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)max_connections + 1024;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
        want = rl.rlim_max;
    if (want > rl.rlim_cur) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_warn("could not raise the open-file limit to %llu", (unsigned long long)want);
    }
    if (rl.rlim_cur < (rlim_t)max_connections + 64)
        log_warn("open-file limit %llu is below MAX_CONNECTIONS=%u; accept may fail first",
                 (unsigned long long)rl.rlim_cur, max_connections);
}

/* --config FILE: the file's values, consulted for a variable the environment leaves
 * unset or empty (the environment wins). */
static ckv_config_file config_file;

static char *env_then_file(const char *name)
{
    char *v = getenv(name);
    if (v != NULL && v[0] != '\0')
        return v;
    const char *f = ckv_config_file_get(&config_file, name);
    return f != NULL ? (char *)f : v;
}

/* Reads and parses path into config_file; on failure err says why. */
static int load_config_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "--config %s: %s", path, strerror(errno));
        return CKV_ERROR;
    }
    char *text = malloc(CKV_CONFIG_FILE_MAX_BYTES + 1);
    size_t len = text != NULL ? fread(text, 1, CKV_CONFIG_FILE_MAX_BYTES + 1, f) : 0;
    bool failed = text == NULL || ferror(f);
    fclose(f);
    char why[256] = "";
    int rc = failed ? CKV_ERROR
                    : ckv_config_file_parse(&config_file, text ? text : "", len,
                                            ckv_config_is_variable, why, sizeof(why));
    free(text);
    if (rc != CKV_OK)
        snprintf(err, errlen, "--config %s: %s", path,
                 failed            ? "cannot read it"
                 : rc == CKV_NOMEM ? "out of memory"
                                   : why);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    if (argc == 3 && strcmp(argv[1], "--config") == 0) {
        config_path = argv[2];
    } else if (argc == 2 && strncmp(argv[1], "--config=", 9) == 0) {
        config_path = argv[1] + 9;
    } else if (argc > 1) {
        if (strcmp(argv[1], "--version") == 0) {
            printf("causalkv %s\n", CKV_VERSION);
            return 0;
        }
        bool help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
        print_usage(help ? stdout : stderr);
        return help ? 0 : EXIT_BAD_CONFIG;
    }
    /* libevent writes with writev: a client that closes mid-reply must not kill us */
    signal(SIGPIPE, SIG_IGN);
    ckv_config cfg;
    char err[512];
    if (config_path != NULL && load_config_file(config_path, err, sizeof(err)) != CKV_OK) {
        ckv_config_file_free(&config_file);
        fprintf(stderr, "causalkv: bad configuration: %s\n", err);
        return EXIT_BAD_CONFIG;
    }
    int loaded = ckv_config_load(&cfg, env_then_file, err, sizeof(err));
    ckv_config_file_free(&config_file);
    if (loaded != CKV_OK) {
        fprintf(stderr, "causalkv: bad configuration: %s\n", err);
        return EXIT_BAD_CONFIG;
    }
    ckv_log_level = cfg.log_level;
    ckv_log_format = cfg.log_format;
    ckv_log_set_node(cfg.address);
    /* No fastbins: freeing a parsed 1 MiB batch (thousands of small JSON nodes, then one
     * large array) made glibc consolidate every fastbin chunk, again and again: an
     * eighth of a 1M-key view change. tcache still serves the hot small sizes. */
    mallopt(M_MXFAST, 0);
    raise_fd_limit(cfg.max_connections);
    char desc[16384]; /* 64 members of up to CKV_ADDR_MAX bytes each */
    ckv_config_describe(&cfg, desc, sizeof(desc));
    ckv_node *node = ckv_node_new(&cfg);
    if (node == NULL) {
        log_error("could not start the node");
        return 1;
    }
    bool v6 = strchr(cfg.bind, ':') != NULL; /* written as in an address: [::1]:13800 */
    log_info("causalkv %s listening on %s%s%s:%u; %s", CKV_VERSION, v6 ? "[" : "", cfg.bind,
             v6 ? "]" : "", (unsigned)cfg.port, desc);
    /* Type=notify: the port answers from here on (connections queue until the loop runs) */
    char ready[CKV_ADDR_MAX + 64];
    snprintf(ready, sizeof(ready), "READY=1\nSTATUS=listening on %s%s%s:%u", v6 ? "[" : "",
             cfg.bind, v6 ? "]" : "", (unsigned)cfg.port);
    ckv_sd_notify(ready);
    int rc = ckv_node_run(node);
    ckv_node_free(node);
    log_info("stopped");
    return rc == CKV_OK ? 0 : 1;
}
