"""Planned topology operations on real MariaDB topologies: move-up, move-below, repoint,
relocate, take-master, stop/start-replica, read_only, graceful-master-takeover(-auto), their
refusals, and the CLI forms.

Every check of the outcome reads the servers themselves (SHOW SLAVE STATUS, @@read_only, a row
written on the master) and the API's answer, which must already show the change.
"""
import pytest

from orctest import wait_until

MARK = "planned_test"


def hp(sb, name):
    """'127.0.0.1/PORT': the two path segments of an instance."""
    return f"127.0.0.1/{sb.port(name)}"


def call(orc, path):
    resp = orc.get("/api/" + path, timeout=60)
    return resp.status_code, resp.json()


def ok(orc, path):
    status, body = call(orc, path)
    assert status == 200 and body.get("Code") == "OK", f"{path}: {status} {body}"
    return body


def refused(orc, path, status, *words):
    got, body = call(orc, path)
    assert got == status, f"{path}: expected {status}, got {got} {body}"
    assert body["Code"] == "ERROR", body
    for w in words:
        assert w in body["Message"], body["Message"]
    return body["Message"]


def master_port(sb, name):
    st = sb.slave_status(name)
    return int(st["Master_Port"]) if st and st["Master_Host"] else None


def running(sb, name):
    st = sb.slave_status(name)
    return bool(st) and st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes"


def key_of(sb, name):
    return {"Hostname": "127.0.0.1", "Port": sb.port(name)}


def start(orc_factory, sb, **config):
    """An orchestrator that knows every instance of the sandbox; returns (orc, cluster)."""
    user, password = sb.credentials("repl")
    cfg = {"ReplicationCredentialsQuery": f"SELECT '{user}', '{password}', '', '', ''"}
    cfg.update(config)
    orc = orc_factory(sb, **cfg)
    ok(orc, f"discover/{hp(sb, sb.master)}")
    ports = {sb.port(n) for n in sb.names}

    def all_known():
        status, body = call(orc, f"cluster/{sb.key(sb.master)}")
        if status != 200:
            return False
        seen = {i["Key"]["Port"] for i in body if i["IsLastCheckValid"]}
        return seen == ports
    wait_until(all_known, 15, what="every sandbox instance discovered")
    return orc, sb.key(sb.master)


def write_row(sb, name, value):
    sb.sql(name, f"CREATE TABLE IF NOT EXISTS test.{MARK} (v VARCHAR(64) PRIMARY KEY)")
    sb.sql(name, f"INSERT INTO test.{MARK} VALUES (%s)", (value,))


def row_reaches(sb, names, value, timeout=10):
    for n in names:
        wait_until(lambda n=n: sb.sql_value(
            n, f"SELECT COUNT(*) FROM test.{MARK} WHERE v = %s", (value,)) == 1,
            timeout, what=f"row {value!r} on {n}")


def instance(orc, sb, name):
    status, body = call(orc, f"instance/{hp(sb, name)}")
    assert status == 200, body
    return body


# ---- relocations -----------------------------------------------------------------------


def test_move_up_leaf_of_chain_then_repoint_back(orc_factory, chain4):
    sb = chain4
    orc, _ = start(orc_factory, sb)
    assert master_port(sb, "i3") == sb.port("i2")

    body = ok(orc, f"move-up/{hp(sb, 'i3')}")
    assert body["Message"] == f"Instance {sb.key('i3')} moved up below {sb.key('i1')}"
    assert body["Details"]["Key"] == key_of(sb, "i3")
    assert body["Details"]["MasterKey"] == key_of(sb, "i1")  # the answer is already fresh
    assert master_port(sb, "i3") == sb.port("i1")
    wait_until(lambda: running(sb, "i3"), 10, what="i3 replicating from i1")
    assert instance(orc, sb, "i3")["MasterKey"] == key_of(sb, "i1")
    write_row(sb, "i1", "after-move-up")
    row_reaches(sb, ["i3"], "after-move-up")

    body = ok(orc, f"repoint/{hp(sb, 'i3')}/{hp(sb, 'i2')}")
    assert body["Message"] == f"Instance {sb.key('i3')} repointed below {sb.key('i2')}"
    assert body["Details"]["MasterKey"] == key_of(sb, "i2")
    assert master_port(sb, "i3") == sb.port("i2")
    write_row(sb, "i1", "after-repoint")
    row_reaches(sb, ["i3", "i4"], "after-repoint")
    status, audit = call(orc, "audit")
    assert status == 200 and any(a["AuditType"] == "move-up" for a in audit), audit


