"""The fleet simulator (tests/fleet/) against the service: the same probe of a real MariaDB
star and of a simulated MariaDB 10.11 star yields the same Instance JSON fields; a fleet of 50
simulated instances is discovered whole; a simulated dead master is failed over; hostile
servers (10,000 replicas, a deep chain, a trickling server, a replication loop) leave the
service healthy."""
import time

import pytest
import requests

from orctest import wait_until
from orctest.fleet import fleet_orc


def cluster_size(orc, port):
    r = orc.get(f"/api/cluster/127.0.0.1:{port}")
    return len(r.json()) if r.status_code == 200 and isinstance(r.json(), list) else 0


def instance_json(orc, port):
    return wait_until(lambda: _instance(orc, port), 15, what=f"instance 127.0.0.1:{port}")


def _instance(orc, port):
    r = orc.get(f"/api/instance/127.0.0.1/{port}")
    if r.status_code != 200:
        return None
    body = r.json()
    return body if body.get("IsLastCheckValid") else None


def json_shape(value):
    """The keys (recursively for objects) and JSON types of a value, nulls aside."""
    if isinstance(value, dict):
        return {k: json_shape(v) for k, v in value.items()}
    if value is None:
        return None
    return type(value).__name__


def assert_same_shape(real, sim, where):
    assert set(real) == set(sim), (f"{where}: keys differ: only real {set(real) - set(sim)}, "
                                   f"only simulated {set(sim) - set(real)}")
    for k in real:
        a, b = json_shape(real[k]), json_shape(sim[k])
        if a is None or b is None:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            assert_same_shape(real[k], sim[k], f"{where}.{k}")
        else:
            assert a == b, f"{where}.{k}: real {a}, simulated {b}"


def test_simulated_mariadb_star_yields_the_same_instance_json_as_a_real_one(
        star4, fleet_factory, orc_factory):
    fleet = fleet_factory([{"count": 1, "replicas": 3, "flavor": "mariadb-10.11"}])
    real = orc_factory(sandbox=star4, name="orc_real",
                       DiscoverySeeds=[star4.key(n) for n in star4.names])
    sim = fleet_orc(orc_factory, fleet, seeds=fleet.ports, name="orc_sim")
    real_master, real_replica = star4.port(star4.master), star4.port(star4.replicas[0])
    sim_master = fleet.masters[0]
    sim_replica = next(p for p in fleet.ports if p != sim_master)
    wait_until(lambda: cluster_size(real, real_master) == 4, 20, what="real star discovered")
    wait_until(lambda: cluster_size(sim, sim_master) == 4, 20, what="simulated star discovered")
    for (rp, sp, role) in ((real_master, sim_master, "master"),
                           (real_replica, sim_replica, "replica")):
        r, s = instance_json(real, rp), instance_json(sim, sp)
        assert_same_shape(r, s, role)
        for k in ("IsLastCheckValid", "IsUpToDate", "Slave_IO_Running", "Slave_SQL_Running",
                  "ReplicationDepth", "IsDetachedMaster", "ReadOnly", "LogBinEnabled",
                  "LogReplicationUpdatesEnabled", "UsingMariaDBGTID", "ReplicationIOThreadState",
                  "ReplicationSQLThreadState"):
            if k in r:
                assert r[k] == s[k], f"{role}.{k}: real {r[k]!r}, simulated {s[k]!r}"
        assert s["Version"].startswith("10.11") and "MariaDB" in s["Version"]
        assert len(r["SlaveHosts"] or []) == len(s["SlaveHosts"] or [])


def test_fleet_of_50_instances_is_discovered_whole(fleet_factory, orc_factory):
    fleet = fleet_factory([{"count": 5, "replicas": 9}])
    orc = fleet_orc(orc_factory, fleet)
    wait_until(lambda: all(cluster_size(orc, m) == 10 for m in fleet.masters), 30,
               what="50 instances in 5 clusters of 10")
    clusters = orc.api("clusters-info")
    assert len(clusters) == 5
    assert sorted(c["CountInstances"] for c in clusters) == [10] * 5


def test_simulated_dead_master_is_failed_over(fleet_factory, orc_factory):
    fleet = fleet_factory([{"count": 1, "replicas": 3}])
    master = fleet.masters[0]
    replicas = [p for p in fleet.ports if p != master]
    started = time.monotonic()
    orc = fleet_orc(orc_factory, fleet, seeds=fleet.ports, RecoverMasterClusterFilters=["*"])
    wait_until(lambda: cluster_size(orc, master) == 4, 20, what="star discovered")
    # The recovery loop acts only 3 poll intervals after the start (InstancePollSeconds 1).
    time.sleep(max(0.0, 3.5 - (time.monotonic() - started)))
    fleet.kill(master)
    orc.wait_log(r"\+failover-done", timeout=30)

    def promoted():
        state = fleet.state()
        new = [p for p in replicas if state[p]["master_port"] == 0 and not state[p]["read_only"]]
        if len(new) != 1:
            return None
        others = [p for p in replicas if p != new[0]]
        if all(state[p]["master_port"] == new[0] and state[p]["io"] == "Yes" for p in others):
            return new[0]
        return None

    new_master = wait_until(promoted, 15, what="a replica promoted and the others repointed")
    wait_until(lambda: cluster_size(orc, new_master) == 3, 15,
               what="the service sees the new topology")


HEALTH_BOUND_S = 2.0


def assert_healthy(orc, seconds):
    """/api/health answers within HEALTH_BOUND_S throughout, and the process stays up."""
    deadline = time.monotonic() + seconds
    worst = 0.0
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        r = orc.get("/api/health", timeout=HEALTH_BOUND_S * 2)
        took = time.monotonic() - t0
        worst = max(worst, took)
        assert r.status_code == 200, r.text
        assert took < HEALTH_BOUND_S, f"/api/health took {took:.2f}s"
        assert orc.running
        time.sleep(0.2)
    return worst


@pytest.mark.parametrize("clusters", [
    pytest.param([{"count": 1, "replicas": 1, "fake_replicas": 10000}], id="10000-replicas"),
    pytest.param([{"count": 1, "replicas": 3999, "layout": "chain"}], id="4000-deep-chain"),
    pytest.param([{"count": 1, "replicas": 3, "trickle_ms": 20}], id="trickling-server"),
    pytest.param([{"count": 1, "replicas": 2, "layout": "loop"}], id="replication-loop"),
])
def test_service_stays_healthy_against_hostile_servers(fleet_factory, orc_factory, clusters):
    fleet = fleet_factory(clusters)
    orc = fleet_orc(orc_factory, fleet, seeds=fleet.ports[:1])
    assert_healthy(orc, 8)
    try:
        orc.get("/api/clusters-info", timeout=HEALTH_BOUND_S * 2)
    except requests.RequestException as exc:  # pragma: no cover - reported as a failure
        pytest.fail(f"/api/clusters-info: {exc}")
    assert orc.running
