/*
 * failover: the dead master recovery, one function per state. The leader
 * check runs before every acting state; every transition is logged with an
 * event code and recorded as a recovery step.
 *
 * Speed matters here: replicas are prepared in parallel (one thread each),
 * the candidate is made writable before the others are repointed, and the
 * old master is fenced last (it is usually gone).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "discovery/disc.h"
#include "recovery/rec.h"
#include "recovery/hooks.h"
#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/planned.h"
#include "recovery/promote.h"

#define PREPARE_TIMEOUT_MS 10000

static const char *const state_names[] = {
    "register", "pre-hooks", "prepare", "choose",     "catch-up", "promote",
    "repoint",  "fence",     "publish", "post-hooks", "done",     "failed",
};

const char *rec_state_name(enum rec_state s)
{
    return (unsigned)s < ORC_ARRAY_LEN(state_names) ? state_names[s] : "unknown";
}

void rec_result_init(struct rec_result *r)
{
    memset(r, 0, sizeof(*r));
    orc_buf_init(&r->errors);
}

void rec_result_release(struct rec_result *r)
{
    disc_keylist_release(&r->lost);
    disc_keylist_release(&r->participants);
    orc_buf_release(&r->errors);
}

/* Everything one run needs. */
struct run {
    struct rec_env *env;
    const struct rec_failover_request *req;
    struct rec_result *out;
    struct rec_session_options so;
    struct rec_session *sess;
    struct disc_instance failed; /* last known record of the dead master */
    char cluster[ORC_KEY_STRLEN];
    char alias[DISC_TEXT_MAX];
    struct rec_replica *r; /* its replicas */
    size_t n;
    struct rec_replica *later; /* replicas postponed (PostponeReplicaRecoveryOnLagMinutes) */
    size_t nlater;
    int candidate, most_advanced;
    int co_other;                 /* a dead co-master: index of the other co-master in r, or -1 */
    bool co_must;                 /* ... which must be the one promoted */
    bool caught_up;               /* the candidate took what a more advanced replica had */
    struct rec_op_filters ignore; /* PromotionIgnoreHostnameFilters */
    enum rec_state state;
    /* the run: uid, epoch, steps (written in batches off the critical
     * path), errors (into out->errors) */
    struct rec_op op;
};

#define step(x, ...) rec_op_step(&(x)->op, __VA_ARGS__)

static void submit(struct run *x, const char *op, json_t *payload)
{
    rec_op_submit(&x->op, op, payload);
}

static void add_error(struct run *x, const char *msg)
{
    rec_op_error(&x->op, msg);
}

/* A state entered without the leader check (the end of the run). */
static void set_state(struct run *x, enum rec_state s)
{
    x->state = s;
    x->op.state = rec_state_name(s);
}

static int enter(struct run *x, enum rec_state s, char *errmsg, size_t len)
{
    x->state = s;
    return rec_op_enter(&x->op, rec_state_name(s), errmsg, len);
}

/* Inside long steps: true (with errmsg set) once leadership of the run's
 * epoch is lost. */
static bool lost_leadership(struct run *x, char *errmsg, size_t len)
{
    return rec_op_lost_leadership(&x->op, errmsg, len);
}

/* ---- register ---- */

/* Resuming: the successor chosen by the lost run may already be promoted
 * (no longer a replica of the failed master); it still takes part. */
static void add_resumed_successor(struct run *x, const struct disc_snapshot *s)
{
    int i = disc_snapshot_find(s, x->req->candidate);

    for (size_t j = 0; j < x->n; j++)
        if (orc_key_eq(&x->r[j].in.key, x->req->candidate))
            return;
    if (i < 0)
        return;
    disc_instance_init(&x->r[x->n].in);
    disc_instance_copy(&x->r[x->n].in, s->instances[i]);
    x->r[x->n].rule = strdup(s->annots[i].promotion_rule);
    x->r[x->n].lag = s->instances[i]->replication_lag_seconds;
    x->n++;
}

static int load_topology(struct run *x, char *errmsg, size_t len)
{
    struct disc_snapshot *s = disc_topo_snapshot(x->env->topo);
    int fi, c;

    if (s == NULL)
        return ORC_ENOMEM;
    fi = disc_snapshot_find(s, &x->req->failed);
    if (fi < 0) {
        disc_snapshot_put(s);
        orc_errf(errmsg, len, "instance '%s:%d' not found", x->req->failed.host,
                 x->req->failed.port);
        return ORC_ENOTFOUND;
    }
    disc_instance_copy(&x->failed, s->instances[fi]);
    c = disc_snapshot_cluster_of(s, fi);
    orc_strlcpy(x->cluster, c >= 0 ? s->clusters[c].name : "", sizeof(x->cluster));
    orc_strlcpy(x->alias, c >= 0 ? s->clusters[c].alias : "", sizeof(x->alias));
    /* its replicas, and room for a resumed successor */
    size_t nrep = 1;
    for (size_t i = 0; i < s->n; i++)
        nrep += orc_key_eq(&s->instances[i]->master_key, &x->req->failed);
    x->r = calloc(nrep, sizeof(*x->r));
    x->later = calloc(nrep, sizeof(*x->later));
    for (size_t i = 0; x->r != NULL && x->later != NULL && i < s->n; i++) {
        const struct disc_instance *in = s->instances[i];
        if (!orc_key_eq(&in->master_key, &x->req->failed) || (int)i == fi)
            continue;
        if (rec_postpone_replica(x->env->cfg, in)) {
            disc_instance_init(&x->later[x->nlater].in);
            disc_instance_copy(&x->later[x->nlater++].in, in);
            continue;
        }
        disc_instance_init(&x->r[x->n].in);
        disc_instance_copy(&x->r[x->n].in, in);
        x->r[x->n].rule = strdup(s->annots[i].promotion_rule);
        x->r[x->n].lag = in->replication_lag_seconds;
        x->n++;
    }
    if (x->r != NULL && x->req->resume && x->req->candidate != NULL)
        add_resumed_successor(x, s);
    for (size_t i = 0; x->r != NULL && x->failed.is_co_master && i < x->n; i++)
        if (orc_key_eq(&x->r[i].in.key, &x->failed.master_key))
            x->co_other = (int)i;
    disc_snapshot_put(s);
    return x->r && x->later ? 0 : ORC_ENOMEM;
}

