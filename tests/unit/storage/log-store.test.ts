// Goal: show that the log store keeps what it acknowledged and nothing else, on real files: entries
// come back byte for byte after a reopen, durableLsn moves only after the write (and sync), many
// appends share one flush, a torn or corrupt tail is cut and the log stays usable, segments rotate
// and are compacted under a snapshot, the backlog answers partial resyncs and says when it cannot,
// and a reset or rollback survives a reopen.

import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, mkdir, rm, readdir, readFile, writeFile, appendFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEntry, decodeFrame, type LogEntry } from '../../../shared/log-format.ts';
import { LogStore, type FsyncMode, type LogStoreOptions, type SnapshotData } from '../../../services/node/src/storage/log-store.ts';

interface LogRecord {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

function recordingLogger(): { records: LogRecord[]; info: (o: object, m: string) => void; warn: (o: object, m: string) => void; error: (o: object, m: string) => void } {
  const records: LogRecord[] = [];
  const push = (level: LogRecord['level']) => (obj: object, msg: string) => {
    records.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { records, info: push('info'), warn: push('warn'), error: push('error') };
}

const dirs: string[] = [];
const stores: LogStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorlab-log-store-'));
  dirs.push(dir);
  return dir;
}

async function openStore(dir: string, extra: Partial<LogStoreOptions> = {}) {
  const logger = recordingLogger();
  const store = await LogStore.open({ dir, fsync: 'batch', logger, ...extra });
  stores.push(store);
  return { store, logger };
}

// Every entry from this helper has the same frame size (for LSNs below 10^8), so tests can compute
// byte offsets and bounds: the value shrinks as the LSN grows a digit.
function entry(lsn: number, epoch = 1): LogEntry {
  const key = `key-${String(lsn).padStart(8, '0')}`;
  const valueJson = JSON.stringify('v'.repeat(9 - String(lsn).length));
  return encodeEntry({ lsn, epoch, ts: 1_700_000_000_000 + lsn, op: 'put', key, valueJson });
}

function appendAll(store: LogStore, lsns: number[], epoch = 1): LogEntry[] {
  const entries = lsns.map((lsn) => entry(lsn, epoch));
  for (const e of entries) store.append(e);
  return entries;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'log'))).sort().map((name) => join(dir, 'log', name));
}

// The LSNs of the frames in one segment file, decoded straight from disk.
async function lsnsInFile(path: string): Promise<number[]> {
  const buffer = await readFile(path);
  const lsns: number[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const result = decodeFrame(buffer, offset);
    if (result.kind !== 'entry') throw new Error(`bad frame in ${path} at ${offset}`);
    lsns.push(result.entry.lsn);
    offset = result.next;
  }
  return lsns;
}

function snapshotAt(lsn: number, keys = 3, lsnEpoch = 1): SnapshotData {
  return {
    lsn,
    epoch: 2,
    lsnEpoch: lsn === 0 ? 0 : lsnEpoch,
    items: range(1, keys).map((i) => [`key-${i}`, JSON.stringify({ n: i, text: 'line\nbreak' }), Math.min(i, lsn)]),
  };
}

function expectSameEntries(actual: readonly LogEntry[], expected: readonly LogEntry[]): void {
  expect(actual.map((e) => e.lsn)).toEqual(expected.map((e) => e.lsn));
  for (let i = 0; i < expected.length; i++) expect(actual[i]?.frame.equals(expected[i]!.frame)).toBe(true);
}

