// The replica's side of replication: it holds a WebSocket to the primary, says where it stands,
// applies what the primary streams (entries, or a snapshot then entries), acknowledges what is
// durable, and reconnects with bounded backoff. A silent socket (a partition that drops traffic)
// is detected by missing heartbeats and replaced.
//
// A slow link is not a dead one (SPEC §6.8: latency delays, it never wedges): silence is counted
// only from the stream's first message, and the bound grows with the transit time the heartbeats
// show, so a steady latency of any size never trips it. Opening a stream (the handshake, then the
// primary's first answer) has its own, longer bound, which a delayed link also passes.

import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { limits } from '../../../../shared/limits.ts';
import { decodeFrames } from '../../../../shared/log-format.ts';
import type { Link } from '../../../../shared/link.ts';
import { authHeaders, type HelloMessage, type PrimaryMessage } from '../../../../shared/protocol.ts';
import { Signal } from '../../../../shared/signal.ts';
import type { CopyMode } from '../../../../shared/topology.ts';
import type { EpochStart } from '../roles/epoch-history.ts';
import type { Store } from '../storage/store.ts';

export interface ReceiverContext {
  selfId: string;
  secret: string;
  mode: CopyMode;
  filter: string;
  region: string;
  heartbeatMs: number;
  store: Store;
  link: Link;
  logger: Logger;
  epoch: () => number;
  primaryId: () => string | null;
  primaryUrl: (id: string) => string | undefined;
  // The primary told us who it is, its epoch and its history.
  onPrimaryInfo: (primaryId: string, epoch: number, history: readonly EpochStart[]) => void;
  // Whoever we reached is not the primary (or is stale): time to ask the witness.
  onNotPrimary: () => void;
  onResync: (kind: 'started' | 'finished', lsn: number) => void;
  // We hold entries after `fork` the primary never had: roll them back, then reconnect.
  onDiverged: (fork: number) => Promise<number | null>;
  // Ask for a snapshot on the first stream, whatever this copy holds (its filter changed).
  fullResyncFirst?: boolean;
  // A snapshot replaced the state (after its load, before the acknowledgement).
  onSnapshotLoaded?: () => Promise<void>;
}

// What the current stream vouched for: every entry up to `lsn` that passes the filter was sent.
interface SkipPoint {
  lsn: number;
  epoch: number;
}

interface SnapshotBuffer {
  lsn: number;
  epoch: number;
  items: Array<[string, string, number]>;
}

export class StreamReceiver {
  connected = false;
  // The primary's position as last announced, and how stale our copy is (see lagMs()).
  primaryLsn = 0;
  private transitMs = 0;
  private freshAsOf = 0;
  private socket: WebSocket | null = null;
  // The socket of the newest stream that opened (kept after it closes, unlike `socket`).
  private latestSocket: WebSocket | null = null;
  private running = false;
  private readonly wake = new Signal();
  private chain: Promise<void> = Promise.resolve();
  private snapshot: SnapshotBuffer | null = null;
  // When the current stream opened and when it last delivered a message (0: nothing yet).
  private openedAt = 0;
  private lastMessageAt = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private ackScheduled = false;
  private readonly startedAt = Date.now();
  // The newest heartbeat's position, for a filtered replica to skip to once its entries are applied.
  private skipPoint: SkipPoint | null = null;
  // The state stopped following the log: the next stream asks for a snapshot.
  private fullResyncNeeded = false;

