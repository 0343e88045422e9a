#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 1: three hosts declare pes-tick.service; it runs on exactly one, and
# `pesctl lookup` agrees on every host; `pesctl holds` is true only there.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

pes_setup s1 3 pes-tick.service
owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 150 || pes_fail "$owner does not tick"
[[ $(pes_active_on pes-tick.service | wc -l) -eq 1 ]] || pes_fail "active on more than one host"
for h in $(rig_hosts); do
        got=$(rig_exec "$h" pesctl lookup pes-tick.service --json=short |
                python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["owner"], d["token"])')
        [[ $got == "$owner "* ]] || pes_fail "lookup on $h says '$got', but $owner runs it"
        if rig_exec "$h" pesctl holds pes-tick.service; then
                [[ $h == "$owner" ]] || pes_fail "pesctl holds is true on $h, which does not run it"
        else
                [[ $h != "$owner" ]] || pes_fail "pesctl holds is false on the owner $owner"
        fi
done
token=$(grep "^$owner " "$(pes_ticks_log)" | tail -n 1 | cut -d' ' -f3)
[[ $got == "$owner $token" ]] || pes_fail "the unit's PES_FENCING_TOKEN $token differs from the lookup's '$got'"
pes_check_ticks
pes_log "runs on $owner only (token $token); lookup agrees on every host"

# Declaring at run time on real systemd: an unknown unit is refused with the
# reason; pes-supervise (pesctl supervise) declares one, unsupervise drops it.
if out=$(rig_exec h1 pesctl supervise no-such-unit.service 2>&1); then
        pes_fail "supervising a unit that does not exist succeeded"
fi
grep -q "no such unit on this host" <<<"$out" || pes_fail "unclear refusal: $out"
rig_exec h1 pes-supervise pes-crash.service --failure-budget=0 --failure-backoff=10min ||
        pes_fail "pes-supervise pes-crash.service failed"
rig_exec h1 pesctl units --no-legend | grep -q "^pes-crash.service" || pes_fail "pes-crash.service is not listed"
[[ -f $(rig_host_dir h1)/var-lib-pes/units.d/pes-crash.service.conf ]] ||
        pes_fail "the run-time declaration was not persisted"
rig_exec h1 pesctl unsupervise pes-crash.service || pes_fail "pesctl unsupervise failed"
pes_log "unknown unit refused ($out); pes-supervise and unsupervise work"
pes_log "PASS"
