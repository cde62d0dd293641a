/*
 * Live probe of a real server, for tests/integration/test_probe_live.py and
 * for measuring probe latency.
 *
 *   ORC_TEST_PROBE=host:port:user:password   probe that instance and print
 *                                            the record as key=value lines
 *   ORC_TEST_PROBE_REPEAT=N                  probe N times on one connection
 *                                            and print latency figures
 *   ORC_TEST_PROBE_INTERVAL_MS=MS            pause between those probes
 *   ORC_TEST_PROBE_RECORD=DIR                also write every statement's
 *                                            result set to DIR/<slug>.txt
 *                                            (the layout test_probe.c reads)
 *   ORC_TEST_PROBE_SHOW_HOSTS=1              DiscoverByShowSlaveHosts
 *   ORC_TEST_PROBE_NO_BATCH=1                one statement per round trip
 *
 * Without ORC_TEST_PROBE it runs its offline cases only (a refused
 * connection) and says the live probe was not requested.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/orc.h"
#include "discovery/disc.h"
#include "probe_fake.h"

/* ---- recording wrapper around the real connection ---- */

struct recorder {
    struct disc_conn *conn;
    const char *dir; /* NULL: no recording */
};

static void record(const char *dir,
                   const char *sql,
                   const struct disc_rs *rs,
                   int rc,
                   const char *errmsg)
{
    char slug[128], path[1024];
    struct orc_buf b = ORC_BUF_INIT;
    FILE *f;

    probe_slug(sql, slug, sizeof(slug));
    snprintf(path, sizeof(path), "%s/%s.txt", dir, slug);
    f = fopen(path, "w");
    if (f == NULL)
        return;
    orc_buf_printf(&b, "# %s\n", sql);
    if (rc != 0)
        orc_buf_printf(&b, "!error %s\n", errmsg);
    else
        disc_rs_format_text(rs, &b);
    fputs(orc_buf_str(&b), f);
    fclose(f);
    orc_buf_release(&b);
}

/* Time spent per statement over all probes (for the latency report). */
static struct {
    char slug[64];
    int64_t us;
    long n;
} stmt_time[32];

static void account(const char *sql, int64_t us)
{
    char slug[64];

    probe_slug(sql, slug, sizeof(slug));
    for (size_t i = 0; i < ORC_ARRAY_LEN(stmt_time); i++) {
        if (stmt_time[i].n == 0)
            snprintf(stmt_time[i].slug, sizeof(stmt_time[i].slug), "%s", slug);
        if (strcmp(stmt_time[i].slug, slug) == 0) {
            stmt_time[i].us += us;
            stmt_time[i].n++;
            return;
        }
    }
}

static int rec_query(void *vc, const char *sql, struct disc_rs **out, char *errmsg, size_t len)
{
    struct recorder *r = vc;
    int64_t t0 = orc_mono_us();
    int rc = disc_conn_mysql_ops.query(r->conn, sql, out, errmsg, len);

    account(sql, orc_mono_us() - t0);
    if (r->dir != NULL)
        record(r->dir, sql, *out, rc, errmsg);
    return rc;
}

static const char *rec_version(void *vc)
{
    struct recorder *r = vc;

    return disc_conn_mysql_ops.server_version(r->conn);
}

static int rec_query_batch(void *vc,
                           const char *const *sql,
                           size_t n,
                           struct disc_rs **outs,
                           int *rcs,
                           char *errmsg,
                           size_t len)
{
    struct recorder *r = vc;
    int64_t t0 = orc_mono_us();
    int rc = disc_conn_mysql_ops.query_batch(r->conn, sql, n, outs, rcs, errmsg, len);

    account("batch", orc_mono_us() - t0);
    for (size_t i = 0; rc == 0 && r->dir != NULL && i < n; i++) {
        if (rcs[i] != ORC_ESTATE)
            record(r->dir, sql[i], outs[i], rcs[i], errmsg);
    }
    return rc;
}

/* The real connection, timed per statement; batching only when asked
 * (ORC_TEST_PROBE_NO_BATCH unset). */
static struct disc_conn_ops rec_ops = {rec_query, rec_version, rec_query_batch};

/* ---- printing ---- */

static void print_coords(const char *name, const struct disc_coords *c)
{
    printf("%s=%s:%lld\n", name, c->file, (long long)c->pos);
}

