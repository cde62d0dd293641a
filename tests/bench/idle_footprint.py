#!/usr/bin/python3
"""Idle footprint: CPU and memory of the service watching a 4-node star, polled every second.

Starts a 4-node star sandbox and one orchestrator (SQLite, InstancePollSeconds 1), waits until
the 4 instances are discovered, lets it warm up (default 10 s), then measures over a window
(default 60 s):
- CPU % of one core: utime+stime from /proc/<pid>/stat over the window, and per thread;
- context switches per second (/proc/<pid>/status);
- RSS, RssAnon, RssFile, threads (/proc/<pid>/status), PSS and USS (/proc/<pid>/smaps_rollup);
- the same memory figures for two floors: a C program linked with the service's libraries
  (-Wl,--no-as-needed) that calls mysql_library_init() and sleeps, and a bare C program, so the
  report shows how much of the RSS is shared-library pages the service cannot avoid;
- the service's largest mappings (/proc/<pid>/smaps), grouped by file.
The floor programs are compiled with gcc into the temp dir and removed with it.

Usage: /usr/bin/python3 tests/bench/idle_footprint.py [--warmup 10] [--seconds 60] [--keep]
Targets (issue): RSS <= 6 MB, CPU <= 0.3 %.
"""
import argparse
import os
import shutil
import signal
import subprocess
import time
from collections import defaultdict

import common

TARGET_RSS_KB = 6 * 1024
TARGET_CPU_PCT = 0.3
LIBS = ["raft", "libuv", "libmicrohttpd", "jansson", "sqlite3", "libmariadb", "libcurl"]

FLOOR_C = """/* floor: libraries loaded (and mysql_library_init() when WITH_MYSQL), then idle. */
#include <unistd.h>
#ifdef WITH_MYSQL
#include <mysql.h>
#endif
int main(void)
{
#ifdef WITH_MYSQL
    if (mysql_library_init(0, NULL, NULL) != 0)
        return 1;
#endif
    for (;;)
        pause();
}
"""
# (label, pkg-config names): the full floor first, then the libraries on their own.
FLOORS = [
    ("floor: same libs + mysql_library_init", LIBS),
    ("  libmariadb alone (+ init)", ["libmariadb"]),
    ("  libmicrohttpd alone", ["libmicrohttpd"]),
    ("  libcurl alone", ["libcurl"]),
    ("  sqlite3 + raft + libuv + jansson", ["sqlite3", "raft", "libuv", "jansson"]),
    ("  all but libcurl (+ init)", [x for x in LIBS if x != "libcurl"]),
    ("floor: bare C program", []),
]


def read_kv(path):
    """'Key:  value kB' lines -> {Key: int(value)} (first number of each line)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                out[key] = int(parts[0])
    return out


def cpu_ticks(pid, tid=None):
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path, encoding="utf-8") as f:
        data = f.read()
    comm = data[data.index("(") + 1:data.rindex(")")]
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12]), comm  # utime, stime (fields 14, 15)


def thread_cpu(pid):
    """{tid: (comm, ns of CPU)} from /proc/<pid>/task/<tid>/schedstat (ns precision)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="utf-8") as f:
                ns = int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{tid}/comm", encoding="utf-8") as f:
                comm = f.read().strip()
        except OSError:
            continue
        out[tid] = (comm, ns)
    return out


