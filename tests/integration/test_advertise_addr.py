"""--advertise-addr / ADVERTISE_ADDR: the node's advertised address fills RaftAdvertise and
HTTPAdvertise unless those keys are set; a malformed value is refused at load. The node reports
the address in /api/raft-status and, as leader, in the manager keys it publishes (docs/kv.md)."""
import os
import shutil
import subprocess

import pytest

from orctest import wait_until
from orctest.kvstores import Etcd
from orctest.util import free_port

ADVERTISED = "localhost"  # resolves to 127.0.0.1, and differs from it in what is shown


def raft_node(orc_factory, args=("http",), env=None, **config):
    """A single-node raft cluster on 127.0.0.1, started with args and extra environment."""
    cfg = {"RaftEnabled": True, "RaftBind": f"127.0.0.1:{free_port()}"}
    cfg.update(config)
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        orc = orc_factory(start=False, args=args, **cfg)
        orc.config["RaftDataDir"] = str(orc.workdir / "raft")
        orc.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    wait_until(lambda: orc.get("/api/raft-status", timeout=2).json().get("State") == "Leader",
               10, what="the node leads")
    return orc


def dump_config(orc, *args, env=None):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([orc.binary, "--config", str(orc.config_path), *args,
                           "--dump-config"], capture_output=True, text=True, timeout=30,
                          env=full, cwd=orc.workdir, check=False)


def test_advertise_addr_flag_sets_raft_and_http_advertise(orc_factory, tmp_path):
    etcd = None
    if shutil.which("etcd") and shutil.which("etcdctl"):
        etcd = Etcd(tmp_path).start()
    try:
        extra = {"EtcdEndpoints": etcd.endpoint, "KVPublishIntervalSeconds": 1} if etcd else {}
        orc = raft_node(orc_factory, args=("--advertise-addr", ADVERTISED, "http"), **extra)
        raft_port = orc.config["RaftBind"].rsplit(":", 1)[1]
        status = orc.api("raft-status")
        assert status["HTTPAdvertise"] == f"http://{ADVERTISED}:{orc.port}", status
        assert status["RaftAdvertise"] == f"127.0.0.1:{raft_port}", status  # resolved
        assert orc.has_event("+advertise")
        line = orc.wait_log(r"\+advertise addr=localhost .*$").group(0)
        assert f"RaftAdvertise={ADVERTISED}:{raft_port} from=AdvertiseAddr" in line, line
        assert f"HTTPAdvertise=http://{ADVERTISED}:{orc.port} from=AdvertiseAddr" in line, line
        out = dump_config(orc, "--advertise-addr", ADVERTISED)
        assert out.returncode == 0, out.stderr
        assert f'"RaftAdvertise": "{ADVERTISED}:{raft_port}"' in out.stdout
        if etcd:  # the leader publishes the advertised HTTP address as the manager's
            wait_until(lambda: etcd.get_prefix("orchestrator/cluster/").get(
                "orchestrator/cluster/leader") == f"http://{ADVERTISED}:{orc.port}", 15,
                what="the advertised address published as the leader's")
        else:
            print("etcd not installed: the published leader key was not checked")
    finally:
        if etcd:
            etcd.stop()


def test_advertise_addr_environment_and_explicit_keys_win(orc_factory):
    explicit = "http://127.0.0.1:1"  # never contacted: a single node forwards nothing
    orc = raft_node(orc_factory, env={"ADVERTISE_ADDR": ADVERTISED}, HTTPAdvertise=explicit)
    raft_port = orc.config["RaftBind"].rsplit(":", 1)[1]
    status = orc.api("raft-status")
    assert status["HTTPAdvertise"] == explicit, status
    line = orc.wait_log(r"\+advertise addr=localhost .*$").group(0)
    assert f"RaftAdvertise={ADVERTISED}:{raft_port} from=AdvertiseAddr" in line, line
    assert f"HTTPAdvertise={explicit} from=explicit" in line, line
    # ORC_AdvertiseAddr wins over ADVERTISE_ADDR, a flag over both.
    out = dump_config(orc, env={"ADVERTISE_ADDR": "node-a", "ORC_AdvertiseAddr": "node-b"})
    assert f'"RaftAdvertise": "node-b:{raft_port}"' in out.stdout, out.stdout
    out = dump_config(orc, "--advertise-addr=node-c",
                      env={"ADVERTISE_ADDR": "node-a", "ORC_AdvertiseAddr": "node-b"})
    assert f'"RaftAdvertise": "node-c:{raft_port}"' in out.stdout, out.stdout


@pytest.mark.parametrize("how", ["flag", "env"])
def test_malformed_advertise_addr_is_refused_at_load(orc_factory, how):
    orc = orc_factory(start=False)
    orc.write_config()
    bad = "http://node1:3000/"
    args, env = (["--advertise-addr", bad], None) if how == "flag" else ([], {
        "ADVERTISE_ADDR": bad})
    full = dict(os.environ)
    full.update(env or {})
    res = subprocess.run([orc.binary, "--config", str(orc.config_path), *args, "http"],
                         capture_output=True, text=True, timeout=30, env=full, cwd=orc.workdir,
                         check=False)
    assert res.returncode == 1, res
    assert "key 'AdvertiseAddr'" in res.stderr and f"got '{bad}'" in res.stderr, res.stderr
    assert f"set by {how}" in res.stderr, res.stderr
