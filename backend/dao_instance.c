/*
 * backend typed helpers about single instances: downtime, maintenance,
 * candidate (promotion) rules and tags. Thin wrappers over be_exec/be_query.
 */
#include "backend/be_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void key_vals(struct be_val *v, const struct orc_key *k)
{
    v[0] = BE_VTEXT(k->host);
    v[1] = BE_VINT(k->port);
}

static const char *key_str(const struct orc_key *k, char *buf, size_t len)
{
    return orc_key_str(k, buf, len);
}

/* ---- downtime ---- */

#define DOWNTIME_COLS \
    "hostname, port, downtime_active, begin_timestamp, end_timestamp, owner, reason"

void be_downtime_release(struct be_downtime *d)
{
    be_str_free(&d->owner);
    be_str_free(&d->reason);
}

BE_DEFINE_LIST_FREE(be_downtime_list_free, be_downtime_list, be_downtime_release)

static int fill_downtime(void *item, int ncols, const char *const *v)
{
    struct be_downtime *d = item;

    (void)ncols;
    be_col_key(&d->key, v[0], v[1]);
    d->active = be_col_i64(v[2]) != 0;
    d->begin_ts = be_col_i64(v[3]);
    d->end_ts = be_col_i64(v[4]);
    return be_col_str(&d->owner, v[5]) | be_col_str(&d->reason, v[6]);
}

static void release_downtime(void *item)
{
    be_downtime_release(item);
}

int be_downtime_begin(struct be *b, const struct be_downtime *d, char *errmsg, size_t len)
{
    static const char *const cols[] = {"hostname",        "port",          "downtime_active",
                                       "begin_timestamp", "end_timestamp", "owner",
                                       "reason"};
    struct be_val v[] = {BE_VTEXT(d->key.host),    BE_VINT(d->key.port), BE_VINT(1),
                         BE_VINT(d->begin_ts),     BE_VINT(d->end_ts),   BE_VTEXT(be_s(d->owner)),
                         BE_VTEXT(be_s(d->reason))};
    char k[ORC_KEY_STRLEN];
    int rc = be_upsert(b, "database_instance_downtime", cols, 7, 2, v, 1, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "begin downtime '%s'", key_str(&d->key, k, sizeof(k)));
    return rc;
}

int be_downtime_end(struct be *b, const struct orc_key *k, char *errmsg, size_t len)
{
    struct be_val v[2];
    char ks[ORC_KEY_STRLEN];
    int64_t n = 0;
    int rc;

    key_vals(v, k);
    rc = be_exec(b, "DELETE FROM database_instance_downtime WHERE hostname = ? AND port = ?", v, 2,
                 &n, errmsg, len);
    if (rc == 0 && n == 0) {
        orc_errf(errmsg, len, "not downtimed");
        rc = ORC_ENOTFOUND;
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "end downtime '%s'", key_str(k, ks, sizeof(ks)));
    return rc;
}

int be_downtime_get(struct be *b,
                    const struct orc_key *k,
                    int64_t now,
                    struct be_downtime *out,
                    char *errmsg,
                    size_t len)
{
    struct be_val v[] = {BE_VTEXT(k->host), BE_VINT(k->port), BE_VINT(now)};
    struct be_vec vec;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = be_collect(b,
                    "SELECT " DOWNTIME_COLS
                    " FROM database_instance_downtime"
                    " WHERE hostname = ? AND port = ? AND downtime_active = 1"
                    " AND end_timestamp > ?",
                    v, 3, &vec, sizeof(struct be_downtime), fill_downtime, release_downtime, errmsg,
                    len);
    if (rc != 0)
        return rc;
    if (vec.n == 0) {
        free(vec.v);
        orc_errf(errmsg, len, "not downtimed");
        return ORC_ENOTFOUND;
    }
    *out = *(struct be_downtime *)vec.v;
    free(vec.v);
    return 0;
}

int be_downtime_list_active(struct be *b,
                            int64_t now,
                            struct be_downtime_list *out,
                            char *errmsg,
                            size_t len)
{
    struct be_val v[] = {BE_VINT(now)};
    struct be_vec vec;
    int rc = be_collect(b,
                        "SELECT " DOWNTIME_COLS
                        " FROM database_instance_downtime"
                        " WHERE downtime_active = 1 AND end_timestamp > ?"
                        " ORDER BY hostname, port",
                        v, 1, &vec, sizeof(struct be_downtime), fill_downtime, release_downtime,
                        errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}

int be_downtime_expire(struct be *b, int64_t now, int64_t *count, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VINT(now)};

    return be_exec(b,
                   "DELETE FROM database_instance_downtime"
                   " WHERE downtime_active IS NULL OR end_timestamp <= ?",
                   v, 1, count, errmsg, len);
}

