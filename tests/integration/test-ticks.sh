#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tests the oracle on real hosts: pes-tick run in two hosts at once must make
# check-ticks report the overlap; runs one after another (stopped cleanly or
# power-killed) must pass, with their gaps printed; a fencing token that goes
# down must fail.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/rig.sh
source "$here/rig.sh"
check_ticks=$here/check-ticks

rig_skip_unless_usable
[[ -n ${RIG_BUILD:-} ]] || rig__die "RIG_BUILD must name the build dir (meson test sets it)"
[[ -x $RIG_BUILD/tests/integration/pes-tick ]] || rig__die "$RIG_BUILD/tests/integration/pes-tick is not built"
rig_use_fresh tick
rig_trap

failures=0

fail() {
        echo "FAIL $*"
        failures=$((failures + 1))
}

# Waits until LOG holds at least N ticks of HOST (with TOKEN, when given), up
# to 10 s.
wait_ticks() {
        local log=$1 n=$2 host=$3 token=${4:-[0-9]+} deadline
        deadline=$(rig__deadline 10)
        until [[ -e $log && $(grep -cE "^$host [0-9]+ $token\$" "$log") -ge $n ]]; do
                rig__before "$deadline" || rig__die "$host did not tick $n times into $log"
                sleep 0.01
        done
}

# Runs check-ticks and fails the test unless it exits with the expected status
# and prints the expected string; the output is shown either way.
expect_check() {
        local want=$1 needle=$2 log=$3 got=0 out
        shift 3
        out=$("$check_ticks" "$@" "$log" 2>&1) || got=$?
        sed 's/^/     | /' <<<"$out"
        if [[ $got -ne $want ]]; then
                fail "check-ticks $* $(basename "$log"): exit $got, expected $want"
        elif ! grep -qF -- "$needle" <<<"$out"; then
                fail "check-ticks $* $(basename "$log"): output lacks '$needle'"
        else
                echo "ok   check-ticks $(basename "$log"): exit $got, '$needle'"
        fi
        check_out=$out
}

# Starts the pes-tick unit in a host with a fencing token and waits for its
# first ticks.
tick_start() {
        local host=$1 token=$2
        rig_exec "$host" systemctl set-environment PES_FENCING_TOKEN="$token"
        rig_exec "$host" systemctl start pes-tick.service
        rig_exec "$host" systemctl unset-environment PES_FENCING_TOKEN
        wait_ticks "$shared/ticks.log" 1 "$host" "$token"
}

RIG_UNITS=$here/units rig_up 3
shared=$(rig_shared)

# --- two hosts at once (transient units) -----------------------------------
for h in h1 h2; do
        rig_exec "$h" systemd-run --quiet --unit=tick-twice /usr/local/bin/pes-tick "$RIG_SHARED_IN/twice.log"
done
wait_ticks "$shared/twice.log" 20 h1
wait_ticks "$shared/twice.log" 20 h2
for h in h1 h2; do
        rig_exec "$h" systemctl stop tick-twice.service
done
echo "two hosts ticking at once:"
expect_check 1 "OVERLAP" "$shared/twice.log"

# --- one after another (the unit file, with tokens) ------------------------
# h1 and h2 stop cleanly, h3 loses power while ticking, then h1 runs again.
step_start=$(date +%s%N)
for step in "h1 1" "h2 2" "h3 3"; do
        read -r h token <<<"$step"
        tick_start "$h" "$token"
        wait_ticks "$shared/ticks.log" 10 "$h" "$token"
        if [[ $h == h3 ]]; then
                rig_kill h3
        else
                rig_exec "$h" systemctl stop pes-tick.service
        fi
done
tick_start h1 4
wait_ticks "$shared/ticks.log" 20 h1 4
rig_exec h1 systemctl stop pes-tick.service
echo "one host after another (took $((($(date +%s%N) - step_start) / 1000000)) ms):"
expect_check 0 "check-ticks: OK" "$shared/ticks.log" --strict-tokens
gaps=$(grep -c '^gap ' <<<"$check_out" || true)
[[ $gaps -eq 3 ]] || fail "expected 3 gaps in the report, got $gaps"
grep -q '^gap h3 -> h1: .* (token 3 -> 4)$' <<<"$check_out" || fail "no gap reported for the power-killed h3"

# The ticks keep their 10 ms cadence: each tenure has about one tick per 10 ms
# of its length (at least half of them, on a loaded machine).
"$check_ticks" --json "$shared/ticks.log" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for t in d["tenures"]:
    expected = (t["last_ns"] - t["first_ns"]) / 10e6 + 1
    assert t["ticks"] >= expected / 2, t
    assert t["ticks"] <= expected + 1, t
print("ok   10 ms cadence in every tenure")
' || fail "tick cadence"

# --- a token that goes down ------------------------------------------------
rig_exec h2 systemd-run --quiet --unit=tick-down -E PES_FENCING_TOKEN=9 /usr/local/bin/pes-tick "$RIG_SHARED_IN/down.log"
wait_ticks "$shared/down.log" 5 h2
rig_exec h2 systemctl stop tick-down.service
rig_exec h1 systemd-run --quiet --unit=tick-down -E PES_FENCING_TOKEN=5 /usr/local/bin/pes-tick "$RIG_SHARED_IN/down.log"
wait_ticks "$shared/down.log" 5 h1
rig_exec h1 systemctl stop tick-down.service
echo "a lower token after a higher one:"
expect_check 1 "TOKEN: token lower than an earlier one" "$shared/down.log"

if ((failures)); then
        echo "$failures checks failed"
        exit 1
fi
echo "all oracle checks passed"
