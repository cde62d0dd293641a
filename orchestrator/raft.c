/*
 * raft: lifecycle, the loop thread, the request queue and the state copy.
 *
 * The loop thread owns every libuv handle and struct raft. It starts raft
 * (bootstrap first, every time: RAFT_CANTBOOTSTRAP just means "not pristine"),
 * then runs a poll timer every ORC_RAFT_POLL_MS that copies raft's state for
 * other threads (0.15 has no state callback) and does the leader's duties:
 * a barrier in each new term (readiness: the FSM has applied everything of
 * earlier terms), publishing the HTTP URI ("leader-uri"), membership upkeep.
 *
 * Other threads queue a struct orc_raft_req under qlock, wake the loop with
 * uv_async_send (the only libuv call safe from another thread, made while
 * holding qlock so it never races the handle's close) and wait on the
 * request's condition variable with a timeout.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "orchestrator/fsm.h"
#include "orchestrator/raft_int.h"

const char *orc_raft_state_name(int state)
{
    switch (state) {
        case RAFT_FOLLOWER:
            return "Follower";
        case RAFT_CANDIDATE:
            return "Candidate";
        case RAFT_LEADER:
            return "Leader";
        default:
            return "Shutdown";
    }
}

/* ---- requests ---- */

struct orc_raft_req *orc_raft_req_new(enum orc_raft_req_kind kind)
{
    struct orc_raft_req *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->kind = kind;
    q->refs = 1;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    return q;
}

void orc_raft_req_put(struct orc_raft_req *q)
{
    if (q == NULL || __atomic_sub_fetch(&q->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (q->buf.base != NULL)
        raft_free(q->buf.base);
    json_decref(q->result);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}

void orc_raft_req_complete(struct orc_raft_req *q, int rc, json_t *result, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&q->mu);
    if (q->done) {
        pthread_mutex_unlock(&q->mu);
        json_decref(result);
        return;
    }
    q->done = true;
    q->rc = rc;
    q->result = result;
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(q->errmsg, sizeof(q->errmsg), fmt, ap);
        va_end(ap);
    }
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

int orc_raft_req_run(struct orc_raft *r,
                     struct orc_raft_req *q,
                     int64_t timeout_ms,
                     json_t **result,
                     char *errmsg,
                     size_t len)
{
    struct timespec ts;
    int rc;

    q->owner = r;
    pthread_mutex_lock(&r->qlock);
    if (!r->accepting) {
        pthread_mutex_unlock(&r->qlock);
        orc_raft_req_put(q);
        orc_errf(errmsg, len, "raft is not running");
        return ORC_ESTATE;
    }
    __atomic_add_fetch(&q->refs, 1, __ATOMIC_ACQ_REL); /* the loop's */
    if (r->qtail)
        r->qtail->next = q;
    else
        r->qhead = q;
    r->qtail = q;
    uv_async_send(&r->async);
    pthread_mutex_unlock(&r->qlock);

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->mu);
    while (!q->done)
        if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT)
            break;
    if (!q->done) {
        rc = ORC_ETIMEDOUT;
        orc_errf(errmsg, len, "no answer from raft within %lld ms", (long long)timeout_ms);
    } else {
        rc = q->rc;
        if (rc != 0)
            orc_errf(errmsg, len, "%s", q->errmsg[0] ? q->errmsg : orc_strerror(rc));
        if (result != NULL) {
            *result = q->result;
            q->result = NULL;
        }
    }
    pthread_mutex_unlock(&q->mu);
    orc_raft_req_put(q);
    return rc;
}

/* ---- leader URIs ---- */

bool orc_raft_uri_lookup(struct orc_raft *r, const char *addr, char *uri, size_t len)
{
    for (size_t i = 0; i < r->nuris; i++)
        if (strcmp(r->uris[i].addr, addr) == 0)
            return orc_strlcpy(uri, r->uris[i].uri, len) == 0;
    return false;
}

void orc_raft_uri_record(struct orc_raft *r, const char *addr, const char *uri)
{
    size_t i;

    pthread_mutex_lock(&r->slock);
    for (i = 0; i < r->nuris; i++)
        if (strcmp(r->uris[i].addr, addr) == 0)
            break;
    if (i == r->nuris) {
        if (r->nuris == ORC_RAFT_URI_MAP) { /* forget the oldest */
            memmove(&r->uris[0], &r->uris[1], sizeof(r->uris[0]) * (ORC_RAFT_URI_MAP - 1));
            i = --r->nuris;
        }
        r->nuris++;
        orc_strlcpy(r->uris[i].addr, addr, sizeof(r->uris[i].addr));
    }
    orc_strlcpy(r->uris[i].uri, uri, sizeof(r->uris[i].uri));
    pthread_mutex_unlock(&r->slock);
    ORC_LOG_I("+raft-leader-uri", "leader=%s uri=%s", addr, uri);
}

