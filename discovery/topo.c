/*
 * topo: the table of known instances (hash + array), the probe queue, and
 * the public functions of the live topology. Threads live in pool.c,
 * snapshots in snap.c, persistence in store.c.
 */
#include <stdlib.h>
#include <string.h>

#include "discovery/topo_int.h"

static size_t hash_key(const char *s, size_t size)
{
    return (size_t)(orc_fnv1a(ORC_FNV1A_INIT, s, strlen(s)) % size);
}

struct entry *topo_find(struct disc_topo *t, const struct orc_key *k)
{
    char ks[ORC_KEY_STRLEN];

    orc_key_str(k, ks, sizeof(ks));
    for (struct entry *e = t->hash[hash_key(ks, t->hash_size)]; e; e = e->hnext)
        if (orc_key_eq(&e->key, k))
            return e;
    return NULL;
}

static int grow_table(struct disc_topo *t)
{
    size_t ns = t->hash_size * 2;
    struct entry **nh = calloc(ns, sizeof(*nh));

    if (nh == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        struct entry *e = t->all[i];
        size_t b = hash_key(e->keystr, ns);
        e->hnext = nh[b];
        nh[b] = e;
    }
    free(t->hash);
    t->hash = nh;
    t->hash_size = ns;
    return 0;
}

/* The pending annotations of k (lock held), created when create is set;
 * NULL when none (or the table is full). */
static struct pending_annot *pending_of(struct disc_topo *t, const struct orc_key *k, bool create)
{
    struct pending_annot *np;

    for (size_t i = 0; i < t->npending; i++)
        if (orc_key_eq(&t->pending[i].key, k))
            return &t->pending[i];
    if (!create || t->npending >= TOPO_PENDING_MAX)
        return NULL;
    np = realloc(t->pending, (t->npending + 1) * sizeof(*np));
    if (np == NULL)
        return NULL;
    t->pending = np;
    np = &t->pending[t->npending++];
    memset(np, 0, sizeof(*np));
    np->key = *k;
    return np;
}

/* Moves the pending annotations of a new entry onto it (lock held). */
static void take_pending(struct disc_topo *t, struct entry *e)
{
    struct pending_annot *p = pending_of(t, &e->key, false);

    if (p == NULL)
        return;
    e->annot = p->annot;
    e->rule_until_s = p->rule_until_s;
    *p = t->pending[--t->npending];
    ORC_LOG_I("+annotations-applied", "instance=%s downtimed=%d rule=%s", e->keystr,
              e->annot.downtimed, e->annot.promotion_rule);
}

struct entry *topo_add(struct disc_topo *t, const struct orc_key *k)
{
    struct entry *e = topo_find(t, k);
    size_t b;

    if (e != NULL)
        return e;
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        struct entry **na = realloc(t->all, nc * sizeof(*na));
        if (na == NULL)
            return NULL;
        t->all = na;
        t->cap = nc;
    }
    if (t->n + 1 > t->hash_size && grow_table(t) != 0)
        return NULL;
    if (t->n == t->capsched) { /* the heap and the busy list hold every entry at most */
        size_t nc = t->capsched ? t->capsched * 2 : 16;
        struct entry **nd = realloc(t->due, nc * sizeof(*nd));
        if (nd == NULL)
            return NULL;
        t->due = nd;
        struct entry **nb = realloc(t->busy, nc * sizeof(*nb));
        if (nb == NULL)
            return NULL;
        t->busy = nb;
        t->capsched = nc;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->inst = topo_rec_new();
    if (e->inst == NULL) {
        free(e);
        return NULL;
    }
    e->key = *k;
    orc_key_str(k, e->keystr, sizeof(e->keystr));
    e->inst->key = *k;
    e->heap_idx = e->busy_idx = TOPO_NOWHERE;
    e->added_ms = orc_wall_ms();
    take_pending(t, e);
    b = hash_key(e->keystr, t->hash_size);
    e->hnext = t->hash[b];
    t->hash[b] = e;
    t->all[t->n++] = e;
    topo_due_push(t, e); /* due at once (next_due_mono 0) */
    t->version++;
    t->health_version++;
    t->stats.instances = t->n;
    ORC_LOG_I("+instance-added", "instance=%s", e->keystr);
    return e;
}