static void list_keys(const struct rec_replica *r, size_t n, struct orc_buf *out)
{
    char ks[ORC_KEY_STRLEN];

    for (size_t i = 0; i < n; i++)
        orc_buf_printf(out, "%s%s", i ? "," : "", orc_key_str(&r[i].in.key, ks, sizeof(ks)));
}

/* Taking over: the adopted recovery goes on under its own uid and id. */
static int st_adopt(struct run *x)
{
    orc_strlcpy(x->out->uid, x->req->adopt_uid, sizeof(x->out->uid));
    orc_strlcpy(x->op.uid, x->req->adopt_uid, sizeof(x->op.uid));
    x->out->id = x->op.id = x->req->adopt_id;
    step(x, "taken over by the leader of epoch %llu (its leader was lost)",
         (unsigned long long)x->op.epoch);
    return 0;
}

static int st_register(struct run *x, char *errmsg, size_t len)
{
    struct orc_buf hosts = ORC_BUF_INIT;
    struct rec_op_registration g;
    char token[32];
    int rc;

    snprintf(token, sizeof(token), "%llu", (unsigned long long)x->op.epoch);
    list_keys(x->r, x->n, &hosts);
    memset(&g, 0, sizeof(g));
    g.key = &x->req->failed;
    g.analysis = x->req->analysis;
    g.cluster = x->cluster;
    g.alias = x->alias;
    g.count_replicas = (int)x->n;
    g.replica_hosts = orc_buf_str(&hosts);
    g.token = token;
    g.detection_id = x->req->detection_id;
    g.force = x->req->force;
    rc = rec_op_register(&x->op, &g, errmsg, len);
    orc_buf_release(&hosts);
    x->out->id = x->op.id;
    x->out->blocking_id = x->op.blocking_id;
    if (rc == ORC_EEXIST) {
        x->out->blocked = true;
        orc_errf(errmsg, len,
                 "recovery of %s:%d blocked: recovery %lld on cluster %s is in its active period "
                 "(RecoveryPeriodBlockSeconds=%lld); acknowledge it to allow another",
                 x->req->failed.host, x->req->failed.port, (long long)x->out->blocking_id,
                 x->cluster, (long long)x->env->cfg->RecoveryPeriodBlockSeconds);
        ORC_LOG_W("+recovery-blocked", "instance=%s:%d cluster=%s blocking_id=%lld",
                  x->req->failed.host, x->req->failed.port, x->cluster,
                  (long long)x->out->blocking_id);
        return rc;
    }
    if (rc == 0)
        step(x, "registered recovery of %s:%d (%s) with %zu replicas", x->req->failed.host,
             x->req->failed.port, x->req->analysis, x->n);
    return rc;
}

/* ---- prepare: stop IO threads, let SQL threads apply, read again ---- */

struct prep {
    struct run *x;
    struct rec_replica *r;
    pthread_t tid;
};

static void *prepare_one(void *arg)
{
    struct prep *p = arg;
    struct rec_replica *r = p->r;
    struct rec_session *s = NULL;
    struct disc_instance fresh;
    char err[ORC_ERRMSG_SIZE] = "";
    int64_t timeout = PREPARE_TIMEOUT_MS;
    int rc;

    disc_instance_init(&fresh);
    if (rec_session_new(&p->x->so, &s) != 0)
        return NULL;
    if (p->x->env->cfg->DelayMasterPromotionIfSQLThreadNotUpToDate)
        timeout *= 6;
    rc = rec_stop_io_thread(s, &r->in, err, sizeof(err));
    if (rc == 0)
        rc = rec_wait_relay_applied(s, &r->in.key, timeout, &fresh, err, sizeof(err));
    if (rc == 0 || rc == ORC_ETIMEDOUT || rc == ORC_ESTATE) {
        r->read_ok = fresh.key.port != 0 || rec_read(s, &r->in.key, &fresh, err, sizeof(err)) == 0;
        r->relay_applied = rc == 0;
        if (fresh.key.port != 0) {
            /* the errant set is the topology's (against the master, now
             * dead): a fresh reading does not compute it */
            char *errant = r->in.gtid_errant;
            r->in.gtid_errant = NULL;
            disc_instance_copy(&r->in, &fresh);
            r->in.gtid_errant = errant;
            r->read_ok = true;
        }
    }
    if (rc != 0)
        orc_strlcpy(r->why_not, err, sizeof(r->why_not));
    disc_instance_release(&fresh);
    rec_session_free(s);
    return NULL;
}

