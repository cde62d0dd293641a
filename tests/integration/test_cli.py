"""The CLI (`orchestrator -c COMMAND`) against real MariaDB topologies.

Each command must print what orchestrator-client prints for it (reference 1.3): the expected
output is derived from the API's JSON the way orchestrator-client's jq filters derive it, and
checked against the sandbox's real layout. Also: help, errors and exit codes, an unreachable
API, leader discovery among several ORCHESTRATOR_API URLs, and basic auth.
"""
import http.server
import json
import os
import pwd
import re
import socket
import subprocess
import threading
import time
from contextlib import contextmanager

import pytest

from orctest import free_port, wait_until

POLL = 1.0  # InstancePollSeconds of default_config
SLACK = 2.5  # probe time, connect timeout (1 s) and scheduling
AUTH_VARS = ("ORCHESTRATOR_AUTH_USER", "ORCHESTRATOR_AUTH_PASSWORD", "ORCHESTRATOR_API")


@pytest.fixture(autouse=True)
def _clean_client_env(monkeypatch):
    """The CLI reads these; the developer's shell must not leak into the tests."""
    for var in AUTH_VARS:
        monkeypatch.delenv(var, raising=False)


# ---- helpers ---------------------------------------------------------------------------------


def keystr(k):
    """orchestrator-client's print_key: Hostname + ":" + Port."""
    return f"{k['Hostname']}:{k['Port']}"


def lines(text):
    return text.splitlines()


def cli(orc, *args, env=None, rc=0, timeout=30):
    """Runs the CLI; checks the exit code; returns the CompletedProcess."""
    proc = orc.cli(*args, env=env, timeout=timeout)
    assert proc.returncode == rc, (f"{' '.join(map(str, args))}: exit {proc.returncode}, "
                                   f"stdout {proc.stdout!r}, stderr {proc.stderr!r}")
    return proc


def out(orc, *args, env=None):
    """stdout lines of a command that must succeed."""
    return lines(cli(orc, *args, env=env).stdout)


# A log line of the binary ("2026-11-21 22:00:00.123 INFO +config-load ..."), not CLI output.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [A-Z]+ \+\S+.*\n?", re.MULTILINE)


def fail(orc, *args, env=None, rc=1):
    """stderr (log lines left out) of a command that must fail with this exit code and print
    nothing on stdout."""
    proc = cli(orc, *args, env=env, rc=rc)
    assert proc.stdout == "", proc.stdout
    return LOG_LINE.sub("", proc.stderr)


def api(orc, path):
    resp = orc.get("/api/" + path, timeout=10)
    assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
    return resp.json()


def discovered(orc, sb, seed="i2"):
    """Discovers `seed` with the CLI and waits until every instance is known; returns the
    cluster name (the master's key)."""
    assert out(orc, "discover", "-i", sb.key(seed)) == [sb.key(seed)]
    want = sorted(sb.key(n) for n in sb.names)
    wait_until(lambda: sorted(out(orc, "all-instances")) == want, 2 * POLL + SLACK,
               what=f"all {len(want)} instances known")
    return sb.key(sb.master)


def settled(orc, sb):
    """Waits until every replica is seen replicating with no lag (the trees are stable)."""
    wait_until(lambda: all(out(orc, "is-replicating", "-i", sb.key(n)) == [sb.key(n)]
                           for n in sb.replicas), 2 * POLL + SLACK, what="replicas replicating")


def tree_shape(text):
    """[(indent, key)] of an ASCII topology: the key follows '+ ' (or '- ') after the indent."""
    shape = []
    for line in lines(text):
        m = re.match(r"^( *)(?:[+-] )?(\S+) ", line)
        assert m, f"not a topology line: {line!r}"
        shape.append((len(m.group(1)) + (2 if line.strip()[:2] in ("+ ", "- ") else 0),
                      m.group(2)))
    return shape


def depth_of(sb, name):
    d = 0
    while sb.initial_master(name) is not None:
        name = sb.initial_master(name)
        d += 1
    return d


# ---- reads on discovered topologies ------------------------------------------------------------


