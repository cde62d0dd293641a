/*
 * sql_show: SHOW statements per flavor. Column names follow the real
 * servers: MariaDB 10.11 has Master_/Slave_ names under both SHOW SLAVE
 * STATUS and SHOW REPLICA STATUS; MySQL 8.0 old names under SHOW SLAVE
 * STATUS and new ones under SHOW REPLICA STATUS; MySQL 8.4 only has the new
 * statements (SHOW SLAVE ..., SHOW MASTER STATUS are syntax errors there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/fleet/sql_int.h"

#define BINLOG_FILE "mysql-bin.000001"

static const char *const mariadb_status_cols[] = {"Slave_IO_State",
                                                  "Master_Host",
                                                  "Master_User",
                                                  "Master_Port",
                                                  "Connect_Retry",
                                                  "Master_Log_File",
                                                  "Read_Master_Log_Pos",
                                                  "Relay_Log_File",
                                                  "Relay_Log_Pos",
                                                  "Relay_Master_Log_File",
                                                  "Slave_IO_Running",
                                                  "Slave_SQL_Running",
                                                  "Replicate_Rewrite_DB",
                                                  "Replicate_Do_DB",
                                                  "Replicate_Ignore_DB",
                                                  "Replicate_Do_Table",
                                                  "Replicate_Ignore_Table",
                                                  "Replicate_Wild_Do_Table",
                                                  "Replicate_Wild_Ignore_Table",
                                                  "Last_Errno",
                                                  "Last_Error",
                                                  "Skip_Counter",
                                                  "Exec_Master_Log_Pos",
                                                  "Relay_Log_Space",
                                                  "Until_Condition",
                                                  "Until_Log_File",
                                                  "Until_Log_Pos",
                                                  "Master_SSL_Allowed",
                                                  "Master_SSL_CA_File",
                                                  "Master_SSL_CA_Path",
                                                  "Master_SSL_Cert",
                                                  "Master_SSL_Cipher",
                                                  "Master_SSL_Key",
                                                  "Seconds_Behind_Master",
                                                  "Master_SSL_Verify_Server_Cert",
                                                  "Last_IO_Errno",
                                                  "Last_IO_Error",
                                                  "Last_SQL_Errno",
                                                  "Last_SQL_Error",
                                                  "Replicate_Ignore_Server_Ids",
                                                  "Master_Server_Id",
                                                  "Master_SSL_Crl",
                                                  "Master_SSL_Crlpath",
                                                  "Using_Gtid",
                                                  "Gtid_IO_Pos",
                                                  "Replicate_Do_Domain_Ids",
                                                  "Replicate_Ignore_Domain_Ids",
                                                  "Parallel_Mode",
                                                  "SQL_Delay",
                                                  "SQL_Remaining_Delay",
                                                  "Slave_SQL_Running_State",
                                                  "Slave_DDL_Groups",
                                                  "Slave_Non_Transactional_Groups",
                                                  "Slave_Transactional_Groups"};

static const char *const mysql_status_cols[] = {"Replica_IO_State",
                                                "Source_Host",
                                                "Source_User",
                                                "Source_Port",
                                                "Connect_Retry",
                                                "Source_Log_File",
                                                "Read_Source_Log_Pos",
                                                "Relay_Log_File",
                                                "Relay_Log_Pos",
                                                "Relay_Source_Log_File",
                                                "Replica_IO_Running",
                                                "Replica_SQL_Running",
                                                "Replicate_Do_DB",
                                                "Replicate_Ignore_DB",
                                                "Replicate_Do_Table",
                                                "Replicate_Ignore_Table",
                                                "Replicate_Wild_Do_Table",
                                                "Replicate_Wild_Ignore_Table",
                                                "Last_Errno",
                                                "Last_Error",
                                                "Skip_Counter",
                                                "Exec_Source_Log_Pos",
                                                "Relay_Log_Space",
                                                "Until_Condition",
                                                "Until_Log_File",
                                                "Until_Log_Pos",
                                                "Source_SSL_Allowed",
                                                "Source_SSL_CA_File",
                                                "Source_SSL_CA_Path",
                                                "Source_SSL_Cert",
                                                "Source_SSL_Cipher",
                                                "Source_SSL_Key",
                                                "Seconds_Behind_Source",
                                                "Source_SSL_Verify_Server_Cert",
                                                "Last_IO_Errno",
                                                "Last_IO_Error",
                                                "Last_SQL_Errno",
                                                "Last_SQL_Error",
                                                "Replicate_Ignore_Server_Ids",
                                                "Source_Server_Id",
                                                "Source_UUID",
                                                "Source_Info_File",
                                                "SQL_Delay",
                                                "SQL_Remaining_Delay",
                                                "Replica_SQL_Running_State",
                                                "Source_Retry_Count",
                                                "Source_Bind",
                                                "Last_IO_Error_Timestamp",
                                                "Last_SQL_Error_Timestamp",
                                                "Source_SSL_Crl",
                                                "Source_SSL_Crlpath",
                                                "Retrieved_Gtid_Set",
                                                "Executed_Gtid_Set",
                                                "Auto_Position",
                                                "Replicate_Rewrite_DB",
                                                "Channel_Name",
                                                "Source_TLS_Version",
                                                "Source_public_key_path",
                                                "Get_Source_public_key",
                                                "Network_Namespace"};

static bool is_mysql(const struct fleet_inst *in)
{
    return in->flavor != FLEET_MARIADB_1011;
}

/* A column name in the old naming (Source -> Master, Replica -> Slave). */
static void old_name(const char *name, char *out, size_t n)
{
    size_t j = 0;

    for (const char *p = name; *p != '\0' && j + 7 < n;) {
        if (strncmp(p, "Source", 6) == 0) {
            memcpy(out + j, "Master", 6), j += 6, p += 6;
        } else if (strncmp(p, "Replica", 7) == 0) {
            memcpy(out + j, "Slave", 5), j += 5, p += 7;
        } else {
            out[j++] = *p++;
        }
    }
    out[j] = '\0';
}

