/*
 * kv_etcd: etcd v3 through its HTTP/JSON gateway (/v3/kv/range, /v3/kv/txn,
 * /v3/auth/authenticate, /health). One transaction per write, so a watcher
 * sees every key of a cluster change in one revision. Several endpoints: a
 * request that gets no answer goes to the next one, and the one that
 * answered is tried first next time. With a user, a token is fetched and
 * renewed when etcd says it is invalid or expired.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "recovery/kv.h"

#define ETCD_MAX_ENDPOINTS 16

struct etcd {
    struct rec_kv_settings s; /* copy */
    char *ep[ETCD_MAX_ENDPOINTS];
    size_t nep, cur;
    char token[512]; /* "" until authenticated */
    bool auth_off;   /* the cluster answered that authentication is not enabled */
};

static void etcd_free(void *arg)
{
    struct etcd *e = arg;

    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nep; i++)
        free(e->ep[i]);
    memset(e->s.etcd_password, 0, sizeof(e->s.etcd_password));
    free(e);
}

/* "host:port" gets a scheme: https when a CA or client certificate is set. */
static int add_endpoint(struct etcd *e, const char *s, size_t n)
{
    struct orc_buf b = ORC_BUF_INIT;
    bool tls = e->s.etcd_cacert[0] || e->s.etcd_cert[0];

    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '/'))
        n--;
    if (n == 0)
        return 0;
    if (e->nep == ETCD_MAX_ENDPOINTS)
        return ORC_EINVAL;
    if (memmem(s, n, "://", 3) == NULL && orc_buf_puts(&b, tls ? "https://" : "http://") != 0)
        return ORC_ENOMEM;
    if (orc_buf_append(&b, s, n) != 0)
        return ORC_ENOMEM;
    e->ep[e->nep++] = orc_buf_detach(&b);
    return 0;
}

int rec_kv_etcd_new(const struct rec_kv_settings *s, void **st, char *errmsg, size_t len)
{
    struct etcd *e = calloc(1, sizeof(*e));
    const char *p;

    if (e == NULL)
        return ORC_ENOMEM;
    e->s = *s;
    for (p = s->etcd_endpoints; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (add_endpoint(e, p, n) != 0) {
            orc_errf(errmsg, len, "etcd endpoints: too many or out of memory");
            etcd_free(e);
            return ORC_ECONFIG;
        }
        p += n + (comma != NULL);
    }
    if (e->nep == 0) {
        orc_errf(errmsg, len, "etcd endpoints: none in '%s'", s->etcd_endpoints);
        etcd_free(e);
        return ORC_ECONFIG;
    }
    *st = e;
    return 0;
}

/* One request to endpoint i. */
static int call_one(struct etcd *e,
                    size_t i,
                    const char *method,
                    const char *path,
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
    orc_buf_printf(&url, "%s%s", e->ep[i], path);
    if (e->token[0])
        orc_buf_printf(&hdr, "Authorization: %s", e->token);
    h.method = method;
    h.url = orc_buf_str(&url);
    h.body = body;
    h.header = e->token[0] ? orc_buf_str(&hdr) : NULL;
    h.cacert = e->s.etcd_cacert;
    h.cert = e->s.etcd_cert;
    h.key = e->s.etcd_key;
    h.connect_timeout_ms = e->s.connect_timeout_ms;
    h.timeout_ms = e->s.timeout_ms;
    orc_buf_reset(out);
    rc = rec_kv_http_do(&h, status, out, errmsg, len);
    orc_buf_release(&url);
    orc_buf_release(&hdr);
    return rc;
}

/* Tries every endpoint, starting with the last one that answered. */
static int call_any(struct etcd *e,
                    const char *method,
                    const char *path,
                    const char *body,
                    long *status,
                    struct orc_buf *out,
                    char *errmsg,
                    size_t len)
{
    int rc = ORC_EIO;

    for (size_t k = 0; k < e->nep; k++) {
        size_t i = (e->cur + k) % e->nep;
        rc = call_one(e, i, method, path, body, status, out, errmsg, len);
        if (rc == 0) {
            e->cur = i;
            return 0;
        }
        ORC_LOG_D("+kv-etcd-endpoint-failed", "endpoint=%s error=\"%s\"", e->ep[i], errmsg);
    }
    return rc;
}

static int authenticate(struct etcd *e, char *errmsg, size_t len)
{
    struct orc_buf out = ORC_BUF_INIT;
    json_t *req = json_pack("{s:s, s:s}", "name", e->s.etcd_user, "password", e->s.etcd_password);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_t *ans = NULL;
    long status = 0;
    int rc;

    e->token[0] = '\0';
    rc = body ? call_any(e, "POST", "/v3/auth/authenticate", body, &status, &out, errmsg, len)
              : ORC_ENOMEM;
    if (body != NULL)
        memset(body, 0, strlen(body)); /* it held the password */
    free(body);
    json_decref(req);
    if (rc == 0)
        ans = json_loads(orc_buf_str(&out), 0, NULL);
    if (rc == 0 && status != 200 && strstr(orc_buf_str(&out), "authentication is not enabled")) {
        ORC_LOG_W("+kv-etcd-auth-off",
                  "user=%s: authentication is not enabled in etcd; going on "
                  "without a token",
                  e->s.etcd_user);
        e->auth_off = true;
        json_decref(ans);
        orc_buf_release(&out);
        return 0;
    }
    if (rc == 0 && (status != 200 || !json_is_string(json_object_get(ans, "token")))) {
        orc_errf(errmsg, len, "etcd authentication of user '%s' failed: HTTP %ld %s",
                 e->s.etcd_user, status, json_string_value(json_object_get(ans, "message")));
        rc = ORC_EPERM;
    }
    if (rc == 0)
        orc_strlcpy(e->token, json_string_value(json_object_get(ans, "token")), sizeof(e->token));
    json_decref(ans);
    orc_buf_release(&out);
    return rc;
}