/* ---- loop thread: commands ---- */

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    struct orc_raft_req *q = req->data;

    (void)result;
    if (status != 0) {
        orc_raft_applier_unwait(q->owner, q);
        orc_raft_req_complete(q, status == RAFT_NOTLEADER ? ORC_EPERM : ORC_ESTATE, NULL,
                              "command not committed: %s", raft_strerror(status));
    }
    orc_raft_req_put(q);
}

static void loop_apply(struct orc_raft *r, struct orc_raft_req *q)
{
    int rv;

    if (r->closing || raft_state(&r->raft) != RAFT_LEADER) {
        orc_raft_req_complete(q, ORC_EPERM, NULL, "not the raft leader");
        orc_raft_req_put(q);
        return;
    }
    q->apply.data = q;
    rv = raft_apply(&r->raft, &q->apply, &q->buf, 1, apply_cb);
    if (rv != 0) {
        orc_raft_req_complete(q, rv == RAFT_NOTLEADER ? ORC_EPERM : ORC_EIO, NULL, "raft_apply: %s",
                              raft_errmsg(&r->raft));
        orc_raft_req_put(q);
        return;
    }
    q->buf.base = NULL; /* raft's now */
    q->index = q->apply.index;
    orc_raft_applier_wait(r, q);
}

/* A forced snapshot: replicate "raft-snapshot" (every node snapshots right
 * after applying it), answer once this node's snapshot is written. */
static void snap_apply_cb(struct raft_apply *req, int status, void *result)
{
    struct orc_raft_req *q = req->data;
    struct orc_raft *r = q->owner;

    (void)result;
    if (status != 0 && r->snap == q) {
        r->snap = NULL;
        raft_set_snapshot_threshold(&r->raft, r->threshold);
        orc_raft_req_complete(q, ORC_ESTATE, NULL, "snapshot: %s", raft_strerror(status));
        orc_raft_req_put(q); /* r->snap's */
    }
    orc_raft_req_put(q); /* the apply's */
}

static void loop_snapshot(struct orc_raft *r, struct orc_raft_req *q)
{
    struct orc_buf b = ORC_BUF_INIT;
    int rv;

    if (r->closing || raft_state(&r->raft) != RAFT_LEADER || r->snap != NULL) {
        orc_raft_req_complete(q, r->snap ? ORC_ESTATE : ORC_EPERM, NULL, "%s",
                              r->snap ? "a snapshot is in progress" : "not the raft leader");
        orc_raft_req_put(q);
        return;
    }
    if (orc_raft_cmd_encode("raft-snapshot", NULL, &b) != 0 ||
        (q->buf.base = raft_malloc(b.len)) == NULL) {
        orc_buf_release(&b);
        orc_raft_req_complete(q, ORC_ENOMEM, NULL, "out of memory");
        orc_raft_req_put(q);
        return;
    }
    memcpy(q->buf.base, b.data, b.len);
    q->buf.len = b.len;
    orc_buf_release(&b);
    q->apply.data = q;
    __atomic_add_fetch(&q->refs, 1, __ATOMIC_ACQ_REL); /* r->snap's */
    r->snap = q;
    rv = raft_apply(&r->raft, &q->apply, &q->buf, 1, snap_apply_cb);
    if (rv != 0) {
        r->snap = NULL;
        orc_raft_req_complete(q, ORC_EIO, NULL, "raft_apply: %s", raft_errmsg(&r->raft));
        orc_raft_req_put(q);
        orc_raft_req_put(q);
        return;
    }
    q->buf.base = NULL;
}

/* ---- loop thread: leader duties ---- */

static void barrier_cb(struct raft_barrier *req, int status)
{
    struct orc_raft *r = req->data;

    r->barrier_pending = false;
    if (status == 0 && raft_state(&r->raft) == RAFT_LEADER &&
        r->raft.current_term == r->leader_since_term) {
        /* Every command before the barrier is in the applier's queue now. */
        r->barrier_seq = orc_raft_applier_enqueued(r);
        r->barrier_term = r->raft.current_term;
        ORC_LOG_I("+raft-barrier", "term=%llu after_ms=%lld", (unsigned long long)r->barrier_term,
                  (long long)(orc_mono_ms() - r->leader_since_ms));
    }
}

static void uri_apply_cb(struct raft_apply *req, int status, void *result)
{
    struct orc_raft *r = req->data;

    (void)result;
    r->uri_pending = false;
    if (status != 0)
        r->uri_term = 0; /* try again while still leader */
}

