/* The internal route followers use to tell the leader what they see failed
 * (quorum-confirmed detection). Never forwarded. */
#include "web/web_int.h"

static void h_report(struct web_req *r)
{
    const char *failed = web_query(r, "failed");
    char err[ORC_ERRMSG_SIZE] = "";

    if (r->deps->failure_report == NULL) {
        web_reply_error(r, 404, "not a raft node");
        return;
    }
    if (r->deps->failure_report(r->deps->node, web_param(r, 0), failed ? failed : "") != 0) {
        orc_errf(err, sizeof(err), "report from '%s' not recorded", web_param(r, 0));
        web_reply_error(r, 503, "%s", err);
        return;
    }
    web_reply_json(r, 200, json_string("report recorded"));
}

const struct web_route web_routes_quorum[] = {
    {"raft-analysis-report/:node", h_report, WEB_NOPROXY},
};
const size_t web_routes_quorum_len = ORC_ARRAY_LEN(web_routes_quorum);
