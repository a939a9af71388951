#!/usr/bin/env bash
# Experiment 3: automatic failover with zero loss. The primary is killed (kill -9) while a client
# writes with ack=sync; the synchronized mirror takes over at epoch+1, and every acknowledged write
# is on the new primary. The old primary comes back as the new mirror. Runs against
# `docker compose up` or `npm start`; see lib.sh for the settings.
#   KILL_AFTER=30        acknowledged writes before the kill
#   WRITES_AFTER=20      writes on the new primary before the client stops
#   FAILOVER_TIMEOUT_MS=1500   only for the explanation: the cluster's own setting decides
# Checks: control names the mirror as primary at a higher epoch; every write acknowledged before
# and after the kill reads back from the new primary; the old primary rejoins as mirror and
# becomes synchronized.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KILL_AFTER=${KILL_AFTER:-30}
WRITES_AFTER=${WRITES_AFTER:-20}
FAILOVER_TIMEOUT_MS=${FAILOVER_TIMEOUT_MS:-1500}

title "Experiment 3: the primary dies, the mirror takes over, nothing acknowledged is lost" <<'EOF'
With the mirror in sync mode, an ack=sync write is acknowledged only once it is durable on the
primary and on the mirror. When the primary stops answering for FAILOVER_TIMEOUT_MS, the mirror
asks the witness (control); the witness agrees only if it has lost the primary too and the mirror
was synchronized. The mirror then becomes the primary at epoch+1, the replicas follow it, and
the other nodes redirect writes to it. Because every acknowledged write was on the mirror, none
is lost. The old primary, started again, becomes the new primary's mirror.
EOF

preflight
P=$(require_primary)
M=$(mirror_of "$P")
[ -n "$M" ] || fail "the primary $P has no mirror"
wait_for 10 mirror_synchronized "$P" || fail "the mirror $M is not synchronized: automatic failover needs a synchronized mirror (is it in async mode? run experiment 1's restore, or PUT /cluster/modes {\"$M\":\"sync\"})"
wait_for 10 witness_agrees "$P" "$M" || fail "the witness does not see $M as the synchronized mirror of $P (GET $CONTROL/witness: $BODY), so it would refuse a failover"
EPOCH0=$(current_epoch)
info "primary: $P at epoch $EPOCH0, mirror: $M (synchronized)"

step "A client writes with ack=sync; after $KILL_AFTER acknowledged writes the primary is killed"
LOG="$WORK_DIR/writes.log"
WRITE_URL=$(url_of "$P")
KILL_AT=0 RECOVERED_AT=0 NEW_PRIMARY='' after=0 i=0
deadline=$(($(now_ms) + 20000))
while [ "$i" -lt 1000 ] && [ "$(now_ms)" -lt "$deadline" ]; do
  i=$((i + 1))
  write_logged "$LOG" "exp3/$RUN_ID/$i" "{\"n\":$i}" ack=sync
  if [ "$KILL_AT" = 0 ]; then
    if [ "$i" -ge "$KILL_AFTER" ]; then
      node_cmd kill "$P"
      KILL_AT=$(now_ms)
      on_exit "node_cmd start '$P' >/dev/null 2>&1 || true"
      info "killed $P; the client keeps writing and asks control who the primary is"
    fi
    continue
  fi
  if [ "$STATUS" = 200 ]; then
    if [ "$RECOVERED_AT" = 0 ]; then
      RECOVERED_AT=$(now_ms)
      info "first write acknowledged by the new primary $NEW_PRIMARY, $((RECOVERED_AT - KILL_AT)) ms after the kill: $BODY"
    fi
    after=$((after + 1))
    [ "$after" -lt "$WRITES_AFTER" ] || break
  else
    candidate=$(current_primary)
    if [ -n "$candidate" ] && [ "$candidate" != "$P" ]; then NEW_PRIMARY=$candidate WRITE_URL=$(url_of "$candidate"); fi
    sleep 0.05
  fi
done
[ "$KILL_AT" != 0 ] || fail "the client could not write $KILL_AFTER times before the kill: $(tail -n 1 "$LOG")"
[ "$RECOVERED_AT" != 0 ] || fail "no new primary took writes within 20 s of the kill (control's view: $(http GET "$CONTROL/cluster"; body 'JSON.stringify({primary: d.primary, epoch: d.epoch})'))"
ok "writes resumed on $NEW_PRIMARY $((RECOVERED_AT - KILL_AT)) ms after the kill (FAILOVER_TIMEOUT_MS=$FAILOVER_TIMEOUT_MS, plus the witness's decision)"
failed=$(jsonl 'd.filter((w) => w.status !== 200).length' <"$LOG")
info "$failed writes failed during the failover: the client saw errors (connection refused, 307, 503) and retried elsewhere"

step "Control names the new primary"
shows "curl $CONTROL/cluster"
http GET "$CONTROL/cluster"
expect_status 200 "GET /cluster"
[ "$(body d.primary)" = "$M" ] || fail "control names $(body d.primary) as primary, expected the mirror $M"
EPOCH1=$(body d.epoch)
[ "$EPOCH1" -gt "$EPOCH0" ] || fail "the epoch is $EPOCH1, not above $EPOCH0"
ok "$M is the primary at epoch $EPOCH1 (was $EPOCH0)"
watch "on the dashboard: $P unreachable, $M primary, the epoch bumped, a failover event."

step "Zero loss: every acknowledged write reads back from the new primary"
http GET "$(url_of "$M")/kv?prefix=exp3/$RUN_ID/&limit=1000"
expect_status 200 "listing the keys on $M"
{ cat "$LOG"; printf '{"list":%s}\n' "$BODY"; } >"$WORK_DIR/check.log"
acked=$(jsonl 'd.filter((w) => w.status === 200).length' <"$WORK_DIR/check.log")
missing=$(jsonl '((have) => d.slice(0, -1).filter((w) => w.status === 200 && !have.has(w.key)).map((w) => w.key).join(" "))(new Set(d[d.length - 1].list.items.map((i) => i.key)))' <"$WORK_DIR/check.log")
[ -z "$missing" ] || fail "acknowledged writes missing on the new primary: $missing"
ok "all $acked acknowledged writes (before and after the kill) are on $M"
means "ack=sync + a synchronized mirror: an acknowledged write survives the loss of any one machine."

step "The old primary comes back, as the mirror of the new one"
node_cmd start "$P"
rejoined() { [ "$(status_field "$M" 'd.mirror && d.mirror.id + " " + d.mirror.state')" = "$P synchronized" ]; }
wait_for 20 rejoined || fail "$P did not become $M's synchronized mirror within 20 s (its status: $(status_field "$P" 'JSON.stringify({role: d.role, epoch: d.epoch})'))"
ok "$P is back as the mirror of $M, synchronized, at epoch $(status_field "$P" 'd.epoch')"
means "roles are state, not machines: to switch back, a planned failover (no loss):"
info "  curl -X POST $CONTROL/cluster/failover -H 'content-type: application/json' -d '{\"to\":\"$P\"}'"

finish
