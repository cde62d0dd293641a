/*
 * import: `orchestrator import-orchestrator-backend --from SOURCE [--dry-run]`
 * reads the operator state of a Go orchestrator's backend and hands it to a
 * running service as one replicated command.
 *
 * SOURCE is a SQLite file (opened read-only) or a MySQL DSN as orchestrator
 * writes it, user:password@tcp(host:port)/database (the password is never
 * printed or logged). Read: cluster aliases (cluster_alias, then
 * cluster_alias_override, which wins), active downtimes, promotion rules
 * (candidate_database_instance), active maintenance and acknowledged
 * recoveries (topology_recovery). Timestamps are converted to unix seconds by
 * the source database itself (SQLite: UTC text; MySQL: UNIX_TIMESTAMP in the
 * session's zone, as orchestrator wrote them with NOW()).
 *
 * The state becomes one JSON object POSTed to /api/import-orchestrator-state
 * of the leader (found as for any command); the service applies it with the
 * FSM command "import-orchestrator-state" (fsm_import.c). --dry-run prints
 * what would be imported and sends nothing.
 */
#include <errno.h>
#include <jansson.h>
#include <mysql.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/config.h"
#include "common/orc.h"
#include "orchestrator/node.h"

struct src {
    sqlite3 *db;    /* a SQLite file, or */
    MYSQL *my;      /* a MySQL server */
    char desc[600]; /* "sqlite '/path'" or "mysql user@host:port/db": no password */
};

struct dsn {
    char user[128], password[256], host[ORC_HOST_MAX], db[128];
    int port;
};

/* user[:password]@tcp(host[:port])/db[?params]. The password may hold any
 * character: the user part ends at the last "@tcp(". */
static int parse_dsn(const char *s, struct dsn *d, char *errmsg, size_t len)
{
    const char *at = NULL, *p, *close, *slash, *colon;
    struct orc_key k;
    char hostport[ORC_KEY_STRLEN];

    memset(d, 0, sizeof(*d));
    for (p = strstr(s, "@tcp("); p != NULL; p = strstr(p + 1, "@tcp("))
        at = p;
    close = at ? strchr(at, ')') : NULL;
    slash = close ? close + 1 : NULL;
    if (at == NULL || close == NULL || *slash != '/' || slash[1] == '\0') {
        orc_errf(errmsg, len, "not a MySQL DSN of the form user:password@tcp(host:port)/database");
        return ORC_EINVAL;
    }
    colon = memchr(s, ':', (size_t)(at - s));
    snprintf(d->user, sizeof(d->user), "%.*s", (int)((colon ? colon : at) - s), s);
    if (colon != NULL)
        snprintf(d->password, sizeof(d->password), "%.*s", (int)(at - colon - 1), colon + 1);
    snprintf(hostport, sizeof(hostport), "%.*s", (int)(close - at - 5), at + 5);
    snprintf(d->db, sizeof(d->db), "%.*s", (int)strcspn(slash + 1, "?"), slash + 1);
    if (orc_key_parse(hostport, 3306, &k) != 0 || d->user[0] == '\0' || d->db[0] == '\0') {
        orc_errf(errmsg, len, "MySQL DSN: need a user, tcp(host:port) and a database");
        return ORC_EINVAL;
    }
    orc_strlcpy(d->host, k.host, sizeof(d->host));
    d->port = k.port;
    return 0;
}