describe('log store: open, append, reopen', () => {
  it('opens an empty directory as an empty log and creates its folders', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    expect([store.lastLsn, store.lastEpoch, store.durableLsn, store.firstBacklogLsn]).toEqual([0, 0, 0, 1]);
    expect(store.recovery).toEqual({ snapshotLsn: 0, segments: 0, entries: 0, tornBytesCut: 0 });
    expect(store.recoveredSnapshot).toBeNull();
    expect(store.recoveredEntries).toEqual([]);
    expect(store.entriesAfter(0, 10, 1000)).toEqual([]);
    expect((await stat(join(dir, 'log'))).isDirectory()).toBe(true);
    expect((await stat(join(dir, 'snapshot'))).isDirectory()).toBe(true);
  });

  it('returns the same entries byte for byte after a reopen', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    const written = appendAll(store, range(1, 99), 3);
    const del = encodeEntry({ lsn: 100, epoch: 4, ts: 5, op: 'del', key: 'key-1' });
    store.append(del);
    written.push(del);
    await store.waitDurable(100);
    await store.close();

    const { store: reopened } = await openStore(dir);
    expectSameEntries(reopened.recoveredEntries, written);
    expect(reopened.recoveredEntries[99]?.op).toBe('del');
    expect([reopened.lastLsn, reopened.lastEpoch, reopened.durableLsn]).toEqual([100, 4, 100]);
    expect(reopened.recovery).toEqual({ snapshotLsn: 0, segments: 1, entries: 100, tornBytesCut: 0 });
    expect(reopened.entryAt(50)?.frame.equals(written[49]!.frame)).toBe(true);
    reopened.releaseRecovered();
    expect(reopened.recoveredEntries).toEqual([]);
  });

  it('accepts LSN gaps and serves them from the backlog and after a reopen', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    appendAll(store, [1, 5, 9, 100]);
    expect(store.entriesAfter(5, 10, 10_000)?.map((e) => e.lsn)).toEqual([9, 100]);
    expect(store.entriesAfter(2, 10, 10_000)?.map((e) => e.lsn)).toEqual([5, 9, 100]);
    expect(store.entryAt(6)).toBeUndefined();
    await store.close();
    const { store: reopened } = await openStore(dir);
    expect(reopened.recoveredEntries.map((e) => e.lsn)).toEqual([1, 5, 9, 100]);
    expect(reopened.lastLsn).toBe(100);
  });

  it('refuses an LSN that does not increase, also after a reopen, and appends after close', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    store.append(entry(5));
    expect(() => store.append(entry(5))).toThrow(/must increase/);
    expect(() => store.append(entry(3))).toThrow(/must increase/);
    expect(store.lastLsn).toBe(5);
    await store.close();
    expect(() => store.append(entry(6))).toThrow(/closed/);
    await expect(store.waitDurable(6)).rejects.toThrow(/closed/);
    await expect(store.waitDurable(5)).resolves.toBeUndefined();

    const { store: reopened } = await openStore(dir);
    expect(() => reopened.append(entry(4))).toThrow(/must increase/);
    reopened.append(entry(6));
    expect(reopened.lastLsn).toBe(6);
  });
});

describe('log store: durability and group commit', () => {
  it('shows an entry in the backlog at once but makes it durable only after the flush', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    const seen: number[] = [];
    store.onDurable((lsn) => seen.push(lsn));
    const [first] = appendAll(store, [1, 2, 3]);
    expect(store.durableLsn).toBe(0);
    expect(store.lastLsn).toBe(3);
    expect(store.entryAt(1)).toBe(first);
    expect(store.entriesAfter(0, 10, 10_000)?.map((e) => e.lsn)).toEqual([1, 2, 3]);
    let resolved = false;
    const waiting = store.waitDurable(3).then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    await waiting;
    expect(store.durableLsn).toBe(3);
    expect(seen).toEqual([3]);
    await expect(store.waitDurable(2)).resolves.toBeUndefined();
  });

  it('flushes 1000 appends made in one tick in batch mode with one sync and keeps them', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { fsync: 'batch' });
    const flushes: number[] = [];
    store.onDurable((lsn) => flushes.push(lsn));
    appendAll(store, range(1, 1000));
    await Promise.all(range(1, 1000).map((lsn) => store.waitDurable(lsn)));
    expect(store.durableLsn).toBe(1000);
    // One flush for the whole tick: the appends were grouped, not synced one by one.
    expect(flushes).toEqual([1000]);
    await store.close();
    const { store: reopened } = await openStore(dir);
    expect(reopened.recoveredEntries.length).toBe(1000);
  });

  it.each<[FsyncMode, number]>([
    ['always', 200],
    ['off', 1000],
  ])('works in fsync mode %s', async (mode, count) => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { fsync: mode });
    const flushes: number[] = [];
    store.onDurable((lsn) => flushes.push(lsn));
    appendAll(store, range(1, count));
    await Promise.all(range(1, count).map((lsn) => store.waitDurable(lsn)));
    expect(store.durableLsn).toBe(count);
    // 'always' syncs each entry on its own, so durableLsn advances entry by entry.
    expect(flushes).toEqual(mode === 'always' ? range(1, count) : [count]);
    await store.close();
    const { store: reopened } = await openStore(dir, { fsync: mode });
    expect(reopened.lastLsn).toBe(count);
  });

  it('logs a durable listener that throws and keeps flushing and telling the others', async () => {
    const dir = await tempDir();
    const { store, logger } = await openStore(dir);
    const seen: number[] = [];
    store.onDurable(() => {
      throw new Error('listener bug');
    });
    store.onDurable((lsn) => seen.push(lsn));
    appendAll(store, [1]);
    await store.waitDurable(1);
    appendAll(store, [2]);
    await store.waitDurable(2);
    expect(seen).toEqual([1, 2]);
    expect(logger.records.filter((r) => r.msg === 'durable listener threw').length).toBe(2);
  });

  it('fails for good when a write fails: waiters reject, later work is refused, the error is logged', async () => {
    const dir = await tempDir();
    const { store, logger } = await openStore(dir);
    // A directory where the first segment file must be created makes that creation fail for
    // real, without mocking fs (chmod would not stop root).
    await mkdir(join(dir, 'log', 'log-00000000000000000001.seg'));
    appendAll(store, [1, 2]);
    await expect(store.waitDurable(2)).rejects.toThrow(/log store failed/);
    expect(store.durableLsn).toBe(0);
    expect(() => store.append(entry(3))).toThrow(/log store failed/);
    await expect(store.waitDurable(3)).rejects.toThrow(/log store failed/);
    await expect(store.truncateAfter(0)).rejects.toThrow(/log store failed/);
    expect(logger.records.some((r) => r.level === 'error' && r.msg === 'log write failed')).toBe(true);
  });

  it('puts appends made during a flush into the next batch', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    const flushes: number[] = [];
    store.onDurable((lsn) => flushes.push(lsn));
    appendAll(store, range(1, 10));
    // Runs after the first batch was taken, while it is being written.
    setImmediate(() => appendAll(store, range(11, 20)));
    await store.waitDurable(20);
    expect(flushes).toEqual([10, 20]);
  });
});

