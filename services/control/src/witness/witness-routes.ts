// HTTP face of the witness: internal routes the nodes call (heartbeat, mirror state, failover
// request) and the public levers (planned/forced failover, mirror assignment, the witness view).
// Bodies are checked against schemas before a handler runs; the witness's refusals (WitnessError)
// are ApiErrors, answered by the shared error handler like any other.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bodySchema, checkClusterSecret, refuseOtherMethods } from '../../../../shared/http-server.ts';
import { HEADER_NODE_ID, type MirrorStateReport } from '../../../../shared/protocol.ts';
import type { Witness } from './witness.ts';

function sender(request: FastifyRequest, secret: string): string {
  const refusal = checkClusterSecret(request, secret);
  if (refusal) throw refusal;
  return request.headers[HEADER_NODE_ID] as string;
}

const LSN = { type: 'integer', minimum: 0 } as const;
const NODE_ID = { type: 'string', minLength: 1, maxLength: 256 } as const;
const fixed = (properties: Record<string, unknown>, required: string[]) => ({ type: 'object', additionalProperties: false, required, properties });

// What the nodes' witness client sends (services/node/src/roles/witness-client.ts).
const bodies = {
  heartbeat: bodySchema(
    fixed({ role: { enum: ['primary', 'mirror', 'replica'] }, epoch: LSN, lsn: LSN, mirrorId: { anyOf: [NODE_ID, { type: 'null' }] } }, ['role', 'epoch', 'lsn']),
    '{"role","epoch","lsn","mirrorId"}',
  ),
  mirrorState: bodySchema(fixed({ epoch: LSN, mirrorId: { type: 'string', minLength: 1, maxLength: 64 }, synchronized: { type: 'boolean' }, seq: LSN }, ['epoch', 'mirrorId', 'synchronized', 'seq']), '{"epoch","mirrorId","synchronized","seq"}'),
  failoverRequest: bodySchema(fixed({ epoch: LSN, lsn: LSN }, ['epoch', 'lsn']), '{"epoch","lsn"}'),
  failover: bodySchema(
    fixed({ to: NODE_ID, force: { type: 'boolean' } }, ['to']),
    '{"to":"<node id>"} for a planned failover, or {"to":"<node id>","force":true} to force one',
  ),
  mirror: bodySchema(
    fixed({ node: NODE_ID, replace: { type: 'boolean' } }, ['node']),
    '{"node":"<node id>"}, and "replace":true to move the slot from the node that holds it',
  ),
};

export function registerWitnessRoutes(app: FastifyInstance, witness: Witness, secret: string): void {
  // The secret is checked before the body is parsed: a caller without it learns nothing of the shapes.
  const internal = { onRequest: async (request: FastifyRequest) => void sender(request, secret) };

  app.post('/internal/witness/heartbeat', { ...internal, ...bodies.heartbeat }, async (request) =>
    witness.heartbeat(sender(request, secret), request.body as { role: string; epoch: number; lsn: number; mirrorId?: string | null }),
  );

  app.post('/internal/witness/mirror-state', { ...internal, ...bodies.mirrorState }, async (request) =>
    witness.mirrorState(sender(request, secret), request.body as MirrorStateReport),
  );

  app.post('/internal/witness/failover', { ...internal, ...bodies.failoverRequest }, async (request) =>
    witness.requestFailover(sender(request, secret), request.body as { epoch: number; lsn: number }),
  );

  app.get('/witness', async () => witness.describe());
  refuseOtherMethods(app, '/witness', ['GET']);

  app.post('/cluster/failover', bodies.failover, async (request) => {
    const b = request.body as { to: string; force?: boolean };
    return witness.failover(b.to, b.force ?? false);
  });
  refuseOtherMethods(app, '/cluster/failover', ['POST']);

  app.post('/cluster/mirror', bodies.mirror, async (request) => {
    const b = request.body as { node: string; replace?: boolean };
    return witness.assignMirror(b.node, { replace: b.replace ?? false });
  });
  refuseOtherMethods(app, '/cluster/mirror', ['POST']);
}
