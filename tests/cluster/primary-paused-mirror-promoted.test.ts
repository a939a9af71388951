// Goal: a primary paused for longer than the failover timeout (a GC-pause double: its event loop
// really stops) is replaced by its mirror; when it wakes it acknowledges nothing more, steps down
// and rejoins as the mirror. No epoch ever has two nodes acknowledging writes.

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
      const load = startWrites({ urls: () => [c.url('primary')], prefix: 'pause', ack: 'local', concurrency: 4, countMax: 5000 });
      await waitFor(() => load.acked.length >= 50, { what: '50 writes' });
      const headers = { authorization: `Bearer ${c.plan.secret}`, 'x-mirrorlab-node': 'control' };
      expect((await postJson(`${c.url('primary')}/internal/pause`, { ms: 3500 }, { headers })).status).toBe(200);
      await waitFor(async () => (await getJson(`${c.url('mirror')}/status`)).body.role === 'primary', { what: 'the mirror promoted', timeoutMs: 10_000 });
      await waitFor(async () => (await getJson(`${c.url('primary')}/status`, { timeoutMs: 500 })).body.role === 'mirror', {
        what: 'the old primary to step down after its pause',
        timeoutMs: 15_000,
      });
      await load.stop();
      const byEpoch = new Map<number, Set<string>>();
      for (const write of load.acked) {
        const servedBy = write.epoch === 1 ? 'primary' : 'mirror';
        byEpoch.set(write.epoch, (byEpoch.get(write.epoch) ?? new Set()).add(servedBy));
      }
      for (const writers of byEpoch.values()) expect(writers.size).toBe(1);
      // Every epoch-1 acknowledgement the new primary lacks would be a lost ack=local write; the
      // lease makes the old primary stop acknowledging before the witness grants the failover.
      const epoch1 = load.acked.filter((w) => w.epoch === 1);
      let lost = 0;
      for (const write of epoch1) if ((await getJson(`${c.url('mirror')}/kv/${write.key}`)).status !== 200) lost++;
      expect(lost).toBe(0);
    } catch (error) {
      c.dumpLogs();
      throw error;
    }
  });
});
