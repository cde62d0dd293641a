/*
 * replication: replication control on one instance, as orchestrator's
 * routes of the same names (restart-replica, reset-replica,
 * stop-replica-nice, skip-query, detach/reattach-replica-master-host,
 * delay-replication, flush/purge-binary-logs, enable/disable-gtid,
 * kill-query), and the read-only checks can-replicate-from(-gtid) and
 * restart-replica-statements.
 *
 * Each operation is a description: a check on a fresh reading (refuses
 * before anything is touched), an action, what the topology must show
 * afterwards, the answer's message and the audit type. The engine (op.c)
 * runs it: leader check before each step, errors with the first cause kept,
 * the audit entry as a replicated command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "discovery/disc.h"
#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/planned.h"

#define REFRESH_MS 3000
#define MIN_WAIT_MS 1000
#define MAINTENANCE_S 600 /* bound of the maintenance held while acting */

struct rop;

struct rop_desc {
    const char *name;       /* the route */
    const char *audit_type; /* orchestrator's audit type */
    int (*check)(struct rop *x, char *errmsg, size_t len);
    int (*act)(struct rop *x, char *errmsg, size_t len);
    int replicating_after; /* the SQL thread afterwards: -1 any, 0 stopped, 1 running */
    bool master_after;     /* the master afterwards is x->master_after */
    bool maintenance;      /* held on the instance while acting (as orchestrator) */
    const char *message;   /* orchestrator's answer, the instance follows */
};

struct rop {
    struct rec_env *env;
    const struct rec_repl_request *req;
    struct rec_repl_result *out;
    const struct rop_desc *d;
    struct rec_op run;
    struct disc_snapshot *snap;
    struct rec_session *s;
    struct disc_instance in; /* fresh reading before acting */
    char k[ORC_KEY_STRLEN];
    char cluster[ORC_KEY_STRLEN];
    struct orc_key master_after; /* detach / reattach */
    char binlog[256];            /* purge-binary-logs */
};

/* ---- pure ---- */

static int add_statement(json_t *out, const struct disc_instance *in, enum disc_sql which)
{
    const char *sql = disc_flavor_sql(&in->ver, which);

    if (sql == NULL)
        return 0;
    return json_array_append_new(out, json_sprintf("%s;", sql)) == 0 ? 0 : ORC_ENOMEM;
}

int rec_repl_restart_statements(const struct disc_instance *in, const char *stmt, json_t *out)
{
    bool io = in->io_state == DISC_THREAD_RUNNING, sql = in->sql_state == DISC_THREAD_RUNNING;
    int rc = 0;

    if (io)
        rc = add_statement(out, in, DISC_SQL_STOP_REPLICA_IO);
    if (rc == 0 && sql)
        rc = add_statement(out, in, DISC_SQL_STOP_REPLICA_SQL);
    if (rc == 0 && stmt != NULL && stmt[0] != '\0') {
        size_t n = strlen(stmt);
        while (n > 0 && (stmt[n - 1] == ';' || stmt[n - 1] == ' '))
            n--;
        if (json_array_append_new(out, json_sprintf("%.*s;", (int)n, stmt)) != 0)
            rc = ORC_ENOMEM;
    }
    if (rc == 0 && sql)
        rc = add_statement(out, in, DISC_SQL_START_REPLICA_SQL);
    if (rc == 0 && io)
        rc = add_statement(out, in, DISC_SQL_START_REPLICA_IO);
    return rc;
}

/* The uuid's last transaction number in a MySQL GTID set ("uuid:1-5:7,
 * uuid2:1-3"), 0 when the set has none of it. */
static int64_t last_trx(const char *set, const char *uuid)
{
    size_t ul = strlen(uuid);
    int64_t last = 0;

    for (const char *p = set; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\n')) {
            p++;
            n--;
        }
        if (n > ul && strncasecmp(p, uuid, ul) == 0 && p[ul] == ':') {
            /* the highest number of the entry's intervals */
            for (const char *q = p + ul; q < p + n; q++) {
                if (*q == ':' || *q == '-') {
                    int64_t v = strtoll(q + 1, NULL, 10);
                    if (v > last)
                        last = v;
                }
            }
        }
        p = end ? end + 1 : NULL;
    }
    return last;
}

