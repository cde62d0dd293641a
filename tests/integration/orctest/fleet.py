"""Python face of the fleet simulator (tests/fleet/, binary orc-fleet next to the orchestrator
binary): many simulated MySQL/MariaDB instances on loopback ports, and its control endpoint.

    fleet = Fleet.up(binary, workdir, clusters=[{"count": 50, "replicas": 9}])
    fleet.ports, fleet.masters, fleet.kill(port), fleet.hang(port), fleet.revive(port)
    fleet.down()
"""
import json
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from . import util

USER, PASSWORD = "orc_topology", "orc_topology_pw"
EPHEMERAL_LOW = 32768  # instance ports stay below Linux's ephemeral range


class FleetError(RuntimeError):
    pass


def _ports_free(first, count):
    socks = []
    try:
        for p in range(first, first + count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            socks.append(s)
            s.bind((util.LOCALHOST, p))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def fleet_binary(orc_bin):
    return str(Path(orc_bin).resolve().parent / "orc-fleet")


class Fleet:
    def __init__(self, binary, workdir, spec, shards=0, timeout=60):
        self.binary = str(binary)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.spec = spec
        self.shards = shards
        self.timeout = timeout
        self.proc = None
        self.info = None
        self.log_path = self.workdir / "fleet.log"

    @classmethod
    def up(cls, binary, workdir, clusters, base_port=None, shards=0, timeout=60):
        """Starts the simulator with these cluster specs (see tests/fleet/model.c)."""
        total = sum(c.get("count", 1) * (c.get("replicas", 3) + 1) for c in clusters)
        if base_port is None:
            base_port = random.randrange(12000, max(12001, EPHEMERAL_LOW - total - 500))
        spec = {"user": USER, "password": PASSWORD, "base_port": base_port, "clusters": clusters}
        fleet = cls(binary, workdir, spec, shards=shards, timeout=timeout)
        fleet.start()
        return fleet

    def _control_base(self, nshards):
        """Control ports that are free now and outside the instances' own port range (a free
        port inside it would be taken by an instance a moment later)."""
        first = self.spec["base_port"]
        total = sum(c.get("count", 1) * (c.get("replicas", 3) + 1)
                    for c in self.spec["clusters"])
        for _ in range(200):
            c = random.randrange(EPHEMERAL_LOW - 3000, EPHEMERAL_LOW - 100)
            if c + nshards > first and c < first + total + 500:  # ports in use are skipped
                continue
            if _ports_free(c, nshards):
                return c
        raise FleetError("no free control ports")

    def start(self):
        spec_path = self.workdir / "fleet-spec.json"
        out_path = self.workdir / "fleet-out.json"
        spec_path.write_text(json.dumps(self.spec))
        nshards = self.shards or 64
        args = [self.binary, "--spec", str(spec_path), "--out", str(out_path),
                "--control-port", str(self._control_base(nshards))]
        if self.shards:
            args += ["--shards", str(self.shards)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        util.register(self)
        deadline = time.monotonic() + self.timeout
        while not out_path.exists():
            if self.proc.poll() is not None:
                raise FleetError(f"orc-fleet exited with {self.proc.returncode}: "
                                 f"{self.log_path.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                self.down()
                raise FleetError("orc-fleet not ready in time")
            time.sleep(0.05)
        self.info = json.loads(out_path.read_text())
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def instances(self):
        return self.info["instances"]

    @property
    def ports(self):
        return [i["port"] for i in self.instances]

    @property
    def masters(self):
        return [i["port"] for i in self.instances if i["master_port"] == 0]

    def cluster_ports(self, cluster):
        return [i["port"] for i in self.instances if i["cluster"] == cluster]

    def _control_url(self, port, path):
        inst = next(i for i in self.instances if i["port"] == port)
        return f"http://127.0.0.1:{self.info['control'][inst['shard']]}{path}"

    def control(self, command, port, **args):
        q = "&".join([f"port={port}"] + [f"{k}={v}" for k, v in args.items()])
        r = requests.get(self._control_url(port, f"/{command}?{q}"), timeout=10)
        if r.status_code != 200:
            raise FleetError(f"{command} {port}: {r.status_code} {r.text.strip()}")

    def kill(self, port):
        self.control("kill", port)

    def hang(self, port):
        self.control("hang", port)

    def revive(self, port):
        self.control("revive", port)

    def state(self, shard=0):
        """The shard's instances as the simulator sees them now."""
        url = f"http://127.0.0.1:{self.info['control'][shard]}/instances"
        return {i["port"]: i for i in requests.get(url, timeout=30).json()}

    def down(self, timeout=10):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        util.unregister(self)

    cleanup = down


def fleet_orc(orc_factory, fleet, seeds=None, **config):
    """A service discovering the fleet from seeds (ports; default: every master) with the
    simulator's credentials, plus config."""
    cfg = {"MySQLTopologyUser": USER, "MySQLTopologyPassword": PASSWORD,
           "DiscoverySeeds": [f"127.0.0.1:{p}" for p in (seeds or fleet.masters)]}
    cfg.update(config)
    return orc_factory(**cfg)
