/*
 * api_read: orchestrator's read routes over the live topology and the
 * backend: instances, clusters, masters, search, the ASCII topology,
 * problems, downtimes, maintenance, tags, audit and the recovery filters.
 *
 * Instances and clusters are served from the topology's immutable snapshot.
 * The hot routes (instance, cluster, clusters, clusters-info, all-instances)
 * keep their serialized body per snapshot version in a small cache, so a
 * repeated request copies bytes instead of rebuilding JSON.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "web/web_int.h"

/* ---- the body cache ----
 * One per server (struct web_read_cache in web_int.h), keyed by (topology,
 * snapshot version, route and argument). Entries of an older version are
 * simply overwritten. */

void web_read_cache_init(struct web_read_cache *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
}

void web_read_cache_release(struct web_read_cache *c)
{
    for (size_t i = 0; i < WEB_CACHE_SLOTS; i++)
        free(c->slot[i].data);
    pthread_mutex_destroy(&c->lock);
}

static bool cache_reply(struct web_req *r, const struct disc_snapshot *s, const char *key)
{
    struct web_read_cache *cache = web_read_cache_of(r);
    bool hit = false;

    pthread_mutex_lock(&cache->lock);
    for (size_t i = 0; i < WEB_CACHE_SLOTS; i++) {
        struct web_cache_slot *c = &cache->slot[i];
        if (c->data != NULL && c->topo == r->deps->topo && c->version == s->version &&
            c->taken_ms == s->taken_ms && strcmp(c->key, key) == 0) {
            web_reply_raw(r, 200, WEB_JSON, c->data, c->len);
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    return hit;
}

static void cache_store(struct web_req *r,
                        const struct disc_snapshot *s,
                        const char *key,
                        const struct orc_buf *b)
{
    struct web_read_cache *cache = web_read_cache_of(r);
    struct web_cache_slot *victim = NULL;
    char *copy = malloc(b->len + 1);

    if (copy == NULL)
        return;
    memcpy(copy, b->data, b->len);
    copy[b->len] = '\0';
    pthread_mutex_lock(&cache->lock);
    for (size_t i = 0; i < WEB_CACHE_SLOTS && victim == NULL; i++)
        if (strcmp(cache->slot[i].key, key) == 0 && cache->slot[i].topo == r->deps->topo)
            victim = &cache->slot[i];
    for (size_t i = 0; i < WEB_CACHE_SLOTS && victim == NULL; i++)
        if (cache->slot[i].data == NULL || cache->slot[i].version != s->version ||
            cache->slot[i].topo != r->deps->topo)
            victim = &cache->slot[i];
    if (victim == NULL)
        victim = &cache->slot[cache->next++ % WEB_CACHE_SLOTS];
    if (victim->topo == r->deps->topo && victim->version > s->version &&
        strcmp(victim->key, key) == 0) {
        free(copy); /* a newer body is already there */
    } else {
        free(victim->data);
        victim->topo = r->deps->topo;
        victim->version = s->version;
        victim->taken_ms = s->taken_ms;
        orc_strlcpy(victim->key, key, sizeof(victim->key));
        victim->data = copy;
        victim->len = b->len;
    }
    pthread_mutex_unlock(&cache->lock);
}

/* Replies with the writer's buffer (200), caching it under key if not NULL. */
static void reply_buf(struct web_req *r,
                      const struct disc_snapshot *s,
                      const char *key,
                      struct web_jw *w)
{
    if (w->err != 0) {
        web_reply_error(r, 500, "out of memory");
        return;
    }
    if (key != NULL)
        cache_store(r, s, key, w->b);
    web_reply_raw(r, 200, WEB_JSON, w->b->data, w->b->len);
}

/* ---- lookups ---- */

struct disc_snapshot *web_snapshot(struct web_req *r)
{
    struct disc_snapshot *s;

    if (r->deps->topo == NULL) {
        web_reply_error(r, 503, "discovery is not running");
        return NULL;
    }
    s = disc_topo_snapshot_recent(r->deps->topo, DISC_SNAPSHOT_RECENT_MS);
    if (s == NULL)
        web_reply_error(r, 500, "cannot read the topology: out of memory");
    return s;
}

static bool is_ipv4(const char *host)
{
    struct in_addr a;

    return inet_pton(AF_INET, host, &a) == 1;
}

static int fuzzy_find(const struct disc_snapshot *s, const struct orc_key *key)
{
    int found = -1;

    if (is_ipv4(key->host))
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        const struct orc_key *k = &s->instances[i]->key;
        if (!web_instance_visible(s, i))
            continue;
        if (k->port == key->port && strstr(k->host, key->host) != NULL) {
            if (found >= 0)
                return -1; /* ambiguous */
            found = (int)i;
        }
    }
    return found;
}

int web_find_instance(struct web_req *r,
                      const struct disc_snapshot *s,
                      int pi,
                      struct orc_key *key,
                      bool reply)
{
    char ks[ORC_KEY_STRLEN];
    int i;

    if (orc_key_from(web_param(r, pi), web_param(r, pi + 1), key) != 0) {
        if (reply)
            web_reply_error(r, 400, "invalid instance key: '%s:%s'",
                            web_param(r, pi) ? web_param(r, pi) : "",
                            web_param(r, pi + 1) ? web_param(r, pi + 1) : "");
        return -1;
    }
    i = disc_snapshot_find(s, key);
    if (i >= 0 && !web_instance_visible(s, (size_t)i))
        i = -1;
    if (i < 0)
        i = fuzzy_find(s, key);
    if (i >= 0)
        *key = s->instances[i]->key;
    else if (reply)
        web_reply_error(r, 404, "instance '%s' not found", orc_key_str(key, ks, sizeof(ks)));
    return i;
}

static bool cluster_visible(const struct disc_snapshot *s, size_t c)
{
    for (size_t i = s->clusters[c].first; i < s->clusters[c].first + s->clusters[c].count; i++)
        if (web_instance_visible(s, i))
            return true;
    return false;
}

int web_find_cluster(struct web_req *r, const struct disc_snapshot *s, const char *hint)
{
    int c = hint ? disc_snapshot_cluster(s, hint) : -1;
    struct orc_key k;

    if (c < 0 && hint != NULL &&
        orc_key_parse(hint, (int)r->deps->cfg->DefaultInstancePort, &k) == 0) {
        int i = disc_snapshot_find(s, &k);
        if (i < 0)
            i = fuzzy_find(s, &k);
        c = disc_snapshot_cluster_of(s, i);
    }
    if (c >= 0 && !cluster_visible(s, (size_t)c))
        c = -1;
    if (c < 0)
        web_reply_error(r, 404, "cluster '%s' not found", hint ? hint : "");
    return c;
}

/* The cluster's master: depth 0 or co-master, writable first, then by depth. */
static int cluster_master(const struct disc_snapshot *s, size_t c, bool writable_only)
{
    const struct disc_cluster *cl = &s->clusters[c];
    int best = -1;

    for (size_t i = cl->first; i < cl->first + cl->count; i++) {
        const struct disc_instance *in = s->instances[i];
        const struct disc_instance *b = best >= 0 ? s->instances[best] : NULL;
        if (!web_instance_visible(s, i) || (in->replication_depth != 0 && !in->is_co_master))
            continue;
        if (writable_only && in->read_only)
            continue;
        if (b == NULL || (b->read_only && !in->read_only) ||
            (b->read_only == in->read_only && in->replication_depth < b->replication_depth))
            best = (int)i;
    }
    return best;
}

/* ---- instance lists ---- */

typedef bool (*inst_pred)(const struct disc_snapshot *s, size_t i, const void *ctx);

static void reply_instances(struct web_req *r,
                            const struct disc_snapshot *s,
                            size_t from,
                            size_t to,
                            inst_pred pred,
                            const void *ctx,
                            const char *cache_key)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    if (cache_key != NULL && cache_reply(r, s, cache_key))
        return;
    web_jw_init(&w, &b);
    orc_buf_reserve(&b, (to - from) * 3072 + 2);
    web_jw_arr(&w, NULL);
    for (size_t i = from; i < to; i++)
        if (web_instance_visible(s, i) && (pred == NULL || pred(s, i, ctx)))
            web_json_instance(&w, s, i);
    web_jw_arr_end(&w);
    reply_buf(r, s, cache_key, &w);
    orc_buf_release(&b);
}

