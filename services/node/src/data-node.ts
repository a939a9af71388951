// One data node. It runs the same code in every role; the role is state that changes only through
// the guarded verbs becomePrimary, becomeMirror and becomeReplica. Each role's machinery is built
// on entry and torn down on exit.

import type { Logger } from 'pino';
import { limits } from '../../../shared/limits.ts';
import { Link } from '../../../shared/link.ts';
import { Signal } from '../../../shared/signal.ts';
import type { CopyMode, NodeRole } from '../../../shared/topology.ts';
import type { NodeConfig } from './config.ts';
import { errors } from './errors.ts';
import type { LogContext } from './logger.ts';
import { createNodeMetrics } from './metrics.ts';
import { MirrorReceiver } from './mirroring/receiver.ts';
import { NodeEvents } from './node-events.ts';
import { StreamReceiver } from './replication/stream-receiver.ts';
import { addEpochStart, type EpochStart } from './roles/epoch-history.ts';
import { type PersistedNodeState, readNodeState, writeNodeState } from './roles/node-state-file.ts';
import { PrimaryRole } from './roles/primary.ts';
import { Store } from './storage/store.ts';

export class DataNode {
  primary: PrimaryRole | null = null;
  mirror: MirrorReceiver | null = null;
  replica: StreamReceiver | null = null;
  readonly link: Link;
  readonly events: NodeEvents;
  readonly metrics;
  private readonly applied = new Signal();
  private readWaiters = 0;

  private constructor(
    readonly config: NodeConfig,
    readonly logger: Logger,
    private readonly logContext: LogContext,
    readonly store: Store,
    private persisted: PersistedNodeState,
  ) {
    this.link = new Link(config.nodeId);
    this.events = new NodeEvents(config.nodeId);
    this.metrics = createNodeMetrics(config.nodeId);
    store.onApplied(() => {
      this.applied.notify();
      this.primary?.released();
    });
  }

  static async open(config: NodeConfig, logger: Logger, logContext: LogContext): Promise<DataNode> {
    const store = await Store.open({ dir: config.dataDir, fsync: config.fsync, logger: logger.child({ component: 'store' }) });
    logger.info({ ...store.recovery, lastLsn: store.lastLsn }, 'log recovered');
    const persisted = (await readNodeState(config.dataDir)) ?? {
      epoch: 0,
      role: config.role,
      primaryId: config.primaryId,
      modes: {},
      epochHistory: [],
    };
    return new DataNode(config, logger, logContext, store, persisted);
  }

  get role(): NodeRole {
    return this.persisted.role;
  }

  get epoch(): number {
    return this.persisted.epoch;
  }

  get primaryId(): string | null {
    return this.role === 'primary' ? this.config.nodeId : this.persisted.primaryId;
  }

  get epochHistory(): readonly EpochStart[] {
    return this.persisted.epochHistory;
  }

  // Enters the role the node had when it stopped (or its configured role on a first start).
  async start(): Promise<void> {
    const { role, epoch, primaryId } = this.persisted;
    if (role === 'primary') await this.becomePrimary(Math.max(epoch, 1), 'started as primary');
    else if (role === 'mirror') await this.becomeMirror(primaryId ?? this.config.primaryId, epoch, 'started as mirror');
    else await this.becomeReplica(primaryId ?? this.config.primaryId, epoch, 'started as replica');
  }

  async becomePrimary(epoch: number, reason: string): Promise<void> {
    if (epoch < this.epoch) throw new Error(`cannot become primary at epoch ${epoch}: this node knows epoch ${this.epoch}`);
    const history = this.epochHistory.some((p) => p.epoch === epoch)
      ? [...this.epochHistory]
      : addEpochStart(this.epochHistory, { epoch, startLsn: this.store.lastLsn + 1, primaryId: this.config.nodeId });
    this.leaveRole();
    await this.persist({ role: 'primary', epoch, primaryId: this.config.nodeId, epochHistory: history });
    this.primary = new PrimaryRole({
      config: this.config,
      store: this.store,
      link: this.link,
      logger: this.logger.child({ component: 'primary' }),
      epoch: () => this.epoch,
      epochHistory: () => this.epochHistory,
      modes: () => this.persisted.modes,
      saveModes: (modes) => this.persist({ modes }),
      onNewerEpoch: (newer, from) => this.logger.warn({ epoch: newer, from }, 'a peer knows a newer epoch; this primary is stale'),
      onMirrorState: (from, to, why) => this.events.emit('mirror-state', { mirror: this.config.mirrorId, from, to, reason: why }),
      onWrite: (level, seconds) => {
        this.metrics.writeSeconds.observe({ ack: level }, seconds);
        this.metrics.writesTotal.inc({ ack: level });
      },
    });
    this.primary.start();
    this.transitioned('primary', reason);
  }

