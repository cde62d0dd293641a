"""The new mutating routes under raft: a follower forwards them to the leader, their changes
are replicated commands applied on every node (pools, untag-all) with their audit entries, and
reelect hands leadership to another voter. Reads of a node's own state use the
X-Orchestrator-Forwarded header, which makes a follower answer itself."""
import socket

from orctest import wait_until

LOCAL = {"X-Orchestrator-Forwarded": "1"}


def ok(node, path, timeout=30, **kw):
    r = node.get(f"/api/{path}", timeout=timeout, **kw)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def local(node, path):
    return ok(node, path, headers=LOCAL, timeout=10)


def test_pools_and_untag_all_are_replicated_and_reelect_moves_the_leader(sandbox_factory,
                                                                         raft_factory):
    sb = sandbox_factory("star", 2)
    rc = raft_factory(3, sandbox=sb, DiscoverySeeds=[sb.key(n) for n in sb.names])
    leader = rc.wait_leader(timeout=15)
    master, replica = sb.key(sb.master), sb.key(sb.replicas[0])
    rc.wait_all(lambda n: len(n.api(f"cluster/{master}")) == 2, timeout=15,
                what="every node sees the topology")
    follower = rc.followers(leader)[0]
    ok(follower, f"submit-pool-instances/web?instances={replica}")  # forwarded
    want = {"web": [{"Hostname": "127.0.0.1", "Port": sb.port(sb.replicas[0])}]}
    rc.wait_all(lambda n: local(n, f"cluster-pool-instances/{master}")["Details"] == want, 10,
                what="the pool on every node")
    ok(follower, f"tag/127.0.0.1/{sb.port(sb.replicas[0])}/dc/east")
    rc.wait_all(lambda n: local(n, f"tags/127.0.0.1/{sb.port(sb.replicas[0])}") == ["dc=east"],
                10, what="the tag on every node")
    assert ok(follower, "untag-all/dc/east")["Details"] == want["web"]
    rc.wait_all(lambda n: local(n, f"tags/127.0.0.1/{sb.port(sb.replicas[0])}") == [], 10,
                what="the tag gone from every node")
    rc.wait_all(lambda n: {"submit-pool-instances", "untag"} <= {
        a["AuditType"] for a in local(n, "audit")}, 10, what="the audit entries everywhere")
    # reelect, sent to a follower, runs on the leader: another voter leads afterwards
    assert ok(follower, "reelect")["Message"] == "Set re-elections"
    new = wait_until(lambda: (lambda n: n if n is not leader else None)(rc.wait_leader()), 10,
                     what="a new leader")
    # grab-election is refused under raft (leadership comes from votes)
    r = new.get("/api/grab-election", timeout=10)
    assert r.status_code == 409 and "raft" in r.json()["Message"]


def test_raft_cli_commands_find_the_leader_and_elect_by_hint(raft3):
    rc = raft3
    leader = rc.wait_leader(timeout=15)
    env = {"ORCHESTRATOR_API": rc.orchestrator_api()}
    follower = rc.followers(leader)[0]
    proc = follower.cli("raft-leader-hostname", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [socket.gethostname()]
    # the hint names the follower (its raft address): leadership moves there
    hint = follower.raft_addr
    proc = follower.cli("raft-elect-leader", "--hostname", hint, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [hint]
    wait_until(lambda: rc.wait_leader() is follower, 10, what="the hinted node leading")