static void h_instance(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    struct orc_key k;
    char key[WEB_CACHE_KEY_MAX] = "i:";
    int i;

    if (s == NULL)
        return;
    i = web_find_instance(r, s, 0, &k, true);
    if (i >= 0) {
        orc_key_str(&k, key + 2, sizeof(key) - 2);
        if (!cache_reply(r, s, key)) {
            struct orc_buf b = ORC_BUF_INIT;
            struct web_jw w;
            web_jw_init(&w, &b);
            web_json_instance(&w, s, (size_t)i);
            reply_buf(r, s, key, &w);
            orc_buf_release(&b);
        }
    }
    disc_snapshot_put(s);
}

static bool pred_master_is(const struct disc_snapshot *s, size_t i, const void *ctx)
{
    return orc_key_eq(&s->instances[i]->master_key, ctx);
}

static void h_instance_replicas(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    struct orc_key k;

    if (s == NULL)
        return;
    if (web_find_instance(r, s, 0, &k, true) >= 0)
        reply_instances(r, s, 0, s->n, pred_master_is, &k, NULL);
    disc_snapshot_put(s);
}

static void reply_cluster(struct web_req *r, const struct disc_snapshot *s, int c)
{
    char key[WEB_CACHE_KEY_MAX] = "c:";

    if (c < 0)
        return;
    orc_strlcpy(key + 2, s->clusters[c].name, sizeof(key) - 2);
    reply_instances(r, s, s->clusters[c].first, s->clusters[c].first + s->clusters[c].count, NULL,
                    NULL, key);
}

