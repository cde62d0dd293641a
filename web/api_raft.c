/*
 * Raft routes: raft-state, raft-leader, raft-health, raft-status,
 * raft-peers (this node's view, never proxied), and the leader-only
 * raft-yield, raft-yield-hint, raft-snapshot, raft-add-peer and
 * raft-remove-peer (proxied: a follower forwards them to the leader, which
 * is the only node able to act). raft-add-peer with rejoin=<ms> is a node's
 * own request to be added (orchestrator/raft_join.c). Raw JSON strings/objects as orchestrator
 * answers them; an ERROR envelope when raft is off or the call failed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "web/web_int.h"

static const struct web_raft_ops *ops_of(struct web_req *r)
{
    if (r->deps->raft == NULL) {
        web_reply_error(r, 500, "raft is not enabled on this node");
        return NULL;
    }
    return r->deps->raft;
}

/* The raft-status object, or NULL after replying. */
static json_t *status_of(struct web_req *r)
{
    const struct web_raft_ops *ops = ops_of(r);
    json_t *st = ops ? ops->status(r->deps->raft_ctx) : NULL;

    if (ops != NULL && st == NULL)
        web_reply_error(r, 500, "raft status: out of memory");
    return st;
}

static int http_status(int rc)
{
    switch (rc) {
        case ORC_EINVAL:
            return 400;
        case ORC_ENOTFOUND:
            return 404;
        case ORC_EPERM:
        case ORC_ESTATE:
            return 503;
        case ORC_ETIMEDOUT:
            return 504;
        default:
            return 500;
    }
}

static void reply_field(struct web_req *r, const char *field)
{
    json_t *st = status_of(r);

    if (st == NULL)
        return;
    web_reply_json(r, 200, json_incref(json_object_get(st, field)));
    json_decref(st);
}

static void h_state(struct web_req *r)
{
    reply_field(r, "State");
}

static void h_leader(struct web_req *r)
{
    reply_field(r, "Leader");
}

static void h_peers(struct web_req *r)
{
    reply_field(r, "Peers");
}

static void h_status(struct web_req *r)
{
    json_t *st = status_of(r);

    if (st != NULL)
        web_reply_json(r, 200, st);
}

static void h_health(struct web_req *r)
{
    json_t *st = status_of(r);

    if (st == NULL)
        return;
    if (json_is_true(json_object_get(st, "Healthy")))
        web_reply_json(r, 200, json_string("healthy"));
    else
        web_reply_error(r, 500, "unhealthy");
    json_decref(st);
}

static void h_yield(struct web_req *r)
{
    const struct web_raft_ops *ops = ops_of(r);
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (ops == NULL)
        return;
    rc = ops->yield(r->deps->raft_ctx, web_param(r, 0), err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, http_status(rc), "raft-yield: %s", err);
    else
        web_reply_ok(r, "Asynchronously yielded", json_string(web_param(r, 0)));
}

static void h_yield_hint(struct web_req *r)
{
    const struct web_raft_ops *ops = ops_of(r);
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (ops == NULL)
        return;
    rc = ops->yield_hint(r->deps->raft_ctx, web_param(r, 0), err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, http_status(rc), "raft-yield-hint: %s", err);
    else
        web_reply_ok(r, "Asynchronously yielded", json_string(web_param(r, 0)));
}

static void h_snapshot(struct web_req *r)
{
    const struct web_raft_ops *ops = ops_of(r);
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (ops == NULL)
        return;
    rc = ops->snapshot(r->deps->raft_ctx, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, http_status(rc), "raft-snapshot: %s", err);
    else
        web_reply_json(r, 200, json_string("snapshot created"));
}

static void h_add_peer(struct web_req *r)
{
    const struct web_raft_ops *ops = ops_of(r);
    const char *role = web_query(r, "role"), *rejoin = web_query(r, "rejoin");
    char err[ORC_ERRMSG_SIZE] = "", norm[128] = "", *end;
    long long uptime;
    bool voter = true;
    int rc;

    if (ops == NULL)
        return;
    if (role != NULL && strcmp(role, "voter") != 0) {
        if (strcmp(role, "nonvoter") != 0 && strcmp(role, "standby") != 0) {
            web_reply_error(r, 400, "raft-add-peer: role must be voter or nonvoter, not '%s'",
                            role);
            return;
        }
        voter = false;
    }
    if (rejoin != NULL) { /* a node's own request (its joiner) */
        errno = 0;
        uptime = strtoll(rejoin, &end, 10);
        if (errno != 0 || end == rejoin || *end != '\0' || uptime < 0) {
            web_reply_error(r, 400, "raft-add-peer: rejoin must be a number of ms, not '%s'",
                            rejoin);
            return;
        }
        rc = ops->rejoin(r->deps->raft_ctx, web_param(r, 0), voter, (int64_t)uptime,
                         web_query(r, "proof"), norm, sizeof(norm), err, sizeof(err));
    } else {
        rc = ops->add_peer(r->deps->raft_ctx, web_param(r, 0), voter, web_query(r, "proof"), norm,
                           sizeof(norm), err, sizeof(err));
    }
    if (rc != 0)
        web_reply_error(r, http_status(rc), "raft-add-peer: %s", err);
    else
        web_reply_json(r, 200, json_string(norm));
}

static void h_remove_peer(struct web_req *r)
{
    const struct web_raft_ops *ops = ops_of(r);
    char err[ORC_ERRMSG_SIZE] = "", norm[128] = "";
    int rc;

    if (ops == NULL)
        return;
    rc = ops->remove_peer(r->deps->raft_ctx, web_param(r, 0), norm, sizeof(norm), err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, http_status(rc), "raft-remove-peer: %s", err);
    else
        web_reply_json(r, 200, json_string(norm));
}

void web_raft_health_details(const struct web_deps *deps, json_t *details)
{
    json_t *st;

    if (deps->raft == NULL || details == NULL)
        return;
    st = deps->raft->status(deps->raft_ctx);
    if (st == NULL)
        return;
    json_object_set(details, "RaftLeader", json_object_get(st, "Leader"));
    json_object_set(details, "IsRaftLeader", json_object_get(st, "IsLeaderReady"));
    json_object_set(details, "RaftLeaderURI", json_object_get(st, "LeaderURI"));
    json_object_set(details, "RaftAdvertise", json_object_get(st, "RaftAdvertise"));
    json_object_set(details, "RaftHealthyMembers", json_object_get(st, "HealthyMembers"));
    json_object_set(details, "RaftApplierHealthy", json_object_get(st, "ApplierHealthy"));
    json_object_set(details, "RaftApplierError", json_object_get(st, "ApplierError"));
    json_decref(st);
}

const struct web_route web_routes_raft[] = {
    {"raft-state", h_state, WEB_NOPROXY},
    {"raft-leader", h_leader, WEB_NOPROXY},
    {"raft-health", h_health, WEB_NOPROXY | WEB_NOAUTH},
    {"raft-status", h_status, WEB_NOPROXY},
    {"raft-peers", h_peers, WEB_NOPROXY},
    {"raft-yield/:node", h_yield, WEB_WRITE},
    {"raft-yield-hint/:hint", h_yield_hint, WEB_WRITE},
    {"raft-snapshot", h_snapshot, WEB_WRITE},
    {"raft-add-peer/:addr", h_add_peer, WEB_WRITE},
    {"raft-remove-peer/:addr", h_remove_peer, WEB_WRITE},
};
const size_t web_routes_raft_len = ORC_ARRAY_LEN(web_routes_raft);
