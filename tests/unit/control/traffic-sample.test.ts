// Goal: control turns a node's traffic records into a bounded stream: bursts of one kind on one
// link coalesce into one record (with the LSN range they span), and a sample keeps entries and
// acks before heartbeats, evenly over time, within a per-source token bucket.

import { describe, expect, it } from 'vitest';
import { coalesce, evenly, RecordBudget, sample } from '../../../services/control/src/dashboard/traffic-sample.ts';
import type { TrafficRecord } from '../../../shared/traffic-log.ts';

let seq = 0;
function record(at: number, fields: Partial<TrafficRecord> = {}): TrafficRecord {
  return { seq: ++seq, at, from: 'primary', to: 'mirror', kind: 'mirror-batch', count: 1, fromLsn: at, toLsn: at, bytes: 10, delayMs: 0, ...fields };
}

describe('coalesce', () => {
  it('merges one kind on one link within the window, keeps kinds, links and losses apart', () => {
    const merged = coalesce([record(0), record(30, { delayMs: 5 }), record(90), record(150), record(40, { kind: 'mirror-ack', from: 'mirror', to: 'primary' }), record(50, { lost: true })], 100);
    expect(merged.map((r) => [r.at, r.kind, r.messages, r.count, r.fromLsn, r.toLsn, r.bytes, r.delayMs, r.spanMs, r.lost ?? false])).toEqual([
      [0, 'mirror-batch', 3, 3, 0, 90, 30, 5, 90, false],
      [40, 'mirror-ack', 1, 1, 40, 40, 10, 0, 0, false],
      [50, 'mirror-batch', 1, 1, 50, 50, 10, 0, 0, true],
      [150, 'mirror-batch', 1, 1, 150, 150, 10, 0, 0, false],
    ]);
    expect(merged.every((r) => !('seq' in r))).toBe(true);
  });
});

describe('sample', () => {
  it('keeps everything under the bound, else entries first and heartbeats with the room left', () => {
    const data = Array.from({ length: 10 }, (_, i) => ({ at: i * 2, kind: 'stream-entries' }));
    const chatter = Array.from({ length: 10 }, (_, i) => ({ at: i * 2 + 1, kind: 'stream-heartbeat' }));
    expect(sample(data, 10)).toEqual({ kept: data, dropped: 0 });
    const some = sample([...data, ...chatter], 12);
    expect(some.kept).toHaveLength(12);
    expect(some.dropped).toBe(8);
    expect(some.kept.filter((r) => r.kind === 'stream-entries')).toHaveLength(10);
    expect(some.kept.map((r) => r.at)).toEqual([...some.kept.map((r) => r.at)].sort((x, y) => x - y));
    expect(sample([...data, ...chatter], 4).kept.every((r) => r.kind === 'stream-entries')).toBe(true);
    expect(evenly([1, 2, 3, 4, 5, 6, 7, 8, 9], 3)).toEqual([1, 5, 9]);
    expect(evenly([1, 2, 3], 0)).toEqual([]);
  });

  it('budgets records per source: a second of burst, then the steady rate', () => {
    const budget = new RecordBudget(40, 0);
    expect(budget.available(0)).toBe(40);
    budget.spend(40);
    expect(budget.available(250)).toBe(10);
    budget.spend(10);
    expect(budget.available(10_250)).toBe(40);
  });
});
