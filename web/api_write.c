/*
 * api_write: the operator writes of discovery: discover, forget, cluster
 * aliases, downtime, maintenance, candidate rules and tags.
 *
 * Every change of replicated state goes through deps->submit as a command
 * (op + orchestrator-shaped JSON payload) that the FSM applies to the backend
 * and the live topology on every node: downtime, maintenance (whose id the
 * command answers, equal on every node), candidate rules, aliases, tags,
 * forgetting, and the audit entry of every write ("write-audit").
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "recovery/rec.h"
#include "web/web_int.h"

#define DEFAULT_DOWNTIME_S 600    /* orchestrator's MaintenanceExpireMinutes: 10 */
#define DEFAULT_MAINTENANCE_S 600 /* same constant bounds a maintenance */

static json_t *key_json(const struct orc_key *k)
{
    return json_pack("{s:s, s:i}", "Hostname", k->host, "Port", k->port);
}

/* Submits a replicated command (payload stolen) without replying. */
static int submit_quiet(struct web_req *r, const char *op, json_t *payload, char *err, size_t len)
{
    if (payload == NULL) {
        orc_errf(err, len, "out of memory");
        return ORC_ENOMEM;
    }
    if (r->deps->submit == NULL) {
        json_decref(payload);
        orc_errf(err, len, "replicated commands are not available on this node");
        return ORC_ESTATE;
    }
    return r->deps->submit(r->deps->node, op, payload, err, len);
}

int web_submit(struct web_req *r, const char *op, json_t *payload)
{
    char err[ORC_ERRMSG_SIZE] = "";
    int rc = submit_quiet(r, op, payload, err, sizeof(err));

    if (rc != 0)
        web_reply_error(r, web_status_of(rc), "%s: %s", op, err[0] ? err : orc_strerror(rc));
    return rc;
}

void web_audit(struct web_req *r,
               const char *type,
               const struct orc_key *k,
               const char *cluster,
               const char *fmt,
               ...)
{
    char msg[1024], err[ORC_ERRMSG_SIZE] = "", ks[ORC_KEY_STRLEN] = "";
    json_t *p;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (k != NULL)
        orc_key_str(k, ks, sizeof(ks));
    ORC_LOG_N("+operator-write", "type=%s instance=%s cluster=%s user=%s message=\"%s\"", type, ks,
              cluster ? cluster : "", r->user ? r->user : "", msg);
    if (r->deps->submit == NULL)
        return;
    p = rec_audit_json(type, k, cluster, msg); /* the same entry as the operations write */
    if (submit_quiet(r, "write-audit", p, err, sizeof(err)) != 0)
        ORC_LOG_W("+audit-failed", "type=%s error=\"%s\"", type, err);
}

/* The {"Key":{"Hostname","Port"}} of a command's answer. */
static int fsm_answer_key(const json_t *res, struct orc_key *k)
{
    const json_t *kj = json_object_get(res, "Key");
    const char *h = json_string_value(json_object_get(kj, "Hostname"));
    json_int_t port = json_integer_value(json_object_get(kj, "Port"));

    if (h == NULL || port <= 0 || port > 65535 || orc_strlcpy(k->host, h, sizeof(k->host)) != 0)
        return ORC_EINVAL;
    k->port = (int)port;
    return 0;
}

/* Replies OK with Details = the key. */
static void reply_key(struct web_req *r, const char *msg, const struct orc_key *k)
{
    web_reply_ok(r, msg, key_json(k));
}

/* An instance of the topology named by params pi, pi+1: its index in *s
 * (which the caller releases), or -1 after replying. */
static int known_instance(struct web_req *r, struct disc_snapshot **s, int pi, struct orc_key *k)
{
    int i;

    *s = web_snapshot(r);
    if (*s == NULL)
        return -1;
    i = web_find_instance(r, *s, pi, k, true);
    if (i < 0) {
        disc_snapshot_put(*s);
        *s = NULL;
    }
    return i;
}

/* ---- discovery ---- */

