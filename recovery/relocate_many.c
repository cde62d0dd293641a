/*
 * relocate_many: operations on many replicas at once, as orchestrator's
 * relocate-replicas, move-replicas-gtid, move-up-replicas, repoint-replicas,
 * take-siblings, regroup-replicas(-gtid), make-co-master, make-master and
 * make-local-master.
 *
 * A run is an operation of the engine (op.c): prepare (the snapshot gives
 * the structure: which replicas, filtered by the pattern), check (fresh
 * readings; refuses before anything is touched), act, then one audit entry
 * for the whole run. Acting on the replicas is a list of items handed to a
 * small pool of threads, at most MaxConcurrentReplicaOperations at a time.
 * Each item is its own operation: a move of relocate.c (rec_planned_run:
 * its checks, maintenance and audit) where the replica still replicates, or
 * a GTID repoint that tolerates a dead master (make-master,
 * make-local-master). Items fail alone: their errors are collected, the
 * moved replicas are the answer.
 *
 * Threads: the caller's (an HTTP thread, never the loop thread) plus the
 * pool's workers, which share the run read-only and write only their own
 * item.
 */
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/disc.h"
#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/planned.h"

#define REFRESH_MS 3000   /* wait for the snapshot to show the result */
#define MAINTENANCE_S 600 /* bound of the maintenance held while acting */
#define MAX_WORKERS 64    /* whatever MaxConcurrentReplicaOperations says */

enum item_how {
    ITEM_PLANNED, /* rec_planned_run(op) */
    ITEM_GTID,    /* repoint with GTID, the replica's master may be dead */
};

/* One replica to move. Owned by the worker that took it. */
struct item {
    struct orc_key key;
    struct orc_key dest;
    int rc;
    char err[ORC_ERRMSG_SIZE];
};

struct many {
    struct rec_env *env;
    const struct rec_many_request *req;
    struct rec_many_result *out;
    struct rec_op run;
    struct disc_snapshot *snap;
    struct rec_session *s;
    char k[ORC_KEY_STRLEN], d[ORC_KEY_STRLEN], cluster[ORC_KEY_STRLEN];
    struct disc_instance in;    /* fresh: the instance */
    struct disc_instance other; /* fresh: its master (co-master), grandparent (local master) */
    struct orc_key dest;        /* where the replicas go */
    enum item_how how;
    enum rec_planned_op planned;
    bool gtid_only;
    size_t bound; /* workers */
    struct item *items;
    size_t nitems;
    size_t lost; /* regroup: replicas left where they were */
};

static const char *const many_names[] = {
    [REC_MANY_RELOCATE] = "relocate-replicas",
    [REC_MANY_MOVE_GTID] = "move-replicas-gtid",
    [REC_MANY_MOVE_UP] = "move-up-replicas",
    [REC_MANY_REPOINT] = "repoint-replicas",
    [REC_MANY_TAKE_SIBLINGS] = "take-siblings",
    [REC_MANY_REGROUP] = "regroup-replicas",
    [REC_MANY_REGROUP_GTID] = "regroup-replicas-gtid",
    [REC_MANY_MAKE_CO_MASTER] = "make-co-master",
    [REC_MANY_MAKE_MASTER] = "make-master",
    [REC_MANY_MAKE_LOCAL_MASTER] = "make-local-master",
};

const char *rec_many_op_name(enum rec_many_op op)
{
    if ((size_t)op >= ORC_ARRAY_LEN(many_names) || many_names[op] == NULL)
        return "unknown";
    return many_names[op];
}

void rec_many_result_init(struct rec_many_result *r)
{
    memset(r, 0, sizeof(*r));
    orc_buf_init(&r->errors);
}

void rec_many_result_release(struct rec_many_result *r)
{
    disc_keylist_release(&r->moved);
    orc_buf_release(&r->errors);
}

/* ======================================================================
 * Items and the pool
 * ====================================================================== */

static int add_item(struct many *x, const struct orc_key *k, const struct orc_key *dest)
{
    struct item *v = realloc(x->items, (x->nitems + 1) * sizeof(*v));

    if (v == NULL)
        return ORC_ENOMEM;
    x->items = v;
    memset(&v[x->nitems], 0, sizeof(v[0]));
    v[x->nitems].key = *k;
    v[x->nitems].dest = *dest;
    x->nitems++;
    return 0;
}

/* A GTID repoint of one replica whose master may be dead: fresh readings,
 * CanReplicateFrom, maintenance, CHANGE MASTER with GTID, START SLAVE. */