/* Resuming: the successor of the lost run, already out of replication. */
static bool already_promoted(const struct run *x, const struct rec_replica *r)
{
    return x->req->resume && x->req->candidate != NULL &&
           orc_key_eq(&r->in.key, x->req->candidate) &&
           !orc_key_eq(&r->in.master_key, &x->req->failed);
}

static int st_prepare(struct run *x, char *errmsg, size_t len)
{
    struct prep *p = calloc(x->n ? x->n : 1, sizeof(*p));
    size_t ok = 0;

    if (p == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < x->n; i++) {
        p[i].x = x;
        p[i].r = &x->r[i];
        if (already_promoted(x, &x->r[i])) {
            x->r[i].read_ok = x->r[i].relay_applied = true;
            continue;
        }
        if (pthread_create(&p[i].tid, NULL, prepare_one, &p[i]) != 0)
            prepare_one(&p[i]);
    }
    for (size_t i = 0; i < x->n; i++) {
        if (p[i].tid)
            pthread_join(p[i].tid, NULL);
        ok += x->r[i].read_ok;
        if (!x->r[i].read_ok || !x->r[i].relay_applied) {
            char m[600];
            snprintf(m, sizeof(m), "replica %s:%d: %s", x->r[i].in.key.host, x->r[i].in.key.port,
                     x->r[i].why_not[0] ? x->r[i].why_not : "not prepared");
            add_error(x, m);
        }
    }
    free(p);
    if (lost_leadership(x, errmsg, len))
        return ORC_EPERM;
    step(x, "prepared %zu of %zu replicas (IO threads stopped, relay logs applied)", ok, x->n);
    if (ok == 0) {
        orc_errf(errmsg, len, "none of the %zu replicas of %s:%d could be read", x->n,
                 x->req->failed.host, x->req->failed.port);
        return ORC_EIO;
    }
    return 0;
}

/* ---- choose ---- */

/* A dead co-master (orchestrator's RecoverDeadCoMaster): the other
 * co-master is the one promoted when CoMasterRecoveryMustPromoteOtherCoMaster
 * says so or when it is writable already; otherwise any replica may be. */
static int co_master_want(struct run *x, const struct orc_key **want, char *errmsg, size_t len)
{
    const struct rec_replica *o;

    if (x->co_other < 0) {
        orc_errf(errmsg, len, "the other co-master %s:%d of %s:%d is not known",
                 x->failed.master_key.host, x->failed.master_key.port, x->failed.key.host,
                 x->failed.key.port);
        return ORC_ENOTFOUND;
    }
    o = &x->r[x->co_other];
    x->co_must = rec_promote_co_master_must(x->env->cfg->CoMasterRecoveryMustPromoteOtherCoMaster,
                                            o->in.read_only);
    step(x, "co-master recovery: the other co-master %s:%d is %s; it %s be promoted",
         o->in.key.host, o->in.key.port, o->in.read_only ? "read-only" : "writable",
         x->co_must ? "must" : "may");
    if (!x->co_must)
        return 0;
    if (*want != NULL && !orc_key_eq(*want, &o->in.key)) {
        orc_errf(errmsg, len,
                 "requested candidate %s:%d is not the other co-master %s:%d, which must be "
                 "promoted (CoMasterRecoveryMustPromoteOtherCoMaster, or it is writable)",
                 (*want)->host, (*want)->port, o->in.key.host, o->in.key.port);
        return ORC_ESTATE;
    }
    *want = &o->in.key;
    return 0;
}

/* FailMasterPromotionOnLagMinutes, checked before anything is changed
 * (orchestrator checks it after regrouping the replicas below the
 * candidate). The lag is the one seen before the run: a replica whose IO
 * thread was stopped reports none. */
static int check_lag(struct run *x, char *errmsg, size_t len)
{
    const struct rec_replica *c = &x->r[x->candidate];
    int64_t m = x->env->cfg->FailMasterPromotionOnLagMinutes;
    int rc;

    if (m <= 0 || (x->req->resume && x->req->candidate != NULL))
        return 0;
    rc = rec_promote_check_lag(&c->in.key, &c->lag, m, errmsg, len);
    if (rc == 0)
        step(x, "candidate %s:%d lag %lld s is under FailMasterPromotionOnLagMinutes=%lld",
             c->in.key.host, c->in.key.port, (long long)(c->lag.valid ? c->lag.value : 0),
             (long long)m);
    return rc;
}

