/*
 * Unit tests of the discovery probe: disc_probe_run against a fake
 * connection answering from recordings in
 * tests/unit/data/ (MariaDB 10.11 recorded from real servers; MySQL 5.7,
 * 8.0.18, 8.0.36, 8.4 and Percona 8.0 written by data/gen_mysql.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/orc.h"
#include "discovery/disc.h"
#include "probe_fake.h"

/* ------------------------------------------------------------------------
 * The fake connection
 * ------------------------------------------------------------------------ */

struct fake {
    const char *flavor;    /* data/<flavor>/ */
    const char *cas;       /* data/<flavor>/<case>/, then data/<flavor>/common/ */
    const char *handshake; /* server_version answer; NULL: the probe must ask */
    const char *fail_slug; /* this statement fails with fail_rc */
    int fail_rc;
    const char *answer_sql[4]; /* exact statements answered from answer_text */
    const char *answer_text[4];
    bool lenient_aliases; /* skip the variables column check */
    bool batch;           /* offer query_batch */
    int round_trips;
    char log[32][64]; /* slugs of the statements sent, in order */
    int nlog;
};

/* The variables SELECT must ask for exactly the columns the recording has. */
static void check_aliases(const char *sql, const struct disc_rs *rs)
{
    size_t n = 0;

    for (const char *p = strstr(sql, " AS "); p != NULL; p = strstr(p + 4, " AS ")) {
        char alias[64];
        size_t l = strcspn(p + 4, ", ");

        snprintf(alias, sizeof(alias), "%.*s", (int)l, p + 4);
        if (disc_rs_col(rs, alias) < 0)
            fail_msg("variables SELECT asks for '%s', the recording has no such column", alias);
        n++;
    }
    if (n != rs->ncols)
        fail_msg("variables SELECT has %zu columns, the recording %zu", n, rs->ncols);
}

static char *fake_find(const struct fake *f, const char *slug)
{
    char path[1024];
    char *text;

    snprintf(path, sizeof(path), "%s/%s/%s/%s.txt", probe_data_dir(), f->flavor, f->cas, slug);
    text = probe_read_file(path);
    if (text == NULL) {
        snprintf(path, sizeof(path), "%s/%s/common/%s.txt", probe_data_dir(), f->flavor, slug);
        text = probe_read_file(path);
    }
    return text;
}

static int fake_query(void *conn, const char *sql, struct disc_rs **out, char *errmsg, size_t len)
{
    struct fake *f = conn;
    char slug[64];
    char *text = NULL;
    int rc;

    *out = NULL;
    f->round_trips++;
    probe_slug(sql, slug, sizeof(slug));
    if (f->nlog < 32)
        snprintf(f->log[f->nlog++], sizeof(f->log[0]), "%s", slug);
    if (f->fail_slug != NULL && strcmp(f->fail_slug, slug) == 0) {
        orc_errf(errmsg, len, "error 9999: injected failure");
        return f->fail_rc;
    }
    for (int i = 0; i < 4 && f->answer_sql[i] != NULL; i++) {
        if (strcmp(f->answer_sql[i], sql) == 0)
            return disc_rs_parse_text(f->answer_text[i], out, errmsg, len);
    }
    text = fake_find(f, slug);
    if (text == NULL) {
        orc_errf(errmsg, len, "error 1064: no recording '%s' for %s/%s", slug, f->flavor, f->cas);
        return ORC_EMYSQL;
    }
    rc = disc_rs_parse_text(text, out, errmsg, len);
    free(text);
    if (rc == 0 && strcmp(slug, "variables") == 0 && !f->lenient_aliases)
        check_aliases(sql, *out);
    return rc;
}

static const char *fake_version(void *conn)
{
    return ((struct fake *)conn)->handshake;
}

/* As a server does with multi-statements: runs in order, stops at the first failure. */
static int fake_query_batch(void *conn,
                            const char *const *sql,
                            size_t n,
                            struct disc_rs **outs,
                            int *rcs,
                            char *errmsg,
                            size_t len)
{
    struct fake *f = conn;
    bool failed = false;

    f->round_trips++;
    for (size_t i = 0; i < n; i++) {
        outs[i] = NULL;
        rcs[i] = ORC_ESTATE;
        if (failed)
            continue;
        f->round_trips--; /* fake_query counts one; the batch counted already */
        rcs[i] = fake_query(conn, sql[i], &outs[i], errmsg, len);
        if (rcs[i] == ORC_EIO && i == 0)
            return ORC_EIO;
        failed = rcs[i] != 0;
    }
    return 0;
}

static const struct disc_conn_ops fake_ops = {fake_query, fake_version, NULL};
static const struct disc_conn_ops fake_batch_ops = {fake_query, fake_version, fake_query_batch};

