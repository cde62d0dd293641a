/*
 * Internal declarations shared by the raft module's files: raft.c (loop
 * thread, request queue, state copy, public calls), raft_start.c (start and
 * stop), raft_apply.c (the raft_fsm vtable and the applier thread),
 * raft_members.c (membership, leadership transfer), raft_join.c (the joiner
 * thread), raft_web.c (the ops web/ calls). Not for use outside orchestrator/raft*.c.
 */
#ifndef ORC_RAFT_INT_H
#define ORC_RAFT_INT_H

#include <pthread.h>
#include <sys/socket.h>
#include <raft.h>
#include <raft/uv.h>

#include "orchestrator/raft.h"

struct orc_fsm;

enum orc_raft_req_kind {
    ORC_RREQ_APPLY,
    ORC_RREQ_TRANSFER,
    ORC_RREQ_ADD,
    ORC_RREQ_REMOVE,
    ORC_RREQ_SNAPSHOT,
    ORC_RREQ_STOP,
};

/* A request from another thread to the loop. Reference counted: the caller,
 * the loop (from enqueue until its raft callback ended) and the applier's
 * waiter list (APPLY, from raft_apply until applied) each hold one. */
struct orc_raft_req {
    struct orc_raft_req *next;  /* request queue (qlock) */
    struct orc_raft_req *wnext; /* applier waiters (applier lock) */
    enum orc_raft_req_kind kind;
    int refs; /* atomic */
    struct orc_raft *owner;

    /* input (immutable once queued) */
    struct raft_buffer buf; /* APPLY: raft_malloc'ed, padded command */
    uint64_t hash;          /* APPLY: of buf, to check the applied entry */
    char addr[ORC_RAFT_ADDR_MAX];
    uint64_t id;       /* TRANSFER (0: any), ADD, REMOVE */
    bool voter;        /* ADD */
    bool rejoin;       /* ADD: the joiner of addr asks (added as a standby) */
    bool wants_vote;   /* ADD, rejoin: promote it when the voters stay odd */
    int64_t uptime_ms; /* ADD, rejoin: how long the joiner's process runs */
    bool by_hand;      /* REMOVE: raft-remove-peer (not automatic) */

    /* loop thread only */
    struct raft_apply apply;
    struct raft_change change;
    struct raft_transfer transfer;
    raft_index index; /* APPLY: the entry's index */
    int step;         /* ADD: 0 add, 1 standby, 2 catching up, 3 voter */
    bool in_raft;     /* raft holds change/transfer until its callback */
    int64_t deadline_ms;
    raft_index catch_up_to;

    /* completion (mu) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int rc;
    char errmsg[ORC_ERRMSG_SIZE];
    json_t *result;
};

/* An entry for the applier, in log order. */
enum orc_raft_item_kind { ORC_RITEM_CMD, ORC_RITEM_RESTORE, ORC_RITEM_DUMP };
struct orc_raft_item {
    struct orc_raft_item *next;
    enum orc_raft_item_kind kind;
    uint64_t seq;
    raft_index index; /* CMD: the entry's log index */
    raft_term term;   /* CMD: the entry's term (0: unknown) */
    void *data;       /* CMD: malloc'ed copy; RESTORE: raft buffer (raft_free) */
    size_t len;
};

#define ORC_RAFT_URI_MAP 16

struct orc_raft {
    /* immutable after start */
    const struct orc_config *cfg;
    struct orc_fsm *fsm;
    raft_id id;
    char bind[ORC_RAFT_ADDR_MAX];
    char advertise[ORC_RAFT_ADDR_MAX];
    char http_uri[ORC_RAFT_URI_MAX];
    char dir[1024];
    bool bootstrap;   /* listed in its own RaftNodes (or single node) */
    int64_t start_ms; /* orc_mono_ms() when this process started raft */
    char log_id[64];  /* this node's raft log (RaftDataDir/orc-log-id) */
    struct raft_configuration boot;

