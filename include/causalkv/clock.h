/* clock.h — the node's two clocks.
 *
 * Wall-clock milliseconds for deadlines that cross nodes (a forwarded request's deadline,
 * a prepare's): another node on the same host (or an NTP-synced one) compares them.
 * Monotonic microseconds for everything measured on this node (latency, stalls, local
 * waits), which a clock step must not disturb. */
#ifndef CAUSALKV_CLOCK_H
#define CAUSALKV_CLOCK_H

#include <stdint.h>

uint64_t ckv_now_ms(void);
uint64_t ckv_mono_us(void);

/* Unix time t as an HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"), NUL
 * included: what a reply's Date header says. */
#define CKV_HTTP_DATE_SIZE 30
void ckv_http_date(int64_t t, char out[CKV_HTTP_DATE_SIZE]);

#endif