static int gtid_repoint(struct many *x, struct item *it, char *errmsg, size_t len)
{
    struct rec_session_options so;
    struct rec_session *s = NULL;
    struct disc_instance r, d;
    struct rec_move_limits lim = {x->env->cfg->ReasonableMaintenanceReplicationLagSeconds,
                                  x->env->cfg->VerifyReplicationFilters};
    char why[ORC_ERRMSG_SIZE], ks[ORC_KEY_STRLEN], ds[ORC_KEY_STRLEN];
    struct rec_op op;
    int rc;

    orc_key_str(&it->key, ks, sizeof(ks));
    orc_key_str(&it->dest, ds, sizeof(ds));
    disc_instance_init(&r);
    disc_instance_init(&d);
    rc = rec_op_init(&op, x->env, "relocate-many", NULL);
    if (rc == 0)
        rc = rec_op_enter(&op, "repoint", errmsg, len);
    rec_env_session_options(x->env, &so);
    if (rc == 0)
        rc = rec_session_new(&so, &s);
    if (rc == 0)
        rc = rec_read(s, &it->key, &r, errmsg, len);
    if (rc == 0)
        rc = rec_read(s, &it->dest, &d, errmsg, len);
    if (rc == 0 && !rec_can_replicate_from(&r, &d, &lim, why, sizeof(why))) {
        orc_errf(errmsg, len, "CanReplicateFrom refuses: %s", why);
        rc = ORC_ESTATE;
    }
    if (rc == 0 && !(rec_uses_gtid(&r) && rec_serves_gtid(&d) && rec_gtid_compatible(&r, &d))) {
        orc_errf(errmsg, len, "requires GTID (file:pos relocation is not supported)");
        rc = ORC_ESTATE;
    }
    if (rc == 0)
        rc = rec_op_maintenance_begin(&op, &it->key, rec_many_op_name(x->req->op), MAINTENANCE_S,
                                      errmsg, len);
    if (rc == 0)
        rc = rec_change_master_gtid(s, &r, &it->dest, true, errmsg, len);
    rec_op_maintenance_end(&op);
    if (rc == 0)
        rec_op_audit(x->env, "repoint", &it->key, x->cluster,
                     "replica %s repointed below %s (%s); previous master: %s:%d; GTID", ks, ds,
                     rec_many_op_name(x->req->op), r.master_key.host, r.master_key.port);
    else
        orc_errprefix(errmsg, len, "%s", ks);
    rec_op_release(&op);
    rec_session_free(s);
    disc_instance_release(&r);
    disc_instance_release(&d);
    return rc;
}

static void move_item(struct many *x, struct item *it)
{
    struct rec_planned_request q;
    struct rec_planned_result res;

    if (it->rc != 0)
        return; /* refused by the check */
    if (rec_op_lost_leadership(&x->run, it->err, sizeof(it->err))) {
        it->rc = ORC_EPERM;
        return;
    }
    if (x->how == ITEM_GTID) {
        it->rc = gtid_repoint(x, it, it->err, sizeof(it->err));
        return;
    }
    memset(&q, 0, sizeof(q));
    q.op = x->planned;
    q.key = it->key;
    q.target = it->dest;
    q.user = x->req->user;
    it->rc = rec_planned_run(x->env, &q, &res, it->err, sizeof(it->err));
}

struct pool {
    struct many *x;
    pthread_mutex_t lock;
    size_t next; /* guarded by lock */
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;

    for (;;) {
        size_t i;
        pthread_mutex_lock(&p->lock);
        i = p->next++;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->x->nitems)
            return NULL;
        move_item(p->x, &p->x->items[i]);
    }
}

/* Moves every item, at most x->bound at a time. A thread that cannot be
 * started only lowers the parallelism; with none, this thread works. */
static void run_pool(struct many *x)
{
    pthread_t t[MAX_WORKERS];
    struct pool p = {.x = x, .next = 0};
    size_t n = x->bound < x->nitems ? x->bound : x->nitems, started = 0;

    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    pthread_mutex_init(&p.lock, NULL);
    for (; started < n; started++)
        if (pthread_create(&t[started], NULL, pool_worker, &p) != 0)
            break;
    ORC_LOG_N("+relocate-many-pool", "uid=%s op=%s replicas=%zu workers=%zu", x->run.uid,
              rec_many_op_name(x->req->op), x->nitems, started);
    if (started == 0)
        pool_worker(&p);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&p.lock);
}

