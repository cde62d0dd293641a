/*
 * errant: orchestrator's errant GTID operations on both flavors.
 *
 *   locate-gtid-errant        the binary logs that hold the instance's errant
 *                             transactions (read only);
 *   gtid-errant-reset-master  drop them from the instance: RESET MASTER, then
 *                             restore the position it replicates from;
 *   gtid-errant-inject-empty  make the cluster's master hold them too, with
 *                             empty transactions of the same GTIDs.
 *
 * The errant set is computed again from fresh readings of the instance and
 * its master (the same rule as the topology's, disc_gtid_errant), never
 * taken from a snapshot. Every GTID that reaches a statement is printed from
 * numbers the strict parsers produced (discovery/gtid.c).
 *
 * MariaDB forms (what the server allows, tried on 10.11):
 *   - reset-master: STOP SLAVE; RESET MASTER; then, as orchestrator sets
 *     gtid_purged on MySQL, SET GLOBAL gtid_binlog_state (allowed on an
 *     empty binary log) to its former state without the errant entries (an
 *     errant pair goes back to what the master holds of it), so replicas can
 *     still position on it; SET GLOBAL gtid_slave_pos to its value read after
 *     the stop (what it applied from its master) and MASTER_USE_GTID=slave_pos;
 *     START SLAVE.
 *   - inject-empty: MariaDB does not binlog an empty transaction (BEGIN;
 *     COMMIT and DO 1 leave no event), so the empty transaction is FLUSH
 *     USER_RESOURCES, a binlogged statement that changes no data, written
 *     with the errant pair's gtid_domain_id and server_id. Its seq_no is the
 *     errant one, or the domain's next one when the master is already past
 *     it (a lower seq_no would be out of order, refused under
 *     gtid_strict_mode). The binlog state keeps the last GTID per (domain,
 *     server_id), so one event per errant pair makes the master hold them.
 * MySQL forms are orchestrator's: RESET MASTER and SET GLOBAL gtid_purged to
 * the executed set minus the errant one; SET GTID_NEXT + BEGIN; COMMIT per
 * errant GTID on the cluster's master. (No MySQL server runs in our tests:
 * the MySQL forms are covered by unit tests of the pure parts only.)
 *
 * Threads: blocking (MySQL calls bounded by the topology timeouts); any
 * thread except the loop thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recovery/errant.h"
#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/planned.h"
#include "recovery/rec.h"

#define MAX_BINLOGS 2000     /* binary logs read by locate */
#define MAX_INJECT 100000    /* empty transactions written by one inject */
#define REFRESH_MS 4000      /* wait for the snapshot to show the fix */
#define REPROBE_EVERY_MS 300 /* ask for probes again meanwhile */
#define MAINTENANCE_S 600    /* bound of the maintenance taken by reset-master */

/* ======================================================================
 * Pure: which binary logs hold errant transactions
 * ====================================================================== */

bool rec_valid_binlog_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 255 || s[0] == '.')
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* "[0-1-5,0-2-3]" or "0-1-5,0-2-3" -> list. */
static int parse_gtid_list_info(const char *s, struct disc_mgtid_list *out)
{
    char *copy;
    size_t n;
    int rc;

    if (s == NULL || s[0] != '[')
        return disc_mgtid_parse(s, out);
    n = strlen(s);
    if (n < 2 || s[n - 1] != ']') {
        memset(out, 0, sizeof(*out));
        return ORC_EINVAL;
    }
    copy = strndup(s + 1, n - 2);
    if (copy == NULL)
        return ORC_ENOMEM;
    rc = disc_mgtid_parse(copy, out);
    free(copy);
    return rc;
}

static uint64_t pair_seq(const struct disc_mgtid_list *l, const struct disc_mgtid *g)
{
    uint64_t m = 0;

    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].domain == g->domain && l->v[i].server_id == g->server_id && l->v[i].seq > m)
            m = l->v[i].seq;
    return m;
}

