# SPDX-License-Identifier: MIT
# Shared helpers of the daemon tests: N pesd processes on loopback ports, each with
# a private system bus (its own dbus-daemon) and state dir, torn down on exit.
set -euo pipefail

: "${PESD:?PESD must name the pesd binary}"
: "${PESCTL:?PESCTL must name the pesctl binary}"
: "${PES_TICK:?PES_TICK must name the pes-tick binary}"
: "${CHECK_TICKS:?CHECK_TICKS must name the check-ticks script}"
: "${PES_DBUS_POLICY:?PES_DBUS_POLICY must name dbus/org.pes1.conf}"

if [[ $(id -u) -ne 0 ]]; then
        echo "SKIP: the daemon tests run as root (pesd's Acquire is root-only)"
        exit 77
fi

TD=$(mktemp -d /tmp/pes-daemon-test.XXXXXX)
chmod 755 "$TD"
# A port range of our own per run; a clash with another user of the port fails loudly.
BASE_PORT=$((21000 + (RANDOM % 400) * 10))
NODES=0
declare -a BG_PIDS=()

log() {
        printf '[%(%T)T] %s\n' -1 "$*"
}

fail() {
        log "FAIL: $*"
        for i in $(seq 1 "$NODES"); do
                echo "---- pesd n$i log (tail, without message traces)"
                grep -v "pesd: From \|pesd: Synced" "$TD/n$i/pesd.log" 2>/dev/null | tail -n 30 || true
                if [[ -s $TD/holder.n$i.out ]]; then
                        echo "---- client on n$i"
                        tail -n 10 "$TD/holder.n$i.out"
                fi
        done
        exit 1
}

cleanup() {
        local pid
        for pid in "${BG_PIDS[@]}"; do
                kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        done
        for i in $(seq 1 "$NODES"); do
                [[ -f $TD/n$i/pesd.pid ]] && kill -CONT "$(cat "$TD/n$i/pesd.pid")" 2>/dev/null || true
                [[ -f $TD/n$i/pesd.pid ]] && kill -KILL "$(cat "$TD/n$i/pesd.pid")" 2>/dev/null || true
                [[ -f $TD/n$i/bus.pid ]] && kill -KILL "$(cat "$TD/n$i/bus.pid")" 2>/dev/null || true
        done
        if [[ ${PES_TEST_KEEP:-0} == 1 ]]; then
                echo "kept $TD"
        else
                rm -rf "$TD"
        fi
}
trap cleanup EXIT

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@"; do
                ((SECONDS < deadline)) || return 1
                sleep 0.05
        done
}

# Nanoseconds on CLOCK_MONOTONIC, the clock pes-tick stamps its lines with.
mono_ns() {
        python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))'
}

bus_of() {
        echo "unix:path=$TD/n$1/bus.sock"
}

# Runs pesctl against node $1.
pesctl_on() {
        local i=$1
        shift
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") "$PESCTL" --no-pager "$@"
}

write_configs() {
        local n=$1 peers="" i
        for i in $(seq 1 "$n"); do
                peers+="n$i@127.0.0.1:$((BASE_PORT + i)) "
        done
        python3 -c 'import os; print(os.urandom(32).hex())' > "$TD/cluster.key"
        chmod 600 "$TD/cluster.key"
        for i in $(seq 1 "$n"); do
                mkdir -p "$TD/n$i"
                cat > "$TD/n$i/pesd.conf" <<CONF
[Cluster]
Name=daemon-test
NodeName=n$i
Listen=127.0.0.1:$((BASE_PORT + i))
Peers=$peers
KeyFile=$TD/cluster.key
HeartbeatSec=${HEARTBEAT:-1s}
${VOTERS:+Voters=$VOTERS}
${MAX_LEASE:+MaxLeaseSec=$MAX_LEASE}

[Paths]
StateDir=$TD/n$i/state
RuntimeDir=$TD/n$i/run
CONF
                cat > "$TD/n$i/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$TD/n$i/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
  <include ignore_missing="no">$PES_DBUS_POLICY</include>
</busconfig>
CONF
        done
}

