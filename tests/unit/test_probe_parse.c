/*
 * Unit tests of the discovery module's pure parts: version parsing,
 * per-flavor statements and SQL quoting, the result-set parsers, the
 * recorded result-set text form, and the instance record's lifecycle.
 * (test_probe.c runs the probe itself against recorded servers.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/orc.h"
#include "discovery/disc.h"

static void key_list_str(const struct disc_keylist *l, char *buf, size_t n)
{
    size_t used = 0;
    char k[ORC_KEY_STRLEN];

    buf[0] = '\0';
    for (size_t i = 0; i < l->len && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "," : "",
                                 orc_key_str(&l->keys[i], k, sizeof(k)));
}

/* ------------------------------------------------------------------------
 * Versions and statements
 * ------------------------------------------------------------------------ */

static void test_version_parse(void **state)
{
    static const struct {
        const char *version, *comment;
        int rc;
        enum disc_flavor fl;
        int major, minor, patch;
    } cases[] = {
        {"10.11.19-MariaDB-0+deb12u1", "Debian 12", 0, DISC_FLAVOR_MARIADB, 10, 11, 19},
        {"5.5.5-10.6.16-MariaDB-log", NULL, 0, DISC_FLAVOR_MARIADB, 10, 6, 16},
        {"10.4.32-MariaDB", "mariadb.org binary distribution", 0, DISC_FLAVOR_MARIADB, 10, 4, 32},
        {"8.0.36", "MySQL Community Server - GPL", 0, DISC_FLAVOR_MYSQL, 8, 0, 36},
        {"8.4.3", NULL, 0, DISC_FLAVOR_MYSQL, 8, 4, 3},
        {"5.7.44-log", "MySQL Community Server (GPL)", 0, DISC_FLAVOR_MYSQL, 5, 7, 44},
        {"8.0.36-28", "Percona Server (GPL), Release 28, Revision 47601f19", 0, DISC_FLAVOR_PERCONA,
         8, 0, 36},
        {"5.7.44-48-log", "Percona Server (GPL), Release 48", 0, DISC_FLAVOR_PERCONA, 5, 7, 44},
        {"8.0", NULL, 0, DISC_FLAVOR_MYSQL, 8, 0, 0},
        {"garbage", NULL, ORC_EINVAL, DISC_FLAVOR_UNKNOWN, 0, 0, 0},
        {"8.", NULL, ORC_EINVAL, DISC_FLAVOR_UNKNOWN, 0, 0, 0},
        {"", NULL, ORC_EINVAL, DISC_FLAVOR_UNKNOWN, 0, 0, 0},
    };
    struct disc_version v;

    (void)state;
    for (size_t i = 0; i < ORC_ARRAY_LEN(cases); i++) {
        assert_int_equal(disc_version_parse(cases[i].version, cases[i].comment, &v), cases[i].rc);
        assert_int_equal(v.flavor, cases[i].fl);
        assert_int_equal(v.major, cases[i].major);
        assert_int_equal(v.minor, cases[i].minor);
        assert_int_equal(v.patch, cases[i].patch);
    }
    assert_int_equal(disc_version_parse(NULL, NULL, &v), ORC_EINVAL);
    assert_string_equal(disc_flavor_name(DISC_FLAVOR_PERCONA), "Percona");
    assert_string_equal(disc_flavor_name(DISC_FLAVOR_MARIADB), "MariaDB");
    assert_string_equal(disc_flavor_name(DISC_FLAVOR_MYSQL), "MySQL");
    assert_string_equal(disc_flavor_name(DISC_FLAVOR_UNKNOWN), "unknown");
    disc_version_parse("8.0.22", NULL, &v);
    assert_true(disc_version_at_least(&v, 8, 0, 22));
    assert_false(disc_version_at_least(&v, 8, 0, 23));
    assert_true(disc_version_at_least(&v, 5, 7, 99));
    assert_false(disc_version_at_least(&v, 8, 1, 0));
}

static const char *sql_for(const char *version, enum disc_sql which)
{
    struct disc_version v;

    assert_int_equal(disc_version_parse(version, NULL, &v), 0);
    return disc_flavor_sql(&v, which);
}

