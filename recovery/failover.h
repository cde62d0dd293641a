/*
 * failover: recovering a dead master (and a dead intermediate master) as an
 * explicit state machine. Internal to the recovery module; the loop and the
 * API call it.
 */
#ifndef ORC_REC_FAILOVER_H
#define ORC_REC_FAILOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "discovery/disc.h"
#include "recovery/env.h"

struct rec_failover_request {
    struct orc_key failed;           /* the dead (intermediate) master */
    const char *analysis;            /* analysis code that started it */
    bool intermediate;               /* dead intermediate master: regroup below a sibling/parent */
    const struct orc_key *candidate; /* requested candidate, or NULL */
    bool force;                      /* operator asked: skip filters and anti-flapping */
    bool skip_hooks;                 /* recover-lite */
    const char *command;             /* hint: "", "recover", "force-master-failover", ... */
    int64_t detection_id;            /* the registered detection, 0 if none */
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

#endif
