"""Real KV stores for the KV publishing tests: etcd (Debian's etcd-server), ZooKeeper (Debian's
zookeeper) and a recording fake of Consul's HTTP API (no Consul server is packaged in Debian).

Every server listens on 127.0.0.1 only, on free ports, with a temporary data directory, and is
stopped by pid (also at exit, through orctest.util's registry)."""
import base64
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from . import util

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"
ZK_HOME = Path("/usr/share/zookeeper")
ZK_JAR = Path("/usr/share/java/zookeeper.jar")


class Etcd:
    """One etcd member. tls=(ca, cert, key) serves https and requires client certificates."""

    def __init__(self, workdir, tls=None):
        self.workdir = Path(workdir)
        self.datadir = self.workdir / "etcd-data"
        self.client_port, self.peer_port = util.free_ports(2)
        self.tls = tls
        self.proc = None
        self.user = None

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def endpoint(self):
        return f"{self.scheme}://127.0.0.1:{self.client_port}"

    def start(self, timeout=30):
        peer = f"http://127.0.0.1:{self.peer_port}"
        args = [ETCD, "--name", "t", "--data-dir", str(self.datadir),
                "--listen-client-urls", self.endpoint, "--advertise-client-urls", self.endpoint,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"t={peer}", "--log-level", "warn"]
        if self.tls:
            ca, cert, key = self.tls
            args += ["--cert-file", cert, "--key-file", key, "--trusted-ca-file", ca,
                     "--client-cert-auth"]
        self.log = open(self.workdir / "etcd.log", "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        util.register(self)
        util.wait_until(lambda: self.ctl("endpoint", "health", check=False).returncode == 0,
                        timeout, interval=0.2, what="etcd healthy")
        return self

    def ctl(self, *args, check=True, user=None, timeout=15):
        cmd = [ETCDCTL, "--endpoints", self.endpoint, "--command-timeout=5s"]
        if self.tls:
            ca, _, _ = self.tls
            cmd += ["--cacert", ca, "--cert", self.client_cert, "--key", self.client_key]
        if user or self.user:
            cmd += ["--user", user or self.user]
        env = dict(os.environ, ETCDCTL_API="3")
        res = subprocess.run(cmd + list(args), capture_output=True, text=True, env=env,
                             timeout=timeout, check=False)
        if check and res.returncode != 0:
            raise RuntimeError(f"etcdctl {' '.join(args)}: {res.stderr}")
        return res

    def get_prefix(self, prefix):
        """{key: value} of every key under prefix."""
        res = self.ctl("get", "--prefix", prefix, "-w", "json")
        out = json.loads(res.stdout)
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in out.get("kvs", [])}

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self, timeout=10):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        self.log.close()
        util.unregister(self)

    cleanup = stop


class EtcdWatch:
    """`etcdctl watch --prefix P -w json` in the background; events() groups them by response."""

    def __init__(self, etcd, prefix):
        cmd = [ETCDCTL, "--endpoints", etcd.endpoint, "watch", "--prefix", prefix, "-w", "json"]
        if etcd.user:
            cmd += ["--user", etcd.user]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, text=True,
                                     env=dict(os.environ, ETCDCTL_API="3"))
        self.responses = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        util.register(self)

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                resp = json.loads(line)
            except ValueError:
                continue
            events = []
            for ev in resp.get("Events") or []:
                kv = ev["kv"]
                events.append((base64.b64decode(kv["key"]).decode(),
                               base64.b64decode(kv.get("value", "")).decode(),
                               kv["mod_revision"]))
            self.responses.append(events)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        util.unregister(self)

    cleanup = stop


