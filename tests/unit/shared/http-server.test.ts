// Goal: every way the shared HTTP server refuses a request answers {"error","message","definite"}
// with a 4xx: a schema, the body parser (deep nesting, a body over the route's limit, a
// Content-Encoding), the router (a path that does not decode), Node's parser and Node's own
// refusals (headers too large, an unknown method, no Host, Expect, CONNECT) and ws (a bad
// WebSocket handshake), the last ones on real sockets.

import net, { type AddressInfo } from 'node:net';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../shared/http-errors.ts';
import { bodySchema, installErrorHandling, jsonDepthExceeds, refuseOtherMethods, serverOptions } from '../../../shared/http-server.ts';
import { limits } from '../../../shared/limits.ts';

const apps: FastifyInstance[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function build(): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(pino({ level: 'silent' }), 64 * 1024));
  apps.push(app);
  installErrorHandling(app);
  await app.register(websocket);
  app.put('/small', { bodyLimit: 1024 }, async () => ({ ok: true }));
  app.post('/shape', bodySchema({ type: 'object', additionalProperties: false, required: ['n'], properties: { n: { type: 'integer' } } }, '{"n": <integer>}'), async () => ({ ok: true }));
  app.get('/query', { schema: { querystring: { type: 'object', additionalProperties: false, properties: { a: { type: 'string' } } } } }, async () => ({ ok: true }));
  app.get('/indefinite', async () => {
    throw new ApiError('ack_timeout', 504, 'may or may not have happened', false);
  });
  app.get('/ws', { websocket: true }, (socket) => socket.close());
  app.get('/item/:id', async () => ({ ok: true }));
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.post('/empty', bodySchema({ type: 'object', additionalProperties: false, properties: {} }, '{}'), async () => ({ ok: true }));
  refuseOtherMethods(app, '/small', ['PUT']);
  return app;
}

// Sends raw bytes and resolves with everything the server wrote before it closed the connection.
async function rawExchange(app: FastifyInstance, bytes: string): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => reject(new Error(`no close within 5 s; got ${answer}`)), 5000);
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('end', () => socket.end());
    socket.write(bytes);
  });
}

function statusAndBody(answer: string): { status: number; body: any } {
  const [head, body] = answer.split('\r\n\r\n');
  expect(head).toMatch(/content-type: application\/json/i);
  return { status: Number(head?.split(' ')[1]), body: JSON.parse(body ?? '') };
}

describe('jsonDepthExceeds', () => {
  it('counts nesting of arrays and objects, not brackets inside strings', () => {
    expect(jsonDepthExceeds('[[[1]]]', 3)).toBe(false);
    expect(jsonDepthExceeds('[[[[1]]]]', 3)).toBe(true);
    expect(jsonDepthExceeds('{"a":{"b":{"c":{}}}}', 3)).toBe(true);
    expect(jsonDepthExceeds(`["${'['.repeat(50)}", "\\"[[[[[[[[["]`, 3)).toBe(false);
    expect(jsonDepthExceeds('[]'.repeat(100), 3)).toBe(false);
  });
});

