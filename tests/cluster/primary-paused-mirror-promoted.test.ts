// Goal: a primary paused for longer than the failover timeout (a GC-pause double: its event loop
// really stops) is replaced by its mirror; when it wakes it acknowledges nothing more, steps down
// and rejoins as the mirror. No epoch ever has two nodes acknowledging writes, and no ack=sync
// write is lost (SPEC §6.1). ack=local writes acknowledged just before the pause may not have
// reached the mirror yet: those may be lost (SPEC §6.6), but never silently — the old primary's
// rollback file holds every one of them.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { startWrites } from '../helpers/workload.ts';

let cluster: TestCluster | undefined;

afterAll(async () => {
  await cluster?.close();
});

describe('primary paused', () => {
  it('is replaced, then steps down and rejoins as mirror', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror'] }));
    try {
      await waitFor(async () => (await getJson(`${c.url('primary')}/status`)).body.mirror?.state === 'synchronized', { what: 'a synchronized mirror' });
      // Writers aim at the old primary only, so anything it acknowledged after waking would show.
      const load = startWrites({ urls: () => [c.url('primary')], prefix: 'pause', ack: 'sync', concurrency: 4, countMax: 5000 });
      const local = startWrites({ urls: () => [c.url('primary')], prefix: 'pause-local', ack: 'local', concurrency: 2, countMax: 5000 });
      await waitFor(() => load.acked.length >= 50, { what: '50 writes' });
      const headers = { authorization: `Bearer ${c.plan.secret}`, 'x-mirrorlab-node': 'control' };
      expect((await postJson(`${c.url('primary')}/internal/pause`, { ms: 3500 }, { headers })).status).toBe(200);
      await waitFor(async () => (await getJson(`${c.url('mirror')}/status`)).body.role === 'primary', { what: 'the mirror promoted', timeoutMs: 10_000 });
      await waitFor(async () => (await getJson(`${c.url('primary')}/status`, { timeoutMs: 500 })).body.role === 'mirror', {
        what: 'the old primary to step down after its pause',
        timeoutMs: 15_000,
      });
      await load.stop();
      await local.stop();
      const byEpoch = new Map<number, Set<string>>();
      for (const write of [...load.acked, ...local.acked]) {
        const servedBy = write.epoch === 1 ? 'primary' : 'mirror';
        byEpoch.set(write.epoch, (byEpoch.get(write.epoch) ?? new Set()).add(servedBy));
      }
      for (const writers of byEpoch.values()) expect(writers.size).toBe(1);
      // Every epoch-1 ack=sync acknowledgement waited for the mirror, and the lease makes the old
      // primary stop acknowledging before the witness grants the failover: none may be missing.
      const lostSync: string[] = [];
      for (const write of load.acked.filter((w) => w.epoch === 1)) {
        if ((await getJson(`${c.url('mirror')}/kv/${write.key}`)).status !== 200) lostSync.push(write.key);
      }
      expect(lostSync).toEqual([]);
      const lostLocal: string[] = [];
      for (const write of local.acked.filter((w) => w.epoch === 1)) {
        if ((await getJson(`${c.url('mirror')}/kv/${write.key}`)).status !== 200) lostLocal.push(write.key);
      }
      const dir = path.join(c.dataRoot, 'primary', 'rollback');
      const rolledBack = new Set<string>();
      for (const name of await readdir(dir).catch(() => [])) {
        for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) if (line) rolledBack.add(JSON.parse(line).key);
      }
      expect(lostLocal.filter((key) => !rolledBack.has(key)), 'lost ack=local writes missing from the rollback file').toEqual([]);
    } catch (error) {
      c.dumpLogs();
      throw error;
    }
  });
});
