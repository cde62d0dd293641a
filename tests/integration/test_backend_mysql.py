"""The backend store on a real MariaDB.

The C unit tests of the backend (build/<variant>/tests/test_backend) hold one cmocka group per
backend; the MySQL group runs only when ORC_TEST_MYSQL is set. These tests point it at a
sandboxed MariaDB as the backend user (orc_backend, ALL on `orchestrator`) and check that the
group really ran and passed, and that migrations applied on MariaDB are a no-op the second time.
"""
import os
import re
import subprocess
from pathlib import Path

import pytest

DATABASE = "orchestrator"


@pytest.fixture
def test_backend_bin(orc_bin):
    """$(dirname ORC_BIN)/../tests/test_backend, following build/orchestrator's symlink."""
    path = Path(os.path.realpath(orc_bin)).parent.parent / "tests" / "test_backend"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"'{path}' not found: run `make all`")
    return str(path)


@pytest.fixture
def backend_db(sandbox_factory):
    """A single sandboxed MariaDB; returns (sandbox, ORC_TEST_MYSQL spec)."""
    sandbox = sandbox_factory("single", 1)
    user, password = sandbox.credentials("backend")
    spec = f"127.0.0.1:{sandbox.port('i1')}:{user}:{password}:{DATABASE}"
    return sandbox, spec


def _run(binary, spec, *args, timeout=300):
    env = dict(os.environ, ORC_TEST_MYSQL=spec)
    res = subprocess.run([binary, *args], env=env, capture_output=True, text=True,
                         timeout=timeout, check=False)
    return res.returncode, res.stdout + res.stderr


def _deployments(sandbox):
    conn = sandbox.connect("i1", user="backend", database=DATABASE)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT schema_version, description, deployed_version, deployed_timestamp"
                        " FROM orchestrator_db_deployments ORDER BY schema_version")
            rows = list(cur.fetchall())
            cur.execute("SELECT table_name FROM information_schema.tables"
                        " WHERE table_schema = %s ORDER BY table_name", (DATABASE,))
            tables = [r[0] for r in cur.fetchall()]
        return rows, tables
    finally:
        conn.close()


def _migrate_only(binary, spec):
    code, out = _run(binary, spec, "--migrate-only", timeout=120)
    assert code == 0, out
    m = re.search(r"migrate applied=(\d+) version=(\d+) latest=(\d+)", out)
    assert m, out
    return tuple(int(x) for x in m.groups())


def test_backend_unit_tests_pass_on_mariadb(backend_db, test_backend_bin):
    sandbox, spec = backend_db
    code, out = _run(test_backend_bin, spec)
    assert code == 0, out
    # the MySQL group ran, every test in it passed, and it said so
    m = re.search(r"backend group mysql: (\d+) tests, (\d+) failed", out)
    assert m, f"the mysql group did not run:\n{out}"
    assert int(m.group(1)) > 20 and int(m.group(2)) == 0, out
    assert "backend groups run: sqlite mysql" in out
    assert re.search(r"figure: backend mysql: upsert 1000 database_instance rows", out), out
    # it used the real server: the tables it created are there, as orchestrator names them
    _, tables = _deployments(sandbox)
    for t in ("database_instance", "topology_recovery", "database_instance_downtime",
              "cluster_alias", "audit", "kv_store", "orchestrator_db_deployments"):
        assert t in tables, tables


def test_backend_mysql_group_is_not_run_without_the_variable(test_backend_bin):
    env = {k: v for k, v in os.environ.items() if k != "ORC_TEST_MYSQL"}
    res = subprocess.run([test_backend_bin], env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "backend group sqlite: " in out
    assert "backend group mysql:" not in out
    assert "mysql not run" in out


def test_mariadb_migrations_are_a_noop_the_second_time(backend_db, test_backend_bin):
    sandbox, spec = backend_db
    applied, version, latest = _migrate_only(test_backend_bin, spec)
    assert applied == latest and applied > 0
    assert version == latest
    rows, tables = _deployments(sandbox)
    assert [r[0] for r in rows] == list(range(1, latest + 1))
    assert len(tables) > 15
    # second run: nothing applied, bookkeeping and tables unchanged
    applied2, version2, _ = _migrate_only(test_backend_bin, spec)
    assert (applied2, version2) == (0, latest)
    assert _deployments(sandbox) == (rows, tables)


def test_mariadb_migration_cut_short_is_completed_on_the_next_start(backend_db,
                                                                    test_backend_bin):
    """MySQL commits DDL one statement at a time: a step that stopped midway must be re-run
    from its start without failing on what it had already created."""
    sandbox, spec = backend_db
    _, latest = _migrate_only(test_backend_bin, spec)[1:]
    conn = sandbox.connect("i1", user="backend", database=DATABASE)
    try:
        with conn.cursor() as cur:
            # as if the process died after some tables and indexes of the step were made
            cur.execute("DELETE FROM orchestrator_db_deployments")
            cur.execute("DROP TABLE topology_recovery")
            cur.execute("DROP INDEX database_instance_last_seen_idx ON database_instance")
    finally:
        conn.close()
    applied, version, _ = _migrate_only(test_backend_bin, spec)
    assert (applied, version) == (latest, latest)
    _, tables = _deployments(sandbox)
    assert "topology_recovery" in tables
    idx = sandbox.sql_value("i1", "SELECT COUNT(*) FROM information_schema.statistics"
                                  " WHERE table_schema = %s AND table_name = 'database_instance'"
                                  " AND index_name = 'database_instance_last_seen_idx'",
                            (DATABASE,))
    assert idx == 1
