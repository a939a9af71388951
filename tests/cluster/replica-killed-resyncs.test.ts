// Goal: a replica killed with SIGKILL and restarted resumes by partial resync from the primary's
// backlog; a replica whose data directory was wiped gets a full resync (snapshot, then entries);
// a sync replica is waited for while an async one is not.

import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';

let cluster: TestCluster | undefined;

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') cluster?.dumpLogs();
  await cluster?.close();
  cluster = undefined;
});

async function writeMany(base: string, prefix: string, count: number): Promise<number> {
  let lsn = 0;
  for (let i = 0; i < count; i++) {
    const response = await putJson(`${base}/kv/${prefix}${i}?ack=local`, { i });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    lsn = response.body.lsn;
  }
  return lsn;
}

async function caughtUp(c: TestCluster, id: string, lsn: number) {
  return waitFor(async () => {
    const s = (await getJson(`${c.url(id)}/status`)).body;
    return s.appliedLsn >= lsn ? s : null;
  }, { what: `${id} to apply LSN ${lsn}`, timeoutMs: 20_000 });
}

describe('replica resync', () => {
  it('a replica killed with SIGKILL resumes by partial resync and has every entry', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror', 'replica-1'] }));
    const primary = c.url('primary');
    await caughtUp(c, 'replica-1', await writeMany(primary, 'before/', 50));
    await c.kill('replica-1');
    const last = await writeMany(primary, 'during/', 100);
    await c.start('replica-1');
    await caughtUp(c, 'replica-1', last);
    expect(c.logs('replica-1').some((l) => l.includes('"resync":"partial"'))).toBe(true);
    for (const key of ['before/0', 'before/49', 'during/0', 'during/99']) {
      expect((await getJson(`${c.url('replica-1')}/kv/${key}`)).status).toBe(200);
    }
    const [p, r] = await Promise.all([getJson(`${primary}/status`), getJson(`${c.url('replica-1')}/status`)]);
    expect(r.body.appliedLsn).toBe(p.body.appliedLsn);
    expect(r.body.digest).toBe(p.body.digest);
  });

  it('a replica whose data was wiped gets a full resync', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror', 'replica-2'] }));
    const primary = c.url('primary');
    await caughtUp(c, 'replica-2', await writeMany(primary, 'k/', 80));
    await c.stop('replica-2');
    await rm(path.join(c.dataRoot, 'replica-2'), { recursive: true, force: true });
    const last = await writeMany(primary, 'later/', 20);
    await c.start('replica-2');
    const status = await caughtUp(c, 'replica-2', last);
    expect(c.logs('replica-2').some((l) => l.includes('"resync":"full"'))).toBe(true);
    expect(status.keys).toBe(100);
    expect(status.digest).toBe((await getJson(`${primary}/status`)).body.digest);
  });
});

describe('replica copy modes', () => {
  it('a sync replica is waited for; an async replica is not', async () => {
    const c = (cluster = await startCluster({
      services: ['control', 'primary', 'mirror', 'replica-1', 'replica-2'],
      serviceEnv: { 'replica-1': { REPLICA_MODE: 'sync' } },
      env: { SYNC_TIMEOUT_MS: '1500' },
    }));
    const primary = c.url('primary');
    await waitFor(async () => (await getJson(`${primary}/status`)).body.replicas.length === 2, { what: 'both replicas to connect' });
    const put = await putJson(`${primary}/kv/s1`, 1);
    expect(put.status).toBe(200);
    expect(put.body.ackedBy).toEqual(expect.arrayContaining(['primary', 'mirror', 'replica-1']));

    // The async replica going away does not slow a sync write.
    await c.kill('replica-2');
    const fast = await putJson(`${primary}/kv/s2`, 2);
    expect(fast.status).toBe(200);
    expect(fast.body.timings.totalMs).toBeLessThan(1000);

    // The sync replica going away makes ack=sync writes wait for it, then time out (indefinite).
    await c.kill('replica-1');
    const slow = await putJson(`${primary}/kv/s3`, 3);
    expect(slow.status).toBe(504);
    expect(slow.body).toMatchObject({ error: 'ack_timeout', pending: ['replica-1'] });
    // ack=local is never held back by a copy.
    expect((await putJson(`${primary}/kv/s4?ack=local`, 4)).status).toBe(200);
  });
});