/* The items' outcome into the result: moved keys, errors. */
static void collect(struct many *x)
{
    for (size_t i = 0; i < x->nitems; i++) {
        if (x->items[i].rc == 0) {
            disc_keylist_add(&x->out->moved, &x->items[i].key);
            rec_op_step(&x->run, "moved %s:%d below %s:%d", x->items[i].key.host,
                        x->items[i].key.port, x->items[i].dest.host, x->items[i].dest.port);
        } else {
            orc_buf_printf(&x->out->errors, "%s\n", x->items[i].err);
            x->out->nerrors++;
            rec_op_step(&x->run, "failed: %s", x->items[i].err);
        }
    }
    x->out->considered = x->nitems;
}

/* ======================================================================
 * Prepare: the structure from the snapshot
 * ====================================================================== */

static const struct disc_instance *snap_get(const struct many *x, const struct orc_key *k)
{
    int i = disc_snapshot_find(x->snap, k);

    return i >= 0 ? x->snap->instances[i] : NULL;
}

/* The replicas of `of` in the snapshot that the pattern matches, except
 * `but` (may be NULL), as items going to dest. */
static int add_replicas(struct many *x,
                        const struct orc_key *of,
                        const struct orc_key *but,
                        const struct orc_key *dest,
                        char *errmsg,
                        size_t len)
{
    const char *pat = x->req->pattern;
    regex_t re;
    int rc = 0;

    if (pat != NULL && pat[0] != '\0' && regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
        orc_errf(errmsg, len, "bad pattern '%s'", pat);
        return ORC_EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < x->snap->n; i++) {
        const struct disc_instance *r = x->snap->instances[i];
        char ks[ORC_KEY_STRLEN];
        if (!orc_key_eq(&r->master_key, of) || (but != NULL && orc_key_eq(&r->key, but)) ||
            orc_key_eq(&r->key, of))
            continue;
        orc_key_str(&r->key, ks, sizeof(ks));
        if (pat != NULL && pat[0] != '\0' && regexec(&re, ks, 0, NULL, 0) != 0)
            continue;
        rc = add_item(x, &r->key, dest);
    }
    if (pat != NULL && pat[0] != '\0')
        regfree(&re);
    return rc;
}

static int prepare(struct many *x, char *errmsg, size_t len)
{
    struct rec_session_options so;
    const struct disc_instance *in;
    int rc;

    int i;

    if ((rc = rec_snapshot_find(x->env, &x->req->key, &x->snap, &i, errmsg, len)) != 0)
        return rc;
    in = x->snap->instances[i];
    orc_strlcpy(x->cluster, in->cluster_name, sizeof(x->cluster));
    if (x->req->target.host[0] != '\0' && snap_get(x, &x->req->target) == NULL) {
        orc_errf(errmsg, len, "instance '%s' not found", x->d);
        return ORC_ENOTFOUND;
    }
    rec_env_session_options(x->env, &so);
    rc = rec_session_new(&so, &x->s);
    if (rc == 0)
        rc = rec_read(x->s, &x->req->key, &x->in, errmsg, len);
    if (rc != 0)
        orc_errprefix(errmsg, len, "cannot read %s", x->k);
    return rc;
}

/* ======================================================================
 * Checks, one per operation (nothing touched yet)
 * ====================================================================== */

static int need_replica(struct many *x, char *errmsg, size_t len)
{
    if (disc_instance_is_replica(&x->in))
        return 0;
    orc_errf(errmsg, len, "%s is not a replica", x->k);
    return ORC_ESTATE;
}

/* No replica to move may be dest or above it: that would be a loop. */
static int check_no_loop(struct many *x, char *errmsg, size_t len)
{
    char ks[ORC_KEY_STRLEN];

    for (size_t i = 0; i < x->nitems; i++) {
        if (rec_is_self_or_below(x->snap->instances, x->snap->n, &x->items[i].key, &x->dest)) {
            orc_errf(errmsg, len, "%s is a descendant of %s", x->d,
                     orc_key_str(&x->items[i].key, ks, sizeof(ks)));
            return ORC_EINVAL;
        }
    }
    return 0;
}

/* relocate-replicas, move-replicas-gtid, take-siblings: the replicas of
 * `of` below x->dest. */
