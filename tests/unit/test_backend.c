/*
 * Unit tests of the backend store. The same test functions run as one cmocka
 * group per backend: always against SQLite (a file in a fresh temp dir), and
 * against MySQL/MariaDB when ORC_TEST_MYSQL=host:port:user:password:database
 * is set. The MySQL database is WIPED (every table dropped) before the group.
 *
 * `test_backend --migrate-only` opens the ORC_TEST_MYSQL store without wiping
 * it, migrates, prints "migrate applied=N version=V latest=L" and exits; the
 * integration test uses it to check migrations are a no-op the second time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/be.h"

#define NOW 1700000000LL

struct tctx {
    const char *kind;
    struct be_options opt;
    char dir[64];
    char path[128];
    char spec[512]; /* ORC_TEST_MYSQL, split in place */
    struct be *b;
};

static struct tctx *ctx_of(void **state)
{
    return *state;
}

static struct be *be_of(void **state)
{
    return ctx_of(state)->b;
}

/* ---- helpers ---- */

struct rows {
    int n;
    char first[4][256]; /* first row's values ("<null>" for NULL) */
    char names[4][64];
};

static int rows_cb(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    struct rows *r = ctx;

    if (r->n == 0) {
        for (int i = 0; i < ncols && i < 4; i++) {
            snprintf(r->first[i], sizeof(r->first[i]), "%s", vals[i] ? vals[i] : "<null>");
            snprintf(r->names[i], sizeof(r->names[i]), "%s", names[i]);
        }
    }
    r->n++;
    return 0;
}

static int64_t count_rows(struct be *b, const char *sql, const struct be_val *p, size_t n)
{
    struct rows r;
    char err[ORC_ERRMSG_SIZE] = "";

    memset(&r, 0, sizeof(r));
    int rc = be_query(b, sql, p, n, rows_cb, &r, err, sizeof(err));
    if (rc != 0)
        fail_msg("query failed: %s", err);
    return strtoll(r.first[0], NULL, 10);
}

static struct orc_key mkkey(const char *host, int port)
{
    struct orc_key k;

    memset(&k, 0, sizeof(k));
    snprintf(k.host, sizeof(k.host), "%s", host);
    k.port = port;
    return k;
}

static void ok(int rc, const char *err)
{
    if (rc != 0)
        fail_msg("rc=%d (%s): %s", rc, orc_strerror(rc), err);
}

static int64_t ms_since(int64_t t0)
{
    return orc_mono_us() - t0;
}

/* ---- store lifecycle per group ---- */

static int parse_mysql_spec(struct tctx *c, const char *env)
{
    char *f[5];
    char *p, *last;

    snprintf(c->spec, sizeof(c->spec), "%s", env);
    f[0] = c->spec;
    for (int i = 1; i < 3; i++) {
        p = strchr(f[i - 1], ':');
        if (p == NULL)
            return -1;
        *p = '\0';
        f[i] = p + 1;
    }
    p = strchr(f[2], ':');
    last = strrchr(f[2], ':');
    if (p == NULL || last == p)
        return -1;
    *p = '\0';
    *last = '\0';
    f[3] = p + 1; /* password may hold ':' */
    f[4] = last + 1;
    c->opt.kind = "mysql";
    c->opt.mysql_host = f[0];
    int64_t port = 0;
    if (orc_parse_int64(f[1], 1, 65535, &port) != 0)
        return -1;
    c->opt.mysql_port = (int)port;
    c->opt.mysql_user = f[2];
    c->opt.mysql_password = f[3];
    c->opt.mysql_database = f[4];
    c->opt.connect_timeout_s = 5;
    c->opt.read_timeout_s = 30;
    return 0;
}

struct names {
    char v[64][80];
    int n;
};

static int names_cb(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    struct names *t = ctx;

    (void)ncols;
    (void)names;
    if (t->n < 64)
        snprintf(t->v[t->n++], sizeof(t->v[0]), "%s", vals[0]);
    return 0;
}

/* Drops every table of the MySQL test database. */
static int wipe_mysql(struct be *b)
{
    char err[ORC_ERRMSG_SIZE] = "", sql[160];
    struct names t;

    memset(&t, 0, sizeof(t));
    if (be_query(b,
                 "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
                 NULL, 0, names_cb, &t, err, sizeof(err)) != 0) {
        fprintf(stderr, "wipe: %s\n", err);
        return -1;
    }
    for (int i = 0; i < t.n; i++) {
        snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS `%s`", t.v[i]);
        if (be_exec(b, sql, NULL, 0, NULL, err, sizeof(err)) != 0) {
            fprintf(stderr, "wipe: %s\n", err);
            return -1;
        }
    }
    return 0;
}

static int open_ctx(struct tctx *c)
{
    char err[ORC_ERRMSG_SIZE] = "";

    if (be_open(&c->opt, &c->b, err, sizeof(err)) != 0) {
        fprintf(stderr, "open %s: %s\n", c->kind, err);
        return -1;
    }
    return 0;
}

static int setup_sqlite(void **state)
{
    struct tctx *c = calloc(1, sizeof(*c));

    c->kind = "sqlite";
    snprintf(c->dir, sizeof(c->dir), "/tmp/orc-test-backend-XXXXXX");
    if (mkdtemp(c->dir) == NULL)
        return -1;
    snprintf(c->path, sizeof(c->path), "%s/orchestrator.sqlite3", c->dir);
    c->opt.kind = "sqlite";
    c->opt.sqlite_path = c->path;
    *state = c;
    return open_ctx(c);
}

static int setup_mysql(void **state)
{
    struct tctx *c = calloc(1, sizeof(*c));

    c->kind = "mysql";
    if (parse_mysql_spec(c, getenv("ORC_TEST_MYSQL")) != 0) {
        fprintf(stderr, "ORC_TEST_MYSQL: want host:port:user:password:database\n");
        return -1;
    }
    *state = c;
    if (open_ctx(c) != 0)
        return -1;
    return wipe_mysql(c->b);
}

static int teardown_ctx(void **state)
{
    struct tctx *c = *state;
    char cmd[128];

    if (c == NULL)
        return 0;
    be_close(c->b);
    if (c->dir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", c->dir);
    }
    free(c);
    return 0;
}

/* Every test after the first starts from a migrated store. */
static int setup_migrated(void **state)
{
    char err[ORC_ERRMSG_SIZE] = "";
    int applied = -1;

    if (be_migrate(be_of(state), &applied, err, sizeof(err)) != 0) {
        fprintf(stderr, "migrate: %s\n", err);
        return -1;
    }
    return 0;
}

/* ---- schema ---- */

static void test_migrate_empty_then_noop(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    int applied = -1, steps;

    assert_int_equal(be_schema_version(b), 0);
    ok(be_migrate(b, &applied, err, sizeof(err)), err);
    assert_true(applied > 0);
    assert_true(applied > 0 && applied <= be_schema_latest()); /* numbers may have gaps */
    steps = applied;
    assert_int_equal(be_schema_version(b), be_schema_latest());
    applied = -1;
    ok(be_migrate(b, &applied, err, sizeof(err)), err);
    assert_int_equal(applied, 0);
    assert_int_equal(be_schema_version(b), be_schema_latest());
    /* the bookkeeping says the same */
    assert_int_equal(count_rows(b, "SELECT COUNT(*) FROM orchestrator_db_deployments", NULL, 0),
                     steps);
    assert_int_equal(count_rows(b, "SELECT schema_version FROM orchestrator_metadata", NULL, 0),
                     be_schema_latest());
    printf("backend %s: migrated to version %d (%d step(s)), re-run applied 0\n",
           ctx_of(state)->kind, be_schema_latest(), steps);
}

/* ---- generic SQL ---- */

static int stop_cb(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    (void)ncols;
    (void)vals;
    (void)names;
    (*(int *)ctx)++;
    return 7;
}

