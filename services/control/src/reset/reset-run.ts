// One run of POST /cluster/reset: back to the starting point without touching data. Each phase
// adds what it did to `steps`, or what needs a person to `todo` (with the exact command), and
// never throws for a cluster that is not as expected: a reset reports, it does not give up half
// way without saying why. Every wait is bounded by its own cap and by the reset's deadline.
//
// The phases, in order (each is skipped when there is nothing to do, so a reset of a reset
// cluster only checks):
//   1. heal every fault rule (and so the WAN profile);
//   2. wait out the pauses control sent (a paused event loop cannot be woken early);
//   3. note every node that does not answer (todo: start it);
//   4. copy modes to their defaults on the current primary: the mirror sync, replicas async;
//   5. the primary role back to `primary` by planned failover — it must first be the
//      synchronized mirror, so the mirror slot moves to it when it is a replica — then the slot
//      back to `mirror`;
//   6. copy modes again (the new primary keeps its own persisted modes), then wait until the
//      mirror is synchronized and every replica caught up.

import type { Logger } from 'pino';
import { ApiError } from '../../../../shared/http-errors.ts';
import { limits } from '../../../../shared/limits.ts';
import { defaultTopology } from '../../../../shared/topology.ts';
import type { ClusterSnapshot } from '../cluster-view.ts';
import type { ControlConfig, NodeCmd } from '../config.ts';
import type { FaultSync } from '../faults/fault-sync.ts';
import type { FaultTable } from '../faults/fault-table.ts';
import type { PauseBook } from '../faults/pause-book.ts';
import { callNode, fetchStatuses, urlOf } from '../node-requests.ts';
import type { Witness } from '../witness/witness.ts';
import { startCommand, type ResetStep, type ResetTodo } from './reset-report.ts';

export interface ResetContext {
  // The live configuration: `peers` holds every member, registered ones included.
  config: ControlConfig;
  table: FaultTable;
  sync: FaultSync;
  witness: Witness;
  pauses: PauseBook;
  // Control's cached view (GET /cluster, the dashboard), which polls on its own.
  view: () => ClusterSnapshot;
  emit: (type: string, fields: Record<string, unknown>) => void;
  logger: Logger;
}

// The roles of the starting point: the topology's `primary` and `mirror` services.
export const HOME_PRIMARY = defaultTopology.find((s) => s.role === 'primary')?.id ?? 'primary';
export const HOME_MIRROR = defaultTopology.find((s) => s.role === 'mirror')?.id ?? 'mirror';

// A paused node that answers /health within this much after its pause's end is back.
const PAUSE_GRACE_MS = 5000;
// The longest a reset waits for a primary to answer (one may be in the middle of a failover).

export class ResetRun {
  readonly steps: ResetStep[] = [];
  readonly todo: ResetTodo[] = [];
  private readonly startedMs = Date.now();
  private readonly deadlineMs = this.startedMs + limits.resetMsMax;

  constructor(
    private readonly ctx: ResetContext,
    private readonly nodeCmd: NodeCmd,
  ) {}

  get tookMs(): number {
    return Date.now() - this.startedMs;
  }

  async execute(): Promise<void> {
    await this.healFaults();
    await this.endPauses();
    const up = await this.noteDownNodes();
    await this.applyDefaultModes();
    if (up.has(HOME_PRIMARY) && (await this.bringHomePrimary())) await this.bringHomeMirror(up);
    // With something left for a person, the steady state cannot come: answer now, not after a wait.
    if (this.todo.length === 0) await this.waitSteady();
  }

  private step(step: string, detail: string): void {
    this.steps.push({ step, detail, atMs: this.tookMs });
    this.ctx.logger.info({ step, atMs: this.tookMs }, `reset: ${detail}`);
  }

  private needs(what: string, command: string): void {
    if (this.todo.some((t) => t.what === what)) return;
    this.todo.push({ what, command });
    this.ctx.logger.warn({ command }, `reset needs a hand: ${what}`);
  }

  private leftMs(capMs: number): number {
    return Math.max(0, Math.min(capMs, this.deadlineMs - Date.now()));
  }