def test_move_below_sibling_on_star_and_relocate_back(orc_factory, star4):
    sb = star4
    orc, _ = start(orc_factory, sb)

    body = ok(orc, f"move-below/{hp(sb, 'i3')}/{hp(sb, 'i2')}")
    assert body["Message"] == f"Instance {sb.key('i3')} moved below {sb.key('i2')}"
    assert body["Details"]["MasterKey"] == key_of(sb, "i2")
    assert master_port(sb, "i3") == sb.port("i2")
    wait_until(lambda: running(sb, "i3"), 10, what="i3 replicating from i2")
    write_row(sb, "i1", "below-sibling")
    row_reaches(sb, ["i2", "i3", "i4"], "below-sibling")

    body = ok(orc, f"relocate/{hp(sb, 'i3')}/{hp(sb, 'i1')}")
    assert body["Details"]["MasterKey"] == key_of(sb, "i1")
    assert master_port(sb, "i3") == sb.port("i1")
    # the GTID route names orchestrator-client and orchestrator use
    body = ok(orc, f"move-gtid/{hp(sb, 'i4')}/{hp(sb, 'i3')}")
    assert body["Details"]["MasterKey"] == key_of(sb, "i3")
    body = ok(orc, f"move-below-gtid/{hp(sb, 'i4')}/{hp(sb, 'i1')}")
    assert body["Details"]["MasterKey"] == key_of(sb, "i1")
    # a plain repoint (no destination) re-points at the current master
    body = ok(orc, f"repoint/{hp(sb, 'i4')}")
    assert body["Details"]["MasterKey"] == key_of(sb, "i1")
    wait_until(lambda: running(sb, "i4"), 10, what="i4 replicating again")


def test_take_master_swaps_instance_and_its_master(orc_factory, chain4):
    sb = chain4
    orc, _ = start(orc_factory, sb)

    body = ok(orc, f"take-master/{hp(sb, 'i3')}")
    assert body["Details"]["Key"] == key_of(sb, "i3")
    assert body["Details"]["MasterKey"] == key_of(sb, "i1")
    assert master_port(sb, "i3") == sb.port("i1")
    assert master_port(sb, "i2") == sb.port("i3")
    assert master_port(sb, "i4") == sb.port("i2")  # untouched
    assert instance(orc, sb, "i2")["MasterKey"] == key_of(sb, "i3")
    wait_until(lambda: running(sb, "i2") and running(sb, "i3"), 10, what="both replicating")
    write_row(sb, "i1", "after-take-master")
    row_reaches(sb, ["i3", "i2", "i4"], "after-take-master")
    # i2 re-applied nothing it already had: no duplicate-key stop
    assert running(sb, "i2") and not sb.slave_status("i2")["Last_SQL_Error"]


def test_stop_start_replica_and_read_only(orc_factory, star4):
    sb = star4
    orc, _ = start(orc_factory, sb)

    body = ok(orc, f"stop-replica/{hp(sb, 'i2')}")
    assert body["Message"] == f"Replica stopped: {sb.key('i2')}"
    assert body["Details"]["ReplicationSQLThreadState"] == 0
    st = sb.slave_status("i2")
    assert st["Slave_IO_Running"] == "No" and st["Slave_SQL_Running"] == "No"

    body = ok(orc, f"start-slave/{hp(sb, 'i2')}")  # the legacy name
    assert body["Message"] == f"Replica started: {sb.key('i2')}"
    assert body["Details"]["ReplicationSQLThreadState"] == 1
    wait_until(lambda: running(sb, "i2"), 10, what="i2 replicating")

    assert sb.sql_value("i2", "SELECT @@read_only") == 1
    body = ok(orc, f"set-writeable/{hp(sb, 'i2')}")
    assert body["Details"]["ReadOnly"] is False
    assert sb.sql_value("i2", "SELECT @@read_only") == 0
    body = ok(orc, f"set-read-only/{hp(sb, 'i2')}")
    assert body["Details"]["ReadOnly"] is True
    assert sb.sql_value("i2", "SELECT @@read_only") == 1

    refused(orc, f"stop-replica/{hp(sb, 'i1')}", 409, "is not a replica")


