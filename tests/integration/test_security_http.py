"""The HTTP side under hostile input: bad paths and headers, oversized requests, bodies sent
before credentials, cross-site requests, slow clients, label injection into /metrics; the auth
methods (proxy with power users and groups, refused methods) and the defaults that keep the
doors closed (loopback, refusal to serve unauthenticated writes elsewhere, file modes).

Requests that `requests` would refuse to send are written on raw sockets.
"""
import os
import re
import socket
import stat
import time

import pytest
import requests

from orctest import wait_until

ADMIN = ("admin", "s3cret")
BASIC = "Basic YWRtaW46czNjcmV0"  # admin:s3cret


def raw(port, data, timeout=5.0, source=None, read=True):
    """Sends bytes, returns (status or None, head and body as text)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        s.sendall(data)
        if not read:
            return None, ""
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
    text = b"".join(chunks).decode("utf-8", "replace")
    m = re.match(r"HTTP/1\.[01] (\d{3})", text)
    return (int(m.group(1)) if m else None), text


def _complete(buf):
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    return m is not None and len(body) >= int(m.group(1))


def req(method, path, headers=(), body=b""):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += list(headers)
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def healthy(orc):
    """The service answers lb-check. Connections an abuse test just closed may still count
    against the per-client limit for a moment (the server notices closes asynchronously), so
    a refused connection is retried for a few seconds; a wrong answer is not."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return orc.running and orc.get("/api/lb-check", timeout=3).status_code == 200
        except requests.exceptions.ConnectionError:
            if time.monotonic() >= deadline or not orc.running:
                raise
            time.sleep(0.1)


AUTH = f"Authorization: {BASIC}"
BAD_INPUTS = [
    # (name, raw request, acceptable statuses, JSON body expected)
    ("invalid utf-8 %ff", req("GET", "/api/%ff", [AUTH]), {400}, True),
    ("invalid utf-8 in a param", req("GET", "/api/instance/%ff%fe/3306", [AUTH]), {400}, True),
    ("overlong utf-8", req("GET", "/api/%c0%af", [AUTH]), {400}, True),
    ("invalid utf-8 in a query argument",
     req("GET", "/api/set-cluster-alias/x?alias=%ff", [AUTH]), {400}, True),
    ("invalid utf-8 in a query key", req("GET", "/api/clusters?%fe=1", [AUTH]), {400}, True),
    ("surrogate utf-8", req("GET", "/web/%ed%a0%80", [AUTH]), {400}, True),
    ("raw 0xff byte", b"GET /api/\xff HTTP/1.1\r\nHost: x\r\n" + AUTH.encode() +
     b"\r\nConnection: close\r\n\r\n", {400}, True),
    ("url of 2 KiB", req("GET", "/api/" + "a" * 2048, [AUTH]), {414}, True),
    ("url of 40 KiB", req("GET", "/api/" + "a" * 40960, [AUTH]), range(400, 500), False),
    ("header of 64 KiB", req("GET", "/api/clusters", [AUTH, "X-Big: " + "b" * 65536]),
     range(400, 500), False),
    ("2000 headers", req("GET", "/api/clusters", [AUTH] + [f"X-H{i}: v" for i in range(2000)]),
     range(400, 500), False),
    ("empty basic credentials Og==", req("GET", "/api/clusters", ["Authorization: Basic Og=="]),
     {401}, True),
    ("garbage basic credentials", req("GET", "/api/clusters", ["Authorization: Basic !!!"]),
     {401}, True),
    ("readonly is not a basic user", req("GET", "/api/clusters",
                                         ["Authorization: Basic cmVhZG9ubHk6eA=="]), {401}, True),
    ("body announced before credentials",
     req("POST", "/api/discover/127.0.0.1/3306", ["Content-Length: 100000000"]), {401}, True),
    ("body larger than 1 MiB", req("POST", "/api/clusters", [AUTH, "Content-Length: 2000000"]),
     {413}, True),
    ("cross-site POST (Origin)", req("POST", "/api/disable-global-recoveries",
                                     [AUTH, "Origin: http://evil.example"], b"x=1"), {403}, True),
    ("cross-site GET (Sec-Fetch-Site)", req("GET", "/api/disable-global-recoveries",
                                            [AUTH, "Sec-Fetch-Site: cross-site"]), {403}, True),
    ("opaque origin", req("POST", "/api/enable-global-recoveries", [AUTH, "Origin: null"]),
     {403}, True),
    # forged quorum reports: refused before anything is counted (the member and source-address
    # checks of a raft leader are in test_raft_state.py::test_forged_analysis_report_is_rejected)
    ("forged quorum report without credentials",
     req("GET", "/api/raft-analysis-report/127.0.0.1:10008?failed=127.0.0.1:3306"), {401}, True),
    ("forged quorum report to a node outside raft",
     req("GET", "/api/raft-analysis-report/127.0.0.1:10008?failed=127.0.0.1:3306", [AUTH]),
     {404}, True),
    ("method DELETE", req("DELETE", "/api/clusters", [AUTH]), {405}, True),
    ("unknown route", req("GET", "/api/no-such-route", [AUTH]), {404}, True),
]


