/*
 * fuzz_config: the config loader. The input is a config file: parsed,
 * validated (positions in errors), finalized (cross-key checks, derived
 * values) and dumped; its lines are also applied as ORC_<Key>=value
 * environment entries. File-reading keys are cleared before finalize so
 * the fuzzer cannot make it read arbitrary files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "tests/fuzz/fuzz.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int fd;

    (void)argc;
    (void)argv;
    orc_log_set_level(ORC_LOG_ERROR + 1);
    snprintf(path, sizeof(path), "/tmp/orc-fuzz-config-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    return 0;
}

static void apply_env_lines(struct orc_config *c, const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *envp[17];
    size_t n = 0;
    char err[ORC_ERRMSG_SIZE];

    if (text == NULL)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *p = text; p != NULL && *p != '\0' && n < 16;) {
        char *nl = strchr(p, '\n');
        if (nl != NULL)
            *nl = '\0';
        envp[n++] = p;
        p = nl != NULL ? nl + 1 : NULL;
    }
    envp[n] = NULL;
    orc_config_apply_env(c, envp, err, sizeof(err));
    free(text);
}

static void finalize_and_dump(struct orc_config *c)
{
    static const char *const file_keys[] = {"MySQLTopologyCredentialsConfigFile",
                                            "MySQLOrchestratorCredentialsConfigFile",
                                            "RaftSecretFile", "LogFile"};
    struct orc_buf out = ORC_BUF_INIT;
    char err[ORC_ERRMSG_SIZE];

    for (size_t i = 0; i < ORC_ARRAY_LEN(file_keys); i++)
        orc_config_set(c, file_keys[i], "", err, sizeof(err));
    if (orc_config_finalize(c, err, sizeof(err)) == 0)
        orc_config_dump(c, &out);
    orc_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct orc_config c;
    char err[ORC_ERRMSG_SIZE];
    FILE *f = fopen(path, "wb");
    int line, col;

    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    orc_config_key_pos((const char *)data, size, "RaftNodes", &line, &col);
    orc_config_init(&c);
    if (orc_config_load_file(&c, path, err, sizeof(err)) == 0)
        finalize_and_dump(&c);
    orc_config_release(&c);
    orc_config_init(&c);
    apply_env_lines(&c, data, size);
    orc_config_release(&c);
    return 0;
}