static void publish_uri(struct orc_raft *r)
{
    struct orc_buf b = ORC_BUF_INIT;
    json_t *v = json_pack("{s:s, s:s}", "URI", r->http_uri, "RaftAdvertise", r->advertise);
    struct raft_buffer buf = {NULL, 0};
    int rc = v ? orc_raft_cmd_encode("leader-uri", v, &b) : ORC_ENOMEM;

    json_decref(v);
    if (rc == 0 && (buf.base = raft_malloc(b.len)) != NULL) {
        memcpy(buf.base, b.data, b.len);
        buf.len = b.len;
        r->uri_apply.data = r;
        if (raft_apply(&r->raft, &r->uri_apply, &buf, 1, uri_apply_cb) == 0) {
            r->uri_pending = true;
            r->uri_term = r->raft.current_term;
        } else {
            raft_free(buf.base);
        }
    }
    orc_buf_release(&b);
}

static void leader_duties(struct orc_raft *r, int64_t now)
{
    raft_term term = r->raft.current_term;

    if (r->leader_since_term != term) {
        r->leader_since_term = term;
        r->leader_since_ms = now;
        ORC_LOG_N("+raft-elected", "term=%llu address=%s", (unsigned long long)term, r->advertise);
    }
    if (r->barrier_term != term && !r->barrier_pending) {
        r->barrier.data = r;
        if (raft_barrier(&r->raft, &r->barrier, barrier_cb) == 0)
            r->barrier_pending = true;
    }
    if (r->barrier_term == term && r->uri_term != term && !r->uri_pending)
        publish_uri(r);
}

/* ---- loop thread: the state copy ---- */

static void update_state(struct orc_raft *r, int64_t now);

static void copy_peers(struct orc_raft *r, struct orc_raft_info *st, int64_t now)
{
    const struct raft_configuration *c = &r->raft.configuration;

    st->npeers = 0;
    st->member = st->voter = false;
    for (unsigned i = 0; i < c->n && st->npeers < ORC_RAFT_MAX_PEERS; i++) {
        struct orc_raft_peer *p = &st->peers[st->npeers++];

        orc_strlcpy(p->addr, c->servers[i].address, sizeof(p->addr));
        p->id = c->servers[i].id;
        p->role = c->servers[i].role;
        p->reachable = false;
        if (c->servers[i].id == r->id) {
            st->member = true;
            st->voter = c->servers[i].role == RAFT_VOTER;
            p->reachable = true;
        } else if (raft_state(&r->raft) == RAFT_LEADER) {
            for (size_t k = 0; k < ORC_RAFT_MAX_PEERS; k++)
                if (r->last_contact_id[k] == p->id)
                    p->reachable = now - r->last_contact_ms[k] <= 2 * ORC_RAFT_ELECTION_MS;
        }
    }
}

void orc_raft_state_refresh(struct orc_raft *r)
{
    update_state(r, orc_mono_ms());
}

static void update_state(struct orc_raft *r, int64_t now)
{
    int s = raft_state(&r->raft);
    raft_id lid = 0;
    const char *laddr = NULL;
    bool ready;
    struct orc_raft_info *st = &r->st;
    char prev_state[16], prev_leader[ORC_RAFT_ADDR_MAX];

    raft_leader(&r->raft, &lid, &laddr);
    ready = s == RAFT_LEADER && !r->closing && r->barrier_term == r->raft.current_term &&
            orc_raft_applier_done(r) >= r->barrier_seq && now >= r->tilt_until_ms;
    pthread_mutex_lock(&r->slock);
    orc_strlcpy(prev_state, st->state ? st->state : "", sizeof(prev_state));
    orc_strlcpy(prev_leader, st->leader, sizeof(prev_leader));
    st->state = orc_raft_state_name(s);
    st->is_leader = ready;
    st->updated_ms = now;
    st->leader_id = lid;
    orc_strlcpy(st->leader, laddr ? laddr : "", sizeof(st->leader));
    st->term = r->raft.current_term;
    st->commit_index = r->raft.commit_index;
    st->last_applied = raft_last_applied(&r->raft);
    st->last_index = raft_last_index(&r->raft);
    st->leader_uri[0] = '\0';
    if (s == RAFT_LEADER)
        orc_strlcpy(st->leader_uri, r->http_uri, sizeof(st->leader_uri));
    else if (laddr != NULL)
        orc_raft_uri_lookup(r, laddr, st->leader_uri, sizeof(st->leader_uri));
    copy_peers(r, st, now);
    pthread_mutex_unlock(&r->slock);
    if (strcmp(prev_state, st->state) != 0)
        ORC_LOG_N("+raft-state", "state=%s previous=%s term=%llu", st->state,
                  prev_state[0] ? prev_state : "-", (unsigned long long)r->raft.current_term);
    if (strcmp(prev_leader, laddr ? laddr : "") != 0)
        ORC_LOG_N("+raft-leader", "leader=%s previous=%s", laddr ? laddr : "-",
                  prev_leader[0] ? prev_leader : "-");
}

