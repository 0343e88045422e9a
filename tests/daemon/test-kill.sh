#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kill -9 of the holder's pesd: its client stops its command at once (pesd left
# the bus), and a client on another node gets the name after about a lease.
source "$(dirname "$0")/lib.sh"

three_holders demo
first=$FIRST
i=$FIRST_I

lines=$(tick_lines)
t_kill=$(mono_ns)
kill -KILL "$(cat "$TD/n$i/pesd.pid")"
# The client sees pesd leave the bus and stops its command (exit status 3).
wait_for 5 bash -c "! kill -0 $(holder_pid "$i") 2>/dev/null" || fail "the client on $first kept running"
grep -qi "lost" "$TD/holder.n$i.out" || fail "the client on $first did not say it lost the name"
set +e
wait "$(holder_pid "$i")"
rc=$?
set -e
((rc == 3)) || fail "the client on $first exited $rc, not 3 (name lost)"

wait_for 20 bash -c "tail -n +$((lines + 1)) '$TD/ticks.log' | grep -qv '^$first '" || fail "nobody took over"
second=$(tail -n "+$((lines + 1))" "$TD/ticks.log" | grep -v "^$first " | head -n 1)
gap_ms=$(( ($(cut -d' ' -f2 <<< "$second") - t_kill) / 1000000 ))
log "$(cut -d' ' -f1 <<< "$second") took over ${gap_ms} ms after pesd on $first was killed"
check_ticks
log "PASS"
