# shellcheck shell=bash
# Helpers shared by the experiments (sourced by each NN-*.sh, not run by itself).
#
# Every experiment talks to the cluster with curl only, so it runs the same against
# `docker compose up` and `npm start`. Settings, all from the environment:
#   CONTROL, PRIMARY, MIRROR, REPLICA_1, REPLICA_2, REPLICA_3
#                base URL of each service by id (default http://127.0.0.1:7000 ... :7005). The
#                ids name processes, not roles: after a failover `primary` may be the mirror, so
#                every experiment asks control (GET /cluster) who the primary is now.
#   NODE_CMD     how to kill, stop and start a service: the command gets `<action> <id>`. By
#                default `docker compose` when the compose project runs, else `npm run node --`.
#   REQUEST_TIMEOUT_S  the bound of every request (default 5 s).
#   STEP=1       pause before each step until Enter (at human speed, to watch the dashboard).
#   EXPERIMENTS_OUT    where runs keep their output (default .experiments/ in the repository):
#                each run writes <time>-<name>/output.txt and its work files there, and says where.
#   NO_COLOR     plain output.
# Needs bash (3.2 is enough: macOS), curl, and node for reading JSON fields: the host's node if
# there is one, else the one in the control container (docker compose exec).
#
# Every loop here has a count or a deadline. An experiment exits 0 when what it demonstrates
# happened and 1 (after saying why) when it did not, so a test can run it.

set -euo pipefail

EXPERIMENTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$EXPERIMENTS_DIR/../.." && pwd)

