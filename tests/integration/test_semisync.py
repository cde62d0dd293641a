"""Semi-synchronous replication on real MariaDB topologies (semi-sync is built into MariaDB):
the LockedSemiSyncMaster analysis (a master whose writes wait for an acknowledgement no replica
sends, found once its binary log coordinates have not moved for
ReasonableLockedSemiSyncMasterSeconds), its recovery (RecoverLockedSemiSyncMaster enables
semi-sync on the replica with the highest priority and the blocked write completes),
MasterWithTooManySemiSyncReplicas and its recovery (EnforceExactSemiSyncReplicas disables the
excess), the enable/disable-semi-sync-master/replica routes and CLI commands, and a raft
follower that forwards the route to the leader and finds the master locked on its own.

Every outcome is read on the servers themselves. Recoveries are disabled globally while a
scenario is set up, so the analysis can be seen before the recovery acts; safety timers are
orchestrator's defaults (ReasonableLockedSemiSyncMasterSeconds = ReasonableReplicationLagSeconds
= 10 s).
"""
import threading
import time

import pymysql
import pytest

from orctest import wait_until

LOCK_S = 10  # ReasonableReplicationLagSeconds (default), which the locked wait defaults to
LOCAL = {"X-Orchestrator-Forwarded": "test"}  # answered by the node asked, not its leader


def hp(sb, name):
    return f"127.0.0.1/{sb.port(name)}"


def keystr(sb, name):
    return f"127.0.0.1:{sb.port(name)}"


def ok(orc, path, **kw):
    resp = orc.get("/api/" + path, timeout=60, **kw)
    body = resp.json()
    assert resp.status_code == 200 and body.get("Code") == "OK", f"{path}: {resp.status_code} {body}"
    return body


def var(sb, name, variable):
    return sb.sql_value(name, f"SELECT @@global.{variable}")


def status(sb, name, variable):
    rows = sb.sql(name, "SHOW GLOBAL STATUS LIKE %s", (variable,))
    return rows[0][1] if rows else None


def priority_query(sb, ranks):
    """DetectSemiSyncEnforcedQuery giving each sandbox server the priority of ranks[name]
    (0 for the others)."""
    cases = " ".join(f"WHEN {sb.port(n)} THEN {p}" for n, p in ranks.items())
    return f"SELECT CASE @@port {cases} ELSE 0 END"


def start(orc_factory, sb, auth=None, **config):
    sb.wait_replicating(timeout=30)
    orc = orc_factory(sb, **config)
    ok(orc, f"discover/{hp(sb, sb.master)}", auth=auth)
    ports = {sb.port(n) for n in sb.names}

    def all_known():
        resp = orc.get(f"/api/cluster/{sb.key(sb.master)}", timeout=5, auth=auth)
        return resp.status_code == 200 and {
            i["Key"]["Port"] for i in resp.json() if i["IsLastCheckValid"]} == ports
    wait_until(all_known, 20, what="every sandbox instance discovered")
    return orc


def analysis_code(orc, sb, name):
    body = ok(orc, "replication-analysis")
    for a in body["Details"]:
        k = a["AnalyzedInstanceKey"]
        if k["Port"] == sb.port(name):
            return a["Analysis"], a
    return None, None


def wait_code(orc, sb, name, code, timeout):
    seen = []

    def has():
        c, _ = analysis_code(orc, sb, name)
        if not seen or seen[-1] != c:
            seen.append(c)
        return c == code
    wait_until(has, timeout, interval=0.2, what=f"{name} analysed as {code} (seen {seen})")
    return seen


def semi_sync_master_on(sb, name, timeout_ms):
    sb.sql(name, "SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_COMMIT'")
    sb.sql(name, f"SET GLOBAL rpl_semi_sync_master_timeout = {int(timeout_ms)}")
    sb.sql(name, "SET GLOBAL rpl_semi_sync_master_enabled = 1")


def semi_sync_off_everywhere(sb):
    """Releases any write waiting for an acknowledgement and turns semi-sync off (cleanup)."""
    for n in sb.names:
        if sb.is_running(n):
            try:
                sb.sql(n, "SET GLOBAL rpl_semi_sync_master_enabled = 0")
                sb.sql(n, "SET GLOBAL rpl_semi_sync_slave_enabled = 0")
            except pymysql.MySQLError:
                pass


def restart_io(sb, name):
    sb.sql(name, "STOP SLAVE IO_THREAD")
    sb.sql(name, "START SLAVE IO_THREAD")


