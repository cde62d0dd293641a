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

static int status_of(int rc)
{
    switch (rc) {
        case ORC_EINVAL:
            return 400;
        case ORC_EPERM:
            return 403;
        case ORC_ENOTFOUND:
            return 404;
        case ORC_ESTATE:
            return 409;
        case ORC_ETIMEDOUT:
            return 504;
        default:
            return 500;
    }
}

/* Envelope OK, Details = the Instance as the live snapshot shows it (its
 * key when the topology does not know it). */
static void reply_instance(struct web_req *r, const struct rec_planned_result *res)
{
    struct disc_snapshot *s = disc_topo_snapshot(r->deps->topo);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    int i = s != NULL ? disc_snapshot_find(s, &res->key) : -1;

    web_jw_init(&w, &b);
    if (i >= 0)
        web_json_instance(&w, s, (size_t)i);
    else
        web_jw_key(&w, NULL, &res->key);
    if (w.err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_envelope_raw(r, 200, "OK", res->message, b.data, b.len);
    orc_buf_release(&b);
    disc_snapshot_put(s);
}

static void set_semisync(struct web_req *r, bool master, bool enable)
{
    struct rec_planned_result res;
    struct orc_key k;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (r->deps->rec == NULL || r->deps->topo == NULL) {
        web_reply_error(r, 503, "topology operations are not available on this node");
        return;
    }
    if (web_param_key_any(r, 0, &k) != 0)
        return; /* replied */
    rc = rec_semisync_set(r->deps->rec, &k, master, enable, r->user, &res, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, status_of(rc), "%s", err);
    else
        reply_instance(r, &res);
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
