#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bootstrap and lost disk (DESIGN.md): three empty voters initialise the cluster
# together; a voter restarted without its store says it has none, learns from
# the others that the cluster is initialised, and recovers before it answers,
# while the name stays held by exactly one client throughout.
source "$(dirname "$0")/lib.sh"

start_cluster 3
for j in 1 2 3; do
        wait_for 10 grep -q "Every voter starts empty: initialising the cluster." "$TD/n$j/pesd.log" ||
                fail "n$j did not bootstrap with the others"
done
for i in 1 2 3; do
        start_holder "$i" demo
done
wait_for 10 test -s "$TD/ticks.log" || fail "no client got the name"
first=$(last_ticker)
h=${first#n}
# A voter says "initialised" 2H after the cluster bootstrapped (2 s here); a disk
# lost before that looks like a new cluster to the others, so wait past it.
wait_for 10 bash -c "[[ \$(grep -c '^$first ' '$TD/ticks.log') -ge 300 ]]" || fail "$first stopped ticking"
# A voter that does not hold the name loses its disk.
v=$(( h % 3 + 1 ))
kill -KILL "$(cat "$TD/n$v/pesd.pid")"
rm -rf "$TD/n$v/state"
start_pesd "$v"
wait_for 10 grep -q "says the cluster is initialised: recovering" "$TD/n$v/pesd.log" ||
        fail "n$v did not notice it lost its disk"
# It answers again only after T_max·(1+ρ) (60 s by default) — meanwhile the
# holder keeps renewing with the other voter, and nobody else ticks.
lines=$(tick_lines)
wait_for 10 bash -c "[[ \$(wc -l < '$TD/ticks.log') -ge $((lines + 200)) ]]" || fail "the holder stopped renewing"
one_ticker || fail "two hosts tick while n$v recovers"
[[ $(last_ticker) == "$first" ]] || fail "the name moved while n$v recovered"
check_ticks
log "n$v recovers its lost disk; $first kept the name throughout"
log "PASS"
