#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 13 (DESIGN.md "Membership"): a running 3-host cluster with 50
# singleton units (and the tick oracle) grows to 5 voters at run time. h4 and
# h5 start outside the cluster, join it as candidates with `pesctl join`, then
# become voters one at a time with `pesctl voters add`. No unit is ever active
# on two hosts, and none is interrupted: every unit keeps its host and its
# systemd invocation throughout. Prints how long each voter change took.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

N=50
units=(pes-tick.service)
for i in $(seq 1 "$N"); do
        units+=("pes-sleep@$i.service")
done
# Every voter step waits T_max·(1+ρ): a short T_max keeps the scenario short.
export PES_MAX_LEASE=${PES_MAX_LEASE:-6s} PES_SOLO=2 PES_UNIT_HOSTS="h1 h2 h3"
pes_setup s13 5 "${units[@]}"

all_running() {
        [[ $(pes_instances 'pes-sleep@*.service' | awk '{print $1}' | sort -u | wc -l) -eq $N ]]
}
pes_wait 120 all_running || pes_fail "not all $N units run"
owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 50 || pes_fail "$owner does not tick"
before=$(pes_instances 'pes-*.service')
[[ $(wc -l <<<"$before") -eq $((N + 1)) ]] || pes_fail "not exactly one instance of every unit: $before"

pes_watch_overlap 'pes-*.service' "$RIG_TOP/s13.overlap"

for h in h4 h5; do
        pes_join "$h"
done
five_members() {
        [[ $(pes_members "$1") == "h1 h2 h3 h4 h5" ]]
}
for h in $(rig_hosts); do
        pes_wait 20 five_members "$h" || pes_fail "$h lists members '$(pes_members "$h")'"
done
[[ $(pes_voters) == "h1 h2 h3" ]] || pes_fail "h1 lists voters '$(pes_voters)' after the joins"

for h in h4 h5; do
        t0=$SECONDS
        rig_exec h1 pesctl voters add "$h" || pes_fail "pesctl voters add $h failed"
        pes_log "voters add $h: $((SECONDS - t0)) s"
done
for h in $(rig_hosts); do
        v=$(pes_voters "$h")
        [[ $v == "h1 h2 h3 h4 h5" ]] || pes_fail "$h lists voters '$v'"
done
pes_nodes_json h1 | python3 -c '
import json, sys
nodes = json.load(sys.stdin)
epochs = {n["epoch"] for n in nodes}
assert len(epochs) == 1, "members at different epochs: %r" % nodes
print("epoch", epochs.pop())'

after=$(pes_instances 'pes-*.service')
pes_watch_stop
[[ ! -s $RIG_TOP/s13.overlap ]] || pes_fail "active on two hosts at once: $(head -n 3 "$RIG_TOP/s13.overlap")"
[[ $before == "$after" ]] || pes_fail "units were interrupted or moved: $(diff <(echo "$before") <(echo "$after") | head -n 6)"
pes_check_ticks
pes_log "$N units and the oracle ran on, uninterrupted, while the cluster grew from 3 to 5 voters"
pes_log "PASS"
