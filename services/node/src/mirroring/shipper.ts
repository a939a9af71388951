// The primary's side of mirroring: ships every log entry to the mirror over HTTP, in pipelined
// batches (up to limits.mirrorInflightMax requests in flight, each carrying whatever accumulated),
// so a busy primary never pays one round trip per write in series. Shipping starts at append time
// and overlaps the primary's own fsync.
//
// Mirror states, after SQL Server database mirroring:
//   disconnected   no contact; the shipper retries with bounded backoff
//   synchronizing  connected and catching up (and always, in async mode: SQL Server's high-performance mode)
//   synchronized   has every committed entry; sync writes wait for it
//   suspended      the primary stopped waiting for it (MIRROR_POLICY=degrade); shipping goes on
//
// Leaving synchronized needs the witness's consent (SQL Server's rule): until the witness has
// recorded that the mirror no longer protects writes, the primary keeps waiting for it, so the
// witness never promotes a mirror that lacks acknowledged writes.
//
// Before turning synchronized, the mirror passes a short "tail" phase: every entry is at least in
// flight, sync writes already wait for it, and it must confirm everything the primary released
// without it (degraded acknowledgements, entries streamed to replicas). So a mirror reported
// synchronized holds every entry any client or replica could have seen.

import type { Logger } from 'pino';
import { limits } from '../../../../shared/limits.ts';
import { concatFrames, type LogEntry } from '../../../../shared/log-format.ts';
import { type Link, PeerRequestError } from '../../../../shared/link.ts';
import {
  authHeaders,
  type EntriesOk,
  HEADER_COMMIT_LSN,
  HEADER_EPOCH_HISTORY,
  HEADER_FROM_LSN,
  HEADER_MIRROR_MODE,
  HEADER_MIRROR_STATE,
  type MirrorState,
  type MirrorPosition,
} from '../../../../shared/protocol.ts';
import { Signal } from '../../../../shared/signal.ts';
import type { CopyMode } from '../../../../shared/topology.ts';
import type { CopyRegistry } from '../commit/copy-registry.ts';
import { snapshotChunks } from '../storage/snapshot-file.ts';
import type { Store } from '../storage/store.ts';
import { forkLsn, type EpochStart } from '../roles/epoch-history.ts';

export type { MirrorState };


export interface ShipperContext {
  selfId: string;
  mirrorId: string;
  mirrorUrl: string;
  secret: string;
  syncTimeoutMs: number;
  heartbeatMs: number;
  store: Store;
  registry: CopyRegistry;
  link: Link;
  logger: Logger;
  epoch: () => number;
  epochHistory: () => readonly EpochStart[];
  // Called on every state change, after it happened (events, witness reports).
  onStateChange: (from: MirrorState, to: MirrorState, reason: string) => void;
  // The mirror knows a newer epoch: this primary is stale.
  onNewerEpoch: (epoch: number, from: string) => void;
  // The mirror confirmed more entries: the commit gate may have moved.
  onAcked: () => void;
  // The mirror answered a request sent at `sentAt` (ms): the primary still has its quorum.
  onContact: (sentAt: number) => void;
  // Tells the witness the mirror is synchronized, or asks its consent to stop waiting for it.
  // Resolves true when the witness recorded it.
  reportToWitness: (synchronized: boolean) => Promise<boolean>;
}

class ShipAbort extends Error {}

export class MirrorShipper {
  state: MirrorState = 'disconnected';
  mode: CopyMode;
  ackedLsn = 0;
  private shippedLsn = 0;
  private inflight = 0;
  private tail = false;
  // Left synchronized, but the witness has not consented yet: writes still wait for the mirror.
  private holding = false;
  private witnessKnowsSynchronized = false;
  // Highest LSN the primary released (to clients or replicas) while not waiting for the mirror.
  private unprotectedLsn = 0;
  private handshaken = false;
  private generation = 0;
  private abort = new AbortController();
  private readonly wake = new Signal();
  private running = false;
  private lastSentAt = 0;
  private failures = 0;
  // The deadline of the next request to the mirror, like TCP's retransmission timeout: a request
  // that timed out doubles it (to a bound), an answer brings it back near the measured round trip.
  // So a slow link (a latency rule) is waited for and never wedges mirroring, while a dead one is
  // still noticed within the base bound. Sync writes do not wait on it: they have SYNC_TIMEOUT_MS.
  private requestTimeoutMs: number;
  bytesShipped = 0;
  entriesShipped = 0;

