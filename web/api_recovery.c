/*
 * Recovery routes: recover (and -lite), force-master-failover, the
 * recovery audit (audit-recovery, steps, detections, blocked), the
 * acknowledgements and the global switch. TopologyRecovery JSON lives here.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "recovery/rec.h"
#include "web/web_int.h"

/* ---- JSON ---- */

static void keys_list(struct web_jw *w, const char *name, const char *csv)
{
    web_jw_arr(w, name);
    while (csv && *csv) {
        char one[ORC_KEY_STRLEN];
        size_t k = strcspn(csv, ",");
        struct orc_key key;
        if (k < sizeof(one)) {
            memcpy(one, csv, k);
            one[k] = '\0';
            if (orc_key_parse(one, 3306, &key) == 0)
                web_jw_key(w, NULL, &key);
        }
        csv += k;
        if (*csv == ',')
            csv++;
    }
    web_jw_arr_end(w);
}

static void lines_list(struct web_jw *w, const char *name, const char *text)
{
    web_jw_arr(w, name);
    while (text && *text) {
        size_t k = strcspn(text, "\n");
        char *one = strndup(text, k);
        if (one && *one)
            web_jw_str(w, NULL, one);
        free(one);
        text += k;
        if (*text == '\n')
            text++;
    }
    web_jw_arr_end(w);
}

/* orchestrator's recovery Type, from the analysis that started it */
static const char *recovery_type(const char *analysis)
{
    const char *a = analysis ? analysis : "";

    if (strstr(a, "IntermediateMaster"))
        return "IntermediateMasterRecovery";
    if (strstr(a, "CoMaster"))
        return "CoMasterRecovery";
    return "MasterRecovery";
}

static void json_recovery(struct web_jw *w, const struct be_recovery *r)
{
    web_jw_obj(w, NULL);
    web_jw_int(w, "Id", r->id);
    web_jw_str(w, "UID", r->uid);
    web_jw_obj(w, "AnalysisEntry");
    web_jw_key(w, "AnalyzedInstanceKey", &r->key);
    web_jw_str(w, "Analysis", r->analysis);
    web_jw_obj(w, "ClusterDetails");
    web_jw_str(w, "ClusterName", r->cluster_name);
    web_jw_str(w, "ClusterAlias", r->cluster_alias);
    web_jw_obj_end(w);
    web_jw_int(w, "CountReplicas", r->count_affected_replicas);
    keys_list(w, "Replicas", r->replica_hosts);
    web_jw_obj_end(w);
    if (r->successor.host[0])
        web_jw_key(w, "SuccessorKey", &r->successor);
    else
        web_jw_null(w, "SuccessorKey");
    web_jw_str(w, "SuccessorAlias", r->successor_alias);
    web_jw_bool(w, "IsActive", r->in_active_period);
    web_jw_bool(w, "IsSuccessful", r->is_successful);
    keys_list(w, "LostReplicas", r->lost_replicas);
    keys_list(w, "ParticipatingInstanceKeys", r->participating_instances);
    lines_list(w, "AllErrors", r->all_errors);
    web_jw_time(w, "RecoveryStartTimestamp", r->start_active_period);
    web_jw_time(w, "RecoveryEndTimestamp", r->end_recovery);
    web_jw_str(w, "ProcessingNodeHostname", r->processing_node_hostname);
    web_jw_str(w, "ProcessingNodeToken", r->processing_node_token);
    web_jw_bool(w, "Acknowledged", r->acknowledged);
    web_jw_time(w, "AcknowledgedAt", r->acknowledged_at);
    web_jw_str(w, "AcknowledgedBy", r->acknowledged_by);
    web_jw_str(w, "AcknowledgedComment", r->acknowledge_comment);
    web_jw_int(w, "LastDetectionId", r->last_detection_id);
    web_jw_int(w, "RelatedRecoveryId", r->related_recovery_id);
    web_jw_str(w, "Type", recovery_type(r->analysis));
    web_jw_str(w, "RecoveryType", "MasterRecoveryGTID");
    web_jw_obj_end(w);
}

