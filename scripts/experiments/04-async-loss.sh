#!/usr/bin/env bash
# Experiment 4: the price of async replication. A replica lags (a latency fault on its link), the
# service is then forced onto it (POST /cluster/failover with force), and the acknowledged writes
# it never received are gone: the answer counts them, and this script shows which. Runs against
# `docker compose up` or `npm start`; see lib.sh for the settings.
#   REPLICA=replica-1   the lagging replica that is forced to become the primary
#   LAG_MS=3000         the latency on what the primary sends it
#   WRITES=10           writes made while it lags
# Checks: the forced failover reports at least one acknowledged write it may discard; those
# writes are indeed missing on the new primary; control names the replica as primary at a
# higher epoch. The fault is healed at the end.
# Afterwards the replica is the primary: reset the cluster before the next experiment if you want
# the starting roles back (npm run reset; docs/workshop.md).

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAG_MS=${LAG_MS:-3000}
WRITES=${WRITES:-10}

title "Experiment 4: async replication loses acknowledged writes at a forced failover" <<'EOF'
An async replica acknowledges nothing: the primary answers the client first and streams the write
afterwards. If the primary is lost and the service is *forced* onto such a replica (because the
mirror is gone too, or by mistake), every write the replica had not received yet is lost, though
its client was told "done". mirrorlab does not hide this: the forced failover answers with the
number of acknowledged writes it may discard (SPEC §6.6), and the old primary keeps them in its
rollback files when it returns. Automatic failover never does this: it only promotes a
synchronized mirror.
EOF

preflight
P=$(require_primary)
WRITE_URL=$(url_of "$P")
R=$(require_replica "$P")
EPOCH0=$(current_epoch)
info "primary: $P at epoch $EPOCH0; the replica that will lag and be forced to take over: $R"

step "Make $R lag: $LAG_MS ms of latency on everything $P sends it"
RULE=$(add_fault latency "{\"from\":\"$P\",\"to\":\"$R\",\"ms\":$LAG_MS}")
on_exit "heal_fault '$RULE'"

step "Write $WRITES keys with ack=local: acknowledged once durable on the primary alone"
LOG="$WORK_DIR/writes.log"
for i in $(seq 1 "$WRITES"); do write_logged "$LOG" "exp4/$RUN_ID/$i" "{\"n\":$i}" ack=local; done
require_writes_ok "$LOG"
R_APPLIED=$(status_field "$R" 'd.appliedLsn')
info "all $WRITES acknowledged, the last at LSN $LAST_LSN; $R has applied up to LSN $R_APPLIED"
if [ -z "$R_APPLIED" ] || [ "$R_APPLIED" -ge "$LAST_LSN" ]; then
  fail "$R is not behind (applied ${R_APPLIED:-?}, last $LAST_LSN); the latency fault did not slow it"
fi
ok "$R is $((LAST_LSN - R_APPLIED)) entries behind the primary"

step "Force the service onto $R"
shows "curl -X POST $CONTROL/cluster/failover -d '{\"to\":\"$R\",\"force\":true}'"
http POST "$CONTROL/cluster/failover" "{\"to\":\"$R\",\"force\":true}"
[ "$STATUS" != 404 ] || fail "control has no POST /cluster/failover (404): this experiment needs forced failover (SPEC §5)"
expect_status 200 "the forced failover"
info "control answers: $BODY"
LOST=$(body '["lostWrites", "discarded", "mayDiscard", "lost"].map((k) => d[k]).find((v) => typeof v === "number")')
[ -n "$LOST" ] || fail "the answer does not say how many acknowledged writes the failover may discard"
[ "$LOST" -ge 1 ] || fail "the answer says the failover discards $LOST writes, though $R was behind"
ok "the answer admits it: up to $LOST acknowledged writes are discarded"

step "Control names $R as the primary"
is_primary() { [ "$(current_primary)" = "$R" ]; }
wait_for 10 is_primary || fail "control does not name $R as primary within 10 s"
EPOCH1=$(current_epoch)
[ "$EPOCH1" -gt "$EPOCH0" ] || fail "the epoch is $EPOCH1, not above $EPOCH0"
ok "$R is the primary at epoch $EPOCH1"

step "Which acknowledged writes are gone?"
http GET "$(url_of "$R")/kv?prefix=exp4/$RUN_ID/&limit=1000"
expect_status 200 "listing the keys on $R"
{ cat "$LOG"; printf '{"list":%s}\n' "$BODY"; } >"$WORK_DIR/check.log"
LOST_KEYS=$(jsonl '((have) => d.slice(0, -1).filter((w) => w.status === 200 && !have.has(w.key)).map((w) => w.key + " (LSN " + w.body.lsn + ")").join("\n"))(new Set(d[d.length - 1].list.items.map((i) => i.key)))' <"$WORK_DIR/check.log")
[ -n "$LOST_KEYS" ] || fail "every acknowledged write is on $R; nothing was lost, though $R was behind"
printf '%s\n' "$LOST_KEYS" | sed 's/^/   lost: /'
n=$(printf '%s\n' "$LOST_KEYS" | wc -l | tr -d ' ')
[ "$n" -le "$LOST" ] || fail "$n acknowledged writes are gone, more than the $LOST the answer admitted"
ok "$n acknowledged writes are not on the new primary, within the $LOST the answer counted"
means "each of those clients was told its write succeeded. Async copies trade this risk for speed; the"
means "mirror (sync) does not, and that is why only the mirror is promoted automatically."
watch "$P, the old primary, now follows $R: it rolls those entries back into its data directory (rollback files) and a rollback event reports them."

finish
