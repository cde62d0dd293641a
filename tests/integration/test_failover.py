"""Automated failover on real MariaDB sandboxes: dead master, dead intermediate master,
anti-flapping and acknowledgement, downtime, promotion rules, hooks."""
import os
import time
import uuid

import pytest

from orctest import wait_until

RECOVER_ALL = {
    "RecoverMasterClusterFilters": ["*"],
    "RecoverIntermediateMasterClusterFilters": ["*"],
}


def start_orc(orc_factory, sandbox, **config):
    cfg = dict(RECOVER_ALL)
    # Every instance is a seed: a replica whose IO thread is stopped is not listed by its master.
    cfg["DiscoverySeeds"] = [sandbox.key(n) for n in sandbox.names]
    cfg.update(config)
    orc = orc_factory(sandbox=sandbox, **cfg)
    started = time.monotonic()
    master = sandbox.key(sandbox.master)
    wait_until(lambda: len(orc.api(f"cluster/{master}")) == len(sandbox.names), 10,
               what="whole topology discovered")
    # The recovery loop waits 3 poll intervals after start before acting.
    time.sleep(max(0.0, 3.3 - (time.monotonic() - started)))
    return orc


def writable(sandbox, name):
    return sandbox.sql_value(name, "SELECT @@read_only") == 0


def master_port_of(sandbox, name):
    st = sandbox.slave_status(name)
    return None if st is None else int(st["Master_Port"])


def wait_new_master(sandbox, candidates, timeout=10):
    def find():
        for n in candidates:
            if sandbox.slave_status(n) is None and writable(sandbox, n):
                return n
        return None
    return wait_until(find, timeout, what="a promoted writable master")


def assert_replicates_from(sandbox, names, master, timeout=10):
    port = sandbox.port(master)
    for n in names:
        wait_until(lambda n=n: master_port_of(sandbox, n) == port and
                   sandbox.slave_status(n)["Slave_IO_Running"] == "Yes" and
                   sandbox.slave_status(n)["Slave_SQL_Running"] == "Yes",
                   timeout, what=f"{n} replicating from {master}")


def write_and_check(sandbox, master, others, table):
    token = uuid.uuid4().hex
    sandbox.sql(master, f"CREATE TABLE IF NOT EXISTS test.{table} (v VARCHAR(64))")
    sandbox.sql(master, f"INSERT INTO test.{table} VALUES (%s)", (token,))
    for n in others:
        wait_until(lambda n=n: sandbox.sql_value(
            n, f"SELECT COUNT(*) FROM test.{table} WHERE v=%s", (token,)) == 1,
            10, what=f"row on {n}")


def test_dead_master_promotes_most_advanced_replica(star4, orc_factory):
    sb = star4
    i2, i3, i4 = sb.replicas
    sb.sql(sb.master, "CREATE TABLE test.f (id INT PRIMARY KEY)")
    sb.wait_replicating()
    # Three different positions: i2 stops receiving first, then i3; i4 gets everything.
    sb.sql(i2, "STOP SLAVE IO_THREAD")
    sb.sql(sb.master, "INSERT INTO test.f VALUES (1)")
    wait_until(lambda: sb.sql_value(i3, "SELECT COUNT(*) FROM test.f") == 1, 10)
    sb.sql(i3, "STOP SLAVE IO_THREAD")
    sb.sql(sb.master, "INSERT INTO test.f VALUES (2)")
    wait_until(lambda: sb.sql_value(i4, "SELECT COUNT(*) FROM test.f") == 2, 10)
    orc = start_orc(orc_factory, sb)
    sb.kill(sb.master)
    new = wait_new_master(sb, [i2, i3, i4])
    assert new == i4, f"expected the most advanced replica i4 to be promoted, got {new}"
    assert_replicates_from(sb, [i2, i3], i4)
    for n in (i2, i3):  # they caught up from the new master
        wait_until(lambda n=n: sb.sql_value(n, "SELECT COUNT(*) FROM test.f") == 2, 10)
    write_and_check(sb, i4, [i2, i3], "after_failover")
    recs = wait_until(lambda: orc.api("audit-recovery"), 5, what="recovery recorded")
    assert recs[0]["IsSuccessful"] is True
    assert recs[0]["SuccessorKey"]["Port"] == sb.port(i4)
    assert recs[0]["AnalysisEntry"]["Analysis"] == "DeadMaster"
    steps = orc.api(f"audit-recovery-steps/{recs[0]['UID']}")
    assert any("promoted" in s["Message"] for s in steps)
    assert orc.has_event("+failover-done")


