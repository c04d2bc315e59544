/* common.h — return codes, hard limits and named defaults shared by every module.
 *
 * Every tunable has a CKV_DEFAULT_* constant here; config.c maps each one to an
 * environment variable. Hard limits (CKV_*_MAX without DEFAULT) are compile-time. */
#ifndef CAUSALKV_COMMON_H
#define CAUSALKV_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define CKV_VERSION "0.1.0"

/* Return codes, nginx style: say what happened instead of ad hoc ints. */
enum ckv_rc {
    CKV_OK = 0,        /* done */
    CKV_ERROR = -1,    /* failed; the caller reports it */
    CKV_AGAIN = -2,    /* not possible yet; retry after progress (e.g. causal wait) */
    CKV_DECLINED = -3, /* valid, but nothing was changed (e.g. an older version) */
    CKV_NOMEM = -4,    /* allocation failed */
};

/* The value of a hexadecimal digit, or -1. */
static inline int ckv_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hard limits. */
#define CKV_VIEW_MAX 64 /* members in one view; bounds every vector clock */
/* A node address "host:port" plus NUL. The host is a DNS name (a Kubernetes pod name such
 * as "causalkv-0.causalkv.default.svc.cluster.local" is 46 bytes), an IPv4 literal or a
 * bracketed IPv6 literal; 128 bytes leave a name of up to CKV_HOST_LEN_MAX (121) bytes.
 * A view holds CKV_VIEW_MAX of them (8 KiB) and is copied by value. */
#define CKV_ADDR_MAX 128
#define CKV_HOST_LEN_MAX (CKV_ADDR_MAX - 7) /* ":65535" and the NUL take 7 bytes */
#define CKV_HOST_MAX (CKV_HOST_LEN_MAX + 1) /* a host (IPv6 without brackets) plus NUL */
#define CKV_KEY_MAX 50                      /* bytes of a key, after percent-decoding */

#define CKV_BATCH_SOFT_BYTES (1u << 20) /* node-to-node batches are cut after this size */
#define CKV_FRAMING_BYTES (64u << 10)   /* message framing allowed beyond MAX_BODY_BYTES */
/* What one read or write callback of a connection may move. libevent's default, 16 KiB,
 * sends a 1 MiB node-to-node batch over 64 turns of a busy loop, one chunk per turn. */
#define CKV_SOCKET_IO_MAX (4u << 20)

/* Tunable defaults (each one is an environment variable, see config.c). */
#define CKV_DEFAULT_ADDRESS "127.0.0.1:13800"
#define CKV_DEFAULT_REPL_FACTOR 1
#define CKV_DEFAULT_GOSSIP_INTERVAL_MS 500      /* anti-entropy period: catch-up within ~1 s */
#define CKV_DEFAULT_PROXY_TIMEOUT_MS 2000       /* whole proxy attempt, all replicas included */
#define CKV_DEFAULT_CAUSAL_TIMEOUT_MS 2000      /* wait for missing dependencies, then 503 */
#define CKV_DEFAULT_MAX_BODY_BYTES (2u << 20)   /* a 1 MiB value plus its JSON framing */
#define CKV_DEFAULT_MAX_HEADER_BYTES (8u << 10) /* what nginx allows per header block */
#define CKV_DEFAULT_MAX_VALUE_BYTES (1u << 20)  /* larger values answer 413 */
#define CKV_DEFAULT_INTERNAL_MAX_BODY_BYTES (256u << 20) /* replication/view-change batches */
#define CKV_DEFAULT_HTTP_TIMEOUT_MS 10000  /* read/write timeout of a client connection */
#define CKV_DEFAULT_MAX_CONNECTIONS 4096   /* inbound; more answer 503 and close */
#define CKV_DEFAULT_PEER_POOL_SIZE 8       /* keep-alive connections per peer */
#define CKV_DEFAULT_REPL_LOG_ENTRIES 65536 /* own recent writes kept for push; older via sync */
#define CKV_DEFAULT_REPL_BATCH 512         /* versions per push / sync message */
#define CKV_DEFAULT_VIEW_CHANGE_TIMEOUT_MS 30000 /* a prepared change aborts after this */

#endif
