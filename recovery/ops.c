/*
 * ops: MySQL operations on topology instances, through a session that keeps
 * one connection per instance. Every statement is logged (never one that
 * carries a password) with the event +sql.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config_live.h"
#include "recovery/rec.h"
#include "recovery/hooks.h"
#include "recovery/ops.h"

struct sess_conn {
    struct orc_key key;
    struct disc_conn *conn;
};

struct rec_session {
    struct rec_session_options o;
    struct sess_conn *v;
    size_t n, cap;
};

int rec_session_new(const struct rec_session_options *o, struct rec_session **out)
{
    struct rec_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return ORC_ENOMEM;
    s->o = *o;
    *out = s;
    return 0;
}

json_t *rec_key_json(const struct orc_key *k)
{
    return json_pack("{s:s, s:i}", "Hostname", k->host, "Port", k->port);
}

void rec_session_free(struct rec_session *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        disc_conn_close(s->v[i].conn);
    free(s->v);
    free(s);
}

static int get_conn(struct rec_session *s,
                    const struct orc_key *k,
                    struct disc_conn **out,
                    char *errmsg,
                    size_t len)
{
    int rc;

    for (size_t i = 0; i < s->n; i++) {
        if (orc_key_eq(&s->v[i].key, k)) {
            *out = s->v[i].conn;
            return 0;
        }
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        struct sess_conn *nv = realloc(s->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ORC_ENOMEM;
        s->v = nv;
        s->cap = nc;
    }
    rc = disc_conn_open(out, k, &s->o.conn, errmsg, len);
    if (rc != 0)
        return rc;
    s->v[s->n].key = *k;
    s->v[s->n++].conn = *out;
    return 0;
}

int rec_read(struct rec_session *s,
             const struct orc_key *k,
             struct disc_instance *out,
             char *errmsg,
             size_t len)
{
    struct orc_key key = *k; /* k may point into *out, which the probe resets */
    struct disc_conn *c;
    int rc = get_conn(s, &key, &c, errmsg, len);

    if (rc != 0)
        return rc;
    return disc_probe_run(&disc_conn_mysql_ops, c, s->o.probe, &key, out, errmsg, len);
}

int rec_exec(struct rec_session *s,
             const struct orc_key *k,
             const char *sql,
             bool secret,
             char *errmsg,
             size_t len)
{
    struct disc_conn *c;
    struct disc_rs *rs = NULL;
    int64_t t0 = orc_mono_us();
    int rc = get_conn(s, k, &c, errmsg, len);

    if (rc == 0)
        rc = disc_conn_mysql_ops.query(c, sql, &rs, errmsg, len);
    disc_rs_free(rs);
    if (rc != 0)
        orc_errprefix(errmsg, len, "%s:%d: %s", k->host, k->port, secret ? "(statement)" : sql);
    ORC_LOG_I("+sql", "instance=%s:%d ok=%d us=%lld statement=\"%s\"", k->host, k->port, rc == 0,
              (long long)(orc_mono_us() - t0), secret ? "(hidden: has a password)" : sql);
    return rc;
}

int rec_exec_sql(struct rec_session *s,
                 const struct disc_instance *in,
                 enum disc_sql which,
                 char *errmsg,
                 size_t len)
{
    const char *sql = disc_flavor_sql(&in->ver, which);

    if (sql == NULL)
        return 0; /* the flavor has no such statement: nothing to do */
    return rec_exec(s, &in->key, sql, false, errmsg, len);
}

int rec_stop_replica(struct rec_session *s,
                     const struct disc_instance *in,
                     char *errmsg,
                     size_t len)
{
    return rec_exec_sql(s, in, DISC_SQL_STOP_REPLICA, errmsg, len);
}

int rec_start_replica(struct rec_session *s,
                      const struct disc_instance *in,
                      char *errmsg,
                      size_t len)
{
    return rec_exec_sql(s, in, DISC_SQL_START_REPLICA, errmsg, len);
}

int rec_stop_io_thread(struct rec_session *s,
                       const struct disc_instance *in,
                       char *errmsg,
                       size_t len)
{
    return rec_exec_sql(s, in, DISC_SQL_STOP_REPLICA_IO, errmsg, len);
}

int rec_reset_replica_all(struct rec_session *s,
                          const struct disc_instance *in,
                          char *errmsg,
                          size_t len)
{
    int rc = rec_stop_replica(s, in, errmsg, len);

    if (rc == 0)
        rc = rec_exec_sql(s, in, DISC_SQL_RESET_REPLICA_ALL, errmsg, len);
    return rc;
}

