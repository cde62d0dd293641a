/* Internal declarations shared by the web module's files. */
#ifndef ORC_WEB_INT_H
#define ORC_WEB_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "web/web.h"

/* Bodies of read routes kept for the snapshot they were made from
 * (api_read.c): the same snapshot answers the same bytes. One per server,
 * not per process. */
#define WEB_CACHE_SLOTS 64
#define WEB_CACHE_KEY_MAX (ORC_KEY_STRLEN + 16)
struct web_cache_slot {
    const void *topo;
    uint64_t version;
    int64_t taken_ms; /* with topo and version: which snapshot */
    char key[WEB_CACHE_KEY_MAX];
    char *data;
    size_t len;
};
struct web_read_cache {
    pthread_mutex_t lock;
    unsigned next;
    struct web_cache_slot slot[WEB_CACHE_SLOTS];
};
void web_read_cache_init(struct web_read_cache *c);
void web_read_cache_release(struct web_read_cache *c);
/* The cache of the server r came to (http.c). */
struct web_read_cache *web_read_cache_of(struct web_req *r);

/* The analysis options of the server's config, compiled once when it
 * starts (api_analysis.c makes them; opaque to http.c). */
int web_analysis_prepare(const struct orc_config *cfg, void **out, char *errmsg, size_t len);
void web_analysis_release(void *opts);
/* The server's options (const struct rec_analysis_options *). */
const void *web_analysis_options_of(struct web_req *r);

#define WEB_JSON "application/json"
#define WEB_TEXT "text/plain; charset=utf-8"

/* Limits of what a client may send (see docs/security.md). */
#define WEB_MAX_USER 256               /* user names (proxy header, OU values) */
#define WEB_MAX_PATH 1024              /* URL path below URLPrefix */
#define WEB_MAX_REQUEST_BODY (1 << 20) /* POST bodies (kept for the raft proxy) */
#define WEB_MAX_HEADERS (32 * 1024)    /* request line + headers (per connection memory) */
#define WEB_MAX_CONNECTIONS 512        /* in total */

/* ---- auth.c: authentication, cross-site checks, and their pure parts ---- */

/* Sets r->user, r->authenticated and r->can_write for the configured method.
 * Returns false when the request must be refused with 401 (never for a
 * WEB_NOAUTH route, which is served unauthenticated). */
bool web_authenticate(struct web_req *r, unsigned flags);
/* False when a browser sent this request from another site (Sec-Fetch-Site,
 * else Origin, else Referer against Host or X-Forwarded-Host). */
bool web_csrf_check(struct web_req *r);
/* The decision of web_csrf_check on header values (each may be NULL). */
bool web_csrf_allowed(const char *fetch_site,
                      const char *origin,
                      const char *referer,
                      const char *host,
                      const char *fwd_host);
/* A proxy user name: 1..WEB_MAX_USER visible characters, valid UTF-8. */
bool web_auth_user_valid(const char *v);
/* user is in PowerAuthUsers ("*" matches everybody). */
bool web_auth_power_user(char *const *users, size_t n, const char *user);
/* One of groups is in allowed (false when allowed is empty). */
bool web_auth_groups_match(char *const *allowed,
                           size_t nallowed,
                           const char *const *groups,
                           size_t ngroups);
/* SSLValidOUs: true when valid is empty or one of ous is in it (exact match). */
bool web_ou_allowed(char *const *valid, size_t nvalid, const char *const *ous, size_t nous);
/* s[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool web_utf8_valid(const char *s, size_t n);

/* ---- tls.c: HTTPS and mutual TLS ---- */

/* PEM texts handed to libmicrohttpd; owned, kept while the daemon runs. */
struct web_tls {
    bool enabled;
    char *cert, *key, *trust; /* trust: SSLCAFile under UseMutualTLS, else NULL */
};

/* Reads the files of UseSSL (no-op without it). Errors name the key and file. */
int web_tls_load(const struct orc_config *cfg, struct web_tls *t, char *errmsg, size_t len);
void web_tls_release(struct web_tls *t);
/* Under UseMutualTLS: 0 when the connection (struct MHD_Connection *) has a
 * client certificate that verifies against SSLCAFile and carries an allowed
 * OU; ORC_EPERM with the reason otherwise. 0 without mutual TLS. */
int web_tls_check_client(void *conn, const struct orc_config *cfg, char *errmsg, size_t len);

/* ---- metrics.c ---- */

/* Appends s as the inside of a Prometheus label value: backslash, double
 * quote and newline escaped, as the text format requires. */
int web_prom_label(struct orc_buf *o, const char *s);