int rec_repl_next_gtid(const char *executed, const char *uuid, char *out, size_t len)
{
    if (uuid == NULL || uuid[0] == '\0')
        return ORC_EINVAL;
    if (snprintf(out, len, "%s:%lld", uuid, (long long)(last_trx(executed, uuid) + 1)) >= (int)len)
        return ORC_EINVAL;
    return 0;
}

/* A binary log name: what SHOW BINARY LOGS lists. */
static bool valid_binlog(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 200)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* ---- checks ---- */

static int need_replica(struct rop *x, char *errmsg, size_t len)
{
    if (disc_instance_is_replica(&x->in))
        return 0;
    orc_errf(errmsg, len, "instance is not a replica: %s", x->k);
    return ORC_ESTATE;
}

static int check_skip(struct rop *x, char *errmsg, size_t len)
{
    int rc = need_replica(x, errmsg, len);

    if (rc != 0)
        return rc;
    if (x->in.sql_state == DISC_THREAD_RUNNING) {
        orc_errf(errmsg, len, "replication SQL thread is running on %s", x->k);
        return ORC_ESTATE;
    }
    if (disc_str(x->in.last_sql_error)[0] == '\0') {
        orc_errf(errmsg, len, "no SQL error on %s", x->k);
        return ORC_ESTATE;
    }
    return 0;
}

static int check_detach(struct rop *x, char *errmsg, size_t len)
{
    int rc = need_replica(x, errmsg, len);

    if (rc != 0)
        return rc;
    if (x->in.is_detached_master) {
        orc_errf(errmsg, len, "instance already detached: %s", x->k);
        return ORC_ESTATE;
    }
    x->master_after.port = x->in.master_key.port;
    if (snprintf(x->master_after.host, sizeof(x->master_after.host), "//%s",
                 x->in.master_key.host) >= (int)sizeof(x->master_after.host)) {
        orc_errf(errmsg, len, "master host of %s too long to detach", x->k);
        return ORC_EINVAL;
    }
    return 0;
}

static int check_reattach(struct rop *x, char *errmsg, size_t len)
{
    int rc = need_replica(x, errmsg, len);

    if (rc != 0)
        return rc;
    if (!x->in.is_detached_master || strncmp(x->in.master_key.host, "//", 2) != 0) {
        orc_errf(errmsg, len, "instance does not seem to be detached: %s", x->k);
        return ORC_ESTATE;
    }
    x->master_after.port = x->in.master_key.port;
    orc_strlcpy(x->master_after.host, x->in.master_key.host + 2, sizeof(x->master_after.host));
    return 0;
}

static int check_delay(struct rop *x, char *errmsg, size_t len)
{
    if (x->req->number < 0 || x->req->number > 0x7fffffff) {
        orc_errf(errmsg, len, "invalid seconds: %lld, it should be greater or equal to 0",
                 (long long)x->req->number);
        return ORC_EINVAL;
    }
    return need_replica(x, errmsg, len);
}

static int check_binlog(struct rop *x, char *errmsg, size_t len)
{
    if (x->in.log_bin)
        return 0;
    orc_errf(errmsg, len, "%s does not have binary logs enabled", x->k);
    return ORC_ESTATE;
}

