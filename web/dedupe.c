/*
 * dedupe: mutating requests are safe to retry. A write request that carries
 * X-Request-Id (a follower's proxy adds one when the client sent none) runs
 * once per id: a retry of a finished request gets the stored answer, a retry
 * of one still running waits for it (bounded) and gets its answer. So a
 * client that retries a takeover after a 502 never starts a second one.
 *
 * The table is bounded (WEB_DEDUPE_MAX ids, each kept WEB_DEDUPE_TTL_MS);
 * when full, the oldest finished id is forgotten.
 *
 * Threads: any libmicrohttpd thread; the table has its own lock.
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "web/web_int.h"

int web_dedupe_init(struct web_dedupe *d)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    return orc_cond_init(&d->cv) == 0 ? 0 : ORC_ENOMEM;
}

void web_dedupe_release(struct web_dedupe *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].body);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
}

static struct web_dedupe_entry *find(struct web_dedupe *d, const char *id)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->v[i].id, id) == 0)
            return &d->v[i];
    return NULL;
}

static void drop(struct web_dedupe *d, size_t i)
{
    free(d->v[i].body);
    d->v[i] = d->v[--d->n];
    memset(&d->v[d->n], 0, sizeof(d->v[d->n]));
}

/* Forgets expired ids, then the oldest finished one while full (lock held). */
static void make_room(struct web_dedupe *d, int64_t now_ms)
{
    size_t i = 0, oldest = d->n;

    while (i < d->n) {
        if (d->v[i].done && now_ms - d->v[i].at_ms > WEB_DEDUPE_TTL_MS)
            drop(d, i);
        else
            i++;
    }
    if (d->n < WEB_DEDUPE_MAX)
        return;
    for (i = 0; i < d->n; i++)
        if (d->v[i].done && (oldest == d->n || d->v[i].at_ms < d->v[oldest].at_ms))
            oldest = i;
    if (oldest < d->n)
        drop(d, oldest);
}

static void copy_answer(const struct web_dedupe_entry *e, struct web_dedupe_answer *out)
{
    out->status = e->status;
    out->content_type = e->content_type;
    out->body = NULL;
    out->len = e->len;
    if (e->len > 0 && (out->body = malloc(e->len)) != NULL)
        memcpy(out->body, e->body, e->len);
    if (out->body == NULL)
        out->len = 0;
}

int web_dedupe_begin(struct web_dedupe *d,
                     const char *id,
                     uint64_t req_hash,
                     int64_t wait_ms,
                     struct web_dedupe_answer *out)
{
    struct web_dedupe_entry *e;
    struct timespec ts;
    int rc = WEB_DEDUPE_NEW;

    if (id == NULL || *id == '\0' || strlen(id) >= sizeof(d->v[0].id))
        return WEB_DEDUPE_UNTRACKED;
    orc_deadline(&ts, wait_ms);
    pthread_mutex_lock(&d->mu);
    e = find(d, id);
    while (e != NULL && !e->done && e->req_hash == req_hash) {
        if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
            break;
        e = find(d, id);
    }
    if (e != NULL && e->req_hash != req_hash) {
        rc = WEB_DEDUPE_CONFLICT;
    } else if (e != NULL && e->done) {
        copy_answer(e, out);
        rc = WEB_DEDUPE_DONE;
    } else if (e != NULL) {
        rc = WEB_DEDUPE_BUSY;
    } else {
        make_room(d, orc_mono_ms());
        if (d->n < WEB_DEDUPE_MAX) {
            e = &d->v[d->n++];
            memset(e, 0, sizeof(*e));
            orc_strlcpy(e->id, id, sizeof(e->id));
            e->req_hash = req_hash;
            e->at_ms = orc_mono_ms();
        } else {
            rc = WEB_DEDUPE_UNTRACKED; /* every slot is running: serve it untracked */
        }
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

void web_dedupe_finish(struct web_dedupe *d,
                       const char *id,
                       int status,
                       const char *content_type,
                       const char *body,
                       size_t len)
{
    struct web_dedupe_entry *e;

    pthread_mutex_lock(&d->mu);
    e = find(d, id);
    if (e != NULL && !e->done) {
        e->done = true;
        e->at_ms = orc_mono_ms();
        e->status = status;
        e->content_type = content_type;
        e->body = len > 0 ? malloc(len) : NULL;
        e->len = e->body != NULL ? len : 0;
        if (e->body != NULL)
            memcpy(e->body, body, len);
    }
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

/* The request's identity besides its id: method and URL with its query. */
static enum MHD_Result hash_arg(void *arg, enum MHD_ValueKind kind, const char *k, const char *v)
{
    uint64_t *h = arg;

    (void)kind;
    *h = orc_fnv1a_str(orc_fnv1a_str(*h, k), v);
    return MHD_YES;
}

void web_dedupe_serve(struct web_dedupe *d, struct web_req *r, void (*fn)(struct web_req *))
{
    const char *id = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, WEB_REQUEST_ID);
    uint64_t h = orc_fnv1a_str(orc_fnv1a_str(ORC_FNV1A_INIT, r->method), r->url);
    struct web_dedupe_answer a = {0};
    int rc;

    if (id == NULL) {
        fn(r);
        return;
    }
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, hash_arg, &h);
    rc = web_dedupe_begin(d, id, h, web_proxy_timeout_s(r->deps->cfg) * 1000, &a);
    if (rc == WEB_DEDUPE_DONE) {
        ORC_LOG_N("+request-replayed", "id=%s path=%s status=%d", id, r->url, a.status);
        web_reply_raw(r, a.status, a.content_type, a.body ? a.body : "", a.len);
        free(a.body);
    } else if (rc == WEB_DEDUPE_BUSY) {
        web_reply_error(r, 409, "request '%s' is still running; retry later", id);
    } else if (rc == WEB_DEDUPE_CONFLICT) {
        web_reply_error(r, 409, "request id '%s' was used for another request", id);
    } else {
        fn(r);
        if (rc == WEB_DEDUPE_NEW)
            web_dedupe_finish(d, id, r->status, r->content_type, r->body.data, r->body.len);
    }
}
