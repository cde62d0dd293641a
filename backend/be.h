/*
 * backend: the store. One interface over two dialects, SQLite (embedded,
 * the default) and MySQL/MariaDB (MySQLOrchestrator* keys), with the same
 * schema and migrations for both. Tables and columns keep orchestrator's
 * names; every timestamp is a BIGINT of unix seconds.
 *
 * Threads: every function here may be called from any thread. A backend has
 * one connection guarded by one (recursive) mutex, so calls are serialized.
 * A transaction (be_begin .. be_commit/be_rollback) holds that mutex for its
 * whole length: other threads wait until it ends, so keep transactions short
 * and never wait on another thread while holding one.
 *
 * MySQL: call mysql_library_init() before any thread starts (the service does
 * it at start); the backend does not.
 *
 * Errors: functions return 0 or a negative ORC_E* code and write a message
 * into the caller's errmsg buffer (which may be NULL).
 *
 * Ownership: strings passed in are borrowed for the length of the call. Structs
 * and lists filled by the backend own their strings; release them with the
 * matching be_*_release / be_*_list_free. Every string field of a struct filled
 * by the backend is non-NULL ("" for SQL NULL). On error an output list is
 * left empty.
 */
#ifndef ORC_BACKEND_BE_H
#define ORC_BACKEND_BE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/orc.h"

struct be;

struct be_options {
    const char *kind; /* "sqlite" | "mysql" */
    const char *sqlite_path;
    const char *mysql_host;
    int mysql_port;
    const char *mysql_database;
    const char *mysql_user;
    const char *mysql_password;
    int connect_timeout_s; /* <= 0: 10 s */
    int read_timeout_s;    /* also the write timeout; <= 0: 30 s */
    /* mysql TLS: required when tls; verified unless tls_skip_verify */
    bool tls;
    const char *tls_ca, *tls_cert, *tls_key; /* NULL/"": none */
    bool tls_skip_verify;
};

struct orc_config;
/* Sets the TLS fields of o from the MySQLOrchestrator* keys: TLS is on with
 * MySQLOrchestratorUseMutualTLS, MySQLOrchestratorSSLCAFile or a client
 * certificate. Strings are borrowed from c. */
void be_options_tls(struct be_options *o, const struct orc_config *c);

/* Opens the store (creating the SQLite file, or the MySQL database when the
 * user may). Does not migrate. On success *out is the caller's, to be_close. */
int be_open(const struct be_options *o, struct be **out, char *errmsg, size_t len);
/* Rolls back the caller's open transaction, closes the connection, frees b
 * (NULL ok). No other thread may be using b. */
void be_close(struct be *b);
/* "sqlite" or "mysql"; static. */
const char *be_kind(const struct be *b);

/* ---- schema ---- */

/* Applies the migrations the store lacks, in order; *applied (may be NULL)
 * says how many ran (0 when up to date). SQLite runs each step in one
 * transaction; MySQL commits DDL implicitly, so every step is idempotent and a
 * step cut short is simply run again on the next start. On MySQL a named lock
 * keeps two processes from migrating at once. */
int be_migrate(struct be *b, int *applied, char *errmsg, size_t len);
/* The latest schema version this build knows. */
int be_schema_latest(void);
/* The version the store is at: 0 for an empty store, or a negative ORC_E*. */
int be_schema_version(struct be *b);

/* ---- generic SQL: '?' placeholders, prepared statements in both dialects ---- */

enum be_type { BE_NULL = 0, BE_INT, BE_TEXT, BE_REAL };

struct be_val {
    enum be_type type;
    int64_t i;
    const char *s; /* BE_TEXT; NULL is bound as SQL NULL */
    double d;
};

#define BE_VNULL ((struct be_val){.type = BE_NULL})
#define BE_VINT(x) ((struct be_val){.type = BE_INT, .i = (int64_t)(x)})
#define BE_VTEXT(x) ((struct be_val){.type = BE_TEXT, .s = (x)})
#define BE_VREAL(x) ((struct be_val){.type = BE_REAL, .d = (x)})

