/*
 * sql: answers the statements a topology manager sends, per flavor, from
 * the model: SELECT @@... lists, SHOW SLAVE/REPLICA STATUS, SHOW SLAVE
 * HOSTS / SHOW REPLICAS, SHOW MASTER STATUS / SHOW BINARY LOG STATUS, SHOW
 * BINARY LOGS, SHOW GLOBAL STATUS/VARIABLES (LIKE or WHERE ... IN), the
 * processlist, GTID waits; and applies what a failover sends (STOP/START
 * SLAVE, CHANGE MASTER TO, RESET SLAVE ALL, SET GLOBAL read_only). Other
 * information_schema/performance_schema selects are empty sets; statements
 * a flavor does not have are syntax errors, as on the real server.
 */
#include "tests/fleet/fleet.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/fleet/sql_int.h"

/* ---- a result table: values kept in an arena ---- */

void tab_val(struct tab *t, const char *v)
{
    if (t->noffs == t->capoffs) {
        size_t cap = t->capoffs ? t->capoffs * 2 : 64;
        long *p = realloc(t->offs, cap * sizeof(*p));

        if (p == NULL)
            return;
        t->offs = p;
        t->capoffs = cap;
    }
    if (v == NULL) {
        t->offs[t->noffs++] = -1;
        return;
    }
    t->offs[t->noffs++] = (long)t->arena.len;
    (void)fleet_buf_put(&t->arena, v, strlen(v) + 1);
}

