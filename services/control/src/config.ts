// The control service's configuration: the only reader of process.env. Every value is validated at
// boot and every problem is reported at once, so a wrong compose file or shell is fixed in one go.

import { DEFAULT_CLUSTER_SECRET, defaultTopology, planCluster, peersValue } from '../../../shared/topology.ts';

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
}

// The ways this project runs its nodes: the local launcher (`npm start`), compose, or a Docker
// Swarm stack (deploy/swarm/stack.yml, whose node command is a script of the repository).
export const NODE_CMDS = ['npm run node --', 'docker compose', 'deploy/swarm/node.sh'] as const;
export type NodeCmd = (typeof NODE_CMDS)[number];

export type ConfigResult = { ok: true; config: ControlConfig } | { ok: false; problems: string[] };

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
// Ids become URL segments, log prefixes and compose host names.
const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

// The data nodes of the default topology on this host: what `npm start` runs.
function defaultPeers(): string {
  return peersValue(planCluster({ dataRoot: '.data' }), defaultTopology);
}

// Reads one integer in [min, max]; pushes a problem and returns the default otherwise.
function readInt(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${name}=${JSON.stringify(raw)} is not a whole number (expected ${min}..${max})`);
    return fallback;
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    problems.push(`${name}=${value} is out of range (expected ${min}..${max})`);
    return fallback;
  }
  return value;
}

// PEERS is `id=url,id=url`; each URL must be an http(s) origin and each id unique.
export function parsePeers(raw: string, problems: string[]): Peer[] {
  const peers: Peer[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const eq = item.indexOf('=');
    const id = eq > 0 ? item.slice(0, eq).trim() : '';
    const url = eq > 0 ? item.slice(eq + 1).trim().replace(/\/+$/, '') : '';
    if (!ID_PATTERN.test(id)) {
      problems.push(`PEERS entry ${JSON.stringify(item)} needs the form id=http://host:port with a lower-case id`);
      continue;
    }
    if (!isHttpUrl(url)) {
      problems.push(`PEERS entry ${JSON.stringify(item)} has no valid http:// or https:// URL`);
      continue;
    }
    if (peers.some((p) => p.id === id)) {
      problems.push(`PEERS lists ${JSON.stringify(id)} twice`);
      continue;
    }
    peers.push({ id, url });
  }
  if (peers.length === 0 && problems.every((p) => !p.startsWith('PEERS'))) {
    problems.push('PEERS is empty: list the data nodes as id=http://host:port,...');
  }
  return peers;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

// Pure: the environment in, a config or the full list of problems out.
export function parseConfig(env: Env): ConfigResult {
  const problems: string[] = [];
  const nodeId = env.NODE_ID || 'control';
  if (!ID_PATTERN.test(nodeId)) problems.push(`NODE_ID=${JSON.stringify(nodeId)} must be lower-case letters, digits and dashes`);
  const port = readInt(env, 'PORT', 7000, 1, 65_535, problems);
  const host = env.HOST || '0.0.0.0';
  const peers = parsePeers(env.PEERS ?? defaultPeers(), problems);
  const clusterSecret = env.CLUSTER_SECRET ?? DEFAULT_CLUSTER_SECRET;
  if (clusterSecret.length === 0) problems.push('CLUSTER_SECRET is set but empty: unset it for the default or give a secret');
  const dataDir = env.DATA_DIR || '.data/control';
  const heartbeatMs = readInt(env, 'HEARTBEAT_MS', 200, 10, 60_000, problems);
  const failoverTimeoutMs = readInt(env, 'FAILOVER_TIMEOUT_MS', 1500, 50, 600_000, problems);
  // A failover timeout shorter than two heartbeats would declare a healthy primary dead.
  if (failoverTimeoutMs < 2 * heartbeatMs) {
    problems.push(`FAILOVER_TIMEOUT_MS=${failoverTimeoutMs} must be at least twice HEARTBEAT_MS=${heartbeatMs}`);
  }
  const nodeCmd = (env.NODE_CMD || NODE_CMDS[0]) as NodeCmd;
  if (!NODE_CMDS.includes(nodeCmd)) problems.push(`NODE_CMD=${JSON.stringify(nodeCmd)} is not one of ${NODE_CMDS.map((c) => JSON.stringify(c)).join(', ')}`);
  const logLevel = env.LOG_LEVEL || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: { nodeId, port, host, peers, clusterSecret, dataDir, heartbeatMs, failoverTimeoutMs, nodeCmd, logLevel },
  };
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
