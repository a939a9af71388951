// Goal: a mirror that starts empty after the primary stored large values (six of ~1 MiB) gets
// them by a full resync and becomes synchronized. Before, the snapshot went out in chunks bounded
// by key count only: one chunk of six 1 MiB values was over the mirror's body limit, the mirror
// answered 413, and the primary retried every 2 s for ever.

import { describe, expect, it } from 'vitest';
import { getJson, putJson, clusterPerTest, waitFor } from '../helpers/cluster.ts';

const clusters = clusterPerTest();

describe('a mirror starting empty behind large values', () => {
  it('resyncs from a snapshot sent in chunks under its body limit', async () => {
    const c = await clusters.start({ services: ['control', 'primary'] });
    const value = 'v'.repeat(1024 * 1024 - 100);
    for (let i = 0; i < 6; i++) {
      const write = await putJson(`${c.url('primary')}/kv/big/${i}?ack=local`, value, { timeoutMs: 20_000 });
      expect(write.status, JSON.stringify(write.body).slice(0, 200)).toBe(200);
    }
    await c.start('mirror');
    await waitFor(async () => (await getJson(`${c.url('primary')}/status`)).body.mirror?.state === 'synchronized', {
      what: 'the mirror to be synchronized after its full resync',
      timeoutMs: 30_000,
    });
    const verify = await waitFor(async () => {
      const answer = (await getJson(`${c.url('control')}/cluster/verify`)).body;
      return answer.copies?.mirror ? answer : null;
    }, { what: 'GET /cluster/verify to compare the mirror' });
    expect(verify.copies.mirror.match).toBe(true);
  });
});
