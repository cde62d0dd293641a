/*
 * backend driver for SQLite: one connection in WAL mode with a busy timeout
 * and synchronous=NORMAL. Statements are prepared and bound, never built
 * with values. Called with the backend's lock held (see be_int.h).
 */
#include "backend/be_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SQ_BUSY_TIMEOUT_MS 5000

/* Prepared statements kept for reuse, by their text: the writer's upserts,
 * the FSM's statements and the API's queries are the same few texts over
 * and over, and preparing one (parsing and planning) cost more than running
 * it (a tenth of the service's CPU at 20,000 instances). A statement in use
 * (a query whose callback runs another statement) is never handed out
 * twice: the second user gets a statement of its own. */
#define SQ_CACHE 32

struct sq_cached {
    char *sql; /* NULL: free slot */
    uint64_t hash;
    sqlite3_stmt *st;
    uint64_t used; /* tick of the last use, for eviction */
    bool busy;
};

struct sq {
    sqlite3 *db;
    char last_error[256]; /* of the last failed statement, for ddl_already_done */
    struct sq_cached cache[SQ_CACHE];
    uint64_t tick;
};

static struct sq *sq_of(struct be *b)
{
    return b->conn;
}

static int sq_fail(struct sq *s,
                   int code,
                   const char *what,
                   const char *sql,
                   char *errmsg,
                   size_t len)
{
    char ex[96];

    orc_strlcpy(s->last_error, sqlite3_errmsg(s->db), sizeof(s->last_error));
    orc_errf(errmsg, len, "sqlite: %s '%s': %s", what, be_sql_excerpt(sql, ex, sizeof(ex)),
             s->last_error);
    code &= 0xff; /* the primary code of an extended one */
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return ORC_ETIMEDOUT;
    /* the file or the machine failed, not the statement */
    if (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN ||
        code == SQLITE_NOMEM || code == SQLITE_READONLY || code == SQLITE_CORRUPT)
        return ORC_EIO;
    return ORC_EDB;
}

static int sq_pragma(struct sq *s, const char *sql, char *errmsg, size_t len)
{
    char *err = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        orc_errf(errmsg, len, "sqlite: '%s': %s", sql, err != NULL ? err : "failed");
        sqlite3_free(err);
        return ORC_EDB;
    }
    return 0;
}

/* The store holds the topology, audit and recovery history: owner only.
 * The file is created 0600 before SQLite opens it (SQLite gives its -wal and
 * -shm files the mode of the database file); files left by an older run are
 * tightened too. */
static void sq_private(const char *path, bool before)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[4096];
    int fd;

    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return;
    if (before) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
        return;
    }
    for (size_t i = 0; i < ORC_ARRAY_LEN(suffix); i++) {
        if (snprintf(p, sizeof(p), "%s%s", path, suffix[i]) >= (int)sizeof(p))
            return;
        if (chmod(p, 0600) != 0 && errno != ENOENT)
            ORC_LOG_W("+backend-file-mode", "file=%s error=\"%s\"", p, strerror(errno));
    }
}

