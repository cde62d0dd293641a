/*
 * Pure parsers: recorded or live result sets -> struct disc_instance
 * fields, following orchestrator's mapping (reference section 5). Column
 * names of the replica status are looked up under both namings
 * (Master_/Slave_ and Source_/Replica_ prefixes), so one parser serves MariaDB,
 * MySQL 5.7, 8.0 and 8.4.
 */
#include "discovery/disc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small helpers ---- */

static bool text_bool(const char *s)
{
    if (s == NULL)
        return false;
    return strcmp(s, "1") == 0 || strcasecmp(s, "ON") == 0 || strcasecmp(s, "YES") == 0 ||
           strcasecmp(s, "TRUE") == 0;
}

static int64_t text_int(const char *s, int64_t dflt)
{
    int64_t v;

    if (s == NULL || orc_parse_int64(s, INT64_MIN, INT64_MAX, &v) != 0)
        return dflt;
    return v;
}

/* ---- values at the door ---- */

static bool chars_in(const char *s, size_t max, const char *extra)
{
    size_t n = 0;

    if (s == NULL)
        return false;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (n + 1 >= max)
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c) != NULL))
            return false;
    }
    return n > 0;
}

bool disc_valid_host(const char *s)
{
    return chars_in(s, ORC_HOST_MAX, "._:%[]/-"); /* "//h": a detached master */
}

bool disc_valid_label(const char *s, size_t max)
{
    return chars_in(s, max, "._:@+=/-");
}

/* +probe-value-refused, at most one line every 10 s for the whole process
 * (a bad value is refused again at every probe); the others are counted.
 * The only static state of this file: a log rate limit, not data. */
void disc_log_refused(const char *what, size_t len, const char *why)
{
    static int64_t last_ms = INT64_MIN / 2;
    static unsigned quiet;
    int64_t now = orc_mono_ms(), last = __atomic_load_n(&last_ms, __ATOMIC_RELAXED);

    if (now - last < 10000 || !__atomic_compare_exchange_n(&last_ms, &last, now, false,
                                                           __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&quiet, 1, __ATOMIC_RELAXED);
        return;
    }
    ORC_LOG_W("+probe-value-refused", "field=%s len=%zu reason=\"%s\" not_logged=%u", what, len,
              why, __atomic_exchange_n(&quiet, 0, __ATOMIC_RELAXED));
}

/* A host name from the server into a fixed field: "" (and a warning) when
 * it is not a valid host name. */
static void set_host(char *dst, size_t n, const char *s, const char *what)
{
    if (s == NULL || s[0] == '\0' || disc_valid_host(s)) {
        (void)orc_strlcpy(dst, s != NULL ? s : "", n);
        return;
    }
    dst[0] = '\0';
    disc_log_refused(what, strlen(s), "not a host name");
}

/* Copies s (NULL -> "") into a fixed array, cutting if it must. */
static void set_fixed(char *dst, size_t n, const char *s)
{
    (void)orc_strlcpy(dst, s != NULL ? s : "", n);
}

/* A GTID set without the newlines MySQL puts after each comma. */
static int set_gtid(char **field, const char *s)
{
    char *copy;
    size_t j = 0;
    int rc;

    if (s == NULL || strpbrk(s, "\r\n") == NULL)
        return disc_instance_set_str(field, s);
    copy = strdup(s);
    if (copy == NULL)
        return ORC_ENOMEM;
    for (size_t i = 0; copy[i] != '\0'; i++) {
        if (copy[i] != '\n' && copy[i] != '\r')
            copy[j++] = copy[i];
    }
    copy[j] = '\0';
    rc = disc_instance_set_str(field, copy);
    free(copy);
    return rc;
}

/* The first of two column names present in row 0 (new naming first). */
static const char *either(const struct disc_rs *rs, const char *a, const char *b)
{
    int c = disc_rs_col(rs, a);

    if (c < 0 && b != NULL)
        c = disc_rs_col(rs, b);
    return disc_rs_get(rs, 0, c);
}

int disc_parse_thread_state(const char *s)
{
    if (s != NULL && strcmp(s, "Yes") == 0)
        return DISC_THREAD_RUNNING;
    if (s != NULL && strcmp(s, "No") == 0)
        return DISC_THREAD_STOPPED;
    return DISC_THREAD_OTHER;
}

/* ---- the variables SELECT ---- */

