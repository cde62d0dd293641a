"""Discovery caps against hostile servers played by the fleet simulator (tests/fleet/): a server
that answers every statement late (but within the read timeout) makes the probe fail at the total
probe deadline (DISC_PROBE_DEADLINE_MS, 30 s), and so does one that trickles a single answer for
longer than that (the scheduler cuts the connection); one that stops mid-answer (trickling, then hung)
fails the probe at the read timeout; a replication chain 4,000 deep is discovered and drawn down
to DISC_MAX_DEPTH (128) levels with a visible cut-off; a server that reports 10,000 replicas has
DISC_MAX_REPLICAS (1,000) of them kept. Each time the service answers /api/health quickly
throughout and stays up."""
import re
import time


from orctest import wait_until
from orctest.fleet import fleet_orc

PROBE_DEADLINE_S = 30  # DISC_PROBE_DEADLINE_MS
MAX_DEPTH = 128        # DISC_MAX_DEPTH
MAX_REPLICAS = 1000    # DISC_MAX_REPLICAS
HEALTH_BOUND_S = 2.0


def timed_get(orc, path, bound):
    t0 = time.monotonic()
    r = orc.get(path, timeout=bound * 2)
    took = time.monotonic() - t0
    assert took < bound, f"{path} took {took:.2f}s"
    return r, took


def assert_healthy(orc):
    r, _ = timed_get(orc, "/api/health", HEALTH_BOUND_S)
    assert r.status_code == 200, r.text
    assert orc.running


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) / 1024


def probe_failure(orc, port):
    m = re.search(rf'\+probe-failed instance=127\.0\.0\.1:{port} error="([^"\n]*)"',
                  orc.current_log)
    return m.group(1) if m else None


def test_slow_server_fails_the_probe_at_the_total_deadline(fleet_factory, orc_factory):
    # Every answer comes 16 s late, within the 20 s timeouts: only the total deadline stops
    # the probe. The probe checks it between statements (30 s after its start, the login
    # excluded); the scheduler cuts the connection of a probe running 32 s (the login
    # included), whichever comes first: 32-48 s after the service starts.
    fleet = fleet_factory([{"count": 1, "layout": "single", "replicas": 0, "latency_ms": 16000}])
    port = fleet.ports[0]
    started = time.monotonic()
    orc = fleet_orc(orc_factory, fleet, [port], MySQLConnectTimeoutSeconds=20,
                    MySQLDiscoveryReadTimeoutSeconds=20)
    bound = PROBE_DEADLINE_S + 2 * 16 + 5
    while probe_failure(orc, port) is None:
        assert time.monotonic() - started < bound, f"no probe failure within {bound} s"
        assert_healthy(orc)
        time.sleep(0.5)
    took = time.monotonic() - started
    error = probe_failure(orc, port)
    print(f"\nslow server: probe failed after {took:.1f} s: {error}")
    assert "probe deadline" in error and "passed" in error, error
    assert PROBE_DEADLINE_S <= took < bound, took
    r = orc.get(f"/api/instance/127.0.0.1/{port}")
    assert r.status_code != 200 or not r.json().get("IsLastCheckValid")
    assert_healthy(orc)


def test_server_that_stops_mid_answer_fails_the_probe_at_the_read_timeout(fleet_factory,
                                                                          orc_factory):
    fleet = fleet_factory([{"count": 1, "layout": "single", "replicas": 0, "trickle_ms": 10}])
    port = fleet.ports[0]
    orc = fleet_orc(orc_factory, fleet, [port], MySQLConnectTimeoutSeconds=2,
                    MySQLDiscoveryReadTimeoutSeconds=2)
    # the handshake alone takes about a second at 10 ms a byte: hang once the first statement's
    # answer is under way
    time.sleep(2.5)
    fleet.hang(port)
    hung = time.monotonic()
    while probe_failure(orc, port) is None:
        assert time.monotonic() - hung < 12, "the probe of a hung server did not fail in 12 s"
        assert_healthy(orc)
        time.sleep(0.3)
    took = time.monotonic() - hung
    # where the hang lands (login, a statement's answer) varies, and so does the error
    print(f"\nstopped mid-answer: probe failed {took:.1f} s after the hang: "
          f"{probe_failure(orc, port)}")
    r = orc.get(f"/api/instance/127.0.0.1/{port}")
    assert r.status_code != 200 or not r.json().get("IsLastCheckValid")
    assert_healthy(orc)


