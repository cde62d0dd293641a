/*
 * Unit tests of the failure analysis (recovery/analysis.c): snapshots built
 * by hand, one rule of the reference's table at a time, with the boundaries
 * between neighbouring codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recovery/rec.h"

#define NOW_MS 1700000000000LL
#define MAXI 16

/* ---- a small snapshot builder ---- */

struct tb {
    struct disc_snapshot s;
    struct disc_instance in[MAXI];
    const struct disc_instance *pin[MAXI]; /* the snapshot's view of in */
    struct disc_annot an[MAXI];
    struct disc_cluster cl[4];
    struct rec_analysis_options o;
    struct rec_analysis_list l;
};

static struct tb *tb_new(void)
{
    struct tb *b = calloc(1, sizeof(*b));

    assert_non_null(b);
    b->s.taken_ms = NOW_MS;
    b->s.poll_ms = 5000;
    b->s.reasonable_check_ms = 1000;
    b->s.reasonable_lag_s = 10;
    for (size_t i = 0; i < MAXI; i++)
        b->pin[i] = &b->in[i];
    b->s.instances = b->pin;
    b->s.annots = b->an;
    b->s.clusters = b->cl;
    rec_analysis_options_init(&b->o);
    rec_analysis_list_init(&b->l);
    return b;
}

static void tb_free(struct tb *b)
{
    for (size_t i = 0; i < b->s.n; i++)
        disc_instance_release(&b->in[i]);
    rec_analysis_list_release(&b->l);
    rec_analysis_options_release(&b->o);
    free(b);
}

static struct orc_key key(const char *host)
{
    struct orc_key k;

    memset(&k, 0, sizeof(k));
    orc_strlcpy(k.host, host, sizeof(k.host));
    k.port = 3306;
    return k;
}

/* Starts a new cluster: the instances added next belong to it. */
static void tb_cluster(struct tb *b, const char *name, const char *alias)
{
    struct disc_cluster *c = &b->cl[b->s.nclusters++];

    orc_strlcpy(c->name, name, sizeof(c->name));
    orc_strlcpy(c->alias, alias ? alias : "", sizeof(c->alias));
    c->first = b->s.n;
    c->master = (int)b->s.n;
}

/* Adds a healthy instance: probed a second ago, binlogs with replica updates
 * (ROW), MariaDB 10.11; with a master, both threads run over MariaDB GTID. */
static struct disc_instance *tb_add(struct tb *b, const char *host, const char *master, int depth)
{
    struct disc_instance *in = &b->in[b->s.n];

    if (b->s.nclusters == 0)
        tb_cluster(b, "m:3306", NULL);
    disc_instance_init(in);
    in->key = key(host);
    in->last_checked_ms = in->last_seen_ms = in->last_attempted_check_ms = NOW_MS - 1000;
    in->last_check_partial_success = true;
    in->log_bin = in->log_replica_updates = true;
    orc_strlcpy(in->binlog_format, "ROW", sizeof(in->binlog_format));
    in->ver = (struct disc_version){DISC_FLAVOR_MARIADB, 10, 11, 6};
    orc_strlcpy(in->self_coords.file, "bin.000001", sizeof(in->self_coords.file));
    in->self_coords.pos = 1000;
    in->replication_depth = depth;
    if (master != NULL) {
        in->master_key = key(master);
        in->io_state = in->sql_state = DISC_THREAD_RUNNING;
        in->using_mariadb_gtid = true;
        in->replication_lag_seconds = (struct disc_nullint){0, true};
    }
    orc_strlcpy(in->cluster_name, b->cl[b->s.nclusters - 1].name, sizeof(in->cluster_name));
    b->cl[b->s.nclusters - 1].count++;
    b->s.n++;
    return in;
}

/* The last probe failed (connection refused: no partial success). */
static void dead(struct disc_instance *in)
{
    in->last_seen_ms = NOW_MS - 20000;
    in->last_check_partial_success = false;
}

/* The IO thread lost its master and is retrying, as MariaDB reports it. */
static void connecting(struct disc_instance *in)
{
    in->io_state = DISC_THREAD_OTHER;
    disc_instance_set_str(&in->last_io_error,
                          "error reconnecting to master 'repl@m:3306' - retry-time: 1  "
                          "maximum-retries: 100000  message: Can't connect to server");
}

static void sql_stopped(struct disc_instance *in)
{
    in->sql_state = DISC_THREAD_STOPPED;
}

