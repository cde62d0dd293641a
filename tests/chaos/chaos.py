#!/usr/bin/env python3
"""Fault trials: 3 orchestrator managers (raft) over a real 4-instance MariaDB star on loopback,
a writer load, one fault per trial, and invariants checked on the databases themselves.

Usage (after `make all`):
  /usr/bin/python3 tests/chaos/chaos.py                      # every scenario, 3 trials each
  /usr/bin/python3 tests/chaos/chaos.py --trials 10 --scenarios kill_master,freeze_master_20s
  /usr/bin/python3 tests/chaos/chaos.py --list

Every trial starts a fresh sandbox and a fresh 3-node cluster with orchestrator's default safety
settings (InstancePollSeconds 5, RecoveryPeriodBlockSeconds 3600, MySQLConnectTimeoutSeconds 2),
runs the fault, waits up to --settle seconds for the topology to settle, then checks:

  one-master      exactly one running instance is writable and replicates from nobody
  replicas-follow every other live instance replicates from it (IO and SQL threads running),
                  except a fenced old master, which must be read-only
  no-lost-write   every write the writer had acknowledged more than --async-window seconds
                  before the fault is on the master at the end
  one-recovery    exactly one successful recovery of the failed master in audit-recovery on
                  every manager (none when the master did not fail)
  no-minority     no manager acted while it was not part of a majority

It prints one line per trial and a table per scenario (violations, time from the fault to the
first writable new master). Processes are stopped by pid at the end of every trial, also when a
trial fails or the script is interrupted; everything listens on 127.0.0.1 only.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import pymysql  # noqa: E402

from orctest import Sandbox, default_config, wait_until  # noqa: E402
from orctest.raft import RaftCluster, RaftNode  # noqa: E402

DEFAULTS = {
    "RecoverMasterClusterFilters": ["*"],
    "RecoverIntermediateMasterClusterFilters": ["*"],
}
LOCAL = {"X-Orchestrator-Forwarded": "1"}


# ---- the writer ----------------------------------------------------------------------------

class Writer:
    """Inserts a row every few ms into app.t on whichever instance is the writable master,
    remembering the ids the server acknowledged and when."""

    def __init__(self, sb):
        self.sb = sb
        self.acked = []  # (id, monotonic time)
        self.stopping = False
        self.errors = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=10)

    def _connect(self):
        for name in self.sb.names:
            if not self.sb.is_running(name):
                continue
            try:
                c = pymysql.connect(host="127.0.0.1", port=self.sb.port(name), user="app",
                                    password="app_pw", autocommit=True, connect_timeout=1,
                                    read_timeout=2, write_timeout=2)
                with c.cursor() as cur:
                    cur.execute("SELECT @@read_only")
                    if cur.fetchone()[0] == 0:
                        return c
                c.close()
            except pymysql.err.Error:
                continue
        return None

    def _run(self):
        conn = None
        while not self.stopping:
            try:
                if conn is None:
                    conn = self._connect()
                    if conn is None:
                        time.sleep(0.05)
                        continue
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO app.t (v) VALUES (1)")
                    self.acked.append((cur.lastrowid, time.monotonic()))
                time.sleep(0.01)
            except pymysql.err.Error:
                self.errors += 1
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
                conn = None


# ---- helpers -------------------------------------------------------------------------------

def app_user(sb):
    m = sb.master
    sb.sql(m, "CREATE DATABASE IF NOT EXISTS app")
    sb.sql(m, "CREATE TABLE IF NOT EXISTS app.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    sb.sql(m, "CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY 'app_pw'")
    sb.sql(m, "GRANT SELECT, INSERT ON app.* TO 'app'@'127.0.0.1'")
    for n in sb.replicas:
        sb.sql(n, "SET GLOBAL slave_net_timeout=10")
        sb.sql(n, "STOP SLAVE")
        sb.sql(n, "START SLAVE")
    sb.wait_replicating(timeout=20)


def alive(sb, name, frozen):
    return name not in frozen and sb.is_running(name)


def writable_masters(sb, frozen=()):
    out = []
    for n in sb.names:
        if not alive(sb, n, frozen):
            continue
        try:
            if sb.slave_status(n) is None and sb.sql_value(n, "SELECT @@read_only") == 0:
                out.append(n)
        except pymysql.err.Error:
            continue
    return out


def acted(node):
    return re.search(r"\+failover-step .*state=(promote|repoint)", node.log) is not None


def recoveries(node, key):
    try:
        recs = node.get("/api/audit-recovery", headers=LOCAL, timeout=5).json()
    except Exception:  # noqa: BLE001
        return None
    out = []
    for r in recs:
        k = r["AnalysisEntry"]["AnalyzedInstanceKey"]
        if f'{k["Hostname"]}:{k["Port"]}' == key:
            out.append(r)
    return out


# ---- one trial -----------------------------------------------------------------------------

class Trial:
    def __init__(self, args, binary, scenario, workdir):
        self.args = args
        self.binary = binary
        self.scenario = scenario
        self.workdir = Path(workdir)
        self.sb = None
        self.rc = None
        self.nodes = []
        self.writer = None
        self.frozen_db = set()
        self.frozen_orc = []
        self.fault_at = None
        self.violations = []
        self.writable_after = None
        self.master_failed = True
        self.old_master = None
        self.majority_back_after = None

    # -- setup / teardown

    def make_node(self, name, host, **cfg):
        wd = self.workdir / name
        wd.mkdir(parents=True, exist_ok=True)
        conf = default_config(wd, 0, self.sb)
        # orchestrator's defaults for the safety timers
        conf.pop("InstancePollSeconds", None)
        conf.pop("MySQLConnectTimeoutSeconds", None)
        for k, v in cfg.items():
            if v is None:
                conf.pop(k, None)
            else:
                conf[k] = v
        node = RaftNode(self.binary, wd, conf, name=name, host=host)
        self.nodes.append(node)
        return node

    def setup(self, hook=None):
        self.sb = Sandbox.up(self.workdir / "sb", layout="star", n=4)
        app_user(self.sb)
        cfg = dict(DEFAULTS, DiscoverySeeds=[self.sb.key(n) for n in self.sb.names])
        if hook:
            cfg["PreFailoverProcesses"] = [hook]
        self.rc = RaftCluster.create(self.make_node, n=3, **cfg)
        master = self.sb.key(self.sb.master)
        self.rc.wait_leader(timeout=20)
        self.rc.wait_all(lambda n: len(n.api(f"cluster/{master}")) == 4, timeout=20,
                         what="every manager sees the topology")
        for n in self.rc.running:
            n.wait_log(r"\+recovery-ready", timeout=30)
        self.old_master = self.sb.master
        self.writer = Writer(self.sb)
        self.writer.start()
        time.sleep(1.0)

    def teardown(self):
        for pid in self.frozen_db_pids():
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        for n in self.frozen_orc:
            try:
                os.kill(n.pid, signal.SIGCONT)
            except (OSError, TypeError):
                pass
        if self.writer:
            self.writer.stop()
        for n in reversed(self.nodes):
            try:
                n.stop(timeout=10)
            except Exception:  # noqa: BLE001
                n.kill()
        if self.sb:
            self.sb.down()

    def frozen_db_pids(self):
        return [int(self.sb.instance(n)["pid"]) for n in self.frozen_db] if self.sb else []

    # -- faults

    def freeze_db(self, name):
        os.kill(int(self.sb.instance(name)["pid"]), signal.SIGSTOP)
        self.frozen_db.add(name)

    def thaw_db(self, name):
        os.kill(int(self.sb.instance(name)["pid"]), signal.SIGCONT)
        self.frozen_db.discard(name)

    def freeze_orc(self, node):
        os.kill(node.pid, signal.SIGSTOP)
        self.frozen_orc.append(node)

    def thaw_orc(self, node):
        os.kill(node.pid, signal.SIGCONT)
        self.frozen_orc.remove(node)

    def watch_writable(self, limit):
        """Polls until a replica of the old master is the writable master."""
        t0 = self.fault_at
        while time.monotonic() - t0 < limit:
            w = [n for n in writable_masters(self.sb, self.frozen_db | {self.old_master})]
            if w:
                self.writable_after = time.monotonic() - t0
                return w[0]
            time.sleep(0.05)
        return None

    # -- scenarios

    def run(self):
        getattr(self, "sc_" + self.scenario)()

    def sc_kill_master(self):
        self.setup()
        self.fault_at = time.monotonic()
        self.sb.kill(self.old_master)
        self.watch_writable(30)

    def sc_freeze_master_20s(self):
        self.setup()
        self.fault_at = time.monotonic()
        self.freeze_db(self.old_master)
        self.watch_writable(19)
        left = 20 - (time.monotonic() - self.fault_at)
        if left > 0:
            time.sleep(left)
        self.thaw_db(self.old_master)
        resumed = time.monotonic()
        try:
            wait_until(lambda: self.sb.sql_value(self.old_master, "SELECT @@read_only") == 1, 5,
                       what="old master fenced")
            took = time.monotonic() - resumed
            if took > 2.0:
                self.violations.append(f"fenced {took:.2f}s after resuming (> 2 s)")
        except TimeoutError:
            self.violations.append("resumed old master still writable 5 s after resuming")

    def sc_kill_master_then_leader(self):
        self.setup()
        leader = self.rc.wait_leader()
        self.fault_at = time.monotonic()
        self.sb.kill(self.old_master)
        time.sleep(0.3)
        leader.kill()
        self.watch_writable(30)

    def sc_freeze_follower(self):
        self.setup()
        leader = self.rc.wait_leader()
        follower = self.rc.followers(leader)[0]
        self.freeze_orc(follower)
        self.fault_at = time.monotonic()
        self.sb.kill(self.old_master)
        self.watch_writable(30)
        time.sleep(2)
        self.thaw_orc(follower)

    def sc_freeze_two_managers(self):
        self.setup()
        leader = self.rc.wait_leader()
        a, b = self.rc.followers(leader)[:2]
        self.freeze_orc(a)
        self.freeze_orc(leader)
        self.fault_at = time.monotonic()
        self.sb.kill(self.old_master)
        time.sleep(4)
        if [n for n in writable_masters(self.sb, {self.old_master}) if n != self.old_master]:
            self.violations.append("a minority (one manager of three) recovered")
        self.thaw_orc(a)
        self.thaw_orc(leader)
        back = time.monotonic()
        self.watch_writable(30)
        if self.writable_after is not None:
            self.majority_back_after = time.monotonic() - back

    def sc_kill_replica(self):
        self.setup()
        self.master_failed = False
        self.fault_at = time.monotonic()
        self.sb.kill(self.sb.replicas[0])
        time.sleep(8)

    def sc_kill_leader_in_recovery(self):
        self.setup(hook="sleep 3")
        leader = self.rc.wait_leader()
        self.fault_at = time.monotonic()
        self.sb.kill(self.old_master)
        leader.wait_log(r"\+failover-start", timeout=20)
        time.sleep(0.5)
        leader.kill()
        self.watch_writable(30)

    # -- invariants

    def check(self):
        sb = self.sb
        deadline = time.monotonic() + self.args.settle
        master = None
        while time.monotonic() < deadline:
            w = writable_masters(sb, self.frozen_db)
            if len(w) == 1 and self._followers_ok(w[0]) is None:
                master = w[0]
                break
            time.sleep(0.2)
        w = writable_masters(sb, self.frozen_db)
        if len(w) != 1:
            self.violations.append(f"one-master: {len(w)} writable masters {w}")
            return
        master = w[0]
        why = self._followers_ok(master)
        if why:
            self.violations.append(f"replicas-follow: {why}")
        if self.master_failed and master == self.old_master:
            self.violations.append("one-master: the failed master is still the master")
        self._check_writes(master)
        self._check_recoveries(master)

    def _followers_ok(self, master):
        sb = self.sb
        port = sb.port(master)
        for n in sb.names:
            if n == master or not alive(sb, n, self.frozen_db):
                continue
            st = sb.slave_status(n)
            if n == self.old_master and self.master_failed:
                if sb.sql_value(n, "SELECT @@read_only") != 1:
                    return f"old master {n} writable"
                continue
            if st is None or int(st["Master_Port"]) != port or st["Slave_IO_Running"] != "Yes" \
                    or st["Slave_SQL_Running"] != "Yes":
                return f"{n} not replicating from {master}"
        return None

    def _check_writes(self, master):
        cutoff = self.fault_at - self.args.async_window
        want = [i for i, t in self.writer.acked if t < cutoff]
        if not want:
            return
        have = {r[0] for r in self.sb.sql(master, "SELECT id FROM app.t")}
        lost = [i for i in want if i not in have]
        if lost:
            self.violations.append(f"no-lost-write: {len(lost)} acknowledged writes missing "
                                   f"(first {lost[:5]})")

    def _check_recoveries(self, master):
        key = self.sb.key(self.old_master)
        for n in self.rc.running:
            recs = None
            try:
                recs = wait_until(lambda n=n: (lambda r: r if r is not None and
                                               (not self.master_failed or
                                                (len(r) >= 1 and all(x["RecoveryEndTimestamp"]
                                                                     for x in r)))
                                               else None)(recoveries(n, key)), 10,
                                  what="recoveries settled")
            except TimeoutError:
                recs = recoveries(n, key) or []
            ok = [r for r in recs if r["IsSuccessful"]]
            want = 1 if self.master_failed else 0
            if len(ok) != want or len(recs) != want:
                self.violations.append(f"one-recovery: {n.name} has {len(ok)} successful of "
                                       f"{len(recs)} recoveries, want {want}")


SCENARIOS = ["kill_master", "freeze_master_20s", "kill_master_then_leader", "freeze_follower",
             "freeze_two_managers", "kill_replica", "kill_leader_in_recovery"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=3, help="trials per scenario")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--settle", type=float, default=20.0,
                    help="seconds allowed for the topology to settle after a fault")
    ap.add_argument("--async-window", type=float, default=1.0,
                    help="acknowledged writes younger than this at the fault may be lost")
    ap.add_argument("--bin", default=str(REPO / "build" / "orchestrator"))
    ap.add_argument("--keep", action="store_true", help="keep the work dirs of failed trials")
    ap.add_argument("--keep-all", action="store_true", help="keep the work dirs of every trial")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print(f"chaos: '{binary}' not found: run `make all`", file=sys.stderr)
        return 2
    scenarios = [s for s in args.scenarios.split(",") if s]
    for s in scenarios:
        if s not in SCENARIOS:
            print(f"chaos: unknown scenario '{s}' (--list)", file=sys.stderr)
            return 2
    results = {s: [] for s in scenarios}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    print(f"chaos: {args.trials} trial(s) of {len(scenarios)} scenario(s), "
          f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M:%S')}")
    try:
        for i in range(args.trials):
            for s in scenarios:
                if stopping:
                    raise KeyboardInterrupt
                wd = tempfile.mkdtemp(prefix=f"chaos-{s}-")
                t = Trial(args, binary, s, wd)
                err = None
                try:
                    t.run()
                    t.check()
                except Exception as e:  # noqa: BLE001
                    err = f"{type(e).__name__}: {e}"
                    t.violations.append(f"error: {err}")
                    traceback.print_exc()
                finally:
                    t.teardown()
                results[s].append(t)
                w = f"{t.writable_after:.2f}s" if t.writable_after is not None else "-"
                if t.majority_back_after is not None:
                    w += f" ({t.majority_back_after:.2f}s after the majority returned)"
                print(f"[{i + 1}/{args.trials}] {s:26s} writable after {w:>7s}  "
                      f"acked writes {len(t.writer.acked) if t.writer else 0:5d}  "
                      f"{'OK' if not t.violations else 'VIOLATION: ' + '; '.join(t.violations)}",
                      flush=True)
                if (t.violations and args.keep) or args.keep_all:
                    print(f"    kept {wd}")
                else:
                    shutil.rmtree(wd, ignore_errors=True)
    except KeyboardInterrupt:
        print("chaos: interrupted", file=sys.stderr)
    print()
    print(f"{'scenario':26s} {'trials':>6s} {'violations':>10s} {'median':>8s} {'max':>8s}")
    total = bad = 0
    for s, ts in results.items():
        times = [t.writable_after for t in ts if t.writable_after is not None]
        nbad = sum(1 for t in ts if t.violations)
        total += len(ts)
        bad += nbad
        med = f"{statistics.median(times):.2f}s" if times else "-"
        mx = f"{max(times):.2f}s" if times else "-"
        back = [t.majority_back_after for t in ts if t.majority_back_after is not None]
        extra = (f"   after the majority returned: median {statistics.median(back):.2f}s, "
                 f"max {max(back):.2f}s") if back else ""
        print(f"{s:26s} {len(ts):6d} {nbad:10d} {med:>8s} {mx:>8s}{extra}")
    print(f"{'all':26s} {total:6d} {bad:10d}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