static void reply_buf(struct web_req *r, struct orc_buf *b, int err)
{
    if (err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_raw(r, 200, WEB_JSON, orc_buf_str(b), b->len);
    orc_buf_release(b);
}

/* ---- audit-recovery, audit-recovery-steps, audit-failure-detection ---- */

static int page_param(struct web_req *r, int i)
{
    int64_t p = 0;

    if (web_param(r, i) != NULL && orc_parse_int64(web_param(r, i), 0, 1000000, &p) != 0)
        return -1;
    return (int)p;
}

static void list_recoveries(struct web_req *r, struct be_recovery_filter *f)
{
    struct be_recovery_list l = {0};
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    char err[ORC_ERRMSG_SIZE] = "";
    const char *un = web_query(r, "unacknowledged");

    f->unacknowledged_only = un && strcmp(un, "true") == 0;
    if (be_recovery_list(r->deps->be, f, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read recoveries: %s", err);
        return;
    }
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++)
        json_recovery(&w, &l.v[i]);
    web_jw_arr_end(&w);
    be_recovery_list_free(&l);
    reply_buf(r, &b, w.err);
}

static void h_audit_recovery(struct web_req *r)
{
    struct be_recovery_filter f;

    memset(&f, 0, sizeof(f));
    f.page = page_param(r, 0);
    if (f.page < 0) {
        web_reply_error(r, 400, "invalid page: '%s'", web_param(r, 0));
        return;
    }
    list_recoveries(r, &f);
}

static void h_audit_recovery_id(struct web_req *r)
{
    struct be_recovery_filter f;

    memset(&f, 0, sizeof(f));
    if (orc_parse_int64(web_param(r, 0), 1, INT64_MAX, &f.id) != 0) {
        web_reply_error(r, 400, "invalid recovery id: '%s'", web_param(r, 0));
        return;
    }
    list_recoveries(r, &f);
}

static void h_audit_recovery_uid(struct web_req *r)
{
    struct be_recovery_filter f;

    memset(&f, 0, sizeof(f));
    f.uid = web_param(r, 0);
    list_recoveries(r, &f);
}

static void h_audit_recovery_cluster(struct web_req *r)
{
    struct be_recovery_filter f;
    struct disc_snapshot *s = NULL;
    int c;

    memset(&f, 0, sizeof(f));
    f.cluster_name = web_param(r, 0);
    f.page = page_param(r, 1);
    if (r->deps->topo != NULL && (s = disc_topo_snapshot(r->deps->topo)) != NULL &&
        (c = disc_snapshot_cluster(s, f.cluster_name)) >= 0)
        f.cluster_name = s->clusters[c].name;
    list_recoveries(r, &f);
    disc_snapshot_put(s);
}

/* audit-recovery/alias/:clusterAlias[/:page]: the recoveries recorded with
 * this alias (the cluster's name changes with its master; the alias stays). */
static void h_audit_recovery_alias(struct web_req *r)
{
    struct be_recovery_filter f;

    memset(&f, 0, sizeof(f));
    f.cluster_alias = web_param(r, 0);
    f.page = page_param(r, 1);
    if (f.page < 0) {
        web_reply_error(r, 400, "invalid page: '%s'", web_param(r, 1));
        return;
    }
    list_recoveries(r, &f);
}

static void h_audit_recovery_steps(struct web_req *r)
{
    struct be_recovery_step_list l = {0};
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    char err[ORC_ERRMSG_SIZE] = "";

    if (be_recovery_steps(r->deps->be, web_param(r, 0), &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read recovery steps: %s", err);
        return;
    }
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++) {
        web_jw_obj(&w, NULL);
        web_jw_int(&w, "Id", l.v[i].id);
        web_jw_str(&w, "RecoveryUID", l.v[i].uid);
        web_jw_time(&w, "AuditAt", l.v[i].at);
        web_jw_str(&w, "Message", l.v[i].message);
        web_jw_obj_end(&w);
    }
    web_jw_arr_end(&w);
    be_recovery_step_list_free(&l);
    reply_buf(r, &b, w.err);
}

static void list_detections(struct web_req *r, struct be_detection_filter *f)
{
    struct be_detection_list l = {0};
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    char err[ORC_ERRMSG_SIZE] = "";

    if (f->page < 0 || be_detection_list(r->deps->be, f, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, f->page < 0 ? 400 : 500, "read failure detections: %s",
                        f->page < 0 ? "invalid page" : err);
        return;
    }
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++) {
        const struct be_detection *d = &l.v[i];
        web_jw_obj(&w, NULL);
        web_jw_int(&w, "Id", d->id);
        web_jw_obj(&w, "AnalysisEntry");
        web_jw_key(&w, "AnalyzedInstanceKey", &d->key);
        web_jw_str(&w, "Analysis", d->analysis);
        web_jw_obj(&w, "ClusterDetails");
        web_jw_str(&w, "ClusterName", d->cluster_name);
        web_jw_str(&w, "ClusterAlias", d->cluster_alias);
        web_jw_obj_end(&w);
        web_jw_int(&w, "CountReplicas", d->count_affected_replicas);
        web_jw_bool(&w, "IsActionableRecovery", d->is_actionable);
        web_jw_obj_end(&w);
        web_jw_bool(&w, "IsActive", d->in_active_period);
        web_jw_time(&w, "RecoveryStartTimestamp", d->start_active_period);
        web_jw_time(&w, "RecoveryEndTimestamp", d->end_active_period);
        web_jw_str(&w, "ProcessingNodeHostname", d->processing_node_hostname);
        web_jw_str(&w, "ProcessingNodeToken", d->processing_node_token);
        web_jw_obj_end(&w);
    }
    web_jw_arr_end(&w);
    be_detection_list_free(&l);
    reply_buf(r, &b, w.err);
}

