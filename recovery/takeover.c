/*
 * takeover: orchestrator's graceful master takeover. A planned master change:
 * the designated replica (given, the only one, or chosen) takes the master's
 * other replicas, the master stops taking writes, the designated server
 * catches up with it and becomes the writable master, and the old master
 * replicates from it.
 *
 * Order (reference 4.4): checks on fresh readings (unique master with
 * replicas, designated replica not banned, lag, GTID, every sibling movable,
 * replication credentials for the old master) -> register the recovery (MasterRecovery,
 * analysis DeadMaster, command graceful-master-takeover) -> move the siblings
 * below the designated server -> PreGracefulTakeoverProcesses ->
 * read_only=1 on the master -> wait until the designated server executed
 * all of the master's binary log -> PreFailoverProcesses -> promote (STOP
 * SLAVE, RESET SLAVE ALL, read_only=0) -> PostMasterFailoverProcesses -> the
 * old master replicates from the new one (GTID, START SLAVE) ->
 * PostFailoverProcesses, PostGracefulTakeoverProcesses -> resolve, publish,
 * audit.
 *
 * Credentials for the old master: ReplicationCredentialsQuery, else the ones
 * it already has. With neither (as orchestrator) it is still pointed at the
 * new master, with the replication user its replicas use (no password is
 * known) and left stopped; the answer says so.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "discovery/disc.h"
#include "recovery/hooks.h"
#include "recovery/op.h"
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
    int succ;                     /* index of the designated replica in rep */
    struct rec_op_filters ignore; /* PromotionIgnoreHostnameFilters */
    struct rec_creds creds;
    bool no_password; /* creds hold a learnt user only: the old master stays stopped */
    char m[ORC_KEY_STRLEN], d[ORC_KEY_STRLEN];
    int64_t ro_us; /* monotonic time of read_only=1 on the old master; 0 = not set */
    bool writable; /* the successor took writes */
    bool co;       /* a co-master pair: the other co-master takes the writes */
    /* the run: uid, epoch, steps, errors (into out->errors) */
    struct rec_op op;
};

static void add_error(struct tk *x, const char *msg)
{
    rec_op_error(&x->op, msg);
}

static void submit(struct tk *x, const char *op, json_t *payload)
{
    rec_op_submit(&x->op, op, payload);
}

#define step(x, ...) rec_op_step(&(x)->op, __VA_ARGS__)

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
    mi = s->instances[cl->master];
    if (mi->is_co_master && mi->read_only) {
        orc_errf(errmsg, len, "cluster %s has co-masters and neither is the only writable one",
                 cl->name);
        return ORC_ESTATE;
    }
    x->co = mi->is_co_master;
    x->out->old_master = mi->key;
    x->out->old_master_master = mi->master_key;
    orc_key_str(&mi->key, x->m, sizeof(x->m));
    for (size_t i = 0; i < s->n; i++)
        if (orc_key_eq(&s->instances[i]->master_key, &mi->key) &&
            disc_keylist_add(&x->out->replicas, &s->instances[i]->key) != 0)
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
            disc_instance_copy(&x->rep[i], x->snap->instances[j]); /* keep its key and data */
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
    return x->snap->instances[i]->promotion_rule;
}