static void reply_discovered(struct web_req *r, const struct orc_key *k)
{
    struct disc_snapshot *s = disc_topo_snapshot(r->deps->topo);
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    char ks[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 32];
    int i = s ? disc_snapshot_find(s, k) : -1;

    web_audit(r, "discover", k, i >= 0 ? s->instances[i]->cluster_name : NULL,
              "discovered by the API");
    snprintf(msg, sizeof(msg), "Instance discovered: %s", orc_key_str(k, ks, sizeof(ks)));
    web_jw_init(&w, &b);
    if (i >= 0)
        web_json_instance(&w, s, (size_t)i);
    if (w.err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_envelope_raw(r, 200, "OK", msg, i >= 0 ? b.data : NULL, b.len);
    orc_buf_release(&b);
    disc_snapshot_put(s);
}

static void h_discover(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "", ks[ORC_KEY_STRLEN];
    struct disc_snapshot *s;
    struct orc_key k;
    bool known;
    int rc;

    if (web_param_key(r, 0, &k) != 0 || (s = web_snapshot(r)) == NULL)
        return;
    known = disc_snapshot_find(s, &k) >= 0;
    disc_snapshot_put(s);
    orc_key_str(&k, ks, sizeof(ks));
    rc = disc_topo_discover(r->deps->topo, &k, true, NULL, err, sizeof(err));
    if (rc != 0) {
        char ferr[ORC_ERRMSG_SIZE] = "";
        if (!known && submit_quiet(r, "forget", key_json(&k), ferr, sizeof(ferr)) != 0)
            ORC_LOG_D("+command-failed", "op=forget instance=%s error=\"%s\"", ks, ferr);
        web_reply_error(r, 500, "cannot discover instance '%s': %s", ks,
                        err[0] ? err : orc_strerror(rc));
        return;
    }
    if (r->deps->submit != NULL &&
        (rc = submit_quiet(r, "discover", key_json(&k), err, sizeof(err))) != 0)
        ORC_LOG_W("+command-failed", "op=discover instance=%s error=\"%s\"", ks, err);
    reply_discovered(r, &k);
}

static void h_async_discover(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "", ks[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 64];
    struct orc_key k;

    if (web_param_key(r, 0, &k) != 0)
        return;
    if (r->deps->topo == NULL) {
        web_reply_error(r, 503, "discovery is not running");
        return;
    }
    if (r->deps->submit != NULL) {
        if (web_submit(r, "discover", key_json(&k)) != 0)
            return;
    } else if (disc_topo_discover(r->deps->topo, &k, false, NULL, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "async-discover: %s", err);
        return;
    }
    snprintf(msg, sizeof(msg), "Asynchronous discovery initiated for Instance: %s",
             orc_key_str(&k, ks, sizeof(ks)));
    web_reply_ok(r, msg, NULL);
}

static void h_forget(struct web_req *r)
{
    char ks[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 32], cluster[ORC_KEY_STRLEN];
    struct disc_snapshot *s;
    struct orc_key k;
    int i;

    if (web_param_key(r, 0, &k) != 0 || (s = web_snapshot(r)) == NULL)
        return;
    i = disc_snapshot_find(s, &k); /* exact: forget never guesses */
    if (i >= 0)
        orc_strlcpy(cluster, s->instances[i]->cluster_name, sizeof(cluster));
    disc_snapshot_put(s);
    orc_key_str(&k, ks, sizeof(ks));
    if (i < 0) {
        web_reply_error(r, 404, "instance '%s' not found", ks);
        return;
    }
    if (web_submit(r, "forget", key_json(&k)) != 0)
        return;
    web_audit(r, "forget", &k, cluster, "instance forgotten");
    snprintf(msg, sizeof(msg), "Instance forgotten: %s", ks);
    reply_key(r, msg, &k);
}

static void h_forget_cluster(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    char name[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 32];
    int c;

    if (s == NULL)
        return;
    c = web_find_cluster(r, s, web_param(r, 0));
    if (c >= 0)
        orc_strlcpy(name, s->clusters[c].name, sizeof(name));
    disc_snapshot_put(s);
    if (c < 0 || web_submit(r, "forget-cluster", json_pack("{s:s}", "ClusterName", name)) != 0)
        return;
    web_audit(r, "forget-cluster", NULL, name, "cluster forgotten");
    snprintf(msg, sizeof(msg), "Cluster forgotten: %s", name);
    web_reply_ok(r, msg, json_string(name));
}

static void h_set_cluster_alias(struct web_req *r)
{
    const char *alias = web_query(r, "alias");
    struct disc_snapshot *s;
    char name[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + DISC_TEXT_MAX + 32];
    int c;

    if (alias == NULL || *alias == '\0' || strlen(alias) >= DISC_TEXT_MAX) {
        web_reply_error(r, 400, "missing or too long ?alias=<alias>");
        return;
    }
    if ((s = web_snapshot(r)) == NULL)
        return;
    c = web_find_cluster(r, s, web_param(r, 0));
    if (c >= 0)
        orc_strlcpy(name, s->clusters[c].name, sizeof(name));
    disc_snapshot_put(s);
    if (c < 0 || web_submit(r, "set-cluster-alias",
                            json_pack("{s:s, s:s}", "ClusterName", name, "Alias", alias)) != 0)
        return;
    web_audit(r, "set-cluster-alias", NULL, name, "alias: %s", alias);
    snprintf(msg, sizeof(msg), "Cluster %s now has alias '%s'", name, alias);
    web_reply_ok(r, msg, json_string(alias));
}

/* ---- downtime ---- */

static void h_begin_downtime(struct web_req *r)
{
    const char *owner = web_param(r, 2), *reason = web_param(r, 3), *dur = web_param(r, 4);
    char ks[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 32], cluster[ORC_KEY_STRLEN];
    struct disc_snapshot *s;
    struct orc_key k;
    int64_t seconds = 0, until;
    int i;

    if (dur != NULL && web_parse_duration(dur, &seconds) != 0) {
        web_reply_error(r, 400,
                        "invalid duration '%s': expected a number followed by s, m, h, d or w "
                        "(e.g. 30m)",
                        dur);
        return;
    }
    if ((i = known_instance(r, &s, 0, &k)) < 0)
        return;
    orc_strlcpy(cluster, s->instances[i]->cluster_name, sizeof(cluster));
    disc_snapshot_put(s);
    if (seconds == 0)
        seconds = DEFAULT_DOWNTIME_S;
    until = orc_wall_s() + seconds;
    if (web_submit(r, "begin-downtime",
                   json_pack("{s:o, s:s, s:s, s:I}", "Key", key_json(&k), "Owner", owner, "Reason",
                             reason, "EndTimestamp", (json_int_t)until)) != 0)
        return;
    web_audit(r, "begin-downtime", &k, cluster, "owner: %s, reason: %s, duration: %llds", owner,
              reason, (long long)seconds);
    snprintf(msg, sizeof(msg), "Downtime begun: %s", orc_key_str(&k, ks, sizeof(ks)));
    reply_key(r, msg, &k);
}

static void h_end_downtime(struct web_req *r)
{
    char ks[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 48], cluster[ORC_KEY_STRLEN];
    char err[ORC_ERRMSG_SIZE] = "";
    struct disc_snapshot *s;
    struct orc_key k;
    bool downtimed;
    int i, rc;

    if ((i = known_instance(r, &s, 0, &k)) < 0)
        return;
    downtimed = s->annots[i].downtimed;
    orc_strlcpy(cluster, s->instances[i]->cluster_name, sizeof(cluster));
    disc_snapshot_put(s);
    orc_key_str(&k, ks, sizeof(ks));
    if (!downtimed) { /* orchestrator: ending no downtime is not an error */
        snprintf(msg, sizeof(msg), "Instance was not downtimed: %s", ks);
        reply_key(r, msg, &k);
        return;
    }
    rc = submit_quiet(r, "end-downtime", json_pack("{s:o}", "Key", key_json(&k)), err, sizeof(err));
    if (rc == ORC_ENOTFOUND) { /* ended meanwhile by someone else */
        snprintf(msg, sizeof(msg), "Instance was not downtimed: %s", ks);
        reply_key(r, msg, &k);
        return;
    }
    if (rc != 0) {
        web_reply_error(r, web_status_of(rc), "end-downtime: %s", err[0] ? err : orc_strerror(rc));
        return;
    }
    web_audit(r, "end-downtime", &k, cluster, "downtime ended");
    snprintf(msg, sizeof(msg), "Downtime ended: %s", ks);
    reply_key(r, msg, &k);
}

/* ---- maintenance (replicated: the id is the command's answer) ---- */

static bool need_backend(struct web_req *r)
{
    if (r->deps->be == NULL)
        web_reply_error(r, 503, "the backend is not available");
    return r->deps->be != NULL;
}

/* Submits op and returns its answer (NULL after replying with the error). */
static json_t *submit_answer(struct web_req *r, const char *op, json_t *payload, int *rc)
{
    char err[ORC_ERRMSG_SIZE] = "";
    json_t *res = NULL;

    if (r->deps->submit_r == NULL) {
        json_decref(payload);
        web_reply_error(r, 503, "replicated commands are not available on this node");
        *rc = ORC_ESTATE;
        return NULL;
    }
    *rc = payload ? r->deps->submit_r(r->deps->node, op, payload, &res, err, sizeof(err))
                  : ORC_ENOMEM;
    if (*rc == 0 && res != NULL)
        return res;
    json_decref(res);
    if (*rc != ORC_EEXIST && *rc != ORC_ENOTFOUND)
        web_reply_error(r, web_status_of(*rc), "%s: %s", op, err[0] ? err : orc_strerror(*rc));
    if (*rc == 0)
        *rc = ORC_ESTATE;
    return NULL;
}

static void h_begin_maintenance(struct web_req *r)
{
    char ks[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 32], cluster[ORC_KEY_STRLEN];
    const char *owner = web_param(r, 2), *reason = web_param(r, 3);
    struct disc_snapshot *s;
    struct orc_key k;
    json_t *res;
    int rc, i;

    if (!need_backend(r) || (i = known_instance(r, &s, 0, &k)) < 0)
        return;
    orc_strlcpy(cluster, s->instances[i]->cluster_name, sizeof(cluster));
    disc_snapshot_put(s);
    orc_key_str(&k, ks, sizeof(ks));
    res = submit_answer(
        r, "begin-maintenance",
        json_pack("{s:o, s:s, s:s, s:I}", "Key", key_json(&k), "Owner", owner, "Reason", reason,
                  "EndTimestamp", (json_int_t)(orc_wall_s() + DEFAULT_MAINTENANCE_S)),
        &rc);
    if (rc == ORC_EEXIST) {
        web_reply_error(r, 409, "cannot begin maintenance: instance '%s' is already in maintenance",
                        ks);
        return;
    }
    if (res == NULL)
        return;
    web_audit(r, "begin-maintenance", &k, cluster, "maintenanceToken: %lld, owner: %s, reason: %s",
              (long long)json_integer_value(json_object_get(res, "Id")), owner, reason);
    json_decref(res);
    snprintf(msg, sizeof(msg), "Maintenance begun: %s", ks);
    reply_key(r, msg, &k);
}

/* Ends by id (> 0) or by key (id 0, k set). */
static void end_maintenance(struct web_req *r, const struct orc_key *k, int64_t id)
{
    char ks[ORC_KEY_STRLEN] = "", msg[ORC_KEY_STRLEN + 32];
    struct orc_key done;
    json_t *p =
        id > 0 ? json_pack("{s:I}", "Id", (json_int_t)id) : json_pack("{s:o}", "Key", key_json(k));
    json_t *res;
    int rc;

    res = submit_answer(r, "end-maintenance", p, &rc);
    if (rc == ORC_ENOTFOUND) {
        if (id > 0)
            web_reply_error(r, 404, "no active maintenance with key %lld", (long long)id);
        else
            web_reply_error(r, 404, "instance '%s' is not in maintenance",
                            orc_key_str(k, ks, sizeof(ks)));
        return;
    }
    if (res == NULL)
        return;
    if (fsm_answer_key(res, &done) != 0 && k != NULL)
        done = *k;
    json_decref(res);
    orc_key_str(&done, ks, sizeof(ks));
    web_audit(r, "end-maintenance", &done, NULL, "maintenance ended");
    snprintf(msg, sizeof(msg), "Maintenance ended: %s", ks);
    reply_key(r, msg, &done);
}

static void h_end_maintenance(struct web_req *r)
{
    struct orc_key k;

    if (need_backend(r) && web_param_key_any(r, 0, &k) == 0)
        end_maintenance(r, &k, 0);
}

static void h_end_maintenance_id(struct web_req *r)
{
    int64_t id;

    if (orc_parse_int64(web_param(r, 0), 1, INT64_MAX, &id) != 0) {
        web_reply_error(r, 400, "invalid maintenance key: '%s'", web_param(r, 0));
        return;
    }
    if (need_backend(r))
        end_maintenance(r, NULL, id);
}

/* ---- candidates and tags ---- */

static void h_register_candidate(struct web_req *r)
{
    static const char *const rules[] = {"prefer", "neutral", "prefer_not", "must_not"};
    const char *rule = web_param(r, 2);
    char ks[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 48], cluster[ORC_KEY_STRLEN];
    struct disc_snapshot *s;
    struct orc_key k;
    int64_t until;
    bool ok = false;
    int i;

    for (size_t j = 0; j < ORC_ARRAY_LEN(rules); j++)
        ok = ok || strcmp(rule, rules[j]) == 0;
    if (strcmp(rule, "must") == 0) {
        web_reply_error(r, 400, "promotion rule 'must' is not supported yet");
        return;
    }
    if (!ok) {
        web_reply_error(r, 400,
                        "invalid promotion rule '%s': expected prefer, neutral, prefer_not or "
                        "must_not",
                        rule);
        return;
    }
    if ((i = known_instance(r, &s, 0, &k)) < 0)
        return;
    orc_strlcpy(cluster, s->instances[i]->cluster_name, sizeof(cluster));
    disc_snapshot_put(s);
    until = orc_wall_s() + r->deps->cfg->CandidateInstanceExpireMinutes * 60;
    if (web_submit(r, "register-candidate",
                   json_pack("{s:o, s:s, s:I}", "Key", key_json(&k), "PromotionRule", rule,
                             "ExpiresAt", (json_int_t)until)) != 0)
        return;
    web_audit(r, "register-candidate", &k, cluster, "promotion rule: %s", rule);
    snprintf(msg, sizeof(msg), "Registered candidate %s: %s", orc_key_str(&k, ks, sizeof(ks)),
             rule);
    reply_key(r, msg, &k);
}

/* Splits ?tag=name[=value] into name and value (both in buf). */
static int parse_tag(struct web_req *r, char *buf, size_t n, const char **name, const char **value)
{
    const char *q = web_query(r, "tag");
    char *eq;

    /* tag/:host/:port/:tagName/:tagValue, untag/:host/:port/:tagName */
    if (web_param(r, 2) != NULL) {
        if (web_param(r, 2)[0] == '\0' || orc_strlcpy(buf, web_param(r, 2), n) != 0) {
            web_reply_error(r, 400, "invalid tag name");
            return ORC_EINVAL;
        }
        *name = buf;
        *value = web_param(r, 3) ? web_param(r, 3) : "";
        return 0;
    }
    if (q == NULL || *q == '\0' || *q == '=' || orc_strlcpy(buf, q, n) != 0) {
        web_reply_error(r, 400, "missing or invalid ?tag=<name>[=<value>]");
        return ORC_EINVAL;
    }
    eq = strchr(buf, '=');
    if (eq != NULL)
        *eq = '\0';
    *name = buf;
    *value = eq ? eq + 1 : "";
    return 0;
}

static void h_tag(struct web_req *r)
{
    char buf[512], ks[ORC_KEY_STRLEN], msg[ORC_KEY_STRLEN + 600], cluster[ORC_KEY_STRLEN];
    const char *name, *value;
    struct disc_snapshot *s;
    struct orc_key k;
    int i;

    if (parse_tag(r, buf, sizeof(buf), &name, &value) != 0 ||
        (i = known_instance(r, &s, 0, &k)) < 0)
        return;
    orc_strlcpy(cluster, s->instances[i]->cluster_name, sizeof(cluster));
    disc_snapshot_put(s);
    if (web_submit(r, "put-instance-tag",
                   json_pack("{s:o, s:s, s:s}", "Key", key_json(&k), "TagName", name, "TagValue",
                             value)) != 0)
        return;
    web_audit(r, "tag", &k, cluster, "%s%s%s", name, *value ? "=" : "", value);
    snprintf(msg, sizeof(msg), "%s tagged with %s%s%s", orc_key_str(&k, ks, sizeof(ks)), name,
             *value ? "=" : "", value);
    reply_key(r, msg, &k);
}

static void h_untag(struct web_req *r)
{
    char buf[512], err[ORC_ERRMSG_SIZE] = "", msg[600];
    const char *name, *value;
    struct be_tag_list l = {0};
    struct orc_key k;
    bool has = false;
    json_t *keys;

    if (parse_tag(r, buf, sizeof(buf), &name, &value) != 0 || !need_backend(r) ||
        web_param_key_any(r, 0, &k) != 0)
        return;
    if (be_tag_list(r->deps->be, &k, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read tags: %s", err);
        return;
    }
    for (size_t i = 0; i < l.n; i++)
        has = has || strcmp(l.v[i].name, name) == 0;
    be_tag_list_free(&l);
    keys = json_array();
    if (has) {
        if (web_submit(r, "delete-instance-tag",
                       json_pack("{s:o, s:s}", "Key", key_json(&k), "TagName", name)) != 0) {
            json_decref(keys);
            return;
        }
        web_audit(r, "untag", &k, NULL, "%s", name);
        json_array_append_new(keys, key_json(&k));
    }
    snprintf(msg, sizeof(msg), "%s untagged from %zu instance(s)", name, json_array_size(keys));
    web_reply_ok(r, msg, keys);
}

/* orchestrator's reload-configuration: re-read the config files and apply
 * the keys that can change live; a change of any other key is refused. The
 * file is the one the service started with (?config= is not accepted: an
 * HTTP client does not choose which files the service reads). */
static void h_reload_configuration(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    struct orc_buf changed = ORC_BUF_INIT;
    int rc;

    if (web_query(r, "config") != NULL) {
        web_reply_error(r, 400,
                        "reload-configuration: the config file cannot be chosen over "
                        "HTTP; the service re-reads the files it started with");
        return;
    }
    if (r->deps->reload == NULL) {
        web_reply_error(r, 503, "reload-configuration is not available on this node");
        return;
    }
    rc = r->deps->reload(r->deps->node, &changed, err, sizeof(err));
    if (rc == 0)
        web_audit(r, "reload-configuration", NULL, NULL, "Triggered via API; changed: %s",
                  changed.len > 0 ? orc_buf_str(&changed) : "nothing");
    if (rc == 0)
        web_reply_ok(r, changed.len > 0 ? "Config reloaded" : "Config reloaded, nothing changed",
                     json_pack("{s:s}", "Changed", orc_buf_str(&changed)));
    else
        web_reply_error(r, rc == ORC_ECONFIG ? 409 : web_status_of(rc), "%s", err);
    orc_buf_release(&changed);
}

/* The operator state of a Go orchestrator's backend (built by the CLI
 * command import-orchestrator-backend), applied by one replicated command. */
static void h_import_orchestrator_state(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    json_error_t jerr;
    json_t *payload, *result = NULL;
    int rc;

    if (r->req_body == NULL || r->req_body_len == 0) {
        web_reply_error(r, 400, "import-orchestrator-state: POST the state as a JSON object");
        return;
    }
    payload = json_loadb(r->req_body, r->req_body_len, 0, &jerr);
    if (!json_is_object(payload)) {
        json_decref(payload);
        web_reply_error(r, 400, "import-orchestrator-state: the body is not a JSON object: %s",
                        jerr.text);
        return;
    }
    if (r->deps->submit_r == NULL) {
        json_decref(payload);
        web_reply_error(r, 503, "replicated commands are not available on this node");
        return;
    }
    rc = r->deps->submit_r(r->deps->node, "import-orchestrator-state", payload, &result, err,
                           sizeof(err));
    if (rc != 0) {
        json_decref(result);
        web_reply_error(r, web_status_of(rc), "import-orchestrator-state: %s", err);
        return;
    }
    web_audit(r, "import-orchestrator-state", NULL, NULL, "%s", "operator state imported");
    web_reply_ok(r, "Imported", result != NULL ? result : json_object());
}

const struct web_route web_routes_write[] = {
    {"discover/:host/:port", h_discover, WEB_WRITE},
    {"async-discover/:host/:port", h_async_discover, WEB_WRITE},
    {"forget/:host/:port", h_forget, WEB_WRITE},
    {"forget-cluster/:clusterHint", h_forget_cluster, WEB_WRITE},
    {"set-cluster-alias/:clusterName", h_set_cluster_alias, WEB_WRITE},
    {"begin-downtime/:host/:port/:owner/:reason", h_begin_downtime, WEB_WRITE},
    {"begin-downtime/:host/:port/:owner/:reason/:duration", h_begin_downtime, WEB_WRITE},
    {"end-downtime/:host/:port", h_end_downtime, WEB_WRITE},
    {"begin-maintenance/:host/:port/:owner/:reason", h_begin_maintenance, WEB_WRITE},
    {"end-maintenance/:host/:port", h_end_maintenance, WEB_WRITE},
    {"end-maintenance/:maintenanceKey", h_end_maintenance_id, WEB_WRITE},
    {"register-candidate/:host/:port/:promotionRule", h_register_candidate, WEB_WRITE},
    {"tag/:host/:port", h_tag, WEB_WRITE},
    {"tag/:host/:port/:tagName/:tagValue", h_tag, WEB_WRITE},
    {"untag/:host/:port", h_untag, WEB_WRITE},
    {"untag/:host/:port/:tagName", h_untag, WEB_WRITE},
    {"reload-configuration", h_reload_configuration, WEB_WRITE | WEB_NOPROXY},
    {"import-orchestrator-state", h_import_orchestrator_state, WEB_WRITE},
};
const size_t web_routes_write_len = ORC_ARRAY_LEN(web_routes_write);
