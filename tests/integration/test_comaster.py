"""Co-masters and the smaller recoveries on real MariaDB sandboxes: a dead writable co-master
replaced by the other co-master (a lost replica detached), a graceful takeover inside a co-master
pair, a read-only master made writable (RecoverNonWriteableMaster), a lagging candidate refused
(FailMasterPromotionOnLagMinutes). Orchestrator's default safety timers throughout
(RecoveryPeriodBlockSeconds 3600, ...)."""
import sqlite3
import time
import uuid

from orctest import wait_until

RECOVER_ALL = {
    "RecoverMasterClusterFilters": ["*"],
    "RecoverIntermediateMasterClusterFilters": ["*"],
}


def start_orc(orc_factory, sb, **config):
    cfg = dict(RECOVER_ALL)
    cfg["DiscoverySeeds"] = [sb.key(n) for n in sb.names]
    cfg.update(config)
    orc = orc_factory(sandbox=sb, **cfg)
    started = time.monotonic()
    ports = {sb.port(n) for n in sb.names}

    def all_known():
        resp = orc.get(f"/api/cluster/{sb.key(sb.master)}")
        return resp.status_code == 200 and \
            {i["Key"]["Port"] for i in resp.json() if i["IsLastCheckValid"]} == ports
    wait_until(all_known, 15, what="every sandbox instance discovered")
    # The recovery loop waits 3 poll intervals after start before acting.
    time.sleep(max(0.0, 3.3 - (time.monotonic() - started)))
    return orc


def status(sb, name):
    return sb.slave_status(name)


def replicates_from(sb, name, master):
    st = status(sb, name)
    return bool(st) and int(st["Master_Port"]) == sb.port(master) and \
        st["Master_Host"] == "127.0.0.1" and \
        st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes"


def read_only(sb, name):
    return sb.sql_value(name, "SELECT @@read_only")


def row_reaches(sb, writer, others, table="comaster_t"):
    token = uuid.uuid4().hex
    sb.sql(writer, f"CREATE TABLE IF NOT EXISTS test.{table} (v VARCHAR(64))")
    sb.sql(writer, f"INSERT INTO test.{table} VALUES (%s)", (token,))
    for n in others:
        wait_until(lambda n=n: sb.sql_value(
            n, f"SELECT COUNT(*) FROM test.{table} WHERE v=%s", (token,)) == 1,
            10, what=f"row from {writer} on {n}")


def backend_recoveries(orc):
    """(analysis, is_successful, successor_port, resolved) of every recovery, from the store."""
    db = sqlite3.connect(orc.config["SQLite3DataFile"], timeout=5)
    try:
        return db.execute("SELECT analysis, is_successful, successor_port, "
                          "end_recovery IS NOT NULL FROM topology_recovery").fetchall()
    finally:
        db.close()


