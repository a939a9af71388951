// Goal: the mirror killed with SIGKILL under load. With MIRROR_POLICY=strict sync writes fail with
// 503 mirror_unavailable; with degrade (the default) the primary goes on alone (degraded:true,
// mirror suspended or disconnected), and the restarted mirror catches up to synchronized with a
// digest equal to the primary's.

import { afterEach, describe, expect, it } from 'vitest';
import { getJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';

let cluster: TestCluster | undefined;

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') cluster?.dumpLogs();
  await cluster?.close();
  cluster = undefined;
});

async function synchronized(c: TestCluster) {
  return waitFor(async () => {
    const s = (await getJson(`${c.url('primary')}/status`)).body;
    return s.mirror?.state === 'synchronized' ? s : null;
  }, { what: 'the mirror to be synchronized', timeoutMs: 20_000 });
}

// Writers in bounded loops while something happens to the cluster.
function load(base: string, count: number, concurrency: number) {
  const results: Array<{ status: number; body: any }> = [];
  let stop = false;
  const done = Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; i < count && !stop; i++) {
        results.push(await putJson(`${base}/kv/load/${w}/${i}`, i, { timeoutMs: 10_000 }));
      }
    }),
  );
  return { results, done, stop: () => (stop = true) };
}

describe('mirror killed under load', () => {
  it('strict: sync writes fail with 503 mirror_unavailable; nothing is acknowledged without the mirror', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror'], env: { MIRROR_POLICY: 'strict', SYNC_TIMEOUT_MS: '600' } }));
    await synchronized(c);
    const writers = load(c.url('primary'), 400, 4);
    await waitFor(() => writers.results.length >= 40, { what: '40 writes before the kill' });
    await c.kill('mirror');
    const refused = await putJson(`${c.url('primary')}/kv/after-kill`, 1);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('mirror_unavailable');
    writers.stop();
    await writers.done;
    expect(writers.results.every((r) => r.status === 503 || (r.status === 200 && r.body.ackedBy.includes('mirror')))).toBe(true);
    const local = await putJson(`${c.url('primary')}/kv/local-still-ok?ack=local`, 1);
    expect(local.status).toBe(200);
  });

  it('degrade: the primary goes on alone, and the restarted mirror returns to synchronized with an equal digest', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror'], env: { SYNC_TIMEOUT_MS: '600' } }));
    await synchronized(c);
    const writers = load(c.url('primary'), 300, 4);
    await waitFor(() => writers.results.length >= 40, { what: '40 writes before the kill' });
    await c.kill('mirror');
    const alone = await putJson(`${c.url('primary')}/kv/alone`, 1);
    expect(alone.status).toBe(200);
    expect(alone.body.degraded).toBe(true);
    expect(alone.body.ackedBy).toEqual(['primary']);
    const status = (await getJson(`${c.url('primary')}/status`)).body;
    expect(['suspended', 'disconnected']).toContain(status.mirror.state);

    await c.start('mirror');
    writers.stop();
    await writers.done;
    expect(writers.results.every((r) => r.status === 200)).toBe(true);
    const p = await synchronized(c);
    const m = await waitFor(async () => {
      const s = (await getJson(`${c.url('mirror')}/status`)).body;
      return s.appliedLsn === p.appliedLsn ? s : null;
    }, { what: 'the mirror to reach the primary LSN' });
    expect(m.digest).toBe(p.digest);
    const after = await putJson(`${c.url('primary')}/kv/together-again`, 1);
    expect(after.body).toMatchObject({ degraded: false });
    expect(after.body.ackedBy).toContain('mirror');
  });
});
