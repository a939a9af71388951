// Collects the peer traffic every process recorded (shared/traffic-log.ts) and passes it on as
// live `traffic` events, for the dashboard's message view (a sequence diagram of the last seconds).
//
// After each poll round of the cluster view, for every reachable data node, one request
// GET /internal/traffic?after=<cursor> (control plane: never subject to fault rules, never
// recorded itself; one in flight per node, bounded by the status poll timeout), plus control's own
// ring (its answers on the witness channel, its announcements). Each source's new records are
// coalesced (limits.trafficCoalesceMs), stripped of what is older than limits.trafficAgeMsMax, and
// sampled to a token bucket of limits.trafficRecordsPerNodePerSecondMax; then one event per source:
//   {type:"traffic", source, records:[{at,from,to,kind,count,fromLsn,toLsn,bytes,delayMs,lost?,messages,spanMs}], dropped}
// `traffic` events are broadcast, never recorded (like `status`): nobody replays old traffic. With
// no subscriber at all, nothing is collected.

import type { Logger } from 'pino';
import { limits } from '../../../../shared/limits.ts';
import type { Link } from '../../../../shared/link.ts';
import { controlPlaneHeaders } from '../../../../shared/protocol.ts';
import type { TrafficRecord } from '../../../../shared/traffic-log.ts';
import type { ClusterSnapshot } from '../cluster-view.ts';
import type { Peer } from '../config.ts';
import { coalesce, RecordBudget, sample } from './traffic-sample.ts';

export interface TrafficWatchOptions {
  peers: readonly Peer[];
  selfId: string;
  secret: string;
  link: Link;
  // The event hub's broadcast, and how many listen (no listener: no collection).
  broadcast: (type: string, fields: Record<string, unknown>) => void;
  subscribers: () => number;
  logger: Logger;
}

// A source heard for the first time (or again after nobody listened) holds up to
// limits.trafficAgeMsMax of history; only its last second goes on, so a dashboard that opens gets a
// live picture rather than a burst of the past that the budget would have to sample down.
const FIRST_TAKE_MS = 1000;

interface TrafficAnswer {
  records: TrafficRecord[];
  lastSeq: number;
  bootId: string;
  skipped: number;
}

export class TrafficWatch {
  private readonly cursors = new Map<string, { bootId: string; seq: number }>();
  private readonly budgets = new Map<string, RecordBudget>();
  private readonly collecting = new Set<string>();
  // When collection (re)started: after a pause without subscribers every source counts as new.
  private resumedAtMs = 0;

  constructor(private readonly options: TrafficWatchOptions) {}

  onRound(snapshot: ClusterSnapshot): void {
    if (this.options.subscribers() === 0) {
      this.resumedAtMs = 0;
      return;
    }
    if (this.resumedAtMs === 0) this.resumedAtMs = Date.now();
    const own = this.options.link.traffic;
    this.take(this.options.selfId, { ...own.after(this.cursors.get(this.options.selfId)?.seq ?? 0, limits.trafficFetchMax), lastSeq: own.lastSeq, bootId: own.bootId });
    for (const peer of this.options.peers) {
      const node = snapshot.nodes[peer.id];
      if (node && 'role' in node && !this.collecting.has(peer.id)) void this.collect(peer);
    }
  }

  private async collect(peer: Peer): Promise<void> {
    this.collecting.add(peer.id);
    try {
      const cursor = this.cursors.get(peer.id);
      const response = await this.options.link.request(peer.id, `${peer.url}/internal/traffic?after=${cursor?.seq ?? 0}&limit=${limits.trafficFetchMax}`, {
        method: 'GET',
        headers: controlPlaneHeaders(this.options.secret, this.options.selfId),
        timeoutMs: limits.statusPollTimeoutMs,
        controlPlane: true,
      });
      if (response.statusCode !== 200) return;
      const answer = JSON.parse(response.body.toString('utf8')) as TrafficAnswer;
      if (!Array.isArray(answer.records) || typeof answer.bootId !== 'string') return;
      this.take(peer.id, answer);
    } catch (error) {
      this.options.logger.debug({ peer: peer.id, err: error }, 'traffic not collected this round');
    } finally {
      this.collecting.delete(peer.id);
    }
  }

  // One source's answer: move its cursor, and publish what is fresh, coalesced and within budget.
  private take(source: string, answer: TrafficAnswer): void {
    const cursor = this.cursors.get(source);
    // Another bootId: the process restarted and its seqs began again. Everything it holds is new.
    const known = cursor !== undefined && cursor.bootId === answer.bootId;
    const fresh = known ? answer.records.filter((r) => r.seq > cursor.seq) : answer.records;
    this.cursors.set(source, { bootId: answer.bootId, seq: Math.max(answer.lastSeq, ...fresh.map((r) => r.seq)) });
    const now = Date.now();
    const firstTake = !known || now - this.resumedAtMs < FIRST_TAKE_MS;
    const oldestAt = now - (firstTake ? FIRST_TAKE_MS : limits.trafficAgeMsMax);
    const recent = fresh.filter((r) => r.at >= oldestAt);
    if (recent.length === 0) return;
    let budget = this.budgets.get(source);
    if (!budget) this.budgets.set(source, (budget = new RecordBudget(limits.trafficRecordsPerNodePerSecondMax, now)));
    const merged = coalesce(recent, limits.trafficCoalesceMs);
    const { kept, dropped } = sample(merged, budget.available(now));
    budget.spend(kept.length);
    if (kept.length === 0 && dropped === 0) return;
    this.options.broadcast('traffic', { source, records: kept, dropped });
  }
}