/* star: m with replicas r1..rn (n <= 9). */
static struct tb *star(int n, struct disc_instance **m, struct disc_instance **r)
{
    struct tb *b = tb_new();
    char host[16];

    *m = tb_add(b, "m", NULL, 0);
    for (int i = 0; i < n; i++) {
        snprintf(host, sizeof(host), "r%d", i + 1);
        r[i] = tb_add(b, host, "m", 1);
    }
    return b;
}

/* chain: m -> im -> r1..rn. */
static struct tb *chain(int n, struct disc_instance **im, struct disc_instance **r)
{
    struct tb *b = tb_new();
    char host[16];

    tb_add(b, "m", NULL, 0);
    *im = tb_add(b, "im", "m", 1);
    for (int i = 0; i < n; i++) {
        snprintf(host, sizeof(host), "r%d", i + 1);
        r[i] = tb_add(b, host, "im", 2);
    }
    return b;
}

static void run(struct tb *b)
{
    rec_analysis_list_release(&b->l);
    assert_int_equal(rec_analysis_run(&b->s, &b->o, &b->l), 0);
}

/* The entry of host (asserted present). */
static const struct rec_analysis *entry(struct tb *b, const char *host)
{
    struct orc_key k = key(host);
    const struct rec_analysis *a = rec_analysis_find(&b->l, &k);

    if (a == NULL)
        fail_msg("no analysis entry for %s", host);
    return a;
}

static const char *code_of(struct tb *b, const char *host)
{
    return rec_code_name(entry(b, host)->code);
}

static bool has_entry(struct tb *b, const char *host)
{
    struct orc_key k = key(host);

    return rec_analysis_find(&b->l, &k) != NULL;
}

static bool warned(const struct rec_analysis *a, enum rec_structure w)
{
    return (a->structure & (1u << w)) != 0;
}

/* ---- healthy topologies ---- */

static void test_healthy_star_has_no_entries(void **state)
{
    struct disc_instance *m, *r[3];
    struct tb *b = star(3, &m, r);

    (void)state;
    run(b);
    assert_int_equal(b->l.n, 0);
    b->o.include_no_problem = true;
    run(b);
    /* ReduceReplicationAnalysisCount: healthy leaves are not even analysed. */
    assert_int_equal(b->l.n, 1);
    const struct rec_analysis *a = entry(b, "m");
    assert_string_equal(rec_code_name(a->code), "NoProblem");
    assert_true(a->is_master && a->last_check_valid && !a->is_actionable);
    assert_int_equal(a->count_replicas, 3);
    assert_int_equal(a->count_valid_replicas, 3);
    assert_int_equal(a->count_valid_replicating_replicas, 3);
    assert_int_equal(a->count_logging_replicas, 3);
    assert_int_equal(a->count_row_logging_replicas, 3);
    assert_int_equal(a->replicas.len, 3);
    assert_true(a->mariadb_gtid_immediate && !a->oracle_gtid_immediate);
    assert_string_equal(a->cluster_name, "m:3306");
    assert_string_equal(a->cluster_alias, "m:3306");
    b->o.reduce = false;
    run(b);
    assert_int_equal(b->l.n, 4);
    tb_free(b);
}

/* ---- dead master and its neighbours ---- */

static void test_dead_master_when_replicas_lost_it(void **state)
{
    struct disc_instance *m, *r[3];
    struct tb *b = star(3, &m, r);

    (void)state;
    dead(m);
    for (int i = 0; i < 3; i++)
        connecting(r[i]);
    run(b);
    const struct rec_analysis *a = entry(b, "m");
    assert_string_equal(rec_code_name(a->code), "DeadMaster");
    assert_true(a->is_actionable && !a->last_check_valid && a->is_master);
    assert_int_equal(a->count_replicas, 3);
    assert_int_equal(a->count_valid_replicas, 3);
    assert_int_equal(a->count_valid_replicating_replicas, 0);
    assert_int_equal(a->count_replicas_failing_to_connect, 3);
    assert_non_null(strstr(a->description, "none of its replicas is replicating"));
    /* Each replica is also a first-tier replica failing to connect. */
    assert_string_equal(code_of(b, "r1"), "FirstTierReplicaFailingToConnectToMaster");
    assert_false(entry(b, "r1")->is_actionable);
    /* The IO threads stopped without an error: still DeadMaster. */
    for (int i = 0; i < 3; i++) {
        r[i]->io_state = DISC_THREAD_STOPPED;
        disc_instance_set_str(&r[i]->last_io_error, NULL);
    }
    run(b);
    assert_string_equal(code_of(b, "m"), "DeadMaster");
    assert_int_equal(entry(b, "m")->count_replicas_failing_to_connect, 0);
    assert_false(has_entry(b, "r1"));
    tb_free(b);
}

