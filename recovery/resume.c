/*
 * resume: recoveries whose leader was lost. A recovery is replicated state:
 * registered with the leadership epoch of the node that runs it (the raft
 * term, or the process's start time without raft), its successor written
 * ahead of the promotion, resolved at the end. When the leader dies, steps
 * down, or crashes and restarts in the middle of one, the recovery stays
 * unresolved in the replicated tables. The next leader (the same process
 * after a restart) finds it here, on its first pass and every second:
 *
 *   1. it adopts it (a replicated compare-and-set of the recovery's token:
 *      one adopter only), so it is the same recovery, with the same id and
 *      uid, that ends: one failure, one recovery, never blocked by itself;
 *   2. a failover whose failed master answers again is ended: replication
 *      the lost run stopped is restarted, and the recovery is resolved as
 *      unsuccessful, out of its active period (it blocks nothing);
 *   3. a failover whose master is still dead is finished now: with the
 *      successor the lost run chose (written ahead of the promotion) or
 *      promoted (a replica that replicates from nobody and is writable), so
 *      nothing is promoted twice, or from the start when none was chosen;
 *   4. an interrupted graceful takeover whose successor never became
 *      writable gives the cluster its old master back (read_only=0), as the
 *      takeover itself does when it fails.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/be.h"
#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/rec.h"

/* ---- the registry of running recoveries ---- */

struct rec_registry {
    pthread_mutex_t mu;
    char (*uids)[64];
    size_t n, cap;
};

int rec_registry_new(struct rec_registry **out)
{
    struct rec_registry *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return ORC_ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    *out = r;
    return 0;
}

void rec_registry_free(struct rec_registry *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r->uids);
    free(r);
}

int rec_registry_enter(struct rec_registry *r, const char *uid)
{
    int rc = 0;

    if (r == NULL)
        return 0;
    pthread_mutex_lock(&r->mu);
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 8;
        char(*nu)[64] = realloc(r->uids, nc * sizeof(*nu));
        if (nu == NULL) {
            rc = ORC_ENOMEM;
        } else {
            r->uids = nu;
            r->cap = nc;
        }
    }
    if (rc == 0)
        orc_strlcpy(r->uids[r->n++], uid, sizeof(r->uids[0]));
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void rec_registry_leave(struct rec_registry *r, const char *uid)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->uids[i], uid) == 0) {
            memmove(&r->uids[i], &r->uids[i + 1], (r->n - i - 1) * sizeof(r->uids[0]));
            r->n--;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

static bool registry_has(struct rec_registry *r, const char *uid)
{
    bool has = false;

    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n && !has; i++)
        has = strcmp(r->uids[i], uid) == 0;
    pthread_mutex_unlock(&r->mu);
    return has;
}

/* "<epoch>" or "<epoch>/graceful" (takeover.c). */
static uint64_t token_epoch(const char *token, bool *graceful)
{
    char *end = NULL;
    unsigned long long e = strtoull(token != NULL ? token : "", &end, 10);

    *graceful = end != NULL && strcmp(end, "/graceful") == 0;
    return (uint64_t)e;
}

