#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Removing another host (DESIGN.md "Membership"): `pesctl leave HOST` from any
# member removes a candidate that is dead, and refuses one that is alive or a
# voter; a second host under a live member's name cannot join. A removed host
# that comes back is told the newer configuration, learns that it is out, and
# stays up without campaigning; `pesctl join` brings it back under a new id.
source "$(dirname "$0")/lib.sh"

member_names() {
        pesctl_on "$1" nodes --json=short | python3 -c 'import json,sys; print(" ".join(sorted(n["node"] for n in json.load(sys.stdin))))'
}

VOTERS="n1 n2 n3" start_cluster 4
wait_for 10 bash -c "DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) '$PESCTL' --no-pager nodes --json=short |
        python3 -c 'import json,sys; sys.exit(0 if any(n[\"node\"] == \"n4\" and n[\"state\"] == \"alive\" for n in json.load(sys.stdin)) else 1)'" ||
        fail "n1 never saw n4 alive"

# A member of a cluster with other hosts cannot join another.
out=$(pesctl_on 1 join "127.0.0.1:$((BASE_PORT + 2))" 2>&1) && fail "a member joined again: $out"
grep -q "already part of cluster daemon-test" <<< "$out" || fail "unclear refusal of a member's join: $out"

# Another host calling itself n4 cannot join while n4 is alive.
mkdir -p "$TD/n5"
cat > "$TD/n5/pesd.conf" <<CONF
[Cluster]
NodeName=n4
Listen=127.0.0.1:$((BASE_PORT + 5))
KeyFile=$TD/cluster.key

[Paths]
StateDir=$TD/n5/state
RuntimeDir=$TD/n5/run
CONF
sed "s|n1/bus.sock|n5/bus.sock|" "$TD/n1/bus.conf" > "$TD/n5/bus.conf"
NODES=5
start_bus 5
start_pesd 5
out=$(pesctl_on 5 join "127.0.0.1:$((BASE_PORT + 1))" 2>&1) && fail "a second n4 joined: $out"
grep -q "n4 is already a member (id 4) and alive" <<< "$out" || fail "unclear refusal of a second n4: $out"
kill -TERM "$(cat "$TD/n5/pesd.pid")"
log "a second host named n4 was refused"

out=$(pesctl_on 1 leave n4 2>&1) && fail "removing a live host succeeded: $out"
grep -q "n4 is alive: run pesctl leave on it" <<< "$out" || fail "unclear refusal for a live host: $out"
out=$(pesctl_on 1 leave n2 2>&1) && fail "removing a voter succeeded: $out"
grep -q "remove it as a voter first: pesctl voters remove n2" <<< "$out" || fail "unclear refusal for a voter: $out"
log "refused: a live host, a voter"

kill -KILL "$(cat "$TD/n4/pesd.pid")"
wait_for 15 bash -c "DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) '$PESCTL' --no-pager nodes --json=short |
        python3 -c 'import json,sys; sys.exit(0 if any(n[\"node\"] == \"n4\" and n[\"state\"] == \"dead\" for n in json.load(sys.stdin)) else 1)'" ||
        fail "n1 never saw n4 dead"
out=$(pesctl_on 1 leave n4 2>&1) || fail "removing the dead n4 failed: $out"
for i in 1 2 3; do
        wait_for 10 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") '$PESCTL' --no-pager nodes --json=short |
                python3 -c 'import json,sys; print(\" \".join(sorted(n[\"node\"] for n in json.load(sys.stdin))))')\" == 'n1 n2 n3' ]]" ||
                fail "n$i lists '$(member_names "$i")' after n4 was removed"
done
log "the dead n4 was removed"

# n4 comes back with its old store: the others answer it with the configuration.
start_pesd 4
wait_for 15 grep -q "no longer a member of cluster daemon-test" "$TD/n4/pesd.log" ||
        fail "n4 did not learn that it was removed"
start_holder 4 demo
start_holder 1 demo
wait_for 10 test -s "$TD/ticks.log" || fail "nobody got the name"
# Two seconds of n1 ticking while n4 asks for the name too.
wait_for 10 bash -c "[[ \$(grep -c '^n1 ' '$TD/ticks.log') -ge 200 ]]" || fail "n1 does not hold the name"
[[ $(tickers_since 0) == n1 ]] || fail "a removed host ticks: $(tickers_since 0)"
kill -KILL -- "-$(holder_pid 4)" 2>/dev/null || true
log "n4, removed, learned it is out and does not take names"

out=$(pesctl_on 4 join "127.0.0.1:$((BASE_PORT + 3))" 2>&1) || fail "n4 could not join again: $out"
grep -q "host 5" <<< "$out" || fail "n4 rejoined without a new id: $out"
for i in 1 2 3 4; do
        wait_for 10 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") '$PESCTL' --no-pager nodes --json=short |
                python3 -c 'import json,sys; print(\" \".join(sorted(n[\"node\"] for n in json.load(sys.stdin))))')\" == 'n1 n2 n3 n4' ]]" ||
                fail "n$i lists '$(member_names "$i")' after n4 joined again"
done
check_ticks
log "n4 joined again as id 5"

# And leaves again from the same process: its requests now carry the new cluster's id.
out=$(pesctl_on 4 leave 2>&1) || fail "n4 could not leave after joining again: $out"
wait_for 10 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) '$PESCTL' --no-pager nodes --json=short |
        python3 -c 'import json,sys; print(\" \".join(sorted(n[\"node\"] for n in json.load(sys.stdin))))')\" == 'n1 n2 n3' ]]" ||
        fail "n1 lists '$(member_names 1)' after n4 left again"
log "n4 left again"
log "PASS"
