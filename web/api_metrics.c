/*
 * api_metrics: orchestrator's in-memory collections as JSON:
 * discovery-metrics, discovery-queue-metrics, backend-query-metrics and
 * write-buffer-metrics, each raw (the samples of the last :seconds) and
 * aggregated (max, mean, median, p95), from discovery's rings (metrics.c).
 *
 * Durations of raw samples are nanoseconds (Go's time.Duration), aggregated
 * figures are seconds (float), as orchestrator writes them. Our probes do
 * not read the backend (results are written in batches, see
 * write-buffer-metrics), so BackendLatency is 0; backend-query-metrics are
 * the instance writer's backend writes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/disc.h"
#include "web/web_int.h"

#define NS_PER_US 1000

static bool seconds_param(struct web_req *r, int64_t *seconds)
{
    if (orc_parse_int64(web_param(r, 0), 1, 1000000000, seconds) != 0) {
        web_reply_error(r, 400, "Invalid value provided for seconds");
        return false;
    }
    if (r->deps->topo == NULL) {
        web_reply_error(r, 503, "discovery is not running");
        return false;
    }
    return true;
}

static void jw_double(struct web_jw *w, const char *key, double v)
{
    char num[64];
    int n = snprintf(num, sizeof(num), "%.9g", isfinite(v) ? v : 0.0);

    web_jw_raw(w, key, num, (size_t)n);
}

static void jw_ts_ms(struct web_jw *w, const char *key, int64_t ms)
{
    web_jw_time(w, key, ms / 1000);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct web_metrics_agg web_metrics_aggregate(double *v, size_t n)
{
    struct web_metrics_agg a = {0, 0, 0, 0};
    double sum = 0;

    if (n == 0)
        return a;
    qsort(v, n, sizeof(*v), cmp_double);
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    a.max = v[n - 1];
    a.mean = sum / (double)n;
    a.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    a.p95 = v[(size_t)ceil(0.95 * (double)n) - 1];
    return a;
}

static void jw_agg(struct web_jw *w,
                   const char *prefix,
                   const char *suffix,
                   struct web_metrics_agg a)
{
    static const char *const names[] = {"Max", "Mean", "Median", "P95"};
    double vals[] = {a.max, a.mean, a.median, a.p95};
    char key[96];

    for (size_t i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "%s%s%s", prefix, names[i], suffix);
        jw_double(w, key, vals[i]);
    }
}

static void reply_buf(struct web_req *r, struct orc_buf *b, int err)
{
    if (err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_raw(r, 200, WEB_JSON, orc_buf_str(b), b->len);
    orc_buf_release(b);
}

/* ---- discovery-metrics ---- */

static bool probe_samples(struct web_req *r, struct disc_probe_metric **v, size_t *n)
{
    int64_t seconds;

    if (!seconds_param(r, &seconds))
        return false;
    if (disc_topo_probe_metrics(r->deps->topo, seconds, v, n) != 0) {
        web_reply_error(r, 500, "out of memory");
        return false;
    }
    return true;
}

static void h_discovery_raw(struct web_req *r)
{
    struct disc_probe_metric *v;
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    size_t n;

    if (!probe_samples(r, &v, &n))
        return;
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++) {
        web_jw_obj(&w, NULL);
        jw_ts_ms(&w, "Timestamp", v[i].ts_ms);
        web_jw_key(&w, "InstanceKey", &v[i].key);
        web_jw_int(&w, "BackendLatency", 0);
        web_jw_int(&w, "InstanceLatency", v[i].instance_us * NS_PER_US);
        web_jw_int(&w, "TotalLatency", v[i].total_us * NS_PER_US);
        if (v[i].err[0])
            web_jw_str(&w, "Err", v[i].err);
        else
            web_jw_null(&w, "Err");
        web_jw_obj_end(&w);
    }
    web_jw_arr_end(&w);
    free(v);
    reply_buf(r, &b, w.err);
}