int rec_set_read_only(struct rec_session *s,
                      const struct disc_instance *in,
                      bool on,
                      bool super,
                      char *errmsg,
                      size_t len)
{
    int rc;

    if (on) {
        rc = rec_exec_sql(s, in, DISC_SQL_READ_ONLY_ON, errmsg, len);
        if (rc == 0 && super)
            rc = rec_exec_sql(s, in, DISC_SQL_SUPER_READ_ONLY_ON, errmsg, len);
        return rc;
    }
    rc = rec_exec_sql(s, in, DISC_SQL_SUPER_READ_ONLY_OFF, errmsg, len);
    if (rc == 0)
        rc = rec_exec_sql(s, in, DISC_SQL_READ_ONLY_OFF, errmsg, len);
    return rc;
}

static int change_master(struct rec_session *s,
                         const struct disc_instance *in,
                         const struct disc_change_master *cm,
                         bool start,
                         char *errmsg,
                         size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    int rc = rec_stop_replica(s, in, errmsg, len);

    if (rc == 0)
        rc = disc_flavor_change_master_sql(&in->ver, cm, &sql, errmsg, len);
    if (rc == 0)
        rc = rec_exec(s, &in->key, orc_buf_str(&sql), cm->password != NULL, errmsg, len);
    if (rc == 0 && start)
        rc = rec_start_replica(s, in, errmsg, len);
    orc_buf_release(&sql);
    return rc;
}

int rec_change_master_gtid(struct rec_session *s,
                           const struct disc_instance *in,
                           const struct orc_key *master,
                           bool start,
                           char *errmsg,
                           size_t len)
{
    struct disc_change_master cm;

    memset(&cm, 0, sizeof(cm));
    cm.host = master->host;
    cm.port = master->port;
    cm.use_gtid = true;
    return change_master(s, in, &cm, start, errmsg, len);
}

int rec_change_master_coords(struct rec_session *s,
                             const struct disc_instance *in,
                             const struct orc_key *master,
                             const struct disc_coords *at,
                             bool start,
                             char *errmsg,
                             size_t len)
{
    struct disc_change_master cm;

    memset(&cm, 0, sizeof(cm));
    cm.host = master->host;
    cm.port = master->port;
    cm.log_file = at->file;
    cm.log_pos = at->pos;
    return change_master(s, in, &cm, start, errmsg, len);
}

static int64_t file_number(const char *f)
{
    const char *dot = strrchr(f, '.');
    int64_t n = -1;

    if (dot != NULL)
        orc_parse_int64(dot + 1, 0, INT64_MAX, &n);
    return n;
}

