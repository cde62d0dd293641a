/*
 * kv_keys: the pure parts of KV publishing: the pairs published for a master
 * and for the manager cluster, the difference between what a store holds and
 * what it should hold, base64, the request bodies of etcd and Consul, and the
 * connection settings (config keys first, the environment for what they
 * leave empty). No I/O; unit-tested in tests/unit/test_kv.c.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recovery/kv.h"

/* ---- sets ---- */

void rec_kv_set_init(struct rec_kv_set *s)
{
    memset(s, 0, sizeof(*s));
}

void rec_kv_set_release(struct rec_kv_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        free(s->v[i].value);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static struct rec_kv_pair *find(const struct rec_kv_set *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].key, key) == 0)
            return &s->v[i];
    return NULL;
}

const char *rec_kv_set_get(const struct rec_kv_set *s, const char *key)
{
    const struct rec_kv_pair *p = find(s, key);

    return p ? p->value : NULL;
}

int rec_kv_set_put(struct rec_kv_set *s, const char *key, const char *value)
{
    struct rec_kv_pair *p = find(s, key);
    char *v = orc_strdup(value ? value : "");

    if (v == NULL)
        return ORC_ENOMEM;
    if (p != NULL) {
        free(p->value);
        p->value = v;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct rec_kv_pair *nv = realloc(s->v, cap * sizeof(*nv));
        if (nv == NULL) {
            free(v);
            return ORC_ENOMEM;
        }
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n].key = orc_strdup(key);
    if (s->v[s->n].key == NULL) {
        free(v);
        return ORC_ENOMEM;
    }
    s->v[s->n++].value = v;
    return 0;
}

static int put_sub(struct rec_kv_set *out, const char *base, const char *sub, const char *value)
{
    struct orc_buf k = ORC_BUF_INIT;
    int rc = orc_buf_printf(&k, "%s/%s", base, sub);

    if (rc == 0)
        rc = rec_kv_set_put(out, orc_buf_str(&k), value);
    orc_buf_release(&k);
    return rc;
}

int rec_kv_master_pairs(const char *prefix,
                        const char *alias,
                        const struct orc_key *master,
                        const char *ipv4,
                        const char *ipv6,
                        struct rec_kv_set *out)
{
    struct orc_buf base = ORC_BUF_INIT;
    char ks[ORC_KEY_STRLEN], port[16];
    int rc;

    orc_key_str(master, ks, sizeof(ks));
    snprintf(port, sizeof(port), "%d", master->port);
    rc = orc_buf_printf(&base, "%s%s", prefix, alias);
    if (rc == 0)
        rc = rec_kv_set_put(out, orc_buf_str(&base), ks);
    if (rc == 0)
        rc = put_sub(out, orc_buf_str(&base), "hostname", master->host);
    if (rc == 0)
        rc = put_sub(out, orc_buf_str(&base), "port", port);
    if (rc == 0)
        rc = put_sub(out, orc_buf_str(&base), "ipv4", ipv4 ? ipv4 : "");
    if (rc == 0)
        rc = put_sub(out, orc_buf_str(&base), "ipv6", ipv6 ? ipv6 : "");
    orc_buf_release(&base);
    return rc;
}

static int strlist_add(struct orc_strlist *l, const char *s)
{
    char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

    if (nv == NULL)
        return ORC_ENOMEM;
    l->v = nv;
    l->v[l->n] = orc_strdup(s);
    if (l->v[l->n] == NULL)
        return ORC_ENOMEM;
    l->n++;
    return 0;
}

int rec_kv_diff(const struct rec_kv_set *cur,
                const struct rec_kv_set *want,
                const char *del_prefix,
                struct rec_kv_set *put,
                struct orc_strlist *del)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < want->n; i++) {
        const char *have = rec_kv_set_get(cur, want->v[i].key);
        if (have == NULL || strcmp(have, want->v[i].value) != 0)
            rc = rec_kv_set_put(put, want->v[i].key, want->v[i].value);
    }
    if (del_prefix == NULL)
        return rc;
    for (size_t i = 0; rc == 0 && i < cur->n; i++)
        if (strncmp(cur->v[i].key, del_prefix, strlen(del_prefix)) == 0 &&
            rec_kv_set_get(want, cur->v[i].key) == NULL)
            rc = strlist_add(del, cur->v[i].key);
    return rc;
}

