/*
 * Flavors and their statements: which SQL reads replica status, replica
 * hosts, binlog coordinates and variables, and which changes replication,
 * for MariaDB 10.x and MySQL/Percona 5.7, 8.0 (before and after the 8.0.22
 * renaming) and 8.4. Pure: version in, text out.
 */
#include "discovery/disc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- versions ---- */

static const char *read_num(const char *s, int *out)
{
    int v = 0;
    int digits = 0;

    while (*s >= '0' && *s <= '9' && digits < 6) {
        v = v * 10 + (*s - '0');
        s++;
        digits++;
    }
    if (digits == 0)
        return NULL;
    *out = v;
    return s;
}

/* Reads "major.minor[.patch]" at s; returns 0 or ORC_EINVAL. */
static int read_triplet(const char *s, struct disc_version *out)
{
    s = read_num(s, &out->major);
    if (s == NULL || *s != '.')
        return ORC_EINVAL;
    s = read_num(s + 1, &out->minor);
    if (s == NULL)
        return ORC_EINVAL;
    out->patch = 0;
    if (*s == '.' && read_num(s + 1, &out->patch) == NULL)
        out->patch = 0;
    return 0;
}

int disc_version_parse(const char *version, const char *comment, struct disc_version *out)
{
    memset(out, 0, sizeof(*out));
    if (version == NULL)
        return ORC_EINVAL;
    /* MariaDB's handshake prefixes "5.5.5-" so old clients accept it. */
    if (strncmp(version, "5.5.5-", 6) == 0 && strstr(version, "MariaDB") != NULL)
        version += 6;
    if (read_triplet(version, out) != 0) {
        memset(out, 0, sizeof(*out));
        return ORC_EINVAL;
    }
    if (strcasestr(version, "mariadb") != NULL ||
        (comment != NULL && strcasestr(comment, "mariadb") != NULL))
        out->flavor = DISC_FLAVOR_MARIADB;
    else if (strcasestr(version, "percona") != NULL ||
             (comment != NULL && strcasestr(comment, "percona") != NULL))
        out->flavor = DISC_FLAVOR_PERCONA;
    else
        out->flavor = DISC_FLAVOR_MYSQL;
    return 0;
}

const char *disc_flavor_name(enum disc_flavor f)
{
    switch (f) {
        case DISC_FLAVOR_MYSQL:
            return "MySQL";
        case DISC_FLAVOR_MARIADB:
            return "MariaDB";
        case DISC_FLAVOR_PERCONA:
            return "Percona";
        case DISC_FLAVOR_UNKNOWN:
            break;
    }
    return "unknown";
}

bool disc_version_at_least(const struct disc_version *v, int major, int minor, int patch)
{
    if (v->major != major)
        return v->major > major;
    if (v->minor != minor)
        return v->minor > minor;
    return v->patch >= patch;
}

bool disc_version_is_mysql(const struct disc_version *v)
{
    return v->flavor == DISC_FLAVOR_MYSQL || v->flavor == DISC_FLAVOR_PERCONA;
}

/* ---- which generation of names a version speaks ---- */

static bool is_mariadb(const struct disc_version *v)
{
    return v->flavor == DISC_FLAVOR_MARIADB;
}

/* SHOW REPLICA STATUS, SHOW REPLICAS, START/STOP/RESET REPLICA: MySQL 8.0.22+. */
static bool replica_words(const struct disc_version *v)
{
    return disc_version_is_mysql(v) && disc_version_at_least(v, 8, 0, 22);
}

/* CHANGE REPLICATION SOURCE TO / SOURCE_*: MySQL 8.0.23+. */
static bool source_words(const struct disc_version *v)
{
    return disc_version_is_mysql(v) && disc_version_at_least(v, 8, 0, 23);
}

/* log_replica_updates and the semi-sync source/replica plugins: 8.0.26+. */
static bool replica_vars(const struct disc_version *v)
{
    return disc_version_is_mysql(v) && disc_version_at_least(v, 8, 0, 26);
}

/* MariaDB 10.3.3+ has semi-sync built in: its variables always exist. */
static bool mariadb_builtin_semi_sync(const struct disc_version *v)
{
    return is_mariadb(v) && disc_version_at_least(v, 10, 3, 3);
}

/* super_read_only: MySQL 5.7.8+ (Percona had it from 5.6.21). */
static bool has_super_read_only(const struct disc_version *v)
{
    if (v->flavor == DISC_FLAVOR_PERCONA)
        return disc_version_at_least(v, 5, 6, 21);
    return v->flavor == DISC_FLAVOR_MYSQL && disc_version_at_least(v, 5, 7, 8);
}

#define STATUS_NAMES                                                                             \
    "('Uptime','Rpl_semi_sync_master_status','Rpl_semi_sync_master_clients',"                    \
    "'Rpl_semi_sync_slave_status','Rpl_semi_sync_source_status','Rpl_semi_sync_source_clients'," \
    "'Rpl_semi_sync_replica_status')"

