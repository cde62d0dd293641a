/*
 * kv: the KV publisher thread. Proxies and applications find the current
 * master in a KV store; this thread keeps the stores right:
 *   - after a failover or takeover, a queued job publishes the new master
 *     (the failover itself never waits for a store: it queues and goes on);
 *   - a job publishes only what the live topology confirms: the instance is
 *     its cluster's master, replicates from nobody and is writable;
 *   - a store that fails is retried with backoff, and every
 *     KVPublishIntervalSeconds the leader re-publishes every master and the
 *     manager cluster, so a wiped or lagging store converges;
 *   - each store's health is kept for /api/health and /metrics.
 * Writes are differences: a store is read first and only the pairs that
 * changed are written, all of a cluster in one transaction.
 *
 * Threads: the publisher thread runs jobs and passes; HTTP threads call
 * rec_kv_submit_masters, rec_kv_status and rec_kv_metrics. `io` serialises
 * every store call; `mu` guards the jobs, the stores' status and stopping.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backend/be.h"
#include "recovery/kv.h"
#include "recovery/op.h"
#include "recovery/planned.h"
#include "recovery/rec.h"

#define KV_MAX_STORES 4
#define JOB_WAIT_MS 100      /* a master not yet confirmed by the topology */
#define JOB_CONFIRM_MS 30000 /* ... for this long at most */
#define JOB_RETRY_MS 500     /* first retry after a store failed, doubling */
#define JOB_MAX_ATTEMPTS 6

struct store {
    const struct rec_kv_store_ops *ops;
    void *st;
    /* guarded by mu */
    bool checked, up;
    char err[ORC_ERRMSG_SIZE];
    int64_t ok_s;
    uint64_t failures;
};

struct job {
    char alias[DISC_TEXT_MAX];
    struct orc_key master;
    int attempts;
    int64_t due_ms, since_ms;
};

struct rec_kv {
    struct rec_env *env;
    struct rec_kv_settings s;
    struct store stores[KV_MAX_STORES];
    size_t nstores;
    pthread_mutex_t io;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *jobs; /* guarded by mu */
    size_t njobs;
    bool stopping;
    pthread_t tid;
    bool started;
    int64_t next_pass_ms; /* publisher thread only */
};

struct rec_kv *rec_kv_of(const struct rec_env *env)
{
    return env == NULL ? NULL : __atomic_load_n(&env->kv, __ATOMIC_ACQUIRE);
}

static bool stopping(struct rec_kv *kv)
{
    return __atomic_load_n(&kv->stopping, __ATOMIC_ACQUIRE);
}

/* ---- store calls with status ---- */

static void note(struct rec_kv *kv, struct store *s, int rc, const char *err)
{
    pthread_mutex_lock(&kv->mu);
    if (rc == 0 && (!s->up || !s->checked))
        ORC_LOG_N("+kv-store-up", "store=%s", s->ops->name);
    else if (rc != 0 && (s->up || !s->checked))
        ORC_LOG_W("+kv-store-down", "store=%s error=\"%s\"", s->ops->name, err);
    s->checked = true;
    s->up = rc == 0;
    if (rc == 0) {
        s->ok_s = orc_wall_s();
        s->err[0] = '\0';
    } else {
        s->failures++;
        orc_strlcpy(s->err, err, sizeof(s->err));
    }
    pthread_mutex_unlock(&kv->mu);
}

/* Makes the store hold `want` (and, with del_prefix, nothing else below
 * it): read, diff, one write. *changed tells whether it wrote. */
