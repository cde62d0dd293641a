/*
 * kv: publishing the masters and the manager cluster to key-value stores.
 * Internal to the recovery module (the service side is in rec.h: rec_kv_*).
 *
 * A store is a small vtable (struct rec_kv_store_ops): read every pair under
 * a prefix, write a set of pairs and delete a set of keys in one transaction,
 * and a health check. kv_etcd.c (etcd v3 JSON gateway), kv_zk.c (ZooKeeper,
 * zoo_multi), kv_consul.c (Consul KV and txn) and kv_internal.c (the raft
 * replicated kv_store) implement it. kv.c runs the publisher thread;
 * kv_keys.c holds the pure parts (key sets, diffs, base64, settings),
 * unit-tested in tests/unit/test_kv.c.
 *
 * Threads: a store handle is used by one thread at a time (kv.c serialises
 * every call with its I/O mutex). The pure helpers keep no state.
 */
#ifndef ORC_REC_KV_H
#define ORC_REC_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/orc.h"

/* ---- sets of pairs (kv_keys.c) ---- */

struct rec_kv_pair {
    char *key;   /* owned */
    char *value; /* owned */
};

/* Pairs in insertion order; owned strings. */
struct rec_kv_set {
    struct rec_kv_pair *v;
    size_t n, cap;
};

void rec_kv_set_init(struct rec_kv_set *s);
void rec_kv_set_release(struct rec_kv_set *s);
/* Appends a copy of key = value (an existing key gets the new value). */
int rec_kv_set_put(struct rec_kv_set *s, const char *key, const char *value);
/* The value of key, or NULL (borrowed). */
const char *rec_kv_set_get(const struct rec_kv_set *s, const char *key);

/* The pairs orchestrator publishes for a cluster's master: prefix+alias =
 * "host:port", then /hostname, /port, /ipv4, /ipv6 (ipv4/ipv6 may be "").
 * prefix ends in "/" (KVClusterMasterPrefix). Appends to out. */
int rec_kv_master_pairs(const char *prefix,
                        const char *alias,
                        const struct orc_key *master,
                        const char *ipv4,
                        const char *ipv6,
                        struct rec_kv_set *out);

/* What must change so that the store holds `want`: *put gets the pairs of
 * want missing or different in cur; *del the keys of cur that start with
 * del_prefix (NULL: none) and are not in want. Returns 0 or ORC_ENOMEM. */
int rec_kv_diff(const struct rec_kv_set *cur,
                const struct rec_kv_set *want,
                const char *del_prefix,
                struct rec_kv_set *put,
                struct orc_strlist *del);

/* One manager node as published (see rec_kv_manager_pairs). */
struct rec_kv_member {
    char addr[64]; /* raft address (or host name without raft) */
    char role[16]; /* "voter", "non-voter" */
    bool healthy;  /* reachable from the leader */
    bool leader;
};

/* The manager cluster's pairs under prefix (ends in "/"): "leader" = the
 * leader's HTTP URI, "leader/raft" = its raft address, and per member
 * "members/<addr>" = {"Role":..,"Healthy":..,"Leader":..} (JSON). */
int rec_kv_manager_pairs(const char *prefix,
                         const char *leader_uri,
                         const char *leader_addr,
                         const struct rec_kv_member *m,
                         size_t n,
                         struct rec_kv_set *out);

/* Standard base64 (with padding). Appends to out. */
int rec_kv_base64_encode(const void *data, size_t n, struct orc_buf *out);
/* Decodes standard base64 (padding optional) and appends the bytes (plus a
 * NUL, not counted) to out. ORC_EINVAL on a bad character. */
int rec_kv_base64_decode(const char *s, struct orc_buf *out);
/* The smallest key greater than every key starting with prefix (etcd's
 * range_end): the prefix with its last byte below 0xff incremented. */
int rec_kv_prefix_end(const char *prefix, struct orc_buf *out);

/* etcd /v3/kv/txn body: every put (request_put) then every delete
 * (request_delete_range), keys and values base64. Caller frees; NULL when
 * a key or value is not valid UTF-8 text or memory ran out. */
char *rec_kv_etcd_txn_json(const struct rec_kv_set *put, const struct orc_strlist *del);
/* Consul /v1/txn body for put[first..first+n) then del[dfirst..dfirst+dn)
 * ("set" and "delete" verbs, base64 values). Caller frees; NULL on error. */
char *rec_kv_consul_txn_json(const struct rec_kv_set *put,
                             size_t first,
                             size_t n,
                             const struct orc_strlist *del,
                             size_t dfirst,
                             size_t dn);

/* ---- settings: config keys, then the environment (kv_keys.c) ---- */

