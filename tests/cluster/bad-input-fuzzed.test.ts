// Goal: a seeded stream of bad requests (tests/helpers/bad-requests.ts) at every process of a real
// cluster — the nodes' public API and internal routes (without the secret, and with it but a bad
// body), control's API and the witness's routes; every method, odd paths, headers, encodings and
// content types, malformed and 100,000-level JSON, 2 MiB bodies, 20 KiB headers, bad WebSocket
// handshakes and hellos, bodies that trickle, stall or stop half-way, and a burst of connections
// at once — gets a JSON 4xx {"error","message","definite"} with the status it deserves, within a
// deadline; none is a 5xx, none hangs, no process dies, the cluster is as it was (same primary,
// epoch, mirror, no fault, no load), and every write acknowledged meanwhile reads back.
//
// FUZZ_SEED=<n> runs another stream; the seed is printed, and a failure prints the request.

import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrng, deriveSeed } from '../../scripts/chaos/prng.ts';
import { limits } from '../../shared/limits.ts';
import { type BadRequest, drawBadRequest, type FuzzContext, slowRequests } from '../helpers/bad-requests.ts';
import { getJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { settled } from '../helpers/faults.ts';
import { type RawAnswer, sendRaw } from '../helpers/raw-http.ts';
import { startWrites, type Workload } from '../helpers/workload.ts';

const SEED_DEFAULT = 20_261_128;
const seedText = process.env.FUZZ_SEED ?? String(SEED_DEFAULT);
const SEED = Number(seedText);

const STREAM_REQUESTS = 600;
const STREAM_CONCURRENCY = 12;
const BURST_CONNECTIONS = 200;
// A refusal takes a few milliseconds; this leaves room for a 2 MiB body on a busy 2-core machine.
const ANSWER_DEADLINE_MS = 5000;
// A stalled request gets its 408 after requestReceiveMsMax, found within one check interval.
const STALL_DEADLINE_MS = limits.requestReceiveMsMax + 2 * limits.requestCheckIntervalMs + 3000;
const WS_DEADLINE_MS = 3000;
const FAILURES_SHOWN_MAX = 20;

const NODE_IDS = ['primary', 'mirror', 'replica-1', 'replica-2'] as const;

let cluster: TestCluster;
let ctx: FuzzContext;
let writes: Workload;
const failures: string[] = [];
const statuses = new Map<string, number>();

beforeAll(async () => {
  cluster = await startCluster();
  await settled(cluster);
  ctx = { secret: cluster.plan.secret, nodeIds: NODE_IDS, primary: 'primary', mirror: 'mirror', allIds: ['control', ...NODE_IDS] };
  console.log(`bad-input fuzz: seed ${SEED} (FUZZ_SEED=${SEED} repeats this stream)`);
});

afterAll(async () => {
  if (failures.length > 0) cluster?.dumpLogs();
  await cluster?.close();
});

function portOf(service: string): number {
  return Number(new URL(cluster.url(service)).port);
}

// What is wrong with an answer, or null. A request cut off by its client may get no answer, but
// then the server must have closed the socket.
function judge(bad: BadRequest, answer: RawAnswer): string | null {
  if (answer.outcome === 'deadline') return `no answer and no close within ${answer.elapsedMs} ms (a hang)`;
  if (answer.outcome === 'closed') return bad.request.send === 'cutoff' ? null : `the server closed the connection without an answer (${answer.socketError ?? 'clean close'})`;
  const status = answer.status as number;
  if (status >= 500) return `a ${status}: the server failed on bad input`;
  if (!bad.expect.includes(status)) return `status ${status}, expected ${bad.expect.join(' or ')}`;
  if (!/application\/json/.test(answer.headers['content-type'] ?? '')) return `content-type ${answer.headers['content-type'] ?? 'missing'}, expected JSON`;
  if (bad.request.method === 'HEAD') return null;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    return 'the body is not JSON';
  }
  if (typeof body.error !== 'string' || !/^[a-z][a-z_]*$/.test(body.error)) return 'no snake_case "error" code';
  if (typeof body.message !== 'string' || body.message.length === 0) return 'no "message"';
  if (typeof body.definite !== 'boolean') return `no "definite"${bad.write ? ' on an error to a write (SPEC §3)' : ''}`;
  if (/\bat .+\.(ts|js):\d+/.test(answer.body)) return 'a stack trace in the answer';
  return null;
}

