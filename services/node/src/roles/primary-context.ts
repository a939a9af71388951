// The primary role's wiring to this node: what it reads (epoch, history, copy modes) and what it
// reports (mirror states as events, write latencies as metrics, mirror states to the witness).

import type { DataNode } from '../data-node.ts';
import type { PrimaryContext } from './primary.ts';

export function primaryContext(node: DataNode): PrimaryContext {
  const mirrorId = () => node.primary?.mirrorId;
  return {
    config: node.config,
    store: node.store,
    link: node.link,
    logger: node.logger.child({ component: 'primary' }),
    epoch: () => node.epoch,
    epochHistory: () => node.epochHistory,
    copyModes: () => node.copyModes(),
    saveCopyModes: (modes) => node.saveCopyModes(modes),
    onNewerEpoch: (newer, from) => node.onNewerEpoch(newer, from),
    reportToWitness: (mirror, synchronized) => node.witness.reportMirrorState(node.epoch, mirror, synchronized),
    onMirrorState: (from, to, reason) => {
      node.events.emit('mirror-state', { mirror: mirrorId(), from, to, reason });
      if (from === 'disconnected' && to === 'synchronizing') node.events.emit('resync-started', { copy: mirrorId(), lsn: node.store.lastLsn });
      if (to === 'synchronized') node.events.emit('resync-finished', { copy: mirrorId(), lsn: node.store.lastLsn });
    },
    onWrite: (level, seconds) => {
      node.metrics.writeSeconds.observe({ ack: level }, seconds);
      node.metrics.writesTotal.inc({ ack: level });
      node.writeLatency.observe(level, seconds * 1000);
    },
  };
}
