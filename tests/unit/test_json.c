/* Unit tests of web/json.c and web/topology_text.c: orchestrator's Instance
 * and ClusterInfo shapes, Problems, recovery filter matching, the ASCII
 * topology, duration parsing and string escaping, over a snapshot built by
 * hand (a master, a healthy replica and a broken one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "web/web_int.h"

#define NOW_MS 1700000000000LL /* 2023-11-14T22:13:20Z */

struct fixture {
    struct disc_snapshot s;
    struct disc_instance in[3];
    const struct disc_instance *pin[3]; /* the snapshot's view of in */
    struct disc_annot an[3];
    struct disc_cluster cl[1];
};

static void set_key(struct orc_key *k, int port)
{
    orc_strlcpy(k->host, "127.0.0.1", sizeof(k->host));
    k->port = port;
}

static void common_fields(struct disc_instance *in, int port)
{
    disc_instance_init(in);
    set_key(&in->key, port);
    in->server_id = port;
    orc_strlcpy(in->version, "10.11.6-MariaDB-log", sizeof(in->version));
    disc_version_parse(in->version, "", &in->ver);
    orc_strlcpy(in->binlog_format, "ROW", sizeof(in->binlog_format));
    orc_strlcpy(in->binlog_row_image, "FULL", sizeof(in->binlog_row_image));
    in->log_bin = true;
    in->log_replica_updates = true;
    in->read_only = true;
    orc_strlcpy(in->cluster_name, "127.0.0.1:3306", sizeof(in->cluster_name));
    in->last_checked_ms = NOW_MS - 500;
    in->last_seen_ms = NOW_MS - 500;
    in->last_attempted_check_ms = NOW_MS - 500;
    in->last_discovery_latency_us = 1500;
    in->uptime = 1234;
}

static void make_replica(struct disc_instance *in, int port)
{
    common_fields(in, port);
    set_key(&in->master_key, 3306);
    in->replication_depth = 1;
    in->io_state = DISC_THREAD_RUNNING;
    in->sql_state = DISC_THREAD_RUNNING;
    in->using_mariadb_gtid = true;
    in->seconds_behind_master = (struct disc_nullint){0, true};
    in->replication_lag_seconds = (struct disc_nullint){0, true};
    orc_strlcpy(in->read_coords.file, "mysql-bin.000002", sizeof(in->read_coords.file));
    in->read_coords.pos = 1024;
    orc_strlcpy(in->relay_coords.file, "relay.000003", sizeof(in->relay_coords.file));
    in->relay_coords.pos = 512;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct orc_key k;

    assert_non_null(f);
    common_fields(&f->in[0], 3306);
    f->in[0].read_only = false;
    orc_strlcpy(f->in[0].self_coords.file, "mysql-bin.000002", sizeof(f->in[0].self_coords.file));
    f->in[0].self_coords.pos = 1024;
    set_key(&k, 3307);
    disc_keylist_add(&f->in[0].replicas, &k);
    set_key(&k, 3308);
    disc_keylist_add(&f->in[0].replicas, &k);
    disc_instance_set_str(&f->in[0].gtid_binlog_pos, "0-1-42");

    make_replica(&f->in[1], 3307);
    make_replica(&f->in[2], 3308);
    f->in[2].sql_state = DISC_THREAD_STOPPED;
    f->in[2].seconds_behind_master = (struct disc_nullint){0, false};
    f->in[2].replication_lag_seconds = (struct disc_nullint){0, false};
    disc_instance_set_str(&f->in[2].last_sql_error, "Error 'Duplicate entry' on query\n<x>");
    f->an[2].downtimed = true;
    f->an[2].downtime_begin_s = NOW_MS / 1000 - 60;
    f->an[2].downtime_end_s = NOW_MS / 1000 + 540;
    orc_strlcpy(f->an[2].downtime_owner, "ops", sizeof(f->an[2].downtime_owner));
    orc_strlcpy(f->an[2].downtime_reason, "fix it", sizeof(f->an[2].downtime_reason));

    orc_strlcpy(f->cl[0].name, "127.0.0.1:3306", sizeof(f->cl[0].name));
    orc_strlcpy(f->cl[0].alias, "main", sizeof(f->cl[0].alias));
    f->cl[0].first = 0;
    f->cl[0].count = 3;
    f->cl[0].master = 0;
    f->s.version = 7;
    f->s.taken_ms = NOW_MS;
    f->s.poll_ms = 5000;
    f->s.reasonable_check_ms = 1000;
    f->s.reasonable_lag_s = 10;
    f->s.n = 3;
    for (size_t i = 0; i < 3; i++)
        f->pin[i] = &f->in[i];
    f->s.instances = f->pin;
    f->s.annots = f->an;
    f->s.nclusters = 1;
    f->s.clusters = f->cl;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 3; i++)
        disc_instance_release(&f->in[i]);
    free(f);
    return 0;
}