def system_cpu():
    """(busy, steal, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat", encoding="utf-8") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + vals[4]  # idle + iowait
    steal = vals[7] if len(vals) > 7 else 0
    total = sum(vals[:8])
    return total - idle - steal, steal, total


def thread_roles(bench, pid, seconds):
    """Labels threads by the system calls they make for a few seconds (strace -f), since the
    service does not name its threads: {tid: role}. Empty when strace is not installed."""
    if shutil.which("strace") is None or seconds <= 0:
        return {}
    out = bench.dir / "strace.txt"
    calls = "pwrite64,fdatasync,sendto,epoll_wait,pselect6,poll,accept4,rt_sigtimedwait"
    proc = subprocess.Popen(["strace", "-f", "-qq", "-e", f"trace={calls}", "-p", str(pid),
                             "-o", str(out)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(seconds)
    finally:
        proc.send_signal(signal.SIGINT)  # strace detaches on SIGINT
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    seen = defaultdict(set)
    try:
        for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0].isdigit():
                seen[parts[0]].add(parts[1].split("(", 1)[0].lstrip("<. "))
    except OSError:
        return {}
    roles = {}
    for tid, sc in seen.items():
        if "pwrite64" in sc or "fdatasync" in sc:
            roles[tid] = "backend writer (SQLite)"
        elif "sendto" in sc:
            roles[tid] = "probe worker (MySQL)"
        elif "epoll_wait" in sc:
            roles[tid] = "connection watcher (epoll)"
        elif "pselect6" in sc or "accept4" in sc:
            roles[tid] = "HTTP listener"
        elif "rt_sigtimedwait" in sc:
            roles[tid] = "main (signals)"
    return roles


def ctx_switches(pid):
    """(voluntary, involuntary) context switches summed over the live threads."""
    vol = invol = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            st = read_kv(f"/proc/{pid}/task/{tid}/status")
        except OSError:
            continue
        vol += st.get("voluntary_ctxt_switches", 0)
        invol += st.get("nonvoluntary_ctxt_switches", 0)
    return vol, invol


def memory(pid):
    st = read_kv(f"/proc/{pid}/status")
    ro = read_kv(f"/proc/{pid}/smaps_rollup")
    return {
        "rss": st.get("VmRSS", 0), "anon": st.get("RssAnon", 0), "file": st.get("RssFile", 0),
        "hwm": st.get("VmHWM", 0), "threads": st.get("Threads", 0), "pss": ro.get("Pss", 0),
        "uss": ro.get("Private_Clean", 0) + ro.get("Private_Dirty", 0),
        "pss_anon": ro.get("Pss_Anon", 0), "pss_file": ro.get("Pss_File", 0),
    }


def mappings(pid):
    """{name: [Rss, Pss, private] kB} per mapped file (anonymous mappings grouped by name)."""
    groups = defaultdict(lambda: [0, 0, 0])
    name = None
    with open(f"/proc/{pid}/smaps", encoding="utf-8") as f:
        for line in f:
            head = line.split()
            if not head:
                continue
            if "-" in head[0] and not head[0].endswith(":"):
                name = head[5] if len(head) > 5 else "[anon]"
                name = os.path.basename(name) if name.startswith("/") else name
            elif head[0] == "Rss:":
                groups[name][0] += int(head[1])
            elif head[0] == "Pss:":
                groups[name][1] += int(head[1])
            elif head[0] in ("Private_Clean:", "Private_Dirty:"):
                groups[name][2] += int(head[1])
    return dict(groups)


def build_floor(bench, name, libs):
    """Compiles FLOOR_C linked with the pkg-config libraries (kept even when unused)."""
    src = bench.dir / "floor.c"
    exe = bench.dir / name
    src.write_text(FLOOR_C, encoding="utf-8")
    cmd = ["gcc", "-O2", "-o", str(exe), str(src)]
    if "libmariadb" in libs:
        cmd.append("-DWITH_MYSQL")
    if libs:
        cmd += subprocess.run(["pkg-config", "--cflags"] + libs, capture_output=True,
                              text=True, check=True).stdout.split()
        cmd.append("-Wl,--no-as-needed")
        cmd += subprocess.run(["pkg-config", "--libs"] + libs, capture_output=True,
                              text=True, check=True).stdout.split()
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)
    return exe


def measure_floor(exe):
    proc = subprocess.Popen([str(exe)], stdin=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        if proc.poll() is not None:
            raise RuntimeError(f"{exe.name} exited with {proc.returncode}")
        return memory(proc.pid), mappings(proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def mb(kb):
    return f"{kb / 1024:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warmup", type=float, default=10, help="seconds before measuring")
    ap.add_argument("--seconds", type=float, default=60, help="measurement window")
    ap.add_argument("--poll", type=int, default=1, help="InstancePollSeconds (default 1)")
    ap.add_argument("--strace", type=float, default=5,
                    help="seconds of strace after the window to label threads (0: skip)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, datadirs)")
    args = ap.parse_args()

    common.print_header("Idle footprint")
    tck = os.sysconf("SC_CLK_TCK")
    with common.Bench(keep=args.keep) as bench:
        floors = [(label, build_floor(bench, f"floor{i}", libs))
                  for i, (label, libs) in enumerate(FLOORS)]
        sb = bench.sandbox("star", 4)
        orc = bench.orchestrator(sb, DiscoverySeeds=[sb.key(sb.master)],
                                 InstancePollSeconds=args.poll)
        cluster = common.wait_discovered(orc, sb)
        pid = orc.pid
        print(f"service: pid {pid}, 4-instance star {cluster}, InstancePollSeconds "
              f"{args.poll}, SQLite; warm-up {args.warmup:g} s, window {args.seconds:g} s")
        time.sleep(args.warmup)

        t0 = time.monotonic()
        c0, _ = cpu_ticks(pid)
        th0, cs0, sys0 = thread_cpu(pid), ctx_switches(pid), system_cpu()
        rss_samples = []
        while time.monotonic() - t0 < args.seconds:
            time.sleep(min(1.0, max(0.0, args.seconds - (time.monotonic() - t0))))
            if not orc.running:
                raise RuntimeError(f"the service exited:\n{orc.tail()}")
            rss_samples.append(memory(pid)["rss"])
        c1, _ = cpu_ticks(pid)
        th1, cs1, sys1 = thread_cpu(pid), ctx_switches(pid), system_cpu()
        elapsed = time.monotonic() - t0
        m1, maps = memory(pid), mappings(pid)
        roles = thread_roles(bench, pid, args.strace)
        busy, steal, total = (b - a for a, b in zip(sys0, sys1))
        print(f"\nmachine during the window: {busy / max(total, 1) * 100:.1f} % busy (all "
              f"{os.cpu_count()} cores, everything running), {steal / max(total, 1) * 100:.1f}"
              f" % steal; a busy machine inflates the service's CPU time")
        report(args, elapsed, (c1 - c0) / tck, th0, th1, cs0, cs1, rss_samples, m1, maps,
               roles, [(label, measure_floor(exe)) for label, exe in floors])


def report(args, elapsed, cpu_s, th0, th1, cs0, cs1, rss_samples, m1, maps, roles,
           floors):
    cpu_pct = cpu_s / elapsed * 100.0
    print()
    print(f"CPU over {elapsed:.1f} s: {cpu_pct:.3f} % of one core ({cpu_s * 1000:.0f} ms of "
          f"CPU, utime+stime); target <= {TARGET_CPU_PCT} %: "
          f"{'met' if cpu_pct <= TARGET_CPU_PCT else 'MISSED'}")
    print(f"context switches/s (live threads): {(cs1[0] - cs0[0]) / elapsed:.1f} voluntary, "
          f"{(cs1[1] - cs0[1]) / elapsed:.1f} involuntary")
    print(f"RSS over the window: min {mb(min(rss_samples))} MB, max {mb(max(rss_samples))} MB,"
          f" peak of the run (VmHWM) {mb(m1['hwm'])} MB")
    print()
    rows = []
    for tid, (comm, ns) in sorted(th1.items(), key=lambda kv: -(kv[1][1] - th0.get(
            kv[0], ("", 0))[1])):
        used = ns - th0.get(tid, ("", 0))[1]
        role = roles.get(tid, "other (futex waits only: timers, queues)" if roles else "")
        rows.append([tid, comm, role, f"{used / 1e6:.1f}", f"{used / 1e9 / elapsed * 100:.3f}"])
    common.print_table(["thread id", "comm", "role (from strace, after the window)", "CPU ms",
                        "CPU %"], rows, align="lllrr")
    print()

    fl, fl_maps = floors[0][1]
    rows = []
    for label, m in [("orchestrator (service)", m1)] + [(lb, f[0]) for lb, f in floors]:
        rows.append([label, mb(m["rss"]), mb(m["anon"]), mb(m["file"]), mb(m["pss"]),
                     mb(m["uss"]), m["threads"]])
    common.print_table(["process", "RSS MB", "RssAnon MB", "RssFile MB", "PSS MB", "USS MB",
                        "threads"], rows)
    print(f"\nservice RSS above the library floor: {mb(m1['rss'] - fl['rss'])} MB "
          f"(RssAnon {mb(m1['anon'] - fl['anon'])} MB, RssFile "
          f"{mb(m1['file'] - fl['file'])} MB); target RSS <= 6 MB: "
          f"{'met' if m1['rss'] <= TARGET_RSS_KB else 'MISSED'}")
    print()
    top = sorted(maps.items(), key=lambda kv: -kv[1][0])[:14]
    rows = []
    for name, (rss, pss, priv) in top:
        frss = fl_maps.get(name, [0, 0, 0])[0]
        if name == "orchestrator":
            frss = fl_maps.get("floor0", [0, 0, 0])[0]
        rows.append([name, rss, pss, priv, frss, rss - frss])
    common.print_table(["largest mappings of the service", "Rss kB", "Pss kB", "private kB",
                        "floor Rss kB", "extra kB"], rows)


if __name__ == "__main__":
    common.run(main)
