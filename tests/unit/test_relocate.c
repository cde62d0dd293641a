/*
 * Unit tests of the pure checks of the planned operations
 * (recovery/relocate.c): CanReplicateFrom rule by rule, CanMove, loop
 * detection over hand-built topologies, and the GTID pairing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "recovery/planned.h"

static const struct rec_move_limits LIM = {.max_lag_s = 20, .verify_filters = false};

/* A MariaDB 10.11 server on 127.0.0.1:port, binlog ROW with log_slave_updates,
 * replicating from master_port (0: none) with both threads running. */
static void mk(struct disc_instance *in, int port, int master_port)
{
    disc_instance_init(in);
    orc_strlcpy(in->key.host, "127.0.0.1", sizeof(in->key.host));
    in->key.port = port;
    in->server_id = port;
    orc_strlcpy(in->version, "10.11.6-MariaDB", sizeof(in->version));
    disc_version_parse(in->version, "", &in->ver);
    in->log_bin = true;
    in->log_replica_updates = true;
    orc_strlcpy(in->binlog_format, "ROW", sizeof(in->binlog_format));
    if (master_port > 0) {
        orc_strlcpy(in->master_key.host, "127.0.0.1", sizeof(in->master_key.host));
        in->master_key.port = master_port;
        in->io_state = in->sql_state = DISC_THREAD_RUNNING;
        orc_strlcpy(in->io_running_text, "Yes", sizeof(in->io_running_text));
        orc_strlcpy(in->sql_running_text, "Yes", sizeof(in->sql_running_text));
        in->replication_lag_seconds.valid = true;
        in->seconds_behind_master.valid = true;
        in->using_mariadb_gtid = true;
    }
}

static bool can(const struct disc_instance *r, const struct disc_instance *m, char *why)
{
    return rec_can_replicate_from(r, m, &LIM, why, ORC_ERRMSG_SIZE);
}

static void test_can_replicate_from_plain(void **state)
{
    struct disc_instance m, r;
    char why[ORC_ERRMSG_SIZE] = "";

    (void)state;
    mk(&m, 3306, 0);
    mk(&r, 3307, 3306);
    assert_true(can(&r, &m, why));
    /* a replica with log_slave_updates is a fine master too */
    mk(&m, 3308, 3306);
    assert_true(can(&r, &m, why));
}

static void test_can_replicate_from_itself(void **state)
{
    struct disc_instance a;
    char why[ORC_ERRMSG_SIZE] = "";

    (void)state;
    mk(&a, 3307, 3306);
    assert_false(can(&a, &a, why));
    assert_non_null(strstr(why, "cannot replicate from itself"));
}

static void test_can_replicate_from_binlog_rules(void **state)
{
    struct disc_instance m, r;
    char why[ORC_ERRMSG_SIZE] = "";

    (void)state;
    mk(&m, 3306, 0);
    mk(&r, 3307, 3306);
    m.log_bin = false;
    assert_false(can(&r, &m, why));
    assert_non_null(strstr(why, "127.0.0.1:3306 does not have binary logs enabled"));

    /* a master without log_slave_updates is fine; a replica without is not */
    mk(&m, 3306, 0);
    m.log_replica_updates = false;
    assert_true(can(&r, &m, why));
    mk(&m, 3308, 3306);
    m.log_replica_updates = false;
    assert_false(can(&r, &m, why));
    assert_non_null(strstr(why, "127.0.0.1:3308 is a replica without log_slave_updates"));
}

static void test_can_replicate_from_versions(void **state)
{
    struct disc_instance m, r;
    char why[ORC_ERRMSG_SIZE] = "";

    (void)state;
    mk(&m, 3306, 0);
    mk(&r, 3307, 3306);
    orc_strlcpy(r.version, "10.6.16-MariaDB", sizeof(r.version));
    disc_version_parse(r.version, "", &r.ver);
    assert_false(can(&r, &m, why)); /* 10.6 below 10.11 */
    assert_non_null(strstr(why, "which is lower than 10.11.6-MariaDB"));
    assert_true(can(&m, &r, why)); /* newer below older: allowed */
    /* minor numbers compare as numbers: 10.11 > 10.6 */
    orc_strlcpy(r.version, "10.11.2-MariaDB", sizeof(r.version));
    disc_version_parse(r.version, "", &r.ver);
    assert_true(can(&r, &m, why)); /* same major version, patch ignored */
}

