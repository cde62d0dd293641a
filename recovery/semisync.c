/*
 * semisync: semi-synchronous replication, as orchestrator manages it.
 *
 *   - The stale-coordinates feed: a semi-sync master that waits for more
 *     acknowledgements than it has semi-sync replicas is only a hypothesis
 *     of a locked master until its binary log coordinates have not moved
 *     for ReasonableLockedSemiSyncMasterSeconds. After each analysis pass
 *     the leader records those coordinates (struct rec_stale, analysis.c);
 *     the analysis then says LockedSemiSyncMaster.
 *   - The recoveries: LockedSemiSyncMaster (RecoverLockedSemiSyncMaster:
 *     enable semi-sync on enough replicas; EnforceExactSemiSyncReplicas:
 *     make the set exact) and MasterWithTooManySemiSyncReplicas (exact).
 *     Replicas are chosen by SemiSyncPriority, then promotion rule, then
 *     name; replicas without a priority are always asynchronous.
 *   - The enable/disable-semi-sync-master/replica operations of the API.
 *
 * Parse, decide, act: the plan (rec_semisync_plan) is pure; the rest reads
 * the servers again before acting, as orchestrator does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/be.h"
#include "recovery/hooks.h"
#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/planned.h"
#include "recovery/promote.h"
#include "recovery/rec.h"

/* orchestrator's StaleInstanceCoordinatesExpireSeconds */
#define STALE_EXPIRE_MIN_MS 60000
/* how long an operation waits for the topology to show its result */
#define REFRESH_MS 3000

/* ---- the plan (pure) ---- */

static int cmp_replica(const void *pa, const void *pb)
{
    const struct rec_semisync_replica *a = pa, *b = pb;
    char ka[ORC_KEY_STRLEN], kb[ORC_KEY_STRLEN];

    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    if (a->rule_rank != b->rule_rank)
        return a->rule_rank < b->rule_rank ? -1 : 1;
    return strcmp(orc_key_str(&a->key, ka, sizeof(ka)), orc_key_str(&b->key, kb, sizeof(kb)));
}

/* 0: excluded (not valid or not replicating), 1: may be semi-sync,
 * 2: always asynchronous (no priority). */
static int class_of(const struct rec_semisync_replica *r)
{
    if (!r->valid || !r->replicating)
        return 0;
    return r->priority > 0 ? 1 : 2;
}

static int cmp_class(const void *pa, const void *pb)
{
    int ca = class_of(pa), cb = class_of(pb);

    /* the possible semi-sync replicas first, in priority order */
    if ((ca == 1) != (cb == 1))
        return ca == 1 ? -1 : 1;
    return ca == 1 ? cmp_replica(pa, pb) : 0;
}

size_t rec_semisync_plan(struct rec_semisync_replica *v,
                         size_t n,
                         int64_t wait_count,
                         int64_t clients,
                         bool exact)
{
    size_t actions = 0, possible = 0;
    int64_t need = wait_count - clients, enabled = 0;

    for (size_t i = 0; i < n; i++)
        v[i].action = 0;
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_class);
    while (possible < n && class_of(&v[possible]) == 1)
        possible++;
    for (size_t i = 0; i < possible && exact; i++) {
        bool want = (int64_t)i < wait_count;
        if (want != v[i].enabled)
            v[i].action = want ? 1 : -1;
    }
    for (size_t i = possible; i < n && exact; i++)
        if (class_of(&v[i]) == 2 && v[i].enabled)
            v[i].action = -1;
    for (size_t i = 0; i < possible && !exact && enabled < need; i++)
        if (!v[i].enabled) {
            v[i].action = 1;
            enabled++;
        }
    for (size_t i = 0; i < n; i++)
        actions += v[i].action != 0;
    return actions;
}

bool rec_semisync_handles(enum rec_code c)
{
    return c == REC_LOCKED_SEMI_SYNC_MASTER || c == REC_MASTER_WITH_TOO_MANY_SEMI_SYNC_REPLICAS;
}

