// Round-trip time: sequential GETs of one URL over one keep-alive connection, after a warm-up.

import { Pool } from 'undici';
import { summarize } from '../stats.ts';
import type { LoadResult, LoadSpec } from './protocol.ts';

type RttSpec = Extract<LoadSpec, { kind: 'rtt' }>;

export async function runRtt(spec: RttSpec): Promise<Extract<LoadResult, { kind: 'rtt' }>> {
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, { connections: 1, pipelining: 1, keepAliveTimeout: 30_000 });
  const samplesMs: number[] = [];
  try {
    for (let i = 0; i < spec.warmup + spec.count; i++) {
      const sentAt = performance.now();
      const response = await pool.request({ origin: url.origin, path: url.pathname + url.search, method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`GET ${spec.url} answered ${response.statusCode}`);
      if (i >= spec.warmup) samplesMs.push(performance.now() - sentAt);
    }
  } finally {
    await pool.close();
  }
  return { kind: 'rtt', latency: summarize(samplesMs) };
}
