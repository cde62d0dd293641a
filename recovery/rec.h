/*
 * recovery: deciding on and acting upon replication failures.
 *
 * This is the module's one public header. Sections:
 *   - analysis (recovery/analysis.c): pure. A topology snapshot in, a list
 *     of orchestrator's ReplicationAnalysis entries out: one per analysed
 *     instance, with the failure code (DeadMaster, UnreachableMaster, ...),
 *     the structure warnings and the counts the codes were derived from.
 *   - the service side: the environment the service hands over, the
 *     recovery loop, the dead (intermediate) master failover;
 *   - planned operations (relocation, graceful takeover);
 *   - what the service needs of the hooks (tracker, validation).
 * Internal headers (ops.h, promote.h, hooks.h, planned.h) stay inside
 * recovery/ and its unit tests.
 *
 * Threads: the analysis keeps no state; its options are read-only once
 * built and may be shared by any number of threads. struct rec_stale is
 * internally locked. The recovery loop, the fencer and the KV publisher
 * (kv.c: the only thread that calls the KV stores, besides HTTP threads
 * running submit-masters-to-kv-stores under its I/O lock) are threads of
 * their own, started and stopped by rec_loop_start / rec_loop_stop.
 */
#ifndef ORC_REC_H
#define ORC_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <pthread.h>

#include "common/config.h"
#include "common/orc.h"
#include "discovery/disc.h"

/* ========================================================================
 * Analysis (recovery/analysis.c)
 * ======================================================================== */

/* orchestrator's AnalysisCode values. REC_NO_PROBLEM is 0. */
enum rec_code {
    REC_NO_PROBLEM = 0,
    REC_DEAD_MASTER_WITHOUT_REPLICAS,
    REC_DEAD_MASTER,
    REC_DEAD_MASTER_AND_REPLICAS,
    REC_DEAD_MASTER_AND_SOME_REPLICAS,
    REC_UNREACHABLE_MASTER_WITH_LAGGING_REPLICAS,
    REC_UNREACHABLE_MASTER,
    REC_LOCKED_SEMI_SYNC_MASTER,
    REC_LOCKED_SEMI_SYNC_MASTER_HYPOTHESIS,
    REC_MASTER_WITH_TOO_MANY_SEMI_SYNC_REPLICAS,
    REC_NO_WRITEABLE_MASTER, /* "NoWriteableMasterStructureWarning" as a code */
    REC_MASTER_SINGLE_REPLICA_NOT_REPLICATING,
    REC_MASTER_SINGLE_REPLICA_DEAD,
    REC_ALL_MASTER_REPLICAS_NOT_REPLICATING,
    REC_ALL_MASTER_REPLICAS_NOT_REPLICATING_OR_DEAD,
    REC_DEAD_CO_MASTER,
    REC_DEAD_CO_MASTER_AND_SOME_REPLICAS,
    REC_UNREACHABLE_CO_MASTER,
    REC_ALL_CO_MASTER_REPLICAS_NOT_REPLICATING,
    REC_DEAD_IM_WITH_SINGLE_REPLICA_FAILING_TO_CONNECT,
    REC_DEAD_IM_WITH_SINGLE_REPLICA,
    REC_DEAD_IM,
    REC_DEAD_IM_AND_SOME_REPLICAS,
    REC_DEAD_IM_AND_REPLICAS,
    REC_UNREACHABLE_IM_WITH_LAGGING_REPLICAS,
    REC_UNREACHABLE_IM,
    REC_ALL_IM_REPLICAS_FAILING_TO_CONNECT_OR_DEAD,
    REC_ALL_IM_REPLICAS_NOT_REPLICATING,
    REC_FIRST_TIER_REPLICA_FAILING_TO_CONNECT,
    REC_CODE_COUNT_
};

/* The code's name as orchestrator spells it ("DeadMaster"). Static. */
const char *rec_code_name(enum rec_code c);
/* The code for a name, or -1 when unknown. */
int rec_code_from_name(const char *name);
/* True for the codes orchestrator's recovery acts upon (its handler table):
 * DeadMaster, DeadMasterAndSomeReplicas, LockedSemiSyncMaster,
 * MasterWithTooManySemiSyncReplicas, DeadIntermediateMaster,
 * DeadIntermediateMasterAndSomeReplicas,
 * DeadIntermediateMasterWithSingleReplicaFailingToConnect,
 * AllIntermediateMasterReplicasFailingToConnectOrDead, DeadCoMaster,
 * DeadCoMasterAndSomeReplicas and NoWriteableMasterStructureWarning. The
 * others are reported (detection hooks at most), never recovered. */
bool rec_code_actionable(enum rec_code c);

/* Structure warnings: bit i of rec_analysis.structure is warning i. */
enum rec_structure {
    REC_SW_NO_LOGGING_REPLICAS = 0,
    REC_SW_NO_FAILOVER_SUPPORT,
    REC_SW_STATEMENT_AND_MIXED_LOGGING,
    REC_SW_STATEMENT_AND_ROW_LOGGING,
    REC_SW_MIXED_AND_ROW_LOGGING,
    REC_SW_MULTIPLE_MAJOR_VERSIONS_LOGGING,
    REC_SW_DIFFERENT_GTID_MODES,
    REC_SW_ERRANT_GTID,
    REC_SW_NO_WRITEABLE_MASTER,
    REC_SW_NOT_ENOUGH_VALID_SEMI_SYNC_REPLICAS,
    REC_SW_COUNT_
};