static void test_flavor_statements(void **state)
{
    static const struct {
        const char *version;
        enum disc_sql which;
        const char *sql; /* NULL: none for this flavor */
    } cases[] = {
        {"10.11.6-MariaDB", DISC_SQL_REPLICA_STATUS, "SHOW SLAVE STATUS"},
        {"5.7.44", DISC_SQL_REPLICA_STATUS, "SHOW SLAVE STATUS"},
        {"8.0.21", DISC_SQL_REPLICA_STATUS, "SHOW SLAVE STATUS"},
        {"8.0.22", DISC_SQL_REPLICA_STATUS, "SHOW REPLICA STATUS"},
        {"8.4.3", DISC_SQL_REPLICA_STATUS, "SHOW REPLICA STATUS"},
        {"10.11.6-MariaDB", DISC_SQL_REPLICA_HOSTS, "SHOW SLAVE HOSTS"},
        {"8.0.21", DISC_SQL_REPLICA_HOSTS, "SHOW SLAVE HOSTS"},
        {"8.0.22", DISC_SQL_REPLICA_HOSTS, "SHOW REPLICAS"},
        {"8.4.0", DISC_SQL_REPLICA_HOSTS, "SHOW REPLICAS"},
        {"10.11.6-MariaDB", DISC_SQL_MASTER_STATUS, "SHOW MASTER STATUS"},
        {"8.0.36", DISC_SQL_MASTER_STATUS, "SHOW MASTER STATUS"},
        {"8.4.3", DISC_SQL_MASTER_STATUS, "SHOW BINARY LOG STATUS"},
        {"11.4.2-MariaDB", DISC_SQL_MASTER_STATUS, "SHOW MASTER STATUS"},
        {"10.11.6-MariaDB", DISC_SQL_SEMI_SYNC_VARIABLES, NULL},
        {"10.1.48-MariaDB", DISC_SQL_SEMI_SYNC_VARIABLES,
         "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'"},
        {"8.4.3", DISC_SQL_SEMI_SYNC_VARIABLES, "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'"},
        {"10.11.6-MariaDB", DISC_SQL_STOP_REPLICA, "STOP SLAVE"},
        {"5.7.44", DISC_SQL_START_REPLICA, "START SLAVE"},
        {"8.0.22", DISC_SQL_START_REPLICA, "START REPLICA"},
        {"8.4.3", DISC_SQL_STOP_REPLICA_IO, "STOP REPLICA IO_THREAD"},
        {"8.4.3", DISC_SQL_START_REPLICA_IO, "START REPLICA IO_THREAD"},
        {"10.11.6-MariaDB", DISC_SQL_STOP_REPLICA_SQL, "STOP SLAVE SQL_THREAD"},
        {"8.0.30", DISC_SQL_START_REPLICA_SQL, "START REPLICA SQL_THREAD"},
        {"5.7.44", DISC_SQL_STOP_REPLICA_IO, "STOP SLAVE IO_THREAD"},
        {"10.11.6-MariaDB", DISC_SQL_RESET_REPLICA_ALL, "RESET SLAVE ALL"},
        {"8.4.3", DISC_SQL_RESET_REPLICA_ALL, "RESET REPLICA ALL"},
        {"10.11.6-MariaDB", DISC_SQL_READ_ONLY_ON, "SET GLOBAL read_only = 1"},
        {"8.4.3", DISC_SQL_READ_ONLY_OFF, "SET GLOBAL read_only = 0"},
        {"10.11.6-MariaDB", DISC_SQL_SUPER_READ_ONLY_ON, NULL},
        {"5.7.7", DISC_SQL_SUPER_READ_ONLY_ON, NULL},
        {"5.7.8", DISC_SQL_SUPER_READ_ONLY_ON, "SET GLOBAL super_read_only = 1"},
        {"8.4.3", DISC_SQL_SUPER_READ_ONLY_OFF, "SET GLOBAL super_read_only = 0"},
        {"8.4.3", DISC_SQL_COUNT_, NULL},
    };

    (void)state;
    for (size_t i = 0; i < ORC_ARRAY_LEN(cases); i++) {
        const char *got = sql_for(cases[i].version, cases[i].which);

        if (cases[i].sql == NULL)
            assert_null(got);
        else
            assert_string_equal(got, cases[i].sql);
    }
    assert_non_null(strstr(sql_for("8.4.3", DISC_SQL_STATUS), "Rpl_semi_sync_source_status"));
    assert_non_null(strstr(sql_for("8.4.3", DISC_SQL_PROCESSLIST_REPLICAS), "Binlog Dump GTID"));
}