// Enough to send the request again by hand.
function describeFailure(bad: BadRequest, answer: RawAnswer, problem: string, label: string): string {
  const r = bad.request;
  const headers = r.headers.map(([name, value]) => `${name}=${JSON.stringify(value.slice(0, 60))}${value.length > 60 ? `(${value.length} chars)` : ''}`).join(' ');
  const body = r.body === undefined ? 'none' : `${r.body.length} bytes, starting ${JSON.stringify(r.body.subarray(0, 120).toString('latin1'))}`;
  return [
    `${label} [${bad.kind}] ${problem}`,
    `    request: ${bad.service} ${JSON.stringify(r.method)} ${JSON.stringify(r.target.slice(0, 200))}${r.target.length > 200 ? ` (${r.target.length} chars)` : ''} send=${r.send ?? 'whole'}`,
    `    headers: ${headers || 'none'}`,
    `    body: ${body}`,
    `    answer: ${answer.outcome} status=${answer.status} after ${answer.elapsedMs} ms${answer.socketError ? ` socket ${answer.socketError}` : ''}: ${answer.body.slice(0, 300)}`,
  ].join('\n');
}

async function exchange(bad: BadRequest, label: string, deadlineMs: number): Promise<void> {
  const answer = await sendRaw(portOf(bad.service), bad.request, { deadlineMs, pauseMs: 300 });
  const key = `${answer.status ?? answer.outcome}`;
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
  const problem = judge(bad, answer);
  if (problem) failures.push(describeFailure(bad, answer, problem, label));
}

// Runs `work` over the items, `concurrency` at a time.
async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

// Replication hellos no primary may take (each has one flaw), over a WebSocket with the secret.
const BAD_HELLOS: ReadonlyArray<[string, string | Buffer]> = [
  ['not JSON', 'hello?'],
  ['binary', Buffer.from('{"type":"hello"}')],
  ['not a hello', '{"type":"ack","lsn":1}'],
  ['another sender', '{"type":"hello","nodeId":"mirror","epoch":1,"lsn":0,"lsnEpoch":0,"mode":"async","filter":"","region":"eu"}'],
  ['negative lsn', '{"type":"hello","nodeId":"fuzz","epoch":1,"lsn":-1,"lsnEpoch":0,"mode":"async","filter":"","region":"eu"}'],
  ['epoch as text', '{"type":"hello","nodeId":"fuzz","epoch":"1","lsn":0,"lsnEpoch":0,"mode":"async","filter":"","region":"eu"}'],
  ['filter a number', '{"type":"hello","nodeId":"fuzz","epoch":1,"lsn":0,"lsnEpoch":0,"mode":"async","filter":5,"region":"eu"}'],
  ['unknown mode', '{"type":"hello","nodeId":"fuzz","epoch":1,"lsn":0,"lsnEpoch":0,"mode":"fast","filter":"","region":"eu"}'],
  ['no region', '{"type":"hello","nodeId":"fuzz","epoch":1,"lsn":0,"lsnEpoch":0,"mode":"async","filter":""}'],
];

