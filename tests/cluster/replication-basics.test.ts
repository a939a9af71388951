// Goal: prove the foundation end to end on real processes — writes on the primary reach both
// replicas over the WebSocket stream, the other nodes redirect writes with 307, the mirror refuses
// reads, read-your-writes waits for minLsn, and /status reports what each node knows.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteJson, getJson, putJson, dumpLogsOnFailure, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';

let cluster: TestCluster;

dumpLogsOnFailure(() => cluster);

beforeAll(async () => {
  cluster = await startCluster();
  await waitFor(async () => (await getJson(`${cluster.url('primary')}/status`)).body.mirror?.state === 'synchronized', {
    what: 'the mirror to be synchronized',
  });
});

afterAll(async () => {
  await cluster?.close();
});

describe('replication over WebSocket', () => {
  it('a write on the primary is served by both replicas', async () => {
    const put = await putJson(`${cluster.url('primary')}/kv/greeting`, { hello: 'world' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ key: 'greeting', epoch: 1, degraded: false });
    expect(put.body.lsn).toBeGreaterThan(0);
    expect(put.headers['x-lsn']).toBe(String(put.body.lsn));
    expect(put.body.ackedBy).toContain('primary');
    for (const id of ['replica-1', 'replica-2']) {
      const read = await waitFor(async () => {
        const r = await getJson(`${cluster.url(id)}/kv/greeting`);
        return r.status === 200 ? r : null;
      }, { what: `${id} to serve the write` });
      expect(read.body).toMatchObject({ key: 'greeting', value: { hello: 'world' }, servedBy: id, role: 'replica', lsn: put.body.lsn });
    }
  });

  it('read-your-writes: minLsn waits for the replica, and a too-high minLsn answers 504 replica_behind', async () => {
    const put = await putJson(`${cluster.url('primary')}/kv/ryw`, 42);
    const read = await getJson(`${cluster.url('replica-1')}/kv/ryw?minLsn=${put.body.lsn}&waitMs=5000`);
    expect(read.status).toBe(200);
    expect(read.body.value).toBe(42);
    const behind = await getJson(`${cluster.url('replica-1')}/kv/ryw?minLsn=${put.body.lsn + 1000}&waitMs=100`);
    expect(behind.status).toBe(504);
    expect(behind.body.error).toBe('replica_behind');
    expect(behind.body.appliedLsn).toBeGreaterThanOrEqual(put.body.lsn);
  });

  it('a raw text body is stored as a string, and DELETE replicates', async () => {
    const put = await putJson(`${cluster.url('primary')}/kv/text/note`, undefined, { rawBody: 'plain words', headers: { 'content-type': 'text/plain' } });
    expect(put.status).toBe(200);
    const read = await getJson(`${cluster.url('primary')}/kv/text/note`);
    expect(read.body.value).toBe('plain words');
    const del = await deleteJson(`${cluster.url('primary')}/kv/text/note`);
    expect(del.status).toBe(200);
    await waitFor(async () => (await getJson(`${cluster.url('replica-2')}/kv/text/note?minLsn=${del.body.lsn}`)).status === 404, {
      what: 'the delete to reach replica-2',
    });
  });

  it('lists keys by prefix in key order and counts them on a replica (the reporting scan)', async () => {
    let last = 0;
    for (const key of ['scan/b', 'scan/a', 'scan/c']) last = (await putJson(`${cluster.url('primary')}/kv/${key}`, key)).body.lsn;
    const list = await getJson(`${cluster.url('replica-1')}/kv?prefix=scan/&minLsn=${last}`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: { key: string }) => i.key)).toEqual(['scan/a', 'scan/b', 'scan/c']);
    const stats = await getJson(`${cluster.url('replica-1')}/stats?prefix=scan/`);
    expect(stats.body).toMatchObject({ prefix: 'scan/', count: 3, servedBy: 'replica-1' });
  });
});

describe('roles at the edges', () => {
  it('a replica and the mirror answer writes with 307 to the primary', async () => {
    for (const id of ['replica-1', 'mirror']) {
      const response = await putJson(`${cluster.url(id)}/kv/redirected?ack=local`, 1);
      expect(response.status).toBe(307);
      expect(response.headers.location).toBe(`${cluster.url('primary')}/kv/redirected?ack=local`);
      expect(response.body).toMatchObject({ error: 'not_primary', primary: 'primary', primaryUrl: cluster.url('primary') });
    }
  });

  it('the mirror refuses reads with 503 standby_not_readable', async () => {
    await putJson(`${cluster.url('primary')}/kv/secret`, 's');
    const response = await getJson(`${cluster.url('mirror')}/kv/secret`);
    expect(response.status).toBe(503);
    expect(response.body.error).toBe('standby_not_readable');
    expect((await getJson(`${cluster.url('mirror')}/kv?prefix=`)).status).toBe(503);
  });

  it('/status reports roles, LSNs, the mirror and the replicas as SPEC §3 shapes them', async () => {
    const put = await putJson(`${cluster.url('primary')}/kv/status-probe`, true);
    const status = await waitFor(async () => {
      const s = (await getJson(`${cluster.url('primary')}/status`)).body;
      return s.replicas.length === 2 && s.replicas.every((r: { ackedLsn: number }) => r.ackedLsn >= put.body.lsn) ? s : null;
    }, { what: 'both replicas to acknowledge the probe' });
    expect(status).toMatchObject({ id: 'primary', role: 'primary', epoch: 1, primary: 'primary' });
    expect(status.mirror).toMatchObject({ id: 'mirror', mode: 'sync', state: 'synchronized' });
    expect(status.replicas.map((r: { id: string }) => r.id).sort()).toEqual(['replica-1', 'replica-2']);
    for (const replica of status.replicas) {
      expect(replica).toMatchObject({ mode: 'async', connected: true, lagEntries: 0 });
    }
    const replica = (await getJson(`${cluster.url('replica-2')}/status`)).body;
    expect(replica).toMatchObject({ id: 'replica-2', role: 'replica', region: 'us', primary: 'primary', epoch: 1 });
    expect(replica.digest).toMatch(/^[0-9a-f]{32}$/);
  });
});
