/*
 * raft_apply: the raft_fsm vtable and the applier thread.
 *
 * libraft 0.15 calls the FSM synchronously on the loop thread. Applying a
 * command writes the backend (SQLite or MySQL: blocking, sometimes slow), so
 * the loop only copies each committed entry into a queue, in log order, and
 * returns 0 at once; the applier thread applies the queue to the FSM. Raft's
 * own bookkeeping (last_applied) thus runs ahead of the backend by the queue
 * length, which is harmless because:
 *   - a submitter waits for the applier (by log index), not for raft;
 *   - a new leader acts only once the applier has drained past a barrier of
 *     its own term (raft.c: readiness);
 *   - a snapshot is a DUMP item in the same queue, so it holds exactly the
 *     entries up to raft's snapshot index. The loop only queues it (fsm
 *     version 3: raft's asynchronous snapshots); raft's work thread waits
 *     for the document, so the loop never stalls on a dump;
 *   - a restore is a RESTORE item in the same queue, ordered with commands.
 * An entry the backend fails to apply is retried with backoff, never
 * skipped; after ORC_RAFT_APPLY_RETRY_MS the node reports itself unhealthy
 * and gives leadership away until it applies again. An entry of another raft
 * log (foreign store) stops the applier for good.
 * Raft-level ops ("leader-uri", "raft-snapshot") are handled here, every
 * other op goes to orc_fsm_apply_index().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orchestrator/fsm.h"
#include "orchestrator/fsm_snapshot.h"
#include "orchestrator/raft_int.h"

/* Longest wait of raft's work thread for a snapshot document. */
#define ORC_RAFT_DUMP_WAIT_MS 20000
/* Backoff of an entry the backend failed to apply, and how long it is
 * retried before the node calls itself unhealthy (it keeps retrying). */
#define ORC_RAFT_RETRY_FIRST_MS 50
#define ORC_RAFT_RETRY_MAX_MS 2000
#define ORC_RAFT_APPLY_RETRY_MS 15000

/* Queues an item; returns its sequence number. Takes ownership of it. */
static uint64_t enqueue(struct orc_raft *r, struct orc_raft_item *it)
{
    uint64_t seq;

    pthread_mutex_lock(&r->alock);
    seq = it->seq = ++r->enq_seq;
    it->next = NULL;
    if (r->atail)
        r->atail->next = it;
    else
        r->ahead = it;
    r->atail = it;
    pthread_cond_signal(&r->acv);
    pthread_mutex_unlock(&r->alock);
    return seq;
}

/* ---- the raft_fsm vtable (loop thread) ---- */

/* The term of the entry at index in raft's in-memory log (0.15 keeps the
 * whole log since the last snapshot in memory); 0 when not there. */
static raft_term entry_term(const struct raft *raft, raft_index index)
{
    const struct raft_log *l = &raft->log;
    size_t n;

    if (index == l->snapshot.last_index && index != 0)
        return l->snapshot.last_term;
    if (l->size == 0)
        return 0;
    n = l->back >= l->front ? l->back - l->front : l->size - l->front + l->back;
    if (index <= l->offset || index > l->offset + n)
        return 0;
    return l->entries[(l->front + (size_t)(index - 1 - l->offset)) % l->size].term;
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct orc_raft *r = fsm->data;
    struct orc_raft_item *it = calloc(1, sizeof(*it));

    *result = NULL;
    if (it != NULL)
        it->data = malloc(buf->len ? buf->len : 1);
    if (it == NULL || it->data == NULL) {
        /* Cannot happen short of memory exhaustion; this node's state would
         * diverge, so say it loudly. Raft needs 0 here regardless. */
        ORC_LOG_E("+raft-apply-dropped", "index=%llu error=\"out of memory\"",
                  (unsigned long long)raft_last_applied(&r->raft) + 1);
        free(it);
        return 0;
    }
    memcpy(it->data, buf->base, buf->len);
    it->len = buf->len;
    it->kind = ORC_RITEM_CMD;
    /* raft applies in log order and sets last_applied after this returns. */
    it->index = raft_last_applied(&r->raft) + 1;
    it->term = entry_term(&r->raft, it->index);
    /* A forced snapshot ("raft-snapshot" route) replicates this op: seeing it
     * here lowers the threshold so raft snapshots right after this apply. */
    if (buf->len > 20 &&
        memmem(buf->base, 32 < buf->len ? 32 : buf->len, "\"raft-snapshot\"", 15) != NULL)
        raft_set_snapshot_threshold(&r->raft, 1);
    enqueue(r, it);
    return 0;
}

