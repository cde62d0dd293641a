"""The routes of issue 12 item 8 against real MariaDB sandboxes: what each does, not only that it
answers. refresh re-probes at once; topology-tags and untag-all; the tag path forms; pools
(replicated submit, cluster and heuristic reads); bulk reads; the discovery, queue, backend and
write-buffer metrics shapes; force-master-failover by instance and the recovery history by alias
(audit-recovery, audit-failure-detection, active and recently-active recoveries); headers,
resolve, elections; features not kept here answer 501 with the reason; read-only users are
refused every new mutating route. CLI output of the new commands is checked the way
orchestrator-client's jq filters print it.
"""
import sqlite3
import time

import requests

from orctest import wait_until

RECOVER_ALL = {"RecoverMasterClusterFilters": ["*"],
               "RecoverIntermediateMasterClusterFilters": ["*"]}


def hp(sb, name):
    return f"127.0.0.1/{sb.port(name)}"


def keyof(sb, name):
    return {"Hostname": "127.0.0.1", "Port": sb.port(name)}


def ok(orc, path, **kw):
    resp = orc.get("/api/" + path, **kw)
    body = resp.json()
    assert resp.status_code == 200, f"{path}: {resp.status_code} {body}"
    if isinstance(body, dict) and "Code" in body:
        assert body["Code"] == "OK", f"{path}: {body}"
    return body


def error(orc, path, status, **kw):
    resp = orc.get("/api/" + path, **kw)
    body = resp.json()
    assert resp.status_code == status, f"{path}: expected {status}, got {resp.status_code} {body}"
    assert body["Code"] == "ERROR" and body["Message"], body
    return body


def started(orc_factory, sb, auth=None, **config):
    cfg = {"DiscoverySeeds": [sb.key(n) for n in sb.names]}
    cfg.update(config)
    orc = orc_factory(sb, **cfg)
    if auth is not None:
        orc.http_kw["auth"] = auth
    master = sb.key(sb.master)
    wait_until(lambda: len(orc.api(f"cluster/{master}")) == len(sb.names), 10,
               what="whole topology discovered")
    return orc


def cli_out(orc, *args):
    proc = orc.cli(*args)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout.splitlines()


# ---- refresh ----------------------------------------------------------------------------------


def test_refresh_reprobes_the_instance_at_once(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 2)
    # a poll interval far longer than the test: only refresh can show the change in time
    orc = started(orc_factory, sb, InstancePollSeconds=300)
    replica = sb.replicas[0]
    assert ok(orc, f"instance/{hp(sb, replica)}")["ReadOnly"] is True
    sb.sql(replica, "SET GLOBAL read_only = 0")
    body = ok(orc, f"refresh/{hp(sb, replica)}")
    assert body["Message"] == f"Instance refreshed: {sb.key(replica)}"
    assert body["Details"] == keyof(sb, replica)
    assert ok(orc, f"instance/{hp(sb, replica)}")["ReadOnly"] is False
    error(orc, "refresh/127.0.0.1/1", 404)
    error(orc, "refresh/127.0.0.1/notaport", 400)


# ---- tags -------------------------------------------------------------------------------------


def test_topology_tags_and_untag_all(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 3)
    orc = started(orc_factory, sb)
    i2, i3 = sb.replicas
    master = sb.key(sb.master)
    ok(orc, f"tag/{hp(sb, i2)}?tag=role=backup")
    ok(orc, f"tag/{hp(sb, i3)}/role/analytics")  # the path form
    ok(orc, f"tag/{hp(sb, i3)}/solo/x")
    assert ok(orc, f"tag-value/{hp(sb, i3)}/role") == "analytics"
    text = ok(orc, f"topology-tags/{master}")["Details"]
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(master) and lines[0].endswith("] []")  # the master has no tags
    line2 = next(ln for ln in lines if sb.key(i2) in ln)
    line3 = next(ln for ln in lines if sb.key(i3) in ln)
    assert line2.endswith(" [role=backup]") and line3.endswith(" [role=analytics,solo=x]")
    # same tree as topology, with the tags appended
    plain = ok(orc, f"topology/{master}")["Details"].splitlines()
    assert [ln.rsplit(" [", 1)[0] for ln in lines] == plain
    assert ok(orc, f"topology-tags/{hp(sb, i2)}")["Details"] == text
    assert cli_out(orc, "topology-tags", "-i", master) == lines

    # untag-all with a value removes only the matching tags
    body = ok(orc, "untag-all/role/backup")
    assert body["Message"] == "role removed from 1 instances"
    assert body["Details"] == [keyof(sb, i2)]
    assert ok(orc, f"tags/{hp(sb, i2)}") == []
    # the CLI prints the keys untagged, one per line
    assert cli_out(orc, "untag-all", "--tag", "role") == [sb.key(i3)]
    assert ok(orc, f"tags/{hp(sb, i3)}") == ["solo=x"]
    assert ok(orc, "untag-all?tag=nosuchtag")["Details"] == []
    ok(orc, f"untag/{hp(sb, i3)}/solo")  # the path form
    assert ok(orc, f"tags/{hp(sb, i3)}") == []
    audit = [a for a in ok(orc, "audit") if a["AuditType"] == "untag"]
    assert len(audit) == 3
    error(orc, "untag-all", 400)


