/* main.c — configuration from the environment, then one node until SIGTERM/SIGINT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include "causalkv/config.h"
#include "causalkv/log.h"
#include "node.h"

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

int main(int argc, char **argv)
{
    if (argc > 1) {
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
    if (ckv_config_load(&cfg, getenv, err, sizeof(err)) != CKV_OK) {
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
    char desc[4096];
    ckv_config_describe(&cfg, desc, sizeof(desc));
    ckv_node *node = ckv_node_new(&cfg);
    if (node == NULL) {
        log_error("could not start the node");
        return 1;
    }
    log_info("causalkv %s listening on %s:%u; %s", CKV_VERSION, cfg.bind, (unsigned)cfg.port, desc);
    int rc = ckv_node_run(node);
    ckv_node_free(node);
    log_info("stopped");
    return rc == CKV_OK ? 0 : 1;
}