static int cmp_key(const void *a, const void *b)
{
    const struct orc_key *x = a, *y = b;
    int c = strcmp(x->host, y->host);

    return c != 0 ? c : (x->port > y->port) - (x->port < y->port);
}

/* Distinct instance keys among the samples that succeeded (want_ok 1),
 * failed (0) or all (-1); keys is scratch room for n keys. */
static size_t count_distinct(const struct disc_probe_metric *v,
                             size_t n,
                             int want_ok,
                             struct orc_key *keys)
{
    size_t k = 0, count = 0;

    for (size_t i = 0; i < n; i++)
        if (want_ok < 0 || (v[i].err[0] == '\0') == (want_ok == 1))
            keys[k++] = v[i].key;
    qsort(keys, k, sizeof(*keys), cmp_key);
    for (size_t i = 0; i < k; i++)
        count += i == 0 || cmp_key(&keys[i - 1], &keys[i]) != 0;
    return count;
}

/* The aggregates of the ok (failed 0) or failed samples: [Total, Backend,
 * Instance] seconds; scratch has room for 3 * n doubles. */
static void probe_aggregates(const struct disc_probe_metric *v,
                             size_t n,
                             int failed,
                             double *scratch,
                             struct web_metrics_agg out[3])
{
    double *total = scratch, *backend = scratch + n, *inst = scratch + 2 * n;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if ((v[i].err[0] != '\0') != failed)
            continue;
        total[k] = (double)v[i].total_us / 1e6;
        backend[k] = 0; /* probes do not read the backend here */
        inst[k++] = (double)v[i].instance_us / 1e6;
    }
    out[0] = web_metrics_aggregate(total, k);
    out[1] = web_metrics_aggregate(backend, k);
    out[2] = web_metrics_aggregate(inst, k);
}

static double agg_stat(const struct web_metrics_agg *a, int stat)
{
    return stat == 0 ? a->mean : stat == 1 ? a->max : stat == 2 ? a->median : a->p95;
}

/* In orchestrator's field order: MeanTotalSeconds, MeanBackendSeconds,
 * MeanInstanceSeconds, FailedMean..., then Max, Median and P95 alike. */
static void jw_discovery_aggregates(struct web_jw *w,
                                    const struct disc_probe_metric *v,
                                    size_t n,
                                    double *scratch)
{
    static const char *const stats[] = {"Mean", "Max", "Median", "P95"};
    static const char *const what[] = {"Total", "Backend", "Instance"};
    struct web_metrics_agg a[2][3];
    char key[64];

    probe_aggregates(v, n, 0, scratch, a[0]);
    probe_aggregates(v, n, 1, scratch, a[1]);
    for (int stat = 0; stat < 4; stat++)
        for (int failed = 0; failed < 2; failed++)
            for (int x = 0; x < 3; x++) {
                snprintf(key, sizeof(key), "%s%s%sSeconds", failed ? "Failed" : "", stats[stat],
                         what[x]);
                jw_double(w, key, agg_stat(&a[failed][x], stat));
            }
}

static void h_discovery_aggregated(struct web_req *r)
{
    struct disc_probe_metric *v;
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    size_t n, failed = 0;
    double *scratch;
    struct orc_key *keys;

    if (!probe_samples(r, &v, &n))
        return;
    keys = calloc(n + 1, sizeof(*keys));
    scratch = calloc(3 * n + 1, sizeof(double));
    web_jw_init(&w, &b);
    if (scratch == NULL || keys == NULL) {
        w.err = ORC_ENOMEM;
        n = 0;
    }
    for (size_t i = 0; i < n; i++)
        failed += v[i].err[0] != '\0';
    web_jw_obj(&w, NULL);
    jw_ts_ms(&w, "FirstSeen", n ? v[0].ts_ms : 0);
    jw_ts_ms(&w, "LastSeen", n ? v[n - 1].ts_ms : 0);
    web_jw_int(&w, "CountDistinctInstanceKeys", (int64_t)count_distinct(v, n, -1, keys));
    web_jw_int(&w, "CountDistinctOkInstanceKeys", (int64_t)count_distinct(v, n, 1, keys));
    web_jw_int(&w, "CountDistinctFailedInstanceKeys", (int64_t)count_distinct(v, n, 0, keys));
    web_jw_int(&w, "FailedDiscoveries", (int64_t)failed);
    web_jw_int(&w, "SuccessfulDiscoveries", (int64_t)(n - failed));
    if (scratch != NULL)
        jw_discovery_aggregates(&w, v, n, scratch);
    web_jw_obj_end(&w);
    free(keys);
    free(scratch);
    free(v);
    reply_buf(r, &b, w.err);
}

