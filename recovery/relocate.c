/*
 * relocate: the planned operations on one instance (move-up, move-below,
 * repoint, relocate, take-master, stop/start replication, read_only), the
 * pure checks they share, and the post-operation refresh of the topology.
 *
 * Each operation is: check on fresh readings of the servers involved (the
 * snapshot only gives the structure: who replicates from whom, maintenance),
 * refuse with the rule that failed, or act; then audit, ask the topology to
 * re-probe, and wait until the snapshot shows the change so the answer is
 * fresh. See planned.h for the positioning rules.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "recovery/hooks.h"
#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/planned.h"

#define REFRESH_MS 3000      /* wait for the snapshot to show a change */
#define REPROBE_EVERY_MS 300 /* ask again: a probe in flight may predate the change */
#define MIN_CATCH_UP_MS 1000 /* catch-up waits when the lag limit is 0 */
#define MAINTENANCE_S 600    /* bound of the maintenance taken during a move */

/* ======================================================================
 * Pure checks
 * ====================================================================== */

static int format_rank(const char *f)
{
    if (strcasecmp(f, "STATEMENT") == 0)
        return 1;
    if (strcasecmp(f, "MIXED") == 0)
        return 2;
    if (strcasecmp(f, "ROW") == 0)
        return 3;
    return 0;
}

/* orchestrator's major version: the first two numbers ("5.7", "10.11"). */
static int major_cmp(const struct disc_version *a, const struct disc_version *b)
{
    if (a->major != b->major)
        return a->major < b->major ? -1 : 1;
    return (a->minor > b->minor) - (a->minor < b->minor);
}

bool rec_can_replicate_from(const struct disc_instance *replica,
                            const struct disc_instance *master,
                            const struct rec_move_limits *lim,
                            char *why,
                            size_t len)
{
    char a[ORC_KEY_STRLEN], b[ORC_KEY_STRLEN];
    int ra = format_rank(replica->binlog_format), rb = format_rank(master->binlog_format);

    orc_key_str(&replica->key, a, sizeof(a));
    orc_key_str(&master->key, b, sizeof(b));
    if (orc_key_eq(&replica->key, &master->key)) {
        orc_errf(why, len, "%s cannot replicate from itself", a);
        return false;
    }
    if (!master->log_bin) {
        orc_errf(why, len, "%s does not have binary logs enabled", b);
        return false;
    }
    if (disc_instance_is_replica(master) && !master->log_replica_updates) {
        orc_errf(why, len, "%s is a replica without log_slave_updates", b);
        return false;
    }
    if (major_cmp(&replica->ver, &master->ver) < 0) {
        orc_errf(why, len, "%s has version %s, which is lower than %s on %s", a, replica->version,
                 master->version, b);
        return false;
    }
    if (replica->log_bin && replica->log_replica_updates && ra > 0 && rb > 0 && ra < rb) {
        orc_errf(why, len, "%s has binlog_format %s, which is lower than %s on %s", a,
                 replica->binlog_format, master->binlog_format, b);
        return false;
    }
    if (lim->verify_filters &&
        replica->has_replication_filters != master->has_replication_filters) {
        orc_errf(why, len, "%s and %s have different replication filters", a, b);
        return false;
    }
    if (replica->server_id == master->server_id) {
        orc_errf(why, len, "%s and %s have the same server_id %lld", a, b,
                 (long long)replica->server_id);
        return false;
    }
    if (replica->server_uuid[0] != '\0' && strcmp(replica->server_uuid, master->server_uuid) == 0) {
        orc_errf(why, len, "%s and %s have the same server_uuid %s", a, b, replica->server_uuid);
        return false;
    }
    if (replica->sql_delay < master->sql_delay && master->sql_delay > lim->max_lag_s) {
        orc_errf(why, len, "%s has a higher SQL_Delay (%lld seconds) than %s (%lld seconds)", b,
                 (long long)master->sql_delay, a, (long long)replica->sql_delay);
        return false;
    }
    return true;
}

bool rec_can_move(const struct disc_instance *in,
                  const struct rec_move_limits *lim,
                  char *why,
                  size_t len)
{
    char a[ORC_KEY_STRLEN];

    orc_key_str(&in->key, a, sizeof(a));
    if (!disc_instance_is_replica(in)) {
        orc_errf(why, len, "%s is not a replica", a);
        return false;
    }
    if (in->sql_state != DISC_THREAD_RUNNING || in->io_state != DISC_THREAD_RUNNING) {
        orc_errf(why, len, "%s is not replicating (Slave_IO_Running: %s, Slave_SQL_Running: %s)", a,
                 in->io_running_text[0] ? in->io_running_text : "?",
                 in->sql_running_text[0] ? in->sql_running_text : "?");
        return false;
    }
    if (!in->replication_lag_seconds.valid) {
        orc_errf(why, len, "cannot determine the replication lag of %s", a);
        return false;
    }
    if (in->replication_lag_seconds.value > lim->max_lag_s) {
        orc_errf(why, len,
                 "%s lags too much: %lld seconds, more than "
                 "ReasonableMaintenanceReplicationLagSeconds (%lld)",
                 a, (long long)in->replication_lag_seconds.value, (long long)lim->max_lag_s);
        return false;
    }
    return true;
}

