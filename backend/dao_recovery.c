/*
 * backend typed helpers for failure detection and recovery bookkeeping:
 * detections with their anti-flapping active period, recoveries with
 * RecoveryPeriodBlockSeconds blocking, acknowledgement, steps, blocked
 * recoveries, and the global recovery switch.
 */
#include "backend/be_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- detections ---- */

#define DETECTION_COLS                                                               \
    "detection_id, hostname, port, in_active_period, start_active_period,"           \
    " end_active_period_unixtime, processing_node_hostname, processcing_node_token," \
    " analysis, cluster_name, cluster_alias, count_affected_slaves, slave_hosts,"    \
    " is_actionable"

static void detection_release(struct be_detection *d)
{
    be_str_free(&d->processing_node_hostname);
    be_str_free(&d->processing_node_token);
    be_str_free(&d->analysis);
    be_str_free(&d->cluster_name);
    be_str_free(&d->cluster_alias);
    be_str_free(&d->replica_hosts);
}

BE_DEFINE_LIST_FREE(be_detection_list_free, be_detection_list, detection_release)

static int fill_detection(void *item, int ncols, const char *const *v)
{
    struct be_detection *d = item;

    (void)ncols;
    d->id = be_col_i64(v[0]);
    be_col_key(&d->key, v[1], v[2]);
    d->in_active_period = be_col_i64(v[3]) != 0;
    d->start_active_period = be_col_i64(v[4]);
    d->end_active_period = be_col_i64(v[5]);
    d->count_affected_replicas = (int)be_col_i64(v[11]);
    d->is_actionable = be_col_i64(v[13]) != 0;
    return be_col_str(&d->processing_node_hostname, v[6]) |
           be_col_str(&d->processing_node_token, v[7]) | be_col_str(&d->analysis, v[8]) |
           be_col_str(&d->cluster_name, v[9]) | be_col_str(&d->cluster_alias, v[10]) |
           be_col_str(&d->replica_hosts, v[12]);
}

static void release_detection(void *item)
{
    detection_release(item);
}

int be_detection_register(struct be *b,
                          const struct be_detection *d,
                          int64_t *id,
                          char *errmsg,
                          size_t len)
{
    struct be_val v[] = {BE_VNULL,
                         BE_VTEXT(d->key.host),
                         BE_VINT(d->key.port),
                         BE_VINT(d->start_active_period),
                         BE_VTEXT(be_s(d->processing_node_hostname)),
                         BE_VTEXT(be_s(d->processing_node_token)),
                         BE_VTEXT(be_s(d->analysis)),
                         BE_VTEXT(be_s(d->cluster_name)),
                         BE_VTEXT(be_s(d->cluster_alias)),
                         BE_VINT(d->count_affected_replicas),
                         BE_VTEXT(be_s(d->replica_hosts)),
                         BE_VINT(d->is_actionable ? 1 : 0)};
    char sql[640], k[ORC_KEY_STRLEN];
    int rc;

    *id = 0;
    snprintf(sql, sizeof(sql),
             "%s INTO topology_failure_detection (detection_id, hostname, port,"
             " in_active_period, active_marker, start_active_period,"
             " end_active_period_unixtime, processing_node_hostname, processcing_node_token,"
             " analysis, cluster_name, cluster_alias, count_affected_slaves, slave_hosts,"
             " is_actionable) VALUES (?, ?, ?, 1, 1, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
             be_sql_insert_ignore(b));
    rc = be_insert_next_id(b, "topology_failure_detection", "detection_id", sql, v,
                           ORC_ARRAY_LEN(v), id, errmsg, len);
    if (rc == 0 && *id == 0) {
        struct be_val q[] = {v[1], v[2], v[11]};
        be_query_int(b,
                     "SELECT detection_id FROM topology_failure_detection WHERE hostname = ?"
                     " AND port = ? AND is_actionable = ? AND active_marker = 1",
                     q, 3, id, NULL, 0);
        orc_errf(errmsg, len, "already detected in this active period (id %lld)", (long long)*id);
        rc = ORC_EEXIST;
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "register detection on '%s'",
                      orc_key_str(&d->key, k, sizeof(k)));
    return rc;
}