  constructor(
    private readonly ctx: ShipperContext,
    mode: CopyMode,
  ) {
    this.mode = mode;
    this.requestTimeoutMs = this.baseTimeoutMs();
  }

  private baseTimeoutMs(): number {
    return Math.max(this.ctx.syncTimeoutMs, limits.mirrorRequestTimeoutMs);
  }

  // An answer came `roundTripMs` after its request left.
  private answered(roundTripMs: number): void {
    this.requestTimeoutMs = Math.min(limits.mirrorRequestTimeoutMsMax, Math.max(this.baseTimeoutMs(), 4 * roundTripMs));
  }

  get ctxMirrorId(): string {
    return this.ctx.mirrorId;
  }

  // True while sync writes and the replica stream wait for the mirror's confirmation.
  get waitsForMirror(): boolean {
    return this.mode === 'sync' && (this.state === 'synchronized' || this.tail || this.holding);
  }

  get connected(): boolean {
    return this.state !== 'disconnected';
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
    this.wake.notify();
  }

  // New entries were appended.
  notify(): void {
    if (this.inflight < limits.mirrorInflightMax) this.wake.notify();
  }

  // MIRROR_POLICY=degrade: the primary stops waiting for a mirror that did not answer in time.
  // Resolves true once it no longer waits (the witness consented), false if it still must.
  async suspend(reason: string): Promise<boolean> {
    if (this.state === 'synchronized' || this.state === 'synchronizing') {
      this.tail = false;
      this.setState('suspended', reason);
    }
    return this.awaitRelease();
  }

  // Resolves true when the mode changed; false when the witness did not consent in time.
  async setMode(mode: CopyMode): Promise<boolean> {
    if (mode === this.mode) return true;
    const wasSynchronized = this.state === 'synchronized';
    this.mode = mode;
    this.ctx.registry.setMode(this.ctx.mirrorId, mode);
    this.tail = false;
    if (mode === 'async' && wasSynchronized) this.setState('synchronizing', 'switched to async mode');
    this.ctx.registry.changed();
    this.wake.notify();
    return this.awaitRelease();
  }

  private async awaitRelease(): Promise<boolean> {
    const deadline = Date.now() + limits.peerRequestTimeoutMs * 2;
    while (this.holding && this.running && Date.now() < deadline) await this.wake.wait(20);
    return !this.holding;
  }

  // Asks the witness, until it consents or the role ends, to let the primary stop waiting.
  private async release(): Promise<void> {
    while (this.holding && this.running) {
      if (await this.ctx.reportToWitness(false)) {
        this.holding = false;
        this.witnessKnowsSynchronized = false;
        this.unprotectedLsn = Math.max(this.unprotectedLsn, this.ctx.store.lastLsn);
        this.ctx.registry.changed();
        this.ctx.onAcked();
        this.wake.notify();
        return;
      }
      await this.wake.wait(this.ctx.heartbeatMs);
    }
  }