bool rec_is_self_or_below(const struct disc_instance *const *v,
                          size_t n,
                          const struct orc_key *top,
                          const struct orc_key *k)
{
    struct orc_key cur = *k;

    for (size_t steps = 0; steps <= n; steps++) {
        size_t i;
        if (orc_key_eq(&cur, top))
            return true;
        for (i = 0; i < n && !orc_key_eq(&v[i]->key, &cur); i++) {
        }
        if (i == n || v[i]->master_key.host[0] == '\0')
            return false;
        cur = v[i]->master_key;
    }
    return false; /* a cycle that does not contain top */
}

bool rec_uses_gtid(const struct disc_instance *in)
{
    return in->using_oracle_gtid || in->using_mariadb_gtid;
}

bool rec_serves_gtid(const struct disc_instance *in)
{
    if (!in->log_bin)
        return false;
    if (in->ver.flavor == DISC_FLAVOR_MARIADB)
        return in->ver.major >= 10;
    return in->supports_oracle_gtid;
}

bool rec_gtid_compatible(const struct disc_instance *r, const struct disc_instance *m)
{
    return (r->ver.flavor == DISC_FLAVOR_MARIADB) == (m->ver.flavor == DISC_FLAVOR_MARIADB);
}

/* ======================================================================
 * Shared: refresh
 * ====================================================================== */

static bool expect_met(const struct disc_snapshot *s, const struct rec_expect *e)
{
    int i = disc_snapshot_find(s, &e->key);
    const struct disc_instance *in;

    if (i < 0)
        return false;
    in = s->instances[i];
    if (e->check_master && !orc_key_eq(&in->master_key, &e->master))
        return false;
    if (e->read_only >= 0 && in->read_only != (e->read_only == 1))
        return false;
    if (e->replicating == 1 && in->sql_state != DISC_THREAD_RUNNING)
        return false;
    if (e->replicating == 0 && in->sql_state == DISC_THREAD_RUNNING)
        return false;
    return true;
}

bool rec_planned_refresh(struct rec_env *env,
                         const struct rec_expect *e,
                         size_t n,
                         int64_t timeout_ms)
{
    int64_t deadline = orc_mono_ms() + timeout_ms, next_probe = 0;

    if (env->topo == NULL)
        return false;
    for (;;) {
        int64_t now = orc_mono_ms();
        struct disc_snapshot *s;
        bool ok = true;
        if (now >= next_probe) {
            for (size_t i = 0; i < n; i++)
                disc_topo_probe_soon(env->topo, &e[i].key);
            next_probe = now + REPROBE_EVERY_MS;
        }
        s = disc_topo_snapshot(env->topo);
        for (size_t i = 0; s != NULL && ok && i < n; i++)
            ok = expect_met(s, &e[i]);
        disc_snapshot_put(s);
        if (s != NULL && ok)
            return true;
        if (now >= deadline)
            return false;
        orc_sleep_ms(20);
    }
}

/* ======================================================================
 * One operation
 * ====================================================================== */

struct op {
    struct rec_env *env;
    const struct rec_planned_request *req;
    struct rec_planned_result *out;
    struct rec_move_limits lim;
    struct disc_snapshot *snap;
    struct rec_session *s;
    char cluster[ORC_KEY_STRLEN];
    /* fresh readings */
    struct disc_instance in;     /* the instance */
    struct disc_instance master; /* its master (move-up, take-master) */
    struct disc_instance dest;   /* where it goes */
    bool gtid;                   /* positioning: GTID, else file:pos */
    bool noop;                   /* already where asked */
    struct orc_key dest_key;
    char k[ORC_KEY_STRLEN], d[ORC_KEY_STRLEN];
    struct rec_op run; /* uid, epoch checks between steps, errors */
};

static const char *const op_names[] = {
    [REC_OP_MOVE_UP] = "move-up",
    [REC_OP_MOVE_BELOW] = "move-below",
    [REC_OP_REPOINT] = "repoint",
    [REC_OP_RELOCATE] = "relocate",
    [REC_OP_TAKE_MASTER] = "take-master",
    [REC_OP_STOP_REPLICA] = "stop-replica",
    [REC_OP_START_REPLICA] = "start-replica",
    [REC_OP_SET_READ_ONLY] = "set-read-only",
    [REC_OP_SET_WRITEABLE] = "set-writeable",
};

