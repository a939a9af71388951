// The disk's floor: one small append at the end of a file followed by fdatasync, timed, in the
// nodes' data root (same file system as their logs). It is what the log store does per group
// commit, minus the batching: an append grows the file, so fdatasync must also commit its size.

import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { summarize, type LatencySummary } from './stats.ts';

export async function probeFsync(dir: string, count: number, bytes: number): Promise<LatencySummary> {
  return summarize(await appendAndSync(path.join(dir, 'fsync-probe.bin'), count, bytes));
}

// The same with `writers` appenders at once, each on its own file, as the four data nodes of a
// one-machine cluster do: on one file system (one ext4 journal) their syncs can wait for each
// other, so this, not the lone fsync, is the floor a replicated write stands on here.
export async function probeFsyncConcurrent(dir: string, count: number, bytes: number, writers: number): Promise<LatencySummary> {
  const runs = await Promise.all(Array.from({ length: writers }, (_, i) => appendAndSync(path.join(dir, `fsync-probe-${i}.bin`), count, bytes)));
  return summarize(runs.flat());
}

async function appendAndSync(file: string, count: number, bytes: number): Promise<number[]> {
  const handle = await open(file, 'w');
  const buffer = Buffer.alloc(bytes, 'x');
  const samplesMs: number[] = [];
  try {
    let offset = 0;
    // The first few include the file's creation; skip them like a warm-up.
    const warmup = 5;
    for (let i = 0; i < count + warmup; i++) {
      const started = performance.now();
      await handle.write(buffer, 0, bytes, offset);
      await handle.datasync();
      if (i >= warmup) samplesMs.push(performance.now() - started);
      offset += bytes;
    }
  } finally {
    await handle.close();
    await rm(file, { force: true });
  }
  return samplesMs;
}
