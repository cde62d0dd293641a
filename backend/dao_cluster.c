/*
 * backend typed helpers about clusters and the service itself: cluster
 * aliases, audit, the internal KV store and node health. Thin wrappers over
 * be_exec/be_query.
 */
#include "backend/be_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cluster aliases ---- */

static void alias_release(struct be_alias *a)
{
    be_str_free(&a->cluster_name);
    be_str_free(&a->alias);
}

BE_DEFINE_LIST_FREE(be_alias_list_free, be_alias_list, alias_release)

static int fill_alias(void *item, int ncols, const char *const *v)
{
    struct be_alias *a = item;

    (void)ncols;
    return be_col_str(&a->cluster_name, v[0]) | be_col_str(&a->alias, v[1]);
}

static void release_alias(void *item)
{
    alias_release(item);
}

/* Writes cluster_alias, taking the alias from any other cluster first (an
 * alias names one cluster). Runs inside the caller's transaction. */
static int alias_write(struct be *b,
                       const char *cluster,
                       const char *alias,
                       int64_t now,
                       char *errmsg,
                       size_t len)
{
    static const char *const cols[] = {"cluster_name", "alias", "last_registered"};
    struct be_val del[] = {BE_VTEXT(alias), BE_VTEXT(cluster)};
    struct be_val v[] = {BE_VTEXT(cluster), BE_VTEXT(alias), BE_VINT(now)};
    int rc = be_exec(b, "DELETE FROM cluster_alias WHERE alias = ? AND cluster_name <> ?", del, 2,
                     NULL, errmsg, len);

    return rc != 0 ? rc : be_upsert(b, "cluster_alias", cols, 3, 1, v, 1, errmsg, len);
}

static int alias_check(const char *cluster, const char *alias, char *errmsg, size_t len)
{
    if (cluster == NULL || *cluster == '\0' || alias == NULL || *alias == '\0') {
        orc_errf(errmsg, len, "empty cluster name or alias");
        return ORC_EINVAL;
    }
    return 0;
}

int be_alias_register(struct be *b,
                      const char *cluster,
                      const char *alias,
                      int64_t now,
                      char *errmsg,
                      size_t len)
{
    struct be_val v[] = {BE_VTEXT(cluster)};
    char *over = NULL;
    int rc = alias_check(cluster, alias, errmsg, len);

    if (rc != 0 || (rc = be_begin(b, errmsg, len)) != 0)
        goto out;
    rc = be_query_str(b, "SELECT alias FROM cluster_alias_override WHERE cluster_name = ?", v, 1,
                      &over, errmsg, len);
    if (rc == 0 || rc == ORC_ENOTFOUND)
        rc = alias_write(b, cluster, rc == 0 ? over : alias, now, errmsg, len);
    if (rc == 0)
        rc = be_commit(b, errmsg, len);
    else
        be_rollback(b, NULL, 0);
out:
    free(over);
    if (rc != 0)
        orc_errprefix(errmsg, len, "register alias of '%s'", be_s(cluster));
    return rc;
}

int be_alias_set_override(struct be *b,
                          const char *cluster,
                          const char *alias,
                          int64_t now,
                          char *errmsg,
                          size_t len)
{
    static const char *const cols[] = {"cluster_name", "alias"};
    struct be_val v[] = {BE_VTEXT(cluster), BE_VTEXT(alias)};
    int rc = alias_check(cluster, alias, errmsg, len);

    if (rc != 0 || (rc = be_begin(b, errmsg, len)) != 0)
        goto out;
    rc = be_upsert(b, "cluster_alias_override", cols, 2, 1, v, 1, errmsg, len);
    if (rc == 0)
        rc = alias_write(b, cluster, alias, now, errmsg, len);
    if (rc == 0)
        rc = be_commit(b, errmsg, len);
    else
        be_rollback(b, NULL, 0);
out:
    if (rc != 0)
        orc_errprefix(errmsg, len, "set alias of '%s'", be_s(cluster));
    return rc;
}

int be_alias_get(struct be *b, const char *cluster, char **alias, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VTEXT(cluster)};
    int rc = be_query_str(b, "SELECT alias FROM cluster_alias WHERE cluster_name = ?", v, 1, alias,
                          errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "alias of '%s'", be_s(cluster));
    return rc;
}