/* The Instance JSON of instance i, parsed back. */
static json_t *instance_json(struct fixture *f, size_t i)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    json_error_t e;
    json_t *j;

    web_jw_init(&w, &b);
    web_json_instance(&w, &f->s, i);
    assert_int_equal(w.err, 0);
    j = json_loads(orc_buf_str(&b), 0, &e);
    if (j == NULL)
        fail_msg("invalid JSON (%s): %s", e.text, orc_buf_str(&b));
    orc_buf_release(&b);
    return j;
}

static const char *const instance_fields[] = {
    "Key",
    "InstanceAlias",
    "Uptime",
    "ServerID",
    "ServerUUID",
    "Version",
    "VersionComment",
    "FlavorName",
    "ReadOnly",
    "Binlog_format",
    "BinlogRowImage",
    "LogBinEnabled",
    "LogSlaveUpdatesEnabled",
    "LogReplicationUpdatesEnabled",
    "SelfBinlogCoordinates",
    "MasterKey",
    "MasterUUID",
    "AncestryUUID",
    "IsDetachedMaster",
    "Slave_SQL_Running",
    "ReplicationSQLThreadRuning",
    "Slave_IO_Running",
    "ReplicationIOThreadRuning",
    "ReplicationSQLThreadState",
    "ReplicationIOThreadState",
    "HasReplicationFilters",
    "GTIDMode",
    "SupportsOracleGTID",
    "UsingOracleGTID",
    "UsingMariaDBGTID",
    "UsingPseudoGTID",
    "ReadBinlogCoordinates",
    "ExecBinlogCoordinates",
    "IsDetached",
    "RelaylogCoordinates",
    "LastSQLError",
    "LastIOError",
    "SecondsBehindMaster",
    "SQLDelay",
    "ExecutedGtidSet",
    "GtidPurged",
    "GtidErrant",
    "SlaveLagSeconds",
    "ReplicationLagSeconds",
    "SlaveHosts",
    "Replicas",
    "ClusterName",
    "SuggestedClusterAlias",
    "DataCenter",
    "Region",
    "PhysicalEnvironment",
    "ReplicationDepth",
    "IsCoMaster",
    "HasReplicationCredentials",
    "ReplicationCredentialsAvailable",
    "SemiSyncAvailable",
    "SemiSyncPriority",
    "SemiSyncMasterEnabled",
    "SemiSyncReplicaEnabled",
    "SemiSyncMasterTimeout",
    "SemiSyncMasterWaitForReplicaCount",
    "SemiSyncMasterStatus",
    "SemiSyncMasterClients",
    "SemiSyncReplicaStatus",
    "LastSeenTimestamp",
    "IsLastCheckValid",
    "IsUpToDate",
    "IsRecentlyChecked",
    "SecondsSinceLastSeen",
    "CountMySQLSnapshots",
    "IsCandidate",
    "PromotionRule",
    "IsDowntimed",
    "DowntimeReason",
    "DowntimeOwner",
    "DowntimeEndTimestamp",
    "ElapsedDowntime",
    "UnresolvedHostname",
    "AllowTLS",
    "Problems",
    "LastDiscoveryLatency",
    "ReplicationGroupName",
    "ReplicationGroupIsSinglePrimary",
    "ReplicationGroupMemberState",
    "ReplicationGroupMemberRole",
    "ReplicationGroupMembers",
    "ReplicationGroupPrimaryInstanceKey",
    "GtidCurrentPos",
    "GtidSlavePos",
    "GtidBinlogPos",
    "IsInMaintenance",
};