# ---- pools ------------------------------------------------------------------------------------


def test_pools_submit_read_and_heuristics(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 3)
    orc = started(orc_factory, sb)
    i2, i3 = sb.replicas
    master = sb.key(sb.master)
    body = ok(orc, f"submit-pool-instances/web?instances={sb.key(i2)},{sb.key(i3)}")
    assert body["Message"] == "Applied web pool instances" and body["Details"] == "web"
    ok(orc, f"submit-pool-instances/batch?instances={sb.key(i3)}")
    pools = ok(orc, f"cluster-pool-instances/{master}")["Details"]
    by_port = sorted([keyof(sb, i2), keyof(sb, i3)], key=lambda k: k["Port"])
    assert pools == {"batch": [keyof(sb, i3)], "web": by_port}
    assert ok(orc, f"cluster-pool-instances/{master}/batch")["Details"] == {
        "batch": [keyof(sb, i3)]}
    heur = ok(orc, f"heuristic-cluster-pool-instances/{master}/web")["Details"]
    assert sorted(i["Key"]["Port"] for i in heur) == sorted([sb.port(i2), sb.port(i3)])
    lag = ok(orc, f"heuristic-cluster-pool-lag/{master}/web")
    assert isinstance(lag["Details"], int) and lag["Details"] >= 0
    # a new submission replaces the pool
    assert cli_out(orc, "submit-pool-instances", "-i", sb.key(i2), "--pool", "web") == ["web"]
    assert ok(orc, f"cluster-pool-instances/{master}/web")["Details"] == {
        "web": [keyof(sb, i2)]}
    assert cli_out(orc, "which-heuristic-cluster-pool-instances", "-i", master, "--pool",
                   "web") == [sb.key(i2)]
    # a stopped instance (last check not valid) leaves the heuristic list
    sb.stop(i2)
    wait_until(lambda: ok(orc, f"heuristic-cluster-pool-instances/{master}/web")["Details"] == [],
               10, what="the stopped instance out of the heuristic pool")
    error(orc, "submit-pool-instances/web?instances=127.0.0.1:notaport", 400)
    assert [a for a in ok(orc, "audit") if a["AuditType"] == "submit-pool-instances"]


# ---- bulk reads -------------------------------------------------------------------------------


def test_bulk_instances_and_promotion_rules(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 2)
    orc = started(orc_factory, sb)
    replica = sb.replicas[0]
    keys = ok(orc, "bulk-instances")
    assert sorted(k["Port"] for k in keys) == sorted(sb.port(n) for n in sb.names)
    assert ok(orc, "bulk-promotion-rules") == []
    ok(orc, f"register-candidate/{hp(sb, replica)}/prefer")
    rules = ok(orc, "bulk-promotion-rules")
    assert len(rules) == 1
    rule = rules[0]
    assert list(rule) == ["Hostname", "Port", "PromotionRule", "LastSuggestedString",
                          "PromotionRuleExpiry"]
    assert (rule["Hostname"], rule["Port"], rule["PromotionRule"]) == (
        "127.0.0.1", sb.port(replica), "prefer")
    fmt = "%Y-%m-%d %H:%M:%S"
    suggested = time.mktime(time.strptime(rule["LastSuggestedString"], fmt))
    expiry = time.mktime(time.strptime(rule["PromotionRuleExpiry"], fmt))
    assert expiry - suggested == 60 * 60  # CandidateInstanceExpireMinutes


