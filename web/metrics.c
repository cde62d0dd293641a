/* /metrics in Prometheus text format: HTTP counters here, plus what the
 * other modules report about themselves. */
#include <stdio.h>
#include <string.h>

#include "discovery/disc.h"
#include "recovery/rec.h"
#include "web/web_int.h"

static const int64_t bucket_us[] = {100, 1000, 10000, 100000, 1000000, 10000000};

void web_metrics_init(struct web_metrics *m, const struct web_deps *deps)
{
    memset(m, 0, sizeof(*m));
    m->deps = deps;
}

int web_prom_label(struct orc_buf *o, const char *s)
{
    int rc = 0;

    for (; s != NULL && *s && rc == 0; s++) {
        if (*s == '\\')
            rc = orc_buf_puts(o, "\\\\");
        else if (*s == '"')
            rc = orc_buf_puts(o, "\\\"");
        else if (*s == '\n')
            rc = orc_buf_puts(o, "\\n");
        else
            rc = orc_buf_putc(o, *s);
    }
    return rc;
}

/* name{label="value"[,label2="value2"]} n: label values escaped. */
static void series(struct orc_buf *o,
                   const char *name,
                   const char *l1,
                   const char *v1,
                   const char *l2,
                   const char *v2,
                   size_t n)
{
    orc_buf_printf(o, "%s{%s=\"", name, l1);
    web_prom_label(o, v1);
    if (l2 != NULL) {
        orc_buf_printf(o, "\",%s=\"", l2);
        web_prom_label(o, v2);
    }
    orc_buf_printf(o, "\"} %zu\n", n);
}

void web_metrics_release(struct web_metrics *m)
{
    (void)m;
}

void web_metrics_observe(struct web_metrics *m, int status, int64_t latency_us)
{
    int cls = status / 100;
    size_t b = 0;

    if (cls < 1 || cls > 5)
        cls = 0;
    atomic_fetch_add_explicit(&m->requests[cls], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_us_sum, (uint64_t)latency_us, memory_order_relaxed);
    while (b < ORC_ARRAY_LEN(bucket_us) && latency_us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&m->latency_buckets[b], 1, memory_order_relaxed);
}