def test_cli_reads_on_a_discovered_star_print_what_orchestrator_client_prints(star4, orc_factory):
    orc = orc_factory(star4)
    cluster = discovered(orc, star4)
    settled(orc, star4)
    master = star4.key("i1")
    replicas = sorted(star4.key(n) for n in ("i2", "i3", "i4"))
    every = sorted(star4.key(n) for n in star4.names)

    # clusters / clusters-alias: .[].ClusterName and ClusterName,ClusterAlias of clusters-info
    info = api(orc, "clusters-info")
    assert out(orc, "clusters") == [c["ClusterName"] for c in info] == [cluster]
    assert out(orc, "clusters-alias") == [f"{c['ClusterName']},{c['ClusterAlias']}"
                                          for c in info] == [f"{cluster},{cluster}"]
    # which-replicas: the keys of instance-replicas, one per line, in the API's order
    got = out(orc, "which-replicas", "-i", master)
    assert got == [keystr(i["Key"]) for i in api(orc, f"instance-replicas/127.0.0.1/"
                                                     f"{star4.port('i1')}")]
    assert sorted(got) == replicas
    assert out(orc, "which-slaves", "-i", master) == got  # the legacy name
    assert out(orc, "which-replicas", "-i", star4.key("i2")) == []
    # which-master / which-cluster-master / which-cluster
    for name in ("i2", "i3", "i4"):
        assert out(orc, "which-master", "-i", star4.key(name)) == [master]
    assert out(orc, "which-master", "-i", master) == []  # a master has none
    assert out(orc, "which-cluster-master", "-i", star4.key("i3")) == [master]
    assert out(orc, "which-cluster-master", "-i", star4.key("i3")) == [
        api(orc, f"master/{star4.key('i3')}")["ClusterName"]]
    assert out(orc, "which-cluster", "-i", star4.key("i4")) == [cluster]
    assert out(orc, "which-cluster-alias", "-i", star4.key("i4")) == [cluster]  # no alias yet
    # which-cluster-instances / all-instances / instance / which-instance / search
    assert sorted(out(orc, "which-cluster-instances", "-i", star4.key("i2"))) == every
    assert out(orc, "which-cluster-instances", "-i", star4.key("i2")) == [
        keystr(i["Key"]) for i in api(orc, f"cluster/{star4.key('i2')}")]
    assert out(orc, "all-instances") == [keystr(i["Key"]) for i in api(orc, "all-instances")]
    assert out(orc, "all-clusters-masters") == [master]
    assert out(orc, "instance", "-i", star4.key("i3")) == [star4.key("i3")]
    assert out(orc, "which-instance", "-i", star4.key("i3")) == [star4.key("i3")]
    assert out(orc, "search", "-i", str(star4.port("i4"))) == [star4.key("i4")]
    assert sorted(out(orc, "search", "-i", "127.0.0")) == every
    assert out(orc, "search", "-i", "no-such-thing") == []
    # is-replicating / is-replication-stopped: the key, or nothing
    assert out(orc, "is-replicating", "-i", star4.key("i2")) == [star4.key("i2")]
    assert out(orc, "is-replicating", "-i", master) == []  # no replication threads at all
    assert out(orc, "is-replication-stopped", "-i", star4.key("i2")) == []
    assert out(orc, "is-replication-stopped", "-i", master) == []
    assert out(orc, "which-broken-replicas", "-i", master) == []
    assert out(orc, "replication-analysis") == []  # a healthy star has nothing to say
    # topology: the API's Details, as jq -r prints it (with a final newline)
    proc = cli(orc, "topology", "-i", star4.key("i2"))
    shape = tree_shape(proc.stdout)
    assert shape[0] == (0, master)
    assert sorted(shape[1:]) == [(2, k) for k in replicas]
    assert proc.stdout.endswith("\n") and not proc.stdout.endswith("\n\n")
    assert tree_shape(api(orc, f"topology/{cluster}")["Details"]) == shape
    assert len(lines(cli(orc, "topology-tabulated", "-i", master).stdout)) == 4
    # which-api: a single URL is used as it is, with /api appended
    assert out(orc, "which-api") == [orc.url("/api")]
    # api: any path, the body as it is
    assert json.loads(cli(orc, "api", "-P", "clusters").stdout) == [cluster]


