#!/usr/bin/env bash
# sandbox.sh: real MariaDB replication topologies on loopback, for tests and demos.
#
# Each instance is a plain `mariadbd` with its own config file, datadir, socket, pid file,
# error log and port, listening on 127.0.0.1 only. Instances are copied from a template
# datadir built once with mariadb-install-db (cached under tests/sandbox/.template/, rebuilt
# when the server version or this script changes), which already holds the users and
# databases every test needs, so every instance starts with the same grants and an empty GTID
# history. The script only ever signals pids it recorded itself, after checking that the pid
# still runs our config file; the system's own MariaDB is never touched.
#
# Usage:
#   sandbox.sh up     --dir DIR [--layout star|chain|single|comaster] [-n N] [--base-port P]
#                     [--ssl-dir D [--require-secure-transport]]
#        comaster: i1 and i2 replicate from each other (i1 writable, i2 read-only), i3.. below i1.
#        --ssl-dir: D holds ca.pem, server-cert.pem and server-key.pem; every instance serves
#        TLS with them (ssl-ca/ssl-cert/ssl-key). --require-secure-transport refuses plain-text
#        clients (use it with --layout single: the sandbox's replication is plain text).
#   sandbox.sh down   --dir DIR
#   sandbox.sh status --dir DIR
#   sandbox.sh stop   --dir DIR NAME     clean shutdown (SIGTERM, bounded wait)
#   sandbox.sh kill   --dir DIR NAME     SIGKILL
#   sandbox.sh start  --dir DIR NAME     restart with the same datadir and port
#   sandbox.sh sql    --dir DIR NAME "STATEMENT"   as root through the socket; tab-separated rows
#
# Environment: SANDBOX_START_TIMEOUT (s, default 30), SANDBOX_STOP_TIMEOUT (s, default 30),
# SANDBOX_REPL_TIMEOUT (s, default 15), SANDBOX_TEMPLATE_DIR (default tests/sandbox/.template).
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT_PATH")
readonly SCRIPT_PATH SCRIPT_DIR
readonly TEMPLATE_DIR="${SANDBOX_TEMPLATE_DIR:-$SCRIPT_DIR/.template}"
readonly START_TIMEOUT="${SANDBOX_START_TIMEOUT:-30}"
readonly STOP_TIMEOUT="${SANDBOX_STOP_TIMEOUT:-30}"
readonly REPL_TIMEOUT="${SANDBOX_REPL_TIMEOUT:-15}"
readonly PYTHON=/usr/bin/python3
SSL_DIR="" REQUIRE_TLS=0

readonly TOPOLOGY_USER=orc_topology TOPOLOGY_PASSWORD=orc_topology_pw
readonly BACKEND_USER=orc_backend BACKEND_PASSWORD=orc_backend_pw
readonly REPL_USER=repl REPL_PASSWORD=repl_pw

die() {
    echo "sandbox: $*" >&2
    exit 1
}

# ---- time and waiting ----------------------------------------------------------------------

now_ms() { date +%s%3N; }