class BlockedWrite(threading.Thread):
    """An INSERT on the master in its own connection; done says it returned."""

    def __init__(self, sb, name, value="blocked"):
        super().__init__(daemon=True)
        self.value = value
        self.conn = sb.connect(name, read_timeout=300)
        self.error = None
        self.done = threading.Event()

    def run(self):
        try:
            with self.conn.cursor() as cur:
                cur.execute("INSERT INTO test.semisync VALUES (%s)", (self.value,))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            self.done.set()
            self.conn.close()


def test_locked_semi_sync_master_is_recovered_by_enabling_the_top_priority_replica(
        sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 3)
    i1 = sb.master
    i2, i3 = sb.replicas
    sb.sql(i1, "CREATE TABLE test.semisync (v VARCHAR(32) PRIMARY KEY)")
    orc = start(orc_factory, sb, RecoverLockedSemiSyncMaster=True,
                DetectSemiSyncEnforcedQuery=priority_query(sb, {i2: 1, i3: 2}))
    writer = nxt = None
    try:
        ok(orc, "disable-global-recoveries")
        # Locks instead of falling back to asynchronous replication: a timeout of ~49 days.
        semi_sync_master_on(sb, i1, 4294967295)
        writer = BlockedWrite(sb, i1)
        t_write = time.monotonic()
        writer.start()
        time.sleep(1)
        assert not writer.done.is_set(), "the write did not wait for a semi-sync acknowledgement"
        assert status(sb, i1, "Rpl_semi_sync_master_status") == "ON"
        assert status(sb, i1, "Rpl_semi_sync_master_clients") == "0"

        seen = wait_code(orc, sb, i1, "LockedSemiSyncMaster", LOCK_S + 15)
        locked_after = time.monotonic() - t_write
        assert "LockedSemiSyncMasterHypothesis" in seen, seen
        # stale coordinates: not before they stood still for ReasonableLockedSemiSyncMasterSeconds
        assert locked_after >= LOCK_S - 1, f"locked after {locked_after:.1f}s, seen {seen}"
        _, entry = analysis_code(orc, sb, i1)
        assert entry["SemiSyncMasterEnabled"] and entry["SemiSyncMasterStatus"]
        assert entry["SemiSyncMasterClients"] == 0 and entry["SemiSyncMasterWaitForReplicaCount"] == 1
        assert not writer.done.is_set(), "the write completed while recoveries were disabled"
        assert orc.api("audit-recovery") == []

        ok(orc, "enable-global-recoveries")
        # the replica with the higher priority takes the acknowledgements, the other does not
        wait_until(lambda: var(sb, i3, "rpl_semi_sync_slave_enabled") == 1, LOCK_S,
                   what=f"semi-sync enabled on i3\n{orc.tail()}")
        wait_until(lambda: status(sb, i1, "Rpl_semi_sync_master_clients") == "1", 10,
                   what="one semi-sync client on the master")
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 0
        assert sb.slave_status(i3)["Slave_IO_Running"] == "Yes"
        assert status(sb, i3, "Rpl_semi_sync_slave_status") == "ON"
        # A replica that reconnects by GTID does not acknowledge the transaction it already
        # received asynchronously (MariaDB 10.11): the waiting session is released by the
        # acknowledgement of the next transaction, which no longer waits.
        nxt = BlockedWrite(sb, i1, "after")
        nxt.start()
        assert nxt.done.wait(10), "a write after the recovery still waits"
        assert nxt.error is None, nxt.error
        assert writer.done.wait(10), f"the blocked write never completed\n{orc.tail()}"
        assert writer.error is None, writer.error
        assert status(sb, i1, "Rpl_semi_sync_master_wait_sessions") == "0"
        assert sb.sql_value(i1, "SELECT COUNT(*) FROM test.semisync") == 2
        sb.wait_replicating(timeout=10)
        assert sb.sql_value(i3, "SELECT COUNT(*) FROM test.semisync") == 2

        recs = wait_until(lambda: [r for r in orc.api("audit-recovery")
                                   if r["AnalysisEntry"]["Analysis"] == "LockedSemiSyncMaster"],
                          10, what="the recovery recorded")
        assert recs[0]["IsSuccessful"] is True, recs[0]
        assert recs[0]["SuccessorKey"]["Port"] == sb.port(i1)
        steps = [s["Message"] for s in orc.api(f"audit-recovery-steps/{recs[0]['UID']}")]
        assert any(keystr(sb, i3) in s and "rpl_semi_sync_slave_enabled=true" in s
                   for s in steps), steps
        wait_code(orc, sb, i1, None, 10)  # no problem left
    finally:
        semi_sync_off_everywhere(sb)
        for w in (writer, nxt):
            if w is not None:
                w.join(10)