int rec_coords_cmp(const struct disc_coords *a, const struct disc_coords *b)
{
    int64_t fa = file_number(a->file), fb = file_number(b->file);
    int c;

    if (fa != fb)
        return fa < fb ? -1 : 1;
    c = strcmp(a->file, b->file);
    if (c != 0)
        return c;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* Polls the replica until done(in) or timeout. */
static int wait_until(struct rec_session *s,
                      const struct orc_key *k,
                      int64_t timeout_ms,
                      bool (*done)(const struct disc_instance *, const void *),
                      const void *arg,
                      struct disc_instance *out,
                      char *errmsg,
                      size_t len)
{
    int64_t deadline = orc_mono_ms() + timeout_ms;
    int64_t pause = 2;

    for (;;) {
        int rc = rec_read(s, k, out, errmsg, len);
        if (rc != 0)
            return rc;
        if (done(out, arg))
            return 0;
        if (out->sql_state != DISC_THREAD_RUNNING) {
            orc_errf(errmsg, len, "%s:%d: SQL thread is not running: %s", k->host, k->port,
                     disc_str(out->last_sql_error));
            return ORC_ESTATE;
        }
        if (orc_mono_ms() >= deadline) {
            orc_errf(errmsg, len, "%s:%d: timed out after %lld ms", k->host, k->port,
                     (long long)timeout_ms);
            return ORC_ETIMEDOUT;
        }
        orc_sleep_ms(pause);
        if (pause < 8) /* waits here hold a master read-only: keep them short */
            pause *= 2;
    }
}

static bool relay_applied(const struct disc_instance *in, const void *arg)
{
    (void)arg;
    return rec_coords_cmp(&in->exec_coords, &in->read_coords) >= 0;
}

static bool exec_reaches(const struct disc_instance *in, const void *arg)
{
    return rec_coords_cmp(&in->exec_coords, arg) >= 0;
}

int rec_wait_relay_applied(struct rec_session *s,
                           const struct orc_key *k,
                           int64_t timeout_ms,
                           struct disc_instance *out,
                           char *errmsg,
                           size_t len)
{
    return wait_until(s, k, timeout_ms, relay_applied, NULL, out, errmsg, len);
}

int rec_wait_exec_reaches(struct rec_session *s,
                          const struct orc_key *k,
                          const struct disc_coords *target,
                          int64_t timeout_ms,
                          struct disc_instance *out,
                          char *errmsg,
                          size_t len)
{
    return wait_until(s, k, timeout_ms, exec_reaches, target, out, errmsg, len);
}

void rec_env_session_options(const struct rec_env *env, struct rec_session_options *out)
{
    const struct orc_config *c = env->cfg;

    memset(out, 0, sizeof(*out));
    out->conn.user = c->MySQLTopologyUser;
    out->conn.password = c->MySQLTopologyPassword;
    out->conn.connect_timeout_s = (int)c->MySQLConnectTimeoutSeconds;
    out->conn.read_timeout_s = (int)c->MySQLTopologyReadTimeoutSeconds;
    out->conn.write_timeout_s = (int)c->MySQLTopologyReadTimeoutSeconds;
    disc_conn_options_tls(&out->conn, c);
    out->probe = env->probe;
}

void rec_env_pin(const struct rec_env *env, struct rec_env *out)
{
    *out = *env;
    out->kv = rec_kv_of(env);
    if (env->live != NULL)
        out->cfg = orc_config_live_acquire(env->live, NULL);
}

void rec_env_unpin(struct rec_env *pinned)
{
    if (pinned->live != NULL && pinned->cfg != NULL)
        orc_config_live_put(pinned->cfg);
    pinned->cfg = NULL;
}

bool rec_env_leader(const struct rec_env *env)
{
    return env->is_leader == NULL || env->is_leader(env->node);
}

uint64_t rec_env_epoch(const struct rec_env *env)
{
    if (!rec_env_leader(env))
        return 0;
    return env->leader_epoch != NULL ? env->leader_epoch(env->node) : 1;
}

/* A leader that stalled "tilts" for an election timeout (raft.c) and is not
 * the leader meanwhile; if it still leads in the same term afterwards, no
 * other node led in between (it would hold a newer term). So a run waits
 * this long for its epoch to come back before it gives up. */
#define TILT_WAIT_MS 600

bool rec_env_still_leader(const struct rec_env *env, uint64_t epoch)
{
    int64_t deadline;
    uint64_t e;

    if (epoch == 0)
        return false;
    e = rec_env_epoch(env);
    if (e != 0)
        return e == epoch; /* the same leadership, or a new one */
    deadline = orc_mono_ms() + TILT_WAIT_MS;
    while (orc_mono_ms() < deadline) {
        usleep(20000);
        e = rec_env_epoch(env);
        if (e != 0)
            return e == epoch;
    }
    return false;
}

int rec_query_value(struct rec_session *s,
                    const struct orc_key *k,
                    const char *sql,
                    char *out,
                    size_t outlen,
                    char *errmsg,
                    size_t len)
{
    struct disc_conn *c;
    struct disc_rs *rs = NULL;
    const char *v;
    int rc = get_conn(s, k, &c, errmsg, len);

    if (rc == 0)
        rc = disc_conn_mysql_ops.query(c, sql, &rs, errmsg, len);
    if (rc == 0) {
        v = disc_rs_get(rs, 0, 0);
        orc_strlcpy(out, v ? v : "", outlen);
        if (v == NULL && rs->nrows == 0) {
            orc_errf(errmsg, len, "no result");
            rc = ORC_EMYSQL;
        }
    }
    disc_rs_free(rs);
    if (rc != 0)
        orc_errprefix(errmsg, len, "%s:%d", k->host, k->port);
    ORC_LOG_I("+sql", "instance=%s:%d ok=%d statement=\"%s\" result=\"%s\"", k->host, k->port,
              rc == 0, sql, rc == 0 ? out : "");
    return rc;
}

int rec_query_rs(struct rec_session *s,
                 const struct orc_key *k,
                 const char *sql,
                 struct disc_rs **out,
                 char *errmsg,
                 size_t len)
{
    struct disc_conn *c;
    int rc = get_conn(s, k, &c, errmsg, len);

    *out = NULL;
    if (rc == 0)
        rc = disc_conn_mysql_ops.query(c, sql, out, errmsg, len);
    if (rc != 0)
        orc_errprefix(errmsg, len, "%s:%d: %s", k->host, k->port, sql);
    ORC_LOG_I("+sql", "instance=%s:%d ok=%d statement=\"%s\" rows=%zu", k->host, k->port, rc == 0,
              sql, rc == 0 && *out != NULL ? (*out)->nrows : 0);
    return rc;
}

int rec_wait_gtid(struct rec_session *s,
                  const struct disc_instance *in,
                  const char *gtid,
                  int64_t timeout_ms,
                  char *errmsg,
                  size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    char v[32];
    int rc;

    orc_buf_puts(&sql, disc_version_is_mysql(&in->ver) ? "SELECT WAIT_FOR_EXECUTED_GTID_SET("
                                                       : "SELECT MASTER_GTID_WAIT(");
    disc_sql_quote(&sql, gtid);
    orc_buf_printf(&sql, ", %.3f)", (double)timeout_ms / 1000.0);
    rc = rec_query_value(s, &in->key, orc_buf_str(&sql), v, sizeof(v), errmsg, len);
    orc_buf_release(&sql);
    if (rc == 0 && strcmp(v, "0") != 0) {
        orc_errf(errmsg, len, "%s:%d: GTID '%s' not reached within %lld ms", in->key.host,
                 in->key.port, gtid, (long long)timeout_ms);
        rc = ORC_ETIMEDOUT;
    }
    return rc;
}

int rec_replication_user(struct rec_session *s,
                         const struct disc_instance *in,
                         char *out,
                         size_t outlen,
                         char *errmsg,
                         size_t len)
{
    const char *sql = disc_flavor_sql(&in->ver, DISC_SQL_REPLICA_STATUS);
    struct disc_conn *c;
    struct disc_rs *rs = NULL;
    const char *u = NULL;
    int rc = get_conn(s, &in->key, &c, errmsg, len);

    out[0] = '\0';
    if (rc == 0)
        rc = disc_conn_mysql_ops.query(c, sql, &rs, errmsg, len);
    if (rc == 0 && rs->nrows > 0) {
        u = disc_rs_value(rs, 0, "Source_User");
        if (u == NULL)
            u = disc_rs_value(rs, 0, "Master_User");
    }
    /* a value from the server: kept only when it is a plain account name */
    if (u != NULL && u[0] != '\0' && strlen(u) < outlen && disc_valid_label(u, outlen))
        orc_strlcpy(out, u, outlen);
    disc_rs_free(rs);
    if (rc != 0)
        orc_errprefix(errmsg, len, "%s:%d", in->key.host, in->key.port);
    return rc;
}

void rec_hook_ctx_from_analysis(struct rec_hook_ctx *h,
                                const struct rec_analysis *a,
                                const char *host)
{
    memset(h, 0, sizeof(*h));
    h->failure_type = rec_code_name(a->code);
    h->instance_type = a->is_master ? "master" : "intermediate-master";
    h->is_master = a->is_master;
    h->is_co_master = a->is_co_master;
    h->failure_description = a->description;
    h->command = "";
    h->failed = a->key;
    h->failed_data_center = a->data_center;
    h->cluster = a->cluster_name;
    h->cluster_alias = a->cluster_alias;
    h->cluster_domain = a->cluster_domain;
    h->count_replicas = a->count_replicas;
    h->replicas = a->replicas.keys;
    h->n_replicas = a->replicas.len;
    h->is_downtimed = a->is_downtimed;
    h->auto_master_recovery = a->has_automated_master_recovery;
    h->auto_intermediate_master_recovery = a->has_automated_im_recovery;
    h->orchestrator_host = host;
}

int rec_snapshot_find(const struct rec_env *env,
                      const struct orc_key *k,
                      struct disc_snapshot **snap,
                      int *idx,
                      char *errmsg,
                      size_t len)
{
    char ks[ORC_KEY_STRLEN];
    int i;

    *snap = NULL;
    if (env->topo == NULL) {
        orc_errf(errmsg, len, "discovery is not running");
        return ORC_ESTATE;
    }
    if ((*snap = disc_topo_snapshot(env->topo)) == NULL)
        return ORC_ENOMEM;
    if (k == NULL)
        return 0;
    if ((i = disc_snapshot_find(*snap, k)) < 0) {
        orc_key_str(k, ks, sizeof(ks));
        orc_errf(errmsg, len, "instance '%s' not found", ks);
        return ORC_ENOTFOUND;
    }
    if (idx != NULL)
        *idx = i;
    return 0;
}
