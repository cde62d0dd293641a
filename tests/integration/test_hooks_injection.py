"""Shell injection through a topology value: replicas whose report_host is shell code.

MariaDB accepts any string as report_host, and SHOW SLAVE HOSTS hands it to the service as the
replica's hostname. orchestrator pastes such values into hook command lines; we must not let a
shell ever parse them. These tests start real replicas with report_host set to
`$(touch /tmp/pwned-<id>-1)`, `` `touch /tmp/pwned-<id>-2` ``, `a;touch /tmp/pwned-<id>-3` and
`$(touch pwned-<id>-4)` (no '/', so the API can route a request naming it; relative to the
service's working directory, where hooks run too), let the service discover them, and prove
that:

- discovery checks them at the door (docs/security.md): the odd names are refused
  (+probe-value-refused), never listed as replicas, the normal replica is, the service stays
  up, answers about the odd names with a clear error, and no marker file appears;
- a failure detection hook (OnFailureDetectionProcesses) never sees those values: the cluster
  alias and data center come from DetectClusterAliasQuery / DetectDataCenterQuery reading a
  meta table whose rows are `$(touch /tmp/pwned-<id>-5)` and `'; touch /tmp/pwned-<id>-6; '`;
  both are refused at the door, {replicaHosts} carries only valid names, the values that do
  reach the hook arrive byte for byte in every quoting context, and the hook's environment
  holds no password (not even one given as an ORC_MySQLTopologyPassword override).
"""
import glob
import os
import time
import urllib.parse
import uuid

import pytest
import requests

ODD = {"i2": "$(touch /tmp/{m}-1)", "i3": "`touch /tmp/{m}-2`", "i4": "a;touch /tmp/{m}-3",
       "i5": "$(touch {m}-4)"}
NORMAL = "i6"


