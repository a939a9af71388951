// One data node. It runs the same code in every role; the role is state that changes only through
// the guarded verbs becomePrimary, becomeMirror and becomeReplica, run one at a time. Each role's
// machinery is built on entry and torn down on exit. The witness's view (epoch, primary, mirror
// slot), heard on every heartbeat, is what moves a node between roles after the first start
// (roles/role-decision.ts decides, this file carries it out).
//
// Durable order, fail-stop: a transition first stops a primary from acknowledging, then makes the
// new state durable, and only then swaps the machinery. A transition that fails half way (a state
// file that cannot be written, a role that cannot be built) ends the process: the restart policy
// brings it back and it recovers from disk, instead of living on with a role and no machinery.

import type { Logger } from 'pino';
import { limits } from '../../../shared/limits.ts';
import { Link } from '../../../shared/link.ts';
import { crashPoint } from '../../../shared/crash-points.ts';
import type { WitnessView } from '../../../shared/protocol.ts';
import { Signal } from '../../../shared/signal.ts';
import type { CopyMode, NodeRole } from '../../../shared/topology.ts';
import type { NodeConfig } from './config.ts';
import { errors } from './errors.ts';
import type { LogContext } from './logger.ts';
import { mergeMembers } from './membership.ts';
import { createNodeMetrics } from './metrics.ts';
import type { MirrorReceiver } from './mirroring/receiver.ts';
import { NodeEvents } from './node-events.ts';
import type { StreamReceiver } from './replication/stream-receiver.ts';
import { addEpochStart, type EpochStart } from './roles/epoch-history.ts';
import { MirrorRole } from './roles/mirror.ts';
import { type PersistedNodeState, readNodeState, writeNodeState } from './roles/node-state-file.ts';
import { type CopyModes, leaseMsFor, PrimaryRole } from './roles/primary.ts';
import { primaryContext } from './roles/primary-context.ts';
import { createReplicaRole } from './roles/replica.ts';
import { decideRole, type SelfView, viewAgrees } from './roles/role-decision.ts';
import { WitnessClient } from './roles/witness-client.ts';
import { readDataFilter, writeDataFilter } from './storage/filter-file.ts';
import { Store } from './storage/store.ts';
import { WriteLatencyWindow } from './write-latency.ts';