static void test_instance_field_order(void **state)
{
    struct fixture *f = *state;
    json_t *j = instance_json(f, 1);
    size_t n = 0;
    void *it;

    for (it = json_object_iter(j); it != NULL; it = json_object_iter_next(j, it), n++) {
        assert_true(n < ORC_ARRAY_LEN(instance_fields));
        assert_string_equal(json_object_iter_key(it), instance_fields[n]);
    }
    assert_int_equal(n, ORC_ARRAY_LEN(instance_fields));
    json_decref(j);
}

static void test_instance_encodings(void **state)
{
    struct fixture *f = *state;
    json_t *m = instance_json(f, 0), *r = instance_json(f, 1), *b = instance_json(f, 2);
    json_t *v;

    /* keys: a master has an empty MasterKey */
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "Key"), "Hostname")),
                        "127.0.0.1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "Key"), "Port")), 3306);
    v = json_object_get(m, "MasterKey");
    assert_string_equal(json_string_value(json_object_get(v, "Hostname")), "");
    assert_int_equal(json_integer_value(json_object_get(v, "Port")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "MasterKey"), "Port")),
                     3306);
    /* Replicas and SlaveHosts as arrays of keys */
    assert_int_equal(json_array_size(json_object_get(m, "Replicas")), 2);
    assert_int_equal(json_array_size(json_object_get(m, "SlaveHosts")), 2);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(m, "Replicas"), 1), "Port")),
                     3308);
    /* thread states: -1 none, 0 stopped, 1 running; the (sic) Runing names */
    assert_int_equal(json_integer_value(json_object_get(m, "ReplicationSQLThreadState")), -1);
    assert_int_equal(json_integer_value(json_object_get(r, "ReplicationSQLThreadState")), 1);
    assert_int_equal(json_integer_value(json_object_get(b, "ReplicationSQLThreadState")), 0);
    assert_true(json_is_true(json_object_get(r, "ReplicationSQLThreadRuning")));
    assert_true(json_is_true(json_object_get(r, "Slave_SQL_Running")));
    assert_true(json_is_false(json_object_get(b, "ReplicationSQLThreadRuning")));
    assert_true(json_is_true(json_object_get(b, "ReplicationIOThreadRuning")));
    /* NullInt64 */
    v = json_object_get(r, "SecondsBehindMaster");
    assert_int_equal(json_object_size(v), 2);
    assert_int_equal(json_integer_value(json_object_get(v, "Int64")), 0);
    assert_true(json_is_true(json_object_get(v, "Valid")));
    assert_true(
        json_is_false(json_object_get(json_object_get(b, "ReplicationLagSeconds"), "Valid")));
    assert_true(json_is_true(json_object_get(json_object_get(r, "SecondsSinceLastSeen"), "Valid")));
    /* BinlogCoordinates */
    v = json_object_get(m, "SelfBinlogCoordinates");
    assert_string_equal(json_string_value(json_object_get(v, "LogFile")), "mysql-bin.000002");
    assert_int_equal(json_integer_value(json_object_get(v, "LogPos")), 1024);
    assert_int_equal(json_integer_value(json_object_get(v, "Type")), 0);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "RelaylogCoordinates"), "Type")), 1);
    /* durations in nanoseconds, times in RFC 3339 */
    assert_int_equal(json_integer_value(json_object_get(r, "LastDiscoveryLatency")), 1500000);
    assert_int_equal(json_integer_value(json_object_get(b, "ElapsedDowntime")), 60000000000LL);
    assert_int_equal(json_integer_value(json_object_get(r, "ElapsedDowntime")), 0);
    assert_string_equal(json_string_value(json_object_get(r, "LastSeenTimestamp")),
                        "2023-11-14T22:13:19Z");
    assert_string_equal(json_string_value(json_object_get(b, "DowntimeEndTimestamp")),
                        "2023-11-14T22:22:20Z");
    assert_true(json_is_true(json_object_get(b, "IsDowntimed")));
    assert_string_equal(json_string_value(json_object_get(b, "DowntimeOwner")), "ops");
    assert_string_equal(json_string_value(json_object_get(b, "DowntimeReason")), "fix it");
    /* misc */
    assert_string_equal(json_string_value(json_object_get(m, "FlavorName")), "MariaDB");
    assert_string_equal(json_string_value(json_object_get(m, "PromotionRule")), "neutral");
    assert_string_equal(json_string_value(json_object_get(m, "ClusterName")), "127.0.0.1:3306");
    assert_string_equal(json_string_value(json_object_get(m, "GtidBinlogPos")), "0-1-42");
    assert_true(json_is_false(json_object_get(m, "ReadOnly")));
    assert_true(json_is_true(json_object_get(r, "UsingMariaDBGTID")));
    assert_true(json_is_true(json_object_get(r, "IsLastCheckValid")));
    assert_true(json_is_true(json_object_get(r, "IsUpToDate")));
    assert_string_equal(json_string_value(json_object_get(b, "LastSQLError")),
                        "Error 'Duplicate entry' on query\n<x>");
    json_decref(m);
    json_decref(r);
    json_decref(b);
}

