/*
 * config_dump: the effective configuration as JSON (secrets masked) and the
 * Markdown reference of every key, both generated from the key table.
 */
#include "common/config.h"
#include "common/config_live.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MASK "********"

static const char *const type_names[] = {"bool", "int", "string", "list of strings",
                                         "object of strings"};

static const char *const source_names[] = {"default", "file", "env", "flag", "derived"};

/* A JSON string, even for text that is not valid UTF-8. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);

    return j ? j : json_string("(invalid UTF-8)");
}

json_t *orc_config_value_json(const struct orc_config *c, const struct orc_config_def *d)
{
    const void *f = (const char *)c + d->offset;
    json_t *j = NULL;

    switch (d->type) {
        case ORC_CFG_BOOL:
            return json_boolean(*(const bool *)f);
        case ORC_CFG_INT:
            return json_integer((json_int_t) * (const int64_t *)f);
        case ORC_CFG_STR: {
            const char *s = *(char *const *)f;
            if ((d->flags & ORC_CFG_SECRET) && s != NULL && s[0] != '\0')
                return json_string(SECRET_MASK);
            return jstr(s ? s : "");
        }
        case ORC_CFG_LIST: {
            const struct orc_strlist *l = f;
            j = json_array();
            for (size_t i = 0; j != NULL && i < l->n; i++)
                json_array_append_new(j, jstr(l->v[i]));
            return j;
        }
        case ORC_CFG_MAP: {
            const struct orc_strmap *m = f;
            j = json_object();
            for (size_t i = 0; j != NULL && i < m->n; i++)
                json_object_set_new(j, m->keys[i], jstr(m->vals[i]));
            return j;
        }
    }
    return NULL;
}

int orc_config_dump(const struct orc_config *c, struct orc_buf *out)
{
    json_t *root = json_object();
    char *text = NULL;
    int rc = ORC_ENOMEM;

    if (root == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < ORC_CONFIG_NKEYS; i++) {
        const struct orc_config_def *d = &orc_config_defs[i];
        if (json_object_set_new(root, d->name, orc_config_value_json(c, d)) != 0)
            goto out;
    }
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL)
        goto out;
    rc = orc_buf_puts(out, text);
    if (rc == 0)
        rc = orc_buf_putc(out, '\n');
out:
    free(text);
    json_decref(root);
    return rc;
}

/* The keys that decide what a raft leader recovers and how: every manager of
 * a cluster must hold the same values (orc_config_fingerprint). */
static const int fingerprint_keys[] = {
    ORC_CFGK_RecoveryPeriodBlockSeconds,
    ORC_CFGK_FailureDetectionPeriodBlockMinutes,
    ORC_CFGK_ExpectFailureAnalysisConcensus,
    ORC_CFGK_RecoveryIgnoreHostnameFilters,
    ORC_CFGK_RecoverMasterClusterFilters,
    ORC_CFGK_RecoverIntermediateMasterClusterFilters,
    ORC_CFGK_PromotionIgnoreHostnameFilters,
    ORC_CFGK_ApplyMySQLPromotionAfterMasterFailover,
    ORC_CFGK_PreventCrossDataCenterMasterFailover,
    ORC_CFGK_PreventCrossRegionMasterFailover,
    ORC_CFGK_FailMasterPromotionOnLagMinutes,
    ORC_CFGK_FailMasterPromotionIfSQLThreadNotUpToDate,
    ORC_CFGK_DelayMasterPromotionIfSQLThreadNotUpToDate,
    ORC_CFGK_DetachLostReplicasAfterMasterFailover,
    ORC_CFGK_MasterFailoverDetachReplicaMasterHost,
    ORC_CFGK_MasterFailoverLostInstancesDowntimeMinutes,
    ORC_CFGK_CoMasterRecoveryMustPromoteOtherCoMaster,
    ORC_CFGK_RecoverNonWriteableMaster,
    ORC_CFGK_PostponeReplicaRecoveryOnLagMinutes,
    ORC_CFGK_RecoverLockedSemiSyncMaster,
    ORC_CFGK_EnforceExactSemiSyncReplicas,
    ORC_CFGK_ReasonableLockedSemiSyncMasterSeconds,
    ORC_CFGK_ProcessesShellCommand,
    ORC_CFGK_OnFailureDetectionProcesses,
    ORC_CFGK_PreGracefulTakeoverProcesses,
    ORC_CFGK_PreFailoverProcesses,
    ORC_CFGK_PostFailoverProcesses,
    ORC_CFGK_PostUnsuccessfulFailoverProcesses,
    ORC_CFGK_PostMasterFailoverProcesses,
    ORC_CFGK_PostIntermediateMasterFailoverProcesses,
    ORC_CFGK_PostGracefulTakeoverProcesses,
    ORC_CFGK_PostTakeMasterProcesses,
};

const char *orc_config_fingerprint_key(size_t i)
{
    return i < ORC_ARRAY_LEN(fingerprint_keys) ? orc_config_defs[fingerprint_keys[i]].name : NULL;
}