/* Runs one statement. *affected (may be NULL) counts the rows changed, or for
 * UPDATE the rows matched (the same in both dialects). */
int be_exec(struct be *b,
            const char *sql,
            const struct be_val *params,
            size_t n,
            int64_t *affected,
            char *errmsg,
            size_t len);
/* Runs one INSERT and returns the id of the new row in *id (0 if none). */
int be_insert(struct be *b,
              const char *sql,
              const struct be_val *params,
              size_t n,
              int64_t *id,
              char *errmsg,
              size_t len);

/* Called once per row: values as text (NULL for SQL NULL), valid only during
 * the call. Return non-zero to stop; be_query then returns that value. The
 * callback runs with the backend's lock held and must not call into b. */
typedef int (*be_row_cb)(void *ctx, int ncols, const char *const *vals, const char *const *names);

int be_query(struct be *b,
             const char *sql,
             const struct be_val *params,
             size_t n,
             be_row_cb cb,
             void *ctx,
             char *errmsg,
             size_t len);

/* How many calls so far failed because the backend did (server gone, I/O,
 * lock timeout, memory) rather than the statement: a caller compares two
 * readings to tell a failing store from a refused statement. */
uint64_t be_transient_failures(struct be *b);

/* Transactions nest: an inner begin/commit pair only counts; an inner rollback
 * makes the outermost commit roll back and fail with ORC_EDB. The calling thread
 * holds the backend's lock from be_begin to its matching commit/rollback. */
int be_begin(struct be *b, char *errmsg, size_t len);
int be_commit(struct be *b, char *errmsg, size_t len);
int be_rollback(struct be *b, char *errmsg, size_t len);

/* Inserts or updates nrows rows in one transaction. cols names ncols columns,
 * the first nkey of which form the primary (or a unique) key; rows is row-major,
 * nrows * ncols values. Other columns are overwritten on conflict. Table and
 * column names must be plain identifiers ([A-Za-z0-9_]). */
int be_upsert(struct be *b,
              const char *table,
              const char *const *cols,
              size_t ncols,
              size_t nkey,
              const struct be_val *rows,
              size_t nrows,
              char *errmsg,
              size_t len);

/* Inserts one row unless it conflicts with a primary or unique key (INSERT
 * IGNORE / INSERT OR IGNORE); *inserted (may be NULL) tells which. Table and
 * column names must be plain identifiers. */
int be_insert_ignore(struct be *b,
                     const char *table,
                     const char *const *cols,
                     size_t ncols,
                     const struct be_val *vals,
                     bool *inserted,
                     char *errmsg,
                     size_t len);

/* ---- typed helpers ---- */

#define BE_PAGE_SIZE 20 /* rows per page of audit, detections, recoveries */

/* Downtime (database_instance_downtime): one row per instance. */
struct be_downtime {
    struct orc_key key;
    bool active;
    int64_t begin_ts;
    int64_t end_ts;
    const char *owner;
    const char *reason;
};
struct be_downtime_list {
    struct be_downtime *v;
    size_t n;
    size_t cap;
};
void be_downtime_release(struct be_downtime *d);
void be_downtime_list_free(struct be_downtime_list *l);

/* Begins (or replaces) the instance's downtime. */
int be_downtime_begin(struct be *b, const struct be_downtime *d, char *errmsg, size_t len);
/* Ends it; ORC_ENOTFOUND when the instance was not downtimed. */
int be_downtime_end(struct be *b, const struct orc_key *k, char *errmsg, size_t len);
/* The active downtime (end_ts > now) of one instance, or ORC_ENOTFOUND. */
int be_downtime_get(struct be *b,
                    const struct orc_key *k,
                    int64_t now,
                    struct be_downtime *out,
                    char *errmsg,
                    size_t len);
/* Active downtimes (end_ts > now), ordered by host, port. */
int be_downtime_list_active(struct be *b,
                            int64_t now,
                            struct be_downtime_list *out,
                            char *errmsg,
                            size_t len);
