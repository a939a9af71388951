// Goal (SPEC §6.7): a kill -9 at any step of a durable change loses no acknowledged write and no
// rolled-back entry, and the node comes back by itself. Each scenario arms one named crash point
// (shared/crash-points.ts) on one node, drives ack=sync writes (and a failover or a rollback where
// the point needs one) until that node kills itself there, starts it again, and checks: every
// acknowledged write is readable on the current primary, rolled-back entries are in the node's
// rollback files, the node is back in its role or rejoined, the mirror is synchronized and the
// digests of every copy match (GET /cluster/verify).
//
// `npm test` runs the scenarios marked `fast`; `npm run test:crash` runs the whole matrix.
// Every node snapshots every 100 entries in 4 KiB log segments, so snapshots, compactions and
// multi-segment truncations happen in every scenario, not only where a point is armed.

import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrashPointName } from '../../shared/crash-points.ts';
import { deleteJson, getJson, postJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { settled, statusOf } from '../helpers/faults.ts';
import { type AckedWrite, startWrites, type Workload } from '../helpers/workload.ts';

type Flow =
  // Writes until the node dies where it is armed; a dead primary fails over to the mirror.
  | 'writes'
  // Writes, then a kill -9 of the primary: the mirror's promotion (or the old primary's rejoin,
  // when it is the one armed) is the role change that crashes.
  | 'failover'
  // A forced failover onto a lagging replica: the armed node rolls back what it alone held.
  | 'forced'
  // The armed node starts empty after writes: its full resync (a snapshot) is what crashes.
  | 'late-start'
  // Control is restarted with the point armed once the cluster is settled, then the primary is
  // killed: the witness's grant of the failover is the first record it saves.
  | 'witness';

interface Scenario {
  point: CrashPointName;
  target: 'primary' | 'mirror' | 'replica-1' | 'control';
  flow: Flow;
  skip?: number;
  from?: 'boot' | 'running';
  fast?: boolean;
  // Environment for every node, over the defaults below.
  env?: Record<string, string>;
}

// Snapshots rare enough that a forced failover's rollback point is above the snapshot, so the
// rollback cuts the log (rather than keeping what the state shows, then a full resync).
const NO_SNAPSHOTS = { SNAPSHOT_EVERY_ENTRIES: '1000000' };

const SCENARIOS: Scenario[] = [
  ...(['log.before-write', 'log.after-write', 'log.after-sync'] as const).flatMap((point) => [
    { point, target: 'primary' as const, flow: 'writes' as const, skip: 30, fast: point === 'log.after-sync' },
    { point, target: 'mirror' as const, flow: 'writes' as const, skip: 30 },
  ]),
  { point: 'log.segment-created', target: 'primary', flow: 'writes', skip: 2 },
  { point: 'log.segment-created', target: 'mirror', flow: 'writes', skip: 2 },
  ...(['snapshot.tmp-written', 'snapshot.renamed', 'compaction.before-delete', 'compaction.mid-delete'] as const).flatMap((point) => [
    { point, target: 'primary' as const, flow: 'writes' as const, skip: 1 },
    { point, target: 'mirror' as const, flow: 'writes' as const, skip: 1, fast: point === 'compaction.mid-delete' },
  ]),
  { point: 'reset.segments-deleted', target: 'replica-1', flow: 'late-start', from: 'boot', fast: true },
  { point: 'reset.segments-deleted', target: 'mirror', flow: 'late-start', from: 'boot' },
  // With snapshots every 100 entries the rollback point lies below the snapshot: the rollback
  // keeps what the state shows (a partial file), then a full resync.
  { point: 'rollback.file-written', target: 'mirror', flow: 'forced', fast: true },
  { point: 'rollback.file-written', target: 'mirror', flow: 'forced', env: NO_SNAPSHOTS },
  { point: 'rollback.file-written', target: 'primary', flow: 'forced', env: NO_SNAPSHOTS },
  { point: 'rollback.mid-truncate', target: 'mirror', flow: 'forced', env: NO_SNAPSHOTS },
  { point: 'rollback.truncated', target: 'mirror', flow: 'forced', env: NO_SNAPSHOTS },
  { point: 'rollback.truncated', target: 'primary', flow: 'forced', env: NO_SNAPSHOTS },
  // The mirror's first state write after it listens: following the primary that reached it.
  { point: 'state-file.tmp-written', target: 'mirror', flow: 'writes' },
  { point: 'state-file.renamed', target: 'mirror', flow: 'writes' },
  { point: 'state-file.tmp-written', target: 'replica-1', flow: 'writes', from: 'boot' },
  { point: 'state-file.renamed', target: 'primary', flow: 'writes', from: 'boot' },
  { point: 'role.persisted', target: 'mirror', flow: 'failover', fast: true },
  // The old primary restarts and steps down before it listens: count from boot, past the boot's own write.
  { point: 'role.persisted', target: 'primary', flow: 'failover', from: 'boot', skip: 1 },
  { point: 'witness-state.tmp-written', target: 'control', flow: 'witness' },
  { point: 'witness-state.renamed', target: 'control', flow: 'witness' },
];

const selected = process.env.MIRRORLAB_CRASH_MATRIX === 'all' ? SCENARIOS : SCENARIOS.filter((s) => s.fast);
const SETTLE_MS = 30_000;

let cluster: TestCluster | undefined;
let load: Workload | undefined;

afterEach(async (context) => {
  await load?.stop();
  load = undefined;
  if (context.task.result?.state === 'fail') cluster?.dumpLogs();
  await cluster?.close();
  cluster = undefined;
});

describe('a kill -9 at every durable step', () => {
  for (const scenario of selected) {
    const name = `${scenario.point} on ${scenario.target} (${scenario.flow}${scenario.from === 'boot' ? ', from boot' : ''}${scenario.env ? ', snapshots off' : ''})`;
    it(name, async () => {
      const c = (cluster = await startScenarioCluster(scenario));
      await runFlow(c, scenario);
    }, 150_000);
  }
});

async function startScenarioCluster(s: Scenario): Promise<TestCluster> {
  // A node armed from boot (dying while it starts), or starting late, starts once the others run.
  const apart = startsApart(s);
  const services = ['control', 'primary', 'mirror', 'replica-1'].filter((id) => !apart || id !== s.target);
  const arming = { MIRRORLAB_CRASH_POINT: s.point, MIRRORLAB_CRASH_SKIP: String(s.skip ?? 0), MIRRORLAB_CRASH_FROM: s.from ?? 'running' };
  return startCluster({
    services,
    env: { SNAPSHOT_EVERY_ENTRIES: '100', LOG_SEGMENT_BYTES: '4096', ...s.env },
    serviceEnv: s.flow === 'witness' ? {} : { [s.target]: arming },
  }).then((c) => {
    if (s.flow === 'witness') c.processes.setServiceEnv(s.target, arming);
    return c;
  });
}

function startsApart(s: Scenario): boolean {
  return s.flow === 'late-start' || (s.flow === 'writes' && s.from === 'boot');
}

async function runFlow(c: TestCluster, s: Scenario): Promise<void> {
  if (startsApart(s)) return bootFlow(c, s);
  if (s.flow === 'forced') return forcedFlow(c, s);
  if (s.flow === 'witness') return witnessFlow(c, s);
  // Not settled first: a point may be reached while the cluster forms (the mirror's first state
  // write). The writers retry until a primary takes them.
  const workload = (load = writes(c, 'w'));
  if (s.flow === 'failover') {
    await settled(c, ['replica-1']);
    await waitFor(() => workload.acked.length >= 50, { what: '50 acknowledged writes' });
    await c.kill('primary');
    if (s.target === 'primary') {
      await waitForPrimary(c, 'mirror');
      await c.processes.start('primary');
    }
  }
  await crashed(c, s);
  if (s.target === 'primary' && s.flow === 'writes') await waitForPrimary(c, 'mirror');
  await c.start(s.target);
  if (s.flow === 'failover' && s.target === 'mirror') await c.start('primary');
  await moreWrites(workload, 20);
  await workload.stop();
  await checkConverged(c, s, workload.acked);
}

// The armed node dies while it starts (its first state file, or the snapshot it resyncs from when
// it starts empty after writes), and comes back.
async function bootFlow(c: TestCluster, s: Scenario): Promise<void> {
  const early = s.flow === 'late-start' ? 300 : 0;
  if (s.target !== 'primary') {
    for (let i = 0; i < early; i++) expect((await putJson(`${c.url('primary')}/kv/early/${i}?ack=local`, i)).status).toBe(200);
  }
  await c.processes.start(s.target);
  await crashed(c, s);
  await c.start(s.target);
  await settled(c, ['replica-1']);
  const workload = (load = writes(c, 'w'));
  await moreWrites(workload, 50);
  await workload.stop();
  await checkConverged(c, s, workload.acked);
  if (early > 0) expect((await keysOn(c, 'primary', 'early/')).size).toBe(early);
}

function writes(c: TestCluster, prefix: string): Workload {
  return startWrites({ urls: () => ['primary', 'mirror', 'replica-1'].filter((id) => c.isRunning(id)).map((id) => c.url(id)), prefix, ack: 'sync', concurrency: 4, countMax: 5000 });
}

// Waits until `count` more writes are acknowledged than now: the cluster takes writes again.
async function moreWrites(workload: Workload, count: number): Promise<void> {
  const mark = workload.acked.length;
  await waitFor(() => workload.acked.length >= mark + count, { what: `${count} more acknowledged writes`, timeoutMs: SETTLE_MS });
}

// The armed node killed itself at its point: it is down and left its marker.
async function crashed(c: TestCluster, s: Scenario): Promise<void> {
  await waitFor(() => !c.isRunning(s.target) && existsSync(path.join(c.dataRoot, s.target, 'crash-point-fired')), {
    what: `${s.target} to reach ${s.point} and die there`,
    timeoutMs: 60_000,
    intervalMs: 100,
  });
}

async function currentPrimary(c: TestCluster): Promise<string> {
  return (await getJson(`${c.url('control')}/cluster`)).body.primary;
}

async function waitForPrimary(c: TestCluster, id: string): Promise<void> {
  await waitFor(async () => (await currentPrimary(c)) === id, { what: `${id} to be the primary`, timeoutMs: SETTLE_MS });
}

// The cluster at rest after the crash: one primary with a synchronized mirror, every running copy
// caught up, digests equal, and every acknowledged write readable on the primary.
async function checkConverged(c: TestCluster, s: Scenario, acked: readonly AckedWrite[]): Promise<void> {
  const primary = await waitFor(async () => {
    const id = await currentPrimary(c);
    const status = id ? await statusOf(c, id) : null;
    if (status?.mirror?.state !== 'synchronized') return null;
    for (const copy of ['primary', 'mirror', 'replica-1'].filter((x) => x !== id && c.isRunning(x))) {
      if ((await statusOf(c, copy)).appliedLsn < status.appliedLsn) return null;
    }
    return id;
  }, { what: 'a primary with a synchronized mirror and caught-up copies', timeoutMs: SETTLE_MS, intervalMs: 200 });
  const running = ['primary', 'mirror', 'replica-1'].filter((id) => id !== primary && c.isRunning(id)).sort();
  await waitFor(async () => {
    const answer = (await getJson(`${c.url('control')}/cluster/verify`)).body;
    return answer.match === true && Object.keys(answer.copies ?? {}).sort().join() === running.join() ? answer : null;
  }, { what: `GET /cluster/verify to match on ${running.join(', ')}`, timeoutMs: SETTLE_MS, intervalMs: 500 });
  const held = await keysOn(c, primary, '');
  const missing = acked.filter((w) => !held.has(w.key)).map((w) => `${w.key} (LSN ${w.lsn}, epoch ${w.epoch})`);
  expect(missing, `acknowledged writes missing on ${primary}`).toEqual([]);
  expect(c.logs(s.target).some((l) => l.includes('the state no longer follows the log'))).toBe(false);
}

// Every key on `id` under `prefix`, page by page.
async function keysOn(c: TestCluster, id: string, prefix: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let after = '';
  for (let page = 0; page < 100; page++) {
    const answer = (await getJson(`${c.url(id)}/kv?prefix=${encodeURIComponent(prefix)}&limit=1000&after=${encodeURIComponent(after)}`)).body;
    for (const item of answer.items) keys.add(item.key);
    if (!answer.truncated) return keys;
    after = answer.items.at(-1).key;
  }
  throw new Error(`more than 100 pages of keys on ${id}`);
}

async function forcedFlow(c: TestCluster, s: Scenario): Promise<void> {
  await settled(c, ['replica-1']);
  for (let i = 0; i < 50; i++) expect((await putJson(`${c.url('primary')}/kv/before/${i}`, i)).status).toBe(200);
  await settled(c, ['replica-1']);
  // replica-1 falls behind while the primary and the mirror take 150 more acknowledged writes,
  // several 4 KiB segments of them: the armed node will have to roll them back.
  const cut = await postJson(`${c.url('control')}/faults/partition`, { from: 'primary', to: 'replica-1', bidirectional: true });
  expect(cut.status).toBe(201);
  const doomed: number[] = [];
  for (let i = 0; i < 150; i++) {
    const write = await putJson(`${c.url('primary')}/kv/only-old/${i}`, i);
    expect(write.status).toBe(200);
    doomed.push(write.body.lsn);
  }
  const forced = await postJson(`${c.url('control')}/cluster/failover`, { to: 'replica-1', force: true });
  expect(forced.status).toBe(200);
  expect((await deleteJson(`${c.url('control')}/faults`)).status).toBe(200);
  await crashed(c, s);
  await c.start(s.target);
  const workload = (load = writes(c, 'after'));
  await moreWrites(workload, 20);
  await workload.stop();
  const rolledBack = await rolledBackLsns(c, s.target);
  expect(doomed.filter((lsn) => !rolledBack.has(lsn)), `LSNs ${s.target} held that are in none of its rollback files`).toEqual([]);
  await checkConverged(c, s, workload.acked);
  const before = await keysOn(c, 'replica-1', 'before/');
  expect(before.size).toBe(50);
}

// Every LSN in the node's rollback files.
async function rolledBackLsns(c: TestCluster, id: string): Promise<Set<number>> {
  const dir = path.join(c.dataRoot, id, 'rollback');
  const lsns = new Set<number>();
  for (const name of await readdir(dir).catch(() => [])) {
    if (!name.endsWith('.jsonl')) continue;
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) if (line) lsns.add(JSON.parse(line).lsn);
  }
  return lsns;
}

// Control restarts armed, settled; the primary dies; control dies saving its grant and comes back.
// Whether the grant was durable or not, the cluster ends with one primary at one new epoch.
async function witnessFlow(c: TestCluster, s: Scenario): Promise<void> {
  await settled(c, ['replica-1']);
  const workload = (load = writes(c, 'w'));
  await waitFor(() => workload.acked.length >= 50, { what: '50 acknowledged writes' });
  await c.stop('control');
  await c.start('control');
  await settled(c, ['replica-1']);
  await c.kill('primary');
  await crashed(c, s);
  await c.start('control');
  await waitForPrimary(c, 'mirror');
  await c.start('primary');
  await moreWrites(workload, 20);
  await workload.stop();
  await checkConverged(c, s, workload.acked);
}