describe('refusals through Fastify', () => {
  it('answers deep nesting, a body over the route limit and a Content-Encoding with our shape', async () => {
    const app = await build();
    const deep = '['.repeat(limits.jsonDepthMax + 1) + ']'.repeat(limits.jsonDepthMax + 1);
    const nested = await app.inject({ method: 'POST', url: '/shape', headers: { 'content-type': 'application/json' }, payload: deep });
    expect(nested.statusCode).toBe(400);
    expect(nested.json()).toMatchObject({ error: 'bad_body', definite: true });

    const large = await app.inject({ method: 'PUT', url: '/small', headers: { 'content-type': 'application/json' }, payload: JSON.stringify('x'.repeat(2000)) });
    expect(large.statusCode).toBe(413);
    expect(large.json()).toMatchObject({ error: 'too_large', message: expect.stringContaining('1024 bytes'), definite: true });

    const gzip = await app.inject({ method: 'POST', url: '/shape', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: '{"n":1}' });
    expect(gzip.statusCode).toBe(415);
    expect(gzip.json()).toMatchObject({ error: 'unsupported_media_type', definite: true });
  });

  it('answers a schema refusal with every problem and the shape, and keeps definite from the ApiError', async () => {
    const app = await build();
    const shape = await app.inject({ method: 'POST', url: '/shape', payload: { n: '1', extra: true } });
    expect(shape.statusCode).toBe(400);
    expect(shape.json()).toMatchObject({ error: 'bad_body', definite: true });
    expect(shape.json().message).toContain('unknown field "extra"');
    expect(shape.json().message).toContain('send {"n": <integer>}');
    const missing = await app.inject({ method: 'POST', url: '/shape' });
    expect(missing.json()).toMatchObject({ error: 'bad_body' });
    const empty = await app.inject({ method: 'POST', url: '/empty', headers: { 'content-type': 'application/octet-stream' }, payload: 'x' });
    expect(empty.statusCode).toBe(415);
    expect((await app.inject({ method: 'POST', url: '/empty', payload: {} })).statusCode).toBe(200);

    const query = await app.inject({ method: 'GET', url: '/query?a=1&a=2' });
    expect(query.statusCode).toBe(400);
    expect(query.json()).toMatchObject({ error: 'bad_request' });

    expect((await app.inject({ method: 'GET', url: '/indefinite' })).json()).toEqual({ error: 'ack_timeout', message: 'may or may not have happened', definite: false });
    expect((await app.inject({ method: 'GET', url: '/nowhere' })).json()).toMatchObject({ error: 'not_found', definite: true });
    const options = await app.inject({ method: 'OPTIONS', url: '/small' });
    expect(options.statusCode).toBe(405);
    expect(options.headers.allow).toBe('PUT');
  });

  it('answers a path that does not decode, or a segment too long, in our shape', async () => {
    const app = await build();
    const response = await app.inject({ method: 'GET', url: '/item/%ZZ' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'bad_request', definite: true });
    const long = await app.inject({ method: 'GET', url: `/item/${'i'.repeat(200)}` });
    expect(long.statusCode).toBe(414);
    expect(long.json()).toMatchObject({ error: 'path_too_long', definite: true });
  });
});

describe('refusals below routing, on real sockets', () => {
  it('answers headers over the limit with 431 and closes the socket', async () => {
    const answer = statusAndBody(await rawExchange(await build(), `GET /query HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(answer).toMatchObject({ status: 431, body: { error: 'headers_too_large', definite: true } });
  });

  it('answers a method HTTP does not know with 400 and closes the socket', async () => {
    const answer = statusAndBody(await rawExchange(await build(), 'BREW /query HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(answer).toMatchObject({ status: 400, body: { error: 'bad_request', definite: true } });
  });

  it('answers what Node refuses itself (no Host, an unknown Expect, CONNECT) in our shape', async () => {
    const noHost = statusAndBody(await rawExchange(await build(), 'GET /query HTTP/1.1\r\nConnection: close\r\n\r\n'));
    expect(noHost).toMatchObject({ status: 400, body: { error: 'bad_request', definite: true } });
    const expectation = statusAndBody(await rawExchange(await build(), 'PUT /small HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 1\r\n\r\n1'));
    expect(expectation).toMatchObject({ status: 417, body: { error: 'expectation_failed', definite: true } });
    const connect = statusAndBody(await rawExchange(await build(), 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n'));
    expect(connect).toMatchObject({ status: 405, body: { error: 'method_not_allowed', definite: true } });
  });

  it('answers a bad WebSocket handshake with JSON instead of ws text/html', async () => {
    const app = await build();
    const answer = statusAndBody(await rawExchange(app, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    expect(answer).toMatchObject({ status: 400, body: { error: 'bad_request', definite: true } });
    expect(answer.body.message).toContain('Sec-WebSocket-Key');
  });
});
