"""Walks orchestrator's whole route list and its client's whole command list against ours.

- data/orchestrator-routes.txt: every route orchestrator 3.2.6 registers (our reference data).
  Each is requested once against a running service that watches a small real sandbox; a route
  answers unless the router says "unknown route" (a handler's own 404, e.g. an unknown instance,
  is an answer). Routes that are out of scope or built elsewhere are listed in EXPECTED_MISSING
  with the reason; any other route that does not answer fails the test, and so does a listed
  route that answers (the list must stay true: whoever lands such a route removes it here).
  Out-of-scope features (orchestrator-agent, Pseudo-GTID, binlog servers) are not listed: their
  routes answer 501 with the reason (web/api_unsupported.c), which counts as answering.
- data/orchestrator-client-commands.txt: every orchestrator-client command must be known to our
  CLI (`orchestrator help COMMAND` succeeds; no "unknown command").

Routes that change things get keys of instances that do not exist (127.0.0.1:1) and a cluster
that does not exist, so walking them never moves the sandbox; the read routes get real keys.
"""
from pathlib import Path

import pytest
import requests

from orctest import wait_until

DATA = Path(__file__).resolve().parent / "data"

# route pattern -> why it does not answer here yet (none left: keep the mechanism for the next
# route that is built elsewhere first)
EXPECTED_MISSING = {}

# Routes walked with real keys and the real cluster: they only read (or, for refresh and
# discover, only re-probe). Every other route gets keys and a cluster that do not exist.
READS = {
    "_ping", "active-cluster-recovery", "all-instances", "audit", "audit-failure-detection",
    "audit-recovery", "audit-recovery-steps", "automated-recovery-filters",
    "backend-query-metrics-aggregated", "backend-query-metrics-raw", "blocked-recoveries",
    "bulk-instances", "bulk-promotion-rules", "check-global-recoveries", "cluster",
    "cluster-info", "cluster-osc-slaves", "cluster-pool-instances", "clusters", "clusters-info",
    "discover", "async-discover", "discovery-metrics-aggregated", "discovery-metrics-raw",
    "discovery-queue-metrics-aggregated", "discovery-queue-metrics-raw", "downtimed", "headers",
    "health", "heuristic-cluster-pool-instances", "heuristic-cluster-pool-lag",
    "hostname-resolve-cache", "in-maintenance", "instance", "instance-replicas", "lb-check",
    "leader-check", "maintenance", "master", "masters", "problems", "raft-health", "raft-leader",
    "raft-peers", "raft-state", "raft-status", "recently-active-cluster-recovery",
    "recently-active-instance-recovery", "refresh", "replication-analysis",
    "replication-analysis-changelog", "resolve", "routed-leader-check", "search", "seeds",
    "snapshot-topologies", "status", "tag-value", "tagged", "tags", "topology",
    "topology-tabulated", "topology-tags", "write-buffer-metrics-aggregated",
    "write-buffer-metrics-raw",
}

FIXED = {
    "seconds": "60", "page": "0", "id": "1", "uid": "no-such-uid", "recoveryId": "1",
    "owner": "walker", "reason": "route-walk", "duration": "1m", "promotionRule": "prefer",
    "virtualname": "walk-virtual", "tagName": "walktag", "tagValue": "v", "pool": "walkpool",
    "searchString": "127", "logFile": "mysql-bin.000001", "logPos": "4", "process": "1",
    "hint": "nosuchnode", "node": "127.0.0.1:1", "addr": "127.0.0.1:1",
    "authenticationToken": "x", "raftBind": "127.0.0.1:1", "raftAdvertise": "127.0.0.1:1",
    "errorStatusCode": "503", "maintenanceKey": "0", "seedId": "1", "command": "x",
    "targetHost": "nohost", "sourceHost": "nohost",
}