# Every run keeps what it printed and what it measured: the script runs again under tee, with its
# output in RUN_DIR/output.txt (the inner run knows it by MIRRORLAB_RUN_DIR).
if [ -z "${MIRRORLAB_RUN_DIR:-}" ]; then
  RUN_DIR="${EXPERIMENTS_OUT:-$REPO_ROOT/.experiments}/$(date +%Y%m%d-%H%M%S)-$(basename "$0" .sh)"
  mkdir -p "$RUN_DIR"
  printf 'output kept in %s\n' "$RUN_DIR"
  if [ -n "${MIRRORLAB_COLOR:-}" ] || { [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; }; then export MIRRORLAB_COLOR=1; fi
  set +e
  MIRRORLAB_RUN_DIR=$RUN_DIR bash "$0" "$@" 2>&1 | tee "$RUN_DIR/output.txt"
  exit_status=${PIPESTATUS[0]}
  printf 'output kept in %s\n' "$RUN_DIR"
  exit "$exit_status"
fi
RUN_DIR=$MIRRORLAB_RUN_DIR

CONTROL=${CONTROL:-http://127.0.0.1:7000}
PRIMARY=${PRIMARY:-http://127.0.0.1:7001}
MIRROR=${MIRROR:-http://127.0.0.1:7002}
REPLICA_1=${REPLICA_1:-http://127.0.0.1:7003}
REPLICA_2=${REPLICA_2:-http://127.0.0.1:7004}
REPLICA_3=${REPLICA_3:-http://127.0.0.1:7005}
REQUEST_TIMEOUT_S=${REQUEST_TIMEOUT_S:-5}

# A run id keeps this run's keys apart from earlier runs' keys (used by the experiments).
# shellcheck disable=SC2034
RUN_ID=$(date +%H%M%S)-$$

WORK_DIR=$RUN_DIR

# ---------------------------------------------------------------------------------------------
# Output

if [ -n "${MIRRORLAB_COLOR:-}" ] || { [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; }; then
  C_BOLD=$'\033[1m' C_DIM=$'\033[2m' C_GREEN=$'\033[32m' C_RED=$'\033[31m' C_CYAN=$'\033[36m' C_YELLOW=$'\033[33m' C_OFF=$'\033[0m'
else
  C_BOLD='' C_DIM='' C_GREEN='' C_RED='' C_CYAN='' C_YELLOW='' C_OFF=''
fi

CHECKS_PASSED=0
STEP_NUMBER=0

# title "text", then the explanation on stdin (a heredoc).
title() {
  printf '\n%s== %s ==%s\n' "$C_BOLD" "$1" "$C_OFF"
  cat
  printf '\n'
}

step() {
  STEP_NUMBER=$((STEP_NUMBER + 1))
  if [ "${STEP:-}" = 1 ]; then
    printf '\n%s(next: %d. %s — press Enter)%s' "$C_DIM" "$STEP_NUMBER" "$1" "$C_OFF"
    # From the terminal even though stdout goes through tee; without one (CI), do not wait.
    read -r _ </dev/tty 2>/dev/null || true
  fi
  printf '\n%s%d. %s%s\n' "$C_CYAN$C_BOLD" "$STEP_NUMBER" "$1" "$C_OFF"
}

info() { printf '   %s\n' "$*"; }
# A command a participant could type themselves, shown before it runs.
shows() { printf '   %s$ %s%s\n' "$C_DIM" "$*" "$C_OFF"; }
watch() { printf '   %swatch:%s %s\n' "$C_YELLOW" "$C_OFF" "$*"; }
means() { printf '   %smeans:%s %s\n' "$C_YELLOW" "$C_OFF" "$*"; }

ok() {
  CHECKS_PASSED=$((CHECKS_PASSED + 1))
  printf '   %sok%s %s\n' "$C_GREEN" "$C_OFF" "$*"
}

fail() {
  printf '\n%sFAILED:%s %s\n' "$C_RED$C_BOLD" "$C_OFF" "$*" >&2
  exit 1
}

finish() {
  printf '\n%sdone: %d checks passed.%s\n' "$C_GREEN$C_BOLD" "$CHECKS_PASSED" "$C_OFF"
}

# ---------------------------------------------------------------------------------------------
# Cleanup: steps registered with on_exit run in reverse order when the script ends, however it
# ends, so a failed experiment still heals its faults, restores modes and starts what it killed.

CLEANUPS=(":")
on_exit() { CLEANUPS+=("$1"); }

run_cleanups() {
  local i
  for ((i = ${#CLEANUPS[@]} - 1; i > 0; i--)); do
    # In a subshell: a cleanup that fails (and exits) must not keep the others from running.
    (eval "${CLEANUPS[$i]}") || printf '   (cleanup "%s" failed)\n' "${CLEANUPS[$i]}" >&2
  done
}
on_script_exit() {
  local exit_status=$?
  trap - EXIT
  run_cleanups
  exit "$exit_status"
}
trap on_script_exit EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Time and waiting

now_ms() {
  local t
  t=$(date +%s%3N 2>/dev/null || true)
  case $t in
    '' | *N*) perl -MTime::HiRes=time -e 'printf("%d\n", time() * 1000)' ;;
    *) printf '%s\n' "$t" ;;
  esac
}

# wait_for TIMEOUT_S COMMAND...: runs COMMAND every 200 ms until it succeeds (status 0) or the
# deadline passes (status 1).
wait_for() {
  local timeout_s=$1
  shift
  local deadline=$(($(now_ms) + timeout_s * 1000))
  while :; do
    if "$@"; then return 0; fi
    if [ "$(now_ms)" -ge "$deadline" ]; then return 1; fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# HTTP: http METHOD URL [JSON_BODY] sets STATUS (000 when nothing answered), BODY and TIME_MS.
# It never fails the script by itself: the caller decides what a status means.

STATUS='' BODY='' TIME_MS=0

http() {
  local method=$1 url=$2 payload=${3-}
  local out
  rm -f "$WORK_DIR/body"
  local args=(-sS -o "$WORK_DIR/body" -w '%{http_code} %{time_total}' -X "$method" --max-time "$REQUEST_TIMEOUT_S")
  if [ -n "$payload" ]; then args+=(-H 'content-type: application/json' --data-binary "$payload"); fi
  out=$(curl "${args[@]}" "$url" 2>"$WORK_DIR/curl-error") || true
  STATUS=${out%% *}
  [ -n "$STATUS" ] || STATUS=000
  TIME_MS=$(awk -v s="${out#* }" 'BEGIN { printf "%d", s * 1000 }')
  BODY=$(cat "$WORK_DIR/body" 2>/dev/null || true)
}

# expect_status CODE WHAT: fails the experiment unless the last request answered CODE.
expect_status() {
  [ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS ${BODY:-$(cat "$WORK_DIR/curl-error" 2>/dev/null)}"
}

# ---------------------------------------------------------------------------------------------
# JSON: `json EXPR` reads one JSON document on stdin and prints the JavaScript expression EXPR of
# it (the document is `d`); strings print raw, other values as JSON, null/undefined as nothing.
# `jsonl EXPR` does the same with `d` = the array of the JSON lines on stdin.

JSON_JS='
const fs = require("fs");
const text = fs.readFileSync(0, "utf8");
let d;
try {
  d = process.argv[2] === "lines"
    ? text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))
    : JSON.parse(text);
} catch (e) {
  process.stderr.write("not JSON: " + text.slice(0, 300) + "\n");
  process.exit(2);
}
const v = new Function("d", "return (" + process.argv[1] + ");")(d);
if (v !== undefined && v !== null) process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
'

compose() { docker compose -f "$REPO_ROOT/docker-compose.yml" "$@"; }

compose_running() {
  command -v docker >/dev/null 2>&1 && [ -n "$(compose ps -q --status running control 2>/dev/null || true)" ]
}

if command -v node >/dev/null 2>&1; then
  json_node() { node -e "$JSON_JS" "$@"; }
elif compose_running; then
  json_node() { compose exec -T control node -e "$JSON_JS" "$@"; }
else
  printf 'These experiments read JSON with node: install Node.js, or run the cluster with docker compose.\n' >&2
  exit 1
fi

json() { json_node "$1" doc; }
jsonl() { json_node "$1" lines; }
# body EXPR: the expression of the last response body.
body() { printf '%s' "$BODY" | json "$1"; }

# body_lsn: the "lsn" of the last response body, read without starting a process (body() starts
# node): for a step that must act within milliseconds of the write before it.
body_lsn() {
  if [[ $BODY =~ \"lsn\":([0-9]+) ]]; then printf '%s' "${BASH_REMATCH[1]}"; fi
}

# ---------------------------------------------------------------------------------------------
# The cluster

url_of() {
  case $1 in
    control) printf '%s' "$CONTROL" ;;
    primary) printf '%s' "$PRIMARY" ;;
    mirror) printf '%s' "$MIRROR" ;;
    replica-1) printf '%s' "$REPLICA_1" ;;
    replica-2) printf '%s' "$REPLICA_2" ;;
    replica-3) printf '%s' "$REPLICA_3" ;;
    *) fail "no URL for service \"$1\" (set its variable, e.g. REPLICA_1=http://host:7003)" ;;
  esac
}

# node_cmd ACTION ID: what `docker compose ACTION ID` or `npm run node -- ACTION ID` does.
if [ -n "${NODE_CMD:-}" ]; then
  NODE_CMD_KIND=$NODE_CMD
elif compose_running; then
  NODE_CMD_KIND="docker compose"
else
  NODE_CMD_KIND="npm run node --"
fi

# NODE_CMD is a command line: split into words on purpose.
# shellcheck disable=SC2086
run_node_cmd() { $NODE_CMD "$1" "$2"; }

node_cmd() {
  shows "$NODE_CMD_KIND $1 $2"
  case $NODE_CMD_KIND in
    "docker compose") compose "$1" "$2" ;;
    "npm run node --") (cd "$REPO_ROOT" && npm run --silent node -- "$1" "$2") ;;
    *) (cd "$REPO_ROOT" && run_node_cmd "$1" "$2") ;;
  esac >"$WORK_DIR/node-cmd.out" 2>&1 || {
    cat "$WORK_DIR/node-cmd.out" >&2
    fail "\"$NODE_CMD_KIND $1 $2\" failed"
  }
  sed 's/^/   /' "$WORK_DIR/node-cmd.out"
}

# Every experiment starts here: control answers, and the cluster is at a starting point (see
# require_steady). On a cluster an earlier experiment left changed, it waits for it to settle and
# otherwise says exactly what to run.
preflight() {
  http GET "$CONTROL/health"
  [ "$STATUS" = 200 ] || fail "control does not answer at $CONTROL/health. Start the cluster first (docker compose up, or npm start), or set CONTROL=http://host:port."
  info "control at $CONTROL; services are killed and started with: $NODE_CMD_KIND"
  require_steady "${STEADY_WAIT_S:-20}"
}

# What keeps the cluster from a starting point, in a sentence; nothing when it is at one: a
# primary whose mirror is synchronized in sync mode, every data node answering, every replica of
# the primary connected, no fault rule active. (Which node is primary does not matter: ids name
# processes, and each experiment asks control who the primary is now.)
STEADY_JS='(() => {
  const p = d.primary;
  if (!p) return "control names no primary";
  const down = Object.values(d.nodes).filter((n) => !("role" in n) && !MAY_BE_DOWN.includes(n.id)).map((n) => n.id);
  if (down.length) return "not answering: " + down.join(", ");
  const s = d.nodes[p];
  if (!s.mirror) return "the primary " + p + " has no mirror";
  if (s.mirror.mode !== "sync") return "the mirror " + s.mirror.id + " is in " + s.mirror.mode + " mode";
  if (s.mirror.state !== "synchronized") return "the mirror " + s.mirror.id + " is " + s.mirror.state + ", not synchronized";
  const cut = s.replicas.filter((r) => !r.connected && !MAY_BE_DOWN.includes(r.id)).map((r) => r.id);
  if (cut.length) return "replicas not connected to " + p + ": " + cut.join(", ");
  if ((d.faults || []).length) return d.faults.length + " fault rule(s) active (" + d.faults.map((f) => f.description).join("; ") + ")";
  return "";
})()'

