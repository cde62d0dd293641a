/*
 * config_finalize: the checks that involve more than one key, and the values
 * derived from others (orchestrator's postReadAdjustments). Runs once after
 * every source was applied; running it twice changes nothing more.
 */
#include "common/config.h"
#include "common/config_live.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Replaces a string field by a copy of value and marks it derived. */
static int derive_str(struct orc_config *c, char **field, int idx, const char *value)
{
    char *copy;

    if (strcmp(*field, value) == 0)
        return 0;
    copy = strdup(value);
    if (copy == NULL)
        return ORC_ENOMEM;
    free(*field);
    *field = copy;
    c->sources[idx] = ORC_CFG_SRC_DERIVED;
    return 0;
}

static int fail(char *errmsg, size_t len, const char *key, const char *msg)
{
    orc_errf(errmsg, len, "key '%s': %s", key, msg);
    return ORC_ECONFIG;
}

static int finalize_logging(struct orc_config *c, char *errmsg, size_t len)
{
    if (c->Debug && c->sources[ORC_CFGK_LogLevel] == ORC_CFG_SRC_DEFAULT) {
        if (derive_str(c, &c->LogLevel, ORC_CFGK_LogLevel, "debug") != 0)
            return ORC_ENOMEM;
    }
    if (orc_log_level_parse(c->LogLevel) < 0)
        return fail(errmsg, len, "LogLevel", "must be debug, info, notice, warning or error");
    return 0;
}

static int finalize_backend(struct orc_config *c, char *errmsg, size_t len)
{
    const char *kind;

    if (c->BackendDB[0] == '\0')
        kind = c->MySQLOrchestratorHost[0] != '\0' ? "mysql" : "sqlite";
    else if (strstr(c->BackendDB, "sqlite") != NULL)
        kind = "sqlite";
    else if (strcasecmp(c->BackendDB, "mysql") == 0)
        kind = "mysql";
    else
        return fail(errmsg, len, "BackendDB", "must be 'mysql' or 'sqlite'");
    if (derive_str(c, &c->BackendDB, ORC_CFGK_BackendDB, kind) != 0)
        return ORC_ENOMEM;
    if (strcmp(kind, "sqlite") == 0) {
        if (c->SQLite3DataFile[0] == '\0')
            return fail(errmsg, len, "SQLite3DataFile", "required with the sqlite backend");
        return 0;
    }
    if (c->MySQLOrchestratorHost[0] == '\0')
        return fail(errmsg, len, "MySQLOrchestratorHost", "required with the mysql backend");
    if (c->MySQLOrchestratorDatabase[0] == '\0')
        return fail(errmsg, len, "MySQLOrchestratorDatabase", "required with the mysql backend");
    return 0;
}

/* "x", "/x/", "//x" -> "/x"; "/" and "" -> "". */
static int finalize_url_prefix(struct orc_config *c)
{
    const char *s = c->URLPrefix;
    size_t n;
    char *norm;
    int rc;

    while (*s == '/')
        s++;
    n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        n--;
    norm = malloc(n + 2);
    if (norm == NULL)
        return ORC_ENOMEM;
    norm[0] = '\0';
    if (n > 0) {
        norm[0] = '/';
        memcpy(norm + 1, s, n);
        norm[n + 1] = '\0';
    }
    rc = derive_str(c, &c->URLPrefix, ORC_CFGK_URLPrefix, norm);
    free(norm);
    return rc;
}

static int finalize_kv_prefix(struct orc_config *c, char *errmsg, size_t len)
{
    size_t n = strlen(c->KVClusterMasterPrefix);
    struct orc_buf b = ORC_BUF_INIT;
    int rc;

    if (n == 0)
        return fail(errmsg, len, "KVClusterMasterPrefix", "must not be empty");
    if (c->KVClusterMasterPrefix[n - 1] == '/')
        return 0;
    if (orc_buf_printf(&b, "%s/", c->KVClusterMasterPrefix) != 0)
        return ORC_ENOMEM;
    rc = derive_str(c, &c->KVClusterMasterPrefix, ORC_CFGK_KVClusterMasterPrefix, b.data);
    orc_buf_release(&b);
    return rc;
}