# ---- metrics ----------------------------------------------------------------------------------

DISCOVERY_AGG = ["FirstSeen", "LastSeen", "CountDistinctInstanceKeys",
                 "CountDistinctOkInstanceKeys", "CountDistinctFailedInstanceKeys",
                 "FailedDiscoveries", "SuccessfulDiscoveries"]


def test_metrics_routes_shapes(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 2)
    orc = started(orc_factory, sb)
    time.sleep(2.5)  # a few polls (1 s) and queue samples
    raw = ok(orc, "discovery-metrics-raw/60")
    assert raw and list(raw[0]) == ["Timestamp", "InstanceKey", "BackendLatency",
                                    "InstanceLatency", "TotalLatency", "Err"]
    assert {m["InstanceKey"]["Port"] for m in raw} == {sb.port(n) for n in sb.names}
    assert all(m["Err"] is None and m["TotalLatency"] >= m["InstanceLatency"] > 0 for m in raw)
    agg = ok(orc, "discovery-metrics-aggregated/60")
    assert list(agg) == DISCOVERY_AGG + [
        f"{failed}{stat}{what}Seconds" for stat in ("Mean", "Max", "Median", "P95")
        for failed in ("", "Failed") for what in ("Total", "Backend", "Instance")]
    assert agg["CountDistinctInstanceKeys"] == 2 and agg["FailedDiscoveries"] == 0
    assert agg["SuccessfulDiscoveries"] == len(raw) or agg["SuccessfulDiscoveries"] >= len(raw)
    assert 0 < agg["MeanInstanceSeconds"] <= agg["MaxInstanceSeconds"]
    queue = ok(orc, "discovery-queue-metrics-raw/60")
    assert queue and all(list(q) == ["Active", "Queued"] for q in queue)
    qagg = ok(orc, "discovery-queue-metrics-aggregated/60")
    assert list(qagg) == [f"{w}{s}Entries" for w in ("Active", "Queued")
                          for s in ("Min", "Mean", "Median", "P95", "Max")]
    writes = ok(orc, "write-buffer-metrics-raw/60")
    assert writes and list(writes[0]) == ["Timestamp", "Instances", "WaitLatency",
                                          "WriteLatency"]
    wagg = ok(orc, "write-buffer-metrics-aggregated/60")
    assert wagg["InstanceFlushIntervalMilliseconds"] == 100 and wagg["CountInstances"] > 0
    queries = ok(orc, "backend-query-metrics-raw/60")
    assert queries and list(queries[0]) == ["Timestamp", "WaitLatency", "ExecuteLatency", "Err"]
    qa = ok(orc, "backend-query-metrics-aggregated/60")
    assert list(qa) == ["Count", "MaxLatencySeconds", "MeanLatencySeconds",
                        "MedianLatencySeconds", "P95LatencySeconds", "MaxWaitSeconds",
                        "MeanWaitSeconds", "MedianWaitSeconds", "P95WaitSeconds"]
    assert qa["Count"] == len(ok(orc, "backend-query-metrics-raw/60")) or qa["Count"] > 0
    # samples older than the window are left out
    assert len(ok(orc, "discovery-metrics-raw/1")) < len(ok(orc, "discovery-metrics-raw/60"))
    for bad in ("0", "-5", "x"):
        assert error(orc, f"discovery-metrics-raw/{bad}", 400)["Message"] == (
            "Invalid value provided for seconds")


# ---- recoveries -------------------------------------------------------------------------------