/* Request counters for /metrics, updated lock-free from handler threads. */
struct web_metrics {
    const struct web_deps *deps;
    atomic_uint_fast64_t requests[6]; /* by status class: 1xx..5xx, index 0 other */
    atomic_uint_fast64_t latency_us_sum;
    atomic_uint_fast64_t latency_buckets[8]; /* <=100us,1ms,10ms,100ms,1s,10s,+Inf */
};

void web_metrics_init(struct web_metrics *m, const struct web_deps *deps);
void web_metrics_release(struct web_metrics *m);
void web_metrics_observe(struct web_metrics *m, int status, int64_t latency_us);
void web_metrics_render(struct web_metrics *m, struct web_req *r);
struct web_metrics *web_server_metrics(struct web_server *s);
/* Appends the topology's figures (probe counts, latencies, instances per cluster). */
void web_metrics_render_topology(const struct web_deps *deps, struct orc_buf *o);

#endif

/* ---- json.c: orchestrator-shaped JSON written into a buffer ---- */

struct be_audit;
struct disc_snapshot;

#define WEB_JW_DEPTH 16

/* A streaming JSON writer: values go into b; inside an object pass the key,
 * inside an array (or at top level) pass NULL. err becomes ORC_ENOMEM when an
 * append failed (sticky); check it once at the end. */
struct web_jw {
    struct orc_buf *b;
    int depth;
    bool comma[WEB_JW_DEPTH];
    int err;
};

void web_jw_init(struct web_jw *w, struct orc_buf *b);
void web_jw_obj(struct web_jw *w, const char *key);
void web_jw_obj_end(struct web_jw *w);
void web_jw_arr(struct web_jw *w, const char *key);
void web_jw_arr_end(struct web_jw *w);
/* s NULL is written as "". */
void web_jw_str(struct web_jw *w, const char *key, const char *s);
void web_jw_int(struct web_jw *w, const char *key, int64_t v);
void web_jw_bool(struct web_jw *w, const char *key, bool v);
void web_jw_null(struct web_jw *w, const char *key);
/* Already serialized JSON (n bytes). */
void web_jw_raw(struct web_jw *w, const char *key, const char *json, size_t n);
/* InstanceKey {"Hostname","Port"}; k NULL gives {"Hostname":"","Port":0}. */
void web_jw_key(struct web_jw *w, const char *key, const struct orc_key *k);
/* RFC 3339 UTC time of wall-clock seconds; "" for 0. */
void web_jw_time(struct web_jw *w, const char *key, int64_t wall_s);

/* orchestrator's Instance for s->instances[i] (fields in Go struct order,
 * then our extensions GtidCurrentPos, GtidSlavePos, GtidBinlogPos,
 * IsInMaintenance). */
void web_json_instance(struct web_jw *w, const struct disc_snapshot *s, size_t i);
/* ClusterInfo of s->clusters[c]; cfg (may be NULL) gives the recovery filters. */
void web_json_cluster_info(struct web_jw *w,
                           const struct disc_snapshot *s,
                           size_t c,
                           const struct orc_config *cfg);
/* Audit {AuditId, AuditTimestamp, AuditType, AuditInstanceKey, Message}. */
void web_json_audit(struct web_jw *w, const struct be_audit *a);

/* False for an instance the topology knows of but never read successfully:
 * as orchestrator (which records an instance only once read), the API does
 * not list it. */
bool web_instance_visible(const struct disc_snapshot *s, size_t i);
/* The Problems of instance i (static strings) into out[] (room for 8);
 * returns how many. */
int web_instance_problems(const struct disc_snapshot *s, size_t i, const char **out);
/* The effective promotion rule (operator rule, detected rule, "neutral"). Borrowed. */
const char *web_promotion_rule(const struct disc_snapshot *s, size_t i);
/* RecoverMasterClusterFilters matching: exact name, exact alias, "alias=x",
 * "alias~=regex", "*", or a regex (POSIX extended, unanchored) on the name. */
bool web_cluster_filter_match(char *const *filters, size_t n, const char *name, const char *alias);
/* "<n>s|m|h|d|w" -> seconds. A bare number or anything else is ORC_EINVAL. */
int web_parse_duration(const char *s, int64_t *seconds);
/* The envelope {"Code","Message","Details"} with Details already serialized
 * (NULL: null). */
void web_reply_envelope_raw(struct web_req *r,
                            int status,
                            const char *code,
                            const char *msg,
                            const char *details,
                            size_t n);

/* ---- topology_text.c: orchestrator's ASCII tree of a cluster ---- */