/* "NoLoggingReplicasStructureWarning" ...; NULL when out of range. Static. */
const char *rec_structure_name(int sw);

/* ---- stale binary log coordinates (for LockedSemiSyncMaster) ----
 * How long a master's binlog coordinates have not moved. The recovery loop
 * records the coordinates of LockedSemiSyncMasterHypothesis masters; the
 * analysis reads them. Thread-safe. */
struct rec_stale;

struct rec_stale *rec_stale_new(void);
void rec_stale_free(struct rec_stale *st);
/* Records that k showed coordinates c at now_ms; the first-seen time is kept
 * while they stay the same and reset when they change. Returns 0 or ORC_ENOMEM. */
int rec_stale_observe(struct rec_stale *st,
                      const struct orc_key *k,
                      const struct disc_coords *c,
                      int64_t now_ms);
/* True when k was last recorded with coordinates c, first seen more than
 * min_age_ms before now_ms. */
bool rec_stale_is_stale(struct rec_stale *st,
                        const struct orc_key *k,
                        const struct disc_coords *c,
                        int64_t min_age_ms,
                        int64_t now_ms);

/* Forgets the instances last observed before before_ms. */
void rec_stale_expire(struct rec_stale *st, int64_t before_ms);

/* ---- options ---- */

/* Compiled filter lists (opaque; owned by the options). */
struct rec_filters;

enum rec_filter_list {
    REC_FILTER_IGNORE_HOSTS,   /* RecoveryIgnoreHostnameFilters: regexes on the hostname */
    REC_FILTER_RECOVER_MASTER, /* RecoverMasterClusterFilters */
    REC_FILTER_RECOVER_IM,     /* RecoverIntermediateMasterClusterFilters */
};

struct rec_analysis_options {
    int64_t reasonable_lag_s;              /* ReasonableReplicationLagSeconds */
    int64_t reasonable_locked_semi_sync_s; /* ReasonableLockedSemiSyncMasterSeconds (0: = lag) */
    bool reduce;                           /* ReduceReplicationAnalysisCount */
    bool enforce_exact_semi_sync;          /* EnforceExactSemiSyncReplicas */
    bool recover_non_writeable_master;     /* RecoverNonWriteableMaster */
    bool include_no_problem;               /* keep NoProblem entries without warnings */
    bool include_downtimed;                /* keep SkippableDueToDowntime entries */
    /* Per call: analyse only this cluster (name), NULL for all. Borrowed. */
    const char *only_cluster;
    /* Coordinates history for LockedSemiSyncMaster; NULL: always a Hypothesis. Borrowed. */
    struct rec_stale *stale;
    /* set by rec_analysis_options_set_filters; owned */
    struct rec_filters *filters[3]; /* indexed by enum rec_filter_list */
};

/* orchestrator's defaults: lag 10 s, reduce on, include_downtimed on,
 * no filters. */
void rec_analysis_options_init(struct rec_analysis_options *o);
/* Replaces one filter list with the n patterns (copied and compiled, POSIX
 * extended). A pattern that does not compile is skipped with a logged
 * warning (it can match nothing, as in orchestrator). Returns 0 or ORC_ENOMEM. */
int rec_analysis_options_set_filters(struct rec_analysis_options *o,
                                     enum rec_filter_list which,
                                     const char *const *patterns,
                                     size_t n);
/* Fills o from the config keys above (init first is not needed). Returns 0
 * or ORC_ENOMEM with errmsg set. Release with rec_analysis_options_release. */
int rec_analysis_options_from_config(struct rec_analysis_options *o,
                                     const struct orc_config *cfg,
                                     char *errmsg,
                                     size_t len);
void rec_analysis_options_release(struct rec_analysis_options *o);

/* True when the cluster matches the REC_FILTER_RECOVER_* list: a filter that
 * is "*", the exact name, the exact alias, "alias=<exact>", "alias~=<regex>"
 * on the alias, or a regex found in the name. */
bool rec_cluster_filter_match(const struct rec_analysis_options *o,
                              enum rec_filter_list which,
                              const char *name,
                              const char *alias);

/* ---- the analysis ---- */

/* One ReplicationAnalysis entry. Heap parts (replicas, max_replica_gtid_errant)
 * are owned by the list that holds the entry. */
struct rec_analysis {
    struct orc_key key;        /* AnalyzedInstanceKey */
    struct orc_key master_key; /* AnalyzedInstanceMasterKey */
    /* ClusterDetails */
    char cluster_name[ORC_KEY_STRLEN];
    char cluster_alias[DISC_TEXT_MAX];
    char cluster_domain[DISC_TEXT_MAX];
    int64_t cluster_count_instances;
    int64_t cluster_heuristic_lag;
    bool has_automated_master_recovery;
    bool has_automated_im_recovery;

    char data_center[DISC_NAME_MAX];
    char region[DISC_NAME_MAX];
    char physical_environment[DISC_NAME_MAX];
    struct disc_coords binlog_coords; /* AnalyzedInstanceBinlogCoordinates */

    bool is_master;
    bool is_co_master;
    bool last_check_valid;
    bool last_check_partial_success;
    bool is_failing_to_connect_to_master;
    bool is_read_only;
    int replication_depth;

