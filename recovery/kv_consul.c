/*
 * kv_consul: Consul's KV HTTP API. Provider "consul" writes one key per
 * request (PUT/DELETE /v1/kv/<key>), as orchestrator does; "consul-txn"
 * writes through /v1/txn, ConsulMaxKVsPerTransaction operations per
 * transaction (a cluster's five pairs always fit in one). With
 * ConsulCrossDataCenterDistribution every data center of
 * /v1/catalog/datacenters gets the same writes (?dc=), and a key counts as
 * published only when every data center holds the same value.
 * Tested against a recorded exchange (no Consul server is packaged here).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "recovery/kv.h"

#define CONSUL_MAX_DCS 32
#define CONSUL_MIXED "\x01mixed" /* a value no wanted pair has */

struct consul {
    struct rec_kv_settings s; /* copy */
    char connect_to[2 * REC_KV_STR];
    char host[REC_KV_STR + 256]; /* what URLs name: the server name when one is set */
};

int rec_kv_consul_new(const struct rec_kv_settings *s, void **st, char *errmsg, size_t len)
{
    struct consul *c = calloc(1, sizeof(*c));
    const char *colon;

    if (c == NULL)
        return ORC_ENOMEM;
    c->s = *s;
    orc_strlcpy(c->host, s->consul_address, sizeof(c->host));
    colon = strrchr(s->consul_address, ':');
    if (s->consul_server_name[0] && colon != NULL) {
        /* https://name:port/ with the connection going to host:port */
        snprintf(c->host, sizeof(c->host), "%s%s", s->consul_server_name, colon);
        snprintf(c->connect_to, sizeof(c->connect_to), "%s%s:%s", s->consul_server_name, colon,
                 s->consul_address);
    }
    (void)errmsg;
    (void)len;
    *st = c;
    return 0;
}

static void consul_free(void *st)
{
    struct consul *c = st;

    if (c != NULL)
        memset(c->s.consul_token, 0, sizeof(c->s.consul_token));
    free(c);
}

/* Appends key to b, escaping what a URL path may not hold ('/' kept). */
static void escape_key(struct orc_buf *b, const char *key)
{
    static const char ok[] = "-_.~/:@";

    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr(ok, *p) != NULL)
            orc_buf_putc(b, (char)*p);
        else
            orc_buf_printf(b, "%%%02X", *p);
    }
}

/* One request; path is below the address ("/v1/..."), dc appended when set. */
static int request(struct consul *c,
                   const char *method,
                   const char *path,
                   const char *dc,
                   const char *body,
                   long *status,
                   struct orc_buf *out,
                   char *errmsg,
                   size_t len)
{
    struct orc_buf url = ORC_BUF_INIT, hdr = ORC_BUF_INIT;
    struct rec_kv_http h;
    int rc;

    memset(&h, 0, sizeof(h));
    orc_buf_printf(&url, "%s://%s%s", c->s.consul_scheme, c->host, path);
    if (dc != NULL && dc[0]) {
        orc_buf_puts(&url, strchr(path, '?') ? "&dc=" : "?dc=");
        escape_key(&url, dc);
    }
    if (c->s.consul_token[0])
        orc_buf_printf(&hdr, "X-Consul-Token: %s", c->s.consul_token);
    h.method = method;
    h.url = orc_buf_str(&url);
    h.body = body;
    h.header = c->s.consul_token[0] ? orc_buf_str(&hdr) : NULL;
    h.cacert = c->s.consul_cacert;
    h.cert = c->s.consul_cert;
    h.key = c->s.consul_key;
    h.connect_to = c->connect_to;
    h.skip_verify = c->s.consul_skip_verify;
    h.connect_timeout_ms = c->s.connect_timeout_ms;
    h.timeout_ms = c->s.timeout_ms;
    orc_buf_reset(out);
    rc = rec_kv_http_do(&h, status, out, errmsg, len);
    if (rc == 0 && *status != 200 && !(*status == 404 && strcmp(method, "GET") == 0)) {
        orc_errf(errmsg, len, "consul %s %s: HTTP %ld: %.200s", method, path, *status,
                 orc_buf_str(out));
        rc = *status == 403 ? ORC_EPERM : ORC_EIO;
    }
    orc_buf_release(&url);
    orc_buf_release(&hdr);
    return rc;
}

/* The data centers to write to: [""] (the agent's own), or every one. */
static int datacenters(struct consul *c, json_t **dcs, char *errmsg, size_t len)
{
    struct orc_buf out = ORC_BUF_INIT;
    long status = 0;
    int rc = 0;

    if (!c->s.consul_cross_dc) {
        *dcs = json_pack("[s]", "");
        return *dcs ? 0 : ORC_ENOMEM;
    }
    rc = request(c, "GET", "/v1/catalog/datacenters", NULL, NULL, &status, &out, errmsg, len);
    *dcs = rc == 0 ? json_loads(orc_buf_str(&out), 0, NULL) : NULL;
    if (rc == 0 && (!json_is_array(*dcs) || json_array_size(*dcs) == 0 ||
                    json_array_size(*dcs) > CONSUL_MAX_DCS)) {
        orc_errf(errmsg, len, "consul /v1/catalog/datacenters: unexpected answer");
        json_decref(*dcs);
        *dcs = NULL;
        rc = ORC_EIO;
    }
    orc_buf_release(&out);
    return rc;
}

