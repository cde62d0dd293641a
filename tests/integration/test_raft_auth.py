"""Raft peers authenticate each other (RaftSecret): real orchestrator processes on loopback.

A 3-node cluster sharing a secret elects a leader and replicates writes; a node with a wrong
secret or none cannot join, vote or disturb it; a raw TCP client on the raft port is cut off
before raft sees anything it sends.
"""
import os
import socket
import struct
import time

import pytest

from orctest import wait_until
from orctest.util import free_port

SECRET = "s3cret-raft-peers-0123456789abcdef"
LOCAL = {"X-Orchestrator-Forwarded": "1"}


def local(node, path):
    r = node.get("/api/" + path, headers=LOCAL, timeout=5)
    assert r.status_code == 200, (node.name, path, r.status_code, r.text)
    return r.json()


def term(node):
    return node.raft_status()["Term"]


def recoveries(node):
    return local(node, "check-global-recoveries")["Details"]


@pytest.fixture
def secured(raft_factory):
    return raft_factory(3, RaftSecret=SECRET)


def test_three_nodes_with_a_secret_elect_and_replicate(secured):
    leader = secured.wait_leader(timeout=15)
    assert leader.has_event("+raft-peer-auth"), leader.tail()
    assert "mode=hmac-sha256" in leader.current_log
    r = leader.get("/api/disable-global-recoveries", timeout=15)
    assert r.status_code == 200, r.text
    secured.wait_all(lambda n: recoveries(n) == "disabled", what="write replicated")
    for node in secured.nodes:
        assert not node.has_event("+raft-peer-refused"), node.tail()


HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]


def members(leader):
    return {m["Address"]: m["Role"] for m in leader.raft_status()["Members"]}


def test_joiner_with_the_secret_joins_by_itself(raft_factory):
    cluster = raft_factory(3, hosts=HOSTS, RaftSecret=SECRET)
    leader = cluster.wait_leader(timeout=15)
    fourth = cluster.add_node("orc4", host="127.0.0.4")
    # it asks the leader (with its join proof) at the conventional URIs by itself; it joins as
    # a standby (a 4th voter would make the voters even) and follows the log
    wait_until(lambda: fourth.raft_addr in members(leader), 20, what="4th member")
    assert leader.get("/api/disable-global-recoveries", timeout=15).status_code == 200
    cluster.wait_all(lambda n: recoveries(n) == "disabled", what="write reaches the 4th")
    assert not leader.has_event("+raft-peer-refused"), leader.tail()


@pytest.mark.parametrize("bad", ["wrong-secret-0123456789abcdef", None])
def test_node_without_the_secret_cannot_join_or_disturb(raft_factory, bad):
    cluster = raft_factory(3, hosts=HOSTS, RaftSecret=SECRET)
    leader = cluster.wait_leader(timeout=15)
    t0 = term(leader)
    intruder = cluster.add_node("intruder", host="127.0.0.5", start=False, RaftSecret=bad)
    intruder.start(wait=False)
    # its own join requests are refused (no valid proof) ...
    wait_until(lambda: leader.has_event("+raft-peer-refused"), 20, what="join refused")
    assert f"join={intruder.raft_addr}" in leader.current_log
    # ... and so is adding it by hand without the proof
    r = leader.get(f"/api/raft-add-peer/{intruder.raft_addr}", timeout=15)
    assert r.status_code != 200 and "needs a valid proof" in r.text, r.text
    time.sleep(2)
    assert intruder.raft_addr not in members(leader)
    assert cluster.wait_leader(timeout=5, nodes=cluster.nodes[:3]) is leader
    assert term(leader) == t0
    assert leader.get("/api/enable-global-recoveries", timeout=15).status_code == 200
    cluster.wait_all(lambda n: recoveries(n) == "enabled", nodes=cluster.nodes[:3],
                     what="writes continue")