static int check_relocate(struct many *x, const struct orc_key *of, char *errmsg, size_t len)
{
    int rc = add_replicas(x, of, &x->dest, &x->dest, errmsg, len);

    x->planned = REC_OP_RELOCATE;
    if (rc == 0)
        rc = check_no_loop(x, errmsg, len);
    /* move-replicas-gtid: a replica without GTID fails alone, as in
     * orchestrator (the others still move) */
    for (size_t i = 0; rc == 0 && x->gtid_only && i < x->nitems; i++) {
        const struct disc_instance *r = snap_get(x, &x->items[i].key);
        if (r != NULL && !rec_uses_gtid(r)) {
            x->items[i].rc = ORC_ESTATE;
            snprintf(x->items[i].err, sizeof(x->items[i].err), "%s:%d does not replicate with GTID",
                     r->key.host, r->key.port);
        }
    }
    return rc;
}

static int check_move_up(struct many *x, char *errmsg, size_t len)
{
    int rc = need_replica(x, errmsg, len);

    if (rc != 0)
        return rc;
    x->dest = x->in.master_key;
    orc_key_str(&x->dest, x->d, sizeof(x->d));
    x->planned = REC_OP_MOVE_UP;
    rc = add_replicas(x, &x->req->key, NULL, &x->dest, errmsg, len);
    /* file:pos move-ups each stop and restart the instance's replication:
     * they go one at a time */
    for (size_t i = 0; rc == 0 && i < x->nitems; i++) {
        const struct disc_instance *r = snap_get(x, &x->items[i].key);
        if (r == NULL || !rec_uses_gtid(r))
            x->bound = 1;
    }
    return rc;
}

static int check_repoint(struct many *x, char *errmsg, size_t len)
{
    x->dest = x->req->target.host[0] != '\0' ? x->req->target : x->req->key;
    orc_key_str(&x->dest, x->d, sizeof(x->d));
    x->planned = REC_OP_REPOINT;
    return add_replicas(x, &x->req->key, &x->dest, &x->dest, errmsg, len);
}

size_t rec_many_pick_candidate(const struct disc_instance *v, size_t n, bool gtid_only)
{
    size_t best = SIZE_MAX;

    for (size_t i = 0; i < n; i++) {
        bool ok = v[i].key.host[0] != '\0' && v[i].log_bin && v[i].log_replica_updates &&
                  strcmp(v[i].promotion_rule, "must_not") != 0 &&
                  (!gtid_only || rec_uses_gtid(&v[i]));
        if (ok && (best == SIZE_MAX || rec_coords_cmp(&v[i].exec_coords, &v[best].exec_coords) > 0))
            best = i;
    }
    return best;
}

/* The most advanced replica that may take the others (orchestrator's
 * candidate: binary logs with log_slave_updates, not banned); the others
 * that can replicate from it and are not ahead of it become items. */
static int check_regroup(struct many *x, char *errmsg, size_t len)
{
    struct rec_move_limits lim = {x->env->cfg->ReasonableMaintenanceReplicationLagSeconds,
                                  x->env->cfg->VerifyReplicationFilters};
    struct disc_instance *v;
    struct item *all = NULL;
    size_t n, best = SIZE_MAX;
    char why[ORC_ERRMSG_SIZE];
    int rc = add_replicas(x, &x->req->key, NULL, &x->req->key, errmsg, len);

    n = x->nitems;
    if (rc != 0)
        return rc;
    if (n == 0) {
        orc_errf(errmsg, len, "no replicas found for %s", x->k);
        return ORC_ESTATE;
    }
    v = calloc(n, sizeof(*v));
    if (v == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        disc_instance_init(&v[i]);
        if (rec_read(x->s, &x->items[i].key, &v[i], why, sizeof(why)) != 0)
            v[i].key.host[0] = '\0'; /* unreadable: lost */
    }
    best = rec_many_pick_candidate(v, n, x->gtid_only);
    if (best == SIZE_MAX) {
        orc_errf(errmsg, len, "no candidate replica found among the %zu replicas of %s", n, x->k);
        rc = ORC_ESTATE;
    } else {
        x->dest = v[best].key;
        orc_key_str(&x->dest, x->d, sizeof(x->d));
        x->out->below = x->dest;
        all = x->items;
        x->items = NULL;
        x->nitems = 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i == best)
            continue;
        if (v[i].key.host[0] == '\0' ||
            !rec_can_replicate_from(&v[i], &v[best], &lim, why, sizeof(why)) ||
            rec_coords_cmp(&v[i].exec_coords, &v[best].exec_coords) > 0 ||
            (x->gtid_only && !rec_uses_gtid(&v[i])))
            x->lost++;
        else
            rc = add_item(x, &v[i].key, &x->dest);
    }
    x->planned = REC_OP_RELOCATE;
    for (size_t i = 0; i < n; i++)
        disc_instance_release(&v[i]);
    free(v);
    free(all);
    return rc;
}

