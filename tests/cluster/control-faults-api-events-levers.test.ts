// Goal: control's fault API, event stream and levers keep SPEC §5 on real processes: bad fault
// requests get 400 with the valid values (404 for unknown ids) and the cluster keeps working;
// rules carry ids and descriptions and show in /faults, /cluster and the /status of the nodes
// they touch; /events delivers a fault event over WebSocket and SSE; /metrics answers Prometheus
// text on a node and on control; rules outlive a node's restart (control re-sends them, and they
// still act) and a control restart; a paused node stops answering and recovers by itself; a
// crashed node's process is gone.

import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deleteJson, getJson, postJson, putJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { addFault, healAll, settled, statusOf } from '../helpers/faults.ts';

let c: TestCluster;
const NAMES = ['primary', 'mirror', 'replica-1', 'replica-2', 'control'];

beforeAll(async () => {
  c = await startCluster({ env: { FSYNC: 'off' } });
  await settled(c);
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') c.dumpLogs();
  if (c.isRunning('control')) await healAll(c);
});

afterAll(async () => {
  await c?.close();
});

describe('fault API', () => {
  it('refuses bad requests with 400 and the valid values, unknown ids with 404, and the cluster keeps working', async () => {
    const control = c.url('control');
    const badName = await postJson(`${control}/faults/latency`, { from: 'primary', to: 'mars', ms: 100 });
    expect(badName.status).toBe(400);
    expect(badName.body.error).toBe('bad_fault');
    expect(badName.body.valid.names).toEqual(NAMES);
    expect(badName.body.message).toContain('mars');

    const cases: Array<[string, unknown]> = [
      ['latency', { from: 'primary', to: 'mirror', ms: 600_000 }],
      ['latency', { from: 'primary', to: 'primary', ms: 10 }],
      ['latency', { from: 'primary', to: 'mirror', ms: 10, extra: 1 }],
      ['loss', { from: 'primary', to: 'mirror', rate: 1.5 }],
      ['loss', { from: 'primary', to: 'mirror', rate: '0.5' }],
      ['partition', { groups: [['primary']] }],
      ['partition', { isolate: 'primary', mode: 'cut' }],
      ['partition', { isolate: 'primary', groups: [['primary'], ['mirror']] }],
      ['partition', []],
    ];
    for (const [kind, body] of cases) {
      const response = await postJson(`${control}/faults/${kind}`, body);
      expect(response.status, `${kind} ${JSON.stringify(body)}`).toBe(400);
      expect(response.body.error).toBe('bad_fault');
    }

    const unknown = await deleteJson(`${control}/faults/f999`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('fault_not_found');
    expect(unknown.body.valid).toEqual([]);

    const badPause = await postJson(`${control}/nodes/replica-1/pause`, { ms: 0 });
    expect(badPause.status).toBe(400);
    expect(badPause.body.error).toBe('bad_pause');
    const badNode = await postJson(`${control}/nodes/pluto/crash`, {});
    expect(badNode.status).toBe(400);
    expect(badNode.body).toMatchObject({ error: 'unknown_node', valid: ['primary', 'mirror', 'replica-1', 'replica-2'] });

    expect((await getJson(`${control}/faults`)).body.faults).toEqual([]);
    const write = await putJson(`${c.url('primary')}/kv/still-working`, 1);
    expect(write.status).toBe(200);
    expect(write.body.ackedBy).toContain('mirror');
  });

  it('lists rules with id, time and description in /faults, /cluster and the /status of the nodes they touch', async () => {
    const rule = await addFault(c, 'latency', { from: 'primary', to: 'mirror', ms: 20, jitterMs: 5 });
    expect(rule).toMatchObject({ id: expect.stringMatching(/^f\d+$/), kind: 'latency', description: '20±5 ms from primary to mirror' });
    expect(Number.isNaN(Date.parse(rule.createdAt))).toBe(false);
    const listed = (await getJson(`${c.url('control')}/faults`)).body;
    expect(listed.faults.map((f: any) => f.id)).toEqual([rule.id]);
    expect((await getJson(`${c.url('control')}/cluster`)).body.faults.map((f: any) => f.id)).toEqual([rule.id]);
    expect((await statusOf(c, 'primary')).faults.map((f: any) => f.id)).toEqual([rule.id]);
    expect((await statusOf(c, 'mirror')).faults.map((f: any) => f.id)).toEqual([rule.id]);
    expect((await statusOf(c, 'replica-1')).faults).toEqual([]);

    const removed = await deleteJson(`${c.url('control')}/faults/${rule.id}`);
    expect(removed.status).toBe(200);
    expect(removed.body.removed.id).toBe(rule.id);
    expect((await statusOf(c, 'primary')).faults).toEqual([]);
  });
});

describe('events and metrics', () => {
  it('GET /events delivers a fault event over WebSocket and over SSE', async () => {
    const wsUrl = `${c.url('control').replace('http', 'ws')}/events`;
    const socket = new WebSocket(wsUrl);
    const wsEvents: any[] = [];
    socket.on('message', (data) => wsEvents.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });

    const sse = await request(`${c.url('control')}/events?format=sse`, { headersTimeout: 5000 });
    expect(sse.statusCode).toBe(200);
    expect(String(sse.headers['content-type'])).toContain('text/event-stream');
    let sseText = '';
    sse.body.on('data', (chunk: Buffer) => (sseText += chunk.toString('utf8')));

    const rule = await addFault(c, 'loss', { from: 'replica-2', to: 'control', rate: 0.1 });
    const wsEvent = await waitFor(() => wsEvents.find((e) => e.type === 'fault-added' && e.fault.id === rule.id), { what: 'fault-added over WebSocket' });
    expect(wsEvent).toMatchObject({ seq: expect.any(Number), at: expect.any(String), fault: { description: '10% loss from replica-2 to control' } });
    // Live snapshots flow too (not kept in the history).
    await waitFor(() => wsEvents.some((e) => e.type === 'status'), { what: 'a status snapshot event' });
    await waitFor(() => sseText.includes('event: fault-added') && sseText.includes(rule.id), { what: 'fault-added over SSE' });
    socket.close();
    sse.body.destroy();

    const history = (await getJson(`${c.url('control')}/events/history`)).body;
    expect(history.events.some((e: any) => e.type === 'fault-added' && e.fault.id === rule.id)).toBe(true);
    expect(history.events.some((e: any) => e.type === 'status')).toBe(false);
    // Node events (role changes at boot) are collected and re-emitted with the node's id.
    expect(history.events.some((e: any) => e.type === 'role-change' && e.nodeId === 'primary')).toBe(true);
  });

  it('/metrics answers Prometheus text on a node and on control', async () => {
    await putJson(`${c.url('primary')}/kv/metered`, 1);
    const node = await getJson(`${c.url('primary')}/metrics`);
    expect(node.status).toBe(200);
    expect(String(node.headers['content-type'])).toContain('text/plain');
    for (const name of [
      'mirrorlab_write_duration_seconds_bucket{',
      'mirrorlab_replication_lag_seconds{',
      'mirrorlab_shipped_entries_total{',
      'mirrorlab_shipped_bytes_total{',
      'mirrorlab_role{',
      'mirrorlab_epoch{',
      'mirrorlab_faults_active{',
    ]) expect(node.body, name).toContain(name);
    expect(node.body).toMatch(/mirrorlab_shipped_entries_total\{[^}]*copy="mirror"[^}]*\} [1-9]/);
    expect(node.body).toMatch(/mirrorlab_replication_lag_seconds\{[^}]*copy="replica-1"/);

    const control = await getJson(`${c.url('control')}/metrics`);
    expect(control.status).toBe(200);
    for (const name of ['mirrorlab_control_faults_active', 'mirrorlab_control_events_total{', 'mirrorlab_control_nodes_reachable']) {
      expect(control.body, name).toContain(name);
    }
    expect(control.body).toMatch(/mirrorlab_control_nodes_reachable\{[^}]*\} 4/);
  });
});

