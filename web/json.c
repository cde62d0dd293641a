/*
 * json: orchestrator-shaped JSON, written straight into a growing buffer.
 *
 * Instance, ClusterInfo and Audit follow Go's encoding/json of orchestrator's
 * structs: field names as keys in struct order, sql.NullInt64 as
 * {"Int64","Valid"}, time.Duration as integer nanoseconds, HTML-sensitive
 * characters escaped as \u003c etc. and invalid UTF-8 replaced by U+FFFD.
 * Writing text directly (instead of building jansson trees) keeps the hot
 * read routes cheap; the result is cached per snapshot by api_read.c.
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "backend/be.h"
#include "discovery/disc.h"
#include "web/web_int.h"

/* ---- the writer ---- */

void web_jw_init(struct web_jw *w, struct orc_buf *b)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
}

static void put(struct web_jw *w, const char *s, size_t n)
{
    if (w->err == 0 && orc_buf_append(w->b, s, n) != 0)
        w->err = ORC_ENOMEM;
}

#define PUTS(w, lit) put((w), (lit), sizeof(lit) - 1)

static void put_escaped(struct web_jw *w, const char *s);

/* Separator and key before a value (key NULL inside arrays). */
static void value_start(struct web_jw *w, const char *key)
{
    if (w->depth > 0 && w->depth <= WEB_JW_DEPTH) {
        if (w->comma[w->depth - 1])
            PUTS(w, ",");
        w->comma[w->depth - 1] = true;
    }
    if (key != NULL) {
        put_escaped(w, key);
        PUTS(w, ":");
    }
}

static void open_container(struct web_jw *w, const char *key, char c)
{
    value_start(w, key);
    put(w, &c, 1);
    if (w->depth < WEB_JW_DEPTH)
        w->comma[w->depth] = false;
    w->depth++;
}

static void close_container(struct web_jw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    put(w, &c, 1);
}

void web_jw_obj(struct web_jw *w, const char *key)
{
    open_container(w, key, '{');
}

void web_jw_obj_end(struct web_jw *w)
{
    close_container(w, '}');
}

void web_jw_arr(struct web_jw *w, const char *key)
{
    open_container(w, key, '[');
}

void web_jw_arr_end(struct web_jw *w)
{
    close_container(w, ']');
}

/* Length of a valid UTF-8 sequence at s (2..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;

    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

static void put_escaped(struct web_jw *w, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    const unsigned char *run = s;

    PUTS(w, "\"");
    while (*s) {
        unsigned c = *s;
        char esc[8];
        size_t n;

        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
            s++;
            continue;
        }
        if (c >= 0x80 && (n = utf8_len(s)) != 0) {
            /* U+2028 and U+2029 are escaped by Go, as JavaScript needs. */
            if (!(n == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))) {
                s += n;
                continue;
            }
        }
        put(w, (const char *)run, (size_t)(s - run));
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(w, esc, 2);
        } else if (c == '\n') {
            PUTS(w, "\\n");
        } else if (c == '\r') {
            PUTS(w, "\\r");
        } else if (c == '\t') {
            PUTS(w, "\\t");
        } else if (c >= 0x80 && utf8_len(s) == 3) {
            if (s[2] == 0xa8)
                PUTS(w, "\\u2028");
            else
                PUTS(w, "\\u2029");
            s += 2;
        } else if (c >= 0x80) {
            PUTS(w, "\\ufffd");
        } else {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            put(w, esc, 6);
        }
        s++;
        run = s;
    }
    put(w, (const char *)run, (size_t)(s - run));
    PUTS(w, "\"");
}

void web_jw_str(struct web_jw *w, const char *key, const char *v)
{
    value_start(w, key);
    put_escaped(w, v);
}

void web_jw_int(struct web_jw *w, const char *key, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", (long long)v);

    value_start(w, key);
    put(w, num, (size_t)n);
}

void web_jw_bool(struct web_jw *w, const char *key, bool v)
{
    value_start(w, key);
    if (v)
        PUTS(w, "true");
    else
        PUTS(w, "false");
}

void web_jw_null(struct web_jw *w, const char *key)
{
    value_start(w, key);
    PUTS(w, "null");
}

