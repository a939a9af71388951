// Internal routes: peer traffic (mirroring over HTTP, the replication WebSocket) and control's
// levers. Every one needs the cluster secret and the sender's id; anything else gets 401, logged.
// Every JSON body is checked against a schema before the handler runs, so a malformed one is a 400
// that touched nothing (no role change, no epoch adopted), never a crash on a missing field.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { bodySchema, checkClusterSecret, sendApiError } from '../../../../shared/http-server.ts';
import { limits } from '../../../../shared/limits.ts';
import {
  HEADER_COMMIT_LSN,
  HEADER_EPOCH,
  HEADER_EPOCH_HISTORY,
  HEADER_FROM_LSN,
  HEADER_MIRROR_MODE,
  HEADER_MIRROR_STATE,
  HEADER_NODE_ID,
  type HelloMessage,
  type SnapshotChunkMessage,
  type WitnessView,
} from '../../../../shared/protocol.ts';
import type { CopyMode } from '../../../../shared/topology.ts';
import type { DataNode } from '../data-node.ts';
import { rollbackLog } from '../roles/rollback.ts';
import { errors } from '../errors.ts';
import type { MirrorReceiver } from '../mirroring/receiver.ts';
import type { EpochStart } from '../roles/epoch-history.ts';

const LSN = { type: 'integer', minimum: 0 } as const;
const NODE_ID = { type: 'string', minLength: 1, maxLength: 256 } as const;
const EPOCH_START = {
  type: 'object',
  additionalProperties: false,
  required: ['epoch', 'startLsn', 'primaryId'],
  properties: { epoch: LSN, startLsn: LSN, primaryId: NODE_ID },
} as const;
const EPOCH_HISTORY = { type: 'array', items: EPOCH_START } as const;

// What the primary's shipper and control's witness send (see mirroring/shipper.ts, witness.ts).
const bodies = {
  snapshot: bodySchema(
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'lsn', 'epoch', 'items', 'last'],
      properties: {
        type: { const: 'snapshot_chunk' },
        lsn: LSN,
        epoch: LSN,
        lsnEpoch: LSN,
        first: { type: 'boolean' },
        last: { type: 'boolean' },
        items: {
          type: 'array',
          maxItems: limits.snapshotChunkKeys,
          items: { type: 'array', items: [{ type: 'string' }, { type: 'string' }, LSN], minItems: 3, additionalItems: false },
        },
      },
    },
    '{"type":"snapshot_chunk","lsn","epoch","lsnEpoch","items":[[key, valueJson, lsn]...],"first","last"}',
  ),
  heartbeat: bodySchema(
    {
      type: 'object',
      additionalProperties: false,
      required: ['epoch', 'lsn'],
      properties: { epoch: LSN, lsn: LSN, ts: LSN, epochHistory: EPOCH_HISTORY },
    },
    '{"epoch","lsn","ts","epochHistory"}',
  ),
  rollback: bodySchema({ type: 'object', additionalProperties: false, required: ['toLsn'], properties: { toLsn: LSN } }, '{"toLsn": <LSN to keep>}'),
  assign: bodySchema(
    {
      type: 'object',
      additionalProperties: false,
      required: ['epoch', 'primaryId', 'mirrorId'],
      properties: { epoch: LSN, primaryId: { anyOf: [NODE_ID, { type: 'null' }] }, mirrorId: { anyOf: [NODE_ID, { type: 'null' }] } },
    },
    '{"epoch","primaryId","mirrorId"}',
  ),
  stepDown: bodySchema(
    {
      type: 'object',
      additionalProperties: false,
      required: ['epoch'],
      properties: { epoch: LSN, timeoutMs: { type: 'integer', minimum: 1, maximum: limits.stepDownTimeoutMsMax } },
    },
    '{"epoch": <this primary\'s epoch>, "timeoutMs": 1..30000}',
  ),
  modes: bodySchema(
    { type: 'object', propertyNames: NODE_ID, additionalProperties: { enum: ['sync', 'async'] } },
    'an object of copy id -> "sync" | "async"',
  ),
  pause: bodySchema(
    { type: 'object', additionalProperties: false, required: ['ms'], properties: { ms: { type: 'integer', minimum: 1, maximum: limits.pauseMsMax } } },
    `{"ms": 1..${limits.pauseMsMax}}`,
  ),
  // Nothing to say but the request itself: an empty object, so a stray body never crashes a node.
  crash: bodySchema({ type: 'object', additionalProperties: false, properties: {} }, '{}'),
};