@pytest.fixture(scope="module")
def basic_orc(orc_bin, tmp_path_factory):
    """One service with basic auth for the whole table (started once, stopped at the end)."""
    from orctest import Orchestrator, default_config, free_port
    workdir = tmp_path_factory.mktemp("orc-basic")
    cfg = default_config(workdir, free_port())
    cfg.update(AuthenticationMethod="basic", HTTPAuthUser=ADMIN[0], HTTPAuthPassword=ADMIN[1])
    orc = Orchestrator(orc_bin, workdir, cfg, name="orc-basic")
    orc.start()
    yield orc
    orc.stop()


@pytest.mark.parametrize("name,data,statuses,json_body", BAD_INPUTS,
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_http_input_gets_4xx_and_service_stays_healthy(basic_orc, name, data, statuses,
                                                           json_body):
    status, text = raw(basic_orc.port, data)
    assert status in statuses, f"{name}: {text[:300]}"
    if json_body:
        body = text.partition("\r\n\r\n")[2]
        assert '"Code":"ERROR"' in body, body
    assert healthy(basic_orc)


def test_cross_site_requests_change_nothing_but_curl_and_same_origin_do(basic_orc):
    raw(basic_orc.port, req("GET", "/api/disable-global-recoveries",
                            [AUTH, "Sec-Fetch-Site: cross-site"]))
    assert "enabled" in basic_orc.get("/api/check-global-recoveries", auth=ADMIN).json()["Message"]
    # orchestrator-client's way: curl GET, no Origin
    assert basic_orc.get("/api/disable-global-recoveries", auth=ADMIN).status_code == 200
    # the web UI's way: same origin
    host = f"127.0.0.1:{basic_orc.port}"
    resp = basic_orc.post("/api/enable-global-recoveries", auth=ADMIN,
                          headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"})
    assert resp.status_code == 200, resp.text
    assert "enabled" in basic_orc.get("/api/check-global-recoveries", auth=ADMIN).json()["Message"]


def test_health_reveals_nothing_and_metrics_need_credentials(basic_orc):
    body = basic_orc.get("/api/health").json()
    assert body["Code"] == "OK"
    assert set(body["Details"]) == {"Healthy", "IsActiveNode", "IsRaftLeader"}
    full = basic_orc.get("/api/health", auth=ADMIN).json()["Details"]
    assert "Hostname" in full
    assert basic_orc.get("/metrics").status_code == 401
    assert basic_orc.get("/metrics", auth=ADMIN).status_code == 200
    assert basic_orc.get("/api/lb-check").status_code == 200


def test_half_sent_requests_from_one_address_do_not_starve_another(orc_factory):
    orc = orc_factory(HTTPMaxConnectionsPerClient=32, HTTPConnectionTimeoutSeconds=10)
    attackers = []
    t0 = time.monotonic()
    try:
        for _ in range(600):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", orc.port))
                s.sendall(b"GET /api/lb-ch")  # half a request line, never finished
            except OSError:
                pass  # refused or reset beyond the per-client limit: fine
            attackers.append(s)
        opened = time.monotonic() - t0
        worst = 0.0
        for _ in range(10):
            t = time.monotonic()
            status, _ = raw(orc.port, req("GET", "/api/lb-check"), timeout=2, source="127.0.0.2")
            worst = max(worst, time.monotonic() - t)
            assert status == 200
        print(f"\n600 half-open connections in {opened:.2f} s; lb-check from 127.0.0.2: "
              f"worst {worst * 1000:.1f} ms over 10 calls")
        assert worst < 1.0
    finally:
        for s in attackers:
            s.close()
    assert healthy(orc)


def test_slow_client_is_dropped_after_the_connection_timeout(orc_factory):
    orc = orc_factory(HTTPConnectionTimeoutSeconds=1)
    with socket.create_connection(("127.0.0.1", orc.port), timeout=5) as s:
        s.sendall(b"GET /api/lb-check HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        assert data == b"" and time.monotonic() - t0 < 4
    assert healthy(orc)


def test_cluster_alias_cannot_inject_metric_series(star4, orc_factory):
    orc = orc_factory(star4)
    master = star4.key("i1")
    assert orc.api(f"discover/127.0.0.1/{star4.port('i1')}")["Code"] == "OK"
    evil = '"} 1\nfake_metric 1\n#'
    resp = orc.get(f"/api/set-cluster-alias/{master}", params={"alias": evil})
    assert resp.status_code == 200, resp.text
    wait_until(lambda: "alias=" in orc.get("/metrics").text and
               "fake" in orc.get("/metrics").text, 10, what="the alias in /metrics")
    text = orc.get("/metrics").text
    series = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*"'
                        r',?)*\})? [-+0-9.eEInfa]+$')
    for line in text.splitlines():
        assert not line.startswith("fake_metric"), line
        if line and not line.startswith("#"):
            assert series.match(line), line
    assert 'alias="\\"} 1\\nfake_metric 1\\n#"' in text


def test_proxy_auth_power_users_and_groups(orc_factory):
    orc = orc_factory(AuthenticationMethod="proxy", AuthUserHeader="X-Forwarded-User",
                      PowerAuthUsers=["alice"], PowerAuthGroups=["root"])

    def as_user(path, user):
        headers = {"X-Forwarded-User": user} if user is not None else {}
        return orc.get(path, headers=headers).status_code

    assert as_user("/api/clusters", None) == 401  # did not come through the proxy
    assert as_user("/api/lb-check", None) == 200  # health needs no user
    assert as_user("/api/clusters", "bob") == 200
    assert as_user("/api/disable-global-recoveries", "bob") == 403  # read only
    assert as_user("/api/disable-global-recoveries", "daemon") == 403  # not in group root
    assert as_user("/api/disable-global-recoveries", "alice") == 200  # PowerAuthUsers
    assert as_user("/api/enable-global-recoveries", "root") == 200  # PowerAuthGroups: root
    assert as_user("/api/clusters", "a b") == 401


def test_proxy_auth_default_power_users_let_every_named_user_write(orc_factory):
    orc = orc_factory(AuthenticationMethod="proxy")
    assert orc.get("/api/disable-global-recoveries").status_code == 401
    resp = orc.get("/api/disable-global-recoveries", headers={"X-Forwarded-User": "carol"})
    assert resp.status_code == 200


@pytest.mark.parametrize("config,message", [
    ({"AuthenticationMethod": "token"}, "key 'AuthenticationMethod': 'token' is not supported"),
    ({"AuthenticationMethod": "oauth"}, "key 'AuthenticationMethod': 'oauth' is not supported"),
    ({"AuthenticationMethod": "basic", "HTTPAuthUser": "a"},
     "key 'HTTPAuthPassword': required (not empty)"),
    ({"AuthenticationMethod": "multi", "HTTPAuthPassword": "p"},
     "key 'HTTPAuthUser': required (not empty)"),
    ({"SSLValidOUs": ["dba"]}, "key 'SSLValidOUs': needs UseMutualTLS"),
    ({"ListenAddress": "0.0.0.0:{port}"}, "set HTTPAllowUnauthenticatedRemoteWrites"),
])
def test_unsafe_or_unsupported_settings_refuse_to_start(orc_factory, config, message):
    from orctest import free_port
    config = {k: (v.format(port=free_port()) if isinstance(v, str) else v)
              for k, v in config.items()}
    orc = orc_factory(start=False, **config)
    orc.start(wait=False)
    wait_until(lambda: not orc.running, 10, what="the service refusing to start")
    assert orc.returncode != 0
    assert message in orc.current_log, orc.current_log
    if "not supported" in message:  # with the file's line and column
        assert re.search(r"\.conf\.json:\d+:\d+: key 'AuthenticationMethod'", orc.current_log)


def test_opt_in_for_unauthenticated_remote_writes_is_logged(orc_factory):
    # 192.0.2.1 (TEST-NET-1) is not on this machine: the check and the warning happen, then the
    # bind fails, so nothing listens beyond loopback during the test.
    orc = orc_factory(start=False, ListenAddress="192.0.2.1:3000",
                      HTTPAllowUnauthenticatedRemoteWrites=True)
    orc.start(wait=False)
    wait_until(lambda: not orc.running, 10, what="the bind failing")
    assert orc.has_event("+http-unauthenticated-writes", "WARNING"), orc.current_log
    assert "cannot start the HTTP server" in orc.current_log


def test_defaults_listen_on_loopback_and_files_are_private(orc_factory, orc_bin, tmp_path):
    import subprocess
    empty = tmp_path / "empty.conf.json"
    empty.write_text("{}")
    dump = subprocess.run([orc_bin, "--config", str(empty), "--dump-config"],
                          capture_output=True, text=True, timeout=10, check=False)
    assert '"ListenAddress": "127.0.0.1:3000"' in dump.stdout, dump.stdout[:500]
    orc = orc_factory()
    db = orc.config["SQLite3DataFile"]
    for path in (db, db + "-wal", db + "-shm"):
        if os.path.exists(path):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600


def test_proxy_auth_user_reaches_the_leader_through_a_follower(raft_factory):
    cluster = raft_factory(3, AuthenticationMethod="proxy", PowerAuthUsers=["alice"])
    leader = cluster.wait_leader(timeout=20)
    follower = next(n for n in cluster.nodes if n is not leader)
    alice, bob = {"X-Forwarded-User": "alice"}, {"X-Forwarded-User": "bob"}
    assert follower.get("/api/disable-global-recoveries", headers=bob).status_code == 403
    resp = follower.get("/api/disable-global-recoveries", headers=alice)
    assert resp.status_code == 200, resp.text
    assert "disabled" in leader.get("/api/check-global-recoveries",
                                    headers=bob).json()["Message"]
    assert follower.get("/api/disable-global-recoveries").status_code == 401


def test_metrics_without_auth_when_asked(orc_factory):
    orc = orc_factory(AuthenticationMethod="multi", HTTPAuthUser="admin", HTTPAuthPassword="pw",
                      HTTPMetricsWithoutAuth=True)
    assert orc.get("/metrics").status_code == 200
    assert orc.get("/api/clusters").status_code == 401
    assert orc.get("/metrics", auth=("readonly", "x")).status_code == 200