# ---- refusals --------------------------------------------------------------------------


def test_refusals_on_chain_change_nothing(orc_factory, chain4):
    sb = chain4
    orc, _ = start(orc_factory, sb)
    before = {n: master_port(sb, n) for n in sb.names}

    refused(orc, f"move-below/{hp(sb, 'i3')}/{hp(sb, 'i3')}", 400, "below itself")
    refused(orc, f"relocate/{hp(sb, 'i2')}/{hp(sb, 'i3')}", 400, "loop")
    refused(orc, f"repoint/{hp(sb, 'i2')}/{hp(sb, 'i4')}", 400, "loop")
    refused(orc, f"move-up/{hp(sb, 'i2')}", 409, "is not a replica itself")
    refused(orc, f"take-master/{hp(sb, 'i2')}", 409, "graceful-master-takeover")
    refused(orc, f"move-below/{hp(sb, 'i3')}/{hp(sb, 'i1')}", 409, "not a sibling")
    refused(orc, "move-up/127.0.0.1/1", 404, "not found")
    ok(orc, f"begin-maintenance/{hp(sb, 'i3')}/me/testing")
    refused(orc, f"move-up/{hp(sb, 'i3')}", 409, "under maintenance")

    assert {n: master_port(sb, n) for n in sb.names} == before
    assert all(running(sb, n) for n in sb.replicas)


def test_refusals_stopped_lagging_and_no_gtid(orc_factory, star4):
    sb = star4
    orc, _ = start(orc_factory, sb, ReasonableMaintenanceReplicationLagSeconds=1)

    sb.sql("i3", "STOP SLAVE")
    wait_until(lambda: instance(orc, sb, "i3")["ReplicationSQLThreadState"] == 0, 10,
               what="i3 seen stopped")
    refused(orc, f"move-below/{hp(sb, 'i3')}/{hp(sb, 'i2')}", 409, "is not replicating")
    st = sb.slave_status("i3")
    assert int(st["Master_Port"]) == sb.port("i1") and st["Slave_SQL_Running"] == "No"

    sb.sql("i4", "STOP SLAVE")
    sb.sql("i4", "CHANGE MASTER TO MASTER_USE_GTID=no")
    sb.sql("i4", "START SLAVE")
    wait_until(lambda: running(sb, "i4") and
               instance(orc, sb, "i4")["UsingMariaDBGTID"] is False, 10,
               what="i4 seen replicating without GTID")
    refused(orc, f"move-below/{hp(sb, 'i4')}/{hp(sb, 'i2')}", 409,
            "requires GTID (file:pos relocation is not supported)")
    assert master_port(sb, "i4") == sb.port("i1")

    # a replica 30 s behind by design (MASTER_DELAY) lags past the limit of 1 s
    sb.sql("i3", "CHANGE MASTER TO MASTER_DELAY=30")
    sb.sql("i3", "START SLAVE")
    write_row(sb, "i1", "delayed")
    wait_until(lambda: (sb.slave_status("i3")["Seconds_Behind_Master"] or 0) >= 2, 10,
               what="i3 lagging 2 s")
    refused(orc, f"relocate/{hp(sb, 'i3')}/{hp(sb, 'i2')}", 409, "lags too much",
            "ReasonableMaintenanceReplicationLagSeconds (1)")
    assert master_port(sb, "i3") == sb.port("i1") and running(sb, "i3")


