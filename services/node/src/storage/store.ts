// A node's data: the durable log plus the state derived from it. Entries become visible in the
// state only once durable, on every role, so a read never shows what a crash could take back.

import type { LogEntry } from '../../../../shared/log-format.ts';
import { limits } from '../../../../shared/limits.ts';
import { KvState } from './kv-state.ts';
import { type FsyncMode, LogStore, type SnapshotData, type StoreLogger } from './log-store.ts';

export class Store {
  readonly state = new KvState();
  // Appended but not yet durable, in LSN order; bounded by the writers' queue bound.
  private unapplied: LogEntry[] = [];
  private readonly appliedListeners: Array<(lsn: number) => void> = [];
  private appliedSinceSnapshot = 0;
  private snapshotRunning = false;

  private constructor(
    private log: LogStore,
    private readonly options: { dir: string; fsync: FsyncMode; logger: StoreLogger },
  ) {
    this.attach();
  }

  // Opens the log, rebuilds the state from the snapshot and the entries after it.
  static async open(options: { dir: string; fsync: FsyncMode; logger: StoreLogger }): Promise<Store> {
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

  // A filtered copy learns that nothing it wants lies between its last entry and `lsn`.
  advanceTo(lsn: number): void {
    if (this.unapplied.length > 0 || lsn <= this.state.appliedLsn) return;
    this.state.advanceTo(lsn);
    this.notifyApplied();
  }

  // Full resync: replaces log and state with a snapshot.
  async resetToSnapshot(snapshot: SnapshotData): Promise<void> {
    await this.log.resetToSnapshot(snapshot);
    this.unapplied = [];
    this.state.load(snapshot.lsn, snapshot.items);
    this.appliedSinceSnapshot = 0;
    this.notifyApplied();
  }

  // Rollback: cuts every entry after `lsn` and rebuilds the state from disk. Returns what was cut.
  async truncateAfter(lsn: number): Promise<LogEntry[]> {
    const removed = await this.log.truncateAfter(lsn);
    await this.log.close();
    this.log = await LogStore.open(this.options);
    this.attach();
    this.unapplied = [];
    this.rebuildFromLog();
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
    let count = 0;
    while (count < this.unapplied.length && (this.unapplied[count] as LogEntry).lsn <= durableLsn) {
      this.state.apply(this.unapplied[count] as LogEntry);
      count++;
    }
    if (count === 0) return;
    this.unapplied = this.unapplied.slice(count);
    this.appliedSinceSnapshot += count;
    this.notifyApplied();
    if (this.appliedSinceSnapshot >= limits.snapshotEveryEntries) void this.compact();
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
