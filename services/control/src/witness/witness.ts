// The witness (SQL Server's third party of a mirroring session): it hears every node's heartbeat,
// grants or refuses automatic failover, consents before a primary stops waiting for its mirror,
// and carries out planned and forced failovers. Every decision is serialized and made durable
// before anyone learns of it.

import type { Logger } from 'pino';
import { limits } from '../../../../shared/limits.ts';
import type { Link } from '../../../../shared/link.ts';
import { authHeaders, type MirrorStateReport, type WitnessAnswer } from '../../../../shared/protocol.ts';
import type { ControlConfig } from '../config.ts';
import {
  alreadyPrimaryError,
  badMirrorNodeError,
  candidateUnreachableError,
  mirrorSlotTakenError,
  notSynchronizedError,
  stepDownFailedError,
  unknownNodeError,
  witnessStaleEpochError,
} from '../errors.ts';
import { callNode, urlOf } from '../node-requests.ts';
import { decideAutomaticFailover, type WitnessRecord, WitnessStore } from './witness-state.ts';

export type EmitEvent = (type: string, fields: Record<string, unknown>) => void;

export interface HeartbeatBody {
  role: string;
  epoch: number;
  lsn: number;
  mirrorId?: string | null;
}



export class Witness {
  private readonly store: WitnessStore;
  private readonly heard = new Map<string, { at: number; role: string; epoch: number; lsn: number }>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly startedAt = Date.now();

  constructor(
    private readonly config: ControlConfig,
    private readonly logger: Logger,
    // Announcements travel like any peer message: a partitioned node learns of a new epoch only
    // when the partition heals (or from its own heartbeat), as with a cut cable.
    private readonly link: Link,
    private readonly emit: EmitEvent,
  ) {
    this.store = new WitnessStore(config.dataDir);
  }

  async load(): Promise<void> {
    const record = await this.store.load();
    this.logger.info(record, 'witness state loaded');
  }

  get record(): WitnessRecord {
    return this.store.record;
  }

  view(): WitnessAnswer {
    const { epoch, primaryId, mirrorId } = this.store.record;
    const members = Object.fromEntries(this.config.peers.map((p) => [p.id, { url: p.url, publicUrl: p.publicUrl ?? p.url }]));
    return { epoch, primaryId, mirrorId, members };
  }

  // How long ago the witness heard `id`; since control started if never.
  heardMsAgo(id: string): number {
    return Date.now() - (this.heard.get(id)?.at ?? this.startedAt);
  }

  describe() {
    const nodes: Record<string, unknown> = {};
    for (const [id, h] of this.heard) nodes[id] = { ...h, heardMsAgo: Date.now() - h.at };
    return { ...this.store.record, failoverTimeoutMs: this.config.failoverTimeoutMs, nodes };
  }

  // Decisions run one at a time: each reads the record, maybe saves it, then answers.
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  heartbeat(id: string, body: HeartbeatBody): Promise<WitnessAnswer> {
    this.heard.set(id, { at: Date.now(), role: body.role, epoch: body.epoch, lsn: body.lsn });
    return this.serial(async () => {
      const record = this.store.record;
      if (body.role === 'primary' && body.epoch > record.epoch) {
        // A fresh witness (or one whose data was lost) learns the cluster from its primary.
        await this.store.save({ epoch: body.epoch, primaryId: id, mirrorId: body.mirrorId ?? null, mirrorSynchronized: false, mirrorReportSeq: 0 });
        this.logger.info({ primary: id, epoch: body.epoch, mirror: body.mirrorId }, 'witness adopted the primary');
      } else if (body.role === 'primary' && id !== record.primaryId && record.mirrorId === null) {
        // A stale primary returns: it rejoins into the free mirror slot.
        await this.store.save({ mirrorId: id, mirrorSynchronized: false });
        this.emit('mirror-assigned', { node: id, primary: record.primaryId, epoch: record.epoch, reason: 'the old primary rejoined' });
      }
      return this.view();
    });
  }