def test_move_up_without_gtid_uses_coordinates(orc_factory, chain4):
    sb = chain4
    orc, _ = start(orc_factory, sb)
    sb.sql("i4", "STOP SLAVE")
    sb.sql("i4", "CHANGE MASTER TO MASTER_USE_GTID=no")
    sb.sql("i4", "START SLAVE")
    wait_until(lambda: running(sb, "i4") and
               instance(orc, sb, "i4")["UsingMariaDBGTID"] is False, 10,
               what="i4 seen replicating without GTID")
    write_row(sb, "i1", "before-coords-move")
    row_reaches(sb, ["i4"], "before-coords-move")

    body = ok(orc, f"move-up/{hp(sb, 'i4')}")
    assert body["Details"]["MasterKey"] == key_of(sb, "i1")
    st = sb.slave_status("i4")
    assert int(st["Master_Port"]) == sb.port("i1") and st["Using_Gtid"] == "No"
    write_row(sb, "i1", "after-coords-move")
    row_reaches(sb, ["i4"], "after-coords-move")
    assert running(sb, "i4") and not sb.slave_status("i4")["Last_SQL_Error"]
    assert running(sb, "i2")  # the intermediate master was restarted


# ---- graceful master takeover -------------------------------------------------------------


def check_new_master(sb, new, others):
    assert sb.slave_status(new) is None or not sb.slave_status(new)["Master_Host"]
    assert sb.sql_value(new, "SELECT @@read_only") == 0
    for n in others:
        assert master_port(sb, n) == sb.port(new), n
    wait_until(lambda: all(running(sb, n) for n in others), 10, what="all replicating")
    write_row(sb, new, f"written-on-{new}")
    row_reaches(sb, others, f"written-on-{new}")


def test_graceful_takeover_designated(orc_factory, star4, tmp_path):
    sb = star4
    trace = tmp_path / "hooks.txt"
    orc, cluster = start(orc_factory, sb, PreGracefulTakeoverProcesses=[
        f"echo pre {{command}} {{failedPort}} >> {trace}"], PostGracefulTakeoverProcesses=[
        f"echo post {{successorPort}} {{isSuccessful}} >> {trace}"])
    write_row(sb, "i1", "before-takeover")
    row_reaches(sb, ["i2", "i3", "i4"], "before-takeover")

    body = ok(orc, f"graceful-master-takeover/{cluster}/{hp(sb, 'i2')}")
    d = body["Details"]
    assert d["SuccessorKey"] == key_of(sb, "i2")
    assert d["IsSuccessful"] is True and d["Type"] == "MasterRecovery"
    assert d["AnalysisEntry"]["AnalyzedInstanceKey"] == key_of(sb, "i1")
    assert d["AnalysisEntry"]["CommandHint"] == "graceful-master-takeover"
    assert "no master was writable for" in body["Message"]
    window_ms = d["NoWritableMasterDuration"] / 1e6
    assert 0 < window_ms < 5000, window_ms
    print(f"\ngraceful takeover (designated): no writable master for {window_ms:.1f} ms")
    check_new_master(sb, "i2", ["i1", "i3", "i4"])
    assert sb.sql_value("i1", "SELECT @@read_only") == 1

    assert instance(orc, sb, "i2")["ReadOnly"] is False  # fresh in the topology
    assert instance(orc, sb, "i1")["MasterKey"] == key_of(sb, "i2")
    recs = call(orc, "audit-recovery")[1]
    mine = [r for r in recs if r["UID"] == d["UID"]]
    assert mine and mine[0]["IsSuccessful"] and mine[0]["SuccessorKey"] == key_of(sb, "i2")
    steps = call(orc, f"audit-recovery-steps/{d['UID']}")[1]
    assert any("graceful-master-takeover" in s["Message"] for s in steps), steps
    assert trace.read_text().split("\n")[:2] == [
        f"pre graceful-master-takeover {sb.port('i1')}", f"post {sb.port('i2')} true"]