/* ---- discovery-queue-metrics ---- */

static bool queue_samples(struct web_req *r, struct disc_queue_metric **v, size_t *n)
{
    int64_t seconds;

    if (!seconds_param(r, &seconds))
        return false;
    if (disc_topo_queue_metrics(r->deps->topo, seconds, v, n) != 0) {
        web_reply_error(r, 500, "out of memory");
        return false;
    }
    return true;
}

static void h_queue_raw(struct web_req *r)
{
    struct disc_queue_metric *v;
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    size_t n;

    if (!queue_samples(r, &v, &n))
        return;
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++) {
        web_jw_obj(&w, NULL);
        web_jw_int(&w, "Active", v[i].active);
        web_jw_int(&w, "Queued", v[i].queued);
        web_jw_obj_end(&w);
    }
    web_jw_arr_end(&w);
    free(v);
    reply_buf(r, &b, w.err);
}

static void jw_min_agg(struct web_jw *w, const char *what, double *x, size_t n)
{
    struct web_metrics_agg a;
    double min = n ? x[0] : 0;
    char key[64];

    for (size_t i = 1; i < n; i++)
        min = x[i] < min ? x[i] : min;
    a = web_metrics_aggregate(x, n);
    snprintf(key, sizeof(key), "%sMinEntries", what);
    jw_double(w, key, min);
    snprintf(key, sizeof(key), "%sMeanEntries", what);
    jw_double(w, key, a.mean);
    snprintf(key, sizeof(key), "%sMedianEntries", what);
    jw_double(w, key, a.median);
    snprintf(key, sizeof(key), "%sP95Entries", what);
    jw_double(w, key, a.p95);
    snprintf(key, sizeof(key), "%sMaxEntries", what);
    jw_double(w, key, a.max);
}

static void h_queue_aggregated(struct web_req *r)
{
    struct disc_queue_metric *v;
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    size_t n;
    double *x;

    if (!queue_samples(r, &v, &n))
        return;
    x = calloc(n + 1, sizeof(double));
    web_jw_init(&w, &b);
    if (x == NULL)
        w.err = ORC_ENOMEM;
    web_jw_obj(&w, NULL);
    for (int pass = 0; pass < 2 && x != NULL; pass++) {
        for (size_t i = 0; i < n; i++)
            x[i] = pass == 0 ? v[i].active : v[i].queued;
        jw_min_agg(&w, pass == 0 ? "Active" : "Queued", x, n);
    }
    web_jw_obj_end(&w);
    free(x);
    free(v);
    reply_buf(r, &b, w.err);
}

/* ---- backend-query-metrics and write-buffer-metrics ---- */

static bool write_samples(struct web_req *r, struct disc_write_metric **v, size_t *n)
{
    int64_t seconds;

    if (!seconds_param(r, &seconds))
        return false;
    if (disc_topo_write_metrics(r->deps->topo, seconds, v, n) != 0) {
        web_reply_error(r, 500, "out of memory");
        return false;
    }
    return true;
}

