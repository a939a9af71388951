// The traffic log: a bounded ring of the peer messages this process sent recently, recorded by the
// link layer where it sends them (shared/link.ts: requests, answers, WebSocket messages), so the
// dashboard can draw the real replication traffic as a sequence diagram. Control collects each
// node's ring (GET /internal/traffic) and passes a coalesced, rate-bounded sample on as events.
//
// A record says who sent what to whom and when the sender handed it to the link: its kind (what
// the message is for, from its route or its `type`), the entries or LSN it carries, its size, and
// what the fault rules did to it (held for `delayMs`, or lost). Control-plane traffic (rule
// delivery, pauses, event and traffic collection) is not peer traffic and is never recorded.
//
// Recording must cost the send path next to nothing: kinds come from the URL path or the first
// bytes of a message, LSNs from frame headers and the first bytes of a payload; nothing is parsed
// whole and no message is copied.

import { randomUUID } from 'node:crypto';
import { FRAME_HEADER_BYTES } from './log-format.ts';

export interface TrafficRecord {
  // Grows by one per record; starts over with the process (see TrafficLog.bootId).
  seq: number;
  // When the sender handed the message to the link, ms since the Unix epoch.
  at: number;
  from: string;
  to: string;
  // mirror-batch, mirror-ack, stream-entries, stream-ack, stream-heartbeat, witness-heartbeat, ...
  kind: string;
  // Entries the message carries (0 for a message without entries).
  count: number;
  // The LSN range of the entries it carries; for an ack or a heartbeat, the one LSN it reports.
  fromLsn?: number;
  toLsn?: number;
  bytes: number;
  // How long a latency rule held it before it left (0 without one).
  delayMs: number;
  // A loss or partition rule swallowed it: it never arrived.
  lost?: true;
}

// What the link knows about a WebSocket message it was asked to send (a subset of LinkVerdict, so
// this file needs nothing from fault-rules.ts).
export type SendOutcome = { action: 'deliver'; delayMs: number } | { action: 'reject' | 'drop' | 'lose' };

// Fields the kind-specific readers fill in.
type Carried = Pick<TrafficRecord, 'count' | 'fromLsn' | 'toLsn'>;

export class TrafficLog {
  // Changes when the process restarts, so a collector knows its cursor means nothing any more.
  readonly bootId = randomUUID();
  private readonly ring: TrafficRecord[] = [];
  private next = 0;
  private seq = 0;

  constructor(private readonly recordsMax: number) {
    if (!Number.isSafeInteger(recordsMax) || recordsMax < 1) throw new Error(`a traffic log needs room for at least one record, not ${recordsMax}`);
  }

  get lastSeq(): number {
    return this.seq;
  }

  // An HTTP request that left for `to` (control-plane requests are skipped here, so the link's
  // call site stays one line). `handedAt`: when the link got it; it left now.
  request(from: string, to: string, url: string, options: { body?: string | Buffer; headers?: Record<string, string>; controlPlane?: boolean }, handedAt: number): void {
    if (options.controlPlane) return;
    const route = routeOf(url);
    const carried = route === 'mirror/entries' ? framesCarried(options.body) : lsnCarried(options.body);
    this.add({ at: handedAt, from, to, kind: requestKind(route), bytes: sizeOf(options.body), delayMs: Date.now() - handedAt, ...carried });
  }

  // The answer to a peer's request, as it left for the requester. `handedAt`: when the handler
  // had it ready; the link may have held it since.
  answer(from: string, to: string, url: string, payload: unknown, handedAt: number): void {
    const route = routeOf(url);
    this.add({ at: handedAt, from, to, kind: answerKind(route), bytes: sizeOf(payload), delayMs: Date.now() - handedAt, ...lsnCarried(payload) });
  }

  // A WebSocket message the link was asked to send, with what the rules decided for it.
  message(from: string, to: string, data: string | Buffer, outcome: SendOutcome): void {
    const carried = typeof data === 'string' ? lsnCarried(data) : framesCarried(data);
    const record = { at: Date.now(), from, to, kind: messageKind(data), bytes: sizeOf(data), delayMs: outcome.action === 'deliver' ? outcome.delayMs : 0, ...carried };
    this.add(outcome.action === 'deliver' ? record : { ...record, lost: true });
  }

