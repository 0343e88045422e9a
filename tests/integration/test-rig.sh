#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tests the integration rig itself: three hosts with systemd as PID 1 and their
# own buses, isolated from the machine and from each other, reachable on the
# rig's subnet, cut and healed, power-killed and booted again, and a teardown
# that leaves nothing behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/rig.sh
source "$here/rig.sh"

rig_skip_unless_usable
rig_use_fresh trig
rig_trap

failures=0

# Runs a command quietly and records a failure (with its output) unless it
# succeeds.
check() {
        local what=$1 out
        shift
        if out=$("$@" 2>&1); then
                echo "ok   $what"
        else
                echo "FAIL $what"
                [[ -n $out ]] && sed 's/^/     /' <<<"$out"
                failures=$((failures + 1))
        fi
}

# Records a failure unless the two strings are equal.
check_eq() {
        local what=$1 got=$2 want=$3
        if [[ $got == "$want" ]]; then
                echo "ok   $what"
        else
                echo "FAIL $what: got '$got', expected '$want'"
                failures=$((failures + 1))
        fi
}

# Succeeds when FROM gets an answer from TO's address within a second.
reachable() {
        rig_exec "$1" ping -n -q -c 1 -W 1 "$(rig_ip "$2")" >/dev/null
}

# Succeeds when the command fails.
not() {
        ! "$@"
}

unreachable() {
        not reachable "$@"
}

# Waits up to 5 s for FROM to reach TO (a link that just came up).
reachable_soon() {
        local deadline
        deadline=$(rig__deadline 5)
        until reachable "$1" "$2"; do
                rig__before "$deadline" || return 1
        done
}

# Lists the distinct lines of its input count: succeeds when all N differ.
all_distinct() {
        local n=$1
        shift
        [[ $(printf '%s\n' "$@" | sort -u | wc -l) -eq $n ]]
}

# What the machine looks like before the rig, to compare after teardown.
machine_id=$(</etc/machine-id)
had_utab=no
[[ -e /run/mount/utab ]] && had_utab=yes
# The cgroup roots' entries other than the rig's own pes-rig dir.
cg_roots() {
        ls /sys/fs/cgroup/systemd /sys/fs/cgroup/unified | grep -vx pes-rig
}
cg_before=$(cg_roots)

# --- boot ------------------------------------------------------------------
start=$(date +%s%N)
rig_up 3
boot_ms=$((($(date +%s%N) - start) / 1000000))
echo "booted 3 hosts in $boot_ms ms"
check "3 hosts boot within 10 s" test "$boot_ms" -lt 10000

hosts=(h1 h2 h3)
declare -A pid mid busid
for h in "${hosts[@]}"; do
        pid[$h]=$(rig_pid "$h")
        check_eq "$h: PID 1 is systemd" "$(rig_exec "$h" cat /proc/1/comm)" systemd
        check_eq "$h: systemd reports running" "$(rig_exec "$h" systemctl is-system-running)" running
        check_eq "$h: hostname" "$(rig_exec "$h" hostname)" "$h"
        check_eq "$h: /etc/hostname" "$(rig_exec "$h" cat /etc/hostname)" "$h"
        mid[$h]=$(rig_exec "$h" cat /etc/machine-id)
        check_eq "$h: dbus machine id is the host's" "$(rig_exec "$h" cat /var/lib/dbus/machine-id)" "${mid[$h]}"
        # The bus's own id, asked over the host's system bus, and systemd
        # answering on that bus.
        busid[$h]=$(rig_exec "$h" busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId)
        check_eq "$h: systemd answers on the host's bus" \
                "$(rig_exec "$h" busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Virtualization)" \
                's "container-other"'
        check_eq "$h: bus owner of org.freedesktop.systemd1 is the host's PID 1" \
                "$(rig_exec "$h" busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID s org.freedesktop.systemd1)" \
                "u 1"
        check "$h: only lo and eth0 in /sys/class/net" test "$(rig_exec "$h" ls /sys/class/net | tr '\n' ' ')" == "eth0 lo "
        check_eq "$h: address" "$(rig_exec "$h" ip -4 -o addr show dev eth0 | awk '{ print $4 }')" "$(rig_ip "$h")/24"
        check_eq "$h: no default route" "$(rig_exec "$h" ip route show default)" ""
        check "$h: global sysctls are read-only" rig_exec "$h" sh -c '! (echo 60 >/proc/sys/vm/swappiness) 2>/dev/null'
        check "$h: network sysctls are writable" rig_exec "$h" sh -c 'echo 1 >/proc/sys/net/ipv4/conf/eth0/forwarding && echo 0 >/proc/sys/net/ipv4/conf/eth0/forwarding'
        check "$h: systemd's cgroups are under the host's dir" test -d "$RIG_CG_SYSTEMD/$RIG_ID/$h/init.scope"
        check_eq "$h: the build's pesctl runs" "$(rig_exec "$h" pesctl --version)" "pesctl $(sed -n "s/^ *version : '\(.*\)',/\1/p" "$here/../../meson.build")"
        check "$h: the build's pesd runs" rig_exec "$h" /usr/local/sbin/pesd --version
        check "$h: pes-tick is installed" rig_exec "$h" test -x /usr/local/bin/pes-tick
        check "$h: pesctl is a copy, not the build's file" test ! "/proc/${pid[$h]}/root/usr/local/bin/pesctl" -ef "$RIG_BUILD/src/ctl/pesctl"
