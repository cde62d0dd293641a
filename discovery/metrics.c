/*
 * metrics: recent discovery figures kept in memory for the API's
 * discovery-metrics, discovery-queue-metrics, backend-query-metrics and
 * write-buffer-metrics routes (orchestrator's collections): one sample per
 * probe, one queue sample a second, one sample per backend write of the
 * instance writer. Each kind is a fixed ring (the oldest samples are dropped
 * first) also bounded by DISC_METRICS_RETENTION_S.
 *
 * Threads: every function takes t->metrics_lock (a leaf lock: never held
 * while taking another).
 */
#include <stdlib.h>
#include <string.h>

#include "discovery/topo_int.h"

static void *ring_slot(struct disc_metric_ring *r, size_t size)
{
    if (r->v == NULL) {
        r->v = calloc(DISC_METRICS_RING, size);
        if (r->v == NULL)
            return NULL;
    }
    void *slot = (char *)r->v + (r->head * size);
    r->head = (r->head + 1) % DISC_METRICS_RING;
    if (r->n < DISC_METRICS_RING)
        r->n++;
    return slot;
}

/* Copies the samples taken at or after since_ms (oldest first). */
static int ring_since(struct disc_metric_ring *r,
                      size_t size,
                      int64_t since_ms,
                      void **out,
                      size_t *n)
{
    size_t first = (r->head + DISC_METRICS_RING - r->n) % DISC_METRICS_RING, k = 0;
    char *dst;

    *out = NULL;
    *n = 0;
    if (r->n == 0)
        return 0;
    dst = malloc(r->n * size);
    if (dst == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        const char *src = (const char *)r->v + ((first + i) % DISC_METRICS_RING) * size;
        int64_t ts;
        memcpy(&ts, src, sizeof(ts)); /* every sample starts with its ts_ms */
        if (ts >= since_ms)
            memcpy(dst + (k++) * size, src, size);
    }
    *out = dst;
    *n = k;
    return 0;
}

void topo_metrics_probe(struct disc_topo *t,
                        const struct orc_key *key,
                        int64_t started_ms,
                        int64_t instance_us,
                        const char *err)
{
    struct disc_probe_metric *m;
    int64_t now = orc_wall_ms();

    pthread_mutex_lock(&t->metrics_lock);
    m = ring_slot(&t->probe_ring, sizeof(*m));
    if (m != NULL) {
        memset(m, 0, sizeof(*m));
        m->ts_ms = started_ms;
        m->key = *key;
        m->instance_us = instance_us;
        m->total_us = (now - started_ms) * 1000;
        if (m->total_us < instance_us)
            m->total_us = instance_us;
        if (err != NULL)
            orc_strlcpy(m->err, err[0] ? err : "probe failed", sizeof(m->err));
    }
    pthread_mutex_unlock(&t->metrics_lock);
}

void topo_metrics_queue(struct disc_topo *t, int active, int queued)
{
    struct disc_queue_metric *m;
    int64_t now = orc_wall_ms();

    pthread_mutex_lock(&t->metrics_lock);
    if (now - t->last_queue_sample_ms >= 1000) {
        t->last_queue_sample_ms = now;
        m = ring_slot(&t->queue_ring, sizeof(*m));
        if (m != NULL) {
            m->ts_ms = now;
            m->active = active;
            m->queued = queued;
        }
    }
    pthread_mutex_unlock(&t->metrics_lock);
}

void topo_metrics_write(struct disc_topo *t,
                        int64_t started_ms,
                        int64_t wait_us,
                        int64_t write_us,
                        size_t instances,
                        bool ok)
{
    struct disc_write_metric *m;

    pthread_mutex_lock(&t->metrics_lock);
    m = ring_slot(&t->write_ring, sizeof(*m));
    if (m != NULL) {
        m->ts_ms = started_ms;
        m->wait_us = wait_us;
        m->write_us = write_us;
        m->instances = instances;
        m->ok = ok;
    }
    pthread_mutex_unlock(&t->metrics_lock);
}

static int64_t since(int64_t seconds)
{
    if (seconds > DISC_METRICS_RETENTION_S)
        seconds = DISC_METRICS_RETENTION_S;
    return orc_wall_ms() - seconds * 1000;
}

static int copy_ring(struct disc_topo *t,
                     struct disc_metric_ring *ring,
                     size_t size,
                     int64_t seconds,
                     void **out,
                     size_t *n)
{
    int rc;

    pthread_mutex_lock(&t->metrics_lock);
    rc = ring_since(ring, size, since(seconds), out, n);
    pthread_mutex_unlock(&t->metrics_lock);
    return rc;
}

int disc_topo_probe_metrics(struct disc_topo *t,
                            int64_t seconds,
                            struct disc_probe_metric **out,
                            size_t *n)
{
    void *v;
    int rc = copy_ring(t, &t->probe_ring, sizeof(**out), seconds, &v, n);

    *out = v;
    return rc;
}

int disc_topo_queue_metrics(struct disc_topo *t,
                            int64_t seconds,
                            struct disc_queue_metric **out,
                            size_t *n)
{
    void *v;
    int rc = copy_ring(t, &t->queue_ring, sizeof(**out), seconds, &v, n);

    *out = v;
    return rc;
}

int disc_topo_write_metrics(struct disc_topo *t,
                            int64_t seconds,
                            struct disc_write_metric **out,
                            size_t *n)
{
    void *v;
    int rc = copy_ring(t, &t->write_ring, sizeof(**out), seconds, &v, n);

    *out = v;
    return rc;
}

void topo_metrics_release(struct disc_topo *t)
{
    free(t->probe_ring.v);
    free(t->queue_ring.v);
    free(t->write_ring.v);
    memset(&t->probe_ring, 0, sizeof(t->probe_ring));
    memset(&t->queue_ring, 0, sizeof(t->queue_ring));
    memset(&t->write_ring, 0, sizeof(t->write_ring));
}
