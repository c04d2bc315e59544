/* metrics.c — request counters and latency histograms (see metrics.h). */
#include "causalkv/metrics.h"

#include <stddef.h>

const double ckv_latency_bounds[CKV_LATENCY_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};

void ckv_metrics_observe(ckv_metrics *m, enum ckv_endpoint ep, int status, double seconds)
{
    int cls = status / 100;
    if (cls < 1 || cls > 5)
        cls = 5;
    m->requests[ep][cls]++;
    if (seconds < 0)
        seconds = 0;
    size_t b = 0;
    while (b < CKV_LATENCY_BUCKETS && seconds > ckv_latency_bounds[b])
        b++;
    m->latency_bucket[ep][b]++;
    m->latency_sum[ep] += seconds;
}
