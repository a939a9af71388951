// The history of a chaos run: every client operation with its start, end, node, ack level and
// result, Jepsen's way. A result is `ok` (it happened), `fail` (it surely did not happen: an error
// answer that says `"definite":true`) or `info` (indeterminate: it may or may not have happened — an
// error answer with `"definite":false` or without the flag, a timeout, a reset connection). The
// node's error body says which (SPEC §3, Maelstrom's rule); the run never guesses it from a code name
// or a message's wording, which change. The classification lives here, pure, so it is unit-tested.

import type { Answer } from './http.ts';

export const ACK_LEVELS = ['local', 'sync', 'all'] as const;
export type AckName = (typeof ACK_LEVELS)[number];
export type OpResult = 'ok' | 'fail' | 'info';

export interface WriteOp {
  type: 'write';
  id: number;
  client: number;
  key: string;
  value: unknown;
  ack: AckName;
  // The node the client sent the write to first, and the one that answered (after a 307).
  node: string;
  servedBy: string | null;
  redirected: boolean;
  // ms from the run's start (monotonic clock).
  startMs: number;
  endMs: number;
  result: OpResult;
  status: number | null;
  error: string | null;
  // The error answer's `definite` flag as it came on the wire; null for a 200, an answer without the
  // flag, or no answer at all.
  definite: boolean | null;
  message?: string;
  lsn: number | null;
  epoch: number | null;
  ackedBy: string[];
  pending: string[];
  degraded: boolean | null;
}

export interface ReadOp {
  type: 'read';
  id: number;
  client: number;
  key: string;
  // The acknowledged write whose key this read looks up; null for a register read (its key has many
  // writes, see REGISTER_PREFIX).
  writeId: number | null;
  // `get`: GET /kv/:key. `list`: GET /kv?prefix=<key>&limit=1, whose answer names the node and its
  // role even when the key is absent (a 404 not_found body does not), so an absent answer can be
  // pinned on a primary.
  via: 'get' | 'list';
  node: string;
  // The role the client believed the node had when it chose it (from the witness's view).
  targetRole: string | null;
  // What the answer said: the node that served it and its role then; null when it did not say.
  servedBy: string | null;
  role: string | null;
  startMs: number;
  endMs: number;
  result: OpResult;
  status: number | null;
  error: string | null;
  // For ok reads: whether the key was there, the entry's LSN and value, the node's applied LSN.
  found: boolean;
  lsn: number | null;
  value?: unknown;
  appliedLsn: number | null;
  // For a read that missed the write: the node's applied LSN right after (from a minLsn probe).
  probedAppliedLsn?: number | null;
}

export type Op = WriteOp | ReadOp;


export interface Classified {
  result: OpResult;
  error: string | null;
}

// A write's HTTP answer (after following at most one 307). Only `"definite":true` makes a failure
// definite; `false`, a missing flag or a body that is not the node's JSON count as indeterminate:
// claiming "it did not happen" without the node saying so would make the checker blind to a real
// loss, and a phantom (a definite failure found present) would go unreported as one. The code is kept
// for the report only: a code never decides definiteness (SPEC §3: one code never means both, but
// codes are added and split over time).
export function classifyWriteAnswer(status: number, body: unknown): Classified {
  if (status === 200) return { result: 'ok', error: null };
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = typeof record.error === 'string' ? record.error : `http_${status}`;
  return { result: record.definite === true ? 'fail' : 'info', error: code };
}

// The `definite` flag of an error answer as it came, for the history (null when there is none).
export function definiteFlag(body: unknown): boolean | null {
  const flag = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).definite : undefined;
  return typeof flag === 'boolean' ? flag : null;
}

// A request that got no HTTP answer counts as indeterminate, with one exception: a connection that
// was refused or never completed its TCP handshake proves that no byte of the request left the
// client, so the node cannot have acted on it. Anything later (a reset, a timeout) may come after
// the node acted on it.
export function classifyRequestError(error: unknown): Classified {
  const code = errorCode(error);
  if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT') return { result: 'fail', error: code.toLowerCase() };
  return { result: 'info', error: code.toLowerCase() };
}