static int converge(struct rec_kv *kv,
                    struct store *s,
                    const char *read_prefix,
                    const struct rec_kv_set *want,
                    const char *del_prefix,
                    bool *changed,
                    char *errmsg,
                    size_t len)
{
    struct rec_kv_set cur, put;
    struct orc_strlist del = {NULL, 0};
    int rc;

    rec_kv_set_init(&cur);
    rec_kv_set_init(&put);
    *changed = false;
    pthread_mutex_lock(&kv->io);
    rc = s->ops->read(s->st, read_prefix, &cur, errmsg, len);
    if (rc == 0)
        rc = rec_kv_diff(&cur, want, del_prefix, &put, &del);
    if (rc == 0 && (put.n > 0 || del.n > 0)) {
        rc = s->ops->write(s->st, &put, &del, errmsg, len);
        *changed = rc == 0;
    }
    pthread_mutex_unlock(&kv->io);
    if (rc != 0)
        orc_errprefix(errmsg, len, "%s", s->ops->name);
    note(kv, s, rc, errmsg);
    rec_kv_set_release(&cur);
    rec_kv_set_release(&put);
    for (size_t i = 0; i < del.n; i++)
        free(del.v[i]);
    free(del.v);
    return rc;
}

/* ---- masters ---- */

/* The instance's first IPv4 and IPv6 addresses ("" when none). */
static void resolve(const char *host, char *v4, char *v6, size_t n)
{
    struct addrinfo hints, *res = NULL;

    v4[0] = v6[0] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        if (a->ai_family == AF_INET && v4[0] == '\0')
            inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr, v4,
                      (socklen_t)n);
        else if (a->ai_family == AF_INET6 && v6[0] == '\0')
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr, v6,
                      (socklen_t)n);
    }
    freeaddrinfo(res);
}

/* True when the snapshot shows k as its cluster's master, replicating from
 * nobody, writable and last read successfully. */
static bool writable_master(const struct disc_snapshot *s, const struct orc_key *k)
{
    int i = disc_snapshot_find(s, k);
    int c = i < 0 ? -1 : disc_snapshot_cluster_of(s, i);
    const struct disc_instance *in = i < 0 ? NULL : s->instances[i];

    return c >= 0 && s->clusters[c].master == i && in->master_key.host[0] == '\0' &&
           !in->read_only && disc_snapshot_check_valid(s, i);
}

/* True when k is fenced: a failed-over old master is never published, also
 * in the moments it answers writable before the fencer turns it read-only. */
static bool fenced(const struct be_fence_list *f, const struct orc_key *k)
{
    for (size_t i = 0; f != NULL && i < f->n; i++)
        if (orc_key_eq(&f->v[i].key, k))
            return true;
    return false;
}

static const char *alias_of(const struct disc_cluster *cl)
{
    return cl->alias[0] ? cl->alias : cl->name;
}

/* Cluster c's master may be published: writable, not fenced, and its alias
 * claimed by no other cluster as large (an old master back on its own under
 * the same alias never takes the keys over; a tie publishes neither). */
static bool publishable(const struct disc_snapshot *s, size_t c, const struct be_fence_list *f)
{
    const struct disc_cluster *cl = &s->clusters[c];

    if (cl->master < 0 || !writable_master(s, &s->instances[cl->master]->key) ||
        fenced(f, &s->instances[cl->master]->key))
        return false;
    for (size_t o = 0; o < s->nclusters; o++) {
        if (o == c || strcmp(alias_of(&s->clusters[o]), alias_of(cl)) != 0 ||
            s->clusters[o].count < cl->count)
            continue;
        ORC_LOG_W("+kv-alias-conflict", "alias=%s cluster=%s other=%s action=not-published",
                  alias_of(cl), cl->name, s->clusters[o].name);
        return false;
    }
    return true;
}

/* The fenced instances (empty when the backend cannot say). */
static void load_fences(struct rec_kv *kv, struct be_fence_list *f)
{
    char err[ORC_ERRMSG_SIZE] = "";

    memset(f, 0, sizeof(*f));
    if (be_fence_list(kv->env->be, f, err, sizeof(err)) != 0)
        ORC_LOG_W("+kv-fences-unread", "error=\"%s\"", err);
}

