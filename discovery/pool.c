/*
 * pool: the threads of the live topology.
 *  - the scheduler queues every instance whose poll is due, expires
 *    downtimes and rules, and forgets instances unseen for too long;
 *  - workers (spawned on demand, up to the configured number) probe one
 *    instance at a time, so a hung host holds one worker only;
 *  - the writer persists changed instances to the backend in batches.
 *  - the watcher epolls the idle persistent connections: a server that
 *    closes one (it died or shut down) is probed at once instead of at its
 *    next poll, which is what makes failure detection fast.
 * A failed probe re-probes the instance's master and replicas at once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "discovery/topo_int.h"

#define WORKER_STACK (256 * 1024)
#define PERSIST_REFRESH_MS 10000
/* The writer persists from a snapshot at most this old (see flush_once). */
#define FLUSH_SNAPSHOT_MS 1000
/* A probe of a reachable instance that has not answered for this long is
 * taken as a failure at once, without waiting for the read timeout: a
 * frozen server (SIGSTOP, a hung host) accepts and never answers, and its
 * replicas only notice after slave_net_timeout. */
#define HANG_MS 1000
/* Instances with replicas are polled at least this often, so a master that
 * hangs is noticed within about HANG_MS + MASTER_POLL_MS. */
#define MASTER_POLL_MS 1000
/* The scheduler enqueues what falls due within this much and then sleeps at
 * least as long: waking for each entry as it falls due scanned every entry
 * per wake, thousands of times a second with thousands of instances. */
#define SCHED_SLACK_MS 20
/* A probe still running this long after it started is cut short (its
 * connection shut down): the probe checks DISC_PROBE_DEADLINE_MS between
 * statements, but one answer trickled byte by byte within the read timeout
 * would hold it, and its worker, for as long as the server likes. The grace
 * lets the probe's own check, with its clearer message, come first. */
#define PROBE_ABORT_MS (DISC_PROBE_DEADLINE_MS + 2000)
/* Descriptors kept out of the connection budget (see connection_budget). */
#define FD_RESERVE 1000

static void watch(struct disc_topo *t, struct entry *e);

static bool recently_forgotten(struct disc_topo *t, const struct orc_key *k)
{
    int64_t now = orc_mono_ms();

    for (size_t i = 0; i < t->nforgot; i++)
        if (t->forgot_until_mono[i] > now && orc_key_eq(&t->forgot[i], k))
            return true;
    return false;
}

/* Adds a key the crawl found (lock held); new ones are probed at once. */
static void crawl_to(struct disc_topo *t,
                     const struct orc_key *k,
                     const regex_t *filters,
                     size_t nfilters)
{
    char ks[ORC_KEY_STRLEN];
    struct entry *e;

    if (!orc_key_valid(k) || topo_find(t, k) != NULL || recently_forgotten(t, k))
        return;
    orc_key_str(k, ks, sizeof(ks));
    if (!orc_host_safe(k->host)) {
        ORC_LOG_D("+crawl-refused", "instance=\"%s\" reason=\"not a host name\"", ks);
        return;
    }
    if (topo_ignored(filters, nfilters, ks) || topo_ignored(t->ignore, t->o.nignore, ks))
        return;
    e = topo_add(t, k);
    if (e != NULL)
        topo_enqueue(t, e, false);
}

/* After a failure, re-probe what can confirm or explain it (lock held). */
static void probe_neighbours(struct disc_topo *t, struct entry *e)
{
    struct entry *m = topo_find(t, &e->inst->master_key);

    if (m != NULL)
        topo_enqueue(t, m, true);
    for (size_t i = 0; i < t->n; i++) {
        struct entry *r = t->all[i];
        if (r != e && orc_key_eq(&r->inst->master_key, &e->key))
            topo_enqueue(t, r, true);
    }
}

/* Errant GTID against the master's last reading (lock held), as
 * orchestrator computes it after each probe. Only an instance of the same
 * flavor whose master was seen counts; otherwise nothing is errant. The sets
 * are short (one entry per domain and server, or per uuid), so this costs
 * microseconds under the lock. */