static void test_unreachable_master_while_replicas_replicate(void **state)
{
    struct disc_instance *m, *r[3];
    struct tb *b = star(3, &m, r);

    (void)state;
    dead(m);
    run(b);
    assert_string_equal(code_of(b, "m"), "UnreachableMaster");
    assert_false(entry(b, "m")->is_actionable);
    /* One replica still replicating is enough to not call it dead. */
    connecting(r[0]);
    connecting(r[1]);
    run(b);
    assert_string_equal(code_of(b, "m"), "UnreachableMaster");
    assert_int_equal(entry(b, "m")->count_valid_replicating_replicas, 1);
    connecting(r[2]);
    run(b);
    assert_string_equal(code_of(b, "m"), "DeadMaster");
    tb_free(b);
}

static void test_unreachable_master_partial_success_needs_a_failing_replica(void **state)
{
    struct disc_instance *m, *r[3];
    struct tb *b = star(3, &m, r);

    (void)state;
    dead(m);
    m->last_check_partial_success = true; /* reachable but broken */
    run(b);
    assert_false(has_entry(b, "m")); /* NoProblem, no warnings: dropped */
    connecting(r[0]);
    run(b);
    assert_string_equal(code_of(b, "m"), "UnreachableMaster");
    assert_int_equal(entry(b, "m")->count_replicas_failing_to_connect, 1);
    tb_free(b);
}

static void test_dead_master_variants_by_replica_reachability(void **state)
{
    struct disc_instance *m, *r[3];
    struct tb *b = star(3, &m, r);

    (void)state;
    dead(m);
    connecting(r[0]);
    connecting(r[1]);
    dead(r[2]); /* last known state: still replicating */
    run(b);
    assert_string_equal(code_of(b, "m"), "DeadMasterAndSomeReplicas");
    assert_true(entry(b, "m")->is_actionable);
    assert_int_equal(entry(b, "m")->count_valid_replicas, 2);
    dead(r[0]);
    dead(r[1]);
    run(b);
    assert_string_equal(code_of(b, "m"), "DeadMasterAndReplicas");
    assert_false(entry(b, "m")->is_actionable);
    assert_int_equal(entry(b, "m")->count_valid_replicas, 0);
    tb_free(b);

    b = tb_new();
    dead(tb_add(b, "m", NULL, 0));
    run(b);
    assert_string_equal(code_of(b, "m"), "DeadMasterWithoutReplicas");
    assert_int_equal(entry(b, "m")->count_replicas, 0);
    tb_free(b);
}

static void test_dead_master_single_replica(void **state)
{
    struct disc_instance *m, *r[1];
    struct tb *b = star(1, &m, r);

    (void)state;
    dead(m);
    connecting(r[0]);
    run(b);
    assert_string_equal(code_of(b, "m"), "DeadMaster");
    assert_int_equal(entry(b, "m")->count_replicas, 1);
    tb_free(b);
}

static void test_unreachable_master_with_lagging_replicas(void **state)
{
    struct disc_instance *m, *r[2];
    struct tb *b = star(2, &m, r);

    (void)state;
    dead(m);
    r[0]->replication_lag_seconds.value = 11;
    r[1]->replication_lag_seconds.value = 30;
    run(b);
    assert_string_equal(code_of(b, "m"), "UnreachableMasterWithLaggingReplicas");
    assert_int_equal(entry(b, "m")->count_lagging_replicas, 2);
    /* At the threshold a replica is not lagging. */
    r[0]->replication_lag_seconds.value = 10;
    run(b);
    assert_string_equal(code_of(b, "m"), "UnreachableMaster");
    /* Lagging on purpose (SQL_Delay) everywhere: not the lagging code. */
    r[0]->replication_lag_seconds.value = 100;
    r[0]->sql_delay = r[1]->sql_delay = 3600;
    run(b);
    assert_string_equal(code_of(b, "m"), "UnreachableMaster");
    assert_int_equal(entry(b, "m")->count_delayed_replicas, 2);
    tb_free(b);
}

/* ---- reachable master, replicas in trouble ---- */