int be_detection_list(struct be *b,
                      const struct be_detection_filter *f,
                      struct be_detection_list *out,
                      char *errmsg,
                      size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    struct be_val v[5];
    struct be_vec vec = {NULL, 0, 0};
    size_t n = 0;
    int rc;

    rc = orc_buf_puts(&sql, "SELECT " DETECTION_COLS " FROM topology_failure_detection WHERE 1=1");
    if (rc == 0 && f->id > 0) {
        rc = orc_buf_puts(&sql, " AND detection_id = ?");
        v[n++] = BE_VINT(f->id);
    }
    if (rc == 0 && f->cluster_name != NULL) {
        rc = orc_buf_puts(&sql, " AND cluster_name = ?");
        v[n++] = BE_VTEXT(f->cluster_name);
    }
    if (rc == 0 && f->cluster_alias != NULL) {
        rc = orc_buf_puts(&sql, " AND cluster_alias = ?");
        v[n++] = BE_VTEXT(f->cluster_alias);
    }
    rc = rc ? rc : orc_buf_puts(&sql, " ORDER BY detection_id DESC LIMIT ? OFFSET ?");
    v[n++] = BE_VINT(BE_PAGE_SIZE);
    v[n++] = BE_VINT((int64_t)(f->page > 0 ? f->page : 0) * BE_PAGE_SIZE);
    if (rc != 0) {
        orc_errf(errmsg, len, "out of memory");
    } else {
        rc = be_collect(b, orc_buf_str(&sql), v, n, &vec, sizeof(struct be_detection),
                        fill_detection, release_detection, errmsg, len);
    }
    orc_buf_release(&sql);
    BE_VEC_TO_LIST(vec, out);
    return rc;
}

int be_detection_clear_active(struct be *b,
                              int64_t before,
                              int64_t now,
                              int64_t *count,
                              char *errmsg,
                              size_t len)
{
    struct be_val v[] = {BE_VINT(now), BE_VINT(before)};

    return be_exec(b,
                   "UPDATE topology_failure_detection SET in_active_period = 0,"
                   " active_marker = NULL, end_active_period_unixtime = ?"
                   " WHERE in_active_period = 1 AND start_active_period < ?",
                   v, 2, count, errmsg, len);
}

/* ---- recoveries ---- */

#define RECOVERY_COLS                                                                 \
    "recovery_id, uid, hostname, port, in_active_period, start_active_period,"        \
    " end_active_period_unixtime, end_recovery, processing_node_hostname,"            \
    " processcing_node_token, successor_hostname, successor_port, successor_alias,"   \
    " analysis, cluster_name, cluster_alias, count_affected_slaves, slave_hosts,"     \
    " participating_instances, lost_slaves, all_errors, is_successful, acknowledged," \
    " acknowledged_at, acknowledged_by, acknowledge_comment, last_detection_id,"      \
    " related_recovery_id"

void be_recovery_release(struct be_recovery *r)
{
    be_str_free(&r->uid);
    be_str_free(&r->processing_node_hostname);
    be_str_free(&r->processing_node_token);
    be_str_free(&r->successor_alias);
    be_str_free(&r->analysis);
    be_str_free(&r->cluster_name);
    be_str_free(&r->cluster_alias);
    be_str_free(&r->replica_hosts);
    be_str_free(&r->participating_instances);
    be_str_free(&r->lost_replicas);
    be_str_free(&r->all_errors);
    be_str_free(&r->acknowledged_by);
    be_str_free(&r->acknowledge_comment);
}

BE_DEFINE_LIST_FREE(be_recovery_list_free, be_recovery_list, be_recovery_release)

