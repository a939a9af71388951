// A catalog of bad requests for the fuzz test (tests/cluster/bad-input-fuzzed.test.ts): each
// generator draws one request from a seeded PRNG, with the statuses a correct server may answer.
// Every request here is bad by construction, and none may change the cluster if it is refused as
// it should be: no valid write, pause, crash, failover, mode, fault rule, load run, witness report
// or replication hello, with or without the secret. Internal requests never carry an epoch header,
// so nothing reaches the code that follows a new primary.

import type { Prng } from '../../scripts/chaos/prng.ts';
import type { RawRequest } from './raw-http.ts';

export interface BadRequest {
  service: string;
  // The generator's name, for the summary and for reproduction.
  kind: string;
  request: RawRequest;
  // The statuses a correct server may answer (all 4xx).
  expect: readonly number[];
  // A write route (PUT/DELETE /kv): SPEC §3 wants "definite" on its errors.
  write: boolean;
  // Small enough for a burst of hundreds at once (no multi-megabyte body).
  small: boolean;
}

export interface FuzzContext {
  secret: string;
  // Data node ids; `primary` takes writes (a flaw checked after assertPrimary goes there only,
  // else a non-primary answers 307), `mirror` refuses reads (503) after the query is checked.
  nodeIds: readonly string[];
  primary: string;
  mirror: string;
  // Ids of every process (nodes and control), for the ids a crash or failover must never name.
  allIds: readonly string[];
}

type Generator = (rng: Prng, ctx: FuzzContext) => BadRequest;

const MiB = 1024 * 1024;
const SENDER = 'fuzz';

// ---- building blocks ----

function make(service: string, kind: string, method: string, target: string, expect: readonly number[], options: Partial<Omit<BadRequest, 'service' | 'kind' | 'request' | 'expect'>> & { headers?: Array<[string, string]>; body?: Buffer | string; send?: RawRequest['send'] } = {}): BadRequest {
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  return {
    service,
    kind,
    request: { method, target, headers: options.headers ?? [], body, send: options.send },
    expect,
    write: options.write ?? false,
    small: options.small ?? (body === undefined || body.length < 64 * 1024),
  };
}

const JSON_TYPE: [string, string] = ['Content-Type', 'application/json'];

function secretHeaders(ctx: FuzzContext): Array<[string, string]> {
  return [['Authorization', `Bearer ${ctx.secret}`], ['x-mirrorlab-node', SENDER]];
}

// Wrong credentials, one flaw each.
function badAuth(rng: Prng, ctx: FuzzContext): Array<[string, string]> {
  return rng.pick<Array<[string, string]>>([
    [],
    [['Authorization', 'Bearer wrong-secret'], ['x-mirrorlab-node', SENDER]],
    [['Authorization', `Bearer ${ctx.secret}`]],
    [['Authorization', `Bearer ${ctx.secret}`], ['x-mirrorlab-node', '']],
    [['Authorization', `bearer ${ctx.secret}`], ['x-mirrorlab-node', SENDER]],
    [['Authorization', `Bearer  ${ctx.secret}`], ['x-mirrorlab-node', SENDER]],
    [['Authorization', `Bearer ${ctx.secret}x`], ['x-mirrorlab-node', SENDER]],
    [['Authorization', `Bearer ${ctx.secret.slice(0, -1)}`], ['x-mirrorlab-node', SENDER]],
    [['Authorization', `Basic ${Buffer.from(`${SENDER}:${ctx.secret}`).toString('base64')}`], ['x-mirrorlab-node', SENDER]],
    [['x-mirrorlab-node', SENDER]],
  ]);
}

// JSON texts no route takes: malformed, poisoned, or nested far too deep.
const MALFORMED_JSON = [
  '{"open": ',
  '[1,2',
  'nul',
  '{"a":1}}',
  "{'a':1}",
  '{"a":01}',
  '{"a":NaN}',
  '{"a" 1}',
  '"unterminated',
  '{"a":"\\x"}',
  '\u0000',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
];
const DEEP_LEVELS = 100_000;
const deepArray = () => '['.repeat(DEEP_LEVELS) + ']'.repeat(DEEP_LEVELS);
const deepObject = () => `${'{"a":'.repeat(DEEP_LEVELS)}1${'}'.repeat(DEEP_LEVELS)}`;
const hugeJson = () => JSON.stringify('x'.repeat(2 * MiB));

