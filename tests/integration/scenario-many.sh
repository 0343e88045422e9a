#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 8: 200 declared names over 3 hosts: every one runs exactly once, and
# they are spread within ±25 % of even.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

N=${PES_MANY:-200}
units=()
for i in $(seq 1 "$N"); do
        units+=("pes-sleep@$i.service")
done
pes_setup s8 3 "${units[@]}"

count_running() {
        local total=0 h n
        for h in $(rig_hosts); do
                n=$(rig_exec "$h" systemctl list-units --state=active --no-legend --plain 'pes-sleep@*.service' | wc -l)
                total=$((total + n))
        done
        [[ $total -eq $N ]]
}
pes_wait 120 count_running || pes_fail "not all $N units run"
declare -A per_host=()
all=$(for h in $(rig_hosts); do
        rig_exec "$h" systemctl list-units --state=active --no-legend --plain 'pes-sleep@*.service' | awk -v h="$h" '{print h, $1}'
done)
dups=$(awk '{print $2}' <<<"$all" | sort | uniq -d | head -n 3)
[[ -z $dups ]] || pes_fail "running on two hosts at once: $dups"
[[ $(awk '{print $2}' <<<"$all" | sort -u | wc -l) -eq $N ]] || pes_fail "not every unit runs"
for h in $(rig_hosts); do
        per_host[$h]=$(grep -c "^$h " <<<"$all" || true)
done
even=$((N / 3))
for h in $(rig_hosts); do
        n=${per_host[$h]}
        ((n * 4 >= even * 3 && n * 4 <= even * 5)) || pes_fail "$h runs $n of $N, outside ±25 % of $even"
done
pes_log "$N units, each on exactly one host: $(for h in $(rig_hosts); do printf '%s=%s ' "$h" "${per_host[$h]}"; done)"
pes_log "PASS"
