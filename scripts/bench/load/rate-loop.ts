// Open-loop writer at a fixed rate, with lag probes. Writes are scheduled at start + i/rate whether
// or not earlier ones have been answered (bounded by inflightMax), and a write's latency counts
// from its scheduled time, so a stall shows up as latency instead of silently lowering the rate
// (no coordinated omission).
//
// Lag probe: right when a sampled write is acknowledged (t0), for each copy it sends
//   GET /kv/<key>?minLsn=<its LSN>   answered once the copy has applied the write, and
//   GET /health                      answered at once: what a read costs by itself.
// lag = (minLsn answer) - t0 is an upper bound on the copy's lag: it includes one read round trip
// (the /health figure estimates it) and misses the time the acknowledgement spent on its way back
// to us (a fraction of a loopback round trip, during which the copy may already apply the write).

import { Pool } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { round, summarize } from '../stats.ts';
import type { LoadResult, LoadSpec, ProbeResult } from './protocol.ts';
import { countError, cpuPercentSince, errorKey, putValue, valueBody } from './write-request.ts';

type RateSpec = Extract<LoadSpec, { kind: 'rate' }>;

const WRITE_TIMEOUT_MS = 10_000;
const PROBE_CONNECTIONS = 8;
// A write sent this much later than scheduled counts as a late start (the generator fell behind).
const LATE_START_MS = 5;

const WORST_KEPT = 5;

interface ProbeSamples {
  lagMs: number[];
  // When each lag sample was taken, ms since the run started (same order as lagMs).
  atMs: number[];
  readRttMs: number[];
  timeouts: number;
  failures: number;
}

export async function runRateLoop(spec: RateSpec): Promise<Extract<LoadResult, { kind: 'rate' }>> {
  const origin = new URL(spec.baseUrl).origin;
  const pool = new Pool(origin, { connections: Math.min(spec.inflightMax, 64), pipelining: 1, keepAliveTimeout: 30_000 });
  const probes = Object.entries(spec.probeUrls).map(([id, url]) => {
    const probeOrigin = new URL(url).origin;
    const samples: ProbeSamples = { lagMs: [], atMs: [], readRttMs: [], timeouts: 0, failures: 0 };
    return { id, origin: probeOrigin, pool: new Pool(probeOrigin, { connections: PROBE_CONNECTIONS }), samples };
  });
  const body = valueBody(spec.valueBytes);
  const query = `?ack=${encodeURIComponent(spec.ack)}`;
  const latenciesMs: number[] = [];
  const errors: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  const intervalMs = 1000 / spec.ratePerS;
  let lateStarts = 0;

  const probe = async (key: string, lsn: number): Promise<void> => {
    const ackedAt = performance.now();
    await Promise.all(probes.flatMap(({ origin: probeOrigin, pool: probePool, samples }) => [
      probePool
        .request({ origin: probeOrigin, path: `/kv/${key}?minLsn=${lsn}&waitMs=${spec.probeWaitMs}`, method: 'GET', headersTimeout: spec.probeWaitMs + 5000 })
        .then(async (response) => {
          await response.body.dump();
          if (response.statusCode === 200) {
            samples.lagMs.push(performance.now() - ackedAt);
            samples.atMs.push(ackedAt - started);
          }
          else if (response.statusCode === 504) samples.timeouts++;
          else samples.failures++;
        }, () => void samples.failures++),
      probePool
        .request({ origin: probeOrigin, path: '/health', method: 'GET', headersTimeout: 5000 })
        .then(async (response) => {
          await response.body.dump();
          samples.readRttMs.push(performance.now() - ackedAt);
        }, () => void samples.failures++),
    ]));
  };

  const write = async (index: number, scheduledAt: number): Promise<void> => {
    const key = `${spec.keyPrefix}${index % spec.keySpace}`;
    if (performance.now() - scheduledAt > LATE_START_MS) lateStarts++;
    try {
      const answer = await putValue(pool, origin, `/kv/${key}${query}`, body, WRITE_TIMEOUT_MS);
      if (answer.status !== 200) return countError(errors, `http_${answer.status}`);
      latenciesMs.push(performance.now() - scheduledAt);
      if (index % spec.probeEvery === 0) await probe(key, answer.lsn);
    } catch (error) {
      countError(errors, errorKey(error));
    }
  };

  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const total = Math.floor((spec.durationMs / 1000) * spec.ratePerS);
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
    while (issued < due && pending.size < spec.inflightMax) {
      const task = write(issued, started + issued * intervalMs);
      pending.add(task);
      void task.finally(() => pending.delete(task));
      issued++;
    }
    // Timers resolve to about a millisecond: at a few thousand writes per second a handful leave
    // together, which is what a real client population does too.
    await sleep(1);
  }
  await Promise.all(pending);
  const elapsedMs = performance.now() - started;
  await Promise.all([pool.close(), ...probes.map((p) => p.pool.close())]);
  const probeResults: Record<string, ProbeResult> = {};
  for (const { id, samples } of probes) {
    const worst = samples.lagMs
      .map((lagMs, i) => ({ atS: round((samples.atMs[i] ?? 0) / 1000, 2), lagMs: round(lagMs, 1) }))
      .sort((a, b) => b.lagMs - a.lagMs)
      .slice(0, WORST_KEPT);
    probeResults[id] = { lag: summarize(samples.lagMs), readRtt: summarize(samples.readRttMs), timeouts: samples.timeouts, failures: samples.failures, worst };
  }
  return {
    kind: 'rate',
    targetRatePerS: spec.ratePerS,
    lateStarts,
    probes: probeResults,
    writesOk: latenciesMs.length,
    errors,
    elapsedMs,
    throughputPerS: (latenciesMs.length / elapsedMs) * 1000,
    latency: summarize(latenciesMs),
    clientCpuPercent: cpuPercentSince(cpuBefore, performance.now() - started),
  };
}
