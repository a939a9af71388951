// The key-value state: derived from snapshot + log, never written on its own. It keeps an
// order-independent digest (XOR of a hash per key/value pair) that changes in O(1) per entry, so
// two nodes holding the same entries agree on it at the same LSN without sorting the keys, and a
// bounded history of (LSN, digest) so copies at different positions can be compared at a common LSN.

import { hash } from 'node:crypto';
import type { LogEntry } from '../../../../shared/log-format.ts';
import { limits } from '../../../../shared/limits.ts';

export interface KvItem {
  valueJson: string;
  lsn: number;
}

const DIGEST_BYTES = 16;

// One-shot hashing: no hash object per entry (the hot path of apply and of a full resync).
function itemHash(key: string, valueJson: string): Buffer {
  return hash('sha256', `${key}\0${valueJson}`, 'buffer').subarray(0, DIGEST_BYTES);
}

function xorInto(target: Buffer, hash: Buffer): void {
  for (let i = 0; i < DIGEST_BYTES; i++) target[i] = (target[i] ?? 0) ^ (hash[i] ?? 0);
}

interface DigestPoint {
  lsn: number;
  all: string;
  byPrefix: Map<string, string>;
}

export class KvState {
  private readonly items = new Map<string, KvItem>();
  private readonly digestAll = Buffer.alloc(DIGEST_BYTES);
  // Prefix digests kept up to date for filtered replicas, so a filtered copy can be verified.
  private readonly prefixDigests = new Map<string, Buffer>();
  private readonly history: DigestPoint[] = [];
  private bytesTotal = 0;
  // The LSN the state reflects: every entry up to it has been applied (or filtered out).
  appliedLsn = 0;

  get size(): number {
    return this.items.size;
  }

  get bytes(): number {
    return this.bytesTotal;
  }

  get(key: string): KvItem | undefined {
    return this.items.get(key);
  }

  // Applies one entry; entries must come in increasing LSN order.
  apply(entry: LogEntry): void {
    if (entry.lsn <= this.appliedLsn) throw new Error(`entry ${entry.lsn} applied after ${this.appliedLsn}`);
    const old = this.items.get(entry.key);
    if (old) this.remove(entry.key, old);
    if (entry.op === 'put' && entry.valueJson !== undefined) this.insert(entry.key, { valueJson: entry.valueJson, lsn: entry.lsn });
    this.appliedLsn = entry.lsn;
    this.record();
  }

  // Moves the applied LSN forward without an entry: a filtered replica learns it has everything
  // up to `lsn` that passes its filter.
  advanceTo(lsn: number): void {
    if (lsn <= this.appliedLsn) return;
    this.appliedLsn = lsn;
    this.record();
  }

  // Replaces everything with a snapshot's items.
  load(lsn: number, items: Iterable<[string, string, number]>): void {
    this.items.clear();
    this.digestAll.fill(0);
    for (const digest of this.prefixDigests.values()) digest.fill(0);
    this.history.length = 0;
    this.bytesTotal = 0;
    for (const [key, valueJson, itemLsn] of items) this.insert(key, { valueJson, lsn: itemLsn });
    this.appliedLsn = lsn;
    this.record();
  }

  // Starts keeping a digest of the keys under `prefix` (computed once by a scan, then kept).
  trackPrefix(prefix: string): void {
    if (prefix === '' || this.prefixDigests.has(prefix)) return;
    this.prefixDigests.set(prefix, this.computeDigest(prefix));
  }

  // The digest of the current state (of the keys under `prefix`, when given).
  digest(prefix = ''): string {
    if (prefix === '') return this.digestAll.toString('hex');
    return (this.prefixDigests.get(prefix) ?? this.computeDigest(prefix)).toString('hex');
  }

  // The digest as it was at `lsn`, or null when the history no longer reaches back that far, the
  // state has not reached it, or the prefix was not tracked then.
  digestAt(lsn: number, prefix = ''): string | null {
    if (lsn > this.appliedLsn) return null;
    const point = this.pointAt(lsn);
    if (!point) return null;
    return prefix === '' ? point.all : (point.byPrefix.get(prefix) ?? null);
  }

  // Keys under `prefix` in key order, starting after `after`, at most `limit`.
  list(prefix: string, limit: number, after = ''): Array<{ key: string } & KvItem> {
    const keys: string[] = [];
    for (const key of this.items.keys()) if (key.startsWith(prefix) && key > after) keys.push(key);
    keys.sort();
    return keys.slice(0, limit).map((key) => ({ key, ...(this.items.get(key) as KvItem) }));
  }

  stats(prefix: string): { count: number; bytes: number } {
    let count = 0;
    let bytes = 0;
    for (const [key, item] of this.items) {
      if (!key.startsWith(prefix)) continue;
      count++;
      bytes += key.length + item.valueJson.length;
    }
    return { count, bytes };
  }

  // Every item, for a snapshot. The array is a copy, safe to write out asynchronously.
  snapshotItems(): Array<[string, string, number]> {
    const out: Array<[string, string, number]> = [];
    for (const [key, item] of this.items) out.push([key, item.valueJson, item.lsn]);
    return out;
  }

  private insert(key: string, item: KvItem): void {
    this.items.set(key, item);
    this.bytesTotal += key.length + item.valueJson.length;
    const hash = itemHash(key, item.valueJson);
    xorInto(this.digestAll, hash);
    for (const [prefix, digest] of this.prefixDigests) if (key.startsWith(prefix)) xorInto(digest, hash);
  }

  private remove(key: string, item: KvItem): void {
    this.items.delete(key);
    this.bytesTotal -= key.length + item.valueJson.length;
    const hash = itemHash(key, item.valueJson);
    xorInto(this.digestAll, hash);
    for (const [prefix, digest] of this.prefixDigests) if (key.startsWith(prefix)) xorInto(digest, hash);
  }

  private computeDigest(prefix: string): Buffer {
    const digest = Buffer.alloc(DIGEST_BYTES);
    for (const [key, item] of this.items) if (key.startsWith(prefix)) xorInto(digest, itemHash(key, item.valueJson));
    return digest;
  }

  private record(): void {
    const byPrefix = new Map<string, string>();
    for (const [prefix, digest] of this.prefixDigests) byPrefix.set(prefix, digest.toString('hex'));
    this.history.push({ lsn: this.appliedLsn, all: this.digestAll.toString('hex'), byPrefix });
    // Trim in chunks so a write does not shift the whole history each time.
    if (this.history.length > limits.digestHistoryMax * 1.25) this.history.splice(0, this.history.length - limits.digestHistoryMax);
  }

  // The last recorded point at or below `lsn` (the state did not change between points).
  private pointAt(lsn: number): DigestPoint | undefined {
    let lo = 0;
    let hi = this.history.length - 1;
    let found: DigestPoint | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const point = this.history[mid] as DigestPoint;
      if (point.lsn <= lsn) {
        found = point;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Every change records a point, so the last point at or below `lsn` is exact; below the
    // oldest point the history cannot tell.
    return found;
  }
}
