/*
 * topo: the live topology. Holds every known instance, polls each one every
 * InstancePollSeconds from a pool of worker threads, crawls new masters and
 * replicas, persists what it sees to the backend in batches, and hands
 * readers immutable snapshots with clusters computed (name, depth,
 * co-masters, alias) and operator annotations (downtime, maintenance,
 * promotion rules) applied.
 *
 * Threads: the scheduler, the workers, the watcher and the writer are
 * internal. Every public function is thread-safe. A snapshot is immutable and
 * reference counted: readers hold it as long as they like.
 */
#ifndef ORC_DISC_TOPO_H
#define ORC_DISC_TOPO_H

#include <stdbool.h>
#include <stdint.h>

#include "discovery/disc.h"

struct be;
struct disc_topo;

struct disc_topo_options {
    struct be *be;                          /* persistence; may be NULL (tests) */
    const struct disc_probe_options *probe; /* prepared; borrowed */
    struct disc_conn_options conn;          /* topology credentials and timeouts */
    int64_t poll_ms;                        /* InstancePollSeconds * 1000 */
    int64_t reasonable_check_ms;            /* ReasonableInstanceCheckSeconds * 1000 */
    int workers;                            /* max worker threads */
    int64_t forget_unseen_s;                /* UnseenInstanceForgetHours * 3600; 0 = never */
    int64_t reasonable_lag_s;               /* ReasonableReplicationLagSeconds */
    int64_t flush_ms;                       /* batch window of backend writes */
    int default_port;                       /* DefaultInstancePort */
    /* DiscoveryIgnore*HostnameFilters: regexes on "host:port" (borrowed). */
    const char *const *ignore;
    size_t nignore;
    const char *const *ignore_replica;
    size_t nignore_replica;
    const char *const *ignore_master;
    size_t nignore_master;
    /* ClusterNameToAlias: regex -> alias (borrowed). */
    const char *const *alias_re;
    const char *const *alias_val;
    size_t nalias;
    /* Called (from a worker thread) after each probe whose outcome changed
     * the topology in a way analysis cares about; may be NULL. */
    void (*on_change)(void *arg, const struct orc_key *key, bool probe_ok);
    void *on_change_arg;
};

int disc_topo_new(const struct disc_topo_options *o,
                  struct disc_topo **out,
                  char *errmsg,
                  size_t len);
/* Loads the instances the backend knows and starts the threads. */
int disc_topo_start(struct disc_topo *t, char *errmsg, size_t len);
/* Stops the threads (bounded by the probe timeouts), flushes pending writes. */
void disc_topo_stop(struct disc_topo *t);
void disc_topo_free(struct disc_topo *t);

/* Adds key (if new) and probes it now on the calling thread when wait is
 * true (then *out, if not NULL, receives a copy of the result); otherwise
 * queues it. The crawl continues from it in the background. */
int disc_topo_discover(struct disc_topo *t,
                       const struct orc_key *key,
                       bool wait,
                       struct disc_instance *out,
                       char *errmsg,
                       size_t len);
/* Queues a probe of key at the front of the queue (known instances only). */
void disc_topo_probe_soon(struct disc_topo *t, const struct orc_key *key);
/* Forgets an instance (memory and backend); it returns only if discovered
 * again (a replica's master link or a seed). ORC_ENOTFOUND if unknown. */
int disc_topo_forget(struct disc_topo *t, const struct orc_key *key);
/* Forgets every instance of a cluster; returns how many, or ORC_ENOTFOUND. */
int disc_topo_forget_cluster(struct disc_topo *t, const char *cluster);

/* ---- operator annotations (applied by the command layer) ---- */
int disc_topo_set_downtime(struct disc_topo *t,
                           const struct orc_key *key,
                           int64_t until_s,
                           const char *owner,
                           const char *reason);
int disc_topo_end_downtime(struct disc_topo *t, const struct orc_key *key);
/* Maintenance lasts DISC_MAINTENANCE_S unless ended earlier. */
#define DISC_MAINTENANCE_S 600
int disc_topo_set_maintenance(struct disc_topo *t,
                              const struct orc_key *key,
                              bool on,
                              const char *owner,
                              const char *reason);
int disc_topo_set_promotion_rule(struct disc_topo *t,
                                 const struct orc_key *key,
                                 const char *rule,
                                 int64_t until_s);
int disc_topo_set_cluster_alias(struct disc_topo *t, const char *cluster, const char *alias);

/* ---- snapshots ---- */

/* Operator state of one instance, as of the snapshot. */
struct disc_annot {
    bool downtimed;
    int64_t downtime_end_s;
    int64_t downtime_begin_s;
    char downtime_owner[64];
    char downtime_reason[256];
    bool in_maintenance;
    int64_t maintenance_end_s; /* maintenance expires then (10 minutes, as orchestrator) */
    char promotion_rule[16];   /* "" = neutral by default */
};

struct disc_cluster {
    char name[ORC_KEY_STRLEN];
    char alias[DISC_TEXT_MAX];
    char domain[DISC_TEXT_MAX];
    size_t first, count; /* instances[first .. first+count) belong to it */
    int master;          /* index of the master in instances, or -1 */
};

struct disc_snapshot {
    uint64_t version;
    uint64_t health_version; /* changes only when analysis inputs changed */
    int64_t taken_ms;        /* wall clock */
    int64_t poll_ms;
    int64_t reasonable_check_ms;
    int64_t reasonable_lag_s;
    size_t n;
    struct disc_instance *instances; /* grouped by cluster, then depth, then key */
    struct disc_annot *annots;       /* parallel to instances */
    size_t nclusters;
    struct disc_cluster *clusters; /* sorted by name */
    /* internal */
    int refs;
    void *index;
};

/* The current snapshot (built if the topology changed). Never NULL once the
 * topology exists. Release with disc_snapshot_put. */
struct disc_snapshot *disc_topo_snapshot(struct disc_topo *t);
void disc_snapshot_put(struct disc_snapshot *s);
/* Index of key in the snapshot, or -1. */
int disc_snapshot_find(const struct disc_snapshot *s, const struct orc_key *key);
/* Index of the cluster whose name or alias is hint, or -1. */
int disc_snapshot_cluster(const struct disc_snapshot *s, const char *hint);
/* Index of the cluster an instance belongs to, or -1. */
int disc_snapshot_cluster_of(const struct disc_snapshot *s, int instance);

/* IsLastCheckValid, IsUpToDate, IsRecentlyChecked as the reference defines. */
bool disc_snapshot_check_valid(const struct disc_snapshot *s, int i);
bool disc_snapshot_up_to_date(const struct disc_snapshot *s, int i);
bool disc_snapshot_recently_checked(const struct disc_snapshot *s, int i);

/* Counters for /metrics. */
struct disc_topo_stats {
    uint64_t probes, probe_failures, probe_latency_us_sum;
    uint64_t queue_len, workers, instances;
    uint64_t backend_writes, backend_write_errors;
};
void disc_topo_stats(struct disc_topo *t, struct disc_topo_stats *out);

#endif