# MAY_BE_DOWN: ids a script starts itself, so they may be down at its start (replica-3).
MAY_BE_DOWN=${MAY_BE_DOWN:-}
steady_problem() {
  http GET "$CONTROL/cluster"
  if [ "$STATUS" != 200 ]; then printf 'control answered GET /cluster with HTTP %s' "$STATUS"; return; fi
  body "((MAY_BE_DOWN) => $STEADY_JS)('$MAY_BE_DOWN'.split(' '))"
}

# require_steady [WAIT_S]: waits up to WAIT_S (default 20) for the starting point, else fails with
# what is off and the command that restores it.
require_steady() {
  local deadline=$(($(now_ms) + ${1:-20} * 1000)) problem=''
  while :; do
    problem=$(steady_problem)
    [ -n "$problem" ] || return 0
    [ "$(now_ms)" -lt "$deadline" ] || break
    sleep 0.5
  done
  fail "this experiment needs the cluster at a starting point, and it is not: $problem.
   Bring it back, then run the experiment again:
     npm run reset        (or: curl -s -X POST $CONTROL/cluster/reset)
   A reset heals every fault, restores the copy modes and gives the primary role back to the node
   'primary'; what needs a hand (a node that is down) it lists with the exact command."
}

# begin: what every experiment does first. preflight, then P (the primary now), WRITE_URL (its
# URL) and M (its mirror); fails when the primary has none (the starting point always has one).
begin() {
  preflight
  P=$(require_primary)
  WRITE_URL=$(url_of "$P")
  M=$(mirror_of "$P")
  [ -n "$M" ] || fail "the primary $P has no mirror (GET $WRITE_URL/status); run: npm run reset"
}