static int find_alias(struct web_req *r, const struct disc_snapshot *s, const char *alias)
{
    for (size_t c = 0; c < s->nclusters; c++)
        if (strcmp(s->clusters[c].alias, alias) == 0 && cluster_visible(s, c))
            return (int)c;
    web_reply_error(r, 404, "cluster with alias '%s' not found", alias);
    return -1;
}

static int find_cluster_of_instance(struct web_req *r, const struct disc_snapshot *s)
{
    struct orc_key k;
    int i = web_find_instance(r, s, 0, &k, true);

    return i < 0 ? -1 : disc_snapshot_cluster_of(s, i);
}

static void h_cluster(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);

    if (s == NULL)
        return;
    reply_cluster(r, s, web_find_cluster(r, s, web_param(r, 0)));
    disc_snapshot_put(s);
}

static void h_cluster_alias(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);

    if (s == NULL)
        return;
    reply_cluster(r, s, find_alias(r, s, web_param(r, 0)));
    disc_snapshot_put(s);
}

static void h_cluster_instance(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);

    if (s == NULL)
        return;
    reply_cluster(r, s, find_cluster_of_instance(r, s));
    disc_snapshot_put(s);
}

static void h_all_instances(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);

    if (s == NULL)
        return;
    reply_instances(r, s, 0, s->n, NULL, NULL, "all");
    disc_snapshot_put(s);
}

/* ---- clusters ---- */

static void reply_cluster_info(struct web_req *r, const struct disc_snapshot *s, int c)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    if (c < 0)
        return;
    web_jw_init(&w, &b);
    web_json_cluster_info(&w, s, (size_t)c, web_cfg(r));
    reply_buf(r, s, NULL, &w);
    orc_buf_release(&b);
}

static void h_cluster_info(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);

    if (s == NULL)
        return;
    reply_cluster_info(r, s, web_find_cluster(r, s, web_param(r, 0)));
    disc_snapshot_put(s);
}

static void h_cluster_info_alias(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);

    if (s == NULL)
        return;
    reply_cluster_info(r, s, find_alias(r, s, web_param(r, 0)));
    disc_snapshot_put(s);
}

static void h_clusters(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    if (s == NULL)
        return;
    if (!cache_reply(r, s, "clusters")) {
        web_jw_init(&w, &b);
        web_jw_arr(&w, NULL);
        for (size_t c = 0; c < s->nclusters; c++)
            if (cluster_visible(s, c))
                web_jw_str(&w, NULL, s->clusters[c].name);
        web_jw_arr_end(&w);
        reply_buf(r, s, "clusters", &w);
    }
    orc_buf_release(&b);
    disc_snapshot_put(s);
}