const char *rec_planned_op_name(enum rec_planned_op op)
{
    if ((size_t)op >= ORC_ARRAY_LEN(op_names) || op_names[op] == NULL)
        return "unknown";
    return op_names[op];
}

static bool is_move(enum rec_planned_op op)
{
    return op <= REC_OP_TAKE_MASTER;
}

static int refuse(char *errmsg, size_t len, int rc, const char *why)
{
    orc_errf(errmsg, len, "%s", why);
    return rc;
}

static int64_t catch_up_ms(const struct op *x)
{
    int64_t ms = x->lim.max_lag_s * 1000;

    return ms < MIN_CATCH_UP_MS ? MIN_CATCH_UP_MS : ms;
}

/* Reads k fresh into *out; a failure is a refusal naming the role. */
static int read_fresh(struct op *x,
                      const struct orc_key *k,
                      const char *role,
                      struct disc_instance *out,
                      char *errmsg,
                      size_t len)
{
    char ks[ORC_KEY_STRLEN];
    int rc;

    if (k->host[0] == '\0') {
        orc_errf(errmsg, len, "%s: no such instance", role);
        return ORC_ESTATE;
    }
    rc = rec_read(x->s, k, out, errmsg, len);
    if (rc != 0) {
        orc_errprefix(errmsg, len, "cannot read %s %s", role, orc_key_str(k, ks, sizeof(ks)));
        return ORC_ESTATE;
    }
    return 0;
}

static int need_replica(const struct op *x, char *errmsg, size_t len)
{
    if (disc_instance_is_replica(&x->in))
        return 0;
    orc_errf(errmsg, len, "%s is not a replica", x->k);
    return ORC_ESTATE;
}

static int check_move(struct op *x, char *errmsg, size_t len)
{
    char why[ORC_ERRMSG_SIZE];

    if (!rec_can_move(&x->in, &x->lim, why, sizeof(why)))
        return refuse(errmsg, len, ORC_ESTATE, why);
    return 0;
}

static int check_replicate(struct op *x,
                           const struct disc_instance *r,
                           const struct disc_instance *m,
                           char *errmsg,
                           size_t len)
{
    char why[ORC_ERRMSG_SIZE];

    if (rec_can_replicate_from(r, m, &x->lim, why, sizeof(why)))
        return 0;
    orc_errf(errmsg, len, "CanReplicateFrom refuses: %s", why);
    return ORC_ESTATE;
}

/* Refuses a destination that is the instance or replicates from it. */
static int check_loop(struct op *x, const struct orc_key *dest, char *errmsg, size_t len)
{
    if (orc_key_eq(dest, &x->req->key)) {
        orc_errf(errmsg, len, "cannot move %s below itself", x->k);
        return ORC_EINVAL;
    }
    if (rec_is_self_or_below(x->snap->instances, x->snap->n, &x->req->key, dest)) {
        orc_errf(errmsg, len, "%s replicates from %s: moving %s below it would make a loop", x->d,
                 x->k, x->k);
        return ORC_EINVAL;
    }
    return 0;
}

static bool gtid_pair(const struct disc_instance *r, const struct disc_instance *m)
{
    return rec_uses_gtid(r) && rec_serves_gtid(m) && rec_gtid_compatible(r, m);
}

static int no_gtid(char *errmsg, size_t len)
{
    orc_errf(errmsg, len, "requires GTID (file:pos relocation is not supported)");
    return ORC_ESTATE;
}

/* ---- checks per operation (fresh readings; nothing touched yet) ---- */

static void set_dest(struct op *x, const struct orc_key *k)
{
    x->dest_key = *k;
    orc_key_str(k, x->d, sizeof(x->d));
}

static int check_move_up(struct op *x, char *errmsg, size_t len)
{
    char mk[ORC_KEY_STRLEN];
    int rc = check_move(x, errmsg, len);

    if (rc == 0)
        rc = read_fresh(x, &x->in.master_key, "master", &x->master, errmsg, len);
    if (rc != 0)
        return rc;
    orc_key_str(&x->master.key, mk, sizeof(mk));
    if (!disc_instance_is_replica(&x->master)) {
        orc_errf(errmsg, len, "%s's master %s is not a replica itself: nothing to move up to", x->k,
                 mk);
        return ORC_ESTATE;
    }
    set_dest(x, &x->master.master_key);
    rc = read_fresh(x, &x->dest_key, "grandparent", &x->dest, errmsg, len);
    if (rc == 0)
        rc = check_replicate(x, &x->in, &x->dest, errmsg, len);
    if (rc != 0)
        return rc;
    x->gtid = gtid_pair(&x->in, &x->dest);
    if (!x->gtid && !(x->master.log_bin && x->master.log_replica_updates))
        return no_gtid(errmsg, len); /* the catch-up needs the master's own binary log */
    return 0;
}

