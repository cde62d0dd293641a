"""Replicated state with a raft cluster of managers: one writer (the FSM's commands), the
same ids on every node, no silent divergence (a store of another raft log is refused, a
failing backend is retried, never skipped), annotations that hold for instances a node has not
probed yet, snapshots that never stall the loop, reports that cannot be forged, and forwarded
writes that are safe to retry."""
import os
import shutil
import signal
import threading
import time

import requests

from orctest import wait_until

LOCAL = {"X-Orchestrator-Forwarded": "1"}  # answered by the node itself

RECOVERY = {
    "RecoverMasterClusterFilters": ["*"],
    "RecoverIntermediateMasterClusterFilters": ["*"],
}


def hp(sb, name):
    return f"127.0.0.1/{sb.port(name)}"


def ok(node, path, timeout=30, **kw):
    r = node.get(f"/api/{path}", timeout=timeout, **kw)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def local(node, path, **kw):
    r = node.get(f"/api/{path}", headers=LOCAL, timeout=10, **kw)
    assert r.status_code == 200, (node.name, path, r.status_code, r.text)
    return r.json()


def seeded(raft_factory, sb, n=3, **config):
    user, password = sb.credentials("repl")
    cfg = {"DiscoverySeeds": [sb.key(x) for x in sb.names],
           "ReplicationCredentialsQuery": f"SELECT '{user}', '{password}', '', '', ''"}
    cfg.update(config)
    rc = raft_factory(n, sandbox=sb, **cfg)
    rc.wait_leader(timeout=15)
    master = sb.key(sb.master)
    rc.wait_all(lambda node: len(node.api(f"cluster/{master}")) == len(sb.names), timeout=15,
                what="every node sees the whole topology")
    return rc


def instance(node, sb, name):
    return local(node, f"instance/{hp(sb, name)}")


def maintenance_ids(node):
    return sorted(m["MaintenanceId"] for m in local(node, "maintenance"))


# ---- 1. one writer of operator state ------------------------------------------------------


def test_maintenance_survives_a_leader_change_with_the_same_id_everywhere(star4, raft_factory):
    sb = star4
    rc = seeded(raft_factory, sb)
    leader = rc.wait_leader()
    follower = rc.followers(leader)[0]
    ok(follower, f"begin-maintenance/{hp(sb, 'i2')}/tester/upgrade")  # forwarded
    rc.wait_all(lambda n: len(maintenance_ids(n)) == 1, 10, what="maintenance everywhere")
    ids = {n.name: maintenance_ids(n) for n in rc.running}
    assert len(set(map(tuple, ids.values()))) == 1, ids
    # the audit entry is replicated too, with the same id
    def audits(n):
        return [(a["AuditId"], a["AuditType"]) for a in local(n, "audit")
                if a["AuditType"] == "begin-maintenance"]
    rc.wait_all(lambda n: len(audits(n)) == 1, 10, what="audit entry everywhere")
    seen = {n.name: audits(n) for n in rc.running}
    assert len(set(map(tuple, seen.values()))) == 1, seen

    ok(leader, f"raft-yield/{follower.raft_addr}")
    new = rc.wait_leader(timeout=10)
    assert new is follower
    assert all(maintenance_ids(n) == ids[leader.name] for n in rc.running)
    assert instance(new, sb, "i2")["IsInMaintenance"] is True
    # ended by its id on the new leader: gone everywhere
    mid = ids[leader.name][0]
    ok(leader, f"end-maintenance/{mid}")  # forwarded to the new leader
    rc.wait_all(lambda n: maintenance_ids(n) == [], 10, what="maintenance ended everywhere")
    assert leader.get(f"/api/end-maintenance/{mid}", timeout=10).status_code == 404


def test_recovery_ids_and_acknowledgements_are_equal_on_every_node(star4, raft_factory):
    sb = star4
    rc = seeded(raft_factory, sb, **RECOVERY)
    cluster = rc.wait_leader().api("clusters")[0]
    for target in ("i2", "i3", "i2"):
        leader = rc.wait_leader()
        follower = rc.followers(leader)[0]
        body = ok(follower, f"graceful-master-takeover/{cluster}/{hp(sb, target)}", timeout=60)
        assert body["Details"]["IsSuccessful"] is True, body
        cluster = sb.key(target)
        rc.wait_all(lambda n, c=cluster: local(n, f"instance/{c.replace(':', '/')}")
                    ["ReadOnly"] is False, 15, what="new master seen")
        rid = body["Details"]["Id"]
        ok(follower, f"ack-recovery/{rid}?comment=checked")

    def recoveries(n):
        return [(r["Id"], r["UID"], r["Acknowledged"], r["AcknowledgedComment"])
                for r in local(n, "audit-recovery")]
    rc.wait_all(lambda n: len(recoveries(n)) == 3 and all(r[2] for r in recoveries(n)), 15,
                what="three acknowledged recoveries everywhere")
    seen = {n.name: recoveries(n) for n in rc.running}
    assert len(set(map(tuple, seen.values()))) == 1, seen
    assert sorted(r[0] for r in seen[rc.nodes[0].name]) == [1, 2, 3]