static void test_master_replicas_not_replicating(void **state)
{
    struct disc_instance *m, *r[3];
    struct tb *b = star(3, &m, r);

    (void)state;
    sql_stopped(r[0]);
    run(b);
    assert_false(has_entry(b, "m")); /* one of three: no code */
    sql_stopped(r[1]);
    sql_stopped(r[2]);
    run(b);
    assert_string_equal(code_of(b, "m"), "AllMasterReplicasNotReplicating");
    assert_false(entry(b, "m")->is_actionable);
    dead(r[2]);
    run(b);
    assert_string_equal(code_of(b, "m"), "AllMasterReplicasNotReplicatingOrDead");
    tb_free(b);

    b = star(1, &m, r);
    sql_stopped(r[0]);
    run(b);
    assert_string_equal(code_of(b, "m"), "MasterSingleReplicaNotReplicating");
    dead(r[0]);
    run(b);
    assert_string_equal(code_of(b, "m"), "MasterSingleReplicaDead");
    tb_free(b);
}

static void test_failing_to_connect_definition(void **state)
{
    struct disc_instance *m, *r[1];
    struct tb *b = star(1, &m, r);

    (void)state;
    /* IO stopped ("No") with the error, SQL running: failing. */
    connecting(r[0]);
    r[0]->io_state = DISC_THREAD_STOPPED;
    run(b);
    assert_true(entry(b, "r1")->is_failing_to_connect_to_master);
    assert_string_equal(code_of(b, "r1"), "FirstTierReplicaFailingToConnectToMaster");
    assert_int_equal(entry(b, "m")->count_replicas_failing_to_connect, 1);
    /* MySQL 8 words it "error connecting to source", any case. */
    disc_instance_set_str(&r[0]->last_io_error, "Error connecting to source 'repl@m:3306'.");
    run(b);
    assert_true(entry(b, "r1")->is_failing_to_connect_to_master);
    /* Another IO error is not a connection failure. */
    disc_instance_set_str(&r[0]->last_io_error, "Got fatal error 1236 from master");
    run(b);
    assert_false(has_entry(b, "r1"));
    assert_int_equal(entry(b, "m")->count_replicas_failing_to_connect, 0);
    /* SQL thread stopped too: not "failing to connect". */
    connecting(r[0]);
    sql_stopped(r[0]);
    run(b);
    assert_false(has_entry(b, "r1"));
    /* IO running: whatever the old error text says. */
    connecting(r[0]);
    r[0]->sql_state = r[0]->io_state = DISC_THREAD_RUNNING;
    run(b);
    assert_false(has_entry(b, "r1"));
    tb_free(b);
}

/* ---- semi-sync and read-only masters ---- */

static void test_semi_sync_master_codes(void **state)
{
    struct disc_instance *m, *r[2];
    struct tb *b = star(2, &m, r);
    struct rec_stale *st = rec_stale_new();

    (void)state;
    m->semi_sync_master_enabled = m->semi_sync_master_status = true;
    m->semi_sync_master_wait_for_replica_count = 2;
    m->semi_sync_master_clients = 1;
    r[0]->semi_sync_replica_enabled = true;
    run(b);
    assert_string_equal(code_of(b, "m"), "LockedSemiSyncMasterHypothesis");
    assert_false(entry(b, "m")->is_actionable);
    assert_int_equal(entry(b, "m")->count_semi_sync_replicas_enabled, 1);
    /* Coordinates seen unchanged for longer than the reasonable time: locked. */
    b->o.stale = st;
    assert_int_equal(rec_stale_observe(st, &m->key, &m->self_coords, NOW_MS - 15000), 0);
    run(b);
    assert_string_equal(code_of(b, "m"), "LockedSemiSyncMaster");
    assert_true(entry(b, "m")->is_actionable);
    /* The coordinates moved: a hypothesis again. */
    m->self_coords.pos = 2000;
    run(b);
    assert_string_equal(code_of(b, "m"), "LockedSemiSyncMasterHypothesis");
    /* Too many clients matters only with EnforceExactSemiSyncReplicas. */
    m->semi_sync_master_clients = 3;
    run(b);
    assert_false(has_entry(b, "m"));
    b->o.enforce_exact_semi_sync = true;
    run(b);
    assert_string_equal(code_of(b, "m"), "MasterWithTooManySemiSyncReplicas");
    /* Semi-sync fell back to async: a structure warning only. */
    m->semi_sync_master_status = false;
    m->semi_sync_master_clients = 0;
    run(b);
    assert_string_equal(code_of(b, "m"), "NoProblem");
    assert_true(warned(entry(b, "m"), REC_SW_NOT_ENOUGH_VALID_SEMI_SYNC_REPLICAS));
    rec_stale_free(st);
    tb_free(b);
}