/* Deletes downtimes that ended at or before now; *count (may be NULL). */
int be_downtime_expire(struct be *b, int64_t now, int64_t *count, char *errmsg, size_t len);

/* Maintenance (database_instance_maintenance): at most one active per instance. */
struct be_maintenance {
    int64_t id;
    struct orc_key key;
    bool active;
    int64_t begin_ts;
    int64_t end_ts;
    const char *owner;
    const char *reason;
    const char *processing_node_hostname;
    const char *processing_node_token;
    bool explicitly_bounded;
};
struct be_maintenance_list {
    struct be_maintenance *v;
    size_t n;
    size_t cap;
};
void be_maintenance_release(struct be_maintenance *m);
void be_maintenance_list_free(struct be_maintenance_list *l);

/* Begins maintenance (m->id and m->active are ignored); *id is the new id. When
 * the instance is already under maintenance: ORC_EEXIST and *id is that one's. */
int be_maintenance_begin(struct be *b,
                         const struct be_maintenance *m,
                         int64_t *id,
                         char *errmsg,
                         size_t len);
/* Ends an active maintenance by id, or the instance's; ORC_ENOTFOUND if none. */
int be_maintenance_end(struct be *b, int64_t id, int64_t now, char *errmsg, size_t len);
int be_maintenance_end_key(struct be *b,
                           const struct orc_key *k,
                           int64_t now,
                           char *errmsg,
                           size_t len);
/* *active: the instance has an active maintenance ending after now; *id (may be
 * NULL) its id. */
int be_maintenance_active(struct be *b,
                          const struct orc_key *k,
                          int64_t now,
                          bool *active,
                          int64_t *id,
                          char *errmsg,
                          size_t len);
int be_maintenance_list_active(struct be *b,
                               int64_t now,
                               struct be_maintenance_list *out,
                               char *errmsg,
                               size_t len);
/* Ends active maintenances whose end_ts <= now; *count (may be NULL). */
int be_maintenance_expire(struct be *b, int64_t now, int64_t *count, char *errmsg, size_t len);

/* Candidate rules (candidate_database_instance). */
struct be_candidate {
    struct orc_key key;
    int64_t last_suggested;
    int priority;
    const char *promotion_rule; /* must|prefer|neutral|prefer_not|must_not */
};
struct be_candidate_list {
    struct be_candidate *v;
    size_t n;
    size_t cap;
};
void be_candidate_release(struct be_candidate *c);
void be_candidate_list_free(struct be_candidate_list *l);

/* Registers (or refreshes) a rule; ORC_EINVAL for an unknown rule. */
int be_candidate_register(struct be *b, const struct be_candidate *c, char *errmsg, size_t len);
/* Rules suggested at or after since (older ones have expired). */
int be_candidate_list(struct be *b,
                      int64_t since,
                      struct be_candidate_list *out,
                      char *errmsg,
                      size_t len);
/* Deletes rules suggested before `before`; *count (may be NULL). */
int be_candidate_expire(struct be *b, int64_t before, int64_t *count, char *errmsg, size_t len);

/* Cluster aliases (cluster_alias, cluster_alias_override). An alias names one
 * cluster: setting it on a cluster takes it from any other. */
struct be_alias {
    const char *cluster_name;
    const char *alias;
};
struct be_alias_list {
    struct be_alias *v;
    size_t n;
    size_t cap;
};
void be_alias_list_free(struct be_alias_list *l);

/* Registers the computed alias; a manual override of the cluster wins over it. */
int be_alias_register(struct be *b,
                      const char *cluster,
                      const char *alias,
                      int64_t now,
                      char *errmsg,
                      size_t len);
/* Sets a manual override (set-cluster-alias); it applies at once. */
int be_alias_set_override(struct be *b,
                          const char *cluster,
                          const char *alias,
                          int64_t now,
                          char *errmsg,
                          size_t len);
/* *alias (caller frees) of a cluster, or ORC_ENOTFOUND. */
int be_alias_get(struct be *b, const char *cluster, char **alias, char *errmsg, size_t len);
/* *cluster (caller frees) named by an alias, or ORC_ENOTFOUND. */
int be_alias_find_cluster(struct be *b,
                          const char *alias,
                          char **cluster,
                          char *errmsg,
                          size_t len);