def test_cli_topology_of_a_chain_indents_by_depth(chain4, orc_factory):
    orc = orc_factory(chain4)
    cluster = discovered(orc, chain4, seed="i4")
    settled(orc, chain4)
    for hint in (chain4.key("i4"), chain4.key("i1"), cluster):
        proc = cli(orc, "topology", "-i", hint)
        shape = tree_shape(proc.stdout)
        # every instance appears once, indented by 2 per level of depth
        assert sorted(k for _, k in shape) == sorted(chain4.key(n) for n in chain4.names)
        for indent, key in shape:
            assert indent == 2 * depth_of(chain4, chain4.name_of_port(key.split(":")[1])), \
                proc.stdout
        # children follow their parent
        assert [k for _, k in shape[:2]] == [chain4.key("i1"), chain4.key("i2")]
    assert sorted(out(orc, "which-replicas", "-i", chain4.key("i2"))) == sorted(
        [chain4.key("i3"), chain4.key("i4")])
    assert out(orc, "which-replicas", "-i", chain4.key("i1")) == [chain4.key("i2")]
    assert out(orc, "which-master", "-i", chain4.key("i3")) == [chain4.key("i2")]
    assert out(orc, "which-cluster-master", "-i", chain4.key("i4")) == [chain4.key("i1")]
    assert out(orc, "which-cluster", "-i", chain4.key("i4")) == [cluster]


def test_cli_replication_analysis_names_the_dead_intermediate_master(chain4, orc_factory):
    orc = orc_factory(chain4)
    cluster = discovered(orc, chain4, seed="i1")
    settled(orc, chain4)
    assert out(orc, "replication-analysis") == []
    chain4.kill("i2")
    want = re.compile(rf"^{re.escape(chain4.key('i2'))} \(cluster {re.escape(cluster)}\): "
                      r"DeadIntermediateMaster\S*$")
    got = wait_until(lambda: [line for line in out(orc, "replication-analysis")
                              if want.match(line)], 10, what="a DeadIntermediateMaster line")
    assert len(got) == 1
    # every line is what orchestrator-client derives from the API's entries
    wait_until(lambda: out(orc, "replication-analysis") == expected_analysis(orc), 5,
               what="CLI analysis lines equal to the API's")


def expected_analysis(orc):
    """orchestrator-client's replication_analysis filter over the API's entries."""
    rows = []
    for a in api(orc, "replication-analysis")["Details"]:
        code = a["Analysis"]
        if code == "NoProblem":
            code = (a["StructureAnalysis"] or [None])[0]
            if code is None:
                continue
        rows.append(f"{keystr(a['AnalyzedInstanceKey'])} "
                    f"(cluster {a['ClusterDetails']['ClusterName']}): {code}")
    return rows


# ---- writes ----------------------------------------------------------------------------------


