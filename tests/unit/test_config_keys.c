/*
 * Every accepted config key does what it says, or is refused: walks the whole
 * key table (common/config_keys.h).
 *
 * - A key without ORC_CFG_UNSUPPORTED must be read by some code: its field
 *   (->Key, .Key) or its index (ORC_CFGK_Key) appears in a source file of
 *   common/ backend/ discovery/ recovery/ web/ orchestrator/ other than the
 *   table itself and the generic loader, dump and reload code.
 * - A key with ORC_CFG_UNSUPPORTED must load at its default value and be
 *   refused at any other, with FILE:LINE:COLUMN, its name and "not supported".
 * - RaftSecret / RaftSecretFile: the file's mode and the secret's length.
 *
 * Run from the repository root (as `make unit` does).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

static char tmpdir[64];
static char err[ORC_ERRMSG_SIZE];

static const char *const modules[] = {"common",   "backend", "discovery",
                                      "recovery", "web",     "orchestrator"};
/* Generic code that names every key: not evidence that a key has an effect. */
static const char *const generic[] = {"common/config_keys.h", "common/config.c",
                                      "common/config_dump.c", "common/config_reload.c",
                                      "common/config.h"};

/* All sources concatenated (the evidence searched). */
static struct orc_buf tree = ORC_BUF_INIT;

static bool is_generic(const char *path)
{
    for (size_t i = 0; i < ORC_ARRAY_LEN(generic); i++)
        if (strcmp(path, generic[i]) == 0)
            return true;
    return false;
}

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t n;

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(orc_buf_append(&tree, chunk, n), 0);
    assert_int_equal(orc_buf_putc(&tree, '\n'), 0);
    fclose(f);
}