static void handover_tick(struct orc_raft *r, int64_t now);

static void tick_cb(uv_timer_t *t)
{
    struct orc_raft *r = t->data;
    int64_t now = orc_mono_ms();

    if (r->last_tick_ms != 0 && now - r->last_tick_ms > ORC_RAFT_STALL_MS) {
        r->tilt_until_ms = now + ORC_RAFT_ELECTION_MS;
        ORC_LOG_W("+raft-tilt", "stalled_ms=%lld state=%s", (long long)(now - r->last_tick_ms),
                  orc_raft_state_name(raft_state(&r->raft)));
    }
    r->last_tick_ms = now;
    if (r->closing) {
        if (r->handing_over) {
            update_state(r, now);
            handover_tick(r, now);
        }
        return;
    }
    if (raft_state(&r->raft) == RAFT_LEADER)
        leader_duties(r, now);
    orc_raft_members_tick(r, now);
    update_state(r, now);
}

/* ---- loop thread: stop ---- */

static void loop_raft_closed(struct raft *raft)
{
    struct orc_raft *r = raft->data;

    raft_uv_close(&r->io);
    raft_uv_tcp_close(&r->transport);
    if (r->stop != NULL) {
        orc_raft_req_complete(r->stop, 0, NULL, NULL);
        orc_raft_req_put(r->stop);
        r->stop = NULL;
    }
}

static void begin_close(struct orc_raft *r)
{
    struct orc_raft_req *q;

    pthread_mutex_lock(&r->qlock);
    r->accepting = false;
    q = r->qhead;
    r->qhead = r->qtail = NULL;
    pthread_mutex_unlock(&r->qlock);
    while (q != NULL) {
        struct orc_raft_req *next = q->next;
        orc_raft_req_complete(q, ORC_ESTATE, NULL, "raft is stopping");
        orc_raft_req_put(q);
        q = next;
    }
    orc_raft_members_abort(r);
    if (r->snap != NULL) {
        orc_raft_req_complete(r->snap, ORC_ESTATE, NULL, "raft is stopping");
        orc_raft_req_put(r->snap);
        r->snap = NULL;
    }
    uv_close((uv_handle_t *)&r->async, NULL);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, NULL);
    raft_close(&r->raft, loop_raft_closed);
}

/* Leadership moved (or the transfer timed out). Staying a follower until
 * the new leader's first entry commits lets our vote count for it: the third
 * node's connection to it may be stale (a restart) and lose its first acks. */
static void stop_transfer_cb(struct raft_transfer *req)
{
    struct orc_raft *r = req->data;

    if (raft_state(&r->raft) == RAFT_LEADER) {
        ORC_LOG_W("+raft-handover-failed", "term=%llu", (unsigned long long)r->raft.current_term);
        begin_close(r);
        return;
    }
    r->handing_over = true;
    r->handover_index = raft_last_index(&r->raft);
    r->handover_until_ms = orc_mono_ms() + 2 * ORC_RAFT_ELECTION_MS;
}

static void handover_tick(struct orc_raft *r, int64_t now)
{
    raft_id id = 0;
    const char *addr = NULL;

    raft_leader(&r->raft, &id, &addr);
    if (r->raft.commit_index <= r->handover_index && now < r->handover_until_ms)
        return;
    r->handing_over = false;
    ORC_LOG_N("+raft-handover", "leader=%s committed=%s", addr ? addr : "-",
              r->raft.commit_index > r->handover_index ? "yes" : "no");
    begin_close(r);
}

static bool has_other_voter(struct orc_raft *r)
{
    const struct raft_configuration *c = &r->raft.configuration;

    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id != r->id && c->servers[i].role == RAFT_VOTER)
            return true;
    return false;
}