static void print_instance(const struct disc_instance *in)
{
    char k[ORC_KEY_STRLEN];

    printf("key=%s\n", orc_key_str(&in->key, k, sizeof(k)));
    printf("hostname=%s\nserver_id=%lld\nserver_uuid=%s\n", in->hostname, (long long)in->server_id,
           in->server_uuid);
    printf("version=%s\nversion_comment=%s\nflavor=%s\nmajor=%d\nminor=%d\npatch=%d\n", in->version,
           in->version_comment, disc_flavor_name(in->ver.flavor), in->ver.major, in->ver.minor,
           in->ver.patch);
    printf("read_only=%d\nsuper_read_only=%d\nlog_bin=%d\nlog_replica_updates=%d\n", in->read_only,
           in->super_read_only, in->log_bin, in->log_replica_updates);
    printf("binlog_format=%s\nbinlog_row_image=%s\nuptime=%lld\n", in->binlog_format,
           in->binlog_row_image, (long long)in->uptime);
    print_coords("self_coords", &in->self_coords);
    printf("master_key=%s\nmaster_server_id=%lld\n", orc_key_str(&in->master_key, k, sizeof(k)),
           (long long)in->master_server_id);
    printf("io_state=%d\nsql_state=%d\nio_running_text=%s\nsql_running_text=%s\n", in->io_state,
           in->sql_state, in->io_running_text, in->sql_running_text);
    print_coords("read_coords", &in->read_coords);
    print_coords("exec_coords", &in->exec_coords);
    print_coords("relay_coords", &in->relay_coords);
    printf("last_io_errno=%d\nlast_sql_errno=%d\n", in->last_io_errno, in->last_sql_errno);
    printf("seconds_behind_master_valid=%d\nseconds_behind_master=%lld\n",
           in->seconds_behind_master.valid, (long long)in->seconds_behind_master.value);
    printf("using_mariadb_gtid=%d\nusing_oracle_gtid=%d\ngtid_mode=%s\n", in->using_mariadb_gtid,
           in->using_oracle_gtid, in->gtid_mode);
    printf("gtid_current_pos=%s\ngtid_slave_pos=%s\ngtid_binlog_pos=%s\nexecuted_gtid_set=%s\n",
           disc_str(in->gtid_current_pos), disc_str(in->gtid_slave_pos),
           disc_str(in->gtid_binlog_pos), disc_str(in->executed_gtid_set));
    printf("has_replication_credentials=%d\nsemi_sync_available=%d\n",
           in->has_replication_credentials, in->semi_sync_available);
    printf("replicas=");
    for (size_t i = 0; i < in->replicas.len; i++)
        printf("%s%s", i ? "," : "", orc_key_str(&in->replicas.keys[i], k, sizeof(k)));
    printf("\npartial_success=%d\nlatency_us=%lld\n", in->last_check_partial_success,
           (long long)in->last_discovery_latency_us);
}

/* ---- the live run ---- */