/* ---- the stale-coordinates feed ---- */

/* orchestrator's precondition of LockedSemiSyncMaster(Hypothesis): a
 * master that waits for more acknowledgements than it has semi-sync
 * clients. */
static bool waits_for_more(const struct disc_snapshot *s, int i)
{
    const struct disc_instance *in = s->instances[i];

    return in->master_key.host[0] == '\0' && disc_snapshot_check_valid(s, i) &&
           in->semi_sync_master_enabled && in->semi_sync_master_status &&
           in->semi_sync_master_wait_for_replica_count > 0 &&
           in->semi_sync_master_clients < in->semi_sync_master_wait_for_replica_count;
}

void rec_semisync_observe(struct rec_env *env, const struct disc_snapshot *s)
{
    int64_t expire_ms = 2 * env->cfg->ReasonableReplicationLagSeconds * 1000;
    int64_t now_ms = s->taken_ms;

    if (env->stale == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        const struct disc_instance *in = s->instances[i];
        bool known;
        if (!waits_for_more(s, (int)i))
            continue;
        /* same coordinates already recorded (min age -1: any first-seen time) */
        known = rec_stale_is_stale(env->stale, &in->key, &in->self_coords, -1, now_ms);
        if (rec_stale_observe(env->stale, &in->key, &in->self_coords, now_ms) != 0) {
            ORC_LOG_W("+semi-sync-stale-record-failed", "instance=%s:%d error=\"out of memory\"",
                      in->key.host, in->key.port);
            continue;
        }
        if (!known && env->topo != NULL) {
            /* a new hypothesis (or the coordinates moved): sample again soon */
            ORC_LOG_D("+semi-sync-stale-record", "instance=%s:%d coordinates=%s:%lld", in->key.host,
                      in->key.port, in->self_coords.file, (long long)in->self_coords.pos);
            disc_topo_probe_soon(env->topo, &in->key);
        }
    }
    rec_stale_expire(env->stale,
                     now_ms - (expire_ms > STALE_EXPIRE_MIN_MS ? expire_ms : STALE_EXPIRE_MIN_MS));
}

/* ---- setting the variables ---- */

/* SET GLOBAL <old name>, or on MySQL <new name> when the old one is unknown
 * (the source/replica plugins of 8.0.26+). */
static int set_var(struct rec_session *s,
                   const struct disc_instance *in,
                   const char *old_name,
                   const char *new_name,
                   bool on,
                   char *errmsg,
                   size_t len)
{
    char sql[128], err2[ORC_ERRMSG_SIZE];
    int rc;

    snprintf(sql, sizeof(sql), "SET GLOBAL %s = %d", old_name, on ? 1 : 0);
    rc = rec_exec(s, &in->key, sql, false, errmsg, len);
    if (rc == 0 || in->ver.flavor == DISC_FLAVOR_MARIADB)
        return rc;
    snprintf(sql, sizeof(sql), "SET GLOBAL %s = %d", new_name, on ? 1 : 0);
    return rec_exec(s, &in->key, sql, false, err2, sizeof(err2)) == 0 ? 0 : rc;
}

static int set_master(struct rec_session *s,
                      const struct disc_instance *in,
                      bool on,
                      char *errmsg,
                      size_t len)
{
    return set_var(s, in, "rpl_semi_sync_master_enabled", "rpl_semi_sync_source_enabled", on,
                   errmsg, len);
}

/* orchestrator's SetSemiSyncReplica on a fresh reading: nothing when it is
 * already so; otherwise the variable, and the IO thread restarted when it
 * runs (the setting applies when the thread connects). *changed says
 * whether anything was done. */
