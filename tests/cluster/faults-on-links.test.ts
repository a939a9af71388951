// Goal: every fault type acts on real sockets, on HTTP (the primary's shipping to the mirror) and
// on WebSocket connections already open (the replication streams): latency adds about its value
// one way, a partition stops a replica and healing lets it catch up, loss at rate 1 behaves as a
// partition and at 0.5 still lets a replica progress (a lost message stalls its socket; the
// replica reconnects and resumes), reject fails fast while drop waits for the sender's timeout.
// One cluster (MIRROR_POLICY=strict, SYNC_TIMEOUT_MS=1200, FSYNC=off); every test heals and waits
// for the cluster at rest.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { addFault, healAll, median, settled, statusOf, timedPut } from '../helpers/faults.ts';

let c: TestCluster;

beforeAll(async () => {
  // FSYNC=off: the primary's own fsync overlaps shipping, so a slow disk would hide part of a
  // latency rule; without it a sync write's time is the link's.
  c = await startCluster({ env: { MIRROR_POLICY: 'strict', SYNC_TIMEOUT_MS: '1200', FSYNC: 'off' } });
});

beforeEach(async () => {
  await settled(c);
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') c.dumpLogs();
  await healAll(c);
});

afterAll(async () => {
  await c?.close();
});

async function writes(count: number, prefix: string): Promise<number> {
  let lsn = 0;
  for (let i = 0; i < count; i++) {
    const response = await putJson(`${c.url('primary')}/kv/${prefix}/${i}?ack=local`, i);
    expect(response.status).toBe(200);
    lsn = response.body.lsn;
  }
  return lsn;
}

async function appliedAtLeast(id: string, lsn: number, timeoutMs = 15_000) {
  return waitFor(async () => {
    const s = await statusOf(c, id);
    return s.appliedLsn >= lsn ? s : null;
  }, { what: `${id} to apply LSN ${lsn}`, timeoutMs, intervalMs: 50 });
}

describe('latency', () => {
  it('200 ms primary->mirror adds about 200 ms to a sync write (HTTP) and nothing to an ack=local write', async () => {
    // Warm up first: the first writes after boot pay for JIT and fresh connections.
    for (let i = 0; i < 10; i++) await timedPut(c, `lat/warm/${i}`);
    const base: number[] = [];
    for (let i = 0; i < 7; i++) base.push((await timedPut(c, `lat/base/${i}`)).ms);
    const rule = await addFault(c, 'latency', { from: 'primary', to: 'mirror', ms: 200 });
    expect(rule).toMatchObject({ kind: 'latency', description: '200 ms from primary to mirror' });
    expect(rule.appliedOn).toEqual(expect.arrayContaining(['primary', 'mirror', 'replica-1', 'replica-2']));
    const slow: number[] = [];
    const local: number[] = [];
    for (let i = 0; i < 7; i++) {
      const sync = await timedPut(c, `lat/sync/${i}`);
      expect(sync.status).toBe(200);
      expect(sync.body.ackedBy).toContain('mirror');
      slow.push(sync.ms);
      local.push((await timedPut(c, `lat/local/${i}`, 'local')).ms);
    }
    // The fastest of each series: noise on a busy machine only ever adds time.
    const added = Math.min(...slow) - Math.min(...base);
    expect(added).toBeGreaterThanOrEqual(180);
    expect(added).toBeLessThanOrEqual(300);
    expect(median(local)).toBeLessThan(100);
  });

  it('300 ms primary->replica-1 delays what the open replication WebSocket delivers', async () => {
    const readBack = async (key: string) => {
      const put = await putJson(`${c.url('primary')}/kv/${key}?ack=local`, 1);
      const started = performance.now();
      const read = await getJson(`${c.url('replica-1')}/kv/${key}?minLsn=${put.body.lsn}&waitMs=5000`);
      expect(read.status).toBe(200);
      return performance.now() - started;
    };
    const base = Math.min(await readBack('wslat/a'), await readBack('wslat/b'), await readBack('wslat/c'));
    await addFault(c, 'latency', { from: 'primary', to: 'replica-1', ms: 300, jitterMs: 20 });
    const delayed = Math.min(await readBack('wslat/d'), await readBack('wslat/e'), await readBack('wslat/f'));
    expect(delayed - base).toBeGreaterThanOrEqual(250);
    expect(delayed - base).toBeLessThan(700);
  });
});