    int count_replicas;
    int count_valid_replicas;
    int count_valid_replicating_replicas;
    int count_replicas_failing_to_connect;
    int count_downtimed_replicas;
    int count_lagging_replicas;
    int count_delayed_replicas;
    int count_logging_replicas;
    int count_statement_logging_replicas;
    int count_mixed_logging_replicas;
    int count_row_logging_replicas;
    int count_distinct_major_versions_logging;
    int count_semi_sync_replicas_enabled;
    struct disc_keylist replicas; /* the replicas' keys */

    enum rec_code code;
    const char *description; /* static */
    unsigned structure;      /* bit set of enum rec_structure */
    bool is_actionable;      /* rec_code_actionable(code) */

    bool is_downtimed;
    bool is_replicas_downtimed;
    bool skippable_due_to_downtime;
    int64_t downtime_end_s; /* 0 when not downtimed */
    int64_t downtime_remaining_s;

    bool oracle_gtid_immediate;
    bool mariadb_gtid_immediate;

    bool semi_sync_master_enabled;
    bool semi_sync_master_status;
    int64_t semi_sync_master_wait_for_replica_count;
    int64_t semi_sync_master_clients;

    char gtid_mode[DISC_SHORT_MAX];
    char min_replica_gtid_mode[DISC_SHORT_MAX];
    char max_replica_gtid_mode[DISC_SHORT_MAX];
    char *max_replica_gtid_errant; /* heap, NULL = "" */
};

struct rec_analysis_list {
    struct rec_analysis *v;
    size_t n, cap;
};

void rec_analysis_list_init(struct rec_analysis_list *l);
/* Frees the entries; the list is empty and reusable afterwards. */
void rec_analysis_list_release(struct rec_analysis_list *l);

/*
 * Analyses every instance of the snapshot (or of o->only_cluster) as
 * orchestrator's GetReplicationAnalysis does: each instance is grouped with
 * the instances whose master key names it (a dead master stays in the
 * snapshot, its replicas still point at it), the counts are taken, the first
 * matching rule gives the code, structure warnings are added, downtime is
 * marked, and the entry is kept or dropped per the options. Instances never
 * seen, in maintenance or matching RecoveryIgnoreHostnameFilters are not
 * analysed. Appends to out, in snapshot order. Pure: reads only s and o
 * (s->taken_ms is "now"). Returns 0 or ORC_ENOMEM (out then holds what was
 * appended before).
 */
int rec_analysis_run(const struct disc_snapshot *s,
                     const struct rec_analysis_options *o,
                     struct rec_analysis_list *out);

/* The entry for key in l, or NULL. */
const struct rec_analysis *rec_analysis_find(const struct rec_analysis_list *l,
                                             const struct orc_key *key);

/* ========================================================================
 * The service side: environment, recovery loop, failover (failover.c,
 * loop.c, ops.c)
 * ======================================================================== */

struct be;
struct disc_topo;
struct rec_hooks_tracker;
struct rec_kv;

/* The manager cluster as the leader sees it (published to the KV stores). */
#define REC_MANAGER_MAX_NODES 32
struct rec_manager_node {
    char addr[64]; /* raft address; without raft, this node's host name */
    bool voter;
    bool healthy; /* the leader hears from it (itself: always) */
    bool leader;
};
struct rec_manager_info {
    char leader_uri[256]; /* the leader's HTTP URI */
    char leader_addr[64];
    size_t n;
    struct rec_manager_node nodes[REC_MANAGER_MAX_NODES];
};

struct rec_env {
    /* The config an operation reads. In the service's env: the file config;
     * in a pinned env (rec_env_pin): the effective one (file + replicated
     * recovery settings), the same for the whole operation. */
    const struct orc_config *cfg;
    /* The effective config, swapped when the replicated recovery settings
     * change (common/config_live.h). May be NULL: cfg is all there is. */
    struct orc_config_live *live;
    struct be *be;
    struct disc_topo *topo;
    const struct disc_probe_options *probe;
    void *node;
    /* true while this node is the leader: checked before every acting step. */
    bool (*is_leader)(void *node);
    /* The leadership epoch: non-zero while this node leads (the raft term;
     * without raft, this process's start time), 0 otherwise. A recovery is
     * pinned to the epoch it started in and stops when it changes; an
     * unresolved recovery of another epoch is taken over (resume.c). May
     * be NULL: epoch 1 while is_leader says so. */
    uint64_t (*leader_epoch)(void *node);
    /* Wall-clock ms when the service started (0: when the loop started): the
     * loop acts once every instance was probed after it. */
    int64_t boot_ms;
    /* Replicated commands (see orchestrator/fsm.c); payload is stolen. */
    int (*submit)(void *node, const char *op, json_t *payload, char *errmsg, size_t len);
    /* Same, with the command's answer in *result (may be NULL; caller decrefs). */
    int (*submit_r)(void *node,
                    const char *op,
                    json_t *payload,
                    json_t **result,
                    char *errmsg,
                    size_t len);
    /* Quorum-confirmed detection (raft). May be NULL: always confirmed.
     * True when enough nodes see key failed; *agree and *needed say how many. */
    bool (*confirm_failure)(void *node, const struct orc_key *key, int *agree, int *needed);
    /* On a follower, on every pass of the loop: which instances this node
     * sees failed ("h:p,h:p", "" for none). The node sends it to the leader
     * when it changed, when the leader changed, and every 2 s (see node.c).
     * May be NULL. */
    void (*report_failures)(void *node, const char *failed);
    /* counts asynchronous hooks still running; may be NULL */
    struct rec_hooks_tracker *hooks_tracker;
    /* Fills *out with the manager cluster (leader). May be NULL: nothing
     * about the managers is published. */
    void (*manager_info)(void *node, struct rec_manager_info *out);
    /* The KV publisher (kv.c): set by rec_loop_start before any thread
     * reads it, cleared by rec_loop_stop after the HTTP server stopped.
     * Read it with rec_kv_of. */
    struct rec_kv *kv;
    /* the recoveries running in this process (resume.c); may be NULL */
    struct rec_registry *running;
    /* How long semi-sync masters' binary log coordinates have not moved
     * (fed by the recovery loop through rec_semisync_observe, read by every
     * analysis); may be NULL: no master is ever found locked. */
    struct rec_stale *stale;
};

