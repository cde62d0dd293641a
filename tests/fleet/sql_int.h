/*
 * Internal to sql.c and sql_show.c: one statement being answered, the
 * result table and the small text helpers both use.
 */
#ifndef ORC_FLEET_SQL_INT_H
#define ORC_FLEET_SQL_INT_H

#include <stdarg.h>

#include "tests/fleet/fleet.h"

struct stmt {
    struct fleet_model *m;
    struct fleet_inst *in;
    struct fleet_wire *w;
    bool more;   /* further statements follow in this query */
    bool failed; /* an ERR was sent: stop the query */
};

struct tab {
    const char *cols[FLEET_MAX_FIELDS];
    int ncols;
    struct fleet_buf arena;
    long *offs; /* -1: NULL */
    size_t noffs, capoffs;
};

void tab_val(struct tab *t, const char *v);
void tab_valf(struct tab *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends the table as a result set and releases it. */
void tab_send(struct tab *t, struct fleet_wire *w, bool more);

const char *skip_ws(const char *s);
bool word(const char *s, const char *w, const char **rest);
const char *ifind(const char *hay, const char *needle);
bool like(const char *s, const char *p);
/* Sends an ERR and marks the query failed; returns true (handled). */
bool stmt_err(struct stmt *st, int code, const char *state, const char *msg);

void tab_release(struct tab *t);
void mariadb_gtid(const struct fleet_inst *in, char *buf, size_t n);
void mysql_gtid(const struct fleet_inst *in, char *buf, size_t n);
/* A system variable of the instance; NULL when the flavor has none such. */
const char *var_get(const struct stmt *st, const char *v, char *buf, size_t n);

bool sql_select(struct stmt *st, const char *rest);
bool sql_show(struct stmt *st, const char *rest);

#endif