static void write_raw(struct web_req *r, bool buffer)
{
    struct disc_write_metric *v;
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    size_t n;

    if (!write_samples(r, &v, &n))
        return;
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++) {
        web_jw_obj(&w, NULL);
        jw_ts_ms(&w, "Timestamp", v[i].ts_ms);
        if (buffer)
            web_jw_int(&w, "Instances", (int64_t)v[i].instances);
        web_jw_int(&w, "WaitLatency", v[i].wait_us * NS_PER_US);
        web_jw_int(&w, buffer ? "WriteLatency" : "ExecuteLatency", v[i].write_us * NS_PER_US);
        if (!buffer) {
            if (v[i].ok)
                web_jw_null(&w, "Err");
            else
                web_jw_str(&w, "Err", "backend write failed");
        }
        web_jw_obj_end(&w);
    }
    web_jw_arr_end(&w);
    free(v);
    reply_buf(r, &b, w.err);
}

static void write_aggregated(struct web_req *r, bool buffer)
{
    struct disc_write_metric *v;
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    size_t n, total = 0;
    double *x;

    if (!write_samples(r, &v, &n))
        return;
    x = calloc(n + 1, sizeof(double));
    web_jw_init(&w, &b);
    if (x == NULL)
        w.err = ORC_ENOMEM;
    web_jw_obj(&w, NULL);
    for (size_t i = 0; i < n; i++)
        total += v[i].instances;
    if (buffer) {
        web_jw_int(&w, "InstanceWriteBufferSize", r->deps->cfg->InstanceWriteBufferSize);
        web_jw_int(&w, "InstanceFlushIntervalMilliseconds",
                   r->deps->cfg->InstanceFlushIntervalMilliseconds);
        web_jw_int(&w, "CountInstances", (int64_t)total);
        for (size_t i = 0; x && i < n; i++)
            x[i] = (double)v[i].instances;
        if (x)
            jw_agg(&w, "", "Instances", web_metrics_aggregate(x, n));
    } else {
        web_jw_int(&w, "Count", (int64_t)n);
        for (size_t i = 0; x && i < n; i++)
            x[i] = (double)v[i].write_us / 1e6;
        if (x)
            jw_agg(&w, "", "LatencySeconds", web_metrics_aggregate(x, n));
    }
    for (size_t i = 0; x && i < n; i++)
        x[i] = (double)v[i].wait_us / 1e6;
    if (x)
        jw_agg(&w, "", "WaitSeconds", web_metrics_aggregate(x, n));
    if (buffer) {
        for (size_t i = 0; x && i < n; i++)
            x[i] = (double)v[i].write_us / 1e6;
        if (x)
            jw_agg(&w, "", "WriteSeconds", web_metrics_aggregate(x, n));
    }
    web_jw_obj_end(&w);
    free(x);
    free(v);
    reply_buf(r, &b, w.err);
}

static void h_backend_raw(struct web_req *r)
{
    write_raw(r, false);
}

static void h_backend_aggregated(struct web_req *r)
{
    write_aggregated(r, false);
}

static void h_buffer_raw(struct web_req *r)
{
    write_raw(r, true);
}

static void h_buffer_aggregated(struct web_req *r)
{
    write_aggregated(r, true);
}

const struct web_route web_routes_metrics[] = {
    {"discovery-metrics-raw/:seconds", h_discovery_raw, WEB_READ},
    {"discovery-metrics-aggregated/:seconds", h_discovery_aggregated, WEB_READ},
    {"discovery-queue-metrics-raw/:seconds", h_queue_raw, WEB_READ},
    {"discovery-queue-metrics-aggregated/:seconds", h_queue_aggregated, WEB_READ},
    {"backend-query-metrics-raw/:seconds", h_backend_raw, WEB_READ},
    {"backend-query-metrics-aggregated/:seconds", h_backend_aggregated, WEB_READ},
    {"write-buffer-metrics-raw/:seconds", h_buffer_raw, WEB_READ},
    {"write-buffer-metrics-aggregated/:seconds", h_buffer_aggregated, WEB_READ},
};
const size_t web_routes_metrics_len = ORC_ARRAY_LEN(web_routes_metrics);
