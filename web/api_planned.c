/*
 * api_planned: the planned topology operations of the HTTP API: move-up,
 * move-below, repoint, relocate, take-master, stop/start-replica,
 * set-read-only, set-writeable (Details: the Instance afterwards, which
 * orchestrator-client prints as "key<masterkey"), and
 * graceful-master-takeover(-auto) (Details: a TopologyRecovery, whose
 * SuccessorKey the client prints). The work is done by recovery/relocate.c
 * and recovery/takeover.c; this file only parses, maps errors to statuses
 * and shapes the answers.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "discovery/disc.h"
#include "recovery/rec.h"
#include "web/web_int.h"

/* ---- one instance ---- */

static void planned(struct web_req *r, enum rec_planned_op op)
{
    struct rec_planned_request q;
    struct rec_planned_result res;
    struct disc_snapshot *s;
    char err[ORC_ERRMSG_SIZE] = "";
    int rc;

    if (!web_need_rec(r) || (s = web_snapshot(r)) == NULL)
        return;
    memset(&q, 0, sizeof(q));
    q.op = op;
    q.user = r->user;
    rc = web_find_instance(r, s, 0, &q.key, true) < 0 ? -1 : 0;
    if (rc == 0 && web_param(r, 2) != NULL && web_find_instance(r, s, 2, &q.target, true) < 0)
        rc = -1;
    disc_snapshot_put(s);
    if (rc != 0)
        return; /* replied */
    rc = rec_planned_run(r->rec, &q, &res, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, web_status_of(rc), "%s", err);
    else
        web_reply_instance(r, &res.key, res.message);
}

static void h_move_up(struct web_req *r)
{
    planned(r, REC_OP_MOVE_UP);
}

static void h_move_below(struct web_req *r)
{
    planned(r, REC_OP_MOVE_BELOW);
}

static void h_repoint(struct web_req *r)
{
    planned(r, REC_OP_REPOINT);
}

static void h_relocate(struct web_req *r)
{
    planned(r, REC_OP_RELOCATE);
}

static void h_take_master(struct web_req *r)
{
    planned(r, REC_OP_TAKE_MASTER);
}

static void h_stop_replica(struct web_req *r)
{
    planned(r, REC_OP_STOP_REPLICA);
}

static void h_start_replica(struct web_req *r)
{
    planned(r, REC_OP_START_REPLICA);
}

static void h_set_read_only(struct web_req *r)
{
    planned(r, REC_OP_SET_READ_ONLY);
}

static void h_set_writeable(struct web_req *r)
{
    planned(r, REC_OP_SET_WRITEABLE);
}

/* ---- graceful master takeover ---- */

static void json_keys(struct web_jw *w, const char *name, const struct disc_keylist *l)
{
    web_jw_arr(w, name);
    for (size_t i = 0; l != NULL && i < l->len; i++)
        web_jw_key(w, NULL, &l->keys[i]);
    web_jw_arr_end(w);
}

static void json_lines(struct web_jw *w, const char *name, const char *text)
{
    web_jw_arr(w, name);
    while (text != NULL && *text != '\0') {
        size_t k = strcspn(text, "\n");
        char one[ORC_ERRMSG_SIZE];
        if (k > 0) {
            snprintf(one, sizeof(one), "%.*s", (int)k, text);
            web_jw_str(w, NULL, one);
        }
        text += k;
        if (*text == '\n')
            text++;
    }
    web_jw_arr_end(w);
}

static void json_analysis(struct web_jw *w, const struct rec_takeover_result *t)
{
    web_jw_obj(w, "AnalysisEntry");
    web_jw_key(w, "AnalyzedInstanceKey", &t->old_master);
    web_jw_key(w, "AnalyzedInstanceMasterKey", &t->old_master_master);
    web_jw_obj(w, "ClusterDetails");
    web_jw_str(w, "ClusterName", t->cluster);
    web_jw_str(w, "ClusterAlias", t->alias);
    web_jw_obj_end(w);
    web_jw_bool(w, "IsMaster", true);
    web_jw_int(w, "CountReplicas", (int64_t)t->replicas.len);
    json_keys(w, "Replicas", &t->replicas);
    json_keys(w, "SlaveHosts", &t->replicas);
    web_jw_str(w, "Analysis", "DeadMaster");
    web_jw_str(w, "Description", "graceful master takeover");
    web_jw_str(w, "CommandHint", "graceful-master-takeover");
    web_jw_obj_end(w);
}