static int open_mysql(const char *from, struct src *s, char *errmsg, size_t len)
{
    unsigned int timeout = 10;
    struct dsn d;
    int rc = parse_dsn(from, &d, errmsg, len);

    if (rc != 0)
        return rc;
    snprintf(s->desc, sizeof(s->desc), "mysql %s@%s:%d/%s", d.user, d.host, d.port, d.db);
    s->my = mysql_init(NULL);
    if (s->my == NULL) {
        orc_errf(errmsg, len, "mysql: out of memory");
        return ORC_ENOMEM;
    }
    mysql_options(s->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(s->my, MYSQL_OPT_READ_TIMEOUT, &timeout);
    if (mysql_real_connect(s->my, d.host, d.user, d.password, d.db, (unsigned)d.port, NULL, 0) ==
        NULL) {
        orc_errf(errmsg, len, "connect to %s: %s", s->desc, mysql_error(s->my));
        rc = ORC_EIO;
    }
    memset(d.password, 0, sizeof(d.password));
    return rc;
}

static int open_sqlite(const char *from, struct src *s, char *errmsg, size_t len)
{
    struct stat st;

    snprintf(s->desc, sizeof(s->desc), "sqlite '%s'", from);
    if (stat(from, &st) != 0 || !S_ISREG(st.st_mode)) {
        orc_errf(errmsg, len,
                 "'%s' is neither a readable SQLite file (%s) nor a MySQL DSN "
                 "(user:password@tcp(host:port)/database)",
                 from, errno ? strerror(errno) : "not a regular file");
        return ORC_EINVAL;
    }
    if (sqlite3_open_v2(from, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        orc_errf(errmsg, len, "open %s: %s", s->desc, s->db ? sqlite3_errmsg(s->db) : "no memory");
        return ORC_EIO;
    }
    return 0;
}

static int src_open(const char *from, struct src *s, char *errmsg, size_t len)
{
    memset(s, 0, sizeof(*s));
    errno = 0;
    if (strstr(from, "@tcp(") != NULL)
        return open_mysql(from, s, errmsg, len);
    return open_sqlite(from, s, errmsg, len);
}

static void src_close(struct src *s)
{
    if (s->db != NULL)
        sqlite3_close(s->db);
    if (s->my != NULL)
        mysql_close(s->my);
}

/* Called per row with the values as text (NULL for SQL NULL). */
typedef int (*row_fn)(void *ctx, char **vals);

static int query_sqlite(struct src *s,
                        const char *sql,
                        row_fn fn,
                        void *ctx,
                        char *errmsg,
                        size_t len)
{
    sqlite3_stmt *st = NULL;
    char *vals[32];
    int rc, n;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        orc_errf(errmsg, len, "read %s: %s", s->desc, sqlite3_errmsg(s->db));
        return ORC_EIO;
    }
    n = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < n && i < 32; i++)
            vals[i] = (char *)sqlite3_column_text(st, i);
        if ((rc = fn(ctx, vals)) != 0)
            break;
    }
    if (rc != SQLITE_DONE && rc != 0) {
        orc_errf(errmsg, len, "read %s: %s", s->desc, sqlite3_errmsg(s->db));
        rc = ORC_EIO;
    } else {
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static int query_mysql(struct src *s,
                       const char *sql,
                       row_fn fn,
                       void *ctx,
                       char *errmsg,
                       size_t len)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc = 0;

    if (mysql_query(s->my, sql) != 0 || (res = mysql_store_result(s->my)) == NULL) {
        orc_errf(errmsg, len, "read %s: %s", s->desc, mysql_error(s->my));
        return ORC_EIO;
    }
    while (rc == 0 && (row = mysql_fetch_row(res)) != NULL)
        rc = fn(ctx, row);
    mysql_free_result(res);
    return rc;
}

static int src_query(struct src *s, const char *sql, row_fn fn, void *ctx, char *errmsg, size_t len)
{
    if (s->db != NULL)
        return query_sqlite(s, sql, fn, ctx, errmsg, len);
    return query_mysql(s, sql, fn, ctx, errmsg, len);
}

static int count_row(void *ctx, char **vals)
{
    (void)vals;
    (*(int *)ctx)++;
    return 0;
}

/* *has: the source has the table. Fails when the source cannot be read at
 * all (not a database, no privilege). */