/* The payload of a write-audit command: {Type, ClusterName, Message, Key}
 * (Key only when k is not NULL). A new reference (NULL: out of memory). */
json_t *rec_audit_json(const char *type,
                       const struct orc_key *k,
                       const char *cluster,
                       const char *message);

/* Session options for MySQL operations from the config: topology
 * credentials, MySQLConnectTimeoutSeconds, MySQLTopologyReadTimeoutSeconds. */
struct rec_session_options;
void rec_env_session_options(const struct rec_env *env, struct rec_session_options *out);

/* A copy of env whose cfg is the current effective config, with a
 * reference held until rec_env_unpin: an operation (or one pass of the
 * recovery loop) pins once and reads one consistent set of settings
 * whatever changes meanwhile. Nothing may keep the copy's address beyond
 * the unpin. Any thread. */
void rec_env_pin(const struct rec_env *env, struct rec_env *out);
void rec_env_unpin(struct rec_env *pinned);

/* The leader check: true when env->is_leader is NULL or says so. */
bool rec_env_leader(const struct rec_env *env);
/* The current leadership epoch (see leader_epoch), 0 when not the leader. */
uint64_t rec_env_epoch(const struct rec_env *env);
/* True when this node still leads in `epoch` (the epoch an operation
 * started in): acting steps check it, also inside long steps. */
bool rec_env_still_leader(const struct rec_env *env, uint64_t epoch);

struct rec_loop;

/* Starts the recovery thread. env is borrowed for the loop's life. */
int rec_loop_start(struct rec_env *env, struct rec_loop **out, char *errmsg, size_t len);
/* Wakes the loop: the topology changed. Thread-safe; NULL is fine. */
void rec_loop_notify(struct rec_loop *l);
/* Stops the thread (waits for a running recovery to finish) and frees. */
void rec_loop_stop(struct rec_loop *l);

struct rec_failover_request {
    struct orc_key failed;           /* the dead (intermediate) master */
    const char *analysis;            /* analysis code that started it */
    bool intermediate;               /* dead intermediate master: regroup below a sibling/parent */
    const struct orc_key *candidate; /* requested candidate, or NULL */
    bool force;                      /* operator asked: skip filters and anti-flapping */
    bool skip_hooks;                 /* recover-lite */
    const char *command;             /* hint: "", "recover", "force-master-failover", ... */
    int64_t detection_id;            /* the registered detection, 0 if none */
    /* Taking over a recovery whose leader was lost after it chose (and maybe
     * promoted) `candidate`: that instance is promoted whether or not it
     * still replicates from the failed master, nothing else is chosen, and
     * the pre-failover hooks (which already ran) are not run again. With
     * resume and no candidate, the run starts over (hooks included). */
    bool resume;
    /* Taking over: the recovery already registered under this uid and id
     * (adopted by this leadership) goes on; nothing new is registered. */
    const char *adopt_uid;
    int64_t adopt_id;
};

/* States, in order. Each transition is logged (+failover-<state>) and
 * written as a recovery step. */
enum rec_state {
    REC_ST_REGISTER,
    REC_ST_PRE_HOOKS,
    REC_ST_PREPARE,  /* stop IO threads, wait for relay logs to apply */
    REC_ST_CHOOSE,   /* pick the candidate */
    REC_ST_CATCH_UP, /* the candidate takes what a more advanced replica has */
    REC_ST_PROMOTE,  /* reset replication, read_only=0 */
    REC_ST_REPOINT,  /* the other replicas replicate from the candidate */
    REC_ST_FENCE,    /* read_only=1 on the old master if it answers */
    REC_ST_PUBLISH,  /* KV, alias, downtime of lost instances */
    REC_ST_POST_HOOKS,
    REC_ST_DONE,
    REC_ST_FAILED,
};

struct rec_result {
    char uid[64];
    int64_t id;          /* recovery id, 0 when not registered */
    int64_t blocking_id; /* when blocked by anti-flapping */
    bool blocked;
    bool successful;
    struct orc_key successor;
    struct disc_coords successor_coords;
    struct disc_keylist lost;
    struct disc_keylist participants;
    struct orc_buf errors;                    /* one per line */
    int64_t started_ms, writable_ms, done_ms; /* wall clock */
};

void rec_result_init(struct rec_result *r);
void rec_result_release(struct rec_result *r);

const char *rec_state_name(enum rec_state s);

