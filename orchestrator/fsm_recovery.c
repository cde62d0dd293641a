/*
 * fsm_recovery: replicated commands of the recovery side: failure
 * detections, recovery registration (anti-flapping), steps, resolution,
 * acknowledgements and KV pairs. Every payload carries its own timestamps
 * ("Now", "At") so every node applies the same command the same way.
 */
#include <string.h>

#include "backend/be.h"
#include "orchestrator/fsm.h"
#include "orchestrator/fsm_int.h"

static int64_t num(const json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

int fsm_op_register_detection(struct orc_fsm *f,
                              const json_t *p,
                              json_t **res,
                              char *errmsg,
                              size_t len)
{
    struct be_detection d;
    int64_t id = 0;
    int rc;

    memset(&d, 0, sizeof(d));
    if (fsm_key(p, &d.key, errmsg, len) != 0)
        return ORC_EINVAL;
    d.start_active_period = num(p, "Now");
    d.processing_node_hostname = fsm_str(p, "ProcessingNodeHostname");
    d.processing_node_token = fsm_str(p, "ProcessingNodeToken");
    d.analysis = fsm_str(p, "Analysis");
    d.cluster_name = fsm_str(p, "ClusterName");
    d.cluster_alias = fsm_str(p, "ClusterAlias");
    d.count_affected_replicas = (int)num(p, "CountAffectedReplicas");
    d.replica_hosts = fsm_str(p, "ReplicaHosts");
    d.is_actionable = json_is_true(json_object_get(p, "IsActionable"));
    rc = be_detection_register(f->be, &d, &id, errmsg, len);
    if (res != NULL && (rc == 0 || rc == ORC_EEXIST))
        *res = json_pack("{s:I, s:b}", "Id", (json_int_t)id, "Existing", rc == ORC_EEXIST);
    return rc;
}

int fsm_op_register_recovery(struct orc_fsm *f,
                             const json_t *p,
                             json_t **res,
                             char *errmsg,
                             size_t len)
{
    struct be_recovery r;
    struct be_recovery_register_args a;
    int64_t id = 0, blocking = 0;
    int rc;

    memset(&r, 0, sizeof(r));
    if (fsm_key(p, &r.key, errmsg, len) != 0)
        return ORC_EINVAL;
    r.uid = fsm_str(p, "UID");
    r.analysis = fsm_str(p, "Analysis");
    r.cluster_name = fsm_str(p, "ClusterName");
    r.cluster_alias = fsm_str(p, "ClusterAlias");
    r.count_affected_replicas = (int)num(p, "CountAffectedReplicas");
    r.replica_hosts = fsm_str(p, "ReplicaHosts");
    r.processing_node_hostname = fsm_str(p, "ProcessingNodeHostname");
    r.processing_node_token = fsm_str(p, "ProcessingNodeToken");
    r.last_detection_id = num(p, "LastDetectionId");
    a.now = num(p, "Now");
    a.block_seconds = num(p, "BlockSeconds");
    a.force = json_is_true(json_object_get(p, "Force"));
    rc = be_recovery_register(f->be, &r, &a, &id, &blocking, errmsg, len);
    if (res != NULL && (rc == 0 || rc == ORC_EEXIST))
        *res = json_pack("{s:I, s:I, s:b}", "Id", (json_int_t)id, "BlockingId",
                         (json_int_t)blocking, "Blocked", rc == ORC_EEXIST);
    return rc;
}

int fsm_op_recovery_step(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    (void)res;
    return be_recovery_step_write(f->be, fsm_str(p, "UID"), num(p, "At"), fsm_str(p, "Message"),
                                  errmsg, len);
}

int fsm_op_resolve_recovery(struct orc_fsm *f,
                            const json_t *p,
                            json_t **res,
                            char *errmsg,
                            size_t len)
{
    struct be_recovery r;
    const json_t *s = json_object_get(p, "SuccessorKey");
    int rc;

    (void)res;
    memset(&r, 0, sizeof(r));
    if (fsm_key(p, &r.key, errmsg, len) != 0)
        return ORC_EINVAL;
    if (json_is_object(s))
        fsm_key(s, &r.successor, errmsg, len);
    r.uid = fsm_str(p, "UID");
    r.successor_alias = fsm_str(p, "SuccessorAlias");
    r.is_successful = json_is_true(json_object_get(p, "IsSuccessful"));
    r.lost_replicas = fsm_str(p, "LostReplicas");
    r.participating_instances = fsm_str(p, "ParticipatingInstances");
    r.all_errors = fsm_str(p, "AllErrors");
    r.end_recovery = num(p, "EndRecovery");
    rc = be_recovery_resolve(f->be, &r, errmsg, len);
    /* A successor is a master now: a fence left from an older failover ends. */
    if (rc == 0 && r.is_successful && r.successor.host[0] != '\0')
        rc = be_fence_remove(f->be, &r.successor, NULL, errmsg, len);
    return rc;
}

int fsm_op_ack(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    struct be_recovery_ack a;
    struct orc_key k;
    int64_t count = 0;
    int rc;

    memset(&a, 0, sizeof(a));
    a.id = num(p, "Id");
    if (json_is_string(json_object_get(p, "UID")))
        a.uid = fsm_str(p, "UID");
    if (json_is_string(json_object_get(p, "ClusterName")))
        a.cluster_name = fsm_str(p, "ClusterName");
    if (json_is_object(json_object_get(p, "Key")) && fsm_key(p, &k, errmsg, len) == 0)
        a.key = &k;
    a.all = json_is_true(json_object_get(p, "AllRecoveries"));
    a.owner = fsm_str(p, "Owner");
    a.comment = fsm_str(p, "Comment");
    a.now = num(p, "CreatedAt");
    rc = be_recovery_ack(f->be, &a, &count, errmsg, len);
    if (res != NULL && rc == 0)
        *res = json_pack("{s:I}", "Count", (json_int_t)count);
    return rc;
}

/* {Key, Value}, or {Pairs: [{Key, Value}...]} written in one transaction
 * (the pairs of one master: a reader never sees half of them). */
int fsm_op_put_kv(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    const json_t *pairs = json_object_get(p, "Pairs"), *kv;
    size_t i;
    int rc;

    (void)res;
    if (!json_is_array(pairs))
        return be_kv_put(f->be, fsm_str(p, "Key"), fsm_str(p, "Value"), num(p, "Now"), errmsg, len);
    rc = be_begin(f->be, errmsg, len);
    json_array_foreach(pairs, i, kv)
    {
        if (rc == 0)
            rc = be_kv_put(f->be, fsm_str(kv, "Key"), fsm_str(kv, "Value"), num(p, "Now"), errmsg,
                           len);
    }
    if (rc == 0)
        return be_commit(f->be, errmsg, len);
    be_rollback(f->be, NULL, 0);
    return rc;
}

int fsm_op_abandon_recovery(struct orc_fsm *f,
                            const json_t *p,
                            json_t **res,
                            char *errmsg,
                            size_t len)
{
    int64_t count = 0;
    int rc = be_recovery_abandon(f->be, fsm_str(p, "UID"), fsm_str(p, "Reason"), num(p, "Now"),
                                 &count, errmsg, len);

    if (res != NULL && rc == 0)
        *res = json_pack("{s:I}", "Count", (json_int_t)count);
    return rc;
}

int fsm_op_set_recovery_successor(struct orc_fsm *f,
                                  const json_t *p,
                                  json_t **res,
                                  char *errmsg,
                                  size_t len)
{
    struct orc_key k;

    (void)res;
    if (fsm_key(json_object_get(p, "SuccessorKey"), &k, errmsg, len) != 0)
        return ORC_EINVAL;
    return be_recovery_set_successor(f->be, fsm_str(p, "UID"), &k, errmsg, len);
}

int fsm_op_fence(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    struct be_fence fe;

    (void)res;
    memset(&fe, 0, sizeof(fe));
    if (fsm_key(p, &fe.key, errmsg, len) != 0)
        return ORC_EINVAL;
    fe.recovery_uid = fsm_str(p, "RecoveryUID");
    fe.since = num(p, "Now");
    return be_fence_add(f->be, &fe, errmsg, len);
}

int fsm_op_unfence(struct orc_fsm *f, const json_t *p, json_t **res, char *errmsg, size_t len)
{
    struct orc_key k;
    int64_t count = 0;
    int rc;

    if (fsm_key(p, &k, errmsg, len) != 0)
        return ORC_EINVAL;
    rc = be_fence_remove(f->be, &k, &count, errmsg, len);
    if (res != NULL && rc == 0)
        *res = json_pack("{s:I}", "Count", (json_int_t)count);
    return rc;
}

int fsm_op_adopt_recovery(struct orc_fsm *f,
                          const json_t *p,
                          json_t **res,
                          char *errmsg,
                          size_t len)
{
    int64_t count = 0;
    int rc =
        be_recovery_adopt(f->be, fsm_str(p, "UID"), fsm_str(p, "PrevToken"), fsm_str(p, "Token"),
                          fsm_str(p, "ProcessingNodeHostname"), &count, errmsg, len);

    if (res != NULL && rc == 0)
        *res = json_pack("{s:I}", "Count", (json_int_t)count);
    return rc;
}
