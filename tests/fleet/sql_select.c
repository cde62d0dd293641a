/*
 * sql_select: system variables per flavor and SELECT lists (@@variables,
 * literals, GTID waits, the processlist; other selects FROM a table are
 * empty sets with the listed columns).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/fleet/sql_int.h"

static bool is_mysql(const struct fleet_inst *in)
{
    return in->flavor != FLEET_MARIADB_1011;
}

void mariadb_gtid(const struct fleet_inst *in, char *buf, size_t n)
{
    snprintf(buf, n, "0-%ld-%lld", in->gtid_sid, (long long)in->seq);
}

void mysql_gtid(const struct fleet_inst *in, char *buf, size_t n)
{
    snprintf(buf, n, "%s:1-%lld", in->gtid_uuid, (long long)in->seq);
}

/* Variables both flavors have; NULL when unknown. */
static const char *common_var(const struct stmt *st, const char *v, char *buf, size_t n)
{
    const struct fleet_inst *in = st->in;

    if (strcasecmp(v, "hostname") == 0)
        return st->m->hostname;
    if (strcasecmp(v, "report_host") == 0)
        return "127.0.0.1";
    if (strcasecmp(v, "port") == 0 || strcasecmp(v, "report_port") == 0)
        return snprintf(buf, n, "%d", in->port), buf;
    if (strcasecmp(v, "server_id") == 0)
        return snprintf(buf, n, "%ld", in->server_id), buf;
    if (strcasecmp(v, "version") == 0)
        return fleet_flavor_version(in->flavor);
    if (strcasecmp(v, "version_comment") == 0)
        return is_mysql(in) ? "MySQL Community Server - GPL" : "Debian 12";
    if (strcasecmp(v, "read_only") == 0)
        return in->read_only ? "1" : "0";
    if (strcasecmp(v, "binlog_format") == 0)
        return "ROW";
    if (strcasecmp(v, "binlog_row_image") == 0)
        return "FULL";
    if (strcasecmp(v, "log_bin") == 0 || strcasecmp(v, "log_slave_updates") == 0)
        return "1";
    if (strcasecmp(v, "slave_net_timeout") == 0)
        return "60";
    if (strcasecmp(v, "max_connections") == 0)
        return "151";
    if (strcasecmp(v, "datadir") == 0)
        return "/var/lib/mysql/";
    if (strcasecmp(v, "version_compile_os") == 0)
        return "debian-linux-gnu";
    if (strcasecmp(v, "sql_mode") == 0)
        return "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";
    if (strcasecmp(v, "time_zone") == 0)
        return "SYSTEM";
    return NULL;
}

static const char *mysql_var(const struct stmt *st, const char *v, char *buf, size_t n)
{
    const struct fleet_inst *in = st->in;

    if (strcasecmp(v, "log_replica_updates") == 0)
        return "1";
    if (strcasecmp(v, "super_read_only") == 0)
        return in->super_read_only ? "1" : "0";
    if (strcasecmp(v, "gtid_mode") == 0)
        return "ON";
    if (strcasecmp(v, "enforce_gtid_consistency") == 0)
        return "ON";
    if (strcasecmp(v, "server_uuid") == 0)
        return in->uuid;
    if (strcasecmp(v, "gtid_executed") == 0)
        return mysql_gtid(in, buf, n), buf;
    if (strcasecmp(v, "gtid_purged") == 0)
        return "";
    return NULL;
}

static const char *mariadb_var(const struct stmt *st, const char *v, char *buf, size_t n)
{
    const struct fleet_inst *in = st->in;

    if (strcasecmp(v, "gtid_current_pos") == 0 || strcasecmp(v, "gtid_binlog_pos") == 0 ||
        strcasecmp(v, "gtid_binlog_state") == 0)
        return mariadb_gtid(in, buf, n), buf;
    if (strcasecmp(v, "gtid_slave_pos") == 0)
        return in->has_master_cfg || in->gtid_sid != in->server_id ? (mariadb_gtid(in, buf, n), buf)
                                                                   : "";
    if (strcasecmp(v, "gtid_strict_mode") == 0)
        return "0";
    if (strcasecmp(v, "gtid_domain_id") == 0)
        return "0";
    if (strcasecmp(v, "rpl_semi_sync_master_enabled") == 0 ||
        strcasecmp(v, "rpl_semi_sync_slave_enabled") == 0)
        return "0";
    if (strcasecmp(v, "rpl_semi_sync_master_timeout") == 0)
        return "10000";
    return NULL;
}

