// Goal: the cluster harness starts control as a real process, and control's skeleton keeps the
// contract of SPEC §3/§5 on its own: /health answers, /cluster lists every data node (here all
// unreachable, since none runs), unknown routes and bad bodies get JSON errors and never a stack
// trace, and a bad environment stops control at boot with every problem listed.

import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/lib/cluster-processes.ts';
import { serviceCommand, defaultTopology } from '../../shared/topology.ts';
import { getJson, postJson, requestJson, startCluster, type TestCluster } from '../helpers/cluster.ts';

const DATA_NODES = ['primary', 'mirror', 'replica-1', 'replica-2'];

describe('control skeleton', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster({ services: ['control'] });
  });
  afterEach((context) => {
    if (context.task.result?.state === 'fail') cluster.dumpLogs();
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('answers GET /health', async () => {
    const response = await getJson(`${cluster.url('control')}/health`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', id: 'control' });
  });

  it('lists every data node in GET /cluster, unreachable while none runs', async () => {
    const response = await getJson(`${cluster.url('control')}/cluster`);
    expect(response.status).toBe(200);
    const view = response.body;
    expect(view.primary).toBeNull();
    expect(view.epoch).toBe(0);
    expect(view.faults).toEqual([]);
    expect(Number.isNaN(Date.parse(view.updatedAt))).toBe(false);
    expect(Object.keys(view.nodes).sort()).toEqual([...DATA_NODES].sort());
    for (const id of DATA_NODES) {
      expect(view.nodes[id]).toMatchObject({ id, reachable: false });
      expect(typeof view.nodes[id].error).toBe('string');
    }
  });

  it('answers an unknown route with 404 JSON', async () => {
    const response = await getJson(`${cluster.url('control')}/no/such/route`);
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ error: 'not_found' });
    expect(typeof response.body.message).toBe('string');
  });

  it('answers a bad JSON body with 400 JSON, not a stack trace', async () => {
    const response = await postJson(`${cluster.url('control')}/cluster`, undefined, { rawBody: '{"to": "mirror",' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'bad_body' });
    expect(JSON.stringify(response.body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
  });

  it('answers a method a path does not take with 405 JSON', async () => {
    const response = await requestJson('PUT', `${cluster.url('control')}/health`, { any: 1 });
    expect(response.status).toBe(405);
    expect(response.body).toMatchObject({ error: 'method_not_allowed' });
  });
});

describe('control configuration', () => {
  it('refuses a bad environment with every problem listed, exit 1, no stack trace', () => {
    const spec = defaultTopology.find((s) => s.id === 'control');
    if (!spec) throw new Error('the topology has no control');
    const [command, ...args] = serviceCommand(spec);
    const result = spawnSync(command === 'node' ? process.execPath : (command ?? 'node'), args, {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: 'seventy', HEARTBEAT_MS: '-5', PEERS: 'primary=ftp://x', LOG_LEVEL: 'loud' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('HEARTBEAT_MS');
    expect(result.stderr).toContain('PEERS');
    expect(result.stderr).toContain('LOG_LEVEL');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
