// Goal: the KV state applies entries in order, and its digest depends only on the key/value
// contents (not on history or order), so copies holding the same entries agree at the same LSN.

import { describe, expect, it } from 'vitest';
import { encodeEntry, type NewEntry } from '../../../shared/log-format.ts';
import { limits } from '../../../shared/limits.ts';
import { KvState } from '../../../services/node/src/storage/kv-state.ts';

let lsn = 0;
function put(key: string, value: unknown, at = ++lsn) {
  return encodeEntry({ lsn: at, epoch: 1, ts: 0, op: 'put', key, valueJson: JSON.stringify(value) } as NewEntry);
}
function del(key: string, at = ++lsn) {
  return encodeEntry({ lsn: at, epoch: 1, ts: 0, op: 'del', key });
}

describe('KvState', () => {
  it('applies puts and deletes and tracks count and bytes', () => {
    lsn = 0;
    const state = new KvState();
    state.apply(put('a', 1));
    state.apply(put('b', 'two'));
    state.apply(put('a', 3));
    state.apply(del('b'));
    expect(state.get('a')).toEqual({ valueJson: '3', lsn: 3 });
    expect(state.get('b')).toBeUndefined();
    expect(state.size).toBe(1);
    expect(state.bytes).toBe(2);
    expect(state.appliedLsn).toBe(4);
  });

  it('refuses entries out of order', () => {
    const state = new KvState();
    state.apply(put('a', 1, 5));
    expect(() => state.apply(put('a', 1, 5))).toThrow();
  });

  it('gives equal digests for equal contents reached by different histories', () => {
    const one = new KvState();
    const two = new KvState();
    one.apply(put('x', 1, 1));
    one.apply(put('y', 2, 2));
    two.apply(put('y', 9, 1));
    two.apply(put('x', 1, 2));
    expect(one.digest()).not.toBe(two.digest());
    two.apply(put('y', 2, 3));
    expect(two.digest()).toBe(one.digest());
    one.apply(del('x', 3));
    expect(one.digest()).not.toBe(two.digest());
  });

  it('empty state and a deleted-everything state have the same digest', () => {
    const state = new KvState();
    const empty = state.digest();
    state.apply(put('k', 1, 1));
    state.apply(del('k', 2));
    expect(state.digest()).toBe(empty);
  });

  it('remembers the digest at past LSNs and for a tracked prefix', () => {
    const state = new KvState();
    state.trackPrefix('eu/');
    state.apply(put('eu/a', 1, 1));
    const at1 = state.digest();
    const eu1 = state.digest('eu/');
    state.apply(put('us/b', 2, 2));
    state.advanceTo(5);
    expect(state.digestAt(1)).toBe(at1);
    expect(state.digestAt(4)).toBe(state.digest());
    expect(state.digestAt(6)).toBeNull();
    expect(state.digestAt(5, 'eu/')).toBe(eu1);
    const filtered = new KvState();
    filtered.apply(put('eu/a', 1, 1));
    expect(filtered.digest()).toBe(state.digest('eu/'));
  });

  it('answers for a prefix tracked late at the LSN it was tracked at, before any new entry', () => {
    const state = new KvState();
    state.apply(put('eu/a', 1, 1));
    state.apply(put('us/b', 2, 2));
    expect(state.digestAt(2, 'eu/')).toBeNull();
    state.trackPrefix('eu/');
    expect(state.digestAt(2, 'eu/')).toBe(state.digest('eu/'));
    expect(state.digestAt(1, 'eu/')).toBeNull();
  });

  it('keeps a bounded history: old points fall out, recent ones stay exact after the ring wraps', () => {
    const state = new KvState();
    state.trackPrefix('p/');
    const seen = new Map<number, string>();
    const total = limits.digestHistoryMax + 500;
    for (let at = 1; at <= total; at++) {
      state.apply(put(at % 2 === 0 ? `p/${at}` : `q/${at}`, at, at));
      if (at % 97 === 0) seen.set(at, state.digest());
    }
    expect(state.digestAt(100)).toBeNull();
    for (const [at, digest] of seen) {
      if (at > total - limits.digestHistoryMax) expect(state.digestAt(at)).toBe(digest);
    }
    expect(state.digestAt(total, 'p/')).toBe(state.digest('p/'));
  });

  it('lists by prefix in key order with a limit, and counts a prefix', () => {
    const state = new KvState();
    let at = 0;
    for (const key of ['p/c', 'p/a', 'q/z', 'p/b']) state.apply(put(key, key, ++at));
    expect(state.list('p/', 2).map((i) => i.key)).toEqual(['p/a', 'p/b']);
    expect(state.list('p/', 10, 'p/a').map((i) => i.key)).toEqual(['p/b', 'p/c']);
    expect(state.stats('p/')).toEqual({ count: 3, bytes: 3 * 3 + 3 * 5 });
  });

  it('loads a snapshot and reports the same digest as the state it came from', () => {
    const state = new KvState();
    state.apply(put('a', [1, 2], 1));
    state.apply(put('b', { c: null }, 2));
    const copy = new KvState();
    copy.load(2, state.snapshotItems());
    expect(copy.digest()).toBe(state.digest());
    expect(copy.appliedLsn).toBe(2);
  });
});