/* Not past what a replica still needs (unless forced), as orchestrator. */
static int check_purge(struct rop *x, char *errmsg, size_t len)
{
    const char *b = x->req->binlog ? x->req->binlog : "";
    struct disc_instance r;
    struct disc_coords to;
    char rk[ORC_KEY_STRLEN];
    int rc = check_binlog(x, errmsg, len);

    if (rc != 0)
        return rc;
    if (strcmp(b, "latest") == 0)
        b = x->in.self_coords.file;
    if (!valid_binlog(b)) {
        orc_errf(errmsg, len, "purge-binary-logs: expected log file name or 'latest'");
        return ORC_EINVAL;
    }
    orc_strlcpy(x->binlog, b, sizeof(x->binlog));
    memset(&to, 0, sizeof(to));
    orc_strlcpy(to.file, x->binlog, sizeof(to.file));
    disc_instance_init(&r);
    for (size_t i = 0; rc == 0 && !x->req->force && i < x->snap->n; i++) {
        const struct disc_instance *known = x->snap->instances[i];
        char err[ORC_ERRMSG_SIZE];
        if (!orc_key_eq(&known->master_key, &x->in.key))
            continue;
        /* where it is now; the snapshot's reading when it cannot be read */
        if (rec_read(x->s, &known->key, &r, err, sizeof(err)) != 0)
            disc_instance_copy(&r, known);
        if (rec_coords_cmp(&to, &r.exec_coords) < 0)
            continue;
        orc_errf(errmsg, len,
                 "unsafe to purge binary logs on %s up to %s because replica %s has only applied "
                 "up to %s:%lld",
                 x->k, x->binlog, orc_key_str(&r.key, rk, sizeof(rk)), r.exec_coords.file,
                 (long long)r.exec_coords.pos);
        rc = ORC_ESTATE;
    }
    disc_instance_release(&r);
    return rc;
}

static int check_enable_gtid(struct rop *x, char *errmsg, size_t len)
{
    int rc = need_replica(x, errmsg, len);

    if (rc == 0 && rec_uses_gtid(&x->in)) {
        orc_errf(errmsg, len, "%s already uses GTID", x->k);
        rc = ORC_ESTATE;
    }
    return rc;
}

static int check_disable_gtid(struct rop *x, char *errmsg, size_t len)
{
    int rc = need_replica(x, errmsg, len);

    if (rc == 0 && !rec_uses_gtid(&x->in)) {
        orc_errf(errmsg, len, "%s is not using GTID", x->k);
        rc = ORC_ESTATE;
    }
    return rc;
}

static int check_kill(struct rop *x, char *errmsg, size_t len)
{
    if (x->req->number > 0)
        return 0;
    orc_errf(errmsg, len, "invalid process id %lld", (long long)x->req->number);
    return ORC_EINVAL;
}

/* ---- actions ---- */

static void keep_first(int *rc, int r, char *errmsg, size_t len, const char *err)
{
    if (*rc == 0 && r != 0) {
        *rc = r;
        orc_errf(errmsg, len, "%s", err);
    }
}

static int act_restart(struct rop *x, char *errmsg, size_t len)
{
    int rc = rec_stop_replica(x->s, &x->in, errmsg, len);

    return rc != 0 ? rc : rec_start_replica(x->s, &x->in, errmsg, len);
}

static int act_reset(struct rop *x, char *errmsg, size_t len)
{
    return rec_reset_replica_all(x->s, &x->in, errmsg, len);
}

static int64_t wait_ms(const struct rop *x)
{
    int64_t ms = x->env->cfg->ReasonableMaintenanceReplicationLagSeconds * 1000;

    return ms < MIN_WAIT_MS ? MIN_WAIT_MS : ms;
}

/* The SQL thread applies what the IO thread received, then both stop. */
static int act_stop_nice(struct rop *x, char *errmsg, size_t len)
{
    struct disc_instance tmp;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = rec_stop_io_thread(x->s, &x->in, errmsg, len);

    if (rc == 0)
        rc = rec_exec_sql(x->s, &x->in, DISC_SQL_START_REPLICA_SQL, errmsg, len);
    disc_instance_init(&tmp);
    if (rc == 0 && x->in.sql_delay == 0) {
        rc = rec_wait_relay_applied(x->s, &x->in.key, wait_ms(x), &tmp, errmsg, len);
        if (rc != 0)
            orc_errprefix(errmsg, len, "stopped, but the relay log was not applied");
    }
    disc_instance_release(&tmp);
    keep_first(&rc, rec_stop_replica(x->s, &x->in, err, sizeof(err)), errmsg, len, err);
    return rc;
}

