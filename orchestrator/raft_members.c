/*
 * raft_members: membership and leadership on the loop thread, and the
 * joiner thread.
 *
 * Adding a node (raft-add-peer): raft_add (spare) -> raft_assign(STANDBY)
 * -> wait until its match index reached the leader's last index at that
 * moment -> raft_assign(VOTER) (0.15 runs its own catch-up rounds too), unless
 * the node joins as a non-voter. One change at a time (raft allows one).
 *
 * Reachability (leader only): raft's progress entry of each server has
 * recent_recv, set when the server answered within the election timeout; the
 * poll timer turns it into a last-contact time per server. With
 * RaftAutoRemoveUnreachableSeconds > 0 the leader removes a server silent for
 * longer than that, never leaving fewer than RaftMinVoters voters.
 *
 * Rejoining (the joiner's requests, raft_join.c): a node asking by itself is
 * added as a standby. One that wants to vote is remembered for
 * ORC_RAFT_WANT_MS (it repeats its request every second) and promoted by
 * the sweep when the voters stay odd: at once when their number is even, when
 * it is odd only with a second such standby, promoted at the next sweep. A
 * node removed by hand is remembered in the log ("raft-removed", with the
 * wall clock time): its requests are refused until its process restarted, or
 * until it is added by hand.
 */
#include <stdlib.h>
#include <string.h>

#include "orchestrator/raft_int.h"

static int server_index(const struct raft_configuration *c, raft_id id)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id == id)
            return (int)i;
    return -1;
}

static unsigned count_voters(const struct raft_configuration *c)
{
    unsigned n = 0;

    for (unsigned i = 0; i < c->n; i++)
        n += c->servers[i].role == RAFT_VOTER;
    return n;
}

/* A small table of (id, time): sets id's time (reusing the oldest slot). */
static void stamp_set(raft_id *ids, int64_t *ms, raft_id id, int64_t now)
{
    int slot = -1;

    for (int k = 0; k < ORC_RAFT_MAX_PEERS; k++) {
        if (ids[k] == id) {
            slot = k;
            break;
        }
        if (slot < 0 || (ids[slot] != 0 && (ids[k] == 0 || ms[k] < ms[slot])))
            slot = k; /* a free slot, else the oldest */
    }
    ids[slot] = id;
    ms[slot] = now;
}

/* id's time, or 0. */
static int64_t stamp_get(const raft_id *ids, const int64_t *ms, raft_id id)
{
    for (int k = 0; k < ORC_RAFT_MAX_PEERS; k++)
        if (ids[k] == id)
            return ms[k];
    return 0;
}

static void stamp_clear(raft_id *ids, raft_id id)
{
    for (int k = 0; k < ORC_RAFT_MAX_PEERS; k++)
        if (ids[k] == id)
            ids[k] = 0;
}

/* ---- membership changes (loop thread) ---- */

/* Replicates that addr was removed by hand now (or is to be forgotten). */
static void note_removed(struct orc_raft *r, const char *addr, bool removed)
{
    json_t *v =
        json_pack("{s:s, s:I}", "Address", addr, "At", (json_int_t)(removed ? orc_wall_ms() : 0));

    if (v != NULL)
        orc_raft_loop_apply(r, "raft-removed", v);
    json_decref(v);
}

/* After a change: a removed member no longer waits for a promotion; one
 * removed by hand is replicated as such, and forgotten when added by hand. */
static void remember_change(struct orc_raft *r, const struct orc_raft_req *q)
{
    if (q->kind == ORC_RREQ_REMOVE)
        stamp_clear(r->want_id, q->id);
    if (q->kind == ORC_RREQ_REMOVE && q->by_hand)
        note_removed(r, q->addr, true);
    else if (q->kind == ORC_RREQ_ADD && !q->rejoin && orc_raft_removed_at(r, q->addr) != 0)
        note_removed(r, q->addr, false);
}