static int fill_recovery(void *item, int ncols, const char *const *v)
{
    struct be_recovery *r = item;

    (void)ncols;
    r->id = be_col_i64(v[0]);
    be_col_key(&r->key, v[2], v[3]);
    r->in_active_period = be_col_i64(v[4]) != 0;
    r->start_active_period = be_col_i64(v[5]);
    r->end_active_period = be_col_i64(v[6]);
    r->end_recovery = be_col_i64(v[7]);
    be_col_key(&r->successor, v[10], v[11]);
    r->count_affected_replicas = (int)be_col_i64(v[16]);
    r->is_successful = be_col_i64(v[21]) != 0;
    r->acknowledged = be_col_i64(v[22]) != 0;
    r->acknowledged_at = be_col_i64(v[23]);
    r->last_detection_id = be_col_i64(v[26]);
    r->related_recovery_id = be_col_i64(v[27]);
    return be_col_str(&r->uid, v[1]) | be_col_str(&r->processing_node_hostname, v[8]) |
           be_col_str(&r->processing_node_token, v[9]) | be_col_str(&r->successor_alias, v[12]) |
           be_col_str(&r->analysis, v[13]) | be_col_str(&r->cluster_name, v[14]) |
           be_col_str(&r->cluster_alias, v[15]) | be_col_str(&r->replica_hosts, v[17]) |
           be_col_str(&r->participating_instances, v[18]) | be_col_str(&r->lost_replicas, v[19]) |
           be_col_str(&r->all_errors, v[20]) | be_col_str(&r->acknowledged_by, v[24]) |
           be_col_str(&r->acknowledge_comment, v[25]);
}

static void release_recovery(void *item)
{
    be_recovery_release(item);
}

/* Ends the active period of recoveries started before `before`. */
static int clear_active(struct be *b,
                        int64_t before,
                        int64_t now,
                        int64_t *count,
                        char *errmsg,
                        size_t len)
{
    struct be_val v[] = {BE_VINT(now), BE_VINT(before)};

    return be_exec(b,
                   "UPDATE topology_recovery SET in_active_period = 0, active_marker = NULL,"
                   " end_active_period_unixtime = ?"
                   " WHERE in_active_period = 1 AND start_active_period < ?",
                   v, 2, count, errmsg, len);
}

static int read_errors(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    struct orc_buf *b = ctx;

    (void)ncols;
    (void)names;
    return vals[0] != NULL ? orc_buf_puts(b, vals[0]) : 0;
}

int be_recovery_abandon(struct be *b,
                        const char *uid,
                        const char *reason,
                        int64_t now,
                        int64_t *count,
                        char *errmsg,
                        size_t len)
{
    struct orc_buf errs = ORC_BUF_INIT;
    struct be_val k[] = {BE_VTEXT(be_s(uid))};
    int rc = be_begin(b, errmsg, len);

    if (rc == 0)
        rc = be_query(b, "SELECT all_errors FROM topology_recovery WHERE uid = ?", k, 1,
                      read_errors, &errs, errmsg, len);
    if (rc == 0)
        rc = orc_buf_printf(&errs, "%s\n", be_s(reason));
    if (rc == 0) {
        struct be_val v[] = {BE_VINT(now), BE_VINT(now), BE_VTEXT(orc_buf_str(&errs)),
                             BE_VTEXT(be_s(uid))};
        rc =
            be_exec(b,
                    "UPDATE topology_recovery SET end_recovery = ?, end_active_period_unixtime = ?,"
                    " in_active_period = 0, active_marker = NULL, is_successful = 0,"
                    " all_errors = ? WHERE uid = ? AND end_recovery = 0",
                    v, ORC_ARRAY_LEN(v), count, errmsg, len);
    }
    if (rc == 0)
        rc = be_commit(b, errmsg, len);
    else
        be_rollback(b, NULL, 0);
    orc_buf_release(&errs);
    if (rc != 0)
        orc_errprefix(errmsg, len, "abandon recovery '%s'", be_s(uid));
    return rc;
}

int be_recovery_adopt(struct be *b,
                      const char *uid,
                      const char *prev_token,
                      const char *token,
                      const char *hostname,
                      int64_t *count,
                      char *errmsg,
                      size_t len)
{
    struct be_val v[] = {BE_VTEXT(be_s(token)), BE_VTEXT(be_s(hostname)), BE_VTEXT(be_s(uid)),
                         BE_VTEXT(be_s(prev_token))};
    int rc = be_exec(b,
                     "UPDATE topology_recovery SET processcing_node_token = ?,"
                     " processing_node_hostname = ? WHERE uid = ? AND end_recovery = 0"
                     " AND processcing_node_token = ?",
                     v, ORC_ARRAY_LEN(v), count, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "adopt recovery '%s'", be_s(uid));
    return rc;
}

