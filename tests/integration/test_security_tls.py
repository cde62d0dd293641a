"""TLS, with real certificates made by openssl for each test module (orctest/certs.py):
HTTPS for the API and UI, mutual TLS (a client certificate signed by SSLCAFile whose OU is in
SSLValidOUs), a raft follower forwarding to an https:// leader and verifying it (and refusing a
leader whose certificate does not verify), the CLI over HTTPS, and TLS to MySQL (topology
servers and the backend) against sandboxed mariadbd servers that require it, with a refusal when
the CA is wrong.
"""
import os
import stat
import warnings

import pytest
import requests
import urllib3

from orctest import wait_until
from orctest.certs import make_pki

VALID_OUS = ["dba", "orchestrator"]  # orchestrator: the nodes' own certificate


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def https_config(pki, mutual=False, ous=None):
    cfg = {"UseSSL": True, "SSLCertFile": pki["server-cert"],
           "SSLPrivateKeyFile": pki["server-key"], "SSLCAFile": pki["ca"]}
    if mutual:
        cfg.update(UseMutualTLS=True, SSLValidOUs=VALID_OUS if ous is None else ous)
    return cfg


def client(pki, name):
    return (pki[f"{name}-cert"], pki[f"{name}-key"]) if name else None


def start_https(orc_factory, pki, sandbox=None, mutual=False, ous=None, **config):
    orc = orc_factory(sandbox, start=False, **https_config(pki, mutual, ous), **config)
    orc.http_kw = {"verify": pki["ca"]}
    if mutual:
        orc.http_kw["cert"] = client(pki, "alice")
    orc.start()
    return orc


def test_https_serves_api_and_ui_and_refuses_plain_http(orc_factory, pki):
    orc = start_https(orc_factory, pki)
    assert orc.get("/api/clusters").json() == []
    ui = orc.get("/")
    assert ui.status_code == 200 and ui.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(orc.url("/api/clusters"), verify=pki["other-ca"], timeout=5)
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{orc.port}/api/clusters", timeout=5)
    assert orc.get("/api/lb-check").status_code == 200  # still serving after the plain request


@pytest.mark.parametrize("who,status,reason", [
    ("alice", 200, None),                    # signed by the CA, OU dba
    ("server", 200, None),                   # OU orchestrator (the nodes' certificate)
    ("bob", 403, "OU not in SSLValidOUs"),   # OU marketing
    ("carol", 403, "OU not in SSLValidOUs"), # no OU
    ("mallory", 403, "not trusted"),         # OU dba, but signed by another CA
    (None, 403, "certificate is required"),  # no certificate at all
])
def test_mutual_tls_refuses_clients_without_a_valid_certificate_or_ou(orc_factory, pki, who,
                                                                      status, reason):
    orc = start_https(orc_factory, pki, mutual=True)
    for path in ("/api/clusters", "/api/lb-check", "/"):
        resp = orc.get(path, cert=client(pki, who))
        assert resp.status_code == status, (path, resp.text)
        if reason:
            assert reason in resp.json()["Message"]


def test_mutual_tls_without_ou_list_accepts_any_certificate_of_the_ca(orc_factory, pki):
    orc = start_https(orc_factory, pki, mutual=True, ous=[])
    assert orc.get("/api/clusters", cert=client(pki, "carol")).status_code == 200
    assert orc.get("/api/clusters", cert=client(pki, "mallory")).status_code == 403
    assert orc.get("/api/clusters", cert=None).status_code == 403


def test_follower_proxies_to_https_leader_and_verifies_it(raft_factory, pki):
    cluster = raft_factory(3, start=False, **https_config(pki, mutual=True))
    for node in cluster.nodes:
        node.http_kw = {"verify": pki["ca"], "cert": client(pki, "alice")}
    cluster.start()
    leader = cluster.wait_leader(timeout=20)
    follower = next(n for n in cluster.nodes if n is not leader)
    assert follower.get("/api/leader-check").status_code == 404
    # proxied to the leader over mutual TLS, presenting the node's own certificate
    wait_until(lambda: follower.get("/api/routed-leader-check").status_code == 200, 10,
               what="routed-leader-check through the follower")
    resp = follower.get("/api/disable-global-recoveries")
    assert resp.status_code == 200, resp.text
    wait_until(lambda: "disabled" in leader.get("/api/check-global-recoveries").json()["Message"],
               10, what="the write forwarded to the leader")
    status = leader.raft_status()
    assert status["LeaderURI"].startswith("https://")
    for node in cluster.nodes:  # the raft log is private
        assert stat.S_IMODE(os.stat(node.config["RaftDataDir"]).st_mode) == 0o700