/* Recovers a dead master (or intermediate master). Blocking; runs on the
 * recovery thread or an HTTP thread (never the loop thread). Returns 0 when
 * a successor is in place, ORC_EEXIST when blocked by anti-flapping (see
 * out->blocking_id), ORC_EPERM when this node stopped being the leader, or
 * another error; out->errors lists what went wrong along the way. */
int rec_failover_run(struct rec_env *env,
                     const struct rec_failover_request *req,
                     struct rec_result *out,
                     char *errmsg,
                     size_t len);

/* NoWriteableMasterStructureWarning (nonwriteable.c): registers a recovery
 * of the read-only master a->key, runs PreFailoverProcesses and sets it
 * read_only=0; resolved and audited. ORC_EEXIST when anti-flapping blocks
 * it. Runs on the recovery thread of the leader. */
int rec_nonwriteable_run(struct rec_env *env,
                         const struct rec_analysis *a,
                         int64_t detection_id,
                         char *errmsg,
                         size_t len);

/* The fencer (fence.c): a thread that, on the leader, keeps the fenced old
 * masters read-only (see database_instance_fence). Started and stopped by
 * the recovery loop; env is borrowed for its life. */
struct rec_fencer;
int rec_fencer_start(struct rec_env *env, struct rec_fencer **out, char *errmsg, size_t len);
void rec_fencer_stop(struct rec_fencer *f);

/* ---- KV publishing (kv.c) ----
 * A thread publishes each cluster's writable master (KVClusterMasterPrefix)
 * and, on the leader, the manager cluster (KVManagerPrefix) to the internal
 * store and to etcd, ZooKeeper and Consul when configured; one transaction
 * per cluster. Started and stopped by the recovery loop. Thread-safe. */
int rec_kv_start(struct rec_env *env, struct rec_kv **out, char *errmsg, size_t len);
/* Stops the thread (waits for a store call in progress) and frees. NULL: no-op. */
void rec_kv_stop(struct rec_kv *kv);
/* The publisher of env, or NULL. */
struct rec_kv *rec_kv_of(const struct rec_env *env);
/* After a failover or takeover: queues the publication of master under
 * alias and returns at once (no network I/O here). It is published once the
 * live topology shows master as its cluster's writable master, retried when
 * a store fails, and re-published periodically anyway. */
void rec_kv_publish_master(struct rec_env *env, const char *alias, const struct orc_key *master);
/* submit-masters-to-kv-stores: publishes the writable master of cluster (a
 * name or alias; NULL: every cluster) now, blocking (bounded by the stores'
 * timeouts). *pairs (may be NULL) receives the [{Key, Value}] published,
 * *count the number of masters. Returns 0, ORC_ENOTFOUND (no such cluster),
 * or the first store error (every store was still tried). */
int rec_kv_submit_masters(struct rec_env *env,
                          const char *cluster,
                          json_t **pairs,
                          int *count,
                          char *errmsg,
                          size_t len);
/* The stores' state: [{Store, Healthy, Error, LastSuccess, Failures}]; new
 * reference, or NULL when nothing is published. */
json_t *rec_kv_status(const struct rec_env *env);
/* Prometheus lines: orchestrator_kv_store_up{store=...} and
 * orchestrator_kv_store_failures_total{store=...}. Appends to out. */
void rec_kv_metrics(const struct rec_env *env, struct orc_buf *out);

/* The recoveries that run in this process right now, by uid: a run is
 * entered before it registers (or adopts) and left when it ends, so the
 * resume pass can tell a running recovery from one whose run was cut short,
 * also within one leadership epoch (a leader that tilted and kept its term).
 * Internally locked; entries are counted (a takeover's run nests). */
struct rec_registry;
int rec_registry_new(struct rec_registry **out);
void rec_registry_free(struct rec_registry *r);
/* Both are no-ops when r is NULL; enter returns 0 or ORC_ENOMEM. */
int rec_registry_enter(struct rec_registry *r, const char *uid);
void rec_registry_leave(struct rec_registry *r, const char *uid);

/* Takes over the unresolved recoveries that no run of this process carries
 * on (their leader died, stepped down or froze, this process crashed, or a
 * run of this one was cut short by a tilt): see resume.c.
 * Leader only (a no-op otherwise); blocking (MySQL operations, maybe a whole
 * failover). Returns 0 or the backend's error. */
int rec_resume_pass(struct rec_env *env, char *errmsg, size_t len);

/* ========================================================================
 * Planned operations (relocate.c, takeover.c)
 * ======================================================================== */

/* ---- operations on one instance (relocate.c) ---- */

enum rec_planned_op {
    REC_OP_MOVE_UP,
    REC_OP_MOVE_BELOW,
    REC_OP_REPOINT,
    REC_OP_RELOCATE,
    REC_OP_TAKE_MASTER,
    REC_OP_STOP_REPLICA,
    REC_OP_START_REPLICA,
    REC_OP_SET_READ_ONLY,
    REC_OP_SET_WRITEABLE,
};

struct rec_planned_request {
    enum rec_planned_op op;
    struct orc_key key;    /* the instance (as the topology knows it) */
    struct orc_key target; /* sibling / destination; host "" = none (repoint: current master) */
    const char *user;      /* who asked, for the audit; may be NULL */
};