/* The statements sent, as "slug,slug,...". */
static const char *fake_log(const struct fake *f, char *buf, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < f->nlog && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "," : "", f->log[i]);
    return buf;
}

static int run_probe(struct fake *f,
                     const struct disc_probe_options *o,
                     const char *host,
                     int port,
                     struct disc_instance *in,
                     char *err,
                     size_t len)
{
    struct orc_key key;

    snprintf(key.host, sizeof(key.host), "%s", host);
    key.port = port;
    disc_instance_init(in);
    f->nlog = 0;
    f->round_trips = 0;
    return disc_probe_run(f->batch ? &fake_batch_ops : &fake_ops, f, o, &key, in, err, len);
}

/* ------------------------------------------------------------------------
 * Probe per flavor and case, field by field
 * ------------------------------------------------------------------------ */

struct expect {
    const char *flavor, *cas;
    const char *handshake;
    bool show_hosts;
    const char *statements; /* slugs in order */
    int64_t server_id;
    const char *version;
    enum disc_flavor fl;
    int major, minor, patch;
    bool read_only, super_read_only, log_replica_updates;
    const char *binlog_row_image;
    const char *self_file;
    int64_t self_pos;
    const char *master_host;
    int master_port;
    int io, sql;
    const char *io_text;
    const char *read_file;
    int64_t read_pos;
    const char *exec_file;
    int64_t exec_pos;
    const char *relay_file;
    int64_t relay_pos;
    int io_errno, sql_errno;
    const char *io_error, *sql_error; /* prefixes */
    bool sbm_valid;
    int64_t sbm;
    bool oracle_gtid, mariadb_gtid;
    const char *gtid_mode, *executed, *purged, *retrieved;
    const char *current_pos, *slave_pos, *binlog_pos, *io_pos;
    const char *server_uuid, *master_uuid;
    const char *replicas; /* "host:port,host:port" */
    bool semi_available, semi_master_enabled, semi_master_status;
    int64_t semi_timeout, semi_wait, semi_clients, uptime;
};

#define M_UUID "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define R_UUID "4d8f0b61-8a2c-11ee-b5a1-0242ac120003"
#define O_UUID "0c5a2e14-1b7d-11ed-9d6e-0242ac120009"
#define EXECUTED O_UUID ":1-57," M_UUID ":1-1234"
#define PURGED O_UUID ":1-57," M_UUID ":1-200"
#define R_EXECUTED O_UUID ":1-57," M_UUID ":1-1230"
#define MY_SQL_ERR_57 "Could not execute Write_rows event on table app.orders; Duplicate"
#define MY_SQL_ERR_MTS "Coordinator stopped because there were error(s) in the worker(s)."
#define MARIADB_VERSION "10.11.19-MariaDB-0+deb12u1-log"

