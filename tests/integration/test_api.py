"""orchestrator's HTTP API over real MariaDB topologies: discovery crawl, cluster reads, the
Instance shape, replication state changes, forget, downtime, maintenance, tags, errors and auth.

Every orchestrator here polls each instance every second (InstancePollSeconds 1).
"""
import re
import time

import pytest
import requests

from orctest import wait_until

POLL = 1.0  # InstancePollSeconds of default_config
SLACK = 2.5  # probe time, connect timeout (1 s) and scheduling

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

INSTANCE_FIELDS = [
    "Key", "InstanceAlias", "Uptime", "ServerID", "ServerUUID", "Version", "VersionComment",
    "FlavorName", "ReadOnly", "Binlog_format", "BinlogRowImage", "LogBinEnabled",
    "LogSlaveUpdatesEnabled", "LogReplicationUpdatesEnabled", "SelfBinlogCoordinates",
    "MasterKey", "MasterUUID", "AncestryUUID", "IsDetachedMaster", "Slave_SQL_Running",
    "ReplicationSQLThreadRuning", "Slave_IO_Running", "ReplicationIOThreadRuning",
    "ReplicationSQLThreadState", "ReplicationIOThreadState", "HasReplicationFilters", "GTIDMode",
    "SupportsOracleGTID", "UsingOracleGTID", "UsingMariaDBGTID", "UsingPseudoGTID",
    "ReadBinlogCoordinates", "ExecBinlogCoordinates", "IsDetached", "RelaylogCoordinates",
    "LastSQLError", "LastIOError", "SecondsBehindMaster", "SQLDelay", "ExecutedGtidSet",
    "GtidPurged", "GtidErrant", "SlaveLagSeconds", "ReplicationLagSeconds", "SlaveHosts",
    "Replicas", "ClusterName", "SuggestedClusterAlias", "DataCenter", "Region",
    "PhysicalEnvironment", "ReplicationDepth", "IsCoMaster", "HasReplicationCredentials",
    "ReplicationCredentialsAvailable", "SemiSyncAvailable", "SemiSyncPriority",
    "SemiSyncMasterEnabled", "SemiSyncReplicaEnabled", "SemiSyncMasterTimeout",
    "SemiSyncMasterWaitForReplicaCount", "SemiSyncMasterStatus", "SemiSyncMasterClients",
    "SemiSyncReplicaStatus", "LastSeenTimestamp", "IsLastCheckValid", "IsUpToDate",
    "IsRecentlyChecked", "SecondsSinceLastSeen", "CountMySQLSnapshots", "IsCandidate",
    "PromotionRule", "IsDowntimed", "DowntimeReason", "DowntimeOwner", "DowntimeEndTimestamp",
    "ElapsedDowntime", "UnresolvedHostname", "AllowTLS", "Problems", "LastDiscoveryLatency",
    "ReplicationGroupName", "ReplicationGroupIsSinglePrimary", "ReplicationGroupMemberState",
    "ReplicationGroupMemberRole", "ReplicationGroupMembers", "ReplicationGroupPrimaryInstanceKey",
]


def hp(sb, name):
    """'127.0.0.1/PORT': the two path segments of an instance."""
    return f"127.0.0.1/{sb.port(name)}"


def keyof(sb, name):
    return {"Hostname": "127.0.0.1", "Port": sb.port(name)}


def get(orc, path, **kw):
    """(status, decoded JSON) of GET /api/<path>."""
    resp = orc.get("/api/" + path.lstrip("/"), **kw)
    return resp.status_code, resp.json()


def ok(orc, path, **kw):
    """The body of a call that must succeed (raw JSON, or an envelope with Code OK)."""
    status, body = get(orc, path, **kw)
    assert status == 200, f"{path}: {status} {body}"
    if isinstance(body, dict) and "Code" in body:
        assert body["Code"] == "OK", f"{path}: {body}"
    return body


