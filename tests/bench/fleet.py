#!/usr/bin/python3
"""Fleet scale: the service against thousands of simulated instances (tests/fleet/, orc-fleet).

    /usr/bin/python3 tests/bench/fleet.py --instances N --poll S --seconds T [--bin PATH]

Builds (make all, unless --bin), starts orc-fleet playing N instances in clusters of
--cluster-size (a MariaDB 10.11 master and its replicas), starts one service (SQLite,
InstancePollSeconds S, RecoverMasterClusterFilters ["*"], the masters as seeds), waits until
every instance is discovered, then over a window of T seconds measures the service's CPU
(utime+stime from /proc/<pid>/stat), RSS, threads, file descriptors, probes and backend rows
written per second (/metrics); then the latency of a few hundred sequential GETs of
/api/clusters-info and /api/cluster/<name>; then kills one simulated master through the
simulator's control endpoint and times the service's +failover-start. The last line is:

    fleet instances=N poll=S cpu_pct=X rss_mb=Y api_p99_ms=Z failover_start_ms=W
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import requests

from common import REPO_ROOT, Bench, parse_log_time, print_header, print_table, run, wait_until

sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))
from orctest.fleet import PASSWORD, USER, Fleet  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def tree_pids(pid):
    """pid and its children (the simulator's shards)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="utf-8") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return pids


def metrics(orc):
    text = orc.get("/metrics", timeout=30).text
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(orchestrator_[a-z_]+) ([0-9.e+-]+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def discovered(orc):
    r = orc.get("/api/clusters-info", timeout=60)
    if r.status_code != 200:
        return 0, 0
    body = r.json()
    return sum(c.get("CountInstances", 0) for c in body), len(body)


def percentile(values, p):
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def latency(orc, path, n):
    s = requests.Session()
    took = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = s.get(orc.url(path), timeout=30)
        took.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{path}: {r.status_code}")
    return percentile(took, 50), percentile(took, 99), len(r.content)


def measure_window(orc, fleet, seconds):
    pid = orc.pid
    m0, c0, f0, t0 = metrics(orc), cpu_seconds(pid), fleet_cpu(fleet), time.monotonic()
    rss_max = 0
    while time.monotonic() - t0 < seconds:
        time.sleep(min(1.0, seconds - (time.monotonic() - t0)) if seconds > 0 else 0)
        rss_max = max(rss_max, int(proc_status(pid)["VmRSS"].split()[0]))
    m1, c1, f1, t1 = metrics(orc), cpu_seconds(pid), fleet_cpu(fleet), time.monotonic()
    st = proc_status(pid)
    dt = t1 - t0

    def rate(k):
        return (m1.get(k, 0) - m0.get(k, 0)) / dt
    return {
        "cpu_pct": 100.0 * (c1 - c0) / dt,
        "fleet_cpu_pct": 100.0 * (f1 - f0) / dt,
        "rss_mb": int(st["VmRSS"].split()[0]) / 1024.0,
        "rss_max_mb": rss_max / 1024.0,
        "threads": int(st["Threads"]),
        "fds": fd_count(pid),
        "probes_s": rate("orchestrator_discovery_probes_total"),
        "failures_s": rate("orchestrator_discovery_probe_failures_total"),
        "rows_s": rate("orchestrator_backend_rows_written_total"),
        "batches_s": rate("orchestrator_backend_writes_total"),
        "workers": m1.get("orchestrator_discovery_workers", 0),
        "queue": m1.get("orchestrator_discovery_queue_length", 0),
    }


def fleet_cpu(fleet):
    total = 0.0
    for p in tree_pids(fleet.pid):
        try:
            total += cpu_seconds(p)
        except OSError:
            pass
    return total


def failover_start(orc, fleet, timeout):
    """Kills the first simulated master; ms until the service logs +failover-start for it."""
    port = fleet.masters[0]
    key = f"127.0.0.1:{port}"
    t_kill = time.time()
    fleet.kill(port)
    rx = re.compile(r"^.*\+failover-start .*instance=" + re.escape(key) + r"\b.*$", re.M)
    try:
        m = orc.wait_log(rx, timeout=timeout)
    except TimeoutError:
        return None
    return (parse_log_time(m.group(0)) - t_kill) * 1000.0


def build(args):
    if args.bin:
        return
    subprocess.run(["make", "-s", "all"], cwd=REPO_ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def start(bench, args):
    size = args.cluster_size
    fleet_bin = args.fleet_bin or str(bench.binary.parent / "orc-fleet")
    fleet = Fleet.up(fleet_bin, bench.dir / "fleet",
                     [{"count": args.instances // size, "replicas": size - 1}],
                     base_port=args.base_port, timeout=120)
    bench.fleet = fleet
    cfg = {"MySQLTopologyUser": USER, "MySQLTopologyPassword": PASSWORD,
           "InstancePollSeconds": args.poll, "RecoverMasterClusterFilters": ["*"],
           "DiscoverySeeds": [f"127.0.0.1:{p}" for p in fleet.masters]}
    for kv in args.config:
        k, _, v = kv.partition("=")
        cfg[k] = int(v) if v.isdigit() else v
    orc = bench.orchestrator(None, timeout=60, **cfg)
    return fleet, orc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--poll", type=int, default=1, help="InstancePollSeconds")
    ap.add_argument("--seconds", type=int, default=30, help="measurement window")
    ap.add_argument("--bin", help="orchestrator binary (default: build it)")
    ap.add_argument("--fleet-bin", help="orc-fleet binary (default: next to the orchestrator)")
    ap.add_argument("--cluster-size", type=int, default=10)
    ap.add_argument("--base-port", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=300, help="sequential GETs per route")
    ap.add_argument("--discover-timeout", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--config", action="append", default=[], help="extra Key=value")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if args.bin:
        os.environ["ORC_BIN"] = os.path.abspath(args.bin)
    build(args)
    print_header(f"fleet: {args.instances} instances, InstancePollSeconds {args.poll}")
    with Bench(keep=args.keep, prefix="orc-bench-fleet-") as bench:
        bench.fleet = None
        try:
            report(bench, args)
        finally:
            if bench.fleet is not None:
                bench.fleet.down()


def report(bench, args):
    t0 = time.monotonic()
    fleet, orc = start(bench, args)
    n = len(fleet.ports)
    print(f"fleet: {n} instances on ports {min(fleet.ports)}-{max(fleet.ports)}, "
          f"{len(fleet.info['control'])} shard(s), pid {fleet.pid}; service pid {orc.pid}")
    wait_until(lambda: discovered(orc)[0] >= n, args.discover_timeout, interval=1.0,
               what=f"{n} instances discovered")
    print(f"discovered all {n} in {time.monotonic() - t0:.1f} s (from the fleet's start)")
    time.sleep(args.warmup)
    w = measure_window(orc, fleet, args.seconds)
    name = f"127.0.0.1:{fleet.masters[1]}"
    ci50, ci99, ci_len = latency(orc, "/api/clusters-info", args.requests)
    cl50, cl99, cl_len = latency(orc, f"/api/cluster/{name}", args.requests)
    fo = failover_start(orc, fleet, timeout=max(30, 10 * args.poll))
    print()
    print_table(["figure", "value"], [
        ["service CPU % of one core", f"{w['cpu_pct']:.1f}"],
        ["simulator CPU % (all shards)", f"{w['fleet_cpu_pct']:.1f}"],
        ["RSS MB (end / max in window)", f"{w['rss_mb']:.1f} / {w['rss_max_mb']:.1f}"],
        ["threads", w["threads"]], ["file descriptors", w["fds"]],
        ["probes/s (failed/s)", f"{w['probes_s']:.0f} ({w['failures_s']:.1f})"],
        ["backend rows/s (batches/s)", f"{w['rows_s']:.0f} ({w['batches_s']:.1f})"],
        ["probe workers, queue at end", f"{w['workers']:.0f}, {w['queue']:.0f}"],
        [f"/api/clusters-info p50 / p99 ms ({ci_len} B)", f"{ci50:.2f} / {ci99:.2f}"],
        [f"/api/cluster/<name> p50 / p99 ms ({cl_len} B)", f"{cl50:.2f} / {cl99:.2f}"],
        ["kill of a master -> +failover-start ms", "none" if fo is None else f"{fo:.0f}"],
        ["cost per 1,000 instances: CPU % / RSS MB / probes/s",
         f"{w['cpu_pct'] * 1000 / n:.1f} / {w['rss_mb'] * 1000 / n:.1f} / "
         f"{w['probes_s'] * 1000 / n:.0f}"],
    ], align="lr")
    print(f"fleet instances={n} poll={args.poll} cpu_pct={w['cpu_pct']:.1f} "
          f"rss_mb={w['rss_mb']:.1f} api_p99_ms={ci99:.2f} "
          f"failover_start_ms={'none' if fo is None else f'{fo:.0f}'}")


if __name__ == "__main__":
    run(main)