/* MariaDB 10.11, recorded from a real master and replicas (sandbox on 127.0.0.1). */
static const struct expect mariadb_cases[] = {
    {.flavor = "mariadb-10.11",
     .cas = "master",
     .handshake = NULL,
     .statements = "version,variables,show_slave_status,show_master_status,global_status,"
                   "processlist",
     .server_id = 1,
     .version = MARIADB_VERSION,
     .fl = DISC_FLAVOR_MARIADB,
     .major = 10,
     .minor = 11,
     .patch = 19,
     .log_replica_updates = true,
     .binlog_row_image = "FULL",
     .self_file = "mysql-bin.000001",
     .self_pos = 1140,
     .master_host = "",
     .io = -1,
     .sql = -1,
     .io_text = "",
     .read_file = "",
     .exec_file = "",
     .relay_file = "",
     .gtid_mode = "",
     .current_pos = "0-1-4",
     .binlog_pos = "0-1-4",
     .executed = "0-1-4", /* gtid_binlog_state */
     .server_uuid = "",
     .master_uuid = "",
     .replicas = "127.0.0.1:41003",
     .semi_available = true,
     .semi_timeout = 10000,
     .semi_wait = 1,
     .uptime = 33},
    {.flavor = "mariadb-10.11",
     .cas = "master-show-hosts",
     .handshake = MARIADB_VERSION,
     .show_hosts = true,
     .statements = "variables,show_slave_status,show_master_status,global_status,"
                   "show_slave_hosts",
     .server_id = 1,
     .version = MARIADB_VERSION,
     .fl = DISC_FLAVOR_MARIADB,
     .major = 10,
     .minor = 11,
     .patch = 19,
     .log_replica_updates = true,
     .binlog_row_image = "FULL",
     .self_file = "mysql-bin.000001",
     .self_pos = 1140,
     .master_host = "",
     .io = -1,
     .sql = -1,
     .io_text = "",
     .read_file = "",
     .exec_file = "",
     .relay_file = "",
     .gtid_mode = "",
     .current_pos = "0-1-4",
     .binlog_pos = "0-1-4",
     .executed = "0-1-4", /* gtid_binlog_state */
     .server_uuid = "",
     .master_uuid = "",
     .replicas = "127.0.0.1:49637,127.0.0.1:47927",
     .semi_available = true,
     .semi_timeout = 10000,
     .semi_wait = 1,
     .uptime = 33},
    {.flavor = "mariadb-10.11",
     .cas = "replica",
     .handshake = "5.5.5-" MARIADB_VERSION,
     .statements = "variables,show_slave_status,show_master_status,global_status,processlist",
     .server_id = 2,
     .version = MARIADB_VERSION,
     .fl = DISC_FLAVOR_MARIADB,
     .major = 10,
     .minor = 11,
     .patch = 19,
     .read_only = true,
     .log_replica_updates = true,
     .binlog_row_image = "FULL",
     .self_file = "mysql-bin.000001",
     .self_pos = 1140,
     .master_host = "127.0.0.1",
     .master_port = 41003,
     .io = 1,
     .sql = 1,
     .io_text = "Yes",
     .read_file = "mysql-bin.000001",
     .read_pos = 1140,
     .exec_file = "mysql-bin.000001",
     .exec_pos = 1140,
     .relay_file = "relay-bin.000002",
     .relay_pos = 1439,
     .sbm_valid = true,
     .sbm = 0,
     .mariadb_gtid = true,
     .gtid_mode = "",
     .current_pos = "0-1-4",
     .slave_pos = "0-1-4",
     .binlog_pos = "0-1-4",
     .executed = "0-1-4", /* gtid_binlog_state */
     .io_pos = "0-1-4",
     .server_uuid = "",
     .master_uuid = "",
     .replicas = "",
     .semi_available = true,
     .semi_timeout = 10000,
     .semi_wait = 1,
     .uptime = 33},
    {.flavor = "mariadb-10.11",
     .cas = "replica-sql-error",
     .handshake = MARIADB_VERSION,
     .statements = "variables,show_slave_status,show_master_status,global_status,processlist",
     .server_id = 3,
     .version = MARIADB_VERSION,
     .fl = DISC_FLAVOR_MARIADB,
     .major = 10,
     .minor = 11,
     .patch = 19,
     .read_only = true,
     .log_replica_updates = true,
     .binlog_row_image = "FULL",
     .self_file = "mysql-bin.000001",
     .self_pos = 1373,
     .master_host = "127.0.0.1",
     .master_port = 41003,
     .io = 1,
     .sql = 0,
     .io_text = "Yes",
     .read_file = "mysql-bin.000001",
     .read_pos = 1371,
     .exec_file = "mysql-bin.000001",
     .exec_pos = 1140,
     .relay_file = "relay-bin.000002",
     .relay_pos = 1439,
     .sql_errno = 1062,
     .sql_error = "Could not execute Write_rows_v1 event on table t.a; Duplicate entry '20'",
     .mariadb_gtid = true,
     .gtid_mode = "",
     .current_pos = "0-3-5",
     .slave_pos = "0-1-4",
     .binlog_pos = "0-3-5",
     .executed = "0-3-5", /* gtid_binlog_state */
     .io_pos = "0-1-5",
     .server_uuid = "",
     .master_uuid = "",
     .replicas = "",
     .semi_available = true,
     .semi_timeout = 10000,
     .semi_wait = 1,
     .uptime = 36},
    {.flavor = "mariadb-10.11",
     .cas = "replica-io-connecting",
     .handshake = MARIADB_VERSION,
     .statements = "variables,show_slave_status,show_master_status,global_status,processlist",
     .server_id = 2,
     .version = MARIADB_VERSION,
     .fl = DISC_FLAVOR_MARIADB,
     .major = 10,
     .minor = 11,
     .patch = 19,
     .read_only = true,
     .log_replica_updates = true,
     .binlog_row_image = "FULL",
     .self_file = "mysql-bin.000001",
     .self_pos = 1371,
     .master_host = "127.0.0.1",
     .master_port = 50961,
     .io = 2,
     .sql = 1,
     .io_text = "Connecting",
     .read_file = "",
     .read_pos = 4,
     .exec_file = "",
     .exec_pos = 4,
     .relay_file = "relay-bin.000001",
     .relay_pos = 4,
     .io_errno = 2003,
     .io_error = "error connecting to master 'repl@127.0.0.1:50961'",
     .mariadb_gtid = true,
     .gtid_mode = "",
     .current_pos = "0-1-5",
     .slave_pos = "0-1-5",
     .binlog_pos = "0-1-5",
     .executed = "0-1-5", /* gtid_binlog_state */
     .io_pos = "0-1-5",
     .server_uuid = "",
     .master_uuid = "",
     .replicas = "",
     .semi_available = true,
     .semi_timeout = 10000,
     .semi_wait = 1,
     .uptime = 37},
};