# require_writes_ok LOG: fails unless every write in LOG (write_logged lines) was acknowledged;
# sets LAST_LSN to the highest LSN among them.
require_writes_ok() {
  [ "$(jsonl 'd.filter((w) => w.status !== 200).length' <"$1")" = 0 ] || fail "some writes failed: $(jsonl 'JSON.stringify(d.find((w) => w.status !== 200))' <"$1")"
  LAST_LSN=$(jsonl 'Math.max(...d.map((w) => w.body.lsn))' <"$1")
}

# count_on URL PREFIX WHO: how many keys WHO (a node, for messages) holds under PREFIX (GET /stats).
count_on() {
  http GET "$1/stats?prefix=$2"
  expect_status 200 "stats on $3"
  body d.count
}

# The primary control sees now (empty when there is none).
current_primary() {
  http GET "$CONTROL/cluster"
  [ "$STATUS" = 200 ] || return 0
  body 'd.primary'
}

current_epoch() {
  http GET "$CONTROL/cluster"
  [ "$STATUS" = 200 ] || return 0
  body 'd.epoch'
}

require_primary() {
  local primary
  wait_for 10 has_primary || fail "control names no primary (GET $CONTROL/cluster); is the cluster up?"
  primary=$(current_primary)
  printf '%s' "$primary"
}

has_primary() { [ -n "$(current_primary)" ]; }