static int check_co_master(struct many *x, char *errmsg, size_t len)
{
    struct rec_move_limits lim = {x->env->cfg->ReasonableMaintenanceReplicationLagSeconds,
                                  x->env->cfg->VerifyReplicationFilters};
    char why[ORC_ERRMSG_SIZE], mk[ORC_KEY_STRLEN];
    int rc;

    if (!rec_can_move(&x->in, &lim, why, sizeof(why))) {
        orc_errf(errmsg, len, "%s", why);
        return ORC_ESTATE;
    }
    orc_key_str(&x->in.master_key, mk, sizeof(mk));
    rc = rec_read(x->s, &x->in.master_key, &x->other, errmsg, len);
    if (rc != 0) {
        orc_errprefix(errmsg, len, "cannot read master %s", mk);
        return ORC_ESTATE;
    }
    if (orc_key_eq(&x->other.master_key, &x->in.key)) {
        orc_errf(errmsg, len, "instance %s is already co master of %s", x->k, mk);
        return ORC_ESTATE;
    }
    /* Breaking an existing co-master pair is not supported. */
    if (x->other.master_key.host[0] != '\0' && snap_get(x, &x->other.master_key) != NULL) {
        orc_errf(errmsg, len, "%s is not a real master; it replicates from: %s:%d", mk,
                 x->other.master_key.host, x->other.master_key.port);
        return ORC_ESTATE;
    }
    if (!x->in.read_only) {
        orc_errf(errmsg, len,
                 "instance %s is not read-only; first make it read-only before making it "
                 "co-master",
                 x->k);
        return ORC_ESTATE;
    }
    if (!rec_can_replicate_from(&x->other, &x->in, &lim, why, sizeof(why))) {
        orc_errf(errmsg, len, "CanReplicateFrom refuses: %s", why);
        return ORC_ESTATE;
    }
    if (!(rec_serves_gtid(&x->in) && rec_gtid_compatible(&x->other, &x->in) &&
          (rec_uses_gtid(&x->in) || x->other.ver.flavor == DISC_FLAVOR_MARIADB))) {
        orc_errf(errmsg, len, "requires GTID (file:pos relocation is not supported)");
        return ORC_ESTATE;
    }
    x->dest = x->in.key;
    return 0;
}

/* make-master / make-local-master: the instance has applied all it
 * received, and no sibling (readable now) has applied more. */
static int check_most_advanced(struct many *x, char *errmsg, size_t len)
{
    struct disc_instance sib;
    char why[ORC_ERRMSG_SIZE];
    int rc = 0;

    if (rec_coords_cmp(&x->in.exec_coords, &x->in.read_coords) != 0) {
        orc_errf(errmsg, len, "instance's SQL thread must be up-to-date with I/O thread for %s",
                 x->k);
        return ORC_ESTATE;
    }
    for (size_t i = 0; rc == 0 && i < x->nitems; i++) {
        disc_instance_init(&sib);
        if (rec_read(x->s, &x->items[i].key, &sib, why, sizeof(why)) == 0 &&
            rec_coords_cmp(&x->in.exec_coords, &sib.exec_coords) < 0) {
            orc_errf(errmsg, len, "instance %s has more advanced sibling: %s:%d", x->k,
                     sib.key.host, sib.key.port);
            rc = ORC_ESTATE;
        }
        disc_instance_release(&sib);
    }
    return rc;
}

static int check_make_master(struct many *x, char *errmsg, size_t len)
{
    char why[ORC_ERRMSG_SIZE], mk[ORC_KEY_STRLEN];
    int rc = need_replica(x, errmsg, len);

    if (rc != 0)
        return rc;
    orc_key_str(&x->in.master_key, mk, sizeof(mk));
    if (rec_read(x->s, &x->in.master_key, &x->other, why, sizeof(why)) == 0) {
        orc_errf(errmsg, len, "instance's master %s seems to be %s", mk,
                 disc_instance_is_replica(&x->other) ? "replicating" : "accessible");
        return ORC_ESTATE;
    }
    x->dest = x->in.key;
    x->how = ITEM_GTID;
    rc = add_replicas(x, &x->in.master_key, &x->in.key, &x->dest, errmsg, len);
    return rc == 0 ? check_most_advanced(x, errmsg, len) : rc;
}

