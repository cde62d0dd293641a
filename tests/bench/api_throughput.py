#!/usr/bin/python3
"""API throughput: requests per second and latency percentiles of the read routes.

Starts a 4-node star sandbox (real mariadbd on 127.0.0.1) and one orchestrator (SQLite,
InstancePollSeconds 1), waits until the 4 instances are discovered, then runs
`wrk -t2 -c8 -d10s --latency` against each route in turn (wrk runs on the same machine, so it
shares the cores with the service and the 4 servers). Prints req/s, latency percentiles, the
response size and any non-2xx answers or socket errors. Stops everything it started.

Usage: /usr/bin/python3 tests/bench/api_throughput.py [--duration 10] [--threads 2]
       [--connections 8] [--keep]
Targets (issue): /api/clusters >= 40,000 req/s, /api/cluster/<name> >= 10,000 req/s on 2 cores.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

import common

TARGETS = {"/api/clusters": 40000, "/api/cluster/<name>": 10000}


def parse_wrk(out):
    """Figures from wrk's output (with --latency)."""
    def unit_ms(value, unit):
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
    res = {"rps": None, "pct": {}, "non2xx": 0, "sock_err": "", "requests": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        res["requests"] = int(m.group(1))
    for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M):
        res["pct"][p] = unit_ms(v, u)
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors:(.*)", out)
    if m:
        res["sock_err"] = m.group(1).strip()
    return res


def cpu_seconds(pid):
    """utime+stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url, args):
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           "--latency", "--timeout", "5s", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()}")
    return parse_wrk(proc.stdout), proc.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per route (default 10)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    ap.add_argument("--verbose", action="store_true", help="print wrk's own output too")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, datadirs)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk (scripts/deps.sh installs it)")

    common.print_header("API throughput")
    with common.Bench(keep=args.keep) as bench:
        sb = bench.sandbox("star", 4)
        orc = bench.orchestrator(sb, DiscoverySeeds=[sb.key(sb.master)])
        cluster = common.wait_discovered(orc, sb)
        clusters = orc.api("clusters")
        if cluster not in clusters:
            raise RuntimeError(f"cluster {cluster} not in /api/clusters: {clusters}")
        host, port = cluster.rsplit(":", 1)
        routes = [
            ("/api/clusters", "/api/clusters"),
            ("/api/clusters-info", "/api/clusters-info"),
            ("/api/cluster/<name>", f"/api/cluster/{cluster}"),
            ("/api/instance/<h>/<p>", f"/api/instance/{host}/{port}"),
            ("/api/all-instances", "/api/all-instances"),
        ]
        print(f"service: pid {orc.pid}, {orc.url('/')}, 4-instance star {cluster}, "
              f"InstancePollSeconds 1, SQLite")
        print(f"wrk:     wrk -t{args.threads} -c{args.connections} -d{args.duration}s "
              f"--latency (same machine)\n")
        rows = []
        for label, path in routes:
            size = len(orc.get(path).content)
            c0, t0 = cpu_seconds(orc.pid), time.monotonic()
            res, raw = run_wrk(orc.url(path), args)
            svc_cpu = (cpu_seconds(orc.pid) - c0) / (time.monotonic() - t0) * 100
            if args.verbose:
                print(raw)
            if not orc.running:
                raise RuntimeError(f"the service died during {label}:\n{orc.tail()}")
            target = TARGETS.get(label)
            verdict = ""
            if target is not None:
                verdict = f">= {target:,}: " + ("met" if (res["rps"] or 0) >= target else
                                                "MISSED")
            errors = res["non2xx"]
            err = f"{errors}" + (f" ({res['sock_err']})" if res["sock_err"] else "")
            pct = [f"{res['pct'].get(p, float('nan')):.2f}" for p in ("50", "90", "99")]
            rows.append([label, f"{res['rps']:,.0f}" if res["rps"] else "?", *pct,
                         f"{size:,}", err, f"{svc_cpu:.0f}", verdict])
        common.print_table(["route", "req/s", "p50 ms", "p90 ms", "p99 ms", "body bytes",
                            "non-2xx", "service CPU %", "target"], rows,
                           align="lrrrrrrrl")
        print(f"\n({os.cpu_count()} cores shared by wrk, the service and 4 mariadbd; service "
              "CPU % is of one core, from /proc/<pid>/stat)")


if __name__ == "__main__":
    common.run(main)