static bool banned(const struct tk *x, const struct orc_key *k, const char **why)
{
    if (strcmp(rule_of(x, k), "must_not") == 0) {
        *why = "promotion rule must_not";
        return true;
    }
    if (rec_op_filters_match(&x->ignore, k->host)) {
        *why = "PromotionIgnoreHostnameFilters";
        return true;
    }
    return false;
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
    o.ignore = x->ignore.v;
    o.nignore = x->ignore.n;
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

/* A co-master pair: the successor is the other co-master, which keeps
 * replicating from the old one (and the old one from it). */
static int choose_co_master(struct tk *x, char *errmsg, size_t len)
{
    char ks[ORC_KEY_STRLEN];
    const struct orc_key *other = &x->master.master_key;

    if (x->req->designated != NULL && !orc_key_eq(x->req->designated, other)) {
        orc_errf(errmsg, len,
                 "designated instance %s is not the other co-master %s:%d of %s (only the "
                 "other co-master can take over a co-master pair)",
                 orc_key_str(x->req->designated, ks, sizeof(ks)), other->host, other->port, x->m);
        return ORC_ESTATE;
    }
    for (size_t i = 0; i < x->nrep; i++)
        if (orc_key_eq(&x->rep[i].key, other))
            x->succ = (int)i;
    if (x->succ < 0) {
        orc_errf(errmsg, len, "the other co-master %s:%d does not replicate from %s", other->host,
                 other->port, x->m);
        return ORC_ESTATE;
    }
    return 0;
}

static int choose_successor(struct tk *x, char *errmsg, size_t len)
{
    char ks[ORC_KEY_STRLEN];

    if (x->co)
        return choose_co_master(x, errmsg, len);

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
 * one: ReplicationCredentialsQuery, else the ones it already has, else the
 * user the designated replica connects with (no password). */
static int check_credentials(struct tk *x, char *errmsg, size_t len)
{
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = rec_read_replication_creds(x->env, &succ(x)->key, &x->creds, errmsg, len);

    if (rc != 0)
        return ORC_ESTATE;
    if (x->creds.set || x->master.has_replication_credentials)
        return 0;
    x->no_password = true;
    if (rec_replication_user(x->s, succ(x), x->creds.user, sizeof(x->creds.user), err,
                             sizeof(err)) != 0)
        ORC_LOG_W("+takeover-user-unknown", "designated=%s error=\"%s\"", x->d, err);
    x->creds.password[0] = '\0';
    x->creds.set = x->creds.user[0] != '\0';
    ORC_LOG_N("+takeover-no-credentials",
              "old_master=%s user=%s: ReplicationCredentialsQuery is not set and the old master "
              "has no credentials; it will be left stopped",
              x->m, x->creds.set ? x->creds.user : "(none)");
    return 0;
}

static int do_register(struct tk *x, char *errmsg, size_t len)
{
    struct orc_buf hosts = ORC_BUF_INIT;
    struct rec_op_registration g;
    char token[40];
    int rc;

    /* "<epoch>/graceful": a leader that takes it over knows what it was */
    snprintf(token, sizeof(token), "%llu/graceful", (unsigned long long)x->op.epoch);
    rec_op_keys_csv(x->out->replicas.keys, x->out->replicas.len, &hosts);
    memset(&g, 0, sizeof(g));
    g.key = &x->out->old_master;
    g.analysis = "DeadMaster";
    g.cluster = x->out->cluster;
    g.alias = x->out->alias;
    g.count_replicas = (int)x->nrep;
    g.replica_hosts = orc_buf_str(&hosts);
    g.token = token;
    g.force = true;
    rc = rec_op_register(&x->op, &g, errmsg, len);
    orc_buf_release(&hosts);
    x->out->id = x->op.id;
    if (rc == ORC_EEXIST)
        orc_errf(errmsg, len, "blocked by recovery %lld of %s, still in its active period",
                 (long long)x->op.blocking_id, x->m);
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

    if ((rc = rec_snapshot_find(x->env, NULL, &x->snap, NULL, errmsg, len)) != 0)
        return rc;
    rc = rec_op_filters_compile(&x->ignore, &x->env->cfg->PromotionIgnoreHostnameFilters,
                                "PromotionIgnoreHostnameFilters", errmsg, len);
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
    if (rc == 0 && !x->co) /* co-masters: the old one replicates from the new one already */
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
    h.is_co_master = x->co;
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

    if (rec_op_enter(&x->op, "freeze", errmsg, len) != 0)
        return ORC_EPERM;
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

    if (rec_op_enter(&x->op, "promote", errmsg, len) != 0)
        rc = ORC_EPERM;
    if (rc == 0) /* written ahead, so a leader taking this over knows the successor */
        submit(x, "set-recovery-successor",
               json_pack("{s:s, s:o}", "UID", x->out->uid, "SuccessorKey",
                         rec_key_json(&succ(x)->key)));
    if (rc == 0 && !x->co) /* a co-master keeps replicating from the old one */
        rc = rec_reset_replica_all(x->s, succ(x), errmsg, len);
    *reset = rc == 0 && !x->co;
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
    step(x, "promoted %s: %s, read_only=0; no master was writable for %.3f ms", x->d,
         x->co ? "replication from the old co-master kept" : "RESET SLAVE ALL",
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
    bool start = !x->no_password;
    int rc;

    if (x->co) { /* it replicates from the new writer already: nothing to change */
        disc_keylist_add(&x->out->participants, &x->out->old_master);
        step(x, "old co-master %s stays read-only and keeps replicating from %s", x->m, x->d);
        return 0;
    }
    rc = rec_demote_gtid(x->s, &x->master, &x->out->successor, &x->creds, start, errmsg, len);

    if (rc != 0) {
        orc_errprefix(errmsg, len,
                      "%s is the new master, but the old master %s could not be "
                      "pointed at it",
                      x->d, x->m);
        return rc;
    }
    disc_keylist_add(&x->out->participants, &x->out->old_master);
    if (start)
        step(x, "old master %s replicates from %s (GTID, START SLAVE)", x->m, x->d);
    else
        step(x,
             "old master %s points at %s (GTID, user '%s') but is left stopped: no replication "
             "password is known",
             x->m, x->d, x->creds.set ? x->creds.user : "");
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

    rec_op_keys_csv(x->out->participants.keys, x->out->participants.len, &part);
    rec_op_resolve(&x->op, &x->out->old_master, x->writable ? &x->out->successor : NULL,
                   x->writable, "", orc_buf_str(&part));
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
    e[n].check_master = true; /* no master; a co-master: the old one */
    if (x->co)
        e[n].master = x->out->old_master;
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
                 ": %s is the new master of %s (was %s%s); no master was writable for "
                 "%.3f ms%s",
                 x->d, x->out->cluster, x->m,
                 x->co ? "; co-masters, still replicating from each other" : "", ms,
                 x->no_password ? "; the old master points at the new one but is left stopped: "
                                  "ReplicationCredentialsQuery is not set and it has no "
                                  "replication password (set MASTER_PASSWORD, then START SLAVE)"
                                : "");
    else
        snprintf(x->out->message, sizeof(x->out->message), COMMAND ": failed: %s", err);
    rec_op_audit(x->env, COMMAND, &x->out->old_master, x->out->cluster, "%s; uid %s; by %s%s%s",
                 x->out->message, x->out->uid, x->req->user ? x->req->user : "api",
                 rc != 0 && x->writable ? "; " : "", rc != 0 && x->writable ? err : "");
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
    rec_op_filters_release(&x->ignore);
    rec_op_release(&x->op);
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
    rc = rec_op_init(&x.op, env, "takeover", &out->errors);
    orc_strlcpy(out->uid, x.op.uid, sizeof(out->uid));
    out->started_s = x.op.started_ms / 1000;
    if (rc == 0)
        rc = rec_registry_enter(env->running, out->uid); /* before it registers */
    if (rc == 0)
        rc = x.op.epoch != 0 ? prepare(&x, errmsg, len) : ORC_EPERM;
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
