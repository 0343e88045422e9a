#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Voters= (DESIGN.md "Roles"): four hosts, three of them voters. The fourth is a
# candidate only: it holds a name like any host, keeps no acceptor state, and
# the others list it as a candidate; a hand-over to a voter works as usual.
source "$(dirname "$0")/lib.sh"

VOTERS="n1 n2 n3" start_cluster 4
roles=$(pesctl_on 1 nodes --json=short | python3 -c 'import json,sys; print(" ".join(n["node"] + ":" + n["role"] for n in json.load(sys.stdin)))')
[[ $roles == "n1:voter n2:voter n3:voter n4:candidate" ]] || fail "roles are '$roles'"

start_holder 4 demo
wait_for 10 test -s "$TD/ticks.log" || fail "the candidate did not get the name"
[[ $(last_ticker) == n4 ]] || fail "$(last_ticker) ticks, not n4"
wait_for 10 bash -c "[[ \$(grep -c '^n4 ' '$TD/ticks.log') -ge 100 ]]" || fail "n4 stopped ticking"
for j in 1 2 3 4; do
        [[ $(lookup_owner "$j" demo) == "n4 "* ]] || fail "Lookup on n$j does not name n4"
done
# The candidate's own table (its acceptor's) stays empty: it does not vote.
pesctl_on 4 list --json=short | python3 -c 'import json,sys; sys.exit(1 if json.load(sys.stdin) else 0)' ||
        fail "the candidate's acceptor keeps names"

start_holder 1 demo
lines=$(tick_lines)
kill -KILL -- "-$(holder_pid 4)"
wait_for 10 bash -c "tail -n +$((lines + 1)) '$TD/ticks.log' | grep -q '^n1 '" || fail "n1 did not take over from the candidate"
check_ticks
log "n4, a candidate, held the name; n1 took it over when n4's client left"
log "PASS"