/* Publishes one master to every store. down (NULL for a single job): the
 * stores that already failed in this pass are skipped, so a pass over many
 * clusters waits for a dead store's timeout once, not once per cluster.
 * Returns 0 or the first error. */
static int publish_master(struct rec_kv *kv,
                          const char *alias,
                          const struct orc_key *master,
                          bool *down,
                          struct rec_kv_set *want,
                          char *errmsg,
                          size_t len)
{
    char v4[INET6_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], base[1024], ks[ORC_KEY_STRLEN];
    struct orc_buf done = ORC_BUF_INIT;
    bool tried_failed = false;
    int first = 0;

    resolve(master->host, v4, v6, sizeof(v4));
    if (rec_kv_master_pairs(kv->s.master_prefix, alias, master, v4, v6, want) != 0) {
        orc_errf(errmsg, len, "out of memory");
        return ORC_ENOMEM;
    }
    snprintf(base, sizeof(base), "%s%s", kv->s.master_prefix, alias);
    orc_key_str(master, ks, sizeof(ks));
    for (size_t i = 0; i < kv->nstores; i++) {
        char err[ORC_ERRMSG_SIZE] = "";
        bool changed = false;
        int rc;
        if (down != NULL && down[i]) {
            rc = ORC_EIO;
            snprintf(err, sizeof(err), "%s: down (skipped in this pass)", kv->stores[i].ops->name);
        } else {
            rc = converge(kv, &kv->stores[i], base, want, NULL, &changed, err, sizeof(err));
        }
        tried_failed |= rc != 0 && (down == NULL || !down[i]);
        if (rc != 0 && down != NULL)
            down[i] = true;
        if (rc != 0 && first == 0) {
            first = rc;
            orc_strlcpy(errmsg, err, len);
        }
        if (changed)
            orc_buf_printf(&done, "%s%s", done.len ? "," : "", kv->stores[i].ops->name);
    }
    if (done.len > 0)
        rec_op_audit(kv->env, "kv-published", master, alias, "published %s as %s to %s", ks, base,
                     orc_buf_str(&done));
    if (tried_failed) /* not again for each cluster of a pass */
        rec_op_audit(kv->env, "kv-publish-failed", master, alias, "%s: %s", base, errmsg);
    orc_buf_release(&done);
    return first;
}

/* ---- the manager cluster ---- */

static void publish_managers(struct rec_kv *kv)
{
    struct rec_manager_info *info = calloc(1, sizeof(*info));
    struct rec_kv_member m[REC_MANAGER_MAX_NODES];
    struct rec_kv_set want;
    char members[600];

    if (info == NULL || kv->s.manager_prefix[0] == '\0' || kv->env->manager_info == NULL) {
        free(info);
        return;
    }
    kv->env->manager_info(kv->env->node, info);
    for (size_t i = 0; i < info->n && i < REC_MANAGER_MAX_NODES; i++) {
        orc_strlcpy(m[i].addr, info->nodes[i].addr, sizeof(m[i].addr));
        orc_strlcpy(m[i].role, info->nodes[i].voter ? "voter" : "non-voter", sizeof(m[i].role));
        m[i].healthy = info->nodes[i].healthy;
        m[i].leader = info->nodes[i].leader;
    }
    rec_kv_set_init(&want);
    snprintf(members, sizeof(members), "%smembers/", kv->s.manager_prefix);
    if (rec_kv_manager_pairs(kv->s.manager_prefix, info->leader_uri, info->leader_addr, m, info->n,
                             &want) == 0) {
        for (size_t i = 0; i < kv->nstores; i++) {
            char err[ORC_ERRMSG_SIZE] = "";
            bool changed = false;
            if (kv->stores[i].ops == &rec_kv_internal_ops)
                continue;
            if (converge(kv, &kv->stores[i], kv->s.manager_prefix, &want, members, &changed, err,
                         sizeof(err)) == 0 &&
                changed)
                ORC_LOG_N("+kv-managers-published", "store=%s leader=%s members=%zu",
                          kv->stores[i].ops->name, info->leader_uri, info->n);
        }
    }
    rec_kv_set_release(&want);
    free(info);
}