static const char *replication_sql(const struct disc_version *v, enum disc_sql which)
{
    bool r = replica_words(v);

    switch (which) {
        case DISC_SQL_STOP_REPLICA:
            return r ? "STOP REPLICA" : "STOP SLAVE";
        case DISC_SQL_START_REPLICA:
            return r ? "START REPLICA" : "START SLAVE";
        case DISC_SQL_STOP_REPLICA_IO:
            return r ? "STOP REPLICA IO_THREAD" : "STOP SLAVE IO_THREAD";
        case DISC_SQL_START_REPLICA_IO:
            return r ? "START REPLICA IO_THREAD" : "START SLAVE IO_THREAD";
        case DISC_SQL_STOP_REPLICA_SQL:
            return r ? "STOP REPLICA SQL_THREAD" : "STOP SLAVE SQL_THREAD";
        case DISC_SQL_START_REPLICA_SQL:
            return r ? "START REPLICA SQL_THREAD" : "START SLAVE SQL_THREAD";
        case DISC_SQL_RESET_REPLICA_ALL:
            return r ? "RESET REPLICA ALL" : "RESET SLAVE ALL";
        default:
            return NULL;
    }
}

const char *disc_flavor_sql(const struct disc_version *v, enum disc_sql which)
{
    switch (which) {
        case DISC_SQL_REPLICA_STATUS:
            return replica_words(v) ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS";
        case DISC_SQL_REPLICA_HOSTS:
            return replica_words(v) ? "SHOW REPLICAS" : "SHOW SLAVE HOSTS";
        case DISC_SQL_MASTER_STATUS:
            /* SHOW BINARY LOG STATUS exists from 8.2; 8.4 removed SHOW MASTER STATUS. */
            if (disc_version_is_mysql(v) && disc_version_at_least(v, 8, 2, 0))
                return "SHOW BINARY LOG STATUS";
            return "SHOW MASTER STATUS";
        case DISC_SQL_PROCESSLIST_REPLICAS:
            return "SELECT SUBSTRING_INDEX(host, ':', 1) AS host FROM "
                   "information_schema.processlist "
                   "WHERE command IN ('Binlog Dump', 'Binlog Dump GTID')";
        case DISC_SQL_SEMI_SYNC_VARIABLES:
            if (mariadb_builtin_semi_sync(v))
                return NULL; /* read by the variables SELECT */
            return "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'";
        case DISC_SQL_STATUS:
            return "SHOW GLOBAL STATUS WHERE Variable_name IN " STATUS_NAMES;
        case DISC_SQL_READ_ONLY_ON:
            return "SET GLOBAL read_only = 1";
        case DISC_SQL_READ_ONLY_OFF:
            return "SET GLOBAL read_only = 0";
        case DISC_SQL_SUPER_READ_ONLY_ON:
            return has_super_read_only(v) ? "SET GLOBAL super_read_only = 1" : NULL;
        case DISC_SQL_SUPER_READ_ONLY_OFF:
            return has_super_read_only(v) ? "SET GLOBAL super_read_only = 0" : NULL;
        case DISC_SQL_COUNT_:
            return NULL;
        default:
            return replication_sql(v, which);
    }
}

const char *disc_flavor_log_replica_updates_var(const struct disc_version *v)
{
    return replica_vars(v) ? "log_replica_updates" : "log_slave_updates";
}

int disc_flavor_variables_sql(const struct disc_version *v, struct orc_buf *out)
{
    int rc = orc_buf_printf(
        out,
        "SELECT @@global.hostname AS hostname, IFNULL(@@global.report_host, '') AS report_host, "
        "@@global.server_id AS server_id, @@global.version AS version, "
        "@@global.version_comment AS version_comment, @@global.read_only AS read_only, "
        "@@global.binlog_format AS binlog_format, @@global.log_bin AS log_bin, "
        "@@global.%s AS log_replica_updates, @@global.binlog_row_image AS binlog_row_image",
        disc_flavor_log_replica_updates_var(v));

    if (rc == 0 && has_super_read_only(v))
        rc = orc_buf_puts(out, ", @@global.super_read_only AS super_read_only");
    if (rc == 0 && disc_version_is_mysql(v))
        rc = orc_buf_puts(out,
                          ", @@global.gtid_mode AS gtid_mode, @@global.server_uuid AS server_uuid, "
                          "@@global.gtid_executed AS gtid_executed, "
                          "@@global.gtid_purged AS gtid_purged");
    if (rc == 0 && is_mariadb(v))
        rc = orc_buf_puts(out,
                          ", @@global.gtid_current_pos AS gtid_current_pos, "
                          "@@global.gtid_slave_pos AS gtid_slave_pos, "
                          "@@global.gtid_binlog_pos AS gtid_binlog_pos, "
                          "@@global.gtid_binlog_state AS gtid_binlog_state, "
                          "@@global.gtid_strict_mode AS gtid_strict_mode");
    if (rc == 0 && mariadb_builtin_semi_sync(v))
        rc =
            orc_buf_puts(out,
                         ", @@global.rpl_semi_sync_master_enabled AS rpl_semi_sync_master_enabled, "
                         "@@global.rpl_semi_sync_master_timeout AS rpl_semi_sync_master_timeout, "
                         "@@global.rpl_semi_sync_slave_enabled AS rpl_semi_sync_slave_enabled");
    return rc;
}