# status_field ID EXPR: EXPR of that node's GET /status (empty when it does not answer).
status_field() {
  http GET "$(url_of "$1")/status"
  [ "$STATUS" = 200 ] || return 0
  body "$2"
}

mirror_synchronized() { [ "$(status_field "$1" 'd.mirror && d.mirror.state')" = synchronized ]; }

# witness_agrees PRIMARY MIRROR: the witness (GET /witness on control) has PRIMARY as primary and
# MIRROR as a synchronized mirror, the condition of an automatic failover. True when control has
# no /witness route to ask.
witness_agrees() {
  http GET "$CONTROL/witness"
  [ "$STATUS" != 404 ] || return 0
  [ "$STATUS" = 200 ] && [ "$(body 'd.primaryId + " " + d.mirrorId + " " + d.mirrorSynchronized')" = "$1 $2 true" ]
}

# mirror_of PRIMARY: the id of its mirror.
mirror_of() { status_field "$1" 'd.mirror && d.mirror.id'; }

# The replicas the primary streams to now, connected ones, one id per line.
replicas_of() { status_field "$1" 'd.replicas.filter((r) => r.connected).map((r) => r.id).sort().join("\n")'; }

# pick_replica PRIMARY: the replica an experiment works with: $REPLICA when set (and it is one),
# else replica-1 when it is a connected replica of PRIMARY, else the first connected replica
# (after a forced failover replica-1 may be the primary itself). Empty when there is none.
pick_replica() {
  local replicas
  replicas=$(replicas_of "$1")
  if [ -n "${REPLICA:-}" ]; then
    if printf '%s\n' "$replicas" | grep -qx "$REPLICA"; then printf '%s' "$REPLICA"; fi
    return 0
  fi
  if printf '%s\n' "$replicas" | grep -qx replica-1; then printf 'replica-1'; return 0; fi
  printf '%s\n' "$replicas" | head -n 1
}

# require_replica PRIMARY: pick_replica, or fail saying how to get one.
require_replica() {
  local r
  r=$(pick_replica "$1")
  [ -n "$r" ] || fail "this experiment needs a connected replica of $1${REPLICA:+ named $REPLICA}, and there is none (replicas: $(replicas_of "$1" | tr '\n' ' ')). Run: npm run reset   (or: curl -s -X POST $CONTROL/cluster/reset)"
  printf '%s' "$r"
}

# set_modes JSON: PUT /cluster/modes on control.
set_modes() {
  shows "curl -X PUT $CONTROL/cluster/modes -d '$1'"
  http PUT "$CONTROL/cluster/modes" "$1"
  expect_status 200 "switching copy modes"
}

# The data nodes control knows, space-separated: its PEERS and every node that registered since
# (replica-3, once started, joins like the others).
control_nodes() {
  http GET "$CONTROL/cluster"
  [ "$STATUS" = 200 ] || return 0
  body 'Object.keys(d.nodes).join(" ")'
}

# current_modes PRIMARY "IDS": the copy modes of those of the primary's copies, as a JSON object
# for set_modes.
current_modes() {
  status_field "$1" "Object.fromEntries([...(d.mirror ? [[d.mirror.id, d.mirror.mode]] : []), ...d.replicas.map((r) => [r.id, r.mode])].filter(([id]) => '$2'.split(' ').includes(id)))"
}

# add_fault KIND JSON: POST /faults/KIND on control; prints the new rule's id (the caller registers
# its removal with on_exit). Fails the experiment when control has no fault injection.
add_fault() {
  shows "curl -X POST $CONTROL/faults/$1 -d '$2'" >&2
  http POST "$CONTROL/faults/$1" "$2"
  if [ "$STATUS" = 404 ]; then fail "control has no POST /faults/$1 (404): this experiment needs fault injection (SPEC §5)"; fi
  case $STATUS in 200 | 201) ;; *) fail "adding a $1 fault: HTTP $STATUS $BODY" ;; esac
  body 'd.id || (d.rule && d.rule.id) || (d.fault && d.fault.id)'
}

# heal_fault ID: DELETE /faults/ID (all faults when ID is empty).
heal_fault() {
  local url="$CONTROL/faults${1:+/$1}"
  shows "curl -X DELETE $url"
  http DELETE "$url"
  case $STATUS in 200 | 204 | 404) ;; *) info "healing answered HTTP $STATUS $BODY" ;; esac
}