static void io_error(const struct stmt *st, const char *io, struct tab *t)
{
    const struct fleet_inst *in = st->in;

    if (strcmp(io, "Connecting") != 0) {
        tab_val(t, "");
        return;
    }
    tab_valf(t,
             "error reconnecting to master 'repl@%s:%d' - retry-time: 60  maximum-retries: "
             "86400  message: Can't connect to server on '%s' (111 \"Connection refused\")",
             in->master_host, in->master_port, in->master_host);
}

/* Values that depend on the replica's state; false when c is not one. */
static bool status_state_value(const struct stmt *st, const char *c, const char *io, struct tab *t)
{
    const struct fleet_inst *in = st->in;
    const struct fleet_inst *ms = in->master >= 0 ? &st->m->inst[in->master] : NULL;
    long lag = fleet_model_lag(st->m, in);
    char buf[128];

    if (strcmp(c, "Slave_IO_State") == 0)
        tab_val(t, strcmp(io, "Yes") == 0          ? "Waiting for master to send event"
                   : strcmp(io, "Connecting") == 0 ? "Reconnecting after a failed master event read"
                                                   : "");
    else if (strcmp(c, "Master_Host") == 0)
        tab_val(t, in->master_host);
    else if (strcmp(c, "Master_Port") == 0)
        tab_valf(t, "%d", in->master_port);
    else if (strcmp(c, "Slave_IO_Running") == 0)
        tab_val(t, io);
    else if (strcmp(c, "Slave_SQL_Running") == 0)
        tab_val(t, in->sql_on ? "Yes" : "No");
    else if (strcmp(c, "Seconds_Behind_Master") == 0)
        lag < 0 ? tab_val(t, NULL) : tab_valf(t, "%ld", lag);
    else if (strcmp(c, "Last_IO_Errno") == 0)
        tab_val(t, strcmp(io, "Connecting") == 0 ? "2003" : "0");
    else if (strcmp(c, "Last_IO_Error") == 0)
        io_error(st, io, t);
    else if (strcmp(c, "Master_Server_Id") == 0)
        tab_valf(t, "%ld", ms != NULL ? ms->server_id : 0);
    else if (strcmp(c, "Master_UUID") == 0)
        tab_val(t, ms != NULL ? ms->uuid : "");
    else if (strcmp(c, "Using_Gtid") == 0)
        tab_val(t, in->use_gtid ? "Slave_Pos" : "No");
    else if (strcmp(c, "Gtid_IO_Pos") == 0)
        tab_val(t, (mariadb_gtid(in, buf, sizeof(buf)), buf));
    else if (strcmp(c, "Retrieved_Gtid_Set") == 0 || strcmp(c, "Executed_Gtid_Set") == 0)
        tab_val(t, (mysql_gtid(in, buf, sizeof(buf)), buf));
    else if (strcmp(c, "Auto_Position") == 0)
        tab_val(t, in->use_gtid ? "1" : "0");
    else if (strcmp(c, "Slave_SQL_Running_State") == 0)
        tab_val(t, in->sql_on ? "Slave has read all relay log; waiting for more updates" : "");
    else
        return false;
    return true;
}