/* The MySQL master and replicas share most values (gen_mysql.py). */
static struct expect mysql_master(const char *flavor,
                                  const char *version,
                                  enum disc_flavor fl,
                                  int major,
                                  int minor,
                                  int patch,
                                  const char *statements)
{
    struct expect e = {
        .flavor = flavor,
        .cas = "master",
        .handshake = version,
        .show_hosts = true,
        .statements = statements,
        .server_id = 101,
        .version = version,
        .fl = fl,
        .major = major,
        .minor = minor,
        .patch = patch,
        .log_replica_updates = true,
        .binlog_row_image = "FULL",
        .self_file = "mysql-bin.000003",
        .self_pos = 40215,
        .master_host = "",
        .io = -1,
        .sql = -1,
        .io_text = "",
        .read_file = "",
        .exec_file = "",
        .relay_file = "",
        .gtid_mode = "ON",
        .executed = EXECUTED,
        .purged = PURGED,
        .server_uuid = M_UUID,
        .master_uuid = "",
        .replicas = "db2.dc1.example.com:3306,db4.dc2.example.com:3306",
        .uptime = 86399,
    };
    return e;
}

static struct expect mysql_replica(struct expect e, const char *cas)
{
    e.cas = cas;
    e.show_hosts = false;
    e.server_id = 102;
    e.read_only = e.super_read_only = true;
    e.binlog_row_image = "MINIMAL";
    e.self_file = "mysql-bin.000002";
    e.self_pos = 9876;
    e.master_host = "db1.dc1.example.com";
    e.master_port = 3306;
    e.io = strcmp(cas, "replica-io-connecting") == 0 ? 2 : 1;
    e.sql = strcmp(cas, "replica-sql-error") == 0 ? 0 : 1;
    e.io_text = e.io == 2 ? "Connecting" : "Yes";
    e.read_file = e.exec_file = "mysql-bin.000003";
    e.read_pos = 40215;
    e.exec_pos = e.sql == 0 ? 40100 : 40215;
    e.relay_file = "db2-relay-bin.000007";
    e.relay_pos = 1850;
    e.io_errno = e.io == 2 ? 2003 : 0;
    e.sql_errno = e.sql == 0 ? 1062 : 0;
    e.sbm_valid = e.io == 1 && e.sql == 1;
    e.sbm = e.sbm_valid ? 3 : 0;
    e.oracle_gtid = true;
    e.executed = R_EXECUTED;
    e.retrieved = M_UUID ":1150-1234";
    e.server_uuid = R_UUID;
    e.master_uuid = M_UUID;
    e.replicas = "";
    e.uptime = 3600;
    e.semi_master_status = false;
    e.semi_clients = 0;
    return e;
}

static void key_list_str(const struct disc_keylist *l, char *buf, size_t n)
{
    size_t used = 0;
    char k[ORC_KEY_STRLEN];

    buf[0] = '\0';
    for (size_t i = 0; i < l->len && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "," : "",
                                 orc_key_str(&l->keys[i], k, sizeof(k)));
}

static void assert_prefix(const char *s, const char *prefix)
{
    if (prefix == NULL || prefix[0] == '\0') {
        assert_string_equal(s, "");
        return;
    }
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("'%s' does not start with '%s'", s, prefix);
}

static void check_identity(const struct expect *e, const struct disc_instance *in)
{
    assert_int_equal(in->server_id, e->server_id);
    assert_string_equal(in->version, e->version);
    assert_int_equal(in->ver.flavor, e->fl);
    assert_int_equal(in->ver.major, e->major);
    assert_int_equal(in->ver.minor, e->minor);
    assert_int_equal(in->ver.patch, e->patch);
    assert_int_equal(in->read_only, e->read_only);
    assert_int_equal(in->super_read_only, e->super_read_only);
    assert_true(in->log_bin);
    assert_int_equal(in->log_replica_updates, e->log_replica_updates);
    assert_string_equal(in->binlog_format, "ROW");
    assert_string_equal(in->binlog_row_image, e->binlog_row_image);
    assert_string_equal(in->self_coords.file, e->self_file);
    assert_int_equal(in->self_coords.pos, e->self_pos);
    assert_int_equal(in->uptime, e->uptime);
    assert_string_equal(in->server_uuid, e->server_uuid);
}

