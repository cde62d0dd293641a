"""The manager made highly available with raft: real orchestrator processes on loopback.

Reads of a node's own state use the X-Orchestrator-Forwarded header, which makes a follower
serve a proxied route itself (the proxy's loop guard) instead of forwarding it to the leader.
"""
import signal
import time

import pytest
import requests

from orctest import wait_until

LOCAL = {"X-Orchestrator-Forwarded": "1"}


def local(node, path, **kw):
    """GET /api/<path> answered by this node itself; returns the decoded body."""
    r = node.get("/api/" + path, headers=LOCAL, timeout=5, **kw)
    assert r.status_code == 200, (node.name, path, r.status_code, r.text)
    return r.json()


def ok(node, path, **kw):
    r = node.get("/api/" + path, timeout=15, **kw)
    assert r.status_code == 200, (node.name, path, r.status_code, r.text)
    return r.json()


def global_recoveries(node):
    return local(node, "check-global-recoveries")["Details"]


def has_instance(node, host, port):
    r = node.get(f"/api/instance/{host}/{port}", headers=LOCAL, timeout=5)
    return r.status_code == 200 and r.json()["Key"] == {"Hostname": host, "Port": port}


def test_three_nodes_elect_exactly_one_leader(raft3):
    leader = raft3.wait_leader(timeout=10)
    followers = [n for n in raft3.nodes if n is not leader]
    assert [f.leader_check() for f in followers] == [404, 404]
    assert leader.get("/api/leader-check/503").status_code == 200
    assert followers[0].get("/api/leader-check/503").status_code == 503
    # routed-leader-check is proxied: any node answers with the leader's verdict
    assert followers[0].get("/api/routed-leader-check").status_code == 200
    addrs = sorted(n.raft_addr for n in raft3.nodes)
    for node in raft3.nodes:
        assert node.get("/api/raft-state").json() == ("Leader" if node is leader else "Follower")
        assert node.get("/api/raft-leader").json() == leader.raft_addr
        assert sorted(node.get("/api/raft-peers").json()) == addrs
        assert node.get("/api/raft-health").json() == "healthy"
        st = node.raft_status()
        assert st["RaftAdvertise"] == node.raft_addr and st["IsPartOfQuorum"] is True
        assert st["LeaderURI"] == f"http://127.0.0.1:{leader.port}"
        details = node.get("/api/health").json()["Details"]
        assert details["RaftLeader"] == leader.raft_addr
        assert details["IsRaftLeader"] is (node is leader)
        assert details["RaftLeaderURI"] == f"http://127.0.0.1:{leader.port}"
        assert details["RaftAdvertise"] == node.raft_addr
    assert sorted(leader.raft_status()["HealthyMembers"]) == addrs
    # the CLI finds the leader among several API addresses, as orchestrator-client does
    out = followers[0].cli("which-api", env={"ORCHESTRATOR_API": raft3.orchestrator_api()})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == leader.api_base
    # raft-yield moves leadership to the named voter (sent to a follower: forwarded)
    target = followers[1]
    assert ok(followers[0], f"raft-yield/{target.raft_addr}")["Code"] == "OK"
    wait_until(lambda: raft3.leaders() == [target], 5, interval=0.02, what="target leads")


def test_discover_on_follower_is_forwarded_and_replicated(sandbox_factory, raft_factory):
    sb = sandbox_factory("star", 2)
    cluster = raft_factory(3, sandbox=sb)
    leader = cluster.wait_leader()
    follower = cluster.followers(leader)[0]
    body = ok(follower, f"discover/127.0.0.1/{sb.port('i1')}")
    assert body["Details"]["Key"] == {"Hostname": "127.0.0.1", "Port": sb.port("i1")}
    # every node probes on its own: the whole star appears in each one's local topology
    for name in ("i1", "i2"):
        cluster.wait_all(lambda n, p=sb.port(name): has_instance(n, "127.0.0.1", p), timeout=15,
                         what=f"{name} known to every node")
    # the leader did the discovery once; its audit entry is replicated: the same on every node
    def discovers(n):
        return [(a["AuditId"], a["AuditType"]) for a in local(n, "audit")
                if a["AuditType"] == "discover"]
    cluster.wait_all(lambda n: len(discovers(n)) == 1, timeout=10, what="one audit entry each")
    assert discovers(follower) == discovers(leader)