/* Appends the tree of cluster c: one line per instance, depth-indented with
 * "+ " (replicating) or "- " markers, "[lag,state,version,rw|ro,format,extras]"
 * aligned. tabulated: "|"-separated aligned columns instead. */
int web_topology_text(const struct disc_snapshot *s, size_t c, bool tabulated, struct orc_buf *out);
/* Same; tags (parallel to s->instances, entries may be NULL) are appended
 * to each plain line as " [a,b=c]", as orchestrator's topology-tags. */
int web_topology_text_tags(const struct disc_snapshot *s,
                           size_t c,
                           bool tabulated,
                           const char *const *tags,
                           struct orc_buf *out);

/* ---- route tables of api_read.c and api_write.c ---- */
extern const struct web_route web_routes_read[];
extern const size_t web_routes_read_len;
extern const struct web_route web_routes_write[];
extern const size_t web_routes_write_len;

/* ---- api_read.c: lookups shared by the read and write handlers ---- */

/* The current snapshot (release with disc_snapshot_put), or NULL after
 * replying 503 when discovery is not running. */
struct disc_snapshot *web_snapshot(struct web_req *r);

/* ---- answers of the operations' routes (api_ops.c) ---- */
/* The HTTP status of an ORC_E* code: 400 invalid, 403 not allowed, 404 not
 * found, 409 exists or wrong state, 504 timed out, 500 otherwise. */
int web_status_of(int rc);
/* True when this node runs topology operations; otherwise answers 503. */
bool web_need_rec(struct web_req *r);
/* Envelope OK with message; Details = the Instance as the live snapshot
 * shows it (its key when the topology does not know it). */
void web_reply_instance(struct web_req *r, const struct orc_key *k, const char *message);
/* Parses the instance key in params pi, pi+1 into *key and finds it in s,
 * exactly or else fuzzily (a unique known host containing the given one, same
 * port; never for IPv4 addresses); *key becomes the found key. Returns the
 * index, or -1 after replying 400 (bad key) or 404 (unknown instance) when
 * reply is true. */
int web_find_instance(struct web_req *r,
                      const struct disc_snapshot *s,
                      int pi,
                      struct orc_key *key,
                      bool reply);
/* The cluster named by hint (name, alias, then instance key "host[:port]"),
 * or -1 after replying 404. */
int web_find_cluster(struct web_req *r, const struct disc_snapshot *s, const char *hint);
/* The instance key in params pi, pi+1 (400 on a bad key), resolved against
 * the topology when it is known there, kept as given otherwise (routes that
 * also answer for instances the topology lacks). */
int web_param_key_any(struct web_req *r, int pi, struct orc_key *k);

/* ---- api_analysis.c: replication-analysis routes ---- */
extern const struct web_route web_routes_analysis[];
extern const size_t web_routes_analysis_len;

/* ---- api_recovery.c ---- */
extern const struct web_route web_routes_recovery[];
extern const size_t web_routes_recovery_len;

/* ---- api_planned.c: move-up, move-below, repoint, relocate, take-master,
 * stop/start-replica, read_only, graceful-master-takeover(-auto) ---- */
extern const struct web_route web_routes_planned[];
extern const size_t web_routes_planned_len;

/* ---- api_gtid.c: locate-gtid-errant, gtid-errant-reset-master,
 * gtid-errant-inject-empty ---- */
extern const struct web_route web_routes_gtid[];
extern const size_t web_routes_gtid_len;

/* ---- api_replication.c: restart/reset/stop-nice/skip-query, detach and
 * reattach, delay, binary logs, GTID on/off, kill-query, can-replicate-from */
extern const struct web_route web_routes_replication[];
extern const size_t web_routes_replication_len;

/* ---- api_relocate_many.c: relocate-replicas and the other operations on
 * many replicas, take-siblings, make-co-master, make-(local-)master */
extern const struct web_route web_routes_relocate_many[];
extern const size_t web_routes_relocate_many_len;

/* ---- api_raft.c: raft routes; proxy.c: forwarding to the raft leader ---- */
extern const struct web_route web_routes_raft[];
extern const size_t web_routes_raft_len;
/* Sets RaftLeader, IsRaftLeader, RaftLeaderURI, RaftAdvertise and
 * RaftHealthyMembers of a health/status Details object (no-op without raft). */
void web_raft_health_details(const struct web_deps *deps, json_t *details);
/* For a route without WEB_NOPROXY (write: it has WEB_WRITE): when raft is on
 * and another node leads, forwards the request there and fills r with the
 * answer (or replies 503 when no leader is known); returns true when r was
 * answered. A request carrying X-Orchestrator-Forwarded is served here. */