  private async run(): Promise<void> {
    let backoffMs: number = limits.reconnectBackoffMsMin;
    while (this.running) {
      if (!this.handshaken) {
        const ok = await this.handshake().catch((error) => this.failed(error));
        if (!ok) {
          await this.wake.wait(backoffMs);
          backoffMs = Math.min(backoffMs * 2, limits.reconnectBackoffMsMax);
          continue;
        }
        backoffMs = limits.reconnectBackoffMsMin;
      }
      this.fillPipeline();
      const woken = await this.wake.wait(this.ctx.heartbeatMs);
      if (!woken && this.running && this.handshaken && Date.now() - this.lastSentAt >= this.ctx.heartbeatMs) {
        this.sendHeartbeat();
      }
      if (this.state === 'synchronized' && !this.witnessKnowsSynchronized && !this.holding) this.tellSynchronized();
    }
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...authHeaders(this.ctx.secret, this.ctx.selfId, this.ctx.epoch()),
      [HEADER_MIRROR_STATE]: this.state,
      [HEADER_MIRROR_MODE]: this.mode,
      ...extra,
    };
  }

  private url(path: string): string {
    return `${this.ctx.mirrorUrl}/internal/mirror/${path}`;
  }

  // Learns where the mirror stands and resumes from there: partial from the backlog, or a snapshot.
  private async handshake(): Promise<boolean> {
    const sentAt = Date.now();
    const response = await this.ctx.link.request(this.ctx.mirrorId, this.url('position'), {
      method: 'GET',
      headers: this.headers({ [HEADER_EPOCH_HISTORY]: JSON.stringify(this.ctx.epochHistory()) }),
      timeoutMs: this.requestTimeoutMs,
      signal: this.abort.signal,
    });
    const body = JSON.parse(response.body.toString('utf8')) as MirrorPosition & { error?: string };
    if (body.epoch > this.ctx.epoch()) {
      this.ctx.onNewerEpoch(body.epoch, this.ctx.mirrorId);
      return false;
    }
    if (response.statusCode !== 200) throw new Error(`mirror answered ${response.statusCode} ${body.error ?? ''}`);
    this.answered(Date.now() - sentAt);
    this.ctx.onContact(sentAt);
    const store = this.ctx.store;
    // The mirror shares our history up to the LSN before the first epoch after its last entry's.
    const fork = Math.min(forkLsn(this.ctx.epochHistory(), body.lsnEpoch), store.lastLsn);
    let from = body.lsn;
    if (body.lsn > fork) {
      this.ctx.logger.warn({ mirror: this.ctx.mirrorId, mirrorLsn: body.lsn, fork }, 'the mirror holds entries this primary never had; it rolls them back');
      from = (await this.rollbackMirror(fork)) ?? -1;
    }
    if (from < 0) {
      // handled below: a snapshot
    } else if ((body.lsn === 0 && store.lastLsn > 0) || store.entriesAfter(body.lsn, 1, 1) === null) {
      // An empty mirror, or one the backlog no longer reaches: a snapshot first.
      from = -1;
    }
    if (from < 0) from = await this.sendSnapshot();
    this.ackedLsn = from;
    this.shippedLsn = from;
    this.ctx.registry.upsert({ ...this.registryInfo(), connected: true, ackedLsn: from });
    this.handshaken = true;
    this.failures = 0;
    this.ctx.logger.info({ mirror: this.ctx.mirrorId, fromLsn: from, lastLsn: store.lastLsn }, 'mirror connected; shipping from its position');
    if (this.state === 'disconnected') this.setState('synchronizing', 'mirror connected');
    this.checkCaughtUp();
    return true;
  }

  // The mirror holds entries after `fork` that this primary never had: it cuts them into its
  // rollback file. Resolves with the mirror's LSN afterwards, or null when it needs a full resync.
  private async rollbackMirror(fork: number): Promise<number | null> {
    const response = await this.ctx.link
      .request(this.ctx.mirrorId, this.url('rollback'), {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/json' }),
        body: JSON.stringify({ toLsn: fork }),
        timeoutMs: Math.max(this.requestTimeoutMs, limits.rollbackRequestTimeoutMs),
        signal: this.abort.signal,
      })
      .catch(() => null);
    if (response?.statusCode !== 200) return null;
    return (JSON.parse(response.body.toString('utf8')) as { lsn: number }).lsn;
  }

  private registryInfo() {
    return { id: this.ctx.mirrorId, kind: 'mirror' as const, mode: this.mode, filter: '', region: '' };
  }

  // Full resync: the mirror replaces its state with a snapshot of ours, sent in bounded chunks.
  private async sendSnapshot(): Promise<number> {
    const snapshot = this.ctx.store.snapshotNow(this.ctx.epoch());
    this.ctx.logger.info({ lsn: snapshot.lsn, keys: snapshot.items.length }, 'mirror needs a full resync; sending a snapshot');
    let first = true;
    for (const chunk of snapshotChunks(snapshot.items)) {
      const body = JSON.stringify({ type: 'snapshot_chunk', lsn: snapshot.lsn, epoch: snapshot.epoch, lsnEpoch: snapshot.lsnEpoch, items: chunk.items, first, last: chunk.last });
      first = false;
      const response = await this.ctx.link.request(this.ctx.mirrorId, this.url('snapshot'), {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/json' }),
        body,
        timeoutMs: Math.max(this.requestTimeoutMs, limits.snapshotChunkTimeoutMs),
        signal: this.abort.signal,
      });
      if (response.statusCode !== 200) throw new Error(`mirror refused the snapshot: ${response.statusCode} ${response.body.toString('utf8')}`);
    }
    return snapshot.lsn;
  }

  private fillPipeline(): void {
    while (this.running && this.handshaken && this.inflight < limits.mirrorInflightMax && this.shippedLsn < this.ctx.store.lastLsn) {
      const batch = this.ctx.store.entriesAfter(this.shippedLsn, limits.mirrorBatchEntriesMax, limits.mirrorBatchBytesMax);
      if (batch === null) {
        // The backlog no longer reaches the mirror's position: start over with a snapshot.
        this.failed(new Error('the mirror fell behind the backlog'));
        return;
      }
      if (batch.length === 0) return;
      this.shippedLsn = (batch[batch.length - 1] as LogEntry).lsn;
      this.inflight++;
      void this.ship(batch, this.generation);
    }
    this.checkCaughtUp();
  }

  private async ship(batch: LogEntry[], generation: number): Promise<void> {
    const body = concatFrames(batch);
    const sentAt = Date.now();
    this.lastSentAt = sentAt;
    try {
      const response = await this.ctx.link.request(this.ctx.mirrorId, this.url('entries'), {
        method: 'POST',
        headers: this.headers({
          'content-type': 'application/octet-stream',
          [HEADER_FROM_LSN]: String((batch[0] as LogEntry).lsn),
          [HEADER_COMMIT_LSN]: String(this.ctx.store.durableLsn),
        }),
        body,
        timeoutMs: this.requestTimeoutMs,
        signal: this.abort.signal,
      });
      if (generation !== this.generation) return;
      const answer = JSON.parse(response.body.toString('utf8')) as EntriesOk & { error?: string; epoch?: number };
      if (response.statusCode === 409 && answer.error === 'stale_epoch' && answer.epoch !== undefined) {
        this.ctx.onNewerEpoch(answer.epoch, this.ctx.mirrorId);
        throw new ShipAbort('the mirror knows a newer epoch');
      }
      if (response.statusCode !== 200) throw new Error(`mirror answered ${response.statusCode} ${answer.error ?? ''}`);
      this.bytesShipped += body.length;
      this.entriesShipped += batch.length;
      this.answered(Date.now() - sentAt);
      this.ctx.onContact(sentAt);
      this.acked(answer.lsn);
    } catch (error) {
      if (generation === this.generation) this.failed(error);
    } finally {
      if (generation === this.generation) {
        this.inflight--;
        this.wake.notify();
      }
    }
  }

  private acked(lsn: number): void {
    if (lsn > this.ackedLsn) this.ackedLsn = lsn;
    this.ctx.registry.ack(this.ctx.mirrorId, 'mirror', this.ackedLsn);
    this.checkCaughtUp();
    this.ctx.onAcked();
  }

  // synchronizing/suspended -> tail -> synchronized, see the header comment.
  private checkCaughtUp(): void {
    if (!this.handshaken || this.mode !== 'sync' || this.state === 'synchronized') return;
    const store = this.ctx.store;
    if (!this.tail && this.shippedLsn >= store.lastLsn) {
      this.tail = true;
      this.unprotectedLsn = Math.max(this.unprotectedLsn, store.durableLsn);
      this.ctx.registry.changed();
    }
    if (this.tail && this.ackedLsn >= this.unprotectedLsn) {
      this.tail = false;
      this.setState('synchronized', 'mirror caught up');
    }
  }

  private sendHeartbeat(): void {
    const sentAt = Date.now();
    this.lastSentAt = sentAt;
    const generation = this.generation;
    const body = JSON.stringify({ epoch: this.ctx.epoch(), lsn: this.ctx.store.durableLsn, ts: Date.now(), epochHistory: this.ctx.epochHistory() });
    this.ctx.link
      .request(this.ctx.mirrorId, this.url('heartbeat'), {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/json' }),
        body,
        timeoutMs: this.requestTimeoutMs,
        signal: this.abort.signal,
      })
      .then((response) => {
        if (generation !== this.generation) return;
        const answer = JSON.parse(response.body.toString('utf8')) as { error?: string; epoch?: number; lsn?: number };
        if (response.statusCode === 409 && answer.error === 'stale_epoch' && answer.epoch !== undefined) {
          this.ctx.onNewerEpoch(answer.epoch, this.ctx.mirrorId);
        } else if (response.statusCode !== 200) {
          this.failed(new Error(`mirror heartbeat answered ${response.statusCode}`));
        } else if (typeof answer.lsn === 'number') {
          this.answered(Date.now() - sentAt);
          this.ctx.onContact(sentAt);
          this.acked(Math.min(answer.lsn, this.shippedLsn));
        }
      })
      .catch((error) => {
        if (generation === this.generation) this.failed(error);
      });
  }

  // Any failure: drop what is in flight, mark the mirror disconnected and handshake again.
  private failed(error: unknown): false {
    if (!this.running) return false;
    this.generation++;
    this.abort.abort();
    this.abort = new AbortController();
    this.inflight = 0;
    this.handshaken = false;
    this.tail = false;
    this.shippedLsn = this.ackedLsn;
    this.failures++;
    if (error instanceof PeerRequestError && error.kind === 'timeout') {
      this.requestTimeoutMs = Math.min(limits.mirrorRequestTimeoutMsMax, this.requestTimeoutMs * 2);
    }
    if (!(error instanceof ShipAbort) && (this.failures === 1 || this.state !== 'disconnected')) {
      const kind = error instanceof PeerRequestError ? error.kind : 'error';
      this.ctx.logger.warn({ mirror: this.ctx.mirrorId, kind, err: error }, 'mirror unreachable; will retry');
    }
    this.ctx.registry.setConnected(this.ctx.mirrorId, 'mirror', false);
    if (this.state !== 'disconnected') this.setState('disconnected', error instanceof Error ? error.message : String(error));
    return false;
  }

  private tellSynchronized(): void {
    this.witnessKnowsSynchronized = true;
    void this.ctx.reportToWitness(true).then((recorded) => {
      if (!recorded && this.state === 'synchronized') this.witnessKnowsSynchronized = false;
    });
  }

  private setState(to: MirrorState, reason: string): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (from === 'synchronized' && !this.holding) {
      this.holding = true;
      void this.release();
    }
    if (to === 'synchronized') {
      this.holding = false;
      this.tellSynchronized();
    }
    this.ctx.logger.info({ mirror: this.ctx.mirrorId, from, to, reason, ackedLsn: this.ackedLsn }, `mirror ${to}`);
    this.ctx.registry.changed();
    this.ctx.onStateChange(from, to, reason);
  }
}