def test_dead_co_master_promotes_the_other_co_master(sandbox_factory, orc_factory, tmp_path):
    sb = sandbox_factory("comaster", 4)  # i1 <-> i2, i3 and i4 below i1 (i1 writable)
    assert replicates_from(sb, "i1", "i2") and read_only(sb, "i1") == 0
    assert read_only(sb, "i2") == 1
    # i4 holds events it has not applied (MASTER_DELAY): it cannot be repointed in time and is
    # lost; DetachLostReplicasAfterMasterFailover (default true) detaches it.
    sb.sql("i4", "STOP SLAVE")
    sb.sql("i4", "CHANGE MASTER TO MASTER_DELAY=3600")
    sb.sql("i4", "START SLAVE")
    row_reaches(sb, "i1", ["i2", "i3"])
    pos = sb.sql_value("i1", "SELECT @@gtid_binlog_pos")
    wait_until(lambda: status(sb, "i4")["Gtid_IO_Pos"] == pos, 10, what="i4 received all")
    trace = tmp_path / "hooks.txt"
    orc = start_orc(orc_factory, sb, PostMasterFailoverProcesses=[
        f"echo {{instanceType}} {{isCoMaster}} {{successorPort}} >> {trace}"])

    sb.kill("i1")
    wait_until(lambda: status(sb, "i2")["Slave_SQL_Running"] == "No" and
               read_only(sb, "i2") == 0, 30, what="i2 promoted (writable)")
    wait_until(lambda: replicates_from(sb, "i3", "i2"), 10, what="i3 below i2")
    # The other co-master keeps its replication settings towards i1 (stopped).
    assert int(status(sb, "i2")["Master_Port"]) == sb.port("i1")
    row_reaches(sb, "i2", ["i3"])
    wait_until(lambda: status(sb, "i4")["Master_Host"] == "//127.0.0.1", 10,
               what="lost i4 detached")

    recs = wait_until(lambda: [r for r in orc.api("audit-recovery") if r["RecoveryEndTimestamp"]],
                      10, what="recovery resolved")
    assert len(recs) == 1, recs
    r = recs[0]
    assert r["AnalysisEntry"]["Analysis"] == "DeadCoMaster" and r["Type"] == "CoMasterRecovery"
    assert r["IsSuccessful"] is True and r["SuccessorKey"]["Port"] == sb.port("i2")
    assert [k["Port"] for k in r["LostReplicas"]] == [sb.port("i4")]
    assert backend_recoveries(orc) == [("DeadCoMaster", 1, sb.port("i2"), 1)]
    steps = [s["Message"] for s in orc.api(f"audit-recovery-steps/{r['UID']}")]
    assert any("other co-master" in m and "must be promoted" in m for m in steps), steps
    assert any("detached 1 of 1 lost replicas" in m for m in steps), steps
    assert trace.read_text() == f"co-master true {sb.port('i2')}\n"


def test_graceful_takeover_within_a_co_master_pair(sandbox_factory, orc_factory):
    sb = sandbox_factory("comaster", 3)  # i1 <-> i2, i3 below i1
    orc = start_orc(orc_factory, sb)
    row_reaches(sb, "i1", ["i2", "i3"])
    resp = orc.get(f"/api/graceful-master-takeover/{sb.key('i1')}/127.0.0.1/{sb.port('i2')}",
                   timeout=60)
    body = resp.json()
    assert resp.status_code == 200 and body["Code"] == "OK", body
    assert "co-masters" in body["Message"]
    assert read_only(sb, "i2") == 0 and read_only(sb, "i1") == 1
    # Both still replicate from each other; i3 moved below the new writer.
    assert replicates_from(sb, "i2", "i1") and replicates_from(sb, "i1", "i2")
    assert replicates_from(sb, "i3", "i2")
    row_reaches(sb, "i2", ["i1", "i3"])
    recs = orc.api("audit-recovery")
    assert len(recs) == 1 and recs[0]["IsSuccessful"] is True
    assert recs[0]["SuccessorKey"]["Port"] == sb.port("i2")


def test_graceful_takeover_of_a_co_master_pair_refuses_another_designated(
        sandbox_factory, orc_factory):
    sb = sandbox_factory("comaster", 3)
    orc = start_orc(orc_factory, sb)
    resp = orc.get(f"/api/graceful-master-takeover/{sb.key('i1')}/127.0.0.1/{sb.port('i3')}",
                   timeout=60)
    assert resp.status_code != 200 and "other co-master" in resp.json()["Message"]
    assert read_only(sb, "i1") == 0 and replicates_from(sb, "i3", "i1")


def test_read_only_master_is_made_writable(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 2)
    orc = start_orc(orc_factory, sb, RecoverNonWriteableMaster=True)
    sb.sql("i1", "SET GLOBAL read_only=1")
    wait_until(lambda: read_only(sb, "i1") == 0, 15, what="i1 writable again")
    recs = wait_until(lambda: [r for r in orc.api("audit-recovery") if r["RecoveryEndTimestamp"]],
                      10, what="recovery resolved")
    assert recs[0]["AnalysisEntry"]["Analysis"] == "NoWriteableMasterStructureWarning"
    assert recs[0]["IsSuccessful"] is True
    assert backend_recoveries(orc) == [("NoWriteableMasterStructureWarning", 1, sb.port("i1"), 1)]
    audit = orc.api("audit")
    assert any(a["AuditType"] == "recover-non-writeable-master" for a in audit), audit[:5]
    # Anti-flapping (RecoveryPeriodBlockSeconds): a second read-only spell is left alone.
    sb.sql("i1", "SET GLOBAL read_only=1")
    time.sleep(3)
    assert read_only(sb, "i1") == 1
    assert len(orc.api("audit-recovery")) == 1