/* ---- maintenance ---- */

#define MAINT_COLS                                                              \
    "database_instance_maintenance_id, hostname, port, maintenance_active,"     \
    " begin_timestamp, end_timestamp, owner, reason, processing_node_hostname," \
    " processing_node_token, explicitly_bounded"

void be_maintenance_release(struct be_maintenance *m)
{
    be_str_free(&m->owner);
    be_str_free(&m->reason);
    be_str_free(&m->processing_node_hostname);
    be_str_free(&m->processing_node_token);
}

BE_DEFINE_LIST_FREE(be_maintenance_list_free, be_maintenance_list, be_maintenance_release)

static int fill_maint(void *item, int ncols, const char *const *v)
{
    struct be_maintenance *m = item;

    (void)ncols;
    m->id = be_col_i64(v[0]);
    be_col_key(&m->key, v[1], v[2]);
    m->active = be_col_i64(v[3]) == 1;
    m->begin_ts = be_col_i64(v[4]);
    m->end_ts = be_col_i64(v[5]);
    m->explicitly_bounded = be_col_i64(v[10]) != 0;
    return be_col_str(&m->owner, v[6]) | be_col_str(&m->reason, v[7]) |
           be_col_str(&m->processing_node_hostname, v[8]) |
           be_col_str(&m->processing_node_token, v[9]);
}

static void release_maint(void *item)
{
    be_maintenance_release(item);
}

static int maint_active_id(struct be *b,
                           const struct orc_key *k,
                           int64_t *id,
                           char *errmsg,
                           size_t len)
{
    struct be_val v[2];

    key_vals(v, k);
    return be_query_int(b,
                        "SELECT database_instance_maintenance_id FROM"
                        " database_instance_maintenance WHERE hostname = ? AND port = ?"
                        " AND maintenance_active = 1",
                        v, 2, id, errmsg, len);
}

int be_maintenance_begin(struct be *b,
                         const struct be_maintenance *m,
                         int64_t *id,
                         char *errmsg,
                         size_t len)
{
    struct be_val v[] = {BE_VNULL,
                         BE_VTEXT(m->key.host),
                         BE_VINT(m->key.port),
                         BE_VINT(m->begin_ts),
                         BE_VINT(m->end_ts),
                         BE_VTEXT(be_s(m->owner)),
                         BE_VTEXT(be_s(m->reason)),
                         BE_VTEXT(be_s(m->processing_node_hostname)),
                         BE_VTEXT(be_s(m->processing_node_token)),
                         BE_VINT(m->explicitly_bounded)};
    char sql[512], k[ORC_KEY_STRLEN];
    int rc;

    *id = 0;
    snprintf(sql, sizeof(sql),
             "%s INTO database_instance_maintenance (database_instance_maintenance_id,"
             " hostname, port, maintenance_active, begin_timestamp, end_timestamp, owner,"
             " reason, processing_node_hostname, processing_node_token, explicitly_bounded)"
             " VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
             be_sql_insert_ignore(b));
    rc = be_insert_next_id(b, "database_instance_maintenance", "database_instance_maintenance_id",
                           sql, v, ORC_ARRAY_LEN(v), id, errmsg, len);
    if (rc == 0 && *id == 0) {
        rc = maint_active_id(b, &m->key, id, errmsg, len);
        if (rc == 0 || rc == ORC_ENOTFOUND) {
            orc_errf(errmsg, len, "already under maintenance (id %lld)", (long long)*id);
            rc = ORC_EEXIST;
        }
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "begin maintenance '%s'", key_str(&m->key, k, sizeof(k)));
    return rc;
}

static int maint_end(struct be *b,
                     const char *where,
                     struct be_val *v,
                     size_t n,
                     char *errmsg,
                     size_t len)
{
    char sql[256];
    int64_t count = 0;
    int rc;

    snprintf(sql, sizeof(sql),
             "UPDATE database_instance_maintenance SET maintenance_active = NULL,"
             " end_timestamp = ? WHERE maintenance_active = 1 AND %s",
             where);
    rc = be_exec(b, sql, v, n, &count, errmsg, len);
    if (rc == 0 && count == 0) {
        orc_errf(errmsg, len, "no active maintenance");
        rc = ORC_ENOTFOUND;
    }
    return rc;
}