// A body no JSON route takes, with the status it earns: 400 unreadable, 413 over a 1 MiB limit.
function badJsonBody(rng: Prng, limitBytes: number): { body: string; expect: number[]; what: string } {
  const pick = rng.int(0, 9);
  if (pick === 0) return { body: deepArray(), expect: [400], what: 'deep array' };
  if (pick === 1) return { body: deepObject(), expect: [400], what: 'deep object' };
  if (pick === 2) return { body: hugeJson(), expect: [2 * MiB > limitBytes ? 413 : 400], what: 'huge' };
  if (pick === 3) return { body: '', expect: [400], what: 'empty' };
  return { body: rng.pick(MALFORMED_JSON), expect: [400], what: 'malformed' };
}

// Keys the API refuses (SPEC §3: 1-256 of [A-Za-z0-9._:/-]), as they go on the wire.
const BAD_KEYS = [
  '',
  'k'.repeat(257),
  'k'.repeat(5000),
  'bad%20key',
  'bad*key',
  'bad%00key',
  'nul%00',
  '%C3%A9',
  '%E2%98%83',
  'a%3Fb',
  'a%23b',
  '..%2A',
  '%ZZ',
  '%',
  'a%2',
];
// Raw bytes in the request line: the HTTP parser refuses them before any route.
const RAW_BAD_TARGETS = ['/kv/a b', '/kv/\u00e9', '/kv/a\tb', '/\u2603', '/kv/a\u0001'];

// ---- data node public API ----

const badKey: Generator = (rng, ctx) => {
  const method = rng.pick(['GET', 'PUT', 'DELETE', 'HEAD']);
  const node = rng.pick(ctx.nodeIds);
  const key = rng.pick(BAD_KEYS);
  return make(node, 'bad key', method, `/kv/${key}`, [400], method === 'PUT' ? { headers: [JSON_TYPE], body: '1', write: true } : { write: method === 'DELETE' });
};

const rawTarget: Generator = (rng, ctx) => make(rng.pick(ctx.nodeIds), 'raw bytes in the path', rng.pick(['GET', 'PUT']), rng.pick(RAW_BAD_TARGETS), [400]);

// Unknown or repeated query parameters: checked before the node's role, so any node refuses them.
const badQuery: Generator = (rng, ctx) => {
  const node = rng.pick(ctx.nodeIds);
  const [method, target] = rng.pick([
    ['GET', '/kv/k?x=1'],
    ['GET', '/kv?bogus=1'],
    ['GET', '/kv?limit=1&limit=2'],
    ['GET', '/kv?prefix[a]=1'],
    ['GET', '/kv?__proto__=1'],
    ['GET', '/kv/k?minLsn=1&minLsn=2'],
    ['GET', '/stats?limit=1'],
    ['GET', '/stats?prefix=a&prefix=b'],
    ['PUT', '/kv/k?acks=all'],
    ['PUT', '/kv/k?ack=sync&ack=all'],
    ['DELETE', '/kv/k?force=1'],
  ] as const);
  return make(node, 'bad query', method, target, [400], method === 'PUT' ? { headers: [JSON_TYPE], body: '1', write: true } : { write: method === 'DELETE' });
};

// Query values refused after the role check: only the primary and the replicas read.
const badReadValue: Generator = (rng, ctx) => {
  const node = rng.pick(ctx.nodeIds.filter((id) => id !== ctx.mirror));
  const target = rng.pick(['/kv?limit=0', '/kv?limit=100000', '/kv?limit=-1', '/kv?limit=1.5', '/kv/k?minLsn=-1', '/kv/k?minLsn=1&waitMs=99999999', '/kv/k?minLsn=abc', '/kv?minLsn=1e3']);
  return make(node, 'bad read parameter', 'GET', target, [400]);
};

const badAck: Generator = (rng, ctx) => {
  const ack = rng.pick(['', 'most', '0', '99', '-1', '1.5', 'SYNC', 'Sync', 'locall', '1e1', '0x2', '%201', 'all,sync', '%00', 'sync%00', '%C3%A9']);
  const method = rng.pick(['PUT', 'DELETE']);
  return make(ctx.primary, 'bad ack', method, `/kv/fz-never?ack=${ack}`, [400], method === 'PUT' ? { headers: [JSON_TYPE], body: '{"v":1}', write: true } : { write: true });
};

