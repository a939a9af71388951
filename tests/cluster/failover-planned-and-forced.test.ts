// Goal: a planned failover (POST /cluster/failover {"to":"mirror"}) swaps roles under load and
// loses nothing; a forced failover to a lagging replica says how many acknowledged writes the new
// primary lacks, and the copies that held them roll them back into a rollback file.

import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteJson, getJson, postJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { startWrites } from '../helpers/workload.ts';

let cluster: TestCluster | undefined;

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') cluster?.dumpLogs();
  await cluster?.close();
  cluster = undefined;
});

async function synchronized(c: TestCluster, primary: string) {
  return waitFor(async () => {
    const s = (await getJson(`${c.url(primary)}/status`)).body;
    return s.role === 'primary' && s.mirror?.state === 'synchronized' ? s : null;
  }, { what: `${primary} to have a synchronized mirror`, timeoutMs: 20_000 });
}

describe('planned failover', () => {
  it('swaps primary and mirror under writes without losing an acknowledged write', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror', 'replica-1'] }));
    await synchronized(c, 'primary');
    const load = startWrites({ urls: () => ['primary', 'mirror'].map((id) => c.url(id)), prefix: 'planned', ack: 'sync', concurrency: 4, countMax: 2000 });
    await waitFor(() => load.acked.length >= 100, { what: '100 writes' });
    const answer = await postJson(`${c.url('control')}/cluster/failover`, { to: 'mirror' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ planned: true, from: 'primary', to: 'mirror', epoch: 2, lostWrites: 0 });
    await waitFor(() => load.acked.some((w) => w.epoch === 2), { what: 'writes on the new primary', timeoutMs: 10_000 });
    await load.stop();
    for (const write of load.acked) {
      expect((await getJson(`${c.url('mirror')}/kv/${write.key}`)).status, write.key).toBe(200);
    }
    const status = await synchronized(c, 'mirror');
    expect(status.mirror.id).toBe('primary');
    expect((await getJson(`${c.url('primary')}/status`)).body.role).toBe('mirror');
    expect(c.logs('primary').some((l) => l.includes('rolled back'))).toBe(false);
  });
});

describe('planned failover to a primary that does not answer', () => {
  it('answers 503 node_unreachable (indefinite), never a 500', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror'] }));
    await synchronized(c, 'primary');
    // The witness records the mirror synchronized a moment after the primary says so.
    await waitFor(async () => (await getJson(`${c.url('control')}/witness`)).body.mirrorSynchronized === true, { what: 'the witness to record the mirror synchronized' });
    await c.kill('primary');
    // Right away, before the automatic failover: the witness still has the mirror synchronized.
    const answer = await postJson(`${c.url('control')}/cluster/failover`, { to: 'mirror' });
    expect(answer.status, JSON.stringify(answer.body)).toBe(503);
    expect(answer.body).toMatchObject({ error: 'node_unreachable', definite: false });
  });
});

describe('forced failover', () => {
  it('to a lagging replica reports what it lacks; the copies that held it roll it back', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror', 'replica-1'] }));
    await synchronized(c, 'primary');
    const first = await putJson(`${c.url('primary')}/kv/shared`, 'everyone has this');
    await waitFor(async () => (await getJson(`${c.url('replica-1')}/status`)).body.appliedLsn >= first.body.lsn, { what: 'replica-1 to catch up' });
    // replica-1 falls behind: cut it off from the primary (the primary stays up, so no automatic
    // failover can interfere).
    const cut = await postJson(`${c.url('control')}/faults/partition`, { from: 'primary', to: 'replica-1', bidirectional: true });
    expect(cut.status).toBe(201);
    let last = 0;
    for (let i = 0; i < 30; i++) last = (await putJson(`${c.url('primary')}/kv/only-old/${i}`, i)).body.lsn;

    const forced = await postJson(`${c.url('control')}/cluster/failover`, { to: 'replica-1', force: true });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ forced: true, from: 'primary', to: 'replica-1', epoch: 2 });
    expect(forced.body.lostWrites).toBeGreaterThanOrEqual(30);
    expect(forced.body.lostLsns[1]).toBeGreaterThanOrEqual(last);
    await deleteJson(`${c.url('control')}/faults`);

    // The mirror keeps its slot under the new primary: it rolls back what replica-1 never had,
    // keeps it in a file, and resynchronizes. The old primary becomes a replica and does the same.
    await synchronized(c, 'replica-1');
    const mirror = await waitFor(async () => {
      const s = (await getJson(`${c.url('mirror')}/status`)).body;
      return s.role === 'mirror' && s.epoch === 2 ? s : null;
    }, { what: 'the mirror to follow replica-1' });
    expect(mirror.primary).toBe('replica-1');
    for (const id of ['mirror', 'primary']) {
      await waitFor(async () => (await readdir(path.join(c.dataRoot, id, 'rollback')).catch(() => [])).length === 1, { what: `${id}'s rollback file` });
      // The file is durable before the node reports the rollback: the log line follows it.
      await waitFor(() => c.logs(id).some((l) => l.includes('rolled back')), { what: `${id} to log its rollback` });
    }
    await waitFor(async () => (await getJson(`${c.url('primary')}/status`)).body.role === 'replica', { what: 'the old primary to be a replica' });
    expect((await putJson(`${c.url('replica-1')}/kv/new-era`, 1)).status).toBe(200);
    expect((await getJson(`${c.url('replica-1')}/kv/only-old/0`)).status).toBe(404);
  });
});