static void test_exec_query_params(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    const char *tricky = "it's \"quoted\"; -- not a comment \\ ünïcode";
    struct be_val v[] = {BE_VTEXT("sql/one"), BE_VTEXT(tricky), BE_VINT(-42)};
    struct be_val k[] = {BE_VTEXT("sql/one")};
    int64_t affected = -1;
    struct rows r;
    int calls = 0;

    ok(be_exec(b, "INSERT INTO kv_store (store_key, store_value, last_updated) VALUES (?, ?, ?)", v,
               3, &affected, err, sizeof(err)),
       err);
    assert_int_equal(affected, 1);
    memset(&r, 0, sizeof(r));
    ok(be_query(b,
                "SELECT store_value, last_updated, NULL AS empty_col FROM kv_store"
                " WHERE store_key = ?",
                k, 1, rows_cb, &r, err, sizeof(err)),
       err);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.first[0], tricky);
    assert_string_equal(r.first[1], "-42");
    assert_string_equal(r.first[2], "<null>");
    assert_string_equal(r.names[0], "store_value");
    assert_string_equal(r.names[2], "empty_col");
    /* UPDATE counts matched rows, even when nothing changes */
    ok(be_exec(b, "UPDATE kv_store SET last_updated = -42 WHERE store_key = ?", k, 1, &affected,
               err, sizeof(err)),
       err);
    assert_int_equal(affected, 1);
    /* a callback's non-zero return stops and is returned */
    assert_int_equal(
        be_query(b, "SELECT store_key FROM kv_store", NULL, 0, stop_cb, &calls, err, sizeof(err)),
        7);
    assert_int_equal(calls, 1);
    /* wrong number of values, bad SQL */
    assert_int_equal(
        be_exec(b, "DELETE FROM kv_store WHERE store_key = ?", NULL, 0, NULL, err, sizeof(err)),
        ORC_EINVAL);
    assert_int_equal(
        be_exec(b, "DELETE FROM no_such_table WHERE x = ?", k, 1, NULL, err, sizeof(err)), ORC_EDB);
    assert_non_null(strstr(err, "no_such_table"));
}

static void test_long_text_round_trip(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    size_t n = 100000;
    char *big = malloc(n + 1), *got = NULL;

    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    ok(be_kv_put(b, "sql/big", big, NOW, err, sizeof(err)), err);
    ok(be_kv_get(b, "sql/big", &got, err, sizeof(err)), err);
    assert_int_equal(strlen(got), n);
    assert_string_equal(got, big);
    free(got);
    free(big);
}

static void test_transactions(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_val k1[] = {BE_VTEXT("txn/rolled-back")};
    struct be_val k2[] = {BE_VTEXT("txn/committed")};
    struct be_val k3[] = {BE_VTEXT("txn/inner-rollback")};
    const char *ins = "INSERT INTO kv_store (store_key, store_value) VALUES (?, 'x')";
    const char *cnt = "SELECT COUNT(*) FROM kv_store WHERE store_key = ?";

    ok(be_begin(b, err, sizeof(err)), err);
    ok(be_exec(b, ins, k1, 1, NULL, err, sizeof(err)), err);
    ok(be_rollback(b, err, sizeof(err)), err);
    assert_int_equal(count_rows(b, cnt, k1, 1), 0);

    ok(be_begin(b, err, sizeof(err)), err);
    ok(be_exec(b, ins, k2, 1, NULL, err, sizeof(err)), err);
    ok(be_commit(b, err, sizeof(err)), err);
    assert_int_equal(count_rows(b, cnt, k2, 1), 1);

    /* an inner rollback dooms the outer transaction */
    ok(be_begin(b, err, sizeof(err)), err);
    ok(be_begin(b, err, sizeof(err)), err);
    ok(be_exec(b, ins, k3, 1, NULL, err, sizeof(err)), err);
    ok(be_rollback(b, err, sizeof(err)), err);
    assert_int_equal(be_commit(b, err, sizeof(err)), ORC_EDB);
    assert_int_equal(count_rows(b, cnt, k3, 1), 0);

    assert_int_equal(be_commit(b, err, sizeof(err)), ORC_ESTATE);
    assert_int_equal(be_rollback(b, err, sizeof(err)), ORC_ESTATE);
}

/* ---- upsert ---- */

static const char *const inst_cols[] = {"hostname",
                                        "port",
                                        "last_checked",
                                        "last_attempted_check",
                                        "last_seen",
                                        "last_check_partial_success",
                                        "server_id",
                                        "server_uuid",
                                        "version",
                                        "major_version",
                                        "version_comment",
                                        "flavor",
                                        "read_only",
                                        "super_read_only",
                                        "binlog_format",
                                        "log_bin",
                                        "log_slave_updates",
                                        "binary_log_file",
                                        "binary_log_pos",
                                        "master_host",
                                        "master_port",
                                        "slave_sql_running",
                                        "slave_io_running",
                                        "replication_sql_thread_state",
                                        "replication_io_thread_state",
                                        "gtid_mode",
                                        "executed_gtid_set",
                                        "mariadb_gtid",
                                        "gtid_current_pos",
                                        "gtid_slave_pos",
                                        "gtid_binlog_pos",
                                        "master_log_file",
                                        "read_master_log_pos",
                                        "relay_master_log_file",
                                        "exec_master_log_pos",
                                        "seconds_behind_master",
                                        "slave_lag_seconds",
                                        "slave_hosts",
                                        "cluster_name",
                                        "data_center",
                                        "replication_depth",
                                        "problems"};
#define INST_NCOLS (sizeof(inst_cols) / sizeof(inst_cols[0]))
#define INST_ROWS 1000

struct inst_rows {
    struct be_val v[INST_ROWS * INST_NCOLS];
    char host[INST_ROWS][32];
};

static void fill_inst_rows(struct inst_rows *r, int64_t checked, const char *version)
{
    for (size_t i = 0; i < INST_ROWS; i++) {
        struct be_val *v = &r->v[i * INST_NCOLS];
        snprintf(r->host[i], sizeof(r->host[i]), "db-%04zu.example.com", i);
        for (size_t c = 0; c < INST_NCOLS; c++)
            v[c] = BE_VINT((int64_t)((i + c) % 2)); /* flags */
        v[0] = BE_VTEXT(r->host[i]);
        v[1] = BE_VINT(3306);
        v[2] = v[3] = v[4] = BE_VINT(checked);
        v[6] = BE_VINT((int64_t)i + 1);
        v[18] = v[32] = v[34] = BE_VINT(4 + (int64_t)i * 1000);
        v[20] = BE_VINT(i == 0 ? 0 : 3306);
        v[40] = BE_VINT(i == 0 ? 0 : 1);
        v[7] = BE_VTEXT("3e11fa47-71ca-11e1-9e33-c80aa9429562");
        v[8] = BE_VTEXT(version);
        v[9] = BE_VTEXT("10.11");
        v[10] = BE_VTEXT("mariadb.org binary distribution");
        v[11] = BE_VTEXT("mariadb");
        v[14] = BE_VTEXT("ROW");
        v[17] = BE_VTEXT("mysql-bin.000042");
        v[19] = BE_VTEXT(i == 0 ? "" : r->host[0]);
        v[25] = BE_VTEXT("OFF");
        v[26] = BE_VTEXT("");
        v[28] = v[29] = v[30] = BE_VTEXT("0-1-12345");
        v[31] = v[33] = BE_VTEXT("mysql-bin.000042");
        v[35] = i % 2 ? BE_VNULL : BE_VINT(0);
        v[36] = BE_VNULL;
        v[37] = BE_VTEXT("[]");
        v[38] = BE_VTEXT("db-0000.example.com:3306");
        v[39] = BE_VTEXT("dc1");
        v[41] = BE_VTEXT("");
    }
}

