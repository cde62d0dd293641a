/*
 * The real MySQL seam: a persistent libmariadb connection to one instance,
 * with connect/read/write timeouts, lazy connect, and reconnect after the
 * connection dropped. Read statements are retried once on a fresh
 * connection; statements that change things never are (they may have run).
 */
#include "discovery/disc.h"

#include <mysql.h>
#include <mysqld_error.h>

#include <ma_pvio.h> /* after mysql.h, which it needs */

#include "common/config.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

struct disc_conn {
    MYSQL *mysql; /* NULL while not connected */
    struct orc_key key;
    char *user;
    char *password;
    unsigned int connect_timeout_s;
    unsigned int read_timeout_s;
    unsigned int write_timeout_s;
    char version[DISC_VERSION_MAX]; /* from the last handshake */
    /* TLS: tls_on once always, or after a server refused plain text */
    bool tls_on, tls_fallback, tls_verify;
    char *tls_ca, *tls_cert, *tls_key; /* NULL: not set */
    /* The established connection's socket, for disc_conn_abort from another
     * thread: set after a connect, cleared before the socket is closed, both
     * under abort_mu, so an abort never reaches a reused descriptor. */
    pthread_mutex_t abort_mu;
    int live_fd;
    bool aborted; /* until disc_conn_idle: no reconnect, no retry (abort_mu) */
};

void disc_conn_options_tls(struct disc_conn_options *o, const struct orc_config *c)
{
    o->tls_always = c->MySQLTopologyUseMutualTLS;
    o->tls_fallback = c->MySQLTopologyUseMixedTLS;
    o->tls_ca = c->MySQLTopologySSLCAFile;
    o->tls_cert = c->MySQLTopologySSLCertFile;
    o->tls_key = c->MySQLTopologySSLPrivateKeyFile;
    o->tls_skip_verify = c->MySQLTopologySSLSkipVerify;
}

/* A copy of s, or NULL for NULL/"" (sets *nomem when the copy failed). */
static char *dup_opt(const char *s, bool *nomem)
{
    char *d;

    if (s == NULL || *s == '\0')
        return NULL;
    d = strdup(s);
    *nomem |= d == NULL;
    return d;
}

/* libmariadb gives each connection a read-ahead cache of
 * PVIO_READ_AHEAD_CACHE_SIZE (16 KB) for its whole life. With thousands of
 * persistent connections that sit idle between probes, those caches were
 * most of the service's memory (80 MB at 5,000 instances). An idle
 * connection hands its cache back (disc_conn_idle) and gets a new one before
 * its next statement; without a cache the library reads the socket
 * directly, so a failed allocation only costs system calls. The cache is
 * a field of the library's connection (ma_pvio.h, installed with its
 * headers): this is done only when the library loaded at run time is the
 * version those headers describe. */
static bool cache_parking;

static void cache_park(MYSQL *m)
{
    MARIADB_PVIO *p = m->net.pvio;

    if (!cache_parking || p == NULL || p->cache == NULL)
        return;
    if (p->cache_pos < p->cache + p->cache_size)
        return; /* bytes not read yet: keep them */
    free(p->cache);
    p->cache = NULL;
    p->cache_pos = NULL;
    p->cache_size = 0;
}

static void cache_unpark(MYSQL *m)
{
    MARIADB_PVIO *p = m->net.pvio;

    if (!cache_parking || p == NULL || p->cache != NULL)
        return;
    p->cache = malloc(PVIO_READ_AHEAD_CACHE_SIZE);
    p->cache_pos = p->cache;
    p->cache_size = 0;
}

int disc_library_init(char *errmsg, size_t len)
{
    if (mysql_library_init(0, NULL, NULL) != 0) {
        orc_errf(errmsg, len, "mysql library init failed");
        return ORC_EIO;
    }
    cache_parking = mysql_get_client_version() == MARIADB_PACKAGE_VERSION_ID;
    if (!cache_parking)
        ORC_LOG_I("+mysql-library", "version=%lu built_with=%d idle_cache_release=off",
                  mysql_get_client_version(), MARIADB_PACKAGE_VERSION_ID);
    return 0;
}

void disc_library_end(void)
{
    mysql_library_end();
}