/* ---- the thread ---- */

/* Every cluster's writable master (leader), then the managers. */
static void full_pass(struct rec_kv *kv)
{
    struct disc_snapshot *s = disc_topo_snapshot(kv->env->topo);
    bool down[KV_MAX_STORES] = {false};
    struct be_fence_list f;

    load_fences(kv, &f);
    for (size_t c = 0; s != NULL && c < s->nclusters && !stopping(kv); c++) {
        const struct disc_cluster *cl = &s->clusters[c];
        struct rec_kv_set want;
        char err[ORC_ERRMSG_SIZE] = "";
        if (!publishable(s, c, &f))
            continue;
        rec_kv_set_init(&want);
        publish_master(kv, alias_of(cl), &s->instances[cl->master]->key, down, &want, err,
                       sizeof(err));
        rec_kv_set_release(&want);
    }
    be_fence_list_free(&f);
    if (s != NULL)
        disc_snapshot_put(s);
    publish_managers(kv);
}

/* A follower keeps the stores' health fresh for its /api/health. */
static void health_pass(struct rec_kv *kv)
{
    for (size_t i = 0; i < kv->nstores; i++) {
        char err[ORC_ERRMSG_SIZE] = "";
        int rc;
        pthread_mutex_lock(&kv->io);
        rc = kv->stores[i].ops->health(kv->stores[i].st, err, sizeof(err));
        pthread_mutex_unlock(&kv->io);
        if (rc != 0)
            orc_errprefix(err, sizeof(err), "%s", kv->stores[i].ops->name);
        note(kv, &kv->stores[i], rc, err);
    }
}

/* Runs job j (a copy, taken off the queue); returns true when it is done. */
static bool run_job(struct rec_kv *kv, struct job *j)
{
    struct disc_snapshot *s = disc_topo_snapshot(kv->env->topo);
    bool ok = s != NULL && writable_master(s, &j->master);
    char err[ORC_ERRMSG_SIZE] = "", ks[ORC_KEY_STRLEN];
    struct rec_kv_set want;
    int rc;

    if (s != NULL)
        disc_snapshot_put(s);
    orc_key_str(&j->master, ks, sizeof(ks));
    if (!ok) {
        if (orc_mono_ms() - j->since_ms > JOB_CONFIRM_MS) {
            ORC_LOG_W("+kv-publish-skipped", "alias=%s master=%s reason=not-a-writable-master",
                      j->alias, ks);
            return true;
        }
        disc_topo_probe_soon(kv->env->topo, &j->master);
        j->due_ms = orc_mono_ms() + JOB_WAIT_MS;
        return false;
    }
    rec_kv_set_init(&want);
    rc = publish_master(kv, j->alias, &j->master, NULL, &want, err, sizeof(err));
    rec_kv_set_release(&want);
    if (rc == 0) {
        ORC_LOG_N("+kv-published", "alias=%s master=%s after_ms=%lld", j->alias, ks,
                  (long long)(orc_mono_ms() - j->since_ms));
        return true;
    }
    ORC_LOG_W("+kv-publish-failed", "alias=%s master=%s attempt=%d error=\"%s\"", j->alias, ks,
              j->attempts + 1, err);
    if (++j->attempts >= JOB_MAX_ATTEMPTS)
        return true; /* the periodic pass goes on trying */
    j->due_ms = orc_mono_ms() + ((int64_t)JOB_RETRY_MS << (j->attempts - 1));
    return false;
}

static void push_job(struct rec_kv *kv, const struct job *j)
{
    struct job *n = realloc(kv->jobs, (kv->njobs + 1) * sizeof(*n));

    if (n == NULL)
        return;
    kv->jobs = n;
    kv->jobs[kv->njobs++] = *j;
}