static int check_move_below(struct op *x, char *errmsg, size_t len)
{
    char a[ORC_KEY_STRLEN], b[ORC_KEY_STRLEN];
    int rc;

    set_dest(x, &x->req->target);
    rc = check_loop(x, &x->dest_key, errmsg, len);
    if (rc == 0)
        rc = check_move(x, errmsg, len);
    if (rc == 0)
        rc = read_fresh(x, &x->dest_key, "sibling", &x->dest, errmsg, len);
    if (rc != 0)
        return rc;
    if (!disc_instance_is_replica(&x->dest) ||
        !orc_key_eq(&x->dest.master_key, &x->in.master_key)) {
        orc_errf(errmsg, len, "%s is not a sibling of %s: they replicate from '%s' and '%s'", x->d,
                 x->k, orc_key_str(&x->dest.master_key, a, sizeof(a)),
                 orc_key_str(&x->in.master_key, b, sizeof(b)));
        return ORC_ESTATE;
    }
    rc = check_replicate(x, &x->in, &x->dest, errmsg, len);
    if (rc == 0 && !(x->gtid = gtid_pair(&x->in, &x->dest)))
        rc = no_gtid(errmsg, len);
    return rc;
}

static int check_repoint(struct op *x, char *errmsg, size_t len)
{
    int rc = need_replica(x, errmsg, len);

    if (rc != 0)
        return rc;
    set_dest(x, x->req->target.host[0] ? &x->req->target : &x->in.master_key);
    rc = check_loop(x, &x->dest_key, errmsg, len);
    if (rc == 0)
        rc = read_fresh(x, &x->dest_key, "master", &x->dest, errmsg, len);
    if (rc == 0)
        rc = check_replicate(x, &x->in, &x->dest, errmsg, len);
    if (rc != 0)
        return rc;
    x->gtid = gtid_pair(&x->in, &x->dest);
    /* Without GTID only the current master is safe: its coordinates are the
     * replica's own executed ones. */
    if (!x->gtid && !orc_key_eq(&x->dest_key, &x->in.master_key))
        return no_gtid(errmsg, len);
    return 0;
}

static int check_relocate(struct op *x, char *errmsg, size_t len)
{
    int rc;

    set_dest(x, &x->req->target);
    rc = check_loop(x, &x->dest_key, errmsg, len);
    if (rc == 0)
        rc = check_move(x, errmsg, len);
    if (rc == 0)
        rc = read_fresh(x, &x->dest_key, "destination", &x->dest, errmsg, len);
    if (rc != 0)
        return rc;
    if (orc_key_eq(&x->dest_key, &x->in.master_key)) {
        x->noop = true;
        return 0;
    }
    rc = check_replicate(x, &x->in, &x->dest, errmsg, len);
    if (rc != 0 || (x->gtid = gtid_pair(&x->in, &x->dest)))
        return rc;
    /* file:pos: only onto the grandparent (the move-up path) */
    rc = read_fresh(x, &x->in.master_key, "master", &x->master, errmsg, len);
    if (rc == 0 && (!orc_key_eq(&x->master.master_key, &x->dest_key) || !x->master.log_bin ||
                    !x->master.log_replica_updates))
        rc = no_gtid(errmsg, len);
    return rc;
}

static int check_take_master(struct op *x, char *errmsg, size_t len)
{
    char mk[ORC_KEY_STRLEN];
    int rc = check_move(x, errmsg, len), i;

    if (rc == 0)
        rc = read_fresh(x, &x->in.master_key, "master", &x->master, errmsg, len);
    if (rc != 0)
        return rc;
    orc_key_str(&x->master.key, mk, sizeof(mk));
    if (!disc_instance_is_replica(&x->master)) {
        orc_errf(errmsg, len,
                 "%s's master %s is not a replica itself (it is the cluster master): use "
                 "graceful-master-takeover",
                 x->k, mk);
        return ORC_ESTATE;
    }
    i = disc_snapshot_find(x->snap, &x->master.key);
    if (i >= 0 && x->snap->instances[i]->is_co_master) {
        orc_errf(errmsg, len, "%s's master %s is a co-master: not supported", x->k, mk);
        return ORC_ESTATE;
    }
    set_dest(x, &x->master.master_key);
    rc = read_fresh(x, &x->dest_key, "grandparent", &x->dest, errmsg, len);
    if (rc == 0)
        rc = check_replicate(x, &x->master, &x->in, errmsg, len);
    if (rc == 0)
        rc = check_replicate(x, &x->in, &x->dest, errmsg, len);
    if (rc != 0)
        return rc;
    x->gtid = gtid_pair(&x->in, &x->dest) && gtid_pair(&x->master, &x->in);
    if (!x->gtid && !(x->master.log_bin && x->master.log_replica_updates))
        return no_gtid(errmsg, len);
    return 0;
}