/* Loop thread: queues a DUMP behind every entry applied so far, so the
 * document holds exactly raft's snapshot index. Never waits. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct orc_raft *r = fsm->data;
    struct orc_raft_item *it = calloc(1, sizeof(*it));
    uint64_t seq;

    *bufs = NULL;
    *n_bufs = 0;
    if (it == NULL)
        return RAFT_BUSY;
    it->kind = ORC_RITEM_DUMP;
    seq = enqueue(r, it);
    pthread_mutex_lock(&r->alock);
    r->snap_seq = seq;
    pthread_mutex_unlock(&r->alock);
    return 0;
}

/* Raft's work thread (uv_queue_work): waits for the applier's document and
 * hands raft a copy. Waiting here delays nothing but this snapshot. */
static int fsm_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct orc_raft *r = fsm->data;
    struct timespec ts;
    void *copy = NULL;
    bool ready;
    size_t n;

    orc_deadline(&ts, ORC_RAFT_DUMP_WAIT_MS);
    pthread_mutex_lock(&r->alock);
    while (r->dump_seq != r->snap_seq && !r->astop)
        if (pthread_cond_timedwait(&r->adone, &r->alock, &ts) == ETIMEDOUT)
            break;
    ready = r->dump_seq == r->snap_seq && r->dump_rc == 0;
    n = r->dump.len;
    if (ready && (copy = raft_malloc(orc_raft_pad8(n))) != NULL) {
        memset(copy, ' ', orc_raft_pad8(n));
        memcpy(copy, r->dump.data, n);
    }
    pthread_mutex_unlock(&r->alock);
    if (copy == NULL || (*bufs = raft_malloc(sizeof(**bufs))) == NULL) {
        ORC_LOG_W("+raft-snapshot-deferred", "reason=\"%s\"",
                  ready ? "out of memory" : "the applier is busy or the dump failed");
        raft_free(copy);
        *n_bufs = 0;
        return RAFT_BUSY;
    }
    (*bufs)[0].base = copy;
    (*bufs)[0].len = orc_raft_pad8(n);
    *n_bufs = 1;
    return 0;
}

/* Called once the snapshot was written (or failed to be). */
static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct orc_raft *r = fsm->data;
    size_t n = 0;

    for (unsigned i = 0; i < *n_bufs; i++) {
        n += (*bufs)[i].len;
        raft_free((*bufs)[i].base);
    }
    raft_free(*bufs);
    *bufs = NULL;
    *n_bufs = 0;
    raft_set_snapshot_threshold(&r->raft, r->threshold);
    if (n > 0)
        ORC_LOG_N("+raft-snapshot", "index=%llu bytes=%zu",
                  (unsigned long long)raft_last_applied(&r->raft), n);
    if (r->snap != NULL) {
        if (n > 0)
            orc_raft_req_complete(r->snap, 0, NULL, NULL);
        else
            orc_raft_req_complete(r->snap, ORC_ESTATE, NULL, "the snapshot was not taken");
        orc_raft_req_put(r->snap);
        r->snap = NULL;
    }
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct orc_raft *r = fsm->data;
    struct orc_raft_item *it = calloc(1, sizeof(*it));

    if (it == NULL)
        return RAFT_NOMEM;
    it->kind = ORC_RITEM_RESTORE;
    it->data = buf->base; /* ownership passes to the FSM on success */
    it->len = buf->len;
    enqueue(r, it);
    return 0;
}

void orc_raft_fsm_setup(struct orc_raft *r)
{
    memset(&r->rfsm, 0, sizeof(r->rfsm));
    r->rfsm.version = 3;
    r->rfsm.data = r;
    r->rfsm.apply = fsm_apply;
    r->rfsm.snapshot = fsm_snapshot;
    r->rfsm.snapshot_async = fsm_snapshot_async;
    r->rfsm.snapshot_finalize = fsm_snapshot_finalize;
    r->rfsm.restore = fsm_restore;
}

/* ---- the applier thread ---- */

/* Takes the waiter for index out of the list, or NULL. */
static struct orc_raft_req *take_waiter(struct orc_raft *r, raft_index index)
{
    struct orc_raft_req **pp, *q = NULL;