static void status_value(const struct stmt *st, const char *col, const char *io, struct tab *t)
{
    const struct fleet_inst *in = st->in;
    char c[64];

    old_name(col, c, sizeof(c));
    if (status_state_value(st, c, io, t))
        return;
    if (strcmp(c, "Master_User") == 0)
        tab_val(t, "repl");
    else if (strcmp(c, "Master_Log_File") == 0 || strcmp(c, "Relay_Master_Log_File") == 0)
        tab_val(t, BINLOG_FILE);
    else if (strcmp(c, "Read_Master_Log_Pos") == 0 || strcmp(c, "Exec_Master_Log_Pos") == 0)
        tab_valf(t, "%ld", 1000 + (long)in->seq * 100);
    else if (strcmp(c, "Relay_Log_File") == 0)
        tab_val(t, "relay-bin.000002");
    else if (strcmp(c, "Relay_Log_Pos") == 0 || strcmp(c, "Relay_Log_Space") == 0)
        tab_val(t, "600");
    else if (strcmp(c, "Connect_Retry") == 0)
        tab_val(t, "60");
    else if (strcmp(c, "Master_Retry_Count") == 0)
        tab_val(t, "86400");
    else if (strcmp(c, "Until_Condition") == 0)
        tab_val(t, "None");
    else if (strcmp(c, "Master_SSL_Allowed") == 0 ||
             strcmp(c, "Master_SSL_Verify_Server_Cert") == 0)
        tab_val(t, "No");
    else if (strstr(c, "Errno") || strcmp(c, "Skip_Counter") == 0 || strstr(c, "_Pos") ||
             strcmp(c, "SQL_Delay") == 0 || strstr(c, "_Groups") || strstr(c, "public_key") == c)
        tab_val(t, "0");
    else if (strcmp(c, "SQL_Remaining_Delay") == 0)
        tab_val(t, NULL);
    else if (strcmp(c, "Parallel_Mode") == 0)
        tab_val(t, "optimistic");
    else if (strcmp(c, "Master_Info_File") == 0)
        tab_val(t, "mysql.slave_master_info");
    else
        tab_val(t, "");
}

static bool slave_status(struct stmt *st, bool new_words)
{
    const struct fleet_inst *in = st->in;
    const char *const *cols = is_mysql(in) ? mysql_status_cols : mariadb_status_cols;
    int n = is_mysql(in) ? (int)(sizeof(mysql_status_cols) / sizeof(*cols))
                         : (int)(sizeof(mariadb_status_cols) / sizeof(*cols));
    char names[FLEET_MAX_FIELDS][64];
    struct tab t = {0};

    if (in->flavor == FLEET_MYSQL_84 && !new_words)
        return false;
    for (int c = 0; c < n; c++) {
        if (is_mysql(in) && !new_words)
            old_name(cols[c], names[c], sizeof(names[c]));
        else
            snprintf(names[c], sizeof(names[c]), "%s", cols[c]);
        t.cols[c] = names[c];
    }
    t.ncols = n;
    if (in->has_master_cfg) {
        const char *io = fleet_model_io_state(st->m, in);

        for (int c = 0; c < n; c++)
            status_value(st, cols[c], io, &t);
    }
    tab_send(&t, st->w, st->more);
    return true;
}