static void check_replication(const struct expect *e, const struct disc_instance *in)
{
    assert_string_equal(in->master_key.host, e->master_host);
    assert_int_equal(in->master_key.port, e->master_port);
    assert_string_equal(in->master_uuid, e->master_uuid);
    assert_int_equal(in->io_state, e->io);
    assert_int_equal(in->sql_state, e->sql);
    assert_string_equal(in->io_running_text, e->io_text);
    assert_int_equal(disc_instance_is_replica(in), e->io != -1);
    assert_int_equal(disc_instance_replicating(in), e->io == 1 && e->sql == 1);
    assert_string_equal(in->read_coords.file, e->read_file);
    assert_int_equal(in->read_coords.pos, e->read_pos);
    assert_string_equal(in->exec_coords.file, e->exec_file);
    assert_int_equal(in->exec_coords.pos, e->exec_pos);
    assert_string_equal(in->relay_coords.file, e->relay_file);
    assert_int_equal(in->relay_coords.pos, e->relay_pos);
    assert_int_equal(in->relay_coords.type, DISC_COORDS_RELAYLOG);
    assert_int_equal(in->last_io_errno, e->io_errno);
    assert_int_equal(in->last_sql_errno, e->sql_errno);
    assert_prefix(disc_str(in->last_io_error), e->io_error);
    assert_prefix(disc_str(in->last_sql_error), e->sql_error);
    assert_int_equal(in->seconds_behind_master.valid, e->sbm_valid);
    assert_int_equal(in->seconds_behind_master.value, e->sbm);
    assert_int_equal(in->replication_lag_seconds.valid, e->sbm_valid);
    assert_int_equal(in->has_replication_credentials, e->io != -1);
    assert_false(in->has_replication_filters);
    assert_false(in->allow_tls);
    assert_false(in->is_detached_master);
}

static void check_gtid(const struct expect *e, const struct disc_instance *in)
{
    assert_int_equal(in->using_oracle_gtid, e->oracle_gtid);
    assert_int_equal(in->using_mariadb_gtid, e->mariadb_gtid);
    assert_string_equal(in->gtid_mode, e->gtid_mode);
    assert_int_equal(in->supports_oracle_gtid, strcmp(e->gtid_mode, "ON") == 0);
    assert_string_equal(disc_str(in->executed_gtid_set), disc_str(e->executed));
    assert_string_equal(disc_str(in->gtid_purged), disc_str(e->purged));
    assert_string_equal(disc_str(in->retrieved_gtid_set), disc_str(e->retrieved));
    assert_string_equal(disc_str(in->gtid_current_pos), disc_str(e->current_pos));
    assert_string_equal(disc_str(in->gtid_slave_pos), disc_str(e->slave_pos));
    assert_string_equal(disc_str(in->gtid_binlog_pos), disc_str(e->binlog_pos));
    assert_string_equal(disc_str(in->gtid_io_pos), disc_str(e->io_pos));
    assert_null(in->gtid_errant);
}

static void check_semi_sync(const struct expect *e, const struct disc_instance *in)
{
    assert_int_equal(in->semi_sync_available, e->semi_available);
    assert_int_equal(in->semi_sync_master_enabled, e->semi_master_enabled);
    assert_false(in->semi_sync_replica_enabled);
    assert_int_equal(in->semi_sync_master_timeout, e->semi_timeout);
    assert_int_equal(in->semi_sync_master_wait_for_replica_count, e->semi_wait);
    assert_int_equal(in->semi_sync_master_status, e->semi_master_status);
    assert_int_equal(in->semi_sync_master_clients, e->semi_clients);
    assert_false(in->semi_sync_replica_status);
}

/* Probes one recorded case, one statement per round trip or batched. */
static void check_case_mode(const struct expect *e, bool batch)
{
    struct fake f = {.flavor = e->flavor, .cas = e->cas, .handshake = e->handshake, .batch = batch};
    struct disc_probe_options o = {.discover_by_show_slave_hosts = e->show_hosts};
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "", buf[1024];
    int port = e->master_port ? 3306 : (strncmp(e->flavor, "mariadb", 7) == 0 ? 41003 : 3306);
    int rc;

    print_message("case %s/%s%s\n", e->flavor, e->cas, batch ? " (batch)" : "");
    rc = run_probe(&f, &o, e->master_host[0] ? "replica.example.com" : "db1.example.com", port, &in,
                   err, sizeof(err));
    if (rc != 0)
        fail_msg("%s/%s: rc %d: %s", e->flavor, e->cas, rc, err);
    assert_string_equal(fake_log(&f, buf, sizeof(buf)), e->statements);
    /* Batched: the version (unless the handshake gave it) and then everything at once. */
    assert_int_equal(f.round_trips, batch ? (e->handshake ? 1 : 2) : f.nlog);
    check_identity(e, &in);
    check_replication(e, &in);
    check_gtid(e, &in);
    check_semi_sync(e, &in);
    key_list_str(&in.replicas, buf, sizeof(buf));
    assert_string_equal(buf, e->replicas);
    assert_true(in.last_check_partial_success);
    assert_true(in.last_discovery_latency_us >= 0);
    disc_instance_release(&in);
}

static void check_case(const struct expect *e)
{
    check_case_mode(e, false);
    check_case_mode(e, true);
}

