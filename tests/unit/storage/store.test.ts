// Goal: the store keeps its applied state behind its log, always. A filtered copy that skips ahead
// moves both; a rollback brings both back; an entry at or below a skipped position is refused as
// old, never applied out of order (the "entry 115 applied after 123" wedge of issue 12); and a
// state that still stops following the log is reported once and applies nothing more until a
// snapshot replaces both.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEntry, type LogEntry } from '../../../shared/log-format.ts';
import { Store } from '../../../services/node/src/storage/store.ts';

const dirs: string[] = [];
const stores: Store[] = [];
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function openStore(): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorlab-store-'));
  dirs.push(dir);
  const store = await Store.open({ dir, fsync: 'batch', logger: silent, snapshotEveryEntries: 1_000_000 });
  stores.push(store);
  return store;
}

function entry(lsn: number, epoch = 1): LogEntry {
  return encodeEntry({ lsn, epoch, ts: 1_700_000_000_000 + lsn, op: 'put', key: `k${lsn}`, valueJson: String(lsn) });
}

async function appendDurable(store: Store, lsns: number[], epoch = 1): Promise<void> {
  for (const lsn of lsns) store.append(entry(lsn, epoch));
  await store.waitDurable(lsns.at(-1) as number);
}

describe('store: applied state never runs ahead of the log', () => {
  it('a skip moves log and state together, and older entries are then refused', async () => {
    const store = await openStore();
    await appendDurable(store, [1, 2, 3]);
    store.advanceTo(8, 1);
    expect(store.appliedLsn).toBe(8);
    expect(store.lastLsn).toBe(8);
    expect(store.durableLsn).toBe(8);
    expect(() => store.append(entry(6))).toThrow(/LSNs must increase/);
    await appendDurable(store, [9]);
    expect(store.appliedLsn).toBe(9);
  });

  it('a skip waits while entries are not yet applied', async () => {
    const store = await openStore();
    store.append(entry(1));
    store.advanceTo(5, 1);
    expect(store.lastLsn).toBe(1);
    await store.waitDurable(1);
    expect(store.appliedLsn).toBe(1);
  });

  it('a rollback brings log and state back together, and the log then continues from there', async () => {
    const store = await openStore();
    await appendDurable(store, [1, 2, 3, 4, 5]);
    store.advanceTo(9, 1);
    const doomed = await store.readAfter(3);
    expect(doomed.map((e) => e.lsn)).toEqual([4, 5]);
    expect(store.lastLsn).toBe(9);
    const removed = await store.truncateAfter(3);
    expect(removed.map((e) => e.lsn)).toEqual([4, 5]);
    expect(store.lastLsn).toBe(3);
    expect(store.appliedLsn).toBe(3);
    await appendDurable(store, [4], 2);
    expect(store.appliedLsn).toBe(4);
    expect(store.state.get('k4')?.lsn).toBe(4);
  });

  it('a state that stops following its log says so once, applies nothing more, and a snapshot heals it', async () => {
    const store = await openStore();
    const seen: Error[] = [];
    store.onInconsistent((error) => seen.push(error));
    await appendDurable(store, [1, 2]);
    // Break the invariant behind the store's back, as a bug would.
    store.state.advanceTo(10);
    await appendDurable(store, [3, 4]);
    expect(seen).toHaveLength(1);
    expect(store.inconsistency?.message).toMatch(/applied after/);
    expect(store.appliedLsn).toBe(10);
    await store.resetToSnapshot({ lsn: 20, epoch: 1, lsnEpoch: 1, items: [['k', '"v"', 20]] });
    expect(store.inconsistency).toBeNull();
    await appendDurable(store, [21]);
    expect(store.appliedLsn).toBe(21);
  });
});
