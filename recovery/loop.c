/*
 * loop: the recovery thread. Woken by every probe outcome (and a 1 s tick),
 * it analyses a fresh snapshot and, on the leader, acts on actionable
 * failures: register the detection (anti-flapping), run the detection
 * hooks, and recover the clusters the filters allow. Non-actionable codes
 * that may hide a failure (an unreachable master whose replicas have not
 * noticed yet) get their master and replicas re-probed at once, which is
 * what turns a dead master into a recovery in milliseconds rather than at
 * the next poll.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/be.h"
#include "common/config_live.h"
#include "recovery/hooks.h"
#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/planned.h"
#include "recovery/rec.h"

#define REPROBE_THROTTLE_MS 50
#define FULL_PASS_MS 5000
/* Idle passes may analyse a snapshot this old (same health inputs). */
#define IDLE_SNAPSHOT_MS 500
#define HOUSEKEEPING_MS 60000
#define RESUME_MS 1000
#define BLOCKED_RETRY_MS 1000
/* A master unseen this long while its replicas still replicate (frozen, or
 * cut off from them as well as from us): their IO threads are restarted so
 * they find out now instead of after slave_net_timeout. */
#define KICK_AFTER_MS 2000
#define KICK_AGAIN_MS 30000

struct reprobe {
    struct orc_key key;
    int64_t at_ms;
    int count; /* re-probes in a row: the wait grows 5, 10, 20, 40, 50 ms, then 1 s */
};

struct rec_loop {
    /* During a pass: the service's env pinned (rec_env_pin), so the pass and
     * the recoveries it starts read one set of settings; between passes:
     * base. Loop thread only. */
    struct rec_env *env;
    struct rec_env *base;
    uint64_t opts_generation; /* of the settings opts was built from */
    struct reprobe *skips;    /* when a skipped recovery was last logged, per instance */
    size_t nskips;
    struct rec_analysis_options opts;
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping, notified, started, warm;
    int64_t started_ms, started_wall_ms;
    struct reprobe *reprobes;
    size_t nreprobes;
    uint64_t last_version;
    bool pending; /* the last pass saw an unconfirmed failure */
    int64_t last_full_ms;
    int64_t housekept_ms;
    uint64_t resumed_epoch; /* the epoch of the last resume pass */
    int64_t resumed_ms;
    struct reprobe *blocked; /* instances whose recovery was blocked, and when */
    size_t nblocked;
    struct rec_fencer *fencer;
    struct rec_kv *kv;
    struct reprobe *kicked; /* masters whose replicas' IO threads were restarted */
    size_t nkicked;
};

