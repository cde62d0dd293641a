/*
 * backend helpers shared by the typed helpers: collecting rows into arrays,
 * reading single values, decoding text columns, small SQL text utilities.
 */
#include "backend/be_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *be_sql_insert_ignore(const struct be *b)
{
    return b->drv->dialect == BE_DIALECT_MYSQL ? "INSERT IGNORE" : "INSERT OR IGNORE";
}

bool be_ident_ok(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return false;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return n > 0 && n <= 64;
}

const char *be_sql_excerpt(const char *sql, char *buf, size_t len)
{
    size_t i = 0;

    if (len == 0)
        return "";
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    for (; sql[i] != '\0' && i + 1 < len; i++)
        buf[i] = (sql[i] == '\n' || sql[i] == '\t') ? ' ' : sql[i];
    buf[i] = '\0';
    if (sql[i] != '\0' && len > 4)
        memcpy(buf + len - 4, "...", 4);
    return buf;
}

/* ---- collecting rows ---- */

struct collect_ctx {
    struct be_vec *vec;
    size_t elsize;
    be_fill_fn fill;
    int rc;
};

static int collect_row(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    struct collect_ctx *c = ctx;
    struct be_vec *v = c->vec;
    char *item;

    (void)names;
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16;
        void *nv = realloc(v->v, ncap * c->elsize);
        if (nv == NULL)
            goto nomem;
        v->v = nv;
        v->cap = ncap;
    }
    item = (char *)v->v + v->n * c->elsize;
    memset(item, 0, c->elsize);
    v->n++; /* counted first so that a half-filled item is released too */
    if (c->fill(item, ncols, vals) != 0)
        goto nomem;
    return 0;
nomem:
    c->rc = ORC_ENOMEM;
    return 1;
}

int be_collect(struct be *b,
               const char *sql,
               const struct be_val *p,
               size_t n,
               struct be_vec *vec,
               size_t elsize,
               be_fill_fn fill,
               be_release_fn release,
               char *errmsg,
               size_t len)
{
    struct collect_ctx c = {vec, elsize, fill, 0};
    int rc;

    vec->v = NULL;
    vec->n = 0;
    vec->cap = 0;
    rc = be_query(b, sql, p, n, collect_row, &c, errmsg, len);
    if (rc > 0) {
        rc = c.rc;
        orc_errf(errmsg, len, "out of memory");
    }
    if (rc != 0) {
        for (size_t i = 0; i < vec->n; i++)
            release((char *)vec->v + i * elsize);
        free(vec->v);
        vec->v = NULL;
        vec->n = 0;
        vec->cap = 0;
    }
    return rc;
}

struct one_ctx {
    bool found;
    int64_t i;
    char *s;
    bool want_str;
};

static int one_row(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    struct one_ctx *c = ctx;

    (void)names;
    if (ncols < 1)
        return 0;
    c->found = true;
    if (!c->want_str) {
        c->i = be_col_i64(vals[0]);
        return 1;
    }
    c->s = strdup(vals[0] != NULL ? vals[0] : "");
    return c->s == NULL ? 2 : 1;
}

int be_query_int(struct be *b,
                 const char *sql,
                 const struct be_val *p,
                 size_t n,
                 int64_t *out,
                 char *errmsg,
                 size_t len)
{
    struct one_ctx c = {false, 0, NULL, false};
    int rc = be_query(b, sql, p, n, one_row, &c, errmsg, len);

    if (rc < 0)
        return rc;
    if (!c.found) {
        orc_errf(errmsg, len, "no row");
        return ORC_ENOTFOUND;
    }
    *out = c.i;
    return 0;
}

int be_query_str(struct be *b,
                 const char *sql,
                 const struct be_val *p,
                 size_t n,
                 char **out,
                 char *errmsg,
                 size_t len)
{
    struct one_ctx c = {false, 0, NULL, true};
    int rc = be_query(b, sql, p, n, one_row, &c, errmsg, len);

    *out = NULL;
    if (rc < 0)
        return rc;
    if (rc == 2) {
        orc_errf(errmsg, len, "out of memory");
        return ORC_ENOMEM;
    }
    if (!c.found) {
        orc_errf(errmsg, len, "no row");
        return ORC_ENOTFOUND;
    }
    *out = c.s;
    return 0;
}

int be_insert_next_id(struct be *b,
                      const char *table,
                      const char *idcol,
                      const char *sql,
                      struct be_val *p,
                      size_t n,
                      int64_t *id,
                      char *errmsg,
                      size_t len)
{
    char q[192];
    int64_t max = 0, affected = 0;
    int rc;

    *id = 0;
    if (!be_ident_ok(table) || !be_ident_ok(idcol) || n == 0) {
        orc_errf(errmsg, len, "bad table or column name");
        return ORC_EINVAL;
    }
    snprintf(q, sizeof(q), "SELECT COALESCE(MAX(%s), 0) FROM %s", idcol, table);
    rc = be_query_int(b, q, NULL, 0, &max, errmsg, len);
    if (rc != 0)
        return rc;
    p[0] = BE_VINT(max + 1);
    rc = be_exec(b, sql, p, n, &affected, errmsg, len);
    if (rc == 0 && affected > 0)
        *id = max + 1;
    return rc;
}

int be_insert_ignore(struct be *b,
                     const char *table,
                     const char *const *cols,
                     size_t ncols,
                     const struct be_val *vals,
                     bool *inserted,
                     char *errmsg,
                     size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    int64_t affected = 0;
    int rc = be_ident_ok(table) && ncols > 0 ? 0 : ORC_EINVAL;

    for (size_t i = 0; rc == 0 && i < ncols; i++)
        rc = be_ident_ok(cols[i]) ? 0 : ORC_EINVAL;
    if (rc != 0) {
        orc_errf(errmsg, len, "insert: bad table or column name");
        return rc;
    }
    orc_buf_printf(&sql, "%s INTO %s (", be_sql_insert_ignore(b), table);
    for (size_t i = 0; i < ncols; i++)
        orc_buf_printf(&sql, "%s%s", i ? ", " : "", cols[i]);
    orc_buf_puts(&sql, ") VALUES (");
    for (size_t i = 0; i < ncols; i++)
        orc_buf_puts(&sql, i ? ", ?" : "?");
    rc = orc_buf_puts(&sql, ")");
    if (rc == 0)
        rc = be_exec(b, orc_buf_str(&sql), vals, ncols, &affected, errmsg, len);
    orc_buf_release(&sql);
    if (inserted != NULL)
        *inserted = rc == 0 && affected > 0;
    return rc;
}

/* ---- columns ---- */

int64_t be_col_i64(const char *v)
{
    int64_t x = 0;

    if (v == NULL || orc_parse_int64(v, INT64_MIN, INT64_MAX, &x) != 0)
        return 0;
    return x;
}

int be_col_str(const char **dst, const char *v)
{
    char *s = strdup(v != NULL ? v : "");

    *dst = s;
    return s != NULL ? 0 : ORC_ENOMEM;
}

void be_col_key(struct orc_key *k, const char *host, const char *port)
{
    memset(k, 0, sizeof(*k));
    if (host != NULL)
        orc_strlcpy(k->host, host, sizeof(k->host));
    k->port = (int)be_col_i64(port);
}

void be_str_free(const char **s)
{
    free((void *)*s);
    *s = NULL;
}
