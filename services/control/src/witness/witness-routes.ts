// HTTP face of the witness: internal routes the nodes call (heartbeat, mirror state, failover
// request) and the public levers (planned/forced failover, mirror assignment, the witness view).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, checkClusterSecret, refuseOtherMethods } from '../../../../shared/http-server.ts';
import { HEADER_NODE_ID } from '../../../../shared/protocol.ts';
import { type Witness, WitnessError } from './witness.ts';

function sender(request: FastifyRequest, secret: string): string {
  const refusal = checkClusterSecret(request, secret);
  if (refusal) throw refusal;
  return request.headers[HEADER_NODE_ID] as string;
}

function body<T>(request: FastifyRequest, check: (b: any) => boolean, shape: string): T {
  const b = request.body as any;
  if (typeof b !== 'object' || b === null || !check(b)) throw new ApiError('bad_body', 400, `send ${shape}`);
  return b as T;
}

const isInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

async function answer<T>(reply: FastifyReply, work: () => Promise<T>) {
  try {
    return await work();
  } catch (error) {
    if (error instanceof WitnessError) return reply.code(error.statusCode).send({ error: error.code, message: error.message, ...error.extra });
    throw error;
  }
}

export function registerWitnessRoutes(app: FastifyInstance, witness: Witness, secret: string): void {
  app.post('/internal/witness/heartbeat', async (request) => {
    const id = sender(request, secret);
    const b = body<{ role: string; epoch: number; lsn: number; mirrorId?: string | null }>(
      request,
      (x) => typeof x.role === 'string' && isInt(x.epoch) && isInt(x.lsn),
      '{"role","epoch","lsn","mirrorId"}',
    );
    return witness.heartbeat(id, b);
  });

  app.post('/internal/witness/mirror-state', async (request, reply) => {
    const id = sender(request, secret);
    const b = body<{ epoch: number; synchronized: boolean; seq: number }>(
      request,
      (x) => isInt(x.epoch) && typeof x.synchronized === 'boolean' && isInt(x.seq),
      '{"epoch","synchronized","seq"}',
    );
    return answer(reply, () => witness.mirrorState(id, b));
  });

  app.post('/internal/witness/failover', async (request) => {
    const id = sender(request, secret);
    const b = body<{ epoch: number; lsn: number }>(request, (x) => isInt(x.epoch) && isInt(x.lsn), '{"epoch","lsn"}');
    return witness.requestFailover(id, b);
  });

  app.get('/witness', async () => witness.describe());
  refuseOtherMethods(app, '/witness', ['GET']);

  app.post('/cluster/failover', async (request, reply) => {
    const b = body<{ to: string; force?: boolean }>(
      request,
      (x) => typeof x.to === 'string' && (x.force === undefined || typeof x.force === 'boolean') && Object.keys(x).every((k) => k === 'to' || k === 'force'),
      '{"to":"<node id>"} for a planned failover, or {"to":"<node id>","force":true} to force one',
    );
    return answer(reply, () => witness.failover(b.to, b.force ?? false));
  });
  refuseOtherMethods(app, '/cluster/failover', ['POST']);

  app.post('/cluster/mirror', async (request, reply) => {
    const b = body<{ node: string }>(request, (x) => typeof x.node === 'string' && Object.keys(x).length === 1, '{"node":"<node id>"}');
    return answer(reply, () => witness.assignMirror(b.node));
  });
  refuseOtherMethods(app, '/cluster/mirror', ['POST']);
}
