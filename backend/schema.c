/*
 * backend schema: numbered migrations shared by both dialects, with a tiny
 * translation for what differs ({ID}, {TEXT}, {ENGINE}, {INDEX}, {UNIQUE}),
 * and the version bookkeeping in orchestrator_db_deployments (one row per
 * applied migration) and orchestrator_metadata.
 *
 * Rules for migrations: never edit one that shipped, append a new one. Every
 * statement must be safe to run again (IF NOT EXISTS, or an error that
 * ddl_already_done() recognizes), because MySQL commits DDL one statement at a
 * time and a step cut short is run again from its start on the next start.
 * SQLite runs a whole step in one transaction.
 *
 * Tables and columns keep orchestrator's names; timestamps are BIGINT unix
 * seconds. active_marker (1 while in the active period, NULL after) carries
 * the anti-flapping unique keys: NULLs never collide, so finished rows never
 * conflict with each other.
 */
#include "backend/be_int.h"

#include <string.h>

#define HOST "VARCHAR(128) NOT NULL"
#define HOST_D "VARCHAR(128) NOT NULL DEFAULT ''"
#define CLUSTER "VARCHAR(160) NOT NULL DEFAULT ''"
#define TS "BIGINT NOT NULL DEFAULT 0"
#define FLAG "TINYINT NOT NULL DEFAULT 0"
#define STR(n) "VARCHAR(" #n ") NOT NULL DEFAULT ''"

static const char *const m1_instance[] = {
    "CREATE TABLE IF NOT EXISTS database_instance ("
    " hostname " HOST ", port INT NOT NULL,"
    " last_checked " TS ", last_attempted_check " TS ", last_seen " TS ","
    " last_check_partial_success " FLAG ","
    " server_id BIGINT NOT NULL DEFAULT 0, server_uuid " STR(64) ","
    " version " STR(128) ", major_version " STR(16) ", version_comment " STR(128) ","
    " flavor " STR(32) ", binlog_server " FLAG ", read_only " FLAG ", super_read_only " FLAG ","
    " binlog_format " STR(16) ", binlog_row_image " STR(16) ","
    " log_bin " FLAG ", log_slave_updates " FLAG ","
    " binary_log_file " STR(128) ", binary_log_pos BIGINT NOT NULL DEFAULT 0,"
    " master_host " HOST_D ", master_port INT NOT NULL DEFAULT 0,"
    " slave_sql_running " FLAG ", slave_io_running " FLAG ","
    " replication_sql_thread_state " FLAG ", replication_io_thread_state " FLAG ","
    " has_replication_filters " FLAG ", supports_oracle_gtid " FLAG ", oracle_gtid " FLAG ","
    " master_uuid " STR(64) ", ancestry_uuid {TEXT}, executed_gtid_set {TEXT},"
    " gtid_mode " STR(32) ", gtid_purged {TEXT}, gtid_errant {TEXT},"
    " mariadb_gtid " FLAG ", gtid_current_pos {TEXT}, gtid_slave_pos {TEXT},"
    " gtid_binlog_pos {TEXT}, pseudo_gtid " FLAG ","
    " master_log_file " STR(128) ", read_master_log_pos BIGINT NOT NULL DEFAULT 0,"
    " relay_master_log_file " STR(128) ", exec_master_log_pos BIGINT NOT NULL DEFAULT 0,"
    " relay_log_file " STR(128) ", relay_log_pos BIGINT NOT NULL DEFAULT 0,"
    " last_sql_error {TEXT}, last_io_error {TEXT},"
    " seconds_behind_master BIGINT NULL, slave_lag_seconds BIGINT NULL,"
    " sql_delay INT NOT NULL DEFAULT 0,"
    " num_slave_hosts INT NOT NULL DEFAULT 0, slave_hosts {TEXT},"
    " cluster_name " CLUSTER ", suggested_cluster_alias " STR(128) ","
    " data_center " STR(64) ", region " STR(64) ", physical_environment " STR(64) ","
    " replication_depth INT NOT NULL DEFAULT 0, is_co_master " FLAG ","
    " replication_credentials_available " FLAG ", has_replication_credentials " FLAG ","
    " allow_tls " FLAG ", semi_sync_enforced " FLAG ", semi_sync_available " FLAG ","
    " semi_sync_priority INT NOT NULL DEFAULT 0,"
    " semi_sync_master_enabled " FLAG ", semi_sync_master_timeout BIGINT NOT NULL DEFAULT 0,"
    " semi_sync_master_wait_for_slave_count INT NOT NULL DEFAULT 0,"
    " semi_sync_replica_enabled " FLAG ", semi_sync_master_status " FLAG ","
    " semi_sync_master_clients INT NOT NULL DEFAULT 0, semi_sync_replica_status " FLAG ","
    " instance_alias " STR(128) ", last_discovery_latency BIGINT NOT NULL DEFAULT 0,"
    " uptime BIGINT NOT NULL DEFAULT 0,"
    " replication_group_name " STR(64) ","
    " replication_group_is_single_primary_mode " FLAG ","
    " replication_group_member_state " STR(16) ", replication_group_member_role " STR(16) ","
    " replication_group_members {TEXT},"
    " replication_group_primary_host " HOST_D ","
    " replication_group_primary_port INT NOT NULL DEFAULT 0,"
    " problems {TEXT},"
    " PRIMARY KEY (hostname, port)){ENGINE}",
    "{INDEX} database_instance_cluster_name_idx ON database_instance (cluster_name)",
    "{INDEX} database_instance_last_checked_idx ON database_instance (last_checked)",
    "{INDEX} database_instance_last_seen_idx ON database_instance (last_seen)",
    "{INDEX} database_instance_master_idx ON database_instance (master_host, master_port)",
    "{INDEX} database_instance_alias_idx ON database_instance (suggested_cluster_alias)",
    NULL,
};