    pthread_mutex_lock(&r->alock);
    for (pp = &r->waiters; *pp != NULL; pp = &(*pp)->wnext) {
        if ((*pp)->index == index) {
            q = *pp;
            *pp = q->wnext;
            q->wnext = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&r->alock);
    return q;
}

static void record_uri(struct orc_raft *r, const json_t *v)
{
    const char *uri = json_string_value(json_object_get(v, "URI"));
    const char *addr = json_string_value(json_object_get(v, "RaftAdvertise"));

    if (uri != NULL && addr != NULL)
        orc_raft_uri_record(r, addr, uri);
}

static void record_removed(struct orc_raft *r, const json_t *v)
{
    const char *addr = json_string_value(json_object_get(v, "Address"));
    const json_t *at = json_object_get(v, "At");

    if (addr != NULL && json_is_integer(at))
        orc_raft_removed_record(r, addr, (int64_t)json_integer_value(at));
}

/* ---- the applier's health (alock) ---- */

bool orc_raft_applier_healthy(struct orc_raft *r, char *err, size_t len)
{
    bool ok;

    pthread_mutex_lock(&r->alock);
    ok = !r->apply_failing && !r->apply_fatal;
    if (!ok && err != NULL)
        orc_errf(err, len, "%s entry %llu: %s",
                 r->apply_fatal ? "stopped applying at" : "cannot apply",
                 (unsigned long long)r->apply_stuck_index, r->apply_error);
    pthread_mutex_unlock(&r->alock);
    return ok;
}

static bool applier_fatal(struct orc_raft *r, char *err, size_t len)
{
    bool fatal;

    pthread_mutex_lock(&r->alock);
    fatal = r->apply_fatal;
    if (fatal)
        orc_errf(err, len, "this node stopped applying the raft log at entry %llu: %s",
                 (unsigned long long)r->apply_stuck_index, r->apply_error);
    pthread_mutex_unlock(&r->alock);
    return fatal;
}

/* Records the state of the entry being applied: rc 0 applied, ORC_ESTATE
 * fatal, anything else a backend failure age_ms into its retries. */
static void applier_note(struct orc_raft *r,
                         raft_index index,
                         int rc,
                         const char *err,
                         int64_t age_ms)
{
    bool was_failing, first;

    pthread_mutex_lock(&r->alock);
    was_failing = r->apply_failing;
    first = r->apply_stuck_index != index;
    if (rc == 0) {
        r->apply_failing = false;
        r->apply_stuck_index = 0;
    } else {
        r->apply_stuck_index = index;
        orc_strlcpy(r->apply_error, err, sizeof(r->apply_error));
        r->apply_fatal = r->apply_fatal || rc == ORC_ESTATE;
        r->apply_failing = r->apply_failing || age_ms >= ORC_RAFT_APPLY_RETRY_MS;
    }
    pthread_mutex_unlock(&r->alock);
    if (rc == 0 && was_failing)
        ORC_LOG_N("+raft-apply-resumed", "index=%llu", (unsigned long long)index);
    else if (rc == ORC_ESTATE)
        ORC_LOG_E("+raft-apply-stopped", "index=%llu error=\"%s\"", (unsigned long long)index, err);
    else if (rc != 0 && first)
        ORC_LOG_W("+raft-apply-retry", "index=%llu error=\"%s\"", (unsigned long long)index, err);
    else if (rc != 0 && !was_failing && age_ms >= ORC_RAFT_APPLY_RETRY_MS)
        ORC_LOG_E("+raft-apply-stuck",
                  "index=%llu retrying_ms=%lld error=\"%s\" health=red leadership=refused",
                  (unsigned long long)index, (long long)age_ms, err);
}

/* Sleeps ms unless stopping; false when stopping. */
static bool applier_sleep(struct orc_raft *r, int64_t ms)
{
    struct timespec ts;
    bool stop;

    orc_deadline(&ts, ms);
    pthread_mutex_lock(&r->alock);
    while (!r->astop)
        if (pthread_cond_timedwait(&r->acv, &r->alock, &ts) == ETIMEDOUT)
            break;
    stop = r->astop;
    pthread_mutex_unlock(&r->alock);
    return !stop;
}

/* Applies one command entry, retrying (with backoff) while the backend
 * fails: an entry is applied or the applier stops, it is never skipped.
 * Returns the command's result, err its message. */
static int apply_entry(struct orc_raft *r,
                       const struct orc_raft_item *it,
                       const char *op,
                       const json_t *value,
                       json_t **result,
                       char *err,
                       size_t len)
{
    struct orc_fsm_entry e = {it->index, it->term, r->log_id};
    int64_t start = orc_mono_ms(), delay = ORC_RAFT_RETRY_FIRST_MS;
    int cmd_rc = 0, rc;

    for (;;) {
        if (applier_fatal(r, err, len))
            return ORC_ESTATE;
        rc = orc_fsm_apply_index(r->fsm, &e, op, value, result, &cmd_rc, err, len);
        applier_note(r, it->index, rc, err, orc_mono_ms() - start);
        if (rc == 0 || rc == ORC_ESTATE)
            return rc == 0 ? cmd_rc : rc;
        if (!applier_sleep(r, delay)) {
            /* stopping: nothing after this entry may apply either */
            pthread_mutex_lock(&r->alock);
            r->apply_fatal = true;
            pthread_mutex_unlock(&r->alock);
            return rc;
        }
        delay = delay * 2 > ORC_RAFT_RETRY_MAX_MS ? ORC_RAFT_RETRY_MAX_MS : delay * 2;
    }
}

static void apply_cmd(struct orc_raft *r, struct orc_raft_item *it)
{
    char op[64] = "", err[ORC_ERRMSG_SIZE] = "";
    json_t *value = NULL, *result = NULL;
    struct orc_raft_req *q;
    int rc;

    rc = orc_raft_cmd_decode(it->data, it->len, op, sizeof(op), &value, err, sizeof(err));
    if (rc != 0)
        ORC_LOG_E("+raft-bad-command", "index=%llu error=\"%s\"", (unsigned long long)it->index,
                  err);
    else if (strcmp(op, "leader-uri") == 0)
        record_uri(r, value);
    else if (strcmp(op, "raft-removed") == 0)
        record_removed(r, value);
    else if (strcmp(op, "raft-snapshot") == 0 || strcmp(op, "noop") == 0)
        rc = 0;
    else
        rc = apply_entry(r, it, op, value, &result, err, sizeof(err));
    json_decref(value);
    q = take_waiter(r, it->index);
    if (q == NULL) {
        json_decref(result);
        return;
    }
    if (q->hash != orc_raft_hash(it->data, it->len)) {
        json_decref(result);
        orc_raft_req_complete(q, ORC_ESTATE, NULL, "the entry at index %llu is another command",
                              (unsigned long long)it->index);
    } else {
        orc_raft_req_complete(q, rc, result, rc ? "%s" : NULL, err);
    }
    orc_raft_req_put(q);
}

static json_t *raft_extra(struct orc_raft *r)
{
    json_t *uris = json_object(), *removed = json_object();

    pthread_mutex_lock(&r->slock);
    for (size_t i = 0; uris && i < r->nuris; i++)
        json_object_set_new(uris, r->uris[i].addr, json_string(r->uris[i].uri));
    for (size_t i = 0; removed && i < r->nremoved; i++)
        json_object_set_new(removed, r->removed[i].addr, json_integer(r->removed[i].at_ms));
    pthread_mutex_unlock(&r->slock);
    return json_pack("{s:o*, s:o*}", "LeaderURIs", uris, "RemovedByHand", removed);
}

static void restore(struct orc_raft *r, struct orc_raft_item *it)
{
    char err[ORC_ERRMSG_SIZE] = "";
    json_t *extra = NULL, *uris;
    const char *addr;
    json_t *u;
    int64_t start = orc_mono_ms(), delay = ORC_RAFT_RETRY_FIRST_MS;
    int rc;

    /* As entries: a restore the backend fails is retried, never skipped. */
    for (;;) {
        if (applier_fatal(r, err, sizeof(err)))
            return;
        rc = orc_fsm_snapshot_restore(r->fsm, it->data, it->len, &extra, err, sizeof(err));
        if (rc != 0 && !orc_fsm_rc_transient(rc))
            rc = ORC_ESTATE; /* a document this node cannot load */
        applier_note(r, 0, rc, err, orc_mono_ms() - start);
        if (rc == 0 || rc == ORC_ESTATE)
            break;
        if (!applier_sleep(r, delay))
            return;
        delay = delay * 2 > ORC_RAFT_RETRY_MAX_MS ? ORC_RAFT_RETRY_MAX_MS : delay * 2;
    }
    if (rc != 0) {
        ORC_LOG_E("+raft-restore-failed", "error=\"%s\"", err);
        return;
    }
    uris = json_object_get(extra, "LeaderURIs");
    json_object_foreach(uris, addr, u)
    {
        if (json_is_string(u))
            orc_raft_uri_record(r, addr, json_string_value(u));
    }
    json_object_foreach(json_object_get(extra, "RemovedByHand"), addr, u)
    {
        if (json_is_integer(u))
            orc_raft_removed_record(r, addr, (int64_t)json_integer_value(u));
    }
    json_decref(extra);
    ORC_LOG_N("+raft-restored", "bytes=%zu", it->len);
}

static void dump(struct orc_raft *r, struct orc_raft_item *it)
{
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_buf b = ORC_BUF_INIT;
    json_t *extra = raft_extra(r);
    int64_t t0 = orc_mono_us();
    int rc = orc_fsm_snapshot_dump(r->fsm, extra, &b, err, sizeof(err));

    json_decref(extra);
    if (rc != 0)
        ORC_LOG_E("+raft-snapshot-failed", "error=\"%s\"", err);
    else
        ORC_LOG_I("+raft-snapshot-dumped", "bytes=%zu us=%lld", b.len,
                  (long long)(orc_mono_us() - t0));
    pthread_mutex_lock(&r->alock);
    orc_buf_release(&r->dump);
    r->dump = b;
    r->dump_rc = rc;
    r->dump_seq = it->seq;
    pthread_mutex_unlock(&r->alock);
}

static void item_free(struct orc_raft_item *it)
{
    if (it->kind == ORC_RITEM_RESTORE)
        raft_free(it->data);
    else
        free(it->data);
    free(it);
}

static void *applier_main(void *arg)
{
    struct orc_raft *r = arg;

    pthread_mutex_lock(&r->alock);
    for (;;) {
        struct orc_raft_item *it = r->ahead;

        if (it == NULL) {
            if (r->astop)
                break;
            pthread_cond_wait(&r->acv, &r->alock);
            continue;
        }
        r->ahead = it->next;
        if (r->ahead == NULL)
            r->atail = NULL;
        pthread_mutex_unlock(&r->alock);
        if (it->kind == ORC_RITEM_CMD)
            apply_cmd(r, it);
        else if (it->kind == ORC_RITEM_RESTORE)
            restore(r, it);
        else
            dump(r, it);
        pthread_mutex_lock(&r->alock);
        r->done_seq = it->seq;
        pthread_cond_broadcast(&r->adone);
        item_free(it);
    }
    pthread_mutex_unlock(&r->alock);
    return NULL;
}

int orc_raft_applier_start(struct orc_raft *r, char *errmsg, size_t len)
{
    int e = pthread_create(&r->applier, NULL, applier_main, r);

    if (e != 0) {
        orc_errf(errmsg, len, "start the raft applier: %s", strerror(e));
        return ORC_EIO;
    }
    r->applier_started = true;
    return 0;
}

/* Drains what is queued, then ends the thread; waiters left fail. */
void orc_raft_applier_stop(struct orc_raft *r)
{
    struct orc_raft_req *q;

    if (!r->applier_started)
        return;
    pthread_mutex_lock(&r->alock);
    r->astop = true;
    pthread_cond_broadcast(&r->acv);
    pthread_cond_broadcast(&r->adone);
    pthread_mutex_unlock(&r->alock);
    pthread_join(r->applier, NULL);
    r->applier_started = false;
    pthread_mutex_lock(&r->alock);
    q = r->waiters;
    r->waiters = NULL;
    pthread_mutex_unlock(&r->alock);
    while (q != NULL) {
        struct orc_raft_req *next = q->wnext;
        orc_raft_req_complete(q, ORC_ESTATE, NULL, "raft stopped before the command applied");
        orc_raft_req_put(q);
        q = next;
    }
}

void orc_raft_applier_wait(struct orc_raft *r, struct orc_raft_req *q)
{
    __atomic_add_fetch(&q->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_lock(&r->alock);
    q->wnext = r->waiters;
    r->waiters = q;
    pthread_mutex_unlock(&r->alock);
}

void orc_raft_applier_unwait(struct orc_raft *r, struct orc_raft_req *q)
{
    struct orc_raft_req **pp;
    bool found = false;

    pthread_mutex_lock(&r->alock);
    for (pp = &r->waiters; *pp != NULL; pp = &(*pp)->wnext) {
        if (*pp == q) {
            *pp = q->wnext;
            q->wnext = NULL;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&r->alock);
    if (found)
        orc_raft_req_put(q);
}

uint64_t orc_raft_applier_enqueued(struct orc_raft *r)
{
    uint64_t s;

    pthread_mutex_lock(&r->alock);
    s = r->enq_seq;
    pthread_mutex_unlock(&r->alock);
    return s;
}

uint64_t orc_raft_applier_done(struct orc_raft *r)
{
    uint64_t s;

    pthread_mutex_lock(&r->alock);
    s = r->done_seq;
    pthread_mutex_unlock(&r->alock);
    return s;
}

int orc_raft_applier_drain(struct orc_raft *r, int64_t timeout_ms)
{
    struct timespec ts;
    uint64_t target;
    int rc = 0;

    orc_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&r->alock);
    target = r->enq_seq;
    while (r->done_seq < target && !r->astop)
        if (pthread_cond_timedwait(&r->adone, &r->alock, &ts) == ETIMEDOUT) {
            rc = ORC_ETIMEDOUT;
            break;
        }
    pthread_mutex_unlock(&r->alock);
    return rc;
}
