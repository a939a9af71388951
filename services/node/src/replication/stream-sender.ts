// The primary's side of one replica's WebSocket. After the replica's hello it resumes from the
// replica's position (partial resync from the backlog) or sends a snapshot first (full resync, like
// Redis PSYNC). It streams only entries released by the commit gate, so an async replica is never
// ahead of a synchronized mirror, and only the keys under the replica's filter.

import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { limits } from '../../../../shared/limits.ts';
import { concatFrames, type LogEntry } from '../../../../shared/log-format.ts';
import type { Link } from '../../../../shared/link.ts';
import type { HelloMessage, PrimaryMessage, ReplicaMessage } from '../../../../shared/protocol.ts';
import type { CopyRegistry } from '../commit/copy-registry.ts';
import { epochOfLsn, forkLsn, type EpochStart } from '../roles/epoch-history.ts';
import { snapshotChunks } from '../storage/snapshot-file.ts';
import type { Store } from '../storage/store.ts';

export interface SenderContext {
  selfId: string;
  store: Store;
  registry: CopyRegistry;
  link: Link;
  logger: Logger;
  heartbeatMs: number;
  epoch: () => number;
  epochHistory: () => readonly EpochStart[];
  // The highest LSN that may leave the primary for replicas now.
  gateLsn: () => number;
  // Mode set live for this copy, if any (wins over the replica's own setting).
  modeOverride: (id: string) => HelloMessage['mode'] | undefined;
  onNewerEpoch: (epoch: number, from: string) => void;
}

export class StreamSender {
  private sentLsn = 0;
  private lastEntrySentLsn = 0;
  private ready = false;
  private closed = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  bytesSent = 0;
  entriesSent = 0;

  constructor(
    private readonly ctx: SenderContext,
    private readonly socket: WebSocket,
    readonly hello: HelloMessage,
  ) {}

  get id(): string {
    return this.hello.nodeId;
  }

