// The append-only durable log of one data node: frames in segment files under dir/log/, the
// newest snapshot under dir/snapshot/, and an in-memory backlog of recent entries that a copy
// resumes from (a partial resync, like Redis' repl-backlog).
//
// Writes are group-committed: append() only enqueues, and one flush loop writes whatever queued
// up with one writev and, in 'batch' mode, one fdatasync, so concurrent writes share one sync.
// Every change to the log's files (a flush, a rotation, compaction, truncation, reset, close) runs
// one at a time through `ioSerial`, so no flush ever sees a segment half deleted. Snapshot work
// (writeSnapshot, resetToSnapshot, truncateAfter) is also serialized among itself, through
// `snapshotSerial`, and takes the io turn only for its quick file changes: a long snapshot write
// does not stall the log.

import { open, readdir, readFile, mkdir, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from '../../../../shared/atomic-file.ts';
import { crashPoint } from '../../../../shared/crash-points.ts';
import { decodeFrame, FRAME_HEADER_BYTES, type LogEntry } from '../../../../shared/log-format.ts';
import { limits } from '../../../../shared/limits.ts';
import type { FsyncMode } from '../../../../shared/protocol.ts';
import {
  deleteSnapshots,
  loadNewestSnapshot,
  parseSnapshot,
  snapshotFileName,
  snapshotProblem,
  writeSnapshotFile,
  type SnapshotData,
} from './snapshot-file.ts';

export type { SnapshotData } from './snapshot-file.ts';

export type { FsyncMode };

export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LogStoreOptions {
  // The node's data directory; the store owns dir/log/ and dir/snapshot/ and creates them.
  dir: string;
  fsync: FsyncMode;
  logger: StoreLogger;
  segmentBytesMax?: number;
  backlogEntriesMax?: number;
  backlogBytesMax?: number;
}

export interface RecoveryReport {
  // LSN of the snapshot loaded at open; 0 without one.
  snapshotLsn: number;
  // Segment files kept after recovery.
  segments: number;
  // Entries recovered after the snapshot (the length of recoveredEntries).
  entries: number;
  // Bytes cut from the log: a torn or corrupt tail and every segment after it.
  tornBytesCut: number;
}

// One segment file: frames back to back, named after the LSN of its first entry.
interface Segment {
  firstLsn: number;
  path: string;
  // Bytes of whole frames written, which is where the next frame goes.
  bytes: number;
  // LSN and epoch of its last entry; 0 while empty.
  lastLsn: number;
  lastEpoch: number;
}

interface Waiter {
  lsn: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

const SEGMENT_NAME = /^log-(\d{20})\.seg$/;

function segmentFileName(firstLsn: number): string {
  return `log-${String(firstLsn).padStart(20, '0')}.seg`;
}

function isPositiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

// The segment files in `logDir`, oldest first; other names are ignored.
async function listSegments(logDir: string): Promise<Array<{ firstLsn: number; path: string }>> {
  const found: Array<{ firstLsn: number; path: string }> = [];
  for (const name of await readdir(logDir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match?.[1] !== undefined) found.push({ firstLsn: Number(match[1]), path: join(logDir, name) });
  }
  return found.sort((a, b) => a.firstLsn - b.firstLsn);
}

interface SegmentScan {
  entries: LogEntry[];
  // Bytes of the valid prefix: the entries' frames, back to back from byte 0.
  goodBytes: number;
  // Why the scan stopped before the end of the buffer; null when every byte was a good frame.
  problem: string | null;
}

// Decodes a segment's frames in order. Stops at the first torn or corrupt frame, at an LSN that
// does not increase (from `previousLsn`, the last LSN of the segments before), and at a first
// entry whose LSN is not the one in the file name. Never throws on bad bytes.
function scanSegment(buffer: Buffer, firstLsn: number, previousLsn: number): SegmentScan {
  const entries: LogEntry[] = [];
  let offset = 0;
  let lastLsn = previousLsn;
  if (buffer.length === 0) return { entries, goodBytes: 0, problem: 'empty segment' };
  while (offset < buffer.length) {
    const result = decodeFrame(buffer, offset);
    if (result.kind === 'incomplete') return { entries, goodBytes: offset, problem: 'torn frame' };
    if (result.kind === 'corrupt') return { entries, goodBytes: offset, problem: result.reason };
    const { entry } = result;
    if (entries.length === 0 && entry.lsn !== firstLsn) {
      return { entries, goodBytes: offset, problem: `first LSN ${entry.lsn} differs from the file name` };
    }
    if (entry.lsn <= lastLsn) return { entries, goodBytes: offset, problem: `LSN ${entry.lsn} after ${lastLsn}` };
    entries.push(entry);
    lastLsn = entry.lsn;
    offset = result.next;
  }
  return { entries, goodBytes: offset, problem: null };
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

// Cuts a file to `bytes` and syncs the new size; deletes it when nothing is left, because a
// segment is named after its first entry and an empty one would name an entry it does not hold.
async function cutFile(path: string, bytes: number): Promise<void> {
  if (bytes === 0) return unlinkIfPresent(path);
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface RecoveredLog {
  segments: Segment[];
  // Every entry with an LSN above the snapshot's, in order.
  entries: LogEntry[];
  tornBytesCut: number;
}

// Scans the segments in order and cuts the log at the first torn or corrupt frame: that file is
// truncated there and every later segment deleted, since the entries after a gap must not be
// applied. Logs a warning with the bytes cut.
async function recoverSegments(logDir: string, snapshotLsn: number, logger: StoreLogger): Promise<RecoveredLog> {
  const files = await listSegments(logDir);
  const segments: Segment[] = [];
  const entries: LogEntry[] = [];
  let previousLsn = 0;
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    if (!file) continue;
    const buffer = await readFile(file.path);
    const scan = scanSegment(buffer, file.firstLsn, previousLsn);
    for (const entry of scan.entries) if (entry.lsn > snapshotLsn) entries.push(entry);
    const last = scan.entries.at(-1);
    if (last) {
      segments.push({ firstLsn: file.firstLsn, path: file.path, bytes: scan.goodBytes, lastLsn: last.lsn, lastEpoch: last.epoch });
      previousLsn = last.lsn;
    }
    if (scan.problem === null) continue;
    let tornBytesCut = buffer.length - scan.goodBytes;
    await cutFile(file.path, scan.goodBytes);
    for (const later of files.slice(i + 1)) {
      tornBytesCut += (await readFile(later.path)).length;
      await unlinkIfPresent(later.path);
    }
    await syncDirectory(logDir);
    logger.warn(
      { segment: file.path, offset: scan.goodBytes, reason: scan.problem, tornBytesCut, segmentsDeleted: files.length - i - 1 },
      'log tail cut',
    );
    return { segments, entries, tornBytesCut };
  }
  return { segments, entries, tornBytesCut: 0 };
}

// The most recent entries in memory, oldest first, within a count and a byte bound. It holds
// every entry with an LSN above `floorLsn`, which is what lets entriesAfter tell "nothing stored
// there" (LSNs may skip) from "dropped already".
class Backlog {
  // Slots before `head` were dropped; they are cleared for the GC and sliced off now and then.
  private items: Array<LogEntry | undefined> = [];
  private head = 0;
  private bytesTotal = 0;
  // The LSN of the newest entry dropped from the front, or where the backlog started.
  floorLsn: number;

  constructor(
    private readonly entriesMax: number,
    private readonly bytesMax: number,
    floorLsn: number,
  ) {
    this.floorLsn = floorLsn;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  // The oldest entry held; undefined when empty.
  get first(): LogEntry | undefined {
    return this.items[this.head];
  }

  // Adds an entry newer than all held, then drops from the front to fit the bounds. The newest
  // entry always stays, even alone over the byte bound: a copy one entry behind can still resume.
  push(entry: LogEntry): void {
    this.items.push(entry);
    this.bytesTotal += entry.frame.length;
    while (this.size > 1 && (this.size > this.entriesMax || this.bytesTotal > this.bytesMax)) {
      const dropped = this.items[this.head];
      if (!dropped) throw new Error('backlog slot empty inside the window');
      this.items[this.head] = undefined;
      this.head++;
      this.bytesTotal -= dropped.frame.length;
      this.floorLsn = dropped.lsn;
    }
    // Slicing once the dead prefix is half the array keeps push amortized O(1).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  // Index of the first held entry with an LSN above `lsn` (binary search); items.length if none.
  private indexAfter(lsn: number): number {
    let low = this.head;
    let high = this.items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.items[middle]?.lsn ?? Infinity) > lsn) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  // Held entries with LSN > lsn in order: at most maxEntries, and past the first at most maxBytes.
  after(lsn: number, maxEntries: number, maxBytes: number): LogEntry[] {
    const found: LogEntry[] = [];
    let bytes = 0;
    for (let i = this.indexAfter(lsn); i < this.items.length && found.length < maxEntries; i++) {
      const entry = this.items[i];
      if (!entry) break;
      if (found.length > 0 && bytes + entry.frame.length > maxBytes) break;
      found.push(entry);
      bytes += entry.frame.length;
    }
    return found;
  }

  // The held entry with exactly this LSN; undefined when not held.
  at(lsn: number): LogEntry | undefined {
    const entry = this.items[this.indexAfter(lsn - 1)];
    return entry?.lsn === lsn ? entry : undefined;
  }

  // Drops every entry with LSN > lsn; the floor never stays above what the log now holds.
  dropAfter(lsn: number, lastLsn: number): void {
    while (this.size > 0) {
      const entry = this.items[this.items.length - 1];
      if (!entry || entry.lsn <= lsn) break;
      this.items.pop();
      this.bytesTotal -= entry.frame.length;
    }
    this.floorLsn = Math.min(this.floorLsn, lastLsn);
  }

  // Drops everything; the backlog starts again after `floorLsn`.
  clear(floorLsn: number): void {
    this.items = [];
    this.head = 0;
    this.bytesTotal = 0;
    this.floorLsn = floorLsn;
  }
}

export class LogStore {
  readonly recovery: RecoveryReport;
  private readonly logger: StoreLogger;
  private readonly fsync: FsyncMode;
  private readonly logDir: string;
  private readonly snapshotDir: string;
  private readonly segmentBytesMax: number;
  // On disk, oldest first. When `active` is set it is the open handle of the last one.
  private readonly segments: Segment[];
  private active: FileHandle | null = null;
  // Appended, not yet written; the flush loop takes from the front.
  private readonly queue: LogEntry[] = [];
  private readonly backlog: Backlog;
  private lastLsnValue: number;
  private lastEpochValue: number;
  private durableLsnValue: number;
  private snapshotLsn: number;
  private snapshotLsnEpoch: number;
  // Sorted by LSN, so a flush resolves a prefix.
  private readonly waiters: Waiter[] = [];
  private readonly durableListeners: Array<(durableLsn: number) => void> = [];
  private flushLoopRunning = false;
  private ioTail: Promise<unknown> = Promise.resolve();
  private snapshotTail: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private closed = false;
  // Set by the first failed write or sync; from then on the store refuses all work.
  private failure: Error | null = null;
  private recoveredSnapshotValue: SnapshotData | null;
  private recoveredEntriesValue: readonly LogEntry[];

  private constructor(options: LogStoreOptions, snapshot: SnapshotData | null, log: RecoveredLog) {
    this.logger = options.logger;
    this.fsync = options.fsync;
    this.logDir = join(options.dir, 'log');
    this.snapshotDir = join(options.dir, 'snapshot');
    this.segmentBytesMax = options.segmentBytesMax ?? limits.logSegmentBytesMax;
    this.segments = log.segments;
    this.snapshotLsn = snapshot?.lsn ?? 0;
    this.snapshotLsnEpoch = snapshot?.lsnEpoch ?? 0;
    this.backlog = new Backlog(
      options.backlogEntriesMax ?? limits.backlogEntriesMax,
      options.backlogBytesMax ?? limits.backlogBytesMax,
      this.snapshotLsn,
    );
    for (const entry of log.entries) this.backlog.push(entry);
    const last = log.entries.at(-1);
    this.lastLsnValue = last?.lsn ?? this.snapshotLsn;
    this.lastEpochValue = last?.epoch ?? this.snapshotLsnEpoch;
    // What recovery read back is on disk; openLastSegment syncs it unless fsync is off.
    this.durableLsnValue = this.lastLsnValue;
    this.recoveredSnapshotValue = snapshot;
    this.recoveredEntriesValue = log.entries;
    this.recovery = {
      snapshotLsn: this.snapshotLsn,
      segments: log.segments.length,
      entries: log.entries.length,
      tornBytesCut: log.tornBytesCut,
    };
  }

  // Creates the directories, loads the newest valid snapshot, scans the segments in order and
  // cuts a torn or corrupt tail, fills the backlog. Throws on a bad option or an I/O error.
  static async open(options: LogStoreOptions): Promise<LogStore> {
    for (const [name, value] of Object.entries({
      segmentBytesMax: options.segmentBytesMax,
      backlogEntriesMax: options.backlogEntriesMax,
      backlogBytesMax: options.backlogBytesMax,
    })) {
      if (value !== undefined && !isPositiveInteger(value)) throw new Error(`${name} must be a positive integer, not ${value}`);
    }
    const logDir = join(options.dir, 'log');
    const snapshotDir = join(options.dir, 'snapshot');
    await mkdir(logDir, { recursive: true });
    await mkdir(snapshotDir, { recursive: true });
    const snapshot = await loadNewestSnapshot(snapshotDir, options.logger);
    const log = await recoverSegments(logDir, snapshot?.lsn ?? 0, options.logger);
    const store = new LogStore(options, snapshot, log);
    await store.openLastSegment();
    options.logger.info({ ...store.recovery, lastLsn: store.lastLsn, fsync: options.fsync }, 'log store opened');
    return store;
  }

  // The snapshot loaded at open, or null; null too after releaseRecovered().
  get recoveredSnapshot(): SnapshotData | null {
    return this.recoveredSnapshotValue;
  }

  // The entries after the snapshot at open, in LSN order, to replay; [] after releaseRecovered().
  get recoveredEntries(): readonly LogEntry[] {
    return this.recoveredEntriesValue;
  }

  // Lets the GC take the recovered snapshot and entries once the caller has replayed them.
  releaseRecovered(): void {
    this.recoveredSnapshotValue = null;
    this.recoveredEntriesValue = [];
  }

  // LSN of the newest snapshot (0 without one): entries up to it are no longer in the segments.
  get snapshotLsnNow(): number {
    return this.snapshotLsn;
  }

  // LSN of the last appended entry; the snapshot's LSN if none after it; 0 when empty.
  get lastLsn(): number {
    return this.lastLsnValue;
  }

  // Epoch of the entry at lastLsn (the snapshot's lsnEpoch if none after it); 0 when empty.
  get lastEpoch(): number {
    return this.lastEpochValue;
  }

  // Highest LSN written and synced (per fsync mode): entries up to it survive kill -9.
  get durableLsn(): number {
    return this.durableLsnValue;
  }

  // Lowest LSN held in the backlog; lastLsn + 1 when the backlog is empty.
  get firstBacklogLsn(): number {
    return this.backlog.first?.lsn ?? this.lastLsnValue + 1;
  }

  // Enqueues an entry and makes it visible in the backlog at once; it becomes durable with a
  // later flush. Throws when closed or failed, and when entry.lsn <= lastLsn (LSNs may skip).
  append(entry: LogEntry): void {
    this.assertUsable();
    if (!Number.isSafeInteger(entry.lsn) || entry.lsn <= this.lastLsnValue) {
      throw new Error(`append of LSN ${entry.lsn} after LSN ${this.lastLsnValue}: LSNs must increase`);
    }
    // A cheap check that catches a frame that is not one: its header must give its own length.
    const frame = entry.frame;
    if (frame.length < FRAME_HEADER_BYTES || frame.readUInt32BE(0) + FRAME_HEADER_BYTES !== frame.length) {
      throw new Error(`append of LSN ${entry.lsn}: the frame's length header does not match its size`);
    }
    this.queue.push(entry);
    this.backlog.push(entry);
    this.lastLsnValue = entry.lsn;
    this.lastEpochValue = entry.epoch;
    this.kickFlush();
  }

  // A filtered copy learned that nothing it keeps lies between its last entry and `lsn` (whose
  // entry has epoch `epoch`): the log now counts as complete up to `lsn`, so an entry at or below
  // it is refused like any old one. In memory only: after a restart the copy asks again from its
  // last real entry and skips what it already has. Needs every appended entry written first.
  skipTo(lsn: number, epoch: number): void {
    this.assertUsable();
    if (lsn <= this.lastLsnValue) return;
    if (this.queue.length > 0) throw new Error(`skip to LSN ${lsn} while ${this.queue.length} entries wait to be written`);
    this.lastLsnValue = lsn;
    this.lastEpochValue = epoch;
    this.advanceDurable(lsn);
  }

  // Resolves once durableLsn >= lsn, at once if already. Rejects if the store fails or closes
  // before that.
  waitDurable(lsn: number): Promise<void> {
    if (lsn <= this.durableLsnValue) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failedError());
    if (this.closed) return Promise.reject(new Error(`log store closed before LSN ${lsn} became durable`));
    return new Promise((resolve, reject) => {
      const waiter = { lsn, resolve, reject };
      const last = this.waiters.at(-1);
      // Waiters nearly always come in LSN order; the rare one that does not is inserted in place.
      if (!last || last.lsn <= lsn) this.waiters.push(waiter);
      else this.waiters.splice(this.waiters.findIndex((w) => w.lsn > lsn), 0, waiter);
    });
  }

  // Calls `listener` with the new durableLsn after every flush that advanced it. A listener
  // that throws is logged and does not stop the others or the flush.
  onDurable(listener: (durableLsn: number) => void): void {
    this.durableListeners.push(listener);
  }

  // Backlog entries with LSN > lsn in order, at most maxEntries and, past the first, maxBytes.
  // [] when lsn >= lastLsn; null when the backlog no longer reaches back to lsn (entries after
  // it were dropped, or lie under the snapshot): the caller must do a full resync.
  entriesAfter(lsn: number, maxEntries: number, maxBytes: number): LogEntry[] | null {
    if (!isPositiveInteger(maxEntries) || !isPositiveInteger(maxBytes)) {
      throw new RangeError(`entriesAfter needs positive bounds, not ${maxEntries} entries, ${maxBytes} bytes`);
    }
    if (lsn >= this.lastLsnValue) return [];
    if (lsn < this.backlog.floorLsn) return null;
    return this.backlog.after(lsn, maxEntries, maxBytes);
  }

  // The backlog entry with this LSN; undefined when not held (dropped, under the snapshot, absent).
  entryAt(lsn: number): LogEntry | undefined {
    return this.backlog.at(lsn);
  }

  // Writes the snapshot durably, deletes older snapshots, then deletes the segments it covers.
  // Refuses a snapshot older than the current one. A snapshot past lastLsn (a filtered replica's
  // state knows it holds everything up to there) moves lastLsn and durableLsn up to it.
  // The backlog is not shrunk: it is bounded on its own.
  async writeSnapshot(snapshot: SnapshotData): Promise<void> {
    this.assertUsable();
    const problem = snapshotProblem(snapshot);
    if (problem) throw new Error(`snapshot at LSN ${snapshot.lsn} refused: ${problem}`);
    return this.snapshotSerial(async () => {
      if (snapshot.lsn < this.snapshotLsn) {
        throw new Error(`snapshot at LSN ${snapshot.lsn} refused: the store already has one at LSN ${this.snapshotLsn}`);
      }
      try {
        await writeSnapshotFile(this.snapshotDir, snapshot);
        await deleteSnapshots(this.snapshotDir, (lsn) => lsn < snapshot.lsn);
      } catch (err) {
        // Not fatal: the previous snapshot and the whole log still hold the state.
        this.logger.error({ err, lsn: snapshot.lsn }, 'snapshot write failed');
        throw err;
      }
      this.snapshotLsn = snapshot.lsn;
      this.snapshotLsnEpoch = snapshot.lsnEpoch;
      if (snapshot.lsn > this.lastLsnValue) {
        this.lastLsnValue = snapshot.lsn;
        this.lastEpochValue = snapshot.lsnEpoch;
      }
      this.advanceDurable(snapshot.lsn);
      const segmentsDeleted = await this.ioSerial(() => this.compactThrough(snapshot.lsn));
      this.logger.info({ lsn: snapshot.lsn, items: snapshot.items.length, segmentsDeleted }, 'snapshot written');
    });
  }

  // Full resync: writes queued entries, then replaces the whole log with `snapshot`. Afterwards
  // lastLsn = durableLsn = snapshot.lsn, the backlog is empty and appends continue after it.
  // The snapshot may be older than the current one (a rolled-back node); a crash midway leaves
  // an older consistent state (older snapshot, fewer entries), never a mix of two histories.
  async resetToSnapshot(snapshot: SnapshotData): Promise<void> {
    this.assertUsable();
    const problem = snapshotProblem(snapshot);
    if (problem) throw new Error(`snapshot at LSN ${snapshot.lsn} refused: ${problem}`);
    return this.snapshotSerial(() =>
      this.ioSerial(async () => {
        await this.writeAllQueued();
        try {
          await this.deleteAllSegments();
          crashPoint('reset.segments-deleted');
          // Newer snapshots go first, or recovery after a crash here would prefer them.
          await deleteSnapshots(this.snapshotDir, (lsn) => lsn >= snapshot.lsn);
          await syncDirectory(this.snapshotDir);
          await writeSnapshotFile(this.snapshotDir, snapshot);
          await deleteSnapshots(this.snapshotDir, (lsn) => lsn < snapshot.lsn);
        } catch (err) {
          throw this.fail(err, 'log reset failed');
        }
        this.snapshotLsn = snapshot.lsn;
        this.snapshotLsnEpoch = snapshot.lsnEpoch;
        this.backlog.clear(snapshot.lsn);
        this.lastLsnValue = snapshot.lsn;
        this.lastEpochValue = snapshot.lsnEpoch;
        const previous = this.durableLsnValue;
        this.durableLsnValue = Math.min(previous, snapshot.lsn);
        this.advanceDurable(snapshot.lsn);
        this.logger.info({ lsn: snapshot.lsn, previousLsn: previous }, 'log reset to snapshot');
      }),
    );
  }

  // The entries a truncateAfter(lsn) would remove, oldest first, read back from disk, changing
  // nothing: a rollback keeps them in a durable file before it cuts. Rejects if lsn is below the
  // snapshot's LSN (they are no longer all on disk).
  async readAfter(lsn: number): Promise<LogEntry[]> {
    this.assertUsable();
    return this.snapshotSerial(() =>
      this.ioSerial(async () => {
        if (!Number.isSafeInteger(lsn) || lsn < this.snapshotLsn) {
          throw new Error(`read after LSN ${lsn} refused: the snapshot already includes LSN ${this.snapshotLsn}`);
        }
        await this.writeAllQueued();
        const affected = await this.readSegmentsAfter(lsn);
        return affected.flatMap(({ entries }) => entries.filter((entry) => entry.lsn > lsn));
      }),
    );
  }

  // Rollback, for a caller that keeps a state derived from the log: truncateAfter(lsn), and in the
  // same serialized turn the base to rebuild that state from (the current snapshot and the entries
  // after it up to lsn, read back from disk). The caller swaps its state without waiting, so no
  // request ever sees the cut log beside the old state.
  async truncateAfterWithBase(lsn: number): Promise<{ removed: LogEntry[]; snapshot: SnapshotData | null; entries: LogEntry[] }> {
    this.assertUsable();
    return this.snapshotSerial(() =>
      this.ioSerial(async () => {
        if (!Number.isSafeInteger(lsn) || lsn < this.snapshotLsn) {
          throw new Error(`truncate after LSN ${lsn} refused: the snapshot already includes LSN ${this.snapshotLsn}`);
        }
        await this.writeAllQueued();
        const snapshot = await this.readCurrentSnapshot();
        const kept = (await this.readSegmentsAfter(this.snapshotLsn)).flatMap(({ entries }) => entries.filter((e) => e.lsn <= lsn));
        const removed = await this.cutAfter(lsn);
        return { removed, snapshot, entries: kept };
      }),
    );
  }

  // The snapshot the store stands on, read back from its file; null without one.
  private async readCurrentSnapshot(): Promise<SnapshotData | null> {
    if (this.snapshotLsn === 0) return null;
    const parsed = parseSnapshot(await readFile(join(this.snapshotDir, snapshotFileName(this.snapshotLsn))));
    if (typeof parsed === 'string') throw this.fail(new Error(`snapshot at LSN ${this.snapshotLsn} no longer reads back: ${parsed}`), 'snapshot unreadable');
    return parsed;
  }

  // Rollback: writes queued entries, then removes every entry with LSN > lsn from disk and
  // backlog and returns them, oldest first, read back from disk. Afterwards lastLsn and
  // durableLsn are <= lsn. Rejects, changing nothing, if lsn is below the snapshot's LSN.
  async truncateAfter(lsn: number): Promise<LogEntry[]> {
    this.assertUsable();
    return this.snapshotSerial(() =>
      this.ioSerial(async () => {
        if (!Number.isSafeInteger(lsn) || lsn < this.snapshotLsn) {
          throw new Error(`truncate after LSN ${lsn} refused: the snapshot already includes LSN ${this.snapshotLsn}`);
        }
        await this.writeAllQueued();
        return this.cutAfter(lsn);
      }),
    );
  }

  // Inside an io turn, with nothing queued: cuts the log after lsn (see truncateAfter).
  private async cutAfter(lsn: number): Promise<LogEntry[]> {
    if (lsn >= this.lastLsnValue) return [];
    let removed: LogEntry[];
    try {
      removed = await this.cutSegmentsAfter(lsn);
    } catch (err) {
      throw this.fail(err, 'log truncation failed');
    }
    const lastSegment = this.segments.at(-1);
    const segmentHasLast = lastSegment !== undefined && lastSegment.lastLsn >= this.snapshotLsn;
    this.lastLsnValue = segmentHasLast ? lastSegment.lastLsn : this.snapshotLsn;
    this.lastEpochValue = segmentHasLast ? lastSegment.lastEpoch : this.snapshotLsnEpoch;
    this.durableLsnValue = this.lastLsnValue;
    this.backlog.dropAfter(lsn, this.lastLsnValue);
    this.logger.info({ afterLsn: lsn, removed: removed.length, lastLsn: this.lastLsnValue }, 'log truncated');
    return removed;
  }

  // Writes what is queued, closes the files, rejects waiters that can no longer be satisfied.
  // Later appends throw. Calling it again returns the same promise. Rejects if the store has
  // failed or the final flush fails (the files are closed all the same).
  close(): Promise<void> {
    this.closing ??= this.ioSerial(async () => {
      try {
        await this.writeAllQueued();
      } finally {
        await this.active?.close();
        this.active = null;
        this.closed = true;
        const error = new Error('log store closed');
        for (const waiter of this.waiters.splice(0)) waiter.reject(error);
      }
    });
    return this.closing;
  }

  private assertUsable(): void {
    if (this.failure) throw this.failedError();
    if (this.closing) throw new Error('log store closed');
  }

  private failedError(): Error {
    return new Error(`log store failed: ${this.failure?.message}`, { cause: this.failure });
  }

  // Puts the store in the failed state: logs, rejects every waiter, refuses all later work. A lost
  // write or sync leaves disk and memory disagreeing, so carrying on would acknowledge writes
  // that may not exist. Returns the error for the caller to throw.
  private fail(err: unknown, message: string): Error {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.failure) return error;
    this.failure = error;
    this.logger.error({ err: error, lastLsn: this.lastLsnValue, durableLsn: this.durableLsnValue }, message);
    const rejection = this.failedError();
    for (const waiter of this.waiters.splice(0)) waiter.reject(rejection);
    return error;
  }

  // Runs `work` after every earlier io task has finished, whatever its outcome.
  private ioSerial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.ioTail.then(work);
    this.ioTail = run.catch(() => undefined);
    return run;
  }

  private snapshotSerial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.snapshotTail.then(work);
    this.snapshotTail = run.catch(() => undefined);
    return run;
  }

  // Starts the flush loop unless it runs. setImmediate rather than a microtask: every append
  // made in this turn of the event loop (the requests that arrived together) joins the batch.
  private kickFlush(): void {
    if (this.flushLoopRunning) return;
    this.flushLoopRunning = true;
    setImmediate(() => void this.flushLoop());
  }

  // The single flush loop: one batch per io turn until the queue is empty. Appends made while a
  // batch is written go to the next one.
  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.failure === null) await this.ioSerial(() => this.flushBatch());
    } catch {
      // fail() has logged the error and rejected the waiters; appends now throw.
    } finally {
      this.flushLoopRunning = false;
    }
  }

  // Writes everything queued; used inside an io task that needs the log complete on disk.
  private async writeAllQueued(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.failure) throw this.failedError();
      await this.flushBatch();
    }
    if (this.failure) throw this.failedError();
  }

  // Writes one batch from the queue into one segment and syncs it per the fsync mode, then
  // advances durableLsn. The batch is taken before the first await, so appends made while it is
  // written go to the next one. Any error is fatal: fail() and throw. No-op on an empty queue.
  private async flushBatch(): Promise<void> {
    const first = this.queue[0];
    if (!first) return;
    const current = this.segments.at(-1);
    // The open segment takes the batch if the first frame fits, or if it is empty (a frame bigger
    // than segmentBytesMax gets a segment of its own); otherwise a new one starts at first.lsn.
    const fits = this.active !== null && current !== undefined && (current.bytes === 0 || current.bytes + first.frame.length <= this.segmentBytesMax);
    const batch = this.takeBatch(fits && current ? current.bytes : 0);
    try {
      const segment = fits && current ? current : await this.startSegment(first.lsn);
      const file = this.active;
      if (!file) throw new Error('no open segment to write to');
      if (this.fsync === 'always') {
        for (const entry of batch) {
          await this.writeFrames(segment, file, [entry]);
          await file.datasync();
          this.advanceDurable(entry.lsn);
        }
        return;
      }
      crashPoint('log.before-write');
      await this.writeFrames(segment, file, batch);
      crashPoint('log.after-write');
      if (this.fsync === 'batch') await file.datasync();
      crashPoint('log.after-sync');
      this.advanceDurable(segment.lastLsn);
    } catch (err) {
      throw this.fail(err, 'log write failed');
    }
  }

  // Closes the open segment and creates the next one, named after the LSN of its first entry.
  private async startSegment(firstLsn: number): Promise<Segment> {
    await this.closeActive();
    const path = join(this.logDir, segmentFileName(firstLsn));
    // 'wx': a segment with this name must not exist, as no entry with this LSN is on disk.
    this.active = await open(path, 'wx');
    const segment: Segment = { firstLsn, path, bytes: 0, lastLsn: 0, lastEpoch: 0 };
    this.segments.push(segment);
    crashPoint('log.segment-created');
    // The new name must be durable too, or a crash could lose a whole synced segment.
    if (this.fsync !== 'off') await syncDirectory(this.logDir);
    return segment;
  }

  // Takes from the queue the entries of one write: at least one, then within the commit batch
  // bounds and the room left in the segment.
  private takeBatch(segmentBytes: number): LogEntry[] {
    let count = 0;
    let bytes = 0;
    for (const entry of this.queue) {
      const size = entry.frame.length;
      const full =
        count >= limits.commitBatchEntriesMax ||
        bytes + size > limits.commitBatchBytesMax ||
        segmentBytes + bytes + size > this.segmentBytesMax;
      if (count > 0 && full) break;
      count++;
      bytes += size;
    }
    return this.queue.splice(0, count);
  }

  // Writes the entries' frames at the segment's end with one writev. Throws on a short write.
  private async writeFrames(segment: Segment, file: FileHandle, entries: LogEntry[]): Promise<void> {
    const last = entries.at(-1);
    if (!last) return;
    const buffers = entries.map((entry) => entry.frame);
    const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    const { bytesWritten } = await file.writev(buffers, segment.bytes);
    if (bytesWritten !== total) throw new Error(`short write: ${bytesWritten} of ${total} bytes to ${segment.path}`);
    segment.bytes += total;
    segment.lastLsn = last.lsn;
    segment.lastEpoch = last.epoch;
  }

  // Moves durableLsn up to `lsn` (never down), resolves the waiters it covers, tells listeners.
  private advanceDurable(lsn: number): void {
    if (lsn <= this.durableLsnValue) return;
    this.durableLsnValue = lsn;
    let resolved = 0;
    while (resolved < this.waiters.length && (this.waiters[resolved]?.lsn ?? Infinity) <= lsn) resolved++;
    for (const waiter of this.waiters.splice(0, resolved)) waiter.resolve();
    for (const listener of this.durableListeners) {
      try {
        listener(lsn);
      } catch (err) {
        this.logger.error({ err, durableLsn: lsn }, 'durable listener threw');
      }
    }
  }

  // Opens the last segment to append to (none: the next append creates one) and, unless fsync
  // is off, syncs it: what recovery read may sit only in the page cache of a crashed process.
  private async openLastSegment(): Promise<void> {
    const last = this.segments.at(-1);
    if (!last) return;
    this.active = await open(last.path, 'r+');
    if (this.fsync !== 'off') await this.active.datasync();
  }

  private async closeActive(): Promise<void> {
    const file = this.active;
    this.active = null;
    await file?.close();
  }

  // Deletes the segments whose entries the snapshot at `lsn` covers, oldest first. The open
  // segment is closed first when it is covered too, so the next append starts a new one.
  // Returns how many were deleted.
  private async compactThrough(lsn: number): Promise<number> {
    let covered = 0;
    while (covered < this.segments.length && (this.segments[covered]?.lastLsn ?? Infinity) <= lsn) covered++;
    if (covered === this.segments.length) await this.closeActive();
    crashPoint('compaction.before-delete');
    for (let i = 0; i < covered; i++) {
      const segment = this.segments[0];
      if (!segment) break;
      await unlinkIfPresent(segment.path);
      this.segments.shift();
      crashPoint('compaction.mid-delete');
    }
    return covered;
  }

  private async deleteAllSegments(): Promise<void> {
    await this.closeActive();
    for (const segment of this.segments.splice(0)) await unlinkIfPresent(segment.path);
    // Durable deletion: an old segment coming back after a crash would replay a dropped history.
    await syncDirectory(this.logDir);
  }

  // The entries with LSN > lsn, oldest first, read back from the segment files. Throws if a
  // segment no longer decodes: the disk changed under us.
  private async readSegmentsAfter(lsn: number): Promise<Array<{ segment: Segment; entries: LogEntry[] }>> {
    const affected = this.segments.filter((segment) => segment.lastLsn > lsn);
    const found: Array<{ segment: Segment; entries: LogEntry[] }> = [];
    for (const segment of affected) {
      const scan = scanSegment(await readFile(segment.path), segment.firstLsn, 0);
      if (scan.problem !== null || scan.goodBytes !== segment.bytes) {
        throw new Error(`segment ${segment.path} no longer reads back whole: ${scan.problem ?? 'size changed'}`);
      }
      found.push({ segment, entries: scan.entries });
    }
    return found;
  }

  // Removes the entries with LSN > lsn from the segment files and returns them. The newest
  // segments go first and the one holding lsn is cut last, so a crash at any moment leaves a
  // prefix of the log, never a log with a hole that recovery would read past.
  private async cutSegmentsAfter(lsn: number): Promise<LogEntry[]> {
    const affected = await this.readSegmentsAfter(lsn);
    if (affected.length === 0) return [];
    await this.closeActive();
    for (const { segment, entries } of [...affected].reverse()) {
      const kept = entries.filter((entry) => entry.lsn <= lsn);
      if (kept.length > 0) continue;
      await unlinkIfPresent(segment.path);
      crashPoint('rollback.mid-truncate');
    }
    await syncDirectory(this.logDir);
    // The affected segments are the newest ones: drop them from the list, keep the cut first one.
    const first = affected[0] as { segment: Segment; entries: LogEntry[] };
    this.segments.splice(this.segments.indexOf(first.segment));
    const kept = first.entries.filter((entry) => entry.lsn <= lsn);
    const last = kept.at(-1);
    if (last) {
      const keptBytes = kept.reduce((sum, entry) => sum + entry.frame.length, 0);
      await cutFile(first.segment.path, keptBytes);
      this.segments.push({ ...first.segment, bytes: keptBytes, lastLsn: last.lsn, lastEpoch: last.epoch });
    }
    await this.openLastSegment();
    return affected.flatMap(({ entries }) => entries.filter((entry) => entry.lsn > lsn));
  }
}
