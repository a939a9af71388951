// The client API of every data node (SPEC §3). Writes go to the primary (others answer 307 to it);
// reads are served by the primary and replicas; the mirror is a standby and refuses them.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { limits } from '../../../../shared/limits.ts';
import type { EntryOp } from '../../../../shared/log-format.ts';
import { refuseOtherMethods } from '../../../../shared/http-server.ts';
import { parseAckLevel } from '../commit/ack-level.ts';
import type { DataNode } from '../data-node.ts';
import { errors } from '../errors.ts';
import type { WriteResult } from '../roles/primary.ts';
import { refreshNodeMetrics } from '../metrics.ts';
import { nodeStatus } from '../status.ts';

const KEY_PATTERN = /^[A-Za-z0-9._:/-]{1,256}$/;
type Query = Record<string, string | undefined>;

function keyOf(request: FastifyRequest): string {
  const key = (request.params as { '*': string })['*'];
  if (!KEY_PATTERN.test(key)) throw errors.badKey(key);
  return key;
}

// Refuses query parameters the route does not know, instead of ignoring them silently.
function query(request: FastifyRequest, allowed: readonly string[]): Query {
  const q = request.query as Record<string, unknown>;
  for (const [name, value] of Object.entries(q)) {
    if (!allowed.includes(name)) throw errors.badQuery(`unknown query parameter "${name}"; this route takes ${allowed.join(', ') || 'none'}`);
    if (typeof value !== 'string') throw errors.badQuery(`query parameter "${name}" is given more than once`);
  }
  return q as Query;
}

function intParam(q: Query, name: string, fallback: number, min: number, max: number): number {
  const text = q[name];
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,15}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw errors.badQuery(`${name}="${text}" must be an integer from ${min} to ${max}`);
  }
  return Number(text);
}

function valueJsonOf(request: FastifyRequest): string {
  const body = request.body;
  if (body === undefined || body === '') throw errors.badBody('the body is empty; send a JSON value (Content-Type: application/json) or raw text');
  const json = JSON.stringify(body);
  const bytes = Buffer.byteLength(json);
  if (bytes > limits.valueBytesMax) throw errors.valueTooLarge(bytes, limits.valueBytesMax);
  return json;
}

function sendWrite(reply: FastifyReply, result: WriteResult): FastifyReply {
  reply.header('x-lsn', String(result.lsn)).header('x-epoch', String(result.epoch)).header('x-acked-by', result.ackedBy.join(','));
  return reply.send(result);
}

function assertReadable(node: DataNode): void {
  if (node.role === 'mirror') throw errors.standbyNotReadable(node.config.nodeId);
  if (node.primary && !node.primary.mayServeReads()) throw errors.noQuorum('reads');
}

// Waits for ?minLsn, then checks again that this node may serve the read: the lease must hold at
// the moment the state is read, not only when the request arrived.
async function waitForMinLsn(node: DataNode, q: Query): Promise<void> {
  if (q.minLsn === undefined) return;
  const minLsn = intParam(q, 'minLsn', 0, 0, Number.MAX_SAFE_INTEGER);
  const waitMs = intParam(q, 'waitMs', limits.readWaitMsDefault, 0, limits.readWaitMsMax);
  if (!(await node.waitApplied(minLsn, waitMs))) throw errors.replicaBehind(node.store.appliedLsn, minLsn);
  assertReadable(node);
}

// Serves a read: the mirror refuses, a replica waits for ?minLsn, and the primary answers only
// what is committed, under its lease (SPEC §3, linearizable primary reads). `compute` reads the
// state at one instant; on the primary the answer waits until everything applied at that instant
// is committed, and the lease must still hold when it goes out.
async function servedRead<T>(node: DataNode, q: Query, compute: () => T): Promise<T> {
  assertReadable(node);
  await waitForMinLsn(node, q);
  const readIndex = node.store.appliedLsn;
  const result = compute();
  const primary = node.primary;
  if (primary && !(await primary.waitCommitted(readIndex, limits.readCommitWaitMs))) throw errors.notCommitted(readIndex);
  assertReadable(node);
  return result;
}