def test_lagging_candidate_is_not_promoted(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 3)
    # Every replica reports two minutes of lag; the limit is one.
    orc = start_orc(orc_factory, sb, ReplicationLagQuery="SELECT 120",
                    FailMasterPromotionOnLagMinutes=1)
    sb.kill("i1")
    recs = wait_until(lambda: [r for r in orc.api("audit-recovery") if r["RecoveryEndTimestamp"]],
                      30, what="recovery resolved")
    assert recs[0]["IsSuccessful"] is False
    assert "FailMasterPromotionOnLagMinutes" in str(recs[0]["AllErrors"])
    assert read_only(sb, "i2") == 1 and read_only(sb, "i3") == 1
    assert status(sb, "i2")["Master_Host"] == "127.0.0.1"  # nothing was repointed


def test_take_master_runs_post_take_master_processes(sandbox_factory, orc_factory, tmp_path):
    sb = sandbox_factory("chain", 3)  # i1 -> i2 -> i3
    trace = tmp_path / "take-master.txt"
    orc = start_orc(orc_factory, sb, PostTakeMasterProcesses=[
        f"echo {{command}} {{successorPort}} {{failedPort}} >> {trace}"])
    resp = orc.get(f"/api/take-master/127.0.0.1/{sb.port('i3')}", timeout=60)
    assert resp.status_code == 200 and resp.json()["Code"] == "OK", resp.text
    wait_until(lambda: replicates_from(sb, "i2", "i3"), 10, what="i2 below i3")
    assert replicates_from(sb, "i3", "i1")
    wait_until(trace.exists, 5, what="hook ran")
    assert trace.read_text() == f"take-master {sb.port('i3')} {sb.port('i2')}\n"


def test_delayed_replica_is_relocated_after_the_failover(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 4)
    # i4 is delayed an hour on purpose: with PostponeReplicaRecoveryOnLagMinutes=1 the failover
    # neither waits for its relay log (10 s otherwise) nor loses it: it is moved at the end.
    sb.sql("i4", "STOP SLAVE")
    sb.sql("i4", "CHANGE MASTER TO MASTER_DELAY=3600")
    sb.sql("i4", "START SLAVE")
    row_reaches(sb, "i1", ["i2", "i3"])
    pos = sb.sql_value("i1", "SELECT @@gtid_binlog_pos")
    wait_until(lambda: status(sb, "i4")["Gtid_IO_Pos"] == pos, 10, what="i4 received all")
    orc = start_orc(orc_factory, sb, PostponeReplicaRecoveryOnLagMinutes=1)
    killed = time.monotonic()
    sb.kill("i1")

    def promoted():
        for n in ("i2", "i3"):
            if status(sb, n) is None and read_only(sb, n) == 0:
                return n
        return None
    new = wait_until(promoted, 30, what="a replica promoted")
    assert time.monotonic() - killed < 8, "the failover waited for the delayed replica"
    other = "i3" if new == "i2" else "i2"
    wait_until(lambda: replicates_from(sb, other, new), 10, what=f"{other} below {new}")
    wait_until(lambda: replicates_from(sb, "i4", new), 10, what=f"delayed i4 below {new}")
    assert int(status(sb, "i4")["SQL_Delay"]) == 3600
    recs = wait_until(lambda: [r for r in orc.api("audit-recovery") if r["RecoveryEndTimestamp"]],
                      10, what="recovery resolved")
    assert recs[0]["IsSuccessful"] is True and not recs[0]["LostReplicas"]
    steps = [s["Message"] for s in orc.api(f"audit-recovery-steps/{recs[0]['UID']}")]
    assert any("relocated 1 of 1 postponed replicas" in m for m in steps), steps
