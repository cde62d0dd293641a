/*
 * fuzz_raft_fsm: a raft log entry as a follower receives it: the command
 * decoder (orchestrator/raft_cmd.c) and, when it decodes, the FSM apply
 * (the one command table) on an in-memory SQLite backend. Any entry must be
 * refused or applied without a crash, a leak or undefined behaviour.
 */
#include <jansson.h>

#include "orchestrator/raft.h"
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
    char op[64], err[ORC_ERRMSG_SIZE];
    json_t *value = NULL, *result = NULL;

    if (orc_raft_cmd_decode(data, size, op, sizeof(op), &value, err, sizeof(err)) == 0) {
        orc_fsm_apply_r(f, op, value, &result, err, sizeof(err));
        json_decref(result);
        json_decref(value);
    }
    return 0;
}
