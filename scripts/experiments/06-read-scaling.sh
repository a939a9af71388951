#!/usr/bin/env bash
# Experiment 6: read scaling and locality. Replicas serve reads (the mirror does not), a client
# reads from the replica of its region, a filtered replica holds only its share, and a reporting
# scan runs on a replica instead of the primary. Runs against `docker compose up` or `npm start`.
#   KEYS=10     keys written per region
#   SCANS=200   at most this many reporting scans in the background
# Checks: every read is served by the replica asked; the mirror refuses reads; a filtered replica
# (if one is configured) holds exactly the keys under its prefix; scans run on a replica while the
# primary keeps taking writes.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KEYS=${KEYS:-10}
SCANS=${SCANS:-200}

title "Experiment 6: read scaling and locality" <<'EOF'
Replication gives readable copies: each replica can serve reads, so adding replicas adds read
capacity (load balancing), a replica near its users serves them with less distance (locality, the
REGION label), a replica can keep only part of the data (REPLICA_FILTER, a key prefix: logical
replication can filter, mirroring cannot), and a heavy reporting query can run on a replica
without slowing the primary's writes. The mirror is a standby: it exists for failover and serves
no reads at all.
EOF

preflight
P=$(require_primary)
WRITE_URL=$(url_of "$P")
M=$(mirror_of "$P")

# The replicas the primary streams to, as "id region filter" lines ("-" for none).
REPLICA_LINES=$(status_field "$P" 'd.replicas.filter((r) => r.connected).sort((a, b) => a.id < b.id ? -1 : 1).map((r) => [r.id, r.region || "-", r.filter || "-"].join(" ")).join("\n")')
[ -n "$REPLICA_LINES" ] || fail "the primary $P streams to no replica right now"
IDS=() REGIONS=() FILTERS=()
while read -r id region filter; do
  IDS+=("$id") REGIONS+=("$region") FILTERS+=("$filter")
done <<<"$REPLICA_LINES"
info "primary: $P, mirror: ${M:-none}, replicas:"
for i in "${!IDS[@]}"; do info "  ${IDS[$i]}  region ${REGIONS[$i]}  filter ${FILTERS[$i]}"; done

# holds INDEX KEY: whether replica INDEX stores KEY (its filter is a prefix of it, or it has none).
holds() {
  local filter=${FILTERS[$1]}
  [ "$filter" = - ] && return 0
  case $2 in "$filter"*) return 0 ;; *) return 1 ;; esac
}

step "Write $KEYS keys for customers in eu and $KEYS in us, on the primary"
LOG="$WORK_DIR/writes.log"
for region in eu us; do
  for i in $(seq 1 "$KEYS"); do write_logged "$LOG" "exp6/$region/$RUN_ID-$i" "{\"customer\":$i,\"region\":\"$region\"}"; done
done
require_writes_ok "$LOG"
ok "$((2 * KEYS)) writes acknowledged, the last at LSN $LAST_LSN"

