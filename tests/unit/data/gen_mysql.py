#!/usr/bin/python3
"""Writes the MySQL / Percona recordings under tests/unit/data/ (test_probe.c reads them).

There is no MySQL server on the build machine, so these result sets are written from the
servers' documented column lists and value formats, one version family at a time:

  mysql-5.7        5.7.44-log: SHOW SLAVE STATUS (Master_*/Slave_* names), SHOW SLAVE HOSTS,
                   semi-sync "master"/"slave" plugins, master.info in a FILE
  mysql-8.0.18     before 8.0.22: old names, Master_public_key_path/Get_master_public_key
  mysql-8.0.36     8.0.22+: SHOW REPLICA STATUS (Source_*/Replica_* names), SHOW REPLICAS,
                   log_replica_updates and the "source"/"replica" semi-sync plugins (8.0.26+)
  mysql-8.4        8.4.3: as 8.0.36, and SHOW BINARY LOG STATUS (SHOW MASTER STATUS is gone)
  percona-8.0      8.0.36-28 Percona Server: MySQL 8.0.36 statements, Percona version_comment

The MariaDB recordings (mariadb-10.11/) come from real servers instead: see
tests/unit/test_probe_live.c (ORC_TEST_PROBE_RECORD).

Run from the repository root: /usr/bin/python3 tests/unit/data/gen_mysql.py
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent

MASTER_UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
REPLICA_UUID = "4d8f0b61-8a2c-11ee-b5a1-0242ac120003"
OLD_UUID = "0c5a2e14-1b7d-11ed-9d6e-0242ac120009"
# Multi-uuid GTID sets: MySQL prints ",\n" between uuids, in variables and in replica status.
EXECUTED = f"{OLD_UUID}:1-57,\n{MASTER_UUID}:1-1234"
PURGED = f"{OLD_UUID}:1-57,\n{MASTER_UUID}:1-200"
REPLICA_EXECUTED = f"{OLD_UUID}:1-57,\n{MASTER_UUID}:1-1230"

OLD_STATUS_COLS = """Slave_IO_State Master_Host Master_User Master_Port Connect_Retry
Master_Log_File Read_Master_Log_Pos Relay_Log_File Relay_Log_Pos Relay_Master_Log_File
Slave_IO_Running Slave_SQL_Running Replicate_Do_DB Replicate_Ignore_DB Replicate_Do_Table
Replicate_Ignore_Table Replicate_Wild_Do_Table Replicate_Wild_Ignore_Table Last_Errno Last_Error
Skip_Counter Exec_Master_Log_Pos Relay_Log_Space Until_Condition Until_Log_File Until_Log_Pos
Master_SSL_Allowed Master_SSL_CA_File Master_SSL_CA_Path Master_SSL_Cert Master_SSL_Cipher
Master_SSL_Key Seconds_Behind_Master Master_SSL_Verify_Server_Cert Last_IO_Errno Last_IO_Error
Last_SQL_Errno Last_SQL_Error Replicate_Ignore_Server_Ids Master_Server_Id Master_UUID
Master_Info_File SQL_Delay SQL_Remaining_Delay Slave_SQL_Running_State Master_Retry_Count
Master_Bind Last_IO_Error_Timestamp Last_SQL_Error_Timestamp Master_SSL_Crl Master_SSL_Crlpath
Retrieved_Gtid_Set Executed_Gtid_Set Auto_Position Replicate_Rewrite_DB Channel_Name
Master_TLS_Version""".split()

OLD_80_EXTRA = ["Master_public_key_path", "Get_master_public_key"]

NEW_STATUS_COLS = """Replica_IO_State Source_Host Source_User Source_Port Connect_Retry
Source_Log_File Read_Source_Log_Pos Relay_Log_File Relay_Log_Pos Relay_Source_Log_File
Replica_IO_Running Replica_SQL_Running Replicate_Do_DB Replicate_Ignore_DB Replicate_Do_Table
Replicate_Ignore_Table Replicate_Wild_Do_Table Replicate_Wild_Ignore_Table Last_Errno Last_Error
Skip_Counter Exec_Source_Log_Pos Relay_Log_Space Until_Condition Until_Log_File Until_Log_Pos
Source_SSL_Allowed Source_SSL_CA_File Source_SSL_CA_Path Source_SSL_Cert Source_SSL_Cipher
Source_SSL_Key Seconds_Behind_Source Source_SSL_Verify_Server_Cert Last_IO_Errno Last_IO_Error
Last_SQL_Errno Last_SQL_Error Replicate_Ignore_Server_Ids Source_Server_Id Source_UUID
Source_Info_File SQL_Delay SQL_Remaining_Delay Replica_SQL_Running_State Source_Retry_Count
Source_Bind Last_IO_Error_Timestamp Last_SQL_Error_Timestamp Source_SSL_Crl Source_SSL_Crlpath
Retrieved_Gtid_Set Executed_Gtid_Set Auto_Position Replicate_Rewrite_DB Channel_Name
Source_TLS_Version Source_public_key_path Get_Source_public_key Network_Namespace""".split()

# Old name -> new name, so one description of a row serves both namings.
RENAME = dict(zip(OLD_STATUS_COLS + OLD_80_EXTRA + ["Network_Namespace"],
                  NEW_STATUS_COLS[:len(OLD_STATUS_COLS)] +
                  ["Source_public_key_path", "Get_Source_public_key", "Network_Namespace"]))

FLAVORS = {
    "mysql-5.7": dict(version="5.7.44-log", comment="MySQL Community Server (GPL)",
                      naming="old", extra=[], words="master", semi="master",
                      info_file="/var/lib/mysql/master.info", mts=False,
                      status_sql="SHOW SLAVE STATUS", hosts_sql="SHOW SLAVE HOSTS",
                      binlog_sql="SHOW MASTER STATUS"),
    "mysql-8.0.18": dict(version="8.0.18", comment="MySQL Community Server - GPL",
                         naming="old", extra=OLD_80_EXTRA, words="master", semi=None,
                         info_file="mysql.slave_master_info", mts=False,
                         status_sql="SHOW SLAVE STATUS", hosts_sql="SHOW SLAVE HOSTS",
                         binlog_sql="SHOW MASTER STATUS"),
    "mysql-8.0.36": dict(version="8.0.36", comment="MySQL Community Server - GPL",
                         naming="new", extra=[], words="source", semi="source",
                         info_file="mysql.slave_master_info", mts=True,
                         status_sql="SHOW REPLICA STATUS", hosts_sql="SHOW REPLICAS",
                         binlog_sql="SHOW MASTER STATUS"),
    "mysql-8.4": dict(version="8.4.3", comment="MySQL Community Server - GPL",
                      naming="new", extra=[], words="source", semi="source",
                      info_file="mysql.slave_master_info", mts=True,
                      status_sql="SHOW REPLICA STATUS", hosts_sql="SHOW REPLICAS",
                      binlog_sql="SHOW BINARY LOG STATUS"),
    "percona-8.0": dict(version="8.0.36-28",
                        comment="Percona Server (GPL), Release 28, Revision 47601f19",
                        naming="new", extra=[], words="source", semi=None,
                        info_file="mysql.slave_master_info", mts=True,
                        status_sql="SHOW REPLICA STATUS", hosts_sql="SHOW REPLICAS",
                        binlog_sql="SHOW MASTER STATUS"),
}


def slug(sql):
    return sql.lower().replace(" ", "_")


def esc(v):
    if v is None:
        return "\\N"
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def write(path, sql, rows, columns=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [f"# {sql}", "# written by gen_mysql.py from the server's documented output"]
    if not rows:
        out.append("columns: " + ",".join(columns or []))
    for i, row in enumerate(rows, 1):
        out.append(f"*** {i}. row")
        out += [f"{k}: {esc(v)}" for k, v in row]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def variables(f, role):
    replica = role != "master"
    return [("hostname", "db2" if replica else "db1"),
            ("report_host", ""),
            ("server_id", "102" if replica else "101"),
            ("version", f["version"]),
            ("version_comment", f["comment"]),
            ("read_only", "1" if replica else "0"),
            ("binlog_format", "ROW"),
            ("log_bin", "1"),
            ("log_replica_updates", "1"),
            ("binlog_row_image", "MINIMAL" if replica else "FULL"),
            ("super_read_only", "1" if replica else "0"),
            ("gtid_mode", "ON"),
            ("server_uuid", REPLICA_UUID if replica else MASTER_UUID),
            ("gtid_executed", REPLICA_EXECUTED if replica else EXECUTED),
            ("gtid_purged", PURGED)]


def replica_row(f, case):
    """One replica status row in the old naming; renamed below for 8.0.22+."""
    new = f["words"] == "source"
    src = "source" if new else "master"
    running = case == "replica"
    io = {"replica": "Yes", "replica-sql-error": "Yes", "replica-io-connecting": "Connecting"}[case]
    sql = "No" if case == "replica-sql-error" else "Yes"
    io_state = {"Yes": f"Waiting for {src} to send event",
                "Connecting": f"Connecting to {src}"}[io]
    if new:
        waiting = "Replica has read all relay log; waiting for more updates"
    else:
        waiting = "Slave has read all relay log; waiting for more updates"
    err_sql, err_sql_text, err_ts = "0", "", ""
    if case == "replica-sql-error":
        err_sql = "1062"
        if f["mts"]:
            err_sql_text = (f"Coordinator stopped because there were error(s) in the worker(s). "
                            f"The most recent failure being: Worker 1 failed executing transaction "
                            f"'{MASTER_UUID}:1231' at {src} log mysql-bin.000003, end_log_pos "
                            f"40215. See error log and/or performance_schema."
                            f"replication_applier_status_by_worker table for more details about "
                            f"this failure or others, if any.")
        else:
            err_sql_text = ("Could not execute Write_rows event on table app.orders; Duplicate "
                            "entry '5' for key 'PRIMARY', Error_code: 1062; handler error "
                            "HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000003, "
                            "end_log_pos 40215")
        err_ts = "240105 10:12:41"
    err_io, err_io_text, io_ts = "0", "", ""
    if case == "replica-io-connecting":
        err_io = "2003"
        if new:
            err_io_text = ("error connecting to source 'repl@db1.dc1.example.com:3306' - "
                           "retry-time: 60 retries: 3 message: Can't connect to MySQL server on "
                           "'db1.dc1.example.com:3306' (111)")
        else:
            err_io_text = ("error connecting to master 'repl@db1.dc1.example.com:3306' - "
                           "retry-time: 60  retries: 3")
        io_ts = "240105 10:12:44"
    exec_pos = "40100" if case == "replica-sql-error" else "40215"
    row = [("Slave_IO_State", io_state), ("Master_Host", "db1.dc1.example.com"),
           ("Master_User", "repl"), ("Master_Port", "3306"), ("Connect_Retry", "60"),
           ("Master_Log_File", "mysql-bin.000003"), ("Read_Master_Log_Pos", "40215"),
           ("Relay_Log_File", "db2-relay-bin.000007"), ("Relay_Log_Pos", "1850"),
           ("Relay_Master_Log_File", "mysql-bin.000003"), ("Slave_IO_Running", io),
           ("Slave_SQL_Running", sql), ("Replicate_Do_DB", ""), ("Replicate_Ignore_DB", ""),
           ("Replicate_Do_Table", ""), ("Replicate_Ignore_Table", ""),
           ("Replicate_Wild_Do_Table", ""), ("Replicate_Wild_Ignore_Table", ""),
           ("Last_Errno", err_sql), ("Last_Error", err_sql_text), ("Skip_Counter", "0"),
           ("Exec_Master_Log_Pos", exec_pos), ("Relay_Log_Space", "2312"),
           ("Until_Condition", "None"), ("Until_Log_File", ""), ("Until_Log_Pos", "0"),
           ("Master_SSL_Allowed", "No"), ("Master_SSL_CA_File", ""), ("Master_SSL_CA_Path", ""),
           ("Master_SSL_Cert", ""), ("Master_SSL_Cipher", ""), ("Master_SSL_Key", ""),
           ("Seconds_Behind_Master", "3" if running else None),
           ("Master_SSL_Verify_Server_Cert", "No"), ("Last_IO_Errno", err_io),
           ("Last_IO_Error", err_io_text), ("Last_SQL_Errno", err_sql),
           ("Last_SQL_Error", err_sql_text), ("Replicate_Ignore_Server_Ids", ""),
           ("Master_Server_Id", "101"), ("Master_UUID", MASTER_UUID),
           ("Master_Info_File", f["info_file"]), ("SQL_Delay", "0"),
           ("SQL_Remaining_Delay", None),
           ("Slave_SQL_Running_State", "" if sql == "No" else waiting),
           ("Master_Retry_Count", "86400"), ("Master_Bind", ""),
           ("Last_IO_Error_Timestamp", io_ts), ("Last_SQL_Error_Timestamp", err_ts),
           ("Master_SSL_Crl", ""), ("Master_SSL_Crlpath", ""),
           ("Retrieved_Gtid_Set", f"{MASTER_UUID}:1150-1234"),
           ("Executed_Gtid_Set", REPLICA_EXECUTED), ("Auto_Position", "1"),
           ("Replicate_Rewrite_DB", ""), ("Channel_Name", ""), ("Master_TLS_Version", "")]
    row += [(c, "" if c.endswith("path") else "0") for c in f["extra"]]
    if f["naming"] == "new":
        row += [("Master_public_key_path", ""), ("Get_master_public_key", "0"),
                ("Network_Namespace", "")]
        row = [(RENAME[k], v) for k, v in row]
    return row


def hosts_rows(f):
    new = f["naming"] == "new"
    rows = []
    for sid, host, uuid in (("102", "db2.dc1.example.com", REPLICA_UUID),
                            ("103", "", "5e6f7a8b-8a2c-11ee-b5a1-0242ac120004"),
                            ("104", "db4.dc2.example.com", "6f7a8b9c-8a2c-11ee-b5a1-0242ac120005")):
        # A replica started without report_host shows an empty Host: skipped by the probe.
        rows.append([("Server_Id" if new else "Server_id", sid), ("Host", host), ("Port", "3306"),
                     ("Source_Id" if new else "Master_id", "101"),
                     ("Replica_UUID" if new else "Slave_UUID", uuid)])
    return rows


def semi_sync_vars(f):
    if f["semi"] == "master":
        return [("rpl_semi_sync_master_enabled", "ON"), ("rpl_semi_sync_master_timeout", "10000"),
                ("rpl_semi_sync_master_trace_level", "32"),
                ("rpl_semi_sync_master_wait_for_slave_count", "1"),
                ("rpl_semi_sync_master_wait_no_slave", "ON"),
                ("rpl_semi_sync_master_wait_point", "AFTER_SYNC"),
                ("rpl_semi_sync_slave_enabled", "OFF"), ("rpl_semi_sync_slave_trace_level", "32")]
    if f["semi"] == "source":
        return [("rpl_semi_sync_replica_enabled", "OFF"),
                ("rpl_semi_sync_replica_trace_level", "32"),
                ("rpl_semi_sync_source_enabled", "ON"), ("rpl_semi_sync_source_timeout", "2500"),
                ("rpl_semi_sync_source_trace_level", "32"),
                ("rpl_semi_sync_source_wait_for_replica_count", "2"),
                ("rpl_semi_sync_source_wait_no_replica", "ON"),
                ("rpl_semi_sync_source_wait_point", "AFTER_SYNC")]
    return []


def status_rows(f, role):
    rows = []
    if f["semi"]:
        w = f["semi"]
        r = "slave" if w == "master" else "replica"
        rows += [(f"Rpl_semi_sync_{w}_clients", "0" if role != "master" else "2"),
                 (f"Rpl_semi_sync_{w}_status", "OFF" if role != "master" else "ON"),
                 (f"Rpl_semi_sync_{r}_status", "OFF")]
    rows.append(("Uptime", "86399" if role == "master" else "3600"))
    return rows


def name_value(rows):
    return [[("Variable_name", n), ("Value", v)] for n, v in rows]


def gen(name, f):
    base = ROOT / name
    write(base / "common" / "version.txt",
          "SELECT @@global.version AS version, @@global.version_comment AS version_comment",
          [[("version", f["version"]), ("version_comment", f["comment"])]])
    write(base / "common" / "semi_sync_variables.txt",
          "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'", name_value(semi_sync_vars(f)),
          ["Variable_name", "Value"])
    write(base / "common" / "processlist.txt",
          "SELECT SUBSTRING_INDEX(host, ':', 1) AS host FROM information_schema.processlist ...",
          [], ["host"])
    for case in ("master", "replica", "replica-sql-error", "replica-io-connecting"):
        d = base / case
        role = "master" if case == "master" else "replica"
        write(d / "variables.txt", "SELECT @@global.hostname AS hostname, ...",
              [variables(f, role)])
        write(d / "global_status.txt", "SHOW GLOBAL STATUS WHERE Variable_name IN (...)",
              name_value(status_rows(f, role)), ["Variable_name", "Value"])
        cols = [RENAME.get(c, c) if f["naming"] == "new" else c
                for c in OLD_STATUS_COLS + f["extra"]]
        write(d / (slug(f["status_sql"]) + ".txt"), f["status_sql"],
              [] if role == "master" else [replica_row(f, case)], cols)
        write(d / (slug(f["binlog_sql"]) + ".txt"), f["binlog_sql"],
              [[("File", "mysql-bin.000003" if role == "master" else "mysql-bin.000002"),
                ("Position", "40215" if role == "master" else "9876"), ("Binlog_Do_DB", ""),
                ("Binlog_Ignore_DB", ""),
                ("Executed_Gtid_Set", EXECUTED if role == "master" else REPLICA_EXECUTED)]])
        write(d / (slug(f["hosts_sql"]) + ".txt"), f["hosts_sql"],
              hosts_rows(f) if role == "master" else [],
              ["Server_Id", "Host", "Port", "Source_Id", "Replica_UUID"]
              if f["naming"] == "new" else ["Server_id", "Host", "Port", "Master_id", "Slave_UUID"])


def main():
    for name, f in FLAVORS.items():
        gen(name, f)


if __name__ == "__main__":
    main()