/* orchestrator's TopologyRecovery for the takeover (plus our extension
 * NoWritableMasterDuration: the window in nanoseconds, as a Go Duration). */
static void json_takeover(struct web_jw *w, const struct rec_takeover_result *t)
{
    char host[128] = "";

    gethostname(host, sizeof(host) - 1);
    web_jw_obj(w, NULL);
    web_jw_int(w, "Id", t->id);
    web_jw_str(w, "UID", t->uid);
    json_analysis(w, t);
    if (t->successor.host[0] != '\0')
        web_jw_key(w, "SuccessorKey", &t->successor);
    else
        web_jw_null(w, "SuccessorKey");
    web_jw_str(w, "SuccessorAlias", "");
    web_jw_obj(w, "SuccessorBinlogCoordinates");
    web_jw_str(w, "LogFile", t->successor_coords.file);
    web_jw_int(w, "LogPos", t->successor_coords.pos);
    web_jw_int(w, "Type", t->successor_coords.type);
    web_jw_obj_end(w);
    web_jw_bool(w, "IsActive", true);
    web_jw_bool(w, "IsSuccessful", t->successful);
    json_keys(w, "LostReplicas", NULL);
    json_keys(w, "ParticipatingInstanceKeys", &t->participants);
    json_lines(w, "AllErrors", orc_buf_str(&t->errors));
    web_jw_time(w, "RecoveryStartTimestamp", t->started_s);
    web_jw_time(w, "RecoveryEndTimestamp", t->ended_s);
    web_jw_str(w, "ProcessingNodeHostname", host);
    web_jw_str(w, "ProcessingNodeToken", "");
    web_jw_bool(w, "Acknowledged", false);
    web_jw_time(w, "AcknowledgedAt", 0);
    web_jw_str(w, "AcknowledgedBy", "");
    web_jw_str(w, "AcknowledgedComment", "");
    web_jw_int(w, "LastDetectionId", 0);
    web_jw_int(w, "RelatedRecoveryId", 0);
    web_jw_str(w, "Type", "MasterRecovery");
    web_jw_str(w, "RecoveryType", "MasterRecoveryGTID");
    web_jw_int(w, "NoWritableMasterDuration", t->no_writer_us >= 0 ? t->no_writer_us * 1000 : -1);
    web_jw_obj_end(w);
}

static void reply_takeover(struct web_req *r, const struct rec_takeover_result *t)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    web_jw_init(&w, &b);
    json_takeover(&w, t);
    if (w.err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_envelope_raw(r, 200, "OK", t->message, b.data, b.len);
    orc_buf_release(&b);
}

/* Routes: /:clusterHint, /:clusterHint/:dh/:dp, /:host/:port, /:host/:port/:dh/:dp. */
static int takeover_args(struct web_req *r,
                         const struct disc_snapshot *s,
                         char *cluster,
                         size_t n,
                         struct orc_key *designated,
                         bool *has_designated)
{
    bool by_instance = r->nparams == 2 || r->nparams == 4;
    int di = by_instance ? 2 : 1, c;
    struct orc_key k;

    if (by_instance) {
        int i = web_find_instance(r, s, 0, &k, true);
        if (i < 0)
            return -1;
        c = disc_snapshot_cluster_of(s, i);
    } else {
        c = web_find_cluster(r, s, web_param(r, 0));
    }
    if (c < 0) {
        if (by_instance)
            web_reply_error(r, 404, "no cluster for instance '%s:%d'", k.host, k.port);
        return -1;
    }
    orc_strlcpy(cluster, s->clusters[c].name, n);
    *has_designated = web_param(r, di) != NULL;
    if (*has_designated && web_find_instance(r, s, di, designated, true) < 0)
        return -1;
    return 0;
}