static void test_probe_mariadb(void **state)
{
    (void)state;
    for (size_t i = 0; i < ORC_ARRAY_LEN(mariadb_cases); i++)
        check_case(&mariadb_cases[i]);
}

/* The processlist gives hosts only; each takes the probed port (as
 * orchestrator does), so on one host the probed instance itself would
 * come back as its own replica: it is left out. */
static void test_probe_processlist_skips_self(void **state)
{
    struct fake f = {.flavor = "mariadb-10.11", .cas = "master"};
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    assert_int_equal(run_probe(&f, NULL, "127.0.0.1", 41003, &in, err, sizeof(err)), 0);
    assert_int_equal(in.replicas.len, 0);
    disc_instance_release(&in);
    f.nlog = 0;
    assert_int_equal(run_probe(&f, NULL, "db1.example.com", 41004, &in, err, sizeof(err)), 0);
    assert_int_equal(in.replicas.len, 1);
    assert_string_equal(in.replicas.keys[0].host, "127.0.0.1");
    assert_int_equal(in.replicas.keys[0].port, 41004);
    disc_instance_release(&in);
}

static void check_mysql_family(struct expect m)
{
    static const char *const cases[] = {"replica", "replica-sql-error", "replica-io-connecting"};
    bool mts = strcmp(m.flavor, "mysql-5.7") != 0 && strcmp(m.flavor, "mysql-8.0.18") != 0;
    bool new_words = strstr(m.statements, "show_replica_status") != NULL;

    check_case(&m);
    for (size_t i = 0; i < ORC_ARRAY_LEN(cases); i++) {
        struct expect r = mysql_replica(m, cases[i]);
        char stmts[256];

        if (r.sql == 0)
            r.sql_error = mts ? MY_SQL_ERR_MTS : MY_SQL_ERR_57;
        if (r.io == 2)
            r.io_error = new_words ? "error connecting to source 'repl@db1.dc1.example.com:3306'"
                                   : "error connecting to master 'repl@db1.dc1.example.com:3306'";
        /* replicas probe without show_hosts: the (empty) processlist answers */
        snprintf(stmts, sizeof(stmts), "%.*s,processlist",
                 (int)(strrchr(m.statements, ',') - m.statements), m.statements);
        r.statements = stmts;
        check_case(&r);
    }
}

static void test_probe_mysql_57(void **state)
{
    struct expect m = mysql_master("mysql-5.7", "5.7.44-log", DISC_FLAVOR_MYSQL, 5, 7, 44,
                                   "variables,show_slave_status,show_master_status,"
                                   "global_status,semi_sync_variables,show_slave_hosts");

    (void)state;
    m.semi_available = m.semi_master_enabled = m.semi_master_status = true;
    m.semi_timeout = 10000;
    m.semi_wait = 1;
    m.semi_clients = 2;
    check_mysql_family(m);
}

static void test_probe_mysql_80_before_22(void **state)
{
    struct expect m = mysql_master("mysql-8.0.18", "8.0.18", DISC_FLAVOR_MYSQL, 8, 0, 18,
                                   "variables,show_slave_status,show_master_status,"
                                   "global_status,semi_sync_variables,show_slave_hosts");

    (void)state;
    check_mysql_family(m); /* no semi-sync plugin loaded: empty variables */
}

static void test_probe_mysql_80_after_22(void **state)
{
    struct expect m = mysql_master("mysql-8.0.36", "8.0.36", DISC_FLAVOR_MYSQL, 8, 0, 36,
                                   "variables,show_replica_status,show_master_status,"
                                   "global_status,semi_sync_variables,show_replicas");

    (void)state;
    m.semi_available = m.semi_master_enabled = m.semi_master_status = true;
    m.semi_timeout = 2500;
    m.semi_wait = 2;
    m.semi_clients = 2;
    check_mysql_family(m);
}

static void test_probe_mysql_84(void **state)
{
    struct expect m = mysql_master("mysql-8.4", "8.4.3", DISC_FLAVOR_MYSQL, 8, 4, 3,
                                   "variables,show_replica_status,show_binary_log_status,"
                                   "global_status,semi_sync_variables,show_replicas");

    (void)state;
    m.semi_available = m.semi_master_enabled = m.semi_master_status = true;
    m.semi_timeout = 2500;
    m.semi_wait = 2;
    m.semi_clients = 2;
    check_mysql_family(m);
}

static void test_probe_percona_80(void **state)
{
    struct expect m = mysql_master("percona-8.0", "8.0.36-28", DISC_FLAVOR_PERCONA, 8, 0, 36,
                                   "version,variables,show_replica_status,show_master_status,"
                                   "global_status,semi_sync_variables,show_replicas");

    (void)state;
    /* The handshake does not say Percona; the probe asks, then reads version_comment. */
    m.handshake = NULL;
    check_case(&m);
}