static int src_has_table(struct src *s, const char *table, bool *has, char *errmsg, size_t len)
{
    char sql[256];
    int n = 0, rc;

    if (s->db != NULL)
        snprintf(sql, sizeof(sql),
                 "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '%s'", table);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT table_name FROM information_schema.tables "
                 "WHERE table_schema = DATABASE() AND table_name = '%s'",
                 table);
    rc = src_query(s, sql, count_row, &n, errmsg, len);
    *has = n > 0;
    return rc;
}

/* "unix seconds of col" in the source's dialect. */
static const char *ts(const struct src *s, const char *col, char *buf, size_t n)
{
    if (s->db != NULL)
        snprintf(buf, n, "CAST(strftime('%%s', %s) AS INTEGER)", col);
    else
        snprintf(buf, n, "UNIX_TIMESTAMP(%s)", col);
    return buf;
}

/* ---- the tables ---- */

struct reader {
    json_t *out; /* the array rows are appended to */
    int64_t now;
    int skipped;
};

static int64_t ival(const char *v)
{
    int64_t x = 0;

    if (v != NULL)
        orc_parse_int64(v, INT64_MIN, INT64_MAX, &x);
    return x;
}

static const char *sval(const char *v)
{
    return v != NULL ? v : "";
}

static int alias_row(void *ctx, char **v)
{
    struct reader *r = ctx;
    size_t i;
    json_t *e;

    json_array_foreach(r->out, i, e)
    { /* an override replaces the computed alias */
        if (strcmp(json_string_value(json_object_get(e, "ClusterName")), sval(v[0])) == 0) {
            json_object_set_new(e, "Alias", json_string(sval(v[1])));
            return 0;
        }
    }
    return json_array_append_new(
        r->out, json_pack("{s:s, s:s}", "ClusterName", sval(v[0]), "Alias", sval(v[1])));
}

/* hostname, port, owner, reason, begin, end [, node host, node token, bounded] */
static int timed_row(void *ctx, char **v, bool maintenance)
{
    struct reader *r = ctx;
    json_t *e;

    if (ival(v[5]) <= r->now) { /* ended: nothing to carry over */
        r->skipped++;
        return 0;
    }
    e = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I}", "Hostname", sval(v[0]), "Port",
                  (json_int_t)ival(v[1]), "Owner", sval(v[2]), "Reason", sval(v[3]),
                  "BeginTimestamp", (json_int_t)ival(v[4]), "EndTimestamp", (json_int_t)ival(v[5]));
    if (e != NULL && maintenance) {
        json_object_set_new(e, "ProcessingNodeHostname", json_string(sval(v[6])));
        json_object_set_new(e, "ProcessingNodeToken", json_string(sval(v[7])));
        json_object_set_new(e, "ExplicitlyBounded", json_boolean(ival(v[8]) != 0));
    }
    return json_array_append_new(r->out, e);
}

static int downtime_row(void *ctx, char **v)
{
    return timed_row(ctx, v, false);
}

static int maintenance_row(void *ctx, char **v)
{
    return timed_row(ctx, v, true);
}

static int rule_row(void *ctx, char **v)
{
    struct reader *r = ctx;

    return json_array_append_new(
        r->out, json_pack("{s:s, s:I, s:s, s:I, s:I}", "Hostname", sval(v[0]), "Port",
                          (json_int_t)ival(v[1]), "PromotionRule", sval(v[2]), "Priority",
                          (json_int_t)ival(v[3]), "LastSuggested", (json_int_t)ival(v[4])));
}

