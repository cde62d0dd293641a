/*
 * backend driver for MySQL/MariaDB: one connection with connect, read and
 * write timeouts, utf8mb4, CLIENT_FOUND_ROWS (so UPDATE counts matched rows as
 * SQLite does). Statements with values are prepared and bound; statements
 * without parameters use the text protocol. Result sets are stored client-side
 * before any row reaches the callback.
 *
 * Lost connection: the driver reconnects once and retries the statement when
 * that is safe: the failure came before execution (prepare), the statement is a
 * read, or it has no parameters and no transaction is open (such statements
 * are DDL and fixed deletes, idempotent). Inside a transaction the transaction
 * is lost: the driver reconnects and dooms it so the commit fails.
 * The password is kept for reconnecting and never logged.
 */
#include "backend/be_int.h"
#include "common/config.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MY_INITIAL_COL_BUF 256

struct my {
    MYSQL *conn;
    char *host;
    char *user;
    char *password;
    char *database;
    int port;
    unsigned int connect_timeout;
    unsigned int read_timeout;
    unsigned int last_errno; /* of the last failed call */
    bool tls, tls_verify;
    char *tls_ca, *tls_cert, *tls_key; /* NULL: not set */
};

void be_options_tls(struct be_options *o, const struct orc_config *c)
{
    o->tls = c->MySQLOrchestratorUseMutualTLS || c->MySQLOrchestratorSSLCAFile[0] != '\0' ||
             c->MySQLOrchestratorSSLCertFile[0] != '\0';
    o->tls_ca = c->MySQLOrchestratorSSLCAFile;
    o->tls_cert = c->MySQLOrchestratorSSLCertFile;
    o->tls_key = c->MySQLOrchestratorSSLPrivateKeyFile;
    o->tls_skip_verify = c->MySQLOrchestratorSSLSkipVerify;
}

/* TLS required and verified (unless told not to), as for topology servers. */
static void my_setup_tls(const struct my *m, MYSQL *c)
{
    my_bool enforce = 1, verify = m->tls_verify ? 1 : 0;

    if (!m->tls)
        return;
    mysql_optionsv(c, MYSQL_OPT_SSL_ENFORCE, &enforce);
    mysql_optionsv(c, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    mysql_optionsv(c, MARIADB_OPT_TLS_VERSION, "TLSv1.2,TLSv1.3");
    if (m->tls_ca != NULL && m->tls_verify) /* a CA makes libmariadb check the chain */
        mysql_optionsv(c, MYSQL_OPT_SSL_CA, m->tls_ca);
    if (m->tls_cert != NULL) {
        mysql_optionsv(c, MYSQL_OPT_SSL_CERT, m->tls_cert);
        mysql_optionsv(c, MYSQL_OPT_SSL_KEY, m->tls_key);
    }
}

static char *opt_dup(const char *s, bool *nomem)
{
    char *d;

    if (s == NULL || *s == '\0')
        return NULL;
    d = strdup(s);
    *nomem |= d == NULL;
    return d;
}

enum my_stage { MY_PREPARE = 1, MY_EXECUTE = 2 };

static struct my *my_of(struct be *b)
{
    return b->conn;
}

static bool lost_errno(unsigned int e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == ER_CONNECTION_KILLED ||
           e == 4031; /* MySQL 8: disconnected by the server for inactivity */
}

static int my_fail(struct my *m,
                   unsigned int eno,
                   const char *err,
                   const char *what,
                   const char *sql,
                   char *errmsg,
                   size_t len)
{
    char ex[96];

    m->last_errno = eno;
    if (sql != NULL)
        orc_errf(errmsg, len, "mysql: %s '%s': %s (%u)", what, be_sql_excerpt(sql, ex, sizeof(ex)),
                 err, eno);
    else
        orc_errf(errmsg, len, "mysql: %s: %s (%u)", what, err, eno);
    return ORC_EDB;
}

static int my_create_database(struct my *m, MYSQL *c, char *errmsg, size_t len)
{
    char sql[128];

    if (!be_ident_ok(m->database)) {
        orc_errf(errmsg, len, "mysql: bad database name '%s'", m->database);
        return ORC_ECONFIG;
    }
    snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4",
             m->database);
    if (mysql_real_query(c, sql, strlen(sql)) != 0 || mysql_select_db(c, m->database) != 0)
        return my_fail(m, mysql_errno(c), mysql_error(c), "create database", NULL, errmsg, len);
    ORC_LOG_N("+backend-create-database", "database=%s", m->database);
    return 0;
}

