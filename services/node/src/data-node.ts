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
import { authHeaders, type WitnessView } from '../../../shared/protocol.ts';
import { Signal } from '../../../shared/signal.ts';
import type { CopyMode, NodeRole } from '../../../shared/topology.ts';
import type { NodeConfig } from './config.ts';
import { errors } from './errors.ts';
import type { LogContext } from './logger.ts';
import { mergeMembers } from './membership.ts';
import { createNodeMetrics } from './metrics.ts';
import { MirrorReceiver } from './mirroring/receiver.ts';
import { NodeEvents } from './node-events.ts';
import { StreamReceiver } from './replication/stream-receiver.ts';
import { addEpochStart, type EpochStart } from './roles/epoch-history.ts';
import { FailoverMonitor } from './roles/failover-monitor.ts';
import { type PersistedNodeState, readNodeState, writeNodeState } from './roles/node-state-file.ts';
import { leaseMsFor, PrimaryRole } from './roles/primary.ts';
import { decideRole, type SelfView, viewAgrees } from './roles/role-decision.ts';
import { WitnessClient } from './roles/witness-client.ts';
import { type RollbackRecord, writeRollbackFile } from './storage/rollback-file.ts';
import { readDataFilter, writeDataFilter } from './storage/filter-file.ts';
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
  // State file writes, one at a time and in order (transitions, mode and slot changes).
  private stateWrites: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly config: NodeConfig,
    readonly logger: Logger,
    private readonly logContext: LogContext,
    readonly store: Store,
    private persisted: PersistedNodeState,
    // The key filter the data here was built under (storage/filter-file.ts).
    private dataFilter: string,
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
    this.failoverMonitor = new FailoverMonitor(this);
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
    this.primary = new PrimaryRole(
      {
        config: this.config,
        store: this.store,
        link: this.link,
        logger: this.logger.child({ component: 'primary' }),
        epoch: () => this.epoch,
        epochHistory: () => this.epochHistory,
        copyModes: () => ({ mirrorSlot: this.persisted.mirrorSlotMode, replicas: this.persisted.replicaModes }),
        saveCopyModes: (modes) => this.persistOrStop({ mirrorSlotMode: modes.mirrorSlot, replicaModes: modes.replicas }, 'copy modes'),
        onNewerEpoch: (newer, from) => this.onNewerEpoch(newer, from),
        reportToWitness: (mirrorId, synchronized) => this.witness.reportMirrorState(this.epoch, mirrorId, synchronized),
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
    if (!this.mayMoveTo('mirror', epoch)) return;
    this.primary?.fence(epoch);
    await this.persist({ role: 'mirror', epoch, primaryId, mirrorId: this.config.nodeId });
    crashPoint('role.persisted');
    this.leaveRole();
    this.mirror = new MirrorReceiver({ selfId: this.config.nodeId, store: this.store, logger: this.logger.child({ component: 'mirror' }) });
    this.transitioned('mirror', reason);
  }

  async becomeReplica(primaryId: string, epoch: number, reason: string): Promise<void> {
    if (!this.mayMoveTo('replica', epoch)) return;
    this.primary?.fence(epoch);
    await this.persist({ role: 'replica', epoch, primaryId });
    crashPoint('role.persisted');
    this.leaveRole();
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
      fullResyncFirst: this.dataFilter !== this.config.replicaFilter,
      onSnapshotLoaded: () => this.recordDataFilter(),
    });
    if (this.dataFilter !== this.config.replicaFilter) {
      this.logger.info({ was: this.dataFilter, now: this.config.replicaFilter }, 'REPLICA_FILTER changed since the data was built: asking for a full resync');
    }
    this.replica.start();
    this.transitioned('replica', reason);
  }

  // A replica's state now holds exactly what its filter keeps: remember which filter that is.
  private async recordDataFilter(): Promise<void> {
    if (this.dataFilter === this.config.replicaFilter) return;
    await writeDataFilter(this.config.dataDir, this.config.replicaFilter);
    this.dataFilter = this.config.replicaFilter;
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
    this.mirror?.stop();
    this.mirror = null;
    this.replica?.stop();
    this.replica = null;
  }

  // The machinery of the persisted role runs (an invariant: a role without it would report a
  // role nothing carries out).
  private hasRoleMachinery(): boolean {
    return this.role === 'primary' ? this.primary !== null : this.role === 'mirror' ? this.mirror !== null : this.replica !== null;
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

  // ---- rollback ----

  // Cuts every entry after `toLsn` into a rollback file and reports it. Resolves with the new last
  // LSN, or null when the cut reaches below the snapshot: then the file keeps what can still be
  // known (see keepCompacted) and a full resync must replace the whole state. The file is durable
  // before anything is cut: a kill -9 in between leaves the entries in the log, and the next
  // rollback writes the same file again; never a cut log without its file.
  async rollback(toLsn: number, reason: string): Promise<number | null> {
    if (toLsn >= this.store.lastLsn) return this.store.lastLsn;
    if (toLsn < this.store.snapshotLsn) {
      await this.keepCompacted(toLsn, reason);
      return null;
    }
    const doomed = await this.store.readAfter(toLsn);
    const record = doomed.length > 0 ? await writeRollbackFile(this.config.dataDir, this.epoch, { entries: doomed }) : null;
    crashPoint('rollback.file-written');
    const removed = await this.store.truncateAfter(toLsn);
    if (removed.length !== doomed.length) this.failStop(`rollback cut ${removed.length} entries, not the ${doomed.length} it kept`);
    crashPoint('rollback.truncated');
    if (record) this.reportRollback(record, toLsn, reason);
    return this.store.lastLsn;
  }

  // The cut reaches into the snapshot, where single entries are gone: the rollback file gets the
  // entries still in the log and, for the compacted range, the latest value of every key written
  // there. The full resync that follows replaces log and state.
  private async keepCompacted(toLsn: number, reason: string): Promise<void> {
    const snapshotLsn = this.store.snapshotLsn;
    const entries = await this.store.readAfter(snapshotLsn);
    const items = this.store.state.itemsWrittenBetween(toLsn, snapshotLsn);
    this.logger.warn({ toLsn, snapshotLsn }, 'the rollback reaches below the snapshot: keeping what the state shows, then a full resync');
    if (entries.length === 0 && items.length === 0) return;
    const record = await writeRollbackFile(this.config.dataDir, this.epoch, { entries, compacted: { throughLsn: snapshotLsn, items } });
    crashPoint('rollback.file-written');
    this.reportRollback(record, toLsn, reason);
  }

  private reportRollback(record: RollbackRecord, toLsn: number, reason: string): void {
    this.logger.warn({ ...record, toLsn, reason }, `rolled back ${record.count} entries (LSN ${record.firstLsn}-${record.lastLsn}) into ${record.file}`);
    this.events.emit('rollback', { ...record, toLsn, reason, epoch: this.epoch });
  }

  private async rollbackMirror(mirrorId: string, fork: number): Promise<number | null> {
    const url = this.config.peers[mirrorId];
    if (!url) return null;
    const response = await this.link
      .request(mirrorId, `${url}/internal/mirror/rollback`, {
        method: 'POST',
        headers: { ...authHeaders(this.config.clusterSecret, this.config.nodeId, this.epoch), 'content-type': 'application/json' },
        body: JSON.stringify({ toLsn: fork }),
        timeoutMs: Math.max(this.config.syncTimeoutMs, limits.rollbackRequestTimeoutMs),
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
    this.failoverMonitor.stop();
    this.witness.stop();
    this.leaveRole();
    await this.store.close();
    await this.link.close();
  }
}
