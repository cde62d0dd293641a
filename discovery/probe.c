/*
 * The probe: reads one instance over the MySQL seam into a struct
 * disc_instance (orchestrator's ReadTopologyInstance, reference section 5).
 * Every statement runs on the caller's one connection, in as few round
 * trips as the flavors allow: the variables come in one SELECT, MariaDB's
 * built-in semi-sync variables ride along with them.
 *
 * Steps that orchestrator treats as mandatory (variables, replica status,
 * binlog coordinates, replica hosts, ReplicationLagQuery) fail the probe;
 * the others (status, semi-sync, Detect* queries) are logged and skipped
 * when the server rejects them. A dropped connection fails the probe at
 * any step.
 */
#include "discovery/disc.h"

#include <stdio.h>
#include <string.h>

/* A statement answered ahead of time by the batch (query_batch). */
struct prefetched {
    const char *sql; /* borrowed: static or the probe's vars_sql */
    struct disc_rs *rs;
    int rc;
    char err[ORC_ERRMSG_SIZE];
};

#define PROBE_BATCH_MAX 8

struct probe {
    const struct disc_conn_ops *ops;
    void *conn;
    const struct disc_probe_options *o;
    struct disc_instance *in;
    char keystr[ORC_KEY_STRLEN];
    char *errmsg;
    size_t len;
    struct orc_buf vars_sql; /* the variables SELECT sent in the batch */
    struct prefetched pre[PROBE_BATCH_MAX];
    size_t npre;
    int64_t t0; /* start (orc_mono_us), for DISC_PROBE_DEADLINE_MS */
};

/* Hands over the batch's answer to sql, if it has one (each answer once). */
static bool probe_take(struct probe *p, const char *sql, struct disc_rs **rs, int *rc)
{
    for (size_t i = 0; i < p->npre; i++) {
        struct prefetched *e = &p->pre[i];

        if (e->sql == NULL || strcmp(e->sql, sql) != 0)
            continue;
        *rs = e->rs;
        *rc = e->rc;
        if (e->rc != 0)
            orc_errf(p->errmsg, p->len, "%s", e->err);
        e->sql = NULL;
        e->rs = NULL;
        return true;
    }
    return false;
}

/* Runs sql (or takes the batch's answer); on failure errmsg reads "<what>: <cause>". */
static int probe_query(struct probe *p, const char *what, const char *sql, struct disc_rs **rs)
{
    int rc;

    if (orc_mono_us() - p->t0 > (int64_t)DISC_PROBE_DEADLINE_MS * 1000) {
        *rs = NULL;
        orc_errf(p->errmsg, p->len, "%s: probe deadline (%d ms) passed", what,
                 DISC_PROBE_DEADLINE_MS);
        return ORC_ETIMEDOUT;
    }
    if (!probe_take(p, sql, rs, &rc))
        rc = p->ops->query(p->conn, sql, rs, p->errmsg, p->len);
    if (rc != 0) {
        disc_rs_free(*rs);
        *rs = NULL;
        orc_errprefix(p->errmsg, p->len, "%s", what);
    }
    return rc;
}

/* An optional step failed: the server said no (privileges, missing table)
 * or its answer did not parse. Log it and go on; connection errors stop. */
static int probe_optional(struct probe *p, int rc, const char *what)
{
    if (rc == ORC_EMYSQL || rc == ORC_EINVAL) {
        ORC_LOG_I("+probe-step-skipped", "key=%s step=%s error=%s", p->keystr, what, p->errmsg);
        p->errmsg[0] = '\0';
        return 0;
    }
    return rc;
}