static int my_connect(struct my *m, char *errmsg, size_t len)
{
    MYSQL *c = mysql_init(NULL);
    my_bool no = 0;
    unsigned long flags = CLIENT_FOUND_ROWS;

    if (c == NULL) {
        orc_errf(errmsg, len, "mysql: init: out of memory");
        return ORC_ENOMEM;
    }
    mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &m->connect_timeout);
    mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &m->read_timeout);
    mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &m->read_timeout);
    mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(c, MYSQL_OPT_RECONNECT, &no);
    my_setup_tls(m, c);
    if (mysql_real_connect(c, m->host, m->user, m->password, m->database, (unsigned)m->port, NULL,
                           flags) == NULL) {
        int rc;
        if (mysql_errno(c) != ER_BAD_DB_ERROR ||
            mysql_real_connect(c, m->host, m->user, m->password, NULL, (unsigned)m->port, NULL,
                               flags) == NULL) {
            rc = my_fail(m, mysql_errno(c), mysql_error(c), "connect", NULL, errmsg, len);
            orc_errprefix(errmsg, len, "%s@%s:%d", m->user, m->host, m->port);
            mysql_close(c);
            return rc;
        }
        rc = my_create_database(m, c, errmsg, len);
        if (rc != 0) {
            mysql_close(c);
            return rc;
        }
    }
    m->conn = c;
    return 0;
}

static void my_free(struct my *m)
{
    if (m == NULL)
        return;
    if (m->conn != NULL)
        mysql_close(m->conn);
    free(m->host);
    free(m->user);
    if (m->password != NULL)
        memset(m->password, 0, strlen(m->password));
    free(m->password);
    free(m->database);
    free(m->tls_ca);
    free(m->tls_cert);
    free(m->tls_key);
    free(m);
}

static int my_open(struct be *b, const struct be_options *o, char *errmsg, size_t len)
{
    struct my *m = calloc(1, sizeof(*m));
    bool nomem = false;
    int rc;

    if (m == NULL)
        return ORC_ENOMEM;
    m->host = strdup(o->mysql_host != NULL && *o->mysql_host ? o->mysql_host : "127.0.0.1");
    m->user = strdup(o->mysql_user != NULL ? o->mysql_user : "");
    m->password = strdup(o->mysql_password != NULL ? o->mysql_password : "");
    m->database = strdup(o->mysql_database != NULL && *o->mysql_database ? o->mysql_database
                                                                         : "orchestrator");
    m->port = o->mysql_port > 0 ? o->mysql_port : 3306;
    m->connect_timeout = o->connect_timeout_s > 0 ? (unsigned)o->connect_timeout_s : 10;
    m->read_timeout = o->read_timeout_s > 0 ? (unsigned)o->read_timeout_s : 30;
    m->tls = o->tls;
    m->tls_verify = !o->tls_skip_verify;
    m->tls_ca = opt_dup(o->tls_ca, &nomem);
    m->tls_cert = opt_dup(o->tls_cert, &nomem);
    m->tls_key = opt_dup(o->tls_key, &nomem);
    if (nomem || m->host == NULL || m->user == NULL || m->password == NULL || m->database == NULL) {
        my_free(m);
        orc_errf(errmsg, len, "out of memory");
        return ORC_ENOMEM;
    }
    rc = my_connect(m, errmsg, len);
    if (rc != 0) {
        my_free(m);
        return rc;
    }
    b->conn = m;
    ORC_LOG_I("+backend-open", "kind=mysql host=%s port=%d database=%s user=%s tls=%s", m->host,
              m->port, m->database, m->user,
              m->tls ? (m->tls_verify ? "verified" : "unverified") : "off");
    return 0;
}

