"""Shared helpers of the benchmarks in tests/bench/: sandboxes, orchestrator processes, cleanup,
machine description and table printing.

The benchmarks reuse the integration-test helpers (tests/integration/orctest): real `mariadbd`
topologies on 127.0.0.1 (Sandbox) and real `orchestrator` processes (Orchestrator). Everything a
benchmark starts is registered with a Bench and stopped by pid when the benchmark ends, also on
an exception, Ctrl-C (SIGINT), SIGTERM or SIGHUP.
"""
import datetime
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

from orctest import (Orchestrator, Sandbox, default_config, free_port,  # noqa: E402
                     wait_until)
from orctest import util as orcutil  # noqa: E402

DEFAULT_BIN = REPO_ROOT / "build" / "release" / "bin" / "orchestrator"

__all__ = ["Bench", "run", "Orchestrator", "Sandbox", "default_config", "free_port", "wait_until",
           "orc_binary", "machine_lines", "print_header", "print_table", "git_commit",
           "parse_log_time", "REPO_ROOT"]


def orc_binary():
    """The binary under test: $ORC_BIN, else build/release/bin/orchestrator ($ORC_BIN_COMMIT,
    when set, names the commit it was built from in the printed header)."""
    path = Path(os.environ.get("ORC_BIN") or DEFAULT_BIN).resolve()
    if not (path.is_file() and os.access(path, os.X_OK)):
        sys.exit(f"orchestrator binary '{path}' not found: run `make all` or set ORC_BIN")
    return path


def git_commit():
    """Short commit of the working tree (with '+dirty' when tracked files differ)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO_ROOT)] + list(args), capture_output=True,
                              text=True, timeout=10, check=False).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return commit


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines():
    """A few lines describing the machine and the build being measured."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"date:    {now}",
        f"commit:  {git_commit()} (the working tree of {REPO_ROOT})",
        f"binary:  {orc_binary()} (built {_mtime(orc_binary())}"
        + (f", from commit {os.environ['ORC_BIN_COMMIT']}" if os.environ.get("ORC_BIN_COMMIT")
           else "") + ")",
        f"machine: {os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}",
        f"load:    {load_average()} (1/5/15-min load average at start; other work on the "
        "machine skews the figures)",
    ]


def _mtime(path):
    stamp = datetime.datetime.fromtimestamp(os.stat(path).st_mtime, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def load_average():
    try:
        with open("/proc/loadavg", encoding="utf-8") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def print_header(title):
    print(f"== {title} ==")
    for line in machine_lines():
        print(line)
    print()


def print_table(headers, rows, align=None):
    """Prints rows (lists of values) under headers as a Markdown table: readable in a terminal
    and pastable into tests/bench/README.md. align: string of 'l'/'r' per column."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = align or ("l" + "r" * (len(headers) - 1))

    def fmt(row):
        out = []
        for i, c in enumerate(row):
            out.append(c.ljust(widths[i]) if align[i] == "l" else c.rjust(widths[i]))
        return "| " + " | ".join(out) + " |"
    print(fmt(cells[0]))
    print("|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2))
                         for w, a in zip(widths, align)) + "|")
    for row in cells[1:]:
        print(fmt(row))
    sys.stdout.flush()


_LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ")


def parse_log_time(line):
    """Wall-clock time (epoch seconds, float) of a service log line (UTC), or None."""
    m = _LOG_TS.match(line)
    if not m:
        return None
    dt = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


class Bench:
    """Owns a temporary directory and every sandbox/orchestrator started through it.

    Use as a context manager; on exit (normal, exception, Ctrl-C) the orchestrators are stopped
    first (SIGTERM, bounded wait, SIGKILL), then the sandboxes (sandbox.sh down, which only
    signals pids it recorded), then the directory is removed unless keep=True.
    """

    def __init__(self, keep=False, prefix="orc-bench-"):
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep = keep
        self.binary = orc_binary()
        self._orcs = []
        self._sandboxes = []
        self._seq = 0

    def __enter__(self):
        # SIGINT, SIGTERM, SIGHUP: turn into an exception so that __exit__ runs (SIGINT too,
        # since a shell starts background jobs with SIGINT ignored).
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _raise_interrupt)
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def _subdir(self, name):
        self._seq += 1
        d = self.dir / f"{self._seq:02d}-{name}"
        d.mkdir(parents=True)
        return d

    def sandbox(self, layout="star", n=4):
        sb = Sandbox.up(self._subdir("sb"), layout=layout, n=n)
        self._sandboxes.append(sb)
        return sb

    def orchestrator(self, sandbox, start=True, timeout=20.0, defaults=True, **config):
        """An orchestrator on a free 127.0.0.1 port whose config is orctest's default_config
        (SQLite, InstancePollSeconds 1, ...) with `config` applied (None removes a key).
        defaults=False keeps only what the sandbox needs (listen address, SQLite file,
        topology credentials, no name resolution, raft off): every other key at its default."""
        workdir = self._subdir("orc")
        cfg = default_config(workdir, free_port(), sandbox)
        if not defaults:
            for key in ("InstancePollSeconds", "MySQLConnectTimeoutSeconds"):
                cfg.pop(key, None)
        for key, value in config.items():
            if value is None:
                cfg.pop(key, None)
            else:
                cfg[key] = value
        orc = Orchestrator(self.binary, workdir, cfg)
        self._orcs.append(orc)
        if start:
            orc.start(timeout=timeout)
        return orc

    def stop_orchestrator(self, orc):
        orc.stop(timeout=10)
        if orc in self._orcs:
            self._orcs.remove(orc)

    def drop_sandbox(self, sb):
        """Stops a sandbox and removes its files (a benchmark that makes many)."""
        sb.down()
        if sb in self._sandboxes:
            self._sandboxes.remove(sb)
        if not self.keep:
            shutil.rmtree(sb.dir, ignore_errors=True)

    def cleanup(self):
        for orc in reversed(self._orcs):
            try:
                orc.stop(timeout=10)
            except Exception as exc:  # noqa: BLE001 - stop the others too
                print(f"bench: stopping orchestrator pid {orc.pid}: {exc}", file=sys.stderr)
        self._orcs.clear()
        for sb in reversed(self._sandboxes):
            try:
                sb.down()
            except Exception as exc:  # noqa: BLE001
                print(f"bench: stopping sandbox {sb.dir}: {exc}", file=sys.stderr)
        self._sandboxes.clear()
        orcutil.cleanup_all()
        if self.keep:
            print(f"bench: kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def run(main):
    """Runs a benchmark's main(); an interruption ends it with a short message (the Bench has
    stopped what it started by then) and exit status 130."""
    try:
        main()
    except KeyboardInterrupt as exc:
        print(f"\ninterrupted ({exc or 'Ctrl-C'}): everything started was stopped",
              file=sys.stderr)
        sys.exit(130)


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def wait_discovered(orc, sandbox, timeout=30.0):
    """Waits until GET /api/cluster/<master> lists every sandbox instance with a valid last
    check; returns the cluster name."""
    master = sandbox.key(sandbox.master)
    ports = {sandbox.port(n) for n in sandbox.names}

    def done():
        resp = orc.get(f"/api/cluster/{master}", timeout=5)
        if resp.status_code != 200:
            return False
        body = resp.json()
        seen = {i["Key"]["Port"] for i in body if i.get("IsLastCheckValid")}
        return seen == ports
    wait_until(done, timeout, interval=0.1, what="every sandbox instance discovered")
    return master


def now_s():
    return time.monotonic()
