/*
 * api_config: the recovery settings held in the replicated state.
 *
 *   recovery-config                 each recovery key: effective value, source
 *                                   ("file" or "replicated"), who set it, when
 *   recovery-config/set?key=K&value=V
 *                                   replicates K=V (V as a --K=V flag: lists
 *                                   comma-separated or a JSON array)
 *   recovery-config/reset?key=K     drops K's replicated value: every node
 *                                   goes back to its file's value
 *
 * Writes are checked here first (a key that is not a recovery key, or a
 * value the config loader would refuse, answers 400 and nothing is
 * submitted), forwarded to the leader like every write, and audited.
 */
#include <stdlib.h>
#include <string.h>

#include "common/config_live.h"
#include "recovery/rec.h"
#include "web/web_int.h"

const struct orc_config *web_cfg(const struct web_req *r)
{
    return r->rec != NULL && r->rec->cfg != NULL ? r->rec->cfg : r->deps->cfg;
}

static void h_status(struct web_req *r)
{
    json_t *j = r->deps->rcfg_status ? r->deps->rcfg_status(r->deps->node) : NULL;

    if (j == NULL) {
        web_reply_error(r, 503, "recovery settings are not available on this node");
        return;
    }
    web_reply_json(r, 200, j);
}

/* The key of a write: ?key=K (also "Key" in a JSON body). */
static const char *arg(struct web_req *r, json_t *body, const char *q, const char *b)
{
    const char *v = web_query(r, q);

    return v != NULL ? v : json_string_value(json_object_get(body, b));
}

static json_t *request_body(struct web_req *r)
{
    if (r->req_body == NULL || r->req_body_len == 0)
        return NULL;
    return json_loadb(r->req_body, r->req_body_len, 0, NULL);
}

static void h_set(struct web_req *r)
{
    json_t *body = request_body(r), *value = NULL, *p;
    const char *key = arg(r, body, "key", "Key"), *text = arg(r, body, "value", "Value");
    const struct orc_config_def *d;
    char err[ORC_ERRMSG_SIZE] = "", *shown = NULL, *dumped = NULL;
    int rc;

    /* a JSON body may carry the value as JSON ("Value": ["*"], true, 60) */
    if (text == NULL && json_object_get(body, "Value") != NULL)
        text = dumped = json_dumps(json_object_get(body, "Value"), JSON_COMPACT | JSON_ENCODE_ANY);

    if (key == NULL || text == NULL || r->deps->rcfg_check == NULL) {
        web_reply_error(r, r->deps->rcfg_check ? 400 : 503,
                        "recovery-config/set needs key and value");
        goto out;
    }
    rc = r->deps->rcfg_check(r->deps->node, key, text, &value, err, sizeof(err));
    if (rc != 0) {
        web_reply_error(r, rc == ORC_ENOMEM ? 500 : 400, "%s", err);
        goto out;
    }
    d = orc_config_recovery_key(key);
    p = json_pack("{s:s, s:O, s:s}", "Key", d->name, "Value", value, "By", r->user ? r->user : "");
    if (p == NULL || web_submit(r, "set-recovery-config", p) != 0) {
        if (p == NULL)
            web_reply_error(r, 500, "out of memory");
        goto out;
    }
    /* hook lines may carry what does not belong in a log: counted only */
    if (json_is_array(value) && strstr(d->name, "Processes") != NULL)
        web_audit(r, "set-recovery-config", NULL, NULL, "%s=(%zu hook lines)", d->name,
                  json_array_size(value));
    else if ((shown = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL)
        web_audit(r, "set-recovery-config", NULL, NULL, "%s=%s", d->name, shown);
    snprintf(err, sizeof(err), "recovery setting %s replicated", d->name);
    web_reply_ok(r, err, json_incref(value));
out:
    free(shown);
    free(dumped);
    json_decref(value);
    json_decref(body);
}

static void h_reset(struct web_req *r)
{
    json_t *body = request_body(r), *p;
    const char *key = arg(r, body, "key", "Key");
    const struct orc_config_def *d = orc_config_recovery_key(key);
    char msg[256];

    if (d == NULL) {
        web_reply_error(r, 400, "key '%s' is not a recovery setting that may be replicated",
                        key ? key : "");
        goto out;
    }
    p = json_pack("{s:s, s:n, s:s}", "Key", d->name, "Value", "By", r->user ? r->user : "");
    if (p == NULL || web_submit(r, "set-recovery-config", p) != 0) {
        if (p == NULL)
            web_reply_error(r, 500, "out of memory");
        goto out;
    }
    web_audit(r, "reset-recovery-config", NULL, NULL, "%s", d->name);
    snprintf(msg, sizeof(msg), "recovery setting %s reset to each node's file", d->name);
    web_reply_ok(r, msg, NULL);
out:
    json_decref(body);
}

const struct web_route web_routes_config[] = {
    {"recovery-config", h_status, WEB_READ},
    {"recovery-config/set", h_set, WEB_WRITE},
    {"recovery-config/reset", h_reset, WEB_WRITE},
};
const size_t web_routes_config_len = ORC_ARRAY_LEN(web_routes_config);