def test_recovery_history_by_alias_and_force_failover_by_instance(sandbox_factory,
                                                                  orc_factory):
    sb = sandbox_factory("star", 3)
    orc = started(orc_factory, sb, **RECOVER_ALL)
    master = sb.key(sb.master)
    ok(orc, f"set-cluster-alias/{master}?alias=shop")
    time.sleep(2.5)  # the recovery loop waits a few polls after start
    sb.kill(sb.master)
    recs = wait_until(lambda: [x for x in ok(orc, "audit-recovery/alias/shop")
                               if x["IsSuccessful"] and x["RecoveryEndTimestamp"]], 20,
                      what="the automated recovery, recorded with the alias")
    assert len(recs) == 1
    successor = recs[0]["SuccessorKey"]
    assert ok(orc, "audit-recovery/alias/shop/0") == recs
    assert ok(orc, "audit-recovery/alias/shop/1") == []
    assert ok(orc, "audit-recovery/alias/nosuch") == []
    assert ok(orc, f"active-cluster-recovery/{master}") == []  # it ended
    recent = ok(orc, f"recently-active-cluster-recovery/{master}")
    assert [x["UID"] for x in recent] == [recs[0]["UID"]]
    assert ok(orc, "recently-active-cluster-recovery/shop") == []  # by name, not alias
    assert [x["UID"] for x in ok(orc, "recently-active-instance-recovery/"
                                 f"127.0.0.1/{successor['Port']}")] == [recs[0]["UID"]]
    other = next(n for n in sb.replicas if sb.port(n) != successor["Port"])
    assert ok(orc, f"recently-active-instance-recovery/{hp(sb, other)}") == []
    dets = ok(orc, "audit-failure-detection/alias/shop")
    assert dets and dets[0]["AnalysisEntry"]["ClusterDetails"]["ClusterName"] == master
    assert ok(orc, f"audit-failure-detection/alias/shop/0") == dets
    assert ok(orc, f"audit-failure-detection/id/{dets[0]['Id']}") == [dets[0]]
    assert ok(orc, "audit-failure-detection/alias/nosuch") == []
    error(orc, "audit-failure-detection/id/x", 400)
    # force-master-failover by an instance of the (renamed) cluster: the other replica wins
    ok(orc, f"ack-all-recoveries?comment=test")
    new_master = sb.name_of_port(successor["Port"])
    wait_until(lambda: len(ok(orc, f"cluster/{sb.key(new_master)}")) == 2, 10,
               what="the new cluster with its replica")
    r = ok(orc, f"force-master-failover/{hp(sb, other)}")  # the :host/:port form
    assert r["Details"]["SuccessorKey"] == keyof(sb, other)
    error(orc, "force-master-failover/127.0.0.1/1", 404)


def test_force_master_takeover_by_instance_of_the_cluster(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 3)
    orc = started(orc_factory, sb, **RECOVER_ALL)
    i2, i3 = sb.replicas
    time.sleep(2.5)  # the recovery loop waits a few polls after start
    # the cluster named by one of its replicas, the designated one another replica
    r = ok(orc, f"force-master-takeover/{hp(sb, i2)}/{hp(sb, i3)}")
    assert r["Details"]["SuccessorKey"] == keyof(sb, i3)
    assert sb.slave_status(i3) is None and sb.sql_value(i3, "SELECT @@read_only") == 0
    error(orc, f"force-master-takeover/127.0.0.1/1/{hp(sb, i3)}", 404)


# ---- the rest ---------------------------------------------------------------------------------


def test_headers_resolve_elections_and_features_not_kept(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 2)
    orc = started(orc_factory, sb)
    headers = ok(orc, "headers", headers={"X-Probe": "yes", "Authorization": "Basic c2VjcmV0"})
    assert headers["X-Probe"] == ["yes"] and headers["Authorization"] == ["(redacted)"]
    body = ok(orc, f"resolve/{hp(sb, sb.master)}")
    assert body["Message"] == "Instance resolved" and body["Details"] == keyof(sb, sb.master)
    assert "127.0.0.1:1" in error(orc, "resolve/127.0.0.1/1", 422)["Message"]
    assert ok(orc, "grab-election")["Message"] == "Node elected as leader"
    assert ok(orc, "reelect")["Message"] == "Set re-elections"
    assert ok(orc, "leader-check") == "OK"  # a single node stays the leader
    assert ok(orc, "hostname-resolve-cache")["Details"] == {}
    assert ok(orc, "reset-hostname-resolve-cache")["Message"] == "Hostname cache cleared"
    for path, words in [("replication-analysis-changelog", "not recorded"),
                        (f"register-hostname-unresolve/{hp(sb, sb.master)}/virt", "never resolved"),
                        ("agents", "Agents not served"),
                        (f"match-up/{hp(sb, sb.replicas[0])}", "Pseudo-GTID"),
                        (f"regroup-slaves-bls/{hp(sb, sb.master)}", "binlog servers")]:
        assert words in error(orc, path, 501)["Message"], path
    assert error(orc, "reload-cluster-alias", 410)["Message"] == "This API call has been retired"
    assert "not running with raft" in error(
        orc, "raft-follower-health-report/x/127.0.0.1:1/127.0.0.1:1", 409)["Message"]
    osc = ok(orc, f"cluster-osc-slaves/{sb.key(sb.master)}")
    assert [i["Key"] for i in osc] == [keyof(sb, sb.replicas[0])]
    assert cli_out(orc, "which-cluster-osc-replicas", "-i", sb.key(sb.master)) == [
        sb.key(sb.replicas[0])]
    assert cli_out(orc, "which-cluster-osc-running-replicas", "-i", sb.key(sb.master)) == [
        sb.key(sb.replicas[0])]
    # dominant-dc: the sandbox sets no data center, so the most common one is ""
    assert cli_out(orc, "dominant-dc") == [""]


