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

static int status_of(int rc)
{
    switch (rc) {
        case ORC_EINVAL:
            return 400;
        case ORC_EPERM:
            return 403;
        case ORC_ENOTFOUND:
            return 404;
        case ORC_EEXIST:
        case ORC_ESTATE:
            return 409;
        case ORC_ETIMEDOUT:
            return 504;
        default:
            return 500;
    }
}

/* The instance of params 0, 1 as the topology knows it; false after replying. */
static bool instance_param(struct web_req *r, struct orc_key *k)
{
    struct disc_snapshot *s;
    int i;

    if (r->deps->rec == NULL) {
        web_reply_error(r, 503, "topology operations are not available on this node");
        return false;
    }
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
    rc = rec_errant_locate(r->deps->rec, &k, &files, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, status_of(rc), "%s", err);
    else
        web_reply_ok(r, "located errant GTID", files);
}

/* Envelope OK, Details = the Instance as the live snapshot shows it. */
static void reply_instance(struct web_req *r, const struct rec_errant_result *res)
{
    struct disc_snapshot *s = disc_topo_snapshot(r->deps->topo);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    int i = s ? disc_snapshot_find(s, &res->key) : -1;

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

static void fix(struct web_req *r, enum rec_errant_op op)
{
    char err[ORC_ERRMSG_SIZE] = "";
    struct rec_errant_result res;
    struct orc_key k;
    int rc;

    if (!instance_param(r, &k))
        return;
    rc = rec_errant_fix(r->deps->rec, op, &k, r->user, &res, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, status_of(rc), "%s", err);
    else
        reply_instance(r, &res);
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
