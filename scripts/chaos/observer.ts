// Watches the cluster while the run goes: the witness's view (epoch, primary, mirror slot) a few
// times a second, so clients know whom to read from and the report knows when each epoch began;
// and control's recorded events (failovers, role changes, rollbacks, faults), all kept in
// events.jsonl for whoever explains a finding. Both polls are bounded and stop on request.

import type { FailoverSighting } from './checker.ts';
import type { RunClock } from './clock.ts';
import { type Http, sleep } from './http.ts';
import type { JsonLines } from './json-lines.ts';

export interface WitnessView {
  epoch: number;
  primaryId: string | null;
  mirrorId: string | null;
}

export const observerLimits = {
  viewPollMs: 250,
  eventsPollMs: 1000,
  requestTimeoutMs: 1000,
  // Events asked for per poll (control keeps the last 1000).
  eventsPerPollMax: 1000,
} as const;

export class Observer {
  private current: WitnessView | null = null;
  private readonly sightings = new Map<number, FailoverSighting>();
  private running = false;
  private loops: Promise<void>[] = [];
  private lastSeq = 0;
  readonly rollbackEvents: Array<Record<string, unknown>> = [];

  constructor(
    private readonly http: Http,
    private readonly controlUrl: string,
    private readonly clock: RunClock,
    private readonly views: JsonLines,
    private readonly events: JsonLines,
  ) {}

  // The last view the witness gave (null before the first answer).
  view(): WitnessView | null {
    return this.current;
  }

  // A fresh view, straight from the witness; null if it does not answer.
  async freshView(): Promise<WitnessView | null> {
    const answer = await this.http.tryCall('GET', `${this.controlUrl}/witness`, undefined, observerLimits.requestTimeoutMs);
    if (answer?.status !== 200) return null;
    const view = viewOf(answer.body);
    this.noteView(view);
    return view;
  }

  // Every epoch change seen: the witness's failover-granted event when there is one, else the
  // first poll that showed the epoch.
  failovers(): FailoverSighting[] {
    return [...this.sightings.values()].sort((a, b) => a.epoch - b.epoch);
  }

  start(): void {
    this.running = true;
    this.loops = [this.viewLoop(), this.eventsLoop()];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.pollEvents();
  }

  private async viewLoop(): Promise<void> {
    while (this.running) {
      await this.freshView();
      await sleep(observerLimits.viewPollMs);
    }
  }

  private async eventsLoop(): Promise<void> {
    while (this.running) {
      await this.pollEvents();
      await sleep(observerLimits.eventsPollMs);
    }
  }

  private noteView(view: WitnessView): void {
    const before = this.current;
    this.current = view;
    if (before && before.epoch === view.epoch && before.primaryId === view.primaryId && before.mirrorId === view.mirrorId) return;
    const atMs = this.clock.now();
    this.views.append({ atMs, ...view });
    // The witness adopting the first primary (epoch 0 -> 1) is not a failover.
    if (before && before.epoch >= 1 && view.epoch > before.epoch && view.primaryId && !this.sightings.has(view.epoch)) {
      this.sightings.set(view.epoch, { epoch: view.epoch, atMs, from: before.primaryId, to: view.primaryId });
    }
  }

  private async pollEvents(): Promise<void> {
    const url = `${this.controlUrl}/events/history?after=${this.lastSeq}&limit=${observerLimits.eventsPerPollMax}`;
    const answer = await this.http.tryCall('GET', url, undefined, observerLimits.requestTimeoutMs);
    if (answer?.status !== 200 || !Array.isArray(answer.body?.events)) return;
    for (const event of answer.body.events as Array<Record<string, unknown>>) {
      const seq = Number(event.seq);
      if (!(seq > this.lastSeq)) continue;
      this.lastSeq = seq;
      const atMs = typeof event.at === 'string' ? this.clock.fromWall(event.at) : null;
      this.events.append({ atMs, ...event });
      this.noteEvent(event, atMs);
    }
  }

  private noteEvent(event: Record<string, unknown>, atMs: number | null): void {
    if (event.type === 'rollback') this.rollbackEvents.push({ atMs, ...event });
    // The witness's own grant (the node re-emits one too, with its nodeId): the exact time.
    if (event.type !== 'failover-granted' || event.nodeId !== undefined || atMs === null) return;
    const epoch = Number(event.epoch);
    const to = typeof event.to === 'string' ? event.to : null;
    if (!Number.isSafeInteger(epoch) || !to) return;
    const from = typeof event.from === 'string' ? event.from : null;
    this.sightings.set(epoch, { epoch, atMs, from, to });
  }
}

function viewOf(body: any): WitnessView {
  return {
    epoch: Number.isSafeInteger(body?.epoch) ? body.epoch : 0,
    primaryId: typeof body?.primaryId === 'string' ? body.primaryId : null,
    mirrorId: typeof body?.mirrorId === 'string' ? body.mirrorId : null,
  };
}