static void compute_errant(struct disc_topo *t, struct entry *e, struct disc_instance *in)
{
    const struct entry *me = NULL;
    struct disc_errant_master m;
    int rc;

    if (in->master_key.host[0] != '\0')
        me = topo_find(t, &in->master_key);
    if (me == NULL || !me->seen || me == e) {
        rc = disc_gtid_errant(in, NULL);
    } else {
        const struct disc_instance *mi = me->inst;
        memset(&m, 0, sizeof(m));
        m.ver = mi->ver;
        m.server_id = mi->server_id;
        orc_strlcpy(m.server_uuid, mi->server_uuid, sizeof(m.server_uuid));
        m.executed = mi->executed_gtid_set;
        m.slave_pos = mi->gtid_slave_pos;
        m.ancestry_uuid = mi->ancestry_uuid;
        m.ancestry_ids = mi->ancestry_ids;
        m.nancestry_ids = mi->nancestry_ids;
        m.master_is_self = orc_key_eq(&mi->master_key, &e->key);
        rc = disc_gtid_errant(in, &m);
    }
    if (rc == ORC_EINVAL)
        disc_log_refused("gtid set", strlen(disc_str(in->executed_gtid_set)), "not a GTID set");
}

/* What the snapshots computed for the previous record (cluster, depth,
 * co-master, domain) most likely still holds: the new record starts with
 * it, so the next snapshot can share the record instead of copying it to
 * correct them (it checks every record and copies those that differ). The
 * clocks and the operator's flags are the entry's. */
static void carry_over(const struct entry *e,
                       const struct disc_instance *old,
                       struct disc_instance *in)
{
    if (orc_key_eq(&old->master_key, &in->master_key)) {
        orc_strlcpy(in->cluster_name, old->cluster_name, sizeof(in->cluster_name));
        in->replication_depth = old->replication_depth;
        in->is_co_master = old->is_co_master;
        if (in->master_key.host[0] != '\0') /* a root's domain is its own reading */
            orc_strlcpy(in->cluster_domain, old->cluster_domain, sizeof(in->cluster_domain));
    }
    in->key = e->key;
    in->last_checked_ms = e->last_checked_ms;
    in->last_seen_ms = e->last_seen_ms;
    in->last_attempted_check_ms = e->last_attempted_ms;
    in->is_downtimed = e->annot.downtimed;
    in->is_candidate = strcmp(e->annot.promotion_rule, "prefer") == 0 ||
                       strcmp(e->annot.promotion_rule, "must") == 0;
}

/* res (a new record, not shared) becomes e's record (lock held); the
 * previous one is returned for release outside the lock. */
static struct disc_instance *apply_success(struct disc_topo *t,
                                           struct entry *e,
                                           struct disc_instance *res)
{
    struct disc_instance *old = e->inst;

    compute_errant(t, e, res);
    e->last_seen_ms = e->last_checked_ms;
    carry_over(e, old, res);
    e->inst = res;
    if (!e->seen)
        ORC_LOG_N("+instance-discovered", "instance=%s version=%s master=%s:%d", e->keystr,
                  res->version, res->master_key.host, res->master_key.port);
    e->seen = true;
    for (size_t i = 0; i < res->replicas.len; i++)
        crawl_to(t, &res->replicas.keys[i], t->ignore_replica, t->o.nignore_replica);
    if (res->master_key.host[0] != '\0')
        crawl_to(t, &res->master_key, t->ignore_master, t->o.nignore_master);
    return old;
}

/* ---- change tracking ---- */

