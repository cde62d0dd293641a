"""Replication control on real MariaDB topologies: skip-query, detach/reattach, reset-replica,
restart-replica, stop-replica-nice, delay-replication, restart-replica-statements,
can-replicate-from, flush/purge-binary-logs, enable/disable-gtid, kill-query, and the graceful
takeover without ReplicationCredentialsQuery.

Every outcome is checked on the servers themselves (SHOW SLAVE STATUS, a row written on the
master) as well as in the API's answer and the audit log.
"""
import threading
import time

import pymysql

from orctest import wait_until

from test_planned import call, hp, key_of, master_port, ok, refused, running, start

TABLE = "test.replctl"


def audit_types(orc):
    status, body = call(orc, "audit")
    assert status == 200, body
    return [a["AuditType"] for a in body]


def slave_field(sb, name, field):
    st = sb.slave_status(name)
    return st[field] if st else None


def test_skip_query_after_duplicate_key(orc_factory, star4):
    sb = star4
    orc, _ = start(orc_factory, sb)
    sb.sql("i1", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT PRIMARY KEY)")
    sb.wait_replicating()
    # a row only i2 has: the master's insert of the same key breaks i2's SQL thread
    conn = sb.connect("i2")
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute(f"INSERT INTO {TABLE} VALUES (1)")
    finally:
        conn.close()
    sb.sql("i1", f"INSERT INTO {TABLE} VALUES (1)")
    wait_until(lambda: slave_field(sb, "i2", "Slave_SQL_Running") == "No", 10,
               what="i2's SQL thread stopped on the duplicate key")
    assert int(slave_field(sb, "i2", "Last_SQL_Errno")) == 1062

    # refusals: a healthy replica, and the master
    refused(orc, f"skip-query/{hp(sb, 'i3')}", 409, "SQL thread is running")
    refused(orc, f"skip-query/{hp(sb, 'i1')}", 409, "not a replica")

    body = ok(orc, f"skip-query/{hp(sb, 'i2')}")
    assert body["Message"] == f"Query skipped on {sb.key('i2')}"
    assert body["Details"]["Key"] == key_of(sb, "i2")
    wait_until(lambda: running(sb, "i2"), 10, what="i2 replicating again")
    assert int(slave_field(sb, "i2", "Last_SQL_Errno")) == 0
    sb.sql("i1", f"INSERT INTO {TABLE} VALUES (2)")
    wait_until(lambda: sb.sql_value("i2", f"SELECT COUNT(*) FROM {TABLE} WHERE id = 2") == 1,
               10, what="row 2 on i2")
    assert "skip-query" in audit_types(orc)


def test_detach_reattach_and_reset_replica(orc_factory, star4):
    sb = star4
    orc, _ = start(orc_factory, sb)

    body = ok(orc, f"detach-replica-master-host/{hp(sb, 'i3')}")
    assert body["Message"] == f"Replica detached: {sb.key('i3')}"
    assert slave_field(sb, "i3", "Master_Host") == "//127.0.0.1"
    assert int(slave_field(sb, "i3", "Master_Port")) == sb.port("i1")
    assert body["Details"]["MasterKey"] == {"Hostname": "//127.0.0.1", "Port": sb.port("i1")}
    assert body["Details"]["IsDetachedMaster"] is True
    refused(orc, f"detach-replica/{hp(sb, 'i3')}", 409, "already detached")
    refused(orc, f"reattach-replica/{hp(sb, 'i4')}", 409, "does not seem to be detached")
    # as orchestrator, detaching holds maintenance: an instance under maintenance is refused
    ok(orc, f"begin-maintenance/{hp(sb, 'i4')}/me/testing")
    refused(orc, f"detach-replica/{hp(sb, 'i4')}", 409, "under maintenance")
    assert slave_field(sb, "i4", "Master_Host") == "127.0.0.1"
    ok(orc, f"end-maintenance/{hp(sb, 'i4')}")

    # the CLI's synonym, as orchestrator-client prints it: the key
    p = orc.cli("reattach-replica", "-i", sb.key("i3"))
    assert p.returncode == 0 and p.stdout.strip() == sb.key("i3"), (p.stdout, p.stderr)
    assert slave_field(sb, "i3", "Master_Host") == "127.0.0.1"
    assert master_port(sb, "i3") == sb.port("i1")
    wait_until(lambda: running(sb, "i3"), 10, what="i3 replicating from i1 again")
    sb.sql("i1", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT PRIMARY KEY)")
    sb.sql("i1", f"INSERT INTO {TABLE} VALUES (10)")
    wait_until(lambda: sb.sql_value("i3", f"SELECT COUNT(*) FROM {TABLE} WHERE id = 10") == 1,
               10, what="row 10 on i3 after reattach")
    assert audit_types(orc).count("repoint") >= 2

    body = ok(orc, f"reset-replica/{hp(sb, 'i4')}")
    assert body["Message"] == f"Replica reset on {sb.key('i4')}"
    assert sb.slave_status("i4") is None  # RESET SLAVE ALL: no replication configured
    assert body["Details"]["MasterKey"]["Hostname"] == ""
    assert "reset-slave" in audit_types(orc)
    refused(orc, f"reset-replica/{hp(sb, 'i4')}", 409, "not a replica")


