// Turns what a node's traffic log answered into what the event stream may carry: pure, so the
// bounds are testable. Two steps:
//
//   coalesce  messages of one kind on one link (same sender, receiver, kind, fate) within `windowMs`
//             of the first become one record with `messages: n`, the LSN range they span, their
//             bytes summed and the longest delay: a busy primary's 200 mirror batches a second
//             travel on as ~10 arrows labelled "×20 LSN 4001–4200";
//   sample    at most `max` records: entries and acks (what the message view is about) first,
//             heartbeats and witness traffic with the room left, each evenly over time.

import type { TrafficRecord } from '../../../../shared/traffic-log.ts';

export interface SampledRecord extends Omit<TrafficRecord, 'seq'> {
  // Messages this record stands for (1 when nothing was merged).
  messages: number;
  // From the first to the last merged message's hand-off, ms.
  spanMs: number;
}

export function coalesce(records: readonly TrafficRecord[], windowMs: number): SampledRecord[] {
  const out: SampledRecord[] = [];
  const open = new Map<string, SampledRecord>();
  for (const r of [...records].sort((a, b) => a.at - b.at)) {
    const key = `${r.from}>${r.to}>${r.kind}>${r.lost ? 'lost' : ''}`;
    const group = open.get(key);
    if (group && r.at - group.at <= windowMs) {
      merge(group, r);
      continue;
    }
    const { seq: _seq, ...fields } = r;
    const fresh: SampledRecord = { ...fields, messages: 1, spanMs: 0 };
    open.set(key, fresh);
    out.push(fresh);
  }
  return out;
}

function merge(group: SampledRecord, r: TrafficRecord): void {
  group.messages += 1;
  group.count += r.count;
  group.bytes += r.bytes;
  group.delayMs = Math.max(group.delayMs, r.delayMs);
  group.spanMs = Math.max(group.spanMs, r.at - group.at);
  if (r.fromLsn !== undefined) group.fromLsn = group.fromLsn === undefined ? r.fromLsn : Math.min(group.fromLsn, r.fromLsn);
  if (r.toLsn !== undefined) group.toLsn = group.toLsn === undefined ? r.toLsn : Math.max(group.toLsn, r.toLsn);
}

// Heartbeats and the witness channel: steady background the view can thin out first.
export function isChatter(kind: string): boolean {
  return kind.includes('heartbeat') || kind.startsWith('witness-');
}

// At most `max` records, oldest first; `dropped` counts the records left out.
export function sample<T extends { kind: string; at: number }>(records: readonly T[], max: number): { kept: T[]; dropped: number } {
  if (records.length <= max) return { kept: [...records], dropped: 0 };
  const essential = records.filter((r) => !isChatter(r.kind));
  const chatter = records.filter((r) => isChatter(r.kind));
  const keptEssential = evenly(essential, max);
  const keptChatter = evenly(chatter, max - keptEssential.length);
  const kept = [...keptEssential, ...keptChatter].sort((a, b) => a.at - b.at);
  return { kept, dropped: records.length - kept.length };
}

// `n` items spread evenly over the list (its first and last included when n ≥ 2).
export function evenly<T>(items: readonly T[], n: number): T[] {
  if (n <= 0) return [];
  if (items.length <= n) return [...items];
  if (n === 1) return [items[items.length - 1] as T];
  const step = (items.length - 1) / (n - 1);
  return Array.from({ length: n }, (_, i) => items[Math.round(i * step)] as T);
}

// A token bucket per source: `perSecond` records a second on average, bursts up to one second's
// worth. take() says how many may go now and spends them.
export class RecordBudget {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly perSecond: number,
    nowMs = Date.now(),
  ) {
    this.tokens = perSecond;
    this.lastMs = nowMs;
  }

  available(nowMs = Date.now()): number {
    this.tokens = Math.min(this.perSecond, this.tokens + ((nowMs - this.lastMs) / 1000) * this.perSecond);
    this.lastMs = nowMs;
    return Math.floor(this.tokens);
  }

  spend(n: number): void {
    this.tokens = Math.max(0, this.tokens - n);
  }
}