/* What analysis cares about: a change wakes the recovery loop. */
static uint64_t health_sig(const struct disc_instance *in, bool ok, int64_t lag_limit)
{
    uint64_t h = ORC_FNV1A_INIT;
    bool lagging = in->seconds_behind_master.valid && in->seconds_behind_master.value > lag_limit;

    h = orc_fnv1a(h, &ok, sizeof(ok));
    h = orc_fnv1a(h, &in->io_state, sizeof(in->io_state));
    h = orc_fnv1a(h, &in->sql_state, sizeof(in->sql_state));
    h = orc_fnv1a_str(h, in->master_key.host);
    h = orc_fnv1a(h, &in->master_key.port, sizeof(in->master_key.port));
    h = orc_fnv1a(h, &in->read_only, sizeof(in->read_only));
    h = orc_fnv1a(h, &in->last_io_errno, sizeof(in->last_io_errno));
    h = orc_fnv1a(h, &in->last_sql_errno, sizeof(in->last_sql_errno));
    h = orc_fnv1a(h, &in->seconds_behind_master.valid, sizeof(bool));
    h = orc_fnv1a(h, &lagging, sizeof(lagging));
    h = orc_fnv1a(h, &in->semi_sync_master_status, sizeof(bool));
    h = orc_fnv1a_str(h, in->gtid_errant); /* ErrantGTIDStructureWarning */
    /* the semi-sync codes (LockedSemiSyncMaster, MasterWithTooManySemiSyncReplicas) */
    h = orc_fnv1a(h, &in->semi_sync_master_enabled, sizeof(bool));
    h = orc_fnv1a(h, &in->semi_sync_replica_enabled, sizeof(bool));
    h = orc_fnv1a(h, &in->semi_sync_master_clients, sizeof(int64_t));
    h = orc_fnv1a(h, &in->semi_sync_master_wait_for_replica_count, sizeof(int64_t));
    h = orc_fnv1a(h, &in->replicas.len, sizeof(in->replicas.len));
    for (size_t i = 0; i < in->replicas.len; i++) {
        h = orc_fnv1a_str(h, in->replicas.keys[i].host);
        h = orc_fnv1a(h, &in->replicas.keys[i].port, sizeof(int));
    }
    return h;
}

/* What the backend row holds, minus the clocks: unchanged rows are written
 * only every PERSIST_REFRESH_MS to refresh their timestamps. */
static uint64_t content_sig(const struct disc_instance *in)
{
    struct disc_instance c = *in; /* shallow: only hashed, never released */
    uint64_t h = ORC_FNV1A_INIT;

    c.uptime = 0;
    c.last_discovery_latency_us = 0;
    c.last_checked_ms = c.last_seen_ms = c.last_attempted_check_ms = 0;
    c.seconds_behind_master.value = c.replication_lag_seconds.value = 0;
    c.last_io_error = c.last_sql_error = c.executed_gtid_set = c.gtid_purged = NULL;
    c.retrieved_gtid_set = c.gtid_current_pos = c.gtid_slave_pos = NULL;
    c.gtid_binlog_pos = c.gtid_io_pos = c.gtid_errant = c.ancestry_uuid = NULL;
    c.replicas.keys = NULL;
    c.replicas.cap = 0;
    h = orc_fnv1a(h, &c, sizeof(c));
    h = orc_fnv1a_str(h, in->last_io_error);
    h = orc_fnv1a_str(h, in->last_sql_error);
    h = orc_fnv1a_str(h, in->executed_gtid_set);
    h = orc_fnv1a_str(h, in->gtid_current_pos);
    h = orc_fnv1a_str(h, in->gtid_slave_pos);
    h = orc_fnv1a_str(h, in->gtid_binlog_pos);
    h = orc_fnv1a_str(h, in->gtid_errant);
    h = orc_fnv1a_str(h, in->ancestry_uuid);
    for (size_t i = 0; i < in->replicas.len; i++) {
        h = orc_fnv1a_str(h, in->replicas.keys[i].host);
        h = orc_fnv1a(h, &in->replicas.keys[i].port, sizeof(int));
    }
    return h;
}

/* After a probe (lock held): decide whether analysis and the backend need
 * to hear about it. */
static void note_change(struct disc_topo *t, struct entry *e, bool ok)
{
    uint64_t hs = health_sig(e->inst, ok, t->o.reasonable_lag_s);
    uint64_t cs = ok ? content_sig(e->inst) : e->content_sig;
    int64_t now = orc_mono_ms();

    if (hs != e->health_sig || !ok) {
        e->health_sig = hs;
        t->health_version++;
    }
    if (cs != e->content_sig || !ok || now - e->persisted_mono >= PERSIST_REFRESH_MS) {
        e->content_sig = cs;
        e->persisted_mono = now;
        e->dirty = true;
        e->dirty_version = t->version + 1; /* topo_probe_entry bumps it next */
        t->ndirty++;
        pthread_cond_signal(&t->flush_cond);
    }
}