void tab_valf(struct tab *t, const char *fmt, ...)
{
    char v[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    tab_val(t, v);
}

void tab_send(struct tab *t, struct fleet_wire *w, bool more)
{
    const char **vals = calloc(t->noffs ? t->noffs : 1, sizeof(*vals));
    int nrows = t->ncols > 0 ? (int)(t->noffs / (size_t)t->ncols) : 0;

    for (size_t i = 0; vals != NULL && i < t->noffs; i++)
        vals[i] = t->offs[i] < 0 ? NULL : (const char *)t->arena.p + t->offs[i];
    if (vals != NULL)
        fleet_wire_rs(w, t->cols, t->ncols, vals, nrows, more);
    else
        fleet_wire_err(w, 1037, "HY001", "Out of memory");
    free(vals);
    tab_release(t);
}

void tab_release(struct tab *t)
{
    free(t->offs);
    fleet_buf_release(&t->arena);
    memset(t, 0, sizeof(*t));
}

/* ---- words ---- */

const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

/* True when s starts with word w (case-insensitive, whole word); *rest after it. */
bool word(const char *s, const char *w, const char **rest)
{
    size_t n = strlen(w);

    s = skip_ws(s);
    if (strncasecmp(s, w, n) != 0 || isalnum((unsigned char)s[n]) || s[n] == '_')
        return false;
    if (rest != NULL)
        *rest = skip_ws(s + n);
    return true;
}

/* Case-insensitive substring search. */
const char *ifind(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != '\0'; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

/* SQL LIKE with % and _, case-insensitive. */
bool like(const char *s, const char *p)
{
    for (; *p != '\0'; p++, s++) {
        if (*p == '%') {
            for (const char *t = s;; t++) {
                if (like(t, p + 1))
                    return true;
                if (*t == '\0')
                    return false;
            }
        }
        if (*s == '\0')
            return false;
        if (*p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '_')
            continue;
        if (tolower((unsigned char)*s) != tolower((unsigned char)*p))
            return false;
    }
    return *s == '\0';
}

/* ---- statements ---- */

bool stmt_err(struct stmt *st, int code, const char *state, const char *msg)
{
    fleet_wire_err(st->w, code, state, msg);
    st->failed = true;
    return true;
}

static bool is_mysql(const struct fleet_inst *in)
{
    return in->flavor != FLEET_MARIADB_1011;
}

static void syntax_error(struct fleet_wire *w, const char *stmt)
{
    char msg[256];

    snprintf(msg, sizeof(msg),
             "You have an error in your SQL syntax; check the manual near '%.60s' at line 1", stmt);
    fleet_wire_err(w, 1064, "42000", msg);
}

/* START/STOP SLAVE|REPLICA [IO_THREAD|SQL_THREAD] */
static bool start_stop(struct stmt *st, bool start, const char *rest)
{
    struct fleet_inst *in = st->in;
    bool io = true, sql = true;

    if (word(rest, "SLAVE", &rest)) {
        if (in->flavor == FLEET_MYSQL_84)
            return false;
    } else if (!word(rest, "REPLICA", &rest)) {
        return false;
    }
    if (word(rest, "IO_THREAD", NULL))
        sql = false;
    else if (word(rest, "SQL_THREAD", NULL))
        io = false;
    if (io) {
        if (start && !in->io_on)
            in->io_started_ms = fleet_now_ms();
        in->io_on = start;
    }
    if (sql)
        in->sql_on = start;
    if (start)
        fleet_model_catch_up(st->m, in);
    fleet_wire_ok(st->w, 0, st->more);
    return true;
}

/* Reads "NAME = value" options of CHANGE MASTER TO. */
static void change_opts(struct stmt *st, const char *s, char *host, size_t hostlen, int *port)
{
    while (*s != '\0') {
        char name[64];
        const char *opt; /* the name after MASTER_ / SOURCE_ */
        size_t n = 0;

        s = skip_ws(s);
        while ((isalnum((unsigned char)*s) || *s == '_') && n + 1 < sizeof(name))
            name[n++] = (char)toupper((unsigned char)*s++);
        name[n] = '\0';
        opt = n > 7 ? name + 7 : "";
        s = skip_ws(s);
        if (*s == '=')
            s = skip_ws(s + 1);
        if (*s == '\'') {
            const char *e = strchr(s + 1, '\'');
            size_t vl = e != NULL ? (size_t)(e - s - 1) : strlen(s + 1);

            if (strcmp(opt, "HOST") == 0)
                snprintf(host, hostlen, "%.*s", (int)vl, s + 1);
            s = e != NULL ? e + 1 : s + strlen(s);
        } else {
            if (strcmp(opt, "PORT") == 0)
                *port = (int)strtol(s, NULL, 10);
            if (strcmp(name, "MASTER_USE_GTID") == 0)
                st->in->use_gtid = strncasecmp(s, "no", 2) != 0;
            if (strcmp(opt, "AUTO_POSITION") == 0)
                st->in->use_gtid = *s == '1';
            while (*s != '\0' && *s != ',')
                s++;
        }
        s = skip_ws(s);
        if (*s == ',')
            s++;
        else if (n == 0)
            break;
    }
}

static bool change_master(struct stmt *st, const char *rest)
{
    struct fleet_inst *in = st->in;
    char host[64];
    int port;

    if (word(rest, "MASTER", &rest)) {
        if (in->flavor == FLEET_MYSQL_84)
            return false;
    } else if (!(word(rest, "REPLICATION", &rest) && word(rest, "SOURCE", &rest)) ||
               !is_mysql(in)) {
        return false;
    }
    if (!word(rest, "TO", &rest))
        return false;
    if (in->io_on || in->sql_on) {
        return stmt_err(st, 1198, "HY000",
                        "This operation cannot be performed as you have a running slave; run "
                        "STOP SLAVE first");
    }
    snprintf(host, sizeof(host), "%s", in->master_host);
    port = in->master_port;
    change_opts(st, rest, host, sizeof(host), &port);
    fleet_model_set_master(st->m, in->idx, host, port);
    fleet_wire_ok(st->w, 0, st->more);
    return true;
}

static bool reset(struct stmt *st, const char *rest)
{
    if (word(rest, "MASTER", NULL) || word(rest, "BINARY", NULL)) {
        fleet_wire_ok(st->w, 0, st->more);
        return true;
    }
    if (word(rest, "SLAVE", &rest)) {
        if (st->in->flavor == FLEET_MYSQL_84)
            return false;
    } else if (!word(rest, "REPLICA", &rest)) {
        return false;
    }
    if (st->in->io_on || st->in->sql_on) {
        return stmt_err(st, 1198, "HY000",
                        "This operation cannot be performed as you have a running slave");
    }
    if (word(rest, "ALL", NULL))
        fleet_model_set_master(st->m, st->in->idx, "", 0);
    fleet_wire_ok(st->w, 0, st->more);
    return true;
}

/* SET GLOBAL read_only = v / super_read_only = v; other SETs are accepted. */
static bool set_stmt(struct stmt *st, const char *rest)
{
    struct fleet_inst *in = st->in;
    bool global = word(rest, "GLOBAL", &rest);
    bool on;
    const char *v;

    if (!global && strncmp(rest, "@@global.", 9) == 0) {
        rest += 9;
        global = true;
    }
    v = strchr(rest, '=');
    on = v != NULL && (word(v + 1, "1", NULL) || word(v + 1, "ON", NULL));
    if (global && word(rest, "read_only", NULL)) {
        in->read_only = on;
        if (!on)
            in->super_read_only = false;
    } else if (global && word(rest, "super_read_only", NULL)) {
        if (!is_mysql(in)) {
            return stmt_err(st, 1193, "HY000", "Unknown system variable 'super_read_only'");
        }
        in->super_read_only = on;
        if (on)
            in->read_only = true;
    }
    fleet_wire_ok(st->w, 0, st->more);
    return true;
}

static bool dispatch(struct stmt *st, const char *s)
{
    const char *rest;

    if (word(s, "SELECT", &rest))
        return sql_select(st, rest);
    if (word(s, "SHOW", &rest))
        return sql_show(st, rest);
    if (word(s, "SET", &rest))
        return set_stmt(st, rest);
    if (word(s, "START", &rest))
        return start_stop(st, true, rest);
    if (word(s, "STOP", &rest))
        return start_stop(st, false, rest);
    if (word(s, "CHANGE", &rest))
        return change_master(st, rest);
    if (word(s, "RESET", &rest))
        return reset(st, rest);
    if (word(s, "FLUSH", NULL) || word(s, "DO", NULL) || word(s, "USE", NULL) ||
        word(s, "BEGIN", NULL) || word(s, "COMMIT", NULL) || word(s, "ROLLBACK", NULL) ||
        word(s, "KILL", NULL)) {
        fleet_wire_ok(st->w, 0, st->more);
        return true;
    }
    return false;
}

/* Splits at top-level ';' (outside quotes); returns the statement's end. */
static const char *stmt_end(const char *s, const char *end)
{
    char q = 0;

    for (; s < end; s++) {
        if (q != 0) {
            if (*s == '\\' && s + 1 < end)
                s++;
            else if (*s == q)
                q = 0;
        } else if (*s == '\'' || *s == '"' || *s == '`') {
            q = *s;
        } else if (*s == ';') {
            return s;
        }
    }
    return end;
}

static bool blank(const char *s, const char *end)
{
    for (; s < end; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != ';')
            return false;
    return true;
}

bool fleet_sql_answer(struct fleet_model *m,
                      int idx,
                      const char *sql,
                      size_t n,
                      struct fleet_buf *out)
{
    struct fleet_wire w = {.out = out, .seq = 1};
    struct stmt st = {.m = m, .in = &m->inst[idx], .w = &w};
    const char *p = sql, *end = sql + n;

    if (blank(p, end)) {
        fleet_wire_err(&w, 1065, "42000", "Query was empty");
        return true;
    }
    while (p < end && !blank(p, end)) {
        const char *e = stmt_end(p, end);
        char *one = strndup(p, (size_t)(e - p));
        size_t before = out->len;

        if (one == NULL)
            return false;
        st.more = e < end && !blank(e, end);
        st.failed = false;
        if (!dispatch(&st, skip_ws(one))) {
            out->len = before;
            syntax_error(&w, skip_ws(one));
            st.failed = true;
        }
        free(one);
        if (st.failed)
            break; /* a failing statement ends a multi-statement query */
        p = e < end ? e + 1 : end;
    }
    return true;
}
