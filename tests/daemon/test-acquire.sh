#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Three nodes with a client on each asking for one name: exactly one holds it,
# Lookup agrees on every node, and when the holder's client disconnects another
# waiting client takes over without waiting out a lease.
source "$(dirname "$0")/lib.sh"

start_cluster 3
for i in 1 2 3; do
        start_holder "$i" demo
done

wait_for 10 test -s "$TD/ticks.log" || fail "no client got the name"
first=$(last_ticker)
# Let the holder renew a couple of times (1.5 s of its own ticks), then look.
wait_for 10 bash -c "[[ \$(grep -c '^$first ' '$TD/ticks.log') -ge 150 ]]" || fail "$first stopped ticking"
one_ticker || fail "more than one host ticks"
check_ticks
log "holder: $first"

owners=$(for i in 1 2 3; do lookup_owner "$i" demo; done | sort -u)
[[ $(wc -l <<< "$owners") -eq 1 ]] || fail "Lookup disagrees between nodes: $owners"
[[ $owners == "$first "* ]] || fail "Lookup says '$owners' but $first ticks"
log "Lookup on every node: $owners"

# The holder's client disconnects (killed with its command): the name is
# released at once and a waiting client on another node takes it.
i=${first#n}
lines=$(tick_lines)
t_kill=$(mono_ns)
kill -KILL -- "-$(holder_pid "$i")"
wait_for 10 bash -c "tail -n +$((lines + 1)) '$TD/ticks.log' | grep -qv '^$first '" || fail "nobody took over"
second=$(tail -n "+$((lines + 1))" "$TD/ticks.log" | grep -v "^$first " | head -n 1)
gap_ms=$(( ($(cut -d' ' -f2 <<< "$second") - t_kill) / 1000000 ))
log "$(cut -d' ' -f1 <<< "$second") took over ${gap_ms} ms after the holder's client disconnected"
# A lease is 3 s (HeartbeatSec=1s): the handover must not have waited one out.
((gap_ms < 3000)) || fail "the handover took ${gap_ms} ms, as long as a lease"
check_ticks
log "PASS"