def test_delay_replication_and_can_replicate_from(orc_factory, star4):
    sb = star4
    orc, _ = start(orc_factory, sb, ReasonableMaintenanceReplicationLagSeconds=20)

    def can(a, b, gtid=False):
        body = ok(orc, f"can-replicate-from{'-gtid' if gtid else ''}/{hp(sb, a)}/{hp(sb, b)}")
        assert body["Details"] == key_of(sb, b)
        return body["Message"], body.get("Reason", "")

    assert can("i2", "i3") == ("true", "")
    assert can("i2", "i3", gtid=True) == ("true", "")
    p = orc.cli("can-replicate-from", "-i", sb.key("i2"), "-d", sb.key("i3"))
    assert p.returncode == 0 and p.stdout.strip() == sb.key("i3"), (p.stdout, p.stderr)
    assert can("i3", "i1")[0] == "true"
    msg, why = can("i2", "i2")
    assert msg == "false" and "itself" in why

    body = ok(orc, f"delay-replication/{hp(sb, 'i3')}/3600")
    assert body["Message"] == f"Replication delayed: {sb.key('i3')}"
    assert body["Details"] == 3600
    assert int(slave_field(sb, "i3", "SQL_Delay")) == 3600
    wait_until(lambda: running(sb, "i3"), 10, what="i3 replicating (threads' state kept)")
    # a delayed server is no master for an undelayed replica
    msg, why = can("i2", "i3")
    assert msg == "false" and "SQL_Delay" in why, why
    p = orc.cli("can-replicate-from", "-i", sb.key("i2"), "-d", sb.key("i3"))
    assert p.returncode == 0 and p.stdout.strip() == "", (p.stdout, p.stderr)
    assert can("i3", "i2")[0] == "true"

    # stopped threads stay stopped
    ok(orc, f"stop-replica/{hp(sb, 'i3')}")
    p = orc.cli("delay-replication", "-i", sb.key("i3"), "--seconds", "0")
    assert p.returncode == 0 and p.stdout.strip() == "0", (p.stdout, p.stderr)
    assert int(slave_field(sb, "i3", "SQL_Delay")) == 0
    assert slave_field(sb, "i3", "Slave_SQL_Running") == "No"
    assert slave_field(sb, "i3", "Slave_IO_Running") == "No"
    body = ok(orc, f"restart-replica-statements/{hp(sb, 'i3')}?q=SET+GLOBAL+x%3D1")
    assert body["Details"] == ["SET GLOBAL x=1;"]
    ok(orc, f"restart-replica/{hp(sb, 'i3')}")
    wait_until(lambda: running(sb, "i3"), 10, what="i3 replicating after restart-replica")
    body = ok(orc, f"restart-replica-statements/{hp(sb, 'i3')}?q=SET+GLOBAL+x%3D1")
    assert body["Details"] == ["STOP SLAVE IO_THREAD;", "STOP SLAVE SQL_THREAD;",
                               "SET GLOBAL x=1;", "START SLAVE SQL_THREAD;",
                               "START SLAVE IO_THREAD;"]
    p = orc.cli("restart-replica-statements", "-i", sb.key("i3"), "-q", "SET GLOBAL x=1")
    # orchestrator-client echoes the Details JSON on one line
    assert p.returncode == 0 and '"STOP SLAVE IO_THREAD;", "STOP SLAVE SQL_THREAD;", ' \
        '"SET GLOBAL x=1;"' in p.stdout, p.stdout
    assert can("i2", "i3") == ("true", "")
    refused(orc, f"delay-replication/{hp(sb, 'i3')}/-5", 400, "invalid seconds")
    types = audit_types(orc)
    assert types.count("delay-replication") == 2 and "restart-replica" in types