static int finalize_recovery(struct orc_config *c, char *errmsg, size_t len)
{
    if (c->FailMasterPromotionIfSQLThreadNotUpToDate &&
        c->DelayMasterPromotionIfSQLThreadNotUpToDate)
        return fail(errmsg, len, "DelayMasterPromotionIfSQLThreadNotUpToDate",
                    "cannot be combined with FailMasterPromotionIfSQLThreadNotUpToDate");
    /* as orchestrator: the lag of a stopped replica is only known from a
     * heartbeat query */
    if (c->FailMasterPromotionOnLagMinutes > 0 &&
        (c->ReplicationLagQuery == NULL || c->ReplicationLagQuery[0] == '\0'))
        return fail(errmsg, len, "FailMasterPromotionOnLagMinutes",
                    "a nonzero value requires ReplicationLagQuery to be set");
    /* The minutes form still counts when it is the only one given. */
    if (c->sources[ORC_CFGK_RecoveryPeriodBlockMinutes] != ORC_CFG_SRC_DEFAULT &&
        c->sources[ORC_CFGK_RecoveryPeriodBlockSeconds] == ORC_CFG_SRC_DEFAULT) {
        c->RecoveryPeriodBlockSeconds = c->RecoveryPeriodBlockMinutes * 60;
        c->sources[ORC_CFGK_RecoveryPeriodBlockSeconds] = ORC_CFG_SRC_DERIVED;
    }
    if (c->ReasonableLockedSemiSyncMasterSeconds == 0) {
        c->ReasonableLockedSemiSyncMasterSeconds = c->ReasonableReplicationLagSeconds;
        c->sources[ORC_CFGK_ReasonableLockedSemiSyncMasterSeconds] = ORC_CFG_SRC_DERIVED;
    }
    return 0;
}

/* For the replicated recovery settings (config_live.c). */
int orc_config_finalize_recovery(struct orc_config *c, char *errmsg, size_t len)
{
    return finalize_recovery(c, errmsg, len);
}

static int finalize_discovery(struct orc_config *c)
{
    if (c->DiscoveryWorkerThreads == 0) {
        c->DiscoveryWorkerThreads = c->DiscoveryMaxConcurrency < ORC_CONFIG_MAX_DERIVED_WORKERS
                                        ? c->DiscoveryMaxConcurrency
                                        : ORC_CONFIG_MAX_DERIVED_WORKERS;
        c->sources[ORC_CFGK_DiscoveryWorkerThreads] = ORC_CFG_SRC_DERIVED;
    }
    return 0;
}

/* Rewrites a raft address as host:port, adding DefaultRaftPort if needed. */
static int raft_addr(const struct orc_config *c, const char *in, char *out, size_t outlen)
{
    struct orc_key k;

    if (orc_key_parse(in, (int)c->DefaultRaftPort, &k) != 0 || k.host[0] == '\0')
        return ORC_EINVAL;
    orc_key_str(&k, out, outlen);
    return 0;
}

/* AdvertiseAddr parsed: host, and the port when one was given (else 0).
 * Only a host name or an address, optionally with a port, is accepted: no
 * scheme, path, user or blanks. */
static int advertise_parse(const char *s, struct orc_key *k)
{
    bool has_port;

    if (orc_key_parse(s, 1, k) != 0)
        return ORC_EINVAL;
    for (const char *p = k->host; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && strchr("-._:", *p) == NULL)
            return ORC_EINVAL;
    if (s[0] == '[')
        has_port = strstr(s, "]:") != NULL;
    else
        has_port = strchr(k->host, ':') == NULL && strchr(s, ':') != NULL;
    if (!has_port)
        k->port = 0; /* orc_key_parse gave the default (1) */
    return 0;
}