    /* loop thread only */
    uv_loop_t loop;
    uv_async_t async;
    uv_timer_t timer;
    uv_check_t check; /* stall detection after every poll */
    int64_t alive_ms; /* the last tick or check (stall detection) */
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft_fsm rfsm;
    struct raft raft;
    struct raft_barrier barrier;
    bool barrier_pending;
    raft_term barrier_term; /* term whose barrier went through raft */
    uint64_t barrier_seq;   /* applier seq the barrier waited for */
    raft_term uri_term;     /* term whose leader-uri was submitted */
    struct raft_apply uri_apply;
    bool uri_pending;
    struct orc_raft_req *change; /* ADD/REMOVE in progress */
    struct orc_raft_req *xfer;   /* TRANSFER in progress */
    struct orc_raft_req *snap;   /* SNAPSHOT in progress */
    struct orc_raft_req *stop;   /* STOP in progress */
    struct raft_transfer stop_transfer;
    bool handing_over;         /* stop: a follower until the new leader commits */
    raft_index handover_index; /* our last index when leadership moved */
    int64_t handover_until_ms;
    raft_term leader_since_term;
    int64_t leader_since_ms;
    int64_t last_contact_ms[ORC_RAFT_MAX_PEERS]; /* by configuration slot */
    raft_id last_contact_id[ORC_RAFT_MAX_PEERS];
    int64_t next_sweep_ms;
    /* leader: standbys that asked to vote (orc_mono_ms of the last ask) */
    raft_id want_id[ORC_RAFT_MAX_PEERS];
    int64_t want_ms[ORC_RAFT_MAX_PEERS];
    int64_t min_voters_warned_ms;
    raft_term contact_term;
    unsigned threshold; /* RaftSnapshotThreshold */
    int64_t last_tick_ms;
    int64_t tilt_until_ms; /* no acting as leader before this (a stall) */
    uint64_t tilt_seq;     /* stalls seen; a confirmation ends only its own */
    struct raft_barrier tilt_barrier;
    bool tilt_barrier_pending;
    uint64_t tilt_barrier_seq; /* the stall the pending barrier confirms */
    raft_term tilt_barrier_term;
    int64_t tilt_barrier_ms;
    raft_term watch_fired_term; /* raft_watch.c: the term it last cut short */
    int64_t watch_next_ms;
    bool closing;

    pthread_t loop_thread;
    bool loop_started;
    /* start handshake */
    pthread_mutex_t start_mu;
    pthread_cond_t start_cv;
    bool start_done;
    int start_rc;
    char start_err[ORC_ERRMSG_SIZE];

    /* the request queue */
    pthread_mutex_t qlock;
    struct orc_raft_req *qhead, *qtail;
    bool accepting; /* the async handle is open */

    /* the state copy (slock) */
    pthread_mutex_t slock;
    struct orc_raft_info st;
    struct {
        char addr[ORC_RAFT_ADDR_MAX];
        char uri[ORC_RAFT_URI_MAX];
    } uris[ORC_RAFT_URI_MAP]; /* leader-uri published by each leader */
    size_t nuris;
    struct {
        char addr[ORC_RAFT_ADDR_MAX];
        int64_t at_ms;             /* wall clock of the removal */
    } removed[ORC_RAFT_MAX_PEERS]; /* removed by hand ("raft-removed" entries) */
    size_t nremoved;
    bool stopped;

    /* the applier (alock) */
    pthread_mutex_t alock;
    pthread_cond_t acv;   /* work to do */
    pthread_cond_t adone; /* progress */
    struct orc_raft_item *ahead, *atail;
    uint64_t enq_seq, done_seq;
    struct orc_raft_req *waiters;
    bool astop;
    pthread_t applier;
    bool applier_started;
    struct orc_buf dump; /* the last snapshot document */
    uint64_t dump_seq;   /* DUMP item it answers */
    int dump_rc;
    uint64_t snap_seq; /* DUMP item of the snapshot raft is taking */
    /* the applier's health: a failing backend is retried, never skipped */
    bool apply_failing; /* retried longer than ORC_RAFT_APPLY_RETRY_MS */
    bool apply_fatal;   /* the store counts in another log: nothing more applies */
    raft_index apply_stuck_index;
    char apply_error[ORC_ERRMSG_SIZE];

    /* leadership given away because the applier is unhealthy (loop thread) */
    struct raft_transfer sick_transfer;
    bool sick_transfer_pending;
    int64_t sick_transfer_ms;
    int64_t max_stall_ms;       /* longest gap between two ticks (loop thread; slock to read) */
    pthread_mutex_t ready_lock; /* on_ready: set, cleared and called under it */
    void (*on_ready)(void *arg);
    void *on_ready_arg;

