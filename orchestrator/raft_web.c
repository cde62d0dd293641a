/*
 * raft_web: what the raft layer offers web/ (struct web_raft_ops): the
 * proxy decision, the raft-status object and the leader-only operations
 * behind the raft-* routes. The web module never includes orchestrator/
 * headers; it calls these through deps->raft with deps->raft_ctx.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/raft_int.h"
#include "web/web.h"

static const char *role_text(int role)
{
    return role == RAFT_VOTER ? "Voter" : role == RAFT_STANDBY ? "NonVoter" : "Spare";
}

static json_t *status_json(const struct orc_raft *r, const struct orc_raft_info *st)
{
    json_t *peers = json_array(), *members = json_array(), *healthy = json_array();
    bool leader = strcmp(st->state, "Leader") == 0;

    for (size_t i = 0; i < st->npeers; i++) {
        const struct orc_raft_peer *p = &st->peers[i];

        json_array_append_new(peers, json_string(p->addr));
        json_array_append_new(members, json_pack("{s:s, s:s, s:b}", "Address", p->addr, "Role",
                                                 role_text(p->role), "Reachable", p->reachable));
        if (leader && p->reachable)
            json_array_append_new(healthy, json_string(p->addr));
    }
    return json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:s, s:s, s:o, s:o, s:o, s:b, s:s, s:I, s:I, "
        "s:I, s:I, s:b, s:s, s:I}",
        "RaftBind", r->cfg->RaftBind, "RaftAdvertise", st->advertise, "State", st->state, "Healthy",
        (leader || strcmp(st->state, "Follower") == 0) && st->applier_healthy, "IsPartOfQuorum",
        st->member && st->voter, "Leader", st->leader, "LeaderURI", st->leader_uri, "Peers", peers,
        "Members", members, "HealthyMembers", healthy, "IsLeaderReady", st->is_leader,
        "HTTPAdvertise", st->http_uri, "Term", (json_int_t)st->term, "CommitIndex",
        (json_int_t)st->commit_index, "LastApplied", (json_int_t)st->last_applied, "LastIndex",
        (json_int_t)st->last_index, "ApplierHealthy", st->applier_healthy, "ApplierError",
        st->applier_error, "MaxLoopStallMillis", (json_int_t)st->max_stall_ms);
}

static json_t *op_status(void *ctx)
{
    struct orc_raft *r = ctx;
    struct orc_raft_info *st = malloc(sizeof(*st));
    json_t *j;

    if (st == NULL)
        return NULL;
    orc_raft_info(r, st);
    j = status_json(r, st);
    free(st);
    return j;
}

static int op_forward(void *ctx, bool write, char *uri, size_t len)
{
    return orc_raft_forward(ctx, write, uri, len);
}

static int op_yield(void *ctx, const char *addr, char *errmsg, size_t len)
{
    return orc_raft_transfer(ctx, addr, errmsg, len);
}

/* Leadership moves away unless this node's name contains hint; to a voter
 * whose address contains it when there is one. */
static int op_yield_hint(void *ctx, const char *hint, char *errmsg, size_t len)
{
    struct orc_raft *r = ctx;
    struct orc_raft_info *st;
    char host[256] = "";
    const char *target = NULL;
    int rc;

    gethostname(host, sizeof(host) - 1);
    if (strstr(r->cfg->RaftAdvertise, hint) != NULL || strstr(r->advertise, hint) != NULL ||
        strstr(host, hint) != NULL)
        return 0;
    st = malloc(sizeof(*st));
    if (st == NULL)
        return ORC_ENOMEM;
    orc_raft_info(r, st);
    for (size_t i = 0; i < st->npeers && target == NULL; i++)
        if (st->peers[i].role == RAFT_VOTER && st->peers[i].id != st->id &&
            strstr(st->peers[i].addr, hint) != NULL)
            target = st->peers[i].addr;
    rc = orc_raft_transfer(r, target, errmsg, len);
    free(st);
    return rc;
}

static int op_snapshot(void *ctx, char *errmsg, size_t len)
{
    return orc_raft_snapshot(ctx, errmsg, len);
}

/* With RaftSecret, a membership request must carry the joiner's proof
 * (orc_raft_auth_join_proof) for this address and role. */
static int join_allowed(struct orc_raft *r,
                        const char *addr,
                        const char *role,
                        const char *proof,
                        char *errmsg,
                        size_t len)
{
    bool plain;

    if (orc_raft_auth_join_check(r->cfg->RaftSecret, addr, role, proof, time(NULL)) == 0)
        return 0;
    plain = addr != NULL && addr[0] != '\0' && strlen(addr) < ORC_RAFT_ADDR_MAX &&
            strspn(addr,
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789.:-_[]") == strlen(addr);
    ORC_LOG_W("+raft-peer-refused", "join=%s role=%s reason=\"%s\"",
              plain ? addr : "(not an address)", role,
              proof != NULL && proof[0] != '\0' ? "bad join proof" : "no join proof");
    orc_errf(errmsg, len, "'%s': RaftSecret is set: a join needs a valid proof", addr);
    return ORC_EPERM;
}

static int op_add_peer(void *ctx,
                       const char *addr,
                       bool voter,
                       const char *proof,
                       char *norm,
                       size_t normlen,
                       char *errmsg,
                       size_t len)
{
    int rc = join_allowed(ctx, addr, voter ? "voter" : "nonvoter", proof, errmsg, len);

    return rc != 0 ? rc : orc_raft_add_peer(ctx, addr, voter, norm, normlen, errmsg, len);
}

static int op_rejoin(void *ctx,
                     const char *addr,
                     bool wants_vote,
                     int64_t uptime_ms,
                     const char *proof,
                     char *norm,
                     size_t normlen,
                     char *errmsg,
                     size_t len)
{
    int rc = join_allowed(ctx, addr, wants_vote ? "voter" : "nonvoter", proof, errmsg, len);

    return rc != 0 ? rc
                   : orc_raft_rejoin(ctx, addr, wants_vote, uptime_ms, norm, normlen, errmsg, len);
}

static int op_remove_peer(void *ctx,
                          const char *addr,
                          char *norm,
                          size_t normlen,
                          char *errmsg,
                          size_t len)
{
    return orc_raft_remove_peer(ctx, addr, norm, normlen, errmsg, len);
}

const struct web_raft_ops orc_raft_web_ops = {
    .forward = op_forward,
    .status = op_status,
    .yield = op_yield,
    .yield_hint = op_yield_hint,
    .snapshot = op_snapshot,
    .add_peer = op_add_peer,
    .rejoin = op_rejoin,
    .remove_peer = op_remove_peer,
};
