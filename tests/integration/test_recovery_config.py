"""Recovery settings held in the replicated state (set-recovery-config): set through any node,
applied by every node, kept across restarts, and acted on by whichever node leads. Default
safety timers (RecoveryPeriodBlockSeconds etc.) are left as they are."""
import subprocess
import time

from orctest import wait_until

LOCAL = {"X-Orchestrator-Forwarded": "1"}  # answered by the node itself


def setting(node, key):
    """This node's own view of one recovery setting."""
    status = node.get("/api/recovery-config", headers=LOCAL, timeout=5).json()
    return next(s for s in status["Settings"] if s["Key"] == key)


def fingerprint(node):
    return node.get("/api/recovery-config", headers=LOCAL, timeout=5).json()["Fingerprint"]


def config_status(node):
    details = node.get("/api/health", timeout=5).json()["Details"]
    return details["ConfigFingerprint"], details["ConfigMismatch"]


def new_master(sb, timeout=20):
    def find():
        for n in sb.replicas:
            if sb.is_running(n) and sb.slave_status(n) is None and \
                    sb.sql_value(n, "SELECT @@read_only") == 0:
                return n
        return None
    return wait_until(find, timeout, what="a promoted master")


def test_recover_filter_set_on_a_follower_lets_a_new_leader_recover(star4, raft_factory):
    sb = star4
    master = sb.key(sb.master)
    # No node's file recovers anything: RecoverMasterClusterFilters is [] everywhere.
    rc = raft_factory(3, sandbox=sb, DiscoverySeeds=[sb.key(n) for n in sb.names])
    leader = rc.wait_leader(timeout=15)
    rc.wait_all(lambda n: len(n.api(f"cluster/{master}")) == 4, timeout=15,
                what="every node sees the whole topology")
    before = {fingerprint(n) for n in rc.nodes}
    assert len(before) == 1
    for n in rc.nodes:
        assert setting(n, "RecoverMasterClusterFilters")["Source"] == "file"
    assert not any(c["HasAutomatedMasterRecovery"] for c in leader.api("clusters-info"))

    # Refused values and keys: 400, nothing replicated.
    follower = rc.followers(leader)[0]
    bad = follower.get("/api/recovery-config/set?key=RecoveryPeriodBlockSeconds&value=-1")
    assert bad.status_code == 400 and "out of range" in bad.json()["Message"]
    bad = follower.get("/api/recovery-config/set?key=ListenAddress&value=0.0.0.0:1")
    assert bad.status_code == 400
    bad = follower.get("/api/recovery-config/set", params={
        "key": "PostFailoverProcesses", "value": "[\"ssh x 'echo {failedHost}'\"]"})
    assert bad.status_code == 400 and "single quotes" in bad.json()["Message"]
    assert all(setting(n, "PostFailoverProcesses")["Source"] == "file" for n in rc.nodes)

    # The operator replicates the filter through a follower (forwarded to the leader).
    r = follower.get("/api/recovery-config/set?key=RecoverMasterClusterFilters&value=*")
    assert r.status_code == 200, r.text
    assert r.json()["Details"] == ["*"]
    rc.wait_all(lambda n: setting(n, "RecoverMasterClusterFilters")["Source"] == "replicated",
                timeout=10, what="every node applies the replicated filter")
    for n in rc.nodes:
        s = setting(n, "RecoverMasterClusterFilters")
        assert s["Value"] == ["*"] and s["FileValue"] == [] and s["SetAt"] > 0
    wait_until(lambda: all(c["HasAutomatedMasterRecovery"] for c in leader.api("clusters-info")),
               5, what="the cluster shown with automated master recovery")
    after = {fingerprint(n) for n in rc.nodes}
    assert len(after) == 1 and after != before
    assert any("set-recovery-config" in a.get("AuditType", "")
               for a in leader.api("audit"))

    # The leader that saw the change dies; the new leader recovers the master because of
    # the replicated value alone.
    time.sleep(3.3)  # the recovery loops act 3 poll intervals after start
    old = rc.wait_leader()
    old.kill()
    new_leader = rc.wait_leader(timeout=15)
    assert new_leader is not old
    t0 = time.monotonic()
    sb.kill(sb.master)
    promoted = new_master(sb)
    print(f"promoted {promoted} {time.monotonic() - t0:.2f}s after the master was killed")
    assert new_leader.has_event("+recovery-config-applied")
    wait_until(lambda: any(r["IsSuccessful"] for r in new_leader.api("audit-recovery")), 10,
               what="the recovery recorded")

    # A restarted node keeps the value (replicated state, not its file).
    other = next(n for n in rc.running if n is not new_leader)
    other.restart()
    wait_until(lambda: other.leader_check() in (200, 404), 10, what="restarted node answers")
    wait_until(lambda: setting(other, "RecoverMasterClusterFilters")["Source"] == "replicated",
               10, what="the value kept across the restart")
    assert setting(other, "RecoverMasterClusterFilters")["Value"] == ["*"]

    # A reset (CLI, through the API) returns every node to its file's value.
    api = " ".join(n.api_base for n in rc.running)
    out = other.cli("reset-recovery-config", "--key", "RecoverMasterClusterFilters",
                    env={"ORCHESTRATOR_API": api})
    assert out.returncode == 0, out.stderr
    rc.wait_all(lambda n: setting(n, "RecoverMasterClusterFilters")["Source"] == "file",
                timeout=10, what="every node back on its file's value")
    assert all(setting(n, "RecoverMasterClusterFilters")["Value"] == [] for n in rc.running)
    assert {fingerprint(n) for n in rc.running} == before


