/*
 * fuzz_probe: the MySQL result parsers and the probe, through the fake
 * connection seam (struct disc_conn_ops). The input is the server: its
 * first line is the version string, then result sets in the text format
 * of tests/unit/data (disc_rs_parse_text) separated by lines "=====";
 * each statement the probe sends gets the next one (cycling), "!error ..."
 * makes a statement fail.
 */
#include <stdlib.h>
#include <string.h>

#include "discovery/disc.h"
#include "tests/fuzz/fuzz.h"

struct fake {
    char version[64];
    char **chunks;
    size_t n, next;
};

static int fake_query(void *conn, const char *sql, struct disc_rs **out, char *errmsg, size_t len)
{
    struct fake *f = conn;
    const char *text;

    (void)sql;
    *out = NULL;
    if (f->n == 0) {
        orc_errf(errmsg, len, "no result");
        return ORC_EMYSQL;
    }
    text = f->chunks[f->next++ % f->n];
    return disc_rs_parse_text(text, out, errmsg, len) == 0 ? 0 : ORC_EMYSQL;
}

static const char *fake_version(void *conn)
{
    return ((struct fake *)conn)->version;
}

static int fake_batch(void *conn,
                      const char *const *sql,
                      size_t n,
                      struct disc_rs **outs,
                      int *rcs,
                      char *errmsg,
                      size_t len)
{
    for (size_t i = 0; i < n; i++)
        rcs[i] = fake_query(conn, sql[i], &outs[i], errmsg, len);
    return 0;
}

static const struct disc_conn_ops fake_ops = {fake_query, fake_version, fake_batch};

static struct disc_probe_options opts = {
    .data_center_pattern = "^([a-z]+)-",
    .region_pattern = "\\.([a-z0-9]+)\\.",
    .detect_cluster_alias_query = "select alias",
    .detect_instance_alias_query = "select ialias",
    .detect_promotion_rule_query = "select rule",
    .detect_semi_sync_enforced_query = "select semi",
    .detect_physical_environment_query = "select env",
    .replication_lag_query = "select lag",
    .discover_by_show_slave_hosts = true,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[ORC_ERRMSG_SIZE];

    (void)argc;
    (void)argv;
    orc_log_set_level(ORC_LOG_ERROR + 1);
    if (disc_probe_options_prepare(&opts, err, sizeof(err)) != 0)
        abort();
    return 0;
}

static void split(struct fake *f, char *text)
{
    char *nl = strchr(text, '\n'), *p;
    size_t cap = 0;

    if (nl == NULL)
        return;
    *nl = '\0';
    orc_strlcpy(f->version, text, sizeof(f->version));
    p = nl + 1;
    while (p != NULL) {
        char *sep = strstr(p, "\n=====\n");
        if (f->n == cap) {
            char **v = realloc(f->chunks, (cap = cap ? 2 * cap : 8) * sizeof(*v));
            if (v == NULL)
                return;
            f->chunks = v;
        }
        if (sep != NULL)
            *sep = '\0';
        f->chunks[f->n++] = p;
        p = sep != NULL ? sep + 7 : NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct orc_key key = {"db-a.eu1.example", 3306};
    struct fake f = {.version = "", .chunks = NULL, .n = 0, .next = 0};
    struct disc_instance in;
    char err[ORC_ERRMSG_SIZE];
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    split(&f, text);
    disc_instance_init(&in);
    disc_probe_run(&fake_ops, &f, &opts, &key, &in, err, sizeof(err));
    disc_instance_release(&in);
    free(f.chunks);
    free(text);
    return 0;
}
