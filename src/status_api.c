/* status_api.c — the Prometheus text of /metrics, and /healthz. */
#include "status_api.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const endpoint_names[CKV_EP_COUNT] = {
    "keys", "key-count", "shards", "shard", "view-change", "internal", "other"};

static void add_line(ckv_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_line(ckv_sbuf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (len > 0)
        ckv_sbuf_add(b, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
}

static void add_requests(ckv_sbuf *b, const ckv_metrics *m)
{
    ckv_sbuf_adds(
        b, "# HELP causalkv_requests_total Requests answered, by endpoint and status class.\n"
           "# TYPE causalkv_requests_total counter\n");
    for (int ep = 0; ep < CKV_EP_COUNT; ep++)
        for (int cls = 1; cls <= 5; cls++)
            if (m->requests[ep][cls] > 0)
                add_line(b, "causalkv_requests_total{endpoint=\"%s\",code=\"%dxx\"} %llu\n",
                         endpoint_names[ep], cls, (unsigned long long)m->requests[ep][cls]);
    ckv_sbuf_adds(b, "# HELP causalkv_request_duration_seconds Time from arrival to reply.\n"
                     "# TYPE causalkv_request_duration_seconds histogram\n");
    for (int ep = 0; ep < CKV_EP_COUNT; ep++) {
        unsigned long long cum = 0;
        for (int i = 0; i <= CKV_LATENCY_BUCKETS; i++) {
            cum += m->latency_bucket[ep][i];
            if (i < CKV_LATENCY_BUCKETS)
                add_line(
                    b, "causalkv_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
                    endpoint_names[ep], ckv_latency_bounds[i], cum);
            else
                add_line(
                    b,
                    "causalkv_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n",
                    endpoint_names[ep], cum);
        }
        add_line(b, "causalkv_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n",
                 endpoint_names[ep], m->latency_sum[ep]);
        add_line(b, "causalkv_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                 endpoint_names[ep], cum);
    }
}

static void add_gauge(ckv_sbuf *b, const char *name, const char *help, const char *type,
                      unsigned long long v)
{
    add_line(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

static void add_float(ckv_sbuf *b, const char *name, const char *help, const char *type, double v)
{
    add_line(b, "# HELP %s %s\n# TYPE %s %s\n%s %.6f\n", name, help, name, type, name, v);
}

/* Only with DATA_DIR: a node in memory has no journal to describe. */
static void add_journal(ckv_sbuf *b, const ckv_persist *p)
{
    if (p == NULL)
        return;
    ckv_persist_stats s;
    ckv_persist_get_stats(p, &s);
    add_gauge(b, "causalkv_journal_bytes", "Journal bytes not yet folded into a snapshot.", "gauge",
              s.journal_bytes);
    add_gauge(b, "causalkv_snapshot_bytes", "Size of the current snapshot file.", "gauge",
              s.snapshot_bytes);
    add_gauge(b, "causalkv_snapshots_total", "Snapshots written since start.", "counter",
              s.snapshots);
    add_float(b, "causalkv_snapshot_last_unixtime", "When the last snapshot finished (0: none).",
              "gauge", s.last_snapshot_unix);
    add_float(b, "causalkv_snapshot_last_seconds", "How long the last snapshot took.", "gauge",
              s.last_snapshot_seconds);
    add_gauge(b, "causalkv_fsyncs_total", "Journal fsyncs done.", "counter", s.fsyncs);
    add_float(b, "causalkv_fsync_seconds_sum", "Time spent in journal fsyncs.", "counter",
              s.fsync_seconds_sum);
    add_float(b, "causalkv_fsync_seconds_max", "Longest journal fsync since start.", "gauge",
              s.fsync_seconds_max);
    add_gauge(b, "causalkv_journal_write_errors_total",
              "Journal writes the disk refused (writes are answered 503 meanwhile).", "counter",
              s.write_errors);
    add_gauge(b, "causalkv_journal_failing", "1 while the journal cannot be written.", "gauge",
              s.failing);
    add_gauge(b, "causalkv_recovered_versions", "Versions read back from DATA_DIR at start.",
              "gauge", s.recovered_versions);
}

static void add_replication(ckv_sbuf *b, ckv_node *n)
{
    ckv_sbuf_adds(
        b, "# HELP causalkv_replication_queue_depth Own writes a replica has not acknowledged.\n"
           "# TYPE causalkv_replication_queue_depth gauge\n");
    if (n->r.self < 0)
        return;
    uint32_t first = ckv_shard_map_first_replica(&n->r.map, n->r.shard);
    uint64_t last = ckv_wlog_last_seq(n->r.wlog);
    for (uint32_t p = first; p < first + n->r.map.rf; p++) {
        if (p == (uint32_t)n->r.self)
            continue;
        uint64_t acked = n->repl_map_gen == n->r.map_gen ? n->repl[p].acked : 0;
        add_line(b, "causalkv_replication_queue_depth{peer=\"%s\"} %llu\n", n->r.map.view.addrs[p],
                 (unsigned long long)(last > acked ? last - acked : 0));
    }
}

void ckv_metrics_serve(ckv_node *n, ckv_req *req)
{
    const ckv_metrics *m = &n->metrics;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    add_requests(&b, m);
    add_gauge(&b, "causalkv_keys", "Live keys held by this node.", "gauge",
              ckv_store_live_count(n->r.store));
    add_gauge(&b, "causalkv_tombstones", "Deleted keys kept as versioned tombstones.", "gauge",
              ckv_store_tombstone_count(n->r.store));
    add_replication(&b, n);
    add_gauge(&b, "causalkv_anti_entropy_rounds_total", "Completed anti-entropy exchanges.",
              "counter", m->anti_entropy_rounds);
    add_gauge(&b, "causalkv_pushes_total", "Acknowledged replication pushes.", "counter",
              m->pushes);
    add_gauge(&b, "causalkv_proxy_failovers_total", "Proxy attempts that moved to another replica.",
              "counter", m->proxy_failovers);
    add_gauge(&b, "causalkv_proxy_unavailable_total", "Proxied requests answered 503.", "counter",
              m->proxy_unavailable);
    add_gauge(&b, "causalkv_proxy_write_unknown_total",
              "Proxied writes sent that got no reply: answered 503, never sent twice.", "counter",
              m->proxy_write_unknown);
    add_gauge(&b, "causalkv_causal_waits_total", "Requests that waited for causal dependencies.",
              "counter", m->causal_waits);
    add_gauge(&b, "causalkv_causal_timeouts_total",
              "Requests answered 503 after the causal timeout.", "counter", m->causal_timeouts);
    add_gauge(&b, "causalkv_connections_refused_total", "Connections refused over the cap.",
              "counter", m->connections_refused);
    add_gauge(&b, "causalkv_bad_framing_total",
              "Requests answered 400 and closed for their framing (Content-Length, "
              "Transfer-Encoding).",
              "counter", m->bad_framing);
    add_gauge(&b, "causalkv_parked_requests", "Requests waiting now.", "gauge",
              ckv_park_count(n->park));
    add_gauge(&b, "causalkv_client_connections", "Open inbound connections.", "gauge",
              ckv_conns_open(n->conns));
    add_gauge(&b, "causalkv_view_epoch", "View-change generation in force.", "gauge",
              n->r.map.epoch);
    add_gauge(&b, "causalkv_sync_versions_received_total",
              "Versions received from replicas by anti-entropy.", "counter", m->sync_versions);
    add_journal(&b, n->persist);
    ckv_reply_typed(req, 200, "text/plain; version=0.0.4", &b);
}

void ckv_health_serve(ckv_node *n, ckv_req *req)
{
    bool serving = n->r.self >= 0 && n->r.view_confirmed && n->r.has_base && !n->r.bootstrapping &&
                   !n->r.counter_pending && !n->shutting_down;
    const char *status = serving ? "ok" : "unavailable";
    if (n->r.self < 0 && !n->shutting_down)
        status = "standby"; /* not a member: forwards requests, a view change can add it */
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"status\":");
    ckv_sbuf_add_json_str(&b, status, strlen(status));
    ckv_sbuf_adds(&b, ",\"address\":");
    ckv_sbuf_add_json_str(&b, n->cfg.address, strlen(n->cfg.address));
    ckv_sbuf_adds(&b, ",\"view-epoch\":");
    ckv_sbuf_add_u64(&b, n->r.map.epoch);
    ckv_sbuf_adds(&b, ",\"shard-id\":");
    ckv_sbuf_add_u64(&b, n->r.shard);
    ckv_sbuf_adds(&b, ",\"view-confirmed\":");
    ckv_sbuf_adds(&b, n->r.view_confirmed ? "true" : "false");
    ckv_sbuf_adds(&b, ",\"bootstrapping\":");
    ckv_sbuf_adds(&b, n->r.bootstrapping || !n->r.has_base ? "true" : "false");
    ckv_sbuf_adds(&b, ",\"writes-wait-for-replicas\":");
    ckv_sbuf_adds(&b, n->r.counter_pending ? "true" : "false");
    ckv_sbuf_addc(&b, '}');
    ckv_reply(req, serving ? 200 : 503, &b);
}