static const char *const m1_ops[] = {
    "CREATE TABLE IF NOT EXISTS database_instance_maintenance ("
    " database_instance_maintenance_id {ID}, hostname " HOST ", port INT NOT NULL,"
    " maintenance_active TINYINT NULL, begin_timestamp " TS ", end_timestamp " TS ","
    " owner " STR(128) ", reason {TEXT},"
    " processing_node_hostname " HOST_D ", processing_node_token " STR(128) ","
    " explicitly_bounded " FLAG "){ENGINE}",
    "{UNIQUE} database_instance_maintenance_uidx_active"
    " ON database_instance_maintenance (maintenance_active, hostname, port)",
    "{INDEX} database_instance_maintenance_end_idx ON database_instance_maintenance "
    "(end_timestamp)",
    "CREATE TABLE IF NOT EXISTS database_instance_downtime ("
    " hostname " HOST ", port INT NOT NULL, downtime_active TINYINT NULL,"
    " begin_timestamp " TS ", end_timestamp " TS ", owner " STR(128) ", reason {TEXT},"
    " PRIMARY KEY (hostname, port)){ENGINE}",
    "{INDEX} database_instance_downtime_end_idx ON database_instance_downtime (end_timestamp)",
    "CREATE TABLE IF NOT EXISTS candidate_database_instance ("
    " hostname " HOST ", port INT NOT NULL, last_suggested " TS ","
    " priority INT NOT NULL DEFAULT 1,"
    " promotion_rule VARCHAR(16) NOT NULL DEFAULT 'neutral',"
    " PRIMARY KEY (hostname, port)){ENGINE}",
    "{INDEX} candidate_database_instance_suggested_idx ON candidate_database_instance "
    "(last_suggested)",
    "CREATE TABLE IF NOT EXISTS database_instance_tags ("
    " hostname " HOST ", port INT NOT NULL, tag_name VARCHAR(128) NOT NULL,"
    " tag_value " STR(128) ", last_updated " TS ","
    " PRIMARY KEY (hostname, port, tag_name)){ENGINE}",
    "{INDEX} database_instance_tags_name_idx ON database_instance_tags (tag_name)",
    "CREATE TABLE IF NOT EXISTS hostname_resolve ("
    " hostname " HOST ", resolved_hostname " HOST ", resolved_timestamp " TS ","
    " PRIMARY KEY (hostname)){ENGINE}",
    "{INDEX} hostname_resolve_timestamp_idx ON hostname_resolve (resolved_timestamp)",
    NULL,
};

