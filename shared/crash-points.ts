// Named crash points: the places where a kill -9 is most likely to break a durable change (SPEC
// §6.7). The crash-point tests arm one by name; a process that reaches the armed point kills itself
// with SIGKILL there, with no flush and no goodbye, exactly as `kill -9` would at that instant.
//
// Arming is test-only and comes from the service's config (MIRRORLAB_CRASH_POINT, read by
// config.ts like every other setting). A point fires once per data directory: a marker file is
// written (and synced) before the kill, so the restarted process runs on and shows recovery.
// Disarmed, `crashPoint()` is one comparison, cheap enough for the log's flush path.

import { closeSync, existsSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

// Every point, so tests can walk the whole matrix and a typo in an armed name fails at boot.
export const CRASH_POINTS = [
  // The log (storage/log-store.ts): a group commit, before and after its write and its fsync.
  'log.before-write',
  'log.after-write',
  'log.after-sync',
  'log.segment-created',
  // Snapshots and compaction.
  'snapshot.tmp-written',
  'snapshot.renamed',
  'compaction.before-delete',
  'compaction.mid-delete',
  // A full resync replacing the log with a snapshot.
  'reset.segments-deleted',
  // Rollback: the rollback file is durable, then the log is cut.
  'rollback.file-written',
  'rollback.mid-truncate',
  'rollback.truncated',
  // The node state file (role, epoch) and a role change built on it.
  'state-file.tmp-written',
  'state-file.renamed',
  'role.persisted',
  // Control: the witness's record.
  'witness-state.tmp-written',
  'witness-state.renamed',
] as const;

export type CrashPointName = (typeof CRASH_POINTS)[number];

export interface CrashPointArming {
  name: CrashPointName;
  // Passes to let go by before firing (0: the first time the point is reached).
  skip: number;
  // 'boot': counts from process start; 'running': only once the service listens, so passes made
  // while it starts (its first state file, its log recovery) do not count.
  from: 'boot' | 'running';
}

const MARKER_FILE = 'crash-point-fired';

let armed: CrashPointName | null = null;
let waiting: CrashPointName | null = null;
let passesLeft = 0;
let markerDir = '';

export function isCrashPointName(name: string): name is CrashPointName {
  return (CRASH_POINTS as readonly string[]).includes(name);
}

// Arms a point for this process, unless it already fired for this data directory.
export function armCrashPoint(arming: CrashPointArming | null, dataDir: string): void {
  armed = null;
  waiting = null;
  if (!arming || existsSync(join(dataDir, MARKER_FILE))) return;
  if (arming.from === 'boot') armed = arming.name;
  else waiting = arming.name;
  passesLeft = arming.skip;
  markerDir = dataDir;
}

// The service listens: a point armed from 'running' counts from now on.
export function crashPointsRunning(): void {
  if (waiting) armed = waiting;
  waiting = null;
}

// Dies here (SIGKILL) if this is the armed point and its passes are used up.
export function crashPoint(name: CrashPointName): void {
  if (armed !== name) return;
  if (passesLeft > 0) {
    passesLeft--;
    return;
  }
  const fd = openSync(join(markerDir, MARKER_FILE), 'w');
  writeSync(fd, `${name}\n`);
  fsyncSync(fd);
  closeSync(fd);
  process.stderr.write(`crash point ${name}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
