/*
 * api_semisync: enable-semi-sync-master, disable-semi-sync-master,
 * enable-semi-sync-replica and disable-semi-sync-replica (/:host/:port).
 * Write routes: refused to read-only users and forwarded to the leader like
 * the other mutating routes. The work (and its audit entry) is done by
 * recovery/semisync.c; this file parses, maps errors to statuses and
 * answers with orchestrator's message and the Instance afterwards.
 */
#include <string.h>

#include "discovery/disc.h"
#include "recovery/rec.h"
#include "web/web_int.h"

static void set_semisync(struct web_req *r, bool master, bool enable)
{
    struct rec_planned_result res;
    struct orc_key k;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (r->rec == NULL || r->deps->topo == NULL) {
        web_reply_error(r, 503, "topology operations are not available on this node");
        return;
    }
    if (web_param_key_any(r, 0, &k) != 0)
        return; /* replied */
    rc = rec_semisync_set(r->rec, &k, master, enable, r->user, &res, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, web_status_of(rc), "%s", err);
    else
        web_reply_instance(r, &res.key, res.message);
}

static void h_enable_master(struct web_req *r)
{
    set_semisync(r, true, true);
}

static void h_disable_master(struct web_req *r)
{
    set_semisync(r, true, false);
}

static void h_enable_replica(struct web_req *r)
{
    set_semisync(r, false, true);
}

static void h_disable_replica(struct web_req *r)
{
    set_semisync(r, false, false);
}

const struct web_route web_routes_semisync[] = {
    {"enable-semi-sync-master/:host/:port", h_enable_master, WEB_WRITE},
    {"disable-semi-sync-master/:host/:port", h_disable_master, WEB_WRITE},
    {"enable-semi-sync-replica/:host/:port", h_enable_replica, WEB_WRITE},
    {"disable-semi-sync-replica/:host/:port", h_disable_replica, WEB_WRITE},
};
const size_t web_routes_semisync_len = ORC_ARRAY_LEN(web_routes_semisync);