static int64_t poll_interval(const struct disc_topo *t, const struct entry *e)
{
    if (e->inst->replicas.len > 0 && t->o.poll_ms > MASTER_POLL_MS)
        return MASTER_POLL_MS;
    return t->o.poll_ms;
}

/* Every instance keeps its connection (a closed one is how a dead master is
 * noticed at once) while the descriptor limit allows; past that budget,
 * instances without replicas connect for each probe. Called by the probing
 * worker, entry busy, without the lock: nconns is read as a hint. */
static void keep_connection(struct disc_topo *t, struct entry *e, const struct disc_instance *res)
{
    size_t open = __atomic_load_n(&t->nconns, __ATOMIC_RELAXED);

    /* one already counted keeps its place in the budget */
    if (e->conn != NULL && !e->conn_counted && res->replicas.len == 0 && open >= t->conn_budget &&
        disc_conn_connected(e->conn))
        disc_conn_disconnect(e->conn);
}

/* Keeps nconns in step with e's connection (lock held). */
static void count_connection(struct disc_topo *t, struct entry *e)
{
    bool open = e->conn != NULL && disc_conn_connected(e->conn);

    if (open != e->conn_counted)
        __atomic_store_n(&t->nconns, open ? t->nconns + 1 : t->nconns - 1, __ATOMIC_RELAXED);
    e->conn_counted = open;
}

int topo_probe_entry(struct disc_topo *t, struct entry *e, char *errmsg, size_t len)
{
    struct disc_instance *res = topo_rec_new(), *old = NULL, *own;
    struct orc_key key;
    int64_t started = orc_wall_ms();
    bool was_valid, notify;
    uint64_t health_before;
    int64_t latency;
    int rc = 0, active, queued;

    if (res == NULL) {
        orc_errf(errmsg, len, "out of memory");
        rc = ORC_ENOMEM;
    }
    if (rc == 0 && e->conn == NULL) {
        struct disc_conn *c = NULL;
        rc = disc_conn_open(&c, &e->key, &t->o.conn, errmsg, len);
        pthread_mutex_lock(&t->lock); /* the scheduler reads e->conn under the lock */
        e->conn = c;
        pthread_mutex_unlock(&t->lock);
    }
    if (rc == 0)
        rc = disc_probe_run(&disc_conn_mysql_ops, e->conn, t->o.probe, &e->key, res, errmsg, len);
    latency = res != NULL ? res->last_discovery_latency_us : 0;
    if (res != NULL)
        keep_connection(t, e, res);
    disc_conn_idle(e->conn); /* until the next probe */
    pthread_mutex_lock(&t->lock);
    count_connection(t, e);
    health_before = t->health_version;
    was_valid = e->last_seen_ms >= e->last_checked_ms && e->seen;
    e->last_attempted_ms = started;
    e->last_checked_ms = orc_wall_ms();
    t->stats.probes++;
    t->stats.probe_latency_us_sum += (uint64_t)latency;
    if (rc == 0) {
        old = apply_success(t, e, res);
        res = NULL; /* e's now */
        watch(t, e);
        if ((!was_valid && e->last_checked_ms != e->last_seen_ms) || e->hung)
            ORC_LOG_N("+probe-recovered", "instance=%s", e->keystr);
    } else {
        t->stats.probe_failures++;
        if ((own = topo_entry_own(e)) != NULL) {
            own->last_check_partial_success = res != NULL && res->last_check_partial_success;
            own->last_discovery_latency_us = latency;
        }
        if (was_valid || !e->seen || e->hung) /* a hung one: now the reason */
            ORC_LOG_W("+probe-failed", "instance=%s error=\"%s\"", e->keystr, errmsg);
        if (was_valid)
            probe_neighbours(t, e);
    }
    note_change(t, e, rc == 0);
    e->busy = false;
    e->hung = false;
    e->aborted = false;
    e->next_due_mono = orc_mono_ms() + poll_interval(t, e);
    topo_busy_remove(t, e);
    if (!e->forgotten)
        topo_due_push(t, e);
    t->version++;
    pthread_cond_broadcast(&t->done_cond);
    notify = t->health_version != health_before && !e->forgotten;
    key = e->key; /* e may be freed once the lock is released */
    if (e->forgotten && e->pins == 0)
        topo_entry_bury(t, e);
    active = t->nworkers - t->idle_workers;
    queued = (int)t->qlen;
    pthread_mutex_unlock(&t->lock);
    topo_rec_put(res);
    topo_rec_put(old); /* the snapshots that share it keep it */
    topo_metrics_probe(t, &key, started, latency, rc == 0 ? NULL : errmsg);
    topo_metrics_queue(t, active, queued);
    if (notify && t->o.on_change)
        t->o.on_change(t->o.on_change_arg, &key, rc == 0);
    return rc;
}