static int mariadb_locate(const struct disc_mgtid_list *errant,
                          const struct disc_mgtid_list *held,
                          const struct rec_binlog_gtids *logs,
                          size_t n,
                          const char *end_state,
                          json_t *files,
                          char *errmsg,
                          size_t len)
{
    struct disc_mgtid_list start = {0}, end = {0};
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool hit = false;
        const char *next = i + 1 < n ? logs[i + 1].start_state : end_state;
        if ((rc = parse_gtid_list_info(logs[i].start_state, &start)) != 0 ||
            (rc = parse_gtid_list_info(next, &end)) != 0) {
            orc_errf(errmsg, len, "the GTID state at the start or end of %s does not parse",
                     logs[i].file);
            rc = ORC_EINVAL;
            break;
        }
        for (size_t k = 0; k < errant->n; k++) {
            const struct disc_mgtid *g = &errant->v[k];
            uint64_t from = pair_seq(&start, g), upto = pair_seq(&end, g), h = pair_seq(held, g);
            if (i == 0 && from > h) {
                orc_errf(errmsg, len, "errant GTIDs of %u-%u are in purged binary logs", g->domain,
                         g->server_id);
                rc = ORC_ESTATE;
                break;
            }
            hit = hit || (upto > from && upto > h);
        }
        if (rc == 0 && hit && json_array_append_new(files, json_string(logs[i].file)) != 0)
            rc = ORC_ENOMEM;
        disc_mgtid_list_release(&start);
        disc_mgtid_list_release(&end);
    }
    return rc;
}

/* orchestrator's walk: the file before the one whose Previous_gtids first
 * takes part of what is searched for holds that part. */
static int mysql_locate(const char *errant,
                        const struct rec_binlog_gtids *logs,
                        size_t n,
                        json_t *files,
                        char *errmsg,
                        size_t len)
{
    struct disc_ogtid_set search, prev;
    int rc = disc_ogtid_parse(errant, &search);

    if (rc != 0) {
        orc_errf(errmsg, len, "errant GTID set does not parse");
        return ORC_EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < n && search.n > 0; i++) {
        int64_t before = disc_ogtid_count(&search);
        if (disc_ogtid_parse(logs[i].start_state, &prev) != 0) {
            orc_errf(errmsg, len, "Previous_gtids of %s does not parse", logs[i].file);
            rc = ORC_EINVAL;
            break;
        }
        rc = disc_ogtid_subtract(&search, &prev);
        disc_ogtid_release(&prev);
        if (rc == 0 && disc_ogtid_count(&search) != before) {
            if (i == 0) {
                orc_errf(errmsg, len, "errant GTIDs are in purged binary logs");
                rc = ORC_ESTATE;
            } else if (json_array_append_new(files, json_string(logs[i - 1].file)) != 0) {
                rc = ORC_ENOMEM;
            }
        }
    }
    if (rc == 0 && search.n > 0 && n > 0 &&
        json_array_append_new(files, json_string(logs[n - 1].file)) != 0)
        rc = ORC_ENOMEM;
    disc_ogtid_release(&search);
    return rc;
}

int rec_errant_locate_files(bool mariadb,
                            const char *errant,
                            const char *held,
                            const struct rec_binlog_gtids *logs,
                            size_t n,
                            const char *end_state,
                            json_t *files,
                            char *errmsg,
                            size_t len)
{
    struct disc_mgtid_list e, h;
    int rc;

    if (!mariadb)
        return mysql_locate(errant, logs, n, files, errmsg, len);
    if ((rc = disc_mgtid_parse(errant, &e)) != 0) {
        orc_errf(errmsg, len, "errant GTID list does not parse");
        return ORC_EINVAL;
    }
    if ((rc = disc_mgtid_parse(held, &h)) != 0) {
        orc_errf(errmsg, len, "the master's GTID state does not parse");
        disc_mgtid_list_release(&e);
        return ORC_EINVAL;
    }
    rc = mariadb_locate(&e, &h, logs, n, end_state, files, errmsg, len);
    disc_mgtid_list_release(&e);
    disc_mgtid_list_release(&h);
    return rc;
}

int rec_errant_kept_state(const char *state,
                          const char *errant,
                          const char *held,
                          struct orc_buf *out)
{
    struct disc_mgtid_list st, e, h, keep = {0};
    int rc = disc_mgtid_parse(state, &st);

    if (rc != 0)
        return rc;
    if ((rc = disc_mgtid_parse(errant, &e)) != 0) {
        disc_mgtid_list_release(&st);
        return rc;
    }
    if ((rc = disc_mgtid_parse(held, &h)) != 0)
        goto done;
    for (size_t i = 0; rc == 0 && i < st.n; i++) {
        struct disc_mgtid g = st.v[i];
        if (pair_seq(&e, &g) > 0) { /* errant: back to what the master holds */
            uint64_t m = pair_seq(&h, &g);
            if (m == 0)
                continue;
            if (m < g.seq)
                g.seq = m;
        }
        rc = disc_mgtid_add(&keep, &g);
    }
    if (rc == 0)
        rc = disc_mgtid_format(&keep, out);
done:
    disc_mgtid_list_release(&st);
    disc_mgtid_list_release(&e);
    disc_mgtid_list_release(&h);
    disc_mgtid_list_release(&keep);
    return rc;
}

