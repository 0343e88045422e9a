#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Joining and leaving at run time (DESIGN.md "Membership"): a fourth host, alone
# in a cluster of its own, joins a running three-host cluster as a candidate. A
# wrong key is refused with a clear error; with the right key it learns the
# configuration and the other hosts, keeps its membership across a restart, and
# holds a name like any host. `pesctl leave` on it hands the name over at once
# (well within a lease), and it stays up as a non-member. It can leave and join
# again right away.
source "$(dirname "$0")/lib.sh"

MAX_LEASE=3s start_cluster 3

# n4: its own one-host cluster, first with a key of its own.
mkdir -p "$TD/n4"
python3 -c 'import os; print(os.urandom(32).hex())' > "$TD/n4.key"
chmod 600 "$TD/n4.key"
cat > "$TD/n4/pesd.conf" <<CONF
[Cluster]
Name=lonely
NodeName=n4
Listen=127.0.0.1:$((BASE_PORT + 4))
Peers=n4@127.0.0.1:$((BASE_PORT + 4))
KeyFile=$TD/n4.key

[Paths]
StateDir=$TD/n4/state
RuntimeDir=$TD/n4/run
CONF
sed "s|n1/bus.sock|n4/bus.sock|" "$TD/n1/bus.conf" > "$TD/n4/bus.conf"
NODES=4
start_bus 4
start_pesd 4

member_names() {
        pesctl_on "$1" nodes --json=short |
                python3 -c 'import json,sys; print(" ".join(sorted(n["node"] + ":" + n["role"] for n in json.load(sys.stdin))))'
}

if out=$(pesctl_on 4 join "127.0.0.1:$((BASE_PORT + 1))" 2>&1); then
        fail "a join with another key succeeded: $out"
fi
grep -qi "key" <<< "$out" || fail "the refusal of a wrong key does not say so: $out"
log "wrong key refused: $out"
[[ $(member_names 1) == "n1:voter n2:voter n3:voter" ]] || fail "n1 lists '$(member_names 1)' after a refused join"

# The right key: n4 restarts with it and joins.
kill -TERM "$(cat "$TD/n4/pesd.pid")"
wait_for 10 bash -c "! kill -0 $(cat "$TD/n4/pesd.pid") 2>/dev/null" || fail "n4 did not stop"
cp "$TD/cluster.key" "$TD/n4.key"
start_pesd 4
t0=$(date +%s%N)
out=$(pesctl_on 4 join "127.0.0.1:$((BASE_PORT + 2))" 2>&1) || fail "join failed: $out"
log "join took $((($(date +%s%N) - t0) / 1000000)) ms: $out"

want="n1:voter n2:voter n3:voter n4:candidate"
for i in 1 2 3 4; do
        wait_for 10 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") '$PESCTL' --no-pager nodes --json=short |
                python3 -c 'import json,sys; print(\" \".join(sorted(n[\"node\"] + \":\" + n[\"role\"] for n in json.load(sys.stdin))))')\" == '$want' ]]" ||
                fail "n$i lists '$(member_names "$i")', not '$want'"
