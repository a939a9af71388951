// The nemesis: carries out the schedule against the live cluster, one fault at a time. Each step
// resolves its target from the witness's view when it begins (roles move at failovers), applies the
// fault — SIGKILL through the process manager, crash and pause through control's levers, latency,
// loss and partitions through control's fault API (so through the project's own link layer) — waits
// the step's duration, heals it (restart, DELETE /faults) and makes sure every process runs again.
// Every step is logged with what it hit and when, in nemesis.jsonl.

import type { NemesisRecord } from './checker.ts';
import type { ChaosCluster } from './cluster.ts';
import type { RunClock } from './clock.ts';
import { type Http, sleep } from './http.ts';
import type { JsonLines } from './json-lines.ts';
import type { WitnessView } from './observer.ts';
import { describeStep, type Endpoint, type NemesisStep, type Selector } from './schedule.ts';

export const nemesisLimits = {
  requestTimeoutMs: 5000,
  // A crash request answers before the process dies; it must be gone by then.
  crashExitWaitMs: 5000,
} as const;

export interface NemesisContext {
  cluster: ChaosCluster;
  http: Http;
  clock: RunClock;
  log: JsonLines;
  freshView: () => Promise<WitnessView | null>;
  say: (text: string) => void;
}

export class Nemesis {
  readonly records: NemesisRecord[] = [];
  private stopping = false;

  constructor(private readonly ctx: NemesisContext) {}

  // Runs the steps in order; a step that would begin after `lastStartMs` (or after stop()) is skipped.
  async run(steps: readonly NemesisStep[], lastStartMs: number): Promise<void> {
    for (const step of steps) {
      const waitMs = step.atMs - this.ctx.clock.now();
      if (waitMs > 0) await this.sleepUnlessStopped(waitMs);
      if (this.stopping || this.ctx.clock.now() > lastStartMs) break;
      await this.runStep(step);
    }
  }

  stop(): void {
    this.stopping = true;
  }

  private async sleepUnlessStopped(ms: number): Promise<void> {
    const until = this.ctx.clock.now() + ms;
    while (!this.stopping && this.ctx.clock.now() < until) await sleep(Math.min(100, until - this.ctx.clock.now()));
  }

  private async runStep(step: NemesisStep): Promise<void> {
    const description = describeStep(step);
    // startedMs: when the fault began (set by announce, after the witness was asked).
    const record: NemesisRecord & { plannedAtMs: number; notes: string[] } = {
      index: step.index, kind: step.kind, description, targets: [], startedMs: this.ctx.clock.now(), healedMs: null, plannedAtMs: step.atMs, notes: [],
    };
    try {
      const view = await this.ctx.freshView();
      const roles = view ? ` (primary ${view.primaryId}, mirror ${view.mirrorId ?? 'none'}, epoch ${view.epoch})` : ' (the witness did not answer)';
      const announce = (targets: string[]) => {
        record.targets = targets;
        record.startedMs = this.ctx.clock.now();
        this.ctx.say(`nemesis #${step.index}: ${description} -> ${targets.join(', ')}${roles}`);
      };
      await this.apply(step, view, record.notes, announce);
      // Pauses and kills wait inside apply(); link faults last their duration here.
      if (step.kind === 'partition' || step.kind === 'latency' || step.kind === 'loss') await sleep(step.durationMs);
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
      this.ctx.say(`nemesis #${step.index}: ${description} failed: ${record.error}`);
    }
    await this.heal(step, record.targets, record.notes);
    record.healedMs = this.ctx.clock.now();
    this.records.push(record);
    this.ctx.log.append(record);
  }

  // Applies the fault (for kill, crash and pause: and waits it out); `announce` names the targets
  // just before the fault begins.
  private async apply(step: NemesisStep, view: WitnessView | null, notes: string[], announce: (targets: string[]) => void): Promise<void> {
    switch (step.kind) {
      case 'kill':
      case 'crash': {
        const id = this.resolve(step.target, step.pick, view);
        announce([id]);
        if (step.kind === 'kill') await this.ctx.cluster.kill(id);
        else await this.crash(id, notes);
        await sleep(step.durationMs);
        await this.ctx.cluster.start(id);
        return;
      }
      case 'pause': {
        const id = this.resolve(step.target, step.pick, view);
        announce([id]);
        await this.control('POST', `/nodes/${id}/pause`, { ms: step.durationMs });
        await sleep(step.durationMs);
        return;
      }
      case 'partition':
        return this.partition(step, view, announce);
      case 'latency':
      case 'loss': {
        const [from, to] = this.resolvePair(step.between, step.picks, view);
        announce([from, to]);
        if (step.kind === 'latency') await this.control('POST', '/faults/latency', { from, to, ms: step.ms, jitterMs: step.jitterMs, bidirectional: step.bidirectional });
        else await this.control('POST', '/faults/loss', { from, to, rate: step.rate, bidirectional: step.bidirectional });
        return;
      }
    }
  }