describe('log store: recovery from damage', () => {
  it.each([3, 8, 20])('cuts a torn tail of %i bytes, then appends and reopens cleanly', async (tornBytes) => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    appendAll(store, range(1, 10));
    await store.close();
    const [segment] = await segmentFiles(dir);
    const sizeBefore = (await stat(segment!)).size;
    await appendFile(segment!, entry(11).frame.subarray(0, tornBytes));

    const { store: reopened, logger } = await openStore(dir);
    expect(reopened.recovery.tornBytesCut).toBe(tornBytes);
    expect(reopened.lastLsn).toBe(10);
    expect((await stat(segment!)).size).toBe(sizeBefore);
    expect(logger.records.some((r) => r.level === 'warn' && r.obj.tornBytesCut === tornBytes)).toBe(true);
    const more = appendAll(reopened, [11, 12]);
    await reopened.close();

    const { store: again } = await openStore(dir);
    expect(again.recovery.tornBytesCut).toBe(0);
    expect(again.recoveredEntries.map((e) => e.lsn)).toEqual(range(1, 12));
    expectSameEntries(again.recoveredEntries.slice(10), more);
  });

  it('cuts at a frame whose checksum fails and drops every later segment', async () => {
    const dir = await tempDir();
    const frameBytes = entry(1).frame.length;
    const { store } = await openStore(dir, { segmentBytesMax: frameBytes * 5 });
    appendAll(store, range(1, 20));
    await store.close();
    const files = await segmentFiles(dir);
    expect(files.length).toBe(4);
    // Entry 8 is the third frame of the second segment: flip one byte of its payload.
    const second = await readFile(files[1]!);
    const flipAt = frameBytes * 2 + 8 + 3;
    second.writeUInt8(second.readUInt8(flipAt) ^ 0xff, flipAt);
    await writeFile(files[1]!, second);

    const { store: reopened, logger } = await openStore(dir, { segmentBytesMax: frameBytes * 5 });
    expect(reopened.recoveredEntries.map((e) => e.lsn)).toEqual(range(1, 7));
    expect([reopened.lastLsn, reopened.durableLsn]).toEqual([7, 7]);
    expect(reopened.recovery.tornBytesCut).toBe(frameBytes * 13);
    expect(reopened.recovery.segments).toBe(2);
    const warning = logger.records.find((r) => r.msg === 'log tail cut');
    expect(warning?.obj.reason).toBe('checksum mismatch');
    expect((await segmentFiles(dir)).length).toBe(2);
    appendAll(reopened, [8, 9]);
    await reopened.close();
    const { store: again } = await openStore(dir, { segmentBytesMax: frameBytes * 5 });
    expect(again.recoveredEntries.map((e) => e.lsn)).toEqual(range(1, 9));
  });
});

