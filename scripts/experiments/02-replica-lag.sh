#!/usr/bin/env bash
# Experiment 2: replication lag. A latency fault between the primary and one replica makes that
# replica serve stale reads; read-your-writes (minLsn) waits for the write instead. Runs against
# `docker compose up` or `npm start`; see lib.sh for the settings.
#   REPLICA=replica-1   the replica that lags
#   LAG_MS=500          the latency added to what the primary sends it
# Checks: the slowed replica answers with the old value right after a write, the other replica
# does not lag, minLsn returns the new value once it arrives, and a too short wait answers 504
# replica_behind. The fault is healed at the end.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAG_MS=${LAG_MS:-500}

title "Experiment 2: replication lag and read-your-writes" <<'EOF'
Replicas are async by default: the primary acknowledges a write before any replica has it, then
streams it to them. A replica far away (here: a latency fault on the link from the primary to it)
is behind by that distance, and a client that reads from it right after writing can see the old
value: a stale read. Asking for the write's LSN (?minLsn=) makes the replica wait until it has
applied that far: read-your-writes, at the price of the wait. The mirror is not involved.
EOF

preflight
P=$(require_primary)
WRITE_URL=$(url_of "$P")
REPLICAS=$(replicas_of "$P")
R=$(require_replica "$P")
OTHER=$(printf '%s\n' "$REPLICAS" | grep -vx "$R" | head -n 1 || true)
R_URL=$(url_of "$R")
KEY="exp2/$RUN_ID/greeting"
info "primary: $P, slowed replica: $R${OTHER:+, the other replica: $OTHER}"

step "Before the fault: write v1, and $R has it within milliseconds"
put_kv "$KEY" '"v1"'
expect_status 200 "writing v1"
LSN1=$(body d.lsn)
http GET "$R_URL/kv/$KEY?minLsn=$LSN1&waitMs=3000"
expect_status 200 "reading v1 from $R"
ok "$R serves v1 (LSN $LSN1), lag $(body d.lagMs) ms"

step "Add $LAG_MS ms of latency on everything the primary sends to $R"
RULE=$(add_fault latency "{\"from\":\"$P\",\"to\":\"$R\",\"ms\":$LAG_MS}")
on_exit "[ -n \"\${HEALED:-}\" ] || heal_fault '$RULE'"
info "fault rule $RULE"

step "Write v2, then read it back at once from $R${OTHER:+ and from $OTHER}"
put_kv "$KEY" '"v2"'
expect_status 200 "writing v2"
WRITE_BODY=$BODY WRITE_MS=$TIME_MS
# Read first, explain afterwards: the replica is behind for only about $LAG_MS ms.
http GET "$R_URL/kv/$KEY"
expect_status 200 "reading from $R"
STALE_BODY=$BODY
http GET "$WRITE_URL/status"
PRIMARY_STATUS=$BODY
LSN2=$(printf '%s' "$WRITE_BODY" | json d.lsn)
info "v2 acknowledged at LSN $LSN2 by $(printf '%s' "$WRITE_BODY" | json 'd.ackedBy.join(", ")') in $WRITE_MS ms: the ack did not wait for $R"
shows "curl $R_URL/kv/$KEY"
info "$R answers: $STALE_BODY"
STALE_VALUE=$(printf '%s' "$STALE_BODY" | json d.value)
[ "$STALE_VALUE" = v1 ] || fail "$R already served $STALE_VALUE right after the write; expected the stale v1 under $LAG_MS ms of latency"
ok "$R served the stale v1: its applied LSN $(printf '%s' "$STALE_BODY" | json d.appliedLsn) is below $LSN2"
info "at that moment the primary saw $R as: $(printf '%s' "$PRIMARY_STATUS" | json "JSON.stringify(d.replicas.find((r) => r.id === '$R'))")"
watch "lagEntries and lagMs of $R in the primary's GET /status (and on the dashboard)."
if [ -n "$OTHER" ]; then
  http GET "$(url_of "$OTHER")/kv/$KEY?minLsn=$LSN2&waitMs=$((LAG_MS / 2))"
  expect_status 200 "reading v2 from $OTHER"
  ok "$OTHER, with no fault, serves $(body d.value) within $TIME_MS ms"
fi

step "Read-your-writes: ask $R for LSN $LSN2 and let it wait"
shows "curl '$R_URL/kv/$KEY?minLsn=$LSN2&waitMs=3000'"
http GET "$R_URL/kv/$KEY?minLsn=$LSN2&waitMs=3000"
expect_status 200 "read-your-writes on $R"
[ "$(body d.value)" = v2 ] || fail "minLsn=$LSN2 returned $(body d.value), not v2"
ok "$R answered v2 after waiting $TIME_MS ms for its applied LSN to reach $LSN2"

step "Too short a wait: 504 replica_behind, never a stale answer"
put_kv "$KEY" '"v3"'
expect_status 200 "writing v3"
# At once: the replica is behind for only about $LAG_MS ms.
LSN3=$(body_lsn)
shows "curl '$R_URL/kv/$KEY?minLsn=$LSN3&waitMs=50'"
http GET "$R_URL/kv/$KEY?minLsn=$LSN3&waitMs=50"
expect_status 504 "a 50 ms read-your-writes on $R"
[ "$(body d.error)" = replica_behind ] || fail "expected replica_behind, got $BODY"
ok "$R answered 504 replica_behind (applied LSN $(body d.appliedLsn) < $LSN3): the client knows, and can wait, retry or go to the primary"
means "an async replica is behind by about the link's delay; minLsn turns a stale read into a wait or an error."

step "Heal the fault; $R catches up"
heal_fault "$RULE"
# Read by the cleanup registered above.
# shellcheck disable=SC2034
HEALED=1
caught_up() { [ "$(status_field "$P" "(d.replicas.find((r) => r.id === '$R') || {}).lagEntries")" = 0 ]; }
wait_for 10 caught_up || fail "$R did not catch up within 10 s of healing"
ok "$R has caught up: lagEntries 0"

finish