static void takeover(struct web_req *r, bool auto_choose)
{
    struct rec_takeover_request q;
    struct rec_takeover_result t;
    struct disc_snapshot *s;
    struct orc_key designated;
    char cluster[ORC_KEY_STRLEN], err[ORC_ERRMSG_SIZE] = "";
    bool has_designated = false;
    int rc;

    if (!web_need_rec(r) || (s = web_snapshot(r)) == NULL)
        return;
    rc = takeover_args(r, s, cluster, sizeof(cluster), &designated, &has_designated);
    disc_snapshot_put(s);
    if (rc != 0)
        return; /* replied */
    memset(&q, 0, sizeof(q));
    q.cluster = cluster;
    q.designated = has_designated ? &designated : NULL;
    q.auto_choose = auto_choose;
    q.user = r->user;
    rec_takeover_result_init(&t);
    rc = rec_takeover_run(r->rec, &q, &t, err, sizeof(err));
    if (rc != 0)
        web_reply_error(r, web_status_of(rc), "%s", err);
    else
        reply_takeover(r, &t);
    rec_takeover_result_release(&t);
}

static void h_takeover(struct web_req *r)
{
    takeover(r, false);
}

static void h_takeover_auto(struct web_req *r)
{
    takeover(r, true);
}

const struct web_route web_routes_planned[] = {
    {"move-up/:host/:port", h_move_up, WEB_WRITE},
    {"move-below/:host/:port/:siblingHost/:siblingPort", h_move_below, WEB_WRITE},
    {"repoint/:host/:port", h_repoint, WEB_WRITE},
    {"repoint/:host/:port/:belowHost/:belowPort", h_repoint, WEB_WRITE},
    {"relocate/:host/:port/:belowHost/:belowPort", h_relocate, WEB_WRITE},
    {"relocate-below/:host/:port/:belowHost/:belowPort", h_relocate, WEB_WRITE},
    /* GTID relocation: the same operation (it uses GTID whenever both sides have it) */
    {"move-below-gtid/:host/:port/:belowHost/:belowPort", h_relocate, WEB_WRITE},
    {"move-gtid/:host/:port/:belowHost/:belowPort", h_relocate, WEB_WRITE},
    {"take-master/:host/:port", h_take_master, WEB_WRITE},
    {"enslave-master/:host/:port", h_take_master, WEB_WRITE},
    {"stop-replica/:host/:port", h_stop_replica, WEB_WRITE},
    {"stop-slave/:host/:port", h_stop_replica, WEB_WRITE},
    {"start-replica/:host/:port", h_start_replica, WEB_WRITE},
    {"start-slave/:host/:port", h_start_replica, WEB_WRITE},
    {"set-read-only/:host/:port", h_set_read_only, WEB_WRITE},
    {"set-writeable/:host/:port", h_set_writeable, WEB_WRITE},
    {"graceful-master-takeover/:clusterHint", h_takeover, WEB_WRITE},
    {"graceful-master-takeover/:host/:port", h_takeover, WEB_WRITE},
    {"graceful-master-takeover/:clusterHint/:designatedHost/:designatedPort", h_takeover,
     WEB_WRITE},
    {"graceful-master-takeover/:host/:port/:designatedHost/:designatedPort", h_takeover, WEB_WRITE},
    {"graceful-master-takeover-auto/:clusterHint", h_takeover_auto, WEB_WRITE},
    {"graceful-master-takeover-auto/:host/:port", h_takeover_auto, WEB_WRITE},
    {"graceful-master-takeover-auto/:clusterHint/:designatedHost/:designatedPort", h_takeover_auto,
     WEB_WRITE},
    {"graceful-master-takeover-auto/:host/:port/:designatedHost/:designatedPort", h_takeover_auto,
     WEB_WRITE},
};
const size_t web_routes_planned_len = ORC_ARRAY_LEN(web_routes_planned);
