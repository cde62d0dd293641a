/*
 * fsm_import: the replicated command "import-orchestrator-state", the
 * operator state read from a Go orchestrator's backend by
 * `orchestrator import-orchestrator-backend` (orchestrator/import.c):
 *
 *   {"ClusterAliases": [{"ClusterName", "Alias"}],
 *    "Downtimes":      [{"Hostname", "Port", "Owner", "Reason", "BeginTimestamp", "EndTimestamp"}],
 *    "PromotionRules": [{"Hostname", "Port", "PromotionRule", "Priority", "LastSuggested"}],
 *    "Maintenance":    [{"Hostname", "Port", "Owner", "Reason", "BeginTimestamp", "EndTimestamp",
 *                        "ProcessingNodeHostname", "ProcessingNodeToken", "ExplicitlyBounded"}],
 *    "AcknowledgedRecoveries": [{"UID", "Hostname", "Port", ...topology_recovery's fields}]}
 *
 * Timestamps are unix seconds fixed by the submitter, so every node applies
 * the same rows. Everything is written in one backend transaction: an invalid
 * entry rolls the whole import back. Only after the commit are the live
 * topology's annotations set (downtime, rules, aliases, maintenance), as
 * orc_fsm_restore does at start; instances the topology does not know yet get
 * theirs from the backend at the next start.
 */
#include <string.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "orchestrator/fsm.h"
#include "orchestrator/fsm_int.h"

struct import_counts {
    int aliases, downtimes, rules, maintenance, recoveries, skipped;
};