static int op_check(struct op *x, char *errmsg, size_t len)
{
    switch (x->req->op) {
        case REC_OP_MOVE_UP:
            return check_move_up(x, errmsg, len);
        case REC_OP_MOVE_BELOW:
            return check_move_below(x, errmsg, len);
        case REC_OP_REPOINT:
            return check_repoint(x, errmsg, len);
        case REC_OP_RELOCATE:
            return check_relocate(x, errmsg, len);
        case REC_OP_TAKE_MASTER:
            return check_take_master(x, errmsg, len);
        case REC_OP_STOP_REPLICA:
        case REC_OP_START_REPLICA:
            return need_replica(x, errmsg, len);
        case REC_OP_SET_READ_ONLY:
        case REC_OP_SET_WRITEABLE:
            return 0;
    }
    orc_errf(errmsg, len, "unknown operation %d", (int)x->req->op);
    return ORC_EINVAL;
}

/* ---- acting ---- */

/* Keeps the first error: later cleanup steps never hide the root cause. */
static void keep_first(int *rc, int r, char *errmsg, size_t len, const char *err)
{
    if (*rc == 0 && r != 0) {
        *rc = r;
        orc_errf(errmsg, len, "%s", err);
    }
}

/* file:pos move-up: freeze the master, let the instance apply all of the
 * master's binary log, point it at the grandparent at the master's executed
 * coordinates, restart the master. */
static int act_move_up_coords(struct op *x, char *errmsg, size_t len)
{
    struct disc_instance m, tmp;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = rec_stop_replica(x->s, &x->master, errmsg, len);

    if (rc != 0)
        return rc;
    disc_instance_init(&m);
    disc_instance_init(&tmp);
    rc = rec_read(x->s, &x->master.key, &m, errmsg, len);
    if (rc == 0)
        rc = rec_wait_exec_reaches(x->s, &x->in.key, &m.self_coords, catch_up_ms(x), &tmp, errmsg,
                                   len);
    if (rc == 0)
        rc =
            rec_change_master_coords(x->s, &x->in, &x->dest_key, &m.exec_coords, true, errmsg, len);
    keep_first(&rc, rec_start_replica(x->s, &x->master, err, sizeof(err)), errmsg, len, err);
    disc_instance_release(&m);
    disc_instance_release(&tmp);
    return rc;
}

/* GTID move-below: stop the instance, let the sibling reach what it
 * executed (so it never asks the sibling for transactions it lacks), then
 * point it at the sibling. */
static int act_move_below(struct op *x, char *errmsg, size_t len)
{
    struct disc_instance me, tmp;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = rec_stop_replica(x->s, &x->in, errmsg, len);

    if (rc != 0)
        return rc;
    disc_instance_init(&me);
    disc_instance_init(&tmp);
    rc = rec_read(x->s, &x->in.key, &me, errmsg, len);
    if (rc == 0 && rec_coords_cmp(&x->dest.exec_coords, &me.exec_coords) < 0) {
        rc = rec_wait_exec_reaches(x->s, &x->dest_key, &me.exec_coords, catch_up_ms(x), &tmp,
                                   errmsg, len);
        if (rc != 0)
            orc_errprefix(errmsg, len, "sibling %s did not catch up with %s", x->d, x->k);
    }
    if (rc == 0)
        rc = rec_change_master_gtid(x->s, &x->in, &x->dest_key, true, errmsg, len);
    else /* nothing changed: replicate again as before */
        keep_first(&rc, rec_start_replica(x->s, &x->in, err, sizeof(err)), errmsg, len, err);
    disc_instance_release(&me);
    disc_instance_release(&tmp);
    return rc;
}

static int act_repoint(struct op *x, char *errmsg, size_t len)
{
    struct disc_instance me;
    int rc;

    if (x->gtid)
        return rec_change_master_gtid(x->s, &x->in, &x->dest_key, true, errmsg, len);
    rc = rec_stop_replica(x->s, &x->in, errmsg, len);
    if (rc != 0)
        return rc;
    disc_instance_init(&me);
    rc = rec_read(x->s, &x->in.key, &me, errmsg, len);
    if (rc == 0)
        rc = rec_change_master_coords(x->s, &x->in, &x->dest_key, &me.exec_coords, true, errmsg,
                                      len);
    disc_instance_release(&me);
    return rc;
}

