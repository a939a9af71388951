#!/usr/bin/env bash
# Experiment 9: the performance impact of a slow copy. The same latency, first on the link to the
# sync mirror, then on the link to an async replica, then with that replica sync: who pays for a
# slow copy depends on its mode. Runs against `docker compose up` or `npm start`; see lib.sh.
#   SLOW_MS=150   the latency added to what the primary sends the slowed copy
#   WRITES=8      writes per row
#   REPLICA=replica-1   the replica slowed in rows 3 and 4
# Checks: with the mirror slowed every ack=sync write takes at least 0.8 × SLOW_MS; with the async
# replica slowed writes stay under SLOW_MS / 2 while a fresh write reaches that replica at least
# SLOW_MS / 2 after it began (the write's time plus an immediate read-your-write there); with the
# slowed replica sync, writes take at least 0.8 × SLOW_MS again. Faults are healed and copy modes restored at the end.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SLOW_MS=${SLOW_MS:-150}
WRITES=${WRITES:-8}

title "Experiment 9: a slow mirror slows every write; a slow async replica slows nobody" <<'EOF_TEXT'
A copy can be slow: far away, on a busy disk, in a garbage-collection pause. What that does to
your writes depends on whether the primary waits for it. The mirror is sync: every ack=sync write
waits for it, so its slowness becomes everyone's. An async replica is waited for by nobody: writes
stay fast, and the replica simply falls behind (readers of that replica see old data for longer).
Make the same replica sync, and its slowness is everyone's again. Same latency, three outcomes.
EOF_TEXT

begin
R=$(require_replica "$P")
R_URL=$(url_of "$R")
info "primary: $P, mirror: $M (sync), the replica slowed later: $R (async); $SLOW_MS ms of latency each time"

SAVED_MODES=$(current_modes "$P" "$M $R")
restore_modes() {
  http PUT "$CONTROL/cluster/modes" "$SAVED_MODES"
  if [ "$STATUS" = 200 ]; then info "copy modes restored: $SAVED_MODES"; else info "could not restore the copy modes $SAVED_MODES: HTTP $STATUS $BODY"; fi
}
on_exit restore_modes
on_exit "heal_fault '' >/dev/null"

# row NAME: WRITES ack=sync writes, each read back from R at once with minLsn; logged to NAME.log and
# NAME-reads.log. Sets WRITE_MEDIAN (ms) and SEEN_MEDIAN: how long after a write began R had it (the
# write's time plus the read's wait, in ms).
row() {
  local log="$WORK_DIR/$1.log" reads="$WORK_DIR/$1-reads.log" i lsn
  for i in $(seq 1 "$WRITES"); do
    write_logged "$log" "exp9/$RUN_ID/$1/$i" "{\"n\":$i}"
    [ "$STATUS" = 200 ] || fail "a write failed: HTTP $STATUS $BODY"
    # Read at once: the LSN straight from the answer's text (starting node to parse it takes longer
    # than some of the delays measured here).
    [[ $BODY =~ \"lsn\":([0-9]+) ]] || fail "the write's answer has no lsn: $BODY"
    lsn=${BASH_REMATCH[1]}
    http GET "$R_URL/kv/exp9/$RUN_ID/$1/$i?minLsn=$lsn&waitMs=3000"
    expect_status 200 "reading the write back from $R"
    printf '{"ms":%d}\n' "$((TIME_MS + $(tail -n 1 "$log" | sed 's/.*"ms":\([0-9]*\).*/\1/')))" >>"$reads"
  done
  WRITE_MEDIAN=$(median_of 'w.ms' "$log")
  SEEN_MEDIAN=$(median_of 'w.ms' "$reads")
  printf '%s %s %s\n' "$1" "$WRITE_MEDIAN" "$SEEN_MEDIAN" >>"$WORK_DIR/rows.txt"
  info "ack=sync writes: median $WRITE_MEDIAN ms; $R had each write $SEEN_MEDIAN ms after it began (median)"
}
at_least() { awk -v v="$1" -v min="$2" 'BEGIN { exit !(v >= min) }'; }
below() { awk -v v="$1" -v max="$2" 'BEGIN { exit !(v < max) }'; }
SLOW_MIN=$((SLOW_MS * 8 / 10))

step "Nothing slowed: the baseline"
row baseline

step "Slow the mirror: $SLOW_MS ms on everything $P sends $M"
RULE=$(add_fault latency "{\"from\":\"$P\",\"to\":\"$M\",\"ms\":$SLOW_MS}")
row slow-mirror
at_least "$WRITE_MEDIAN" "$SLOW_MIN" || fail "with the mirror slowed by $SLOW_MS ms, writes took $WRITE_MEDIAN ms at the median; expected at least $SLOW_MIN"
ok "every write waited for the slow mirror: $WRITE_MEDIAN ms"
means "the replicas waited too: they get only what the mirror confirmed, so none is ahead of it."
heal_fault "$RULE"

step "Slow the async replica $R by the same $SLOW_MS ms"
RULE=$(add_fault latency "{\"from\":\"$P\",\"to\":\"$R\",\"ms\":$SLOW_MS}")
row slow-async-replica
below "$WRITE_MEDIAN" "$((SLOW_MS / 2))" || fail "with only the async replica slowed, writes took $WRITE_MEDIAN ms at the median; expected under $((SLOW_MS / 2))"
ok "writes did not notice: $WRITE_MEDIAN ms"
at_least "$SEEN_MEDIAN" "$((SLOW_MS / 2))" || fail "the slowed $R had each write $SEEN_MEDIAN ms after it began; expected at least $((SLOW_MS / 2))"
ok "but $R trails: it had each write $SEEN_MEDIAN ms after it began"
watch "$R's lag bar on the dashboard, and lagMs in the primary's GET /status."

step "The same slow replica, now sync"
set_modes "{\"$R\":\"sync\"}"
row slow-sync-replica
at_least "$WRITE_MEDIAN" "$SLOW_MIN" || fail "with the slowed $R sync, writes took $WRITE_MEDIAN ms at the median; expected at least $SLOW_MIN"
ok "every write waits for $R again: $WRITE_MEDIAN ms"
heal_fault "$RULE"

step "Side by side ($SLOW_MS ms of latency on one copy)"
printf '   %-20s %-16s %s\n' "slowed copy" "write (median)" "on $R after (median)"
while read -r name w r; do
  case $name in
    baseline) label="none" ;;
    slow-mirror) label="mirror (sync)" ;;
    slow-async-replica) label="$R (async)" ;;
    slow-sync-replica) label="$R (sync)" ;;
  esac
  printf '   %-20s %-16s %s\n' "$label" "$w ms" "$r ms"
done <"$WORK_DIR/rows.txt"
means "mirroring puts the copy's speed into every write (performance for safety); async replication keeps"
means "writes fast and lets the copy trail (safety and freshness for performance). The mode decides, not the kind."

finish