def test_too_many_semi_sync_replicas_are_cut_to_the_wait_count(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 3)
    i1 = sb.master
    i2, i3 = sb.replicas
    orc = start(orc_factory, sb, EnforceExactSemiSyncReplicas=True,
                DetectSemiSyncEnforcedQuery=priority_query(sb, {i2: 2, i3: 1}))
    try:
        ok(orc, "disable-global-recoveries")
        semi_sync_master_on(sb, i1, 600000)
        for n in (i2, i3):
            sb.sql(n, "SET GLOBAL rpl_semi_sync_slave_enabled = 1")
            restart_io(sb, n)
        wait_until(lambda: status(sb, i1, "Rpl_semi_sync_master_clients") == "2", 10,
                   what="two semi-sync clients")
        wait_code(orc, sb, i1, "MasterWithTooManySemiSyncReplicas", 15)
        assert var(sb, i3, "rpl_semi_sync_slave_enabled") == 1  # nothing done yet

        ok(orc, "enable-global-recoveries")
        wait_until(lambda: var(sb, i3, "rpl_semi_sync_slave_enabled") == 0, 15,
                   what="semi-sync disabled on the lower-priority replica")
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 1
        wait_until(lambda: status(sb, i1, "Rpl_semi_sync_master_clients") == "1", 10,
                   what="one semi-sync client left")
        assert status(sb, i1, "Rpl_semi_sync_master_status") == "ON"
        wait_until(lambda: sb.slave_status(i3)["Slave_IO_Running"] == "Yes", 10,
                   what="i3 replicating again")
        recs = wait_until(
            lambda: [r for r in orc.api("audit-recovery")
                     if r["AnalysisEntry"]["Analysis"] == "MasterWithTooManySemiSyncReplicas"],
            10, what="the recovery recorded")
        assert recs[0]["IsSuccessful"] is True, recs[0]
        wait_code(orc, sb, i1, None, 10)
    finally:
        semi_sync_off_everywhere(sb)


def test_semi_sync_routes_set_the_servers_and_refuse_read_only_users(sandbox_factory,
                                                                     orc_factory):
    sb = sandbox_factory("star", 2)
    i1, i2 = sb.master, sb.replicas[0]
    admin = {"auth": ("admin", "s3cret")}
    orc = start(orc_factory, sb, auth=admin["auth"], AuthenticationMethod="multi",
                HTTPAuthUser="admin", HTTPAuthPassword="s3cret")
    try:
        # a read-only user is refused and nothing changes on the server
        resp = orc.get(f"/api/enable-semi-sync-master/{hp(sb, i1)}", auth=("readonly", "x"))
        assert resp.status_code in (401, 403) and resp.json()["Code"] == "ERROR"
        assert var(sb, i1, "rpl_semi_sync_master_enabled") == 0

        body = ok(orc, f"enable-semi-sync-master/{hp(sb, i1)}", **admin)
        assert body["Message"] == "master semi-sync set to true"
        assert body["Details"]["Key"]["Port"] == sb.port(i1)
        assert body["Details"]["SemiSyncMasterEnabled"] is True
        assert var(sb, i1, "rpl_semi_sync_master_enabled") == 1

        body = ok(orc, f"enable-semi-sync-replica/{hp(sb, i2)}", **admin)
        assert body["Message"] == "replica semi-sync set to true"
        assert body["Details"]["SemiSyncReplicaEnabled"] is True
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 1
        # the IO thread was restarted: the replica now acknowledges as a semi-sync client
        wait_until(lambda: status(sb, i1, "Rpl_semi_sync_master_clients") == "1", 10,
                   what="the replica connected as a semi-sync client")
        assert status(sb, i2, "Rpl_semi_sync_slave_status") == "ON"

        body = ok(orc, f"disable-semi-sync-replica/{hp(sb, i2)}", **admin)
        assert body["Details"]["SemiSyncReplicaEnabled"] is False
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 0
        wait_until(lambda: status(sb, i1, "Rpl_semi_sync_master_clients") == "0", 10,
                   what="the replica gone asynchronous")

        body = ok(orc, f"disable-semi-sync-master/{hp(sb, i1)}", **admin)
        assert body["Message"] == "master semi-sync set to false"
        assert var(sb, i1, "rpl_semi_sync_master_enabled") == 0

        types = {a["AuditType"] for a in orc.api("audit", **admin)}
        assert {"enable-semi-sync-master", "enable-semi-sync-replica",
                "disable-semi-sync-master"} <= types, types
    finally:
        semi_sync_off_everywhere(sb)