def error(orc, path, status, **kw):
    """The envelope of a call that must fail with this HTTP status."""
    got, body = get(orc, path, **kw)
    assert got == status, f"{path}: expected {status}, got {got} {body}"
    assert body["Code"] == "ERROR", body
    assert body["Message"], body
    return body


def cluster_ports(orc, cluster):
    status, body = get(orc, f"cluster/{cluster}")
    if status != 200:
        return None
    return sorted(i["Key"]["Port"] for i in body)


def discovered(orc, sb, seed="i2"):
    """Discovers `seed` and waits until the crawl found every instance of the sandbox."""
    body = ok(orc, f"discover/{hp(sb, seed)}")
    assert body["Message"] == f"Instance discovered: {sb.key(seed)}"
    assert body["Details"]["Key"] == keyof(sb, seed)
    cluster = sb.key(sb.master)
    want = sorted(sb.port(n) for n in sb.names)
    wait_until(lambda: cluster_ports(orc, cluster) == want, 2 * POLL + SLACK,
               what=f"all {len(want)} instances in cluster/{cluster}")
    return cluster


def instance(orc, sb, name):
    return ok(orc, f"instance/{hp(sb, name)}")


# ---- discovery and cluster reads -------------------------------------------------------------


def test_discovering_one_replica_finds_the_whole_star(star4, orc_factory):
    orc = orc_factory(star4)
    cluster = discovered(orc, star4, seed="i3")
    assert ok(orc, "clusters") == [cluster]
    info = ok(orc, "clusters-info")
    assert len(info) == 1
    assert info[0]["ClusterName"] == cluster
    assert info[0]["ClusterAlias"] == cluster  # no alias: the name
    assert info[0]["CountInstances"] == 4
    assert list(info[0]) == ["ClusterName", "ClusterAlias", "ClusterDomain", "CountInstances",
                             "HeuristicLag", "HasAutomatedMasterRecovery",
                             "HasAutomatedIntermediateMasterRecovery"]
    assert ok(orc, f"cluster-info/{cluster}")["CountInstances"] == 4
    master = ok(orc, f"master/{cluster}")
    assert master["Key"] == keyof(star4, "i1")
    assert [m["Key"] for m in ok(orc, "masters")] == [keyof(star4, "i1")]
    replicas = ok(orc, f"instance-replicas/{hp(star4, 'i1')}")
    assert sorted(r["Key"]["Port"] for r in replicas) == sorted(
        star4.port(n) for n in ("i2", "i3", "i4"))
    assert len(ok(orc, "all-instances")) == 4
    # the cluster hint may also be an instance of the cluster
    assert cluster_ports(orc, star4.key("i4")) == cluster_ports(orc, cluster)
    assert len(ok(orc, f"cluster/instance/{hp(star4, 'i2')}")) == 4
    # trailing slash and POST are the same route
    assert ok(orc, "clusters/") == [cluster]
    assert orc.post("/api/clusters").json() == [cluster]


def test_chain_has_depths_cluster_name_and_tree(chain4, orc_factory):
    orc = orc_factory(chain4)
    cluster = discovered(orc, chain4, seed="i4")
    body = ok(orc, f"cluster/{cluster}")
    depth = {i["Key"]["Port"]: i["ReplicationDepth"] for i in body}
    assert depth == {chain4.port("i1"): 0, chain4.port("i2"): 1, chain4.port("i3"): 2,
                     chain4.port("i4"): 2}
    assert {i["ClusterName"] for i in body} == {cluster} == {chain4.key("i1")}
    i3 = instance(orc, chain4, "i3")
    assert i3["MasterKey"] == keyof(chain4, "i2")
    mid = ok(orc, f"instance-replicas/{hp(chain4, 'i2')}")
    assert sorted(r["Key"]["Port"] for r in mid) == sorted([chain4.port("i3"),
                                                            chain4.port("i4")])

    def tree():
        return ok(orc, f"topology/{cluster}")

    # wait until every replica replicates, then check the tree's shape and markers
    wait_until(lambda: tree()["Details"].count("[0s,ok,") == 4, 2 * POLL + SLACK,
               what="four healthy lines in the topology")
    env = tree()
    assert env["Message"] == f"Topology for cluster {cluster}"
    lines = env["Details"].split("\n")
    assert len(lines) == 4
    assert lines[0].startswith(chain4.key("i1") + " ")
    assert lines[1].startswith("+ " + chain4.key("i2") + " ")
    # siblings are ordered by key; the ports are random
    assert sorted(line.split()[1] for line in lines[2:]) == sorted(
        [chain4.key("i3"), chain4.key("i4")])
    assert all(line.startswith("  + ") for line in lines[2:])
    assert len({line.index("[") for line in lines}) == 1  # descriptions aligned
    assert ",rw," in lines[0] and ",ro," in lines[1]
    by_instance = ok(orc, f"topology/{hp(chain4, 'i3')}")
    assert by_instance["Details"] == env["Details"]
    tab = ok(orc, f"topology-tabulated/{cluster}")["Details"].split("\n")
    assert len(tab) == 4 and all(line.count("|") == 6 for line in tab)


