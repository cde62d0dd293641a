/*
 * fsm_ops: replicated commands of operator bookkeeping: maintenance (begun
 * and ended by operators and around planned relocations), audit entries, and
 * housekeeping (expiry and trimming, issued by the leader with its own time
 * and limits so every node removes exactly the same rows). Ids are assigned
 * inside the applying transaction (MAX(id) + 1), so they are the same on
 * every node and the submitter learns them from the command's answer.
 */
#include <string.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "orchestrator/fsm.h"
#include "orchestrator/fsm_int.h"

static int64_t num(const json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

static json_t *key_json(const struct orc_key *k)
{
    return json_pack("{s:s, s:i}", "Hostname", k->host, "Port", k->port);
}

/* {"Key", "Owner", "Reason", "Now", "EndTimestamp"} -> {"Id", "Key"}. */
int fsm_op_begin_maintenance(struct orc_fsm *f,
                             const json_t *p,
                             json_t **res,
                             char *errmsg,
                             size_t len)
{
    struct be_maintenance m;
    int64_t id = 0;
    int rc;

    memset(&m, 0, sizeof(m));
    if (fsm_key(p, &m.key, errmsg, len) != 0)
        return ORC_EINVAL;
    m.begin_ts = num(p, "Now");
    m.end_ts = num(p, "EndTimestamp");
    if (m.end_ts <= m.begin_ts)
        m.end_ts = m.begin_ts + DISC_MAINTENANCE_S;
    m.owner = fsm_str(p, "Owner");
    m.reason = fsm_str(p, "Reason");
    m.processing_node_hostname = fsm_str(p, "ProcessingNodeHostname");
    m.processing_node_token = fsm_str(p, "ProcessingNodeToken");
    m.explicitly_bounded = json_is_integer(json_object_get(p, "EndTimestamp"));
    rc = be_maintenance_begin(f->be, &m, &id, errmsg, len);
    if (rc == 0 && f->topo != NULL) {
        disc_topo_set_maintenance(f->topo, &m.key, false, "", "");
        disc_topo_set_maintenance(f->topo, &m.key, true, m.owner, m.reason);
    }
    if (res != NULL && (rc == 0 || rc == ORC_EEXIST))
        *res = json_pack("{s:I, s:o, s:b}", "Id", (json_int_t)id, "Key", key_json(&m.key),
                         "Existing", rc == ORC_EEXIST);
    return rc;
}

/* The key of the active maintenance id (as of now), or ORC_ENOTFOUND. */
static int maintenance_key(struct orc_fsm *f,
                           int64_t id,
                           int64_t now,
                           struct orc_key *k,
                           char *errmsg,
                           size_t len)
{
    struct be_maintenance_list l = {0};
    int rc = be_maintenance_list_active(f->be, now, &l, errmsg, len);

    if (rc == 0) {
        rc = ORC_ENOTFOUND;
        for (size_t i = 0; i < l.n && rc != 0; i++) {
            if (l.v[i].id == id) {
                *k = l.v[i].key;
                rc = 0;
            }
        }
        if (rc != 0)
            orc_errf(errmsg, len, "no active maintenance with key %lld", (long long)id);
    }
    be_maintenance_list_free(&l);
    return rc;
}

/* {"Id"} or {"Key"}, "Now" -> {"Key"}. */
int fsm_op_end_maintenance(struct orc_fsm *f,
                           const json_t *p,
                           json_t **res,
                           char *errmsg,
                           size_t len)
{
    int64_t id = num(p, "Id"), now = num(p, "Now");
    struct orc_key k;
    int rc;

    if (id > 0)
        rc = maintenance_key(f, id, now, &k, errmsg, len);
    else
        rc = fsm_key(p, &k, errmsg, len);
    if (rc != 0)
        return rc;
    rc = id > 0 ? be_maintenance_end(f->be, id, now, errmsg, len)
                : be_maintenance_end_key(f->be, &k, now, errmsg, len);
    if (rc == 0 && f->topo != NULL)
        disc_topo_set_maintenance(f->topo, &k, false, "", "");
    if (res != NULL && rc == 0)
        *res = json_pack("{s:o}", "Key", key_json(&k));
    return rc;
}

/* {"Type", "Key"?, "ClusterName", "Message", "Now"}. */
int fsm_op_write_audit(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    struct be_audit a;

    (void)res;
    memset(&a, 0, sizeof(a));
    a.ts = num(p, "Now");
    a.type = fsm_str(p, "Type");
    if (json_is_object(json_object_get(p, "Key")) && fsm_key(p, &a.key, errmsg, len) != 0)
        return ORC_EINVAL;
    a.cluster_name = fsm_str(p, "ClusterName");
    a.message = fsm_str(p, "Message");
    if (*a.type == '\0') {
        orc_errf(errmsg, len, "write-audit needs a type");
        return ORC_EINVAL;
    }
    return be_audit_write(f->be, &a, errmsg, len);
}

/* Ends, in the live topology, the maintenance that expires by now. */
static void expire_topology_maintenance(struct orc_fsm *f, int64_t now)
{
    struct be_maintenance_list l = {0};

    if (f->topo == NULL || be_maintenance_list_active(f->be, INT64_MIN, &l, NULL, 0) != 0)
        return;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].end_ts <= now)
            disc_topo_set_maintenance(f->topo, &l.v[i].key, false, "", "");
    be_maintenance_list_free(&l);
}

/* One step of housekeeping; *first keeps the first error message. */
static int step(int rc, int prev)
{
    return prev != 0 ? prev : rc;
}

/* {"Now", "CandidateBefore", "AuditBefore", "DetectionBefore",
 *  "RecoveryBefore", "BlockedBefore", "AuditKeep", "HistoryKeep"}: every
 * bound computed by the leader from its clock and config. */
int fsm_op_housekeeping(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    int64_t now = num(p, "Now"), audit_before = num(p, "AuditBefore");
    int64_t audit_keep = num(p, "AuditKeep"), history_keep = num(p, "HistoryKeep");
    int rc = 0;

    (void)res;
    if (now <= 0) {
        orc_errf(errmsg, len, "housekeeping needs the leader's time");
        return ORC_EINVAL;
    }
    expire_topology_maintenance(f, now);
    rc = step(be_downtime_expire(f->be, now, NULL, errmsg, len), rc);
    rc = step(be_maintenance_expire(f->be, now, NULL, errmsg, len), rc);
    rc = step(be_candidate_expire(f->be, num(p, "CandidateBefore"), NULL, errmsg, len), rc);
    if (audit_before > 0)
        rc = step(be_audit_expire(f->be, audit_before, NULL, errmsg, len), rc);
    if (audit_keep > 0)
        rc = step(be_history_trim(f->be, "audit", audit_keep, NULL, errmsg, len), rc);
    if (history_keep > 0) {
        rc = step(
            be_history_trim(f->be, "topology_recovery_steps", history_keep, NULL, errmsg, len), rc);
        rc = step(
            be_history_trim(f->be, "topology_failure_detection", history_keep, NULL, errmsg, len),
            rc);
    }
    rc = step(be_detection_clear_active(f->be, num(p, "DetectionBefore"), now, NULL, errmsg, len),
              rc);
    rc =
        step(be_recovery_clear_active(f->be, num(p, "RecoveryBefore"), now, NULL, errmsg, len), rc);
    rc = step(be_blocked_recovery_expire(f->be, num(p, "BlockedBefore"), NULL, errmsg, len), rc);
    return rc;
}
