// Delivers control's fault table to the data nodes: at once after every change (the request that
// made the change waits for it, so a rule is in force on every reachable node when the answer
// comes), and again to any node whose GET /status reports another table hash — a node that
// restarted (it holds no rules then) or missed a push while it was down or paused.
// Delivery is control-plane traffic: no fault rule ever blocks it.

import type { Logger } from 'pino';
import type { FaultRule } from '../../../../shared/fault-rules.ts';
import type { Link } from '../../../../shared/link.ts';
import { controlPlaneHeaders } from '../../../../shared/protocol.ts';
import type { Peer } from '../config.ts';
import type { ClusterSnapshot } from '../cluster-view.ts';

export interface PushOutcome {
  // Nodes that hold the table now, and nodes that will get it once they answer again.
  appliedOn: string[];
  pending: string[];
}

export interface FaultSyncOptions {
  peers: readonly Peer[];
  selfId: string;
  secret: string;
  link: Link;
  timeoutMs: number;
  logger: Logger;
  rules: () => readonly FaultRule[];
  hash: () => string;
  // A node got the table again after it held another one (it restarted).
  onResent: (nodeId: string, theirHash: unknown) => void;
}

export class FaultSync {
  // One delivery in flight per node at most; a newer table waits for the next round.
  private readonly inFlight = new Set<string>();

  constructor(private readonly options: FaultSyncOptions) {}

  // Sends the current table to every node in parallel.
  async pushAll(): Promise<PushOutcome> {
    const results = await Promise.all(this.options.peers.map(async (peer) => [peer.id, await this.push(peer)] as const));
    return {
      appliedOn: results.filter(([, ok]) => ok).map(([id]) => id),
      pending: results.filter(([, ok]) => !ok).map(([id]) => id),
    };
  }

  // After each status round: re-send to reachable nodes that hold another table.
  reconcile(snapshot: ClusterSnapshot): void {
    const hash = this.options.hash();
    for (const peer of this.options.peers) {
      const status = snapshot.nodes[peer.id];
      if (!status || !('role' in status) || status.faultsHash === hash || this.inFlight.has(peer.id)) continue;
      const theirs = status.faultsHash;
      void this.push(peer).then((ok) => {
        if (ok) this.options.onResent(peer.id, theirs);
      });
    }
  }

  private async push(peer: Peer): Promise<boolean> {
    this.inFlight.add(peer.id);
    const rules = this.options.rules();
    try {
      const response = await this.options.link.request(peer.id, `${peer.url}/internal/faults`, {
        method: 'PUT',
        headers: { ...controlPlaneHeaders(this.options.secret, this.options.selfId), 'content-type': 'application/json' },
        body: JSON.stringify({ rules }),
        timeoutMs: this.options.timeoutMs,
        controlPlane: true,
      });
      if (response.statusCode !== 200) {
        this.options.logger.warn({ peer: peer.id, status: response.statusCode, body: response.body.toString('utf8').slice(0, 300) }, 'a node refused the fault rules');
        return false;
      }
      return true;
    } catch (error) {
      this.options.logger.debug({ peer: peer.id, err: error }, 'fault rules not delivered; the next status round retries');
      return false;
    } finally {
      this.inFlight.delete(peer.id);
    }
  }
}
