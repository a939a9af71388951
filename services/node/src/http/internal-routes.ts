// Internal routes: peer traffic (mirroring over HTTP, the replication WebSocket) and control's
// levers. Every one needs the cluster secret and the sender's id; anything else gets 401, logged.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { ApiError, checkClusterSecret } from '../../../../shared/http-server.ts';
import { limits } from '../../../../shared/limits.ts';
import {
  HEADER_COMMIT_LSN,
  HEADER_EPOCH,
  HEADER_EPOCH_HISTORY,
  HEADER_FROM_LSN,
  HEADER_NODE_ID,
  type HelloMessage,
  type SnapshotChunkMessage,
  type WitnessView,
} from '../../../../shared/protocol.ts';
import type { CopyMode } from '../../../../shared/topology.ts';
import type { DataNode } from '../data-node.ts';
import { errors } from '../errors.ts';
import { HEADER_MIRROR_MODE, HEADER_MIRROR_STATE } from '../mirroring/shipper.ts';
import type { MirrorReceiver } from '../mirroring/receiver.ts';
import type { EpochStart } from '../roles/epoch-history.ts';

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function intHeader(request: FastifyRequest, name: string): number {
  const text = header(request, name);
  if (text === undefined || !/^[0-9]{1,15}$/.test(text)) throw new ApiError('bad_request', 400, `header ${name} must be a non-negative integer`);
  return Number(text);
}

// Checks the sender's epoch against ours and returns the mirror machinery, or refuses.
async function mirrorFor(node: DataNode, request: FastifyRequest): Promise<MirrorReceiver> {
  const epoch = intHeader(request, HEADER_EPOCH);
  const sender = header(request, HEADER_NODE_ID) as string;
  if (epoch < node.epoch) throw errors.staleEpoch(epoch, node.epoch);
  if (!node.mirror) {
    throw new ApiError('not_mirror', 409, `${node.config.nodeId} is ${node.role}, not the mirror`, true, { role: node.role, epoch: node.epoch });
  }
  const historyText = header(request, HEADER_EPOCH_HISTORY);
  let history: EpochStart[] | undefined;
  try {
    history = historyText ? (JSON.parse(historyText) as EpochStart[]) : undefined;
  } catch {
    throw new ApiError('bad_request', 400, `header ${HEADER_EPOCH_HISTORY} is not JSON`);
  }
  if (epoch > node.epoch || node.primaryId !== sender || history) await node.serial(() => node.follow(sender, epoch, history));
  const mirror = node.mirror;
  const commit = header(request, HEADER_COMMIT_LSN);
  mirror.heard(header(request, HEADER_MIRROR_STATE), header(request, HEADER_MIRROR_MODE), commit ? Number(commit) : undefined);
  return mirror;
}