/* Every cluster's alias, ordered by cluster name. */
int be_alias_list(struct be *b, struct be_alias_list *out, char *errmsg, size_t len);

/* Audit. */
struct be_audit {
    int64_t id;
    int64_t ts;
    const char *type;
    struct orc_key key; /* host "" when the entry is about no instance */
    const char *cluster_name;
    const char *message;
};
struct be_audit_list {
    struct be_audit *v;
    size_t n;
    size_t cap;
};
void be_audit_list_free(struct be_audit_list *l);

int be_audit_write(struct be *b, const struct be_audit *a, char *errmsg, size_t len);
/* Page (from 0) of BE_PAGE_SIZE entries, newest first; key NULL for all. */
int be_audit_page(struct be *b,
                  int page,
                  const struct orc_key *key,
                  struct be_audit_list *out,
                  char *errmsg,
                  size_t len);
int be_audit_expire(struct be *b, int64_t before, int64_t *count, char *errmsg, size_t len);
/* Keeps at most keep rows of a history table (audit, topology_recovery_steps,
 * topology_failure_detection), deleting those with the lowest ids; rows still
 * in their active period (active_marker = 1) are kept. *count (may be NULL):
 * rows deleted. */
int be_history_trim(struct be *b,
                    const char *table,
                    int64_t keep,
                    int64_t *count,
                    char *errmsg,
                    size_t len);

/* Failure detections (topology_failure_detection). */
struct be_detection {
    int64_t id;
    struct orc_key key;
    bool in_active_period;
    int64_t start_active_period;
    int64_t end_active_period; /* 0 while active */
    const char *processing_node_hostname;
    const char *processing_node_token;
    const char *analysis;
    const char *cluster_name;
    const char *cluster_alias;
    int count_affected_replicas;
    const char *replica_hosts; /* "host:port,host:port" */
    bool is_actionable;
};
struct be_detection_list {
    struct be_detection *v;
    size_t n;
    size_t cap;
};
void be_detection_list_free(struct be_detection_list *l);

/* Registers a detection starting its active period at d->start_active_period.
 * Anti-flapping: one active detection per (instance, is_actionable); a second
 * returns ORC_EEXIST with *id set to the active one. */
int be_detection_register(struct be *b,
                          const struct be_detection *d,
                          int64_t *id,
                          char *errmsg,
                          size_t len);
struct be_detection_filter {
    int64_t id;                /* > 0: only this detection */
    const char *cluster_name;  /* non-NULL: only this cluster */
    const char *cluster_alias; /* non-NULL: only those recorded with this alias */
    int page;                  /* from 0, BE_PAGE_SIZE per page, newest first */
};
int be_detection_list(struct be *b,
                      const struct be_detection_filter *f,
                      struct be_detection_list *out,
                      char *errmsg,
                      size_t len);
/* Ends the active period of detections started before `before`. */
int be_detection_clear_active(struct be *b,
                              int64_t before,
                              int64_t now,
                              int64_t *count,
                              char *errmsg,
                              size_t len);

/* Recoveries (topology_recovery, topology_recovery_steps,
 * blocked_topology_recovery). */
struct be_recovery {
    int64_t id;
    const char *uid;
    struct orc_key key; /* the failed instance */
    bool in_active_period;
    int64_t start_active_period;
    int64_t end_active_period; /* 0 while active */
    int64_t end_recovery;      /* 0 while running */
    const char *processing_node_hostname;
    const char *processing_node_token;
    struct orc_key successor; /* host "" when none */
    const char *successor_alias;
    const char *analysis;
    const char *cluster_name;
    const char *cluster_alias;
    int count_affected_replicas;
    const char *replica_hosts;           /* "host:port,..." */
    const char *participating_instances; /* "host:port,..." */
    const char *lost_replicas;           /* "host:port,..." */
    const char *all_errors;              /* one per line */
    bool is_successful;
    bool acknowledged;
    int64_t acknowledged_at;
    const char *acknowledged_by;
    const char *acknowledge_comment;
    int64_t last_detection_id;
    int64_t related_recovery_id;
};
struct be_recovery_list {
    struct be_recovery *v;
    size_t n;
    size_t cap;
};
void be_recovery_release(struct be_recovery *r);
void be_recovery_list_free(struct be_recovery_list *l);

