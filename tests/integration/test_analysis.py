"""replication-analysis on live MariaDB topologies: healthy, dead master, dead intermediate
master, replicas not replicating; the three routes and the ReplicationAnalysis shape."""
import time

import pytest
import requests

# Fields of orchestrator's ReplicationAnalysis, in its order (reference 1.2).
FIELDS = [
    "AnalyzedInstanceKey", "AnalyzedInstanceMasterKey", "ClusterDetails",
    "AnalyzedInstanceDataCenter", "AnalyzedInstanceRegion", "AnalyzedInstancePhysicalEnvironment",
    "AnalyzedInstanceBinlogCoordinates", "IsMaster", "IsReplicationGroupMember", "IsCoMaster",
    "LastCheckValid", "LastCheckPartialSuccess", "CountReplicas", "CountValidReplicas",
    "CountValidReplicatingReplicas", "CountReplicasFailingToConnectToMaster",
    "CountDowntimedReplicas", "ReplicationDepth", "Replicas", "SlaveHosts",
    "IsFailingToConnectToMaster", "Analysis", "Description", "StructureAnalysis", "IsDowntimed",
    "IsReplicasDowntimed", "DowntimeEndTimestamp", "DowntimeRemainingSeconds", "IsBinlogServer",
    "PseudoGTIDImmediateTopology", "OracleGTIDImmediateTopology", "MariaDBGTIDImmediateTopology",
    "BinlogServerImmediateTopology", "SemiSyncMasterEnabled", "SemiSyncMasterStatus",
    "SemiSyncMasterWaitForReplicaCount", "SemiSyncMasterClients", "CountSemiSyncReplicasEnabled",
    "CountLoggingReplicas", "CountStatementBasedLoggingReplicas", "CountMixedBasedLoggingReplicas",
    "CountRowBasedLoggingReplicas", "CountDistinctMajorVersionsLoggingReplicas",
    "CountDelayedReplicas", "CountLaggingReplicas", "IsActionableRecovery",
    "ProcessingNodeHostname", "ProcessingNodeToken", "CountAdditionalAgreeingNodes",
    "StartActivePeriod", "SkippableDueToDowntime", "GTIDMode", "MinReplicaGTIDMode",
    "MaxReplicaGTIDMode", "MaxReplicaGTIDErrant", "CommandHint", "IsReadOnly",
]
CLUSTER_INFO = ["ClusterName", "ClusterAlias", "ClusterDomain", "CountInstances", "HeuristicLag",
                "HasAutomatedMasterRecovery", "HasAutomatedIntermediateMasterRecovery"]


def keystr(k):
    return f"{k['Hostname']}:{k['Port']}"


def start_orc(orc_factory, sandbox):
    sandbox.wait_replicating(timeout=30)
    master = sandbox.key(sandbox.master)
    orc = orc_factory(sandbox=sandbox, DiscoverySeeds=[master])
    try:  # discovery may start sooner than the seeds are read
        orc.get(f"/api/discover/127.0.0.1/{sandbox.port(sandbox.master)}", timeout=5)
    except requests.RequestException:
        pass
    want = {sandbox.key(n) for n in sandbox.names}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            r = orc.get(f"/api/cluster/{master}", timeout=5)
            if r.status_code == 200 and {keystr(i["Key"]) for i in r.json()} == want:
                # every instance probed at least twice: replication state is settled
                time.sleep(2.5)
                return orc
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.2)
    pytest.fail(f"cluster {master} never showed {sorted(want)}\nlog:\n{orc.tail()}")


def analysis(orc, route="replication-analysis"):
    r = orc.get(f"/api/{route}", timeout=5)
    env = r.json()
    assert r.status_code == 200, env
    assert env["Code"] == "OK" and env["Message"] == "Analysis", env
    assert isinstance(env["Details"], list), env
    return {keystr(a["AnalyzedInstanceKey"]): a for a in env["Details"]}


def wait_analysis(orc, key, code, timeout):
    """Polls until key's entry has the code; returns (entry, seconds waited)."""
    t0 = time.monotonic()
    seen = None
    while time.monotonic() - t0 < timeout:
        entries = analysis(orc)
        seen = entries.get(key)
        if seen is not None and seen["Analysis"] == code:
            return seen, time.monotonic() - t0
        time.sleep(0.05)
    pytest.fail(f"{key} never analysed as {code} within {timeout}s; last entry: "
                f"{seen and seen['Analysis']}\nlog:\n{orc.tail()}")


