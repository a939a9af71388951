// Goal: POST /faults/profile {"name":"wan"} puts realistic one-way latencies between the nodes'
// regions on every data-node link, as ordinary latency rules tagged with the profile (fractional
// ms included), shown in GET /faults and each node's /status. With the mirror moved to `us`, an
// ack=sync write pays the ocean's round trip (~80 ms) and an ack=local one does not; a client that
// names its region (x-client-region) reads faster from the replica in its region than from one
// across the ocean. A second profile replaces the first; DELETE /faults heals it like any rule.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteJson, getJson, postJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { median, settled, statusOf, timedPut } from '../helpers/faults.ts';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ env: { FSYNC: 'off' } });
  await settled(c);
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') c.dumpLogs();
});

afterAll(async () => {
  await c?.close();
});

const profile = (body: unknown) => postJson(`${c.url('control')}/faults/profile`, body);

async function timedGet(id: string, key: string, region: string): Promise<{ ms: number; rttHeader: number; status: number }> {
  const started = performance.now();
  const answer = await getJson(`${c.url(id)}/kv/${key}`, { headers: { 'x-client-region': region } });
  return { ms: performance.now() - started, rttHeader: Number(answer.headers['x-simulated-rtt-ms']), status: answer.status };
}

describe('WAN profile', () => {
  it('refuses bad names and regions with 400 and the valid values', async () => {
    for (const body of [{ name: 'lan' }, { name: 'wan', regions: { mirror: 'mars' } }, { name: 'wan', regions: { pluto: 'us' } }, { name: 'wan', extra: 1 }]) {
      const answer = await profile(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toBe('bad_fault');
      expect(answer.body.valid).toEqual({ names: ['wan'], regions: ['eu', 'us', 'ap'] });
    }
    const badRegion = await getJson(`${c.url('replica-1')}/status`, { headers: { 'x-client-region': 'mars' } });
    expect(badRegion.status).toBe(400);
    expect(badRegion.body.error).toBe('bad_region');
  });

  it('puts tagged latency rules on every data-node link, and the ocean shows in sync writes and remote reads', async () => {
    const answer = await profile({ name: 'wan', regions: { mirror: 'us' } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body.regions).toEqual({ primary: 'eu', mirror: 'us', 'replica-1': 'eu', 'replica-2': 'us' });
    const rules = answer.body.faults as Array<{ from: string; to: string; ms: number; jitterMs: number; profile: string; description: string }>;
    expect(rules).toHaveLength(6);
    expect(rules.every((r) => r.profile === 'wan' && r.from !== 'control' && r.to !== 'control')).toBe(true);
    const between = (a: string, b: string) => rules.find((r) => (r.from === a && r.to === b) || (r.from === b && r.to === a));
    expect(between('primary', 'mirror')).toMatchObject({ ms: 40, jitterMs: 4 });
    expect(between('primary', 'replica-1')).toMatchObject({ ms: 0.5, jitterMs: 0.05, description: '0.5±0.05 ms between primary and replica-1 (wan: eu↔eu)' });
    const listed = (await getJson(`${c.url('control')}/faults`)).body;
    expect(listed.count).toBe(6);
    expect(listed.profile).toEqual({ name: 'wan', regions: answer.body.regions });
    expect((await statusOf(c, 'primary')).faults.filter((f: { profile?: string }) => f.profile === 'wan')).toHaveLength(3);

    // The mirror in `us`: a sync write waits a round trip across the Atlantic (2 × 40 ms ± 10 %).
    const sync: number[] = [];
    const local: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await timedPut(c, `wan/sync/${i}`, 'sync');
      expect(s.status).toBe(200);
      sync.push(s.ms);
      local.push((await timedPut(c, `wan/local/${i}`, 'local')).ms);
    }
    expect(Math.min(...sync)).toBeGreaterThanOrEqual(72);
    expect(median(sync)).toBeGreaterThanOrEqual(76);
    expect(median(local)).toBeLessThan(30);

    // A client in eu: replica-1 (eu) answers within the region, replica-2 (us) across the ocean.
    await waitFor(async () => (await getJson(`${c.url('replica-2')}/kv/wan/sync/4`)).status === 200, { what: 'replica-2 to have the key' });
    const near = await timedGet('replica-1', 'wan/sync/4', 'eu');
    const far = await timedGet('replica-2', 'wan/sync/4', 'eu');
    expect([near.status, far.status]).toEqual([200, 200]);
    expect(near.rttHeader).toBeLessThan(2);
    expect(near.ms).toBeLessThan(30);
    expect(far.rttHeader).toBeGreaterThanOrEqual(72);
    expect(far.ms).toBeGreaterThanOrEqual(72);
  });

  it('a second profile replaces the first, and DELETE /faults heals it', async () => {
    const first = (await getJson(`${c.url('control')}/faults`)).body.faults.map((f: { id: string }) => f.id);
    const again = await profile({ name: 'wan' });
    expect(again.status).toBe(201);
    expect(again.body.replaced.sort()).toEqual([...first].sort());
    expect(again.body.regions.mirror).toBe('eu');
    const listed = (await getJson(`${c.url('control')}/faults`)).body;
    expect(listed.count).toBe(6);
    expect(listed.faults.find((f: { from: string; to: string }) => f.from === 'primary' && f.to === 'mirror').ms).toBe(0.5);

    expect((await deleteJson(`${c.url('control')}/faults`)).status).toBe(200);
    expect((await getJson(`${c.url('control')}/faults`)).body).toMatchObject({ count: 0, profile: null });
    await waitFor(async () => (await statusOf(c, 'primary')).faults.length === 0, { what: 'the primary to hold no rule' });
    const writes: number[] = [];
    for (let i = 0; i < 5; i++) writes.push((await timedPut(c, `healed/${i}`, 'sync')).ms);
    expect(median(writes)).toBeLessThan(30);
    const answer = await getJson(`${c.url('replica-2')}/status`, { headers: { 'x-client-region': 'ap' } });
    expect(answer.headers['x-simulated-rtt-ms']).toBe('0.00');
    expect((await putJson(`${c.url('primary')}/kv/after-heal`, 1)).status).toBe(200);
  });
});
