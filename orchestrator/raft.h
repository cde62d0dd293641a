/*
 * raft: the manager itself made highly available with canonical/raft 0.15.
 *
 * Every node runs the same service; one of them is the raft leader. The
 * replicated state is a log of commands {"op": ..., "value": {...}} applied
 * by the FSM (orchestrator/fsm.c) on every node to its own backend and live
 * topology. Probing is not replicated: every node probes every instance.
 * Only the leader acts (recoveries) and accepts commands; followers forward
 * mutating HTTP requests to the leader's HTTP URI, which the leader publishes
 * through the log (op "leader-uri").
 *
 * Threads (see DESIGN.md, "Threads and ownership"):
 *   loop     one libuv loop thread owns struct raft, raft_uv, raft_uv_tcp,
 *            the poll timer and the request queue. Nothing else touches them.
 *   applier  applies committed commands to the FSM in log order, outside
 *            the loop, so a slow backend never delays heartbeats; a failing
 *            backend is retried, never skipped (raft_apply.c).
 *   raft's work thread (uv_queue_work) only waits for the applier's snapshot
 *            document (raft_fsm version 3: asynchronous snapshots), so a
 *            snapshot never stalls the loop.
 *   joiner   (every node with RaftNodes; raft_join.c) asks the cluster over
 *            HTTP to add this node when it is not a member, or seems removed.
 *   callers  (HTTP handlers, the recovery thread) talk to the loop through a
 *            mutex-guarded queue plus uv_async_send and wait on a condition
 *            variable with a timeout.
 * Every function below is thread-safe unless it says otherwise.
 *
 * Membership: RaftNodes (this node included) is the bootstrap configuration,
 * all voters, identical on every node. A node not listed in its own RaftNodes,
 * or with RaftNonVoter, starts empty and joins at run time (raft-add-peer on
 * the leader). A removed node does not learn it was removed (libraft 0.15):
 * it finds out (no leader for ORC_RAFT_REJOIN_MS) and asks to be added back
 * (raft_join.c). Nodes that join by themselves come in as standbys; the leader
 * promotes a standby that wants to vote when the number of voters stays odd:
 * at once when it is even, with a second waiting standby when it is odd
 * (raft_members.c). A node removed by hand (raft-remove-peer) is let back
 * only after it restarted, or when added by hand.
 */
#ifndef ORC_RAFT_H
#define ORC_RAFT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/config.h"
#include "common/orc.h"

struct orc_fsm;
struct orc_raft;
struct web_raft_ops;

/* Timing, fixed on purpose (not config keys): fast failover on loopback, sane
 * on a LAN (10-20x a LAN round trip). A follower starts an election after
 * 1x..2x ORC_RAFT_ELECTION_MS without hearing from the leader. */
#define ORC_RAFT_HEARTBEAT_MS 100
#define ORC_RAFT_ELECTION_MS 500
/* How often the loop copies raft's state for other threads. */
#define ORC_RAFT_POLL_MS 10
/* A gap this long between two polls means the process or its loop stalled
 * (SIGSTOP, a blocked loop, a paused VM): a leader then stops acting for an
 * election timeout ("tilt"), time enough to learn of a newer term. Readers
 * also ignore a state copy older than this. Measured: the longest gap of a
 * busy 2-core machine (4 CPU hogs, a snapshot every 0.2 s) is ~90 ms, so
 * ordinary scheduling never tilts; it stays well under ELECTION_MS -
 * HEARTBEAT_MS (400 ms), the shortest stall after which another node may
 * have been elected. A 250 ms election timeout (measured: leader failover
 * median 0.58 s instead of 0.88 s) brought elections and tilts at load 12-16
 * on 2 cores, so the timing stays here. A lone voter never tilts. */
#define ORC_RAFT_STALL_MS 250
/* The raft listener's accept backlog (libraft 0.15 asks for 1; raft_auth.c). */
#define ORC_RAFT_LISTEN_BACKLOG 128
/* A command's longest wait for commit and local apply (orchestrator: 10 s). */
#define ORC_RAFT_APPLY_TIMEOUT_MS 10000
/* A membership change's longest wait (catch-up included). */
#define ORC_RAFT_CHANGE_TIMEOUT_MS 30000
/* A voter of its own configuration without a leader for this long asks to be
 * added back (it may have been removed: libraft 0.15 never tells it); longer
 * than an ordinary election, which starts after 1x..2x ELECTION_MS. */
#define ORC_RAFT_REJOIN_MS (3 * ORC_RAFT_ELECTION_MS)
/* A standby's request to vote counts this long (it repeats it every second). */
#define ORC_RAFT_WANT_MS 10000

