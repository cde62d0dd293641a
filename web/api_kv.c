/*
 * api_kv: the key-value routes.
 *
 * submit-masters-to-kv-stores publishes the writable masters (all, or one
 * cluster's) to the KV stores now, and answers orchestrator's envelope with
 * the pairs as Details ([]KVPair).
 *
 * kv/<key> and kv?prefix= read the internal store (kv_store, replicated by
 * raft) from this node's backend: a follower answers from its own copy, so
 * these routes are never forwarded to the leader. A list is bounded
 * (limit=, at most WEB_KV_MAX_LIMIT pairs) and says when it was cut.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/be.h"
#include "recovery/rec.h"
#include "web/web_int.h"

#define WEB_KV_DEFAULT_LIMIT 1000
#define WEB_KV_MAX_LIMIT 10000
#define WEB_KV_MAX_KEY 255 /* kv_store.store_key */

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

/* {"Key","Value"} of one key; 404 when the store does not hold it. */
static void h_kv_get(struct web_req *r)
{
    const char *key = web_param(r, 0);
    char err[ORC_ERRMSG_SIZE] = "", *value = NULL;
    json_t *j;
    int rc;

    if (key == NULL || key[0] == '\0' || strlen(key) > WEB_KV_MAX_KEY) {
        web_reply_error(r, 400, "invalid key: 1 to %d bytes expected", WEB_KV_MAX_KEY);
        return;
    }
    rc = be_kv_get(r->deps->be, key, &value, err, sizeof(err));
    if (rc == ORC_ENOTFOUND) {
        web_reply_error(r, 404, "no key '%s' in the internal store", key);
        return;
    }
    if (rc != 0) {
        web_reply_error(r, 500, "kv: %s", err);
        return;
    }
    j = json_pack("{s:s, s:s}", "Key", key, "Value", value);
    free(value);
    if (j == NULL) {
        web_reply_error(r, 500, "kv: the value of '%s' is not valid text", key);
        return;
    }
    web_reply_json(r, 200, j);
}

/* limit= as a number in [1, WEB_KV_MAX_LIMIT]; false after replying 400. */
static bool kv_limit(struct web_req *r, int64_t *limit)
{
    const char *q = web_query(r, "limit");

    *limit = WEB_KV_DEFAULT_LIMIT;
    if (q == NULL)
        return true;
    if (orc_parse_int64(q, 1, WEB_KV_MAX_LIMIT, limit) != 0) {
        web_reply_error(r, 400, "limit: a number from 1 to %d expected", WEB_KV_MAX_LIMIT);
        return false;
    }
    return true;
}

/* {"Prefix","Pairs":[{"Key","Value"}...],"Truncated"}: the pairs whose key
 * starts with prefix= (every pair without it), ordered by key. */
static void h_kv_list(struct web_req *r)
{
    const char *prefix = web_query(r, "prefix");
    char err[ORC_ERRMSG_SIZE] = "";
    struct be_kv_list l;
    json_t *pairs, *j;
    int64_t limit;
    size_t n;

    if (prefix == NULL)
        prefix = "";
    if (strlen(prefix) > WEB_KV_MAX_KEY) {
        web_reply_error(r, 400, "prefix: at most %d bytes", WEB_KV_MAX_KEY);
        return;
    }
    if (!kv_limit(r, &limit))
        return;
    memset(&l, 0, sizeof(l));
    if (be_kv_list(r->deps->be, prefix, &l, err, sizeof(err)) != 0) {
        be_kv_list_free(&l);
        web_reply_error(r, 500, "kv: %s", err);
        return;
    }
    n = l.n < (size_t)limit ? l.n : (size_t)limit;
    pairs = json_array();
    for (size_t i = 0; pairs != NULL && i < n; i++)
        if (json_array_append_new(pairs, json_pack("{s:s, s:s}", "Key", l.v[i].key, "Value",
                                                   l.v[i].value ? l.v[i].value : "")) != 0) {
            json_decref(pairs);
            pairs = NULL;
        }
    j = pairs ? json_pack("{s:s, s:o, s:b}", "Prefix", prefix, "Pairs", pairs, "Truncated", l.n > n)
              : NULL;
    be_kv_list_free(&l);
    if (j == NULL) {
        web_reply_error(r, 500, "kv: out of memory or a value that is not valid text");
        return;
    }
    web_reply_json(r, 200, j);
}

const struct web_route web_routes_kv[] = {
    {"submit-masters-to-kv-stores", h_submit_masters, WEB_WRITE},
    {"submit-masters-to-kv-stores/:clusterHint", h_submit_masters, WEB_WRITE},
    {"kv", h_kv_list, WEB_READ | WEB_NOPROXY},
    {"kv/*key", h_kv_get, WEB_READ | WEB_NOPROXY},
};
const size_t web_routes_kv_len = ORC_ARRAY_LEN(web_routes_kv);