static void finish_change(struct orc_raft *r, struct orc_raft_req *q, int rc, const char *msg)
{
    if (r->change == q)
        r->change = NULL;
    if (rc == 0)
        remember_change(r, q);
    orc_raft_state_refresh(r); /* the answer and raft-peers agree */
    if (rc == 0)
        ORC_LOG_N(q->kind == ORC_RREQ_ADD ? "+raft-member-added" : "+raft-member-removed",
                  "address=%s role=%s", q->addr,
                  q->kind == ORC_RREQ_ADD ? (q->voter ? "voter" : "standby") : "-");
    else
        ORC_LOG_W("+raft-member-change-failed", "address=%s error=\"%s\"", q->addr, msg);
    orc_raft_req_complete(q, rc, NULL, "%s", msg);
    orc_raft_req_put(q);
}

static void change_cb(struct raft_change *req, int status);

/* Runs q's current step; returns a raft error, or 0. */
static int change_step(struct orc_raft *r, struct orc_raft_req *q)
{
    int rv = 0;

    q->change.data = q;
    switch (q->step) {
        case 0:
            rv = raft_add(&r->raft, &q->change, q->id, q->addr, change_cb);
            break;
        case 1:
            rv = raft_assign(&r->raft, &q->change, q->id, RAFT_STANDBY, change_cb);
            break;
        case 2:
            q->catch_up_to = raft_last_index(&r->raft);
            return 0;
        default:
            rv = raft_assign(&r->raft, &q->change, q->id, RAFT_VOTER, change_cb);
            break;
    }
    q->in_raft = rv == 0;
    return rv;
}

static void change_cb(struct raft_change *req, int status)
{
    struct orc_raft_req *q = req->data;
    struct orc_raft *r = q->owner;
    char msg[ORC_ERRMSG_SIZE];
    int rv;

    q->in_raft = false;
    if (r->change != q) { /* aborted while raft held it */
        orc_raft_req_put(q);
        return;
    }
    if (status != 0) {
        snprintf(msg, sizeof(msg), "membership change of '%s': %s", q->addr, raft_strerror(status));
        finish_change(r, q, ORC_ESTATE, msg);
        return;
    }
    if (q->kind == ORC_RREQ_REMOVE || q->step == 3 || (q->step == 1 && !q->voter)) {
        finish_change(r, q, 0, "");
        return;
    }
    q->step++;
    rv = change_step(r, q);
    if (rv != 0) {
        snprintf(msg, sizeof(msg), "membership change of '%s': %s", q->addr, raft_errmsg(&r->raft));
        finish_change(r, q, ORC_ESTATE, msg);
    }
}

/* The first step of an ADD given the server's current role (-1: absent);
 * -2 when nothing is to be done. */
static int add_first_step(const struct orc_raft_req *q, int role)
{
    if (role < 0)
        return 0;
    if ((role == RAFT_VOTER && q->voter) || (role == RAFT_STANDBY && !q->voter))
        return -2;
    if (role == RAFT_SPARE || !q->voter)
        return 1;
    return 2; /* a standby to promote */
}

static const char *change_refusal(struct orc_raft *r, struct orc_raft_req *q, int *rc)
{
    *rc = ORC_ESTATE;
    if (r->closing)
        return "raft is stopping";
    if (raft_state(&r->raft) != RAFT_LEADER) {
        *rc = ORC_EPERM;
        return "this node is not the raft leader";
    }
    if (r->barrier_term != r->raft.current_term)
        return "the leader is not ready yet; try again";
    if (r->change != NULL)
        return "another membership change is in progress";
    if (q->kind == ORC_RREQ_REMOVE && q->id == r->id) {
        *rc = ORC_EINVAL;
        return "cannot remove the leader itself; move leadership away first (raft-yield)";
    }
    return NULL;
}

/* A rejoin request answered at once: refused (removed by hand since the
 * joiner started), or already a member (a standby that wants to vote is
 * remembered for the promotion sweep). False: add it as a standby. */