static int parse_gtid_variables(const struct disc_rs *rs, struct disc_instance *in)
{
    int rc = 0;

    set_fixed(in->gtid_mode, sizeof(in->gtid_mode), disc_rs_value(rs, 0, "gtid_mode"));
    set_fixed(in->server_uuid, sizeof(in->server_uuid), disc_rs_value(rs, 0, "server_uuid"));
    in->supports_oracle_gtid = in->gtid_mode[0] != '\0' && strcasecmp(in->gtid_mode, "OFF") != 0;
    /* ExecutedGtidSet: MySQL's gtid_executed, MariaDB's gtid_binlog_state
     * (every (domain, server_id) the binary log holds: what errant
     * transactions are computed from). */
    if (rc == 0)
        rc = set_gtid(&in->executed_gtid_set, disc_rs_col(rs, "gtid_binlog_state") >= 0
                                                  ? disc_rs_value(rs, 0, "gtid_binlog_state")
                                                  : disc_rs_value(rs, 0, "gtid_executed"));
    if (rc == 0)
        rc = set_gtid(&in->gtid_purged, disc_rs_value(rs, 0, "gtid_purged"));
    if (rc == 0)
        rc = set_gtid(&in->gtid_current_pos, disc_rs_value(rs, 0, "gtid_current_pos"));
    if (rc == 0)
        rc = set_gtid(&in->gtid_slave_pos, disc_rs_value(rs, 0, "gtid_slave_pos"));
    if (rc == 0)
        rc = set_gtid(&in->gtid_binlog_pos, disc_rs_value(rs, 0, "gtid_binlog_pos"));
    in->gtid_strict_mode = text_bool(disc_rs_value(rs, 0, "gtid_strict_mode"));
    return rc;
}

/* MariaDB's built-in semi-sync variables, read in the same SELECT. */
static void parse_builtin_semi_sync(const struct disc_rs *rs, struct disc_instance *in)
{
    int c = disc_rs_col(rs, "rpl_semi_sync_master_enabled");

    if (c < 0)
        return;
    in->semi_sync_available = true;
    in->semi_sync_master_enabled = text_bool(disc_rs_get(rs, 0, c));
    in->semi_sync_replica_enabled = text_bool(disc_rs_value(rs, 0, "rpl_semi_sync_slave_enabled"));
    in->semi_sync_master_timeout =
        text_int(disc_rs_value(rs, 0, "rpl_semi_sync_master_timeout"), 0);
    in->semi_sync_master_wait_for_replica_count = 1;
}

int disc_parse_variables(const struct disc_rs *rs,
                         struct disc_instance *in,
                         char *errmsg,
                         size_t len)
{
    const char *version = disc_rs_value(rs, 0, "version");
    const char *server_id = disc_rs_value(rs, 0, "server_id");

    if (rs->nrows != 1 || version == NULL || server_id == NULL) {
        orc_errf(errmsg, len, "variables: expected one row with version and server_id");
        return ORC_EINVAL;
    }
    if (orc_parse_int64(server_id, 0, INT64_MAX, &in->server_id) != 0) {
        orc_errf(errmsg, len, "variables: bad server_id '%s'", server_id);
        return ORC_EINVAL;
    }
    set_fixed(in->version, sizeof(in->version), version);
    set_fixed(in->version_comment, sizeof(in->version_comment),
              disc_rs_value(rs, 0, "version_comment"));
    (void)disc_version_parse(in->version, in->version_comment, &in->ver);
    set_host(in->hostname, sizeof(in->hostname), disc_rs_value(rs, 0, "hostname"), "hostname");
    set_host(in->report_host, sizeof(in->report_host), disc_rs_value(rs, 0, "report_host"),
             "report_host");
    in->read_only = text_bool(disc_rs_value(rs, 0, "read_only"));
    in->super_read_only = text_bool(disc_rs_value(rs, 0, "super_read_only"));
    in->log_bin = text_bool(disc_rs_value(rs, 0, "log_bin"));
    in->log_replica_updates = text_bool(disc_rs_value(rs, 0, "log_replica_updates"));
    set_fixed(in->binlog_format, sizeof(in->binlog_format), disc_rs_value(rs, 0, "binlog_format"));
    set_fixed(in->binlog_row_image, sizeof(in->binlog_row_image),
              disc_rs_value(rs, 0, "binlog_row_image"));
    parse_builtin_semi_sync(rs, in);
    if (parse_gtid_variables(rs, in) != 0) {
        orc_errf(errmsg, len, "variables: out of memory");
        return ORC_ENOMEM;
    }
    return 0;
}

/* ---- SHOW SLAVE STATUS / SHOW REPLICA STATUS ---- */