/* ======================================================================
 * One operation: fresh readings and the errant set
 * ====================================================================== */

struct eop {
    struct rec_env *env;
    struct rec_session *s;
    struct disc_snapshot *snap;
    struct disc_instance in;     /* the instance, read now, gtid_errant computed */
    struct disc_instance master; /* its master, read now */
    char k[ORC_KEY_STRLEN];
    char cluster[ORC_KEY_STRLEN];
    struct orc_key cluster_master; /* the snapshot's master of the cluster */
};

static void eop_release(struct eop *x)
{
    rec_session_free(x->s);
    disc_snapshot_put(x->snap);
    disc_instance_release(&x->in);
    disc_instance_release(&x->master);
}

static int eop_read(struct eop *x,
                    const struct orc_key *k,
                    const char *role,
                    struct disc_instance *out,
                    char *errmsg,
                    size_t len)
{
    char ks[ORC_KEY_STRLEN];
    int rc = rec_read(x->s, k, out, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "cannot read %s %s", role, orc_key_str(k, ks, sizeof(ks)));
    return rc != 0 ? ORC_ESTATE : 0;
}

/* The errant set of the fresh reading against the master's fresh reading,
 * with the ancestry the topology knows for the master. */
static int eop_errant(struct eop *x, char *errmsg, size_t len)
{
    struct disc_errant_master m;
    int mi = disc_snapshot_find(x->snap, &x->master.key);
    const struct disc_instance *known = mi >= 0 ? x->snap->instances[mi] : &x->master;
    int rc;

    memset(&m, 0, sizeof(m));
    m.ver = x->master.ver;
    m.server_id = x->master.server_id;
    orc_strlcpy(m.server_uuid, x->master.server_uuid, sizeof(m.server_uuid));
    m.executed = x->master.executed_gtid_set;
    m.slave_pos = x->master.gtid_slave_pos;
    m.ancestry_uuid = known->ancestry_uuid;
    m.ancestry_ids = known->ancestry_ids;
    m.nancestry_ids = known->nancestry_ids;
    m.master_is_self = orc_key_eq(&x->master.master_key, &x->in.key);
    rc = disc_gtid_errant(&x->in, &m);
    if (rc == ORC_EINVAL)
        orc_errf(errmsg, len, "the GTID sets of %s or its master do not parse", x->k);
    else if (rc == 0 && disc_str(x->in.gtid_errant)[0] == '\0') {
        orc_errf(errmsg, len, "no errant GTID found on %s", x->k);
        rc = ORC_ESTATE;
    }
    return rc;
}

static int eop_prepare(struct eop *x, const struct orc_key *key, char *errmsg, size_t len)
{
    struct rec_session_options so;
    int i, c, rc;

    orc_key_str(key, x->k, sizeof(x->k));
    if ((rc = rec_snapshot_find(x->env, key, &x->snap, &i, errmsg, len)) != 0)
        return rc;
    orc_strlcpy(x->cluster, x->snap->instances[i]->cluster_name, sizeof(x->cluster));
    c = disc_snapshot_cluster_of(x->snap, i);
    if (c >= 0 && x->snap->clusters[c].master >= 0)
        x->cluster_master = x->snap->instances[x->snap->clusters[c].master]->key;
    rec_env_session_options(x->env, &so);
    if ((rc = rec_session_new(&so, &x->s)) != 0)
        return rc;
    if ((rc = eop_read(x, key, "instance", &x->in, errmsg, len)) != 0)
        return rc;
    if (x->in.master_key.host[0] == '\0') {
        orc_errf(errmsg, len, "%s is not a replica: errant GTIDs are relative to a master", x->k);
        return ORC_ESTATE;
    }
    if ((rc = eop_read(x, &x->in.master_key, "master", &x->master, errmsg, len)) != 0)
        return rc;
    return eop_errant(x, errmsg, len);
}

/* What the master holds, MariaDB: its binlog state and gtid_slave_pos. */
static int held_text(const struct eop *x, struct orc_buf *out)
{
    return orc_buf_printf(out, "%s%s%s", disc_str(x->master.executed_gtid_set),
                          x->master.gtid_slave_pos && x->master.executed_gtid_set ? "," : "",
                          disc_str(x->master.gtid_slave_pos));
}