static void assert_problems(struct fixture *f, size_t i, const char *expect)
{
    json_t *j = instance_json(f, i), *p = json_object_get(j, "Problems");
    char got[256] = "";

    assert_true(json_is_array(p));
    for (size_t k = 0; k < json_array_size(p); k++) {
        size_t l = strlen(got);
        snprintf(got + l, sizeof(got) - l, "%s%s", k ? "," : "",
                 json_string_value(json_array_get(p, k)));
    }
    assert_string_equal(got, expect);
    json_decref(j);
}

static void test_problems(void **state)
{
    struct fixture *f = *state;

    assert_problems(f, 0, "");
    assert_problems(f, 1, "");
    assert_problems(f, 2, "not_replicating");
    f->in[1].replication_lag_seconds = (struct disc_nullint){11, true};
    assert_problems(f, 1, "replication_lag");
    f->in[1].sql_delay = 5; /* lag minus SQL_Delay is compared */
    assert_problems(f, 1, "");
    disc_instance_set_str(&f->in[1].gtid_errant, "0-9-1");
    assert_problems(f, 1, "errant_gtid");
    f->in[1].last_seen_ms = NOW_MS - 3000; /* last probe failed */
    assert_problems(f, 1, "last_check_invalid,errant_gtid");
    f->in[0].last_checked_ms = f->in[0].last_seen_ms = NOW_MS - 30000;
    assert_problems(f, 0, "not_recently_checked");
    {
        json_t *j = instance_json(f, 1);
        assert_true(json_is_false(json_object_get(j, "IsLastCheckValid")));
        assert_int_equal(json_integer_value(
                             json_object_get(json_object_get(j, "SecondsSinceLastSeen"), "Int64")),
                         3);
        json_decref(j);
    }
}

static void test_cluster_info(void **state)
{
    struct fixture *f = *state;
    struct orc_config cfg;
    char mf0[] = "alias=main", if0[] = "other", if1[] = "^10\\.";
    char *master_filters[] = {mf0};
    char *im_filters[] = {if0, if1};
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    json_t *j;
    void *it;
    size_t n = 0;
    static const char *const fields[] = {"ClusterName",
                                         "ClusterAlias",
                                         "ClusterDomain",
                                         "CountInstances",
                                         "HeuristicLag",
                                         "HasAutomatedMasterRecovery",
                                         "HasAutomatedIntermediateMasterRecovery"};

    memset(&cfg, 0, sizeof(cfg));
    cfg.RecoverMasterClusterFilters.v = master_filters;
    cfg.RecoverMasterClusterFilters.n = 1;
    cfg.RecoverIntermediateMasterClusterFilters.v = im_filters;
    cfg.RecoverIntermediateMasterClusterFilters.n = 2;
    f->in[1].replication_lag_seconds = (struct disc_nullint){4, true};
    web_jw_init(&w, &b);
    web_json_cluster_info(&w, &f->s, 0, &cfg);
    j = json_loads(orc_buf_str(&b), 0, NULL);
    assert_non_null(j);
    for (it = json_object_iter(j); it; it = json_object_iter_next(j, it), n++)
        assert_string_equal(json_object_iter_key(it), fields[n]);
    assert_int_equal(n, ORC_ARRAY_LEN(fields));
    assert_string_equal(json_string_value(json_object_get(j, "ClusterName")), "127.0.0.1:3306");
    assert_string_equal(json_string_value(json_object_get(j, "ClusterAlias")), "main");
    assert_int_equal(json_integer_value(json_object_get(j, "CountInstances")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "HeuristicLag")), 4);
    assert_true(json_is_true(json_object_get(j, "HasAutomatedMasterRecovery")));
    assert_true(json_is_false(json_object_get(j, "HasAutomatedIntermediateMasterRecovery")));
    json_decref(j);
    /* an instance never read is not counted */
    f->in[2].last_seen_ms = 0;
    assert_false(web_instance_visible(&f->s, 2));
    assert_true(web_instance_visible(&f->s, 1));
    orc_buf_reset(&b);
    web_jw_init(&w, &b);
    web_json_cluster_info(&w, &f->s, 0, NULL);
    j = json_loads(orc_buf_str(&b), 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "CountInstances")), 2);
    assert_true(json_is_false(json_object_get(j, "HasAutomatedMasterRecovery")));
    json_decref(j);
    orc_buf_release(&b);
}

