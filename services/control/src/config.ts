// The control service's configuration: the only reader of process.env. Every value is validated at
// boot and every problem is reported at once, so a wrong compose file or shell is fixed in one go.

import type { CrashPointArming } from '../../../shared/crash-points.ts';
import { type Env, EnvReader } from '../../../shared/env.ts';
import { defaultTopology, planCluster, peersValue } from '../../../shared/topology.ts';

export interface Peer {
  id: string;
  // As the other processes reach it.
  url: string;
  // What a node told control when it registered (membership.ts); absent for a PEERS entry that
  // has not registered yet.
  publicUrl?: string;
  region?: string;
}

export interface ControlConfig {
  nodeId: string;
  port: number;
  host: string;
  // The data nodes control watches, in the order PEERS lists them.
  peers: Peer[];
  clusterSecret: string;
  dataDir: string;
  heartbeatMs: number;
  failoverTimeoutMs: number;
  // How a person starts a stopped node, as reset's todo list spells it (`<nodeCmd> start <id>`).
  nodeCmd: NodeCmd;
  logLevel: string;
  // Test only (tests/cluster/crash-points.test.ts): the crash point this process dies at.
  crashPoint: CrashPointArming | null;
}

// The ways this project runs its nodes: the local launcher (`npm start`), compose, or a Docker
// Swarm stack (deploy/swarm/stack.yml, whose node command is a script of the repository).
export const NODE_CMDS = ['npm run node --', 'docker compose', 'deploy/swarm/node.sh'] as const;
export type NodeCmd = (typeof NODE_CMDS)[number];

export type ConfigResult = { ok: true; config: ControlConfig } | { ok: false; problems: string[] };

// The data nodes of the default topology on this host: what `npm start` runs.
function defaultPeers(): string {
  return peersValue(planCluster({ dataRoot: '.data' }), defaultTopology);
}

// Pure: the environment in, a config or the full list of problems out. The settings every
// process of the cluster shares are read and checked exactly as the nodes do (shared/env.ts).
export function parseConfig(variables: Env): ConfigResult {
  const env = new EnvReader(variables);
  const nodeId = env.id('NODE_ID', 'control');
  const cluster = env.cluster();
  const config: ControlConfig = {
    nodeId,
    port: env.integer('PORT', 7000, 1, 65_535),
    host: env.string('HOST', '0.0.0.0'),
    peers: env.peers('PEERS', defaultPeers()),
    clusterSecret: cluster.clusterSecret,
    dataDir: env.string('DATA_DIR', '.data/control'),
    heartbeatMs: cluster.heartbeatMs,
    failoverTimeoutMs: cluster.failoverTimeoutMs,
    nodeCmd: env.oneOf('NODE_CMD', NODE_CMDS, NODE_CMDS[0]),
    logLevel: cluster.logLevel,
    crashPoint: env.crashPoint(),
  };
  return env.problems.length > 0 ? { ok: false, problems: env.problems } : { ok: true, config };
}

// Boot-time entry: a bad environment is an operator's mistake, so it gets a readable list and
// exit code 1, never a stack trace.
export function loadConfigOrExit(): ControlConfig {
  const result = parseConfig(process.env);
  if (result.ok) return result.config;
  process.stderr.write(
    `control: cannot start, the configuration has ${result.problems.length} problem(s):\n` +
      result.problems.map((p) => `  - ${p}\n`).join(''),
  );
  process.exit(1);
}