// Query values are strings (no coercion); a repeated parameter would be an array, refused here.
const DIGITS = { type: 'string', pattern: '^[0-9]{1,15}$' } as const;
const queries = {
  // Control's verification; every prefix asked for is tracked from then on, so only key prefixes.
  digest: { type: 'object', additionalProperties: false, properties: { lsn: DIGITS, prefix: { type: 'string', pattern: '^[A-Za-z0-9._:/-]{0,256}$' } } },
  events: { type: 'object', additionalProperties: false, properties: { after: DIGITS } },
};

// The epoch history a primary sends with its position request, or a 400.
function epochHistoryOf(text: string | undefined): EpochStart[] | undefined {
  if (text === undefined || text === '') return undefined;
  let history: unknown;
  try {
    history = JSON.parse(text);
  } catch {
    history = null;
  }
  const isStart = (p: unknown) => {
    const s = p as EpochStart | null;
    return typeof s === 'object' && s !== null && Number.isSafeInteger(s.epoch) && Number.isSafeInteger(s.startLsn) && typeof s.primaryId === 'string';
  };
  if (!Array.isArray(history) || !history.every(isStart)) {
    throw errors.badHeader(`header ${HEADER_EPOCH_HISTORY} must be a JSON array of {"epoch","startLsn","primaryId"}`);
  }
  return history as EpochStart[];
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function intHeader(request: FastifyRequest, name: string): number {
  const text = header(request, name);
  if (text === undefined || !/^[0-9]{1,15}$/.test(text)) throw errors.badHeader(`header ${name} must be a non-negative integer`);
  return Number(text);
}

// Checks the sender's epoch against ours and returns the mirror machinery, or refuses.
async function mirrorFor(node: DataNode, request: FastifyRequest): Promise<MirrorReceiver> {
  const epoch = intHeader(request, HEADER_EPOCH);
  const sender = header(request, HEADER_NODE_ID) as string;
  if (epoch < node.epoch) throw errors.staleEpoch(epoch, node.epoch);
  if (!node.mirror) {
    throw errors.notMirror(node.config.nodeId, node.role, node.epoch);
  }
  const history = epochHistoryOf(header(request, HEADER_EPOCH_HISTORY));
  if (epoch > node.epoch || node.primaryId !== sender || history) await node.serial(() => node.follow(sender, epoch, history));
  const mirror = node.mirror;
  const commit = header(request, HEADER_COMMIT_LSN);
  mirror.heard(header(request, HEADER_MIRROR_STATE), header(request, HEADER_MIRROR_MODE), commit ? Number(commit) : undefined);
  return mirror;
}

export function registerInternalRoutes(app: FastifyInstance, node: DataNode): void {
  app.addHook('onRequest', async (request, reply) => {
    // The route the router matched, not the raw URL: /%69nternal/digest decodes to an internal
    // route without starting with "/internal/".
    if (!(request.routeOptions.url ?? request.url).startsWith('/internal/')) return;
    const refusal = checkClusterSecret(request, node.config.clusterSecret);
    if (refusal) return sendApiError(reply, refusal);
  });

  app.get('/internal/mirror/position', async (request) => {
    const mirror = await mirrorFor(node, request);
    return mirror.position(node.epoch, node.role);
  });

  app.post('/internal/mirror/entries', async (request) => {
    const body = request.body;
    if (!Buffer.isBuffer(body)) throw errors.badBatch('send frames as application/octet-stream');
    const mirror = await mirrorFor(node, request);
    const lsn = await mirror.entries(intHeader(request, HEADER_FROM_LSN), body);
    return { type: 'entries_ok', lsn };
  });

  app.post('/internal/mirror/snapshot', bodies.snapshot, async (request) => {
    const mirror = await mirrorFor(node, request);
    await mirror.snapshotChunk(request.body as SnapshotChunkMessage & { first?: boolean; lsnEpoch?: number });
    return { type: 'snapshot_ok', lsn: node.store.lastLsn };
  });

  app.post('/internal/mirror/heartbeat', bodies.heartbeat, async (request) => {
    await mirrorFor(node, request);
    const history = (request.body as { epochHistory?: EpochStart[] }).epochHistory;
    if (Array.isArray(history)) await node.serial(() => node.follow(header(request, HEADER_NODE_ID) as string, node.epoch, history));
    return { type: 'heartbeat_ok', epoch: node.epoch, lsn: node.store.durableLsn };
  });

  // The new primary found entries after `toLsn` that it never had: cut them into a rollback file.
  app.post('/internal/mirror/rollback', bodies.rollback, async (request) => {
    await mirrorFor(node, request);
    const { toLsn } = request.body as { toLsn: number };
    const lsn = await rollbackLog(node, toLsn, 'the new primary never had these entries');
    if (lsn === null) throw errors.needsFullResync(node.store.lastLsn);
    return { type: 'rollback_ok', lsn };
  });

  // The witness's announcement after a failover or a mirror assignment.
  app.post('/internal/assign', bodies.assign, async (request) => {
    const view = request.body as WitnessView;
    await node.serial(() => node.applyView(view));
    return { id: node.config.nodeId, role: node.role, epoch: node.epoch, primary: node.primaryId };
  });

  // Planned failover, step one: stop taking writes and wait until the mirror has everything.
  app.post('/internal/step-down', bodies.stepDown, async (request) => {
    const b = request.body as { epoch: number; timeoutMs?: number };
    const primary = node.assertPrimary('/internal/step-down');
    if (b.epoch !== node.epoch) throw errors.staleEpoch(b.epoch, node.epoch);
    const timeoutMs = b.timeoutMs ?? limits.stepDownTimeoutMsDefault;
    return { type: 'step_down_ok', lsn: await primary.drain(timeoutMs) };
  });

  app.put('/internal/modes', bodies.modes, async (request) => {
    const primary = node.assertPrimary('/internal/modes');
    const body = request.body as Record<string, CopyMode>;
    const problems = primary.modeProblems(body);
    if (problems.length > 0) throw errors.badMode(problems);
    await primary.setModes(body);
    return { modes: Object.fromEntries(primary.registry.list().map((c) => [c.id, c.mode])) };
  });

  app.get('/internal/digest', { schema: { querystring: queries.digest } }, async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const lsn = q.lsn === undefined ? node.store.appliedLsn : Number(q.lsn);
    if (!Number.isSafeInteger(lsn) || lsn < 0) throw errors.badQuery('lsn must be a non-negative integer');
    const prefix = q.prefix ?? '';
    if (prefix) node.store.state.trackPrefix(prefix);
    return { id: node.config.nodeId, lsn, appliedLsn: node.store.appliedLsn, prefix, digest: node.store.state.digestAt(lsn, prefix) };
  });

  app.get('/internal/events', { schema: { querystring: queries.events } }, async (request) => {
    const after = Number((request.query as { after?: string }).after ?? 0);
    return { events: node.events.after(after), lastSeq: node.events.lastSeq, bootId: node.events.bootId };
  });

  // A GC-pause double: the event loop really stops for `ms` (the reply goes out first).
  app.post('/internal/pause', bodies.pause, async (request, reply) => {
    const { ms } = request.body as { ms: number };
    node.logger.warn({ ms }, `pausing the event loop for ${ms} ms`);
    reply.raw.on('finish', () => setImmediate(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)));
    return { paused: node.config.nodeId, ms };
  });

  // A kill -9 double: no flush, no goodbye.
  app.post('/internal/crash', bodies.crash, async (_request, reply) => {
    node.logger.warn('crashing now (SIGKILL to self)');
    reply.raw.on('finish', () => process.kill(process.pid, 'SIGKILL'));
    return { crashed: node.config.nodeId };
  });

  app.route({
    method: 'GET',
    url: '/internal/replicate',
    // A plain GET (no Upgrade) would get @fastify/websocket's empty 404.
    handler: async () => {
      throw errors.notWebSocket('/internal/replicate');
    },
    wsHandler: (socket: WebSocket, request: FastifyRequest) => replicate(node, socket, request),
  });
}

// Every field the stream sender reads from a hello, checked: a wrong type there would throw inside
// a socket listener, where nothing catches it.
function isHello(value: unknown, sender: string): value is HelloMessage {
  const hello = value as HelloMessage | null;
  const lsn = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  return (
    typeof hello === 'object' && hello !== null && hello.type === 'hello' && hello.nodeId === sender &&
    lsn(hello.epoch) && lsn(hello.lsn) && lsn(hello.lsnEpoch) && (hello.mode === 'sync' || hello.mode === 'async') &&
    typeof hello.filter === 'string' && hello.filter.length <= limits.keyLengthMax && typeof hello.region === 'string'
  );
}

// A replica's stream: its hello first, then acks; the primary streams entries (or a snapshot).
function replicate(node: DataNode, socket: WebSocket, request: FastifyRequest): void {
  const sender = header(request, HEADER_NODE_ID) as string;
  socket.once('message', (data, isBinary) => {
    let hello: HelloMessage;
    try {
      hello = JSON.parse(isBinary ? '' : String(data)) as HelloMessage;
      if (!isHello(hello, sender)) throw new Error('bad hello');
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
}