int be_recovery_set_successor(struct be *b,
                              const char *uid,
                              const struct orc_key *successor,
                              char *errmsg,
                              size_t len)
{
    struct be_val v[] = {BE_VTEXT(successor->host), BE_VINT(successor->port), BE_VTEXT(be_s(uid))};
    int64_t n = 0;
    int rc = be_exec(b,
                     "UPDATE topology_recovery SET successor_hostname = ?, successor_port = ?"
                     " WHERE uid = ? AND end_recovery = 0",
                     v, ORC_ARRAY_LEN(v), &n, errmsg, len);

    if (rc == 0 && n == 0) {
        orc_errf(errmsg, len, "no unresolved recovery");
        rc = ORC_ENOTFOUND;
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "set successor of recovery '%s'", be_s(uid));
    return rc;
}

int be_recovery_clear_active(struct be *b,
                             int64_t before,
                             int64_t now,
                             int64_t *count,
                             char *errmsg,
                             size_t len)
{
    return clear_active(b, before, now, count, errmsg, len);
}

/* The id of an unacknowledged recovery in its active period that blocks a new
 * one: same cluster, or one whose successor is the failed instance. 0 if none. */
static int find_blocking(struct be *b,
                         const struct be_recovery *r,
                         int64_t *blocking,
                         char *errmsg,
                         size_t len)
{
    struct be_val v[] = {BE_VTEXT(be_s(r->cluster_name)), BE_VTEXT(r->key.host),
                         BE_VINT(r->key.port)};
    int rc = be_query_int(b,
                          "SELECT recovery_id FROM topology_recovery WHERE in_active_period = 1"
                          " AND acknowledged = 0 AND (cluster_name = ?"
                          " OR (successor_hostname = ? AND successor_port = ?))"
                          " ORDER BY recovery_id DESC LIMIT 1",
                          v, 3, blocking, errmsg, len);

    if (rc == ORC_ENOTFOUND) {
        *blocking = 0;
        rc = 0;
    }
    return rc;
}

/* Forced runs acknowledge the failed instance's finished recoveries. */
static int ack_finished_of_instance(struct be *b,
                                    const struct be_recovery *r,
                                    int64_t now,
                                    char *errmsg,
                                    size_t len)
{
    struct be_val v[] = {BE_VINT(now), BE_VINT(now), BE_VTEXT(r->key.host), BE_VINT(r->key.port)};

    return be_exec(b,
                   "UPDATE topology_recovery SET in_active_period = 0, active_marker = NULL,"
                   " end_active_period_unixtime = ?, acknowledged = 1, acknowledged_at = ?,"
                   " acknowledged_by = 'orchestrator',"
                   " acknowledge_comment = 'auto-acknowledged by forced recovery'"
                   " WHERE acknowledged = 0 AND end_recovery > 0 AND hostname = ? AND port = ?",
                   v, 4, NULL, errmsg, len);
}

static int record_block(struct be *b,
                        const struct be_recovery *r,
                        int64_t now,
                        int64_t blocking,
                        char *errmsg,
                        size_t len)
{
    struct be_blocked_recovery br = {.key = r->key,
                                     .cluster_name = r->cluster_name,
                                     .analysis = r->analysis,
                                     .last_blocked = now,
                                     .blocking_id = blocking};

    return be_blocked_recovery_record(b, &br, errmsg, len);
}