def test_read_only_users_cannot_use_the_new_mutating_routes(sandbox_factory, orc_factory):
    sb = sandbox_factory("star", 2)
    orc = started(orc_factory, sb, auth=("admin", "s3cret"), AuthenticationMethod="multi",
                  HTTPAuthUser="admin", HTTPAuthPassword="s3cret")
    readonly = ("readonly", "x")
    replica = hp(sb, sb.replicas[0])
    for path in [f"refresh/{replica}", "untag-all?tag=a", "untag-all/a/b",
                 "submit-pool-instances/p?instances=127.0.0.1:1", "reelect", "grab-election",
                 f"tag/{replica}/a/b", f"untag/{replica}/a", "reset-hostname-resolve-cache",
                 f"force-master-failover/{replica}", "snapshot-topologies",
                 "resolve/127.0.0.1/1"]:
        resp = requests.get(orc.url("/api/" + path), auth=readonly, timeout=10)
        assert resp.status_code in (401, 403) and resp.json()["Code"] == "ERROR", path
    assert ok(orc, "bulk-instances", auth=readonly)
    assert ok(orc, f"cluster-pool-instances/{sb.key(sb.master)}", auth=readonly)["Details"] == {}


def test_reload_configuration_uses_the_sighup_path_and_is_audited(orc_factory):
    orc = orc_factory(LogLevel="info")
    cfg = dict(orc.config, LogLevel="debug")
    orc.config = cfg
    orc.write_config()
    body = ok(orc, "reload-configuration")
    assert body["Details"]["Changed"] == "LogLevel"
    orc.wait_log(r'\+config-reloaded by=api changed="LogLevel"', timeout=5)
    audit = [a for a in ok(orc, "audit") if a["AuditType"] == "reload-configuration"]
    assert [a["Message"] for a in audit] == ["Triggered via API; changed: LogLevel"]


def test_snapshot_topologies_records_every_instance_master(sandbox_factory, orc_factory):
    sb = sandbox_factory("chain", 3)
    orc = started(orc_factory, sb)
    time.sleep(1.5)  # the writer persists the probe results (batched, 100 ms)
    body = ok(orc, "snapshot-topologies")
    assert body["Message"] == "Topology Snapshot completed"
    assert body["Details"].startswith("Took ") and body["Details"].endswith("ms")
    db = sqlite3.connect(orc.config["SQLite3DataFile"])
    try:
        rows = db.execute("SELECT snapshot_unix_timestamp, port, master_port, cluster_name"
                          " FROM database_instance_topology_history").fetchall()
    finally:
        db.close()
    assert len({r[0] for r in rows}) == 1
    masters = {r[1]: r[2] for r in rows}
    want = {sb.port(n): (sb.port(sb.initial_master(n)) if sb.initial_master(n) else 0)
            for n in sb.names}
    assert masters == want
    assert {r[3] for r in rows} == {sb.key(sb.master)}
    out = cli_out(orc, "snapshot-topologies")
    assert len(out) == 1 and out[0].startswith("Took ")
    assert [a for a in ok(orc, "audit") if a["AuditType"] == "snapshot-topologies"]
