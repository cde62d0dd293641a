"""Recoveries with a raft cluster of managers: only the leader acts, exactly once, never a
frozen or isolated node, and never without a majority of the nodes seeing the failure."""
import os
import re
import signal
import time

from orctest import wait_until

LOCAL = {"X-Orchestrator-Forwarded": "1"}  # answered by the node itself

RECOVERY = {
    "RecoverMasterClusterFilters": ["*"],
    "RecoverIntermediateMasterClusterFilters": ["*"],
}


def cluster_on(raft_factory, sb, **config):
    cfg = dict(RECOVERY)
    cfg["DiscoverySeeds"] = [sb.key(n) for n in sb.names]
    cfg.update(config)
    rc = raft_factory(3, sandbox=sb, **cfg)
    master = sb.key(sb.master)
    rc.wait_leader(timeout=15)
    rc.wait_all(lambda n: len(n.api(f"cluster/{master}")) == 4, timeout=15,
                what="every node sees the whole topology")
    time.sleep(3.3)  # the recovery loops act 3 poll intervals after start
    return rc


def new_master(sb, timeout=15):
    def find():
        for n in sb.replicas:
            if sb.is_running(n) and sb.slave_status(n) is None and \
                    sb.sql_value(n, "SELECT @@read_only") == 0:
                return n
        return None
    return wait_until(find, timeout, what="a promoted master")


def others_follow(sb, new, timeout=10):
    port = sb.port(new)
    for n in sb.replicas:
        if n == new:
            continue
        wait_until(lambda n=n: int(sb.slave_status(n)["Master_Port"]) == port and
                   sb.slave_status(n)["Slave_IO_Running"] == "Yes", timeout,
                   what=f"{n} replicating from {new}")


def acted(node):
    """True when this node changed a server (promotion or repointing)."""
    return re.search(r"\+failover-step .*state=(promote|repoint)", node.log) is not None


def successful_recoveries(node):
    return [r for r in node.api("audit-recovery") if r["IsSuccessful"]]


def test_new_leader_recovers_a_dead_master_exactly_once(star4, raft_factory):
    sb = star4
    rc = cluster_on(raft_factory, sb)
    old = rc.wait_leader()
    old.kill()
    leader = rc.wait_leader(timeout=10)
    assert leader is not old
    sb.kill(sb.master)
    new = new_master(sb)
    others_follow(sb, new)
    time.sleep(2)  # nothing else may happen
    for n in rc.running:
        wait_until(lambda n=n: len(successful_recoveries(n)) == 1, 10,
                   what=f"{n.name} sees the one recovery")
    assert sum(1 for n in rc.running if acted(n)) == 1
    assert acted(leader)
    writable = [n for n in sb.replicas if sb.slave_status(n) is None]
    assert writable == [new]
    # A restarted follower replays its log onto its store: nothing is applied twice.
    follower = [n for n in rc.running if n is not leader][0]

    def local_steps():
        recs = follower.get("/api/audit-recovery", headers=LOCAL, timeout=5).json()
        uid = recs[0]["UID"]
        return len(recs), len(follower.get(f"/api/audit-recovery-steps/{uid}", headers=LOCAL,
                                           timeout=5).json())
    before = local_steps()
    follower.restart()
    wait_until(lambda: follower.leader_check() == 404, 10, what="follower back")
    time.sleep(1)
    assert local_steps() == before


def test_frozen_leader_recovers_nothing_after_it_thaws(star4, raft_factory):
    sb = star4
    rc = cluster_on(raft_factory, sb)
    frozen = rc.wait_leader()
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        sb.kill(sb.master)
        leader = rc.wait_leader(timeout=15, nodes=[n for n in rc.running if n is not frozen])
        new = new_master(sb)
        others_follow(sb, new)
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    time.sleep(3)
    assert not acted(frozen), frozen.tail(60)
    assert acted(leader)
    assert len(successful_recoveries(leader)) == 1
    assert [n for n in sb.replicas if sb.slave_status(n) is None] == [new]


def test_frozen_follower_recovers_nothing(star4, raft_factory):
    sb = star4
    rc = cluster_on(raft_factory, sb)
    leader = rc.wait_leader()
    frozen = rc.followers(leader)[0]
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        sb.kill(sb.master)
        new = new_master(sb)
        others_follow(sb, new)
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    time.sleep(3)
    assert not acted(frozen)
    assert len(successful_recoveries(leader)) == 1


def test_lone_node_of_three_recovers_nothing(star4, raft_factory):
    sb = star4
    rc = cluster_on(raft_factory, sb)
    lone = rc.followers()[0]
    for n in rc.running:
        if n is not lone:
            n.kill()
    wait_until(lambda: lone.leader_check() == 404, 10, what="the lone node is no leader")
    sb.kill(sb.master)
    wait_until(lambda: lone.has_event("+probe-failed"), 10, what="the lone node sees it fail")
    time.sleep(4)
    assert not acted(lone)
    assert all(sb.slave_status(n) is not None for n in sb.replicas)
    assert lone.leader_check() == 404


def test_failover_waits_for_a_quorum_of_nodes_to_see_the_failure(star4, raft_factory):
    sb = star4
    rc = cluster_on(raft_factory, sb)
    leader = rc.wait_leader()
    master = sb.key(sb.master)
    # The followers restart without the master in their topology (fresh local store, the
    # master ignored): they can never confirm its failure.
    esc = re.escape(master)
    for f in rc.followers(leader):
        f.restart(SQLite3DataFile=str(f.workdir / "fresh.sqlite3"),
                  DiscoverySeeds=[sb.key(n) for n in sb.replicas],
                  DiscoveryIgnoreHostnameFilters=[esc],
                  DiscoveryIgnoreMasterHostnameFilters=[esc])
    assert rc.wait_leader() is leader
    for f in rc.followers(leader):  # (their reads are forwarded: check their logs)
        wait_until(lambda f=f: f.current_log.count("+instance-discovered") >= 3, 10,
                   what=f"{f.name} probing the replicas")
        assert f"instance={master} " not in f.current_log
    time.sleep(3.5)
    sb.kill(sb.master)
    wait_until(lambda: leader.has_event("+recovery-awaiting-quorum"), 10,
               what="the leader waiting for a quorum")
    time.sleep(2)
    assert not acted(leader)
    assert all(sb.slave_status(n) is not None for n in sb.replicas)