static int sq_open(struct be *b, const struct be_options *o, char *errmsg, size_t len)
{
    struct sq *s;
    int rc;

    if (o->sqlite_path == NULL || *o->sqlite_path == '\0') {
        orc_errf(errmsg, len, "no SQLite file given (SQLite3DataFile)");
        return ORC_ECONFIG;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        orc_errf(errmsg, len, "out of memory");
        return ORC_ENOMEM;
    }
    sq_private(o->sqlite_path, true);
    rc = sqlite3_open_v2(o->sqlite_path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        orc_errf(errmsg, len, "sqlite: open '%s': %s", o->sqlite_path,
                 s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
    if (sq_pragma(s, "PRAGMA journal_mode=WAL", errmsg, len) != 0 ||
        sq_pragma(s, "PRAGMA synchronous=NORMAL", errmsg, len) != 0 ||
        sq_pragma(s, "PRAGMA foreign_keys=OFF", errmsg, len) != 0)
        goto fail;
    sq_private(o->sqlite_path, false);
    b->conn = s;
    ORC_LOG_I("+backend-open", "kind=sqlite path=%s", o->sqlite_path);
    return 0;
fail:
    sqlite3_close(s->db);
    free(s);
    return ORC_EDB;
}

static void sq_close(struct be *b)
{
    struct sq *s = sq_of(b);

    if (s == NULL)
        return;
    for (size_t i = 0; i < SQ_CACHE; i++) {
        sqlite3_finalize(s->cache[i].st);
        free(s->cache[i].sql);
    }
    sqlite3_close_v2(s->db);
    free(s);
    b->conn = NULL;
}

static int sq_bind(sqlite3_stmt *st, const struct be_val *p, size_t n)
{
    int rc = SQLITE_OK;

    for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
        int at = (int)i + 1;
        switch (p[i].type) {
            case BE_INT:
                rc = sqlite3_bind_int64(st, at, p[i].i);
                break;
            case BE_REAL:
                rc = sqlite3_bind_double(st, at, p[i].d);
                break;
            case BE_TEXT:
                rc = p[i].s != NULL ? sqlite3_bind_text(st, at, p[i].s, -1, SQLITE_STATIC)
                                    : sqlite3_bind_null(st, at);
                break;
            case BE_NULL:
            default:
                rc = sqlite3_bind_null(st, at);
                break;
        }
    }
    return rc;
}

static bool only_blank(const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r' && *s != ';')
            return false;
    }
    return true;
}

/* Done with a statement from sq_prepare: a kept one is reset (which also
 * ends its read of the database) for the next user, another finalized. */
static void sq_release(struct sq *s, sqlite3_stmt *st, int slot)
{
    if (slot < 0) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    s->cache[slot].busy = false;
}

/* A kept statement for sql not in use, or -1. */
static int sq_cache_find(struct sq *s, const char *sql, uint64_t h)
{
    for (int i = 0; i < SQ_CACHE; i++)
        if (s->cache[i].sql != NULL && s->cache[i].hash == h && !s->cache[i].busy &&
            strcmp(s->cache[i].sql, sql) == 0)
            return i;
    return -1;
}

/* Keeps st in a free slot or in place of the least recently used idle one;
 * -1 (st not kept) when every slot is in use or out of memory. */
static int sq_cache_put(struct sq *s, const char *sql, uint64_t h, sqlite3_stmt *st)
{
    int victim = -1;
    char *copy;

    for (int i = 0; i < SQ_CACHE; i++) {
        if (s->cache[i].busy)
            continue;
        if (s->cache[i].sql == NULL) {
            victim = i;
            break;
        }
        if (victim < 0 || s->cache[i].used < s->cache[victim].used)
            victim = i;
    }
    if (victim < 0 || (copy = strdup(sql)) == NULL)
        return -1;
    sqlite3_finalize(s->cache[victim].st);
    free(s->cache[victim].sql);
    s->cache[victim] = (struct sq_cached){copy, h, st, 0, false};
    return victim;
}

/* A statement for sql with p bound, kept for reuse where possible; *slot
 * tells sq_release which. */
