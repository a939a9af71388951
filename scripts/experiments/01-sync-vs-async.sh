#!/usr/bin/env bash
# Experiment 1: sync vs async copies. What waiting for a copy costs on every write, and what it
# buys. Runs against `docker compose up` or `npm start`; see lib.sh for the settings.
#   WRITES=20   writes per mode
# Checks: with the mirror sync every write is acknowledged by the mirror too; with the mirror async
# the primary acknowledges without waiting for it; a sync replica acknowledges every write.
# The copy modes are restored at the end.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WRITES=${WRITES:-20}

title "Experiment 1: sync vs async copies" <<'EOF'
A write is acknowledged when the copies its ack level waits for have it durable. With the default
ack=sync, that means every copy whose *mode* is sync: the mirror by default (SQL Server's "high
safety", DRBD protocol C), no replica. Switched to async, the mirror is still sent every entry,
but the primary answers without waiting for it ("high performance", DRBD protocol A): faster,
and an acknowledged write may exist on the primary alone for a moment. A replica can be made
sync too, and then every write waits for it as well.
This experiment writes in each mode and compares latency and who acknowledged each write.
EOF

begin
KNOWN=" $(control_nodes) "
# The connected replicas whose mode control can switch.
REPLICAS=''
for id in $(replicas_of "$P"); do case $KNOWN in *" $id "*) REPLICAS="$REPLICAS $id" ;; esac; done
REPLICAS=${REPLICAS# }
R=${REPLICA:-${REPLICAS%% *}}
[ -n "$R" ] || fail "the primary $P streams to no replica right now"
info "primary: $P, mirror: $M, replicas: $REPLICAS"

SAVED_MODES=$(current_modes "$P" "$M $REPLICAS")
info "copy modes now: $SAVED_MODES (restored at the end)"
restore_modes() {
  http PUT "$CONTROL/cluster/modes" "$SAVED_MODES"
  if [ "$STATUS" = 200 ]; then info "copy modes restored: $SAVED_MODES"; else info "could not restore the copy modes $SAVED_MODES: HTTP $STATUS $BODY"; fi
}
on_exit restore_modes

# modes_json MIRROR_MODE SYNC_REPLICA: the mirror in that mode, that replica sync, the others async.
modes_json() {
  local modes="\"$M\":\"$1\"" id
  for id in $REPLICAS; do
    if [ "$id" = "${2-}" ]; then modes="$modes,\"$id\":\"sync\""; else modes="$modes,\"$id\":\"async\""; fi
  done
  printf '{%s}' "$modes"
}

# run_writes NAME: WRITES sequential writes with the default ack level (sync), logged to NAME.log.
run_writes() {
  local log="$WORK_DIR/$1.log" i
  for i in $(seq 1 "$WRITES"); do write_logged "$log" "exp1/$RUN_ID/$1/$i" "{\"n\":$i}"; done
  local failed
  failed=$(jsonl 'd.filter((w) => w.status !== 200).length' <"$log")
  [ "$failed" = 0 ] || fail "$failed of $WRITES writes failed: $(jsonl 'JSON.stringify(d.find((w) => w.status !== 200))' <"$log")"
  info "$WRITES writes: server time $(jsonl "$percentiles_js(d.map((w) => w.body.timings.totalMs))" <"$log"), of which waiting for copies $(jsonl "$percentiles_js(d.map((w) => w.body.timings.syncMs))" <"$log")"
  info "one answer: $(jsonl 'JSON.stringify({ackedBy: d[d.length - 1].body.ackedBy, pending: d[d.length - 1].body.pending, timings: d[d.length - 1].body.timings})' <"$log")"
}

# count LOG EXPR: how many logged writes satisfy EXPR (of `w`, the write).
count() { jsonl "d.filter((w) => $2).length" <"$WORK_DIR/$1.log"; }

step "The mirror sync (the default): every write waits for the mirror's fsync"
set_modes "$(modes_json sync)"
wait_for 10 mirror_synchronized "$P" || fail "the mirror did not become synchronized within 10 s"
run_writes mirror-sync
n=$(count mirror-sync "w.body.ackedBy.includes('$M')")
[ "$n" = "$WRITES" ] || fail "only $n of $WRITES sync-mode writes were acknowledged by the mirror"
ok "all $WRITES writes were acknowledged by $P and $M: each is durable on two machines"
watch "ackedBy lists the mirror; syncMs is the time spent waiting for it."

step "The mirror async: the primary answers after its own fsync only"
set_modes "$(modes_json async)"
run_writes mirror-async
n=$(count mirror-async "w.body.pending.includes('$M')")
[ "$n" -gt 0 ] || fail "no async-mode write was acknowledged before the mirror had it"
ok "$n of $WRITES writes were acknowledged while $M still had them pending"
watch "the mirror moves from ackedBy to pending, and the mirror's state is 'synchronizing': it trails."
means "a crash of the primary now can lose acknowledged writes; failover is not automatic in async mode."

step "A sync replica: writes wait for $R as well"
set_modes "$(modes_json sync "$R")"
wait_for 10 mirror_synchronized "$P" || fail "the mirror did not become synchronized again within 10 s"
run_writes replica-sync
n=$(count replica-sync "w.body.ackedBy.includes('$R') && w.body.ackedBy.includes('$M')")
[ "$n" = "$WRITES" ] || fail "only $n of $WRITES writes were acknowledged by both $M and $R"
ok "all $WRITES writes were acknowledged by $P, $M and $R"
watch "ackedBy now names the replica: every acknowledged write is durable on it too."

step "Side by side"
for name in mirror-sync mirror-async replica-sync; do
  printf '   %-13s %s\n' "$name" "$(jsonl "$percentiles_js(d.map((w) => w.body.timings.totalMs))" <"$WORK_DIR/$name.log")"
done
means "each sync copy adds its network round trip and its fsync to every write. On one machine the"
means "difference is the copy's fsync; across regions it is the distance (try experiment 2's latency fault)."

finish
