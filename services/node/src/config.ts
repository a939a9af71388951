// The only reader of process.env for the data node. Every setting is validated at boot and every
// problem is reported at once; defaults live here and in docs/configuration.md. The settings the
// whole cluster shares are read by shared/env.ts, exactly as control reads them.

import type { CrashPointArming } from '../../../shared/crash-points.ts';
import { type Env, EnvReader, type PeerEntry } from '../../../shared/env.ts';
import { limits } from '../../../shared/limits.ts';
import type { FsyncMode } from '../../../shared/protocol.ts';
import { type CopyMode, defaultTopology, type NodeRole, peersValue, planCluster } from '../../../shared/topology.ts';

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

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const asRecord = (peers: readonly PeerEntry[]): Record<string, string> => Object.fromEntries(peers.map((p) => [p.id, p.url]));

export function loadNodeConfig(variables: Env = process.env): NodeConfig {
  const env = new EnvReader(variables);
  const nodeId = env.id('NODE_ID');
  const cluster = env.cluster();
  const peers = asRecord(env.peers('PEERS', peersValue(planCluster({ dataRoot: '.data' }), defaultTopology)));
  const publicPeers = env.raw('PUBLIC_PEERS') ? asRecord(env.peers('PUBLIC_PEERS', '')) : { ...peers };
  const primaryId = env.string('PRIMARY_ID', 'primary');
  if (!peers[primaryId]) env.problems.push(`PRIMARY_ID="${primaryId}" is not one of the PEERS (${Object.keys(peers).join(', ')})`);
  const replicaFilter = env.string('REPLICA_FILTER', '');
  if (!KEY_PREFIX_PATTERN.test(replicaFilter)) env.problems.push(`REPLICA_FILTER="${replicaFilter}" must be a key prefix of [A-Za-z0-9._:/-]`);
  const config: NodeConfig = {
    nodeId,
    role: env.oneOf('ROLE', ['primary', 'mirror', 'replica'] as const, 'replica'),
    host: env.string('HOST', '0.0.0.0'),
    port: env.integer('PORT', 7001, 1, 65_535),
    peers,
    publicPeers,
    primaryId,
    mirrorId: env.string('MIRROR_ID', 'mirror'),
    controlUrl: env.string('CONTROL_URL', 'http://127.0.0.1:7000').replace(/\/+$/, ''),
    dataDir: env.string('DATA_DIR', `.data/${nodeId}`),
    clusterSecret: cluster.clusterSecret,
    region: env.string('REGION', ''),
    fsync: env.oneOf('FSYNC', ['always', 'batch', 'off'] as const, 'batch'),
    mirrorMode: env.oneOf('MIRROR_MODE', ['sync', 'async'] as const, 'sync'),
    replicaMode: env.oneOf('REPLICA_MODE', ['sync', 'async'] as const, 'async'),
    replicaFilter,
    mirrorPolicy: env.oneOf('MIRROR_POLICY', ['strict', 'degrade'] as const, 'degrade'),
    syncTimeoutMs: env.integer('SYNC_TIMEOUT_MS', 1000, 50, 120_000),
    heartbeatMs: cluster.heartbeatMs,
    failoverTimeoutMs: cluster.failoverTimeoutMs,
    snapshotEveryEntries: env.integer('SNAPSHOT_EVERY_ENTRIES', limits.snapshotEveryEntries, 100, 10_000_000),
    logSegmentBytes: env.integer('LOG_SEGMENT_BYTES', limits.logSegmentBytesMax, 4096, 1024 * 1024 * 1024),
    logLevel: cluster.logLevel,
    crashPoint: env.crashPoint(),
  };
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return config;
}
