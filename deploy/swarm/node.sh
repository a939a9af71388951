#!/usr/bin/env bash
# deploy/swarm/node.sh kill|stop|start <id>: what `docker compose kill|stop|start <id>` does, for the
# stack of deploy/swarm/stack.yml. The experiments take it as NODE_CMD, and control names it in
# reset's todo list.
#   kill   SIGKILL of the task's container (no flush, no goodbye), and the service scaled to 0 at
#          once, before its restart delay (RESTART_DELAY, 2 s) runs out: it stays down until start.
#          The container is on the host the task runs on: this host's engine, or that host's over
#          SSH (docker -H ssh://[SWARM_SSH_USER@]<host>).
#   stop   the service scaled to 0: SIGTERM, then SIGKILL after the stop grace period (10 s).
#   start  the service scaled to 1; returns once its task runs (bounded by START_TIMEOUT_S).
#          `REPLICA_3_FILTER=<prefix> deploy/swarm/node.sh start replica-3` first sets replica-3's
#          REPLICA_FILTER (docker service update --env-add), as compose reads REPLICA_3_FILTER at up
#          (experiment 10); an empty value sets no filter, an unset one keeps what it had.
# Settings: STACK (default mirrorlab), START_TIMEOUT_S (default 60), SWARM_SSH_USER.
# Needs a manager node's docker CLI (service commands run on managers).

set -euo pipefail

STACK=${STACK:-mirrorlab}
START_TIMEOUT_S=${START_TIMEOUT_S:-60}
USAGE="usage: deploy/swarm/node.sh kill|stop|start <id>"

fail() {
  printf 'deploy/swarm/node.sh: %s\n' "$*" >&2
  exit 1
}

[ $# -eq 2 ] || fail "$USAGE"
action=$1 id=$2
service="${STACK}_${id}"
docker service inspect "$service" >/dev/null 2>&1 ||
  fail "no service $service in this swarm (STACK=$STACK; the services: docker stack services $STACK)"

# The docker command for the host running the service's task: this one, or that host over SSH.
task_host_docker() {
  local node
  if [ -n "$(docker ps -q --filter "label=com.docker.swarm.service.name=$service" --filter status=running)" ]; then
    printf 'docker'
    return
  fi
  node=$(docker service ps "$service" --filter desired-state=running --format '{{.Node}}' | head -n 1)
  [ -n "$node" ] || fail "$service has no running task: nothing to kill (docker service ps $service)"
  printf 'docker -H ssh://%s%s' "${SWARM_SSH_USER:+$SWARM_SSH_USER@}" "$node"
}

kill_task() {
  local host_docker container
  host_docker=$(task_host_docker)
  # The command is a command line (docker, or docker -H ssh://host): split on purpose.
  # shellcheck disable=SC2086
  container=$($host_docker ps -q --filter "label=com.docker.swarm.service.name=$service" --filter status=running | head -n 1)
  [ -n "$container" ] || fail "found no running container of $service"
  # shellcheck disable=SC2086
  $host_docker kill --signal KILL "$container" >/dev/null
  # The kill made the task fail, and on-failure would restart it after the restart delay: no
  # task wanted, no restart.
  docker service scale --detach "$service=0" >/dev/null
  printf '%s killed (SIGKILL of container %s); %s scaled to 0: it stays down until start\n' "$id" "$container" "$service"
}

start_service() {
  if [ "$id" = replica-3 ] && [ -n "${REPLICA_3_FILTER+set}" ]; then
    docker service update --detach --env-add "REPLICA_FILTER=$REPLICA_3_FILTER" "$service" >/dev/null
  fi
  docker service scale --detach "$service=1" >/dev/null
  local deadline=$((SECONDS + START_TIMEOUT_S)) state=''
  while [ "$SECONDS" -lt "$deadline" ]; do
    state=$(docker service ps "$service" --filter desired-state=running --format '{{.CurrentState}}' | head -n 1)
    case $state in Running*)
      printf '%s started (%s)\n' "$id" "$service"
      return 0
      ;;
    esac
    sleep 0.5
  done
  fail "$service did not run within ${START_TIMEOUT_S} s (last state: ${state:-no task}; docker service ps --no-trunc $service)"
}

case $action in
  kill) kill_task ;;
  stop)
    docker service scale "$service=0" >/dev/null
    printf '%s stopped (%s scaled to 0)\n' "$id" "$service"
    ;;
  start) start_service ;;
  *) fail "unknown action \"$action\"; $USAGE" ;;
esac