struct be_recovery_register_args {
    int64_t now;           /* start of the active period */
    int64_t block_seconds; /* RecoveryPeriodBlockSeconds */
    bool force;            /* skip anti-flapping; auto-ack the instance's finished recoveries */
};
/* Registers a recovery (r->uid, key, analysis, cluster and processing node are
 * read; the active period starts at a->now). In one transaction it first ends
 * the active period of recoveries older than block_seconds, then (unless
 * forced) refuses when the cluster has an unacknowledged recovery in its active
 * period, or the failed instance is the successor of one, or has a recovery in
 * its active period itself (also when forced): it then records a
 * blocked_topology_recovery row and returns ORC_EEXIST with *blocking_id set.
 * On success *id is the new recovery's id. */
int be_recovery_register(struct be *b,
                         const struct be_recovery *r,
                         const struct be_recovery_register_args *a,
                         int64_t *id,
                         int64_t *blocking_id,
                         char *errmsg,
                         size_t len);
/* Records the outcome of recovery r->uid: successor key and alias, is_successful,
 * participating instances, lost replicas, errors, end_recovery. ORC_ENOTFOUND. */
int be_recovery_resolve(struct be *b, const struct be_recovery *r, char *errmsg, size_t len);

struct be_recovery_ack {
    /* exactly one selector: */
    int64_t id;                /* > 0 */
    const char *uid;           /* non-NULL */
    const char *cluster_name;  /* non-NULL */
    const struct orc_key *key; /* non-NULL: recoveries of this failed instance */
    bool all;
    const char *owner;
    const char *comment;
    int64_t now;
};
/* Acknowledges the unacknowledged recoveries selected, ending their active
 * period (which lifts the anti-flapping block); *count (may be NULL). */
int be_recovery_ack(struct be *b,
                    const struct be_recovery_ack *a,
                    int64_t *count,
                    char *errmsg,
                    size_t len);

struct be_recovery_filter {
    int64_t id;                /* > 0: only this recovery */
    const char *uid;           /* non-NULL: only this uid */
    const char *cluster_name;  /* non-NULL: only this cluster */
    const char *cluster_alias; /* non-NULL: only those recorded with this alias */
    bool unacknowledged_only;
    bool unresolved_only; /* end_recovery = 0: still running, or its leader died */
    int page;             /* from 0, BE_PAGE_SIZE per page, newest first */
};
int be_recovery_list(struct be *b,
                     const struct be_recovery_filter *f,
                     struct be_recovery_list *out,
                     char *errmsg,
                     size_t len);
/* The unacknowledged recovery of the cluster in its active period, or
 * ORC_ENOTFOUND; out is released by the caller. */
int be_recovery_active(struct be *b,
                       const char *cluster,
                       struct be_recovery *out,
                       char *errmsg,
                       size_t len);
/* Ends an unresolved recovery (end_recovery = 0) whose leader is gone: it is
 * resolved as unsuccessful with `reason` appended to its errors, and leaves
 * its active period so it blocks nothing. *count (may be NULL) is 0 when it
 * was already resolved. */
int be_recovery_abandon(struct be *b,
                        const char *uid,
                        const char *reason,
                        int64_t now,
                        int64_t *count,
                        char *errmsg,
                        size_t len);
/* A new leadership adopts an unresolved recovery: its processing node and
 * token become the adopter's, if the token is still `prev_token` (so two
 * nodes never adopt the same run). *count is 1 when adopted. */
int be_recovery_adopt(struct be *b,
                      const char *uid,
                      const char *prev_token,
                      const char *token,
                      const char *hostname,
                      int64_t *count,
                      char *errmsg,
                      size_t len);