static void test_read_only_master(void **state)
{
    struct disc_instance *m, *r[2];
    struct tb *b = star(2, &m, r);

    (void)state;
    m->read_only = true;
    run(b);
    assert_string_equal(code_of(b, "m"), "NoProblem");
    assert_true(warned(entry(b, "m"), REC_SW_NO_WRITEABLE_MASTER));
    b->o.recover_non_writeable_master = true;
    run(b);
    assert_string_equal(code_of(b, "m"), "NoWriteableMasterStructureWarning");
    assert_true(entry(b, "m")->is_actionable);
    tb_free(b);
}

/* ---- co-masters ---- */

static struct tb *co_pair(struct disc_instance **a, struct disc_instance **c)
{
    struct tb *b = tb_new();

    *a = tb_add(b, "a", "c", 0);
    *c = tb_add(b, "c", "a", 1);
    (*a)->is_co_master = (*c)->is_co_master = true;
    return b;
}

static void test_co_master_codes(void **state)
{
    struct disc_instance *a, *c, *x;
    struct tb *b = co_pair(&a, &c);

    (void)state;
    dead(a);
    connecting(c);
    run(b);
    assert_string_equal(code_of(b, "a"), "DeadCoMaster");
    assert_true(entry(b, "a")->is_co_master && !entry(b, "a")->is_master);
    assert_true(entry(b, "a")->is_actionable);
    c->io_state = DISC_THREAD_RUNNING;
    run(b);
    assert_string_equal(code_of(b, "a"), "UnreachableCoMaster");
    x = tb_add(b, "x", "a", 1); /* a second replica of a, unreachable */
    dead(x);
    connecting(c);
    run(b);
    assert_string_equal(code_of(b, "a"), "DeadCoMasterAndSomeReplicas");
    tb_free(b);

    b = co_pair(&a, &c);
    tb_add(b, "y", "c", 1);
    sql_stopped(&b->in[2]);
    sql_stopped(a);
    run(b);
    assert_string_equal(code_of(b, "c"), "AllCoMasterReplicasNotReplicating");
    tb_free(b);
}

/* ---- intermediate masters ---- */

static void test_dead_intermediate_master_codes(void **state)
{
    struct disc_instance *im, *r[2];
    struct tb *b = chain(2, &im, r);

    (void)state;
    dead(im);
    connecting(r[0]);
    connecting(r[1]);
    run(b);
    const struct rec_analysis *a = entry(b, "im");
    assert_string_equal(rec_code_name(a->code), "DeadIntermediateMaster");
    assert_true(a->is_actionable && !a->is_master);
    assert_int_equal(a->count_replicas, 2);
    assert_int_equal(a->replication_depth, 1);
    assert_int_equal(a->master_key.port, 3306);
    assert_string_equal(a->master_key.host, "m");
    /* Its own master sees its only replica dead. */
    assert_string_equal(code_of(b, "m"), "MasterSingleReplicaDead");
    dead(r[1]);
    run(b);
    assert_string_equal(code_of(b, "im"), "DeadIntermediateMasterAndSomeReplicas");
    assert_true(entry(b, "im")->is_actionable);
    dead(r[0]);
    run(b);
    assert_string_equal(code_of(b, "im"), "DeadIntermediateMasterAndReplicas");
    assert_false(entry(b, "im")->is_actionable);
    tb_free(b);

    b = chain(2, &im, r);
    dead(im);
    run(b);
    assert_string_equal(code_of(b, "im"), "UnreachableIntermediateMaster");
    r[0]->replication_lag_seconds.value = r[1]->replication_lag_seconds.value = 60;
    run(b);
    assert_string_equal(code_of(b, "im"), "UnreachableIntermediateMasterWithLaggingReplicas");
    tb_free(b);
}