void rec_loop_notify(struct rec_loop *l)
{
    if (l == NULL)
        return;
    pthread_mutex_lock(&l->lock);
    l->notified = true;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

/* Re-probes k's master and replicas now, at most once per throttle window. */
static void reprobe(struct rec_loop *l, const struct rec_analysis *a)
{
    int64_t now = orc_mono_ms();
    size_t i;

    for (i = 0; i < l->nreprobes; i++)
        if (orc_key_eq(&l->reprobes[i].key, &a->key))
            break;
    if (i < l->nreprobes) {
        struct reprobe *p = &l->reprobes[i];
        int64_t wait = p->count < 4    ? (5LL << p->count)
                       : p->count < 24 ? REPROBE_THROTTLE_MS
                                       : 1000; /* a lasting state: the poll is enough */
        if (now - p->at_ms > 2000)
            p->count = 0; /* a new episode */
        else if (now - p->at_ms < wait)
            return;
        p->count++;
    } else {
        struct reprobe *n = realloc(l->reprobes, (l->nreprobes + 1) * sizeof(*n));
        if (n == NULL)
            return;
        l->reprobes = n;
        memset(&l->reprobes[l->nreprobes], 0, sizeof(*n));
        l->reprobes[l->nreprobes++].key = a->key;
    }
    l->reprobes[i].at_ms = now;
    ORC_LOG_D("+analysis-reprobe", "instance=%s:%d analysis=%s", a->key.host, a->key.port,
              rec_code_name(a->code));
    disc_topo_probe_soon(l->env->topo, &a->key);
    for (size_t r = 0; r < a->replicas.len; r++)
        disc_topo_probe_soon(l->env->topo, &a->replicas.keys[r]);
    if (a->master_key.host[0])
        disc_topo_probe_soon(l->env->topo, &a->master_key);
}

static bool wants_reprobe(enum rec_code c)
{
    switch (c) {
        case REC_UNREACHABLE_MASTER:
        case REC_UNREACHABLE_MASTER_WITH_LAGGING_REPLICAS:
        case REC_UNREACHABLE_IM:
        case REC_UNREACHABLE_IM_WITH_LAGGING_REPLICAS:
        case REC_UNREACHABLE_CO_MASTER:
        case REC_DEAD_MASTER_AND_REPLICAS:
        case REC_ALL_MASTER_REPLICAS_NOT_REPLICATING:
        case REC_ALL_MASTER_REPLICAS_NOT_REPLICATING_OR_DEAD:
        case REC_FIRST_TIER_REPLICA_FAILING_TO_CONNECT:
            return true;
        default:
            return false;
    }
}

static bool is_master_code(enum rec_code c)
{
    return c == REC_DEAD_MASTER || c == REC_DEAD_MASTER_AND_SOME_REPLICAS ||
           c == REC_DEAD_CO_MASTER || c == REC_DEAD_CO_MASTER_AND_SOME_REPLICAS;
}

static bool is_im_code(enum rec_code c)
{
    return c == REC_DEAD_IM || c == REC_DEAD_IM_AND_SOME_REPLICAS ||
           c == REC_DEAD_IM_WITH_SINGLE_REPLICA_FAILING_TO_CONNECT ||
           c == REC_ALL_IM_REPLICAS_FAILING_TO_CONNECT_OR_DEAD;
}

/* Registers the detection; on a new one runs OnFailureDetectionProcesses.
 * Returns the detection id (0 if not registered), or -1 when a detection
 * hook failed (the recovery must not go on). */
static int64_t detect(struct rec_loop *l, const struct rec_analysis *a)
{
    const struct orc_config *c = l->env->cfg;
    char err[ORC_ERRMSG_SIZE] = "", host[128] = "";
    json_t *p, *res = NULL;
    bool existing = false;
    int64_t id = 0;
    int rc;

    gethostname(host, sizeof(host) - 1);
    p = json_pack("{s:{s:s, s:i}, s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:b}", "Key", "Hostname",
                  a->key.host, "Port", a->key.port, "Now", (json_int_t)orc_wall_s(),
                  "ProcessingNodeHostname", host, "ProcessingNodeToken", "", "Analysis",
                  rec_code_name(a->code), "ClusterName", a->cluster_name, "ClusterAlias",
                  a->cluster_alias, "CountAffectedReplicas", a->count_replicas, "ReplicaHosts", "",
                  "IsActionable", a->is_actionable);
    rc = l->env->submit_r(l->env->node, "register-failure-detection", p, &res, err, sizeof(err));
    if (res != NULL) {
        id = (int64_t)json_integer_value(json_object_get(res, "Id"));
        existing = json_is_true(json_object_get(res, "Existing"));
        json_decref(res);
    }
    if (rc == ORC_EEXIST || existing)
        return id;
    if (rc != 0) {
        ORC_LOG_E("+detection-register-failed", "instance=%s:%d error=\"%s\"", a->key.host,
                  a->key.port, err);
        return 0;
    }
    ORC_LOG_N("+failure-detected", "instance=%s:%d cluster=%s analysis=%s replicas=%d", a->key.host,
              a->key.port, a->cluster_name, rec_code_name(a->code), a->count_replicas);
    if (c->OnFailureDetectionProcesses.n > 0) {
        struct rec_hook_ctx h;
        struct rec_hooks_options o;
        rec_hook_ctx_from_analysis(&h, a, host);
        memset(&o, 0, sizeof(o));
        o.shell = c->ProcessesShellCommand;
        o.list = "OnFailureDetectionProcesses";
        o.tracker = l->env->hooks_tracker;
        if (rec_hooks_run(&o, (const char *const *)c->OnFailureDetectionProcesses.v,
                          c->OnFailureDetectionProcesses.n, &h, true, err, sizeof(err)) != 0) {
            ORC_LOG_W("+detection-hook-failed", "instance=%s:%d error=\"%s\"", a->key.host,
                      a->key.port, err);
            return -1;
        }
    }
    return id;
}

/* The entry of k in a per-instance list of times (added with at_ms 0), or
 * NULL when out of memory. The skips, blocks and kicks are such lists. */
static struct reprobe *stamp_of(struct reprobe **v, size_t *n, const struct orc_key *k)
{
    struct reprobe *nv;

    for (size_t i = 0; i < *n; i++)
        if (orc_key_eq(&(*v)[i].key, k))
            return &(*v)[i];
    nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL)
        return NULL;
    *v = nv;
    memset(&nv[*n], 0, sizeof(*nv));
    nv[*n].key = *k;
    return &nv[(*n)++];
}