/* ---- the idle-connection watcher ---- */

static void watch(struct disc_topo *t, struct entry *e)
{
    struct epoll_event ev;
    int fd = disc_conn_fd(e->conn);

    if (t->epfd < 0 || fd < 0 || e->watch_id != 0)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = ++t->next_watch_id;
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
        e->watch_id = ev.data.u64;
        e->watch_fd = fd;
    }
}

void topo_unwatch(struct disc_topo *t, struct entry *e)
{
    if (e->watch_id == 0)
        return;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, e->watch_fd, NULL);
    e->watch_id = 0;
    e->watch_fd = -1;
}

void topo_mark_busy(struct disc_topo *t, struct entry *e)
{
    topo_due_remove(t, e);
    topo_busy_add(t, e);
    e->busy = true;
    e->hung = false;
    e->aborted = false;
    e->probe_start_mono = orc_mono_ms();
    topo_unwatch(t, e);
}

/* A probe overran HANG_MS on an instance that answered before (lock held):
 * it counts as failed now (analysis sees it unreachable, its master and
 * replicas are probed at once); the probe itself goes on and, if it ends
 * well, the instance is valid again. True when the entry was marked. */
static bool check_hang(struct disc_topo *t, struct entry *e, int64_t now)
{
    bool was_valid = e->seen && e->last_seen_ms >= e->last_checked_ms;
    struct disc_instance *own;

    if (!e->busy || e->hung || now - e->probe_start_mono < HANG_MS || !was_valid)
        return false;
    e->hung = true;
    e->last_checked_ms = orc_wall_ms(); /* later than last_seen: not valid */
    if ((own = topo_entry_own(e)) != NULL)
        own->last_check_partial_success = false; /* it answered nothing */
    ORC_LOG_W("+probe-hung", "instance=%s no answer for %lld ms", e->keystr,
              (long long)(now - e->probe_start_mono));
    probe_neighbours(t, e);
    t->health_version++;
    t->version++;
    return true;
}

static void on_watch_event(struct disc_topo *t, uint64_t id)
{
    for (size_t i = 0; i < t->n; i++) {
        struct entry *e = t->all[i];
        if (e->watch_id != id)
            continue;
        ORC_LOG_N("+connection-lost", "instance=%s probing now", e->keystr);
        topo_unwatch(t, e);
        topo_enqueue(t, e, true);
        return;
    }
}

static void *watcher_main(void *arg)
{
    struct disc_topo *t = arg;
    pthread_setname_np(pthread_self(), "orc-watch");
    struct epoll_event evs[16];

    for (;;) {
        int n = epoll_wait(t->epfd, evs, 16, 1000);

        pthread_mutex_lock(&t->lock);
        if (t->stopping) {
            pthread_mutex_unlock(&t->lock);
            return NULL;
        }
        for (int i = 0; i < n; i++)
            if (evs[i].data.u64 != 0) /* 0: the stop eventfd */
                on_watch_event(t, evs[i].data.u64);
        pthread_mutex_unlock(&t->lock);
    }
}