done
check "machine ids differ" all_distinct 4 "${mid[@]}" "$machine_id"
check "bus ids differ" all_distinct 3 "${busid[@]}"
check_eq "no host wrote into the machine's cgroup roots" "$(cg_roots)" "$cg_before"
check "the shared dir is shared" rig_exec h1 sh -c 'echo from-h1 >/run/rig/probe'
check_eq "h2 reads what h1 wrote in /run/rig" "$(rig_exec h2 cat /run/rig/probe)" from-h1
check_eq "the root namespace sees it too" "$(cat "$(rig_shared)/probe")" from-h1

# --- network ---------------------------------------------------------------
check "h1 reaches h2" reachable h1 h2
check "h1 reaches h3" reachable h1 h3
check "h3 reaches h2" reachable h3 h2

rig_cut h2
check "cut h2: h1 cannot reach h2" unreachable h1 h2
check "cut h2: h3 cannot reach h2" unreachable h3 h2
check "cut h2: h1 still reaches h3" reachable h1 h3
rig_heal h2
check "heal h2: h1 reaches h2" reachable_soon h1 h2
check "heal h2: h2 reaches h3" reachable_soon h2 h3

rig_cut_pair h1 h3
check "cut pair h1-h3: h1 cannot reach h3" unreachable h1 h3
check "cut pair h1-h3: h3 cannot reach h1" unreachable h3 h1
check "cut pair h1-h3: h1 reaches h2" reachable h1 h2
check "cut pair h1-h3: h2 reaches h3" reachable h2 h3
rig_heal_pair h1 h3
check "heal pair h1-h3: h1 reaches h3" reachable_soon h1 h3

# --- power loss and boot ---------------------------------------------------
rig_exec h3 sh -c 'echo state >/var/lib/pes/marker && echo conf >/etc/pes/marker && echo volatile >/run/marker'
old=${pid[h3]}
start=$(date +%s%N)
rig_kill h3
echo "power-killed h3 in $((($(date +%s%N) - start) / 1000000)) ms"
check "kill h3: its systemd is gone" test ! -e "/proc/$old"
check "kill h3: its netns is gone" test ! -e "/run/netns/pes-rig-$RIG_ID-h3"
check "kill h3: its veth is gone" not ip link show "pr-$RIG_ID-h3"
check "kill h3: its cgroup dirs are gone" test ! -e "$RIG_CG_SYSTEMD/$RIG_ID/h3" -a ! -e "$RIG_CG_UNIFIED/$RIG_ID/h3"
check "kill h3: h1 cannot reach h3" unreachable h1 h3
check "kill h3: the rig sees it down" not rig_running h3

start=$(date +%s%N)
rig_boot h3
echo "booted h3 again in $((($(date +%s%N) - start) / 1000000)) ms"
check "boot h3: a new systemd" test "$(rig_pid h3)" != "$old"
check_eq "boot h3: running" "$(rig_exec h3 systemctl is-system-running)" running
check_eq "boot h3: /var/lib/pes kept" "$(rig_exec h3 cat /var/lib/pes/marker)" state
check_eq "boot h3: /etc/pes kept" "$(rig_exec h3 cat /etc/pes/marker)" conf
check "boot h3: /run is new" rig_exec h3 test ! -e /run/marker
check_eq "boot h3: same machine id" "$(rig_exec h3 cat /etc/machine-id)" "${mid[h3]}"
check "boot h3: h1 reaches h3" reachable_soon h1 h3
check "boot h3: h3 reaches h2" reachable_soon h3 h2

