// GET /status: what this node is and knows, in the shape SPEC §3 fixes.

import type { DataNode } from './data-node.ts';

export function nodeStatus(node: DataNode) {
  const { store, config } = node;
  return {
    id: config.nodeId,
    role: node.role,
    epoch: node.epoch,
    region: config.region,
    lsn: store.lastLsn,
    appliedLsn: store.appliedLsn,
    durableLsn: store.durableLsn,
    primary: node.primaryId,
    digest: store.state.digest(node.role === 'replica' ? config.replicaFilter : ''),
    keys: store.state.size,
    filter: node.role === 'replica' ? config.replicaFilter : '',
    lagMs: node.lagMs(),
    mirrorPolicy: config.mirrorPolicy,
    degraded: node.primary?.degraded() ?? false,
    connected: node.replica ? node.replica.connected : node.mirror ? Date.now() - node.mirror.lastPrimaryContactAt < config.failoverTimeoutMs : true,
    mirror: mirrorStatus(node),
    replicas: replicaStatus(node),
    // Writes this node acknowledged in the last second, per ack level: count, p50Ms, p99Ms, maxMs.
    writeLatency: node.writeLatency.summary(),
    // The fault rules that act on this node's traffic, and the hash of the whole table it holds
    // (control re-sends its table when this differs, e.g. after a restart).
    faults: node.link.rulesTouchingSelf(),
    faultsHash: node.link.faultsHash,
  };
}

function mirrorStatus(node: DataNode) {
  const shipper = node.primary?.shipper;
  if (shipper) {
    // How far the mirror trails: entries it has not confirmed, and the age of the oldest of them.
    const lagEntries = Math.max(0, node.store.lastLsn - shipper.ackedLsn);
    const oldest = lagEntries > 0 ? node.store.entryAt(shipper.ackedLsn + 1) : undefined;
    const lagMs = oldest ? Math.max(0, Date.now() - oldest.ts) : 0;
    return { id: shipper.ctxMirrorId, mode: shipper.mode, state: shipper.state, ackedLsn: shipper.ackedLsn, lagEntries, lagMs };
  }
  if (node.mirror) {
    const view = node.mirror.primaryView;
    return { id: node.config.nodeId, mode: view.mode, state: view.state, ackedLsn: node.store.durableLsn };
  }
  return null;
}

function replicaStatus(node: DataNode) {
  const primary = node.primary;
  if (!primary) return [];
  const gate = primary.gateLsn();
  const now = Date.now();
  return primary.registry.list('replica').map((copy) => {
    const behind = Math.max(0, gate - copy.ackedLsn);
    const oldest = behind > 0 ? node.store.entryAt(copy.ackedLsn + 1) : undefined;
    return {
      id: copy.id,
      mode: copy.mode,
      connected: copy.connected,
      ackedLsn: copy.ackedLsn,
      lagEntries: behind,
      lagMs: oldest ? Math.max(0, now - oldest.ts) : 0,
      filter: copy.filter,
      region: copy.region,
    };
  });
}
