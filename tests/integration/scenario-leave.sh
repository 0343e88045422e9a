#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 14 (DESIGN.md "Membership"): `pesctl leave` on the host that owns
# units. Three voters and two candidates (h4, h5) that declare the oracle and
# ten more units; whichever candidate owns the oracle leaves. Each of its units
# is handed off (or released) first, so it runs on the other candidate well
# before a lease could have run out; then the host is no longer a member.
# Prints the oracle's gap.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

N=10
units=(pes-tick.service)
for i in $(seq 1 "$N"); do
        units+=("pes-sleep@$i.service")
done
export PES_VOTERS="h1 h2 h3" PES_UNIT_HOSTS="h4 h5"
pes_setup s14 5 "${units[@]}"

all_running() {
        [[ $(pes_instances 'pes-sleep@*.service' | awk '{print $1}' | sort -u | wc -l) -eq $N ]]
}
pes_wait 60 all_running || pes_fail "not all $N units run"
owner=$(pes_wait_owner pes-tick.service)
[[ $owner == h4 || $owner == h5 ]] || pes_fail "$owner, not a candidate that declares it, runs the oracle"
other=h4
[[ $owner == h4 ]] && other=h5
pes_wait_ticks "$owner" 50 || pes_fail "$owner does not tick"
owned=$(pes_instances 'pes-*.service' | awk -v h="$owner" '$2 == h {print $1}' | wc -l)

lines=$(pes_tick_lines)
t0=$SECONDS
rig_exec "$owner" pesctl leave || pes_fail "pesctl leave on $owner failed"
pes_log "pesctl leave on $owner returned after $((SECONDS - t0)) s ($owned units were on it)"
pes_wait_ticks "$other" 20 "$lines" || pes_fail "$other does not tick after $owner left"
new=$(pes_first_tick_not_by "$owner" "$lines")
last=$(pes_last_tick_by "$owner")
gap=$(( ($(cut -d' ' -f2 <<<"$new") - $(cut -d' ' -f2 <<<"$last")) / 1000000 ))
((gap > 0)) || pes_fail "$other started before $owner stopped"
# H = 1 s: a lease is T = 3 s; a failover that waited it out takes longer.
((gap < 2000)) || pes_fail "the oracle was down $gap ms: the move waited for a lease"

everything_on_other() {
        [[ $(pes_instances 'pes-*.service' | awk -v h="$other" '$2 == h' | wc -l) -eq $((N + 1)) ]]
}
pes_wait 30 everything_on_other || pes_fail "not every unit runs on $other: $(pes_instances 'pes-*.service')"
[[ -z $(pes_instances 'pes-*.service' | awk -v h="$owner" '$2 == h') ]] || pes_fail "units still run on $owner"
gone() {
        [[ $(pes_members "$1") == "$2" ]]
}
expected=$(tr ' ' '\n' <<<"h1 h2 h3 h4 h5" | grep -vx "$owner" | tr '\n' ' ' | sed 's/ $//')
for h in h1 h2 h3 "$other"; do
        pes_wait 20 gone "$h" "$expected" || pes_fail "$h lists members '$(pes_members "$h")', not '$expected'"
done
pes_check_ticks
pes_log "$owner left; its units moved to $other; the oracle's gap was $gap ms"
pes_log "PASS"