  // Polls `check` every limits.resetPollMs until it gives a value or `timeoutMs` passes (null).
  private async until<T>(check: () => Promise<T | null>, timeoutMs: number): Promise<T | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check().catch(() => null);
      if (value !== null) return value;
      if (Date.now() + limits.resetPollMs > deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, limits.resetPollMs));
    }
  }

  // ---- 1. faults ----

  private async healFaults(): Promise<void> {
    if (this.ctx.table.list().length === 0) return;
    const removed = await this.ctx.table.clear();
    const delivery = await this.ctx.sync.pushAll();
    this.ctx.emit('faults-cleared', { faults: removed, ...delivery, by: 'reset' });
    const pending = delivery.pending.length > 0 ? `; the empty table reaches ${delivery.pending.join(', ')} once they answer again` : '';
    this.step('heal-faults', `removed ${removed.length} fault rule(s): ${removed.map((r) => r.id).join(', ')}${pending}`);
  }

  // ---- 2. pauses ----

  private async endPauses(): Promise<void> {
    for (const pause of this.ctx.pauses.active()) {
      const leftMs = pause.untilMs - Date.now();
      const waitMs = this.leftMs(limits.resetPauseWaitMsMax);
      const seconds = Math.ceil(leftMs / 1000);
      if (leftMs > waitMs) {
        this.needs(`${pause.nodeId} is paused for another ${seconds} s (its event loop is stopped)`, `sleep ${seconds} && npm run reset`);
        continue;
      }
      const started = Date.now();
      const url = urlOf(this.ctx.config, pause.nodeId);
      const back = await this.until(async () => ((await callNode(`${url}/health`, this.ctx.config, { timeoutMs: 1000 })).status === 200 ? true : null), this.leftMs(leftMs + PAUSE_GRACE_MS));
      if (back) this.step('end-pause', `waited ${Date.now() - started} ms for ${pause.nodeId}'s pause to end; it answers again`);
      else this.needs(`${pause.nodeId} does not answer after its pause ended`, startCommand(this.nodeCmd, pause.nodeId));
    }
  }

  // ---- 3. nodes that do not answer ----

  // A node may be starting (a participant ran `npm run node -- start X` and then reset at once):
  // every node gets a short, bounded while to answer before it goes into the todo list.
  private async noteDownNodes(): Promise<Set<string>> {
    const all = () => fetchStatuses(this.ctx.config, 1500);
    const statuses = (await this.until(async () => {
      const found = await all();
      return found.size === this.ctx.config.peers.length ? found : null;
    }, this.leftMs(limits.resetBootWaitMs))) ?? (await all());
    for (const peer of this.ctx.config.peers) {
      if (statuses.has(peer.id) || this.todo.some((t) => t.what.startsWith(`${peer.id} `))) continue;
      this.needs(`${peer.id} does not answer: start it`, startCommand(this.nodeCmd, peer.id));
    }
    return new Set(statuses.keys());
  }

  // ---- 4 and 6. copy modes ----

  // Sets, on the primary the witness names, the mirror to sync and every replica to async where
  // they differ (only those: an unchanged mode is not switched again).
  private async applyDefaultModes(): Promise<void> {
    const primaryId = this.ctx.witness.record.primaryId;
    if (!primaryId || !this.ctx.config.peers.some((p) => p.id === primaryId)) return;
    const status = await callNode(`${urlOf(this.ctx.config, primaryId)}/status`, this.ctx.config).catch(() => null);
    if (status?.status !== 200 || status.body.role !== 'primary') return;
    await this.setModes(primaryId, wantedModes(status.body));
  }

  private async setModes(primaryId: string, wanted: Record<string, 'sync' | 'async'>): Promise<void> {
    if (Object.keys(wanted).length === 0) return;
    const url = urlOf(this.ctx.config, primaryId);
    const answer = await callNode(`${url}/internal/modes`, this.ctx.config, { method: 'PUT', body: wanted }).catch((error: Error) => ({ status: 0, body: { message: error.message } }));
    const list = Object.entries(wanted).map(([id, mode]) => `${id} → ${mode}`).join(', ');
    if (answer.status === 200) this.step('copy-modes', `on ${primaryId}: ${list}`);
    else this.needs(`copy modes could not be set on ${primaryId} (${answer.body?.message ?? answer.status})`, `curl -X PUT -H 'content-type: application/json' -d '${JSON.stringify(wanted)}' ${this.controlUrl()}/cluster/modes`);
  }

  private controlUrl(): string {
    return `http://127.0.0.1:${this.ctx.config.port}`;
  }

  // ---- 5. roles ----

  // Makes HOME_PRIMARY the primary by planned failover; true when it is the primary now.
  private async bringHomePrimary(): Promise<boolean> {
    const witness = this.ctx.witness;
    if (witness.record.primaryId === HOME_PRIMARY) return true;
    const current = await this.waitForPrimary();
    if (!current) return false;
    if (witness.record.mirrorId !== HOME_PRIMARY && !(await this.moveSlot(HOME_PRIMARY))) return false;
    for (let attempt = 1; attempt <= 2; attempt++) {
      if (!(await this.waitSlotSynchronized(HOME_PRIMARY))) return false;
      try {
        const done = await witness.failover(HOME_PRIMARY, false);
        this.step('planned-failover', `${done.from} → ${done.to} at epoch ${done.epoch}, LSN ${done.lsn}, no acknowledged write lost`);
        return true;
      } catch (error) {
        // A mirror can leave `synchronized` between the check and the handover (a slow fsync):
        // one more wait, then the reason goes into the todo.
        // A witness refusal is definite (nothing changed): worth one more try.
        if (attempt === 2 || !(error instanceof ApiError && error.definite)) {
          this.needs(`the planned failover to ${HOME_PRIMARY} failed: ${(error as Error).message}`, 'npm run reset');
          return false;
        }
      }
    }
    return false;
  }

  // The reachable primary the witness names; waits (bounded) through a failover in progress.
  private async waitForPrimary(): Promise<string | null> {
    const found = await this.until(async () => {
      const id = this.ctx.witness.record.primaryId;
      if (!id) return null;
      const answer = await callNode(`${urlOf(this.ctx.config, id)}/status`, this.ctx.config, { timeoutMs: 1000 });
      return answer.status === 200 && answer.body.role === 'primary' ? id : null;
    }, this.leftMs(limits.resetPrimaryWaitMs));
    if (!found) {
      const id = this.ctx.witness.record.primaryId;
      if (id) this.needs(`${id}, the primary, does not answer: a planned failover needs it; start it`, startCommand(this.nodeCmd, id));
      else this.needs('the witness names no primary', `curl ${this.controlUrl()}/witness`);
    }
    return found;
  }

  private async moveSlot(node: string): Promise<boolean> {
    try {
      const moved = await this.ctx.witness.assignMirror(node, { replace: true });
      if (!moved.unchanged) this.step('move-mirror-slot', `mirror slot ${moved.previous ?? 'empty'} → ${node}`);
      return true;
    } catch (error) {
      this.needs(`the mirror slot could not move to ${node}: ${(error as Error).message}`, 'npm run reset');
      return false;
    }
  }

  // Waits until the witness records `node` as the synchronized mirror (what a planned failover needs).
  private async waitSlotSynchronized(node: string): Promise<boolean> {
    const started = Date.now();
    const record = () => this.ctx.witness.record;
    // The primary's own status must agree: the witness's flag does not name the mirror it was
    // reported for, and a planned failover drains into the mirror the primary ships to.
    const ok = await this.until(async () => {
      const { mirrorId, mirrorSynchronized, primaryId } = record();
      if (mirrorId !== node || !mirrorSynchronized || !primaryId) return null;
      const answer = await callNode(`${urlOf(this.ctx.config, primaryId)}/status`, this.ctx.config, { timeoutMs: 1000 });
      return answer.body?.mirror?.id === node && answer.body.mirror.state === 'synchronized' ? true : null;
    }, this.leftMs(limits.resetWaitMsMax));
    if (ok) this.step('mirror-synchronized', `${node} is the synchronized mirror of ${record().primaryId} (after ${Date.now() - started} ms)`);
    else this.needs(`${node} did not become the synchronized mirror of ${record().primaryId} in time (slot: ${record().mirrorId ?? 'empty'}, synchronized: ${record().mirrorSynchronized})`, 'npm run reset');
    return ok === true;
  }

  private async bringHomeMirror(up: Set<string>): Promise<void> {
    if (this.ctx.witness.record.mirrorId === HOME_MIRROR || !up.has(HOME_MIRROR)) return;
    await this.moveSlot(HOME_MIRROR);
  }

  // ---- 6. steady state ----

  // Waits until the primary ships to the slot holder and streams to every reachable replica, sets
  // their modes to the defaults once it does (the new primary has its own persisted modes), and
  // then until the mirror is synchronized and every replica has applied what the primary had.
  private async waitSteady(): Promise<void> {
    const started = Date.now();
    const progress = { targetLsn: null as number | null, last: 'no primary answers', modesSet: false };
    const steady = await this.until(() => this.steadyCheck(progress), this.leftMs(limits.resetWaitMsMax));
    if (steady) this.step('steady', `${steady} (checked in ${Date.now() - started} ms)`);
    else this.needs(`the cluster did not settle in time: ${progress.last}`, 'npm run reset');
  }

  // One look at the cluster for waitSteady: a sentence when steady, else null (and why in `last`).
  private async steadyCheck(progress: { targetLsn: number | null; last: string; modesSet: boolean }): Promise<string | null> {
    const statuses = await fetchStatuses(this.ctx.config, 1000);
    const primary = statuses.get(this.ctx.witness.record.primaryId ?? '');
    if (primary?.role !== 'primary') return null;
    const slot = this.ctx.witness.record.mirrorId;
    const mirror = primary.mirror as { id: string; mode: string; state: string } | null;
    const replicas = [...statuses.values()].filter((s) => s.role === 'replica');
    const streamed = new Set((primary.replicas as Array<{ id: string; connected: boolean }>).filter((r) => r.connected).map((r) => r.id));
    // The primary learns a new slot holder on its next heartbeat, and a demoted node reconnects as
    // a replica a moment later: until both, the primary's view must not count.
    const unstreamed = replicas.filter((r) => r.primary !== primary.id || !streamed.has(r.id)).map((r) => r.id);
    if (mirror?.id !== slot || statuses.get(slot ?? '')?.role !== 'mirror' || unstreamed.length > 0) {
      progress.last = `${primary.id} ships to ${mirror?.id ?? 'no mirror'} (slot: ${slot ?? 'empty'}); not streaming to ${unstreamed.join(', ') || 'none missing'}`;
      return null;
    }
    const wanted = wantedModes(primary);
    if (Object.keys(wanted).length > 0 && !progress.modesSet) {
      progress.modesSet = true;
      await this.setModes(primary.id, wanted);
      return null;
    }
    progress.targetLsn ??= primary.appliedLsn as number;
    const target = progress.targetLsn as number;
    const behind = replicas.filter((s) => !s.connected || s.appliedLsn < target).map((s) => s.id);
    if (mirror.state !== 'synchronized' || mirror.mode !== 'sync' || behind.length > 0) {
      progress.last = `the mirror ${mirror.id} is ${mirror.state} (${mirror.mode}); ${behind.join(', ') || 'no replica'} behind LSN ${target}`;
      return null;
    }
    // A 200 means what a person looks at next agrees too: GET /cluster is a poll round behind.
    if (!viewShowsSteady(this.ctx.view(), primary.id, mirror.id)) {
      progress.last = `control's view (GET /cluster) does not show ${primary.id} as primary with ${mirror.id} synchronized yet`;
      return null;
    }
    return `${primary.id} is primary at epoch ${primary.epoch}; ${mirror.id} its synchronized sync mirror; ${replicas.map((s) => s.id).join(', ') || 'no replica'} caught up to LSN ${target}`;
  }
}

