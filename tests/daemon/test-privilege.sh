#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input: an unprivileged caller can read but not Acquire; wrong argument
# types and unknown names get typed errors; a bad config line stops pesd with
# file:line before it touches anything.
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