static void h_audit_detection(struct web_req *r)
{
    struct be_detection_filter f;

    memset(&f, 0, sizeof(f));
    f.page = page_param(r, 0);
    list_detections(r, &f);
}

static void h_audit_detection_id(struct web_req *r)
{
    struct be_detection_filter f;

    memset(&f, 0, sizeof(f));
    if (orc_parse_int64(web_param(r, 0), 1, INT64_MAX, &f.id) != 0) {
        web_reply_error(r, 400, "invalid detection id: '%s'", web_param(r, 0));
        return;
    }
    list_detections(r, &f);
}

/* audit-failure-detection/alias/:clusterAlias[/:page]: the detections
 * recorded with this alias (as orchestrator, by the alias at the time). */
static void h_audit_detection_alias(struct web_req *r)
{
    struct be_detection_filter f;

    memset(&f, 0, sizeof(f));
    f.cluster_alias = web_param(r, 0);
    f.page = page_param(r, 1);
    list_detections(r, &f);
}

/* ---- active-cluster-recovery, recently-active-*-recovery ---- */

#define RECENTLY_ACTIVE_S 300 /* orchestrator: ended in the last 5 minutes */

struct recent_sel {
    bool active_only;                /* running: unresolved and in its active period */
    const struct orc_key *successor; /* recently ended, promoting this instance */
};

static bool recent_match(const struct be_recovery *v, const struct recent_sel *sel, int64_t now)
{
    if (sel->active_only)
        return v->in_active_period && v->end_recovery == 0;
    if (v->end_recovery <= now - RECENTLY_ACTIVE_S)
        return false;
    return sel->successor == NULL || orc_key_eq(&v->successor, sel->successor);
}

/* By the exact cluster name, as orchestrator (a recovery keeps the name the
 * cluster had; the cluster takes its new master's name after it). */
static void list_recent(struct web_req *r, const char *cluster, const struct recent_sel *sel)
{
    struct be_recovery_filter f;
    struct be_recovery_list l = {0};
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    char err[ORC_ERRMSG_SIZE] = "";
    int64_t now = orc_wall_s();

    memset(&f, 0, sizeof(f));
    f.cluster_name = cluster;
    f.unresolved_only = sel->active_only;
    if (be_recovery_list(r->deps->be, &f, &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read recoveries: %s", err);
        return;
    }
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++)
        if (recent_match(&l.v[i], sel, now))
            json_recovery(&w, &l.v[i]);
    web_jw_arr_end(&w);
    be_recovery_list_free(&l);
    reply_buf(r, &b, w.err);
}

