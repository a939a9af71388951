// One data node. It runs the same code in every role; the role is state that changes only through
// the guarded verbs becomePrimary, becomeMirror and becomeReplica, run one at a time. Each role's
// machinery is built on entry and torn down on exit. The witness's view (epoch, primary, mirror
// slot), heard on every heartbeat, is what moves a node between roles after the first start.

import type { Logger } from 'pino';
import { limits } from '../../../shared/limits.ts';
import { Link } from '../../../shared/link.ts';
import { authHeaders } from '../../../shared/protocol.ts';
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
import { FailoverMonitor } from './roles/failover-monitor.ts';
import { type PersistedNodeState, readNodeState, writeNodeState } from './roles/node-state-file.ts';
import { leaseMsFor, PrimaryRole } from './roles/primary.ts';
import { WitnessClient, type WitnessView } from './roles/witness-client.ts';
import { writeRollbackFile } from './storage/rollback-file.ts';
import { Store } from './storage/store.ts';
import { WriteLatencyWindow } from './write-latency.ts';

export class DataNode {
  primary: PrimaryRole | null = null;
  mirror: MirrorReceiver | null = null;
  replica: StreamReceiver | null = null;
  readonly link: Link;
  readonly events: NodeEvents;
  readonly metrics;
  // Write latency per ack level over the last second, for /status (the dashboard's latency chart).
  readonly writeLatency = new WriteLatencyWindow(limits.writeLatencyWindowMs, limits.writeLatencySamplesMax);
  readonly witness: WitnessClient;
  private readonly failoverMonitor: FailoverMonitor;
  private readonly applied = new Signal();
  private readWaiters = 0;
  private transitions: Promise<unknown> = Promise.resolve();
  private closed = false;

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
    this.witness = new WitnessClient({
      selfId: config.nodeId,
      controlUrl: config.controlUrl,
      secret: config.clusterSecret,
      heartbeatMs: config.heartbeatMs,
      leaseMs: leaseMsFor(config.failoverTimeoutMs, config.heartbeatMs),
      link: this.link,
      logger: logger.child({ component: 'witness-client' }),
      describe: () => ({ role: this.role, epoch: this.epoch, lsn: this.store.lastLsn, mirrorId: this.primary?.mirrorId ?? this.persisted.mirrorId }),
      onView: (view, sentAt) => this.onWitnessView(view, sentAt),
    });
    this.failoverMonitor = new FailoverMonitor(this);
  }

  static async open(config: NodeConfig, logger: Logger, logContext: LogContext): Promise<DataNode> {
    const store = await Store.open({ dir: config.dataDir, fsync: config.fsync, logger: logger.child({ component: 'store' }) });
    logger.info({ ...store.recovery, lastLsn: store.lastLsn }, 'log recovered');
    const persisted = (await readNodeState(config.dataDir)) ?? {
      epoch: 0,
      role: config.role,
      primaryId: config.primaryId,
      mirrorId: config.mirrorId,
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
    await this.serial(async () => {
      if (role === 'primary') await this.becomePrimary(Math.max(epoch, 1), 'started as primary', this.persisted.mirrorId);
      else if (role === 'mirror') await this.becomeMirror(primaryId ?? this.config.primaryId, epoch, 'started as mirror');
      else await this.becomeReplica(primaryId ?? this.config.primaryId, epoch, 'started as replica');
    });
    this.witness.start();
    this.failoverMonitor.start();
  }

  // A primary that just started holds no lease until its mirror or the witness first answers.
  // Waiting for that (bounded) before listening means the first client write is not refused.
  async waitForQuorum(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.primary && !this.primary.hasQuorum() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return !this.primary || this.primary.hasQuorum();
  }

  // Role changes run one at a time, in order.
  serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.transitions.then(work, work);
    this.transitions = next.catch((error) => this.logger.error({ err: error }, 'role transition failed'));
    return next;
  }

  // ---- guarded verbs: call them inside serial() ----

  async becomePrimary(epoch: number, reason: string, slot?: string | null): Promise<void> {
    if (epoch < this.epoch) throw new Error(`cannot become primary at epoch ${epoch}: this node knows epoch ${this.epoch}`);
    if (this.role === 'primary' && this.primary && epoch === this.epoch) return;
    const history = this.epochHistory.some((p) => p.epoch === epoch)
      ? [...this.epochHistory]
      : addEpochStart(this.epochHistory, { epoch, startLsn: this.store.lastLsn + 1, primaryId: this.config.nodeId });
    // Restarting as primary keeps the mirror slot it knew; a new epoch starts with the slot the
    // witness gives (empty after an automatic failover).
    const mirrorId = slot !== undefined ? slot : epoch === this.epoch ? this.persisted.mirrorId : null;
    this.leaveRole();
    await this.persist({ role: 'primary', epoch, primaryId: this.config.nodeId, mirrorId, epochHistory: history });
    this.primary = new PrimaryRole(
      {
        config: this.config,
        store: this.store,
        link: this.link,
        logger: this.logger.child({ component: 'primary' }),
        epoch: () => this.epoch,
        epochHistory: () => this.epochHistory,
        modes: () => this.persisted.modes,
        saveModes: (modes) => this.persist({ modes }),
        onNewerEpoch: (newer, from) => this.onNewerEpoch(newer, from),
        reportToWitness: (synchronized) => this.witness.reportMirrorState(this.epoch, synchronized),
        rollbackMirror: (id, fork) => this.rollbackMirror(id, fork),
        onMirrorState: (from, to, why) => {
          this.events.emit('mirror-state', { mirror: this.primary?.mirrorId, from, to, reason: why });
          if (from === 'disconnected' && to === 'synchronizing') this.events.emit('resync-started', { copy: this.primary?.mirrorId, lsn: this.store.lastLsn });
          if (to === 'synchronized') this.events.emit('resync-finished', { copy: this.primary?.mirrorId, lsn: this.store.lastLsn });
        },
        onWrite: (level, seconds) => {
          this.metrics.writeSeconds.observe({ ack: level }, seconds);
          this.metrics.writesTotal.inc({ ack: level });
          this.writeLatency.observe(level, seconds * 1000);
        },
      },
      mirrorId,
    );
    this.primary.start();
    this.transitioned('primary', reason);
    this.witness.poke();
  }

  async becomeMirror(primaryId: string, epoch: number, reason: string): Promise<void> {
    this.assertNotBackwards(epoch);
    this.leaveRole();
    await this.persist({ role: 'mirror', epoch, primaryId, mirrorId: this.config.nodeId });
    this.mirror = new MirrorReceiver({ selfId: this.config.nodeId, store: this.store, logger: this.logger.child({ component: 'mirror' }) });
    this.transitioned('mirror', reason);
  }

  async becomeReplica(primaryId: string, epoch: number, reason: string): Promise<void> {
    this.assertNotBackwards(epoch);
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
      onPrimaryInfo: (id: string, newEpoch: number, history: readonly EpochStart[]) => void this.serial(() => this.follow(id, newEpoch, history)),
      onNotPrimary: () => this.witness.poke(),
      onResync: (kind: string, lsn: number) => this.events.emit(kind === 'finished' ? 'resync-finished' : 'resync-started', { copy: this.config.nodeId, lsn }),
      onDiverged: (fork: number) => this.rollback(fork, 'the primary never had these entries'),
    });
    this.replica.start();
    this.transitioned('replica', reason);
  }

  // A follower learns who the primary is and at which epoch; epochs never go back.
  async follow(primaryId: string, epoch: number, history?: readonly EpochStart[]): Promise<void> {
    let historyChanged = false;
    if (history && history.length > 0 && Math.max(...history.map((h) => h.epoch)) >= this.epoch) {
      historyChanged = JSON.stringify(history) !== JSON.stringify(this.persisted.epochHistory);
      if (historyChanged) this.persisted = { ...this.persisted, epochHistory: [...history] };
    }
    if (epoch < this.epoch || (epoch === this.epoch && primaryId === this.persisted.primaryId)) {
      if (historyChanged) await this.persist({});
      return;
    }
    this.logger.info({ primary: primaryId, epoch }, `following ${primaryId} at epoch ${epoch}`);
    const known = this.epochHistory.some((p) => p.epoch === epoch);
    const epochHistory = known ? [...this.epochHistory] : addEpochStart(this.epochHistory, { epoch, startLsn: this.store.lastLsn + 1, primaryId });
    const changedPrimary = primaryId !== this.persisted.primaryId;
    await this.persist({ epoch, primaryId, epochHistory });
    this.transitioned(this.role, `following ${primaryId}`, false);
    this.events.emit('epoch-change', { epoch, primary: primaryId });
    if (changedPrimary) this.replica?.reconnect();
  }

  private assertNotBackwards(epoch: number): void {
    if (epoch < this.epoch) throw new Error(`refusing a role change to epoch ${epoch}: this node knows epoch ${this.epoch}`);
  }

  private leaveRole(): void {
    this.primary?.stop();
    this.primary = null;
    this.mirror = null;
    this.replica?.stop();
    this.replica = null;
  }

  private transitioned(role: NodeRole, reason: string, changed = true): void {
    this.logContext.role = role;
    this.logContext.epoch = this.epoch;
    this.metrics.epoch.set(this.epoch);
    for (const r of ['primary', 'mirror', 'replica']) this.metrics.role.set({ role: r }, r === role ? 1 : 0);
    if (!changed) return;
    this.logger.info({ reason, lsn: this.store.lastLsn }, `became ${role} at epoch ${this.epoch} (lsn ${this.store.lastLsn})`);
    this.events.emit('role-change', { role, epoch: this.epoch, lsn: this.store.lastLsn, reason });
  }

  private async persist(changes: Partial<PersistedNodeState>): Promise<void> {
    this.persisted = { ...this.persisted, ...changes };
    this.logContext.epoch = this.persisted.epoch;
    await writeNodeState(this.config.dataDir, this.persisted);
  }

  // ---- the witness's view moves roles ----

  onWitnessView(view: WitnessView, sentAt: number): void {
    if (this.closed || !view.primaryId || view.epoch < this.epoch) return;
    const me = this.config.nodeId;
    if (this.primary && view.primaryId === me && view.epoch === this.epoch) {
      this.primary.renewLease(sentAt);
      if (view.mirrorId !== this.primary.mirrorId) {
        this.primary.setMirror(view.mirrorId);
        void this.persist({ mirrorId: view.mirrorId });
      }
      return;
    }
    if (this.viewAgrees(view)) return;
    if (this.primary && view.primaryId !== me) this.primary.fence(view.epoch);
    void this.serial(() => this.applyView(view));
  }

  private viewAgrees(view: WitnessView): boolean {
    const me = this.config.nodeId;
    if (view.epoch !== this.epoch || view.primaryId !== this.primaryId) return false;
    if (this.role === 'mirror') return view.mirrorId === me;
    if (this.role === 'replica') return view.mirrorId !== me;
    return view.primaryId === me;
  }

  // Moves this node to the role the view gives it. Runs inside serial().
  async applyView(view: WitnessView): Promise<void> {
    if (!view.primaryId || view.epoch < this.epoch || this.viewAgrees(view)) return;
    const me = this.config.nodeId;
    if (view.primaryId === me) {
      if (this.role !== 'primary' || view.epoch > this.epoch) await this.becomePrimary(view.epoch, `the witness named ${me} primary at epoch ${view.epoch}`, view.mirrorId);
      return;
    }
    if (this.role === 'primary') {
      if (view.mirrorId === null) {
        // The slot is free: our next heartbeat lets the witness give it to us. Until then we
        // stay fenced rather than guess a role.
        this.primary?.fence(view.epoch);
        this.witness.poke();
        return;
      }
      const why = `stepped down: ${view.primaryId} is primary at epoch ${view.epoch}`;
      if (view.mirrorId === me) await this.becomeMirror(view.primaryId, view.epoch, why);
      else await this.becomeReplica(view.primaryId, view.epoch, why);
      return;
    }
    if (view.mirrorId === me && this.role !== 'mirror') {
      await this.becomeMirror(view.primaryId, view.epoch, `the witness gave ${me} the mirror slot`);
    } else if (view.mirrorId !== me && this.role === 'mirror') {
      await this.becomeReplica(view.primaryId, view.epoch, `the mirror slot went to ${view.mirrorId ?? 'nobody'}`);
    } else {
      await this.follow(view.primaryId, view.epoch);
    }
  }

  // A peer showed a newer epoch: stop acknowledging at once, then learn the view from the witness.
  onNewerEpoch(epoch: number, from: string): void {
    this.logger.warn({ epoch, from }, `${from} knows epoch ${epoch}, newer than ${this.epoch}`);
    this.primary?.fence(epoch);
    this.witness.poke();
  }

  // ---- rollback ----

  // Cuts every entry after `toLsn` into a rollback file and reports it. Resolves with the new last
  // LSN, or null when the cut reaches below the snapshot (a full resync is needed instead).
  async rollback(toLsn: number, reason: string): Promise<number | null> {
    if (toLsn >= this.store.lastLsn) return this.store.lastLsn;
    let removed;
    try {
      removed = await this.store.truncateAfter(toLsn);
    } catch (error) {
      this.logger.warn({ err: error, toLsn }, 'cannot roll back that far; a full resync follows');
      return null;
    }
    const record = await writeRollbackFile(this.config.dataDir, this.epoch, removed);
    this.logger.warn({ ...record, toLsn, reason }, `rolled back ${record.count} entries (LSN ${record.firstLsn}-${record.lastLsn}) into ${record.file}`);
    this.events.emit('rollback', { ...record, toLsn, reason, epoch: this.epoch });
    return this.store.lastLsn;
  }

  private async rollbackMirror(mirrorId: string, fork: number): Promise<number | null> {
    const url = this.config.peers[mirrorId];
    if (!url) return null;
    const response = await this.link
      .request(mirrorId, `${url}/internal/mirror/rollback`, {
        method: 'POST',
        headers: { ...authHeaders(this.config.clusterSecret, this.config.nodeId, this.epoch), 'content-type': 'application/json' },
        body: JSON.stringify({ toLsn: fork }),
        timeoutMs: Math.max(this.config.syncTimeoutMs, 10_000),
      })
      .catch(() => null);
    if (response?.statusCode !== 200) return null;
    return (JSON.parse(response.body.toString('utf8')) as { lsn: number }).lsn;
  }

  // ---- reads ----

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
    this.closed = true;
    this.failoverMonitor.stop();
    this.witness.stop();
    this.leaveRole();
    await this.store.close();
    await this.link.close();
  }
}
