// Goal (SPEC §6.8, issue 12): a latency rule delays traffic by its amount and no more. A replica
// behind 1500 ms or 3000 ms of latency gets each entry about that much later and keeps up (before,
// its 1 s silence watchdog fired before the delayed heartbeat arrived, it reconnected, and the new
// stream was delayed again, for ever). A replica that starts behind such a link connects; the
// mirror keeps confirming behind it too; and after healing everything is back to normal.

import { describe, expect, it } from 'vitest';
import { putJson, clusterPerTest, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { addFault, healAll, settled, statusOf } from '../helpers/faults.ts';

const clusters = clusterPerTest();

// Writes once on the primary and resolves with the milliseconds until `id` applied it.
async function msUntilApplied(c: TestCluster, id: string, key: string): Promise<number> {
  const write = await putJson(`${c.url('primary')}/kv/${key}?ack=local`, { at: Date.now() });
  expect(write.status).toBe(200);
  const started = Date.now();
  await waitFor(async () => (await statusOf(c, id)).appliedLsn >= write.body.lsn, { what: `${id} to apply LSN ${write.body.lsn}`, timeoutMs: 30_000, intervalMs: 20 });
  return Date.now() - started;
}

describe('latency on the replication stream', () => {
  for (const ms of [1500, 3000]) {
    it(`${ms} ms primary->replica-1: each entry arrives about ${ms} ms later, the stream never wedges`, async () => {
      const c = await clusters.start({ services: ['control', 'primary', 'mirror', 'replica-1'] });
      await settled(c, ['replica-1']);
      await addFault(c, 'latency', { from: 'primary', to: 'replica-1', ms });
      // The first entry after the rule lands on the open stream; the later ones in steady state.
      for (let i = 0; i < 3; i++) {
        const took = await msUntilApplied(c, 'replica-1', `lat-${ms}-${i}`);
        expect(took).toBeGreaterThanOrEqual(ms - 100);
        expect(took).toBeLessThanOrEqual(ms + 2000);
      }
      expect(c.logs('replica-1').some((l) => l.includes('reconnecting'))).toBe(false);

      // A replica that (re)starts behind the slow link connects and catches up: its handshake and
      // the primary's first answer each take the delay, and nothing times out.
      await c.kill('replica-1');
      await c.start('replica-1');
      const took = await msUntilApplied(c, 'replica-1', `lat-${ms}-restart`);
      expect(took).toBeLessThanOrEqual(3 * ms + 2000);

      await healAll(c);
      expect(await msUntilApplied(c, 'replica-1', `lat-${ms}-healed`)).toBeLessThan(1000);
    });
  }
});

describe('latency on the mirroring link', () => {
  it('1500 ms primary->mirror: the mirror keeps confirming, late; healed, it is synchronized again', async () => {
    const c = await clusters.start({ services: ['control', 'primary', 'mirror'] });
    await settled(c, []);
    await addFault(c, 'latency', { from: 'primary', to: 'mirror', ms: 1500 });
    let lsn = 0;
    for (let i = 0; i < 5; i++) lsn = (await putJson(`${c.url('primary')}/kv/mirror-lat/${i}?ack=local`, i)).body.lsn;
    const started = Date.now();
    await waitFor(async () => (await statusOf(c, 'primary')).mirror?.ackedLsn >= lsn, { what: `the mirror to confirm LSN ${lsn}`, timeoutMs: 30_000, intervalMs: 20 });
    expect(Date.now() - started).toBeLessThanOrEqual(1500 + 2000);
    await healAll(c);
    await settled(c, []);
    const write = await putJson(`${c.url('primary')}/kv/mirror-lat/after`, 1);
    expect(write.body.ackedBy).toContain('mirror');
  });
});