def test_instance_json_has_orchestrator_fields_and_encodings(star4, orc_factory):
    orc = orc_factory(star4)
    star4.sql("i1", "CREATE DATABASE IF NOT EXISTS apitest")  # a GTID for the positions
    discovered(orc, star4)
    wait_until(lambda: instance(orc, star4, "i2")["ReplicationSQLThreadState"] == 1 and
               instance(orc, star4, "i2")["GtidSlavePos"] != "",
               POLL + SLACK, what="i2 replicating with a slave position")
    inst = instance(orc, star4, "i2")
    assert list(inst)[:len(INSTANCE_FIELDS)] == INSTANCE_FIELDS
    assert inst["Key"] == keyof(star4, "i2")
    assert inst["MasterKey"] == keyof(star4, "i1")
    assert inst["FlavorName"] == "MariaDB"
    assert inst["ReadOnly"] is True
    assert inst["ReplicationSQLThreadRuning"] is True and inst["Slave_SQL_Running"] is True
    assert inst["ReplicationIOThreadRuning"] is True and inst["Slave_IO_Running"] is True
    assert inst["ReplicationIOThreadState"] == 1
    assert inst["SecondsBehindMaster"] == {"Int64": 0, "Valid": True}
    assert set(inst["ReplicationLagSeconds"]) == {"Int64", "Valid"}
    assert inst["SlaveLagSeconds"] == inst["ReplicationLagSeconds"]
    assert set(inst["ReadBinlogCoordinates"]) == {"LogFile", "LogPos", "Type"}
    assert inst["ReadBinlogCoordinates"]["Type"] == 0
    assert inst["RelaylogCoordinates"]["Type"] == 1
    assert inst["ReadBinlogCoordinates"]["LogPos"] > 0
    assert inst["UsingMariaDBGTID"] is True
    assert inst["GtidSlavePos"] != ""
    assert inst["ServerID"] > 0
    assert RFC3339.match(inst["LastSeenTimestamp"]), inst["LastSeenTimestamp"]
    assert isinstance(inst["LastDiscoveryLatency"], int) and inst["LastDiscoveryLatency"] > 0
    assert inst["IsLastCheckValid"] is True and inst["IsUpToDate"] is True
    assert inst["IsRecentlyChecked"] is True
    assert inst["SecondsSinceLastSeen"]["Valid"] is True
    assert inst["Problems"] == []
    assert inst["ReplicationDepth"] == 1
    assert inst["PromotionRule"] == "neutral"
    master = instance(orc, star4, "i1")
    assert master["MasterKey"] == {"Hostname": "", "Port": 0}
    assert master["ReplicationSQLThreadState"] == -1
    assert master["ReadOnly"] is False
    assert master["SecondsBehindMaster"]["Valid"] is False
    assert sorted(k["Port"] for k in master["Replicas"]) == sorted(
        star4.port(n) for n in ("i2", "i3", "i4"))
    assert master["SlaveHosts"] == master["Replicas"]
    assert master["SelfBinlogCoordinates"]["LogFile"] != ""
    assert master["GtidBinlogPos"] != ""
    # search by port and by substring
    assert [i["Key"] for i in ok(orc, f"search/{star4.port('i3')}")] == [keyof(star4, "i3")]
    assert len(ok(orc, "search?s=127.0.0")) == 4
    assert ok(orc, "search?s=no-such-thing") == []
    # only one cluster at any moment of the crawl: instances never read are not listed
    assert ok(orc, "clusters") == [star4.key("i1")]


