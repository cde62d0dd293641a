"""Errant GTIDs on real MariaDB sandboxes: a transaction written directly on a replica is seen
(GtidErrant, Problems, the analysis), located in its binary logs, removed with
gtid-errant-reset-master or made harmless with gtid-errant-inject-empty (replication checked with
SQL afterwards), and a replica holding one is passed over by a failover."""
import time
import uuid

from orctest import wait_until

POLL = 1.0
FORWARDED = {"X-Orchestrator-Forwarded": "1"}  # a raft node answers itself (loop guard)


def hp(sb, name):
    return f"127.0.0.1/{sb.port(name)}"


def get(orc, path, **kw):
    resp = orc.get("/api/" + path.lstrip("/"), **kw)
    return resp.status_code, resp.json()


def ok(orc, path, **kw):
    status, body = get(orc, path, **kw)
    assert status == 200, f"{path}: {status} {body}"
    if isinstance(body, dict) and "Code" in body:
        assert body["Code"] == "OK", f"{path}: {body}"
    return body


def start(orc_factory, sb, **config):
    cfg = {"DiscoverySeeds": [sb.key(n) for n in sb.names]}
    cfg.update(config)
    orc = orc_factory(sandbox=sb, **cfg)
    wait_until(lambda: len(ok(orc, f"cluster/{sb.key(sb.master)}", **auth_kw(cfg))) ==
               len(sb.names), 10, what="whole topology discovered")
    return orc


def auth_kw(cfg):
    if cfg.get("AuthenticationMethod") == "multi":
        return {"auth": (cfg["HTTPAuthUser"], cfg["HTTPAuthPassword"])}
    return {}


def errant_write(sb, name):
    """A transaction written directly on a replica (sql_log_bin on): returns its GTID."""
    sb.sql(sb.master, "CREATE TABLE IF NOT EXISTS test.errant (v VARCHAR(64) PRIMARY KEY)")
    sb.wait_replicating()
    wait_until(lambda: sb.sql_value(name, "SELECT COUNT(*) FROM information_schema.tables "
                                          "WHERE table_schema='test' AND table_name='errant'") == 1,
               10, what="table on the replica")
    assert sb.sql_value(name, "SELECT @@sql_log_bin") == 1
    sb.sql(name, "INSERT INTO test.errant VALUES (%s)", (uuid.uuid4().hex,))
    sid = sb.sql_value(name, "SELECT @@server_id")
    state = sb.sql_value(name, "SELECT @@gtid_binlog_state")
    mine = [e for e in state.split(",") if e.split("-")[1] == str(sid)]
    assert len(mine) == 1, state
    return mine[0]


def instance(orc, sb, name, **kw):
    return ok(orc, f"instance/{hp(sb, name)}", **kw)


def errant_of(orc, sb, name, **kw):
    return instance(orc, sb, name, **kw)["GtidErrant"]


def assert_replicates_new_writes(sb, names):
    token = uuid.uuid4().hex
    sb.sql(sb.master, "CREATE TABLE IF NOT EXISTS test.after (v VARCHAR(64))")
    sb.sql(sb.master, "INSERT INTO test.after VALUES (%s)", (token,))
    for n in names:
        wait_until(lambda n=n: sb.sql_value(n, "SELECT COUNT(*) FROM test.after WHERE v=%s",
                                            (token,)) == 1, 10, what=f"new write on {n}")
        st = sb.slave_status(n)
        assert st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes", st
        assert st["Last_SQL_Error"] == "" and st["Last_IO_Error"] == "", st