/* True (and noted) at most once per window_ms for k. */
static bool once_per(struct reprobe **v, size_t *n, const struct orc_key *k, int64_t window_ms)
{
    struct reprobe *e = stamp_of(v, n, k);
    int64_t now = orc_mono_ms();

    if (e == NULL || (e->at_ms != 0 && now - e->at_ms < window_ms))
        return false;
    e->at_ms = now;
    return true;
}

/* True once a minute per instance: skipped recoveries are logged, not spammed. */
static bool note_skip(struct rec_loop *l, const struct orc_key *k)
{
    return once_per(&l->skips, &l->nskips, k, 60000);
}

static bool allowed(struct rec_loop *l, const struct rec_analysis *a)
{
    bool disabled = false;
    char err[ORC_ERRMSG_SIZE];

    if (be_recovery_global_disabled(l->env->be, &disabled, err, sizeof(err)) == 0 && disabled) {
        if (note_skip(l, &a->key))
            ORC_LOG_N("+recovery-skipped", "instance=%s:%d analysis=%s reason=globally-disabled",
                      a->key.host, a->key.port, rec_code_name(a->code));
        return false;
    }
    if (is_master_code(a->code) && !a->has_automated_master_recovery) {
        if (note_skip(l, &a->key))
            ORC_LOG_N("+recovery-skipped",
                      "instance=%s:%d analysis=%s reason=RecoverMasterClusterFilters", a->key.host,
                      a->key.port, rec_code_name(a->code));
        return false;
    }
    if (is_im_code(a->code) && !a->has_automated_im_recovery) {
        if (note_skip(l, &a->key))
            ORC_LOG_N("+recovery-skipped",
                      "instance=%s:%d analysis=%s reason=RecoverIntermediateMasterClusterFilters",
                      a->key.host, a->key.port, rec_code_name(a->code));
        return false;
    }
    return is_master_code(a->code) || is_im_code(a->code) || a->code == REC_NO_WRITEABLE_MASTER;
}

/* A recovery blocked by anti-flapping is not tried again for a second: the
 * block lasts (RecoveryPeriodBlockSeconds or an acknowledgement), and a
 * retry on every pass would be a hot loop of registrations. */
static bool recently_blocked(struct rec_loop *l, const struct orc_key *k)
{
    int64_t now = orc_mono_ms();

    for (size_t i = 0; i < l->nblocked; i++)
        if (orc_key_eq(&l->blocked[i].key, k))
            return now - l->blocked[i].at_ms < BLOCKED_RETRY_MS;
    return false;
}

static void note_blocked(struct rec_loop *l, const struct orc_key *k)
{
    struct reprobe *e = stamp_of(&l->blocked, &l->nblocked, k);

    if (e != NULL)
        e->at_ms = orc_mono_ms();
}

/* Quorum-confirmed detection: true when the recovery may go on. */
static bool confirmed(struct rec_loop *l, const struct rec_analysis *a)
{
    int agree = 0, needed = 0;

    if (l->env->confirm_failure == NULL ||
        l->env->confirm_failure(l->env->node, &a->key, &agree, &needed))
        return true;
    if (note_skip(l, &a->key))
        ORC_LOG_N("+recovery-awaiting-quorum",
                  "instance=%s:%d analysis=%s nodes_agreeing=%d needed=%d", a->key.host,
                  a->key.port, rec_code_name(a->code), agree, needed);
    return false;
}