int be_alias_find_cluster(struct be *b, const char *alias, char **cluster, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VTEXT(alias)};
    int rc = be_query_str(b, "SELECT cluster_name FROM cluster_alias WHERE alias = ?", v, 1,
                          cluster, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "cluster of alias '%s'", be_s(alias));
    return rc;
}

int be_alias_list(struct be *b, struct be_alias_list *out, char *errmsg, size_t len)
{
    struct be_vec vec;
    int rc =
        be_collect(b, "SELECT cluster_name, alias FROM cluster_alias ORDER BY cluster_name", NULL,
                   0, &vec, sizeof(struct be_alias), fill_alias, release_alias, errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}

/* ---- audit ---- */

static void audit_release(struct be_audit *a)
{
    be_str_free(&a->type);
    be_str_free(&a->cluster_name);
    be_str_free(&a->message);
}

BE_DEFINE_LIST_FREE(be_audit_list_free, be_audit_list, audit_release)

static int fill_audit(void *item, int ncols, const char *const *v)
{
    struct be_audit *a = item;

    (void)ncols;
    a->id = be_col_i64(v[0]);
    a->ts = be_col_i64(v[1]);
    be_col_key(&a->key, v[3], v[4]);
    return be_col_str(&a->type, v[2]) | be_col_str(&a->cluster_name, v[5]) |
           be_col_str(&a->message, v[6]);
}

static void release_audit(void *item)
{
    audit_release(item);
}

int be_audit_write(struct be *b, const struct be_audit *a, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VNULL,
                         BE_VINT(a->ts),
                         BE_VTEXT(be_s(a->type)),
                         BE_VTEXT(a->key.host),
                         BE_VINT(a->key.port),
                         BE_VTEXT(be_s(a->cluster_name)),
                         BE_VTEXT(be_s(a->message))};
    int64_t id = 0;
    int rc = be_insert_next_id(b, "audit", "audit_id",
                               "INSERT INTO audit (audit_id, audit_timestamp, audit_type,"
                               " hostname, port, cluster_name, message)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?)",
                               v, ORC_ARRAY_LEN(v), &id, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "write audit '%s'", be_s(a->type));
    return rc;
}

int be_audit_page(struct be *b,
                  int page,
                  const struct orc_key *key,
                  struct be_audit_list *out,
                  char *errmsg,
                  size_t len)
{
    struct be_val v[4];
    struct be_vec vec;
    size_t n = 0;
    int rc;

    if (key != NULL) {
        v[n++] = BE_VTEXT(key->host);
        v[n++] = BE_VINT(key->port);
    }
    v[n++] = BE_VINT(BE_PAGE_SIZE);
    v[n++] = BE_VINT((int64_t)(page > 0 ? page : 0) * BE_PAGE_SIZE);
    rc = be_collect(b,
                    key != NULL ? "SELECT audit_id, audit_timestamp, audit_type, hostname, port,"
                                  " cluster_name, message FROM audit WHERE hostname = ? AND"
                                  " port = ? ORDER BY audit_timestamp DESC, audit_id DESC"
                                  " LIMIT ? OFFSET ?"
                                : "SELECT audit_id, audit_timestamp, audit_type, hostname, port,"
                                  " cluster_name, message FROM audit"
                                  " ORDER BY audit_timestamp DESC, audit_id DESC"
                                  " LIMIT ? OFFSET ?",
                    v, n, &vec, sizeof(struct be_audit), fill_audit, release_audit, errmsg, len);
    BE_VEC_TO_LIST(vec, out);
    return rc;
}

int be_audit_expire(struct be *b, int64_t before, int64_t *count, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VINT(before)};

    return be_exec(b, "DELETE FROM audit WHERE audit_timestamp < ?", v, 1, count, errmsg, len);
}

struct history_table {
    const char *table, *idcol;
    bool has_marker;
};

static const struct history_table histories[] = {
    {"audit", "audit_id", false},
    {"topology_recovery_steps", "recovery_step_id", false},
    {"topology_failure_detection", "detection_id", true},
};