static void test_upsert_1000_instances(void **state)
{
    struct be *b = be_of(state);
    struct inst_rows *r = malloc(sizeof(*r));
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_val k[] = {BE_VTEXT("db-0007.example.com")};
    int64_t t0, t_ins, t_upd;
    struct rows got;

    fill_inst_rows(r, NOW, "10.11.6-MariaDB");
    t0 = orc_mono_us();
    ok(be_upsert(b, "database_instance", inst_cols, INST_NCOLS, 2, r->v, INST_ROWS, err,
                 sizeof(err)),
       err);
    t_ins = ms_since(t0);
    assert_int_equal(count_rows(b, "SELECT COUNT(*) FROM database_instance", NULL, 0), INST_ROWS);
    fill_inst_rows(r, NOW + 5, "10.11.7-MariaDB");
    t0 = orc_mono_us();
    ok(be_upsert(b, "database_instance", inst_cols, INST_NCOLS, 2, r->v, INST_ROWS, err,
                 sizeof(err)),
       err);
    t_upd = ms_since(t0);
    assert_int_equal(count_rows(b, "SELECT COUNT(*) FROM database_instance", NULL, 0), INST_ROWS);
    memset(&got, 0, sizeof(got));
    ok(be_query(b,
                "SELECT version, last_checked, master_host, seconds_behind_master"
                " FROM database_instance WHERE hostname = ?",
                k, 1, rows_cb, &got, err, sizeof(err)),
       err);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.first[0], "10.11.7-MariaDB");
    assert_int_equal(strtoll(got.first[1], NULL, 10), NOW + 5);
    assert_string_equal(got.first[2], "db-0000.example.com");
    assert_string_equal(got.first[3], "<null>");
    printf(
        "figure: backend %s: upsert %d database_instance rows x %zu columns: insert %.1f ms,"
        " update %.1f ms\n",
        ctx_of(state)->kind, INST_ROWS, INST_NCOLS, (double)t_ins / 1000.0, (double)t_upd / 1000.0);
    free(r);
}

static void test_upsert_edge_cases(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    static const char *const keyonly[] = {"disable_recovery"};
    static const char *const bad[] = {"store_key", "store_value; DROP TABLE audit"};
    struct be_val one[] = {BE_VINT(1)};
    struct be_val two[] = {BE_VTEXT("a"), BE_VTEXT("b")};

    /* every column is key: insert once, then a no-op */
    ok(be_upsert(b, "global_recovery_disable", keyonly, 1, 1, one, 1, err, sizeof(err)), err);
    ok(be_upsert(b, "global_recovery_disable", keyonly, 1, 1, one, 1, err, sizeof(err)), err);
    assert_int_equal(count_rows(b, "SELECT COUNT(*) FROM global_recovery_disable", NULL, 0), 1);
    ok(be_exec(b, "DELETE FROM global_recovery_disable", NULL, 0, NULL, err, sizeof(err)), err);
    assert_int_equal(be_upsert(b, "kv_store", bad, 2, 1, two, 1, err, sizeof(err)), ORC_EINVAL);
    assert_int_equal(be_upsert(b, "kv store", bad, 1, 1, two, 1, err, sizeof(err)), ORC_EINVAL);
    assert_int_equal(be_upsert(b, "kv_store", bad, 1, 2, two, 1, err, sizeof(err)), ORC_EINVAL);
    ok(be_upsert(b, "kv_store", bad, 1, 1, two, 0, err, sizeof(err)), err);
    /* a failing row in the second batch rolls the first batch back too */
    {
        static const char *const cols[] = {"hostname", "resolved_hostname"};
        static char hosts[600][16];
        struct be_val rows[600 * 2];
        for (int i = 0; i < 600; i++) {
            snprintf(hosts[i], sizeof(hosts[i]), "rb-%d", i);
            rows[2 * i] = BE_VTEXT(hosts[i]);
            rows[2 * i + 1] = i == 599 ? BE_VNULL : BE_VTEXT("x");
        }
        assert_int_not_equal(
            be_upsert(b, "hostname_resolve", cols, 2, 1, rows, 600, err, sizeof(err)), 0);
        assert_int_equal(count_rows(b, "SELECT COUNT(*) FROM hostname_resolve", NULL, 0), 0);
    }
}

/* ---- typed helpers ---- */