class ZooKeeper:
    """A standalone ZooKeeper server from Debian's package (java)."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.port, self.admin_port = util.free_ports(2)
        self.proc = None

    @staticmethod
    def available():
        return ZK_JAR.is_file() and shutil.which("java") is not None

    def start(self, timeout=60):
        data = self.workdir / "zk-data"
        data.mkdir(parents=True, exist_ok=True)
        cfg = self.workdir / "zoo.cfg"
        cfg.write_text(f"tickTime=500\ndataDir={data}\nclientPort={self.port}\n"
                       f"clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                       f"4lw.commands.whitelist=ruok\nmaxSessionTimeout=60000\n")
        # Debian's jar names its dependencies in its manifest (as zkEnv.sh uses it).
        cp = f"/etc/zookeeper/conf:{ZK_JAR}"
        self.log = open(self.workdir / "zk.log", "ab")
        self.proc = subprocess.Popen(
            ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", cp,
             "-Dzookeeper.log.dir=" + str(self.workdir), "-Dzookeeper.root.logger=WARN,CONSOLE",
             "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        util.register(self)
        util.wait_until(lambda: self.ruok(), timeout, interval=0.3, what="ZooKeeper serving")
        return self

    def ruok(self):
        import socket
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"ruok")
                return s.recv(4) == b"imok"
        except OSError:
            return False

    def cli(self, *args, timeout=60):
        res = subprocess.run([str(ZK_HOME / "bin" / "zkCli.sh"), "-server",
                              f"127.0.0.1:{self.port}"] + list(args), capture_output=True,
                             text=True, timeout=timeout, check=False)
        return res

    def stop(self, timeout=10):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        self.log.close()
        util.unregister(self)

    cleanup = stop


class FakeConsul:
    """Answers like Consul's KV API (/v1/kv, /v1/txn, /v1/catalog/datacenters,
    /v1/status/leader) from an in-memory store per data center, and records every request
    (with the common name of the client certificate under mutual TLS)."""

    def __init__(self, datacenters=("dc1",), tls=None):
        self.dcs = list(datacenters)
        self.kv = {dc: {} for dc in self.dcs}
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode() if n else ""
                client = None
                if hasattr(self.connection, "getpeercert"):
                    peer = self.connection.getpeercert() or {}
                    client = dict(x[0] for x in peer.get("subject", ())).get("commonName")
                with fake.lock:
                    fake.requests.append({"method": self.command, "path": self.path,
                                          "body": body,
                                          "token": self.headers.get("X-Consul-Token"),
                                          "client": client})
                    status, answer = fake.serve(self.command, self.path, body)
                self._answer(status, answer)

            do_GET = do_PUT = do_DELETE = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:  # (cert, key): https; (cert, key, ca): also requires a client certificate
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            if len(tls) > 2:
                ctx.load_verify_locations(tls[2])
                ctx.verify_mode = ssl.CERT_REQUIRED
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        util.register(self)

    def serve(self, method, path, body):
        u = urlparse(path)
        q = parse_qs(u.query)
        dc = q.get("dc", [self.dcs[0]])[0]
        store = self.kv.setdefault(dc, {})
        if u.path == "/v1/catalog/datacenters":
            return 200, self.dcs
        if u.path == "/v1/status/leader":
            return 200, "127.0.0.1:8300"
        if u.path == "/v1/txn" and method == "PUT":
            ops = json.loads(body)
            if len(ops) > 64:
                return 413, {"Errors": [{"What": "too many operations"}]}
            for op in ops:
                kv = op["KV"]
                if kv["Verb"] == "set":
                    store[kv["Key"]] = base64.b64decode(kv["Value"]).decode()
                elif kv["Verb"] == "delete":
                    store.pop(kv["Key"], None)
            return 200, {"Results": [], "Errors": None}
        if u.path.startswith("/v1/kv/"):
            key = unquote(u.path[len("/v1/kv/"):])
            if method == "PUT":
                store[key] = body
                return 200, True
            if method == "DELETE":
                store.pop(key, None)
                return 200, True
            found = [{"Key": k, "Value": base64.b64encode(v.encode()).decode(), "Flags": 0}
                     for k, v in sorted(store.items())
                     if (k.startswith(key) if "recurse" in q else k == key)]
            return (200, found) if found else (404, None)
        return 404, None

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        util.unregister(self)

    cleanup = stop
