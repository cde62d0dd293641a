#!/usr/bin/env bash
# make demo: a live 4-instance MariaDB topology on 127.0.0.1 (one master, three
# replicas) watched by one orchestrator node (SQLite backend), in the foreground.
# Ctrl-C stops the service and the sandbox. `make demo-down` cleans up leftovers.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/demo"
sandbox="$top/tests/sandbox/sandbox.sh"
port=${DEMO_PORT:-3000}

if [ "${1:-}" = "down" ]; then
  [ -f "$dir/sandbox/sandbox.json" ] && bash "$sandbox" down --dir "$dir/sandbox" || true
  exit 0
fi

mkdir -p "$dir"
if [ -f "$dir/sandbox/sandbox.json" ]; then
  bash "$sandbox" down --dir "$dir/sandbox" >/dev/null 2>&1 || true
fi
rm -rf "$dir/sandbox" "$dir/orchestrator.sqlite3"*
echo "demo: starting a 4-instance MariaDB sandbox (1 master, 3 replicas)..."
bash "$sandbox" up --dir "$dir/sandbox" --layout star -n 4
master_port=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["instances"][0]["port"])' "$dir/sandbox/sandbox.json")
cat > "$dir/orchestrator.conf.json" <<JSON
{
  "ListenAddress": "127.0.0.1:$port",
  "BackendDB": "sqlite",
  "SQLite3DataFile": "$dir/orchestrator.sqlite3",
  "MySQLTopologyUser": "orc_topology",
  "MySQLTopologyPassword": "orc_topology_pw",
  "InstancePollSeconds": 1,
  "DiscoverySeeds": ["127.0.0.1:$master_port"],
  "RecoverMasterClusterFilters": ["*"],
  "RecoverIntermediateMasterClusterFilters": ["*"]
}
JSON
orc=""
cleanup() {
  # The service first (so it never sees the sandbox go away), then the sandbox.
  if [ -n "$orc" ]; then kill -TERM "$orc" 2>/dev/null || true; wait "$orc" 2>/dev/null || true; fi
  bash "$sandbox" down --dir "$dir/sandbox" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cat <<TXT

demo: orchestrator is starting on http://127.0.0.1:$port/
  web UI:    http://127.0.0.1:$port/
  clusters:  curl -s http://127.0.0.1:$port/api/clusters-info
  topology:  ORCHESTRATOR_API=http://127.0.0.1:$port/api $top/build/orchestrator -c topology -i 127.0.0.1:$master_port
  sandbox:   bash tests/sandbox/sandbox.sh status --dir $dir/sandbox
  config:    $dir/orchestrator.conf.json
Press Ctrl-C to stop the service and the sandbox.

TXT
"$top/build/orchestrator" --config "$dir/orchestrator.conf.json" http &
orc=$!
wait "$orc" || true
orc=""