struct rec_planned_result {
    struct orc_key key;    /* the instance the answer is about */
    struct orc_key master; /* its master afterwards; host "" when none */
    bool fresh;            /* the live snapshot already shows the change */
    char message[768];     /* orchestrator's API message */
};

/* The route name of an operation ("move-up", "stop-replica", ...). Static. */
const char *rec_planned_op_name(enum rec_planned_op op);
/* Runs one operation. Returns 0 (out filled), or a refusal / failure code
 * with errmsg set (see the header comment). */
int rec_planned_run(struct rec_env *env,
                    const struct rec_planned_request *req,
                    struct rec_planned_result *out,
                    char *errmsg,
                    size_t len);

/* ---- operations on many replicas (relocate_many.c) ----
 *
 * orchestrator's relocate-replicas, move-replicas-gtid, move-up-replicas,
 * repoint-replicas, take-siblings, regroup-replicas(-gtid), make-co-master,
 * make-master and make-local-master. The replicas of an instance (those the
 * pattern, a POSIX extended regex on "host:port", matches; all when it is
 * NULL or "") are moved in parallel, at most MaxConcurrentReplicaOperations
 * at a time, each as its own operation (checks, maintenance, audit); the
 * run as a whole is one more operation with its own audit entry. */

enum rec_many_op {
    REC_MANY_RELOCATE,      /* replicas of key below target */
    REC_MANY_MOVE_GTID,     /* the same, GTID only */
    REC_MANY_MOVE_UP,       /* replicas of key below key's master */
    REC_MANY_REPOINT,       /* replicas of key at target (host "": key) */
    REC_MANY_TAKE_SIBLINGS, /* key's siblings below key */
    REC_MANY_REGROUP,       /* key's most advanced replica takes the others */
    REC_MANY_REGROUP_GTID,  /* the same, GTID only */
    REC_MANY_MAKE_CO_MASTER,
    REC_MANY_MAKE_MASTER,
    REC_MANY_MAKE_LOCAL_MASTER,
};

struct rec_many_request {
    enum rec_many_op op;
    struct orc_key key;    /* the instance (as the topology knows it) */
    struct orc_key target; /* destination; host "" = none */
    const char *pattern;   /* replicas to move; NULL or "": all */
    const char *user;      /* who asked, for the audit; may be NULL */
};

struct rec_many_result {
    struct orc_key key;        /* the instance the answer is about */
    struct orc_key below;      /* destination / promoted replica; host "" = none */
    struct disc_keylist moved; /* the replicas moved */
    size_t considered;         /* replicas the operation tried to move */
    size_t nerrors;            /* lines in errors */
    struct orc_buf errors;     /* one error per line */
    char message[2048];        /* orchestrator's API message */
};

void rec_many_result_init(struct rec_many_result *r);
void rec_many_result_release(struct rec_many_result *r);
/* The route name of an operation ("relocate-replicas", ...). Static. */
const char *rec_many_op_name(enum rec_many_op op);
/* Runs one operation (leader only; blocking, never on the loop thread).
 * Returns 0 (out filled; some replicas may have failed: out->errors), or a
 * refusal / failure code with errmsg set: ORC_ENOTFOUND, ORC_EINVAL (a
 * loop), ORC_ESTATE (the topology does not allow it, or every replica
 * failed), ORC_EPERM (not the leader). */
int rec_many_run(struct rec_env *env,
                 const struct rec_many_request *req,
                 struct rec_many_result *out,
                 char *errmsg,
                 size_t len);

/* ---- errant GTID (errant.c) ---- */

/* orchestrator's LocateErrantGTID: the binary logs of the instance that hold
 * its errant transactions (computed now from fresh readings of it and its
 * master), as a new JSON array of file names in *files. Any node; reads
 * only. Returns 0, ORC_ENOTFOUND, ORC_ESTATE (no errant GTID, not a
 * replica, purged) or a MySQL error, with errmsg set. */
int rec_errant_locate(struct rec_env *env,
                      const struct orc_key *key,
                      json_t **files,
                      char *errmsg,
                      size_t len);

enum rec_errant_op {
    REC_ERRANT_RESET_MASTER, /* gtid-errant-reset-master */
    REC_ERRANT_INJECT_EMPTY, /* gtid-errant-inject-empty */
};

struct rec_errant_result {
    struct orc_key key;    /* the instance */
    struct orc_key master; /* inject-empty: the cluster master written to */
    int64_t injected;      /* inject-empty: empty transactions written */
    bool fresh;            /* the live snapshot already shows no errant GTID */
    char message[512];     /* orchestrator's API message */
};

/* "gtid-errant-reset-master" / "gtid-errant-inject-empty". Static. */
const char *rec_errant_op_name(enum rec_errant_op op);
/* Removes the instance's errant GTIDs (see errant.c for each flavor's
 * form). Leader only (ORC_EPERM otherwise); refuses with ORC_ESTATE before
 * touching a server when there is nothing errant, the instance has
 * replicas (reset-master), is under maintenance, or the cluster master is
 * read-only (inject-empty). Audited; user (may be NULL) is named in the
 * audit. */
int rec_errant_fix(struct rec_env *env,
                   enum rec_errant_op op,
                   const struct orc_key *key,
                   const char *user,
                   struct rec_errant_result *out,
                   char *errmsg,
                   size_t len);

/* ---- graceful master takeover (takeover.c) ---- */

