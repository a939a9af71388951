// Goal: the mirror is a synchronous, exact copy. Default writes are acknowledged by the mirror;
// ack=local is not delayed by a stalled mirror; ack=all and ack=<n> wait for what they name; a
// copy mode switched live on control takes effect at once; the mirror's log records are
// byte-identical to the primary's and its digest is equal at equal LSN.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, type LogEntry } from '../../shared/log-format.ts';
import { getJson, postJson, putJson, requestJson, dumpLogsOnFailure, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';

let cluster: TestCluster;

dumpLogsOnFailure(() => cluster);
let primary: string;
const secretHeaders = () => ({ authorization: `Bearer ${cluster.plan.secret}`, 'x-mirrorlab-node': 'control' });

beforeAll(async () => {
  cluster = await startCluster();
  primary = cluster.url('primary');
  await waitFor(async () => {
    const s = (await getJson(`${primary}/status`)).body;
    return s.mirror?.state === 'synchronized' && s.replicas.length === 2;
  }, { what: 'a synchronized mirror and two replicas' });
});

afterAll(async () => {
  await cluster?.close();
});

async function readLog(id: string): Promise<Map<number, LogEntry>> {
  const dir = path.join(cluster.dataRoot, id, 'log');
  const entries = new Map<number, LogEntry>();
  for (const name of (await readdir(dir)).sort()) {
    const bytes = await readFile(path.join(dir, name));
    let offset = 0;
    for (;;) {
      const result = decodeFrame(bytes, offset);
      if (result.kind !== 'entry') break;
      entries.set(result.entry.lsn, result.entry);
      offset = result.next;
    }
  }
  return entries;
}

describe('synchronous mirroring', () => {
  it('acknowledges a default (ack=sync) write only with the mirror', async () => {
    const put = await putJson(`${primary}/kv/m/1`, 'one');
    expect(put.status).toBe(200);
    expect(put.body.ackedBy).toEqual(expect.arrayContaining(['primary', 'mirror']));
    expect(put.body.degraded).toBe(false);
    expect(put.body.timings.syncMs).toBeGreaterThanOrEqual(0);
    const mirror = (await getJson(`${cluster.url('mirror')}/status`)).body;
    expect(mirror.lsn).toBeGreaterThanOrEqual(put.body.lsn);
    expect(mirror.role).toBe('mirror');
  });

  it('ack=all waits for every connected copy, ack=<n> for n copies in all', async () => {
    const all = await putJson(`${primary}/kv/m/all?ack=all`, 'all');
    expect(all.status).toBe(200);
    expect(all.body.ackedBy.sort()).toEqual(['mirror', 'primary', 'replica-1', 'replica-2']);
    const three = await putJson(`${primary}/kv/m/three?ack=3`, 3);
    expect(three.status).toBe(200);
    expect(three.body.ackedBy.length).toBeGreaterThanOrEqual(3);
  });

  it('ack=local is not delayed by a stalled mirror, while ack=sync is', async () => {
    const pause = await postJson(`${cluster.url('mirror')}/internal/pause`, { ms: 700 }, { headers: secretHeaders() });
    expect(pause.status).toBe(200);
    const local = await putJson(`${primary}/kv/m/local?ack=local`, 'fast');
    expect(local.status).toBe(200);
    expect(local.body.timings.totalMs).toBeLessThan(300);
    const sync = await putJson(`${primary}/kv/m/sync`, 'slow');
    expect(sync.status).toBe(200);
    expect(sync.body.ackedBy).toContain('mirror');
    expect(sync.body.timings.syncMs).toBeGreaterThan(200);
  });

  it('switches copy modes live through control: an async mirror is not waited for', async () => {
    const switched = await requestJson('PUT', `${cluster.url('control')}/cluster/modes`, { mirror: 'async', 'replica-1': 'sync' });
    expect(switched.status).toBe(200);
    let status = (await getJson(`${primary}/status`)).body;
    expect(status.mirror.mode).toBe('async');
    expect(status.replicas.find((r: { id: string }) => r.id === 'replica-1').mode).toBe('sync');
    await postJson(`${cluster.url('mirror')}/internal/pause`, { ms: 700 }, { headers: secretHeaders() });
    const write = await putJson(`${primary}/kv/m/async-mirror`, 'a');
    expect(write.status).toBe(200);
    expect(write.body.timings.totalMs).toBeLessThan(400);
    expect(write.body.ackedBy).toContain('replica-1');

    const back = await requestJson('PUT', `${cluster.url('control')}/cluster/modes`, { mirror: 'sync', 'replica-1': 'async' });
    expect(back.status).toBe(200);
    status = await waitFor(async () => {
      const s = (await getJson(`${primary}/status`)).body;
      return s.mirror.state === 'synchronized' ? s : null;
    }, { what: 'the mirror to be synchronized again' });
    expect(status.mirror.mode).toBe('sync');
  });

  it('refuses unknown copies and modes with 400 and changes nothing', async () => {
    const bad = await requestJson('PUT', `${cluster.url('control')}/cluster/modes`, { mirror: 'sometimes', nobody: 'sync' });
    expect(bad.status).toBe(400);
    expect((await getJson(`${primary}/status`)).body.mirror.mode).toBe('sync');
  });

  it('keeps byte-identical log records and an equal digest at equal LSN', async () => {
    for (let i = 0; i < 50; i++) await putJson(`${primary}/kv/exact/${i}`, { i, pad: 'x'.repeat(i) });
    const p = (await getJson(`${primary}/status`)).body;
    const m = await waitFor(async () => {
      const s = (await getJson(`${cluster.url('mirror')}/status`)).body;
      return s.appliedLsn === p.appliedLsn ? s : null;
    }, { what: 'the mirror to reach the primary LSN' });
    expect(m.digest).toBe(p.digest);
    const [pLog, mLog] = await Promise.all([readLog('primary'), readLog('mirror')]);
    let compared = 0;
    for (const [lsn, entry] of pLog) {
      const mirrored = mLog.get(lsn);
      if (!mirrored) continue;
      expect(mirrored.frame.equals(entry.frame), `record ${lsn}`).toBe(true);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(50);
    const verify = await getJson(`${cluster.url('control')}/cluster/verify`);
    expect(verify.status).toBe(200);
    expect(verify.body.copies.mirror.match).toBe(true);
    expect(verify.body.copies['replica-1'].match).toBe(true);
  });
});