/* Both stopped and caught up: the instance goes under the grandparent, its
 * master under it. */
static int swap_masters(struct op *x,
                        const struct disc_instance *m,
                        const struct disc_instance *me,
                        char *errmsg,
                        size_t len)
{
    int rc;

    if (x->gtid) {
        rc = rec_change_master_gtid(x->s, &x->in, &x->dest_key, false, errmsg, len);
        if (rc == 0)
            rc = rec_demote_gtid(x->s, m, &x->in.key, NULL, false, errmsg, len);
        return rc;
    }
    rc = rec_change_master_coords(x->s, &x->in, &x->dest_key, &m->exec_coords, false, errmsg, len);
    if (rc == 0)
        rc = rec_change_master_coords(x->s, m, &x->in.key, &me->self_coords, false, errmsg, len);
    return rc;
}

static int act_take_master(struct op *x, char *errmsg, size_t len)
{
    struct disc_instance m, me, tmp;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = rec_stop_replica(x->s, &x->master, errmsg, len);

    if (rc != 0)
        return rc;
    disc_instance_init(&m);
    disc_instance_init(&me);
    disc_instance_init(&tmp);
    rc = rec_read(x->s, &x->master.key, &m, errmsg, len);
    if (rc == 0)
        rc = rec_wait_exec_reaches(x->s, &x->in.key, &m.self_coords, catch_up_ms(x), &tmp, errmsg,
                                   len);
    if (rc == 0)
        rc = rec_stop_replica(x->s, &x->in, errmsg, len);
    if (rc == 0)
        rc = rec_read(x->s, &x->in.key, &me, errmsg, len);
    if (rc == 0)
        rc = swap_masters(x, &m, &me, errmsg, len);
    /* Whatever happened, both replicate again (from wherever they point). */
    keep_first(&rc, rec_start_replica(x->s, &x->in, err, sizeof(err)), errmsg, len, err);
    keep_first(&rc, rec_start_replica(x->s, &x->master, err, sizeof(err)), errmsg, len, err);
    disc_instance_release(&m);
    disc_instance_release(&me);
    disc_instance_release(&tmp);
    return rc;
}

/* An operator making an instance writable overrides the fence a failover
 * left on it (fence.c would otherwise make it read-only again). */
static int unfence(struct op *x, char *errmsg, size_t len)
{
    if (x->env->submit == NULL)
        return 0;
    return x->env->submit(
        x->env->node, "unfence-instance",
        json_pack("{s:{s:s, s:i}}", "Key", "Hostname", x->in.key.host, "Port", x->in.key.port),
        errmsg, len);
}

static int op_act(struct op *x, char *errmsg, size_t len)
{
    bool super = x->env->cfg->UseSuperReadOnly;

    switch (x->req->op) {
        case REC_OP_MOVE_UP:
            if (x->gtid)
                return rec_change_master_gtid(x->s, &x->in, &x->dest_key, true, errmsg, len);
            return act_move_up_coords(x, errmsg, len);
        case REC_OP_MOVE_BELOW:
            return act_move_below(x, errmsg, len);
        case REC_OP_REPOINT:
            return act_repoint(x, errmsg, len);
        case REC_OP_RELOCATE:
            if (x->noop)
                return 0;
            if (x->gtid)
                return rec_change_master_gtid(x->s, &x->in, &x->dest_key, true, errmsg, len);
            return act_move_up_coords(x, errmsg, len);
        case REC_OP_TAKE_MASTER:
            return act_take_master(x, errmsg, len);
        case REC_OP_STOP_REPLICA:
            return rec_stop_replica(x->s, &x->in, errmsg, len);
        case REC_OP_START_REPLICA:
            return rec_start_replica(x->s, &x->in, errmsg, len);
        case REC_OP_SET_READ_ONLY:
            return rec_set_read_only(x->s, &x->in, true, super, errmsg, len);
        case REC_OP_SET_WRITEABLE:
            if (unfence(x, errmsg, len) != 0)
                return ORC_EDB;
            return rec_set_read_only(x->s, &x->in, false, super, errmsg, len);
    }
    return ORC_EINVAL;
}

/* ---- the run ---- */