/* Takes the first due job off the queue (mu held). */
static bool take_due(struct rec_kv *kv, struct job *out, int64_t *next_ms)
{
    int64_t now = orc_mono_ms();

    for (size_t i = 0; i < kv->njobs; i++) {
        if (kv->jobs[i].due_ms <= now) {
            *out = kv->jobs[i];
            memmove(&kv->jobs[i], &kv->jobs[i + 1], (kv->njobs - i - 1) * sizeof(*out));
            kv->njobs--;
            return true;
        }
        if (kv->jobs[i].due_ms < *next_ms)
            *next_ms = kv->jobs[i].due_ms;
    }
    return false;
}

static void run_due_jobs(struct rec_kv *kv, int64_t *next_ms)
{
    struct job j;

    pthread_mutex_lock(&kv->mu);
    while (!stopping(kv) && take_due(kv, &j, next_ms)) {
        bool leader = rec_env_leader(kv->env), done;
        pthread_mutex_unlock(&kv->mu);
        done = !leader || run_job(kv, &j);
        pthread_mutex_lock(&kv->mu);
        if (!done) {
            push_job(kv, &j);
            if (j.due_ms < *next_ms)
                *next_ms = j.due_ms;
        }
    }
    pthread_mutex_unlock(&kv->mu);
}

static void *kv_main(void *arg)
{
    struct rec_kv *kv = arg;

    pthread_setname_np(pthread_self(), "orc-kv");
    kv->next_pass_ms = orc_mono_ms() + 1000;
    for (;;) {
        int64_t next = kv->next_pass_ms;
        struct timespec ts;
        run_due_jobs(kv, &next);
        if (orc_mono_ms() >= kv->next_pass_ms) {
            if (rec_env_leader(kv->env))
                full_pass(kv);
            else
                health_pass(kv);
            kv->next_pass_ms = orc_mono_ms() + kv->s.interval_ms;
            continue;
        }
        pthread_mutex_lock(&kv->mu);
        if (stopping(kv)) {
            pthread_mutex_unlock(&kv->mu);
            break;
        }
        orc_deadline(&ts, next - orc_mono_ms() > 0 ? next - orc_mono_ms() : 1);
        pthread_cond_timedwait(&kv->cv, &kv->mu, &ts);
        pthread_mutex_unlock(&kv->mu);
    }
    return NULL;
}

/* ---- lifecycle ---- */

static int add_store(struct rec_kv *kv,
                     const struct rec_kv_store_ops *ops,
                     void *st,
                     int rc,
                     char *errmsg,
                     size_t len)
{
    if (rc != 0) {
        orc_errprefix(errmsg, len, "%s", ops->name);
        return rc;
    }
    kv->stores[kv->nstores].ops = ops;
    kv->stores[kv->nstores++].st = st;
    return 0;
}

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

static int open_stores(struct rec_kv *kv, char *errmsg, size_t len)
{
    void *st = NULL;
    int rc = rec_kv_internal_new(kv->env, &st, errmsg, len);

    rc = add_store(kv, &rec_kv_internal_ops, st, rc, errmsg, len);
    if (rc == 0 && kv->s.etcd_endpoints[0]) {
        rc = rec_kv_etcd_new(&kv->s, &st, errmsg, len);
        rc = add_store(kv, &rec_kv_etcd_ops, st, rc, errmsg, len);
    }
    if (rc == 0 && kv->s.zk_address[0]) {
        rc = rec_kv_zk_new(&kv->s, &st, errmsg, len);
        rc = add_store(kv, &rec_kv_zk_ops, st, rc, errmsg, len);
    }
    if (rc == 0 && kv->s.consul_address[0]) {
        rc = rec_kv_consul_new(&kv->s, &st, errmsg, len);
        rc = add_store(kv, &rec_kv_consul_ops, st, rc, errmsg, len);
    }
    return rc;
}

