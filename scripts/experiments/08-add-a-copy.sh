#!/usr/bin/env bash
# Experiment 8: how many copies. A third replica (replica-3, region ap) joins the running cluster,
# catches up by itself and serves reads; a second mirror is refused (409 mirror_slot_taken): there
# is one mirror slot. Runs against `docker compose up` or `npm start`; see lib.sh for the settings.
# Checks: replica-3 appears in control's GET /cluster and /cluster/members (registered), the
# primary streams to it, it serves a fresh write, /cluster/verify matches it; POST /cluster/mirror
# for it answers 409 mirror_slot_taken and the mirror keeps the slot.
# Afterwards replica-3 stays: the cluster has three replicas from now on (npm run reset keeps it;
# to remove it, start from scratch: docs/workshop.md).

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

title "Experiment 8: add a replica at run time; there is only one mirror" <<'EOF_TEXT'
Replication scales out: a new replica starts empty, says where it stands, and the primary streams
it everything it lacks (the whole log, or a snapshot then entries). Add as many as your reads and
regions need, while the cluster runs. Mirroring does not: there is exactly one mirror, a standby
paired with the primary. Its job is to be *the* one that takes over, so a second one would only
raise the question "which one?". To make another node the mirror you move the slot, you do not add one.
EOF_TEXT

# replica-3 may be down (stopped by hand): this experiment starts it.
MAY_BE_DOWN=replica-3
begin
info "primary: $P, mirror: $M, replicas now: $(replicas_of "$P" | tr '\n' ' ')"

step "The members control knows before"
shows "curl $CONTROL/cluster/members"
http GET "$CONTROL/cluster/members"
expect_status 200 "GET /cluster/members"
body 'd.members.map((m) => m.id + " (" + m.role + ", " + (m.region || "no region") + ", " + m.source + ")").join("\n")' | sed 's/^/   /'

step "Start replica-3, region ap"
start_replica_3 ''
joined() { [ "$(status_field "$P" "((r) => r && r.connected ? 'yes' : 'no')(d.replicas.find((r) => r.id === 'replica-3'))")" = yes ]; }
wait_for 30 joined || fail "the primary $P does not stream to replica-3 within 30 s of its start"
LSN=$(status_field "$P" 'd.lsn')
wait_for 20 replica_3_caught_up "$P" '' || fail "replica-3 did not catch up with $P (LSN $LSN) within 20 s"
ok "replica-3 is connected to $P and has caught up by itself: it holds every entry up to LSN $LSN"
http GET "$CONTROL/cluster/members"
info "control: $(body "JSON.stringify(d.members.find((m) => m.id === 'replica-3'))")"
[ "$(body "(d.members.find((m) => m.id === 'replica-3') || {}).source")" = registered ] || fail "control's /cluster/members does not list replica-3 as registered: $BODY"
in_cluster() {
  http GET "$CONTROL/cluster"
  [ "$STATUS" = 200 ] && [ "$(body "(d.nodes['replica-3'] || {}).role")" = replica ]
}
wait_for 10 in_cluster || fail "control's GET /cluster does not show replica-3 as a replica"
ok "replica-3 registered itself with control: it is in GET /cluster, the fault API and the dashboard"
watch "a fourth replica card on the dashboard, region ap, with its own lag bar."

step "It serves reads like the others"
put_kv "exp8/$RUN_ID/hello" '"from eu to ap"'
expect_status 200 "writing a key"
W_LSN=$(body d.lsn)
info "acknowledged by $(body 'd.ackedBy.join(", ")'); pending: $(body 'd.pending.join(", ")')"
shows "curl '$REPLICA_3/kv/exp8/$RUN_ID/hello?minLsn=$W_LSN'"
http GET "$REPLICA_3/kv/exp8/$RUN_ID/hello?minLsn=$W_LSN&waitMs=3000"
expect_status 200 "reading from replica-3"
info "replica-3 answers: $BODY"
[ "$(body d.servedBy)" = replica-3 ] || fail "the read was served by $(body d.servedBy), not replica-3"
ok "replica-3 serves the write it was streamed a moment ago"
verified() {
  http GET "$CONTROL/cluster/verify"
  [ "$STATUS" = 200 ] && [ "$(body "((c) => c && c.match && c.appliedLsn >= $W_LSN ? 'yes' : 'no')(d.copies['replica-3'])")" = yes ]
}
wait_for 10 verified || fail "/cluster/verify does not match replica-3: $BODY"
ok "GET /cluster/verify: replica-3's digest equals the primary's at LSN $(body d.lsn): a full copy"

step "Ask for a second mirror: replica-3"
shows "curl -X POST $CONTROL/cluster/mirror -d '{\"node\":\"replica-3\"}'"
http POST "$CONTROL/cluster/mirror" '{"node":"replica-3"}'
info "control answers HTTP $STATUS: $BODY"
expect_status 409 "asking for a second mirror"
[ "$(body d.error)" = mirror_slot_taken ] || fail "expected mirror_slot_taken, got $BODY"
ok "409 mirror_slot_taken: $M holds the one mirror slot"
[ "$(mirror_of "$P")" = "$M" ] || fail "the mirror of $P is now $(mirror_of "$P"), not $M"
ok "$M is still the mirror, replica-3 still a replica"
means "replicas: as many as you need, added while it runs. The mirror: exactly one; moving it to"
means "another node is a planned change ({\"node\":\"replica-3\",\"replace\":true}), never a second copy."
info "replica-3 stays in the cluster from now on: the next experiments see three replicas."

finish