static void test_dead_intermediate_master_single_replica(void **state)
{
    struct disc_instance *im, *r[1];
    struct tb *b = chain(1, &im, r);

    (void)state;
    dead(im);
    connecting(r[0]);
    run(b);
    assert_string_equal(code_of(b, "im"),
                        "DeadIntermediateMasterWithSingleReplicaFailingToConnect");
    assert_true(entry(b, "im")->is_actionable);
    r[0]->io_state = DISC_THREAD_STOPPED;
    disc_instance_set_str(&r[0]->last_io_error, NULL);
    run(b);
    assert_string_equal(code_of(b, "im"), "DeadIntermediateMasterWithSingleReplica");
    assert_false(entry(b, "im")->is_actionable);
    tb_free(b);
}

static void test_reachable_intermediate_master_codes(void **state)
{
    struct disc_instance *im, *r[2];
    struct tb *b = chain(2, &im, r);

    (void)state;
    connecting(r[0]);
    connecting(r[1]);
    run(b);
    assert_string_equal(code_of(b, "im"), "AllIntermediateMasterReplicasFailingToConnectOrDead");
    assert_true(entry(b, "im")->is_actionable);
    /* Second-tier replicas failing to connect are not first-tier ones. */
    assert_false(has_entry(b, "r1"));
    dead(r[1]); /* failing == valid replicas still */
    run(b);
    assert_string_equal(code_of(b, "im"), "AllIntermediateMasterReplicasFailingToConnectOrDead");
    tb_free(b);

    b = chain(2, &im, r);
    sql_stopped(r[0]);
    sql_stopped(r[1]);
    run(b);
    assert_string_equal(code_of(b, "im"), "AllIntermediateMasterReplicasNotReplicating");
    assert_false(entry(b, "im")->is_actionable);
    tb_free(b);

    /* The intermediate master itself cannot reach the master. */
    b = chain(2, &im, r);
    connecting(im);
    run(b);
    assert_string_equal(code_of(b, "im"), "FirstTierReplicaFailingToConnectToMaster");
    tb_free(b);
}

/* ---- downtime, maintenance, filters ---- */

static void test_downtime_marks_entries(void **state)
{
    struct disc_instance *m, *r[2];
    struct tb *b = star(2, &m, r);

    (void)state;
    dead(m);
    connecting(r[0]);
    connecting(r[1]);
    b->an[0].downtimed = true;
    b->an[0].downtime_end_s = NOW_MS / 1000 + 600;
    run(b);
    const struct rec_analysis *a = entry(b, "m");
    assert_string_equal(rec_code_name(a->code), "DeadMaster");
    assert_true(a->is_downtimed && a->skippable_due_to_downtime);
    assert_int_equal(a->downtime_remaining_s, 600);
    assert_int_equal(a->downtime_end_s, NOW_MS / 1000 + 600);
    b->o.include_downtimed = false;
    run(b);
    assert_false(has_entry(b, "m"));
    /* An expired downtime is no downtime. */
    b->an[0].downtime_end_s = NOW_MS / 1000 - 1;
    run(b);
    assert_false(entry(b, "m")->is_downtimed);
    assert_false(entry(b, "m")->skippable_due_to_downtime);
    tb_free(b);
}

static void test_downtimed_replicas(void **state)
{
    struct disc_instance *m, *r[2];
    struct tb *b = star(2, &m, r);

    (void)state;
    sql_stopped(r[0]);
    sql_stopped(r[1]);
    b->an[1].downtimed = b->an[2].downtimed = true;
    run(b);
    const struct rec_analysis *a = entry(b, "m");
    assert_string_equal(rec_code_name(a->code), "AllMasterReplicasNotReplicating");
    assert_int_equal(a->count_downtimed_replicas, 2);
    assert_true(a->is_replicas_downtimed && a->skippable_due_to_downtime);
    assert_false(a->is_downtimed);
    /* DeadMaster is about the master: downtimed replicas do not skip it. */
    dead(m);
    connecting(r[0]);
    connecting(r[1]);
    run(b);
    assert_string_equal(code_of(b, "m"), "DeadMaster");
    assert_false(entry(b, "m")->is_replicas_downtimed);
    assert_false(entry(b, "m")->skippable_due_to_downtime);
    /* The master back, one replica not downtimed: not skippable either. */
    b->an[2].downtimed = false;
    m->last_seen_ms = m->last_checked_ms;
    run(b);
    assert_string_equal(code_of(b, "m"), "AllMasterReplicasNotReplicating");
    assert_false(entry(b, "m")->is_replicas_downtimed);
    tb_free(b);
}