int rec_kv_manager_pairs(const char *prefix,
                         const char *leader_uri,
                         const char *leader_addr,
                         const struct rec_kv_member *m,
                         size_t n,
                         struct rec_kv_set *out)
{
    struct orc_buf k = ORC_BUF_INIT;
    int rc = orc_buf_printf(&k, "%sleader", prefix);

    if (rc == 0)
        rc = rec_kv_set_put(out, orc_buf_str(&k), leader_uri);
    if (rc == 0)
        rc = orc_buf_puts(&k, "/raft");
    if (rc == 0)
        rc = rec_kv_set_put(out, orc_buf_str(&k), leader_addr);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *j = json_pack("{s:s, s:b, s:b}", "Role", m[i].role, "Healthy", m[i].healthy,
                              "Leader", m[i].leader);
        char *v = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        orc_buf_reset(&k);
        rc = v == NULL ? ORC_ENOMEM : orc_buf_printf(&k, "%smembers/%s", prefix, m[i].addr);
        if (rc == 0)
            rc = rec_kv_set_put(out, orc_buf_str(&k), v);
        free(v);
        json_decref(j);
    }
    orc_buf_release(&k);
    return rc;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int rec_kv_base64_encode(const void *data, size_t n, struct orc_buf *out)
{
    const unsigned char *p = data;
    int rc = orc_buf_reserve(out, (n + 2) / 3 * 4 + 1);

    for (size_t i = 0; rc == 0 && i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        char q[4];
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = b64[(v >> 18) & 63];
        q[1] = b64[(v >> 12) & 63];
        q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? b64[v & 63] : '=';
        rc = orc_buf_append(out, q, 4);
    }
    if (rc == 0)
        rc = orc_buf_append(out, "", 0); /* terminated also when n is 0 */
    return rc;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;

    return p ? (int)(p - b64) : -1;
}

int rec_kv_base64_decode(const char *s, struct orc_buf *out)
{
    unsigned acc = 0;
    int bits = 0, rc = orc_buf_puts(out, "");

    for (; rc == 0 && *s && *s != '='; s++) {
        int v = b64_value(*s);
        if (v < 0)
            return ORC_EINVAL;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            rc = orc_buf_putc(out, (char)((acc >> bits) & 0xff));
        }
    }
    return rc;
}

int rec_kv_prefix_end(const char *prefix, struct orc_buf *out)
{
    size_t n = strlen(prefix);

    while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
        n--;
    if (n == 0) /* every key: etcd's "\0" */
        return orc_buf_append(out, "", 1);
    if (orc_buf_append(out, prefix, n - 1) != 0)
        return ORC_ENOMEM;
    return orc_buf_putc(out, (char)((unsigned char)prefix[n - 1] + 1));
}

/* ---- request bodies ---- */

static json_t *b64_json(const char *s)
{
    struct orc_buf b = ORC_BUF_INIT;
    json_t *j = NULL;

    if (rec_kv_base64_encode(s, strlen(s), &b) == 0)
        j = json_string(orc_buf_str(&b));
    orc_buf_release(&b);
    return j;
}

/* Appends op (stolen) to arr; false (arr unchanged) when op is NULL. */
static bool append_op(json_t *arr, json_t *op)
{
    return op != NULL && json_array_append_new(arr, op) == 0;
}

