// The mirror's side of mirroring: it stores the primary's entries byte for byte and answers only
// once they are durable. Batches may arrive out of order (they are pipelined); a batch that starts
// past a gap waits, to a deadline, for the batches before it.

import type { Logger } from 'pino';
import { limits } from '../../../../shared/limits.ts';
import { decodeFrames, type LogEntry } from '../../../../shared/log-format.ts';
import type { MirrorPosition, SnapshotChunkMessage } from '../../../../shared/protocol.ts';
import { Signal } from '../../../../shared/signal.ts';
import type { CopyMode } from '../../../../shared/topology.ts';
import { errors } from '../errors.ts';
import type { Store } from '../storage/store.ts';
import type { MirrorState } from './shipper.ts';

export interface ReceiverContext {
  selfId: string;
  store: Store;
  logger: Logger;
}

interface PendingSnapshot {
  lsn: number;
  epoch: number;
  lsnEpoch: number;
  items: Array<[string, string, number]>;
}

export class MirrorReceiver {
  // What the primary last told us about ourselves (reported in /status; used for failover).
  primaryView: { state: MirrorState; mode: CopyMode; commitLsn: number } = { state: 'disconnected', mode: 'sync', commitLsn: 0 };
  // When the primary was last heard on this channel (entries, heartbeat or handshake), ms.
  lastPrimaryContactAt = 0;
  private readonly appended = new Signal();
  private snapshot: PendingSnapshot | null = null;
  private resetting: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly ctx: ReceiverContext) {}

  // The role is ending: requests still waiting (for a gap to fill, for a reset) append nothing.
  stop(): void {
    this.stopped = true;
    this.appended.notify();
  }

  private assertRunning(): void {
    if (this.stopped) throw errors.mirrorStopped(this.ctx.selfId);
  }

  heard(state: string | undefined, mode: string | undefined, commitLsn?: number): void {
    this.lastPrimaryContactAt = Date.now();
    if (state === 'disconnected' || state === 'synchronizing' || state === 'synchronized' || state === 'suspended') this.primaryView.state = state;
    if (mode === 'sync' || mode === 'async') this.primaryView.mode = mode;
    if (commitLsn !== undefined && Number.isSafeInteger(commitLsn)) this.primaryView.commitLsn = Math.max(this.primaryView.commitLsn, commitLsn);
  }

  position(epoch: number, role: MirrorPosition['role']): MirrorPosition {
    const store = this.ctx.store;
    return { type: 'position_ok', nodeId: this.ctx.selfId, role, epoch, lsn: store.lastLsn, lsnEpoch: store.lastEpoch };
  }

  // Appends a batch of frames that begins at `fromLsn`; resolves with the durable LSN.
  async entries(fromLsn: number, body: Buffer): Promise<number> {
    const decoded = decodeFrames(body);
    if ('error' in decoded) throw errors.badBatch(`the batch is corrupt: ${decoded.error}`);
    const entries = decoded.entries;
    if (entries.length === 0) return this.ctx.store.durableLsn;
    if ((entries[0] as LogEntry).lsn !== fromLsn) throw errors.badBatch('the from-LSN header does not match the first frame');
    if (this.resetting) await this.resetting;
    const deadline = Date.now() + limits.mirrorGapWaitMs;
    while (fromLsn > this.ctx.store.lastLsn + 1) {
      this.assertRunning();
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.appended.wait(left))) {
        throw errors.gap(`batch starts at ${fromLsn} but this mirror has ${this.ctx.store.lastLsn}; the primary must resend`);
      }
    }
    this.assertRunning();
    this.appendInOrder(entries);
    const last = (entries[entries.length - 1] as LogEntry).lsn;
    await this.ctx.store.waitDurable(last);
    return this.ctx.store.durableLsn;
  }

  private appendInOrder(entries: LogEntry[]): void {
    const store = this.ctx.store;
    for (const entry of entries) {
      if (entry.lsn <= store.lastLsn) {
        // A resent entry: it must be the very same bytes, or the logs have diverged.
        const held = store.entryAt(entry.lsn);
        if (held && !held.frame.equals(entry.frame)) {
          throw errors.diverged(entry.lsn);
        }
        continue;
      }
      if (entry.lsn !== store.lastLsn + 1) throw errors.gap(`entry ${entry.lsn} does not follow ${store.lastLsn}`);
      store.append(entry);
    }
    this.appended.notify();
  }

  // One chunk of a full resync; the last chunk replaces the mirror's log and state.
  async snapshotChunk(chunk: SnapshotChunkMessage & { first?: boolean; lsnEpoch?: number }): Promise<void> {
    if (chunk.first || !this.snapshot || this.snapshot.lsn !== chunk.lsn) {
      this.snapshot = { lsn: chunk.lsn, epoch: chunk.epoch, lsnEpoch: chunk.lsnEpoch ?? chunk.epoch, items: [] };
    }
    for (const item of chunk.items) this.snapshot.items.push(item);
    if (!chunk.last) return;
    const snapshot = this.snapshot;
    this.snapshot = null;
    this.assertRunning();
    this.ctx.logger.info({ lsn: snapshot.lsn, keys: snapshot.items.length }, 'full resync: replacing the log with the primary\'s snapshot');
    this.resetting = this.ctx.store.resetToSnapshot(snapshot);
    try {
      await this.resetting;
    } finally {
      this.resetting = null;
    }
    this.appended.notify();
  }
}