static int recovery_row(void *ctx, char **v)
{
    static const char *const names[] = {"UID",
                                        "Hostname",
                                        "Port",
                                        "StartActivePeriod",
                                        "EndActivePeriodUnixtime",
                                        "EndRecovery",
                                        "ProcessingNodeHostname",
                                        "ProcessingNodeToken",
                                        "SuccessorHostname",
                                        "SuccessorPort",
                                        "SuccessorAlias",
                                        "Analysis",
                                        "ClusterName",
                                        "ClusterAlias",
                                        "CountAffectedReplicas",
                                        "ReplicaHosts",
                                        "ParticipatingInstances",
                                        "LostReplicas",
                                        "AllErrors",
                                        "IsSuccessful",
                                        "AcknowledgedAt",
                                        "AcknowledgedBy",
                                        "AcknowledgeComment"};
    /* which of those are numbers */
    static const char numeric[] = {0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0,
                                   0, 0, 1, 0, 0, 0, 0, 2, 1, 0, 0};
    struct reader *r = ctx;
    json_t *e = json_object();

    for (size_t i = 0; e != NULL && i < ORC_ARRAY_LEN(names); i++) {
        json_t *val = numeric[i] == 1   ? json_integer(ival(v[i]))
                      : numeric[i] == 2 ? json_boolean(ival(v[i]) != 0)
                                        : json_string(sval(v[i]));
        json_object_set_new(e, names[i], val);
    }
    if (e != NULL && sval(v[0])[0] == '\0') /* rows older than orchestrator's uid column */
        json_object_set_new(e, "UID", json_sprintf("orchestrator-recovery-%s", sval(v[23])));
    return json_array_append_new(r->out, e);
}

static const char *const required_tables[] = {"cluster_alias", "database_instance_downtime",
                                              "candidate_database_instance",
                                              "database_instance_maintenance", "topology_recovery"};

/* Runs sql and appends its rows (through fn) to the array payload[key]. */
static int read_rows(struct src *s,
                     json_t *payload,
                     const char *key,
                     const struct orc_buf *sql,
                     row_fn fn,
                     int64_t now,
                     int *skipped,
                     char *errmsg,
                     size_t len)
{
    struct reader r = {json_object_get(payload, key), now, 0};
    int rc;

    if (r.out == NULL) {
        r.out = json_array();
        json_object_set_new(payload, key, r.out);
    }
    rc = src_query(s, orc_buf_str(sql), fn, &r, errmsg, len);
    *skipped += r.skipped;
    return rc;
}

/* The tables every orchestrator backend has; a source without them is refused. */
static int check_tables(struct src *s, char *errmsg, size_t len)
{
    bool has = false;

    for (size_t i = 0; i < ORC_ARRAY_LEN(required_tables); i++) {
        if (src_has_table(s, required_tables[i], &has, errmsg, len) != 0)
            return ORC_EIO;
        if (!has) {
            orc_errf(errmsg, len, "%s is not an orchestrator backend: no table '%s'", s->desc,
                     required_tables[i]);
            return ORC_EINVAL;
        }
    }
    return 0;
}

static int read_aliases(struct src *s, json_t *p, int *skipped, char *errmsg, size_t len)
{
    struct orc_buf q = ORC_BUF_INIT;
    bool has = false;
    int rc;

    orc_buf_puts(&q, "SELECT cluster_name, alias FROM cluster_alias ORDER BY cluster_name");
    rc = read_rows(s, p, "ClusterAliases", &q, alias_row, 0, skipped, errmsg, len);
    if (rc == 0)
        rc = src_has_table(s, "cluster_alias_override", &has, errmsg, len);
    if (rc == 0 && has) {
        orc_buf_reset(&q);
        orc_buf_puts(&q, "SELECT cluster_name, alias FROM cluster_alias_override");
        rc = read_rows(s, p, "ClusterAliases", &q, alias_row, 0, skipped, errmsg, len);
    }
    orc_buf_release(&q);
    return rc;
}