def test_must_not_replica_is_never_promoted(star4, orc_factory):
    sb = star4
    i2, i3, i4 = sb.replicas
    sb.sql(sb.master, "CREATE TABLE test.m (id INT PRIMARY KEY)")
    sb.wait_replicating()
    # i4 is the most advanced but must never be promoted; nothing it has may be lost.
    sb.sql(i2, "STOP SLAVE IO_THREAD")
    sb.sql(i3, "STOP SLAVE IO_THREAD")
    sb.sql(sb.master, "INSERT INTO test.m VALUES (7)")
    wait_until(lambda: sb.sql_value(i4, "SELECT COUNT(*) FROM test.m") == 1, 10)
    orc = start_orc(orc_factory, sb)
    host, port = sb.key(i4).split(":")
    assert orc.api(f"register-candidate/{host}/{port}/must_not")["Code"] == "OK"
    sb.kill(sb.master)
    new = wait_new_master(sb, [i2, i3, i4])
    assert new in (i2, i3)
    others = [n for n in (i2, i3, i4) if n != new]
    assert_replicates_from(sb, others, new)
    # The candidate first took the row only i4 had.
    assert sb.sql_value(new, "SELECT COUNT(*) FROM test.m") == 1
    write_and_check(sb, new, others, "after_must_not")


def test_second_failure_is_blocked_until_acknowledged(star4, orc_factory):
    sb = star4
    orc = start_orc(orc_factory, sb)
    sb.kill(sb.master)
    first = wait_new_master(sb, sb.replicas)
    rest = [n for n in sb.replicas if n != first]
    assert_replicates_from(sb, rest, first)
    wait_until(lambda: len(orc.api(f"cluster/{sb.key(first)}")) == 3, 10,
               what="topology after the first failover")
    sb.kill(first)
    wait_until(lambda: any(b["FailedInstanceKey"]["Port"] == sb.port(first)
                           for b in orc.api("blocked-recoveries")), 10,
               what="second recovery recorded as blocked")
    time.sleep(1.5)
    assert all(sb.slave_status(n) is not None for n in rest), "a blocked recovery acted"
    ack = orc.api("ack-all-recoveries?comment=tested")
    assert ack["Code"] == "OK"
    second = wait_new_master(sb, rest)
    assert_replicates_from(sb, [n for n in rest if n != second], second)
    recs = orc.api("audit-recovery")
    assert len([r for r in recs if r["IsSuccessful"]]) == 2


def test_ack_requires_comment(star4, orc_factory):
    orc = start_orc(orc_factory, star4)
    r = orc.get("/api/ack-all-recoveries")
    assert r.status_code == 400 and r.json()["Code"] == "ERROR"


def test_dead_intermediate_master_replicas_move_up(chain4, orc_factory):
    sb = chain4
    orc = start_orc(orc_factory, sb)
    i1, i2, i3, i4 = sb.names
    sb.kill(i2)
    assert_replicates_from(sb, [i3, i4], i1, timeout=15)
    write_and_check(sb, i1, [i3, i4], "after_im")
    recs = wait_until(lambda: orc.api("audit-recovery"), 5)
    assert recs[0]["AnalysisEntry"]["Analysis"].startswith("DeadIntermediateMaster")
    assert recs[0]["IsSuccessful"] is True


