// Rollback: a returning copy holds entries the new primary never had (SPEC §6.4). They are cut from
// its log, but never lost: written first to a rollback file under DATA_DIR/rollback/, durable
// before anything is cut, and reported as a `rollback` event. A kill -9 in between leaves the
// entries in the log, and the next rollback writes the same file again; never a cut log without
// its file.

import { crashPoint } from '../../../../shared/crash-points.ts';
import type { DataNode } from '../data-node.ts';
import { type RollbackRecord, writeRollbackFile } from '../storage/rollback-file.ts';

// Cuts every entry after `toLsn`. Resolves with the new last LSN, or null when the cut reaches
// below the snapshot: then the file keeps what can still be known (keepCompacted) and a full
// resync must replace the whole state.
export async function rollbackLog(node: DataNode, toLsn: number, reason: string): Promise<number | null> {
  const { store } = node;
  if (toLsn >= store.lastLsn) return store.lastLsn;
  if (toLsn < store.snapshotLsn) {
    await keepCompacted(node, toLsn, reason);
    return null;
  }
  const doomed = await store.readAfter(toLsn);
  const record = doomed.length > 0 ? await writeRollbackFile(node.config.dataDir, node.epoch, { entries: doomed }) : null;
  crashPoint('rollback.file-written');
  const removed = await store.truncateAfter(toLsn);
  if (removed.length !== doomed.length) node.failStop(`rollback cut ${removed.length} entries, not the ${doomed.length} it kept`);
  crashPoint('rollback.truncated');
  if (record) reportRollback(node, record, toLsn, reason);
  return store.lastLsn;
}

// The cut reaches into the snapshot, where single entries are gone: the rollback file gets the
// entries still in the log and, for the compacted range, the latest value of every key written
// there. The full resync that follows replaces log and state.
async function keepCompacted(node: DataNode, toLsn: number, reason: string): Promise<void> {
  const { store } = node;
  const snapshotLsn = store.snapshotLsn;
  const entries = await store.readAfter(snapshotLsn);
  const items = store.state.itemsWrittenBetween(toLsn, snapshotLsn);
  node.logger.warn({ toLsn, snapshotLsn }, 'the rollback reaches below the snapshot: keeping what the state shows, then a full resync');
  if (entries.length === 0 && items.length === 0) return;
  const record = await writeRollbackFile(node.config.dataDir, node.epoch, { entries, compacted: { throughLsn: snapshotLsn, items } });
  crashPoint('rollback.file-written');
  reportRollback(node, record, toLsn, reason);
}

function reportRollback(node: DataNode, record: RollbackRecord, toLsn: number, reason: string): void {
  node.logger.warn({ ...record, toLsn, reason }, `rolled back ${record.count} entries (LSN ${record.firstLsn}-${record.lastLsn}) into ${record.file}`);
  node.events.emit('rollback', { ...record, toLsn, reason, epoch: node.epoch });
}
