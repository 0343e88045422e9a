#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 15 (DESIGN.md "Membership"): replace a dead voter. h3, a voter, is
# powered off for good; `pesctl voters remove h3` completes without it (the
# voters that have not acknowledged a step cannot form a quorum of the previous
# configuration), `pesctl leave h3` removes it, h4 joins and becomes a voter.
# The oracle runs on throughout, and the new voter set then survives the loss
# of another original voter: h1 and h4 still decide.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

export PES_MAX_LEASE=${PES_MAX_LEASE:-6s} PES_SOLO=1 PES_UNIT_HOSTS="h1 h2 h3"
pes_setup s15 4 pes-tick.service

owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 50 || pes_fail "$owner does not tick"
rig_kill h3
pes_log "h3 powered off"
dead() {
        pes_nodes_json h1 | python3 -c 'import json,sys; sys.exit(0 if [n for n in json.load(sys.stdin) if n["node"] == "h3" and n["state"] == "dead"] else 1)'
}
pes_wait 20 dead || pes_fail "h1 does not see h3 dead"

t0=$SECONDS
rig_exec h1 pesctl voters remove h3 || pes_fail "pesctl voters remove h3 failed"
pes_log "voters remove h3 (dead): $((SECONDS - t0)) s"
rig_exec h1 pesctl leave h3 || pes_fail "pesctl leave h3 failed"
pes_join h4
t0=$SECONDS
rig_exec h2 pesctl voters add h4 || pes_fail "pesctl voters add h4 failed"
pes_log "voters add h4: $((SECONDS - t0)) s"
for h in h1 h2 h4; do
        v=$(pes_voters "$h")
        [[ $v == "h1 h2 h4" ]] || pes_fail "$h lists voters '$v'"
done
[[ $(pes_members h1) == "h1 h2 h4" ]] || pes_fail "h1 lists members '$(pes_members h1)'"

# h2 goes too: h1 and h4 are a majority of the new voters and keep deciding.
lines=$(pes_tick_lines)
rig_kill h2
pes_log "h2 powered off"
pes_wait 20 pes_quorate h1 || pes_fail "h1 is not quorate with h4"
owner=$(pes_wait_owner pes-tick.service 30)
[[ $owner == h1 ]] || pes_fail "the oracle runs on $owner"
pes_wait_ticks h1 20 "$lines" || pes_fail "h1 does not tick after h2 went"
pes_check_ticks
pes_log "the dead voter h3 was replaced by h4; h1 and h4 decide without h2"
pes_log "PASS"
