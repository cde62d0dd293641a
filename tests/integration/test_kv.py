"""Publishing masters and the manager cluster to KV stores: a real etcd (plain, with
user/password, with TLS, paused during a failover), a real ZooKeeper, and Consul's HTTP API played
by a recording fake (no Consul server is packaged). See docs/kv.md."""
import re
import shutil
import socket
import time
from datetime import datetime

import pytest
import requests

from orctest import wait_until
from orctest.util import free_port
from orctest.certs import make_pki
from orctest.kvstores import Etcd, EtcdWatch, FakeConsul, ZooKeeper

ALIAS = "kvtest"
PREFIX = f"mysql/master/{ALIAS}"

needs_etcd = pytest.mark.skipif(shutil.which("etcd") is None or shutil.which("etcdctl") is None,
                                reason="etcd / etcdctl not installed (Debian etcd-server, "
                                       "etcd-client)")


def kv_orc(orc_factory, sandbox, **config):
    """An orchestrator recovering every cluster, the sandbox's cluster aliased ALIAS."""
    cfg = {
        "RecoverMasterClusterFilters": ["*"],
        "DiscoverySeeds": [sandbox.key(n) for n in sandbox.names],
        "ClusterNameToAlias": {".*": ALIAS},
        "KVPublishIntervalSeconds": 1,
        "KVStoreTimeoutMilliseconds": 1000,
    }
    cfg.update(config)
    orc = orc_factory(sandbox=sandbox, **cfg)
    started = time.monotonic()
    wait_until(lambda: len(orc.api(f"cluster/{sandbox.key(sandbox.master)}")) ==
               len(sandbox.names), 10, what="whole topology discovered")
    time.sleep(max(0.0, 3.3 - (time.monotonic() - started)))  # the loop's warm-up
    return orc


def master_pairs(sandbox, name):
    port = sandbox.port(name)
    return {PREFIX: f"127.0.0.1:{port}", f"{PREFIX}/hostname": "127.0.0.1",
            f"{PREFIX}/port": str(port), f"{PREFIX}/ipv4": "127.0.0.1", f"{PREFIX}/ipv6": ""}


def fail_over(sandbox):
    """Kills the master; returns the promoted replica's name."""
    sandbox.kill(sandbox.master)

    def promoted():
        for n in sandbox.replicas:
            if sandbox.slave_status(n) is None and \
                    sandbox.sql_value(n, "SELECT @@read_only") == 0:
                return n
        return None
    return wait_until(promoted, 15, what="a promoted writable master")


def failover_figures(orc):
    m = orc.wait_log(r"\+failover-done .*writable_after_ms=(\d+) total_ms=(\d+)", timeout=15)
    return int(m.group(1)), int(m.group(2))


@pytest.fixture
def etcd(tmp_path):
    e = Etcd(tmp_path).start()
    yield e
    e.stop()


# ---- etcd ---------------------------------------------------------------------------------


@needs_etcd
def test_failover_publishes_new_master_to_etcd_in_one_revision(star4, orc_factory, etcd):
    sb = star4
    orc = kv_orc(orc_factory, sb, EtcdEndpoints=etcd.endpoint)
    wait_until(lambda: etcd.get_prefix(PREFIX) == master_pairs(sb, sb.master), 10,
               what="the initial master published")
    watch = EtcdWatch(etcd, "mysql/master/")
    time.sleep(0.5)
    new = fail_over(sb)
    want = master_pairs(sb, new)
    wait_until(lambda: etcd.get_prefix(PREFIX) == want, 10, what="the new master in etcd")
    writable_ms, total_ms = failover_figures(orc)
    print(f"etcd up: writable_after_ms={writable_ms} total_ms={total_ms}")
    wait_until(lambda: watch.responses, 5, what="the watcher saw the change")
    watch.stop()
    changed = [ev for resp in watch.responses for ev in resp]
    # Everything that changed (the main key and the port) came in one revision, one response.
    assert {k for k, _, _ in changed} == {PREFIX, f"{PREFIX}/port"}, changed
    assert len({rev for _, _, rev in changed}) == 1, changed
    assert len(watch.responses) == 1, watch.responses
    orc.wait_log(r"\+kv-published alias=kvtest", timeout=10)  # the failover's own job
    audit = orc.api("audit")
    assert any(a["AuditType"] == "kv-published" for a in audit)
    # The internal store (kv_store, replicated by raft) holds the same pairs.
    assert internal_store(orc, PREFIX) == want
    # The old master comes back on its own (same alias through ClusterNameToAlias): it is fenced
    # and its cluster is the smaller one, so the keys never go back to it.
    old_host, old_port = sb.key(sb.master).split(":")
    sb.start(sb.master)
    wait_until(lambda: orc.api(f"instance/{old_host}/{old_port}").get("IsLastCheckValid"), 15,
               what="the old master seen again")
    time.sleep(3)  # three periodic passes
    assert etcd.get_prefix(PREFIX) == want