# True while the process is alive and not a zombie.
pid_alive() {
    local pid=$1 state
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

# True when pid is a mariadbd running the config file of instance dir $2 (guards pid reuse).
pid_is_ours() {
    local pid=$1 idir=$2
    pid_alive "$pid" || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "--defaults-file=$idir/my.cnf"
}

# ---- instance state: DIR/NAME/state holds shell assignments ---------------------------------

idir_of() { echo "$DIR/$1"; }

load_state() {
    local f
    f="$(idir_of "$1")/state"
    [ -f "$f" ] || die "unknown instance '$1' in '$DIR'"
    NAME="" PORT="" SERVER_ID="" MASTER="" PID=""
    # shellcheck disable=SC1090
    . "$f"
}

save_state() {
    local f
    f="$(idir_of "$NAME")/state"
    printf 'NAME=%q\nPORT=%q\nSERVER_ID=%q\nMASTER=%q\nPID=%q\n' \
        "$NAME" "$PORT" "$SERVER_ID" "$MASTER" "$PID" >"$f.tmp"
    mv -f "$f.tmp" "$f"
}

instance_names() {
    [ -f "$DIR/instances" ] || die "no sandbox in '$DIR' (missing $DIR/instances)"
    cat "$DIR/instances"
}

json_str() {
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

json_or_null() {
    if [ -n "$1" ]; then "${@:2}" "$1"; else printf null; fi
}

json_num() { printf '%s' "$1"; }

# Regenerates DIR/sandbox.json from the per-instance state files.
write_json() {
    local layout first=1 n idir
    layout=$(cat "$DIR/layout")
    {
        printf '{\n  "layout": %s,\n  "dir": %s,\n  "instances": [\n' \
            "$(json_str "$layout")" "$(json_str "$DIR")"
        for n in $(instance_names); do
            load_state "$n"
            idir=$(idir_of "$n")
            [ $first = 1 ] || printf ',\n'
            first=0
            printf '    {"name": %s, "host": "127.0.0.1", "port": %s, "socket": %s, ' \
                "$(json_str "$NAME")" "$PORT" "$(json_str "$idir/sock")"
            printf '"datadir": %s, "config": %s, "error_log": %s, ' \
                "$(json_str "$idir/data")" "$(json_str "$idir/my.cnf")" \
                "$(json_str "$idir/error.log")"
            printf '"pid": %s, "server_id": %s, "master": %s}' \
                "$(json_or_null "$PID" json_num)" "$SERVER_ID" \
                "$(json_or_null "$MASTER" json_str)"
        done
        printf '\n  ],\n'
        printf '  "topology_user": "%s", "topology_password": "%s",\n' \
            "$TOPOLOGY_USER" "$TOPOLOGY_PASSWORD"
        printf '  "backend_user": "%s", "backend_password": "%s",\n' \
            "$BACKEND_USER" "$BACKEND_PASSWORD"
        printf '  "repl_user": "%s", "repl_password": "%s"\n}\n' "$REPL_USER" "$REPL_PASSWORD"
    } >"$DIR/sandbox.json.tmp"
    mv -f "$DIR/sandbox.json.tmp" "$DIR/sandbox.json"
}

# ---- server configuration -------------------------------------------------------------------

# InnoDB settings shared by the template and the instances (file sizes must match).
innodb_cnf() {
    cat <<'EOF'
innodb_buffer_pool_size=8M
innodb_log_file_size=4M
innodb_log_buffer_size=2M
innodb_data_file_path=ibdata1:12M:autoextend
innodb_temp_data_file_path=ibtmp1:1M:autoextend
innodb_undo_tablespaces=0
innodb_autoextend_increment=4
innodb_flush_log_at_trx_commit=2
innodb_doublewrite=0
innodb_use_native_aio=0
EOF
}

# Small everything else: these servers hold a handful of rows.
small_cnf() {
    cat <<'EOF'
performance_schema=OFF
skip-name-resolve
key_buffer_size=64K
aria_pagecache_buffer_size=1M
query_cache_size=0
query_cache_type=0
max_connections=200
table_open_cache=200
table_definition_cache=400
thread_cache_size=8
tmp_table_size=1M
max_heap_table_size=4M
sort_buffer_size=256K
host_cache_size=0
EOF
}

# Writes DIR/NAME/my.cnf.
write_instance_cnf() {
    local idir=$1 port=$2 sid=$3
    {
        printf '[mariadbd]\n'
        [ "$(id -u)" = 0 ] && printf 'user=root\n'
        printf 'datadir=%s/data\nsocket=%s/sock\npid-file=%s/mariadbd.pid\n' "$idir" "$idir" "$idir"
        printf 'log-error=%s/error.log\ntmpdir=%s/tmp\n' "$idir" "$idir"
        printf 'bind-address=127.0.0.1\nport=%s\nserver_id=%s\n' "$port" "$sid"
        printf 'report_host=127.0.0.1\nreport_port=%s\n' "$port"
        cat <<'EOF'
log_bin=mysql-bin
log_slave_updates=1
binlog_format=ROW
relay_log=relay-bin
sync_binlog=0
slave_net_timeout=4
EOF
        innodb_cnf
        small_cnf
        if [ -n "$SSL_DIR" ]; then
            printf 'ssl-ca=%s/ca.pem\nssl-cert=%s/server-cert.pem\nssl-key=%s/server-key.pem\n' \
                "$SSL_DIR" "$SSL_DIR" "$SSL_DIR"
            if [ "$REQUIRE_TLS" = 1 ]; then
                printf 'require_secure_transport=ON\n'
            fi
        fi
    } >"$idir/my.cnf"
}

# ---- template datadir -----------------------------------------------------------------------

template_stamp() {
    printf '%s\n%s\n' "$(mariadbd --version)" "$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1)"
}

template_sql() {
    cat <<EOF
DELETE FROM mysql.global_priv WHERE User = '' OR Host NOT IN ('localhost', '127.0.0.1', '::1');
DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '127.0.0.1', '::1');
FLUSH PRIVILEGES;
CREATE DATABASE IF NOT EXISTS test;
CREATE DATABASE IF NOT EXISTS meta;
CREATE DATABASE IF NOT EXISTS orchestrator;
CREATE USER '$TOPOLOGY_USER'@'127.0.0.1' IDENTIFIED BY '$TOPOLOGY_PASSWORD';
GRANT SUPER, PROCESS, RELOAD, REPLICATION CLIENT, REPLICATION SLAVE, REPLICATION SLAVE ADMIN,
      REPLICATION MASTER ADMIN, BINLOG ADMIN, SLAVE MONITOR, READ_ONLY ADMIN
      ON *.* TO '$TOPOLOGY_USER'@'127.0.0.1';
GRANT SELECT ON mysql.* TO '$TOPOLOGY_USER'@'127.0.0.1';
GRANT SELECT ON meta.* TO '$TOPOLOGY_USER'@'127.0.0.1';
CREATE USER '$REPL_USER'@'127.0.0.1' IDENTIFIED BY '$REPL_PASSWORD';
GRANT REPLICATION SLAVE ON *.* TO '$REPL_USER'@'127.0.0.1';
CREATE USER '$BACKEND_USER'@'127.0.0.1' IDENTIFIED BY '$BACKEND_PASSWORD';
GRANT ALL ON orchestrator.* TO '$BACKEND_USER'@'127.0.0.1';
EOF
}

# Builds a template in $1 (a fresh directory): install, start without networking or binlog,
# create users and databases, shut down cleanly.
build_template() {
    local b=$1 sock pid t0 opts=()
    [ "$(id -u)" = 0 ] && opts+=(--user=root)
    mapfile -t -O ${#opts[@]} opts < <(innodb_cnf | sed 's/^/--/')
    mariadb-install-db --no-defaults --datadir="$b/data" --auth-root-authentication-method=normal \
        --skip-test-db --skip-name-resolve "${opts[@]}" >"$b/install.log" 2>&1 ||
        die "mariadb-install-db failed, see $b/install.log"
    sock=$(mktemp -u /tmp/orcsb-tpl.XXXXXX.sock)
    {
        printf '[mariadbd]\n'
        [ "$(id -u)" = 0 ] && printf 'user=root\n'
        printf 'datadir=%s/data\nsocket=%s\nlog-error=%s/error.log\n' "$b" "$sock" "$b"
        printf 'pid-file=%s/mariadbd.pid\nskip-networking\nskip-log-bin\n' "$b"
        innodb_cnf
        small_cnf
    } >"$b/my.cnf"
    mariadbd --defaults-file="$b/my.cnf" </dev/null >/dev/null 2>&1 8>&- 9>&- &
    pid=$!
    wait_socket "$pid" "$sock" "$b/error.log" || die "template server did not start"
    template_sql | mariadb --no-defaults -S "$sock" -uroot ||
        { kill -KILL "$pid"; die "template setup SQL failed"; }
    kill -TERM "$pid"
    t0=$(now_ms)
    while pid_alive "$pid"; do
        [ $(($(now_ms) - t0)) -lt $((STOP_TIMEOUT * 1000)) ] ||
            { kill -KILL "$pid"; die "template server did not stop"; }
        sleep 0.05
    done
    wait "$pid" 2>/dev/null || true
    rm -f "$b/data/tc.log" "$b/data/ibtmp1" "$sock"
    template_stamp >"$b/stamp"
}

# Makes sure $TEMPLATE_DIR/current is valid for this server and script; one builder at a time.
ensure_template() {
    local want b
    mkdir -p "$TEMPLATE_DIR"
    want=$(template_stamp)
    exec 8>"$TEMPLATE_DIR/lock"
    flock -w 300 8 || die "timed out waiting for the template lock"
    if [ ! -f "$TEMPLATE_DIR/current/stamp" ] || [ "$(cat "$TEMPLATE_DIR/current/stamp")" != "$want" ]; then
        b=$(mktemp -d "$TEMPLATE_DIR/build.XXXXXX")
        build_template "$b"
        rm -rf "$TEMPLATE_DIR/old"
        [ -d "$TEMPLATE_DIR/current" ] && mv "$TEMPLATE_DIR/current" "$TEMPLATE_DIR/old"
        mv "$b" "$TEMPLATE_DIR/current"
        rm -rf "$TEMPLATE_DIR/old"
    fi
    flock -u 8
    exec 8>&-
}

# ---- starting and stopping ------------------------------------------------------------------

# Waits until the server answers on its socket; fails fast if the process dies.
wait_socket() {
    local pid=$1 sock=$2 log=$3 t0
    t0=$(now_ms)
    while :; do
        if [ -S "$sock" ] && mariadb-admin --no-defaults -S "$sock" -uroot \
            --connect-timeout=2 ping >/dev/null 2>&1; then
            return 0
        fi
        if ! pid_alive "$pid"; then
            echo "sandbox: mariadbd (pid $pid) exited during startup; last lines of $log:" >&2
            tail -n 15 "$log" >&2 2>/dev/null || true
            return 1
        fi
        if [ $(($(now_ms) - t0)) -ge $((START_TIMEOUT * 1000)) ]; then
            echo "sandbox: mariadbd (pid $pid) not ready after ${START_TIMEOUT}s; see $log" >&2
            return 1
        fi
        sleep 0.02
    done
}

# Launches instance $NAME (state loaded) in the background and records its pid.
launch() {
    local idir
    idir=$(idir_of "$NAME")
    mkdir -p "$idir/tmp"
    rm -f "$idir/sock" "$idir/sock.lock"
    mariadbd --defaults-file="$idir/my.cnf" </dev/null >>"$idir/mariadbd.out" 2>&1 8>&- 9>&- &
    PID=$!
    save_state
}

port_in_use_failure() {
    grep -qE 'Address already in use|Do you already have another' "$1" 2>/dev/null
}

# Starts the named instances in parallel and waits for all of them. With auto ports, a port
# taken by someone else between picking and binding is replaced and the start retried.
start_all() {
    local auto=$1 n idir failed ports i
    shift
    for _ in 1 2 3; do
        for n in "$@"; do
            load_state "$n"
            : >"$(idir_of "$n")/error.log"
            launch
        done
        failed=()
        for n in "$@"; do
            load_state "$n"
            idir=$(idir_of "$n")
            wait_socket "$PID" "$idir/sock" "$idir/error.log" || failed+=("$n")
        done
        [ ${#failed[@]} -eq 0 ] && return 0
        for n in "${failed[@]}"; do
            load_state "$n"
            if [ "$auto" != 1 ] || ! port_in_use_failure "$(idir_of "$n")/error.log"; then
                die "instance '$n' failed to start"
            fi
            terminate_pid "$PID" "$(idir_of "$n")" KILL
        done
        set -- "${failed[@]}"
        read -r -a ports < <(free_ports ${#failed[@]})
        i=0
        for n in "${failed[@]}"; do
            load_state "$n"
            PORT=${ports[$i]}
            i=$((i + 1))
            write_instance_cnf "$(idir_of "$n")" "$PORT" "$SERVER_ID"
            save_state
        done
    done
    die "could not start instances: $*"
}

# Sends a signal to a pid we own and waits (bounded) for it to exit; KILL on timeout.
terminate_pid() {
    local pid=$1 idir=$2 sig=${3:-TERM} t0
    pid_is_ours "$pid" "$idir" || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    t0=$(now_ms)
    while pid_alive "$pid"; do
        if [ $(($(now_ms) - t0)) -ge $((STOP_TIMEOUT * 1000)) ]; then
            echo "sandbox: pid $pid did not stop after ${STOP_TIMEOUT}s, killing" >&2
            kill -KILL "$pid" 2>/dev/null || true
            t0=$(now_ms)
        fi
        sleep 0.02
    done
}

# Picks N distinct free TCP ports on 127.0.0.1 (held together while picking).
free_ports() {
    "$PYTHON" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

root_sql() {
    mariadb --no-defaults -S "$(idir_of "$1")/sock" -uroot --connect-timeout=5 -N -B -e "$2"
}

# ---- replication ----------------------------------------------------------------------------

attach_replica() {
    local name=$1 mport=$2
    root_sql "$name" "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$mport,
        MASTER_USER='$REPL_USER', MASTER_PASSWORD='$REPL_PASSWORD',
        MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
        START SLAVE; SET GLOBAL read_only=1;"
}

# True when both replication threads of the instance run.
replicating() {
    local out
    out=$(mariadb --no-defaults -S "$(idir_of "$1")/sock" -uroot -E -e 'SHOW SLAVE STATUS') ||
        return 1
    grep -q 'Slave_IO_Running: Yes' <<<"$out" && grep -q 'Slave_SQL_Running: Yes' <<<"$out"
}

wait_replicating() {
    local t0 n pending
    t0=$(now_ms)
    pending=("$@")
    while [ ${#pending[@]} -gt 0 ]; do
        local left=()
        for n in "${pending[@]}"; do replicating "$n" || left+=("$n"); done
        pending=("${left[@]+"${left[@]}"}")
        [ ${#pending[@]} -eq 0 ] && return 0
        [ $(($(now_ms) - t0)) -lt $((REPL_TIMEOUT * 1000)) ] ||
            die "replication not running after ${REPL_TIMEOUT}s on: ${pending[*]}"
        sleep 0.05
    done
}

# ---- subcommands ----------------------------------------------------------------------------

master_of() {
    local layout=$1 i=$2
    case $layout in
        single) echo "" ;;
        star) [ "$i" -eq 1 ] && echo "" || echo i1 ;;
        chain) case $i in 1) echo "" ;; 2) echo i1 ;; *) echo i2 ;; esac ;;
        comaster) [ "$i" -eq 1 ] && echo "" || echo i1 ;;
    esac
}

# Stops whatever a failed `up` started, so a broken start leaves no server behind.
on_exit() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ "${UP_IN_PROGRESS:-0}" = 1 ]; then
        UP_IN_PROGRESS=0
        echo "sandbox: up failed; stopping the instances it started (logs kept in $DIR)" >&2
        (cmd_down) >/dev/null 2>&1 || true
    fi
    exit "$rc"
}

cmd_up() {
    local layout=star n=0 base_port="" i name ports=() replicas=() names=() t0
    while [ $# -gt 0 ]; do
        case $1 in
            --layout) layout=$2; shift 2 ;;
            -n) n=$2; shift 2 ;;
            --base-port) base_port=$2; shift 2 ;;
            --ssl-dir) SSL_DIR=$(readlink -f "$2"); shift 2 ;;
            --require-secure-transport) REQUIRE_TLS=1; shift ;;
            *) die "up: unknown argument '$1'" ;;
        esac
    done
    case $layout in
        single) [ "$n" -eq 0 ] && n=1; [ "$n" -eq 1 ] || die "up: single takes -n 1" ;;
        star) [ "$n" -eq 0 ] && n=4; [ "$n" -ge 1 ] || die "up: star needs -n >= 1" ;;
        chain) [ "$n" -eq 0 ] && n=4; [ "$n" -ge 2 ] || die "up: chain needs -n >= 2" ;;
        comaster) [ "$n" -eq 0 ] && n=4; [ "$n" -ge 2 ] || die "up: comaster needs -n >= 2" ;;
        *) die "up: unknown layout '$layout' (star, chain, single, comaster)" ;;
    esac
    [ "$n" -le 64 ] || die "up: at most 64 instances"
    if [ -f "$DIR/instances" ]; then
        for name in $(instance_names); do
            load_state "$name"
            pid_is_ours "$PID" "$(idir_of "$name")" && die "sandbox in '$DIR' is already up"
        done
    fi
    [ ${#DIR} -le 90 ] || die "up: '$DIR' is too long for unix socket paths (max 90 chars)"
    t0=$(now_ms)
    UP_IN_PROGRESS=1
    trap on_exit EXIT
    ensure_template
    if [ -n "$base_port" ]; then
        for ((i = 0; i < n; i++)); do ports+=($((base_port + i))); done
    else
        read -r -a ports < <(free_ports "$n")
    fi
    mkdir -p "$DIR"
    echo "$layout" >"$DIR/layout"
    : >"$DIR/instances"
    exec 9<"$TEMPLATE_DIR/lock"
    flock -s -w 300 9 || die "timed out waiting for the template lock"
    for ((i = 1; i <= n; i++)); do
        NAME=i$i PORT=${ports[$((i - 1))]} SERVER_ID=$i MASTER=$(master_of "$layout" "$i") PID=""
        local idir
        idir=$(idir_of "$NAME")
        rm -rf "$idir"
        mkdir -p "$idir/tmp"
        cp -a --reflink=auto "$TEMPLATE_DIR/current/data" "$idir/data"
        write_instance_cnf "$idir" "$PORT" "$SERVER_ID"
        save_state
        echo "$NAME" >>"$DIR/instances"
    done
    flock -u 9
    exec 9<&-
    mapfile -t names < <(instance_names)
    start_all "$([ -z "$base_port" ] && echo 1 || echo 0)" "${names[@]}"
    for name in $(instance_names); do
        load_state "$name"
        [ -n "$MASTER" ] || continue
        local mname=$MASTER
        load_state "$mname"
        attach_replica "$name" "$PORT"
        replicas+=("$name")
    done
    [ ${#replicas[@]} -eq 0 ] || wait_replicating "${replicas[@]}"
    if [ "$layout" = comaster ]; then
        # i1 replicates from i2 as well (co-masters) and stays the writable one
        load_state i2
        attach_replica i1 "$PORT"
        root_sql i1 "SET GLOBAL read_only=0"
        wait_replicating i1
    fi
    write_json
    for name in $(instance_names); do
        load_state "$name"
        echo "$NAME $PORT"
    done
    UP_IN_PROGRESS=0
    echo "sandbox: $layout of $n up in $(($(now_ms) - t0)) ms" >&2
}

cmd_down() {
    local name pids=() idirs=() t0 k
    for name in $(instance_names); do
        load_state "$name"
        if pid_is_ours "$PID" "$(idir_of "$name")"; then
            kill -TERM "$PID" 2>/dev/null || true
            pids+=("$PID")
            idirs+=("$(idir_of "$name")")
        fi
        PID=""
        save_state
    done
    t0=$(now_ms)
    for k in "${!pids[@]}"; do
        while pid_alive "${pids[$k]}"; do
            if [ $(($(now_ms) - t0)) -ge $((STOP_TIMEOUT * 1000)) ]; then
                pid_is_ours "${pids[$k]}" "${idirs[$k]}" && kill -KILL "${pids[$k]}" 2>/dev/null
            fi
            sleep 0.02
        done
    done
    write_json
}

cmd_status() {
    local name state
    for name in $(instance_names); do
        load_state "$name"
        if pid_is_ours "$PID" "$(idir_of "$name")"; then state=running; else state=stopped; fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$NAME" "$PORT" "${PID:--}" "$state" "${MASTER:+replica-of-$MASTER}"
    done
}

cmd_stop_kill() {
    local sig=$1 name=$2
    load_state "$name"
    terminate_pid "$PID" "$(idir_of "$name")" "$sig"
    PID=""
    save_state
    write_json
}

cmd_start() {
    local name=$1
    load_state "$name"
    pid_is_ours "$PID" "$(idir_of "$name")" && { echo "$NAME $PORT"; return 0; }
    start_all 0 "$name"
    write_json
    load_state "$name"
    echo "$NAME $PORT"
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    DIR=""
    local args=()
    while [ $# -gt 0 ]; do
        case $1 in
            --dir) DIR=$2; shift 2 ;;
            *) args+=("$1"); shift ;;
        esac
    done
    [ -n "$cmd" ] || die "usage: sandbox.sh up|down|status|stop|kill|start|sql --dir DIR ..."
    [ -n "$DIR" ] || die "$cmd: --dir DIR is required"
    mkdir -p "$DIR"
    DIR=$(readlink -f "$DIR")
    set -- "${args[@]+"${args[@]}"}"
    case $cmd in
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        status) cmd_status ;;
        stop) [ $# -eq 1 ] || die "stop NAME"; cmd_stop_kill TERM "$1" ;;
        kill) [ $# -eq 1 ] || die "kill NAME"; cmd_stop_kill KILL "$1" ;;
        start) [ $# -eq 1 ] || die "start NAME"; cmd_start "$1" ;;
        sql) [ $# -eq 2 ] || die "sql NAME STATEMENT"; load_state "$1"; root_sql "$1" "$2" ;;
        *) die "unknown command '$cmd'" ;;
    esac
}

main "$@"