static int st_choose(struct run *x, char *errmsg, size_t len)
{
    struct rec_promote_options o;

    if (x->req->resume && x->req->candidate != NULL) {
        for (size_t i = 0; i < x->n; i++)
            if (orc_key_eq(&x->r[i].in.key, x->req->candidate))
                x->candidate = (int)i;
        if (x->candidate < 0) {
            orc_errf(errmsg, len, "successor %s:%d of the lost run is not known",
                     x->req->candidate->host, x->req->candidate->port);
            return ORC_ENOTFOUND;
        }
        step(x, "candidate %s:%d (chosen by the run whose leader was lost)",
             x->req->candidate->host, x->req->candidate->port);
        return 0;
    }
    memset(&o, 0, sizeof(o));
    o.ignore = x->ignore.v;
    o.nignore = x->ignore.n;
    o.prevent_cross_dc = x->env->cfg->PreventCrossDataCenterMasterFailover;
    o.prevent_cross_region = x->env->cfg->PreventCrossRegionMasterFailover;
    o.want = x->req->candidate;
    if (x->failed.is_co_master) {
        int rc = co_master_want(x, &o.want, errmsg, len);
        if (rc != 0)
            return rc;
    }
    x->candidate = rec_promote_choose(x->r, x->n, &x->failed, &o, &x->most_advanced, errmsg, len);
    for (size_t i = 0; i < x->n; i++)
        if (x->r[i].why_not[0] != '\0')
            ORC_LOG_I("+candidate-rejected", "uid=%s instance=%s:%d reason=\"%s\"", x->out->uid,
                      x->r[i].in.key.host, x->r[i].in.key.port, x->r[i].why_not);
    if (x->candidate < 0)
        return ORC_ESTATE;
    step(x, "candidate %s:%d (exec %s:%lld, rule %s, errant GTID %s)",
         x->r[x->candidate].in.key.host, x->r[x->candidate].in.key.port,
         x->r[x->candidate].in.exec_coords.file, (long long)x->r[x->candidate].in.exec_coords.pos,
         x->r[x->candidate].rule[0] ? x->r[x->candidate].rule : "neutral",
         disc_str(x->r[x->candidate].in.gtid_errant)[0] ? x->r[x->candidate].in.gtid_errant
                                                        : "none");
    return 0;
}

/* ---- catch up: the candidate takes what a more advanced replica has ---- */

static const char *gtid_position(const struct disc_instance *in)
{
    if (disc_version_is_mysql(&in->ver))
        return disc_str(in->executed_gtid_set);
    return in->gtid_binlog_pos && in->gtid_binlog_pos[0] ? in->gtid_binlog_pos
                                                         : disc_str(in->gtid_current_pos);
}

static int st_catch_up(struct run *x, char *errmsg, size_t len)
{
    struct rec_replica *c = &x->r[x->candidate], *a;
    int rc;

    if (x->most_advanced < 0 || x->most_advanced == x->candidate)
        return 0;
    a = &x->r[x->most_advanced];
    if (rec_coords_cmp(&a->in.exec_coords, &c->in.exec_coords) <= 0)
        return 0;
    if (!a->in.log_bin || !a->in.log_replica_updates) {
        step(x, "%s:%d is ahead of the candidate but has no usable binary log: it will be lost",
             a->in.key.host, a->in.key.port);
        return 0;
    }
    step(x, "candidate %s:%d catches up from the more advanced %s:%d%s%s", c->in.key.host,
         c->in.key.port, a->in.key.host, a->in.key.port,
         disc_str(a->in.gtid_errant)[0] ? ", taking its errant GTID too: " : "",
         disc_str(a->in.gtid_errant));
    x->caught_up = true; /* its replication no longer points at the failed master */
    rc = rec_change_master_gtid(x->sess, &c->in, &a->in.key, true, errmsg, len);
    if (rc == 0)
        rc = rec_wait_gtid(x->sess, &c->in, gtid_position(&a->in), PREPARE_TIMEOUT_MS, errmsg, len);
    if (rc == 0)
        rc = rec_stop_replica(x->sess, &c->in, errmsg, len);
    if (rc == 0 && lost_leadership(x, errmsg, len))
        return ORC_EPERM;
    if (rc != 0)
        add_error(x, errmsg);
    return rc;
}

/* ---- promote ---- */

/* CHANGE MASTER to "//host" (reversible: reattach-replica-master-host),
 * replication left stopped. */
static int detach_master_host(struct run *x,
                              const struct disc_instance *in,
                              char *errmsg,
                              size_t len)
{
    struct orc_key d;

    if (rec_promote_detached_key(&in->master_key, &d) != 0) {
        orc_errf(errmsg, len, "master host of %s:%d too long to detach", in->key.host,
                 in->key.port);
        return ORC_EINVAL;
    }
    if (rec_uses_gtid(in))
        return rec_change_master_gtid(x->sess, in, &d, false, errmsg, len);
    return rec_change_master_coords(x->sess, in, &d, &in->exec_coords, false, errmsg, len);
}

/* The other co-master takes over: its replication from the dead one is
 * stopped but kept (the pair can be mended when that one is back; it is
 * fenced read-only meanwhile), and it is made writable. */
static int promote_co_master(struct run *x, struct rec_replica *c, char *errmsg, size_t len)
{
    const struct orc_config *cfg = x->env->cfg;
    int rc = rec_stop_replica(x->sess, &c->in, errmsg, len);

    if (rc == 0 && cfg->ApplyMySQLPromotionAfterMasterFailover)
        rc = rec_set_read_only(x->sess, &c->in, false, cfg->UseSuperReadOnly, errmsg, len);
    if (rc == 0)
        step(x, "other co-master %s:%d: replication stopped (kept)%s", c->in.key.host,
             c->in.key.port, cfg->ApplyMySQLPromotionAfterMasterFailover ? ", read_only=0" : "");
    return rc;
}