static bool rejoin_answered(struct orc_raft *r, struct orc_raft_req *q)
{
    const struct raft_configuration *c = &r->raft.configuration;
    int64_t now = orc_mono_ms(), removed;
    int idx;

    if (!q->rejoin || r->closing || raft_state(&r->raft) != RAFT_LEADER)
        return false; /* change_refusal answers */
    removed = orc_raft_removed_at(r, q->addr);
    if (removed != 0 && removed >= orc_wall_ms() - q->uptime_ms) {
        orc_raft_req_complete(q, ORC_EPERM, NULL,
                              "'%s' was removed by hand; restart it, or add it with "
                              "raft-add-peer, to let it join again",
                              q->addr);
        orc_raft_req_put(q);
        return true;
    }
    if (q->wants_vote)
        stamp_set(r->want_id, r->want_ms, q->id, now);
    idx = server_index(c, q->id);
    if (idx < 0 || c->servers[idx].role == RAFT_SPARE)
        return false;
    orc_raft_req_complete(q, 0, NULL, NULL);
    orc_raft_req_put(q);
    return true;
}

void orc_raft_change_start(struct orc_raft *r, struct orc_raft_req *q)
{
    const struct raft_configuration *c = &r->raft.configuration;
    char msg[ORC_ERRMSG_SIZE];
    const char *why;
    int idx, rc, rv;

    if (rejoin_answered(r, q))
        return;
    why = change_refusal(r, q, &rc);
    if (why != NULL) {
        orc_raft_req_complete(q, rc, NULL, "%s", why);
        orc_raft_req_put(q);
        return;
    }
    idx = server_index(c, q->id);
    if (q->kind == ORC_RREQ_REMOVE && idx < 0) {
        orc_raft_req_complete(q, ORC_ENOTFOUND, NULL, "'%s' is not a member", q->addr);
        orc_raft_req_put(q);
        return;
    }
    if (q->kind == ORC_RREQ_ADD) {
        q->step = add_first_step(q, idx < 0 ? -1 : c->servers[idx].role);
        if (q->step == -2) {
            orc_raft_req_complete(q, 0, NULL, NULL);
            orc_raft_req_put(q);
            return;
        }
    }
    r->change = q;
    q->deadline_ms = orc_mono_ms() + ORC_RAFT_CHANGE_TIMEOUT_MS;
    ORC_LOG_N(q->kind == ORC_RREQ_ADD ? "+raft-member-adding" : "+raft-member-removing",
              "address=%s role=%s", q->addr, q->voter ? "voter" : "standby");
    q->change.data = q;
    rv = q->kind == ORC_RREQ_REMOVE ? raft_remove(&r->raft, &q->change, q->id, change_cb)
                                    : change_step(r, q);
    q->in_raft = q->in_raft || (q->kind == ORC_RREQ_REMOVE && rv == 0);
    if (rv != 0) {
        snprintf(msg, sizeof(msg), "membership change of '%s': %s", q->addr, raft_errmsg(&r->raft));
        finish_change(r, q, ORC_ESTATE, msg);
    }
}

/* A standby catching up before its promotion. */
static void change_tick(struct orc_raft *r, int64_t now)
{
    struct orc_raft_req *q = r->change;
    char msg[ORC_ERRMSG_SIZE];
    int idx, rv;

    if (q == NULL || q->in_raft || q->step != 2)
        return;
    if (raft_state(&r->raft) != RAFT_LEADER) {
        finish_change(r, q, ORC_EPERM, "leadership lost during the change");
        return;
    }
    idx = server_index(&r->raft.configuration, q->id);
    if (idx >= 0 && r->raft.leader_state.progress[idx].match_index >= q->catch_up_to) {
        q->step = 3;
        rv = change_step(r, q);
        if (rv != 0) {
            snprintf(msg, sizeof(msg), "promote '%s': %s", q->addr, raft_errmsg(&r->raft));
            finish_change(r, q, ORC_ESTATE, msg);
        }
    } else if (now > q->deadline_ms) {
        snprintf(msg, sizeof(msg), "'%s' did not catch up within %d s (left as a standby)", q->addr,
                 ORC_RAFT_CHANGE_TIMEOUT_MS / 1000);
        finish_change(r, q, ORC_ETIMEDOUT, msg);
    }
}