int orc_config_fingerprint(const struct orc_config *c, char *out, size_t len)
{
    json_t *root = json_object();
    char *text = NULL;
    uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */
    int rc = ORC_ENOMEM;

    for (size_t i = 0; root != NULL && i < ORC_ARRAY_LEN(fingerprint_keys); i++) {
        const struct orc_config_def *d = &orc_config_defs[fingerprint_keys[i]];
        if (json_object_set_new(root, d->name, orc_config_value_json(c, d)) != 0)
            goto out;
    }
    text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL)
        goto out;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    rc = len > 16 && snprintf(out, len, "%016llx", (unsigned long long)h) == 16 ? 0 : ORC_EINVAL;
out:
    free(text);
    json_decref(root);
    return rc;
}

const char *orc_config_source(const struct orc_config *c, const char *key)
{
    const struct orc_config_def *d = orc_config_find(key);
    unsigned src;

    if (d == NULL)
        return NULL;
    src = c->sources[d - orc_config_defs];
    return src < ORC_ARRAY_LEN(source_names) ? source_names[src] : "unknown";
}

/* ---- documentation ---- */

static const char doc_intro[] =
    "# Configuration reference\n"
    "\n"
    "Generated from the key table (`common/config_keys.h`) by `orc_config_doc()`;\n"
    "`tests/unit/test_config.c` checks that this file matches. Regenerate it with\n"
    "`build/release/tests/test_config --write-doc docs/config.md`.\n"
    "\n"
    "The configuration is a JSON object whose keys are the names below, as in\n"
    "orchestrator. Sources, later ones winning:\n"
    "\n"
    "1. the defaults below;\n"
    "2. the file given with `--config`, or else each existing file of\n"
    "   `/etc/orchestrator.conf.json`, `conf/orchestrator.conf.json`,\n"
    "   `orchestrator.conf.json`, in this order;\n"
    "3. environment variables `ORC_<Key>` (for example `ORC_InstancePollSeconds=2`);\n"
    "4. command-line flags `--<Key>=value`.\n"
    "5. for the keys that decide recoveries, a value held in the replicated state\n"
    "   (`set-recovery-config`, docs/operations.md), while the service runs.\n"
    "\n"
    "In variables and flags, a bool is `true`, `false`, `1` or `0`; a list is\n"
    "comma-separated (`a,b`) or a JSON array; an object is a JSON object.\n"
    "\n"
    "Rules:\n"
    "\n"
    "- A value of the wrong JSON type or out of its bounds stops the service with\n"
    "  `FILE:LINE:COLUMN: key 'K': message`. `null` leaves a key unchanged.\n"
    "- Keys marked **Not supported** are orchestrator's but have no effect here:\n"
    "  they load only at their default value (so configs that carry the default\n"
    "  still work); any other value stops the service with `FILE:LINE:COLUMN:\n"
    "  key 'K': not supported ...`.\n"
    "- Unknown keys are logged as warnings (`+config-unknown-key`) and ignored.\n"
    "  Keys starting with `#` are comments.\n"
    "- A string value of exactly the form `\"${NAME}\"` is read from the environment\n"
    "  variable `NAME`; the service refuses to start when it is not set.\n"
    "- Secrets (names containing Password, Token or Secret) are shown as\n"
    "  `********` in dumps and never logged.\n"
    "- Older names (synonyms) set the same key.\n"
    "- String choices are matched case-insensitively.\n"
    "\n"
    "Cross-key rules, applied once all sources are read:\n"
    "\n"
    "- `BackendDB` \"\" means mysql when `MySQLOrchestratorHost` is set, else sqlite;\n"
    "  any value containing `sqlite` is sqlite. sqlite needs `SQLite3DataFile`;\n"
    "  mysql needs `MySQLOrchestratorHost` and `MySQLOrchestratorDatabase`.\n"
    "- `FailMasterPromotionIfSQLThreadNotUpToDate` and\n"
    "  `DelayMasterPromotionIfSQLThreadNotUpToDate` exclude each other.\n"
    "- a nonzero `FailMasterPromotionOnLagMinutes` needs `ReplicationLagQuery`.\n"
    "- `URLPrefix` becomes `/x` or \"\"; `KVClusterMasterPrefix` ends in `/`.\n"
    "- `RecoveryPeriodBlockSeconds` = `RecoveryPeriodBlockMinutes` x 60 when only the\n"
    "  minutes are set.\n"
    "- `RaftEnabled` needs `RaftDataDir`; `RaftAdvertise` defaults to `RaftBind`;\n"
    "  raft addresses without a port get `DefaultRaftPort`.\n"
    "- `ReasonableLockedSemiSyncMasterSeconds` 0 means\n"
    "  `ReasonableReplicationLagSeconds`.\n"
    "- `DiscoveryWorkerThreads` 0 means `DiscoveryMaxConcurrency`, at most 64.\n"
    "- `*CredentialsConfigFile` files (my.cnf style, `[client]` `user` and\n"
    "  `password`) replace the matching user and password.\n"
    "- `HTTPAdvertise` must be `scheme://host:port` without a path; `UseSSL` needs\n"
    "  `SSLCertFile` and `SSLPrivateKeyFile`; `UseMutualTLS` needs `UseSSL` and\n"
    "  `SSLCAFile`; `SSLValidOUs` needs `UseMutualTLS`.\n"
    "- `basic` and `multi` auth need a non-empty `HTTPAuthUser` and\n"
    "  `HTTPAuthPassword`; `proxy` needs `AuthUserHeader`. `token` and `oauth` are\n"
    "  refused (`FILE:LINE:COLUMN: ... not supported`).\n"
    "- The service refuses to start with `AuthenticationMethod` \"\" on a\n"
    "  non-loopback `ListenAddress` unless `HTTPAllowUnauthenticatedRemoteWrites` is\n"
    "  true (or `ReadOnly` is).\n"
    "- TLS certificate and private key files come in pairs; topology TLS files need\n"
    "  `MySQLTopologyUseMutualTLS` or `MySQLTopologyUseMixedTLS`;\n"
    "  `MySQLOrchestratorSSLSkipVerify` needs backend TLS. See docs/security.md.\n"
    "- `Debug: true` sets `LogLevel` to debug unless `LogLevel` is given.\n";