def test_write_on_replica_shows_errant_gtid_problem_and_binlog(star4, orc_factory):
    sb = star4
    orc = start(orc_factory, sb)
    i2 = sb.replicas[0]
    for n in sb.names:  # clean to begin with
        assert errant_of(orc, sb, n) == "", n
    gtid = errant_write(sb, i2)
    wait_until(lambda: errant_of(orc, sb, i2) != "", 3 * POLL + 2, what="GtidErrant on i2")
    inst = instance(orc, sb, i2)
    assert inst["GtidErrant"] == gtid
    assert inst["ExecutedGtidSet"] == sb.sql_value(i2, "SELECT @@gtid_binlog_state")
    assert inst["UsingMariaDBGTID"] is True and inst["SupportsOracleGTID"] is False
    assert "errant_gtid" in inst["Problems"]
    for n in sb.names:
        if n != i2:
            assert errant_of(orc, sb, n) == "", n
    problems = ok(orc, "problems")
    assert [p["Key"]["Port"] for p in problems if "errant_gtid" in p["Problems"]] == \
        [sb.port(i2)]
    analysis = ok(orc, "replication-analysis")["Details"]
    master = [a for a in analysis if a["AnalyzedInstanceKey"]["Port"] == sb.port(sb.master)]
    assert master and "ErrantGTIDStructureWarning" in master[0]["StructureAnalysis"], analysis
    # the binary log that holds it is the current one (it was written just now)
    current = sb.sql(i2, "SHOW MASTER STATUS")[0][0]
    env = ok(orc, f"locate-gtid-errant/{hp(sb, i2)}")
    assert env["Details"] == [current]
    cli = orc.cli("locate-gtid-errant", "-i", sb.key(i2))
    assert cli.returncode == 0 and cli.stdout.split() == [current], cli
    assert orc.cli("which-gtid-errant", "-i", sb.key(i2)).stdout.strip() == gtid
    # a clean replica has nothing to locate
    status, body = get(orc, f"locate-gtid-errant/{hp(sb, sb.replicas[1])}")
    assert status == 409 and "no errant GTID" in body["Message"], body


def test_gtid_errant_reset_master_removes_it_and_replication_runs(star4, orc_factory):
    sb = star4
    admin = ("admin", "s3cret")
    orc = start(orc_factory, sb, AuthenticationMethod="multi", HTTPAuthUser="admin",
                HTTPAuthPassword="s3cret")
    i2 = sb.replicas[0]
    gtid = errant_write(sb, i2)
    wait_until(lambda: errant_of(orc, sb, i2, auth=admin) == gtid, 3 * POLL + 2,
               what="GtidErrant on i2")
    # a read-only user may not
    status, body = get(orc, f"gtid-errant-reset-master/{hp(sb, i2)}", auth=("ro", "x"))
    assert status in (401, 403) and body["Code"] == "ERROR", body
    assert sb.sql_value(i2, "SELECT @@gtid_binlog_state") != ""
    env = ok(orc, f"gtid-errant-reset-master/{hp(sb, i2)}", auth=admin)
    assert env["Details"]["Key"]["Port"] == sb.port(i2)
    assert "RESET MASTER" in env["Message"]
    sid = str(sb.sql_value(i2, "SELECT @@server_id"))
    state = sb.sql_value(i2, "SELECT @@gtid_binlog_state")
    assert all(e.split("-")[1] != sid for e in state.split(",") if e), state
    # its history without the errant entry is kept (replicas can still position on it)
    msid = str(sb.sql_value(sb.master, "SELECT @@server_id"))
    assert any(e.split("-")[1] == msid for e in state.split(",")), state
    wait_until(lambda: errant_of(orc, sb, i2, auth=admin) == "", 3 * POLL + 2,
               what="GtidErrant cleared")
    assert "errant_gtid" not in instance(orc, sb, i2, auth=admin)["Problems"]
    assert_replicates_new_writes(sb, sb.replicas)
    assert sb.slave_status(i2)["Using_Gtid"] == "Slave_Pos"
    audit = ok(orc, f"audit/instance/{hp(sb, i2)}", auth=admin)
    assert any(a["AuditType"] == "gtid-errant-reset-master" for a in audit), audit
    # nothing left to fix: refused
    status, body = get(orc, f"gtid-errant-reset-master/{hp(sb, i2)}", auth=admin)
    assert status == 409 and "no errant GTID" in body["Message"], body


