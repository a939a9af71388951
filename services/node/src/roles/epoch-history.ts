// Epochs and where they began, like PostgreSQL's timeline history: a copy that stopped at
// (lsn, epoch) shares this node's history only up to the LSN before the next epoch began.

export interface EpochStart {
  epoch: number;
  // The first LSN written in this epoch.
  startLsn: number;
  primaryId: string;
}

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