static int check_local_master(struct many *x, char *errmsg, size_t len)
{
    struct rec_move_limits lim = {x->env->cfg->ReasonableMaintenanceReplicationLagSeconds,
                                  x->env->cfg->VerifyReplicationFilters};
    const struct disc_instance *m;
    char why[ORC_ERRMSG_SIZE], gk[ORC_KEY_STRLEN];
    int rc = need_replica(x, errmsg, len);

    if (rc != 0)
        return rc;
    m = snap_get(x, &x->in.master_key);
    if (m == NULL || m->master_key.host[0] == '\0') {
        orc_errf(errmsg, len, "%s's master %s:%d has no known master", x->k, x->in.master_key.host,
                 x->in.master_key.port);
        return ORC_ESTATE;
    }
    orc_key_str(&m->master_key, gk, sizeof(gk));
    if (rec_read(x->s, &m->master_key, &x->other, errmsg, len) != 0) {
        orc_errprefix(errmsg, len, "cannot read grandparent %s", gk);
        return ORC_ESTATE;
    }
    if (!rec_can_replicate_from(&x->in, &x->other, &lim, why, sizeof(why))) {
        orc_errf(errmsg, len, "CanReplicateFrom refuses: %s", why);
        return ORC_ESTATE;
    }
    if (!(rec_uses_gtid(&x->in) && rec_serves_gtid(&x->other) &&
          rec_gtid_compatible(&x->in, &x->other))) {
        orc_errf(errmsg, len, "requires GTID (file:pos relocation is not supported)");
        return ORC_ESTATE;
    }
    x->dest = x->in.key;
    x->how = ITEM_GTID;
    rc = add_replicas(x, &x->in.master_key, &x->in.key, &x->dest, errmsg, len);
    return rc == 0 ? check_most_advanced(x, errmsg, len) : rc;
}

static int check(struct many *x, char *errmsg, size_t len)
{
    switch (x->req->op) {
        case REC_MANY_RELOCATE:
        case REC_MANY_MOVE_GTID:
            x->gtid_only = x->req->op == REC_MANY_MOVE_GTID;
            x->dest = x->req->target;
            return check_relocate(x, &x->req->key, errmsg, len);
        case REC_MANY_TAKE_SIBLINGS: {
            int rc = need_replica(x, errmsg, len);
            x->dest = x->req->key;
            orc_key_str(&x->dest, x->d, sizeof(x->d));
            return rc == 0 ? check_relocate(x, &x->in.master_key, errmsg, len) : rc;
        }
        case REC_MANY_MOVE_UP:
            return check_move_up(x, errmsg, len);
        case REC_MANY_REPOINT:
            return check_repoint(x, errmsg, len);
        case REC_MANY_REGROUP:
        case REC_MANY_REGROUP_GTID:
            x->gtid_only = x->req->op == REC_MANY_REGROUP_GTID;
            return check_regroup(x, errmsg, len);
        case REC_MANY_MAKE_CO_MASTER:
            return check_co_master(x, errmsg, len);
        case REC_MANY_MAKE_MASTER:
            return check_make_master(x, errmsg, len);
        case REC_MANY_MAKE_LOCAL_MASTER:
            return check_local_master(x, errmsg, len);
    }
    orc_errf(errmsg, len, "unknown operation %d", (int)x->req->op);
    return ORC_EINVAL;
}

/* ======================================================================
 * Acting
 * ====================================================================== */

/* The master starts replicating from the instance: its own transactions
 * become its GTID position first (rec_demote_gtid); the replication user
 * is the instance's (ReplicationCredentialsQuery), as orchestrator reads
 * it from the replica. */
static int act_co_master(struct many *x, char *errmsg, size_t len)
{
    struct rec_creds creds;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    memset(&creds, 0, sizeof(creds));
    if (rec_read_replication_creds(x->env, &x->in.key, &creds, err, sizeof(err)) != 0)
        ORC_LOG_W("+relocate-many-credentials", "instance=%s error=\"%s\"", x->k, err);
    rc = rec_demote_gtid(x->s, &x->other, &x->in.key, &creds, true, errmsg, len);
    memset(&creds, 0, sizeof(creds));
    return rc;
}

/* Lifts a fence a failover left on the instance, then read_only=0. */
static int make_writeable(struct many *x, char *errmsg, size_t len)
{
    if (x->env->submit != NULL && x->env->submit(x->env->node, "unfence-instance",
                                                 json_pack("{s:{s:s, s:i}}", "Key", "Hostname",
                                                           x->in.key.host, "Port", x->in.key.port),
                                                 errmsg, len) != 0)
        return ORC_EDB;
    return rec_set_read_only(x->s, &x->in, false, x->env->cfg->UseSuperReadOnly, errmsg, len);
}

