/* endpoint.h — the CLI's endpoints: "host:port" with host an IPv4 address, a DNS name
 * or a bracketed IPv6 literal ("[::1]:13800"); the port may be left out. Resolution
 * and a connect probe may block (the CLI does one thing at a time). */
#ifndef CAUSALKV_CLI_ENDPOINT_H
#define CAUSALKV_CLI_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_ENDPOINTS_MAX 64
#define CLI_HOST_MAX 254   /* a DNS name is at most 253 bytes */
#define CLI_NUMERIC_MAX 46 /* INET6_ADDRSTRLEN */

typedef struct cli_endpoint {
    char text[CLI_HOST_MAX + 10]; /* as given, for messages and the Host header */
    char host[CLI_HOST_MAX + 1];  /* without brackets */
    unsigned short port;
} cli_endpoint;

/* Parses one endpoint (surrounding blanks trimmed); false with why filled when it is
 * not one. default_port when the text has none. */
bool cli_endpoint_parse(const char *s, size_t len, unsigned short default_port, cli_endpoint *ep,
                        char *why, size_t why_len);

/* Splits "a,b,c" into at most CLI_ENDPOINTS_MAX endpoints; false with why on any bad
 * item, an empty list or too many. */
bool cli_endpoints_parse(const char *list, unsigned short default_port, cli_endpoint *eps,
                         size_t *n, char *why, size_t why_len);

/* A 64-bit name for a set of endpoints: FNV-1a over their texts, sorted and without
 * duplicates, so the same cluster named in another order shares one context file. */
uint64_t cli_endpoints_key(const cli_endpoint *eps, size_t n);

/* Resolves ep (getaddrinfo) and connects to it within timeout_ms, then closes the
 * connection: true when something accepts connections there; numeric gets the address
 * that answered. false with why (refused, unreachable, timed out, unknown name). */
bool cli_endpoint_probe(const cli_endpoint *ep, long timeout_ms, char *numeric, size_t numeric_len,
                        char *why, size_t why_len);

#endif