static const char *const m1_cluster[] = {
    "CREATE TABLE IF NOT EXISTS cluster_alias ("
    " cluster_name VARCHAR(160) NOT NULL, alias VARCHAR(128) NOT NULL,"
    " last_registered " TS ", PRIMARY KEY (cluster_name)){ENGINE}",
    "{UNIQUE} cluster_alias_uidx_alias ON cluster_alias (alias)",
    "CREATE TABLE IF NOT EXISTS cluster_alias_override ("
    " cluster_name VARCHAR(160) NOT NULL, alias VARCHAR(128) NOT NULL,"
    " PRIMARY KEY (cluster_name)){ENGINE}",
    "CREATE TABLE IF NOT EXISTS cluster_domain_name ("
    " cluster_name VARCHAR(160) NOT NULL, domain_name " STR(128) ", last_registered " TS ","
    " PRIMARY KEY (cluster_name)){ENGINE}",
    "CREATE TABLE IF NOT EXISTS audit ("
    " audit_id {ID}, audit_timestamp " TS ", audit_type " STR(128) ","
    " hostname " HOST_D ", port INT NOT NULL DEFAULT 0, cluster_name " CLUSTER ","
    " message {TEXT}){ENGINE}",
    "{INDEX} audit_timestamp_idx ON audit (audit_timestamp)",
    "{INDEX} audit_host_port_idx ON audit (hostname, port, audit_timestamp)",
    "CREATE TABLE IF NOT EXISTS kv_store ("
    " store_key VARCHAR(255) NOT NULL, store_value {TEXT}, last_updated " TS ","
    " PRIMARY KEY (store_key)){ENGINE}",
    "CREATE TABLE IF NOT EXISTS node_health ("
    " hostname " HOST ", token VARCHAR(128) NOT NULL, last_seen_active " TS ","
    " extra_info " STR(128) ", command " STR(128) ", app_version " STR(64) ","
    " first_seen_active " TS ", db_backend " STR(255) ","
    " incrementing_indicator BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (hostname, token)){ENGINE}",
    "{INDEX} node_health_last_seen_idx ON node_health (last_seen_active)",
    "CREATE TABLE IF NOT EXISTS database_instance_last_analysis ("
    " hostname " HOST ", port INT NOT NULL, analysis_timestamp " TS ","
    " analysis " STR(128) ", PRIMARY KEY (hostname, port)){ENGINE}",
    "{INDEX} database_instance_last_analysis_ts_idx ON database_instance_last_analysis "
    "(analysis_timestamp)",
    "CREATE TABLE IF NOT EXISTS database_instance_analysis_changelog ("
    " changelog_id {ID}, hostname " HOST ", port INT NOT NULL,"
    " analysis_timestamp " TS ", analysis " STR(128) "){ENGINE}",
    "{INDEX} database_instance_analysis_changelog_ts_idx ON "
    "database_instance_analysis_changelog (analysis_timestamp)",
    NULL,
};