static void loop_stop(struct orc_raft *r, struct orc_raft_req *q)
{
    if (r->closing) { /* a second stop: answer when the first ends */
        orc_raft_req_complete(q, 0, NULL, NULL);
        orc_raft_req_put(q);
        return;
    }
    r->closing = true;
    r->stop = q;
    pthread_mutex_lock(&r->slock); /* stop acting at once */
    r->st.is_leader = false;
    pthread_mutex_unlock(&r->slock);
    if (raft_state(&r->raft) == RAFT_LEADER && has_other_voter(r)) {
        r->stop_transfer.data = r;
        if (raft_transfer(&r->raft, &r->stop_transfer, 0, stop_transfer_cb) == 0) {
            ORC_LOG_N("+raft-handing-over", "term=%llu", (unsigned long long)r->raft.current_term);
            return;
        }
    }
    begin_close(r);
}

static void async_cb(uv_async_t *a)
{
    struct orc_raft *r = a->data;
    struct orc_raft_req *q;

    pthread_mutex_lock(&r->qlock);
    q = r->qhead;
    r->qhead = r->qtail = NULL;
    pthread_mutex_unlock(&r->qlock);
    while (q != NULL) {
        struct orc_raft_req *next = q->next;

        q->next = NULL;
        switch (q->kind) {
            case ORC_RREQ_APPLY:
                loop_apply(r, q);
                break;
            case ORC_RREQ_TRANSFER:
                orc_raft_transfer_start(r, q);
                break;
            case ORC_RREQ_ADD:
            case ORC_RREQ_REMOVE:
                orc_raft_change_start(r, q);
                break;
            case ORC_RREQ_SNAPSHOT:
                loop_snapshot(r, q);
                break;
            case ORC_RREQ_STOP:
                loop_stop(r, q);
                break;
        }
        q = next;
    }
}

/* ---- loop thread: start ---- */

static void abort_close_cb(struct raft *raft)
{
    struct orc_raft *r = raft->data;

    raft_uv_close(&r->io);
    raft_uv_tcp_close(&r->transport);
}

static void tune(struct orc_raft *r)
{
    unsigned threshold = (unsigned)r->cfg->RaftSnapshotThreshold;

    raft_set_heartbeat_timeout(&r->raft, ORC_RAFT_HEARTBEAT_MS);
    raft_set_election_timeout(&r->raft, ORC_RAFT_ELECTION_MS);
    raft_set_pre_vote(&r->raft, true);
    r->threshold = threshold;
    raft_set_snapshot_threshold(&r->raft, threshold);
    raft_set_snapshot_trailing(&r->raft, threshold < 128 ? threshold : 128);
    raft_uv_set_connect_retry_delay(&r->io, 50);
}

/* Creates the handles and starts raft; on failure everything created is
 * closed again (the caller runs the loop to let the close callbacks end). */
static int loop_init(struct orc_raft *r, char *err, size_t len)
{
    int rv;

    rv = raft_uv_tcp_init(&r->transport, &r->loop);
    if (rv != 0) {
        orc_errf(err, len, "raft tcp transport: %s", raft_strerror(rv));
        return ORC_EIO;
    }
    rv = raft_uv_tcp_set_bind_address(&r->transport, r->bind);
    if (rv == 0)
        rv = raft_uv_init(&r->io, &r->loop, r->dir, &r->transport);
    if (rv != 0) {
        orc_errf(err, len, "raft I/O in '%s' bound to %s: %s", r->dir, r->bind,
                 r->io.errmsg[0] ? r->io.errmsg : raft_strerror(rv));
        raft_uv_tcp_close(&r->transport);
        return ORC_EIO;
    }
    orc_raft_fsm_setup(r);
    rv = raft_init(&r->raft, &r->io, &r->rfsm, r->id, r->advertise);
    if (rv != 0) {
        orc_errf(err, len, "raft_init: %s", raft_errmsg(&r->raft));
        raft_uv_close(&r->io);
        raft_uv_tcp_close(&r->transport);
        return ORC_EIO;
    }
    r->raft.data = r;
    tune(r);
    if (r->bootstrap) {
        rv = raft_bootstrap(&r->raft, &r->boot);
        if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
            orc_errf(err, len, "raft_bootstrap: %s", raft_errmsg(&r->raft));
            raft_close(&r->raft, abort_close_cb);
            return ORC_EIO;
        }
        if (rv == 0)
            ORC_LOG_N("+raft-bootstrapped", "voters=%u", r->boot.n);
    }
    rv = raft_start(&r->raft);
    if (rv != 0) {
        orc_errf(err, len, "raft_start: %s", raft_errmsg(&r->raft));
        raft_close(&r->raft, abort_close_cb);
        return ORC_EIO;
    }
    uv_async_init(&r->loop, &r->async, async_cb);
    r->async.data = r;
    uv_timer_init(&r->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, tick_cb, 0, ORC_RAFT_POLL_MS);
    pthread_mutex_lock(&r->qlock);
    r->accepting = true;
    pthread_mutex_unlock(&r->qlock);
    return 0;
}