/* Learns flavor and version: from the handshake, else with one SELECT. */
static int probe_version(struct probe *p, struct disc_version *v)
{
    const char *hs = p->ops->server_version ? p->ops->server_version(p->conn) : NULL;
    struct disc_rs *rs = NULL;
    int rc;

    if (hs != NULL && disc_version_parse(hs, NULL, v) == 0)
        return 0;
    rc = probe_query(p, "version",
                     "SELECT @@global.version AS version, @@global.version_comment AS "
                     "version_comment",
                     &rs);
    if (rc == 0 && disc_version_parse(disc_rs_value(rs, 0, "version"),
                                      disc_rs_value(rs, 0, "version_comment"), v) != 0) {
        orc_errf(p->errmsg, p->len, "version: cannot parse '%s'",
                 disc_str(disc_rs_value(rs, 0, "version")));
        rc = ORC_EINVAL;
    }
    disc_rs_free(rs);
    return rc;
}

static int probe_variables_once(struct probe *p, const struct disc_version *v)
{
    struct orc_buf sql = ORC_BUF_INIT;
    struct disc_rs *rs = NULL;
    int rc = disc_flavor_variables_sql(v, &sql);

    if (rc != 0) {
        orc_errf(p->errmsg, p->len, "variables: out of memory");
        return rc;
    }
    rc = probe_query(p, "variables", orc_buf_str(&sql), &rs);
    if (rc == 0)
        rc = disc_parse_variables(rs, p->in, p->errmsg, p->len);
    disc_rs_free(rs);
    orc_buf_release(&sql);
    return rc;
}

/* The mandatory variables. If the server turns out to be another flavor
 * than the handshake said (a proxy in between), ask again in its dialect. */
static int probe_variables(struct probe *p, const struct disc_version *v)
{
    int rc = probe_variables_once(p, v);

    if (rc == 0 && (p->in->ver.flavor != DISC_FLAVOR_UNKNOWN &&
                    disc_version_is_mysql(&p->in->ver) != disc_version_is_mysql(v)))
        rc = probe_variables_once(p, &p->in->ver);
    return rc;
}

/* Sends the statements every probe needs in one round trip; the steps then
 * take their answers from p->pre. Statements after a failing one did not
 * run and are sent again on their own if a step still needs them. */
static int probe_prefetch(struct probe *p, const struct disc_version *v)
{
    const char *sql[PROBE_BATCH_MAX];
    struct disc_rs *outs[PROBE_BATCH_MAX];
    int rcs[PROBE_BATCH_MAX];
    size_t n = 0;
    int rc;

    if (p->ops->query_batch == NULL || disc_flavor_variables_sql(v, &p->vars_sql) != 0)
        return 0; /* one at a time */
    sql[n++] = orc_buf_str(&p->vars_sql);
    sql[n++] = disc_flavor_sql(v, DISC_SQL_REPLICA_STATUS);
    sql[n++] = disc_flavor_sql(v, DISC_SQL_MASTER_STATUS);
    sql[n++] = disc_flavor_sql(v, DISC_SQL_STATUS);
    if (disc_flavor_sql(v, DISC_SQL_SEMI_SYNC_VARIABLES) != NULL)
        sql[n++] = disc_flavor_sql(v, DISC_SQL_SEMI_SYNC_VARIABLES);
    sql[n++] =
        disc_flavor_sql(v, p->o->discover_by_show_slave_hosts ? DISC_SQL_REPLICA_HOSTS
                                                              : DISC_SQL_PROCESSLIST_REPLICAS);
    rc = p->ops->query_batch(p->conn, sql, n, outs, rcs, p->errmsg, p->len);
    if (rc != 0) {
        orc_errprefix(p->errmsg, p->len, "batch");
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (rcs[i] == ORC_ESTATE)
            continue; /* did not run */
        p->pre[p->npre].sql = sql[i];
        p->pre[p->npre].rs = outs[i];
        p->pre[p->npre].rc = rcs[i];
        (void)orc_strlcpy(p->pre[p->npre].err, rcs[i] != 0 ? p->errmsg : "", sizeof(p->pre[0].err));
        p->npre++;
    }
    p->errmsg[0] = '\0';
    return 0;
}

static void probe_release(struct probe *p)
{
    for (size_t i = 0; i < p->npre; i++)
        disc_rs_free(p->pre[i].rs);
    p->npre = 0;
    orc_buf_release(&p->vars_sql);
}

