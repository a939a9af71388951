// The mirror's watch on its primary (SPEC §6.2): when the primary has been silent for
// FAILOVER_TIMEOUT_MS and this mirror was synchronized, it asks the witness to take over. The
// witness decides; without it, or with a mirror that was not synchronized, nothing happens (and
// the reason is logged and evented once per suspicion).

import type { DataNode } from '../data-node.ts';
import type { MirrorReceiver } from '../mirroring/receiver.ts';

export class FailoverMonitor {
  private timer: NodeJS.Timeout | null = null;
  private asking = false;
  private suspected = false;
  private lastReason = '';
  private lastAskAt = 0;

  constructor(
    private readonly node: DataNode,
    private readonly mirror: MirrorReceiver,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.node.config.heartbeatMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private refuse(reason: string): void {
    if (reason === this.lastReason) return;
    this.lastReason = reason;
    this.node.logger.warn({ reason }, `no automatic failover: ${reason}`);
    this.node.events.emit('failover-refused', { candidate: this.node.config.nodeId, reason });
  }

  private async tick(): Promise<void> {
    const { node, mirror } = this;
    if (this.asking || mirror.lastPrimaryContactAt === 0) return;
    const silenceMs = Date.now() - mirror.lastPrimaryContactAt;
    const timeoutMs = node.config.failoverTimeoutMs;
    if (silenceMs < timeoutMs) {
      this.suspected = false;
      this.lastReason = '';
      return;
    }
    if (!this.suspected) {
      this.suspected = true;
      node.logger.warn({ primary: node.primaryId, silenceMs }, `primary ${node.primaryId} silent for ${silenceMs} ms`);
      node.events.emit('primary-suspected', { primary: node.primaryId, silenceMs });
    }
    if (mirror.primaryView.state !== 'synchronized' || mirror.primaryView.mode !== 'sync') {
      return this.refuse(`this mirror was ${mirror.primaryView.mode === 'sync' ? mirror.primaryView.state : 'in async mode'}, not synchronized`);
    }
    // Ask at most every half failover timeout: the witness's answer will not change faster.
    if (Date.now() - this.lastAskAt < timeoutMs / 2) return;
    this.asking = true;
    this.lastAskAt = Date.now();
    try {
      node.events.emit('failover-requested', { candidate: node.config.nodeId, epoch: node.epoch, lsn: node.store.lastLsn });
      const answer = await node.witness.requestFailover(node.epoch, node.store.lastLsn);
      if (!answer) return this.refuse('the witness (control) does not answer');
      if (!answer.granted) return this.refuse(answer.reason ?? 'the witness refused');
      node.events.emit('failover-granted', { to: node.config.nodeId, epoch: answer.view.epoch });
      await node.serial(() => node.becomePrimary(answer.view.epoch, `failover granted by the witness after ${silenceMs} ms of silence`));
    } finally {
      this.asking = false;
    }
  }
}