static void test_can_replicate_from_binlog_format(void **state)
{
    struct disc_instance m, r;
    char why[ORC_ERRMSG_SIZE] = "";

    (void)state;
    mk(&m, 3306, 0);
    mk(&r, 3307, 3306);
    orc_strlcpy(r.binlog_format, "STATEMENT", sizeof(r.binlog_format));
    assert_false(can(&r, &m, why));
    assert_non_null(strstr(why, "binlog_format STATEMENT, which is lower than ROW"));
    orc_strlcpy(r.binlog_format, "MIXED", sizeof(r.binlog_format));
    assert_false(can(&r, &m, why));
    /* only a replica that logs updates must keep the format */
    r.log_replica_updates = false;
    assert_true(can(&r, &m, why));
    /* a higher format below a lower one is fine */
    mk(&r, 3307, 3306);
    orc_strlcpy(m.binlog_format, "STATEMENT", sizeof(m.binlog_format));
    assert_true(can(&r, &m, why));
}

static void test_can_replicate_from_ids_filters_delay(void **state)
{
    struct rec_move_limits verify = LIM;
    struct disc_instance m, r;
    char why[ORC_ERRMSG_SIZE] = "";

    (void)state;
    mk(&m, 3306, 0);
    mk(&r, 3307, 3306);
    r.server_id = m.server_id;
    assert_false(can(&r, &m, why));
    assert_non_null(strstr(why, "the same server_id 3306"));

    mk(&r, 3307, 3306);
    orc_strlcpy(r.server_uuid, "u-1", sizeof(r.server_uuid));
    orc_strlcpy(m.server_uuid, "u-1", sizeof(m.server_uuid));
    assert_false(can(&r, &m, why));
    assert_non_null(strstr(why, "the same server_uuid u-1"));
    m.server_uuid[0] = '\0';

    r.has_replication_filters = true;
    assert_true(can(&r, &m, why)); /* not verified by default */
    verify.verify_filters = true;
    assert_false(rec_can_replicate_from(&r, &m, &verify, why, sizeof(why)));
    assert_non_null(strstr(why, "different replication filters"));
    r.has_replication_filters = false;

    /* a delayed master: refused only above the replica's delay and the limit */
    m.sql_delay = 20;
    assert_true(can(&r, &m, why));
    m.sql_delay = 21;
    assert_false(can(&r, &m, why));
    assert_non_null(strstr(why, "higher SQL_Delay (21 seconds)"));
    r.sql_delay = 30;
    assert_true(can(&r, &m, why));
}

static void test_can_move(void **state)
{
    struct disc_instance r;
    char why[ORC_ERRMSG_SIZE] = "";

    (void)state;
    mk(&r, 3307, 3306);
    assert_true(rec_can_move(&r, &LIM, why, sizeof(why)));
    r.replication_lag_seconds.value = 20;
    assert_true(rec_can_move(&r, &LIM, why, sizeof(why)));
    r.replication_lag_seconds.value = 21;
    assert_false(rec_can_move(&r, &LIM, why, sizeof(why)));
    assert_non_null(strstr(why, "lags too much: 21 seconds"));
    r.replication_lag_seconds.valid = false;
    assert_false(rec_can_move(&r, &LIM, why, sizeof(why)));
    assert_non_null(strstr(why, "cannot determine the replication lag"));

    mk(&r, 3307, 3306);
    r.sql_state = DISC_THREAD_STOPPED;
    orc_strlcpy(r.sql_running_text, "No", sizeof(r.sql_running_text));
    assert_false(rec_can_move(&r, &LIM, why, sizeof(why)));
    assert_non_null(
        strstr(why, "is not replicating (Slave_IO_Running: Yes, Slave_SQL_Running: No)"));
    mk(&r, 3307, 3306);
    r.io_state = DISC_THREAD_OTHER; /* Connecting */
    assert_false(rec_can_move(&r, &LIM, why, sizeof(why)));

    mk(&r, 3306, 0);
    assert_false(rec_can_move(&r, &LIM, why, sizeof(why)));
    assert_non_null(strstr(why, "127.0.0.1:3306 is not a replica"));
}

static struct orc_key key(int port)
{
    struct orc_key k;

    memset(&k, 0, sizeof(k));
    orc_strlcpy(k.host, "127.0.0.1", sizeof(k.host));
    k.port = port;
    return k;
}

static void test_loop_detection(void **state)
{
    /* 1 <- 2 <- 3 <- 4, and 5 below 1 */
    struct disc_instance v[5];
    const struct disc_instance *pv[5] = {&v[0], &v[1], &v[2], &v[3], &v[4]};
    struct orc_key k1 = key(1), k2 = key(2), k3 = key(3), k4 = key(4), k5 = key(5);

    (void)state;
    mk(&v[0], 1, 0);
    mk(&v[1], 2, 1);
    mk(&v[2], 3, 2);
    mk(&v[3], 4, 3);
    mk(&v[4], 5, 1);
    assert_true(rec_is_self_or_below(pv, 5, &k2, &k2));  /* itself */
    assert_true(rec_is_self_or_below(pv, 5, &k2, &k3));  /* direct replica */
    assert_true(rec_is_self_or_below(pv, 5, &k2, &k4));  /* replica of a replica */
    assert_false(rec_is_self_or_below(pv, 5, &k2, &k1)); /* its master */
    assert_false(rec_is_self_or_below(pv, 5, &k2, &k5)); /* a sibling */
    assert_true(rec_is_self_or_below(pv, 5, &k1, &k5));
    struct orc_key unknown = key(99);
    assert_false(rec_is_self_or_below(pv, 5, &k2, &unknown));
    /* a cycle not through the top ends */
    v[0].master_key = k4; /* 1 <- 2 <- 3 <- 4 <- 1 */
    assert_false(rec_is_self_or_below(pv, 4, &k5, &k3));
    assert_true(rec_is_self_or_below(pv, 4, &k1, &k3));
}