def test_follower_forwards_write_with_basic_auth(raft_factory):
    cluster = raft_factory(3, AuthenticationMethod="basic", HTTPAuthUser="ops",
                           HTTPAuthPassword="s3cret")
    leader = cluster.wait_leader()
    follower = cluster.followers(leader)[0]
    assert follower.get("/api/disable-global-recoveries").status_code == 401
    assert follower.get("/api/disable-global-recoveries",
                        auth=("ops", "wrong")).status_code == 401
    # POST with a body: method, body and credentials travel to the leader
    r = follower.post("/api/disable-global-recoveries", data=b'{"why":"test"}',
                      auth=("ops", "s3cret"), timeout=15)
    assert r.status_code == 200, r.text
    assert r.json()["Code"] == "OK"
    # (the leader wants the credentials too: without them it would have answered 401)
    auth = ("ops", "s3cret")
    cluster.wait_all(lambda n: n.get("/api/check-global-recoveries", headers=LOCAL, auth=auth)
                     .json()["Details"] == "disabled", what="disabled everywhere")
    r = follower.get("/api/enable-global-recoveries", auth=auth, timeout=15)
    assert r.status_code == 200, r.text
    assert leader.get("/api/check-global-recoveries", headers=LOCAL,
                      auth=auth).json()["Details"] == "enabled"


def test_leader_kill_elects_new_leader_that_serves_writes(raft3):
    leader = raft3.wait_leader()
    t0 = time.monotonic()
    leader.kill()
    new = raft3.wait_leader(timeout=10)
    elapsed = time.monotonic() - t0
    assert new is not leader
    assert elapsed < 5, elapsed
    # the survivors saw the dead leader's connection closed and campaigned at once
    # (raft_watch.c) instead of waiting out an election timeout
    assert any(n.has_event("+raft-leader-gone") for n in raft3.running), new.tail()
    other = next(n for n in raft3.running if n is not new)
    assert other.leader_check() == 404
    assert ok(other, "disable-global-recoveries")["Code"] == "OK"  # forwarded to the new leader
    raft3.wait_all(lambda n: global_recoveries(n) == "disabled", what="disabled on survivors")
    # the killed node comes back as a follower and catches up
    leader.start()
    wait_until(lambda: global_recoveries(leader) == "disabled", 10, what="caught up")
    assert leader.leader_check() == 404
    assert raft3.wait_leader() is new


def test_restarted_node_keeps_state_and_rejoins(sandbox_factory, raft_factory):
    sb = sandbox_factory("star", 2)
    cluster = raft_factory(3, sandbox=sb)
    leader = cluster.wait_leader()
    follower = cluster.followers(leader)[0]
    i1, i2 = sb.port("i1"), sb.port("i2")
    ok(follower, f"discover/127.0.0.1/{i1}")
    cluster.wait_all(lambda n: has_instance(n, "127.0.0.1", i2), timeout=15, what="star known")
    ok(follower, f"set-cluster-alias/127.0.0.1:{i1}?alias=shop")
    ok(follower, f"begin-downtime/127.0.0.1/{i2}/alice/upgrade/1h")
    assert ok(leader, "raft-snapshot") == "snapshot created"  # restart from snapshot + log

    def state(n):
        alias = local(n, f"cluster-info/127.0.0.1:{i1}")["ClusterAlias"]
        down = [d["Key"]["Port"] for d in local(n, "downtimed")]
        return alias, down

    cluster.wait_all(lambda n: state(n) == ("shop", [i2]), what="alias and downtime everywhere")
    follower.stop()
    ok(leader, f"end-downtime/127.0.0.1/{i2}")  # while it is away
    follower.start()
    wait_until(lambda: state(follower) == ("shop", []), 15, what="restarted node caught up")
    assert follower.leader_check() == 404
    # the whole cluster restarted keeps the state too
    for n in cluster.nodes:
        n.stop()
    cluster.start()
    cluster.wait_leader(timeout=15)
    cluster.wait_all(lambda n: state(n) == ("shop", []), timeout=15, what="state after restart")