/* ---- reachability and automatic removal (loop thread, leader) ---- */

static int contact_slot(struct orc_raft *r, raft_id id, int64_t now)
{
    int free_slot = -1;

    for (int k = 0; k < ORC_RAFT_MAX_PEERS; k++) {
        if (r->last_contact_id[k] == id)
            return k;
        if (r->last_contact_id[k] == 0 && free_slot < 0)
            free_slot = k;
    }
    if (free_slot >= 0) {
        r->last_contact_id[free_slot] = id;
        r->last_contact_ms[free_slot] = now; /* a new member gets a grace period */
    }
    return free_slot;
}

static void track_contacts(struct orc_raft *r, int64_t now)
{
    const struct raft_configuration *c = &r->raft.configuration;

    if (r->contact_term != r->raft.current_term) { /* new leadership: all get a grace */
        memset(r->last_contact_id, 0, sizeof(r->last_contact_id));
        r->contact_term = r->raft.current_term;
    }
    for (int k = 0; k < ORC_RAFT_MAX_PEERS; k++)
        if (r->last_contact_id[k] != 0 && server_index(c, r->last_contact_id[k]) < 0)
            r->last_contact_id[k] = 0;
    for (unsigned i = 0; i < c->n; i++) {
        int k = contact_slot(r, c->servers[i].id, now);
        if (k >= 0 && (c->servers[i].id == r->id || r->raft.leader_state.progress[i].recent_recv))
            r->last_contact_ms[k] = now;
    }
}

static void auto_remove(struct orc_raft *r, int64_t now)
{
    const struct raft_configuration *c = &r->raft.configuration;
    int64_t limit = r->cfg->RaftAutoRemoveUnreachableSeconds * 1000;
    struct orc_raft_req *q;

    if (limit <= 0 || r->change != NULL || r->barrier_term != r->raft.current_term ||
        now - r->leader_since_ms < limit)
        return;
    for (unsigned i = 0; i < c->n; i++) {
        int k = contact_slot(r, c->servers[i].id, now);

        if (c->servers[i].id == r->id || k < 0 || now - r->last_contact_ms[k] <= limit)
            continue;
        if (c->servers[i].role == RAFT_VOTER &&
            count_voters(c) - 1 < (unsigned)r->cfg->RaftMinVoters) {
            if (now - r->min_voters_warned_ms > 60000) {
                r->min_voters_warned_ms = now;
                ORC_LOG_W("+raft-auto-remove-skipped",
                          "address=%s reason=\"would leave fewer than RaftMinVoters=%lld voters\"",
                          c->servers[i].address, (long long)r->cfg->RaftMinVoters);
            }
            continue;
        }
        q = orc_raft_req_new(ORC_RREQ_REMOVE);
        if (q == NULL)
            return;
        q->owner = r;
        q->id = c->servers[i].id;
        orc_strlcpy(q->addr, c->servers[i].address, sizeof(q->addr));
        ORC_LOG_N("+raft-auto-remove", "address=%s silent_ms=%lld", q->addr,
                  (long long)(now - r->last_contact_ms[k]));
        orc_raft_change_start(r, q);
        return;
    }
}

/* Promotes a standby that asked to vote (within ORC_RAFT_WANT_MS) and was
 * heard from lately, when the voters stay odd: at once when they are even;
 * when they are odd, only with a second such standby (promoted next). */
