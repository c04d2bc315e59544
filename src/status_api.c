/* status_api.c — the Prometheus text of /metrics, /healthz, and /kv-store/status: one
 * node's compact JSON view of itself, which the dashboard polls on every node. */
#include "status_api.h"
#include "replication.h"

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
    for (uint32_t p = first; p < first + n->r.map.rf; p++) {
        if (p == (uint32_t)n->r.self)
            continue;
        add_line(b, "causalkv_replication_queue_depth{peer=\"%s\"} %llu\n", n->r.map.view.addrs[p],
                 (unsigned long long)ckv_repl_unacked(n, p));
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
    add_gauge(&b, "causalkv_pushed_versions_total", "Versions in acknowledged replication pushes.",
              "counter", m->pushed_versions);
    add_gauge(&b, "causalkv_proxy_batches_total",
              "Batch messages of two or more forwarded requests sent.", "counter",
              m->proxy_batches);
    add_gauge(&b, "causalkv_proxy_batched_requests_total",
              "Forwarded requests sent inside batch messages.", "counter",
              m->proxy_batched_requests);
    add_gauge(&b, "causalkv_proxy_batches_refused_total",
              "Batches a peer refused whole (nothing ran): their requests sent one by one.",
              "counter", m->proxy_batches_refused);
    add_gauge(&b, "causalkv_batches_served_total", "Batch messages of forwarded requests answered.",
              "counter", m->batches_served);
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
    add_gauge(&b, "causalkv_writes_without_history_total",
              "Writes accepted by a replica that lacked part of the history their context "
              "covers (ordered after it by their Lamport time).",
              "counter", m->writes_without_history);
    add_gauge(&b, "causalkv_reads_forwarded_for_history_total",
              "Reads this replica lacked the history for, sent to a replica of the shard that "
              "holds it.",
              "counter", m->reads_forwarded_for_history);
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

/* Liveness, not readiness: answered whenever the event loop runs, whatever the node is
 * doing (catching up, standby, bootstrapping, waiting for its view), so a supervisor
 * restarts only a node that is stuck or gone, never one that is merely not ready. */
void ckv_live_serve(ckv_node *n, ckv_req *req)
{
    (void)n;
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"status\":\"alive\"}");
    ckv_reply(req, 200, &b);
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

/* One word for what the node can do now; /healthz gives the gates one by one. */
static const char *node_state_name(const ckv_node *n)
{
    if (n->shutting_down)
        return "stopping";
    if (n->r.self < 0)
        return "standby";
    if (!n->r.view_confirmed)
        return "confirming-view";
    if (n->r.bootstrapping || !n->r.has_base || n->r.counter_pending)
        return "catching-up";
    if (n->r.writes_paused)
        return "view-change";
    return "up";
}

static void add_lag(ckv_sbuf *b, const ckv_node *n)
{
    ckv_sbuf_adds(b, ",\"lag\":{");
    if (n->r.self >= 0) {
        uint32_t first = ckv_shard_map_first_replica(&n->r.map, n->r.shard);
        bool comma = false;
        for (uint32_t p = first; p < first + n->r.map.rf; p++) {
            if (p == (uint32_t)n->r.self)
                continue;
            if (comma)
                ckv_sbuf_addc(b, ',');
            comma = true;
            const char *a = n->r.map.view.addrs[p];
            ckv_sbuf_add_json_str(b, a, strlen(a));
            ckv_sbuf_addc(b, ':');
            ckv_sbuf_add_u64(b, ckv_repl_unacked(n, p));
        }
    }
    ckv_sbuf_addc(b, '}');
}

static bool client_endpoint(int ep)
{
    return ep != CKV_EP_INTERNAL && ep != CKV_EP_OTHER; /* not peers, not monitoring */
}

/* Latency of client requests as a histogram; q-quantile in ms interpolated inside its
 * bucket as Prometheus' histogram_quantile does (the last finite bound when in +Inf). */
static double quantile_ms(const uint64_t *bucket, uint64_t total, double q)
{
    if (total == 0)
        return 0;
    double rank = q * (double)total, lo = 0, cum = 0;
    for (int i = 0; i < CKV_LATENCY_BUCKETS; i++) {
        double hi = ckv_latency_bounds[i] * 1000;
        if (cum + (double)bucket[i] >= rank && bucket[i] > 0)
            return lo + (hi - lo) * (rank - cum) / (double)bucket[i];
        cum += (double)bucket[i];
        lo = hi;
    }
    return lo;
}

static void add_requests_json(ckv_sbuf *b, const ckv_metrics *m)
{
    uint64_t bucket[CKV_LATENCY_BUCKETS + 1] = {0}, total = 0, errors = 0;
    for (int ep = 0; ep < CKV_EP_COUNT; ep++) {
        if (!client_endpoint(ep))
            continue;
        for (int i = 0; i <= CKV_LATENCY_BUCKETS; i++)
            bucket[i] += m->latency_bucket[ep][i];
        for (int cls = 1; cls <= 5; cls++)
            total += m->requests[ep][cls];
        errors += m->requests[ep][5];
    }
    ckv_sbuf_adds(b, ",\"requests\":");
    ckv_sbuf_add_u64(b, total);
    ckv_sbuf_adds(b, ",\"errors-5xx\":");
    ckv_sbuf_add_u64(b, errors);
    char p99[32];
    snprintf(p99, sizeof(p99), ",\"p99-ms\":%.3f", quantile_ms(bucket, total, 0.99));
    ckv_sbuf_adds(b, p99);
    ckv_sbuf_adds(b, ",\"latency-buckets\":[");
    for (int i = 0; i <= CKV_LATENCY_BUCKETS; i++) {
        if (i > 0)
            ckv_sbuf_addc(b, ',');
        ckv_sbuf_add_u64(b, bucket[i]);
    }
    ckv_sbuf_adds(b, "],\"latency-bounds-ms\":[");
    for (int i = 0; i < CKV_LATENCY_BUCKETS; i++) {
        char bound[24];
        snprintf(bound, sizeof(bound), "%s%g", i > 0 ? "," : "", ckv_latency_bounds[i] * 1000);
        ckv_sbuf_adds(b, bound);
    }
    ckv_sbuf_addc(b, ']');
}

void ckv_status_serve(ckv_node *n, ckv_req *req)
{
    const char *state = node_state_name(n);
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_adds(&b, "{\"address\":");
    ckv_sbuf_add_json_str(&b, n->cfg.address, strlen(n->cfg.address));
    ckv_sbuf_adds(&b, ",\"state\":");
    ckv_sbuf_add_json_str(&b, state, strlen(state));
    ckv_sbuf_adds(&b, ",\"epoch\":");
    ckv_sbuf_add_u64(&b, n->r.map.epoch);
    ckv_sbuf_adds(&b, ",\"view\":");
    ckv_json_add_view(&b, &n->r.map.view);
    ckv_sbuf_adds(&b, ",\"repl-factor\":");
    ckv_sbuf_add_u64(&b, n->r.map.rf);
    ckv_sbuf_adds(&b, ",\"shard-id\":");
    ckv_sbuf_add_u64(&b, n->r.self >= 0 ? n->r.shard : 0);
    ckv_sbuf_adds(&b, ",\"key-count\":");
    ckv_sbuf_add_u64(&b, n->r.self >= 0 ? ckv_store_live_count(n->r.store) : 0);
    ckv_sbuf_adds(&b, ",\"tombstones\":");
    ckv_sbuf_add_u64(&b, ckv_store_tombstone_count(n->r.store));
    add_lag(&b, n);
    add_requests_json(&b, &n->metrics);
    ckv_sbuf_adds(&b, ",\"parked\":");
    ckv_sbuf_add_u64(&b, ckv_park_count(n->park));
    ckv_sbuf_adds(&b, ",\"connections\":");
    ckv_sbuf_add_u64(&b, ckv_conns_open(n->conns));
    ckv_sbuf_addc(&b, '}');
    ckv_req_add_header(req, "Cache-Control", "no-store");
    ckv_reply(req, 200, &b);
}
