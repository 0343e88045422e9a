#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Voter changes at run time (DESIGN.md "Membership", "Voter configuration is
# itself a CASPaxos register"): five hosts, three of them voters, T_max 3 s. The
# voters go 3 → 4 → 5 → 4 → 3 while a name is held by one host throughout (one
# tenure), and the tick oracle checks that no two hosts ever held it at once. A second change while one is in flight
# is refused; the host driving a change is killed with SIGKILL mid-change, and
# another host resumes it.
source "$(dirname "$0")/lib.sh"

# "PHASE CHANGE VOTER..." as host $1 sees it.
voter_set() {
        pesctl_on "$1" voters --json=short 2>/dev/null |
                python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["phase"], d["change"] or "-", " ".join(v["node"] for v in d["voters"]))'
}

# Waits until every live host in $2 (a list of indexes) sees voter set $1.
all_see() {
        local want=$1 i
        shift
        for i in "$@"; do
                wait_for 30 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") '$PESCTL' --no-pager voters --json=short 2>/dev/null |
                        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"phase\"], d[\"change\"] or \"-\", \" \".join(v[\"node\"] for v in d[\"voters\"]))')\" == '$want' ]]" ||
                        fail "n$i sees '$(voter_set "$i")', not '$want'"
        done
}

change() {
        local i=$1 t0 out
        shift
        t0=$(date +%s%N)
        out=$(pesctl_on "$i" voters "$@" 2>&1) || fail "voters $* on n$i failed: $out"
        log "voters $* on n$i: $((($(date +%s%N) - t0) / 1000000)) ms"
}

HEARTBEAT=1s MAX_LEASE=3s VOTERS="n1 n2 n3" start_cluster 5
all_see "stable - n1 n2 n3" 1 2 3 4 5

start_holder 1 demo
wait_for 10 test -s "$TD/ticks.log" || fail "n1 did not get the name"
start_holder 5 demo
wait_for 10 bash -c "[[ \$(grep -c '^n1 ' '$TD/ticks.log') -ge 100 ]]" || fail "n1 stopped ticking"

# 3 → 4; a second change meanwhile is refused, from any host.
pesctl_on 1 voters add n4 > "$TD/add-n4.out" 2>&1 &
adder=$!
wait_for 10 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 2) '$PESCTL' --no-pager voters --json=short | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"phase\"])')\" != stable ]]" ||
        fail "n2 never saw the change start"
if out=$(pesctl_on 2 voters add n5 2>&1); then
        fail "a second change was accepted while one is in flight: $out"
fi
log "second change refused: $out"
if out=$(pesctl_on 1 voters add n5 2>&1); then
        fail "a second change on the driving host was accepted: $out"
fi
wait "$adder" || fail "voters add n4 failed: $(cat "$TD/add-n4.out")"
all_see "stable - n1 n2 n3 n4" 1 2 3 4 5
log "3 → 4 voters"

change 2 add n5
all_see "stable - n1 n2 n3 n4 n5" 1 2 3 4 5
log "4 → 5 voters"
change 5 remove n5
all_see "stable - n1 n2 n3 n4" 1 2 3 4 5
log "5 → 4 voters"

# 4 → 3, driven by n3, which is killed mid-change; n2 resumes it.
pesctl_on 3 voters remove n4 > "$TD/remove-n4.out" 2>&1 &
wait_for 20 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) '$PESCTL' --no-pager voters --json=short | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"phase\"])')\" == accept-widened ]]" ||
        fail "n1 never saw the removal of n4 start"
kill -KILL "$(cat "$TD/n3/pesd.pid")"
log "killed n3 (driving the removal of n4) mid-change: n1 sees '$(voter_set 1)'"
change 2 resume
all_see "stable - n1 n2 n3" 1 2 4 5
log "4 → 3 voters, resumed by n2 after the driver died"

# The killed driver comes back with its store: it catches up with the configuration.
start_pesd 3
all_see "stable - n1 n2 n3" 3
wait_for 20 quorate 3 || fail "n3 is not quorate after its restart"
log "n3 restarted and caught up"

check_ticks
wait_for 10 bash -c "[[ \$(tail -n 1 '$TD/ticks.log' | cut -d' ' -f1) == n1 || \$(tail -n 1 '$TD/ticks.log' | cut -d' ' -f1) == n5 ]]" ||
        fail "nobody holds the name at the end"
tenures=$("$CHECK_TICKS" "$TD/ticks.log" | grep -c '^tenure ' || true)
# None interrupted: n1 held the name from before the first change to after the last.
[[ $tenures -eq 1 ]] || fail "the name changed hands $((tenures - 1)) time(s) during the voter changes"
log "n1 held the name throughout, one tenure"
log "PASS"