int orc_config_advertise_raft(const struct orc_config *c, char *out, size_t len)
{
    struct orc_key k, bind;

    if (c->AdvertiseAddr[0] == '\0')
        return ORC_ENOTFOUND;
    if (advertise_parse(c->AdvertiseAddr, &k) != 0)
        return ORC_EINVAL;
    if (k.port == 0) {
        if (orc_key_parse(c->RaftBind, (int)c->DefaultRaftPort, &bind) != 0)
            return ORC_EINVAL;
        k.port = bind.port;
    }
    orc_key_str(&k, out, len);
    return strlen(out) + 1 < len ? 0 : ORC_EINVAL;
}

int orc_config_advertise_http(const struct orc_config *c, char *out, size_t len)
{
    const char *la = c->ListenAddress, *colon = strrchr(la, ':');
    const char *scheme = c->UseSSL ? "https" : "http";
    struct orc_key k;
    int64_t port;
    int n;

    if (c->AdvertiseAddr[0] == '\0')
        return ORC_ENOTFOUND;
    if (advertise_parse(c->AdvertiseAddr, &k) != 0)
        return ORC_EINVAL;
    /* a unix socket, or no port to advertise */
    if (c->ListenSocket[0] != '\0' || colon == NULL ||
        orc_parse_int64(colon + 1, 1, 65535, &port) != 0)
        return ORC_ENOTFOUND;
    if (strchr(k.host, ':') != NULL)
        n = snprintf(out, len, "%s://[%s]:%d", scheme, k.host, (int)port);
    else
        n = snprintf(out, len, "%s://%s:%d", scheme, k.host, (int)port);
    return (n < 0 || (size_t)n >= len) ? ORC_EINVAL : 0;
}

/* AdvertiseAddr fills RaftAdvertise and HTTPAdvertise when they are empty
 * (a key set explicitly wins). Runs after RaftBind is normalized; filled
 * keys are not empty on a second run, so that run changes nothing. */
static int finalize_advertise(struct orc_config *c, char *errmsg, size_t len)
{
    char addr[ORC_KEY_STRLEN], url[ORC_KEY_STRLEN + 32];
    int rc;

    if (c->AdvertiseAddr[0] == '\0')
        return 0;
    rc = orc_config_advertise_raft(c, addr, sizeof(addr));
    if (rc != 0) {
        orc_errf(errmsg, len,
                 "key 'AdvertiseAddr' (--advertise-addr, ADVERTISE_ADDR; set by %s): expected "
                 "host or host:port (an address or a name, no scheme or path), got '%s'",
                 orc_config_source(c, "AdvertiseAddr"), c->AdvertiseAddr);
        return ORC_ECONFIG;
    }
    if (c->RaftAdvertise[0] == '\0' &&
        derive_str(c, &c->RaftAdvertise, ORC_CFGK_RaftAdvertise, addr) != 0)
        return ORC_ENOMEM;
    rc = orc_config_advertise_http(c, url, sizeof(url));
    if (rc == 0 && c->HTTPAdvertise[0] == '\0' &&
        derive_str(c, &c->HTTPAdvertise, ORC_CFGK_HTTPAdvertise, url) != 0)
        return ORC_ENOMEM;
    return 0;
}