void web_jw_raw(struct web_jw *w, const char *key, const char *json, size_t n)
{
    value_start(w, key);
    put(w, json, n);
}

void web_jw_key(struct web_jw *w, const char *key, const struct orc_key *k)
{
    web_jw_obj(w, key);
    web_jw_str(w, "Hostname", k ? k->host : "");
    web_jw_int(w, "Port", k ? k->port : 0);
    web_jw_obj_end(w);
}

void web_jw_time(struct web_jw *w, const char *key, int64_t wall_s)
{
    char ts[40];

    web_jw_str(w, key, wall_s > 0 ? orc_time_rfc3339(wall_s, ts, sizeof(ts)) : "");
}

/* ---- Instance ---- */

static void jw_nullint(struct web_jw *w, const char *key, int64_t v, bool valid)
{
    web_jw_obj(w, key);
    web_jw_int(w, "Int64", valid ? v : 0);
    web_jw_bool(w, "Valid", valid);
    web_jw_obj_end(w);
}

static void jw_coords(struct web_jw *w, const char *key, const struct disc_coords *c)
{
    web_jw_obj(w, key);
    web_jw_str(w, "LogFile", c->file);
    web_jw_int(w, "LogPos", c->pos);
    web_jw_int(w, "Type", c->type);
    web_jw_obj_end(w);
}

static void jw_keys(struct web_jw *w, const char *key, const struct disc_keylist *l)
{
    web_jw_arr(w, key);
    for (size_t i = 0; i < l->len; i++)
        web_jw_key(w, NULL, &l->keys[i]);
    web_jw_arr_end(w);
}

bool web_instance_visible(const struct disc_snapshot *s, size_t i)
{
    return s->instances[i]->last_seen_ms > 0;
}

const char *web_promotion_rule(const struct disc_snapshot *s, size_t i)
{
    if (s->annots != NULL && s->annots[i].promotion_rule[0] != '\0')
        return s->annots[i].promotion_rule;
    if (s->instances[i]->promotion_rule[0] != '\0')
        return s->instances[i]->promotion_rule;
    return "neutral";
}

int web_instance_problems(const struct disc_snapshot *s, size_t i, const char **out)
{
    const struct disc_instance *in = s->instances[i];
    int n = 0;

    if (!disc_snapshot_check_valid(s, (int)i)) {
        out[n++] = "last_check_invalid";
    } else if (!disc_snapshot_recently_checked(s, (int)i)) {
        out[n++] = "not_recently_checked";
    } else if (in->io_state != DISC_THREAD_NONE && in->sql_state != DISC_THREAD_NONE &&
               !disc_instance_replicating(in)) {
        out[n++] = "not_replicating";
    } else if (in->replication_lag_seconds.valid) {
        int64_t lag = in->replication_lag_seconds.value - in->sql_delay;
        if (lag < 0)
            lag = -lag;
        if (lag > s->reasonable_lag_s)
            out[n++] = "replication_lag";
    }
    if (disc_str(in->gtid_errant)[0] != '\0')
        out[n++] = "errant_gtid";
    return n;
}

static void instance_identity(struct web_jw *w, const struct disc_instance *in)
{
    web_jw_key(w, "Key", &in->key);
    web_jw_str(w, "InstanceAlias", in->instance_alias);
    web_jw_int(w, "Uptime", in->uptime);
    web_jw_int(w, "ServerID", in->server_id);
    web_jw_str(w, "ServerUUID", in->server_uuid);
    web_jw_str(w, "Version", in->version);
    web_jw_str(w, "VersionComment", in->version_comment);
    web_jw_str(w, "FlavorName", disc_flavor_name(in->ver.flavor));
    web_jw_bool(w, "ReadOnly", in->read_only);
    web_jw_str(w, "Binlog_format", in->binlog_format);
    web_jw_str(w, "BinlogRowImage", in->binlog_row_image);
    web_jw_bool(w, "LogBinEnabled", in->log_bin);
    web_jw_bool(w, "LogSlaveUpdatesEnabled", in->log_replica_updates);
    web_jw_bool(w, "LogReplicationUpdatesEnabled", in->log_replica_updates);
    jw_coords(w, "SelfBinlogCoordinates", &in->self_coords);
    web_jw_key(w, "MasterKey", &in->master_key);
    web_jw_str(w, "MasterUUID", in->master_uuid);
    web_jw_str(w, "AncestryUUID", disc_str(in->ancestry_uuid));
    web_jw_bool(w, "IsDetachedMaster", in->is_detached_master);
}