def test_replicated_value_clears_a_file_mismatch(raft_factory):
    rc = raft_factory(3)
    leader = rc.wait_leader()
    odd = rc.followers(leader)[0]
    odd.restart(RecoverMasterClusterFilters=["*"])  # its file differs from the others'
    wait_until(lambda: config_status(rc.wait_leader())[1] != [], 15, what="mismatch shown")
    # The value replicated: every node acts on it, whatever its file; nothing differs.
    out = leader.cli("set-recovery-config", "--key", "RecoverMasterClusterFilters",
                     "--value", "*", env={"ORCHESTRATOR_API": rc.orchestrator_api()})
    assert out.returncode == 0, out.stderr
    wait_until(lambda: config_status(rc.wait_leader())[1] == [], 15, what="mismatch cleared")
    assert len({fingerprint(n) for n in rc.nodes}) == 1
    assert setting(odd, "RecoverMasterClusterFilters")["Source"] == "replicated"
    listing = subprocess.run([leader.binary, "help", "commands"], capture_output=True,
                             text=True, timeout=10, check=False).stdout
    for cmd in ("recovery-config", "set-recovery-config", "reset-recovery-config"):
        assert cmd in listing


def test_node_that_joins_from_a_raft_snapshot_holds_the_replicated_settings(raft_factory):
    rc = raft_factory(3, RaftSnapshotThreshold=4)
    leader = rc.wait_leader()
    r = leader.get("/api/recovery-config/set?key=RecoverMasterClusterFilters&value=db.*,alias=x")
    assert r.status_code == 200, r.text
    for seconds in (600, 700, 800, 900, 1000, 1100):  # enough entries for a snapshot
        r = leader.get(f"/api/recovery-config/set?key=RecoveryPeriodBlockSeconds&value={seconds}")
        assert r.status_code == 200, r.text
    wait_until(lambda: leader.has_event("+raft-snapshot"), 10, what="a raft snapshot taken")
    fourth = rc.add_node("orc4")
    r = leader.get(f"/api/raft-add-peer/{fourth.raft_addr}", timeout=40)
    assert r.status_code == 200, r.text
    wait_until(lambda: setting(fourth, "RecoveryPeriodBlockSeconds")["Value"] == 1100, 20,
               what="the 4th node applies the replicated settings")
    assert fourth.has_event("+raft-restored"), fourth.tail()
    s = setting(fourth, "RecoverMasterClusterFilters")
    assert s["Source"] == "replicated" and s["Value"] == ["db.*", "alias=x"]
    assert fingerprint(fourth) == fingerprint(leader)


def test_after_a_reset_the_files_decide_again_and_nothing_is_recovered(star4, raft_factory):
    sb = star4
    master = sb.key(sb.master)
    rc = raft_factory(3, sandbox=sb, DiscoverySeeds=[sb.key(n) for n in sb.names])
    leader = rc.wait_leader(timeout=15)
    rc.wait_all(lambda n: len(n.api(f"cluster/{master}")) == 4, timeout=15,
                what="every node sees the whole topology")
    for path in ("set?key=RecoverMasterClusterFilters&value=*",
                 "reset?key=RecoverMasterClusterFilters"):
        r = leader.get(f"/api/recovery-config/{path}")
        assert r.status_code == 200, r.text
    rc.wait_all(lambda n: setting(n, "RecoverMasterClusterFilters")["Source"] == "file",
                timeout=10, what="every node back on its file's value")
    time.sleep(3.3)  # the recovery loops act 3 poll intervals after start
    sb.kill(sb.master)
    leader = rc.wait_leader()
    leader.wait_log(r"\+recovery-skipped .*reason=RecoverMasterClusterFilters", timeout=15)
    time.sleep(2)
    assert all(sb.slave_status(n) is not None for n in sb.replicas)  # nobody promoted
    assert not any(r["IsSuccessful"] for r in leader.api("audit-recovery"))