def test_stop_nicely_binary_logs_gtid_and_kill(orc_factory, star4):
    sb = star4
    orc, _ = start(orc_factory, sb)
    sb.sql("i1", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT PRIMARY KEY)")
    sb.wait_replicating()

    body = ok(orc, f"stop-replica-nice/{hp(sb, 'i2')}")
    assert body["Message"] == f"Replica stopped nicely: {sb.key('i2')}"
    st = sb.slave_status("i2")
    assert st["Slave_IO_Running"] == "No" and st["Slave_SQL_Running"] == "No"
    assert (st["Relay_Master_Log_File"], st["Exec_Master_Log_Pos"]) == \
        (st["Master_Log_File"], st["Read_Master_Log_Pos"])  # relay log applied
    ok(orc, f"start-replica/{hp(sb, 'i2')}")

    before = sb.sql_value("i1", "SHOW MASTER STATUS")
    body = ok(orc, f"flush-binary-logs/{hp(sb, 'i1')}")
    after = sb.sql_value("i1", "SHOW MASTER STATUS")
    assert after != before and int(after.rsplit(".", 1)[1]) == int(before.rsplit(".", 1)[1]) + 1
    sb.sql("i1", f"INSERT INTO {TABLE} VALUES (20)")
    sb.wait_replicating()
    # purging up to the current log is safe once every replica executed past its start
    wait_until(lambda: all(slave_field(sb, n, "Relay_Master_Log_File") == after
                           for n in sb.replicas), 10, what="replicas in the new binary log")
    ok(orc, f"purge-binary-logs/{hp(sb, 'i1')}/latest")
    logs = [r[0] for r in sb.sql("i1", "SHOW BINARY LOGS")]
    assert logs == [after], logs
    refused(orc, f"purge-binary-logs/{hp(sb, 'i1')}/x';DROP", 400, "expected log file name")

    # GTID off and on again, replication running all along
    body = ok(orc, f"disable-gtid/{hp(sb, 'i4')}")
    assert slave_field(sb, "i4", "Using_Gtid") == "No"
    refused(orc, f"disable-gtid/{hp(sb, 'i4')}", 409, "not using GTID")
    sb.sql("i1", f"INSERT INTO {TABLE} VALUES (21)")
    wait_until(lambda: sb.sql_value("i4", f"SELECT COUNT(*) FROM {TABLE} WHERE id = 21") == 1,
               10, what="row 21 on i4 with file:pos")
    ok(orc, f"enable-gtid/{hp(sb, 'i4')}")
    assert slave_field(sb, "i4", "Using_Gtid") == "Slave_Pos"
    sb.sql("i1", f"INSERT INTO {TABLE} VALUES (22)")
    wait_until(lambda: sb.sql_value("i4", f"SELECT COUNT(*) FROM {TABLE} WHERE id = 22") == 1,
               10, what="row 22 on i4 with GTID")

    # kill-query: a long SLEEP on i3 is interrupted
    conn = sb.connect("i3")
    result = {}

    def sleeper():
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT SLEEP(30)")
                result["v"] = cur.fetchone()[0]
        except pymysql.err.OperationalError as exc:
            result["v"] = exc.args[0]
    t = threading.Thread(target=sleeper)
    t.start()
    try:
        def sleeping_id():
            rows = sb.sql("i3", "SELECT ID FROM information_schema.PROCESSLIST "
                                "WHERE INFO = 'SELECT SLEEP(30)'")
            return rows[0][0] if rows else None
        wait_until(lambda: sleeping_id() is not None, 10, what="the SLEEP running")
        t0 = time.monotonic()
        body = ok(orc, f"kill-query/{hp(sb, 'i3')}/{sleeping_id()}")
        assert body["Message"] == f"Query killed on : {sb.key('i3')}"
        t.join(10)
        # interrupted: MariaDB answers 1317 (Query execution was interrupted)
        assert not t.is_alive() and result["v"] in (1, 1317) and time.monotonic() - t0 < 10
    finally:
        t.join(35)
        conn.close()


def test_graceful_takeover_without_credentials_query(orc_factory, star4):
    sb = star4
    orc, cluster = start(orc_factory, sb, ReplicationCredentialsQuery=None)
    repl_user = slave_field(sb, "i2", "Master_User")
    assert repl_user

    body = ok(orc, f"graceful-master-takeover/{cluster}/{hp(sb, 'i2')}")
    assert body["Details"]["SuccessorKey"] == key_of(sb, "i2")
    assert body["Details"]["IsSuccessful"] is True
    assert "left stopped" in body["Message"] and "ReplicationCredentialsQuery" in body["Message"]
    # the new master takes writes, its siblings follow it
    assert sb.sql_value("i2", "SELECT @@read_only") == 0
    for n in ("i3", "i4"):
        assert master_port(sb, n) == sb.port("i2")
    wait_until(lambda: running(sb, "i3") and running(sb, "i4"), 10, what="siblings replicating")
    # the old master points at the new one with the replicas' user, and is left stopped
    st = sb.slave_status("i1")
    assert int(st["Master_Port"]) == sb.port("i2") and st["Master_Host"] == "127.0.0.1"
    assert st["Master_User"] == repl_user
    assert st["Slave_IO_Running"] == "No" and st["Slave_SQL_Running"] == "No"
    assert st["Using_Gtid"] == "Slave_Pos"
    assert sb.sql_value("i1", "SELECT @@read_only") == 1
    # the operator gives it the password and it replicates
    _, password = sb.credentials("repl")
    sb.sql("i1", "CHANGE MASTER TO MASTER_PASSWORD=%s", (password,))
    sb.sql("i1", "START SLAVE")
    sb.sql("i2", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT PRIMARY KEY)")
    sb.sql("i2", f"INSERT INTO {TABLE} VALUES (30)")
    wait_until(lambda: sb.sql_value("i1", f"SELECT COUNT(*) FROM {TABLE} WHERE id = 30") == 1,
               15, what="row 30 on the old master")