def test_node_joins_and_is_removed_at_run_time(raft_factory):
    # A tiny snapshot threshold: the log is compacted, the new node gets a snapshot.
    raft3 = raft_factory(3, RaftSnapshotThreshold=2)
    leader = raft3.wait_leader()
    follower = raft3.followers(leader)[0]
    ok(follower, "disable-global-recoveries")
    ok(follower, "disable-global-recoveries")
    fourth = raft3.add_node("orc4")
    assert "bootstrap=no" in fourth.current_log
    assert fourth.get("/api/raft-state").json() == "Follower"
    # added through a follower: forwarded to the leader, which waits until it caught up
    assert ok(follower, f"raft-add-peer/{fourth.raft_addr}") == fourth.raft_addr
    members = {m["Address"]: m["Role"] for m in leader.raft_status()["Members"]}
    assert members[fourth.raft_addr] == "Voter" and len(members) == 4
    wait_until(lambda: global_recoveries(fourth) == "disabled", 10, what="4th has the state")
    assert fourth.has_event("+raft-restored"), fourth.tail()
    # the promotion is committed by the others first; the 4th learns it a heartbeat later
    wait_until(lambda: fourth.raft_status()["IsPartOfQuorum"] is True, 5,
               what="the 4th knows it is a voter")
    # adding it again changes nothing
    assert ok(leader, f"raft-add-peer/{fourth.raft_addr}") == fourth.raft_addr
    assert ok(follower, f"raft-remove-peer/{fourth.raft_addr}") == fourth.raft_addr
    assert sorted(leader.get("/api/raft-peers").json()) == sorted(n.raft_addr
                                                                  for n in raft3.nodes[:3])
    assert leader.get(f"/api/raft-remove-peer/{leader.raft_addr}").status_code == 400
    fourth.stop()  # removed by hand: it stays out while it runs (test_raft_membership.py)
    assert ok(follower, "enable-global-recoveries")["Code"] == "OK"


def test_nonvoter_joins_by_itself_forwards_writes_and_serves_reads(raft_factory):
    hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    cluster = raft_factory(3, hosts=hosts)
    leader = cluster.wait_leader()
    nv = cluster.add_node("nv", host="127.0.0.4", nonvoter=True)
    # it asks to be added (as a non-voter) at orchestrator's conventional URIs by itself
    wait_until(lambda: {m["Address"]: m["Role"] for m in leader.raft_status()["Members"]}
               .get(nv.raft_addr) == "NonVoter", 15, what="non-voter member")
    assert nv.leader_check() == 404
    assert nv.raft_status()["IsPartOfQuorum"] is False
    assert ok(nv, "disable-global-recoveries")["Code"] == "OK"  # forwarded
    cluster.wait_all(lambda n: global_recoveries(n) == "disabled", what="disabled everywhere")
    # losing a voter leaves a quorum of voters (the non-voter does not count)
    leader.kill()
    new = cluster.wait_leader(timeout=10)
    assert new is not nv
    # with no quorum left there is no leader: a voter cannot answer a (proxied) read, the
    # non-voter serves reads itself
    new.kill()
    voter = next(n for n in cluster.running if n is not nv)
    wait_until(lambda: voter.get("/api/check-global-recoveries", timeout=5).status_code == 503,
               10, what="voter without a leader")
    r = nv.get("/api/check-global-recoveries", timeout=5)
    assert r.status_code == 200 and r.json()["Details"] == "disabled"


def test_single_node_raft_with_empty_raft_nodes(orc_factory, tmp_path):
    from orctest import free_port
    orc = orc_factory(RaftEnabled=True, RaftNodes=[], RaftDataDir=str(tmp_path / "raft"),
                      RaftBind=f"127.0.0.1:{free_port()}")
    wait_until(lambda: orc.get("/api/leader-check").status_code == 200, 5, what="leader")
    assert orc.get("/api/raft-state").json() == "Leader"
    assert ok(orc, "disable-global-recoveries")["Code"] == "OK"
    assert ok(orc, "check-global-recoveries")["Details"] == "disabled"
    orc.restart()
    wait_until(lambda: orc.get("/api/leader-check").status_code == 200, 5, what="leader again")
    assert ok(orc, "check-global-recoveries")["Details"] == "disabled"
    assert (tmp_path / "raft").is_dir()