static void h_clusters_info(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    if (s == NULL)
        return;
    if (!cache_reply(r, s, "clusters-info")) {
        web_jw_init(&w, &b);
        web_jw_arr(&w, NULL);
        for (size_t c = 0; c < s->nclusters; c++)
            if (cluster_visible(s, c))
                web_json_cluster_info(&w, s, c, web_cfg(r));
        web_jw_arr_end(&w);
        reply_buf(r, s, "clusters-info", &w);
    }
    orc_buf_release(&b);
    disc_snapshot_put(s);
}

static void h_masters(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    if (s == NULL)
        return;
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t c = 0; c < s->nclusters; c++) {
        int m = cluster_master(s, c, true);
        if (m >= 0)
            web_json_instance(&w, s, (size_t)m);
    }
    web_jw_arr_end(&w);
    reply_buf(r, s, NULL, &w);
    orc_buf_release(&b);
    disc_snapshot_put(s);
}

static void h_master(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    int c, m;

    if (s == NULL)
        return;
    c = web_find_cluster(r, s, web_param(r, 0));
    m = c >= 0 ? cluster_master(s, (size_t)c, false) : -1;
    if (c >= 0 && m < 0) {
        web_reply_error(r, 404, "no master found for cluster '%s'", s->clusters[c].name);
    } else if (m >= 0) {
        struct orc_buf b = ORC_BUF_INIT;
        struct web_jw w;
        web_jw_init(&w, &b);
        web_json_instance(&w, s, (size_t)m);
        reply_buf(r, s, NULL, &w);
        orc_buf_release(&b);
    }
    disc_snapshot_put(s);
}

/* ---- search, problems, downtimed ---- */

static bool pred_search(const struct disc_snapshot *s, size_t i, const void *ctx)
{
    const struct disc_instance *in = s->instances[i];
    const char *q = ctx;
    char ks[ORC_KEY_STRLEN];
    int64_t num;

    if (strcasestr(in->key.host, q) || strcasestr(in->cluster_name, q) ||
        strcasestr(in->version, q) || strcasestr(in->version_comment, q) ||
        strcasestr(orc_key_str(&in->key, ks, sizeof(ks)), q) ||
        strcasestr(in->suggested_cluster_alias, q))
        return true;
    return orc_parse_int64(q, INT64_MIN, INT64_MAX, &num) == 0 &&
           (num == in->server_id || num == in->key.port);
}

static void search(struct web_req *r, const char *q)
{
    struct disc_snapshot *s = web_snapshot(r);

    if (s == NULL)
        return;
    reply_instances(r, s, 0, s->n, pred_search, q ? q : "", NULL);
    disc_snapshot_put(s);
}

static void h_search(struct web_req *r)
{
    search(r, web_param(r, 0));
}

static void h_search_query(struct web_req *r)
{
    search(r, web_query(r, "s"));
}

static bool pred_problem(const struct disc_snapshot *s, size_t i, const void *ctx)
{
    const char *problems[8];

    (void)ctx;
    return !s->annots[i].downtimed && web_instance_problems(s, i, problems) > 0;
}

static bool pred_downtimed(const struct disc_snapshot *s, size_t i, const void *ctx)
{
    (void)ctx;
    return s->annots[i].downtimed;
}

/* Instances of the cluster in param 0 (all when there is no param). */
static void reply_filtered(struct web_req *r, inst_pred pred)
{
    struct disc_snapshot *s = web_snapshot(r);
    const char *hint = web_param(r, 0);
    int c;

    if (s == NULL)
        return;
    if (hint == NULL || *hint == '\0') {
        reply_instances(r, s, 0, s->n, pred, NULL, NULL);
    } else if ((c = web_find_cluster(r, s, hint)) >= 0) {
        reply_instances(r, s, s->clusters[c].first, s->clusters[c].first + s->clusters[c].count,
                        pred, NULL, NULL);
    }
    disc_snapshot_put(s);
}

static void h_problems(struct web_req *r)
{
    reply_filtered(r, pred_problem);
}

static void h_downtimed(struct web_req *r)
{
    reply_filtered(r, pred_downtimed);
}