const char *var_get(const struct stmt *st, const char *v, char *buf, size_t n)
{
    const char *r = common_var(st, v, buf, n);

    if (r != NULL)
        return r;
    return is_mysql(st->in) ? mysql_var(st, v, buf, n) : mariadb_var(st, v, buf, n);
}

/* ---- SELECT ---- */

/* End of the select-list item at s (top-level ',' or the end). */
static const char *item_end(const char *s)
{
    int depth = 0;
    char q = 0;

    for (; *s != '\0'; s++) {
        if (q != 0) {
            if (*s == q)
                q = 0;
        } else if (*s == '\'' || *s == '"' || *s == '`') {
            q = *s;
        } else if (*s == '(') {
            depth++;
        } else if (*s == ')') {
            depth--;
        } else if (*s == ',' && depth == 0) {
            return s;
        }
    }
    return s;
}

/* The column name of an item: its alias, else its text. */
static void item_name(const char *item, char *name, size_t n)
{
    const char *as = NULL;

    for (const char *p = ifind(item, " AS "); p != NULL; p = ifind(p + 1, " AS "))
        as = p;
    if (as != NULL && strchr(as, ')') == NULL)
        item = skip_ws(as + 4);
    snprintf(name, n, "%s", skip_ws(item));
    for (size_t k = strlen(name); k > 0 && (name[k - 1] == ' ' || name[k - 1] == '`'); k--)
        name[k - 1] = '\0';
    if (name[0] == '`' || name[0] == '\'')
        memmove(name, name + 1, strlen(name));
}

/* Evaluates one item: @@variables, literals, GTID waits; NULL for the rest.
 * Returns false (after sending the error) for an unknown variable. */
static bool item_value(struct stmt *st, const char *item, char *buf, size_t n, const char **out)
{
    const char *at = strstr(item, "@@");
    char var[64];
    size_t k = 0;

    *out = NULL;
    if (ifind(item, "MASTER_GTID_WAIT(") || ifind(item, "WAIT_FOR_EXECUTED_GTID_SET(")) {
        *out = "0";
        return true;
    }
    if (at == NULL) {
        item = skip_ws(item);
        if (isdigit((unsigned char)*item) || *item == '-')
            *out = snprintf(buf, n, "%ld", strtol(item, NULL, 10)) > 0 ? buf : NULL;
        else if (*item == '\'')
            *out =
                snprintf(buf, n, "%.*s", (int)strcspn(item + 1, "'"), item + 1) >= 0 ? buf : NULL;
        return true;
    }
    at += 2;
    if (strncasecmp(at, "global.", 7) == 0 || strncasecmp(at, "session.", 8) == 0)
        at = strchr(at, '.') + 1;
    while ((isalnum((unsigned char)at[k]) || at[k] == '_') && k + 1 < sizeof(var)) {
        var[k] = at[k];
        k++;
    }
    var[k] = '\0';
    *out = var_get(st, var, buf, n);
    if (*out == NULL) {
        char msg[128];

        snprintf(msg, sizeof(msg), "Unknown system variable '%s'", var);
        return !stmt_err(st, 1193, "HY000", msg);
    }
    return true;
}

/* Rows of the processlist query: one per connected replica. */
static void processlist(struct stmt *st, struct tab *t)
{
    for (int r = 0; r < st->in->nreplicas; r++) {
        const struct fleet_inst *ri = &st->m->inst[st->in->replicas[r]];

        if (ri->io_on && ri->state != FLEET_KILLED)
            for (int c = 0; c < t->ncols; c++)
                tab_val(t, "127.0.0.1");
    }
}

bool sql_select(struct stmt *st, const char *rest)
{
    const char *from = ifind(rest, " FROM ");
    char *list = strndup(rest, from != NULL ? (size_t)(from - rest) : strlen(rest));
    char names[FLEET_MAX_FIELDS][96];
    struct tab t = {0};
    bool ok = true;

    for (const char *p = list; ok && p != NULL && *p != '\0' && t.ncols < FLEET_MAX_FIELDS;) {
        const char *e = item_end(p);
        char *item = strndup(p, (size_t)(e - p));
        char buf[256];
        const char *v = NULL;

        item_name(item, names[t.ncols], sizeof(names[0]));
        t.cols[t.ncols] = names[t.ncols];
        t.ncols++;
        if (from == NULL) {
            ok = item_value(st, item, buf, sizeof(buf), &v);
            tab_val(&t, v);
        }
        free(item);
        p = *e == ',' ? e + 1 : NULL;
    }
    free(list);
    if (!ok) {
        tab_release(&t);
        return true;
    }
    if (from != NULL && ifind(from, "processlist") != NULL)
        processlist(st, &t);
    tab_send(&t, st->w, st->more);
    return true;
}
