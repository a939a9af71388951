#!/usr/bin/env bash
# Experiment 5: a split-brain attempt. The primary is cut off from everyone (a partition); it
# stops acknowledging writes (503 no_quorum) while the mirror, with the witness's consent, becomes
# the primary. After healing, the old primary rejoins as the mirror and rolls back the entries it
# wrote alone. Runs against `docker compose up` or `npm start`; see lib.sh for the settings.
# Checks: the isolated primary answers no_quorum and acknowledges nothing after the cut; the
# mirror becomes the primary at a higher epoch and takes writes; after healing the old primary
# is the new primary's mirror, and a rollback of its lone entries is reported. Healed at the end.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

title "Experiment 5: split brain, attempted and refused" <<'EOF'
The classic failure of a primary/standby pair: the link between them breaks, the standby thinks
the primary is dead and takes over, and the old primary, alive and reachable by some clients,
keeps taking writes: two primaries, two diverging histories. mirrorlab prevents it with the
witness (control): a primary that hears neither its mirror nor the witness stops acknowledging
writes (503 no_quorum) before a failover can be granted, and every node refuses entries of an old
epoch. The entries the old primary wrote alone (never acknowledged) are rolled back when it
rejoins, kept in its data directory and reported.
EOF

preflight
P=$(require_primary)
P_URL=$(url_of "$P")
M=$(mirror_of "$P")
[ -n "$M" ] || fail "the primary $P has no mirror"
wait_for 10 mirror_synchronized "$P" || fail "the mirror $M is not synchronized: failover would not be granted"
wait_for 10 witness_agrees "$P" "$M" || fail "the witness does not see $M as the synchronized mirror of $P (GET $CONTROL/witness: $BODY), so it would refuse a failover"
EPOCH0=$(current_epoch)
info "primary: $P at epoch $EPOCH0, mirror: $M (synchronized)"

step "Isolate the primary from every other process (its clients still reach it)"
RULE=$(add_fault partition "{\"isolate\":\"$P\"}")
on_exit "[ -n \"\${HEALED:-}\" ] || heal_fault '$RULE'"
info "fault rule $RULE"

step "Keep writing to the old primary, and watch control"
info "each write gives up after 0.5 s: before the primary notices the cut, writes hang waiting for the mirror"
LOG="$WORK_DIR/old-primary.log"
WRITE_URL=$P_URL
saw_no_quorum=0 promoted='' i=0
deadline=$(($(now_ms) + 15000))
while [ "$i" -lt 300 ] && [ "$(now_ms)" -lt "$deadline" ]; do
  i=$((i + 1))
  REQUEST_TIMEOUT_S=0.5 write_logged "$LOG" "exp5/$RUN_ID/lone-$i" "{\"n\":$i}"
  case $BODY in *'"no_quorum"'*) saw_no_quorum=1 ;; esac
  # Asking control costs time; the window in which the old primary answers no_quorum is short.
  if [ -z "$promoted" ] && { [ "$saw_no_quorum" = 1 ] || [ $((i % 5)) = 0 ]; }; then
    if [ "$(current_primary)" = "$M" ]; then promoted=$(current_epoch); fi
  fi
  if [ "$saw_no_quorum" = 1 ] && [ -n "$promoted" ]; then break; fi
  sleep 0.05
done
printf '%s\n' "$(jsonl 'Object.entries(d.reduce((t, w) => { const k = w.status === 0 ? "no answer in 0.5 s" : w.status + " " + ((w.body && (w.body.error || "acknowledged")) || ""); t[k] = (t[k] || 0) + 1; return t; }, {})).map(([k, n]) => n + " x " + k).join("\n")' <"$LOG")" | sed 's/^/   old primary answered: /'
[ "$saw_no_quorum" = 1 ] || fail "the isolated primary never answered 503 no_quorum"
ok "the isolated $P refuses writes: 503 no_quorum"
acked=$(jsonl 'd.filter((w) => w.status === 200).length' <"$LOG")
[ "$acked" = 0 ] || fail "the isolated primary acknowledged $acked writes after the cut"
ok "it acknowledged none of the $i writes sent after the cut"
[ -n "$promoted" ] || fail "control did not name $M as primary within 15 s of the cut"
[ "$promoted" -gt "$EPOCH0" ] || fail "the epoch is $promoted, not above $EPOCH0"
ok "meanwhile $M became the primary at epoch $promoted (witness: the old primary is unreachable, the mirror was synchronized)"

