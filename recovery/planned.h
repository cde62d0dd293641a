/*
 * planned: topology changes an operator asks for, as opposed to recoveries
 * from failures. Internal to the recovery module (the lead merges the public
 * parts into recovery/rec.h).
 *
 *   relocate.c: move-up, move-below, repoint, relocate, take-master,
 *               stop/start replication, read_only on/off, and the pure checks
 *               they share (CanReplicateFrom, CanMove, loop detection).
 *   takeover.c: graceful master takeover (designated, single or automatic
 *               successor), recorded as a recovery.
 *
 * Every operation acts only on the leader, and refuses before touching any
 * server when a precondition fails: ORC_ENOTFOUND (unknown instance or
 * cluster), ORC_EINVAL (a loop, the instance itself as its own master),
 * ORC_ESTATE (the topology does not allow it: not a replica, lagging,
 * CanReplicateFrom fails, under maintenance, no GTID), ORC_EPERM (not the
 * leader). errmsg then says which rule refused. Once it acted, it audits,
 * asks the topology to re-probe the touched instances and waits briefly
 * until the live snapshot shows the result.
 *
 * Positioning: with GTID on both sides (MariaDB GTID or Oracle GTID
 * auto-positioning) every move is a CHANGE MASTER with auto-positioning.
 * Without GTID only two file:pos paths are taken, both exact: move-up (and
 * relocate onto the grandparent), where the replica first catches up with its
 * frozen master's own binary log and then points at the grandparent at the
 * master's executed coordinates; and repoint onto the current master at the
 * replica's executed coordinates. Everything else answers "requires GTID
 * (file:pos relocation is not supported)".
 *
 * Threads: blocking (MySQL calls bounded by the topology timeouts); any
 * thread except the loop thread.
 */
#ifndef ORC_REC_PLANNED_H
#define ORC_REC_PLANNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/orc.h"
#include "discovery/disc.h"
#include "recovery/rec.h"

/* ---- pure checks (relocate.c) ---- */

struct rec_move_limits {
    int64_t max_lag_s;   /* ReasonableMaintenanceReplicationLagSeconds */
    bool verify_filters; /* VerifyReplicationFilters */
};

/* orchestrator's CanReplicateFrom: may `replica` replicate from `master`?
 * False with the rule that refuses in why: the same server; master without
 * binary logs; master is a replica without log_slave_updates; replica of a
 * lower major version; replica logging updates in a lower binlog_format;
 * different replication filters (when verify_filters); same server_id or
 * server_uuid; master's SQL_Delay above the replica's and above max_lag_s. */
bool rec_can_replicate_from(const struct disc_instance *replica,
                            const struct disc_instance *master,
                            const struct rec_move_limits *lim,
                            char *why,
                            size_t len);
/* orchestrator's CanMove on a fresh reading: a replica whose two threads run
 * and whose lag is known and at most max_lag_s. */
bool rec_can_move(const struct disc_instance *in,
                  const struct rec_move_limits *lim,
                  char *why,
                  size_t len);
/* True when k is top or replicates (directly or not) from top, following the
 * master keys of the n instances v (a cycle is cut). Pointing top at k would
 * then make a replication loop. */
bool rec_is_self_or_below(const struct disc_instance *const *v,
                          size_t n,
                          const struct orc_key *top,
                          const struct orc_key *k);
/* The replica replicates with GTID positioning (MariaDB Using_Gtid or
 * Oracle Auto_Position). */
bool rec_uses_gtid(const struct disc_instance *in);
/* The server writes GTIDs a replica can auto-position on: MariaDB 10+, or
 * MySQL with gtid_mode ON/ON_PERMISSIVE. */
bool rec_serves_gtid(const struct disc_instance *in);
/* A replica of flavor r may auto-position on a master of flavor m (both
 * MariaDB, or both MySQL/Percona). */
bool rec_gtid_compatible(const struct disc_instance *r, const struct disc_instance *m);

/* ---- pure choices (relocate_many.c) ---- */

/* regroup-replicas' candidate among the n fresh readings v (siblings; an
 * entry whose key host is "" could not be read): the most advanced by
 * executed coordinates among those with binary logs and log_slave_updates,
 * not promotion rule must_not, and replicating with GTID when gtid_only.
 * Its index, or SIZE_MAX when none qualifies. */
size_t rec_many_pick_candidate(const struct disc_instance *v, size_t n, bool gtid_only);

/* ---- shared by relocate.c and takeover.c ---- */

/* What the snapshot must show for one instance after an operation. */
struct rec_expect {
    struct orc_key key;
    bool check_master; /* master_key must equal master (host "" = none) */
    struct orc_key master;
    int read_only;   /* -1 any, 0, 1 */
    int replicating; /* -1 any, 0: SQL thread stopped, 1: SQL thread running */
};

/* Asks the topology to re-probe the instances and waits (at most
 * timeout_ms) until the snapshot shows every expectation. True when it does. */
bool rec_planned_refresh(struct rec_env *env,
                         const struct rec_expect *e,
                         size_t n,
                         int64_t timeout_ms);
struct rec_session;
struct rec_creds {
    char user[128];
    char password[256];
    bool set;
};
/* ReplicationCredentialsQuery run on `on` (user, password, ...), when the
 * config has one; out->set says whether credentials were read. */
int rec_read_replication_creds(struct rec_env *env,
                               const struct orc_key *on,
                               struct rec_creds *out,
                               char *errmsg,
                               size_t len);
/* Points `in` at master with GTID positioning, for a server that may have
 * written transactions of its own (a demoted master): on MariaDB its
 * gtid_slave_pos first becomes its gtid_current_pos, so it asks the new
 * master for what it lacks, not for everything. creds (may be NULL or unset)
 * replace its replication credentials. START SLAVE when start. */
int rec_demote_gtid(struct rec_session *s,
                    const struct disc_instance *in,
                    const struct orc_key *master,
                    const struct rec_creds *creds,
                    bool start,
                    char *errmsg,
                    size_t len);

#endif