def internal_store(node, prefix):
    """The internal store's pairs under prefix as this node answers them (GET /api/kv?prefix=),
    from its own replicated copy."""
    res = node.get("/api/kv", params={"prefix": prefix}, timeout=5)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["Prefix"] == prefix and body["Truncated"] is False, body
    return {p["Key"]: p["Value"] for p in body["Pairs"]}


def test_internal_store_read_routes(star4, orc_factory):
    sb = star4
    orc = kv_orc(orc_factory, sb, KVPublishIntervalSeconds=1)
    want = master_pairs(sb, sb.master)
    wait_until(lambda: internal_store(orc, PREFIX) == want, 10,
               what="the master in the internal store")
    one = orc.get(f"/api/kv/{PREFIX}/port", timeout=5)
    assert one.status_code == 200 and one.json() == {"Key": f"{PREFIX}/port",
                                                     "Value": str(sb.port(sb.master))}
    assert orc.api(f"kv/{PREFIX}") == {"Key": PREFIX, "Value": sb.key(sb.master)}
    missing = orc.get(f"/api/kv/{PREFIX}/no-such-key", timeout=5)
    assert missing.status_code == 404 and missing.json()["Code"] == "ERROR", missing.text
    assert internal_store(orc, "no/such/prefix/") == {}
    everything = orc.api("kv")  # no prefix: every pair, bounded
    assert {p["Key"] for p in everything["Pairs"]} >= set(want)
    cut = orc.api("kv", params={"prefix": PREFIX, "limit": 2})
    assert len(cut["Pairs"]) == 2 and cut["Truncated"] is True, cut
    assert orc.get("/api/kv", params={"limit": 0}, timeout=5).status_code == 400
    assert orc.get("/api/kv", params={"limit": 10001}, timeout=5).status_code == 400
    assert orc.get("/api/kv/" + "k" * 300, timeout=5).status_code == 400


def test_internal_store_read_routes_need_read_auth(star4, orc_factory):
    sb = star4
    orc = orc_factory(sandbox=sb, start=False, DiscoverySeeds=[sb.key(sb.master)],
                      ClusterNameToAlias={".*": ALIAS}, KVPublishIntervalSeconds=1,
                      AuthenticationMethod="basic", HTTPAuthUser="reader",
                      HTTPAuthPassword="reader-pw")
    orc.http_kw = {"auth": ("reader", "reader-pw")}
    orc.start()
    wait_until(lambda: internal_store(orc, PREFIX) == master_pairs(sb, sb.master), 15,
               what="the master in the internal store")
    assert requests.get(orc.url(f"/api/kv/{PREFIX}"), timeout=5).status_code == 401
    assert requests.get(orc.url("/api/kv"), timeout=5).status_code == 401


