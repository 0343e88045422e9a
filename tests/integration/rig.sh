# SPDX-License-Identifier: MIT
# The integration rig as a bash library: boots hosts with real systemd as PID 1
# in namespaces on this machine, joins them by a bridge, and tears them down.
#
# Source it from a test (set -euo pipefail is expected), then for example:
#
#       rig_skip_unless_usable          # exit 77 unless root with systemd
#       rig_use_fresh tx                # pick the rig id, clean up a stale one
#       rig_trap                        # tear down on EXIT, INT and TERM
#       rig_up 3                        # boot h1 h2 h3 and wait until running
#       rig_exec h1 systemctl is-system-running
#
# Facts and layout (see README.md beside this file):
#   - hosts are h1..hN with addresses 10.231.7.(10+N)/24 on eth0, no default
#     route; the root namespace blackholes 10.231.7.0/24;
#   - a rig's state lives in $RIG_TOP/<id> (RIG_TOP defaults to /run/pes-rig);
#   - a host's systemd is started by tests/integration/rig-init;
#   - the rig's shared dir ($RIG_DIR/shared outside) is /run/rig in every host.
#
# Settings read from the environment when a rig is created, and kept with it:
#   RIG_BUILD   a meson build dir whose pesd, pesctl and pes-tick are copied to
#               /usr/local/{sbin,bin} in every host at each boot;
#   RIG_UNITS   colon-separated dirs whose contents are copied into every host's
#               /etc/systemd/system at each boot;
#   RIG_DBUS    colon-separated dirs whose *.conf bus policies are copied into
#               every host's /usr/local/share/dbus-1/system.d at each boot.

# shellcheck shell=bash
RIG_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RIG_TOP=${RIG_TOP:-/run/pes-rig}
RIG_SUBNET_PREFIX=10.231.7
RIG_SUBNET=$RIG_SUBNET_PREFIX.0/24
RIG_TARGET=pes-rig.target
RIG_SHARED_IN=/run/rig
RIG_CG_SYSTEMD=/sys/fs/cgroup/systemd/pes-rig
RIG_CG_UNIFIED=/sys/fs/cgroup/unified/pes-rig
# A MAC address no host has; a permanent neighbour entry pointing at it makes
# one peer unreachable from another without touching the rest.
RIG_NOWHERE_MAC=02:de:ad:00:00:00
# Seconds allowed for a boot, a clean poweroff, or a resource to go away.
RIG_TIMEOUT=${RIG_TIMEOUT:-30}

# Units that would act on the whole machine (clock, sysctls, modules, binfmt,
# utmp, disks, users, machine id, seeds), or that a host does not need.
RIG_MASKS=(
        systemd-sysctl.service systemd-modules-load.service kmod-static-nodes.service
        systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
        proc-sys-fs-binfmt_misc.mount systemd-remount-fs.service
        systemd-fsck-root.service systemd-update-utmp.service
        systemd-update-utmp-runlevel.service systemd-random-seed.service
        systemd-machine-id-commit.service systemd-firstboot.service
        systemd-sysusers.service systemd-journal-flush.service
        systemd-journald-audit.socket systemd-journal-catalog-update.service
        systemd-hwdb-update.service ldconfig.service systemd-update-done.service
        systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service
        systemd-tmpfiles-clean.service systemd-tmpfiles-clean.timer
        dev-hugepages.mount sys-fs-fuse-connections.mount sys-kernel-config.mount
        sys-kernel-debug.mount sys-kernel-tracing.mount
        systemd-pcrphase.service systemd-pcrphase-sysinit.service
        systemd-pcrphase-initrd.service systemd-repart.service
        systemd-logind.service getty.target getty@.service getty-static.service
        console-getty.service container-getty@.service serial-getty@.service
        systemd-timesyncd.service systemd-timedated.service systemd-localed.service
        packagekit.service packagekit-offline-update.service
        systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service
        systemd-udevd-control.socket systemd-udevd-kernel.socket
        systemd-pstore.service
)

# ---------------------------------------------------------------------------
# Small helpers.

rig__log() {
        echo "rig: $*" >&2
}

rig__die() {
        echo "rig: error: $*" >&2
        exit 1
}