static void clear_replica_fields(struct disc_instance *in)
{
    memset(&in->master_key, 0, sizeof(in->master_key));
    in->master_uuid[0] = '\0';
    in->master_server_id = 0;
    in->is_detached_master = false;
    in->is_detached = false;
    in->io_state = DISC_THREAD_NONE;
    in->sql_state = DISC_THREAD_NONE;
    in->io_running_text[0] = '\0';
    in->sql_running_text[0] = '\0';
    memset(&in->read_coords, 0, sizeof(in->read_coords));
    memset(&in->exec_coords, 0, sizeof(in->exec_coords));
    memset(&in->relay_coords, 0, sizeof(in->relay_coords));
    in->relay_coords.type = DISC_COORDS_RELAYLOG;
    (void)disc_instance_set_str(&in->last_io_error, NULL);
    (void)disc_instance_set_str(&in->last_sql_error, NULL);
    (void)disc_instance_set_str(&in->retrieved_gtid_set, NULL);
    (void)disc_instance_set_str(&in->gtid_io_pos, NULL);
    in->last_io_errno = 0;
    in->last_sql_errno = 0;
    in->seconds_behind_master.valid = false;
    in->seconds_behind_master.value = 0;
    in->replication_lag_seconds = in->seconds_behind_master;
    in->sql_delay = 0;
    in->has_replication_filters = false;
    in->has_replication_credentials = false;
    in->allow_tls = false;
    in->using_oracle_gtid = false;
    in->using_mariadb_gtid = false;
    in->mariadb_using_gtid[0] = '\0';
}

static void set_coords(struct disc_coords *c, const char *file, const char *pos, int type)
{
    set_fixed(c->file, sizeof(c->file), file);
    c->pos = text_int(pos, 0);
    c->type = type;
}

static void parse_replica_threads(const struct disc_rs *rs, struct disc_instance *in)
{
    const char *io = either(rs, "Replica_IO_Running", "Slave_IO_Running");
    const char *sql = either(rs, "Replica_SQL_Running", "Slave_SQL_Running");
    const char *sbm = either(rs, "Seconds_Behind_Source", "Seconds_Behind_Master");

    in->io_state = disc_parse_thread_state(io);
    in->sql_state = disc_parse_thread_state(sql);
    set_fixed(in->io_running_text, sizeof(in->io_running_text), io);
    set_fixed(in->sql_running_text, sizeof(in->sql_running_text), sql);
    in->seconds_behind_master.valid = sbm != NULL && sbm[0] != '\0';
    in->seconds_behind_master.value = in->seconds_behind_master.valid ? text_int(sbm, 0) : 0;
    if (in->seconds_behind_master.value < 0)
        in->seconds_behind_master.value = 0;
    in->replication_lag_seconds = in->seconds_behind_master;
    in->sql_delay = text_int(disc_rs_value(rs, 0, "SQL_Delay"), 0);
    in->last_io_errno = (int)text_int(disc_rs_value(rs, 0, "Last_IO_Errno"), 0);
    in->last_sql_errno = (int)text_int(disc_rs_value(rs, 0, "Last_SQL_Errno"), 0);
}

static void parse_replica_coords(const struct disc_rs *rs, struct disc_instance *in)
{
    set_coords(&in->read_coords, either(rs, "Source_Log_File", "Master_Log_File"),
               either(rs, "Read_Source_Log_Pos", "Read_Master_Log_Pos"), DISC_COORDS_BINLOG);
    set_coords(&in->exec_coords, either(rs, "Relay_Source_Log_File", "Relay_Master_Log_File"),
               either(rs, "Exec_Source_Log_Pos", "Exec_Master_Log_Pos"), DISC_COORDS_BINLOG);
    set_coords(&in->relay_coords, disc_rs_value(rs, 0, "Relay_Log_File"),
               disc_rs_value(rs, 0, "Relay_Log_Pos"), DISC_COORDS_RELAYLOG);
    in->is_detached = strncmp(in->exec_coords.file, "//", 2) == 0;
}