def test_planned_stop_of_leader_hands_over_fast(raft3):
    leader = raft3.wait_leader()
    others = [n for n in raft3.nodes if n is not leader]
    session = requests.Session()

    def new_leader():
        for n in others:
            try:
                if session.get(n.url("/api/leader-check"), timeout=0.5).status_code == 200:
                    return n
            except requests.RequestException:
                pass
        return None

    t0 = time.monotonic()
    leader.signal(signal.SIGTERM)
    new = wait_until(new_leader, 5, interval=0.005, what="a new leader")
    elapsed = time.monotonic() - t0
    # a hand-over (the leader's transfer, logged below) rather than an election after
    # the leader vanished; its speed is measured by tests/bench/raft_failover.py
    assert elapsed < 1.0, f"hand-over took {elapsed:.3f}s"
    assert leader.proc.wait(timeout=10) == 0
    assert leader.has_event("+raft-handover")
    assert new.get("/api/raft-leader").json() == new.raft_addr


def test_leader_removes_unreachable_peer_but_keeps_min_voters(raft_factory):
    cluster = raft_factory(3, RaftAutoRemoveUnreachableSeconds=2, RaftMinVoters=3)
    leader = cluster.wait_leader()
    fourth = cluster.add_node("orc4")
    assert ok(leader, f"raft-add-peer/{fourth.raft_addr}") == fourth.raft_addr

    def peers():
        return sorted(leader.get("/api/raft-peers", timeout=5).json())

    assert len(peers()) == 4
    fourth.kill()
    # 4 voters -> 3 is allowed: silent for more than 2 s, it is removed
    wait_until(lambda: fourth.raft_addr not in peers(), 15, what="unreachable peer removed")
    assert leader.has_event("+raft-auto-remove")
    # 3 voters -> 2 is not (RaftMinVoters 3): a dead follower stays a member
    follower = cluster.followers(leader)[0]
    follower.kill()
    wait_until(lambda: leader.has_event("+raft-auto-remove-skipped"), 15, what="removal refused")
    assert follower.raft_addr in peers()
    assert cluster.wait_leader() is leader


def test_stopped_then_resumed_leader_never_claims_leadership(raft3):
    leader = raft3.wait_leader()
    others = [n for n in raft3.nodes if n is not leader]
    leader.signal(signal.SIGSTOP)
    try:
        new = raft3.wait_leader(timeout=10, nodes=others)
    finally:
        leader.signal(signal.SIGCONT)
    session = requests.Session()
    deadline = time.monotonic() + 1.5
    answers = []
    while time.monotonic() < deadline:  # from the first instant after SIGCONT
        try:
            answers.append(session.get(leader.url("/api/leader-check"), timeout=1).status_code)
        except requests.RequestException:
            pass
    assert answers and 200 not in answers, answers
    assert raft3.wait_leader() is new
    assert leader.has_event("+raft-tilt")
    # a frozen leader closes no connection: the followers waited for the election timeout
    assert not any(n.has_event("+raft-leader-gone") for n in others)


def test_frozen_majority_resumes_with_the_same_leader_at_once(raft3):
    """The leader and a follower frozen together (the third cannot be elected alone): on resume
    the leader tilts, proves it still leads with a barrier of its term (raft.c confirm_tilt),
    and the follower does not campaign although its election timer ran out while frozen."""
    leader = raft3.wait_leader()
    term = leader.raft_status()["Term"]
    follower = raft3.followers(leader)[0]
    for n in (leader, follower):
        n.signal(signal.SIGSTOP)
    try:
        time.sleep(2.5)
    finally:
        for n in (follower, leader):
            n.signal(signal.SIGCONT)
    wait_until(lambda: leader.leader_check() == 200, 5, interval=0.02, what="the leader acts again")
    assert leader.has_event("+raft-tilt-confirmed"), leader.tail()
    assert raft3.wait_leader() is leader
    # no election happened: the term is the one before the freeze, on every node
    raft3.wait_all(lambda n: n.raft_status()["Term"] == term, timeout=5, what="the same term")
