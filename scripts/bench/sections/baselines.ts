// Baselines: the physical floor every other figure stands on.
//   - loopback HTTP round trip between two Node processes (bare node:http echo <- undici client);
//   - GET /health of the primary from another process (the same, through a node's Fastify stack);
//   - one fsync of a small append on the data disk, alone and with one appender per data node at
//     once (the nodes of this cluster share one disk and one file-system journal).
// A sync write cannot beat local + one hop to the mirror + the mirror's fsync; comparing the
// measured sync-local gap with RTT + fsync shows how much the code adds on top of physics.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { probeFsync, probeFsyncConcurrent } from '../fsync-probe.ts';
import { runLoad } from '../load/run.ts';
import type { BaselinesData } from '../results.ts';
import type { LatencySummary } from '../stats.ts';
import { type SectionContext, VALUE_BYTES } from './context.ts';

const ECHO_SERVER_PATH = fileURLToPath(new URL('../echo-server.ts', import.meta.url));
const ECHO_START_TIMEOUT_MS = 15_000;

export async function runBaselines(ctx: SectionContext): Promise<BaselinesData> {
  const { cluster, profile, progress } = ctx;
  const loopbackRtt = await withEchoServer((url) => rtt(url, profile.rttCount));
  progress.say(`loopback HTTP round trip: p50 ${loopbackRtt.p50Ms} ms, p99 ${loopbackRtt.p99Ms} ms`);
  const nodeHealthRtt = await rtt(`${cluster.url('primary')}/health`, profile.rttCount);
  progress.say(`GET /health of the primary: p50 ${nodeHealthRtt.p50Ms} ms, p99 ${nodeHealthRtt.p99Ms} ms`);
  const fsync = await probeFsync(cluster.dataRoot, profile.fsyncCount, VALUE_BYTES);
  progress.say(`fsync of a ${VALUE_BYTES} B append: p50 ${fsync.p50Ms} ms, p99 ${fsync.p99Ms} ms`);
  const writers = cluster.dataNodeIds().length;
  const fsyncConcurrent = await probeFsyncConcurrent(cluster.dataRoot, profile.fsyncCount, VALUE_BYTES, writers);
  progress.say(`the same, ${writers} appenders at once: p50 ${fsyncConcurrent.p50Ms} ms, p99 ${fsyncConcurrent.p99Ms} ms`);
  return { loopbackRtt, nodeHealthRtt, fsync, fsyncConcurrent, fsyncConcurrentWriters: writers, fsyncBytes: VALUE_BYTES };
}

async function rtt(url: string, count: number): Promise<LatencySummary> {
  const result = await runLoad({ kind: 'rtt', url, count, warmup: Math.min(200, count) });
  if (result.kind !== 'rtt') throw new Error(`expected an rtt result, got ${result.kind}`);
  return result.latency;
}

// Runs `use` against a fresh echo server process and stops that process afterwards, whatever happens.
async function withEchoServer<T>(use: (url: string) => Promise<T>): Promise<T> {
  const server = fork(ECHO_SERVER_PATH, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, NODE_OPTIONS: '' } });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the echo server did not start in time')), ECHO_START_TIMEOUT_MS);
      server.once('message', (message: { type: string; port: number }) => {
        clearTimeout(timer);
        resolve(message.port);
      });
      server.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the echo server exited with code ${code}`));
      });
    });
    return await use(`http://127.0.0.1:${port}/`);
  } finally {
    server.kill();
  }
}