static void instance_replication(struct web_jw *w, const struct disc_instance *in)
{
    bool sql = in->sql_state == DISC_THREAD_RUNNING, io = in->io_state == DISC_THREAD_RUNNING;

    web_jw_bool(w, "Slave_SQL_Running", sql);
    web_jw_bool(w, "ReplicationSQLThreadRuning", sql);
    web_jw_bool(w, "Slave_IO_Running", io);
    web_jw_bool(w, "ReplicationIOThreadRuning", io);
    web_jw_int(w, "ReplicationSQLThreadState", in->sql_state);
    web_jw_int(w, "ReplicationIOThreadState", in->io_state);
    web_jw_bool(w, "HasReplicationFilters", in->has_replication_filters);
    web_jw_str(w, "GTIDMode", in->gtid_mode);
    web_jw_bool(w, "SupportsOracleGTID", in->supports_oracle_gtid);
    web_jw_bool(w, "UsingOracleGTID", in->using_oracle_gtid);
    web_jw_bool(w, "UsingMariaDBGTID", in->using_mariadb_gtid);
    web_jw_bool(w, "UsingPseudoGTID", false);
    jw_coords(w, "ReadBinlogCoordinates", &in->read_coords);
    jw_coords(w, "ExecBinlogCoordinates", &in->exec_coords);
    web_jw_bool(w, "IsDetached", in->is_detached);
    jw_coords(w, "RelaylogCoordinates", &in->relay_coords);
    web_jw_str(w, "LastSQLError", disc_str(in->last_sql_error));
    web_jw_str(w, "LastIOError", disc_str(in->last_io_error));
    jw_nullint(w, "SecondsBehindMaster", in->seconds_behind_master.value,
               in->seconds_behind_master.valid);
    web_jw_int(w, "SQLDelay", in->sql_delay);
    web_jw_str(w, "ExecutedGtidSet", disc_str(in->executed_gtid_set));
    web_jw_str(w, "GtidPurged", disc_str(in->gtid_purged));
    web_jw_str(w, "GtidErrant", disc_str(in->gtid_errant));
    jw_nullint(w, "SlaveLagSeconds", in->replication_lag_seconds.value,
               in->replication_lag_seconds.valid);
    jw_nullint(w, "ReplicationLagSeconds", in->replication_lag_seconds.value,
               in->replication_lag_seconds.valid);
}

static void instance_topology(struct web_jw *w, const struct disc_instance *in)
{
    jw_keys(w, "SlaveHosts", &in->replicas);
    jw_keys(w, "Replicas", &in->replicas);
    web_jw_str(w, "ClusterName", in->cluster_name);
    web_jw_str(w, "SuggestedClusterAlias", in->suggested_cluster_alias);
    web_jw_str(w, "DataCenter", in->data_center);
    web_jw_str(w, "Region", in->region);
    web_jw_str(w, "PhysicalEnvironment", in->physical_environment);
    web_jw_int(w, "ReplicationDepth", in->replication_depth);
    web_jw_bool(w, "IsCoMaster", in->is_co_master);
    web_jw_bool(w, "HasReplicationCredentials", in->has_replication_credentials);
    web_jw_bool(w, "ReplicationCredentialsAvailable", false);
    web_jw_bool(w, "SemiSyncAvailable", in->semi_sync_available);
    web_jw_int(w, "SemiSyncPriority", in->semi_sync_priority);
    web_jw_bool(w, "SemiSyncMasterEnabled", in->semi_sync_master_enabled);
    web_jw_bool(w, "SemiSyncReplicaEnabled", in->semi_sync_replica_enabled);
    web_jw_int(w, "SemiSyncMasterTimeout", in->semi_sync_master_timeout);
    web_jw_int(w, "SemiSyncMasterWaitForReplicaCount", in->semi_sync_master_wait_for_replica_count);
    web_jw_bool(w, "SemiSyncMasterStatus", in->semi_sync_master_status);
    web_jw_int(w, "SemiSyncMasterClients", in->semi_sync_master_clients);
    web_jw_bool(w, "SemiSyncReplicaStatus", in->semi_sync_replica_status);
}