/* ------------------------------------------------------------------------
 * Probe failures, options and Detect* queries
 * ------------------------------------------------------------------------ */

static void test_probe_mandatory_variables_fail(void **state)
{
    struct fake f = {.flavor = "mysql-8.4",
                     .cas = "replica",
                     .handshake = "8.4.3",
                     .fail_slug = "variables",
                     .fail_rc = ORC_EMYSQL};
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    assert_int_equal(run_probe(&f, NULL, "db2", 3306, &in, err, sizeof(err)), ORC_EMYSQL);
    assert_false(in.last_check_partial_success);
    assert_string_equal(err, "probe db2:3306: variables: error 9999: injected failure");
    assert_int_equal(f.nlog, 1);
    disc_instance_release(&in);
}

static void test_probe_replica_status_fail_is_partial(void **state)
{
    struct fake f = {.flavor = "mysql-8.4",
                     .cas = "replica",
                     .handshake = "8.4.3",
                     .fail_slug = "show_replica_status",
                     .fail_rc = ORC_EMYSQL};
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    for (int batch = 0; batch < 2; batch++) {
        f.batch = batch;
        assert_int_equal(run_probe(&f, NULL, "db2", 3306, &in, err, sizeof(err)), ORC_EMYSQL);
        assert_true(in.last_check_partial_success);
        assert_int_equal(in.server_id, 102);
        assert_string_equal(err, "probe db2:3306: replica status: error 9999: injected failure");
        assert_int_equal(f.nlog, 2);
        disc_instance_release(&in);
    }
}

