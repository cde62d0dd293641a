/*
 * store: the database_instance table <-> struct disc_instance, driven by one
 * column table used for writing (batched upserts) and for loading at start.
 * Timestamps are stored as unix seconds, as everywhere in the backend.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend/be.h"
#include "discovery/topo_int.h"

enum col_type {
    C_TEXT,  /* fixed char array */
    C_HEAP,  /* char * */
    C_I64,   /* int64_t */
    C_INT,   /* int */
    C_BOOL,  /* bool */
    C_NULLI, /* struct disc_nullint: NULL when not valid */
    C_MS,    /* int64_t milliseconds stored as seconds */
    C_HOSTS, /* struct disc_keylist stored as "h:p,h:p" */
};

struct col {
    const char *name;
    enum col_type type;
    size_t off;
    size_t size; /* C_TEXT only */
};

#define F(field) offsetof(struct disc_instance, field)
#define T(name, field)                                                     \
    {                                                                      \
        name, C_TEXT, F(field), sizeof(((struct disc_instance *)0)->field) \
    }

static const struct col cols[] = {
    T("hostname", key.host),
    {"port", C_INT, F(key.port), 0},
    {"last_checked", C_MS, F(last_checked_ms), 0},
    {"last_attempted_check", C_MS, F(last_attempted_check_ms), 0},
    {"last_seen", C_MS, F(last_seen_ms), 0},
    {"last_check_partial_success", C_BOOL, F(last_check_partial_success), 0},
    {"server_id", C_I64, F(server_id), 0},
    T("server_uuid", server_uuid),
    T("version", version),
    T("version_comment", version_comment),
    {"major_version", C_INT, F(ver.major), 0},
    {"read_only", C_BOOL, F(read_only), 0},
    {"super_read_only", C_BOOL, F(super_read_only), 0},
    T("binlog_format", binlog_format),
    T("binlog_row_image", binlog_row_image),
    {"log_bin", C_BOOL, F(log_bin), 0},
    {"log_slave_updates", C_BOOL, F(log_replica_updates), 0},
    T("binary_log_file", self_coords.file),
    {"binary_log_pos", C_I64, F(self_coords.pos), 0},
    T("master_host", master_key.host),
    {"master_port", C_INT, F(master_key.port), 0},
    {"replication_sql_thread_state", C_INT, F(sql_state), 0},
    {"replication_io_thread_state", C_INT, F(io_state), 0},
    {"has_replication_filters", C_BOOL, F(has_replication_filters), 0},
    {"supports_oracle_gtid", C_BOOL, F(supports_oracle_gtid), 0},
    {"oracle_gtid", C_BOOL, F(using_oracle_gtid), 0},
    {"mariadb_gtid", C_BOOL, F(using_mariadb_gtid), 0},
    T("master_uuid", master_uuid),
    {"ancestry_uuid", C_HEAP, F(ancestry_uuid), 0},
    {"executed_gtid_set", C_HEAP, F(executed_gtid_set), 0},
    T("gtid_mode", gtid_mode),
    {"gtid_purged", C_HEAP, F(gtid_purged), 0},
    {"gtid_errant", C_HEAP, F(gtid_errant), 0},
    {"gtid_current_pos", C_HEAP, F(gtid_current_pos), 0},
    {"gtid_slave_pos", C_HEAP, F(gtid_slave_pos), 0},
    {"gtid_binlog_pos", C_HEAP, F(gtid_binlog_pos), 0},
    T("master_log_file", read_coords.file),
    {"read_master_log_pos", C_I64, F(read_coords.pos), 0},
    T("relay_master_log_file", exec_coords.file),
    {"exec_master_log_pos", C_I64, F(exec_coords.pos), 0},
    T("relay_log_file", relay_coords.file),
    {"relay_log_pos", C_I64, F(relay_coords.pos), 0},
    {"last_sql_error", C_HEAP, F(last_sql_error), 0},
    {"last_io_error", C_HEAP, F(last_io_error), 0},
    {"seconds_behind_master", C_NULLI, F(seconds_behind_master), 0},
    {"slave_lag_seconds", C_NULLI, F(replication_lag_seconds), 0},
    {"sql_delay", C_I64, F(sql_delay), 0},
    {"slave_hosts", C_HOSTS, F(replicas), 0},
    T("cluster_name", cluster_name),
    T("suggested_cluster_alias", suggested_cluster_alias),
    T("data_center", data_center),
    T("region", region),
    T("physical_environment", physical_environment),
    {"replication_depth", C_INT, F(replication_depth), 0},
    {"is_co_master", C_BOOL, F(is_co_master), 0},
    {"has_replication_credentials", C_BOOL, F(has_replication_credentials), 0},
    {"allow_tls", C_BOOL, F(allow_tls), 0},
    {"semi_sync_available", C_BOOL, F(semi_sync_available), 0},
    {"semi_sync_master_enabled", C_BOOL, F(semi_sync_master_enabled), 0},
    {"semi_sync_master_timeout", C_I64, F(semi_sync_master_timeout), 0},
    {"semi_sync_master_wait_for_slave_count", C_I64, F(semi_sync_master_wait_for_replica_count), 0},
    {"semi_sync_replica_enabled", C_BOOL, F(semi_sync_replica_enabled), 0},
    {"semi_sync_master_status", C_BOOL, F(semi_sync_master_status), 0},
    {"semi_sync_master_clients", C_I64, F(semi_sync_master_clients), 0},
    {"semi_sync_replica_status", C_BOOL, F(semi_sync_replica_status), 0},
    T("instance_alias", instance_alias),
    {"last_discovery_latency", C_I64, F(last_discovery_latency_us), 0},
    {"uptime", C_I64, F(uptime), 0},
};