  async becomeMirror(primaryId: string, epoch: number, reason: string): Promise<void> {
    this.leaveRole();
    await this.persist({ role: 'mirror', epoch, primaryId });
    this.mirror = new MirrorReceiver({ selfId: this.config.nodeId, store: this.store, logger: this.logger.child({ component: 'mirror' }) });
    this.transitioned('mirror', reason);
  }

  async becomeReplica(primaryId: string, epoch: number, reason: string): Promise<void> {
    this.leaveRole();
    await this.persist({ role: 'replica', epoch, primaryId });
    this.replica = new StreamReceiver({
      selfId: this.config.nodeId,
      secret: this.config.clusterSecret,
      mode: this.config.replicaMode,
      filter: this.config.replicaFilter,
      region: this.config.region,
      heartbeatMs: this.config.heartbeatMs,
      store: this.store,
      link: this.link,
      logger: this.logger.child({ component: 'replica' }),
      epoch: () => this.epoch,
      primaryId: () => this.primaryId,
      primaryUrl: (id) => this.config.peers[id],
      onPrimaryInfo: (id, newEpoch) => void this.follow(id, newEpoch),
      onNotPrimary: (id, newEpoch) => {
        if (id) void this.follow(id, newEpoch ?? this.epoch);
      },
    });
    this.replica.start();
    this.transitioned('replica', reason);
  }

  // A follower learns who the primary is and at which epoch; epochs never go back.
  async follow(primaryId: string, epoch: number): Promise<void> {
    if (epoch < this.epoch || (epoch === this.epoch && primaryId === this.persisted.primaryId)) return;
    this.logger.info({ primary: primaryId, epoch }, `following ${primaryId} at epoch ${epoch}`);
    const history = addEpochStart(this.epochHistory, { epoch, startLsn: this.store.lastLsn + 1, primaryId });
    await this.persist({ epoch, primaryId, epochHistory: history });
    this.events.emit('epoch-change', { epoch, primary: primaryId });
  }

  private leaveRole(): void {
    this.primary?.stop();
    this.primary = null;
    this.mirror = null;
    this.replica?.stop();
    this.replica = null;
  }

  private transitioned(role: NodeRole, reason: string): void {
    this.logContext.role = role;
    this.logContext.epoch = this.epoch;
    this.metrics.epoch.set(this.epoch);
    for (const r of ['primary', 'mirror', 'replica']) this.metrics.role.set({ role: r }, r === role ? 1 : 0);
    this.logger.info({ reason, lsn: this.store.lastLsn }, `became ${role} at epoch ${this.epoch} (lsn ${this.store.lastLsn})`);
    this.events.emit('role-change', { role, epoch: this.epoch, lsn: this.store.lastLsn, reason });
  }

  private async persist(changes: Partial<PersistedNodeState>): Promise<void> {
    this.persisted = { ...this.persisted, ...changes };
    this.logContext.epoch = this.persisted.epoch;
    await writeNodeState(this.config.dataDir, this.persisted);
  }

  // Waits, to a deadline, for the applied LSN to reach `minLsn` (read-your-writes).
  async waitApplied(minLsn: number, waitMs: number): Promise<boolean> {
    if (this.store.appliedLsn >= minLsn) return true;
    if (this.readWaiters >= limits.readWaitersMax) return false;
    const deadline = Date.now() + waitMs;
    this.readWaiters++;
    try {
      while (this.store.appliedLsn < minLsn) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await this.applied.wait(left);
      }
      return true;
    } finally {
      this.readWaiters--;
    }
  }

  // Throws the right refusal when this node does not take writes.
  assertPrimary(path: string): PrimaryRole {
    if (this.primary) return this.primary;
    const id = this.primaryId;
    const url = id ? (this.config.publicPeers[id] ?? this.config.peers[id] ?? null) : null;
    throw errors.notPrimary(id, url, url ? `${url}${path}` : null);
  }

  lagMs(): number {
    return this.replica ? this.replica.lagMs() : 0;
  }

  setModes(modes: Record<string, CopyMode>): Promise<void> {
    return this.assertPrimary('/internal/modes').setModes(modes);
  }

  async close(): Promise<void> {
    this.leaveRole();
    await this.store.close();
    await this.link.close();
  }
}
