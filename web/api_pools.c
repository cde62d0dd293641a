/*
 * api_pools: instance pools, as orchestrator's submit-pool-instances,
 * cluster-pool-instances and the heuristic pool routes. A pool is a named
 * set of instances (for example those behind a load balancer); a submission
 * replaces the pool, as a replicated command ("submit-pool-instances"), and
 * members expire after POOL_EXPIRY_S unless submitted again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "web/web_int.h"

#define POOL_EXPIRY_S (60 * 60) /* orchestrator's InstancePoolExpiryMinutes default */
#define POOL_MAX_INSTANCES 4096

static bool need_backend(struct web_req *r)
{
    if (r->deps->be == NULL)
        web_reply_error(r, 503, "the backend is not available");
    return r->deps->be != NULL;
}

/* ?instances=host:port,host:port -> [{"Hostname","Port"}], NULL after replying 400. */
static json_t *parse_instances(struct web_req *r, const char *list)
{
    json_t *arr = json_array();
    int port = (int)r->deps->cfg->DefaultInstancePort;

    while (arr != NULL && list != NULL && *list != '\0') {
        size_t n = strcspn(list, ",");
        char one[ORC_KEY_STRLEN + 8];
        struct orc_key k;
        if (n > 0) {
            if (n >= sizeof(one) || json_array_size(arr) >= POOL_MAX_INSTANCES) {
                web_reply_error(r, 400, "invalid instances: too long or too many");
                json_decref(arr);
                return NULL;
            }
            memcpy(one, list, n);
            one[n] = '\0';
            if (orc_key_parse(one, port, &k) != 0) {
                web_reply_error(r, 400, "invalid instance key: '%s'", one);
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, json_pack("{s:s, s:i}", "Hostname", k.host, "Port", k.port));
        }
        list += n;
        if (*list == ',')
            list++;
    }
    return arr;
}

static void h_submit_pool(struct web_req *r)
{
    const char *pool = web_param(r, 0);
    char msg[300];
    json_t *keys;
    size_t n;

    if (pool[0] == '\0' || strlen(pool) > 128) {
        web_reply_error(r, 400, "invalid pool name");
        return;
    }
    if ((keys = parse_instances(r, web_query(r, "instances"))) == NULL)
        return;
    n = json_array_size(keys);
    if (web_submit(r, "submit-pool-instances",
                   json_pack("{s:s, s:o, s:I}", "Pool", pool, "Instances", keys, "Now",
                             (json_int_t)orc_wall_s())) != 0)
        return;
    web_audit(r, "submit-pool-instances", NULL, NULL, "pool: %s, instances: %zu", pool, n);
    snprintf(msg, sizeof(msg), "Applied %s pool instances", pool);
    web_reply_ok(r, msg, json_string(pool));
}

/* The snapshot index of a pool member when it belongs to cluster c, else -1. */
static int member_of(const struct disc_snapshot *s, int c, const struct be_pool_instance *p)
{
    int at = disc_snapshot_find(s, &p->key);

    return at >= 0 && c >= 0 && disc_snapshot_cluster_of(s, at) == c ? at : -1;
}

/* Members of the pool (NULL: every pool) not expired. */
static int pool_members(struct web_req *r,
                        const char *pool,
                        struct be_pool_list *l,
                        char *err,
                        size_t len)
{
    return be_pool_list(r->deps->be, pool, orc_wall_s() - POOL_EXPIRY_S, l, err, len);
}