static int read_state(struct src *s, json_t *p, int *skipped, char *errmsg, size_t len)
{
    struct orc_buf q = ORC_BUF_INIT;
    int64_t now = orc_wall_s();
    char t1[96], t2[96], t3[96];
    int rc = check_tables(s, errmsg, len);

    if (rc == 0)
        rc = read_aliases(s, p, skipped, errmsg, len);
    orc_buf_printf(&q,
                   "SELECT hostname, port, owner, reason, %s, %s FROM database_instance_downtime"
                   " WHERE downtime_active = 1 ORDER BY hostname, port",
                   ts(s, "begin_timestamp", t1, sizeof(t1)),
                   ts(s, "end_timestamp", t2, sizeof(t2)));
    if (rc == 0)
        rc = read_rows(s, p, "Downtimes", &q, downtime_row, now, skipped, errmsg, len);
    orc_buf_reset(&q);
    orc_buf_printf(&q,
                   "SELECT hostname, port, promotion_rule, priority, %s"
                   " FROM candidate_database_instance ORDER BY hostname, port",
                   ts(s, "last_suggested", t1, sizeof(t1)));
    if (rc == 0)
        rc = read_rows(s, p, "PromotionRules", &q, rule_row, now, skipped, errmsg, len);
    orc_buf_reset(&q);
    orc_buf_printf(&q,
                   "SELECT hostname, port, owner, reason, %s, %s, processing_node_hostname,"
                   " processing_node_token, explicitly_bounded FROM database_instance_maintenance"
                   " WHERE maintenance_active = 1 ORDER BY hostname, port",
                   ts(s, "begin_timestamp", t1, sizeof(t1)),
                   ts(s, "end_timestamp", t2, sizeof(t2)));
    if (rc == 0)
        rc = read_rows(s, p, "Maintenance", &q, maintenance_row, now, skipped, errmsg, len);
    orc_buf_reset(&q);
    orc_buf_printf(&q,
                   "SELECT uid, hostname, port, %s, end_active_period_unixtime, %s,"
                   " processing_node_hostname, processcing_node_token, successor_hostname,"
                   " successor_port, successor_alias, analysis, cluster_name, cluster_alias,"
                   " count_affected_slaves, slave_hosts, participating_instances, lost_slaves,"
                   " all_errors, is_successful, %s, acknowledged_by, acknowledge_comment,"
                   " recovery_id FROM topology_recovery WHERE acknowledged = 1"
                   " ORDER BY recovery_id",
                   ts(s, "start_active_period", t1, sizeof(t1)),
                   ts(s, "end_recovery", t2, sizeof(t2)), ts(s, "acknowledged_at", t3, sizeof(t3)));
    if (rc == 0)
        rc = read_rows(s, p, "AcknowledgedRecoveries", &q, recovery_row, now, skipped, errmsg, len);
    orc_buf_release(&q);
    return rc;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long jint(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void print_timed(const char *what, const json_t *e)
{
    char t[32];

    printf("  %-22s %s:%lld until %s UTC owner=%s reason=\"%s\"\n", what, jstr(e, "Hostname"),
           jint(e, "Port"), orc_time_str(jint(e, "EndTimestamp"), t, sizeof(t)), jstr(e, "Owner"),
           jstr(e, "Reason"));
}

static void print_plan(const json_t *p, const char *desc, int skipped)
{
    const json_t *a = json_object_get(p, "ClusterAliases");
    size_t i;
    const json_t *e;

    printf("would import from %s:\n", desc);
    json_array_foreach(a, i, e)
        printf("  %-22s %s -> %s\n", "cluster alias", jstr(e, "ClusterName"), jstr(e, "Alias"));
    json_array_foreach(json_object_get(p, "Downtimes"), i, e) print_timed("downtime", e);
    json_array_foreach(json_object_get(p, "PromotionRules"), i, e)
        printf("  %-22s %s:%lld %s\n", "promotion rule", jstr(e, "Hostname"), jint(e, "Port"),
               jstr(e, "PromotionRule"));
    json_array_foreach(json_object_get(p, "Maintenance"), i, e) print_timed("maintenance", e);
    json_array_foreach(json_object_get(p, "AcknowledgedRecoveries"), i, e)
        printf("  %-22s %s %s:%lld %s, acknowledged by %s: \"%s\"\n", "acknowledged recovery",
               jstr(e, "UID"), jstr(e, "Hostname"), jint(e, "Port"), jstr(e, "Analysis"),
               jstr(e, "AcknowledgedBy"), jstr(e, "AcknowledgeComment"));
    printf(
        "totals: %zu cluster aliases, %zu downtimes, %zu promotion rules, %zu maintenance, "
        "%zu acknowledged recoveries; %d ended downtimes/maintenance not imported\n",
        json_array_size(a), json_array_size(json_object_get(p, "Downtimes")),
        json_array_size(json_object_get(p, "PromotionRules")),
        json_array_size(json_object_get(p, "Maintenance")),
        json_array_size(json_object_get(p, "AcknowledgedRecoveries")), skipped);
}

/* POSTs the state to the service; prints its answer. Returns the exit code. */
static int send_state(const struct orc_config *cfg, json_t *p)
{
    struct orc_buf answer = ORC_BUF_INIT;
    char *body = json_dumps(p, JSON_COMPACT);
    json_t *reply = NULL, *d;
    long status = 0;
    int rc = 1;

    if (body == NULL) {
        fputs("orchestrator: import: out of memory\n", stderr);
        return 1;
    }
    if (orc_client_post(cfg, "import-orchestrator-state", body, &answer, &status) != 0) {
        fprintf(stderr, "orchestrator: import: cannot reach the service: %s\n",
                orc_buf_str(&answer));
    } else if ((reply = json_loads(orc_buf_str(&answer), 0, NULL)) == NULL || status != 200) {
        fprintf(stderr, "orchestrator: import: HTTP %ld: %s\n", status,
                reply ? jstr(reply, "Message") : orc_buf_str(&answer));
    } else {
        d = json_object_get(reply, "Details");
        printf(
            "imported: %lld cluster aliases, %lld downtimes, %lld promotion rules, "
            "%lld maintenance, %lld acknowledged recoveries (%lld already there)\n",
            jint(d, "ClusterAliases"), jint(d, "Downtimes"), jint(d, "PromotionRules"),
            jint(d, "Maintenance"), jint(d, "AcknowledgedRecoveries"), jint(d, "Skipped"));
        rc = 0;
    }
    json_decref(reply);
    free(body);
    orc_buf_release(&answer);
    return rc;
}

static const char import_usage[] =
    "usage: orchestrator [global options] import-orchestrator-backend --from SOURCE [--dry-run]\n"
    "\n"
    "Imports the operator state of a Go orchestrator's backend into the running service\n"
    "(found as for -c commands: ORCHESTRATOR_API, else ListenAddress): cluster aliases,\n"
    "active downtimes, promotion rules, active maintenance, acknowledged recoveries.\n"
    "SOURCE: a SQLite file, or a MySQL DSN user:password@tcp(host:port)/database.\n"
    "--dry-run prints what would be imported and changes nothing.\n";

int orc_import_run(const struct orc_config *cfg, int argc, char **argv)
{
    const char *from = NULL;
    bool dry = false;
    char err[ORC_ERRMSG_SIZE] = "";
    struct src s;
    json_t *p;
    int skipped = 0, rc;

    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "--from") == 0 || strcmp(argv[i], "-from") == 0) && i + 1 < argc)
            from = argv[++i];
        else if (strncmp(argv[i], "--from=", 7) == 0)
            from = argv[i] + 7;
        else if (strcmp(argv[i], "--dry-run") == 0)
            dry = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(import_usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "orchestrator: import: unknown argument '%s'\n%s", argv[i],
                    import_usage);
            return 2;
        }
    }
    if (from == NULL || *from == '\0') {
        fprintf(stderr, "orchestrator: import: --from is required\n%s", import_usage);
        return 2;
    }
    p = json_object();
    rc = p ? src_open(from, &s, err, sizeof(err)) : ORC_ENOMEM;
    if (rc == 0)
        rc = read_state(&s, p, &skipped, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "orchestrator: import: %s\n", err);
    } else if (dry) {
        print_plan(p, s.desc, skipped);
    } else {
        rc = send_state(cfg, p);
    }
    if (p != NULL)
        src_close(&s);
    json_decref(p);
    return rc == 0 ? 0 : 1;
}
