#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A voter that loses its disk right after the cluster formed (within the 2H in
# which bootstrapped voters still tell newcomers "not initialised") must still
# learn that it lost its disk: its peers saw it ready, so it is no newcomer.
source "$(dirname "$0")/lib.sh"

HEARTBEAT=2s start_cluster 3
for j in 1 2 3; do
        wait_for 10 grep -q "Every voter starts empty: initialising the cluster." "$TD/n$j/pesd.log" ||
                fail "n$j did not bootstrap with the others"
done
wait_for 10 grep -q "Ready:" "$TD/n3/pesd.log" || fail "n3 did not become ready"
t0=$SECONDS
kill -KILL "$(cat "$TD/n3/pesd.pid")"
rm -rf "$TD/n3/state"
start_pesd 3
# Still inside the 2H (4 s) window of the others' bootstrap.
((SECONDS - t0 < 4)) || log "(the restart took $((SECONDS - t0)) s; the window may have closed)"
wait_for 10 grep -q "says the cluster is initialised: recovering" "$TD/n3/pesd.log" ||
        fail "n3 lost its disk right after formation and took itself for a newcomer"
! grep -q "Every voter starts empty" <(tail -n +2 "$TD/n3/pesd.log" | grep -A1000 "says the cluster is initialised") ||
        fail "n3 bootstrapped again"
log "n3, wiped $((SECONDS - t0)) s after formation, recovers as a lost disk"
log "PASS"