/* SHOW SLAVE HOSTS (MariaDB, MySQL 8.0) / SHOW REPLICAS (MySQL 8.0.22+). */
static bool slave_hosts(struct stmt *st, bool new_words)
{
    const struct fleet_inst *in = st->in;
    struct tab t = {0};
    bool my = is_mysql(in);

    if ((my && in->flavor == FLEET_MYSQL_84 && !new_words) || (!my && new_words))
        return false;
    t.cols[0] = "Server_id";
    t.cols[1] = "Host";
    t.cols[2] = "Port";
    t.cols[3] = new_words ? "Source_id" : "Master_id";
    t.ncols = 4;
    if (my) {
        t.cols[0] = new_words ? "Server_Id" : "Server_id";
        t.cols[4] = new_words ? "Replica_UUID" : "Slave_UUID";
        t.ncols = 5;
    }
    for (int r = 0; r < in->nreplicas; r++) {
        const struct fleet_inst *ri = &st->m->inst[in->replicas[r]];

        if (!ri->io_on || ri->state == FLEET_KILLED)
            continue;
        tab_valf(&t, "%ld", ri->server_id);
        tab_val(&t, "127.0.0.1");
        tab_valf(&t, "%d", ri->port);
        tab_valf(&t, "%ld", in->server_id);
        if (my)
            tab_val(&t, ri->uuid);
    }
    for (int k = 0; k < in->fake_replicas; k++) {
        /* 127.0.0.2: nothing listens there, every port refuses */
        tab_valf(&t, "%d", 1000000 + k);
        tab_val(&t, "127.0.0.2");
        tab_valf(&t, "%d", 1 + k % 60000);
        tab_valf(&t, "%ld", in->server_id);
        if (my)
            tab_val(&t, "");
    }
    tab_send(&t, st->w, st->more);
    return true;
}

/* SHOW MASTER STATUS / SHOW BINARY LOG STATUS (MySQL 8.2+). */
static bool master_status(struct stmt *st, bool new_words)
{
    const struct fleet_inst *in = st->in;
    struct tab t = {.cols = {"File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB"}, .ncols = 4};
    char buf[128];

    if ((in->flavor == FLEET_MYSQL_84 && !new_words) || (in->flavor != FLEET_MYSQL_84 && new_words))
        return false;
    if (is_mysql(in))
        t.cols[t.ncols++] = "Executed_Gtid_Set";
    tab_val(&t, BINLOG_FILE);
    tab_valf(&t, "%ld", 1000 + (long)in->seq * 100);
    tab_val(&t, "");
    tab_val(&t, "");
    if (is_mysql(in))
        tab_val(&t, (mysql_gtid(in, buf, sizeof(buf)), buf));
    tab_send(&t, st->w, st->more);
    return true;
}

static bool binary_logs(struct stmt *st)
{
    struct tab t = {.cols = {"Log_name", "File_size"}, .ncols = 2};

    if (is_mysql(st->in))
        t.cols[t.ncols++] = "Encrypted";
    tab_val(&t, BINLOG_FILE);
    tab_valf(&t, "%ld", 1000 + (long)st->in->seq * 100);
    if (is_mysql(st->in))
        tab_val(&t, "No");
    tab_send(&t, st->w, st->more);
    return true;
}

/* Does name pass "LIKE 'pat'" or "WHERE Variable_name IN ('a','b')"? */
static bool name_matches(const char *name, const char *filter)
{
    const char *p;
    char quoted[128];

    filter = skip_ws(filter);
    if (*filter == '\0')
        return true;
    if (word(filter, "LIKE", &p)) {
        char pat[128];

        snprintf(pat, sizeof(pat), "%.*s", (int)strcspn(p + 1, "'"), p + 1);
        return like(name, pat);
    }
    snprintf(quoted, sizeof(quoted), "'%s'", name);
    return ifind(filter, quoted) != NULL;
}