static void test_maintenance_and_never_seen_are_not_analysed(void **state)
{
    struct disc_instance *m, *r[2];
    struct tb *b = star(2, &m, r);

    (void)state;
    dead(m);
    connecting(r[0]);
    connecting(r[1]);
    b->an[0].in_maintenance = true;
    run(b);
    assert_false(has_entry(b, "m"));
    b->an[0].in_maintenance = false;
    m->last_seen_ms = 0; /* a master the replicas name but no probe ever reached */
    run(b);
    assert_false(has_entry(b, "m"));
    tb_free(b);
}

static void test_recovery_ignore_hostname_filters(void **state)
{
    struct disc_instance *m, *r[2];
    struct tb *b = star(2, &m, r);
    const char *ignore_other[] = {"^db-"};
    const char *ignore_m[] = {"^db-", "^m$"};

    (void)state;
    dead(m);
    connecting(r[0]);
    connecting(r[1]);
    assert_int_equal(
        rec_analysis_options_set_filters(&b->o, REC_FILTER_IGNORE_HOSTS, ignore_other, 1), 0);
    run(b);
    assert_string_equal(code_of(b, "m"), "DeadMaster");
    assert_int_equal(rec_analysis_options_set_filters(&b->o, REC_FILTER_IGNORE_HOSTS, ignore_m, 2),
                     0);
    run(b);
    assert_false(has_entry(b, "m"));
    assert_true(has_entry(b, "r1")); /* only the matching host is skipped */
    tb_free(b);
}

static void test_cluster_recovery_filters(void **state)
{
    struct tb *b = tb_new();
    const char *star_f[] = {"*"};
    const char *alias_f[] = {"alias=prod"};
    const char *alias_re[] = {"alias~=^pr"};
    const char *name_re[] = {"^db2"};
    const char *bad_re[] = {"(unclosed", "db2:3306"};

    (void)state;
    tb_cluster(b, "db1:3306", "prod");
    dead(tb_add(b, "db1", NULL, 0));
    tb_cluster(b, "db2:3306", NULL);
    dead(tb_add(b, "db2", NULL, 0));
    run(b);
    assert_int_equal(b->l.n, 2);
    assert_false(entry(b, "db1")->has_automated_master_recovery);
    assert_string_equal(entry(b, "db1")->cluster_alias, "prod");
    rec_analysis_options_set_filters(&b->o, REC_FILTER_RECOVER_MASTER, star_f, 1);
    run(b);
    assert_true(entry(b, "db1")->has_automated_master_recovery);
    assert_true(entry(b, "db2")->has_automated_master_recovery);
    assert_false(entry(b, "db2")->has_automated_im_recovery);
    rec_analysis_options_set_filters(&b->o, REC_FILTER_RECOVER_MASTER, alias_f, 1);
    run(b);
    assert_true(entry(b, "db1")->has_automated_master_recovery);
    assert_false(entry(b, "db2")->has_automated_master_recovery);
    rec_analysis_options_set_filters(&b->o, REC_FILTER_RECOVER_IM, alias_re, 1);
    run(b);
    assert_true(entry(b, "db1")->has_automated_im_recovery);
    rec_analysis_options_set_filters(&b->o, REC_FILTER_RECOVER_MASTER, name_re, 1);
    run(b);
    assert_false(entry(b, "db1")->has_automated_master_recovery);
    assert_true(entry(b, "db2")->has_automated_master_recovery);
    rec_analysis_options_set_filters(&b->o, REC_FILTER_RECOVER_MASTER, bad_re, 2);
    run(b);
    assert_true(entry(b, "db2")->has_automated_master_recovery); /* exact name */
    /* only_cluster */
    b->o.only_cluster = "db2:3306";
    run(b);
    assert_int_equal(b->l.n, 1);
    assert_true(has_entry(b, "db2"));
    tb_free(b);
}

/* ---- structure warnings ---- */