  // Records with seq above `after`, oldest first: the newest `limit` of them when there are more.
  after(after: number, limit: number): { records: TrafficRecord[]; skipped: number } {
    const ordered = this.ring.length < this.recordsMax ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    const found = ordered.filter((r) => r.seq > after);
    const skipped = Math.max(0, found.length - limit) + Math.max(0, (ordered[0]?.seq ?? this.seq + 1) - after - 1);
    return { records: found.slice(Math.max(0, found.length - limit)), skipped };
  }

  private add(fields: Omit<TrafficRecord, 'seq'>): void {
    const record: TrafficRecord = { seq: ++this.seq, ...fields };
    if (this.ring.length < this.recordsMax) this.ring.push(record);
    else this.ring[this.next] = record;
    this.next = (this.next + 1) % this.recordsMax;
  }
}

// "/internal/mirror/entries?x" -> "mirror/entries"; a path outside /internal/ stays as it is.
export function routeOf(url: string): string {
  const start = url.indexOf('/internal/');
  const path = start >= 0 ? url.slice(start + '/internal/'.length) : url.replace(/^[a-z]+:\/\/[^/]+/i, '');
  const end = path.search(/[?#]/);
  return end >= 0 ? path.slice(0, end) : path;
}

// Kinds of requests and of their answers, by route. Other routes are named after their path.
const ROUTE_KINDS: Record<string, [request: string, answer: string]> = {
  'mirror/entries': ['mirror-batch', 'mirror-ack'],
  'mirror/heartbeat': ['mirror-heartbeat', 'mirror-heartbeat-ack'],
  'mirror/position': ['mirror-position', 'mirror-position-ok'],
  'mirror/snapshot': ['mirror-snapshot', 'mirror-snapshot-ok'],
  'mirror/rollback': ['mirror-rollback', 'mirror-rollback-ok'],
  'witness/heartbeat': ['witness-heartbeat', 'witness-view'],
};

export function requestKind(route: string): string {
  return ROUTE_KINDS[route]?.[0] ?? route.replaceAll('/', '-');
}

export function answerKind(route: string): string {
  return ROUTE_KINDS[route]?.[1] ?? `${route.replaceAll('/', '-')}-reply`;
}

// A binary WebSocket message is a batch of log frames; a text one is JSON keyed on `type`
// (shared/protocol.ts), which the encoders always write first.
export function messageKind(data: string | Buffer): string {
  if (typeof data !== 'string') return 'stream-entries';
  const type = /^\{"type":"([a-z_]{1,40})"/.exec(data.slice(0, 64))?.[1];
  return type ? `stream-${type.replaceAll('_', '-')}` : 'stream-message';
}

// Walks the frame headers of a batch (u32 length | u32 CRC | payload) and reads the LSN at the
// start of the first and last payloads ({"lsn":N,...}, as log-format.ts encodes every entry).
export function framesCarried(body: unknown): Carried {
  if (!Buffer.isBuffer(body)) return { count: 0 };
  let count = 0;
  let offset = 0;
  let last = -1;
  while (offset + FRAME_HEADER_BYTES <= body.length) {
    count++;
    last = offset;
    offset += FRAME_HEADER_BYTES + body.readUInt32BE(offset);
  }
  if (count === 0) return { count: 0 };
  const fromLsn = payloadLsn(body, 0);
  const toLsn = payloadLsn(body, last);
  return fromLsn === undefined || toLsn === undefined ? { count } : { count, fromLsn, toLsn };
}

function payloadLsn(body: Buffer, frameOffset: number): number | undefined {
  const start = frameOffset + FRAME_HEADER_BYTES;
  const match = /^\{"lsn":(\d{1,16})/.exec(body.toString('latin1', start, Math.min(body.length, start + 24)));
  return match ? Number(match[1]) : undefined;
}

// The LSN a small JSON message reports (an ack, a heartbeat, entries_ok), from its first bytes.
export function lsnCarried(body: unknown): Carried {
  const head = typeof body === 'string' ? body.slice(0, 160) : Buffer.isBuffer(body) ? body.toString('latin1', 0, Math.min(body.length, 160)) : '';
  const match = /"lsn":(\d{1,16})/.exec(head);
  if (!match) return { count: 0 };
  const lsn = Number(match[1]);
  return { count: 0, fromLsn: lsn, toLsn: lsn };
}

function sizeOf(body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (Buffer.isBuffer(body)) return body.length;
  return 0;
}