  // The primary reports its mirror synchronized, or asks consent to stop waiting for it. A report
  // names the mirror it is about: one about a node that no longer holds the slot (it was moved
  // meanwhile) must not mark the new holder synchronized, or the witness could promote a mirror
  // that lacks acknowledged writes. Releasing a former holder needs nothing recorded.
  mirrorState(id: string, body: MirrorStateReport): Promise<{ consent: boolean } & WitnessAnswer> {
    return this.serial(async () => {
      const record = this.store.record;
      if (id !== record.primaryId || body.epoch !== record.epoch) {
        throw witnessStaleEpochError(id, body.epoch, record, { ...this.view() });
      }
      if (body.mirrorId !== record.mirrorId) {
        this.logger.info({ about: body.mirrorId, slot: record.mirrorId, synchronized: body.synchronized }, 'mirror report about a former slot holder ignored');
        return { consent: !body.synchronized, ...this.view() };
      }
      if (body.seq > record.mirrorReportSeq) {
        await this.store.save({ mirrorSynchronized: body.synchronized, mirrorReportSeq: body.seq });
        this.emit(body.synchronized ? 'mirror-synchronized' : 'mirror-released', { primary: id, mirror: record.mirrorId, epoch: record.epoch });
      }
      return { consent: true, ...this.view() };
    });
  }

  // The mirror asks to take over after losing the primary.
  requestFailover(id: string, body: { epoch: number; lsn: number }): Promise<{ granted: boolean; reason?: string } & WitnessAnswer> {
    return this.serial(async () => {
      const record = this.store.record;
      const primaryId = record.primaryId ?? '';
      this.emit('failover-requested', { candidate: id, epoch: body.epoch, lsn: body.lsn, primary: primaryId });
      const decision = decideAutomaticFailover(record, { id, epoch: body.epoch }, this.heardMsAgo(primaryId), this.config.failoverTimeoutMs);
      if (!decision.granted) {
        this.logger.warn({ candidate: id, reason: decision.reason }, 'failover refused');
        this.emit('failover-refused', { candidate: id, reason: decision.reason, epoch: record.epoch });
        return { granted: false, reason: decision.reason, ...this.view() };
      }
      await this.store.save({ epoch: decision.epoch, primaryId: id, mirrorId: null, mirrorSynchronized: false, mirrorReportSeq: 0 });
      this.logger.info({ from: primaryId, to: id, epoch: decision.epoch }, `failover granted: ${id} is primary at epoch ${decision.epoch}`);
      this.emit('failover-granted', { from: primaryId, to: id, epoch: decision.epoch, lsn: body.lsn, automatic: true });
      void this.announceAll();
      return { granted: true, ...this.view() };
    });
  }

  // POST /cluster/failover. Planned: the primary drains into its synchronized mirror, roles swap,
  // nothing is lost. Forced: the target becomes primary now; what it lacks is counted and reported.
  failover(to: string, force: boolean) {
    return this.serial(async () => {
      const record = this.store.record;
      const ids = this.config.peers.map((p) => p.id);
      if (!ids.includes(to)) throw unknownNodeError(to, ids);
      if (to === record.primaryId) throw alreadyPrimaryError(to);
      return force ? this.forced(to, record) : this.planned(to, record);
    });
  }

  private async planned(to: string, record: WitnessRecord) {
    if (to !== record.mirrorId || !record.mirrorSynchronized) {
      throw notSynchronizedError(record.mirrorId, record.mirrorSynchronized, to);
    }
    const from = record.primaryId as string;
    const drained = await this.command(from, '/internal/step-down', { epoch: record.epoch, timeoutMs: limits.stepDownTimeoutMsDefault });
    if (drained.status !== 200) throw stepDownFailedError(String(drained.body?.message ?? drained.status));
    const epoch = record.epoch + 1;
    await this.store.save({ epoch, primaryId: to, mirrorId: from, mirrorSynchronized: false, mirrorReportSeq: 0 });
    this.emit('failover-granted', { from, to, epoch, lsn: drained.body.lsn, planned: true });
    await this.announceAll();
    return { planned: true, from, to, epoch, lsn: drained.body.lsn as number, lostWrites: 0 };
  }