// The close code a node answers a bad hello with (1008, policy violation), or what went wrong.
function badHello(node: string, payload: string | Buffer): Promise<string | null> {
  return new Promise((resolve) => {
    const url = `${cluster.url(node).replace(/^http/, 'ws')}/internal/replicate`;
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${ctx.secret}`, 'x-mirrorlab-node': 'fuzz' } });
    const timer = setTimeout(() => {
      socket.terminate();
      resolve(`no close within ${WS_DEADLINE_MS} ms`);
    }, WS_DEADLINE_MS);
    socket.on('open', () => socket.send(payload, { binary: Buffer.isBuffer(payload) }));
    socket.on('error', (error) => {
      clearTimeout(timer);
      resolve(`socket error ${error.message}`);
    });
    socket.on('close', (code) => {
      clearTimeout(timer);
      resolve(code === 1008 ? null : `closed with ${code}, expected 1008`);
    });
  });
}

describe(`bad input, fuzzed (seed ${seedText})`, () => {
  it('answers every bad request with a JSON 4xx of the right status, in time, while valid writes go on', async () => {
    expect(Number.isSafeInteger(SEED), `FUZZ_SEED=${seedText} must be an integer`).toBe(true);
    const started = performance.now();
    const stream = createPrng(deriveSeed(SEED, 'stream'));
    const requests = Array.from({ length: STREAM_REQUESTS }, () => drawBadRequest(stream, ctx));
    const burstRng = createPrng(deriveSeed(SEED, 'burst'));
    const burst: BadRequest[] = [];
    // Bounded: small requests are most of the catalog.
    for (let draws = 0; burst.length < BURST_CONNECTIONS && draws < BURST_CONNECTIONS * 10; draws++) {
      const bad = drawBadRequest(burstRng, ctx);
      if (bad.small) burst.push(bad);
    }

    writes = startWrites({ urls: () => [cluster.url(ctx.primary)], prefix: 'fzw', ack: 'sync', concurrency: 2, countMax: 100 });
    const slow = Promise.all(
      slowRequests(ctx).map((bad, i) => exchange(bad, `slow #${i}`, bad.expect.includes(408) ? STALL_DEADLINE_MS : ANSWER_DEADLINE_MS)),
    );
    await inPool(requests, STREAM_CONCURRENCY, (bad, i) => exchange(bad, `stream #${i}`, ANSWER_DEADLINE_MS));
    await Promise.all(burst.map((bad, i) => exchange(bad, `burst #${i}`, ANSWER_DEADLINE_MS * 2)));
    for (const node of [ctx.primary, 'replica-1']) {
      for (const [what, payload] of BAD_HELLOS) {
        const problem = await badHello(node, payload);
        if (problem) failures.push(`bad hello (${what}) to ${node}: ${problem}`);
      }
    }
    await slow;
    await writes.stop();

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const byStatus = [...statuses.entries()].sort().map(([status, count]) => `${status}×${count}`).join(' ');
    console.log(`bad-input fuzz: ${requests.length} + ${burst.length} burst + ${slowRequests(ctx).length} slow requests and ${BAD_HELLOS.length * 2} hellos in ${seconds} s; answers ${byStatus}; ${writes.acked.length} writes acknowledged`);
    if (failures.length > 0) {
      console.error(`bad-input fuzz: ${failures.length} failures (FUZZ_SEED=${SEED}); the first ${Math.min(failures.length, FAILURES_SHOWN_MAX)}:\n${failures.slice(0, FAILURES_SHOWN_MAX).join('\n')}`);
    }
    expect(failures.slice(0, FAILURES_SHOWN_MAX)).toEqual([]);
  });

  it('left every process running and the cluster as it was', async () => {
    for (const id of ctx.allIds) {
      expect(cluster.isRunning(id), `${id} is running`).toBe(true);
      expect((await getJson(`${cluster.url(id)}/health`, { timeoutMs: 2000 })).status, `${id} answers /health`).toBe(200);
      const internalErrors = cluster.logs(id).filter((line) => line.includes('"request failed"'));
      expect(internalErrors, `${id} logged no request that failed inside`).toEqual([]);
    }
    const witness = (await getJson(`${cluster.url('control')}/witness`)).body;
    expect(witness).toMatchObject({ epoch: 1, primaryId: ctx.primary, mirrorId: ctx.mirror });
    expect((await getJson(`${cluster.url('control')}/faults`)).body.faults).toEqual([]);
    expect((await getJson(`${cluster.url('control')}/load`)).body.running).toBe(false);
    // The mirror synchronized and the replicas caught up: nothing the fuzzer sent unsettled them.
    const primary = await settled(cluster);
    expect(primary).toMatchObject({ role: 'primary', epoch: 1 });
    expect(primary.replicas.map((r: { id: string }) => r.id).sort()).toEqual(['replica-1', 'replica-2']);
  });

  it('lost no write acknowledged during the fuzzing', async () => {
    expect(writes.errors, 'valid writes that failed while bad input flowed').toBe(0);
    expect(writes.acked.length).toBeGreaterThan(0);
    for (const write of writes.acked) {
      const [, w, i] = write.key.split('/');
      const read = await waitFor(async () => {
        const response = await getJson(`${cluster.url(ctx.primary)}/kv/${write.key}`, { timeoutMs: 2000 });
        return response.status === 200 ? response : null;
      }, { what: `${write.key} readable from the primary`, timeoutMs: 5000 });
      expect(read.body.value).toEqual({ w: Number(w), i: Number(i) });
    }
  });
});
