"""A raft cluster of orchestrator processes on loopback, for the raft tests and benchmarks.

RaftCluster.create(make, n=3, hosts=None, **config) builds n nodes whose RaftNodes list them all,
starts them together and returns the cluster. `make(name, host, **config)` must return a
RaftNode that is not started (conftest's raft_factory passes one that registers it for cleanup;
the benchmark passes its own).

Two layouts:
- hosts=None: every node on 127.0.0.1 with its own HTTP and raft ports;
- hosts=["127.0.0.1", "127.0.0.2", ...]: one node per loopback address, all on the same HTTP
  port and the same raft port, as on real machines (a joining node then finds the others at
  orchestrator's conventional URI: host of a RaftNodes entry, its own ListenAddress port).
"""
import time

import requests

from . import util
from .orchestrator import STARTED_EVENT, Orchestrator, OrchestratorError, event_regex


class RaftNode(Orchestrator):
    """An orchestrator process that may listen on a loopback address other than 127.0.0.1."""

    def __init__(self, binary, workdir, config, name="orc", host="127.0.0.1", args=("http",)):
        super().__init__(binary, workdir, config, name=name, args=args)
        self.host = host

    @property
    def raft_addr(self):
        return self.config["RaftBind"]

    @property
    def api_base(self):
        return f"{self.scheme}://{self.host}:{self.port}/api"

    def url(self, path="/"):
        if path.startswith("http://") or path.startswith("https://"):
            return path
        if not path.startswith("/"):
            path = "/" + path
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        pattern = event_regex(STARTED_EVENT)
        while not pattern.search(self.current_log):
            if not self.running:
                raise OrchestratorError(f"{self.name} exited with {self.proc.returncode} before "
                                        f"{STARTED_EVENT}; log:\n{self.tail()}")
            if time.monotonic() >= deadline:
                raise OrchestratorError(f"{self.name}: no {STARTED_EVENT} within {timeout:g}s; "
                                        f"log:\n{self.tail()}")
            time.sleep(0.02)
        util.wait_until(lambda: self.leader_check() is not None, max(deadline - time.monotonic(),
                                                                     0.1),
                        what=f"{self.name} answering HTTP")
        self.http_ready = True

    def leader_check(self, timeout=1.0):
        """The status code of /api/leader-check, or None when the node does not answer."""
        try:
            return self.get("/api/leader-check", timeout=timeout).status_code
        except requests.RequestException:
            return None

    def raft_status(self, timeout=2.0):
        return self.get("/api/raft-status", timeout=timeout).json()


def _free_common_port(hosts):
    """A TCP port free on every host a moment ago."""
    import socket
    for _ in range(50):
        port = util.free_port()
        try:
            for h in hosts:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind((h, port))
            return port
        except OSError:
            continue
    raise RuntimeError(f"no port free on all of {hosts}")


class RaftCluster:
    def __init__(self, make, nodes, config):
        self.make = make
        self.nodes = list(nodes)
        self.config = dict(config)

    # ---- construction ------------------------------------------------------------------

    @classmethod
    def create(cls, make, n=3, hosts=None, start=True, timeout=20.0, **config):
        if hosts is not None:
            hosts = list(hosts)[:n]
            http_port, raft_port = _free_common_port(hosts), _free_common_port(hosts)
            places = [(h, http_port, raft_port) for h in hosts]
        else:
            ports = util.free_ports(2 * n)
            places = [("127.0.0.1", ports[2 * i], ports[2 * i + 1]) for i in range(n)]
        raft_nodes = [f"{h}:{rp}" for h, _, rp in places]
        nodes = []
        for i, (host, hp, rp) in enumerate(places):
            node = make(f"orc{i + 1}", host, **cls._node_config(host, hp, rp, raft_nodes, config))
            node.config["RaftDataDir"] = str(node.workdir / "raft")
            nodes.append(node)
        cluster = cls(make, nodes, config)
        cluster.raft_nodes = raft_nodes
        cluster.hosts = hosts
        if start:
            cluster.start(timeout=timeout)
        return cluster

    @staticmethod
    def _node_config(host, http_port, raft_port, raft_nodes, config):
        cfg = {
            "ListenAddress": f"{host}:{http_port}",
            "RaftEnabled": True,
            "RaftBind": f"{host}:{raft_port}",
            "RaftNodes": list(raft_nodes),
        }
        cfg.update(config)
        return cfg

    def start(self, nodes=None, timeout=20.0):
        nodes = self.nodes if nodes is None else nodes
        for node in nodes:
            node.start(wait=False)
        for node in nodes:
            node.wait_ready(timeout=timeout)
        return self

    def add_node(self, name, host="127.0.0.1", nonvoter=False, start=True, timeout=20.0,
                 **config):
        """A node that is not in anybody's RaftNodes (it must join at run time)."""
        if self.hosts is not None and host == "127.0.0.1":
            raise ValueError("give the new node its own loopback address")
        if self.hosts is not None:
            hp = self.nodes[0].port
            rp = int(self.nodes[0].raft_addr.rsplit(":", 1)[1])
        else:
            hp, rp = util.free_ports(2)
        cfg = self._node_config(host, hp, rp, self.raft_nodes, self.config)
        cfg["RaftNonVoter"] = bool(nonvoter)
        cfg.update(config)
        node = self.make(name, host, **cfg)
        node.config["RaftDataDir"] = str(node.workdir / "raft")
        self.nodes.append(node)
        if start:
            self.start([node], timeout=timeout)
        return node

    # ---- queries -----------------------------------------------------------------------

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    @property
    def running(self):
        return [n for n in self.nodes if n.running]

    def leaders(self, nodes=None):
        """Running nodes answering leader-check 200 right now."""
        nodes = self.running if nodes is None else nodes
        return [n for n in nodes if n.leader_check() == 200]

    def wait_leader(self, timeout=10.0, nodes=None):
        """The one node answering leader-check 200 (waits until exactly one does)."""
        def one():
            found = self.leaders(nodes)
            return found[0] if len(found) == 1 else None
        return util.wait_until(one, timeout, interval=0.02, what="exactly one raft leader")

    def followers(self, leader=None):
        leader = leader or self.wait_leader()
        return [n for n in self.running if n is not leader]

    def wait_all(self, predicate, timeout=10.0, nodes=None, what="condition on every node"):
        """Waits until predicate(node) is truthy for every running node (or those given)."""
        nodes = self.running if nodes is None else nodes
        return util.wait_until(lambda: all(predicate(n) for n in nodes), timeout, interval=0.05,
                               what=what)

    def orchestrator_api(self):
        """ORCHESTRATOR_API listing every node, as orchestrator-client reads it."""
        return " ".join(n.api_base for n in self.nodes)

    def stop(self, timeout=10.0):
        for node in reversed(self.nodes):
            node.stop(timeout=timeout)
