#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input: an unprivileged caller can read but not Acquire, Join, Leave or
# change the voters (refused by the bus policy, and by pesd itself on a bus
# without it); wrong argument types, malformed addresses, unknown names and
# unknown hosts get typed errors; a bad config line stops pesd with file:line
# before it touches anything. The API pesd serves is the one
# dbus/org.pes1.Manager.xml documents, member for member.
source "$(dirname "$0")/lib.sh"

start_cluster 1
as_nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of 1)" "$@"
}

as_nobody "$PESCTL" --no-pager status > /dev/null || fail "an unprivileged user cannot read the status"
as_nobody "$PESCTL" --no-pager list > /dev/null || fail "an unprivileged user cannot list names"
set +e
out=$(as_nobody "$PESCTL" --no-pager acquire demo 2>&1)
rc=$?
set -e
((rc != 0)) || fail "an unprivileged user acquired a name"
grep -qi "denied\|root" <<< "$out" || fail "unclear refusal for an unprivileged Acquire: $out"
log "unprivileged acquire refused: $out"

set +e
out=$(busctl --address="$(bus_of 1)" call org.pes1 /org/pes1 org.pes1.Manager Lookup s demo 2>&1)
rc=$?
set -e
((rc != 0)) || fail "Lookup with a missing argument succeeded"
log "wrong arguments: $out"

set +e
pesctl_on 1 lookup no.such.name > /dev/null 2>&1
rc=$?
out=$(pesctl_on 1 lookup 'bad/name' 2>&1)
rc2=$?
set -e
((rc == 4)) || fail "lookup of an unknown name exited $rc, not 4"
((rc2 != 0)) || fail "a name with '/' was accepted"
log "unknown name: exit 4; invalid name: $out"

# The membership calls: root only, typed arguments, known hosts.
bus1=$(bus_of 1)
# dbus-send, unlike busctl, prints the name of the error it got.
call() {
        local member=$1
        shift
        dbus-send --bus="$bus1" --print-reply --dest=org.pes1 /org/pes1 "org.pes1.Manager.$member" "$@" 2>&1
}
nobody_call() {
        as_nobody busctl --address="$bus1" call org.pes1 /org/pes1 org.pes1.Manager "$@" 2>&1
}
# Runs the command after the expected error name; fails unless it fails with that error.
expect_error() {
        local want=$1 out
        shift
        if out=$("$@"); then
                fail "'$*' succeeded: $out"
        fi
        grep -q "$want" <<< "$out" || fail "'$*' did not fail with $want: $out"
        log "$*: $out"
}
for m in "Join s 127.0.0.1:1" "Leave s n1" "Leave s ''" "AddVoter s n1" "RemoveVoter s n1" \
         ResumeVoterChange RollbackVoterChange; do
        eval "set -- $m"
        if out=$(nobody_call "$@"); then
                fail "an unprivileged $1 succeeded: $out"
        fi
        grep -qi "denied\|root" <<< "$out" || fail "unclear refusal for an unprivileged $1: $out"
done
log "unprivileged Join, Leave, AddVoter, RemoveVoter, ResumeVoterChange, RollbackVoterChange refused"
set +e
out=$(as_nobody "$PESCTL" --no-pager voters add n1 2>&1)
rc=$?
set -e
((rc == 1)) || fail "an unprivileged 'pesctl voters add' exited $rc"
grep -q "Permission denied: cannot add n1 as a voter (run as root)" <<< "$out" || fail "unclear refusal: $out"

expect_error InvalidArgs call Join uint16:7480
expect_error InvalidArgs call Join string:not-an-address
expect_error InvalidArgs call Join 'string:a b:7480'
expect_error InvalidArgs call Join string:127.0.0.1:0
expect_error InvalidArgs call Leave uint32:1
expect_error InvalidArgs call AddVoter
expect_error InvalidArgs call AddVoter string:
expect_error InvalidArgs call RemoveVoter string:n1 string:n2
expect_error InvalidArgs call ResumeVoterChange string:now
expect_error org.pes1.Error.NoSuchHost call AddVoter string:no-such-host
expect_error org.pes1.Error.NoSuchHost call RemoveVoter string:no-such-host
expect_error org.pes1.Error.NoSuchHost call Leave string:no-such-host
expect_error org.pes1.Error.AlreadyVoter call AddVoter string:n1
expect_error "org.pes1.Error.NotAllowed: No voter change is in flight: nothing to resume." call ResumeVoterChange
expect_error "org.pes1.Error.NotAllowed: No voter change is in flight: nothing to roll back." call RollbackVoterChange
set +e
out=$(pesctl_on 1 voters add no-such-host 2>&1)
rc=$?
set -e
((rc == 1)) || fail "voters add of an unknown host exited $rc"
grep -q "Cannot add no-such-host as a voter: No host 'no-such-host' in this cluster." <<< "$out" ||
        fail "unclear refusal of an unknown host: $out"
set +e
pesctl_on 1 join h1:not-a-port > /dev/null 2>&1
rc=$?
set -e
((rc == 2)) || fail "join of a malformed address exited $rc, not 2"