start_bus() {
        dbus-daemon --config-file="$TD/n$1/bus.conf" --fork --print-pid > "$TD/n$1/bus.pid"
}

start_pesd() {
        local i=$1
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") "$PESD" -c "$TD/n$i/pesd.conf" --log-level=debug \
                >> "$TD/n$i/pesd.log" 2>&1 &
        echo $! > "$TD/n$i/pesd.pid"
        wait_for 10 pesctl_on "$i" status > /dev/null 2>&1 || fail "pesd n$i did not come up"
}

quorate() {
        [[ $(pesctl_on "$1" status --json=short 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["quorate"])') == True ]]
}

# Boots N nodes and waits until each is quorate.
start_cluster() {
        NODES=$1
        write_configs "$NODES"
        for i in $(seq 1 "$NODES"); do
                start_bus "$i"
        done
        for i in $(seq 1 "$NODES"); do
                start_pesd "$i"
        done
        for i in $(seq 1 "$NODES"); do
                wait_for 10 quorate "$i" || fail "n$i is not quorate"
        done
        log "cluster of $NODES up on ports $((BASE_PORT + 1))…$((BASE_PORT + NODES))"
}

# Starts `pesctl acquire NAME -- pes-tick` on node $1 in its own session, so the
# whole group can be killed; the tick runs under hostname n$1 (a UTS namespace).
start_holder() {
        local i=$1 name=$2
        setsid bash -c "echo \$\$ > '$TD/holder.n$i.pid'; exec env DBUS_SYSTEM_BUS_ADDRESS='$(bus_of "$i")' \
                '$PESCTL' acquire '$name' -- unshare --uts sh -c 'hostname n$i; exec \"$PES_TICK\" \"$TD/ticks.log\"'" \
                > "$TD/holder.n$i.out" 2>&1 &
        BG_PIDS+=($!)
        wait_for 5 test -s "$TD/holder.n$i.pid" || fail "holder on n$i did not start"
}

holder_pid() {
        cat "$TD/holder.n$1.pid"
}

holder_running() {
        kill -0 "$(holder_pid "$1")" 2>/dev/null
}

# The node whose tick was written last, from the shared log.
last_ticker() {
        tail -n 1 "$TD/ticks.log" 2>/dev/null | cut -d' ' -f1
}

# Ticks written since $1 (a line count), by host.
tickers_since() {
        tail -n "+$(($1 + 1))" "$TD/ticks.log" 2>/dev/null | cut -d' ' -f1 | sort -u
}

tick_lines() {
        wc -l < "$TD/ticks.log" 2>/dev/null || echo 0
}

# Exactly one host ticks: the last 20 lines name one host only.
one_ticker() {
        local n
        n=$(tail -n 20 "$TD/ticks.log" 2>/dev/null | cut -d' ' -f1 | sort -u | wc -l)
        [[ $n -eq 1 ]]
}

check_ticks() {
        "$CHECK_TICKS" "$TD/ticks.log" || fail "the tick log shows two holders at once"
}

lookup_owner() {
        pesctl_on "$1" lookup "$2" --json=short | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["owner"], d["token"])'
}

# Boots three nodes, starts a client holding NAME on each, and waits until one
# has held it for a second (100 ticks); sets FIRST (its node) and FIRST_I.
three_holders() {
        local name=$1 i
        start_cluster 3
        for i in 1 2 3; do
                start_holder "$i" "$name"
        done
        wait_for 10 test -s "$TD/ticks.log" || fail "no client got the name"
        FIRST=$(last_ticker)
        FIRST_I=${FIRST#n}
        wait_for 10 bash -c "[[ \$(grep -c '^$FIRST ' '$TD/ticks.log') -ge 100 ]]" || fail "$FIRST stopped ticking"
}
