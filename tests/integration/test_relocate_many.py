"""Operations on many replicas on real MariaDB topologies: relocate-replicas (with and without a
pattern), move-up-replicas, take-siblings, regroup-replicas(-gtid), make-co-master,
make-local-master and make-master, some through the CLI, and the refusal of a read-only user.

Every outcome is read from the servers themselves (SHOW SLAVE STATUS, @@read_only, a row written
on a master) as well as from the API's answer. One sandbox per test, reused for several
operations, to keep the run short.
"""
from orctest import wait_until

MARK = "many_test"


def hp(sb, name):
    return f"127.0.0.1/{sb.port(name)}"


def call(orc, path):
    resp = orc.get("/api/" + path, timeout=60)
    return resp.status_code, resp.json()


def ok(orc, path):
    status, body = call(orc, path)
    assert status == 200 and body.get("Code") == "OK", f"{path}: {status} {body}"
    return body


def master_port(sb, name):
    st = sb.slave_status(name)
    return int(st["Master_Port"]) if st and st["Master_Host"] else None


def running(sb, name):
    st = sb.slave_status(name)
    return bool(st) and st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes"


def below(sb, names, master, timeout=10):
    """Every replica of names replicates from master, both threads running (read on each)."""
    for n in names:
        assert master_port(sb, n) == sb.port(master), f"{n} does not replicate from {master}"
        wait_until(lambda n=n: running(sb, n), timeout, what=f"{n} replicating from {master}")


def key_of(sb, name):
    return {"Hostname": "127.0.0.1", "Port": sb.port(name)}


def ports(keys):
    return sorted(k["Port"] for k in keys)


def start(orc_factory, sb, **config):
    user, password = sb.credentials("repl")
    cfg = {"ReplicationCredentialsQuery": f"SELECT '{user}', '{password}', '', '', ''"}
    cfg.update(config)
    orc = orc_factory(sb, **cfg)
    ok(orc, f"discover/{hp(sb, sb.master)}")
    want = {sb.port(n) for n in sb.names}

    def all_known():
        status, body = call(orc, f"cluster/{sb.key(sb.master)}")
        return status == 200 and {i["Key"]["Port"] for i in body if i["IsLastCheckValid"]} == want
    wait_until(all_known, 15, what="every sandbox instance discovered")
    return orc


def row_reaches(sb, source, names, value, timeout=10):
    sb.sql(source, f"CREATE TABLE IF NOT EXISTS test.{MARK} (v VARCHAR(64) PRIMARY KEY)")
    sb.sql(source, f"INSERT INTO test.{MARK} VALUES (%s)", (value,))
    for n in names:
        wait_until(lambda n=n: sb.sql_value(
            n, f"SELECT COUNT(*) FROM test.{MARK} WHERE v = %s", (value,)) == 1,
            timeout, what=f"row {value!r} on {n}")


