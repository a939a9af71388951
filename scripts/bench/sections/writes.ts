// Writes per ack level: local (the primary's fsync alone), sync (+ the mirror's), all (+ every
// connected replica's), each at 1 and at 64 concurrent keep-alive clients, driven from a separate
// process. Throughput, p50 and p99 side by side; the ratios to `local` are the price of each
// guarantee. CPU per process shows who is busy when throughput stops growing.
//
// The levels are interleaved: `writeRounds` rounds of local, sync, all, each run a slice of the
// duration, and the slices of a level merged (raw samples, so percentiles stay exact). Whatever
// else the machine does meanwhile (GC, a compaction, another process) then falls on every level
// alike instead of on whichever happened to run at that moment, which is what the ratios need.

import type { ChildMessage } from '../load/protocol.ts';
import { runLoadOf } from '../load/run.ts';
import { CpuMeter } from '../proc.ts';
import { waitSteady } from '../readiness.ts';
import type { WriteRow, WritesData } from '../results.ts';
import { round, summarize } from '../stats.ts';
import { type SectionContext, VALUE_BYTES } from './context.ts';

export const ACK_LEVELS = ['local', 'sync', 'all'] as const;
// Keys per client: overwrites keep the key count small, so the memory section sees its own keys.
const KEYS_PER_CLIENT = 20;

export interface Slice {
  writesOk: number;
  elapsedMs: number;
  samplesMs: number[];
  split: { localMs: number[]; syncMs: number[]; outsideMs: number[] };
  errors: Record<string, number>;
  cpuPercent: Record<string, number | null>;
}

export async function runWrites(ctx: SectionContext): Promise<WritesData> {
  const { profile, progress } = ctx;
  const sliceMs = Math.round(profile.writeDurationMs / profile.writeRounds);
  const rows: WriteRow[] = [];
  for (const clients of profile.clientCounts) {
    const slices = new Map<string, Slice[]>(ACK_LEVELS.map((ack) => [ack, []]));
    for (let r = 1; r <= profile.writeRounds; r++) {
      for (const ack of ACK_LEVELS) slices.get(ack)?.push(await runSlice(ctx, ack, clients, sliceMs));
      progress.say(`${clients} client${clients === 1 ? '' : 's'}, round ${r} of ${profile.writeRounds}: ${ACK_LEVELS.map((ack) => `${ack} ${Math.round(lastRate(slices.get(ack)))}/s`).join(', ')}`);
    }
    for (const ack of ACK_LEVELS) {
      const row = mergeSlices(ack, clients, slices.get(ack) ?? []);
      const errorCount = Object.values(row.errors).reduce((a, b) => a + b, 0);
      if (errorCount > 0) ctx.note(`writes ack=${ack} at ${clients} clients: ${errorCount} failed (${JSON.stringify(row.errors)})`);
      rows.push(row);
      progress.say(
        `ack=${ack.padEnd(5)} ${String(clients).padStart(2)} clients: ${row.throughputPerS} writes/s, p50 ${row.latency.p50Ms} ms ` +
          `(${JSON.stringify(row.p50SplitMs)}), p99 ${row.latency.p99Ms} ms; cpu % ${JSON.stringify(row.cpuPercent)}`,
      );
    }
  }
  return { valueBytes: VALUE_BYTES, durationMs: profile.writeDurationMs, rounds: profile.writeRounds, rows };
}

// One closed-loop run, with the CPU of every node over its measured window only (the load
// generator says when the window opens and closes).
async function runSlice(ctx: SectionContext, ack: string, clients: number, durationMs: number): Promise<Slice> {
  const { cluster, profile } = ctx;
  await waitSteady(cluster, 'primary', cluster.replicaIds().length);
  const pids = Object.fromEntries(cluster.dataNodeIds().map((id) => [id, cluster.pid(id)]));
  let meter: Promise<CpuMeter> | null = null;
  let nodeCpu: Promise<Record<string, number | null>> = Promise.resolve({});
  const onWindow = (message: ChildMessage) => {
    if (message.type !== 'window') return;
    if (message.phase === 'open') meter = CpuMeter.start(pids);
    else if (meter) nodeCpu = meter.then((m) => m.stop());
  };
  const result = await runLoadOf({
    kind: 'closed',
    baseUrl: cluster.url('primary'),
    ack,
    clients,
    warmupMs: profile.writeWarmupMs,
    durationMs,
    keyPrefix: 'w/',
    keySpace: KEYS_PER_CLIENT,
    valueBytes: VALUE_BYTES,
    returnSamples: true,
  }, onWindow);
  if (result.writesOk === 0) throw new Error(`no write succeeded at ack=${ack}, ${clients} clients; errors ${JSON.stringify(result.errors)}`);
  return {
    writesOk: result.writesOk,
    elapsedMs: result.elapsedMs,
    samplesMs: result.samplesMs ?? [],
    split: result.split ?? { localMs: [], syncMs: [], outsideMs: [] },
    errors: result.errors,
    cpuPercent: { ...(await nodeCpu), client: result.clientCpuPercent },
  };
}

function lastRate(slices: readonly Slice[] | undefined): number {
  const last = slices?.at(-1);
  return last ? (last.writesOk / last.elapsedMs) * 1000 : Number.NaN;
}

// One row from a level's slices: writes over total time, percentiles of all samples, errors
// summed, CPU averaged over the slices (they are of equal length).
export function mergeSlices(ack: string, clients: number, slices: readonly Slice[]): WriteRow {
  const writesOk = slices.reduce((sum, s) => sum + s.writesOk, 0);
  const elapsedMs = slices.reduce((sum, s) => sum + s.elapsedMs, 0);
  const errors: Record<string, number> = {};
  const cpuSums: Record<string, { sum: number; n: number }> = {};
  for (const slice of slices) {
    for (const [key, n] of Object.entries(slice.errors)) errors[key] = (errors[key] ?? 0) + n;
    for (const [id, percent] of Object.entries(slice.cpuPercent)) {
      if (percent === null) continue;
      const acc = (cpuSums[id] ??= { sum: 0, n: 0 });
      acc.sum += percent;
      acc.n++;
    }
  }
  const cpuPercent = Object.fromEntries(Object.entries(cpuSums).map(([id, { sum, n }]) => [id, Math.round(sum / n)]));
  return {
    ack,
    clients,
    throughputPerS: round((writesOk / elapsedMs) * 1000, 0),
    latency: summarize(slices.flatMap((s) => s.samplesMs)),
    p50SplitMs: {
      local: summarize(slices.flatMap((s) => s.split.localMs)).p50Ms,
      copies: summarize(slices.flatMap((s) => s.split.syncMs)).p50Ms,
      outside: summarize(slices.flatMap((s) => s.split.outsideMs)).p50Ms,
    },
    errors,
    cpuPercent,
  };
}