static void my_close(struct be *b)
{
    my_free(my_of(b));
    b->conn = NULL;
}

static int my_reconnect(struct be *b, char *errmsg, size_t len)
{
    struct my *m = my_of(b);
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (m->conn != NULL)
        mysql_close(m->conn);
    m->conn = NULL;
    rc = my_connect(m, err, sizeof(err));
    ORC_LOG_W("+backend-reconnect", "host=%s port=%d result=%s%s%s", m->host, m->port,
              rc == 0 ? "ok" : "failed", rc == 0 ? "" : " error=", err);
    if (rc != 0)
        orc_errf(errmsg, len, "reconnect: %s", err);
    return rc;
}

/* ---- prepared statements ---- */

/* Binds the values; *out (freed by the caller after execution) holds the
 * MYSQL_BIND array the library reads from at execution time. */
static int my_bind_params(MYSQL_STMT *st,
                          const struct be_val *p,
                          size_t n,
                          MYSQL_BIND **out,
                          char *errmsg,
                          size_t len)
{
    MYSQL_BIND *bind;

    *out = NULL;
    if (n == 0)
        return 0;
    bind = calloc(n, sizeof(*bind));
    if (bind == NULL) {
        orc_errf(errmsg, len, "mysql: out of memory");
        return ORC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].type == BE_INT) {
            bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
            bind[i].buffer = (void *)&p[i].i;
        } else if (p[i].type == BE_REAL) {
            bind[i].buffer_type = MYSQL_TYPE_DOUBLE;
            bind[i].buffer = (void *)&p[i].d;
        } else if (p[i].type == BE_TEXT && p[i].s != NULL) {
            bind[i].buffer_type = MYSQL_TYPE_STRING;
            bind[i].buffer = (void *)p[i].s;
            bind[i].buffer_length = (unsigned long)strlen(p[i].s); /* length NULL: this */
        } else {
            bind[i].buffer_type = MYSQL_TYPE_NULL;
        }
    }
    *out = bind;
    return mysql_stmt_bind_param(st, bind) != 0 ? ORC_EDB : 0;
}

/* Prepares, binds, executes and stores the result set (if any). On failure
 * *stage says how far it got and the statement is closed. */
static int my_stmt_run(struct my *m,
                       const char *sql,
                       const struct be_val *p,
                       size_t n,
                       MYSQL_STMT **out,
                       enum my_stage *stage,
                       char *errmsg,
                       size_t len)
{
    MYSQL_STMT *st = mysql_stmt_init(m->conn);
    MYSQL_BIND *bind = NULL;
    int rc;

    *out = NULL;
    *stage = MY_PREPARE;
    if (st == NULL)
        return my_fail(m, mysql_errno(m->conn), mysql_error(m->conn), "init", sql, errmsg, len);
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0)
        goto fail;
    if (mysql_stmt_param_count(st) != n) {
        char ex[96];
        orc_errf(errmsg, len, "mysql: '%s': %lu placeholders for %zu values",
                 be_sql_excerpt(sql, ex, sizeof(ex)), mysql_stmt_param_count(st), n);
        m->last_errno = 0;
        mysql_stmt_close(st);
        return ORC_EINVAL;
    }
    rc = my_bind_params(st, p, n, &bind, errmsg, len);
    if (rc == ORC_ENOMEM) {
        mysql_stmt_close(st);
        return rc;
    }
    if (rc != 0)
        goto fail;
    *stage = MY_EXECUTE;
    if (mysql_stmt_execute(st) != 0)
        goto fail;
    if (mysql_stmt_field_count(st) > 0 && mysql_stmt_store_result(st) != 0)
        goto fail;
    free(bind);
    *out = st;
    return 0;
fail:
    rc = my_fail(m, mysql_stmt_errno(st), mysql_stmt_error(st),
                 *stage == MY_PREPARE ? "prepare" : "run", sql, errmsg, len);
    mysql_stmt_close(st);
    free(bind);
    return rc;
}

/* Runs a parameterless statement through the text protocol; *res (may be NULL)
 * gets its stored result set. */