static int probe_replica_status(struct probe *p)
{
    struct disc_rs *rs = NULL;
    int rc = probe_query(p, "replica status", disc_flavor_sql(&p->in->ver, DISC_SQL_REPLICA_STATUS),
                         &rs);

    if (rc == 0)
        rc = disc_parse_replica_status(rs, p->in, p->errmsg, p->len);
    disc_rs_free(rs);
    return rc;
}

static int probe_master_status(struct probe *p)
{
    struct disc_rs *rs = NULL;
    int rc;

    if (!p->in->log_bin)
        return 0;
    rc = probe_query(p, "master status", disc_flavor_sql(&p->in->ver, DISC_SQL_MASTER_STATUS), &rs);
    if (rc == 0)
        rc = disc_parse_master_status(rs, p->in, p->errmsg, p->len);
    disc_rs_free(rs);
    return rc;
}

/* Uptime and semi-sync status, then the semi-sync variables when they are
 * not part of the variables SELECT. Both optional. */
static int probe_status(struct probe *p)
{
    const char *semi = disc_flavor_sql(&p->in->ver, DISC_SQL_SEMI_SYNC_VARIABLES);
    struct disc_rs *rs = NULL;
    int rc = probe_query(p, "status", disc_flavor_sql(&p->in->ver, DISC_SQL_STATUS), &rs);

    if (rc == 0 && disc_parse_status(rs, p->in) != 0) {
        orc_errf(p->errmsg, p->len, "status: no Variable_name/Value columns");
        rc = ORC_EINVAL;
    }
    disc_rs_free(rs);
    rc = probe_optional(p, rc, "status");
    if (rc != 0 || semi == NULL)
        return rc;
    rc = probe_query(p, "semi-sync variables", semi, &rs);
    if (rc == 0 && disc_parse_semi_sync_variables(rs, p->in) != 0) {
        orc_errf(p->errmsg, p->len, "semi-sync variables: no Variable_name/Value columns");
        rc = ORC_EINVAL;
    }
    disc_rs_free(rs);
    return probe_optional(p, rc, "semi-sync variables");
}

/* Runs a 1x1 query; *value is the cell (NULL for SQL NULL or no row), to
 * be freed with the returned result set by the caller. */
static int probe_scalar(struct probe *p,
                        const char *what,
                        const char *sql,
                        struct disc_rs **rs,
                        const char **value)
{
    int rc = probe_query(p, what, sql, rs);

    *value = rc == 0 ? disc_rs_get(*rs, 0, 0) : NULL;
    return rc;
}

static int probe_lag_query(struct probe *p)
{
    struct disc_rs *rs = NULL;
    const char *v;
    int64_t lag;
    int rc;

    if (p->o->replication_lag_query == NULL || p->o->replication_lag_query[0] == '\0')
        return 0;
    rc = probe_scalar(p, "ReplicationLagQuery", p->o->replication_lag_query, &rs, &v);
    if (rc == 0) {
        p->in->replication_lag_seconds.valid = false;
        p->in->replication_lag_seconds.value = 0;
        if (v != NULL && orc_parse_int64(v, INT64_MIN, INT64_MAX, &lag) == 0) {
            p->in->replication_lag_seconds.valid = true;
            p->in->replication_lag_seconds.value = lag < 0 ? 0 : lag;
        } else if (v != NULL) {
            orc_errf(p->errmsg, p->len, "ReplicationLagQuery: not an integer: '%s'", v);
            rc = ORC_EINVAL;
        }
    }
    disc_rs_free(rs);
    return rc;
}