/* Records the successor an unresolved recovery is about to promote (written
 * ahead of the promotion, so a leader that takes the recovery over knows). */
int be_recovery_set_successor(struct be *b,
                              const char *uid,
                              const struct orc_key *successor,
                              char *errmsg,
                              size_t len);
/* Ends the active period of recoveries started before `before` (housekeeping). */
int be_recovery_clear_active(struct be *b,
                             int64_t before,
                             int64_t now,
                             int64_t *count,
                             char *errmsg,
                             size_t len);

struct be_recovery_step {
    int64_t id;
    const char *uid;
    int64_t at;
    const char *message;
};
struct be_recovery_step_list {
    struct be_recovery_step *v;
    size_t n;
    size_t cap;
};
void be_recovery_step_list_free(struct be_recovery_step_list *l);
int be_recovery_step_write(struct be *b,
                           const char *uid,
                           int64_t at,
                           const char *message,
                           char *errmsg,
                           size_t len);
/* Steps of one recovery, oldest first. */
int be_recovery_steps(struct be *b,
                      const char *uid,
                      struct be_recovery_step_list *out,
                      char *errmsg,
                      size_t len);

struct be_blocked_recovery {
    struct orc_key key;
    const char *cluster_name;
    const char *analysis;
    int64_t last_blocked;
    int64_t blocking_id;
};
struct be_blocked_recovery_list {
    struct be_blocked_recovery *v;
    size_t n;
    size_t cap;
};
void be_blocked_recovery_list_free(struct be_blocked_recovery_list *l);
int be_blocked_recovery_record(struct be *b,
                               const struct be_blocked_recovery *r,
                               char *errmsg,
                               size_t len);
/* Blocked recoveries, newest first; cluster NULL for all. */
int be_blocked_recovery_list(struct be *b,
                             const char *cluster,
                             struct be_blocked_recovery_list *out,
                             char *errmsg,
                             size_t len);
int be_blocked_recovery_expire(struct be *b,
                               int64_t before,
                               int64_t *count,
                               char *errmsg,
                               size_t len);

/* Global recovery switch (global_recovery_disable: a row means disabled). */
int be_recovery_global_set(struct be *b, bool disabled, char *errmsg, size_t len);
int be_recovery_global_disabled(struct be *b, bool *disabled, char *errmsg, size_t len);

/* Fenced old masters (database_instance_fence): a failover moved the
 * cluster away from them; the leader keeps them read-only. */
struct be_fence {
    struct orc_key key;
    const char *recovery_uid;
    int64_t since;
};
struct be_fence_list {
    struct be_fence *v;
    size_t n;
    size_t cap;
};
void be_fence_list_free(struct be_fence_list *l);
/* Adds (or renews) the fence of k. */
int be_fence_add(struct be *b, const struct be_fence *f, char *errmsg, size_t len);
/* Removes the fence of k; *count (may be NULL) is 0 when there was none. */
int be_fence_remove(struct be *b,
                    const struct orc_key *k,
                    int64_t *count,
                    char *errmsg,
                    size_t len);
int be_fence_list(struct be *b, struct be_fence_list *out, char *errmsg, size_t len);

/* Internal KV store (kv_store). */
struct be_kv {
    const char *key;
    const char *value;
    int64_t last_updated;
};
struct be_kv_list {
    struct be_kv *v;
    size_t n;
    size_t cap;
};
void be_kv_list_free(struct be_kv_list *l);
int be_kv_put(struct be *b,
              const char *key,
              const char *value,
              int64_t now,
              char *errmsg,
              size_t len);
/* *value (caller frees), or ORC_ENOTFOUND. */
int be_kv_get(struct be *b, const char *key, char **value, char *errmsg, size_t len);
/* Pairs whose key starts with prefix (exact, case-sensitive), ordered by key. */
int be_kv_list(struct be *b, const char *prefix, struct be_kv_list *out, char *errmsg, size_t len);

