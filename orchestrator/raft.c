/*
 * raft: the loop thread's work, the request queue and the state copy, and
 * the public calls. Start and stop are in raft_start.c.
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
#include <unistd.h>

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
    orc_cond_init(&q->cv);
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

    orc_deadline(&ts, timeout_ms);
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

/* The leader URIs survive a restart in RaftDataDir/orc-leader-uris ("addr
 * uri" lines): a node removed while it was down learns nothing from the log
 * (no leader tells it the commit index) and needs them to ask to rejoin. */
#define URIS_FILE "orc-leader-uris"

static void uris_save(struct orc_raft *r)
{
    char path[1100], tmp[1110];
    FILE *f;
    bool ok;

    snprintf(path, sizeof(path), "%s/%s", r->dir, URIS_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL)
        return;
    pthread_mutex_lock(&r->slock);
    for (size_t i = 0; i < r->nuris; i++)
        fprintf(f, "%s %s\n", r->uris[i].addr, r->uris[i].uri);
    pthread_mutex_unlock(&r->slock);
    ok = fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        ORC_LOG_W("+raft-uris-not-saved", "file=%s error=\"%s\"", path, strerror(errno));
        unlink(tmp);
    }
}

void orc_raft_uris_load(struct orc_raft *r)
{
    char path[1100], line[ORC_RAFT_ADDR_MAX + ORC_RAFT_URI_MAX + 4];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", r->dir, URIS_FILE);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL && r->nuris < ORC_RAFT_URI_MAP) {
        char *sp = strchr(line, ' ');

        line[strcspn(line, "\r\n")] = '\0';
        if (sp == NULL || sp[1] == '\0')
            continue;
        *sp = '\0';
        if (orc_strlcpy(r->uris[r->nuris].addr, line, ORC_RAFT_ADDR_MAX) == 0 &&
            orc_strlcpy(r->uris[r->nuris].uri, sp + 1, ORC_RAFT_URI_MAX) == 0)
            r->nuris++;
    }
    fclose(f);
}

void orc_raft_uri_record(struct orc_raft *r, const char *addr, const char *uri)
{
    size_t i;
    bool changed;

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
        r->uris[i].uri[0] = '\0';
    }
    changed = strcmp(r->uris[i].uri, uri) != 0;
    orc_strlcpy(r->uris[i].uri, uri, sizeof(r->uris[i].uri));
    pthread_mutex_unlock(&r->slock);
    ORC_LOG_I("+raft-leader-uri", "leader=%s uri=%s", addr, uri);
    if (changed)
        uris_save(r);
}

void orc_raft_removed_record(struct orc_raft *r, const char *addr, int64_t at_ms)
{
    size_t i;

    pthread_mutex_lock(&r->slock);
    for (i = 0; i < r->nremoved && strcmp(r->removed[i].addr, addr) != 0; i++)
        ;
    if (at_ms == 0 && i < r->nremoved) {
        r->removed[i] = r->removed[--r->nremoved];
    } else if (at_ms != 0) {
        if (i == ORC_RAFT_MAX_PEERS) { /* forget the oldest */
            memmove(&r->removed[0], &r->removed[1], sizeof(r->removed[0]) * (i - 1));
            i = --r->nremoved;
        }
        if (i == r->nremoved)
            r->nremoved++;
        orc_strlcpy(r->removed[i].addr, addr, sizeof(r->removed[i].addr));
        r->removed[i].at_ms = at_ms;
    }
    pthread_mutex_unlock(&r->slock);
}

int64_t orc_raft_removed_at(struct orc_raft *r, const char *addr)
{
    int64_t at = 0;

    pthread_mutex_lock(&r->slock);
    for (size_t i = 0; i < r->nremoved; i++)
        if (strcmp(r->removed[i].addr, addr) == 0)
            at = r->removed[i].at_ms;
    pthread_mutex_unlock(&r->slock);
    return at;
}

/* ---- loop thread: commands ---- */

static void loop_apply_cb(struct raft_apply *req, int status, void *result)
{
    (void)result;
    if (status != 0)
        ORC_LOG_W("+raft-command-lost", "error=\"%s\"", raft_strerror(status));
    free(req);
}

