// Goal (issue 12, experiment 06): a replica that held entries the new primary never had (a forced
// failover onto a lagging replica) rolls them back and goes on following: its applied LSN never
// runs ahead of its log, it applies the new primary's writes, and it serves them. Before, its
// applied state kept a position heard from the old primary, every new entry was refused ("entry
// 115 applied after 123"), and it stayed stuck.

import { describe, expect, it } from 'vitest';
import { deleteJson, getJson, postJson, putJson, clusterPerTest, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { settled, statusOf } from '../helpers/faults.ts';

const clusters = clusterPerTest();

describe('a replica rolled back by a forced failover', () => {
  it('keeps following the new primary, its applied LSN never ahead of its log', async () => {
    const c = await clusters.start();
    await settled(c);
    await putJson(`${c.url('primary')}/kv/before`, 'everyone has this');
    await settled(c);
    // replica-1 falls behind while replica-2 keeps up with everything the old primary writes.
    const cut = await postJson(`${c.url('control')}/faults/partition`, { from: 'primary', to: 'replica-1', bidirectional: true });
    expect(cut.status).toBe(201);
    let last = 0;
    for (let i = 0; i < 20; i++) last = (await putJson(`${c.url('primary')}/kv/old-era/${i}`, i)).body.lsn;
    await waitFor(async () => (await statusOf(c, 'replica-2')).appliedLsn >= last, { what: 'replica-2 to apply the old era' });

    const forced = await postJson(`${c.url('control')}/cluster/failover`, { to: 'replica-1', force: true });
    expect(forced.status).toBe(200);
    await deleteJson(`${c.url('control')}/faults`);

    const consistent: string[] = [];
    const watch = setInterval(() => {
      void statusOf(c, 'replica-2').then((s) => {
        if (s.appliedLsn > s.lsn) consistent.push(`appliedLsn ${s.appliedLsn} > lsn ${s.lsn}`);
      }, () => undefined);
    }, 50);
    try {
      let newLsn = 0;
      for (let i = 0; i < 10; i++) {
        const write = await putJson(`${c.url('replica-1')}/kv/new-era/${i}`, i);
        expect(write.status, JSON.stringify(write.body)).toBe(200);
        newLsn = write.body.lsn;
      }
      await waitFor(async () => {
        const s = await statusOf(c, 'replica-2');
        return s.primary === 'replica-1' && s.appliedLsn >= newLsn ? s : null;
      }, { what: 'replica-2 to follow replica-1 and apply its writes', timeoutMs: 20_000 });
      const read = await getJson(`${c.url('replica-2')}/kv/new-era/9`);
      expect(read.status).toBe(200);
      expect(read.body.value).toBe(9);
      expect((await getJson(`${c.url('replica-2')}/kv/old-era/0`)).status).toBe(404);
    } finally {
      clearInterval(watch);
    }
    expect(consistent).toEqual([]);
    expect(c.logs('replica-2').some((l) => l.includes('rolled back'))).toBe(true);
    expect(c.logs('replica-2').some((l) => l.includes('applied after') || l.includes('durable listener threw'))).toBe(false);
  });
});