def test_gtid_errant_inject_empty_makes_the_master_hold_it(star4, orc_factory):
    sb = star4
    orc = start(orc_factory, sb)
    i3 = sb.replicas[1]
    gtid = errant_write(sb, i3)
    wait_until(lambda: errant_of(orc, sb, i3) == gtid, 3 * POLL + 2, what="GtidErrant on i3")
    domain, sid, seq = (int(x) for x in gtid.split("-"))
    cli = orc.cli("gtid-errant-inject-empty", "-i", sb.key(i3))
    assert cli.returncode == 0 and cli.stdout.split() == [sb.key(i3)], cli
    # the master now holds the pair at least as far
    state = sb.sql_value(sb.master, "SELECT @@gtid_binlog_state")
    held = [int(e.split("-")[2]) for e in state.split(",")
            if e.split("-")[0] == str(domain) and e.split("-")[1] == str(sid)]
    assert held and held[0] >= seq, state
    # the replica still has its row (nothing was removed) and nobody is errant
    assert sb.sql_value(i3, "SELECT COUNT(*) FROM test.errant") == 1
    wait_until(lambda: all(errant_of(orc, sb, n) == "" for n in sb.names), 3 * POLL + 2,
               what="no errant GTID anywhere")
    assert_replicates_new_writes(sb, sb.replicas)
    audit = ok(orc, f"audit/instance/{hp(sb, i3)}")
    assert any(a["AuditType"] == "gtid-errant-inject-empty" for a in audit), audit


def test_failover_passes_over_replica_with_errant_gtid(star4, orc_factory):
    sb = star4
    orc = start(orc_factory, sb, RecoverMasterClusterFilters=["*"])
    time.sleep(3.3)  # the recovery loop acts once every instance was probed after its start
    # the replica with the lowest key wins every tie: it gets the errant transaction
    first, second = sorted(sb.replicas, key=sb.port)[:2]
    gtid = errant_write(sb, first)
    wait_until(lambda: errant_of(orc, sb, first) == gtid, 3 * POLL + 2,
               what="GtidErrant on the first replica")
    sb.wait_replicating()
    sb.kill(sb.master)

    def promoted():
        for n in sb.replicas:
            if sb.slave_status(n) is None and sb.sql_value(n, "SELECT @@read_only") == 0:
                return n
        return None
    new = wait_until(promoted, 20, what="a promoted master")
    assert new == second, f"promoted {new}, expected {second} (errant: {first})"
    assert orc.wait_log(r"\+candidate-rejected .*:%d reason=\"errant GTID %s" %
                        (sb.port(first), gtid), timeout=5)
    assert orc.wait_log(r"candidate 127\.0\.0\.1:%d .*errant GTID none" % sb.port(second),
                        timeout=5)


def test_fix_through_a_follower_is_forwarded_and_refused_locally(sandbox_factory, raft_factory):
    sb = sandbox_factory("star", 3)
    cluster = raft_factory(3, sandbox=sb, DiscoverySeeds=[sb.key(n) for n in sb.names])
    leader = cluster.wait_leader()
    follower = cluster.followers(leader)[0]
    i2 = sb.replicas[0]
    gtid = errant_write(sb, i2)
    cluster.wait_all(lambda n: errant_of(n, sb, i2, headers=FORWARDED) == gtid, timeout=15,
                     what="GtidErrant seen by every node")
    # served by the follower itself (the proxy's loop guard): only the leader acts
    r = follower.get(f"/api/gtid-errant-inject-empty/{hp(sb, i2)}", headers=FORWARDED, timeout=15)
    assert r.status_code == 403 and "not the leader" in r.json()["Message"], r.text
    assert errant_of(leader, sb, i2) == gtid
    # asked of the follower: forwarded to the leader, which fixes it
    env = ok(follower, f"gtid-errant-inject-empty/{hp(sb, i2)}")
    assert env["Details"]["Key"]["Port"] == sb.port(i2)
    cluster.wait_all(lambda n: errant_of(n, sb, i2, headers=FORWARDED) == "", timeout=15,
                     what="GtidErrant cleared on every node")
    # the audit entry is replicated
    cluster.wait_all(lambda n: any(a["AuditType"] == "gtid-errant-inject-empty" for a in
                                   ok(n, "audit", headers=FORWARDED)), timeout=10,
                     what="audit entry on every node")
    assert_replicates_new_writes(sb, sb.replicas)