int be_maintenance_end(struct be *b, int64_t id, int64_t now, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VINT(now), BE_VINT(id)};
    int rc = maint_end(b, "database_instance_maintenance_id = ?", v, 2, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "end maintenance %lld", (long long)id);
    return rc;
}

int be_maintenance_end_key(struct be *b,
                           const struct orc_key *k,
                           int64_t now,
                           char *errmsg,
                           size_t len)
{
    struct be_val v[] = {BE_VINT(now), BE_VTEXT(k->host), BE_VINT(k->port)};
    char ks[ORC_KEY_STRLEN];
    int rc = maint_end(b, "hostname = ? AND port = ?", v, 3, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "end maintenance '%s'", key_str(k, ks, sizeof(ks)));
    return rc;
}

int be_maintenance_active(struct be *b,
                          const struct orc_key *k,
                          int64_t now,
                          bool *active,
                          int64_t *id,
                          char *errmsg,
                          size_t len)
{
    struct be_val v[] = {BE_VTEXT(k->host), BE_VINT(k->port), BE_VINT(now)};
    int64_t got = 0;
    int rc = be_query_int(b,
                          "SELECT database_instance_maintenance_id FROM"
                          " database_instance_maintenance WHERE hostname = ? AND port = ?"
                          " AND maintenance_active = 1 AND end_timestamp > ?",
                          v, 3, &got, errmsg, len);

    *active = rc == 0;
    if (id != NULL)
        *id = got;
    return rc == ORC_ENOTFOUND ? 0 : rc;
}

int be_maintenance_list_active(struct be *b,
                               int64_t now,
                               struct be_maintenance_list *out,
                               char *errmsg,
                               size_t len)
{
    struct be_val v[] = {BE_VINT(now)};
    struct be_vec vec;
    int rc = be_collect(b,
                        "SELECT " MAINT_COLS
                        " FROM database_instance_maintenance"
                        " WHERE maintenance_active = 1 AND end_timestamp > ?"
                        " ORDER BY database_instance_maintenance_id",
                        v, 1, &vec, sizeof(struct be_maintenance), fill_maint, release_maint,
                        errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}

int be_maintenance_expire(struct be *b, int64_t now, int64_t *count, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VINT(now)};

    return be_exec(b,
                   "UPDATE database_instance_maintenance SET maintenance_active = NULL"
                   " WHERE maintenance_active = 1 AND end_timestamp <= ?",
                   v, 1, count, errmsg, len);
}

/* ---- candidates ---- */

void be_candidate_release(struct be_candidate *c)
{
    be_str_free(&c->promotion_rule);
}

BE_DEFINE_LIST_FREE(be_candidate_list_free, be_candidate_list, be_candidate_release)

static bool rule_ok(const char *r)
{
    static const char *const rules[] = {"must", "prefer", "neutral", "prefer_not", "must_not"};

    for (size_t i = 0; r != NULL && i < ORC_ARRAY_LEN(rules); i++) {
        if (strcmp(r, rules[i]) == 0)
            return true;
    }
    return false;
}

int be_candidate_register(struct be *b, const struct be_candidate *c, char *errmsg, size_t len)
{
    static const char *const cols[] = {"hostname", "port", "last_suggested", "priority",
                                       "promotion_rule"};
    struct be_val v[] = {BE_VTEXT(c->key.host), BE_VINT(c->key.port), BE_VINT(c->last_suggested),
                         BE_VINT(c->priority), BE_VTEXT(c->promotion_rule)};
    char k[ORC_KEY_STRLEN];
    int rc;

    if (!rule_ok(c->promotion_rule)) {
        orc_errf(errmsg, len, "register candidate '%s': unknown promotion rule '%s'",
                 key_str(&c->key, k, sizeof(k)), be_s(c->promotion_rule));
        return ORC_EINVAL;
    }
    rc = be_upsert(b, "candidate_database_instance", cols, 5, 2, v, 1, errmsg, len);
    if (rc != 0)
        orc_errprefix(errmsg, len, "register candidate '%s'", key_str(&c->key, k, sizeof(k)));
    return rc;
}

static int fill_candidate(void *item, int ncols, const char *const *v)
{
    struct be_candidate *c = item;

    (void)ncols;
    be_col_key(&c->key, v[0], v[1]);
    c->last_suggested = be_col_i64(v[2]);
    c->priority = (int)be_col_i64(v[3]);
    return be_col_str(&c->promotion_rule, v[4]);
}

static void release_candidate(void *item)
{
    be_candidate_release(item);
}

