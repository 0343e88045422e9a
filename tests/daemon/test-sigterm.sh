#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGTERM to the holder's pesd: it releases the name before exiting, so a client
# on another node takes over without waiting out a lease; the HTTP read side
# (/v1/names, /v1/nodes, /metrics) tells the same story meanwhile.
source "$(dirname "$0")/lib.sh"

three_holders demo
first=$FIRST
i=$FIRST_I

# The read side on the peer port of every node.
for j in 1 2 3; do
        port=$((BASE_PORT + j))
        # /v1/names is this node's local view: fresh on the holder, possibly stale
        # elsewhere (a voter that promised a competing ballot NACKs the renewals);
        # every node's majority Lookup must name the holder.
        curl -sf "http://127.0.0.1:$port/v1/names/demo" > "$TD/name.$j.json" || fail "GET /v1/names/demo on n$j"
        if [[ n$j == "$first" ]]; then
                python3 - "$TD/name.$j.json" "$first" <<'PY' || fail "the holder's /v1/names/demo does not name it"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == "demo" and d["owner"] == sys.argv[2] and d["state"] == "held" and d["held_here"], d
PY
        fi
        [[ $(lookup_owner "$j" demo) == "$first "* ]] || fail "Lookup on n$j does not name $first"
        curl -sf "http://127.0.0.1:$port/v1/nodes" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d) == 3 and all(n["state"] in ("alive", "self") for n in d), d' ||
                fail "n$j's /v1/nodes does not show three live nodes"
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/names/nope.service")
        [[ $code == 404 ]] || fail "GET of an unknown name gave $code, not 404"
done
metrics=$(curl -sf "http://127.0.0.1:$((BASE_PORT + i))/metrics") || fail "GET /metrics on $first"
grep -qx 'pes_names_held 1' <<< "$metrics" || fail "the holder's /metrics does not say it holds one name"
grep -qx 'pes_quorate 1' <<< "$metrics" || fail "the holder's /metrics does not say it is quorate"
grep -q '^pes_peer_rtt_seconds_count [1-9]' <<< "$metrics" || fail "no peer round trips counted"
grep -q '^pes_renewals_total [1-9]' <<< "$metrics" || fail "no renewals counted on the holder"
log "read side agrees: $first holds demo"

lines=$(tick_lines)
t_term=$(mono_ns)
kill -TERM "$(cat "$TD/n$i/pesd.pid")"
wait_for 10 bash -c "tail -n +$((lines + 1)) '$TD/ticks.log' | grep -qv '^$first '" || fail "nobody took over"
second=$(tail -n "+$((lines + 1))" "$TD/ticks.log" | grep -v "^$first " | head -n 1)
gap_ms=$(( ($(cut -d' ' -f2 <<< "$second") - t_term) / 1000000 ))
log "$(cut -d' ' -f1 <<< "$second") took over ${gap_ms} ms after SIGTERM to pesd on $first"
((gap_ms < 3000)) || fail "the handover after SIGTERM took ${gap_ms} ms, as long as a lease"
wait_for 10 bash -c "! kill -0 $(cat "$TD/n$i/pesd.pid") 2>/dev/null" || fail "pesd on $first did not exit after SIGTERM"
grep -q "releasing every name" "$TD/n$i/pesd.log" || fail "pesd on $first did not say it released its names"
check_ticks
log "PASS"