@pytest.mark.parametrize("cert,ca,cause", [
    # the leader's certificate is signed by a CA the follower does not trust
    ("server", "other-ca", "certificate"),
    # signed by the trusted CA, but for wrong.example, not the leader's 127.0.0.1
    ("wrongname", "ca", "subject name"),
], ids=["wrong-ca", "wrong-name"])
def test_follower_refuses_to_proxy_to_a_leader_whose_certificate_does_not_verify(
        raft_factory, pki, cert, ca, cause):
    cluster = raft_factory(3, start=False, UseSSL=True, SSLCertFile=pki[f"{cert}-cert"],
                           SSLPrivateKeyFile=pki[f"{cert}-key"], SSLCAFile=pki[ca])
    for node in cluster.nodes:  # the test itself trusts whatever the nodes present
        node.http_kw = {"verify": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        cluster.start()
        leader = cluster.wait_leader(timeout=20)
        follower = next(n for n in cluster.nodes if n is not leader)
        assert leader.raft_status()["LeaderURI"].startswith("https://")
        resp = follower.get("/api/disable-global-recoveries")
        assert resp.status_code == 502, resp.text
        message = resp.json()["Message"]
        assert message.startswith("cannot reach the raft leader at https://"), message
        assert cause in message.lower(), message
        follower.wait_log(r"\+proxy-failed .*certificate", timeout=5)
        # the write never reached the leader; the leader itself still takes it
        assert "enabled" in leader.get("/api/check-global-recoveries").json()["Message"]
        assert follower.get("/api/routed-leader-check").status_code == 502
        assert leader.get("/api/disable-global-recoveries").status_code == 200
        assert follower.running and leader.running


def test_cli_speaks_https_with_ca_and_client_certificate(orc_factory, pki):
    orc = start_https(orc_factory, pki, mutual=True)
    api = f"https://127.0.0.1:{orc.port}/api"
    # from the config alone: https (UseSSL), SSLCAFile, the node's certificate (UseMutualTLS)
    res = orc.cli("clusters")
    assert res.returncode == 0, res.stderr
    env = {"ORCHESTRATOR_API": api, "ORCHESTRATOR_CA_FILE": pki["ca"],
           "ORCHESTRATOR_CERT_FILE": pki["alice-cert"], "ORCHESTRATOR_KEY_FILE": pki["alice-key"]}
    res = orc.cli("clusters", env=env)
    assert res.returncode == 0, res.stderr
    res = orc.cli("which-api", env=env)
    assert res.returncode == 0 and res.stdout.strip() == api
    bad_ou = dict(env, ORCHESTRATOR_CERT_FILE=pki["bob-cert"], ORCHESTRATOR_KEY_FILE=pki["bob-key"])
    res = orc.cli("clusters", env=bad_ou)
    assert res.returncode != 0
    res = orc.cli("clusters", env=dict(env, ORCHESTRATOR_CA_FILE=pki["other-ca"]))
    assert res.returncode != 0


@pytest.fixture
def tls_mariadb(sandbox_factory, pki):
    """One mariadbd serving TLS with the test CA's certificate and refusing plain text."""
    return sandbox_factory("single", 1, ssl_dir=pki["dir"], require_secure_transport=True)


def discover(orc, sb):
    return orc.get(f"/api/discover/127.0.0.1/{sb.port('i1')}", timeout=15).json()


@pytest.mark.parametrize("config,event", [
    ({"MySQLTopologyUseMutualTLS": True}, None),  # TLS on every connection
    ({}, "+mysql-tls-fallback"),  # mixed (default): plain text refused, TLS again
])
def test_mysql_topology_over_tls_is_verified(orc_factory, tls_mariadb, pki, config, event):
    orc = orc_factory(tls_mariadb, MySQLTopologySSLCAFile=pki["ca"], **config)
    body = discover(orc, tls_mariadb)
    assert body["Code"] == "OK", body
    wait_until(lambda: orc.api(f"instance/127.0.0.1/{tls_mariadb.port('i1')}").get(
        "IsLastCheckValid") is True, 5, what="the instance polled over TLS")
    if event:
        assert orc.has_event(event)
    # the server accepted TLS handshakes (and refuses plain text: require_secure_transport)
    assert int(tls_mariadb.sql_value("i1", "SELECT VARIABLE_VALUE FROM "
                                     "information_schema.GLOBAL_STATUS WHERE "
                                     "VARIABLE_NAME = 'SSL_ACCEPTS'")) > 0


@pytest.mark.parametrize("config,error", [
    ({"MySQLTopologyUseMutualTLS": True, "MySQLTopologySSLCAFile": "other-ca"},
     "certificate"),  # the server's certificate is not signed by that CA
    ({"MySQLTopologyUseMixedTLS": False}, "Access denied"),  # plain text only: refused
])
def test_mysql_topology_refused_with_wrong_ca_or_without_tls(orc_factory, tls_mariadb, pki,
                                                             config, error):
    config = {k: (pki[v] if k.endswith("CAFile") else v) for k, v in config.items()}
    orc = orc_factory(tls_mariadb, **config)
    body = discover(orc, tls_mariadb)
    assert body["Code"] == "ERROR" and error in body["Message"], body
    resp = orc.get(f"/api/instance/127.0.0.1/{tls_mariadb.port('i1')}")
    assert resp.status_code == 404


def test_mysql_topology_server_certificate_for_another_name_is_refused(sandbox_factory,
                                                                      orc_factory, pki,
                                                                      tmp_path):
    import shutil
    d = tmp_path / "wrongname"
    d.mkdir()
    shutil.copy(pki["ca"], d / "ca.pem")
    shutil.copy(pki["wrongname-cert"], d / "server-cert.pem")
    shutil.copy(pki["wrongname-key"], d / "server-key.pem")
    sb = sandbox_factory("single", 1, ssl_dir=d)
    orc = orc_factory(sb, MySQLTopologyUseMutualTLS=True, MySQLTopologySSLCAFile=pki["ca"])
    body = discover(orc, sb)
    assert body["Code"] == "ERROR" and "Validation of SSL server certificate failed" in \
        body["Message"], body
    orc.stop()
    skip = orc_factory(sb, MySQLTopologyUseMutualTLS=True, MySQLTopologySSLCAFile=pki["ca"],
                       MySQLTopologySSLSkipVerify=True)
    assert discover(skip, sb)["Code"] == "OK"


def test_mysql_backend_over_tls_and_refused_with_wrong_ca(orc_factory, tls_mariadb, pki):
    user, password = tls_mariadb.credentials("backend")
    backend = {"BackendDB": "mysql", "MySQLOrchestratorHost": "127.0.0.1",
               "MySQLOrchestratorPort": tls_mariadb.port("i1"),
               "MySQLOrchestratorDatabase": "orchestrator", "MySQLOrchestratorUser": user,
               "MySQLOrchestratorPassword": password, "SQLite3DataFile": None}
    orc = orc_factory(MySQLOrchestratorSSLCAFile=pki["ca"], **backend)
    assert orc.get("/api/health").json()["Details"]["Healthy"] is True
    assert orc.current_log.count("tls=verified") >= 1
    orc.stop()
    bad = orc_factory(start=False, MySQLOrchestratorSSLCAFile=pki["other-ca"], **backend)
    bad.start(wait=False)
    wait_until(lambda: not bad.running, 15, what="the service refusing to start")
    assert bad.returncode != 0
    assert "certificate" in bad.current_log


def test_mysql_topology_client_certificate_and_skip_verify(orc_factory, tls_mariadb, pki):
    # a user the server only lets in with a client certificate signed by its CA
    tls_mariadb.sql("i1", "CREATE USER 'orc_x509'@'%' IDENTIFIED BY 'x509_pw' REQUIRE X509")
    tls_mariadb.sql("i1", "GRANT ALL ON *.* TO 'orc_x509'@'%'")
    creds = {"MySQLTopologyUser": "orc_x509", "MySQLTopologyPassword": "x509_pw",
             "MySQLTopologyUseMutualTLS": True}
    orc = orc_factory(tls_mariadb, MySQLTopologySSLCAFile=pki["ca"],
                      MySQLTopologySSLCertFile=pki["alice-cert"],
                      MySQLTopologySSLPrivateKeyFile=pki["alice-key"], **creds)
    assert discover(orc, tls_mariadb)["Code"] == "OK"
    orc.stop()
    without_cert = orc_factory(tls_mariadb, MySQLTopologySSLCAFile=pki["ca"], **creds)
    body = discover(without_cert, tls_mariadb)
    assert body["Code"] == "ERROR" and "Access denied" in body["Message"], body
    without_cert.stop()
    # encryption without verification: the wrong CA no longer matters
    skip = orc_factory(tls_mariadb, MySQLTopologySSLCAFile=pki["other-ca"],
                       MySQLTopologySSLSkipVerify=True, MySQLTopologyUseMutualTLS=True)
    body = discover(skip, tls_mariadb)
    assert body["Code"] == "OK", body


def test_backend_mutual_tls_key_without_ca_needs_the_system_cas_or_skip_verify(
        orc_factory, tls_mariadb):
    user, password = tls_mariadb.credentials("backend")
    backend = {"BackendDB": "mysql", "MySQLOrchestratorHost": "127.0.0.1",
               "MySQLOrchestratorPort": tls_mariadb.port("i1"),
               "MySQLOrchestratorDatabase": "orchestrator", "MySQLOrchestratorUser": user,
               "MySQLOrchestratorPassword": password, "SQLite3DataFile": None,
               "MySQLOrchestratorUseMutualTLS": True}
    refused = orc_factory(start=False, **backend)
    refused.start(wait=False)
    wait_until(lambda: not refused.running, 15, what="the system CAs not knowing the test CA")
    orc = orc_factory(MySQLOrchestratorSSLSkipVerify=True, **backend)
    assert "tls=unverified" in orc.current_log


def test_cli_skip_verify_from_the_environment(orc_factory, pki):
    orc = orc_factory(start=False, UseSSL=True, SSLCertFile=pki["server-cert"],
                      SSLPrivateKeyFile=pki["server-key"], SSLCAFile=pki["other-ca"])
    orc.http_kw = {"verify": pki["ca"]}
    orc.start()
    assert orc.cli("clusters").returncode != 0  # the leader's certificate is not other-ca's
    res = orc.cli("clusters", env={"ORC_SSLSkipVerify": "true"})
    assert res.returncode == 0, res.stderr