def test_semi_sync_cli_commands(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 2)
    i1, i2 = sb.master, sb.replicas[0]
    orc = start(orc_factory, sb)
    try:
        out = orc.cli("enable-semi-sync-master", "-i", keystr(sb, i1))
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == keystr(sb, i1)
        assert var(sb, i1, "rpl_semi_sync_master_enabled") == 1
        out = orc.cli("enable-semi-sync-replica", "-i", keystr(sb, i2))
        assert out.returncode == 0, out.stderr
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 1
        out = orc.cli("disable-semi-sync-replica", "-i", keystr(sb, i2))
        assert out.returncode == 0, out.stderr
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 0
        out = orc.cli("disable-semi-sync-master", "-i", keystr(sb, i1))
        assert out.returncode == 0, out.stderr
        assert var(sb, i1, "rpl_semi_sync_master_enabled") == 0
    finally:
        semi_sync_off_everywhere(sb)


if __name__ == "__main__":
    pytest.main([__file__])



def test_follower_forwards_the_route_and_sees_the_master_locked(sandbox_factory, raft_factory):
    sb = sandbox_factory("star", 2)
    i1, i2 = sb.master, sb.replicas[0]
    sb.wait_replicating(timeout=30)
    cluster = raft_factory(3, sandbox=sb, DiscoverySeeds=[sb.key(n) for n in sb.names])
    leader = cluster.wait_leader(timeout=15)
    follower = cluster.followers(leader)[0]
    cluster.wait_all(lambda n: len(n.api(f"cluster/{sb.key(i1)}")) == 2, timeout=15,
                     what="every node sees the topology")
    try:
        resp = follower.get(f"/api/enable-semi-sync-master/{hp(sb, i1)}", timeout=30)
        assert resp.status_code == 200 and resp.json()["Code"] == "OK", resp.text
        assert var(sb, i1, "rpl_semi_sync_master_enabled") == 1
        # one audit entry, replicated to every node
        cluster.wait_all(lambda n: [a["AuditType"] for a in n.api("audit", headers=LOCAL)
                                    if "semi-sync" in a["AuditType"]] ==
                         ["enable-semi-sync-master"], timeout=10, what="the audit entry")
        # no semi-sync replica, and the idle master's coordinates stand still: every node,
        # followers included, finds the master locked after ReasonableLockedSemiSyncMasterSeconds
        for node in (follower, leader):
            def code(n=node):
                body = n.get("/api/replication-analysis", headers=LOCAL, timeout=5).json()
                return {a["AnalyzedInstanceKey"]["Port"]: a["Analysis"]
                        for a in body["Details"]}.get(sb.port(i1))
            wait_until(lambda: code() == "LockedSemiSyncMaster", LOCK_S + 10,
                       what=f"{node.name} analysing the master as locked")
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 0  # recovery is off by default
        # recover (forwarded to the leader) refuses too without the config keys
        resp = follower.get(f"/api/recover/{hp(sb, i1)}", timeout=30)
        assert resp.status_code == 500 and "RecoverLockedSemiSyncMaster" in resp.json()["Message"]
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 0
    finally:
        semi_sync_off_everywhere(sb)


def test_recover_route_runs_the_semi_sync_recovery_with_recoveries_disabled(sandbox_factory,
                                                                            orc_factory):
    sb = sandbox_factory("star", 2)
    i1, i2 = sb.master, sb.replicas[0]
    orc = start(orc_factory, sb, RecoverLockedSemiSyncMaster=True,
                DetectSemiSyncEnforcedQuery="SELECT 1")
    try:
        ok(orc, "disable-global-recoveries")
        semi_sync_master_on(sb, i1, 4294967295)
        # idle: the coordinates stand still from the start
        wait_code(orc, sb, i1, "LockedSemiSyncMaster", LOCK_S + 10)
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 0  # the loop did not act
        body = ok(orc, f"recover-lite/{hp(sb, i1)}")
        assert body["Details"] == {"Hostname": "127.0.0.1", "Port": sb.port(i1)}
        assert var(sb, i2, "rpl_semi_sync_slave_enabled") == 1
        wait_until(lambda: status(sb, i1, "Rpl_semi_sync_master_clients") == "1", 10,
                   what="the replica acknowledging")
        recs = orc.api("audit-recovery")
        assert [r["AnalysisEntry"]["Analysis"] for r in recs] == ["LockedSemiSyncMaster"]
        assert recs[0]["IsSuccessful"] is True
    finally:
        semi_sync_off_everywhere(sb)