describe('partition', () => {
  it('a partitioned replica stops receiving on its open WebSocket and catches up after healing', async () => {
    const before = (await statusOf(c, 'replica-1')).appliedLsn;
    await addFault(c, 'partition', { groups: [['replica-1'], ['primary', 'mirror', 'replica-2', 'control']] });
    const lsn = await writes(10, 'part');
    await appliedAtLeast('replica-2', lsn);
    const cut = await statusOf(c, 'replica-1');
    expect(cut.appliedLsn).toBeLessThan(lsn);
    expect(cut.appliedLsn).toBeGreaterThanOrEqual(before);
    expect(cut.faults.map((f: any) => f.kind)).toEqual(['partition']);

    await healAll(c);
    const healed = await appliedAtLeast('replica-1', lsn, 20_000);
    const primary = await statusOf(c, 'primary');
    if (primary.appliedLsn === healed.appliedLsn) expect(healed.digest).toBe(primary.digest);
  });

  it('reject fails fast, drop waits for the sender\'s timeout (the shipper notices the cut mirror)', async () => {
    // Measured on the primary's own clock: from the rule's creation on control (same host) to the
    // primary's mirror-state event, so the test's polling adds nothing to the numbers.
    const timeToDisconnect = async (mode: 'reject' | 'drop') => {
      const rule = await addFault(c, 'partition', { groups: [['primary'], ['mirror']], mode });
      // A write gives the shipper something to send at once.
      await putJson(`${c.url('primary')}/kv/cut/${mode}?ack=local`, 1);
      const event = await waitFor(async () => {
        const history = (await getJson(`${c.url('control')}/events/history`)).body.events as any[];
        return history.find((e) => e.type === 'mirror-state' && e.nodeId === 'primary' && e.to === 'disconnected' && Date.parse(e.nodeAt) >= Date.parse(rule.createdAt));
      }, { what: `the primary's mirror-state event under ${mode}`, timeoutMs: 10_000, intervalMs: 100 });
      return Date.parse(event.nodeAt) - Date.parse(rule.createdAt);
    };
    const rejectMs = await timeToDisconnect('reject');
    await healAll(c);
    await settled(c);
    const dropMs = await timeToDisconnect('drop');
    expect(rejectMs).toBeLessThan(700);
    // SYNC_TIMEOUT_MS bounds every request to the mirror; drop lets it run out.
    expect(dropMs).toBeGreaterThanOrEqual(1000);
    expect(dropMs).toBeLessThan(6000);
  });
});

describe('loss', () => {
  it('rate 1 behaves as a partition of the open WebSocket; the replica catches up after healing', async () => {
    await addFault(c, 'loss', { from: 'primary', to: 'replica-2', rate: 1 });
    const lsn = await writes(10, 'loss1');
    await appliedAtLeast('replica-1', lsn);
    expect((await statusOf(c, 'replica-2')).appliedLsn).toBeLessThan(lsn);
    await healAll(c);
    await appliedAtLeast('replica-2', lsn, 20_000);
  });

  it('rate 0.5 still lets a replica progress: each new stream carries some messages before one is lost', async () => {
    const rule = await addFault(c, 'loss', { from: 'primary', to: 'replica-1', rate: 0.5 });
    expect(rule.description).toBe('50% loss from primary to replica-1');
    const lsn = await writes(20, 'loss05');
    // Each reconnect delivers its first two messages (hello_ok, then the missing entries in one
    // batch) with probability 1/4; a cycle takes about a second, so 40 s leaves a wide margin.
    const replica = await appliedAtLeast('replica-1', lsn, 40_000);
    await healAll(c);
    const primary = await settled(c);
    const after = await statusOf(c, 'replica-1');
    if (after.appliedLsn === primary.appliedLsn) expect(after.digest).toBe(primary.digest);
    expect(replica.appliedLsn).toBeGreaterThanOrEqual(lsn);
  });

  it('rate 1 on HTTP: the shipping requests never arrive, the mirror drops out, and returns when healed', async () => {
    await addFault(c, 'loss', { from: 'primary', to: 'mirror', rate: 1 });
    await putJson(`${c.url('primary')}/kv/httploss?ack=local`, 1);
    await waitFor(async () => (await statusOf(c, 'primary')).mirror.state !== 'synchronized', {
      what: 'the mirror to leave synchronized',
      timeoutMs: 10_000,
    });
    const refused = await putJson(`${c.url('primary')}/kv/httploss/sync`, 1);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('mirror_unavailable');
    await healAll(c);
    await settled(c);
    expect((await timedPut(c, 'httploss/after')).status).toBe(200);
  });
});
