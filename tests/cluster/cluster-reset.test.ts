// Goal: POST /cluster/reset brings the cluster back to its starting point without touching data —
// `primary` the primary, `mirror` its synchronized sync mirror, replicas async and caught up, no
// fault — after faults and mode changes, after an automatic failover, after a forced failover to
// a replica; with `primary` down it answers 409 reset_incomplete with the exact command to start
// it, and after that start it finishes. A reset of a reset cluster is a quick 200. Every write
// acknowledged before a reset is still readable after it. One cluster for the whole file: each
// test starts from where the previous reset left it, which is the point of a reset.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/lib/cluster-processes.ts';
import { getJson, postJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { addFault, settled, statusOf } from '../helpers/faults.ts';

let c: TestCluster;
// Every acknowledged write of the file: key -> value.
const written = new Map<string, number>();

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

// Writes `count` keys through whichever node `via` names (following its 307 to the primary). A
// node that just became primary may redirect for a moment more, so each write has a deadline.
async function write(prefix: string, count: number, via = 'primary'): Promise<void> {
  for (let i = 0; i < count; i++) {
    const key = `${prefix}/${i}`;
    await waitFor(async () => {
      let answer = await putJson(`${c.url(via)}/kv/${key}`, i);
      if (answer.status === 307) answer = await putJson(String(answer.headers.location), i);
      return answer.status === 200 ? answer : null;
    }, { what: `the write of ${key} to be acknowledged`, timeoutMs: 10_000 });
    written.set(key, i);
  }
}

async function reset(body?: unknown) {
  return postJson(`${c.url('control')}/cluster/reset`, body, { timeoutMs: 90_000 });
}

// The starting point, and every write so far readable on the primary.
async function expectStartingPoint(): Promise<void> {
  const primary = await statusOf(c, 'primary');
  expect(primary.role).toBe('primary');
  expect(primary.mirror).toMatchObject({ id: 'mirror', mode: 'sync', state: 'synchronized' });
  expect(primary.replicas.map((r: { mode: string }) => r.mode)).toEqual(['async', 'async']);
  expect((await statusOf(c, 'mirror')).role).toBe('mirror');
  for (const id of ['replica-1', 'replica-2']) {
    const replica = await statusOf(c, id);
    expect(replica).toMatchObject({ role: 'replica', primary: 'primary', connected: true });
    expect(replica.appliedLsn, id).toBeGreaterThanOrEqual(primary.appliedLsn);
  }
  expect((await getJson(`${c.url('control')}/faults`)).body.count).toBe(0);
  expect((await getJson(`${c.url('control')}/cluster`)).body.primary).toBe('primary');
  for (const [key, value] of written) {
    const read = await getJson(`${c.url('primary')}/kv/${key}`);
    expect(read.status, key).toBe(200);
    expect(read.body.value, key).toBe(value);
  }
}

const stepsOf = (body: { steps: Array<{ step: string }> }) => body.steps.map((s) => s.step);

describe('POST /cluster/reset', () => {
  it('refuses a body it cannot use with 400 and the valid values', async () => {
    const bad = await reset({ nodeCmd: 'kubectl' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('bad_reset');
    expect(bad.body.valid.nodeCmd).toEqual(['npm run node --', 'docker compose', 'deploy/swarm/node.sh']);
  });

  it('heals faults and restores copy modes; a second reset is a quick no-op', async () => {
    await write('a', 10);
    await addFault(c, 'latency', { from: 'primary', to: 'mirror', ms: 50 });
    await addFault(c, 'partition', { from: 'primary', to: 'replica-2', bidirectional: true });
    const modes = await putJsonOk(`${c.url('control')}/cluster/modes`, { mirror: 'async', 'replica-1': 'sync' });
    expect(modes.modes).toMatchObject({ mirror: 'async', 'replica-1': 'sync' });
    await write('a2', 5);

    const answer = await reset();
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(stepsOf(answer.body)).toEqual(expect.arrayContaining(['heal-faults', 'copy-modes', 'steady']));
    expect(answer.body).toMatchObject({ reset: 'done', primary: 'primary', mirror: 'mirror' });
    await expectStartingPoint();

    const again = await reset();
    expect(again.status).toBe(200);
    expect(stepsOf(again.body)).toEqual(['steady']);
    expect(again.body.tookMs).toBeLessThan(3000);

    const history = (await getJson(`${c.url('control')}/events/history?limit=1000`)).body.events as Array<{ type: string; ok?: boolean }>;
    expect(history.filter((e) => e.type === 'reset-started').length).toBeGreaterThanOrEqual(2);
    expect(history.filter((e) => e.type === 'reset-finished').at(-1)?.ok).toBe(true);
  }, 120_000);

  it('after an automatic failover: the primary role goes back by planned failover', async () => {
    await write('b', 10);
    await c.kill('primary');
    await waitFor(async () => (await statusOf(c, 'mirror')).role === 'primary', { what: 'the mirror to be promoted', timeoutMs: 20_000 });
    await write('b-after', 10, 'mirror');
    await c.start('primary');

    const answer = await reset();
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(stepsOf(answer.body)).toContain('planned-failover');
    await expectStartingPoint();
  }, 120_000);

  it('after a forced failover to replica-1: the slot moves to primary, then roles go back', async () => {
    await write('c', 10);
    await settled(c);
    const forced = await postJson(`${c.url('control')}/cluster/failover`, { to: 'replica-1', force: true });
    expect(forced.status, JSON.stringify(forced.body)).toBe(200);
    await waitFor(async () => (await getJson(`${c.url('replica-1')}/status`)).body.role === 'primary', { what: 'replica-1 to be primary' });
    await write('c-after', 10, 'replica-1');

    const answer = await reset();
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(stepsOf(answer.body)).toEqual(expect.arrayContaining(['move-mirror-slot', 'planned-failover']));
    await expectStartingPoint();
  }, 120_000);

  it('with primary down: 409 reset_incomplete with the command to start it; after the start, 200', async () => {
    await write('d', 5);
    await c.stop('primary');
    await waitFor(async () => (await statusOf(c, 'mirror')).role === 'primary', { what: 'the mirror to be promoted', timeoutMs: 20_000 });

    const incomplete = await reset();
    expect(incomplete.status).toBe(409);
    expect(incomplete.body.error).toBe('reset_incomplete');
    expect(incomplete.body.todo).toContainEqual({ what: expect.stringContaining('primary'), command: 'npm run node -- start primary' });
    const composed = await reset({ nodeCmd: 'docker compose' });
    expect(composed.status).toBe(409);
    expect(composed.body.todo).toContainEqual({ what: expect.stringContaining('primary'), command: 'docker compose start primary' });
    // `npm run reset` prints the todo with its command and exits 1.
    const script = await runResetScript();
    expect(script.code).toBe(1);
    expect(script.stdout).toContain('$ npm run node -- start primary');

    await c.start('primary');
    const answer = await reset();
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    await expectStartingPoint();
  }, 120_000);

  it('right after a node is started (still booting): waits for it instead of listing it', async () => {
    await c.kill('replica-2');
    // As a participant types it: start, then reset at once, before the node answers.
    await c.processes.start('replica-2');
    const answer = await reset();
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    await expectStartingPoint();
  }, 120_000);
});

async function putJsonOk(url: string, body: unknown): Promise<any> {
  const answer = await putJson(url, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

// scripts/reset.ts as `npm run reset` runs it, against this cluster's control.
async function runResetScript(): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/reset.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, CONTROL_URL: c.url('control'), NODE_CMD: '' },
      timeout: 90_000,
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
  }
}