# ---- 3. no silent divergence --------------------------------------------------------------


def test_wiped_raft_dirs_with_kept_stores_refuse_to_start(raft3):
    leader = raft3.wait_leader()
    ok(leader, "disable-global-recoveries")
    raft3.wait_all(lambda n: local(n, "check-global-recoveries")["Details"] == "disabled", 10)
    for n in raft3.nodes:
        n.stop()
    for n in raft3.nodes:
        shutil.rmtree(n.config["RaftDataDir"])
        n.start(wait=False)
    for n in raft3.nodes:
        wait_until(lambda n=n: not n.running, 15, what=f"{n.name} refuses to start")
        assert n.returncode == 1
        assert "refusing to start" in n.current_log and "RaftDataDir" in n.current_log, n.tail()
        assert "+service-started" not in n.current_log


def _mysql_backend(sb):
    user, password = sb.credentials("backend")
    return {"BackendDB": "mysql", "MySQLOrchestratorHost": "127.0.0.1",
            "MySQLOrchestratorPort": sb.port("i1"), "MySQLOrchestratorDatabase": "orchestrator",
            "MySQLOrchestratorUser": user, "MySQLOrchestratorPassword": password,
            "MySQLOrchestratorReadTimeoutSeconds": 2, "MySQLConnectTimeoutSeconds": 1}


def test_follower_on_a_stalled_mysql_backend_still_applies_the_downtime(sandbox_factory,
                                                                       raft_factory):
    backend = sandbox_factory("single", 1)
    sb = sandbox_factory("star", 4)
    cfg = {"DiscoverySeeds": [sb.key(x) for x in sb.names]}
    rc = raft_factory(3, sandbox=sb, start=False, **cfg)
    on_mysql = rc.nodes[2]
    on_mysql.config.update(_mysql_backend(backend))
    rc.start()
    leader = rc.wait_leader(timeout=15)
    if leader is on_mysql:
        ok(leader, f"raft-yield/{rc.nodes[0].raft_addr}")
        leader = rc.wait_leader(timeout=10)
    rc.wait_all(lambda n: len(n.api(f"cluster/{sb.key('i1')}")) == 4, 15)
    mark = len(on_mysql.log)
    pid = backend.instance("i1")["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        ok(leader, f"begin-downtime/{hp(sb, 'i3')}/tester/stalled-backend/30m")
        time.sleep(5)
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: instance(on_mysql, sb, "i3")["IsDowntimed"] is True, 60,
               what="the follower on MySQL holds the downtime")
    assert "+raft-apply-retry" in on_mysql.log[mark:], on_mysql.tail()  # retried, not skipped
    assert "+raft-elected" not in on_mysql.log[mark:]
    wait_until(lambda: on_mysql.raft_status()["ApplierHealthy"] is True, 30)
    assert on_mysql.get("/api/health", timeout=5).status_code == 200


def test_two_nodes_sharing_one_mysql_backend_are_refused(sandbox_factory, raft_factory):
    backend = sandbox_factory("single", 1)
    rc = raft_factory(3, start=False)
    for n in rc.nodes[1:]:
        n.config.update(_mysql_backend(backend))
    rc.start(rc.nodes[:2])
    leader = rc.wait_leader(timeout=15)
    ok(leader, "disable-global-recoveries")
    second = rc.nodes[2]
    second.start(wait=False)
    wait_until(lambda: not second.running, 15, what="the second user of the store refuses")
    assert second.returncode == 1
    assert "another node uses the same backend" in second.current_log, second.tail()
    # the first one goes on applying
    ok(leader, "enable-global-recoveries")
    wait_until(lambda: local(rc.nodes[1], "check-global-recoveries")["Details"] == "enabled", 10)