# Reads stay open: the configuration and the members, with their epoch.
as_nobody "$PESCTL" --no-pager voters > "$TD/voters.out" 2>&1 || fail "an unprivileged user cannot list the voters: $(cat "$TD/voters.out")"
grep -q "^Change: none$" "$TD/voters.out" || fail "a change in flight on a quiet cluster: $(cat "$TD/voters.out")"
epoch=$(as_nobody busctl --address="$bus1" get-property org.pes1 /org/pes1 org.pes1.Manager ConfigEpoch)
[[ $epoch =~ ^t\ [1-9][0-9]*$ ]] || fail "ConfigEpoch is '$epoch'"
[[ $(as_nobody busctl --address="$bus1" get-property org.pes1 /org/pes1 org.pes1.Manager VoterChange) == 's ""' ]] ||
        fail "VoterChange is not empty on a quiet cluster"
pesctl_on 1 nodes --json=short | python3 -c '
import json, sys
nodes = json.load(sys.stdin)
assert [(n["node"], n["role"], n["state"]) for n in nodes] == [("n1", "voter", "self")], nodes
assert nodes[0]["epoch"] == int(sys.argv[1]), nodes' "${epoch#t }" || fail "nodes does not show n1 at epoch ${epoch#t }"
log "membership arguments checked; voters and nodes readable by everyone"

busctl --address="$bus1" introspect --xml-interface org.pes1 /org/pes1 > "$TD/live.xml"
python3 - "$TD/live.xml" "$(dirname "$PES_DBUS_POLICY")/org.pes1.Manager.xml" <<'PY' || fail "the introspection XML does not match pesd"
import sys, xml.etree.ElementTree as ET

def members(path):
    for i in ET.parse(path).getroot().iter("interface"):
        if i.get("name") == "org.pes1.Manager":
            return {(m.tag, m.get("name"), m.get("type"),
                     tuple((a.get("name"), a.get("type"), a.get("direction", "out" if m.tag == "method" else ""))
                           for a in m if a.tag == "arg"))
                    for m in i if m.tag in ("method", "signal", "property")}
    return set()

live, documented = members(sys.argv[1]), members(sys.argv[2])
for m in sorted(live - documented):
    print("served but not documented:", m)
for m in sorted(documented - live):
    print("documented but not served:", m)
sys.exit(1 if live != documented else 0)
PY
log "dbus/org.pes1.Manager.xml documents exactly what pesd serves"

# pesd checks the caller itself too: on a bus without the policy, only pesd refuses.
mkdir -p "$TD/open"
sed -e '/<include/d' -e 's|<allow user="\*"/>|&<allow own="org.pes1"/>|' -e "s|$TD/n1/bus.sock|$TD/open/bus.sock|" \
        "$TD/n1/bus.conf" > "$TD/open/bus.conf"
dbus-daemon --config-file="$TD/open/bus.conf" --fork --print-pid > "$TD/open/bus.pid"
BG_PIDS+=("$(cat "$TD/open/bus.pid")")
cat > "$TD/open/pesd.conf" <<CONF
[Cluster]
Name=privilege-open
NodeName=solo
Listen=127.0.0.1:$((BASE_PORT + 9))

[Paths]
StateDir=$TD/open/state
RuntimeDir=$TD/open/run
CONF
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TD/open/bus.sock" "$PESD" -c "$TD/open/pesd.conf" > "$TD/open/pesd.log" 2>&1 &
BG_PIDS+=($!)
open_call() {
        dbus-send --bus="unix:path=$TD/open/bus.sock" --print-reply --dest=org.pes1 /org/pes1 "org.pes1.Manager.$1"
}
wait_for 10 open_call ListNodes > /dev/null 2>&1 || fail "pesd on the open bus did not come up: $(tail -n 5 "$TD/open/pesd.log")"
for m in "Join string:127.0.0.1:1" "Leave string:" "AddVoter string:solo" "RemoveVoter string:solo" ResumeVoterChange \
         RollbackVoterChange; do
        set -- $m
        if out=$(as_nobody dbus-send --bus="unix:path=$TD/open/bus.sock" --print-reply --dest=org.pes1 /org/pes1 \
                "org.pes1.Manager.$1" "${@:2}" 2>&1); then
                fail "pesd let an unprivileged caller call $1: $out"
        fi
        grep -q "AccessDenied: Only root may call $1\.$" <<< "$out" || fail "pesd's own refusal of $1 is unclear: $out"
done
log "pesd itself refuses unprivileged membership calls"

mkdir -p "$TD/bad"
printf '[Cluster]\nName=x\nHeartbeatSec=soon\n' > "$TD/bad/pesd.conf"
printf '[Paths]\nStateDir=%s\n' "$TD/bad/state" >> "$TD/bad/pesd.conf"
set +e
out=$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) "$PESD" -c "$TD/bad/pesd.conf" 2>&1)
rc=$?
set -e
((rc != 0)) || fail "pesd started with a bad config"
grep -q "$TD/bad/pesd.conf:3: HeartbeatSec=" <<< "$out" || fail "no file:line in '$out'"
[[ ! -e $TD/bad/state ]] || fail "pesd touched its state dir before refusing the config"
log "bad config: $out"
log "PASS"