def test_graceful_takeover_failing_hook_after_read_only_restores_old_master(orc_factory,
                                                                            star4):
    sb = star4
    orc, cluster = start(orc_factory, sb, PreFailoverProcesses=["exit 3"])

    msg = refused(orc, f"graceful-master-takeover/{cluster}/{hp(sb, 'i2')}", 500,
                  "PreFailoverProcesses", "status 3")
    assert sb.sql_value("i1", "SELECT @@read_only") == 0  # writable again
    assert master_port(sb, "i2") == sb.port("i1") and running(sb, "i2")
    # the siblings were moved below i2 before the hook ran; they still get every write
    write_row(sb, "i1", "after-failed-takeover")
    row_reaches(sb, ["i2", "i3", "i4"], "after-failed-takeover")
    recs = call(orc, "audit-recovery")[1]
    assert recs and recs[0]["IsSuccessful"] is False and recs[0]["SuccessorKey"] is None, recs
    assert "PreFailoverProcesses" in "".join(recs[0]["AllErrors"]), (recs[0], msg)


def test_graceful_takeover_auto_and_back(orc_factory, star4):
    sb = star4
    orc, cluster = start(orc_factory, sb)

    body = ok(orc, f"graceful-master-takeover-auto/{cluster}")
    succ = body["Details"]["SuccessorKey"]
    new = sb.name_of_port(succ["Port"])
    assert new in ("i2", "i3", "i4")
    print(f"\ngraceful takeover (auto): no writable master for "
          f"{body['Details']['NoWritableMasterDuration'] / 1e6:.1f} ms")
    check_new_master(sb, new, [n for n in sb.names if n != new])

    # and back to i1, designated, on the new cluster
    wait_until(lambda: call(orc, f"cluster-info/{sb.key(new)}")[0] == 200, 10,
               what="new cluster known")
    body = ok(orc, f"graceful-master-takeover/{sb.key(new)}/{hp(sb, 'i1')}")
    assert body["Details"]["SuccessorKey"] == key_of(sb, "i1")
    check_new_master(sb, "i1", [n for n in sb.names if n != "i1"])


def test_graceful_takeover_refusals(orc_factory, star4):
    sb = star4
    orc, cluster = start(orc_factory, sb, ReplicationCredentialsQuery=None)

    refused(orc, f"graceful-master-takeover/{cluster}", 409, "cannot choose")
    refused(orc, f"graceful-master-takeover/{hp(sb, 'i3')}", 409, "cannot choose")  # by instance
    refused(orc, f"graceful-master-takeover/{cluster}/{hp(sb, 'i1')}", 409,
            "not a direct replica")
    # without ReplicationCredentialsQuery the takeover proceeds (as orchestrator):
    # test_replication_control.test_graceful_takeover_without_credentials_query
    refused(orc, "graceful-master-takeover/no-such-cluster", 404)
    assert sb.sql_value("i1", "SELECT @@read_only") == 0
    assert all(master_port(sb, n) == sb.port("i1") for n in sb.replicas)


# ---- CLI -------------------------------------------------------------------------------


def test_cli_prints_what_orchestrator_client_prints(orc_factory, star4):
    sb = star4
    orc, cluster = start(orc_factory, sb)

    p = orc.cli("move-below", "-i", sb.key("i4"), "-d", sb.key("i3"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"{sb.key('i4')}<{sb.key('i3')}"
    p = orc.cli("move-up", "-i", sb.key("i4"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"{sb.key('i4')}<{sb.key('i1')}"
    p = orc.cli("stop-replica", "-i", sb.key("i4"))
    assert p.returncode == 0 and p.stdout.strip() == sb.key("i4"), (p.stdout, p.stderr)
    p = orc.cli("start-replica", "-i", sb.key("i4"))
    assert p.returncode == 0 and p.stdout.strip() == sb.key("i4"), (p.stdout, p.stderr)
    p = orc.cli("move-below", "-i", sb.key("i4"), "-d", sb.key("i4"))
    assert p.returncode != 0 and "below itself" in (p.stdout + p.stderr)

    p = orc.cli("graceful-master-takeover", "-i", cluster, "-d", sb.key("i3"), timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == sb.key("i3")
    assert master_port(sb, "i1") == sb.port("i3")