describe('rules outlive restarts', () => {
  it('a restarted node gets its rules again and they act; a restarted control still has them', async () => {
    const rule = await addFault(c, 'partition', { isolate: 'replica-1', mode: 'drop' });
    await c.kill('replica-1');
    await c.start('replica-1');
    const status = await waitFor(async () => {
      const s = await statusOf(c, 'replica-1');
      return s.faults?.some((f: any) => f.id === rule.id) ? s : null;
    }, { what: 'the restarted replica-1 to list the partition again', timeoutMs: 15_000 });
    const held = status.appliedLsn;
    let lsn = 0;
    for (let i = 0; i < 5; i++) lsn = (await putJson(`${c.url('primary')}/kv/after-restart/${i}?ack=local`, i)).body.lsn;
    await waitFor(async () => (await statusOf(c, 'replica-2')).appliedLsn >= lsn, { what: 'replica-2 to apply the new writes' });
    expect((await statusOf(c, 'replica-1')).appliedLsn).toBeLessThan(lsn);
    expect((await statusOf(c, 'replica-1')).appliedLsn).toBeGreaterThanOrEqual(held);

    await c.stop('control');
    await c.start('control');
    const after = (await getJson(`${c.url('control')}/faults`)).body;
    expect(after.faults.map((f: any) => f.id)).toEqual([rule.id]);
    await healAll(c);
    await waitFor(async () => (await statusOf(c, 'replica-1')).appliedLsn >= lsn, { what: 'replica-1 to catch up once healed', timeoutMs: 20_000 });
  });
});

describe('pause and crash', () => {
  it('a paused node stops answering and recovers by itself', async () => {
    const paused = await postJson(`${c.url('control')}/nodes/replica-2/pause`, { ms: 1500 });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: 'replica-2', ms: 1500 });
    // The pause starts right after the answer left the node: within its 1.5 s it answers nothing.
    await waitFor(async () => {
      try {
        await getJson(`${c.url('replica-2')}/health`, { timeoutMs: 300 });
        return false;
      } catch {
        return true;
      }
    }, { what: 'replica-2 to stop answering', timeoutMs: 1200 });
    await waitFor(async () => (await getJson(`${c.url('replica-2')}/health`, { timeoutMs: 500 })).status === 200, {
      what: 'replica-2 to answer again after its pause',
      timeoutMs: 10_000,
    });
    expect(c.isRunning('replica-2')).toBe(true);
  });

  it('a crashed node\'s process is gone', async () => {
    const crashed = await postJson(`${c.url('control')}/nodes/replica-2/crash`, {});
    expect(crashed.status).toBe(200);
    expect(crashed.body).toEqual({ crashed: 'replica-2' });
    await waitFor(() => !c.isRunning('replica-2'), { what: 'the replica-2 process to exit', timeoutMs: 10_000 });
    const history = (await getJson(`${c.url('control')}/events/history`)).body.events;
    expect(history.some((e: any) => e.type === 'node-crashed' && e.nodeId === 'replica-2')).toBe(true);
  });
});