static void instance_state(struct web_jw *w, const struct disc_snapshot *s, size_t i)
{
    const struct disc_instance *in = s->instances[i];
    const struct disc_annot *an = s->annots ? &s->annots[i] : NULL;
    bool down = an ? an->downtimed : in->is_downtimed;
    const char *problems[8];
    int np = web_instance_problems(s, i, problems);

    web_jw_time(w, "LastSeenTimestamp", in->last_seen_ms / 1000);
    web_jw_bool(w, "IsLastCheckValid", disc_snapshot_check_valid(s, (int)i));
    web_jw_bool(w, "IsUpToDate", disc_snapshot_up_to_date(s, (int)i));
    web_jw_bool(w, "IsRecentlyChecked", disc_snapshot_recently_checked(s, (int)i));
    jw_nullint(w, "SecondsSinceLastSeen", (s->taken_ms - in->last_seen_ms) / 1000,
               in->last_seen_ms > 0);
    web_jw_int(w, "CountMySQLSnapshots", 0);
    web_jw_bool(w, "IsCandidate", in->is_candidate);
    web_jw_str(w, "PromotionRule", web_promotion_rule(s, i));
    web_jw_bool(w, "IsDowntimed", down);
    web_jw_str(w, "DowntimeReason", down && an ? an->downtime_reason : "");
    web_jw_str(w, "DowntimeOwner", down && an ? an->downtime_owner : "");
    web_jw_time(w, "DowntimeEndTimestamp", down && an ? an->downtime_end_s : 0);
    web_jw_int(w, "ElapsedDowntime",
               down && an && an->downtime_begin_s > 0
                   ? (s->taken_ms / 1000 - an->downtime_begin_s) * 1000000000LL
                   : 0);
    web_jw_str(w, "UnresolvedHostname", "");
    web_jw_bool(w, "AllowTLS", in->allow_tls);
    web_jw_arr(w, "Problems");
    for (int p = 0; p < np; p++)
        web_jw_str(w, NULL, problems[p]);
    web_jw_arr_end(w);
    web_jw_int(w, "LastDiscoveryLatency", in->last_discovery_latency_us * 1000);
}

void web_json_instance(struct web_jw *w, const struct disc_snapshot *s, size_t i)
{
    const struct disc_instance *in = s->instances[i];
    struct orc_key none = {"", 0};

    web_jw_obj(w, NULL);
    instance_identity(w, in);
    instance_replication(w, in);
    instance_topology(w, in);
    instance_state(w, s, i);
    web_jw_str(w, "ReplicationGroupName", "");
    web_jw_bool(w, "ReplicationGroupIsSinglePrimary", false);
    web_jw_str(w, "ReplicationGroupMemberState", "");
    web_jw_str(w, "ReplicationGroupMemberRole", "");
    web_jw_arr(w, "ReplicationGroupMembers");
    web_jw_arr_end(w);
    web_jw_key(w, "ReplicationGroupPrimaryInstanceKey", &none);
    /* extensions: MariaDB GTID positions and maintenance */
    web_jw_str(w, "GtidCurrentPos", disc_str(in->gtid_current_pos));
    web_jw_str(w, "GtidSlavePos", disc_str(in->gtid_slave_pos));
    web_jw_str(w, "GtidBinlogPos", disc_str(in->gtid_binlog_pos));
    web_jw_bool(w, "IsInMaintenance", s->annots ? s->annots[i].in_maintenance : false);
    web_jw_obj_end(w);
}

/* ---- ClusterInfo and recovery filters ---- */

static bool regex_search(const char *re, const char *s)
{
    regex_t rx;
    bool m;

    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    m = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return m;
}