static int set_replica(struct rec_session *s,
                       const struct disc_instance *in,
                       bool on,
                       bool *changed,
                       char *errmsg,
                       size_t len)
{
    int rc;

    *changed = false;
    if (in->semi_sync_replica_enabled == on)
        return 0;
    rc = set_var(s, in, "rpl_semi_sync_slave_enabled", "rpl_semi_sync_replica_enabled", on, errmsg,
                 len);
    if (rc != 0)
        return rc;
    *changed = true;
    if (in->io_state != DISC_THREAD_RUNNING)
        return 0;
    rc = rec_stop_io_thread(s, in, errmsg, len);
    if (rc == 0)
        rc = rec_exec_sql(s, in, DISC_SQL_START_REPLICA_IO, errmsg, len);
    return rc;
}

/* ---- the recovery ---- */

struct run {
    struct rec_env *env;
    const struct rec_analysis *a;
    struct rec_session *sess;
    /* the run on the engine: uid, epoch, steps (written as recovery steps
     * once registered), errors */
    struct rec_op op;
    bool exact;
    bool successful;
    struct disc_instance master;
    struct disc_instance *rin; /* fresh readings of the replicas, parallel to a->replicas */
    struct rec_semisync_replica *plan;
    size_t n;
    struct disc_keylist participants;
};

#define step(x, ...) rec_op_step(&(x)->op, __VA_ARGS__)

/* An error: kept (the first is the cause) and written as a step. */
static void fail(struct run *x, const char *msg)
{
    rec_op_error(&x->op, msg);
    step(x, "semi-sync: %s", msg);
}

static int do_register(struct run *x, int64_t detection_id, char *errmsg, size_t len)
{
    int rc = rec_op_register_analysis(&x->op, x->a, detection_id, errmsg, len);

    if (rc == ORC_EEXIST) {
        x->op.id = 0;
        ORC_LOG_W("+recovery-blocked", "instance=%s:%d cluster=%s analysis=%s %s", x->a->key.host,
                  x->a->key.port, x->a->cluster_name, rec_code_name(x->a->code), errmsg);
    }
    return rc;
}

/* The promotion rule of k as the topology knows it: operator rule, else
 * the detected one. */
static int rule_rank_of(const struct disc_snapshot *s, const struct orc_key *k)
{
    int i = s != NULL ? disc_snapshot_find(s, k) : -1;

    if (i < 0)
        return rec_rule_rank(NULL);
    if (s->annots != NULL && s->annots[i].promotion_rule[0] != '\0')
        return rec_rule_rank(s->annots[i].promotion_rule);
    return rec_rule_rank(s->instances[i]->promotion_rule);
}

/* Reads the master and its replicas again (AnalyzeSemiSyncReplicaTopology). */
static int read_topology(struct run *x, char *errmsg, size_t len)
{
    struct disc_snapshot *snap;
    size_t n = x->a->replicas.len;
    int rc;

    rc = rec_read(x->sess, &x->a->key, &x->master, errmsg, len);
    if (rc != 0)
        return rc;
    x->rin = calloc(n ? n : 1, sizeof(*x->rin));
    x->plan = calloc(n ? n : 1, sizeof(*x->plan));
    if (x->rin == NULL || x->plan == NULL)
        return ORC_ENOMEM;
    snap = x->env->topo != NULL ? disc_topo_snapshot(x->env->topo) : NULL;
    for (size_t i = 0; i < n; i++) {
        struct rec_semisync_replica *p = &x->plan[i];
        char err[ORC_ERRMSG_SIZE] = "";
        disc_instance_init(&x->rin[i]);
        p->key = x->a->replicas.keys[i];
        p->rule_rank = rule_rank_of(snap, &p->key);
        p->valid = rec_read(x->sess, &p->key, &x->rin[i], err, sizeof(err)) == 0 &&
                   orc_key_eq(&x->rin[i].master_key, &x->a->key);
        p->replicating = p->valid && disc_instance_replicating(&x->rin[i]);
        p->enabled = p->valid && x->rin[i].semi_sync_replica_enabled;
        p->priority = p->valid ? x->rin[i].semi_sync_priority : 0;
    }
    x->n = n;
    disc_snapshot_put(snap);
    return 0;
}