static int parse_keys(const char *list, struct disc_keylist *out)
{
    const char *p = list != NULL ? list : "";

    while (*p != '\0') {
        char item[ORC_KEY_STRLEN + 8];
        size_t n = strcspn(p, ",");
        struct orc_key k;
        if (n > 0 && n < sizeof(item)) {
            memcpy(item, p, n);
            item[n] = '\0';
            if (orc_key_parse(item, 3306, &k) == 0 && disc_keylist_add(out, &k) != 0)
                return ORC_ENOMEM;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* One recovery being taken over. */
struct takeover {
    struct rec_env *env;
    const struct be_recovery *rec;
    struct rec_session *sess;
    struct disc_keylist replicas;
    struct orc_key successor; /* host "" when none known */
    bool graceful;
    uint64_t epoch;
    /* the run on the engine: the recovery's own uid and id, steps written as
     * recovery steps, errors */
    struct rec_op op;
};

/* Submits adopt-recovery; true when this leadership now owns the run. */
static bool adopt(struct takeover *t)
{
    char token[40], host[128] = "", err[ORC_ERRMSG_SIZE] = "";
    json_t *res = NULL;
    int64_t count = 0;
    int rc;

    gethostname(host, sizeof(host) - 1);
    snprintf(token, sizeof(token), "%llu%s", (unsigned long long)t->epoch,
             t->graceful ? "/graceful" : "");
    rc = t->env->submit_r(
        t->env->node, "adopt-recovery",
        json_pack("{s:s, s:s, s:s, s:s}", "UID", t->rec->uid, "PrevToken",
                  t->rec->processing_node_token, "Token", token, "ProcessingNodeHostname", host),
        &res, err, sizeof(err));
    if (res != NULL) {
        count = (int64_t)json_integer_value(json_object_get(res, "Count"));
        json_decref(res);
    }
    if (rc != 0)
        ORC_LOG_E("+recovery-takeover-failed", "uid=%s error=\"%s\"", t->rec->uid, err);
    return rc == 0 && count > 0;
}

static void submit(struct takeover *t, const char *op, json_t *payload)
{
    rec_op_submit(&t->op, op, payload);
}

static void note(struct takeover *t, const char *msg)
{
    rec_op_step(&t->op, "%s", msg);
}

/* Reads each replica: restarts replication on those that still point at the
 * failed master when `restart`, and finds a promoted successor when none
 * was written ahead. */
static void scan_replicas(struct takeover *t, bool restart)
{
    for (size_t i = 0; i < t->replicas.len; i++) {
        const struct orc_key *k = &t->replicas.keys[i];
        struct disc_instance in;
        char err[ORC_ERRMSG_SIZE] = "";

        disc_instance_init(&in);
        if (rec_read(t->sess, k, &in, err, sizeof(err)) != 0) {
            ORC_LOG_W("+recovery-takeover-replica", "uid=%s instance=%s:%d error=\"%s\"",
                      t->rec->uid, k->host, k->port, err);
        } else if (orc_key_eq(&in.master_key, &t->rec->key)) {
            if (restart &&
                (in.io_state != DISC_THREAD_RUNNING || in.sql_state != DISC_THREAD_RUNNING) &&
                rec_start_replica(t->sess, &in, err, sizeof(err)) != 0)
                ORC_LOG_W("+recovery-takeover-replica", "uid=%s instance=%s:%d error=\"%s\"",
                          t->rec->uid, k->host, k->port, err);
        } else if (in.master_key.host[0] == '\0' && !in.read_only && !t->graceful &&
                   t->successor.host[0] == '\0') {
            t->successor = *k; /* promoted by the lost run */
        }
        disc_instance_release(&in);
    }
}

/* The failed master answers again: undo what the lost run began. */
static void end_alive(struct takeover *t)
{
    char reason[512];

    scan_replicas(t, true);
    snprintf(reason, sizeof(reason),
             "taken over in epoch %llu: %s:%d answers again; replication restarted, nothing "
             "promoted",
             (unsigned long long)t->epoch, t->rec->key.host, t->rec->key.port);
    note(t, reason);
    submit(t, "abandon-recovery", json_pack("{s:s, s:s}", "UID", t->rec->uid, "Reason", reason));
}

/* The failed master is still dead: the failover runs to its end now. */
static void finish_failover(struct takeover *t)
{
    struct rec_failover_request req;
    struct rec_result res;
    char err[ORC_ERRMSG_SIZE] = "";
    const char *a = t->rec->analysis;

    scan_replicas(t, false);
    memset(&req, 0, sizeof(req));
    req.failed = t->rec->key;
    req.analysis = a != NULL && a[0] ? a : "DeadMaster";
    req.intermediate = a != NULL && strstr(a, "IntermediateMaster") != NULL;
    req.candidate = t->successor.host[0] != '\0' && !req.intermediate ? &t->successor : NULL;
    req.resume = true;
    req.command = "takeover-recovery";
    req.adopt_uid = t->rec->uid;
    req.adopt_id = t->rec->id;
    rec_result_init(&res);
    if (rec_failover_run(t->env, &req, &res, err, sizeof(err)) != 0)
        ORC_LOG_E("+recovery-takeover-failed", "uid=%s error=\"%s\"", t->rec->uid, err);
    rec_result_release(&res);
}

/* An interrupted graceful takeover. The successor took writes: it is done.
 * Otherwise the old master (alive, set read_only=1) takes writes again. */
static void finish_graceful(struct takeover *t)
{
    struct disc_instance s, m;
    char err[ORC_ERRMSG_SIZE] = "", msg[ORC_ERRMSG_SIZE + 400] = "";
    bool ok = false;

    disc_instance_init(&s);
    disc_instance_init(&m);
    scan_replicas(t, true);
    /* a co-master pair: each still replicates from the other */
    if (t->successor.host[0] != '\0' &&
        rec_read(t->sess, &t->successor, &s, err, sizeof(err)) == 0 && !s.read_only &&
        (s.master_key.host[0] == '\0' || orc_key_eq(&s.master_key, &t->rec->key))) {
        ok = true;
        snprintf(msg, sizeof(msg), "taken over: successor %s:%d is writable", t->successor.host,
                 t->successor.port);
    } else if (rec_read(t->sess, &t->rec->key, &m, err, sizeof(err)) == 0 && m.read_only &&
               (m.master_key.host[0] == '\0' ||
                (t->successor.host[0] != '\0' && orc_key_eq(&m.master_key, &t->successor)))) {
        if (rec_set_read_only(t->sess, &m, false, true, err, sizeof(err)) == 0)
            snprintf(msg, sizeof(msg),
                     "taken over: the successor never took writes; old master "
                     "%s:%d writable again",
                     m.key.host, m.key.port);
    }
    if (msg[0] == '\0')
        snprintf(msg, sizeof(msg), "taken over: nothing to finish (%s)",
                 err[0] ? err : "no change");
    note(t, msg);
    if (!ok)
        rec_op_error(&t->op, msg);
    rec_op_resolve(&t->op, &t->rec->key, ok ? &t->successor : NULL, ok, "", "");
    disc_instance_release(&s);
    disc_instance_release(&m);
}

static bool failed_master_answers(struct takeover *t)
{
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";
    bool alive;

    disc_instance_init(&in);
    alive = rec_read(t->sess, &t->rec->key, &in, err, sizeof(err)) == 0;
    disc_instance_release(&in);
    return alive;
}

static void take_over(struct rec_env *env, const struct be_recovery *rec, uint64_t epoch)
{
    struct takeover t;
    struct rec_session_options so;
    uint64_t lost;

    memset(&t, 0, sizeof(t));
    t.env = env;
    t.rec = rec;
    t.epoch = epoch;
    lost = token_epoch(rec->processing_node_token, &t.graceful);
    t.successor = rec->successor;
    ORC_LOG_N("+recovery-takeover",
              "uid=%s instance=%s:%d analysis=%s lost_epoch=%llu epoch=%llu successor=%s:%d%s",
              rec->uid, rec->key.host, rec->key.port, rec->analysis, (unsigned long long)lost,
              (unsigned long long)epoch, t.successor.host, t.successor.port,
              t.graceful ? " graceful" : "");
    if (rec_op_init(&t.op, env, "recovery-takeover", NULL) != 0)
        return;
    orc_strlcpy(t.op.uid, rec->uid, sizeof(t.op.uid)); /* the same recovery goes on */
    t.op.id = rec->id;
    t.op.epoch = epoch;
    if (rec_registry_enter(env->running, rec->uid) != 0) {
        rec_op_release(&t.op);
        return;
    }
    if (!adopt(&t)) {
        rec_registry_leave(env->running, rec->uid);
        rec_op_release(&t.op);
        return;
    }
    rec_env_session_options(env, &so);
    so.conn.connect_timeout_s = 1;
    so.conn.read_timeout_s = 5;
    so.conn.write_timeout_s = 5;
    if (parse_keys(rec->replica_hosts, &t.replicas) == 0 && rec_session_new(&so, &t.sess) == 0) {
        if (t.graceful)
            finish_graceful(&t);
        else if (t.successor.host[0] == '\0' && failed_master_answers(&t))
            end_alive(&t);
        else
            finish_failover(&t);
    }
    rec_session_free(t.sess);
    disc_keylist_release(&t.replicas);
    rec_registry_leave(env->running, rec->uid);
    rec_op_release(&t.op);
}

int rec_resume_pass(struct rec_env *env, char *errmsg, size_t len)
{
    struct be_recovery_filter f;
    struct be_recovery_list l = {0};
    uint64_t epoch = rec_env_epoch(env);
    int rc;

    if (epoch == 0 || env->submit_r == NULL || env->submit == NULL)
        return 0;
    memset(&f, 0, sizeof(f));
    f.unresolved_only = true;
    rc = be_recovery_list(env->be, &f, &l, errmsg, len);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        bool graceful, own = token_epoch(l.v[i].processing_node_token, &graceful) == epoch;
        /* A run of this process carries it on. Without a registry, a
         * recovery of this epoch is taken to be running. */
        if (env->running != NULL ? registry_has(env->running, l.v[i].uid) : own)
            continue;
        take_over(env, &l.v[i], epoch);
    }
    be_recovery_list_free(&l);
    return rc;
}
