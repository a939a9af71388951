// Entries a node had to roll back (it held them, the new primary never had them) are not thrown
// away: they go to a file under DATA_DIR/rollback/, like MongoDB's rollback directory, so a person
// can see and re-apply what was lost.

import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogEntry } from '../../../../shared/log-format.ts';

export interface RollbackRecord {
  file: string;
  count: number;
  firstLsn: number;
  lastLsn: number;
  keys: string[];
}

// Keys listed in an event at most; the file has all of them.
const EVENT_KEYS_MAX = 100;

export async function writeRollbackFile(dataDir: string, epoch: number, entries: readonly LogEntry[]): Promise<RollbackRecord> {
  const dir = join(dataDir, 'rollback');
  await mkdir(dir, { recursive: true });
  const first = entries[0]?.lsn ?? 0;
  const last = entries[entries.length - 1]?.lsn ?? 0;
  const file = join(dir, `rollback-epoch${epoch}-lsn${first}-${last}-${Date.now()}.jsonl`);
  const handle = await open(file, 'w');
  try {
    for (const e of entries) {
      await handle.write(`${JSON.stringify({ lsn: e.lsn, epoch: e.epoch, ts: e.ts, op: e.op, key: e.key, value: e.valueJson === undefined ? undefined : JSON.parse(e.valueJson) })}\n`);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  const keys = [...new Set(entries.map((e) => e.key))];
  return { file, count: entries.length, firstLsn: first, lastLsn: last, keys: keys.slice(0, EVENT_KEYS_MAX) };
}
