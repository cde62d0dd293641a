"""The discovery probe against real MariaDB servers.

Runs build/<variant>/tests/test_probe_live (tests/unit/test_probe_live.c), which probes one
instance with disc_probe_run over the real libmariadb connection and prints the record as
key=value lines, against a sandbox master and its replicas.
"""
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from orctest import wait_until
from orctest.sandbox import REPO_ROOT


@pytest.fixture(scope="module")
def probe_bin():
    orc_bin = os.environ.get("ORC_BIN")
    candidates = []
    if orc_bin:
        # ORC_BIN is build/<variant>/bin/orchestrator: the unit binaries sit beside bin/.
        candidates.append(Path(orc_bin).resolve().parent.parent / "tests" / "test_probe_live")
    candidates.append(REPO_ROOT / "build" / "release" / "tests" / "test_probe_live")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    pytest.fail(f"test_probe_live not built (looked at {', '.join(map(str, candidates))})")


def probe(probe_bin, sandbox, name, user="topology", password=None, timeout=30, **env):
    """Probes one sandbox instance; returns (record dict, exit code, raw output)."""
    login, pw = sandbox.credentials(user)
    if password is not None:
        pw = password
    full_env = dict(os.environ)
    full_env["ORC_TEST_PROBE"] = f"127.0.0.1:{sandbox.port(name)}:{login}:{pw}"
    full_env.update({k: str(v) for k, v in env.items()})
    proc = subprocess.run([probe_bin], env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return parse(proc.stdout), proc.returncode, proc.stdout + proc.stderr


def parse(text):
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def write_rows(sandbox):
    """A transaction on the master, so every GTID position is non-empty; waits for replicas."""
    sandbox.sql(sandbox.master, "CREATE TABLE IF NOT EXISTS test.probe "
                                "(id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))")
    sandbox.sql(sandbox.master, "INSERT INTO test.probe (v) VALUES (%s)", (uuid.uuid4().hex,))
    sandbox.wait_replicating()


def test_probe_reads_master_and_replicas_of_a_real_topology(probe_bin, sandbox_factory):
    sb = sandbox_factory("star", 3)
    write_rows(sb)
    master_port = sb.port("i1")
    gtid = sb.sql_value("i1", "SELECT @@gtid_binlog_pos")

    m, rc, raw = probe(probe_bin, sb, "i1", ORC_TEST_PROBE_SHOW_HOSTS=1)
    assert rc == 0, raw
    assert m["key"] == f"127.0.0.1:{master_port}"
    assert m["server_id"] == str(sb.instance("i1")["server_id"])
    assert m["flavor"] == "MariaDB" and m["major"] == "10"
    assert m["read_only"] == "0" and m["log_bin"] == "1" and m["log_replica_updates"] == "1"
    assert m["io_state"] == "-1" and m["sql_state"] == "-1" and m["master_key"] == ":0"
    assert m["gtid_binlog_pos"] == gtid and m["gtid_current_pos"] == gtid
    file, _, pos = m["self_coords"].partition(":")
    assert file.startswith("mysql-bin.") and int(pos) > 4
    replicas = set(m["replicas"].split(","))
    assert replicas == {sb.key("i2"), sb.key("i3")}
    assert m["partial_success"] == "1"

    for name in ("i2", "i3"):
        r, rc, raw = probe(probe_bin, sb, name)
        assert rc == 0, raw
        assert r["server_id"] == str(sb.instance(name)["server_id"])
        assert r["read_only"] == "1"
        assert r["master_key"] == f"127.0.0.1:{master_port}"
        assert r["master_server_id"] == str(sb.instance("i1")["server_id"])
        assert r["io_state"] == "1" and r["sql_state"] == "1", raw
        assert r["io_running_text"] == "Yes" and r["sql_running_text"] == "Yes"
        assert r["using_mariadb_gtid"] == "1"
        assert r["gtid_slave_pos"] == gtid and r["gtid_current_pos"] == gtid
        assert r["seconds_behind_master_valid"] == "1"
        assert r["has_replication_credentials"] == "1"
        assert r["read_coords"] == r["exec_coords"] == m["self_coords"]
        assert r["replicas"] == ""


def test_probe_sees_stopped_sql_thread_and_its_restart(probe_bin, sandbox_factory):
    sb = sandbox_factory("star", 2)
    write_rows(sb)
    sb.sql("i2", "STOP SLAVE SQL_THREAD")
    r, rc, raw = probe(probe_bin, sb, "i2")
    assert rc == 0, raw
    assert r["sql_state"] == "0" and r["sql_running_text"] == "No"
    assert r["io_state"] == "1"
    assert r["seconds_behind_master_valid"] == "0"
    assert r["master_key"] == sb.key("i1")

    sb.sql("i2", "START SLAVE SQL_THREAD")
    sb.wait_replicating()
    r, rc, raw = probe(probe_bin, sb, "i2")
    assert rc == 0 and r["sql_state"] == "1" and r["io_state"] == "1", raw


def test_probe_sees_io_thread_connecting_to_a_dead_master(probe_bin, sandbox_factory):
    sb = sandbox_factory("star", 2)
    sb.stop("i1")
    wait_until(lambda: (sb.slave_status("i2") or {}).get("Slave_IO_Running") == "Connecting",
               timeout=20, what="i2 IO thread connecting")
    r, rc, raw = probe(probe_bin, sb, "i2")
    assert rc == 0, raw
    assert r["io_state"] == "2" and r["io_running_text"] == "Connecting"
    assert r["sql_state"] == "1"
    assert int(r["last_io_errno"]) in (2003, 2013), raw
    assert r["master_key"] == sb.key("i1")

    m, rc, raw = probe(probe_bin, sb, "i1")
    assert rc != 0
    assert m["rc"] == "-3" and m["partial_success"] == "0", raw  # ORC_EIO, nothing read


def test_probe_refused_login_names_no_password(probe_bin, sandbox_factory):
    sb = sandbox_factory("single", 1)
    secret = "not-the-password-" + uuid.uuid4().hex[:8]
    r, rc, raw = probe(probe_bin, sb, "i1", password=secret)
    assert rc != 0
    assert r["rc"] == "-8", raw  # ORC_EPERM
    assert "Access denied" in r["error"]
    assert secret not in raw


def test_probe_reconnects_after_its_connection_is_killed(probe_bin, sandbox_factory):
    """One connection probes every 100 ms; killing it server-side costs no failed probe
    (reads are retried once on a fresh connection)."""
    sb = sandbox_factory("star", 2)
    login, _ = sb.credentials("topology")
    killed = []

    def kill_probe_connections():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not killed:
            ids = [row[0] for row in sb.sql(
                "i2", "SELECT id FROM information_schema.processlist WHERE user = %s", (login,))]
            for cid in ids:
                sb.sql("i2", f"KILL CONNECTION {int(cid)}")
                killed.append(cid)
            time.sleep(0.05)

    killer = threading.Timer(0.8, kill_probe_connections)
    killer.start()
    try:
        r, rc, raw = probe(probe_bin, sb, "i2", ORC_TEST_PROBE_REPEAT=30,
                           ORC_TEST_PROBE_INTERVAL_MS=100)
    finally:
        killer.join(timeout=15)
    assert killed, "no probe connection was found to kill"
    assert rc == 0, raw
    assert r["probes"] == "30" and r["probes_ok"] == "30", raw
    ids_after = [row[0] for row in sb.sql(
        "i2", "SELECT id FROM information_schema.processlist WHERE user = %s", (login,))]
    assert not set(ids_after) & set(killed)


def test_probe_latency_is_low(probe_bin, sandbox_factory):
    """Prints the probe's latency on a real replica: back to back, and once per 200 ms as the
    service probes (caches and CPUs cool down between probes)."""
    sb = sandbox_factory("star", 2)
    write_rows(sb)
    hot, rc, raw = probe(probe_bin, sb, "i2", ORC_TEST_PROBE_REPEAT=500)
    assert rc == 0, raw
    paced, rc, raw = probe(probe_bin, sb, "i2", ORC_TEST_PROBE_REPEAT=20,
                           ORC_TEST_PROBE_INTERVAL_MS=200)
    assert rc == 0, raw
    print(f"\nprobe latency on a MariaDB replica (us): back-to-back median "
          f"{hot['latency_median_us']} p99 {hot['latency_p99_us']}; every 200 ms median "
          f"{paced['latency_median_us']} max {paced['latency_max_us']}")
    # Generous bounds: a loaded CI machine must not fail this, a broken probe (timeouts,
    # reconnects on every probe) must.
    assert int(hot["latency_median_us"]) < 20000
    assert int(paced["latency_median_us"]) < 50000