static int read_dc(struct consul *c,
                   const char *prefix,
                   const char *dc,
                   struct rec_kv_set *out,
                   char *errmsg,
                   size_t len)
{
    struct orc_buf path = ORC_BUF_INIT, body = ORC_BUF_INIT, v = ORC_BUF_INIT;
    json_t *arr = NULL, *e;
    long status = 0;
    size_t i;
    int rc;

    orc_buf_puts(&path, "/v1/kv/");
    escape_key(&path, prefix);
    orc_buf_puts(&path, "?recurse=true");
    rc = request(c, "GET", orc_buf_str(&path), dc, NULL, &status, &body, errmsg, len);
    if (rc == 0 && status == 200)
        arr = json_loads(orc_buf_str(&body), 0, NULL);
    json_array_foreach(arr, i, e)
    {
        const char *val = json_string_value(json_object_get(e, "Value"));
        orc_buf_reset(&v);
        if (rc == 0 && rec_kv_base64_decode(val ? val : "", &v) != 0)
            rc = ORC_EIO;
        if (rc == 0 && json_is_string(json_object_get(e, "Key")))
            rc = rec_kv_set_put(out, json_string_value(json_object_get(e, "Key")), orc_buf_str(&v));
    }
    json_decref(arr);
    orc_buf_release(&path);
    orc_buf_release(&body);
    orc_buf_release(&v);
    return rc;
}

/* Across data centers: a key whose value differs somewhere reads as mixed. */
static int merge_dc(struct rec_kv_set *out, const struct rec_kv_set *dc, bool first)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < dc->n; i++) {
        const char *have = rec_kv_set_get(out, dc->v[i].key);
        if (first || (have != NULL && strcmp(have, dc->v[i].value) == 0))
            rc = first ? rec_kv_set_put(out, dc->v[i].key, dc->v[i].value) : 0;
        else
            rc = rec_kv_set_put(out, dc->v[i].key, CONSUL_MIXED);
    }
    for (size_t i = 0; rc == 0 && !first && i < out->n; i++)
        if (rec_kv_set_get(dc, out->v[i].key) == NULL)
            rc = rec_kv_set_put(out, out->v[i].key, CONSUL_MIXED);
    return rc;
}

static int consul_read(void *st,
                       const char *prefix,
                       struct rec_kv_set *out,
                       char *errmsg,
                       size_t len)
{
    struct consul *c = st;
    json_t *dcs = NULL, *dc;
    size_t i;
    int rc = datacenters(c, &dcs, errmsg, len);

    json_array_foreach(dcs, i, dc)
    {
        struct rec_kv_set one;
        rec_kv_set_init(&one);
        if (rc == 0)
            rc = read_dc(c, prefix, json_string_value(dc), &one, errmsg, len);
        if (rc == 0)
            rc = merge_dc(out, &one, i == 0);
        rec_kv_set_release(&one);
    }
    json_decref(dcs);
    return rc;
}

/* Provider "consul": one request per key. */
static int write_keys(struct consul *c,
                      const char *dc,
                      const struct rec_kv_set *put,
                      const struct orc_strlist *del,
                      char *errmsg,
                      size_t len)
{
    struct orc_buf path = ORC_BUF_INIT, out = ORC_BUF_INIT;
    long status = 0;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < put->n + del->n; i++) {
        bool is_put = i < put->n;
        orc_buf_reset(&path);
        orc_buf_puts(&path, "/v1/kv/");
        escape_key(&path, is_put ? put->v[i].key : del->v[i - put->n]);
        rc = request(c, is_put ? "PUT" : "DELETE", orc_buf_str(&path), dc,
                     is_put ? put->v[i].value : NULL, &status, &out, errmsg, len);
    }
    orc_buf_release(&path);
    orc_buf_release(&out);
    return rc;
}

/* Provider "consul-txn": chunks of at most consul_max_txn operations. */
static int write_txn(struct consul *c,
                     const char *dc,
                     const struct rec_kv_set *put,
                     const struct orc_strlist *del,
                     char *errmsg,
                     size_t len)
{
    size_t max = c->s.consul_max_txn > 0 ? (size_t)c->s.consul_max_txn : 64;
    size_t p = 0, d = 0;
    struct orc_buf out = ORC_BUF_INIT;
    long status = 0;
    int rc = 0;

    while (rc == 0 && (p < put->n || d < del->n)) {
        size_t np = put->n - p < max ? put->n - p : max;
        size_t nd = del->n - d < max - np ? del->n - d : max - np;
        char *body = rec_kv_consul_txn_json(put, p, np, del, d, nd);
        rc = body ? request(c, "PUT", "/v1/txn", dc, body, &status, &out, errmsg, len) : ORC_ENOMEM;
        free(body);
        p += np;
        d += nd;
    }
    orc_buf_release(&out);
    return rc;
}

static int consul_write(void *st,
                        const struct rec_kv_set *put,
                        const struct orc_strlist *del,
                        char *errmsg,
                        size_t len)
{
    struct consul *c = st;
    json_t *dcs = NULL, *dc;
    size_t i;
    int rc = datacenters(c, &dcs, errmsg, len);

    json_array_foreach(dcs, i, dc)
    {
        if (rc == 0)
            rc = c->s.consul_txn ? write_txn(c, json_string_value(dc), put, del, errmsg, len)
                                 : write_keys(c, json_string_value(dc), put, del, errmsg, len);
    }
    json_decref(dcs);
    return rc;
}

static int consul_health(void *st, char *errmsg, size_t len)
{
    struct consul *c = st;
    struct orc_buf out = ORC_BUF_INIT;
    long status = 0;
    int rc = request(c, "GET", "/v1/status/leader", NULL, NULL, &status, &out, errmsg, len);

    if (rc == 0 && status != 200) {
        orc_errf(errmsg, len, "consul /v1/status/leader: HTTP %ld", status);
        rc = ORC_EIO;
    }
    orc_buf_release(&out);
    return rc;
}

const struct rec_kv_store_ops rec_kv_consul_ops = {
    "consul", consul_read, consul_write, consul_health, consul_free,
};
