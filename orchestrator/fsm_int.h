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
/* True for the recovery-side ops that fsm_apply_recovery handles. */
bool fsm_is_recovery_op(const char *op);
/* Applies a recovery-side op. */
int fsm_apply_recovery(struct orc_fsm *f,
                       const char *op,
                       const json_t *p,
                       json_t **res,
                       char *errmsg,
                       size_t len);

#endif