static void load_tree(void)
{
    char path[512];

    for (size_t m = 0; m < ORC_ARRAY_LEN(modules); m++) {
        DIR *d = opendir(modules[m]);
        struct dirent *e;

        if (d == NULL)
            fail_msg("cannot open %s/ (run from the repository root)", modules[m]);
        while ((e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (n < 3 || e->d_name[n - 2] != '.' ||
                (e->d_name[n - 1] != 'c' && e->d_name[n - 1] != 'h'))
                continue;
            snprintf(path, sizeof(path), "%s/%s", modules[m], e->d_name);
            if (!is_generic(path))
                add_file(path);
        }
        closedir(d);
    }
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Whether prefix+name occurs in the tree as a whole identifier. */
static bool tree_has(const char *prefix, const char *name)
{
    char pat[160];
    size_t n = (size_t)snprintf(pat, sizeof(pat), "%s%s", prefix, name);

    for (const char *p = strstr(tree.data, pat); p != NULL; p = strstr(p + 1, pat))
        if (!ident_char(p[n]))
            return true;
    return false;
}

static bool referenced(const char *name)
{
    return tree_has("->", name) || tree_has(".", name) || tree_has("ORC_CFGK_", name);
}

static void test_supported_keys_are_read_by_code(void **state)
{
    size_t missing = 0;

    (void)state;
    load_tree();
    assert_true(tree.len > 100000);
    for (size_t i = 0; i < ORC_CONFIG_NKEYS; i++) {
        const struct orc_config_def *d = &orc_config_defs[i];
        if (d->flags & ORC_CFG_UNSUPPORTED)
            continue;
        if (!referenced(d->name)) {
            print_error(
                "key '%s' is accepted but no code reads it: implement it or flag it "
                "ORC_CFG_UNSUPPORTED in common/config_keys.h\n",
                d->name);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
    orc_buf_release(&tree);
}

/* A JSON value of d's type that is not its default. */
static void non_default(const struct orc_config_def *d, char *out, size_t len)
{
    switch (d->type) {
        case ORC_CFG_BOOL:
            snprintf(out, len, "%s", strcmp(d->def, "true") == 0 ? "false" : "true");
            break;
        case ORC_CFG_INT: {
            long long v = strtoll(d->def, NULL, 10);
            snprintf(out, len, "%lld", v < d->max ? v + 1 : v - 1);
            break;
        }
        case ORC_CFG_STR: {
            /* the first choice that is not the default (and not an accepted equivalent) */
            const char *p = d->choices;
            while (p != NULL) {
                size_t n = strcspn(p, "|");
                snprintf(out, len, "\"%.*s\"", (int)n, p);
                char bare[64];
                snprintf(bare, sizeof(bare), "%.*s", (int)n, p);
                if (strcmp(bare, d->def) != 0 && !orc_config_unsupported_accepts(d->name, bare))
                    return;
                p = p[n] ? p + n + 1 : NULL;
            }
            snprintf(out, len, "\"x-not-the-default\"");
            break;
        }
        case ORC_CFG_LIST:
            snprintf(out, len, "[\"x-not-the-default\"]");
            break;
        case ORC_CFG_MAP:
            snprintf(out, len, "{\"a\": \"b\"}");
            break;
    }
}

static void default_json(const struct orc_config_def *d, char *out, size_t len)
{
    switch (d->type) {
        case ORC_CFG_STR:
            snprintf(out, len, "\"%s\"", d->def);
            break;
        case ORC_CFG_LIST:
            if (d->def[0])
                snprintf(out, len, "[\"%s\"]", d->def);
            else
                snprintf(out, len, "[]");
            break;
        case ORC_CFG_MAP:
            snprintf(out, len, "{}");
            break;
        default:
            snprintf(out, len, "%s", d->def);
            break;
    }
}

static const char *write_conf(const char *key, const char *value)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/k.json", tmpdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\n  \"InstancePollSeconds\": 5,\n  \"%s\": %s\n}\n", key, value);
    fclose(f);
    return path;
}

static void test_unsupported_keys_refused_unless_default(void **state)
{
    char val[128], want[512];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < ORC_CONFIG_NKEYS; i++) {
        const struct orc_config_def *d = &orc_config_defs[i];
        struct orc_config c;
        const char *path;

        if (!(d->flags & ORC_CFG_UNSUPPORTED))
            continue;
        n++;
        orc_config_init(&c);
        default_json(d, val, sizeof(val));
        path = write_conf(d->name, val);
        if (orc_config_load_file(&c, path, err, sizeof(err)) != 0)
            fail_msg("'%s' at its default %s: %s", d->name, val, err);
        non_default(d, val, sizeof(val));
        path = write_conf(d->name, val);
        assert_int_equal(orc_config_load_file(&c, path, err, sizeof(err)), ORC_ECONFIG);
        snprintf(want, sizeof(want), "%s:3:3: key '%s': not supported", path, d->name);
        if (strstr(err, want) == NULL)
            fail_msg("'%s' = %s: got \"%s\"", d->name, val, err);
        orc_config_release(&c);
    }
    assert_true(n > 10);
}

static void test_unsupported_equivalents(void **state)
{
    struct orc_config c;

    (void)state;
    orc_config_init(&c);
    assert_int_equal(orc_config_set(&c, "HostnameResolveMethod", "none", err, sizeof(err)), 0);
    assert_int_equal(orc_config_set(&c, "MySQLHostnameResolveMethod", "none", err, sizeof(err)), 0);
    assert_int_equal(orc_config_set(&c, "HostnameResolveMethod", "cname", err, sizeof(err)),
                     ORC_ECONFIG);
    assert_non_null(strstr(err, "key 'HostnameResolveMethod': not supported"));
    orc_config_release(&c);
}

static int finalize_secret(const char *file_text, mode_t mode, const char *secret)
{
    struct orc_config c;
    char path[256];
    FILE *f;
    int rc;

    orc_config_init(&c);
    if (file_text != NULL) {
        snprintf(path, sizeof(path), "%s/secret", tmpdir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(file_text, f);
        fclose(f);
        assert_int_equal(chmod(path, mode), 0);
        assert_int_equal(orc_config_set(&c, "RaftSecretFile", path, err, sizeof(err)), 0);
    }
    if (secret != NULL)
        assert_int_equal(orc_config_set(&c, "RaftSecret", secret, err, sizeof(err)), 0);
    rc = orc_config_finalize(&c, err, sizeof(err));
    if (rc == 0 && file_text != NULL) {
        assert_string_equal(c.RaftSecret, "0123456789abcdefXYZ");
        assert_string_equal(orc_config_source(&c, "RaftSecret"), "derived");
        assert_int_equal(orc_config_finalize(&c, err, sizeof(err)), 0); /* idempotent */
    }
    orc_config_release(&c);
    return rc;
}

static void test_raft_secret(void **state)
{
    (void)state;
    assert_int_equal(finalize_secret("0123456789abcdefXYZ\nignored\n", 0600, NULL), 0);
    assert_int_equal(finalize_secret("0123456789abcdefXYZ  \r\n", 0640, NULL), 0);
    assert_int_equal(finalize_secret("0123456789abcdefXYZ\n", 0644, NULL), ORC_ECONFIG);
    assert_non_null(strstr(err, "key 'RaftSecretFile'"));
    assert_non_null(strstr(err, "accessible to others"));
    assert_int_equal(finalize_secret("short\n", 0600, NULL), ORC_ECONFIG);
    assert_non_null(strstr(err, "too short"));
    assert_int_equal(finalize_secret("0123456789abcdefXYZ\n", 0600, "another-secret-0123456"),
                     ORC_ECONFIG);
    assert_non_null(strstr(err, "not both"));
    assert_null(strstr(err, "another-secret"));
    assert_int_equal(finalize_secret(NULL, 0, "tooshort"), ORC_ECONFIG);
    assert_null(strstr(err, "tooshort"));
    assert_int_equal(finalize_secret(NULL, 0, "0123456789abcdef"), 0);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/orc-test-keys-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown_dir(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supported_keys_are_read_by_code),
        cmocka_unit_test(test_unsupported_keys_refused_unless_default),
        cmocka_unit_test(test_unsupported_equivalents),
        cmocka_unit_test(test_raft_secret),
    };

    orc_log_set_level(ORC_LOG_ERROR);
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