export class DataNode {
  // The machinery of the current role: exactly one is set (hasRoleMachinery).
  primary: PrimaryRole | null = null;
  private mirrorRole: MirrorRole | null = null;
  replica: StreamReceiver | null = null;
  readonly link: Link;
  readonly events: NodeEvents;
  readonly metrics;
  // Write latency per ack level over the last second, for /status (the dashboard's latency chart).
  readonly writeLatency = new WriteLatencyWindow(limits.writeLatencyWindowMs, limits.writeLatencySamplesMax);
  readonly witness: WitnessClient;
  private readonly applied = new Signal();
  private readWaiters = 0;
  private transitions: Promise<unknown> = Promise.resolve();
  // State file writes, one at a time and in order (transitions, mode and slot changes).
  private stateWrites: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly config: NodeConfig,
    readonly logger: Logger,
    private readonly logContext: LogContext,
    readonly store: Store,
    private persisted: PersistedNodeState,
    // The key filter the data here was built under (storage/filter-file.ts); roles/replica.ts asks
    // for a full resync when REPLICA_FILTER differs.
    private builtUnderFilter: string,
  ) {
    this.link = new Link(config.nodeId);
    this.events = new NodeEvents(config.nodeId);
    this.metrics = createNodeMetrics(config.nodeId);
    store.onApplied(() => {
      this.applied.notify();
      this.primary?.released();
    });
    // A replica resyncs by itself (stream-receiver.ts); on the primary or the mirror the log on
    // disk is the truth, and a restart rebuilds the state from it.
    store.onInconsistent((error) => {
      if (this.role !== 'replica') this.failStop('the state no longer follows the log', error);
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
      onMembers: (members) => mergeMembers(config, members, logger),
    });
  }

  static async open(config: NodeConfig, logger: Logger, logContext: LogContext): Promise<DataNode> {
    const store = await Store.open({ dir: config.dataDir, fsync: config.fsync, snapshotEveryEntries: config.snapshotEveryEntries, segmentBytesMax: config.logSegmentBytes, logger: logger.child({ component: 'store' }) });
    logger.info({ ...store.recovery, lastLsn: store.lastLsn }, 'log recovered');
    const persisted = (await readNodeState(config.dataDir)) ?? {
      epoch: 0,
      role: config.role,
      primaryId: config.primaryId,
      mirrorId: config.mirrorId,
      mirrorSlotMode: null,
      replicaModes: {},
      epochHistory: [],
    };
    // An empty node takes the filter it starts with; data from before filter.json existed was
    // built unfiltered as far as we know (a filtered replica then resyncs once, which is safe).
    let dataFilter = await readDataFilter(config.dataDir);
    if (dataFilter === null) {
      dataFilter = store.lastLsn === 0 ? config.replicaFilter : '';
      await writeDataFilter(config.dataDir, dataFilter);
    }
    // A filtered replica's digest history covers its filter, so /cluster/verify can compare it.
    store.state.trackPrefix(config.replicaFilter);
    return new DataNode(config, logger, logContext, store, persisted, dataFilter);
  }

  // The key filter the data was built under: REPLICA_FILTER as of the last full resync.
  get dataFilter(): string {
    return this.builtUnderFilter;
  }

  // A replica's state now holds exactly what its filter keeps: remember which filter that is.
  async recordDataFilter(): Promise<void> {
    if (this.builtUnderFilter === this.config.replicaFilter) return;
    await writeDataFilter(this.config.dataDir, this.config.replicaFilter);
    this.builtUnderFilter = this.config.replicaFilter;
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

  // The mirror's receiver while this node is the mirror.
  get mirror(): MirrorReceiver | null {
    return this.mirrorRole?.receiver ?? null;
  }

  // Copy modes set live while this node is primary: the mirror slot's and each replica's.
  copyModes(): CopyModes {
    return { mirrorSlot: this.persisted.mirrorSlotMode, replicas: this.persisted.replicaModes };
  }

  saveCopyModes(modes: CopyModes): Promise<void> {
    return this.persistOrStop({ mirrorSlotMode: modes.mirrorSlot, replicaModes: modes.replicas }, 'copy modes');
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
  }

  // A primary that just started holds no lease until its mirror or the witness first answers.
  // Waiting for that (bounded) before listening means the first client write is not refused.
  async waitForQuorum(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.primary && !this.primary.hasQuorum()) {
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) break;
      await this.primary.leaseRenewed.wait(leftMs);
    }
    return !this.primary || this.primary.hasQuorum();
  }

  // Role changes run one at a time, in order. One that throws failed half way: fail-stop.
  serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.transitions.then(work, work);
    this.transitions = next.catch((error) => this.failStop('a role transition failed', error));
    return next;
  }

  // Ends the process at once (exit code 70, EX_SOFTWARE). The restart policy (compose's
  // on-failure, the launcher's) starts it again, and it comes back from what is on disk.
  failStop(reason: string, error?: unknown): never {
    this.logger.fatal({ err: error, role: this.role, epoch: this.epoch }, `fail-stop: ${reason}`);
    process.exit(70);
  }

  // ---- guarded verbs: call them inside serial() ----

  async becomePrimary(epoch: number, reason: string, slot?: string | null): Promise<void> {
    if (!this.mayMoveTo('primary', epoch)) return;
    if (this.role === 'primary' && this.primary && epoch === this.epoch) return;
    const history = this.epochHistory.some((p) => p.epoch === epoch)
      ? [...this.epochHistory]
      : addEpochStart(this.epochHistory, { epoch, startLsn: this.store.lastLsn + 1, primaryId: this.config.nodeId });
    // Restarting as primary keeps the mirror slot it knew; a new epoch starts with the slot the
    // witness gives (empty after an automatic failover).
    const mirrorId = slot !== undefined ? slot : epoch === this.epoch ? this.persisted.mirrorId : null;
    await this.persist({ role: 'primary', epoch, primaryId: this.config.nodeId, mirrorId, epochHistory: history });
    crashPoint('role.persisted');
    this.leaveRole();
    this.primary = new PrimaryRole(primaryContext(this), mirrorId);
    this.primary.start();
    this.transitioned('primary', reason);
    this.witness.poke();
  }

  async becomeMirror(primaryId: string, epoch: number, reason: string): Promise<void> {
    if (!this.mayMoveTo('mirror', epoch)) return;
    this.primary?.fence(epoch);
    await this.persist({ role: 'mirror', epoch, primaryId, mirrorId: this.config.nodeId });
    crashPoint('role.persisted');
    this.leaveRole();
    this.mirrorRole = new MirrorRole(this);
    this.mirrorRole.start();
    this.transitioned('mirror', reason);
  }

  async becomeReplica(primaryId: string, epoch: number, reason: string): Promise<void> {
    if (!this.mayMoveTo('replica', epoch)) return;
    this.primary?.fence(epoch);
    await this.persist({ role: 'replica', epoch, primaryId });
    crashPoint('role.persisted');
    this.leaveRole();
    this.replica = createReplicaRole(this);
    this.replica.start();
    this.transitioned('replica', reason);
  }

  // A follower learns who the primary is and at which epoch; epochs never go back.
  async follow(primaryId: string, epoch: number, history?: readonly EpochStart[]): Promise<void> {
    // The primary's history is the one this copy's log follows from now on.
    const adopt = !!history && history.length > 0 && Math.max(...history.map((h) => h.epoch)) >= this.epoch;
    const historyChanged = adopt && JSON.stringify(history) !== JSON.stringify(this.persisted.epochHistory);
    const current = historyChanged ? [...(history as EpochStart[])] : this.epochHistory;
    if (epoch < this.epoch || (epoch === this.epoch && primaryId === this.persisted.primaryId)) {
      if (historyChanged) await this.persist({ epochHistory: [...current] });
      return;
    }
    this.logger.info({ primary: primaryId, epoch }, `following ${primaryId} at epoch ${epoch}`);
    const known = current.some((p) => p.epoch === epoch);
    const epochHistory = known ? [...current] : addEpochStart(current, { epoch, startLsn: this.store.lastLsn + 1, primaryId });
    const changedPrimary = primaryId !== this.persisted.primaryId;
    await this.persist({ epoch, primaryId, epochHistory });
    this.transitioned(this.role, `following ${primaryId}`, false);
    this.events.emit('epoch-change', { epoch, primary: primaryId });
    if (changedPrimary) this.replica?.reconnect();
  }

  // Epochs never go back: a move to an older one is refused (logged, nothing changes). It comes
  // from a decision overtaken by a newer view, not from a broken node.
  private mayMoveTo(role: NodeRole, epoch: number): boolean {
    if (epoch >= this.epoch && !this.closed) return true;
    this.logger.warn({ to: role, epoch, known: this.epoch }, `refusing to become ${role} at epoch ${epoch}: this node knows epoch ${this.epoch}`);
    return false;
  }

  private leaveRole(): void {
    this.primary?.stop();
    this.primary = null;
    this.mirrorRole?.stop();
    this.mirrorRole = null;
    this.replica?.stop();
    this.replica = null;
  }

  // The machinery of the persisted role runs (an invariant: a role without it would report a
  // role nothing carries out).
  private hasRoleMachinery(): boolean {
    return this.role === 'primary' ? this.primary !== null : this.role === 'mirror' ? this.mirrorRole !== null : this.replica !== null;
  }

  private transitioned(role: NodeRole, reason: string, changed = true): void {
    if (!this.hasRoleMachinery()) this.failStop(`became ${this.role} without its machinery`);
    this.logContext.role = role;
    this.logContext.epoch = this.epoch;
    this.metrics.epoch.set(this.epoch);
    for (const r of ['primary', 'mirror', 'replica']) this.metrics.role.set({ role: r }, r === role ? 1 : 0);
    if (!changed) return;
    this.logger.info({ reason, lsn: this.store.lastLsn }, `became ${role} at epoch ${this.epoch} (lsn ${this.store.lastLsn})`);
    this.events.emit('role-change', { role, epoch: this.epoch, lsn: this.store.lastLsn, reason });
  }

  // Makes `changes` durable, then takes them as the node's state: what the node reports is always
  // what a restart would come back to. Writes run in order; one that fails rejects (the caller
  // fails stop).
  private persist(changes: Partial<PersistedNodeState>): Promise<void> {
    const write = this.stateWrites.then(async () => {
      const next = { ...this.persisted, ...changes };
      await writeNodeState(this.config.dataDir, next);
      this.persisted = next;
      this.logContext.epoch = next.epoch;
    });
    this.stateWrites = write.catch(() => undefined);
    return write;
  }

  // A state change made outside a transition (the mirror slot, copy modes): fail-stop if lost.
  private persistOrStop(changes: Partial<PersistedNodeState>, what: string): Promise<void> {
    return this.persist(changes).catch((error) => this.failStop(`cannot persist ${what}`, error));
  }

  // ---- the witness's view moves roles ----

  private self(): SelfView {
    return { id: this.config.nodeId, role: this.role, epoch: this.epoch, primaryId: this.primaryId };
  }

  onWitnessView(view: WitnessView, sentAt: number): void {
    if (this.closed || !view.primaryId || view.epoch < this.epoch) return;
    const me = this.config.nodeId;
    if (this.primary && view.primaryId === me && view.epoch === this.epoch) {
      this.primary.renewLease(sentAt);
      if (view.mirrorId !== this.primary.mirrorId) {
        this.primary.setMirror(view.mirrorId);
        void this.persistOrStop({ mirrorId: view.mirrorId }, 'the mirror slot');
      }
      return;
    }
    if (viewAgrees(view, this.self())) return;
    if (this.primary && view.primaryId !== me) this.primary.fence(view.epoch);
    void this.serial(() => this.applyView(view));
  }

  // Moves this node to the role the view gives it. Runs inside serial().
  async applyView(view: WitnessView): Promise<void> {
    const decision = decideRole(view, this.self());
    const me = this.config.nodeId;
    switch (decision.kind) {
      case 'stay':
        return;
      case 'become-primary':
        return this.becomePrimary(decision.epoch, `the witness named ${me} primary at epoch ${decision.epoch}`, decision.mirrorId);
      case 'await-slot':
        this.primary?.fence(decision.epoch);
        this.witness.poke();
        return;
      case 'become-mirror':
        return this.becomeMirror(decision.primaryId, decision.epoch, this.role === 'primary'
          ? `stepped down: ${decision.primaryId} is primary at epoch ${decision.epoch}`
          : `the witness gave ${me} the mirror slot`);
      case 'become-replica':
        return this.becomeReplica(decision.primaryId, decision.epoch, this.role === 'primary'
          ? `stepped down: ${decision.primaryId} is primary at epoch ${decision.epoch}`
          : `the mirror slot went to ${view.mirrorId ?? 'nobody'}`);
      case 'follow':
        return this.follow(decision.primaryId, decision.epoch);
    }
  }

  // A peer showed a newer epoch: stop acknowledging at once, then learn the view from the witness.
  onNewerEpoch(epoch: number, from: string): void {
    this.logger.warn({ epoch, from }, `${from} knows epoch ${epoch}, newer than ${this.epoch}`);
    this.primary?.fence(epoch);
    this.witness.poke();
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
    // Persisted as primary, machinery not built yet (a transition in progress): a redirect would
    // point at this very node.
    if (this.role === 'primary') throw errors.unavailable('this node is becoming the primary; retry in a moment');
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
    this.witness.stop();
    this.leaveRole();
    await this.store.close();
    await this.link.close();
  }
}