step "The new primary takes writes"
WRITE_URL=$(url_of "$M")
put_kv "exp5/$RUN_ID/after" '"written on the new primary"'
expect_status 200 "writing on $M"
ok "$M acknowledged a write at epoch $(body d.epoch), LSN $(body d.lsn)"
means "at no moment did two primaries acknowledge writes: the old one fenced itself first."

step "Heal the partition: the old primary learns the new epoch"
heal_fault "$RULE"
# Read by the cleanup registered above.
# shellcheck disable=SC2034
HEALED=1
follows() { [ "$(status_field "$P" 'd.epoch + " " + d.primary')" = "$promoted $M" ]; }
wait_for 20 follows || fail "$P did not learn epoch $promoted and primary $M within 20 s (its status: $(status_field "$P" 'JSON.stringify({role: d.role, epoch: d.epoch, primary: d.primary})'))"
ok "$P knows epoch $promoted and follows $M (its role now: $(status_field "$P" 'd.role'))"

step "The rollback: what the old primary wrote alone"
# find_rollback: the rollback event of the old primary, from control's event history, its event
# stream (SSE), or its own status, whichever has it.
find_rollback() {
  local pick="(Array.isArray(d) ? d : (d.events || d.history || [])).map((e) => ({ ...e, ...(e.data || {}) })).find((e) => (e.type === 'rollback' || e.event === 'rollback') && [e.nodeId, e.node, e.id].includes('$P'))"
  http GET "$CONTROL/events/history"
  if [ "$STATUS" = 200 ]; then
    ROLLBACK=$(body "JSON.stringify($pick || null)")
    [ "$ROLLBACK" = null ] || return 0
  fi
  curl -sN --max-time 2 "$CONTROL/events?format=sse&after=0" 2>/dev/null | sed -n 's/^data: *//p' >"$WORK_DIR/sse.log" || true
  ROLLBACK=$(jsonl "JSON.stringify($pick || null)" <"$WORK_DIR/sse.log" 2>/dev/null || true)
  [ -z "$ROLLBACK" ] || [ "$ROLLBACK" = null ] || return 0
  ROLLBACK=$(status_field "$P" 'JSON.stringify(d.lastRollback || d.rollback || null)')
  [ -z "$ROLLBACK" ] || [ "$ROLLBACK" = null ] || return 0
  return 1
}
# Writes that may have reached the old primary's log: no answer, or an error that names an LSN.
LONE=$(jsonl 'd.filter((w) => w.status === 0 || (w.status !== 200 && w.body && w.body.lsn !== undefined)).length' <"$LOG")
ROLLBACK=''
if [ "$LONE" = 0 ]; then
  info "every write after the cut was refused before the old primary logged it: nothing to roll back"
elif ! wait_for 10 find_rollback; then
  fail "no rollback of $P was reported (GET $CONTROL/events/history, GET $CONTROL/events?format=sse, GET $P_URL/status)"
else
  info "rollback: $ROLLBACK"
  ok "$P rolled back $(printf '%s' "$ROLLBACK" | json 'd.count') entries it had written alone (LSN $(printf '%s' "$ROLLBACK" | json 'd.firstLsn')-$(printf '%s' "$ROLLBACK" | json 'd.lastLsn'))"
  { cat "$LOG"; printf '{"rollback":%s}\n' "$ROLLBACK"; } >"$WORK_DIR/check.log"
  acked_back=$(jsonl '((keys) => d.slice(0, -1).filter((w) => keys.includes(w.key) && w.status === 200).map((w) => w.key).join(" "))(d[d.length - 1].rollback.keys || [])' <"$WORK_DIR/check.log")
  [ -z "$acked_back" ] || fail "acknowledged writes were rolled back: $acked_back"
  ok "every rolled-back key is one of the writes the isolated primary never acknowledged"
  means "those writes were never acknowledged: their clients got errors or timeouts (an *indefinite* outcome:"
  means "it may or may not have happened). They are kept in $P's data directory (rollback/), not silently dropped."
fi

step "The old primary becomes the mirror of the new one"
rejoined() { [ "$(status_field "$M" 'd.mirror && d.mirror.id + " " + d.mirror.state')" = "$P synchronized" ]; }
wait_for 20 rejoined || fail "$P did not become $M's synchronized mirror within 20 s ($M's mirror: $(status_field "$M" 'JSON.stringify(d.mirror)'), $P's role: $(status_field "$P" 'd.role'))"
ok "$P is the synchronized mirror of $M: the pair is whole again, and failover is possible again"

finish