static bool nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static void parse_replica_master(const struct disc_rs *rs, struct disc_instance *in)
{
    const char *host = either(rs, "Source_Host", "Master_Host");
    const char *user = either(rs, "Source_User", "Master_User");
    static const char *const filters[] = {
        "Replicate_Do_DB",        "Replicate_Ignore_DB",     "Replicate_Do_Table",
        "Replicate_Ignore_Table", "Replicate_Wild_Do_Table", "Replicate_Wild_Ignore_Table",
    };

    set_host(in->master_key.host, sizeof(in->master_key.host), host, "Master_Host");
    in->master_key.port = (int)text_int(either(rs, "Source_Port", "Master_Port"), 0);
    in->is_detached_master = strncmp(in->master_key.host, "//", 2) == 0;
    set_fixed(in->master_uuid, sizeof(in->master_uuid), either(rs, "Source_UUID", "Master_UUID"));
    in->master_server_id = text_int(either(rs, "Source_Server_Id", "Master_Server_Id"), 0);
    in->has_replication_credentials = nonempty(user);
    in->allow_tls = text_bool(either(rs, "Source_SSL_Allowed", "Master_SSL_Allowed"));
    in->has_replication_filters = false;
    for (size_t i = 0; i < ORC_ARRAY_LEN(filters); i++) {
        if (nonempty(disc_rs_value(rs, 0, filters[i])))
            in->has_replication_filters = true;
    }
}

static int parse_replica_gtid(const struct disc_rs *rs, struct disc_instance *in)
{
    const char *using_gtid = disc_rs_value(rs, 0, "Using_Gtid");
    int rc;

    in->using_oracle_gtid = text_int(disc_rs_value(rs, 0, "Auto_Position"), 0) == 1;
    set_fixed(in->mariadb_using_gtid, sizeof(in->mariadb_using_gtid), using_gtid);
    in->using_mariadb_gtid = nonempty(using_gtid) && strcasecmp(using_gtid, "No") != 0;
    rc = set_gtid(&in->retrieved_gtid_set, disc_rs_value(rs, 0, "Retrieved_Gtid_Set"));
    if (rc == 0)
        rc = set_gtid(&in->gtid_io_pos, disc_rs_value(rs, 0, "Gtid_IO_Pos"));
    if (rc == 0)
        rc = disc_instance_set_str(&in->last_io_error, disc_rs_value(rs, 0, "Last_IO_Error"));
    if (rc == 0)
        rc = disc_instance_set_str(&in->last_sql_error, disc_rs_value(rs, 0, "Last_SQL_Error"));
    return rc;
}

int disc_parse_replica_status(const struct disc_rs *rs,
                              struct disc_instance *in,
                              char *errmsg,
                              size_t len)
{
    clear_replica_fields(in);
    if (rs->nrows == 0)
        return 0;
    if (either(rs, "Replica_IO_Running", "Slave_IO_Running") == NULL ||
        either(rs, "Replica_SQL_Running", "Slave_SQL_Running") == NULL) {
        orc_errf(errmsg, len, "replica status: no IO/SQL running columns");
        return ORC_EINVAL;
    }
    parse_replica_threads(rs, in);
    parse_replica_coords(rs, in);
    parse_replica_master(rs, in);
    if (parse_replica_gtid(rs, in) != 0) {
        orc_errf(errmsg, len, "replica status: out of memory");
        return ORC_ENOMEM;
    }
    return 0;
}

/* ---- SHOW MASTER STATUS ---- */

int disc_parse_master_status(const struct disc_rs *rs,
                             struct disc_instance *in,
                             char *errmsg,
                             size_t len)
{
    memset(&in->self_coords, 0, sizeof(in->self_coords));
    if (rs->nrows == 0)
        return 0; /* binary log disabled */
    if (disc_rs_col(rs, "File") < 0 || disc_rs_col(rs, "Position") < 0) {
        orc_errf(errmsg, len, "master status: no File/Position columns");
        return ORC_EINVAL;
    }
    set_coords(&in->self_coords, disc_rs_value(rs, 0, "File"), disc_rs_value(rs, 0, "Position"),
               DISC_COORDS_BINLOG);
    return 0;
}

/* ---- semi-sync and status (Variable_name, Value rows) ---- */

/* Variable names under both generations: [0] master/slave, [1] source/replica. */
static bool name_is(const char *name, const char *old_name, const char *new_name)
{
    return strcasecmp(name, old_name) == 0 || (new_name && strcasecmp(name, new_name) == 0);
}

