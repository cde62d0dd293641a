"""The sandbox itself: real MariaDB topologies replicate, and the topology user can manage them."""
import uuid

import pytest

from orctest import wait_until


def _write_marker(sandbox):
    """Creates test.marker on the layout's master and inserts a unique row; returns it."""
    master = sandbox.master
    marker = uuid.uuid4().hex
    sandbox.sql(master, "CREATE TABLE IF NOT EXISTS test.marker "
                        "(id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB")
    sandbox.sql(master, "INSERT INTO test.marker (v) VALUES (%s)", (marker,))
    return marker


def _row_arrives(sandbox, name, marker):
    return wait_until(
        lambda: sandbox.sql_value(name, "SELECT COUNT(*) FROM test.marker WHERE v = %s",
                                  (marker,)) == 1,
        timeout=10, what=f"row {marker} on {name}")


def _master_port_of(sandbox, name):
    status = sandbox.slave_status(name)
    assert status is not None, f"{name} is not a replica"
    assert status["Slave_IO_Running"] == "Yes" and status["Slave_SQL_Running"] == "Yes"
    assert status["Using_Gtid"] == "Slave_Pos"
    return status["Master_Port"]


def test_star_topology_replicates_a_row_to_every_replica(star4):
    assert star4.names == ["i1", "i2", "i3", "i4"]
    assert star4.sql_value("i1", "SHOW SLAVE STATUS") is None
    for name in ("i2", "i3", "i4"):
        assert _master_port_of(star4, name) == star4.port("i1")
        assert star4.sql_value(name, "SELECT @@read_only") == 1
    marker = _write_marker(star4)
    for name in ("i2", "i3", "i4"):
        _row_arrives(star4, name, marker)
    gtid = star4.sql_value("i1", "SELECT @@gtid_binlog_pos")
    assert gtid.startswith("0-1-")
    for name in ("i2", "i3", "i4"):
        assert star4.sql_value(name, "SELECT @@gtid_slave_pos") == gtid


def test_chain_topology_replicates_a_row_through_the_intermediate_master(chain4):
    assert _master_port_of(chain4, "i2") == chain4.port("i1")
    assert _master_port_of(chain4, "i3") == chain4.port("i2")
    assert _master_port_of(chain4, "i4") == chain4.port("i2")
    marker = _write_marker(chain4)
    for name in ("i2", "i3", "i4"):
        _row_arrives(chain4, name, marker)
    # log_slave_updates: the intermediate master binlogs what it applies, GTID unchanged.
    assert chain4.sql_value("i2", "SELECT @@gtid_binlog_pos") == \
        chain4.sql_value("i1", "SELECT @@gtid_binlog_pos")


def test_every_instance_reports_its_loopback_address_and_unique_server_id(star4):
    ids = set()
    for name in star4.names:
        row = star4.sql(name, "SELECT @@report_host, @@report_port, @@server_id, @@bind_address,"
                              " @@log_bin, @@log_slave_updates, @@binlog_format")[0]
        assert row[:2] == ("127.0.0.1", star4.port(name))
        assert row[3] == "127.0.0.1"
        assert row[4:] == (1, 1, "ROW")
        ids.add(row[2])
    assert len(ids) == 4


def test_topology_user_can_set_read_only_and_list_replicas(star4):
    conn = star4.connect("i1", user="topology")
    try:
        with conn.cursor() as cur:
            cur.execute("SET GLOBAL read_only = 1")
            cur.execute("SELECT @@global.read_only")
            assert cur.fetchone()[0] == 1
            cur.execute("SET GLOBAL read_only = 0")
            cur.execute("SELECT @@global.read_only")
            assert cur.fetchone()[0] == 0
            cur.execute("SHOW SLAVE HOSTS")
            hosts = {(row[1], row[2]) for row in cur.fetchall()}
            assert hosts == {("127.0.0.1", star4.port(n)) for n in ("i2", "i3", "i4")}
            cur.execute("SHOW MASTER STATUS")
            assert cur.fetchone()[0].startswith("mysql-bin.")
            cur.execute("SELECT COUNT(*) FROM mysql.user")
            assert cur.fetchone()[0] > 0
    finally:
        conn.close()
    # On a replica: read its replication state and restart replication, as a manager does.
    conn = star4.connect("i2", user="topology")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW SLAVE STATUS")
            assert cur.fetchone() is not None
            cur.execute("STOP SLAVE")
            cur.execute("START SLAVE")
    finally:
        conn.close()
    star4.wait_replicating(timeout=10, names=["i2"])


def test_topology_user_cannot_write_data(star4):
    conn = star4.connect("i1", user="topology")
    try:
        with conn.cursor() as cur, pytest.raises(Exception) as err:
            cur.execute("CREATE TABLE test.nope (id INT)")
        assert "denied" in str(err.value).lower()
    finally:
        conn.close()


def test_killed_replica_restarts_and_catches_up(star4):
    star4.kill("i3")
    assert not star4.is_running("i3")
    marker = _write_marker(star4)
    star4.start("i3")
    assert star4.is_running("i3")
    star4.wait_replicating(timeout=15, names=["i3"])
    _row_arrives(star4, "i3", marker)


def test_stopped_master_comes_back_on_the_same_port(star4):
    port = star4.port("i1")
    star4.stop("i1")
    assert not star4.is_running("i1")
    star4.start("i1")
    assert star4.port("i1") == port
    marker = _write_marker(star4)
    for name in ("i2", "i3", "i4"):
        _row_arrives(star4, name, marker)


def test_down_stops_every_instance(sandbox_factory):
    sandbox = sandbox_factory("single", 1)
    assert sandbox.replicas == []
    pid = sandbox.instance("i1")["pid"]
    assert sandbox.is_running("i1")
    sandbox.down()
    assert not _process_alive(pid)
    sandbox.reload()
    assert sandbox.instance("i1")["pid"] is None
    assert not sandbox.is_running("i1")


def _process_alive(pid):
    """True unless the process is gone or a zombie (its parent may not have reaped it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False