static const char *const m1_recovery[] = {
    "CREATE TABLE IF NOT EXISTS topology_failure_detection ("
    " detection_id {ID}, hostname " HOST ", port INT NOT NULL,"
    " in_active_period " FLAG ", active_marker TINYINT NULL,"
    " start_active_period " TS ", end_active_period_unixtime " TS ","
    " processing_node_hostname " HOST_D ", processcing_node_token " STR(128) ","
    " analysis " STR(128) ", cluster_name " CLUSTER ", cluster_alias " STR(128) ","
    " count_affected_slaves INT NOT NULL DEFAULT 0, slave_hosts {TEXT},"
    " is_actionable " FLAG "){ENGINE}",
    "{UNIQUE} topology_failure_detection_uidx_active ON topology_failure_detection"
    " (hostname, port, is_actionable, active_marker)",
    "{INDEX} topology_failure_detection_start_idx ON topology_failure_detection"
    " (in_active_period, start_active_period)",
    "CREATE TABLE IF NOT EXISTS topology_recovery ("
    " recovery_id {ID}, uid VARCHAR(128) NOT NULL, hostname " HOST ", port INT NOT NULL,"
    " in_active_period " FLAG ", active_marker TINYINT NULL,"
    " start_active_period " TS ", end_active_period_unixtime " TS ", end_recovery " TS ","
    " processing_node_hostname " HOST_D ", processcing_node_token " STR(128) ","
    " successor_hostname " HOST_D ", successor_port INT NOT NULL DEFAULT 0,"
    " successor_alias " STR(128) ", analysis " STR(128) ","
    " cluster_name " CLUSTER ", cluster_alias " STR(128) ","
    " count_affected_slaves INT NOT NULL DEFAULT 0, slave_hosts {TEXT},"
    " participating_instances {TEXT}, lost_slaves {TEXT}, all_errors {TEXT},"
    " is_successful " FLAG ", acknowledged " FLAG ", acknowledged_at " TS ","
    " acknowledged_by " STR(128) ", acknowledge_comment {TEXT},"
    " last_detection_id BIGINT NOT NULL DEFAULT 0,"
    " related_recovery_id BIGINT NOT NULL DEFAULT 0){ENGINE}",
    "{UNIQUE} topology_recovery_uidx_active ON topology_recovery"
    " (hostname, port, active_marker)",
    "{UNIQUE} topology_recovery_uidx_uid ON topology_recovery (uid)",
    "{INDEX} topology_recovery_cluster_idx ON topology_recovery"
    " (cluster_name, in_active_period)",
    "{INDEX} topology_recovery_start_idx ON topology_recovery"
    " (in_active_period, start_active_period)",
    "CREATE TABLE IF NOT EXISTS topology_recovery_steps ("
    " recovery_step_id {ID}, recovery_uid VARCHAR(128) NOT NULL, audit_at " TS ","
    " message {TEXT}){ENGINE}",
    "{INDEX} topology_recovery_steps_uid_idx ON topology_recovery_steps (recovery_uid)",
    "CREATE TABLE IF NOT EXISTS blocked_topology_recovery ("
    " hostname " HOST ", port INT NOT NULL, cluster_name " CLUSTER ","
    " analysis " STR(128) ", last_blocked_timestamp " TS ","
    " blocking_recovery_id BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (hostname, port)){ENGINE}",
    "{INDEX} blocked_topology_recovery_cluster_idx ON blocked_topology_recovery"
    " (cluster_name, last_blocked_timestamp)",
    "CREATE TABLE IF NOT EXISTS global_recovery_disable ("
    " disable_recovery TINYINT NOT NULL, PRIMARY KEY (disable_recovery)){ENGINE}",
    NULL,
};

struct migration {
    int version;
    const char *name;
    const char *const *const *parts; /* NULL-terminated lists of statements */
};

static const char *const *const m1_parts[] = {m1_instance, m1_ops, m1_cluster, m1_recovery, NULL};

/* 2: the last raft log index applied to this store, written in the same
 * transaction as the command, so a restart never applies an entry twice. */
static const char *const m2_raft[] = {
    "CREATE TABLE IF NOT EXISTS raft_applied ("
    " anchor TINYINT NOT NULL, applied_index BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (anchor)){ENGINE}",
    NULL,
};

static const char *const *const m2_parts[] = {m2_raft, NULL};

/* 3: old masters a failover moved away from, kept read-only by the leader
 * until they are fenced for good, made a master again or forgotten. */
