/* Internal declarations shared by topo.c, pool.c, snap.c and store.c. */
#ifndef ORC_DISC_TOPO_INT_H
#define ORC_DISC_TOPO_INT_H

#include <pthread.h>
#include <regex.h>

#include "discovery/disc.h"

/* Shared instance records (instance.c): a disc_instance with a reference
 * count. An entry holds its current record; snapshots hold references to
 * the same records instead of copies. A record is changed only by a holder
 * of its sole reference: the entry replaces a shared one with a copy first
 * (topo_entry_own). Never NULL from new/dup except out of memory. */
struct disc_instance *topo_rec_new(void);
struct disc_instance *topo_rec_dup(const struct disc_instance *src);
void topo_rec_get(const struct disc_instance *in);
void topo_rec_put(const struct disc_instance *in);
bool topo_rec_shared(const struct disc_instance *in);

/* One known instance. Guarded by topo->lock, except conn while busy: then
 * only the probing thread touches it. */
struct entry {
    struct orc_key key;
    char keystr[ORC_KEY_STRLEN];
    struct entry *hnext;        /* hash chain */
    struct entry *qnext;        /* queue link */
    struct disc_instance *inst; /* last probe result, a shared record (fields valid once seen) */
    struct disc_conn *conn;     /* persistent connection, NULL until first probe */
    struct disc_annot annot;    /* operator state */
    int64_t rule_until_s;       /* promotion rule expiry, 0 = none */
    int64_t added_ms;           /* wall clock when first known */
    int64_t last_checked_ms;    /* wall clock */
    int64_t last_seen_ms;       /* wall clock of the last successful probe */
    int64_t last_attempted_ms;  /* wall clock */
    int64_t next_due_mono;      /* monotonic ms of the next regular probe */
    bool queued, busy, forgotten, dirty, seen;
    uint64_t watch_id;                /* registration in the idle-connection watcher, 0 = none */
    uint64_t health_sig, content_sig; /* see note_change() in pool.c */
    int64_t persisted_mono;
    uint64_t dirty_version; /* the topology version that holds the change to persist */
    int watch_fd;
    int pins;                 /* threads waiting on or probing it outside the lock */
    int64_t probe_start_mono; /* when the running probe started (busy) */
    bool hung;                /* the running probe overran HANG_MS: seen failed */
    bool aborted;             /* the running probe overran PROBE_ABORT_MS: cut short */
    bool conn_counted;        /* its connection is counted in nconns */
    size_t heap_idx;          /* place in t->due, TOPO_NOWHERE when not waiting there */
    size_t busy_idx;          /* place in t->busy, TOPO_NOWHERE when not busy */
};
#define TOPO_NOWHERE ((size_t)-1)

/* Operator state for an instance not known yet, applied when it appears
 * (replicated commands and snapshots may name instances before this node
 * probed them). */
struct pending_annot {
    struct orc_key key;
    struct disc_annot annot;
    int64_t rule_until_s;
};
#define TOPO_PENDING_MAX 4096

#define DISC_METRICS_RING 8192
struct disc_metric_ring {
    void *v; /* DISC_METRICS_RING samples, allocated on first use */
    size_t head, n;
};

struct alias_entry {
    char cluster[ORC_KEY_STRLEN];
    char alias[DISC_TEXT_MAX];
};

struct disc_topo {
    struct disc_topo_options o;
    regex_t *ignore, *ignore_replica, *ignore_master, *alias_re;

    pthread_mutex_t lock;
    pthread_cond_t work_cond;  /* queue not empty, or stopping */
    pthread_cond_t sched_cond; /* wake the scheduler */
    pthread_cond_t done_cond;  /* an entry stopped being busy */
    pthread_cond_t flush_cond; /* wake the writer */

    /* the table (lock) */
    struct entry **hash;
    size_t hash_size;
    struct entry **all;
    size_t n, cap;
    size_t ndirty;           /* entries marked dirty since the last flush */
    uint64_t version;        /* bumped on every change */
    uint64_t health_version; /* bumped when something analysis reads changed */

    /* the queue (lock) */
    struct entry *qhead, *qtail;
    size_t qlen;
    /* Entries neither queued nor busy, by next_due_mono (a binary min-heap),
     * and the busy ones (for hang checks): the scheduler looks at the few
     * that fall due instead of scanning every instance each time it wakes.
     * Both have room for every entry (reserved by topo_add). (lock) */
    struct entry **due, **busy;
    size_t ndue, nbusy, capsched;

