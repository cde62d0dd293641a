/*
 * api_gtid: orchestrator's errant GTID routes: locate-gtid-errant (Details:
 * the binary log names), gtid-errant-reset-master and
 * gtid-errant-inject-empty (Details: the Instance afterwards). The work is
 * done by recovery/errant.c; this file parses, maps errors to statuses and
 * shapes the answers. The two fixes are write routes: refused to read-only
 * users, forwarded to the raft leader like every other write.
 */
#include <string.h>

#include "discovery/disc.h"
#include "recovery/rec.h"
#include "web/web_int.h"

/* The instance of params 0, 1 as the topology knows it; false after replying. */
static bool instance_param(struct web_req *r, struct orc_key *k)
{
    struct disc_snapshot *s;
    int i;

    if (!web_need_rec(r))
        return false;
    if ((s = web_snapshot(r)) == NULL)
        return false;
    i = web_find_instance(r, s, 0, k, true);
    disc_snapshot_put(s);
    return i >= 0;
}

static void h_locate(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    json_t *files = NULL;
    struct orc_key k;
    int rc;

    if (!instance_param(r, &k))
        return;
    rc = rec_errant_locate(r->rec, &k, &files, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, web_status_of(rc), "%s", err);
    else
        web_reply_ok(r, "located errant GTID", files);
}

static void fix(struct web_req *r, enum rec_errant_op op)
{
    char err[ORC_ERRMSG_SIZE] = "";
    struct rec_errant_result res;
    struct orc_key k;
    int rc;

    if (!instance_param(r, &k))
        return;
    rc = rec_errant_fix(r->rec, op, &k, r->user, &res, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, web_status_of(rc), "%s", err);
    else
        web_reply_instance(r, &res.key, res.message);
}

static void h_reset_master(struct web_req *r)
{
    fix(r, REC_ERRANT_RESET_MASTER);
}

static void h_inject_empty(struct web_req *r)
{
    fix(r, REC_ERRANT_INJECT_EMPTY);
}

const struct web_route web_routes_gtid[] = {
    {"locate-gtid-errant/:host/:port", h_locate, WEB_READ},
    {"gtid-errant-reset-master/:host/:port", h_reset_master, WEB_WRITE},
    {"gtid-errant-inject-empty/:host/:port", h_inject_empty, WEB_WRITE},
};
const size_t web_routes_gtid_len = ORC_ARRAY_LEN(web_routes_gtid);