export function registerInternalRoutes(app: FastifyInstance, node: DataNode): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/internal/')) return;
    const refusal = checkClusterSecret(request, node.config.clusterSecret);
    if (refusal) return reply.code(401).send({ error: refusal.code, message: refusal.message });
  });

  app.get('/internal/mirror/position', async (request) => {
    const mirror = await mirrorFor(node, request);
    return mirror.position(node.epoch, node.role);
  });

  app.post('/internal/mirror/entries', async (request) => {
    const mirror = await mirrorFor(node, request);
    const body = request.body;
    if (!Buffer.isBuffer(body)) throw new ApiError('bad_batch', 400, 'send frames as application/octet-stream');
    const lsn = await mirror.entries(intHeader(request, HEADER_FROM_LSN), body);
    return { type: 'entries_ok', lsn };
  });

  app.post('/internal/mirror/snapshot', async (request) => {
    const mirror = await mirrorFor(node, request);
    await mirror.snapshotChunk(request.body as SnapshotChunkMessage & { first?: boolean; lsnEpoch?: number });
    return { type: 'snapshot_ok', lsn: node.store.lastLsn };
  });

  app.post('/internal/mirror/heartbeat', async (request) => {
    await mirrorFor(node, request);
    const history = (request.body as { epochHistory?: EpochStart[] } | null)?.epochHistory;
    if (Array.isArray(history)) await node.serial(() => node.follow(header(request, HEADER_NODE_ID) as string, node.epoch, history));
    return { type: 'heartbeat_ok', epoch: node.epoch, lsn: node.store.durableLsn };
  });

  // The new primary found entries after `toLsn` that it never had: cut them into a rollback file.
  app.post('/internal/mirror/rollback', async (request, reply) => {
    await mirrorFor(node, request);
    const toLsn = (request.body as { toLsn?: unknown } | null)?.toLsn;
    if (!Number.isSafeInteger(toLsn) || (toLsn as number) < 0) throw errors.badBody('send {"toLsn": <LSN to keep>}');
    const lsn = await node.rollback(toLsn as number, 'the new primary never had these entries');
    if (lsn === null) return reply.code(409).send({ error: 'needs_full_resync', message: 'the rollback point is below this node\'s snapshot; send a snapshot', lsn: node.store.lastLsn });
    return { type: 'rollback_ok', lsn };
  });

  // The witness's announcement after a failover or a mirror assignment.
  app.post('/internal/assign', async (request) => {
    const view = request.body as WitnessView | null;
    if (!view || !Number.isSafeInteger(view.epoch) || (view.primaryId !== null && typeof view.primaryId !== 'string')) {
      throw errors.badBody('send {"epoch","primaryId","mirrorId"}');
    }
    await node.serial(() => node.applyView(view));
    return { id: node.config.nodeId, role: node.role, epoch: node.epoch, primary: node.primaryId };
  });

  // Planned failover, step one: stop taking writes and wait until the mirror has everything.
  app.post('/internal/step-down', async (request) => {
    const b = request.body as { epoch?: unknown; timeoutMs?: unknown } | null;
    const primary = node.assertPrimary('/internal/step-down');
    if (b?.epoch !== node.epoch) throw errors.staleEpoch(Number(b?.epoch), node.epoch);
    const timeoutMs = typeof b.timeoutMs === 'number' && b.timeoutMs > 0 && b.timeoutMs <= 30_000 ? b.timeoutMs : 5000;
    return { type: 'step_down_ok', lsn: await primary.drain(timeoutMs) };
  });

  app.put('/internal/modes', async (request) => {
    const primary = node.assertPrimary('/internal/modes');
    const body = request.body as Record<string, unknown> | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badBody('send an object of copy id -> "sync" | "async"');
    const problems = primary.modeProblems(body);
    if (problems.length > 0) throw new ApiError('bad_mode', 400, problems.join('; '));
    await primary.setModes(body as Record<string, CopyMode>);
    return { modes: Object.fromEntries(primary.registry.list().map((c) => [c.id, c.mode])) };
  });

  app.get('/internal/digest', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const lsn = q.lsn === undefined ? node.store.appliedLsn : Number(q.lsn);
    if (!Number.isSafeInteger(lsn) || lsn < 0) throw errors.badQuery('lsn must be a non-negative integer');
    const prefix = q.prefix ?? '';
    if (prefix) node.store.state.trackPrefix(prefix);
    return { id: node.config.nodeId, lsn, appliedLsn: node.store.appliedLsn, prefix, digest: node.store.state.digestAt(lsn, prefix) };
  });

  app.get('/internal/events', async (request) => {
    const after = Number((request.query as { after?: string }).after ?? 0);
    return { events: node.events.after(Number.isFinite(after) ? after : 0), lastSeq: node.events.lastSeq, bootId: node.events.bootId };
  });

  // A GC-pause double: the event loop really stops for `ms` (the reply goes out first).
  app.post('/internal/pause', async (request, reply) => {
    const ms = (request.body as { ms?: unknown } | null)?.ms;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > limits.pauseMsMax) {
      throw errors.badBody(`ms must be an integer from 1 to ${limits.pauseMsMax}`);
    }
    node.logger.warn({ ms }, `pausing the event loop for ${ms} ms`);
    reply.raw.on('finish', () => setImmediate(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)));
    return { paused: node.config.nodeId, ms };
  });

  // A kill -9 double: no flush, no goodbye.
  app.post('/internal/crash', async (_request, reply) => {
    node.logger.warn('crashing now (SIGKILL to self)');
    reply.raw.on('finish', () => process.kill(process.pid, 'SIGKILL'));
    return { crashed: node.config.nodeId };
  });

  app.get('/internal/replicate', { websocket: true }, (socket: WebSocket, request) => {
    const sender = header(request, HEADER_NODE_ID) as string;
    socket.once('message', (data, isBinary) => {
      let hello: HelloMessage;
      try {
        hello = JSON.parse(isBinary ? '' : String(data)) as HelloMessage;
        if (hello.type !== 'hello' || hello.nodeId !== sender || !Number.isSafeInteger(hello.lsn)) throw new Error('bad hello');
      } catch {
        socket.close(1008, 'the first message must be a hello');
        return;
      }
      if (!node.primary) {
        const primaryId = node.primaryId;
        node.link.send(socket, sender, JSON.stringify({ type: 'error', error: 'not_primary', message: `${node.config.nodeId} is not the primary`, primaryId, epoch: node.epoch }));
        socket.close(1000, 'not the primary');
        return;
      }
      const stream = node.primary.acceptReplica(socket, hello);
      socket.on('message', (raw, binary) => {
        if (binary) return;
        try {
          stream.onMessage(JSON.parse(String(raw)));
        } catch {
          node.logger.warn({ replica: sender }, 'unreadable message from replica ignored');
        }
      });
      stream.start().catch((error) => {
        node.logger.error({ err: error, replica: sender }, 'replication stream failed');
        stream.close();
      });
    });
  });
}
