/*
 * backend internals, shared by be.c, the two dialect drivers (be_sqlite.c,
 * be_mysql.c), the schema and the typed helpers (dao_*.c). Not for use
 * outside backend/.
 */
#ifndef ORC_BACKEND_BE_INT_H
#define ORC_BACKEND_BE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/be.h"

enum be_dialect { BE_DIALECT_SQLITE, BE_DIALECT_MYSQL };

/* A dialect driver. Every function is called with b->mu held. */
struct be_driver {
    const char *name;
    enum be_dialect dialect;
    const char *sql_begin; /* statement that starts a transaction */
    int (*open)(struct be *b, const struct be_options *o, char *errmsg, size_t len);
    void (*close)(struct be *b);
    /* One statement; affected and last_id may be NULL. */
    int (*exec)(struct be *b,
                const char *sql,
                const struct be_val *p,
                size_t n,
                int64_t *affected,
                int64_t *last_id,
                char *errmsg,
                size_t len);
    int (*query)(struct be *b,
                 const char *sql,
                 const struct be_val *p,
                 size_t n,
                 be_row_cb cb,
                 void *ctx,
                 char *errmsg,
                 size_t len);
    /* True when the last failed DDL statement failed only because what it
     * creates exists already (a migration step cut short and run again). */
    bool (*ddl_already_done)(struct be *b);
};

struct be {
    const struct be_driver *drv;
    void *conn;         /* driver state; guarded by mu */
    pthread_mutex_t mu; /* recursive: serializes calls; held across a transaction */
    int txn_depth;      /* guarded by mu */
    bool txn_doomed;    /* an inner rollback or a lost connection: the outer commit fails */
    bool txn_lost;      /* ... because the connection was lost: it fails with ORC_EIO */
    uint64_t transient; /* calls that failed because the backend did (guarded by mu) */
};

extern const struct be_driver be_sqlite_driver;
extern const struct be_driver be_mysql_driver;

void be_lock(struct be *b);
void be_unlock(struct be *b);

/* "INSERT IGNORE" or "INSERT OR IGNORE". */
const char *be_sql_insert_ignore(const struct be *b);
/* Identifiers built into SQL text must be plain: [A-Za-z0-9_], 1..64 chars. */
bool be_ident_ok(const char *s);
/* Short, single-line excerpt of a statement for error messages. */
const char *be_sql_excerpt(const char *sql, char *buf, size_t len);

/* ---- collecting rows into a growing array ---- */
struct be_vec {
    void *v;
    size_t n;
    size_t cap;
};
/* Fills one zeroed item from a row; returns 0 or ORC_ENOMEM. */
typedef int (*be_fill_fn)(void *item, int ncols, const char *const *vals);
typedef void (*be_release_fn)(void *item);
/* Runs the query and appends one item (of elsize bytes) per row to vec. On
 * error every item collected is released and vec is emptied. */
int be_collect(struct be *b,
               const char *sql,
               const struct be_val *p,
               size_t n,
               struct be_vec *vec,
               size_t elsize,
               be_fill_fn fill,
               be_release_fn release,
               char *errmsg,
               size_t len);
/* Reads one int64 from the first column of the first row; ORC_ENOTFOUND if no
 * row. A NULL value reads as 0. */
int be_query_int(struct be *b,
                 const char *sql,
                 const struct be_val *p,
                 size_t n,
                 int64_t *out,
                 char *errmsg,
                 size_t len);
/* Reads one text from the first column of the first row (caller frees). */
int be_query_str(struct be *b,
                 const char *sql,
                 const struct be_val *p,
                 size_t n,
                 char **out,
                 char *errmsg,
                 size_t len);

/* Runs an INSERT whose first placeholder is the table's id column (p[0] is
 * overwritten) with MAX(idcol) + 1: the same on every node that applies the
 * same commands in the same order, which an auto-increment counter is not
 * (ignored inserts, rolled-back transactions and restored snapshots move it
 * differently per node). *id: the new id, or 0 when the insert was ignored.
 * Meant for the FSM's single writer, inside its transaction. */
int be_insert_next_id(struct be *b,
                      const char *table,
                      const char *idcol,
                      const char *sql,
                      struct be_val *p,
                      size_t n,
                      int64_t *id,
                      char *errmsg,
                      size_t len);

/* ---- reading text columns ---- */
int64_t be_col_i64(const char *v); /* 0 for NULL or not a number */
/* *dst = copy of v ("" for NULL); ORC_ENOMEM. */
int be_col_str(const char **dst, const char *v);
/* Fills k from host and port columns (empty key for NULL host). */
void be_col_key(struct orc_key *k, const char *host, const char *port);
/* Frees a string owned by a backend struct and clears the field. */
void be_str_free(const char **s);
/* Text of a borrowed string, "" for NULL. */
static inline const char *be_s(const char *s)
{
    return s != NULL ? s : "";
}

/* Defines fn(struct listtype *) that releases each item and the array. */
#define BE_DEFINE_LIST_FREE(fn, listtype, release) \
    void fn(struct listtype *l)                    \
    {                                              \
        if (l == NULL)                             \
            return;                                \
        for (size_t i_ = 0; i_ < l->n; i_++)       \
            release(&l->v[i_]);                    \
        free(l->v);                                \
        l->v = NULL;                               \
        l->n = 0;                                  \
        l->cap = 0;                                \
    }

/* Moves a collected vector into a typed list. */
#define BE_VEC_TO_LIST(vec, list) \
    do {                          \
        (list)->v = (vec).v;      \
        (list)->n = (vec).n;      \
        (list)->cap = (vec).cap;  \
    } while (0)

#endif
