// Goal (issue 12, experiment 05): the mirror slot is a sync copy unless someone switched the slot
// with PUT /cluster/modes. A node entering the slot takes the slot's mode, whatever mode it had as
// a replica; a mode set for the slot stays with the slot when another node enters it, and /status
// says which it is. Before, a replica whose async mode had been set live became an async mirror
// that never synchronized, and automatic failover was off for good.

import { describe, expect, it } from 'vitest';
import { getJson, postJson, putJson, clusterPerTest, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { settled, statusOf } from '../helpers/faults.ts';

const clusters = clusterPerTest();

async function mirrorIs(c: TestCluster, id: string, mode: string, state: string) {
  return waitFor(async () => {
    const mirror = (await statusOf(c, 'primary')).mirror;
    return mirror?.id === id && mirror.mode === mode && mirror.state === state ? mirror : null;
  }, { what: `primary's mirror to be ${id}, ${mode}, ${state}`, timeoutMs: 20_000 });
}

async function moveSlot(c: TestCluster, node: string) {
  // The slot is held: moving it is explicit (one mirror slot; without "replace" it is a 409).
  const answer = await postJson(`${c.url('control')}/cluster/mirror`, { node, replace: true });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  await waitFor(async () => (await statusOf(c, node)).role === 'mirror', { what: `${node} to take the mirror slot` });
}

describe('the mirror slot keeps its own copy mode', () => {
  it('a replica with a live async mode becomes a sync, synchronized mirror; a slot set async stays async', async () => {
    const c = await clusters.start({ services: ['control', 'primary', 'mirror', 'replica-1'] });
    await settled(c, ['replica-1']);
    // As experiment 01's cleanup leaves it: replica-1's mode set live on the primary.
    expect((await putJson(`${c.url('control')}/cluster/modes`, { 'replica-1': 'async' })).status).toBe(200);

    await moveSlot(c, 'replica-1');
    await mirrorIs(c, 'replica-1', 'sync', 'synchronized');
    const write = await putJson(`${c.url('primary')}/kv/slot/one`, 1);
    expect(write.body.ackedBy).toContain('replica-1');
    await waitFor(async () => (await statusOf(c, 'mirror')).role === 'replica', { what: 'the old mirror to be a replica' });
    const asReplica = (await statusOf(c, 'primary')).replicas.find((r: { id: string }) => r.id === 'mirror');
    expect(asReplica?.mode).toBe('async');

    // Switching the slot (named by the node in it) is the slot's mode, not replica-1's.
    expect((await putJson(`${c.url('control')}/cluster/modes`, { 'replica-1': 'async' })).status).toBe(200);
    await mirrorIs(c, 'replica-1', 'async', 'synchronizing');
    await moveSlot(c, 'mirror');
    await mirrorIs(c, 'mirror', 'async', 'synchronizing');
    await waitFor(async () => (await statusOf(c, 'replica-1')).role === 'replica', { what: 'replica-1 to be a replica again' });
    const replica1 = (await statusOf(c, 'primary')).replicas.find((r: { id: string }) => r.id === 'replica-1');
    expect(replica1?.mode).toBe('async');

    expect((await putJson(`${c.url('control')}/cluster/modes`, { mirror: 'sync' })).status).toBe(200);
    await mirrorIs(c, 'mirror', 'sync', 'synchronized');
    // The mirror learns its state and mode from the primary's next request.
    await waitFor(async () => {
      const own = (await getJson(`${c.url('mirror')}/status`)).body.mirror;
      return own?.mode === 'sync' && own.state === 'synchronized';
    }, { what: "the mirror's own status to say sync, synchronized" });
  });
});