def test_downtimed_master_is_not_recovered(star4, orc_factory):
    sb = star4
    orc = start_orc(orc_factory, sb)
    host, port = sb.key(sb.master).split(":")
    assert orc.api(f"begin-downtime/{host}/{port}/tester/maintenance/1h")["Code"] == "OK"
    sb.kill(sb.master)
    wait_until(lambda: any(a["Analysis"] == "DeadMaster" and a["IsDowntimed"]
                           for a in orc.api("replication-analysis")["Details"]), 10,
               what="DeadMaster analysis of the downtimed master")
    time.sleep(2)
    assert orc.api("audit-recovery") == []
    assert all(sb.slave_status(n) is not None for n in sb.replicas)


def test_global_recovery_switch(star4, orc_factory):
    sb = star4
    orc = start_orc(orc_factory, sb)
    assert orc.api("disable-global-recoveries")["Details"] == "disabled"
    assert orc.api("check-global-recoveries")["Details"] == "disabled"
    sb.kill(sb.master)
    time.sleep(2.5)
    assert orc.api("audit-recovery") == []
    assert orc.api("enable-global-recoveries")["Details"] == "enabled"
    wait_new_master(sb, sb.replicas)


def test_hooks_run_in_order_with_placeholders_and_environment(star4, orc_factory, tmp_path):
    sb = star4
    out = tmp_path / "hooks.log"
    line = (f'echo "{{phase}} {{failureType}} {{failedHost}}:{{failedPort}} '
            f'{{successorHost}}:{{successorPort}} $ORC_FAILED_PORT {{countReplicas}}" >> {out}')
    hooks = {name: [line.replace("{phase}", name)] for name in (
        "OnFailureDetectionProcesses", "PreFailoverProcesses", "PostMasterFailoverProcesses",
        "PostFailoverProcesses", "PostUnsuccessfulFailoverProcesses")}
    orc = start_orc(orc_factory, sb, **hooks)
    sb.kill(sb.master)
    new = wait_new_master(sb, sb.replicas)
    wait_until(lambda: out.exists() and len(out.read_text().splitlines()) >= 4, 10,
               what="four hook lines")
    time.sleep(0.5)
    lines = out.read_text().splitlines()
    phases = [ln.split()[0] for ln in lines]
    assert phases == ["OnFailureDetectionProcesses", "PreFailoverProcesses",
                      "PostMasterFailoverProcesses", "PostFailoverProcesses"], lines
    mport = sb.port(sb.master)
    for ln in lines:
        assert f"DeadMaster 127.0.0.1:{mport} " in ln
        assert ln.split()[4] == str(mport)  # the environment variable
    assert f"127.0.0.1:{sb.port(new)}" in lines[-1]
    assert lines[-1].split()[-1] == "3"
    assert orc.has_event("+hook-done")


def test_failed_pre_failover_hook_aborts_recovery(star4, orc_factory):
    sb = star4
    orc = start_orc(orc_factory, sb, PreFailoverProcesses=["exit 3"])
    sb.kill(sb.master)
    wait_until(lambda: orc.api("audit-recovery"), 10, what="recovery recorded")
    time.sleep(1)
    rec = orc.api("audit-recovery")[0]
    assert rec["IsSuccessful"] is False
    assert any("PreFailoverProcesses" in e for e in rec["AllErrors"])
    assert all(sb.slave_status(n) is not None for n in sb.replicas)


