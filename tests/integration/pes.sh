# SPDX-License-Identifier: MIT
# pes on the integration rig: boots hosts running pesd from the build tree with
# one cluster configuration, declares units, finds owners, reads the oracle.
#
#       source pes.sh
#       pes_setup scen1 3 pes-tick.service   # rig "scen1": h1..h3, pesd up, unit declared
#       owner=$(pes_wait_owner pes-tick.service)
#       pes_check_ticks                       # fails on any overlap or lower token
#
# Settings: PES_BUILD (meson build dir, required), PES_HEARTBEAT (HeartbeatSec=,
# default 1s), PES_MAX_PAUSE (MaxPauseSec=, default 200ms), PES_MAX_LEASE
# (MaxLeaseSec=, T_max; unset: pesd's default), PES_UNIT_SETTINGS (extra
# [Supervise] lines for every unit), PES_VOTERS (Voters=, e.g. "h1 h2 h3"),
# PES_UNIT_HOSTS (the hosts that declare the units; default all), PES_SOLO (how
# many of the last hosts are not in Peers=: each is configured as a cluster of
# its own, to be joined at run time with `pesctl join`).
set -euo pipefail

PES_IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PES_SRC=$(cd "$PES_IT_DIR/../.." && pwd)
# shellcheck source=tests/integration/rig.sh
source "$PES_IT_DIR/rig.sh"

: "${PES_BUILD:?PES_BUILD must name the meson build dir}"
PES_BUILD=$(cd "$PES_BUILD" && pwd)

pes_log() {
        printf '[%(%T)T] %s\n' -1 "$*"
}

pes_fail() {
        pes_log "FAIL: $*"
        exit 1
}

# Waits up to $1 seconds for the command after it to succeed.
pes_wait() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@"; do
                ((SECONDS < deadline)) || return 1
                sleep 0.05
        done
}

pes_mono_ns() {
        python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))'
}

pes_hosts() {
        rig_hosts
}

# Writes host h's pesd.conf, the cluster key and the declarations of the units.
pes__configure() {
        local h=$1 key=$2 peers=$3 etc unit
        shift 3
        etc=$(rig_host_dir "$h")/etc-pes
        mkdir -p "$etc/units.d"
        (umask 077 && echo "$key" >"$etc/cluster.key")
        cat >"$etc/pesd.conf" <<CONF
[Cluster]
Name=rig-$RIG_ID
NodeName=$h
Listen=$(rig_ip "$h")
Peers=$peers
KeyFile=/etc/pes/cluster.key
HeartbeatSec=${PES_HEARTBEAT:-1s}
MaxPauseSec=${PES_MAX_PAUSE:-200ms}
CONF
        if [[ -n ${PES_MAX_LEASE:-} ]]; then
                echo "MaxLeaseSec=$PES_MAX_LEASE" >>"$etc/pesd.conf"
        fi
        if [[ -n ${PES_VOTERS:-} && $peers == *" "*" "* ]]; then
                echo "Voters=$PES_VOTERS" >>"$etc/pesd.conf"
        fi
        if [[ -n ${PES_UNIT_HOSTS:-} && " $PES_UNIT_HOSTS " != *" $h "* ]]; then
                return 0
        fi
        for unit in "$@"; do
                printf '[Supervise]\n%s\n' "${PES_UNIT_SETTINGS:-}" >"$etc/units.d/$unit.conf"
        done
}

pes__on_exit() {
        local status=$?
        # Under set -e, the "(exit $status)" below would end the trap early.
        set +e
        pes_watch_stop
        [[ -n ${PES__STAGE:-} ]] && rm -rf "$PES__STAGE"
        # rig__on_exit dumps the hosts on failure, tears the rig down and exits.
        (exit "$status")
        rig__on_exit
}

