/*
 * quorum: the leader's record of what its followers see failed (and of their
 * config fingerprints), and the follower's side of reporting it (one small
 * HTTP GET to the leader).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/quorum.h"
#include "web/web.h"

void orc_quorum_init(struct orc_quorum *q, int default_port)
{
    memset(q, 0, sizeof(*q));
    q->default_port = default_port > 0 ? default_port : 3306;
    pthread_mutex_init(&q->lock, NULL);
}

void orc_quorum_release(struct orc_quorum *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i].failed);
    pthread_mutex_destroy(&q->lock);
}

int orc_quorum_key_norm(const char *key, int default_port, char *out, size_t len)
{
    char buf[ORC_KEY_STRLEN + 16];
    const char *s = key;
    size_t n;
    struct orc_key k;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof(buf))
        return ORC_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (orc_key_parse(buf, default_port, &k) != 0)
        return ORC_EINVAL;
    for (char *h = k.host; *h; h++)
        if (*h >= 'A' && *h <= 'Z')
            *h = (char)(*h - 'A' + 'a');
    return orc_key_str(&k, out, len) ? 0 : ORC_EINVAL;
}

int orc_quorum_normalize(const char *list, int default_port, struct orc_buf *out)
{
    const char *p = list ? list : "";
    char item[ORC_KEY_STRLEN + 16], key[ORC_KEY_STRLEN];
    int rc = orc_buf_puts(out, ",");

    while (rc == 0 && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        bool blank = strspn(p, " \t") >= n;

        if (n >= sizeof(item))
            return ORC_EINVAL;
        memcpy(item, p, n);
        item[n] = '\0';
        if (!blank) {
            rc = orc_quorum_key_norm(item, default_port, key, sizeof(key));
            if (rc == 0)
                rc = orc_buf_printf(out, "%s,", key);
        }
        p += comma ? n + 1 : n;
    }
    return rc;
}

/* The host part of a raft address "a.b.c.d:port" into out. */
static int addr_host(const char *addr, char *out, size_t len)
{
    const char *colon = strrchr(addr, ':');
    size_t n = colon ? (size_t)(colon - addr) : strlen(addr);

    if (n == 0 || n >= len)
        return ORC_EINVAL;
    memcpy(out, addr, n);
    out[n] = '\0';
    return 0;
}

int orc_quorum_check_reporter(const char *from,
                              const char *source_ip,
                              const char *self,
                              const char *const *members,
                              size_t nmembers,
                              char *errmsg,
                              size_t len)
{
    char host[ORC_KEY_STRLEN];
    const char *ip = source_ip ? source_ip : "";
    bool member = false;

    if (strncmp(ip, "::ffff:", 7) == 0)
        ip += 7;
    for (size_t i = 0; i < nmembers && !member; i++)
        member = strcmp(members[i], from) == 0;
    if (!member || (self != NULL && strcmp(from, self) == 0)) {
        orc_errf(errmsg, len, "'%s' is not a raft member that may report", from);
        return ORC_EPERM;
    }
    if (addr_host(from, host, sizeof(host)) != 0 || strcmp(host, ip) != 0) {
        orc_errf(errmsg, len, "report for '%s' came from '%s', not from that member", from, ip);
        return ORC_EPERM;
    }
    return 0;
}

/* Frees the slots of reports older than ORC_QUORUM_KEEP_MS (lock held). */
static void prune(struct orc_quorum *q, int64_t now)
{
    size_t i = 0;

    while (i < q->n) {
        if (now - q->v[i].at_ms <= ORC_QUORUM_KEEP_MS) {
            i++;
            continue;
        }
        free(q->v[i].failed);
        q->v[i] = q->v[--q->n];
        memset(&q->v[q->n], 0, sizeof(q->v[q->n]));
    }
}

static bool fingerprint_ok(const char *fp)
{
    size_t n = strspn(fp, "0123456789abcdef");

    return fp[n] == '\0' && n < ORC_QUORUM_FP_MAX;
}