static const struct disc_instance *reading_of(const struct run *x, const struct orc_key *k)
{
    for (size_t i = 0; i < x->n; i++)
        if (orc_key_eq(&x->rin[i].key, k))
            return &x->rin[i];
    return NULL;
}

/* Applies the plan's actions of one sign; false on the first failure. */
static bool apply(struct run *x, int sign)
{
    for (size_t i = 0; i < x->n; i++) {
        const struct rec_semisync_replica *p = &x->plan[i];
        const struct disc_instance *in = reading_of(x, &p->key);
        char err[ORC_ERRMSG_SIZE] = "", msg[ORC_ERRMSG_SIZE + 128];
        bool changed;
        if (p->action != sign || in == NULL)
            continue;
        step(x,
             "semi-sync: - %s:%d: setting rpl_semi_sync_slave_enabled=%s, restarting slave_io "
             "thread",
             p->key.host, p->key.port, sign > 0 ? "true" : "false");
        if (rec_op_lost_leadership(&x->op, err, sizeof(err))) {
            fail(x, "no longer the leader");
            return false;
        }
        if (set_replica(x->sess, in, sign > 0, &changed, err, sizeof(err)) != 0) {
            snprintf(msg, sizeof(msg), "cannot %s semi sync on replica %s:%d: %s",
                     sign > 0 ? "enable" : "disable", p->key.host, p->key.port, err);
            fail(x, msg);
            return false;
        }
        disc_keylist_add(&x->participants, &p->key);
        disc_topo_probe_soon(x->env->topo, &p->key);
    }
    return true;
}

/* MaybeDisableSemiSyncMaster on every replica: a prioritised replica with
 * semi-sync master enabled gets it disabled (best effort). */
static void disable_replica_masters(struct run *x)
{
    for (size_t i = 0; i < x->n; i++) {
        const struct disc_instance *in = &x->rin[i];
        char err[ORC_ERRMSG_SIZE] = "";
        if (!x->plan[i].valid || in->semi_sync_priority <= 0 || !in->semi_sync_master_enabled)
            continue;
        if (set_master(x->sess, in, false, err, sizeof(err)) != 0)
            ORC_LOG_W("+semi-sync-master-disable-failed", "instance=%s:%d error=\"%s\"",
                      in->key.host, in->key.port, err);
    }
}

static void run_plan(struct run *x, char *errmsg, size_t len)
{
    size_t nact;
    int rc = read_topology(x, errmsg, len);

    if (rc != 0) {
        fail(x, errmsg);
        return;
    }
    nact = rec_semisync_plan(x->plan, x->n, x->master.semi_sync_master_wait_for_replica_count,
                             x->master.semi_sync_master_clients, x->exact);
    step(x, "semi-sync: master %s:%d wait count %lld, semi-sync clients %lld; %zu action(s)%s",
         x->a->key.host, x->a->key.port,
         (long long)x->master.semi_sync_master_wait_for_replica_count,
         (long long)x->master.semi_sync_master_clients, nact, x->exact ? " (exact)" : "");
    if (nact == 0) {
        fail(x, "cannot determine actions based on possible semi-sync replicas; cannot recover");
        return;
    }
    disable_replica_masters(x);
    step(x, "semi-sync: taking actions:");
    /* enable first, then disable: never lock the master on the way */
    if (!apply(x, 1) || !apply(x, -1))
        return;
    x->successful = true;
}

static void resolve(struct run *x)
{
    struct orc_buf part = ORC_BUF_INIT;

    step(x, "semi-sync: recovery complete; success = %s", x->successful ? "true" : "false");
    rec_op_keys_csv(x->participants.keys, x->participants.len, &part);
    rec_op_resolve(&x->op, &x->a->key, x->successful ? &x->a->key : NULL, x->successful, "",
                   orc_buf_str(&part));
    orc_buf_release(&part);
}