static int st_promote(struct run *x, char *errmsg, size_t len)
{
    struct rec_replica *c = &x->r[x->candidate];
    const struct orc_config *cfg = x->env->cfg;
    int rc = 0;

    /* Written ahead: a leader that takes this recovery over promotes the
     * same instance, never a second one. */
    submit(x, "set-recovery-successor",
           json_pack("{s:s, s:o}", "UID", x->out->uid, "SuccessorKey", rec_key_json(&c->in.key)));
    if (lost_leadership(x, errmsg, len))
        return ORC_EPERM;
    if (x->failed.is_co_master && x->candidate == x->co_other && !x->caught_up) {
        rc = promote_co_master(x, c, errmsg, len);
    } else if (cfg->ApplyMySQLPromotionAfterMasterFailover ||
               (x->req->command && strcmp(x->req->command, "graceful-master-takeover") == 0)) {
        rc = rec_reset_replica_all(x->sess, &c->in, errmsg, len);
        if (rc == 0)
            rc = rec_set_read_only(x->sess, &c->in, false, cfg->UseSuperReadOnly, errmsg, len);
    } else if (x->failed.is_co_master) {
        /* not the other co-master: cut the circle candidate -> dead
         * co-master -> other co-master -> candidate (as orchestrator) */
        rc = detach_master_host(x, &c->in, errmsg, len);
    } else {
        rc = rec_stop_replica(x->sess, &c->in, errmsg, len);
    }
    if (rc != 0) {
        add_error(x, errmsg);
        return rc;
    }
    x->out->writable_ms = orc_wall_ms();
    x->out->successor = c->in.key;
    rec_read(x->sess, &c->in.key, &c->in, errmsg, len);
    x->out->successor_coords = c->in.self_coords;
    disc_keylist_add(&x->out->participants, &c->in.key);
    step(x, "promoted %s:%d: replication reset, read_only=0 (%lld ms after start)", c->in.key.host,
         c->in.key.port, (long long)(x->out->writable_ms - x->out->started_ms));
    return 0;
}

/* ---- repoint ---- */

static int st_repoint(struct run *x, char *errmsg, size_t len)
{
    const struct orc_key *to = &x->r[x->candidate].in.key;
    size_t moved = 0;

    for (size_t i = 0; i < x->n; i++) {
        struct rec_replica *r = &x->r[i];
        char err[ORC_ERRMSG_SIZE] = "";
        if ((int)i == x->candidate)
            continue;
        if (lost_leadership(x, errmsg, len))
            return ORC_EPERM;
        if (!r->read_ok || (!r->relay_applied && r->in.sql_state == DISC_THREAD_RUNNING)) {
            disc_keylist_add(&x->out->lost, &r->in.key);
            continue;
        }
        if (rec_change_master_gtid(x->sess, &r->in, to, true, err, sizeof(err)) != 0) {
            add_error(x, err);
            disc_keylist_add(&x->out->lost, &r->in.key);
            continue;
        }
        disc_keylist_add(&x->out->participants, &r->in.key);
        moved++;
    }
    step(x, "repointed %zu replicas below %s:%d; %zu lost", moved, to->host, to->port,
         x->out->lost.len);
    return 0;
}

/* ---- fence, publish ---- */

static void st_fence(struct run *x)
{
    struct rec_session_options so = x->so;
    struct rec_session *s = NULL;
    char err[ORC_ERRMSG_SIZE] = "";

    so.conn.connect_timeout_s = 1;
    so.conn.read_timeout_s = 2;
    so.conn.write_timeout_s = 2;
    /* The leader keeps it read-only from now on (fence.c), also when it is
     * unreachable now and comes back later, and after a leader change. */
    submit(
        x, "fence-instance",
        json_pack("{s:o, s:s}", "Key", rec_key_json(&x->failed.key), "RecoveryUID", x->out->uid));
    if (rec_session_new(&so, &s) != 0)
        return;
    if (rec_set_read_only(s, &x->failed, true, true, err, sizeof(err)) == 0)
        step(x, "fenced the old master %s:%d: read_only=1", x->failed.key.host, x->failed.key.port);
    else
        step(x, "old master %s:%d not fenced (unreachable: %s)", x->failed.key.host,
             x->failed.key.port, err);
    rec_session_free(s);
}

static void downtime_lost(struct run *x, const struct orc_key *k)
{
    int64_t minutes = x->env->cfg->MasterFailoverLostInstancesDowntimeMinutes;
    int64_t until = orc_wall_s() + (minutes > 0 ? minutes * 60 : 365LL * 24 * 3600);

    submit(x, "begin-downtime",
           json_pack("{s:o, s:s, s:s, s:I}", "Key", rec_key_json(k), "Owner", "orchestrator",
                     "Reason", "lost-in-recovery", "EndTimestamp", (json_int_t)until));
}