static void kv_free(struct rec_kv *kv)
{
    for (size_t i = 0; i < kv->nstores; i++)
        kv->stores[i].ops->free(kv->stores[i].st);
    memset(&kv->s, 0, sizeof(kv->s)); /* passwords and tokens */
    pthread_mutex_destroy(&kv->io);
    pthread_mutex_destroy(&kv->mu);
    pthread_cond_destroy(&kv->cv);
    free(kv->jobs);
    free(kv);
}

int rec_kv_start(struct rec_env *env, struct rec_kv **out, char *errmsg, size_t len)
{
    struct rec_kv *kv = calloc(1, sizeof(*kv));
    int rc;

    *out = NULL;
    if (kv == NULL)
        return ORC_ENOMEM;
    kv->env = env;
    pthread_mutex_init(&kv->io, NULL);
    pthread_mutex_init(&kv->mu, NULL);
    orc_cond_init(&kv->cv); /* orc_deadline() times are monotonic */
    rc = rec_kv_settings_resolve(env->cfg, env_lookup, &kv->s, errmsg, len);
    if (rc == 0)
        rc = open_stores(kv, errmsg, len);
    if (rc == 0 && pthread_create(&kv->tid, NULL, kv_main, kv) != 0) {
        orc_errf(errmsg, len, "cannot start the KV thread");
        rc = ORC_ENOMEM;
    }
    if (rc != 0) {
        orc_errprefix(errmsg, len, "KV stores");
        kv_free(kv);
        return rc;
    }
    kv->started = true;
    ORC_LOG_I("+kv-started", "stores=%zu etcd=%s zookeeper=%s consul=%s interval_s=%lld",
              kv->nstores, kv->s.etcd_endpoints[0] ? "on" : "off",
              kv->s.zk_address[0] ? "on" : "off", kv->s.consul_address[0] ? "on" : "off",
              (long long)(kv->s.interval_ms / 1000));
    *out = kv;
    return 0;
}

void rec_kv_stop(struct rec_kv *kv)
{
    if (kv == NULL)
        return;
    pthread_mutex_lock(&kv->mu);
    __atomic_store_n(&kv->stopping, true, __ATOMIC_RELEASE);
    pthread_cond_signal(&kv->cv);
    pthread_mutex_unlock(&kv->mu);
    if (kv->started)
        pthread_join(kv->tid, NULL);
    kv_free(kv);
}

void rec_kv_publish_master(struct rec_env *env, const char *alias, const struct orc_key *master)
{
    struct rec_kv *kv = rec_kv_of(env);
    struct job j;

    if (kv == NULL || master == NULL || master->host[0] == '\0')
        return;
    memset(&j, 0, sizeof(j));
    orc_strlcpy(j.alias, alias, sizeof(j.alias));
    j.master = *master;
    j.since_ms = j.due_ms = orc_mono_ms();
    pthread_mutex_lock(&kv->mu);
    push_job(kv, &j);
    pthread_cond_signal(&kv->cv);
    pthread_mutex_unlock(&kv->mu);
}

/* ---- on demand ---- */

static void pairs_json(json_t *arr, const struct rec_kv_set *s)
{
    for (size_t i = 0; arr != NULL && i < s->n; i++)
        json_array_append_new(arr,
                              json_pack("{s:s, s:s}", "Key", s->v[i].key, "Value", s->v[i].value));
}

