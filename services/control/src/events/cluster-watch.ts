// Turns the cluster view's poll rounds into events: a live status snapshot and the write rate per
// node (from LSN deltas between rounds) each round, reachability and copy-mode changes as they
// happen, and every event the data nodes record themselves (role changes, mirror states, resyncs,
// rollbacks), collected from GET /internal/events?after=<seq> and re-emitted with the node's id.
//
// Collection is control-plane traffic (fault rules never block it), one request in flight per
// node, bounded by the status poll timeout. A node's sequence numbers start over when its process
// does; its bootId tells, and the cursor starts over with it.

import type { Logger } from 'pino';
import { limits } from '../../../../shared/limits.ts';
import type { Link } from '../../../../shared/link.ts';
import { controlPlaneHeaders } from '../../../../shared/protocol.ts';
import type { ClusterSnapshot, NodeStatus } from '../cluster-view.ts';
import type { Peer } from '../config.ts';
import type { EventHub } from './event-hub.ts';

export interface ClusterWatchOptions {
  peers: readonly Peer[];
  selfId: string;
  secret: string;
  link: Link;
  hub: EventHub;
  logger: Logger;
}

interface NodeEventsAnswer {
  events: Array<{ seq: number; at: string; type: string; nodeId: string; [field: string]: unknown }>;
  lastSeq: number;
  bootId: string;
}

export class ClusterWatch {
  private readonly reachable = new Map<string, boolean>();
  private readonly lastLsn = new Map<string, { lsn: number; atMs: number }>();
  private modes: { primary: string; modes: Record<string, string> } | null = null;
  private readonly cursors = new Map<string, { bootId: string; seq: number }>();
  private readonly collecting = new Set<string>();

  constructor(private readonly options: ClusterWatchOptions) {}

  // One poll round happened: publish what it shows, and collect the nodes' own events.
  onRound(snapshot: ClusterSnapshot): void {
    const now = Date.now();
    this.reachability(snapshot);
    const perSecond = this.writeRates(snapshot, now);
    this.modeChanges(snapshot);
    this.options.hub.broadcast('status', { primary: snapshot.primary, epoch: snapshot.epoch, nodes: snapshot.nodes, updatedAt: snapshot.updatedAt });
    this.options.hub.broadcast('writes', { perSecond });
    for (const peer of this.options.peers) {
      if (snapshot.nodes[peer.id] && 'role' in (snapshot.nodes[peer.id] as object) && !this.collecting.has(peer.id)) void this.collect(peer);
    }
  }

  private reachability(snapshot: ClusterSnapshot): void {
    for (const [id, node] of Object.entries(snapshot.nodes)) {
      const now = 'role' in node;
      if (now === (this.reachable.get(id) ?? false)) continue;
      this.reachable.set(id, now);
      if (now) this.options.hub.emit('node-reachable', { nodeId: id, role: (node as NodeStatus).role, epoch: (node as NodeStatus).epoch });
      else this.options.hub.emit('node-unreachable', { nodeId: id, error: (node as { error?: string }).error ?? 'no answer' });
    }
  }

  // Entries per second each node appended (the primary) or received (the copies) since the last
  // round. An LSN that went back (a rollback, a full resync) counts as no progress.
  private writeRates(snapshot: ClusterSnapshot, nowMs: number): Record<string, number> {
    const perSecond: Record<string, number> = {};
    for (const [id, node] of Object.entries(snapshot.nodes)) {
      const lsn = 'role' in node && typeof node.lsn === 'number' ? node.lsn : null;
      if (lsn === null) {
        this.lastLsn.delete(id);
        continue;
      }
      const before = this.lastLsn.get(id);
      this.lastLsn.set(id, { lsn, atMs: nowMs });
      if (!before || nowMs <= before.atMs) continue;
      perSecond[id] = Math.round((Math.max(0, lsn - before.lsn) / ((nowMs - before.atMs) / 1000)) * 10) / 10;
    }
    return perSecond;
  }

  // Copy modes as the primary reports them; a change under the same primary is an event.
  private modeChanges(snapshot: ClusterSnapshot): void {
    const primary = snapshot.primary ? (snapshot.nodes[snapshot.primary] as NodeStatus | undefined) : undefined;
    if (!primary || !snapshot.primary) return;
    const modes: Record<string, string> = {};
    const mirror = primary.mirror as { id?: string; mode?: string } | null | undefined;
    if (mirror?.id && mirror.mode) modes[mirror.id] = mirror.mode;
    for (const replica of (primary.replicas as Array<{ id: string; mode: string }> | undefined) ?? []) modes[replica.id] = replica.mode;
    const before = this.modes;
    this.modes = { primary: snapshot.primary, modes };
    if (!before || before.primary !== snapshot.primary) return;
    for (const [copy, mode] of Object.entries(modes)) {
      const previous = before.modes[copy];
      if (previous !== undefined && previous !== mode) this.options.hub.emit('mode-change', { copy, from: previous, to: mode, primary: snapshot.primary });
    }
  }

  private async collect(peer: Peer): Promise<void> {
    this.collecting.add(peer.id);
    const cursor = this.cursors.get(peer.id);
    try {
      const response = await this.options.link.request(peer.id, `${peer.url}/internal/events?after=${cursor?.seq ?? 0}`, {
        method: 'GET',
        headers: controlPlaneHeaders(this.options.secret, this.options.selfId),
        timeoutMs: limits.statusPollTimeoutMs,
        controlPlane: true,
      });
      if (response.statusCode !== 200) return;
      const answer = JSON.parse(response.body.toString('utf8')) as NodeEventsAnswer;
      if (!Array.isArray(answer.events) || typeof answer.bootId !== 'string') return;
      if (cursor && cursor.bootId !== answer.bootId && cursor.seq > 0) {
        // The node restarted: its seqs began again at 1. Read it from the start next round.
        this.cursors.set(peer.id, { bootId: answer.bootId, seq: 0 });
        return;
      }
      let seq = cursor?.bootId === answer.bootId ? cursor.seq : 0;
      for (const event of answer.events) {
        if (event.seq <= seq) continue;
        seq = event.seq;
        const { seq: nodeSeq, at: nodeAt, type, ...fields } = event;
        this.options.hub.emit(type, { ...fields, nodeId: peer.id, nodeSeq, nodeAt });
      }
      this.cursors.set(peer.id, { bootId: answer.bootId, seq });
    } catch (error) {
      this.options.logger.debug({ peer: peer.id, err: error }, 'node events not collected this round');
    } finally {
      this.collecting.delete(peer.id);
    }
  }
}