step "Load balancing: spread reads over the replicas that hold each key"
info "each read asks for minLsn=$LAST_LSN (read-your-writes), so a replica that lags waits instead of answering stale"
TALLY="$WORK_DIR/reads.log"
n=0
for key in $(jsonl 'd.map((w) => w.key).join(" ")' <"$LOG"); do
  candidates=()
  for i in "${!IDS[@]}"; do if holds "$i" "$key"; then candidates+=("$i"); fi; done
  if [ "${#candidates[@]}" -eq 0 ]; then continue; fi
  pick=${candidates[$((n % ${#candidates[@]}))]}
  n=$((n + 1))
  http GET "$(url_of "${IDS[$pick]}")/kv/$key?minLsn=$LAST_LSN&waitMs=3000"
  expect_status 200 "reading $key from ${IDS[$pick]}"
  printf '{"asked":"%s","ms":%d,"body":%s}\n' "${IDS[$pick]}" "$TIME_MS" "$BODY" >>"$TALLY"
done
[ "$n" -gt 0 ] || fail "no replica holds any of the keys written"
wrong=$(jsonl 'd.filter((r) => r.body.servedBy !== r.asked || r.body.role !== "replica").length' <"$TALLY")
[ "$wrong" = 0 ] || fail "$wrong reads were not served by the replica asked: $(jsonl 'JSON.stringify(d.find((r) => r.body.servedBy !== r.asked))' <"$TALLY")"
printf '%s\n' "$(jsonl 'Object.entries(d.reduce((t, r) => ({ ...t, [r.body.servedBy]: (t[r.body.servedBy] || 0) + 1 }), {})).map(([id, c]) => id + ": " + c + " reads").join("\n")' <"$TALLY")" | sed 's/^/   /'
ok "$n reads, each served by the replica it was sent to"
watch "servedBy and appliedLsn in each answer: any replica answers, none of them is the primary."
means "reads scale out: each replica adds read capacity, and the primary keeps its CPU for writes."

if [ -n "$M" ]; then
  key=$(jsonl 'd[0].key' <"$LOG")
  shows "curl $(url_of "$M")/kv/$key"
  http GET "$(url_of "$M")/kv/$key"
  expect_status 503 "reading from the mirror"
  [ "$(body d.error)" = standby_not_readable ] || fail "the mirror answered $BODY, not standby_not_readable"
  ok "$M, the mirror, refuses the read: 503 standby_not_readable"
  means "a mirror is a standby for failover, not a way to scale reads."
fi

step "Locality: a client reads from the replica in its own region"
local_reads=0
for region in eu us; do
  for i in "${!IDS[@]}"; do
    [ "${REGIONS[$i]}" = "$region" ] || continue
    key="exp6/$region/$RUN_ID-1"
    holds "$i" "$key" || continue
    http GET "$(url_of "${IDS[$i]}")/kv/$key?minLsn=$LAST_LSN&waitMs=3000"
    expect_status 200 "reading $key from ${IDS[$i]}"
    info "a client in $region reads $key from ${IDS[$i]} (region $region): lag $(body d.lagMs) ms, $TIME_MS ms round trip"
    local_reads=$((local_reads + 1))
  done
done
if [ "$local_reads" -gt 0 ]; then
  ok "$local_reads reads served in the client's own region"
else
  info "no replica has region eu or us here (REGION); nothing to show"
fi
means "on one machine every replica is equally near; across regions the local replica saves the distance,"
means "at the price of lag: it may be a little behind the primary (lagMs), unless you ask for minLsn."

step "A filtered replica: REPLICA_FILTER keeps only keys under a prefix"
filtered=''
for i in "${!IDS[@]}"; do [ "${FILTERS[$i]}" = - ] || filtered="$filtered $i"; done
if [ -z "$filtered" ]; then
  info "no replica here has a filter (REPLICA_FILTER is empty in the default topology), so there is nothing to"
  info "compare; this step is skipped. To see one, start a replica that keeps only the us customers:"
  info "  docker:  REPLICA_3_FILTER=exp6/us/ docker compose --profile extra up -d replica-3"
  info "  local:   NODE_ID=replica-3 PORT=7005 REGION=ap REPLICA_FILTER=exp6/us/ node --import tsx services/node/src/main.ts"
  info "then run this experiment again (it reads replica-3 at REPLICA_3=$REPLICA_3)."
else
  for i in $filtered; do
    F=${IDS[$i]} prefix=${FILTERS[$i]} url=$(url_of "${IDS[$i]}")
    # Wait until the filtered replica has applied our writes (the list answers once it has).
    http GET "$url/kv?prefix=$prefix&limit=1&minLsn=$LAST_LSN&waitMs=3000"
    expect_status 200 "waiting for $F to apply LSN $LAST_LSN"
    shows "curl '$url/stats?prefix=$prefix'"
    on_replica=$(count_on "$url" "$prefix" "$F")
    on_primary=$(count_on "$WRITE_URL" "$prefix" 'the primary')
    [ "$on_replica" = "$on_primary" ] || fail "$F holds $on_replica keys under $prefix, the primary $on_primary"
    ok "$F holds exactly the $on_primary keys under $prefix that the primary holds"
    http GET "$url/stats?prefix="
    expect_status 200 "stats on $F"
    [ "$(body d.count)" = "$on_replica" ] || fail "$F holds $(body d.count) keys in all, $on_replica of them under $prefix"
    ok "and nothing else: $on_replica keys in all, while the primary holds $(status_field "$P" 'd.keys')"
    outside=$(jsonl "(d.find((w) => !w.key.startsWith('$prefix')) || {}).key" <"$LOG")
    if [ -n "$outside" ]; then
      http GET "$url/kv/$outside"
      expect_status 404 "reading $outside (outside the filter) from $F"
      ok "$outside, outside the filter, is not on $F (404) though the primary has it"
    fi
  done
  means "a filtered replica is a logical copy: its digest matches the primary's only on its prefix"
  means "(GET $CONTROL/cluster/verify says so); a mirror is always the whole, byte for byte."
fi

step "A reporting scan on a replica while the primary takes writes"
SCAN_REPLICA=${IDS[0]}
SCAN_URL=$(url_of "$SCAN_REPLICA")
# measure_writes NAME: 20 writes on the primary, logged to NAME.log.
measure_writes() {
  local i
  for i in $(seq 1 20); do write_logged "$WORK_DIR/$1.log" "exp6/load/$RUN_ID-$1-$i" "$i"; done
  [ "$(jsonl 'd.filter((w) => w.status !== 200).length' <"$WORK_DIR/$1.log")" = 0 ] || fail "writes failed during $1"
}
measure_writes alone
info "primary write latency, nothing else running: $(jsonl "$percentiles_js(d.map((w) => w.body.timings.totalMs))" <"$WORK_DIR/alone.log")"
shows "curl '$SCAN_URL/stats?prefix='   # in a loop, in the background"
touch "$WORK_DIR/scanning"
(
  i=0
  while [ -f "$WORK_DIR/scanning" ] && [ "$i" -lt "$SCANS" ]; do
    curl -s --max-time "$REQUEST_TIMEOUT_S" "$SCAN_URL/stats?prefix=" >>"$WORK_DIR/scans.log" || true
    printf '\n' >>"$WORK_DIR/scans.log"
    i=$((i + 1))
  done
) &
SCANNER=$!
on_exit "rm -f '$WORK_DIR/scanning'; wait $SCANNER 2>/dev/null || true"
measure_writes during-scans
rm -f "$WORK_DIR/scanning"
wait "$SCANNER" || true
info "primary write latency during the scans: $(jsonl "$percentiles_js(d.map((w) => w.body.timings.totalMs))" <"$WORK_DIR/during-scans.log")"
scans=$(jsonl 'd.length' <"$WORK_DIR/scans.log")
[ "$scans" -gt 0 ] || fail "no reporting scan completed on $SCAN_REPLICA"
served=$(jsonl "d.filter((s) => s.servedBy === '$SCAN_REPLICA' && s.role === 'replica').length" <"$WORK_DIR/scans.log")
[ "$served" = "$scans" ] || fail "only $served of $scans scans were served by the replica $SCAN_REPLICA"
info "$scans scans of the whole key space on $SCAN_REPLICA: $(jsonl "$percentiles_js(d.map((s) => s.tookMs))" <"$WORK_DIR/scans.log") each, $(jsonl 'd[d.length - 1].count' <"$WORK_DIR/scans.log") keys"
ok "$scans reporting scans ran on the replica $SCAN_REPLICA while the primary took 20 writes"
watch "the primary's write latency with and without the scans: the scans cost the replica, not the primary."
info "(on one machine every process shares the same CPUs, so some interference shows; on separate"
info "machines the primary does not see the scans at all. A scan on the primary would compete with writes.)"
means "put reporting, analytics and backups on a replica; keep the primary for writes."

finish