#define REC_KV_STR 1024

struct rec_kv_settings {
    int64_t timeout_ms, connect_timeout_ms;
    /* etcd: on when endpoints is not empty */
    char etcd_endpoints[REC_KV_STR]; /* comma-separated URLs */
    char etcd_user[256], etcd_password[256];
    char etcd_cacert[REC_KV_STR], etcd_cert[REC_KV_STR], etcd_key[REC_KV_STR];
    /* Consul: on when address is not empty */
    char consul_address[REC_KV_STR]; /* host:port (scheme stripped into consul_scheme) */
    char consul_scheme[8];           /* "http" or "https" */
    char consul_token[256];
    char consul_cacert[REC_KV_STR], consul_cert[REC_KV_STR], consul_key[REC_KV_STR];
    char consul_server_name[256];
    bool consul_skip_verify;
    bool consul_txn;      /* ConsulKVStoreProvider consul-txn */
    int consul_max_txn;   /* ConsulMaxKVsPerTransaction */
    bool consul_cross_dc; /* ConsulCrossDataCenterDistribution */
    /* ZooKeeper: on when address is not empty */
    char zk_address[REC_KV_STR];
    /* what is published */
    char master_prefix[512];  /* ends in "/" */
    char manager_prefix[512]; /* ends in "/", "" = not published */
    int64_t interval_ms;
};

/* Fills out from the config; every connection setting the config leaves
 * empty is taken from the environment through get (getenv, or a fake in
 * tests; may be NULL): ETCD_ENDPOINTS, ETCD_USER, ETCD_PASSWORD,
 * ETCD_CACERT, ETCD_CLIENT_CERT, ETCD_CLIENT_KEY, CONSUL_HTTP_ADDR
 * ("[scheme://]host:port"), CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL (true:
 * https), CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
 * CONSUL_TLS_SERVER_NAME, CONSUL_HTTP_SSL_VERIFY (false: no verification).
 * Returns 0 or ORC_ECONFIG (a value too long, a bad scheme). */
int rec_kv_settings_resolve(const struct orc_config *cfg,
                            const char *(*get)(const char *name),
                            struct rec_kv_settings *out,
                            char *errmsg,
                            size_t len);

/* ---- stores ---- */

struct rec_kv_store_ops {
    const char *name; /* "etcd", "zookeeper", "consul", "internal" */
    /* Every pair whose key starts with prefix, appended to out. */
    int (*read)(void *st, const char *prefix, struct rec_kv_set *out, char *errmsg, size_t len);
    /* Writes put and deletes del in one transaction (all or nothing, where
     * the store allows it; see docs/kv.md). */
    int (*write)(void *st,
                 const struct rec_kv_set *put,
                 const struct orc_strlist *del,
                 char *errmsg,
                 size_t len);
    /* 0 when the store answers. */
    int (*health)(void *st, char *errmsg, size_t len);
    void (*free)(void *st);
};

/* Constructors: *st is the store's handle. No network I/O happens here. */
struct rec_env;
int rec_kv_etcd_new(const struct rec_kv_settings *s, void **st, char *errmsg, size_t len);
int rec_kv_consul_new(const struct rec_kv_settings *s, void **st, char *errmsg, size_t len);
int rec_kv_zk_new(const struct rec_kv_settings *s, void **st, char *errmsg, size_t len);
int rec_kv_internal_new(struct rec_env *env, void **st, char *errmsg, size_t len);
extern const struct rec_kv_store_ops rec_kv_etcd_ops;
extern const struct rec_kv_store_ops rec_kv_consul_ops;
extern const struct rec_kv_store_ops rec_kv_zk_ops;
extern const struct rec_kv_store_ops rec_kv_internal_ops;

/* ---- HTTP for etcd and Consul (kv_http.c) ---- */

struct rec_kv_http {
    const char *method;     /* "GET", "PUT", "POST" */
    const char *url;        /* full URL */
    const char *body;       /* NULL: none */
    const char *header;     /* one extra "Name: value" header, or NULL */
    const char *cacert;     /* "" or NULL: system CAs */
    const char *cert, *key; /* client certificate */
    /* "name:port:host:port": the URL names the certificate's name, the
     * connection goes to host:port (CONSUL_TLS_SERVER_NAME). NULL: none. */
    const char *connect_to;
    bool skip_verify;
    int64_t connect_timeout_ms, timeout_ms;
};

/* Runs one request; *status gets the HTTP status, body the answer.
 * ORC_EIO / ORC_ETIMEDOUT when no answer came. */
int rec_kv_http_do(const struct rec_kv_http *h,
                   long *status,
                   struct orc_buf *body,
                   char *errmsg,
                   size_t len);

#endif
