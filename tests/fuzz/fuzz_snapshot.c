/*
 * fuzz_snapshot: restoring a raft snapshot (orchestrator/fsm_snapshot.c) as
 * a follower installs one from the leader, then dumping the result again.
 */
#include <jansson.h>

#include "orchestrator/fsm_snapshot.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_fsm.h"

static struct fuzz_fsm fx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    orc_log_set_level(ORC_LOG_ERROR + 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct orc_fsm *f = fuzz_fsm_get(&fx);
    struct orc_buf out = ORC_BUF_INIT;
    char err[ORC_ERRMSG_SIZE];
    json_t *extra = NULL;

    if (orc_fsm_snapshot_restore(f, data, size, &extra, err, sizeof(err)) == 0)
        orc_fsm_snapshot_dump(f, extra, &out, err, sizeof(err));
    json_decref(extra);
    orc_buf_release(&out);
    return 0;
}
