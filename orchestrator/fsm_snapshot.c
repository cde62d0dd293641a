/*
 * fsm_snapshot: dump and restore of the replicated operator-state tables as
 * one JSON document (see fsm_snapshot.h for the format). Generic over
 * columns: a table is read with SELECT * and written back column by column,
 * so a migration that adds a column needs no change here.
 */
#include <string.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "orchestrator/fsm.h"
#include "orchestrator/fsm_snapshot.h"

#define SNAPSHOT_VERSION 1

/* Every table a replicated command writes. Order matters only for humans. */
static const char *const tables[] = {
    "database_instance_downtime",
    "database_instance_maintenance",
    "candidate_database_instance",
    "cluster_alias",
    "cluster_alias_override",
    "database_instance_tags",
    "database_instance_pool",
    "kv_store",
    "global_recovery_disable",
    "topology_failure_detection",
    "topology_recovery",
    "topology_recovery_steps",
    "blocked_topology_recovery",
    "database_instance_fence",
    "recovery_config",
    "audit", /* bounded by housekeeping: AuditPurgeDays and a row cap */
    /* the last log index these tables reflect: restored with them, so the
     * entries after the snapshot are applied again on top of it */
    "raft_applied",
};

static bool is_table(const char *name)
{
    for (size_t i = 0; i < ORC_ARRAY_LEN(tables); i++)
        if (strcmp(tables[i], name) == 0)
            return true;
    return false;
}

