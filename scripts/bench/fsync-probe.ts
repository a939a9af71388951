// The disk's floor: one small append at the end of a file followed by fdatasync, timed, in the
// nodes' data root (same file system as their logs). It is what the log store does per group
// commit, minus the batching: an append grows the file, so fdatasync must also commit its size.

import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { summarize, type LatencySummary } from './stats.ts';

export async function probeFsync(dir: string, count: number, bytes: number): Promise<LatencySummary> {
  const file = path.join(dir, 'fsync-probe.bin');
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
  return summarize(samplesMs);
}