static void test_downtime(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_downtime d = {.key = mkkey("dt-1", 3306),
                            .begin_ts = NOW,
                            .end_ts = NOW + 600,
                            .owner = "alice",
                            .reason = "upgrade"};
    struct be_downtime got;
    struct be_downtime_list l = {0};
    int64_t n = -1;

    ok(be_downtime_begin(b, &d, err, sizeof(err)), err);
    d.key = mkkey("dt-2", 3306);
    d.end_ts = NOW + 60;
    ok(be_downtime_begin(b, &d, err, sizeof(err)), err);
    ok(be_downtime_get(b, &d.key, NOW + 1, &got, err, sizeof(err)), err);
    assert_string_equal(got.owner, "alice");
    assert_string_equal(got.reason, "upgrade");
    assert_int_equal(got.end_ts, NOW + 60);
    assert_true(got.active);
    be_downtime_release(&got);
    ok(be_downtime_list_active(b, NOW + 1, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].key.host, "dt-1");
    be_downtime_list_free(&l);
    /* dt-2 ends at NOW+60: no longer active at NOW+100, then expired */
    ok(be_downtime_list_active(b, NOW + 100, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    be_downtime_list_free(&l);
    assert_int_equal(be_downtime_get(b, &d.key, NOW + 100, &got, err, sizeof(err)), ORC_ENOTFOUND);
    ok(be_downtime_expire(b, NOW + 100, &n, err, sizeof(err)), err);
    assert_int_equal(n, 1);
    /* re-begin replaces; end removes; a second end is ENOTFOUND */
    d.key = mkkey("dt-1", 3306);
    d.owner = "bob";
    ok(be_downtime_begin(b, &d, err, sizeof(err)), err);
    ok(be_downtime_get(b, &d.key, NOW, &got, err, sizeof(err)), err);
    assert_string_equal(got.owner, "bob");
    be_downtime_release(&got);
    ok(be_downtime_end(b, &d.key, err, sizeof(err)), err);
    assert_int_equal(be_downtime_end(b, &d.key, err, sizeof(err)), ORC_ENOTFOUND);
    assert_non_null(strstr(err, "dt-1:3306"));
}

static void test_maintenance(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_maintenance m = {.key = mkkey("mt-1", 3306),
                               .begin_ts = NOW,
                               .end_ts = NOW + 600,
                               .owner = "ops",
                               .reason = "relocate",
                               .processing_node_hostname = "orc1",
                               .processing_node_token = "tok",
                               .explicitly_bounded = true};
    struct be_maintenance_list l = {0};
    int64_t id = 0, id2 = 0, other = 0, n = 0;
    bool active = false;

    ok(be_maintenance_begin(b, &m, &id, err, sizeof(err)), err);
    assert_true(id > 0);
    assert_int_equal(be_maintenance_begin(b, &m, &id2, err, sizeof(err)), ORC_EEXIST);
    assert_int_equal(id2, id);
    ok(be_maintenance_active(b, &m.key, NOW + 1, &active, &other, err, sizeof(err)), err);
    assert_true(active);
    assert_int_equal(other, id);
    ok(be_maintenance_list_active(b, NOW + 1, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].owner, "ops");
    assert_string_equal(l.v[0].processing_node_token, "tok");
    assert_true(l.v[0].explicitly_bounded);
    be_maintenance_list_free(&l);
    ok(be_maintenance_end(b, id, NOW + 2, err, sizeof(err)), err);
    assert_int_equal(be_maintenance_end(b, id, NOW + 2, err, sizeof(err)), ORC_ENOTFOUND);
    ok(be_maintenance_active(b, &m.key, NOW + 3, &active, NULL, err, sizeof(err)), err);
    assert_false(active);
    /* a new one may begin once the old ended; it expires at end_ts */
    m.end_ts = NOW + 10;
    ok(be_maintenance_begin(b, &m, &id2, err, sizeof(err)), err);
    assert_true(id2 > id);
    ok(be_maintenance_expire(b, NOW + 5, &n, err, sizeof(err)), err);
    assert_int_equal(n, 0);
    ok(be_maintenance_expire(b, NOW + 10, &n, err, sizeof(err)), err);
    assert_int_equal(n, 1);
    assert_int_equal(be_maintenance_end_key(b, &m.key, NOW, err, sizeof(err)), ORC_ENOTFOUND);
    ok(be_maintenance_begin(b, &m, &id, err, sizeof(err)), err);
    ok(be_maintenance_end_key(b, &m.key, NOW + 4, err, sizeof(err)), err);
}

static void test_candidate(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_candidate c = {.key = mkkey("cand-1", 3306),
                             .last_suggested = NOW,
                             .priority = 1,
                             .promotion_rule = "prefer"};
    struct be_candidate_list l = {0};
    int64_t n = 0;

    ok(be_candidate_register(b, &c, err, sizeof(err)), err);
    c.key = mkkey("cand-2", 3306);
    c.promotion_rule = "must_not";
    c.last_suggested = NOW - 7200;
    ok(be_candidate_register(b, &c, err, sizeof(err)), err);
    c.promotion_rule = "sometimes";
    assert_int_equal(be_candidate_register(b, &c, err, sizeof(err)), ORC_EINVAL);
    ok(be_candidate_list(b, NOW - 3600, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].key.host, "cand-1");
    assert_string_equal(l.v[0].promotion_rule, "prefer");
    be_candidate_list_free(&l);
    /* re-registering refreshes */
    c.promotion_rule = "neutral";
    c.last_suggested = NOW;
    ok(be_candidate_register(b, &c, err, sizeof(err)), err);
    ok(be_candidate_list(b, NOW - 3600, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[1].promotion_rule, "neutral");
    be_candidate_list_free(&l);
    ok(be_candidate_expire(b, NOW + 1, &n, err, sizeof(err)), err);
    assert_int_equal(n, 2);
}

static void test_alias(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_alias_list l = {0};
    char *s = NULL;

    ok(be_alias_register(b, "m1:3306", "shop", NOW, err, sizeof(err)), err);
    ok(be_alias_register(b, "m2:3306", "blog", NOW, err, sizeof(err)), err);
    ok(be_alias_get(b, "m1:3306", &s, err, sizeof(err)), err);
    assert_string_equal(s, "shop");
    free(s);
    ok(be_alias_find_cluster(b, "blog", &s, err, sizeof(err)), err);
    assert_string_equal(s, "m2:3306");
    free(s);
    /* a manual override wins, now and over later registrations */
    ok(be_alias_set_override(b, "m1:3306", "shop-main", NOW, err, sizeof(err)), err);
    ok(be_alias_register(b, "m1:3306", "shop", NOW + 1, err, sizeof(err)), err);
    ok(be_alias_get(b, "m1:3306", &s, err, sizeof(err)), err);
    assert_string_equal(s, "shop-main");
    free(s);
    /* an alias names one cluster: taking it moves it */
    ok(be_alias_set_override(b, "m3:3306", "blog", NOW, err, sizeof(err)), err);
    assert_int_equal(be_alias_get(b, "m2:3306", &s, err, sizeof(err)), ORC_ENOTFOUND);
    assert_null(s);
    assert_int_equal(be_alias_find_cluster(b, "nope", &s, err, sizeof(err)), ORC_ENOTFOUND);
    ok(be_alias_list(b, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].cluster_name, "m1:3306");
    assert_string_equal(l.v[1].alias, "blog");
    be_alias_list_free(&l);
    assert_int_equal(be_alias_set_override(b, "m1:3306", "", NOW, err, sizeof(err)), ORC_EINVAL);
}

static void test_audit(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "", msg[32];
    struct be_audit a = {.type = "test-audit", .key = mkkey("au-1", 3306), .cluster_name = "c1"};
    struct be_audit_list l = {0};
    struct orc_key other = mkkey("au-2", 3306);
    int64_t n = 0;

    for (int i = 0; i < 25; i++) {
        snprintf(msg, sizeof(msg), "message %d", i);
        a.message = msg;
        a.ts = 2000000000LL + i;
        ok(be_audit_write(b, &a, err, sizeof(err)), err);
    }
    a.key = other;
    a.ts = 1000;
    a.message = "old";
    ok(be_audit_write(b, &a, err, sizeof(err)), err);
    ok(be_audit_page(b, 0, NULL, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, BE_PAGE_SIZE);
    assert_string_equal(l.v[0].message, "message 24");
    assert_string_equal(l.v[0].type, "test-audit");
    assert_string_equal(l.v[0].key.host, "au-1");
    assert_int_equal(l.v[0].key.port, 3306);
    assert_string_equal(l.v[0].cluster_name, "c1");
    assert_true(l.v[0].id > l.v[1].id);
    be_audit_list_free(&l);
    ok(be_audit_page(b, 1, &a.key, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 0);
    be_audit_list_free(&l);
    a.key = mkkey("au-1", 3306);
    ok(be_audit_page(b, 1, &a.key, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.v[4].message, "message 0");
    be_audit_list_free(&l);
    ok(be_audit_expire(b, 2000000000LL, &n, err, sizeof(err)), err);
    assert_true(n >= 1);
    ok(be_audit_page(b, 0, &other, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 0);
    be_audit_list_free(&l);
}

static void test_detection(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_detection d = {.key = mkkey("det-1", 3306),
                             .start_active_period = NOW,
                             .processing_node_hostname = "orc1",
                             .processing_node_token = "t",
                             .analysis = "DeadMaster",
                             .cluster_name = "det-1:3306",
                             .cluster_alias = "det",
                             .count_affected_replicas = 2,
                             .replica_hosts = "r1:3306,r2:3306",
                             .is_actionable = true};
    struct be_detection_filter f = {0};
    struct be_detection_list l = {0};
    int64_t id = 0, id2 = 0, n = 0;

    ok(be_detection_register(b, &d, &id, err, sizeof(err)), err);
    assert_true(id > 0);
    /* anti-flapping: a second one in the active period is refused */
    assert_int_equal(be_detection_register(b, &d, &id2, err, sizeof(err)), ORC_EEXIST);
    assert_int_equal(id2, id);
    /* a non-actionable detection is a separate slot */
    d.is_actionable = false;
    d.analysis = "UnreachableMaster";
    ok(be_detection_register(b, &d, &id2, err, sizeof(err)), err);
    f.cluster_name = "det-1:3306";
    ok(be_detection_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[1].id, id);
    assert_string_equal(l.v[1].analysis, "DeadMaster");
    assert_string_equal(l.v[1].replica_hosts, "r1:3306,r2:3306");
    assert_int_equal(l.v[1].count_affected_replicas, 2);
    assert_true(l.v[1].is_actionable);
    assert_true(l.v[1].in_active_period);
    be_detection_list_free(&l);
    /* after the active period ends a new detection registers */
    ok(be_detection_clear_active(b, NOW + 1, NOW + 3600, &n, err, sizeof(err)), err);
    assert_int_equal(n, 2);
    d.is_actionable = true;
    d.start_active_period = NOW + 3600;
    ok(be_detection_register(b, &d, &id2, err, sizeof(err)), err);
    assert_true(id2 > id);
    f.cluster_name = NULL;
    f.id = id;
    ok(be_detection_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_false(l.v[0].in_active_period);
    assert_int_equal(l.v[0].end_active_period, NOW + 3600);
    be_detection_list_free(&l);
}

static struct be_recovery mkrec(const char *uid, const char *host, const char *cluster)
{
    struct be_recovery r;

    memset(&r, 0, sizeof(r));
    r.uid = uid;
    r.key = mkkey(host, 3306);
    r.analysis = "DeadMaster";
    r.cluster_name = cluster;
    r.cluster_alias = "rc";
    r.processing_node_hostname = "orc1";
    r.processing_node_token = "tok";
    r.count_affected_replicas = 2;
    r.replica_hosts = "r1:3306,r2:3306";
    r.last_detection_id = 9;
    return r;
}

static void test_recovery_anti_flapping_and_ack(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_recovery r1 = mkrec("uid-1", "rec-m", "rec-m:3306");
    struct be_recovery r2 = mkrec("uid-2", "rec-r1", "rec-m:3306");
    struct be_recovery_register_args a = {.now = NOW, .block_seconds = 3600};
    struct be_recovery_ack ack = {
        .cluster_name = "rec-m:3306", .owner = "alice", .comment = "looked at it", .now = NOW + 60};
    struct be_blocked_recovery_list bl = {0};
    struct be_recovery act;
    int64_t id1 = 0, id2 = 0, blocking = 0, n = 0;

    ok(be_recovery_register(b, &r1, &a, &id1, &blocking, err, sizeof(err)), err);
    assert_true(id1 > 0);
    assert_int_equal(blocking, 0);
    ok(be_recovery_active(b, "rec-m:3306", &act, err, sizeof(err)), err);
    assert_int_equal(act.id, id1);
    assert_string_equal(act.uid, "uid-1");
    be_recovery_release(&act);
    /* the same cluster within RecoveryPeriodBlockSeconds is blocked */
    a.now = NOW + 30;
    assert_int_equal(be_recovery_register(b, &r2, &a, &id2, &blocking, err, sizeof(err)),
                     ORC_EEXIST);
    assert_int_equal(blocking, id1);
    assert_int_equal(id2, 0);
    assert_non_null(strstr(err, "blocked"));
    ok(be_blocked_recovery_list(b, "rec-m:3306", &bl, err, sizeof(err)), err);
    assert_int_equal(bl.n, 1);
    assert_string_equal(bl.v[0].key.host, "rec-r1");
    assert_int_equal(bl.v[0].blocking_id, id1);
    assert_int_equal(bl.v[0].last_blocked, NOW + 30);
    be_blocked_recovery_list_free(&bl);
    /* acknowledging lifts the block */
    ok(be_recovery_ack(b, &ack, &n, err, sizeof(err)), err);
    assert_int_equal(n, 1);
    assert_int_equal(be_recovery_active(b, "rec-m:3306", &act, err, sizeof(err)), ORC_ENOTFOUND);
    a.now = NOW + 90;
    ok(be_recovery_register(b, &r2, &a, &id2, &blocking, err, sizeof(err)), err);
    assert_true(id2 > id1);
    /* a second ack of the same cluster acknowledges only the new one */
    ack.now = NOW + 100;
    ok(be_recovery_ack(b, &ack, &n, err, sizeof(err)), err);
    assert_int_equal(n, 1);
    ok(be_blocked_recovery_expire(b, NOW + 31, &n, err, sizeof(err)), err);
    assert_int_equal(n, 1);
}

static void test_recovery_expiry_force_and_successor(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_recovery r1 = mkrec("uid-10", "exp-m", "exp-m:3306");
    struct be_recovery r2 = mkrec("uid-11", "exp-r1", "exp-m:3306");
    struct be_recovery r3 = mkrec("uid-12", "exp-new", "exp-other:3306");
    struct be_recovery_register_args a = {.now = NOW, .block_seconds = 600};
    int64_t id1 = 0, id2 = 0, id3 = 0, blocking = 0;

    ok(be_recovery_register(b, &r1, &a, &id1, &blocking, err, sizeof(err)), err);
    /* after block_seconds the active period is over */
    a.now = NOW + 601;
    ok(be_recovery_register(b, &r2, &a, &id2, &blocking, err, sizeof(err)), err);
    /* forced: skips anti-flapping */
    r1.uid = "uid-10b";
    a.now = NOW + 602;
    a.force = true;
    ok(be_recovery_register(b, &r1, &a, &id3, &blocking, err, sizeof(err)), err);
    /* resolve r2 with a successor; a failure of that successor is blocked even
     * though it is filed under another cluster name */
    r2.successor = mkkey("exp-new", 3306);
    r2.successor_alias = "new-master";
    r2.is_successful = true;
    r2.lost_replicas = "exp-r9:3306";
    r2.participating_instances = "exp-m:3306,exp-r1:3306";
    r2.all_errors = "one\ntwo";
    r2.end_recovery = NOW + 610;
    ok(be_recovery_resolve(b, &r2, err, sizeof(err)), err);
    a.force = false;
    a.now = NOW + 620;
    ok(be_recovery_ack(b, &(struct be_recovery_ack){.id = id3, .owner = "o", .now = NOW + 615},
                       NULL, err, sizeof(err)),
       err);
    assert_int_equal(be_recovery_register(b, &r3, &a, &id1, &blocking, err, sizeof(err)),
                     ORC_EEXIST);
    assert_int_equal(blocking, id2);
    r3.uid = "uid-unknown";
    assert_int_equal(be_recovery_resolve(b, &r3, err, sizeof(err)), ORC_ENOTFOUND);
    /* a duplicate uid is a store error, not a silent success */
    r3.uid = "uid-11";
    r3.cluster_name = "exp-elsewhere:3306";
    r3.key = mkkey("exp-elsewhere", 3306);
    assert_int_not_equal(be_recovery_register(b, &r3, &a, &id1, &blocking, err, sizeof(err)), 0);
}

/* What a leader taking over a lost run relies on: the successor written
 * ahead, adoption as a compare-and-set of the token, abandonment that blocks
 * nothing, and the fenced old masters. */
static void test_recovery_takeover_and_fence(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_recovery r1 = mkrec("uid-t1", "tk-m", "tk-m:3306");
    struct be_recovery r2 = mkrec("uid-t2", "tk-r1", "tk-m:3306");
    struct be_recovery_register_args a = {.now = NOW, .block_seconds = 3600};
    struct be_recovery_filter f = {.unresolved_only = true, .cluster_name = "tk-m:3306"};
    struct be_recovery_list l = {0};
    struct be_fence_list fl = {0};
    struct orc_key succ = mkkey("tk-r2", 3306);
    int64_t id1 = 0, id2 = 0, blocking = 0, n = -1;

    ok(be_recovery_register(b, &r1, &a, &id1, &blocking, err, sizeof(err)), err);
    ok(be_recovery_set_successor(b, "uid-t1", &succ, err, sizeof(err)), err);
    assert_int_equal(be_recovery_set_successor(b, "uid-none", &succ, err, sizeof(err)),
                     ORC_ENOTFOUND);
    /* adoption only from the token it had */
    ok(be_recovery_adopt(b, "uid-t1", "other", "77", "orc2", &n, err, sizeof(err)), err);
    assert_int_equal(n, 0);
    ok(be_recovery_adopt(b, "uid-t1", "tok", "77", "orc2", &n, err, sizeof(err)), err);
    assert_int_equal(n, 1);
    ok(be_recovery_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].processing_node_token, "77");
    assert_string_equal(l.v[0].processing_node_hostname, "orc2");
    assert_string_equal(l.v[0].successor.host, "tk-r2");
    be_recovery_list_free(&l);
    /* abandoned: resolved, unsuccessful, out of its active period, once */
    ok(be_recovery_abandon(b, "uid-t1", "leader lost", NOW + 5, &n, err, sizeof(err)), err);
    assert_int_equal(n, 1);
    ok(be_recovery_abandon(b, "uid-t1", "again", NOW + 6, &n, err, sizeof(err)), err);
    assert_int_equal(n, 0);
    ok(be_recovery_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 0);
    be_recovery_list_free(&l);
    f.unresolved_only = false;
    f.uid = "uid-t1";
    ok(be_recovery_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_false(l.v[0].in_active_period);
    assert_false(l.v[0].is_successful);
    assert_int_equal(l.v[0].end_recovery, NOW + 5);
    assert_non_null(strstr(l.v[0].all_errors, "leader lost"));
    be_recovery_list_free(&l);
    /* it blocks nothing */
    a.now = NOW + 10;
    ok(be_recovery_register(b, &r2, &a, &id2, &blocking, err, sizeof(err)), err);
    assert_true(id2 > id1);
    /* fences */
    ok(be_fence_add(
           b,
           &(struct be_fence){.key = mkkey("tk-m", 3306), .recovery_uid = "uid-t1", .since = NOW},
           err, sizeof(err)),
       err);
    ok(be_fence_add(b,
                    &(struct be_fence){
                        .key = mkkey("tk-m", 3306), .recovery_uid = "uid-t2", .since = NOW + 1},
                    err, sizeof(err)),
       err);
    ok(be_fence_list(b, &fl, err, sizeof(err)), err);
    assert_int_equal(fl.n, 1);
    assert_string_equal(fl.v[0].recovery_uid, "uid-t2");
    assert_int_equal(fl.v[0].since, NOW + 1);
    be_fence_list_free(&fl);
    ok(be_fence_remove(b, &(struct orc_key){"tk-m", 3306}, &n, err, sizeof(err)), err);
    assert_int_equal(n, 1);
    ok(be_fence_remove(b, &(struct orc_key){"tk-m", 3306}, &n, err, sizeof(err)), err);
    assert_int_equal(n, 0);
}

static void test_recovery_list_steps_ack_selectors(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_recovery r = mkrec("uid-20", "lst-m", "lst-m:3306");
    struct be_recovery_register_args a = {.now = NOW, .block_seconds = 3600};
    struct be_recovery_filter f = {.cluster_name = "lst-m:3306"};
    struct be_recovery_step_list sl = {0};
    struct be_recovery_list l = {0};
    struct orc_key k = mkkey("lst-m", 3306);
    int64_t id = 0, blocking = 0, n = 0;

    ok(be_recovery_register(b, &r, &a, &id, &blocking, err, sizeof(err)), err);
    ok(be_recovery_step_write(b, "uid-20", NOW, "pre-failover hook ran", err, sizeof(err)), err);
    ok(be_recovery_step_write(b, "uid-20", NOW + 1, "promoted lst-r1:3306", err, sizeof(err)), err);
    ok(be_recovery_steps(b, "uid-20", &sl, err, sizeof(err)), err);
    assert_int_equal(sl.n, 2);
    assert_string_equal(sl.v[0].message, "pre-failover hook ran");
    assert_int_equal(sl.v[1].at, NOW + 1);
    be_recovery_step_list_free(&sl);
    r.successor = mkkey("lst-r1", 3306);
    r.is_successful = true;
    r.end_recovery = NOW + 2;
    r.all_errors = "";
    ok(be_recovery_resolve(b, &r, err, sizeof(err)), err);
    f.unacknowledged_only = true;
    ok(be_recovery_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].successor.host, "lst-r1");
    assert_int_equal(l.v[0].successor.port, 3306);
    assert_true(l.v[0].is_successful);
    assert_int_equal(l.v[0].end_recovery, NOW + 2);
    assert_int_equal(l.v[0].last_detection_id, 9);
    assert_string_equal(l.v[0].replica_hosts, "r1:3306,r2:3306");
    be_recovery_list_free(&l);
    /* exactly one selector */
    assert_int_equal(
        be_recovery_ack(b, &(struct be_recovery_ack){.now = NOW}, &n, err, sizeof(err)),
        ORC_EINVAL);
    assert_int_equal(
        be_recovery_ack(b, &(struct be_recovery_ack){.id = id, .all = true}, &n, err, sizeof(err)),
        ORC_EINVAL);
    ok(be_recovery_ack(
           b, &(struct be_recovery_ack){.key = &k, .owner = "bob", .comment = "c", .now = NOW + 5},
           &n, err, sizeof(err)),
       err);
    assert_int_equal(n, 1);
    ok(be_recovery_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 0);
    be_recovery_list_free(&l);
    f.unacknowledged_only = false;
    f.uid = "uid-20";
    ok(be_recovery_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_true(l.v[0].acknowledged);
    assert_false(l.v[0].in_active_period);
    assert_int_equal(l.v[0].acknowledged_at, NOW + 5);
    assert_string_equal(l.v[0].acknowledged_by, "bob");
    assert_string_equal(l.v[0].acknowledge_comment, "c");
    be_recovery_list_free(&l);
    ok(be_recovery_ack(b, &(struct be_recovery_ack){.all = true, .owner = "x", .now = NOW + 9}, &n,
                       err, sizeof(err)),
       err);
    ok(be_recovery_ack(b, &(struct be_recovery_ack){.uid = "uid-20", .now = NOW}, &n, err,
                       sizeof(err)),
       err);
    assert_int_equal(n, 0);
}

static void test_recovery_pages(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "", uid[32], host[32];
    struct be_recovery_register_args a = {.now = NOW, .block_seconds = 3600};
    struct be_recovery_filter f = {.cluster_name = "pg:3306", .page = 1};
    struct be_recovery_list l = {0};
    int64_t id = 0, blocking = 0;

    for (int i = 0; i < 23; i++) {
        snprintf(uid, sizeof(uid), "pg-%d", i);
        snprintf(host, sizeof(host), "pg-host-%d", i);
        struct be_recovery r = mkrec(uid, host, "pg:3306");
        a.force = i > 0; /* one cluster: only forced runs pass the block */
        ok(be_recovery_register(b, &r, &a, &id, &blocking, err, sizeof(err)), err);
    }
    ok(be_recovery_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[2].uid, "pg-0");
    be_recovery_list_free(&l);
    f.page = 0;
    ok(be_recovery_list(b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, BE_PAGE_SIZE);
    assert_string_equal(l.v[0].uid, "pg-22");
    be_recovery_list_free(&l);
}

static void test_global_recovery_switch(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    bool disabled = true;

    ok(be_recovery_global_disabled(b, &disabled, err, sizeof(err)), err);
    assert_false(disabled);
    ok(be_recovery_global_set(b, true, err, sizeof(err)), err);
    ok(be_recovery_global_set(b, true, err, sizeof(err)), err);
    ok(be_recovery_global_disabled(b, &disabled, err, sizeof(err)), err);
    assert_true(disabled);
    ok(be_recovery_global_set(b, false, err, sizeof(err)), err);
    ok(be_recovery_global_disabled(b, &disabled, err, sizeof(err)), err);
    assert_false(disabled);
}

static void test_kv(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_kv_list l = {0};
    char *v = NULL;

    ok(be_kv_put(b, "mysql/master/shop", "db1:3306", NOW, err, sizeof(err)), err);
    ok(be_kv_put(b, "mysql/master/shop/hostname", "db1", NOW, err, sizeof(err)), err);
    ok(be_kv_put(b, "mysql/master/a_b", "x", NOW, err, sizeof(err)), err);
    ok(be_kv_put(b, "mysql/master/aXb", "y", NOW, err, sizeof(err)), err);
    ok(be_kv_put(b, "MYSQL/other", "z", NOW, err, sizeof(err)), err);
    ok(be_kv_put(b, "mysql/master/shop", "db2:3306", NOW + 1, err, sizeof(err)), err);
    ok(be_kv_get(b, "mysql/master/shop", &v, err, sizeof(err)), err);
    assert_string_equal(v, "db2:3306");
    free(v);
    assert_int_equal(be_kv_get(b, "mysql/master/none", &v, err, sizeof(err)), ORC_ENOTFOUND);
    assert_null(v);
    ok(be_kv_list(b, "mysql/master/", &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 4);
    be_kv_list_free(&l);
    /* '_' and '%' are literal in a prefix; case matters */
    ok(be_kv_list(b, "mysql/master/a_", &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].value, "x");
    be_kv_list_free(&l);
    ok(be_kv_list(b, "mysql/", &l, err, sizeof(err)), err);
    for (size_t i = 0; i < l.n; i++)
        assert_string_not_equal(l.v[i].key, "MYSQL/other");
    be_kv_list_free(&l);
    assert_int_equal(be_kv_put(b, "", "x", NOW, err, sizeof(err)), ORC_EINVAL);
}

/* The replicated recovery settings: upsert by key, delete, listed by key. */
static void test_recovery_config(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_rcfg_list l = {0};
    struct be_rcfg r1 = {"RecoverMasterClusterFilters", "[\"*\"]", "op", NOW};
    struct be_rcfg r2 = {"PostFailoverProcesses", "[\"echo '\\\"{failedHost}\\\"'\"]", "", NOW};
    int64_t count = -1;

    ok(be_rcfg_put(b, &r1, err, sizeof(err)), err);
    ok(be_rcfg_put(b, &r2, err, sizeof(err)), err);
    r1.value = "[\"db.*\"]";
    r1.set_at = NOW + 5;
    ok(be_rcfg_put(b, &r1, err, sizeof(err)), err);
    ok(be_rcfg_list(b, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].key, "PostFailoverProcesses");
    assert_string_equal(l.v[0].value, r2.value);
    assert_string_equal(l.v[1].value, "[\"db.*\"]");
    assert_string_equal(l.v[1].set_by, "op");
    assert_int_equal(l.v[1].set_at, NOW + 5);
    be_rcfg_list_free(&l);
    ok(be_rcfg_delete(b, "RecoverMasterClusterFilters", &count, err, sizeof(err)), err);
    assert_int_equal(count, 1);
    ok(be_rcfg_delete(b, "RecoverMasterClusterFilters", &count, err, sizeof(err)), err);
    assert_int_equal(count, 0);
    ok(be_rcfg_list(b, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    be_rcfg_list_free(&l);
    r1.key = "";
    assert_int_equal(be_rcfg_put(b, &r1, err, sizeof(err)), ORC_EINVAL);
}

static void test_tags(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_key k1 = mkkey("tag-1", 3306), k2 = mkkey("tag-2", 3306);
    struct be_tag_list l = {0};

    ok(be_tag_put(b, &k1, "role", "olap", NOW, err, sizeof(err)), err);
    ok(be_tag_put(b, &k1, "dc", "east", NOW, err, sizeof(err)), err);
    ok(be_tag_put(b, &k2, "role", "oltp", NOW, err, sizeof(err)), err);
    ok(be_tag_put(b, &k2, "role", "olap", NOW, err, sizeof(err)), err);
    ok(be_tag_list(b, &k1, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].name, "dc");
    assert_string_equal(l.v[1].value, "olap");
    be_tag_list_free(&l);
    ok(be_tag_find(b, "role", "olap", &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 2);
    be_tag_list_free(&l);
    ok(be_tag_find(b, "dc", NULL, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].key.host, "tag-1");
    be_tag_list_free(&l);
    ok(be_tag_delete(b, &k1, "role", err, sizeof(err)), err);
    assert_int_equal(be_tag_delete(b, &k1, "role", err, sizeof(err)), ORC_ENOTFOUND);
    ok(be_tag_find(b, "role", NULL, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].key.host, "tag-2");
    be_tag_list_free(&l);
}

static void test_node_health(void **state)
{
    struct be *b = be_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_node_health n = {.hostname = "orc1",
                               .token = "t1",
                               .first_seen_active = NOW,
                               .last_seen_active = NOW,
                               .app_version = "0.1.0",
                               .db_backend = "sqlite",
                               .command = "http"};
    struct be_node_health_list l = {0};
    int64_t gone = 0;

    ok(be_node_health_register(b, &n, err, sizeof(err)), err);
    n.hostname = "orc2";
    n.last_seen_active = NOW - 100;
    ok(be_node_health_register(b, &n, err, sizeof(err)), err);
    /* re-register keeps first_seen_active */
    n.hostname = "orc1";
    n.first_seen_active = NOW + 50;
    n.last_seen_active = NOW + 50;
    n.extra_info = "again";
    ok(be_node_health_register(b, &n, err, sizeof(err)), err);
    ok(be_node_health_heartbeat(b, "orc1", "t1", NOW + 60, err, sizeof(err)), err);
    assert_int_equal(be_node_health_heartbeat(b, "orc9", "t1", NOW, err, sizeof(err)),
                     ORC_ENOTFOUND);
    ok(be_node_health_list(b, NOW - 10, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].hostname, "orc1");
    assert_int_equal(l.v[0].first_seen_active, NOW);
    assert_int_equal(l.v[0].last_seen_active, NOW + 60);
    assert_string_equal(l.v[0].extra_info, "again");
    assert_int_equal(l.v[0].incrementing_indicator, 3);
    be_node_health_list_free(&l);
    ok(be_node_health_expire(b, NOW - 10, &gone, err, sizeof(err)), err);
    assert_int_equal(gone, 1);
}

/* ---- persistence, threads, reconnect ---- */

static void test_persistence_across_reopen(void **state)
{
    struct tctx *c = ctx_of(state);
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_downtime d = {.key = mkkey("persist-1", 3306),
                            .begin_ts = NOW,
                            .end_ts = NOW + 3600,
                            .owner = "p",
                            .reason = "r"};
    struct be_recovery r = mkrec("uid-persist", "persist-m", "persist-m:3306");
    struct be_recovery_register_args a = {.now = NOW, .block_seconds = 3600};
    struct be_recovery_filter f = {.uid = "uid-persist"};
    struct be_recovery_list l = {0};
    struct be_downtime got;
    int64_t id = 0, blocking = 0;
    int applied = -1;
    char *v = NULL;

    ok(be_kv_put(c->b, "persist/key", "kept", NOW, err, sizeof(err)), err);
    ok(be_downtime_begin(c->b, &d, err, sizeof(err)), err);
    ok(be_recovery_register(c->b, &r, &a, &id, &blocking, err, sizeof(err)), err);
    be_close(c->b);
    c->b = NULL;
    ok(be_open(&c->opt, &c->b, err, sizeof(err)), err);
    assert_int_equal(be_schema_version(c->b), be_schema_latest());
    ok(be_migrate(c->b, &applied, err, sizeof(err)), err);
    assert_int_equal(applied, 0);
    ok(be_kv_get(c->b, "persist/key", &v, err, sizeof(err)), err);
    assert_string_equal(v, "kept");
    free(v);
    ok(be_downtime_get(c->b, &d.key, NOW + 1, &got, err, sizeof(err)), err);
    assert_string_equal(got.owner, "p");
    be_downtime_release(&got);
    ok(be_recovery_list(c->b, &f, &l, err, sizeof(err)), err);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].id, id);
    assert_true(l.v[0].in_active_period);
    be_recovery_list_free(&l);
    assert_int_equal(count_rows(c->b, "SELECT COUNT(*) FROM database_instance", NULL, 0),
                     INST_ROWS);
}

#define THREADS 4
#define PER_THREAD 100

struct thr_arg {
    struct be *b;
    int id;
    int failures;
    char err[ORC_ERRMSG_SIZE];
};

static void *thr_main(void *p)
{
    struct thr_arg *t = p;
    char key[64];

    for (int i = 0; i < PER_THREAD; i++) {
        struct be_audit a = {.ts = NOW, .type = "thr", .message = "m"};
        snprintf(key, sizeof(key), "thr/%d/%d", t->id, i);
        if (be_kv_put(t->b, key, "v", NOW, t->err, sizeof(t->err)) != 0)
            t->failures++;
        if (be_begin(t->b, t->err, sizeof(t->err)) != 0) {
            t->failures++;
            continue;
        }
        if (be_audit_write(t->b, &a, t->err, sizeof(t->err)) != 0 ||
            be_audit_write(t->b, &a, t->err, sizeof(t->err)) != 0) {
            t->failures++;
            be_rollback(t->b, NULL, 0);
            continue;
        }
        if (be_commit(t->b, t->err, sizeof(t->err)) != 0)
            t->failures++;
    }
    return NULL;
}

static void test_threads_share_one_backend(void **state)
{
    struct be *b = be_of(state);
    struct thr_arg args[THREADS];
    pthread_t th[THREADS];
    struct be_val like[] = {BE_VTEXT("thr/%")};
    struct be_val type[] = {BE_VTEXT("thr")};

    for (int i = 0; i < THREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].b = b;
        args[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, thr_main, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        if (args[i].failures != 0)
            fail_msg("thread %d: %d failures, last: %s", i, args[i].failures, args[i].err);
    }
    assert_int_equal(count_rows(b, "SELECT COUNT(*) FROM kv_store WHERE store_key LIKE ?", like, 1),
                     THREADS * PER_THREAD);
    assert_int_equal(count_rows(b, "SELECT COUNT(*) FROM audit WHERE audit_type = ?", type, 1),
                     2 * THREADS * PER_THREAD);
}

static int64_t connection_id(struct be *b)
{
    return count_rows(b, "SELECT CONNECTION_ID()", NULL, 0);
}

static void kill_connection(const struct tctx *c, int64_t id)
{
    char err[ORC_ERRMSG_SIZE] = "", sql[64];
    struct be *killer = NULL;

    ok(be_open(&c->opt, &killer, err, sizeof(err)), err);
    snprintf(sql, sizeof(sql), "KILL CONNECTION %lld", (long long)id);
    ok(be_exec(killer, sql, NULL, 0, NULL, err, sizeof(err)), err);
    be_close(killer);
}

static void test_mysql_reconnects_after_kill(void **state)
{
    struct tctx *c = ctx_of(state);
    char err[ORC_ERRMSG_SIZE] = "", *v = NULL;
    struct be_val k[] = {BE_VTEXT("reconnect/in-txn")};
    int64_t before = connection_id(c->b), after;

    /* a statement with values after the kill: reconnect, retry, succeed */
    kill_connection(c, before);
    ok(be_kv_put(c->b, "reconnect/a", "1", NOW, err, sizeof(err)), err);
    ok(be_kv_get(c->b, "reconnect/a", &v, err, sizeof(err)), err);
    assert_string_equal(v, "1");
    free(v);
    after = connection_id(c->b);
    assert_int_not_equal(before, after);
    /* a read after the kill */
    kill_connection(c, after);
    assert_true(connection_id(c->b) != after);
    /* inside a transaction the transaction is lost: the commit must fail */
    ok(be_begin(c->b, err, sizeof(err)), err);
    ok(be_exec(c->b, "INSERT INTO kv_store (store_key, store_value) VALUES (?, 'x')", k, 1, NULL,
               err, sizeof(err)),
       err);
    kill_connection(c, connection_id(c->b));
    be_exec(c->b, "UPDATE kv_store SET store_value = 'y' WHERE store_key = ?", k, 1, NULL, err,
            sizeof(err));
    /* the server failed, not the statement: ORC_EIO (the FSM retries those) */
    assert_int_equal(be_commit(c->b, err, sizeof(err)), ORC_EIO);
    assert_int_equal(count_rows(c->b, "SELECT COUNT(*) FROM kv_store WHERE store_key = ?", k, 1),
                     0);
}

/* ---- groups ---- */

#define BACKEND_TESTS                                                                     \
    cmocka_unit_test(test_migrate_empty_then_noop),                                       \
        cmocka_unit_test_setup(test_exec_query_params, setup_migrated),                   \
        cmocka_unit_test_setup(test_long_text_round_trip, setup_migrated),                \
        cmocka_unit_test_setup(test_transactions, setup_migrated),                        \
        cmocka_unit_test_setup(test_upsert_1000_instances, setup_migrated),               \
        cmocka_unit_test_setup(test_upsert_edge_cases, setup_migrated),                   \
        cmocka_unit_test_setup(test_downtime, setup_migrated),                            \
        cmocka_unit_test_setup(test_maintenance, setup_migrated),                         \
        cmocka_unit_test_setup(test_candidate, setup_migrated),                           \
        cmocka_unit_test_setup(test_alias, setup_migrated),                               \
        cmocka_unit_test_setup(test_audit, setup_migrated),                               \
        cmocka_unit_test_setup(test_detection, setup_migrated),                           \
        cmocka_unit_test_setup(test_recovery_anti_flapping_and_ack, setup_migrated),      \
        cmocka_unit_test_setup(test_recovery_expiry_force_and_successor, setup_migrated), \
        cmocka_unit_test_setup(test_recovery_takeover_and_fence, setup_migrated),         \
        cmocka_unit_test_setup(test_recovery_list_steps_ack_selectors, setup_migrated),   \
        cmocka_unit_test_setup(test_recovery_pages, setup_migrated),                      \
        cmocka_unit_test_setup(test_global_recovery_switch, setup_migrated),              \
        cmocka_unit_test_setup(test_kv, setup_migrated),                                  \
        cmocka_unit_test_setup(test_recovery_config, setup_migrated),                     \
        cmocka_unit_test_setup(test_tags, setup_migrated),                                \
        cmocka_unit_test_setup(test_node_health, setup_migrated),                         \
        cmocka_unit_test_setup(test_threads_share_one_backend, setup_migrated),           \
        cmocka_unit_test_setup(test_persistence_across_reopen, setup_migrated)

static int migrate_only(void)
{
    struct tctx c;
    char err[ORC_ERRMSG_SIZE] = "";
    int applied = -1, rc;

    memset(&c, 0, sizeof(c));
    if (getenv("ORC_TEST_MYSQL") == NULL || parse_mysql_spec(&c, getenv("ORC_TEST_MYSQL")) != 0) {
        fprintf(stderr, "--migrate-only needs ORC_TEST_MYSQL=host:port:user:password:database\n");
        return 2;
    }
    if (open_ctx(&c) != 0)
        return 1;
    rc = be_migrate(c.b, &applied, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "migrate: %s\n", err);
    else
        printf("migrate applied=%d version=%d latest=%d\n", applied, be_schema_version(c.b),
               be_schema_latest());
    be_close(c.b);
    return rc != 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest sqlite_tests[] = {BACKEND_TESTS};
    const struct CMUnitTest mysql_tests[] = {
        BACKEND_TESTS,
        cmocka_unit_test_setup(test_mysql_reconnects_after_kill, setup_migrated),
    };
    int failed, failed_mysql = 0;
    bool mysql = getenv("ORC_TEST_MYSQL") != NULL && *getenv("ORC_TEST_MYSQL") != '\0';

    if (argc > 1 && strcmp(argv[1], "--migrate-only") == 0)
        return migrate_only();
    orc_log_min_level = ORC_LOG_WARNING;
    failed =
        cmocka_run_group_tests_name("backend-sqlite", sqlite_tests, setup_sqlite, teardown_ctx);
    printf("backend group sqlite: %zu tests, %d failed\n", ORC_ARRAY_LEN(sqlite_tests), failed);
    if (mysql) {
        failed_mysql =
            cmocka_run_group_tests_name("backend-mysql", mysql_tests, setup_mysql, teardown_ctx);
        printf("backend group mysql: %zu tests, %d failed\n", ORC_ARRAY_LEN(mysql_tests),
               failed_mysql);
    }
    printf("backend groups run: sqlite%s%s\n", mysql ? " mysql" : "",
           mysql ? "" : " (mysql not run: ORC_TEST_MYSQL not set)");
    return failed + failed_mysql != 0;
}