static void h_active_cluster_recovery(struct web_req *r)
{
    struct recent_sel sel = {true, NULL};
    list_recent(r, web_param(r, 0), &sel);
}

static void h_recent_cluster_recovery(struct web_req *r)
{
    struct recent_sel sel = {false, NULL};
    list_recent(r, web_param(r, 0), &sel);
}

static void h_recent_instance_recovery(struct web_req *r)
{
    struct orc_key k;
    struct recent_sel sel = {false, &k};

    if (web_param_key_any(r, 0, &k) == 0)
        list_recent(r, NULL, &sel);
}

static void h_blocked(struct web_req *r)
{
    struct be_blocked_recovery_list l = {0};
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    char err[ORC_ERRMSG_SIZE] = "";

    if (be_blocked_recovery_list(r->deps->be, web_param(r, 0), &l, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "read blocked recoveries: %s", err);
        return;
    }
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++) {
        web_jw_obj(&w, NULL);
        web_jw_key(&w, "FailedInstanceKey", &l.v[i].key);
        web_jw_str(&w, "ClusterName", l.v[i].cluster_name);
        web_jw_str(&w, "Analysis", l.v[i].analysis);
        web_jw_time(&w, "LastBlockedTimestamp", l.v[i].last_blocked);
        web_jw_int(&w, "BlockingRecoveryId", l.v[i].blocking_id);
        web_jw_obj_end(&w);
    }
    web_jw_arr_end(&w);
    be_blocked_recovery_list_free(&l);
    reply_buf(r, &b, w.err);
}

/* ---- acknowledgements ---- */

static void ack(struct web_req *r, json_t *sel, const char *what)
{
    const char *comment = web_query(r, "comment");
    char err[ORC_ERRMSG_SIZE] = "";
    json_t *res = NULL;
    int rc;

    if (comment == NULL || *comment == '\0') {
        json_decref(sel);
        web_reply_error(r, 400, "ack-recovery needs a comment (?comment=...)");
        return;
    }
    json_object_set_new(sel, "Owner", json_string(r->user ? r->user : "orchestrator"));
    json_object_set_new(sel, "Comment", json_string(comment));
    json_object_set_new(sel, "CreatedAt", json_integer(orc_wall_s()));
    rc = r->deps->submit_r(r->deps->node, "ack-recovery", sel, &res, err, sizeof(err));
    if (rc != 0) {
        json_decref(res);
        web_reply_error(r, 500, "acknowledge %s: %s", what, err);
        return;
    }
    ORC_LOG_N("+recovery-acknowledged", "what=\"%s\" count=%lld", what,
              (long long)json_integer_value(json_object_get(res, "Count")));
    json_decref(res);
    web_reply_ok(r, "Acknowledged", json_string(comment));
}

static void h_ack_cluster(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    int c;

    if (s == NULL)
        return;
    c = web_find_cluster(r, s, web_param(r, 0));
    if (c >= 0)
        ack(r, json_pack("{s:s}", "ClusterName", s->clusters[c].name), "cluster recoveries");
    disc_snapshot_put(s);
}

static void h_ack_instance(struct web_req *r)
{
    struct orc_key k;

    if (web_param_key_any(r, 0, &k) != 0)
        return;
    ack(r, json_pack("{s:{s:s, s:i}}", "Key", "Hostname", k.host, "Port", k.port),
        "instance recoveries");
}

static void h_ack_id(struct web_req *r)
{
    int64_t id;

    if (orc_parse_int64(web_param(r, 0), 1, INT64_MAX, &id) != 0) {
        web_reply_error(r, 400, "invalid recovery id: '%s'", web_param(r, 0));
        return;
    }
    ack(r, json_pack("{s:I}", "Id", (json_int_t)id), "recovery");
}

