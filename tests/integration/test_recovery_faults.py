"""Recoveries under faults, with orchestrator's default safety settings (InstancePollSeconds 5,
RecoveryPeriodBlockSeconds 3600, MySQLConnectTimeoutSeconds 2): a frozen master that comes back
is fenced, and a recovery whose manager dies, freezes or stops in the middle is finished by the
next leader (or by the same node after a restart) without a second promotion and without
waiting for the anti-flapping period."""
import os
import re
import signal
import time

import pymysql
import pytest

from orctest import wait_until

DEFAULTS = {
    # the test fixtures shorten these; the fault tests run with orchestrator's defaults
    "InstancePollSeconds": None,
    "MySQLConnectTimeoutSeconds": None,
    "RecoverMasterClusterFilters": ["*"],
    "RecoverIntermediateMasterClusterFilters": ["*"],
}
LOCAL = {"X-Orchestrator-Forwarded": "1"}  # answered by the node itself


def seeds(sb):
    return [sb.key(n) for n in sb.names]


def start_single(orc_factory, sb, **config):
    cfg = dict(DEFAULTS, DiscoverySeeds=seeds(sb))
    cfg.update(config)
    orc = orc_factory(sandbox=sb, **cfg)
    master = sb.key(sb.master)
    wait_until(lambda: len(orc.api(f"cluster/{master}")) == len(sb.names), 15,
               what="whole topology discovered")
    orc.wait_log(r"\+recovery-ready", timeout=20)
    return orc


def start_cluster(raft_factory, sb, **config):
    cfg = dict(DEFAULTS, DiscoverySeeds=seeds(sb))
    cfg.update(config)
    rc = raft_factory(3, sandbox=sb, **cfg)
    master = sb.key(sb.master)
    rc.wait_leader(timeout=15)
    rc.wait_all(lambda n: len(n.api(f"cluster/{master}")) == len(sb.names), timeout=15,
                what="every node sees the whole topology")
    for n in rc.running:
        n.wait_log(r"\+recovery-ready", timeout=20)
    return rc


def pid_of(sb, name):
    return int(sb.instance(name)["pid"])


def writable_masters(sb, names=None):
    """Running instances that replicate from nobody and are writable."""
    out = []
    for n in names if names is not None else sb.names:
        if sb.is_running(n) and sb.slave_status(n) is None and \
                sb.sql_value(n, "SELECT @@read_only") == 0:
            out.append(n)
    return out


def new_master(sb, timeout):
    def find():
        w = writable_masters(sb, sb.replicas)
        return w[0] if w else None
    return wait_until(find, timeout, what="a promoted master")


def others_follow(sb, new, timeout=10, skip=()):
    port = sb.port(new)
    for n in sb.replicas:
        if n == new or n in skip:
            continue
        wait_until(lambda n=n: (sb.slave_status(n) or {}).get("Master_Port") is not None and
                   int(sb.slave_status(n)["Master_Port"]) == port and
                   sb.slave_status(n)["Slave_IO_Running"] == "Yes", timeout,
                   what=f"{n} replicating from {new}")