#define NCOLS ORC_ARRAY_LEN(cols)

/* Values of one column of one row; text points into the instance or into
 * scratch (which must outlive the upsert). */
static struct be_val col_value(const struct col *c,
                               const struct disc_instance *in,
                               struct orc_buf *scratch)
{
    const char *p = (const char *)in + c->off;

    switch (c->type) {
        case C_TEXT:
            return BE_VTEXT(p);
        case C_HEAP:
            return BE_VTEXT(disc_str(*(char *const *)p));
        case C_I64:
            return BE_VINT(*(const int64_t *)p);
        case C_INT:
            return BE_VINT(*(const int *)p);
        case C_BOOL:
            return BE_VINT(*(const bool *)p ? 1 : 0);
        case C_MS:
            return BE_VINT(*(const int64_t *)p / 1000);
        case C_NULLI: {
            const struct disc_nullint *ni = (const void *)p;
            return ni->valid ? BE_VINT(ni->value) : BE_VNULL;
        }
        case C_HOSTS: {
            const struct disc_keylist *l = (const void *)p;
            char ks[ORC_KEY_STRLEN];
            orc_buf_reset(scratch);
            for (size_t i = 0; i < l->len; i++)
                orc_buf_printf(scratch, "%s%s", i ? "," : "",
                               orc_key_str(&l->keys[i], ks, sizeof(ks)));
            return BE_VTEXT(strdup(orc_buf_str(scratch))); /* freed by the caller */
        }
    }
    return BE_VNULL;
}

int topo_store_save(struct be *be,
                    const struct disc_instance *const *rows,
                    size_t n,
                    char *errmsg,
                    size_t len)
{
    const char *names[NCOLS];
    struct be_val *vals = calloc(n * NCOLS, sizeof(*vals));
    struct orc_buf scratch = ORC_BUF_INIT;
    int rc;

    if (be == NULL)
        return 0;
    if (vals == NULL)
        return ORC_ENOMEM;
    for (size_t c = 0; c < NCOLS; c++)
        names[c] = cols[c].name;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < NCOLS; c++)
            vals[r * NCOLS + c] = col_value(&cols[c], rows[r], &scratch);
    rc = be_upsert(be, "database_instance", names, NCOLS, 2, vals, n, errmsg, len);
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < NCOLS; c++)
            if (cols[c].type == C_HOSTS)
                free((char *)vals[r * NCOLS + c].s);
    orc_buf_release(&scratch);
    free(vals);
    return rc;
}