static unsigned int timeout_or_default(int s)
{
    return s > 0 ? (unsigned int)s : 1u;
}

int disc_conn_open(struct disc_conn **out,
                   const struct orc_key *key,
                   const struct disc_conn_options *o,
                   char *errmsg,
                   size_t len)
{
    struct disc_conn *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (!orc_host_safe(key->host)) {
        free(c);
        orc_errf(errmsg, len, "refusing to connect to '%s': not a host name", key->host);
        return ORC_EINVAL;
    }
    if (c == NULL)
        goto nomem;
    pthread_mutex_init(&c->abort_mu, NULL);
    c->live_fd = -1;
    c->key = *key;
    c->user = strdup(o->user != NULL ? o->user : "");
    c->password = strdup(o->password != NULL ? o->password : "");
    if (c->user == NULL || c->password == NULL)
        goto nomem;
    c->connect_timeout_s = timeout_or_default(o->connect_timeout_s);
    c->read_timeout_s = timeout_or_default(o->read_timeout_s);
    c->write_timeout_s = timeout_or_default(o->write_timeout_s);
    c->tls_on = o->tls_always;
    c->tls_fallback = o->tls_fallback && !o->tls_always;
    c->tls_verify = !o->tls_skip_verify;
    {
        bool nomem = false;
        c->tls_ca = dup_opt(o->tls_ca, &nomem);
        c->tls_cert = dup_opt(o->tls_cert, &nomem);
        c->tls_key = dup_opt(o->tls_key, &nomem);
        if (nomem)
            goto nomem;
    }
    *out = c;
    return 0;
nomem:
    disc_conn_close(c);
    orc_errf(errmsg, len, "open connection: out of memory");
    return ORC_ENOMEM;
}

static void conn_drop(struct disc_conn *c)
{
    pthread_mutex_lock(&c->abort_mu);
    c->live_fd = -1;
    pthread_mutex_unlock(&c->abort_mu);
    if (c->mysql != NULL)
        mysql_close(c->mysql);
    c->mysql = NULL;
}

void disc_conn_close(struct disc_conn *c)
{
    if (c == NULL)
        return;
    conn_drop(c);
    if (c->password != NULL)
        explicit_bzero(c->password, strlen(c->password));
    free(c->password);
    free(c->user);
    free(c->tls_ca);
    free(c->tls_cert);
    free(c->tls_key);
    pthread_mutex_destroy(&c->abort_mu);
    free(c);
}

void disc_conn_abort(struct disc_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->abort_mu);
    c->aborted = true;
    if (c->live_fd >= 0)
        (void)shutdown(c->live_fd, SHUT_RDWR); /* the blocked read returns at once */
    pthread_mutex_unlock(&c->abort_mu);
}

static bool conn_aborted(struct disc_conn *c)
{
    bool a;

    pthread_mutex_lock(&c->abort_mu);
    a = c->aborted;
    pthread_mutex_unlock(&c->abort_mu);
    return a;
}

void disc_conn_disconnect(struct disc_conn *c)
{
    if (c != NULL)
        conn_drop(c);
}

bool disc_conn_connected(const struct disc_conn *c)
{
    return c->mysql != NULL;
}

void disc_conn_idle(struct disc_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->abort_mu);
    c->aborted = false; /* the next use may connect again */
    pthread_mutex_unlock(&c->abort_mu);
    if (c->mysql != NULL)
        cache_park(c->mysql);
}

/* Client-side errors (CR_*, 2000-2999) mean the connection is unusable. */
static int mysql_rc(MYSQL *m)
{
    unsigned int e = mysql_errno(m);

    if (e >= 2000 && e < 3000)
        return strcasestr(mysql_error(m), "timeout") != NULL ? ORC_ETIMEDOUT : ORC_EIO;
    return ORC_EMYSQL;
}

/* TLS required, verified against the CA (or the system's) unless told not to,
 * with a client certificate when one is configured. */