static int op_prepare(struct op *x, char *errmsg, size_t len)
{
    struct rec_session_options so;
    char ks[ORC_KEY_STRLEN];
    int i, rc;

    if ((rc = rec_snapshot_find(x->env, &x->req->key, &x->snap, &i, errmsg, len)) != 0)
        return rc;
    orc_strlcpy(x->cluster, x->snap->instances[i]->cluster_name, sizeof(x->cluster));
    if (is_move(x->req->op) && x->snap->annots != NULL && x->snap->annots[i].in_maintenance) {
        orc_errf(errmsg, len, "%s is under maintenance", x->k);
        return ORC_ESTATE;
    }
    if (x->req->target.host[0] != '\0' && disc_snapshot_find(x->snap, &x->req->target) < 0) {
        orc_errf(errmsg, len, "instance '%s' not found",
                 orc_key_str(&x->req->target, ks, sizeof(ks)));
        return ORC_ENOTFOUND;
    }
    rec_env_session_options(x->env, &so);
    rc = rec_session_new(&so, &x->s);
    if (rc == 0)
        rc = read_fresh(x, &x->req->key, "instance", &x->in, errmsg, len);
    return rc;
}

static void op_message(struct op *x)
{
    char *m = x->out->message, mk[ORC_KEY_STRLEN];
    size_t n = sizeof(x->out->message);

    switch (x->req->op) {
        case REC_OP_MOVE_UP:
            snprintf(m, n, "Instance %s moved up below %s", x->k, x->d);
            break;
        case REC_OP_MOVE_BELOW:
            snprintf(m, n, "Instance %s moved below %s", x->k, x->d);
            break;
        case REC_OP_REPOINT:
            snprintf(m, n, "Instance %s repointed below %s", x->k, x->d);
            break;
        case REC_OP_RELOCATE:
            snprintf(m, n,
                     x->noop ? "Instance %s already replicates from %s"
                             : "Instance %s relocated below %s",
                     x->k, x->d);
            break;
        case REC_OP_TAKE_MASTER:
            snprintf(m, n, "Instance %s took its master %s, which now replicates from it", x->k,
                     orc_key_str(&x->master.key, mk, sizeof(mk)));
            break;
        case REC_OP_STOP_REPLICA:
            snprintf(m, n, "Replica stopped: %s", x->k);
            break;
        case REC_OP_START_REPLICA:
            snprintf(m, n, "Replica started: %s", x->k);
            break;
        case REC_OP_SET_READ_ONLY:
            snprintf(m, n, "Server set as read-only: %s", x->k);
            break;
        case REC_OP_SET_WRITEABLE:
            snprintf(m, n, "Server set as writeable: %s", x->k);
            break;
    }
}

/* What the snapshot must show afterwards. */
static size_t op_expect(struct op *x, struct rec_expect *e)
{
    size_t n = 1;

    memset(e, 0, 2 * sizeof(*e));
    e[0].key = x->in.key;
    e[0].read_only = e[1].read_only = -1;
    e[0].replicating = e[1].replicating = -1;
    if (is_move(x->req->op)) {
        e[0].check_master = true;
        e[0].master = x->dest_key;
    }
    if (x->req->op == REC_OP_TAKE_MASTER) {
        e[1].key = x->master.key;
        e[1].check_master = true;
        e[1].master = x->in.key;
        n = 2;
    }
    if (x->req->op == REC_OP_STOP_REPLICA || x->req->op == REC_OP_START_REPLICA)
        e[0].replicating = x->req->op == REC_OP_START_REPLICA;
    if (x->req->op == REC_OP_SET_READ_ONLY || x->req->op == REC_OP_SET_WRITEABLE)
        e[0].read_only = x->req->op == REC_OP_SET_READ_ONLY;
    return n;
}

/* PostTakeMasterProcesses, after a successful take-master: the instance is
 * the successor, its former master the demoted ("failed") one. Failures
 * are logged and recorded, never undo the move (as orchestrator). */
static void post_take_master_hooks(struct op *x)
{
    const struct orc_strlist *l = &x->env->cfg->PostTakeMasterProcesses;
    struct rec_hooks_options o;
    struct rec_hook_ctx h;
    char host[128] = "", err[ORC_ERRMSG_SIZE] = "";

    if (x->req->op != REC_OP_TAKE_MASTER || x->noop || l->n == 0)
        return;
    gethostname(host, sizeof(host) - 1);
    memset(&h, 0, sizeof(h));
    h.failure_type = "";
    h.instance_type = "master";
    h.failure_description = "take-master";
    h.command = "take-master";
    h.failed = x->master.key;
    h.failed_data_center = x->master.data_center;
    h.cluster = x->cluster;
    h.cluster_alias = "";
    h.orchestrator_host = host;
    h.recovery_uid = x->run.uid;
    h.successor = &x->in.key;
    h.successor_alias = "";
    memset(&o, 0, sizeof(o));
    o.shell = x->env->cfg->ProcessesShellCommand;
    o.list = "PostTakeMasterProcesses";
    o.tracker = x->env->hooks_tracker;
    if (rec_hooks_run(&o, (const char *const *)l->v, l->n, &h, false, err, sizeof(err)) != 0)
        rec_op_error(&x->run, err);
    else
        rec_op_step(&x->run, "ran PostTakeMasterProcesses: ok");
}