static void unlink_entry(struct disc_topo *t, struct entry *e)
{
    struct entry **pp = &t->hash[hash_key(e->keystr, t->hash_size)];

    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    for (size_t i = 0; i < t->n; i++) {
        if (t->all[i] == e) {
            t->all[i] = t->all[--t->n];
            break;
        }
    }
    topo_due_remove(t, e); /* a busy one stays on the busy list until its probe ends */
    if (e->queued) {       /* take it out of the queue */
        struct entry **qp = &t->qhead, *prev = NULL;
        while (*qp && *qp != e) {
            prev = *qp;
            qp = &(*qp)->qnext;
        }
        if (*qp) {
            *qp = e->qnext;
            if (t->qtail == e)
                t->qtail = prev;
            t->qlen--;
        }
        e->queued = false;
    }
    t->version++;
    t->health_version++;
    t->stats.instances = t->n;
}

void topo_entry_free(struct entry *e)
{
    if (e == NULL)
        return;
    disc_conn_close(e->conn);
    topo_rec_put(e->inst);
    free(e);
}

struct disc_instance *topo_entry_own(struct entry *e)
{
    struct disc_instance *copy;

    if (!topo_rec_shared(e->inst))
        return e->inst;
    copy = topo_rec_dup(e->inst);
    if (copy == NULL)
        return NULL;
    topo_rec_put(e->inst); /* the snapshots keep theirs */
    e->inst = copy;
    return copy;
}

void topo_entry_bury(struct disc_topo *t, struct entry *e)
{
    if (e->conn_counted) /* atomic: workers read it unlocked (keep_connection) */
        __atomic_store_n(&t->nconns, t->nconns - 1, __ATOMIC_RELAXED);
    e->conn_counted = false;
    if (t->ngraves == t->capgraves) {
        size_t nc = t->capgraves ? t->capgraves * 2 : 8;
        struct entry **ng = realloc(t->graveyard, nc * sizeof(*ng));
        if (ng == NULL) {
            topo_entry_free(e); /* out of memory: free here rather than leak */
            return;
        }
        t->graveyard = ng;
        t->capgraves = nc;
    }
    t->graveyard[t->ngraves++] = e;
    pthread_cond_signal(&t->sched_cond); /* the scheduler drains it */
}

void topo_graveyard_drain(struct disc_topo *t)
{
    struct entry **g;
    size_t n;

    pthread_mutex_lock(&t->lock);
    g = t->graveyard;
    n = t->ngraves;
    t->graveyard = NULL;
    t->ngraves = t->capgraves = 0;
    pthread_mutex_unlock(&t->lock);
    for (size_t i = 0; i < n; i++)
        topo_entry_free(g[i]);
    free(g);
}

/* ---- the due-time heap and the busy list ---- */

static void due_set(struct disc_topo *t, size_t i, struct entry *e)
{
    t->due[i] = e;
    e->heap_idx = i;
}

static void due_sift_up(struct disc_topo *t, size_t i)
{
    struct entry *e = t->due[i];

    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (t->due[p]->next_due_mono <= e->next_due_mono)
            break;
        due_set(t, i, t->due[p]);
        i = p;
    }
    due_set(t, i, e);
}

static void due_sift_down(struct disc_topo *t, size_t i)
{
    struct entry *e = t->due[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->ndue)
            break;
        if (c + 1 < t->ndue && t->due[c + 1]->next_due_mono < t->due[c]->next_due_mono)
            c++;
        if (e->next_due_mono <= t->due[c]->next_due_mono)
            break;
        due_set(t, i, t->due[c]);
        i = c;
    }
    due_set(t, i, e);
}

void topo_due_push(struct disc_topo *t, struct entry *e)
{
    if (e->heap_idx != TOPO_NOWHERE || t->ndue >= t->capsched)
        return;
    due_set(t, t->ndue++, e);
    due_sift_up(t, e->heap_idx);
}

void topo_due_remove(struct disc_topo *t, struct entry *e)
{
    size_t i = e->heap_idx;
    struct entry *last;

    if (i == TOPO_NOWHERE)
        return;
    e->heap_idx = TOPO_NOWHERE;
    last = t->due[--t->ndue];
    if (last == e)
        return;
    due_set(t, i, last);
    due_sift_up(t, i);
    due_sift_down(t, last->heap_idx);
}