static void test_structure_warnings(void **state)
{
    struct disc_instance *m, *r[3];
    struct tb *b = star(3, &m, r);

    (void)state;
    for (int i = 0; i < 3; i++) {
        r[i]->log_bin = false;
        r[i]->using_mariadb_gtid = false;
    }
    run(b);
    const struct rec_analysis *a = entry(b, "m");
    assert_string_equal(rec_code_name(a->code), "NoProblem");
    assert_true(warned(a, REC_SW_NO_LOGGING_REPLICAS));
    assert_true(warned(a, REC_SW_NO_FAILOVER_SUPPORT));
    assert_false(warned(a, REC_SW_DIFFERENT_GTID_MODES));
    tb_free(b);

    b = star(3, &m, r);
    orc_strlcpy(r[0]->binlog_format, "STATEMENT", sizeof(r[0]->binlog_format));
    orc_strlcpy(r[1]->binlog_format, "MIXED", sizeof(r[1]->binlog_format));
    r[2]->ver.major = 11;
    orc_strlcpy(m->gtid_mode, "ON", sizeof(m->gtid_mode));
    orc_strlcpy(r[0]->gtid_mode, "ON", sizeof(r[0]->gtid_mode));
    orc_strlcpy(r[1]->gtid_mode, "ON", sizeof(r[1]->gtid_mode));
    orc_strlcpy(r[2]->gtid_mode, "OFF", sizeof(r[2]->gtid_mode));
    disc_instance_set_str(&r[1]->gtid_errant, "00020192-1111-1111-1111-111111111111:1");
    run(b);
    a = entry(b, "m");
    assert_int_equal(a->count_statement_logging_replicas, 1);
    assert_int_equal(a->count_mixed_logging_replicas, 1);
    assert_int_equal(a->count_row_logging_replicas, 1);
    assert_int_equal(a->count_distinct_major_versions_logging, 2);
    assert_true(warned(a, REC_SW_STATEMENT_AND_MIXED_LOGGING));
    assert_true(warned(a, REC_SW_STATEMENT_AND_ROW_LOGGING));
    assert_true(warned(a, REC_SW_MIXED_AND_ROW_LOGGING));
    assert_true(warned(a, REC_SW_MULTIPLE_MAJOR_VERSIONS_LOGGING));
    assert_true(warned(a, REC_SW_DIFFERENT_GTID_MODES));
    assert_string_equal(a->min_replica_gtid_mode, "OFF");
    assert_string_equal(a->max_replica_gtid_mode, "ON");
    assert_true(warned(a, REC_SW_ERRANT_GTID));
    assert_string_equal(a->max_replica_gtid_errant, "00020192-1111-1111-1111-111111111111:1");
    assert_false(warned(a, REC_SW_NO_FAILOVER_SUPPORT));
    /* A downtimed replica's errant GTID is not reported. */
    b->an[2].downtimed = true;
    run(b);
    assert_false(warned(entry(b, "m"), REC_SW_ERRANT_GTID));
    tb_free(b);
}

static void test_code_names(void **state)
{
    int actionable = 0;

    (void)state;
    for (int c = 0; c < REC_CODE_COUNT_; c++) {
        assert_int_equal(rec_code_from_name(rec_code_name((enum rec_code)c)), c);
        actionable += rec_code_actionable((enum rec_code)c);
    }
    assert_int_equal(actionable, 11);
    assert_int_equal(rec_code_from_name("NoSuchCode"), -1);
    assert_string_equal(rec_structure_name(REC_SW_ERRANT_GTID), "ErrantGTIDStructureWarning");
    assert_null(rec_structure_name(REC_SW_COUNT_));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy_star_has_no_entries),
        cmocka_unit_test(test_dead_master_when_replicas_lost_it),
        cmocka_unit_test(test_unreachable_master_while_replicas_replicate),
        cmocka_unit_test(test_unreachable_master_partial_success_needs_a_failing_replica),
        cmocka_unit_test(test_dead_master_variants_by_replica_reachability),
        cmocka_unit_test(test_dead_master_single_replica),
        cmocka_unit_test(test_unreachable_master_with_lagging_replicas),
        cmocka_unit_test(test_master_replicas_not_replicating),
        cmocka_unit_test(test_failing_to_connect_definition),
        cmocka_unit_test(test_semi_sync_master_codes),
        cmocka_unit_test(test_read_only_master),
        cmocka_unit_test(test_co_master_codes),
        cmocka_unit_test(test_dead_intermediate_master_codes),
        cmocka_unit_test(test_dead_intermediate_master_single_replica),
        cmocka_unit_test(test_reachable_intermediate_master_codes),
        cmocka_unit_test(test_downtime_marks_entries),
        cmocka_unit_test(test_downtimed_replicas),
        cmocka_unit_test(test_maintenance_and_never_seen_are_not_analysed),
        cmocka_unit_test(test_recovery_ignore_hostname_filters),
        cmocka_unit_test(test_cluster_recovery_filters),
        cmocka_unit_test(test_structure_warnings),
        cmocka_unit_test(test_code_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
