#!/usr/bin/env bash
# Experiment 5: a split-brain attempt. The primary is cut off from everyone (a partition); it
# stops acknowledging writes (503 no_quorum) while the mirror, with the witness's consent, becomes
# the primary. After healing, the old primary rejoins as the mirror and rolls back the entries it
# wrote alone. Runs against `docker compose up` or `npm start`; see lib.sh for the settings.
# Checks: the isolated primary answers no_quorum and acknowledges nothing after the cut; the
# mirror becomes the primary at a higher epoch and takes writes; after healing the old primary
# is the new primary's mirror, and a rollback of its lone entries is reported. Healed at the end.

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
EPOCH0=$(current_epoch)
info "primary: $P at epoch $EPOCH0, mirror: $M (synchronized)"

step "Isolate the primary from every other process (its clients still reach it)"
RULE=$(add_fault partition "{\"isolate\":\"$P\"}")
on_exit "heal_fault '$RULE'"
info "fault rule $RULE"

step "Keep writing to the old primary, and watch control"
LOG="$WORK_DIR/old-primary.log"
WRITE_URL=$P_URL
saw_no_quorum=0 promoted='' i=0
deadline=$(($(now_ms) + 15000))
while [ "$i" -lt 200 ] && [ "$(now_ms)" -lt "$deadline" ]; do
  i=$((i + 1))
  REQUEST_TIMEOUT_S=3 write_logged "$LOG" "exp5/$RUN_ID/lone-$i" "{\"n\":$i}"
  if [ "$STATUS" = 503 ] && [ "$(body d.error)" = no_quorum ]; then saw_no_quorum=1; fi
  if [ -z "$promoted" ] && [ "$(current_primary)" = "$M" ]; then promoted=$(current_epoch); fi
  if [ "$saw_no_quorum" = 1 ] && [ -n "$promoted" ]; then break; fi
  sleep 0.1
done
jsonl 'Object.entries(d.reduce((t, w) => { const k = w.status + " " + ((w.body && (w.body.error || "acknowledged")) || "no answer"); t[k] = (t[k] || 0) + 1; return t; }, {})).map(([k, n]) => n + " x " + k).join("\n")' <"$LOG" | sed 's/^/   old primary answered: /'
printf '\n'
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

step "Heal the partition: the old primary learns the new epoch and rejoins"
heal_fault "$RULE"
rejoined() { [ "$(status_field "$P" 'd.role + " " + d.epoch')" = "mirror $promoted" ]; }
wait_for 20 rejoined || fail "$P did not rejoin as mirror at epoch $promoted within 20 s (its status: $(status_field "$P" 'JSON.stringify({role: d.role, epoch: d.epoch, primary: d.primary})'))"
ok "$P is now the mirror of $M at epoch $promoted"

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
  curl -sN --max-time 2 "$CONTROL/events?format=sse" 2>/dev/null | sed -n 's/^data: *//p' >"$WORK_DIR/sse.log" || true
  ROLLBACK=$(jsonl "JSON.stringify($pick || null)" <"$WORK_DIR/sse.log" 2>/dev/null || true)
  [ -z "$ROLLBACK" ] || [ "$ROLLBACK" = null ] || return 0
  ROLLBACK=$(status_field "$P" 'JSON.stringify(d.lastRollback || d.rollback || null)')
  [ -z "$ROLLBACK" ] || [ "$ROLLBACK" = null ] || return 0
  return 1
}
ROLLBACK=''
wait_for 10 find_rollback || fail "no rollback of $P was reported (GET $CONTROL/events/history, GET $CONTROL/events?format=sse, GET $P_URL/status)"
info "rollback: $ROLLBACK"
ok "$P rolled back $(printf '%s' "$ROLLBACK" | json 'd.count') entries it had written alone (LSN $(printf '%s' "$ROLLBACK" | json 'd.firstLsn')-$(printf '%s' "$ROLLBACK" | json 'd.lastLsn'))"
means "those writes were never acknowledged: their clients got errors or timeouts (an *indefinite* outcome:"
means "it may or may not have happened). They are kept in $P's data directory (rollback/), not silently dropped."

finish