def test_relocate_replicas_with_a_pattern_then_all_then_move_up_and_cli(orc_factory, star4):
    sb = star4
    orc = start(orc_factory, sb, MaxConcurrentReplicaOperations=2)

    # only the replica the pattern matches moves
    body = ok(orc, f"relocate-replicas/{hp(sb, 'i1')}/{hp(sb, 'i2')}?pattern=:{sb.port('i3')}$")
    assert body["Message"].startswith(
        f"Relocated 1 replicas of {sb.key('i1')} below {sb.key('i2')}; 0 errors"), body
    assert [d["Key"] for d in body["Details"]] == [key_of(sb, "i3")]
    assert body["Details"][0]["MasterKey"] == key_of(sb, "i2")  # the answer is fresh
    below(sb, ["i3"], "i2")
    below(sb, ["i4"], "i1")

    # the legacy name, no pattern: the rest (i2 itself is the destination, it stays)
    body = ok(orc, f"relocate-slaves/{hp(sb, 'i1')}/{hp(sb, 'i2')}")
    assert [d["Key"] for d in body["Details"]] == [key_of(sb, "i4")]
    below(sb, ["i3", "i4"], "i2")
    row_reaches(sb, "i1", ["i2", "i3", "i4"], "relocated")

    body = ok(orc, f"move-up-replicas/{hp(sb, 'i2')}")
    assert body["Message"].startswith(
        f"Moved up 2 replicas of {sb.key('i2')} below {sb.key('i1')}; 0 errors"), body
    assert ports(d["Key"] for d in body["Details"]) == sorted([sb.port("i3"), sb.port("i4")])
    below(sb, ["i2", "i3", "i4"], "i1")
    row_reaches(sb, "i1", ["i3", "i4"], "moved-up")

    # CLI: take-siblings prints "instance<master", as orchestrator-client does
    p = orc.cli("take-siblings", "-i", sb.key("i2"), timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"{sb.key('i2')}<{sb.key('i1')}"
    below(sb, ["i3", "i4"], "i2")
    # CLI: relocate-replicas prints the relocated replicas' keys, one a line
    p = orc.cli("relocate-replicas", "-i", sb.key("i2"), "-d", sb.key("i1"), timeout=60)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.split()) == sorted([sb.key("i3"), sb.key("i4")])
    below(sb, ["i3", "i4"], "i1")
    # onto their own master: each is only repointed there
    p = orc.cli("relocate-replicas", "-i", sb.key("i1"), "-d", sb.key("i1"), timeout=60)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.split()) == sorted(sb.key(n) for n in ("i2", "i3", "i4"))
    # three replicas, MaxConcurrentReplicaOperations=2: two workers
    log = orc.log_path.read_text(encoding="utf-8", errors="replace")
    assert "op=relocate-replicas replicas=3 workers=2" in log
    assert "op=relocate-replicas replicas=1 workers=1" in log
    below(sb, ["i2", "i3", "i4"], "i1")

    # one replica that cannot move does not stop the others; its error is in the answer
    sb.sql("i4", "STOP SLAVE")
    wait_until(lambda: call(orc, f"instance/{hp(sb, 'i4')}")[1]["ReplicationSQLThreadState"] != 1,
               10, what="i4 seen stopped")
    body = ok(orc, f"relocate-replicas/{hp(sb, 'i1')}/{hp(sb, 'i2')}")
    assert body["Message"].startswith(
        f"Relocated 1 replicas of {sb.key('i1')} below {sb.key('i2')}; 1 errors: ["), body
    assert "not replicating" in body["Message"], body
    assert [d["Key"] for d in body["Details"]] == [key_of(sb, "i3")]
    below(sb, ["i3"], "i2")
    assert master_port(sb, "i4") == sb.port("i1")
    sb.sql("i4", "START SLAVE")
    wait_until(lambda: running(sb, "i4"), 10, what="i4 replicating again")

    # repoint-replicas onto another instance (our -d form), then back onto the instance itself
    body = ok(orc, f"repoint-replicas/{hp(sb, 'i2')}/{hp(sb, 'i1')}")
    assert body["Message"] == f"Repointed 1 replicas of {sb.key('i2')}", body
    below(sb, ["i2", "i3", "i4"], "i1")
    body = ok(orc, f"repoint-slaves/{hp(sb, 'i1')}")
    assert ports(d["Key"] for d in body["Details"]) == sorted(sb.port(n) for n in ("i2", "i3", "i4"))
    below(sb, ["i2", "i3", "i4"], "i1")

    status, audit = call(orc, "audit")
    types = {a["AuditType"] for a in audit}
    assert status == 200 and {"relocate-replicas", "move-up-replicas", "take-siblings"} <= types