static int act(struct many *x, char *errmsg, size_t len)
{
    int rc = 0;

    switch (x->req->op) {
        case REC_MANY_MAKE_CO_MASTER:
            rc = rec_op_maintenance_begin(&x->run, &x->in.key, "make co-master", MAINTENANCE_S,
                                          errmsg, len);
            if (rc == 0)
                rc = rec_op_maintenance_begin(&x->run, &x->other.key, "turns into co-master",
                                              MAINTENANCE_S, errmsg, len);
            return rc == 0 ? act_co_master(x, errmsg, len) : rc;
        case REC_MANY_MAKE_LOCAL_MASTER:
            rc = rec_op_maintenance_begin(&x->run, &x->in.key, "make local master", MAINTENANCE_S,
                                          errmsg, len);
            if (rc == 0)
                rc = rec_change_master_gtid(x->s, &x->in, &x->other.key, true, errmsg, len);
            if (rc == 0)
                rec_op_step(&x->run, "%s now replicates from %s:%d", x->k, x->other.key.host,
                            x->other.key.port);
            break;
        case REC_MANY_MAKE_MASTER:
            rc = rec_op_maintenance_begin(&x->run, &x->in.key, "make master", MAINTENANCE_S, errmsg,
                                          len);
            break;
        default:
            break;
    }
    if (rc != 0)
        return rc;
    run_pool(x);
    collect(x);
    if (x->req->op == REC_MANY_MAKE_MASTER)
        rc = make_writeable(x, errmsg, len);
    return rc;
}

/* ======================================================================
 * The run
 * ====================================================================== */

static int step_prepare(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    (void)op;
    return prepare(ctx, errmsg, len);
}

static int step_check(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    (void)op;
    return check(ctx, errmsg, len);
}

static int step_act(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    (void)op;
    return act(ctx, errmsg, len);
}

static const struct rec_op_step many_steps[] = {
    {"prepare", step_prepare},
    {"check", step_check},
    {"act", step_act},
};

/* Go's %+v of a []error: "[e1 e2]". */
static void errors_text(const struct rec_many_result *r, char *out, size_t n)
{
    const char *e = orc_buf_str(&r->errors);
    size_t k = strlen(e);

    while (k > 0 && e[k - 1] == '\n')
        k--;
    snprintf(out, n, "[%.*s]", (int)k, e);
    for (char *p = out; *p != '\0'; p++)
        if (*p == '\n')
            *p = ' ';
}

static void message(struct many *x)
{
    struct rec_many_result *o = x->out;
    size_t moved = o->moved.len;
    char *m = o->message, errs[768];
    size_t n = sizeof(o->message);

    errors_text(o, errs, sizeof(errs));
    switch (x->req->op) {
        case REC_MANY_RELOCATE:
            snprintf(m, n, "Relocated %zu replicas of %s below %s; %zu errors: %s", moved, x->k,
                     x->d, o->nerrors, errs);
            break;
        case REC_MANY_MOVE_GTID:
            snprintf(m, n, "Moved %zu replicas of %s below %s via GTID; %zu errors: %s", moved,
                     x->k, x->d, o->nerrors, errs);
            break;
        case REC_MANY_MOVE_UP:
            snprintf(m, n, "Moved up %zu replicas of %s below %s; %zu errors: %s", moved, x->k,
                     x->d, o->nerrors, errs);
            break;
        case REC_MANY_REPOINT:
            snprintf(m, n, "Repointed %zu replicas of %s", moved, x->k);
            break;
        case REC_MANY_TAKE_SIBLINGS:
            snprintf(m, n, "Took %zu siblings of %s", moved, x->k);
            break;
        case REC_MANY_REGROUP:
            snprintf(m, n, "promoted replica: %s, lost: %zu, trivial: %zu, pseudo-gtid: 0", x->d,
                     x->lost + o->nerrors, moved);
            break;
        case REC_MANY_REGROUP_GTID:
            snprintf(m, n, "promoted replica: %s, lost: %zu, moved: %zu", x->d,
                     x->lost + o->nerrors, moved);
            break;
        case REC_MANY_MAKE_CO_MASTER:
            snprintf(m, n, "Instance made co-master: %s", x->k);
            break;
        case REC_MANY_MAKE_MASTER:
            snprintf(m, n, "Instance %s now made master", x->k);
            break;
        case REC_MANY_MAKE_LOCAL_MASTER:
            snprintf(m, n, "Instance %s now made local master", x->k);
            break;
    }
}

/* Waits until the snapshot shows the moved replicas (and the instance for
 * co-master / local master) where they went. */
