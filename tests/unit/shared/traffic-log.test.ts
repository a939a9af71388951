// Goal: the traffic log records what a process sends its peers — kind, entries and LSN range,
// bytes, the delay a latency rule added, loss — cheaply and within its bound; control-plane
// traffic is never recorded; and the link layer really records at its send sites (a request, its
// answer, a WebSocket message), on real sockets.

import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeRule, type FaultRule } from '../../../shared/fault-rules.ts';
import { Link } from '../../../shared/link.ts';
import { concatFrames, encodeEntry } from '../../../shared/log-format.ts';
import { answerKind, framesCarried, messageKind, requestKind, routeOf, TrafficLog } from '../../../shared/traffic-log.ts';
import { waitFor } from '../../helpers/wait.ts';

const apps: FastifyInstance[] = [];
const links: Link[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(links.splice(0).map((link) => link.close()));
});

function frames(fromLsn: number, n: number): Buffer {
  return concatFrames(Array.from({ length: n }, (_, i) => encodeEntry({ lsn: fromLsn + i, epoch: 1, ts: 1, op: 'put', key: `k${i}`, valueJson: '{"v":1}' })));
}

describe('TrafficLog', () => {
  it('names requests, answers and messages by route and type, with their entries and LSNs', () => {
    expect(routeOf('http://127.0.0.1:7002/internal/mirror/entries?x=1')).toBe('mirror/entries');
    expect(requestKind('mirror/entries')).toBe('mirror-batch');
    expect(answerKind('mirror/entries')).toBe('mirror-ack');
    expect(requestKind('assign')).toBe('assign');
    expect(answerKind('witness/failover')).toBe('witness-failover-reply');
    expect(messageKind(frames(1, 2))).toBe('stream-entries');
    expect(messageKind('{"type":"snapshot_chunk","lsn":4}')).toBe('stream-snapshot-chunk');
    expect(messageKind('not json')).toBe('stream-message');
    expect(framesCarried(frames(41, 5))).toEqual({ count: 5, fromLsn: 41, toLsn: 45 });
    expect(framesCarried(Buffer.alloc(0))).toEqual({ count: 0 });

    const log = new TrafficLog(10);
    log.request('primary', 'mirror', 'http://m/internal/mirror/entries', { body: frames(7, 3) }, Date.now() - 40);
    log.request('control', 'mirror', 'http://m/internal/faults', { body: '{}', controlPlane: true }, Date.now());
    log.answer('mirror', 'primary', '/internal/mirror/entries', '{"type":"entries_ok","lsn":9}', Date.now());
    log.message('primary', 'replica-1', '{"type":"heartbeat","epoch":1,"lsn":9,"ts":1}', { action: 'deliver', delayMs: 0 });
    log.message('primary', 'replica-1', frames(10, 1), { action: 'lose' });
    const { records, skipped } = log.after(0, 100);
    expect(skipped).toBe(0);
    expect(records.map((r) => [r.seq, r.kind, r.from, r.to, r.count, r.fromLsn, r.toLsn, r.lost ?? false])).toEqual([
      [1, 'mirror-batch', 'primary', 'mirror', 3, 7, 9, false],
      [2, 'mirror-ack', 'mirror', 'primary', 0, 9, 9, false],
      [3, 'stream-heartbeat', 'primary', 'replica-1', 0, 9, 9, false],
      [4, 'stream-entries', 'primary', 'replica-1', 1, 10, 10, true],
    ]);
    expect(records[0]?.delayMs).toBeGreaterThanOrEqual(40);
    expect(records[0]?.bytes).toBe(frames(7, 3).length);
  });

  it('keeps at most its bound, answers the newest after a cursor, and counts what it left out', () => {
    const log = new TrafficLog(5);
    for (let i = 0; i < 12; i++) log.message('a', 'b', `{"type":"ack","lsn":${i}}`, { action: 'deliver', delayMs: 0 });
    expect(log.lastSeq).toBe(12);
    const all = log.after(0, 100);
    expect(all.records.map((r) => r.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(all.skipped).toBe(7);
    const newest = log.after(9, 2);
    expect(newest.records.map((r) => r.seq)).toEqual([11, 12]);
    expect(newest.skipped).toBe(1);
    expect(log.after(12, 10)).toEqual({ records: [], skipped: 0 });
  });
});

describe('the link records at its send sites', () => {
  it('a request (with the delay a latency rule added), its answer, and WebSocket messages both ways', async () => {
    const b = new Link('b');
    const a = new Link('a');
    links.push(a, b);
    const app = Fastify();
    apps.push(app);
    b.installHooks(app);
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    await app.register(websocket);
    app.post('/internal/mirror/entries', async () => ({ type: 'entries_ok', lsn: 3 }));
    app.register(async (scope) => {
      scope.get('/ws', { websocket: true }, (socket) => {
        socket.on('message', () => b.send(socket, 'a', '{"type":"heartbeat","epoch":1,"lsn":3,"ts":1}'));
      });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const partial = { kind: 'latency', from: 'a', to: 'b', ms: 60, jitterMs: 0, bidirectional: false } as const;
    a.setRules([{ ...partial, id: 'f1', createdAt: new Date().toISOString(), description: describeRule(partial) } as FaultRule]);

    const response = await a.request('b', `${url}/internal/mirror/entries`, { method: 'POST', body: frames(1, 3), headers: { 'content-type': 'application/octet-stream' }, timeoutMs: 2000 });
    expect(response.statusCode).toBe(200);
    await a.request('b', `${url}/internal/mirror/entries`, { method: 'POST', body: frames(4, 1), headers: { 'content-type': 'application/octet-stream' }, timeoutMs: 2000, controlPlane: true });
    const sent = a.traffic.after(0, 10).records;
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ from: 'a', to: 'b', kind: 'mirror-batch', count: 3, fromLsn: 1, toLsn: 3 });
    expect(sent[0]?.delayMs).toBeGreaterThanOrEqual(55);
    expect(b.traffic.after(0, 10).records.map((r) => [r.kind, r.from, r.to, r.toLsn])).toEqual([['mirror-ack', 'b', 'a', 3]]);

    const socket = a.connectWebSocket('b', `${url.replace('http', 'ws')}/ws`, { headers: { 'x-mirrorlab-node': 'a' } });
    await new Promise((resolve) => socket.once('open', resolve));
    a.send(socket, 'b', frames(5, 2));
    await waitFor(() => b.traffic.lastSeq >= 2, { what: 'b to answer on the WebSocket' });
    expect(a.traffic.after(1, 10).records.map((r) => [r.kind, r.count, r.fromLsn, r.toLsn])).toEqual([['stream-entries', 2, 5, 6]]);
    expect(b.traffic.after(1, 10).records.map((r) => [r.kind, r.to, r.toLsn])).toEqual([['stream-heartbeat', 'a', 3]]);
    socket.close();
  });
});