def check_shape(entry):
    assert list(entry.keys()) == FIELDS, list(entry.keys())
    assert list(entry["ClusterDetails"].keys()) == CLUSTER_INFO
    assert set(entry["AnalyzedInstanceKey"]) == {"Hostname", "Port"}
    assert set(entry["AnalyzedInstanceBinlogCoordinates"]) == {"LogFile", "LogPos", "Type"}
    assert isinstance(entry["StructureAnalysis"], list)
    assert entry["SlaveHosts"] == entry["Replicas"]


def test_dead_master_is_analysed_within_seconds_of_a_crash(star4, orc_factory):
    orc = start_orc(orc_factory, star4)
    master = star4.key(star4.master)
    healthy = analysis(orc)
    assert not [a for a in healthy.values() if a["IsActionableRecovery"]], healthy
    assert all(a["Analysis"] == "NoProblem" for a in healthy.values()), healthy
    assert analysis(orc, f"replication-analysis/instance/127.0.0.1/{star4.port('i1')}") == {}

    t0 = time.monotonic()
    star4.kill(star4.master)
    entry, waited = wait_analysis(orc, master, "DeadMaster", timeout=10)
    print(f"DeadMaster analysed {time.monotonic() - t0:.2f}s after kill -9 "
          f"({waited:.2f}s after the kill returned)")
    check_shape(entry)
    assert entry["IsMaster"] and not entry["LastCheckValid"]
    assert entry["IsActionableRecovery"]
    assert entry["CountReplicas"] == 3
    assert entry["CountValidReplicas"] == 3
    assert entry["CountValidReplicatingReplicas"] == 0
    assert {keystr(k) for k in entry["Replicas"]} == {star4.key(n) for n in star4.replicas}
    assert entry["ClusterDetails"]["ClusterName"] == master
    assert entry["AnalyzedInstanceMasterKey"] == {"Hostname": "", "Port": 0}
    assert entry["MariaDBGTIDImmediateTopology"]
    assert "none of its replicas is replicating" in entry["Description"]

    # The cluster and instance routes give the same entry; an unknown cluster is a 404 error.
    by_cluster = analysis(orc, f"replication-analysis/{master}")
    assert by_cluster[master]["Analysis"] == "DeadMaster"
    assert all(a["ClusterDetails"]["ClusterName"] == master for a in by_cluster.values())
    only = analysis(orc, f"replication-analysis/instance/127.0.0.1/{star4.port('i1')}")
    assert list(only) == [master] and only[master]["Analysis"] == "DeadMaster"
    r = orc.get("/api/replication-analysis/no-such-cluster:1", timeout=5)
    assert r.status_code == 404 and r.json()["Code"] == "ERROR"


def test_dead_intermediate_master(chain4, orc_factory):
    orc = start_orc(orc_factory, chain4)
    im = chain4.key("i2")
    assert not [a for a in analysis(orc).values() if a["IsActionableRecovery"]]

    chain4.kill("i2")
    entry, waited = wait_analysis(orc, im, "DeadIntermediateMaster", timeout=10)
    print(f"DeadIntermediateMaster analysed {waited:.2f}s after kill -9")
    check_shape(entry)
    assert not entry["IsMaster"] and not entry["LastCheckValid"]
    assert entry["IsActionableRecovery"]
    assert entry["CountReplicas"] == 2 and entry["CountValidReplicas"] == 2
    assert entry["CountValidReplicatingReplicas"] == 0
    assert entry["ReplicationDepth"] == 1
    assert keystr(entry["AnalyzedInstanceMasterKey"]) == chain4.key("i1")
    assert entry["ClusterDetails"]["ClusterName"] == chain4.key("i1")
    # The top master sees its only replica dead; that is not actionable.
    top = analysis(orc)[chain4.key("i1")]
    assert top["Analysis"] == "MasterSingleReplicaDead" and not top["IsActionableRecovery"]


def test_all_master_replicas_not_replicating(star4, orc_factory):
    orc = start_orc(orc_factory, star4)
    master = star4.key(star4.master)
    for name in star4.replicas:
        star4.sql(name, "STOP SLAVE SQL_THREAD")
    entry, _ = wait_analysis(orc, master, "AllMasterReplicasNotReplicating", timeout=10)
    check_shape(entry)
    assert entry["LastCheckValid"] and entry["IsMaster"]
    assert not entry["IsActionableRecovery"]
    assert entry["CountReplicas"] == 3 and entry["CountValidReplicas"] == 3
    assert entry["CountValidReplicatingReplicas"] == 0
    assert entry["CountReplicasFailingToConnectToMaster"] == 0

    for name in star4.replicas:
        star4.sql(name, "START SLAVE SQL_THREAD")
    deadline = time.monotonic() + 10
    while master in analysis(orc) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert master not in analysis(orc), "the finding did not clear after START SLAVE"