int be_candidate_list(struct be *b,
                      int64_t since,
                      struct be_candidate_list *out,
                      char *errmsg,
                      size_t len)
{
    struct be_val v[] = {BE_VINT(since)};
    struct be_vec vec;
    int rc = be_collect(b,
                        "SELECT hostname, port, last_suggested, priority, promotion_rule"
                        " FROM candidate_database_instance WHERE last_suggested >= ?"
                        " ORDER BY hostname, port",
                        v, 1, &vec, sizeof(struct be_candidate), fill_candidate, release_candidate,
                        errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}

int be_candidate_expire(struct be *b, int64_t before, int64_t *count, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VINT(before)};

    return be_exec(b, "DELETE FROM candidate_database_instance WHERE last_suggested < ?", v, 1,
                   count, errmsg, len);
}

/* ---- tags ---- */

static void tag_release(struct be_tag *t)
{
    be_str_free(&t->name);
    be_str_free(&t->value);
}

BE_DEFINE_LIST_FREE(be_tag_list_free, be_tag_list, tag_release)

static int fill_tag(void *item, int ncols, const char *const *v)
{
    struct be_tag *t = item;

    (void)ncols;
    be_col_key(&t->key, v[0], v[1]);
    return be_col_str(&t->name, v[2]) | be_col_str(&t->value, v[3]);
}

static void release_tag(void *item)
{
    tag_release(item);
}

int be_tag_put(struct be *b,
               const struct orc_key *k,
               const char *name,
               const char *value,
               int64_t now,
               char *errmsg,
               size_t len)
{
    static const char *const cols[] = {"hostname", "port", "tag_name", "tag_value", "last_updated"};
    struct be_val v[] = {BE_VTEXT(k->host), BE_VINT(k->port), BE_VTEXT(name), BE_VTEXT(be_s(value)),
                         BE_VINT(now)};
    char ks[ORC_KEY_STRLEN];
    int rc;

    if (name == NULL || *name == '\0') {
        orc_errf(errmsg, len, "tag '%s': empty tag name", key_str(k, ks, sizeof(ks)));
        return ORC_EINVAL;
    }
    rc = be_upsert(b, "database_instance_tags", cols, 5, 3, v, 1, errmsg, len);
    if (rc != 0)
        orc_errprefix(errmsg, len, "tag '%s'", key_str(k, ks, sizeof(ks)));
    return rc;
}

int be_tag_delete(struct be *b, const struct orc_key *k, const char *name, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VTEXT(k->host), BE_VINT(k->port), BE_VTEXT(name)};
    char ks[ORC_KEY_STRLEN];
    int64_t n = 0;
    int rc = be_exec(b,
                     "DELETE FROM database_instance_tags WHERE hostname = ? AND port = ?"
                     " AND tag_name = ?",
                     v, 3, &n, errmsg, len);

    if (rc == 0 && n == 0) {
        orc_errf(errmsg, len, "no tag '%s'", be_s(name));
        rc = ORC_ENOTFOUND;
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "untag '%s'", key_str(k, ks, sizeof(ks)));
    return rc;
}

int be_tag_list(struct be *b,
                const struct orc_key *k,
                struct be_tag_list *out,
                char *errmsg,
                size_t len)
{
    struct be_val v[2];
    struct be_vec vec;
    int rc;

    key_vals(v, k);
    rc = be_collect(b,
                    "SELECT hostname, port, tag_name, tag_value FROM database_instance_tags"
                    " WHERE hostname = ? AND port = ? ORDER BY tag_name",
                    v, 2, &vec, sizeof(struct be_tag), fill_tag, release_tag, errmsg, len);
    BE_VEC_TO_LIST(vec, out);
    return rc;
}

int be_tag_find(struct be *b,
                const char *name,
                const char *value,
                struct be_tag_list *out,
                char *errmsg,
                size_t len)
{
    struct be_val v[] = {BE_VTEXT(name), BE_VTEXT(value)};
    struct be_vec vec;
    int rc = be_collect(
        b,
        value != NULL ? "SELECT hostname, port, tag_name, tag_value FROM"
                        " database_instance_tags WHERE tag_name = ? AND tag_value = ?"
                        " ORDER BY hostname, port"
                      : "SELECT hostname, port, tag_name, tag_value FROM"
                        " database_instance_tags WHERE tag_name = ?"
                        " ORDER BY hostname, port",
        v, value != NULL ? 2 : 1, &vec, sizeof(struct be_tag), fill_tag, release_tag, errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}
