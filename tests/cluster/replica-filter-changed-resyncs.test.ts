// Goal: a replica that starts again with another REPLICA_FILTER holds exactly what the new filter
// keeps, not what the old one left behind. replica-3 joins unfiltered and holds every key; started
// again with a filter it asks for a full resync and keeps only the keys under the prefix (the
// others are gone, not stale); started again without one it holds everything again. The settings go
// through the process manager's shell settings, as `REPLICA_3_FILTER=… npm run node -- start
// replica-3` sends them (ClusterProcesses.configure), and /cluster/verify matches the copy each time.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launcherTopology } from '../../shared/topology.ts';
import { getJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { settled, statusOf } from '../helpers/faults.ts';

let c: TestCluster;
const KEYS_PER_PREFIX = 15;

beforeAll(async () => {
  c = await startCluster({ topology: launcherTopology, env: { FSYNC: 'off' } });
  await settled(c);
  for (const prefix of ['eu/', 'us/']) {
    for (let i = 0; i < KEYS_PER_PREFIX; i++) expect((await putJson(`${c.url('primary')}/kv/${prefix}${i}`, i)).status).toBe(200);
  }
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') c.dumpLogs();
});

afterAll(async () => {
  await c?.close();
});

// Waits until replica-3 runs with `filter`, has caught up with the primary, matches in
// /cluster/verify and holds `keys` keys in all (a copy that kept the old filter's keys never does).
async function holds(filter: string, keys: number): Promise<void> {
  const primaryLsn = (await statusOf(c, 'primary')).lsn;
  let count: number | null = null;
  await waitFor(async () => {
    const status = await statusOf(c, 'replica-3').catch(() => null);
    if (!status || status.filter !== filter || status.appliedLsn < primaryLsn) return null;
    const verify = (await getJson(`${c.url('control')}/cluster/verify`)).body;
    if (verify.copies?.['replica-3']?.match !== true) return null;
    count = (await getJson(`${c.url('replica-3')}/stats?prefix=`)).body.count;
    return count === keys ? true : null;
  }, { what: `replica-3 with filter "${filter}" caught up, matching in /cluster/verify, holding ${keys} keys (last count: ${count})`, timeoutMs: 20_000 });
}

const resyncsForFilter = () => c.logs('replica-3').filter((l) => l.includes('REPLICA_FILTER changed')).length;

describe('a replica started again with another filter', () => {
  it('holds every key unfiltered, only the prefix once filtered, and everything again after', async () => {
    await c.start('replica-3');
    await holds('', 2 * KEYS_PER_PREFIX);
    expect(resyncsForFilter()).toBe(0);

    await c.stop('replica-3');
    c.processes.configure('replica-3', { REPLICA_FILTER: 'eu/' });
    await c.start('replica-3');
    await holds('eu/', KEYS_PER_PREFIX);
    expect((await getJson(`${c.url('replica-3')}/kv/us/0`)).status).toBe(404);
    expect((await getJson(`${c.url('replica-3')}/kv/eu/0`)).body.value).toBe(0);
    expect(resyncsForFilter()).toBe(1);

    // A restart with the same filter needs no full resync: the filter is recorded with the data.
    await c.stop('replica-3');
    await c.start('replica-3');
    await holds('eu/', KEYS_PER_PREFIX);
    expect(resyncsForFilter()).toBe(1);

    await c.stop('replica-3');
    c.processes.configure('replica-3', { REPLICA_FILTER: '' });
    await c.start('replica-3');
    await holds('', 2 * KEYS_PER_PREFIX);
    expect((await getJson(`${c.url('replica-3')}/kv/us/0`)).body.value).toBe(0);
    expect(resyncsForFilter()).toBe(2);
  });

  it('refuses a setting the service does not take from the shell', () => {
    expect(() => c.processes.configure('replica-3', { ROLE: 'mirror' })).toThrow(/takes no ROLE/);
    expect(() => c.processes.configure('replica-1', { REPLICA_FILTER: 'x/' })).toThrow(/takes no REPLICA_FILTER/);
  });
});