static int my_text_run(struct my *m, const char *sql, MYSQL_RES **res, char *errmsg, size_t len)
{
    MYSQL_RES *r = NULL;

    if (res != NULL)
        *res = NULL;
    if (mysql_real_query(m->conn, sql, strlen(sql)) != 0)
        goto fail;
    if (mysql_field_count(m->conn) > 0) {
        r = mysql_store_result(m->conn);
        if (r == NULL)
            goto fail;
    }
    if (res != NULL)
        *res = r;
    else
        mysql_free_result(r);
    return 0;
fail:
    return my_fail(m, mysql_errno(m->conn), mysql_error(m->conn), "run", sql, errmsg, len);
}

/* True when sql has a '?' outside quotes: a parameterless call would send it
 * through the text protocol, where it is a syntax error, not a missing value. */
static bool has_placeholder(const char *sql)
{
    char quote = 0;

    for (; *sql != '\0'; sql++) {
        if (quote != 0) {
            if (*sql == '\\' && quote != '`' && sql[1] != '\0')
                sql++;
            else if (*sql == quote)
                quote = 0;
        } else if (*sql == '\'' || *sql == '"' || *sql == '`') {
            quote = *sql;
        } else if (*sql == '?') {
            return true;
        }
    }
    return false;
}

static int my_no_values(const char *sql, char *errmsg, size_t len)
{
    char ex[96];

    orc_errf(errmsg, len, "mysql: '%s': placeholders without values",
             be_sql_excerpt(sql, ex, sizeof(ex)));
    return ORC_EINVAL;
}

static int my_exec_once(struct my *m,
                        const char *sql,
                        const struct be_val *p,
                        size_t n,
                        int64_t *affected,
                        int64_t *last_id,
                        enum my_stage *stage,
                        char *errmsg,
                        size_t len)
{
    MYSQL_STMT *st;
    int rc;

    if (n == 0) {
        *stage = MY_EXECUTE;
        if (has_placeholder(sql))
            return my_no_values(sql, errmsg, len);
        rc = my_text_run(m, sql, NULL, errmsg, len);
        if (rc == 0 && affected != NULL)
            *affected = (int64_t)mysql_affected_rows(m->conn);
        if (rc == 0 && last_id != NULL)
            *last_id = (int64_t)mysql_insert_id(m->conn);
        return rc;
    }
    rc = my_stmt_run(m, sql, p, n, &st, stage, errmsg, len);
    if (rc != 0)
        return rc;
    if (affected != NULL)
        *affected = (int64_t)mysql_stmt_affected_rows(st);
    if (last_id != NULL)
        *last_id = (int64_t)mysql_stmt_insert_id(st);
    mysql_stmt_close(st);
    return 0;
}

/* After a failed call: decides whether to retry. Returns 1 to retry, or the
 * final result code. */
static int my_after_failure(struct be *b,
                            int rc,
                            bool retry_safe,
                            int attempt,
                            char *errmsg,
                            size_t len)
{
    struct my *m = my_of(b);

    if (!lost_errno(m->last_errno))
        return m->last_errno == 1205 || m->last_errno == 1213 ? ORC_ETIMEDOUT : rc;
    /* From here on the server, not the statement, failed: ORC_EIO. */
    if (b->txn_depth > 0) {
        b->txn_doomed = true;
        b->txn_lost = true;
        orc_errprefix(errmsg, len, "connection lost in a transaction");
        my_reconnect(b, NULL, 0);
        return ORC_EIO;
    }
    if (attempt > 0 || my_reconnect(b, NULL, 0) != 0)
        return ORC_EIO;
    if (!retry_safe) {
        orc_errprefix(errmsg, len, "connection lost; the statement may have run");
        return ORC_EIO;
    }
    return 1;
}

static int my_exec(struct be *b,
                   const char *sql,
                   const struct be_val *p,
                   size_t n,
                   int64_t *affected,
                   int64_t *last_id,
                   char *errmsg,
                   size_t len)
{
    for (int attempt = 0;; attempt++) {
        enum my_stage stage = MY_PREPARE;
        int rc;

        if (my_of(b)->conn == NULL && my_reconnect(b, errmsg, len) != 0)
            return ORC_EIO;
        rc = my_exec_once(my_of(b), sql, p, n, affected, last_id, &stage, errmsg, len);
        if (rc == 0)
            return 0;
        rc = my_after_failure(b, rc, stage == MY_PREPARE || n == 0, attempt, errmsg, len);
        if (rc != 1)
            return rc;
    }
}