int orc_raft_loop_apply(struct orc_raft *r, const char *op, const json_t *value)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct raft_buffer buf = {NULL, 0};
    struct raft_apply *req = malloc(sizeof(*req));
    int rc = req ? orc_raft_cmd_encode(op, value, &b) : ORC_ENOMEM;

    if (rc == 0 && (buf.base = raft_malloc(b.len)) == NULL)
        rc = ORC_ENOMEM;
    if (rc == 0) {
        memcpy(buf.base, b.data, b.len);
        buf.len = b.len;
        if (raft_apply(&r->raft, req, &buf, 1, loop_apply_cb) != 0) {
            raft_free(buf.base);
            rc = ORC_ESTATE;
        }
    }
    orc_buf_release(&b);
    if (rc != 0) {
        free(req);
        ORC_LOG_W("+raft-command-lost", "op=%s error=\"%s\"", op, orc_strerror(rc));
    }
    return rc;
}

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

static void sick_transfer_cb(struct raft_transfer *req)
{
    struct orc_raft *r = req->data;

    r->sick_transfer_pending = false;
}

/* A leader whose applier cannot apply must not lead: it hands leadership to
 * the most up-to-date voter (retried every election timeout). */
static bool refuse_leadership(struct orc_raft *r, int64_t now)
{
    char err[ORC_ERRMSG_SIZE] = "";

    if (orc_raft_applier_healthy(r, err, sizeof(err)))
        return false;
    if (!r->sick_transfer_pending && now - r->sick_transfer_ms >= ORC_RAFT_ELECTION_MS) {
        r->sick_transfer_ms = now;
        r->sick_transfer.data = r;
        if (raft_transfer(&r->raft, &r->sick_transfer, 0, sick_transfer_cb) == 0) {
            r->sick_transfer_pending = true;
            ORC_LOG_W("+raft-leadership-refused", "term=%llu reason=\"%s\"",
                      (unsigned long long)r->raft.current_term, err);
        }
    }
    return true;
}

/* A leader that stalled tilts: it does not act until it knows no other node
 * was elected meanwhile. A barrier appended after the stall and committed in
 * the same term proves it: a majority accepted an entry of this term after the
 * stall, and a majority that had elected someone else would have answered with
 * the newer term (and this node would have stepped down). So the tilt ends at
 * that commit, typically a few ms after the stall, or at the latest after an
 * election timeout as before. */
static void tilt_barrier_cb(struct raft_barrier *req, int status)
{
    struct orc_raft *r = req->data;

    r->tilt_barrier_pending = false;
    if (status != 0 || raft_state(&r->raft) != RAFT_LEADER ||
        r->raft.current_term != r->tilt_barrier_term || r->tilt_barrier_seq != r->tilt_seq)
        return;
    if (r->tilt_until_ms > orc_mono_ms()) {
        r->tilt_until_ms = 0;
        ORC_LOG_N("+raft-tilt-confirmed", "term=%llu after_ms=%lld",
                  (unsigned long long)r->raft.current_term,
                  (long long)(orc_mono_ms() - r->tilt_barrier_ms));
    }
}

static void confirm_tilt(struct orc_raft *r, int64_t now)
{
    if (r->tilt_until_ms <= now || r->tilt_barrier_pending || r->tilt_barrier_seq == r->tilt_seq)
        return;
    r->tilt_barrier.data = r;
    if (raft_barrier(&r->raft, &r->tilt_barrier, tilt_barrier_cb) == 0) {
        r->tilt_barrier_pending = true;
        r->tilt_barrier_seq = r->tilt_seq;
        r->tilt_barrier_term = r->raft.current_term;
        r->tilt_barrier_ms = now;
    }
}

static void leader_duties(struct orc_raft *r, int64_t now)
{
    raft_term term = r->raft.current_term;

    if (refuse_leadership(r, now))
        return;

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
    confirm_tilt(r, now);
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
    bool ready, was_ready;
    struct orc_raft_info *st = &r->st;
    char prev_state[16], prev_leader[ORC_RAFT_ADDR_MAX];

    raft_leader(&r->raft, &lid, &laddr);
    ready = s == RAFT_LEADER && !r->closing && r->barrier_term == r->raft.current_term &&
            orc_raft_applier_done(r) >= r->barrier_seq && now >= r->tilt_until_ms &&
            orc_raft_applier_healthy(r, NULL, 0);
    pthread_mutex_lock(&r->slock);
    was_ready = st->is_leader;
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
    /* the recovery loop looks at once (a failure may be waiting for a leader) */
    if (ready && !was_ready) {
        pthread_mutex_lock(&r->ready_lock);
        if (r->on_ready != NULL)
            r->on_ready(r->on_ready_arg);
        pthread_mutex_unlock(&r->ready_lock);
    }
    if (strcmp(prev_state, st->state) != 0)
        ORC_LOG_N("+raft-state", "state=%s previous=%s term=%llu", st->state,
                  prev_state[0] ? prev_state : "-", (unsigned long long)r->raft.current_term);
    if (strcmp(prev_leader, laddr ? laddr : "") != 0)
        ORC_LOG_N("+raft-leader", "leader=%s previous=%s", laddr ? laddr : "-",
                  prev_leader[0] ? prev_leader : "-");
}