/* ---- locate ---- */

struct binlogs {
    char **file;
    char **state;
    size_t n;
};

static void binlogs_free(struct binlogs *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->file[i]);
        free(b->state[i]);
    }
    free(b->file);
    free(b->state);
}

/* The GTID state at the start of one binary log (its Gtid_list or
 * Previous_gtids event, among the first events). Heap, or NULL. */
static int binlog_start_state(struct eop *x, const char *file, char **out, char *errmsg, size_t len)
{
    const char *want = x->in.ver.flavor == DISC_FLAVOR_MARIADB ? "Gtid_list" : "Previous_gtids";
    struct orc_buf sql = ORC_BUF_INIT;
    struct disc_rs *rs = NULL;
    int rc = orc_buf_puts(&sql, "SHOW BINLOG EVENTS IN ");

    if (rc == 0)
        rc = disc_sql_quote(&sql, file);
    if (rc == 0)
        rc = orc_buf_puts(&sql, " LIMIT 4");
    if (rc == 0)
        rc = rec_query_rs(x->s, &x->in.key, orc_buf_str(&sql), &rs, errmsg, len);
    *out = NULL;
    for (size_t r = 0; rc == 0 && r < rs->nrows && *out == NULL; r++) {
        const char *type = disc_rs_value(rs, r, "Event_type");
        if (type != NULL && strcmp(type, want) == 0)
            *out = strdup(disc_str(disc_rs_value(rs, r, "Info")));
    }
    if (rc == 0 && *out == NULL) {
        orc_errf(errmsg, len, "%s: no %s event in %s", x->k, want, file);
        rc = ORC_ESTATE;
    }
    disc_rs_free(rs);
    orc_buf_release(&sql);
    return rc;
}

static int read_binlogs(struct eop *x, struct binlogs *b, char *errmsg, size_t len)
{
    struct disc_rs *rs = NULL;
    int rc = rec_query_rs(x->s, &x->in.key, "SHOW BINARY LOGS", &rs, errmsg, len);

    memset(b, 0, sizeof(*b));
    if (rc == 0 && (rs->nrows == 0 || rs->nrows > MAX_BINLOGS)) {
        orc_errf(errmsg, len, "%s has %zu binary logs (1..%d are searched)", x->k, rs->nrows,
                 MAX_BINLOGS);
        rc = ORC_ESTATE;
    }
    if (rc == 0) {
        b->file = calloc(rs->nrows, sizeof(char *));
        b->state = calloc(rs->nrows, sizeof(char *));
        if (b->file == NULL || b->state == NULL)
            rc = ORC_ENOMEM;
    }
    for (size_t r = 0; rc == 0 && r < rs->nrows; r++) {
        const char *f = disc_rs_get(rs, r, 0);
        if (!rec_valid_binlog_name(f)) {
            orc_errf(errmsg, len, "%s: refused binary log name of %zu bytes", x->k,
                     f ? strlen(f) : 0);
            rc = ORC_EINVAL;
            break;
        }
        if ((b->file[r] = strdup(f)) == NULL) {
            rc = ORC_ENOMEM;
            break;
        }
        b->n = r + 1;
        rc = binlog_start_state(x, f, &b->state[r], errmsg, len);
    }
    disc_rs_free(rs);
    return rc;
}

int rec_errant_locate(struct rec_env *env,
                      const struct orc_key *key,
                      json_t **files,
                      char *errmsg,
                      size_t len)
{
    struct eop x;
    struct binlogs b;
    struct rec_binlog_gtids *logs = NULL;
    struct orc_buf held = ORC_BUF_INIT;
    int rc;

    memset(&x, 0, sizeof(x));
    memset(&b, 0, sizeof(b));
    x.env = env;
    *files = json_array();
    rc = *files == NULL ? ORC_ENOMEM : eop_prepare(&x, key, errmsg, len);
    if (rc == 0)
        rc = read_binlogs(&x, &b, errmsg, len);
    if (rc == 0 && (logs = calloc(b.n, sizeof(*logs))) == NULL)
        rc = ORC_ENOMEM;
    for (size_t i = 0; rc == 0 && i < b.n; i++) {
        logs[i].file = b.file[i];
        logs[i].start_state = b.state[i];
    }
    if (rc == 0)
        rc = held_text(&x, &held);
    if (rc == 0)
        rc = rec_errant_locate_files(x.in.ver.flavor == DISC_FLAVOR_MARIADB, x.in.gtid_errant,
                                     orc_buf_str(&held), logs, b.n, x.in.executed_gtid_set, *files,
                                     errmsg, len);
    if (rc != 0) {
        json_decref(*files);
        *files = NULL;
        orc_errprefix(errmsg, len, "locate-gtid-errant");
    }
    orc_buf_release(&held);
    free(logs);
    binlogs_free(&b);
    eop_release(&x);
    return rc;
}

