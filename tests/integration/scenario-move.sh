#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 5: `pesctl move pes-tick.service hN`: stopped on the old host before
# the first tick on the new one. Prints the gap.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

pes_setup s5 3 pes-tick.service
owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 100 || pes_fail "$owner does not tick"
for target in $(rig_hosts); do
        [[ $target != "$owner" ]] && break
done
lines=$(pes_tick_lines)
rig_exec "$owner" pesctl move pes-tick.service "$target" || pes_fail "pesctl move failed"
pes_wait_ticks "$target" 20 "$lines" || pes_fail "$target does not tick after the move"
new=$(pes_first_tick_not_by "$owner" "$lines")
last=$(pes_last_tick_by "$owner")
gap=$(( ($(cut -d' ' -f2 <<<"$new") - $(cut -d' ' -f2 <<<"$last")) / 1000000 ))
((gap > 0)) || pes_fail "$target started before $owner stopped"
[[ $(pes_active_on pes-tick.service) == "$target" ]] || pes_fail "not active on $target alone"
pes_check_ticks
pes_log "move $owner -> $target: gap ${gap} ms"
pes_log "PASS"