/* PostFailoverProcesses (the master as successor) or
 * PostUnsuccessfulFailoverProcesses, as orchestrator runs them after any
 * recovery it attempted. */
static void post_hooks(struct run *x)
{
    const struct orc_config *c = x->env->cfg;
    const struct orc_strlist *list =
        x->successful ? &c->PostFailoverProcesses : &c->PostUnsuccessfulFailoverProcesses;
    struct rec_hook_ctx h;
    struct rec_hooks_options o;
    char host[128] = "", err[ORC_ERRMSG_SIZE] = "";

    if (list->n == 0)
        return;
    gethostname(host, sizeof(host) - 1);
    rec_hook_ctx_from_analysis(&h, x->a, host);
    memset(&o, 0, sizeof(o));
    h.instance_type = "master";
    h.is_master = true;
    h.recovery_uid = x->op.uid;
    h.successor = x->successful ? &x->a->key : NULL;
    h.successor_coords = x->successful ? &x->master.self_coords : NULL;
    o.shell = c->ProcessesShellCommand;
    o.list = x->successful ? "PostFailoverProcesses" : "PostUnsuccessfulFailoverProcesses";
    o.tracker = x->env->hooks_tracker;
    if (rec_hooks_run(&o, (const char *const *)list->v, list->n, &h, false, err, sizeof(err)) != 0)
        ORC_LOG_W("+semi-sync-hook-failed", "uid=%s list=%s error=\"%s\"", x->op.uid, o.list, err);
}

/* Whether the config lets this entry be recovered (a forced run ignores
 * the global switch, as orchestrator's recover does). */
static bool enabled_for(const struct rec_env *env,
                        const struct rec_analysis *a,
                        bool force,
                        bool *exact,
                        char *errmsg,
                        size_t len)
{
    const struct orc_config *c = env->cfg;
    bool disabled = false;
    char err[ORC_ERRMSG_SIZE];

    *exact = c->EnforceExactSemiSyncReplicas;
    if ((a->code == REC_LOCKED_SEMI_SYNC_MASTER && !c->RecoverLockedSemiSyncMaster &&
         !c->EnforceExactSemiSyncReplicas) ||
        (a->code == REC_MASTER_WITH_TOO_MANY_SEMI_SYNC_REPLICAS &&
         !c->EnforceExactSemiSyncReplicas)) {
        orc_errf(errmsg, len,
                 "no action taken on %s:%d (%s): enable RecoverLockedSemiSyncMaster or "
                 "EnforceExactSemiSyncReplicas to change this",
                 a->key.host, a->key.port, rec_code_name(a->code));
        ORC_LOG_D("+recovery-skipped", "instance=%s:%d analysis=%s reason=config", a->key.host,
                  a->key.port, rec_code_name(a->code));
        return false;
    }
    if (!force && env->be != NULL &&
        be_recovery_global_disabled(env->be, &disabled, err, sizeof(err)) == 0 && disabled) {
        orc_errf(errmsg, len, "recoveries are disabled globally");
        ORC_LOG_D("+recovery-skipped", "instance=%s:%d analysis=%s reason=globally-disabled",
                  a->key.host, a->key.port, rec_code_name(a->code));
        return false;
    }
    return true;
}

/* A read of what the registration would refuse: a persisting semi-sync
 * state after a recovery is not re-registered (a replicated command and a
 * warning) on every pass for RecoveryPeriodBlockSeconds. The registration
 * itself stays the authority. */
static bool in_active_period(const struct rec_env *env, const struct rec_analysis *a)
{
    struct be_recovery r;
    char err[ORC_ERRMSG_SIZE];
    bool active;

    if (env->be == NULL)
        return false;
    active = be_recovery_active(env->be, a->cluster_name, &r, err, sizeof(err)) == 0;
    if (active) {
        ORC_LOG_D("+recovery-skipped", "instance=%s:%d analysis=%s reason=\"recovery %lld active\"",
                  a->key.host, a->key.port, rec_code_name(a->code), (long long)r.id);
        be_recovery_release(&r);
    }
    return active;
}