static void st_publish(struct run *x)
{
    const struct orc_key *s = &x->out->successor;
    char ks[ORC_KEY_STRLEN], kv[512];

    orc_key_str(s, ks, sizeof(ks));
    if (!x->req->intermediate) {
        snprintf(kv, sizeof(kv), "%s%s", x->env->cfg->KVClusterMasterPrefix,
                 x->alias[0] ? x->alias : x->cluster);
        submit(
            x, "put-key-value",
            json_pack("{s:s, s:s, s:I}", "Key", kv, "Value", ks, "Now", (json_int_t)orc_wall_s()));
        if (x->alias[0] && strcmp(x->alias, x->cluster) != 0)
            submit(x, "set-cluster-alias",
                   json_pack("{s:s, s:s}", "ClusterName", ks, "Alias", x->alias));
        downtime_lost(x, &x->req->failed);
    }
    for (size_t i = 0; i < x->out->lost.len; i++)
        downtime_lost(x, &x->out->lost.keys[i]);
    if (!x->req->intermediate) /* KV stores: queued, never waited for */
        rec_kv_publish_master(x->env, x->alias[0] ? x->alias : x->cluster, s);
    step(x, "published %s as master of %s (%s)", ks, x->alias[0] ? x->alias : x->cluster,
         x->env->cfg->KVClusterMasterPrefix);
}

/* DetachLostReplicasAfterMasterFailover: a replica left behind must not
 * replicate from the old master should that one come back. Runs after the
 * promotion, off its critical path (orchestrator postpones it likewise). */
static void st_detach_lost(struct run *x)
{
    size_t done = 0;

    if (!x->env->cfg->DetachLostReplicasAfterMasterFailover || x->out->lost.len == 0)
        return;
    for (size_t i = 0; i < x->n; i++) {
        char err[ORC_ERRMSG_SIZE] = "";
        bool lost = false;
        for (size_t j = 0; j < x->out->lost.len && !lost; j++)
            lost = orc_key_eq(&x->out->lost.keys[j], &x->r[i].in.key);
        if (!lost || !orc_key_eq(&x->r[i].in.master_key, &x->req->failed))
            continue;
        if (detach_master_host(x, &x->r[i].in, err, sizeof(err)) != 0) {
            add_error(x, err);
            continue;
        }
        done++;
    }
    step(x, "detached %zu of %zu lost replicas from %s:%d (DetachLostReplicasAfterMasterFailover)",
         done, x->out->lost.len, x->req->failed.host, x->req->failed.port);
}

/* ---- intermediate master: its replicas move up to its master ---- */

static int st_regroup_intermediate(struct run *x, char *errmsg, size_t len)
{
    const struct orc_key *to = &x->failed.master_key;
    size_t moved = 0;

    if (to->host[0] == '\0') {
        orc_errf(errmsg, len, "%s:%d has no known master to move its replicas to",
                 x->failed.key.host, x->failed.key.port);
        return ORC_ESTATE;
    }
    for (size_t i = 0; i < x->n; i++) {
        struct rec_replica *r = &x->r[i];
        char err[ORC_ERRMSG_SIZE] = "";
        if (!r->read_ok ||
            rec_change_master_gtid(x->sess, &r->in, to, true, err, sizeof(err)) != 0) {
            add_error(x, err[0] ? err : "replica could not be read");
            disc_keylist_add(&x->out->lost, &r->in.key);
            continue;
        }
        disc_keylist_add(&x->out->participants, &r->in.key);
        moved++;
    }
    step(x, "moved %zu replicas of %s:%d up below %s:%d; %zu lost", moved, x->failed.key.host,
         x->failed.key.port, to->host, to->port, x->out->lost.len);
    if (moved == 0 && x->n > 0) {
        orc_errf(errmsg, len, "no replica of %s:%d could be moved", x->failed.key.host,
                 x->failed.key.port);
        return ORC_EIO;
    }
    x->out->successor = *to;
    x->out->writable_ms = orc_wall_ms();
    return 0;
}

/* ---- hooks ---- */

enum hooks_phase { HOOKS_PRE, HOOKS_POST };

static void hook_lists(struct run *x,
                       enum hooks_phase ph,
                       const struct orc_strlist **l,
                       const char **names,
                       size_t *n)
{
    const struct orc_config *c = x->env->cfg;

    *n = 0;
    if (ph == HOOKS_PRE) {
        l[*n] = &c->PreFailoverProcesses;
        names[(*n)++] = "PreFailoverProcesses";
        return;
    }
    if (x->out->successful) {
        l[*n] = x->req->intermediate ? &c->PostIntermediateMasterFailoverProcesses
                                     : &c->PostMasterFailoverProcesses;
        names[(*n)++] = x->req->intermediate ? "PostIntermediateMasterFailoverProcesses"
                                             : "PostMasterFailoverProcesses";
        l[*n] = &c->PostFailoverProcesses;
        names[(*n)++] = "PostFailoverProcesses";
    } else {
        l[*n] = &c->PostUnsuccessfulFailoverProcesses;
        names[(*n)++] = "PostUnsuccessfulFailoverProcesses";
    }
}