static void refresh(struct many *x)
{
    size_t n = x->out->moved.len + 1, k = 0;
    struct rec_expect *e = calloc(n, sizeof(*e));

    if (e == NULL)
        return;
    for (size_t i = 0; i < x->nitems; i++) {
        if (x->items[i].rc != 0)
            continue;
        e[k].key = x->items[i].key;
        e[k].check_master = true;
        e[k].master = x->items[i].dest;
        e[k].read_only = e[k].replicating = -1;
        k++;
    }
    e[k].key = x->in.key;
    e[k].read_only = e[k].replicating = -1;
    if (x->req->op == REC_MANY_MAKE_CO_MASTER) {
        e[k].key = x->other.key;
        e[k].check_master = true;
        e[k].master = x->in.key;
    } else if (x->req->op == REC_MANY_MAKE_LOCAL_MASTER) {
        e[k].check_master = true;
        e[k].master = x->other.key;
    } else if (x->req->op == REC_MANY_MAKE_MASTER) {
        e[k].read_only = 0;
    }
    k++;
    if (!rec_planned_refresh(x->env, e, k, REFRESH_MS))
        ORC_LOG_W("+relocate-many-stale", "op=%s instance=%s: the topology does not show it yet",
                  rec_many_op_name(x->req->op), x->k);
    free(e);
}

/* Every replica failed (orchestrator: "Error on all operations"), or, for
 * move-replicas-gtid, any did. */
static int outcome(struct many *x, char *errmsg, size_t len)
{
    const struct rec_many_result *o = x->out;
    bool failed =
        x->req->op == REC_MANY_MOVE_GTID ? o->nerrors > 0 : o->considered > 0 && o->moved.len == 0;
    char first[ORC_ERRMSG_SIZE];
    const char *e = orc_buf_str(&o->errors);

    if (!failed || x->req->op == REC_MANY_REGROUP || x->req->op == REC_MANY_REGROUP_GTID)
        return 0;
    snprintf(first, sizeof(first), "%.*s", (int)strcspn(e, "\n"), e);
    orc_errf(errmsg, len, "moved %zu of %zu replicas of %s; first error: %s", o->moved.len,
             o->considered, x->k, first);
    return ORC_ESTATE;
}

static void finish(struct many *x, int64_t took_ms)
{
    message(x);
    rec_op_audit(x->env, rec_many_op_name(x->req->op), &x->in.key, x->cluster,
                 "%s; by %s in %lld ms", x->out->message, x->req->user ? x->req->user : "api",
                 (long long)took_ms);
    refresh(x);
}

static void many_init(struct many *x,
                      struct rec_env *env,
                      const struct rec_many_request *req,
                      struct rec_many_result *out)
{
    memset(x, 0, sizeof(*x));
    x->env = env;
    x->req = req;
    x->out = out;
    x->how = ITEM_PLANNED;
    x->bound = env->cfg->MaxConcurrentReplicaOperations > 0
                   ? (size_t)env->cfg->MaxConcurrentReplicaOperations
                   : 1;
    disc_instance_init(&x->in);
    disc_instance_init(&x->other);
    orc_key_str(&req->key, x->k, sizeof(x->k));
    orc_key_str(&req->target, x->d, sizeof(x->d));
    out->key = req->key;
}

static void many_release(struct many *x)
{
    rec_op_release(&x->run);
    rec_session_free(x->s);
    disc_snapshot_put(x->snap);
    disc_instance_release(&x->in);
    disc_instance_release(&x->other);
    free(x->items);
}

int rec_many_run(struct rec_env *env,
                 const struct rec_many_request *req,
                 struct rec_many_result *out,
                 char *errmsg,
                 size_t len)
{
    int64_t t0 = orc_mono_ms();
    struct many x;
    int rc;

    many_init(&x, env, req, out);
    rc = rec_op_init(&x.run, env, "relocate-many", NULL);
    if (rc == 0 && x.run.epoch == 0) {
        orc_errf(errmsg, len, "this node is not the leader");
        rc = ORC_EPERM;
    }
    if (rc == 0)
        rc = rec_op_run_steps(&x.run, many_steps, ORC_ARRAY_LEN(many_steps), &x, errmsg, len);
    rec_op_maintenance_end(&x.run);
    if (rc == 0) {
        if (x.out->below.host[0] == '\0')
            x.out->below = x.dest;
        finish(&x, orc_mono_ms() - t0);
        rc = outcome(&x, errmsg, len);
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "%s", rec_many_op_name(req->op));
    many_release(&x);
    return rc;
}