/* ---- quoting ---- */

int disc_sql_quote(struct orc_buf *out, const char *s)
{
    int rc = orc_buf_putc(out, '\'');

    for (; rc == 0 && s != NULL && *s != '\0'; s++) {
        switch (*s) {
            case '\\':
                rc = orc_buf_puts(out, "\\\\");
                break;
            case '\'':
                rc = orc_buf_puts(out, "\\'");
                break;
            case '\n':
                rc = orc_buf_puts(out, "\\n");
                break;
            case '\r':
                rc = orc_buf_puts(out, "\\r");
                break;
            case '\032':
                rc = orc_buf_puts(out, "\\Z");
                break;
            default:
                rc = orc_buf_putc(out, *s);
                break;
        }
    }
    if (rc == 0)
        rc = orc_buf_putc(out, '\'');
    return rc;
}

/* ---- CHANGE MASTER / CHANGE REPLICATION SOURCE ---- */

/* Appends ", <prefix>_<name>=" then the value (quoted when q). */
static int put_opt(struct orc_buf *out, const char *prefix, const char *name, const char *q)
{
    int rc = orc_buf_printf(out, ", %s_%s=", prefix, name);

    if (rc == 0)
        rc = disc_sql_quote(out, q);
    return rc;
}

static int change_master_check(const struct disc_change_master *cm, char *errmsg, size_t len)
{
    if (cm->host == NULL || cm->host[0] == '\0') {
        orc_errf(errmsg, len, "change master: empty host");
        return ORC_EINVAL;
    }
    if (cm->port <= 0 || cm->port > 65535) {
        orc_errf(errmsg, len, "change master: bad port %d", cm->port);
        return ORC_EINVAL;
    }
    if (cm->use_gtid && cm->log_file != NULL && cm->log_file[0] != '\0') {
        orc_errf(errmsg, len, "change master: coordinates given with GTID positioning");
        return ORC_EINVAL;
    }
    return 0;
}

static int change_master_positioning(const struct disc_version *v,
                                     const char *p,
                                     const struct disc_change_master *cm,
                                     struct orc_buf *out)
{
    int rc = 0;

    if (cm->use_gtid) {
        if (is_mariadb(v))
            return orc_buf_puts(out, ", MASTER_USE_GTID=slave_pos");
        return orc_buf_printf(out, ", %s_AUTO_POSITION=1", p);
    }
    if (disc_version_is_mysql(v))
        rc = orc_buf_printf(out, ", %s_AUTO_POSITION=0", p);
    else
        rc = orc_buf_puts(out, ", MASTER_USE_GTID=no");
    if (rc == 0 && cm->log_file != NULL && cm->log_file[0] != '\0') {
        rc = put_opt(out, p, "LOG_FILE", cm->log_file);
        if (rc == 0)
            rc = orc_buf_printf(out, ", %s_LOG_POS=%lld", p, (long long)cm->log_pos);
    }
    return rc;
}

const char *disc_flavor_change_master_words(const struct disc_version *v, const char **prefix)
{
    bool src = source_words(v);

    *prefix = src ? "SOURCE" : "MASTER";
    return src ? "CHANGE REPLICATION SOURCE TO" : "CHANGE MASTER TO";
}

int disc_flavor_change_master_sql(const struct disc_version *v,
                                  const struct disc_change_master *cm,
                                  struct orc_buf *out,
                                  char *errmsg,
                                  size_t len)
{
    bool src = source_words(v);
    const char *p = src ? "SOURCE" : "MASTER";
    int rc = change_master_check(cm, errmsg, len);

    if (rc != 0)
        return rc;
    rc = orc_buf_printf(
        out, "%s %s_HOST=", src ? "CHANGE REPLICATION SOURCE TO" : "CHANGE MASTER TO", p);
    if (rc == 0)
        rc = disc_sql_quote(out, cm->host);
    if (rc == 0)
        rc = orc_buf_printf(out, ", %s_PORT=%d", p, cm->port);
    if (rc == 0 && cm->user != NULL)
        rc = put_opt(out, p, "USER", cm->user);
    if (rc == 0 && cm->password != NULL)
        rc = put_opt(out, p, "PASSWORD", cm->password);
    if (rc == 0)
        rc = change_master_positioning(v, p, cm, out);
    if (rc != 0)
        orc_errf(errmsg, len, "change master: out of memory");
    return rc;
}