export function registerClientRoutes(app: FastifyInstance, node: DataNode): void {
  // PUT and DELETE: validated here, redirected unless this node is the primary, then written.
  const write = (op: EntryOp) => async (request: FastifyRequest, reply: FastifyReply) => {
    const key = keyOf(request);
    const q = query(request, ['ack']);
    const primary = node.assertPrimary(request.url);
    const level = parseAckLevel(q.ack, primary.copiesMax());
    if (!level) throw errors.badAck(q.ack ?? '', primary.copiesMax());
    const valueJson = op === 'put' ? valueJsonOf(request) : undefined;
    return sendWrite(reply, await primary.write(op, key, valueJson, level));
  };
  // Client bodies are bounded by the value limit plus framing, whatever their type; the server's
  // own limit is larger, for the mirror's batches.
  app.put('/kv/*', { bodyLimit: limits.bodyBytesMax }, write('put'));
  app.delete('/kv/*', { bodyLimit: limits.bodyBytesMax }, write('del'));

  app.get('/kv/*', async (request, reply) => {
    const key = keyOf(request);
    const q = query(request, ['minLsn', 'waitMs']);
    const read = await servedRead(node, q, () => ({ item: node.store.state.get(key), appliedLsn: node.store.appliedLsn }));
    if (!read.item) throw errors.notFound(key, node.config.nodeId, node.role);
    reply.header('content-type', 'application/json; charset=utf-8');
    return `{"key":${JSON.stringify(key)},"value":${read.item.valueJson},"lsn":${read.item.lsn},"servedBy":${JSON.stringify(node.config.nodeId)},"role":"${node.role}","appliedLsn":${read.appliedLsn},"lagMs":${node.lagMs()}}`;
  });
  refuseOtherMethods(app, '/kv/*', ['GET', 'PUT', 'DELETE']);

  app.get('/kv', async (request) => {
    const q = query(request, ['prefix', 'limit', 'after', 'minLsn', 'waitMs']);
    const limit = intParam(q, 'limit', limits.listLimitDefault, 1, limits.listLimitMax);
    return servedRead(node, q, () => {
      const items = node.store.state.list(q.prefix ?? '', limit + 1, q.after ?? '');
      return {
        items: items.slice(0, limit).map((i) => ({ key: i.key, value: JSON.parse(i.valueJson) as unknown, lsn: i.lsn })),
        truncated: items.length > limit,
        servedBy: node.config.nodeId,
        role: node.role,
        appliedLsn: node.store.appliedLsn,
      };
    });
  });
  refuseOtherMethods(app, '/kv', ['GET']);

  app.get('/stats', async (request) => {
    const q = query(request, ['prefix']);
    return servedRead(node, q, () => {
      const started = performance.now();
      const stats = node.store.state.stats(q.prefix ?? '');
      return { prefix: q.prefix ?? '', ...stats, servedBy: node.config.nodeId, role: node.role, appliedLsn: node.store.appliedLsn, tookMs: Math.round((performance.now() - started) * 100) / 100 };
    });
  });
  refuseOtherMethods(app, '/stats', ['GET']);

  app.get('/status', async () => nodeStatus(node));
  refuseOtherMethods(app, '/status', ['GET']);
  app.get('/health', async () => ({ status: 'ok', id: node.config.nodeId, role: node.role }));
  refuseOtherMethods(app, '/health', ['GET']);

  app.get('/metrics', async (_request, reply) => {
    refreshNodeMetrics(node, nodeStatus(node));
    reply.header('content-type', node.metrics.registry.contentType);
    return node.metrics.registry.metrics();
  });
  refuseOtherMethods(app, '/metrics', ['GET']);
}
