/*
 * takeover: orchestrator's graceful master takeover. A planned master change:
 * the designated replica (given, the only one, or chosen) takes the master's
 * other replicas, the master stops taking writes, the designated server
 * catches up with it and becomes the writable master, and the old master
 * replicates from it.
 *
 * Order (reference 4.4): checks on fresh readings (unique master with
 * replicas, designated replica not banned, lag, GTID, every sibling movable,
 * credentials for the old master) -> register the recovery (MasterRecovery,
 * analysis DeadMaster, command graceful-master-takeover) -> move the siblings
 * below the designated server -> PreGracefulTakeoverProcesses ->
 * read_only=1 on the master -> wait until the designated server executed
 * all of the master's binary log -> PreFailoverProcesses -> promote (STOP
 * SLAVE, RESET SLAVE ALL, read_only=0) -> PostMasterFailoverProcesses -> the
 * old master replicates from the new one (GTID, START SLAVE) ->
 * PostFailoverProcesses, PostGracefulTakeoverProcesses -> resolve, publish,
 * audit.
 *
 * Safety: if anything fails after read_only=1 and before the successor is
 * writable, the old master is made writable again (and a successor that was
 * already reset is pointed back at it). Once the successor is writable the
 * old master is never made writable again (two writable masters would be
 * worse than a stopped replica); the error is reported instead.
 *
 * The time during which no master was writable (read_only=1 on the old
 * master until read_only=0 on the new one) is measured, logged
 * (+takeover-window), audited and returned.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "discovery/disc.h"
#include "recovery/hooks.h"
#include "recovery/ops.h"
#include "recovery/planned.h"
#include "recovery/promote.h"

#define REFRESH_MS 3000
#define MIN_CATCH_UP_MS 1000
#define COMMAND "graceful-master-takeover"

void rec_takeover_result_init(struct rec_takeover_result *r)
{
    memset(r, 0, sizeof(*r));
    orc_buf_init(&r->errors);
    r->no_writer_us = -1;
}

void rec_takeover_result_release(struct rec_takeover_result *r)
{
    disc_keylist_release(&r->replicas);
    disc_keylist_release(&r->participants);
    orc_buf_release(&r->errors);
    rec_takeover_result_init(r);
}

/* ======================================================================
 * Shared helpers (declared in planned.h)
 * ====================================================================== */

int rec_read_replication_creds(struct rec_env *env,
                               const struct orc_key *on,
                               struct rec_creds *out,
                               char *errmsg,
                               size_t len)
{
    const char *q = env->cfg->ReplicationCredentialsQuery;
    struct rec_session_options so;
    struct disc_conn *c = NULL;
    struct disc_rs *rs = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (q == NULL || q[0] == '\0')
        return 0;
    rec_env_session_options(env, &so);
    rc = disc_conn_open(&c, on, &so.conn, errmsg, len);
    if (rc == 0)
        rc = disc_conn_mysql_ops.query(c, q, &rs, errmsg, len);
    if (rc == 0 && (rs->nrows < 1 || rs->ncols < 2)) {
        orc_errf(errmsg, len, "expected a row with user and password");
        rc = ORC_EINVAL;
    }
    if (rc == 0) {
        const char *u = disc_rs_get(rs, 0, 0), *p = disc_rs_get(rs, 0, 1);
        if (orc_strlcpy(out->user, u ? u : "", sizeof(out->user)) != 0 ||
            orc_strlcpy(out->password, p ? p : "", sizeof(out->password)) != 0) {
            orc_errf(errmsg, len, "user or password too long");
            rc = ORC_EINVAL;
        }
        out->set = rc == 0 && out->user[0] != '\0';
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "ReplicationCredentialsQuery on %s:%d", on->host, on->port);
    disc_rs_free(rs);
    disc_conn_close(c);
    return rc;
}

int rec_demote_gtid(struct rec_session *s,
                    const struct disc_instance *in,
                    const struct orc_key *master,
                    const struct rec_creds *creds,
                    bool start,
                    char *errmsg,
                    size_t len)
{
    struct disc_change_master cm;
    struct orc_buf sql = ORC_BUF_INIT;
    bool with_creds = creds != NULL && creds->set;
    int rc = rec_stop_replica(s, in, errmsg, len);

    /* A server that wrote transactions of its own has them in
     * gtid_current_pos, not in gtid_slave_pos: without this it would ask the
     * new master for its whole history again. */
    if (rc == 0 && in->ver.flavor == DISC_FLAVOR_MARIADB)
        rc = rec_exec(s, &in->key, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_current_pos", false,
                      errmsg, len);
    memset(&cm, 0, sizeof(cm));
    cm.host = master->host;
    cm.port = master->port;
    cm.use_gtid = true;
    cm.user = with_creds ? creds->user : NULL;
    cm.password = with_creds ? creds->password : NULL;
    if (rc == 0)
        rc = disc_flavor_change_master_sql(&in->ver, &cm, &sql, errmsg, len);
    if (rc == 0)
        rc = rec_exec(s, &in->key, orc_buf_str(&sql), with_creds, errmsg, len);
    if (rc == 0 && start)
        rc = rec_start_replica(s, in, errmsg, len);
    orc_buf_release(&sql);
    return rc;
}