static int probe_replicas(struct probe *p)
{
    struct disc_rs *rs = NULL;
    int rc = 0;

    if (p->o->discover_by_show_slave_hosts) {
        rc = probe_query(p, "replica hosts", disc_flavor_sql(&p->in->ver, DISC_SQL_REPLICA_HOSTS),
                         &rs);
        if (rc == 0)
            rc = disc_parse_replica_hosts(rs, &p->in->replicas, p->errmsg, p->len);
        disc_rs_free(rs);
        rs = NULL;
    }
    if (rc != 0 || p->in->replicas.len > 0)
        return rc;
    rc = probe_query(p, "processlist replicas",
                     disc_flavor_sql(&p->in->ver, DISC_SQL_PROCESSLIST_REPLICAS), &rs);
    if (rc == 0)
        rc = disc_parse_processlist_hosts(rs, p->in->key.port, &p->in->replicas, p->errmsg, p->len);
    disc_rs_free(rs);
    /* A replica on the same host takes this instance's port: that is itself. */
    for (size_t i = 0; rc == 0 && i < p->in->replicas.len; i++) {
        if (orc_key_eq(&p->in->replicas.keys[i], &p->in->key)) {
            p->in->replicas.keys[i] = p->in->replicas.keys[--p->in->replicas.len];
            i--;
        }
    }
    return rc;
}

/* One optional Detect* query into a fixed text field. */
static int probe_detect(struct probe *p, const char *what, const char *sql, char *field, size_t n)
{
    struct disc_rs *rs = NULL;
    const char *v;
    int rc;

    if (sql == NULL || sql[0] == '\0')
        return 0;
    rc = probe_scalar(p, what, sql, &rs, &v);
    if (rc == 0 && v != NULL && v[0] != '\0' && !disc_valid_label(v, n)) {
        disc_log_refused(what, strlen(v), "not a label ([A-Za-z0-9._:@+=/-], fits its field)");
        v = NULL;
    }
    if (rc == 0 && v != NULL)
        (void)orc_strlcpy(field, v, n);
    disc_rs_free(rs);
    return probe_optional(p, rc, what);
}

static int probe_detect_all(struct probe *p)
{
    const struct disc_probe_options *o = p->o;
    struct disc_instance *in = p->in;
    char priority[32] = "";
    int rc;

    rc = probe_detect(p, "DetectDataCenterQuery", o->detect_data_center_query, in->data_center,
                      sizeof(in->data_center));
    if (rc == 0)
        rc = probe_detect(p, "DetectRegionQuery", o->detect_region_query, in->region,
                          sizeof(in->region));
    if (rc == 0)
        rc = probe_detect(p, "DetectPhysicalEnvironmentQuery", o->detect_physical_environment_query,
                          in->physical_environment, sizeof(in->physical_environment));
    if (rc == 0)
        rc = probe_detect(p, "DetectInstanceAliasQuery", o->detect_instance_alias_query,
                          in->instance_alias, sizeof(in->instance_alias));
    if (rc == 0)
        rc = probe_detect(p, "DetectClusterAliasQuery", o->detect_cluster_alias_query,
                          in->suggested_cluster_alias, sizeof(in->suggested_cluster_alias));
    if (rc == 0 && in->master_key.host[0] == '\0') /* as orchestrator: depth 0 only */
        rc = probe_detect(p, "DetectClusterDomainQuery", o->detect_cluster_domain_query,
                          in->cluster_domain, sizeof(in->cluster_domain));
    if (rc == 0)
        rc = probe_detect(p, "DetectPromotionRuleQuery", o->detect_promotion_rule_query,
                          in->promotion_rule, sizeof(in->promotion_rule));
    if (rc == 0)
        rc = probe_detect(p, "DetectSemiSyncEnforcedQuery", o->detect_semi_sync_enforced_query,
                          priority, sizeof(priority));
    if (rc == 0 && priority[0] != '\0' &&
        orc_parse_int64(priority, INT64_MIN, INT64_MAX, &in->semi_sync_priority) != 0)
        in->semi_sync_priority = 0;
    return rc;
}

/* DataCenterPattern & co. on the hostname; Detect* queries run later and win. */
static void probe_patterns(struct probe *p)
{
    const struct disc_probe_options *o = p->o;
    struct disc_instance *in = p->in;

    if (o->dc_re_set)
        (void)disc_parse_pattern(&o->dc_re, in->key.host, in->data_center, sizeof(in->data_center));
    if (o->region_re_set)
        (void)disc_parse_pattern(&o->region_re, in->key.host, in->region, sizeof(in->region));
    if (o->env_re_set)
        (void)disc_parse_pattern(&o->env_re, in->key.host, in->physical_environment,
                                 sizeof(in->physical_environment));
}