static int finalize_raft(struct orc_config *c, char *errmsg, size_t len)
{
    char addr[ORC_KEY_STRLEN];
    int rc;

    if (c->RaftEnabled && c->RaftDataDir[0] == '\0')
        return fail(errmsg, len, "RaftDataDir", "required when RaftEnabled is true");
    if (raft_addr(c, c->RaftBind, addr, sizeof(addr)) != 0)
        return fail(errmsg, len, "RaftBind", "expected host[:port]");
    if (derive_str(c, &c->RaftBind, ORC_CFGK_RaftBind, addr) != 0)
        return ORC_ENOMEM;
    if ((rc = finalize_advertise(c, errmsg, len)) != 0)
        return rc;
    if (c->RaftAdvertise[0] == '\0') {
        if (derive_str(c, &c->RaftAdvertise, ORC_CFGK_RaftAdvertise, c->RaftBind) != 0)
            return ORC_ENOMEM;
    } else if (raft_addr(c, c->RaftAdvertise, addr, sizeof(addr)) != 0) {
        return fail(errmsg, len, "RaftAdvertise", "expected host[:port]");
    } else if (derive_str(c, &c->RaftAdvertise, ORC_CFGK_RaftAdvertise, addr) != 0) {
        return ORC_ENOMEM;
    }
    for (size_t i = 0; i < c->RaftNodes.n; i++) {
        if (raft_addr(c, c->RaftNodes.v[i], addr, sizeof(addr)) != 0) {
            orc_errf(errmsg, len, "key 'RaftNodes': item %zu: expected host[:port], got '%s'", i,
                     c->RaftNodes.v[i]);
            return ORC_ECONFIG;
        }
        if (derive_str(c, &c->RaftNodes.v[i], ORC_CFGK_RaftNodes, addr) != 0)
            return ORC_ENOMEM;
    }
    return 0;
}

/* HTTPAdvertise: empty, or scheme://host:port with no path. */
static int finalize_http(struct orc_config *c, char *errmsg, size_t len)
{
    const char *s = c->HTTPAdvertise, *sep, *auth, *colon;
    size_t n;

    if (c->UseSSL && (c->SSLCertFile[0] == '\0' || c->SSLPrivateKeyFile[0] == '\0'))
        return fail(errmsg, len, "UseSSL", "needs SSLCertFile and SSLPrivateKeyFile");
    if (*s == '\0')
        return 0;
    sep = strstr(s, "://");
    if (sep == NULL || sep == s)
        return fail(errmsg, len, "HTTPAdvertise", "must include a scheme (http:// or https://)");
    auth = sep + 3;
    n = strcspn(auth, "/?#");
    if (auth[n] != '\0')
        return fail(errmsg, len, "HTTPAdvertise", "must not include a path");
    colon = memrchr(auth, ':', n);
    if (colon == NULL || colon == auth || (auth[0] == '[' && colon[-1] != ']'))
        return fail(errmsg, len, "HTTPAdvertise", "must include a host name and a port");
    for (const char *p = colon + 1; p < auth + n; p++)
        if (!isdigit((unsigned char)*p))
            return fail(errmsg, len, "HTTPAdvertise", "must include a port number");
    if (colon + 1 == auth + n)
        return fail(errmsg, len, "HTTPAdvertise", "must include a port number");
    return 0;
}

/* Authentication and HTTPS: a method that cannot authenticate anybody, or TLS
 * half configured, is refused rather than left to fail open at run time. */