/* ---- topology text ---- */

static void topology(struct web_req *r, bool by_instance, bool tabulated)
{
    struct disc_snapshot *s = web_snapshot(r);
    struct orc_buf text = ORC_BUF_INIT, details = ORC_BUF_INIT;
    struct web_jw w;
    char msg[ORC_KEY_STRLEN + 32];
    int c;

    if (s == NULL)
        return;
    c = by_instance ? find_cluster_of_instance(r, s) : web_find_cluster(r, s, web_param(r, 0));
    if (c >= 0) {
        if (web_topology_text(s, (size_t)c, tabulated, &text) != 0) {
            web_reply_error(r, 500, "out of memory");
        } else {
            web_jw_init(&w, &details);
            web_jw_str(&w, NULL, orc_buf_str(&text));
            snprintf(msg, sizeof(msg), "Topology for cluster %s", s->clusters[c].name);
            web_reply_envelope_raw(r, 200, "OK", msg, details.data, details.len);
        }
    }
    orc_buf_release(&text);
    orc_buf_release(&details);
    disc_snapshot_put(s);
}

static void h_topology(struct web_req *r)
{
    topology(r, false, false);
}

static void h_topology_instance(struct web_req *r)
{
    topology(r, true, false);
}

static void h_topology_tab(struct web_req *r)
{
    topology(r, false, true);
}

static void h_topology_tab_instance(struct web_req *r)
{
    topology(r, true, true);
}

/* ---- backend reads: maintenance, tags, audit ---- */

static bool need_backend(struct web_req *r)
{
    if (r->deps->be == NULL)
        web_reply_error(r, 503, "the backend is not available");
    return r->deps->be != NULL;
}

static void h_maintenance(struct web_req *r)
{
    struct be_maintenance_list l = {0};
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    int64_t now = orc_wall_s();

    if (!need_backend(r))
        return;
    if (be_maintenance_list_active(r->deps->be, now, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read maintenance: %s", err);
        return;
    }
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++) {
        web_jw_obj(&w, NULL);
        web_jw_int(&w, "MaintenanceId", l.v[i].id);
        web_jw_key(&w, "Key", &l.v[i].key);
        web_jw_time(&w, "BeginTimestamp", l.v[i].begin_ts);
        web_jw_int(&w, "SecondsElapsed", now - l.v[i].begin_ts);
        web_jw_bool(&w, "IsActive", l.v[i].active);
        web_jw_str(&w, "Owner", l.v[i].owner);
        web_jw_str(&w, "Reason", l.v[i].reason);
        web_jw_obj_end(&w);
    }
    web_jw_arr_end(&w);
    reply_buf(r, NULL, NULL, &w);
    orc_buf_release(&b);
    be_maintenance_list_free(&l);
}

int web_param_key_any(struct web_req *r, int pi, struct orc_key *k)
{
    struct disc_snapshot *s;

    if (web_param_key(r, pi, k) != 0)
        return ORC_EINVAL;
    if (r->deps->topo != NULL &&
        (s = disc_topo_snapshot_recent(r->deps->topo, DISC_SNAPSHOT_RECENT_MS)) != NULL) {
        struct orc_key found;
        if (web_find_instance(r, s, pi, &found, false) >= 0)
            *k = found;
        disc_snapshot_put(s);
    }
    return 0;
}

static void h_in_maintenance(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    struct orc_key k;
    bool active = false;

    if (!need_backend(r) || web_param_key_any(r, 0, &k) != 0)
        return;
    if (be_maintenance_active(r->deps->be, &k, orc_wall_s(), &active, NULL, err, sizeof(err)) !=
        0) {
        web_reply_error(r, 500, "read maintenance: %s", err);
        return;
    }
    web_jw_init(&w, &b);
    web_jw_key(&w, NULL, &k);
    web_reply_envelope_raw(r, 200, "OK", active ? "true" : "false", b.data, b.len);
    orc_buf_release(&b);
}