/* Acts on one actionable entry; true when it waits for something (quorum). */
static bool act(struct rec_loop *l, const struct rec_analysis *a)
{
    struct rec_failover_request req;
    struct rec_result res;
    char err[ORC_ERRMSG_SIZE] = "";
    int64_t det;

    if (a->skippable_due_to_downtime || a->is_downtimed) {
        if (note_skip(l, &a->key))
            ORC_LOG_N("+recovery-skipped", "instance=%s:%d analysis=%s reason=downtimed",
                      a->key.host, a->key.port, rec_code_name(a->code));
        return false;
    }
    det = detect(l, a);
    if (det >= 0 && rec_semisync_handles(a->code)) {
        if (!recently_blocked(l, &a->key) &&
            rec_semisync_recover(l->env, a, det, err, sizeof(err)) == ORC_EEXIST)
            note_blocked(l, &a->key);
        return false;
    }
    if (det < 0 || !allowed(l, a))
        return false;
    if (!confirmed(l, a))
        return true;
    if (recently_blocked(l, &a->key))
        return false;
    if (a->code == REC_NO_WRITEABLE_MASTER) { /* RecoverNonWriteableMaster */
        if (rec_nonwriteable_run(l->env, a, det, err, sizeof(err)) == ORC_EEXIST)
            note_blocked(l, &a->key);
        return false;
    }
    memset(&req, 0, sizeof(req));
    req.failed = a->key;
    req.analysis = rec_code_name(a->code);
    req.intermediate = is_im_code(a->code);
    req.command = "";
    req.detection_id = det;
    rec_result_init(&res);
    rec_failover_run(l->env, &req, &res, err, sizeof(err));
    if (res.blocked)
        note_blocked(l, &a->key);
    rec_result_release(&res);
    return false;
}

/* On a follower: report the instances this node sees failed to the leader,
 * at once when the set changes and every REPORT_MS otherwise. */
static void report(struct rec_loop *l)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct disc_snapshot *s;
    char ks[ORC_KEY_STRLEN];

    if (l->env->report_failures == NULL || (s = disc_topo_snapshot(l->env->topo)) == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        if (s->instances[i]->last_seen_ms > 0 && !disc_snapshot_check_valid(s, (int)i))
            orc_buf_printf(&b, "%s%s", b.len ? "," : "",
                           orc_key_str(&s->instances[i]->key, ks, sizeof(ks)));
    }
    disc_snapshot_put(s);
    /* every pass: the node sends it when it changed, when the leader
     * changed, or REPORT_MS after the last one */
    l->env->report_failures(l->env->node, orc_buf_str(&b));
    orc_buf_release(&b);
}

/* Takes over what a lost leader left unresolved: at once when this node
 * becomes the leader, then every RESUME_MS. */
static void resume(struct rec_loop *l)
{
    uint64_t epoch = rec_env_epoch(l->env);
    char err[ORC_ERRMSG_SIZE] = "";

    if (epoch == 0 || (epoch == l->resumed_epoch && orc_mono_ms() - l->resumed_ms < RESUME_MS))
        return;
    l->resumed_epoch = epoch;
    l->resumed_ms = orc_mono_ms();
    if (rec_resume_pass(l->env, err, sizeof(err)) != 0)
        ORC_LOG_W("+recovery-takeover-failed", "error=\"%s\"", err);
}

/* True (and noted) when the replicas of master k were not kicked lately. */
static bool may_kick(struct rec_loop *l, const struct orc_key *k)
{
    return once_per(&l->kicked, &l->nkicked, k, KICK_AGAIN_MS);
}

/* Restarting the IO thread of a MariaDB GTID replica discards its relay
 * logs: what it received and has not applied yet would be lost with a dead
 * master (orchestrator issue 1260). Such a replica is left alone. */
static bool kick_loses_relay_log(const struct disc_instance *r)
{
    return !disc_version_is_mysql(&r->ver) && rec_uses_gtid(r) &&
           rec_coords_cmp(&r->exec_coords, &r->read_coords) < 0;
}

/* The master of an UnreachableMaster entry has not answered for
 * KICK_AFTER_MS (at once for UnreachableMasterWithLaggingReplicas, as
 * orchestrator), but its replicas still show a running IO thread: restart
 * those threads. Against a live master they reconnect at once; against a
 * frozen one (or one too busy to serve them) they stay "Connecting" and
 * the analysis turns into DeadMaster. */
