// Goal: every write the primary acknowledged before a SIGKILL is in its log after it restarts
// (FSYNC=batch: a write is acknowledged only after the group commit's fsync).

import { afterAll, describe, expect, it } from 'vitest';
import { getJson, putJson, dumpLogsOnFailure, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';

let cluster: TestCluster | undefined;

dumpLogsOnFailure(() => cluster);

afterAll(async () => {
  await cluster?.close();
});

describe('durability across kill -9 of the primary', () => {
  it('keeps every acknowledged write', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary'] }));
    const primary = c.url('primary');
    const acked = new Map<string, number>();
    let stop = false;
    // 16 concurrent writers, each a bounded loop, until the kill cuts them off.
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const key = `w${w}/k${i}`;
        try {
          const response = await putJson(`${primary}/kv/${key}?ack=local`, { w, i }, { timeoutMs: 3000 });
          if (response.status === 200) acked.set(key, response.body.lsn);
        } catch {
          return; // the connection died with the process
        }
      }
    });
    await waitFor(() => acked.size >= 300, { what: '300 acknowledged writes', timeoutMs: 20_000, intervalMs: 5 });
    await c.kill('primary');
    stop = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThanOrEqual(300);

    await c.start('primary');
    const missing: string[] = [];
    for (const [key, lsn] of acked) {
      const read = await getJson(`${primary}/kv/${key}`);
      if (read.status !== 200 || read.body.lsn !== lsn) missing.push(key);
    }
    expect(missing).toEqual([]);
  });
});