struct rec_takeover_request {
    const char *cluster;              /* cluster name (already resolved from the hint) */
    const struct orc_key *designated; /* requested successor, or NULL */
    bool auto_choose;                 /* graceful-master-takeover-auto */
    const char *user;                 /* audit; may be NULL */
};

struct rec_takeover_result {
    char uid[64];
    int64_t id; /* recovery id; 0 when not registered */
    char cluster[ORC_KEY_STRLEN];
    char alias[DISC_TEXT_MAX];
    struct orc_key old_master;
    struct orc_key old_master_master; /* host "" (the old master was a top master) */
    struct orc_key successor;         /* host "" when none */
    struct disc_coords successor_coords;
    struct disc_keylist replicas;     /* the old master's direct replicas */
    struct disc_keylist participants; /* every instance changed */
    struct orc_buf errors;            /* one per line */
    bool successful;
    int64_t started_s, ended_s; /* wall clock */
    /* read_only=1 on the old master .. read_only=0 on the successor; -1 when
     * the successor never became writable. */
    int64_t no_writer_us;
    char message[1536];
};

void rec_takeover_result_init(struct rec_takeover_result *r);
void rec_takeover_result_release(struct rec_takeover_result *r);

/* orchestrator's GracefulMasterTakeover (reference 4.4). Returns 0 with
 * out->successful, a refusal before anything was touched (nothing
 * registered), or a failure after it started (registered as an unsuccessful
 * recovery; the old master is writable again when the successor never was). */
int rec_takeover_run(struct rec_env *env,
                     const struct rec_takeover_request *req,
                     struct rec_takeover_result *out,
                     char *errmsg,
                     size_t len);

/* ---- replication control on one instance (replication.c) ---- */

enum rec_repl_op {
    REC_REPL_RESTART,       /* restart-replica */
    REC_REPL_RESET,         /* reset-replica */
    REC_REPL_STOP_NICE,     /* stop-replica-nice */
    REC_REPL_SKIP_QUERY,    /* skip-query */
    REC_REPL_DETACH,        /* detach-replica(-master-host) */
    REC_REPL_REATTACH,      /* reattach-replica(-master-host) */
    REC_REPL_DELAY,         /* delay-replication: number = seconds */
    REC_REPL_FLUSH_BINLOGS, /* flush-binary-logs */
    REC_REPL_PURGE_BINLOGS, /* purge-binary-logs: binlog, force */
    REC_REPL_ENABLE_GTID,
    REC_REPL_DISABLE_GTID,
    REC_REPL_KILL_QUERY, /* kill-query: number = process id */
};

struct rec_repl_request {
    enum rec_repl_op op;
    struct orc_key key;
    int64_t number;     /* seconds (delay), process id (kill-query) */
    const char *binlog; /* purge: a binary log name or "latest"; borrowed */
    bool force;         /* purge: even past what a replica still needs */
    const char *user;   /* audit; may be NULL */
};

struct rec_repl_result {
    struct orc_key key;
    bool fresh;        /* the live snapshot already shows the change */
    char message[384]; /* orchestrator's API message */
};

/* The route name ("skip-query", ...). Static. */
const char *rec_repl_op_name(enum rec_repl_op op);
/* Runs one operation on the leader: a fresh reading, orchestrator's checks
 * (refusals: ORC_ESTATE, ORC_EINVAL, ORC_ENOTFOUND, ORC_EPERM off the
 * leader), the statements, an audit entry, and a wait until the topology
 * shows the result. Blocking; never on the loop thread. */
int rec_repl_run(struct rec_env *env,
                 const struct rec_repl_request *req,
                 struct rec_repl_result *out,
                 char *errmsg,
                 size_t len);
/* can-replicate-from(-gtid) on fresh readings: *can, and why when false.
 * Returns 0, or the error reading either instance. */
int rec_repl_can_replicate_from(struct rec_env *env,
                                const struct orc_key *key,
                                const struct orc_key *dest,
                                bool gtid,
                                bool *can,
                                char *why,
                                size_t whylen,
                                char *errmsg,
                                size_t len);
/* restart-replica-statements: *out (new, caller's) is the list of
 * statements that apply stmt while keeping the replication threads' state. */
int rec_repl_statements(struct rec_env *env,
                        const struct orc_key *key,
                        const char *stmt,
                        json_t **out,
                        char *errmsg,
                        size_t len);
/* Pure: appends to out (a JSON array) STOP of the running threads, stmt
 * (";"-terminated), then START of the same threads. 0 or ORC_ENOMEM. */
int rec_repl_restart_statements(const struct disc_instance *in, const char *stmt, json_t *out);
/* Pure: "uuid:N+1" where N is uuid's highest transaction in the MySQL GTID
 * set executed. ORC_EINVAL when uuid is empty or out too small. */
int rec_repl_next_gtid(const char *executed, const char *uuid, char *out, size_t len);

/* ========================================================================
 * Semi-sync (semisync.c): the stale-coordinates tracker's feed, the
 * LockedSemiSyncMaster and MasterWithTooManySemiSyncReplicas recoveries, and
 * the enable/disable-semi-sync-master/replica operations.
 * Threads: blocking MySQL calls; the recovery thread or HTTP threads, never
 * the loop thread.
 * ======================================================================== */

