// Goal: the link layer applies fault rules on real sockets inside one process: latency delays a
// request (one way, not the round trip) and keeps WebSocket order; reject resets at once and drop
// hangs until the sender's timeout (or lets traffic go when the partition heals); answers are
// governed by the answering side's rules; loss stalls a WebSocket; control-plane traffic is exempt;
// a partition blocks a new WebSocket connect.

import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { describeRule, type FaultRule } from '../../../shared/fault-rules.ts';
import { Link, PeerRequestError } from '../../../shared/link.ts';
import { waitFor } from '../../helpers/wait.ts';

const apps: FastifyInstance[] = [];
const links: Link[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(links.splice(0).map((link) => link.close()));
});

function rule(fields: Record<string, unknown>, id = 'f1'): FaultRule {
  const partial = { bidirectional: false, jitterMs: 0, ...fields } as unknown as FaultRule;
  return { ...partial, id, createdAt: new Date().toISOString(), description: describeRule(partial) } as FaultRule;
}

// A server "b" with its own link; the client link is "a".
async function serverB(onSocket?: (socket: WebSocket) => void): Promise<{ url: string; link: Link; sockets: WebSocket[] }> {
  const link = new Link('b');
  links.push(link);
  const app = Fastify();
  apps.push(app);
  link.installHooks(app);
  const sockets: WebSocket[] = [];
  await app.register(websocket);
  app.get('/echo', async () => ({ ok: true }));
  app.register(async (scope) => {
    scope.get('/ws', { websocket: true }, (socket) => {
      sockets.push(socket);
      onSocket?.(socket);
    });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, link, sockets };
}

function clientA(): Link {
  const link = new Link('a');
  links.push(link);
  return link;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T | Error }> {
  const started = performance.now();
  try {
    const result = await fn();
    return { ms: performance.now() - started, result };
  } catch (error) {
    return { ms: performance.now() - started, result: error as Error };
  }
}

describe('Link over HTTP', () => {
  it('latency from a to b delays the request once; an answer from b is delayed by b\'s rules', async () => {
    const b = await serverB();
    const a = clientA();
    const get = () => a.request('b', `${b.url}/echo`, { method: 'GET', timeoutMs: 2000 });
    // The fastest of three: noise on a busy machine only ever adds time.
    const fastest = async () => Math.min((await timed(get)).ms, (await timed(get)).ms, (await timed(get)).ms);
    await get();
    const base = await fastest();
    a.setRules([rule({ kind: 'latency', from: 'a', to: 'b', ms: 150 })]);
    const oneWay = await fastest();
    expect(oneWay).toBeGreaterThanOrEqual(149);
    expect(oneWay - base).toBeLessThan(280);
    // The same rule held by b does nothing to b's answers (they go from b to a).
    b.link.setRules([rule({ kind: 'latency', from: 'a', to: 'b', ms: 150 })]);
    a.setRules([]);
    expect(await fastest()).toBeLessThan(base + 100);
    b.link.setRules([rule({ kind: 'latency', from: 'b', to: 'a', ms: 150 })]);
    expect(await fastest()).toBeGreaterThanOrEqual(149);
  });

  it('reject fails at once with a reset; drop hangs until the timeout; control-plane traffic is exempt', async () => {
    const b = await serverB();
    const a = clientA();
    a.setRules([rule({ kind: 'partition', groups: [['a'], ['b']], mode: 'reject' })]);
    const rejected = await timed(() => a.request('b', `${b.url}/echo`, { method: 'GET', timeoutMs: 600 }));
    expect(rejected.result).toBeInstanceOf(PeerRequestError);
    expect((rejected.result as PeerRequestError).kind).toBe('reset');
    expect(rejected.ms).toBeLessThan(300);

    a.setRules([rule({ kind: 'partition', groups: [['a'], ['b']], mode: 'drop' })]);
    const dropped = await timed(() => a.request('b', `${b.url}/echo`, { method: 'GET', timeoutMs: 600 }));
    expect((dropped.result as PeerRequestError).kind).toBe('timeout');
    expect(dropped.ms).toBeGreaterThan(550);

    const exempt = await a.request('b', `${b.url}/echo`, { method: 'GET', timeoutMs: 600, controlPlane: true });
    expect(exempt.statusCode).toBe(200);
  });

  it('a dropped request goes through when the partition heals before its timeout', async () => {
    const b = await serverB();
    const a = clientA();
    a.setRules([rule({ kind: 'partition', isolate: 'b', mode: 'drop' })]);
    const pending = timed(() => a.request('b', `${b.url}/echo`, { method: 'GET', timeoutMs: 3000 }));
    setTimeout(() => a.setRules([]), 200);
    const healed = await pending;
    expect(healed.result).not.toBeInstanceOf(Error);
    expect(healed.ms).toBeGreaterThan(150);
    expect(healed.ms).toBeLessThan(2000);
  });

  it('b\'s answers: reject resets, loss holds until the requester times out', async () => {
    const b = await serverB();
    const a = clientA();
    b.link.setRules([rule({ kind: 'partition', from: 'b', to: 'a', mode: 'reject' })]);
    const reset = await timed(() => a.request('b', `${b.url}/echo`, { method: 'GET', timeoutMs: 1000 }));
    expect((reset.result as PeerRequestError).kind).toBe('reset');
    expect(reset.ms).toBeLessThan(600);
    b.link.setRules([rule({ kind: 'loss', from: 'b', to: 'a', rate: 1 })]);
    const lost = await timed(() => a.request('b', `${b.url}/echo`, { method: 'GET', timeoutMs: 500 }));
    expect((lost.result as PeerRequestError).kind).toBe('timeout');
  });
});

describe('Link over WebSocket', () => {
  it('latency keeps the order of messages on an open socket', async () => {
    const b = await serverB();
    const a = clientA();
    const socket = a.connectWebSocket('b', `${b.url.replace('http', 'ws')}/ws`, { headers: { 'x-mirrorlab-node': 'a' }, handshakeTimeout: 1000 });
    const received: string[] = [];
    await new Promise((resolve) => socket.once('open', resolve));
    const server = await waitFor(() => b.sockets[0], { what: 'the server socket' });
    server.on('message', (data) => received.push(String(data)));
    a.setRules([rule({ kind: 'latency', from: 'a', to: 'b', ms: 100, jitterMs: 90 })]);
    const started = Date.now();
    for (let i = 0; i < 20; i++) a.send(socket, 'b', String(i));
    await waitFor(() => received.length === 20, { what: '20 messages', timeoutMs: 3000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(10);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    socket.terminate();
  });

  it('loss stalls the socket (nothing after a lost message arrives) and the link resets it later', async () => {
    const b = await serverB();
    const a = clientA();
    const socket = a.connectWebSocket('b', `${b.url.replace('http', 'ws')}/ws`, { headers: { 'x-mirrorlab-node': 'a' }, handshakeTimeout: 1000 });
    await new Promise((resolve) => socket.once('open', resolve));
    const server = await waitFor(() => b.sockets[0], { what: 'the server socket' });
    const received: string[] = [];
    server.on('message', (data) => received.push(String(data)));
    a.send(socket, 'b', 'before');
    await waitFor(() => received.length === 1, { what: 'the first message' });
    a.setRules([rule({ kind: 'loss', from: 'a', to: 'b', rate: 1 })]);
    expect(a.send(socket, 'b', 'lost')).toBe(true);
    a.setRules([]);
    a.send(socket, 'b', 'after');
    const closed = await waitFor(() => socket.readyState === socket.CLOSED, { what: 'the stalled socket to be reset', timeoutMs: 6000 });
    expect(closed).toBe(true);
    expect(received).toEqual(['before']);
  });

  it('a partition blocks a new connect: reject fails at once, drop waits for the handshake timeout', async () => {
    const b = await serverB();
    const a = clientA();
    const connect = async (handshakeTimeout: number) => {
      const started = Date.now();
      const socket = a.connectWebSocket('b', `${b.url.replace('http', 'ws')}/ws`, { headers: { 'x-mirrorlab-node': 'a' }, handshakeTimeout });
      socket.on('error', () => {});
      const opened = await new Promise<boolean>((resolve) => {
        socket.once('open', () => resolve(true));
        socket.once('close', () => resolve(false));
      });
      socket.terminate();
      return { opened, ms: Date.now() - started };
    };
    a.setRules([rule({ kind: 'partition', isolate: 'a', mode: 'reject' })]);
    const reset = await connect(3000);
    expect(reset.opened).toBe(false);
    expect(reset.ms).toBeLessThan(600);
    a.setRules([rule({ kind: 'partition', isolate: 'a', mode: 'drop' })]);
    const hung = await connect(800);
    expect(hung.opened).toBe(false);
    expect(hung.ms).toBeGreaterThanOrEqual(790);
    // The server side applies its own rules to the handshake answer.
    a.setRules([]);
    b.link.setRules([rule({ kind: 'partition', from: 'b', to: 'a', mode: 'reject' })]);
    expect((await connect(2000)).opened).toBe(false);
    b.link.setRules([]);
    expect((await connect(2000)).opened).toBe(true);
  });
});

describe('Link with fractional latency (the WAN profile\'s 0.5 ms inside a region)', () => {
  it('delays HTTP and WebSocket traffic by a fraction of a ms without losing or reordering anything', async () => {
    const b = await serverB();
    const a = clientA();
    const halfMs = rule({ kind: 'latency', from: 'a', to: 'b', ms: 0.5, jitterMs: 0.05 });
    expect(halfMs.description).toBe('0.5±0.05 ms from a to b');
    a.setRules([halfMs]);
    const http = await timed(() => a.request('b', `${b.url}/echo`, { method: 'GET', timeoutMs: 2000 }));
    expect((http.result as { statusCode: number }).statusCode).toBe(200);
    expect(http.ms).toBeGreaterThanOrEqual(0.45);

    const socket = a.connectWebSocket('b', `${b.url.replace('http', 'ws')}/ws`, { headers: { 'x-mirrorlab-node': 'a' }, handshakeTimeout: 1000 });
    await new Promise((resolve) => socket.once('open', resolve));
    const server = await waitFor(() => b.sockets[0], { what: 'the server socket' });
    const received: string[] = [];
    server.on('message', (data) => received.push(String(data)));
    for (let i = 0; i < 50; i++) a.send(socket, 'b', String(i));
    await waitFor(() => received.length === 50, { what: '50 messages', timeoutMs: 3000 });
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    socket.terminate();
  });
});
