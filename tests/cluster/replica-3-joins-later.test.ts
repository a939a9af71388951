// Goal: membership (SPEC §5). A node added to a running cluster (replica-3, in no one else's
// PEERS) registers itself with control and from then on is a node like the others: it appears in
// GET /cluster and /cluster/members, /cluster/verify matches its copy, a fault rule naming it is
// accepted and acts, PUT /cluster/modes takes it. There is one mirror slot: a second-mirror request
// is 409 mirror_slot_taken; with "replace" the slot moves to replica-3, which the primary reaches
// through the URL the witness's view gave it. replica-3 starts with ROLE=mirror while `mirror`
// holds the slot, so it serves as a replica and logs why.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launcherTopology } from '../../shared/topology.ts';
import { getJson, postJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { addFault, healAll, settled, statusOf } from '../helpers/faults.ts';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ topology: launcherTopology, env: { FSYNC: 'off' }, serviceEnv: { 'replica-3': { ROLE: 'mirror' } } });
  await settled(c);
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') c.dumpLogs();
});

afterAll(async () => {
  await c?.close();
});

const control = () => c.url('control');

describe('replica-3 joins a running cluster', () => {
  it('is unknown before it starts; after, it is in /cluster, /cluster/members and /cluster/verify', async () => {
    expect(Object.keys((await getJson(`${control()}/cluster`)).body.nodes)).toEqual(['primary', 'mirror', 'replica-1', 'replica-2']);
    const refused = await postJson(`${control()}/faults/latency`, { from: 'primary', to: 'replica-3', ms: 10 });
    expect(refused.status).toBe(400);
    for (let i = 0; i < 20; i++) expect((await putJson(`${c.url('primary')}/kv/before/${i}`, i)).status).toBe(200);

    await c.start('replica-3');
    const node = await waitFor(async () => {
      const nodes = (await getJson(`${control()}/cluster`)).body.nodes;
      return nodes['replica-3']?.role === 'replica' ? nodes['replica-3'] : null;
    }, { what: 'replica-3 in GET /cluster as a replica' });
    expect(node.region).toBe('ap');
    expect(c.logs('replica-3').some((l) => l.includes('holds the one mirror slot'))).toBe(true);
    const members = (await getJson(`${control()}/cluster/members`)).body.members;
    expect(members.find((m: { id: string }) => m.id === 'replica-3')).toMatchObject({ source: 'registered', url: c.url('replica-3'), region: 'ap', role: 'mirror' });

    const verify = await waitFor(async () => {
      const body = (await getJson(`${control()}/cluster/verify`)).body;
      return body.copies?.['replica-3']?.match === true && body.match ? body : null;
    }, { what: '/cluster/verify to match replica-3', timeoutMs: 20_000 });
    expect(verify.copies['replica-3']).toMatchObject({ role: 'replica', match: true });
    expect((await getJson(`${c.url('replica-3')}/kv/before/19`)).body.value).toBe(19);
  });

  it('takes fault rules naming it, and they act; PUT /cluster/modes takes it too', async () => {
    const cut = await addFault(c, 'partition', { from: 'primary', to: 'replica-3', bidirectional: true, mode: 'reject' });
    expect(cut.appliedOn).toContain('replica-3');
    expect((await statusOf(c, 'replica-3')).faults.map((f: { id: string }) => f.id)).toContain(cut.id);
    let last = 0;
    for (let i = 0; i < 10; i++) last = (await putJson(`${c.url('primary')}/kv/cut/${i}`, i)).body.lsn;
    await waitFor(async () => (await statusOf(c, 'replica-1')).appliedLsn >= last, { what: 'replica-1 to catch up' });
    expect((await statusOf(c, 'replica-3')).appliedLsn).toBeLessThan(last);
    await healAll(c);
    await waitFor(async () => (await statusOf(c, 'replica-3')).appliedLsn >= last, { what: 'replica-3 to catch up after the heal', timeoutMs: 20_000 });

    const modes = await putJson(`${control()}/cluster/modes`, { 'replica-3': 'sync' });
    expect(modes.status, JSON.stringify(modes.body)).toBe(200);
    expect(modes.body.modes['replica-3']).toBe('sync');
  });

  it('one mirror slot: a second mirror is 409; with replace the slot moves to replica-3 and it synchronizes', async () => {
    const second = await postJson(`${control()}/cluster/mirror`, { node: 'replica-3' });
    expect(second.status).toBe(409);
    expect(second.body.error).toBe('mirror_slot_taken');
    expect(second.body.message).toContain('"replace":true');
    expect((await statusOf(c, 'primary')).mirror.id).toBe('mirror');

    const moved = await postJson(`${control()}/cluster/mirror`, { node: 'replica-3', replace: true });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body).toMatchObject({ mirror: 'replica-3', previous: 'mirror' });
    await waitFor(async () => {
      const primary = await statusOf(c, 'primary');
      return primary.mirror?.id === 'replica-3' && primary.mirror.state === 'synchronized';
    }, { what: 'replica-3 to be the synchronized mirror of primary', timeoutMs: 20_000 });
    expect(c.logs('primary').some((l) => l.includes('learned member replica-3'))).toBe(true);
    expect((await putJson(`${c.url('primary')}/kv/mirrored-by-replica-3`, 1)).body.ackedBy).toContain('replica-3');
    await waitFor(async () => (await statusOf(c, 'mirror')).role === 'replica', { what: 'mirror to serve as a replica' });
    // Every node took the witness's announcements (the members travel in heartbeat answers).
    expect(c.logs('control').filter((l) => l.includes('refused the announcement'))).toEqual([]);
  });
});