# put KEY VALUE [QUERY] on the node URL in $WRITE_URL (defaults to the primary's).
put_kv() {
  http PUT "${WRITE_URL:?set WRITE_URL}/kv/$1${3:+?$3}" "$2"
}

# write_logged LOG KEY VALUE [QUERY]: one write, appended to LOG as one JSON line
# {"key","status","ms","body"} whatever the outcome.
write_logged() {
  put_kv "$2" "$3" "${4-}"
  local answer=${BODY:-null}
  case $answer in '{'*) ;; *) answer=null ;; esac
  printf '{"key":"%s","status":%d,"ms":%d,"body":%s}\n' "$2" "$((10#$STATUS))" "$TIME_MS" "$answer" >>"$1"
}

# The median and 90th percentile of a list of numbers, as a function for json/jsonl expressions:
# "$percentiles_js(d.map(...))".
# shellcheck disable=SC2034
percentiles_js='((xs) => { const s = [...xs].sort((a, b) => a - b); const at = (q) => s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN; return "median " + at(0.5) + " ms, p90 " + at(0.9) + " ms"; })'

# ---------------------------------------------------------------------------------------------
# replica-3, the node that joins later (SPEC §5 membership)

# replica_3_filter: the filter replica-3 runs with; "down" when it does not answer.
replica_3_filter() {
  http GET "$REPLICA_3/status"
  if [ "$STATUS" != 200 ]; then printf 'down'; return 0; fi
  body 'd.filter'
}

# start_replica_3 FILTER: replica-3 running with that REPLICA_FILTER (empty: none), as a person
# starts it: with Docker `REPLICA_3_FILTER=… docker compose --profile extra up -d replica-3` (which
# recreates the container when the filter changes), locally `REPLICA_3_FILTER=… npm run node --
# start replica-3` after stopping it if it runs with another filter. A node whose filter changes
# resyncs fully: it then holds exactly what the new filter keeps.
start_replica_3() {
  local filter=$1 now
  now=$(replica_3_filter)
  if [ "$now" = "$filter" ]; then
    if [ -n "$filter" ]; then info "replica-3 already runs with REPLICA_FILTER=$filter"; else info "replica-3 already runs, without a filter"; fi
    return 0
  fi
  case $NODE_CMD_KIND in
    "docker compose")
      shows "REPLICA_3_FILTER=$filter docker compose --profile extra up -d replica-3"
      REPLICA_3_FILTER=$filter compose --profile extra up -d replica-3 >"$WORK_DIR/node-cmd.out" 2>&1 || {
        cat "$WORK_DIR/node-cmd.out" >&2
        fail "starting replica-3 with docker compose failed"
      }
      ;;
    *)
      if [ "$now" != down ]; then node_cmd stop replica-3; fi
      if [ "$NODE_CMD_KIND" = "npm run node --" ]; then
        shows "REPLICA_3_FILTER=$filter npm run node -- start replica-3"
        (cd "$REPO_ROOT" && REPLICA_3_FILTER=$filter npm run --silent node -- start replica-3) >"$WORK_DIR/node-cmd.out" 2>&1
      else
        shows "REPLICA_3_FILTER=$filter $NODE_CMD_KIND start replica-3"
        (cd "$REPO_ROOT" && REPLICA_3_FILTER=$filter run_node_cmd start replica-3) >"$WORK_DIR/node-cmd.out" 2>&1
      fi || {
        cat "$WORK_DIR/node-cmd.out" >&2
        fail "starting replica-3 failed"
      }
      ;;
  esac
  sed 's/^/   /' "$WORK_DIR/node-cmd.out"
}

# replica_3_caught_up PRIMARY FILTER: replica-3 answers with that filter and the primary streams
# to it, connected and with nothing left to send.
replica_3_caught_up() {
  [ "$(replica_3_filter)" = "$2" ] || return 1
  [ "$(status_field "$1" "((r) => r && r.connected && r.lagEntries === 0 && r.filter === '$2' ? 'yes' : 'no')(d.replicas.find((r) => r.id === 'replica-3'))")" = yes ]
}

# median EXPR LOG: the median of EXPR (of `w`, one logged write) over the JSON lines in LOG.
median_of() { jsonl "((xs) => { const s = xs.sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; })(d.map((w) => $1))" <"$2"; }