#define ORC_RAFT_ADDR_MAX 64
#define ORC_RAFT_URI_MAX 256
#define ORC_RAFT_MAX_PEERS 32

/* ---- service lifecycle (node.c) ---- */

/* Resolves the raft addresses, creates RaftDataDir if missing, starts the
 * applier and the loop thread, bootstraps (when this node is listed in its
 * RaftNodes, or RaftNodes is empty) and starts raft. cfg and fsm are borrowed
 * and must outlive the raft. On success *out is the caller's
 * (orc_raft_stop, then orc_raft_free). */
int orc_raft_start(const struct orc_config *cfg,
                   struct orc_fsm *fsm,
                   struct orc_raft **out,
                   char *errmsg,
                   size_t len);
/* Planned stop: a leader first hands leadership to another voter (bounded by
 * the election timeout), then raft closes and the threads end. Afterwards
 * every call answers "not leader" / ORC_ESTATE. NULL is a no-op. */
void orc_raft_stop(struct orc_raft *r);
/* Frees r (stopping it first if needed). NULL is a no-op. */
void orc_raft_free(struct orc_raft *r);

/* ---- leadership and commands ---- */

/* True when this node is the raft leader and has applied every entry of
 * earlier terms (a barrier of its own term went through the FSM), its loop
 * has not stalled in the last election timeout, and the state copy is fresh
 * (younger than ORC_RAFT_STALL_MS): only then may it act on the replicated
 * state. */
bool orc_raft_is_leader(struct orc_raft *r);
/* cb(arg) runs on the raft loop thread each time orc_raft_is_leader turns
 * true (it must be quick and must not call into raft). NULL clears it; once
 * that call returned, no callback runs any more. */
void orc_raft_on_ready(struct orc_raft *r, void (*cb)(void *arg), void *arg);
/* The term this node leads in, under the same conditions as
 * orc_raft_is_leader; 0 when it is not the leader. Recoveries are pinned to
 * it: a new term means another leadership, even on the same node. */
uint64_t orc_raft_leader_term(struct orc_raft *r);
/* Replicates one command and waits until it is committed and applied to this
 * node's FSM (bounded by ORC_RAFT_APPLY_TIMEOUT_MS). payload is borrowed
 * (NULL: null). On a follower: ORC_EPERM. *result (may be NULL) receives
 * the FSM's answer, if any (caller decrefs). Returns the FSM's code. */
int orc_raft_submit(struct orc_raft *r,
                    const char *op,
                    const json_t *payload,
                    json_t **result,
                    char *errmsg,
                    size_t len);

/* A copy of what the loop last saw. */
struct orc_raft_peer {
    char addr[ORC_RAFT_ADDR_MAX];
    uint64_t id;
    int role;       /* RAFT_VOTER, RAFT_STANDBY, RAFT_SPARE */
    bool reachable; /* leader only: heard from within the election timeout */
};
struct orc_raft_info {
    const char *state;  /* "Leader", "Follower", "Candidate", "Shutdown" (static) */
    bool is_leader;     /* as orc_raft_is_leader, when the copy was made */
    int64_t updated_ms; /* orc_mono_ms() of the copy */
    bool member;        /* this node is in the configuration */
    bool voter;
    uint64_t id, leader_id, term;
    uint64_t commit_index, last_applied, last_index;
    char bind[ORC_RAFT_ADDR_MAX];
    char advertise[ORC_RAFT_ADDR_MAX];
    char leader[ORC_RAFT_ADDR_MAX];    /* raft address, "" when unknown */
    char leader_uri[ORC_RAFT_URI_MAX]; /* "" when unknown */
    char http_uri[ORC_RAFT_URI_MAX];   /* this node's own */
    size_t npeers;
    struct orc_raft_peer peers[ORC_RAFT_MAX_PEERS];
    int64_t max_stall_ms; /* longest gap between two loop ticks since start */
    bool applier_healthy; /* false: cannot apply the log (see applier_error) */
    char applier_error[ORC_ERRMSG_SIZE];
};
void orc_raft_info(struct orc_raft *r, struct orc_raft_info *out);

/* Where a request for a proxied route is served: 0 here (this node leads, or
 * it is a non-voter and the route only reads: it follows the log and probes
 * every instance itself); 1 at the leader, whose HTTP URI is copied into uri;
 * ORC_ENOTFOUND when no leader is known after waiting up to about two
 * election timeouts. */
