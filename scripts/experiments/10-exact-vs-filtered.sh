#!/usr/bin/env bash
# Experiment 10: an exact copy and a selective one, side by side. replica-3 becomes a filtered
# replica (REPLICA_FILTER: only keys under a prefix); after writes inside and outside the prefix,
# GET /cluster/verify shows the mirror's digest equal to the primary's whole digest and the filtered
# replica's digest equal to the primary's digest of that prefix only. Runs against
# `docker compose up` or `npm start`; see lib.sh for the settings.
#   FILTER=exp10/eu/   the prefix replica-3 keeps
#   KEYS=10            keys written inside and outside the prefix each
# Checks: replica-3 runs with the filter; /cluster/verify matches the mirror with the primary's
# whole digest, and replica-3 with the primary's digest of the prefix, which differs from the whole;
# replica-3 holds only keys under the prefix (a key outside it is 404 there, 200 on the primary).
# At the end replica-3 runs with the filter it had before (none, normally), or starts without one
# when it was not running: it is a member of the cluster either way.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FILTER=${FILTER:-exp10/eu/}
KEYS=${KEYS:-10}

title "Experiment 10: the mirror copies exactly, a replica may copy selectively" <<'EOF_TEXT'
The mirror receives the primary's log byte for byte and stores it as it is: at the same LSN its
data is the same, and so is its digest (a hash of every key and value). That is what makes it safe
to fail over to. A replica applies a logical stream of changes, and that can be shaped: here one
keeps only the keys under a prefix (REPLICA_FILTER), say the customers of one region, for a
regional read copy or a reporting database. It is a correct copy of *its part*, not of the whole,
so it could never take over. GET /cluster/verify checks each copy against the primary at a common
LSN: the mirror against everything, a filtered replica against its prefix.
EOF_TEXT

# replica-3 may be down (stopped by hand) or not started yet: this experiment starts it.
MAY_BE_DOWN=replica-3
begin
BEFORE=$(replica_3_filter)
case $BEFORE in
  down) info "primary: $P, mirror: $M; replica-3 is not running yet (experiment 8 adds it): started here" ;;
  '') info "primary: $P, mirror: $M; replica-3 runs without a filter (restored at the end)" ;;
  *) info "primary: $P, mirror: $M; replica-3 runs with REPLICA_FILTER=$BEFORE (restored at the end)" ;;
esac
RESTORE_FILTER=$BEFORE
[ "$RESTORE_FILTER" != down ] || RESTORE_FILTER=''
restore_replica_3() {
  start_replica_3 "$RESTORE_FILTER"
  wait_for 30 replica_3_caught_up "$P" "$RESTORE_FILTER" || fail "replica-3 did not catch up with REPLICA_FILTER='$RESTORE_FILTER' within 30 s"
}
# Should the experiment stop half-way, replica-3 still gets its filter back.
on_exit '[ -n "${RESTORED:-}" ] || restore_replica_3'

step "Make replica-3 keep only the keys under $FILTER"
start_replica_3 "$FILTER"
wait_for 30 replica_3_caught_up "$P" "$FILTER" || fail "replica-3 is not a caught-up replica of $P with REPLICA_FILTER=$FILTER within 30 s (its filter: $(replica_3_filter))"
ok "replica-3 runs with REPLICA_FILTER=$FILTER: it loaded the primary's snapshot of that prefix and follows the stream"

step "Write $KEYS keys under $FILTER and $KEYS outside it"
LOG="$WORK_DIR/writes.log"
for i in $(seq 1 "$KEYS"); do
  write_logged "$LOG" "${FILTER}$RUN_ID-$i" "{\"customer\":$i}"
  write_logged "$LOG" "exp10/us/$RUN_ID-$i" "{\"customer\":$i}"
done
require_writes_ok "$LOG"
ok "$((2 * KEYS)) writes acknowledged, the last at LSN $LAST_LSN"

step "Verify every copy against the primary"
shows "curl $CONTROL/cluster/verify"
verified() {
  http GET "$CONTROL/cluster/verify"
  [ "$STATUS" = 200 ] && [ "$(body "d.lsn >= $LAST_LSN && d.copies['replica-3'] && d.copies['replica-3'].match && d.copies['$M'] && d.copies['$M'].match ? 'yes' : 'no'")" = yes ]
}
wait_for 15 verified || fail "/cluster/verify did not match the mirror and replica-3 at LSN $LAST_LSN or later within 15 s: $BODY"
VERIFY=$BODY
v() { printf '%s' "$VERIFY" | json "$1"; }
info "at LSN $(v d.lsn):"
printf '   %-10s %-9s %-10s %-34s %-34s %s\n' copy role filter digest "primary's digest (same filter)" match
for id in "$M" replica-3; do
  printf '   %-10s %-9s %-10s %-34s %-34s %s\n' "$id" "$(v "d.copies['$id'].role")" "$(v "d.copies['$id'].filter || '-'")" "$(v "d.copies['$id'].digest")" "$(v "d.copies['$id'].primaryDigest")" "$(v "d.copies['$id'].match")"
done
info "the primary's digest of everything: $(v d.primary.digest)"
[ "$(v "d.copies['$M'].digest === d.primary.digest")" = true ] || fail "the mirror's digest $(v "d.copies['$M'].digest") differs from the primary's whole digest $(v d.primary.digest)"
ok "the mirror: digest equal to the primary's whole digest, an exact copy"
[ "$(v "d.copies['replica-3'].filter")" = "$FILTER" ] || fail "/cluster/verify checked replica-3 against filter '$(v "d.copies['replica-3'].filter")', not $FILTER"
[ "$(v "d.copies['replica-3'].digest !== d.primary.digest")" = true ] || fail "replica-3's digest equals the primary's whole digest: it is not filtered"
ok "replica-3: digest equal to the primary's digest of $FILTER only, not to the whole: a correct, partial copy"

step "What each copy holds"
ON_PRIMARY=$(count_on "$WRITE_URL" exp10/ 'the primary')
ON_REPLICA=$(count_on "$REPLICA_3" '' replica-3)
http GET "$REPLICA_3/stats?prefix=$FILTER"
[ "$(body d.count)" = "$ON_REPLICA" ] || fail "replica-3 holds $ON_REPLICA keys, only $(body d.count) of them under $FILTER"
ok "replica-3 holds $ON_REPLICA keys, all under $FILTER; the primary holds $ON_PRIMARY under exp10/ and $(status_field "$P" 'd.keys') in all"
OUTSIDE="exp10/us/$RUN_ID-1"
shows "curl $REPLICA_3/kv/$OUTSIDE"
http GET "$REPLICA_3/kv/$OUTSIDE"
expect_status 404 "reading $OUTSIDE from replica-3"
http GET "$WRITE_URL/kv/$OUTSIDE"
expect_status 200 "reading $OUTSIDE from the primary"
ok "$OUTSIDE is on the primary (and the mirror), not on replica-3 (404)"
shows "curl $(url_of "$M")/stats"
http GET "$(url_of "$M")/stats"
info "the mirror answers HTTP $STATUS $(body d.error): it holds everything and shows nothing"
means "exact copy (mirror): same bytes, same digest, a standby you can fail over to. Selective copy"
means "(replica): shaped to its readers, verified on its part, never a candidate for failover."

step "Put replica-3 back as it was"
restore_replica_3
# Read by the cleanup registered above.
# shellcheck disable=SC2034
RESTORED=1
if [ -n "$RESTORE_FILTER" ]; then ok "replica-3 runs with REPLICA_FILTER=$RESTORE_FILTER again"; else ok "replica-3 is a full copy again (a full resync brought back every key)"; fi

finish
