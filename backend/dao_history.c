/*
 * dao_history: topology history (database_instance_topology_history), as
 * orchestrator's snapshot-topologies: every stored instance's master,
 * cluster and version at one time. History of what this node observed, like
 * database_instance itself: not replicated.
 */
#include "backend/be_int.h"

int be_topology_snapshot(struct be *b,
                         int64_t now,
                         int64_t purge_before,
                         int64_t *count,
                         char *errmsg,
                         size_t len)
{
    struct be_val at[] = {BE_VINT(now)}, del[] = {BE_VINT(now), BE_VINT(purge_before)};
    int rc = be_begin(b, errmsg, len);

    /* a second snapshot in the same second replaces the first */
    if (rc == 0)
        rc = be_exec(b,
                     "DELETE FROM database_instance_topology_history"
                     " WHERE snapshot_unix_timestamp = ? OR snapshot_unix_timestamp < ?",
                     del, 2, NULL, errmsg, len);
    if (rc == 0)
        rc = be_exec(b,
                     "INSERT INTO database_instance_topology_history (snapshot_unix_timestamp,"
                     " hostname, port, master_host, master_port, cluster_name, version)"
                     " SELECT ?, hostname, port, master_host, master_port, cluster_name, version"
                     " FROM database_instance",
                     at, 1, count, errmsg, len);
    if (rc == 0)
        return be_commit(b, errmsg, len);
    be_rollback(b, NULL, 0);
    orc_errprefix(errmsg, len, "snapshot topologies");
    return rc;
}