def test_one_trickled_answer_is_cut_at_the_probe_deadline(fleet_factory, orc_factory):
    # Once the server is known, it sends every byte 100 ms apart: each read is within the 2 s
    # read timeout, and a single answer lasts longer than the whole probe may. The probe only
    # checks its deadline between statements, so the scheduler cuts the connection short at
    # the deadline (+2 s), and the probe fails then instead of when the server is done.
    fleet = fleet_factory([{"count": 1, "layout": "single", "replicas": 0}])
    port = fleet.ports[0]
    orc = fleet_orc(orc_factory, fleet, [port], MySQLConnectTimeoutSeconds=2,
                    MySQLDiscoveryReadTimeoutSeconds=2)
    wait_until(lambda: orc.get(f"/api/instance/127.0.0.1/{port}").status_code == 200,
               timeout=20, what="the instance discovered")
    fleet.control("trickle", port, ms=100)
    slowed = time.monotonic()
    bound = PROBE_DEADLINE_S + 2 + 1 + 10  # the deadline, the grace, a poll, slack
    while "+probe-aborted instance=127.0.0.1:%d" % port not in orc.current_log:
        assert time.monotonic() - slowed < bound, f"no probe cut short within {bound} s"
        assert_healthy(orc)
        time.sleep(0.5)
    took = time.monotonic() - slowed
    wait_until(lambda: probe_failure(orc, port) is not None, timeout=5,
               what="the cut probe failed")
    error = probe_failure(orc, port)
    print(f"\ntrickled answer: probe cut {took:.1f} s after the server slowed down: {error}")
    assert took >= PROBE_DEADLINE_S, took
    assert "probe deadline passed" in error, error
    r = orc.get(f"/api/instance/127.0.0.1/{port}")
    assert r.status_code != 200 or not r.json().get("IsLastCheckValid")
    assert_healthy(orc)


def topology_lines(orc, master):
    r, took = timed_get(orc, f"/api/topology/127.0.0.1:{master}", 5)
    assert r.status_code == 200, r.text
    return r.json()["Details"].split("\n"), took


def test_4000_deep_chain_is_drawn_to_the_depth_cap_with_a_cut_off(fleet_factory, orc_factory):
    fleet = fleet_factory([{"count": 1, "layout": "chain", "replicas": 3999}])
    ports = sorted(fleet.ports)
    master = fleet.masters[0]
    assert ports[0] == master and len(ports) == 4000
    orc = fleet_orc(orc_factory, fleet, [master])

    def known():
        r = orc.get(f"/api/cluster/127.0.0.1:{master}", timeout=10)
        return len(r.json()) if r.status_code == 200 else 0

    wait_until(lambda: known() > MAX_DEPTH + 50, 40, what="the chain discovered past the cap")
    assert_healthy(orc)
    lines, took_plain = topology_lines(orc, master)
    assert len(lines) == MAX_DEPTH + 2, (len(lines), lines[-3:])  # master, 128 levels, cut-off
    assert lines[0].startswith(f"127.0.0.1:{master} ")
    deepest = ports[MAX_DEPTH]
    assert re.match(rf" {{{2 * (MAX_DEPTH - 1)}}}[+-] 127\.0\.0\.1:{deepest} ", lines[-2]), \
        lines[-2]
    assert lines[-1] == (" " * (2 * MAX_DEPTH) + f"- ... replicas of 127.0.0.1:{deepest} "
                         f"not shown: deeper than {MAX_DEPTH} levels")
    r, took_tab = timed_get(orc, f"/api/topology-tabulated/127.0.0.1:{master}", 5)
    assert r.json()["Details"].split("\n")[-1] == lines[-1]
    r, took_cluster = timed_get(orc, f"/api/cluster/127.0.0.1:{master}", 5)
    assert r.status_code == 200 and len(r.json()) > MAX_DEPTH + 50
    rss = rss_mb(orc.pid)
    print(f"\nchain: {len(r.json())} instances known, topology {took_plain * 1000:.0f} ms, "
          f"tabulated {took_tab * 1000:.0f} ms, cluster {took_cluster * 1000:.0f} ms, "
          f"RSS {rss:.0f} MB")
    assert rss < 512, f"RSS {rss:.0f} MB"
    assert_healthy(orc)


def test_10000_reported_replicas_are_capped_per_instance(fleet_factory, orc_factory):
    fleet = fleet_factory([{"count": 1, "replicas": 1, "fake_replicas": 10000}])
    master = fleet.masters[0]
    orc = fleet_orc(orc_factory, fleet, [master])

    def replicas():
        r = orc.get(f"/api/instance/127.0.0.1/{master}", timeout=10)
        return r.json().get("SlaveHosts") if r.status_code == 200 else None

    hosts = wait_until(replicas, 20, what="the master read")
    assert len(hosts) == MAX_REPLICAS, len(hosts)
    assert_healthy(orc)
    time.sleep(3)  # the service probes what it kept (127.0.0.2 refuses): still healthy
    assert_healthy(orc)
    r, _ = timed_get(orc, "/api/clusters-info", 5)
    assert r.status_code == 200
    rss = rss_mb(orc.pid)
    print(f"\n10000 replicas reported: {len(hosts)} kept, RSS {rss:.0f} MB")
    assert rss < 512, f"RSS {rss:.0f} MB"