static const char *const m3_fence[] = {
    "CREATE TABLE IF NOT EXISTS database_instance_fence ("
    " hostname " HOST ", port INT NOT NULL, recovery_uid " STR(128) ","
    " since " TS ", PRIMARY KEY (hostname, port)){ENGINE}",
    NULL,
};

static const char *const *const m3_parts[] = {m3_fence, NULL};

/* 4: which raft log the applied index counts in (the id kept in this
 * node's RaftDataDir) and the term of the last applied entry, so that a
 * wiped raft dir or a store shared by two nodes is refused instead of
 * silently skipping commands. Not part of snapshots: it is this store's. */
static const char *const m4_raft_identity[] = {
    "CREATE TABLE IF NOT EXISTS raft_log_identity ("
    " anchor TINYINT NOT NULL, log_id VARCHAR(64) NOT NULL DEFAULT '',"
    " applied_term BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (anchor)){ENGINE}",
    NULL,
};

static const char *const *const m4_parts[] = {m4_raft_identity, NULL};

/* 5: instance pools (submit-pool-instances), replicated; topology history
 * (snapshot-topologies), this node's own. */
static const char *const m5_pool[] = {
    "CREATE TABLE IF NOT EXISTS database_instance_pool ("
    " hostname " HOST ", port INT NOT NULL, pool " STR(128) ","
    " registered_at " TS ", PRIMARY KEY (hostname, port, pool)){ENGINE}",
    "{INDEX} database_instance_pool_pool_idx ON database_instance_pool (pool)",
    NULL,
};

static const char *const m5_history[] = {
    "CREATE TABLE IF NOT EXISTS database_instance_topology_history ("
    " snapshot_unix_timestamp BIGINT NOT NULL, hostname " HOST
    ", port INT NOT NULL,"
    " master_host " HOST_D ", master_port INT NOT NULL DEFAULT 0, cluster_name " CLUSTER
    ","
    " version " STR(128) ", PRIMARY KEY (snapshot_unix_timestamp, hostname, port)){ENGINE}",
    "{INDEX} database_instance_topology_history_cluster_idx ON"
    " database_instance_topology_history (snapshot_unix_timestamp, cluster_name)",
    NULL,
};

static const char *const *const m5_parts[] = {m5_pool, m5_history, NULL};

/* 6: the recovery settings held in the replicated state (set-recovery-config):
 * one JSON value per config key, laid over every node's file. */
static const char *const m6_recovery_config[] = {
    "CREATE TABLE IF NOT EXISTS recovery_config ("
    " config_key VARCHAR(128) NOT NULL, config_value {TEXT}, set_by " STR(128) ","
    " set_at " TS ", PRIMARY KEY (config_key)){ENGINE}",
    NULL,
};

static const char *const *const m6_parts[] = {m6_recovery_config, NULL};

static const struct migration migrations[] = {
    {1, "initial schema", m1_parts},
    {2, "raft applied index", m2_parts},
    {3, "fenced old masters", m3_parts},
    {4, "raft log identity", m4_parts},
    {5, "instance pools and topology history", m5_parts},
    {6, "replicated recovery settings", m6_parts},
};

static const char *const bookkeeping[] = {
    "CREATE TABLE IF NOT EXISTS orchestrator_db_deployments ("
    " schema_version INT NOT NULL, description " STR(255) ","
    " deployed_version " STR(128) ", deployed_timestamp " TS ","
    " PRIMARY KEY (schema_version)){ENGINE}",
    "CREATE TABLE IF NOT EXISTS orchestrator_metadata ("
    " anchor TINYINT NOT NULL, schema_version INT NOT NULL DEFAULT 0,"
    " last_deployed_version " STR(128) ", last_deployed_timestamp " TS ","
    " PRIMARY KEY (anchor)){ENGINE}",
    NULL,
};

int be_schema_latest(void)
{
    return migrations[ORC_ARRAY_LEN(migrations) - 1].version;
}

struct token {
    const char *name;
    const char *mysql;
    const char *sqlite;
};