static void *loop_main(void *arg)
{
    struct orc_raft *r = arg;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = uv_loop_init(&r->loop);

    if (rc != 0)
        orc_errf(err, sizeof(err), "uv_loop_init: %s", uv_strerror(rc));
    else
        rc = loop_init(r, err, sizeof(err));
    pthread_mutex_lock(&r->start_mu);
    r->start_done = true;
    r->start_rc = rc;
    orc_strlcpy(r->start_err, err, sizeof(r->start_err));
    pthread_cond_broadcast(&r->start_cv);
    pthread_mutex_unlock(&r->start_mu);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r->loop) != 0)
        ORC_LOG_W("+raft-loop-busy", "handles still open at exit");
    return NULL;
}

/* ---- start (caller thread) ---- */

static int make_dir(const char *path, char *errmsg, size_t len)
{
    char p[1024];

    if (orc_strlcpy(p, path, sizeof(p)) != 0) {
        orc_errf(errmsg, len, "RaftDataDir '%s': path too long", path);
        return ORC_ECONFIG;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            goto fail;
        *s = '/';
    }
    if (mkdir(p, 0700) == 0 || errno == EEXIST)
        return 0;
fail:
    orc_errf(errmsg, len, "RaftDataDir '%s': cannot create '%s': %s", path, p, strerror(errno));
    return ORC_EIO;
}

/* The bootstrap configuration from RaftNodes; decides r->bootstrap. */
static int boot_config(struct orc_raft *r, char *errmsg, size_t len)
{
    const struct orc_config *c = r->cfg;
    char addr[ORC_RAFT_ADDR_MAX];
    bool self = c->RaftNodes.n == 0;
    int rc;

    raft_configuration_init(&r->boot);
    for (size_t i = 0; i < c->RaftNodes.n; i++) {
        rc = orc_raft_addr_normalize(c->RaftNodes.v[i], (int)c->DefaultRaftPort, addr, sizeof(addr),
                                     errmsg, len);
        if (rc != 0) {
            orc_errprefix(errmsg, len, "RaftNodes");
            return ORC_ECONFIG;
        }
        self = self || strcmp(addr, r->advertise) == 0;
        rc = raft_configuration_add(&r->boot, orc_raft_id_of(addr), addr, RAFT_VOTER);
        if (rc != 0) {
            orc_errf(errmsg, len, "RaftNodes: '%s': %s", c->RaftNodes.v[i], raft_strerror(rc));
            return ORC_ECONFIG;
        }
    }
    if (self && c->RaftNonVoter && c->RaftNodes.n > 0) {
        orc_errf(errmsg, len, "RaftNonVoter: this node (%s) must not be listed in RaftNodes",
                 r->advertise);
        return ORC_ECONFIG;
    }
    if (c->RaftNodes.n == 0 && !c->RaftNonVoter)
        raft_configuration_add(&r->boot, r->id, r->advertise, RAFT_VOTER);
    r->bootstrap = self && !c->RaftNonVoter;
    return 0;
}

static int resolve_self(struct orc_raft *r, char *errmsg, size_t len)
{
    const struct orc_config *c = r->cfg;
    const char *bp, *ap;
    int rc;

    rc = orc_raft_addr_normalize(c->RaftAdvertise, (int)c->DefaultRaftPort, r->advertise,
                                 sizeof(r->advertise), errmsg, len);
    if (rc == 0)
        rc = orc_raft_addr_normalize(c->RaftBind, (int)c->DefaultRaftPort, r->bind, sizeof(r->bind),
                                     errmsg, len);
    if (rc != 0) {
        orc_errprefix(errmsg, len, "RaftBind/RaftAdvertise");
        return ORC_ECONFIG;
    }
    bp = strrchr(r->bind, ':');
    ap = strrchr(r->advertise, ':');
    if (strcmp(bp, ap) != 0) { /* raft_uv_tcp: "the port must match" */
        orc_errf(errmsg, len, "RaftBind (%s) and RaftAdvertise (%s) must use the same port",
                 r->bind, r->advertise);
        return ORC_ECONFIG;
    }
    r->id = orc_raft_id_of(r->advertise);
    if (orc_raft_http_uri(c, r->http_uri, sizeof(r->http_uri)) != 0) {
        orc_errf(errmsg, len, "cannot derive this node's HTTP URI (set HTTPAdvertise)");
        return ORC_ECONFIG;
    }
    if (orc_strlcpy(r->dir, c->RaftDataDir, sizeof(r->dir)) != 0) {
        orc_errf(errmsg, len, "RaftDataDir: path too long");
        return ORC_ECONFIG;
    }
    return 0;
}

