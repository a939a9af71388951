#!/usr/bin/env bash
# Experiment 7: the same cluster spread over regions (the WAN profile, POST /faults/profile). With
# the mirror across the Atlantic every ack=sync write pays the ocean twice; ack=local does not; a
# client reads faster from the replica in its own region. Runs against `docker compose up` or
# `npm start`; see lib.sh for the settings.
#   WRITES=10   writes per row
# Checks: on one host sync and local writes cost about the same; with the mirror in us (40 ms each
# way from eu) a sync write takes at least 60 ms and an ack=local one well under; with the mirror
# back in eu a sync write is quick again; a client in eu gets an answer from the eu replica with a
# round trip under 10 ms and from the us replica with one of at least 60 ms, and the other way
# round for a client in us. The profile is healed at the end.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WRITES=${WRITES:-10}

title "Experiment 7: a cluster across regions, where synchronous costs distance" <<'EOF_TEXT'
On one machine a sync copy costs a fraction of a millisecond: experiment 1 could barely show it.
Real copies live in other buildings, cities, continents, so that one disaster does not take them
all. The WAN profile puts each node in a region and adds realistic one-way latencies between them:
0.5 ms inside a region, 40 ms eu↔us, 110 ms eu↔ap, 80 ms us↔ap. With the mirror in another region
every write that waits for it (ack=sync) pays the round trip across the ocean; a write that does not
wait (ack=local) does not, at the price you saw in experiment 4. Reads are the other side: a client
reads from the replica in its own region (header x-client-region) and saves the distance.
EOF_TEXT

begin
REPLICAS=$(replicas_of "$P")
R_EU=$(printf '%s\n' "$REPLICAS" | grep -x replica-1 || printf '%s\n' "$REPLICAS" | head -n 1)
R_US=$(printf '%s\n' "$REPLICAS" | grep -vx "$R_EU" | grep -x replica-2 || printf '%s\n' "$REPLICAS" | grep -vx "$R_EU" | head -n 1 || true)
[ -n "$R_EU" ] && [ -n "$R_US" ] || fail "this experiment needs two connected replicas of $P (it has: $(printf '%s' "$REPLICAS" | tr '\n' ' ')); run: npm run reset"
info "primary: $P, mirror: $M, replicas: $R_EU (eu) and $R_US (us)"

# writes NAME ACK: WRITES writes at that ack level, logged to NAME.log; prints the median server time.
writes() {
  local log="$WORK_DIR/$1.log" i
  for i in $(seq 1 "$WRITES"); do write_logged "$log" "exp7/$RUN_ID/$1/$i" "{\"n\":$i}" "ack=$2"; done
  [ "$(jsonl 'd.filter((w) => w.status !== 200).length' <"$log")" = 0 ] || fail "some writes failed: $(jsonl 'JSON.stringify(d.find((w) => w.status !== 200))' <"$log")"
  median_of 'w.body.timings.totalMs' "$log"
}

# profile REGIONS_JSON: POST /faults/profile {"name":"wan","regions":…}.
profile() {
  shows "curl -X POST $CONTROL/faults/profile -d '{\"name\":\"wan\",\"regions\":$1}'"
  http POST "$CONTROL/faults/profile" "{\"name\":\"wan\",\"regions\":$1}"
  [ "$STATUS" != 404 ] || fail "control has no POST /faults/profile (404): this experiment needs the WAN profile (SPEC §5)"
  expect_status 201 "the WAN profile"
  on_exit "heal_fault '' >/dev/null"
}

step "On one machine: $WRITES writes with ack=sync, $WRITES with ack=local"
SYNC0=$(writes one-host-sync sync)
LOCAL0=$(writes one-host-local local)
info "median write time: ack=sync $SYNC0 ms, ack=local $LOCAL0 ms"
means "on one host the mirror is a loopback hop and an fsync away: waiting for it is nearly free."