# Prints seconds since the epoch with nanoseconds, for deadlines.
rig__now() {
        date +%s.%N
}

# Succeeds while the time given as a deadline (from rig__deadline) lies ahead.
rig__before() {
        [[ $(date +%s%N) -lt $1 ]]
}

# Prints a deadline SECONDS from now, in nanoseconds since the epoch.
rig__deadline() {
        echo $(($(date +%s%N) + ${1%.*} * 1000000000))
}

# Succeeds when a process exists and is not a zombie.
rig__alive() {
        local state
        [[ -r /proc/$1/stat ]] || return 1
        state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
        [[ -n $state && $state != Z && $state != X ]]
}

# Waits until a process is gone (reaped, or a zombie of someone else's), up to
# SECONDS; fails if it is still there.
rig__wait_gone() {
        local pid=$1 deadline
        deadline=$(rig__deadline "$2")
        while rig__alive "$pid"; do
                rig__before "$deadline" || return 1
                sleep 0.01
        done
}

# ---------------------------------------------------------------------------
# Selecting a rig and reading its layout.

# Selects rig ID (1 to 7 lowercase letters and digits, so interface names fit
# in 15 bytes) for the functions below.
rig_use() {
        local id=$1
        [[ $id =~ ^[a-z0-9]{1,7}$ ]] || rig__die "rig id '$id' must be 1-7 of [a-z0-9]"
        RIG_ID=$id
        RIG_DIR=$RIG_TOP/$id
        RIG_BRIDGE=pr-$id
}

# Prints the names of the rig's hosts, h1 first.
rig_hosts() {
        local d
        [[ -d $RIG_DIR ]] || return 0
        for d in "$RIG_DIR"/h*/; do
                [[ -d $d ]] || continue
                d=${d%/}
                echo "${d##*/}"
        done | sort -V
}

rig__check_host() {
        [[ $1 =~ ^h[0-9]+$ && -d $RIG_DIR/$1 ]] || rig__die "no host '$1' in rig $RIG_ID"
}

# Prints a host's address on the rig's subnet.
rig_ip() {
        [[ $1 =~ ^h([0-9]+)$ ]] || rig__die "bad host name '$1'"
        echo "$RIG_SUBNET_PREFIX.$((BASH_REMATCH[1] + 10))"
}

# Prints a host's MAC address: fixed per host, as a real NIC's is, so that the
# peers' neighbour entries stay right across a power-kill and boot.
rig__mac() {
        [[ $1 =~ ^h([0-9]+)$ ]] || rig__die "bad host name '$1'"
        printf '02:70:65:73:00:%02x\n' "${BASH_REMATCH[1]}"
}

rig__netns() {
        echo "pes-rig-$RIG_ID-$1"
}

rig__veth() {
        echo "pr-$RIG_ID-$1"
}

# Prints the path of a host's persistent files and dirs, in the root namespace.
rig_host_dir() {
        echo "$RIG_DIR/$1"
}

# Prints the path of the dir all hosts share, in the root namespace; inside a
# host it is $RIG_SHARED_IN (/run/rig).
rig_shared() {
        echo "$RIG_DIR/shared"
}

# Prints the path of a host's console log (all its boots, appended).
rig_console() {
        echo "$RIG_DIR/$1/console.log"
}

# Succeeds when PID is the systemd of HOST in this rig: its cgroup (as read
# from the root cgroup namespace) is the host's. Guards against pid reuse.
rig__is_host_pid() {
        local host=$1 pid=$2
        [[ -n $pid ]] || return 1
        rig__alive "$pid" || return 1
        grep -q "^[0-9]*:name=systemd:/pes-rig/$RIG_ID/$host\(/\|$\)" "/proc/$pid/cgroup" 2>/dev/null
}

# Prints the pid (in the root namespace) of a running host's systemd; fails
# when the host is not running.
rig_pid() {
        local pid=
        [[ -r $RIG_DIR/$1/pid ]] && pid=$(<"$RIG_DIR/$1/pid")
        rig__is_host_pid "$1" "$pid" || return 1
        echo "$pid"
}

# Succeeds when a host is running.
rig_running() {
        rig_pid "$1" >/dev/null
}

# ---------------------------------------------------------------------------
# Preconditions.