/* Oracle GTID: an empty transaction takes the failed one's GTID. */
static int skip_oracle_gtid(struct rop *x, char *errmsg, size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    char next[128];
    int rc = rec_repl_next_gtid(disc_str(x->in.executed_gtid_set), x->in.master_uuid, next,
                                sizeof(next));

    if (rc != 0) {
        orc_errf(errmsg, len, "cannot compute the next GTID of %s", x->k);
        return rc;
    }
    orc_buf_puts(&sql, "SET GTID_NEXT=");
    disc_sql_quote(&sql, next);
    rc = rec_exec(x->s, &x->in.key, orc_buf_str(&sql), false, errmsg, len);
    if (rc == 0)
        rc = rec_exec(x->s, &x->in.key, "BEGIN", false, errmsg, len);
    if (rc == 0)
        rc = rec_exec(x->s, &x->in.key, "COMMIT", false, errmsg, len);
    if (rc == 0)
        rc = rec_exec(x->s, &x->in.key, "SET GTID_NEXT='AUTOMATIC'", false, errmsg, len);
    orc_buf_release(&sql);
    return rc;
}

static int act_skip(struct rop *x, char *errmsg, size_t len)
{
    int rc;

    if (x->in.using_oracle_gtid)
        rc = skip_oracle_gtid(x, errmsg, len);
    else /* file:pos, and MariaDB (with GTID too: it records the skipped GTID) */
        rc = rec_exec(
            x->s, &x->in.key,
            disc_version_is_mysql(&x->in.ver) && disc_version_at_least(&x->in.ver, 8, 0, 26)
                ? "SET GLOBAL sql_replica_skip_counter = 1"
                : "SET GLOBAL sql_slave_skip_counter = 1",
            false, errmsg, len);
    if (rc == 0)
        rc = rec_start_replica(x->s, &x->in, errmsg, len);
    return rc;
}

/* CHANGE MASTER to master_after, at the executed position, then START
 * SLAVE (as orchestrator, also towards a detached host: the IO thread
 * then fails to connect, the SQL thread runs). */
static int act_change_host(struct rop *x, char *errmsg, size_t len)
{
    struct disc_instance me;
    int rc = rec_stop_replica(x->s, &x->in, errmsg, len);

    if (rc != 0)
        return rc;
    if (rec_uses_gtid(&x->in))
        return rec_change_master_gtid(x->s, &x->in, &x->master_after, true, errmsg, len);
    disc_instance_init(&me);
    rc = rec_read(x->s, &x->in.key, &me, errmsg, len);
    if (rc == 0)
        rc = rec_change_master_coords(x->s, &x->in, &x->master_after, &me.exec_coords, true, errmsg,
                                      len);
    disc_instance_release(&me);
    return rc;
}