@needs_etcd
def test_etcd_paused_during_failover_does_not_slow_it_and_converges(star4, orc_factory, etcd):
    sb = star4
    orc = kv_orc(orc_factory, sb, EtcdEndpoints=etcd.endpoint, KVStoreTimeoutMilliseconds=3000)
    wait_until(lambda: etcd.get_prefix(PREFIX) == master_pairs(sb, sb.master), 10,
               what="the initial master published")
    etcd.pause()  # accepts connections (kernel backlog), never answers: the worst case
    try:
        new = fail_over(sb)
        writable_ms, total_ms = failover_figures(orc)
        print(f"etcd paused: writable_after_ms={writable_ms} total_ms={total_ms}")
        # A blocking publish would cost at least the store timeout (3000 ms) per try.
        assert total_ms < 3000, (writable_ms, total_ms)
        orc.wait_log(r"\+kv-store-down store=etcd", timeout=10)
        health = orc.api("health")
        stores = {s["Store"]: s for s in health["Details"]["KVStores"]}
        assert stores["etcd"]["Healthy"] is False
        metrics = orc.get("/metrics").text
        assert 'orchestrator_kv_store_up{store="etcd"} 0' in metrics
    finally:
        etcd.resume()
    wait_until(lambda: etcd.get_prefix(PREFIX) == master_pairs(sb, new), 15,
               what="the new master published once etcd is back")
    wait_until(lambda: 'orchestrator_kv_store_up{store="etcd"} 1' in orc.get("/metrics").text,
               10, what="etcd up again in /metrics")


@needs_etcd
def test_graceful_takeover_publishes_successor_to_etcd(star4, orc_factory, etcd):
    sb = star4
    user, password = sb.credentials("repl")
    orc = kv_orc(orc_factory, sb, EtcdEndpoints=etcd.endpoint, KVPublishIntervalSeconds=3600,
                 ReplicationCredentialsQuery=f"SELECT '{user}', '{password}', '', '', ''")
    wait_until(lambda: etcd.get_prefix(PREFIX) == master_pairs(sb, sb.master), 10,
               what="the initial master published")
    host, port = sb.key("i2").split(":")
    body = orc.api(f"graceful-master-takeover/{ALIAS}/{host}/{port}", timeout=60)
    assert body["Code"] == "OK", body
    # Published by the takeover's own job: the periodic pass is an hour away.
    wait_until(lambda: etcd.get_prefix(PREFIX) == master_pairs(sb, "i2"), 10,
               what="the successor published after the takeover")


@needs_etcd
def test_etcd_with_user_and_password(star4, orc_factory, etcd):
    etcd.ctl("user", "add", "root:rootpw")
    etcd.ctl("user", "add", "orc:orcpw")
    etcd.ctl("role", "add", "publisher")
    etcd.ctl("role", "grant-permission", "publisher", "--prefix=true", "readwrite", "mysql/")
    etcd.ctl("user", "grant-role", "orc", "publisher")
    etcd.ctl("auth", "enable")
    etcd.user = "root:rootpw"
    sb = star4
    orc = kv_orc(orc_factory, sb, EtcdEndpoints=etcd.endpoint, EtcdUser="orc",
                 EtcdPassword="orcpw", KVManagerPrefix="")
    wait_until(lambda: etcd.get_prefix(PREFIX) == master_pairs(sb, sb.master), 10,
               what="the master published with a token")
    assert "orcpw" not in orc.current_log
    dump = orc.cli("dump-config").stdout
    assert "orcpw" not in dump


@needs_etcd
def test_etcd_over_tls_with_client_certificate_from_the_environment(star4, orc_factory,
                                                                    tmp_path):
    pki = make_pki(tmp_path / "pki", clients={"kvclient": None})
    e = Etcd(tmp_path, tls=(pki["ca"], pki["server-cert"], pki["server-key"]))
    e.client_cert, e.client_key = pki["kvclient-cert"], pki["kvclient-key"]
    e.start()
    try:
        sb = star4
        env = {"ETCD_ENDPOINTS": f"127.0.0.1:{e.client_port}", "ETCD_CACERT": pki["ca"],
               "ETCD_CLIENT_CERT": pki["kvclient-cert"], "ETCD_CLIENT_KEY": pki["kvclient-key"]}
        orc = kv_orc_env(orc_factory, sb, env)
        wait_until(lambda: e.get_prefix(PREFIX) == master_pairs(sb, sb.master), 10,
                   what="the master published over TLS")
        assert orc.has_event("+kv-started")
    finally:
        e.stop()