/* ======================================================================
 * The takeover
 * ====================================================================== */

struct tk {
    struct rec_env *env;
    const struct rec_takeover_request *req;
    struct rec_takeover_result *out;
    struct rec_move_limits lim;
    struct disc_snapshot *snap;
    struct rec_session *s;
    struct disc_instance master; /* fresh reading of the old master */
    struct disc_instance *rep;   /* fresh readings of its direct replicas */
    bool *read_ok, *downtimed, *move;
    size_t nrep;
    int succ; /* index of the designated replica in rep */
    regex_t *ignore;
    size_t nignore;
    struct rec_creds creds;
    char m[ORC_KEY_STRLEN], d[ORC_KEY_STRLEN];
    int64_t ro_us;  /* monotonic time of read_only=1 on the old master; 0 = not set */
    bool writable;  /* the successor took writes */
    uint64_t epoch; /* the leadership epoch the takeover acts in */
};

static void add_error(struct tk *x, const char *msg)
{
    orc_buf_printf(&x->out->errors, "%s\n", msg);
    ORC_LOG_W("+takeover-error", "uid=%s error=\"%s\"", x->out->uid, msg);
}

static void submit(struct tk *x, const char *op, json_t *payload)
{
    char err[ORC_ERRMSG_SIZE] = "";

    if (x->env->submit == NULL || payload == NULL) {
        json_decref(payload);
        return;
    }
    if (x->env->submit(x->env->node, op, payload, err, sizeof(err)) != 0)
        add_error(x, err);
}