/* ======================================================================
 * Fixing: reset-master on the instance, inject-empty on the cluster master
 * ====================================================================== */

static int exec_fmt(struct eop *x,
                    const struct orc_key *k,
                    char *errmsg,
                    size_t len,
                    const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

static int exec_fmt(struct eop *x,
                    const struct orc_key *k,
                    char *errmsg,
                    size_t len,
                    const char *fmt,
                    ...)
{
    struct orc_buf sql = ORC_BUF_INIT;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = orc_buf_vprintf(&sql, fmt, ap);
    va_end(ap);
    if (rc == 0)
        rc = rec_exec(x->s, k, orc_buf_str(&sql), false, errmsg, len);
    orc_buf_release(&sql);
    return rc;
}

/* A GTID variable read now, re-printed from its parsed form (what may go
 * into a statement). */
static int read_gtid_var(struct eop *x,
                         const char *sql,
                         bool mariadb,
                         struct orc_buf *out,
                         char *errmsg,
                         size_t len)
{
    struct disc_rs *rs = NULL;
    int rc = rec_query_rs(x->s, &x->in.key, sql, &rs, errmsg, len);
    const char *v = rc == 0 ? disc_rs_get(rs, 0, 0) : NULL;

    if (rc == 0 && mariadb) {
        struct disc_mgtid_list l;
        if ((rc = disc_mgtid_parse(v, &l)) == 0)
            rc = disc_mgtid_format(&l, out);
        disc_mgtid_list_release(&l);
    } else if (rc == 0) {
        struct disc_ogtid_set set;
        if ((rc = disc_ogtid_parse(v, &set)) == 0)
            rc = disc_ogtid_format(&set, out);
        disc_ogtid_release(&set);
    }
    if (rc == ORC_EINVAL)
        orc_errf(errmsg, len, "%s: the value of '%s' does not parse as a GTID set", x->k, sql);
    disc_rs_free(rs);
    return rc;
}

static int reset_master_mariadb(struct eop *x, char *errmsg, size_t len)
{
    struct orc_buf pos = ORC_BUF_INIT, state = ORC_BUF_INIT, held = ORC_BUF_INIT;
    struct orc_buf kept = ORC_BUF_INIT;
    int rc = read_gtid_var(x, "SELECT @@GLOBAL.gtid_slave_pos", true, &pos, errmsg, len);

    /* its history without the errant transactions, restored after the reset
     * so that replicas may still position on it */
    if (rc == 0)
        rc = read_gtid_var(x, "SELECT @@GLOBAL.gtid_binlog_state", true, &state, errmsg, len);
    if (rc == 0)
        rc = held_text(x, &held);
    if (rc == 0 && (rc = rec_errant_kept_state(orc_buf_str(&state), x->in.gtid_errant,
                                               orc_buf_str(&held), &kept)) != 0)
        orc_errf(errmsg, len, "%s: the GTID states do not parse", x->k);

    if (rc == 0 && pos.len == 0) {
        orc_errf(errmsg, len,
                 "%s has an empty gtid_slave_pos: after RESET MASTER it would not know where to "
                 "continue from",
                 x->k);
        rc = ORC_ESTATE;
    }
    if (rc == 0)
        rc = rec_exec(x->s, &x->in.key, "RESET MASTER", false, errmsg, len);
    if (rc == 0 && kept.len > 0)
        rc = exec_fmt(x, &x->in.key, errmsg, len, "SET GLOBAL gtid_binlog_state = '%s'",
                      orc_buf_str(&kept));
    if (rc == 0)
        rc = exec_fmt(x, &x->in.key, errmsg, len, "SET GLOBAL gtid_slave_pos = '%s'",
                      orc_buf_str(&pos));
    if (rc == 0 && strcasecmp(x->in.mariadb_using_gtid, "Slave_Pos") != 0)
        rc = rec_exec(x->s, &x->in.key, "CHANGE MASTER TO MASTER_USE_GTID = slave_pos", false,
                      errmsg, len);
    orc_buf_release(&pos);
    orc_buf_release(&state);
    orc_buf_release(&held);
    orc_buf_release(&kept);
    return rc;
}

static int reset_master_mysql(struct eop *x, char *errmsg, size_t len)
{
    struct disc_ogtid_set keep, errant;
    struct orc_buf purged = ORC_BUF_INIT;
    int rc = disc_ogtid_parse(x->in.executed_gtid_set, &keep);

    if (rc == 0 && (rc = disc_ogtid_parse(x->in.gtid_errant, &errant)) == 0) {
        rc = disc_ogtid_subtract(&keep, &errant);
        disc_ogtid_release(&errant);
    }
    if (rc == 0)
        rc = disc_ogtid_format(&keep, &purged);
    disc_ogtid_release(&keep);
    if (rc == ORC_EINVAL)
        orc_errf(errmsg, len, "%s: gtid_executed does not parse", x->k);
    if (rc == 0)
        rc = rec_exec(x->s, &x->in.key, "RESET MASTER", false, errmsg, len);
    if (rc == 0)
        rc = exec_fmt(x, &x->in.key, errmsg, len, "SET GLOBAL gtid_purged = '%s'",
                      orc_buf_str(&purged));
    orc_buf_release(&purged);
    return rc;
}

static int do_reset_master(struct eop *x, struct rec_errant_result *out, char *errmsg, size_t len)
{
    char err2[ORC_ERRMSG_SIZE] = "";
    bool mysql = disc_version_is_mysql(&x->in.ver);
    int rc;

    if (x->in.replicas.len > 0) {
        orc_errf(errmsg, len, "%s has %zu replicas: reset-master expects none", x->k,
                 x->in.replicas.len);
        return ORC_ESTATE;
    }
    if (mysql && !x->in.supports_oracle_gtid) {
        orc_errf(errmsg, len, "%s does not use Oracle GTID", x->k);
        return ORC_ESTATE;
    }
    rc = rec_stop_replica(x->s, &x->in, errmsg, len);
    if (rc == 0)
        rc = mysql ? reset_master_mysql(x, errmsg, len) : reset_master_mariadb(x, errmsg, len);
    /* whatever happened, replication runs again (as orchestrator does) */
    if (rec_start_replica(x->s, &x->in, err2, sizeof(err2)) != 0 && rc == 0) {
        orc_strlcpy(errmsg, err2, len);
        rc = ORC_EMYSQL;
    }
    if (rc == 0)
        snprintf(out->message, sizeof(out->message),
                 "Removed errant GTID on %s and issued a RESET MASTER", x->k);
    return rc;
}

/* MariaDB: one event per errant pair the cluster master lacks. */
static int inject_mariadb(struct eop *x,
                          const struct disc_instance *cm,
                          struct rec_errant_result *out,
                          char *errmsg,
                          size_t len)
{
    struct disc_mgtid_list errant, held;
    int rc = disc_mgtid_parse(x->in.gtid_errant, &errant);

    if (rc == 0 && (rc = disc_mgtid_parse(cm->executed_gtid_set, &held)) != 0)
        disc_mgtid_list_release(&errant);
    if (rc != 0) {
        orc_errf(errmsg, len, "the GTID state of %s or of the cluster master does not parse", x->k);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < errant.n; i++) {
        struct disc_mgtid g = errant.v[i];
        uint64_t next = disc_mgtid_domain_max(&held, g.domain) + 1;
        if (pair_seq(&held, &g) >= g.seq)
            continue; /* the cluster master has it: it is on its way down */
        if (g.seq < next)
            g.seq = next;
        rc = exec_fmt(x, &cm->key, errmsg, len, "SET SESSION gtid_domain_id = %u", g.domain);
        if (rc == 0)
            rc = exec_fmt(x, &cm->key, errmsg, len, "SET SESSION server_id = %u", g.server_id);
        if (rc == 0)
            rc = exec_fmt(x, &cm->key, errmsg, len, "SET SESSION gtid_seq_no = %llu",
                          (unsigned long long)g.seq);
        if (rc == 0)
            rc = rec_exec(x->s, &cm->key, "FLUSH USER_RESOURCES", false, errmsg, len);
        if (rc == 0) {
            out->injected++;
            rc = disc_mgtid_add(&held, &g); /* later entries of the domain go after it */
        }
    }
    {
        char e2[ORC_ERRMSG_SIZE];
        (void)rec_exec(x->s, &cm->key, "SET SESSION server_id = @@GLOBAL.server_id", false, e2,
                       sizeof(e2));
        (void)rec_exec(x->s, &cm->key, "SET SESSION gtid_domain_id = @@GLOBAL.gtid_domain_id",
                       false, e2, sizeof(e2));
    }
    disc_mgtid_list_release(&errant);
    disc_mgtid_list_release(&held);
    return rc;
}

/* MySQL: SET GTID_NEXT + an empty transaction per errant GTID. */
static int inject_mysql(struct eop *x,
                        const struct disc_instance *cm,
                        struct rec_errant_result *out,
                        char *errmsg,
                        size_t len)
{
    struct disc_ogtid_set errant;
    int rc = disc_ogtid_parse(x->in.gtid_errant, &errant);

    if (rc == 0 && disc_ogtid_count(&errant) > MAX_INJECT) {
        orc_errf(errmsg, len, "%lld errant transactions: more than %d to inject",
                 (long long)disc_ogtid_count(&errant), MAX_INJECT);
        rc = ORC_ESTATE;
    }
    for (size_t i = 0; rc == 0 && i < errant.n; i++)
        for (size_t j = 0; rc == 0 && j < errant.u[i].n; j++)
            for (int64_t t = errant.u[i].iv[j].lo; rc == 0 && t <= errant.u[i].iv[j].hi; t++) {
                rc = exec_fmt(x, &cm->key, errmsg, len, "SET GTID_NEXT = '%s:%lld'",
                              errant.u[i].key, (long long)t);
                if (rc == 0)
                    rc = rec_exec(x->s, &cm->key, "BEGIN", false, errmsg, len);
                if (rc == 0)
                    rc = rec_exec(x->s, &cm->key, "COMMIT", false, errmsg, len);
                if (rc == 0)
                    out->injected++;
            }
    {
        char e2[ORC_ERRMSG_SIZE];
        (void)rec_exec(x->s, &cm->key, "SET GTID_NEXT = 'AUTOMATIC'", false, e2, sizeof(e2));
    }
    disc_ogtid_release(&errant);
    return rc;
}

static int do_inject_empty(struct eop *x, struct rec_errant_result *out, char *errmsg, size_t len)
{
    struct disc_instance cm;
    char cks[ORC_KEY_STRLEN];
    int rc;

    if (x->cluster_master.host[0] == '\0' || orc_key_eq(&x->cluster_master, &x->in.key)) {
        orc_errf(errmsg, len, "no cluster master above %s", x->k);
        return ORC_ESTATE;
    }
    orc_key_str(&x->cluster_master, cks, sizeof(cks));
    disc_instance_init(&cm);
    rc = eop_read(x, &x->cluster_master, "cluster master", &cm, errmsg, len);
    if (rc == 0 && (cm.read_only || !cm.log_bin)) {
        orc_errf(errmsg, len, "the cluster master %s is %s", cks,
                 cm.read_only ? "read-only" : "without binary logs");
        rc = ORC_ESTATE;
    }
    if (rc == 0 && cm.ver.flavor != x->in.ver.flavor &&
        (disc_version_is_mysql(&cm.ver) != disc_version_is_mysql(&x->in.ver))) {
        orc_errf(errmsg, len, "the cluster master %s is of another flavor", cks);
        rc = ORC_ESTATE;
    }
    if (rc == 0 && disc_version_is_mysql(&cm.ver) && !cm.supports_oracle_gtid) {
        orc_errf(errmsg, len, "the cluster master %s does not use Oracle GTID", cks);
        rc = ORC_ESTATE;
    }
    if (rc == 0)
        rc = disc_version_is_mysql(&cm.ver) ? inject_mysql(x, &cm, out, errmsg, len)
                                            : inject_mariadb(x, &cm, out, errmsg, len);
    out->master = cm.key;
    if (rc == 0)
        snprintf(out->message, sizeof(out->message),
                 "Have injected %lld transactions on cluster master %s", (long long)out->injected,
                 cks);
    disc_instance_release(&cm);
    return rc;
}

/* Re-probes the instance and the masters until the snapshot shows no
 * errant GTID on it (the errant set needs the master's new reading first). */
static bool wait_clean(struct eop *x, const struct orc_key *also)
{
    int64_t deadline = orc_mono_ms() + REFRESH_MS, next = 0, since = orc_wall_ms();

    for (;;) {
        int64_t now = orc_mono_ms();
        struct disc_snapshot *s;
        bool clean;
        int i;
        if (now >= next) {
            disc_topo_probe_soon(x->env->topo, &x->in.master_key);
            if (also != NULL && also->host[0] != '\0')
                disc_topo_probe_soon(x->env->topo, also);
            disc_topo_probe_soon(x->env->topo, &x->in.key);
            next = now + REPROBE_EVERY_MS;
        }
        s = disc_topo_snapshot(x->env->topo);
        i = s != NULL ? disc_snapshot_find(s, &x->in.key) : -1;
        /* a reading taken after the fix */
        clean = i >= 0 && disc_str(s->instances[i]->gtid_errant)[0] == '\0' &&
                s->instances[i]->last_seen_ms > since;
        disc_snapshot_put(s);
        if (clean)
            return true;
        if (now >= deadline)
            return false;
        orc_sleep_ms(50);
    }
}

const char *rec_errant_op_name(enum rec_errant_op op)
{
    return op == REC_ERRANT_RESET_MASTER ? "gtid-errant-reset-master" : "gtid-errant-inject-empty";
}

/* ---- the fixes, on the operation engine ---- */

struct efix {
    struct eop x;
    enum rec_errant_op op;
    const struct orc_key *key;
    struct rec_errant_result *out;
};

static int fix_prepare(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct efix *f = ctx;

    (void)op;
    return eop_prepare(&f->x, f->key, errmsg, len);
}

/* As orchestrator: the instance is under maintenance while it is reset. */
static int fix_maintenance(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct efix *f = ctx;

    if (f->op != REC_ERRANT_RESET_MASTER)
        return 0;
    return rec_op_maintenance_begin(op, &f->x.in.key, rec_errant_op_name(f->op), MAINTENANCE_S,
                                    errmsg, len);
}

static int fix_act(struct rec_op *op, void *ctx, char *errmsg, size_t len)
{
    struct efix *f = ctx;
    int rc;

    ORC_LOG_N("+errant-gtid-fix", "op=%s instance=%s errant=\"%s\"", rec_errant_op_name(f->op),
              f->x.k, f->x.in.gtid_errant);
    rc = f->op == REC_ERRANT_RESET_MASTER ? do_reset_master(&f->x, f->out, errmsg, len)
                                          : do_inject_empty(&f->x, f->out, errmsg, len);
    if (rc == 0)
        rec_op_step(op, "%s", f->out->message);
    return rc;
}

static const struct rec_op_step fix_steps[] = {
    {"prepare", fix_prepare},
    {"maintenance", fix_maintenance},
    {"act", fix_act},
};

int rec_errant_fix(struct rec_env *env,
                   enum rec_errant_op op,
                   const struct orc_key *key,
                   const char *user,
                   struct rec_errant_result *out,
                   char *errmsg,
                   size_t len)
{
    const char *name = rec_errant_op_name(op);
    struct rec_op run;
    struct efix f;
    int rc;

    memset(&f, 0, sizeof(f));
    memset(out, 0, sizeof(*out));
    f.x.env = env;
    f.op = op;
    f.key = key;
    f.out = out;
    out->key = *key;
    rc = rec_op_init(&run, env, "errant-gtid-fix", NULL);
    if (rc == 0 && run.epoch == 0) {
        rec_op_release(&run);
        orc_errf(errmsg, len, "%s: this node is not the leader", name);
        return ORC_EPERM;
    }
    if (rc == 0)
        rc = rec_op_run_steps(&run, fix_steps, ORC_ARRAY_LEN(fix_steps), &f, errmsg, len);
    rec_op_maintenance_end(&run);
    if (rc == 0) {
        rec_op_audit(env, name, &f.x.in.key, f.x.cluster, "%s; errant GTID was %s; by %s",
                     out->message, f.x.in.gtid_errant, user ? user : "api");
        out->fresh = wait_clean(&f.x, op == REC_ERRANT_INJECT_EMPTY ? &out->master : NULL);
        if (!out->fresh)
            ORC_LOG_W("+errant-gtid-stale",
                      "op=%s instance=%s: the topology still shows errant GTID", name, f.x.k);
    } else {
        if (f.x.in.gtid_errant != NULL)
            ORC_LOG_E("+errant-gtid-fix-failed", "op=%s instance=%s error=\"%s\"", name, f.x.k,
                      errmsg);
        orc_errprefix(errmsg, len, "%s", name);
    }
    rec_op_release(&run);
    eop_release(&f.x);
    return rc;
}
