/*
 * api_ops: what the routes of acting operations (planned, replication
 * control, errant GTID, semi-sync, many replicas, writes) answer alike.
 */
#include "discovery/disc.h"
#include "web/web_int.h"

int web_status_of(int rc)
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

bool web_need_rec(struct web_req *r)
{
    if (r->rec == NULL)
        web_reply_error(r, 503, "topology operations are not available on this node");
    return r->rec != NULL;
}

void web_reply_instance(struct web_req *r, const struct orc_key *k, const char *message)
{
    struct disc_snapshot *s = disc_topo_snapshot(r->deps->topo);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    int i = s != NULL ? disc_snapshot_find(s, k) : -1;

    web_jw_init(&w, &b);
    if (i >= 0)
        web_json_instance(&w, s, (size_t)i);
    else
        web_jw_key(&w, NULL, k);
    if (w.err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_envelope_raw(r, 200, "OK", message, b.data, b.len);
    orc_buf_release(&b);
    disc_snapshot_put(s);
}
