/*
 * api_analysis: orchestrator's replication-analysis routes. Each request runs
 * the failure analysis (recovery/analysis.c) over the current topology
 * snapshot and answers the envelope {"Code":"OK","Message":"Analysis",
 * "Details":[ReplicationAnalysis...]}, field names and order as orchestrator
 * marshals them. Downtimed entries are included (marked), as orchestrator's
 * API does.
 */
#include <stdlib.h>
#include <string.h>

#include "discovery/disc.h"
#include "recovery/rec.h"
#include "web/web_int.h"

/* ---- options, built once per server ----
 * The analysis options hold compiled regexes (RecoveryIgnoreHostnameFilters,
 * the recovery filters). The server builds them from its config when it
 * starts (web_analysis_prepare) and keeps them read-only, so concurrent
 * requests share them without locking and no request compiles a regex. */

int web_analysis_prepare(const struct orc_config *cfg, void **out, char *errmsg, size_t len)
{
    struct rec_analysis_options *o = calloc(1, sizeof(*o));

    *out = NULL;
    if (o == NULL) {
        orc_errf(errmsg, len, "out of memory");
        return ORC_ENOMEM;
    }
    if (rec_analysis_options_from_config(o, cfg, errmsg, len) != 0) {
        free(o);
        return ORC_ECONFIG;
    }
    o->include_downtimed = true; /* the API shows downtimed entries, marked */
    *out = o;
    return 0;
}

void web_analysis_release(void *opts)
{
    if (opts == NULL)
        return;
    rec_analysis_options_release(opts);
    free(opts);
}

static bool lists_equal(const struct orc_strlist *a, const struct orc_strlist *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return false;
    return true;
}

/* True when the analysis reads the same settings in a and b (the file's
 * config and the effective one, which replicated recovery settings change). */
static bool same_analysis_settings(const struct orc_config *a, const struct orc_config *b)
{
    return lists_equal(&a->RecoveryIgnoreHostnameFilters, &b->RecoveryIgnoreHostnameFilters) &&
           lists_equal(&a->RecoverMasterClusterFilters, &b->RecoverMasterClusterFilters) &&
           lists_equal(&a->RecoverIntermediateMasterClusterFilters,
                       &b->RecoverIntermediateMasterClusterFilters) &&
           a->ReasonableLockedSemiSyncMasterSeconds == b->ReasonableLockedSemiSyncMasterSeconds &&
           a->EnforceExactSemiSyncReplicas == b->EnforceExactSemiSyncReplicas &&
           a->RecoverNonWriteableMaster == b->RecoverNonWriteableMaster;
}

/* ---- ReplicationAnalysis JSON ---- */

static void jw_cluster_details(struct web_jw *w, const struct rec_analysis *a)
{
    web_jw_obj(w, "ClusterDetails");
    web_jw_str(w, "ClusterName", a->cluster_name);
    web_jw_str(w, "ClusterAlias", a->cluster_alias);
    web_jw_str(w, "ClusterDomain", a->cluster_domain);
    web_jw_int(w, "CountInstances", a->cluster_count_instances);
    web_jw_int(w, "HeuristicLag", a->cluster_heuristic_lag);
    web_jw_bool(w, "HasAutomatedMasterRecovery", a->has_automated_master_recovery);
    web_jw_bool(w, "HasAutomatedIntermediateMasterRecovery", a->has_automated_im_recovery);
    web_jw_obj_end(w);
}

static void jw_keys(struct web_jw *w, const char *name, const struct disc_keylist *l)
{
    web_jw_arr(w, name);
    for (size_t i = 0; i < l->len; i++)
        web_jw_key(w, NULL, &l->keys[i]);
    web_jw_arr_end(w);
}

