// Goal: split brain cannot happen. Isolate the primary with a partition (clients still reach it):
// it stops acknowledging writes (503 no_quorum) before the witness promotes the mirror, no epoch
// ever has two nodes acknowledging writes, and after healing the old primary rejoins as the
// mirror, rolling back the ack=local entries it took that the new primary never had — into a
// rollback file and a `rollback` event.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteJson, getJson, postJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { startWrites } from '../helpers/workload.ts';

let cluster: TestCluster | undefined;

afterAll(async () => {
  await cluster?.close();
});

function grantedAt(c: TestCluster): number | null {
  const line = c.logs('control').find((l) => l.includes('failover granted'));
  if (!line) return null;
  return Date.parse((JSON.parse(line) as { time: string | number }).time as string) || (JSON.parse(line) as { time: number }).time;
}

describe('primary isolated by a partition', () => {
  it('fences itself before the mirror is promoted, then rolls back what it took alone', async () => {
    const c = (cluster = await startCluster());
    try {
      await waitFor(async () => (await getJson(`${c.url('primary')}/status`)).body.mirror?.state === 'synchronized', { what: 'a synchronized mirror' });
      const load = startWrites({ urls: () => [c.url('primary')], prefix: 'iso', ack: 'local', concurrency: 4, countMax: 20_000 });
      await waitFor(() => load.acked.length >= 50, { what: '50 writes before the partition' });
      const cut = await postJson(`${c.url('control')}/faults/partition`, { isolate: 'primary' });
      expect(cut.status).toBe(201);

      await waitFor(async () => (await getJson(`${c.url('mirror')}/status`)).body.role === 'primary', { what: 'the mirror promoted', timeoutMs: 15_000 });
      const granted = await waitFor(() => grantedAt(c), { what: 'the grant in control\'s log' });
      // The isolated primary now refuses: its lease ran out before the grant.
      const refused = await putJson(`${c.url('primary')}/kv/after-promotion?ack=local`, 1);
      expect(refused.status).toBe(503);
      expect(refused.body.error).toBe('no_quorum');
      await load.stop();

      // Every epoch-1 acknowledgement came from the old primary before the grant; every epoch-2
      // one (none here: the writers only talk to the old primary) would come from the new one.
      const epochs = new Set(load.acked.map((w) => w.epoch));
      expect([...epochs]).toEqual([1]);
      const lastAck = Math.max(...load.acked.map((w) => w.at));
      expect(lastAck).toBeLessThan(granted);

      // Writes the old primary acknowledged alone (ack=local, after the cut) are not on the new one.
      const missing: string[] = [];
      for (const write of load.acked) if ((await getJson(`${c.url('mirror')}/kv/${write.key}`)).status !== 200) missing.push(write.key);

      expect((await deleteJson(`${c.url('control')}/faults`)).status).toBe(200);
      await waitFor(async () => {
        const s = (await getJson(`${c.url('mirror')}/status`)).body;
        return s.mirror?.id === 'primary' && s.mirror.state === 'synchronized';
      }, { what: 'the old primary to rejoin as a synchronized mirror', timeoutMs: 20_000 });
      const old = (await getJson(`${c.url('primary')}/status`)).body;
      expect(old).toMatchObject({ role: 'mirror', epoch: 2, primary: 'mirror' });

      if (missing.length > 0) {
        const dir = path.join(c.dataRoot, 'primary', 'rollback');
        const files = await readdir(dir);
        expect(files.length).toBeGreaterThanOrEqual(1);
        const text = (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('');
        for (const key of missing) expect(text).toContain(`"key":"${key}"`);
        expect(c.logs('primary').some((l) => l.includes('rolled back'))).toBe(true);
      }
      const verify = await getJson(`${c.url('control')}/cluster/verify`);
      expect(verify.body.copies.primary.match).toBe(true);
    } catch (error) {
      c.dumpLogs();
      throw error;
    }
  });
});