  constructor(private readonly ctx: ReceiverContext) {
    this.fullResyncNeeded = ctx.fullResyncFirst === true;
    ctx.store.onApplied(() => this.afterApplied());
    ctx.store.onInconsistent(() => {
      this.fullResyncNeeded = true;
      this.ctx.logger.error('the state no longer follows the log; reconnecting for a full resync');
      this.socket?.terminate();
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  stop(): void {
    this.running = false;
    this.socket?.terminate();
    this.wake.notify();
  }

  // The primary changed: drop the current stream and connect to the new one.
  reconnect(): void {
    this.socket?.terminate();
    this.wake.notify();
  }

  // Milliseconds by which this copy trails the primary: the transit time when caught up, otherwise
  // the age of the newest primary state we are known to have.
  lagMs(): number {
    if (this.ctx.store.appliedLsn >= this.primaryLsn && this.connected) return Math.max(0, this.transitMs);
    // Behind, or cut off: as old as the newest primary state we are known to have (since this
    // process started, if it has not caught up once yet).
    return Math.max(0, Date.now() - (this.freshAsOf || this.startedAt));
  }

  private async run(): Promise<void> {
    let backoffMs: number = limits.reconnectBackoffMsMin;
    while (this.running) {
      const opened = await this.connectOnce();
      if (!this.running) break;
      backoffMs = opened ? limits.reconnectBackoffMsMin : Math.min(backoffMs * 2, limits.reconnectBackoffMsMax);
      await this.wake.wait(backoffMs);
    }
  }

  // One connection, from open to close. Resolves true if it opened.
  private connectOnce(): Promise<boolean> {
    const primaryId = this.ctx.primaryId();
    const base = primaryId ? this.ctx.primaryUrl(primaryId) : undefined;
    if (!primaryId || !base) return Promise.resolve(false);
    return new Promise((resolve) => {
      let opened = false;
      // Through the link, so fault rules act on the connect too (a partition blocks it).
      const socket = this.ctx.link.connectWebSocket(primaryId, `${base.replace(/^http/, 'ws')}/internal/replicate`, {
        headers: authHeaders(this.ctx.secret, this.ctx.selfId, this.ctx.epoch()),
        handshakeTimeout: limits.streamOpenTimeoutMs,
        maxPayload: limits.streamMessageBytesMax,
      });
      this.socket = socket;
      socket.on('open', () => {
        opened = true;
        this.latestSocket = socket;
        this.openedAt = Date.now();
        this.lastMessageAt = 0;
        this.snapshot = null;
        this.skipPoint = null;
        this.sendHello(socket, primaryId);
        this.watchdog = setInterval(() => this.checkSilence(socket), this.ctx.heartbeatMs);
      });
      socket.on('message', (data, isBinary) => {
        this.lastMessageAt = Date.now();
        const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        this.chain = this.chain.then(() => this.handle(socket, buffer, isBinary)).catch((error) => {
          this.ctx.logger.error({ err: error }, 'replication message failed; reconnecting');
          socket.terminate();
        });
      });
      socket.on('unexpected-response', (_request, response) => {
        this.ctx.logger.warn({ primary: primaryId, status: response.statusCode }, 'primary refused the replication stream');
        socket.terminate();
      });
      socket.on('error', (error) => {
        if (!opened) this.ctx.logger.debug({ err: error, primary: primaryId }, 'cannot reach the primary');
      });
      socket.on('close', () => {
        if (this.watchdog) clearInterval(this.watchdog);
        this.watchdog = null;
        if (this.connected) this.ctx.logger.warn({ primary: primaryId }, 'replication stream closed');
        this.connected = false;
        this.socket = null;
        resolve(opened);
      });
    });
  }

  private sendHello(socket: WebSocket, primaryId: string): void {
    const store = this.ctx.store;
    const hello: HelloMessage = {
      type: 'hello',
      nodeId: this.ctx.selfId,
      epoch: this.ctx.epoch(),
      lsn: store.lastLsn,
      lsnEpoch: store.lastEpoch,
      mode: this.ctx.mode,
      filter: this.ctx.filter,
      region: this.ctx.region,
      ...(this.fullResyncNeeded ? { fullResync: true } : {}),
    };
    this.ctx.link.send(socket, primaryId, JSON.stringify(hello));
  }

  // No message for much longer than heartbeats and the link's transit time explain: the link is
  // cut (or the primary stalled). Start over. Before the first message, the open bound applies.
  private checkSilence(socket: WebSocket): void {
    const now = Date.now();
    if (this.lastMessageAt === 0) {
      if (now - this.openedAt <= limits.streamOpenTimeoutMs) return;
      this.ctx.logger.warn({ waitedMs: now - this.openedAt }, 'the primary did not answer the hello; reconnecting');
      socket.terminate();
      return;
    }
    const silenceMs = Math.max(limits.streamSilenceMsMin, 5 * this.ctx.heartbeatMs, 2 * this.transitMs + 2 * this.ctx.heartbeatMs);
    if (now - this.lastMessageAt > silenceMs) {
      this.ctx.logger.warn({ silenceMs, transitMs: this.transitMs }, 'no heartbeat from the primary; reconnecting');
      socket.terminate();
    }
  }

  private async handle(socket: WebSocket, data: Buffer, isBinary: boolean): Promise<void> {
    // Messages still queued when the role ended, or once a newer stream opened, change nothing.
    // (Those of a stream that just closed still count: its last message may be a "diverged".)
    if (!this.running || socket !== this.latestSocket) return;
    if (isBinary) return this.applyFrames(data);
    const message = JSON.parse(data.toString('utf8')) as PrimaryMessage;
    switch (message.type) {
      case 'hello_ok':
        if (message.epoch < this.ctx.epoch()) {
          this.ctx.logger.warn({ primary: message.primaryId, epoch: message.epoch }, 'refusing a stream from a primary of an older epoch');
          this.ctx.onNotPrimary();
          socket.close();
          return;
        }
        this.connected = true;
        // Positions heard from an earlier stream (maybe another primary's) mean nothing now.
        this.primaryLsn = message.fromLsn;
        this.ctx.onPrimaryInfo(message.primaryId, message.epoch, message.epochHistory ?? []);
        this.ctx.logger.info({ primary: message.primaryId, resync: message.resync, fromLsn: message.fromLsn }, 'replication stream open');
        this.ctx.onResync('started', message.fromLsn);
        if (message.resync === 'full') this.snapshot = { lsn: message.fromLsn, epoch: message.epoch, items: [] };
        else this.ctx.onResync('finished', message.fromLsn);
        return;
      case 'snapshot_chunk':
        return this.snapshotChunk(message);
      case 'heartbeat':
        this.noteFresh(message.lsn, message.ts);
        this.skipPoint = { lsn: message.lsn, epoch: message.lsnEpoch };
        this.skipForward();
        this.scheduleAck();
        return;
      case 'error':
        this.ctx.logger.warn({ error: message.error, primary: message.primaryId }, `primary refused: ${message.message}`);
        socket.close();
        // A rollback that cannot cut that far (a snapshot covers it) is followed by a full resync.
        if (message.error === 'diverged' && message.lsn !== undefined) this.fullResyncNeeded ||= (await this.ctx.onDiverged(message.lsn)) === null;
        else this.ctx.onNotPrimary();
        return;
    }
  }

  private async snapshotChunk(message: Extract<PrimaryMessage, { type: 'snapshot_chunk' }>): Promise<void> {
    if (!this.snapshot || this.snapshot.lsn !== message.lsn) this.snapshot = { lsn: message.lsn, epoch: message.epoch, items: [] };
    for (const item of message.items) this.snapshot.items.push(item);
    if (!message.last) return;
    const snapshot = this.snapshot;
    this.snapshot = null;
    this.ctx.logger.info({ lsn: snapshot.lsn, keys: snapshot.items.length }, 'full resync: loading the primary\'s snapshot');
    await this.ctx.store.resetToSnapshot({ lsn: snapshot.lsn, epoch: snapshot.epoch, lsnEpoch: snapshot.epoch, items: snapshot.items });
    this.fullResyncNeeded = false;
    await this.ctx.onSnapshotLoaded?.();
    this.primaryLsn = Math.max(this.primaryLsn, snapshot.lsn);
    this.ctx.onResync('finished', snapshot.lsn);
    this.scheduleAck();
  }

  private applyFrames(data: Buffer): void {
    const decoded = decodeFrames(data);
    if ('error' in decoded) throw new Error(`corrupt frames from the primary: ${decoded.error}`);
    const store = this.ctx.store;
    for (const entry of decoded.entries) {
      if (entry.lsn <= store.lastLsn) continue;
      store.append(entry);
      this.noteFresh(entry.lsn, entry.ts);
    }
  }

  private noteFresh(lsn: number, ts: number): void {
    this.primaryLsn = Math.max(this.primaryLsn, lsn);
    this.transitMs = Math.max(0, Date.now() - ts);
  }

  // A filtered replica moves its log and state up to the last heartbeat's position once every
  // entry before it is applied (the store refuses while some are not).
  private skipForward(): void {
    const point = this.skipPoint;
    if (point && point.lsn > this.ctx.store.appliedLsn) this.ctx.store.advanceTo(point.lsn, point.epoch);
  }

  private afterApplied(): void {
    const applied = this.ctx.store.appliedLsn;
    if (applied >= this.primaryLsn) this.freshAsOf = Date.now() - this.transitMs;
    this.skipForward();
    this.scheduleAck();
  }

  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    queueMicrotask(() => {
      this.ackScheduled = false;
      const socket = this.socket;
      const primaryId = this.ctx.primaryId();
      if (!socket || !primaryId || !this.connected) return;
      this.ctx.link.send(socket, primaryId, JSON.stringify({ type: 'ack', lsn: this.ctx.store.durableLsn >= this.ctx.store.appliedLsn ? this.ctx.store.appliedLsn : this.ctx.store.durableLsn }));
    });
  }
}
