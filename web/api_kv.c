/* submit-masters-to-kv-stores: publishes the writable masters (all, or one
 * cluster's) to the KV stores now, and answers orchestrator's envelope with
 * the pairs as Details ([]KVPair). */
#include <string.h>

#include "recovery/rec.h"
#include "web/web_int.h"

static void h_submit_masters(struct web_req *r)
{
    const char *hint = r->nparams > 0 ? web_param(r, 0) : NULL;
    char err[ORC_ERRMSG_SIZE] = "", msg[64];
    json_t *pairs = NULL;
    int count = 0;
    int rc = rec_kv_submit_masters(r->deps->rec, hint, &pairs, &count, err, sizeof(err));

    if (rc == ORC_ENOTFOUND) {
        json_decref(pairs);
        web_reply_error(r, 404, "%s", err);
        return;
    }
    if (rc != 0) {
        json_decref(pairs);
        web_reply_error(r, rc == ORC_ESTATE ? 503 : 500, "submit-masters-to-kv-stores: %s", err);
        return;
    }
    snprintf(msg, sizeof(msg), "Submitted %d masters", count);
    web_reply_ok(r, msg, pairs);
}

const struct web_route web_routes_kv[] = {
    {"submit-masters-to-kv-stores", h_submit_masters, WEB_WRITE},
    {"submit-masters-to-kv-stores/:clusterHint", h_submit_masters, WEB_WRITE},
};
const size_t web_routes_kv_len = ORC_ARRAY_LEN(web_routes_kv);
