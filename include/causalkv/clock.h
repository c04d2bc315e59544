/* clock.h — the one wall clock the node uses for deadlines and timestamps.
 *
 * Wall-clock milliseconds, not monotonic, on purpose: forwarded requests carry a
 * deadline that another node on the same host (or an NTP-synced one) compares. */
#ifndef CAUSALKV_CLOCK_H
#define CAUSALKV_CLOCK_H

#include <stdint.h>

uint64_t ckv_now_ms(void);

#endif