static int sq_prepare(struct sq *s,
                      const char *sql,
                      const struct be_val *p,
                      size_t n,
                      sqlite3_stmt **out,
                      int *slot,
                      char *errmsg,
                      size_t len)
{
    uint64_t h = orc_fnv1a_str(ORC_FNV1A_INIT, sql);
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    char ex[96];
    int rc, i;

    *out = NULL;
    i = sq_cache_find(s, sql, h);
    if (i >= 0) {
        st = s->cache[i].st;
    } else {
        rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail);
        if (rc != SQLITE_OK)
            return sq_fail(s, rc, "prepare", sql, errmsg, len);
        if (st == NULL || !only_blank(tail) || sqlite3_bind_parameter_count(st) != (int)n) {
            orc_errf(errmsg, len, "sqlite: '%s': need one statement with %zu placeholders",
                     be_sql_excerpt(sql, ex, sizeof(ex)), n);
            sqlite3_finalize(st);
            return ORC_EINVAL;
        }
        i = sq_cache_put(s, sql, h, st);
    }
    if (i >= 0) {
        s->cache[i].busy = true;
        s->cache[i].used = ++s->tick;
    }
    if (sqlite3_bind_parameter_count(st) != (int)n) {
        orc_errf(errmsg, len, "sqlite: '%s': need one statement with %zu placeholders",
                 be_sql_excerpt(sql, ex, sizeof(ex)), n);
        sq_release(s, st, i);
        return ORC_EINVAL;
    }
    rc = sq_bind(st, p, n);
    if (rc != SQLITE_OK) {
        rc = sq_fail(s, rc, "bind", sql, errmsg, len);
        sq_release(s, st, i);
        return rc;
    }
    *out = st;
    *slot = i;
    return 0;
}

static int sq_exec(struct be *b,
                   const char *sql,
                   const struct be_val *p,
                   size_t n,
                   int64_t *affected,
                   int64_t *last_id,
                   char *errmsg,
                   size_t len)
{
    struct sq *s = sq_of(b);
    sqlite3_stmt *st;
    int rc, step, slot;

    rc = sq_prepare(s, sql, p, n, &st, &slot, errmsg, len);
    if (rc != 0)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (step != SQLITE_DONE) {
        rc = sq_fail(s, step, "run", sql, errmsg, len);
    } else {
        int64_t ch = sqlite3_changes64(s->db);
        if (affected != NULL)
            *affected = ch;
        if (last_id != NULL)
            *last_id = ch > 0 ? sqlite3_last_insert_rowid(s->db) : 0;
    }
    sq_release(s, st, slot);
    return rc;
}

static int sq_query(struct be *b,
                    const char *sql,
                    const struct be_val *p,
                    size_t n,
                    be_row_cb cb,
                    void *ctx,
                    char *errmsg,
                    size_t len)
{
    struct sq *s = sq_of(b);
    const char **vals = NULL, **names = NULL;
    sqlite3_stmt *st;
    bool named = false;
    int rc, step, ncols, slot;

    rc = sq_prepare(s, sql, p, n, &st, &slot, errmsg, len);
    if (rc != 0)
        return rc;
    ncols = sqlite3_column_count(st);
    vals = calloc((size_t)ncols + 1, sizeof(*vals));
    names = calloc((size_t)ncols + 1, sizeof(*names));
    if (vals == NULL || names == NULL) {
        orc_errf(errmsg, len, "sqlite: out of memory");
        rc = ORC_ENOMEM;
        goto out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        /* names only after a step: the first step may re-prepare the statement */
        for (int c = 0; c < ncols && !named; c++)
            names[c] = sqlite3_column_name(st, c);
        named = true;
        for (int c = 0; c < ncols; c++) {
            vals[c] = sqlite3_column_type(st, c) == SQLITE_NULL
                          ? NULL
                          : (const char *)sqlite3_column_text(st, c);
        }
        rc = cb(ctx, ncols, vals, names);
        if (rc != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = sq_fail(s, step, "run", sql, errmsg, len);
out:
    free(vals);
    free(names);
    sq_release(s, st, slot);
    return rc;
}

static bool sq_ddl_already_done(struct be *b)
{
    const char *e = sq_of(b)->last_error;

    return strstr(e, "already exists") != NULL || strstr(e, "duplicate column name") != NULL;
}

const struct be_driver be_sqlite_driver = {
    .name = "sqlite",
    .dialect = BE_DIALECT_SQLITE,
    .sql_begin = "BEGIN IMMEDIATE",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .query = sq_query,
    .ddl_already_done = sq_ddl_already_done,
};