/* Identity, placement and the replica counts. */
static void jw_analysis_head(struct web_jw *w, const struct rec_analysis *a)
{
    web_jw_key(w, "AnalyzedInstanceKey", &a->key);
    web_jw_key(w, "AnalyzedInstanceMasterKey", &a->master_key);
    jw_cluster_details(w, a);
    web_jw_str(w, "AnalyzedInstanceDataCenter", a->data_center);
    web_jw_str(w, "AnalyzedInstanceRegion", a->region);
    web_jw_str(w, "AnalyzedInstancePhysicalEnvironment", a->physical_environment);
    web_jw_obj(w, "AnalyzedInstanceBinlogCoordinates");
    web_jw_str(w, "LogFile", a->binlog_coords.file);
    web_jw_int(w, "LogPos", a->binlog_coords.pos);
    web_jw_int(w, "Type", a->binlog_coords.type);
    web_jw_obj_end(w);
    web_jw_bool(w, "IsMaster", a->is_master);
    web_jw_bool(w, "IsReplicationGroupMember", false);
    web_jw_bool(w, "IsCoMaster", a->is_co_master);
    web_jw_bool(w, "LastCheckValid", a->last_check_valid);
    web_jw_bool(w, "LastCheckPartialSuccess", a->last_check_partial_success);
    web_jw_int(w, "CountReplicas", a->count_replicas);
    web_jw_int(w, "CountValidReplicas", a->count_valid_replicas);
    web_jw_int(w, "CountValidReplicatingReplicas", a->count_valid_replicating_replicas);
    web_jw_int(w, "CountReplicasFailingToConnectToMaster", a->count_replicas_failing_to_connect);
    web_jw_int(w, "CountDowntimedReplicas", a->count_downtimed_replicas);
    web_jw_int(w, "ReplicationDepth", a->replication_depth);
    jw_keys(w, "Replicas", &a->replicas);
    jw_keys(w, "SlaveHosts", &a->replicas);
    web_jw_bool(w, "IsFailingToConnectToMaster", a->is_failing_to_connect_to_master);
}

/* The verdict, downtime and topology flags. */
static void jw_analysis_verdict(struct web_jw *w, const struct rec_analysis *a)
{
    char ts[32] = "";

    web_jw_str(w, "Analysis", rec_code_name(a->code));
    web_jw_str(w, "Description", a->description);
    web_jw_arr(w, "StructureAnalysis");
    for (int sw = 0; sw < REC_SW_COUNT_; sw++)
        if (a->structure & (1u << sw))
            web_jw_str(w, NULL, rec_structure_name(sw));
    web_jw_arr_end(w);
    web_jw_bool(w, "IsDowntimed", a->is_downtimed);
    web_jw_bool(w, "IsReplicasDowntimed", a->is_replicas_downtimed);
    if (a->downtime_end_s > 0)
        orc_time_str(a->downtime_end_s, ts, sizeof(ts));
    web_jw_str(w, "DowntimeEndTimestamp", ts);
    web_jw_int(w, "DowntimeRemainingSeconds", a->downtime_remaining_s);
    web_jw_bool(w, "IsBinlogServer", false);
    web_jw_bool(w, "PseudoGTIDImmediateTopology", false);
    web_jw_bool(w, "OracleGTIDImmediateTopology", a->oracle_gtid_immediate);
    web_jw_bool(w, "MariaDBGTIDImmediateTopology", a->mariadb_gtid_immediate);
    web_jw_bool(w, "BinlogServerImmediateTopology", false);
    web_jw_bool(w, "SemiSyncMasterEnabled", a->semi_sync_master_enabled);
    web_jw_bool(w, "SemiSyncMasterStatus", a->semi_sync_master_status);
    web_jw_int(w, "SemiSyncMasterWaitForReplicaCount", a->semi_sync_master_wait_for_replica_count);
    web_jw_int(w, "SemiSyncMasterClients", a->semi_sync_master_clients);
    web_jw_int(w, "CountSemiSyncReplicasEnabled", a->count_semi_sync_replicas_enabled);
}

/* Logging replicas, recovery bookkeeping and GTID. */
static void jw_analysis_tail(struct web_jw *w, const struct rec_analysis *a)
{
    web_jw_int(w, "CountLoggingReplicas", a->count_logging_replicas);
    web_jw_int(w, "CountStatementBasedLoggingReplicas", a->count_statement_logging_replicas);
    web_jw_int(w, "CountMixedBasedLoggingReplicas", a->count_mixed_logging_replicas);
    web_jw_int(w, "CountRowBasedLoggingReplicas", a->count_row_logging_replicas);
    web_jw_int(w, "CountDistinctMajorVersionsLoggingReplicas",
               a->count_distinct_major_versions_logging);
    web_jw_int(w, "CountDelayedReplicas", a->count_delayed_replicas);
    web_jw_int(w, "CountLaggingReplicas", a->count_lagging_replicas);
    web_jw_bool(w, "IsActionableRecovery", a->is_actionable);
    web_jw_str(w, "ProcessingNodeHostname", "");
    web_jw_str(w, "ProcessingNodeToken", "");
    web_jw_int(w, "CountAdditionalAgreeingNodes", 0);
    web_jw_str(w, "StartActivePeriod", "");
    web_jw_bool(w, "SkippableDueToDowntime", a->skippable_due_to_downtime);
    web_jw_str(w, "GTIDMode", a->gtid_mode);
    web_jw_str(w, "MinReplicaGTIDMode", a->min_replica_gtid_mode);
    web_jw_str(w, "MaxReplicaGTIDMode", a->max_replica_gtid_mode);
    web_jw_str(w, "MaxReplicaGTIDErrant", disc_str(a->max_replica_gtid_errant));
    web_jw_str(w, "CommandHint", "");
    web_jw_bool(w, "IsReadOnly", a->is_read_only);
}