void topo_busy_add(struct disc_topo *t, struct entry *e)
{
    if (e->busy_idx != TOPO_NOWHERE || t->nbusy >= t->capsched)
        return;
    e->busy_idx = t->nbusy;
    t->busy[t->nbusy++] = e;
}

void topo_busy_remove(struct disc_topo *t, struct entry *e)
{
    size_t i = e->busy_idx;
    struct entry *last;

    if (i == TOPO_NOWHERE)
        return;
    e->busy_idx = TOPO_NOWHERE;
    last = t->busy[--t->nbusy];
    if (last != e) {
        t->busy[i] = last;
        last->busy_idx = i;
    }
}

/* Moves a queued entry to the head of the queue (lock held). */
static void queue_promote(struct disc_topo *t, struct entry *e)
{
    struct entry *p = t->qhead;

    if (p == e)
        return;
    while (p != NULL && p->qnext != e)
        p = p->qnext;
    if (p == NULL)
        return;
    p->qnext = e->qnext;
    if (t->qtail == e)
        t->qtail = p;
    e->qnext = t->qhead;
    t->qhead = e;
}

void topo_enqueue(struct disc_topo *t, struct entry *e, bool urgent)
{
    /* Behind a backlog (thousands of instances), an urgent probe of an
     * entry already waiting must not wait its turn at the tail. */
    if (e->queued && urgent && !e->busy)
        queue_promote(t, e);
    if (e->queued || e->busy || e->forgotten)
        return;
    topo_due_remove(t, e);
    e->queued = true;
    e->qnext = NULL;
    if (t->qhead == NULL) {
        t->qhead = t->qtail = e;
    } else if (urgent) {
        e->qnext = t->qhead;
        t->qhead = e;
    } else {
        t->qtail->qnext = e;
        t->qtail = e;
    }
    t->qlen++;
    t->stats.queue_len = t->qlen;
    pthread_cond_signal(&t->work_cond);
    topo_maybe_spawn(t);
}

bool topo_ignored(const regex_t *res, size_t n, const char *keystr)
{
    for (size_t i = 0; i < n; i++)
        if (regexec(&res[i], keystr, 0, NULL, 0) == 0)
            return true;
    return false;
}

static int compile_all(const char *const *src,
                       size_t n,
                       regex_t **out,
                       const char *what,
                       char *errmsg,
                       size_t len)
{
    *out = NULL;
    if (n == 0)
        return 0;
    *out = calloc(n, sizeof(regex_t));
    if (*out == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (regcomp(&(*out)[i], src[i], REG_EXTENDED | REG_NOSUB) != 0) {
            for (size_t j = 0; j < i; j++)
                regfree(&(*out)[j]);
            free(*out);
            *out = NULL;
            orc_errf(errmsg, len, "%s: invalid regular expression '%s'", what, src[i]);
            return ORC_ECONFIG;
        }
    }
    return 0;
}

static void free_all(regex_t *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        regfree(&r[i]);
    free(r);
}