# Boots rig ID with N hosts running pesd, every host declaring the given units
# (whose unit files are in tests/integration/units), and waits until each pesd
# is quorate.
pes_setup() {
        local id=$1 n=$2 h peers="" key stage
        shift 2
        rig_skip_unless_usable
        rig_use_fresh "$id"
        # The rig copies units into the hosts at every boot: the staging dir
        # lives beside the rig and goes with it.
        stage=$RIG_TOP/$id.units
        rm -rf "$stage"
        mkdir -p "$stage"
        PES__STAGE=$stage
        trap pes__on_exit EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        cp "$PES_BUILD/units/pesd.service" "$PES_IT_DIR"/units/*.service "$PES_IT_DIR"/units/*.timer "$stage"/
        export RIG_BUILD=$PES_BUILD RIG_UNITS=$stage RIG_DBUS=$PES_SRC/dbus
        rig_create "$n"
        local members=$((n - ${PES_SOLO:-0}))
        for i in $(seq 1 "$members"); do
                peers+="h$i@$(rig_ip "h$i") "
        done
        key=$(python3 -c 'import os; print(os.urandom(32).hex())')
        for i in $(seq 1 "$n"); do
                if ((i <= members)); then
                        pes__configure "h$i" "$key" "$peers" "$@"
                else
                        pes__configure "h$i" "$key" "h$i@$(rig_ip "h$i")" "$@"
                fi
        done
        rig_boot
        pes_start_pesd $(rig_hosts)
}

# `pesctl join` on host h, naming h1 (a member): h becomes a candidate.
pes_join() {
        rig_exec "$1" pesctl join "$(rig_ip h1):7480" || pes_fail "pesctl join on $1 failed"
}

# `pesctl nodes --json` on host h (default h1).
pes_nodes_json() {
        rig_exec "${1:-h1}" pesctl nodes --json=short
}

# The voters host h (default h1) lists, sorted, on one line.
pes_voters() {
        pes_nodes_json "${1:-h1}" | python3 -c 'import json,sys; print(" ".join(sorted(n["node"] for n in json.load(sys.stdin) if n["role"].startswith("voter"))))'
}

# The members host h (default h1) lists, sorted, on one line.
pes_members() {
        pes_nodes_json "${1:-h1}" | python3 -c 'import json,sys; print(" ".join(sorted(n["node"] for n in json.load(sys.stdin))))'
}

# Starts pesd on the given hosts and waits until each is quorate.
pes_start_pesd() {
        local h
        for h in "$@"; do
                rig_exec "$h" systemctl start --no-block pesd.service
        done
        for h in "$@"; do
                pes_wait 20 pes_quorate "$h" || pes_fail "pesd on $h is not quorate"
        done
}

pes_quorate() {
        [[ $(rig_exec "$1" pesctl status --json=short 2>/dev/null |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["quorate"])' 2>/dev/null) == True ]]
}

# Prints the hosts where pesd says this host holds unit (ListUnits), one a line.
pes_holders() {
        local unit=$1 h
        for h in $(rig_hosts); do
                rig_running "$h" || continue
                if rig_exec "$h" pesctl units --json=short 2>/dev/null |
                        python3 -c 'import json,sys; u=[x for x in json.load(sys.stdin) if x["unit"]==sys.argv[1]]; sys.exit(0 if u and u[0]["here"] else 1)' "$unit"; then
                        echo "$h"
                fi
        done
}

# Prints the hosts where systemd says unit is active, one a line.
pes_active_on() {
        local unit=$1 h
        for h in $(rig_hosts); do
                rig_running "$h" || continue
                [[ $(rig_exec "$h" systemctl is-active "$unit" 2>/dev/null) == active ]] && echo "$h"
        done
        return 0
}

pes__one_active() {
        [[ $(pes_active_on "$1" | wc -l) -eq 1 ]]
}

# Waits until unit is active on exactly one host and prints it.
pes_wait_owner() {
        pes_wait "${2:-20}" pes__one_active "$1" || pes_fail "$1 is not active on exactly one host: $(pes_active_on "$1" | tr '\n' ' ')"
        pes_active_on "$1"
}

pes_ticks_log() {
        echo "$(rig_shared)/ticks.log"
}

# Waits until host h wrote at least n ticks since line `from` of the log.
pes_wait_ticks() {
        local h=$1 n=$2 from=${3:-0} log
        log=$(pes_ticks_log)
        pes_wait "${4:-20}" bash -c "[[ \$(tail -n +$((from + 1)) '$log' 2>/dev/null | grep -c '^$h ') -ge $n ]]"
}

pes_tick_lines() {
        wc -l <"$(pes_ticks_log)" 2>/dev/null || echo 0
}

# The first tick after line `from` by a host other than h: "HOST NS TOKEN".
pes_first_tick_not_by() {
        tail -n "+$(($2 + 1))" "$(pes_ticks_log)" | grep -v "^$1 " | head -n 1
}

pes_last_tick_by() {
        grep "^$1 " "$(pes_ticks_log)" | tail -n 1
}

# The oracle: no two hosts ticking at once, tokens never decreasing.
pes_check_ticks() {
        "$PES_IT_DIR/check-ticks" --strict-tokens "$(pes_ticks_log)" || pes_fail "the tick log shows an overlap or a lower token"
}

# Snapshot of unit instances: "UNIT HOST INVOCATION_ID" for every active unit
# matching the pattern on every running host, sorted.
pes_instances() {
        local pattern=$1 h
        for h in $(rig_hosts); do
                rig_running "$h" || continue
                rig_exec "$h" bash -c "for u in \$(systemctl list-units --state=active --no-legend --plain '$pattern' | awk '{print \$1}'); do
                        echo \"\$u $h \$(systemctl show -P InvocationID \"\$u\")\"; done"
        done | sort
}

# Samples every running host every 0.2 s until stopped and appends to file out
# every unit matching the pattern that shows active on two hosts in one sample
# (a sample reads the hosts one after the other, so a unit that moves can show
# twice without overlapping; the scenarios using this expect no moves at all).
pes_watch_overlap() {
        local pattern=$1 out=$2
        : >"$out"
        (
                while :; do
                        for h in $(rig_hosts); do
                                rig_running "$h" || continue
                                rig_exec "$h" systemctl list-units --state=active --no-legend --plain "$pattern" 2>/dev/null |
                                        awk -v h="$h" '{print $1, h}'
                        done | awk '{n[$1]++; hs[$1]=hs[$1] " " $2} END {for (u in n) if (n[u] > 1) print u ":" hs[u]}' >>"$out"
                        sleep 0.2
                done
        ) &
        PES_WATCH_PID=$!
}

pes_watch_stop() {
        [[ -n ${PES_WATCH_PID:-} ]] || return 0
        kill "$PES_WATCH_PID" 2>/dev/null || true
        wait "$PES_WATCH_PID" 2>/dev/null || true
        PES_WATCH_PID=
}