static void *worker_main(void *arg)
{
    struct disc_topo *t = arg;
    char err[ORC_ERRMSG_SIZE];

    pthread_setname_np(pthread_self(), "orc-probe");
    pthread_mutex_lock(&t->lock);
    for (;;) {
        struct entry *e;

        while (t->qhead == NULL && !t->stopping) {
            t->idle_workers++;
            pthread_cond_wait(&t->work_cond, &t->lock);
            t->idle_workers--;
        }
        if (t->stopping)
            break;
        e = t->qhead;
        t->qhead = e->qnext;
        if (t->qhead == NULL)
            t->qtail = NULL;
        t->qlen--;
        e->queued = false;
        topo_mark_busy(t, e);
        pthread_mutex_unlock(&t->lock);
        err[0] = '\0';
        topo_probe_entry(t, e, err, sizeof(err));
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

void topo_maybe_spawn(struct disc_topo *t)
{
    pthread_attr_t attr;

    if (!t->started || t->stopping || t->idle_workers > 0 || t->nworkers >= t->o.workers)
        return;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    if (pthread_create(&t->worker_ids[t->nworkers], &attr, worker_main, t) == 0) {
        t->nworkers++;
        ORC_LOG_D("+worker-started", "workers=%d", t->nworkers);
    }
    pthread_attr_destroy(&attr);
}

/* Expires downtimes and promotion rules (lock held), once a second (they
 * end on whole seconds). */
static void expire_annotations(struct disc_topo *t, int64_t *last_s)
{
    int64_t now = orc_wall_s();

    if (now == *last_s)
        return;
    *last_s = now;
    for (size_t i = 0; i < t->n; i++) {
        struct entry *e = t->all[i];
        if (e->annot.downtimed && e->annot.downtime_end_s > 0 && e->annot.downtime_end_s <= now) {
            e->annot.downtimed = false;
            ORC_LOG_N("+downtime-expired", "instance=%s", e->keystr);
            t->version++;
            t->health_version++;
        }
        if (e->annot.in_maintenance && e->annot.maintenance_end_s > 0 &&
            e->annot.maintenance_end_s <= now) {
            e->annot.in_maintenance = false;
            ORC_LOG_N("+maintenance-expired", "instance=%s", e->keystr);
            t->version++;
            t->health_version++;
        }
        if (e->rule_until_s > 0 && e->rule_until_s <= now) {
            e->annot.promotion_rule[0] = '\0';
            e->rule_until_s = 0;
            t->version++;
            t->health_version++;
        }
    }
}

static void forget_unseen(struct disc_topo *t)
{
    int64_t limit = orc_wall_ms() - t->o.forget_unseen_s * 1000;

    if (t->o.forget_unseen_s <= 0)
        return;
    for (size_t i = 0; i < t->n;) {
        struct entry *e = t->all[i];
        int64_t seen = e->seen ? e->last_seen_ms : e->added_ms;
        if (!e->busy && seen < limit) {
            struct orc_key k = e->key;
            ORC_LOG_N("+instance-unseen", "instance=%s forgetting after %lld hours", e->keystr,
                      (long long)(t->o.forget_unseen_s / 3600));
            pthread_mutex_unlock(&t->lock);
            disc_topo_forget(t, &k);
            pthread_mutex_lock(&t->lock);
            continue; /* the array changed; rescan from the same index */
        }
        i++;
    }
}

static void *scheduler_main(void *arg)
{
    struct disc_topo *t = arg;
    pthread_setname_np(pthread_self(), "orc-sched");
    int64_t last_minute = orc_mono_ms(), last_expiry_s = 0;

    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        int64_t now = orc_mono_ms();
        int64_t next = now + 1000;
        int64_t due = now + SCHED_SLACK_MS;
        struct timespec ts;

        struct orc_key hung[8];
        size_t nhung = 0;

        for (size_t i = 0; i < t->nbusy; i++) {
            struct entry *e = t->busy[i];
            if (check_hang(t, e, now) && nhung < ORC_ARRAY_LEN(hung))
                hung[nhung++] = e->key;
            if (!e->hung && e->probe_start_mono + HANG_MS < next)
                next = e->probe_start_mono + HANG_MS;
            if (!e->aborted && now - e->probe_start_mono >= PROBE_ABORT_MS) {
                ORC_LOG_W("+probe-aborted", "instance=%s running for %lld ms", e->keystr,
                          (long long)(now - e->probe_start_mono));
                disc_conn_abort(e->conn);
                e->aborted = true;
            } else if (!e->aborted && e->probe_start_mono + PROBE_ABORT_MS < next) {
                next = e->probe_start_mono + PROBE_ABORT_MS;
            }
        }
        while (t->ndue > 0 && t->due[0]->next_due_mono <= due) {
            struct entry *e = t->due[0];
            topo_due_remove(t, e);
            topo_enqueue(t, e, false);
        }
        if (t->ndue > 0 && t->due[0]->next_due_mono < next)
            next = t->due[0]->next_due_mono;
        if (next < due)
            next = due;
        if (nhung > 0 && t->o.on_change) { /* the recovery loop looks now */
            pthread_mutex_unlock(&t->lock);
            for (size_t i = 0; i < nhung; i++)
                t->o.on_change(t->o.on_change_arg, &hung[i], false);
            pthread_mutex_lock(&t->lock);
        }
        if (t->ngraves > 0) { /* forgotten entries: their connections close unlocked */
            pthread_mutex_unlock(&t->lock);
            topo_graveyard_drain(t);
            pthread_mutex_lock(&t->lock);
        }
        expire_annotations(t, &last_expiry_s);
        if (now - last_minute >= 60000) {
            last_minute = now;
            forget_unseen(t);
        }
        orc_deadline(&ts, next - now > 0 ? next - now : 1);
        pthread_cond_timedwait(&t->sched_cond, &t->lock, &ts);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* Takes the keys of changed instances whose change the snapshot of version
 * upto holds (lock held); the others stay dirty for the next flush. */
static size_t take_dirty(struct disc_topo *t, uint64_t upto, struct orc_key **out)
{
    struct orc_key *keys = NULL;
    size_t n = 0;

    t->ndirty = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct entry *e = t->all[i];
        if (!e->dirty || e->busy || e->dirty_version > upto) {
            t->ndirty += e->dirty;
            continue;
        }
        if (keys == NULL && (keys = malloc(t->n * sizeof(*keys))) == NULL)
            break;
        keys[n++] = e->key;
        e->dirty = false;
    }
    *out = keys;
    return n;
}

/* Writes the changed instances as the snapshot shows them (cluster names and
 * depths computed), then the deletions. Called with the lock held; drops it
 * while talking to the backend. */
static void flush_once(struct disc_topo *t)
{
    struct orc_key *keys = NULL, *dels;
    const struct disc_instance **rows = NULL;
    struct disc_snapshot *s;
    size_t n = 0, nd, nrows = 0;
    char err[ORC_ERRMSG_SIZE] = "";
    int64_t started = orc_wall_ms();
    int rc = 0;

    pthread_mutex_unlock(&t->lock);
    /* A recent snapshot will do: what it does not hold yet stays dirty. */
    s = disc_topo_snapshot_recent(t, t->stopping ? 0 : FLUSH_SNAPSHOT_MS);
    pthread_mutex_lock(&t->lock);
    if (s != NULL)
        n = take_dirty(t, s->version, &keys);
    dels = t->deletes;
    nd = t->ndeletes;
    t->deletes = NULL;
    t->ndeletes = t->capdeletes = 0;
    pthread_mutex_unlock(&t->lock);
    if (n > 0) {
        rows = malloc(n * sizeof(*rows));
        for (size_t i = 0; rows != NULL && i < n; i++) {
            int k = disc_snapshot_find(s, &keys[i]);
            if (k >= 0)
                rows[nrows++] = s->instances[k];
        }
        if (nrows > 0) {
            int64_t w0 = orc_wall_ms();
            rc = topo_store_save(t->o.be, rows, nrows, err, sizeof(err));
            topo_metrics_write(t, started, (w0 - started) * 1000, (orc_wall_ms() - w0) * 1000,
                               nrows, rc == 0);
        }
        if (rc != 0)
            ORC_LOG_E("+backend-write-failed", "instances=%zu error=\"%s\"", nrows, err);
    }
    disc_snapshot_put(s);
    for (size_t i = 0; i < nd; i++)
        if (topo_store_delete(t->o.be, &dels[i], err, sizeof(err)) != 0)
            ORC_LOG_E("+backend-delete-failed", "instance=%s:%d error=\"%s\"", dels[i].host,
                      dels[i].port, err);
    free(rows);
    free(keys);
    free(dels);
    pthread_mutex_lock(&t->lock);
    if (nrows > 0)
        t->stats.backend_writes++;
    if (rc == 0)
        t->stats.backend_rows += nrows;
    if (rc != 0)
        t->stats.backend_write_errors++;
}

static void *writer_main(void *arg)
{
    struct disc_topo *t = arg;
    pthread_setname_np(pthread_self(), "orc-writer");

    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        struct timespec ts;
        int64_t until;
        /* Sleep until there is something to write, then gather a batch. */
        while (t->ndirty == 0 && t->ndeletes == 0 && !t->stopping)
            pthread_cond_wait(&t->flush_cond, &t->lock);
        until = orc_mono_ms() + t->o.flush_ms;
        while (!t->stopping && orc_mono_ms() < until) {
            orc_deadline(&ts, until - orc_mono_ms());
            pthread_cond_timedwait(&t->flush_cond, &t->lock, &ts);
        }
        flush_once(t);
    }
    flush_once(t); /* what is left at stop */
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* Descriptors for persistent connections: the limit minus a reserve for
 * HTTP clients, the backend, recovery sessions and hooks. */
static size_t connection_budget(void)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY)
        return SIZE_MAX;
    return r.rlim_cur > 2 * FD_RESERVE ? (size_t)(r.rlim_cur - FD_RESERVE) : r.rlim_cur / 2;
}