/* Details {pool: [InstanceKey]} of the cluster (an unknown cluster has none). */
static void h_cluster_pool_instances(struct web_req *r)
{
    const char *name = web_param(r, 0), *pool = web_param(r, 1);
    struct be_pool_list l = {0};
    char err[ORC_ERRMSG_SIZE] = "", msg[ORC_KEY_STRLEN + 64];
    struct disc_snapshot *s;
    json_t *map;

    if (!need_backend(r) || (s = web_snapshot(r)) == NULL)
        return;
    if (pool_members(r, pool, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read pools: %s", err);
        disc_snapshot_put(s);
        return;
    }
    map = json_object();
    for (size_t i = 0; i < l.n; i++) {
        json_t *arr;
        if (member_of(s, disc_snapshot_cluster(s, name), &l.v[i]) < 0)
            continue;
        arr = json_object_get(map, l.v[i].pool);
        if (arr == NULL) {
            arr = json_array();
            json_object_set_new(map, l.v[i].pool, arr);
        }
        json_array_append_new(
            arr, json_pack("{s:s, s:i}", "Hostname", l.v[i].key.host, "Port", l.v[i].key.port));
    }
    be_pool_list_free(&l);
    disc_snapshot_put(s);
    snprintf(msg, sizeof(msg), "Read pool instances for cluster %s", name);
    web_reply_ok(r, msg, map);
}

/* The pooled instances of the cluster whose last check is valid (index
 * list in *out, caller frees), or -1 after replying. */
static int heuristic_members(struct web_req *r, const struct disc_snapshot *s, size_t **out)
{
    const char *pool = web_param(r, 1);
    struct be_pool_list l = {0};
    char err[ORC_ERRMSG_SIZE] = "";
    size_t *idx, n = 0;
    int c = web_find_cluster(r, s, web_param(r, 0));

    if (c < 0)
        return -1;
    if (pool_members(r, pool, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read pools: %s", err);
        return -1;
    }
    idx = calloc(l.n + 1, sizeof(size_t));
    for (size_t i = 0; idx != NULL && i < l.n; i++) {
        int at = member_of(s, c, &l.v[i]);
        bool dup = at < 0;
        for (size_t j = 0; j < n; j++)
            dup = dup || idx[j] == (size_t)at;
        if (!dup && disc_snapshot_check_valid(s, at))
            idx[n++] = (size_t)at;
    }
    be_pool_list_free(&l);
    if (idx == NULL) {
        web_reply_error(r, 500, "out of memory");
        return -1;
    }
    *out = idx;
    return (int)n;
}

static void h_heuristic_instances(struct web_req *r)
{
    struct disc_snapshot *s;
    struct orc_buf b = ORC_BUF_INIT;
    char msg[ORC_KEY_STRLEN + 64];
    struct web_jw w;
    size_t *idx = NULL;
    int n;

    if (!need_backend(r) || (s = web_snapshot(r)) == NULL)
        return;
    if ((n = heuristic_members(r, s, &idx)) >= 0) {
        web_jw_init(&w, &b);
        web_jw_arr(&w, NULL);
        for (int i = 0; i < n; i++)
            web_json_instance(&w, s, idx[i]);
        web_jw_arr_end(&w);
        snprintf(msg, sizeof(msg), "Heuristic pool instances for cluster %s",
                 s->clusters[disc_snapshot_cluster(s, web_param(r, 0))].name);
        if (w.err != 0)
            web_reply_error(r, 500, "out of memory");
        else
            web_reply_envelope_raw(r, 200, "OK", msg, b.data, b.len);
    }
    free(idx);
    orc_buf_release(&b);
    disc_snapshot_put(s);
}

/* The largest replication lag among the heuristic pool instances. */
static void h_heuristic_lag(struct web_req *r)
{
    struct disc_snapshot *s;
    char msg[ORC_KEY_STRLEN + 64];
    size_t *idx = NULL;
    int64_t lag = 0;
    int n;

    if (!need_backend(r) || (s = web_snapshot(r)) == NULL)
        return;
    if ((n = heuristic_members(r, s, &idx)) >= 0) {
        for (int i = 0; i < n; i++) {
            const struct disc_nullint *l = &s->instances[idx[i]]->replication_lag_seconds;
            if (l->valid && l->value > lag)
                lag = l->value;
        }
        snprintf(msg, sizeof(msg), "Heuristic pool lag for cluster %s",
                 s->clusters[disc_snapshot_cluster(s, web_param(r, 0))].name);
        web_reply_ok(r, msg, json_integer(lag));
    }
    free(idx);
    disc_snapshot_put(s);
}

const struct web_route web_routes_pools[] = {
    {"submit-pool-instances/:pool", h_submit_pool, WEB_WRITE},
    {"cluster-pool-instances/:clusterName", h_cluster_pool_instances, WEB_READ},
    {"cluster-pool-instances/:clusterName/:pool", h_cluster_pool_instances, WEB_READ},
    {"heuristic-cluster-pool-instances/:clusterName", h_heuristic_instances, WEB_READ},
    {"heuristic-cluster-pool-instances/:clusterName/:pool", h_heuristic_instances, WEB_READ},
    {"heuristic-cluster-pool-lag/:clusterName", h_heuristic_lag, WEB_READ},
    {"heuristic-cluster-pool-lag/:clusterName/:pool", h_heuristic_lag, WEB_READ},
};
const size_t web_routes_pools_len = ORC_ARRAY_LEN(web_routes_pools);