// Bodies a write refuses: unreadable JSON, nesting, size, encodings. On the primary (elsewhere the
// write would be redirected before its body is read).
const badValue: Generator = (rng, ctx) => {
  const key = '/kv/fz-never';
  const choice = rng.int(0, 6);
  if (choice <= 2) {
    const { body, expect, what } = badJsonBody(rng, MiB + 4096);
    return make(ctx.primary, `bad value (${what})`, 'PUT', key, expect, { headers: [JSON_TYPE], body, write: true });
  }
  if (choice === 3) return make(ctx.primary, 'huge raw text value', 'PUT', key, [413], { headers: [['Content-Type', rng.pick(['text/plain', 'application/octet-stream', 'text/csv'])]], body: 'x'.repeat(2 * MiB), write: true });
  if (choice === 4) return make(ctx.primary, 'unparsable content type', 'PUT', key, [415], { headers: [['Content-Type', rng.pick([';;;', '/', 'application/', '=', 'json'])]], body: '1', write: true });
  if (choice === 5) return make(ctx.primary, 'content encoding', 'PUT', key, [415], { headers: [JSON_TYPE, ['Content-Encoding', rng.pick(['gzip', 'br', 'deflate', 'x-anything'])]], body: '1', write: true });
  return make(ctx.primary, 'transfer coding', 'PUT', key, [400], { headers: [JSON_TYPE, ['Transfer-Encoding', 'gzip, chunked']], body: '1\r\n1\r\n0\r\n\r\n', write: true });
};

const PUBLIC_NODE_PATHS: Record<string, readonly string[]> = {
  '/kv/k': ['GET', 'PUT', 'DELETE'],
  '/kv': ['GET'],
  '/stats': ['GET'],
  '/status': ['GET'],
  '/health': ['GET'],
  '/metrics': ['GET'],
};
const STANDARD_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'];

function wrongMethod(paths: Record<string, readonly string[]>, service: (rng: Prng, ctx: FuzzContext) => string): Generator {
  return (rng, ctx) => {
    const path = rng.pick(Object.keys(paths));
    const method = rng.pick(STANDARD_METHODS.filter((m) => !(paths[path] as readonly string[]).includes(m)));
    const withBody = method !== 'GET' && rng.chance(0.5);
    return make(service(rng, ctx), 'wrong method', method, path, [405], withBody ? { headers: [JSON_TYPE], body: '{}' } : {});
  };
}

// Methods Fastify has no route for (404), methods HTTP does not know (400), CONNECT (405).
const oddMethod: Generator = (rng, ctx) => {
  const service = rng.pick([...ctx.nodeIds, 'control']);
  const path = rng.pick(['/kv/k', '/status', '/cluster', '/health']);
  const [method, expect] = rng.pick([
    ['PROPFIND', [404]],
    ['TRACE', [404]],
    ['LINK', [404]],
    ['PURGE', [404]],
    ['MKCOL', [404]],
    ['FOO', [400]],
    ['BREW', [400]],
    ['get', [400]],
    ['G3T', [400]],
    ['PUT\u0000', [400]],
  ] as const);
  return make(service, 'odd method', method, path, expect);
};

const connect: Generator = (rng, ctx) => make(rng.pick([...ctx.nodeIds, 'control']), 'CONNECT', 'CONNECT', 'example.org:443', [405], { headers: [['Host', 'example.org:443']] });

// Paths no route takes, spelled every odd way; GET and HEAD only, so none can be a write.
const ODD_PATHS: Array<[string, number[]]> = [
  ['//', [404]],
  ['//health', [404]],
  ['/health/', [404]],
  ['/%00', [404]],
  ['/health%00', [404]],
  ['/%ZZ', [404, 400]],
  ['/..', [404]],
  ['/../../../etc/passwd', [404]],
  ['/status/..', [404]],
  ['/kv/%2e%2e/%2e%2e/internal/digest', [404]],
  ['/INTERNAL/digest', [404]],
  ['/%E2%98%83', [404]],
  [`/${'a'.repeat(8000)}`, [404]],
  [`/${'a'.repeat(20_000)}`, [431]],
  ['*', [400]],
  ['http://example.org/nowhere', [404]],
  ['/nowhere?%ZZ', [404]],
  ['/nowhere#frag', [404]],
  ['/js/%2e%2e/%2e%2e/package.json', [404]],
];

const oddPath: Generator = (rng, ctx) => {
  const [target, expect] = rng.pick(ODD_PATHS);
  // A path that decodes to a valid key reads it: the mirror, a standby, refuses that with 503.
  const services = [...ctx.nodeIds, 'control'].filter((id) => !(target.startsWith('/kv/') && id === ctx.mirror));
  return make(rng.pick(services), 'odd path', rng.pick(['GET', 'HEAD']), target, expect);
};

