"""Fixtures every integration test uses: real MariaDB sandboxes and orchestrator processes.

- sandbox_factory(layout="star", n=4, base_port=None, ssl_dir=None,
  require_secure_transport=False) -> orctest.Sandbox
- star4 (i1 master; i2, i3, i4 its replicas), chain4 (i1 -> i2 -> i3, i4)
- orc_factory(sandbox=None, start=True, timeout=15, name="orc", args=("http",), **config)
  -> orctest.Orchestrator; config keys override the defaults (a value of None removes one)
- orc_bin: absolute path of the binary under test ($ORC_BIN, else build/orchestrator)

Everything is torn down by pid at the end of the test, also when it fails (and at exit or on
SIGTERM if pytest itself is interrupted). Sandbox datadirs are removed after a passing test and
kept, with their error logs, after a failing one.
"""
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from orctest import Orchestrator, Sandbox, default_config, free_port  # noqa: E402
from orctest.sandbox import REPO_ROOT  # noqa: E402


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


def _test_passed(node):
    call = getattr(node, "rep_call", None)
    return call is not None and call.passed


@pytest.fixture(scope="session")
def orc_bin():
    path = os.environ.get("ORC_BIN") or str(REPO_ROOT / "build" / "orchestrator")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"orchestrator binary '{path}' not found: run `make all` or set ORC_BIN")
    return os.path.abspath(path)


@pytest.fixture
def sandbox_factory(tmp_path_factory, request):
    made = []

    def make(layout="star", n=4, base_port=None, **kw):
        directory = tmp_path_factory.mktemp("sb")
        sandbox = Sandbox.up(directory, layout=layout, n=n, base_port=base_port, **kw)
        made.append(sandbox)
        return sandbox

    yield make
    errors = []
    for sandbox in reversed(made):
        try:
            sandbox.down()
        except Exception as exc:  # noqa: BLE001 - tear the others down first
            errors.append(exc)
    if _test_passed(request.node) and not errors:
        for sandbox in made:
            for inst in sandbox.instances:
                shutil.rmtree(inst["datadir"], ignore_errors=True)
    if errors:
        raise errors[0]


@pytest.fixture
def star4(sandbox_factory):
    return sandbox_factory("star", 4)


@pytest.fixture
def chain4(sandbox_factory):
    return sandbox_factory("chain", 4)


@pytest.fixture
def orc_factory(orc_bin, tmp_path_factory, sandbox_factory):
    # Depends on sandbox_factory so that orchestrators stop before the servers they watch.
    made = []

    def make(sandbox=None, start=True, timeout=15.0, name="orc", args=("http",), **config):
        workdir = tmp_path_factory.mktemp(name)
        cfg = default_config(workdir, free_port(), sandbox)
        for key, value in config.items():
            if value is None:
                cfg.pop(key, None)
            else:
                cfg[key] = value
        orc = Orchestrator(orc_bin, workdir, cfg, name=name, args=args)
        made.append(orc)
        if start:
            orc.start(timeout=timeout)
        return orc

    yield make
    for orc in reversed(made):
        orc.stop(timeout=10)


# ---- raft clusters (tests/integration/orctest/raft.py) -------------------------------------

from orctest.raft import RaftCluster, RaftNode  # noqa: E402


@pytest.fixture
def raft_factory(orc_bin, tmp_path_factory, sandbox_factory):
    """raft_factory(n=3, sandbox=None, hosts=None, start=True, timeout=20, **config)
    -> orctest.raft.RaftCluster of n raft nodes (SQLite each) probing `sandbox`; config keys
    apply to every node (None removes one). cluster.add_node(name, ...) adds a node that must
    join at run time. hosts=["127.0.0.1", "127.0.0.2", ...] puts one node per loopback address
    on a common HTTP port. Every node is stopped at the end, before the sandboxes."""
    made = []

    def make(n=3, sandbox=None, hosts=None, start=True, timeout=20.0, **config):
        def node(name, host, **cfg):
            workdir = tmp_path_factory.mktemp(name)
            conf = default_config(workdir, 0, sandbox)
            for key, value in cfg.items():
                if value is None:
                    conf.pop(key, None)
                else:
                    conf[key] = value
            orc = RaftNode(orc_bin, workdir, conf, name=name, host=host)
            made.append(orc)
            return orc

        return RaftCluster.create(node, n=n, hosts=hosts, start=start, timeout=timeout, **config)

    yield make
    for orc in reversed(made):
        orc.stop(timeout=10)


@pytest.fixture
def raft3(raft_factory):
    """Three raft nodes on 127.0.0.1, started, no sandbox."""
    return raft_factory(3)


@pytest.fixture
def fleet_factory(orc_bin, tmp_path_factory):
    """Starts fleet simulators (orc-fleet) from cluster descriptions; stops them at the end."""
    from orctest.fleet import Fleet, fleet_binary
    made = []

    def make(clusters, **kw):
        fleet = Fleet.up(fleet_binary(orc_bin), tmp_path_factory.mktemp("fleet"), clusters, **kw)
        made.append(fleet)
        return fleet

    yield make
    for fleet in reversed(made):
        fleet.down()
