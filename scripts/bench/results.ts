// The shape of one bench run's results: what the table is rendered from and what the JSON keeps.
// Each section either measured something, found its feature missing (n/a, with the reason), or
// broke (the bench itself failed there; the run exits non-zero).

import type { ProbeResult } from './load/protocol.ts';
import type { SectionName } from './options.ts';
import type { LatencySummary } from './stats.ts';

export type Outcome<T> =
  | { status: 'ok'; data: T }
  | { status: 'n/a'; reason: string }
  | { status: 'broken'; error: string };

export interface BaselinesData {
  // Bare node:http echo server <- undici client, two processes: the floor of any HTTP hop.
  loopbackRtt: LatencySummary;
  // GET /health of the primary (Fastify, routing, JSON): the floor of a request to a node.
  nodeHealthRtt: LatencySummary;
  // One write of `fsyncBytes` at the end of a file plus fdatasync, in the nodes' data root.
  fsync: LatencySummary;
  // The same with one appender per data node at once, each on its own file.
  fsyncConcurrent: LatencySummary;
  fsyncConcurrentWriters: number;
  fsyncBytes: number;
}

export interface WriteRow {
  ack: string;
  clients: number;
  throughputPerS: number;
  latency: LatencySummary;
  // Medians of the primary's own split of each write (SPEC §3 timings): append -> durable on the
  // primary, durable -> the copies the ack level waits for confirmed, and the rest (HTTP both
  // ways, parsing, event-loop queues). Medians of parts do not add up to the median of the whole.
  p50SplitMs: { local: number; copies: number; outside: number };
  errors: Record<string, number>;
  // % of one core over the run, per process (the load generator as `client`).
  cpuPercent: Record<string, number | null>;
}

export interface WritesData {
  valueBytes: number;
  // Measured time per row in all, in `rounds` interleaved slices.
  durationMs: number;
  rounds: number;
  rows: WriteRow[];
}

export function findRow(data: WritesData | undefined, ack: string, clients: number): WriteRow | undefined {
  return data?.rows.find((row) => row.ack === ack && row.clients === clients);
}

export interface InjectionRow {
  injectedMs: number;
  writes: number;
  baselineP50Ms: number;
  p50Ms: number;
  addedP50Ms: number;
  // added - injected; the target allows ±(10 % of injected + 2 ms).
  errorMs: number;
  // Whether GET /status of the primary listed the rule before measuring.
  ruleVisibleInStatus: boolean;
}

export interface InjectionData {
  rows: InjectionRow[];
}

export interface LagData {
  localThroughputPerS: number;
  targetRatePerS: number;
  achievedRatePerS: number;
  lateStarts: number;
  writeLatency: LatencySummary;
  writeErrors: Record<string, number>;
  probesPerCopy: number;
  copies: Record<string, ProbeResult>;
}

export interface CatchUpRun {
  // Entries (partial) or keys (full) the copy had to receive.
  amount: number;
  // From the copy's first /status answer after its start to applied LSN = the primary's.
  seconds: number;
  perS: number;
  // From its spawn, boot (log replay, tsx) included.
  secondsFromSpawn: number;
  // What the primary logged for the reconnection.
  resync: string;
  // The copy had already caught up when it first answered: perS is then a lower bound.
  lowerBound: boolean;
}

export interface CatchUpData {
  copy: string;
  partial: CatchUpRun;
  full: CatchUpRun;
}

export interface MemoryData {
  valueBytes: number;
  // rssAtStartMiB: the same node empty, right after the cluster started.
  nodes: Record<string, { keys: number; backlogNote: string; rssMiB: number | null; hwmMiB: number | null; rssAtStartMiB: number | null }>;
}

export interface FailoverKill {
  killed: string;
  newPrimary: string;
  epochBefore: number;
  epochAfter: number;
  // SIGKILL -> first write acknowledged at a newer epoch (as seen by the load generator).
  failoverMs: number;
  // Restart of the killed node -> the new primary reports its mirror synchronized.
  rejoinMs: number | null;
}

export interface FailoverData {
  failoverTimeoutMs: number;
  kills: FailoverKill[];
  p50Ms: number;
  maxMs: number;
  // Failed writes of the following writers over the whole section, by cause (refusals of the
  // dead node, 307s, timeouts): the cost clients saw, and a clue when a failover did not happen.
  writerErrors: Record<string, number>;
  notes: string[];
}

export interface BenchResults {
  meta: {
    startedAt: string;
    profile: string;
    durationS: number;
    node: string;
    platform: string;
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    // 1-minute load average when the run started, and other node processes seen then: the bench
    // shares two cores with whatever else runs, so a busy machine makes every figure worse.
    loadAverageAtStart: number;
    foreignNodeProcesses: number;
    // CPU other processes used during the run, in % of one core (null without /proc).
    foreignCpuPercent: number | null;
    settings: Record<string, string>;
    profiledNode: string | null;
  };
  sections: Partial<{
    baselines: Outcome<BaselinesData>;
    writes: Outcome<WritesData>;
    injection: Outcome<InjectionData>;
    lag: Outcome<LagData>;
    catchup: Outcome<CatchUpData>;
    memory: Outcome<MemoryData>;
    failover: Outcome<FailoverData>;
  }>;
  // Things the run noticed on the way: unexpected exits, errors under load.
  notes: string[];
}

export type SectionResults = BenchResults['sections'];
export type { SectionName };
