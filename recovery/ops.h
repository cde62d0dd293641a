/*
 * ops: the MySQL operations recoveries and planned changes are made of
 * (stop/start replication, change master, reset, read_only, waits), run
 * through a session that keeps one connection per instance for the length
 * of an operation. Internal to the recovery module.
 *
 * Threads: a session belongs to one thread. Never on the loop thread.
 */
#ifndef ORC_REC_OPS_H
#define ORC_REC_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "discovery/disc.h"

struct rec_session;

struct rec_session_options {
    struct disc_conn_options conn;          /* topology credentials, timeouts */
    const struct disc_probe_options *probe; /* for re-reading instances */
};

int rec_session_new(const struct rec_session_options *o, struct rec_session **out);
/* {"Hostname": .., "Port": ..}, the key as replicated commands carry it
 * (a new reference: the caller owns it). */
json_t *rec_key_json(const struct orc_key *k);

struct rec_env;
/* A snapshot of the topology (*snap, the caller's to put, also on error once
 * taken) and, when k is not NULL, k's index in it (*idx, may be NULL). Returns 0,
 * ORC_ESTATE (discovery is not running), ORC_ENOMEM or ORC_ENOTFOUND
 * ("instance '<k>' not found"). */
int rec_snapshot_find(const struct rec_env *env,
                      const struct orc_key *k,
                      struct disc_snapshot **snap,
                      int *idx,
                      char *errmsg,
                      size_t len);

struct rec_hook_ctx;
struct rec_analysis;
/* Fills h (zeroed first) with what a hook knows of failure a: its code,
 * instance type, description, cluster, replicas, switches; host is this
 * manager's name ({orchestratorHost}). The caller adds the outcome. */
void rec_hook_ctx_from_analysis(struct rec_hook_ctx *h,
                                const struct rec_analysis *a,
                                const char *host);
/* Closes every connection. NULL is fine. */
void rec_session_free(struct rec_session *s);

/* Reads the instance now (a full probe). *out must be initialised. */
int rec_read(struct rec_session *s,
             const struct orc_key *k,
             struct disc_instance *out,
             char *errmsg,
             size_t len);
/* Runs one statement (no result expected). The statement is not logged when
 * secret is true (it holds a password). */
int rec_exec(struct rec_session *s,
             const struct orc_key *k,
             const char *sql,
             bool secret,
             char *errmsg,
             size_t len);
/* Runs one statement of the instance's flavor (DISC_SQL_*). */
int rec_exec_sql(struct rec_session *s,
                 const struct disc_instance *in,
                 enum disc_sql which,
                 char *errmsg,
                 size_t len);

int rec_stop_replica(struct rec_session *s,
                     const struct disc_instance *in,
                     char *errmsg,
                     size_t len);
int rec_start_replica(struct rec_session *s,
                      const struct disc_instance *in,
                      char *errmsg,
                      size_t len);
int rec_stop_io_thread(struct rec_session *s,
                       const struct disc_instance *in,
                       char *errmsg,
                       size_t len);
/* STOP SLAVE; RESET SLAVE ALL. */
int rec_reset_replica_all(struct rec_session *s,
                          const struct disc_instance *in,
                          char *errmsg,
                          size_t len);
/* read_only (and super_read_only on MySQL when super is true). */
int rec_set_read_only(struct rec_session *s,
                      const struct disc_instance *in,
                      bool on,
                      bool super,
                      char *errmsg,
                      size_t len);
/* STOP SLAVE; CHANGE MASTER TO master with GTID auto-positioning (keeping the
 * current replication credentials); START SLAVE when start is true. */
int rec_change_master_gtid(struct rec_session *s,
                           const struct disc_instance *in,
                           const struct orc_key *master,
                           bool start,
                           char *errmsg,
                           size_t len);
/* STOP SLAVE; CHANGE MASTER TO master at file:pos; START SLAVE when start. */
int rec_change_master_coords(struct rec_session *s,
                             const struct disc_instance *in,
                             const struct orc_key *master,
                             const struct disc_coords *at,
                             bool start,
                             char *errmsg,
                             size_t len);
/* Waits until the replica's SQL thread has applied everything its IO thread
 * received (exec == read coordinates), or it stopped, or timeout_ms passed.
 * *out (initialised) holds the last reading. Returns 0 when caught up,
 * ORC_ETIMEDOUT, or an error. */
int rec_wait_relay_applied(struct rec_session *s,
                           const struct orc_key *k,
                           int64_t timeout_ms,
                           struct disc_instance *out,
                           char *errmsg,
                           size_t len);
/* Waits until the replica's exec coordinates reach `target` (coordinates in
 * its master's binary log). Same returns as above. */
int rec_wait_exec_reaches(struct rec_session *s,
                          const struct orc_key *k,
                          const struct disc_coords *target,
                          int64_t timeout_ms,
                          struct disc_instance *out,
                          char *errmsg,
                          size_t len);

/* Runs a query and copies the first value of the first row into out. */
int rec_query_value(struct rec_session *s,
                    const struct orc_key *k,
                    const char *sql,
                    char *out,
                    size_t outlen,
                    char *errmsg,
                    size_t len);
/* Runs a query and hands its result set over in *out (the caller frees it
 * with disc_rs_free). The statement is logged. */
int rec_query_rs(struct rec_session *s,
                 const struct orc_key *k,
                 const char *sql,
                 struct disc_rs **out,
                 char *errmsg,
                 size_t len);
/* Waits until the instance has executed the GTID set/position `gtid`
 * (MariaDB MASTER_GTID_WAIT, MySQL WAIT_FOR_EXECUTED_GTID_SET). */
int rec_wait_gtid(struct rec_session *s,
                  const struct disc_instance *in,
                  const char *gtid,
                  int64_t timeout_ms,
                  char *errmsg,
                  size_t len);

/* The replication user the replica connects with (Master_User of SHOW
 * SLAVE STATUS); out is "" when it has none (or an unusual name). */
int rec_replication_user(struct rec_session *s,
                         const struct disc_instance *in,
                         char *out,
                         size_t outlen,
                         char *errmsg,
                         size_t len);

/* Compares binary log coordinates of the same server: <0, 0, >0. Files are
 * compared by their numeric suffix, then positions. */
int rec_coords_cmp(const struct disc_coords *a, const struct disc_coords *b);

#endif