static const char *const status_names[] = {"Uptime",
                                           "Threads_connected",
                                           "Slaves_connected",
                                           "Rpl_semi_sync_master_status",
                                           "Rpl_semi_sync_master_clients",
                                           "Rpl_semi_sync_slave_status"};
static const char *const variable_names[] = {"hostname",
                                             "port",
                                             "read_only",
                                             "server_id",
                                             "version",
                                             "log_bin",
                                             "binlog_format",
                                             "gtid_strict_mode",
                                             "gtid_mode",
                                             "super_read_only",
                                             "rpl_semi_sync_master_enabled",
                                             "rpl_semi_sync_slave_enabled",
                                             "rpl_semi_sync_master_timeout",
                                             "slave_net_timeout"};

static void status_row(struct stmt *st, const char *name, struct tab *t)
{
    if (strcmp(name, "Uptime") == 0)
        tab_valf(t, "%lld", (long long)((fleet_now_ms() - st->in->started_ms) / 1000 + 1));
    else if (strcmp(name, "Threads_connected") == 0)
        tab_val(t, "1");
    else if (strcmp(name, "Slaves_connected") == 0)
        tab_valf(t, "%d", st->in->nreplicas);
    else
        tab_val(t, strstr(name, "clients") ? "0" : "OFF");
}

/* SHOW [GLOBAL|SESSION] STATUS|VARIABLES [LIKE ...|WHERE ...] */
static bool status_or_variables(struct stmt *st, bool status, const char *filter)
{
    struct tab t = {.cols = {"Variable_name", "Value"}, .ncols = 2};
    const char *const *names = status ? status_names : variable_names;
    size_t n =
        status ? sizeof(status_names) / sizeof(*names) : sizeof(variable_names) / sizeof(*names);

    for (size_t i = 0; i < n; i++) {
        char buf[256];
        const char *v;

        if (!name_matches(names[i], filter))
            continue;
        if (status) {
            if (is_mysql(st->in) && strncmp(names[i], "Rpl_", 4) == 0)
                continue; /* no semi-sync plugin loaded */
            tab_val(&t, names[i]);
            status_row(st, names[i], &t);
            continue;
        }
        v = var_get(st, names[i], buf, sizeof(buf));
        if (v != NULL) {
            tab_val(&t, names[i]);
            tab_val(&t, v);
        }
    }
    tab_send(&t, st->w, st->more);
    return true;
}

bool sql_show(struct stmt *st, const char *rest)
{
    const char *r;

    if (word(rest, "SLAVE", &r) && word(r, "STATUS", NULL))
        return slave_status(st, false);
    if (word(rest, "REPLICA", &r) && word(r, "STATUS", NULL))
        return slave_status(st, is_mysql(st->in));
    if (word(rest, "SLAVE", &r) && word(r, "HOSTS", NULL))
        return slave_hosts(st, false);
    if (word(rest, "REPLICA", &r) && word(r, "HOSTS", NULL) && !is_mysql(st->in))
        return slave_hosts(st, false);
    if (word(rest, "REPLICAS", NULL))
        return slave_hosts(st, true);
    if (word(rest, "MASTER", &r) && word(r, "STATUS", NULL))
        return master_status(st, false);
    if (word(rest, "BINARY", &r) && word(r, "LOG", &r) && word(r, "STATUS", NULL))
        return master_status(st, true);
    if ((word(rest, "BINARY", &r) || word(rest, "MASTER", &r)) && word(r, "LOGS", NULL))
        return binary_logs(st);
    if (!word(rest, "GLOBAL", &r) && !word(rest, "SESSION", &r))
        r = rest;
    if (word(r, "STATUS", &r))
        return status_or_variables(st, true, r);
    if (word(r, "VARIABLES", &r))
        return status_or_variables(st, false, r);
    /* SHOW PROCESSLIST, SHOW DATABASES, ...: an empty set */
    {
        struct tab t = {.cols = {"Value"}, .ncols = 1};

        tab_send(&t, st->w, st->more);
    }
    return true;
}
