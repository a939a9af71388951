// The primary: the one node that takes writes. A write is appended to the log (which starts
// shipping it to the mirror at once), waits for its own fsync (group commit), then for the copies
// its ack level names, to SYNC_TIMEOUT_MS. Built when the node becomes primary, torn down when it
// stops being one: what was waiting then fails.
//
// Quorum (SQL Server's rule, against split brain): the primary acknowledges a write only while it
// holds a lease renewed by answers from its mirror or the witness. The lease is shorter than
// FAILOVER_TIMEOUT_MS, so an isolated primary stops acknowledging before the witness could grant
// a failover to the mirror.

import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { limits } from '../../../../shared/limits.ts';
import { encodeEntry, type EntryOp } from '../../../../shared/log-format.ts';
import type { Link } from '../../../../shared/link.ts';
import type { HelloMessage } from '../../../../shared/protocol.ts';
import { Signal } from '../../../../shared/signal.ts';
import type { CopyMode } from '../../../../shared/topology.ts';
import { type AckLevel, ackLevelName, ackProgress } from '../commit/ack-level.ts';
import { CopyRegistry } from '../commit/copy-registry.ts';
import type { NodeConfig } from '../config.ts';
import { errors } from '../errors.ts';
import { MirrorShipper, type MirrorState } from '../mirroring/shipper.ts';
import { StreamSender } from '../replication/stream-sender.ts';
import type { Store } from '../storage/store.ts';
import type { EpochStart } from './epoch-history.ts';

export interface PrimaryContext {
  config: NodeConfig;
  store: Store;
  link: Link;
  logger: Logger;
  epoch: () => number;
  epochHistory: () => readonly EpochStart[];
  // Copy modes set live: the mirror slot's (null: MIRROR_MODE) and each replica's by id.
  copyModes: () => CopyModes;
  saveCopyModes: (modes: CopyModes) => Promise<void>;
  onNewerEpoch: (epoch: number, from: string) => void;
  reportToWitness: (mirrorId: string, synchronized: boolean) => Promise<boolean>;
  onMirrorState: (from: MirrorState, to: MirrorState, reason: string) => void;
  onWrite: (level: string, seconds: number) => void;
}

export interface CopyModes {
  mirrorSlot: CopyMode | null;
  replicas: Record<string, CopyMode>;
}

export interface WriteResult {
  key: string;
  lsn: number;
  epoch: number;
  ackedBy: string[];
  pending: string[];
  degraded: boolean;
  timings: { totalMs: number; localMs: number; syncMs: number };
}

export class PrimaryRole {
  readonly registry = new CopyRegistry();
  // Notified on every lease renewal (a starting primary waits for its first before it listens).
  readonly leaseRenewed = new Signal();
  shipper: MirrorShipper | null = null;
  private readonly senders = new Set<StreamSender>();
  private writesWaiting = 0;
  private stopped = false;
  // Until when (ms) this primary may acknowledge writes; 0 until the first answer.
  private leaseUntil = 0;
  private readonly leaseMs: number;
  // A peer showed a newer epoch: refuse everything until the node steps down.
  private fencedBy: number | null = null;
  // A planned failover is draining this primary: new writes are refused.
  private drainingUntil = 0;
  private pumpScheduled = false;

  constructor(
    private readonly ctx: PrimaryContext,
    mirrorId: string | null,
  ) {
    this.leaseMs = leaseMsFor(ctx.config.failoverTimeoutMs, ctx.config.heartbeatMs);
    this.setMirror(mirrorId);
  }

  get mirrorId(): string | null {
    return this.shipper ? this.shipper.ctxMirrorId : null;
  }

