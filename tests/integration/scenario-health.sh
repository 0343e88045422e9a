#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# HealthURL=: the owner probes the unit while it runs; HealthThreshold= failed
# probes in a row count as a unit failure, so it moves to another host.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

PES_UNIT_SETTINGS=$'HealthURL=http://127.0.0.1:8080/ok\nHealthIntervalSec=300ms\nHealthTimeoutSec=300ms\nHealthThreshold=3' \
        pes_setup s12 3 pes-web.service
owner=$(pes_wait_owner pes-web.service)
healthy() {
        [[ $(rig_exec "$owner" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/ok) == 200 ]]
}
pes_wait 10 healthy || pes_fail "pes-web.service on $owner does not answer"
t0=$SECONDS
rig_exec "$owner" rm /run/pes-web/ok
moved() {
        local now
        now=$(pes_active_on pes-web.service)
        [[ -n $now && $now != "$owner" && $(wc -l <<<"$now") -eq 1 ]]
}
pes_wait 20 moved || pes_fail "pes-web.service did not leave $owner after its health check failed"
new=$(pes_active_on pes-web.service)
rig_exec "$owner" journalctl -u pesd.service --no-pager -o cat | grep -q "health check failed 3 times in a row" ||
        pes_fail "pesd on $owner did not say the health check failed"
[[ $(rig_exec "$owner" systemctl is-active pes-web.service) != active ]] || pes_fail "still active on $owner"
pes_log "health check failed on $owner (probes every 300 ms, 3 in a row); moved to $new after $((SECONDS - t0)) s"
pes_log "PASS"
