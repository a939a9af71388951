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

// The digest history is a fixed ring of (LSN, digest) points in typed arrays: recording a point
// allocates nothing, which matters because it happens for every applied entry (GC pauses on
// copies are what set the replication lag's tail). Hex strings are made only when asked for.
class DigestHistory {
  private readonly lsns: Float64Array;
  private readonly all: Buffer;
  // Per tracked prefix: its ring, and the first point (by sequence) that recorded it.
  private readonly prefixes = new Map<string, { ring: Buffer; sinceSeq: number }>();
  // Points recorded so far; the ring holds the last `capacity` of them.
  private seq = 0;

  constructor(private readonly capacity: number) {
    this.lsns = new Float64Array(capacity);
    this.all = Buffer.alloc(capacity * DIGEST_BYTES);
  }

  clear(): void {
    this.seq = 0;
    for (const entry of this.prefixes.values()) entry.sinceSeq = 0;
  }

  track(prefix: string): void {
    if (!this.prefixes.has(prefix)) this.prefixes.set(prefix, { ring: Buffer.alloc(this.capacity * DIGEST_BYTES), sinceSeq: this.seq });
  }

  record(lsn: number, digestAll: Buffer, prefixDigests: ReadonlyMap<string, Buffer>): void {
    const slot = this.seq % this.capacity;
    this.lsns[slot] = lsn;
    digestAll.copy(this.all, slot * DIGEST_BYTES);
    for (const [prefix, digest] of prefixDigests) {
      const entry = this.prefixes.get(prefix);
      if (entry) digest.copy(entry.ring, slot * DIGEST_BYTES);
    }
    this.seq++;
  }

  // The digest recorded at the last point at or below `lsn`; null when the ring no longer
  // reaches back that far or the prefix was not tracked then.
  at(lsn: number, prefix: string): string | null {
    const oldest = Math.max(0, this.seq - this.capacity);
    let lo = oldest;
    let hi = this.seq - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((this.lsns[mid % this.capacity] as number) <= lsn) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    const offset = (found % this.capacity) * DIGEST_BYTES;
    if (prefix === '') return this.all.toString('hex', offset, offset + DIGEST_BYTES);
    const entry = this.prefixes.get(prefix);
    if (!entry || found < entry.sinceSeq) return null;
    return entry.ring.toString('hex', offset, offset + DIGEST_BYTES);
  }
}

export class KvState {
  private readonly items = new Map<string, KvItem>();
  private readonly digestAll = Buffer.alloc(DIGEST_BYTES);
  // Prefix digests kept up to date for filtered replicas, so a filtered copy can be verified.
  private readonly prefixDigests = new Map<string, Buffer>();
  private readonly history = new DigestHistory(limits.digestHistoryMax);
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
    this.history.clear();
    this.bytesTotal = 0;
    for (const [key, valueJson, itemLsn] of items) this.insert(key, { valueJson, lsn: itemLsn });
    this.appliedLsn = lsn;
    this.record();
  }

  // Starts keeping a digest of the keys under `prefix` (computed once by a scan, then kept), up to
  // limits.trackedPrefixesMax prefixes; past that, digest(prefix) scans each time and no history of
  // it is kept (digestAt answers null for it).
  trackPrefix(prefix: string): void {
    if (prefix === '' || this.prefixDigests.has(prefix) || this.prefixDigests.size >= limits.trackedPrefixesMax) return;
    this.prefixDigests.set(prefix, this.computeDigest(prefix));
    this.history.track(prefix);
    // A point at the current LSN, so the prefix can be verified here before the next entry arrives.
    this.record();
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
    return this.history.at(lsn, prefix);
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

  // The items last written by an entry with an LSN in (afterLsn, throughLsn], in key order.
  itemsWrittenBetween(afterLsn: number, throughLsn: number): Array<[string, string, number]> {
    const out: Array<[string, string, number]> = [];
    for (const [key, item] of this.items) if (item.lsn > afterLsn && item.lsn <= throughLsn) out.push([key, item.valueJson, item.lsn]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
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
    this.history.record(this.appliedLsn, this.digestAll, this.prefixDigests);
  }
}