int be_history_trim(struct be *b,
                    const char *table,
                    int64_t keep,
                    int64_t *count,
                    char *errmsg,
                    size_t len)
{
    const struct history_table *h = NULL;
    char sql[256];
    int64_t max = 0;
    struct be_val v[1];
    int rc;

    if (count != NULL)
        *count = 0;
    for (size_t i = 0; i < ORC_ARRAY_LEN(histories) && h == NULL; i++)
        if (strcmp(histories[i].table, table) == 0)
            h = &histories[i];
    if (h == NULL || keep < 0) {
        orc_errf(errmsg, len, "trim: '%s' is not a history table", table);
        return ORC_EINVAL;
    }
    snprintf(sql, sizeof(sql), "SELECT COALESCE(MAX(%s), 0) FROM %s", h->idcol, h->table);
    rc = be_query_int(b, sql, NULL, 0, &max, errmsg, len);
    if (rc != 0 || max <= keep)
        return rc;
    v[0] = BE_VINT(max - keep);
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s <= ?%s", h->table, h->idcol,
             h->has_marker ? " AND active_marker IS NULL" : "");
    rc = be_exec(b, sql, v, 1, count, errmsg, len);
    if (rc != 0)
        orc_errprefix(errmsg, len, "trim '%s'", table);
    return rc;
}

/* ---- KV ---- */

static void kv_release(struct be_kv *p)
{
    be_str_free(&p->key);
    be_str_free(&p->value);
}

BE_DEFINE_LIST_FREE(be_kv_list_free, be_kv_list, kv_release)

static int fill_kv(void *item, int ncols, const char *const *v)
{
    struct be_kv *p = item;

    (void)ncols;
    p->last_updated = be_col_i64(v[2]);
    return be_col_str(&p->key, v[0]) | be_col_str(&p->value, v[1]);
}

static void release_kv(void *item)
{
    kv_release(item);
}

int be_kv_put(struct be *b,
              const char *key,
              const char *value,
              int64_t now,
              char *errmsg,
              size_t len)
{
    static const char *const cols[] = {"store_key", "store_value", "last_updated"};
    struct be_val v[] = {BE_VTEXT(key), BE_VTEXT(be_s(value)), BE_VINT(now)};
    int rc;

    if (key == NULL || *key == '\0') {
        orc_errf(errmsg, len, "kv put: empty key");
        return ORC_EINVAL;
    }
    rc = be_upsert(b, "kv_store", cols, 3, 1, v, 1, errmsg, len);
    if (rc != 0)
        orc_errprefix(errmsg, len, "kv put '%s'", key);
    return rc;
}

int be_kv_get(struct be *b, const char *key, char **value, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VTEXT(key)};
    int rc = be_query_str(b, "SELECT store_value FROM kv_store WHERE store_key = ?", v, 1, value,
                          errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "kv get '%s'", be_s(key));
    return rc;
}

/* Escapes LIKE wildcards with '!' so a prefix matches literally. */
static char *like_prefix(const char *prefix)
{
    struct orc_buf b = ORC_BUF_INIT;
    int rc = 0;

    for (const char *p = prefix; rc == 0 && *p != '\0'; p++) {
        if (*p == '%' || *p == '_' || *p == '!')
            rc = orc_buf_putc(&b, '!');
        rc = rc ? rc : orc_buf_putc(&b, *p);
    }
    rc = rc ? rc : orc_buf_putc(&b, '%');
    if (rc != 0) {
        orc_buf_release(&b);
        return NULL;
    }
    return orc_buf_detach(&b);
}

int be_kv_list(struct be *b, const char *prefix, struct be_kv_list *out, char *errmsg, size_t len)
{
    const char *pre = be_s(prefix);
    char *like = like_prefix(pre);
    struct be_val v[] = {BE_VTEXT(like)};
    struct be_vec vec = {NULL, 0, 0};
    size_t keep = 0;
    int rc;

    if (like == NULL) {
        orc_errf(errmsg, len, "out of memory");
        BE_VEC_TO_LIST(vec, out);
        return ORC_ENOMEM;
    }
    rc = be_collect(b,
                    "SELECT store_key, store_value, last_updated FROM kv_store"
                    " WHERE store_key LIKE ? ESCAPE '!' ORDER BY store_key",
                    v, 1, &vec, sizeof(struct be_kv), fill_kv, release_kv, errmsg, len);
    free(like);
    /* LIKE ignores case in both dialects: keep exact prefixes only. */
    for (size_t i = 0; rc == 0 && i < vec.n; i++) {
        struct be_kv *items = vec.v;
        if (strncmp(items[i].key, pre, strlen(pre)) == 0)
            items[keep++] = items[i];
        else
            kv_release(&items[i]);
    }
    vec.n = keep;
    BE_VEC_TO_LIST(vec, out);
    return rc;
}