static void h_ack_uid(struct web_req *r)
{
    ack(r, json_pack("{s:s}", "UID", web_param(r, 0)), "recovery");
}

static void h_ack_all(struct web_req *r)
{
    ack(r, json_pack("{s:b}", "AllRecoveries", 1), "all recoveries");
}

/* ---- global switch ---- */

static void global_set(struct web_req *r, bool disable)
{
    char err[ORC_ERRMSG_SIZE] = "";
    const char *op = disable ? "disable-global-recoveries" : "enable-global-recoveries";

    if (r->deps->submit(r->deps->node, op, json_object(), err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "%s: %s", op, err);
        return;
    }
    ORC_LOG_N(disable ? "+recoveries-disabled" : "+recoveries-enabled", "by=%s",
              r->user ? r->user : "-");
    web_reply_ok(r, disable ? "Globally disabled recoveries" : "Globally enabled recoveries",
                 json_string(disable ? "disabled" : "enabled"));
}

static void h_disable(struct web_req *r)
{
    global_set(r, true);
}

static void h_enable(struct web_req *r)
{
    global_set(r, false);
}

static void h_check(struct web_req *r)
{
    char err[ORC_ERRMSG_SIZE] = "";
    bool disabled = false;

    if (be_recovery_global_disabled(r->deps->be, &disabled, err, sizeof(err)) != 0) {
        web_reply_error(r, 500, "check-global-recoveries: %s", err);
        return;
    }
    web_reply_ok(r, disabled ? "Global recoveries disabled" : "Global recoveries enabled",
                 json_string(disabled ? "disabled" : "enabled"));
}

/* ---- recover, force-master-failover ---- */

static bool is_im(enum rec_code c)
{
    return c == REC_DEAD_IM || c == REC_DEAD_IM_AND_SOME_REPLICAS ||
           c == REC_DEAD_IM_WITH_SINGLE_REPLICA_FAILING_TO_CONNECT ||
           c == REC_ALL_IM_REPLICAS_FAILING_TO_CONNECT_OR_DEAD || c == REC_DEAD_IM_AND_REPLICAS ||
           c == REC_DEAD_IM_WITH_SINGLE_REPLICA;
}

/* Replies with the recovery as audit-recovery shows it (Details), or with
 * a minimal object when it was not registered. */
static void reply_result(struct web_req *r,
                         const struct rec_result *res,
                         int rc,
                         const char *errmsg,
                         bool details_key_only)
{
    struct be_recovery_list l = {0};
    struct be_recovery_filter f;
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    char err[ORC_ERRMSG_SIZE], ks[ORC_KEY_STRLEN], msg[ORC_ERRMSG_SIZE + 128];

    if (rc != 0) {
        web_reply_error(r, res->blocked ? 409 : 500, "%s", errmsg);
        return;
    }
    orc_key_str(&res->successor, ks, sizeof(ks));
    snprintf(msg, sizeof(msg), "Recovery executed: successor %s, writable after %lld ms", ks,
             (long long)(res->writable_ms - res->started_ms));
    if (details_key_only) {
        json_t *k =
            json_pack("{s:s, s:i}", "Hostname", res->successor.host, "Port", res->successor.port);
        web_reply_ok(r, msg, k);
        return;
    }
    memset(&f, 0, sizeof(f));
    f.uid = res->uid;
    be_recovery_list(r->deps->be, &f, &l, err, sizeof(err));
    web_jw_init(&w, &b);
    if (l.n > 0)
        json_recovery(&w, &l.v[0]);
    else
        web_jw_null(&w, NULL);
    be_recovery_list_free(&l);
    web_reply_envelope_raw(r, 200, "OK", msg, orc_buf_str(&b), b.len);
    orc_buf_release(&b);
}