int orc_raft_forward(struct orc_raft *r, bool write, char *uri, size_t len);

/* Leader only (ORC_EPERM elsewhere). target: a raft address, or NULL for the
 * most up-to-date voter. Waits until the transfer ended (at most the election
 * timeout); ORC_ESTATE when leadership did not move. */
int orc_raft_transfer(struct orc_raft *r, const char *target, char *errmsg, size_t len);
/* Leader only. Adds addr (host[:port], resolved) as a standby, waits until it
 * caught up, then promotes it to voter unless voter is false. norm receives
 * the normalized address. Already a member with that role: 0. */
int orc_raft_add_peer(struct orc_raft *r,
                      const char *addr,
                      bool voter,
                      char *norm,
                      size_t normlen,
                      char *errmsg,
                      size_t len);
/* Leader only. The joiner's request (raft_join.c): adds addr as a standby
 * unless it is a member already; wants_vote: promote it when the voters stay
 * odd (see Membership above). Refused (ORC_EPERM) when addr was removed by
 * hand after its process started uptime_ms ago. */
int orc_raft_rejoin(struct orc_raft *r,
                    const char *addr,
                    bool wants_vote,
                    int64_t uptime_ms,
                    char *norm,
                    size_t normlen,
                    char *errmsg,
                    size_t len);
/* Leader only. Removes addr from the configuration (never the leader itself);
 * a node removed this way may join again by itself only after a restart. */
int orc_raft_remove_peer(struct orc_raft *r,
                         const char *addr,
                         char *norm,
                         size_t normlen,
                         char *errmsg,
                         size_t len);
/* Takes a snapshot of this node's FSM now (any node). */
int orc_raft_snapshot(struct orc_raft *r, char *errmsg, size_t len);

/* The raft-* routes and the proxy decision for web/ (ctx = struct orc_raft). */
extern const struct web_raft_ops orc_raft_web_ops;

/* ---- pure helpers (raft_cmd.c), unit-tested ---- */

/* n rounded up to a multiple of 8. */
size_t orc_raft_pad8(size_t n);
/* Encodes {"op":op,"value":value} (value NULL: null) into out, padded with
 * spaces to a multiple of 8 bytes (libraft 0.15 silently drops committed
 * entries of other sizes on restart). */
int orc_raft_cmd_encode(const char *op, const json_t *value, struct orc_buf *out);
/* Decodes a command (trailing padding allowed). *value is the caller's. */
int orc_raft_cmd_decode(const void *data,
                        size_t n,
                        char *op,
                        size_t oplen,
                        json_t **value,
                        char *errmsg,
                        size_t len);
/* Rewrites host[:port] as a.b.c.d:port (raft_uv_tcp takes IPv4 only),
 * resolving a host name; default_port when no port is given. */
int orc_raft_addr_normalize(const char *in,
                            int default_port,
                            char *out,
                            size_t outlen,
                            char *errmsg,
                            size_t len);
/* The raft id of a normalized address: stable across restarts and equal on
 * every node (64-bit FNV-1a, never 0). */
uint64_t orc_raft_id_of(const char *addr);
/* This node's HTTP URI as the leader publishes it: HTTPAdvertise, else
 * http[s]://<host of RaftAdvertise>:<port of ListenAddress>. */
int orc_raft_http_uri(const struct orc_config *cfg, char *out, size_t len);
/* The rejoin rule: with `voters` voters and `waiting` caught-up standbys that
 * asked to vote, may one of them be promoted now? Yes when the voters are
 * even (the promotion makes them odd), or when they are odd and a partner
 * waits too (promoted next). */
bool orc_raft_may_promote(unsigned voters, unsigned waiting);
/* 64-bit FNV-1a of a buffer. */
uint64_t orc_raft_hash(const void *data, size_t n);

/* ---- the join proof (raft_auth.c), any thread ---- */

/* Longest proof text, with its terminator. */
#define ORC_RAFT_PROOF_MAX 96
/* The proof a joining node sends with /api/raft-add-peer when RaftSecret is
 * set: "<unix time>.<hex HMAC-SHA256(secret, join addr role time)>"; "" when
 * secret is empty. */
int orc_raft_auth_join_proof(const char *secret,
                             const char *addr,
                             const char *role,
                             time_t now,
                             char *out,
                             size_t len);
/* 0 when secret is empty, or proof is valid for addr and role and at most
 * 5 minutes away from now; ORC_EPERM otherwise. */
int orc_raft_auth_join_check(const char *secret,
                             const char *addr,
                             const char *role,
                             const char *proof,
                             time_t now);

#endif