# ---- replication state changes ---------------------------------------------------------------


def test_stopped_sql_thread_shows_state_0_and_a_problem(star4, orc_factory):
    orc = orc_factory(star4)
    discovered(orc, star4)
    star4.sql("i2", "STOP SLAVE SQL_THREAD")
    t0 = time.monotonic()
    inst = wait_until(lambda: (lambda i: i if i["ReplicationSQLThreadState"] == 0 else None)(
        instance(orc, star4, "i2")), POLL + SLACK, what="ReplicationSQLThreadState 0 on i2")
    assert time.monotonic() - t0 <= POLL + SLACK
    assert inst["ReplicationSQLThreadRuning"] is False
    assert inst["ReplicationIOThreadState"] == 1
    assert inst["Problems"] == ["not_replicating"]
    assert [i["Key"] for i in ok(orc, "problems")] == [keyof(star4, "i2")]
    assert [i["Key"] for i in ok(orc, f"problems/{star4.key('i1')}")] == [keyof(star4, "i2")]
    tree = ok(orc, f"topology/{star4.key('i1')}")["Details"]
    assert f"- {star4.key('i2')}" in tree and "nonreplicating" in tree
    star4.sql("i2", "START SLAVE SQL_THREAD")
    wait_until(lambda: instance(orc, star4, "i2")["ReplicationSQLThreadState"] == 1,
               POLL + SLACK, what="ReplicationSQLThreadState 1 again")
    wait_until(lambda: ok(orc, "problems") == [], POLL + SLACK, what="no problems")


def test_killed_replica_turns_last_check_invalid(star4, orc_factory):
    orc = orc_factory(star4)
    discovered(orc, star4)
    assert instance(orc, star4, "i3")["IsLastCheckValid"] is True
    star4.kill("i3")
    t0 = time.monotonic()
    wait_until(lambda: instance(orc, star4, "i3")["IsLastCheckValid"] is False, POLL + SLACK,
               what="IsLastCheckValid false on the killed i3")
    assert time.monotonic() - t0 <= POLL + SLACK
    inst = instance(orc, star4, "i3")
    assert "last_check_invalid" in inst["Problems"]
    assert keyof(star4, "i3") in [i["Key"] for i in ok(orc, "problems")]
    assert instance(orc, star4, "i2")["IsLastCheckValid"] is True


def test_forget_removes_the_instance(star4, orc_factory):
    orc = orc_factory(star4)
    cluster = discovered(orc, star4)
    star4.kill("i4")  # so that the master's replica list does not bring it back
    body = ok(orc, f"forget/{hp(star4, 'i4')}")
    assert body["Details"] == keyof(star4, "i4")
    assert star4.port("i4") not in cluster_ports(orc, cluster)
    error(orc, f"instance/{hp(star4, 'i4')}", 404)
    time.sleep(2 * POLL)
    assert cluster_ports(orc, cluster) == sorted(star4.port(n) for n in ("i1", "i2", "i3"))
    error(orc, f"forget/{hp(star4, 'i4')}", 404)


def test_discover_of_unreachable_instance_fails_and_is_not_recorded(star4, orc_factory):
    orc = orc_factory(star4)
    discovered(orc, star4)
    star4.kill("i4")
    body = error(orc, f"discover/{hp(star4, 'i4')}", 500)
    assert star4.key("i4") in body["Message"]
    from orctest import free_port
    port = free_port()
    body = error(orc, f"discover/127.0.0.1/{port}", 500)
    assert f"127.0.0.1:{port}" in body["Message"]
    error(orc, f"instance/127.0.0.1/{port}", 404)