static int conn_setup_tls(const struct disc_conn *c, MYSQL *m)
{
    my_bool enforce = 1, verify = c->tls_verify ? 1 : 0;

    if (mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &enforce) != 0 ||
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify) != 0 ||
        mysql_optionsv(m, MARIADB_OPT_TLS_VERSION, "TLSv1.2,TLSv1.3") != 0)
        return ORC_EINVAL;
    /* libmariadb checks the chain whenever it has a CA: skipping verification
     * means not handing it one */
    if (c->tls_verify && c->tls_ca != NULL && mysql_optionsv(m, MYSQL_OPT_SSL_CA, c->tls_ca) != 0)
        return ORC_EINVAL;
    if (c->tls_cert != NULL && (mysql_optionsv(m, MYSQL_OPT_SSL_CERT, c->tls_cert) != 0 ||
                                mysql_optionsv(m, MYSQL_OPT_SSL_KEY, c->tls_key) != 0))
        return ORC_EINVAL;
    return 0;
}

/* libmariadb's packet buffer starts at 8 KB and grows to the largest packet
 * it met (it never shrinks); a probe's packets are mostly far smaller, and a
 * connection is kept per instance: it starts small and grows where needed. */
#define CONN_NET_BUFFER 2048

static int conn_setup(struct disc_conn *c, MYSQL *m)
{
    unsigned int proto = MYSQL_PROTOCOL_TCP;
    unsigned long nbl = CONN_NET_BUFFER;

    if (mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &c->connect_timeout_s) != 0 ||
        mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &c->read_timeout_s) != 0 ||
        mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &c->write_timeout_s) != 0 ||
        mysql_options(m, MYSQL_OPT_PROTOCOL, &proto) != 0 ||
        mysql_optionsv(m, MYSQL_OPT_NET_BUFFER_LENGTH, &nbl) != 0)
        return ORC_EINVAL;
    return c->tls_on ? conn_setup_tls(c, m) : 0;
}

/* A server that wants TLS from this user refuses plain text with one of
 * these (require_secure_transport, or REQUIRE SSL answered as access denied). */
static bool refuses_plain_text(unsigned int e)
{
    return e == ER_ACCESS_DENIED_ERROR || e == 3159 /* MySQL ER_SECURE_TRANSPORT_REQUIRED */;
}

/* disc_sql_quote escapes with backslashes: make sure the session reads them so. */
static int conn_fix_sql_mode(MYSQL *m)
{
    static const char sql[] =
        "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')";

    if ((m->server_status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) == 0)
        return 0;
    return mysql_real_query(m, sql, sizeof(sql) - 1) == 0 ? 0 : mysql_rc(m);
}

/* One handshake with the current settings; m is the caller's either way. */
static int conn_try(struct disc_conn *c, MYSQL **out)
{
    MYSQL *m = mysql_init(NULL);
    int rc;

    *out = m;
    if (m == NULL)
        return ORC_ENOMEM;
    rc = conn_setup(c, m);
    if (rc == 0 &&
        mysql_real_connect(m, c->key.host, c->user, c->password, NULL, (unsigned int)c->key.port,
                           NULL, CLIENT_MULTI_STATEMENTS) == NULL)
        rc = mysql_rc(m) == ORC_EMYSQL ? ORC_EPERM : mysql_rc(m);
    return rc;
}

int disc_conn_connect(struct disc_conn *c, char *errmsg, size_t len)
{
    MYSQL *m;
    int rc;

    if (c->mysql != NULL)
        return 0;
    if (conn_aborted(c)) {
        orc_errf(errmsg, len, "probe deadline passed: the connection to %s:%d was cut short",
                 c->key.host, c->key.port);
        return ORC_ETIMEDOUT;
    }
    rc = conn_try(c, &m);
    if (rc == ORC_EPERM && c->tls_fallback && !c->tls_on && refuses_plain_text(mysql_errno(m))) {
        mysql_close(m);
        c->tls_on = true; /* this server wants TLS: keep it for the next connections */
        rc = conn_try(c, &m);
        if (rc == 0)
            ORC_LOG_I("+mysql-tls-fallback", "instance=%s:%d", c->key.host, c->key.port);
    }
    if (m == NULL) {
        orc_errf(errmsg, len, "connect %s:%d: out of memory", c->key.host, c->key.port);
        return ORC_ENOMEM;
    }
    if (rc == 0)
        rc = conn_fix_sql_mode(m);
    if (rc != 0) {
        orc_errf(errmsg, len, "connect %s:%d%s: error %u: %s", c->key.host, c->key.port,
                 c->tls_on ? " (TLS)" : "", mysql_errno(m), mysql_error(m));
        mysql_close(m);
        return rc;
    }
    (void)orc_strlcpy(c->version, mysql_get_server_info(m), sizeof(c->version));
    /* the connection attributes went out with the handshake; their table
     * (8 KB per connection) is not needed any more */
    (void)mysql_optionsv(m, MYSQL_OPT_CONNECT_ATTR_RESET, NULL);
    c->mysql = m;
    pthread_mutex_lock(&c->abort_mu);
    c->live_fd = (int)mysql_get_socket(m);
    pthread_mutex_unlock(&c->abort_mu);
    return 0;
}