def test_intruder_listed_in_raft_nodes_cannot_vote(raft_factory):
    """A 4th node that every member lists (a configuration it may know) but that has the wrong
    secret: it campaigns forever, nobody grants it a vote, the leader stays, terms stay."""
    cluster = raft_factory(3, RaftSecret=SECRET)
    leader = cluster.wait_leader(timeout=15)
    t0 = term(leader)
    bad = cluster.add_node("bad", start=False, RaftSecret="another-secret-0123456789",
                           RaftNodes=cluster.raft_nodes + ["__self__"])
    bad.config["RaftNodes"] = cluster.raft_nodes + [bad.raft_addr]
    bad.start(wait=False)
    wait_until(lambda: bad.running and "+raft-started" in bad.current_log, 15,
               what="intruder started")
    wait_until(lambda: any(n.has_event("+raft-peer-refused") for n in cluster.nodes[:3]), 15,
               what="intruder refused by the members")
    time.sleep(3)  # several election timeouts of the intruder
    assert cluster.wait_leader(timeout=5, nodes=cluster.nodes[:3]) is leader
    assert term(leader) == t0
    assert bad.leader_check() != 200


def _preamble(server_id, address):
    """raft_uv_tcp's handshake: protocol 1, server id, address length, padded address."""
    addr = address.encode() + b"\0"
    addr += b"\0" * (-len(addr) % 8)
    return struct.pack("<QQQ", 1, server_id, len(addr)) + addr


def _disconnected(sock, timeout=8.0):
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_raw_tcp_client_is_cut_off_and_nothing_is_applied(secured):
    leader = secured.wait_leader(timeout=15)
    t0 = term(leader)
    host, port = leader.raft_addr.rsplit(":", 1)
    before = leader.raft_status()["CommitIndex"]
    # 1. garbage
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(os.urandom(4096))
        assert _disconnected(s)
    # 2. a valid transport preamble (claiming to be a member) followed by a forged raft
    #    message (RequestVote for a huge term) instead of the authentication handshake
    claimed = secured.nodes[1].raft_addr if secured.nodes[1] is not leader else \
        secured.nodes[2].raft_addr
    forged = struct.pack("<BBHIQ", 1, 1, 0, 0, 48) + struct.pack("<QQQQQQ", 1 << 40, 1, 1, 1, 0, 0)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(_preamble(12345, claimed) + forged + b"\0" * 64)
        assert _disconnected(s)
    wait_until(lambda: "bad handshake magic" in leader.current_log, 10, what="refusal logged")
    line = [ln for ln in leader.current_log.splitlines() if "+raft-peer-refused" in ln][-1]
    assert "remote=127.0.0.1:" in line
    # 3. silence after the preamble: dropped after the handshake timeout
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(_preamble(12345, claimed))
        assert _disconnected(s, timeout=10)
    assert secured.wait_leader(timeout=5) is leader
    assert term(leader) == t0
    assert leader.raft_status()["CommitIndex"] - before <= 2  # only the leader's own entries
    assert leader.get("/api/disable-global-recoveries", timeout=15).status_code == 200
    secured.wait_all(lambda n: recoveries(n) == "disabled", what="cluster still replicates")


def test_non_loopback_bind_without_secret_is_refused(orc_factory):
    port = free_port()
    orc = orc_factory(start=False, RaftEnabled=True, RaftBind=f"0.0.0.0:{port}",
                      RaftAdvertise=f"127.0.0.1:{port}", RaftDataDir="raft")
    orc.config["RaftDataDir"] = str(orc.workdir / "raft")
    orc.start(wait=False)
    wait_until(lambda: not orc.running, 15, what="refused to start")
    assert "RaftSecret" in orc.log and "not a loopback address" in orc.log, orc.tail()


def test_secret_file_must_not_be_world_readable(orc_factory, tmp_path):
    path = tmp_path / "raft.secret"
    path.write_text(SECRET + "\n")
    os.chmod(path, 0o644)
    orc = orc_factory(start=False, RaftEnabled=True, RaftSecretFile=str(path),
                      RaftDataDir=str(tmp_path / "raft"))
    orc.start(wait=False)
    wait_until(lambda: not orc.running, 15, what="refused to start")
    assert "RaftSecretFile" in orc.log and "accessible to others" in orc.log, orc.tail()