static int read_tags(struct web_req *r, struct orc_key *k, struct be_tag_list *l)
{
    char err[ORC_ERRMSG_SIZE] = "";

    if (!need_backend(r) || web_param_key_any(r, 0, k) != 0)
        return ORC_EINVAL;
    if (be_tag_list(r->deps->be, k, l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read tags: %s", err);
        return ORC_EDB;
    }
    return 0;
}

static void h_tags(struct web_req *r)
{
    struct be_tag_list l = {0};
    struct orc_buf b = ORC_BUF_INIT, t = ORC_BUF_INIT;
    struct web_jw w;
    struct orc_key k;

    if (read_tags(r, &k, &l) != 0)
        return;
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++) {
        orc_buf_reset(&t);
        orc_buf_puts(&t, l.v[i].name);
        if (l.v[i].value[0] != '\0')
            orc_buf_printf(&t, "=%s", l.v[i].value);
        web_jw_str(&w, NULL, orc_buf_str(&t));
    }
    web_jw_arr_end(&w);
    reply_buf(r, NULL, NULL, &w);
    orc_buf_release(&t);
    orc_buf_release(&b);
    be_tag_list_free(&l);
}

static void h_tag_value(struct web_req *r)
{
    const char *name = web_param(r, 2) ? web_param(r, 2) : web_query(r, "tag");
    struct be_tag_list l = {0};
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    struct orc_key k;
    char ks[ORC_KEY_STRLEN];
    size_t i;

    if (name == NULL || *name == '\0') {
        web_reply_error(r, 400, "missing ?tag=<name>");
        return;
    }
    if (read_tags(r, &k, &l) != 0)
        return;
    for (i = 0; i < l.n && strcmp(l.v[i].name, name) != 0; i++) {
    }
    if (i == l.n) {
        web_reply_error(r, 404, "tag '%s' not found for instance '%s'", name,
                        orc_key_str(&k, ks, sizeof(ks)));
    } else {
        web_jw_init(&w, &b);
        web_jw_str(&w, NULL, l.v[i].value);
        reply_buf(r, NULL, NULL, &w);
    }
    orc_buf_release(&b);
    be_tag_list_free(&l);
}

/* Keys of instances carrying every "name" or "name=value" of the comma list. */
static int tagged_keys(struct be *be,
                       const char *spec,
                       struct disc_keylist *out,
                       char *err,
                       size_t len)
{
    char *copy = orc_strdup(spec);
    char *tok = copy;
    int rc = copy ? 0 : ORC_ENOMEM;
    bool first = true;

    while (rc == 0 && tok != NULL) {
        char *comma = strchr(tok, ',');
        char *eq;
        struct be_tag_list l = {0};
        struct disc_keylist next = {0};

        if (comma != NULL)
            *comma = '\0';
        eq = strchr(tok, '=');
        if (eq != NULL)
            *eq = '\0';
        if (*tok != '\0') {
            rc = be_tag_find(be, tok, eq ? eq + 1 : NULL, &l, err, len);
            for (size_t i = 0; rc == 0 && i < l.n; i++)
                if (first || disc_keylist_contains(out, &l.v[i].key))
                    rc = disc_keylist_add(&next, &l.v[i].key);
            be_tag_list_free(&l);
            disc_keylist_release(out);
            *out = next;
            first = false;
        }
        tok = comma ? comma + 1 : NULL;
    }
    free(copy);
    return rc;
}

