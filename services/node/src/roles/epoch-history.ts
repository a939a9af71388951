// Epochs and where they began, like PostgreSQL's timeline history: a copy that stopped at
// (lsn, epoch) shares this node's history only up to the LSN before the next epoch began.

import type { EpochStart } from '../../../../shared/protocol.ts';

export type { EpochStart };

// The last LSN a copy that knew `epoch` can share with this history: Infinity when no later epoch
// began, otherwise the LSN just before the first later epoch started.
export function forkLsn(history: readonly EpochStart[], epoch: number): number {
  let fork = Number.POSITIVE_INFINITY;
  for (const point of history) {
    if (point.epoch > epoch) fork = Math.min(fork, point.startLsn - 1);
  }
  return fork;
}

// Adds an epoch start, keeping the history ordered and free of duplicates.
export function addEpochStart(history: readonly EpochStart[], start: EpochStart): EpochStart[] {
  const rest = history.filter((p) => p.epoch !== start.epoch);
  return [...rest, start].sort((a, b) => a.epoch - b.epoch);
}

// The epoch of the entry at `lsn` in a log with this history: the last epoch that began at or
// before it; 0 for LSN 0 or a history that does not reach back that far.
export function epochOfLsn(history: readonly EpochStart[], lsn: number): number {
  let epoch = 0;
  for (const point of history) if (point.startLsn <= lsn && point.epoch > epoch) epoch = point.epoch;
  return lsn === 0 ? 0 : epoch;
}
