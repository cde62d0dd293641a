"""Python face of tests/sandbox/sandbox.sh: a real MariaDB topology on loopback.

A Sandbox is created with Sandbox.up(dir, layout, n) and must be torn down with down() (the
fixtures do it). Names are "i1".."iN"; the `master` of each instance in sandbox.json is the
layout it was started with, not the live topology (use slave_status() for that).
"""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pymysql

from . import util

REPO_ROOT = Path(__file__).resolve().parents[3]
SANDBOX_SH = REPO_ROOT / "tests" / "sandbox" / "sandbox.sh"


class SandboxError(RuntimeError):
    pass


class Sandbox:
    """A running sandbox described by DIR/sandbox.json."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.info = {}
        self._down = False
        self.reload()

    # ---- lifecycle ---------------------------------------------------------------------

    @classmethod
    def up(cls, directory, layout="star", n=4, base_port=None, timeout=120, ssl_dir=None,
           require_secure_transport=False):
        """Starts a topology and returns it once every replica replicates. ssl_dir: a folder
        with ca.pem, server-cert.pem and server-key.pem the servers use for TLS."""
        args = ["up", "--layout", layout, "-n", str(n)]
        if base_port is not None:
            args += ["--base-port", str(base_port)]
        if ssl_dir is not None:
            args += ["--ssl-dir", str(ssl_dir)]
            if require_secure_transport:
                args += ["--require-secure-transport"]
        try:
            _run(directory, args, timeout=timeout)
        except SandboxError:
            # sandbox.sh stops what it started when it fails, but not when it was killed
            # for running too long.
            try:
                _run(directory, ["down"], timeout=120)
            except SandboxError:
                pass
            raise
        sb = cls(directory)
        util.register(sb)
        return sb

    def down(self):
        """Stops every instance (TERM, bounded wait, then KILL). Idempotent."""
        if self._down:
            return
        self._down = True
        util.unregister(self)
        try:
            _run(self.dir, ["down"], timeout=120)
        finally:
            self._kill_leftovers()

    cleanup = down

    def _kill_leftovers(self):
        """Last resort if sandbox.sh failed: SIGKILL recorded pids still running our config."""
        for inst in self.info.get("instances", []):
            pid = inst.get("pid")
            if pid and _pid_runs_config(pid, inst["config"]):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def start(self, name):
        _run(self.dir, ["start", name], timeout=120)
        self.reload()

    def stop(self, name):
        """Clean shutdown of one instance."""
        _run(self.dir, ["stop", name], timeout=120)
        self.reload()

    def kill(self, name):
        """SIGKILL one instance (a crash)."""
        _run(self.dir, ["kill", name], timeout=60)
        self.reload()

    def status(self):
        return _run(self.dir, ["status"], timeout=30)

    def reload(self):
        with open(self.dir / "sandbox.json", encoding="utf-8") as f:
            self.info = json.load(f)

    # ---- description -------------------------------------------------------------------

    @property
    def layout(self):
        return self.info["layout"]

    @property
    def instances(self):
        return list(self.info["instances"])

    @property
    def names(self):
        return [i["name"] for i in self.info["instances"]]

    def instance(self, name):
        for inst in self.info["instances"]:
            if inst["name"] == name:
                return inst
        raise KeyError(f"unknown instance '{name}'")

    def port(self, name):
        return self.instance(name)["port"]

    def socket(self, name):
        return self.instance(name)["socket"]

    def key(self, name):
        """The instance key orchestrator uses: "127.0.0.1:PORT"."""
        return f"127.0.0.1:{self.port(name)}"

    def name_of_port(self, port):
        for inst in self.info["instances"]:
            if inst["port"] == int(port):
                return inst["name"]
        raise KeyError(f"no instance on port {port}")

    def initial_master(self, name):
        """Name of the master the instance had in the layout, or None."""
        return self.instance(name)["master"]

    @property
    def master(self):
        """Name of the layout's top master (i1)."""
        return next(i["name"] for i in self.info["instances"] if i["master"] is None)

    @property
    def replicas(self):
        """Names of every instance that had a master in the layout."""
        return [i["name"] for i in self.info["instances"] if i["master"] is not None]

    def is_running(self, name):
        inst = self.instance(name)
        return bool(inst["pid"]) and _pid_runs_config(inst["pid"], inst["config"])

    def credentials(self, user="root"):
        """(user, password) for "root", "topology", "backend" or "repl"."""
        if user == "root":
            return ("root", "")
        if user in ("topology", "backend", "repl"):
            return (self.info[f"{user}_user"], self.info[f"{user}_password"])
        raise ValueError(f"unknown sandbox user '{user}'")

    @property
    def topology_user(self):
        return self.info["topology_user"]

    @property
    def topology_password(self):
        return self.info["topology_password"]

    # ---- SQL ---------------------------------------------------------------------------

    def connect(self, name, user="root", **kw):
        """A pymysql connection over TCP 127.0.0.1 as one of the sandbox users (autocommit)."""
        login, password = self.credentials(user)
        opts = dict(host="127.0.0.1", port=self.port(name), user=login, password=password,
                    autocommit=True, connect_timeout=5, read_timeout=30, write_timeout=30)
        opts.update(kw)
        return pymysql.connect(**opts)

    def sql(self, name, statement, args=None):
        """Runs one statement as root through the socket; returns the rows as tuples."""
        conn = pymysql.connect(unix_socket=self.socket(name), user="root", password="",
                               autocommit=True, connect_timeout=5, read_timeout=60,
                               write_timeout=60)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, args)
                return list(cur.fetchall())
        finally:
            conn.close()

    def sql_value(self, name, statement, args=None):
        """First column of the first row, or None."""
        rows = self.sql(name, statement, args)
        return rows[0][0] if rows else None

    def slave_status(self, name):
        """SHOW SLAVE STATUS as a dict, or None when the instance is not a replica."""
        conn = pymysql.connect(unix_socket=self.socket(name), user="root", password="",
                               autocommit=True, connect_timeout=5, read_timeout=30,
                               cursorclass=pymysql.cursors.DictCursor)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW SLAVE STATUS")
                return cur.fetchone()
        finally:
            conn.close()

    def wait_replicating(self, timeout=10.0, names=None):
        """Waits until the given replicas (default: the layout's) run both replication threads
        and have applied everything their top master had binlogged when this was called."""
        names = self.replicas if names is None else list(names)
        deadline = time.monotonic() + timeout
        for name in names:
            util.wait_until(lambda n=name: _threads_running(self.slave_status(n)),
                            max(deadline - time.monotonic(), 0.1),
                            what=f"replication running on {name}")
        for name in names:
            top = self._top_master(name)
            pos = self.sql_value(top, "SELECT @@gtid_binlog_pos")
            left = max(deadline - time.monotonic(), 0.1)
            got = self.sql_value(name, "SELECT MASTER_GTID_WAIT(%s, %s)", (pos, left))
            if got != 0:
                raise TimeoutError(f"{name} did not reach {top}'s GTID {pos} within {timeout:g}s")

    def _top_master(self, name):
        seen = set()
        while self.initial_master(name) is not None and name not in seen:
            seen.add(name)
            name = self.initial_master(name)
        return name


def _threads_running(status):
    return (status is not None and status.get("Slave_IO_Running") == "Yes"
            and status.get("Slave_SQL_Running") == "Yes")


def _pid_runs_config(pid, config):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z" and f"--defaults-file={config}".encode() in argv


def _run(directory, args, timeout):
    cmd = ["bash", str(SANDBOX_SH), args[0], "--dir", str(directory)] + list(args[1:])
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SandboxError(f"sandbox.sh {' '.join(args)} timed out after {timeout}s") from exc
    if proc.returncode != 0:
        raise SandboxError(f"sandbox.sh {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stderr.strip()}")
    return proc.stdout
