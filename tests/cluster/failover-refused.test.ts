// Goal: automatic failover needs both a reachable witness and a synchronized mirror. With control
// down, or with the mirror in async mode (never synchronized), killing the primary promotes
// nobody; the mirror says why. A forced failover still works.

import { afterEach, describe, expect, it } from 'vitest';
import { getJson, postJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';

let cluster: TestCluster | undefined;

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') cluster?.dumpLogs();
  await cluster?.close();
  cluster = undefined;
});

const refusal = (c: TestCluster, text: string) => () => c.logs('mirror').some((line) => line.includes('no automatic failover') && line.includes(text));

describe('no automatic failover', () => {
  it('when control (the witness) is down', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror'] }));
    await waitFor(async () => (await getJson(`${c.url('primary')}/status`)).body.mirror?.state === 'synchronized', { what: 'a synchronized mirror' });
    expect((await putJson(`${c.url('primary')}/kv/a`, 1)).status).toBe(200);
    await c.stop('control');
    await c.kill('primary');
    await waitFor(refusal(c, 'does not answer'), { what: 'the mirror to say the witness does not answer', timeoutMs: 10_000 });
    expect((await getJson(`${c.url('mirror')}/status`)).body.role).toBe('mirror');
  });

  it('when the mirror is not synchronized (async mode), until a forced failover', async () => {
    const c = (cluster = await startCluster({ services: ['control', 'primary', 'mirror'], env: { MIRROR_MODE: 'async' } }));
    await waitFor(async () => (await getJson(`${c.url('primary')}/status`)).body.mirror?.state === 'synchronizing', { what: 'the async mirror connected' });
    const write = await putJson(`${c.url('primary')}/kv/b`, 1);
    expect(write.status).toBe(200);
    await waitFor(async () => (await getJson(`${c.url('mirror')}/status`)).body.lsn >= write.body.lsn, { what: 'the mirror to have the write' });
    await c.kill('primary');
    await waitFor(refusal(c, 'not synchronized'), { what: 'the mirror to refuse to ask', timeoutMs: 10_000 });
    expect((await getJson(`${c.url('mirror')}/status`)).body.role).toBe('mirror');

    const forced = await postJson(`${c.url('control')}/cluster/failover`, { to: 'mirror', force: true });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ forced: true, to: 'mirror', epoch: 2 });
    await waitFor(async () => (await getJson(`${c.url('mirror')}/status`)).body.role === 'primary', { what: 'the forced failover' });
  });
});