static void hook_ctx(struct run *x,
                     struct rec_hook_ctx *h,
                     struct orc_key *reps,
                     char *host,
                     size_t hostlen)
{
    memset(h, 0, sizeof(*h));
    gethostname(host, hostlen - 1);
    for (size_t i = 0; i < x->n; i++)
        reps[i] = x->r[i].in.key;
    h->failure_type = x->req->analysis;
    h->instance_type = x->req->intermediate     ? "intermediate-master"
                       : x->failed.is_co_master ? "co-master"
                                                : "master";
    h->is_master = !x->req->intermediate;
    h->is_co_master = x->failed.is_co_master;
    h->failure_description = x->req->analysis;
    h->command = x->req->command ? x->req->command : "";
    h->failed = x->req->failed;
    h->failed_data_center = x->failed.data_center;
    h->cluster = x->cluster;
    h->cluster_alias = x->alias;
    h->cluster_domain = x->failed.cluster_domain;
    /* {replicaHosts}: the replicas the failed master itself reported, as
     * orchestrator's SlaveHosts (values straight from the databases). */
    h->count_replicas = (int)x->n;
    h->replicas = x->failed.replicas.len > 0 ? x->failed.replicas.keys : reps;
    h->n_replicas = x->failed.replicas.len > 0 ? x->failed.replicas.len : x->n;
    h->is_downtimed = x->failed.is_downtimed;
    h->auto_master_recovery = true;
    h->auto_intermediate_master_recovery = true;
    h->orchestrator_host = host;
    h->recovery_uid = x->out->uid;
    if (x->out->successful) {
        h->successor = &x->out->successor;
        h->successor_coords = &x->out->successor_coords;
    }
    h->successor_alias = "";
    h->lost_replicas = x->out->lost.keys;
    h->n_lost_replicas = x->out->lost.len;
}

static int run_hooks(struct run *x, enum hooks_phase ph, char *errmsg, size_t len)
{
    const struct orc_strlist *lists[2];
    const char *names[2];
    struct rec_hook_ctx h;
    struct rec_hooks_options o;
    struct orc_key *reps;
    char host[128] = "";
    size_t nl;
    int rc = 0;

    if (x->req->skip_hooks)
        return 0;
    hook_lists(x, ph, lists, names, &nl);
    reps = calloc(x->n ? x->n : 1, sizeof(*reps));
    if (reps == NULL)
        return ORC_ENOMEM;
    hook_ctx(x, &h, reps, host, sizeof(host));
    for (size_t i = 0; i < nl && rc == 0; i++) {
        char err[ORC_ERRMSG_SIZE] = "";
        int hrc;
        if (lists[i]->n == 0)
            continue;
        memset(&o, 0, sizeof(o));
        o.shell = x->env->cfg->ProcessesShellCommand;
        o.list = names[i];
        o.tracker = x->env->hooks_tracker;
        hrc = rec_hooks_run(&o, (const char *const *)lists[i]->v, lists[i]->n, &h, ph == HOOKS_PRE,
                            err, sizeof(err));
        step(x, "ran %s: %s", names[i], hrc == 0 ? "ok" : err);
        if (hrc != 0 && ph == HOOKS_PRE) {
            orc_errf(errmsg, len, "%s", err);
            rc = hrc;
        } else if (hrc != 0) {
            add_error(x, err);
        }
    }
    free(reps);
    return rc;
}

/* ---- the run ---- */

static void resolve(struct run *x)
{
    struct orc_buf lost = ORC_BUF_INIT, part = ORC_BUF_INIT;

    rec_op_keys_csv(x->out->lost.keys, x->out->lost.len, &lost);
    rec_op_keys_csv(x->out->participants.keys, x->out->participants.len, &part);
    rec_op_resolve(&x->op, &x->req->failed, x->out->successful ? &x->out->successor : NULL,
                   x->out->successful, orc_buf_str(&lost), orc_buf_str(&part));
    orc_buf_release(&lost);
    orc_buf_release(&part);
}

/* Re-probes everything the recovery touched so readers see it at once. */
static void refresh(struct run *x)
{
    disc_topo_probe_soon(x->env->topo, &x->req->failed);
    for (size_t i = 0; i < x->n; i++)
        disc_topo_probe_soon(x->env->topo, &x->r[i].in.key);
    for (size_t i = 0; i < x->nlater; i++)
        disc_topo_probe_soon(x->env->topo, &x->later[i].in.key);
}

static int run_states(struct run *x, char *errmsg, size_t len)
{
    int rc;

    if ((rc = enter(x, REC_ST_REGISTER, errmsg, len)) != 0 ||
        (rc = x->req->adopt_uid ? st_adopt(x) : st_register(x, errmsg, len)) != 0)
        return rc;
    if ((rc = enter(x, REC_ST_PRE_HOOKS, errmsg, len)) != 0 ||
        (!(x->req->resume && x->req->candidate) &&
         (rc = run_hooks(x, HOOKS_PRE, errmsg, len)) != 0))
        return rc;
    if ((rc = enter(x, REC_ST_PREPARE, errmsg, len)) != 0 || (rc = st_prepare(x, errmsg, len)))
        return rc;
    if (x->req->intermediate) {
        if ((rc = enter(x, REC_ST_REPOINT, errmsg, len)) != 0 ||
            (rc = st_regroup_intermediate(x, errmsg, len)) != 0)
            return rc;
    } else {
        if ((rc = enter(x, REC_ST_CHOOSE, errmsg, len)) != 0 ||
            (rc = st_choose(x, errmsg, len)) != 0 || (rc = check_lag(x, errmsg, len)) != 0)
            return rc;
        if ((rc = enter(x, REC_ST_CATCH_UP, errmsg, len)) != 0 ||
            (rc = st_catch_up(x, errmsg, len)) != 0)
            return rc;
        if ((rc = enter(x, REC_ST_PROMOTE, errmsg, len)) != 0 || (rc = st_promote(x, errmsg, len)))
            return rc;
        if ((rc = enter(x, REC_ST_REPOINT, errmsg, len)) != 0 || (rc = st_repoint(x, errmsg, len)))
            return rc;
    }
    x->out->successful = true;
    rec_op_flush_steps(&x->op);
    if (!x->req->intermediate && (rc = enter(x, REC_ST_FENCE, errmsg, len)) == 0)
        st_fence(x);
    set_state(x, REC_ST_PUBLISH);
    st_publish(x);
    if (!x->req->intermediate)
        st_detach_lost(x);
    return 0;
}