static bool is_ident(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* ---- dump ---- */

struct dump_ctx {
    json_t *columns;
    json_t *rows;
    int err;
};

static int dump_row(void *arg, int ncols, const char *const *vals, const char *const *names)
{
    struct dump_ctx *d = arg;
    json_t *row = json_array();

    if (row == NULL)
        return d->err = ORC_ENOMEM;
    if (json_array_size(d->columns) == 0)
        for (int i = 0; i < ncols; i++)
            json_array_append_new(d->columns, json_string(names[i]));
    for (int i = 0; i < ncols; i++)
        json_array_append_new(row, vals[i] ? json_string(vals[i]) : json_null());
    if (json_array_append_new(d->rows, row) != 0)
        return d->err = ORC_ENOMEM;
    return 0;
}

static int dump_table(struct be *be, const char *table, json_t *out, char *errmsg, size_t len)
{
    struct dump_ctx d = {json_array(), json_array(), 0};
    char sql[128];
    int rc;

    snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
    rc = (d.columns && d.rows) ? be_query(be, sql, NULL, 0, dump_row, &d, errmsg, len) : ORC_ENOMEM;
    if (rc == 0 && d.err != 0)
        rc = d.err;
    if (rc == 0 &&
        json_object_set_new(out, table,
                            json_pack("{s:o, s:o}", "Columns", d.columns, "Rows", d.rows)) == 0)
        return 0;
    if (rc == 0)
        rc = ORC_ENOMEM;
    else
        orc_errprefix(errmsg, len, "read '%s'", table);
    return rc;
}

/* The keys of every instance the live topology knows. */
static json_t *instance_keys(struct disc_topo *topo)
{
    json_t *a = json_array();
    struct disc_snapshot *s;

    if (a == NULL || topo == NULL)
        return a;
    s = disc_topo_snapshot(topo);
    for (size_t i = 0; s != NULL && i < s->n; i++)
        json_array_append_new(a, json_pack("{s:s, s:i}", "Hostname", s->instances[i]->key.host,
                                           "Port", s->instances[i]->key.port));
    if (s != NULL)
        disc_snapshot_put(s);
    return a;
}

int orc_fsm_snapshot_dump(struct orc_fsm *f,
                          const json_t *extra,
                          struct orc_buf *out,
                          char *errmsg,
                          size_t len)
{
    json_t *doc = json_object(), *tabs = json_object();
    char *s = NULL;
    int rc;

    orc_buf_reset(out);
    if (doc == NULL || tabs == NULL) {
        json_decref(doc);
        json_decref(tabs);
        return ORC_ENOMEM;
    }
    rc = be_begin(f->be, errmsg, len);
    for (size_t i = 0; rc == 0 && i < ORC_ARRAY_LEN(tables); i++)
        rc = dump_table(f->be, tables[i], tabs, errmsg, len);
    if (rc == 0)
        rc = be_commit(f->be, errmsg, len);
    else
        be_rollback(f->be, NULL, 0);
    if (rc == 0) {
        json_object_set_new(doc, "Version", json_integer(SNAPSHOT_VERSION));
        json_object_set_new(doc, "Tables", tabs);
        tabs = NULL;
        json_object_set_new(doc, "Instances", instance_keys(f->topo));
        json_object_set(doc, "Raft", extra ? (json_t *)extra : json_null());
        s = json_dumps(doc, JSON_COMPACT);
        rc = s ? orc_buf_puts(out, s) : ORC_ENOMEM;
    }
    free(s);
    json_decref(tabs);
    json_decref(doc);
    if (rc != 0)
        orc_errprefix(errmsg, len, "snapshot");
    return rc;
}

/* ---- restore ---- */

static int insert_row(struct be *be,
                      const char *sql,
                      const json_t *row,
                      size_t ncols,
                      char *errmsg,
                      size_t len)
{
    struct be_val v[64];

    if (!json_is_array(row) || json_array_size(row) != ncols) {
        orc_errf(errmsg, len, "row has %zu values, expected %zu", json_array_size(row), ncols);
        return ORC_EINVAL;
    }
    for (size_t i = 0; i < ncols; i++) {
        const json_t *x = json_array_get(row, i);
        v[i] = json_is_string(x) ? BE_VTEXT(json_string_value(x)) : BE_VNULL;
    }
    return be_exec(be, sql, v, ncols, NULL, errmsg, len);
}

/* "INSERT INTO t (a, b) VALUES (?, ?)" for the document's columns. */
static int insert_sql(const char *table,
                      const json_t *cols,
                      struct orc_buf *sql,
                      char *errmsg,
                      size_t len)
{
    size_t n = json_array_size(cols);

    if (n == 0 || n > 64) {
        orc_errf(errmsg, len, "'%s': %zu columns", table, n);
        return ORC_EINVAL;
    }
    orc_buf_reset(sql);
    orc_buf_printf(sql, "INSERT INTO %s (", table);
    for (size_t i = 0; i < n; i++) {
        const char *c = json_string_value(json_array_get(cols, i));
        if (!is_ident(c)) {
            orc_errf(errmsg, len, "'%s': bad column name", table);
            return ORC_EINVAL;
        }
        orc_buf_printf(sql, "%s%s", i ? ", " : "", c);
    }
    orc_buf_puts(sql, ") VALUES (");
    for (size_t i = 0; i < n; i++)
        orc_buf_puts(sql, i ? ", ?" : "?");
    return orc_buf_puts(sql, ")");
}

static int restore_table(struct be *be,
                         const char *table,
                         const json_t *t,
                         char *errmsg,
                         size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    const json_t *cols = json_object_get(t, "Columns"), *rows = json_object_get(t, "Rows");
    char del[128];
    int rc;

    snprintf(del, sizeof(del), "DELETE FROM %s", table);
    rc = be_exec(be, del, NULL, 0, NULL, errmsg, len);
    if (rc == 0 && json_array_size(rows) > 0)
        rc = insert_sql(table, cols, &sql, errmsg, len);
    for (size_t i = 0; rc == 0 && i < json_array_size(rows); i++)
        rc = insert_row(be, orc_buf_str(&sql), json_array_get(rows, i), json_array_size(cols),
                        errmsg, len);
    orc_buf_release(&sql);
    if (rc != 0)
        orc_errprefix(errmsg, len, "restore '%s'", table);
    return rc;
}

static int restore_tables(struct be *be, const json_t *tabs, char *errmsg, size_t len)
{
    const char *name;
    const json_t *t;
    int rc = be_begin(be, errmsg, len);

    /* Tables the document lacks are emptied: the snapshot is the whole state. */
    for (size_t i = 0; rc == 0 && i < ORC_ARRAY_LEN(tables); i++)
        if (json_object_get(tabs, tables[i]) == NULL)
            rc = restore_table(be, tables[i], NULL, errmsg, len);
    json_object_foreach((json_t *)tabs, name, t)
    {
        if (rc != 0)
            break;
        if (!is_table(name)) {
            ORC_LOG_W("+raft-snapshot-skip", "table=%s reason=\"not replicated here\"", name);
            continue;
        }
        rc = restore_table(be, name, t, errmsg, len);
    }
    /* the term of the restored index is the snapshot's, not known here */
    if (rc == 0)
        rc = be_exec(be, "UPDATE raft_log_identity SET applied_term = 0", NULL, 0, NULL, errmsg,
                     len);
    if (rc == 0)
        return be_commit(be, errmsg, len);
    be_rollback(be, NULL, 0);
    return rc;
}

/* Annotations the live topology holds before the restore. */
struct old_state {
    struct be_downtime_list dl;
    struct be_candidate_list cl;
    struct be_alias_list al;
    struct be_maintenance_list ml;
};

static void old_state_read(struct orc_fsm *f, struct old_state *o)
{
    int64_t now = orc_wall_s();

    memset(o, 0, sizeof(*o));
    be_downtime_list_active(f->be, now, &o->dl, NULL, 0);
    be_candidate_list(f->be, 0, &o->cl, NULL, 0);
    be_alias_list(f->be, &o->al, NULL, 0);
    be_maintenance_list_active(f->be, now, &o->ml, NULL, 0);
}

static void old_state_free(struct old_state *o)
{
    be_downtime_list_free(&o->dl);
    be_candidate_list_free(&o->cl);
    be_alias_list_free(&o->al);
    be_maintenance_list_free(&o->ml);
}

static void clear_stale_maintenance(struct orc_fsm *f, struct old_state *o, struct old_state *n)
{
    for (size_t i = 0; i < o->ml.n; i++) {
        bool keep = false;
        for (size_t j = 0; j < n->ml.n && !keep; j++)
            keep = orc_key_eq(&o->ml.v[i].key, &n->ml.v[j].key);
        if (!keep)
            disc_topo_set_maintenance(f->topo, &o->ml.v[i].key, false, "", "");
    }
}

/* Clears, in the live topology, annotations of the old state that the
 * restored backend no longer has; orc_fsm_restore then sets the new ones. */
static void clear_stale(struct orc_fsm *f, struct old_state *o)
{
    struct old_state n;

    old_state_read(f, &n);
    clear_stale_maintenance(f, o, &n);
    for (size_t i = 0; i < o->dl.n; i++) {
        bool keep = false;
        for (size_t j = 0; j < n.dl.n && !keep; j++)
            keep = orc_key_eq(&o->dl.v[i].key, &n.dl.v[j].key);
        if (!keep)
            disc_topo_end_downtime(f->topo, &o->dl.v[i].key);
    }
    for (size_t i = 0; i < o->cl.n; i++) {
        bool keep = false;
        for (size_t j = 0; j < n.cl.n && !keep; j++)
            keep = orc_key_eq(&o->cl.v[i].key, &n.cl.v[j].key);
        if (!keep)
            disc_topo_set_promotion_rule(f->topo, &o->cl.v[i].key, "", 0);
    }
    for (size_t i = 0; i < o->al.n; i++) {
        bool keep = false;
        for (size_t j = 0; j < n.al.n && !keep; j++)
            keep = strcmp(o->al.v[i].cluster_name, n.al.v[j].cluster_name) == 0;
        if (!keep)
            disc_topo_set_cluster_alias(f->topo, o->al.v[i].cluster_name, "");
    }
    old_state_free(&n);
}

static void discover_missing(struct orc_fsm *f, const json_t *keys)
{
    struct disc_snapshot *s;
    size_t i;
    const json_t *k;

    if (f->topo == NULL)
        return;
    s = disc_topo_snapshot(f->topo);
    json_array_foreach(keys, i, k)
    {
        struct orc_key key;
        const char *h = json_string_value(json_object_get(k, "Hostname"));
        json_int_t p = json_integer_value(json_object_get(k, "Port"));

        if (h == NULL || p <= 0 || p > 65535 || orc_strlcpy(key.host, h, sizeof(key.host)) != 0)
            continue;
        key.port = (int)p;
        if (s == NULL || disc_snapshot_find(s, &key) < 0)
            disc_topo_discover(f->topo, &key, false, NULL, NULL, 0);
    }
    if (s != NULL)
        disc_snapshot_put(s);
}

int orc_fsm_snapshot_restore(struct orc_fsm *f,
                             const void *data,
                             size_t n,
                             json_t **extra,
                             char *errmsg,
                             size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb(data, n, 0, &jerr);
    struct old_state old;
    int rc;

    if (extra != NULL)
        *extra = NULL;
    if (doc == NULL || json_integer_value(json_object_get(doc, "Version")) != SNAPSHOT_VERSION ||
        !json_is_object(json_object_get(doc, "Tables"))) {
        orc_errf(errmsg, len, "snapshot: not a version %d document%s%s", SNAPSHOT_VERSION,
                 doc ? "" : ": ", doc ? "" : jerr.text);
        json_decref(doc);
        return ORC_EINVAL;
    }
    old_state_read(f, &old);
    pthread_mutex_lock(&f->lock);
    rc = restore_tables(f->be, json_object_get(doc, "Tables"), errmsg, len);
    pthread_mutex_unlock(&f->lock);
    if (rc == 0 && f->topo != NULL) {
        clear_stale(f, &old);
        rc = orc_fsm_restore(f, errmsg, len);
        discover_missing(f, json_object_get(doc, "Instances"));
    }
    old_state_free(&old);
    if (rc == 0 && extra != NULL)
        *extra = json_incref(json_object_get(doc, "Raft"));
    json_decref(doc);
    if (rc != 0)
        orc_errprefix(errmsg, len, "snapshot restore");
    return rc;
}