static void run_release(struct run *x)
{
    for (size_t i = 0; x->rin != NULL && i < x->n; i++)
        disc_instance_release(&x->rin[i]);
    free(x->rin);
    free(x->plan);
    disc_instance_release(&x->master);
    disc_keylist_release(&x->participants);
    rec_session_free(x->sess);
    rec_op_release(&x->op);
}

/* What the caller of a forced run sees. */
static void fill_result(const struct run *x, int rc, int64_t started_ms, struct rec_result *out)
{
    orc_strlcpy(out->uid, x->op.uid, sizeof(out->uid));
    out->id = x->op.id;
    out->blocked = rc == ORC_EEXIST;
    out->successful = x->successful;
    if (x->successful)
        out->successor = x->a->key;
    for (size_t i = 0; i < x->participants.len; i++)
        disc_keylist_add(&out->participants, &x->participants.keys[i]);
    orc_buf_printf(&out->errors, "%s", orc_buf_str(x->op.errors));
    out->started_ms = out->writable_ms = started_ms; /* the master stays writable */
    out->done_ms = orc_wall_ms();
}

static int recover_run(struct rec_env *env,
                       const struct rec_analysis *a,
                       int64_t detection_id,
                       bool force,
                       bool skip_hooks,
                       struct rec_result *out,
                       char *errmsg,
                       size_t len)
{
    struct rec_session_options so;
    int64_t started_ms = orc_wall_ms();
    struct run x;
    int rc;

    memset(&x, 0, sizeof(x));
    if (!rec_semisync_handles(a->code)) {
        orc_errf(errmsg, len, "%s is not a semi-sync analysis", rec_code_name(a->code));
        return ORC_EINVAL;
    }
    if (!enabled_for(env, a, force, &x.exact, errmsg, len))
        return ORC_ESTATE;
    x.env = env;
    x.a = a;
    disc_instance_init(&x.master);
    rc = rec_op_init(&x.op, env, "semi-sync", NULL);
    if (rc == 0 && x.op.epoch == 0) {
        orc_errf(errmsg, len, "not the leader");
        rc = ORC_EPERM;
    }
    if (rc != 0) {
        run_release(&x);
        return rc;
    }
    rec_env_session_options(env, &so);
    rc = rec_registry_enter(env->running, x.op.uid); /* before it registers */
    if (rc == 0 && !force && in_active_period(env, a)) {
        orc_errf(errmsg, len, "a recovery of cluster %s is in its active period", a->cluster_name);
        rc = ORC_EEXIST;
    }
    if (rc == 0)
        rc = do_register(&x, detection_id, errmsg, len);
    if (rc == 0)
        rc = rec_session_new(&so, &x.sess);
    if (rc == 0) {
        ORC_LOG_N("+semi-sync-recovery-start", "uid=%s instance=%s:%d analysis=%s exact=%d",
                  x.op.uid, a->key.host, a->key.port, rec_code_name(a->code), x.exact);
        step(&x, "registered recovery of %s:%d (%s)", a->key.host, a->key.port,
             rec_code_name(a->code));
        run_plan(&x, errmsg, len);
        resolve(&x);
        if (!skip_hooks)
            post_hooks(&x);
        disc_topo_probe_soon(env->topo, &a->key);
        ORC_LOG_N(x.successful ? "+semi-sync-recovery-done" : "+semi-sync-recovery-failed",
                  "uid=%s instance=%s:%d analysis=%s actions=%zu", x.op.uid, a->key.host,
                  a->key.port, rec_code_name(a->code), x.participants.len);
        if (!x.successful) {
            orc_errf(errmsg, len, "%s", x.op.first_error[0] ? x.op.first_error : "failed");
            rc = ORC_EIO;
        }
    }
    rec_registry_leave(env->running, x.op.uid);
    if (out != NULL)
        fill_result(&x, rc, started_ms, out);
    run_release(&x);
    return rc;
}