/* One replica of a semi-sync master, as the plan sees it. */
struct rec_semisync_replica {
    struct orc_key key;
    bool valid;       /* read just now */
    bool replicating; /* both replication threads run */
    bool enabled;     /* rpl_semi_sync_slave_enabled */
    int64_t priority; /* SemiSyncPriority (DetectSemiSyncEnforcedQuery) */
    int rule_rank;    /* rec_rule_rank of its promotion rule */
    int action;       /* out: 1 enable, -1 disable, 0 nothing */
};

/* orchestrator's AnalyzeSemiSyncReplicaTopology, pure. Sorts v in place:
 * valid replicating replicas with priority > 0 first (higher priority, then
 * better promotion rule, then key), and sets each action. exact
 * (EnforceExactSemiSyncReplicas): the first wait_count of those are enabled
 * and every other replica is disabled; otherwise (RecoverLockedSemiSyncMaster)
 * replicas are only enabled, in that order, until wait_count - clients more
 * were. Replicas that are not valid or not replicating are left alone.
 * Returns the number of actions. */
size_t rec_semisync_plan(struct rec_semisync_replica *v,
                         size_t n,
                         int64_t wait_count,
                         int64_t clients,
                         bool exact);

/* True for the codes rec_semisync_recover handles. */
bool rec_semisync_handles(enum rec_code c);

/* The stale-coordinates feed (orchestrator's emergent operation, which
 * every manager of a raft cluster runs): for each master of s that waits
 * for more semi-sync acknowledgements than it has clients, records its
 * binary log coordinates in env->stale (the first-seen time is kept while
 * they do not move) and asks for a re-probe when they are new; forgets
 * masters not seen so for max(60 s, 2 x ReasonableReplicationLagSeconds).
 * Time is the snapshot's (s->taken_ms, wall clock). */
void rec_semisync_observe(struct rec_env *env, const struct disc_snapshot *s);

/* The recovery of a LockedSemiSyncMaster (with RecoverLockedSemiSyncMaster
 * or EnforceExactSemiSyncReplicas) or a MasterWithTooManySemiSyncReplicas
 * (EnforceExactSemiSyncReplicas) entry: registered as a recovery
 * (anti-flapping), its steps recorded, the master and its replicas read
 * again, the plan applied (semi-sync master off on prioritised replicas,
 * enables before disables, the IO thread restarted where it runs),
 * resolved with the master as successor when every action worked, then
 * PostFailoverProcesses or PostUnsuccessfulFailoverProcesses. Returns 0
 * when it succeeded, ORC_EEXIST when blocked, ORC_ESTATE when recoveries
 * are disabled (globally or by the config keys), ORC_EPERM when not the
 * leader, another error otherwise. */
int rec_semisync_recover(struct rec_env *env,
                         const struct rec_analysis *a,
                         int64_t detection_id,
                         char *errmsg,
                         size_t len);

/* The same run for the recover and recover-lite routes: the global switch
 * and the loop's pre-check of an active recovery are skipped (the
 * registration still refuses one in its active period: ORC_EEXIST,
 * out->blocked); skip_hooks: no post hooks. out (initialised with
 * rec_result_init) gets the uid, id, outcome, the master as successor,
 * the touched replicas and the errors. */
int rec_semisync_recover_forced(struct rec_env *env,
                                const struct rec_analysis *a,
                                bool skip_hooks,
                                struct rec_result *out,
                                char *errmsg,
                                size_t len);

/* enable/disable-semi-sync-master (master true) or -replica: sets
 * rpl_semi_sync_master_enabled or rpl_semi_sync_slave_enabled (the
 * source/replica names where the server has those) on k; a replica whose
 * setting changed while its IO thread runs has the thread restarted so it
 * takes effect. Audited; waits briefly until the topology shows it. Leader
 * only (ORC_EPERM). out->message is orchestrator's API message. */
int rec_semisync_set(struct rec_env *env,
                     const struct orc_key *k,
                     bool master,
                     bool enable,
                     const char *user,
                     struct rec_planned_result *out,
                     char *errmsg,
                     size_t len);

/* ========================================================================
 * Hooks (hooks.c): what the service needs; the runner is in hooks.h
 * ======================================================================== */

/* Counts asynchronous hooks still running, so the service can wait for them
 * before it exits. Owned by the caller; must outlive every hook it tracks. */
struct rec_hooks_tracker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running; /* guarded by mu */
};

int rec_hooks_tracker_init(struct rec_hooks_tracker *t, char *errmsg, size_t len);
/* Number of asynchronous hooks still running. */
int rec_hooks_tracker_running(struct rec_hooks_tracker *t);
/* Waits until no tracked hook runs; 0, or ORC_ETIMEDOUT after timeout_ms. */
int rec_hooks_tracker_wait(struct rec_hooks_tracker *t, int64_t timeout_ms);
/* Only once rec_hooks_tracker_wait returned 0. */
void rec_hooks_tracker_release(struct rec_hooks_tracker *t);

/* Checks every line against the quoting rule without running anything (for
 * config validation at start). 0 or ORC_EINVAL naming the line: "[2]: ...". */
int rec_hooks_validate(const char *const *lines, size_t n, char *errmsg, size_t len);
/* Checks every hook list of the config (at start): ORC_ECONFIG with
 * "key 'PreFailoverProcesses': [2]: placeholder '{failedHost}' at column 9 ...". */
int rec_hooks_validate_config(const struct orc_config *c, char *errmsg, size_t len);

#endif