char *rec_kv_etcd_txn_json(const struct rec_kv_set *put, const struct orc_strlist *del)
{
    json_t *ops = json_array(), *txn;
    bool ok = ops != NULL;
    char *out;

    for (size_t i = 0; ok && put && i < put->n; i++)
        ok = append_op(ops, json_pack("{s:{s:o, s:o}}", "request_put", "key",
                                      b64_json(put->v[i].key), "value", b64_json(put->v[i].value)));
    for (size_t i = 0; ok && del && i < del->n; i++)
        ok = append_op(ops,
                       json_pack("{s:{s:o}}", "request_delete_range", "key", b64_json(del->v[i])));
    if (!ok) {
        json_decref(ops);
        return NULL;
    }
    txn = json_pack("{s:[], s:o, s:[]}", "compare", "success", ops, "failure");
    out = txn ? json_dumps(txn, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(txn);
    return out;
}

char *rec_kv_consul_txn_json(const struct rec_kv_set *put,
                             size_t first,
                             size_t n,
                             const struct orc_strlist *del,
                             size_t dfirst,
                             size_t dn)
{
    json_t *ops = json_array();
    bool ok = ops != NULL;
    char *out;

    for (size_t i = first; ok && put && i < first + n && i < put->n; i++)
        ok = append_op(ops, json_pack("{s:{s:s, s:s, s:o}}", "KV", "Verb", "set", "Key",
                                      put->v[i].key, "Value", b64_json(put->v[i].value)));
    for (size_t i = dfirst; ok && del && i < dfirst + dn && i < del->n; i++)
        ok = append_op(ops, json_pack("{s:{s:s, s:s}}", "KV", "Verb", "delete", "Key", del->v[i]));
    out = ok ? json_dumps(ops, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ops);
    return out;
}

/* ---- settings ---- */

static const char *env_get(const char *(*get)(const char *), const char *name)
{
    const char *v = get ? get(name) : NULL;

    return v ? v : "";
}

/* dst = the config's value, else the environment's. */
static int pick(char *dst,
                size_t n,
                const char *cfg,
                const char *(*get)(const char *),
                const char *env,
                char *errmsg,
                size_t len)
{
    const char *v = cfg && cfg[0] ? cfg : env_get(get, env);

    if (strlen(v) >= n) {
        orc_errf(errmsg, len, "%s: value too long", cfg && cfg[0] ? "config" : env);
        return ORC_ECONFIG;
    }
    orc_strlcpy(dst, v, n);
    return 0;
}

static bool env_true(const char *v)
{
    return strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0;
}

static bool env_false(const char *v)
{
    return strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0;
}

/* ConsulAddress / CONSUL_HTTP_ADDR may carry the scheme. */
static int consul_address(struct rec_kv_settings *o,
                          const struct orc_config *c,
                          const char *(*get)(const char *),
                          char *errmsg,
                          size_t len)
{
    bool from_env = c->ConsulAddress[0] == '\0';
    char *p;
    int rc = pick(o->consul_address, sizeof(o->consul_address), c->ConsulAddress, get,
                  "CONSUL_HTTP_ADDR", errmsg, len);

    if (rc != 0)
        return rc;
    orc_strlcpy(o->consul_scheme, c->ConsulScheme[0] ? c->ConsulScheme : "http",
                sizeof(o->consul_scheme));
    if (from_env && env_true(env_get(get, "CONSUL_HTTP_SSL")))
        orc_strlcpy(o->consul_scheme, "https", sizeof(o->consul_scheme));
    p = strstr(o->consul_address, "://");
    if (p == NULL)
        return 0;
    *p = '\0';
    if (strcmp(o->consul_address, "http") != 0 && strcmp(o->consul_address, "https") != 0) {
        orc_errf(errmsg, len, "Consul address: unknown scheme '%s'", o->consul_address);
        return ORC_ECONFIG;
    }
    orc_strlcpy(o->consul_scheme, o->consul_address, sizeof(o->consul_scheme));
    memmove(o->consul_address, p + 3, strlen(p + 3) + 1);
    return 0;
}

static int consul_settings(struct rec_kv_settings *o,
                           const struct orc_config *c,
                           const char *(*get)(const char *),
                           char *errmsg,
                           size_t len)
{
    int rc = consul_address(o, c, get, errmsg, len);

    if (rc == 0)
        rc = pick(o->consul_token, sizeof(o->consul_token), c->ConsulAclToken, get,
                  "CONSUL_HTTP_TOKEN", errmsg, len);
    if (rc == 0)
        rc = pick(o->consul_cacert, sizeof(o->consul_cacert), c->ConsulCACert, get, "CONSUL_CACERT",
                  errmsg, len);
    if (rc == 0)
        rc = pick(o->consul_cert, sizeof(o->consul_cert), c->ConsulClientCert, get,
                  "CONSUL_CLIENT_CERT", errmsg, len);
    if (rc == 0)
        rc = pick(o->consul_key, sizeof(o->consul_key), c->ConsulClientKey, get,
                  "CONSUL_CLIENT_KEY", errmsg, len);
    if (rc == 0)
        rc = pick(o->consul_server_name, sizeof(o->consul_server_name), c->ConsulTLSServerName, get,
                  "CONSUL_TLS_SERVER_NAME", errmsg, len);
    o->consul_skip_verify = env_false(env_get(get, "CONSUL_HTTP_SSL_VERIFY"));
    o->consul_txn = strcmp(c->ConsulKVStoreProvider, "consul-txn") == 0;
    o->consul_max_txn = (int)c->ConsulMaxKVsPerTransaction;
    o->consul_cross_dc = c->ConsulCrossDataCenterDistribution;
    return rc;
}

static int etcd_settings(struct rec_kv_settings *o,
                         const struct orc_config *c,
                         const char *(*get)(const char *),
                         char *errmsg,
                         size_t len)
{
    int rc = pick(o->etcd_endpoints, sizeof(o->etcd_endpoints), c->EtcdEndpoints, get,
                  "ETCD_ENDPOINTS", errmsg, len);

    if (rc == 0)
        rc = pick(o->etcd_user, sizeof(o->etcd_user), c->EtcdUser, get, "ETCD_USER", errmsg, len);
    if (rc == 0)
        rc = pick(o->etcd_password, sizeof(o->etcd_password), c->EtcdPassword, get, "ETCD_PASSWORD",
                  errmsg, len);
    if (rc == 0)
        rc = pick(o->etcd_cacert, sizeof(o->etcd_cacert), c->EtcdCACert, get, "ETCD_CACERT", errmsg,
                  len);
    if (rc == 0)
        rc = pick(o->etcd_cert, sizeof(o->etcd_cert), c->EtcdClientCert, get, "ETCD_CLIENT_CERT",
                  errmsg, len);
    if (rc == 0)
        rc = pick(o->etcd_key, sizeof(o->etcd_key), c->EtcdClientKey, get, "ETCD_CLIENT_KEY",
                  errmsg, len);
    return rc;
}

/* dst = s with a "/" at the end ("" stays ""). */
static void with_slash(char *dst, size_t n, const char *s)
{
    size_t l = strlen(s);

    snprintf(dst, n, "%s%s", s, l > 0 && s[l - 1] != '/' ? "/" : "");
}

int rec_kv_settings_resolve(const struct orc_config *cfg,
                            const char *(*get)(const char *name),
                            struct rec_kv_settings *out,
                            char *errmsg,
                            size_t len)
{
    int rc;

    memset(out, 0, sizeof(*out));
    out->timeout_ms = cfg->KVStoreTimeoutMilliseconds;
    out->connect_timeout_ms = out->timeout_ms / 2;
    out->interval_ms = cfg->KVPublishIntervalSeconds * 1000;
    with_slash(out->master_prefix, sizeof(out->master_prefix), cfg->KVClusterMasterPrefix);
    with_slash(out->manager_prefix, sizeof(out->manager_prefix), cfg->KVManagerPrefix);
    rc = etcd_settings(out, cfg, get, errmsg, len);
    if (rc == 0)
        rc = consul_settings(out, cfg, get, errmsg, len);
    if (rc == 0)
        rc = pick(out->zk_address, sizeof(out->zk_address), cfg->ZkAddress, NULL, "", errmsg, len);
    return rc;
}
