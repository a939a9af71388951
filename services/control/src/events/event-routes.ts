// GET /events: the live event stream, over WebSocket (the dashboard) or Server-Sent Events
// (?format=sse, for curl -N and EventSource). Nothing old is sent unless asked: ?after=<seq>
// first replays the recorded events after that seq (after=0: the whole history).
// GET /events/history?after=&limit=: the recorded events as one JSON answer.
// A subscriber that leaves more than limits.eventSubscriberBufferedBytesMax unread is disconnected
// rather than letting control's memory grow.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { type ApiError, httpErrors } from '../../../../shared/http-errors.ts';
import { refuseOtherMethods } from '../../../../shared/http-server.ts';
import { limits } from '../../../../shared/limits.ts';
import { tooManySubscribersError } from '../errors.ts';
import type { ControlEvent, EventHub } from './event-hub.ts';

// An SSE comment line now and then keeps proxies from closing a quiet stream.

interface StreamQuery {
  format: 'json' | 'sse';
  after: number | null;
}

function streamQuery(request: FastifyRequest): StreamQuery {
  const q = request.query as Record<string, unknown>;
  const problems: string[] = [];
  for (const name of Object.keys(q)) if (name !== 'format' && name !== 'after') problems.push(`unknown query parameter "${name}" (this route takes format, after)`);
  const format = q.format ?? 'json';
  if (format !== 'json' && format !== 'sse') problems.push(`format=${JSON.stringify(format)} must be sse (or omitted, for a WebSocket)`);
  const after = q.after === undefined ? null : Number(q.after);
  if (after !== null && (!Number.isSafeInteger(after) || after < 0)) problems.push('after must be a non-negative integer (a seq)');
  if (problems.length > 0) throw httpErrors.badRequest(problems.join('; '));
  return { format: format as 'json' | 'sse', after };
}

function tooBusy(): ApiError {
  return tooManySubscribersError(limits.eventSubscribersMax);
}

function websocketStream(hub: EventHub, socket: WebSocket, request: FastifyRequest): void {
  let query: StreamQuery;
  try {
    query = streamQuery(request);
  } catch (error) {
    socket.close(1008, (error as Error).message.slice(0, 120));
    return;
  }
  const send = (event: ControlEvent) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > limits.eventSubscriberBufferedBytesMax) {
      socket.close(1013, 'too slow: events left unread');
      return;
    }
    socket.send(JSON.stringify(event));
  };
  const unsubscribe = hub.subscribe(send);
  if (!unsubscribe) {
    socket.close(1013, tooBusy().message);
    return;
  }
  socket.on('close', unsubscribe);
  socket.on('error', unsubscribe);
  if (query.after !== null) for (const event of hub.history(query.after)) send(event);
}

function sseStream(hub: EventHub, request: FastifyRequest, reply: FastifyReply, query: StreamQuery, open: Set<() => void>): void {
  const raw = reply.raw;
  const write = (event: ControlEvent) => {
    if (raw.writableLength > limits.eventSubscriberBufferedBytesMax) {
      raw.end();
      return;
    }
    raw.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  const unsubscribe = hub.subscribe(write);
  if (!unsubscribe) throw tooBusy();
  reply.hijack();
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  raw.write(': mirrorlab events\n\n');
  const keepalive = setInterval(() => raw.write(': keepalive\n\n'), limits.sseKeepaliveMs);
  const done = () => {
    clearInterval(keepalive);
    unsubscribe();
    open.delete(end);
  };
  const end = () => raw.end();
  open.add(end);
  request.raw.on('close', done);
  raw.on('close', done);
  if (query.after !== null) for (const event of hub.history(query.after)) write(event);
}

export function registerEventRoutes(app: FastifyInstance, hub: EventHub): void {
  // SSE streams never end by themselves; closing control ends them (WebSockets are closed by
  // @fastify/websocket), so a stop does not wait for subscribers to hang up.
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...openStreams]) end();
  });
  app.route({
    method: 'GET',
    url: '/events',
    handler: async (request, reply) => {
      const query = streamQuery(request);
      if (query.format !== 'sse') {
        throw httpErrors.badRequest('open GET /events as a WebSocket, or add ?format=sse for Server-Sent Events');
      }
      sseStream(hub, request, reply, query, openStreams);
    },
    wsHandler: (socket: WebSocket, request: FastifyRequest) => websocketStream(hub, socket, request),
  });
  refuseOtherMethods(app, '/events', ['GET']);

  app.get('/events/history', async (request) => {
    const q = request.query as Record<string, unknown>;
    const number = (name: string, fallback: number, max: number) => {
      if (q[name] === undefined) return fallback;
      const value = Number(q[name]);
      if (!Number.isSafeInteger(value) || value < 0 || value > max) throw httpErrors.badRequest(`${name} must be an integer from 0 to ${max}`);
      return value;
    };
    const after = number('after', 0, Number.MAX_SAFE_INTEGER);
    const limit = number('limit', limits.eventHistoryMax, limits.eventHistoryMax);
    return { events: hub.history(after, limit), lastSeq: hub.lastSeq };
  });
  refuseOtherMethods(app, '/events/history', ['GET']);
}
