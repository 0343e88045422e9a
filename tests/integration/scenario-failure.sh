#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 4: the unit fails on its owner, so it runs elsewhere; and a unit that
# fails everywhere stops bouncing once every host spent its failure budget.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

PES_UNIT_SETTINGS=$'FailureBudget=1\nFailureBackoffSec=10min' pes_setup s4 3 pes-tick.service pes-crash.service
owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 100 || pes_fail "$owner does not tick"
lines=$(pes_tick_lines)
# The unit dies on its owner (SIGKILL from outside pes: it failed).
rig_exec "$owner" systemctl kill --signal=SIGKILL pes-tick.service
pes_wait 20 bash -c "[[ -n \$(tail -n +$((lines + 1)) '$(pes_ticks_log)' | grep -v '^$owner ') ]]" || pes_fail "it did not move after failing on $owner"
new=$(pes_first_tick_not_by "$owner" "$lines")
pes_log "failed on $owner, now runs on ${new%% *}"
pes_check_ticks

# pes-crash.service exits 3 every time: with FailureBudget=1 each host tries it
# at most twice, then steps aside for 10 minutes.
crash=$(rig_shared)/crash.log
pes_wait 60 bash -c "[[ \$(wc -l < '$crash' 2>/dev/null || echo 0) -ge 6 ]]" || pes_fail "pes-crash.service was not tried on every host"
quiet() {
        local n
        n=$(wc -l <"$crash")
        sleep 5
        [[ $(wc -l <"$crash") -eq $n ]]
}
pes_wait 60 quiet || pes_fail "pes-crash.service keeps bouncing"
starts=$(wc -l <"$crash")
((starts <= 3 * 2)) || pes_fail "pes-crash.service started $starts times, more than its budget allows"
pes_log "pes-crash.service stopped bouncing after $starts starts: $(cut -d' ' -f1 "$crash" | sort | uniq -c | tr '\n' ' ')"
pes_log "PASS"