static void kick_replicas(struct rec_loop *l,
                          const struct rec_analysis *a,
                          const struct disc_snapshot *s)
{
    struct rec_session_options so;
    struct rec_session *sess = NULL;
    int i = disc_snapshot_find(s, &a->key);
    int64_t after = a->code == REC_UNREACHABLE_MASTER_WITH_LAGGING_REPLICAS ? 0 : KICK_AFTER_MS;

    if (i < 0 || disc_snapshot_check_valid(s, i) ||
        orc_wall_ms() - s->instances[i]->last_seen_ms < after || !may_kick(l, &a->key))
        return;
    rec_env_session_options(l->env, &so);
    so.conn.connect_timeout_s = 1;
    so.conn.read_timeout_s = 3;
    so.conn.write_timeout_s = 3;
    if (rec_session_new(&so, &sess) != 0)
        return;
    ORC_LOG_N("+replicas-kicked", "master=%s:%d unseen_ms=%lld replicas=%zu analysis=%s",
              a->key.host, a->key.port, (long long)(orc_wall_ms() - s->instances[i]->last_seen_ms),
              a->replicas.len, rec_code_name(a->code));
    for (size_t r = 0; r < a->replicas.len; r++) {
        int ri = disc_snapshot_find(s, &a->replicas.keys[r]);
        char err[ORC_ERRMSG_SIZE] = "";
        if (ri < 0 || !orc_key_eq(&s->instances[ri]->master_key, &a->key))
            continue;
        if (kick_loses_relay_log(s->instances[ri])) {
            ORC_LOG_N("+replica-kick-skipped",
                      "instance=%s:%d reason=\"MariaDB GTID with unapplied relay log\"",
                      a->replicas.keys[r].host, a->replicas.keys[r].port);
            continue;
        }
        rec_op_audit(l->env, "emergently-restart-replication-topology-instance",
                     &a->replicas.keys[r], a->cluster_name, "%s", rec_code_name(a->code));
        if (rec_stop_io_thread(sess, s->instances[ri], err, sizeof(err)) != 0 ||
            rec_exec_sql(sess, s->instances[ri], DISC_SQL_START_REPLICA_IO, err, sizeof(err)) != 0)
            ORC_LOG_W("+replica-kick-failed", "instance=%s:%d error=\"%s\"",
                      a->replicas.keys[r].host, a->replicas.keys[r].port, err);
        disc_topo_probe_soon(l->env->topo, &a->replicas.keys[r]);
    }
    rec_session_free(sess);
}

/* The analysis options again when the replicated recovery settings changed
 * (filters, semi-sync and non-writeable-master switches). On failure the
 * old options stay and the rebuild is tried on the next pass. */
static void refresh_options(struct rec_loop *l, uint64_t generation)
{
    struct rec_analysis_options o;
    char err[ORC_ERRMSG_SIZE] = "";

    if (generation == l->opts_generation)
        return;
    if (rec_analysis_options_from_config(&o, l->env->cfg, err, sizeof(err)) != 0) {
        ORC_LOG_W("+recovery-options-failed", "error=\"%s\"", err);
        return;
    }
    o.include_downtimed = true;
    o.stale = l->env->stale;
    rec_analysis_options_release(&l->opts);
    l->opts = o;
    l->opts_generation = generation;
    ORC_LOG_I("+recovery-options-reloaded", "generation=%llu", (unsigned long long)generation);
}

static bool run_pass(struct rec_loop *l);

/* One pass on a pinned env. Returns true while some failure is still
 * unconfirmed (the loop then looks again shortly instead of waiting for the
 * next poll). */
static bool run_once(struct rec_loop *l)
{
    uint64_t gen = l->base->live ? orc_config_live_generation(l->base->live) : 0;
    struct rec_env pinned;
    bool pending;

    rec_env_pin(l->base, &pinned);
    l->env = &pinned;
    refresh_options(l, gen);
    pending = run_pass(l);
    l->env = l->base;
    rec_env_unpin(&pinned);
    return pending;
}