# Exits 77 (skipped, for meson) with the reason, unless this process can run
# a rig: root, systemd installed, the tools present, cgroup trees as expected.
rig_skip_unless_usable() {
        local why="" t
        if [[ $(id -u) -ne 0 ]]; then
                why="needs root"
        elif [[ ! -x /lib/systemd/systemd ]]; then
                why="systemd is not installed (/lib/systemd/systemd)"
        else
                for t in ip nsenter unshare script mountpoint setsid dbus-daemon; do
                        if ! command -v "$t" >/dev/null; then
                                why="missing tool: $t (run contrib/install-deps)"
                                break
                        fi
                done
        fi
        if [[ -z $why && ( ! -d /sys/fs/cgroup/systemd || ! -d /sys/fs/cgroup/unified ) ]]; then
                why="needs cgroup v1 name=systemd at /sys/fs/cgroup/systemd and cgroup2 at /sys/fs/cgroup/unified"
        fi
        if [[ -n $why ]]; then
                echo "SKIP: integration rig $why" >&2
                exit 77
        fi
}

# ---------------------------------------------------------------------------
# Creating a rig.

# Writes a host's persistent files: hostname, machine id, and its
# /etc/systemd/system with the masks and the boot target.
rig__host_create() {
        local host=$1 hd=$RIG_DIR/$1
        mkdir -p "$hd"/{etc-pes,var-lib-pes,var-lib-systemd,usr-local}
        echo "$host" >"$hd/hostname"
        tr -d -- '-\n' </proc/sys/kernel/random/uuid >"$hd/machine-id"
        echo >>"$hd/machine-id"
        cp -a "$RIG_DIR/masks" "$hd/system"
        cat >"$hd/system/$RIG_TARGET" <<EOF
# The boot target of a pes rig host: the system bus, and what is enabled
# for multi-user.target in this host.
[Unit]
Description=pes rig host
Requires=dbus.socket
Wants=dbus.service multi-user.target
After=dbus.socket dbus.service multi-user.target
AllowIsolate=yes
EOF
        # The system bus also reads bus policies from the host's /usr/local,
        # where the build's policies are staged.
        mkdir -p "$hd/system/dbus.service.d"
        cat >"$hd/system/dbus.service.d/50-rig.conf" <<EOF
[Service]
ExecStart=
ExecStart=/usr/bin/dbus-daemon --config-file=/usr/local/share/dbus-1/rig-system.conf --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only
EOF
}

# Creates the rig's shared parts: dirs, bridge, blackhole route, cgroup
# parents, and every host's persistent files. Hosts are not booted.
rig_create() {
        local n=${1:-3} i mp
        [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 99 ]] || rig__die "host count must be 1-99"
        [[ -n ${RIG_ID:-} ]] || rig__die "no rig selected (rig_use ID)"
        if [[ -e $RIG_DIR ]]; then
                rig__die "rig $RIG_ID exists ($RIG_DIR); tear it down first"
        fi
        if [[ -n ${RIG_BUILD:-} ]]; then
                RIG_BUILD=$(cd "$RIG_BUILD" && pwd) || rig__die "RIG_BUILD: no such dir"
        fi
        mkdir -p "$RIG_DIR/shared"
        chmod 1777 "$RIG_DIR/shared"
        {
                printf 'RIG_N=%q\n' "$n"
                printf 'RIG_BUILD=%q\n' "${RIG_BUILD:-}"
                printf 'RIG_UNITS=%q\n' "${RIG_UNITS:-}"
                printf 'RIG_DBUS=%q\n' "${RIG_DBUS:-}"
        } >"$RIG_DIR/rig.env"

        # Mountpoints for the per-host dirs, made on the machine only when
        # missing and removed again by the last rig's teardown.
        for mp in /etc/pes /var/lib/pes; do
                if [[ ! -d $mp ]]; then
                        mkdir -p "$mp"
                        echo "$mp" >>"$RIG_TOP/.made-mountpoints"
                fi
        done

        mkdir -p "$RIG_CG_SYSTEMD/$RIG_ID" "$RIG_CG_UNIFIED/$RIG_ID"

        ip route replace blackhole "$RIG_SUBNET"
        ip link add "$RIG_BRIDGE" type bridge
        rig__no_ipv6 "$RIG_BRIDGE"
        ip link set "$RIG_BRIDGE" up

        # The masks, as symlinks to /dev/null made by one process.
        mkdir "$RIG_DIR/masks"
        /usr/bin/python3 -c 'import os, sys