def test_regroup_then_make_co_master(orc_factory, star4):
    sb = star4
    orc = start(orc_factory, sb)

    body = ok(orc, f"regroup-slaves-gtid/{hp(sb, 'i1')}")
    promoted = sb.name_of_port(body["Details"]["Port"])
    others = [n for n in ("i2", "i3", "i4") if n != promoted]
    assert body["Message"] == f"promoted replica: {sb.key(promoted)}, lost: 0, moved: 2", body
    below(sb, [promoted], "i1")
    below(sb, others, promoted)
    row_reaches(sb, "i1", others, "regrouped")

    # the regroup of the promoted replica's two replicas: one takes the other
    # (through the CLI, which prints the promoted replica as orchestrator's CLI does)
    p = orc.cli("regroup-replicas", "-i", sb.key(promoted), timeout=60)
    assert p.returncode == 0, p.stderr
    second = sb.name_of_port(int(p.stdout.strip().rsplit(":", 1)[1]))
    assert second in others, p.stdout
    third = [n for n in others if n != second][0]
    below(sb, [second], promoted)
    below(sb, [third], second)

    # make-co-master: i1 replicates from the promoted replica, which replicates from i1
    assert sb.sql_value(promoted, "SELECT @@read_only") == 1
    body = ok(orc, f"make-co-master/{hp(sb, promoted)}")
    assert body["Message"] == f"Instance made co-master: {sb.key(promoted)}"
    assert body["Details"]["Key"] == key_of(sb, promoted)
    below(sb, ["i1"], promoted)
    below(sb, [promoted], "i1")
    row_reaches(sb, "i1", [promoted, second, third], "from-i1")
    row_reaches(sb, promoted, ["i1"], "from-co-master")
    assert running(sb, "i1") and running(sb, promoted)
    status, audit = call(orc, "audit")
    assert status == 200 and any(a["AuditType"] == "make-co-master" for a in audit)


def test_make_local_master_then_make_master(orc_factory, chain4):
    sb = chain4  # i1 <- i2 <- (i3, i4)
    orc = start(orc_factory, sb)

    body = ok(orc, f"make-local-master/{hp(sb, 'i3')}")
    assert body["Message"] == f"Instance {sb.key('i3')} now made local master"
    assert body["Details"]["MasterKey"] == key_of(sb, "i1")
    below(sb, ["i3"], "i1")
    below(sb, ["i4"], "i3")
    row_reaches(sb, "i1", ["i2", "i3", "i4"], "local-master")

    # now i1 <- (i2, i3 <- i4). make-master refuses while the master answers
    status, body = call(orc, f"make-master/{hp(sb, 'i3')}")
    assert status == 409 and "seems to be accessible" in body["Message"], body
    assert master_port(sb, "i2") == sb.port("i1")

    sb.stop("i1")
    body = ok(orc, f"make-master/{hp(sb, 'i3')}")
    assert body["Message"] == f"Instance {sb.key('i3')} now made master"
    assert sb.sql_value("i3", "SELECT @@read_only") == 0
    below(sb, ["i2", "i4"], "i3")
    row_reaches(sb, "i3", ["i2", "i4"], "new-master")


def test_relocate_many_routes_refuse_read_only_users(orc_factory):
    orc = orc_factory(AuthenticationMethod="proxy", AuthUserHeader="X-Forwarded-User",
                      PowerAuthUsers=["alice"])
    paths = ["relocate-replicas/127.0.0.1/1/127.0.0.1/2", "move-up-slaves/127.0.0.1/1",
             "take-siblings/127.0.0.1/1", "make-co-master/127.0.0.1/1",
             "regroup-replicas/127.0.0.1/1", "make-master/127.0.0.1/1"]
    for path in paths:
        resp = orc.get("/api/" + path, headers={"X-Forwarded-User": "bob"})
        assert resp.status_code == 403, (path, resp.status_code, resp.text)
        # a power user gets through to the operation: the instance is unknown
        resp = orc.get("/api/" + path, headers={"X-Forwarded-User": "alice"})
        assert resp.status_code != 403 and resp.json()["Code"] == "ERROR", (path, resp.text)