static const struct token tokens[] = {
    {"{ID}", "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"},
    {"{TEXT}", "MEDIUMTEXT NULL", "TEXT NULL"},
    {"{ENGINE}", " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4", ""},
    {"{INDEX}", "CREATE INDEX", "CREATE INDEX IF NOT EXISTS"},
    {"{UNIQUE}", "CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS"},
};

/* Rewrites the dialect tokens of one statement into out. */
static int translate(enum be_dialect d, const char *in, struct orc_buf *out)
{
    int rc = 0;

    orc_buf_reset(out);
    while (*in != '\0' && rc == 0) {
        const struct token *t = NULL;
        if (*in == '{') {
            for (size_t i = 0; i < ORC_ARRAY_LEN(tokens) && t == NULL; i++) {
                if (strncmp(in, tokens[i].name, strlen(tokens[i].name)) == 0)
                    t = &tokens[i];
            }
        }
        if (t == NULL) {
            rc = orc_buf_putc(out, *in++);
            continue;
        }
        rc = orc_buf_puts(out, d == BE_DIALECT_MYSQL ? t->mysql : t->sqlite);
        in += strlen(t->name);
    }
    return rc == 0 ? orc_buf_puts(out, "") : rc;
}

/* Runs one statement of a migration; an "already exists" error counts as done. */
static int run_ddl(struct be *b, struct orc_buf *sql, const char *stmt, char *errmsg, size_t len)
{
    int rc = translate(b->drv->dialect, stmt, sql);

    if (rc != 0) {
        orc_errf(errmsg, len, "out of memory");
        return rc;
    }
    rc = be_exec(b, orc_buf_str(sql), NULL, 0, NULL, errmsg, len);
    if (rc != 0 && b->drv->ddl_already_done(b)) {
        ORC_LOG_I("+backend-migrate-skip", "reason=\"%s\"", errmsg);
        rc = 0;
    }
    return rc;
}

static int table_exists(struct be *b, const char *table, bool *exists, char *errmsg, size_t len)
{
    const char *sql = b->drv->dialect == BE_DIALECT_MYSQL
                          ? "SELECT COUNT(*) FROM information_schema.tables"
                            " WHERE table_schema = DATABASE() AND table_name = ?"
                          : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?";
    struct be_val p[] = {BE_VTEXT(table)};
    int64_t n = 0;
    int rc = be_query_int(b, sql, p, 1, &n, errmsg, len);

    *exists = n > 0;
    return rc;
}

static int schema_version(struct be *b, int *out, char *errmsg, size_t len)
{
    bool exists = false;
    int64_t v = 0;
    int rc;

    be_lock(b);
    rc = table_exists(b, "orchestrator_db_deployments", &exists, errmsg, len);
    if (rc == 0 && exists)
        rc = be_query_int(b,
                          "SELECT COALESCE(MAX(schema_version), 0) FROM "
                          "orchestrator_db_deployments",
                          NULL, 0, &v, errmsg, len);
    be_unlock(b);
    *out = (int)v;
    if (rc != 0)
        orc_errprefix(errmsg, len, "read schema version");
    return rc;
}

int be_schema_version(struct be *b)
{
    char err[ORC_ERRMSG_SIZE] = "";
    int v = 0;
    int rc = schema_version(b, &v, err, sizeof(err));

    if (rc != 0) {
        ORC_LOG_W("+backend-error", "error=\"%s\"", err);
        return rc;
    }
    return v;
}

static int record_version(struct be *b,
                          const struct migration *m,
                          int64_t now,
                          char *errmsg,
                          size_t len)
{
    struct be_val dep[] = {BE_VINT(m->version), BE_VTEXT(m->name), BE_VTEXT(ORC_VERSION),
                           BE_VINT(now)};
    struct be_val meta[] = {BE_VINT(1), BE_VINT(m->version), BE_VTEXT(ORC_VERSION), BE_VINT(now)};
    static const char *const dep_cols[] = {"schema_version", "description", "deployed_version",
                                           "deployed_timestamp"};
    static const char *const meta_cols[] = {"anchor", "schema_version", "last_deployed_version",
                                            "last_deployed_timestamp"};
    int rc = be_upsert(b, "orchestrator_db_deployments", dep_cols, 4, 1, dep, 1, errmsg, len);

    return rc != 0 ? rc
                   : be_upsert(b, "orchestrator_metadata", meta_cols, 4, 1, meta, 1, errmsg, len);
}