describe('log store: segments and snapshots', () => {
  it('rotates segments named after their first LSN, never over the byte bound', async () => {
    const dir = await tempDir();
    const frameBytes = entry(1).frame.length;
    const { store } = await openStore(dir, { segmentBytesMax: frameBytes * 3 + 1 });
    appendAll(store, range(1, 20));
    // A frame bigger than a segment gets a segment of its own.
    const big = encodeEntry({ lsn: 21, epoch: 1, ts: 1, op: 'put', key: 'big', valueJson: JSON.stringify('x'.repeat(500)) });
    store.append(big);
    store.append(entry(22));
    await store.close();
    const files = await segmentFiles(dir);
    const names = files.map((f) => f.slice(-28));
    expect(names[0]).toBe('log-00000000000000000001.seg');
    for (const file of files) {
      const lsns = await lsnsInFile(file);
      expect(Number(file.slice(-24, -4))).toBe(lsns[0]);
      if (!lsns.includes(21)) expect((await stat(file)).size).toBeLessThanOrEqual(frameBytes * 3 + 1);
    }
    expect(await lsnsInFile(files.at(-2)!)).toEqual([21]);
    const { store: reopened } = await openStore(dir, { segmentBytesMax: frameBytes * 3 + 1 });
    expect(reopened.recovery.segments).toBe(files.length);
    expect(reopened.recoveredEntries.map((e) => e.lsn)).toEqual(range(1, 22));
  });

  it('writes a snapshot, deletes older ones and covered segments, and reopens to snapshot + rest', async () => {
    const dir = await tempDir();
    const frameBytes = entry(1).frame.length;
    const options = { segmentBytesMax: frameBytes * 4 };
    const { store } = await openStore(dir, options);
    appendAll(store, range(1, 30));
    await store.waitDurable(30);
    await store.writeSnapshot(snapshotAt(10));
    await store.writeSnapshot(snapshotAt(22, 5));
    expect(await readdir(join(dir, 'snapshot'))).toEqual(['snapshot-00000000000000000022.json']);
    const remaining = await Promise.all((await segmentFiles(dir)).map(lsnsInFile));
    // Segment [21..24] holds 23 and 24, so it stays; everything before went.
    expect(remaining).toEqual([range(21, 24), range(25, 28), [29, 30]]);
    // The backlog is bounded on its own, not by the snapshot.
    expect(store.entryAt(1)).toBeDefined();
    appendAll(store, [31]);
    await store.close();

    const { store: reopened } = await openStore(dir, options);
    expect(reopened.recoveredSnapshot).toEqual(snapshotAt(22, 5));
    expect(reopened.recoveredEntries.map((e) => e.lsn)).toEqual(range(23, 31));
    expect(reopened.recovery.snapshotLsn).toBe(22);
    expect([reopened.lastLsn, reopened.firstBacklogLsn]).toEqual([31, 23]);
    // Entries under the snapshot are gone from the backlog: a copy that far back needs a full resync.
    expect(reopened.entriesAfter(21, 10, 100_000)).toBeNull();
    expect(reopened.entriesAfter(22, 10, 100_000)?.map((e) => e.lsn)).toEqual(range(23, 31));
  });

  it('compacts the segment being appended to by rotating when the snapshot covers it', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    appendAll(store, range(1, 5));
    await store.writeSnapshot(snapshotAt(5));
    expect(await segmentFiles(dir)).toEqual([]);
    appendAll(store, [6, 7]);
    await store.close();
    expect((await segmentFiles(dir)).map((f) => f.slice(-28))).toEqual(['log-00000000000000000006.seg']);
    const { store: reopened } = await openStore(dir);
    expect(reopened.recoveredSnapshot?.lsn).toBe(5);
    expect(reopened.recoveredEntries.map((e) => e.lsn)).toEqual([6, 7]);
  });

  it('ignores a partial or garbage snapshot file and falls back to the previous one', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    appendAll(store, range(1, 30));
    await store.writeSnapshot(snapshotAt(10));
    await store.close();
    // A newer snapshot cut short, as a crash mid-write would leave it without the tmp+rename.
    const valid = await readFile(join(dir, 'snapshot', 'snapshot-00000000000000000010.json'));
    const partial = Buffer.from(valid.toString().replace('"lsn":10', '"lsn":20')).subarray(0, valid.length - 10);
    await writeFile(join(dir, 'snapshot', 'snapshot-00000000000000000020.json'), partial);
    await writeFile(join(dir, 'snapshot', 'snapshot-00000000000000000025.json'), '{"lsn":25, nonsense');

    const { store: reopened, logger } = await openStore(dir);
    expect(reopened.recoveredSnapshot).toEqual(snapshotAt(10));
    expect(reopened.recoveredEntries.map((e) => e.lsn)).toEqual(range(11, 30));
    expect(logger.records.filter((r) => r.msg === 'invalid snapshot file ignored and deleted').length).toBe(2);
    expect(await readdir(join(dir, 'snapshot'))).toEqual(['snapshot-00000000000000000010.json']);
  });

  it('moves lastLsn up to a snapshot past the last stored entry (a filtered replica)', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    appendAll(store, [2, 4]);
    await store.writeSnapshot(snapshotAt(9, 3, 5));
    expect([store.lastLsn, store.lastEpoch, store.durableLsn]).toEqual([9, 5, 9]);
    expect(() => store.append(entry(9))).toThrow(/must increase/);
    appendAll(store, [12]);
    await store.close();
    const { store: reopened } = await openStore(dir);
    expect(reopened.recoveredEntries.map((e) => e.lsn)).toEqual([12]);
    expect(reopened.lastLsn).toBe(12);
  });

  it('refuses a snapshot older than the current one', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    appendAll(store, range(1, 10));
    await store.writeSnapshot(snapshotAt(8));
    await expect(store.writeSnapshot(snapshotAt(5))).rejects.toThrow(/already has one/);
  });
});