/* ---- queries ---- */

struct my_cols {
    MYSQL_BIND *bind;
    unsigned long *lens;
    my_bool *nulls;
    my_bool *errs;
    char **bufs;
    unsigned long *caps;
    const char **vals;
    const char **names;
};

static void my_cols_free(struct my_cols *c, unsigned int ncols)
{
    for (unsigned int i = 0; c->bufs != NULL && i < ncols; i++)
        free(c->bufs[i]);
    free(c->bind);
    free(c->lens);
    free(c->nulls);
    free(c->errs);
    free(c->bufs);
    free(c->caps);
    free(c->vals);
    free(c->names);
}

static int my_cols_init(struct my_cols *c, MYSQL_RES *meta, unsigned int ncols)
{
    MYSQL_FIELD *f = mysql_fetch_fields(meta);

    memset(c, 0, sizeof(*c));
    c->bind = calloc(ncols, sizeof(*c->bind));
    c->lens = calloc(ncols, sizeof(*c->lens));
    c->nulls = calloc(ncols, sizeof(*c->nulls));
    c->errs = calloc(ncols, sizeof(*c->errs));
    c->bufs = calloc(ncols, sizeof(*c->bufs));
    c->caps = calloc(ncols, sizeof(*c->caps));
    c->vals = calloc(ncols + 1, sizeof(*c->vals));
    c->names = calloc(ncols + 1, sizeof(*c->names));
    if (!c->bind || !c->lens || !c->nulls || !c->errs || !c->bufs || !c->caps || !c->vals ||
        !c->names)
        return ORC_ENOMEM;
    for (unsigned int i = 0; i < ncols; i++) {
        c->caps[i] = MY_INITIAL_COL_BUF;
        c->bufs[i] = malloc(c->caps[i]);
        if (c->bufs[i] == NULL)
            return ORC_ENOMEM;
        c->names[i] = f[i].name;
        c->bind[i].buffer_type = MYSQL_TYPE_STRING;
        c->bind[i].buffer = c->bufs[i];
        c->bind[i].buffer_length = c->caps[i];
        c->bind[i].length = &c->lens[i];
        c->bind[i].is_null = &c->nulls[i];
        c->bind[i].error = &c->errs[i];
    }
    return 0;
}

/* Grows the buffers of the columns that did not fit and fetches them again. */
static int my_refetch_long(MYSQL_STMT *st, struct my_cols *c, unsigned int ncols, bool *rebind)
{
    for (unsigned int i = 0; i < ncols; i++) {
        char *nb;
        if (c->nulls[i] || c->lens[i] < c->caps[i])
            continue;
        nb = realloc(c->bufs[i], c->lens[i] + 1);
        if (nb == NULL)
            return ORC_ENOMEM;
        c->bufs[i] = nb;
        c->caps[i] = c->lens[i] + 1;
        c->bind[i].buffer = nb;
        c->bind[i].buffer_length = c->caps[i];
        if (mysql_stmt_fetch_column(st, &c->bind[i], i, 0) != 0)
            return ORC_EDB;
        *rebind = true;
    }
    return 0;
}