static struct orc_raft *raft_new(const struct orc_config *cfg, struct orc_fsm *fsm)
{
    struct orc_raft *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->cfg = cfg;
    r->fsm = fsm;
    pthread_mutex_init(&r->start_mu, NULL);
    pthread_cond_init(&r->start_cv, NULL);
    pthread_mutex_init(&r->qlock, NULL);
    pthread_mutex_init(&r->slock, NULL);
    pthread_mutex_init(&r->alock, NULL);
    pthread_cond_init(&r->acv, NULL);
    pthread_cond_init(&r->adone, NULL);
    pthread_cond_init(&r->jcv, NULL);
    orc_buf_init(&r->dump);
    r->st.state = "Shutdown";
    raft_configuration_init(&r->boot);
    return r;
}

static int start_loop(struct orc_raft *r, char *errmsg, size_t len)
{
    struct timespec ts;
    int e = pthread_create(&r->loop_thread, NULL, loop_main, r);

    if (e != 0) {
        orc_errf(errmsg, len, "start the raft loop: %s", strerror(e));
        return ORC_EIO;
    }
    r->loop_started = true;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 30;
    pthread_mutex_lock(&r->start_mu);
    while (!r->start_done)
        if (pthread_cond_timedwait(&r->start_cv, &r->start_mu, &ts) == ETIMEDOUT)
            break;
    e = r->start_done ? r->start_rc : ORC_ETIMEDOUT;
    if (e != 0)
        orc_errf(errmsg, len, "%s", r->start_done ? r->start_err : "raft did not start in 30 s");
    pthread_mutex_unlock(&r->start_mu);
    if (e != 0 && r->start_done) { /* the loop ends once the handles closed */
        pthread_join(r->loop_thread, NULL);
        r->loop_started = false;
    }
    return e;
}

int orc_raft_start(const struct orc_config *cfg,
                   struct orc_fsm *fsm,
                   struct orc_raft **out,
                   char *errmsg,
                   size_t len)
{
    struct orc_raft *r = raft_new(cfg, fsm);
    int rc;

    if (r == NULL)
        return ORC_ENOMEM;
    rc = resolve_self(r, errmsg, len);
    if (rc == 0)
        rc = boot_config(r, errmsg, len);
    if (rc == 0)
        rc = make_dir(r->dir, errmsg, len);
    if (rc == 0)
        rc = orc_raft_applier_start(r, errmsg, len);
    if (rc == 0)
        rc = start_loop(r, errmsg, len);
    if (rc == 0 && !r->bootstrap)
        rc = orc_raft_joiner_start(r, errmsg, len);
    if (rc != 0) {
        orc_raft_free(r);
        return rc;
    }
    ORC_LOG_N("+raft-started",
              "id=%llu advertise=%s bind=%s http=%s dir=%s bootstrap=%s nonvoter=%s "
              "heartbeat_ms=%d election_ms=%d",
              (unsigned long long)r->id, r->advertise, r->bind, r->http_uri, r->dir,
              r->bootstrap ? "yes" : "no", cfg->RaftNonVoter ? "yes" : "no", ORC_RAFT_HEARTBEAT_MS,
              ORC_RAFT_ELECTION_MS);
    *out = r;
    return 0;
}

void orc_raft_stop(struct orc_raft *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_raft_req *q;
    int64_t t0 = orc_mono_ms();

    if (r == NULL || r->stopped)
        return;
    orc_raft_joiner_stop(r);
    if (r->loop_started) {
        q = orc_raft_req_new(ORC_RREQ_STOP);
        if (q != NULL &&
            orc_raft_req_run(r, q, 4 * ORC_RAFT_ELECTION_MS + 5000, NULL, err, sizeof(err)) != 0)
            ORC_LOG_W("+raft-stop", "error=\"%s\"", err);
        pthread_join(r->loop_thread, NULL);
        r->loop_started = false;
    }
    orc_raft_applier_stop(r);
    pthread_mutex_lock(&r->slock);
    r->stopped = true;
    r->st.state = "Shutdown";
    r->st.is_leader = false;
    pthread_mutex_unlock(&r->slock);
    ORC_LOG_N("+raft-stopped", "after_ms=%lld", (long long)(orc_mono_ms() - t0));
}

void orc_raft_free(struct orc_raft *r)
{
    if (r == NULL)
        return;
    orc_raft_stop(r);
    raft_configuration_close(&r->boot);
    orc_buf_release(&r->dump);
    pthread_mutex_destroy(&r->start_mu);
    pthread_cond_destroy(&r->start_cv);
    pthread_mutex_destroy(&r->qlock);
    pthread_mutex_destroy(&r->slock);
    pthread_mutex_destroy(&r->alock);
    pthread_cond_destroy(&r->acv);
    pthread_cond_destroy(&r->adone);
    pthread_cond_destroy(&r->jcv);
    free(r);
}