def app_user(sb):
    """A user without SUPER / READ ONLY ADMIN, as applications have: read_only stops it."""
    m = sb.master
    sb.sql(m, "CREATE DATABASE IF NOT EXISTS app")
    sb.sql(m, "CREATE TABLE IF NOT EXISTS app.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    sb.sql(m, "CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY 'app_pw'")
    sb.sql(m, "GRANT SELECT, INSERT ON app.* TO 'app'@'127.0.0.1'")
    sb.wait_replicating(timeout=10)


def app_insert(sb, name):
    conn = pymysql.connect(host="127.0.0.1", port=sb.port(name), user="app", password="app_pw",
                           autocommit=True, connect_timeout=3, read_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO app.t (v) VALUES (1)")
    finally:
        conn.close()


def short_slave_net_timeout(sb, seconds=10):
    for n in sb.replicas:
        sb.sql(n, f"SET GLOBAL slave_net_timeout={seconds}")
        sb.sql(n, "STOP SLAVE")
        sb.sql(n, "START SLAVE")
    sb.wait_replicating(timeout=10)


def recoveries_of(node, key, local=True):
    recs = node.get("/api/audit-recovery", headers=LOCAL if local else None, timeout=5).json()
    return [r for r in recs if f'{r["AnalysisEntry"]["AnalyzedInstanceKey"]["Hostname"]}:'
            f'{r["AnalysisEntry"]["AnalyzedInstanceKey"]["Port"]}' == key]


def freeze_and_thaw(sb, seconds, during=None):
    """SIGSTOPs the master for `seconds`; `during(t0)` runs while it is frozen. Returns the
    monotonic time of the SIGCONT."""
    pid = pid_of(sb, sb.master)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        if during is not None:
            during(t0)
        left = seconds - (time.monotonic() - t0)
        if left > 0:
            time.sleep(left)
    finally:
        os.kill(pid, signal.SIGCONT)
    return time.monotonic()


def assert_fenced_soon(sb, resumed, limit=2.0):
    old = sb.master
    wait_until(lambda: sb.sql_value(old, "SELECT @@read_only") == 1, 10,
               what="the resumed old master read-only")
    took = time.monotonic() - resumed
    assert took <= limit, f"old master fenced {took:.2f}s after resuming (limit {limit}s)"
    with pytest.raises(pymysql.err.OperationalError) as e:
        app_insert(sb, old)
    assert e.value.args[0] == 1290, e.value  # ER_OPTION_PREVENTS_STATEMENT: --read-only
    return took


def test_frozen_master_is_failed_over_and_fenced_when_it_resumes(star4, orc_factory):
    sb = star4
    app_user(sb)
    short_slave_net_timeout(sb, 10)
    orc = start_single(orc_factory, sb)
    promoted = {}

    def during(t0):
        promoted["name"] = new_master(sb, timeout=18)
        promoted["after"] = time.monotonic() - t0
        others_follow(sb, promoted["name"])

    resumed = freeze_and_thaw(sb, 20, during)
    print(f"frozen master: a replica writable after {promoted['after']:.2f}s")
    assert promoted["after"] < 10, "the hang must be noticed before slave_net_timeout"
    took = assert_fenced_soon(sb, resumed)
    print(f"resumed old master read-only after {took:.2f}s")
    assert orc.has_event("+fence-split-brain")
    assert writable_masters(sb) == [promoted["name"]]
    app_insert(sb, promoted["name"])  # the new master takes writes
    # the fence is recorded with the recovery
    rec = recoveries_of(orc, sb.key(sb.master))
    assert len(rec) == 1 and rec[0]["IsSuccessful"]
    steps = orc.api(f"audit-recovery-steps/{rec[0]['UID']}")
    assert any("split brain" in s["Message"] for s in steps), steps


def test_frozen_master_is_fenced_by_a_new_leader(star4, raft_factory):
    sb = star4
    app_user(sb)
    short_slave_net_timeout(sb, 10)
    rc = start_cluster(raft_factory, sb)
    leaders = {}

    def during(t0):
        new = new_master(sb, timeout=18)
        others_follow(sb, new)
        old_leader = rc.wait_leader()
        old_leader.kill()
        leaders["new"] = rc.wait_leader(timeout=10,
                                        nodes=[n for n in rc.running if n is not old_leader])
        leaders["master"] = new

    resumed = freeze_and_thaw(sb, 20, during)
    assert_fenced_soon(sb, resumed)
    assert leaders["new"].has_event("+fence-split-brain")
    assert writable_masters(sb) == [leaders["master"]]


def kill_leader_in_recovery(rc, sb, how):
    """Kills the master, then hurts the raft leader while it runs the recovery's 3 s
    pre-failover hook. Returns (old leader, monotonic time of the leader change)."""
    leader = rc.wait_leader()
    sb.kill(sb.master)
    leader.wait_log(r"\+failover-start", timeout=15)
    time.sleep(0.3)
    if how == "kill":
        leader.kill()
    elif how == "freeze":
        os.kill(leader.pid, signal.SIGSTOP)
    elif how == "stop":
        leader.signal(signal.SIGTERM)
    t = time.monotonic()
    return leader, t


def assert_one_master_one_recovery(rc, sb, nodes, changed_at, limit=10.0):
    new = new_master(sb, timeout=limit + 5)
    others_follow(sb, new, timeout=limit + 5)
    took = time.monotonic() - changed_at
    assert took <= limit, f"writable master and replicas {took:.2f}s after the leader change"
    time.sleep(1.5)  # nothing else may happen
    assert writable_masters(sb) == [new]
    key = sb.key(sb.master)
    for n in nodes:
        wait_until(lambda n=n: len(recoveries_of(n, key)) == 1 and
                   recoveries_of(n, key)[0]["IsSuccessful"], 10,
                   what=f"{n.name}: one resolved recovery")
        r = recoveries_of(n, key)[0]
        assert r["SuccessorKey"]["Port"] == sb.port(new), r
    return took


@pytest.mark.parametrize("how", ["kill", "freeze", "stop"])
def test_leader_lost_inside_a_recovery_is_taken_over(star4, raft_factory, how):
    sb = star4
    rc = start_cluster(raft_factory, sb, PreFailoverProcesses=["sleep 3"])
    old, changed = kill_leader_in_recovery(rc, sb, how)
    try:
        others = [n for n in rc.running if n is not old]
        leader = rc.wait_leader(timeout=10, nodes=others)
        took = assert_one_master_one_recovery(rc, sb, others, changed)
        print(f"{how}: one writable master {took:.2f}s after the leader was lost")
        if how == "stop":
            # a graceful stop finishes the recovery first: nothing is left to take over
            assert not leader.has_event("+recovery-takeover")
        else:
            assert leader.has_event("+recovery-takeover")
    finally:
        if how == "freeze":
            os.kill(old.pid, signal.SIGCONT)
    if how == "freeze":
        time.sleep(2)
        assert re.search(r"\+failover-step .*state=(promote|repoint)", old.log) is None, \
            old.tail(40)
        assert len(writable_masters(sb)) == 1


@pytest.mark.parametrize("raft", [False, True])
def test_single_node_killed_inside_a_recovery_finishes_it_after_restart(star4, orc_factory,
                                                                       tmp_path, raft):
    from orctest import free_port
    sb = star4
    extra = {}
    if raft:
        extra = dict(RaftEnabled=True, RaftNodes=[], RaftDataDir=str(tmp_path / "raft"),
                     RaftBind=f"127.0.0.1:{free_port()}")
    orc = start_single(orc_factory, sb, PreFailoverProcesses=["sleep 3"], **extra)
    sb.kill(sb.master)
    orc.wait_log(r"\+failover-start", timeout=15)
    time.sleep(1.5)
    orc.kill()
    orc.start()
    restarted = time.monotonic()
    new = new_master(sb, timeout=15)
    others_follow(sb, new, timeout=15)
    took = time.monotonic() - restarted
    print(f"raft={raft}: writable master {took:.2f}s after the restart")
    assert took <= 10
    assert orc.has_event("+recovery-takeover")
    assert not re.search(r"\+recovery-blocked", orc.current_log)
    recs = wait_until(lambda: (lambda r: r if len(r) == 1 and r[0]["IsSuccessful"] else None)(
        recoveries_of(orc, sb.key(sb.master))), 10, what="one resolved, successful recovery")
    assert recs[0]["SuccessorKey"]["Port"] == sb.port(new)
