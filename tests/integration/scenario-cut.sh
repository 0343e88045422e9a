#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 3: cut the owner's link; the owner stops the unit (self-fence)
# before the majority side starts it; after the heal, still exactly one.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

pes_setup s3 3 pes-tick.service
owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 100 || pes_fail "$owner does not tick"
lines=$(pes_tick_lines)
t_cut=$(pes_mono_ns)
rig_cut "$owner"
pes_wait 20 bash -c "[[ -n \$(tail -n +$((lines + 1)) '$(pes_ticks_log)' | grep -v '^$owner ') ]]" || pes_fail "the majority side did not take over"
last=$(pes_last_tick_by "$owner")
new=$(pes_first_tick_not_by "$owner" "$lines")
fenced=$(( ($(cut -d' ' -f2 <<<"$last") - t_cut) / 1000000 ))
gap=$(( ($(cut -d' ' -f2 <<<"$new") - $(cut -d' ' -f2 <<<"$last")) / 1000000 ))
((gap > 0)) || pes_fail "${new%% *} started before $owner stopped"
[[ $(rig_exec "$owner" systemctl is-active pes-tick.service) != active ]] || pes_fail "$owner still runs it"
pes_log "$owner fenced itself ${fenced} ms after the cut; ${new%% *} started ${gap} ms after its last tick"
rig_heal "$owner"
pes_wait 20 pes_quorate "$owner" || pes_fail "$owner did not rejoin"
lines=$(pes_tick_lines)
pes_wait_ticks "${new%% *}" 150 "$lines" || pes_fail "the owner stopped after the heal"
[[ $(pes_active_on pes-tick.service | wc -l) -eq 1 ]] || pes_fail "more than one host runs it after the heal"
pes_check_ticks
pes_log "PASS"
