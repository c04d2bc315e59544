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

#endif
