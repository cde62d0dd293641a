/*
 * env: what the recovery module needs from the service, handed over once at
 * start. Everything is borrowed and outlives the recoveries.
 */
#ifndef ORC_REC_ENV_H
#define ORC_REC_ENV_H

#include <jansson.h>
#include <stdbool.h>

#include "common/config.h"
#include "discovery/disc.h"

struct be;
struct disc_topo;
struct rec_hooks_tracker;

struct rec_env {
    const struct orc_config *cfg;
    struct be *be;
    struct disc_topo *topo;
    const struct disc_probe_options *probe;
    void *node;
    /* true while this node is the leader: checked before every acting step. */
    bool (*is_leader)(void *node);
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
    /* On a follower: tells the leader which instances this node sees failed
     * ("h:p,h:p", "" for none). May be NULL. */
    void (*report_failures)(void *node, const char *failed);
    /* counts asynchronous hooks still running; may be NULL */
    struct rec_hooks_tracker *hooks_tracker;
};

/* Session options for MySQL operations from the config: topology
 * credentials, MySQLConnectTimeoutSeconds, MySQLTopologyReadTimeoutSeconds. */
struct rec_session_options;
void rec_env_session_options(const struct rec_env *env, struct rec_session_options *out);

/* The leader check: true when env->is_leader is NULL or says so. */
bool rec_env_leader(const struct rec_env *env);

#endif
