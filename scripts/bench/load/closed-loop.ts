// Closed-loop writers: N clients on N keep-alive connections, each sending its next write as soon
// as the last one is acknowledged — the classic "concurrent clients" load. Throughput and latency
// count only writes that both start and end inside the measured window, so the warm-up (JIT,
// connection set-up) and the stragglers at the end do not bend the figures.

import { Pool } from 'undici';
import { summarize } from '../stats.ts';
import type { LoadSpec, WriteRunResult } from './protocol.ts';
import { countError, cpuPercentSince, errorKey, putValue, valueBody } from './write-request.ts';

type ClosedSpec = Extract<LoadSpec, { kind: 'closed' }>;

const WRITE_TIMEOUT_MS = 10_000;

// onWindow is told when the measured window opens and closes, so CPU can be read over it alone.
export async function runClosedLoop(spec: ClosedSpec, onWindow: (phase: 'open' | 'closed') => void = () => {}): Promise<WriteRunResult> {
  const origin = new URL(spec.baseUrl).origin;
  const pool = new Pool(origin, { connections: spec.clients, pipelining: 1, keepAliveTimeout: 30_000 });
  const body = valueBody(spec.valueBytes);
  const query = `?ack=${encodeURIComponent(spec.ack)}`;
  const latenciesMs: number[] = [];
  const split = { localMs: [] as number[], syncMs: [] as number[], outsideMs: [] as number[] };
  const errors: Record<string, number> = {};
  const started = performance.now();
  const windowStart = started + (spec.writesMax === undefined ? spec.warmupMs : 0);
  const windowEnd = windowStart + spec.durationMs;
  let issued = 0;

  const client = async (clientIndex: number): Promise<void> => {
    for (let n = 0; ; n++) {
      // With writesMax, durationMs is only a cap: a fill that runs that long has broken down.
      if (performance.now() >= windowEnd || (spec.writesMax !== undefined && issued >= spec.writesMax)) return;
      issued++;
      const key = spec.writesMax !== undefined ? `${spec.keyPrefix}${issued}` : `${spec.keyPrefix}c${clientIndex}/${n % spec.keySpace}`;
      const sentAt = performance.now();
      try {
        const answer = await putValue(pool, origin, `/kv/${key}${query}`, body, WRITE_TIMEOUT_MS, spec.returnSamples === true);
        const doneAt = performance.now();
        if (answer.status !== 200) countError(errors, `http_${answer.status}`);
        else if (sentAt >= windowStart && doneAt <= windowEnd) {
          latenciesMs.push(doneAt - sentAt);
          if (answer.timings) {
            split.localMs.push(answer.timings.localMs);
            split.syncMs.push(answer.timings.syncMs);
            split.outsideMs.push(Math.max(0, doneAt - sentAt - answer.timings.totalMs));
          }
        }
      } catch (error) {
        countError(errors, errorKey(error));
      }
    }
  };

  // This process's CPU over the window too: the client's cost, beside the nodes'.
  let cpuAtOpen = process.cpuUsage();
  let openedAt = started;
  let clientCpuPercent: number | null = null;
  const openWindow = () => {
    cpuAtOpen = process.cpuUsage();
    openedAt = performance.now();
    onWindow('open');
  };
  const closeWindow = () => {
    if (clientCpuPercent !== null) return;
    clientCpuPercent = cpuPercentSince(cpuAtOpen, performance.now() - openedAt);
    onWindow('closed');
  };
  const opened = setTimeout(openWindow, Math.max(0, windowStart - performance.now()));
  const closed = setTimeout(closeWindow, Math.max(0, windowEnd - performance.now()));
  try {
    await Promise.all(Array.from({ length: spec.clients }, (_, i) => client(i)));
  } finally {
    clearTimeout(opened);
    clearTimeout(closed);
    // The last writers may finish a hair before the timer: the window closes either way.
    closeWindow();
    await pool.close();
  }
  const elapsedMs = spec.writesMax !== undefined ? performance.now() - started : spec.durationMs;
  return {
    writesOk: latenciesMs.length,
    errors,
    elapsedMs,
    throughputPerS: (latenciesMs.length / elapsedMs) * 1000,
    latency: summarize(latenciesMs),
    clientCpuPercent: clientCpuPercent ?? 0,
    ...(spec.returnSamples ? { samplesMs: latenciesMs, split } : {}),
  };
}
