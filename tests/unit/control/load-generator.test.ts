// Goal: control's load generator validates its settings (every problem at once), writes at the
// rate it was given to whichever node is primary now, counts acknowledgements and failures by
// code, never has more than loadInflightMax writes waiting (it skips and counts instead), and
// stops when told, reporting what it did through events.

import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadGenerator, parseLoadSettings } from '../../../services/control/src/dashboard/load-generator.ts';
import { limits } from '../../../shared/limits.ts';
import { waitFor } from '../../helpers/wait.ts';

const apps: FastifyInstance[] = [];
const generators: LoadGenerator[] = [];
afterEach(async () => {
  await Promise.all(generators.splice(0).map((g) => g.close()));
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function fakePrimary(handler: (key: string) => Promise<{ status: number; body: unknown }>): Promise<{ url: string; keys: string[] }> {
  const app = Fastify();
  apps.push(app);
  const keys: string[] = [];
  app.put('/kv/*', async (request, reply) => {
    const key = (request.params as { '*': string })['*'];
    keys.push(key);
    const answer = await handler(key);
    return reply.code(answer.status).send(answer.body);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, keys };
}

function generator(url: string | null) {
  const events: Array<[string, Record<string, unknown>]> = [];
  const g = new LoadGenerator({ primary: () => (url ? { id: 'primary', url } : null), emit: (t, f) => events.push([t, f]), broadcast: () => {}, logger: pino({ level: 'silent' }) });
  generators.push(g);
  return { g, events };
}

describe('parseLoadSettings', () => {
  it('takes a rate and defaults the rest; lists every problem', () => {
    expect(parseLoadSettings({ rate: 50 })).toEqual({ ok: true, value: { rate: 50, ack: 'sync', seconds: limits.loadSecondsDefault, keys: limits.loadKeysDefault } });
    const bad = parseLoadSettings({ rate: limits.loadRateMax + 1, ack: 'most', seconds: 0, colour: 'red' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems).toHaveLength(4);
    expect(parseLoadSettings({}).ok).toBe(false);
    expect(parseLoadSettings([]).ok).toBe(false);
  });
});

describe('LoadGenerator', () => {
  it('writes at its rate over a bounded key space, counts answers by code, and stops', async () => {
    let n = 0;
    const primary = await fakePrimary(async () => (++n % 5 === 0 ? { status: 503, body: { error: 'no_quorum', message: 'x' } } : { status: 200, body: { lsn: n } }));
    const { g, events } = generator(primary.url);
    g.start({ rate: 100, ack: 'local', seconds: 60, keys: 7 });
    await waitFor(() => g.report().acked >= 40, { what: '40 acknowledged writes', timeoutMs: 5000 });
    const report = g.stop('test done');
    expect(report.running).toBe(false);
    expect(report.failed).toBeGreaterThan(0);
    expect(report.errors.no_quorum).toBe(report.failed);
    expect(new Set(primary.keys).size).toBeLessThanOrEqual(7);
    expect(primary.keys.every((k) => /^load\/[0-6]$/.test(k))).toBe(true);
    // ~100/s: 40 writes take ~0.4 s, so at most a tick or two more than that went out.
    expect(report.sent).toBeLessThan(80);
    expect(events.map(([type]) => type)).toEqual(['load-started', 'load-stopped']);
  });

  it('never has more than loadInflightMax writes waiting, and skips with no primary', async () => {
    const release: Array<() => void> = [];
    const hung = await fakePrimary(() => new Promise((resolve) => release.push(() => resolve({ status: 200, body: {} }))));
    const { g } = generator(hung.url);
    g.start({ rate: limits.loadRateMax, ack: 'sync', seconds: 60, keys: 10 });
    await waitFor(() => g.report().skipped > 0, { what: 'writes to be skipped', timeoutMs: 5000 });
    expect(g.report().inflight).toBeLessThanOrEqual(limits.loadInflightMax);
    g.stop('test done');
    for (const done of release) done();

    const { g: lonely } = generator(null);
    lonely.start({ rate: 100, ack: 'sync', seconds: 60, keys: 10 });
    await waitFor(() => lonely.report().skipped >= 5, { what: 'writes skipped for want of a primary', timeoutMs: 5000 });
    expect(lonely.report().sent).toBe(0);
    expect(lonely.report().lastError).toContain('no primary');
  });
});