def test_downtime_and_must_not_hold_on_a_node_that_joins_and_leads(star4, raft_factory):
    sb = star4
    rc = seeded(raft_factory, sb, RaftSnapshotThreshold=4)
    leader = rc.wait_leader()
    ok(leader, f"begin-downtime/{hp(sb, 'i3')}/tester/rules-hold/1h")
    ok(leader, f"register-candidate/{hp(sb, 'i4')}/must_not")
    for _ in range(6):  # enough entries for a snapshot: the 4th node starts from it
        ok(leader, "disable-global-recoveries")
    fourth = rc.add_node("orc4", DiscoverySeeds=[])
    ok(leader, f"raft-add-peer/{fourth.raft_addr}", timeout=40)
    ok(rc.wait_leader(), f"raft-yield/{fourth.raft_addr}")
    assert rc.wait_leader(timeout=10) is fourth
    wait_until(lambda: len(local(fourth, f"cluster/{sb.key('i1')}")) == 4, 20,
               what="the 4th node probed the topology")
    assert instance(fourth, sb, "i3")["IsDowntimed"] is True
    assert instance(fourth, sb, "i4")["PromotionRule"] == "must_not"


# ---- 2. the loop never stalls on our own work ----------------------------------------------


def test_snapshot_forced_during_a_failover_trips_no_tilt(star4, raft_factory):
    sb = star4
    rc = seeded(raft_factory, sb, **RECOVERY)
    time.sleep(3.3)  # the recovery loops act 3 poll intervals after start
    leader = rc.wait_leader()
    stop = threading.Event()

    def snapshots():
        while not stop.is_set():
            try:
                leader.get("/api/raft-snapshot", timeout=15)
            except requests.RequestException:
                pass
            time.sleep(0.05)
    t = threading.Thread(target=snapshots)
    t.start()
    try:
        sb.kill(sb.master)
        wait_until(lambda: any(r["IsSuccessful"] for r in leader.api("audit-recovery")), 30,
                   what="the failover completed")
    finally:
        stop.set()
        t.join()
    for n in rc.running:
        assert not n.has_event("+raft-tilt"), n.tail()
        assert n.has_event("+raft-snapshot"), n.tail()
        print(f"\n{n.name}: max loop stall {n.raft_status()['MaxLoopStallMillis']} ms")


# ---- 4. reports that cannot be forged ------------------------------------------------------


def test_forged_analysis_report_is_rejected(raft_factory):
    auth = ("ops", "s3cret")
    rc = raft_factory(3, AuthenticationMethod="multi", HTTPAuthUser="ops",
                      HTTPAuthPassword="s3cret")
    leader = rc.wait_leader()
    follower = rc.followers(leader)[0]
    path = "/api/raft-analysis-report/{}?failed=127.0.0.1:3306"
    # not a member
    r = leader.get(path.format("127.0.0.1:1"), auth=auth, timeout=5)
    assert r.status_code == 403, r.text
    # a member's name, but a read-only user
    r = leader.get(path.format(follower.raft_addr), auth=("readonly", "x"), timeout=5)
    assert r.status_code == 403, r.text
    # nor without credentials
    assert leader.get(path.format(follower.raft_addr), timeout=5).status_code == 401
    # the member itself, with write rights, is heard
    r = leader.get(path.format(follower.raft_addr), auth=auth, timeout=5)
    assert r.status_code == 200, r.text
    assert leader.has_event("+failure-report-refused")


# ---- 5. forwarded operations are safe to retry ---------------------------------------------


def test_forwarded_takeover_with_a_slow_hook_is_answered_and_runs_once(star4, raft_factory):
    sb = star4
    rc = seeded(raft_factory, sb, PreGracefulTakeoverProcesses=["sleep 12"])
    leader = rc.wait_leader()
    follower = rc.followers(leader)[0]
    cluster = leader.api("clusters")[0]
    path = f"/api/graceful-master-takeover/{cluster}/{hp(sb, 'i2')}"
    headers = {"X-Request-Id": "takeover-1"}
    t0 = time.monotonic()
    r = follower.get(path, headers=headers, timeout=90)
    took = time.monotonic() - t0
    assert r.status_code == 200, r.text
    assert r.json()["Details"]["IsSuccessful"] is True
    assert took >= 12, took
    # the client retries (e.g. after a 502): same id, the stored answer, nothing runs again
    again = follower.get(path, headers=headers, timeout=30)
    assert again.status_code == 200 and again.json() == r.json()
    assert leader.has_event("+request-replayed")
    time.sleep(1)
    assert len(leader.api("audit-recovery")) == 1
    assert leader.log.count("+hook-start list=PreGracefulTakeoverProcesses") == 1  # one run
    # the same id for another request is refused
    other = follower.get(f"/api/graceful-master-takeover/{cluster}/{hp(sb, 'i3')}",
                         headers=headers, timeout=30)
    assert other.status_code == 409