def _set_report_host(sandbox, name, value):
    """Restarts the instance with report_host=value in its my.cnf."""
    cnf = sandbox.instance(name)["config"]
    sandbox.stop(name)
    with open(cnf, encoding="utf-8") as f:
        lines = f.read().splitlines()
    lines = [f"report_host={value}" if ln.startswith("report_host=") else ln for ln in lines]
    with open(cnf, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    sandbox.start(name)
    assert sandbox.sql_value(name, "SELECT @@report_host") == value


class Markers:
    """The files the payloads would create: /tmp/pwned-<id>-N..., or pwned-<id>-4 relative to
    the service's cwd. Matched by prefix: a payload pasted into a longer word (`touch
    /tmp/pwned-<id>-3:PORT`) still counts."""

    def __init__(self, tag):
        self.tag = tag
        self.dirs = ["/tmp", os.getcwd()]

    def watch(self, directory):
        self.dirs.append(str(directory))

    def made(self):
        found = []
        for d in self.dirs:
            found += glob.glob(os.path.join(glob.escape(d), f"pwned-{self.tag}*"))
        return sorted(set(found))


@pytest.fixture
def odd_star(sandbox_factory):
    """star of 6: i1 master; i2..i5 replicas whose report_host is shell code; i6 normal."""
    tag = uuid.uuid4().hex[:12]
    markers = Markers(tag)
    sandbox = sandbox_factory("star", 6)
    odd = {}
    for name, tpl in ODD.items():
        odd[name] = tpl.format(m=f"pwned-{tag}")
        _set_report_host(sandbox, name, odd[name])
    sandbox.wait_replicating(timeout=30)
    hosts = {row[1] for row in sandbox.sql("i1", "SHOW SLAVE HOSTS")}
    assert set(odd.values()) <= hosts, hosts
    yield sandbox, odd, markers
    leftovers = markers.made()
    for m in leftovers:
        os.unlink(m)
    assert not leftovers, f"payloads ran: {leftovers}"


def _keystr(k):
    return f"{k['Hostname']}:{k['Port']}"


def _odd_keys(sandbox, odd):
    return {f"{value}:{sandbox.port(name)}" for name, value in odd.items()}


def _replicas_of_master(orc, sandbox):
    r = orc.get(f"/api/instance/127.0.0.1/{sandbox.port('i1')}", timeout=5)
    if r.status_code != 200:
        return set()
    return {_keystr(k) for k in (r.json().get("Replicas") or [])}


def _discover(orc, sandbox, odd):
    """Discovers the master; returns its replicas once the normal one is listed."""
    r = orc.get(f"/api/discover/127.0.0.1/{sandbox.port('i1')}", timeout=10)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    seen = set()
    while time.monotonic() < deadline:
        seen = _replicas_of_master(orc, sandbox)
        if sandbox.key(NORMAL) in seen:
            return seen
        time.sleep(0.2)
    pytest.fail(f"master's replicas {sorted(seen)} never listed {sandbox.key(NORMAL)}\n"
                f"{orc.tail()}")


def _assert_no_marker(markers):
    made = markers.made()
    assert not made, f"a report_host payload ran: {made}"


def test_discovery_refuses_shell_code_report_hosts(odd_star, orc_factory):
    sandbox, odd, markers = odd_star
    orc = orc_factory(sandbox=sandbox)
    markers.watch(orc.workdir)
    _discover(orc, sandbox, odd)
    time.sleep(3)  # several poll rounds
    assert orc.running, orc.tail()
    assert orc.get("/api/lb-check", timeout=5).status_code == 200
    _assert_no_marker(markers)
    seen = _replicas_of_master(orc, sandbox)
    assert seen == {sandbox.key(NORMAL)}, seen
    assert orc.has_event("+probe-value-refused"), orc.tail()
    # the log names the field and the length, never the value
    assert "touch" not in "\n".join(ln for ln in orc.log.splitlines()
                                    if "+probe-value-refused" in ln)
    cluster = orc.get(f"/api/cluster/{sandbox.key('i1')}", timeout=5)
    assert cluster.status_code == 200, cluster.text
    keys = {_keystr(i["Key"]) for i in cluster.json()}
    assert {sandbox.key(n) for n in ("i1", NORMAL)} <= keys
    assert not keys & _odd_keys(sandbox, odd), keys
    # Asking about an odd key by name gets a clear error, not a crash.
    for name, value in odd.items():
        path = f"/api/instance/{urllib.parse.quote(value, safe='')}/{sandbox.port(name)}"
        r = orc.get(path, timeout=5)
        assert r.status_code in (400, 404, 500), (r.status_code, r.text)
        assert r.json()["Code"] == "ERROR", r.text
    _assert_no_marker(markers)


def _hook_lines(out):
    """Hooks that write what they received, in every quoting context, into files under out."""
    return [
        f"printf '%s' {{failureClusterAlias}} > {out}/alias-unquoted",
        f"printf '%s' \"alias={{failureClusterAlias}}\" > {out}/alias-dq",
        f"printf '%s' \"$(printf '%s' {{failureClusterAlias}})\" > {out}/alias-cmdsub",
        f"printf '%s' \"$ORC_FAILURE_CLUSTER_ALIAS\" > {out}/alias-env",
        f"printf '%s' \"$ORC_FAILED_DATA_CENTER\" > {out}/dc-env",
        f"printf '%s' {{replicaHosts}} > {out}/hosts-unquoted",
        f"printf '%s' \"{{slaveHosts}}\" > {out}/hosts-dq",
        f"printf '%s' \"$ORC_REPLICA_HOSTS\" > {out}/hosts-env",
        f"printf '%s' {{failedHost}}:{{failedPort}} > {out}/failed",
        f"env > {out}/environment",
        f"echo {{failureType}} >> {out}/seen",
    ]


def _read(out, name, prefix=""):
    text = (out / name).read_bytes().decode()
    assert text.startswith(prefix), (name, text)
    return text[len(prefix):]


def test_detection_hook_gets_no_database_code_and_no_password(odd_star, orc_factory, tmp_path,
                                                             monkeypatch):
    sandbox, odd, markers = odd_star
    alias = f"$(touch /tmp/pwned-{markers.tag}-5)"
    dc = f"'; touch /tmp/pwned-{markers.tag}-6; '"
    sandbox.sql("i1", "CREATE TABLE meta.cluster (anchor TINYINT PRIMARY KEY, "
                      "cluster_alias VARCHAR(255), dc VARCHAR(255))")
    sandbox.sql("i1", "INSERT INTO meta.cluster VALUES (1, %s, %s)", (alias, dc))
    sandbox.wait_replicating(timeout=30)
    out = tmp_path / "hook-out"
    out.mkdir()
    lines = _hook_lines(out)
    # the password also given as a config override in the service's environment
    monkeypatch.setenv("ORC_MySQLTopologyPassword", sandbox.topology_password)
    orc = orc_factory(
        sandbox=sandbox, OnFailureDetectionProcesses=lines, RecoveryPeriodBlockSeconds=1,
        DetectClusterAliasQuery="SELECT cluster_alias FROM meta.cluster WHERE anchor = 1",
        DetectDataCenterQuery="SELECT dc FROM meta.cluster WHERE anchor = 1")
    markers.watch(orc.workdir)
    want = _discover(orc, sandbox, odd)
    time.sleep(2.5)  # every instance probed at least twice: alias and data center read
    sandbox.kill("i1")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (out / "seen").exists():
        assert orc.running, orc.tail()
        time.sleep(0.1)
    assert (out / "seen").exists(), f"OnFailureDetectionProcesses never ran\n{orc.tail(60)}"
    _assert_no_marker(markers)
    assert orc.running, orc.tail()
    assert len(os.listdir(out)) == len(lines), sorted(os.listdir(out))
    assert "DeadMaster" in _read(out, "seen")
    assert _read(out, "failed") == sandbox.key("i1")
    # The database's alias and data center were refused at the door.
    assert orc.has_event("+probe-value-refused"), orc.tail()
    aliases = {_read(out, "alias-unquoted"), _read(out, "alias-dq", "alias="),
               _read(out, "alias-cmdsub"), _read(out, "alias-env")}
    assert len(aliases) == 1 and "touch" not in aliases.pop(), aliases
    assert "touch" not in _read(out, "dc-env")
    # Replica names: the same list in every context, only valid names the master reported.
    hosts = {_read(out, "hosts-unquoted"), _read(out, "hosts-dq"), _read(out, "hosts-env")}
    assert len(hosts) == 1, hosts
    listed = set(hosts.pop().split(","))
    assert sandbox.key(NORMAL) in listed and listed <= want, (listed, want)
    # The hook's environment: PATH and its own ORC_* values, no password, no overrides.
    env = _read(out, "environment")
    assert "PATH=" in env and "ORC_FAILURE_TYPE=DeadMaster" in env, env
    assert sandbox.topology_password not in env, env
    assert "ORC_MySQLTopologyPassword" not in env and "MySQLTopology" not in env, env
    assert orc.has_event("+hook-done"), orc.tail()
    assert not orc.has_event("+hook-failed"), orc.tail()
    assert "printf" not in orc.log  # hook command lines are not logged
