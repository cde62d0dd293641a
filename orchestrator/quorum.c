/*
 * quorum: the leader's record of what its followers see failed, and the
 * follower's side of reporting it (one small HTTP GET to the leader).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/quorum.h"

void orc_quorum_init(struct orc_quorum *q)
{
    memset(q, 0, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
}

void orc_quorum_release(struct orc_quorum *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i].failed);
    pthread_mutex_destroy(&q->lock);
}

int orc_quorum_put(struct orc_quorum *q, const char *node, const char *failed)
{
    struct orc_buf b = ORC_BUF_INIT;
    size_t i;
    int rc = 0;

    orc_buf_printf(&b, ",%s,", failed ? failed : "");
    pthread_mutex_lock(&q->lock);
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
    char needle[ORC_KEY_STRLEN + 2];
    int64_t now = orc_mono_ms();
    int count = 0;

    snprintf(needle, sizeof(needle), ",%s,", key);
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
    orc_buf_printf(&url, "%s%s/api/raft-analysis-report/%s?failed=%s", uri, cfg->URLPrefix,
                   es ? es : "", ef ? ef : "");
    curl_free(ef);
    curl_free(es);
    curl_easy_setopt(c, CURLOPT_URL, orc_buf_str(&url));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 500L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
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
