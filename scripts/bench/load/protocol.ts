// What the bench process and its load-generator child say to each other over the IPC channel.
// The child drives the cluster from its own process, so the client's CPU and event loop are not
// the bench's (and, on two cores, compete with the nodes exactly as a real client would).

import type { LatencySummary } from '../stats.ts';

export interface WriteShape {
  // Base URL of the node to write to (the primary).
  baseUrl: string;
  ack: string;
  // Keys are `${keyPrefix}${n}`; n counts per client modulo keySpace (closed) or per write (rate).
  keyPrefix: string;
  keySpace: number;
  // Bytes of the JSON value as sent (a JSON string of this length, quotes included).
  valueBytes: number;
}

export type LoadSpec =
  // Closed loop: `clients` keep-alive connections, each sending its next write when the last is
  // acknowledged. Measures writes that start after warmupMs and end before warmupMs + durationMs;
  // with writesMax it instead stops after that many writes (to fill a log) and measures them all.
  // With returnSamples the result carries every measured latency, for merging runs.
  | (WriteShape & { kind: 'closed'; clients: number; durationMs: number; warmupMs: number; writesMax?: number; returnSamples?: boolean })
  // Open loop at a fixed rate; every `probeEvery`-th acknowledged write is followed by a read with
  // minLsn on each probe URL (when the copy has it) and a GET /health beside it (the read's cost).
  | (WriteShape & {
      kind: 'rate';
      ratePerS: number;
      durationMs: number;
      inflightMax: number;
      probeUrls: Record<string, string>;
      probeEvery: number;
      probeWaitMs: number;
    })
  // Sequential GETs of one URL on one keep-alive connection: a round-trip time.
  | { kind: 'rtt'; url: string; count: number; warmup: number }
  // Writes until told to stop, following the primary wherever it goes (307 Location, or trying
  // every node when one refuses); reports the first write acknowledged in each new epoch.
  | { kind: 'follow'; urls: string[]; clients: number; ack: string; keyPrefix: string; keySpace: number; valueBytes: number; retryDelayMs: number };

export interface WriteRunResult {
  writesOk: number;
  // Failed writes by cause (`http_503`, `ECONNREFUSED`, ...).
  errors: Record<string, number>;
  elapsedMs: number;
  throughputPerS: number;
  latency: LatencySummary;
  // The load generator's own CPU over the run, in % of one core.
  clientCpuPercent: number;
  // Every measured latency, when the spec asked for them, and beside each the primary's own
  // split of it: append -> durable here (localMs), durable -> the copies confirmed (syncMs), and
  // what is left (outsideMs: HTTP, parsing, event-loop queues on both ends, the network).
  samplesMs?: number[];
  split?: { localMs: number[]; syncMs: number[]; outsideMs: number[] };
}

export interface ProbeResult {
  // Write acknowledged -> the copy answered the minLsn read: an upper bound on the lag.
  lag: LatencySummary;
  // Write acknowledged -> GET /health, sent at the same moment, answered: the read's own cost.
  readRtt: LatencySummary;
  timeouts: number;
  failures: number;
  // The largest lags and when they happened (s since the run started): one stall or many?
  worst: Array<{ atS: number; lagMs: number }>;
}

export type LoadResult =
  | ({ kind: 'closed' } & WriteRunResult)
  | ({ kind: 'rate'; targetRatePerS: number; lateStarts: number; probes: Record<string, ProbeResult> } & WriteRunResult)
  | { kind: 'rtt'; latency: LatencySummary }
  | { kind: 'follow'; writesOk: number; errors: Record<string, number> };

export type ParentMessage = { type: 'run'; spec: LoadSpec } | { type: 'stop' };

export type ChildMessage =
  // Listening for messages; only now may the parent send its run (earlier ones could be lost).
  | { type: 'ready' }
  | { type: 'result'; result: LoadResult }
  // A closed-loop run's measured window opens or closes now (the parent reads CPU counters then).
  | { type: 'window'; phase: 'open' | 'closed' }
  // A write was acknowledged in an epoch newer than any seen before, at wall-clock atMs.
  | { type: 'epoch'; epoch: number; atMs: number; url: string }
  | { type: 'failed'; message: string };