static void jw_analysis(struct web_jw *w, const struct rec_analysis *a)
{
    web_jw_obj(w, NULL);
    jw_analysis_head(w, a);
    jw_analysis_verdict(w, a);
    jw_analysis_tail(w, a);
    web_jw_obj_end(w);
}

/* ---- handlers ---- */

/* Analyses s (one cluster when cluster is not NULL), keeps the entries of
 * only (all when NULL) and replies with the envelope. */
static void reply_analysis(struct web_req *r,
                           const struct disc_snapshot *s,
                           const char *cluster,
                           const struct orc_key *only)
{
    const struct orc_config *eff = r->rec != NULL ? r->rec->cfg : r->deps->cfg;
    const struct rec_analysis_options *shared = NULL;
    struct rec_analysis_options o, own;
    struct rec_analysis_list l;
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;
    char err[ORC_ERRMSG_SIZE] = "";
    bool owned = false;
    int rc;

    /* the file's options, shared; replicated settings that differ: this
     * request's own */
    if (same_analysis_settings(r->deps->cfg, eff))
        shared = web_analysis_options_of(r);
    else if (rec_analysis_options_from_config(&own, eff, err, sizeof(err)) == 0)
        shared = &own, owned = true, own.include_downtimed = true;
    if (shared == NULL) {
        web_reply_error(r, 500, "cannot prepare the analysis: out of memory");
        return;
    }
    o = *shared; /* shallow: the compiled filters stay shared and read-only */
    o.only_cluster = cluster;
    o.stale = r->deps->rec != NULL ? r->deps->rec->stale : NULL; /* LockedSemiSyncMaster */
    rec_analysis_list_init(&l);
    rc = rec_analysis_run(s, &o, &l);
    if (owned)
        rec_analysis_options_release(&own);
    if (rc != 0) {
        rec_analysis_list_release(&l);
        web_reply_error(r, 500, "analysis failed: out of memory");
        return;
    }
    web_jw_init(&w, &b);
    web_jw_arr(&w, NULL);
    for (size_t i = 0; i < l.n; i++)
        if (only == NULL || orc_key_eq(&l.v[i].key, only))
            jw_analysis(&w, &l.v[i]);
    web_jw_arr_end(&w);
    rec_analysis_list_release(&l);
    if (w.err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_envelope_raw(r, 200, "OK", "Analysis", b.data, b.len);
    orc_buf_release(&b);
}

static void h_analysis(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);

    if (s == NULL)
        return;
    reply_analysis(r, s, NULL, NULL);
    disc_snapshot_put(s);
}

static void h_analysis_cluster(struct web_req *r)
{
    struct disc_snapshot *s = web_snapshot(r);
    int c;

    if (s == NULL)
        return;
    c = web_find_cluster(r, s, web_param(r, 0));
    if (c >= 0)
        reply_analysis(r, s, s->clusters[c].name, NULL);
    disc_snapshot_put(s);
}

/* An instance the topology does not know has no entry: an empty list, as
 * orchestrator filters the whole analysis by the key. */
static void h_analysis_instance(struct web_req *r)
{
    struct disc_snapshot *s;
    struct orc_key k;
    int i, c;

    if (web_param_key(r, 0, &k) != 0)
        return;
    s = web_snapshot(r);
    if (s == NULL)
        return;
    i = web_find_instance(r, s, 0, &k, false);
    c = disc_snapshot_cluster_of(s, i);
    if (c >= 0)
        reply_analysis(r, s, s->clusters[c].name, &k);
    else
        web_reply_envelope_raw(r, 200, "OK", "Analysis", "[]", 2);
    disc_snapshot_put(s);
}

const struct web_route web_routes_analysis[] = {
    {"replication-analysis", h_analysis, WEB_READ},
    {"replication-analysis/instance/:host/:port", h_analysis_instance, WEB_READ},
    {"replication-analysis/:clusterName", h_analysis_cluster, WEB_READ},
};
const size_t web_routes_analysis_len = ORC_ARRAY_LEN(web_routes_analysis);
