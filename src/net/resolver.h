/* resolver.h — the hosts of view members (names and literals) → IP addresses, without
 * ever blocking the event loop.
 *
 * What it promises:
 *   - A literal host (IPv4, or IPv6 without brackets) is its own address at once.
 *   - A name is looked up with libevent's evdns on the node's event_base, never with
 *     getaddrinfo. Its last good answer is cached and stays in force until a later
 *     lookup gives another one; a failed lookup keeps the cache. Each change of the
 *     cached addresses bumps the entry's generation, so a user can tell cheaply that a
 *     connection it made was to an address that is no longer the name's.
 *   - A name that does not resolve is not an error: it is logged once (warn), looked up
 *     again every CKV_RESOLVE_RETRY_MS, and logged once (info) when it resolves.
 *   - ckv_resolver_refresh looks a name up again (after a connection failure), at most
 *     once per CKV_RESOLVE_REFRESH_MS per name; with a hosts file, the file is re-read
 *     first when it changed (inode, size or mtime).
 *   - With a hosts file, names come from that file alone (no DNS server is asked, so no
 *     lookup can hang); without one, from /etc/hosts and the servers of resolv.conf. The
 *     evdns_base is made at the first name, so a view of literals never touches DNS.
 * Who owns what: the resolver owns its evdns_base and every entry. An entry, once
 * returned by ckv_resolver_get, lives as long as the resolver: callers may keep the
 * pointer, and must not free it. */
#ifndef CAUSALKV_NET_RESOLVER_H
#define CAUSALKV_NET_RESOLVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "causalkv/view.h"

#define CKV_RESOLVE_RETRY_MS 1000  /* an unresolved name is looked up again this often */
#define CKV_RESOLVE_REFRESH_MS 500 /* refreshes of one name are at least this far apart */

typedef struct ckv_resolver ckv_resolver;
typedef struct ckv_resolved ckv_resolved;

/* hosts_file: "" or NULL for /etc/hosts and DNS. NULL only when out of memory. */
ckv_resolver *ckv_resolver_new(struct event_base *base, const char *hosts_file);
/* NULL-safe. Cancels lookups in flight; when there are any, runs one non-blocking turn
 * of the event loop to let evdns deliver them: call it after every other event of the
 * base is gone (and after the peer pool, which holds entries). */
void ckv_resolver_free(ckv_resolver *r);

/* The entry of host (as ckv_addr_split writes it), made and looked up on first use.
 * NULL when host is not a valid host or memory ran out. */
ckv_resolved *ckv_resolver_get(ckv_resolver *r, const char *host);

/* The first cached address (numeric text), or NULL while the name has never resolved. */
const char *ckv_resolved_ip(const ckv_resolved *e);

/* Changes whenever the cached addresses change. */
uint32_t ckv_resolved_gen(const ckv_resolved *e);

/* True while a lookup of the name is in flight. */
bool ckv_resolved_looking_up(const ckv_resolved *e);

/* fn(arg) runs whenever a lookup ends, answered or not, possibly from inside a resolver
 * call (ckv_resolver_get, ckv_resolver_refresh): it should only schedule work. One
 * listener at a time; fn NULL removes it. */
void ckv_resolver_set_listener(ckv_resolver *r, void (*fn)(void *arg), void *arg);

/* Looks the name up again soon (no-op for literals, while a lookup is in flight, or
 * within CKV_RESOLVE_REFRESH_MS of the last one). */
void ckv_resolver_refresh(ckv_resolver *r, ckv_resolved *e);

/* True when ip (numeric text, as evhttp reports a peer) is the address of a literal
 * member of v or one of the cached addresses of a named member. When it is not and v
 * has named members, those are refreshed: a member whose address changed is accepted
 * once the new address resolved. */
bool ckv_resolver_view_has_ip(ckv_resolver *r, const ckv_view *v, const char *ip);

#endif