static void handover_tick(struct orc_raft *r, int64_t now);

/* The only voter of its configuration (loop thread): nobody else can be
 * elected while it stalls, so a stall needs no tilt. */
static bool sole_voter(struct orc_raft *r)
{
    const struct raft_configuration *c = &r->raft.configuration;
    unsigned voters = 0;

    for (unsigned i = 0; i < c->n; i++)
        voters += c->servers[i].role == RAFT_VOTER;
    return voters == 1;
}

/* A stall: the loop did not run for longer than ORC_RAFT_STALL_MS (SIGSTOP,
 * a VM pause, swapping). Checked after every poll of the loop (a check
 * handle) and at each tick, so after a stop it is seen before raft's own
 * timers run again. */
static void stall_check(struct orc_raft *r, int64_t now)
{
    int64_t gap = r->alive_ms != 0 ? now - r->alive_ms : 0;

    r->alive_ms = now;
    if (gap <= ORC_RAFT_STALL_MS || sole_voter(r))
        return;
    r->tilt_until_ms = now + ORC_RAFT_ELECTION_MS;
    r->tilt_seq++;
    /* A follower's election timer ran out only because this process was
     * stalled: it waits a whole timeout for the leader's next heartbeat
     * before campaigning, instead of deposing a leader that resumed with it
     * (a frozen pair: their elections split the vote and cost ~0.5 s). */
    if (raft_state(&r->raft) == RAFT_FOLLOWER)
        r->raft.election_timer_start = r->raft.io->time(r->raft.io);
    ORC_LOG_W("+raft-tilt", "stalled_ms=%lld state=%s", (long long)gap,
              orc_raft_state_name(raft_state(&r->raft)));
}

void orc_raft_check_cb(uv_check_t *c)
{
    struct orc_raft *r = c->data;

    if (!r->closing)
        stall_check(r, orc_mono_ms());
}

void orc_raft_tick_cb(uv_timer_t *t)
{
    struct orc_raft *r = t->data;
    int64_t now = orc_mono_ms();

    if (r->last_tick_ms != 0 && now - r->last_tick_ms > r->max_stall_ms) {
        pthread_mutex_lock(&r->slock);
        r->max_stall_ms = now - r->last_tick_ms;
        pthread_mutex_unlock(&r->slock);
    }
    stall_check(r, now);
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
    orc_raft_watch_tick(r, now);
    update_state(r, now);
}

/* ---- loop thread: stop ---- */

static void loop_raft_closed(struct raft *raft)
{
    struct orc_raft *r = raft->data;

    raft_uv_close(&r->io);
    orc_raft_auth_close(&r->transport);
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
    uv_check_stop(&r->check);
    uv_close((uv_handle_t *)&r->check, NULL);
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

void orc_raft_async_cb(uv_async_t *a)
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

/* ---- public calls (any thread) ---- */

void orc_raft_on_ready(struct orc_raft *r, void (*cb)(void *arg), void *arg)
{
    pthread_mutex_lock(&r->ready_lock);
    r->on_ready = cb;
    r->on_ready_arg = arg;
    pthread_mutex_unlock(&r->ready_lock);
}

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

uint64_t orc_raft_leader_term(struct orc_raft *r)
{
    uint64_t term = 0;

    if (r == NULL)
        return 0;
    pthread_mutex_lock(&r->slock);
    if (r->st.is_leader && !r->stopped && orc_mono_ms() - r->st.updated_ms <= ORC_RAFT_STALL_MS)
        term = r->st.term;
    pthread_mutex_unlock(&r->slock);
    return term;
}

void orc_raft_info(struct orc_raft *r, struct orc_raft_info *out)
{
    pthread_mutex_lock(&r->slock);
    *out = r->st;
    out->max_stall_ms = r->max_stall_ms;
    out->id = r->id;
    orc_strlcpy(out->bind, r->bind, sizeof(out->bind));
    orc_strlcpy(out->advertise, r->advertise, sizeof(out->advertise));
    orc_strlcpy(out->http_uri, r->http_uri, sizeof(out->http_uri));
    pthread_mutex_unlock(&r->slock);
    out->applier_error[0] = '\0';
    out->applier_healthy =
        orc_raft_applier_healthy(r, out->applier_error, sizeof(out->applier_error));
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