static int apply_one(struct be *b, const struct migration *m, char *errmsg, size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    bool txn = b->drv->dialect == BE_DIALECT_SQLITE; /* MySQL commits DDL anyway */
    int rc = txn ? be_begin(b, errmsg, len) : 0;

    for (size_t p = 0; rc == 0 && m->parts[p] != NULL; p++) {
        for (size_t s = 0; rc == 0 && m->parts[p][s] != NULL; s++)
            rc = run_ddl(b, &sql, m->parts[p][s], errmsg, len);
    }
    if (rc == 0)
        rc = record_version(b, m, orc_wall_s(), errmsg, len);
    if (txn && rc == 0)
        rc = be_commit(b, errmsg, len);
    else if (txn)
        be_rollback(b, NULL, 0);
    orc_buf_release(&sql);
    if (rc != 0)
        orc_errprefix(errmsg, len, "migration %d (%s)", m->version, m->name);
    else
        ORC_LOG_N("+backend-migrate", "kind=%s version=%d name=\"%s\"", be_kind(b), m->version,
                  m->name);
    return rc;
}

/* MySQL: a server-wide named lock per database, so that two processes sharing
 * one backend do not migrate it at the same time. */
static int migrate_lock(struct be *b, bool take, char *errmsg, size_t len)
{
    int64_t got = 0;
    int rc;

    if (b->drv->dialect != BE_DIALECT_MYSQL)
        return 0;
    if (!take)
        return be_query_int(b, "SELECT RELEASE_LOCK(CONCAT('orchestrator-migrate.', DATABASE()))",
                            NULL, 0, &got, NULL, 0);
    rc = be_query_int(b, "SELECT GET_LOCK(CONCAT('orchestrator-migrate.', DATABASE()), 60)", NULL,
                      0, &got, errmsg, len);
    if (rc == 0 && got != 1) {
        orc_errf(errmsg, len, "another process holds the migration lock");
        rc = ORC_ETIMEDOUT;
    }
    return rc;
}

static int migrate_locked(struct be *b, int *applied, char *errmsg, size_t len)
{
    struct orc_buf sql = ORC_BUF_INIT;
    int rc = 0, cur;

    for (size_t i = 0; rc == 0 && bookkeeping[i] != NULL; i++)
        rc = run_ddl(b, &sql, bookkeeping[i], errmsg, len);
    orc_buf_release(&sql);
    if (rc != 0)
        return rc;
    rc = schema_version(b, &cur, errmsg, len);
    if (rc != 0)
        return rc;
    if (cur > be_schema_latest()) {
        orc_errf(errmsg, len, "store is at schema version %d, newer than this build's %d", cur,
                 be_schema_latest());
        return ORC_ESTATE;
    }
    for (size_t i = 0; rc == 0 && i < ORC_ARRAY_LEN(migrations); i++) {
        if (migrations[i].version <= cur)
            continue;
        rc = apply_one(b, &migrations[i], errmsg, len);
        if (rc == 0)
            (*applied)++;
    }
    return rc;
}

int be_migrate(struct be *b, int *applied, char *errmsg, size_t len)
{
    int n = 0, rc;

    be_lock(b); /* one thread migrates; and ddl_already_done reads the last error */
    rc = migrate_lock(b, true, errmsg, len);
    if (rc == 0) {
        rc = migrate_locked(b, &n, errmsg, len);
        migrate_lock(b, false, NULL, 0);
    }
    be_unlock(b);
    if (applied != NULL)
        *applied = n;
    if (rc != 0)
        orc_errprefix(errmsg, len, "migrate %s backend", be_kind(b));
    return rc;
}
