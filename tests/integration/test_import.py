"""Migration from orchestrator: `orchestrator import-orchestrator-backend --from SOURCE` reads a
Go orchestrator's backend (SQLite file or MySQL DSN) and imports the operator state (cluster
aliases, active downtime, promotion rules, active maintenance, acknowledged recoveries) into a
running service through one replicated command."""
import os
import re
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest

from orctest import wait_until

# orchestrator's tables (go/db/generate_base.go + generate_patches.go), with their real column
# names, as its SQLite dialect creates them; timestamps are UTC text as datetime('now') writes.
ORCHESTRATOR_SCHEMA = [
    """CREATE TABLE cluster_alias (cluster_name varchar(128) NOT NULL, alias varchar(128) NOT NULL,
       last_registered timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (cluster_name))""",
    """CREATE TABLE cluster_alias_override (cluster_name varchar(128) NOT NULL,
       alias varchar(128) NOT NULL, PRIMARY KEY (cluster_name))""",
    """CREATE TABLE database_instance_downtime (hostname varchar(128) NOT NULL,
       port smallint unsigned NOT NULL, downtime_active tinyint DEFAULT NULL,
       begin_timestamp timestamp DEFAULT CURRENT_TIMESTAMP, end_timestamp timestamp,
       owner varchar(128) NOT NULL, reason text NOT NULL, PRIMARY KEY (hostname, port))""",
    """CREATE TABLE candidate_database_instance (hostname varchar(128) NOT NULL,
       port smallint unsigned NOT NULL, last_suggested TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
       priority TINYINT NOT NULL DEFAULT 1,
       promotion_rule text check(promotion_rule in ('must', 'prefer', 'neutral', 'prefer_not',
       'must_not')) NOT NULL DEFAULT 'neutral', PRIMARY KEY (hostname, port))""",
    """CREATE TABLE database_instance_maintenance (
       database_instance_maintenance_id integer, hostname varchar(128) NOT NULL,
       port smallint unsigned NOT NULL, maintenance_active tinyint DEFAULT NULL,
       begin_timestamp timestamp NULL DEFAULT NULL, end_timestamp timestamp NULL DEFAULT NULL,
       owner varchar(128) NOT NULL, reason text NOT NULL,
       processing_node_hostname varchar(128) NOT NULL DEFAULT '',
       processing_node_token varchar(128) NOT NULL DEFAULT '',
       explicitly_bounded TINYINT NOT NULL DEFAULT 0,
       PRIMARY KEY (database_instance_maintenance_id))""",
    """CREATE TABLE topology_recovery (recovery_id integer, hostname varchar(128) NOT NULL,
       port smallint unsigned NOT NULL, in_active_period tinyint NOT NULL DEFAULT 0,
       start_active_period timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
       end_active_period_unixtime int, end_recovery timestamp NULL,
       processing_node_hostname varchar(128) NOT NULL, processcing_node_token varchar(128) NOT NULL,
       successor_hostname varchar(128) DEFAULT NULL, successor_port smallint unsigned DEFAULT NULL,
       analysis varchar(128) NOT NULL DEFAULT '', cluster_name varchar(128) NOT NULL DEFAULT '',
       cluster_alias varchar(128) NOT NULL DEFAULT '', count_affected_slaves int NOT NULL DEFAULT 0,
       slave_hosts text NOT NULL DEFAULT '', last_detection_id bigint NOT NULL DEFAULT 0,
       successor_alias varchar(128) DEFAULT NULL, is_successful TINYINT NOT NULL DEFAULT 0,
       acknowledged TINYINT NOT NULL DEFAULT 0, acknowledged_at TIMESTAMP NULL,
       acknowledged_by varchar(128) NOT NULL DEFAULT '', acknowledge_comment text NOT NULL DEFAULT '',
       participating_instances text NOT NULL DEFAULT '', lost_slaves text NOT NULL DEFAULT '',
       all_errors text NOT NULL DEFAULT '', uid varchar(128) NOT NULL DEFAULT '',
       PRIMARY KEY (recovery_id))""",
]


def _ts(delta_s=0):
    return (datetime.now(timezone.utc) + timedelta(seconds=delta_s)).strftime("%Y-%m-%d %H:%M:%S")