static bool run_pass(struct rec_loop *l)
{
    struct rec_analysis_list list;
    struct disc_snapshot *s;
    bool pending = false;
    int64_t t0 = orc_mono_us(), t1;

    if (!rec_env_leader(l->env)) {
        report(l);
        if ((s = disc_topo_snapshot_recent(l->env->topo, IDLE_SNAPSHOT_MS)) != NULL) {
            rec_semisync_observe(l->env, s); /* followers' analyses see locked masters too */
            disc_snapshot_put(s);
        }
        return false;
    }
    resume(l);
    /* Idle passes may reuse a recent snapshot (same health); a failure
     * waiting for confirmation is looked at in a fresh one. */
    s = l->pending ? disc_topo_snapshot(l->env->topo)
                   : disc_topo_snapshot_recent(l->env->topo, IDLE_SNAPSHOT_MS);
    if (s == NULL)
        return false;
    /* Analyse when an analysis input changed, while a failure waits for
     * confirmation, and every few seconds for what time alone changes. */
    if (s->health_version == l->last_version && !l->pending &&
        orc_mono_ms() - l->last_full_ms < FULL_PASS_MS) {
        disc_snapshot_put(s);
        return false;
    }
    l->last_version = s->health_version;
    l->last_full_ms = orc_mono_ms();
    rec_analysis_list_init(&list);
    t1 = orc_mono_us();
    rec_semisync_observe(l->env, s); /* before the analysis reads it */
    rec_analysis_run(s, &l->opts, &list);
    ORC_LOG_D("+analysis-pass", "instances=%zu problems=%zu snapshot_us=%lld analysis_us=%lld",
              s->n, list.n, (long long)(t1 - t0), (long long)(orc_mono_us() - t1));
    for (size_t i = 0; i < list.n && !__atomic_load_n(&l->stopping, __ATOMIC_ACQUIRE); i++) {
        const struct rec_analysis *a = &list.v[i];
        ORC_LOG_D("+analysis",
                  "instance=%s:%d code=%s valid=%d replicas=%d valid_replicas=%d "
                  "replicating=%d",
                  a->key.host, a->key.port, rec_code_name(a->code), a->last_check_valid,
                  a->count_replicas, a->count_valid_replicas, a->count_valid_replicating_replicas);
        if (wants_reprobe(a->code) && !a->is_downtimed) {
            reprobe(l, a);
            pending = true;
        }
        if ((a->code == REC_UNREACHABLE_MASTER ||
             a->code == REC_UNREACHABLE_MASTER_WITH_LAGGING_REPLICAS) &&
            !a->is_downtimed)
            kick_replicas(l, a, s);
        if (a->is_actionable && act(l, a))
            pending = true;
    }
    rec_analysis_list_release(&list);
    disc_snapshot_put(s);
    l->pending = pending;
    return pending;
}

/* Ends what time ends: downtimes, maintenance, candidate rules, old audit
 * rows and history, the active periods of detections and recoveries. The
 * leader alone decides, with its clock and limits, and replicates it as one
 * command that every node applies the same way; followers expire nothing
 * on their own. */
/* Row caps of the history tables, so the replicated state (and every raft
 * snapshot) stays small whatever AuditPurgeDays says. */
#define HOUSEKEEPING_AUDIT_KEEP 20000
#define HOUSEKEEPING_HISTORY_KEEP 20000

static void housekeeping(struct rec_loop *l)
{
    struct rec_env pinned;
    const struct orc_config *c;
    int64_t now = orc_wall_s();
    char err[ORC_ERRMSG_SIZE] = "";
    json_t *p;

    if (l->env->submit == NULL || !l->env->is_leader(l->env->node))
        return;
    rec_env_pin(l->env, &pinned); /* the block periods in effect */
    c = pinned.cfg;
    p = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "Now", (json_int_t)now, "CandidateBefore",
        (json_int_t)(now - c->CandidateInstanceExpireMinutes * 60), "AuditBefore",
        (json_int_t)(c->AuditPurgeDays > 0 ? now - c->AuditPurgeDays * 86400 : 0),
        "DetectionBefore", (json_int_t)(now - c->FailureDetectionPeriodBlockMinutes * 60),
        "RecoveryBefore", (json_int_t)(now - c->RecoveryPeriodBlockSeconds), "BlockedBefore",
        (json_int_t)(now - c->RecoveryPeriodBlockSeconds), "AuditKeep",
        (json_int_t)HOUSEKEEPING_AUDIT_KEEP, "HistoryKeep", (json_int_t)HOUSEKEEPING_HISTORY_KEEP);
    if (p == NULL || l->env->submit(l->env->node, "housekeeping", p, err, sizeof(err)) != 0)
        ORC_LOG_W("+housekeeping-failed", "error=\"%s\"", p ? err : "out of memory");
    rec_env_unpin(&pinned);
}

/* The loop acts once every known instance was probed since it started (its
 * view is this process's own, not what the store remembered), or after
 * three polls at most. A restarted node resumes a recovery in milliseconds
 * instead of waiting out a fixed grace period. */