/* Runs the statements one by one (restart-preserving sequences). */
static int exec_all(struct rop *x, const json_t *stmts, char *errmsg, size_t len)
{
    size_t i;
    json_t *v;

    json_array_foreach(stmts, i, v)
    {
        int rc = rec_exec(x->s, &x->in.key, json_string_value(v), false, errmsg, len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int act_delay(struct rop *x, char *errmsg, size_t len)
{
    const char *prefix, *words = disc_flavor_change_master_words(&x->in.ver, &prefix);
    json_t *stmts = json_array();
    char stmt[128];
    int rc;

    if (stmts == NULL)
        return ORC_ENOMEM;
    snprintf(stmt, sizeof(stmt), "%s %s_DELAY=%lld", words, prefix, (long long)x->req->number);
    rc = rec_repl_restart_statements(&x->in, stmt, stmts);
    if (rc == 0)
        rc = exec_all(x, stmts, errmsg, len);
    json_decref(stmts);
    return rc;
}

static int act_flush(struct rop *x, char *errmsg, size_t len)
{
    return rec_exec(x->s, &x->in.key, "FLUSH BINARY LOGS", false, errmsg, len);
}

static int act_purge(struct rop *x, char *errmsg, size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    int rc = orc_buf_puts(&sql, "PURGE BINARY LOGS TO ");

    if (rc == 0)
        rc = disc_sql_quote(&sql, x->binlog);
    if (rc == 0)
        rc = rec_exec(x->s, &x->in.key, orc_buf_str(&sql), false, errmsg, len);
    orc_buf_release(&sql);
    return rc;
}

static int act_enable_gtid(struct rop *x, char *errmsg, size_t len)
{
    bool start = x->in.sql_state == DISC_THREAD_RUNNING;

    return rec_change_master_gtid(x->s, &x->in, &x->in.master_key, start, errmsg, len);
}

/* Back to file:pos at the executed coordinates in the master's binary log. */
static int act_disable_gtid(struct rop *x, char *errmsg, size_t len)
{
    bool start = x->in.sql_state == DISC_THREAD_RUNNING;
    struct disc_instance me;
    int rc = rec_stop_replica(x->s, &x->in, errmsg, len);

    if (rc != 0)
        return rc;
    disc_instance_init(&me);
    rc = rec_read(x->s, &x->in.key, &me, errmsg, len);
    if (rc == 0)
        rc = rec_change_master_coords(x->s, &x->in, &x->in.master_key, &me.exec_coords, start,
                                      errmsg, len);
    disc_instance_release(&me);
    return rc;
}

static int act_kill(struct rop *x, char *errmsg, size_t len)
{
    char sql[64];

    snprintf(sql, sizeof(sql), "KILL QUERY %lld", (long long)x->req->number);
    return rec_exec(x->s, &x->in.key, sql, false, errmsg, len);
}

/* ---- the descriptions ---- */

/* What each operation is. Names, audit types and messages are
 * orchestrator's. */
static const struct rop_desc descs[] = {
    [REC_REPL_RESTART] =
        {
            .name = "restart-replica",
            .audit_type = "restart-replica",
            .check = need_replica,
            .act = act_restart,
            .replicating_after = 1,
            .message = "Replica restarted: ",
        },
    [REC_REPL_RESET] =
        {
            .name = "reset-replica",
            .audit_type = "reset-slave",
            .check = need_replica,
            .act = act_reset,
            .replicating_after = -1,
            .master_after = true,
            .maintenance = true,
            .message = "Replica reset on ",
        },
    [REC_REPL_STOP_NICE] =
        {
            .name = "stop-replica-nice",
            .audit_type = "stop-replica-nice",
            .check = need_replica,
            .act = act_stop_nice,
            .replicating_after = 0,
            .message = "Replica stopped nicely: ",
        },
    [REC_REPL_SKIP_QUERY] =
        {
            .name = "skip-query",
            .audit_type = "skip-query",
            .check = check_skip,
            .act = act_skip,
            .replicating_after = -1,
            .message = "Query skipped on ",
        },
    [REC_REPL_DETACH] =
        {
            .name = "detach-replica-master-host",
            .audit_type = "repoint",
            .check = check_detach,
            .act = act_change_host,
            .replicating_after = -1,
            .master_after = true,
            .maintenance = true,
            .message = "Replica detached: ",
        },
    [REC_REPL_REATTACH] =
        {
            .name = "reattach-replica-master-host",
            .audit_type = "repoint",
            .check = check_reattach,
            .act = act_change_host,
            .replicating_after = -1,
            .master_after = true,
            .maintenance = true,
            .message = "Replica reattached: ",
        },
    [REC_REPL_DELAY] =
        {
            .name = "delay-replication",
            .audit_type = "delay-replication",
            .check = check_delay,
            .act = act_delay,
            .replicating_after = -1,
            .message = "Replication delayed: ",
        },
    [REC_REPL_FLUSH_BINLOGS] =
        {
            .name = "flush-binary-logs",
            .audit_type = "flush-binary-logs",
            .check = check_binlog,
            .act = act_flush,
            .replicating_after = -1,
            .message = "Binary logs flushed on: ",
        },
    [REC_REPL_PURGE_BINLOGS] =
        {
            .name = "purge-binary-logs",
            .audit_type = "purge-binary-logs",
            .check = check_purge,
            .act = act_purge,
            .replicating_after = -1,
            .message = "Binary logs purged on: ",
        },
    [REC_REPL_ENABLE_GTID] =
        {
            .name = "enable-gtid",
            .audit_type = "enable-gtid",
            .check = check_enable_gtid,
            .act = act_enable_gtid,
            .replicating_after = -1,
            .message = "Enabled GTID on ",
        },
    [REC_REPL_DISABLE_GTID] =
        {
            .name = "disable-gtid",
            .audit_type = "disable-gtid",
            .check = check_disable_gtid,
            .act = act_disable_gtid,
            .replicating_after = -1,
            .message = "Disabled GTID on ",
        },
    [REC_REPL_KILL_QUERY] =
        {
            .name = "kill-query",
            .audit_type = "kill-query",
            .check = check_kill,
            .act = act_kill,
            .replicating_after = -1,
            .message = "Query killed on : ",
        },
};

const char *rec_repl_op_name(enum rec_repl_op op)
{
    if ((size_t)op >= ORC_ARRAY_LEN(descs) || descs[op].name == NULL)
        return "unknown";
    return descs[op].name;
}

/* ---- the run ---- */

static int step_read(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct rop *x = ctx;
    struct rec_session_options so;
    int i, rc;

    (void)op;
    if ((rc = rec_snapshot_find(x->env, &x->req->key, &x->snap, &i, errmsg, len)) != 0)
        return rc;
    orc_strlcpy(x->cluster, x->snap->instances[i]->cluster_name, sizeof(x->cluster));
    rec_env_session_options(x->env, &so);
    rc = rec_session_new(&so, &x->s);
    if (rc == 0 && rec_read(x->s, &x->req->key, &x->in, errmsg, len) != 0) {
        orc_errprefix(errmsg, len, "cannot read %s", x->k);
        rc = ORC_ESTATE;
    }
    return rc;
}

static int step_check(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct rop *x = ctx;

    (void)op;
    return x->d->check(x, errmsg, len);
}

static int step_act(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct rop *x = ctx;
    int rc = x->d->act(x, errmsg, len);

    if (rc == 0)
        rec_op_step(op, "%s on %s", x->d->name, x->k);
    return rc;
}

static int step_maintenance(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct rop *x = ctx;

    if (!x->d->maintenance)
        return 0;
    return rec_op_maintenance_begin(op, &x->in.key, x->d->name, MAINTENANCE_S, errmsg, len);
}

static const struct rec_op_step repl_steps[] = {
    {"read", step_read},
    {"check", step_check},
    {"maintenance", step_maintenance},
    {"act", step_act},
};

static void finish(struct rop *x)
{
    struct rec_expect e;
    json_t *res;

    memset(&e, 0, sizeof(e));
    e.key = x->in.key;
    e.read_only = -1;
    e.replicating = x->d->replicating_after;
    e.check_master = x->d->master_after;
    e.master = x->master_after; /* reset: host "" (none) */
    snprintf(x->out->message, sizeof(x->out->message), "%s%s", x->d->message, x->k);
    if (x->req->op == REC_REPL_DELAY)
        rec_op_audit(x->env, x->d->audit_type, &x->in.key, x->cluster, "set to %lld; by %s",
                     (long long)x->req->number, x->req->user ? x->req->user : "api");
    else if (x->req->op == REC_REPL_DETACH || x->req->op == REC_REPL_REATTACH)
        rec_op_audit(
            x->env, x->d->audit_type, &x->in.key, x->cluster, "replica %s %s master %s:%d; by %s",
            x->k, x->req->op == REC_REPL_DETACH ? "detached from master into" : "reattached to",
            x->master_after.host, x->master_after.port, x->req->user ? x->req->user : "api");
    else
        rec_op_audit(x->env, x->d->audit_type, &x->in.key, x->cluster, "%s; by %s", x->out->message,
                     x->req->user ? x->req->user : "api");
    x->out->fresh = rec_planned_refresh(x->env, &e, 1, REFRESH_MS);
    res = rec_op_result_json(&x->run, true);
    if (res != NULL && orc_log_level() <= ORC_LOG_INFO) {
        char *t = json_dumps(res, JSON_COMPACT);
        ORC_LOG_I("+repl-op-done", "op=%s instance=%s fresh=%d result=%s", x->d->name, x->k,
                  x->out->fresh, t ? t : "");
        free(t);
    }
    json_decref(res);
}

int rec_repl_run(struct rec_env *env,
                 const struct rec_repl_request *req,
                 struct rec_repl_result *out,
                 char *errmsg,
                 size_t len)
{
    struct rop x;
    int rc;

    memset(&x, 0, sizeof(x));
    memset(out, 0, sizeof(*out));
    out->key = req->key;
    if ((size_t)req->op >= ORC_ARRAY_LEN(descs) || descs[req->op].name == NULL) {
        orc_errf(errmsg, len, "unknown operation %d", (int)req->op);
        return ORC_EINVAL;
    }
    x.env = env;
    x.req = req;
    x.out = out;
    x.d = &descs[req->op];
    disc_instance_init(&x.in);
    orc_key_str(&req->key, x.k, sizeof(x.k));
    rc = rec_op_init(&x.run, env, "repl-op", NULL);
    if (rc == 0 && x.run.epoch == 0) {
        orc_errf(errmsg, len, "this node is not the leader");
        rc = ORC_EPERM;
    }
    if (rc == 0)
        rc = rec_op_run_steps(&x.run, repl_steps, ORC_ARRAY_LEN(repl_steps), &x, errmsg, len);
    rec_op_maintenance_end(&x.run);
    if (rc == 0)
        finish(&x);
    else
        orc_errprefix(errmsg, len, "%s", x.d->name);
    rec_op_release(&x.run);
    rec_session_free(x.s);
    disc_snapshot_put(x.snap);
    disc_instance_release(&x.in);
    return rc;
}

/* ---- reads ---- */

int rec_repl_can_replicate_from(struct rec_env *env,
                                const struct orc_key *key,
                                const struct orc_key *dest,
                                bool gtid,
                                bool *can,
                                char *why,
                                size_t whylen,
                                char *errmsg,
                                size_t len)
{
    struct rec_session_options so;
    struct rec_session *s = NULL;
    struct disc_instance a, b;
    struct rec_move_limits lim;
    int rc;

    *can = false;
    why[0] = '\0';
    disc_instance_init(&a);
    disc_instance_init(&b);
    rec_env_session_options(env, &so);
    rc = rec_session_new(&so, &s);
    if (rc == 0)
        rc = rec_read(s, key, &a, errmsg, len);
    if (rc == 0)
        rc = rec_read(s, dest, &b, errmsg, len);
    if (rc == 0) {
        lim.max_lag_s = env->cfg->ReasonableMaintenanceReplicationLagSeconds;
        lim.verify_filters = env->cfg->VerifyReplicationFilters;
        *can = rec_can_replicate_from(&a, &b, &lim, why, whylen);
        if (*can && gtid &&
            !(rec_serves_gtid(&a) && rec_serves_gtid(&b) && rec_gtid_compatible(&a, &b))) {
            orc_errf(why, whylen, "%s:%d and %s:%d cannot replicate with GTID", key->host,
                     key->port, dest->host, dest->port);
            *can = false;
        }
    }
    disc_instance_release(&a);
    disc_instance_release(&b);
    rec_session_free(s);
    return rc;
}

int rec_repl_statements(struct rec_env *env,
                        const struct orc_key *key,
                        const char *stmt,
                        json_t **out,
                        char *errmsg,
                        size_t len)
{
    struct rec_session_options so;
    struct rec_session *s = NULL;
    struct disc_instance in;
    int rc;

    *out = json_array();
    if (*out == NULL)
        return ORC_ENOMEM;
    disc_instance_init(&in);
    rec_env_session_options(env, &so);
    rc = rec_session_new(&so, &s);
    if (rc == 0)
        rc = rec_read(s, key, &in, errmsg, len);
    if (rc == 0)
        rc = rec_repl_restart_statements(&in, stmt, *out);
    disc_instance_release(&in);
    rec_session_free(s);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