static bool match1(const char *filter, const char *name, const char *alias)
{
    char *v[] = {(char *)filter};

    return web_cluster_filter_match(v, 1, name, alias);
}

static void test_filter_matching(void **state)
{
    (void)state;
    assert_true(match1("*", "db1:3306", "prod"));
    assert_true(match1("db1:3306", "db1:3306", "prod"));   /* exact name */
    assert_true(match1("prod", "db1:3306", "prod"));       /* exact alias */
    assert_true(match1("alias=prod", "db1:3306", "prod")); /* alias= */
    assert_false(match1("alias=pro", "db1:3306", "prod")); /* alias= is exact */
    assert_true(match1("alias~=^pr", "db1:3306", "prod")); /* alias~= regex */
    assert_false(match1("alias~=^x", "db1:3306", "prod"));
    assert_true(match1("db[0-9]", "db1:3306", "prod")); /* regex on the name */
    assert_true(match1("db1", "db1:3306", "prod"));     /* unanchored */
    assert_false(match1("^db2", "db1:3306", "prod"));
    assert_false(match1("prod", "db1:3306", "other")); /* alias is not a name regex */
    assert_false(match1("", "db1:3306", "prod"));
    assert_false(match1("(", "db1:3306", "prod")); /* bad regex never matches */
    assert_false(web_cluster_filter_match(NULL, 0, "db1:3306", "prod"));
}

static void test_topology_text(void **state)
{
    struct fixture *f = *state;
    struct orc_buf b = ORC_BUF_INIT;

    assert_int_equal(web_topology_text(&f->s, 0, false, &b), 0);
    assert_string_equal(
        orc_buf_str(&b),
        "127.0.0.1:3306   [0s,ok,10.11.6-MariaDB-log,rw,ROW,>>]\n"
        "+ 127.0.0.1:3307 [0s,ok,10.11.6-MariaDB-log,ro,ROW,>>,GTID]\n"
        "- 127.0.0.1:3308 [null,nonreplicating,10.11.6-MariaDB-log,ro,ROW,>>,GTID,downtimed]");
    orc_buf_reset(&b);
    assert_int_equal(web_topology_text(&f->s, 0, true, &b), 0);
    assert_string_equal(orc_buf_str(&b),
                        "127.0.0.1:3306  |  0s|            ok|10.11.6-MariaDB-log|rw|ROW|"
                        "               >>\n"
                        "+ 127.0.0.1:3307|  0s|            ok|10.11.6-MariaDB-log|ro|ROW|"
                        "          >>,GTID\n"
                        "- 127.0.0.1:3308|null|nonreplicating|10.11.6-MariaDB-log|ro|ROW|"
                        ">>,GTID,downtimed");
    orc_buf_release(&b);
}