static int probe_steps(struct probe *p)
{
    struct disc_version v;
    int rc = probe_version(p, &v);

    if (rc == 0)
        rc = probe_prefetch(p, &v);
    if (rc == 0)
        rc = probe_variables(p, &v);
    if (rc != 0)
        return rc;
    p->in->last_check_partial_success = true;
    rc = probe_replica_status(p);
    if (rc == 0)
        rc = probe_master_status(p);
    if (rc == 0)
        rc = probe_status(p);
    if (rc == 0)
        rc = probe_lag_query(p);
    if (rc == 0)
        rc = probe_replicas(p);
    if (rc != 0)
        return rc;
    probe_patterns(p);
    return probe_detect_all(p);
}

int disc_probe_run(const struct disc_conn_ops *ops,
                   void *conn,
                   const struct disc_probe_options *o,
                   const struct orc_key *key,
                   struct disc_instance *out,
                   char *errmsg,
                   size_t len)
{
    static const struct disc_probe_options no_options;
    char local[ORC_ERRMSG_SIZE];
    struct probe p = {.ops = ops,
                      .conn = conn,
                      .o = o != NULL ? o : &no_options,
                      .in = out,
                      .errmsg = errmsg,
                      .len = len,
                      .t0 = orc_mono_us()};
    int64_t t0 = p.t0;
    int rc;

    if (errmsg == NULL || len == 0) {
        p.errmsg = local;
        p.len = sizeof(local);
    }
    p.errmsg[0] = '\0';
    disc_instance_release(out);
    out->key = *key;
    orc_key_str(key, p.keystr, sizeof(p.keystr));
    rc = probe_steps(&p);
    probe_release(&p);
    out->last_discovery_latency_us = orc_mono_us() - t0;
    if (rc != 0)
        orc_errprefix(p.errmsg, p.len, "probe %s", p.keystr);
    return rc;
}

/* ---- options ---- */

static int compile_one(const char *pattern,
                       const char *name,
                       regex_t *re,
                       bool *set,
                       char *errmsg,
                       size_t len)
{
    int err;

    *set = false;
    if (pattern == NULL || pattern[0] == '\0')
        return 0;
    err = regcomp(re, pattern, REG_EXTENDED);
    if (err != 0) {
        char why[128];

        regerror(err, re, why, sizeof(why));
        orc_errf(errmsg, len, "%s '%s': %s", name, pattern, why);
        return ORC_ECONFIG;
    }
    if (re->re_nsub < 1) {
        regfree(re);
        orc_errf(errmsg, len, "%s '%s': needs one (group)", name, pattern);
        return ORC_ECONFIG;
    }
    *set = true;
    return 0;
}

int disc_probe_options_prepare(struct disc_probe_options *o, char *errmsg, size_t len)
{
    int rc = compile_one(o->data_center_pattern, "DataCenterPattern", &o->dc_re, &o->dc_re_set,
                         errmsg, len);

    if (rc == 0)
        rc = compile_one(o->region_pattern, "RegionPattern", &o->region_re, &o->region_re_set,
                         errmsg, len);
    if (rc == 0)
        rc = compile_one(o->physical_environment_pattern, "PhysicalEnvironmentPattern", &o->env_re,
                         &o->env_re_set, errmsg, len);
    if (rc != 0)
        disc_probe_options_release(o);
    return rc;
}

void disc_probe_options_release(struct disc_probe_options *o)
{
    if (o->dc_re_set)
        regfree(&o->dc_re);
    if (o->region_re_set)
        regfree(&o->region_re);
    if (o->env_re_set)
        regfree(&o->env_re);
    o->dc_re_set = o->region_re_set = o->env_re_set = false;
}