static void test_probe_optional_status_rejected_is_skipped(void **state)
{
    struct fake f = {.flavor = "mysql-8.0.36",
                     .cas = "replica",
                     .handshake = "8.0.36",
                     .fail_slug = "global_status",
                     .fail_rc = ORC_EMYSQL};
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "", buf[512];

    (void)state;
    for (int batch = 0; batch < 2; batch++) {
        f.batch = batch;
        assert_int_equal(run_probe(&f, NULL, "db2", 3306, &in, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        assert_int_equal(in.uptime, 0);
        assert_int_equal(in.io_state, DISC_THREAD_RUNNING);
        assert_true(in.semi_sync_available); /* sent again after the batch stopped */
        assert_string_equal(fake_log(&f, buf, sizeof(buf)),
                            "variables,show_replica_status,show_master_status,global_status,"
                            "semi_sync_variables,processlist");
        assert_int_equal(f.round_trips, batch ? 3 : 6);
        disc_instance_release(&in);
    }
}

static void test_probe_connection_lost_midway_fails(void **state)
{
    struct fake f = {.flavor = "mysql-8.0.36",
                     .cas = "replica",
                     .handshake = "8.0.36",
                     .fail_slug = "global_status",
                     .fail_rc = ORC_EIO};
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    for (int batch = 0; batch < 2; batch++) {
        f.batch = batch;
        assert_int_equal(run_probe(&f, NULL, "db2", 3306, &in, err, sizeof(err)), ORC_EIO);
        assert_true(in.last_check_partial_success);
        assert_int_equal(f.nlog, 4);
        assert_string_equal(err, "probe db2:3306: status: error 9999: injected failure");
        disc_instance_release(&in);
    }
    /* Lost before anything ran: nothing was read. */
    f.fail_slug = "variables";
    assert_int_equal(run_probe(&f, NULL, "db2", 3306, &in, err, sizeof(err)), ORC_EIO);
    assert_false(in.last_check_partial_success);
    assert_string_equal(err, "probe db2:3306: batch: error 9999: injected failure");
    disc_instance_release(&in);
}

static void test_probe_proxy_flavor_mismatch_reasks(void **state)
{
    /* The handshake claims MySQL 8.0 (a proxy in between) but the server is
     * MariaDB: its answer to the MySQL SELECT reveals the flavor, and the
     * probe asks again in MariaDB's dialect. */
    struct fake f = {.flavor = "mariadb-10.11",
                     .cas = "replica",
                     .handshake = "8.0.36",
                     .lenient_aliases = true};
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "", buf[512];

    (void)state;
    assert_int_equal(run_probe(&f, NULL, "db2", 3306, &in, err, sizeof(err)), 0);
    assert_string_equal(fake_log(&f, buf, sizeof(buf)),
                        "variables,variables,show_slave_status,show_master_status,"
                        "global_status,processlist");
    assert_int_equal(in.ver.flavor, DISC_FLAVOR_MARIADB);
    assert_int_equal(in.io_state, DISC_THREAD_RUNNING);
    assert_string_equal(disc_str(in.gtid_slave_pos), "0-1-4");
    disc_instance_release(&in);
}

static void test_probe_options_patterns_and_detect(void **state)
{
    struct fake f = {
        .flavor = "mysql-8.4",
        .cas = "replica",
        .handshake = "8.4.3",
        .answer_sql = {"SELECT dc FROM meta.where_am_i", "SELECT 'db-two'",
                       "SELECT lag FROM meta.heartbeat", "SELECT 'prefer'"},
        .answer_text = {"*** 1\ndc: dc-from-query\n", "*** 1\nalias: db-two\n", "*** 1\nlag: -4\n",
                        "!error 1146 Table 'x' doesn't exist\n"},
    };
    struct disc_probe_options o = {
        .data_center_pattern = "^[^.]+[.]([^.]+)[.]",
        .region_pattern = "[.](eu|us)-",
        .physical_environment_pattern = "^(prod|stage)",
        .detect_instance_alias_query = "SELECT 'db-two'",
        .detect_cluster_alias_query = "SELECT 'db-two'",
        .detect_promotion_rule_query = "SELECT 'prefer'",
        .replication_lag_query = "SELECT lag FROM meta.heartbeat",
    };
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    assert_int_equal(disc_probe_options_prepare(&o, err, sizeof(err)), 0);
    assert_int_equal(
        run_probe(&f, &o, "prod-db2.dc7.eu-west.example.com", 3306, &in, err, sizeof(err)), 0);
    assert_string_equal(in.data_center, "dc7");
    assert_string_equal(in.region, "eu");
    assert_string_equal(in.physical_environment, "prod");
    assert_string_equal(in.instance_alias, "db-two");
    assert_string_equal(in.suggested_cluster_alias, "db-two");
    assert_string_equal(in.promotion_rule, ""); /* its query failed: skipped */
    assert_true(in.replication_lag_seconds.valid);
    assert_int_equal(in.replication_lag_seconds.value, 0); /* negative -> 0 */
    assert_int_equal(in.seconds_behind_master.value, 3);

    /* A Detect* query overrides the pattern. */
    disc_instance_release(&in);
    o.detect_data_center_query = "SELECT dc FROM meta.where_am_i";
    assert_int_equal(
        run_probe(&f, &o, "prod-db2.dc7.eu-west.example.com", 3306, &in, err, sizeof(err)), 0);
    assert_string_equal(in.data_center, "dc-from-query");
    disc_probe_options_release(&o);
    disc_instance_release(&in);
}

static void test_probe_lag_query_failure_fails_probe(void **state)
{
    struct fake f = {.flavor = "mysql-8.4",
                     .cas = "replica",
                     .handshake = "8.4.3",
                     .answer_sql = {"SELECT lag FROM meta.heartbeat"},
                     .answer_text = {"!error 1146 Table 'meta.heartbeat' doesn't exist\n"}};
    struct disc_probe_options o = {.replication_lag_query = "SELECT lag FROM meta.heartbeat"};
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    assert_int_equal(run_probe(&f, &o, "db2", 3306, &in, err, sizeof(err)), ORC_EMYSQL);
    assert_true(in.last_check_partial_success);
    assert_non_null(strstr(err, "ReplicationLagQuery: 1146 Table 'meta.heartbeat'"));
    disc_instance_release(&in);
}

static void test_probe_options_bad_pattern(void **state)
{
    struct disc_probe_options o = {.data_center_pattern = "no-group-here"};
    char err[ORC_ERRMSG_SIZE] = "";

    (void)state;
    assert_int_equal(disc_probe_options_prepare(&o, err, sizeof(err)), ORC_ECONFIG);
    assert_non_null(strstr(err, "DataCenterPattern 'no-group-here'"));
    o.data_center_pattern = "([a-";
    assert_int_equal(disc_probe_options_prepare(&o, err, sizeof(err)), ORC_ECONFIG);
    assert_false(o.dc_re_set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_mariadb),
        cmocka_unit_test(test_probe_processlist_skips_self),
        cmocka_unit_test(test_probe_mysql_57),
        cmocka_unit_test(test_probe_mysql_80_before_22),
        cmocka_unit_test(test_probe_mysql_80_after_22),
        cmocka_unit_test(test_probe_mysql_84),
        cmocka_unit_test(test_probe_percona_80),
        cmocka_unit_test(test_probe_mandatory_variables_fail),
        cmocka_unit_test(test_probe_replica_status_fail_is_partial),
        cmocka_unit_test(test_probe_optional_status_rejected_is_skipped),
        cmocka_unit_test(test_probe_connection_lost_midway_fails),
        cmocka_unit_test(test_probe_proxy_flavor_mismatch_reasks),
        cmocka_unit_test(test_probe_options_patterns_and_detect),
        cmocka_unit_test(test_probe_lag_query_failure_fails_probe),
        cmocka_unit_test(test_probe_options_bad_pattern),
    };

    orc_log_min_level = ORC_LOG_WARNING;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