  private async partition(step: Extract<NemesisStep, { kind: 'partition' }>, view: WitnessView | null, announce: (targets: string[]) => void): Promise<void> {
    const mode = step.mode;
    if (step.shape === 'isolate') {
      const id = this.resolve(step.target, step.pick, view);
      announce([id]);
      await this.control('POST', '/faults/partition', { isolate: id, mode });
    } else if (step.shape === 'halves') {
      announce(step.groups.map((g) => g.join('+')));
      await this.control('POST', '/faults/partition', { groups: step.groups, mode });
    } else if (step.shape === 'link') {
      const [from, to] = this.resolvePair(step.between, step.picks, view);
      announce([from, to]);
      await this.control('POST', '/faults/partition', { from, to, bidirectional: true, mode });
    } else {
      // bridge: every link between the two sides is cut; the bridge node keeps both.
      announce([step.sides[0].join('+'), step.bridge, step.sides[1].join('+')]);
      for (const a of step.sides[0]) for (const b of step.sides[1]) await this.control('POST', '/faults/partition', { from: a, to: b, bidirectional: true, mode });
    }
  }

  // control's crash lever; the process must then really be gone (else we kill it ourselves).
  private async crash(id: string, notes: string[]): Promise<void> {
    this.ctx.cluster.expectExit(id);
    try {
      await this.control('POST', `/nodes/${id}/crash`, {});
    } catch (error) {
      // Nothing was crashed: a later exit of this node is no longer the nemesis's doing.
      this.ctx.cluster.forgetExpectedExit(id);
      throw error;
    }
    const deadline = Date.now() + nemesisLimits.crashExitWaitMs;
    while (this.ctx.cluster.processes.isRunning(id) && Date.now() < deadline) await sleep(20);
    if (this.ctx.cluster.processes.isRunning(id)) {
      notes.push(`${id} was still running ${nemesisLimits.crashExitWaitMs} ms after the crash request; killed it`);
      await this.ctx.cluster.kill(id);
    }
  }

  // Heals whatever the step did, then makes sure every process runs. Errors are noted, not thrown:
  // the run goes on, and the end of the run heals again.
  private async heal(step: NemesisStep, targets: readonly string[], notes: string[]): Promise<void> {
    try {
      if (step.kind === 'partition' || step.kind === 'latency' || step.kind === 'loss') await this.control('DELETE', '/faults', undefined);
      const restarted = await this.ctx.cluster.ensureAllRunning();
      if (restarted.length > 0) notes.push(`started again: ${restarted.join(', ')}`);
    } catch (error) {
      notes.push(`heal failed: ${error instanceof Error ? error.message : String(error)}`);
      this.ctx.say(`nemesis #${step.index}: heal after ${targets.join(', ')} failed: ${notes[notes.length - 1]}`);
    }
  }

  private async control(method: 'POST' | 'DELETE', path: string, body: unknown): Promise<unknown> {
    const answer = await this.ctx.http.call(method, `${this.ctx.cluster.controlUrl}${path}`, body, nemesisLimits.requestTimeoutMs);
    if (answer.status >= 300) throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    return answer.body;
  }

  // A role to a node id. No node in that role (an empty mirror slot): any data node.
  private resolve(selector: Selector, pick: number, view: WitnessView | null): string {
    const nodes = this.ctx.cluster.nodeIds();
    const primary = view?.primaryId ?? null;
    const mirror = view?.mirrorId ?? null;
    let candidates: string[];
    if (selector === 'primary') candidates = primary ? [primary] : [];
    else if (selector === 'mirror') candidates = mirror ? [mirror] : [];
    else if (selector === 'replica') candidates = nodes.filter((id) => id !== primary && id !== mirror);
    else candidates = nodes;
    if (candidates.length === 0) candidates = nodes;
    return candidates[Math.min(candidates.length - 1, Math.floor(pick * candidates.length))] as string;
  }

  private resolvePair(between: readonly [Endpoint, Endpoint], picks: readonly [number, number], view: WitnessView | null): [string, string] {
    const one = (e: Endpoint, pick: number) => (e === 'control' ? 'control' : this.resolve(e, pick, view));
    const from = one(between[0], picks[0]);
    let to = one(between[1], picks[1]);
    if (to === from) {
      // Both ends fell on one node (an empty slot resolved to any node): take the next name.
      const names = [...this.ctx.cluster.nodeIds(), 'control'];
      to = names[(names.indexOf(from) + 1) % names.length] as string;
    }
    return [from, to];
  }
}