int rec_failover_run(struct rec_env *env,
                     const struct rec_failover_request *req,
                     struct rec_result *out,
                     char *errmsg,
                     size_t len)
{
    struct run x;
    int rc;

    memset(&x, 0, sizeof(x));
    x.env = env;
    x.req = req;
    x.out = out;
    x.candidate = x.most_advanced = x.co_other = -1;
    disc_instance_init(&x.failed);
    rc = rec_op_init(&x.op, env, "failover", &out->errors);
    x.op.batch_steps = true;
    out->started_ms = x.op.started_ms;
    orc_strlcpy(out->uid, req->adopt_uid != NULL ? req->adopt_uid : x.op.uid, sizeof(out->uid));
    orc_strlcpy(x.op.uid, out->uid, sizeof(x.op.uid));
    rec_env_session_options(env, &x.so);
    ORC_LOG_N("+failover-start", "uid=%s instance=%s:%d analysis=%s command=%s", out->uid,
              req->failed.host, req->failed.port, req->analysis, req->command ? req->command : "");
    /* Entered before it registers, left at its end (nested when a takeover
     * adopted it: entries are counted). */
    if (rc == 0)
        rc = rec_registry_enter(env->running, out->uid);
    if (rc == 0)
        rc = rec_op_filters_compile(&x.ignore, &env->cfg->PromotionIgnoreHostnameFilters,
                                    "PromotionIgnoreHostnameFilters", errmsg, len);
    if (rc == 0 && x.op.epoch == 0) {
        orc_errf(errmsg, len, "not the leader");
        rc = ORC_EPERM;
    }
    if (rc == 0)
        rc = load_topology(&x, errmsg, len);
    if (rc == 0)
        rc = rec_session_new(&x.so, &x.sess);
    if (rc == 0)
        rc = run_states(&x, errmsg, len);
    if (rc != 0 && rc != ORC_EEXIST) {
        add_error(&x, errmsg);
        set_state(&x, REC_ST_FAILED);
    }
    out->done_ms = orc_wall_ms();
    if (rc == ORC_EPERM && out->id > 0) {
        /* Leadership lost mid-way: the next leader takes the recovery over
         * (resume.c); this node runs no more hooks and resolves nothing. */
        ORC_LOG_W("+failover-interrupted", "uid=%s instance=%s:%d state=%s error=\"%s\"", out->uid,
                  req->failed.host, req->failed.port, rec_state_name(x.state), errmsg);
    } else if (!out->blocked && out->id > 0) { /* never registered: it did nothing */
        set_state(&x, REC_ST_POST_HOOKS);
        run_hooks(&x, HOOKS_POST, errmsg, len);
        if (out->successful) /* the postponed replicas, off the critical path */
            rec_postponed_relocate(&x.op, x.sess, x.later, x.nlater, &out->successor,
                                   &out->participants);
        rec_op_flush_steps(&x.op);
        resolve(&x);
        set_state(&x, out->successful ? REC_ST_DONE : REC_ST_FAILED);
        ORC_LOG_N(out->successful ? "+failover-done" : "+failover-failed",
                  "uid=%s instance=%s:%d successor=%s:%d writable_after_ms=%lld total_ms=%lld "
                  "lost=%zu",
                  out->uid, req->failed.host, req->failed.port, out->successor.host,
                  out->successor.port,
                  (long long)(out->writable_ms ? out->writable_ms - out->started_ms : -1),
                  (long long)(out->done_ms - out->started_ms), out->lost.len);
        refresh(&x);
    } else if (!out->blocked) {
        ORC_LOG_W("+failover-aborted", "uid=%s instance=%s:%d error=\"%s\"", out->uid,
                  req->failed.host, req->failed.port, errmsg);
    }
    for (size_t i = 0; i < x.n; i++) {
        disc_instance_release(&x.r[i].in);
        free((char *)x.r[i].rule);
    }
    free(x.r);
    for (size_t i = 0; i < x.nlater; i++)
        disc_instance_release(&x.later[i].in);
    free(x.later);
    rec_op_filters_release(&x.ignore);
    rec_registry_leave(env->running, out->uid);
    disc_instance_release(&x.failed);
    rec_session_free(x.sess);
    rec_op_release(&x.op);
    if (rc == 0 && !out->successful)
        rc = ORC_EIO;
    return rc;
}