int topo_threads_start(struct disc_topo *t, char *errmsg, size_t len)
{
    pthread_attr_t attr;
    int rc = 0;

    t->worker_ids = calloc((size_t)t->o.workers, sizeof(pthread_t));
    if (t->worker_ids == NULL)
        return ORC_ENOMEM;
    t->conn_budget = connection_budget();
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    pthread_mutex_lock(&t->lock);
    t->started = true;
    if (pthread_create(&t->sched_id, &attr, scheduler_main, t) != 0)
        rc = ORC_ENOMEM;
    if (rc == 0 && t->o.be != NULL && pthread_create(&t->writer_id, &attr, writer_main, t) != 0)
        rc = ORC_ENOMEM;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* wakes the watcher at stop */
    if (t->epfd >= 0 && t->stopfd >= 0) {
        struct epoll_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.u64 = 0; /* watch ids start at 1 */
        epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->stopfd, &ev);
    }
    if (rc == 0 && t->epfd >= 0 && pthread_create(&t->watcher_id, &attr, watcher_main, t) != 0) {
        close(t->epfd);
        t->epfd = -1;
    }
    pthread_mutex_unlock(&t->lock);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        orc_errf(errmsg, len, "cannot start discovery threads");
        t->started = false;
    }
    return rc;
}

void topo_threads_stop(struct disc_topo *t)
{
    int n;

    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_broadcast(&t->work_cond);
    pthread_cond_broadcast(&t->sched_cond);
    pthread_cond_broadcast(&t->flush_cond);
    n = t->nworkers;
    pthread_mutex_unlock(&t->lock);
    if (t->stopfd >= 0) {
        uint64_t one = 1;
        if (write(t->stopfd, &one, sizeof(one)) < 0)
            ORC_LOG_D("+watcher-wake-failed", "error=write");
    }
    pthread_join(t->sched_id, NULL);
    for (int i = 0; i < n; i++)
        pthread_join(t->worker_ids[i], NULL);
    if (t->o.be != NULL)
        pthread_join(t->writer_id, NULL);
    if (t->epfd >= 0) {
        pthread_join(t->watcher_id, NULL);
        close(t->epfd);
        t->epfd = -1;
    }
    if (t->stopfd >= 0)
        close(t->stopfd);
    t->stopfd = -1;
}
