/*
 * api_more: the rest of orchestrator's read and operation routes:
 * topology-tags, untag-all, refresh, reelect, grab-election, bulk-instances,
 * bulk-promotion-rules, cluster-osc-slaves, headers, resolve, the hostname
 * resolve cache routes, snapshot-topologies, and the routes whose feature is
 * not kept here (replication-analysis-changelog, hostname unresolve,
 * raft-follower-health-report, reload-cluster-alias), which answer a clear
 * error saying why.
 *
 * Replicated changes (untag-all) go through web_submit as FSM commands, and
 * each is audited through the replicated path (web_audit).
 */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "web/web_int.h"

static json_t *key_json(const struct orc_key *k)
{
    return json_pack("{s:s, s:i}", "Hostname", k->host, "Port", k->port);
}

static bool need_backend(struct web_req *r)
{
    if (r->deps->be == NULL)
        web_reply_error(r, 503, "the backend is not available");
    return r->deps->be != NULL;
}

static void reply_buf(struct web_req *r, struct orc_buf *b, int err)
{
    if (err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_raw(r, 200, WEB_JSON, orc_buf_str(b), b->len);
    orc_buf_release(b);
}

/* ---- topology-tags ---- */

/* "a,b=c" for every instance of cluster c that has tags (NULL otherwise),
 * parallel to s->instances. */
static int instance_tags(struct web_req *r, const struct disc_snapshot *s, int c, char ***out)
{
    const struct disc_cluster *cl = &s->clusters[c];
    char **tags = calloc(s->n ? s->n : 1, sizeof(char *));
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = tags ? 0 : ORC_ENOMEM;

    for (size_t i = cl->first; rc == 0 && i < cl->first + cl->count; i++) {
        struct be_tag_list l = {0};
        struct orc_buf b = ORC_BUF_INIT;
        rc = be_tag_list(r->deps->be, &s->instances[i]->key, &l, err, sizeof(err));
        for (size_t t = 0; rc == 0 && t < l.n; t++)
            orc_buf_printf(&b, "%s%s%s%s", t ? "," : "", l.v[t].name, l.v[t].value[0] ? "=" : "",
                           l.v[t].value);
        if (b.len > 0)
            tags[i] = orc_buf_detach(&b);
        orc_buf_release(&b);
        be_tag_list_free(&l);
    }
    *out = tags;
    return rc;
}

static void free_tags(char **tags, size_t n)
{
    for (size_t i = 0; tags && i < n; i++)
        free(tags[i]);
    free(tags);
}

static void topology_tags(struct web_req *r, bool by_instance)
{
    struct disc_snapshot *s;
    struct orc_buf text = ORC_BUF_INIT, details = ORC_BUF_INIT;
    struct web_jw w;
    char msg[ORC_KEY_STRLEN + 32], **tags = NULL;
    struct orc_key k;
    int c, i;

    if (!need_backend(r) || (s = web_snapshot(r)) == NULL)
        return;
    if (by_instance) {
        i = web_find_instance(r, s, 0, &k, true);
        c = i < 0 ? -1 : disc_snapshot_cluster_of(s, i);
        if (i >= 0 && c < 0)
            web_reply_error(r, 404, "no cluster for instance '%s:%d'", k.host, k.port);
    } else {
        c = web_find_cluster(r, s, web_param(r, 0));
    }
    if (c >= 0 && instance_tags(r, s, c, &tags) != 0) {
        web_reply_error(r, 500, "read tags failed");
    } else if (c >= 0) {
        if (web_topology_text_tags(s, (size_t)c, false, (const char *const *)tags, &text) != 0) {
            web_reply_error(r, 500, "out of memory");
        } else {
            web_jw_init(&w, &details);
            web_jw_str(&w, NULL, orc_buf_str(&text));
            snprintf(msg, sizeof(msg), "Topology for cluster %s", s->clusters[c].name);
            web_reply_envelope_raw(r, 200, "OK", msg, details.data, details.len);
        }
    }
    free_tags(tags, s->n);
    orc_buf_release(&text);
    orc_buf_release(&details);
    disc_snapshot_put(s);
}

static void h_topology_tags(struct web_req *r)
{
    topology_tags(r, false);
}

static void h_topology_tags_instance(struct web_req *r)
{
    topology_tags(r, true);
}

/* ---- untag-all ---- */

/* untag-all?tag=name[=value] or untag-all/:tagName/:tagValue: the tag leaves
 * every instance that has it (with that value, when one is given). */
static void h_untag_all(struct web_req *r)
{
    char buf[512], err[ORC_ERRMSG_SIZE] = "", msg[600];
    const char *name = web_param(r, 0), *value = web_param(r, 1);
    struct be_tag_list l = {0};
    json_t *keys;

    if (name == NULL) {
        const char *q = web_query(r, "tag");
        char *eq;
        if (q == NULL || *q == '\0' || *q == '=' || orc_strlcpy(buf, q, sizeof(buf)) != 0) {
            web_reply_error(r, 400, "missing or invalid ?tag=<name>[=<value>]");
            return;
        }
        eq = strchr(buf, '=');
        if (eq != NULL)
            *eq = '\0';
        name = buf;
        value = eq ? eq + 1 : NULL;
    }
    if (!need_backend(r))
        return;
    if (be_tag_find(r->deps->be, name, value, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read tags: %s", err);
        return;
    }
    keys = json_array();
    for (size_t i = 0; i < l.n; i++) {
        if (web_submit(r, "delete-instance-tag",
                       json_pack("{s:o, s:s}", "Key", key_json(&l.v[i].key), "TagName", name)) !=
            0) {
            json_decref(keys);
            be_tag_list_free(&l);
            return;
        }
        web_audit(r, "untag", &l.v[i].key, NULL, "%s", name);
        json_array_append_new(keys, key_json(&l.v[i].key));
    }
    be_tag_list_free(&l);
    snprintf(msg, sizeof(msg), "%s removed from %zu instances", name, json_array_size(keys));
    web_reply_ok(r, msg, keys);
}

/* ---- refresh ---- */

/* Probes a known instance now, on this node, and answers once the result is
 * in the topology. */
static void h_refresh(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    char err[ORC_ERRMSG_SIZE] = "", ks[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 32];
    struct orc_key k;
    int i;

    if (s == NULL)
        return;
    i = web_find_instance(r, s, 0, &k, true);
    disc_snapshot_put(s);
    if (i < 0)
        return;
    if (disc_topo_discover(r->deps->topo, &k, true, NULL, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "refresh %s: %s", orc_key_str(&k, ks, sizeof(ks)), err);
        return;
    }
    snprintf(msg, sizeof(msg), "Instance refreshed: %s", orc_key_str(&k, ks, sizeof(ks)));
    web_reply_ok(r, msg, key_json(&k));
}

/* ---- elections ---- */

/* Without raft this node is always the active one (there is no shared
 * election to grab); with raft, leadership comes from votes only. */
static void h_grab_election(struct web_req *r)
{
    if (r->deps->raft != NULL) {
        web_reply_error(r, 409, "Unable to grab election: Cannot GrabElection on raft setup");
        return;
    }
    web_audit(r, "grab-election", NULL, NULL, "%s", "node is the active node (no raft)");
    web_reply_ok(r, "Node elected as leader", NULL);
}

/* With raft the leader hands leadership to another voter; without raft the
 * single node stays the active one. */
static void h_reelect(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (r->deps->raft != NULL) {
        rc = r->deps->raft->yield(r->deps->raft_ctx, NULL, err, sizeof(err));
        if (rc != 0) {
            web_reply_error(r, rc == ORC_EINVAL ? 400 : 503, "Unable to re-elect: %s", err);
            return;
        }
    }
    web_audit(r, "reelect", NULL, NULL, "%s",
              r->deps->raft ? "leadership handed over" : "single node stays active");
    web_reply_ok(r, "Set re-elections", NULL);
}

/* ---- bulk reads ---- */

static void h_bulk_instances(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    if (s == NULL)
        return;
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < s->n; i++)
        if (web_instance_visible(s, i))
            web_jw_key(&w, NULL, &s->instances[i]->key);
    web_jw_arr_end(&w);
    disc_snapshot_put(s);
    reply_buf(r, &b, w.err);
}

static void jw_datetime(struct web_jw *w, const char *key, int64_t t)
{
    char out[32] = "";
    struct tm tm;
    time_t tt = (time_t)t;

    if (t > 0 && gmtime_r(&tt, &tm) != NULL)
        strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S", &tm);
    web_jw_str(w, key, out);
}

/* orchestrator's CandidateDatabaseInstance of every rule not expired. */
static void h_bulk_promotion_rules(struct web_req *r)
{
    int64_t ttl = r->deps->cfg->CandidateInstanceExpireMinutes * 60;
    struct be_candidate_list l = {0};
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    if (!need_backend(r))
        return;
    if (be_candidate_list(r->deps->be, orc_wall_s() - ttl, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read promotion rules: %s", err);
        return;
    }
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++) {
        web_jw_obj(&w, NULL);
        web_jw_str(&w, "Hostname", l.v[i].key.host);
        web_jw_int(&w, "Port", l.v[i].key.port);
        web_jw_str(&w, "PromotionRule", l.v[i].promotion_rule);
        jw_datetime(&w, "LastSuggestedString", l.v[i].last_suggested);
        jw_datetime(&w, "PromotionRuleExpiry", l.v[i].last_suggested + ttl);
        web_jw_obj_end(&w);
    }
    web_jw_arr_end(&w);
    be_candidate_list_free(&l);
    reply_buf(r, &b, w.err);
}

/* ---- cluster-osc-slaves ---- */

static size_t count_replicas(const struct disc_snapshot *s, size_t i)
{
    size_t n = 0;

    for (size_t j = 0; j < s->n; j++)
        n += j != i && orc_key_eq(&s->instances[j]->master_key, &s->instances[i]->key);
    return n;
}

/* Up to max instances of the cluster matching depth (and, for depth 1,
 * having replicas or not; master: only its replicas), busiest first, last
 * check valid, not yet picked. */
static void osc_pick(const struct disc_snapshot *s,
                     const struct disc_cluster *cl,
                     int depth,
                     int with_replicas,
                     const struct orc_key *master,
                     size_t max,
                     bool *picked,
                     size_t *order,
                     size_t *norder)
{
    for (size_t taken = 0; taken < max; taken++) {
        size_t best = SIZE_MAX, best_n = 0;
        for (size_t i = cl->first; i < cl->first + cl->count; i++) {
            const struct disc_instance *in = s->instances[i];
            size_t nrep = count_replicas(s, i);
            if (picked[i - cl->first] || !web_instance_visible(s, i) ||
                !disc_snapshot_check_valid(s, (int)i))
                continue;
            if (master ? !orc_key_eq(&in->master_key, master) : in->replication_depth != depth)
                continue;
            if (with_replicas >= 0 && (nrep > 0) != (with_replicas == 1))
                continue;
            if (best == SIZE_MAX || nrep > best_n)
                best = i, best_n = nrep;
        }
        if (best == SIZE_MAX)
            return;
        picked[best - cl->first] = true;
        order[(*norder)++] = best;
    }
}

/* orchestrator's heuristic: up to two busiest intermediate masters, replicas
 * of them, up to two third-tier replicas, then up to two first-tier leaves. */
static void h_cluster_osc_replicas(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    size_t *order = NULL, n = 0, nim;
    bool *picked = NULL;
    int c;

    if (s == NULL)
        return;
    if ((c = web_find_cluster(r, s, web_param(r, 0))) < 0) {
        disc_snapshot_put(s);
        return;
    }
    const struct disc_cluster *cl = &s->clusters[c];
    picked = calloc(cl->count + 1, sizeof(bool));
    order = calloc(cl->count + 1, sizeof(size_t));
    if (picked != NULL && order != NULL) {
        osc_pick(s, cl, 1, 1, NULL, 2, picked, order, &n);
        nim = n;
        for (size_t m = 0; m < nim; m++)
            osc_pick(s, cl, 0, -1, &s->instances[order[m]]->key, nim == 1 ? 2 : 1, picked, order,
                     &n);
        osc_pick(s, cl, 3, -1, NULL, 2, picked, order, &n);
        osc_pick(s, cl, 1, 0, NULL, 2, picked, order, &n);
    }
    web_jw_init(&w, &b);
    if (picked == NULL || order == NULL)
        w.err = ORC_ENOMEM;
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < n; i++)
        web_json_instance(&w, s, order[i]);
    web_jw_arr_end(&w);
    free(picked);
    free(order);
    disc_snapshot_put(s);
    reply_buf(r, &b, w.err);
}