/* Copies a MYSQL_RES into a struct disc_rs. */
static int rs_from_result(MYSQL_RES *res, struct disc_rs **out)
{
    unsigned int n = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    const char **names = calloc(n > 0 ? n : 1, sizeof(*names));
    struct disc_rs *rs = NULL;
    MYSQL_ROW row;
    int rc = ORC_ENOMEM;

    if (names == NULL)
        return ORC_ENOMEM;
    for (unsigned int i = 0; i < n; i++)
        names[i] = f[i].name;
    rs = disc_rs_new(n, names);
    if (rs == NULL)
        goto out;
    rc = 0;
    while (rc == 0 && (row = mysql_fetch_row(res)) != NULL)
        rc = disc_rs_add_row(rs, (const char *const *)row);
out:
    free(names);
    if (rc != 0) {
        disc_rs_free(rs);
        return rc;
    }
    *out = rs;
    return 0;
}

/* Frees any further result sets (a user's Detect* query may be a CALL). */
static void drain_results(MYSQL *m)
{
    while (mysql_more_results(m) && mysql_next_result(m) == 0) {
        MYSQL_RES *extra = mysql_store_result(m);

        if (extra != NULL)
            mysql_free_result(extra);
    }
}

/* Takes the current result (if any) of m into *out. Returns 0, ORC_ENOMEM,
 * or 1 when the server or connection failed (mysql_errno tells). */
static int store_one(MYSQL *m, struct disc_rs **out)
{
    MYSQL_RES *res = mysql_store_result(m);
    int rc;

    if (res == NULL) {
        /* an error, or a statement without a result set; a connection lost
         * while reading the rows also clears the field count, so the error
         * is what tells them apart */
        if (mysql_errno(m) != 0 || mysql_field_count(m) != 0)
            return 1;
        return (*out = disc_rs_new(0, NULL)) == NULL ? ORC_ENOMEM : 0;
    }
    rc = rs_from_result(res, out);
    mysql_free_result(res);
    return rc;
}

/* The failure of the last call on c's connection; drops it when unusable. */
static int conn_fail(struct disc_conn *c, char *errmsg, size_t len)
{
    int rc = mysql_rc(c->mysql);

    if (rc != ORC_EMYSQL && conn_aborted(c)) { /* shut down at the probe deadline */
        orc_errf(errmsg, len, "probe deadline passed: the connection to %s:%d was cut short",
                 c->key.host, c->key.port);
        conn_drop(c);
        return ORC_ETIMEDOUT;
    }
    orc_errf(errmsg, len, "error %u: %s", mysql_errno(c->mysql), mysql_error(c->mysql));
    if (rc != ORC_EMYSQL)
        conn_drop(c);
    return rc;
}

static int conn_run(struct disc_conn *c,
                    const char *sql,
                    struct disc_rs **out,
                    char *errmsg,
                    size_t len)
{
    int rc;

    if (mysql_real_query(c->mysql, sql, strlen(sql)) != 0)
        return conn_fail(c, errmsg, len);
    rc = store_one(c->mysql, out);
    if (rc == 1)
        return conn_fail(c, errmsg, len);
    drain_results(c->mysql);
    if (rc != 0)
        orc_errf(errmsg, len, "out of memory");
    return rc;
}