bool web_proxy_handle(struct web_req *r, bool write);

/* How long a follower waits for the leader's answer to a forwarded write:
 * the longest operation it may run (hooks at their timeout each, plus a
 * margin for the MySQL work and a membership change), and never less than
 * HTTPRequestTimeoutSeconds. */
int64_t web_proxy_timeout_s(const struct orc_config *cfg);

/* ---- dedupe.c: write requests safe to retry (X-Request-Id) ---- */
#define WEB_REQUEST_ID "X-Request-Id"
#define WEB_DEDUPE_MAX 256
#define WEB_DEDUPE_TTL_MS (15 * 60 * 1000)
struct web_dedupe_entry {
    char id[72];
    uint64_t req_hash; /* method, URL, query */
    int64_t at_ms;     /* monotonic: claimed, then finished */
    bool done;
    int status;
    const char *content_type; /* static string */
    char *body;
    size_t len;
};
struct web_dedupe {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* an entry finished */
    struct web_dedupe_entry v[WEB_DEDUPE_MAX];
    size_t n;
};
struct web_dedupe_answer {
    int status;
    const char *content_type;
    char *body; /* caller frees */
    size_t len;
};
enum {
    WEB_DEDUPE_NEW = 0,   /* claimed: run it, then web_dedupe_finish */
    WEB_DEDUPE_DONE,      /* ran already: *out is its answer */
    WEB_DEDUPE_BUSY,      /* still running after wait_ms */
    WEB_DEDUPE_CONFLICT,  /* the id names another request */
    WEB_DEDUPE_UNTRACKED, /* no usable id, or the table is full of running ones */
};
int web_dedupe_init(struct web_dedupe *d);
void web_dedupe_release(struct web_dedupe *d);
/* Claims id for the request req_hash, or waits up to wait_ms for the
 * running request of that id and copies its answer. */
int web_dedupe_begin(struct web_dedupe *d,
                     const char *id,
                     uint64_t req_hash,
                     int64_t wait_ms,
                     struct web_dedupe_answer *out);
/* Stores the answer of a claimed id (copied) and wakes its waiters. */
void web_dedupe_finish(struct web_dedupe *d,
                       const char *id,
                       int status,
                       const char *content_type,
                       const char *body,
                       size_t len);
/* Runs a write route's handler once per X-Request-Id (any without one). */
void web_dedupe_serve(struct web_dedupe *d, struct web_req *r, void (*fn)(struct web_req *));
/* The config a handler acts on: the effective one (the replicated recovery
 * settings laid over the file) while the request runs, else the file's. */
const struct orc_config *web_cfg(const struct web_req *r);

/* ---- api_config.c: recovery-config (replicated recovery settings) ---- */
extern const struct web_route web_routes_config[];
extern const size_t web_routes_config_len;
/* ---- api_kv.c: submit-masters-to-kv-stores, kv (internal store reads) ---- */
extern const struct web_route web_routes_kv[];
extern const size_t web_routes_kv_len;

/* ---- api_write.c: replicated writes shared with the other write routes ---- */

/* Submits a replicated command (payload stolen); replies with an error and
 * returns non-zero on failure. */
int web_submit(struct web_req *r, const char *op, json_t *payload);
/* Writes an audit entry through the replicated path (best effort: a failure
 * is logged, not returned); also logs +operator-write. k, cluster may be NULL. */
void web_audit(struct web_req *r,
               const char *type,
               const struct orc_key *k,
               const char *cluster,
               const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));

/* ---- api_more.c, api_metrics.c, api_pools.c, api_unsupported.c ---- */
extern const struct web_route web_routes_more[];
extern const size_t web_routes_more_len;
extern const struct web_route web_routes_metrics[];
extern const size_t web_routes_metrics_len;
/* Max, mean, median and p95 (nearest rank) of v[0..n), which is sorted in
 * place; all 0 when n is 0. */
struct web_metrics_agg {
    double max, mean, median, p95;
};
struct web_metrics_agg web_metrics_aggregate(double *v, size_t n);
extern const struct web_route web_routes_pools[];
extern const size_t web_routes_pools_len;
extern const struct web_route web_routes_unsupported[];
extern const size_t web_routes_unsupported_len;
/* ---- api_semisync.c: enable/disable-semi-sync-master/replica ---- */
extern const struct web_route web_routes_semisync[];
extern const size_t web_routes_semisync_len;

/* ---- api_quorum.c ---- */
extern const struct web_route web_routes_quorum[];
extern const size_t web_routes_quorum_len;
