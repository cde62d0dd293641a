/*
 * backend core: opening a store of either dialect, the lock that serializes
 * every call, nested transactions, and the batched upsert. The dialect
 * drivers (be_sqlite.c, be_mysql.c) do the talking to the database.
 */
#include "backend/be_int.h"

#include <stdlib.h>
#include <string.h>

/* Placeholders per statement: under SQLite's 32766 and MySQL's 65535. */
#define BE_MAX_PARAMS 30000
/* Rows per multi-row INSERT. */
#define BE_MAX_ROWS 500

static const struct be_driver *driver_for(const char *kind)
{
    if (kind == NULL || *kind == '\0' || strcmp(kind, "sqlite") == 0 ||
        strcmp(kind, "sqlite3") == 0)
        return &be_sqlite_driver;
    if (strcmp(kind, "mysql") == 0)
        return &be_mysql_driver;
    return NULL;
}

int be_open(const struct be_options *o, struct be **out, char *errmsg, size_t len)
{
    const struct be_driver *drv;
    pthread_mutexattr_t attr;
    struct be *b;
    int rc;

    *out = NULL;
    drv = driver_for(o->kind);
    if (drv == NULL) {
        orc_errf(errmsg, len, "unknown backend kind '%s'", o->kind);
        return ORC_EINVAL;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        orc_errf(errmsg, len, "open backend: out of memory");
        return ORC_ENOMEM;
    }
    b->drv = drv;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&b->mu, &attr);
    pthread_mutexattr_destroy(&attr);
    rc = drv->open(b, o, errmsg, len);
    if (rc != 0) {
        orc_errprefix(errmsg, len, "open %s backend", drv->name);
        pthread_mutex_destroy(&b->mu);
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void be_close(struct be *b)
{
    int held;

    if (b == NULL)
        return;
    be_lock(b);
    held = b->txn_depth;
    if (held > 0)
        b->drv->exec(b, "ROLLBACK", NULL, 0, NULL, NULL, NULL, 0);
    b->txn_depth = 0;
    b->drv->close(b);
    for (int i = 0; i <= held; i++)
        be_unlock(b);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

const char *be_kind(const struct be *b)
{
    return b->drv->name;
}

void be_lock(struct be *b)
{
    pthread_mutex_lock(&b->mu);
}

void be_unlock(struct be *b)
{
    pthread_mutex_unlock(&b->mu);
}

static int check_params(const char *sql, const struct be_val *p, size_t n, char *errmsg, size_t len)
{
    if (sql == NULL || (n > 0 && p == NULL)) {
        orc_errf(errmsg, len, "bad statement arguments");
        return ORC_EINVAL;
    }
    return 0;
}

/* Counts a failure of the backend itself (lock held). */
static int note(struct be *b, int rc)
{
    if (rc == ORC_EIO || rc == ORC_ETIMEDOUT || rc == ORC_ENOMEM)
        b->transient++;
    return rc;
}

uint64_t be_transient_failures(struct be *b)
{
    uint64_t n;

    be_lock(b);
    n = b->transient;
    be_unlock(b);
    return n;
}

int be_exec(struct be *b,
            const char *sql,
            const struct be_val *params,
            size_t n,
            int64_t *affected,
            char *errmsg,
            size_t len)
{
    int rc = check_params(sql, params, n, errmsg, len);

    if (rc != 0)
        return rc;
    be_lock(b);
    rc = note(b, b->drv->exec(b, sql, params, n, affected, NULL, errmsg, len));
    be_unlock(b);
    return rc;
}

int be_insert(struct be *b,
              const char *sql,
              const struct be_val *params,
              size_t n,
              int64_t *id,
              char *errmsg,
              size_t len)
{
    int rc = check_params(sql, params, n, errmsg, len);

    if (rc != 0)
        return rc;
    be_lock(b);
    rc = note(b, b->drv->exec(b, sql, params, n, NULL, id, errmsg, len));
    be_unlock(b);
    return rc;
}

int be_query(struct be *b,
             const char *sql,
             const struct be_val *params,
             size_t n,
             be_row_cb cb,
             void *ctx,
             char *errmsg,
             size_t len)
{
    int rc = check_params(sql, params, n, errmsg, len);

    if (rc != 0)
        return rc;
    be_lock(b);
    rc = note(b, b->drv->query(b, sql, params, n, cb, ctx, errmsg, len));
    be_unlock(b);
    return rc;
}

/* ---- transactions: the lock taken in be_begin is released by the matching
 * be_commit / be_rollback (each of which also takes it once to look). ---- */

int be_begin(struct be *b, char *errmsg, size_t len)
{
    int rc;

    be_lock(b);
    if (b->txn_depth > 0) {
        b->txn_depth++;
        return 0;
    }
    rc = note(b, b->drv->exec(b, b->drv->sql_begin, NULL, 0, NULL, NULL, errmsg, len));
    if (rc != 0) {
        orc_errprefix(errmsg, len, "begin");
        be_unlock(b);
        return rc;
    }
    b->txn_depth = 1;
    b->txn_doomed = false;
    b->txn_lost = false;
    return 0;
}

static int txn_end(struct be *b, bool commit, char *errmsg, size_t len)
{
    int rc = 0;

    be_lock(b);
    if (b->txn_depth == 0) {
        be_unlock(b);
        orc_errf(errmsg, len, "%s without a transaction", commit ? "commit" : "rollback");
        return ORC_ESTATE;
    }
    if (b->txn_depth > 1) {
        b->txn_depth--;
        if (!commit)
            b->txn_doomed = true;
    } else {
        if (commit && b->txn_doomed) {
            b->drv->exec(b, "ROLLBACK", NULL, 0, NULL, NULL, NULL, 0);
            orc_errf(errmsg, len, "commit: transaction was rolled back%s",
                     b->txn_lost ? " (connection lost)" : "");
            rc = note(b, b->txn_lost ? ORC_EIO : ORC_EDB);
        } else if (commit) {
            rc = note(b, b->drv->exec(b, "COMMIT", NULL, 0, NULL, NULL, errmsg, len));
            if (rc != 0) {
                orc_errprefix(errmsg, len, "commit");
                b->drv->exec(b, "ROLLBACK", NULL, 0, NULL, NULL, NULL, 0);
            }
        } else {
            rc = b->drv->exec(b, "ROLLBACK", NULL, 0, NULL, NULL, errmsg, len);
            if (rc != 0)
                orc_errprefix(errmsg, len, "rollback");
        }
        b->txn_depth = 0;
        b->txn_doomed = false;
        b->txn_lost = false;
    }
    be_unlock(b); /* the look */
    be_unlock(b); /* the transaction's */
    return rc;
}

int be_commit(struct be *b, char *errmsg, size_t len)
{
    return txn_end(b, true, errmsg, len);
}

int be_rollback(struct be *b, char *errmsg, size_t len)
{
    return txn_end(b, false, errmsg, len);
}

/* ---- batched upsert ---- */

static int build_upsert(struct orc_buf *sql,
                        enum be_dialect d,
                        const char *table,
                        const char *const *cols,
                        size_t ncols,
                        size_t nkey,
                        size_t nrows)
{
    int rc = orc_buf_printf(sql, "INSERT INTO `%s` (", table);

    for (size_t c = 0; rc == 0 && c < ncols; c++)
        rc = orc_buf_printf(sql, "%s`%s`", c ? ", " : "", cols[c]);
    rc = rc ? rc : orc_buf_puts(sql, ") VALUES ");
    for (size_t r = 0; rc == 0 && r < nrows; r++) {
        rc = orc_buf_puts(sql, r ? ", (" : "(");
        for (size_t c = 0; rc == 0 && c < ncols; c++)
            rc = orc_buf_puts(sql, c ? ", ?" : "?");
        rc = rc ? rc : orc_buf_putc(sql, ')');
    }
    if (rc != 0)
        return rc;
    if (d == BE_DIALECT_SQLITE) {
        rc = orc_buf_puts(sql, " ON CONFLICT (");
        for (size_t c = 0; rc == 0 && c < nkey; c++)
            rc = orc_buf_printf(sql, "%s`%s`", c ? ", " : "", cols[c]);
        if (rc == 0 && nkey == ncols)
            return orc_buf_puts(sql, ") DO NOTHING");
        rc = rc ? rc : orc_buf_puts(sql, ") DO UPDATE SET ");
        for (size_t c = nkey; rc == 0 && c < ncols; c++)
            rc = orc_buf_printf(sql, "%s`%s` = excluded.`%s`", c > nkey ? ", " : "", cols[c],
                                cols[c]);
        return rc;
    }
    rc = orc_buf_puts(sql, " ON DUPLICATE KEY UPDATE ");
    if (rc == 0 && nkey == ncols)
        return orc_buf_printf(sql, "`%s` = `%s`", cols[0], cols[0]);
    for (size_t c = nkey; rc == 0 && c < ncols; c++)
        rc = orc_buf_printf(sql, "%s`%s` = VALUES(`%s`)", c > nkey ? ", " : "", cols[c], cols[c]);
    return rc;
}

static int check_upsert(const char *table,
                        const char *const *cols,
                        size_t ncols,
                        size_t nkey,
                        const struct be_val *rows,
                        size_t nrows,
                        char *errmsg,
                        size_t len)
{
    if (!be_ident_ok(table) || cols == NULL || ncols == 0 || nkey == 0 || nkey > ncols ||
        ncols > BE_MAX_PARAMS || (nrows > 0 && rows == NULL)) {
        orc_errf(errmsg, len, "upsert: bad arguments");
        return ORC_EINVAL;
    }
    for (size_t c = 0; c < ncols; c++) {
        if (!be_ident_ok(cols[c])) {
            orc_errf(errmsg, len, "upsert: bad column name");
            return ORC_EINVAL;
        }
    }
    return 0;
}

int be_upsert(struct be *b,
              const char *table,
              const char *const *cols,
              size_t ncols,
              size_t nkey,
              const struct be_val *rows,
              size_t nrows,
              char *errmsg,
              size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    size_t per, built = 0;
    int rc;

    rc = check_upsert(table, cols, ncols, nkey, rows, nrows, errmsg, len);
    if (rc != 0 || nrows == 0)
        return rc;
    per = BE_MAX_PARAMS / ncols;
    if (per > BE_MAX_ROWS)
        per = BE_MAX_ROWS;
    rc = be_begin(b, errmsg, len);
    if (rc != 0)
        goto out;
    for (size_t start = 0; start < nrows && rc == 0; start += per) {
        size_t k = nrows - start < per ? nrows - start : per;
        if (k != built) {
            orc_buf_reset(&sql);
            rc = build_upsert(&sql, b->drv->dialect, table, cols, ncols, nkey, k);
            if (rc != 0) {
                orc_errf(errmsg, len, "out of memory");
                break;
            }
            built = k;
        }
        rc = be_exec(b, orc_buf_str(&sql), rows + start * ncols, k * ncols, NULL, errmsg, len);
    }
    if (rc == 0)
        rc = be_commit(b, errmsg, len);
    else
        be_rollback(b, NULL, 0);
out:
    if (rc != 0)
        orc_errprefix(errmsg, len, "upsert into '%s'", table);
    orc_buf_release(&sql);
    return rc;
}
