/*
 * promote: choosing the replica to promote when a master dies (pure).
 * Internal to the recovery module.
 */
#ifndef ORC_REC_PROMOTE_H
#define ORC_REC_PROMOTE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "discovery/disc.h"

/* One replica of the failed master as read during the recovery. */
struct rec_replica {
    struct disc_instance in; /* fresh reading (relay log applied when ok) */
    const char *rule;        /* promotion rule: "" (neutral) or a rule name */
    bool read_ok;            /* the reading succeeded */
    bool relay_applied;      /* its SQL thread applied everything received */
    bool banned;             /* must_not, or PromotionIgnoreHostnameFilters */
    char why_not[160];       /* why it cannot be the candidate ("" if it can) */
    struct disc_nullint lag; /* its lag before the run (a stopped replica has none) */
};

struct rec_promote_options {
    const regex_t *ignore; /* PromotionIgnoreHostnameFilters, compiled */
    size_t nignore;
    bool prevent_cross_dc;      /* PreventCrossDataCenterMasterFailover */
    bool prevent_cross_region;  /* PreventCrossRegionMasterFailover */
    const struct orc_key *want; /* an explicitly requested candidate, or NULL */
};

/* Rule rank: must < prefer < neutral < prefer_not < must_not (lower is better). */
int rec_rule_rank(const char *rule);

/* Sorts order[] (indexes into r) best-first: most advanced execution
 * coordinates, then log_slave_updates, lower major version, lower binlog
 * format, same data center as the failed master, no errant GTID, better
 * rule. */
void rec_promote_sort(const struct rec_replica *r,
                      size_t n,
                      const struct disc_instance *failed,
                      int *order);

/* Marks each replica's why_not and returns the index of the candidate: the
 * first in best-first order that may be promoted and has no errant GTID,
 * else the first that may be promoted (errant or not), or -1 (errmsg says
 * why). A fit replica passed over for its errant GTID says so in why_not.
 * *most_advanced is the index of the most advanced readable replica (it may
 * differ from the candidate when that one is banned or unfit). */
int rec_promote_choose(struct rec_replica *r,
                       size_t n,
                       const struct disc_instance *failed,
                       const struct rec_promote_options *o,
                       int *most_advanced,
                       char *errmsg,
                       size_t len);

/* FailMasterPromotionOnLagMinutes (0: off): ORC_ESTATE, errmsg saying why,
 * when the candidate k lagged that many minutes or more; an unknown lag
 * counts as none (as orchestrator). */
int rec_promote_check_lag(const struct orc_key *k,
                          const struct disc_nullint *lag,
                          int64_t minutes,
                          char *errmsg,
                          size_t len);

/* A dead co-master: must the other co-master be the one promoted?
 * CoMasterRecoveryMustPromoteOtherCoMaster, or the other co-master is
 * writable already (promoting anything else would leave two writers). */
bool rec_promote_co_master_must(bool must_config, bool other_read_only);

/* detach-replica-master-host: "//host" of master into out; ORC_EINVAL when
 * the name does not fit. */
int rec_promote_detached_key(const struct orc_key *master, struct orc_key *out);

/* ---- PostponeReplicaRecoveryOnLagMinutes (postpone.c) ---- */

struct rec_op;
struct rec_session;
/* True when in is delayed (SQL_Delay) more than the configured minutes. */
bool rec_postpone_replica(const struct orc_config *c, const struct disc_instance *in);
/* After a recovery: CHANGE MASTER (GTID) of each of the n postponed
 * replicas to `to`, started; the moved ones are added to moved, failures
 * recorded as the run's errors. Returns how many moved. */
size_t rec_postponed_relocate(struct rec_op *op,
                              struct rec_session *s,
                              const struct rec_replica *later,
                              size_t n,
                              const struct orc_key *to,
                              struct disc_keylist *moved);

#endif
