// Writes per ack level: local (the primary's fsync alone), sync (+ the mirror's), all (+ every
// connected replica's), each at 1 and at 64 concurrent keep-alive clients, driven from a separate
// process. Throughput, p50 and p99 side by side; the ratios to `local` are the price of each
// guarantee. CPU per process shows who is busy when throughput stops growing.

import type { ChildMessage } from '../load/protocol.ts';
import { CpuMeter } from '../proc.ts';
import { runLoadOf } from '../load/run.ts';
import type { WriteRow, WritesData } from '../results.ts';
import { round } from '../stats.ts';
import { type SectionContext, VALUE_BYTES } from './context.ts';
import { waitSteady } from '../readiness.ts';

export const ACK_LEVELS = ['local', 'sync', 'all'] as const;
// Keys per client: overwrites keep the key count small, so the memory section sees its own keys.
const KEYS_PER_CLIENT = 20;

export async function runWrites(ctx: SectionContext): Promise<WritesData> {
  const { cluster, profile, progress } = ctx;
  const rows: WriteRow[] = [];
  for (const clients of profile.clientCounts) {
    for (const ack of ACK_LEVELS) {
      await waitSteady(cluster, 'primary', cluster.replicaIds().length);
      // CPU of every node over the measured window only (the child says when it opens and closes).
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
        durationMs: profile.writeDurationMs,
        keyPrefix: 'w/',
        keySpace: KEYS_PER_CLIENT,
        valueBytes: VALUE_BYTES,
      }, onWindow);
      const cpuPercent = { ...(await nodeCpu), client: result.clientCpuPercent };
      if (result.writesOk === 0) throw new Error(`no write succeeded at ack=${ack}, ${clients} clients; errors ${JSON.stringify(result.errors)}`);
      const errorCount = Object.values(result.errors).reduce((a, b) => a + b, 0);
      if (errorCount > 0) ctx.note(`writes ack=${ack} at ${clients} clients: ${errorCount} failed (${JSON.stringify(result.errors)})`);
      rows.push({ ack, clients, throughputPerS: round(result.throughputPerS, 0), latency: result.latency, errors: result.errors, cpuPercent });
      progress.say(
        `ack=${ack.padEnd(5)} ${String(clients).padStart(2)} clients: ${Math.round(result.throughputPerS)} writes/s, ` +
          `p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms; cpu % ${JSON.stringify(cpuPercent)}`,
      );
    }
  }
  return { valueBytes: VALUE_BYTES, durationMs: profile.writeDurationMs, rows };
}