static void h_tagged(struct web_req *r)
{
    const char *spec = web_query(r, "tag");
    struct disc_keylist keys = {0};
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    if (spec == NULL || *spec == '\0') {
        web_reply_error(r, 400, "missing ?tag=<name>[=<value>][,...]");
        return;
    }
    if (!need_backend(r))
        return;
    if (tagged_keys(r->deps->be, spec, &keys, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read tags: %s", err);
    } else {
        web_jw_init(&w, &b);
        web_jw_arr(&w, NULL);
        for (size_t i = 0; i < keys.len; i++)
            web_jw_key(&w, NULL, &keys.keys[i]);
        web_jw_arr_end(&w);
        reply_buf(r, NULL, NULL, &w);
    }
    orc_buf_release(&b);
    disc_keylist_release(&keys);
}

static void audit(struct web_req *r, const struct orc_key *k, const char *page_text)
{
    struct be_audit_list l = {0};
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    int64_t page = 0;

    if (page_text != NULL && orc_parse_int64(page_text, 0, 1000000, &page) != 0) {
        web_reply_error(r, 400, "invalid page: '%s'", page_text);
        return;
    }
    if (!need_backend(r))
        return;
    if (be_audit_page(r->deps->be, (int)page, k, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read audit: %s", err);
        return;
    }
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++)
        web_json_audit(&w, &l.v[i]);
    web_jw_arr_end(&w);
    reply_buf(r, NULL, NULL, &w);
    orc_buf_release(&b);
    be_audit_list_free(&l);
}

static void h_audit(struct web_req *r)
{
    audit(r, NULL, web_param(r, 0));
}

static void h_audit_instance(struct web_req *r)
{
    struct orc_key k;

    if (web_param_key_any(r, 0, &k) == 0)
        audit(r, &k, web_param(r, 2));
}

static void put_list(struct web_jw *w, const char *key, const struct orc_strlist *l)
{
    web_jw_arr(w, key);
    for (size_t i = 0; i < l->n; i++)
        web_jw_str(w, NULL, l->v[i]);
    web_jw_arr_end(w);
}

static void h_recovery_filters(struct web_req *r)
{
    const struct orc_config *cfg = web_cfg(r);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    web_jw_init(&w, &b);
    web_jw_obj(&w, NULL); /* Go marshals a map with sorted keys */
    put_list(&w, "RecoverIntermediateMasterClusterFilters",
             &cfg->RecoverIntermediateMasterClusterFilters);
    put_list(&w, "RecoverMasterClusterFilters", &cfg->RecoverMasterClusterFilters);
    put_list(&w, "RecoveryIgnoreHostnameFilters", &cfg->RecoveryIgnoreHostnameFilters);
    web_jw_obj_end(&w);
    web_reply_envelope_raw(r, 200, "OK", "Automated recovery configuration details", b.data, b.len);
    orc_buf_release(&b);
}

const struct web_route web_routes_read[] = {
    {"instance/:host/:port", h_instance, WEB_READ},
    {"instance-replicas/:host/:port", h_instance_replicas, WEB_READ},
    {"cluster/alias/:alias", h_cluster_alias, WEB_READ},
    {"cluster/instance/:host/:port", h_cluster_instance, WEB_READ},
    {"cluster/:clusterHint", h_cluster, WEB_READ},
    {"cluster-info/alias/:alias", h_cluster_info_alias, WEB_READ},
    {"cluster-info/:clusterHint", h_cluster_info, WEB_READ},
    {"clusters", h_clusters, WEB_READ},
    {"clusters-info", h_clusters_info, WEB_READ},
    {"masters", h_masters, WEB_READ},
    {"master/:clusterHint", h_master, WEB_READ},
    {"all-instances", h_all_instances, WEB_READ},
    {"search/:searchString", h_search, WEB_READ},
    {"search", h_search_query, WEB_READ},
    {"topology/:clusterHint", h_topology, WEB_READ},
    {"topology/:host/:port", h_topology_instance, WEB_READ},
    {"topology-tabulated/:clusterHint", h_topology_tab, WEB_READ},
    {"topology-tabulated/:host/:port", h_topology_tab_instance, WEB_READ},
    {"problems", h_problems, WEB_READ},
    {"problems/:clusterName", h_problems, WEB_READ},
    {"downtimed", h_downtimed, WEB_READ},
    {"downtimed/:clusterName", h_downtimed, WEB_READ},
    {"maintenance", h_maintenance, WEB_READ},
    {"in-maintenance/:host/:port", h_in_maintenance, WEB_READ},
    {"tags/:host/:port", h_tags, WEB_READ},
    {"tag-value/:host/:port", h_tag_value, WEB_READ},
    {"tag-value/:host/:port/:tagName", h_tag_value, WEB_READ},
    {"tagged", h_tagged, WEB_READ},
    {"audit", h_audit, WEB_READ},
    {"audit/:page", h_audit, WEB_READ},
    {"audit/instance/:host/:port", h_audit_instance, WEB_READ},
    {"audit/instance/:host/:port/:page", h_audit_instance, WEB_READ},
    {"automated-recovery-filters", h_recovery_filters, WEB_READ},
};
const size_t web_routes_read_len = ORC_ARRAY_LEN(web_routes_read);