static int insert_recovery(struct be *b,
                           const struct be_recovery *r,
                           int64_t now,
                           int64_t *id,
                           char *errmsg,
                           size_t len)
{
    struct be_val v[] = {BE_VNULL,
                         BE_VTEXT(be_s(r->uid)),
                         BE_VTEXT(r->key.host),
                         BE_VINT(r->key.port),
                         BE_VINT(now),
                         BE_VTEXT(be_s(r->processing_node_hostname)),
                         BE_VTEXT(be_s(r->processing_node_token)),
                         BE_VTEXT(be_s(r->analysis)),
                         BE_VTEXT(be_s(r->cluster_name)),
                         BE_VTEXT(be_s(r->cluster_alias)),
                         BE_VINT(r->count_affected_replicas),
                         BE_VTEXT(be_s(r->replica_hosts)),
                         BE_VINT(r->last_detection_id),
                         BE_VINT(r->related_recovery_id)};

    return be_insert_next_id(
        b, "topology_recovery", "recovery_id",
        "INSERT INTO topology_recovery (recovery_id, uid, hostname, port, in_active_period,"
        " active_marker, start_active_period, end_active_period_unixtime, end_recovery,"
        " processing_node_hostname, processcing_node_token, analysis, cluster_name,"
        " cluster_alias, count_affected_slaves, slave_hosts, last_detection_id,"
        " related_recovery_id)"
        " VALUES (?, ?, ?, ?, 1, 1, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        v, ORC_ARRAY_LEN(v), id, errmsg, len);
}

/* The id of the recovery in its active period on the same failed instance. */
static int find_active_on_instance(struct be *b,
                                   const struct be_recovery *r,
                                   int64_t *id,
                                   char *errmsg,
                                   size_t len)
{
    struct be_val v[] = {BE_VTEXT(r->key.host), BE_VINT(r->key.port)};
    int rc = be_query_int(b,
                          "SELECT recovery_id FROM topology_recovery WHERE hostname = ?"
                          " AND port = ? AND active_marker = 1",
                          v, 2, id, errmsg, len);

    if (rc == ORC_ENOTFOUND) {
        *id = 0;
        rc = 0;
    }
    return rc;
}

static int register_in_txn(struct be *b,
                           const struct be_recovery *r,
                           const struct be_recovery_register_args *a,
                           int64_t *id,
                           int64_t *blocking,
                           char *errmsg,
                           size_t len)
{
    int rc = clear_active(b, a->now - a->block_seconds, a->now, NULL, errmsg, len);

    if (rc == 0 && a->force)
        rc = ack_finished_of_instance(b, r, a->now, errmsg, len);
    if (rc == 0 && !a->force)
        rc = find_blocking(b, r, blocking, errmsg, len);
    if (rc == 0 && *blocking == 0)
        rc = find_active_on_instance(b, r, blocking, errmsg, len);
    if (rc != 0)
        return rc;
    if (*blocking == 0)
        return insert_recovery(b, r, a->now, id, errmsg, len);
    rc = record_block(b, r, a->now, *blocking, errmsg, len);
    if (rc == 0) {
        orc_errf(errmsg, len, "blocked by recovery %lld in its active period",
                 (long long)*blocking);
        rc = ORC_EEXIST;
    }
    return rc;
}

int be_recovery_register(struct be *b,
                         const struct be_recovery *r,
                         const struct be_recovery_register_args *a,
                         int64_t *id,
                         int64_t *blocking_id,
                         char *errmsg,
                         size_t len)
{
    int64_t blocking = 0;
    char k[ORC_KEY_STRLEN];
    int rc;

    *id = 0;
    if (r->uid == NULL || *r->uid == '\0') {
        orc_errf(errmsg, len, "register recovery: empty uid");
        return ORC_EINVAL;
    }
    rc = be_begin(b, errmsg, len);
    if (rc == 0) {
        rc = register_in_txn(b, r, a, id, &blocking, errmsg, len);
        /* a refusal is recorded (blocked_topology_recovery): commit it too */
        if (rc == 0 || rc == ORC_EEXIST) {
            int crc = be_commit(b, rc == 0 ? errmsg : NULL, rc == 0 ? len : 0);
            rc = crc != 0 ? crc : rc;
        } else {
            be_rollback(b, NULL, 0);
        }
    }
    if (blocking_id != NULL)
        *blocking_id = blocking;
    if (rc != 0)
        orc_errprefix(errmsg, len, "register recovery on '%s'", orc_key_str(&r->key, k, sizeof(k)));
    return rc;
}

int be_recovery_resolve(struct be *b, const struct be_recovery *r, char *errmsg, size_t len)
{
    struct be_val v[] = {BE_VTEXT(r->successor.host),
                         BE_VINT(r->successor.port),
                         BE_VTEXT(be_s(r->successor_alias)),
                         BE_VINT(r->is_successful ? 1 : 0),
                         BE_VTEXT(be_s(r->participating_instances)),
                         BE_VTEXT(be_s(r->lost_replicas)),
                         BE_VTEXT(be_s(r->all_errors)),
                         BE_VINT(r->end_recovery),
                         BE_VTEXT(be_s(r->uid))};
    int64_t n = 0;
    int rc = be_exec(b,
                     "UPDATE topology_recovery SET successor_hostname = ?, successor_port = ?,"
                     " successor_alias = ?, is_successful = ?, participating_instances = ?,"
                     " lost_slaves = ?, all_errors = ?, end_recovery = ? WHERE uid = ?",
                     v, ORC_ARRAY_LEN(v), &n, errmsg, len);

    if (rc == 0 && n == 0) {
        orc_errf(errmsg, len, "no such recovery");
        rc = ORC_ENOTFOUND;
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "resolve recovery '%s'", be_s(r->uid));
    return rc;
}

static int ack_selector(const struct be_recovery_ack *a,
                        const char **where,
                        struct be_val *v,
                        size_t *n)
{
    int chosen = (a->id > 0) + (a->uid != NULL) + (a->cluster_name != NULL) + (a->key != NULL) +
                 (a->all ? 1 : 0);

    if (chosen != 1)
        return ORC_EINVAL;
    if (a->id > 0) {
        *where = " AND recovery_id = ?";
        v[(*n)++] = BE_VINT(a->id);
    } else if (a->uid != NULL) {
        *where = " AND uid = ?";
        v[(*n)++] = BE_VTEXT(a->uid);
    } else if (a->cluster_name != NULL) {
        *where = " AND cluster_name = ?";
        v[(*n)++] = BE_VTEXT(a->cluster_name);
    } else if (a->key != NULL) {
        *where = " AND hostname = ? AND port = ?";
        v[(*n)++] = BE_VTEXT(a->key->host);
        v[(*n)++] = BE_VINT(a->key->port);
    } else {
        *where = "";
    }
    return 0;
}

int be_recovery_ack(struct be *b,
                    const struct be_recovery_ack *a,
                    int64_t *count,
                    char *errmsg,
                    size_t len)
{
    struct be_val v[8] = {BE_VINT(a->now), BE_VINT(a->now), BE_VTEXT(be_s(a->owner)),
                          BE_VTEXT(be_s(a->comment))};
    const char *where = "";
    char sql[512];
    size_t n = 4;
    int rc;

    if (ack_selector(a, &where, v, &n) != 0) {
        orc_errf(errmsg, len, "acknowledge recoveries: need exactly one selector");
        return ORC_EINVAL;
    }
    snprintf(sql, sizeof(sql),
             "UPDATE topology_recovery SET in_active_period = 0, active_marker = NULL,"
             " end_active_period_unixtime = CASE WHEN end_active_period_unixtime = 0"
             " THEN ? ELSE end_active_period_unixtime END, acknowledged = 1,"
             " acknowledged_at = ?, acknowledged_by = ?, acknowledge_comment = ?"
             " WHERE acknowledged = 0%s",
             where);
    rc = be_exec(b, sql, v, n, count, errmsg, len);
    if (rc != 0)
        orc_errprefix(errmsg, len, "acknowledge recoveries");
    return rc;
}

int be_recovery_list(struct be *b,
                     const struct be_recovery_filter *f,
                     struct be_recovery_list *out,
                     char *errmsg,
                     size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    struct be_val v[6];
    struct be_vec vec = {NULL, 0, 0};
    size_t n = 0;
    int rc = orc_buf_puts(&sql, "SELECT " RECOVERY_COLS " FROM topology_recovery WHERE 1=1");

    if (rc == 0 && f->id > 0) {
        rc = orc_buf_puts(&sql, " AND recovery_id = ?");
        v[n++] = BE_VINT(f->id);
    }
    if (rc == 0 && f->uid != NULL) {
        rc = orc_buf_puts(&sql, " AND uid = ?");
        v[n++] = BE_VTEXT(f->uid);
    }
    if (rc == 0 && f->cluster_name != NULL) {
        rc = orc_buf_puts(&sql, " AND cluster_name = ?");
        v[n++] = BE_VTEXT(f->cluster_name);
    }
    if (rc == 0 && f->cluster_alias != NULL) {
        rc = orc_buf_puts(&sql, " AND cluster_alias = ?");
        v[n++] = BE_VTEXT(f->cluster_alias);
    }
    if (rc == 0 && f->unacknowledged_only)
        rc = orc_buf_puts(&sql, " AND acknowledged = 0");
    if (rc == 0 && f->unresolved_only)
        rc = orc_buf_puts(&sql, " AND end_recovery = 0");
    rc = rc ? rc : orc_buf_puts(&sql, " ORDER BY recovery_id DESC LIMIT ? OFFSET ?");
    v[n++] = BE_VINT(BE_PAGE_SIZE);
    v[n++] = BE_VINT((int64_t)(f->page > 0 ? f->page : 0) * BE_PAGE_SIZE);
    if (rc != 0)
        orc_errf(errmsg, len, "out of memory");
    else
        rc = be_collect(b, orc_buf_str(&sql), v, n, &vec, sizeof(struct be_recovery), fill_recovery,
                        release_recovery, errmsg, len);
    orc_buf_release(&sql);
    BE_VEC_TO_LIST(vec, out);
    return rc;
}

int be_recovery_active(struct be *b,
                       const char *cluster,
                       struct be_recovery *out,
                       char *errmsg,
                       size_t len)
{
    struct be_val v[] = {BE_VTEXT(cluster)};
    struct be_vec vec;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = be_collect(b,
                    "SELECT " RECOVERY_COLS
                    " FROM topology_recovery WHERE cluster_name = ?"
                    " AND in_active_period = 1 AND acknowledged = 0"
                    " ORDER BY recovery_id DESC LIMIT 1",
                    v, 1, &vec, sizeof(struct be_recovery), fill_recovery, release_recovery, errmsg,
                    len);
    if (rc != 0)
        return rc;
    if (vec.n == 0) {
        free(vec.v);
        orc_errf(errmsg, len, "no active recovery on cluster '%s'", be_s(cluster));
        return ORC_ENOTFOUND;
    }
    *out = *(struct be_recovery *)vec.v;
    free(vec.v);
    return 0;
}

/* ---- steps ---- */

static void step_release(struct be_recovery_step *s)
{
    be_str_free(&s->uid);
    be_str_free(&s->message);
}

BE_DEFINE_LIST_FREE(be_recovery_step_list_free, be_recovery_step_list, step_release)

static int fill_step(void *item, int ncols, const char *const *v)
{
    struct be_recovery_step *s = item;

    (void)ncols;
    s->id = be_col_i64(v[0]);
    s->at = be_col_i64(v[2]);
    return be_col_str(&s->uid, v[1]) | be_col_str(&s->message, v[3]);
}

static void release_step(void *item)
{
    step_release(item);
}

int be_recovery_step_write(struct be *b,
                           const char *uid,
                           int64_t at,
                           const char *message,
                           char *errmsg,
                           size_t len)
{
    struct be_val v[] = {BE_VNULL, BE_VTEXT(uid), BE_VINT(at), BE_VTEXT(be_s(message))};
    int64_t id = 0;
    int rc = be_insert_next_id(b, "topology_recovery_steps", "recovery_step_id",
                               "INSERT INTO topology_recovery_steps (recovery_step_id,"
                               " recovery_uid, audit_at, message) VALUES (?, ?, ?, ?)",
                               v, 4, &id, errmsg, len);

    if (rc != 0)
        orc_errprefix(errmsg, len, "write step of recovery '%s'", be_s(uid));
    return rc;
}

int be_recovery_steps(struct be *b,
                      const char *uid,
                      struct be_recovery_step_list *out,
                      char *errmsg,
                      size_t len)
{
    struct be_val v[] = {BE_VTEXT(uid)};
    struct be_vec vec;
    int rc = be_collect(b,
                        "SELECT recovery_step_id, recovery_uid, audit_at, message"
                        " FROM topology_recovery_steps WHERE recovery_uid = ?"
                        " ORDER BY recovery_step_id",
                        v, 1, &vec, sizeof(struct be_recovery_step), fill_step, release_step,
                        errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}

/* ---- blocked recoveries ---- */

static void blocked_release(struct be_blocked_recovery *r)
{
    be_str_free(&r->cluster_name);
    be_str_free(&r->analysis);
}

BE_DEFINE_LIST_FREE(be_blocked_recovery_list_free, be_blocked_recovery_list, blocked_release)

static int fill_blocked(void *item, int ncols, const char *const *v)
{
    struct be_blocked_recovery *r = item;

    (void)ncols;
    be_col_key(&r->key, v[0], v[1]);
    r->last_blocked = be_col_i64(v[4]);
    r->blocking_id = be_col_i64(v[5]);
    return be_col_str(&r->cluster_name, v[2]) | be_col_str(&r->analysis, v[3]);
}

static void release_blocked(void *item)
{
    blocked_release(item);
}

int be_blocked_recovery_record(struct be *b,
                               const struct be_blocked_recovery *r,
                               char *errmsg,
                               size_t len)
{
    static const char *const cols[] = {"hostname",
                                       "port",
                                       "cluster_name",
                                       "analysis",
                                       "last_blocked_timestamp",
                                       "blocking_recovery_id"};
    struct be_val v[] = {BE_VTEXT(r->key.host),           BE_VINT(r->key.port),
                         BE_VTEXT(be_s(r->cluster_name)), BE_VTEXT(be_s(r->analysis)),
                         BE_VINT(r->last_blocked),        BE_VINT(r->blocking_id)};

    return be_upsert(b, "blocked_topology_recovery", cols, 6, 2, v, 1, errmsg, len);
}

int be_blocked_recovery_list(struct be *b,
                             const char *cluster,
                             struct be_blocked_recovery_list *out,
                             char *errmsg,
                             size_t len)
{
    struct be_val v[] = {BE_VTEXT(cluster)};
    struct be_vec vec;
    int rc = be_collect(b,
                        cluster != NULL ? "SELECT hostname, port, cluster_name, analysis,"
                                          " last_blocked_timestamp, blocking_recovery_id FROM"
                                          " blocked_topology_recovery WHERE cluster_name = ?"
                                          " ORDER BY last_blocked_timestamp DESC, hostname, port"
                                        : "SELECT hostname, port, cluster_name, analysis,"
                                          " last_blocked_timestamp, blocking_recovery_id FROM"
                                          " blocked_topology_recovery"
                                          " ORDER BY last_blocked_timestamp DESC, hostname, port",
                        v, cluster != NULL ? 1 : 0, &vec, sizeof(struct be_blocked_recovery),
                        fill_blocked, release_blocked, errmsg, len);

    BE_VEC_TO_LIST(vec, out);
    return rc;
}

int be_blocked_recovery_expire(struct be *b,
                               int64_t before,
                               int64_t *count,
                               char *errmsg,
                               size_t len)
{
    struct be_val v[] = {BE_VINT(before)};

    return be_exec(b, "DELETE FROM blocked_topology_recovery WHERE last_blocked_timestamp < ?", v,
                   1, count, errmsg, len);
}

/* ---- global switch ---- */

int be_recovery_global_set(struct be *b, bool disabled, char *errmsg, size_t len)
{
    char sql[96];
    int rc;

    if (disabled) {
        snprintf(sql, sizeof(sql), "%s INTO global_recovery_disable (disable_recovery) VALUES (1)",
                 be_sql_insert_ignore(b));
        rc = be_exec(b, sql, NULL, 0, NULL, errmsg, len);
    } else {
        rc = be_exec(b, "DELETE FROM global_recovery_disable", NULL, 0, NULL, errmsg, len);
    }
    if (rc != 0)
        orc_errprefix(errmsg, len, "%s global recoveries", disabled ? "disable" : "enable");
    return rc;
}

int be_recovery_global_disabled(struct be *b, bool *disabled, char *errmsg, size_t len)
{
    int64_t n = 0;
    int rc =
        be_query_int(b, "SELECT COUNT(*) FROM global_recovery_disable", NULL, 0, &n, errmsg, len);

    *disabled = rc == 0 && n > 0;
    return rc;
}