static void promote_waiting(struct orc_raft *r, int64_t now)
{
    const struct raft_configuration *c = &r->raft.configuration;
    unsigned voters = count_voters(c), waiting = 0;
    int first = -1;
    struct orc_raft_req *q;

    if (r->change != NULL || r->barrier_term != r->raft.current_term)
        return;
    for (unsigned i = 0; i < c->n; i++) {
        int64_t asked = stamp_get(r->want_id, r->want_ms, c->servers[i].id);
        int k = contact_slot(r, c->servers[i].id, now);

        if (c->servers[i].role != RAFT_STANDBY || asked == 0 || now - asked > ORC_RAFT_WANT_MS ||
            k < 0 || now - r->last_contact_ms[k] > 2 * ORC_RAFT_ELECTION_MS)
            continue;
        waiting++;
        first = first < 0 ? (int)i : first;
    }
    if (!orc_raft_may_promote(voters, waiting))
        return;
    q = orc_raft_req_new(ORC_RREQ_ADD);
    if (q == NULL)
        return;
    q->owner = r;
    q->id = c->servers[first].id;
    q->voter = true;
    orc_strlcpy(q->addr, c->servers[first].address, sizeof(q->addr));
    ORC_LOG_N("+raft-promote", "address=%s voters=%u waiting=%u", q->addr, voters, waiting);
    orc_raft_change_start(r, q);
}

void orc_raft_members_tick(struct orc_raft *r, int64_t now_ms)
{
    if (raft_state(&r->raft) != RAFT_LEADER) {
        r->contact_term = 0;
        if (r->change != NULL && !r->change->in_raft)
            finish_change(r, r->change, ORC_EPERM, "leadership lost during the change");
        return;
    }
    track_contacts(r, now_ms);
    change_tick(r, now_ms);
    if (now_ms >= r->next_sweep_ms) {
        r->next_sweep_ms = now_ms + 1000;
        auto_remove(r, now_ms);
        promote_waiting(r, now_ms);
    }
}

/* ---- leadership transfer (loop thread) ---- */

static void transfer_cb(struct raft_transfer *req)
{
    struct orc_raft_req *q = req->data;
    struct orc_raft *r = q->owner;
    bool moved = raft_state(&r->raft) != RAFT_LEADER;

    q->in_raft = false;
    if (r->xfer == q)
        r->xfer = NULL;
    orc_raft_state_refresh(r); /* stop claiming leadership before answering */
    ORC_LOG_N("+raft-transfer", "moved=%s state=%s", moved ? "yes" : "no",
              orc_raft_state_name(raft_state(&r->raft)));
    orc_raft_req_complete(q, moved ? 0 : ORC_ESTATE, NULL, "%s",
                          moved ? "" : "leadership did not move within the election timeout");
    orc_raft_req_put(q);
}

void orc_raft_transfer_start(struct orc_raft *r, struct orc_raft_req *q)
{
    const struct raft_configuration *c = &r->raft.configuration;
    int idx = q->id ? server_index(c, q->id) : -1;
    int rv;

    if (r->closing || raft_state(&r->raft) != RAFT_LEADER || r->xfer != NULL) {
        orc_raft_req_complete(q, r->xfer ? ORC_ESTATE : ORC_EPERM, NULL, "%s",
                              r->xfer ? "a transfer is in progress" : "not the raft leader");
    } else if (q->id == r->id) {
        orc_raft_req_complete(q, 0, NULL, NULL); /* already there */
    } else if (q->id != 0 && (idx < 0 || c->servers[idx].role != RAFT_VOTER)) {
        orc_raft_req_complete(q, ORC_ENOTFOUND, NULL, "'%s' is not a voter", q->addr);
    } else {
        q->transfer.data = q;
        rv = raft_transfer(&r->raft, &q->transfer, q->id, transfer_cb);
        if (rv == 0) {
            q->in_raft = true;
            r->xfer = q;
            return;
        }
        orc_raft_req_complete(q, ORC_ESTATE, NULL, "raft_transfer: %s", raft_errmsg(&r->raft));
    }
    orc_raft_req_put(q);
}

