/*
 * fsm: applies replicated commands to this node's backend and live topology.
 * The same code runs with raft (on every node, from the log) and without it
 * (directly, the node being its own leader). Internal to orchestrator/.
 */
#ifndef ORC_FSM_H
#define ORC_FSM_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "common/config.h"

struct be;
struct disc_topo;

struct orc_fsm {
    const struct orc_config *cfg;
    struct be *be;
    struct disc_topo *topo;
    pthread_mutex_t lock; /* commands apply one at a time */
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
/* As orc_fsm_apply_r for raft log entry `index`: in one backend transaction
 * with the store's applied index, skipping an entry the store already has
 * (a log replayed after a restart). */
int orc_fsm_apply_index(struct orc_fsm *f,
                        uint64_t index,
                        const char *op,
                        const json_t *payload,
                        json_t **result,
                        char *errmsg,
                        size_t len);
/* Loads the operator state (downtimes, promotion rules, aliases, maintenance)
 * from the backend into the live topology; at start, before serving. */
int orc_fsm_restore(struct orc_fsm *f, char *errmsg, size_t len);

#endif