static void test_flavor_variables_sql(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct disc_version v;

    (void)state;
    disc_version_parse("8.4.3", NULL, &v);
    assert_int_equal(disc_flavor_variables_sql(&v, &b), 0);
    assert_non_null(strstr(orc_buf_str(&b), "@@global.log_replica_updates AS log_replica_updates"));
    assert_non_null(strstr(orc_buf_str(&b), "@@global.super_read_only"));
    assert_non_null(strstr(orc_buf_str(&b), "@@global.gtid_executed AS gtid_executed"));
    assert_null(strstr(orc_buf_str(&b), "gtid_current_pos"));
    orc_buf_reset(&b);
    disc_version_parse("8.0.25", NULL, &v);
    disc_flavor_variables_sql(&v, &b);
    assert_non_null(strstr(orc_buf_str(&b), "@@global.log_slave_updates AS log_replica_updates"));
    orc_buf_reset(&b);
    disc_version_parse("10.11.6-MariaDB", NULL, &v);
    disc_flavor_variables_sql(&v, &b);
    assert_non_null(strstr(orc_buf_str(&b), "@@global.gtid_slave_pos AS gtid_slave_pos"));
    assert_non_null(strstr(orc_buf_str(&b), "rpl_semi_sync_master_enabled"));
    assert_null(strstr(orc_buf_str(&b), "super_read_only"));
    assert_null(strstr(orc_buf_str(&b), "gtid_mode"));
    assert_string_equal(disc_flavor_log_replica_updates_var(&v), "log_slave_updates");
    orc_buf_release(&b);
}

static void test_sql_quote_escapes(void **state)
{
    struct orc_buf b = ORC_BUF_INIT;

    (void)state;
    assert_int_equal(disc_sql_quote(&b, "db'1\\x\n\r\032"), 0);
    assert_string_equal(orc_buf_str(&b), "'db\\'1\\\\x\\n\\r\\Z'");
    orc_buf_reset(&b);
    assert_int_equal(disc_sql_quote(&b, ""), 0);
    assert_string_equal(orc_buf_str(&b), "''");
    orc_buf_release(&b);
}

static void change_master(const char *version,
                          const struct disc_change_master *cm,
                          const char *expect)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct disc_version v;
    char err[ORC_ERRMSG_SIZE] = "";

    disc_version_parse(version, NULL, &v);
    assert_int_equal(disc_flavor_change_master_sql(&v, cm, &b, err, sizeof(err)), 0);
    assert_string_equal(orc_buf_str(&b), expect);
    orc_buf_release(&b);
}

static void test_change_master_statements(void **state)
{
    struct disc_change_master gtid = {.host = "db'1\\evil",
                                      .port = 3307,
                                      .user = "re'pl",
                                      .password = "p\\w'd",
                                      .use_gtid = true};
    struct disc_change_master coords = {
        .host = "db1", .port = 3306, .log_file = "mysql-bin.000007", .log_pos = 1234};
    struct disc_change_master bad = {.host = "", .port = 3306};
    struct orc_buf b = ORC_BUF_INIT;
    struct disc_version v;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    change_master("10.11.6-MariaDB", &gtid,
                  "CHANGE MASTER TO MASTER_HOST='db\\'1\\\\evil', MASTER_PORT=3307, "
                  "MASTER_USER='re\\'pl', MASTER_PASSWORD='p\\\\w\\'d', MASTER_USE_GTID=slave_pos");
    change_master("5.7.44", &gtid,
                  "CHANGE MASTER TO MASTER_HOST='db\\'1\\\\evil', MASTER_PORT=3307, "
                  "MASTER_USER='re\\'pl', MASTER_PASSWORD='p\\\\w\\'d', MASTER_AUTO_POSITION=1");
    change_master("8.0.22", &gtid,
                  "CHANGE MASTER TO MASTER_HOST='db\\'1\\\\evil', MASTER_PORT=3307, "
                  "MASTER_USER='re\\'pl', MASTER_PASSWORD='p\\\\w\\'d', MASTER_AUTO_POSITION=1");
    change_master("8.4.3", &gtid,
                  "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db\\'1\\\\evil', SOURCE_PORT=3307, "
                  "SOURCE_USER='re\\'pl', SOURCE_PASSWORD='p\\\\w\\'d', SOURCE_AUTO_POSITION=1");
    change_master("8.0.36", &coords,
                  "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db1', SOURCE_PORT=3306, "
                  "SOURCE_AUTO_POSITION=0, SOURCE_LOG_FILE='mysql-bin.000007', "
                  "SOURCE_LOG_POS=1234");
    change_master("10.11.6-MariaDB", &coords,
                  "CHANGE MASTER TO MASTER_HOST='db1', MASTER_PORT=3306, MASTER_USE_GTID=no, "
                  "MASTER_LOG_FILE='mysql-bin.000007', MASTER_LOG_POS=1234");

    disc_version_parse("8.4.3", NULL, &v);
    assert_int_equal(disc_flavor_change_master_sql(&v, &bad, &b, err, sizeof(err)), ORC_EINVAL);
    assert_string_equal(err, "change master: empty host");
    bad.host = "db1";
    bad.port = 0;
    assert_int_equal(disc_flavor_change_master_sql(&v, &bad, &b, err, sizeof(err)), ORC_EINVAL);
    coords.use_gtid = true;
    assert_int_equal(disc_flavor_change_master_sql(&v, &coords, &b, err, sizeof(err)), ORC_EINVAL);
    orc_buf_release(&b);
}