static int64_t num(const json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

/* The array member k of p, or NULL when absent (json_array_foreach and
 * json_array_size take NULL as empty); ORC_EINVAL when it is not an array. */
static int list_of(const json_t *p, const char *k, const json_t **out, char *errmsg, size_t len)
{
    const json_t *a = json_object_get(p, k);

    *out = a;
    if (a != NULL && !json_is_array(a)) {
        orc_errf(errmsg, len, "'%s' is not an array", k);
        return ORC_EINVAL;
    }
    return 0;
}

static int entry_key(const json_t *e,
                     const char *what,
                     size_t i,
                     struct orc_key *k,
                     char *errmsg,
                     size_t len)
{
    if (fsm_key(e, k, errmsg, len) != 0) {
        orc_errf(errmsg, len, "%s #%zu has no valid Hostname/Port", what, i + 1);
        return ORC_EINVAL;
    }
    return 0;
}

static int write_aliases(struct orc_fsm *f,
                         const json_t *a,
                         int64_t now,
                         struct import_counts *c,
                         char *errmsg,
                         size_t len)
{
    size_t i;
    const json_t *e;

    json_array_foreach(a, i, e)
    {
        const char *cluster = fsm_str(e, "ClusterName"), *alias = fsm_str(e, "Alias");

        if (*cluster == '\0' || *alias == '\0') {
            orc_errf(errmsg, len, "cluster alias #%zu needs ClusterName and Alias", i + 1);
            return ORC_EINVAL;
        }
        if (be_alias_set_override(f->be, cluster, alias, now, errmsg, len) != 0)
            return ORC_EDB;
        c->aliases++;
    }
    return 0;
}

static int write_downtimes(struct orc_fsm *f,
                           const json_t *a,
                           struct import_counts *c,
                           char *errmsg,
                           size_t len)
{
    size_t i;
    const json_t *e;

    json_array_foreach(a, i, e)
    {
        struct be_downtime d;

        memset(&d, 0, sizeof(d));
        if (entry_key(e, "downtime", i, &d.key, errmsg, len) != 0)
            return ORC_EINVAL;
        d.active = true;
        d.begin_ts = num(e, "BeginTimestamp");
        d.end_ts = num(e, "EndTimestamp");
        d.owner = fsm_str(e, "Owner");
        d.reason = fsm_str(e, "Reason");
        if (be_downtime_begin(f->be, &d, errmsg, len) != 0)
            return ORC_EDB;
        c->downtimes++;
    }
    return 0;
}

static int write_rules(struct orc_fsm *f,
                       const json_t *a,
                       struct import_counts *c,
                       char *errmsg,
                       size_t len)
{
    size_t i;
    const json_t *e;

    json_array_foreach(a, i, e)
    {
        struct be_candidate r;
        int rc;

        memset(&r, 0, sizeof(r));
        if (entry_key(e, "promotion rule", i, &r.key, errmsg, len) != 0)
            return ORC_EINVAL;
        r.promotion_rule = fsm_str(e, "PromotionRule");
        r.priority = (int)num(e, "Priority");
        r.last_suggested = num(e, "LastSuggested");
        rc = be_candidate_register(f->be, &r, errmsg, len);
        if (rc != 0)
            return rc;
        c->rules++;
    }
    return 0;
}

static int write_maintenance(struct orc_fsm *f,
                             const json_t *a,
                             struct import_counts *c,
                             char *errmsg,
                             size_t len)
{
    size_t i;
    const json_t *e;

    json_array_foreach(a, i, e)
    {
        struct be_maintenance m;
        int64_t id = 0;
        int rc;

        memset(&m, 0, sizeof(m));
        if (entry_key(e, "maintenance", i, &m.key, errmsg, len) != 0)
            return ORC_EINVAL;
        m.begin_ts = num(e, "BeginTimestamp");
        m.end_ts = num(e, "EndTimestamp");
        m.owner = fsm_str(e, "Owner");
        m.reason = fsm_str(e, "Reason");
        m.processing_node_hostname = fsm_str(e, "ProcessingNodeHostname");
        m.processing_node_token = fsm_str(e, "ProcessingNodeToken");
        m.explicitly_bounded = json_is_true(json_object_get(e, "ExplicitlyBounded"));
        rc = be_maintenance_begin(f->be, &m, &id, errmsg, len);
        if (rc == ORC_EEXIST) { /* already under maintenance here: keep that one */
            c->skipped++;
            continue;
        }
        if (rc != 0)
            return rc;
        c->maintenance++;
    }
    return 0;
}

/* One acknowledged recovery as history: out of its active period, so it
 * blocks nothing. Keyed by its uid: importing again updates the row. */
static int write_recovery(struct orc_fsm *f, const json_t *e, size_t i, char *errmsg, size_t len)
{
    static const char *const cols[] = {"uid",
                                       "hostname",
                                       "port",
                                       "in_active_period",
                                       "start_active_period",
                                       "end_active_period_unixtime",
                                       "end_recovery",
                                       "processing_node_hostname",
                                       "processcing_node_token",
                                       "successor_hostname",
                                       "successor_port",
                                       "successor_alias",
                                       "analysis",
                                       "cluster_name",
                                       "cluster_alias",
                                       "count_affected_slaves",
                                       "slave_hosts",
                                       "participating_instances",
                                       "lost_slaves",
                                       "all_errors",
                                       "is_successful",
                                       "acknowledged",
                                       "acknowledged_at",
                                       "acknowledged_by",
                                       "acknowledge_comment"};
    struct orc_key k;
    const char *uid = fsm_str(e, "UID");

    if (*uid == '\0') {
        orc_errf(errmsg, len, "acknowledged recovery #%zu has no UID", i + 1);
        return ORC_EINVAL;
    }
    if (entry_key(e, "acknowledged recovery", i, &k, errmsg, len) != 0)
        return ORC_EINVAL;
    struct be_val v[] = {BE_VTEXT(uid),
                         BE_VTEXT(k.host),
                         BE_VINT(k.port),
                         BE_VINT(0),
                         BE_VINT(num(e, "StartActivePeriod")),
                         BE_VINT(num(e, "EndActivePeriodUnixtime")),
                         BE_VINT(num(e, "EndRecovery")),
                         BE_VTEXT(fsm_str(e, "ProcessingNodeHostname")),
                         BE_VTEXT(fsm_str(e, "ProcessingNodeToken")),
                         BE_VTEXT(fsm_str(e, "SuccessorHostname")),
                         BE_VINT(num(e, "SuccessorPort")),
                         BE_VTEXT(fsm_str(e, "SuccessorAlias")),
                         BE_VTEXT(fsm_str(e, "Analysis")),
                         BE_VTEXT(fsm_str(e, "ClusterName")),
                         BE_VTEXT(fsm_str(e, "ClusterAlias")),
                         BE_VINT(num(e, "CountAffectedReplicas")),
                         BE_VTEXT(fsm_str(e, "ReplicaHosts")),
                         BE_VTEXT(fsm_str(e, "ParticipatingInstances")),
                         BE_VTEXT(fsm_str(e, "LostReplicas")),
                         BE_VTEXT(fsm_str(e, "AllErrors")),
                         BE_VINT(json_is_true(json_object_get(e, "IsSuccessful"))),
                         BE_VINT(1),
                         BE_VINT(num(e, "AcknowledgedAt")),
                         BE_VTEXT(fsm_str(e, "AcknowledgedBy")),
                         BE_VTEXT(fsm_str(e, "AcknowledgeComment"))};

    return be_upsert(f->be, "topology_recovery", cols, ORC_ARRAY_LEN(cols), 1, v, 1, errmsg, len);
}

static int write_recoveries(struct orc_fsm *f,
                            const json_t *a,
                            struct import_counts *c,
                            char *errmsg,
                            size_t len)
{
    size_t i;
    const json_t *e;

    json_array_foreach(a, i, e)
    {
        int rc = write_recovery(f, e, i, errmsg, len);

        if (rc != 0)
            return rc;
        c->recoveries++;
    }
    return 0;
}

/* After the commit: what reads and analysis see. Unknown instances are
 * skipped here (the backend has their rows). */
static void annotate(struct orc_fsm *f,
                     const json_t *aliases,
                     const json_t *downtimes,
                     const json_t *rules,
                     const json_t *maint)
{
    int64_t expiry = f->cfg->CandidateInstanceExpireMinutes * 60;
    struct orc_key k;
    size_t i;
    const json_t *e;

    json_array_foreach(aliases, i, e)
        disc_topo_set_cluster_alias(f->topo, fsm_str(e, "ClusterName"), fsm_str(e, "Alias"));
    json_array_foreach(downtimes, i, e)
    {
        if (fsm_key(e, &k, NULL, 0) == 0)
            disc_topo_set_downtime(f->topo, &k, num(e, "EndTimestamp"), fsm_str(e, "Owner"),
                                   fsm_str(e, "Reason"));
    }
    json_array_foreach(rules, i, e)
    {
        if (fsm_key(e, &k, NULL, 0) == 0)
            disc_topo_set_promotion_rule(f->topo, &k, fsm_str(e, "PromotionRule"),
                                         num(e, "LastSuggested") + expiry);
    }
    json_array_foreach(maint, i, e)
    {
        if (fsm_key(e, &k, NULL, 0) == 0)
            disc_topo_set_maintenance(f->topo, &k, true, fsm_str(e, "Owner"), fsm_str(e, "Reason"));
    }
}

int fsm_op_import(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    const json_t *aliases, *downtimes, *rules, *maint, *recs;
    struct import_counts c;
    int rc;

    memset(&c, 0, sizeof(c));
    if (list_of(p, "ClusterAliases", &aliases, errmsg, len) != 0 ||
        list_of(p, "Downtimes", &downtimes, errmsg, len) != 0 ||
        list_of(p, "PromotionRules", &rules, errmsg, len) != 0 ||
        list_of(p, "Maintenance", &maint, errmsg, len) != 0 ||
        list_of(p, "AcknowledgedRecoveries", &recs, errmsg, len) != 0)
        return ORC_EINVAL;
    rc = be_begin(f->be, errmsg, len);
    if (rc != 0)
        return rc;
    rc = write_aliases(f, aliases, num(p, "Now"), &c, errmsg, len);
    if (rc == 0)
        rc = write_downtimes(f, downtimes, &c, errmsg, len);
    if (rc == 0)
        rc = write_rules(f, rules, &c, errmsg, len);
    if (rc == 0)
        rc = write_maintenance(f, maint, &c, errmsg, len);
    if (rc == 0)
        rc = write_recoveries(f, recs, &c, errmsg, len);
    if (rc != 0) {
        be_rollback(f->be, NULL, 0);
        orc_errprefix(errmsg, len, "import refused, nothing imported");
        return rc;
    }
    rc = be_commit(f->be, errmsg, len);
    if (rc != 0)
        return rc;
    annotate(f, aliases, downtimes, rules, maint);
    ORC_LOG_N("+state-imported",
              "aliases=%d downtimes=%d promotion_rules=%d maintenance=%d "
              "acknowledged_recoveries=%d skipped=%d",
              c.aliases, c.downtimes, c.rules, c.maintenance, c.recoveries, c.skipped);
    if (res != NULL)
        *res = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "ClusterAliases", c.aliases, "Downtimes",
                         c.downtimes, "PromotionRules", c.rules, "Maintenance", c.maintenance,
                         "AcknowledgedRecoveries", c.recoveries, "Skipped", c.skipped);
    return 0;
}
