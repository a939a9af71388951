// Goal: control's cluster view keeps the last /status per node, names the primary by the highest
// epoch among nodes that claim it, and reports a node as unreachable (with the reason) when it
// refuses, answers non-200 or answers as another node. Real sockets: tiny status servers.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../../../services/control/src/cluster-view.ts';
import { waitFor } from '../../helpers/wait.ts';

const servers: http.Server[] = [];

async function statusServer(answer: () => { status: number; body: unknown }): Promise<string> {
  const server = http.createServer((_request, response) => {
    const { status, body } = answer();
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('ClusterView', () => {
  it('picks the primary with the highest epoch and explains every unreachable node', async () => {
    let oldPrimaryEpoch = 1;
    const peers = [
      { id: 'primary', url: await statusServer(() => ({ status: 200, body: { id: 'primary', role: 'primary', epoch: oldPrimaryEpoch } })) },
      { id: 'mirror', url: await statusServer(() => ({ status: 200, body: { id: 'mirror', role: 'primary', epoch: 2 } })) },
      { id: 'replica-1', url: await statusServer(() => ({ status: 503, body: { error: 'x' } })) },
      { id: 'replica-2', url: await statusServer(() => ({ status: 200, body: { id: 'replica-1', role: 'replica', epoch: 2 } })) },
    ];
    const view = new ClusterView({ peers, pollMs: 20, requestTimeoutMs: 500, logger: pino({ level: 'silent' }) });
    await view.start();
    try {
      const first = view.snapshot();
      expect(first.primary).toBe('mirror');
      expect(first.epoch).toBe(2);
      expect(first.nodes['replica-1']).toEqual({ id: 'replica-1', reachable: false, error: 'GET /status answered 503' });
      expect(first.nodes['replica-2']).toMatchObject({ reachable: false, error: expect.stringContaining('expected "replica-2"') });
      // The view follows later answers: the old primary learns of a higher epoch.
      oldPrimaryEpoch = 3;
      await waitFor(() => view.snapshot().primary === 'primary', { what: 'the primary at epoch 3 to be named', timeoutMs: 2000 });
      expect(view.snapshot().epoch).toBe(3);
    } finally {
      await view.close();
    }
  });

  it('reports a refused connection and stops polling on close', async () => {
    const view = new ClusterView({
      peers: [{ id: 'primary', url: 'http://127.0.0.1:1' }],
      pollMs: 20,
      requestTimeoutMs: 500,
      logger: pino({ level: 'silent' }),
    });
    await view.start();
    expect(view.snapshot()).toMatchObject({ primary: null, epoch: 0, nodes: { primary: { reachable: false, error: 'connection refused' } } });
    await view.close();
  });
});
