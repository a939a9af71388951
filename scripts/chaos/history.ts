// The history of a chaos run: every client operation with its start, end, node, ack level and
// result, Jepsen's way. A result is `ok` (it happened), `fail` (it surely did not happen: a
// definite error) or `info` (indeterminate: it may or may not have happened — a timeout, a reset
// connection, an error the API calls indefinite). The classification of answers lives here, pure,
// so it is unit-tested against the node's error catalog.

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
  // The acknowledged write whose key this read looks up.
  writeId: number;
  node: string;
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

// Error codes the node answers before anything was appended: the write surely did not happen.
const DEFINITE_CODES = new Set([
  'bad_key', 'bad_ack', 'bad_body', 'bad_request', 'too_large', 'unsupported_media_type', 'not_found',
  'method_not_allowed', 'not_primary', 'overloaded', 'unavailable', 'standby_not_readable', 'stale_epoch',
]);
// Error codes the node answers after the append: the write may survive (SPEC §6.5).
const INDEFINITE_CODES = new Set(['mirror_unavailable', 'ack_timeout', 'role_ended', 'write_failed', 'internal']);

// A write's HTTP answer (after following at most one 307). Unknown codes count as indeterminate:
// claiming "it did not happen" without knowing would make the checker blind to a real loss.
export function classifyWriteAnswer(status: number, body: unknown): Classified {
  if (status === 200) return { result: 'ok', error: null };
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = typeof record.error === 'string' ? record.error : `http_${status}`;
  if (code === 'no_quorum') {
    // Refused up front (definite) or lost the lease while the appended entry waited (indefinite:
    // the answer carries the entry's LSN and says "may or may not survive").
    const afterAppend = typeof record.lsn === 'number' || (typeof record.message === 'string' && record.message.includes('may or may not'));
    return { result: afterAppend ? 'info' : 'fail', error: code };
  }
  if (INDEFINITE_CODES.has(code)) return { result: 'info', error: code };
  if (DEFINITE_CODES.has(code)) return { result: 'fail', error: code };
  if (status === 307) return { result: 'fail', error: 'not_primary' };
  if (status >= 400 && status < 500) return { result: 'fail', error: code };
  return { result: 'info', error: code };
}

// A request that got no HTTP answer. Only a refused connection proves the request never arrived;
// anything later (a reset, a timeout) may come after the node acted on it.
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

// The key of a chaos write: fixed width, so no key is a prefix of another.
export const KEY_PREFIX = 'w/';

export function writeKey(client: number | string, seq: number): string {
  return `${KEY_PREFIX}${client}/${String(seq).padStart(9, '0')}`;
}