  // Handshake: decides the resync kind and starts streaming.
  async start(): Promise<void> {
    const { store, registry } = this.ctx;
    const hello = this.hello;
    if (hello.epoch > this.ctx.epoch()) {
      this.send({ type: 'error', error: 'stale_epoch', message: `this primary's epoch ${this.ctx.epoch()} is older than yours` });
      this.ctx.onNewerEpoch(hello.epoch, hello.nodeId);
      this.close();
      return;
    }
    const fork = Math.min(forkLsn(this.ctx.epochHistory(), hello.lsnEpoch), store.lastLsn);
    // A copy that holds nothing starts from a snapshot, like a Redis replica with an unknown
    // replication id: cheaper than replaying every overwrite the log still has.
    // A replica that found its state inconsistent asks for one whatever it holds.
    const empty = (hello.lsn === 0 && store.lastLsn > 0) || hello.fullResync === true;
    if (!empty && hello.lsn > fork) {
      // The replica holds entries this primary never had (an old primary's tail): it rolls
      // them back to the fork, then reconnects.
      this.send({ type: 'error', error: 'diverged', message: `your log diverged from this primary's after LSN ${fork}`, lsn: fork, epoch: this.ctx.epoch() });
      this.close();
      return;
    }
    const partial = !empty && store.entriesAfter(hello.lsn, 1, 1) !== null;
    const mode = this.ctx.modeOverride(hello.nodeId) ?? hello.mode;
    registry.upsert({ id: hello.nodeId, kind: 'replica', mode, connected: true, filter: hello.filter, region: hello.region, ackedLsn: partial ? hello.lsn : 0 });
    if (hello.filter) store.state.trackPrefix(hello.filter);
    if (partial) {
      this.sentLsn = hello.lsn;
      this.send({ type: 'hello_ok', primaryId: this.ctx.selfId, epoch: this.ctx.epoch(), epochHistory: [...this.ctx.epochHistory()], resync: 'partial', fromLsn: hello.lsn });
    } else {
      this.sentLsn = await this.sendSnapshot();
      if (this.closed) return;
    }
    this.ctx.logger.info({ replica: hello.nodeId, resync: partial ? 'partial' : 'full', fromLsn: this.sentLsn, replicaLsn: hello.lsn }, 'replica connected');
    this.ready = true;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.ctx.heartbeatMs);
    this.pump();
  }

  // Full resync. The snapshot holds only durable state; it waits (bounded) until the gate has
  // released it too, so even the snapshot is never ahead of a synchronized mirror.
  private async sendSnapshot(): Promise<number> {
    const snapshot = this.ctx.store.snapshotNow(this.ctx.epoch());
    const deadline = Date.now() + 10_000;
    while (this.ctx.gateLsn() < snapshot.lsn && Date.now() < deadline && !this.closed) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.send({ type: 'hello_ok', primaryId: this.ctx.selfId, epoch: this.ctx.epoch(), epochHistory: [...this.ctx.epochHistory()], resync: 'full', fromLsn: snapshot.lsn });
    const filter = this.hello.filter;
    const items = filter ? snapshot.items.filter((item) => item[0].startsWith(filter)) : snapshot.items;
    for (const chunk of snapshotChunks(items)) {
      this.send({ type: 'snapshot_chunk', lsn: snapshot.lsn, epoch: snapshot.epoch, items: chunk.items, last: chunk.last });
      await this.drained();
      if (this.closed) break;
    }
    return snapshot.lsn;
  }

  private async drained(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (this.socket.bufferedAmount > limits.streamBufferedBytesMax && Date.now() < deadline && !this.closed) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  // Sends what the gate has released since the last call. Called on every gate move.
  pump(): void {
    if (!this.ready || this.closed || this.retryTimer) return;
    const filter = this.hello.filter;
    const gate = this.ctx.gateLsn();
    while (this.sentLsn < gate) {
      if (this.socket.bufferedAmount > limits.streamBufferedBytesMax) {
        // Backpressure: the replica reads slower than we write; try again shortly.
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.pump();
        }, 10);
        return;
      }
      const batch = this.ctx.store.entriesAfter(this.sentLsn, limits.streamBatchEntriesMax, limits.streamBatchBytesMax);
      if (batch === null) {
        this.send({ type: 'error', error: 'resync_needed', message: 'you fell behind the backlog; reconnect for a full resync' });
        this.close();
        return;
      }
      const released = batch.filter((e) => e.lsn <= gate);
      if (released.length === 0) break;
      const wanted = filter ? released.filter((e) => e.key.startsWith(filter)) : released;
      if (wanted.length > 0) {
        const frames = concatFrames(wanted);
        this.ctx.link.send(this.socket, this.id, frames);
        this.bytesSent += frames.length;
        this.entriesSent += wanted.length;
        this.lastEntrySentLsn = (wanted[wanted.length - 1] as LogEntry).lsn;
      }
      this.sentLsn = (released[released.length - 1] as LogEntry).lsn;
    }
    // A filtered replica learns at once that the entries it skipped are behind it.
    if (this.lastEntrySentLsn < this.sentLsn) this.heartbeat();
  }

  onMessage(message: ReplicaMessage): void {
    if (message.type === 'ack' && Number.isSafeInteger(message.lsn)) {
      this.ctx.registry.ack(this.id, 'replica', Math.min(message.lsn, this.sentLsn));
    }
  }

  private heartbeat(): void {
    this.lastEntrySentLsn = this.sentLsn;
    const lsnEpoch = this.ctx.store.epochAt(this.sentLsn) ?? epochOfLsn(this.ctx.epochHistory(), this.sentLsn);
    this.send({ type: 'heartbeat', epoch: this.ctx.epoch(), lsn: this.sentLsn, lsnEpoch, ts: Date.now() });
  }

  private send(message: PrimaryMessage): void {
    if (this.closed) return;
    this.ctx.link.send(this.socket, this.id, JSON.stringify(message));
  }

  // Ends this stream (the socket closed, or the role is ending).
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ctx.registry.setConnected(this.id, 'replica', false);
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(1001, 'stream ended');
  }
}