bool web_cluster_filter_match(char *const *filters, size_t n, const char *name, const char *alias)
{
    for (size_t i = 0; i < n; i++) {
        const char *f = filters[i];
        if (f == NULL || *f == '\0')
            continue;
        if (strcmp(f, "*") == 0 || strcmp(f, name) == 0 || (*alias && strcmp(f, alias) == 0))
            return true;
        if (strncmp(f, "alias=", 6) == 0) {
            if (*alias && strcmp(f + 6, alias) == 0)
                return true;
        } else if (strncmp(f, "alias~=", 7) == 0) {
            if (*alias && regex_search(f + 7, alias))
                return true;
        } else if (regex_search(f, name)) {
            return true;
        }
    }
    return false;
}

void web_json_cluster_info(struct web_jw *w,
                           const struct disc_snapshot *s,
                           size_t c,
                           const struct orc_config *cfg)
{
    const struct disc_cluster *cl = &s->clusters[c];
    int64_t lag = 0, count = 0;
    bool master = false, im = false;

    for (size_t i = cl->first; i < cl->first + cl->count; i++) {
        const struct disc_nullint *l = &s->instances[i]->replication_lag_seconds;
        if (!web_instance_visible(s, i))
            continue;
        count++;
        if (l->valid && l->value > lag)
            lag = l->value;
    }
    if (cfg != NULL) {
        master = web_cluster_filter_match(cfg->RecoverMasterClusterFilters.v,
                                          cfg->RecoverMasterClusterFilters.n, cl->name, cl->alias);
        im = web_cluster_filter_match(cfg->RecoverIntermediateMasterClusterFilters.v,
                                      cfg->RecoverIntermediateMasterClusterFilters.n, cl->name,
                                      cl->alias);
    }
    web_jw_obj(w, NULL);
    web_jw_str(w, "ClusterName", cl->name);
    web_jw_str(w, "ClusterAlias", cl->alias[0] ? cl->alias : cl->name);
    web_jw_str(w, "ClusterDomain", cl->domain);
    web_jw_int(w, "CountInstances", count);
    web_jw_int(w, "HeuristicLag", lag);
    web_jw_bool(w, "HasAutomatedMasterRecovery", master);
    web_jw_bool(w, "HasAutomatedIntermediateMasterRecovery", im);
    web_jw_obj_end(w);
}

/* ---- Audit ---- */

void web_json_audit(struct web_jw *w, const struct be_audit *a)
{
    web_jw_obj(w, NULL);
    web_jw_int(w, "AuditId", a->id);
    web_jw_time(w, "AuditTimestamp", a->ts);
    web_jw_str(w, "AuditType", a->type);
    web_jw_key(w, "AuditInstanceKey", &a->key);
    web_jw_str(w, "Message", a->message);
    web_jw_obj_end(w);
}

/* ---- envelopes and arguments ---- */

void web_reply_envelope_raw(struct web_req *r,
                            int status,
                            const char *code,
                            const char *msg,
                            const char *details,
                            size_t n)
{
    struct orc_buf b = ORC_BUF_INIT;
    struct web_jw w;

    web_jw_init(&w, &b);
    web_jw_obj(&w, NULL);
    web_jw_str(&w, "Code", code);
    web_jw_str(&w, "Message", msg);
    if (details != NULL)
        web_jw_raw(&w, "Details", details, n);
    else
        web_jw_null(&w, "Details");
    web_jw_obj_end(&w);
    if (w.err != 0)
        web_reply_error(r, 500, "out of memory");
    else
        web_reply_raw(r, status, WEB_JSON, b.data, b.len);
    orc_buf_release(&b);
}

int web_parse_duration(const char *s, int64_t *seconds)
{
    static const struct {
        char unit;
        int64_t mult;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
    char num[24];
    size_t n = s ? strlen(s) : 0;
    int64_t v;

    if (n < 2 || n - 1 >= sizeof(num))
        return ORC_EINVAL;
    memcpy(num, s, n - 1);
    num[n - 1] = '\0';
    for (size_t i = 0; i < n - 1; i++)
        if (num[i] < '0' || num[i] > '9')
            return ORC_EINVAL;
    if (orc_parse_int64(num, 0, INT64_MAX / 604800, &v) != 0)
        return ORC_EINVAL;
    for (size_t i = 0; i < ORC_ARRAY_LEN(units); i++) {
        if (s[n - 1] == units[i].unit) {
            *seconds = v * units[i].mult;
            return 0;
        }
    }
    return ORC_EINVAL;
}