int disc_topo_new(const struct disc_topo_options *o,
                  struct disc_topo **out,
                  char *errmsg,
                  size_t len)
{
    struct disc_topo *t = calloc(1, sizeof(*t));
    int rc;

    if (t == NULL)
        return ORC_ENOMEM;
    t->o = *o;
    if (t->o.poll_ms <= 0)
        t->o.poll_ms = 5000;
    if (t->o.workers <= 0)
        t->o.workers = 8;
    if (t->o.flush_ms <= 0)
        t->o.flush_ms = 100;
    if (t->o.default_port <= 0)
        t->o.default_port = 3306;
    t->epfd = -1;
    t->stopfd = -1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->metrics_lock, NULL);
    orc_cond_init(&t->work_cond);
    orc_cond_init(&t->sched_cond);
    orc_cond_init(&t->done_cond);
    orc_cond_init(&t->flush_cond);
    t->hash_size = 64;
    t->hash = calloc(t->hash_size, sizeof(*t->hash));
    if (t->hash == NULL) {
        disc_topo_free(t);
        return ORC_ENOMEM;
    }
    rc = compile_all(o->ignore, o->nignore, &t->ignore, "DiscoveryIgnoreHostnameFilters", errmsg,
                     len);
    if (rc == 0)
        rc = compile_all(o->ignore_replica, o->nignore_replica, &t->ignore_replica,
                         "DiscoveryIgnoreReplicaHostnameFilters", errmsg, len);
    if (rc == 0)
        rc = compile_all(o->ignore_master, o->nignore_master, &t->ignore_master,
                         "DiscoveryIgnoreMasterHostnameFilters", errmsg, len);
    if (rc == 0)
        rc = compile_all(o->alias_re, o->nalias, &t->alias_re, "ClusterNameToAlias", errmsg, len);
    if (rc != 0) {
        disc_topo_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int disc_topo_start(struct disc_topo *t, char *errmsg, size_t len)
{
    int rc;

    if (t->o.be != NULL) {
        rc = topo_store_load(t, errmsg, len);
        if (rc != 0) {
            orc_errprefix(errmsg, len, "load the topology");
            return rc;
        }
    }
    return topo_threads_start(t, errmsg, len); /* sets started under the lock */
}

void disc_topo_stop(struct disc_topo *t)
{
    if (t->started)
        topo_threads_stop(t);
    t->started = false;
}

void disc_topo_free(struct disc_topo *t)
{
    if (t == NULL)
        return;
    disc_topo_stop(t);
    topo_graveyard_drain(t);
    for (size_t i = 0; i < t->n; i++)
        topo_entry_free(t->all[i]);
    if (t->snap)
        disc_snapshot_put(t->snap);
    free_all(t->ignore, t->o.nignore);
    free_all(t->ignore_replica, t->o.nignore_replica);
    free_all(t->ignore_master, t->o.nignore_master);
    free_all(t->alias_re, t->o.nalias);
    free(t->all);
    free(t->hash);
    free(t->due);
    free(t->busy);
    free(t->forgot);
    free(t->forgot_until_mono);
    free(t->deletes);
    free(t->aliases);
    free(t->pending);
    free(t->worker_ids);
    topo_metrics_release(t);
    pthread_mutex_destroy(&t->metrics_lock);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->work_cond);
    pthread_cond_destroy(&t->sched_cond);
    pthread_cond_destroy(&t->done_cond);
    pthread_cond_destroy(&t->flush_cond);
    free(t);
}

/* Waits (lock held) until e is not busy; false on timeout. */
static bool wait_not_busy(struct disc_topo *t, struct entry *e, int64_t timeout_ms)
{
    int64_t deadline = orc_mono_ms() + timeout_ms;

    while (e->busy) {
        struct timespec ts;
        int64_t left = deadline - orc_mono_ms();
        if (left <= 0)
            return false;
        orc_deadline(&ts, left);
        pthread_cond_timedwait(&t->done_cond, &t->lock, &ts);
    }
    return true;
}