    /* the joiner */
    pthread_t joiner;
    bool joiner_started;
    bool jstop; /* alock */
    pthread_cond_t jcv;
};

/* ---- raft.c ---- */
/* The loop's poll timer and request queue callbacks (raft_start.c sets them up). */
void orc_raft_tick_cb(uv_timer_t *t);
void orc_raft_check_cb(uv_check_t *c);
void orc_raft_async_cb(uv_async_t *a);
/* Completes a request once (first answer wins); result is stolen. */
void orc_raft_req_complete(struct orc_raft_req *q, int rc, json_t *result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void orc_raft_req_put(struct orc_raft_req *q);
struct orc_raft_req *orc_raft_req_new(enum orc_raft_req_kind kind);
/* Queues q for the loop and waits for its completion up to timeout_ms.
 * Returns q->rc (copying errmsg), or ORC_ETIMEDOUT / ORC_ESTATE. */
int orc_raft_req_run(struct orc_raft *r,
                     struct orc_raft_req *q,
                     int64_t timeout_ms,
                     json_t **result,
                     char *errmsg,
                     size_t len);
/* Copies raft's state for other threads now (loop thread). */
void orc_raft_state_refresh(struct orc_raft *r);
/* Static name of a raft state. */
const char *orc_raft_state_name(int state);
/* The leader URI published by addr, copied into uri; false if none (slock). */
bool orc_raft_uri_lookup(struct orc_raft *r, const char *addr, char *uri, size_t len);
void orc_raft_uri_record(struct orc_raft *r, const char *addr, const char *uri);
/* Reads the leader URIs saved in RaftDataDir (before the threads start). */
void orc_raft_uris_load(struct orc_raft *r);
/* Members removed by hand, as replicated ("raft-removed"): at_ms is the wall
 * clock of the removal, 0 to forget addr (any thread, slock). */
void orc_raft_removed_record(struct orc_raft *r, const char *addr, int64_t at_ms);
int64_t orc_raft_removed_at(struct orc_raft *r, const char *addr);
/* Replicates {"op":op,"value":value} without waiting (loop thread, leader);
 * value is borrowed. */
int orc_raft_loop_apply(struct orc_raft *r, const char *op, const json_t *value);

/* ---- raft_apply.c ---- */
void orc_raft_fsm_setup(struct orc_raft *r);
int orc_raft_applier_start(struct orc_raft *r, char *errmsg, size_t len);
/* Stops the applier; pending waiters fail with ORC_ESTATE. */
void orc_raft_applier_stop(struct orc_raft *r);
/* Registers an APPLY request to be completed when its index is applied. */
void orc_raft_applier_wait(struct orc_raft *r, struct orc_raft_req *q);
/* Drops q from the waiters if present (its apply failed). */
void orc_raft_applier_unwait(struct orc_raft *r, struct orc_raft_req *q);
/* Sequence number of the last item queued / applied. */
uint64_t orc_raft_applier_enqueued(struct orc_raft *r);
uint64_t orc_raft_applier_done(struct orc_raft *r);
/* Waits until the applier applied everything queued so far (any thread). */
int orc_raft_applier_drain(struct orc_raft *r, int64_t timeout_ms);
/* False while the applier cannot apply (failing backend, foreign store);
 * err (may be NULL) receives why (any thread). */
bool orc_raft_applier_healthy(struct orc_raft *r, char *err, size_t len);

/* ---- raft_members.c (loop thread unless noted) ---- */
void orc_raft_members_tick(struct orc_raft *r, int64_t now_ms);
void orc_raft_change_start(struct orc_raft *r, struct orc_raft_req *q);
void orc_raft_transfer_start(struct orc_raft *r, struct orc_raft_req *q);
/* Fails the change/transfer in progress (closing). */
void orc_raft_members_abort(struct orc_raft *r);
/* ---- raft_join.c: the joiner thread (any thread) ---- */
int orc_raft_joiner_start(struct orc_raft *r, char *errmsg, size_t len);
void orc_raft_joiner_stop(struct orc_raft *r);

/* ---- raft_auth.c ---- */
/* Longest RaftSecret accepted (bytes). */
#define ORC_RAFT_SECRET_MAX 1024
/* Whether this node may run raft with its secret (or without one) on bind:
 * no secret is fine on loopback; elsewhere only with
 * RaftAllowUnauthenticatedPeers (logged as a warning). */
int orc_raft_auth_check(const struct orc_config *c, const char *bind, char *errmsg, size_t len);
/* Initializes t as raft_uv_tcp bound to bind, wrapped in the peer
 * handshake when secret is not empty (loop thread). Release with
 * orc_raft_auth_close once raft_uv_close ran. */
int orc_raft_auth_init(struct raft_uv_transport *t,
                       uv_loop_t *loop,
                       const char *bind,
                       const char *secret,
                       char *errmsg,
                       size_t len);
void orc_raft_auth_close(struct raft_uv_transport *t);
/* The IP address peer id last connected to us from (loop thread). */
bool orc_raft_auth_peer_ip(const struct raft_uv_transport *t,
                           raft_id id,
                           struct sockaddr_storage *out);

/* ---- raft_watch.c ---- */
/* A follower that sees its connection to the leader closed by the leader's
 * side campaigns at raft's next tick instead of after a whole election
 * timeout (loop thread, every poll). */
void orc_raft_watch_tick(struct orc_raft *r, int64_t now_ms);

#endif
