// Entries a node had to roll back (it held them, the new primary never had them) are not thrown
// away: they go to a file under DATA_DIR/rollback/, like MongoDB's rollback directory, so a person
// can see and re-apply what was lost. The file is durable before the log is cut (data-node.ts), and
// its name depends only on what it holds: a rollback repeated after a crash rewrites the same file.

import { join } from 'node:path';
import { writeFileAtomic } from '../../../../shared/atomic-file.ts';
import type { LogEntry } from '../../../../shared/log-format.ts';

export interface RollbackRecord {
  file: string;
  count: number;
  firstLsn: number;
  lastLsn: number;
  keys: string[];
  // Set when part of the range was already compacted into a snapshot: for LSNs up to
  // `compactedThroughLsn` the file holds the latest value of each key written there (lines with
  // "fromSnapshot": true), not each entry; a key deleted in that range cannot be listed.
  compactedThroughLsn?: number;
}

// What a rollback keeps: whole entries from the log, and for a compacted range the latest values
// the state still shows, as [key, valueJson, lsn].
export interface RollbackContent {
  entries: readonly LogEntry[];
  compacted?: { throughLsn: number; items: ReadonlyArray<[string, string, number]> };
}

// Keys listed in an event at most; the file has all of them.
const EVENT_KEYS_MAX = 100;
// Lines written per write call: a large rollback goes out in chunks, not line by line.
const LINES_PER_WRITE = 1000;

export function rollbackFilePath(dataDir: string, epoch: number, firstLsn: number, lastLsn: number): string {
  return join(dataDir, 'rollback', `rollback-epoch${epoch}-lsn${firstLsn}-${lastLsn}.jsonl`);
}

export async function writeRollbackFile(dataDir: string, epoch: number, content: RollbackContent): Promise<RollbackRecord> {
  const { entries, compacted } = content;
  const fromState = compacted?.items ?? [];
  // A loop, not Math.min(...items): a large rollback would overflow the call's arguments.
  let firstLsn = entries[0]?.lsn ?? Infinity;
  let lastLsn = entries.at(-1)?.lsn ?? 0;
  for (const item of fromState) {
    firstLsn = Math.min(firstLsn, item[2]);
    lastLsn = Math.max(lastLsn, item[2]);
  }
  const file = rollbackFilePath(dataDir, epoch, Number.isFinite(firstLsn) ? firstLsn : 0, lastLsn);
  await writeFileAtomic(file, async (handle) => {
    let lines: string[] = [];
    const flush = async () => {
      if (lines.length > 0) await handle.write(lines.join(''));
      lines = [];
    };
    for (const [key, valueJson, lsn] of fromState) {
      lines.push(`${JSON.stringify({ lsn, op: 'put', key, value: JSON.parse(valueJson), fromSnapshot: true })}\n`);
      if (lines.length >= LINES_PER_WRITE) await flush();
    }
    for (const e of entries) {
      lines.push(`${JSON.stringify({ lsn: e.lsn, epoch: e.epoch, ts: e.ts, op: e.op, key: e.key, value: e.valueJson === undefined ? undefined : JSON.parse(e.valueJson) })}\n`);
      if (lines.length >= LINES_PER_WRITE) await flush();
    }
    await flush();
  });
  const keys = [...new Set([...fromState.map((item) => item[0]), ...entries.map((e) => e.key)])];
  return {
    file,
    count: entries.length + fromState.length,
    firstLsn: Number.isFinite(firstLsn) ? firstLsn : 0,
    lastLsn,
    keys: keys.slice(0, EVENT_KEYS_MAX),
    ...(compacted ? { compactedThroughLsn: compacted.throughLsn } : {}),
  };
}