step "The WAN profile: $P, $R_EU in eu; $M, $R_US in us"
profile "{\"$P\":\"eu\",\"$M\":\"us\",\"$R_EU\":\"eu\",\"$R_US\":\"us\"}"
info "rules on the primary's links: $(body "d.faults.filter((f) => f.from === '$P' || f.to === '$P').map((f) => f.description.replace(/ \\(wan.*\\)/, '')).join('; ')")"
watch "on the dashboard every link carries a latency badge, and the arrows to $M and $R_US slant."

step "The mirror across the ocean: $WRITES writes with ack=sync, $WRITES with ack=local"
SYNC_US=$(writes wan-sync sync)
LOCAL_US=$(writes wan-local local)
info "median write time: ack=sync $SYNC_US ms, ack=local $LOCAL_US ms"
info "one ack=sync answer: $(jsonl 'JSON.stringify({ackedBy: d[0].body.ackedBy, timings: d[0].body.timings})' <"$WORK_DIR/wan-sync.log")"
awk -v s="$SYNC_US" 'BEGIN { exit !(s >= 60) }' || fail "ack=sync writes took $SYNC_US ms at the median with the mirror 40 ms away each way; expected at least 60"
ok "every ack=sync write waited for $M in us: about 80 ms, the round trip eu→us→eu"
awk -v l="$LOCAL_US" 'BEGIN { exit !(l < 40) }' || fail "ack=local writes took $LOCAL_US ms at the median; they wait for no copy, expected well under 40"
ok "ack=local writes did not wait for the ocean: $LOCAL_US ms"
means "a synchronous copy far away protects you from losing a region, and every write pays for it."

step "The mirror back in eu, next to the primary"
profile "{\"$P\":\"eu\",\"$M\":\"eu\",\"$R_EU\":\"eu\",\"$R_US\":\"us\"}"
SYNC_EU=$(writes wan-sync-near sync)
info "median write time: ack=sync $SYNC_EU ms"
awk -v s="$SYNC_EU" 'BEGIN { exit !(s < 40) }' || fail "ack=sync writes took $SYNC_EU ms with the mirror in the primary's region; expected well under 40"
ok "with the mirror 0.5 ms away a sync write is quick again ($SYNC_EU ms): distance, not the mode, is the cost"
means "where the sync copy lives decides what every write costs; SQL Server and DRBD users choose a near site"
means "for the synchronous mirror and replicate asynchronously to the far ones."

step "Reads near and far: a client names its region with x-client-region"
KEY=$(jsonl 'd[0].key' <"$WORK_DIR/wan-sync.log")
LSN=$(jsonl 'd[0].body.lsn' <"$WORK_DIR/wan-sync.log")
# read REGION NODE: one read of KEY from NODE by a client in REGION; prints the simulated round trip.
read_from() {
  local out
  out=$(curl -sS -o "$WORK_DIR/read.json" -D - --max-time "$REQUEST_TIMEOUT_S" -H "x-client-region: $1" "$(url_of "$2")/kv/$KEY?minLsn=$LSN&waitMs=3000" 2>"$WORK_DIR/curl-error" | tr -d '\r' | sed -n 's/^x-simulated-rtt-ms: *//Ip')
  [ -n "$out" ] || fail "$2 answered no x-simulated-rtt-ms header to a client in $1: $(cat "$WORK_DIR/read.json" "$WORK_DIR/curl-error" 2>/dev/null)"
  printf '%s' "$out"
}
shows "curl -H 'x-client-region: eu' $(url_of "$R_EU")/kv/$KEY"
for client in eu us; do
  near=$R_EU far=$R_US
  if [ "$client" = us ]; then near=$R_US far=$R_EU; fi
  near_ms=$(read_from "$client" "$near")
  far_ms=$(read_from "$client" "$far")
  info "a client in $client: from $near ($client) $near_ms ms, from $far (across the ocean) $far_ms ms"
  awk -v n="$near_ms" -v f="$far_ms" 'BEGIN { exit !(n < 10 && f >= 60) }' || fail "a client in $client: $near_ms ms from $near and $far_ms ms from $far; expected under 10 and at least 60"
done
ok "each client reads fastest from the replica in its own region"
means "replicas bring the data to the users (locality); the mirror, unreadable, never serves them."

step "Heal the profile"
heal_fault ''
ok "back on one machine: no latency rule left"

finish