def test_hostname_from_database_cannot_inject_into_hooks(star4, orc_factory, tmp_path):
    """A replica reports a hostname with shell syntax: refused at the door (never listed, never
    handed to a hook); the failover and its hooks go on with the other replicas."""
    sb = star4
    victim = sb.replicas[-1]
    marker = f"/tmp/pwned-{uuid.uuid4().hex}"
    evil = f"$(touch {marker})"
    cnf = sb.instance(victim)["config"]
    with open(cnf) as f:
        text = f.read()
    with open(cnf, "w") as f:
        f.write(text.replace("report_host", f"report_host = {evil}\n#report_host", 1))
    sb.stop(victim)
    sb.start(victim)
    sb.wait_replicating()
    out = tmp_path / "hooks.log"
    hook = f'echo "{{replicaHosts}}" >> {out}; echo "$ORC_REPLICA_HOSTS" >> {out}'
    orc = start_orc(orc_factory, sb, PreFailoverProcesses=[hook], PostFailoverProcesses=[hook])
    # The odd name is refused (SHOW SLAVE HOSTS), the others are listed.
    master = orc.api(f"instance/{sb.key(sb.master).replace(':', '/')}")
    names = {k["Hostname"] for k in master["SlaveHosts"]}
    assert evil not in names and names, master["SlaveHosts"]
    assert orc.has_event("+probe-value-refused"), orc.tail()
    sb.kill(sb.master)
    wait_new_master(sb, sb.replicas)
    wait_until(lambda: out.exists() and out.read_text().count("\n") >= 4, 10)
    assert not os.path.exists(marker), "a hostname from the database ran a command"
    assert "touch" not in out.read_text()


def test_force_master_takeover_promotes_the_named_replica(star4, orc_factory):
    sb = star4
    orc = start_orc(orc_factory, sb)
    i2, i3, i4 = sb.replicas
    host, port = sb.key(i3).split(":")
    r = orc.api(f"force-master-takeover/{sb.key(sb.master)}/{host}/{port}")
    assert r["Code"] == "OK", r
    assert r["Details"]["SuccessorKey"]["Port"] == sb.port(i3)
    assert sb.slave_status(i3) is None and writable(sb, i3)
    assert_replicates_from(sb, [i2, i4], i3)
    assert sb.sql_value(sb.master, "SELECT @@read_only") == 1  # the old master was fenced
    bad = orc.get(f"/api/force-master-takeover/{sb.key(i3)}/127.0.0.1/1")
    assert bad.status_code == 400 and bad.json()["Code"] == "ERROR"


def test_manual_recover_when_automation_is_off(star4, orc_factory):
    sb = star4
    orc = start_orc(orc_factory, sb, RecoverMasterClusterFilters=[])
    host, port = sb.key(sb.replicas[0]).split(":")
    r = orc.get(f"/api/recover/{host}/{port}")
    assert r.status_code == 400 and "Recovery not attempted" in r.json()["Message"]
    sb.kill(sb.master)
    mh, mp = sb.key(sb.master).split(":")
    wait_until(lambda: any(a["Analysis"] == "DeadMaster"
                           for a in orc.api("replication-analysis")["Details"]), 10)
    time.sleep(1)
    assert orc.api("audit-recovery") == []  # the cluster is not in RecoverMasterClusterFilters
    r = orc.api(f"recover/{mh}/{mp}")
    assert r["Code"] == "OK", r
    new = wait_new_master(sb, sb.replicas, timeout=2)
    assert r["Details"]["Port"] == sb.port(new)


def test_replicas_lost_with_the_master_are_reported_and_downtimed(star4, orc_factory):
    sb = star4
    orc = start_orc(orc_factory, sb)
    i2, i3, i4 = sb.replicas
    sb.kill(i4)
    sb.kill(sb.master)
    new = wait_new_master(sb, [i2, i3])
    assert_replicates_from(sb, [n for n in (i2, i3) if n != new], new)
    rec = wait_until(lambda: [r for r in orc.api("audit-recovery") if r["IsSuccessful"]], 10)[0]
    assert rec["AnalysisEntry"]["Analysis"] in ("DeadMaster", "DeadMasterAndSomeReplicas")
    assert [k["Port"] for k in rec["LostReplicas"]] == [sb.port(i4)]
    host, port = sb.key(i4).split(":")
    inst = wait_until(lambda: orc.api(f"instance/{host}/{port}") if
                      orc.api(f"instance/{host}/{port}").get("IsDowntimed") else None, 10,
                      what="the lost replica downtimed")
    assert inst["DowntimeReason"] == "lost-in-recovery"
