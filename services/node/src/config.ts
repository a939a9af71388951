// The only reader of process.env for the data node. Every setting is validated at boot and every
// problem is reported at once; defaults live here and in the configuration table (docs/configuration.md).

import { type CrashPointArming, CRASH_POINTS, isCrashPointName } from '../../../shared/crash-points.ts';
import { limits } from '../../../shared/limits.ts';
import type { CopyMode, NodeRole } from '../../../shared/topology.ts';
import { DEFAULT_CLUSTER_SECRET, defaultTopology, peersValue, planCluster } from '../../../shared/topology.ts';

export type FsyncMode = 'always' | 'batch' | 'off';
export type MirrorPolicy = 'strict' | 'degrade';

export interface NodeConfig {
  nodeId: string;
  // The role the node takes on its first start; afterwards the persisted role wins.
  role: NodeRole;
  host: string;
  port: number;
  // Every data node, id -> base URL as peers reach it.
  peers: Record<string, string>;
  // The same nodes as clients reach them (Location of a 307); defaults to peers.
  publicPeers: Record<string, string>;
  primaryId: string;
  mirrorId: string;
  controlUrl: string;
  dataDir: string;
  clusterSecret: string;
  region: string;
  fsync: FsyncMode;
  mirrorMode: CopyMode;
  replicaMode: CopyMode;
  replicaFilter: string;
  mirrorPolicy: MirrorPolicy;
  syncTimeoutMs: number;
  heartbeatMs: number;
  failoverTimeoutMs: number;
  // A snapshot (and log compaction) after this many applied entries.
  snapshotEveryEntries: number;
  // A log segment file is closed and a new one started past this size.
  logSegmentBytes: number;
  logLevel: string;
  // Test only (tests/cluster/crash-points.test.ts): the crash point this process dies at.
  crashPoint: CrashPointArming | null;
}

const KEY_PREFIX_PATTERN = /^[A-Za-z0-9._:/-]{0,256}$/;
const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Env = Record<string, string | undefined>;

export function parsePeers(text: string, problems: string[], name: string): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const id = part.slice(0, eq);
    const url = part.slice(eq + 1).replace(/\/+$/, '');
    if (eq <= 0 || !ID_PATTERN.test(id)) {
      problems.push(`${name}: "${part}" is not id=url (ids are lowercase letters, digits and -)`);
      continue;
    }
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:') throw new Error('not http');
      peers[id] = url;
    } catch {
      problems.push(`${name}: "${url}" for ${id} is not an http:// URL`);
    }
  }
  return peers;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T, problems: string[]): T {
  const value = env[name] ?? fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.push(`${name}="${value}" must be one of ${allowed.join(', ')}`);
  return fallback;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name}="${text}" must be an integer from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

function crashPointArming(env: Env, problems: string[]): CrashPointArming | null {
  const name = env.MIRRORLAB_CRASH_POINT;
  if (name === undefined || name === '') return null;
  if (!isCrashPointName(name)) {
    problems.push(`MIRRORLAB_CRASH_POINT="${name}" is not a crash point (${CRASH_POINTS.join(', ')})`);
    return null;
  }
  const from = oneOf(env, 'MIRRORLAB_CRASH_FROM', ['running', 'boot'] as const, 'running', problems);
  return { name, skip: integer(env, 'MIRRORLAB_CRASH_SKIP', 0, 0, 1_000_000, problems), from };
}

export function loadNodeConfig(env: Env = process.env): NodeConfig {
  const problems: string[] = [];
  const nodeId = env.NODE_ID ?? '';
  if (!ID_PATTERN.test(nodeId)) problems.push(`NODE_ID="${nodeId}" must be set: lowercase letters, digits and - (e.g. replica-1)`);
  const defaultPeers = peersValue(planCluster({ dataRoot: '.data' }), defaultTopology);
  const peers = parsePeers(env.PEERS ?? defaultPeers, problems, 'PEERS');
  const publicPeers = env.PUBLIC_PEERS ? parsePeers(env.PUBLIC_PEERS, problems, 'PUBLIC_PEERS') : { ...peers };
  const primaryId = env.PRIMARY_ID ?? 'primary';
  const mirrorId = env.MIRROR_ID ?? 'mirror';
  if (!peers[primaryId]) problems.push(`PRIMARY_ID="${primaryId}" is not one of the PEERS (${Object.keys(peers).join(', ')})`);
  const replicaFilter = env.REPLICA_FILTER ?? '';
  if (!KEY_PREFIX_PATTERN.test(replicaFilter)) problems.push(`REPLICA_FILTER="${replicaFilter}" must be a key prefix of [A-Za-z0-9._:/-]`);
  const heartbeatMs = integer(env, 'HEARTBEAT_MS', 200, 10, 10_000, problems);
  const failoverTimeoutMs = integer(env, 'FAILOVER_TIMEOUT_MS', 1500, 100, 120_000, problems);
  if (failoverTimeoutMs <= heartbeatMs * 2) problems.push(`FAILOVER_TIMEOUT_MS (${failoverTimeoutMs}) must be more than twice HEARTBEAT_MS (${heartbeatMs})`);
  const config: NodeConfig = {
    nodeId,
    role: oneOf(env, 'ROLE', ['primary', 'mirror', 'replica'] as const, 'replica', problems),
    host: env.HOST ?? '0.0.0.0',
    port: integer(env, 'PORT', 7001, 1, 65_535, problems),
    peers,
    publicPeers,
    primaryId,
    mirrorId,
    controlUrl: (env.CONTROL_URL ?? 'http://127.0.0.1:7000').replace(/\/+$/, ''),
    dataDir: env.DATA_DIR ?? `.data/${nodeId}`,
    clusterSecret: env.CLUSTER_SECRET ?? DEFAULT_CLUSTER_SECRET,
    region: env.REGION ?? '',
    fsync: oneOf(env, 'FSYNC', ['always', 'batch', 'off'] as const, 'batch', problems),
    mirrorMode: oneOf(env, 'MIRROR_MODE', ['sync', 'async'] as const, 'sync', problems),
    replicaMode: oneOf(env, 'REPLICA_MODE', ['sync', 'async'] as const, 'async', problems),
    replicaFilter,
    mirrorPolicy: oneOf(env, 'MIRROR_POLICY', ['strict', 'degrade'] as const, 'degrade', problems),
    syncTimeoutMs: integer(env, 'SYNC_TIMEOUT_MS', 1000, 50, 120_000, problems),
    heartbeatMs,
    failoverTimeoutMs,
    snapshotEveryEntries: integer(env, 'SNAPSHOT_EVERY_ENTRIES', limits.snapshotEveryEntries, 100, 10_000_000, problems),
    logSegmentBytes: integer(env, 'LOG_SEGMENT_BYTES', limits.logSegmentBytesMax, 4096, 1024 * 1024 * 1024, problems),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info', problems),
    crashPoint: crashPointArming(env, problems),
  };
  if (config.clusterSecret.length < 8) problems.push('CLUSTER_SECRET must be at least 8 characters');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
