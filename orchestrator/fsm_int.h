/* Internal declarations shared by fsm.c and fsm_*.c. */
#ifndef ORC_FSM_INT_H
#define ORC_FSM_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/orc.h"

struct orc_fsm;

/* The string member k of o, or "". */
const char *fsm_str(const json_t *o, const char *k);
/* {"Hostname","Port"} from o["Key"] or from o itself. */
int fsm_key(const json_t *o, struct orc_key *k, char *errmsg, size_t len);
/* orc_fsm_apply_r without f->lock: for the applier, whose open transaction
 * (the backend's lock) already runs commands one at a time. */
int fsm_apply_serialized(struct orc_fsm *f,
                         const char *op,
                         const json_t *p,
                         json_t **result,
                         char *errmsg,
                         size_t len);
/* One replicated command: its name, its handler and flags. A handler
 * applies the payload p to the backend (inside the applier's transaction
 * with raft) and the live topology; *res (may be NULL) receives its answer. */
typedef int (
    *fsm_handler)(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len);

enum {
    FSM_F_ANSWERS = 1 << 0, /* the handler fills *res */
};

struct fsm_cmd {
    const char *op;
    fsm_handler fn;
    unsigned flags;
};

/* The command named op in the table, or NULL. */
const struct fsm_cmd *fsm_command(const char *op);

/* Handlers of the recovery side (fsm_recovery.c). */
int fsm_op_register_detection(struct orc_fsm *f,
                              const json_t *p,
                              json_t **res,
                              char *errmsg,
                              size_t len);
int fsm_op_register_recovery(struct orc_fsm *f,
                             const json_t *p,
                             json_t **res,
                             char *errmsg,
                             size_t len);
int fsm_op_recovery_step(struct orc_fsm *f,
                         const json_t *p,
                         json_t **res,
                         char *errmsg,
                         size_t len);
int fsm_op_resolve_recovery(struct orc_fsm *f,
                            const json_t *p,
                            json_t **res,
                            char *errmsg,
                            size_t len);
int fsm_op_ack(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len);
int fsm_op_abandon_recovery(struct orc_fsm *f,
                            const json_t *p,
                            json_t **res,
                            char *errmsg,
                            size_t len);
int fsm_op_adopt_recovery(struct orc_fsm *f,
                          const json_t *p,
                          json_t **res,
                          char *errmsg,
                          size_t len);
int fsm_op_set_recovery_successor(struct orc_fsm *f,
                                  const json_t *p,
                                  json_t **res,
                                  char *errmsg,
                                  size_t len);
int fsm_op_fence(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len);
int fsm_op_unfence(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len);
int fsm_op_put_kv(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len);

/* "set-recovery-config" (fsm_rcfg.c). */
int fsm_op_set_recovery_config(struct orc_fsm *f,
                               const json_t *p,
                               json_t **res,
                               char *errmsg,
                               size_t len);

/* Applies "import-orchestrator-state" (fsm_import.c): a Go orchestrator's
 * operator state, in one backend transaction, then the topology's annotations;
 * *res (may be NULL) receives the counts imported. */
int fsm_op_import(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len);

/* Handlers of operator bookkeeping (fsm_ops.c). */
int fsm_op_begin_maintenance(struct orc_fsm *f,
                             const json_t *p,
                             json_t **res,
                             char *errmsg,
                             size_t len);
int fsm_op_end_maintenance(struct orc_fsm *f,
                           const json_t *p,
                           json_t **res,
                           char *errmsg,
                           size_t len);
int fsm_op_write_audit(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len);
int fsm_op_housekeeping(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len);

#endif