// The cached view shows `primaryId` as the primary, `mirrorId` its synchronized sync mirror, and
// every replica it lists connected: what GET /cluster must show once a reset answers 200.
export function viewShowsSteady(view: ClusterSnapshot, primaryId: string, mirrorId: string): boolean {
  const status = view.nodes[primaryId];
  if (view.primary !== primaryId || !status || !('role' in status)) return false;
  const mirror = status.mirror as { id?: string; mode?: string; state?: string } | null | undefined;
  const replicas = (status.replicas as Array<{ connected: boolean }> | undefined) ?? [];
  return mirror?.id === mirrorId && mirror.mode === 'sync' && mirror.state === 'synchronized' && replicas.every((r) => r.connected);
}

// The copy modes of the starting point that a primary's status shows differ: mirror sync, replicas async.
export function wantedModes(primary: { mirror?: { id?: string; mode?: string } | null; replicas?: Array<{ id: string; mode: string }> }): Record<string, 'sync' | 'async'> {
  const wanted: Record<string, 'sync' | 'async'> = {};
  if (primary.mirror?.id && primary.mirror.mode !== 'sync') wanted[primary.mirror.id] = 'sync';
  for (const replica of primary.replicas ?? []) if (replica.mode !== 'async') wanted[replica.id] = 'async';
  return wanted;
}