// Header trouble, on a request that is refused anyway (a bad key), so any answer is a 4xx.
const badHeaders: Generator = (rng, ctx) => {
  const node = rng.pick([...ctx.nodeIds, 'control']);
  const target = node === 'control' ? '/nowhere' : '/kv/bad*key';
  const expectOther = node === 'control' ? 404 : 400;
  const choice = rng.int(0, 7);
  if (choice === 0) return make(node, 'huge header', 'GET', target, [431], { headers: [['X-Huge', 'h'.repeat(20 * 1024)]] });
  if (choice === 1) return make(node, 'many headers', 'GET', target, [431], { headers: Array.from({ length: 400 }, (_, i): [string, string] => [`X-Many-${i}`, 'm'.repeat(50)]) });
  if (choice === 2) return make(node, 'control character in a header', 'GET', target, [400], { headers: [['X-Bad', 'a\u0000b']] });
  if (choice === 3) return make(node, 'space in a header name', 'GET', target, [400], { headers: [['X Bad Name', 'x']] });
  if (choice === 4) return make(node, 'two Content-Lengths', 'PUT', target, [400], { headers: [JSON_TYPE, ['Content-Length', '1'], ['Content-Length', '2']], body: '12' });
  if (choice === 5) return make(node, 'Content-Length and chunked', 'PUT', target, [400], { headers: [JSON_TYPE, ['Content-Length', '3'], ['Transfer-Encoding', 'chunked']], body: '1\r\n1\r\n0\r\n\r\n' });
  if (choice === 6) return make(node, 'Expect other than 100-continue', 'PUT', target, [417], { headers: [JSON_TYPE, ['Expect', 'tea']], body: '1' });
  return make(node, 'duplicate Host', 'GET', target, [400, expectOther], { headers: [['Host', 'a'], ['Host', 'b']] });
};

