// A node's data: the durable log plus the state derived from it. Entries become visible in the
// state only once durable, on every role, so a read never shows what a crash could take back.

import type { LogEntry } from '../../../../shared/log-format.ts';
import { limits } from '../../../../shared/limits.ts';
import { KvState } from './kv-state.ts';
import { type FsyncMode, LogStore, type SnapshotData, type StoreLogger } from './log-store.ts';

export interface StoreOptions {
  dir: string;
  fsync: FsyncMode;
  logger: StoreLogger;
  // A snapshot (and log compaction) after this many applied entries.
  snapshotEveryEntries: number;
  // A segment file is closed past this size (default limits.logSegmentBytesMax).
  segmentBytesMax?: number;
}

export class Store {
  readonly state = new KvState();
  // Appended but not yet durable, in LSN order; bounded by the writers' queue bound.
  private unapplied: LogEntry[] = [];
  private readonly appliedListeners: Array<(lsn: number) => void> = [];
  private readonly inconsistentListeners: Array<(error: Error) => void> = [];
  // Set when an entry could not be applied in order: the state no longer follows the log. Nothing
  // more is applied until a snapshot replaces both (a replica) or the process restarts from disk.
  inconsistency: Error | null = null;
  private appliedSinceSnapshot = 0;
  private snapshotRunning = false;

  private constructor(
    private readonly log: LogStore,
    private readonly options: StoreOptions,
  ) {
    this.attach();
  }

  // Opens the log, rebuilds the state from the snapshot and the entries after it.
  static async open(options: StoreOptions): Promise<Store> {
    const store = new Store(await LogStore.open(options), options);
    store.rebuildFromLog();
    return store;
  }

  get lastLsn(): number {
    return this.log.lastLsn;
  }

  get lastEpoch(): number {
    return this.log.lastEpoch;
  }

  get durableLsn(): number {
    return this.log.durableLsn;
  }

  get appliedLsn(): number {
    return this.state.appliedLsn;
  }

  // Entries up to this LSN live only in the snapshot, no longer in the log.
  get snapshotLsn(): number {
    return this.log.snapshotLsnNow;
  }

  get recovery() {
    return this.log.recovery;
  }

  // Epoch of the entry at `lsn` from the backlog (0 for LSN 0, undefined when not held).
  epochAt(lsn: number): number | undefined {
    if (lsn === 0) return 0;
    if (lsn === this.log.lastLsn) return this.log.lastEpoch;
    return this.log.entryAt(lsn)?.epoch;
  }

  entryAt(lsn: number): LogEntry | undefined {
    return this.log.entryAt(lsn);
  }

  entriesAfter(lsn: number, maxEntries: number, maxBytes: number): LogEntry[] | null {
    return this.log.entriesAfter(lsn, maxEntries, maxBytes);
  }

  // Appends an entry; it reaches the state once durable.
  append(entry: LogEntry): void {
    this.log.append(entry);
    this.unapplied.push(entry);
  }

  waitDurable(lsn: number): Promise<void> {
    return this.log.waitDurable(lsn);
  }

  // Called with the applied LSN after every batch of entries reaches the state.
  onApplied(listener: (lsn: number) => void): void {
    this.appliedListeners.push(listener);
  }

  // Called when the state stops following the log (see `inconsistency`).
  onInconsistent(listener: (error: Error) => void): void {
    this.inconsistentListeners.push(listener);
  }

  // A filtered copy learns that nothing it wants lies between its last entry and `lsn` (whose
  // entry has epoch `epoch`). Log and state move together, so the applied LSN never runs ahead of
  // the log: a later entry at or below `lsn` is refused as old, never applied out of order.
  advanceTo(lsn: number, epoch: number): void {
    if (this.unapplied.length > 0 || this.inconsistency || lsn <= this.state.appliedLsn) return;
    this.log.skipTo(lsn, epoch);
    this.state.advanceTo(lsn);
    this.notifyApplied();
  }

  // Full resync: replaces log and state with a snapshot.
  async resetToSnapshot(snapshot: SnapshotData): Promise<void> {
    await this.log.resetToSnapshot(snapshot);
    this.unapplied = [];
    this.inconsistency = null;
    this.state.load(snapshot.lsn, snapshot.items);
    this.appliedSinceSnapshot = 0;
    this.notifyApplied();
  }

  // What truncateAfter(lsn) would cut, read from disk; throws when lsn is below the snapshot.
  readAfter(lsn: number): Promise<LogEntry[]> {
    return this.log.readAfter(lsn);
  }

  // Rollback: cuts every entry after `lsn` and rebuilds the state from the snapshot and the
  // entries that remain, in one step with no wait between the cut and the new state (a request
  // never sees the cut log beside the old state). Returns what was cut.
  async truncateAfter(lsn: number): Promise<LogEntry[]> {
    const { removed, snapshot, entries } = await this.log.truncateAfterWithBase(lsn);
    this.unapplied = [];
    this.inconsistency = null;
    this.state.load(snapshot?.lsn ?? 0, snapshot?.items ?? []);
    for (const entry of entries) this.state.apply(entry);
    return removed;
  }

  snapshotNow(epoch: number): SnapshotData {
    const lsn = this.state.appliedLsn;
    return { lsn, epoch, lsnEpoch: this.epochAt(lsn) ?? epoch, items: this.state.snapshotItems() };
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  private rebuildFromLog(): void {
    const snapshot = this.log.recoveredSnapshot;
    this.state.load(snapshot?.lsn ?? 0, snapshot?.items ?? []);
    for (const entry of this.log.recoveredEntries) this.state.apply(entry);
    this.log.releaseRecovered();
  }

  private attach(): void {
    this.log.onDurable((durableLsn) => this.applyDurable(durableLsn));
  }

  private applyDurable(durableLsn: number): void {
    if (this.inconsistency) return;
    let count = 0;
    try {
      while (count < this.unapplied.length && (this.unapplied[count] as LogEntry).lsn <= durableLsn) {
        this.state.apply(this.unapplied[count] as LogEntry);
        count++;
      }
    } catch (error) {
      this.inconsistency = error instanceof Error ? error : new Error(String(error));
      this.options.logger.error({ err: this.inconsistency, appliedLsn: this.state.appliedLsn, lastLsn: this.log.lastLsn }, 'the state no longer follows the log');
      for (const listener of this.inconsistentListeners) listener(this.inconsistency);
      return;
    }
    if (count === 0) return;
    this.unapplied = this.unapplied.slice(count);
    this.appliedSinceSnapshot += count;
    this.notifyApplied();
    if (this.appliedSinceSnapshot >= this.options.snapshotEveryEntries) void this.compact();
  }

  private notifyApplied(): void {
    for (const listener of this.appliedListeners) listener(this.state.appliedLsn);
  }

  // Snapshot the state and let the log drop segments the snapshot covers.
  private async compact(): Promise<void> {
    if (this.snapshotRunning) return;
    this.snapshotRunning = true;
    this.appliedSinceSnapshot = 0;
    try {
      await this.log.writeSnapshot(this.snapshotNow(this.log.lastEpoch));
    } catch (error) {
      this.options.logger.error({ err: error }, 'snapshot failed; the log keeps growing until the next try');
    } finally {
      this.snapshotRunning = false;
    }
  }
}