  private async forced(to: string, record: WitnessRecord) {
    const statuses = await Promise.all(this.config.peers.map(async (p) => (await this.command(p.id, '/status', null, 'GET').catch(() => null))?.body));
    const target = statuses.find((s) => s?.id === to);
    if (!target) throw candidateUnreachableError(to);
    const alive = statuses.filter(Boolean);
    const highest = Math.max(target.lsn, ...alive.map((s) => s.lsn as number));
    // Above every epoch anyone knows: the witness may not have heard a primary that died early,
    // and two primaries must never share an epoch.
    const epoch = Math.max(record.epoch, ...alive.map((s) => s.epoch as number)) + 1;
    const from = record.primaryId;
    await this.store.save({ epoch, primaryId: to, mirrorId: record.mirrorId === to ? null : record.mirrorId, mirrorSynchronized: false, mirrorReportSeq: 0 });
    const lost = { lostWrites: highest - target.lsn, lostLsns: highest > target.lsn ? [target.lsn + 1, highest] : [] };
    this.logger.warn({ from, to, epoch, ...lost }, `forced failover: ${to} is primary at epoch ${epoch}`);
    this.emit('failover-granted', { from, to, epoch, forced: true, lsn: target.lsn, ...lost });
    await this.announceAll();
    return { forced: true, from, to, epoch, lsn: target.lsn as number, ...lost };
  }

  // POST /cluster/mirror: a node takes the mirror slot (it catches up, then synchronizes). There is
  // one slot: while a reachable node holds it, moving it needs `replace` (the holder becomes a
  // replica), so a second mirror is never created by accident. A holder the witness has not heard
  // for FAILOVER_TIMEOUT_MS is gone, and its slot is free to take.
  assignMirror(node: string, options: { replace?: boolean } = {}) {
    return this.serial(async () => {
      const record = this.store.record;
      const ids = this.config.peers.map((p) => p.id);
      if (!ids.includes(node) || node === record.primaryId) {
        const valid = ids.filter((i) => i !== record.primaryId);
        throw badMirrorNodeError(node, valid);
      }
      const previous = record.mirrorId;
      if (previous === node) return { mirror: node, previous, epoch: record.epoch, primary: record.primaryId, unchanged: true };
      if (previous !== null && !options.replace && this.heardMsAgo(previous) < this.config.failoverTimeoutMs) {
        throw mirrorSlotTakenError(previous, node);
      }
      await this.store.save({ mirrorId: node, mirrorSynchronized: false });
      this.emit('mirror-assigned', { node, previous, primary: record.primaryId, epoch: record.epoch });
      await this.announceAll();
      return { mirror: node, previous, epoch: record.epoch, primary: record.primaryId, unchanged: false };
    });
  }

  // Tells every node the current view at once (heartbeats would carry it within HEARTBEAT_MS).
  // The announcement carries the roles only: the members travel in every heartbeat's answer, which
  // each node has heard long before a role names a late member (and /internal/assign takes exactly
  // these three fields). A node that does not answer learns the view from its next heartbeat; one
  // that refuses it is logged, since that would be a version skew worth seeing.
  private async announceAll(): Promise<void> {
    const { epoch, primaryId, mirrorId } = this.view();
    const body = JSON.stringify({ epoch, primaryId, mirrorId });
    await Promise.all(
      this.config.peers.map(async (p) => {
        const answer = await this.link
          .request(p.id, `${p.url}/internal/assign`, {
            method: 'POST',
            headers: { ...authHeaders(this.config.clusterSecret, this.config.nodeId), 'content-type': 'application/json' },
            body,
            timeoutMs: limits.peerRequestTimeoutMs,
          })
          .catch(() => null);
        if (answer && answer.statusCode !== 200) {
          this.logger.warn({ peer: p.id, status: answer.statusCode, body: answer.body.toString('utf8').slice(0, 300) }, 'a node refused the announcement');
        }
      }),
    );
  }

  // Control's levers on a node: the cluster secret, a deadline, never subject to fault rules.
  private command(id: string, path: string, body: unknown, method: 'GET' | 'POST' = 'POST') {
    const timeoutMs = (body as { timeoutMs?: number } | null)?.timeoutMs ?? limits.peerRequestTimeoutMs;
    return callNode(`${urlOf(this.config, id)}${path}`, this.config, { method, body: body === null ? undefined : body, timeoutMs: timeoutMs + 1000 });
  }

}
