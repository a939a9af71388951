// Goal: SIGKILL of the primary under concurrent ack=sync writes. The synchronized mirror is primary
// within 3 s at epoch 2, no acknowledged write is missing, replicas follow it, every node's 307
// points at it; the old primary restarts, rolls into the mirror slot and becomes a synchronized
// mirror with an equal digest.

import { afterAll, describe, expect, it } from 'vitest';
import { getJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { startWrites } from '../helpers/workload.ts';

let cluster: TestCluster | undefined;

afterAll(async () => {
  await cluster?.close();
});

describe('primary killed', () => {
  it('the mirror takes over with every acknowledged write, and the old primary rejoins as its mirror', async () => {
    const c = (cluster = await startCluster());
    try {
      await waitFor(async () => (await getJson(`${c.url('primary')}/status`)).body.mirror?.state === 'synchronized', { what: 'a synchronized mirror' });
      const nodes = ['primary', 'mirror', 'replica-1', 'replica-2'];
      const load = startWrites({ urls: () => nodes.map((id) => c.url(id)), prefix: 'kill', ack: 'sync', concurrency: 8, countMax: 3000 });
      await waitFor(() => load.acked.length >= 200, { what: '200 acknowledged writes', timeoutMs: 20_000 });
      const killedAt = Date.now();
      await c.kill('primary');

      const promoted = await waitFor(async () => {
        const s = (await getJson(`${c.url('mirror')}/status`)).body;
        return s.role === 'primary' ? s : null;
      }, { what: 'the mirror to become primary', timeoutMs: 10_000, intervalMs: 20 });
      expect(Date.now() - killedAt).toBeLessThan(3000);
      expect(promoted.epoch).toBe(2);
      await waitFor(() => load.acked.some((w) => w.epoch === 2), { what: 'a write acknowledged at epoch 2', timeoutMs: 10_000 });
      await load.stop();

      // No acknowledged write is missing on the new primary.
      const missing: string[] = [];
      for (const write of load.acked) {
        const read = await getJson(`${c.url('mirror')}/kv/${write.key}`);
        if (read.status !== 200) missing.push(`${write.key}@${write.lsn}`);
      }
      expect(missing).toEqual([]);

      // Replicas follow it and every node redirects writes to it.
      for (const id of ['replica-1', 'replica-2']) {
        await waitFor(async () => {
          const s = (await getJson(`${c.url(id)}/status`)).body;
          return s.primary === 'mirror' && s.epoch === 2 && s.appliedLsn >= promoted.lsn;
        }, { what: `${id} to follow the new primary`, timeoutMs: 10_000 });
        const redirect = await putJson(`${c.url(id)}/kv/after?ack=local`, 1);
        expect(redirect.status).toBe(307);
        expect(redirect.headers.location).toBe(`${c.url('mirror')}/kv/after?ack=local`);
      }

      // The old primary comes back as the mirror of the new one and synchronizes.
      await c.start('primary');
      const status = await waitFor(async () => {
        const s = (await getJson(`${c.url('mirror')}/status`)).body;
        return s.mirror?.id === 'primary' && s.mirror.state === 'synchronized' ? s : null;
      }, { what: 'the old primary to be a synchronized mirror', timeoutMs: 20_000 });
      const old = await waitFor(async () => {
        const s = (await getJson(`${c.url('primary')}/status`)).body;
        return s.role === 'mirror' && s.appliedLsn === status.appliedLsn ? s : null;
      }, { what: 'the old primary to catch up as mirror' });
      expect(old.epoch).toBe(2);
      expect(old.digest).toBe((await getJson(`${c.url('mirror')}/status`)).body.digest);
      const verify = await getJson(`${c.url('control')}/cluster/verify`);
      expect(verify.body.copies.primary.match).toBe(true);
      // The witness knows the rejoined mirror is synchronized, so a second failover could happen.
      await waitFor(async () => {
        const w = (await getJson(`${c.url('control')}/witness`)).body;
        return w.epoch === 2 && w.primaryId === 'mirror' && w.mirrorId === 'primary' && w.mirrorSynchronized === true;
      }, { what: 'the witness to record the rejoined mirror as synchronized' });
    } catch (error) {
      c.dumpLogs();
      throw error;
    }
  });
});