/* ---- public calls (any thread) ---- */

bool orc_raft_is_leader(struct orc_raft *r)
{
    bool l;

    if (r == NULL)
        return false;
    pthread_mutex_lock(&r->slock);
    l = r->st.is_leader && !r->stopped && orc_mono_ms() - r->st.updated_ms <= ORC_RAFT_STALL_MS;
    pthread_mutex_unlock(&r->slock);
    return l;
}

void orc_raft_info(struct orc_raft *r, struct orc_raft_info *out)
{
    pthread_mutex_lock(&r->slock);
    *out = r->st;
    out->id = r->id;
    orc_strlcpy(out->bind, r->bind, sizeof(out->bind));
    orc_strlcpy(out->advertise, r->advertise, sizeof(out->advertise));
    orc_strlcpy(out->http_uri, r->http_uri, sizeof(out->http_uri));
    pthread_mutex_unlock(&r->slock);
}

static bool state_is(struct orc_raft *r, const char *state, char *leader, size_t len)
{
    bool is;

    pthread_mutex_lock(&r->slock);
    is = !r->stopped && r->st.state != NULL && strcmp(r->st.state, state) == 0;
    if (leader != NULL)
        orc_strlcpy(leader, r->st.leader[0] ? r->st.leader : "unknown", len);
    pthread_mutex_unlock(&r->slock);
    return is;
}

int orc_raft_submit(struct orc_raft *r,
                    const char *op,
                    const json_t *payload,
                    json_t **result,
                    char *errmsg,
                    size_t len)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct orc_raft_req *q;
    char leader[ORC_RAFT_ADDR_MAX];
    int rc;

    if (result != NULL)
        *result = NULL;
    if (r == NULL)
        return ORC_ESTATE;
    if (!state_is(r, "Leader", leader, sizeof(leader))) {
        orc_errf(errmsg, len, "this node is not the raft leader (leader: %s)", leader);
        return ORC_EPERM;
    }
    rc = orc_raft_cmd_encode(op, payload, &b);
    q = rc == 0 ? orc_raft_req_new(ORC_RREQ_APPLY) : NULL;
    if (q == NULL || (q->buf.base = raft_malloc(b.len)) == NULL) {
        orc_buf_release(&b);
        orc_raft_req_put(q);
        orc_errf(errmsg, len, "%s: cannot encode the command", op);
        return rc ? rc : ORC_ENOMEM;
    }
    memcpy(q->buf.base, b.data, b.len);
    q->buf.len = b.len;
    q->hash = orc_raft_hash(b.data, b.len);
    orc_buf_release(&b);
    return orc_raft_req_run(r, q, ORC_RAFT_APPLY_TIMEOUT_MS, result, errmsg, len);
}

int orc_raft_forward(struct orc_raft *r, bool write, char *uri, size_t len)
{
    int64_t deadline = orc_mono_ms() + 2 * ORC_RAFT_ELECTION_MS;

    for (;;) {
        int rc = ORC_ENOTFOUND;
        bool stopped;

        pthread_mutex_lock(&r->slock);
        stopped = r->stopped;
        if (stopped)
            rc = ORC_ENOTFOUND;
        else if (r->st.state != NULL && strcmp(r->st.state, "Leader") == 0)
            rc = 0;
        else if (!write && r->cfg->RaftNonVoter)
            rc = 0;
        else if (r->st.leader_uri[0] != '\0')
            rc = strcmp(r->st.leader_uri, r->http_uri) == 0 ? 0 : 1;
        if (rc == 1)
            orc_strlcpy(uri, r->st.leader_uri, len);
        pthread_mutex_unlock(&r->slock);
        if (rc != ORC_ENOTFOUND || orc_mono_ms() >= deadline || stopped)
            return rc;
        orc_sleep_ms(20);
    }
}

int orc_raft_snapshot(struct orc_raft *r, char *errmsg, size_t len)
{
    struct orc_raft_req *q = orc_raft_req_new(ORC_RREQ_SNAPSHOT);

    if (q == NULL)
        return ORC_ENOMEM;
    /* Let the applier catch up first, or the dump would have to wait. */
    orc_raft_applier_drain(r, ORC_RAFT_APPLY_TIMEOUT_MS / 2);
    return orc_raft_req_run(r, q, ORC_RAFT_APPLY_TIMEOUT_MS, NULL, errmsg, len);
}
