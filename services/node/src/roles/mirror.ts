// The mirror role: the receiver that stores the primary's exact bytes (mirroring/receiver.ts) and
// the failover monitor that watches the primary (roles/failover-monitor.ts). Both exist only while
// this node is the mirror: built on entry, stopped on exit (requests still waiting append nothing).

import type { DataNode } from '../data-node.ts';
import { MirrorReceiver } from '../mirroring/receiver.ts';
import { FailoverMonitor } from './failover-monitor.ts';

export class MirrorRole {
  readonly receiver: MirrorReceiver;
  private readonly monitor: FailoverMonitor;

  constructor(node: DataNode) {
    this.receiver = new MirrorReceiver({ selfId: node.config.nodeId, store: node.store, logger: node.logger.child({ component: 'mirror' }) });
    this.monitor = new FailoverMonitor(node, this.receiver);
  }

  start(): void {
    this.monitor.start();
  }

  stop(): void {
    this.monitor.stop();
    this.receiver.stop();
  }
}