def _rows(host, port):
    """The old backend's rows about one live instance, and rows that must not be imported."""
    cluster = f"{host}:{port}"
    return [
        ("INSERT INTO cluster_alias VALUES (?, ?, ?)", (cluster, "computed-alias", _ts())),
        ("INSERT INTO cluster_alias_override VALUES (?, ?)", (cluster, "imported-alias")),
        ("INSERT INTO database_instance_downtime VALUES (?, ?, 1, ?, ?, ?, ?)",
         (host, port, _ts(-60), _ts(3600), "dba-team", "disk swap")),
        ("INSERT INTO database_instance_downtime VALUES (?, ?, 1, ?, ?, ?, ?)",
         ("old-host.example", 3306, _ts(-7200), _ts(-3600), "nobody", "ended long ago")),
        ("INSERT INTO candidate_database_instance VALUES (?, ?, ?, 1, 'prefer')",
         (host, port, _ts())),
        ("INSERT INTO database_instance_maintenance VALUES (7, ?, ?, 1, ?, ?, ?, ?, 'old-orc', "
         "'tok', 0)", (host, port, _ts(-30), _ts(1800), "ops-bot", "kernel upgrade")),
        ("INSERT INTO topology_recovery (recovery_id, hostname, port, in_active_period,"
         " start_active_period, end_active_period_unixtime, end_recovery,"
         " processing_node_hostname, processcing_node_token, successor_hostname, successor_port,"
         " analysis, cluster_name, cluster_alias, is_successful, acknowledged, acknowledged_at,"
         " acknowledged_by, acknowledge_comment, uid) VALUES"
         " (41, ?, ?, 0, ?, 0, ?, 'old-orc', 'tok', ?, ?, 'DeadMaster', ?, 'imported-alias',"
         " 1, 1, ?, 'alice', 'post-mortem done', '1700000000000:old-recovery-41')",
         ("gone-master.example", 3306, _ts(-86400), _ts(-86390), host, port, cluster, _ts(-600))),
        ("INSERT INTO topology_recovery (recovery_id, hostname, port, start_active_period,"
         " processing_node_hostname, processcing_node_token, analysis, acknowledged, uid) VALUES"
         " (42, 'other.example', 3306, ?, 'old-orc', 'tok', 'DeadMaster', 0, 'not-acked-42')",
         (_ts(-100),)),
    ]


def write_orchestrator_sqlite(path, host, port):
    db = sqlite3.connect(path)
    for ddl in ORCHESTRATOR_SCHEMA:
        db.execute(ddl)
    for sql, args in _rows(host, port):
        db.execute(sql, args)
    db.commit()
    db.close()