export function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'error';
  const e = error as { code?: unknown; name?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && e.code.length > 0) return e.code;
  if (e.cause !== undefined && e.cause !== error) {
    const inner = errorCode(e.cause);
    if (inner !== 'error') return inner;
  }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  return 'error';
}

// What a write's answer (or its failure to get one) puts in the history.
export function writeOutcome(answer: Answer | null, failure: unknown) {
  if (!answer) {
    const c = classifyRequestError(failure);
    return { ...c, status: null, definite: null, lsn: null, epoch: null, ackedBy: [], pending: [], degraded: null };
  }
  const c = classifyWriteAnswer(answer.status, answer.body);
  const b = typeof answer.body === 'object' && answer.body !== null ? (answer.body as Record<string, unknown>) : {};
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    ...c,
    status: answer.status,
    definite: c.result === 'ok' ? null : definiteFlag(answer.body),
    ...(c.result === 'ok' || typeof b.message !== 'string' ? {} : { message: b.message.slice(0, 200) }),
    lsn: typeof b.lsn === 'number' ? b.lsn : null,
    epoch: typeof b.epoch === 'number' ? b.epoch : null,
    ackedBy: list(b.ackedBy),
    pending: list(b.pending),
    degraded: typeof b.degraded === 'boolean' ? b.degraded : null,
  };
}

type ReadOutcome = Omit<ReadOp, 'type' | 'id' | 'client' | 'key' | 'writeId' | 'via' | 'node' | 'targetRole' | 'startMs' | 'endMs'>;

// A read's answer. `role` and `servedBy` come from the answer alone (null when it does not say).
// A 200 of the list route with no item is an absent key, like a 404 not_found of GET /kv/:key.
export function readOutcome(answer: Answer, key: string): ReadOutcome {
  const b = typeof answer.body === 'object' && answer.body !== null ? (answer.body as Record<string, unknown>) : {};
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  const appliedLsn = typeof b.appliedLsn === 'number' ? b.appliedLsn : null;
  const who = { servedBy: text(b.servedBy), role: text(b.role), appliedLsn };
  if (answer.status === 200 && Array.isArray(b.items)) {
    const item = (b.items as Array<{ key?: unknown; value?: unknown; lsn?: unknown }>).find((i) => i.key === key);
    if (!item) return { result: 'ok', status: 200, error: null, found: false, lsn: null, ...who };
    return { result: 'ok', status: 200, error: null, found: true, value: item.value, lsn: typeof item.lsn === 'number' ? item.lsn : null, ...who };
  }
  if (answer.status === 200) return { result: 'ok', status: 200, error: null, found: true, value: b.value, lsn: typeof b.lsn === 'number' ? b.lsn : null, ...who };
  const error = typeof b.error === 'string' ? b.error : `http_${answer.status}`;
  if (answer.status === 404 && error === 'not_found') return { result: 'ok', status: 404, error: null, found: false, lsn: null, ...who };
  return { result: 'fail', status: answer.status, error, found: false, lsn: null, ...who };
}

// The key of a chaos write: fixed width, so no key is a prefix of another.
export const KEY_PREFIX = 'w/';

export function writeKey(client: number | string, seq: number): string {
  return `${KEY_PREFIX}${client}/${String(seq).padStart(9, '0')}`;
}

// Register keys: a few keys every client overwrites (ack=sync and ack=all only) and reads on the
// primary, so their histories hold concurrent writes and reads, which is what a linearizability
// check needs to mean more than "a read missed a write". Each slot moves to a fresh key every so
// often (the generation), which bounds each key's history. Fixed width, like writeKey.
export const REGISTER_PREFIX = 'r/';

export function registerKey(slot: number, generation: number): string {
  return `${REGISTER_PREFIX}${String(slot).padStart(2, '0')}/${String(generation).padStart(6, '0')}`;
}