void orc_raft_members_abort(struct orc_raft *r)
{
    struct orc_raft_req *q = r->change;

    if (q != NULL) {
        r->change = NULL;
        orc_raft_req_complete(q, ORC_ESTATE, NULL, "raft is stopping");
        if (!q->in_raft) /* else change_cb drops the loop's reference */
            orc_raft_req_put(q);
    }
    if (r->xfer != NULL)
        orc_raft_req_complete(r->xfer, ORC_ESTATE, NULL, "raft is stopping");
}

/* ---- public calls (any thread) ---- */

/* What a call asks besides its kind and address. */
struct call_opts {
    bool voter, rejoin, wants_vote, by_hand;
    int64_t uptime_ms;
};

static int leader_call(struct orc_raft *r,
                       enum orc_raft_req_kind kind,
                       const char *addr,
                       const struct call_opts *o,
                       int64_t timeout_ms,
                       char *norm,
                       size_t normlen,
                       char *errmsg,
                       size_t len)
{
    struct orc_raft_req *q;
    char a[ORC_RAFT_ADDR_MAX] = "";
    int rc;

    if (r == NULL)
        return ORC_ESTATE;
    if (addr != NULL) {
        rc = orc_raft_addr_normalize(addr, (int)r->cfg->DefaultRaftPort, a, sizeof(a), errmsg, len);
        if (rc != 0)
            return rc;
        if (norm != NULL)
            orc_strlcpy(norm, a, normlen);
    }
    q = orc_raft_req_new(kind);
    if (q == NULL)
        return ORC_ENOMEM;
    orc_strlcpy(q->addr, a, sizeof(q->addr));
    q->id = addr ? orc_raft_id_of(a) : 0;
    q->voter = o->voter;
    q->rejoin = o->rejoin;
    q->wants_vote = o->wants_vote;
    q->by_hand = o->by_hand;
    q->uptime_ms = o->uptime_ms;
    return orc_raft_req_run(r, q, timeout_ms, NULL, errmsg, len);
}

int orc_raft_transfer(struct orc_raft *r, const char *target, char *errmsg, size_t len)
{
    const struct call_opts o = {0};

    return leader_call(r, ORC_RREQ_TRANSFER, target, &o, 2 * ORC_RAFT_ELECTION_MS + 2000, NULL, 0,
                       errmsg, len);
}

int orc_raft_add_peer(struct orc_raft *r,
                      const char *addr,
                      bool voter,
                      char *norm,
                      size_t normlen,
                      char *errmsg,
                      size_t len)
{
    const struct call_opts o = {.voter = voter};

    return leader_call(r, ORC_RREQ_ADD, addr, &o, ORC_RAFT_CHANGE_TIMEOUT_MS + 5000, norm, normlen,
                       errmsg, len);
}

int orc_raft_rejoin(struct orc_raft *r,
                    const char *addr,
                    bool wants_vote,
                    int64_t uptime_ms,
                    char *norm,
                    size_t normlen,
                    char *errmsg,
                    size_t len)
{
    const struct call_opts o = {.rejoin = true, .wants_vote = wants_vote, .uptime_ms = uptime_ms};

    return leader_call(r, ORC_RREQ_ADD, addr, &o, ORC_RAFT_CHANGE_TIMEOUT_MS + 5000, norm, normlen,
                       errmsg, len);
}

int orc_raft_remove_peer(struct orc_raft *r,
                         const char *addr,
                         char *norm,
                         size_t normlen,
                         char *errmsg,
                         size_t len)
{
    const struct call_opts o = {.by_hand = true};

    return leader_call(r, ORC_RREQ_REMOVE, addr, &o, ORC_RAFT_CHANGE_TIMEOUT_MS, norm, normlen,
                       errmsg, len);
}
