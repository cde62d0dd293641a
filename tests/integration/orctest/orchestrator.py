"""An orchestrator service process under test: config file, start, readiness, HTTP, stop.

The process runs `$ORC_BIN --config FILE http` with stdout and stderr appended to a log file in
its work dir. It is ready when the log shows the `+service-started` event and, if its HTTP port
accepts connections, `GET /api/lb-check` answers 200.
"""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import requests

from . import util

STARTED_EVENT = "+service-started"
STOPPED_EVENT = "+service-stopped"


def event_regex(event, level=None):
    """Regex matching a log line that carries the event code (optionally at a level)."""
    lvl = re.escape(level) + r" " if level else r"(?:\S+ )?"
    return re.compile(r"^.*?(?:^|\s)" + lvl + re.escape(event) + r"(?:\s|$)", re.MULTILINE)


def default_config(workdir, port, sandbox=None):
    """A single-node SQLite config listening on 127.0.0.1:port, probing sandbox servers."""
    user, password = ("orc_topology", "orc_topology_pw")
    if sandbox is not None:
        user, password = sandbox.topology_user, sandbox.topology_password
    return {
        "ListenAddress": f"127.0.0.1:{port}",
        "BackendDB": "sqlite",
        "SQLite3DataFile": str(Path(workdir) / "orchestrator.sqlite3"),
        "MySQLTopologyUser": user,
        "MySQLTopologyPassword": password,
        "MySQLConnectTimeoutSeconds": 1,
        "InstancePollSeconds": 1,
        # Every sandbox server calls itself by the machine's hostname; keep 127.0.0.1:PORT.
        "HostnameResolveMethod": "none",
        "MySQLHostnameResolveMethod": "none",
        "RaftEnabled": False,
    }


class OrchestratorError(RuntimeError):
    pass


class Orchestrator:
    """One orchestrator process. Construct, then start(); stop() or kill() when done."""

    def __init__(self, binary, workdir, config, name="orc", args=("http",)):
        self.binary = str(binary)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.config = dict(config)
        self.args = list(args)
        self.config_path = self.workdir / f"{name}.conf.json"
        self.log_path = self.workdir / f"{name}.log"
        self.proc = None
        self.http_ready = False
        self.stopped_by_kill = False
        self._log_offset = 0
        # extra arguments of every requests call, e.g. verify=CA and cert=(crt, key) for HTTPS
        self.http_kw = {}

    # ---- lifecycle ---------------------------------------------------------------------

    @property
    def port(self):
        return int(self.config["ListenAddress"].rsplit(":", 1)[1])

    def write_config(self):
        with open(self.config_path, "w", encoding="utf-8") as f:
            json.dump(self.config, f, indent=2, sort_keys=True)
            f.write("\n")

    def start(self, wait=True, timeout=15.0):
        """Writes the config, starts the process and (by default) waits until it is ready."""
        if self.running:
            raise OrchestratorError(f"{self.name} is already running (pid {self.proc.pid})")
        self.write_config()
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--config", str(self.config_path)] + self.args,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.workdir)
        util.register(self)
        self.stopped_by_kill = False
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15.0):
        """Waits for +service-started in this run's log, then for lb-check 200 if HTTP is up."""
        deadline = time.monotonic() + timeout
        pattern = event_regex(STARTED_EVENT)
        while not pattern.search(self.current_log):
            if not self.running:
                raise OrchestratorError(
                    f"{self.name} exited with {self.proc.returncode} before "
                    f"{STARTED_EVENT}; log:\n{self.tail()}")
            if time.monotonic() >= deadline:
                raise OrchestratorError(
                    f"{self.name}: no {STARTED_EVENT} within {timeout:g}s; log:\n{self.tail()}")
            time.sleep(0.02)
        self.http_ready = False
        if not util.port_open(self.port):
            return  # the HTTP server is not there (yet): the log line is all we can check
        while True:
            try:
                prefix = "/" + str(self.config.get("URLPrefix", "")).strip("/")
                if self.get(prefix.rstrip("/") + "/api/lb-check", timeout=2).status_code == 200:
                    self.http_ready = True
                    return
            except requests.RequestException:
                pass
            if time.monotonic() >= deadline:
                raise OrchestratorError(f"{self.name}: /api/lb-check not 200 within "
                                        f"{timeout:g}s; log:\n{self.tail()}")
            time.sleep(0.05)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    @property
    def returncode(self):
        return self.proc.poll() if self.proc is not None else None

    def signal(self, sig):
        if self.running:
            self.proc.send_signal(sig)

    def stop(self, timeout=10.0):
        """SIGTERM, wait up to `timeout` s, SIGKILL if still running. Returns the exit code
        (negative: killed by that signal); stopped_by_kill tells whether SIGKILL was needed."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.stopped_by_kill = True
                self.proc.kill()
                self.proc.wait(timeout=30)
        util.unregister(self)
        return self.proc.returncode

    def kill(self):
        """SIGKILL (a crash). Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        util.unregister(self)
        return self.proc.returncode

    def restart(self, timeout=15.0, **config_overrides):
        self.stop()
        self.config.update(config_overrides)
        return self.start(timeout=timeout)

    def cleanup(self):
        self.stop(timeout=5)

    # ---- logs ------------------------------------------------------------------------

    @property
    def log(self):
        """Everything the process wrote, over all its runs."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def current_log(self):
        """What the current (or last) run wrote."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines=40):
        return "\n".join(self.current_log.splitlines()[-lines:])

    def has_event(self, event, level=None):
        return event_regex(event, level).search(self.current_log) is not None

    def wait_log(self, pattern, timeout=10.0):
        """Waits until the current run's log matches the regex; returns the match."""
        rx = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        return util.wait_until(lambda: rx.search(self.current_log), timeout,
                               what=f"{self.name} log matching {rx.pattern!r}")

    # ---- HTTP and CLI ----------------------------------------------------------------

    @property
    def scheme(self):
        return "https" if self.config.get("UseSSL") else "http"

    def url(self, path="/"):
        if path.startswith("http://") or path.startswith("https://"):
            return path
        if not path.startswith("/"):
            path = "/" + path
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def get(self, path, timeout=10, **kw):
        return requests.get(self.url(path), timeout=timeout, **{**self.http_kw, **kw})

    def post(self, path, timeout=10, **kw):
        return requests.post(self.url(path), timeout=timeout, **{**self.http_kw, **kw})

    def api(self, path, timeout=10, **kw):
        """GET /api/<path> and decode the JSON body (any status)."""
        path = path.lstrip("/")
        if not path.startswith("api/"):
            path = "api/" + path
        return self.get("/" + path, timeout=timeout, **kw).json()

    def cli(self, *args, timeout=30, env=None):
        """Runs `$ORC_BIN --config FILE -c ARGS...` and returns the CompletedProcess."""
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([self.binary, "--config", str(self.config_path), "-c"] +
                              [str(a) for a in args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, env=full_env,
                              cwd=self.workdir, check=False)
