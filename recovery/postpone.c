/*
 * postpone: PostponeReplicaRecoveryOnLagMinutes. A replica delayed on
 * purpose (SQL_Delay) by more than that many minutes takes no part in a
 * failover's critical path: it is not prepared (its relay log could not be
 * applied in time anyway), cannot be the candidate, and is relocated below
 * the successor only once the recovery is done (orchestrator runs it as a
 * postponed function likewise). With GTID it then fetches again from the
 * successor what it had not applied, and keeps its delay.
 */
#include <stdio.h>

#include "recovery/op.h"
#include "recovery/ops.h"
#include "recovery/promote.h"

bool rec_postpone_replica(const struct orc_config *c, const struct disc_instance *in)
{
    return c->PostponeReplicaRecoveryOnLagMinutes > 0 &&
           in->sql_delay > c->PostponeReplicaRecoveryOnLagMinutes * 60;
}

size_t rec_postponed_relocate(struct rec_op *op,
                              struct rec_session *s,
                              const struct rec_replica *later,
                              size_t n,
                              const struct orc_key *to,
                              struct disc_keylist *moved)
{
    char ks[ORC_KEY_STRLEN];
    size_t done = 0;

    for (size_t i = 0; i < n; i++) {
        char err[ORC_ERRMSG_SIZE] = "";
        if (rec_op_lost_leadership(op, err, sizeof(err))) {
            rec_op_error(op, err);
            break;
        }
        if (rec_change_master_gtid(s, &later[i].in, to, true, err, sizeof(err)) != 0) {
            rec_op_error(op, err);
            continue;
        }
        disc_keylist_add(moved, &later[i].in.key);
        done++;
    }
    if (n > 0)
        rec_op_step(op,
                    "relocated %zu of %zu postponed replicas (SQL delay above "
                    "PostponeReplicaRecoveryOnLagMinutes) below %s",
                    done, n, orc_key_str(to, ks, sizeof(ks)));
    return done;
}