/* ---- headers, resolve ---- */

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    json_t *obj = cls, *arr;
    bool secret = strcasecmp(k, "Authorization") == 0 || strcasecmp(k, "Cookie") == 0 ||
                  strcasecmp(k, "Proxy-Authorization") == 0;

    (void)kind;
    arr = json_object_get(obj, k);
    if (arr == NULL) {
        arr = json_array();
        json_object_set_new(obj, k, arr);
    }
    json_array_append_new(arr, json_string(secret ? "(redacted)" : (v ? v : "")));
    return MHD_YES;
}

/* The request's headers, as orchestrator's self-test answers them, with
 * credentials redacted. */
static void h_headers(struct web_req *r)
{
    json_t *obj = json_object();

    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_header, obj);
    web_reply_json(r, 200, obj);
}

/* 0 when a TCP connection to host:port opens within timeout_ms. */
static int tcp_check(const char *host, int port, int timeout_ms, char *err, size_t len)
{
    struct addrinfo hints, *ai = NULL;
    char ports[16];
    int rc, fd = -1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    snprintf(ports, sizeof(ports), "%d", port);
    if ((rc = getaddrinfo(host, ports, &hints, &ai)) != 0) {
        orc_errf(err, len, "lookup '%s': %s", host, gai_strerror(rc));
        return ORC_ENOTFOUND;
    }
    rc = ORC_EIO;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)) {
        struct pollfd p = {fd, POLLOUT, 0};
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (poll(&p, 1, timeout_ms) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
            rc = 0;
        else
            orc_errf(err, len, "dial tcp %s:%d: %s", host, port,
                     soerr ? strerror(soerr) : "timed out");
    } else {
        orc_errf(err, len, "dial tcp %s:%d: %s", host, port, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

/* resolve/:host/:port: the name resolves and the port accepts connections
 * (a TCP connection to an address the caller names: users who may write). */
static void h_resolve(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_key k;

    if (web_param_key(r, 0, &k) != 0)
        return;
    if (tcp_check(k.host, k.port, (int)r->deps->cfg->MySQLConnectTimeoutSeconds * 1000, err,
                  sizeof(err)) != 0) {
        web_reply_error(r, 422, "%s", err);
        return;
    }
    web_reply_ok(r, "Instance resolved", key_json(&k));
}

/* ---- hostname resolving ---- */

/* HostnameResolveMethod is "none" or "default" (both keep names as they are;
 * "cname" and "ip" are refused when the config loads): nothing is ever
 * resolved, so the cache is always empty. */
static void h_resolve_cache(struct web_req *r)
{
    web_reply_ok(r, "Cache retrieved", json_object());
}

static void h_reset_resolve_cache(struct web_req *r)
{
    web_reply_ok(r, "Hostname cache cleared", NULL);
}

static void h_hostname_unresolve(struct web_req *r)
{
    struct orc_key k;

    if (web_param_key(r, 0, &k) != 0)
        return;
    web_reply_error(r, 501,
                    "hostname unresolve is not supported: host names are never resolved here "
                    "(HostnameResolveMethod '%s'), so an instance is known by the name it was "
                    "found at and there is nothing to unresolve",
                    r->deps->cfg->HostnameResolveMethod);
}

/* ---- features not kept here ---- */

/* snapshot-topologies: this node's view of every instance's master, kept
 * AuditPurgeDays days (reading it back, orchestrator's history pattern of
 * topology, is not offered). */
static void h_snapshot_topologies(struct web_req *r)
{
    int64_t t0 = orc_mono_ms(), count = 0;
    int64_t purge = orc_wall_s() - r->deps->cfg->AuditPurgeDays * 86400;
    char err[ORC_ERRMSG_SIZE] = "", took[64];

    if (r->deps->topo == NULL) {
        web_reply_error(r, 503, "discovery is not running");
        return;
    }
    if (disc_topo_snapshot_topologies(r->deps->topo, purge, &count, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "%s", err);
        return;
    }
    web_audit(r, "snapshot-topologies", NULL, NULL, "%lld instances recorded", (long long)count);
    snprintf(took, sizeof(took), "Took %lldms", (long long)(orc_mono_ms() - t0));
    web_reply_ok(r, "Topology Snapshot completed", json_string(took));
}

static void h_analysis_changelog(struct web_req *r)
{
    web_reply_error(r, 501,
                    "replication-analysis-changelog: analysis changes are not recorded here; "
                    "detected failures are in audit-failure-detection");
}

static void h_reload_cluster_alias(struct web_req *r)
{
    web_reply_error(r, 410, "This API call has been retired");
}

static void h_follower_health_report(struct web_req *r)
{
    if (r->deps->raft == NULL)
        web_reply_error(r, 409, "raft-state: not running with raft setup");
    else
        web_reply_error(r, 501,
                        "raft-follower-health-report: followers' health comes from raft "
                        "itself here; reports are not used");
}

const struct web_route web_routes_more[] = {
    {"topology-tags/:clusterHint", h_topology_tags, WEB_READ},
    {"topology-tags/:host/:port", h_topology_tags_instance, WEB_READ},
    {"untag-all", h_untag_all, WEB_WRITE},
    {"untag-all/:tagName/:tagValue", h_untag_all, WEB_WRITE},
    {"refresh/:host/:port", h_refresh, WEB_WRITE},
    {"grab-election", h_grab_election, WEB_WRITE | WEB_NOPROXY},
    {"reelect", h_reelect, WEB_WRITE},
    {"bulk-instances", h_bulk_instances, WEB_READ},
    {"bulk-promotion-rules", h_bulk_promotion_rules, WEB_READ},
    {"cluster-osc-slaves/:clusterHint", h_cluster_osc_replicas, WEB_READ},
    {"cluster-osc-replicas/:clusterHint", h_cluster_osc_replicas, WEB_READ},
    {"headers", h_headers, WEB_READ | WEB_NOPROXY},
    /* it opens a TCP connection to any address: only for users who may write */
    {"resolve/:host/:port", h_resolve, WEB_WRITE | WEB_NOPROXY},
    {"hostname-resolve-cache", h_resolve_cache, WEB_READ | WEB_NOPROXY},
    {"reset-hostname-resolve-cache", h_reset_resolve_cache, WEB_WRITE | WEB_NOPROXY},
    {"register-hostname-unresolve/:host/:port/:virtualname", h_hostname_unresolve, WEB_WRITE},
    {"deregister-hostname-unresolve/:host/:port", h_hostname_unresolve, WEB_WRITE},
    {"snapshot-topologies", h_snapshot_topologies, WEB_WRITE},
    {"replication-analysis-changelog", h_analysis_changelog, WEB_READ},
    {"reload-cluster-alias", h_reload_cluster_alias, WEB_WRITE},
    {"raft-follower-health-report/:authenticationToken/:raftBind/:raftAdvertise",
     h_follower_health_report, WEB_WRITE | WEB_NOPROXY},
};
const size_t web_routes_more_len = ORC_ARRAY_LEN(web_routes_more);