done
wait_for 10 quorate 4 || fail "n4 is not quorate after joining"
# The HTTP read side agrees: n4 is a candidate, heard from under the new epoch.
wait_for 10 bash -c "curl -sf 'http://127.0.0.1:$((BASE_PORT + 1))/v1/nodes' | python3 -c '
import json, sys
d = {n[\"name\"]: n for n in json.load(sys.stdin)}
me = d[\"n1\"][\"epoch\"]
assert me >= 2 and d[\"n4\"][\"role\"] == \"candidate\" and d[\"n4\"][\"epoch\"] == me, d'" ||
        fail "n1's /v1/nodes does not show n4 under the new epoch: $(curl -s "http://127.0.0.1:$((BASE_PORT + 1))/v1/nodes")"
log "n4 joined: every host lists $want"

# Straight out and in again, from the same process: the leave's request carries
# the id of the cluster it joined, not the one it came from.
out=$(pesctl_on 4 leave 2>&1) || fail "leave right after the join failed: $out"
for i in 1 2 3; do
        wait_for 10 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") '$PESCTL' --no-pager nodes --json=short |
                python3 -c 'import json,sys; print(\" \".join(sorted(n[\"node\"] for n in json.load(sys.stdin))))')\" == 'n1 n2 n3' ]]" ||
                fail "n$i still lists n4 after it left"
done
out=$(pesctl_on 4 join "127.0.0.1:$((BASE_PORT + 3))" 2>&1) || fail "joining again failed: $out"
for i in 1 2 3 4; do
        wait_for 10 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") '$PESCTL' --no-pager nodes --json=short |
                python3 -c 'import json,sys; print(\" \".join(sorted(n[\"node\"] + \":\" + n[\"role\"] for n in json.load(sys.stdin))))')\" == '$want' ]]" ||
                fail "n$i lists '$(member_names "$i")' after n4 joined again"
done
log "n4 left and joined again: $out"

# A restart keeps the membership.
kill -TERM "$(cat "$TD/n4/pesd.pid")"
wait_for 10 bash -c "! kill -0 $(cat "$TD/n4/pesd.pid") 2>/dev/null" || fail "n4 did not stop"
start_pesd 4
wait_for 10 quorate 4 || fail "n4 is not quorate after its restart"
[[ $(member_names 4) == "$want" ]] || fail "after a restart n4 lists '$(member_names 4)'"
log "n4 restarted and is still a member"

# A joined host can become a voter (it recovers the names first) and go back.
out=$(pesctl_on 1 voters add n4 2>&1) || fail "voters add n4 failed: $out"
wait_for 10 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 4) '$PESCTL' --no-pager nodes --json=short |
        python3 -c 'import json,sys; print(\" \".join(sorted(n[\"node\"] + \":\" + n[\"role\"] for n in json.load(sys.stdin))))')\" == 'n1:voter n2:voter n3:voter n4:voter' ]]" ||
        fail "n4 does not see itself a voter: $(member_names 4)"
out=$(pesctl_on 4 leave 2>&1) && fail "a voter could leave: $out"
grep -q "remove it as a voter first: pesctl voters remove n4" <<< "$out" || fail "unclear refusal of a voter's leave: $out"
out=$(pesctl_on 2 voters remove n4 2>&1) || fail "voters remove n4 failed: $out"
log "n4 became a voter and a candidate again; a voter may not leave"

# It holds a name like any host, and learned the names the cluster has.
start_holder 1 other
wait_for 10 bash -c "[[ \$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 4) '$PESCTL' --no-pager lookup other --json=short |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[\"owner\"])') == n1 ]]" || fail "n4 does not see n1 hold 'other'"
kill -KILL -- "-$(holder_pid 1)"
: > "$TD/ticks.log"
start_holder 4 demo
wait_for 10 test -s "$TD/ticks.log" || fail "n4 did not get the name"
[[ $(last_ticker) == n4 ]] || fail "$(last_ticker) ticks, not n4"
start_holder 2 demo
wait_for 10 bash -c "[[ \$(grep -c '^n4 ' '$TD/ticks.log') -ge 100 ]]" || fail "n4 stopped ticking"
for j in 1 2 3 4; do
        [[ $(lookup_owner "$j" demo) == "n4 "* ]] || fail "Lookup on n$j does not name n4"
done
log "n4 holds demo; n2 waits for it"

# Leave: the name is handed to n2, where a client waits for it: at once, not after a lease (3 s).
lines=$(tick_lines)
t0=$(date +%s%N)
out=$(pesctl_on 4 leave 2>&1) || fail "leave failed: $out"
wait_for 10 bash -c "tail -n +$((lines + 1)) '$TD/ticks.log' | grep -q '^n2 '" || fail "n2 did not take the name"
ms=$((($(date +%s%N) - t0) / 1000000))
((ms < 1000)) || fail "the name moved only after $ms ms"
check_ticks
log "n4 left; n2 holds demo $ms ms after the leave began"

for i in 1 2 3; do
        wait_for 10 bash -c "[[ \"\$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") '$PESCTL' --no-pager nodes --json=short |
                python3 -c 'import json,sys; print(\" \".join(sorted(n[\"node\"] for n in json.load(sys.stdin))))')\" == 'n1 n2 n3' ]]" ||
                fail "n$i still lists n4 after it left"
done
kill -0 "$(cat "$TD/n4/pesd.pid")" || fail "pesd on n4 exited after leaving"
grep -q "no longer a member of cluster daemon-test" "$TD/n4/pesd.log" || fail "n4 does not say it is no longer a member"
log "PASS"