# ---- operator writes ---------------------------------------------------------------------


def test_downtime_begin_list_end(star4, orc_factory):
    orc = orc_factory(star4)
    cluster = discovered(orc, star4)
    before = time.time()
    body = ok(orc, f"begin-downtime/{hp(star4, 'i2')}/alice/upgrade/5m")
    assert body["Details"] == keyof(star4, "i2")
    assert body["Message"] == f"Downtime begun: {star4.key('i2')}"
    down = ok(orc, "downtimed")
    assert [i["Key"] for i in down] == [keyof(star4, "i2")]
    assert down[0]["IsDowntimed"] is True
    assert down[0]["DowntimeOwner"] == "alice"
    assert down[0]["DowntimeReason"] == "upgrade"
    assert RFC3339.match(down[0]["DowntimeEndTimestamp"])
    end = time.mktime(time.strptime(down[0]["DowntimeEndTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
    end -= time.timezone  # strptime read it as local time
    assert before + 295 <= end <= time.time() + 305
    assert [i["Key"] for i in ok(orc, f"downtimed/{cluster}")] == [keyof(star4, "i2")]
    assert ok(orc, "downtimed/") == down or [i["Key"] for i in ok(orc, "downtimed/")] == [
        keyof(star4, "i2")]
    assert "downtimed" in ok(orc, f"topology/{cluster}")["Details"]
    audit = ok(orc, "audit")
    assert any(a["AuditType"] == "begin-downtime" and a["AuditInstanceKey"] == keyof(star4, "i2")
               and "alice" in a["Message"] for a in audit), audit
    assert list(audit[0]) == ["AuditId", "AuditTimestamp", "AuditType", "AuditInstanceKey",
                              "Message"]
    assert ok(orc, f"audit/instance/{hp(star4, 'i2')}")[0]["AuditType"] == "begin-downtime"
    assert ok(orc, f"audit/instance/{hp(star4, 'i3')}") == []
    body = ok(orc, f"end-downtime/{hp(star4, 'i2')}")
    assert body["Details"] == keyof(star4, "i2")
    assert ok(orc, "downtimed") == []
    assert instance(orc, star4, "i2")["IsDowntimed"] is False
    # no duration: orchestrator's 10 minute default; "0s" as well
    for path in (f"begin-downtime/{hp(star4, 'i3')}/bob/x",
                 f"begin-downtime/{hp(star4, 'i4')}/bob/x/0s"):
        ok(orc, path)
    for inst in ok(orc, "downtimed"):
        end = time.mktime(time.strptime(inst["DowntimeEndTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        assert before + 590 <= end - time.timezone <= time.time() + 610
    # a bare number is not a duration
    body = error(orc, f"begin-downtime/{hp(star4, 'i2')}/alice/upgrade/5", 400)
    assert "duration" in body["Message"]
    error(orc, f"begin-downtime/127.0.0.1/1/alice/upgrade/5m", 404)


def test_maintenance_begin_check_end(star4, orc_factory):
    orc = orc_factory(star4)
    discovered(orc, star4)
    path = hp(star4, "i3")
    assert ok(orc, f"in-maintenance/{path}")["Message"] == "false"
    body = ok(orc, f"begin-maintenance/{path}/carol/backup")
    assert body["Details"] == keyof(star4, "i3")
    assert ok(orc, f"in-maintenance/{path}")["Message"] == "true"
    listed = ok(orc, "maintenance")
    assert len(listed) == 1
    assert listed[0]["Key"] == keyof(star4, "i3")
    assert listed[0]["Owner"] == "carol" and listed[0]["Reason"] == "backup"
    assert listed[0]["IsActive"] is True
    assert instance(orc, star4, "i3")["IsInMaintenance"] is True
    error(orc, f"begin-maintenance/{path}/carol/again", 409)
    ok(orc, f"end-maintenance/{path}")
    assert ok(orc, f"in-maintenance/{path}")["Message"] == "false"
    assert ok(orc, "maintenance") == []
    error(orc, f"end-maintenance/{path}", 404)
    # by maintenance key
    ok(orc, f"begin-maintenance/{path}/carol/backup")
    mid = ok(orc, "maintenance")[0]["MaintenanceId"]
    ok(orc, f"end-maintenance/{mid}")
    assert ok(orc, f"in-maintenance/{path}")["Message"] == "false"


def test_tags_candidates_and_alias(star4, orc_factory):
    orc = orc_factory(star4)
    cluster = discovered(orc, star4)
    path = hp(star4, "i2")
    assert ok(orc, f"tags/{path}") == []
    ok(orc, f"tag/{path}?tag=role=backup")
    ok(orc, f"tag/{path}?tag=pinned")
    assert ok(orc, f"tags/{path}") == ["pinned", "role=backup"]
    assert ok(orc, f"tag-value/{path}?tag=role") == "backup"
    error(orc, f"tag-value/{path}?tag=nope", 404)
    assert ok(orc, "tagged?tag=role=backup") == [keyof(star4, "i2")]
    assert ok(orc, "tagged?tag=role,pinned") == [keyof(star4, "i2")]
    assert ok(orc, "tagged?tag=role=other") == []
    body = ok(orc, f"untag/{path}?tag=role")
    assert body["Details"] == [keyof(star4, "i2")]
    assert ok(orc, f"tags/{path}") == ["pinned"]
    assert ok(orc, f"untag/{path}?tag=role")["Details"] == []
    error(orc, f"tag/{path}", 400)

    ok(orc, f"register-candidate/{path}/prefer")
    assert instance(orc, star4, "i2")["PromotionRule"] == "prefer"
    assert instance(orc, star4, "i2")["IsCandidate"] is True
    body = error(orc, f"register-candidate/{path}/must", 400)
    assert "not supported yet" in body["Message"]
    error(orc, f"register-candidate/{path}/sometimes", 400)

    ok(orc, f"set-cluster-alias/{cluster}?alias=shop")
    assert ok(orc, f"cluster-info/{cluster}")["ClusterAlias"] == "shop"
    assert ok(orc, "cluster-info/alias/shop")["ClusterName"] == cluster
    assert len(ok(orc, "cluster/alias/shop")) == 4
    assert len(ok(orc, "cluster/shop")) == 4
    error(orc, "cluster/alias/nope", 404)
    error(orc, f"set-cluster-alias/{cluster}", 400)


def test_recovery_filters_and_cluster_info_flags(star4, orc_factory):
    orc = orc_factory(star4, RecoverMasterClusterFilters=["*"],
                      RecoverIntermediateMasterClusterFilters=["alias=none"])
    cluster = discovered(orc, star4)
    info = ok(orc, f"cluster-info/{cluster}")
    assert info["HasAutomatedMasterRecovery"] is True
    assert info["HasAutomatedIntermediateMasterRecovery"] is False
    env = ok(orc, "automated-recovery-filters")
    assert env["Details"] == {"RecoverIntermediateMasterClusterFilters": ["alias=none"],
                              "RecoverMasterClusterFilters": ["*"],
                              "RecoveryIgnoreHostnameFilters": []}


# ---- errors and authentication -------------------------------------------------------------


def test_errors_use_the_envelope_with_4xx(star4, orc_factory):
    orc = orc_factory(star4)
    discovered(orc, star4)
    body = error(orc, "instance/127.0.0.1/1", 404)
    assert body["Message"] == "instance '127.0.0.1:1' not found"
    error(orc, "cluster/no-such-cluster", 404)
    error(orc, "cluster-info/no-such-cluster", 404)
    error(orc, "topology/no-such-cluster", 404)
    error(orc, "instance/127.0.0.1/notaport", 400)
    error(orc, "audit/minus-one", 400)
    error(orc, "no-such-route/at/all", 404)
    error(orc, "forget-cluster/no-such-cluster", 404)


def test_basic_auth_protects_reads_and_writes(star4, orc_factory):
    orc = orc_factory(star4, AuthenticationMethod="basic", HTTPAuthUser="admin",
                      HTTPAuthPassword="s3cret")
    auth = ("admin", "s3cret")
    path = f"discover/{hp(star4, 'i2')}"
    status, body = get(orc, path)
    assert status == 401 and body["Code"] == "ERROR"
    status, _ = get(orc, path, auth=("admin", "wrong"))
    assert status == 401
    assert get(orc, "clusters")[0] == 401
    status, body = get(orc, path, auth=auth)
    assert status == 200 and body["Code"] == "OK", body
    assert get(orc, "clusters", auth=auth)[0] == 200


def test_multi_auth_readonly_user_reads_but_cannot_write(star4, orc_factory):
    orc = orc_factory(star4, AuthenticationMethod="multi", HTTPAuthUser="admin",
                      HTTPAuthPassword="s3cret")
    admin = ("admin", "s3cret")
    readonly = ("readonly", "anything")
    ok(orc, f"discover/{hp(star4, 'i2')}", auth=admin)
    wait_until(lambda: len(ok(orc, f"cluster/{star4.key('i1')}", auth=readonly)) == 4,
               2 * POLL + SLACK, what="the crawl finding all four")
    status, body = get(orc, "clusters", auth=readonly)
    assert status == 200 and body == [star4.key("i1")]
    assert get(orc, f"instance/{hp(star4, 'i2')}", auth=readonly)[0] == 200
    status, body = get(orc, f"begin-downtime/{hp(star4, 'i2')}/x/y/5m", auth=readonly)
    assert status in (401, 403) and body["Code"] == "ERROR"
    assert ok(orc, "downtimed", auth=admin) == []
    assert get(orc, "clusters")[0] == 401
    ok(orc, f"begin-downtime/{hp(star4, 'i2')}/x/y/5m", auth=admin)
    assert len(ok(orc, "downtimed", auth=readonly)) == 1


def test_reads_before_any_discovery_are_empty(orc_factory):
    orc = orc_factory()
    assert ok(orc, "clusters") == []
    assert ok(orc, "clusters-info") == []
    assert ok(orc, "all-instances") == []
    assert ok(orc, "problems") == []
    assert ok(orc, "masters") == []
    error(orc, "cluster/anything", 404)
    with pytest.raises(AssertionError):
        ok(orc, "instance/127.0.0.1/3306")
    assert requests.get(orc.url("/api/clusters"), timeout=5).headers["Content-Type"].startswith(
        "application/json")


def test_a_hung_host_never_delays_the_probes_of_others(star4, orc_factory):
    """A server that accepts connections and never answers holds one probe worker until its
    timeout; the other instances keep being probed every poll interval."""
    import socket
    import threading

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)
    held, stop = [], threading.Event()

    def accept():
        hung.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(hung.accept()[0])  # accepted, never answered
            except OSError:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        hport = hung.getsockname()[1]
        orc = orc_factory(sandbox=star4, MySQLDiscoveryReadTimeoutSeconds=30,
                          DiscoverySeeds=[star4.key(star4.master), f"127.0.0.1:{hport}"])
        master = star4.key(star4.master)
        wait_until(lambda: len(ok(orc, f"cluster/{master}")) == 4, 2 * POLL + SLACK,
                   what="the star discovered next to the hung host")
        wait_until(lambda: held, 5, what="the hung host was connected to")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for inst in ok(orc, f"cluster/{master}"):
                assert inst["IsLastCheckValid"] and inst["IsUpToDate"], inst["Key"]
                assert inst["SecondsSinceLastSeen"]["Int64"] <= 2, inst["Key"]
            time.sleep(0.5)
        # and the API still answers a synchronous discover of another instance at once
        t0 = time.monotonic()
        assert ok(orc, f"discover/{hp(star4, star4.replicas[0])}")["Code"] == "OK"
        assert time.monotonic() - t0 < 2
    finally:
        stop.set()
        t.join(2)
        for c in held:
            c.close()
        hung.close()