describe('log store: backlog', () => {
  it('answers entriesAfter within its bounds and null past the backlog', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { backlogEntriesMax: 10 });
    const written = appendAll(store, range(1, 30));
    expect(store.firstBacklogLsn).toBe(21);
    expect(store.entriesAfter(19, 100, 1_000_000)).toBeNull();
    expect(store.entriesAfter(20, 100, 1_000_000)?.map((e) => e.lsn)).toEqual(range(21, 30));
    expect(store.entriesAfter(30, 100, 1_000_000)).toEqual([]);
    expect(store.entriesAfter(45, 100, 1_000_000)).toEqual([]);
    expect(store.entriesAfter(25, 2, 1_000_000)?.map((e) => e.lsn)).toEqual([26, 27]);
    // At least one entry even over maxBytes, then only what fits.
    const frameBytes = written[0]!.frame.length;
    expect(store.entriesAfter(20, 100, 1)?.map((e) => e.lsn)).toEqual([21]);
    expect(store.entriesAfter(20, 100, frameBytes * 2 + 1)?.map((e) => e.lsn)).toEqual([21, 22]);
    expect(store.entryAt(20)).toBeUndefined();
    expect(store.entryAt(21)).toBe(written[20]);
    expect(() => store.entriesAfter(20, 0, 100)).toThrow(RangeError);
  });

  it('trims by bytes and refills from the recovered entries on reopen', async () => {
    const dir = await tempDir();
    const frameBytes = entry(1).frame.length;
    const options = { backlogBytesMax: frameBytes * 5 };
    const { store } = await openStore(dir, options);
    appendAll(store, range(1, 12));
    expect(store.firstBacklogLsn).toBe(8);
    await store.close();
    const { store: reopened } = await openStore(dir, options);
    expect(reopened.recoveredEntries.length).toBe(12);
    expect(reopened.firstBacklogLsn).toBe(8);
    expect(reopened.entriesAfter(6, 100, 1_000_000)).toBeNull();
    expect(reopened.entriesAfter(7, 100, 1_000_000)?.map((e) => e.lsn)).toEqual(range(8, 12));
  });
});