/* Replicated recovery settings (recovery_config): one JSON value per key. */
struct be_rcfg {
    const char *key;
    const char *value; /* JSON text */
    const char *set_by;
    int64_t set_at;
};
struct be_rcfg_list {
    struct be_rcfg *v;
    size_t n;
    size_t cap;
};
void be_rcfg_list_free(struct be_rcfg_list *l);
int be_rcfg_put(struct be *b, const struct be_rcfg *r, char *errmsg, size_t len);
/* *count (may be NULL) is 0 when key had no row. */
int be_rcfg_delete(struct be *b, const char *key, int64_t *count, char *errmsg, size_t len);
/* Every row, ordered by key. */
int be_rcfg_list(struct be *b, struct be_rcfg_list *out, char *errmsg, size_t len);

/* Node health (node_health): one row per (hostname, token). */
struct be_node_health {
    const char *hostname;
    const char *token;
    int64_t first_seen_active;
    int64_t last_seen_active;
    const char *extra_info;
    const char *command;
    const char *app_version;
    const char *db_backend;
    int64_t incrementing_indicator;
};
struct be_node_health_list {
    struct be_node_health *v;
    size_t n;
    size_t cap;
};
void be_node_health_list_free(struct be_node_health_list *l);
/* Inserts the node, or updates it keeping its first_seen_active. */
int be_node_health_register(struct be *b, const struct be_node_health *n, char *errmsg, size_t len);
/* Refreshes last_seen_active; ORC_ENOTFOUND when the node is not registered. */
int be_node_health_heartbeat(struct be *b,
                             const char *hostname,
                             const char *token,
                             int64_t now,
                             char *errmsg,
                             size_t len);
/* Nodes seen at or after since, ordered by hostname, token. */
int be_node_health_list(struct be *b,
                        int64_t since,
                        struct be_node_health_list *out,
                        char *errmsg,
                        size_t len);
int be_node_health_expire(struct be *b, int64_t before, int64_t *count, char *errmsg, size_t len);

/* Instance tags (database_instance_tags). */
struct be_tag {
    struct orc_key key;
    const char *name;
    const char *value;
};
struct be_tag_list {
    struct be_tag *v;
    size_t n;
    size_t cap;
};
void be_tag_list_free(struct be_tag_list *l);
int be_tag_put(struct be *b,
               const struct orc_key *k,
               const char *name,
               const char *value,
               int64_t now,
               char *errmsg,
               size_t len);
/* ORC_ENOTFOUND when the instance has no such tag. */
int be_tag_delete(struct be *b,
                  const struct orc_key *k,
                  const char *name,
                  char *errmsg,
                  size_t len);
/* Tags of one instance, ordered by name. */
int be_tag_list(struct be *b,
                const struct orc_key *k,
                struct be_tag_list *out,
                char *errmsg,
                size_t len);
/* Instances tagged name (with this value, unless value is NULL), by host, port. */
int be_tag_find(struct be *b,
                const char *name,
                const char *value,
                struct be_tag_list *out,
                char *errmsg,
                size_t len);

/* Topology history (database_instance_topology_history): records every
 * stored instance's master, cluster and version at now, and deletes the
 * snapshots older than purge_before; *count (may be NULL): rows recorded. */
int be_topology_snapshot(struct be *b,
                         int64_t now,
                         int64_t purge_before,
                         int64_t *count,
                         char *errmsg,
                         size_t len);

/* Instance pools (database_instance_pool). */
struct be_pool_instance {
    struct orc_key key;
    const char *pool;
    int64_t registered_at;
};
struct be_pool_list {
    struct be_pool_instance *v;
    size_t n;
    size_t cap;
};
void be_pool_list_free(struct be_pool_list *l);
/* Replaces the members of pool with keys[0..n), registered at now. */
int be_pool_apply(struct be *b,
                  const char *pool,
                  const struct orc_key *keys,
                  size_t n,
                  int64_t now,
                  char *errmsg,
                  size_t len);
/* Members registered at or after since, of pool (NULL or "": every pool),
 * ordered by pool, host, port. */
int be_pool_list(struct be *b,
                 const char *pool,
                 int64_t since,
                 struct be_pool_list *out,
                 char *errmsg,
                 size_t len);

#endif