static int finalize_http_security(const struct orc_config *c, char *errmsg, size_t len)
{
    const char *m = c->AuthenticationMethod;

    if (strcmp(m, "basic") == 0 || strcmp(m, "multi") == 0) {
        if (c->HTTPAuthUser[0] == '\0')
            return fail(errmsg, len, "HTTPAuthUser",
                        "required (not empty) with basic and multi auth");
        if (c->HTTPAuthPassword[0] == '\0')
            return fail(errmsg, len, "HTTPAuthPassword",
                        "required (not empty) with basic and multi auth");
        if (strchr(c->HTTPAuthUser, ':') != NULL)
            return fail(errmsg, len, "HTTPAuthUser", "must not contain ':'");
    }
    if (strcmp(m, "proxy") == 0) {
        if (c->AuthUserHeader[0] == '\0')
            return fail(errmsg, len, "AuthUserHeader", "required with proxy auth");
        for (const char *p = c->AuthUserHeader; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
                return fail(errmsg, len, "AuthUserHeader", "must be a header name ([A-Za-z0-9_-])");
    }
    if (c->UseMutualTLS && !c->UseSSL)
        return fail(errmsg, len, "UseMutualTLS", "needs UseSSL");
    if (c->UseMutualTLS && c->SSLCAFile[0] == '\0')
        return fail(errmsg, len, "UseMutualTLS", "needs SSLCAFile (the CA of client certificates)");
    if (c->SSLValidOUs.n > 0 && !c->UseMutualTLS)
        return fail(errmsg, len, "SSLValidOUs", "needs UseMutualTLS");
    return 0;
}

/* MySQL TLS: cert and key go together; files that no connection would use are
 * refused instead of ignored. */
static int finalize_mysql_tls(const struct orc_config *c, char *errmsg, size_t len)
{
    bool topo_tls = c->MySQLTopologyUseMutualTLS || c->MySQLTopologyUseMixedTLS;
    bool be_tls = c->MySQLOrchestratorUseMutualTLS || c->MySQLOrchestratorSSLCAFile[0] != '\0' ||
                  c->MySQLOrchestratorSSLCertFile[0] != '\0';

    if ((c->MySQLTopologySSLCertFile[0] == '\0') != (c->MySQLTopologySSLPrivateKeyFile[0] == '\0'))
        return fail(errmsg, len, "MySQLTopologySSLCertFile",
                    "MySQLTopologySSLCertFile and MySQLTopologySSLPrivateKeyFile go together");
    if (!topo_tls && (c->MySQLTopologySSLCAFile[0] != '\0' ||
                      c->MySQLTopologySSLCertFile[0] != '\0' || c->MySQLTopologySSLSkipVerify))
        return fail(errmsg, len, "MySQLTopologySSLCAFile",
                    "topology TLS settings need MySQLTopologyUseMutualTLS or "
                    "MySQLTopologyUseMixedTLS");
    if ((c->MySQLOrchestratorSSLCertFile[0] == '\0') !=
        (c->MySQLOrchestratorSSLPrivateKeyFile[0] == '\0'))
        return fail(errmsg, len, "MySQLOrchestratorSSLCertFile",
                    "MySQLOrchestratorSSLCertFile and MySQLOrchestratorSSLPrivateKeyFile go "
                    "together");
    if (!be_tls && c->MySQLOrchestratorSSLSkipVerify)
        return fail(errmsg, len, "MySQLOrchestratorSSLSkipVerify",
                    "has no effect without MySQLOrchestratorUseMutualTLS or "
                    "MySQLOrchestratorSSLCAFile");
    return 0;
}

/* ---- my.cnf-style credentials: [client] user=..., password=... ---- */

/* Strips blanks, quotes (with \" and \\ escapes) and unquoted trailing
 * comments from a value, in place. */
static char *cnf_value(char *v)
{
    char *end, *w;

    while (isspace((unsigned char)*v))
        v++;
    if (*v == '"' || *v == '\'') {
        char q = *v++;
        for (w = end = v; *end != '\0' && *end != q; end++) {
            if (*end == '\\' && end[1] != '\0')
                end++;
            *w++ = *end;
        }
        *w = '\0';
        return v;
    }
    for (end = v; *end != '\0'; end++)
        if ((*end == '#' || *end == ';') && end > v && isspace((unsigned char)end[-1]))
            break;
    *end = '\0';
    while (end > v && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return v;
}

/* Reads user and password of the [client] section; both are replaced
 * (by "" when absent), as orchestrator does. */
static int read_credentials(const char *path,
                            char **user,
                            char **password,
                            char *errmsg,
                            size_t len)
{
    FILE *f = fopen(path, "r");
    char line[4096], *nu = strdup(""), *np = strdup("");
    bool in_client = false;
    int rc = ORC_ENOMEM;

    if (f == NULL) {
        orc_errf(errmsg, len, "cannot read '%s': %s", path, strerror(errno));
        rc = ORC_ECONFIG;
        goto out;
    }
    while (nu != NULL && np != NULL && fgets(line, sizeof(line), f) != NULL) {
        char *p = line, *eq, **dst = NULL;

        while (isspace((unsigned char)*p))
            p++;
        if (*p == '[') {
            in_client = strncasecmp(p, "[client]", 8) == 0;
            continue;
        }
        eq = strchr(p, '=');
        if (!in_client || *p == '#' || *p == ';' || eq == NULL)
            continue;
        for (char *e = eq; e > p && isspace((unsigned char)e[-1]); e--)
            e[-1] = '\0';
        *eq = '\0';
        if (strcasecmp(p, "user") == 0)
            dst = &nu;
        else if (strcasecmp(p, "password") == 0)
            dst = &np;
        if (dst != NULL) {
            free(*dst);
            *dst = strdup(cnf_value(eq + 1));
        }
    }
    if (nu != NULL && np != NULL) {
        free(*user);
        free(*password);
        *user = nu;
        *password = np;
        nu = np = NULL;
        rc = 0;
    }
out:
    if (f != NULL)
        fclose(f);
    free(nu);
    free(np);
    return rc;
}

static int finalize_credentials(struct orc_config *c, char *errmsg, size_t len)
{
    int rc;

    if (c->MySQLTopologyCredentialsConfigFile[0] != '\0') {
        rc = read_credentials(c->MySQLTopologyCredentialsConfigFile, &c->MySQLTopologyUser,
                              &c->MySQLTopologyPassword, errmsg, len);
        if (rc != 0) {
            orc_errprefix(errmsg, len, "key 'MySQLTopologyCredentialsConfigFile'");
            return rc;
        }
        c->sources[ORC_CFGK_MySQLTopologyUser] = ORC_CFG_SRC_DERIVED;
        c->sources[ORC_CFGK_MySQLTopologyPassword] = ORC_CFG_SRC_DERIVED;
    }
    if (c->MySQLOrchestratorCredentialsConfigFile[0] != '\0') {
        rc = read_credentials(c->MySQLOrchestratorCredentialsConfigFile, &c->MySQLOrchestratorUser,
                              &c->MySQLOrchestratorPassword, errmsg, len);
        if (rc != 0) {
            orc_errprefix(errmsg, len, "key 'MySQLOrchestratorCredentialsConfigFile'");
            return rc;
        }
        c->sources[ORC_CFGK_MySQLOrchestratorUser] = ORC_CFG_SRC_DERIVED;
        c->sources[ORC_CFGK_MySQLOrchestratorPassword] = ORC_CFG_SRC_DERIVED;
    }
    return 0;
}

int orc_config_finalize(struct orc_config *c, char *errmsg, size_t len)
{
    int rc;

    if ((rc = finalize_logging(c, errmsg, len)) != 0 ||
        (rc = finalize_credentials(c, errmsg, len)) != 0 ||
        (rc = finalize_backend(c, errmsg, len)) != 0 || (rc = finalize_url_prefix(c)) != 0 ||
        (rc = finalize_kv_prefix(c, errmsg, len)) != 0 ||
        (rc = finalize_recovery(c, errmsg, len)) != 0 || (rc = finalize_discovery(c)) != 0 ||
        (rc = finalize_raft(c, errmsg, len)) != 0 ||
        (rc = orc_config_finalize_raft_secret(c, errmsg, len)) != 0 ||
        (rc = finalize_http(c, errmsg, len)) != 0 ||
        (rc = finalize_http_security(c, errmsg, len)) != 0 ||
        (rc = finalize_mysql_tls(c, errmsg, len)) != 0) {
        if (rc == ORC_ENOMEM)
            orc_errf(errmsg, len, "out of memory");
        return rc;
    }
    return 0;
}