int orc_quorum_put(struct orc_quorum *q,
                   const char *node,
                   const char *failed,
                   const char *config,
                   char prev[ORC_QUORUM_FP_MAX])
{
    struct orc_buf b = ORC_BUF_INIT;
    size_t i;
    int rc = 0;

    if (prev != NULL)
        prev[0] = '\0';
    if ((failed != NULL && strlen(failed) > ORC_QUORUM_REPORT_MAX) ||
        (config != NULL && !fingerprint_ok(config)))
        return ORC_EINVAL;
    rc = orc_quorum_normalize(failed, q->default_port, &b);
    if (rc != 0) {
        orc_buf_release(&b);
        return rc;
    }
    pthread_mutex_lock(&q->lock);
    prune(q, orc_mono_ms());
    for (i = 0; i < q->n; i++)
        if (strcmp(q->v[i].node, node) == 0)
            break;
    if (i == q->n && q->n == ORC_QUORUM_MAX_NODES) {
        rc = ORC_ENOMEM;
    } else {
        if (i == q->n) {
            orc_strlcpy(q->v[i].node, node, sizeof(q->v[i].node));
            q->n++;
        }
        free(q->v[i].failed);
        q->v[i].failed = orc_buf_detach(&b);
        q->v[i].at_ms = orc_mono_ms();
        if (prev != NULL)
            orc_strlcpy(prev, q->v[i].config, ORC_QUORUM_FP_MAX);
        orc_strlcpy(q->v[i].config, config ? config : "", sizeof(q->v[i].config));
    }
    pthread_mutex_unlock(&q->lock);
    orc_buf_release(&b);
    return rc;
}

int orc_quorum_agreeing(struct orc_quorum *q,
                        const char *key,
                        const char *const *nodes,
                        size_t nnodes,
                        int64_t fresh_ms)
{
    char needle[ORC_KEY_STRLEN + 2], norm[ORC_KEY_STRLEN];
    int64_t now = orc_mono_ms();
    int count = 0;

    if (orc_quorum_key_norm(key, q->default_port, norm, sizeof(norm)) != 0)
        return 0;
    snprintf(needle, sizeof(needle), ",%s,", norm);
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < q->n; i++) {
        bool member = false;
        for (size_t k = 0; k < nnodes && !member; k++)
            member = strcmp(nodes[k], q->v[i].node) == 0;
        if (member && now - q->v[i].at_ms <= fresh_ms && strstr(q->v[i].failed, needle))
            count++;
    }
    pthread_mutex_unlock(&q->lock);
    return count;
}

int orc_quorum_config_mismatch(struct orc_quorum *q,
                               const char *mine,
                               const char *const *nodes,
                               size_t nnodes,
                               int64_t fresh_ms,
                               struct orc_buf *out)
{
    int64_t now = orc_mono_ms();
    int count = 0;

    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < q->n; i++) {
        bool member = false;

        for (size_t k = 0; k < nnodes && !member; k++)
            member = strcmp(nodes[k], q->v[i].node) == 0;
        if (!member || now - q->v[i].at_ms > fresh_ms || q->v[i].config[0] == '\0' ||
            strcmp(q->v[i].config, mine) == 0)
            continue;
        if (out != NULL)
            orc_buf_printf(out, "%s%s", count ? "," : "", q->v[i].node);
        count++;
    }
    pthread_mutex_unlock(&q->lock);
    return count;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

int orc_quorum_send(const struct orc_config *cfg,
                    const char *uri,
                    const char *self,
                    const char *failed,
                    const char *config,
                    char *errmsg,
                    size_t len)
{
    struct orc_buf url = ORC_BUF_INIT;
    CURL *c = curl_easy_init();
    char *ef, *es;
    long status = 0;
    CURLcode rc;

    if (c == NULL)
        return ORC_ENOMEM;
    ef = curl_easy_escape(c, failed, 0);
    es = curl_easy_escape(c, self, 0);
    orc_buf_printf(&url, "%s%s/api/raft-analysis-report/%s?failed=%s&config=%s", uri,
                   cfg->URLPrefix, es ? es : "", ef ? ef : "", config);
    curl_free(ef);
    curl_free(es);
    curl_easy_setopt(c, CURLOPT_URL, orc_buf_str(&url));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 500L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    web_curl_tls(c, cfg, NULL, NULL, NULL); /* HTTPS leader: CA, client certificate */
    if (cfg->HTTPAuthUser[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->HTTPAuthUser);
        curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->HTTPAuthPassword);
    }
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    orc_buf_release(&url);
    if (rc != CURLE_OK || status != 200) {
        orc_errf(errmsg, len, "report to the leader at '%s': %s", uri,
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "not accepted");
        return ORC_EIO;
    }
    return 0;
}