static void op_finish(struct op *x, int64_t took_ms)
{
    struct rec_expect e[2];
    size_t n = op_expect(x, e);
    char how[ORC_KEY_STRLEN + 64] = "";

    op_message(x);
    if (is_move(x->req->op) && !x->noop)
        snprintf(how, sizeof(how), "; previous master: %s:%d; %s", x->in.master_key.host,
                 x->in.master_key.port, x->gtid ? "GTID" : "file:pos");
    rec_op_audit(x->env, rec_planned_op_name(x->req->op), &x->in.key, x->cluster,
                 "%s%s; by %s in %lld ms", x->out->message, how,
                 x->req->user ? x->req->user : "api", (long long)took_ms);
    post_take_master_hooks(x);
    x->out->fresh = rec_planned_refresh(x->env, e, n, REFRESH_MS);
    x->out->master = is_move(x->req->op) ? x->dest_key : x->in.master_key;
    if (!x->out->fresh)
        ORC_LOG_W("+planned-op-stale", "op=%s instance=%s: the topology does not show it yet",
                  rec_planned_op_name(x->req->op), x->k);
}

/* ---- the run: a description of its steps ---- */

static int step_prepare(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    (void)op;
    return op_prepare(ctx, errmsg, len);
}

static int step_check(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    (void)op;
    return op_check(ctx, errmsg, len);
}

/* As orchestrator: a move holds maintenance on what it changes. */
static int step_maintenance(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct op *x = ctx;
    int rc = 0;

    if (is_move(x->req->op) && !x->noop)
        rc = rec_op_maintenance_begin(op, &x->in.key, rec_planned_op_name(x->req->op),
                                      MAINTENANCE_S, errmsg, len);
    if (rc == 0 && x->req->op == REC_OP_TAKE_MASTER)
        rc = rec_op_maintenance_begin(op, &x->master.key, rec_planned_op_name(x->req->op),
                                      MAINTENANCE_S, errmsg, len);
    return rc;
}

static int step_act(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct op *x = ctx;
    const char *name = rec_planned_op_name(x->req->op);
    int rc;

    (void)op;
    ORC_LOG_N("+planned-op-start", "op=%s instance=%s destination=%s positioning=%s", name, x->k,
              x->d, x->gtid ? "gtid" : "file:pos");
    rc = op_act(x, errmsg, len);
    if (rc != 0)
        ORC_LOG_E("+planned-op-failed", "op=%s instance=%s error=\"%s\"", name, x->k, errmsg);
    return rc;
}

static const struct rec_op_step planned_steps[] = {
    {"prepare", step_prepare},
    {"check", step_check},
    {"maintenance", step_maintenance},
    {"act", step_act},
};

int rec_planned_run(struct rec_env *env,
                    const struct rec_planned_request *req,
                    struct rec_planned_result *out,
                    char *errmsg,
                    size_t len)
{
    const char *name = rec_planned_op_name(req->op);
    int64_t t0 = orc_mono_ms();
    struct op x;
    int rc;

    memset(&x, 0, sizeof(x));
    memset(out, 0, sizeof(*out));
    x.env = env;
    x.req = req;
    x.out = out;
    x.lim.max_lag_s = env->cfg->ReasonableMaintenanceReplicationLagSeconds;
    x.lim.verify_filters = env->cfg->VerifyReplicationFilters;
    disc_instance_init(&x.in);
    disc_instance_init(&x.master);
    disc_instance_init(&x.dest);
    orc_key_str(&req->key, x.k, sizeof(x.k));
    out->key = req->key;
    rc = rec_op_init(&x.run, env, "planned-op", NULL);
    if (rc == 0 && x.run.epoch == 0) {
        orc_errf(errmsg, len, "this node is not the leader");
        rc = ORC_EPERM;
    }
    if (rc == 0)
        rc = rec_op_run_steps(&x.run, planned_steps, ORC_ARRAY_LEN(planned_steps), &x, errmsg, len);
    rec_op_maintenance_end(&x.run);
    if (rc == 0)
        op_finish(&x, orc_mono_ms() - t0);
    else
        orc_errprefix(errmsg, len, "%s", name);
    rec_op_release(&x.run);
    rec_session_free(x.s);
    disc_snapshot_put(x.snap);
    disc_instance_release(&x.in);
    disc_instance_release(&x.master);
    disc_instance_release(&x.dest);
    return rc;
}