def run_import(orc, *args, timeout=60):
    return subprocess.run([orc.binary, "--config", str(orc.config_path),
                           "import-orchestrator-backend", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def live_node(sandbox_factory, orc_factory):
    """One service (SQLite backend) that already sees one live MariaDB instance."""
    sb = sandbox_factory("single", 1)
    orc = orc_factory(sandbox=sb, DiscoverySeeds=[sb.key("i1")])
    port = sb.port("i1")
    wait_until(lambda: orc.get(f"/api/instance/127.0.0.1/{port}").status_code == 200, 20,
               what="the instance discovered")
    return sb, orc, "127.0.0.1", port


def _check_imported(orc, host, port):
    inst = orc.api(f"instance/{host}/{port}")
    assert inst["IsDowntimed"] is True, inst
    assert inst["DowntimeOwner"] == "dba-team" and inst["DowntimeReason"] == "disk swap"
    assert inst["PromotionRule"] == "prefer"
    clusters = {c["ClusterName"]: c["ClusterAlias"] for c in orc.api("clusters-info")}
    assert clusters[f"{host}:{port}"] == "imported-alias"  # the override wins
    maintenance = orc.api("maintenance")
    assert [(m["Key"]["Port"], m["Owner"], m["Reason"]) for m in maintenance] == \
        [(port, "ops-bot", "kernel upgrade")]
    assert orc.api(f"in-maintenance/{host}/{port}")["Message"] == "true"
    recoveries = orc.api("audit-recovery")
    uids = [r["UID"] for r in recoveries]
    assert "1700000000000:old-recovery-41" in uids and "not-acked-42" not in uids
    rec = next(r for r in recoveries if r["UID"] == "1700000000000:old-recovery-41")
    assert rec["Acknowledged"] is True and rec["AcknowledgedBy"] == "alice"
    assert rec["AcknowledgedComment"] == "post-mortem done"
    assert rec["IsSuccessful"] is True and rec["IsActive"] is False
    assert rec["SuccessorKey"] == {"Hostname": host, "Port": port}


def test_import_from_orchestrator_sqlite_reaches_the_live_topology(live_node, tmp_path):
    _, orc, host, port = live_node
    old = tmp_path / "orchestrator.sqlite3"
    write_orchestrator_sqlite(old, host, port)
    before = old.read_bytes()

    dry = run_import(orc, "--from", str(old), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"cluster alias          {host}:{port} -> imported-alias" in dry.stdout
    assert f"downtime               {host}:{port} until" in dry.stdout
    assert f"promotion rule         {host}:{port} prefer" in dry.stdout
    assert "acknowledged recovery  1700000000000:old-recovery-41" in dry.stdout
    assert ("totals: 1 cluster aliases, 1 downtimes, 1 promotion rules, 1 maintenance, "
            "1 acknowledged recoveries; 1 ended downtimes/maintenance not imported") in dry.stdout
    assert orc.api(f"instance/{host}/{port}")["IsDowntimed"] is False  # nothing sent

    res = run_import(orc, "--from", str(old))
    assert res.returncode == 0, res.stderr
    assert ("imported: 1 cluster aliases, 1 downtimes, 1 promotion rules, 1 maintenance, "
            "1 acknowledged recoveries") in res.stdout
    _check_imported(orc, host, port)
    assert old.read_bytes() == before  # the source is only read
    assert "+state-imported" in orc.log
    # One replicated command did it all.
    assert orc.log.count("op=import-orchestrator-state") <= 1

    # The backend has it too: a restart shows the same state.
    orc.restart()
    wait_until(lambda: orc.get(f"/api/instance/{host}/{port}").status_code == 200, 20,
               what="the instance after the restart")
    _check_imported(orc, host, port)


def test_import_from_a_mysql_dsn(live_node):
    sb, orc, host, port = live_node
    user, password = sb.credentials("backend")
    conn = sb.connect("i1", user="backend")
    try:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS orchestrator")
            cur.execute("CREATE DATABASE orchestrator")
            cur.execute("USE orchestrator")
            for ddl in ORCHESTRATOR_SCHEMA:  # orchestrator's MySQL DDL has an enum there
                cur.execute(re.sub(r"text check\(promotion_rule in (\([^)]*\))\)", r"enum\1",
                                   ddl))
            # MySQL's NOW() is in the session's zone: write the same instants that way.
            cur.execute("SET time_zone = '+00:00'")
            for sql, args in _rows(host, port):
                cur.execute(sql.replace("?", "%s"), args)
    finally:
        conn.close()
    dsn = f"{user}:{password}@tcp(127.0.0.1:{sb.port('i1')})/orchestrator?timeout=5s"
    dry = run_import(orc, "--from", dsn, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"mysql {user}@127.0.0.1:{sb.port('i1')}/orchestrator" in dry.stdout
    assert password not in dry.stdout + dry.stderr
    res = run_import(orc, "--from", dsn)
    assert res.returncode == 0, res.stderr
    _check_imported(orc, host, port)
    assert password not in orc.log


def test_bad_from_gives_a_clear_error(orc_factory, tmp_path):
    orc = orc_factory()
    missing = run_import(orc, "--from", str(tmp_path / "nope.sqlite3"))
    assert missing.returncode == 1
    assert "neither a readable SQLite file" in missing.stderr and "nope.sqlite3" in missing.stderr
    text = tmp_path / "notes.txt"
    text.write_text("this is not a database\n" * 100)
    notdb = run_import(orc, "--from", str(text))
    assert notdb.returncode == 1 and "not a database" in notdb.stderr, notdb.stderr
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).execute("CREATE TABLE x (a int)").connection.close()
    noschema = run_import(orc, "--from", str(empty))
    assert noschema.returncode == 1
    assert "is not an orchestrator backend: no table 'cluster_alias'" in noschema.stderr
    unreachable = run_import(orc, "--from", "orc:s3cr3t-pw@tcp(127.0.0.1:1)/orchestrator")
    assert unreachable.returncode == 1
    assert "connect to mysql orc@127.0.0.1:1/orchestrator" in unreachable.stderr
    assert "s3cr3t-pw" not in unreachable.stderr + unreachable.stdout
    malformed = run_import(orc, "--from", "orc:pw@tcp(127.0.0.1:3306")
    assert malformed.returncode == 1 and "not a MySQL DSN" in malformed.stderr
    usage = run_import(orc)
    assert usage.returncode == 2 and "--from is required" in usage.stderr


def test_import_route_refuses_an_invalid_state_and_imports_nothing(orc_factory):
    orc = orc_factory()
    bad = {"ClusterAliases": [{"ClusterName": "c1:3306", "Alias": "first"}],
           "PromotionRules": [{"Hostname": "h1", "Port": 3306, "PromotionRule": "always",
                               "LastSuggested": int(time.time())}]}
    reply = orc.post("/api/import-orchestrator-state", json=bad)
    assert reply.status_code >= 400
    assert reply.json()["Code"] == "ERROR" and "nothing imported" in reply.json()["Message"]
    assert orc.post("/api/import-orchestrator-state", data="[1]").status_code == 400
    good = {"ClusterAliases": [{"ClusterName": "c2:3306", "Alias": "first"}]}
    reply = orc.post("/api/import-orchestrator-state", json=good)
    assert reply.status_code == 200, reply.text
    assert reply.json()["Details"]["ClusterAliases"] == 1


def test_import_through_a_raft_follower_reaches_every_node(raft3, tmp_path):
    leader = raft3.wait_leader(timeout=15)
    follower = raft3.followers(leader)[0]
    old = tmp_path / "orchestrator.sqlite3"
    write_orchestrator_sqlite(old, "db-a.example", 3306)
    # The follower's own API: the write is forwarded to the leader, applied by every FSM.
    res = subprocess.run([follower.binary, "--config", str(follower.config_path),
                          "import-orchestrator-backend", "--from", str(old)],
                         env=dict(os.environ, ORCHESTRATOR_API=follower.api_base),
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr

    def has_state(node):
        uids = [r["UID"] for r in node.api("audit-recovery")]
        maint = [(m["Key"]["Hostname"], m["Owner"]) for m in node.api("maintenance")]
        return ("1700000000000:old-recovery-41" in uids
                and ("db-a.example", "ops-bot") in maint)
    raft3.wait_all(has_state, timeout=10, what="the imported state on every node")
