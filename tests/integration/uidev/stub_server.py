#!/usr/bin/python3
"""Dev stub for the web UI: serves web/ui/ and canned orchestrator-shaped JSON.

Usage: stub_server.py [--port N] [--analysis ok|404|500] [--fleet CLUSTERS:PER_CLUSTER]
Listens on 127.0.0.1 (port 0 = a free port) and prints "PORT <n>" on stdout once
ready. The UI is served at /, /web/ and under the URL prefix /orc/ (so /orc/web/
with its API at /orc/api/...). Canned clusters: a 4-node star with one broken
replica, a 4-node chain with a lagging and a downtimed replica, and a co-master
pair with an orphan and a dead instance. --fleet N:M adds N generated clusters of M
instances each (a master, replicas, some intermediate masters; one in 7 clusters with a
stopped replica), for the UI's scale test. The caller is a writer (/api/whoami); the stub
has no write routes (404 "unknown route", as a server that lacks one).

Control routes for tests:
  /_stub/stop-sql/<host>/<port>   mark that instance's SQL thread stopped (state 0 only)
  /_stub/start-sql/<host>/<port>  mark it running again
  /_stub/log                      JSON list of the paths requested so far
"""
import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

UI_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "web", "ui"))
TYPES = {".html": "text/html; charset=utf-8", ".js": "application/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
PREFIX = "/orc"


def null_int(n):
    return {"Int64": n or 0, "Valid": n is not None}


def key(host, port):
    return {"Hostname": host, "Port": port}


def instance(host, port, cluster, master=None, depth=0, ro=True, lag=0, **extra):
    """One Instance in orchestrator's JSON shape (the fields the UI and client read)."""
    replica = master is not None
    mk = key(*master) if replica else key("", 0)
    inst = {
        "Key": key(host, port), "InstanceAlias": "", "Uptime": 86400 * 3 + 7200,
        "ServerID": port, "ServerUUID": "", "Version": "10.11.6-MariaDB-0+deb12u1-log",
        "VersionComment": "Debian 12", "FlavorName": "MariaDB", "ReadOnly": ro,
        "Binlog_format": "ROW", "BinlogRowImage": "FULL", "LogBinEnabled": True,
        "LogSlaveUpdatesEnabled": True, "LogReplicationUpdatesEnabled": True,
        "SelfBinlogCoordinates": {"LogFile": "mysql-bin.000003", "LogPos": 1234, "Type": 0},
        "MasterKey": mk, "MasterUUID": "", "AncestryUUID": "", "IsDetachedMaster": False,
        "Slave_SQL_Running": replica, "ReplicationSQLThreadRuning": replica,
        "Slave_IO_Running": replica, "ReplicationIOThreadRuning": replica,
        "ReplicationSQLThreadState": 1 if replica else -1,
        "ReplicationIOThreadState": 1 if replica else -1,
        "HasReplicationFilters": False, "GTIDMode": "OFF", "SupportsOracleGTID": False,
        "UsingOracleGTID": False, "UsingMariaDBGTID": True, "UsingPseudoGTID": False,
        "LastSQLError": "", "LastIOError": "",
        "SecondsBehindMaster": null_int(lag if replica else None), "SQLDelay": 0,
        "ExecutedGtidSet": "", "GtidPurged": "", "GtidErrant": "",
        "SlaveLagSeconds": null_int(lag if replica else None),
        "ReplicationLagSeconds": null_int(lag if replica else None),
        "SlaveHosts": [], "Replicas": [], "ClusterName": cluster, "SuggestedClusterAlias": "",
        "DataCenter": "dc1", "Region": "", "PhysicalEnvironment": "", "ReplicationDepth": depth,
        "IsCoMaster": False, "LastSeenTimestamp": "2025-01-01T00:00:00Z", "IsLastCheckValid": True,
        "IsUpToDate": True, "IsRecentlyChecked": True, "SecondsSinceLastSeen": null_int(0),
        "IsCandidate": False, "PromotionRule": "neutral", "IsDowntimed": False,
        "DowntimeReason": "", "DowntimeOwner": "", "DowntimeEndTimestamp": "",
        "ElapsedDowntime": 0, "Problems": [], "LastDiscoveryLatency": 1500000,
    }
    inst.update(extra)
    return inst


def canned():
    """Clusters (ClusterInfo list) and instances per cluster name."""
    star, chain, co = "127.0.0.1:3306", "db-a.example:3306", "co-a.example:3306"
    m = ("127.0.0.1", 3306)
    insts = {star: [
        instance("127.0.0.1", 3306, star, ro=False),
        instance("127.0.0.1", 3307, star, m, 1),
        instance("127.0.0.1", 3308, star, m, 1),
        instance("127.0.0.1", 3309, star, m, 1, ReplicationSQLThreadState=0,
                 ReplicationSQLThreadRuning=False, Slave_SQL_Running=False,
                 SecondsBehindMaster=null_int(None), ReplicationLagSeconds=null_int(None),
                 LastSQLError="Error 'Duplicate entry '42' for key 'PRIMARY'' on query. "
                              "Default database: 'app'. Query: 'INSERT INTO t VALUES (42)'",
                 Problems=["not_replicating"]),
    ], chain: [
        instance("db-a.example", 3306, chain, ro=False, DataCenter="eu-west"),
        instance("db-b.example", 3306, chain, ("db-a.example", 3306), 1, DataCenter="eu-west"),
        instance("db-c.example", 3306, chain, ("db-b.example", 3306), 2, lag=45,
                 DataCenter="eu-central", Problems=["replication_lag"]),
        instance("db-d.example", 3306, chain, ("db-c.example", 3306), 3, lag=46,
                 DataCenter="eu-central", IsDowntimed=True, DowntimeOwner="alice",
                 DowntimeReason="disk replacement", DowntimeEndTimestamp="2030-01-01 10:00:00",
                 Problems=["replication_lag"]),
    ], co: [
        instance("co-a.example", 3306, co, ("co-b.example", 3306), 0, ro=False, IsCoMaster=True),
        instance("co-b.example", 3306, co, ("co-a.example", 3306), 0, IsCoMaster=True),
        instance("co-c.example", 3306, co, ("co-b.example", 3306), 1,
                 GtidErrant="3e11fa47-71ca-11e1-9e33-c80aa9429562:23", Problems=["errant_gtid"]),
        instance("orphan.example", 3306, co, ("gone.example", 3306), 1,
                 ReplicationIOThreadState=2, ReplicationIOThreadRuning=False,
                 LastIOError="error connecting to master 'repl@gone.example:3306' - retry-time: 60"),
        instance("dead.example", 3306, co, ("co-a.example", 3306), 1, IsLastCheckValid=False,
                 Problems=["last_check_invalid"]),
    ]}
    aliases = {star: "main", chain: "chain", co: ""}
    clusters = [{"ClusterName": n, "ClusterAlias": aliases[n], "ClusterDomain": "",
                 "CountInstances": len(v), "HeuristicLag": 0,
                 "HasAutomatedMasterRecovery": n == star,
                 "HasAutomatedIntermediateMasterRecovery": False} for n, v in insts.items()]
    return clusters, insts


def fleet(nclusters, per):
    """Generated clusters: gen-NNN with `per` instances each, some chained."""
    clusters, insts = [], {}
    for c in range(nclusters):
        host = f"gen-{c:03d}"
        name = f"{host}-0.example:3306"
        lst = [instance(f"{host}-0.example", 3306, name, ro=False)]
        for n in range(1, per):
            up = 0 if n < 4 else 1 + (n - 4) % 3  # three intermediate masters below the master
            extra = {}
            if c % 7 == 3 and n == per - 1:
                extra = dict(ReplicationSQLThreadState=0, ReplicationSQLThreadRuning=False,
                             Slave_SQL_Running=False, Problems=["not_replicating"])
            lst.append(instance(f"{host}-{n}.example", 3306, name, (f"{host}-{up}.example", 3306),
                                1 if up == 0 else 2, **extra))
        insts[name] = lst
        clusters.append({"ClusterName": name, "ClusterAlias": f"app{c:03d}", "ClusterDomain": "",
                         "CountInstances": per, "HeuristicLag": 0,
                         "HasAutomatedMasterRecovery": c % 2 == 0,
                         "HasAutomatedIntermediateMasterRecovery": False})
    return clusters, insts


class State:
    def __init__(self, analysis, gen=None):
        self.lock = threading.Lock()
        self.clusters, self.insts = canned()
        if gen:
            gc, gi = fleet(*gen)
            self.clusters += gc
            self.insts.update(gi)
        self.analysis = analysis
        self.log = []

    def find(self, host, port):
        for lst in self.insts.values():
            for i in lst:
                if i["Key"] == key(host, port):
                    return i
        return None

    def analysis_list(self):
        out = []
        for c in self.clusters:
            for i in self.insts[c["ClusterName"]]:
                if i["ReplicationSQLThreadState"] == 0 and i["LastSQLError"]:
                    out.append({"AnalyzedInstanceKey": i["Key"], "AnalyzedInstanceMasterKey": i["MasterKey"],
                                "ClusterDetails": c, "Analysis": "BrokenReplicaSQLThread",
                                "Description": "", "StructureAnalysis": [], "IsMaster": False})
        return out


class Handler(BaseHTTPRequestHandler):
    state = None  # set in main()

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def send(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        self.do_GET()

    def do_GET(self):
        path = urlsplit(self.path).path
        st = self.state
        with st.lock:
            st.log.append(path)
        if path.startswith("/_stub/"):
            return self.control(path[len("/_stub/"):].split("/"))
        if path == PREFIX or path.startswith(PREFIX + "/"):
            path = path[len(PREFIX):] or "/"
        if path.startswith("/api/"):
            return self.api(path[len("/api/"):].rstrip("/"))
        return self.static(path)

    def control(self, parts):
        st = self.state
        if parts[0] == "log":
            with st.lock:
                return self.send(200, list(st.log))
        if parts[0] in ("stop-sql", "start-sql") and len(parts) == 3:
            with st.lock:
                i = st.find(parts[1], int(parts[2]))
                if i is None:
                    return self.send(404, {"Code": "ERROR", "Message": "no such instance"})
                stop = parts[0] == "stop-sql"
                i["ReplicationSQLThreadState"] = 0 if stop else 1
                i["ReplicationSQLThreadRuning"] = i["Slave_SQL_Running"] = not stop
                # Only the thread state changes (no error, no Problems): the UI must
                # notice a stopped thread by itself.
                return self.send(200, {"Code": "OK", "Message": parts[0], "Details": i["Key"]})
        return self.send(404, {"Code": "ERROR", "Message": "unknown stub control"})

    def api(self, route):
        st = self.state
        with st.lock:
            if route == "clusters-info":
                return self.send(200, st.clusters)
            if route == "all-instances":
                return self.send(200, [i for c in st.clusters for i in st.insts[c["ClusterName"]]])
            if route == "whoami":
                return self.send(200, {"User": "", "Authenticated": True, "CanWrite": True,
                                       "AuthenticationMethod": "", "ReadOnly": False})
            if route == "check-global-recoveries":
                return self.send(200, {"Code": "OK", "Message": "Global recoveries enabled",
                                       "Details": "enabled"})
            if route.startswith("cluster/"):
                name = unquote(route[len("cluster/"):])
                if name in st.insts:
                    return self.send(200, st.insts[name])
                return self.send(500, {"Code": "ERROR", "Message": "Unable to determine cluster name",
                                       "Details": None})
            if route == "replication-analysis":
                if st.analysis != "ok":
                    code = int(st.analysis)
                    return self.send(code, {"Code": "ERROR", "Message": "not available", "Details": None})
                return self.send(200, {"Code": "OK", "Message": "Analysis", "Details": st.analysis_list()})
        return self.send(404, {"Code": "ERROR", "Message": f"unknown route: '/api/{route}'",
                               "Details": None})

    def static(self, path):
        if path in ("/", "/web", "/web/"):
            name = "index.html"
        else:
            name = path.rsplit("/", 1)[-1]
            if not (path.startswith("/web/") or path.count("/") == 1):
                return self.send(404, b"404 page not found", "text/plain")
        full = os.path.join(UI_DIR, name)
        ext = os.path.splitext(name)[1]
        if not name or name.startswith(".") or ext not in TYPES or not os.path.isfile(full):
            return self.send(404, b"404 page not found", "text/plain")
        with open(full, "rb") as f:
            return self.send(200, f.read(), TYPES[ext])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--analysis", choices=["ok", "404", "500"], default="ok")
    ap.add_argument("--fleet", default="", help="CLUSTERS:PER_CLUSTER generated clusters")
    args = ap.parse_args()
    gen = tuple(int(x) for x in args.fleet.split(":")) if args.fleet else None
    Handler.state = State(args.analysis, gen)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