def kv_orc_env(orc_factory, sandbox, env):
    """kv_orc, with environment variables for the service process."""
    import os
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return kv_orc(orc_factory, sandbox)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@needs_etcd
def test_submit_masters_to_kv_stores_cli_and_api(star4, orc_factory, etcd):
    sb = star4
    dead = free_port()  # nothing listens there: the next endpoint answers
    orc = kv_orc(orc_factory, sb, EtcdEndpoints=f"http://127.0.0.1:{dead}, {etcd.endpoint}",
                 KVPublishIntervalSeconds=3600)
    time.sleep(1.5)  # the first pass (1 s after start) published; wipe it
    etcd.ctl("del", "--prefix", "mysql/")
    assert etcd.get_prefix(PREFIX) == {}
    res = orc.cli("submit-masters-to-kv-stores", "-a", ALIAS)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    want = master_pairs(sb, sb.master)
    assert lines == [f"{k}:{v}" for k, v in want.items()]
    assert etcd.get_prefix(PREFIX) == want
    etcd.ctl("del", "--prefix", "mysql/")
    body = orc.api("submit-masters-to-kv-stores")
    assert body["Code"] == "OK" and body["Message"] == "Submitted 1 masters"
    assert {p["Key"]: p["Value"] for p in body["Details"]} == want
    assert etcd.get_prefix(PREFIX) == want
    etcd.ctl("del", "--prefix", "mysql/")
    res = orc.cli("submit-masters-to-kv-stores")  # every cluster
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == lines
    assert etcd.get_prefix(PREFIX) == want
    body = orc.api(f"submit-masters-to-kv-stores/{ALIAS}")
    assert body["Code"] == "OK" and len(body["Details"]) == 5
    missing = orc.get("/api/submit-masters-to-kv-stores/no-such-cluster")
    assert missing.status_code == 404 and missing.json()["Code"] == "ERROR"


@needs_etcd
def test_manager_members_published_and_removed_node_disappears(raft_factory, etcd):
    cluster = raft_factory(3, EtcdEndpoints=etcd.endpoint, KVPublishIntervalSeconds=1)
    leader = cluster.wait_leader()
    addrs = sorted(n.raft_addr for n in cluster.nodes)

    def members():
        kv = etcd.get_prefix("orchestrator/cluster/")
        return {k.rsplit("/", 1)[1]: v for k, v in kv.items() if "/members/" in k}, kv

    got = wait_until(lambda: sorted(members()[0]) == addrs and members(), 15,
                     what="three members published")
    kv = got[1]
    assert kv["orchestrator/cluster/leader"].startswith("http://127.0.0.1:")
    assert kv["orchestrator/cluster/leader/raft"] == leader.raft_addr
    import json
    roles = {a: json.loads(v) for a, v in got[0].items()}
    assert all(r["Role"] == "voter" for r in roles.values())
    assert roles[leader.raft_addr]["Leader"] is True
    gone = next(n for n in cluster.nodes if n is not leader)
    gone.stop()
    res = leader.api(f"raft-remove-peer/{gone.raft_addr}")
    assert "Code" not in res or res["Code"] == "OK", res
    wait_until(lambda: sorted(members()[0]) == sorted(a for a in addrs if a != gone.raft_addr),
               15, what="the removed node gone from etcd")


def test_follower_answers_internal_store_reads_like_the_leader_after_failover(star4,
                                                                              raft_factory):
    sb = star4
    cfg = {"RecoverMasterClusterFilters": ["*"], "ClusterNameToAlias": {".*": ALIAS},
           "DiscoverySeeds": [sb.key(n) for n in sb.names], "KVPublishIntervalSeconds": 1}
    rc = raft_factory(3, sandbox=sb, **cfg)
    leader = rc.wait_leader(timeout=15)
    followers = [n for n in rc.nodes if n is not leader]
    rc.wait_all(lambda n: internal_store(n, PREFIX) == master_pairs(sb, sb.master), 20,
                what="the first master in every node's internal store")
    new = fail_over(sb)
    want = master_pairs(sb, new)
    wait_until(lambda: internal_store(leader, PREFIX) == want, 15,
               what="the new master in the leader's internal store")
    rc.wait_all(lambda n: internal_store(n, PREFIX) == want, 10,
                what="the new master replicated to every node")
    for f in followers:
        assert f.api(f"kv/{PREFIX}/port") == leader.api(f"kv/{PREFIX}/port") == \
            {"Key": f"{PREFIX}/port", "Value": str(sb.port(new))}
    # Served from the follower's own copy, not forwarded: still answered with the leader gone.
    leader.kill()
    for f in followers:
        assert internal_store(f, PREFIX) == want