static void test_topology_text_chain(void **state)
{
    struct fixture *f = *state;
    struct orc_buf b = ORC_BUF_INIT;

    /* 3308 now replicates from 3307 (depth 2), its probe failed */
    set_key(&f->in[2].master_key, 3307);
    f->in[2].replication_depth = 2;
    f->in[2].sql_state = DISC_THREAD_RUNNING;
    f->in[2].replication_lag_seconds = (struct disc_nullint){25, true};
    f->an[2].downtimed = false;
    f->in[1].replication_lag_seconds = (struct disc_nullint){3, true};
    orc_strlcpy(f->in[1].instance_alias, "r1", sizeof(f->in[1].instance_alias));
    assert_int_equal(web_topology_text(&f->s, 0, false, &b), 0);
    assert_string_equal(orc_buf_str(&b),
                        "127.0.0.1:3306        [0s,ok,10.11.6-MariaDB-log,rw,ROW,>>]\n"
                        "+ 127.0.0.1:3307 (r1) [3s,ok,10.11.6-MariaDB-log,ro,ROW,>>,GTID]\n"
                        "  + 127.0.0.1:3308    [25s,ok,10.11.6-MariaDB-log,ro,ROW,>>,GTID]");
    f->in[2].last_seen_ms = NOW_MS - 4000;
    orc_buf_reset(&b);
    assert_int_equal(web_topology_text(&f->s, 0, false, &b), 0);
    assert_non_null(
        strstr(orc_buf_str(&b), "  - 127.0.0.1:3308    [unknown,invalid,10.11.6-MariaDB-log"));
    orc_buf_release(&b);
}

static void test_topology_text_co_masters(void **state)
{
    struct fixture *f = *state;
    struct orc_buf b = ORC_BUF_INIT;

    /* 3306 and 3307 replicate from each other; 3308 from 3306 */
    set_key(&f->in[0].master_key, 3307);
    f->in[0].io_state = f->in[0].sql_state = DISC_THREAD_RUNNING;
    f->in[0].replication_lag_seconds = (struct disc_nullint){0, true};
    f->in[0].is_co_master = f->in[1].is_co_master = true;
    f->in[2].sql_state = DISC_THREAD_RUNNING;
    f->in[2].replication_lag_seconds = (struct disc_nullint){1, true};
    f->an[2].downtimed = false;
    assert_int_equal(web_topology_text(&f->s, 0, false, &b), 0);
    assert_string_equal(orc_buf_str(&b),
                        "127.0.0.1:3306   [0s,ok,10.11.6-MariaDB-log,rw,ROW,>>]\n"
                        "+ 127.0.0.1:3307 [0s,ok,10.11.6-MariaDB-log,ro,ROW,>>,GTID]\n"
                        "+ 127.0.0.1:3308 [1s,ok,10.11.6-MariaDB-log,ro,ROW,>>,GTID]");
    orc_buf_release(&b);
}

static void test_duration(void **state)
{
    int64_t s = -1;

    (void)state;
    assert_int_equal(web_parse_duration("30s", &s), 0);
    assert_int_equal(s, 30);
    assert_int_equal(web_parse_duration("10m", &s), 0);
    assert_int_equal(s, 600);
    assert_int_equal(web_parse_duration("2h", &s), 0);
    assert_int_equal(s, 7200);
    assert_int_equal(web_parse_duration("1d", &s), 0);
    assert_int_equal(s, 86400);
    assert_int_equal(web_parse_duration("1w", &s), 0);
    assert_int_equal(s, 604800);
    assert_int_equal(web_parse_duration("0s", &s), 0);
    assert_int_equal(s, 0);
    assert_int_equal(web_parse_duration("30", &s), ORC_EINVAL); /* bare number */
    assert_int_equal(web_parse_duration("m", &s), ORC_EINVAL);
    assert_int_equal(web_parse_duration("-5m", &s), ORC_EINVAL);
    assert_int_equal(web_parse_duration("5x", &s), ORC_EINVAL);
    assert_int_equal(web_parse_duration("1.5h", &s), ORC_EINVAL);
    assert_int_equal(web_parse_duration("", &s), ORC_EINVAL);
    assert_int_equal(web_parse_duration(NULL, &s), ORC_EINVAL);
    assert_int_equal(web_parse_duration("99999999999999999999w", &s), ORC_EINVAL);
}

static void test_escaping(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    (void)state;
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    web_jw_str(&w, NULL, "a\"b\\c\n\t\x01<&>");
    web_jw_str(&w, NULL, "caf\xc3\xa9 \xff end"); /* valid é, invalid 0xff */
    web_jw_str(&w, NULL, "x\xe2\x80\xa8y");       /* U+2028 */
    web_jw_str(&w, NULL, NULL);
    web_jw_obj(&w, NULL);
    web_jw_int(&w, "n", -5);
    web_jw_bool(&w, "b", true);
    web_jw_null(&w, "z");
    web_jw_obj_end(&w);
    web_jw_arr_end(&w);
    assert_int_equal(w.err, 0);
    assert_string_equal(orc_buf_str(&b),
                        "[\"a\\\"b\\\\c\\n\\t\\u0001\\u003c\\u0026\\u003e\","
                        "\"caf\xc3\xa9 \\ufffd end\",\"x\\u2028y\",\"\","
                        "{\"n\":-5,\"b\":true,\"z\":null}]");
    orc_buf_release(&b);
}