  // Replaces the mirror (after a failover the slot is empty until a node rejoins into it).
  setMirror(mirrorId: string | null): void {
    const { config } = this.ctx;
    if (this.shipper && this.shipper.ctxMirrorId === mirrorId) return;
    if (this.shipper) {
      this.shipper.stop();
      this.registry.remove(this.shipper.ctxMirrorId, 'mirror');
    }
    this.shipper = null;
    const mirrorUrl = mirrorId ? config.peers[mirrorId] : undefined;
    if (!mirrorId || !mirrorUrl || mirrorId === config.nodeId) return;
    const ctx = this.ctx;
    this.shipper = new MirrorShipper(
            {
              selfId: config.nodeId,
              mirrorId,
              mirrorUrl,
              secret: config.clusterSecret,
              syncTimeoutMs: config.syncTimeoutMs,
              heartbeatMs: config.heartbeatMs,
              store: ctx.store,
              registry: this.registry,
              link: ctx.link,
              logger: ctx.logger,
              epoch: ctx.epoch,
              epochHistory: ctx.epochHistory,
              onStateChange: (from, to, reason) => this.mirrorStateChanged(from, to, reason),
              onNewerEpoch: ctx.onNewerEpoch,
              onAcked: () => this.released(),
              onContact: (sentAt) => this.renewLease(sentAt),
              reportToWitness: (synchronized) => ctx.reportToWitness(mirrorId, synchronized),
            },
            ctx.copyModes().mirrorSlot ?? config.mirrorMode,
          );
    this.registry.upsert({ id: mirrorId, kind: 'mirror', mode: this.shipper.mode, connected: false, filter: '', region: '' });
    if (!this.stopped) this.shipper.start();
    this.ctx.logger.info({ mirror: mirrorId }, `mirroring to ${mirrorId}`);
  }

  // An answer to something sent at `sentAt` came from the mirror or the witness.
  renewLease(sentAt: number): void {
    this.leaseUntil = Math.max(this.leaseUntil, sentAt + this.leaseMs);
    this.leaseRenewed.notify();
  }

  hasQuorum(): boolean {
    return this.fencedBy === null && Date.now() < this.leaseUntil;
  }

  // Reads on the primary are linearizable (SPEC §3): served only while no newer primary can have
  // acknowledged anything. Under the lease the witness cannot have granted a failover yet; while a
  // planned failover drains this primary, the mirror may take over at any moment, so reads stop too.
  mayServeReads(): boolean {
    return this.hasQuorum() && Date.now() >= this.drainingUntil;
  }

  // A newer epoch exists: stop acknowledging anything until the node steps down.
  fence(epoch: number): void {
    if (this.fencedBy !== null && this.fencedBy >= epoch) return;
    this.fencedBy = epoch;
    this.ctx.logger.warn({ newerEpoch: epoch }, 'fenced: a newer epoch exists; refusing writes');
    this.registry.failAll();
  }

  // Linearizable reads, like etcd's ReadIndex: a read shows the state as applied now, which may hold
  // entries no mirror has confirmed yet (an ack=local write, one still waiting for its copies).
  // Such an entry can vanish at a failover, so the read waits until everything it shows is
  // committed: until the commit gate has passed `readIndex`. False when it did not in time.
  async waitCommitted(readIndex: number, timeoutMs: number): Promise<boolean> {
    const committed = await this.registry.waitUntil(() => this.stopped || this.gateLsn() >= readIndex, timeoutMs);
    return committed && !this.stopped;
  }

  // Planned failover: refuse new writes, wait (bounded) until the mirror has every entry.
  async drain(timeoutMs: number): Promise<number> {
    this.drainingUntil = Date.now() + timeoutMs * 2;
    const store = this.ctx.store;
    const done = await this.registry.waitUntil(
      () => store.durableLsn >= store.lastLsn && !!this.shipper && this.shipper.ackedLsn >= store.lastLsn,
      timeoutMs,
    );
    if (!done) {
      this.drainingUntil = 0;
      throw errors.unavailable(`the mirror did not confirm LSN ${store.lastLsn} within ${timeoutMs} ms; the primary goes on`);
    }
    return store.lastLsn;
  }

  start(): void {
    this.shipper?.start();
  }