/* The documentation order: sections and keys as the table lists them. */
static const struct doc_item {
    const char *section;
    int key;
} doc_items[] = {
#define ORC_CFG_SECTION(title) {title, -1},
#define ORC_CFG_KEY(type, name, ...) {NULL, ORC_CFGK_##name},
#include "common/config_keys.h"
#undef ORC_CFG_KEY
#undef ORC_CFG_SECTION
};

/* "a|b|!c" as "`a`, `b` | " (a '|' would break the Markdown table); "!c"
 * choices are refused values, left out. */
static int doc_choices(struct orc_buf *out, const char *choices)
{
    const char *p = choices;
    bool first = true;
    int rc = 0;

    for (;;) {
        size_t n = strcspn(p, "|");

        if (!(n > 0 && p[0] == '!')) {
            rc = orc_buf_printf(out, "%s`%s%.*s%s`", first ? "" : ", ", n ? "" : "\"", (int)n, p,
                                n ? "" : "\"");
            first = false;
        }
        if (rc != 0 || p[n] == '\0')
            break;
        p += n + 1;
    }
    return rc == 0 ? orc_buf_puts(out, " | ") : rc;
}

static int doc_row(struct orc_buf *out, const struct orc_config_def *d)
{
    int rc = orc_buf_printf(out, "| `%s` | %s | ", d->name, type_names[d->type]);

    if (rc == 0 && d->type == ORC_CFG_STR)
        rc = orc_buf_printf(out, "`\"%s\"` | ", d->def);
    else if (rc == 0 && d->type == ORC_CFG_LIST)
        rc =
            d->def[0] ? orc_buf_printf(out, "`[\"%s\"]` | ", d->def) : orc_buf_puts(out, "`[]` | ");
    else if (rc == 0 && d->type == ORC_CFG_MAP)
        rc = orc_buf_puts(out, "`{}` | ");
    else if (rc == 0)
        rc = orc_buf_printf(out, "`%s` | ", d->def);
    if (rc == 0 && d->type == ORC_CFG_INT && d->max == ORC_CFG_BIG)
        rc = orc_buf_printf(out, ">= %lld | ", (long long)d->min);
    else if (rc == 0 && d->type == ORC_CFG_INT)
        rc = orc_buf_printf(out, "%lld..%lld | ", (long long)d->min, (long long)d->max);
    else if (rc == 0 && d->choices != NULL)
        rc = doc_choices(out, d->choices);
    else if (rc == 0)
        rc = orc_buf_puts(out, " | ");
    if (rc == 0)
        rc = orc_buf_puts(out, d->help);
    if (rc == 0 && d->synonym != NULL)
        rc = orc_buf_printf(out, ". Synonym: `%s`", d->synonym);
    if (rc == 0 && (d->flags & ORC_CFG_SECRET))
        rc = orc_buf_puts(out, ". Secret");
    if (rc == 0 && (d->flags & ORC_CFG_UNSUPPORTED))
        rc = orc_buf_puts(out, ". **Not supported**: only the default is accepted");
    return rc == 0 ? orc_buf_puts(out, " |\n") : rc;
}

int orc_config_doc(struct orc_buf *out)
{
    int rc = orc_buf_puts(out, doc_intro);

    for (size_t i = 0; rc == 0 && i < ORC_ARRAY_LEN(doc_items); i++) {
        if (doc_items[i].section != NULL)
            rc = orc_buf_printf(out,
                                "\n## %s\n\n| key | type | default | bounds | meaning |\n"
                                "|---|---|---|---|---|\n",
                                doc_items[i].section);
        else
            rc = doc_row(out, &orc_config_defs[doc_items[i].key]);
    }
    return rc;
}
