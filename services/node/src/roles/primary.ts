// The primary: the one node that takes writes. A write is appended to the log (which starts
// shipping it to the mirror at once), waits for its own fsync (group commit), then for the copies
// its ack level names, to SYNC_TIMEOUT_MS. Built when the node becomes primary, torn down when it
// stops being one: what was waiting then fails.

import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { limits } from '../../../../shared/limits.ts';
import { encodeEntry, type EntryOp } from '../../../../shared/log-format.ts';
import type { Link } from '../../../../shared/link.ts';
import type { HelloMessage } from '../../../../shared/protocol.ts';
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
  modes: () => Record<string, CopyMode>;
  saveModes: (modes: Record<string, CopyMode>) => Promise<void>;
  onNewerEpoch: (epoch: number, from: string) => void;
  onMirrorState: (from: MirrorState, to: MirrorState, reason: string) => void;
  onWrite: (level: string, seconds: number) => void;
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
  readonly shipper: MirrorShipper | null;
  private readonly senders = new Set<StreamSender>();
  private writesWaiting = 0;
  private stopped = false;

  constructor(private readonly ctx: PrimaryContext) {
    const { config } = ctx;
    const mirrorUrl = config.peers[config.mirrorId];
    this.shipper =
      mirrorUrl && config.mirrorId !== config.nodeId
        ? new MirrorShipper(
            {
              selfId: config.nodeId,
              mirrorId: config.mirrorId,
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
              onMirrorDiverged: (mirrorLsn, fork) =>
                ctx.logger.warn({ mirrorLsn, fork }, 'the mirror holds entries this primary never had; it gets a full resync'),
            },
            ctx.modes()[config.mirrorId] ?? config.mirrorMode,
          )
        : null;
  }

  start(): void {
    if (this.shipper) {
      this.registry.upsert({ id: this.ctx.config.mirrorId, kind: 'mirror', mode: this.shipper.mode, connected: false, filter: '', region: '' });
      this.shipper.start();
    }
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

  // New entries reached the state, or the mirror confirmed some: release what the gate allows.
  released(): void {
    for (const sender of this.senders) sender.pump();
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
    if (this.writesWaiting >= limits.pendingWritesMax) throw errors.overloaded();
    const started = performance.now();
    const store = this.ctx.store;
    const entry = encodeEntry({ lsn: store.lastLsn + 1, epoch: this.ctx.epoch(), ts: Date.now(), op, key, valueJson });
    this.writesWaiting++;
    try {
      store.append(entry);
      this.shipper?.notify();
      await store.waitDurable(entry.lsn);
      const durableAt = performance.now();
      const progress = await this.waitForCopies(entry.lsn, level);
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

  // True while a sync-mode mirror is not protecting writes (it is not synchronized).
  degraded(): boolean {
    return !!this.shipper && this.shipper.mode === 'sync' && !this.shipper.waitsForMirror;
  }

  private async waitForCopies(lsn: number, level: AckLevel) {
    const selfId = this.ctx.config.nodeId;
    const progress = () => ackProgress(level, lsn, selfId, this.registry.list(), this.mirrorWaited());
    const satisfied = await this.registry.waitUntil(() => !this.stopped && progress().satisfied, this.ctx.config.syncTimeoutMs);
    if (this.stopped) throw errors.notPrimary(null, null, null);
    const result = progress();
    if (satisfied) return result;
    const mirrorId = this.ctx.config.mirrorId;
    const onlyMirror = result.missing.length === 1 && result.missing[0] === mirrorId;
    if (onlyMirror && level.kind === 'sync') {
      if (this.ctx.config.mirrorPolicy === 'strict') throw errors.mirrorUnavailable(lsn);
      // MIRROR_POLICY=degrade: go on alone; the mirror catches up in the background.
      this.shipper?.suspend(`LSN ${lsn} not confirmed within SYNC_TIMEOUT_MS`);
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
        modeOverride: (id) => this.ctx.modes()[id],
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
    const known = new Set([...(this.shipper ? [this.ctx.config.mirrorId] : []), ...this.registry.list().map((c) => c.id)]);
    for (const id of Object.keys(this.ctx.config.peers)) if (id !== this.ctx.config.nodeId) known.add(id);
    const problems: string[] = [];
    for (const [id, mode] of Object.entries(modes)) {
      if (!known.has(id)) problems.push(`"${id}" is not a copy of this primary (copies: ${[...known].join(', ')})`);
      if (mode !== 'sync' && mode !== 'async') problems.push(`mode "${String(mode)}" for ${id} must be sync or async`);
    }
    return problems;
  }

  async setModes(modes: Record<string, CopyMode>): Promise<void> {
    await this.ctx.saveModes({ ...this.ctx.modes(), ...modes });
    for (const [id, mode] of Object.entries(modes)) {
      if (this.shipper && id === this.ctx.config.mirrorId) this.shipper.setMode(mode);
      else this.registry.setMode(id, mode);
      this.ctx.logger.info({ copy: id, mode }, `copy mode of ${id} is now ${mode}`);
    }
    this.registry.changed();
    this.released();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