    /* workers (lock) */
    pthread_t *worker_ids;
    int nworkers, idle_workers;
    bool stopping;
    pthread_t sched_id, writer_id, watcher_id;
    bool started;
    int epfd;   /* idle-connection watcher; -1 when not running */
    int stopfd; /* eventfd that wakes the watcher at stop */
    uint64_t next_watch_id;

    /* forgotten keys kept out of the crawl for a while (lock) */
    struct orc_key *forgot;
    int64_t *forgot_until_mono;
    size_t nforgot;
    /* backend deletions waiting for the writer (lock) */
    struct orc_key *deletes;
    size_t ndeletes, capdeletes;

    /* forgotten entries to free outside the lock: closing a connection may
     * block on the network (lock; drained by the writer) */
    struct entry **graveyard;
    size_t ngraves, capgraves;

    /* annotations of instances not known yet (lock) */
    struct pending_annot *pending;
    size_t npending;

    /* cluster aliases set by operators (lock) */
    struct alias_entry *aliases;
    size_t naliases;

    /* persistent connections open, and how many the descriptor limit leaves
     * for them (lock; see keep_connection() in pool.c) */
    size_t nconns, conn_budget;

    /* the cached snapshot (lock) */
    struct disc_snapshot *snap;

    /* counters (lock) */
    struct disc_topo_stats stats;

    /* recent samples for the metrics routes (metrics_lock; see metrics.c) */
    pthread_mutex_t metrics_lock;
    struct disc_metric_ring probe_ring, queue_ring, write_ring;
    int64_t last_queue_sample_ms;
};

/* metrics.c: recording (any thread; takes metrics_lock only) */
void topo_metrics_probe(struct disc_topo *t,
                        const struct orc_key *key,
                        int64_t started_ms,
                        int64_t instance_us,
                        const char *err);
/* At most one sample a second is kept. */
void topo_metrics_queue(struct disc_topo *t, int active, int queued);
void topo_metrics_write(struct disc_topo *t,
                        int64_t started_ms,
                        int64_t wait_us,
                        int64_t write_us,
                        size_t instances,
                        bool ok);
void topo_metrics_release(struct disc_topo *t);

/* topo.c */
struct entry *topo_find(struct disc_topo *t, const struct orc_key *k);
struct entry *topo_add(struct disc_topo *t, const struct orc_key *k);
void topo_enqueue(struct disc_topo *t, struct entry *e, bool urgent);
/* The due-time heap and the busy list (lock held; see struct disc_topo). */
void topo_due_push(struct disc_topo *t, struct entry *e);
void topo_due_remove(struct disc_topo *t, struct entry *e);
void topo_busy_add(struct disc_topo *t, struct entry *e);
void topo_busy_remove(struct disc_topo *t, struct entry *e);
bool topo_ignored(const regex_t *res, size_t n, const char *keystr);
void topo_entry_free(struct entry *e);
/* e's record, replaced by a private copy first when snapshots share it, so
 * the caller may change it (lock held). NULL out of memory (e unchanged). */
struct disc_instance *topo_entry_own(struct entry *e);
/* Frees e later, outside the lock (lock held; e is unlinked and unpinned). */
void topo_entry_bury(struct disc_topo *t, struct entry *e);
/* Frees the buried entries (lock NOT held). */
void topo_graveyard_drain(struct disc_topo *t);

/* pool.c */
int topo_threads_start(struct disc_topo *t, char *errmsg, size_t len);
void topo_threads_stop(struct disc_topo *t);
/* Probes e (busy, owned by the caller) and applies the result under lock. */
int topo_probe_entry(struct disc_topo *t, struct entry *e, char *errmsg, size_t len);
void topo_maybe_spawn(struct disc_topo *t);
/* Marks e busy (lock held): it leaves the queue's reach and the watcher. */
void topo_mark_busy(struct disc_topo *t, struct entry *e);
/* Stops watching e's idle connection (lock held). */
void topo_unwatch(struct disc_topo *t, struct entry *e);

/* snap.c */
void topo_snapshot_free(struct disc_snapshot *s);

/* store.c: mapping of instances to the database_instance table */
int topo_store_save(struct be *be,
                    const struct disc_instance *const *rows,
                    size_t n,
                    char *errmsg,
                    size_t len);
int topo_store_delete(struct be *be, const struct orc_key *k, char *errmsg, size_t len);
/* Loads every stored instance and the operator state into t (no lock needed:
 * called before the threads start). */
int topo_store_load(struct disc_topo *t, char *errmsg, size_t len);

#endif