/* Publishes the publishable masters of s (cluster `only`, or all when -1). */
static int submit_all(struct rec_kv *kv,
                      const struct disc_snapshot *s,
                      int only,
                      json_t *arr,
                      int *count,
                      char *errmsg,
                      size_t len)
{
    bool down[KV_MAX_STORES] = {false};
    struct be_fence_list f;
    int first = 0;

    load_fences(kv, &f);
    for (size_t c = 0; c < s->nclusters; c++) {
        struct rec_kv_set want;
        char err[ORC_ERRMSG_SIZE] = "";
        int rc;
        if ((only >= 0 && (int)c != only) || !publishable(s, c, &f))
            continue;
        rec_kv_set_init(&want);
        rc =
            publish_master(kv, alias_of(&s->clusters[c]), &s->instances[s->clusters[c].master]->key,
                           down, &want, err, sizeof(err));
        pairs_json(arr, &want);
        rec_kv_set_release(&want);
        (*count)++;
        if (rc != 0 && first == 0) {
            first = rc;
            orc_strlcpy(errmsg, err, len);
        }
    }
    be_fence_list_free(&f);
    return first;
}

int rec_kv_submit_masters(struct rec_env *env,
                          const char *cluster,
                          json_t **pairs,
                          int *count,
                          char *errmsg,
                          size_t len)
{
    struct rec_kv *kv = rec_kv_of(env);
    struct disc_snapshot *s = disc_topo_snapshot(env->topo);
    json_t *arr = json_array();
    int only = -1, rc = 0;

    *count = 0;
    if (kv == NULL || s == NULL) {
        orc_errf(errmsg, len, "the KV publisher is not running");
        rc = ORC_ESTATE;
    } else if (cluster != NULL && cluster[0] && (only = disc_snapshot_cluster(s, cluster)) < 0) {
        orc_errf(errmsg, len, "unknown cluster '%s'", cluster);
        rc = ORC_ENOTFOUND;
    } else {
        rc = submit_all(kv, s, only, arr, count, errmsg, len);
    }
    if (s != NULL)
        disc_snapshot_put(s);
    if (pairs != NULL)
        *pairs = arr;
    else
        json_decref(arr);
    return rc;
}

/* ---- status ---- */

json_t *rec_kv_status(const struct rec_env *env)
{
    struct rec_kv *kv = rec_kv_of(env);
    json_t *arr;

    if (kv == NULL)
        return NULL;
    arr = json_array();
    pthread_mutex_lock(&kv->mu);
    for (size_t i = 0; arr != NULL && i < kv->nstores; i++) {
        const struct store *s = &kv->stores[i];
        char ts[64] = "";
        if (s->ok_s > 0)
            orc_time_rfc3339(s->ok_s, ts, sizeof(ts));
        json_array_append_new(
            arr, json_pack("{s:s, s:b, s:b, s:s, s:s, s:I}", "Store", s->ops->name, "Checked",
                           s->checked, "Healthy", s->up, "Error", s->err, "LastSuccess", ts,
                           "Failures", (json_int_t)s->failures));
    }
    pthread_mutex_unlock(&kv->mu);
    return arr;
}

void rec_kv_metrics(const struct rec_env *env, struct orc_buf *out)
{
    struct rec_kv *kv = rec_kv_of(env);

    if (kv == NULL)
        return;
    orc_buf_puts(out,
                 "# HELP orchestrator_kv_store_up Whether the last call to a KV store worked "
                 "(-1: not tried yet).\n"
                 "# TYPE orchestrator_kv_store_up gauge\n");
    pthread_mutex_lock(&kv->mu);
    for (size_t i = 0; i < kv->nstores; i++)
        orc_buf_printf(out, "orchestrator_kv_store_up{store=\"%s\"} %d\n", kv->stores[i].ops->name,
                       kv->stores[i].checked ? (kv->stores[i].up ? 1 : 0) : -1);
    orc_buf_puts(out,
                 "# HELP orchestrator_kv_store_failures_total Failed calls to a KV store.\n"
                 "# TYPE orchestrator_kv_store_failures_total counter\n");
    for (size_t i = 0; i < kv->nstores; i++)
        orc_buf_printf(out, "orchestrator_kv_store_failures_total{store=\"%s\"} %llu\n",
                       kv->stores[i].ops->name, (unsigned long long)kv->stores[i].failures);
    pthread_mutex_unlock(&kv->mu);
}
