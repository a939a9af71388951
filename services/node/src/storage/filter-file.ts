// The key filter the node's data was built under (`REPLICA_FILTER` when the replica last loaded a
// snapshot). A replica that starts with another filter holds the wrong keys: too many after a
// narrower filter, too few after a wider one or none. It asks its primary for a full resync and
// records the new filter only once the snapshot is loaded, so a kill -9 in between asks again.
// Written atomically (shared/atomic-file.ts), like node-state.json.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../../shared/atomic-file.ts';

const FILE_NAME = 'filter.json';

// The recorded filter; null when none was recorded (a data directory from before this file).
export async function readDataFilter(dir: string): Promise<string | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, FILE_NAME), 'utf8')) as { filter?: unknown };
    return typeof parsed.filter === 'string' ? parsed.filter : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function writeDataFilter(dir: string, filter: string): Promise<void> {
  await writeFileAtomic(join(dir, FILE_NAME), JSON.stringify({ filter }));
}