int disc_topo_discover(struct disc_topo *t,
                       const struct orc_key *key,
                       bool wait,
                       struct disc_instance *out,
                       char *errmsg,
                       size_t len)
{
    struct entry *e;
    int64_t timeout_ms =
        1000LL * (t->o.conn.connect_timeout_s + 2 * t->o.conn.read_timeout_s) + 1000;
    int rc = 0;

    if (!orc_key_valid(key) || !orc_host_safe(key->host)) {
        orc_errf(errmsg, len, "invalid instance key '%s:%d'", key->host, key->port);
        return ORC_EINVAL;
    }
    pthread_mutex_lock(&t->lock);
    e = topo_add(t, key);
    if (e == NULL) {
        pthread_mutex_unlock(&t->lock);
        return ORC_ENOMEM;
    }
    e->forgotten = false;
    if (!wait) {
        topo_enqueue(t, e, true);
        pthread_mutex_unlock(&t->lock);
        return 0;
    }
    /* Pinned: a forget meanwhile unlinks e but leaves the freeing to us. */
    e->pins++;
    if (e->busy) { /* a worker is probing it: wait for that result */
        if (!wait_not_busy(t, e, timeout_ms)) {
            orc_errf(errmsg, len, "probe of '%s' still running after %lld ms", e->keystr,
                     (long long)timeout_ms);
            rc = ORC_ETIMEDOUT;
        } else if (e->last_seen_ms < e->last_checked_ms) {
            orc_errf(errmsg, len, "instance '%s' could not be probed", e->keystr);
            rc = ORC_EIO;
        }
    } else {
        topo_mark_busy(t, e);
        pthread_mutex_unlock(&t->lock);
        rc = topo_probe_entry(t, e, errmsg, len);
        pthread_mutex_lock(&t->lock);
    }
    if (rc == 0 && e->forgotten) {
        orc_errf(errmsg, len, "instance '%s' was forgotten meanwhile", e->keystr);
        rc = ORC_ENOTFOUND;
    }
    if (rc == 0 && out != NULL && disc_instance_copy(out, e->inst) != 0)
        rc = ORC_ENOMEM;
    e->pins--;
    if (e->forgotten && e->pins == 0 && !e->busy)
        topo_entry_bury(t, e);
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void disc_topo_probe_soon(struct disc_topo *t, const struct orc_key *key)
{
    struct entry *e;

    pthread_mutex_lock(&t->lock);
    e = topo_find(t, key);
    if (e != NULL)
        topo_enqueue(t, e, true);
    pthread_mutex_unlock(&t->lock);
}

static void remember_forgotten(struct disc_topo *t, const struct orc_key *k)
{
    struct orc_key *nk = realloc(t->forgot, (t->nforgot + 1) * sizeof(*nk));
    int64_t *nu;

    if (nk == NULL)
        return;
    t->forgot = nk;
    nu = realloc(t->forgot_until_mono, (t->nforgot + 1) * sizeof(*nu));
    if (nu == NULL)
        return;
    t->forgot_until_mono = nu;
    t->forgot[t->nforgot] = *k;
    t->forgot_until_mono[t->nforgot++] = orc_mono_ms() + 3 * t->o.poll_ms;
}

/* Removes e (lock held). A busy entry is freed by its prober. */
static void forget_entry(struct disc_topo *t, struct entry *e)
{
    if (t->ndeletes == t->capdeletes) {
        size_t nc = t->capdeletes ? t->capdeletes * 2 : 8;
        struct orc_key *nd = realloc(t->deletes, nc * sizeof(*nd));
        if (nd != NULL) {
            t->deletes = nd;
            t->capdeletes = nc;
        }
    }
    if (t->ndeletes < t->capdeletes)
        t->deletes[t->ndeletes++] = e->key;
    remember_forgotten(t, &e->key);
    topo_unwatch(t, e);
    ORC_LOG_N("+instance-forgotten", "instance=%s", e->keystr);
    unlink_entry(t, e);
    e->forgotten = true;
    if (!e->busy && e->pins == 0) /* else its prober or last waiter buries it */
        topo_entry_bury(t, e);
    pthread_cond_signal(&t->flush_cond);
}

int disc_topo_forget(struct disc_topo *t, const struct orc_key *key)
{
    struct entry *e;

    pthread_mutex_lock(&t->lock);
    e = topo_find(t, key);
    if (e != NULL)
        forget_entry(t, e);
    pthread_mutex_unlock(&t->lock);
    return e ? 0 : ORC_ENOTFOUND;
}

int disc_topo_forget_cluster(struct disc_topo *t, const char *cluster)
{
    struct disc_snapshot *s = disc_topo_snapshot(t);
    int c = disc_snapshot_cluster(s, cluster);
    int count = 0;

    if (c < 0) {
        disc_snapshot_put(s);
        return ORC_ENOTFOUND;
    }
    pthread_mutex_lock(&t->lock);
    for (size_t i = s->clusters[c].first; i < s->clusters[c].first + s->clusters[c].count; i++) {
        struct entry *e = topo_find(t, &s->instances[i]->key);
        if (e != NULL) {
            forget_entry(t, e);
            count++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    disc_snapshot_put(s);
    return count;
}

/* ---- annotations ---- */

/* The pending annotations of an unknown instance (lock held), or NULL. */
static struct disc_annot *annot_pending(struct disc_topo *t, const struct orc_key *k)
{
    struct pending_annot *p = pending_of(t, k, true);

    return p ? &p->annot : NULL;
}

int disc_topo_set_downtime(struct disc_topo *t,
                           const struct orc_key *key,
                           int64_t until_s,
                           const char *owner,
                           const char *reason)
{
    struct entry *e;

    struct disc_annot *a;

    pthread_mutex_lock(&t->lock);
    e = topo_find(t, key);
    a = e ? &e->annot : annot_pending(t, key);
    if (a != NULL) {
        a->downtimed = true;
        a->downtime_begin_s = orc_wall_s();
        a->downtime_end_s = until_s;
        orc_strlcpy(a->downtime_owner, owner, sizeof(a->downtime_owner));
        orc_strlcpy(a->downtime_reason, reason, sizeof(a->downtime_reason));
        t->version++;
        t->health_version++;
    }
    pthread_mutex_unlock(&t->lock);
    return a ? 0 : ORC_ENOTFOUND; /* unknown, and too many pending */
}

int disc_topo_end_downtime(struct disc_topo *t, const struct orc_key *key)
{
    struct entry *e;
    bool was = false;

    struct pending_annot *p = NULL;
    struct disc_annot *a;

    pthread_mutex_lock(&t->lock);
    e = topo_find(t, key);
    if (e == NULL)
        p = pending_of(t, key, false);
    a = e ? &e->annot : p ? &p->annot : NULL;
    if (a != NULL) {
        was = a->downtimed;
        a->downtimed = false;
        a->downtime_end_s = 0;
        a->downtime_owner[0] = a->downtime_reason[0] = '\0';
        t->version++;
        t->health_version++;
    }
    pthread_mutex_unlock(&t->lock);
    if (a == NULL)
        return ORC_ENOTFOUND;
    return was ? 0 : ORC_ESTATE;
}

int disc_topo_set_maintenance(struct disc_topo *t,
                              const struct orc_key *key,
                              bool on,
                              const char *owner,
                              const char *reason)
{
    struct entry *e;
    int rc = 0;

    (void)owner;
    (void)reason;
    struct disc_annot *a;

    pthread_mutex_lock(&t->lock);
    e = topo_find(t, key);
    a = e ? &e->annot : annot_pending(t, key);
    if (a == NULL) {
        rc = ORC_ENOTFOUND; /* unknown, and too many pending */
    } else if (a->in_maintenance == on) {
        rc = on ? ORC_EEXIST : ORC_ESTATE;
    } else {
        a->in_maintenance = on;
        a->maintenance_end_s = on ? orc_wall_s() + DISC_MAINTENANCE_S : 0;
        t->version++;
        t->health_version++;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int disc_topo_set_promotion_rule(struct disc_topo *t,
                                 const struct orc_key *key,
                                 const char *rule,
                                 int64_t until_s)
{
    struct entry *e;

    struct pending_annot *p = NULL;

    pthread_mutex_lock(&t->lock);
    e = topo_find(t, key);
    if (e != NULL) {
        orc_strlcpy(e->annot.promotion_rule, rule, sizeof(e->annot.promotion_rule));
        e->rule_until_s = until_s;
        t->version++;
        t->health_version++;
    } else if ((p = pending_of(t, key, true)) != NULL) {
        orc_strlcpy(p->annot.promotion_rule, rule, sizeof(p->annot.promotion_rule));
        p->rule_until_s = until_s;
    }
    pthread_mutex_unlock(&t->lock);
    return (e || p) ? 0 : ORC_ENOTFOUND; /* unknown, and too many pending */
}

int disc_topo_set_cluster_alias(struct disc_topo *t, const char *cluster, const char *alias)
{
    size_t i;

    pthread_mutex_lock(&t->lock);
    for (i = 0; i < t->naliases; i++)
        if (strcmp(t->aliases[i].cluster, cluster) == 0)
            break;
    if (i == t->naliases) {
        struct alias_entry *na = realloc(t->aliases, (t->naliases + 1) * sizeof(*na));
        if (na == NULL) {
            pthread_mutex_unlock(&t->lock);
            return ORC_ENOMEM;
        }
        t->aliases = na;
        orc_strlcpy(t->aliases[i].cluster, cluster, sizeof(t->aliases[i].cluster));
        t->naliases++;
    }
    orc_strlcpy(t->aliases[i].alias, alias, sizeof(t->aliases[i].alias));
    t->version++;
    t->health_version++;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

void disc_topo_stats(struct disc_topo *t, struct disc_topo_stats *out)
{
    pthread_mutex_lock(&t->lock);
    *out = t->stats;
    out->queue_len = t->qlen;
    out->workers = (uint64_t)t->nworkers;
    out->instances = t->n;
    pthread_mutex_unlock(&t->lock);
}
