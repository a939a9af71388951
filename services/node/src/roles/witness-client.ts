// The node's side of the witness: a heartbeat to control every HEARTBEAT_MS (through the link
// layer, so partitions cut it like any other traffic), whose answer carries the cluster's view —
// epoch, primary, mirror slot — and renews a primary's lease; plus the two questions a node may
// ask: "may I stop waiting for my mirror?" and "may I take over from the primary?".

import type { Logger } from 'pino';
import type { Link } from '../../../../shared/link.ts';
import { authHeaders, type WitnessView } from '../../../../shared/protocol.ts';
import { Signal } from '../../../../shared/signal.ts';
import { CONTROL_ID } from '../../../../shared/topology.ts';


export interface WitnessClientContext {
  selfId: string;
  controlUrl: string;
  secret: string;
  heartbeatMs: number;
  leaseMs: number;
  link: Link;
  logger: Logger;
  // What this node tells the witness in each heartbeat.
  describe: () => { role: string; epoch: number; lsn: number; mirrorId: string | null };
  // The witness answered a request sent at `sentAt` with its view.
  onView: (view: WitnessView, sentAt: number) => void;
  // The view's member list (id -> URLs), before onView: a new mirror must be reachable first.
  onMembers?: (members: unknown) => void;
}

export class WitnessClient {
  private running = false;
  private readonly wake = new Signal();
  private reportSeq = Date.now();
  private unreachableSince = 0;

  constructor(private readonly ctx: WitnessClientContext) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  stop(): void {
    this.running = false;
    this.wake.notify();
  }

  // Heartbeat now instead of at the next tick (the node suspects its view is stale).
  poke(): void {
    this.wake.notify();
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.heartbeat();
      await this.wake.wait(this.ctx.heartbeatMs);
    }
  }

  // A JSON answer's fields, unchecked: every reader here checks the one it uses.
  private async post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> } | null> {
    const response = await this.ctx.link
      .request(CONTROL_ID, `${this.ctx.controlUrl}${path}`, {
        method: 'POST',
        headers: { ...authHeaders(this.ctx.secret, this.ctx.selfId), 'content-type': 'application/json' },
        body: JSON.stringify(body),
        // An answer that comes within the lease still renews it, so wait that long at most.
        timeoutMs: this.ctx.leaseMs,
      })
      .catch(() => null);
    if (!response) return null;
    try {
      const parsed: unknown = JSON.parse(response.body.toString('utf8'));
      return { status: response.statusCode, body: typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {} };
    } catch {
      return null;
    }
  }

  private async heartbeat(): Promise<void> {
    const sentAt = Date.now();
    const answer = await this.post('/internal/witness/heartbeat', this.ctx.describe());
    if (answer?.status !== 200) {
      if (this.unreachableSince === 0) {
        this.unreachableSince = sentAt;
        this.ctx.logger.warn({ status: answer?.status }, 'the witness (control) does not answer');
      }
      return;
    }
    if (this.unreachableSince !== 0) this.ctx.logger.info({ silentMs: Date.now() - this.unreachableSince }, 'the witness answers again');
    this.unreachableSince = 0;
    this.ctx.onMembers?.(answer.body.members);
    this.ctx.onView(viewOf(answer.body), sentAt);
  }

  // Reports the mirror synchronized, or asks consent to stop waiting for it. True when recorded.
  async reportMirrorState(epoch: number, mirrorId: string, synchronized: boolean): Promise<boolean> {
    const sentAt = Date.now();
    const answer = await this.post('/internal/witness/mirror-state', { epoch, mirrorId, synchronized, seq: ++this.reportSeq });
    if (!answer) return false;
    if (answer.status === 200 || answer.status === 409) this.ctx.onView(viewOf(answer.body), sentAt);
    return answer.status === 200 && answer.body.consent === true;
  }

  // Asks to take over from a primary this node has lost. Null when the witness does not answer.
  async requestFailover(epoch: number, lsn: number): Promise<{ granted: boolean; reason?: string; view: WitnessView } | null> {
    const answer = await this.post('/internal/witness/failover', { epoch, lsn });
    if (answer?.status !== 200) return null;
    const reason = typeof answer.body.reason === 'string' ? answer.body.reason : undefined;
    return { granted: answer.body.granted === true, reason, view: viewOf(answer.body) };
  }
}

// The view in a witness answer, each field checked: an answer of another shape gives an empty view.
function viewOf(answer: unknown): WitnessView {
  const body = (typeof answer === 'object' && answer !== null ? answer : {}) as Record<string, unknown>;
  return {
    epoch: Number.isSafeInteger(body.epoch) ? (body.epoch as number) : 0,
    primaryId: typeof body.primaryId === 'string' ? body.primaryId : null,
    mirrorId: typeof body.mirrorId === 'string' ? body.mirrorId : null,
  };
}