/* Runs the joined statements and collects one result per statement. */
static int conn_run_batch(struct disc_conn *c,
                          const char *joined,
                          size_t n,
                          struct disc_rs **outs,
                          int *rcs,
                          char *errmsg,
                          size_t len)
{
    size_t i = 0;
    int rc = 0;

    for (size_t j = 0; j < n; j++) {
        outs[j] = NULL;
        rcs[j] = ORC_ESTATE;
    }
    if (mysql_real_query(c->mysql, joined, strlen(joined)) != 0) {
        rc = conn_fail(c, errmsg, len);
        if (rc != ORC_EMYSQL)
            return rc; /* nothing ran, or the connection went away */
        rcs[0] = rc;
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (i > 0 && mysql_next_result(c->mysql) != 0)
            break; /* a failure (reported below) or, unexpectedly, no more results */
        rc = store_one(c->mysql, &outs[i]);
        if (rc != 0)
            break;
        rcs[i] = 0;
    }
    if (i == n) {
        drain_results(c->mysql);
        return 0;
    }
    if (rc == ORC_ENOMEM) {
        rcs[i] = ORC_ENOMEM;
        orc_errf(errmsg, len, "out of memory");
        conn_drop(c); /* results left unread: the connection is out of step */
        return 0;
    }
    if (mysql_errno(c->mysql) == 0) {
        orc_errf(errmsg, len, "batch ended after %zu of %zu results", i, n);
        conn_drop(c);
        rcs[i] = ORC_EIO;
        return 0;
    }
    rcs[i] = conn_fail(c, errmsg, len); /* later statements did not run */
    return 0;
}

static bool is_read_statement(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '(')
        sql++;
    return strncasecmp(sql, "SELECT", 6) == 0 || strncasecmp(sql, "SHOW", 4) == 0;
}

static int conn_query(void *vc, const char *sql, struct disc_rs **out, char *errmsg, size_t len)
{
    struct disc_conn *c = vc;
    bool fresh = c->mysql == NULL;
    int rc;

    *out = NULL;
    rc = disc_conn_connect(c, errmsg, len);
    if (rc != 0)
        return rc;
    cache_unpark(c->mysql);
    rc = conn_run(c, sql, out, errmsg, len);
    if (rc == ORC_EIO && !fresh && is_read_statement(sql)) {
        /* The kept connection had dropped (server restart, idle kill): once more. */
        rc = disc_conn_connect(c, errmsg, len);
        if (rc == 0)
            rc = conn_run(c, sql, out, errmsg, len);
    }
    return rc;
}

static int conn_query_batch(void *vc,
                            const char *const *sql,
                            size_t n,
                            struct disc_rs **outs,
                            int *rcs,
                            char *errmsg,
                            size_t len)
{
    struct disc_conn *c = vc;
    struct orc_buf joined = ORC_BUF_INIT;
    bool fresh = c->mysql == NULL;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = orc_buf_printf(&joined, "%s%s", i ? "; " : "", sql[i]);
    if (rc != 0) {
        orc_buf_release(&joined);
        orc_errf(errmsg, len, "out of memory");
        return ORC_ENOMEM;
    }
    rc = disc_conn_connect(c, errmsg, len);
    if (rc == 0) {
        cache_unpark(c->mysql);
        rc = conn_run_batch(c, orc_buf_str(&joined), n, outs, rcs, errmsg, len);
    }
    if (rc == ORC_EIO && !fresh) {
        /* The kept connection had dropped before anything ran: once more. */
        rc = disc_conn_connect(c, errmsg, len);
        if (rc == 0)
            rc = conn_run_batch(c, orc_buf_str(&joined), n, outs, rcs, errmsg, len);
    }
    orc_buf_release(&joined);
    return rc;
}

static const char *conn_server_version(void *vc)
{
    struct disc_conn *c = vc;

    return c->version[0] != '\0' ? c->version : NULL;
}

const struct disc_conn_ops disc_conn_mysql_ops = {
    .query = conn_query,
    .server_version = conn_server_version,
    .query_batch = conn_query_batch,
};

int disc_conn_fd(const struct disc_conn *c)
{
    if (c == NULL || c->mysql == NULL)
        return -1;
    return (int)mysql_get_socket(c->mysql);
}