static bool warmed_up(struct rec_loop *l, int64_t grace_ms)
{
    struct disc_snapshot *s;
    bool all = true;

    if (l->warm)
        return true;
    if (orc_mono_ms() - l->started_ms >= grace_ms) {
        l->warm = true;
        return true;
    }
    s = disc_topo_snapshot_recent(l->env->topo, IDLE_SNAPSHOT_MS);
    if (s == NULL)
        return false;
    for (size_t i = 0; i < s->n && all; i++)
        all = s->instances[i]->last_checked_ms >= l->started_wall_ms;
    all = all && s->n > 0;
    disc_snapshot_put(s);
    if (all) {
        l->warm = true;
        ORC_LOG_I("+recovery-ready", "every instance probed after %lld ms",
                  (long long)(orc_mono_ms() - l->started_ms));
    }
    return all;
}

static void *loop_main(void *arg)
{
    struct rec_loop *l = arg;
    int64_t grace = 3 * l->env->cfg->InstancePollSeconds * 1000;

    bool pending = false;
    int64_t pending_since = 0;

    pthread_setname_np(pthread_self(), "orc-recovery");
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        struct timespec ts;
        /* 1 s tick; while a failure waits for confirmation, 5 ms for its
         * first second, then 100 ms (it may never confirm: an unreachable
         * master with healthy replicas) */
        int64_t wait_ms = 1000;
        if (pending) {
            int64_t age = orc_mono_ms() - pending_since;
            wait_ms = age < 1000 ? 5 : age < 10000 ? 100 : 1000;
        }
        orc_deadline(&ts, wait_ms);
        if (!l->notified)
            pthread_cond_timedwait(&l->cond, &l->lock, &ts);
        l->notified = false;
        if (l->stopping)
            break;
        pthread_mutex_unlock(&l->lock);
        if (warmed_up(l, grace)) {
            bool was = pending;
            pending = run_once(l);
            if (pending && !was)
                pending_since = orc_mono_ms();
        }
        if (orc_mono_ms() - l->housekept_ms >= HOUSEKEEPING_MS) {
            l->housekept_ms = orc_mono_ms();
            housekeeping(l);
        }
        pthread_mutex_lock(&l->lock);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int rec_loop_start(struct rec_env *env, struct rec_loop **out, char *errmsg, size_t len)
{
    struct rec_loop *l = calloc(1, sizeof(*l));
    int rc;

    if (l == NULL)
        return ORC_ENOMEM;
    l->env = l->base = env;
    rc = rec_analysis_options_from_config(&l->opts, env->cfg, errmsg, len);
    if (rc != 0) {
        free(l);
        return rc;
    }
    l->opts.include_downtimed = true;
    l->opts.stale = env->stale;
    pthread_mutex_init(&l->lock, NULL);
    orc_cond_init(&l->cond);
    l->started_ms = orc_mono_ms();
    l->started_wall_ms = env->boot_ms > 0 ? env->boot_ms : orc_wall_ms();
    rc = rec_fencer_start(env, &l->fencer, errmsg, len);
    if (rc == 0)
        rc = rec_kv_start(env, &l->kv, errmsg, len);
    if (rc == 0)
        __atomic_store_n(&env->kv, l->kv, __ATOMIC_RELEASE);
    if (rc == 0 && pthread_create(&l->tid, NULL, loop_main, l) != 0) {
        orc_errf(errmsg, len, "cannot start the recovery thread");
        rc = ORC_ENOMEM;
    }
    if (rc != 0) {
        __atomic_store_n(&env->kv, NULL, __ATOMIC_RELEASE);
        rec_kv_stop(l->kv);
        rec_fencer_stop(l->fencer);
        rec_analysis_options_release(&l->opts);
        free(l);
        return rc;
    }
    l->started = true;
    *out = l;
    return 0;
}

void rec_loop_stop(struct rec_loop *l)
{
    if (l == NULL)
        return;
    pthread_mutex_lock(&l->lock);
    __atomic_store_n(&l->stopping, true, __ATOMIC_RELEASE); /* read unlocked during a pass */
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->lock);
    if (l->started)
        pthread_join(l->tid, NULL);
    rec_fencer_stop(l->fencer);
    __atomic_store_n(&l->env->kv, NULL, __ATOMIC_RELEASE);
    rec_kv_stop(l->kv);
    rec_analysis_options_release(&l->opts);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l->reprobes);
    free(l->skips);
    free(l->blocked);
    free(l->kicked);
    free(l);
}
