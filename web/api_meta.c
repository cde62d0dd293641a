/* Meta routes: load-balancer and leader checks, health and status, whoami. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/be.h"
#include "recovery/rec.h"
#include "web/web_int.h"

static bool is_leader(const struct web_req *r)
{
    return r->deps->is_leader == NULL || r->deps->is_leader(r->deps->node);
}

static void h_lb_check(struct web_req *r)
{
    web_reply_json(r, 200, json_string("OK"));
}

static void leader_check(struct web_req *r, int not_leader_status)
{
    if (is_leader(r))
        web_reply_json(r, 200, json_string("OK"));
    else
        web_reply_json(r, not_leader_status, json_string("Not leader"));
}

static void h_leader_check(struct web_req *r)
{
    leader_check(r, 404);
}

static void h_leader_check_code(struct web_req *r)
{
    int64_t code;

    if (orc_parse_int64(web_param(r, 0), 100, 599, &code) != 0) {
        web_reply_error(r, 400, "invalid status code: '%s'", web_param(r, 0));
        return;
    }
    leader_check(r, (int)code);
}

static int count_row(void *ctx, int ncols, const char *const *vals, const char *const *names)
{
    (void)ncols;
    (void)vals;
    (void)names;
    (*(int *)ctx)++;
    return 0;
}

static json_t *health_status(struct web_req *r, bool *healthy, char *err, size_t len)
{
    char host[256] = "";
    int rows = 0;
    bool leader = is_leader(r);
    json_t *st, *kv, *cs;

    gethostname(host, sizeof(host) - 1);
    *healthy = true;
    if (r->deps->be != NULL &&
        be_query(r->deps->be, "SELECT 1", NULL, 0, count_row, &rows, err, len) != 0)
        *healthy = false;
    st = json_pack("{s:b, s:s, s:s, s:b, s:n, s:s, s:[], s:s, s:b, s:s, s:s, s:[]}", "Healthy",
                   *healthy, "Hostname", host, "Token", "", "IsActiveNode", leader, "ActiveNode",
                   "Error", *healthy ? "" : err, "AvailableNodes", "RaftLeader", "", "IsRaftLeader",
                   leader, "RaftLeaderURI", "", "RaftAdvertise", "", "RaftHealthyMembers");
    web_raft_health_details(r->deps, st); /* raft: the Raft* fields */
    if (st != NULL && json_is_false(json_object_get(st, "RaftApplierHealthy"))) {
        /* the node cannot apply the replicated log: its state is stale */
        *healthy = false;
        json_object_set_new(st, "Healthy", json_false());
        json_object_set(st, "Error", json_object_get(st, "RaftApplierError"));
    }
    if (st != NULL && r->deps->config_status != NULL &&
        (cs = r->deps->config_status(r->deps->node)) != NULL) {
        /* extensions: the recovery config across the raft members */
        json_object_set(st, "ConfigFingerprint", json_object_get(cs, "Fingerprint"));
        json_object_set(st, "ConfigMismatch", json_object_get(cs, "Mismatch"));
        json_decref(cs);
    }
    if (st != NULL && (kv = rec_kv_status(r->deps->rec)) != NULL)
        json_object_set_new(st, "KVStores", kv); /* an extension: each store's state */
    return st;
}

/* Health is served without credentials (load balancers); such a caller
 * learns only whether the node is healthy and leads, not its host name,
 * raft addresses or the backend's error text. */
static json_t *redact(json_t *st)
{
    json_t *pub = json_pack("{s:O, s:O, s:O}", "Healthy", json_object_get(st, "Healthy"),
                            "IsActiveNode", json_object_get(st, "IsActiveNode"), "IsRaftLeader",
                            json_object_get(st, "IsRaftLeader"));

    json_decref(st);
    return pub;
}

static void h_health(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    bool healthy;
    json_t *st = health_status(r, &healthy, err, sizeof(err));

    if (st != NULL && !r->authenticated)
        st = redact(st);

    if (healthy) {
        web_reply_ok(r, "Application node is healthy", st);
    } else {
        json_t *env = json_pack("{s:s, s:s, s:o}", "Code", "ERROR", "Message",
                                "Application node is unhealthy", "Details", st);
        web_reply_json(r, 500, env);
    }
}

/* whoami (an extension, for the web UI): who the server takes the caller
 * for and whether it may change state, so the UI offers actions only to
 * those allowed to use them. Answered by the node itself: every node applies
 * the same authentication. */
static void h_whoami(struct web_req *r)
{
    const struct orc_config *cfg = r->deps->cfg;
    json_t *j = json_pack("{s:s?, s:b, s:b, s:s, s:b}", "User", r->user, "Authenticated",
                          r->authenticated, "CanWrite", r->can_write, "AuthenticationMethod",
                          cfg->AuthenticationMethod, "ReadOnly", cfg->ReadOnly);

    if (j == NULL) {
        web_reply_error(r, 500, "whoami: out of memory");
        return;
    }
    web_reply_json(r, 200, j);
}

const struct web_route web_routes_meta[] = {
    {"lb-check", h_lb_check, WEB_NOPROXY | WEB_NOAUTH},
    {"_ping", h_lb_check, WEB_NOPROXY | WEB_NOAUTH},
    {"leader-check", h_leader_check, WEB_NOPROXY | WEB_NOAUTH},
    {"leader-check/:code", h_leader_check_code, WEB_NOPROXY | WEB_NOAUTH},
    {"routed-leader-check", h_leader_check, WEB_NOAUTH},
    {"health", h_health, WEB_NOPROXY | WEB_NOAUTH},
    {"status", h_health, WEB_NOPROXY | WEB_NOAUTH},
    {"whoami", h_whoami, WEB_NOPROXY},
};
const size_t web_routes_meta_len = ORC_ARRAY_LEN(web_routes_meta);