for u in sys.argv[2:]:
    os.symlink("/dev/null", os.path.join(sys.argv[1], u))' "$RIG_DIR/masks" "${RIG_MASKS[@]}"

        for ((i = 1; i <= n; i++)); do
                rig__host_create "h$i"
        done
}

# Keeps the root namespace from giving a link an IPv6 address, so it never
# sends anything (router solicitations, DAD) towards the hosts.
rig__no_ipv6() {
        if [[ -w /proc/sys/net/ipv6/conf/$1/disable_ipv6 ]]; then
                echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6"
        fi
}

# Loads the settings a rig was created with, unless overridden by the caller.
rig__load_env() {
        local env_build=${RIG_BUILD:-} env_units=${RIG_UNITS:-} env_dbus=${RIG_DBUS:-}
        [[ -r $RIG_DIR/rig.env ]] || rig__die "rig $RIG_ID does not exist ($RIG_DIR)"
        # shellcheck disable=SC1091
        source "$RIG_DIR/rig.env"
        RIG_BUILD=${env_build:-$RIG_BUILD}
        RIG_UNITS=${env_units:-$RIG_UNITS}
        RIG_DBUS=${env_dbus:-$RIG_DBUS}
}

# ---------------------------------------------------------------------------
# Booting.

# Copies the build, unit files and bus policies into a host's staging dirs, so
# that a rebuild never changes a running host.
rig__stage() {
        local hd=$RIG_DIR/$1 ul d f
        ul=$hd/usr-local
        rm -rf "$ul"
        mkdir -p "$ul"/{bin,sbin,lib,share/dbus-1/system.d}
        cat >"$ul/share/dbus-1/rig-system.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- The system bus of a pes rig host: the machine's configuration, plus the
     bus policies staged from the build under /usr/local. -->
<busconfig>
  <include>/usr/share/dbus-1/system.conf</include>
  <includedir>/usr/local/share/dbus-1/system.d</includedir>
</busconfig>
EOF
        if [[ -n ${RIG_BUILD:-} ]]; then
                for f in src/daemon/pesd src/ctl/pesctl; do
                        [[ -x $RIG_BUILD/$f ]] || rig__die "$RIG_BUILD/$f is missing: build first (ninja -C $RIG_BUILD)"
                done
                cp "$RIG_BUILD/src/daemon/pesd" "$ul/sbin/pesd"
                cp "$RIG_BUILD/src/ctl/pesctl" "$ul/bin/pesctl"
                if [[ -e $RIG_BUILD/src/ctl/pes-supervise ]]; then
                        cp -P "$RIG_BUILD/src/ctl/pes-supervise" "$ul/bin/pes-supervise"
                fi
                if [[ -x $RIG_BUILD/tests/integration/pes-tick ]]; then
                        cp "$RIG_BUILD/tests/integration/pes-tick" "$ul/bin/pes-tick"
                fi
        fi
        if [[ -n ${RIG_UNITS:-} ]]; then
                IFS=: read -ra dirs <<<"$RIG_UNITS"
                for d in "${dirs[@]}"; do
                        [[ -d $d ]] || rig__die "RIG_UNITS: no such dir: $d"
                        cp -a "$d/." "$hd/system/"
                done
        fi
        if [[ -n ${RIG_DBUS:-} ]]; then
                IFS=: read -ra dirs <<<"$RIG_DBUS"
                for d in "${dirs[@]}"; do
                        [[ -d $d ]] || rig__die "RIG_DBUS: no such dir: $d"
                        for f in "$d"/*.conf; do
                                [[ -e $f ]] && cp "$f" "$ul/share/dbus-1/system.d/"
                        done
                done
        fi
}

# Starts a host's systemd and returns without waiting for it to boot: network
# namespace and veth into the bridge, cgroup dirs, then rig-init under a pty
# whose output goes to the host's console log.
rig_boot_start() {
        local host=$1 hd ns veth cmd
        rig__check_host "$host"
        rig_running "$host" && rig__die "$host is already running"
        rig__load_env
        hd=$RIG_DIR/$host
        ns=$(rig__netns "$host")
        veth=$(rig__veth "$host")
        rm -f "$hd/pid" "$hd/launcher.pid"
        rig__host_cleanup "$host"
        rig__stage "$host"

        ip netns add "$ns"
        ip link add "$veth" type veth peer name eth0 address "$(rig__mac "$host")" netns "$ns"
        rig__no_ipv6 "$veth"
        ip link set "$veth" master "$RIG_BRIDGE" up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$(rig_ip "$host")/24" dev eth0
        ip -n "$ns" link set eth0 up

        mkdir -p "$RIG_CG_SYSTEMD/$RIG_ID/$host" "$RIG_CG_UNIFIED/$RIG_ID/$host"

        printf -v cmd 'exec nsenter --net=%q unshare --fork --pid --mount --uts --ipc --cgroup --mount-proc --kill-child=SIGKILL %q %q %q %q' \
                "/run/netns/$ns" "$RIG_LIBDIR/rig-init" "$hd" "$RIG_DIR/shared" "$RIG_TARGET"
        echo "---- rig $RIG_ID: boot $host at $(date '+%F %T.%N')" >>"$hd/console.log"
        # The launcher moves itself into the host's cgroup dirs (the cgroup
        # namespace is rooted there) and leaves this shell's session, so that
        # neither a terminal's ^C nor this shell's exit reaches the host.
        (
                SHELL=/bin/sh setsid bash -c \
                        'echo $$ >"$1/cgroup.procs" && echo $$ >"$2/cgroup.procs" && shift 2 && exec "$@"' \
                        rig-launch "$RIG_CG_SYSTEMD/$RIG_ID/$host" "$RIG_CG_UNIFIED/$RIG_ID/$host" \
                        script -qfeac "$cmd" "$hd/console.log" </dev/null >/dev/null 2>&1 &
                echo $! >"$hd/launcher.pid"
        )
}

# Finds a booting host's systemd (PID 1 of its pid namespace) among the
# processes of its network namespace and records it; waits up to SECONDS.
rig__find_pid() {
        local host=$1 deadline ns p
        deadline=$(rig__deadline "$2")
        ns=$(rig__netns "$host")
        while rig__before "$deadline"; do
                for p in $(ip netns pids "$ns" 2>/dev/null); do
                        if grep -qP '^NSpid:\t\d+\t1$' "/proc/$p/status" 2>/dev/null &&
                           rig__is_host_pid "$host" "$p"; then
                                echo "$p" >"$RIG_DIR/$host/pid"
                                return 0
                        fi
                done
                sleep 0.005
        done
        return 1
}

# Waits until a started host has booted: its systemd reports running (or
# degraded, printing the failed units). Fails after RIG_TIMEOUT seconds,
# printing the end of the host's console log.
rig_wait_booted() {
        local host=$1 deadline pid state=
        deadline=$(rig__deadline "$RIG_TIMEOUT")
        if ! rig__find_pid "$host" "$RIG_TIMEOUT"; then
                rig__log "$host: systemd did not start; console log:"
                tail -n 30 "$(rig_console "$host")" >&2 || true
                return 1
        fi
        pid=$(<"$RIG_DIR/$host/pid")
        while rig__before "$deadline"; do
                rig__alive "$pid" || break
                # The manager's private socket appears once it can answer.
                if [[ -S /proc/$pid/root/run/systemd/private ]]; then
                        state=$(nsenter -t "$pid" -a systemctl is-system-running 2>/dev/null) || true
                        case $state in
                        running)
                                return 0
                                ;;
                        degraded)
                                rig__log "$host: booted degraded; failed units:"
                                nsenter -t "$pid" -a systemctl --failed --no-legend --no-pager >&2 || true
                                return 0
                                ;;
                        esac
                fi
                sleep 0.01
        done
        rig__log "$host: not booted after ${RIG_TIMEOUT}s (state '${state:-none}'); console log:"
        tail -n 30 "$(rig_console "$host")" >&2 || true
        return 1
}

# Boots hosts (all hosts of the rig when none are named) in parallel and waits
# until each is running.
rig_boot() {
        local h hosts=("$@") failed=0
        local -A starters=()
        ((${#hosts[@]})) || mapfile -t hosts < <(rig_hosts)
        for h in "${hosts[@]}"; do
                rig__check_host "$h"
                rig_running "$h" && rig__die "$h is already running"
        done
        # Each host's setup is a few dozen short commands; they run side by
        # side, one subshell per host.
        for h in "${hosts[@]}"; do
                rig_boot_start "$h" &
                starters[$h]=$!
        done
        for h in "${hosts[@]}"; do
                wait "${starters[$h]}" || failed=1
        done
        ((failed == 0)) || { rig__log "starting ${hosts[*]} failed"; return 1; }
        for h in "${hosts[@]}"; do
                rig_wait_booted "$h" || failed=1
        done
        return $failed
}

# Creates a rig of N hosts (default 3) and boots them all.
rig_up() {
        rig_create "${1:-3}"
        rig_boot
}

# ---------------------------------------------------------------------------
# Driving hosts.

# Runs a command in a host (all its namespaces, its root) with a clean
# environment. The command is not in the host's cgroup tree: start daemons
# with systemctl or systemd-run, not by this alone.
#
# nsenter forks the command into the host's pid namespace and waits for it.
# Were nsenter to die first (a ^C or a test's TERM reaches the whole process
# group), the command would be reparented to the machine's PID 1, which may
# take seconds to reap it, and the host's shutdown would wait for that zombie
# until DefaultTimeoutStopSec. So nsenter ignores those signals, and the
# command gets their default handling back: it dies, nsenter reaps it.
rig_exec() {
        local host=$1 pid
        shift
        pid=$(rig_pid "$host") || rig__die "$host is not running"
        (
                trap '' INT TERM HUP QUIT
                exec nsenter -t "$pid" -a env --default-signal=INT,TERM,HUP,QUIT -i \
                        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                        HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" SYSTEMD_PAGER=cat \
                        "$@"
        )
}

# An interactive shell in a host.
rig_shell() {
        rig_exec "$1" bash -l
}

# Power loss of one or more hosts at once: SIGKILL of each host's systemd ends
# its whole pid namespace (no ExecStop= runs); then each network namespace is
# deleted, since a named one would outlive the processes and keep answering.
# The hosts' persistent dirs stay.
rig_kill() {
        local h
        local -A pids=()
        for h in "$@"; do
                rig__check_host "$h"
                pids[$h]=$(rig_pid "$h") || rig__die "$h is not running"
        done
        for h in "$@"; do
                kill -KILL "${pids[$h]}"
        done
        for h in "$@"; do
                rig__wait_gone "${pids[$h]}" "$RIG_TIMEOUT" || rig__die "$h: systemd ${pids[$h]} survived SIGKILL"
                rig__host_cleanup "$h"
        done
}

# Prints the pid of a host that is booting but whose systemd was not recorded
# yet (a boot that was interrupted): its netns exists and its launcher runs.
# Waits up to 2 s for it.
rig__booting_pid() {
        local host=$1 lpid
        [[ -e /run/netns/$(rig__netns "$host") && -r $RIG_DIR/$host/launcher.pid ]] || return 1
        lpid=$(<"$RIG_DIR/$host/launcher.pid")
        rig__alive "$lpid" || return 1
        rig__find_pid "$host" 2 || return 1
        rig_pid "$host"
}

# Clean poweroff of hosts (SIGRTMIN+4 to each systemd, in parallel); SIGTERM
# would only make systemd re-execute itself. A host still up after
# RIG_TIMEOUT seconds is killed, and the call fails.
rig_poweroff() {
        local h pid failed=0 deadline resend
        local -A pids=()
        local -
        set +e
        for h in "$@"; do
                rig__check_host "$h"
                if pid=$(rig_pid "$h") || pid=$(rig__booting_pid "$h"); then
                        pids[$h]=$pid
                fi
        done
        # A signal that reaches PID 1 of a pid namespace before it installed a
        # handler is dropped (a host that is just booting, still rig-init or
        # early systemd), so it is sent again every half second.
        deadline=$(rig__deadline "$RIG_TIMEOUT")
        resend=$(rig__deadline 0)
        while ((${#pids[@]})); do
                for h in "${!pids[@]}"; do
                        if ! rig__alive "${pids[$h]}"; then
                                rig__host_cleanup "$h" || failed=1
                                unset "pids[$h]"
                        fi
                done
                ((${#pids[@]})) || break
                if ! rig__before "$deadline"; then
                        for h in "${!pids[@]}"; do
                                rig__log "$h: no clean poweroff within ${RIG_TIMEOUT}s; killing it"
                                kill -KILL "${pids[$h]}" 2>/dev/null
                                rig__wait_gone "${pids[$h]}" 5
                                rig__host_cleanup "$h"
                        done
                        return 1
                fi
                if ! rig__before "$resend"; then
                        for h in "${!pids[@]}"; do
                                kill -s SIGRTMIN+4 "${pids[$h]}" 2>/dev/null
                        done
                        resend=$(($(date +%s%N) + 500000000))
                fi
                sleep 0.01
        done
        return $failed
}

# Cuts a host off the bridge (silent loss: the bridge side of its veth goes
# down), and heals it.
rig_cut() {
        rig__check_host "$1"
        ip link set "$(rig__veth "$1")" down
}

rig_heal() {
        rig__check_host "$1"
        ip link set "$(rig__veth "$1")" up
}

# Cuts the link between two hosts only, in both directions, by pointing each
# one's neighbour entry for the other at a MAC address nobody has.
rig_cut_pair() {
        rig__check_host "$1"
        rig__check_host "$2"
        ip -n "$(rig__netns "$1")" neigh replace "$(rig_ip "$2")" lladdr "$RIG_NOWHERE_MAC" dev eth0 nud permanent
        ip -n "$(rig__netns "$2")" neigh replace "$(rig_ip "$1")" lladdr "$RIG_NOWHERE_MAC" dev eth0 nud permanent
}

rig_heal_pair() {
        rig__check_host "$1"
        rig__check_host "$2"
        ip -n "$(rig__netns "$1")" neigh del "$(rig_ip "$2")" dev eth0 2>/dev/null || true
        ip -n "$(rig__netns "$2")" neigh del "$(rig_ip "$1")" dev eth0 2>/dev/null || true
}

# Copies a unit file into a running host's /etc/systemd/system and reloads.
rig_install_unit() {
        local host=$1 file=$2
        rig__check_host "$host"
        cp "$file" "$RIG_DIR/$host/system/"
        rig_exec "$host" systemctl daemon-reload
}

# ---------------------------------------------------------------------------
# Teardown.

# Removes what a stopped host left in the root namespace: its network
# namespace (and so its veth), and its cgroup dirs. The host's persistent
# dirs stay.
rig__host_cleanup() {
        local host=$1 ns veth deadline d failed=0
        local -
        set +e
        ns=$(rig__netns "$host")
        veth=$(rig__veth "$host")
        if [[ -e /run/netns/$ns ]]; then
                ip netns del "$ns"
        fi
        # The veth would go with its namespace, but the namespace can outlive
        # its processes for seconds (a packet of a killed process still
        # queued on an unresolved neighbour holds it), so the pair is deleted
        # from this side.
        if ip link show "$veth" >/dev/null 2>&1; then
                ip link del "$veth" 2>/dev/null
        fi
        for d in "$RIG_CG_SYSTEMD/$RIG_ID/$host" "$RIG_CG_UNIFIED/$RIG_ID/$host"; do
                [[ -d $d ]] || continue
                deadline=$(rig__deadline 2)
                while ! find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; do
                        [[ -d $d ]] || break
                        if ! rig__before "$deadline"; then
                                # Whatever is still in the host's cgroup dirs
                                # belongs to this host alone.
                                rig__log "$host: killing what is left in $d"
                                rig__kill_cgroup "$d"
                                find "$d" -depth -type d -exec rmdir {} + 2>/dev/null ||
                                        { rig__log "$host: cannot remove $d"; failed=1; }
                                break
                        fi
                        sleep 0.01
                done
        done
        return $failed
}

# SIGKILLs every process in a cgroup dir and below, and waits up to 5 s for
# them to leave.
rig__kill_cgroup() {
        local d=$1 p deadline
        deadline=$(rig__deadline 5)
        while rig__before "$deadline"; do
                p=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
                [[ -n $p ]] || return 0
                # shellcheck disable=SC2086
                kill -KILL $p 2>/dev/null
                sleep 0.01
        done
        return 1
}

# Tears a rig down completely: parallel clean poweroff of every running host
# (SIGKILL after RIG_TIMEOUT), launchers gone, namespaces, links, cgroup dirs,
# the rig's directory (kept when RIG_KEEP=1), and the blackhole route and
# mountpoints when no other rig remains.
rig_down() {
        local h hosts failed=0 pid mp
        local -
        set +e
        [[ -n ${RIG_ID:-} ]] || return 0
        mapfile -t hosts < <(rig_hosts)
        if ((${#hosts[@]})); then
                rig_poweroff "${hosts[@]}" || failed=1
                for h in "${hosts[@]}"; do
                        rig__host_cleanup "$h" || failed=1
                        # The pty recorder ends once the host's console closes.
                        if [[ -r $RIG_DIR/$h/launcher.pid ]]; then
                                pid=$(<"$RIG_DIR/$h/launcher.pid")
                                if ! rig__wait_gone "$pid" 10; then
                                        rig__log "$h: launcher $pid still running; killing it"
                                        kill -KILL "$pid" 2>/dev/null
                                        failed=1
                                fi
                        fi
                done
        fi
        if ip link show "$RIG_BRIDGE" >/dev/null 2>&1; then
                ip link del "$RIG_BRIDGE" || failed=1
        fi
        rmdir "$RIG_CG_SYSTEMD/$RIG_ID" "$RIG_CG_UNIFIED/$RIG_ID" 2>/dev/null
        # Unit files staged for the rig's boots by pes.sh (tests, contrib/demo --keep).
        rm -rf "$RIG_TOP/$RIG_ID.units"
        if [[ ${RIG_KEEP:-0} == 1 ]]; then
                rig__log "kept $RIG_DIR"
                mv "$RIG_DIR" "$RIG_TOP/.kept-$RIG_ID-$(date +%s)"
        else
                rm -rf "$RIG_DIR"
        fi
        if ! compgen -G "$RIG_TOP/[a-z0-9]*" >/dev/null; then
                ip route del blackhole "$RIG_SUBNET" 2>/dev/null
                rmdir "$RIG_CG_SYSTEMD" "$RIG_CG_UNIFIED" 2>/dev/null
                if [[ -r $RIG_TOP/.made-mountpoints ]]; then
                        while read -r mp; do
                                rmdir "$mp" 2>/dev/null
                        done <"$RIG_TOP/.made-mountpoints"
                        rm -f "$RIG_TOP/.made-mountpoints"
                fi
                rmdir "$RIG_TOP" 2>/dev/null
        fi
        return $failed
}

# Prints the end of each running host's journal and console, for a failed test.
rig_dump() {
        local h
        local -
        set +e
        for h in $(rig_hosts); do
                echo "==== $h: journal (last ${RIG_DUMP_LINES:-40} lines)" >&2
                if rig_running "$h"; then
                        rig_exec "$h" journalctl -b --no-pager -n "${RIG_DUMP_LINES:-40}" >&2
                else
                        echo "(not running)" >&2
                fi
                echo "==== $h: console (last 15 lines)" >&2
                tail -n 15 "$(rig_console "$h")" >&2
        done
}

rig__on_exit() {
        local status=$?
        trap - EXIT INT TERM
        # A failure gets the hosts' journals and consoles; an interruption
        # (130, 143) or a skip (77) does not.
        if [[ $status -ne 0 && $status -ne 77 && $status -ne 130 && $status -ne 143 &&
              -d ${RIG_DIR:-/nonexistent} ]]; then
                rig__log "exit status $status: dumping the hosts before teardown"
                rig_dump
        fi
        rig_down || rig__log "teardown of rig $RIG_ID was not clean"
        exit "$status"
}

# Tears the selected rig down when the shell exits, fails or is interrupted.
rig_trap() {
        trap rig__on_exit EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
}

# Selects rig ID and removes what a previous, killed run with that id left.
rig_use_fresh() {
        rig_use "$1"
        if [[ -e $RIG_DIR ]]; then
                rig__log "removing stale rig $RIG_ID"
                rig_down || true
        fi
}
