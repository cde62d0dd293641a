/*
 * fuzz_hooks: the hook template rewriter (recovery/hooks_template.c). The
 * input is a hook line; it is validated as at config load and rewritten
 * for an event with and without a successor, under the sanitizers.
 */
#include <stdlib.h>
#include <string.h>

#include "recovery/hooks.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    orc_log_set_level(ORC_LOG_ERROR + 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct orc_key succ = {"succ.example", 3306};
    struct rec_hook_ctx ctx = {.failure_type = "DeadMaster", .successor = &succ};
    struct orc_buf out = ORC_BUF_INIT;
    char err[ORC_ERRMSG_SIZE];
    char *line = malloc(size + 1);
    bool async;

    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    rec_hooks_rewrite(line, NULL, &out, &async, err, sizeof(err));
    orc_buf_reset(&out);
    rec_hooks_rewrite(line, &ctx, &out, &async, err, sizeof(err));
    orc_buf_release(&out);
    rec_hooks_validate((const char *const *)&line, 1, err, sizeof(err));
    free(line);
    return 0;
}