static void render_http(struct web_metrics *m, struct orc_buf *o)
{
    uint64_t cum = 0, total = 0;

    orc_buf_puts(o,
                 "# HELP orchestrator_http_requests_total HTTP requests served, by status class.\n"
                 "# TYPE orchestrator_http_requests_total counter\n");
    for (int c = 1; c <= 5; c++) {
        uint64_t v = atomic_load(&m->requests[c]);
        orc_buf_printf(o, "orchestrator_http_requests_total{code=\"%dxx\"} %llu\n", c,
                       (unsigned long long)v);
        total += v;
    }
    orc_buf_puts(o,
                 "# HELP orchestrator_http_request_duration_seconds HTTP handler latency.\n"
                 "# TYPE orchestrator_http_request_duration_seconds histogram\n");
    for (size_t b = 0; b < ORC_ARRAY_LEN(bucket_us); b++) {
        cum += atomic_load(&m->latency_buckets[b]);
        orc_buf_printf(o, "orchestrator_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                       (double)bucket_us[b] / 1e6, (unsigned long long)cum);
    }
    cum += atomic_load(&m->latency_buckets[ORC_ARRAY_LEN(bucket_us)]);
    orc_buf_printf(o, "orchestrator_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                   (unsigned long long)cum);
    orc_buf_printf(o, "orchestrator_http_request_duration_seconds_sum %.6f\n",
                   (double)atomic_load(&m->latency_us_sum) / 1e6);
    orc_buf_printf(o, "orchestrator_http_request_duration_seconds_count %llu\n",
                   (unsigned long long)total);
}

/* Raft: whether a member's recovery config differs from this leader's. */
static void render_config(const struct web_deps *deps, struct orc_buf *o)
{
    json_t *cs = deps->config_status ? deps->config_status(deps->node) : NULL;
    size_t n = json_array_size(json_object_get(cs, "Mismatch"));

    if (cs == NULL)
        return;
    orc_buf_printf(o,
                   "# HELP orchestrator_config_fingerprint_mismatch 1 when a raft member's "
                   "recovery configuration differs from the leader's.\n"
                   "# TYPE orchestrator_config_fingerprint_mismatch gauge\n"
                   "orchestrator_config_fingerprint_mismatch %d\n"
                   "# HELP orchestrator_config_fingerprint_mismatch_members Members whose "
                   "recovery configuration differs from the leader's.\n"
                   "# TYPE orchestrator_config_fingerprint_mismatch_members gauge\n"
                   "orchestrator_config_fingerprint_mismatch_members %zu\n",
                   n > 0, n);
    json_decref(cs);
}

void web_metrics_render(struct web_metrics *m, struct web_req *r)
{
    struct orc_buf o = ORC_BUF_INIT;

    render_http(m, &o);
    render_config(m->deps, &o);
    web_metrics_render_topology(m->deps, &o);
    rec_kv_metrics(m->deps->rec, &o);
    web_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", orc_buf_str(&o), o.len);
    orc_buf_release(&o);
}

void web_metrics_render_topology(const struct web_deps *deps, struct orc_buf *o)
{
    struct disc_topo_stats st;
    struct disc_snapshot *s;

    if (deps->topo == NULL)
        return;
    disc_topo_stats(deps->topo, &st);
    orc_buf_printf(o,
                   "# HELP orchestrator_discovery_probes_total Instance probes run.\n"
                   "# TYPE orchestrator_discovery_probes_total counter\n"
                   "orchestrator_discovery_probes_total %llu\n"
                   "# HELP orchestrator_discovery_probe_failures_total Probes that failed.\n"
                   "# TYPE orchestrator_discovery_probe_failures_total counter\n"
                   "orchestrator_discovery_probe_failures_total %llu\n"
                   "# HELP orchestrator_discovery_probe_seconds_total Time spent probing.\n"
                   "# TYPE orchestrator_discovery_probe_seconds_total counter\n"
                   "orchestrator_discovery_probe_seconds_total %.6f\n"
                   "# HELP orchestrator_discovery_queue_length Probes waiting for a worker.\n"
                   "# TYPE orchestrator_discovery_queue_length gauge\n"
                   "orchestrator_discovery_queue_length %llu\n"
                   "# HELP orchestrator_discovery_workers Probe worker threads running.\n"
                   "# TYPE orchestrator_discovery_workers gauge\n"
                   "orchestrator_discovery_workers %llu\n"
                   "# HELP orchestrator_backend_write_errors_total Failed batched writes.\n"
                   "# TYPE orchestrator_backend_write_errors_total counter\n"
                   "orchestrator_backend_write_errors_total %llu\n"
                   "# HELP orchestrator_backend_rows_written_total Instance rows written.\n"
                   "# TYPE orchestrator_backend_rows_written_total counter\n"
                   "orchestrator_backend_rows_written_total %llu\n",
                   (unsigned long long)st.probes, (unsigned long long)st.probe_failures,
                   (double)st.probe_latency_us_sum / 1e6, (unsigned long long)st.queue_len,
                   (unsigned long long)st.workers, (unsigned long long)st.backend_write_errors,
                   (unsigned long long)st.backend_rows);
    s = disc_topo_snapshot_recent(deps->topo, DISC_SNAPSHOT_RECENT_MS);
    if (s == NULL)
        return;
    orc_buf_puts(o,
                 "# HELP orchestrator_cluster_instances Instances known per cluster.\n"
                 "# TYPE orchestrator_cluster_instances gauge\n");
    for (size_t c = 0; c < s->nclusters; c++) {
        size_t invalid = 0;
        for (size_t i = s->clusters[c].first; i < s->clusters[c].first + s->clusters[c].count; i++)
            invalid += !disc_snapshot_check_valid(s, (int)i);
        series(o, "orchestrator_cluster_instances", "cluster", s->clusters[c].name, "alias",
               s->clusters[c].alias, s->clusters[c].count);
        series(o, "orchestrator_cluster_instances_unreachable", "cluster", s->clusters[c].name,
               NULL, NULL, invalid);
    }
    disc_snapshot_put(s);
}
