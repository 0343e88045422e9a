#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 9: a host with the wrong cluster key can neither join nor disturb
# anything: its requests are refused and counted, the unit stays where it runs.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

pes_setup s9 4 pes-tick.service
# h4 is not one of the cluster: stop it, wipe its state (a stored identity wins
# over pesd.conf), give it its own key and pretend to be h3.
rig_exec h4 systemctl stop pesd.service
rig_exec h4 bash -c 'rm -rf /var/lib/pes/*'
owner=$(pes_wait_owner pes-tick.service)
etc=$(rig_host_dir h4)/etc-pes
python3 -c 'import os; print(os.urandom(32).hex())' >"$etc/cluster.key"
sed -i 's/^NodeName=h4/NodeName=h3/; s/^Listen=.*/Listen=10.231.7.14/' "$etc/pesd.conf"
sed -i 's/^Peers=.*/Peers=h1@10.231.7.11 h2@10.231.7.12 h3@10.231.7.14/' "$etc/pesd.conf"
refused() {
        local h=$1
        rig_exec "$h" curl -s "http://$(rig_ip "$h"):7480/metrics" | awk '/^pes_requests_refused_total\{reason="unauthenticated"\}/ {print $2}'
}
before=$(refused h1)
rig_exec h4 systemctl start pesd.service
count_more() {
        local now
        now=$(refused h1)
        ((now > before + 3))
}
pes_wait 20 count_more || pes_fail "h1 did not count h4's requests as unauthenticated"
lines=$(pes_tick_lines)
pes_wait_ticks "$owner" 200 "$lines" || pes_fail "$owner stopped ticking while h4 knocked"
[[ $(pes_active_on pes-tick.service) == "$owner" ]] || pes_fail "the unit is not on $owner alone"
rig_exec h4 pesctl status --json=short | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(1 if d["quorate"] else 0)' ||
        pes_fail "h4 with the wrong key says it is quorate"
pes_check_ticks
pes_log "h4 (wrong key) refused $(( $(refused h1) - before )) times by h1; $owner keeps the unit"
pes_log "PASS"