// Bad WebSocket handshakes: ws would answer text/html; the server must answer JSON.
const badHandshake: Generator = (rng, ctx) => {
  const node = rng.pick(ctx.nodeIds);
  const [service, target, auth] = rng.pick([
    ['control', '/events', [] as Array<[string, string]>],
    [node, '/internal/replicate', secretHeaders(ctx)],
    [node, '/health', [] as Array<[string, string]>],
  ] as const);
  const base: Array<[string, string]> = [['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ...auth];
  const [what, headers, method, expect] = rng.pick([
    ['no key', [...base, ['Sec-WebSocket-Version', '13']], 'GET', [400]],
    ['bad key', [...base, ['Sec-WebSocket-Key', 'short'], ['Sec-WebSocket-Version', '13']], 'GET', [400]],
    ['bad version', [...base, ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '99']], 'GET', [400]],
    ['not websocket', [['Connection', 'Upgrade'], ['Upgrade', 'h2c'], ...auth], 'GET', [400]],
    // POST /internal/replicate is no route at all (404); elsewhere ws refuses the method (405).
    ['POST', [...base, ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']], 'POST', [404, 405]],
  ] as Array<[string, Array<[string, string]>, string, number[]]>);
  return make(service, `bad WebSocket handshake (${what})`, method, target, expect, { headers });
};

// ---- internal routes ----

interface InternalRoute {
  method: string;
  path: string;
  // Schema-invalid bodies for it (JSON texts); undefined for routes without a body.
  bodies?: readonly string[];
}

const NODE_INTERNAL: readonly InternalRoute[] = [
  { method: 'GET', path: '/internal/mirror/position' },
  { method: 'POST', path: '/internal/mirror/snapshot', bodies: ['{}', '{"type":"snapshot_chunk"}', '{"type":"snapshot_chunk","lsn":-1,"epoch":1,"items":[],"last":true}', '{"type":"snapshot_chunk","lsn":1,"epoch":1,"items":[["k"]],"last":true}', '{"type":"snapshot_chunk","lsn":1,"epoch":1,"items":[["k","1",1]],"last":"yes"}', '{"type":"other","lsn":1,"epoch":1,"items":[],"last":true}'] },
  { method: 'POST', path: '/internal/mirror/heartbeat', bodies: ['{}', '{"epoch":"1","lsn":0}', '{"epoch":1,"lsn":0,"epochHistory":"x"}', '{"epoch":1,"lsn":0,"epochHistory":[{"epoch":1}]}', '{"epoch":1,"lsn":0,"extra":true}'] },
  { method: 'POST', path: '/internal/mirror/rollback', bodies: ['{}', '{"toLsn":-1}', '{"toLsn":"1"}', '{"toLsn":1.5}', '{"toLsn":1,"why":"x"}'] },
  { method: 'POST', path: '/internal/assign', bodies: ['{}', '{"epoch":1}', '{"epoch":"9","primaryId":"mirror","mirrorId":null}', '{"epoch":9,"primaryId":5,"mirrorId":null}', '{"epoch":9,"primaryId":"mirror","mirrorId":{"id":"x"}}', '{"epoch":9,"primaryId":"mirror","mirrorId":null,"extra":1}', '{"epoch":-9,"primaryId":"mirror","mirrorId":null}'] },
  { method: 'POST', path: '/internal/step-down', bodies: ['{}', '{"epoch":"1"}', '{"epoch":1.5}', '{"epoch":1,"timeoutMs":0}', '{"epoch":1,"timeoutMs":99999}', '{"epoch":1,"now":true}'] },
  { method: 'PUT', path: '/internal/modes', bodies: ['[]', '{"mirror":"fast"}', '{"mirror":["sync"]}', '{"mirror":1}', '{"":"sync"}'] },
  { method: 'PUT', path: '/internal/faults', bodies: ['{}', '{"rules":"x"}', '{"rules":{}}', '{"rules":[],"extra":1}', `{"rules":[${Array.from({ length: 101 }, () => '{}').join(',')}]}`] },
  { method: 'POST', path: '/internal/pause', bodies: ['{}', '{"ms":0}', '{"ms":"100"}', '{"ms":1.5}', '{"ms":60001}', '{"ms":100,"extra":1}', '{"ms":null}'] },
  { method: 'POST', path: '/internal/crash', bodies: ['{"now":true}', '[]', '"crash"', 'null', '1', '{"":0}'] },
  { method: 'GET', path: '/internal/digest?lsn=abc' },
  { method: 'GET', path: '/internal/digest?prefix=a*b' },
  { method: 'GET', path: '/internal/digest?prefix=a&prefix=b' },
  { method: 'GET', path: '/internal/digest?lsn=1&lsn=2' },
  { method: 'GET', path: '/internal/digest?bogus=1' },
  { method: 'GET', path: '/internal/events?after=x' },
  { method: 'GET', path: '/internal/events?after=1&after=2' },
  { method: 'GET', path: '/internal/traffic?limit=999999' },
  { method: 'GET', path: '/internal/traffic?after=-1' },
  { method: 'GET', path: '/internal/replicate' },
];

const CONTROL_INTERNAL: readonly InternalRoute[] = [
  { method: 'POST', path: '/internal/witness/heartbeat', bodies: ['{}', '{"role":"primary"}', '{"role":"king","epoch":1,"lsn":0}', '{"role":"replica","epoch":"1","lsn":0}', '{"role":"replica","epoch":1,"lsn":0,"mirrorId":{"x":1}}', '{"role":"replica","epoch":1,"lsn":0,"extra":1}'] },
  { method: 'POST', path: '/internal/witness/mirror-state', bodies: ['{}', '{"epoch":1,"synchronized":"yes","seq":1}', '{"epoch":1,"synchronized":true}', '{"epoch":-1,"synchronized":true,"seq":1}', '{"epoch":1,"synchronized":true,"seq":1,"extra":1}'] },
  { method: 'POST', path: '/internal/members', bodies: ['{}', '{"id":"replica-9"}', '{"id":5,"url":"http://x:1","publicUrl":"http://x:1","region":"","role":"replica","filter":""}', '{"id":"replica-9","url":"http://x:1","publicUrl":"http://x:1","region":"","role":"replica","filter":"","extra":1}'] },
  { method: 'POST', path: '/internal/witness/failover', bodies: ['{}', '{"epoch":1}', '{"epoch":"1","lsn":0}', '{"epoch":1,"lsn":-1}', '{"epoch":1,"lsn":0,"force":true}'] },
];

// The secret's check comes first: whatever the body, no secret is a 401.
const internalWithoutSecret: Generator = (rng, ctx) => {
  const onControl = rng.chance(0.25);
  const route = rng.pick(onControl ? CONTROL_INTERNAL : NODE_INTERNAL);
  const service = onControl ? 'control' : rng.pick(ctx.nodeIds);
  // The same routes spelled with escapes must be just as closed (the router decodes them).
  const escaped = (path: string) =>
    path.startsWith('/internal/digest') && rng.chance(0.5) ? path.replace('/internal/digest', '/internal/%64igest') : path.replace('/internal/', '/%69nternal/');
  const target = !onControl && rng.chance(0.3) ? escaped(route.path) : route.path;
  const body = route.bodies ? rng.pick([...route.bodies, ...MALFORMED_JSON]) : undefined;
  return make(service, 'internal route without the secret', route.method, target, [401], body === undefined ? { headers: badAuth(rng, ctx) } : { headers: [...badAuth(rng, ctx), JSON_TYPE], body });
};

// With the secret, a body the route's schema refuses (or a query, or a missing header).
const internalBadBody: Generator = (rng, ctx) => {
  const onControl = rng.chance(0.25);
  const route = rng.pick(onControl ? CONTROL_INTERNAL : NODE_INTERNAL);
  const service = onControl ? 'control' : rng.pick(ctx.nodeIds);
  const headers = secretHeaders(ctx);
  if (!route.bodies) return make(service, 'internal route, bad query or header', route.method, route.path, [400], { headers });
  const choice = rng.int(0, 9);
  if (choice <= 5) return make(service, 'internal route, body off its schema', route.method, route.path, [400], { headers: [...headers, JSON_TYPE], body: rng.pick(route.bodies) });
  if (choice === 6) return make(service, 'internal route, raw bytes', route.method, route.path, [415], { headers: [...headers, ['Content-Type', 'application/octet-stream']], body: rng.pick(['', 'x', '{}']) });
  if (choice === 7) return make(service, 'internal route, text body', route.method, route.path, [400], { headers: [...headers, ['Content-Type', 'text/plain']], body: '{}' });
  const { body, what } = badJsonBody(rng, onControl ? MiB + 4096 : 5 * MiB);
  // A JSON route on a node takes up to ~5 MiB (mirror batches): 2 MiB parses, and the schema refuses it.
  const expect = what === 'huge' ? (onControl ? [413] : [400]) : [400];
  return make(service, `internal route, ${what} JSON`, route.method, route.path, expect, { headers: [...headers, JSON_TYPE], body });
};

const entriesNotFrames: Generator = (rng, ctx) => {
  const node = rng.pick(ctx.nodeIds);
  const [what, type, body] = rng.pick([
    ['JSON instead of frames', 'application/json', '{"entries":[]}'],
    ['frames without the epoch header', 'application/octet-stream', 'garbage frames'],
    ['no body', 'application/octet-stream', ''],
  ] as const);
  return make(node, `mirror entries: ${what}`, 'POST', '/internal/mirror/entries', [400], { headers: [...secretHeaders(ctx), ['Content-Type', type]], body });
};

// ---- control's API ----

const CONTROL_PATHS: Record<string, readonly string[]> = {
  '/cluster': ['GET'],
  '/cluster/modes': ['PUT'],
  '/cluster/verify': ['GET'],
  '/cluster/failover': ['POST'],
  '/cluster/mirror': ['POST'],
  '/cluster/reset': ['POST'],
  '/cluster/members': ['GET'],
  '/faults': ['GET', 'DELETE'],
  '/faults/profile': ['POST'],
  '/faults/latency': ['POST'],
  '/faults/loss': ['POST'],
  '/faults/partition': ['POST'],
  '/faults/f-fuzz': ['DELETE'],
  '/nodes/mars/pause': ['POST'],
  '/nodes/mars/crash': ['POST'],
  '/events': ['GET'],
  '/events/history': ['GET'],
  '/load': ['GET', 'POST', 'DELETE'],
  '/witness': ['GET'],
  '/health': ['GET'],
  '/metrics': ['GET'],
};

// Bodies each control route refuses, by route (never a valid one: no fault, mode, failover, load).
function controlBodies(ctx: FuzzContext): Record<string, readonly string[]> {
  const node = ctx.nodeIds.find((id) => id !== ctx.primary) as string;
  return {
    '/cluster/modes': ['{}', '[]', '{"mirror":"fast"}', '{"mars":"sync"}', '{"mirror":["sync"]}', '"sync"'],
    '/cluster/failover': ['{}', '{"to":"mars"}', '{"to":5}', '{"to":""}', `{"to":"${node}","force":"yes"}`, `{"to":"${node}","now":true}`, `{"to":"${ctx.primary}"}`],
    '/cluster/mirror': ['{}', '{"node":"mars"}', `{"node":"${ctx.primary}"}`, `{"node":"${node}","extra":1}`, '{"node":7}'],
    '/faults/latency': ['{}', '{"from":"primary","to":"mars","ms":10}', '{"from":"primary","to":"primary","ms":10}', '{"from":"primary","to":"mirror","ms":0}', '{"from":"primary","to":"mirror","ms":600000}', '{"from":"primary","to":"mirror","ms":10,"extra":1}', '{"from":"primary","to":"mirror","ms":"10"}'],
    '/faults/loss': ['{}', '{"from":"primary","to":"mirror","rate":1.5}', '{"from":"primary","to":"mirror","rate":"0.5"}', '{"from":"primary","to":"mirror","rate":-0.1}'],
    '/faults/partition': ['{}', '{"groups":[["primary"]]}', '{"isolate":"mars"}', '{"isolate":"primary","mode":"cut"}', '{"isolate":"primary","groups":[["primary"],["mirror"]]}', '{"groups":[["primary"],["primary"]]}'],
    '/faults/profile': ['{}', '{"name":"lan"}', '{"name":"wan","regions":{"mirror":"mars"}}', '{"name":"wan","regions":{"pluto":"us"}}', '{"name":"wan","regions":[]}', '{"name":"wan","extra":1}', '"wan"'],
    '/cluster/reset': ['{"nodeCmd":"kubectl"}', '{"nodeCmd":5}', '{"extra":1}', '[]', '"reset"', 'null'],
    '/load': ['{}', '{"rate":0}', '{"rate":501}', '{"rate":10,"ack":"most"}', '{"rate":"10"}', '{"rate":10,"extra":1}', '{"rate":10,"seconds":0}'],
  };
}

const controlBadBody: Generator = (rng, ctx) => {
  const bodies = controlBodies(ctx);
  const path = rng.pick([...Object.keys(bodies), '/nodes/pause']);
  const method = path === '/cluster/modes' ? 'PUT' : 'POST';
  if (path === '/nodes/pause') {
    // A real node's pause lever with a bad ms: refused before anything is forwarded.
    const body = rng.pick(['{}', '{"ms":0}', '{"ms":"100"}', '{"ms":1.5}', '{"ms":60001}', '{"ms":100,"extra":1}', '[]', 'null']);
    return make('control', 'pause with a bad ms', 'POST', `/nodes/${rng.pick(ctx.nodeIds)}/pause`, [400], { headers: [JSON_TYPE], body });
  }
  const choice = rng.int(0, 9);
  if (choice <= 5) {
    const body = rng.pick(bodies[path] as readonly string[]);
    // Failing over to the primary itself is refused as a conflict, not as a bad request.
    const expect = path === '/cluster/failover' && body === `{"to":"${ctx.primary}"}` ? [409] : [400];
    return make('control', `control body refused (${path})`, method, path, expect, { headers: [JSON_TYPE], body });
  }
  if (choice === 6) return make('control', `control body, not JSON (${path})`, method, path, [415], { headers: [['Content-Type', rng.pick(['application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'image/png'])]], body: 'a=1' });
  if (choice === 7) return make('control', `control body, plain text (${path})`, method, path, [400], { headers: [['Content-Type', 'text/plain']], body: 'mirror=sync' });
  const { body, expect, what } = badJsonBody(rng, MiB + 4096);
  return make('control', `control body, ${what} JSON (${path})`, method, path, expect, { headers: [JSON_TYPE], body });
};

// Node levers named by an id that is no node, however it is spelled: never a real crash.
const controlBadNodeId: Generator = (rng, ctx) => {
  const [id, expect] = rng.pick<[string, number[]]>([
    ['mars', [400]],
    ['PRIMARY', [400]],
    [`${ctx.primary}%00`, [400]],
    [`${ctx.primary}%20`, [400]],
    ['%ZZ', [400]],
    ['x'.repeat(150), [414]],
    ['..', [400]],
    ['%E2%98%83', [400]],
  ]);
  const decoded = (() => {
    try {
      return decodeURIComponent(id);
    } catch {
      return id;
    }
  })();
  if (ctx.allIds.includes(decoded)) throw new Error(`the fuzzer would name a real node (${decoded}); fix the catalog`);
  const lever = rng.pick(['pause', 'crash']);
  return make('control', `${lever} of no node`, 'POST', `/nodes/${id}/${lever}`, expect, lever === 'pause' ? { headers: [JSON_TYPE], body: '{"ms":100}' } : {});
};

const controlBadQuery: Generator = (rng) => {
  const [method, target, expect] = rng.pick<[string, string, number[]]>([
    ['GET', '/events', [400]],
    ['GET', '/events?format=xml', [400]],
    ['GET', '/events?format=sse&after=-1', [400]],
    ['GET', '/events?format=sse&x=1', [400]],
    ['GET', '/events/history?limit=99999', [400]],
    ['GET', '/events/history?after=abc', [400]],
    ['DELETE', '/faults/f-never', [404]],
    ['DELETE', '/faults/%ZZ', [400]],
    ['DELETE', `/faults/${'f'.repeat(150)}`, [414]],
    ['POST', '/faults/f-weather', [405]],
    ['POST', '/cluster/rewind', [404]],
    ['GET', '/nodes/mars/explode', [404]],
  ]);
  return make('control', 'control query or path refused', method, target, expect);
};

// ---- the catalog ----

export const generators: ReadonlyArray<{ name: string; weight: number; make: Generator }> = [
  { name: 'bad key', weight: 6, make: badKey },
  { name: 'raw bytes in the path', weight: 2, make: rawTarget },
  { name: 'bad query', weight: 4, make: badQuery },
  { name: 'bad read parameter', weight: 3, make: badReadValue },
  { name: 'bad ack', weight: 4, make: badAck },
  { name: 'bad value', weight: 6, make: badValue },
  { name: 'wrong method on a node', weight: 4, make: wrongMethod(PUBLIC_NODE_PATHS, (rng, ctx) => rng.pick(ctx.nodeIds)) },
  { name: 'wrong method on control', weight: 4, make: wrongMethod(CONTROL_PATHS, () => 'control') },
  { name: 'odd method', weight: 3, make: oddMethod },
  { name: 'CONNECT', weight: 1, make: connect },
  { name: 'odd path', weight: 4, make: oddPath },
  { name: 'bad headers', weight: 5, make: badHeaders },
  { name: 'bad WebSocket handshake', weight: 3, make: badHandshake },
  { name: 'internal without the secret', weight: 6, make: internalWithoutSecret },
  { name: 'internal with a bad body', weight: 8, make: internalBadBody },
  { name: 'mirror entries not frames', weight: 2, make: entriesNotFrames },
  { name: 'control bad body', weight: 8, make: controlBadBody },
  { name: 'control lever of no node', weight: 2, make: controlBadNodeId },
  { name: 'control bad query', weight: 3, make: controlBadQuery },
];

export function drawBadRequest(rng: Prng, ctx: FuzzContext): BadRequest {
  const total = generators.reduce((sum, g) => sum + g.weight, 0);
  let ticket = rng.next() * total;
  for (const generator of generators) {
    ticket -= generator.weight;
    if (ticket < 0) return generator.make(rng, ctx);
  }
  return (generators[generators.length - 1] as (typeof generators)[number]).make(rng, ctx);
}

// Requests whose body stops or crawls; what a correct server does with each is in `expect`:
// trickle is answered like any request, stall gets 408 (the client stays connected, the server
// must not wait for ever), cutoff gets 400 or just a close (the client half-closed mid-body).
export function slowRequests(ctx: FuzzContext): BadRequest[] {
  const value = `{"v":1,"pad":"${'p'.repeat(100)}"}`;
  const slow = (service: string, kind: string, method: string, target: string, body: string | undefined, send: RawRequest['send'], expect: number[]) =>
    make(service, kind, method, target, expect, { headers: body === undefined ? [['X-Unfinished', 'x']] : [JSON_TYPE], body, send, write: target.startsWith('/kv/') });
  const replica = ctx.nodeIds.find((id) => id !== ctx.primary && id !== ctx.mirror) as string;
  return [
    slow(ctx.primary, 'trickled body, bad key', 'PUT', '/kv/bad*key', value, 'trickle', [400]),
    slow(ctx.primary, 'trickled body, bad ack', 'PUT', '/kv/fz-never?ack=most', value, 'trickle', [400]),
    slow('control', 'trickled body, bad fault', 'POST', '/faults/latency', '{"from":"primary","to":"mars","ms":10}', 'trickle', [400]),
    slow(ctx.primary, 'stalled body', 'PUT', '/kv/fz-never', value, 'stall', [408]),
    slow('control', 'stalled body', 'PUT', '/cluster/modes', '{"mirror":"fast"}', 'stall', [408]),
    slow(ctx.primary, 'stalled headers', 'GET', '/status', undefined, 'stall', [408]),
    slow(ctx.primary, 'body cut off (half-close)', 'PUT', '/kv/fz-never', value, 'cutoff', [400]),
    slow(replica, 'body cut off (half-close)', 'PUT', '/kv/fz-never', value, 'cutoff', [400]),
    slow('control', 'body cut off (half-close)', 'POST', '/faults/loss', '{"from":"primary","to":"mirror","rate":2}', 'cutoff', [400]),
    slow(ctx.primary, 'headers cut off (half-close)', 'GET', '/status', undefined, 'cutoff', [400]),
  ];
}