static void recover(struct web_req *r, bool lite)
{
    struct rec_analysis_options o;
    struct rec_analysis_list al;
    struct rec_failover_request req;
    struct rec_result res;
    struct orc_key key, cand;
    const struct rec_analysis *a;
    struct disc_snapshot *s = web_snapshot(r);
    char err[ORC_ERRMSG_SIZE] = "";
    int i, rc;

    if (s == NULL)
        return;
    i = web_find_instance(r, s, 0, &key, true);
    if (i < 0 || (web_param(r, 2) != NULL && web_param_key(r, 2, &cand) != 0)) {
        disc_snapshot_put(s);
        return;
    }
    rec_analysis_list_init(&al);
    rec_analysis_options_from_config(&o, r->rec != NULL ? r->rec->cfg : r->deps->cfg, err,
                                     sizeof(err));
    o.include_downtimed = true;
    o.stale = r->rec != NULL ? r->rec->stale : NULL; /* LockedSemiSyncMaster */
    rec_analysis_run(s, &o, &al);
    disc_snapshot_put(s);
    a = rec_analysis_find(&al, &key);
    if (a == NULL || !a->is_actionable) {
        web_reply_error(r, 400, "Recovery not attempted: %s:%d has no actionable problem (%s)",
                        key.host, key.port, a ? rec_code_name(a->code) : "NoProblem");
        goto out;
    }
    if (rec_semisync_handles(a->code)) { /* the master is alive: nothing is promoted */
        rec_result_init(&res);
        rc = rec_semisync_recover_forced(r->rec, a, lite, &res, err, sizeof(err));
        reply_result(r, &res, rc, err, true);
        rec_result_release(&res);
        goto out;
    }
    memset(&req, 0, sizeof(req));
    req.failed = key;
    req.analysis = rec_code_name(a->code);
    req.intermediate = is_im(a->code);
    req.candidate = web_param(r, 2) ? &cand : NULL;
    req.force = true;
    req.skip_hooks = lite;
    req.command = "recover";
    rec_result_init(&res);
    rc = rec_failover_run(r->rec, &req, &res, err, sizeof(err));
    reply_result(r, &res, rc, err, true);
    rec_result_release(&res);
out:
    rec_analysis_list_release(&al);
    rec_analysis_options_release(&o);
}

static void h_recover(struct web_req *r)
{
    recover(r, false);
}

static void h_recover_lite(struct web_req *r)
{
    recover(r, true);
}

/* force-master-failover/:cluster and force-master-takeover/:cluster/:dh/:dp
 * (or the cluster of an instance, /:host/:port):
 * the master is treated as dead (whatever it says) and a replica promoted. */
static void force_master(struct web_req *r, bool takeover)
{
    struct rec_failover_request req;
    struct rec_result res;
    struct orc_key dest;
    struct disc_snapshot *s;
    char err[ORC_ERRMSG_SIZE] = "";
    int c, d, rc;

    bool by_instance = r->nparams == (takeover ? 4 : 2); /* the :host/:port forms */

    if (takeover && web_param_key(r, by_instance ? 2 : 1, &dest) != 0)
        return;
    s = web_snapshot(r);
    if (s == NULL)
        return;
    if (by_instance) {
        struct orc_key k;
        int i = web_find_instance(r, s, 0, &k, true);
        c = i < 0 ? -1 : disc_snapshot_cluster_of(s, i);
        if (i >= 0 && c < 0)
            web_reply_error(r, 404, "no cluster for instance '%s:%d'", k.host, k.port);
    } else {
        c = web_find_cluster(r, s, web_param(r, 0));
    }
    if (c < 0 || s->clusters[c].master < 0) {
        if (c >= 0)
            web_reply_error(r, 404, "cluster '%s' has no master", s->clusters[c].name);
        disc_snapshot_put(s);
        return;
    }
    memset(&req, 0, sizeof(req));
    req.failed = s->instances[s->clusters[c].master]->key;
    if (takeover) {
        d = disc_snapshot_find(s, &dest);
        if (d < 0 || !orc_key_eq(&s->instances[d]->master_key, &req.failed)) {
            web_reply_error(r, 400, "%s:%d is not a direct replica of the master %s:%d", dest.host,
                            dest.port, req.failed.host, req.failed.port);
            disc_snapshot_put(s);
            return;
        }
        req.candidate = &dest;
    }
    disc_snapshot_put(s);
    req.analysis = "DeadMaster";
    req.force = true;
    req.command = takeover ? "force-master-takeover" : "force-master-failover";
    rec_result_init(&res);
    rc = rec_failover_run(r->rec, &req, &res, err, sizeof(err));
    reply_result(r, &res, rc, err, false);
    rec_result_release(&res);
}

