// Goal: a full resync's chunks stay within both bounds (keys and bytes), keep every item in order,
// never split an item, and exist even for an empty snapshot (the receiver needs its "last" chunk).

import { describe, expect, it } from 'vitest';
import { limits } from '../../../shared/limits.ts';
import { snapshotChunks } from '../../../services/node/src/storage/snapshot-file.ts';

type Item = [string, string, number];

describe('snapshotChunks', () => {
  it('gives one empty last chunk for an empty snapshot', () => {
    expect([...snapshotChunks([])]).toEqual([{ items: [], last: true }]);
  });

  it('cuts by key count', () => {
    const items: Item[] = Array.from({ length: limits.snapshotChunkKeys * 2 + 1 }, (_, i) => [`k${i}`, '1', i + 1]);
    const chunks = [...snapshotChunks(items)];
    expect(chunks.map((c) => c.items.length)).toEqual([limits.snapshotChunkKeys, limits.snapshotChunkKeys, 1]);
    expect(chunks.map((c) => c.last)).toEqual([false, false, true]);
    expect(chunks.flatMap((c) => c.items)).toEqual(items);
  });

  it('cuts by bytes, so large values never exceed the bound past the first item', () => {
    const big = JSON.stringify('x'.repeat(1024 * 1024 - 10));
    const items: Item[] = Array.from({ length: 6 }, (_, i) => [`big/${i}`, big, i + 1]);
    const chunks = [...snapshotChunks(items)];
    for (const chunk of chunks) {
      const bytes = chunk.items.reduce((sum, [key, value]) => sum + key.length + value.length, 0);
      expect(chunk.items.length === 1 || bytes <= limits.snapshotChunkBytesMax).toBe(true);
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flatMap((c) => c.items)).toEqual(items);
  });
});
