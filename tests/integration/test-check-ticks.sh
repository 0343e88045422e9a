#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tests check-ticks on hand-written logs: it must pass sequential tenures and
# report their gaps, and bite on every kind of overlap and token error.
set -euo pipefail
shopt -s lastpipe

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check=$here/check-ticks
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# Runs check-ticks on the log given on standard input and compares its exit
# status with the expected one; extra arguments go to check-ticks. The output
# is kept in $out for further assertions.
expect() {
        local want=$1 name=$2 got=0
        shift 2
        cat >"$work/$name.log"
        out=$("$check" "$@" "$work/$name.log" 2>&1) || got=$?
        if [[ $got -ne $want ]]; then
                echo "FAIL $name: exit $got, expected $want; output:"
                echo "$out"
                failures=$((failures + 1))
                return 1
        fi
        echo "ok   $name (exit $got)"
}

# Fails the current case unless the last output contains a string.
expect_output() {
        local name=$1 needle=$2
        if ! grep -qF -- "$needle" <<<"$out"; then
                echo "FAIL $name: output lacks '$needle'; output:"
                echo "$out"
                failures=$((failures + 1))
        fi
}

# Prints N tick lines of HOST with TOKEN, from START_NS every 10 ms.
ticks() {
        local host=$1 token=$2 start=$3 n=$4 i
        for ((i = 0; i < n; i++)); do
                echo "$host $((start + i * 10000000)) $token"
        done
}

# One host, then another after 250 ms: passes, and the gap is printed.
{ ticks h1 0 1000000000 10; ticks h2 0 1340000000 10; } |
        expect 0 sequential && expect_output sequential "gap h1 -> h2: 250.000 ms"

# The same, written out of order (two writers appending): still passes.
{ ticks h2 0 1340000000 10; ticks h1 0 1000000000 10; } |
        expect 0 unordered && expect_output unordered "gap h1 -> h2: 250.000 ms"

# Two hosts ticking at once: the overlap and its evidence are printed.
{ ticks h1 0 1000000000 20; ticks h2 0 1105000000 20; } | sort -k2n |
        expect 1 concurrent && expect_output concurrent "OVERLAP: h2 (token 0) ticked at 1.105000 s" &&
        expect_output concurrent "h1 1100000000 0" && expect_output concurrent "h2 1105000000 0" &&
        expect_output concurrent "h1 1110000000 0"

# A single tick of another host inside a tenure is an overlap too.
{ ticks h1 0 1000000000 10; echo "h3 1042000000 0"; } |
        expect 1 one-tick && expect_output one-tick "OVERLAP: h3 (token 0)"

# Two hosts ticking at the very same nanosecond overlap.
printf 'h1 5 0\nh2 5 0\n' | expect 1 same-instant

# A host that ticks again after another host took over, with the same token,
# is indistinguishable from one that never stopped: an overlap.
{ ticks h1 0 1000000000 5; ticks h2 0 2000000000 5; ticks h1 0 3000000000 5; } |
        expect 1 back-same-token

# With a new token for each tenure, h1 coming back is a new tenure: passes,
# with two gaps.
{ ticks h1 1 1000000000 5; ticks h2 2 2000000000 5; ticks h1 3 3000000000 5; } |
        expect 0 back-new-token --strict-tokens && expect_output back-new-token "gap h1 -> h2: 960.000 ms" &&
        expect_output back-new-token "gap h2 -> h1: 960.000 ms (token 2 -> 3)"

# A token lower than an earlier one fails, even without an overlap.
{ ticks h1 7 1000000000 5; ticks h2 3 2000000000 5; } |
        expect 1 token-decrease && expect_output token-decrease "TOKEN: token lower than an earlier one" &&
        expect_output token-decrease "h2 2000000000 3"

# Equal tokens for two tenures pass by default, fail with --strict-tokens.
{ ticks h1 4 1000000000 5; ticks h2 4 2000000000 5; } | expect 0 equal-tokens
{ ticks h1 4 1000000000 5; ticks h2 4 2000000000 5; } | expect 1 equal-tokens-strict --strict-tokens
{ ticks h1 0 1000000000 5; } | expect 1 zero-token-strict --strict-tokens

# Two tenures of one host at once (two instances) overlap.
{ ticks h1 1 1000000000 10; ticks h1 2 1030000000 10; } | sort -k2n | expect 1 same-host-two-tokens

# Empty and missing logs fail unless allowed; malformed lines are errors (2).
expect 1 empty </dev/null
expect 0 empty-allowed --allow-empty </dev/null
out=$("$check" "$work/no-such.log" 2>&1) && st=0 || st=$?
if [[ $st -eq 1 ]]; then echo "ok   missing (exit 1)"; else echo "FAIL missing: exit $st"; failures=$((failures + 1)); fi
printf 'h1 100 0\nh2 abc 0\n' | expect 2 malformed && expect_output malformed "malformed line"
printf 'h1 100 0\nh2 200' | expect 2 truncated

# The JSON form carries the same verdict and numbers.
{ ticks h1 1 1000000000 10; ticks h2 2 1340000000 10; } | expect 0 json --json
if ! python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["ok"] and d["gaps"][0]["gap_ns"] == 250000000, d' "$out"; then
        echo "FAIL json: unexpected $out"
        failures=$((failures + 1))
fi

if ((failures)); then
        echo "$failures failures"
        exit 1
fi
echo "all check-ticks cases passed"
