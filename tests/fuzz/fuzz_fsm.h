/*
 * An FSM on an in-memory SQLite backend and an idle topology (no threads),
 * for fuzz_raft_fsm.c and fuzz_snapshot.c. Rebuilt every FUZZ_FSM_RESET
 * inputs so state left by earlier inputs stays bounded.
 */
#ifndef ORC_FUZZ_FSM_H
#define ORC_FUZZ_FSM_H

#include <stdio.h>
#include <stdlib.h>

#include "backend/be.h"
#include "common/config.h"
#include "discovery/disc.h"
#include "orchestrator/fsm.h"

#define FUZZ_FSM_RESET 2000

struct fuzz_fsm {
    struct orc_config cfg;
    struct be *be;
    struct disc_topo *topo;
    struct orc_fsm fsm;
    bool ready;
    unsigned runs;
};

static inline void fuzz_fsm_close(struct fuzz_fsm *x)
{
    if (!x->ready)
        return;
    orc_fsm_release(&x->fsm);
    disc_topo_free(x->topo);
    be_close(x->be);
    orc_config_release(&x->cfg);
    x->ready = false;
}

static inline struct orc_fsm *fuzz_fsm_get(struct fuzz_fsm *x)
{
    struct be_options bo = {.kind = "sqlite", .sqlite_path = ":memory:"};
    struct disc_topo_options to = {.be = NULL};
    char err[ORC_ERRMSG_SIZE];
    int applied;

    if (x->ready && ++x->runs % FUZZ_FSM_RESET == 0)
        fuzz_fsm_close(x);
    if (x->ready)
        return &x->fsm;
    orc_config_init(&x->cfg);
    if (orc_config_finalize(&x->cfg, err, sizeof(err)) != 0 ||
        be_open(&bo, &x->be, err, sizeof(err)) != 0 ||
        be_migrate(x->be, &applied, err, sizeof(err)) != 0 ||
        disc_topo_new(&to, &x->topo, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz fsm setup: %s\n", err);
        abort();
    }
    orc_fsm_init(&x->fsm, &x->cfg, x->be, x->topo);
    x->ready = true;
    return &x->fsm;
}

#endif