  // Ends the role: stops shipping and streaming, fails every write still waiting.
  stop(): void {
    this.stopped = true;
    this.shipper?.stop();
    for (const sender of this.senders) sender.close();
    this.senders.clear();
    this.registry.failAll();
  }

  // The highest LSN replicas may have: nothing a synchronized sync-mode mirror has not confirmed.
  gateLsn(): number {
    const applied = this.ctx.store.appliedLsn;
    const shipper = this.shipper;
    if (shipper && shipper.waitsForMirror) return Math.min(applied, shipper.ackedLsn);
    return applied;
  }

  // The live replica streams, read by the metrics (entries and bytes shipped per replica).
  replicaStreams(): readonly StreamSender[] {
    return [...this.senders];
  }

  // New entries reached the state, or the mirror confirmed some: release what the gate allows.
  // Every flush and every mirror answer calls this; pumping once per event-loop turn sends one
  // frame per replica for all of them instead of one each.
  released(): void {
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        for (const sender of this.senders) sender.pump();
      });
    }
    // A drain waits on local durability as well as on the mirror's confirmation.
    if (this.drainingUntil > 0) this.registry.changed();
  }

  mirrorWaited(): boolean {
    if (!this.shipper || this.shipper.mode !== 'sync') return false;
    return this.ctx.config.mirrorPolicy === 'strict' || this.shipper.waitsForMirror;
  }

  copiesMax(): number {
    return 1 + Math.max(this.registry.list().length, Object.keys(this.ctx.config.peers).length - 1);
  }

  async write(op: EntryOp, key: string, valueJson: string | undefined, level: AckLevel): Promise<WriteResult> {
    if (this.stopped) throw errors.notPrimary(null, null, null);
    if (Date.now() < this.drainingUntil) throw errors.unavailable('a planned failover is in progress; retry in a moment (the new primary will redirect you)');
    if (!this.hasQuorum()) throw errors.noQuorum('writes');
    if (this.writesWaiting >= limits.pendingWritesMax) throw errors.overloaded();
    const started = performance.now();
    const store = this.ctx.store;
    const entry = encodeEntry({ lsn: store.lastLsn + 1, epoch: this.ctx.epoch(), ts: Date.now(), op, key, valueJson });
    this.writesWaiting++;
    try {
      store.append(entry);
      this.shipper?.notify();
      await store.waitDurable(entry.lsn).catch(() => {
        throw errors.roleEnded(entry.lsn);
      });
      const durableAt = performance.now();
      const progress = await this.waitForCopies(entry.lsn, level);
      // The lease may have run out while we waited (a pause, a partition): then the witness may
      // already have promoted the mirror, and this answer must not claim success.
      if (!this.hasQuorum()) throw errors.quorumLost(entry.lsn);
      const done = performance.now();
      this.ctx.onWrite(ackLevelName(level), (done - started) / 1000);
      return {
        key,
        lsn: entry.lsn,
        epoch: entry.epoch,
        ackedBy: progress.ackedBy,
        pending: progress.pending,
        degraded: this.degraded(),
        timings: { totalMs: round(done - started), localMs: round(durableAt - started), syncMs: round(done - durableAt) },
      };
    } finally {
      this.writesWaiting--;
    }
  }

  // True while no sync-mode mirror protects writes (none in the slot, or not synchronized).
  degraded(): boolean {
    if (!this.shipper) return true;
    return this.shipper.mode === 'sync' && !this.shipper.waitsForMirror;
  }

  private async waitForCopies(lsn: number, level: AckLevel) {
    const selfId = this.ctx.config.nodeId;
    const progress = () => ackProgress(level, lsn, selfId, this.registry.list(), this.mirrorWaited());
    const satisfied = await this.registry.waitUntil(() => !this.stopped && progress().satisfied, this.ctx.config.syncTimeoutMs);
    // The entry is in the log: whatever ends the wait now, the answer must be indefinite.
    if (this.stopped) throw errors.roleEnded(lsn);
    if (this.fencedBy !== null) throw errors.quorumLost(lsn);
    const result = progress();
    if (satisfied) return result;
    const mirrorId = this.mirrorId;
    const onlyMirror = result.missing.length === 1 && result.missing[0] === mirrorId;
    if (onlyMirror && level.kind === 'sync') {
      if (this.ctx.config.mirrorPolicy === 'strict') throw errors.mirrorUnavailable(lsn);
      // MIRROR_POLICY=degrade: go on alone once the witness consents; the mirror catches up later.
      const released = await this.shipper?.suspend(`LSN ${lsn} not confirmed within SYNC_TIMEOUT_MS`);
      if (!released) throw errors.mirrorUnavailable(lsn);
      return progress();
    }
    throw errors.ackTimeout(lsn, result.ackedBy, result.missing);
  }

  private mirrorStateChanged(from: MirrorState, to: MirrorState, reason: string): void {
    this.ctx.onMirrorState(from, to, reason);
    this.released();
  }

  acceptReplica(socket: WebSocket, hello: HelloMessage): StreamSender {
    const sender = new StreamSender(
      {
        selfId: this.ctx.config.nodeId,
        store: this.ctx.store,
        registry: this.registry,
        link: this.ctx.link,
        logger: this.ctx.logger,
        heartbeatMs: this.ctx.config.heartbeatMs,
        epoch: this.ctx.epoch,
        epochHistory: this.ctx.epochHistory,
        gateLsn: () => this.gateLsn(),
        modeOverride: (id) => this.ctx.copyModes().replicas[id],
        onNewerEpoch: this.ctx.onNewerEpoch,
      },
      socket,
      hello,
    );
    this.senders.add(sender);
    socket.on('close', () => {
      sender.close();
      this.senders.delete(sender);
    });
    return sender;
  }

  // Validates a live mode switch: every id must be a copy this primary knows.
  modeProblems(modes: Record<string, unknown>): string[] {
    const known = new Set(this.registry.list().map((c) => c.id));
    for (const id of Object.keys(this.ctx.config.peers)) if (id !== this.ctx.config.nodeId) known.add(id);
    const problems: string[] = [];
    for (const [id, mode] of Object.entries(modes)) {
      if (!known.has(id)) problems.push(`"${id}" is not a copy of this primary (copies: ${[...known].join(', ')})`);
      if (mode !== 'sync' && mode !== 'async') problems.push(`mode "${String(mode)}" for ${id} must be sync or async`);
    }
    return problems;
  }

  // A mode named for the node in the mirror slot is the slot's mode: it stays with the slot when
  // another node enters it, and does not follow the node if it leaves the slot.
  async setModes(modes: Record<string, CopyMode>): Promise<void> {
    const saved = this.ctx.copyModes();
    const next: CopyModes = { mirrorSlot: saved.mirrorSlot, replicas: { ...saved.replicas } };
    for (const [id, mode] of Object.entries(modes)) {
      if (id === this.mirrorId) next.mirrorSlot = mode;
      else next.replicas[id] = mode;
    }
    await this.ctx.saveCopyModes(next);
    for (const [id, mode] of Object.entries(modes)) {
      if (this.shipper && id === this.shipper.ctxMirrorId) {
        if (!(await this.shipper.setMode(mode))) throw errors.unavailable(`the witness did not consent to stop waiting for ${id}; its mode is ${mode} but writes still wait for it until it does`);
      } else this.registry.setMode(id, mode);
      this.ctx.logger.info({ copy: id, mode }, `copy mode of ${id} is now ${mode}`);
    }
    this.registry.changed();
    this.released();
  }
}

// The lease must end before the witness could grant a failover: the witness waits
// FAILOVER_TIMEOUT_MS from the last heartbeat it received, which was sent no earlier than the one
// that renewed the lease. The margin absorbs timer and scheduling delays on a loaded machine.
export function leaseMsFor(failoverTimeoutMs: number, heartbeatMs: number): number {
  return failoverTimeoutMs - Math.max(2 * heartbeatMs, Math.floor(failoverTimeoutMs / 5));
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