int disc_parse_semi_sync_variables(const struct disc_rs *rs, struct disc_instance *in)
{
    int cn = disc_rs_col(rs, "Variable_name");
    int cv = disc_rs_col(rs, "Value");

    if (cn < 0 || cv < 0)
        return rs->nrows == 0 ? 0 : ORC_EINVAL;
    for (size_t r = 0; r < rs->nrows; r++) {
        const char *n = disc_rs_get(rs, r, cn);
        const char *v = disc_rs_get(rs, r, cv);

        if (n == NULL)
            continue;
        in->semi_sync_available = true;
        if (name_is(n, "rpl_semi_sync_master_enabled", "rpl_semi_sync_source_enabled"))
            in->semi_sync_master_enabled = text_bool(v);
        else if (name_is(n, "rpl_semi_sync_slave_enabled", "rpl_semi_sync_replica_enabled"))
            in->semi_sync_replica_enabled = text_bool(v);
        else if (name_is(n, "rpl_semi_sync_master_timeout", "rpl_semi_sync_source_timeout"))
            in->semi_sync_master_timeout = text_int(v, 0);
        else if (name_is(n, "rpl_semi_sync_master_wait_for_slave_count",
                         "rpl_semi_sync_source_wait_for_replica_count"))
            in->semi_sync_master_wait_for_replica_count = text_int(v, 0);
    }
    return 0;
}

int disc_parse_status(const struct disc_rs *rs, struct disc_instance *in)
{
    int cn = disc_rs_col(rs, "Variable_name");
    int cv = disc_rs_col(rs, "Value");

    if (cn < 0 || cv < 0)
        return rs->nrows == 0 ? 0 : ORC_EINVAL;
    for (size_t r = 0; r < rs->nrows; r++) {
        const char *n = disc_rs_get(rs, r, cn);
        const char *v = disc_rs_get(rs, r, cv);

        if (n == NULL)
            continue;
        if (name_is(n, "Uptime", NULL))
            in->uptime = text_int(v, 0);
        else if (name_is(n, "Rpl_semi_sync_master_status", "Rpl_semi_sync_source_status"))
            in->semi_sync_master_status = text_bool(v);
        else if (name_is(n, "Rpl_semi_sync_master_clients", "Rpl_semi_sync_source_clients"))
            in->semi_sync_master_clients = text_int(v, 0);
        else if (name_is(n, "Rpl_semi_sync_slave_status", "Rpl_semi_sync_replica_status"))
            in->semi_sync_replica_status = text_bool(v);
    }
    return 0;
}

/* ---- replica hosts ---- */

int disc_parse_replica_hosts(const struct disc_rs *rs,
                             struct disc_keylist *out,
                             char *errmsg,
                             size_t len)
{
    int ch = disc_rs_col(rs, "Host");
    int cp = disc_rs_col(rs, "Port");

    if (rs->nrows == 0)
        return 0;
    if (ch < 0 || cp < 0) {
        orc_errf(errmsg, len, "replica hosts: no Host/Port columns");
        return ORC_EINVAL;
    }
    for (size_t r = 0; r < rs->nrows && out->len < DISC_MAX_REPLICAS; r++) {
        struct orc_key k;
        const char *host = disc_rs_get(rs, r, ch);
        const char *port = disc_rs_get(rs, r, cp);

        if (!nonempty(host) || orc_key_from(host, port, &k) != 0)
            continue; /* a replica without report_host, or a bad port */
        if (!disc_valid_host(host)) {
            disc_log_refused("replica_host", strlen(host), "not a host name");
            continue;
        }
        if (disc_keylist_add(out, &k) != 0) {
            orc_errf(errmsg, len, "replica hosts: out of memory");
            return ORC_ENOMEM;
        }
    }
    return 0;
}

int disc_parse_processlist_hosts(const struct disc_rs *rs,
                                 int port,
                                 struct disc_keylist *out,
                                 char *errmsg,
                                 size_t len)
{
    for (size_t r = 0; r < rs->nrows && rs->ncols > 0 && out->len < DISC_MAX_REPLICAS; r++) {
        struct orc_key k;
        const char *host = disc_rs_get(rs, r, 0);

        if (!nonempty(host) || !disc_valid_host(host) ||
            orc_strlcpy(k.host, host, sizeof(k.host)) != 0)
            continue;
        k.port = port;
        if (disc_keylist_add(out, &k) != 0) {
            orc_errf(errmsg, len, "processlist hosts: out of memory");
            return ORC_ENOMEM;
        }
    }
    return 0;
}

/* ---- placement patterns ---- */

bool disc_parse_pattern(const regex_t *re, const char *host, char *out, size_t n)
{
    regmatch_t m[2];
    size_t l;

    if (regexec(re, host, 2, m, 0) != 0 || m[1].rm_so < 0)
        return false;
    l = (size_t)(m[1].rm_eo - m[1].rm_so);
    if (l >= n)
        l = n - 1;
    memcpy(out, host + m[1].rm_so, l);
    out[l] = '\0';
    return true;
}