static void h_force_master_failover(struct web_req *r)
{
    force_master(r, false);
}

static void h_force_master_takeover(struct web_req *r)
{
    force_master(r, true);
}

const struct web_route web_routes_recovery[] = {
    {"recover/:host/:port", h_recover, WEB_WRITE},
    {"recover/:host/:port/:chost/:cport", h_recover, WEB_WRITE},
    {"recover-lite/:host/:port", h_recover_lite, WEB_WRITE},
    {"recover-lite/:host/:port/:chost/:cport", h_recover_lite, WEB_WRITE},
    {"force-master-failover/:cluster", h_force_master_failover, WEB_WRITE},
    {"force-master-takeover/:cluster/:dhost/:dport", h_force_master_takeover, WEB_WRITE},
    {"force-master-failover/:host/:port", h_force_master_failover, WEB_WRITE},
    {"force-master-takeover/:host/:port/:dhost/:dport", h_force_master_takeover, WEB_WRITE},
    {"audit-recovery", h_audit_recovery, WEB_READ},
    {"audit-recovery/:page", h_audit_recovery, WEB_READ},
    {"audit-recovery/id/:id", h_audit_recovery_id, WEB_READ},
    {"audit-recovery/uid/:uid", h_audit_recovery_uid, WEB_READ},
    {"audit-recovery/cluster/:cluster", h_audit_recovery_cluster, WEB_READ},
    {"audit-recovery/cluster/:cluster/:page", h_audit_recovery_cluster, WEB_READ},
    {"audit-recovery/alias/:clusterAlias", h_audit_recovery_alias, WEB_READ},
    {"audit-recovery/alias/:clusterAlias/:page", h_audit_recovery_alias, WEB_READ},
    {"audit-recovery-steps/:uid", h_audit_recovery_steps, WEB_READ},
    {"audit-failure-detection", h_audit_detection, WEB_READ},
    {"audit-failure-detection/:page", h_audit_detection, WEB_READ},
    {"audit-failure-detection/id/:id", h_audit_detection_id, WEB_READ},
    {"audit-failure-detection/alias/:clusterAlias", h_audit_detection_alias, WEB_READ},
    {"audit-failure-detection/alias/:clusterAlias/:page", h_audit_detection_alias, WEB_READ},
    {"active-cluster-recovery/:clusterName", h_active_cluster_recovery, WEB_READ},
    {"recently-active-cluster-recovery/:clusterName", h_recent_cluster_recovery, WEB_READ},
    {"recently-active-instance-recovery/:host/:port", h_recent_instance_recovery, WEB_READ},
    {"blocked-recoveries", h_blocked, WEB_READ},
    {"blocked-recoveries/cluster/:cluster", h_blocked, WEB_READ},
    {"ack-recovery/cluster/:cluster", h_ack_cluster, WEB_WRITE},
    {"ack-recovery/cluster/alias/:cluster", h_ack_cluster, WEB_WRITE},
    {"ack-recovery/instance/:host/:port", h_ack_instance, WEB_WRITE},
    {"ack-recovery/uid/:uid", h_ack_uid, WEB_WRITE},
    {"ack-recovery/:id", h_ack_id, WEB_WRITE},
    {"ack-all-recoveries", h_ack_all, WEB_WRITE},
    {"disable-global-recoveries", h_disable, WEB_WRITE},
    {"enable-global-recoveries", h_enable, WEB_WRITE},
    {"check-global-recoveries", h_check, WEB_READ},
};
const size_t web_routes_recovery_len = ORC_ARRAY_LEN(web_routes_recovery);