old=$(rig_pid h2)
start=$(date +%s%N)
rig_poweroff h2
echo "clean poweroff of h2 in $((($(date +%s%N) - start) / 1000000)) ms"
check "poweroff h2: its systemd is gone" test ! -e "/proc/$old"
check "poweroff h2: its netns is gone" test ! -e "/run/netns/pes-rig-$RIG_ID-h2"
check "poweroff h2: the console log shows the shutdown" grep -q "Power-Off\|poweroff\|Powering off" "$(rig_console h2)"
rig_boot h2
check_eq "boot h2 after poweroff: running" "$(rig_exec h2 systemctl is-system-running)" running

# A unit installed and enabled in one host starts there at boot, and only
# there: every host has its own /etc/systemd/system.
probe=$(mktemp -d)
printf '%s\n' '[Unit]' 'Description=rig probe' '[Service]' 'Type=oneshot' \
        'RemainAfterExit=yes' 'ExecStart=/bin/true' '[Install]' 'WantedBy=multi-user.target' \
        >"$probe/rig-probe.service"
rig_install_unit h1 "$probe/rig-probe.service"
rm -rf "$probe"
check "h1: an installed unit starts" rig_exec h1 systemctl start rig-probe.service
check "h1: and can be enabled" rig_exec h1 systemctl enable --quiet rig-probe.service
check "h2: does not have it" not rig_exec h2 systemctl cat rig-probe.service

# Power loss of all hosts at once, then all boot again.
start=$(date +%s%N)
rig_kill h1 h2 h3
rig_boot
echo "power-killed and booted all 3 hosts in $((($(date +%s%N) - start) / 1000000)) ms"
for h in "${hosts[@]}"; do
        check_eq "$h: running after the power loss of all" "$(rig_exec "$h" systemctl is-system-running)" running
done
check_eq "h1: the enabled unit started at boot" "$(rig_exec h1 systemctl is-active rig-probe.service)" active
check "h1 reaches h2 after the power loss of all" reachable_soon h1 h2
check "h3 reaches h1 after the power loss of all" reachable_soon h3 h1

# --- teardown --------------------------------------------------------------
declare -a procs=()
for h in "${hosts[@]}"; do
        procs+=("$(rig_pid "$h")" "$(<"$RIG_DIR/$h/launcher.pid")")
done
netns_ino=$(stat -L -c %i "/run/netns/pes-rig-$RIG_ID-h1")
start=$(date +%s%N)
rig_down
echo "tore the rig down in $((($(date +%s%N) - start) / 1000000)) ms"

check "no netns of the rig" sh -c "! ip netns list | grep -q pes-rig-$RIG_ID-"
check "no links of the rig" sh -c "! ip -o link | grep -q ' pr-$RIG_ID'"
check "no mounts of the rig" sh -c "! grep -q -e 'pes-rig-$RIG_ID-' -e '/pes-rig/$RIG_ID/' /proc/self/mountinfo"
check "no rig dir" test ! -e "$RIG_DIR"
check "no cgroup dirs" test ! -e "$RIG_CG_SYSTEMD/$RIG_ID" -a ! -e "$RIG_CG_UNIFIED/$RIG_ID"
check "no process of the rig alive" sh -c "! for p in ${procs[*]}; do [ -d /proc/\$p ] && ! grep -q '^State:.*Z' /proc/\$p/status && echo \$p; done | grep ."
check "no process left in a host's network namespace" \
        sh -c "! for p in /proc/[0-9]*; do [ \"\$(stat -L -c %i \$p/ns/net 2>/dev/null)\" = $netns_ino ] && echo \$p; done | grep ."
check_eq "the machine's cgroup roots are as before" "$(cg_roots)" "$cg_before"
check "no pes-rig cgroup dir once no rig is left" test -n "$(compgen -G "$RIG_TOP/[a-z0-9]*")" -o ! -e "$RIG_CG_SYSTEMD" -a ! -e "$RIG_CG_UNIFIED"
check_eq "the machine's mount utab is as before" "$([[ -e /run/mount/utab ]] && echo yes || echo no)" "$had_utab"
if ! compgen -G "$RIG_TOP/[a-z0-9]*" >/dev/null; then
        check "no blackhole route once no rig is left" sh -c "! ip route show type blackhole | grep -q '$RIG_SUBNET'"
fi

if ((failures)); then
        echo "$failures checks failed"
        exit 1
fi
echo "all rig checks passed"