describe('log store: reset and rollback', () => {
  it('resets to a snapshot: log and backlog dropped, appends continue after it, survives reopen', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    appendAll(store, range(1, 10));
    await store.resetToSnapshot(snapshotAt(50, 4, 7));
    expect([store.lastLsn, store.durableLsn, store.lastEpoch, store.firstBacklogLsn]).toEqual([50, 50, 7, 51]);
    expect(store.entriesAfter(10, 10, 100_000)).toBeNull();
    expect(store.entriesAfter(50, 10, 100_000)).toEqual([]);
    expect(await segmentFiles(dir)).toEqual([]);
    expect(() => store.append(entry(50))).toThrow(/must increase/);
    appendAll(store, [51]);
    await store.close();
    const { store: reopened } = await openStore(dir);
    expect(reopened.recoveredSnapshot).toEqual(snapshotAt(50, 4, 7));
    expect(reopened.recoveredEntries.map((e) => e.lsn)).toEqual([51]);
  });

  it('resets back to an older snapshot, which wins over the newer one at reopen', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    appendAll(store, range(1, 10));
    await store.writeSnapshot(snapshotAt(8));
    await store.resetToSnapshot(snapshotAt(5, 2));
    expect(store.lastLsn).toBe(5);
    appendAll(store, [6], 2);
    await store.close();
    const { store: reopened } = await openStore(dir);
    expect(reopened.recoveredSnapshot?.lsn).toBe(5);
    expect(reopened.recoveredEntries.map((e) => [e.lsn, e.epoch])).toEqual([[6, 2]]);
  });

  // Segments hold 4 entries: 12 ends a segment, 14 cuts one in the middle.
  it.each([12, 14])('truncates after LSN %i: returns the removed entries, which stay gone after reopen', async (cut) => {
    const dir = await tempDir();
    const frameBytes = entry(1).frame.length;
    const options = { segmentBytesMax: frameBytes * 4 };
    const { store } = await openStore(dir, options);
    const written = appendAll(store, range(1, 20));
    // Not yet durable: the truncation writes the queue first, then cuts.
    const removed = await store.truncateAfter(cut);
    expectSameEntries(removed, written.slice(cut));
    expect([store.lastLsn, store.durableLsn, store.lastEpoch]).toEqual([cut, cut, 1]);
    expect(store.entryAt(cut + 1)).toBeUndefined();
    expect(store.entriesAfter(cut, 10, 100_000)).toEqual([]);
    expect(await store.truncateAfter(cut + 3)).toEqual([]);
    const replacement = entry(cut + 1, 2);
    store.append(replacement);
    await store.close();

    const { store: reopened } = await openStore(dir, options);
    expect(reopened.recoveredEntries.map((e) => [e.lsn, e.epoch])).toEqual([...range(1, cut).map((l) => [l, 1]), [cut + 1, 2]]);
    expect(reopened.recoveredEntries[cut]?.frame.equals(replacement.frame)).toBe(true);
    expect(reopened.recovery.tornBytesCut).toBe(0);
  });

  it('truncates below the backlog: the backlog empties and a copy behind the cut needs a full resync', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { backlogEntriesMax: 5 });
    appendAll(store, range(1, 20));
    const removed = await store.truncateAfter(10);
    // The removed entries come from disk, including those the backlog had already dropped.
    expect(removed.map((e) => e.lsn)).toEqual(range(11, 20));
    expect([store.lastLsn, store.firstBacklogLsn]).toEqual([10, 11]);
    expect(store.entriesAfter(9, 10, 100_000)).toBeNull();
    expect(store.entriesAfter(10, 10, 100_000)).toEqual([]);
    appendAll(store, [11], 2);
    expect(store.entriesAfter(10, 10, 100_000)?.map((e) => [e.lsn, e.epoch])).toEqual([[11, 2]]);
  });

  it('refuses to truncate below the snapshot and changes nothing', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    appendAll(store, range(1, 10));
    await store.writeSnapshot(snapshotAt(6));
    await expect(store.truncateAfter(5)).rejects.toThrow(/snapshot/);
    expect(store.lastLsn).toBe(10);
    expect((await store.truncateAfter(6)).map((e) => e.lsn)).toEqual(range(7, 10));
    expect([store.lastLsn, store.lastEpoch]).toEqual([6, 1]);
    await store.close();
    const { store: reopened } = await openStore(dir);
    expect(reopened.lastLsn).toBe(6);
    expect(reopened.recoveredEntries).toEqual([]);
  });
});
