// The replica role: a replication stream from the primary (replication/stream-receiver.ts), wired
// to this node: what it tells the node (the primary's epoch and history, a divergence to roll
// back) goes through the node's guarded verbs.

import type { DataNode } from '../data-node.ts';
import { StreamReceiver } from '../replication/stream-receiver.ts';
import type { EpochStart } from './epoch-history.ts';
import { rollbackLog } from './rollback.ts';

export function createReplicaRole(node: DataNode): StreamReceiver {
  const { config } = node;
  // Data built under another filter holds the wrong keys: start over from a snapshot.
  const filterChanged = node.dataFilter !== config.replicaFilter;
  if (filterChanged) node.logger.info({ was: node.dataFilter, now: config.replicaFilter }, 'REPLICA_FILTER changed since the data was built: asking for a full resync');
  return new StreamReceiver({
    selfId: config.nodeId,
    secret: config.clusterSecret,
    mode: config.replicaMode,
    filter: config.replicaFilter,
    region: config.region,
    heartbeatMs: config.heartbeatMs,
    store: node.store,
    link: node.link,
    logger: node.logger.child({ component: 'replica' }),
    epoch: () => node.epoch,
    primaryId: () => node.primaryId,
    primaryUrl: (id) => config.peers[id],
    onPrimaryInfo: (id: string, epoch: number, history: readonly EpochStart[]) => void node.serial(() => node.follow(id, epoch, history)),
    onNotPrimary: () => node.witness.poke(),
    onResync: (kind, lsn) => node.events.emit(kind === 'finished' ? 'resync-finished' : 'resync-started', { copy: config.nodeId, lsn }),
    onDiverged: (fork) => rollbackLog(node, fork, 'the primary never had these entries'),
    fullResyncFirst: filterChanged,
    onSnapshotLoaded: () => node.recordDataFilter(),
  });
}
