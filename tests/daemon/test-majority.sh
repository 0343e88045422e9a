#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The holder's node loses its majority (its two peers frozen with SIGSTOP): the
# holder is told it lost the name and its command stops before its lease could
# end; once the peers resume, exactly one node holds the name.
source "$(dirname "$0")/lib.sh"

three_holders demo
first=$FIRST
i=$FIRST_I

t_stop=$(mono_ns)
for j in 1 2 3; do
        [[ $j == "$i" ]] || kill -STOP "$(cat "$TD/n$j/pesd.pid")"
done
wait_for 10 bash -c "! kill -0 $(holder_pid "$i") 2>/dev/null" || fail "the client on $first kept running"
last=$(grep "^$first " "$TD/ticks.log" | tail -n 1 | cut -d' ' -f2)
held_ms=$(( (last - t_stop) / 1000000 ))
log "$first stopped ticking ${held_ms} ms after losing its majority"
grep -qi "lost" "$TD/holder.n$i.out" || fail "the client on $first did not say it lost the name"
set +e
wait "$(holder_pid "$i")"
rc=$?
set -e
((rc == 3)) || fail "the client on $first exited $rc, not 3 (name lost)"
# The lease is T = 3 s; the holder must have stopped inside it (it fences at
# valid − S, at most about 2.3 s after its last confirmed renewal).
((held_ms < 3000)) || fail "$first ran ${held_ms} ms past losing its majority, beyond the lease"

lines=$(tick_lines)
for j in 1 2 3; do
        [[ $j == "$i" ]] || kill -CONT "$(cat "$TD/n$j/pesd.pid")"
done
wait_for 20 bash -c "[[ \$(wc -l < '$TD/ticks.log') -gt $((lines + 50)) ]]" || fail "nobody holds the name after the peers resumed"
one_ticker || fail "more than one host ticks after the peers resumed"
owner=$(last_ticker)
owners=$(for j in 1 2 3; do lookup_owner "$j" demo; done | sort -u)
[[ $(wc -l <<< "$owners") -eq 1 && $owners == "$owner "* ]] || fail "Lookup says '$owners', $owner ticks"
log "after the peers resumed: $owner holds it; Lookup agrees"
check_ticks
log "PASS"