static int parse_target(const char *spec,
                        struct orc_key *key,
                        char *user,
                        size_t ulen,
                        const char **password)
{
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    const char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
    char host[ORC_HOST_MAX], port[16];

    if (c3 == NULL || (size_t)(c1 - spec) >= sizeof(host) ||
        (size_t)(c2 - c1 - 1) >= sizeof(port) || (size_t)(c3 - c2 - 1) >= ulen)
        return ORC_EINVAL;
    snprintf(host, sizeof(host), "%.*s", (int)(c1 - spec), spec);
    snprintf(port, sizeof(port), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
    snprintf(user, ulen, "%.*s", (int)(c3 - c2 - 1), c2 + 1);
    *password = c3 + 1;
    return orc_key_from(host, port, key);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void print_latency(int64_t *lat, long ok, int64_t first)
{
    qsort(lat, (size_t)ok, sizeof(*lat), cmp_i64);
    printf(
        "latency_first_us=%lld\nlatency_min_us=%lld\nlatency_median_us=%lld\n"
        "latency_p99_us=%lld\nlatency_max_us=%lld\n",
        (long long)first, (long long)lat[0], (long long)lat[ok / 2],
        (long long)lat[(ok * 99) / 100], (long long)lat[ok - 1]);
    for (size_t i = 0; i < ORC_ARRAY_LEN(stmt_time) && stmt_time[i].n > 0; i++)
        printf("statement_mean_us.%s=%lld\n", stmt_time[i].slug,
               (long long)(stmt_time[i].us / stmt_time[i].n));
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    int64_t n;

    if (v == NULL || orc_parse_int64(v, 0, 1000000, &n) != 0)
        return dflt;
    return (long)n;
}

/* Probes n times on one connection (every interval_ms); one line per probe
 * when n > 1; the last record in full. Returns the last probe's code. */
static int probe_loop(struct recorder *r,
                      const struct orc_key *key,
                      const struct disc_probe_options *po,
                      long n,
                      long interval_ms)
{
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE] = "";
    int64_t *lat = calloc((size_t)n, sizeof(*lat));
    int64_t first = 0;
    long ok = 0;
    int rc = ORC_ENOMEM;

    disc_instance_init(&in);
    for (long i = 0; lat != NULL && i < n; i++) {
        if (i > 0 && interval_ms > 0)
            orc_sleep_ms(interval_ms);
        rc = disc_probe_run(&rec_ops, r, po, key, &in, err, sizeof(err));
        r->dir = NULL; /* record the first probe only */
        if (n > 1)
            printf("probe.%ld=%d %lld %s\n", i, rc, (long long)in.last_discovery_latency_us, err);
        if (i == 0)
            first = in.last_discovery_latency_us;
        if (rc == 0)
            lat[ok++] = in.last_discovery_latency_us;
    }
    print_instance(&in);
    printf("rc=%d\nerror=%s\nprobes=%ld\nprobes_ok=%ld\n", rc, err, n, ok);
    if (ok > 0)
        print_latency(lat, ok, first);
    fflush(stdout);
    disc_instance_release(&in);
    free(lat);
    return rc;
}

static int live(const char *spec)
{
    struct disc_conn_options co = {
        .connect_timeout_s = 2, .read_timeout_s = 5, .write_timeout_s = 5};
    struct disc_probe_options po = {0};
    struct recorder r = {NULL, getenv("ORC_TEST_PROBE_RECORD")};
    char user[128], err[ORC_ERRMSG_SIZE] = "";
    struct orc_key key;
    int rc;

    if (parse_target(spec, &key, user, sizeof(user), &co.password) != 0) {
        fprintf(stderr, "ORC_TEST_PROBE: expected host:port:user:password\n");
        return 2;
    }
    co.user = user;
    if (getenv("ORC_TEST_PROBE_NO_BATCH") != NULL)
        rec_ops.query_batch = NULL;
    po.discover_by_show_slave_hosts = getenv("ORC_TEST_PROBE_SHOW_HOSTS") != NULL;
    if (disc_library_init(err, sizeof(err)) != 0 ||
        disc_conn_open(&r.conn, &key, &co, err, sizeof(err)) != 0) {
        fprintf(stderr, "setup: %s\n", err);
        return 2;
    }
    rc = probe_loop(&r, &key, &po, env_long("ORC_TEST_PROBE_REPEAT", 1),
                    env_long("ORC_TEST_PROBE_INTERVAL_MS", 0));
    disc_conn_close(r.conn);
    disc_library_end();
    return rc == 0 ? 0 : 1;
}

/* ---- offline cases ---- */

/* A loopback port with nothing listening (bound then closed). */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void test_refused_connection_fails_fast(void **state)
{
    struct disc_conn_options co = {.user = "u",
                                   .password = "secret",
                                   .connect_timeout_s = 1,
                                   .read_timeout_s = 1,
                                   .write_timeout_s = 1};
    struct disc_instance in;
    struct disc_conn *c = NULL;
    struct orc_key key = {"127.0.0.1", closed_port()};
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    (void)state;
    assert_true(key.port > 0);
    assert_int_equal(disc_conn_open(&c, &key, &co, err, sizeof(err)), 0);
    disc_instance_init(&in);
    rc = disc_probe_run(&disc_conn_mysql_ops, c, NULL, &key, &in, err, sizeof(err));
    assert_int_equal(rc, ORC_EIO);
    assert_false(disc_conn_connected(c));
    assert_false(in.last_check_partial_success);
    assert_true(in.last_discovery_latency_us > 0);
    assert_true(in.last_discovery_latency_us < 1000000);
    assert_non_null(strstr(err, "probe 127.0.0.1:"));
    assert_null(strstr(err, "secret"));
    disc_instance_release(&in);
    disc_conn_close(c);
}

int main(void)
{
    const char *spec = getenv("ORC_TEST_PROBE");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_connection_fails_fast),
    };
    char err[ORC_ERRMSG_SIZE];
    int rc;

    if (spec != NULL && *spec != '\0')
        return live(spec);
    if (disc_library_init(err, sizeof(err)) != 0)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    disc_library_end();
    printf("live probe: not requested (set ORC_TEST_PROBE=host:port:user:password)\n");
    return rc;
}
