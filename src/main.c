/* main.c — configuration from the environment, then one node until SIGTERM/SIGINT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causalkv/config.h"
#include "causalkv/log.h"
#include "causalkv/node.h"

#define EXIT_BAD_CONFIG 2

static void print_usage(FILE *out)
{
    fprintf(out, "causalkv %s — a sharded, replicated, causally consistent key-value store\n\n",
            CKV_VERSION);
    ckv_config_print_help(out);
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
    ckv_config cfg;
    char err[512];
    if (ckv_config_load(&cfg, getenv, err, sizeof(err)) != CKV_OK) {
        fprintf(stderr, "causalkv: bad configuration: %s\n", err);
        return EXIT_BAD_CONFIG;
    }
    ckv_log_level = cfg.log_level;
    char desc[1024];
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