def test_cli_downtime_maintenance_candidate_tags(star4, orc_factory):
    orc = orc_factory(star4)
    discovered(orc, star4)
    i2, i3 = star4.key("i2"), star4.key("i3")
    path2 = f"instance/127.0.0.1/{star4.port('i2')}"
    me = pwd.getpwuid(os.getuid()).pw_name

    # downtime: begin prints the key, which-downtimed-instances lists it, end removes it
    before = time.time()
    assert out(orc, "begin-downtime", "-i", i2, "--reason", "r", "--duration", "1h") == [i2]
    assert out(orc, "which-downtimed-instances") == [i2]
    assert out(orc, "downtimed") == [i2]
    assert out(orc, "which-downtimed-instances", "-i", i3) == [i2]  # the cluster's
    inst = api(orc, path2)
    assert inst["IsDowntimed"] is True
    assert inst["DowntimeReason"] == "r" and inst["DowntimeOwner"] == me
    end = time.mktime(time.strptime(inst["DowntimeEndTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
    end -= time.timezone
    assert before + 3595 <= end <= time.time() + 3605
    assert out(orc, "end-downtime", "-i", i2) == [i2]
    assert out(orc, "which-downtimed-instances") == []
    assert api(orc, path2)["IsDowntimed"] is False
    # --owner, the short flags and --flag=value
    assert out(orc, "begin-downtime", "-i", i3, "-r", "why", "-u", "5m", "--owner=bob") == [i3]
    inst = api(orc, f"instance/127.0.0.1/{star4.port('i3')}")
    assert inst["DowntimeOwner"] == "bob" and inst["DowntimeReason"] == "why"
    assert out(orc, "end-downtime", "-i", i3) == [i3]
    # a bad duration is the server's ERROR envelope: its Message on stderr, exit 1
    assert "duration" in fail(orc, "begin-downtime", "-i", i2, "--reason", "r", "--duration",
                              "5")
    assert out(orc, "which-downtimed-instances") == []

    # maintenance: in-maintenance prints the key only while under maintenance
    assert out(orc, "in-maintenance", "-i", i3) == []
    assert out(orc, "begin-maintenance", "-i", i3, "--reason", "backup") == [i3]
    assert out(orc, "in-maintenance", "-i", i3) == [i3]
    maint = api(orc, "maintenance")
    assert [m["Reason"] for m in maint] == ["backup"] and maint[0]["Owner"] == me
    assert fail(orc, "begin-maintenance", "-i", i3, "--reason", "again")  # already under it
    assert out(orc, "end-maintenance", "-i", i3) == [i3]
    assert out(orc, "in-maintenance", "-i", i3) == []

    # register-candidate
    assert out(orc, "register-candidate", "-i", i2, "--promotion-rule", "prefer") == [i2]
    assert api(orc, path2)["PromotionRule"] == "prefer"
    assert out(orc, "register-candidate", "-i", i2, "--promotion-rule", "prefer_not") == [i2]
    assert api(orc, path2)["PromotionRule"] == "prefer_not"
    assert "not supported" in fail(orc, "register-candidate", "-i", i2, "--promotion-rule",
                                   "must")

    # tag / tags / tag-value / tagged / untag
    assert out(orc, "tags", "-i", i2) == []
    assert out(orc, "tag", "-i", i2, "--tag", "role=backup") == [i2]
    assert out(orc, "tag", "-i", i2, "--tag", "pinned") == [i2]
    assert out(orc, "tags", "-i", i2) == api(orc, f"tags/127.0.0.1/{star4.port('i2')}") == [
        "pinned", "role=backup"]
    assert out(orc, "tag-value", "-i", i2, "--tag", "role") == ["backup"]
    assert out(orc, "tagged", "--tag", "role=backup") == [i2]
    assert out(orc, "tagged", "--tag", "role=other") == []
    assert out(orc, "untag", "-i", i2, "--tag", "role") == [i2]
    assert out(orc, "untag", "-i", i2, "--tag", "role") == []  # nothing was untagged
    assert out(orc, "tags", "-i", i2) == ["pinned"]


def test_cli_cluster_alias_then_lookups_by_alias(star4, orc_factory):
    orc = orc_factory(star4)
    cluster = discovered(orc, star4)
    tree = cli(orc, "topology", "-i", cluster).stdout
    msg = out(orc, "set-cluster-alias", "-i", star4.key("i3"), "-a", "shop")
    assert msg == [f"Cluster {cluster} now has alias 'shop'"]
    assert out(orc, "which-cluster-alias", "-i", star4.key("i2")) == ["shop"]
    assert out(orc, "which-cluster", "-a", "shop") == [cluster]
    assert out(orc, "which-cluster", "--alias", "shop") == [cluster]
    assert out(orc, "clusters-alias") == [f"{cluster},shop"]
    assert sorted(out(orc, "which-cluster-instances", "-a", "shop")) == sorted(
        star4.key(n) for n in star4.names)
    assert out(orc, "which-cluster-master", "-a", "shop") == [star4.key("i1")]
    assert tree_shape(cli(orc, "topology", "-a", "shop").stdout) == tree_shape(tree)
    # rename through the alias, with --alias-name
    out(orc, "set-cluster-alias", "-a", "shop", "--alias-name", "store")
    assert out(orc, "which-cluster-alias", "-i", cluster) == ["store"]
    assert "'shop'" in fail(orc, "which-cluster", "-a", "shop")
    assert "needs" in fail(orc, "set-cluster-alias", "-i", cluster, rc=2)


def test_cli_stop_start_replica_and_broken_replicas(star4, orc_factory):
    orc = orc_factory(star4)
    discovered(orc, star4)
    settled(orc, star4)
    i1, i2, i3 = star4.key("i1"), star4.key("i2"), star4.key("i3")

    assert out(orc, "stop-replica", "-i", i2) == [i2]
    status = star4.slave_status("i2")
    assert status["Slave_IO_Running"] == "No" and status["Slave_SQL_Running"] == "No"
    assert out(orc, "is-replication-stopped", "-i", i2) == [i2]
    assert out(orc, "is-replicating", "-i", i2) == []
    assert out(orc, "which-broken-replicas", "-i", i1) == []  # stopped, but no error
    assert out(orc, "start-slave", "-i", i2) == [i2]  # the legacy name
    assert star4.slave_status("i2")["Slave_SQL_Running"] == "Yes"
    wait_until(lambda: out(orc, "is-replicating", "-i", i2) == [i2], POLL + SLACK,
               what="i2 replicating again")
    assert out(orc, "stop-slave", "-i", i3) == [i3]
    assert out(orc, "is-replication-stopped", "-i", i3) == [i3]
    assert out(orc, "start-replica", "-i", i3) == [i3]

    # break i3's SQL thread: a row it is told to insert is already there (duplicate key; DDL
    # would not do, MariaDB replicas apply it idempotently)
    star4.sql("i1", "CREATE TABLE test.cli_broken (id INT PRIMARY KEY)")
    star4.wait_replicating(timeout=10)
    conn = star4.connect("i3")
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin=0")
            cur.execute("INSERT INTO test.cli_broken VALUES (1)")
    finally:
        conn.close()
    star4.sql("i1", "INSERT INTO test.cli_broken VALUES (1)")
    wait_until(lambda: out(orc, "which-broken-replicas", "-i", i1) == [i3], POLL + SLACK,
               what="i3 listed as broken")
    assert out(orc, "which-broken-slaves", "-i", i1) == [i3]
    inst = api(orc, f"instance/127.0.0.1/{star4.port('i3')}")
    assert inst["ReplicationSQLThreadRuning"] is False and inst["LastSQLError"] != ""
    assert out(orc, "is-replicating", "-i", i3) == []
    assert out(orc, "is-replication-stopped", "-i", i3) == []  # the IO thread still runs


def test_cli_discover_and_forget(star4, orc_factory):
    orc = orc_factory(star4)
    cluster = discovered(orc, star4)
    i4 = star4.key("i4")
    assert out(orc, "discover", "-i", i4) == [i4]  # known: discovered again
    star4.kill("i4")  # so that the master's replica list does not bring it back
    assert out(orc, "forget", "-i", i4) == [i4]
    assert i4 not in out(orc, "which-cluster-instances", "-i", cluster)
    assert fail(orc, "instance", "-i", i4) == f"instance '{i4}' not found\n"
    assert "not found" in fail(orc, "forget", "-i", i4)
    port = free_port()
    assert f"127.0.0.1:{port}" in fail(orc, "discover", "-i", f"127.0.0.1:{port}")


# ---- relocation, takeover, recovery -------------------------------------------------------


def repl_credentials(sb):
    user, password = sb.credentials("repl")
    return {"ReplicationCredentialsQuery": f"SELECT '{user}', '{password}', '', '', ''"}


def replicates_from(sb, name, master):
    st = sb.slave_status(name)
    return (st is not None and int(st["Master_Port"]) == sb.port(master)
            and st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes")


def test_cli_relocations_print_instance_below_master(chain4, orc_factory):
    sb = chain4
    orc = orc_factory(sb, **repl_credentials(sb))
    discovered(orc, sb, seed="i1")
    settled(orc, sb)
    i1, i2, i3, i4 = (sb.key(n) for n in ("i1", "i2", "i3", "i4"))
    assert out(orc, "move-up", "-i", i3) == [f"{i3}<{i1}"]
    wait_until(lambda: replicates_from(sb, "i3", "i1"), 10, what="i3 below i1")
    assert out(orc, "which-master", "-i", i3) == [i1]
    assert out(orc, "move-below", "-i", i3, "-d", i2) == [f"{i3}<{i2}"]
    wait_until(lambda: replicates_from(sb, "i3", "i2"), 10, what="i3 below i2 again")
    assert out(orc, "relocate", "-i", i4, "-d", i1) == [f"{i4}<{i1}"]
    assert out(orc, "move-gtid", "-i", i4, "-d", i3) == [f"{i4}<{i3}"]
    wait_until(lambda: replicates_from(sb, "i4", "i3"), 10, what="i4 below i3")
    assert out(orc, "repoint", "-i", i4) == [f"{i4}<{i3}"]  # its own master again
    assert "move-below" in fail(orc, "move-below", "-i", i4, "-d", i1)  # not a sibling
    shape = dict((k, indent) for indent, k in tree_shape(cli(orc, "topology", "-i", i1).stdout))
    assert shape == {i1: 0, i2: 2, i3: 4, i4: 6}


def test_cli_graceful_takeover_and_recover(star4, orc_factory):
    sb = star4
    orc = orc_factory(sb, **repl_credentials(sb))
    cluster = discovered(orc, sb)
    settled(orc, sb)
    i1, i2, i3 = sb.key("i1"), sb.key("i2"), sb.key("i3")
    out(orc, "set-cluster-alias", "-i", i1, "-a", "shop")
    # graceful-master-takeover prints the successor's key
    assert out(orc, "graceful-master-takeover", "-a", "shop", "-d", i2) == [i2]
    wait_until(lambda: replicates_from(sb, "i1", "i2"), 10, what="the old master below i2")
    wait_until(lambda: out(orc, "which-cluster-master", "-a", "shop") == [i2], POLL + SLACK,
               what="i2 as the cluster's master")
    assert out(orc, "which-master", "-i", i1) == [i2]
    # a dead master, no automated recovery configured: analysis, then recover by hand
    others = [sb.key(n) for n in ("i1", "i3", "i4")]
    wait_until(lambda: all(out(orc, "is-replicating", "-i", k) == [k] for k in others), 10,
               what="every other instance replicating from i2")
    sb.kill("i2")
    want = re.compile(rf"^{re.escape(i2)} \(cluster [^)]+\): DeadMaster\S*$")
    wait_until(lambda: [x for x in out(orc, "replication-analysis") if want.match(x)], 10,
               what="a DeadMaster line")
    promoted = out(orc, "recover", "-i", i2)
    assert len(promoted) == 1 and promoted[0] in (i1, i3, sb.key("i4")), promoted
    name = sb.name_of_port(promoted[0].split(":")[1])
    wait_until(lambda: sb.slave_status(name) is None or
               sb.slave_status(name)["Slave_IO_Running"] == "No", 10,
               what="the promoted instance no longer replicating")
    assert sb.sql_value(name, "SELECT @@read_only") == 0
    assert out(orc, "ack-cluster-recoveries", "-a", "shop", "--reason", "done") == ["done"]
    assert cluster  # the cluster was known before the failover


# ---- help, usage errors ----------------------------------------------------------------------


def run_bin(orc_bin, *args, env=None, timeout=30):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([orc_bin] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=full, stdin=subprocess.DEVNULL, check=False)


def test_cli_help_usage_errors_and_exit_codes(orc_factory, orc_bin):
    orc = orc_factory()
    # help: every command, one per line
    listing = out(orc, "help")
    for name in ("which-replicas", "begin-downtime", "replication-analysis", "topology"):
        assert any(re.match(rf"^  {re.escape(name)}\s+\S", line) for line in listing), name
    assert run_bin(orc_bin, "help", "commands").stdout == cli(orc, "help").stdout
    # help COMMAND: the flags it needs and the route it calls
    for argv in (["help", "which-replicas"], ["-c", "which-replicas", "--help"],
                 ["-c", "help", "which-replicas"], ["help", "which-slaves"]):
        proc = run_bin(orc_bin, *argv)
        assert proc.returncode == 0, (argv, proc.stderr)
        assert proc.stdout.startswith("usage: orchestrator -c which-replicas -i host:port\n"), \
            proc.stdout
        assert "GET /api/instance-replicas/HOST/PORT" in proc.stdout
    usage = run_bin(orc_bin, "help", "begin-downtime").stdout
    assert "--reason text" in usage and "[--duration 10m]" in usage and "[--owner name]" in usage
    assert "-i host:port|-a alias" in run_bin(orc_bin, "help", "topology").stdout
    proc = run_bin(orc_bin, "--help")
    assert proc.returncode == 0 and "-c COMMAND" in proc.stdout
    # an unknown command: exit 2, the name quoted, where to look
    err = fail(orc, "no-such-command", rc=2)
    assert err.strip().endswith(
        "orchestrator: unknown command 'no-such-command' (see 'orchestrator help commands')")
    assert "unknown command 'nope'" in run_bin(orc_bin, "help", "nope").stderr
    # a missing flag: exit 2, the command and the flag named, no request made
    assert "orchestrator: command 'which-replicas' needs -i host:port" in fail(
        orc, "which-replicas", rc=2)
    assert "command 'begin-downtime' needs --reason text" in fail(
        orc, "begin-downtime", "-i", "127.0.0.1:3306", rc=2)
    assert "command 'tag' needs --tag" in fail(orc, "tag", "-i", "127.0.0.1:3306", rc=2)
    assert "command 'topology' needs -i host:port|-a alias" in fail(orc, "topology", rc=2)
    assert "command 'move-below' needs -d host:port" in fail(
        orc, "move-below", "-i", "127.0.0.1:3306", rc=2)
    assert "unknown option '-x'" in fail(orc, "clusters", "-x", "1", rc=2)
    assert "option '-i' needs a value" in fail(orc, "instance", "-i", rc=2)
    assert "invalid instance 'db1:notaport'" in fail(orc, "instance", "-i", "db1:notaport", rc=2)
    # an ERROR envelope: its Message on stderr, nothing on stdout, exit 1
    assert fail(orc, "instance", "-i", "127.0.0.1:1") == "instance '127.0.0.1:1' not found\n"
    # reads that find nothing succeed with no output
    assert out(orc, "clusters") == []
    assert out(orc, "replication-analysis") == []


# ---- finding the API ---------------------------------------------------------------------------


def test_cli_finds_the_api_from_the_config(orc_factory):
    orc = orc_factory(URLPrefix="/orc", start=False)
    orc.start(wait=False)  # the fixture's readiness check does not know the prefix
    wait_until(lambda: orc.get("/orc/api/lb-check", timeout=2).status_code == 200, 15,
               what="lb-check under the prefix")
    assert out(orc, "which-api") == [orc.url("/orc/api")]
    assert out(orc, "clusters") == []
    assert json.loads(cli(orc, "api", "-P", "/clusters-info").stdout) == []
    # ORCHESTRATOR_API wins over the config
    other = orc_factory(name="other")
    assert out(orc, "which-api", env={"ORCHESTRATOR_API": other.url("/")}) == [
        other.url("/api")]


def test_cli_unreachable_api_fails_fast_naming_the_url(orc_factory):
    orc = orc_factory()
    dead = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    err = fail(orc, "clusters", env={"ORCHESTRATOR_API": dead})
    assert time.monotonic() - t0 < 5
    assert f"cannot access orchestrator at '{dead}/api'" in err
    # a server that never completes the TCP handshake: bounded by the connect timeout
    with blackhole() as port:
        t0 = time.monotonic()
        err = fail(orc, "clusters", env={"ORCHESTRATOR_API": f"http://127.0.0.1:{port}/api"})
        took = time.monotonic() - t0
    assert f"cannot access orchestrator at 'http://127.0.0.1:{port}/api'" in err
    assert took < 10, took
    # several URLs, none of them alive
    both = f"{dead} http://127.0.0.1:{free_port()}/api"
    err = fail(orc, "clusters", env={"ORCHESTRATOR_API": both})
    assert f"cannot determine the leader among '{both}'" in err
    # -U wins over ORCHESTRATOR_API
    assert out(orc, "which-api", "-U", orc.url("/"), env={"ORCHESTRATOR_API": dead}) == [
        orc.url("/api")]


@contextmanager
def blackhole():
    """A port whose accept queue is full: new connections hang in SYN_SENT."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(c)
        time.sleep(0.2)
        yield port
    finally:
        for c in fillers:
            c.close()
        server.close()


@contextmanager
def fake_node(leader=False, routed=False):
    """A stand-in orchestrator node that answers leader-check / routed-leader-check with 200
    or 404 and every other route with an ERROR envelope naming itself."""
    calls = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            calls.append(self.path)
            if self.path.endswith("/api/leader-check"):
                status, body = (200, "OK") if leader else (404, "Not leader")
            elif self.path.endswith("/api/routed-leader-check"):
                status, body = (200, "OK") if routed else (404, "Not leader")
            else:
                status, body = 500, {"Code": "ERROR", "Message": "fake node", "Details": None}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_cli_picks_the_leader_among_several_urls(star4, orc_factory):
    orc = orc_factory(star4)
    cluster = discovered(orc, star4)
    real = orc.url("/api")
    dead = f"http://127.0.0.1:{free_port()}/api"
    # the first URL is dead: the leader-check picks the second (which lacks the /api suffix)
    env = {"ORCHESTRATOR_API": f"{dead} {orc.url('/')}"}
    assert out(orc, "which-api", env=env) == [real]
    assert out(orc, "clusters", env=env) == [cluster]
    assert out(orc, "which-replicas", "-i", star4.key("i1"), env=env) != []
    # comma separated, dead one last
    assert out(orc, "which-api", env={"ORCHESTRATOR_API": f"{real},{dead}"}) == [real]
    # alive but not the leader: skipped in favour of the leader
    with fake_node(leader=False) as (follower, calls):
        env = {"ORCHESTRATOR_API": f"{follower} {real}"}
        assert out(orc, "which-api", env=env) == [real]
        assert out(orc, "clusters", env=env) == [cluster]
        assert "/api/leader-check" in calls
        assert not [c for c in calls if "clusters" in c]
    # no node is leader: the first whose routed-leader-check answers 200 (it proxies)
    with fake_node() as (a, _), fake_node(routed=True) as (b, calls_b):
        env = {"ORCHESTRATOR_API": f"{a} {b}"}
        assert out(orc, "which-api", env=env) == [f"{b}/api"]
        assert "/api/routed-leader-check" in calls_b
        # the node picked answers with an ERROR envelope: its Message, exit 1
        assert fail(orc, "clusters", env=env) == "fake node\n"
    with fake_node() as (a, _), fake_node() as (b, _):
        err = fail(orc, "clusters", env={"ORCHESTRATOR_API": f"{a} {b}"})
        assert f"cannot determine the leader among '{a} {b}'" in err


def test_cli_basic_auth(star4, orc_factory):
    orc = orc_factory(star4, AuthenticationMethod="basic", HTTPAuthUser="admin",
                      HTTPAuthPassword="s3cret")
    path = f"127.0.0.1:{star4.port('i2')}"
    err = fail(orc, "discover", "-i", path)
    assert "401 Unauthorized" in err and "ORCHESTRATOR_AUTH_USER" in err
    assert orc.url("/api") in err
    assert "401" in fail(orc, "clusters")
    creds = {"ORCHESTRATOR_AUTH_USER": "admin", "ORCHESTRATOR_AUTH_PASSWORD": "s3cret"}
    assert "401" in fail(orc, "clusters", env=dict(creds, ORCHESTRATOR_AUTH_PASSWORD="wrong"))
    assert out(orc, "discover", "-i", path, env=creds) == [path]
    wait_until(lambda: len(out(orc, "all-instances", env=creds)) == 4, 2 * POLL + SLACK,
               what="all four instances")
    assert out(orc, "clusters", env=creds) == [star4.key("i1")]
    assert out(orc, "clusters", "-b", "admin:s3cret") == [star4.key("i1")]
    # leader discovery among several URLs works behind auth too
    env = dict(creds, ORCHESTRATOR_API=f"http://127.0.0.1:{free_port()} {orc.url('/')}")
    assert out(orc, "clusters", env=env) == [star4.key("i1")]