/* ---- node health ---- */

static void node_release(struct be_node_health *n)
{
    be_str_free(&n->hostname);
    be_str_free(&n->token);
    be_str_free(&n->extra_info);
    be_str_free(&n->command);
    be_str_free(&n->app_version);
    be_str_free(&n->db_backend);
}

BE_DEFINE_LIST_FREE(be_node_health_list_free, be_node_health_list, node_release)

static int fill_node(void *item, int ncols, const char *const *v)
{
    struct be_node_health *n = item;

    (void)ncols;
    n->first_seen_active = be_col_i64(v[2]);
    n->last_seen_active = be_col_i64(v[3]);
    n->incrementing_indicator = be_col_i64(v[8]);
    return be_col_str(&n->hostname, v[0]) | be_col_str(&n->token, v[1]) |
           be_col_str(&n->extra_info, v[4]) | be_col_str(&n->command, v[5]) |
           be_col_str(&n->app_version, v[6]) | be_col_str(&n->db_backend, v[7]);
}

static void release_node(void *item)
{
    node_release(item);
}

int be_node_health_register(struct be *b, const struct be_node_health *n, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VINT(n->last_seen_active),  BE_VTEXT(be_s(n->extra_info)),
                         BE_VTEXT(be_s(n->command)),    BE_VTEXT(be_s(n->app_version)),
                         BE_VTEXT(be_s(n->db_backend)), BE_VTEXT(be_s(n->hostname)),
                         BE_VTEXT(be_s(n->token)),      BE_VINT(n->first_seen_active)};
    int64_t matched = 0;
    int rc = be_begin(b, errmsg, len);

    if (rc != 0)
        goto out;
    rc = be_exec(b,
                 "UPDATE node_health SET last_seen_active = ?, extra_info = ?, command = ?,"
                 " app_version = ?, db_backend = ?,"
                 " incrementing_indicator = incrementing_indicator + 1"
                 " WHERE hostname = ? AND token = ?",
                 v, 7, &matched, errmsg, len);
    if (rc == 0 && matched == 0)
        rc = be_exec(b,
                     "INSERT INTO node_health (last_seen_active, extra_info, command,"
                     " app_version, db_backend, hostname, token, first_seen_active,"
                     " incrementing_indicator) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                     v, 8, NULL, errmsg, len);
    if (rc == 0)
        rc = be_commit(b, errmsg, len);
    else
        be_rollback(b, NULL, 0);
out:
    if (rc != 0)
        orc_errprefix(errmsg, len, "register node '%s'", be_s(n->hostname));
    return rc;
}

int be_node_health_heartbeat(struct be *b,
                             const char *hostname,
                             const char *token,
                             int64_t now,
                             char *errmsg,
                             size_t len)
{
    struct be_val v[] = {BE_VINT(now), BE_VTEXT(hostname), BE_VTEXT(token)};
    int64_t matched = 0;
    int rc = be_exec(b,
                     "UPDATE node_health SET last_seen_active = ?,"
                     " incrementing_indicator = incrementing_indicator + 1"
                     " WHERE hostname = ? AND token = ?",
                     v, 3, &matched, errmsg, len);

    if (rc == 0 && matched == 0) {
        orc_errf(errmsg, len, "not registered");
        rc = ORC_ENOTFOUND;
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "heartbeat of node '%s'", be_s(hostname));
    return rc;
}

int be_node_health_list(struct be *b,
                        int64_t since,
                        struct be_node_health_list *out,
                        char *errmsg,
                        size_t len)
{
    struct be_val v[] = {BE_VINT(since)};
    struct be_vec vec;
    int rc =
        be_collect(b,
                   "SELECT hostname, token, first_seen_active, last_seen_active, extra_info,"
                   " command, app_version, db_backend, incrementing_indicator"
                   " FROM node_health WHERE last_seen_active >= ? ORDER BY hostname, token",
                   v, 1, &vec, sizeof(struct be_node_health), fill_node, release_node, errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}

int be_node_health_expire(struct be *b, int64_t before, int64_t *count, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VINT(before)};

    return be_exec(b, "DELETE FROM node_health WHERE last_seen_active < ?", v, 1, count, errmsg,
                   len);
}