int rec_semisync_recover(struct rec_env *env,
                         const struct rec_analysis *a,
                         int64_t detection_id,
                         char *errmsg,
                         size_t len)
{
    return recover_run(env, a, detection_id, false, false, NULL, errmsg, len);
}

int rec_semisync_recover_forced(struct rec_env *env,
                                const struct rec_analysis *a,
                                bool skip_hooks,
                                struct rec_result *out,
                                char *errmsg,
                                size_t len)
{
    return recover_run(env, a, 0, true, skip_hooks, out, errmsg, len);
}

/* ---- the API operations ---- */

/* Waits until the snapshot shows k's setting as wanted. */
static bool wait_shown(struct rec_env *env, const struct orc_key *k, bool master, bool on)
{
    int64_t until = orc_mono_ms() + REFRESH_MS;

    disc_topo_probe_soon(env->topo, k);
    do {
        struct disc_snapshot *s = disc_topo_snapshot(env->topo);
        int i = s != NULL ? disc_snapshot_find(s, k) : -1;
        bool shown = i >= 0 && (master ? s->instances[i]->semi_sync_master_enabled
                                       : s->instances[i]->semi_sync_replica_enabled) == on;
        disc_snapshot_put(s);
        if (shown)
            return true;
        usleep(20000);
    } while (orc_mono_ms() < until);
    return false;
}

static int set_one(struct rec_session *sess,
                   const struct orc_key *k,
                   bool master,
                   bool enable,
                   char *errmsg,
                   size_t len)
{
    struct disc_instance in;
    bool changed = false;
    int rc;

    disc_instance_init(&in);
    rc = rec_read(sess, k, &in, errmsg, len);
    if (rc == 0 && master)
        rc = set_master(sess, &in, enable, errmsg, len);
    else if (rc == 0)
        rc = set_replica(sess, &in, enable, &changed, errmsg, len);
    disc_instance_release(&in);
    return rc;
}

int rec_semisync_set(struct rec_env *env,
                     const struct orc_key *k,
                     bool master,
                     bool enable,
                     const char *user,
                     struct rec_planned_result *out,
                     char *errmsg,
                     size_t len)
{
    const char *op = master ? (enable ? "enable-semi-sync-master" : "disable-semi-sync-master")
                            : (enable ? "enable-semi-sync-replica" : "disable-semi-sync-replica");
    struct rec_session_options so;
    struct rec_session *sess = NULL;
    struct disc_snapshot *s;
    char cluster[ORC_KEY_STRLEN] = "";
    int rc, i;

    memset(out, 0, sizeof(*out));
    out->key = *k;
    if (!rec_env_leader(env)) {
        orc_errf(errmsg, len, "%s: this node is not the leader", op);
        return ORC_EPERM;
    }
    if (env->topo == NULL) {
        orc_errf(errmsg, len, "%s: discovery is not running", op);
        return ORC_ESTATE;
    }
    s = disc_topo_snapshot(env->topo);
    i = s != NULL ? disc_snapshot_find(s, k) : -1;
    if (i >= 0) {
        orc_strlcpy(cluster, s->instances[i]->cluster_name, sizeof(cluster));
        out->master = s->instances[i]->master_key;
    }
    disc_snapshot_put(s);
    rec_env_session_options(env, &so);
    rc = rec_session_new(&so, &sess);
    if (rc == 0)
        rc = set_one(sess, k, master, enable, errmsg, len);
    rec_session_free(sess);
    if (rc != 0) {
        orc_errprefix(errmsg, len, "%s", op);
        return rc;
    }
    snprintf(out->message, sizeof(out->message), "%s semi-sync set to %s",
             master ? "master" : "replica", enable ? "true" : "false");
    rec_op_audit(env, op, k, cluster, "%s; by %s", out->message, user ? user : "api");
    out->fresh = wait_shown(env, k, master, enable);
    return 0;
}