static bool token_refused(long status, const char *body)
{
    return status == 401 || (status >= 400 && (strstr(body, "invalid auth token") != NULL ||
                                               strstr(body, "user name is empty") != NULL));
}

/* A gateway call with authentication; *ans is the parsed 200 answer. */
static int call(struct etcd *e,
                const char *path,
                const char *body,
                json_t **ans,
                char *errmsg,
                size_t len)
{
    struct orc_buf out = ORC_BUF_INIT;
    long status = 0;
    int rc = 0;

    if (e->s.etcd_user[0] && e->token[0] == '\0' && !e->auth_off)
        rc = authenticate(e, errmsg, len);
    if (rc == 0)
        rc = call_any(e, "POST", path, body, &status, &out, errmsg, len);
    if (rc == 0 && e->s.etcd_user[0] && token_refused(status, orc_buf_str(&out))) {
        e->auth_off = false; /* auth enabled since: authenticate again */
        rc = authenticate(e, errmsg, len);
        if (rc == 0)
            rc = call_any(e, "POST", path, body, &status, &out, errmsg, len);
    }
    if (rc == 0 && status != 200) {
        orc_errf(errmsg, len, "etcd %s: HTTP %ld: %.200s", path, status, orc_buf_str(&out));
        rc = status == 401 || status == 403 ? ORC_EPERM : ORC_EIO;
    }
    if (rc == 0 && (*ans = json_loads(orc_buf_str(&out), 0, NULL)) == NULL) {
        orc_errf(errmsg, len, "etcd %s: answer is not JSON", path);
        rc = ORC_EIO;
    }
    orc_buf_release(&out);
    return rc;
}

static int decode_into(const char *b64s, struct orc_buf *out)
{
    orc_buf_reset(out);
    return rec_kv_base64_decode(b64s ? b64s : "", out);
}

static int etcd_read(void *arg,
                     const char *prefix,
                     struct rec_kv_set *out,
                     char *errmsg,
                     size_t len)
{
    struct etcd *e = arg;
    struct orc_buf k = ORC_BUF_INIT, end = ORC_BUF_INIT, v = ORC_BUF_INIT, eb = ORC_BUF_INIT;
    json_t *req, *ans = NULL, *kv;
    char *body = NULL;
    size_t i;
    int rc;

    rc = rec_kv_base64_encode(prefix, strlen(prefix), &k);
    if (rc == 0)
        rc = rec_kv_prefix_end(prefix, &end);
    if (rc == 0)
        rc = rec_kv_base64_encode(end.data, strlen(prefix) ? end.len : 1, &eb);
    req = json_pack("{s:s, s:s}", "key", orc_buf_str(&k), "range_end", orc_buf_str(&eb));
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    if (rc == 0)
        rc = body ? call(e, "/v3/kv/range", body, &ans, errmsg, len) : ORC_ENOMEM;
    json_array_foreach(json_object_get(ans, "kvs"), i, kv)
    {
        if (rc == 0)
            rc = decode_into(json_string_value(json_object_get(kv, "key")), &k);
        if (rc == 0)
            rc = decode_into(json_string_value(json_object_get(kv, "value")), &v);
        if (rc == 0)
            rc = rec_kv_set_put(out, orc_buf_str(&k), orc_buf_str(&v));
    }
    json_decref(ans);
    json_decref(req);
    free(body);
    orc_buf_release(&k);
    orc_buf_release(&end);
    orc_buf_release(&eb);
    orc_buf_release(&v);
    return rc;
}

static int etcd_write(void *arg,
                      const struct rec_kv_set *put,
                      const struct orc_strlist *del,
                      char *errmsg,
                      size_t len)
{
    struct etcd *e = arg;
    char *body = rec_kv_etcd_txn_json(put, del);
    json_t *ans = NULL;
    int rc = body ? call(e, "/v3/kv/txn", body, &ans, errmsg, len) : ORC_ENOMEM;

    if (rc == 0 && json_is_false(json_object_get(ans, "succeeded"))) {
        orc_errf(errmsg, len, "etcd txn did not succeed");
        rc = ORC_EIO;
    }
    json_decref(ans);
    free(body);
    return rc;
}

static int etcd_health(void *arg, char *errmsg, size_t len)
{
    struct etcd *e = arg;
    struct orc_buf out = ORC_BUF_INIT;
    long status = 0;
    int rc = call_any(e, "GET", "/health", NULL, &status, &out, errmsg, len);

    if (rc == 0 && (status != 200 || strstr(orc_buf_str(&out), "\"true\"") == NULL)) {
        orc_errf(errmsg, len, "etcd /health: HTTP %ld %.200s", status, orc_buf_str(&out));
        rc = ORC_EIO;
    }
    orc_buf_release(&out);
    return rc;
}

const struct rec_kv_store_ops rec_kv_etcd_ops = {
    "etcd", etcd_read, etcd_write, etcd_health, etcd_free,
};