static int my_stmt_rows(struct my *m,
                        MYSQL_STMT *st,
                        const char *sql,
                        be_row_cb cb,
                        void *ctx,
                        char *errmsg,
                        size_t len)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    unsigned int ncols;
    struct my_cols c;
    int rc = 0, f;

    if (meta == NULL)
        return 0;
    ncols = mysql_num_fields(meta);
    if (my_cols_init(&c, meta, ncols) != 0 || mysql_stmt_bind_result(st, c.bind) != 0) {
        rc = ORC_ENOMEM;
        orc_errf(errmsg, len, "mysql: bind result: out of memory");
        goto out;
    }
    while ((f = mysql_stmt_fetch(st)) == 0 || f == MYSQL_DATA_TRUNCATED) {
        bool rebind = false;
        rc = my_refetch_long(st, &c, ncols, &rebind);
        if (rc != 0 || (rebind && mysql_stmt_bind_result(st, c.bind) != 0)) {
            rc = my_fail(m, mysql_stmt_errno(st), "fetch of a long value failed", "fetch", sql,
                         errmsg, len);
            goto out;
        }
        for (unsigned int i = 0; i < ncols; i++) {
            c.vals[i] = c.nulls[i] ? NULL : c.bufs[i];
            if (!c.nulls[i])
                c.bufs[i][c.lens[i]] = '\0';
        }
        rc = cb(ctx, (int)ncols, c.vals, c.names);
        if (rc != 0)
            goto out;
    }
    if (f != MYSQL_NO_DATA)
        rc = my_fail(m, mysql_stmt_errno(st), mysql_stmt_error(st), "fetch", sql, errmsg, len);
out:
    my_cols_free(&c, ncols);
    mysql_free_result(meta);
    return rc;
}

static int my_text_rows(MYSQL_RES *res, be_row_cb cb, void *ctx)
{
    unsigned int ncols = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    const char **names = calloc(ncols + 1, sizeof(*names));
    MYSQL_ROW row;
    int rc = 0;

    if (names == NULL)
        return ORC_ENOMEM;
    for (unsigned int i = 0; i < ncols; i++)
        names[i] = f[i].name;
    while (rc == 0 && (row = mysql_fetch_row(res)) != NULL)
        rc = cb(ctx, (int)ncols, (const char *const *)row, names);
    free(names);
    return rc;
}

static int my_query_once(struct my *m,
                         const char *sql,
                         const struct be_val *p,
                         size_t n,
                         be_row_cb cb,
                         void *ctx,
                         bool *ran,
                         char *errmsg,
                         size_t len)
{
    enum my_stage stage;
    MYSQL_STMT *st;
    MYSQL_RES *res;
    int rc;

    if (n == 0) {
        if (has_placeholder(sql))
            return my_no_values(sql, errmsg, len);
        rc = my_text_run(m, sql, &res, errmsg, len);
        if (rc != 0 || res == NULL)
            return rc;
        *ran = true;
        rc = my_text_rows(res, cb, ctx);
        if (rc == ORC_ENOMEM)
            orc_errf(errmsg, len, "mysql: out of memory");
        mysql_free_result(res);
        return rc;
    }
    rc = my_stmt_run(m, sql, p, n, &st, &stage, errmsg, len);
    if (rc != 0)
        return rc;
    *ran = true;
    rc = my_stmt_rows(m, st, sql, cb, ctx, errmsg, len);
    mysql_stmt_close(st);
    return rc;
}

static int my_query(struct be *b,
                    const char *sql,
                    const struct be_val *p,
                    size_t n,
                    be_row_cb cb,
                    void *ctx,
                    char *errmsg,
                    size_t len)
{
    for (int attempt = 0;; attempt++) {
        bool ran = false; /* rows reached the callback: never retry then */
        int rc;

        if (my_of(b)->conn == NULL && my_reconnect(b, errmsg, len) != 0)
            return ORC_EIO;
        my_of(b)->last_errno = 0;
        rc = my_query_once(my_of(b), sql, p, n, cb, ctx, &ran, errmsg, len);
        if (rc >= 0 || ran)
            return rc;
        rc = my_after_failure(b, rc, true, attempt, errmsg, len);
        if (rc != 1)
            return rc;
    }
}

static bool my_ddl_already_done(struct be *b)
{
    unsigned int e = my_of(b)->last_errno;

    return e == ER_TABLE_EXISTS_ERROR || e == ER_DUP_FIELDNAME || e == ER_DUP_KEYNAME ||
           e == ER_CANT_DROP_FIELD_OR_KEY;
}

const struct be_driver be_mysql_driver = {
    .name = "mysql",
    .dialect = BE_DIALECT_MYSQL,
    .sql_begin = "START TRANSACTION",
    .open = my_open,
    .close = my_close,
    .exec = my_exec,
    .query = my_query,
    .ddl_already_done = my_ddl_already_done,
};
