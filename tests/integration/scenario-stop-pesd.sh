#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 6: `systemctl stop pesd` on the owner hands the unit over without
# waiting out a lease. Prints the gap.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

pes_setup s6 3 pes-tick.service
owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 100 || pes_fail "$owner does not tick"
lines=$(pes_tick_lines)
rig_exec "$owner" systemctl stop pesd.service
pes_wait 20 bash -c "[[ -n \$(tail -n +$((lines + 1)) '$(pes_ticks_log)' | grep -v '^$owner ') ]]" || pes_fail "nobody took over"
new=$(pes_first_tick_not_by "$owner" "$lines")
last=$(pes_last_tick_by "$owner")
gap=$(( ($(cut -d' ' -f2 <<<"$new") - $(cut -d' ' -f2 <<<"$last")) / 1000000 ))
# A lease is 3 s (HeartbeatSec=1s): a hand-over must not have waited one out.
((gap < 3000)) || pes_fail "the hand-over took ${gap} ms, a whole lease"
pes_check_ticks
pes_log "systemctl stop pesd on $owner: handed to ${new%% *} with a gap of ${gap} ms"
pes_log "PASS"
