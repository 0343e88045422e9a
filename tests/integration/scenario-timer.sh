#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scenario 10: a supervised timer (a cluster cron every 2 s) fires its job on
# exactly one host per tick, across a power-kill of its owner.
source "$(dirname "${BASH_SOURCE[0]}")/pes.sh"

pes_setup s10 3 pes-cron.timer
owner=$(pes_wait_owner pes-cron.timer)
log=$(rig_shared)/cron.log
pes_wait 20 bash -c "[[ \$(grep -c '^$owner ' '$log' 2>/dev/null || echo 0) -ge 2 ]]" || pes_fail "the job did not run on $owner"
lines=$(wc -l <"$log")
rig_kill "$owner"
pes_wait 30 bash -c "[[ \$(tail -n +$((lines + 1)) '$log' | grep -cv '^$owner ') -ge 3 ]]" || pes_fail "the cron did not resume elsewhere"
# Exactly one run per tick: consecutive runs are at least ~1.5 s apart (the
# period is 2 s), and tokens never decrease.
python3 - "$log" <<'PY' || pes_fail "two runs of the cron job for one tick"
import sys
runs = [l.split() for l in open(sys.argv[1]) if l.strip()]
runs = sorted((float(t), h, int(tok or 0)) for h, t, tok in runs)
for (t1, h1, k1), (t2, h2, k2) in zip(runs, runs[1:]):
    if t2 - t1 < 1.5:
        sys.exit(f"{h1} at {t1} and {h2} at {t2}: two runs within one period")
    if k2 < k1:
        sys.exit(f"token {k2} on {h2} after {k1} on {h1}")
print(f"{len(runs)} runs, one per period, on {sorted(set(h for _, h, _ in runs))}")
PY
new=$(tail -n 1 "$log" | cut -d' ' -f1)
pes_log "cron moved from $owner to $new across the power-kill; one run per period"
pes_log "PASS"
