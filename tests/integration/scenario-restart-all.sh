#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 11: power-kill all three hosts and boot them again: the unit runs
# exactly once again, and fencing tokens keep increasing.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

pes_setup s11 3 pes-tick.service
owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 100 || pes_fail "$owner does not tick"
before=$(pes_last_tick_by "$owner" | cut -d' ' -f3)
rig_kill h1 h2 h3
rig_boot h1 h2 h3
pes_start_pesd h1 h2 h3
for h in h1 h2 h3; do
        rig_exec "$h" journalctl -u pesd.service --no-pager -o cat | grep -q "acceptor state reloaded" ||
                pes_fail "$h did not reload its acceptor state"
done
owner2=$(pes_wait_owner pes-tick.service 30)
lines=$(pes_tick_lines)
pes_wait_ticks "$owner2" 100 || pes_fail "$owner2 does not tick"
after=$(pes_last_tick_by "$owner2" | cut -d' ' -f3)
((after > before)) || pes_fail "token $after after the restart is not above $before"
pes_check_ticks
pes_log "before the power loss $owner ran it with token $before; after, $owner2 with token $after"
pes_log "PASS"