static void test_gtid_pairing(void **state)
{
    struct disc_instance m, r, my;

    (void)state;
    mk(&m, 3306, 0);
    mk(&r, 3307, 3306);
    assert_true(rec_uses_gtid(&r));
    assert_false(rec_uses_gtid(&m));  /* a master is not replicating at all */
    assert_true(rec_serves_gtid(&m)); /* MariaDB 10 always writes GTIDs */
    m.log_bin = false;
    assert_false(rec_serves_gtid(&m));
    r.using_mariadb_gtid = false;
    assert_false(rec_uses_gtid(&r));

    mk(&my, 3310, 0);
    orc_strlcpy(my.version, "8.0.36", sizeof(my.version));
    disc_version_parse(my.version, "", &my.ver);
    assert_false(rec_serves_gtid(&my)); /* gtid_mode OFF */
    my.supports_oracle_gtid = true;
    assert_true(rec_serves_gtid(&my));
    assert_false(rec_gtid_compatible(&r, &my));
    assert_true(rec_gtid_compatible(&r, &m));
    my.using_oracle_gtid = true;
    assert_true(rec_uses_gtid(&my));
}

static void test_op_names(void **state)
{
    (void)state;
    assert_string_equal(rec_planned_op_name(REC_OP_MOVE_UP), "move-up");
    assert_string_equal(rec_planned_op_name(REC_OP_TAKE_MASTER), "take-master");
    assert_string_equal(rec_planned_op_name(REC_OP_SET_WRITEABLE), "set-writeable");
    assert_string_equal(rec_planned_op_name((enum rec_planned_op)42), "unknown");
}

/* regroup-replicas: the most advanced replica that may take the others. */
static void test_regroup_candidate(void **state)
{
    struct disc_instance v[4];

    (void)state;
    for (int i = 0; i < 4; i++) {
        mk(&v[i], 3307 + i, 3306);
        orc_strlcpy(v[i].exec_coords.file, "mysql-bin.000002", sizeof(v[i].exec_coords.file));
        v[i].exec_coords.pos = 100;
    }
    v[2].exec_coords.pos = 500; /* the most advanced */
    v[3].exec_coords.pos = 300;
    assert_int_equal(rec_many_pick_candidate(v, 4, false), 2);
    /* banned, or without log_slave_updates: the next most advanced */
    orc_strlcpy(v[2].promotion_rule, "must_not", sizeof(v[2].promotion_rule));
    assert_int_equal(rec_many_pick_candidate(v, 4, false), 3);
    v[3].log_replica_updates = false;
    assert_int_equal(rec_many_pick_candidate(v, 4, false), 0);
    /* a later binary log file wins over a higher position */
    orc_strlcpy(v[1].exec_coords.file, "mysql-bin.000003", sizeof(v[1].exec_coords.file));
    v[1].exec_coords.pos = 4;
    assert_int_equal(rec_many_pick_candidate(v, 4, false), 1);
    /* GTID only; unreadable entries never qualify */
    v[1].using_mariadb_gtid = false;
    assert_int_equal(rec_many_pick_candidate(v, 4, true), 0);
    v[0].key.host[0] = '\0';
    assert_int_equal(rec_many_pick_candidate(v, 2, true), SIZE_MAX);
    assert_int_equal(rec_many_pick_candidate(v, 0, false), SIZE_MAX);
    for (int i = 0; i < 4; i++)
        disc_instance_release(&v[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_can_replicate_from_plain),
        cmocka_unit_test(test_can_replicate_from_itself),
        cmocka_unit_test(test_can_replicate_from_binlog_rules),
        cmocka_unit_test(test_can_replicate_from_versions),
        cmocka_unit_test(test_can_replicate_from_binlog_format),
        cmocka_unit_test(test_can_replicate_from_ids_filters_delay),
        cmocka_unit_test(test_can_move),
        cmocka_unit_test(test_loop_detection),
        cmocka_unit_test(test_gtid_pairing),
        cmocka_unit_test(test_op_names),
        cmocka_unit_test(test_regroup_candidate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