/* ------------------------------------------------------------------------
 * Parsers
 * ------------------------------------------------------------------------ */

static struct disc_rs *rs_text(const char *text)
{
    struct disc_rs *rs = NULL;
    char err[ORC_ERRMSG_SIZE] = "";

    if (disc_rs_parse_text(text, &rs, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
    return rs;
}

static void test_thread_state(void **state)
{
    (void)state;
    assert_int_equal(disc_parse_thread_state("Yes"), DISC_THREAD_RUNNING);
    assert_int_equal(disc_parse_thread_state("No"), DISC_THREAD_STOPPED);
    assert_int_equal(disc_parse_thread_state("Connecting"), DISC_THREAD_OTHER);
    assert_int_equal(disc_parse_thread_state("Preparing"), DISC_THREAD_OTHER);
    assert_int_equal(disc_parse_thread_state(""), DISC_THREAD_OTHER);
    assert_int_equal(disc_parse_thread_state(NULL), DISC_THREAD_OTHER);
}

static void test_replica_status_edge_values(void **state)
{
    struct disc_rs *rs = rs_text(
        "***\nSlave_IO_Running: Yes\nSlave_SQL_Running: Yes\n"
        "Master_Host: //db1\nMaster_Port: 3306\nMaster_User: \n"
        "Seconds_Behind_Master: -5\nSQL_Delay: 3600\n"
        "Replicate_Wild_Ignore_Table: mysql.%\nMaster_SSL_Allowed: Yes\n"
        "Relay_Master_Log_File: //mysql-bin.000001\n"
        "Using_Gtid: Current_Pos\nAuto_Position: 0\n");
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    disc_instance_init(&in);
    assert_int_equal(disc_parse_replica_status(rs, &in, err, sizeof(err)), 0);
    assert_true(in.seconds_behind_master.valid);
    assert_int_equal(in.seconds_behind_master.value, 0);
    assert_int_equal(in.sql_delay, 3600);
    assert_true(in.has_replication_filters);
    assert_false(in.has_replication_credentials);
    assert_true(in.allow_tls);
    assert_true(in.is_detached_master);
    assert_true(in.is_detached);
    assert_true(in.using_mariadb_gtid);
    assert_string_equal(in.mariadb_using_gtid, "Current_Pos");
    assert_false(in.using_oracle_gtid);
    disc_rs_free(rs);

    /* No row: not a replica; old values are cleared. */
    rs = rs_text("columns: Slave_IO_Running,Slave_SQL_Running\n");
    assert_int_equal(disc_parse_replica_status(rs, &in, err, sizeof(err)), 0);
    assert_int_equal(in.io_state, DISC_THREAD_NONE);
    assert_int_equal(in.sql_state, DISC_THREAD_NONE);
    assert_string_equal(in.master_key.host, "");
    assert_false(in.has_replication_filters);
    disc_rs_free(rs);

    /* A row without the thread columns is not a replica status. */
    rs = rs_text("***\nFoo: 1\n");
    assert_int_equal(disc_parse_replica_status(rs, &in, err, sizeof(err)), ORC_EINVAL);
    disc_rs_free(rs);
    disc_instance_release(&in);
}

static void test_variables_mandatory(void **state)
{
    struct disc_rs *rs = rs_text("***\nversion: 8.0.36\nserver_id: x\n");
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    disc_instance_init(&in);
    assert_int_equal(disc_parse_variables(rs, &in, err, sizeof(err)), ORC_EINVAL);
    assert_string_equal(err, "variables: bad server_id 'x'");
    disc_rs_free(rs);
    rs = rs_text("***\nversion: 8.0.36\n");
    assert_int_equal(disc_parse_variables(rs, &in, err, sizeof(err)), ORC_EINVAL);
    disc_rs_free(rs);
    rs = rs_text(
        "***\nversion: 8.0.36\nserver_id: 7\nread_only: ON\ngtid_mode: OFF_PERMISSIVE\n"
        "gtid_executed: a:1-3,\\nb:1-9\n");
    assert_int_equal(disc_parse_variables(rs, &in, err, sizeof(err)), 0);
    assert_true(in.read_only);
    assert_true(in.supports_oracle_gtid);
    assert_string_equal(in.executed_gtid_set, "a:1-3,b:1-9");
    disc_rs_free(rs);
    disc_instance_release(&in);
}

static void test_replica_hosts(void **state)
{
    struct disc_rs *rs = rs_text(
        "***\nServer_id: 2\nHost: db2\nPort: 3306\nMaster_id: 1\n"
        "***\nServer_id: 3\nHost: \nPort: 3306\nMaster_id: 1\n"
        "***\nServer_id: 4\nHost: db4\nPort: notaport\nMaster_id: 1\n"
        "***\nServer_id: 5\nHost: db5\nPort: 3307\nMaster_id: 1\n"
        "***\nServer_id: 2\nHost: db2\nPort: 3306\nMaster_id: 1\n");
    struct disc_keylist l = {0};
    struct orc_key k = {"db5", 3307};
    char err[ORC_ERRMSG_SIZE] = "", buf[256];

    (void)state;
    assert_int_equal(disc_parse_replica_hosts(rs, &l, err, sizeof(err)), 0);
    key_list_str(&l, buf, sizeof(buf));
    assert_string_equal(buf, "db2:3306,db5:3307");
    assert_true(disc_keylist_contains(&l, &k));
    disc_rs_free(rs);

    rs = rs_text("***\nhost: 10.0.0.7\n***\nhost: 10.0.0.8\n***\nhost: \\N\n");
    assert_int_equal(disc_parse_processlist_hosts(rs, 3310, &l, err, sizeof(err)), 0);
    key_list_str(&l, buf, sizeof(buf));
    assert_string_equal(buf, "db2:3306,db5:3307,10.0.0.7:3310,10.0.0.8:3310");
    disc_rs_free(rs);

    rs = rs_text("***\nServer_Id: 2\nName: db2\n");
    assert_int_equal(disc_parse_replica_hosts(rs, &l, err, sizeof(err)), ORC_EINVAL);
    disc_rs_free(rs);
    disc_keylist_release(&l);
}

/* Values from a server are checked at the door: odd host names (a comma
 * that would forge a list entry, shell syntax, too long) are dropped, and
 * no server makes us keep more than DISC_MAX_REPLICAS replicas or
 * DISC_RS_MAX_ROWS rows. */
static void test_values_at_the_door(void **state)
{
    static const char *const bad_hosts[] = {
        "db1,db2:3306", "$(touch x)", "a b", "a;b", "'x'", "a\"b", "`x`", "a\tb", "",
    };
    struct disc_rs *rs = rs_text(
        "***\nServer_id: 2\nHost: db2,evil:1\nPort: 3306\n"
        "***\nServer_id: 3\nHost: $(touch /tmp/x)\nPort: 3306\n"
        "***\nServer_id: 4\nHost: db4.example\nPort: 3306\n");
    struct disc_keylist l = {0};
    char err[ORC_ERRMSG_SIZE] = "", buf[256], longname[300];
    const char *cols[] = {"Host", "Port"};
    struct disc_rs *big;

    (void)state;
    assert_int_equal(disc_parse_replica_hosts(rs, &l, err, sizeof(err)), 0);
    key_list_str(&l, buf, sizeof(buf));
    assert_string_equal(buf, "db4.example:3306");
    disc_rs_free(rs);
    disc_keylist_release(&l);
    for (size_t i = 0; i < ORC_ARRAY_LEN(bad_hosts); i++) {
        assert_false(disc_valid_host(bad_hosts[i]));
        assert_false(disc_valid_label(bad_hosts[i], DISC_TEXT_MAX));
    }
    assert_true(disc_valid_host("db-1.example_x:3306"));
    assert_true(disc_valid_host("//db1")); /* a detached master */
    assert_true(disc_valid_host("[fe80::1%eth0]"));
    assert_true(disc_valid_label("prod-eu/main@x+1=2", DISC_TEXT_MAX));
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(disc_valid_host(longname));
    longname[DISC_NAME_MAX] = '\0'; /* one byte more than a field holds */
    assert_true(disc_valid_label(longname, DISC_NAME_MAX + 1));
    assert_false(disc_valid_label(longname, DISC_NAME_MAX));

    /* caps: replicas per instance, rows per result set */
    big = disc_rs_new(2, cols);
    for (int i = 0; i < DISC_MAX_REPLICAS + 50; i++) {
        char host[32], port[8];
        const char *row[] = {host, port};
        snprintf(host, sizeof(host), "r%d", i);
        snprintf(port, sizeof(port), "3306");
        assert_int_equal(disc_rs_add_row(big, row), 0);
    }
    assert_int_equal(disc_parse_replica_hosts(big, &l, err, sizeof(err)), 0);
    assert_int_equal(l.len, DISC_MAX_REPLICAS);
    disc_keylist_release(&l);
    for (size_t i = big->nrows; i < DISC_RS_MAX_ROWS; i++) {
        const char *row[] = {"h", "1"};
        assert_int_equal(disc_rs_add_row(big, row), 0);
    }
    {
        const char *row[] = {"h", "1"};
        assert_int_equal(disc_rs_add_row(big, row), ORC_EINVAL);
    }
    disc_rs_free(big);
}

static void test_semi_sync_and_status(void **state)
{
    struct disc_rs *v = rs_text(
        "***\nVariable_name: rpl_semi_sync_source_enabled\nValue: ON\n"
        "***\nVariable_name: rpl_semi_sync_source_timeout\nValue: 1500\n"
        "***\nVariable_name: rpl_semi_sync_source_wait_for_replica_count\n"
        "Value: 3\n"
        "***\nVariable_name: rpl_semi_sync_replica_enabled\nValue: ON\n");
    struct disc_rs *s = rs_text(
        "***\nVariable_name: Rpl_semi_sync_source_clients\nValue: 3\n"
        "***\nVariable_name: Rpl_semi_sync_replica_status\nValue: ON\n"
        "***\nVariable_name: Uptime\nValue: 12345\n");
    struct disc_instance in;

    (void)state;
    disc_instance_init(&in);
    assert_int_equal(disc_parse_semi_sync_variables(v, &in), 0);
    assert_int_equal(disc_parse_status(s, &in), 0);
    assert_true(in.semi_sync_available);
    assert_true(in.semi_sync_master_enabled);
    assert_true(in.semi_sync_replica_enabled);
    assert_int_equal(in.semi_sync_master_timeout, 1500);
    assert_int_equal(in.semi_sync_master_wait_for_replica_count, 3);
    assert_int_equal(in.semi_sync_master_clients, 3);
    assert_true(in.semi_sync_replica_status);
    assert_false(in.semi_sync_master_status);
    assert_int_equal(in.uptime, 12345);
    disc_rs_free(v);
    disc_rs_free(s);
    disc_instance_release(&in);
}

/* ------------------------------------------------------------------------
 * Result sets, the text form, instance lifecycle
 * ------------------------------------------------------------------------ */

static void test_rs_text_roundtrip(void **state)
{
    const char *cols[] = {"a", "Name With:Colon", "c"};
    const char *row1[] = {"multi\nline\tand \\ backslash", NULL, ""};
    const char *row2[] = {"\\N", " leading", "x: y"};
    struct disc_rs *rs = disc_rs_new(3, cols), *back = NULL;
    struct orc_buf b = ORC_BUF_INIT;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    assert_int_equal(disc_rs_add_row(rs, row1), 0);
    assert_int_equal(disc_rs_add_row(rs, row2), 0);
    assert_int_equal(disc_rs_format_text(rs, &b), 0);
    assert_int_equal(disc_rs_parse_text(orc_buf_str(&b), &back, err, sizeof(err)), 0);
    assert_int_equal(back->ncols, 3);
    assert_int_equal(back->nrows, 2);
    assert_string_equal(back->cols[1], "Name With:Colon");
    assert_string_equal(disc_rs_get(back, 0, 0), row1[0]);
    assert_null(disc_rs_get(back, 0, 1));
    assert_string_equal(disc_rs_get(back, 0, 2), "");
    assert_string_equal(disc_rs_get(back, 1, 0), "\\N");
    assert_string_equal(disc_rs_get(back, 1, 1), " leading");
    assert_string_equal(disc_rs_value(back, 1, "C"), "x: y");
    assert_null(disc_rs_value(back, 1, "missing"));
    assert_null(disc_rs_get(back, 2, 0));
    disc_rs_free(back);
    disc_rs_free(rs);
    orc_buf_release(&b);
}

static void test_rs_text_errors(void **state)
{
    struct disc_rs *rs = NULL;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    assert_int_equal(disc_rs_parse_text("# c\n!error 1227 Access denied\n", &rs, err, sizeof(err)),
                     ORC_EMYSQL);
    assert_string_equal(err, "1227 Access denied");
    assert_null(rs);
    assert_int_equal(disc_rs_parse_text("***\na: 1\n***\nb: 2\n", &rs, err, sizeof(err)),
                     ORC_EINVAL);
    assert_int_equal(disc_rs_parse_text("***\na: 1\n***\na: 1\nb: 2\n", &rs, err, sizeof(err)),
                     ORC_EINVAL);
    assert_int_equal(disc_rs_parse_text("***\nno colon here\n", &rs, err, sizeof(err)), ORC_EINVAL);
    assert_int_equal(disc_rs_parse_text("# nothing\n", &rs, err, sizeof(err)), 0);
    assert_int_equal(rs->ncols, 0);
    assert_int_equal(rs->nrows, 0);
    disc_rs_free(rs);
    assert_int_equal(disc_rs_parse_text("columns: x, y\n", &rs, err, sizeof(err)), 0);
    assert_int_equal(rs->ncols, 2);
    assert_string_equal(rs->cols[1], "y");
    disc_rs_free(rs);
}

static void test_instance_copy_is_deep(void **state)
{
    struct disc_instance a, b;
    struct orc_key k = {"db9", 3306};

    (void)state;
    disc_instance_init(&a);
    disc_instance_init(&b);
    assert_int_equal(a.io_state, DISC_THREAD_NONE);
    assert_int_equal(a.relay_coords.type, DISC_COORDS_RELAYLOG);
    assert_int_equal(disc_instance_set_str(&a.executed_gtid_set, "u:1-5"), 0);
    assert_int_equal(disc_instance_set_str(&a.last_sql_error, "boom"), 0);
    assert_int_equal(disc_keylist_add(&a.replicas, &k), 0);
    assert_int_equal(disc_keylist_add(&a.replicas, &k), 0);
    assert_int_equal(a.replicas.len, 1);
    a.server_id = 9;
    assert_int_equal(disc_instance_copy(&b, &a), 0);
    assert_ptr_not_equal(a.executed_gtid_set, b.executed_gtid_set);
    assert_ptr_not_equal(a.replicas.keys, b.replicas.keys);
    disc_instance_release(&a);
    assert_null(a.executed_gtid_set);
    assert_string_equal(b.executed_gtid_set, "u:1-5");
    assert_string_equal(b.last_sql_error, "boom");
    assert_int_equal(b.server_id, 9);
    assert_true(disc_keylist_contains(&b.replicas, &k));
    assert_int_equal(disc_instance_set_str(&b.last_sql_error, ""), 0);
    assert_null(b.last_sql_error);
    assert_string_equal(disc_str(b.last_sql_error), "");
    assert_int_equal(disc_instance_copy(&b, &b), 0);
    disc_instance_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_parse),
        cmocka_unit_test(test_flavor_statements),
        cmocka_unit_test(test_flavor_variables_sql),
        cmocka_unit_test(test_sql_quote_escapes),
        cmocka_unit_test(test_change_master_statements),
        cmocka_unit_test(test_thread_state),
        cmocka_unit_test(test_replica_status_edge_values),
        cmocka_unit_test(test_variables_mandatory),
        cmocka_unit_test(test_replica_hosts),
        cmocka_unit_test(test_semi_sync_and_status),
        cmocka_unit_test(test_rs_text_roundtrip),
        cmocka_unit_test(test_rs_text_errors),
        cmocka_unit_test(test_instance_copy_is_deep),
        cmocka_unit_test(test_values_at_the_door),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