@needs_etcd
def test_read_only_or_unreachable_master_is_never_published(star4, orc_factory, etcd):
    sb = star4
    orc = kv_orc(orc_factory, sb, EtcdEndpoints=etcd.endpoint, RecoverMasterClusterFilters=[],
                 KVPublishIntervalSeconds=3600)
    host, port = sb.key(sb.master).split(":")
    want = master_pairs(sb, sb.master)
    wait_until(lambda: etcd.get_prefix(PREFIX) == want, 10, what="the master published")
    # Read-only: nothing is written, and the pairs the stores hold are left as they are.
    sb.sql(sb.master, "SET GLOBAL read_only = 1")
    wait_until(lambda: orc.api(f"instance/{host}/{port}")["ReadOnly"], 10,
               what="the master seen read-only")
    body = orc.api("submit-masters-to-kv-stores")
    assert body["Code"] == "OK" and body["Message"] == "Submitted 0 masters", body
    assert etcd.get_prefix(PREFIX) == want and internal_store(orc, PREFIX) == want
    etcd.ctl("del", "--prefix", "mysql/")
    assert orc.api("submit-masters-to-kv-stores")["Message"] == "Submitted 0 masters"
    assert etcd.get_prefix(PREFIX) == {}
    # Writable again: published again.
    sb.sql(sb.master, "SET GLOBAL read_only = 0")
    wait_until(lambda: not orc.api(f"instance/{host}/{port}")["ReadOnly"], 10,
               what="the master seen writable")
    assert orc.api("submit-masters-to-kv-stores")["Message"] == "Submitted 1 masters"
    assert etcd.get_prefix(PREFIX) == want
    # Unreachable (no recovery here): nothing is written.
    etcd.ctl("del", "--prefix", "mysql/")
    sb.kill(sb.master)
    wait_until(lambda: not orc.api(f"instance/{host}/{port}")["IsLastCheckValid"], 10,
               what="the master seen unreachable")
    assert orc.api("submit-masters-to-kv-stores")["Message"] == "Submitted 0 masters"
    assert etcd.get_prefix(PREFIX) == {}
    assert internal_store(orc, PREFIX) == want  # the last published value is kept


