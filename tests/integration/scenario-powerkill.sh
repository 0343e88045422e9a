#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 2: power-kill the owner host; another host runs the unit. Prints the
# failover time (last tick of the old owner to first tick of the new).
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

pes_setup s2 3 pes-tick.service
owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 100 || pes_fail "$owner does not tick"
lines=$(pes_tick_lines)
rig_kill "$owner"
pes_wait 20 bash -c "[[ -n \$(tail -n +$((lines + 1)) '$(pes_ticks_log)' | grep -v '^$owner ') ]]" || pes_fail "nobody took over"
new=$(pes_first_tick_not_by "$owner" "$lines")
last=$(pes_last_tick_by "$owner")
gap=$(( ($(cut -d' ' -f2 <<<"$new") - $(cut -d' ' -f2 <<<"$last")) / 1000000 ))
pes_wait_ticks "${new%% *}" 50 || pes_fail "the new owner stopped ticking"
pes_check_ticks
pes_log "failover after power-kill of $owner: ${gap} ms (to ${new%% *})"
pes_log "PASS"