def load(name):
    with open(DATA / name, encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def concrete(pattern, real, cluster, alias):
    """The URL path of one route pattern with its parameters filled in."""
    is_read = pattern.split("/")[0] in READS
    host, port = "127.0.0.1", str(real) if is_read else "1"
    values = dict(FIXED, host=host, port=port, belowHost="127.0.0.1", belowPort="1",
                  siblingHost="127.0.0.1", siblingPort="1", designatedHost="127.0.0.1",
                  candidateHost="127.0.0.1", candidatePort="1",
                  designatedPort="1", clusterHint=cluster if is_read else "nosuch:1",
                  clusterName=cluster if is_read else "nosuch:1",
                  clusterAlias=alias if is_read else "nosuchalias")
    parts = []
    for seg in pattern.split("/"):
        parts.append(values[seg[1:]] if seg.startswith(":") else seg)
    return "/".join(parts)


def answers(resp):
    """False only when the router does not know the route."""
    if resp.status_code != 404:
        return True
    try:
        body = resp.json()
    except ValueError:
        return True
    return not (isinstance(body, dict) and str(body.get("Message", "")).startswith(
        "unknown route"))


def test_every_orchestrator_route_answers_except_the_listed_ones(sandbox_factory, orc_factory):
    routes = load("orchestrator-routes.txt")
    assert len(routes) > 200
    assert set(EXPECTED_MISSING) <= set(routes), set(EXPECTED_MISSING) - set(routes)
    sb = sandbox_factory("star", 2)
    orc = orc_factory(sb)
    master = sb.key(sb.master)
    replica = sb.port(sb.replicas[0])
    assert orc.api(f"discover/127.0.0.1/{sb.port(sb.master)}")["Code"] == "OK"
    wait_until(lambda: len(orc.api("all-instances")) == 2, 10, what="both instances")
    assert orc.api(f"set-cluster-alias/{master}?alias=walkalias")["Code"] == "OK"
    answered, missing, surprising = [], [], []
    for pattern in routes:
        path = concrete(pattern, replica, master, "walkalias")
        resp = requests.get(orc.url("/api/" + path), timeout=60)
        if answers(resp):
            answered.append(pattern)
            if pattern in EXPECTED_MISSING:
                surprising.append(pattern)
        elif pattern not in EXPECTED_MISSING:
            missing.append(f"{pattern} (GET /api/{path})")
    print(f"\nroutes answered: {len(answered)} of {len(routes)}; "
          f"expected missing: {len(EXPECTED_MISSING)}")
    for reason in sorted(set(EXPECTED_MISSING.values())):
        n = sum(1 for v in EXPECTED_MISSING.values() if v == reason)
        print(f"  missing by design ({n}): {reason}")
    assert not missing, "routes that do not answer: " + ", ".join(missing)
    assert not surprising, ("routes listed in EXPECTED_MISSING now answer (remove them from the "
                            "list): " + ", ".join(surprising))
    assert orc.running


def test_every_orchestrator_client_command_is_known_to_the_cli(orc_factory):
    """Each command has help, and run without flags against a live service it either works or
    says what it needs: never "unknown command". Flags are left out on purpose, so that the
    walk acts on nothing (the commands that act need an instance, a cluster or a reason; only
    the global recovery switch is turned off, then on again, in the list's order)."""
    commands = load("orchestrator-client-commands.txt")
    assert len(commands) > 100
    orc = orc_factory()
    unknown, outcomes = [], {}
    for cmd in commands:
        helped = orc.cli("help", cmd, timeout=10)
        ran = orc.cli(cmd, timeout=30)
        if (helped.returncode != 0 or "unknown command" in helped.stderr or
                "unknown command" in ran.stderr or ran.returncode not in (0, 1, 2)):
            unknown.append(cmd)
        outcomes[ran.returncode] = outcomes.get(ran.returncode, 0) + 1
    print(f"\nCLI commands known: {len(commands) - len(unknown)} of {len(commands)}; "
          f"without flags: {outcomes.get(0, 0)} ran, {outcomes.get(2, 0)} asked for flags, "
          f"{outcomes.get(1, 0)} failed at the API")
    assert not unknown, "commands unknown to the CLI: " + ", ".join(unknown)
    # orchestrator-client's raft commands first check that raft runs
    proc = orc.cli("raft-leader-hostname")
    assert proc.returncode == 1 and "Cannot determine raft state" in proc.stderr
    assert "needs --hostname" in orc.cli("raft-elect-leader").stderr


@pytest.mark.parametrize("cmd", ["force-master-takeover", "dominant-dc", "raft-leader-hostname",
                                 "raft-elect-leader"])
def test_cli_knows_the_extra_commands(orc_factory, cmd):
    orc = orc_factory(start=False)
    orc.write_config()
    proc = orc.cli("help", cmd, timeout=10)
    assert proc.returncode == 0, proc.stderr