static void step(struct tk *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void step(struct tk *x, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ORC_LOG_N("+takeover-step", "uid=%s %s", x->out->uid, msg);
    if (x->out->id > 0)
        submit(x, "write-recovery-step",
               json_pack("{s:s, s:I, s:s}", "UID", x->out->uid, "At", (json_int_t)orc_wall_s(),
                         "Message", msg));
}

static int64_t catch_up_ms(const struct tk *x)
{
    int64_t ms = x->lim.max_lag_s * 1000;

    return ms < MIN_CATCH_UP_MS ? MIN_CATCH_UP_MS : ms;
}

static struct disc_instance *succ(struct tk *x)
{
    return &x->rep[x->succ];
}

/* ---- preconditions ---- */

static int find_master(struct tk *x, char *errmsg, size_t len)
{
    const struct disc_snapshot *s = x->snap;
    const struct disc_cluster *cl;
    int c = disc_snapshot_cluster(s, x->req->cluster);
    const struct disc_instance *mi;

    if (c < 0) {
        orc_errf(errmsg, len, "cluster '%s' not found", x->req->cluster);
        return ORC_ENOTFOUND;
    }
    cl = &s->clusters[c];
    orc_strlcpy(x->out->cluster, cl->name, sizeof(x->out->cluster));
    orc_strlcpy(x->out->alias, cl->alias, sizeof(x->out->alias));
    if (cl->master < 0) {
        orc_errf(errmsg, len, "cannot deduce the master of cluster %s", cl->name);
        return ORC_ESTATE;
    }
    mi = &s->instances[cl->master];
    if (mi->is_co_master) {
        orc_errf(errmsg, len, "cluster %s has co-masters: not supported", cl->name);
        return ORC_ESTATE;
    }
    x->out->old_master = mi->key;
    x->out->old_master_master = mi->master_key;
    orc_key_str(&mi->key, x->m, sizeof(x->m));
    for (size_t i = 0; i < s->n; i++)
        if (orc_key_eq(&s->instances[i].master_key, &mi->key) &&
            disc_keylist_add(&x->out->replicas, &s->instances[i].key) != 0)
            return ORC_ENOMEM;
    if (x->out->replicas.len == 0) {
        orc_errf(errmsg, len, "master %s has no replicas", x->m);
        return ORC_ESTATE;
    }
    return 0;
}

/* Fresh readings of the master and of each of its direct replicas. */
static int read_all(struct tk *x, char *errmsg, size_t len)
{
    size_t n = x->out->replicas.len;
    int rc;

    x->rep = calloc(n, sizeof(*x->rep));
    x->read_ok = calloc(n, sizeof(bool));
    x->downtimed = calloc(n, sizeof(bool));
    x->move = calloc(n, sizeof(bool));
    if (x->rep == NULL || x->read_ok == NULL || x->downtimed == NULL || x->move == NULL)
        return ORC_ENOMEM;
    x->nrep = n;
    rc = rec_read(x->s, &x->out->old_master, &x->master, errmsg, len);
    if (rc != 0) {
        orc_errprefix(errmsg, len, "cannot read the master %s", x->m);
        return ORC_ESTATE;
    }
    for (size_t i = 0; i < n; i++) {
        char err[ORC_ERRMSG_SIZE];
        int j = disc_snapshot_find(x->snap, &x->out->replicas.keys[i]);
        disc_instance_init(&x->rep[i]);
        x->read_ok[i] =
            rec_read(x->s, &x->out->replicas.keys[i], &x->rep[i], err, sizeof(err)) == 0;
        if (!x->read_ok[i])
            disc_instance_copy(&x->rep[i], &x->snap->instances[j]); /* keep its key and data */
        x->downtimed[i] = x->snap->annots != NULL && x->snap->annots[j].downtimed;
    }
    return 0;
}

static const char *rule_of(const struct tk *x, const struct orc_key *k)
{
    int i = disc_snapshot_find(x->snap, k);

    if (i < 0)
        return "";
    if (x->snap->annots != NULL && x->snap->annots[i].promotion_rule[0] != '\0')
        return x->snap->annots[i].promotion_rule;
    return x->snap->instances[i].promotion_rule;
}

static bool banned(const struct tk *x, const struct orc_key *k, const char **why)
{
    if (strcmp(rule_of(x, k), "must_not") == 0) {
        *why = "promotion rule must_not";
        return true;
    }
    for (size_t i = 0; i < x->nignore; i++) {
        if (regexec(&x->ignore[i], k->host, 0, NULL, 0) == 0) {
            *why = "PromotionIgnoreHostnameFilters";
            return true;
        }
    }
    return false;
}

static int compile_filters(struct tk *x, char *errmsg, size_t len)
{
    const struct orc_strlist *l = &x->env->cfg->PromotionIgnoreHostnameFilters;

    x->ignore = calloc(l->n ? l->n : 1, sizeof(regex_t));
    if (x->ignore == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        if (regcomp(&x->ignore[i], l->v[i], REG_EXTENDED | REG_NOSUB) != 0) {
            orc_errf(errmsg, len, "PromotionIgnoreHostnameFilters: bad regex '%s'", l->v[i]);
            return ORC_ECONFIG;
        }
        x->nignore++;
    }
    return 0;
}

/* graceful-master-takeover-auto with several replicas: the best candidate
 * as a dead master recovery would pick it. */
static int choose_auto(struct tk *x, char *errmsg, size_t len)
{
    struct rec_replica *r = calloc(x->nrep, sizeof(*r));
    struct rec_promote_options o;
    int best, most = -1, rc = 0;

    if (r == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < x->nrep && rc == 0; i++) {
        const char *why;
        disc_instance_init(&r[i].in);
        rc = disc_instance_copy(&r[i].in, &x->rep[i]);
        r[i].rule = rule_of(x, &x->rep[i].key);
        r[i].read_ok = x->read_ok[i];
        r[i].relay_applied = rec_coords_cmp(&x->rep[i].exec_coords, &x->rep[i].read_coords) >= 0;
        r[i].banned = banned(x, &x->rep[i].key, &why);
    }
    memset(&o, 0, sizeof(o));
    o.ignore = x->ignore;
    o.nignore = x->nignore;
    best = rc == 0 ? rec_promote_choose(r, x->nrep, &x->master, &o, &most, errmsg, len) : -1;
    for (size_t i = 0; i < x->nrep; i++)
        disc_instance_release(&r[i].in);
    free(r);
    if (rc != 0)
        return rc;
    if (best < 0) {
        orc_errprefix(errmsg, len, "no replica of %s can be promoted", x->m);
        return ORC_ESTATE;
    }
    x->succ = best;
    return 0;
}

static int choose_successor(struct tk *x, char *errmsg, size_t len)
{
    char ks[ORC_KEY_STRLEN];

    if (x->req->designated != NULL) {
        for (size_t i = 0; i < x->nrep; i++)
            if (orc_key_eq(&x->rep[i].key, x->req->designated))
                x->succ = (int)i;
        if (x->succ < 0) {
            orc_errf(errmsg, len, "designated instance %s is not a direct replica of master %s",
                     orc_key_str(x->req->designated, ks, sizeof(ks)), x->m);
            return ORC_ESTATE;
        }
        return 0;
    }
    if (x->nrep == 1) {
        x->succ = 0;
        return 0;
    }
    if (x->req->auto_choose)
        return choose_auto(x, errmsg, len);
    orc_errf(errmsg, len,
             "no designated instance given and master %s has %zu replicas: cannot choose which "
             "to promote (name one, or use graceful-master-takeover-auto)",
             x->m, x->nrep);
    return ORC_ESTATE;
}

static int check_successor(struct tk *x, char *errmsg, size_t len)
{
    struct disc_instance *d = succ(x);
    char why[ORC_ERRMSG_SIZE];
    const char *bwhy = "";

    orc_key_str(&d->key, x->d, sizeof(x->d));
    if (!x->read_ok[x->succ]) {
        orc_errf(errmsg, len, "cannot read the designated instance %s", x->d);
        return ORC_ESTATE;
    }
    if (banned(x, &d->key, &bwhy)) {
        orc_errf(errmsg, len, "designated instance %s cannot be promoted: %s", x->d, bwhy);
        return ORC_ESTATE;
    }
    if (!rec_can_move(d, &x->lim, why, sizeof(why))) {
        orc_errf(errmsg, len, "designated instance: %s", why);
        return ORC_ESTATE;
    }
    if (!rec_can_replicate_from(&x->master, d, &x->lim, why, sizeof(why))) {
        orc_errf(errmsg, len, "the old master could not replicate from %s: %s", x->d, why);
        return ORC_ESTATE;
    }
    if (!rec_uses_gtid(d) || !rec_serves_gtid(d) || !rec_serves_gtid(&x->master) ||
        !rec_gtid_compatible(&x->master, d)) {
        orc_errf(errmsg, len, "requires GTID (file:pos relocation is not supported)");
        return ORC_ESTATE;
    }
    return 0;
}

/* Every sibling that is not downtimed must be movable below the successor;
 * downtimed ones that are not stay below the old master. */
static int check_siblings(struct tk *x, char *errmsg, size_t len)
{
    char why[ORC_ERRMSG_SIZE], ks[ORC_KEY_STRLEN];

    for (size_t i = 0; i < x->nrep; i++) {
        const struct disc_instance *r = &x->rep[i];
        bool ok;
        if ((int)i == x->succ)
            continue;
        orc_key_str(&r->key, ks, sizeof(ks));
        ok = x->read_ok[i];
        if (!ok)
            orc_errf(why, sizeof(why), "cannot be read");
        else if (!rec_uses_gtid(r) || !rec_gtid_compatible(r, succ(x)))
            orc_errf(why, sizeof(why), "does not replicate with GTID");
        else
            ok = rec_can_replicate_from(r, succ(x), &x->lim, why, sizeof(why));
        x->move[i] = ok;
        if (!ok && !x->downtimed[i]) {
            orc_errf(errmsg, len, "sibling %s cannot be moved below %s: %s", ks, x->d, why);
            return ORC_ESTATE;
        }
        if (!ok)
            ORC_LOG_W("+takeover-sibling-skipped", "instance=%s reason=\"downtimed; %s\"", ks, why);
    }
    return 0;
}

/* The old master needs replication credentials to replicate from the new
 * one: ReplicationCredentialsQuery, else the ones it already has. */
static int check_credentials(struct tk *x, char *errmsg, size_t len)
{
    int rc = rec_read_replication_creds(x->env, &succ(x)->key, &x->creds, errmsg, len);

    if (rc != 0)
        return ORC_ESTATE;
    if (!x->creds.set && !x->master.has_replication_credentials) {
        orc_errf(errmsg, len,
                 "the old master %s has no replication credentials and "
                 "ReplicationCredentialsQuery is not set: it could not replicate from %s",
                 x->m, x->d);
        return ORC_ESTATE;
    }
    return 0;
}

static int do_register(struct tk *x, char *errmsg, size_t len)
{
    struct orc_buf hosts = ORC_BUF_INIT;
    char host[128] = "", ks[ORC_KEY_STRLEN], token[40];
    json_t *p, *res = NULL;
    int rc;

    if (x->env->submit_r == NULL)
        return 0; /* no replicated store (tests): nothing to record */
    gethostname(host, sizeof(host) - 1);
    /* "<epoch>/graceful": a leader that takes it over knows what it was */
    snprintf(token, sizeof(token), "%llu/graceful", (unsigned long long)x->epoch);
    for (size_t i = 0; i < x->out->replicas.len; i++)
        orc_buf_printf(&hosts, "%s%s", i ? "," : "",
                       orc_key_str(&x->out->replicas.keys[i], ks, sizeof(ks)));
    p = json_pack("{s:s, s:o, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "UID",
                  x->out->uid, "Key", rec_key_json(&x->out->old_master), "Analysis", "DeadMaster",
                  "ClusterName", x->out->cluster, "ClusterAlias", x->out->alias,
                  "CountAffectedReplicas", (int)x->nrep, "ReplicaHosts", orc_buf_str(&hosts),
                  "ProcessingNodeHostname", host, "ProcessingNodeToken", token, "LastDetectionId",
                  (json_int_t)0, "Now", (json_int_t)orc_wall_s(), "BlockSeconds",
                  (json_int_t)x->env->cfg->RecoveryPeriodBlockSeconds, "Force", 1);
    orc_buf_release(&hosts);
    rc = x->env->submit_r(x->env->node, "register-recovery", p, &res, errmsg, len);
    if (res != NULL) {
        x->out->id = (int64_t)json_integer_value(json_object_get(res, "Id"));
        if (rc == ORC_EEXIST)
            orc_errf(errmsg, len, "blocked by recovery %lld of %s, still in its active period",
                     (long long)json_integer_value(json_object_get(res, "BlockingId")), x->m);
        json_decref(res);
    }
    if (rc != 0)
        return rc == ORC_EEXIST ? ORC_ESTATE : rc;
    step(x, "command: " COMMAND "; old master %s, designated %s, %zu replicas", x->m, x->d,
         x->nrep);
    return 0;
}

static int prepare(struct tk *x, char *errmsg, size_t len)
{
    struct rec_session_options so;
    int rc;

    if (x->env->topo == NULL) {
        orc_errf(errmsg, len, "discovery is not running");
        return ORC_ESTATE;
    }
    x->snap = disc_topo_snapshot(x->env->topo);
    if (x->snap == NULL)
        return ORC_ENOMEM;
    rc = compile_filters(x, errmsg, len);
    if (rc == 0)
        rc = find_master(x, errmsg, len);
    rec_env_session_options(x->env, &so);
    if (rc == 0)
        rc = rec_session_new(&so, &x->s);
    if (rc == 0)
        rc = read_all(x, errmsg, len);
    if (rc == 0)
        rc = choose_successor(x, errmsg, len);
    if (rc == 0)
        rc = check_successor(x, errmsg, len);
    if (rc == 0)
        rc = check_siblings(x, errmsg, len);
    if (rc == 0)
        rc = check_credentials(x, errmsg, len);
    return rc;
}

/* ---- hooks ---- */

static int run_hooks(struct tk *x,
                     const struct orc_strlist *l,
                     const char *name,
                     bool fail_fast,
                     char *errmsg,
                     size_t len)
{
    struct rec_hooks_options o;
    struct rec_hook_ctx h;
    char host[128] = "", err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (l->n == 0)
        return 0;
    gethostname(host, sizeof(host) - 1);
    memset(&h, 0, sizeof(h));
    h.failure_type = "DeadMaster";
    h.instance_type = "master";
    h.is_master = true;
    h.failure_description = "graceful master takeover";
    h.command = COMMAND;
    h.failed = x->out->old_master;
    h.failed_data_center = x->master.data_center;
    h.cluster = x->out->cluster;
    h.cluster_alias = x->out->alias;
    h.count_replicas = (int)x->out->replicas.len;
    h.replicas = x->out->replicas.keys;
    h.n_replicas = x->out->replicas.len;
    h.orchestrator_host = host;
    h.recovery_uid = x->out->uid;
    if (x->writable) {
        h.successor = &x->out->successor;
        h.successor_coords = &x->out->successor_coords;
    }
    h.successor_alias = "";
    h.old_master = &x->out->old_master;
    memset(&o, 0, sizeof(o));
    o.shell = x->env->cfg->ProcessesShellCommand;
    o.list = name;
    o.tracker = x->env->hooks_tracker;
    rc = rec_hooks_run(&o, (const char *const *)l->v, l->n, &h, fail_fast, err, sizeof(err));
    step(x, "ran %s: %s", name, rc == 0 ? "ok" : err);
    if (rc != 0 && fail_fast) {
        orc_errf(errmsg, len, "%s", err);
        return rc;
    }
    if (rc != 0)
        add_error(x, err);
    return 0;
}

/* ---- acting ---- */

static int move_siblings(struct tk *x, char *errmsg, size_t len)
{
    char ks[ORC_KEY_STRLEN], err[ORC_ERRMSG_SIZE];

    for (size_t i = 0; i < x->nrep; i++) {
        const struct disc_instance *r = &x->rep[i];
        bool start = r->sql_state == DISC_THREAD_RUNNING; /* a stopped replica stays stopped */
        int rc;
        if ((int)i == x->succ || !x->move[i])
            continue;
        orc_key_str(&r->key, ks, sizeof(ks));
        rc = rec_change_master_gtid(x->s, r, &succ(x)->key, start, err, sizeof(err));
        if (rc != 0 && x->downtimed[i]) {
            add_error(x, err);
            continue;
        }
        if (rc != 0) {
            orc_errf(errmsg, len, "moving sibling %s below %s: %s", ks, x->d, err);
            return rc;
        }
        disc_keylist_add(&x->out->participants, &r->key);
        step(x, "moved sibling %s below %s (GTID)", ks, x->d);
    }
    return 0;
}

static int freeze_and_catch_up(struct tk *x, char *errmsg, size_t len)
{
    struct disc_instance m, tmp;
    int rc;

    if (!rec_env_still_leader(x->env, x->epoch)) {
        orc_errf(errmsg, len, "this node is no longer the leader");
        return ORC_EPERM;
    }
    x->ro_us = orc_mono_us(); /* from here on, no master may be writable */
    rc = rec_set_read_only(x->s, &x->master, true, x->env->cfg->UseSuperReadOnly, errmsg, len);
    if (rc != 0)
        return rc;
    step(x, "old master %s set read_only=1", x->m);
    disc_instance_init(&m);
    disc_instance_init(&tmp);
    rc = rec_read(x->s, &x->out->old_master, &m, errmsg, len);
    if (rc == 0)
        rc = rec_wait_exec_reaches(x->s, &succ(x)->key, &m.self_coords, catch_up_ms(x), &tmp,
                                   errmsg, len);
    if (rc == 0) {
        /* Its own binary log no longer moves (nothing arrives from a read-only
         * master): these are its pre-promotion coordinates. */
        x->out->successor_coords = tmp.self_coords;
        step(x, "%s executed the old master's binary log up to %s:%lld", x->d, m.self_coords.file,
             (long long)m.self_coords.pos);
    } else
        orc_errprefix(errmsg, len, "%s did not catch up with the old master", x->d);
    disc_instance_release(&m);
    disc_instance_release(&tmp);
    return rc;
}

static int promote(struct tk *x, bool *reset, char *errmsg, size_t len)
{
    int rc = 0;

    if (!rec_env_still_leader(x->env, x->epoch)) {
        orc_errf(errmsg, len, "this node is no longer the leader");
        rc = ORC_EPERM;
    }
    if (rc == 0 && x->env->submit != NULL) {
        /* Written ahead, so a leader taking this over knows the successor. */
        char err[ORC_ERRMSG_SIZE] = "";
        if (x->env->submit(x->env->node, "set-recovery-successor",
                           json_pack("{s:s, s:o}", "UID", x->out->uid, "SuccessorKey",
                                     rec_key_json(&succ(x)->key)),
                           err, sizeof(err)) != 0)
            add_error(x, err);
    }
    if (rc == 0)
        rc = rec_reset_replica_all(x->s, succ(x), errmsg, len);
    *reset = rc == 0;
    if (rc == 0)
        rc = rec_set_read_only(x->s, succ(x), false, x->env->cfg->UseSuperReadOnly, errmsg, len);
    if (rc != 0)
        return rc;
    x->out->no_writer_us = orc_mono_us() - x->ro_us;
    x->out->successor = succ(x)->key;
    x->writable = true;
    disc_keylist_add(&x->out->participants, &succ(x)->key);
    ORC_LOG_N("+takeover-window", "uid=%s old_master=%s new_master=%s no_writable_master_us=%lld",
              x->out->uid, x->m, x->d, (long long)x->out->no_writer_us);
    step(x, "promoted %s: RESET SLAVE ALL, read_only=0; no master was writable for %.3f ms", x->d,
         (double)x->out->no_writer_us / 1000.0);
    return 0;
}

/* A failure after read_only=1 and before the successor took writes: put
 * things back as they were. */
static void undo(struct tk *x, bool reset)
{
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (reset) /* the successor lost its replication: point it back */
        rc = rec_change_master_gtid(x->s, succ(x), &x->out->old_master, true, err, sizeof(err));
    else
        rc = rec_start_replica(x->s, succ(x), err, sizeof(err));
    if (rc != 0)
        add_error(x, err);
    rc =
        rec_set_read_only(x->s, &x->master, false, x->env->cfg->UseSuperReadOnly, err, sizeof(err));
    if (rc == 0)
        step(x, "old master %s set read_only=0 again", x->m);
    else
        add_error(x, err);
}

static int demote(struct tk *x, char *errmsg, size_t len)
{
    int rc = rec_demote_gtid(x->s, &x->master, &x->out->successor, &x->creds, true, errmsg, len);

    if (rc != 0) {
        orc_errprefix(errmsg, len,
                      "%s is the new master, but the old master %s could not be "
                      "pointed at it",
                      x->d, x->m);
        return rc;
    }
    disc_keylist_add(&x->out->participants, &x->out->old_master);
    step(x, "old master %s replicates from %s (GTID, START SLAVE)", x->m, x->d);
    return 0;
}

/* ---- after ---- */

static void publish(struct tk *x)
{
    const char *name = x->out->alias[0] ? x->out->alias : x->out->cluster;
    char kv[512];

    snprintf(kv, sizeof(kv), "%s%s", x->env->cfg->KVClusterMasterPrefix, name);
    submit(x, "put-key-value",
           json_pack("{s:s, s:s, s:I}", "Key", kv, "Value", x->d, "Now", (json_int_t)orc_wall_s()));
    rec_kv_publish_master(x->env, name, &x->out->successor); /* KV stores: queued */
    if (x->out->alias[0] && strcmp(x->out->alias, x->out->cluster) != 0)
        submit(x, "set-cluster-alias",
               json_pack("{s:s, s:s}", "ClusterName", x->d, "Alias", x->out->alias));
}

static void resolve(struct tk *x)
{
    struct orc_buf part = ORC_BUF_INIT;
    char ks[ORC_KEY_STRLEN];

    if (x->out->id <= 0)
        return;
    for (size_t i = 0; i < x->out->participants.len; i++)
        orc_buf_printf(&part, "%s%s", i ? "," : "",
                       orc_key_str(&x->out->participants.keys[i], ks, sizeof(ks)));
    submit(x, "resolve-recovery",
           json_pack("{s:s, s:o, s:o, s:s, s:b, s:s, s:s, s:s, s:I}", "UID", x->out->uid, "Key",
                     rec_key_json(&x->out->old_master), "SuccessorKey",
                     x->writable ? rec_key_json(&x->out->successor) : json_null(), "SuccessorAlias",
                     "", "IsSuccessful", x->writable, "LostReplicas", "", "ParticipatingInstances",
                     orc_buf_str(&part), "AllErrors", orc_buf_str(&x->out->errors), "EndRecovery",
                     (json_int_t)orc_wall_s()));
    orc_buf_release(&part);
}

/* Waits until the snapshot shows the new shape, so the answer is fresh. */
static void refresh(struct tk *x)
{
    struct rec_expect *e = calloc(x->nrep + 1, sizeof(*e));
    size_t n = 0;

    if (e == NULL)
        return;
    e[n].key = x->out->successor;
    e[n].check_master = true; /* no master */
    e[n].read_only = 0;
    e[n++].replicating = -1;
    e[n].key = x->out->old_master;
    e[n].check_master = true;
    e[n].master = x->out->successor;
    e[n].read_only = -1;
    e[n++].replicating = -1;
    for (size_t i = 0; i < x->nrep; i++) {
        if ((int)i == x->succ || !x->move[i])
            continue;
        e[n].key = x->rep[i].key;
        e[n].check_master = true;
        e[n].master = x->out->successor;
        e[n].read_only = -1;
        e[n++].replicating = -1;
    }
    if (!rec_planned_refresh(x->env, e, n, REFRESH_MS))
        ORC_LOG_W("+takeover-stale", "uid=%s: the topology does not show the new master yet",
                  x->out->uid);
    free(e);
}

static void finish(struct tk *x, int rc, const char *err)
{
    const struct orc_config *c = x->env->cfg;
    double ms = (double)x->out->no_writer_us / 1000.0;

    if (x->writable) {
        publish(x);
        run_hooks(x, &c->PostFailoverProcesses, "PostFailoverProcesses", false, NULL, 0);
        run_hooks(x, &c->PostGracefulTakeoverProcesses, "PostGracefulTakeoverProcesses", false,
                  NULL, 0);
    } else {
        run_hooks(x, &c->PostUnsuccessfulFailoverProcesses, "PostUnsuccessfulFailoverProcesses",
                  false, NULL, 0);
    }
    if (rc != 0)
        add_error(x, err);
    x->out->successful = x->writable;
    x->out->ended_s = orc_wall_s();
    resolve(x);
    if (x->writable)
        snprintf(x->out->message, sizeof(x->out->message),
                 COMMAND
                 ": %s is the new master of %s (was %s); no master was writable for "
                 "%.3f ms",
                 x->d, x->out->cluster, x->m, ms);
    else
        snprintf(x->out->message, sizeof(x->out->message), COMMAND ": failed: %s", err);
    rec_planned_audit(x->env, COMMAND, &x->out->old_master, x->out->cluster,
                      "%s; uid %s; by %s%s%s", x->out->message, x->out->uid,
                      x->req->user ? x->req->user : "api", rc != 0 && x->writable ? "; " : "",
                      rc != 0 && x->writable ? err : "");
    if (x->writable)
        refresh(x);
}

static int act(struct tk *x, char *errmsg, size_t len)
{
    const struct orc_config *c = x->env->cfg;
    bool reset = false;
    int rc = move_siblings(x, errmsg, len);

    if (rc == 0)
        rc = run_hooks(x, &c->PreGracefulTakeoverProcesses, "PreGracefulTakeoverProcesses", true,
                       errmsg, len);
    if (rc == 0)
        rc = freeze_and_catch_up(x, errmsg, len);
    if (rc == 0)
        rc = run_hooks(x, &c->PreFailoverProcesses, "PreFailoverProcesses", true, errmsg, len);
    if (rc == 0)
        rc = promote(x, &reset, errmsg, len);
    if (rc != 0 && x->ro_us != 0)
        undo(x, reset);
    if (rc != 0)
        return rc;
    run_hooks(x, &c->PostMasterFailoverProcesses, "PostMasterFailoverProcesses", false, NULL, 0);
    return demote(x, errmsg, len);
}

static void tk_release(struct tk *x)
{
    for (size_t i = 0; x->rep != NULL && i < x->nrep; i++)
        disc_instance_release(&x->rep[i]);
    free(x->rep);
    free(x->read_ok);
    free(x->downtimed);
    free(x->move);
    for (size_t i = 0; i < x->nignore; i++)
        regfree(&x->ignore[i]);
    free(x->ignore);
    disc_instance_release(&x->master);
    rec_session_free(x->s);
    disc_snapshot_put(x->snap);
    memset(&x->creds, 0, sizeof(x->creds));
}

int rec_takeover_run(struct rec_env *env,
                     const struct rec_takeover_request *req,
                     struct rec_takeover_result *out,
                     char *errmsg,
                     size_t len)
{
    struct tk x;
    int rc;

    memset(&x, 0, sizeof(x));
    x.env = env;
    x.req = req;
    x.out = out;
    x.succ = -1;
    x.lim.max_lag_s = env->cfg->ReasonableMaintenanceReplicationLagSeconds;
    x.lim.verify_filters = env->cfg->VerifyReplicationFilters;
    disc_instance_init(&x.master);
    snprintf(out->uid, sizeof(out->uid), "%lld:%08x", (long long)orc_wall_ms() * 1000000LL,
             (unsigned)(orc_mono_us() ^ ((uint64_t)getpid() << 16)));
    out->started_s = orc_wall_s();
    x.epoch = rec_env_epoch(env);
    rc = rec_registry_enter(env->running, out->uid); /* before it registers */
    if (rc == 0)
        rc = x.epoch != 0 ? prepare(&x, errmsg, len) : ORC_EPERM;
    if (rc == ORC_EPERM && x.snap == NULL)
        orc_errf(errmsg, len, "this node is not the leader");
    if (rc == 0)
        rc = do_register(&x, errmsg, len);
    if (rc != 0) { /* refused: nothing was touched */
        orc_errprefix(errmsg, len, COMMAND);
        rec_registry_leave(env->running, out->uid);
        tk_release(&x);
        return rc;
    }
    ORC_LOG_N("+takeover-start", "uid=%s cluster=%s old_master=%s designated=%s auto=%d", out->uid,
              out->cluster, x.m, x.d, req->auto_choose);
    rc = act(&x, errmsg, len);
    finish(&x, rc, errmsg);
    rec_registry_leave(env->running, out->uid);
    if (rc != 0)
        orc_errprefix(errmsg, len, COMMAND);
    tk_release(&x);
    return rc;
}