int disc_topo_snapshot_topologies(struct disc_topo *t,
                                  int64_t purge_before,
                                  int64_t *count,
                                  char *errmsg,
                                  size_t len)
{
    if (t->o.be == NULL) {
        orc_errf(errmsg, len, "no backend");
        return ORC_ESTATE;
    }
    return be_topology_snapshot(t->o.be, orc_wall_s(), purge_before, count, errmsg, len);
}

int topo_store_delete(struct be *be, const struct orc_key *k, char *errmsg, size_t len)
{
    struct be_val p[2] = {BE_VTEXT(k->host), BE_VINT(k->port)};

    if (be == NULL)
        return 0;
    return be_exec(be, "DELETE FROM database_instance WHERE hostname = ? AND port = ?", p, 2, NULL,
                   errmsg, len);
}

static void set_field(const struct col *c, struct disc_instance *in, const char *v)
{
    char *p = (char *)in + c->off;
    int64_t x = 0;

    if (v != NULL && c->type != C_TEXT && c->type != C_HEAP && c->type != C_HOSTS)
        orc_parse_int64(v, INT64_MIN, INT64_MAX, &x);
    switch (c->type) {
        case C_TEXT:
            orc_strlcpy(p, v ? v : "", c->size);
            break;
        case C_HEAP:
            disc_instance_set_str((char **)(void *)p, v);
            break;
        case C_I64:
            *(int64_t *)(void *)p = x;
            break;
        case C_INT:
            *(int *)(void *)p = (int)x;
            break;
        case C_BOOL:
            *(bool *)(void *)p = x != 0;
            break;
        case C_MS:
            *(int64_t *)(void *)p = x * 1000;
            break;
        case C_NULLI: {
            struct disc_nullint *ni = (void *)p;
            ni->valid = v != NULL;
            ni->value = x;
            break;
        }
        case C_HOSTS: {
            struct disc_keylist *l = (void *)p;
            const char *s = v ? v : "";
            while (*s) {
                char one[ORC_KEY_STRLEN];
                size_t k = strcspn(s, ",");
                struct orc_key key;
                if (k < sizeof(one)) {
                    memcpy(one, s, k);
                    one[k] = '\0';
                    if (orc_key_parse(one, 3306, &key) == 0)
                        disc_keylist_add(l, &key);
                }
                s += k;
                if (*s == ',')
                    s++;
            }
            break;
        }
    }
}

static int load_row(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    struct disc_topo *t = ctx;
    struct disc_instance in;
    struct orc_key k;
    struct entry *e;

    (void)names;
    if (ncols != (int)NCOLS)
        return ORC_EDB;
    disc_instance_init(&in);
    for (size_t c = 0; c < NCOLS; c++)
        set_field(&cols[c], &in, vals[c]);
    k = in.key;
    e = orc_key_valid(&k) ? topo_add(t, &k) : NULL;
    if (e != NULL) {
        e->last_checked_ms = in.last_checked_ms;
        e->last_seen_ms = in.last_seen_ms;
        e->last_attempted_ms = in.last_attempted_check_ms;
        e->seen = in.last_seen_ms > 0;
        disc_version_parse(in.version, in.version_comment, &in.ver);
        disc_instance_release(e->inst); /* loaded before any snapshot: not shared */
        *e->inst = in;                  /* moved */
    } else {
        disc_instance_release(&in);
    }
    return 0;
}

int topo_store_load(struct disc_topo *t, char *errmsg, size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    int rc;

    orc_buf_puts(&sql, "SELECT ");
    for (size_t c = 0; c < NCOLS; c++)
        orc_buf_printf(&sql, "%s%s", c ? ", " : "", cols[c].name);
    orc_buf_puts(&sql, " FROM database_instance ORDER BY hostname, port");
    rc = be_query(t->o.be, orc_buf_str(&sql), NULL, 0, load_row, t, errmsg, len);
    orc_buf_release(&sql);
    if (rc == 0)
        ORC_LOG_N("+topology-loaded", "instances=%zu", t->n);
    return rc;
}
