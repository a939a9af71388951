// Replication lag of the async replicas at half the measured ack=local throughput (64 clients),
// without faults: a writer at a fixed rate, and for ~lagProbesPerS of its writes a read with
// minLsn on each replica, timed from the write's acknowledgement (see load/rate-loop.ts for what
// that measures exactly and its error). Half load keeps the primary out of saturation, so the
// figure is the replication path's own delay, not a queue.
//
// Note what it includes by design (SPEC §4): the primary streams an entry to replicas only once a
// synchronized sync mirror has confirmed it, so even an ack=local write reaches a replica no
// sooner than one mirror round trip + the mirror's fsync after the primary's own fsync.

import { runLoadOf } from '../load/run.ts';
import { waitSteady } from '../readiness.ts';
import { findRow, type LagData } from '../results.ts';
import { round } from '../stats.ts';
import { type SectionContext, VALUE_BYTES } from './context.ts';

const PROBE_WAIT_MS = 5000;
const INFLIGHT_MAX = 512;
const KEY_SPACE = 1000;
// When the writes section did not run (--only), ack=local throughput is measured this long.
const FALLBACK_MEASURE_MS = 3000;

export async function runLag(ctx: SectionContext): Promise<LagData> {
  const { cluster, profile, progress } = ctx;
  const localThroughputPerS = await localThroughput(ctx);
  const targetRatePerS = Math.max(1, Math.round(localThroughputPerS / 2));
  const probeEvery = Math.max(1, Math.round(targetRatePerS / profile.lagProbesPerS));
  await waitSteady(cluster, 'primary', cluster.replicaIds().length);
  progress.say(`writing ack=local at ${targetRatePerS}/s (half of ${Math.round(localThroughputPerS)}/s) for ${profile.lagDurationMs / 1000} s; probing every ${probeEvery}th write`);
  const result = await runLoadOf({
    kind: 'rate',
    baseUrl: cluster.url('primary'),
    ack: 'local',
    ratePerS: targetRatePerS,
    durationMs: profile.lagDurationMs,
    inflightMax: INFLIGHT_MAX,
    keyPrefix: 'lag/',
    keySpace: KEY_SPACE,
    valueBytes: VALUE_BYTES,
    probeUrls: Object.fromEntries(cluster.replicaIds().map((id) => [id, cluster.url(id)])),
    probeEvery,
    probeWaitMs: PROBE_WAIT_MS,
  });
  if (result.writesOk === 0) throw new Error(`no write succeeded: ${JSON.stringify(result.errors)}`);
  for (const [id, probe] of Object.entries(result.probes)) {
    if (probe.lag.count === 0) throw new Error(`no lag probe on ${id} succeeded (${probe.timeouts} timed out, ${probe.failures} failed)`);
    progress.say(`${id}: lag p50 ${probe.lag.p50Ms} ms, p99 ${probe.lag.p99Ms} ms (a read alone: p50 ${probe.readRtt.p50Ms} ms); ${probe.timeouts} probes timed out`);
  }
  if (result.lateStarts > 0) ctx.note(`lag: the writer started ${result.lateStarts} writes more than 5 ms late (it could not keep the rate)`);
  return {
    localThroughputPerS: round(localThroughputPerS, 0),
    targetRatePerS,
    achievedRatePerS: round(result.throughputPerS, 0),
    lateStarts: result.lateStarts,
    writeLatency: result.latency,
    writeErrors: result.errors,
    probesPerCopy: Math.floor(result.writesOk / probeEvery),
    copies: result.probes,
  };
}

async function localThroughput(ctx: SectionContext): Promise<number> {
  const measured = ctx.results.writes?.status === 'ok' ? findRow(ctx.results.writes.data, 'local', 64) : undefined;
  if (measured) return measured.throughputPerS;
  ctx.progress.say('the writes section did not run: measuring ack=local throughput at 64 clients first');
  const result = await runLoadOf({
    kind: 'closed',
    baseUrl: ctx.cluster.url('primary'),
    ack: 'local',
    clients: 64,
    warmupMs: 500,
    durationMs: FALLBACK_MEASURE_MS,
    keyPrefix: 'w/',
    keySpace: 20,
    valueBytes: VALUE_BYTES,
  });
  return result.throughputPerS;
}