static void test_audit_shape(void **state)
{
    struct be_audit a;
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.id = 9;
    a.ts = NOW_MS / 1000;
    a.type = "begin-downtime";
    set_key(&a.key, 3307);
    a.message = "owner: ops, reason: x";
    web_jw_init(&w, &b);
    web_json_audit(&w, &a);
    assert_string_equal(orc_buf_str(&b),
                        "{\"AuditId\":9,\"AuditTimestamp\":\"2023-11-14T22:13:20Z\","
                        "\"AuditType\":\"begin-downtime\",\"AuditInstanceKey\":"
                        "{\"Hostname\":\"127.0.0.1\",\"Port\":3307},"
                        "\"Message\":\"owner: ops, reason: x\"}");
    orc_buf_release(&b);
}

/* A replication chain 4,000 deep (the databases choose the depth): drawn
 * DISC_MAX_DEPTH levels down, then one visible cut-off line, no recursion. */
static void test_topology_text_deep_chain(void **state)
{
    enum { N = 4000 };
    struct disc_instance *in = calloc(N, sizeof(*in));
    const struct disc_instance **pin = calloc(N, sizeof(*pin));
    struct disc_cluster cl = {.first = 0, .count = N, .master = 0};
    struct disc_snapshot s = {.taken_ms = NOW_MS, .poll_ms = 5000, .reasonable_check_ms = 1000};
    struct orc_buf b = ORC_BUF_INIT;
    char want[512];
    const char *text, *last;
    size_t nl = 0;

    (void)state;
    assert_non_null(in);
    assert_non_null(pin);
    common_fields(&in[0], 10000);
    for (int k = 1; k < N; k++) {
        make_replica(&in[k], 10000 + k);
        set_key(&in[k].master_key, 10000 + k - 1);
    }
    for (int k = 0; k < N; k++)
        pin[k] = &in[k];
    s.n = N;
    s.instances = pin;
    s.nclusters = 1;
    s.clusters = &cl;
    for (int tab = 0; tab < 2; tab++) {
        orc_buf_reset(&b);
        assert_int_equal(web_topology_text(&s, 0, tab == 1, &b), 0);
        text = orc_buf_str(&b);
        nl = 0;
        for (const char *c = text; *c; c++)
            nl += *c == '\n';
        assert_int_equal(nl, DISC_MAX_DEPTH + 1); /* the master, 128 levels, the cut-off */
        /* the deepest line drawn: 127 indents, then "+ " */
        snprintf(want, sizeof(want), "\n%*s+ 127.0.0.1:%d ", 2 * (DISC_MAX_DEPTH - 1), "",
                 10000 + DISC_MAX_DEPTH);
        if (tab == 1)
            want[strlen(want) - 1] = '|';
        assert_non_null(strstr(text, want));
        last = strrchr(text, '\n') + 1;
        snprintf(want, sizeof(want),
                 "%*s- ... replicas of 127.0.0.1:%d not shown: deeper than %d levels",
                 2 * DISC_MAX_DEPTH, "", 10000 + DISC_MAX_DEPTH, DISC_MAX_DEPTH);
        assert_string_equal(last, want);
        if (tab == 0) {
            /* the "[" aligns over the drawn lines only, not the cut-off line */
            int width = 2 * (DISC_MAX_DEPTH - 1) + 2 + (int)strlen("127.0.0.1:10128");
            snprintf(want, sizeof(want), "%-*s [0s,ok,", width, "127.0.0.1:10000");
            assert_memory_equal(text, want, strlen(want));
        }
    }
    orc_buf_release(&b);
    for (int k = 0; k < N; k++)
        disc_instance_release(&in[k]);
    free(pin);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_instance_field_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_info, setup, teardown),
        cmocka_unit_test(test_filter_matching),
        cmocka_unit_test_setup_teardown(test_topology_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topology_text_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topology_text_co_masters, setup, teardown),
        cmocka_unit_test(test_topology_text_deep_chain),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_audit_shape),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