@needs_etcd
def test_first_etcd_endpoint_hanging_fails_over_within_the_timeout(star4, orc_factory, etcd):
    # Accepts connections (the kernel's backlog) and never reads or answers.
    hang = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    try:
        sb = star4
        port = hang.getsockname()[1]
        orc = kv_orc(orc_factory, sb, LogLevel="debug", KVStoreTimeoutMilliseconds=1000,
                     EtcdEndpoints=f"http://127.0.0.1:{port},{etcd.endpoint}")
        want = master_pairs(sb, sb.master)
        wait_until(lambda: etcd.get_prefix(PREFIX) == want, 10,
                   what="the master published through the second endpoint")
        failed = orc.wait_log(r"^(\S+ \S+) DEBUG \+kv-etcd-endpoint-failed endpoint=\S+:%d "
                              r"error=\"[^\"]*after (\d+) milliseconds" % port, timeout=5)
        published = orc.wait_log(r"^(\S+ \S+) \S+ \+planned-op type=kv-published .* to "
                                 r"\S*etcd", timeout=5)
        waited_ms = int(failed.group(2))
        then = [datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f") for m in (failed, published)]
        after_ms = (then[1] - then[0]).total_seconds() * 1000
        print(f"hanging endpoint: given up after {waited_ms} ms, published {after_ms:.0f} ms later")
        assert 900 <= waited_ms <= 1500, waited_ms  # KVStoreTimeoutMilliseconds bounds the wait
        assert 0 <= after_ms < 1000, after_ms
        assert not orc.has_event("+kv-store-down")
        # The endpoint that answered is tried first from then on: on demand is fast.
        etcd.ctl("del", "--prefix", "mysql/")
        t0 = time.monotonic()
        assert orc.api("submit-masters-to-kv-stores")["Message"] == "Submitted 1 masters"
        assert time.monotonic() - t0 < 1.0
        assert etcd.get_prefix(PREFIX) == want
    finally:
        hang.close()


# ---- ZooKeeper ----------------------------------------------------------------------------


@pytest.mark.skipif(not ZooKeeper.available(), reason="ZooKeeper server not installed (Debian "
                                                      "zookeeper, java)")
def test_failover_publishes_new_master_to_zookeeper(star4, orc_factory, tmp_path):
    zk = ZooKeeper(tmp_path)
    try:
        zk.start(timeout=90)
    except TimeoutError:
        zk.stop()
        pytest.fail("the ZooKeeper server did not start within 90 s: see zk.log")
    try:
        sb = star4
        orc = kv_orc(orc_factory, sb, ZkAddress=f"127.0.0.1:{zk.port}")
        new = None

        def zk_value(path):
            res = zk.cli("get", path)
            lines = [ln for ln in res.stdout.splitlines() if ln and not ln.startswith(
                ("Connecting", "WATCHER", "WatchedEvent", "JLine", "Welcome", "log4j", "SLF4J"))
                and "INFO" not in ln and "WARN" not in ln]
            return lines[-1] if lines else None

        wait_until(lambda: zk_value(f"/{PREFIX}") == sb.key(sb.master), 30,
                   interval=1, what="the initial master in ZooKeeper")
        new = fail_over(sb)
        wait_until(lambda: zk_value(f"/{PREFIX}") == sb.key(new), 30, interval=1,
                   what="the new master in ZooKeeper")
        assert zk_value(f"/{PREFIX}/port") == str(sb.port(new))
        assert orc.has_event("+kv-published")
    finally:
        zk.stop()


# ---- Consul (recorded exchange) -------------------------------------------------------------


def test_consul_txn_requests_match_the_documented_api(star4, orc_factory):
    consul = FakeConsul()
    try:
        sb = star4
        orc = kv_orc(orc_factory, sb, ConsulAddress=f"127.0.0.1:{consul.port}",
                     ConsulKVStoreProvider="consul-txn", ConsulAclToken="s3cret-token")
        want = master_pairs(sb, sb.master)
        wait_until(lambda: all(consul.kv["dc1"].get(k) == v for k, v in want.items()), 10,
                   what="the master published to the fake Consul")
        txns = [r for r in consul.requests if r["path"] == "/v1/txn"]
        assert txns, consul.requests
        import json
        import base64
        ops = json.loads(txns[0]["body"])
        # One transaction for the cluster's five keys: [{"KV": {"Verb","Key","Value"(base64)}}]
        assert [op["KV"]["Verb"] for op in ops] == ["set"] * 5
        assert {op["KV"]["Key"]: base64.b64decode(op["KV"]["Value"]).decode()
                for op in ops} == want
        assert all(r["token"] == "s3cret-token" for r in consul.requests)
        reads = [r for r in consul.requests if r["path"].startswith("/v1/kv/")]
        assert reads and all(r["method"] == "GET" and "recurse" in r["path"] for r in reads)
        assert "s3cret-token" not in orc.current_log
        new = fail_over(sb)
        want = master_pairs(sb, new)
        wait_until(lambda: all(consul.kv["dc1"].get(k) == v for k, v in want.items()), 10,
                   what="the new master published to the fake Consul")
        # Only what changed is written, still in one transaction.
        last = json.loads([r for r in consul.requests if r["path"] == "/v1/txn"][-1]["body"])
        assert {op["KV"]["Key"] for op in last} <= {PREFIX, f"{PREFIX}/port"} | {
            k for k in consul.kv["dc1"] if k.startswith("orchestrator/")}
    finally:
        consul.stop()


def test_consul_key_per_request_and_cross_datacenter(star4, orc_factory):
    consul = FakeConsul(datacenters=("dc1", "dc2"))
    try:
        sb = star4
        kv_orc(orc_factory, sb, ConsulAddress=f"http://127.0.0.1:{consul.port}",
               ConsulCrossDataCenterDistribution=True, KVManagerPrefix="")
        want = master_pairs(sb, sb.master)
        for dc in ("dc1", "dc2"):
            wait_until(lambda dc=dc: all(consul.kv[dc].get(k) == v for k, v in want.items()), 10,
                       what=f"the master published in {dc}")
        puts = [r for r in consul.requests if r["method"] == "PUT"]
        assert all(re.match(r"^/v1/kv/mysql/master/kvtest(/\w+)?\?dc=dc[12]$", r["path"])
                   for r in puts), puts
        # A value lost in one data center is written there again.
        consul.kv["dc2"].pop(PREFIX)
        wait_until(lambda: consul.kv["dc2"].get(PREFIX) == want[PREFIX], 10,
                   what="dc2 repaired by the periodic pass")
    finally:
        consul.stop()


# ---- cluster domain -------------------------------------------------------------------------


def test_cluster_domain_detected_shown_and_passed_to_hooks(star4, orc_factory, tmp_path):
    sb = star4
    trace = tmp_path / "hook.txt"
    orc = kv_orc(orc_factory, sb, DetectClusterDomainQuery="SELECT 'db.example.com'",
                 PostMasterFailoverProcesses=[f"echo domain={{failureClusterDomain}} >> {trace}"])
    info = wait_until(lambda: [c for c in orc.api("clusters-info")
                               if c["ClusterDomain"] == "db.example.com"], 10,
                      what="ClusterDomain in clusters-info")
    assert info[0]["ClusterAlias"] == ALIAS
    fail_over(sb)
    wait_until(lambda: trace.exists() and "domain=db.example.com" in trace.read_text(), 15,
               what="{failureClusterDomain} in the hook")


def test_consul_over_https_from_the_environment(star4, orc_factory, tmp_path):
    pki = make_pki(tmp_path / "pki", clients={})
    # A certificate for wrong.example only: verified only through CONSUL_TLS_SERVER_NAME.
    consul = FakeConsul(tls=(pki["wrongname-cert"], pki["wrongname-key"]))
    try:
        sb = star4
        env = {"CONSUL_HTTP_ADDR": f"https://127.0.0.1:{consul.port}",
               "CONSUL_CACERT": pki["ca"], "CONSUL_HTTP_TOKEN": "env-token",
               "CONSUL_TLS_SERVER_NAME": "wrong.example"}
        kv_orc_env(orc_factory, sb, env)
        want = master_pairs(sb, sb.master)
        wait_until(lambda: all(consul.kv["dc1"].get(k) == v for k, v in want.items()), 10,
                   what="the master published over https")
        assert all(r["token"] == "env-token" for r in consul.requests)
    finally:
        consul.stop()


def test_consul_https_and_client_certificate_from_the_environment(star4, orc_factory, tmp_path):
    pki = make_pki(tmp_path / "pki", clients={"kvclient": None})
    # Requires a client certificate signed by the test CA.
    consul = FakeConsul(tls=(pki["server-cert"], pki["server-key"], pki["ca"]))
    try:
        sb = star4
        env = {"CONSUL_HTTP_ADDR": f"127.0.0.1:{consul.port}", "CONSUL_HTTP_SSL": "true",
               "CONSUL_CACERT": pki["ca"], "CONSUL_CLIENT_CERT": pki["kvclient-cert"],
               "CONSUL_CLIENT_KEY": pki["kvclient-key"]}
        kv_orc_env(orc_factory, sb, env)
        want = master_pairs(sb, sb.master)
        wait_until(lambda: all(consul.kv["dc1"].get(k) == v for k, v in want.items()), 10,
                   what="the master published over https with a client certificate")
        assert consul.requests and all(r["client"] == "kvclient" for r in consul.requests)
    finally:
        consul.stop()
