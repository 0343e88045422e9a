#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 7: kill -9 of pesd on the owner: the unit stops there (BindsTo=) and
# runs elsewhere. pesd is kept from restarting on that host, so that "elsewhere"
# is what the cluster must achieve without it.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

pes_setup s7 3 pes-tick.service
owner=$(pes_wait_owner pes-tick.service)
pes_wait_ticks "$owner" 100 || pes_fail "$owner does not tick"
rig_exec "$owner" sh -c 'mkdir -p /run/systemd/system/pesd.service.d &&
        printf "[Service]\nRestart=no\n" > /run/systemd/system/pesd.service.d/norestart.conf && systemctl daemon-reload'
lines=$(pes_tick_lines)
t_kill=$(pes_mono_ns)
rig_exec "$owner" systemctl kill --signal=SIGKILL pesd.service
pes_wait 20 bash -c "[[ -n \$(tail -n +$((lines + 1)) '$(pes_ticks_log)' | grep -v '^$owner ') ]]" || pes_fail "nobody took over"
last=$(pes_last_tick_by "$owner")
stopped=$(( ($(cut -d' ' -f2 <<<"$last") - t_kill) / 1000000 ))
[[ $(rig_exec "$owner" systemctl is-active pes-tick.service) != active ]] || pes_fail "it still runs on $owner"
((stopped < 1000)) || pes_fail "it ran ${stopped} ms on $owner after pesd died"
new=$(pes_first_tick_not_by "$owner" "$lines")
pes_check_ticks
pes_log "kill -9 pesd on $owner: unit stopped there ${stopped} ms later, runs on ${new%% *}"
pes_log "PASS"
