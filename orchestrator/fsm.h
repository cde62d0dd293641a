/*
 * fsm: applies replicated commands to this node's backend and live topology.
 * The same code runs with raft (on every node, from the log) and without it
 * (directly, the node being its own leader). Internal to orchestrator/.
 */
#ifndef ORC_FSM_H
#define ORC_FSM_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

struct be;
struct disc_topo;

struct orc_fsm {
    const struct orc_config *cfg;
    struct be *be;
    struct disc_topo *topo;
    pthread_mutex_t lock; /* commands apply one at a time */
    /* Called (applier thread, inside the command's transaction) after the
     * replicated recovery settings changed, and by orc_fsm_restore. May be
     * NULL. Set before anything is applied. */
    void (*on_rcfg)(void *arg);
    void *on_rcfg_arg;
};

void orc_fsm_init(struct orc_fsm *f,
                  const struct orc_config *cfg,
                  struct be *be,
                  struct disc_topo *topo);
void orc_fsm_release(struct orc_fsm *f);
/* Applies one command. payload is borrowed. Unknown ops are an error. */
int orc_fsm_apply(struct orc_fsm *f,
                  const char *op,
                  const json_t *payload,
                  char *errmsg,
                  size_t len);
/* Same, and *result (may be NULL) receives the command's answer when it has
 * one (e.g. {"Id":..,"Blocked":..} for register-recovery); caller decrefs. */
int orc_fsm_apply_r(struct orc_fsm *f,
                    const char *op,
                    const json_t *payload,
                    json_t **result,
                    char *errmsg,
                    size_t len);
/* The raft log entry a command comes from. */
#define ORC_FSM_LOG_ID_MAX 64
struct orc_fsm_entry {
    uint64_t index;
    uint64_t term;      /* of the entry; 0: unknown */
    const char *log_id; /* this node's raft log (kept in its RaftDataDir) */
};
/* As orc_fsm_apply_r for a raft log entry, in one backend transaction with
 * the store's applied index and log identity, skipping an entry the store
 * already has (a log replayed after a restart). Returns 0 when the entry is
 * done with: applied, refused by the command's own logic (the same on every
 * node: recorded too), or already there; *cmd_rc is then the command's
 * result (errmsg its message). ORC_ESTATE: the store counts in another raft
 * log, or the log changed under it: never apply anything more. Any other
 * code: the backend failed and nothing was recorded; apply the entry again
 * later. Called by the raft applier thread only. */
int orc_fsm_apply_index(struct orc_fsm *f,
                        const struct orc_fsm_entry *e,
                        const char *op,
                        const json_t *payload,
                        json_t **result,
                        int *cmd_rc,
                        char *errmsg,
                        size_t len);
/* True when rc says the backend failed (worth another try), not the command. */
bool orc_fsm_rc_transient(int rc);
/* At start, before anything is applied: checks that the store's applied
 * state counts in this node's raft log (log_id), and claims the store for it
 * when it counts in none yet. pristine: the RaftDataDir was just created.
 * ORC_ESTATE (with a message for the operator) when the store belongs to
 * another log or the raft dir was wiped under a store that has state. */
int orc_fsm_log_claim(struct orc_fsm *f,
                      const char *log_id,
                      bool pristine,
                      char *errmsg,
                      size_t len);
/* Checks a replicated recovery setting as set-recovery-config does (a key
 * of the config fingerprint; the value's type, bounds and choices; hooks'
 * placeholders) and gives its normalized JSON in *normalized (new
 * reference). ORC_EINVAL with errmsg when refused. Pure, thread-safe. */
int orc_fsm_rcfg_value(const char *key,
                       const json_t *value,
                       json_t **normalized,
                       char *errmsg,
                       size_t len);
/* Loads the operator state (downtimes, promotion rules, aliases, maintenance)
 * from the backend into the live topology; at start, before serving. */
int orc_fsm_restore(struct orc_fsm *f, char *errmsg, size_t len);

#endif
